//! The opening handshake (RFC 6455 §4): an HTTP/1.1 GET with `Upgrade: websocket`, answered
//! by `101 Switching Protocols`. After the empty line that ends the server's answer, both
//! sides speak frames.
//!
//! ```text
//! GET /chat HTTP/1.1                          HTTP/1.1 101 Switching Protocols
//! Host: server.example.com                    Upgrade: websocket
//! Upgrade: websocket                          Connection: Upgrade
//! Connection: Upgrade                         Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=
//! Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==
//! Sec-WebSocket-Version: 13
//! ```

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use sha1::{Digest, Sha1};
use std::fmt;
use wirelab_core::{RfcRef, SeededRng};

/// RFC 6455 §1.3: the globally unique identifier the server appends to the key.
pub const GUID: &str = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/// The largest opening-handshake message we read. RFC 6455 sets no limit; every server
/// has one (§10.4 "implementations will likely want to impose implementation-specific
/// limits").
pub const MAX_HANDSHAKE: usize = 8 * 1024;

/// Header fields we read at most; more is a malformed message.
const MAX_HEADERS: usize = 64;

/// RFC 6455 §4.2.2: "concatenate this with the Globally Unique Identifier ... take the
/// SHA-1 hash of this concatenated value ... base64-encoded".
pub fn accept_key(key: &str) -> String {
    let mut sha = Sha1::new();
    sha.update(key.as_bytes());
    sha.update(GUID.as_bytes());
    BASE64.encode(sha.finalize())
}

/// RFC 6455 §4.1: "The request MUST include a header field with the name
/// |Sec-WebSocket-Key|. The value of this header field MUST be a nonce consisting of a
/// randomly selected 16-byte value that has been base64-encoded".
pub fn new_key(rng: &mut SeededRng) -> String {
    let mut nonce = [0u8; 16];
    rng.fill_bytes(&mut nonce);
    BASE64.encode(nonce)
}

/// Why an opening handshake failed: the server's checks of the request (§4.2.1) and the
/// client's checks of the response (§4.1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HandshakeError {
    /// More than `limit` bytes without the empty line that ends the header.
    TooLarge { limit: usize },
    /// Not HTTP/1.1 as httparse reads it.
    Malformed(String),
    /// RFC 6455 §4.2.1: "An HTTP/1.1 or higher GET request".
    NotGet { method: String },
    /// RFC 6455 §4.1 / §4.2.1: "The method of the request MUST be GET, and the HTTP version
    /// MUST be at least 1.1."
    NotHttp11,
    /// RFC 6455 §4.2.1: "A |Host| header field containing the server's authority."
    MissingHost,
    /// RFC 6455 §4.2.1 / §4.1: an |Upgrade| header field containing "websocket", "treated
    /// as an ASCII case-insensitive value".
    NoUpgradeWebsocket { found: Option<String> },
    /// RFC 6455 §4.2.1 / §4.1: a |Connection| header field that includes the token
    /// "Upgrade", "treated as an ASCII case-insensitive value".
    NoConnectionUpgrade { found: Option<String> },
    /// RFC 6455 §4.2.1: "A |Sec-WebSocket-Key| header field with a base64-encoded ... value
    /// that, when decoded, is 16 bytes in length."
    BadKey { found: Option<String> },
    /// RFC 6455 §4.2.1: "A |Sec-WebSocket-Version| header field, with a value of 13."
    MissingVersion,
    /// RFC 6455 §4.2.2 and §4.4: a version the server does not speak: it answers 426 with
    /// the versions it does.
    UnsupportedVersion { found: String },
    /// RFC 6455 §4.1: "If the status code received from the server is not 101, the client
    /// handles the response per HTTP [RFC2616] procedures." We do not follow redirects or
    /// authenticate, so the connection fails.
    NotSwitchingProtocols { status: u16, reason: String },
    /// RFC 6455 §4.1: "If the |Sec-WebSocket-Accept| contains a value other than the
    /// base64-encoded SHA-1 of the concatenation of the |Sec-WebSocket-Key| (as a string,
    /// not base64-decoded) with the string "258EAFA5-E914-47DA-95CA-C5AB0DC85B11" ... the
    /// client MUST _Fail the WebSocket Connection_."
    BadAccept { expected: String, found: Option<String> },
    /// RFC 6455 §4.1: an extension "that was not present in the client's handshake" (we
    /// offer none): "the client MUST _Fail the WebSocket Connection_".
    UnrequestedExtension(String),
    /// RFC 6455 §4.1: a subprotocol "that was not present in the client's handshake":
    /// "the client MUST _Fail the WebSocket Connection_".
    UnrequestedProtocol(String),
    /// The peer sent bytes before the opening handshake began (§4.1: the server speaks
    /// only after the client's request).
    DataBeforeHandshake,
}

