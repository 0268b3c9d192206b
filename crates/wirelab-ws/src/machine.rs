//! One WebSocket endpoint, client or server, as a sans-IO machine over a byte stream.
//!
//! The states are those of RFC 6455 §4.1 and §7 as the WebSocket API spells them
//! (`CONNECTING`, `OPEN`, `CLOSING`, `CLOSED`). Inside `CONNECTING` the machine waits,
//! rustls-style, for what comes next: the `connect` command (client), the request
//! (server) or the response (client).

use crate::handshake::{self, ClientRequest, HandshakeError};
use crate::wire::{self, CloseCode, Frame, FrameHeader, MAX_CONTROL_PAYLOAD, Opcode, WireError};
use core::time::Duration;
use std::borrow::Cow;
use std::collections::VecDeque;
use std::fmt;
use std::net::SocketAddr;
use std::str::FromStr;
use wirelab_core::{
    Annotation, Input, Instant, Machine, Output, RfcRef, SeededRng, StreamApp, Transition, Transmit, UnknownCommand,
};

const fn rfc(section: &'static str) -> Option<RfcRef> {
    Some(RfcRef::new(6455, section))
}

/// Which end of the connection this is (RFC 6455 §1.3, §5.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Role {
    /// Sends the opening handshake and masks every frame.
    Client,
    /// Answers the opening handshake, never masks, and closes TCP first (§7.1.1).
    Server,
}

/// The connection's state, as the WebSocket API's `readyState` and RFC 6455 name it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum WsState {
    /// §4.1: "the WebSocket connection is in the CONNECTING state" until the handshake ends.
    Connecting,
    /// §4.1: "_The WebSocket Connection is Established_ and the WebSocket Connection is in
    /// the OPEN state."
    Open,
    /// §7.1.3: "_The WebSocket Closing Handshake is Started_ ... the WebSocket connection is
    /// in the CLOSING state."
    Closing,
    /// §7.1.4: "_The WebSocket Connection is Closed_ ... the WebSocket connection is in the
    /// CLOSED state."
    Closed,
}

/// The connection states of RFC 6455 (§4.1 CONNECTING and OPEN, §7.1.3 CLOSING, §7.1.4
/// CLOSED), with the transitions between them.
pub fn diagram() -> wirelab_core::StateDiagram {
    let mut d = wirelab_core::StateDiagram::new("WebSocket connection states", rfc("4.1"));
    let connecting = d.state("CONNECTING", 0, 0);
    let open = d.state("OPEN", 1, 0);
    let closing = d.state("CLOSING", 1, 1);
    let closed = d.state("CLOSED", 0, 1);
    d.edge(connecting, open, "rcv 101 / snd 101 (§4.1, §4.2.2)");
    d.edge(connecting, closed, "handshake failed (§4.1)");
    d.edge(open, closing, "snd Close (§7.1.2)");
    d.edge(open, closed, "rcv Close / snd Close, or failed (§7.1.4, §7.1.7)");
    d.edge(closing, closed, "rcv Close, or timeout (§7.1.4, §7.1.1)");
    d
}

impl fmt::Display for WsState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            WsState::Connecting => "CONNECTING",
            WsState::Open => "OPEN",
            WsState::Closing => "CLOSING",
            WsState::Closed => "CLOSED",
        })
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// Our address: `Transmit::from`.
    pub local: SocketAddr,
    /// The peer's address: `Transmit::to`.
    pub peer: SocketAddr,
    pub role: Role,
    /// Seeds the masking keys and the Sec-WebSocket-Key (§5.3, §4.1).
    pub seed: u64,
    /// The client's `Host` header field (§4.1).
    pub host: String,
    /// The client's resource name, "/chat" (§3).
    pub path: String,
    /// The client's `Origin` header field, if any (§4.1, §10.2).
    pub origin: Option<String>,
    /// Client: the subprotocols it offers. Server: those it speaks; it picks the first the
    /// client offers (§4.2.2 /subprotocol/).
    pub protocols: Vec<String>,
    /// The largest message (all fragments together) we accept: more fails with 1009 (§10.4).
    pub max_message: usize,
    /// The largest frame payload we accept: more fails with 1009 (§10.4).
    pub max_frame: usize,
    /// The largest opening-handshake message we read.
    pub max_handshake: usize,
    /// How long to wait in CLOSING for the peer's Close before giving up (§7.1.1 allows
    /// closing "if it has not received a TCP Close from the server in a reasonable time").
    pub close_timeout: Duration,
}

impl Config {
    /// A client that will connect to `peer`, with `Host` set to the peer's address.
    pub fn client(local: SocketAddr, peer: SocketAddr, seed: u64) -> Self {
        Config {
            local,
            peer,
            role: Role::Client,
            seed,
            host: peer.to_string(),
            path: "/".into(),
            origin: None,
            protocols: Vec::new(),
            max_message: 1 << 20,
            max_frame: 1 << 20,
            max_handshake: handshake::MAX_HANDSHAKE,
            close_timeout: Duration::from_secs(5),
        }
    }

    /// A server that has accepted a TCP connection from `peer`.
    pub fn server(local: SocketAddr, peer: SocketAddr, seed: u64) -> Self {
        Config { role: Role::Server, host: local.to_string(), ..Config::client(local, peer, seed) }
    }
}

/// One console line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    /// `connect`: the client sends its opening handshake (§4.1).
    Connect,
    /// `text <message>`: one Text frame (§5.6).
    Text(String),
    /// `binary <hex bytes>`: one Binary frame (§5.6).
    Binary(Vec<u8>),
    /// `fragmented <n> <message>`: a Text message in `n` frames, continuation frames after
    /// the first (§5.4).
    Fragmented(usize, String),
    /// `ping [payload]` (§5.5.2).
    Ping(Vec<u8>),
    /// `close [code] [reason]`: starts the closing handshake (§5.5.1, §7.1.2).
    Close(Option<CloseCode>, String),
}

