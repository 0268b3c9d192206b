//! A POP3 client (RFC 1939) for one connection: it waits for the greeting, then sends
//! the commands it is given one at a time, each after the previous response, and reads
//! multi-line responses (LIST, RETR, TOP, UIDL), removing the byte-stuffing (§3).
//!
//! `apop <name> <secret>` computes the digest from the greeting's timestamp (§7), so the
//! secret never crosses the wire; `login <name> <password>` is USER then PASS.

use crate::Pop3Error;
use crate::annotate;
use crate::md5::apop_digest;
use crate::wire::{self, Pop3Command, Response};
use std::borrow::Cow;
use std::collections::VecDeque;
use std::fmt;
use std::net::SocketAddr;
use std::str::FromStr;
use wirelab_core::{
    Annotation, Input, Instant, Machine, Output, RfcRef, StreamApp, Transition, Transmit, UnknownCommand,
};

const fn rfc(section: &'static str) -> RfcRef {
    RfcRef::new(1939, section)
}

/// The session's state as the client sees it: RFC 1939 §3's, plus the ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ClientState {
    /// The transport is not open yet.
    Connecting,
    /// Waiting for the greeting (§4).
    Greeting,
    /// Not logged in yet (§3).
    Authorization,
    /// Logged in (§3).
    Transaction,
    /// QUIT sent from TRANSACTION; the server deletes and signs off (§6).
    Update,
    Closed,
}

impl fmt::Display for ClientState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ClientState::Connecting => "CONNECTING",
            ClientState::Greeting => "GREETING",
            ClientState::Authorization => "AUTHORIZATION",
            ClientState::Transaction => "TRANSACTION",
            ClientState::Update => "UPDATE",
            ClientState::Closed => "CLOSED",
        })
    }
}

/// The client's states and transitions: RFC 1939 §3's AUTHORIZATION, TRANSACTION and
/// UPDATE, with the wait for the greeting (§4) and the ends, for the UI's state diagram.
/// Names as [`ClientState`] prints them.
pub fn client_diagram() -> wirelab_core::StateDiagram {
    let mut d = wirelab_core::StateDiagram::new("POP3 client", Some(rfc("3")));
    let connecting = d.state("CONNECTING", 0, 0);
    let greeting = d.state("GREETING", 1, 0);
    let authorization = d.state("AUTHORIZATION", 1, 1);
    let transaction = d.state("TRANSACTION", 1, 2);
    let update = d.state("UPDATE", 1, 3);
    let closed = d.state("CLOSED", 0, 3);
    d.edge(connecting, greeting, "connection open / wait for the greeting (§4)");
    d.edge(greeting, authorization, "rcv +OK greeting / snd USER or APOP");
    d.edge(authorization, transaction, "rcv +OK to PASS or APOP (§7)");
    d.edge(transaction, update, "snd QUIT (§6)");
    d.edge(update, closed, "rcv +OK signing off / close");
    d.from_any(closed, "QUIT in AUTHORIZATION, -ERR greeting, or the server closed");
    d
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientConfig {
    pub local: SocketAddr,
    pub server: SocketAddr,
}

impl ClientConfig {
    pub fn new(local: SocketAddr, server: SocketAddr) -> Self {
        ClientConfig { local, server }
    }
}

/// One console line for the client.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClientCommand {
    /// `login <name> <password>`: USER, then PASS if USER got +OK.
    Login { user: String, pass: String },
    /// `apop <name> <secret>`: APOP with MD5(timestamp + secret) (§7).
    Apop { user: String, secret: String },
    /// Any POP3 command as typed: `USER mrose`, `STAT`, `LIST`, `RETR 1`, `DELE 1`,
    /// `TOP 1 10`, `UIDL`, `NOOP`, `RSET`, `QUIT`.
    Pop3(Pop3Command),
    /// `eof`: the transport saw the server close its side.
    Eof,
}

const EXPECTED: &str = "login <name> <password>, apop <name> <secret>, USER <name>, PASS <password>, STAT, \
                        LIST [n], RETR <n>, DELE <n>, TOP <n> <lines>, UIDL [n], NOOP, RSET, QUIT or eof";

