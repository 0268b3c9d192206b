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

/// A tap report from its JSON text, as the server's serde writes it, without serde_json:
/// the app reads reports with this, because a general JSON deserializer (and its float
/// tables) would cost the page ~10 KB gzipped for one flat object per message. Objects
/// only, one level, string/number/bool/null values; anything else is `None`.
pub fn from_json(text: &str) -> Option<TapEvent> {
    let fields = flat_json(text)?;
    let get = |k: &str| fields.iter().find(|(n, _)| n == k).map(|(_, v)| v);
    let s = |k: &str| match get(k) {
        Some(Json::Str(v)) => Some(v.clone()),
        _ => None,
    };
    let num = |k: &str| match get(k) {
        Some(Json::Num(v)) => Some(*v),
        _ => None,
    };
    let flag = |k: &str| match get(k) {
        Some(Json::Bool(v)) => Some(*v),
        _ => None,
    };
    let dir = || match s("dir")?.as_str() {
        "in" => Some(Direction::In),
        "out" => Some(Direction::Out),
        _ => None,
    };
    let at_ms = num("at_ms")?;
    Some(match s("kind")?.as_str() {
        "request" => TapEvent::Request { at_ms, hex: s("hex")? },
        "response" => TapEvent::Response { at_ms, hex: s("hex")? },
        "frame" => TapEvent::Frame {
            at_ms,
            dir: dir()?,
            opcode: s("opcode")?,
            fin: flag("fin")?,
            masked: flag("masked")?,
            payload_len: num("payload_len").filter(|n| *n >= 0.0 && n.fract() == 0.0)? as u64,
            whole: flag("whole")?,
            hex: s("hex")?,
        },
        "malformed" => TapEvent::Malformed { at_ms, dir: dir()?, hex: s("hex")?, why: s("why")? },
        "closed" => TapEvent::Closed { at_ms },
        _ => return None,
    })
}

#[derive(Clone, Debug, PartialEq)]
enum Json {
    Str(String),
    Num(f64),
    Bool(bool),
    Null,
}

