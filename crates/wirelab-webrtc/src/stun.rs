//! STUN messages (RFC 8489): the header, the attributes ICE needs (RFC 8445 §16.1), the
//! short-term-credential MESSAGE-INTEGRITY (HMAC-SHA1, §14.5) and FINGERPRINT (§14.7).
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |0 0|     STUN Message Type     |         Message Length        |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                         Magic Cookie                          |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                     Transaction ID (96 bits)                  |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```
//!
//! [`Message::decode`] takes bytes apart into typed [`Attribute`]s (unknown ones kept as
//! they came); [`Message::encode`] writes them back as they are, and [`Message::seal`]
//! computes MESSAGE-INTEGRITY and FINGERPRINT on the way. [`verify_integrity`] and
//! [`verify_fingerprint`] check received bytes as they are, padding included. The RFC 5769
//! test vectors are this module's golden tests. Errors are typed; no input panics.
//!
//! Not modelled: long-term credentials (REALM, NONCE, USERHASH, PASSWORD-ALGORITHM: kept
//! as unknown attributes), and OpaqueString (RFC 8265) preparation of the password: the
//! key is the password's UTF-8 bytes, which is the same for the ASCII of ICE (RFC 8445
//! §5.3: ice-pwd is ALPHA / DIGIT / "+" / "/").

use crate::{Layout, Nest, Show};
use core::fmt;
use hmac::{Hmac, Mac};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use wirelab_core::{Annotation, Field};

/// "The magic cookie field MUST contain the fixed value 0x2112A442 in network byte
/// order." (RFC 8489 §5)
pub const MAGIC_COOKIE: u32 = 0x2112_A442;
pub const HEADER_LEN: usize = 20;
/// The Binding method, the only one ICE uses (RFC 8489 §18.2).
pub const BINDING: u16 = 0x001;
/// "The value of the attribute is computed as the CRC-32 of the STUN message up to
/// (but excluding) the FINGERPRINT attribute itself, XOR'ed with the 32-bit value
/// 0x5354554e." (RFC 8489 §14.7)
pub const FINGERPRINT_XOR: u32 = 0x5354_554e;

/// Attribute types (RFC 8489 §18.3, RFC 8445 §16.1).
pub mod attr {
    pub const MAPPED_ADDRESS: u16 = 0x0001;
    pub const USERNAME: u16 = 0x0006;
    pub const MESSAGE_INTEGRITY: u16 = 0x0008;
    pub const ERROR_CODE: u16 = 0x0009;
    pub const MESSAGE_INTEGRITY_SHA256: u16 = 0x001C;
    pub const XOR_MAPPED_ADDRESS: u16 = 0x0020;
    pub const PRIORITY: u16 = 0x0024;
    pub const USE_CANDIDATE: u16 = 0x0025;
    pub const SOFTWARE: u16 = 0x8022;
    pub const FINGERPRINT: u16 = 0x8028;
    pub const ICE_CONTROLLED: u16 = 0x8029;
    pub const ICE_CONTROLLING: u16 = 0x802A;
}

/// The name and the defining section of an attribute type, for the inspector.
pub fn attribute_name(ty: u16) -> (&'static str, &'static str) {
    match ty {
        attr::MAPPED_ADDRESS => ("MAPPED-ADDRESS", "RFC 8489 §14.1"),
        attr::USERNAME => ("USERNAME", "RFC 8489 §14.3"),
        attr::MESSAGE_INTEGRITY => ("MESSAGE-INTEGRITY", "RFC 8489 §14.5"),
        attr::ERROR_CODE => ("ERROR-CODE", "RFC 8489 §14.8"),
        0x000A => ("UNKNOWN-ATTRIBUTES", "RFC 8489 §14.9"),
        0x0014 => ("REALM", "RFC 8489 §14.9"),
        0x0015 => ("NONCE", "RFC 8489 §14.10"),
        attr::MESSAGE_INTEGRITY_SHA256 => ("MESSAGE-INTEGRITY-SHA256", "RFC 8489 §14.6"),
        0x001D => ("PASSWORD-ALGORITHM", "RFC 8489 §14.12"),
        0x001E => ("USERHASH", "RFC 8489 §14.4"),
        attr::XOR_MAPPED_ADDRESS => ("XOR-MAPPED-ADDRESS", "RFC 8489 §14.2"),
        attr::PRIORITY => ("PRIORITY", "RFC 8445 §7.1.1"),
        attr::USE_CANDIDATE => ("USE-CANDIDATE", "RFC 8445 §7.1.2"),
        attr::SOFTWARE => ("SOFTWARE", "RFC 8489 §14.14"),
        0x8023 => ("ALTERNATE-SERVER", "RFC 8489 §14.15"),
        attr::FINGERPRINT => ("FINGERPRINT", "RFC 8489 §14.7"),
        attr::ICE_CONTROLLED => ("ICE-CONTROLLED", "RFC 8445 §7.1.3"),
        attr::ICE_CONTROLLING => ("ICE-CONTROLLING", "RFC 8445 §7.1.3"),
        t if t < 0x8000 => ("unknown (comprehension-required)", "RFC 8489 §15"),
        _ => ("unknown (comprehension-optional)", "RFC 8489 §15"),
    }
}

/// The message class: two bits, C1 and C0, spread over the type (RFC 8489 §5).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Class {
    Request,
    Indication,
    SuccessResponse,
    ErrorResponse,
}

impl Class {
    const ALL: [Class; 4] = [Class::Request, Class::Indication, Class::SuccessResponse, Class::ErrorResponse];

    pub const fn name(self) -> &'static str {
        match self {
            Class::Request => "request",
            Class::Indication => "indication",
            Class::SuccessResponse => "success response",
            Class::ErrorResponse => "error response",
        }
    }
}

/// The 14-bit message type, method and class bits interleaved:
///
/// ```text
///  0                 1
///  2  3  4 5 6 7 8 9 0 1 2 3 4 5
/// +--+--+-+-+-+-+-+-+-+-+-+-+-+-+
/// |M |M |M|M|M|C|M|M|M|C|M|M|M|M|
/// |11|10|9|8|7|1|6|5|4|0|3|2|1|0|
/// +--+--+-+-+-+-+-+-+-+-+-+-+-+-+
/// ```
/// (RFC 8489 §5, Figure 3)
pub fn message_type(method: u16, class: Class) -> u16 {
    let c = class as u16;
    (method & 0x000F) | ((method & 0x0070) << 1) | ((method & 0x0F80) << 2) | ((c & 1) << 4) | ((c & 2) << 7)
}

