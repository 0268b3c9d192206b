//! The WebSocket base framing protocol (RFC 6455 §5.2):
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-------+-+-------------+-------------------------------+
//! |F|R|R|R| opcode|M| Payload len |    Extended payload length    |
//! |I|S|S|S|  (4)  |A|     (7)     |             (16/64)           |
//! |N|V|V|V|       |S|             |   (if payload len==126/127)   |
//! | |1|2|3|       |K|             |                               |
//! +-+-+-+-+-------+-+-------------+ - - - - - - - - - - - - - - - +
//! |     Extended payload length continued, if payload len == 127  |
//! + - - - - - - - - - - - - - - - +-------------------------------+
//! |                               |Masking-key, if MASK set to 1  |
//! +-------------------------------+-------------------------------+
//! | Masking-key (continued)       |          Payload Data         |
//! +-------------------------------- - - - - - - - - - - - - - - - +
//! ```
//!
//! Also: close status codes (§7.4), the close frame body (§5.5.1), and the annotation of
//! frames and of the HTTP messages of the opening handshake for the inspector.

use std::fmt;
use wirelab_core::{Annotation, Field};

/// RFC 6455 §5.5: "All control frames MUST have a payload length of 125 bytes or less".
pub const MAX_CONTROL_PAYLOAD: usize = 125;

/// The 4-bit opcode (RFC 6455 §5.2, §11.8).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Opcode {
    /// %x0: a continuation frame (§5.4).
    Continuation,
    /// %x1: a text frame, UTF-8 (§5.6).
    Text,
    /// %x2: a binary frame (§5.6).
    Binary,
    /// %x8: a connection close (§5.5.1).
    Close,
    /// %x9: a ping (§5.5.2).
    Ping,
    /// %xA: a pong (§5.5.3).
    Pong,
    /// %x3-7 (reserved for further non-control frames) and %xB-F (further control frames).
    Reserved(u8),
}

impl Opcode {
    /// The opcode of the low 4 bits of `b`.
    pub fn from_u8(b: u8) -> Opcode {
        match b & 0x0f {
            0x0 => Opcode::Continuation,
            0x1 => Opcode::Text,
            0x2 => Opcode::Binary,
            0x8 => Opcode::Close,
            0x9 => Opcode::Ping,
            0xa => Opcode::Pong,
            n => Opcode::Reserved(n),
        }
    }

    pub fn to_u8(self) -> u8 {
        match self {
            Opcode::Continuation => 0x0,
            Opcode::Text => 0x1,
            Opcode::Binary => 0x2,
            Opcode::Close => 0x8,
            Opcode::Ping => 0x9,
            Opcode::Pong => 0xa,
            Opcode::Reserved(n) => n & 0x0f,
        }
    }

    /// RFC 6455 §5.5: "Control frames are identified by opcodes where the most significant
    /// bit of the opcode is 1."
    pub fn is_control(self) -> bool {
        self.to_u8() & 0x8 != 0
    }

    fn meaning(self) -> &'static str {
        match self {
            Opcode::Continuation => "continues the fragmented message before it (§5.4)",
            Opcode::Text => "a text message, UTF-8 encoded (§5.6)",
            Opcode::Binary => "a binary message, bytes for the application (§5.6)",
            Opcode::Close => "begins or answers the closing handshake (§5.5.1)",
            Opcode::Ping => "asks the peer for a Pong with the same data (§5.5.2)",
            Opcode::Pong => "answers a Ping, or a one-way heartbeat (§5.5.3)",
            Opcode::Reserved(_) => "reserved for future use: without an extension it fails the connection (§5.2)",
        }
    }
}

impl fmt::Display for Opcode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Opcode::Continuation => f.write_str("Continuation"),
            Opcode::Text => f.write_str("Text"),
            Opcode::Binary => f.write_str("Binary"),
            Opcode::Close => f.write_str("Close"),
            Opcode::Ping => f.write_str("Ping"),
            Opcode::Pong => f.write_str("Pong"),
            Opcode::Reserved(n) => write!(f, "Reserved(0x{n:X})"),
        }
    }
}

/// A close status code (RFC 6455 §7.4), with the names of the IANA registry (§11.7).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CloseCode(pub u16);