impl fmt::Display for ClientCommand {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClientCommand::Login { user, pass } => write!(f, "login {user} {pass}"),
            ClientCommand::Apop { user, secret } => write!(f, "apop {user} {secret}"),
            ClientCommand::Pop3(c) => write!(f, "{c}"),
            ClientCommand::Eof => f.write_str("eof"),
        }
    }
}

impl FromStr for ClientCommand {
    type Err = UnknownCommand;
    fn from_str(s: &str) -> Result<Self, UnknownCommand> {
        let line = s.trim();
        let bad = || UnknownCommand { line: line.to_string(), expected: EXPECTED };
        let (verb, rest) = line.split_once(' ').unwrap_or((line, ""));
        match verb {
            "login" | "apop" => {
                let (user, secret) = rest.trim().split_once(' ').ok_or_else(bad)?;
                if user.is_empty() || secret.is_empty() {
                    return Err(bad());
                }
                let (user, secret) = (user.to_string(), secret.to_string());
                Ok(if verb == "login" {
                    ClientCommand::Login { user, pass: secret }
                } else {
                    ClientCommand::Apop { user, secret }
                })
            }
            "eof" if rest.is_empty() => Ok(ClientCommand::Eof),
            // APOP is typed through `apop`, with the secret: not a digest by hand.
            _ => match wire::parse_command(line.as_bytes()) {
                Ok(Pop3Command::Apop { .. }) | Err(_) => Err(bad()),
                Ok(c) => Ok(ClientCommand::Pop3(c)),
            },
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClientEvent {
    /// The greeting, and its APOP timestamp if it has one.
    Greeting {
        text: String,
        timestamp: Option<String>,
    },
    /// A positive one-line response.
    Ok {
        command: String,
        text: String,
    },
    /// A negative response.
    Err {
        command: String,
        text: String,
    },
    /// The answer to STAT.
    Stat {
        count: u64,
        size: u64,
    },
    /// The answer to LIST (one entry for `LIST n`): message number and size.
    Listing(Vec<(u32, u64)>),
    /// The answer to UIDL: message number and unique-id.
    Uids(Vec<(u32, String)>),
    /// The answer to RETR: the message, unstuffed.
    Message {
        n: u32,
        content: Vec<u8>,
    },
    /// The answer to TOP.
    Top {
        n: u32,
        content: Vec<u8>,
    },
    /// The server broke the protocol.
    ProtocolError(String),
    CloseConnection,
}

impl fmt::Display for ClientEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClientEvent::Greeting { text, .. } => write!(f, "greeting: {text}"),
            ClientEvent::Ok { command, text } => write!(f, "{command}: +OK {text}"),
            ClientEvent::Err { command, text } => write!(f, "{command}: -ERR {text}"),
            ClientEvent::Stat { count, size } => write!(f, "{count} messages, {size} octets"),
            ClientEvent::Listing(l) => {
                let v: Vec<String> = l.iter().map(|(n, s)| format!("{n}: {s} octets")).collect();
                write!(f, "listing: {}", v.join(", "))
            }
            ClientEvent::Uids(l) => {
                let v: Vec<String> = l.iter().map(|(n, u)| format!("{n}: {u}")).collect();
                write!(f, "unique-ids: {}", v.join(", "))
            }
            ClientEvent::Message { n, content } => write!(f, "message {n}: {} octets", content.len()),
            ClientEvent::Top { n, content } => write!(f, "top of message {n}: {} octets", content.len()),
            ClientEvent::ProtocolError(e) => write!(f, "protocol error: {e}"),
            ClientEvent::CloseConnection => f.write_str("close the connection"),
        }
    }
}

/// What is queued: a command to send, or the second half of `login`.
#[derive(Clone, Debug)]
enum Pending {
    Command(Pop3Command),
    /// APOP: the digest is computed when it is sent, from the greeting.
    Apop {
        user: String,
        secret: String,
    },
    /// PASS after USER, sent only if USER was accepted.
    PassAfterUser(String),
}