impl HandshakeError {
    /// The section of RFC 6455 with the rule.
    pub fn rfc(&self) -> RfcRef {
        match self {
            HandshakeError::TooLarge { .. } => RfcRef::new(6455, "10.4"),
            HandshakeError::UnsupportedVersion { .. } => RfcRef::new(6455, "4.4"),
            HandshakeError::NotSwitchingProtocols { .. }
            | HandshakeError::BadAccept { .. }
            | HandshakeError::UnrequestedExtension(_)
            | HandshakeError::UnrequestedProtocol(_)
            | HandshakeError::DataBeforeHandshake => RfcRef::new(6455, "4.1"),
            _ => RfcRef::new(6455, "4.2.1"),
        }
    }

    /// The HTTP response a server sends for this error in a request: RFC 6455 §4.2.1 "an
    /// appropriate error code (such as 400 Bad Request)", and for a version it does not
    /// speak §4.4 "426 Upgrade Required" with `Sec-WebSocket-Version: 13`. `None` for
    /// errors only a client finds in a response.
    pub fn http_response(&self) -> Option<Vec<u8>> {
        let body = format!("{self}\n");
        let head = match self {
            HandshakeError::NotSwitchingProtocols { .. }
            | HandshakeError::BadAccept { .. }
            | HandshakeError::UnrequestedExtension(_)
            | HandshakeError::UnrequestedProtocol(_)
            | HandshakeError::DataBeforeHandshake => return None,
            // RFC 7231 §6.5.15: "The server MUST send an Upgrade header field in a 426
            // response to indicate the required protocol(s)".
            HandshakeError::MissingVersion | HandshakeError::UnsupportedVersion { .. } => {
                "HTTP/1.1 426 Upgrade Required\r\nSec-WebSocket-Version: 13\r\nUpgrade: websocket\r\n\
                 Connection: Upgrade, close\r\n"
            }
            _ => "HTTP/1.1 400 Bad Request\r\nConnection: close\r\n",
        };
        Some(format!("{head}Content-Type: text/plain\r\nContent-Length: {}\r\n\r\n{body}", body.len()).into_bytes())
    }
}

impl fmt::Display for HandshakeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shown = |v: &Option<String>| v.as_deref().map(|s| format!("{s:?}")).unwrap_or_else(|| "none".into());
        match self {
            HandshakeError::TooLarge { limit } => write!(f, "handshake larger than {limit} bytes"),
            HandshakeError::Malformed(e) => write!(f, "malformed HTTP message: {e}"),
            HandshakeError::NotGet { method } => write!(f, "method {method:?}: a WebSocket handshake is a GET"),
            HandshakeError::NotHttp11 => f.write_str("HTTP/1.0: a WebSocket handshake needs HTTP/1.1"),
            HandshakeError::MissingHost => f.write_str("no Host header field"),
            HandshakeError::NoUpgradeWebsocket { found } => {
                write!(f, "Upgrade header field is {}, not websocket", shown(found))
            }
            HandshakeError::NoConnectionUpgrade { found } => {
                write!(f, "Connection header field is {}, without the Upgrade token", shown(found))
            }
            HandshakeError::BadKey { found } => {
                write!(f, "Sec-WebSocket-Key is {}, not 16 bytes in base64", shown(found))
            }
            HandshakeError::MissingVersion => f.write_str("no Sec-WebSocket-Version header field"),
            HandshakeError::UnsupportedVersion { found } => {
                write!(f, "Sec-WebSocket-Version {found:?} is not supported: this server speaks 13")
            }
            HandshakeError::NotSwitchingProtocols { status, reason } => {
                write!(f, "server answered {status} {reason}, not 101 Switching Protocols")
            }
            HandshakeError::BadAccept { expected, found } => {
                write!(f, "Sec-WebSocket-Accept is {}, expected {expected:?}", shown(found))
            }
            HandshakeError::UnrequestedExtension(e) => write!(f, "server accepted extension {e:?} nobody offered"),
            HandshakeError::UnrequestedProtocol(p) => write!(f, "server picked subprotocol {p:?} nobody offered"),
            HandshakeError::DataBeforeHandshake => f.write_str("bytes arrived before the opening handshake"),
        }
    }
}