impl CloseCode {
    /// 1000: "a normal closure, meaning that the purpose for which the connection was
    /// established has been fulfilled" (§7.4.1).
    pub const NORMAL: CloseCode = CloseCode(1000);
    /// 1001: "an endpoint is "going away", such as a server going down or a browser having
    /// navigated away from a page" (§7.4.1).
    pub const GOING_AWAY: CloseCode = CloseCode(1001);
    /// 1002: "an endpoint is terminating the connection due to a protocol error" (§7.4.1).
    pub const PROTOCOL_ERROR: CloseCode = CloseCode(1002);
    /// 1003: "it has received a type of data it cannot accept" (§7.4.1).
    pub const UNSUPPORTED_DATA: CloseCode = CloseCode(1003);
    /// 1005: "MUST NOT be set as a status code in a Close control frame": no status code
    /// was present (§7.4.1).
    pub const NO_STATUS_RCVD: CloseCode = CloseCode(1005);
    /// 1006: "MUST NOT be set as a status code in a Close control frame": the connection
    /// was closed abnormally, without a Close frame (§7.4.1).
    pub const ABNORMAL_CLOSURE: CloseCode = CloseCode(1006);
    /// 1007: "it has received data within a message that was not consistent with the type
    /// of the message (e.g., non-UTF-8 [RFC3629] data within a text message)" (§7.4.1).
    pub const INVALID_PAYLOAD: CloseCode = CloseCode(1007);
    /// 1008: "it has received a message that violates its policy" (§7.4.1).
    pub const POLICY_VIOLATION: CloseCode = CloseCode(1008);
    /// 1009: "it has received a message that is too big for it to process" (§7.4.1).
    pub const MESSAGE_TOO_BIG: CloseCode = CloseCode(1009);
    /// 1010: the client expected the server to negotiate an extension (§7.4.1).
    pub const MANDATORY_EXTENSION: CloseCode = CloseCode(1010);
    /// 1011: "it encountered an unexpected condition that prevented it from fulfilling the
    /// request" (§7.4.1).
    pub const INTERNAL_ERROR: CloseCode = CloseCode(1011);
    /// 1015: "MUST NOT be set as a status code in a Close control frame": the TLS
    /// handshake failed (§7.4.1).
    pub const TLS_HANDSHAKE: CloseCode = CloseCode(1015);

    /// Whether this code may travel in a Close frame. RFC 6455 §7.4.1 forbids 1004
    /// (reserved), 1005, 1006 and 1015 on the wire; §7.4.2: 0-999 "are not used",
    /// 1000-2999 are this protocol's (we accept those defined in §7.4.1 and the later
    /// registrations 1012-1014 of the IANA registry, §11.7), 3000-3999 are registered
    /// with IANA and 4000-4999 are private.
    pub fn is_valid(self) -> bool {
        matches!(self.0, 1000..=1003 | 1007..=1014 | 3000..=4999)
    }

    /// The registry's name for the code.
    pub fn name(self) -> &'static str {
        match self.0 {
            1000 => "Normal Closure",
            1001 => "Going Away",
            1002 => "Protocol error",
            1003 => "Unsupported Data",
            1004 => "Reserved",
            1005 => "No Status Rcvd",
            1006 => "Abnormal Closure",
            1007 => "Invalid frame payload data",
            1008 => "Policy Violation",
            1009 => "Message Too Big",
            1010 => "Mandatory Ext.",
            1011 => "Internal Server Error",
            1012 => "Service Restart",
            1013 => "Try Again Later",
            1014 => "Bad Gateway",
            1015 => "TLS handshake",
            3000..=3999 => "registered with IANA",
            4000..=4999 => "private use",
            _ => "invalid",
        }
    }
}

impl fmt::Display for CloseCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.0, self.name())
    }
}

/// The bytes are not a frame we may accept. Each variant is a rule of RFC 6455 broken by
/// the peer; [`WireError::close_code`] is the status to fail the connection with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WireError {
    /// RFC 6455 §5.2: "in all cases, the minimal number of bytes MUST be used to encode the
    /// length, for example, the length of a 124-byte-long string can't be encoded as the
    /// sequence 126, 0, 124."
    NonMinimalLength { len: u64, length_bytes: u8 },
    /// RFC 6455 §5.2: with a 64-bit length, "the most significant bit MUST be 0".
    LengthMsbSet { len: u64 },
    /// RFC 6455 §5.5: "All control frames MUST have a payload length of 125 bytes or less".
    ControlFrameTooLong { opcode: Opcode, len: u64 },
    /// RFC 6455 §5.5: "All control frames ... MUST NOT be fragmented."
    FragmentedControlFrame { opcode: Opcode },
    /// RFC 6455 §5.2: "If an unknown opcode is received, the receiving endpoint MUST
    /// _Fail the WebSocket Connection_."
    ReservedOpcode(u8),
    /// RFC 6455 §5.2: RSV1-3 "MUST be 0 unless an extension is negotiated that defines
    /// meanings for non-zero values". `rsv` holds the three bits, RSV1 highest.
    ReservedBitsSet { rsv: u8 },
    /// RFC 6455 §10.4: "implementations will likely want to impose implementation-specific
    /// limits on frame size". Closed with 1009 (§7.4.1).
    FrameTooBig { len: u64, max: u64 },
    /// RFC 6455 §5.5.1: a Close body, if present, starts with a 2-byte status code, so a
    /// 1-byte body is malformed.
    CloseBodyTooShort,
    /// RFC 6455 §7.4: a status code that may not be sent (§7.4.1) or is not used (§7.4.2).
    InvalidCloseCode(u16),
    /// RFC 6455 §5.5.1: the Close reason "is not guaranteed to be human readable" but is
    /// "encoded as UTF-8"; §8.1: invalid UTF-8 MUST fail the connection.
    CloseReasonNotUtf8,
}

impl WireError {
    /// The status code to send when this error fails the connection (RFC 6455 §7.4.1).
    pub fn close_code(&self) -> CloseCode {
        match self {
            WireError::FrameTooBig { .. } => CloseCode::MESSAGE_TOO_BIG,
            // 1007 is the code for data inconsistent with its type, here a reason that
            // should be UTF-8 (§7.4.1, §8.1).
            WireError::CloseReasonNotUtf8 => CloseCode::INVALID_PAYLOAD,
            _ => CloseCode::PROTOCOL_ERROR,
        }
    }
}

