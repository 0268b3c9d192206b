//! The TCP header (RFC 9293 §3.1): parse, emit, checksum and a field-by-field annotation.
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |          Source Port          |       Destination Port        |
//! |                        Sequence Number                        |
//! |                    Acknowledgment Number                      |
//! |  Data |       |C|E|U|A|P|R|S|F|                               |
//! | Offset| Rsrvd |W|C|R|C|S|S|Y|I|            Window             |
//! |                           |R|E|G|K|H|T|N|N|                   |
//! |           Checksum            |         Urgent Pointer        |
//! |                           [Options]                           |
//! ```

use crate::error::WireError;
use std::fmt;
use std::net::IpAddr;
use wirelab_core::{Annotation, Field};

/// The length of a TCP header without options.
pub const HEADER_LEN: usize = 20;

/// The eight control bits (RFC 9293 §3.1; CWR and ECE from RFC 3168).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Flags(pub u8);

impl Flags {
    pub const FIN: Flags = Flags(0x01);
    pub const SYN: Flags = Flags(0x02);
    pub const RST: Flags = Flags(0x04);
    pub const PSH: Flags = Flags(0x08);
    pub const ACK: Flags = Flags(0x10);
    pub const URG: Flags = Flags(0x20);
    pub const ECE: Flags = Flags(0x40);
    pub const CWR: Flags = Flags(0x80);

    /// Names and bits, most significant first, as the header draws them.
    pub const ALL: [(&'static str, u8, &'static str); 8] = [
        ("CWR", 0x80, "congestion window reduced (RFC 3168)"),
        ("ECE", 0x40, "ECN-echo (RFC 3168)"),
        ("URG", 0x20, "the urgent pointer field is significant"),
        ("ACK", 0x10, "the acknowledgment number field is significant"),
        ("PSH", 0x08, "push: deliver the data to the application now"),
        ("RST", 0x04, "reset the connection"),
        ("SYN", 0x02, "synchronize sequence numbers: opens a connection"),
        ("FIN", 0x01, "no more data from the sender: closes its half"),
    ];

    pub fn contains(self, other: Flags) -> bool {
        self.0 & other.0 == other.0
    }
}

impl std::ops::BitOr for Flags {
    type Output = Flags;
    fn bitor(self, rhs: Flags) -> Flags {
        Flags(self.0 | rhs.0)
    }
}

/// `SYN,ACK`, in the order RFC 9293's examples write control bits.
impl fmt::Display for Flags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const ORDER: [(&str, u8); 8] = [
            ("SYN", 0x02),
            ("FIN", 0x01),
            ("RST", 0x04),
            ("PSH", 0x08),
            ("ACK", 0x10),
            ("URG", 0x20),
            ("ECE", 0x40),
            ("CWR", 0x80),
        ];
        let names: Vec<&str> = ORDER.iter().filter(|(_, b)| self.0 & b != 0).map(|(n, _)| *n).collect();
        if names.is_empty() { write!(f, "none") } else { write!(f, "{}", names.join(",")) }
    }
}

impl fmt::Debug for Flags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Flags({self})")
    }
}

/// A TCP option (RFC 9293 §3.2).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TcpOption {
    /// Kind 1: padding between options.
    NoOperation,
    /// Kind 2: the largest segment the sender can receive (RFC 9293 §3.7.1).
    MaximumSegmentSize(u16),
    /// Any other kind, kept as its bytes.
    Unknown { kind: u8, data: Vec<u8> },
}

/// A parsed TCP segment: the header's fields and the payload.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Segment {
    pub src_port: u16,
    pub dst_port: u16,
    pub seq: u32,
    pub ack: u32,
    pub flags: Flags,
    pub window: u16,
    pub urgent: u16,
    pub options: Vec<TcpOption>,
    pub payload: Vec<u8>,
}

impl Segment {
    /// SEG.LEN: "the number of octets occupied by the data in the segment (counting SYN
    /// and FIN)" (RFC 9293 §3.3.1).
    pub fn seg_len(&self) -> u32 {
        let ctl = u32::from(self.flags.contains(Flags::SYN)) + u32::from(self.flags.contains(Flags::FIN));
        self.payload.len() as u32 + ctl
    }

    pub fn mss(&self) -> Option<u16> {
        self.options.iter().find_map(|o| match o {
            TcpOption::MaximumSegmentSize(m) => Some(*m),
            _ => None,
        })
    }

