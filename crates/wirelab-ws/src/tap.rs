//! The wire tap's messages: what the server saw on one WebSocket connection, byte for
//! byte, reported to the browser on a second connection (`/ws/tap/{id}`) so that the
//! student sees their own browser's opening handshake (with its Sec-WebSocket-Key) and
//! every frame (with the browser's masking keys), as they crossed the wire.
//!
//! The reports travel on a separate connection so that reporting a frame makes no new
//! frame on the connection being watched. Server and browser both use these types.

use crate::wire::{FrameHeader, Opcode};
use serde::{Deserialize, Serialize};

/// Frames up to this size are reported whole; larger ones by their header only.
pub const WHOLE_FRAME_LIMIT: usize = 4096;

/// Which way bytes went, seen from the server.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Direction {
    /// From the browser to the server.
    In,
    /// From the server to the browser.
    Out,
}

/// One thing the tap saw. `at_ms` counts from the moment the connection was accepted.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum TapEvent {
    /// The opening handshake request exactly as it arrived (RFC 6455 §4.1), in hex.
    Request { at_ms: f64, hex: String },
    /// The server's handshake response exactly as sent (§4.2.2), in hex.
    Response { at_ms: f64, hex: String },
    /// One frame. `hex` is the whole frame as on the wire (still masked, if it was) when it
    /// is at most [`WHOLE_FRAME_LIMIT`] bytes, else its header only (`whole` false).
    Frame {
        at_ms: f64,
        dir: Direction,
        opcode: String,
        fin: bool,
        masked: bool,
        payload_len: u64,
        whole: bool,
        hex: String,
    },
    /// Bytes that are not a valid frame: the connection is failed after this.
    Malformed { at_ms: f64, dir: Direction, hex: String, why: String },
    /// The TCP connection ended.
    Closed { at_ms: f64 },
}

impl TapEvent {
    /// The exact bytes the event carries, if any.
    pub fn bytes(&self) -> Vec<u8> {
        match self {
            TapEvent::Request { hex, .. }
            | TapEvent::Response { hex, .. }
            | TapEvent::Frame { hex, .. }
            | TapEvent::Malformed { hex, .. } => from_hex(hex),
            TapEvent::Closed { .. } => Vec::new(),
        }
    }

    pub fn at_ms(&self) -> f64 {
        match self {
            TapEvent::Request { at_ms, .. }
            | TapEvent::Response { at_ms, .. }
            | TapEvent::Frame { at_ms, .. }
            | TapEvent::Malformed { at_ms, .. }
            | TapEvent::Closed { at_ms } => *at_ms,
        }
    }
}

/// Lowercase hex, no separators.
pub fn to_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(2 * bytes.len());
    for &b in bytes {
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    s
}

/// Bytes from hex; stops at the first pair that is not hex.
pub fn from_hex(hex: &str) -> Vec<u8> {
    hex.as_bytes()
        .chunks(2)
        .map_while(|p| std::str::from_utf8(p).ok().and_then(|s| u8::from_str_radix(s, 16).ok()))
        .collect()
}

/// Splits one direction's byte stream into frames as they complete, for the tap. It
/// keeps only an incomplete frame's bytes; a frame larger than [`WHOLE_FRAME_LIMIT`] is
/// reported from its header and its payload is skipped as it streams past.
#[derive(Clone, Debug)]
pub struct FrameSplitter {
    dir: Direction,
    buf: Vec<u8>,
    /// Payload bytes of a large, already reported frame still to skip.
    skip: u64,
    broken: bool,
}

impl FrameSplitter {
    pub fn new(dir: Direction) -> Self {
        FrameSplitter { dir, buf: Vec::new(), skip: 0, broken: false }
    }

    /// Takes the next bytes of the stream; returns the events for frames they complete.
    pub fn push(&mut self, at_ms: f64, mut bytes: &[u8]) -> Vec<TapEvent> {
        let mut out = Vec::new();
        if self.broken {
            return out;
        }
        if self.skip > 0 {
            let n = (self.skip.min(bytes.len() as u64)) as usize;
            self.skip -= n as u64;
            bytes = &bytes[n..];
        }
        self.buf.extend_from_slice(bytes);
        loop {
            match FrameHeader::parse(&self.buf) {
                Ok(None) => break,
                Err(e) => {
                    out.push(TapEvent::Malformed {
                        at_ms,
                        dir: self.dir,
                        hex: to_hex(&self.buf[..self.buf.len().min(64)]),
                        why: e.to_string(),
                    });
                    self.broken = true;
                    self.buf.clear();
                    break;
                }
                Ok(Some((h, header_len))) => {
                    let total = header_len as u64 + h.payload_len;
                    let event = |whole: bool, hex: String| TapEvent::Frame {
                        at_ms,
                        dir: self.dir,
                        opcode: opcode_name(h.opcode),
                        fin: h.fin,
                        masked: h.mask.is_some(),
                        payload_len: h.payload_len,
                        whole,
                        hex,
                    };
                    if total <= WHOLE_FRAME_LIMIT as u64 {
                        let total = total as usize;
                        if self.buf.len() < total {
                            break;
                        }
                        out.push(event(true, to_hex(&self.buf[..total])));
                        self.buf.drain(..total);
                    } else {
                        out.push(event(false, to_hex(&self.buf[..header_len])));
                        let have = (self.buf.len() - header_len) as u64;
                        if have >= h.payload_len {
                            self.buf.drain(..total as usize);
                        } else {
                            self.skip = h.payload_len - have;
                            self.buf.clear();
                            break;
                        }
                    }
                }
            }
        }
        out
    }
}