impl fmt::Display for WireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WireError::NonMinimalLength { len, length_bytes } => {
                write!(f, "length {len} sent in {length_bytes} extended bytes: the minimal encoding must be used")
            }
            WireError::LengthMsbSet { len } => {
                write!(f, "64-bit payload length 0x{len:016x} has its most significant bit set")
            }
            WireError::ControlFrameTooLong { opcode, len } => {
                write!(f, "{opcode} frame with {len} bytes of payload: control frames carry at most 125")
            }
            WireError::FragmentedControlFrame { opcode } => {
                write!(f, "{opcode} frame without FIN: control frames must not be fragmented")
            }
            WireError::ReservedOpcode(n) => write!(f, "reserved opcode 0x{n:X}"),
            WireError::ReservedBitsSet { rsv } => {
                write!(f, "RSV bits {rsv:03b} set but no extension was negotiated")
            }
            WireError::FrameTooBig { len, max } => write!(f, "frame of {len} bytes exceeds the limit of {max}"),
            WireError::CloseBodyTooShort => f.write_str("close frame with a 1-byte body: a status code needs 2"),
            WireError::InvalidCloseCode(c) => write!(f, "close status code {c} may not be sent"),
            WireError::CloseReasonNotUtf8 => f.write_str("close reason is not valid UTF-8"),
        }
    }
}

impl std::error::Error for WireError {}

/// The fixed part of a frame, up to and including the masking key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FrameHeader {
    /// "Indicates that this is the final fragment in a message." (§5.2)
    pub fin: bool,
    pub rsv1: bool,
    pub rsv2: bool,
    pub rsv3: bool,
    pub opcode: Opcode,
    /// The masking key, present when the MASK bit is 1 (§5.3).
    pub mask: Option<[u8; 4]>,
    pub payload_len: u64,
}

fn be_u64(b: &[u8]) -> u64 {
    b.iter().fold(0u64, |acc, &x| (acc << 8) | u64::from(x))
}

impl FrameHeader {
    /// A final, unmasked, extension-free header.
    pub fn new(opcode: Opcode, payload_len: u64) -> Self {
        FrameHeader { fin: true, rsv1: false, rsv2: false, rsv3: false, opcode, mask: None, payload_len }
    }

    /// Bytes of the extended payload length: RFC 6455 §5.2 "If 0-125, that is the payload
    /// length. If 126, the following 2 bytes ... If 127, the following 8 bytes".
    fn extended_len_bytes(payload_len: u64) -> usize {
        match payload_len {
            0..=125 => 0,
            126..=0xffff => 2,
            _ => 8,
        }
    }

    /// The header's length on the wire: 2, plus 2 or 8 of extended length, plus 4 of key.
    pub fn header_len(&self) -> usize {
        2 + Self::extended_len_bytes(self.payload_len) + if self.mask.is_some() { 4 } else { 0 }
    }

    /// The header as written, without any check of the rules: what [`annotate`] shows.
    /// `None` when `bytes` does not yet hold the whole header.
    pub fn parse_unchecked(bytes: &[u8]) -> Option<(FrameHeader, usize)> {
        let (&b0, &b1) = (bytes.first()?, bytes.get(1)?);
        let ext = match b1 & 0x7f {
            126 => 2,
            127 => 8,
            _ => 0,
        };
        let key_len = if b1 & 0x80 != 0 { 4 } else { 0 };
        let total = 2 + ext + key_len;
        let rest = bytes.get(2..total)?;
        let payload_len = if ext == 0 { u64::from(b1 & 0x7f) } else { be_u64(&rest[..ext]) };
        let mask = (key_len == 4).then(|| [rest[ext], rest[ext + 1], rest[ext + 2], rest[ext + 3]]);
        let header = FrameHeader {
            fin: b0 & 0x80 != 0,
            rsv1: b0 & 0x40 != 0,
            rsv2: b0 & 0x20 != 0,
            rsv3: b0 & 0x10 != 0,
            opcode: Opcode::from_u8(b0),
            mask,
            payload_len,
        };
        Some((header, total))
    }

    /// The rules a lone header can break, checked on its first two bytes (RSV bits, opcode,
    /// control frames) so a bad frame fails the connection as early as possible.
    fn check_first_two(b0: u8, b1: u8) -> Result<(), WireError> {
        let rsv = (b0 >> 4) & 0x7;
        if rsv != 0 {
            return Err(WireError::ReservedBitsSet { rsv });
        }
        let opcode = Opcode::from_u8(b0);
        if let Opcode::Reserved(n) = opcode {
            return Err(WireError::ReservedOpcode(n));
        }
        if opcode.is_control() {
            if b0 & 0x80 == 0 {
                return Err(WireError::FragmentedControlFrame { opcode });
            }
            let len7 = b1 & 0x7f;
            if usize::from(len7) > MAX_CONTROL_PAYLOAD {
                // 126 or 127: an extended length, which for ≤125 would not be minimal either.
                return Err(WireError::ControlFrameTooLong { opcode, len: u64::from(len7) });
            }
        }
        Ok(())
    }