impl std::error::Error for HandshakeError {}

/// The client's opening handshake (RFC 6455 §4.1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientRequest {
    pub host: String,
    /// The resource name: "/chat".
    pub path: String,
    /// Sec-WebSocket-Key, from [`new_key`].
    pub key: String,
    pub origin: Option<String>,
    /// Subprotocols offered, most preferred first.
    pub protocols: Vec<String>,
}

impl ClientRequest {
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut s = format!(
            "GET {} HTTP/1.1\r\nHost: {}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {}\r\n",
            self.path, self.host, self.key
        );
        if let Some(origin) = &self.origin {
            s.push_str(&format!("Origin: {origin}\r\n"));
        }
        if !self.protocols.is_empty() {
            s.push_str(&format!("Sec-WebSocket-Protocol: {}\r\n", self.protocols.join(", ")));
        }
        s.push_str("Sec-WebSocket-Version: 13\r\n\r\n");
        s.into_bytes()
    }
}

/// A request the server accepted (RFC 6455 §4.2.1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    pub path: String,
    pub host: String,
    pub key: String,
    pub origin: Option<String>,
    /// Subprotocols the client offers, in its order.
    pub protocols: Vec<String>,
}

/// The client's checked response (RFC 6455 §4.1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Response {
    /// The subprotocol the server picked, if any.
    pub protocol: Option<String>,
}

/// All values of a header field, joined as HTTP allows for lists (RFC 7230 §3.2.2).
fn header(headers: &[httparse::Header<'_>], name: &str) -> Option<String> {
    let values: Vec<&str> = headers
        .iter()
        .filter(|h| h.name.eq_ignore_ascii_case(name))
        .map(|h| std::str::from_utf8(h.value).unwrap_or("\u{fffd}").trim())
        .collect();
    (!values.is_empty()).then(|| values.join(", "))
}

/// Whether a comma-separated list holds `token`, ASCII case-insensitively.
fn has_token(list: Option<&str>, token: &str) -> bool {
    list.is_some_and(|l| l.split(',').any(|t| t.trim().eq_ignore_ascii_case(token)))
}

fn list(value: Option<String>) -> Vec<String> {
    value.map(|v| v.split(',').map(|t| t.trim().to_string()).filter(|t| !t.is_empty()).collect()).unwrap_or_default()
}

/// Turns httparse's answer into ours, with the size limit.
fn complete(
    status: Result<httparse::Status<usize>, httparse::Error>,
    len: usize,
    max: usize,
) -> Result<Option<usize>, HandshakeError> {
    match status {
        Ok(httparse::Status::Complete(n)) if n <= max => Ok(Some(n)),
        Ok(httparse::Status::Complete(_)) => Err(HandshakeError::TooLarge { limit: max }),
        Ok(httparse::Status::Partial) if len > max => Err(HandshakeError::TooLarge { limit: max }),
        Ok(httparse::Status::Partial) => Ok(None),
        Err(e) => Err(HandshakeError::Malformed(e.to_string())),
    }
}

/// The server reads and checks a client's request (RFC 6455 §4.2.1). `Ok(None)`: more bytes
/// are needed. `Ok(Some((request, n)))`: the request takes the first `n` bytes.
pub fn parse_request(bytes: &[u8], max: usize) -> Result<Option<(Request, usize)>, HandshakeError> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut req = httparse::Request::new(&mut headers);
    let status = req.parse(&bytes[..bytes.len().min(max.saturating_add(1))]);
    let Some(n) = complete(status, bytes.len(), max)? else { return Ok(None) };
    let method = req.method.unwrap_or_default();
    if method != "GET" {
        return Err(HandshakeError::NotGet { method: method.to_string() });
    }
    if req.version != Some(1) {
        return Err(HandshakeError::NotHttp11);
    }
    let h = &*req.headers;
    let host = header(h, "Host").ok_or(HandshakeError::MissingHost)?;
    let upgrade = header(h, "Upgrade");
    if !has_token(upgrade.as_deref(), "websocket") {
        return Err(HandshakeError::NoUpgradeWebsocket { found: upgrade });
    }
    let connection = header(h, "Connection");
    if !has_token(connection.as_deref(), "Upgrade") {
        return Err(HandshakeError::NoConnectionUpgrade { found: connection });
    }
    let key = header(h, "Sec-WebSocket-Key");
    match key.as_deref().map(|k| BASE64.decode(k)) {
        Some(Ok(nonce)) if nonce.len() == 16 => {}
        _ => return Err(HandshakeError::BadKey { found: key }),
    }
    match header(h, "Sec-WebSocket-Version") {
        None => return Err(HandshakeError::MissingVersion),
        Some(v) if v == "13" => {}
        Some(found) => return Err(HandshakeError::UnsupportedVersion { found }),
    }
    let request = Request {
        path: req.path.unwrap_or("/").to_string(),
        host,
        key: key.unwrap_or_default(),
        origin: header(h, "Origin"),
        protocols: list(header(h, "Sec-WebSocket-Protocol")),
    };
    Ok(Some((request, n)))
}

