//! What can go wrong: malformed bytes, a peer breaking a rule, or a caller misusing the
//! machine. Messages are lowercase with no period.

use std::fmt;

/// The bytes are not a well-formed TCP segment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WireError {
    /// Fewer than the 20 bytes of a TCP header (RFC 9293 §3.1).
    Truncated { len: usize },
    /// Data Offset below 5 words or past the end of the segment.
    BadDataOffset { words: u8, len: usize },
    /// An option whose length byte runs past the header, or is below 2.
    BadOption { kind: u8, at: usize },
    /// The checksum over the pseudo-header, header and data does not come out as 0xFFFF.
    BadChecksum { found: u16, expected: u16 },
}

impl fmt::Display for WireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WireError::Truncated { len } => {
                write!(f, "truncated segment: {len} bytes, a TCP header needs 20")
            }
            WireError::BadDataOffset { words, len } => {
                write!(f, "data offset of {words} words does not fit a {len}-byte segment")
            }
            WireError::BadOption { kind, at } => {
                write!(f, "malformed option of kind {kind} at byte {at}")
            }
            WireError::BadChecksum { found, expected } => {
                write!(f, "bad checksum 0x{found:04x}, expected 0x{expected:04x}")
            }
        }
    }
}

impl std::error::Error for WireError {}

/// The caller asked for something the current state does not allow (RFC 9293 §3.10
/// lists the answer for every call in every state).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UsageError {
    /// "error: connection already exists" (RFC 9293 §3.10.1).
    ConnectionExists,
    /// "error: connection does not exist" (RFC 9293 §3.10.2).
    ConnectionDoesNotExist,
    /// "error: connection closing" (RFC 9293 §3.10.2).
    ConnectionClosing,
    /// An unparseable console command.
    BadCommand(String),
}

impl fmt::Display for UsageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UsageError::ConnectionExists => write!(f, "connection already exists"),
            UsageError::ConnectionDoesNotExist => write!(f, "connection does not exist"),
            UsageError::ConnectionClosing => write!(f, "connection closing"),
            UsageError::BadCommand(s) => {
                write!(f, "unknown command {s:?}: try listen, connect <ip:port>, send <text>, close or abort")
            }
        }
    }
}

impl std::error::Error for UsageError {}

/// Anything the TCP machine refuses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TcpError {
    Wire(WireError),
    Usage(UsageError),
}

impl fmt::Display for TcpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TcpError::Wire(e) => write!(f, "segment discarded: {e}"),
            TcpError::Usage(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for TcpError {}

impl From<WireError> for TcpError {
    fn from(e: WireError) -> Self {
        TcpError::Wire(e)
    }
}

impl From<UsageError> for TcpError {
    fn from(e: UsageError) -> Self {
        TcpError::Usage(e)
    }
}