/// `{"k": v, …}` with scalar values (RFC 8259 §4, §6, §7) into pairs.
fn flat_json(text: &str) -> Option<Vec<(String, Json)>> {
    let b = text.as_bytes();
    let mut i = 0;
    let ws = |i: &mut usize| {
        while b.get(*i).is_some_and(|c| matches!(c, b' ' | b'\t' | b'\n' | b'\r')) {
            *i += 1;
        }
    };
    let string = |i: &mut usize| -> Option<String> {
        if b.get(*i) != Some(&b'"') {
            return None;
        }
        *i += 1;
        let mut out = String::new();
        loop {
            let start = *i;
            while b.get(*i).is_some_and(|&c| c != b'"' && c != b'\\') {
                *i += 1;
            }
            out.push_str(text.get(start..*i)?);
            match b.get(*i)? {
                b'"' => {
                    *i += 1;
                    return Some(out);
                }
                _ => {
                    let e = *b.get(*i + 1)?;
                    *i += 2;
                    out.push(match e {
                        b'"' => '"',
                        b'\\' => '\\',
                        b'/' => '/',
                        b'b' => '\u{8}',
                        b'f' => '\u{c}',
                        b'n' => '\n',
                        b'r' => '\r',
                        b't' => '\t',
                        b'u' => {
                            let hex = text.get(*i..*i + 4)?;
                            *i += 4;
                            let unit = u16::from_str_radix(hex, 16).ok()?;
                            // A surrogate pair is two escapes (RFC 8259 §7).
                            if (0xD800..0xDC00).contains(&unit) && text.get(*i..*i + 2) == Some("\\u") {
                                let low = u16::from_str_radix(text.get(*i + 2..*i + 6)?, 16).ok()?;
                                *i += 6;
                                char::decode_utf16([unit, low]).next()?.ok()?
                            } else {
                                char::from_u32(u32::from(unit))?
                            }
                        }
                        _ => return None,
                    });
                }
            }
        }
    };
    ws(&mut i);
    if b.get(i) != Some(&b'{') {
        return None;
    }
    i += 1;
    let mut out = Vec::new();
    loop {
        ws(&mut i);
        if out.is_empty() && b.get(i) == Some(&b'}') {
            i += 1;
            break;
        }
        let key = string(&mut i)?;
        ws(&mut i);
        if b.get(i) != Some(&b':') {
            return None;
        }
        i += 1;
        ws(&mut i);
        let value = match b.get(i)? {
            b'"' => Json::Str(string(&mut i)?),
            b't' if text.get(i..i + 4) == Some("true") => {
                i += 4;
                Json::Bool(true)
            }
            b'f' if text.get(i..i + 5) == Some("false") => {
                i += 5;
                Json::Bool(false)
            }
            b'n' if text.get(i..i + 4) == Some("null") => {
                i += 4;
                Json::Null
            }
            _ => {
                let start = i;
                while b.get(i).is_some_and(|c| matches!(c, b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9')) {
                    i += 1;
                }
                Json::Num(number(text.get(start..i)?)?)
            }
        };
        out.push((key, value));
        ws(&mut i);
        match b.get(i)? {
            b',' => i += 1,
            b'}' => {
                i += 1;
                break;
            }
            _ => return None,
        }
    }
    ws(&mut i);
    (i == b.len()).then_some(out)
}

/// A JSON number (RFC 8259 §6) without the standard library's float parser: the
/// digits as an integer and a power of ten. Exact for the times the tap reports
/// (milliseconds with a few decimals); within a few ulps otherwise.
fn number(s: &str) -> Option<f64> {
    let (mantissa, exp) = match s.find(['e', 'E']) {
        Some(k) => (&s[..k], s[k + 1..].parse::<i32>().ok()?),
        None => (s, 0),
    };
    let (neg, digits) = match mantissa.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, mantissa),
    };
    let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
    if int.is_empty() || !int.bytes().chain(frac.bytes()).all(|c| c.is_ascii_digit()) || int.len() + frac.len() > 19 {
        return None;
    }
    let whole: u64 = format!("{int}{frac}").parse().ok()?;
    let scale = exp - frac.len() as i32;
    let v = whole as f64;
    let v = if scale >= 0 { v * 10f64.powi(scale) } else { v / 10f64.powi(-scale) };
    Some(if neg { -v } else { v })
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

    #[test]
    fn reports_read_back_without_serde_json() {
        let events = [
            TapEvent::Request { at_ms: 0.0, hex: "474554".into() },
            TapEvent::Response { at_ms: 0.25, hex: "48".into() },
            TapEvent::Frame {
                at_ms: 421.625,
                dir: Direction::In,
                opcode: "Text".into(),
                fin: true,
                masked: true,
                payload_len: 70_000,
                whole: false,
                hex: "81fe".into(),
            },
            TapEvent::Malformed {
                at_ms: 1e-7,
                dir: Direction::Out,
                hex: "".into(),
                why: "bad \"x\" \u{1F600}\n".into(),
            },
            TapEvent::Closed { at_ms: 123456.789 },
        ];
        for e in events {
            let json = serde_json::to_string(&e).expect("serialise");
            let back = from_json(&json).unwrap_or_else(|| panic!("cannot read {json}"));
            assert!((back.at_ms() - e.at_ms()).abs() <= e.at_ms().abs() * 1e-12, "{json}");
            let same_time = |mut t: TapEvent| {
                match &mut t {
                    TapEvent::Request { at_ms, .. }
                    | TapEvent::Response { at_ms, .. }
                    | TapEvent::Frame { at_ms, .. }
                    | TapEvent::Malformed { at_ms, .. }
                    | TapEvent::Closed { at_ms } => *at_ms = 0.0,
                }
                t
            };
            assert_eq!(same_time(back), same_time(e), "{json}");
        }
        for bad in [
            "",
            "{",
            "[]",
            r#"{"kind":"closed"}"#,
            r#"{"kind":"nope","at_ms":1}"#,
            r#"{"kind":"closed","at_ms":1} x"#,
            r#"{"kind":"closed","at_ms":"1"}"#,
            r#"{"kind":"closed","at_ms":1,}"#,
            r#"{"kind":"request","at_ms":1,"hex":"\q"}"#,
        ] {
            assert_eq!(from_json(bad), None, "{bad}");
        }
    }
}