/// The method and class of a message type: the inverse of [`message_type`].
pub fn split_type(ty: u16) -> (u16, Class) {
    let method = (ty & 0x000F) | ((ty >> 1) & 0x0070) | ((ty >> 2) & 0x0F80);
    let c = ((ty >> 4) & 1) | ((ty >> 7) & 2);
    (method, Class::ALL[usize::from(c)])
}

/// One attribute, typed where this module knows the type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Attribute {
    /// RFC 8489 §14.1: the reflexive address, in the clear (kept for RFC 3489 clients).
    MappedAddress(SocketAddr),
    /// RFC 8489 §14.2: the reflexive address, XORed with the magic cookie (and for IPv6
    /// the transaction ID) so that NATs rewriting addresses in payloads leave it alone.
    XorMappedAddress(SocketAddr),
    /// RFC 8489 §14.3; in ICE, the receiver's ufrag, a colon, the sender's (RFC 8445 §7.2.2).
    Username(String),
    /// RFC 8489 §14.5: HMAC-SHA1 over the message up to this attribute.
    MessageIntegrity([u8; 20]),
    /// RFC 8489 §14.6: HMAC-SHA256, 16 to 32 bytes, a multiple of 4.
    MessageIntegritySha256(Vec<u8>),
    /// RFC 8489 §14.7: CRC-32 of the message up to here, XOR 0x5354554e.
    Fingerprint(u32),
    /// RFC 8489 §14.8: a code 300..699 and a reason phrase.
    ErrorCode { code: u16, reason: String },
    /// RFC 8489 §14.14: the agent's name and version.
    Software(String),
    /// RFC 8445 §7.1.1: the priority a peer-reflexive candidate learned from this check
    /// would get.
    Priority(u32),
    /// RFC 8445 §7.1.2: the controlling agent nominates this pair.
    UseCandidate,
    /// RFC 8445 §7.1.3: the sender thinks it is controlled; the value is its tie-breaker.
    IceControlled(u64),
    /// RFC 8445 §7.1.3: the sender thinks it is controlling; the value is its tie-breaker.
    IceControlling(u64),
    /// Any other type, with its value as it came (padding removed).
    Unknown { ty: u16, value: Vec<u8> },
}

