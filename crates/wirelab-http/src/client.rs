//! An HTTP/1.1 client for one connection: sends requests (several, pipelined, on one
//! persistent connection if asked), matches responses to them in order, and reads
//! bodies framed by Content-Length, chunked, or the end of the stream.
//!
//! The transport tells the client the server closed the stream with the `eof` command
//! (or [`HttpClient::peer_closed`]): that is what completes a response read until close
//! (RFC 9112 §6.3 rule 8). The client asks the transport to close with
//! [`ClientEvent::CloseConnection`].

use crate::wire::{
    self, Headers, HttpError, ParserPhase, Request, RequestParser, Response, ResponseParser, Version,
    has_connection_option,
};
use crate::wire::{Limits, ParseError};
use std::borrow::Cow;
use std::collections::VecDeque;
use std::fmt;
use std::net::SocketAddr;
use std::str::FromStr;
use wirelab_core::{
    Annotation, Input, Instant, Machine, Output, RfcRef, StreamApp, Transition, Transmit, UnknownCommand,
};

/// Where the client is on its connection. RFC 9112 names no states; these follow the
/// exchange: a request goes out, its response's head comes back, then its content.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ClientState {
    /// Connected, no response outstanding: the connection is persistent (RFC 9112 §9.3).
    Idle,
    /// Sent one or more requests; reading a status-line and header section (RFC 9112 §4).
    WaitingResponse,
    /// Reading a response's content (RFC 9112 §6).
    ReadingBody,
    /// The connection is closed, or closing.
    Closed,
}

/// The client's side of a persistent HTTP/1.1 connection (RFC 9112 §9.3): the states are
/// ours, the rules that move between them RFC 9112's.
pub fn client_diagram() -> wirelab_core::StateDiagram {
    let mut d = wirelab_core::StateDiagram::new("HTTP/1.1 client", Some(RfcRef::new(9112, "9.3")));
    let idle = d.state("IDLE", 0, 0);
    let waiting = d.state("WAITING-RESPONSE", 1, 0);
    let body = d.state("READING-BODY", 1, 1);
    let closed = d.state("CLOSED", 0, 1);
    d.edge(idle, waiting, "snd request");
    d.edge(waiting, body, "rcv head announcing content (§6.3)");
    d.edge(body, waiting, "response complete, more requests outstanding");
    d.edge(waiting, idle, "response complete");
    d.edge(body, idle, "response complete");
    d.from_any(closed, "Connection: close, or the transport closed (§9.6)");
    d
}

impl fmt::Display for ClientState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ClientState::Idle => "IDLE",
            ClientState::WaitingResponse => "WAITING-RESPONSE",
            ClientState::ReadingBody => "READING-BODY",
            ClientState::Closed => "CLOSED",
        })
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientConfig {
    pub local: SocketAddr,
    pub server: SocketAddr,
    /// The Host field value sent with every request (RFC 9112 §3.2): `example.com` or
    /// `localhost:8080`.
    pub host: String,
    /// The User-Agent field value (RFC 9110 §10.1.5).
    pub user_agent: String,
    pub limits: Limits,
}

impl ClientConfig {
    pub fn new(local: SocketAddr, server: SocketAddr, host: impl Into<String>) -> Self {
        ClientConfig { local, server, host: host.into(), user_agent: "wirelab".into(), limits: Limits::default() }
    }
}

/// One console line for the client.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClientCommand {
    /// `GET <path>`
    Get(String),
    /// `HEAD <path>`
    Head(String),
    /// `POST <path> <body text>`: the text as text/plain content.
    Post(String, Vec<u8>),
    /// `raw <text>`: these bytes exactly, possibly malformed. In the text, `\r`, `\n`,
    /// `\t` and `\\` stand for CR, LF, HTAB and a backslash.
    Raw(Vec<u8>),
    /// `close`: close the connection.
    Close,
    /// `eof`: the transport saw the server close its side of the stream.
    Eof,
}

pub use wirelab_core::escape::{escape, unescape};

impl fmt::Display for ClientCommand {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClientCommand::Get(p) => write!(f, "GET {p}"),
            ClientCommand::Head(p) => write!(f, "HEAD {p}"),
            ClientCommand::Post(p, body) if body.is_empty() => write!(f, "POST {p}"),
            ClientCommand::Post(p, body) => write!(f, "POST {p} {}", String::from_utf8_lossy(body)),
            ClientCommand::Raw(bytes) => write!(f, "raw {}", escape(bytes)),
            ClientCommand::Close => f.write_str("close"),
            ClientCommand::Eof => f.write_str("eof"),
        }
    }
}