    /// Parses a segment, checking only its structure (not the checksum: that needs the
    /// IP addresses, see [`verify_checksum`]).
    pub fn parse(bytes: &[u8]) -> Result<Segment, WireError> {
        if bytes.len() < HEADER_LEN {
            return Err(WireError::Truncated { len: bytes.len() });
        }
        let words = bytes[12] >> 4;
        let header_len = usize::from(words) * 4;
        if header_len < HEADER_LEN || header_len > bytes.len() {
            return Err(WireError::BadDataOffset { words, len: bytes.len() });
        }
        let options = parse_options(&bytes[HEADER_LEN..header_len])?;
        Ok(Segment {
            src_port: be16(bytes, 0),
            dst_port: be16(bytes, 2),
            seq: be32(bytes, 4),
            ack: be32(bytes, 8),
            flags: Flags(bytes[13]),
            window: be16(bytes, 14),
            urgent: be16(bytes, 18),
            options,
            payload: bytes[header_len..].to_vec(),
        })
    }

    /// The header's length in bytes with options, padded to a multiple of 4.
    pub fn header_len(&self) -> usize {
        let opts: usize = self.options.iter().map(option_len).sum();
        HEADER_LEN + opts.div_ceil(4) * 4
    }

    /// Writes the segment with a correct checksum for the given IP addresses.
    pub fn emit(&self, src: IpAddr, dst: IpAddr) -> Vec<u8> {
        let header_len = self.header_len();
        let mut out = Vec::with_capacity(header_len + self.payload.len());
        out.extend_from_slice(&self.src_port.to_be_bytes());
        out.extend_from_slice(&self.dst_port.to_be_bytes());
        out.extend_from_slice(&self.seq.to_be_bytes());
        out.extend_from_slice(&self.ack.to_be_bytes());
        out.push(((header_len / 4) as u8) << 4);
        out.push(self.flags.0);
        out.extend_from_slice(&self.window.to_be_bytes());
        out.extend_from_slice(&[0, 0]); // checksum, filled in below
        out.extend_from_slice(&self.urgent.to_be_bytes());
        for o in &self.options {
            match o {
                TcpOption::NoOperation => out.push(1),
                TcpOption::MaximumSegmentSize(m) => {
                    out.extend_from_slice(&[2, 4]);
                    out.extend_from_slice(&m.to_be_bytes());
                }
                TcpOption::Unknown { kind, data } => {
                    out.push(*kind);
                    out.push((data.len() + 2) as u8);
                    out.extend_from_slice(data);
                }
            }
        }
        // "The TCP header padding is used to ensure that the TCP header ends, and data
        // begins, on a 32-bit boundary. The padding is composed of zeros." (RFC 9293 §3.1)
        out.resize(header_len, 0);
        out.extend_from_slice(&self.payload);
        let sum = checksum(src, dst, &out);
        out[16..18].copy_from_slice(&sum.to_be_bytes());
        out
    }
}

fn option_len(o: &TcpOption) -> usize {
    match o {
        TcpOption::NoOperation => 1,
        TcpOption::MaximumSegmentSize(_) => 4,
        TcpOption::Unknown { data, .. } => data.len() + 2,
    }
}

fn parse_options(mut b: &[u8]) -> Result<Vec<TcpOption>, WireError> {
    let mut out = Vec::new();
    let mut at = HEADER_LEN;
    while let Some(&kind) = b.first() {
        match kind {
            0 => break, // End of Option List: the rest is padding.
            1 => {
                out.push(TcpOption::NoOperation);
                b = &b[1..];
                at += 1;
            }
            _ => {
                let len = usize::from(*b.get(1).ok_or(WireError::BadOption { kind, at })?);
                if len < 2 || len > b.len() {
                    return Err(WireError::BadOption { kind, at });
                }
                out.push(match (kind, len) {
                    (2, 4) => TcpOption::MaximumSegmentSize(be16(b, 2)),
                    (2, _) => return Err(WireError::BadOption { kind, at }),
                    _ => TcpOption::Unknown { kind, data: b[2..len].to_vec() },
                });
                b = &b[len..];
                at += len;
            }
        }
    }
    Ok(out)
}

fn be16(b: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([b[at], b[at + 1]])
}