/// The client side of one POP3 connection.
#[derive(Clone, Debug)]
pub struct Pop3Client {
    config: ClientConfig,
    state: ClientState,
    buf: Vec<u8>,
    queue: VecDeque<Pending>,
    /// The command whose response is awaited.
    outstanding: Option<Pop3Command>,
    timestamp: Option<String>,
    out: VecDeque<Output<ClientState, ClientEvent>>,
}

impl Pop3Client {
    pub fn new(config: ClientConfig) -> Self {
        Pop3Client {
            config,
            state: ClientState::Connecting,
            buf: Vec::new(),
            queue: VecDeque::new(),
            outstanding: None,
            timestamp: None,
            out: VecDeque::new(),
        }
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

    fn event(&mut self, e: ClientEvent) {
        self.out.push_back(Output::Event(e));
    }

    fn close(&mut self, cause: impl Into<Cow<'static, str>>, rfc: RfcRef) {
        self.queue.clear();
        self.outstanding = None;
        self.set_state(ClientState::Closed, cause, rfc);
        self.event(ClientEvent::CloseConnection);
    }

    pub fn connected(&mut self) {
        if self.state == ClientState::Connecting {
            self.set_state(ClientState::Greeting, "connection opened; the server greets first", rfc("4"));
        }
    }

    pub fn peer_closed(&mut self) {
        if self.state == ClientState::Closed {
            return;
        }
        if self.outstanding.is_some() || self.state != ClientState::Update {
            self.event(ClientEvent::ProtocolError("the server closed the connection".into()));
        }
        self.close("the server closed the connection", rfc("6"));
    }

    fn send(&mut self, cmd: Pop3Command) {
        let why: Cow<'static, str> = match &cmd {
            Pop3Command::Pass(_) => "PASS: the password, in the clear (§7, §13)".into(),
            Pop3Command::Apop { .. } => "APOP: the name and MD5(timestamp + secret); the secret stays here (§7)".into(),
            Pop3Command::Quit => "QUIT: ends the session (and, after login, deletes the marked messages)".into(),
            c => format!("{}: one command, then wait for its response", c.keyword()).into(),
        };
        let section = match &cmd {
            Pop3Command::User(_) | Pop3Command::Pass(_) | Pop3Command::Apop { .. } => "7",
            Pop3Command::Top { .. } | Pop3Command::Uidl(_) => "7",
            Pop3Command::Quit => "6",
            _ => "5",
        };
        self.out.push_back(Output::Transmit(Transmit {
            from: self.config.local,
            to: self.config.server,
            bytes: cmd.to_bytes(),
            reason: why,
            rfc: Some(rfc(section)),
        }));
        if cmd == Pop3Command::Quit && self.state == ClientState::Transaction {
            self.set_state(ClientState::Update, "QUIT sent in TRANSACTION", rfc("6"));
        }
        self.outstanding = Some(cmd);
    }

    /// Sends the next queued command if nothing is outstanding.
    fn next(&mut self) {
        if self.outstanding.is_some() || !matches!(self.state, ClientState::Authorization | ClientState::Transaction) {
            return;
        }
        let Some(p) = self.queue.pop_front() else { return };
        match p {
            Pending::Command(c) => self.send(c),
            Pending::PassAfterUser(pass) => self.send(Pop3Command::Pass(pass)),
            Pending::Apop { user, secret } => match self.timestamp.clone() {
                Some(ts) => self.send(Pop3Command::Apop { name: user, digest: apop_digest(&ts, &secret) }),
                None => {
                    self.event(ClientEvent::Err {
                        command: "APOP".into(),
                        text: "the greeting has no timestamp: the server does not offer APOP".into(),
                    });
                    self.next();
                }
            },
        }
    }