impl FromStr for ClientCommand {
    type Err = UnknownCommand;
    fn from_str(s: &str) -> Result<Self, UnknownCommand> {
        let line = s.trim();
        let bad = || UnknownCommand {
            line: line.to_string(),
            expected: "GET <path>, HEAD <path>, POST <path> <body text>, raw <text with \\r\\n escapes>, close or eof",
        };
        let (verb, rest) = line.split_once(' ').unwrap_or((line, ""));
        let rest = rest.trim_start();
        let path = || {
            let p = rest.trim();
            if p.is_empty() || p.contains(char::is_whitespace) { Err(bad()) } else { Ok(p.to_string()) }
        };
        match verb.to_ascii_lowercase().as_str() {
            "get" => path().map(ClientCommand::Get),
            "head" => path().map(ClientCommand::Head),
            "post" => {
                let (p, body) = rest.split_once(' ').unwrap_or((rest, ""));
                if p.is_empty() {
                    return Err(bad());
                }
                Ok(ClientCommand::Post(p.to_string(), body.as_bytes().to_vec()))
            }
            "raw" if !rest.is_empty() => Ok(ClientCommand::Raw(unescape(rest))),
            "close" if rest.is_empty() => Ok(ClientCommand::Close),
            "eof" if rest.is_empty() => Ok(ClientCommand::Eof),
            _ => Err(bad()),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClientEvent {
    /// A final response, matched to the request it answers (`GET /hello.txt`).
    Response {
        request: String,
        status: u16,
        reason: String,
        version: Version,
        headers: Headers,
        /// Content length after removing the transfer coding.
        body_len: usize,
        body: Vec<u8>,
    },
    /// An interim 1xx response (RFC 9110 §15.2); the final one follows.
    Interim { status: u16, reason: String },
    /// Close the connection: the client is done with it.
    CloseConnection,
}

impl fmt::Display for ClientEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClientEvent::Response { request, status, reason, body_len, .. } => {
                write!(f, "{status} {reason} ({body_len} bytes) for {request}")
            }
            ClientEvent::Interim { status, reason } => write!(f, "interim {status} {reason}"),
            ClientEvent::CloseConnection => f.write_str("close the connection"),
        }
    }
}

/// The client side of one HTTP/1.1 connection.
#[derive(Clone, Debug)]
pub struct HttpClient {
    config: ClientConfig,
    state: ClientState,
    parser: ResponseParser,
    /// Summaries of the requests sent and not yet answered, oldest first.
    pending: VecDeque<String>,
    /// Everything sent with `raw`, parsed to learn which requests it holds.
    raw: RequestParser,
    raw_malformed: bool,
    out: VecDeque<Output<ClientState, ClientEvent>>,
}

impl HttpClient {
    pub fn new(config: ClientConfig) -> Self {
        let parser = ResponseParser::new(config.limits.clone());
        let raw = RequestParser::new(Limits { max_body: u64::MAX, ..config.limits.clone() });
        HttpClient {
            config,
            state: ClientState::Idle,
            parser,
            pending: VecDeque::new(),
            raw,
            raw_malformed: false,
            out: VecDeque::new(),
        }
    }

    /// The server closed its side of the stream: the same as the `eof` command.
    pub fn peer_closed(&mut self, now: Instant) -> Result<(), HttpError> {
        self.handle_input(now, Input::Command(ClientCommand::Eof))
    }

    /// Requests sent and not yet answered.
    pub fn outstanding(&self) -> usize {
        self.pending.len()
    }

    fn set_state(&mut self, to: ClientState, cause: impl Into<Cow<'static, str>>, rfc: RfcRef) {
        let from = self.state;
        assert!(from != ClientState::Closed, "invalid state transition {from:?} -> {to:?}");
        if from == to {
            return;
        }
        self.state = to;
        self.out.push_back(Output::Transition(Transition { from, to, cause: cause.into(), rfc: Some(rfc) }));
    }

    fn close(&mut self, cause: impl Into<Cow<'static, str>>, rfc: RfcRef) {
        self.set_state(ClientState::Closed, cause, rfc);
        self.pending.clear();
        self.out.push_back(Output::Event(ClientEvent::CloseConnection));
    }

    fn transmit(&mut self, bytes: Vec<u8>, reason: impl Into<Cow<'static, str>>, rfc: RfcRef) {
        self.out.push_back(Output::Transmit(Transmit {
            from: self.config.local,
            to: self.config.server,
            bytes,
            reason: reason.into(),
            rfc: Some(rfc),
        }));
    }

