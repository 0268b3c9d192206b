//! An HTTP/1.1 origin server for one connection, serving a small fixed teaching site.
//!
//! One [`HttpServer`] per connection: the transport feeds it the stream with
//! `Input::Receive`, writes every `Output::Transmit`, tells it when the client closed
//! its side (`eof`, or [`HttpServer::peer_closed`]), and closes the connection when it
//! emits [`ServerEvent::CloseConnection`].
//!
//! Requests are answered as soon as they are complete, in order, so pipelined requests
//! (RFC 9112 §9.3.2) get their responses in the order they came.

use crate::wire::{
    self, Headers, HttpError, Limits, ParseError, ParserPhase, Request, RequestParser, Response, Version,
    has_connection_option, reason_phrase,
};
use std::borrow::Cow;
use std::collections::VecDeque;
use std::fmt;
use std::net::SocketAddr;
use std::str::FromStr;
use wirelab_core::{
    Annotation, Input, Instant, Machine, Output, RfcRef, StreamApp, Transition, Transmit, UnknownCommand,
};

/// Where the server is on its connection. RFC 9112 names no states; these follow the
/// parts of a message (RFC 9112 §2.1: start-line and header section, then the message
/// body) and the life of a persistent connection (RFC 9112 §9).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ServerState {
    /// Between requests on a persistent connection (RFC 9112 §9.3), nothing buffered.
    Idle,
    /// Reading a request-line and header section (RFC 9112 §3, §5).
    ReadingHeaders,
    /// The head is complete; reading the content it announced (RFC 9112 §6).
    ReadingBody,
    /// The server closed the connection, or will once the transport has written what
    /// was sent (RFC 9112 §9.6).
    Closed,
}

/// The server's side of a persistent HTTP/1.1 connection (RFC 9112 §9.3).
pub fn server_diagram() -> wirelab_core::StateDiagram {
    let mut d = wirelab_core::StateDiagram::new("HTTP/1.1 server", Some(RfcRef::new(9112, "9.3")));
    let idle = d.state("IDLE", 0, 0);
    let head = d.state("READING-HEADERS", 1, 0);
    let body = d.state("READING-BODY", 1, 1);
    let closed = d.state("CLOSED", 0, 1);
    d.edge(idle, head, "rcv start of a request (§2.1)");
    d.edge(head, body, "head announced content (§6.3)");
    d.edge(head, idle, "snd response; connection persists");
    d.edge(body, idle, "snd response; connection persists");
    d.from_any(closed, "Connection: close, an error, or the transport closed (§9.6)");
    d
}

impl fmt::Display for ServerState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ServerState::Idle => "IDLE",
            ServerState::ReadingHeaders => "READING-HEADERS",
            ServerState::ReadingBody => "READING-BODY",
            ServerState::Closed => "CLOSED",
        })
    }
}

/// One resource (or family of resources) of the teaching site.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Route {
    /// A fixed representation: GET and HEAD.
    Static { path: String, content_type: String, body: Vec<u8> },
    /// POST: answers 200 with the request's content, and its Content-Type.
    Echo { path: String },
    /// GET and HEAD: the body sent in these chunks, with the chunked transfer coding
    /// (to HTTP/1.0 clients, with Content-Length: RFC 9112 §6.1 forbids sending them
    /// Transfer-Encoding).
    Chunked { path: String, chunks: Vec<Vec<u8>> },
    /// GET and HEAD: the request's head, as text/plain.
    Headers { path: String },
    /// GET and HEAD on `<prefix><code>`: answers status `code` (200–599).
    Status { prefix: String },
    /// GET and HEAD on `<path>?since=<n>`: a resource that grows over time, like a chat
    /// log or a news feed, for teaching polling. `entries` are published at their
    /// instants, in order; the answer lists those from index `n` on that are published by
    /// the time the request is served, one per line as `#<index> <text>` (text/plain),
    /// and is empty when there are none yet. Without `since`, from index 0.
    Feed { path: String, entries: Vec<(Instant, String)> },
}

