//! Cutting a byte stream into CRLF-terminated lines, with a length limit: what the
//! line-based protocols (SMTP, RFC 5321 §2.3.8 and §4.5.3.1; POP3, RFC 1939 §3; FTP's
//! control connection) read their peers' bytes with.
//!
//! Only CRLF ends a line. A bare LF or CR is kept inside the line it arrived in, where
//! each protocol's parser refuses it (inside SMTP mail data it is content). Recognizing a
//! bare LF as a line end is what made "SMTP smuggling" possible (a `<LF>.<CR><LF>` read
//! as the end of data by one server and not by the next), so wirelab does not.

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Line {
    /// A whole line, without its CRLF.
    Complete(Vec<u8>),
    /// A line longer than the limit (CRLF included) ended; its bytes were dropped.
    TooLong,
}

/// Collects stream bytes and yields lines. Bytes may arrive cut anywhere.
#[derive(Clone, Debug)]
pub struct LineBuffer {
    buf: Vec<u8>,
    /// Longest line accepted, CRLF included.
    max: usize,
    /// Inside a line that is already too long: dropping bytes until its CRLF.
    discarding: bool,
    /// How far `buf` was searched for CRLF without finding one.
    searched: usize,
}

impl LineBuffer {
    pub fn new(max: usize) -> Self {
        LineBuffer { buf: Vec::new(), max: max.max(2), discarding: false, searched: 0 }
    }

    /// The limit for the lines that follow (commands and text lines differ).
    pub fn set_max(&mut self, max: usize) {
        self.max = max.max(2);
    }

    pub fn max(&self) -> usize {
        self.max
    }

    pub fn push(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// Whether nothing is buffered (no partial line).
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty() && !self.discarding
    }

    /// The next line, if one is complete.
    pub fn next_line(&mut self) -> Option<Line> {
        let from = self.searched.saturating_sub(1);
        match self.buf[from..].windows(2).position(|w| w == b"\r\n") {
            Some(i) => {
                let end = from + i;
                let line: Vec<u8> = self.buf.drain(..end + 2).take(end).collect();
                self.searched = 0;
                if std::mem::take(&mut self.discarding) || end + 2 > self.max {
                    return Some(Line::TooLong);
                }
                Some(Line::Complete(line))
            }
            None if self.discarding || self.buf.len() >= self.max => {
                // Too long already: keep only a trailing CR, which may start the CRLF.
                self.discarding = true;
                let keep = usize::from(self.buf.last() == Some(&b'\r'));
                let drop = self.buf.len() - keep;
                self.buf.drain(..drop);
                self.searched = self.buf.len();
                None
            }
            None => {
                self.searched = self.buf.len();
                None
            }
        }
    }
}

/// Where each CRLF-terminated line of `bytes` lies, as `(start, content_end, end)`: the
/// content without its CRLF, and the end past it. A last line without CRLF runs to the
/// end of the bytes. For annotating a line protocol's bytes, field by field.
pub fn spans(bytes: &[u8]) -> Vec<(usize, usize, usize)> {
    let mut out = Vec::new();
    let mut start = 0;
    while start < bytes.len() {
        match bytes[start..].windows(2).position(|w| w == b"\r\n") {
            Some(i) => {
                out.push((start, start + i, start + i + 2));
                start += i + 2;
            }
            None => {
                out.push((start, bytes.len(), bytes.len()));
                break;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(max: usize, pieces: &[&[u8]]) -> Vec<Line> {
        let mut b = LineBuffer::new(max);
        let mut out = Vec::new();
        for p in pieces {
            b.push(p);
            while let Some(l) = b.next_line() {
                out.push(l);
            }
        }
        out
    }

    #[test]
    fn crlf_ends_a_line_even_when_cut_between_cr_and_lf() {
        assert_eq!(
            lines(100, &[b"NOOP\r", b"\nQUIT\r\n"]),
            [Line::Complete(b"NOOP".to_vec()), Line::Complete(b"QUIT".to_vec())]
        );
    }

    #[test]
    fn bare_lf_and_cr_stay_inside_the_line() {
        assert_eq!(lines(100, &[b"a\nb\rc\r\n"]), [Line::Complete(b"a\nb\rc".to_vec())]);
    }

    #[test]
    fn the_limit_counts_the_crlf() {
        assert_eq!(lines(6, &[b"abcd\r\n"]), [Line::Complete(b"abcd".to_vec())]);
        assert_eq!(lines(6, &[b"abcde\r\nok\r\n"]), [Line::TooLong, Line::Complete(b"ok".to_vec())]);
        // Far too long, in pieces, a CR at the end of one piece.
        assert_eq!(lines(6, &[b"abcdefgh", b"ijk\r", b"\nok\r\n"]), [Line::TooLong, Line::Complete(b"ok".to_vec())]);
    }

    #[test]
    fn spans_end_at_crlf_only() {
        assert_eq!(super::spans(b"a\r\nbc\nd\r\ne"), [(0, 1, 3), (3, 7, 9), (9, 10, 10)]);
        assert_eq!(super::spans(b""), []);
    }
}