    fn send_request(&mut self, req: Request) {
        let summary = format!("{} {}", req.method, req.target);
        let reason = if req.body.is_empty() {
            format!("{summary}: request-line, Host (required in HTTP/1.1), User-Agent, empty line")
        } else {
            format!(
                "{summary}: request-line, header section, and {} bytes of content after Content-Length",
                req.body.len()
            )
        };
        self.transmit(req.to_bytes(), reason, RfcRef::new(9112, "3"));
        self.parser.expect(&req.method);
        self.pending.push_back(summary);
        let cause = if self.pending.len() > 1 { "pipelined another request" } else { "sent a request" };
        if self.state == ClientState::Idle {
            self.set_state(ClientState::WaitingResponse, cause, RfcRef::new(9112, "9.3.2"));
        }
    }

    fn request(&self, method: &str, path: &str) -> Request {
        Request::new(method, path)
            .with_header("Host", self.config.host.clone())
            .with_header("User-Agent", self.config.user_agent.clone())
    }

    fn send_raw(&mut self, bytes: Vec<u8>) {
        self.transmit(bytes.clone(), "raw bytes, exactly as typed", RfcRef::new(9112, "2.1"));
        self.raw.push(&bytes);
        loop {
            match self.raw.next_request() {
                Ok(Some(req)) => {
                    self.parser.expect(&req.method);
                    self.pending.push_back(format!("{} {}", req.method, req.target));
                }
                Ok(None) => break,
                Err(_) if self.raw_malformed => break,
                Err(_) => {
                    // The server will most likely answer it with an error.
                    self.raw_malformed = true;
                    self.parser.expect("");
                    self.pending.push_back("a malformed request".into());
                    break;
                }
            }
        }
        if !self.pending.is_empty() && self.state == ClientState::Idle {
            self.set_state(ClientState::WaitingResponse, "sent a request", RfcRef::new(9112, "9.3.2"));
        }
    }

    /// Emits a final response; true if the connection closes after it.
    fn deliver(&mut self, resp: Response) -> bool {
        let request = self.pending.pop_front().unwrap_or_else(|| "no request (unsolicited)".into());
        let closes = resp.status == 101
            || has_connection_option(&resp.headers, "close")
            || (resp.version == Version::Http10 && !has_connection_option(&resp.headers, "keep-alive"));
        self.out.push_back(Output::Event(ClientEvent::Response {
            request,
            status: resp.status,
            reason: resp.reason,
            version: resp.version,
            body_len: resp.body.len(),
            headers: resp.headers,
            body: resp.body,
        }));
        if resp.status == 101 {
            self.close(
                "101 (Switching Protocols): the connection no longer speaks HTTP/1.1",
                RfcRef::new(9110, "15.2.2"),
            );
        } else if closes {
            // RFC 9112 §9.6: "A client that receives a "close" connection option MUST
            // cease sending requests on that connection and close the connection after
            // reading the response message containing the "close" connection option".
            self.close("the response ends the connection (Connection: close, or HTTP/1.0)", RfcRef::new(9112, "9.6"));
        }
        closes
    }

    fn fail(&mut self, e: ParseError) -> Result<(), HttpError> {
        // RFC 9112 §6.3 rule 5: a user agent that receives an invalid framing "MUST
        // close the connection to the server and discard the received response".
        self.close(format!("malformed response: {e}"), RfcRef::new(9112, "6.3"));
        Err(HttpError::Parse(e))
    }

    fn sync_state(&mut self) {
        match self.parser.phase() {
            ParserPhase::Body => {
                if self.state == ClientState::Idle {
                    self.set_state(ClientState::WaitingResponse, "a response arrived", RfcRef::new(9112, "4"));
                }
                self.set_state(
                    ClientState::ReadingBody,
                    "the response's head announced content",
                    RfcRef::new(9112, "6.3"),
                );
            }
            ParserPhase::Head => {
                self.set_state(ClientState::WaitingResponse, "reading a response's head", RfcRef::new(9112, "4"))
            }
            ParserPhase::Idle if !self.pending.is_empty() => self.set_state(
                ClientState::WaitingResponse,
                "a response is complete; more requests are outstanding",
                RfcRef::new(9112, "9.3.2"),
            ),
            ParserPhase::Idle => self.set_state(
                ClientState::Idle,
                "every request answered; the connection persists",
                RfcRef::new(9112, "9.3"),
            ),
        }
    }
}

impl Machine for HttpClient {
    type State = ClientState;
    type Command = ClientCommand;
    type Event = ClientEvent;
    type Error = HttpError;

    fn state(&self) -> ClientState {
        self.state
    }