const GET_HEAD: &[&str] = &["GET", "HEAD", "OPTIONS"];
const POST: &[&str] = &["POST", "OPTIONS"];

impl Route {
    /// A static resource.
    pub fn resource(path: &str, content_type: &str, body: impl Into<Vec<u8>>) -> Route {
        Route::Static { path: path.into(), content_type: content_type.into(), body: body.into() }
    }

    fn matches(&self, path: &str) -> bool {
        match self {
            Route::Static { path: p, .. }
            | Route::Echo { path: p }
            | Route::Chunked { path: p, .. }
            | Route::Feed { path: p, .. }
            | Route::Headers { path: p } => p == path,
            Route::Status { prefix } => path.strip_prefix(prefix.as_str()).and_then(status_code).is_some(),
        }
    }

    /// The methods the resource supports, for Allow (RFC 9110 §10.2.1).
    fn allow(&self) -> &'static [&'static str] {
        match self {
            Route::Echo { .. } => POST,
            _ => GET_HEAD,
        }
    }
}

fn status_code(s: &str) -> Option<u16> {
    // status-code = 3DIGIT (RFC 9110 §15); 1xx are interim, never a final answer.
    let code: u16 = s.parse().ok().filter(|_| s.len() == 3 && s.bytes().all(|b| b.is_ascii_digit()))?;
    (200..=599).contains(&code).then_some(code)
}

/// The resources a server serves.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Site {
    pub routes: Vec<Route>,
}

/// The body of the default site's `/hello.txt`.
pub const HELLO: &str = "Hello, world!";

impl Site {
    /// The default teaching site: `/` (a short HTML page), `/hello.txt`, `/echo`,
    /// `/chunked`, `/headers` and `/status/<code>`.
    pub fn teaching() -> Site {
        Site {
            routes: vec![
                Route::resource(
                    "/",
                    "text/html; charset=utf-8",
                    "<!doctype html>\n<html><head><title>wirelab</title></head>\n<body><h1>Hello from wirelab</h1>\n\
                     <p>Try <a href=\"/hello.txt\">/hello.txt</a>, <a href=\"/chunked\">/chunked</a>, \
                     <a href=\"/headers\">/headers</a>, <a href=\"/status/418\">/status/418</a>, or POST to /echo.</p>\n\
                     </body></html>\n",
                ),
                Route::resource("/hello.txt", "text/plain; charset=utf-8", HELLO),
                Route::Echo { path: "/echo".into() },
                Route::Chunked {
                    path: "/chunked".into(),
                    chunks: vec![
                        b"This body arrives\n".to_vec(),
                        b"in chunks, each one\n".to_vec(),
                        b"preceded by its size in hex.\n".to_vec(),
                    ],
                },
                Route::Headers { path: "/headers".into() },
                Route::Status { prefix: "/status/".into() },
            ],
        }
    }
}

impl Default for Site {
    fn default() -> Self {
        Site::teaching()
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerConfig {
    pub local: SocketAddr,
    pub site: Site,
    pub limits: Limits,
    /// The Server field value (RFC 9110 §10.2.4).
    pub server_name: String,
    /// The Date field value to send, if any. The machine has no clock, and RFC 9110
    /// §6.6.1 says "An origin server MUST NOT send a Date header field if it does not
    /// have a clock capable of providing a reasonable approximation of the current
    /// instance in Coordinated Universal Time", so by default it sends none. A transport
    /// with a clock can set one with [`HttpServer::set_date`] before each input.
    pub date: Option<String>,
}

impl ServerConfig {
    pub fn new(local: SocketAddr) -> Self {
        ServerConfig {
            local,
            site: Site::teaching(),
            limits: Limits::default(),
            server_name: "wirelab".into(),
            date: None,
        }
    }
}

/// What the server can be told besides bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ServerCommand {
    /// `close`: close the connection now (RFC 9112 §9.5: a server "MAY close the transport
    /// connection at any time").
    Close,
    /// `eof`: the transport saw the client close its side of the stream.
    Eof,
}

impl fmt::Display for ServerCommand {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ServerCommand::Close => "close",
            ServerCommand::Eof => "eof",
        })
    }
}

