//! HTTP/1.1 messages on the wire (RFC 9112): requests and responses, incremental
//! parsers that take stream bytes cut anywhere and yield complete messages, encoders,
//! and the field-by-field annotation the inspector shows.
//!
//! ```text
//! HTTP-message   = start-line CRLF *( field-line CRLF ) CRLF [ message-body ]   (RFC 9112 §2.1)
//! request-line   = method SP request-target SP HTTP-version                      (RFC 9112 §3)
//! status-line    = HTTP-version SP status-code SP [ reason-phrase ]             (RFC 9112 §4)
//! ```
//!
//! The start line and header section are parsed by `httparse`; the body framing
//! (RFC 9112 §6.3) and the chunked coding ([`crate::chunked`]) are ours.

use crate::chunked::{self, ChunkedDecoder};
use std::collections::VecDeque;
use std::fmt;
use wirelab_core::{Annotation, Field};

/// `HTTP-version = HTTP-name "/" DIGIT "." DIGIT` (RFC 9112 §2.3): the two versions
/// this syntax carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Version {
    Http10,
    Http11,
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Version::Http10 => "HTTP/1.0",
            Version::Http11 => "HTTP/1.1",
        })
    }
}

impl Version {
    fn from_minor(minor: u8) -> Version {
        if minor == 0 { Version::Http10 } else { Version::Http11 }
    }
}

/// Header fields as received: names keep their case (RFC 9110 §5.1: field names are
/// case-insensitive, so lookups ignore it), values are bytes (RFC 9110 §5.5 allows
/// obs-text).
pub type Headers = Vec<(String, Vec<u8>)>;

/// An HTTP request (RFC 9112 §3), body already decoded from its transfer coding.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    pub method: String,
    pub target: String,
    pub version: Version,
    pub headers: Headers,
    pub body: Vec<u8>,
}

/// An HTTP response (RFC 9112 §4), body already decoded from its transfer coding.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    pub reason: String,
    pub version: Version,
    pub headers: Headers,
    pub body: Vec<u8>,
}

/// The first field line named `name` (case-insensitive, RFC 9110 §5.1).
pub fn header<'h>(headers: &'h [(String, Vec<u8>)], name: &str) -> Option<&'h [u8]> {
    headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_slice())
}

/// The members of every `name` field line, as one comma-separated list (RFC 9110 §5.3,
/// §5.6.1), trimmed and lowercased, empty members dropped.
pub fn list_members(headers: &[(String, Vec<u8>)], name: &str) -> Vec<String> {
    headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case(name))
        .flat_map(|(_, v)| v.split(|&b| b == b','))
        .map(|m| String::from_utf8_lossy(m.trim_ascii()).to_ascii_lowercase())
        .filter(|m| !m.is_empty())
        .collect()
}

/// Whether the Connection header field carries `option` (RFC 9110 §7.6.1), e.g.
/// `close` or `keep-alive`.
pub fn has_connection_option(headers: &[(String, Vec<u8>)], option: &str) -> bool {
    list_members(headers, "connection").iter().any(|o| o == option)
}

/// `tchar` (RFC 9110 §5.6.2): the characters of a token such as a method or field name.
pub fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