impl Attribute {
    pub fn ty(&self) -> u16 {
        match self {
            Attribute::MappedAddress(_) => attr::MAPPED_ADDRESS,
            Attribute::XorMappedAddress(_) => attr::XOR_MAPPED_ADDRESS,
            Attribute::Username(_) => attr::USERNAME,
            Attribute::MessageIntegrity(_) => attr::MESSAGE_INTEGRITY,
            Attribute::MessageIntegritySha256(_) => attr::MESSAGE_INTEGRITY_SHA256,
            Attribute::Fingerprint(_) => attr::FINGERPRINT,
            Attribute::ErrorCode { .. } => attr::ERROR_CODE,
            Attribute::Software(_) => attr::SOFTWARE,
            Attribute::Priority(_) => attr::PRIORITY,
            Attribute::UseCandidate => attr::USE_CANDIDATE,
            Attribute::IceControlled(_) => attr::ICE_CONTROLLED,
            Attribute::IceControlling(_) => attr::ICE_CONTROLLING,
            Attribute::Unknown { ty, .. } => *ty,
        }
    }
}

/// Why bytes are not a STUN message, or a message cannot be written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StunError {
    /// Fewer than the 20 bytes of a header.
    Truncated {
        len: usize,
    },
    /// "The most significant 2 bits of every STUN message MUST be zeroes." (§5)
    NotStun {
        first_byte: u8,
    },
    BadMagicCookie {
        found: u32,
    },
    /// "the message length MUST contain the size of the message in bytes, not including
    /// the 20-byte STUN header. Since all STUN attributes are padded to a multiple of 4
    /// bytes, the last 2 bits of this field are always zero." (§5)
    BadLength {
        field: u16,
        actual: usize,
    },
    /// An attribute's header or value runs past the end of the message.
    AttributeOverflow {
        ty: u16,
        at: usize,
    },
    /// An attribute whose value cannot be what its type says (§14).
    BadAttribute {
        ty: u16,
        why: &'static str,
    },
    /// An attribute value longer than the 16-bit length can say, or a message longer
    /// than the header's length can say.
    TooLong {
        len: usize,
    },
    /// The message has no MESSAGE-INTEGRITY (or FINGERPRINT) to check.
    Missing {
        ty: u16,
    },
    /// MESSAGE-INTEGRITY to compute, and no key to compute it with (or, for
    /// MESSAGE-INTEGRITY-SHA256, no [`Seal::sha256`]).
    NoKey,
    /// The HMAC does not match: wrong password, or the bytes changed (§14.5).
    IntegrityMismatch,
    /// The CRC does not match (§14.7).
    FingerprintMismatch {
        found: u32,
        expected: u32,
    },
}

impl fmt::Display for StunError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = |ty: &u16| attribute_name(*ty).0;
        match self {
            StunError::Truncated { len } => write!(f, "{len} bytes: a STUN header needs 20"),
            StunError::NotStun { first_byte } => {
                write!(f, "first byte 0x{first_byte:02x}: a STUN message starts with two zero bits")
            }
            StunError::BadMagicCookie { found } => write!(f, "magic cookie 0x{found:08x}, not 0x2112a442"),
            StunError::BadLength { field, actual } => {
                write!(
                    f,
                    "length field {field} does not fit the {actual} bytes after the header (or is not a multiple of 4)"
                )
            }
            StunError::AttributeOverflow { ty, at } => {
                write!(f, "attribute 0x{ty:04x} at byte {at} runs past the end of the message")
            }
            StunError::BadAttribute { ty, why } => write!(f, "bad {} (0x{ty:04x}): {why}", name(ty)),
            StunError::TooLong { len } => write!(f, "{len} bytes do not fit a 16-bit length"),
            StunError::Missing { ty } => write!(f, "no {} attribute", name(ty)),
            StunError::NoKey => f.write_str("MESSAGE-INTEGRITY needs a key"),
            StunError::IntegrityMismatch => {
                f.write_str("MESSAGE-INTEGRITY does not match: wrong password or changed bytes")
            }
            StunError::FingerprintMismatch { found, expected } => {
                write!(f, "FINGERPRINT 0x{found:08x}, expected 0x{expected:08x}")
            }
        }
    }
}

impl std::error::Error for StunError {}

/// A STUN message: type, transaction ID, attributes in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    pub method: u16,
    pub class: Class,
    /// "The transaction ID is a 96-bit identifier, used to uniquely identify STUN
    /// transactions ... MUST be uniformly and randomly chosen" (§5)
    pub transaction_id: [u8; 12],
    pub attributes: Vec<Attribute>,
}

/// An HMAC: key, data, tag.
pub type MacFn = fn(&[u8], &[u8]) -> Vec<u8>;