    /// Checks every rule of RFC 6455 §5.2 and §5.5 a header can break (no extension is
    /// negotiated). The length encoding is checked by [`FrameHeader::parse`].
    pub fn validate(&self) -> Result<(), WireError> {
        let rsv = (u8::from(self.rsv1) << 2) | (u8::from(self.rsv2) << 1) | u8::from(self.rsv3);
        if rsv != 0 {
            return Err(WireError::ReservedBitsSet { rsv });
        }
        if let Opcode::Reserved(n) = self.opcode {
            return Err(WireError::ReservedOpcode(n));
        }
        if self.opcode.is_control() {
            if !self.fin {
                return Err(WireError::FragmentedControlFrame { opcode: self.opcode });
            }
            if self.payload_len > MAX_CONTROL_PAYLOAD as u64 {
                return Err(WireError::ControlFrameTooLong { opcode: self.opcode, len: self.payload_len });
            }
        }
        if self.payload_len >> 63 != 0 {
            return Err(WireError::LengthMsbSet { len: self.payload_len });
        }
        Ok(())
    }

    /// Parses and checks a header. `Ok(None)`: more bytes are needed. `Ok(Some((h, n)))`:
    /// the header takes the first `n` bytes.
    pub fn parse(bytes: &[u8]) -> Result<Option<(FrameHeader, usize)>, WireError> {
        let (Some(&b0), Some(&b1)) = (bytes.first(), bytes.get(1)) else { return Ok(None) };
        Self::check_first_two(b0, b1)?;
        let Some((header, n)) = Self::parse_unchecked(bytes) else { return Ok(None) };
        let length_bytes = match b1 & 0x7f {
            126 => 2u8,
            127 => 8u8,
            _ => 0u8,
        };
        if length_bytes == 8 && header.payload_len >> 63 != 0 {
            return Err(WireError::LengthMsbSet { len: header.payload_len });
        }
        if Self::extended_len_bytes(header.payload_len) != usize::from(length_bytes) {
            return Err(WireError::NonMinimalLength { len: header.payload_len, length_bytes });
        }
        header.validate()?;
        Ok(Some((header, n)))
    }

    /// Writes the header, with "the minimal number of bytes" for the length (§5.2).
    pub fn emit(&self, out: &mut Vec<u8>) {
        let b0 = (u8::from(self.fin) << 7)
            | (u8::from(self.rsv1) << 6)
            | (u8::from(self.rsv2) << 5)
            | (u8::from(self.rsv3) << 4)
            | self.opcode.to_u8();
        let mask_bit = if self.mask.is_some() { 0x80 } else { 0 };
        out.push(b0);
        match Self::extended_len_bytes(self.payload_len) {
            0 => out.push(mask_bit | self.payload_len as u8),
            2 => {
                out.push(mask_bit | 126);
                out.extend_from_slice(&(self.payload_len as u16).to_be_bytes());
            }
            _ => {
                out.push(mask_bit | 127);
                out.extend_from_slice(&self.payload_len.to_be_bytes());
            }
        }
        if let Some(key) = self.mask {
            out.extend_from_slice(&key);
        }
    }
}

/// RFC 6455 §5.3: "Octet i of the transformed data ("transformed-octet-i") is the XOR of
/// octet i of the original data ("original-octet-i") with octet at index i modulo 4 of the
/// masking key". The same operation masks and unmasks.
///
/// Done eight octets at a time: the key written twice over is the mask of any eight octets
/// whose index starts at a multiple of 4, so each eight are one 64-bit XOR (the octets
/// are loaded and stored in memory order, so byte order does not matter). The last 0-7
/// octets start at a multiple of 8, hence at key octet 0, and are done one by one. Every
/// server runs this over every byte a client sends: octet by octet it was the slowest
/// part of reading a frame.
pub fn apply_mask(key: [u8; 4], data: &mut [u8]) {
    let [a, b, c, d] = key;
    let wide = u64::from_ne_bytes([a, b, c, d, a, b, c, d]);
    let mut words = data.chunks_exact_mut(8);
    for word in &mut words {
        let mut w = [0u8; 8];
        w.copy_from_slice(word);
        word.copy_from_slice(&(u64::from_ne_bytes(w) ^ wide).to_ne_bytes());
    }
    for (octet, k) in words.into_remainder().iter_mut().zip(key.iter().cycle()) {
        *octet ^= k;
    }
}

/// [`apply_mask`] for data that starts at octet `offset` of a payload (a payload masked or
/// unmasked in pieces): octet i of `data` is XORed with key octet `(offset + i) % 4`.
pub fn apply_mask_at(key: [u8; 4], offset: usize, data: &mut [u8]) {
    let r = offset % 4;
    apply_mask([key[r], key[(r + 1) % 4], key[(r + 2) % 4], key[(r + 3) % 4]], data);
}

/// A whole frame. The payload is kept unmasked; `header.mask` says how it travels.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Frame {
    pub header: FrameHeader,
    pub payload: Vec<u8>,
}

impl Frame {
    /// A final, unmasked frame.
    pub fn new(opcode: Opcode, payload: Vec<u8>) -> Self {
        Frame { header: FrameHeader::new(opcode, payload.len() as u64), payload }
    }