fn emit_fields(headers: &[(String, Vec<u8>)], out: &mut Vec<u8>) {
    for (name, value) in headers {
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n");
}

/// Whether chunked is the final transfer coding, read as the framing reads it (parameters
/// dropped, [`transfer_codings`]): the writer and the reader must agree on it.
fn is_chunked(headers: &[(String, Vec<u8>)]) -> bool {
    transfer_codings(headers).last().is_some_and(|c| c == "chunked")
}

impl Request {
    /// A request with no header fields and no body.
    pub fn new(method: impl Into<String>, target: impl Into<String>) -> Self {
        Request {
            method: method.into(),
            target: target.into(),
            version: Version::Http11,
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    /// The same request with one more field line.
    pub fn with_header(mut self, name: impl Into<String>, value: impl Into<Vec<u8>>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// The same request with `body` as its content and a Content-Length announcing it
    /// (RFC 9110 §8.6).
    pub fn with_body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = body.into();
        self.headers.push(("Content-Length".into(), self.body.len().to_string().into_bytes()));
        self
    }

    /// The first field line named `name`, as text.
    pub fn header(&self, name: &str) -> Option<String> {
        header(&self.headers, name).map(|v| String::from_utf8_lossy(v).into_owned())
    }

    /// `GET /hello.txt HTTP/1.1`.
    pub fn summary(&self) -> String {
        format!("{} {} {}", self.method, self.target, self.version)
    }

    /// Appends the request line and header section.
    pub fn emit_head(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(format!("{} {} {}\r\n", self.method, self.target, self.version).as_bytes());
        emit_fields(&self.headers, out);
    }

    /// Appends the whole message. If the header says `Transfer-Encoding: chunked`, the
    /// body goes as one chunk and the last chunk; otherwise as is, so the caller must
    /// have set a matching Content-Length (as [`Request::with_body`] does).
    pub fn emit(&self, out: &mut Vec<u8>) {
        self.emit_head(out);
        emit_body(&self.headers, &self.body, out);
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.emit(&mut out);
        out
    }
}

fn emit_body(headers: &[(String, Vec<u8>)], body: &[u8], out: &mut Vec<u8>) {
    if is_chunked(headers) {
        chunked::encode_chunk(body, out);
        chunked::encode_last_chunk(out);
    } else {
        out.extend_from_slice(body);
    }
}

impl Response {
    /// A response with the RFC's reason phrase for `status`, no fields, no body.
    pub fn new(status: u16) -> Self {
        Response {
            status,
            reason: reason_phrase(status).to_string(),
            version: Version::Http11,
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    pub fn with_header(mut self, name: impl Into<String>, value: impl Into<Vec<u8>>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// The same response with `body` as its content and a Content-Length announcing it.
    pub fn with_body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = body.into();
        self.headers.push(("Content-Length".into(), self.body.len().to_string().into_bytes()));
        self
    }

    pub fn header(&self, name: &str) -> Option<String> {
        header(&self.headers, name).map(|v| String::from_utf8_lossy(v).into_owned())
    }

    /// `200 OK (13 bytes)`.
    pub fn summary(&self) -> String {
        format!("{} {} ({} bytes)", self.status, self.reason, self.body.len())
    }

    /// Appends the status line and header section.
    pub fn emit_head(&self, out: &mut Vec<u8>) {
        // status-line = HTTP-version SP status-code SP [ reason-phrase ]: the second SP
        // stays even when the reason phrase is empty (RFC 9112 §4).
        out.extend_from_slice(format!("{} {:03} {}\r\n", self.version, self.status, self.reason).as_bytes());
        emit_fields(&self.headers, out);
    }

    /// Appends the whole message, like [`Request::emit`]. A 1xx, 204 or 304 response ends
    /// with its header section whatever its fields say (RFC 9112 §6.3 rule 1): no body,
    /// not even a chunked one's last chunk, which the reader would take for the next
    /// response.
    pub fn emit(&self, out: &mut Vec<u8>) {
        self.emit_head(out);
        if !has_no_content(self.status) {
            emit_body(&self.headers, &self.body, out);
        }
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.emit(&mut out);
        out
    }
}

/// The reason phrases of RFC 9110 §15 (and RFC 6585 for 429 and 431); empty for
/// codes without one, which the status-line allows (RFC 9112 §4).
pub fn reason_phrase(status: u16) -> &'static str {
    match status {
        100 => "Continue",
        101 => "Switching Protocols",
        200 => "OK",
        201 => "Created",
        202 => "Accepted",
        203 => "Non-Authoritative Information",
        204 => "No Content",
        205 => "Reset Content",
        206 => "Partial Content",
        300 => "Multiple Choices",
        301 => "Moved Permanently",
        302 => "Found",
        303 => "See Other",
        304 => "Not Modified",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        406 => "Not Acceptable",
        408 => "Request Timeout",
        409 => "Conflict",
        410 => "Gone",
        411 => "Length Required",
        412 => "Precondition Failed",
        413 => "Content Too Large",
        414 => "URI Too Long",
        415 => "Unsupported Media Type",
        416 => "Range Not Satisfiable",
        417 => "Expectation Failed",
        421 => "Misdirected Request",
        422 => "Unprocessable Content",
        426 => "Upgrade Required",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        505 => "HTTP Version Not Supported",
        _ => "",
    }
}

/// How much a parser accepts before refusing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Longest request-line (→ 414). RFC 9112 §3: "It is RECOMMENDED that all HTTP
    /// senders and recipients support, at a minimum, request-line lengths of 8000 octets."
    pub max_request_line: usize,
    /// Longest start line plus header section, and longest trailer section (→ 431,
    /// RFC 6585 §5).
    pub max_header_section: usize,
    /// Most field lines (→ 431).
    pub max_headers: usize,
    /// Largest content (→ 413, RFC 9110 §15.5.14).
    pub max_body: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { max_request_line: 8000, max_header_section: 16 * 1024, max_headers: 100, max_body: 1024 * 1024 }
    }
}

/// A message that cannot be read, one variant per rule it breaks. Each maps to the
/// status code a server answers it with ([`ParseError::status`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ParseError {
    /// The request-line is not `method SP request-target SP HTTP-version` (RFC 9112 §3).
    BadRequestLine,
    /// The status-line is not `HTTP-version SP status-code SP [ reason-phrase ]` (RFC 9112 §4).
    BadStatusLine,
    /// A field name is not a token. Includes whitespace before the colon: RFC 9112 §5.1
    /// "A server MUST reject, with a response status code of 400 (Bad Request), any
    /// received request message that contains whitespace between a header field name
    /// and colon."
    BadHeaderName,
    /// A field value holds a control character (RFC 9110 §5.5).
    BadHeaderValue,
    /// A line is not ended by CRLF (or a lone LF, RFC 9112 §2.2).
    BadLineEnding,
    /// The version is not `HTTP/DIGIT.DIGIT` (RFC 9112 §2.3).
    BadVersion,
    /// A well-formed version of another major version, like `HTTP/2.0` (RFC 9110 §15.6.6).
    VersionNotSupported { version: String },
    /// The request-line is longer than we read (RFC 9112 §3, RFC 9110 §15.5.15).
    UriTooLong { limit: usize },
    /// The header section is longer than we read (RFC 6585 §5).
    HeaderSectionTooLarge { limit: usize },
    /// More field lines than we read (RFC 6585 §5).
    TooManyHeaders { limit: usize },
    /// Content-Length is not `1*DIGIT` or does not fit (RFC 9112 §6.3 rule 5).
    InvalidContentLength,
    /// Several Content-Length values that differ (RFC 9112 §6.3 rule 5).
    ConflictingContentLength,
    /// A request with both Transfer-Encoding and Content-Length. RFC 9112 §6.1: "A
    /// server MAY reject a request that contains both Content-Length and
    /// Transfer-Encoding [...] Regardless, the server MUST close the connection after
    /// responding to such a request to avoid the potential attacks."
    ContentLengthWithTransferEncoding,
    /// RFC 9112 §6.1: "A server or client that receives an HTTP/1.0 message containing a
    /// Transfer-Encoding header field MUST treat the message as if the framing is faulty".
    TransferEncodingInHttp10,
    /// RFC 9112 §6.3 rule 4: "If a Transfer-Encoding header field is present in a request
    /// and the chunked transfer coding is not the final encoding, [...] the server MUST
    /// respond with the 400 (Bad Request) status code and then close the connection."
    ChunkedNotFinal,
    /// A transfer coding wirelab does not implement. RFC 9112 §6.1: "A server that
    /// receives a request message with a transfer coding it does not understand SHOULD
    /// respond with 501 (Not Implemented)."
    UnsupportedTransferCoding { coding: String },
    /// The content is larger than we accept (RFC 9110 §15.5.14).
    ContentTooLarge { limit: u64 },
    /// A chunk-size is not `1*HEXDIG` (RFC 9112 §7.1).
    BadChunkSize,
    /// A chunk-size does not fit in 64 bits (RFC 9112 §7.1: "Recipients MUST anticipate
    /// potentially large hexadecimal numerals and prevent parsing errors due to integer
    /// conversion overflows").
    ChunkSizeOverflow,
    /// The chunked framing around the sizes is broken (RFC 9112 §7.1).
    BadChunk { detail: &'static str },
    /// RFC 9112 §3.2: "A server MUST respond with a 400 (Bad Request) status code to any
    /// HTTP/1.1 request message that lacks a Host header field and to any request message
    /// that contains more than one Host header field line or a Host header field with an
    /// invalid field value."
    BadHost { detail: &'static str },
    /// The stream ended inside a message (RFC 9112 §8).
    Incomplete,
}

impl ParseError {
    /// The status code a server answers this error with.
    pub fn status(&self) -> u16 {
        match self {
            ParseError::UriTooLong { .. } => 414,
            ParseError::HeaderSectionTooLarge { .. } | ParseError::TooManyHeaders { .. } => 431,
            ParseError::ContentTooLarge { .. } => 413,
            ParseError::UnsupportedTransferCoding { .. } => 501,
            ParseError::VersionNotSupported { .. } => 505,
            _ => 400,
        }
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParseError::BadRequestLine => f.write_str("malformed request-line"),
            ParseError::BadStatusLine => f.write_str("malformed status-line"),
            ParseError::BadHeaderName => f.write_str("invalid field name (whitespace before the colon?)"),
            ParseError::BadHeaderValue => f.write_str("invalid character in a field value"),
            ParseError::BadLineEnding => f.write_str("a line not ended by CRLF"),
            ParseError::BadVersion => f.write_str("malformed HTTP-version"),
            ParseError::VersionNotSupported { version } => write!(f, "{version} is not supported over HTTP/1.1 syntax"),
            ParseError::UriTooLong { limit } => write!(f, "request-line longer than {limit} bytes"),
            ParseError::HeaderSectionTooLarge { limit } => write!(f, "header section longer than {limit} bytes"),
            ParseError::TooManyHeaders { limit } => write!(f, "more than {limit} field lines"),
            ParseError::InvalidContentLength => f.write_str("invalid Content-Length"),
            ParseError::ConflictingContentLength => f.write_str("differing Content-Length values"),
            ParseError::ContentLengthWithTransferEncoding => {
                f.write_str("both Content-Length and Transfer-Encoding (a request smuggling pattern)")
            }
            ParseError::TransferEncodingInHttp10 => f.write_str("Transfer-Encoding in an HTTP/1.0 message"),
            ParseError::ChunkedNotFinal => f.write_str("Transfer-Encoding without chunked as the final coding"),
            ParseError::UnsupportedTransferCoding { coding } => write!(f, "transfer coding {coding:?} not implemented"),
            ParseError::ContentTooLarge { limit } => write!(f, "content larger than {limit} bytes"),
            ParseError::BadChunkSize => f.write_str("chunk-size is not a hex number"),
            ParseError::ChunkSizeOverflow => f.write_str("chunk-size too large to represent"),
            ParseError::BadChunk { detail } => write!(f, "malformed chunked body: {detail}"),
            ParseError::BadHost { detail } => write!(f, "bad Host: {detail}"),
            ParseError::Incomplete => f.write_str("the stream ended inside a message"),
        }
    }
}

impl std::error::Error for ParseError {}

fn from_httparse(e: httparse::Error, request: bool, limits: &Limits) -> ParseError {
    match e {
        httparse::Error::HeaderName => ParseError::BadHeaderName,
        httparse::Error::HeaderValue => ParseError::BadHeaderValue,
        httparse::Error::NewLine => ParseError::BadLineEnding,
        httparse::Error::TooManyHeaders => ParseError::TooManyHeaders { limit: limits.max_headers },
        httparse::Error::Version => ParseError::BadVersion,
        httparse::Error::Status | httparse::Error::Token if request => ParseError::BadRequestLine,
        httparse::Error::Status | httparse::Error::Token => ParseError::BadStatusLine,
    }
}

/// The version token at the end of a request-line (or start of a status-line), when
/// httparse refused it: `HTTP/1.2` reads as 1.1 (RFC 9110 §2.5: a recipient "SHOULD
/// process the message as if it were in the highest minor version within that major
/// version to which the recipient is conformant"), another well-formed major version
/// is 505, anything else 400.
fn classify_version(token: &[u8]) -> Result<(), ParseError> {
    match token {
        [b'H', b'T', b'T', b'P', b'/', major, b'.', minor] if major.is_ascii_digit() && minor.is_ascii_digit() => {
            if *major == b'1' {
                Ok(())
            } else {
                Err(ParseError::VersionNotSupported { version: String::from_utf8_lossy(token).into_owned() })
            }
        }
        _ => Err(ParseError::BadVersion),
    }
}

/// Parses a request head from the start of `buf`: `Ok(None)` until it is complete.
fn parse_request_head(buf: &[u8], limits: &Limits) -> Result<Option<(Request, usize)>, ParseError> {
    let line_end = buf.iter().position(|&b| b == b'\n');
    let line_len = line_end.unwrap_or(buf.len());
    if line_len > limits.max_request_line {
        return Err(ParseError::UriTooLong { limit: limits.max_request_line });
    }
    let mut headers = vec![httparse::EMPTY_HEADER; limits.max_headers];
    let mut req = httparse::Request::new(&mut headers);
    let mut patched;
    let mut input = buf;
    let status = match req.parse(input) {
        Err(httparse::Error::Version) => {
            let Some(end) = line_end else { return Ok(None) };
            let line = buf[..end].strip_suffix(b"\r").unwrap_or(&buf[..end]);
            let token = line.rsplit(|&b| b == b' ').next().unwrap_or_default();
            classify_version(token)?;
            // HTTP/1.x, x ≥ 2: read it as HTTP/1.1.
            patched = buf.to_vec();
            let minor = line.len() - 1;
            patched[minor] = b'1';
            input = &patched;
            req = httparse::Request::new(&mut headers);
            req.parse(input)
        }
        other => other,
    };
    let n = match status.map_err(|e| from_httparse(e, true, limits))? {
        httparse::Status::Partial if buf.len() > limits.max_header_section => {
            return Err(ParseError::HeaderSectionTooLarge { limit: limits.max_header_section });
        }
        httparse::Status::Partial => return Ok(None),
        httparse::Status::Complete(n) => n,
    };
    if n > limits.max_header_section {
        return Err(ParseError::HeaderSectionTooLarge { limit: limits.max_header_section });
    }
    let request = Request {
        method: req.method.unwrap_or_default().to_string(),
        target: req.path.unwrap_or_default().to_string(),
        version: Version::from_minor(req.version.unwrap_or(1)),
        headers: req.headers.iter().map(|h| (h.name.to_string(), h.value.to_vec())).collect(),
        body: Vec::new(),
    };
    check_host(&request)?;
    Ok(Some((request, n)))
}

/// RFC 9112 §3.2: exactly one Host in HTTP/1.1, and a valid `uri-host [ ":" port ]`.
fn check_host(req: &Request) -> Result<(), ParseError> {
    let hosts: Vec<&[u8]> =
        req.headers.iter().filter(|(n, _)| n.eq_ignore_ascii_case("host")).map(|(_, v)| v.as_slice()).collect();
    match hosts.as_slice() {
        [] if req.version == Version::Http11 => Err(ParseError::BadHost { detail: "missing in an HTTP/1.1 request" }),
        [] => Ok(()),
        [host] => {
            let ok = host.iter().all(|&b| b.is_ascii_graphic() && !b"/?#@\\\"<>{}|^`".contains(&b));
            if ok { Ok(()) } else { Err(ParseError::BadHost { detail: "not a uri-host [ \":\" port ]" }) }
        }
        _ => Err(ParseError::BadHost { detail: "more than one Host field line" }),
    }
}

fn parse_response_head(buf: &[u8], limits: &Limits) -> Result<Option<(Response, usize)>, ParseError> {
    let mut headers = vec![httparse::EMPTY_HEADER; limits.max_headers];
    let mut resp = httparse::Response::new(&mut headers);
    let n = match resp.parse(buf) {
        Err(httparse::Error::Version) => {
            let Some(end) = buf.iter().position(|&b| b == b' ' || b == b'\n') else { return Ok(None) };
            classify_version(&buf[..end])?;
            // HTTP/1.x with x ≥ 2 has no use in a response; refuse it.
            return Err(ParseError::BadVersion);
        }
        Err(e) => return Err(from_httparse(e, false, limits)),
        Ok(httparse::Status::Partial) if buf.len() > limits.max_header_section => {
            return Err(ParseError::HeaderSectionTooLarge { limit: limits.max_header_section });
        }
        Ok(httparse::Status::Partial) => return Ok(None),
        Ok(httparse::Status::Complete(n)) => n,
    };
    if n > limits.max_header_section {
        return Err(ParseError::HeaderSectionTooLarge { limit: limits.max_header_section });
    }
    let response = Response {
        status: resp.code.unwrap_or_default(),
        reason: resp.reason.unwrap_or_default().to_string(),
        version: Version::from_minor(resp.version.unwrap_or(1)),
        headers: resp.headers.iter().map(|h| (h.name.to_string(), h.value.to_vec())).collect(),
        body: Vec::new(),
    };
    Ok(Some((response, n)))
}

/// How a message's body is delimited (RFC 9112 §6.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Framing {
    /// No body at all.
    None,
    /// Exactly this many bytes (Content-Length).
    Length(u64),
    /// The chunked transfer coding.
    Chunked,
    /// Everything until the connection closes (responses only).
    UntilClose,
}

/// RFC 9112 §6.3 rule 5: one valid Content-Length, possibly repeated with the same
/// value (`Content-Length: 42, 42`), or an unrecoverable error.
fn content_length(headers: &[(String, Vec<u8>)]) -> Result<Option<u64>, ParseError> {
    let mut found: Option<u64> = None;
    for (_, value) in headers.iter().filter(|(n, _)| n.eq_ignore_ascii_case("content-length")) {
        for member in value.split(|&b| b == b',') {
            let digits = member.trim_ascii();
            // Content-Length = 1*DIGIT (RFC 9110 §8.6): no sign, no spaces inside.
            if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
                return Err(ParseError::InvalidContentLength);
            }
            let n = std::str::from_utf8(digits)
                .ok()
                .and_then(|s| s.parse::<u64>().ok())
                .ok_or(ParseError::InvalidContentLength)?;
            match found {
                Some(m) if m != n => return Err(ParseError::ConflictingContentLength),
                _ => found = Some(n),
            }
        }
    }
    Ok(found)
}

