//! Mail data after DATA (RFC 5321 §4.1.1.4, §4.5.2): lines ended by CRLF, a line holding
//! a single period to end them, and dot-stuffing so that no line of the content can be
//! mistaken for that end.
//!
//! RFC 5321 §4.5.2: "Before sending a line of mail text, the SMTP client checks the
//! first character of the line. If it is a period, one additional period is inserted at
//! the beginning of the line." and "When a line of mail text is received by the SMTP
//! server, it checks the line. If the line is composed of a single period, it is treated
//! as the end of mail indicator. If the first character is a period and there are other
//! characters on the line, the first character is deleted."

use crate::line::{Line, LineBuffer};
use crate::wire::MAX_TEXT_LINE;

/// The content as SMTP carries it: every line ended by CRLF. A bare LF or a bare CR
/// becomes CRLF (RFC 5321 §2.3.8: a client MUST NOT send them except as CRLF), and
/// content that does not end with CRLF gets one (§4.1.1.4: the `<CRLF>` before the
/// final period "is actually the terminator of the previous line"). Content already in
/// this form is returned unchanged.
pub fn canonical(content: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(content.len() + 2);
    let mut i = 0;
    while i < content.len() {
        match content[i] {
            b'\r' if content.get(i + 1) == Some(&b'\n') => {
                out.extend_from_slice(b"\r\n");
                i += 2;
                continue;
            }
            b'\r' | b'\n' => out.extend_from_slice(b"\r\n"),
            b => out.push(b),
        }
        i += 1;
    }
    if !out.is_empty() && !out.ends_with(b"\r\n") {
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// The message size of RFC 1870 §5: "the number of octets, including CR-LF pairs, but
/// not the SMTP DATA command's terminating dot or doubled quoting dots".
pub fn message_size(content: &[u8]) -> u64 {
    canonical(content).len() as u64
}

/// Whether the content has octets above 127, which need BODY=8BITMIME (RFC 6152).
pub fn has_8bit(content: &[u8]) -> bool {
    content.iter().any(|&b| b >= 0x80)
}

/// The longest line of the content, CRLF included, as [`canonical`] would send it.
pub fn longest_line(content: &[u8]) -> usize {
    canonical(content).split(|&b| b == b'\n').map(|l| l.len() + 1).max().unwrap_or(0)
}

/// What the client sends after the 354: the content in canonical form, every line that
/// starts with a period given one more, then `.` CRLF.
pub fn encode(content: &[u8]) -> Vec<u8> {
    let content = canonical(content);
    let mut out = Vec::with_capacity(content.len() + 8);
    for line in content.split_inclusive(|&b| b == b'\n') {
        if line.first() == Some(&b'.') {
            out.push(b'.');
        }
        out.extend_from_slice(line);
    }
    out.extend_from_slice(b".\r\n");
    out
}

/// Reads mail data line by line, as the server gets it: removes the stuffed periods and
/// recognizes the end.
#[derive(Clone, Debug, Default)]
pub struct DataDecoder {
    content: Vec<u8>,
    /// Lines longer than §4.5.3.1.6 allows (their bytes were dropped).
    long_lines: usize,
    done: bool,
}

impl DataDecoder {
    pub fn new() -> Self {
        DataDecoder::default()
    }

    /// One line of mail data, without its CRLF. Returns true at the end of the data.
    pub fn line(&mut self, line: &[u8]) -> bool {
        if self.done {
            return true;
        }
        if line == b"." {
            self.done = true;
            return true;
        }
        let line = line.strip_prefix(b".").unwrap_or(line);
        if line.len() + 2 > MAX_TEXT_LINE {
            self.long_lines += 1;
        }
        self.content.extend_from_slice(line);
        self.content.extend_from_slice(b"\r\n");
        false
    }

    /// A line that was too long for the line buffer to keep.
    pub fn line_too_long(&mut self) {
        self.long_lines += 1;
    }

    pub fn is_done(&self) -> bool {
        self.done
    }

    /// Bytes of content so far.
    pub fn len(&self) -> usize {
        self.content.len()
    }

    pub fn is_empty(&self) -> bool {
        self.content.is_empty()
    }

    /// How many lines were longer than 1000 octets.
    pub fn long_lines(&self) -> usize {
        self.long_lines
    }

    pub fn into_content(self) -> Vec<u8> {
        self.content
    }
}

/// Reads mail data from the start of `wire` (the bytes after the 354 reply): the content
/// and how many bytes the data took, end line included, or `None` if the end has not
/// arrived. Lines longer than [`MAX_TEXT_LINE`] (plus one stuffed period) are dropped.
/// Never panics.
pub fn decode(wire: &[u8]) -> Option<(Vec<u8>, usize)> {
    let mut lines = LineBuffer::new(MAX_TEXT_LINE + 1);
    let mut data = DataDecoder::new();
    let mut used = 0;
    // Feed line by line so `used` stops exactly at the end line.
    let mut rest = wire;
    while let Some(i) = rest.windows(2).position(|w| w == b"\r\n") {
        lines.push(&rest[..i + 2]);
        used += i + 2;
        rest = &rest[i + 2..];
        match lines.next_line() {
            Some(Line::Complete(l)) if data.line(&l) => return Some((data.into_content(), used)),
            Some(Line::Complete(_)) => {}
            Some(Line::TooLong) => data.line_too_long(),
            None => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stuffing_doubles_a_leading_period() {
        assert_eq!(
            encode(b"Blah blah blah...\r\n..etc. etc. etc.\r\n"),
            b"Blah blah blah...\r\n...etc. etc. etc.\r\n.\r\n"
        );
        assert_eq!(encode(b""), b".\r\n");
        assert_eq!(encode(b".\r\n"), b"..\r\n.\r\n");
    }

    #[test]
    fn a_body_holding_the_end_sequence_round_trips() {
        let content = b"one\r\n.\r\ntwo\r\n";
        let wire = encode(content);
        assert_eq!(wire, b"one\r\n..\r\ntwo\r\n.\r\n");
        assert_eq!(decode(&wire), Some((content.to_vec(), wire.len())));
    }

    #[test]
    fn canonical_form() {
        assert_eq!(canonical(b"a\nb\rc"), b"a\r\nb\r\nc\r\n");
        assert_eq!(canonical(b"a\r\n"), b"a\r\n");
        assert_eq!(message_size(b"a\nb"), 6);
    }

    #[test]
    fn decode_waits_for_the_end_line() {
        assert_eq!(decode(b"abc\r\n"), None);
        assert_eq!(decode(b"abc\r\n.\r"), None);
        assert_eq!(decode(b"abc\r\n.\r\nQUIT\r\n"), Some((b"abc\r\n".to_vec(), 8)));
        // A bare LF before the period is no end (SMTP smuggling).
        assert_eq!(decode(b"abc\n.\r\n"), None);
    }
}
