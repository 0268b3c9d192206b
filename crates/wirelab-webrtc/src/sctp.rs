//! SCTP packets (RFC 9260 §3) as WebRTC sends them inside DTLS (RFC 8261): the common
//! header with its verification tag and CRC-32C checksum, and the chunks of an
//! association's start and of data: INIT, INIT ACK, COOKIE ECHO, COOKIE ACK, DATA, SACK.
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |     Source Port Number        |     Destination Port Number   |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                      Verification Tag                         |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                           Checksum                            |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |   Chunk Type  | Chunk  Flags  |        Chunk Length           |  ...
//! ```
//! (RFC 9260 §3.1, §3.2.) Only what the scenario sends is typed; other chunks are kept
//! as they came. Gap blocks, duplicate TSNs and the other chunk types are not modelled.

use crate::{Layout, Nest, Show, dcep};
use core::fmt;
use wirelab_core::Annotation;

pub const COMMON_HEADER_LEN: usize = 12;
/// Chunk types (RFC 9260 §3.2).
pub const DATA: u8 = 0;
pub const INIT: u8 = 1;
pub const INIT_ACK: u8 = 2;
pub const SACK: u8 = 3;
pub const COOKIE_ECHO: u8 = 10;
pub const COOKIE_ACK: u8 = 11;
/// The State Cookie parameter of INIT ACK (RFC 9260 §3.3.3.1).
pub const STATE_COOKIE: u16 = 7;
/// Forward-TSN-Supported (RFC 3758 §3.1): partial reliability, which data channels with
/// maxRetransmits or maxPacketLifeTime need (RFC 8831 §6.1).
pub const FORWARD_TSN_SUPPORTED: u16 = 0xC000;

/// The fixed part of INIT and INIT ACK (RFC 9260 §3.3.2, §3.3.3), and their parameters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Init {
    /// The tag the peer must put in every packet it sends to us.
    pub initiate_tag: u32,
    /// Advertised receiver window credit, bytes.
    pub a_rwnd: u32,
    pub outbound_streams: u16,
    pub inbound_streams: u16,
    /// The TSN of our first DATA chunk.
    pub initial_tsn: u32,
    /// Parameters (type, value), unpadded.
    pub params: Vec<(u16, Vec<u8>)>,
}

/// One chunk.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Chunk {
    /// RFC 9260 §3.3.1. `flags`: U (0x04) unordered, B (0x02) first fragment, E (0x01)
    /// last fragment.
    Data {
        flags: u8,
        tsn: u32,
        stream: u16,
        ssn: u16,
        ppid: u32,
        data: Vec<u8>,
    },
    Init(Init),
    InitAck(Init),
    /// RFC 9260 §3.3.4, without gap blocks or duplicate TSNs.
    Sack {
        cumulative_tsn_ack: u32,
        a_rwnd: u32,
    },
    /// RFC 9260 §3.3.11: the State Cookie, echoed.
    CookieEcho(Vec<u8>),
    CookieAck,
    Other {
        ty: u8,
        flags: u8,
        value: Vec<u8>,
    },
}

/// An SCTP packet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Packet {
    pub src_port: u16,
    pub dst_port: u16,
    pub verification_tag: u32,
    pub chunks: Vec<Chunk>,
}

/// Why bytes are not an SCTP packet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SctpError {
    Truncated {
        len: usize,
    },
    /// A chunk (or parameter) length below its header or past the end, at this byte.
    BadLength {
        at: usize,
    },
    /// The CRC-32C does not match (RFC 9260 §6.8).
    BadChecksum {
        found: u32,
        expected: u32,
    },
    TooLong,
}

impl fmt::Display for SctpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SctpError::Truncated { len } => write!(f, "{len} bytes: an SCTP packet needs 12 and a chunk"),
            SctpError::BadLength { at } => write!(f, "bad length in the chunk or parameter at byte {at}"),
            SctpError::BadChecksum { found, expected } => {
                write!(f, "checksum 0x{found:08x}, the CRC-32C is 0x{expected:08x}")
            }
            SctpError::TooLong => f.write_str("a chunk longer than 65535 bytes"),
        }
    }
}

impl std::error::Error for SctpError {}

fn be16(b: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([b[at], b[at + 1]])
}

