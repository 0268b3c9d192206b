//! WebRTC data channels made visible: the wire formats a browser uses between offer and
//! first message, and a stepped, simulated peer connection built from them.
//!
//! - [`stun`]: STUN messages (RFC 8489) with ICE's attributes (RFC 8445 §16.1),
//!   MESSAGE-INTEGRITY and FINGERPRINT; golden-tested against RFC 5769's vectors.
//! - [`dcep`]: the Data Channel Establishment Protocol (RFC 8832): DATA_CHANNEL_OPEN and
//!   DATA_CHANNEL_ACK, and the SCTP payload protocol identifiers of RFC 8831 §8.
//! - [`sctp`]: SCTP packets (RFC 9260) with CRC-32C: the association's start and DATA.
//! - [`dtls`]: DTLS 1.2 record and handshake headers (RFC 6347); the handshake *bodies*
//!   are placeholders, and nothing is encrypted.
//! - [`signalling`]: the `/signal` JSON messages, written and read without a JSON
//!   library, and the relay that forwards them.
//! - [`connect`]: one browser's RTCPeerConnection with one data channel, as a machine.
//! - [`crc`]: CRC-32 (STUN's FINGERPRINT) and CRC-32C (SCTP's checksum), small.
//!
//! Heads up! Read RFC 8489 §5 and §14 before changing `stun.rs`, RFC 8832 §5 before
//! changing `dcep.rs`.

pub mod connect;
pub mod crc;
pub mod dcep;
pub mod dtls;
pub mod sctp;
pub mod signalling;
pub mod stun;

use core::fmt::Display;
use wirelab_core::{Annotation, Field};

/// Where a message's fields go when it sits inside a larger frame: an SCTP packet inside a
/// DTLS record, a DCEP message inside a DATA chunk. Offsets are the message's own; `base`
/// moves them to the frame's, `depth` puts them under their parent in the inspector.
#[derive(Debug)]
pub struct Nest<'a> {
    pub fields: &'a mut Vec<Field>,
    pub base: usize,
    pub depth: u8,
}

/// How a field of a fixed layout prints its value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Show {
    /// A big-endian unsigned number, in decimal.
    Dec,
    /// The bytes in hex: `0x2112a442`.
    Hex,
}

/// A fixed layout: each field's name, offset, length, how to print it, and what it means.
/// Tables, not code: this crate runs in a size-bound Wasm app, and a row costs a few bytes
/// where a hand-written field costs a few dozen instructions.
pub type Layout = [(&'static str, usize, usize, Show, &'static str)];

/// `0x` and the bytes in hex.
pub fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(2 + 2 * bytes.len());
    s.push_str("0x");
    for b in bytes {
        s.push(char::from(b"0123456789abcdef"[usize::from(b >> 4)]));
        s.push(char::from(b"0123456789abcdef"[usize::from(b & 15)]));
    }
    s
}

impl Nest<'_> {
    /// Adds a field at the message's byte `at`, `deeper` levels below the message's own.
    #[inline(never)]
    pub fn push(&mut self, name: &str, at: usize, len: usize, value: String, meaning: &str, deeper: u8) {
        let mut f = Field::new(name, self.base + at, len, value, meaning);
        f.depth = self.depth + deeper;
        self.fields.push(f);
    }

    /// Adds the fields of `table`, read from `bytes` (the message's own) at `at`; a field
    /// the bytes do not reach is left out.
    #[inline(never)]
    pub fn layout(&mut self, bytes: &[u8], at: usize, table: &Layout, deeper: u8) {
        for &(name, off, len, show, meaning) in table {
            let Some(b) = bytes.get(at + off..at + off + len) else { continue };
            let value = match show {
                Show::Dec => b.iter().fold(0u64, |n, &x| n << 8 | u64::from(x)).to_string(),
                Show::Hex => hex(b),
            };
            self.push(name, at + off, len, value, meaning, deeper);
        }
    }

    /// The same fields, for a message `at` bytes into this one and `deeper` levels down.
    pub fn inner(&mut self, at: usize, deeper: u8) -> Nest<'_> {
        Nest { fields: self.fields, base: self.base + at, depth: self.depth + deeper }
    }
}

/// The annotation of bytes that are not a `protocol` message: why, and nothing else.
pub(crate) fn malformed(protocol: &str, bytes: &[u8], why: impl Display) -> Annotation {
    Annotation {
        protocol: protocol.into(),
        summary: format!("malformed {protocol} ({} bytes)", bytes.len()),
        fields: Vec::new(),
        error: Some(why.to_string()),
    }
}

/// A message on its own, explained: `at` names its fields, `summary` gives its line.
pub(crate) fn standalone<M, E: Display>(
    protocol: &str,
    bytes: &[u8],
    at: fn(&[u8], &mut Nest<'_>) -> Result<M, E>,
    summary: fn(&M) -> String,
) -> Annotation {
    let mut fields = Vec::new();
    match at(bytes, &mut Nest { fields: &mut fields, base: 0, depth: 0 }) {
        Ok(m) => Annotation { protocol: protocol.into(), summary: summary(&m), fields, error: None },
        Err(e) => malformed(protocol, bytes, e),
    }
}
