//! BEP 3 peer messages: "All of the remaining messages in the protocol take the form of
//! <length prefix><message ID><payload>. The length prefix is a four byte big-endian
//! value." Of them, the three a piece exchange needs.

use std::fmt;
use wirelab_core::{Annotation, Field};

/// The message ids BEP 3 assigns.
pub const HAVE: u8 = 4;
pub const REQUEST: u8 = 6;
pub const PIECE: u8 = 7;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Message {
    /// "have: <len=0005><id=4><piece index>"
    Have { index: u32 },
    /// "request: <len=0013><id=6><index><begin><length>"
    Request { index: u32, begin: u32, length: u32 },
    /// "piece: <len=0009+X><id=7><index><begin><block>"
    Piece { index: u32, begin: u32, block: Vec<u8> },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WireError {
    Truncated {
        len: usize,
    },
    /// The length prefix disagrees with the bytes that follow it.
    BadLength {
        prefix: u32,
        actual: usize,
    },
    UnknownId(u8),
}

impl fmt::Display for WireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WireError::Truncated { len } => write!(f, "truncated message: {len} bytes"),
            WireError::BadLength { prefix, actual } => write!(f, "length prefix {prefix} but {actual} bytes follow"),
            WireError::UnknownId(id) => write!(f, "unknown message id {id}"),
        }
    }
}

impl std::error::Error for WireError {}

fn be32(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

impl Message {
    pub fn parse(b: &[u8]) -> Result<Message, WireError> {
        if b.len() < 5 {
            return Err(WireError::Truncated { len: b.len() });
        }
        let prefix = be32(b, 0);
        if prefix as usize != b.len() - 4 {
            return Err(WireError::BadLength { prefix, actual: b.len() - 4 });
        }
        let need = |n: usize| if b.len() < n { Err(WireError::Truncated { len: b.len() }) } else { Ok(()) };
        match b[4] {
            HAVE => {
                need(9)?;
                Ok(Message::Have { index: be32(b, 5) })
            }
            REQUEST => {
                need(17)?;
                Ok(Message::Request { index: be32(b, 5), begin: be32(b, 9), length: be32(b, 13) })
            }
            PIECE => {
                need(13)?;
                Ok(Message::Piece { index: be32(b, 5), begin: be32(b, 9), block: b[13..].to_vec() })
            }
            id => Err(WireError::UnknownId(id)),
        }
    }

    pub fn emit(&self) -> Vec<u8> {
        let mut body = Vec::new();
        match self {
            Message::Have { index } => {
                body.push(HAVE);
                body.extend_from_slice(&index.to_be_bytes());
            }
            Message::Request { index, begin, length } => {
                body.push(REQUEST);
                for v in [index, begin, length] {
                    body.extend_from_slice(&v.to_be_bytes());
                }
            }
            Message::Piece { index, begin, block } => {
                body.push(PIECE);
                body.extend_from_slice(&index.to_be_bytes());
                body.extend_from_slice(&begin.to_be_bytes());
                body.extend_from_slice(block);
            }
        }
        let mut out = (body.len() as u32).to_be_bytes().to_vec();
        out.extend(body);
        out
    }

    pub fn summary(&self) -> String {
        match self {
            Message::Have { index } => format!("have #{index}"),
            Message::Request { index, .. } => format!("request #{index}"),
            Message::Piece { index, block, .. } => format!("piece #{index} ({} bytes)", block.len()),
        }
    }
}

/// Names every field of a message with its byte range.
pub fn annotate(b: &[u8]) -> Annotation {
    let mut a = Annotation { protocol: "BitTorrent (BEP 3)".into(), ..Annotation::default() };
    match Message::parse(b) {
        Err(e) => {
            a.summary = format!("malformed message ({e})");
            a.error = Some(e.to_string());
        }
        Ok(m) => {
            a.summary = m.summary();
            a.fields.push(Field::new("Length Prefix", 0, 4, be32(b, 0).to_string(), "bytes that follow, big-endian"));
            let (id, name) = match m {
                Message::Have { .. } => (HAVE, "have"),
                Message::Request { .. } => (REQUEST, "request"),
                Message::Piece { .. } => (PIECE, "piece"),
            };
            a.fields.push(Field::new("Message ID", 4, 1, format!("{id} ({name})"), "what kind of message"));
            a.fields.push(Field::new("Piece Index", 5, 4, be32(b, 5).to_string(), "which piece of the file"));
            match m {
                Message::Have { .. } => {}
                Message::Request { begin, length, .. } => {
                    a.fields.push(Field::new("Begin", 9, 4, begin.to_string(), "byte offset within the piece"));
                    a.fields.push(Field::new("Length", 13, 4, length.to_string(), "how many bytes are wanted"));
                }
                Message::Piece { begin, block, .. } => {
                    a.fields.push(Field::new("Begin", 9, 4, begin.to_string(), "byte offset within the piece"));
                    a.fields.push(Field::new("Block", 13, block.len(), format!("{} bytes", block.len()), "the data"));
                }
            }
        }
    }
    a
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bep3_layouts_round_trip() {
        // BEP 3: "have: <len=0005><id=4><piece index>"
        assert_eq!(Message::Have { index: 7 }.emit(), [0, 0, 0, 5, 4, 0, 0, 0, 7]);
        assert_eq!(Message::Request { index: 1, begin: 0, length: 16384 }.emit().len(), 4 + 13);
        for m in [
            Message::Have { index: 3 },
            Message::Request { index: 2, begin: 0, length: 16 },
            Message::Piece { index: 9, begin: 0, block: vec![1, 2, 3] },
        ] {
            assert_eq!(Message::parse(&m.emit()), Ok(m));
        }
        assert_eq!(Message::parse(&[0, 0, 0, 1, 99]), Err(WireError::UnknownId(99)));
        assert_eq!(Message::parse(&[0, 0, 0, 9, 4]), Err(WireError::BadLength { prefix: 9, actual: 1 }));
        assert_eq!(Message::parse(&[0, 0, 0, 1, 4]), Err(WireError::Truncated { len: 5 }));
    }
}