fn be32(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// Type, length, value spans of the TLVs from `at` to the end (chunks: 1-byte type and
/// flags; parameters: 2-byte type), each padded to 4 bytes (§3.2, §3.2.1).
fn tlvs(b: &[u8], mut at: usize) -> Result<Vec<(usize, usize)>, SctpError> {
    let mut out = Vec::new();
    while at < b.len() {
        if at + 4 > b.len() {
            return Err(SctpError::BadLength { at });
        }
        let len = usize::from(be16(b, at + 2));
        if len < 4 || at + len > b.len() {
            return Err(SctpError::BadLength { at });
        }
        out.push((at, len));
        at += len.next_multiple_of(4);
    }
    Ok(out)
}

/// The checksum as it goes in the header: "the CRC32c ... placed in the checksum field"
/// with the field zero while computing, least significant byte first, as every
/// implementation since RFC 3309 writes it (RFC 9260 Appendix A).
pub fn checksum(packet: &[u8]) -> u32 {
    let mut copy = packet.to_vec();
    copy[8..12].fill(0);
    crate::crc::crc32c(&copy)
}

fn init_from(v: &[u8], at: usize) -> Result<Init, SctpError> {
    if v.len() < 16 {
        return Err(SctpError::BadLength { at });
    }
    let params = tlvs(v, 16)?.into_iter().map(|(p, len)| (be16(v, p), v[p + 4..p + len].to_vec())).collect();
    Ok(Init {
        initiate_tag: be32(v, 0),
        a_rwnd: be32(v, 4),
        outbound_streams: be16(v, 8),
        inbound_streams: be16(v, 10),
        initial_tsn: be32(v, 12),
        params,
    })
}

impl Packet {
    /// Parses and checks the checksum.
    pub fn decode(b: &[u8]) -> Result<Packet, SctpError> {
        if b.len() < COMMON_HEADER_LEN + 4 {
            return Err(SctpError::Truncated { len: b.len() });
        }
        let found = u32::from_le_bytes([b[8], b[9], b[10], b[11]]);
        let expected = checksum(b);
        if found != expected {
            return Err(SctpError::BadChecksum { found, expected });
        }
        let mut chunks = Vec::new();
        for (at, len) in tlvs(b, COMMON_HEADER_LEN)? {
            let (ty, flags, v) = (b[at], b[at + 1], &b[at + 4..at + len]);
            chunks.push(match ty {
                DATA if v.len() >= 12 => Chunk::Data {
                    flags,
                    tsn: be32(v, 0),
                    stream: be16(v, 4),
                    ssn: be16(v, 6),
                    ppid: be32(v, 8),
                    data: v[12..].to_vec(),
                },
                INIT => Chunk::Init(init_from(v, at)?),
                INIT_ACK => Chunk::InitAck(init_from(v, at)?),
                SACK if v.len() == 12 && be32(v, 8) == 0 => {
                    Chunk::Sack { cumulative_tsn_ack: be32(v, 0), a_rwnd: be32(v, 4) }
                }
                COOKIE_ECHO => Chunk::CookieEcho(v.to_vec()),
                COOKIE_ACK if v.is_empty() => Chunk::CookieAck,
                _ => Chunk::Other { ty, flags, value: v.to_vec() },
            });
        }
        Ok(Packet { src_port: be16(b, 0), dst_port: be16(b, 2), verification_tag: be32(b, 4), chunks })
    }

    /// The packet's bytes, checksum included.
    pub fn encode(&self) -> Result<Vec<u8>, SctpError> {
        let mut out = Vec::with_capacity(64);
        out.extend_from_slice(&self.src_port.to_be_bytes());
        out.extend_from_slice(&self.dst_port.to_be_bytes());
        out.extend_from_slice(&self.verification_tag.to_be_bytes());
        out.extend_from_slice(&[0; 4]);
        for c in &self.chunks {
            let at = out.len();
            let (ty, flags) = match c {
                Chunk::Data { flags, .. } => (DATA, *flags),
                Chunk::Init(_) => (INIT, 0),
                Chunk::InitAck(_) => (INIT_ACK, 0),
                Chunk::Sack { .. } => (SACK, 0),
                Chunk::CookieEcho(_) => (COOKIE_ECHO, 0),
                Chunk::CookieAck => (COOKIE_ACK, 0),
                Chunk::Other { ty, flags, .. } => (*ty, *flags),
            };
            out.extend_from_slice(&[ty, flags, 0, 0]);
            match c {
                Chunk::Data { tsn, stream, ssn, ppid, data, .. } => {
                    out.extend_from_slice(&tsn.to_be_bytes());
                    out.extend_from_slice(&stream.to_be_bytes());
                    out.extend_from_slice(&ssn.to_be_bytes());
                    out.extend_from_slice(&ppid.to_be_bytes());
                    out.extend_from_slice(data);
                }
                Chunk::Init(i) | Chunk::InitAck(i) => {
                    out.extend_from_slice(&i.initiate_tag.to_be_bytes());
                    out.extend_from_slice(&i.a_rwnd.to_be_bytes());
                    out.extend_from_slice(&i.outbound_streams.to_be_bytes());
                    out.extend_from_slice(&i.inbound_streams.to_be_bytes());
                    out.extend_from_slice(&i.initial_tsn.to_be_bytes());
                    // Padding between parameters counts in the Chunk Length, the last
                    // one's does not (§3.2).
                    for (ty, v) in &i.params {
                        out.resize(out.len().next_multiple_of(4), 0);
                        let len = u16::try_from(v.len() + 4).map_err(|_| SctpError::TooLong)?;
                        out.extend_from_slice(&ty.to_be_bytes());
                        out.extend_from_slice(&len.to_be_bytes());
                        out.extend_from_slice(v);
                    }
                }
                Chunk::Sack { cumulative_tsn_ack, a_rwnd } => {
                    out.extend_from_slice(&cumulative_tsn_ack.to_be_bytes());
                    out.extend_from_slice(&a_rwnd.to_be_bytes());
                    out.extend_from_slice(&[0; 4]);
                }
                Chunk::CookieEcho(v) | Chunk::Other { value: v, .. } => out.extend_from_slice(v),
                Chunk::CookieAck => {}
            }
            // "The Chunk Length field does not count any chunk padding." (§3.2)
            let len = u16::try_from(out.len() - at).map_err(|_| SctpError::TooLong)?;
            out[at + 2..at + 4].copy_from_slice(&len.to_be_bytes());
            out.resize(out.len().next_multiple_of(4), 0);
        }
        let sum = checksum(&out);
        out[8..12].copy_from_slice(&sum.to_le_bytes());
        Ok(out)
    }
}

/// The chunk's name as RFC 9260 §3.2 spells it.
pub fn chunk_name(ty: u8) -> &'static str {
    match ty {
        DATA => "DATA",
        INIT => "INIT",
        INIT_ACK => "INIT ACK",
        SACK => "SACK",
        COOKIE_ECHO => "COOKIE ECHO",
        COOKIE_ACK => "COOKIE ACK",
        4 => "HEARTBEAT",
        6 => "ABORT",
        7 => "SHUTDOWN",
        192 => "FORWARD TSN",
        _ => "chunk",
    }
}

