//! The UDP header (RFC 768):
//!
//! ```text
//!  0      7 8     15 16    23 24    31
//! +--------+--------+--------+--------+
//! |     Source      |   Destination   |
//! |      Port       |      Port       |
//! +--------+--------+--------+--------+
//! |     Length      |    Checksum     |
//! +--------+--------+--------+--------+
//! |          data octets ...
//! ```

use std::fmt;
use std::net::IpAddr;
use wirelab_core::{Annotation, Field};

pub const HEADER_LEN: usize = 8;

/// The bytes are not a well-formed UDP datagram.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WireError {
    /// Fewer than the 8 bytes of a UDP header.
    Truncated {
        len: usize,
    },
    /// "Length is the length in octets of this user datagram including this header and
    /// the data. (This means the minimum value of the length is eight.)" (RFC 768)
    BadLength {
        field: u16,
        actual: usize,
    },
    BadChecksum {
        found: u16,
        expected: u16,
    },
    /// The datagram is larger than the 16-bit Length field can say.
    TooLong {
        len: usize,
    },
}

impl fmt::Display for WireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WireError::Truncated { len } => write!(f, "truncated datagram: {len} bytes, a UDP header needs 8"),
            WireError::BadLength { field, actual } => {
                write!(f, "length field says {field} bytes but the datagram has {actual}")
            }
            WireError::BadChecksum { found, expected } => {
                write!(f, "bad checksum 0x{found:04x}, expected 0x{expected:04x}")
            }
            WireError::TooLong { len } => write!(f, "a {len}-byte datagram does not fit UDP's 16-bit length"),
        }
    }
}

impl std::error::Error for WireError {}

/// A parsed datagram.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Datagram {
    pub src_port: u16,
    pub dst_port: u16,
    pub payload: Vec<u8>,
}

fn be16(b: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([b[at], b[at + 1]])
}

/// The checksum RFC 768 defines: "the 16-bit one's complement of the one's complement sum
/// of a pseudo header of information from the IP header, the UDP header, and the data".
/// Computed with the checksum field as zero. A result of zero is sent as 0xFFFF.
pub fn checksum(src: IpAddr, dst: IpAddr, datagram: &[u8]) -> u16 {
    match wirelab_core::checksum::transport_checksum(src, dst, 17, datagram, 6) {
        // "If the computed checksum is zero, it is transmitted as all ones" (RFC 768)
        0 => 0xffff,
        c => c,
    }
}

impl Datagram {
    /// Parses a datagram's structure (the checksum needs the addresses: see [`verify`]).
    pub fn parse(bytes: &[u8]) -> Result<Datagram, WireError> {
        if bytes.len() < HEADER_LEN {
            return Err(WireError::Truncated { len: bytes.len() });
        }
        let field = be16(bytes, 4);
        if usize::from(field) != bytes.len() {
            return Err(WireError::BadLength { field, actual: bytes.len() });
        }
        Ok(Datagram { src_port: be16(bytes, 0), dst_port: be16(bytes, 2), payload: bytes[HEADER_LEN..].to_vec() })
    }

    /// Writes the datagram with its checksum for the given addresses.
    pub fn emit(&self, src: IpAddr, dst: IpAddr) -> Result<Vec<u8>, WireError> {
        let len = HEADER_LEN + self.payload.len();
        let len16 = u16::try_from(len).map_err(|_| WireError::TooLong { len })?;
        let mut out = Vec::with_capacity(len);
        out.extend_from_slice(&self.src_port.to_be_bytes());
        out.extend_from_slice(&self.dst_port.to_be_bytes());
        out.extend_from_slice(&len16.to_be_bytes());
        out.extend_from_slice(&[0, 0]);
        out.extend_from_slice(&self.payload);
        let sum = checksum(src, dst, &out);
        out[6..8].copy_from_slice(&sum.to_be_bytes());
        Ok(out)
    }
}

/// Checks a datagram's checksum. Over IPv4 a zero checksum means "none computed" and
/// passes (RFC 768); over IPv6 it is mandatory (RFC 8200 §8.1).
pub fn verify(src: IpAddr, dst: IpAddr, bytes: &[u8]) -> Result<(), WireError> {
    if bytes.len() < HEADER_LEN {
        return Err(WireError::Truncated { len: bytes.len() });
    }
    let found = be16(bytes, 6);
    if found == 0 && src.is_ipv4() {
        return Ok(());
    }
    let expected = checksum(src, dst, bytes);
    if found == expected { Ok(()) } else { Err(WireError::BadChecksum { found, expected }) }
}

/// Names every field of a UDP datagram with its byte range.
pub fn annotate(bytes: &[u8]) -> Annotation {
    let mut a = Annotation { protocol: "UDP".into(), ..Annotation::default() };
    if bytes.len() < HEADER_LEN {
        a.summary = format!("malformed UDP datagram ({} bytes)", bytes.len());
        a.error = Some(WireError::Truncated { len: bytes.len() }.to_string());
        return a;
    }
    let (src, dst, len, sum) = (be16(bytes, 0), be16(bytes, 2), be16(bytes, 4), be16(bytes, 6));
    let data = &bytes[HEADER_LEN..];
    let text = String::from_utf8_lossy(data);
    let preview: String = text.chars().take(40).collect();
    a.summary = format!("UDP {src} → {dst} len={}", data.len());
    if usize::from(len) != bytes.len() {
        a.error = Some(WireError::BadLength { field: len, actual: bytes.len() }.to_string());
    }
    a.fields = vec![
        Field::new("Source Port", 0, 2, src.to_string(), "the sender's port (optional: 0 if none)"),
        Field::new("Destination Port", 2, 2, dst.to_string(), "the receiver's port"),
        Field::new("Length", 4, 2, len.to_string(), "header and data, in bytes"),
        Field::new(
            "Checksum",
            6,
            2,
            format!("0x{sum:04x}"),
            "one's complement sum over pseudo-header, header and data",
        ),
    ];
    if !data.is_empty() {
        a.fields.push(Field::new("Data", HEADER_LEN, data.len(), format!("{preview:?}"), "the application's bytes"));
    }
    a
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    const S: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1));
    const D: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 2));

    #[test]
    fn round_trip_and_checksum() {
        let d = Datagram { src_port: 5000, dst_port: 53, payload: b"seq=1".to_vec() };
        let bytes = d.emit(S, D).expect("fits");
        assert_eq!(bytes.len(), 13);
        assert_eq!(be16(&bytes, 4), 13);
        assert_eq!(Datagram::parse(&bytes), Ok(d));
        assert_eq!(verify(S, D, &bytes), Ok(()));
        let mut bad = bytes.clone();
        bad[9] ^= 4;
        assert!(matches!(verify(S, D, &bad), Err(WireError::BadChecksum { .. })));
    }

    #[test]
    fn malformed_input_is_a_typed_error() {
        assert_eq!(Datagram::parse(&[0; 7]), Err(WireError::Truncated { len: 7 }));
        let mut b = [0u8; 10];
        b[5] = 12;
        assert_eq!(Datagram::parse(&b), Err(WireError::BadLength { field: 12, actual: 10 }));
        let big = Datagram { src_port: 1, dst_port: 2, payload: vec![0; 70_000] };
        assert_eq!(big.emit(S, D), Err(WireError::TooLong { len: 70_008 }));
        // IPv4: zero means "no checksum" and passes.
        let mut none = Datagram { src_port: 1, dst_port: 2, payload: vec![] }.emit(S, D).expect("fits");
        none[6] = 0;
        none[7] = 0;
        assert_eq!(verify(S, D, &none), Ok(()));
    }
}