/// How [`Message::seal`] writes a message.
#[derive(Clone, Copy, Debug, Default)]
pub struct Seal<'a> {
    /// The short-term key (the password, RFC 8489 §9.1.1): every MESSAGE-INTEGRITY and
    /// MESSAGE-INTEGRITY-SHA256 in the message is computed with it.
    pub key: Option<&'a [u8]>,
    /// The HMAC-SHA256 for MESSAGE-INTEGRITY-SHA256: [`hmac_sha256`]. Passed in, so that
    /// code which never sends that attribute (the Wasm app) does not carry SHA-256.
    pub sha256: Option<MacFn>,
    /// The byte padding is made of. "The padding bits MUST be set to zero on sending and
    /// MUST be ignored by the receiver" (RFC 8489 §14); RFC 5769's vectors, written for
    /// RFC 5389 ("may be any value"), pad with spaces, 0x20.
    pub padding: u8,
}

fn be16(b: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([b[at], b[at + 1]])
}

fn be32(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// Checks the header (§5, §6) and returns the attributes' spans: (type, start of the
/// attribute header, value length). Used by decoding, verification and the annotator.
fn spans(bytes: &[u8]) -> Result<Vec<(u16, usize, usize)>, StunError> {
    if bytes.len() < HEADER_LEN {
        return Err(StunError::Truncated { len: bytes.len() });
    }
    if bytes[0] & 0xC0 != 0 {
        return Err(StunError::NotStun { first_byte: bytes[0] });
    }
    let cookie = be32(bytes, 4);
    if cookie != MAGIC_COOKIE {
        return Err(StunError::BadMagicCookie { found: cookie });
    }
    let field = be16(bytes, 2);
    if field % 4 != 0 || usize::from(field) != bytes.len() - HEADER_LEN {
        return Err(StunError::BadLength { field, actual: bytes.len() - HEADER_LEN });
    }
    let mut out = Vec::new();
    let mut at = HEADER_LEN;
    while at < bytes.len() {
        if at + 4 > bytes.len() {
            return Err(StunError::AttributeOverflow { ty: 0, at });
        }
        let (ty, len) = (be16(bytes, at), usize::from(be16(bytes, at + 2)));
        if at + 4 + len > bytes.len() {
            return Err(StunError::AttributeOverflow { ty, at });
        }
        out.push((ty, at, len));
        at += 4 + len.next_multiple_of(4);
    }
    Ok(out)
}

/// The address XOR mask: the cookie, then (IPv6) the transaction ID (§14.2).
fn xor_mask(id: &[u8; 12]) -> [u8; 16] {
    let mut m = [0u8; 16];
    m[..4].copy_from_slice(&MAGIC_COOKIE.to_be_bytes());
    m[4..].copy_from_slice(id);
    m
}

fn decode_address(ty: u16, v: &[u8], mask: Option<&[u8; 16]>) -> Result<SocketAddr, StunError> {
    let bad = |why| StunError::BadAttribute { ty, why };
    if v.len() < 4 {
        return Err(bad("shorter than 4 bytes"));
    }
    let zero = [0u8; 16];
    let m = mask.unwrap_or(&zero);
    let port = be16(v, 2) ^ be16(m, 0);
    let mut a = [0u8; 16];
    let n = match (v[1], v.len()) {
        (0x01, 8) => 4,
        (0x02, 20) => 16,
        (0x01 | 0x02, _) => return Err(bad("length does not match the family")),
        _ => return Err(bad("family is neither 0x01 (IPv4) nor 0x02 (IPv6)")),
    };
    for i in 0..n {
        a[i] = v[4 + i] ^ m[i];
    }
    let ip = if n == 4 { IpAddr::V4(Ipv4Addr::new(a[0], a[1], a[2], a[3])) } else { IpAddr::V6(Ipv6Addr::from(a)) };
    Ok(SocketAddr::new(ip, port))
}

fn encode_address(addr: &SocketAddr, mask: Option<&[u8; 16]>, out: &mut Vec<u8>) {
    let zero = [0u8; 16];
    let m = mask.unwrap_or(&zero);
    let (family, ip): (u8, Vec<u8>) = match addr.ip() {
        IpAddr::V4(v4) => (1, v4.octets().to_vec()),
        IpAddr::V6(v6) => (2, v6.octets().to_vec()),
    };
    out.extend_from_slice(&[0, family]);
    out.extend_from_slice(&(addr.port() ^ be16(m, 0)).to_be_bytes());
    out.extend(ip.iter().zip(m).map(|(b, k)| b ^ k));
}

fn text(ty: u16, v: &[u8]) -> Result<String, StunError> {
    String::from_utf8(v.to_vec()).map_err(|_| StunError::BadAttribute { ty, why: "not UTF-8" })
}

fn fixed<const N: usize>(ty: u16, v: &[u8]) -> Result<[u8; N], StunError> {
    v.try_into().map_err(|_| StunError::BadAttribute { ty, why: "wrong length for this type" })
}

fn decode_attribute(ty: u16, v: &[u8], id: &[u8; 12]) -> Result<Attribute, StunError> {
    use Attribute as A;
    Ok(match ty {
        attr::MAPPED_ADDRESS => A::MappedAddress(decode_address(ty, v, None)?),
        attr::XOR_MAPPED_ADDRESS => A::XorMappedAddress(decode_address(ty, v, Some(&xor_mask(id)))?),
        attr::USERNAME => A::Username(text(ty, v)?),
        attr::SOFTWARE => A::Software(text(ty, v)?),
        attr::MESSAGE_INTEGRITY => A::MessageIntegrity(fixed(ty, v)?),
        attr::MESSAGE_INTEGRITY_SHA256 => {
            // "The value will be at most 32 bytes, but it MUST be at least 16 bytes and MUST
            // be a multiple of 4 bytes." (§14.6)
            if !(16..=32).contains(&v.len()) || v.len() % 4 != 0 {
                return Err(StunError::BadAttribute { ty, why: "must be 16 to 32 bytes, a multiple of 4" });
            }
            A::MessageIntegritySha256(v.to_vec())
        }
        attr::FINGERPRINT => A::Fingerprint(u32::from_be_bytes(fixed(ty, v)?)),
        attr::PRIORITY => A::Priority(u32::from_be_bytes(fixed(ty, v)?)),
        attr::USE_CANDIDATE => {
            fixed::<0>(ty, v)?;
            A::UseCandidate
        }
        attr::ICE_CONTROLLED => A::IceControlled(u64::from_be_bytes(fixed(ty, v)?)),
        attr::ICE_CONTROLLING => A::IceControlling(u64::from_be_bytes(fixed(ty, v)?)),
        attr::ERROR_CODE => {
            if v.len() < 4 {
                return Err(StunError::BadAttribute { ty, why: "shorter than 4 bytes" });
            }
            // "The Class represents the hundreds digit of the error code. The value MUST be
            // between 3 and 6. The Number represents the binary encoding of the error code
            // modulo 100, and its value MUST be between 0 and 99." (§14.8)
            let (class, number) = (u16::from(v[2] & 0x07), u16::from(v[3]));
            if !(3..=6).contains(&class) || number > 99 {
                return Err(StunError::BadAttribute { ty, why: "class must be 3..6 and number 0..99" });
            }
            A::ErrorCode { code: class * 100 + number, reason: text(ty, &v[4..])? }
        }
        _ => A::Unknown { ty, value: v.to_vec() },
    })
}

/// HMAC-SHA256 of `data` with `key`, for [`Seal::sha256`] (RFC 8489 §14.6).
pub fn hmac_sha256(key: &[u8], data: &[u8]) -> Vec<u8> {
    hmac::<Hmac<sha2::Sha256>>(key, data)
}

/// HMAC of `data` with `key` (RFC 2104), for either hash.
fn hmac<M: Mac + hmac::digest::KeyInit>(key: &[u8], data: &[u8]) -> Vec<u8> {
    let mut mac = <M as hmac::digest::KeyInit>::new_from_slice(key)
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

/// What an integrity attribute or FINGERPRINT at `at`, ending at `end`, covers: the
/// message before it, with the length field counting up to and including that attribute,
/// as if it were the last (§14.5, §14.6, §14.7).
fn covered(bytes: &[u8], at: usize, end: usize) -> Vec<u8> {
    let mut head = bytes[..at].to_vec();
    head[2..4].copy_from_slice(&((end - HEADER_LEN) as u16).to_be_bytes());
    head
}

impl Message {
    pub fn new(method: u16, class: Class, transaction_id: [u8; 12]) -> Self {
        Message { method, class, transaction_id, attributes: Vec::new() }
    }

    /// The first attribute of type `ty`.
    pub fn get(&self, ty: u16) -> Option<&Attribute> {
        self.attributes.iter().find(|a| a.ty() == ty)
    }

    /// Parses a whole message (one UDP datagram). Attributes after MESSAGE-INTEGRITY other
    /// than MESSAGE-INTEGRITY-SHA256 and FINGERPRINT are ignored, and nothing after
    /// FINGERPRINT counts (§14.5, §14.7).
    pub fn decode(bytes: &[u8]) -> Result<Message, StunError> {
        let spans = spans(bytes)?;
        let (method, class) = split_type(be16(bytes, 0));
        let transaction_id: [u8; 12] = fixed(0, &bytes[8..20])?;
        let mut attributes = Vec::new();
        let mut after_integrity = false;
        for (ty, at, len) in spans {
            let a = decode_attribute(ty, &bytes[at + 4..at + 4 + len], &transaction_id)?;
            // "agents MUST ignore all other attributes that follow MESSAGE-INTEGRITY, with
            // the exception of the MESSAGE-INTEGRITY-SHA256 and FINGERPRINT attributes" (§14.5)
            let keep =
                !after_integrity || matches!(a, Attribute::MessageIntegritySha256(_) | Attribute::Fingerprint(_));
            after_integrity |= matches!(a, Attribute::MessageIntegrity(_) | Attribute::MessageIntegritySha256(_));
            let last = matches!(a, Attribute::Fingerprint(_));
            if keep {
                attributes.push(a);
            }
            // "When present, the FINGERPRINT attribute MUST be the last attribute in the
            // message" (§14.7)
            if last {
                break;
            }
        }
        Ok(Message { method, class, transaction_id, attributes })
    }

    /// Writes the attributes as they are, padded with zeros.
    pub fn encode(&self) -> Result<Vec<u8>, StunError> {
        self.write(None, 0)
    }

    /// Writes the message, computing MESSAGE-INTEGRITY (with `seal.key`) and FINGERPRINT
    /// where the attribute list has them: their stored values are ignored.
    pub fn seal(&self, seal: &Seal<'_>) -> Result<Vec<u8>, StunError> {
        self.write(Some(seal), seal.padding)
    }

    fn write(&self, compute: Option<&Seal<'_>>, padding: u8) -> Result<Vec<u8>, StunError> {
        let mut out = Vec::with_capacity(128);
        out.extend_from_slice(&message_type(self.method, self.class).to_be_bytes());
        out.extend_from_slice(&[0, 0]);
        out.extend_from_slice(&MAGIC_COOKIE.to_be_bytes());
        out.extend_from_slice(&self.transaction_id);
        for a in &self.attributes {
            let at = out.len();
            out.extend_from_slice(&a.ty().to_be_bytes());
            out.extend_from_slice(&[0, 0]);
            match a {
                Attribute::MappedAddress(addr) => encode_address(addr, None, &mut out),
                Attribute::XorMappedAddress(addr) => {
                    encode_address(addr, Some(&xor_mask(&self.transaction_id)), &mut out)
                }
                Attribute::Username(s) | Attribute::Software(s) => out.extend_from_slice(s.as_bytes()),
                Attribute::MessageIntegrity(v) => match compute {
                    Some(seal) => {
                        let key = seal.key.ok_or(StunError::NoKey)?;
                        out.extend(hmac::<Hmac<sha1::Sha1>>(key, &covered(&out, at, at + 24)));
                    }
                    None => out.extend_from_slice(v),
                },
                Attribute::MessageIntegritySha256(v) => match compute {
                    Some(seal) => {
                        let (key, mac) = seal.key.zip(seal.sha256).ok_or(StunError::NoKey)?;
                        let n = v.len().clamp(16, 32) & !3;
                        out.extend(mac(key, &covered(&out, at, at + 4 + n)).iter().take(n));
                    }
                    None => out.extend_from_slice(v),
                },
                Attribute::Fingerprint(v) => {
                    let value = match compute {
                        Some(_) => crate::crc::crc32(&covered(&out, at, at + 8)) ^ FINGERPRINT_XOR,
                        None => *v,
                    };
                    out.extend_from_slice(&value.to_be_bytes());
                }
                Attribute::ErrorCode { code, reason } => {
                    if !(300..700).contains(code) {
                        return Err(StunError::BadAttribute { ty: attr::ERROR_CODE, why: "code must be 300..699" });
                    }
                    out.extend_from_slice(&[0, 0, (code / 100) as u8 & 0x07, (code % 100) as u8]);
                    out.extend_from_slice(reason.as_bytes());
                }
                Attribute::Priority(p) => out.extend_from_slice(&p.to_be_bytes()),
                Attribute::UseCandidate => {}
                Attribute::IceControlled(t) | Attribute::IceControlling(t) => out.extend_from_slice(&t.to_be_bytes()),
                Attribute::Unknown { value, .. } => out.extend_from_slice(value),
            }
            let len = out.len() - at - 4;
            let len16 = u16::try_from(len).map_err(|_| StunError::TooLong { len })?;
            out[at + 2..at + 4].copy_from_slice(&len16.to_be_bytes());
            out.resize(out.len().next_multiple_of(4), padding);
        }
        let len = out.len() - HEADER_LEN;
        let len16 = u16::try_from(len).map_err(|_| StunError::TooLong { len })?;
        out[2..4].copy_from_slice(&len16.to_be_bytes());
        Ok(out)
    }
}

/// Checks a received message's MESSAGE-INTEGRITY against `key`, over the bytes as they
/// came (§14.5).
pub fn verify_integrity(bytes: &[u8], key: &[u8]) -> Result<(), StunError> {
    let spans = spans(bytes)?;
    let &(_, at, len) = spans
        .iter()
        .find(|s| s.0 == attr::MESSAGE_INTEGRITY)
        .ok_or(StunError::Missing { ty: attr::MESSAGE_INTEGRITY })?;
    if len != 20 {
        return Err(StunError::BadAttribute { ty: attr::MESSAGE_INTEGRITY, why: "wrong length for this type" });
    }
    let mac = hmac::<Hmac<sha1::Sha1>>(key, &covered(bytes, at, at + 24));
    if mac[..] == bytes[at + 4..at + 24] { Ok(()) } else { Err(StunError::IntegrityMismatch) }
}

/// Checks a received message's FINGERPRINT (§14.7).
pub fn verify_fingerprint(bytes: &[u8]) -> Result<(), StunError> {
    let spans = spans(bytes)?;
    let &(_, at, len) =
        spans.iter().find(|s| s.0 == attr::FINGERPRINT).ok_or(StunError::Missing { ty: attr::FINGERPRINT })?;
    if len != 4 {
        return Err(StunError::BadAttribute { ty: attr::FINGERPRINT, why: "wrong length for this type" });
    }
    let expected = crate::crc::crc32(&covered(bytes, at, at + 8)) ^ FINGERPRINT_XOR;
    let found = be32(bytes, at + 4);
    if found == expected { Ok(()) } else { Err(StunError::FingerprintMismatch { found, expected }) }
}

/// Whether bytes look like STUN, as a WebRTC endpoint demultiplexes one UDP port: a
/// first byte of 0 to 3 (RFC 7983 §7) and the magic cookie.
pub fn looks_like_stun(bytes: &[u8]) -> bool {
    bytes.len() >= HEADER_LEN && bytes[0] < 4 && be32(bytes, 4) == MAGIC_COOKIE
}

/// One line for the ladder: `STUN Binding request USERNAME=b:a USE-CANDIDATE`.
pub fn summary(m: &Message) -> String {
    let method = if m.method == BINDING { "Binding".to_string() } else { format!("method 0x{:03x}", m.method) };
    let mut s = format!("STUN {method} {}", m.class.name());
    for a in &m.attributes {
        match a {
            Attribute::Username(u) => s.push_str(&format!(" USERNAME={u}")),
            Attribute::UseCandidate => s.push_str(" USE-CANDIDATE"),
            Attribute::XorMappedAddress(x) => s.push_str(&format!(" XOR-MAPPED-ADDRESS={x}")),
            Attribute::ErrorCode { code, .. } => s.push_str(&format!(" ERROR-CODE={code}")),
            _ => {}
        }
    }
    s
}

const HEADER: &Layout = &[
    ("Message Type", 0, 2, Show::Hex, "method and class bits interleaved, under two zero bits (RFC 8489 §5)"),
    ("Message Length", 2, 2, Show::Dec, "bytes after the 20-byte header"),
    ("Magic Cookie", 4, 4, Show::Hex, "fixed: tells STUN from other protocols on the same port"),
    ("Transaction ID", 8, 12, Show::Hex, "96 random bits; the response carries the same"),
];

const ATTRIBUTE_HEADER: &Layout = &[
    ("Type", 0, 2, Show::Hex, "the attribute's type; below 0x8000 the receiver must understand it (§14)"),
    ("Length", 2, 2, Show::Dec, "value bytes, before padding"),
];

const ADDRESS: &Layout = &[
    ("Reserved", 4, 1, Show::Hex, "zero"),
    ("Family", 5, 1, Show::Hex, "0x01 IPv4, 0x02 IPv6"),
    ("Port", 6, 2, Show::Hex, "XOR-MAPPED-ADDRESS: the port XOR the cookie's top 16 bits"),
];

/// Names every byte of a STUN message: header fields with the type's method and class
/// bits, and every attribute's type, length, value parts and padding.
pub fn annotate(bytes: &[u8]) -> Annotation {
    let (spans, msg) = match spans(bytes).and_then(|s| Message::decode(bytes).map(|m| (s, m))) {
        Ok(ok) => ok,
        Err(e) => return crate::malformed("STUN", bytes, e),
    };
    let mut a = Annotation { protocol: "STUN".into(), summary: summary(&msg), ..Annotation::default() };
    let mut out = Nest { fields: &mut a.fields, base: 0, depth: 0 };
    out.layout(bytes, 0, &HEADER[..1], 0);
    let method = if msg.method == BINDING { "Binding" } else { "not Binding" };
    out.fields.push(Field::new("Method", 0, 2, method, "bits M0..M11").with_bits(0x3EEF).child());
    out.fields.push(Field::new("Class", 0, 2, msg.class.name(), "bits C1 and C0").with_bits(0x0110).child());
    out.layout(bytes, 0, &HEADER[1..], 0);
    // What the receiver skips: all but MESSAGE-INTEGRITY-SHA256 and FINGERPRINT after
    // MESSAGE-INTEGRITY, everything after FINGERPRINT (§14.5, §14.7).
    let (mut after_integrity, mut after_fingerprint) = (false, false);
    for (ty, at, len) in spans {
        let (name, rfc) = attribute_name(ty);
        let value = &bytes[at + 4..at + 4 + len];
        let typed = decode_attribute(ty, value, &msg.transaction_id).ok();
        let (val, mut meaning) = describe(typed.as_ref(), value);
        let ignored =
            after_fingerprint || (after_integrity && ty != attr::MESSAGE_INTEGRITY_SHA256 && ty != attr::FINGERPRINT);
        after_integrity |= ty == attr::MESSAGE_INTEGRITY || ty == attr::MESSAGE_INTEGRITY_SHA256;
        after_fingerprint |= ty == attr::FINGERPRINT;
        if ignored {
            meaning = "ignored: it follows MESSAGE-INTEGRITY or FINGERPRINT (§14.5, §14.7)";
        }
        let padded = len.next_multiple_of(4);
        out.push(name, at, 4 + padded, val.clone(), &format!("{meaning} ({rfc})"), 0);
        out.layout(bytes, at, ATTRIBUTE_HEADER, 1);
        let (value_at, value_len) = if ty == attr::MAPPED_ADDRESS || ty == attr::XOR_MAPPED_ADDRESS {
            out.layout(bytes, at, ADDRESS, 1);
            (at + 8, len.saturating_sub(4))
        } else {
            (at + 4, len)
        };
        if value_len > 0 {
            out.push("Value", value_at, value_len, val, meaning, 1);
        }
        if padded > len {
            let pad = crate::hex(&bytes[at + 4 + len..at + 4 + padded]);
            out.push(
                "Padding",
                at + 4 + len,
                padded - len,
                pad,
                "to a multiple of 4 bytes; ignored by the receiver (§14)",
                1,
            );
        }
    }
    a
}

fn describe(a: Option<&Attribute>, raw: &[u8]) -> (String, &'static str) {
    use Attribute as A;
    match a {
        Some(A::MappedAddress(x)) => (x.to_string(), "the address the request came from, in the clear"),
        Some(A::XorMappedAddress(x)) => (
            x.to_string(),
            "the address the request came from, as the responder saw it; XORed with the cookie (and for IPv6 the transaction ID)",
        ),
        Some(A::Username(t) | A::Software(t)) => (
            t.clone(),
            "in ICE: the receiver's ufrag, a colon, the sender's (RFC 8445 §7.2.2); SOFTWARE: the sender's name",
        ),
        Some(A::MessageIntegrity(_)) => (
            crate::hex(raw),
            "HMAC-SHA1 of the message so far, keyed with the password of the agent receiving the request",
        ),
        Some(A::MessageIntegritySha256(_)) => (crate::hex(raw), "HMAC-SHA256 of the message so far"),
        Some(A::Fingerprint(_)) => (crate::hex(raw), "CRC-32 of the message so far XOR 0x5354554e: marks it as STUN"),
        Some(A::ErrorCode { code, .. }) => {
            (code.to_string(), "class (hundreds), number (modulo 100), then a reason phrase")
        }
        Some(A::Priority(p)) => {
            (p.to_string(), "the priority a peer-reflexive candidate learned from this check would have")
        }
        Some(A::UseCandidate) => (String::new(), "the controlling agent nominates this pair: use it for data"),
        Some(A::IceControlled(_) | A::IceControlling(_)) => {
            (crate::hex(raw), "the sender's role and its tie-breaker for role conflicts")
        }
        _ => (crate::hex(raw), "not interpreted here"),
    }
}