    /// A Close frame: RFC 6455 §5.5.1 "the first two bytes of the body MUST be a 2-byte
    /// unsigned integer (in network byte order) representing a status code", then a UTF-8
    /// reason. No code gives an empty body.
    pub fn close(code: Option<CloseCode>, reason: &str) -> Self {
        let mut body = Vec::new();
        if let Some(code) = code {
            body.extend_from_slice(&code.0.to_be_bytes());
            body.extend_from_slice(reason.as_bytes());
        }
        Frame::new(Opcode::Close, body)
    }

    /// The same frame with FIN as given.
    pub fn with_fin(mut self, fin: bool) -> Self {
        self.header.fin = fin;
        self
    }

    /// The same frame, to be masked with `key` on the wire (§5.3).
    pub fn masked(mut self, key: [u8; 4]) -> Self {
        self.header.mask = Some(key);
        self
    }

    /// A frame from its header and the payload bytes as they travelled (masked if the
    /// header has a key).
    pub fn from_wire(header: FrameHeader, wire_payload: &[u8]) -> Self {
        let mut payload = wire_payload.to_vec();
        if let Some(key) = header.mask {
            apply_mask(key, &mut payload);
        }
        Frame { header, payload }
    }

    /// Parses and checks one frame with no size limit of ours. `Ok(None)`: more bytes are
    /// needed. `Ok(Some((frame, n)))`: the frame takes the first `n` bytes.
    pub fn parse(bytes: &[u8]) -> Result<Option<(Frame, usize)>, WireError> {
        Self::parse_limited(bytes, u64::MAX)
    }

    /// As [`Frame::parse`], failing with [`WireError::FrameTooBig`] as soon as the header
    /// announces more than `max_payload` bytes (§10.4).
    pub fn parse_limited(bytes: &[u8], max_payload: u64) -> Result<Option<(Frame, usize)>, WireError> {
        let Some((header, n)) = FrameHeader::parse(bytes)? else { return Ok(None) };
        // Leave room for the header, so `n + len` cannot overflow a 32-bit usize (wasm32).
        let max = max_payload.min((usize::MAX - 16) as u64);
        if header.payload_len > max {
            return Err(WireError::FrameTooBig { len: header.payload_len, max });
        }
        let len = header.payload_len as usize;
        let Some(wire_payload) = bytes.get(n..n + len) else { return Ok(None) };
        Ok(Some((Frame::from_wire(header, wire_payload), n + len)))
    }

    /// Writes the frame, masking the payload if the header has a key. The length field is
    /// the payload's actual length.
    pub fn emit(&self, out: &mut Vec<u8>) {
        let header = FrameHeader { payload_len: self.payload.len() as u64, ..self.header };
        header.emit(out);
        let start = out.len();
        out.extend_from_slice(&self.payload);
        if let Some(key) = header.mask {
            apply_mask(key, &mut out[start..]);
        }
    }

    /// The frame's bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.header.header_len() + self.payload.len());
        self.emit(&mut out);
        out
    }
}

/// Reads a Close frame's body (RFC 6455 §5.5.1): `Ok(None)` for an empty body (no status
/// code, §7.1.5: "considered to be 1005"), else the code and the reason.
pub fn parse_close_body(body: &[u8]) -> Result<Option<(CloseCode, String)>, WireError> {
    match body {
        [] => Ok(None),
        [_] => Err(WireError::CloseBodyTooShort),
        [hi, lo, reason @ ..] => {
            let code = CloseCode(u16::from_be_bytes([*hi, *lo]));
            if !code.is_valid() {
                return Err(WireError::InvalidCloseCode(code.0));
            }
            let reason = std::str::from_utf8(reason).map_err(|_| WireError::CloseReasonNotUtf8)?;
            Ok(Some((code, reason.to_string())))
        }
    }
}

/// A payload as a person reads it: quoted text (shortened) if it is UTF-8, else hex.
fn preview(data: &[u8]) -> String {
    const MAX: usize = 40;
    match std::str::from_utf8(data) {
        Ok(s) if s.chars().count() > MAX => format!("{:?}…", s.chars().take(MAX).collect::<String>()),
        Ok(s) => format!("{s:?}"),
        Err(_) => hex(&data[..data.len().min(MAX / 2)]) + if data.len() > MAX / 2 { " …" } else { "" },
    }
}

/// Bytes as `37 fa 21 3d`.
pub fn hex(data: &[u8]) -> String {
    data.iter().map(|b| format!("{b:02x}")).collect::<Vec<_>>().join(" ")
}

fn bit(set: bool) -> String {
    if set { "1".into() } else { "0".into() }
}

/// Names every field of a frame, or of an opening-handshake message (bytes starting with
/// `GET ` or `HTTP/`), with its byte range. For several frames in one buffer, the first.
pub fn annotate(bytes: &[u8]) -> Annotation {
    if bytes.starts_with(b"GET ") || bytes.starts_with(b"HTTP/") {
        return annotate_http(bytes);
    }
    annotate_frame(bytes)
}