fn be32(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// The Internet checksum (RFC 1071) of `segment` with its checksum field as it stands,
/// over the pseudo-header of RFC 9293 §3.1 (IPv4) or RFC 8200 §8.1 (IPv6).
///
/// "The checksum field is the 16-bit ones' complement of the ones' complement sum of all
/// 16-bit words in the header and text … the checksum also covers a pseudo-header."
pub fn checksum(src: IpAddr, dst: IpAddr, segment: &[u8]) -> u16 {
    wirelab_core::checksum::transport_checksum(src, dst, 6, segment, 16)
}

/// Checks the segment's checksum for the given addresses.
pub fn verify_checksum(src: IpAddr, dst: IpAddr, segment: &[u8]) -> Result<(), WireError> {
    if segment.len() < HEADER_LEN {
        return Err(WireError::Truncated { len: segment.len() });
    }
    let found = be16(segment, 16);
    let expected = checksum(src, dst, segment);
    if found == expected { Ok(()) } else { Err(WireError::BadChecksum { found, expected }) }
}

/// A one-line summary in the style of RFC 9293's examples: `SYN seq=100 win=64240 mss=1460`.
pub fn summary(s: &Segment) -> String {
    let mut out = format!("{} seq={}", s.flags, s.seq);
    if s.flags.contains(Flags::ACK) {
        out.push_str(&format!(" ack={}", s.ack));
    }
    out.push_str(&format!(" win={}", s.window));
    if !s.payload.is_empty() {
        out.push_str(&format!(" len={}", s.payload.len()));
    }
    if let Some(m) = s.mss() {
        out.push_str(&format!(" mss={m}"));
    }
    out
}

/// Names every field of a TCP segment with its byte range (and, for flags, its bit).
pub fn annotate(bytes: &[u8]) -> Annotation {
    let mut d = Annotation { protocol: "TCP".into(), ..Annotation::default() };
    let seg = match Segment::parse(bytes) {
        Ok(s) => s,
        Err(e) => {
            d.summary = format!("malformed TCP segment ({e})");
            d.error = Some(e.to_string());
            if bytes.len() >= 4 {
                d.fields.push(Field::new("Source Port", 0, 2, be16(bytes, 0).to_string(), "the sender's port"));
                d.fields.push(Field::new("Destination Port", 2, 2, be16(bytes, 2).to_string(), "the receiver's port"));
            }
            return d;
        }
    };
    d.summary = summary(&seg);
    let header_len = seg.header_len();
    let f = &mut d.fields;
    f.push(Field::new("Source Port", 0, 2, seg.src_port.to_string(), "the sender's port"));
    f.push(Field::new("Destination Port", 2, 2, seg.dst_port.to_string(), "the receiver's port"));
    f.push(Field::new(
        "Sequence Number",
        4,
        4,
        seg.seq.to_string(),
        if seg.flags.contains(Flags::SYN) {
            "the initial sequence number (ISN); the first data byte will be ISN+1"
        } else {
            "the sequence number of the first data byte (or of the FIN) in this segment"
        },
    ));
    f.push(Field::new(
        "Acknowledgment Number",
        8,
        4,
        seg.ack.to_string(),
        if seg.flags.contains(Flags::ACK) {
            "the next sequence number the sender expects to receive"
        } else {
            "not significant: ACK is not set"
        },
    ));
    f.push(
        Field::new(
            "Data Offset",
            12,
            1,
            format!("{} ({} bytes)", header_len / 4, header_len),
            "header length in 32-bit words",
        )
        .with_bits(0xf0),
    );
    f.push(Field::new("Reserved", 12, 1, format!("{}", bytes[12] & 0x0f), "must be zero").with_bits(0x0f));
    f.push(Field::new(
        "Control Bits",
        13,
        1,
        format!("0x{:02x} ({})", seg.flags.0, seg.flags),
        "what this segment does",
    ));
    for (name, bit, meaning) in Flags::ALL {
        let set = seg.flags.0 & bit != 0;
        f.push(Field::new(name, 13, 1, if set { "1" } else { "0" }, meaning).with_bits(u32::from(bit)).child());
    }
    f.push(Field::new("Window", 14, 2, seg.window.to_string(), "how many bytes the sender is willing to receive"));
    f.push(Field::new(
        "Checksum",
        16,
        2,
        format!("0x{:04x}", be16(bytes, 16)),
        "ones' complement sum over pseudo-header, header and data",
    ));
    f.push(Field::new(
        "Urgent Pointer",
        18,
        2,
        seg.urgent.to_string(),
        if seg.flags.contains(Flags::URG) {
            "offset of the end of urgent data"
        } else {
            "not significant: URG is not set"
        },
    ));
    if header_len > HEADER_LEN {
        f.push(Field::new(
            "Options",
            HEADER_LEN,
            header_len - HEADER_LEN,
            format!("{} bytes", header_len - HEADER_LEN),
            "TCP options",
        ));
        let mut at = HEADER_LEN;
        for o in &seg.options {
            match o {
                TcpOption::NoOperation => {
                    f.push(Field::new("No-Operation", at, 1, "1", "padding between options").child())
                }
                TcpOption::MaximumSegmentSize(m) => f.push(
                    Field::new(
                        "Maximum Segment Size",
                        at,
                        4,
                        m.to_string(),
                        "the largest segment the sender can receive",
                    )
                    .child(),
                ),
                TcpOption::Unknown { kind, data } => f.push(
                    Field::new(
                        format!("Option kind {kind}"),
                        at,
                        data.len() + 2,
                        format!("{} bytes", data.len()),
                        "an option wirelab does not interpret",
                    )
                    .child(),
                ),
            }
            at += option_len(o);
        }
        if at < header_len {
            f.push(Field::new("Padding", at, header_len - at, "0", "zeros to a 32-bit boundary").child());
        }
    }
    if !seg.payload.is_empty() {
        let text = String::from_utf8_lossy(&seg.payload);
        let preview: String = text.chars().take(40).collect();
        f.push(Field::new(
            "Data",
            header_len,
            seg.payload.len(),
            format!("{:?}", preview),
            format!("{} bytes of application data", seg.payload.len()),
        ));
    }
    d
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    /// RFC 1071 §3's worked example: the words 0001 f203 f4f5 f6f7 sum to 0xddf2, so
    /// the checksum is its complement, 0x220d. Placed as a segment's payload after a
    /// zeroed header and pseudo-header, they must give the same result.
    #[test]
    fn checksum_follows_rfc_1071_example() {
        let zero = IpAddr::V4(Ipv4Addr::UNSPECIFIED);
        let mut seg = vec![0u8; 20];
        seg.extend_from_slice(&[0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7]);
        // The pseudo-header adds PTCL (6) and the TCP length (28).
        let expected = !(0xddf2u16 + 6 + 28);
        assert_eq!(checksum(zero, zero, &seg), expected);
    }

    #[test]
    fn emitted_checksum_verifies_and_catches_a_flipped_bit() {
        let src = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 10));
        let dst = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 80));
        let seg = Segment {
            src_port: 49152,
            dst_port: 80,
            seq: 1,
            ack: 0,
            flags: Flags::SYN,
            window: 64240,
            urgent: 0,
            options: vec![TcpOption::MaximumSegmentSize(1460)],
            payload: vec![],
        };
        let bytes = seg.emit(src, dst);
        assert_eq!(bytes.len(), 24);
        assert!(verify_checksum(src, dst, &bytes).is_ok());
        // Flip one bit: the checksum must catch it.
        let mut bad = bytes.clone();
        bad[5] ^= 0x01;
        assert!(matches!(verify_checksum(src, dst, &bad), Err(WireError::BadChecksum { .. })));
    }

    #[test]
    fn parse_rejects_truncated_and_bad_offsets() {
        assert_eq!(Segment::parse(&[0; 19]), Err(WireError::Truncated { len: 19 }));
        let mut b = [0u8; 20];
        b[12] = 4 << 4;
        assert_eq!(Segment::parse(&b), Err(WireError::BadDataOffset { words: 4, len: 20 }));
        b[12] = 6 << 4;
        assert_eq!(Segment::parse(&b), Err(WireError::BadDataOffset { words: 6, len: 20 }));
        let mut o = [0u8; 24];
        o[12] = 6 << 4;
        o[20] = 2;
        o[21] = 9;
        assert_eq!(Segment::parse(&o), Err(WireError::BadOption { kind: 2, at: 20 }));
    }

    #[test]
    fn annotation_covers_every_header_byte() {
        let seg = Segment {
            src_port: 1,
            dst_port: 2,
            seq: 3,
            ack: 4,
            flags: Flags::SYN | Flags::ACK,
            window: 5,
            urgent: 0,
            options: vec![TcpOption::MaximumSegmentSize(1460)],
            payload: b"hi".to_vec(),
        };
        let ip = IpAddr::V4(Ipv4Addr::LOCALHOST);
        let bytes = seg.emit(ip, ip);
        let d = annotate(&bytes);
        assert_eq!(d.summary, "SYN,ACK seq=3 ack=4 win=5 len=2 mss=1460");
        for i in 0..bytes.len() {
            assert!(d.field_at(i).is_some(), "byte {i} has no field");
        }
        let syn = d.fields.iter().find(|f| f.name == "SYN").map(|f| f.value.as_str());
        assert_eq!(syn, Some("1"));
        assert_eq!(d.fields[d.field_at(5).unwrap_or(0)].name, "Sequence Number");
    }
}