impl FromStr for ServerCommand {
    type Err = UnknownCommand;
    fn from_str(s: &str) -> Result<Self, UnknownCommand> {
        match s.trim().to_ascii_lowercase().as_str() {
            "close" => Ok(ServerCommand::Close),
            "eof" => Ok(ServerCommand::Eof),
            _ => Err(UnknownCommand { line: s.trim().to_string(), expected: "close or eof" }),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ServerEvent {
    /// A complete request: `GET /hello.txt HTTP/1.1`.
    RequestReceived(String),
    /// The bytes could not be read as a request; a response with `error.status()` follows.
    BadRequest(ParseError),
    /// A final response with this status code was sent.
    ResponseSent(u16),
    /// Close the connection once everything sent has been written. RFC 9112 §9.6 warns
    /// that closing both directions at once can make the client's TCP reset the
    /// connection before it reads the response: close the sending side first, then read
    /// and discard for a while before closing fully ("lingering close").
    CloseConnection,
}

impl fmt::Display for ServerEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ServerEvent::RequestReceived(s) => write!(f, "request {s}"),
            ServerEvent::BadRequest(e) => write!(f, "bad request: {e}"),
            ServerEvent::ResponseSent(s) => write!(f, "sent {s} {}", reason_phrase(*s)),
            ServerEvent::CloseConnection => f.write_str("close the connection"),
        }
    }
}

/// A response about to be sent.
#[derive(Debug)]
struct Reply {
    status: u16,
    headers: Headers,
    body: Body,
    why: String,
    rfc: RfcRef,
}

#[derive(Debug)]
enum Body {
    /// With Content-Length.
    Full(Vec<u8>),
    /// With Transfer-Encoding: chunked.
    Chunked(Vec<Vec<u8>>),
    /// No content and no Content-Length (204, 304).
    None,
}

impl Reply {
    fn new(status: u16, body: Body, why: impl Into<String>, rfc: RfcRef) -> Reply {
        Reply { status, headers: Vec::new(), body, why: why.into(), rfc }
    }

    fn text(status: u16, text: impl Into<String>, why: impl Into<String>, rfc: RfcRef) -> Reply {
        let mut r = Reply::new(status, Body::Full(text.into().into_bytes()), why, rfc);
        r.headers.push(("Content-Type".into(), b"text/plain; charset=utf-8".to_vec()));
        r
    }

    fn allow(mut self, methods: &[&str]) -> Reply {
        self.headers.push(("Allow".into(), methods.join(", ").into_bytes()));
        self
    }
}