fn annotate_frame(bytes: &[u8]) -> Annotation {
    let mut a = Annotation { protocol: "WebSocket".into(), ..Annotation::default() };
    let Some((h, hl)) = FrameHeader::parse_unchecked(bytes) else {
        a.summary = format!("truncated WebSocket frame ({} bytes)", bytes.len());
        a.error = Some("truncated: the frame header is incomplete".into());
        return a;
    };
    let b1 = bytes[1];
    let op = h.opcode.to_u8();
    a.fields = vec![
        Field::new(
            "FIN",
            0,
            1,
            bit(h.fin),
            if h.fin { "the final fragment of its message" } else { "more fragments of this message follow" },
        )
        .with_bits(0x80),
        Field::new("RSV1", 0, 1, bit(h.rsv1), "reserved for extensions: 0 unless one is negotiated").with_bits(0x40),
        Field::new("RSV2", 0, 1, bit(h.rsv2), "reserved for extensions: 0 unless one is negotiated").with_bits(0x20),
        Field::new("RSV3", 0, 1, bit(h.rsv3), "reserved for extensions: 0 unless one is negotiated").with_bits(0x10),
        Field::new("Opcode", 0, 1, format!("0x{op:X} ({})", h.opcode), h.opcode.meaning()).with_bits(0x0f),
        Field::new(
            "MASK",
            1,
            1,
            bit(h.mask.is_some()),
            if h.mask.is_some() {
                "the payload is masked: every frame from client to server is (§5.3)"
            } else {
                "the payload is not masked: no frame from server to client is (§5.1)"
            },
        )
        .with_bits(0x80),
    ];
    let len7 = b1 & 0x7f;
    let ext = match len7 {
        126 => 2,
        127 => 8,
        _ => 0,
    };
    let len7_meaning = match ext {
        0 => "the payload length itself (0-125)",
        2 => "126: the length is in the next 2 bytes",
        _ => "127: the length is in the next 8 bytes",
    };
    a.fields.push(Field::new("Payload length", 1, 1, len7.to_string(), len7_meaning).with_bits(0x7f));
    if ext > 0 {
        a.fields.push(Field::new(
            "Extended payload length",
            2,
            ext,
            h.payload_len.to_string(),
            format!("the payload length as a {}-bit unsigned integer, network byte order", ext * 8),
        ));
    }
    if let Some(key) = h.mask {
        a.fields.push(Field::new(
            "Masking-key",
            2 + ext,
            4,
            hex(&key),
            "XORed over the payload, byte i with key byte i mod 4, chosen fresh per frame (§5.3)",
        ));
    }
    let available = bytes.len() - hl;
    let len = usize::try_from(h.payload_len).unwrap_or(usize::MAX).min(available);
    let frame = Frame::from_wire(h, &bytes[hl..hl + len]);
    let payload = &frame.payload;
    if !payload.is_empty() {
        let meaning = if h.mask.is_some() { "the application data, shown unmasked" } else { "the application data" };
        a.fields.push(Field::new("Payload data", hl, len, preview(payload), meaning));
    }
    // What the summary shows of the payload: nothing if empty, a Close's code and reason.
    let mut what = if payload.is_empty() { String::new() } else { format!(" {}", preview(payload)) };
    if h.opcode == Opcode::Close && h.payload_len == len as u64 {
        match payload.as_slice() {
            [] => what = " (no status code)".into(),
            [_] => {}
            [hi, lo, reason @ ..] => {
                let code = CloseCode(u16::from_be_bytes([*hi, *lo]));
                a.fields
                    .push(Field::new("Status code", hl, 2, code.to_string(), "why the endpoint closes (§7.4)").child());
                if !reason.is_empty() {
                    a.fields.push(
                        Field::new(
                            "Reason",
                            hl + 2,
                            reason.len(),
                            preview(reason),
                            "for people reading logs, not for the application (§5.5.1)",
                        )
                        .child(),
                    );
                }
                what = format!(" {}", code.0);
                if !reason.is_empty() {
                    what = format!("{what} {}", preview(reason));
                }
            }
        }
    }
    let mut notes = Vec::new();
    if !h.fin {
        notes.push("not final".to_string());
    }
    if h.mask.is_some() {
        notes.push("masked".to_string());
    }
    notes.push(format!("{} bytes", h.payload_len));
    a.summary = format!("{}{what} ({})", h.opcode, notes.join(", "));
    if (len as u64) < h.payload_len {
        a.error = Some(format!("truncated: {} of {} payload bytes", len, h.payload_len));
    } else if let Err(e) = FrameHeader::parse(bytes) {
        a.error = Some(e.to_string());
    } else if h.opcode == Opcode::Close {
        if let Err(e) = parse_close_body(payload) {
            a.error = Some(e.to_string());
        }
    }
    a
}

/// What the opening-handshake headers mean (RFC 6455 §4.1, §4.2, §11.3).
fn header_meaning(name: &str) -> &'static str {
    match name.to_ascii_lowercase().as_str() {
        "host" => "the server's authority, so one address can serve several hosts (§4.1)",
        "upgrade" => "asks to switch this connection from HTTP to the WebSocket protocol (§4.1, §4.2.2)",
        "connection" => "must include the token Upgrade: this hop switches protocols (§4.1)",
        "sec-websocket-key" => "16 random bytes, base64: proves the server understood a WebSocket request (§4.1)",
        "sec-websocket-accept" => "base64(SHA-1(key + 258EAFA5-E914-47DA-95CA-C5AB0DC85B11)) (§4.2.2)",
        "sec-websocket-version" => "the protocol version: 13 is RFC 6455 (§4.1, §4.4)",
        "sec-websocket-protocol" => "subprotocols the client offers, or the one the server picked (§1.9, §4.2.2)",
        "sec-websocket-extensions" => "extensions offered or accepted, such as permessage-deflate (§9)",
        "origin" => "the page that opened the connection, for the server's origin check (§10.2)",
        "content-length" => "bytes of body after the headers",
        "content-type" => "the media type of the body",
        _ => "an ordinary HTTP header field",
    }
}

