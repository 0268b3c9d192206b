//! DTLS 1.2 framing (RFC 6347): the record header (§4.1) and the handshake header
//! (§4.2.2), real; the handshake bodies, NOT REAL: placeholders.
//!
//! ```text
//! record:    type(1) version(2) epoch(2) sequence_number(6) length(2) fragment
//! handshake: msg_type(1) length(3) message_seq(2) fragment_offset(3) fragment_length(3) body
//! ```
//!
//! This is a teaching simulation of the handshake's *messages*: who sends which, in which
//! flight, with which epoch and sequence numbers. The bodies of ClientHello, Certificate,
//! Finished and the rest are short ASCII placeholders saying what would be there; there is
//! no key exchange, no certificate and no encryption, and the certificate fingerprint the
//! SDP announces is not checked against anything. Application data records (content
//! type 23) carry their SCTP packet in the clear, where a real record carries it AEAD-
//! encrypted (an 8-byte explicit nonce, the ciphertext and a 16-byte tag for
//! AES-128-GCM, RFC 5288).

use crate::{Layout, Nest, Show, sctp};
use core::fmt;
use wirelab_core::Annotation;

pub const RECORD_HEADER_LEN: usize = 13;
pub const HANDSHAKE_HEADER_LEN: usize = 12;
/// DTLS 1.2 on the wire: {254, 253}, the one's complement of 1.2 (RFC 6347 §4.1).
pub const DTLS_1_2: u16 = 0xFEFD;

/// ContentType (RFC 5246 §6.2.1).
pub const CHANGE_CIPHER_SPEC: u8 = 20;
pub const ALERT: u8 = 21;
pub const HANDSHAKE: u8 = 22;
pub const APPLICATION_DATA: u8 = 23;

/// HandshakeType (RFC 5246 §7.4, RFC 6347 §4.3.2).
pub const CLIENT_HELLO: u8 = 1;
pub const SERVER_HELLO: u8 = 2;
pub const CERTIFICATE: u8 = 11;
pub const SERVER_KEY_EXCHANGE: u8 = 12;
pub const CERTIFICATE_REQUEST: u8 = 13;
pub const SERVER_HELLO_DONE: u8 = 14;
pub const CERTIFICATE_VERIFY: u8 = 15;
pub const CLIENT_KEY_EXCHANGE: u8 = 16;
pub const FINISHED: u8 = 20;

pub fn content_type_name(t: u8) -> &'static str {
    match t {
        CHANGE_CIPHER_SPEC => "change_cipher_spec",
        ALERT => "alert",
        HANDSHAKE => "handshake",
        APPLICATION_DATA => "application_data",
        _ => "unknown",
    }
}

pub fn handshake_name(t: u8) -> &'static str {
    match t {
        CLIENT_HELLO => "ClientHello",
        SERVER_HELLO => "ServerHello",
        3 => "HelloVerifyRequest",
        CERTIFICATE => "Certificate",
        SERVER_KEY_EXCHANGE => "ServerKeyExchange",
        CERTIFICATE_REQUEST => "CertificateRequest",
        SERVER_HELLO_DONE => "ServerHelloDone",
        CERTIFICATE_VERIFY => "CertificateVerify",
        CLIENT_KEY_EXCHANGE => "ClientKeyExchange",
        FINISHED => "Finished",
        _ => "unknown",
    }
}

/// One record (RFC 6347 §4.1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    pub content_type: u8,
    /// Incremented on every cipher state change (ChangeCipherSpec).
    pub epoch: u16,
    /// 48 bits, per epoch: "the sequence number for the first record transmitted under a
    /// particular cipher state MUST be 0".
    pub sequence_number: u64,
    pub fragment: Vec<u8>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DtlsError {
    /// A record header or fragment cut short, at this byte.
    Truncated {
        at: usize,
    },
    /// A version other than DTLS 1.0 (0xfeff) or 1.2 (0xfefd).
    BadVersion {
        at: usize,
        version: u16,
    },
    TooLong,
}