const EXPECTED: &str = "connect, text <message>, binary <hex bytes>, fragmented <n> <message>, ping [payload], \
     close [code] [reason]";

fn parse_hex(s: &str) -> Option<Vec<u8>> {
    let digits: Vec<u8> = s.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    if digits.len() % 2 != 0 {
        return None;
    }
    digits.chunks(2).map(|pair| std::str::from_utf8(pair).ok().and_then(|p| u8::from_str_radix(p, 16).ok())).collect()
}

impl FromStr for Command {
    type Err = UnknownCommand;
    fn from_str(s: &str) -> Result<Self, UnknownCommand> {
        let line = s.trim_start().trim_end_matches(['\r', '\n']);
        let bad = || UnknownCommand { line: line.trim().to_string(), expected: EXPECTED };
        let (verb, rest) = line.split_once(' ').unwrap_or((line.trim_end(), ""));
        match verb {
            "connect" if rest.trim().is_empty() => Ok(Command::Connect),
            "text" => Ok(Command::Text(rest.to_string())),
            "binary" => parse_hex(rest).map(Command::Binary).ok_or_else(bad),
            "fragmented" => {
                let (n, message) = rest.split_once(' ').unwrap_or((rest, ""));
                let n = n.parse().map_err(|_| bad())?;
                Ok(Command::Fragmented(n, message.to_string()))
            }
            "ping" => Ok(Command::Ping(rest.as_bytes().to_vec())),
            "close" => {
                let rest = rest.trim_start();
                if rest.is_empty() {
                    return Ok(Command::Close(None, String::new()));
                }
                let (code, reason) = rest.split_once(' ').unwrap_or((rest, ""));
                let code = code.parse().map_err(|_| bad())?;
                Ok(Command::Close(Some(CloseCode(code)), reason.to_string()))
            }
            _ => Err(bad()),
        }
    }
}

impl fmt::Display for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Command::Connect => f.write_str("connect"),
            Command::Text(t) => write!(f, "text {t}"),
            Command::Binary(b) => write!(f, "binary {}", b.iter().map(|x| format!("{x:02x}")).collect::<String>()),
            Command::Fragmented(n, t) => write!(f, "fragmented {n} {t}"),
            Command::Ping(p) => write!(f, "ping {}", String::from_utf8_lossy(p)),
            Command::Close(None, _) => f.write_str("close"),
            Command::Close(Some(code), r) if r.is_empty() => write!(f, "close {}", code.0),
            Command::Close(Some(code), r) => write!(f, "close {} {r}", code.0),
        }
    }
}

/// A whole message, reassembled from its fragments (§5.4, §5.6).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Message {
    Text(String),
    Binary(Vec<u8>),
}

/// What the application is told.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// §4.1 / §4.2.2: _The WebSocket Connection is Established_, with the subprotocol in use.
    Open {
        protocol: Option<String>,
    },
    Message(Message),
    /// A Ping arrived (and was answered with a Pong, §5.5.2).
    Ping(Vec<u8>),
    /// A Pong arrived (§5.5.3).
    Pong(Vec<u8>),
    /// The connection is closed. `code` is _The WebSocket Connection Close Code_ (§7.1.5):
    /// the peer's, 1005 if its Close had none, 1006 if no Close arrived. `clean` is
    /// _The WebSocket Connection Close_ being clean: both Close frames exchanged (§7.1.4).
    Closed {
        code: CloseCode,
        reason: String,
        clean: bool,
    },
    /// §7.1.7 _Fail the WebSocket Connection_: we sent Close with `code` (or, during the
    /// opening handshake, an HTTP error or nothing: `None`) because the peer broke a rule.
    Failed {
        code: Option<CloseCode>,
        why: String,
    },
    /// Close the underlying TCP connection now (§7.1.1: "the underlying TCP connection, in
    /// most normal cases, SHOULD be closed first by the server"; §7.1.7 after a failure).
    CloseTransport,
}

impl fmt::Display for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Event::Open { protocol: None } => f.write_str("open"),
            Event::Open { protocol: Some(p) } => write!(f, "open with subprotocol {p:?}"),
            Event::Message(Message::Text(t)) => write!(f, "text message {t:?}"),
            Event::Message(Message::Binary(b)) => write!(f, "binary message of {} bytes: {}", b.len(), wire::hex(b)),
            Event::Ping(p) => write!(f, "ping {:?}", String::from_utf8_lossy(p)),
            Event::Pong(p) => write!(f, "pong {:?}", String::from_utf8_lossy(p)),
            Event::Closed { code, reason, clean } => {
                write!(f, "closed {} with code {code}", if *clean { "cleanly" } else { "uncleanly" })?;
                if !reason.is_empty() {
                    write!(f, ": {reason:?}")?;
                }
                Ok(())
            }
            Event::Failed { code: Some(code), why } => write!(f, "failed the connection with {code}: {why}"),
            Event::Failed { code: None, why } => write!(f, "failed the connection: {why}"),
            Event::CloseTransport => f.write_str("close the TCP connection"),
        }
    }
}

/// The peer broke a rule of RFC 6455 after the handshake. The connection failed with
/// [`ProtocolError::close_code`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProtocolError {
    Wire(WireError),
    /// RFC 6455 §5.1: "The server MUST close the connection upon receiving a frame that is
    /// not masked. In this case, a server MAY send a Close frame with a status code of 1002".
    UnmaskedClientFrame,
    /// RFC 6455 §5.1: "A client MUST close a connection if it detects a masked frame."
    MaskedServerFrame,
    /// RFC 6455 §5.4: a continuation frame with no fragmented message to continue.
    UnexpectedContinuation,
    /// RFC 6455 §5.4: "The fragments of one message MUST NOT be interleaved between the
    /// fragments of another message".
    ExpectedContinuation {
        opcode: Opcode,
    },
    /// RFC 6455 §8.1: "When an endpoint is to interpret a byte stream as UTF-8 but finds
    /// that the byte stream is not, in fact, a valid UTF-8 stream, that endpoint MUST _Fail
    /// the WebSocket Connection_." Closed with 1007 (§7.4.1).
    InvalidUtf8,
    /// §10.4: the message grows past our limit. Closed with 1009 (§7.4.1).
    MessageTooBig {
        len: u64,
        max: usize,
    },
}