    fn on_response(&mut self, r: Response) {
        if self.state == ClientState::Greeting {
            if !r.status.ok {
                self.event(ClientEvent::Err { command: "greeting".into(), text: r.status.text });
                return self.close("the server refused the connection", rfc("4"));
            }
            // §7: the timestamp is "a msg-id" in angle brackets within the greeting.
            let t = &r.status.text;
            let timestamp = t.find('<').and_then(|s| t[s..].find('>').map(|e| t[s..s + e + 1].to_string()));
            self.timestamp = timestamp.clone();
            self.event(ClientEvent::Greeting { text: r.status.text, timestamp });
            self.set_state(ClientState::Authorization, "greeting received", rfc("4"));
            return self.next();
        }
        let Some(cmd) = self.outstanding.take() else {
            self.event(ClientEvent::ProtocolError(format!("a response nobody asked for: {}", r.status)));
            return;
        };
        let command = cmd.to_string();
        let command = if let Pop3Command::Pass(_) = cmd { "PASS".to_string() } else { command };
        if !r.status.ok {
            if matches!(cmd, Pop3Command::User(_)) {
                // No PASS after a refused USER.
                if let Some(Pending::PassAfterUser(_)) = self.queue.front() {
                    self.queue.pop_front();
                }
            }
            self.event(ClientEvent::Err { command, text: r.status.text });
            if cmd == Pop3Command::Quit {
                return self.close("QUIT answered -ERR", rfc("6"));
            }
            return self.next();
        }
        let body = r.body.unwrap_or_default();
        let event = match &cmd {
            Pop3Command::Stat => {
                let mut parts = r.status.text.split(' ');
                match (parts.next().and_then(|c| c.parse().ok()), parts.next().and_then(|s| s.parse().ok())) {
                    (Some(count), Some(size)) => ClientEvent::Stat { count, size },
                    _ => ClientEvent::ProtocolError(format!("a STAT answer is +OK nn mm: {}", r.status)),
                }
            }
            Pop3Command::List(Some(_)) => listing(r.status.text.as_bytes()).map_or_else(
                || ClientEvent::ProtocolError(format!("a scan listing is +OK n size: {}", r.status)),
                ClientEvent::Listing,
            ),
            Pop3Command::List(None) => listing(&body).map_or_else(
                || ClientEvent::ProtocolError("a scan listing line is n size".into()),
                ClientEvent::Listing,
            ),
            Pop3Command::Uidl(Some(_)) => ClientEvent::Uids(uids(r.status.text.as_bytes())),
            Pop3Command::Uidl(None) => ClientEvent::Uids(uids(&body)),
            Pop3Command::Retr(n) => ClientEvent::Message { n: *n, content: body },
            Pop3Command::Top { msg, .. } => ClientEvent::Top { n: *msg, content: body },
            _ => ClientEvent::Ok { command, text: r.status.text },
        };
        self.event(event);
        match cmd {
            Pop3Command::Pass(_) | Pop3Command::Apop { .. } => {
                self.set_state(ClientState::Transaction, "logged in", rfc("3"));
            }
            Pop3Command::Quit => return self.close("QUIT answered", rfc("6")),
            _ => {}
        }
        self.next();
    }

    fn receive(&mut self, bytes: &[u8]) {
        self.connected();
        self.buf.extend_from_slice(bytes);
        while self.state != ClientState::Closed {
            let multi = self.outstanding.as_ref().is_some_and(Pop3Command::multi_line);
            match wire::parse_response(&self.buf, multi) {
                Ok(Some((r, n))) => {
                    self.buf.drain(..n);
                    self.on_response(r);
                }
                Ok(None) => return,
                Err(e) => {
                    self.buf.clear();
                    self.event(ClientEvent::ProtocolError(format!("malformed response: {e}")));
                    self.close("malformed response", rfc("3"));
                }
            }
        }
    }
}

/// `n size` lines (§5).
fn listing(body: &[u8]) -> Option<Vec<(u32, u64)>> {
    String::from_utf8_lossy(body)
        .lines()
        .filter(|l| !l.is_empty())
        .map(|l| {
            let (n, s) = l.split_once(' ')?;
            Some((n.parse().ok()?, s.split(' ').next()?.parse().ok()?))
        })
        .collect()
}