/// The transfer codings wirelab knows by name (RFC 9110 §8.4.1, RFC 9112 §7); it
/// implements only `chunked`.
const KNOWN_CODINGS: [&str; 6] = ["chunked", "gzip", "deflate", "compress", "x-gzip", "x-compress"];

fn transfer_codings(headers: &[(String, Vec<u8>)]) -> Vec<String> {
    // transfer-coding = token *( OWS ";" OWS transfer-parameter ): parameters dropped.
    list_members(headers, "transfer-encoding")
        .into_iter()
        .map(|c| c.split(';').next().unwrap_or_default().trim().to_string())
        .collect()
}

/// RFC 9112 §6.3 for a request: Transfer-Encoding (chunked final), else Content-Length,
/// else no body (rule 6).
pub fn request_framing(req: &Request, limits: &Limits) -> Result<Framing, ParseError> {
    let codings = transfer_codings(&req.headers);
    let has_te = req.headers.iter().any(|(n, _)| n.eq_ignore_ascii_case("transfer-encoding"));
    if has_te {
        if req.version == Version::Http10 {
            return Err(ParseError::TransferEncodingInHttp10);
        }
        if req.headers.iter().any(|(n, _)| n.eq_ignore_ascii_case("content-length")) {
            return Err(ParseError::ContentLengthWithTransferEncoding);
        }
        if let Some(unknown) = codings.iter().find(|c| !KNOWN_CODINGS.contains(&c.as_str())) {
            return Err(ParseError::UnsupportedTransferCoding { coding: unknown.clone() });
        }
        if codings.last().map(String::as_str) != Some("chunked") {
            return Err(ParseError::ChunkedNotFinal);
        }
        if let Some(other) = codings.iter().find(|c| *c != "chunked") {
            return Err(ParseError::UnsupportedTransferCoding { coding: other.clone() });
        }
        return Ok(Framing::Chunked);
    }
    match content_length(&req.headers)? {
        Some(n) if n > limits.max_body => Err(ParseError::ContentTooLarge { limit: limits.max_body }),
        Some(0) | None => Ok(Framing::None),
        Some(n) => Ok(Framing::Length(n)),
    }
}

