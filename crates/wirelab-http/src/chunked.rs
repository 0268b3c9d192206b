//! The chunked transfer coding (RFC 9112 §7.1): a body sent as a series of chunks, each
//! with its size in hex, ended by a zero-size last chunk and a trailer section.
//!
//! ```text
//! chunked-body   = *chunk last-chunk trailer-section CRLF
//! chunk          = chunk-size [ chunk-ext ] CRLF chunk-data CRLF
//! chunk-size     = 1*HEXDIG
//! last-chunk     = 1*("0") [ chunk-ext ] CRLF
//! ```
//!
//! The decoder is a byte-at-a-time state machine, so the stream may be cut anywhere:
//! feed it whatever arrived and it keeps its place.

use crate::wire::ParseError;

/// Longest chunk-size line (size and extensions) we read before calling it malformed.
/// RFC 9112 §7.1.1: "A server ought to limit the total length of chunk extensions
/// received in a request to an amount reasonable for the services provided".
pub const MAX_CHUNK_LINE: usize = 1024;

/// Where the decoder is inside `chunked-body`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Part {
    /// Reading `chunk-size` hex digits.
    Size,
    /// Skipping `[ chunk-ext ]` up to the CR.
    Ext,
    /// Expecting the LF of the chunk-size line.
    SizeLf,
    /// Inside `chunk-data`.
    Data,
    /// Expecting the CR after `chunk-data`.
    DataCr,
    /// Expecting the LF after `chunk-data`.
    DataLf,
    /// Inside the trailer section, at the start of a line or inside one.
    Trailer,
    /// Read the CR of an empty line: the LF ends the chunked body.
    EndLf,
    /// Read the CR of a trailer field line.
    TrailerLf,
    Done,
}

/// An incremental decoder for the chunked transfer coding (RFC 9112 §7.1.3).
///
/// Strict where laxness has enabled request smuggling: chunk lines must end in CRLF
/// (a bare LF is an error), a chunk-size needs at least one hex digit, and chunk data
/// must be followed by CRLF.
#[derive(Clone, Debug)]
pub struct ChunkedDecoder {
    part: Part,
    /// The chunk-size being read, or the data left of the current chunk.
    size: u64,
    digits: usize,
    line_len: usize,
    /// Content decoded so far.
    total: u64,
    max_body: u64,
    /// The current trailer field line, and the trailer section's size so far.
    line: Vec<u8>,
    trailer_len: usize,
    max_trailer: usize,
    /// Trailer fields read (RFC 9112 §7.1.2), as `(name, value)`.
    trailers: Vec<(String, Vec<u8>)>,
}

impl ChunkedDecoder {
    /// A decoder that refuses more than `max_body` bytes of content (→ 413) and a
    /// trailer section longer than `max_trailer` bytes (→ 431).
    pub fn new(max_body: u64, max_trailer: usize) -> Self {
        ChunkedDecoder {
            part: Part::Size,
            size: 0,
            digits: 0,
            line_len: 0,
            total: 0,
            max_body,
            line: Vec::new(),
            trailer_len: 0,
            max_trailer,
            trailers: Vec::new(),
        }
    }

    /// True once the last chunk and the trailer section have been read.
    pub fn is_done(&self) -> bool {
        self.part == Part::Done
    }

    /// The trailer fields received. RFC 9112 §7.1.2: "A recipient that removes the
    /// chunked coding from a message MAY selectively retain or discard the received
    /// trailer fields"; wirelab keeps them here and does not merge them into the header.
    pub fn trailers(&self) -> &[(String, Vec<u8>)] {
        &self.trailers
    }

    /// Decodes from `input`, appending chunk data to `out`. Returns how many bytes of
    /// `input` were consumed: all of it, unless the chunked body ended inside it (the
    /// rest belongs to the next message).
    pub fn decode(&mut self, input: &[u8], out: &mut Vec<u8>) -> Result<usize, ParseError> {
        let mut i = 0;
        while i < input.len() && self.part != Part::Done {
            if self.part == Part::Data {
                let take = usize::try_from(self.size).unwrap_or(usize::MAX).min(input.len() - i);
                out.extend_from_slice(&input[i..i + take]);
                i += take;
                self.size -= take as u64;
                if self.size == 0 {
                    self.part = Part::DataCr;
                }
                continue;
            }
            self.step(input[i])?;
            i += 1;
        }
        Ok(i)
    }