impl ProtocolError {
    /// The status code the Close frame carries (RFC 6455 §7.4.1).
    pub fn close_code(&self) -> CloseCode {
        match self {
            ProtocolError::Wire(e) => e.close_code(),
            ProtocolError::InvalidUtf8 => CloseCode::INVALID_PAYLOAD,
            ProtocolError::MessageTooBig { .. } => CloseCode::MESSAGE_TOO_BIG,
            _ => CloseCode::PROTOCOL_ERROR,
        }
    }

    /// The section with the rule.
    pub fn rfc(&self) -> RfcRef {
        let section = match self {
            ProtocolError::Wire(WireError::ControlFrameTooLong { .. } | WireError::FragmentedControlFrame { .. }) => {
                "5.5"
            }
            ProtocolError::Wire(WireError::FrameTooBig { .. }) | ProtocolError::MessageTooBig { .. } => "10.4",
            ProtocolError::Wire(
                WireError::CloseBodyTooShort | WireError::InvalidCloseCode(_) | WireError::CloseReasonNotUtf8,
            ) => "5.5.1",
            ProtocolError::Wire(_) => "5.2",
            ProtocolError::UnmaskedClientFrame | ProtocolError::MaskedServerFrame => "5.1",
            ProtocolError::UnexpectedContinuation | ProtocolError::ExpectedContinuation { .. } => "5.4",
            ProtocolError::InvalidUtf8 => "8.1",
        };
        RfcRef { rfc: 6455, section: Cow::Borrowed(section) }
    }
}

impl fmt::Display for ProtocolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProtocolError::Wire(e) => e.fmt(f),
            ProtocolError::UnmaskedClientFrame => f.write_str("the client sent an unmasked frame"),
            ProtocolError::MaskedServerFrame => f.write_str("the server sent a masked frame"),
            ProtocolError::UnexpectedContinuation => f.write_str("a continuation frame with no message to continue"),
            ProtocolError::ExpectedContinuation { opcode } => {
                write!(f, "a {opcode} frame in the middle of a fragmented message")
            }
            ProtocolError::InvalidUtf8 => f.write_str("a text message that is not valid UTF-8"),
            ProtocolError::MessageTooBig { len, max } => {
                write!(f, "a message of {len} bytes exceeds the limit of {max}")
            }
        }
    }
}

/// The caller asked for something the machine cannot do now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UsageError {
    /// `text` in state CONNECTING, and the like.
    NotNow { command: &'static str, state: WsState },
    /// Only a client sends the opening handshake (§4.1).
    ServerCannotConnect,
    /// §7.4.1: 1005, 1006 and 1015 "MUST NOT be set as a status code in a Close control
    /// frame by an endpoint", nor may codes outside §7.4.2's ranges.
    InvalidCloseCode(u16),
    /// §5.5: control frames carry at most 125 bytes (a Close reason at most 123).
    ControlPayloadTooLong { len: usize },
    /// `fragmented <n>` needs 1 ≤ n ≤ the message's length in bytes.
    BadFragmentCount { n: usize, len: usize },
    /// The message exceeds our own `max_message`.
    MessageTooBig { len: usize, max: usize },
}

impl fmt::Display for UsageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UsageError::NotNow { command, state } => write!(f, "{command} in state {state}"),
            UsageError::ServerCannotConnect => f.write_str("connect: only a client opens a WebSocket"),
            UsageError::InvalidCloseCode(c) => write!(f, "close code {c} may not be sent in a Close frame"),
            UsageError::ControlPayloadTooLong { len } => {
                write!(f, "a control frame payload of {len} bytes: at most 125 allowed")
            }
            UsageError::BadFragmentCount { n, len } => write!(f, "cannot split {len} bytes into {n} fragments"),
            UsageError::MessageTooBig { len, max } => write!(f, "a message of {len} bytes exceeds the limit of {max}"),
        }
    }
}

/// What `handle_input` returns when it cannot do what it was asked, or the peer broke a
/// rule (the connection has then failed, and says so in [`Event::Failed`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WsError {
    Usage(UsageError),
    Handshake(HandshakeError),
    Protocol(ProtocolError),
}

impl fmt::Display for WsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WsError::Usage(e) => e.fmt(f),
            WsError::Handshake(e) => write!(f, "opening handshake failed: {e}"),
            WsError::Protocol(e) => write!(f, "protocol error: {e}"),
        }
    }
}

impl std::error::Error for WsError {}

/// The state with its data; only `set_state` changes it.
#[derive(Clone, Debug, PartialEq, Eq)]
enum State {
    /// CONNECTING, client: waiting for `connect`.
    Idle,
    /// CONNECTING, client: the request is sent; waiting for the 101.
    ExpectResponse {
        key: String,
    },
    /// CONNECTING, server: waiting for the request.
    ExpectRequest,
    Open,
    /// CLOSING: our Close is sent; waiting for the peer's until `deadline`.
    Closing {
        deadline: Instant,
    },
    Closed,
}

impl State {
    fn kind(&self) -> WsState {
        match self {
            State::Idle | State::ExpectResponse { .. } | State::ExpectRequest => WsState::Connecting,
            State::Open => WsState::Open,
            State::Closing { .. } => WsState::Closing,
            State::Closed => WsState::Closed,
        }
    }
}