/// The server's answer to a valid request (RFC 6455 §4.2.2): "101 Switching Protocols",
/// `Upgrade: websocket`, `Connection: Upgrade`, the accept key, and the subprotocol picked.
pub fn server_response(key: &str, protocol: Option<&str>) -> Vec<u8> {
    let mut s = format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {}\r\n",
        accept_key(key)
    );
    if let Some(p) = protocol {
        s.push_str(&format!("Sec-WebSocket-Protocol: {p}\r\n"));
    }
    s.push_str("\r\n");
    s.into_bytes()
}

/// The client reads and checks the server's response to the request it sent with `key`
/// offering `protocols` (RFC 6455 §4.1). `Ok(None)`: more bytes are needed.
pub fn parse_response(
    bytes: &[u8],
    max: usize,
    key: &str,
    protocols: &[String],
) -> Result<Option<(Response, usize)>, HandshakeError> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut resp = httparse::Response::new(&mut headers);
    let status = resp.parse(&bytes[..bytes.len().min(max.saturating_add(1))]);
    let Some(n) = complete(status, bytes.len(), max)? else { return Ok(None) };
    let code = resp.code.unwrap_or_default();
    if code != 101 {
        return Err(HandshakeError::NotSwitchingProtocols {
            status: code,
            reason: resp.reason.unwrap_or_default().to_string(),
        });
    }
    if resp.version != Some(1) {
        return Err(HandshakeError::NotHttp11);
    }
    let h = &*resp.headers;
    // "If the response lacks an |Upgrade| header field or the |Upgrade| header field
    // contains a value that is not an ASCII case-insensitive match for the value
    // "websocket", the client MUST _Fail the WebSocket Connection_." (§4.1)
    let upgrade = header(h, "Upgrade");
    if !upgrade.as_deref().is_some_and(|u| u.eq_ignore_ascii_case("websocket")) {
        return Err(HandshakeError::NoUpgradeWebsocket { found: upgrade });
    }
    let connection = header(h, "Connection");
    if !has_token(connection.as_deref(), "Upgrade") {
        return Err(HandshakeError::NoConnectionUpgrade { found: connection });
    }
    let expected = accept_key(key);
    let found = header(h, "Sec-WebSocket-Accept");
    if found.as_deref() != Some(expected.as_str()) {
        return Err(HandshakeError::BadAccept { expected, found });
    }
    if let Some(ext) = header(h, "Sec-WebSocket-Extensions") {
        return Err(HandshakeError::UnrequestedExtension(ext));
    }
    let protocol = header(h, "Sec-WebSocket-Protocol");
    if let Some(p) = &protocol {
        if !protocols.iter().any(|o| o == p) {
            return Err(HandshakeError::UnrequestedProtocol(p.clone()));
        }
    }
    Ok(Some((Response { protocol }, n)))
}

#[cfg(test)]
mod tests {
    use super::*;

    const RFC_REQUEST: &[u8] = b"GET /chat HTTP/1.1\r\nHost: server.example.com\r\nUpgrade: websocket\r\n\
        Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nOrigin: http://example.com\r\n\
        Sec-WebSocket-Protocol: chat, superchat\r\nSec-WebSocket-Version: 13\r\n\r\n";

    fn with(find: &str, replace: &str) -> Vec<u8> {
        String::from_utf8_lossy(RFC_REQUEST).replace(find, replace).into_bytes()
    }

    #[test]
    fn the_rfc_example_request_is_accepted() {
        let (req, n) = parse_request(RFC_REQUEST, MAX_HANDSHAKE).expect("valid").expect("complete");
        assert_eq!(n, RFC_REQUEST.len());
        assert_eq!(req.path, "/chat");
        assert_eq!(req.key, "dGhlIHNhbXBsZSBub25jZQ==");
        assert_eq!(req.protocols, ["chat", "superchat"]);
        assert_eq!(req.origin.as_deref(), Some("http://example.com"));
        for cut in 0..RFC_REQUEST.len() {
            assert_eq!(parse_request(&RFC_REQUEST[..cut], MAX_HANDSHAKE), Ok(None), "cut at {cut}");
        }
    }