    fn step(&mut self, b: u8) -> Result<(), ParseError> {
        match self.part {
            Part::Size | Part::Ext => {
                self.line_len += 1;
                if self.line_len > MAX_CHUNK_LINE {
                    return Err(ParseError::BadChunk { detail: "chunk-size line too long" });
                }
            }
            _ => {}
        }
        match self.part {
            Part::Size => match (b as char).to_digit(16) {
                Some(d) => {
                    // chunk-size = 1*HEXDIG. RFC 9112 §7.1: "Recipients MUST anticipate
                    // potentially large hexadecimal numerals and prevent parsing errors
                    // due to integer conversion overflows or precision loss".
                    self.size = self
                        .size
                        .checked_mul(16)
                        .and_then(|s| s.checked_add(u64::from(d)))
                        .ok_or(ParseError::ChunkSizeOverflow)?;
                    self.digits += 1;
                }
                None if self.digits == 0 => return Err(ParseError::BadChunkSize),
                None => match b {
                    // chunk-ext = *( BWS ";" BWS chunk-ext-name [ BWS "=" BWS chunk-ext-val ] )
                    b';' | b' ' | b'\t' => self.part = Part::Ext,
                    b'\r' => self.part = Part::SizeLf,
                    b'\n' => return Err(ParseError::BadChunk { detail: "bare LF in chunk-size line" }),
                    _ => return Err(ParseError::BadChunkSize),
                },
            },
            // RFC 9112 §7.1.1: "A recipient MUST ignore unrecognized chunk extensions."
            // wirelab recognizes none, so it skips them all.
            Part::Ext => match b {
                b'\r' => self.part = Part::SizeLf,
                b'\n' => return Err(ParseError::BadChunk { detail: "bare LF in chunk-size line" }),
                _ => {}
            },
            Part::SizeLf => {
                if b != b'\n' {
                    return Err(ParseError::BadChunk { detail: "chunk-size line not ended by CRLF" });
                }
                if self.size == 0 {
                    self.part = Part::Trailer;
                } else {
                    if self.size > self.max_body.saturating_sub(self.total) {
                        return Err(ParseError::ContentTooLarge { limit: self.max_body });
                    }
                    self.total += self.size;
                    self.part = Part::Data;
                }
                self.digits = 0;
                self.line_len = 0;
            }
            Part::Data => {}
            Part::DataCr => {
                if b != b'\r' {
                    return Err(ParseError::BadChunk { detail: "chunk-data not followed by CRLF" });
                }
                self.part = Part::DataLf;
            }
            Part::DataLf => {
                if b != b'\n' {
                    return Err(ParseError::BadChunk { detail: "chunk-data not followed by CRLF" });
                }
                self.part = Part::Size;
            }
            // trailer-section = *( field-line CRLF )
            Part::Trailer => {
                self.trailer_len += 1;
                if self.trailer_len > self.max_trailer {
                    return Err(ParseError::HeaderSectionTooLarge { limit: self.max_trailer });
                }
                match b {
                    b'\r' if self.line.is_empty() => self.part = Part::EndLf,
                    b'\r' => self.part = Part::TrailerLf,
                    b'\n' => return Err(ParseError::BadChunk { detail: "bare LF in trailer section" }),
                    _ => self.line.push(b),
                }
            }
            Part::TrailerLf => {
                if b != b'\n' {
                    return Err(ParseError::BadChunk { detail: "trailer field line not ended by CRLF" });
                }
                let line = std::mem::take(&mut self.line);
                let field = split_field_line(&line).ok_or(ParseError::BadHeaderName)?;
                self.trailers.push(field);
                self.part = Part::Trailer;
            }
            Part::EndLf => {
                if b != b'\n' {
                    return Err(ParseError::BadChunk { detail: "chunked body not ended by CRLF" });
                }
                self.part = Part::Done;
            }
            Part::Done => {}
        }
        Ok(())
    }
}