/// A message whose first fragments have arrived (§5.4).
#[derive(Clone, Debug, PartialEq, Eq)]
struct Partial {
    text: bool,
    data: Vec<u8>,
}

/// One WebSocket endpoint.
#[derive(Clone, Debug)]
pub struct WebSocket {
    config: Config,
    state: State,
    rng: SeededRng,
    /// Received bytes not yet parsed: a partial handshake or frame.
    inbuf: Vec<u8>,
    partial: Option<Partial>,
    protocol: Option<String>,
    /// Sticky: the rule the peer broke, once it has.
    error: Option<WsError>,
    /// [`Event::CloseTransport`] went out: it is said once.
    transport_close_requested: bool,
    out: VecDeque<Output<WsState, Event>>,
}

impl WebSocket {
    pub fn new(config: Config) -> Self {
        let (state, label) = match config.role {
            Role::Client => (State::Idle, "ws-client"),
            Role::Server => (State::ExpectRequest, "ws-server"),
        };
        let rng = SeededRng::derive(config.seed, label);
        WebSocket {
            config,
            state,
            rng,
            inbuf: Vec::new(),
            partial: None,
            protocol: None,
            error: None,
            transport_close_requested: false,
            out: VecDeque::new(),
        }
    }

    pub fn role(&self) -> Role {
        self.config.role
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Whether data messages may be sent: OPEN only (§5.5.1: not after our Close).
    pub fn can_send(&self) -> bool {
        self.state == State::Open
    }

    /// The subprotocol agreed in the handshake.
    pub fn protocol(&self) -> Option<&str> {
        self.protocol.as_deref()
    }

    /// The rule the peer broke, if the connection failed.
    pub fn error(&self) -> Option<&WsError> {
        self.error.as_ref()
    }

    fn set_state(&mut self, to: State, cause: impl Into<Cow<'static, str>>, rfc: Option<RfcRef>) {
        let (from, to_kind) = (self.state.kind(), to.kind());
        assert!(from != WsState::Closed, "invalid state transition {from:?} -> {to_kind:?}");
        self.state = to;
        if from != to_kind {
            self.out.push_back(Output::Transition(Transition { from, to: to_kind, cause: cause.into(), rfc }));
        }
        if to_kind == WsState::Closed {
            self.inbuf.clear();
            self.partial = None;
        }
    }

    fn transmit(&mut self, bytes: Vec<u8>, reason: impl Into<Cow<'static, str>>, rfc: Option<RfcRef>) {
        self.out.push_back(Output::Transmit(Transmit {
            from: self.config.local,
            to: self.config.peer,
            bytes,
            reason: reason.into(),
            rfc,
        }));
    }

    fn event(&mut self, e: Event) {
        self.out.push_back(Output::Event(e));
    }

    /// Asks the transport to close the TCP connection, once.
    fn close_transport(&mut self) {
        if !std::mem::replace(&mut self.transport_close_requested, true) {
            self.event(Event::CloseTransport);
        }
    }

    /// The peer closed its side of the TCP connection (its FIN arrived).
    ///
    /// After the closing handshake that is how it should end: §7.1.1 "the underlying TCP
    /// connection, in most normal cases, SHOULD be closed first by the server", and the
    /// client closes its side in turn ([`Event::CloseTransport`]). Before it, the
    /// connection is lost: §7.1.5 "If _The WebSocket Connection is Closed_ and no Close
    /// control frame was received by the endpoint (such as could occur if the underlying
    /// transport connection is lost), _The WebSocket Connection Close Code_ is considered
    /// to be 1006", and it was not clean (§7.1.4).
    pub fn peer_closed(&mut self, now: Instant) {
        self.connection_lost(now);
        self.close_transport();
    }

    /// The TCP connection is gone (reset, timed out, or closed): if the WebSocket
    /// connection was not closed yet, it is now, uncleanly, with 1006 (§7.1.5).
    pub fn connection_lost(&mut self, _now: Instant) {
        if self.state == State::Closed {
            return;
        }
        let cause = match self.state {
            State::Open | State::Closing { .. } => "the TCP connection closed before the closing handshake completed",
            _ => "the TCP connection closed during the opening handshake",
        };
        self.set_state(State::Closed, cause, rfc("7.1.5"));
        self.event(Event::Closed { code: CloseCode::ABNORMAL_CLOSURE, reason: String::new(), clean: false });
    }

    /// Sends one frame: RFC 6455 §5.3 "The masking key is a 32-bit value chosen at random
    /// by the client ... MUST pick a fresh masking key from the set of allowed 32-bit
    /// values" for every frame; §5.1 "A server MUST NOT mask any frames".
    fn send_frame(&mut self, frame: Frame, reason: impl Into<Cow<'static, str>>, section: &'static str) {
        let frame = match self.config.role {
            Role::Client => frame.masked(self.rng.next_u32().to_be_bytes()),
            Role::Server => frame,
        };
        let reason = match self.config.role {
            Role::Client => {
                Cow::Owned(format!("{}, masked with a fresh key as every client frame is (§5.3)", reason.into()))
            }
            // As given: no copy of the text for every frame a server sends.
            Role::Server => reason.into(),
        };
        self.transmit(frame.to_bytes(), reason, rfc(section));
    }

    fn usage(&self, command: &'static str) -> WsError {
        WsError::Usage(UsageError::NotNow { command, state: self.state.kind() })
    }

    fn command(&mut self, now: Instant, cmd: Command) -> Result<(), WsError> {
        match cmd {
            Command::Connect => {
                if self.config.role == Role::Server {
                    return Err(WsError::Usage(UsageError::ServerCannotConnect));
                }
                if self.state != State::Idle {
                    return Err(self.usage("connect"));
                }
                let key = handshake::new_key(&mut self.rng);
                let request = ClientRequest {
                    host: self.config.host.clone(),
                    path: self.config.path.clone(),
                    key: key.clone(),
                    origin: self.config.origin.clone(),
                    protocols: self.config.protocols.clone(),
                };
                self.transmit(
                    request.to_bytes(),
                    "the opening handshake: an HTTP/1.1 GET asking to upgrade to WebSocket, with a fresh \
                     Sec-WebSocket-Key",
                    rfc("4.1"),
                );
                self.state = State::ExpectResponse { key };
                Ok(())
            }
            Command::Text(text) => {
                self.check_data("text", text.len())?;
                self.send_frame(
                    Frame::new(Opcode::Text, text.into_bytes()),
                    "a Text frame with FIN set: the whole message, UTF-8, in one frame",
                    "5.6",
                );
                Ok(())
            }
            Command::Binary(data) => {
                self.check_data("binary", data.len())?;
                self.send_frame(
                    Frame::new(Opcode::Binary, data),
                    "a Binary frame with FIN set: the whole message in one frame",
                    "5.6",
                );
                Ok(())
            }
            Command::Fragmented(n, text) => {
                self.check_data("fragmented", text.len())?;
                let bytes = text.into_bytes();
                if n == 0 || n > bytes.len().max(1) {
                    return Err(WsError::Usage(UsageError::BadFragmentCount { n, len: bytes.len() }));
                }
                let (base, extra) = (bytes.len() / n, bytes.len() % n);
                let mut at = 0;
                for i in 0..n {
                    let len = base + usize::from(i < extra);
                    let chunk = bytes[at..at + len].to_vec();
                    at += len;
                    let last = i + 1 == n;
                    let (opcode, reason) = match (i, last) {
                        (0, _) => (Opcode::Text, format!("fragment 1 of {n}: a Text frame with FIN clear")),
                        (_, false) => (
                            Opcode::Continuation,
                            format!("fragment {} of {n}: a Continuation frame with FIN clear", i + 1),
                        ),
                        (_, true) => (
                            Opcode::Continuation,
                            format!("fragment {n} of {n}: a Continuation frame with FIN set ends the message"),
                        ),
                    };
                    self.send_frame(Frame::new(opcode, chunk).with_fin(last), reason, "5.4");
                }
                Ok(())
            }
            Command::Ping(data) => {
                if !matches!(self.state, State::Open) {
                    return Err(self.usage("ping"));
                }
                if data.len() > MAX_CONTROL_PAYLOAD {
                    return Err(WsError::Usage(UsageError::ControlPayloadTooLong { len: data.len() }));
                }
                self.send_frame(
                    Frame::new(Opcode::Ping, data),
                    "a Ping: the peer must answer with a Pong carrying the same data",
                    "5.5.2",
                );
                Ok(())
            }
            Command::Close(code, reason) => {
                if self.state != State::Open {
                    return Err(self.usage("close"));
                }
                if let Some(c) = code {
                    if !c.is_valid() {
                        return Err(WsError::Usage(UsageError::InvalidCloseCode(c.0)));
                    }
                }
                let frame = Frame::close(code, &reason);
                if frame.payload.len() > MAX_CONTROL_PAYLOAD {
                    return Err(WsError::Usage(UsageError::ControlPayloadTooLong { len: frame.payload.len() }));
                }
                self.send_frame(
                    frame,
                    "a Close frame starts the closing handshake: no data frames may follow it",
                    "5.5.1",
                );
                let deadline = now + self.config.close_timeout;
                self.set_state(State::Closing { deadline }, "sent Close", rfc("7.1.2"));
                Ok(())
            }
        }
    }

    fn check_data(&self, command: &'static str, len: usize) -> Result<(), WsError> {
        // §5.5.1: "After sending a Close frame, the application MUST NOT send any more data
        // frames."
        if self.state != State::Open {
            return Err(self.usage(command));
        }
        if len > self.config.max_message {
            return Err(WsError::Usage(UsageError::MessageTooBig { len, max: self.config.max_message }));
        }
        Ok(())
    }

    fn receive(&mut self, bytes: &[u8]) -> Result<(), WsError> {
        if self.state == State::Closed {
            // §1.4: after the closing handshake, or a failure, nothing more is read.
            return Ok(());
        }
        if matches!(self.state, State::Open | State::Closing { .. }) && self.inbuf.is_empty() {
            // Nothing left over from before: frames are read straight from `bytes`, and
            // only an incomplete frame at the end is kept.
            let (used, result) = self.read_frames_from(bytes);
            if self.state != State::Closed {
                self.inbuf.extend_from_slice(&bytes[used..]);
            }
            return result;
        }
        self.inbuf.extend_from_slice(bytes);
        match self.state.clone() {
            State::Idle => self.fail_handshake(HandshakeError::DataBeforeHandshake),
            State::ExpectRequest => self.read_request(),
            State::ExpectResponse { key } => self.read_response(&key),
            State::Open | State::Closing { .. } => self.read_frames(),
            State::Closed => Ok(()),
        }
    }

    fn read_request(&mut self) -> Result<(), WsError> {
        match handshake::parse_request(&self.inbuf, self.config.max_handshake) {
            Ok(None) => Ok(()),
            Err(e) => self.fail_handshake(e),
            Ok(Some((req, n))) => {
                self.inbuf.drain(..n);
                // §4.2.2 /subprotocol/: "either a single value representing the
                // subprotocol the server is ready to use ... or null".
                let protocol = req.protocols.iter().find(|p| self.config.protocols.contains(p)).cloned();
                self.transmit(
                    handshake::server_response(&req.key, protocol.as_deref()),
                    "101 Switching Protocols: the server accepts, proving it read the key with Sec-WebSocket-Accept",
                    rfc("4.2.2"),
                );
                self.open(protocol, "received a valid opening handshake and sent 101 Switching Protocols", "4.2.2");
                // A client may not send frames before the 101 (§4.1), but any that came
                // in the same read are frames.
                self.read_frames()
            }
        }
    }

    fn read_response(&mut self, key: &str) -> Result<(), WsError> {
        match handshake::parse_response(&self.inbuf, self.config.max_handshake, key, &self.config.protocols) {
            Ok(None) => Ok(()),
            Err(e) => self.fail_handshake(e),
            Ok(Some((resp, n))) => {
                self.inbuf.drain(..n);
                self.open(resp.protocol, "received 101 Switching Protocols with the right Sec-WebSocket-Accept", "4.1");
                // The server may send frames right after its 101, in the same segment.
                self.read_frames()
            }
        }
    }

    fn open(&mut self, protocol: Option<String>, cause: &'static str, section: &'static str) {
        self.protocol = protocol.clone();
        self.set_state(State::Open, cause, rfc(section));
        self.event(Event::Open { protocol });
    }

    /// The opening handshake failed: the server answers with an HTTP error (§4.2.1, §4.4),
    /// the client fails the connection (§4.1). Either way TCP is closed.
    fn fail_handshake(&mut self, e: HandshakeError) -> Result<(), WsError> {
        if self.config.role == Role::Server {
            if let Some(response) = e.http_response() {
                let status = String::from_utf8_lossy(response.get(9..12).unwrap_or(b"???")).into_owned();
                self.transmit(
                    response,
                    format!("HTTP {status}: the server refuses the opening handshake"),
                    Some(e.rfc()),
                );
            }
        }
        self.set_state(State::Closed, format!("opening handshake failed: {e}"), Some(e.rfc()));
        self.event(Event::Failed { code: None, why: e.to_string() });
        self.close_transport();
        let err = WsError::Handshake(e);
        self.error = Some(err.clone());
        Err(err)
    }

    /// §7.1.7 _Fail the WebSocket Connection_: "the endpoint MUST _Close the WebSocket
    /// Connection_, and MAY report the problem to the user ... An endpoint MAY send a Close
    /// frame with an appropriate status code before closing". We send one unless ours is
    /// already sent.
    fn fail(&mut self, e: ProtocolError) -> Result<(), WsError> {
        let code = e.close_code();
        let sent = if self.state == State::Open {
            let reason = format!("failing the connection with {code}: {e}");
            // The reason fits the 123 bytes a Close leaves after the code (§5.5).
            let text = e.to_string();
            let mut end = text.len().min(MAX_CONTROL_PAYLOAD - 2);
            while !text.is_char_boundary(end) {
                end -= 1;
            }
            self.send_frame(Frame::close(Some(code), &text[..end]), reason, "7.1.7");
            Some(code)
        } else {
            None
        };
        self.set_state(State::Closed, format!("failed the connection: {e}"), Some(e.rfc()));
        self.event(Event::Failed { code: sent, why: e.to_string() });
        self.close_transport();
        let err = WsError::Protocol(e);
        self.error = Some(err.clone());
        Err(err)
    }

    /// Reads the frames in `inbuf`, keeping what follows the last whole one.
    fn read_frames(&mut self) -> Result<(), WsError> {
        let mut buf = std::mem::take(&mut self.inbuf);
        let (used, result) = self.read_frames_from(&buf);
        // Once closed (§1.4), nothing more is read and nothing is kept.
        if self.state != State::Closed {
            buf.drain(..used);
            self.inbuf = buf;
        }
        result
    }

    /// Reads and acts on every whole frame at the start of `buf`; returns how many bytes
    /// they took. Each header is parsed once, and the payload copied once (unmasked on
    /// the way, §5.3) out of `buf`.
    fn read_frames_from(&mut self, buf: &[u8]) -> (usize, Result<(), WsError>) {
        let mut at = 0;
        while matches!(self.state, State::Open | State::Closing { .. }) {
            let rest = &buf[at..];
            let (header, header_len) = match FrameHeader::parse(rest) {
                Ok(Some(h)) => h,
                Ok(None) => break,
                Err(e) => return (at, self.fail(ProtocolError::Wire(e))),
            };
            match (self.config.role, header.mask.is_some()) {
                (Role::Server, false) => return (at, self.fail(ProtocolError::UnmaskedClientFrame)),
                (Role::Client, true) => return (at, self.fail(ProtocolError::MaskedServerFrame)),
                _ => {}
            }
            // Checked on the header, before the payload is buffered (§10.4); the limit
            // leaves room for the header, as `Frame::parse_limited`'s does.
            let max = (self.config.max_frame as u64).min((usize::MAX - 16) as u64);
            if header.payload_len > max {
                let e = WireError::FrameTooBig { len: header.payload_len, max };
                return (at, self.fail(ProtocolError::Wire(e)));
            }
            let len = header.payload_len as usize;
            let Some(payload) = rest.get(header_len..header_len + len) else {
                let so_far = self.partial.as_ref().map_or(0, |p| p.data.len() as u64);
                if !header.opcode.is_control() && so_far + header.payload_len > self.config.max_message as u64 {
                    let max = self.config.max_message;
                    return (at, self.fail(ProtocolError::MessageTooBig { len: so_far + header.payload_len, max }));
                }
                break;
            };
            at += header_len + len;
            if let Err(e) = self.on_frame(Frame::from_wire(header, payload)) {
                return (at, Err(e));
            }
        }
        (at, Ok(()))
    }

    fn on_frame(&mut self, frame: Frame) -> Result<(), WsError> {
        let Frame { header, payload } = frame;
        match header.opcode {
            Opcode::Text | Opcode::Binary => {
                if self.partial.is_some() {
                    return self.fail(ProtocolError::ExpectedContinuation { opcode: header.opcode });
                }
                self.data(Partial { text: header.opcode == Opcode::Text, data: Vec::new() }, payload, header.fin)
            }
            Opcode::Continuation => match self.partial.take() {
                None => self.fail(ProtocolError::UnexpectedContinuation),
                Some(p) => self.data(p, payload, header.fin),
            },
            Opcode::Ping => {
                self.event(Event::Ping(payload.clone()));
                // §5.5.2: "Upon receipt of a Ping frame, an endpoint MUST send a Pong frame in
                // response, unless it already received a Close frame. ... A Pong frame sent in
                // response to a Ping frame must have identical "Application data"".
                self.send_frame(
                    Frame::new(Opcode::Pong, payload),
                    "a Pong answering the Ping, with the same application data",
                    "5.5.2",
                );
                Ok(())
            }
            Opcode::Pong => {
                self.event(Event::Pong(payload));
                Ok(())
            }
            Opcode::Close => self.on_close(&payload),
            // FrameHeader::parse refuses reserved opcodes.
            Opcode::Reserved(n) => self.fail(ProtocolError::Wire(WireError::ReservedOpcode(n))),
        }
    }

    /// A data frame: the whole message, or a fragment of it (§5.4).
    fn data(&mut self, mut partial: Partial, payload: Vec<u8>, fin: bool) -> Result<(), WsError> {
        let len = partial.data.len() + payload.len();
        if len > self.config.max_message {
            return self.fail(ProtocolError::MessageTooBig { len: len as u64, max: self.config.max_message });
        }
        if partial.data.is_empty() {
            // The first (often the only) fragment: its payload is the message so far.
            partial.data = payload;
        } else {
            partial.data.extend_from_slice(&payload);
        }
        if !fin {
            self.partial = Some(partial);
            return Ok(());
        }
        let message = if partial.text {
            match String::from_utf8(partial.data) {
                Ok(s) => Message::Text(s),
                Err(_) => return self.fail(ProtocolError::InvalidUtf8),
            }
        } else {
            Message::Binary(partial.data)
        };
        self.event(Event::Message(message));
        Ok(())
    }

    fn on_close(&mut self, body: &[u8]) -> Result<(), WsError> {
        let (code, reason) = match wire::parse_close_body(body) {
            Ok(Some((code, reason))) => (code, reason),
            // §7.1.5: "If this Close control frame contains no status code, _The WebSocket
            // Connection Close Code_ is considered to be 1005."
            Ok(None) => (CloseCode::NO_STATUS_RCVD, String::new()),
            Err(e) => return self.fail(ProtocolError::Wire(e)),
        };
        if self.state == State::Open {
            // §5.5.1: "If an endpoint receives a Close frame and did not previously send a
            // Close frame, the endpoint MUST send a Close frame in response. (When sending a
            // Close frame in response, the endpoint typically echos the status code it
            // received.)"
            let echo = (!body.is_empty()).then_some(code);
            self.send_frame(Frame::close(echo, ""), "a Close answering the peer's, echoing its status code", "5.5.1");
            self.set_state(State::Closed, "received Close and answered it", rfc("7.1.4"));
        } else {
            self.set_state(State::Closed, "received the peer's Close answering ours", rfc("7.1.4"));
        }
        self.event(Event::Closed { code, reason, clean: true });
        // §7.1.1: "the underlying TCP connection, in most normal cases, SHOULD be closed
        // first by the server". The client waits for the server's FIN.
        if self.config.role == Role::Server {
            self.close_transport();
        }
        Ok(())
    }

    fn timeout(&mut self, now: Instant) {
        if let State::Closing { deadline } = self.state {
            if now >= deadline {
                // §7.1.5: "If _The WebSocket Connection is Closed_ and no Close control frame
                // was received by the endpoint ..., _The WebSocket Connection Close Code_ is
                // considered to be 1006."
                self.set_state(State::Closed, "no Close from the peer before the timeout", rfc("7.1.1"));
                self.event(Event::Closed { code: CloseCode::ABNORMAL_CLOSURE, reason: String::new(), clean: false });
                self.close_transport();
            }
        }
    }
}

impl Machine for WebSocket {
    type State = WsState;
    type Command = Command;
    type Event = Event;
    type Error = WsError;