/// Whether a response with `status` never has content: 1xx (Informational), 204 (No
/// Content) and 304 (Not Modified), RFC 9112 §6.3 rule 1.
pub fn has_no_content(status: u16) -> bool {
    (100..200).contains(&status) || status == 204 || status == 304
}

/// RFC 9112 §6.3 for a response to a request with `method`.
pub fn response_framing(resp: &Response, method: &str, limits: &Limits) -> Result<Framing, ParseError> {
    // Rule 1: "Any response to a HEAD request and any response with a 1xx
    // (Informational), 204 (No Content), or 304 (Not Modified) status code is always
    // terminated by the first empty line after the header fields".
    if method == "HEAD" || has_no_content(resp.status) {
        return Ok(Framing::None);
    }
    // Rule 2: a 2xx response to CONNECT switches to a tunnel.
    if method == "CONNECT" && (200..300).contains(&resp.status) {
        return Ok(Framing::None);
    }
    let has_te = resp.headers.iter().any(|(n, _)| n.eq_ignore_ascii_case("transfer-encoding"));
    if has_te {
        if resp.version == Version::Http10 {
            return Err(ParseError::TransferEncodingInHttp10);
        }
        // Rule 3: Transfer-Encoding overrides Content-Length. Rule 4: chunked not final
        // in a response → read until close.
        let codings = transfer_codings(&resp.headers);
        if codings.last().map(String::as_str) != Some("chunked") {
            return Ok(Framing::UntilClose);
        }
        if let Some(other) = codings.iter().find(|c| *c != "chunked") {
            return Err(ParseError::UnsupportedTransferCoding { coding: other.clone() });
        }
        return Ok(Framing::Chunked);
    }
    match content_length(&resp.headers)? {
        Some(n) if n > limits.max_body => Err(ParseError::ContentTooLarge { limit: limits.max_body }),
        Some(0) => Ok(Framing::None),
        Some(n) => Ok(Framing::Length(n)),
        // Rule 8: "the message body length is determined by the number of octets
        // received prior to the server closing the connection".
        None => Ok(Framing::UntilClose),
    }
}

/// Reading a body.
#[derive(Clone, Debug)]
enum BodyReader {
    Length { remaining: u64 },
    Chunked(ChunkedDecoder),
    UntilClose,
}

impl BodyReader {
    fn new(framing: Framing, limits: &Limits) -> Option<BodyReader> {
        match framing {
            Framing::None => None,
            Framing::Length(n) => Some(BodyReader::Length { remaining: n }),
            Framing::Chunked => {
                Some(BodyReader::Chunked(ChunkedDecoder::new(limits.max_body, limits.max_header_section)))
            }
            Framing::UntilClose => Some(BodyReader::UntilClose),
        }
    }

    /// Moves body bytes from the front of `buf` into `body`; true when the body is complete.
    fn read(&mut self, buf: &mut Vec<u8>, body: &mut Vec<u8>, limits: &Limits) -> Result<bool, ParseError> {
        match self {
            BodyReader::Length { remaining } => {
                let take = usize::try_from(*remaining).unwrap_or(usize::MAX).min(buf.len());
                body.extend(buf.drain(..take));
                *remaining -= take as u64;
                Ok(*remaining == 0)
            }
            BodyReader::Chunked(decoder) => {
                let n = decoder.decode(buf, body)?;
                buf.drain(..n);
                Ok(decoder.is_done())
            }
            BodyReader::UntilClose => {
                body.append(buf);
                if body.len() as u64 > limits.max_body {
                    return Err(ParseError::ContentTooLarge { limit: limits.max_body });
                }
                Ok(false)
            }
        }
    }
}

/// Where a parser is in the current message.
#[derive(Clone, Debug)]
enum Progress<T> {
    Head,
    Body { message: T, reader: BodyReader },
}