/// The opcode as RFC 6455 §5.2 names it.
pub fn opcode_name(op: Opcode) -> String {
    match op {
        Opcode::Continuation => "continuation".into(),
        Opcode::Text => "text".into(),
        Opcode::Binary => "binary".into(),
        Opcode::Close => "close".into(),
        Opcode::Ping => "ping".into(),
        Opcode::Pong => "pong".into(),
        Opcode::Reserved(n) => format!("reserved 0x{n:x}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6455 §5.7's masked "Hello", then its fragmented "Hel" + "lo", cut at every
    /// point: the same frames come out, whole, with the mask bits as sent.
    #[test]
    fn frames_split_from_a_stream_cut_anywhere() {
        let stream: Vec<u8> = [
            &[0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58][..],
            &[0x01, 0x03, 0x48, 0x65, 0x6c],
            &[0x80, 0x02, 0x6c, 0x6f],
        ]
        .concat();
        for cut in 0..=stream.len() {
            let mut s = FrameSplitter::new(Direction::In);
            let mut events = s.push(1.0, &stream[..cut]);
            events.extend(s.push(2.0, &stream[cut..]));
            let hexes: Vec<String> = events
                .iter()
                .map(|e| match e {
                    TapEvent::Frame { hex, .. } => hex.clone(),
                    other => panic!("unexpected {other:?}"),
                })
                .collect();
            assert_eq!(hexes, ["818537fa213d7f9f4d5158", "010348656c", "80026c6f"], "cut at {cut}");
        }
    }

    #[test]
    fn a_large_frame_is_reported_by_its_header_and_the_next_one_still_found() {
        let mut big = vec![0x82, 0x7e, 0x20, 0x00];
        big.extend(std::iter::repeat_n(0xaa, 0x2000));
        big.extend([0x89, 0x00]);
        let mut s = FrameSplitter::new(Direction::Out);
        let mut events = Vec::new();
        for chunk in big.chunks(1000) {
            events.extend(s.push(0.0, chunk));
        }
        assert_eq!(events.len(), 2, "{events:?}");
        assert!(
            matches!(&events[0], TapEvent::Frame { whole: false, payload_len: 8192, hex, .. } if hex == "827e2000")
        );
        assert!(matches!(&events[1], TapEvent::Frame { opcode, whole: true, .. } if opcode == "ping"));
    }

    #[test]
    fn events_travel_as_json_and_hex_round_trips() {
        let e = TapEvent::Request { at_ms: 0.5, hex: to_hex(b"GET / HTTP/1.1\r\n") };
        let json = serde_json::to_string(&e).expect("serialise");
        assert_eq!(json, r#"{"kind":"request","at_ms":0.5,"hex":"474554202f20485454502f312e310d0a"}"#);
        let back: TapEvent = serde_json::from_str(&json).expect("parse");
        assert_eq!(back.bytes(), b"GET / HTTP/1.1\r\n");
    }

    #[test]
    fn hex_is_lowercase_two_digits_per_byte_and_round_trips() {
        assert_eq!(to_hex(&[0x00, 0x0f, 0xa5, 0xff]), "000fa5ff");
        assert_eq!(to_hex(&[]), "");
        let all: Vec<u8> = (0..=255).collect();
        assert_eq!(from_hex(&to_hex(&all)), all);
    }

    #[test]
    fn a_reserved_opcode_is_reported_as_malformed_once() {
        let mut s = FrameSplitter::new(Direction::In);
        let events = s.push(0.0, &[0x83, 0x80, 1, 2, 3, 4]);
        assert!(matches!(&events[..], [TapEvent::Malformed { .. }]), "{events:?}");
        assert!(s.push(0.0, &[0x81, 0x00]).is_empty());
    }
}