impl fmt::Display for DtlsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DtlsError::Truncated { at } => write!(f, "DTLS record at byte {at} is cut short"),
            DtlsError::BadVersion { at, version } => write!(f, "record at byte {at} has version 0x{version:04x}"),
            DtlsError::TooLong => f.write_str("a fragment longer than 65535 bytes"),
        }
    }
}

impl std::error::Error for DtlsError {}

/// Writes records back to back, as one datagram carries a flight (RFC 6347 §4.1.1:
/// several records may share a datagram).
pub fn encode(records: &[Record]) -> Result<Vec<u8>, DtlsError> {
    let mut out = Vec::new();
    for r in records {
        let len = u16::try_from(r.fragment.len()).map_err(|_| DtlsError::TooLong)?;
        out.push(r.content_type);
        out.extend_from_slice(&DTLS_1_2.to_be_bytes());
        out.extend_from_slice(&r.epoch.to_be_bytes());
        out.extend_from_slice(&r.sequence_number.to_be_bytes()[2..]);
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(&r.fragment);
    }
    Ok(out)
}

/// The records of a datagram, with where each starts.
pub fn decode(b: &[u8]) -> Result<Vec<(usize, Record)>, DtlsError> {
    let mut out = Vec::new();
    let mut at = 0;
    while at < b.len() {
        if at + RECORD_HEADER_LEN > b.len() {
            return Err(DtlsError::Truncated { at });
        }
        let version = u16::from_be_bytes([b[at + 1], b[at + 2]]);
        if version != DTLS_1_2 && version != 0xFEFF {
            return Err(DtlsError::BadVersion { at, version });
        }
        let len = usize::from(u16::from_be_bytes([b[at + 11], b[at + 12]]));
        let end = at + RECORD_HEADER_LEN + len;
        if end > b.len() {
            return Err(DtlsError::Truncated { at });
        }
        let mut seq = [0u8; 8];
        seq[2..].copy_from_slice(&b[at + 5..at + 11]);
        out.push((
            at,
            Record {
                content_type: b[at],
                epoch: u16::from_be_bytes([b[at + 3], b[at + 4]]),
                sequence_number: u64::from_be_bytes(seq),
                fragment: b[at + RECORD_HEADER_LEN..end].to_vec(),
            },
        ));
        at = end;
    }
    Ok(out)
}

/// A whole, unfragmented handshake message (RFC 6347 §4.2.2) whose body is a placeholder
/// naming it: `[placeholder ClientHello: no real cryptography]`.
pub fn handshake(msg_type: u8, message_seq: u16) -> Vec<u8> {
    let body = format!("[placeholder {}: no real cryptography]", handshake_name(msg_type));
    let len = (body.len() as u32).to_be_bytes();
    let mut out = vec![msg_type, len[1], len[2], len[3]];
    out.extend_from_slice(&message_seq.to_be_bytes());
    out.extend_from_slice(&[0, 0, 0, len[1], len[2], len[3]]);
    out.extend_from_slice(body.as_bytes());
    out
}

/// The handshake type of a record's fragment, if it is a handshake record.
pub fn handshake_type(r: &Record) -> Option<u8> {
    (r.content_type == HANDSHAKE).then(|| r.fragment.first().copied()).flatten()
}

/// One line: `DTLS ServerHello, Certificate, …`; records of SCTP alone read as the SCTP
/// they carry: `SCTP INIT`.
pub fn summary(records: &[(usize, Record)]) -> String {
    let parts: Vec<String> = records
        .iter()
        .map(|(_, r)| match r.content_type {
            HANDSHAKE => r.fragment.first().map_or("handshake", |&t| handshake_name(t)).to_string(),
            CHANGE_CIPHER_SPEC => "ChangeCipherSpec".into(),
            APPLICATION_DATA => match sctp::Packet::decode(&r.fragment) {
                Ok(p) => sctp::summary(&p),
                Err(_) => "application_data".into(),
            },
            t => content_type_name(t).into(),
        })
        .collect();
    if records.iter().all(|(_, r)| r.content_type == APPLICATION_DATA) && parts.iter().all(|p| p.starts_with("SCTP")) {
        return parts.join(", ");
    }
    format!("DTLS {}", parts.join(", "))
}