    #[test]
    fn tokens_are_case_insensitive_lists() {
        let r = with("Connection: Upgrade", "Connection: keep-alive, UPGRADE");
        let r = String::from_utf8_lossy(&r).replace("Upgrade: websocket", "Upgrade: WebSocket").into_bytes();
        assert!(matches!(parse_request(&r, MAX_HANDSHAKE), Ok(Some(_))));
    }

    #[test]
    fn each_broken_rule_is_its_own_error() {
        let cases: Vec<(Vec<u8>, HandshakeError)> = vec![
            (with("GET /chat", "POST /chat"), HandshakeError::NotGet { method: "POST".into() }),
            (with("HTTP/1.1", "HTTP/1.0"), HandshakeError::NotHttp11),
            (with("Host: server.example.com\r\n", ""), HandshakeError::MissingHost),
            (
                with("Upgrade: websocket", "Upgrade: h2c"),
                HandshakeError::NoUpgradeWebsocket { found: Some("h2c".into()) },
            ),
            (
                with("Connection: Upgrade", "Connection: close"),
                HandshakeError::NoConnectionUpgrade { found: Some("close".into()) },
            ),
            (with("dGhlIHNhbXBsZSBub25jZQ==", "c2hvcnQ="), HandshakeError::BadKey { found: Some("c2hvcnQ=".into()) }),
            (with("Sec-WebSocket-Version: 13\r\n", ""), HandshakeError::MissingVersion),
            (with("Version: 13", "Version: 8"), HandshakeError::UnsupportedVersion { found: "8".into() }),
        ];
        for (bytes, want) in cases {
            assert_eq!(parse_request(&bytes, MAX_HANDSHAKE), Err(want));
        }
        assert!(matches!(parse_request(b"GET / HTTP/1.1\r\nHo st: x\r\n\r\n", 100), Err(HandshakeError::Malformed(_))));
        let big = [RFC_REQUEST.to_vec(), vec![b'x'; 100]].concat();
        assert_eq!(parse_request(&big[..40], 30), Err(HandshakeError::TooLarge { limit: 30 }));
    }

    #[test]
    fn version_errors_answer_426_and_the_rest_400() {
        let r = HandshakeError::UnsupportedVersion { found: "8".into() }.http_response().expect("server error");
        let r = String::from_utf8(r).expect("ascii");
        assert!(r.starts_with("HTTP/1.1 426 Upgrade Required\r\n"), "{r}");
        assert!(r.contains("\r\nSec-WebSocket-Version: 13\r\n"), "{r}");
        let r = HandshakeError::MissingHost.http_response().expect("server error");
        assert!(r.starts_with(b"HTTP/1.1 400 Bad Request\r\n"));
        assert_eq!(HandshakeError::BadAccept { expected: String::new(), found: None }.http_response(), None);
    }

    #[test]
    fn the_client_checks_the_response() {
        let key = "dGhlIHNhbXBsZSBub25jZQ==";
        let ok = server_response(key, Some("chat"));
        let offered = vec!["chat".to_string()];
        let (resp, n) = parse_response(&ok, MAX_HANDSHAKE, key, &offered).expect("valid").expect("complete");
        assert_eq!((resp.protocol.as_deref(), n), (Some("chat"), ok.len()));
        assert_eq!(
            parse_response(&ok, MAX_HANDSHAKE, key, &[]),
            Err(HandshakeError::UnrequestedProtocol("chat".into()))
        );
        assert!(matches!(
            parse_response(&ok, MAX_HANDSHAKE, "AAAAAAAAAAAAAAAAAAAAAA==", &offered),
            Err(HandshakeError::BadAccept { .. })
        ));
        let not_found = b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n";
        assert_eq!(
            parse_response(not_found, MAX_HANDSHAKE, key, &[]),
            Err(HandshakeError::NotSwitchingProtocols { status: 404, reason: "Not Found".into() })
        );
        let ext = String::from_utf8_lossy(&server_response(key, None))
            .replace("\r\n\r\n", "\r\nSec-WebSocket-Extensions: permessage-deflate\r\n\r\n");
        assert!(matches!(
            parse_response(ext.as_bytes(), MAX_HANDSHAKE, key, &[]),
            Err(HandshakeError::UnrequestedExtension(_))
        ));
    }
}