/// `field-line = field-name ":" OWS field-value OWS` (RFC 9112 §5), for trailer lines:
/// the name must be a token with no whitespace before the colon.
fn split_field_line(line: &[u8]) -> Option<(String, Vec<u8>)> {
    let colon = line.iter().position(|&b| b == b':')?;
    let name = &line[..colon];
    if name.is_empty() || !name.iter().all(|&b| crate::wire::is_tchar(b)) {
        return None;
    }
    let value = line[colon + 1..].trim_ascii();
    Some((String::from_utf8_lossy(name).into_owned(), value.to_vec()))
}

/// Appends one chunk: its size in hex, CRLF, the data, CRLF (RFC 9112 §7.1).
/// An empty `data` would be the last chunk, so it appends nothing.
pub fn encode_chunk(data: &[u8], out: &mut Vec<u8>) {
    if data.is_empty() {
        return;
    }
    out.extend_from_slice(format!("{:x}\r\n", data.len()).as_bytes());
    out.extend_from_slice(data);
    out.extend_from_slice(b"\r\n");
}

/// Appends the last chunk and an empty trailer section: `0\r\n\r\n` (RFC 9112 §7.1).
pub fn encode_last_chunk(out: &mut Vec<u8>) {
    out.extend_from_slice(b"0\r\n\r\n");
}

/// A whole chunked body: each of `chunks` as one chunk, then the last chunk.
pub fn encode_chunked<T: AsRef<[u8]>>(chunks: &[T]) -> Vec<u8> {
    let mut out = Vec::new();
    for c in chunks {
        encode_chunk(c.as_ref(), &mut out);
    }
    encode_last_chunk(&mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_all(input: &[u8]) -> Result<(Vec<u8>, usize, bool), ParseError> {
        let mut d = ChunkedDecoder::new(1 << 20, 1024);
        let mut out = Vec::new();
        let n = d.decode(input, &mut out)?;
        Ok((out, n, d.is_done()))
    }

    #[test]
    fn decodes_with_extensions_and_trailers_and_stops_at_the_end() {
        let input = b"4;name=value\r\nWiki\r\n5\r\npedia\r\nE\r\n in\r\n\r\nchunks.\r\n0\r\nExpires: never\r\n\r\nNEXT";
        let mut d = ChunkedDecoder::new(1 << 20, 1024);
        let mut out = Vec::new();
        let n = d.decode(input, &mut out).expect("valid");
        assert_eq!(out, b"Wikipedia in\r\n\r\nchunks.");
        assert_eq!(&input[n..], b"NEXT");
        assert!(d.is_done());
        assert_eq!(d.trailers(), &[("Expires".to_string(), b"never".to_vec())]);
    }

    #[test]
    fn rejects_bad_sizes_and_framing() {
        assert_eq!(decode_all(b"-5\r\nhello\r\n"), Err(ParseError::BadChunkSize));
        assert_eq!(decode_all(b"\r\n"), Err(ParseError::BadChunkSize));
        assert_eq!(decode_all(b"1ffffffffffffffff\r\n"), Err(ParseError::ChunkSizeOverflow));
        assert_eq!(decode_all(b"ffffffffffffffff\r\n"), Err(ParseError::ContentTooLarge { limit: 1 << 20 }));
        assert!(matches!(decode_all(b"5\nhello\r\n"), Err(ParseError::BadChunk { .. })));
        assert!(matches!(decode_all(b"5\r\nhelloX\r\n"), Err(ParseError::BadChunk { .. })));
        assert_eq!(decode_all(b"5\r\nhel"), Ok((b"hel".to_vec(), 6, false)));
    }

    #[test]
    fn encodes_sizes_in_hex() {
        assert_eq!(encode_chunked(&[&b"0123456789abcdef"[..], b"x"]), b"10\r\n0123456789abcdef\r\n1\r\nx\r\n0\r\n\r\n");
        assert_eq!(encode_chunked::<&[u8]>(&[]), b"0\r\n\r\n");
    }
}