/// What a parser is doing, for the machines' states.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ParserPhase {
    /// Between messages, nothing buffered.
    Idle,
    /// Some bytes of a start line or header section.
    Head,
    /// The head is complete, the body is arriving.
    Body,
}

/// Reads requests from a stream. Errors stick: once a request is malformed the framing
/// of everything after it is unknown, so every later call returns the same error.
#[derive(Clone, Debug)]
pub struct RequestParser {
    limits: Limits,
    buf: Vec<u8>,
    /// How much of `buf` the last incomplete head parse saw.
    checked: usize,
    progress: Progress<Request>,
    failed: Option<ParseError>,
}

impl RequestParser {
    pub fn new(limits: Limits) -> Self {
        RequestParser { limits, buf: Vec::new(), checked: 0, progress: Progress::Head, failed: None }
    }

    /// Appends the next bytes of the stream.
    pub fn push(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// The next complete request, `Ok(None)` if more bytes are needed.
    pub fn next_request(&mut self) -> Result<Option<Request>, ParseError> {
        if let Some(e) = &self.failed {
            return Err(e.clone());
        }
        let r = self.advance();
        if let Err(e) = &r {
            self.failed = Some(e.clone());
        }
        r
    }

    fn advance(&mut self) -> Result<Option<Request>, ParseError> {
        loop {
            match &mut self.progress {
                Progress::Head => {
                    // RFC 9112 §2.2: "a server that is expecting to receive and parse a
                    // request-line SHOULD ignore at least one empty line (CRLF) received
                    // prior to the request-line."
                    let blank = self.buf.iter().take_while(|&&b| b == b'\r' || b == b'\n').count();
                    let blank = if self.buf.get(blank.saturating_sub(1)) == Some(&b'\r') { blank - 1 } else { blank };
                    self.buf.drain(..blank);
                    // Re-parse only when a line has ended since the last try (or the
                    // request-line limit is near), so a head arriving a byte at a time
                    // is not parsed once per byte.
                    let fresh = &self.buf[self.checked.min(self.buf.len())..];
                    if self.checked > 0 && !fresh.contains(&b'\n') && self.buf.len() <= self.limits.max_request_line {
                        self.checked = self.buf.len();
                        return Ok(None);
                    }
                    let Some((request, n)) = parse_request_head(&self.buf, &self.limits)? else {
                        self.checked = self.buf.len();
                        return Ok(None);
                    };
                    self.checked = 0;
                    self.buf.drain(..n);
                    match BodyReader::new(request_framing(&request, &self.limits)?, &self.limits) {
                        None => return Ok(Some(request)),
                        Some(reader) => self.progress = Progress::Body { message: request, reader },
                    }
                }
                Progress::Body { message, reader } => {
                    if !reader.read(&mut self.buf, &mut message.body, &self.limits)? {
                        return Ok(None);
                    }
                    let Progress::Body { message, .. } = std::mem::replace(&mut self.progress, Progress::Head) else {
                        return Ok(None);
                    };
                    return Ok(Some(message));
                }
            }
        }
    }

    /// The head of the request whose body is still arriving, if any.
    pub fn pending_head(&self) -> Option<&Request> {
        match &self.progress {
            Progress::Body { message, .. } => Some(message),
            Progress::Head => None,
        }
    }

    pub fn phase(&self) -> ParserPhase {
        match &self.progress {
            Progress::Body { .. } => ParserPhase::Body,
            Progress::Head if self.buf.iter().all(|&b| b == b'\r' || b == b'\n') => ParserPhase::Idle,
            Progress::Head => ParserPhase::Head,
        }
    }
}

/// Reads responses from a stream. Whether a response has a body depends on the request
/// (RFC 9112 §6.3 rule 1: none after HEAD), so tell the parser each request's method
/// with [`ResponseParser::expect`], in the order they were sent.
#[derive(Clone, Debug)]
pub struct ResponseParser {
    limits: Limits,
    buf: Vec<u8>,
    progress: Progress<Response>,
    methods: VecDeque<String>,
    failed: Option<ParseError>,
}

impl ResponseParser {
    pub fn new(limits: Limits) -> Self {
        ResponseParser { limits, buf: Vec::new(), progress: Progress::Head, methods: VecDeque::new(), failed: None }
    }

    /// A request with `method` was sent: its response comes after those already expected.
    pub fn expect(&mut self, method: &str) {
        self.methods.push_back(method.to_string());
    }

    /// Appends the next bytes of the stream.
    pub fn push(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// The next complete response (interim 1xx ones included), `Ok(None)` if more bytes
    /// are needed. A response nobody expected is read as if to a GET.
    pub fn next_response(&mut self) -> Result<Option<Response>, ParseError> {
        if let Some(e) = &self.failed {
            return Err(e.clone());
        }
        let r = self.advance();
        if let Err(e) = &r {
            self.failed = Some(e.clone());
        }
        r
    }

    fn advance(&mut self) -> Result<Option<Response>, ParseError> {
        loop {
            match &mut self.progress {
                Progress::Head => {
                    let Some((response, n)) = parse_response_head(&self.buf, &self.limits)? else { return Ok(None) };
                    self.buf.drain(..n);
                    // A 1xx is interim: the final response to the same request follows
                    // (RFC 9110 §15.2), except after 101, which ends HTTP on this connection.
                    let method = if (100..200).contains(&response.status) && response.status != 101 {
                        self.methods.front().cloned().unwrap_or_default()
                    } else {
                        self.methods.pop_front().unwrap_or_default()
                    };
                    match BodyReader::new(response_framing(&response, &method, &self.limits)?, &self.limits) {
                        None => return Ok(Some(response)),
                        Some(reader) => self.progress = Progress::Body { message: response, reader },
                    }
                }
                Progress::Body { message, reader } => {
                    if !reader.read(&mut self.buf, &mut message.body, &self.limits)? {
                        return Ok(None);
                    }
                    let Progress::Body { message, .. } = std::mem::replace(&mut self.progress, Progress::Head) else {
                        return Ok(None);
                    };
                    return Ok(Some(message));
                }
            }
        }
    }

    /// The stream ended. Completes a response read until close (RFC 9112 §6.3 rule 8);
    /// a message cut short anywhere else is [`ParseError::Incomplete`] (RFC 9112 §8).
    pub fn finish(&mut self) -> Result<Option<Response>, ParseError> {
        if let Some(e) = &self.failed {
            return Err(e.clone());
        }
        let progress = std::mem::replace(&mut self.progress, Progress::Head);
        match progress {
            Progress::Body { message, reader: BodyReader::UntilClose } => Ok(Some(message)),
            Progress::Head if self.buf.is_empty() => Ok(None),
            _ => {
                self.failed = Some(ParseError::Incomplete);
                Err(ParseError::Incomplete)
            }
        }
    }

    pub fn phase(&self) -> ParserPhase {
        match &self.progress {
            Progress::Body { .. } => ParserPhase::Body,
            Progress::Head if self.buf.is_empty() => ParserPhase::Idle,
            Progress::Head => ParserPhase::Head,
        }
    }

    /// Responses still expected.
    pub fn expected(&self) -> usize {
        self.methods.len()
    }
}

/// Why a machine refused an input. A normal close is an event, not an error.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HttpError {
    /// The peer's bytes are not HTTP/1.1; the connection is closed.
    Parse(ParseError),
    /// The connection is closed: nothing more can be sent or received on it.
    Closed,
}

impl fmt::Display for HttpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HttpError::Parse(e) => write!(f, "malformed message: {e}"),
            HttpError::Closed => f.write_str("the connection is closed"),
        }
    }
}