/// One line: `SCTP INIT` or `SCTP SACK + DATA (WebRTC DCEP: DATA_CHANNEL_ACK)`.
pub fn summary(p: &Packet) -> String {
    let parts: Vec<String> = p
        .chunks
        .iter()
        .map(|c| match c {
            Chunk::Data { ppid, data, .. } => match *ppid {
                dcep::ppid::DCEP => match dcep::Message::decode(data) {
                    Ok(m) => format!("DATA ({})", dcep::summary(&m)),
                    Err(_) => "DATA (malformed DCEP)".into(),
                },
                dcep::ppid::STRING => format!("DATA ({:?})", String::from_utf8_lossy(data)),
                n => format!("DATA ({})", dcep::ppid::name(n)),
            },
            Chunk::Init(_) => "INIT".into(),
            Chunk::InitAck(_) => "INIT ACK".into(),
            Chunk::Sack { cumulative_tsn_ack, .. } => format!("SACK {cumulative_tsn_ack}"),
            Chunk::CookieEcho(_) => "COOKIE ECHO".into(),
            Chunk::CookieAck => "COOKIE ACK".into(),
            Chunk::Other { ty, .. } => chunk_name(*ty).into(),
        })
        .collect();
    format!("SCTP {}", parts.join(" + "))
}

const COMMON_HEADER: &Layout = &[
    ("Source Port", 0, 2, Show::Dec, "the sender's a=sctp-port (RFC 8841 §5)"),
    ("Destination Port", 2, 2, Show::Dec, "the receiver's a=sctp-port"),
    ("Verification Tag", 4, 4, Show::Hex, "the receiver's Initiate Tag, or 0 in an INIT (§8.5, §8.5.1)"),
    (
        "Checksum",
        8,
        4,
        Show::Hex,
        "CRC-32C of the packet with this field zero, least significant byte first (§6.8, Appendix A)",
    ),
];

const CHUNK_HEADER: &Layout = &[
    ("Chunk Type", 0, 1, Show::Dec, "0 DATA, 1 INIT, 2 INIT ACK, 3 SACK, 10 COOKIE ECHO, 11 COOKIE ACK (§3.2)"),
    ("Chunk Flags", 1, 1, Show::Hex, "DATA: U unordered (4), B beginning (2), E end (1) of a message; else 0"),
    ("Chunk Length", 2, 2, Show::Dec, "type, flags, length and value, without the final padding"),
];