/// Methods of RFC 9110 §9 (and PATCH, RFC 5789) that this server recognizes: others
/// are 501. Recognized but not supported by a resource: 405.
const RECOGNIZED: [&str; 8] = ["GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "TRACE", "PATCH"];

/// The server side of one HTTP/1.1 connection.
#[derive(Clone, Debug)]
pub struct HttpServer {
    config: ServerConfig,
    state: ServerState,
    parser: RequestParser,
    peer: Option<SocketAddr>,
    out: VecDeque<Output<ServerState, ServerEvent>>,
    /// Whether 100 (Continue) went out for the request being read.
    continue_sent: bool,
}

impl HttpServer {
    pub fn new(config: ServerConfig) -> Self {
        let parser = RequestParser::new(config.limits.clone());
        HttpServer { config, state: ServerState::Idle, parser, peer: None, out: VecDeque::new(), continue_sent: false }
    }

    /// The Date field value for the responses that follow (see [`ServerConfig::date`]).
    pub fn set_date(&mut self, date: Option<String>) {
        self.config.date = date;
    }

    /// The client closed its side of the stream: the same as the `eof` command.
    pub fn peer_closed(&mut self, now: Instant) -> Result<(), HttpError> {
        self.handle_input(now, Input::Command(ServerCommand::Eof))
    }

    pub fn is_closed(&self) -> bool {
        self.state == ServerState::Closed
    }

    /// The one place the state changes; staying in the same state is no transition.
    fn set_state(&mut self, to: ServerState, cause: impl Into<Cow<'static, str>>, rfc: RfcRef) {
        let from = self.state;
        assert!(from != ServerState::Closed, "invalid state transition {from:?} -> {to:?}");
        if from == to {
            return;
        }
        self.state = to;
        self.out.push_back(Output::Transition(Transition { from, to, cause: cause.into(), rfc: Some(rfc) }));
    }

    fn close(&mut self, cause: impl Into<Cow<'static, str>>, rfc: RfcRef) {
        self.set_state(ServerState::Closed, cause, rfc);
        self.out.push_back(Output::Event(ServerEvent::CloseConnection));
    }

    fn transmit(&mut self, bytes: Vec<u8>, reason: impl Into<Cow<'static, str>>, rfc: RfcRef) {
        let to = self.peer.unwrap_or(self.config.local);
        self.out.push_back(Output::Transmit(Transmit {
            from: self.config.local,
            to,
            bytes,
            reason: reason.into(),
            rfc: Some(rfc),
        }));
    }

    /// Answers every complete request in the buffer, in order.
    fn process(&mut self, now: Instant) {
        loop {
            match self.parser.next_request() {
                Ok(Some(req)) => {
                    self.advance_to(if req.body.is_empty() { ParserPhase::Head } else { ParserPhase::Body });
                    self.continue_sent = false;
                    if !self.serve(&req, now) {
                        return;
                    }
                }
                Ok(None) => break,
                Err(e) => {
                    self.reject(e);
                    return;
                }
            }
        }
        let phase = self.parser.phase();
        self.advance_to(phase);
        if phase == ParserPhase::Body {
            self.maybe_continue();
        }
    }

    /// Moves forward through READING-HEADERS and READING-BODY to where the parser is.
    fn advance_to(&mut self, phase: ParserPhase) {
        if phase != ParserPhase::Idle && self.state == ServerState::Idle {
            self.set_state(ServerState::ReadingHeaders, "received the start of a request", RfcRef::new(9112, "2.1"));
        }
        if phase == ParserPhase::Body && self.state == ServerState::ReadingHeaders {
            self.set_state(ServerState::ReadingBody, "the header section announced content", RfcRef::new(9112, "6.3"));
        }
    }

    /// RFC 9110 §10.1.1: "A server that receives a 100-continue expectation in an
    /// HTTP/1.0 request MUST ignore that expectation." For HTTP/1.1, an origin server
    /// sends 100 (Continue) or a final status before reading the content; we send 100.
    fn maybe_continue(&mut self) {
        let expects = self.parser.pending_head().is_some_and(|h| {
            h.version == Version::Http11 && wire::list_members(&h.headers, "expect").iter().any(|e| e == "100-continue")
        });
        if expects && !self.continue_sent {
            self.continue_sent = true;
            self.transmit(
                b"HTTP/1.1 100 Continue\r\n\r\n".to_vec(),
                "interim 100 (Continue): the client asked to wait before sending the content",
                RfcRef::new(9110, "10.1.1"),
            );
        }
    }

    /// Answers a bad request and closes: after a framing error the server cannot know
    /// where the next request would start.
    fn reject(&mut self, e: ParseError) {
        let status = e.status();
        self.out.push_back(Output::Event(ServerEvent::BadRequest(e.clone())));
        let rfc = match &e {
            ParseError::BadHeaderName => RfcRef::new(9112, "5.1"),
            ParseError::UriTooLong { .. } | ParseError::BadRequestLine => RfcRef::new(9112, "3"),
            ParseError::BadHost { .. } => RfcRef::new(9112, "3.2"),
            ParseError::HeaderSectionTooLarge { .. } | ParseError::TooManyHeaders { .. } => RfcRef::new(6585, "5"),
            ParseError::ContentTooLarge { .. } => RfcRef::new(9110, "15.5.14"),
            ParseError::VersionNotSupported { .. } => RfcRef::new(9110, "15.6.6"),
            ParseError::UnsupportedTransferCoding { .. } | ParseError::ContentLengthWithTransferEncoding => {
                RfcRef::new(9112, "6.1")
            }
            ParseError::BadChunkSize | ParseError::ChunkSizeOverflow | ParseError::BadChunk { .. } => {
                RfcRef::new(9112, "7.1")
            }
            _ => RfcRef::new(9112, "6.3"),
        };
        let reply = Reply::text(
            status,
            format!("{status} {}: {e}\n", reason_phrase(status)),
            format!("{status} {}: {e}", reason_phrase(status)),
            rfc.clone(),
        );
        self.send("GET", reply, false);
        self.close(format!("sent {status} for a malformed request; the rest of the stream cannot be framed"), rfc);
    }

    /// Serves one request; false if the connection closes after it.
    fn serve(&mut self, req: &Request, now: Instant) -> bool {
        self.out.push_back(Output::Event(ServerEvent::RequestReceived(req.summary())));
        // RFC 9112 §9.3: HTTP/1.1 persists unless "close"; HTTP/1.0 closes unless
        // "keep-alive".
        let persist = !has_connection_option(&req.headers, "close")
            && (req.version == Version::Http11 || has_connection_option(&req.headers, "keep-alive"));
        let mut reply = self.route(req, now);
        if req.version == Version::Http10 {
            // RFC 9112 §6.1: "A server MUST NOT send a response containing
            // Transfer-Encoding unless the corresponding request indicates HTTP/1.1".
            if let Body::Chunked(chunks) = &reply.body {
                reply.body = Body::Full(chunks.concat());
            }
            if persist {
                reply.headers.push(("Connection".into(), b"keep-alive".to_vec()));
            }
        }
        self.send(&req.method, reply, persist);
        if persist {
            self.set_state(
                ServerState::Idle,
                "response sent; the connection persists for the next request",
                RfcRef::new(9112, "9.3"),
            );
            true
        } else {
            // RFC 9112 §9.6: "A server that receives a "close" connection option MUST
            // initiate closure of the connection after it sends the final response to the
            // request that contained the "close" connection option. [...] The server
            // MUST NOT process any further requests received on that connection."
            self.close("response sent to a request that ends the connection", RfcRef::new(9112, "9.6"));
            false
        }
    }

    fn route(&self, req: &Request, now: Instant) -> Reply {
        let method = req.method.as_str();
        if !RECOGNIZED.contains(&method) {
            // RFC 9110 §9.1: "An origin server that receives a request method that is
            // unrecognized or not implemented SHOULD respond with the 501 (Not
            // Implemented) status code."
            return Reply::text(
                501,
                format!("501 Not Implemented: method {method}\n"),
                format!("501: this server does not implement {method}"),
                RfcRef::new(9110, "9.1"),
            );
        }
        let all: Vec<&str> = RECOGNIZED.iter().copied().filter(|m| GET_HEAD.contains(m) || POST.contains(m)).collect();
        if req.target == "*" {
            // RFC 9112 §3.2.4: the asterisk-form is only used for a server-wide OPTIONS.
            return if method == "OPTIONS" {
                Reply::new(204, Body::None, "204: the methods this server supports", RfcRef::new(9110, "9.3.7"))
                    .allow(&all)
            } else {
                Reply::text(
                    400,
                    "400 Bad Request: * is only for OPTIONS\n",
                    "400: asterisk-form without OPTIONS",
                    RfcRef::new(9112, "3.2.4"),
                )
            };
        }
        let Some(path) = origin_path(&req.target) else {
            return Reply::text(
                400,
                "400 Bad Request: request-target is neither origin-form nor absolute-form\n",
                "400: the request-target has no path",
                RfcRef::new(9112, "3.2"),
            );
        };
        let Some(route) = self.config.site.routes.iter().find(|r| r.matches(path)) else {
            return Reply::text(
                404,
                format!("404 Not Found: {path}\n"),
                format!("404: no resource at {path}"),
                RfcRef::new(9110, "15.5.5"),
            );
        };
        if method == "OPTIONS" {
            return Reply::new(
                204,
                Body::None,
                format!("204: the methods {path} supports"),
                RfcRef::new(9110, "9.3.7"),
            )
            .allow(route.allow());
        }
        if !route.allow().contains(&method) {
            // RFC 9110 §15.5.6: "The origin server MUST generate an Allow header field in
            // a 405 response containing a list of the target resource's currently
            // supported methods."
            return Reply::text(
                405,
                format!("405 Method Not Allowed: {method} {path}\n"),
                format!("405: {path} does not support {method}"),
                RfcRef::new(9110, "15.5.6"),
            )
            .allow(route.allow());
        }
        match route {
            Route::Static { content_type, body, .. } => {
                let mut r = Reply::new(
                    200,
                    Body::Full(body.clone()),
                    format!("200: {path}, {} bytes of {content_type}", body.len()),
                    RfcRef::new(9110, "9.3.1"),
                );
                r.headers.push(("Content-Type".into(), content_type.clone().into_bytes()));
                r
            }
            Route::Echo { .. } => {
                let ct = wire::header(&req.headers, "content-type").unwrap_or(b"application/octet-stream").to_vec();
                let mut r = Reply::new(
                    200,
                    Body::Full(req.body.clone()),
                    format!("200: echoing the {} bytes of content", req.body.len()),
                    RfcRef::new(9110, "9.3.3"),
                );
                r.headers.push(("Content-Type".into(), ct));
                r
            }
            Route::Chunked { chunks, .. } => {
                let mut r = Reply::new(
                    200,
                    Body::Chunked(chunks.clone()),
                    format!("200: a body in {} chunks; the head says Transfer-Encoding: chunked", chunks.len()),
                    RfcRef::new(9112, "7.1"),
                );
                r.headers.push(("Content-Type".into(), b"text/plain; charset=utf-8".to_vec()));
                r
            }
            Route::Headers { .. } => {
                let mut text = Vec::new();
                req.emit_head(&mut text);
                let mut r =
                    Reply::new(200, Body::Full(text), "200: the request's head, as received", RfcRef::new(9112, "2.1"));
                r.headers.push(("Content-Type".into(), b"text/plain; charset=utf-8".to_vec()));
                r
            }
            Route::Feed { entries, .. } => {
                let since = query_param(&req.target, "since").and_then(|n| n.parse::<usize>().ok()).unwrap_or(0);
                let mut body = String::new();
                let mut listed = 0;
                for (i, (_, text)) in entries.iter().enumerate().skip(since).take_while(|(_, (at, _))| *at <= now) {
                    body.push_str(&format!("#{i} {text}\n"));
                    listed += 1;
                }
                let why = match listed {
                    0 => format!("200: nothing new since entry {since}: an empty list"),
                    n => format!("200: {n} new entr{} since entry {since}", if n == 1 { "y" } else { "ies" }),
                };
                Reply::text(200, body, why, RfcRef::new(9110, "9.3.1"))
            }
            Route::Status { prefix } => {
                let code = path.strip_prefix(prefix.as_str()).and_then(status_code).unwrap_or(200);
                let why = format!("{code}: the status the path asks for");
                if code == 204 || code == 304 {
                    Reply::new(code, Body::None, why, RfcRef::new(9110, "15"))
                } else {
                    Reply::text(code, format!("{code} {}\n", reason_phrase(code)), why, RfcRef::new(9110, "15"))
                }
            }
        }
    }

    /// Writes the response: one transmit for head and content, or the head and then one
    /// per chunk.
    fn send(&mut self, method: &str, reply: Reply, persist: bool) {
        let mut resp = Response::new(reply.status);
        resp.headers.push(("Server".into(), self.config.server_name.clone().into_bytes()));
        if let Some(date) = &self.config.date {
            resp.headers.push(("Date".into(), date.clone().into_bytes()));
        }
        resp.headers.extend(reply.headers);
        match &reply.body {
            Body::Full(b) => resp.headers.push(("Content-Length".into(), b.len().to_string().into_bytes())),
            Body::Chunked(_) => resp.headers.push(("Transfer-Encoding".into(), b"chunked".to_vec())),
            // RFC 9110 §8.6: "A server MUST NOT send a Content-Length header field in any
            // response with a status code of 1xx (Informational) or 204 (No Content)."
            Body::None => {}
        }
        if !persist {
            // RFC 9112 §9.6: "The server SHOULD send a "close" connection option in its
            // final response on that connection."
            resp.headers.push(("Connection".into(), b"close".to_vec()));
        }
        // RFC 9110 §9.3.2: "The server SHOULD send the same header fields in response to
        // a HEAD request as it would have sent if the request method had been GET.
        // However, a server MAY omit header fields for which a value is determined only
        // while generating the content."
        let head_only = method == "HEAD";
        let mut bytes = Vec::new();
        resp.emit_head(&mut bytes);
        let status = reply.status;
        match reply.body {
            Body::Full(body) if !head_only => {
                bytes.extend_from_slice(&body);
                self.transmit(bytes, reply.why, reply.rfc);
            }
            Body::Chunked(chunks) if !head_only => {
                let n = chunks.len();
                self.transmit(bytes, reply.why, reply.rfc);
                for (i, c) in chunks.iter().enumerate() {
                    let mut b = Vec::new();
                    crate::chunked::encode_chunk(c, &mut b);
                    self.transmit(
                        b,
                        format!("chunk {} of {n}: its size in hex ({:x}), CRLF, the data, CRLF", i + 1, c.len()),
                        RfcRef::new(9112, "7.1"),
                    );
                }
                let mut b = Vec::new();
                crate::chunked::encode_last_chunk(&mut b);
                self.transmit(
                    b,
                    "the last chunk (size 0) and an empty trailer section end the content",
                    RfcRef::new(9112, "7.1"),
                );
            }
            _ if head_only => {
                self.transmit(
                    bytes,
                    format!("{} (HEAD: the same head as GET, no content)", reply.why),
                    RfcRef::new(9110, "9.3.2"),
                );
            }
            _ => self.transmit(bytes, reply.why, reply.rfc),
        }
        self.out.push_back(Output::Event(ServerEvent::ResponseSent(status)));
    }
}

/// The value of `name` in the query of a request target (`/chat?since=3` → `3`).
fn query_param<'a>(target: &'a str, name: &str) -> Option<&'a str> {
    let query = target.split_once('?')?.1.split('#').next()?;
    query.split('&').find_map(|kv| kv.strip_prefix(name)?.strip_prefix('='))
}