impl std::error::Error for HttpError {}

/// What a well-known field means, for the inspector.
fn field_meaning(name: &str) -> &'static str {
    match name.to_ascii_lowercase().as_str() {
        "host" => "the target's host and port: which site on this server (RFC 9110 §7.2)",
        "content-length" => "the content's size in bytes, which frames the body (RFC 9110 §8.6, RFC 9112 §6.3)",
        "transfer-encoding" => "codings applied to the body in transit; chunked frames it (RFC 9112 §6.1)",
        "connection" => "options for this connection only: close ends it after this message (RFC 9110 §7.6.1)",
        "content-type" => "the media type of the content (RFC 9110 §8.3)",
        "upgrade" => "asks to switch to another protocol on this connection (RFC 9110 §7.8)",
        "user-agent" => "the client software (RFC 9110 §10.1.5)",
        "server" => "the server software (RFC 9110 §10.2.4)",
        "accept" => "media types the client prefers (RFC 9110 §12.5.1)",
        "allow" => "the methods the target resource supports (RFC 9110 §10.2.1)",
        "date" => "when the message was generated (RFC 9110 §6.6.1)",
        "expect" => "100-continue: wait for 100 before sending the content (RFC 9110 §10.1.1)",
        "location" => "where to go instead (RFC 9110 §10.2.2)",
        "keep-alive" => "HTTP/1.0 persistent connection parameters (RFC 2068 §19.7.1)",
        _ => "a header field",
    }
}

fn line_ranges(bytes: &[u8]) -> impl Iterator<Item = (usize, usize, usize)> + '_ {
    // (start, end of content, end including the line terminator)
    let mut start = 0;
    std::iter::from_fn(move || {
        if start >= bytes.len() {
            return None;
        }
        let s = start;
        let (content_end, end) = match bytes[s..].iter().position(|&b| b == b'\n') {
            Some(i) => {
                let e = s + i;
                let c = if e > s && bytes[e - 1] == b'\r' { e - 1 } else { e };
                (c, e + 1)
            }
            None => (bytes.len(), bytes.len()),
        };
        start = end;
        Some((s, content_end, end))
    })
}

fn preview(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let short: String = text.chars().take(60).collect();
    if short.len() < text.len() { format!("{short:?}…") } else { format!("{short:?}") }
}

/// A request as a person types it (in a text box, with `\n` line ends) as the bytes to
/// send: `\n` line ends become CRLF (RFC 9112 §2.2: a message's lines end in CRLF), except in
/// a body after the empty line, which is sent as typed.
pub fn typed_to_wire(typed: &str) -> Vec<u8> {
    let typed = typed.replace("\r\n", "\n");
    let crlf = |text: &[u8], out: &mut Vec<u8>| {
        for &b in text {
            if b == b'\n' {
                out.push(b'\r');
            }
            out.push(b);
        }
    };
    let mut out = Vec::with_capacity(typed.len() + 16);
    let mut rest = typed.as_bytes();
    // Each message: the head, up to its empty line, gets CRLF; then Content-Length bytes
    // of body as they are.
    while !rest.is_empty() {
        let Some(end) = rest.windows(2).position(|w| w == b"\n\n") else {
            crlf(rest, &mut out);
            break;
        };
        let head = &rest[..end + 2];
        crlf(head, &mut out);
        let length = String::from_utf8_lossy(head)
            .lines()
            .filter_map(|l| l.split_once(':').map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string())))
            .find(|(n, _)| n == "content-length")
            .and_then(|(_, v)| v.parse::<usize>().ok())
            .unwrap_or(0);
        let after = &rest[end + 2..];
        let take = length.min(after.len());
        out.extend_from_slice(&after[..take]);
        rest = &after[take..];
    }
    out
}

/// Names every part of an HTTP/1.1 message (or of a piece of a chunked body, when a
/// transmit carries only chunks): start line, each field line, the empty line, and the
/// content or its chunks.
pub fn annotate(bytes: &[u8]) -> Annotation {
    let mut a = Annotation { protocol: "HTTP/1.1".into(), ..Annotation::default() };
    let first_line = bytes.split(|&b| b == b'\n').next().unwrap_or_default();
    let line = first_line.strip_suffix(b"\r").unwrap_or(first_line);
    let hex = line.iter().take_while(|b| b.is_ascii_hexdigit()).count();
    // A transmit that carries only chunks starts with a chunk-size line, `1a;ext`.
    let looks_chunk =
        hex > 0 && (hex == line.len() || matches!(line[hex], b';' | b' ' | b'\t')) && !line.contains(&b'/');
    if looks_chunk && !bytes.starts_with(b"HTTP/") {
        a.summary = annotate_chunks(bytes, 0, &mut a.fields, &mut a.error);
        return a;
    }
    // Several messages back to back (pipelining, keep-alive): each one ends where its
    // framing says (RFC 9112 §6.3), and the next starts there.
    let mut start = 0;
    let mut summaries = Vec::new();
    while start < bytes.len() {
        let mut one = Annotation::default();
        let used = annotate_message(&bytes[start..], !bytes[start..].starts_with(b"HTTP/"), &mut one);
        a.fields.extend(one.fields.into_iter().map(|mut f| {
            f.start += start;
            f
        }));
        if a.error.is_none() {
            a.error = one.error;
        }
        summaries.push(one.summary);
        if used == 0 {
            break;
        }
        start += used;
    }
    a.summary = match summaries.len() {
        0 | 1 => summaries.pop().unwrap_or_default(),
        n => format!("{} (+{} more message{})", summaries[0], n - 1, if n > 2 { "s" } else { "" }),
    };
    a
}