    fn state(&self) -> WsState {
        self.state.kind()
    }

    fn handle_input(&mut self, now: Instant, input: Input<'_, Command>) -> Result<(), WsError> {
        match input {
            Input::Command(cmd) => self.command(now, cmd),
            Input::Receive { bytes, .. } => self.receive(bytes),
            Input::Timeout => {
                self.timeout(now);
                Ok(())
            }
        }
    }

    fn poll_output(&mut self, _now: Instant) -> Output<WsState, Event> {
        self.out.pop_front().unwrap_or(Output::Idle {
            wake_at: match self.state {
                State::Closing { deadline } => Some(deadline),
                _ => None,
            },
        })
    }

    fn suggested_commands(&self) -> Vec<Command> {
        match self.state {
            State::Idle => vec![Command::Connect],
            State::Open => vec![
                Command::Text("Hello".into()),
                Command::Binary(vec![0xde, 0xad, 0xbe, 0xef]),
                Command::Fragmented(2, "Hello".into()),
                Command::Ping(b"Hello".to_vec()),
                Command::Close(Some(CloseCode::NORMAL), "bye".into()),
            ],
            _ => Vec::new(),
        }
    }

    fn diagrams(&self) -> Vec<wirelab_core::StateDiagram> {
        vec![diagram()]
    }