    fn handle_input(&mut self, _now: Instant, input: Input<'_, ClientCommand>) -> Result<(), HttpError> {
        if self.state == ClientState::Closed {
            return match input {
                Input::Timeout | Input::Command(ClientCommand::Eof | ClientCommand::Close) => Ok(()),
                _ => Err(HttpError::Closed),
            };
        }
        match input {
            Input::Command(ClientCommand::Get(path)) => {
                let req = self.request("GET", &path);
                self.send_request(req);
            }
            Input::Command(ClientCommand::Head(path)) => {
                let req = self.request("HEAD", &path);
                self.send_request(req);
            }
            Input::Command(ClientCommand::Post(path, body)) => {
                let req = self
                    .request("POST", &path)
                    .with_header("Content-Type", "text/plain; charset=utf-8")
                    .with_body(body);
                self.send_request(req);
            }
            Input::Command(ClientCommand::Raw(bytes)) => self.send_raw(bytes),
            Input::Command(ClientCommand::Close) => {
                self.close("the client closed the connection", RfcRef::new(9112, "9.6"));
            }
            Input::Command(ClientCommand::Eof) => {
                let unanswered = self.pending.len();
                match self.parser.finish() {
                    Ok(Some(resp)) => {
                        if !self.deliver(resp) {
                            self.close(
                                "the server closed the connection, which ends a body read until close",
                                RfcRef::new(9112, "6.3"),
                            );
                        }
                    }
                    Ok(None) if unanswered > 0 => self.close(
                        format!("the server closed the connection with {unanswered} request(s) unanswered"),
                        RfcRef::new(9112, "9.3.1"),
                    ),
                    Ok(None) => self.close("the server closed the connection", RfcRef::new(9112, "9.6")),
                    Err(e) => return self.fail(e),
                }
            }
            Input::Receive { bytes, .. } => {
                self.parser.push(bytes);
                loop {
                    match self.parser.next_response() {
                        Ok(Some(resp)) if (100..200).contains(&resp.status) && resp.status != 101 => {
                            self.out.push_back(Output::Event(ClientEvent::Interim {
                                status: resp.status,
                                reason: resp.reason,
                            }));
                        }
                        Ok(Some(resp)) => {
                            if self.deliver(resp) {
                                return Ok(());
                            }
                        }
                        Ok(None) => break,
                        Err(e) => return self.fail(e),
                    }
                }
                self.sync_state();
            }
            Input::Timeout => {}
        }
        Ok(())
    }

    fn poll_output(&mut self, _now: Instant) -> Output<ClientState, ClientEvent> {
        self.out.pop_front().unwrap_or(Output::Idle { wake_at: None })
    }

    fn suggested_commands(&self) -> Vec<ClientCommand> {
        if self.state == ClientState::Closed {
            return Vec::new();
        }
        let raw = format!("GET /hello.txt HTTP/1.1\r\nHost: {}\r\n\r\n", self.config.host);
        vec![
            ClientCommand::Get("/".into()),
            ClientCommand::Get("/hello.txt".into()),
            ClientCommand::Head("/hello.txt".into()),
            ClientCommand::Get("/chunked".into()),
            ClientCommand::Post("/echo".into(), b"hello".to_vec()),
            ClientCommand::Get("/status/404".into()),
            ClientCommand::Raw(raw.into_bytes()),
            ClientCommand::Close,
        ]
    }

    fn diagrams(&self) -> Vec<wirelab_core::StateDiagram> {
        vec![client_diagram()]
    }

    fn annotate(bytes: &[u8]) -> Annotation {
        wire::annotate(bytes)
    }
}

/// The client over a byte stream: the server's FIN is `eof` (it completes a response read
/// until close, RFC 9112 §6.3 rule 8), and [`ClientEvent::CloseConnection`] closes the
/// stream (RFC 9112 §9.6).
impl StreamApp for HttpClient {
    const PROTOCOL: &'static str = "HTTP";

    fn on_peer_closed(&mut self, now: Instant) -> Result<(), HttpError> {
        self.peer_closed(now)
    }

    fn wants_transport_close(event: &ClientEvent) -> bool {
        matches!(event, ClientEvent::CloseConnection)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_parse_and_print_back() {
        for line in [
            "GET /hello.txt",
            "HEAD /",
            "POST /echo hello world",
            "POST /echo",
            "raw GET / HTTP/1.1\\r\\n\\r\\n",
            "close",
            "eof",
        ] {
            let c: ClientCommand = line.parse().expect("a command");
            assert_eq!(c.to_string(), line);
        }
        assert_eq!("raw a\\tb\\\\n".parse::<ClientCommand>(), Ok(ClientCommand::Raw(b"a\tb\\n".to_vec())));
        assert_eq!("get /x".parse::<ClientCommand>(), Ok(ClientCommand::Get("/x".into())));
        for bad in ["GET", "GET a b", "fetch /", "raw", "close now", ""] {
            assert!(bad.parse::<ClientCommand>().is_err(), "{bad}");
        }
    }

    #[test]
    fn escape_inverts_unescape() {
        for s in ["a\\b", "\\q", "x\\", "\r\n\t\\", "plain"] {
            assert_eq!(unescape(&escape(s.as_bytes())), s.as_bytes());
        }
    }
}