const RECORD_HEADER: &Layout = &[
    ("Content Type", 0, 1, Show::Dec, "20 change_cipher_spec, 21 alert, 22 handshake, 23 application_data"),
    ("Version", 1, 2, Show::Hex, "DTLS 1.2: {254, 253}, the 1's complement of 1.2"),
    ("Epoch", 3, 2, Show::Dec, "0 before ChangeCipherSpec, in the clear; 1 after, under the new keys"),
    ("Sequence Number", 5, 6, Show::Dec, "48 bits, per epoch: replay detection and the AEAD nonce"),
    ("Length", 11, 2, Show::Dec, "fragment bytes"),
];

const HANDSHAKE_HEADER: &Layout = &[
    (
        "Handshake Type",
        0,
        1,
        Show::Dec,
        "1 ClientHello, 2 ServerHello, 11 Certificate, 12 ServerKeyExchange, 13 CertificateRequest, 14 ServerHelloDone, 15 CertificateVerify, 16 ClientKeyExchange, 20 Finished",
    ),
    ("Length", 1, 3, Show::Dec, "the whole message's body"),
    (
        "Message Seq",
        4,
        2,
        Show::Dec,
        "counts this side's handshake messages, for retransmission and reordering (§4.2.2)",
    ),
    ("Fragment Offset", 6, 3, Show::Dec, "where this fragment starts in the body"),
    ("Fragment Length", 9, 3, Show::Dec, "this fragment's bytes: the whole body here"),
];

/// Names every field of a datagram of DTLS records, and of the SCTP packets inside.
pub fn annotate(bytes: &[u8]) -> Annotation {
    let records = match decode(bytes) {
        Ok(r) => r,
        Err(e) => return crate::malformed("DTLS", bytes, e),
    };
    let mut a = Annotation { protocol: "DTLS".into(), summary: summary(&records), ..Annotation::default() };
    let mut out = Nest { fields: &mut a.fields, base: 0, depth: 0 };
    for (at, r) in &records {
        let (at, len) = (*at, r.fragment.len());
        let name = handshake_type(r).map_or(content_type_name(r.content_type), handshake_name);
        out.push("DTLS record", at, RECORD_HEADER_LEN + len, name.into(), "RFC 6347 §4.1", 0);
        out.layout(bytes, at, RECORD_HEADER, 1);
        let f = at + RECORD_HEADER_LEN;
        let (what, meaning) = match r.content_type {
            HANDSHAKE if len >= HANDSHAKE_HEADER_LEN => {
                out.layout(bytes, f, HANDSHAKE_HEADER, 1);
                let body = &r.fragment[HANDSHAKE_HEADER_LEN..];
                let text = String::from_utf8_lossy(body).into_owned();
                out.push("Body (placeholder)", f + HANDSHAKE_HEADER_LEN, body.len(), text, "NOT REAL: a simulation placeholder where the real message's contents (randoms, cipher suites, certificate, keys, MACs) would be", 1);
                continue;
            }
            CHANGE_CIPHER_SPEC => {
                ("Type", "change_cipher_spec: from the next record on, this side uses the negotiated keys")
            }
            APPLICATION_DATA => (
                "Fragment (shown unencrypted)",
                "a real record carries AEAD ciphertext; here, for teaching, the SCTP packet in the clear",
            ),
            _ => ("Fragment", "not interpreted here"),
        };
        out.push(what, f, len, String::new(), meaning, 1);
        if r.content_type == APPLICATION_DATA {
            let _ = sctp::annotate_at(&r.fragment, &mut out.inner(f, 2));
        }
    }
    a
}