/// The path of an origin-form (`/a?b`) or absolute-form (`http://h/a?b`) target
/// (RFC 9112 §3.2.1, §3.2.2: "A server MUST accept the absolute-form in requests").
fn origin_path(target: &str) -> Option<&str> {
    let rest = if target.starts_with('/') {
        target
    } else {
        let lower = target.get(..8).unwrap_or(target).to_ascii_lowercase();
        let after = if lower.starts_with("http://") {
            &target[7..]
        } else if lower.starts_with("https://") {
            &target[8..]
        } else {
            return None;
        };
        after.find('/').map(|i| &after[i..]).unwrap_or("/")
    };
    Some(rest.split(['?', '#']).next().unwrap_or(rest))
}

impl Machine for HttpServer {
    type State = ServerState;
    type Command = ServerCommand;
    type Event = ServerEvent;
    type Error = HttpError;

    fn state(&self) -> ServerState {
        self.state
    }

    fn handle_input(&mut self, now: Instant, input: Input<'_, ServerCommand>) -> Result<(), HttpError> {
        if self.state == ServerState::Closed {
            return match input {
                Input::Timeout | Input::Command(ServerCommand::Eof | ServerCommand::Close) => Ok(()),
                Input::Receive { .. } => Err(HttpError::Closed),
            };
        }
        match input {
            Input::Receive { from, bytes } => {
                self.peer = Some(from);
                self.parser.push(bytes);
                self.process(now);
                Ok(())
            }
            Input::Command(ServerCommand::Eof) => {
                let cause = match self.parser.phase() {
                    ParserPhase::Idle => "the client closed its side between requests",
                    _ => "the client closed its side inside a request (an incomplete message)",
                };
                self.close(cause, RfcRef::new(9112, "9.6"));
                Ok(())
            }
            Input::Command(ServerCommand::Close) => {
                self.close("the server chose to close the connection", RfcRef::new(9112, "9.5"));
                Ok(())
            }
            Input::Timeout => Ok(()),
        }
    }