    fn annotate(bytes: &[u8]) -> Annotation {
        wire::annotate(bytes)
    }
}

/// A WebSocket over a byte stream: the client starts the opening handshake when TCP
/// connects; [`Event::CloseTransport`] closes TCP; the peer's FIN ends the connection
/// ([`WebSocket::peer_closed`]).
impl StreamApp for WebSocket {
    const PROTOCOL: &'static str = "WebSocket";

    /// RFC 6455 §4.1: "Once a connection to the server has been established ..., the
    /// client MUST send an opening handshake to the server": a client still waiting for
    /// `connect` sends it as soon as TCP is ESTABLISHED.
    fn on_connected(&mut self, now: Instant) -> Result<(), WsError> {
        if self.config.role == Role::Client && self.state == State::Idle {
            return self.command(now, Command::Connect);
        }
        Ok(())
    }

    fn on_peer_closed(&mut self, now: Instant) -> Result<(), WsError> {
        self.peer_closed(now);
        Ok(())
    }

    fn on_transport_lost(&mut self, now: Instant) -> Result<(), WsError> {
        self.connection_lost(now);
        Ok(())
    }

    fn wants_transport_close(event: &Event) -> bool {
        matches!(event, Event::CloseTransport)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_round_trip_through_their_console_lines() {
        let cmds = [
            Command::Connect,
            Command::Text("Hello world".into()),
            Command::Text(String::new()),
            Command::Binary(vec![0, 0xff, 0x10]),
            Command::Fragmented(3, "Hello world".into()),
            Command::Ping(b"hi".to_vec()),
            Command::Ping(Vec::new()),
            Command::Close(None, String::new()),
            Command::Close(Some(CloseCode::NORMAL), String::new()),
            Command::Close(Some(CloseCode::GOING_AWAY), "gone home".into()),
        ];
        for c in cmds {
            assert_eq!(c.to_string().parse::<Command>(), Ok(c.clone()), "{c}");
        }
        assert_eq!("binary 48 65 6c".parse(), Ok(Command::Binary(b"Hel".to_vec())));
        assert!("binary 4".parse::<Command>().is_err());
        assert!("fragmented x Hello".parse::<Command>().is_err());
        assert!("close abc".parse::<Command>().is_err());
        let e = "shout hi".parse::<Command>().expect_err("unknown verb");
        assert!(e.to_string().contains("text <message>"), "{e}");
    }

    #[test]
    fn states_print_as_the_websocket_api_spells_them() {
        let names: Vec<String> = [WsState::Connecting, WsState::Open, WsState::Closing, WsState::Closed]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(names, ["CONNECTING", "OPEN", "CLOSING", "CLOSED"]);
    }

    /// A client and a server, the bytes of each handed to the other until both are quiet;
    /// returns the events each reported.
    fn exchange(c: &mut WebSocket, s: &mut WebSocket) -> (Vec<Event>, Vec<Event>) {
        fn step(from: &mut WebSocket, to: &mut WebSocket, events: &mut Vec<Event>) -> bool {
            let now = Instant::ZERO;
            let mut moved = false;
            loop {
                match from.poll_output(now) {
                    Output::Transmit(t) => {
                        moved = true;
                        let _ = to.handle_input(now, Input::Receive { from: t.from, bytes: &t.bytes });
                    }
                    Output::Event(e) => events.push(e),
                    Output::Idle { .. } => return moved,
                    _ => {}
                }
            }
        }
        let (mut ce, mut se) = (Vec::new(), Vec::new());
        while step(c, s, &mut ce) | step(s, c, &mut se) {}
        (ce, se)
    }

    fn pair() -> (WebSocket, WebSocket) {
        let (a, b) = ("192.0.2.10:49152".parse().expect("addr"), "192.0.2.80:80".parse().expect("addr"));
        let mut c = WebSocket::new(Config::client(a, b, 1));
        let mut s = WebSocket::new(Config::server(b, a, 1));
        c.on_connected(Instant::ZERO).expect("sends the handshake");
        exchange(&mut c, &mut s);
        assert_eq!((c.state(), s.state()), (WsState::Open, WsState::Open));
        (c, s)
    }

    #[test]
    fn on_connected_starts_the_client_handshake_only() {
        let (mut c, s) = pair();
        // Already open: nothing more to send.
        c.on_connected(Instant::ZERO).expect("no-op");
        assert!(matches!(c.poll_output(Instant::ZERO), Output::Idle { .. }));
        assert_eq!(s.state(), WsState::Open);
    }

    #[test]
    fn a_fin_before_the_closing_handshake_is_1006_unclean() {
        let (mut c, _) = pair();
        c.peer_closed(Instant::ZERO);
        let mut events = Vec::new();
        loop {
            match c.poll_output(Instant::ZERO) {
                Output::Event(e) => events.push(e),
                Output::Idle { .. } => break,
                _ => {}
            }
        }
        assert_eq!(c.state(), WsState::Closed);
        assert_eq!(
            events,
            [
                Event::Closed { code: CloseCode::ABNORMAL_CLOSURE, reason: String::new(), clean: false },
                Event::CloseTransport
            ]
        );
    }

    #[test]
    fn after_a_clean_close_the_servers_fin_makes_the_client_close_tcp_once() {
        let (mut c, mut s) = pair();
        c.handle_input(Instant::ZERO, Input::Command(Command::Close(Some(CloseCode::NORMAL), String::new())))
            .expect("close");
        let (ce, se) = exchange(&mut c, &mut s);
        // The server closes TCP first (§7.1.1); the client waits.
        assert!(se.contains(&Event::CloseTransport));
        assert!(!ce.contains(&Event::CloseTransport));
        c.peer_closed(Instant::ZERO);
        c.peer_closed(Instant::ZERO);
        s.peer_closed(Instant::ZERO);
        let (ce, se) = exchange(&mut c, &mut s);
        assert_eq!(ce, [Event::CloseTransport]);
        assert!(se.is_empty(), "the server asked already: {se:?}");
        assert!(WebSocket::wants_transport_close(&Event::CloseTransport));
    }
}