fn annotate_http(bytes: &[u8]) -> Annotation {
    let mut a = Annotation { protocol: "HTTP".into(), ..Annotation::default() };
    let mut at = 0;
    let mut first = true;
    let mut ended = false;
    while at < bytes.len() {
        let Some(eol) = bytes[at..].windows(2).position(|w| w == b"\r\n") else { break };
        let line = String::from_utf8_lossy(&bytes[at..at + eol]).into_owned();
        let len = eol + 2;
        if first {
            let (name, meaning) = if line.starts_with("HTTP/") {
                let meaning = if line.contains(" 101 ") {
                    "the server accepts: from the next byte on, this connection speaks WebSocket (§4.2.2)"
                } else {
                    "the server refuses the upgrade; the connection stays HTTP (§4.2.1, §4.4)"
                };
                ("Status-Line", meaning)
            } else {
                ("Request-Line", "an HTTP/1.1 GET of the resource the WebSocket is for (§4.1)")
            };
            a.summary = line.clone();
            a.fields.push(Field::new(name, at, len, line, meaning));
            first = false;
        } else if line.is_empty() {
            a.fields.push(Field::new("End of header", at, 2, "CRLF", "an empty line ends the header fields"));
            ended = true;
            at += len;
            break;
        } else {
            let (name, value) = line.split_once(':').unwrap_or((line.as_str(), ""));
            a.fields.push(Field::new(name.trim(), at, len, value.trim(), header_meaning(name.trim())));
        }
        at += len;
    }
    if ended && at < bytes.len() {
        let body = &bytes[at..];
        a.fields.push(Field::new("Body", at, body.len(), preview(body), "the response body, for people"));
    }
    if !ended {
        a.error = Some("incomplete: no empty line ends the header".into());
    }
    if a.summary.starts_with("GET ") {
        a.summary.push_str(" (WebSocket opening handshake)");
    }
    a
}

#[cfg(test)]
mod tests {
    use super::*;

    /// §5.3 as written: octet i is XORed with key octet (offset + i) mod 4.
    fn mask_octet_by_octet(key: [u8; 4], offset: usize, data: &mut [u8]) {
        for (i, b) in data.iter_mut().enumerate() {
            *b ^= key[(offset + i) % 4];
        }
    }

    /// The word-at-a-time unmask is §5.3's octet-by-octet definition, for every length up
    /// to 300, every key offset, and data at every alignment in memory.
    #[test]
    fn fast_mask_equals_the_octet_by_octet_definition() {
        let key = [0x37, 0xfa, 0x21, 0x3d];
        let source: Vec<u8> = (0..320u32).map(|i| (i.wrapping_mul(97) ^ (i >> 3)) as u8).collect();
        for len in 0..300 {
            for offset in 0..4 {
                for align in 0..8 {
                    let mut expected = source[align..align + len].to_vec();
                    mask_octet_by_octet(key, offset, &mut expected);
                    let mut fast = source.clone();
                    apply_mask_at(key, offset, &mut fast[align..align + len]);
                    assert_eq!(&fast[align..align + len], &expected[..], "len {len}, offset {offset}, align {align}");
                    assert_eq!(&fast[..align], &source[..align], "bytes before the data are untouched");
                    assert_eq!(&fast[align + len..], &source[align + len..], "bytes after the data are untouched");
                    if offset == 0 {
                        let mut plain = source[align..align + len].to_vec();
                        apply_mask(key, &mut plain);
                        assert_eq!(plain, expected, "apply_mask, len {len}, align {align}");
                    }
                }
            }
        }
        // Masking twice gives the data back; the RFC's example (§5.7) unmasks to "Hello".
        let mut hello = [0x7f, 0x9f, 0x4d, 0x51, 0x58];
        apply_mask(key, &mut hello);
        assert_eq!(&hello, b"Hello");
        apply_mask(key, &mut hello);
        assert_eq!(hello, [0x7f, 0x9f, 0x4d, 0x51, 0x58]);
    }

    #[test]
    fn non_minimal_and_msb_lengths_are_rejected() {
        // 124 bytes encoded as 126, 0, 124: the RFC's own counterexample (§5.2).
        let mut b = vec![0x82, 126, 0, 124];
        b.extend(vec![0; 124]);
        assert_eq!(Frame::parse(&b), Err(WireError::NonMinimalLength { len: 124, length_bytes: 2 }));
        let b = [0x82, 127, 0, 0, 0, 0, 0, 0, 0xff, 0xff];
        assert_eq!(Frame::parse(&b), Err(WireError::NonMinimalLength { len: 0xffff, length_bytes: 8 }));
        let b = [0x82, 127, 0x80, 0, 0, 0, 0, 0, 0, 1];
        assert!(matches!(Frame::parse(&b), Err(WireError::LengthMsbSet { .. })));
        assert_eq!(WireError::LengthMsbSet { len: 0 }.close_code(), CloseCode::PROTOCOL_ERROR);
    }