/// Annotates one message at the start of `bytes`; returns its length in bytes when its
/// end is known and more bytes follow it (0: it runs to the end of `bytes`).
fn annotate_message(bytes: &[u8], request: bool, a: &mut Annotation) -> usize {
    let mut lines = line_ranges(bytes);
    let Some((s, c, e)) = lines.next() else {
        a.summary = "empty".into();
        return 0;
    };
    let line = &bytes[s..c];
    let parts: Vec<&[u8]> = line.splitn(3, |&b| b == b' ').collect();
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    let mut offsets = Vec::new();
    let mut off = s;
    for p in &parts {
        offsets.push(off);
        off += p.len() + 1;
    }
    let (name, child_names, meanings): (&str, [&str; 3], [&str; 3]) = if request {
        (
            "Request Line",
            ["Method", "Request Target", "HTTP Version"],
            [
                "what to do with the target (RFC 9110 §9)",
                "the resource, usually a path (RFC 9112 §3.2)",
                "the protocol version (RFC 9112 §2.3)",
            ],
        )
    } else {
        (
            "Status Line",
            ["HTTP Version", "Status Code", "Reason Phrase"],
            [
                "the server's protocol version (RFC 9112 §2.3)",
                "the outcome, 3 digits (RFC 9110 §15)",
                "a human-readable description, ignored by clients (RFC 9112 §4)",
            ],
        )
    };
    a.fields.push(Field::new(
        name,
        s,
        e - s,
        text(line),
        if request {
            "method SP request-target SP HTTP-version (RFC 9112 §3)"
        } else {
            "HTTP-version SP status-code SP [ reason-phrase ] (RFC 9112 §4)"
        },
    ));
    for (i, p) in parts.iter().enumerate() {
        a.fields.push(Field::new(child_names[i], offsets[i], p.len(), text(p), meanings[i]).child());
    }
    let mut headers: Headers = Vec::new();
    let mut body_start = None;
    for (s, c, e) in lines.by_ref() {
        if s == c {
            a.fields.push(Field::new("Empty Line", s, e - s, "CRLF", "ends the header section (RFC 9112 §2.1)"));
            body_start = Some(e);
            break;
        }
        let line = &bytes[s..c];
        let (n, v) = match line.iter().position(|&b| b == b':') {
            Some(i) => (&line[..i], line[i + 1..].trim_ascii()),
            None => (line, &[][..]),
        };
        let n = text(n);
        a.fields.push(Field::new(n.clone(), s, e - s, text(v), field_meaning(&n)));
        headers.push((n, v.to_vec()));
    }
    // Validate with the real parser.
    let limits = Limits::default();
    let head_ok = if request {
        parse_request_head(bytes, &limits).map(|r| r.map(|(q, _)| q.summary()))
    } else {
        parse_response_head(bytes, &limits).map(|r| r.map(|(p, _)| p.status.to_string()))
    };
    match &head_ok {
        Err(e) => a.error = Some(e.to_string()),
        Ok(None) => a.error = Some("incomplete header section".into()),
        Ok(Some(_)) => {}
    }
    let mut body = body_start.map(|b| &bytes[b..]).unwrap_or_default();
    let mut body_len = body.len();
    // Where this message ends, if it ends before the bytes do.
    let mut end = None;
    if let Some(b) = body_start {
        let length = content_length(&headers).ok().flatten();
        if is_chunked(&headers) && !body.is_empty() {
            let mut decoded = Vec::new();
            let mut d = ChunkedDecoder::new(u64::MAX, usize::MAX);
            if let Ok(used) = d.decode(body, &mut decoded) {
                body_len = decoded.len();
                if d.is_done() {
                    body = &body[..used];
                    end = Some(b + used);
                }
            }
            annotate_chunks(body, b, &mut a.fields, &mut a.error);
        } else if let Some(n) = length.filter(|&n| n < body.len() as u64) {
            // Content-Length says where it ends (RFC 9112 §6.3, item 6).
            body = &body[..n as usize];
            body_len = body.len();
            end = Some(b + body.len());
        } else if length.is_none() && request {
            // A request with neither has no content (RFC 9112 §6.3, item 7).
            body = &[];
            body_len = 0;
            end = Some(b);
        }
        if !is_chunked(&headers) && !body.is_empty() {
            a.fields.push(Field::new(
                "Content",
                b,
                body.len(),
                preview(body),
                format!("{} bytes of content (RFC 9110 §6.4)", body.len()),
            ));
        }
    }
    a.summary = if request {
        text(line)
    } else {
        let code = parts.get(1).map(|p| text(p)).unwrap_or_default();
        let reason = parts.get(2).map(|p| text(p)).unwrap_or_default();
        format!("{code} {reason} ({body_len} bytes)")
    };
    end.filter(|&e| e > 0 && e < bytes.len()).unwrap_or(0)
}