const DATA_FIELDS: &Layout = &[
    ("TSN", 4, 4, Show::Dec, "transmission sequence number: what a SACK acknowledges (§3.3.1)"),
    (
        "Stream Identifier",
        8,
        2,
        Show::Dec,
        "the data channel: even for the DTLS client, odd for the server (RFC 8832 §6)",
    ),
    ("Stream Sequence Number", 10, 2, Show::Dec, "order within the stream"),
    ("Payload Protocol Identifier", 12, 4, Show::Dec, "50 DCEP, 51 string, 53 binary, 56/57 empty (RFC 8831 §8)"),
];

const INIT_FIELDS: &Layout = &[
    ("Initiate Tag", 4, 4, Show::Hex, "the peer puts this in the Verification Tag of all it sends here (§3.3.2)"),
    ("Advertised Receiver Window Credit", 8, 4, Show::Dec, "bytes of buffer for incoming data"),
    ("Number of Outbound Streams", 12, 2, Show::Dec, "streams this side may send on"),
    ("Number of Inbound Streams", 14, 2, Show::Dec, "streams this side accepts"),
    ("Initial TSN", 16, 4, Show::Dec, "the TSN of this side's first DATA"),
];

const SACK_FIELDS: &Layout = &[
    ("Cumulative TSN Ack", 4, 4, Show::Dec, "every TSN up to this one has arrived (§3.3.4)"),
    ("Advertised Receiver Window Credit", 8, 4, Show::Dec, "bytes of buffer free"),
    ("Gap Blocks / Duplicate TSNs", 12, 4, Show::Dec, "how many of each follow: none"),
];

/// Names every field of an SCTP packet into `out`; a DCEP message inside a DATA chunk is
/// named field by field too.
pub fn annotate_at(b: &[u8], out: &mut Nest<'_>) -> Result<Packet, SctpError> {
    let p = Packet::decode(b)?;
    out.layout(b, 0, COMMON_HEADER, 0);
    for ((at, len), c) in tlvs(b, COMMON_HEADER_LEN)?.into_iter().zip(&p.chunks) {
        let ty = b[at];
        out.push(chunk_name(ty), at, len.next_multiple_of(4), String::new(), "a chunk (§3.2)", 0);
        out.layout(b, at, CHUNK_HEADER, 1);
        match c {
            Chunk::Data { ppid, data, .. } => {
                out.layout(b, at, DATA_FIELDS, 1);
                let at_data = at + 16;
                let value = match (*ppid, dcep::Message::decode(data)) {
                    (dcep::ppid::DCEP, Ok(m)) => dcep::summary(&m),
                    _ => format!("{:?}", String::from_utf8_lossy(data)),
                };
                out.push("User Data", at_data, data.len(), value, "the message: DCEP for PPID 50", 1);
                if *ppid == dcep::ppid::DCEP {
                    let _ = dcep::annotate_at(data, &mut out.inner(at_data, 2));
                }
            }
            Chunk::Init(i) | Chunk::InitAck(i) => {
                out.layout(b, at, INIT_FIELDS, 1);
                let mut p_at = at + 20;
                for (pty, pv) in &i.params {
                    let (name, meaning) = match *pty {
                        STATE_COOKIE => (
                            "State Cookie",
                            "opaque, echoed back in COOKIE ECHO; random bytes here, a real stack's signed state (§5.1.3)",
                        ),
                        FORWARD_TSN_SUPPORTED => {
                            ("Forward-TSN-Supported", "partial reliability (RFC 3758), for unreliable channels")
                        }
                        _ => ("Parameter", "not interpreted here"),
                    };
                    let padded = (4 + pv.len()).next_multiple_of(4);
                    out.push(name, p_at, padded, format!("{} bytes", pv.len()), meaning, 1);
                    p_at += padded;
                }
            }
            Chunk::Sack { .. } => out.layout(b, at, SACK_FIELDS, 1),
            Chunk::CookieEcho(cookie) => out.push(
                "Cookie",
                at + 4,
                cookie.len(),
                format!("{} bytes", cookie.len()),
                "the State Cookie of the INIT ACK, unchanged (§5.1 C)",
                1,
            ),
            Chunk::CookieAck | Chunk::Other { .. } => {}
        }
    }
    Ok(p)
}

/// An SCTP packet on its own, explained.
pub fn annotate(bytes: &[u8]) -> Annotation {
    crate::standalone("SCTP", bytes, annotate_at, summary)
}