    fn poll_output(&mut self, _now: Instant) -> Output<ServerState, ServerEvent> {
        self.out.pop_front().unwrap_or(Output::Idle { wake_at: None })
    }

    fn suggested_commands(&self) -> Vec<ServerCommand> {
        if self.state == ServerState::Closed { Vec::new() } else { vec![ServerCommand::Close] }
    }

    fn diagrams(&self) -> Vec<wirelab_core::StateDiagram> {
        vec![server_diagram()]
    }

    fn annotate(bytes: &[u8]) -> Annotation {
        wire::annotate(bytes)
    }
}

/// The server over a byte stream: the client's FIN is `eof`, and
/// [`ServerEvent::CloseConnection`] closes the stream (RFC 9112 §9.6).
impl StreamApp for HttpServer {
    const PROTOCOL: &'static str = "HTTP";

    fn on_peer_closed(&mut self, now: Instant) -> Result<(), HttpError> {
        self.peer_closed(now)
    }

    fn wants_transport_close(event: &ServerEvent) -> bool {
        matches!(event, ServerEvent::CloseConnection)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_params() {
        assert_eq!(query_param("/chat?since=3", "since"), Some("3"));
        assert_eq!(query_param("/chat?a=1&since=12#x", "since"), Some("12"));
        assert_eq!(query_param("/chat?sinceX=1", "since"), None);
        assert_eq!(query_param("/chat", "since"), None);
    }

    #[test]
    fn origin_paths() {
        assert_eq!(origin_path("/a/b?c=d"), Some("/a/b"));
        assert_eq!(origin_path("http://www.example.org/pub/x.html"), Some("/pub/x.html"));
        assert_eq!(origin_path("HTTP://example.org"), Some("/"));
        assert_eq!(origin_path("www.example.com:80"), None);
        assert_eq!(status_code("404"), Some(404));
        assert_eq!(status_code("100"), None);
        assert_eq!(status_code("+42"), None);
    }

    #[test]
    fn commands_round_trip() {
        for c in [ServerCommand::Close, ServerCommand::Eof] {
            assert_eq!(c.to_string().parse::<ServerCommand>(), Ok(c));
        }
        assert!("open".parse::<ServerCommand>().is_err());
    }
}