    #[test]
    fn control_frame_rules_and_reserved_bits() {
        assert_eq!(Frame::parse(&[0x09, 0x00]), Err(WireError::FragmentedControlFrame { opcode: Opcode::Ping }));
        assert!(matches!(Frame::parse(&[0x89, 126]), Err(WireError::ControlFrameTooLong { .. })));
        assert_eq!(Frame::parse(&[0x83, 0x00]), Err(WireError::ReservedOpcode(3)));
        assert_eq!(Frame::parse(&[0x8b, 0x00]), Err(WireError::ReservedOpcode(0xb)));
        assert_eq!(Frame::parse(&[0xc1, 0x00]), Err(WireError::ReservedBitsSet { rsv: 0b100 }));
        assert_eq!(Frame::parse_limited(&[0x82, 126, 1, 0], 255), Err(WireError::FrameTooBig { len: 256, max: 255 }));
        assert_eq!(WireError::FrameTooBig { len: 1, max: 0 }.close_code(), CloseCode::MESSAGE_TOO_BIG);
        // Incomplete is not an error.
        assert_eq!(Frame::parse(&[0x81]), Ok(None));
        assert_eq!(Frame::parse(&[0x81, 0x85, 1, 2]), Ok(None));
        assert_eq!(Frame::parse(&[0x81, 0x05, b'H']), Ok(None));
    }

    #[test]
    fn close_codes_follow_section_7_4() {
        for bad in [0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000] {
            assert!(!CloseCode(bad).is_valid(), "{bad}");
        }
        for ok in [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 4999] {
            assert!(CloseCode(ok).is_valid(), "{ok}");
        }
        assert_eq!(parse_close_body(&[]), Ok(None));
        assert_eq!(parse_close_body(&[3]), Err(WireError::CloseBodyTooShort));
        assert_eq!(parse_close_body(&[0x03, 0xed]), Err(WireError::InvalidCloseCode(1005)));
        assert_eq!(parse_close_body(&[0x03, 0xe8, 0xff]), Err(WireError::CloseReasonNotUtf8));
        assert_eq!(parse_close_body(b"\x03\xe8bye"), Ok(Some((CloseCode::NORMAL, "bye".into()))));
        assert_eq!(CloseCode::NORMAL.to_string(), "1000 (Normal Closure)");
    }

    #[test]
    fn annotation_names_the_fields_of_a_masked_text_frame() {
        let a = annotate(&[0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58]);
        assert_eq!(a.summary, "Text \"Hello\" (masked, 5 bytes)");
        assert_eq!(a.error, None);
        let names: Vec<&str> = a.fields.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(
            names,
            ["FIN", "RSV1", "RSV2", "RSV3", "Opcode", "MASK", "Payload length", "Masking-key", "Payload data"]
        );
        assert_eq!(a.fields[4].bits, Some(0x0f));
        assert_eq!(a.fields[7].value, "37 fa 21 3d");
        assert_eq!(a.fields[8].range(), 6..11);
        assert_eq!(a.fields[8].value, "\"Hello\"");
    }

    #[test]
    fn annotation_of_close_and_extended_lengths_and_errors() {
        let close = Frame::close(Some(CloseCode::NORMAL), "bye").to_bytes();
        let a = annotate(&close);
        assert_eq!(a.summary, "Close 1000 \"bye\" (5 bytes)");
        assert!(a.fields.iter().any(|f| f.name == "Status code" && f.depth == 1 && f.value.starts_with("1000")));
        let a = annotate(&[0x82, 0x7e, 0x01, 0x00]);
        assert_eq!(a.fields[7].name, "Extended payload length");
        assert_eq!(a.fields[7].value, "256");
        assert!(a.error.as_deref().is_some_and(|e| e.contains("truncated")));
        let a = annotate(&[0x83, 0x00]);
        assert_eq!(a.error, Some("reserved opcode 0x3".into()));
        assert!(annotate(&[0x81]).error.is_some());
        assert_eq!(annotate(&[0x89, 0x00]).summary, "Ping (0 bytes)");
        assert_eq!(annotate(&[0x88, 0x00]).summary, "Close (no status code) (0 bytes)");
        assert_eq!(annotate(b"\x81\x04a  b").summary, "Text \"a  b\" (4 bytes)");
    }

    #[test]
    fn annotation_of_a_handshake_names_each_line() {
        let req = b"GET /chat HTTP/1.1\r\nHost: server.example.com\r\nUpgrade: websocket\r\n\r\n";
        let a = annotate(req);
        assert_eq!(a.protocol, "HTTP");
        assert_eq!(a.summary, "GET /chat HTTP/1.1 (WebSocket opening handshake)");
        assert_eq!(a.fields.len(), 4);
        assert_eq!(a.fields[2].name, "Upgrade");
        assert_eq!(a.fields[2].value, "websocket");
        assert_eq!(a.fields[3].range(), req.len() - 2..req.len());
        assert_eq!(a.error, None);
    }
}