/// `n unique-id` lines (§7).
fn uids(body: &[u8]) -> Vec<(u32, String)> {
    String::from_utf8_lossy(body)
        .lines()
        .filter_map(|l| {
            let (n, u) = l.split_once(' ')?;
            Some((n.parse().ok()?, u.to_string()))
        })
        .collect()
}

impl Machine for Pop3Client {
    type State = ClientState;
    type Command = ClientCommand;
    type Event = ClientEvent;
    type Error = Pop3Error;

    fn state(&self) -> ClientState {
        self.state
    }

    fn handle_input(&mut self, _now: Instant, input: Input<'_, ClientCommand>) -> Result<(), Pop3Error> {
        if self.state == ClientState::Closed {
            return match input {
                Input::Command(ClientCommand::Pop3(_) | ClientCommand::Login { .. } | ClientCommand::Apop { .. }) => {
                    Err(Pop3Error::Closed)
                }
                _ => Ok(()),
            };
        }
        match input {
            Input::Receive { bytes, .. } => self.receive(bytes),
            Input::Timeout => {}
            Input::Command(ClientCommand::Eof) => self.peer_closed(),
            Input::Command(ClientCommand::Login { user, pass }) => {
                self.queue.push_back(Pending::Command(Pop3Command::User(user)));
                self.queue.push_back(Pending::PassAfterUser(pass));
                self.next();
            }
            Input::Command(ClientCommand::Apop { user, secret }) => {
                self.queue.push_back(Pending::Apop { user, secret });
                self.next();
            }
            Input::Command(ClientCommand::Pop3(c)) => {
                self.queue.push_back(Pending::Command(c));
                self.next();
            }
        }
        Ok(())
    }

    fn poll_output(&mut self, _now: Instant) -> Output<ClientState, ClientEvent> {
        self.out.pop_front().unwrap_or(Output::Idle { wake_at: None })
    }

    fn suggested_commands(&self) -> Vec<ClientCommand> {
        use Pop3Command::*;
        match self.state {
            ClientState::Connecting | ClientState::Greeting | ClientState::Authorization => {
                vec![ClientCommand::Login { user: "student".into(), pass: "secret".into() }, ClientCommand::Pop3(Quit)]
            }
            ClientState::Transaction => {
                [Stat, List(None), Retr(1), Dele(1), Top { msg: 1, lines: 5 }, Uidl(None), Rset, Quit]
                    .into_iter()
                    .map(ClientCommand::Pop3)
                    .collect()
            }
            ClientState::Update | ClientState::Closed => Vec::new(),
        }
    }

    fn annotate(bytes: &[u8]) -> Annotation {
        annotate::annotate(bytes)
    }

    fn diagrams(&self) -> Vec<wirelab_core::StateDiagram> {
        vec![client_diagram()]
    }
}

/// The client over a byte stream: it waits for the greeting once the stream opens, and
/// [`ClientEvent::CloseConnection`] closes it.
impl StreamApp for Pop3Client {
    const PROTOCOL: &'static str = "POP3";

    fn on_connected(&mut self, _now: Instant) -> Result<(), Pop3Error> {
        self.connected();
        Ok(())
    }

    fn on_peer_closed(&mut self, _now: Instant) -> Result<(), Pop3Error> {
        self.peer_closed();
        Ok(())
    }

    fn wants_transport_close(event: &ClientEvent) -> bool {
        matches!(event, ClientEvent::CloseConnection)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_round_trip() {
        for line in
            ["login mrose secret", "apop mrose tanstaaf", "STAT", "LIST", "LIST 2", "RETR 1", "TOP 1 10", "QUIT", "eof"]
        {
            let c: ClientCommand = line.parse().expect(line);
            assert_eq!(c.to_string(), line);
        }
        assert_eq!("retr 1".parse::<ClientCommand>(), Ok(ClientCommand::Pop3(Pop3Command::Retr(1))));
        assert!("APOP mrose c4c9334bac560ecc979e58001b3e22fb".parse::<ClientCommand>().is_err());
        assert!("login mrose".parse::<ClientCommand>().is_err());
        assert!("FETCH 1".parse::<ClientCommand>().is_err());
    }
}
