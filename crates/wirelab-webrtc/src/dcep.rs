//! The Data Channel Establishment Protocol (RFC 8832): how one side of an SCTP association
//! opens a data channel on a stream and the other agrees, and the SCTP payload protocol
//! identifiers that tell DCEP from user data (RFC 8831 §8).
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |  Message Type |  Channel Type |            Priority           |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                    Reliability Parameter                      |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |         Label Length          |       Protocol Length         |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! \                             Label                             /
//! \                            Protocol                           /
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```
//! (RFC 8832 §5.1, DATA_CHANNEL_OPEN; DATA_CHANNEL_ACK, §5.2, is the Message Type alone.)

use crate::{Layout, Nest, Show};
use core::fmt;
use wirelab_core::Annotation;

/// "Message Type: 1 byte (unsigned integer)" values (RFC 8832 §8.2.1).
pub const DATA_CHANNEL_ACK: u8 = 0x02;
pub const DATA_CHANNEL_OPEN: u8 = 0x03;
/// The fixed part of DATA_CHANNEL_OPEN, before label and protocol.
pub const OPEN_HEADER_LEN: usize = 12;

/// SCTP Payload Protocol Identifiers of WebRTC (RFC 8831 §8).
pub mod ppid {
    /// "WebRTC DCEP": DATA_CHANNEL_OPEN and DATA_CHANNEL_ACK.
    pub const DCEP: u32 = 50;
    /// "WebRTC String": a UTF-8 message.
    pub const STRING: u32 = 51;
    /// "WebRTC Binary Partial (deprecated)".
    pub const BINARY_PARTIAL: u32 = 52;
    /// "WebRTC Binary".
    pub const BINARY: u32 = 53;
    /// "WebRTC String Partial (deprecated)".
    pub const STRING_PARTIAL: u32 = 54;
    /// "WebRTC String Empty": an empty string, sent as one zero byte since SCTP cannot
    /// send an empty message.
    pub const STRING_EMPTY: u32 = 56;
    /// "WebRTC Binary Empty".
    pub const BINARY_EMPTY: u32 = 57;

    /// The RFC's name for a PPID.
    pub fn name(ppid: u32) -> &'static str {
        match ppid {
            DCEP => "WebRTC DCEP",
            STRING => "WebRTC String",
            BINARY_PARTIAL => "WebRTC Binary Partial (deprecated)",
            BINARY => "WebRTC Binary",
            STRING_PARTIAL => "WebRTC String Partial (deprecated)",
            STRING_EMPTY => "WebRTC String Empty",
            BINARY_EMPTY => "WebRTC Binary Empty",
            _ => "not a WebRTC PPID",
        }
    }
}

/// How a channel delivers, from the Channel Type's low bits (RFC 8832 §5.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Reliability {
    /// DATA_CHANNEL_RELIABLE(_UNORDERED): every message arrives. For these the Reliability
    /// Parameter "MUST be set to 0 on the sending side and MUST be ignored on the receiving
    /// side" (§5.1).
    Reliable,
    /// DATA_CHANNEL_PARTIAL_RELIABLE_REXMIT(_UNORDERED): partially reliable; a message is
    /// retransmitted at most as many times as the Reliability Parameter says (§5.1).
    MaxRetransmits(u32),
    /// DATA_CHANNEL_PARTIAL_RELIABLE_TIMED(_UNORDERED): partially reliable; a message is
    /// not (re)transmitted after a lifetime in milliseconds, the Reliability Parameter (§5.1).
    MaxLifetimeMs(u32),
}

/// DATA_CHANNEL_OPEN (RFC 8832 §5.1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Open {
    /// Channel Type bit 0x80: "the ... unordered" variants.
    pub ordered: bool,
    pub reliability: Reliability,
    /// RFC 8831 §6.4: 128 below normal, 256 normal, 512 high, 1024 extra high; W3C's
    /// default, "low", is 256.
    pub priority: u16,
    /// The channel's name, UTF-8 (RFC 3629); may be empty (§5.1).
    pub label: String,
    /// The subprotocol, UTF-8: empty for none, else a name from the WebSocket Subprotocol
    /// Name Registry of RFC 6455 (§5.1).
    pub protocol: String,
}

impl Open {
    /// The Channel Type byte: 0x00 reliable, 0x01 rexmit, 0x02 timed; +0x80 unordered.
    pub fn channel_type(&self) -> u8 {
        let base = match self.reliability {
            Reliability::Reliable => 0x00,
            Reliability::MaxRetransmits(_) => 0x01,
            Reliability::MaxLifetimeMs(_) => 0x02,
        };
        if self.ordered { base } else { base | 0x80 }
    }

    fn reliability_parameter(&self) -> u32 {
        match self.reliability {
            Reliability::Reliable => 0,
            Reliability::MaxRetransmits(n) | Reliability::MaxLifetimeMs(n) => n,
        }
    }
}

/// The RFC's name of a Channel Type, if it is one.
pub fn channel_type_name(ty: u8) -> Option<&'static str> {
    Some(match ty {
        0x00 => "DATA_CHANNEL_RELIABLE",
        0x80 => "DATA_CHANNEL_RELIABLE_UNORDERED",
        0x01 => "DATA_CHANNEL_PARTIAL_RELIABLE_REXMIT",
        0x81 => "DATA_CHANNEL_PARTIAL_RELIABLE_REXMIT_UNORDERED",
        0x02 => "DATA_CHANNEL_PARTIAL_RELIABLE_TIMED",
        0x82 => "DATA_CHANNEL_PARTIAL_RELIABLE_TIMED_UNORDERED",
        _ => return None,
    })
}

/// A DCEP message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Message {
    Open(Open),
    Ack,
}

/// Why bytes are not a DCEP message, or a message cannot be written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DcepError {
    Empty,
    /// A Message Type other than 0x02 and 0x03 (the rest are reserved, §8.2.1).
    UnknownMessageType(u8),
    /// Fewer bytes than the fixed part, or than the lengths say.
    Truncated {
        need: usize,
        have: usize,
    },
    /// A Channel Type not in the table of §8.2.2.
    UnknownChannelType(u8),
    /// The label or protocol is not UTF-8 (§5.1).
    NotUtf8 {
        field: &'static str,
    },
    /// Bytes after the protocol (or after an ACK's type byte).
    TrailingBytes {
        extra: usize,
    },
    /// A label or protocol longer than a 16-bit length can say.
    TooLong {
        field: &'static str,
        len: usize,
    },
}

impl fmt::Display for DcepError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DcepError::Empty => f.write_str("empty DCEP message"),
            DcepError::UnknownMessageType(t) => {
                write!(f, "message type 0x{t:02x} is neither OPEN (0x03) nor ACK (0x02)")
            }
            DcepError::Truncated { need, have } => write!(f, "{have} bytes, the message needs {need}"),
            DcepError::UnknownChannelType(t) => write!(f, "channel type 0x{t:02x} is not defined"),
            DcepError::NotUtf8 { field } => write!(f, "the {field} is not UTF-8"),
            DcepError::TrailingBytes { extra } => write!(f, "{extra} bytes after the end of the message"),
            DcepError::TooLong { field, len } => write!(f, "a {len}-byte {field} does not fit a 16-bit length"),
        }
    }
}

impl std::error::Error for DcepError {}

fn be16(b: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([b[at], b[at + 1]])
}

impl Message {
    /// Parses one DCEP message: the whole user data of an SCTP DATA chunk with PPID 50.
    pub fn decode(bytes: &[u8]) -> Result<Message, DcepError> {
        let (&ty, rest) = bytes.split_first().ok_or(DcepError::Empty)?;
        match ty {
            DATA_CHANNEL_ACK if rest.is_empty() => Ok(Message::Ack),
            DATA_CHANNEL_ACK => Err(DcepError::TrailingBytes { extra: rest.len() }),
            DATA_CHANNEL_OPEN => {
                let need = OPEN_HEADER_LEN;
                if bytes.len() < need {
                    return Err(DcepError::Truncated { need, have: bytes.len() });
                }
                let channel_type = bytes[1];
                let param = u32::from_be_bytes([bytes[4], bytes[5], bytes[6], bytes[7]]);
                let reliability = match channel_type & 0x7f {
                    0x00 => Reliability::Reliable,
                    0x01 => Reliability::MaxRetransmits(param),
                    0x02 => Reliability::MaxLifetimeMs(param),
                    _ => return Err(DcepError::UnknownChannelType(channel_type)),
                };
                let (label_len, protocol_len) = (usize::from(be16(bytes, 8)), usize::from(be16(bytes, 10)));
                let need = OPEN_HEADER_LEN + label_len + protocol_len;
                if bytes.len() < need {
                    return Err(DcepError::Truncated { need, have: bytes.len() });
                }
                if bytes.len() > need {
                    return Err(DcepError::TrailingBytes { extra: bytes.len() - need });
                }
                let text = |range: core::ops::Range<usize>, field| {
                    String::from_utf8(bytes[range].to_vec()).map_err(|_| DcepError::NotUtf8 { field })
                };
                let label_end = OPEN_HEADER_LEN + label_len;
                Ok(Message::Open(Open {
                    ordered: channel_type & 0x80 == 0,
                    reliability,
                    priority: be16(bytes, 2),
                    label: text(OPEN_HEADER_LEN..label_end, "label")?,
                    protocol: text(label_end..need, "protocol")?,
                }))
            }
            other => Err(DcepError::UnknownMessageType(other)),
        }
    }

    /// The message's bytes. Label and Protocol follow the fixed part unpadded: their
    /// lengths say where each ends (§5.1).
    pub fn encode(&self) -> Result<Vec<u8>, DcepError> {
        let Message::Open(o) = self else { return Ok(vec![DATA_CHANNEL_ACK]) };
        let len16 = |s: &str, field| u16::try_from(s.len()).map_err(|_| DcepError::TooLong { field, len: s.len() });
        let (label_len, protocol_len) = (len16(&o.label, "label")?, len16(&o.protocol, "protocol")?);
        let mut out = Vec::with_capacity(OPEN_HEADER_LEN + o.label.len() + o.protocol.len());
        out.extend_from_slice(&[DATA_CHANNEL_OPEN, o.channel_type()]);
        out.extend_from_slice(&o.priority.to_be_bytes());
        out.extend_from_slice(&o.reliability_parameter().to_be_bytes());
        out.extend_from_slice(&label_len.to_be_bytes());
        out.extend_from_slice(&protocol_len.to_be_bytes());
        out.extend_from_slice(o.label.as_bytes());
        out.extend_from_slice(o.protocol.as_bytes());
        Ok(out)
    }
}

/// One line: `DATA_CHANNEL_OPEN "chat"` or `DATA_CHANNEL_ACK`.
pub fn summary(m: &Message) -> String {
    match m {
        Message::Open(o) => format!("DATA_CHANNEL_OPEN {:?}", o.label),
        Message::Ack => "DATA_CHANNEL_ACK".into(),
    }
}

/// DATA_CHANNEL_OPEN's fixed part (§5.1).
const OPEN_LAYOUT: &Layout = &[
    ("Message Type", 0, 1, Show::Hex, "0x03 DATA_CHANNEL_OPEN, 0x02 DATA_CHANNEL_ACK (§5.1, §5.2)"),
    (
        "Channel Type",
        1,
        1,
        Show::Hex,
        "0x00 reliable, 0x01 limited retransmissions, 0x02 limited lifetime; +0x80 unordered",
    ),
    (
        "Priority",
        2,
        2,
        Show::Dec,
        "RFC 8831 §6.4: 128 below normal, 256 normal (W3C's default), 512 high, 1024 extra high",
    ),
    ("Reliability Parameter", 4, 4, Show::Dec, "retransmissions or milliseconds; 0 and ignored when reliable"),
    ("Label Length", 8, 2, Show::Dec, "bytes of label"),
    ("Protocol Length", 10, 2, Show::Dec, "bytes of protocol"),
];

/// Names every field of a DCEP message into `out`.
pub fn annotate_at(bytes: &[u8], out: &mut Nest<'_>) -> Result<Message, DcepError> {
    let msg = Message::decode(bytes)?;
    let Message::Open(o) = &msg else {
        out.layout(bytes, 0, &OPEN_LAYOUT[..1], 0);
        return Ok(msg);
    };
    out.layout(bytes, 0, OPEN_LAYOUT, 0);
    let label_end = OPEN_HEADER_LEN + o.label.len();
    if !o.label.is_empty() {
        out.push(
            "Label",
            OPEN_HEADER_LEN,
            o.label.len(),
            format!("{:?}", o.label),
            "the channel's name, UTF-8, not padded",
            0,
        );
    }
    if !o.protocol.is_empty() {
        out.push("Protocol", label_end, o.protocol.len(), format!("{:?}", o.protocol), "the subprotocol", 0);
    }
    Ok(msg)
}

/// A DCEP message on its own, explained.
pub fn annotate(bytes: &[u8]) -> Annotation {
    crate::standalone("DCEP", bytes, annotate_at, summary)
}