/// Annotates chunks starting at `base`; returns a summary.
fn annotate_chunks(bytes: &[u8], base: usize, fields: &mut Vec<Field>, error: &mut Option<String>) -> String {
    let mut i = 0;
    let mut chunks = 0;
    let mut data_len = 0;
    let mut last = false;
    while i < bytes.len() {
        let Some(nl) = bytes[i..].iter().position(|&b| b == b'\n') else {
            fields.push(Field::new(
                "Partial Chunk Line",
                base + i,
                bytes.len() - i,
                preview(&bytes[i..]),
                "the start of a chunk-size line",
            ));
            break;
        };
        let line_end = i + nl + 1;
        let line = bytes[i..i + nl].strip_suffix(b"\r").unwrap_or(&bytes[i..i + nl]);
        let hex: Vec<u8> = line.iter().copied().take_while(u8::is_ascii_hexdigit).collect();
        let size = std::str::from_utf8(&hex).ok().and_then(|h| u64::from_str_radix(h, 16).ok());
        let Some(size) = size else {
            *error = Some(ParseError::BadChunkSize.to_string());
            fields.push(Field::new(
                "Malformed Chunk Line",
                base + i,
                line_end - i,
                preview(line),
                "expected chunk-size in hex (RFC 9112 §7.1)",
            ));
            break;
        };
        let ext = if hex.len() < line.len() { " with ignored chunk extensions" } else { "" };
        if size == 0 {
            fields.push(Field::new(
                "Last Chunk",
                base + i,
                line_end - i,
                String::from_utf8_lossy(line),
                format!("chunk-size 0: the content ends{ext} (RFC 9112 §7.1)"),
            ));
            if line_end < bytes.len() {
                fields.push(Field::new(
                    "Trailer Section",
                    base + line_end,
                    bytes.len() - line_end,
                    preview(&bytes[line_end..]),
                    "trailer fields, then an empty line (RFC 9112 §7.1.2)",
                ));
            }
            last = true;
            break;
        }
        fields.push(Field::new(
            "Chunk Size",
            base + i,
            line_end - i,
            String::from_utf8_lossy(line),
            format!("{size} bytes of chunk data follow{ext} (RFC 9112 §7.1)"),
        ));
        let data_end = (line_end as u64).saturating_add(size).min(bytes.len() as u64) as usize;
        fields.push(Field::new(
            "Chunk Data",
            base + line_end,
            data_end - line_end,
            preview(&bytes[line_end..data_end]),
            "the chunk's bytes, then CRLF",
        ));
        chunks += 1;
        data_len += data_end - line_end;
        i = (data_end + 2).min(bytes.len());
    }
    match (chunks, last) {
        (0, true) => "last chunk (end of a chunked body)".into(),
        (n, true) => format!("{n} chunk(s), {data_len} bytes, and the last chunk"),
        (n, false) => format!("{n} chunk(s), {data_len} bytes"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_one(bytes: &[u8]) -> Result<Option<Request>, ParseError> {
        let mut p = RequestParser::new(Limits::default());
        p.push(bytes);
        p.next_request()
    }

    #[test]
    fn rfc9112_request_line_examples() {
        // RFC 9112 §3.2.1 (origin-form) and §3.2.2 (absolute-form).
        let r =
            parse_one(b"GET /where?q=now HTTP/1.1\r\nHost: www.example.org\r\n\r\n").expect("valid").expect("complete");
        assert_eq!((r.method.as_str(), r.target.as_str(), r.version), ("GET", "/where?q=now", Version::Http11));
        let r =
            parse_one(b"GET http://www.example.org/pub/WWW/TheProject.html HTTP/1.1\r\nHost: www.example.org\r\n\r\n")
                .expect("valid")
                .expect("complete");
        assert_eq!(r.target, "http://www.example.org/pub/WWW/TheProject.html");
        // RFC 9112 §3.2.4 (asterisk-form).
        let r =
            parse_one(b"OPTIONS * HTTP/1.1\r\nHost: www.example.org:8001\r\n\r\n").expect("valid").expect("complete");
        assert_eq!(r.target, "*");
    }

    #[test]
    fn rfc9110_example_exchange_parses() {
        // RFC 9110 §3.9 (Example Message Exchange), request and response.
        let req = b"GET /hello.txt HTTP/1.1\r\nUser-Agent: curl/7.64.1\r\nHost: www.example.com\r\nAccept-Language: en, mi\r\n\r\n";
        let r = parse_one(req).expect("valid").expect("complete");
        assert_eq!(r.header("accept-language").as_deref(), Some("en, mi"));
        let resp = b"HTTP/1.1 200 OK\r\nDate: Mon, 27 Jul 2009 12:28:53 GMT\r\nServer: Apache\r\nLast-Modified: Wed, 22 Jul 2009 19:15:56 GMT\r\nETag: \"34aa387-d-1568eb00\"\r\nAccept-Ranges: bytes\r\nContent-Length: 51\r\nVary: Accept-Encoding\r\nContent-Type: text/plain\r\n\r\nHello World! My content includes a trailing CRLF.\r\n";
        let mut p = ResponseParser::new(Limits::default());
        p.expect("GET");
        p.push(resp);
        let r = p.next_response().expect("valid").expect("complete");
        assert_eq!(r.body, b"Hello World! My content includes a trailing CRLF.\r\n");
        let a = annotate(resp);
        assert_eq!(a.summary, "200 OK (51 bytes)");
        assert!(a.error.is_none(), "{:?}", a.error);
    }

    #[test]
    fn content_length_rules() {
        let cl = |v: &str| content_length(&[("Content-Length".into(), v.as_bytes().to_vec())]);
        assert_eq!(cl("42"), Ok(Some(42)));
        assert_eq!(cl("42, 42"), Ok(Some(42)));
        assert_eq!(cl("42, 43"), Err(ParseError::ConflictingContentLength));
        assert_eq!(cl("-1"), Err(ParseError::InvalidContentLength));
        assert_eq!(cl("+1"), Err(ParseError::InvalidContentLength));
        assert_eq!(cl("99999999999999999999999"), Err(ParseError::InvalidContentLength));
        assert_eq!(cl(""), Err(ParseError::InvalidContentLength));
    }

    #[test]
    fn annotates_request_fields_and_chunks() {
        let a = annotate(b"GET /hello.txt HTTP/1.1\r\nHost: example.com\r\n\r\n");
        assert_eq!(a.summary, "GET /hello.txt HTTP/1.1");
        let names: Vec<&str> = a.fields.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, ["Request Line", "Method", "Request Target", "HTTP Version", "Host", "Empty Line"]);
        assert_eq!(a.fields[4].value, "example.com");
        assert!(a.fields[4].meaning.contains("RFC 9110 §7.2"));
        let a = annotate(b"5\r\nhello\r\n");
        assert_eq!(a.summary, "1 chunk(s), 5 bytes");
        let a = annotate(b"0\r\n\r\n");
        assert_eq!(a.summary, "last chunk (end of a chunked body)");
        let a = annotate(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n");
        assert_eq!(a.summary, "200 OK (5 bytes)");
        assert!(a.fields.iter().any(|f| f.name == "Last Chunk"));
    }

    /// Found by the `http_response` fuzz target in CI: `Transfer-Encoding: chunked;` (an
    /// empty parameter) framed the body as chunked when read but was written raw, so the
    /// message did not read back as itself.
    #[test]
    fn a_chunked_coding_with_parameters_is_written_as_it_is_read() {
        let r = Response {
            status: 200,
            reason: "OK".into(),
            version: Version::Http11,
            headers: vec![("Transfer-Encoding".into(), b"chunked;".to_vec())],
            body: b"Wiki".to_vec(),
        };
        let bytes = r.to_bytes();
        assert!(bytes.ends_with(b"\r\n4\r\nWiki\r\n0\r\n\r\n"), "{:?}", String::from_utf8_lossy(&bytes));
    }

    /// Found by the `http_response` fuzz target: a 100 with `Transfer-Encoding: chunked`
    /// was printed with a last chunk, which the reader took for a malformed next response.
    #[test]
    fn interim_and_no_content_responses_print_no_body() {
        for status in [100, 204, 304] {
            let r = Response::new(status).with_header("Transfer-Encoding", "chunked");
            let bytes = r.to_bytes();
            assert!(bytes.ends_with(b"chunked\r\n\r\n"), "{:?}", String::from_utf8_lossy(&bytes));
            let mut p = ResponseParser::new(Limits::default());
            p.push(&bytes);
            assert_eq!(p.next_response(), Ok(Some(r)));
            assert_eq!(p.next_response(), Ok(None));
        }
    }
}

#[cfg(test)]
mod typed_tests {
    use super::typed_to_wire as to_wire;

    #[test]
    fn back_to_back_messages_are_annotated_each_by_its_own_framing() {
        let two =
            b"GET /a HTTP/1.1\r\nHost: x\r\n\r\nPOST /b HTTP/1.1\r\nContent-Length: 2\r\n\r\nhiGET /c HTTP/1.1\r\n\r\n";
        let a = super::annotate(two);
        let lines: Vec<_> =
            a.fields.iter().filter(|f| f.name == "Request Line").map(|f| (f.start, f.value.clone())).collect();
        assert_eq!(
            lines,
            [(0, "GET /a HTTP/1.1".into()), (28, "POST /b HTTP/1.1".into()), (69, "GET /c HTTP/1.1".into())]
        );
        assert!(a.fields.iter().any(|f| f.name == "Content" && f.start == 67 && f.len == 2), "{:?}", a.fields);
        assert_eq!(a.summary, "GET /a HTTP/1.1 (+2 more messages)");
        let resp = b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabcHTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nz\r\n0\r\n\r\nHTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n";
        let a = super::annotate(resp);
        let status: Vec<_> = a.fields.iter().filter(|f| f.name == "Status Code").map(|f| f.value.clone()).collect();
        assert_eq!(status, ["200", "200", "404"]);
        assert!(a.error.is_none(), "{:?}", a.error);
    }

    #[test]
    fn heads_get_crlf_and_bodies_are_sent_as_typed() {
        assert_eq!(to_wire("GET / HTTP/1.1\nHost: x\n\n"), b"GET / HTTP/1.1\r\nHost: x\r\n\r\n");
        assert_eq!(
            to_wire("POST /echo HTTP/1.1\nContent-Length: 4\n\na\nb\nGET / HTTP/1.1\n\n"),
            b"POST /echo HTTP/1.1\r\nContent-Length: 4\r\n\r\na\nb\nGET / HTTP/1.1\r\n\r\n"
        );
        assert_eq!(to_wire("GET / HTTP/1.1\r\nHost: x\r\n\r\n"), b"GET / HTTP/1.1\r\nHost: x\r\n\r\n");
        assert_eq!(to_wire("GET /"), b"GET /");
    }
}
