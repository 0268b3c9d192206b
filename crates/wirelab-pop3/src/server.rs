//! A POP3 server (RFC 1939) for one connection: the AUTHORIZATION, TRANSACTION and
//! UPDATE states of §3, USER/PASS and APOP, STAT, LIST, RETR, DELE, NOOP, RSET, TOP,
//! UIDL and QUIT.
//!
//! # The maildrop is the driver's
//!
//! The machine holds no mail and no passwords. It asks, and waits (buffering whatever
//! the client sends meanwhile) for the answer:
//!
//! | the machine emits | the driver answers |
//! |---|---|
//! | [`ServerEvent::Authenticate`] `{ user, pass }` after PASS | [`ServerCommand::Maildrop`]: `Ok(list of MessageInfo { uid, size })` or `Err(reason)` |
//! | [`ServerEvent::AuthenticateApop`] `{ user, timestamp, digest }` after APOP | the same |
//! | [`ServerEvent::Fetch`] `{ n, uid }` for RETR and TOP | [`ServerCommand::Message`]: `Ok(bytes)` or `Err(reason)` |
//! | [`ServerEvent::Delete`] `{ uids }` after QUIT, in UPDATE | [`ServerCommand::Deleted`]: `Ok(())` or `Err(reason)` |
//!
//! While it waits the state says so: `AUTHENTICATING` (inside RFC 1939's AUTHORIZATION),
//! `FETCHING` (inside TRANSACTION), and `UPDATE` itself for the deletion.
//!
//! A successful `Maildrop` answer means the driver has also locked the maildrop (§8:
//! "the POP3 server then acquires an exclusive-access lock on the maildrop"); it unlocks
//! on [`ServerEvent::CloseConnection`].
//!
//! # Deletions happen only in UPDATE
//!
//! DELE only marks a message. RFC 1939 §6: "When the client issues the QUIT command from
//! the TRANSACTION state, the POP3 session enters the UPDATE state. ... If a session
//! terminates for some reason other than a client-issued QUIT command, the POP3 session
//! does NOT enter the UPDATE state and MUST not remove any messages from the maildrop."
//! So [`ServerEvent::Delete`] is emitted only after QUIT in TRANSACTION, and the `+OK`
//! waits for the driver to confirm.
//!
//! Every malformed or out-of-state command gets `-ERR` and the session goes on.

use crate::Pop3Error;
use crate::annotate;
use crate::line::{Line, LineBuffer};
use crate::wire::{self, MAX_COMMAND_LINE, Pop3Command, Status};
use core::time::Duration;
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

/// The states of RFC 1939 §3, the two ends of a connection, and the two waits for the
/// driver inside AUTHORIZATION and TRANSACTION (so that the ladder shows who the session
/// waits for, and a script can answer when the question is asked).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ServerState {
    /// The transport is not open yet; the greeting goes out when it is.
    Connecting,
    /// §3: "the client must now identify and authenticate itself to the POP3 server".
    Authorization,
    /// Still RFC 1939's AUTHORIZATION: PASS or APOP arrived, the driver checks it.
    Authenticating,
    /// §3: "the client now requests actions on the part of the POP3 server".
    Transaction,
    /// Still RFC 1939's TRANSACTION: RETR or TOP arrived, the driver fetches the message.
    Fetching,
    /// §3: "the POP3 server releases any resources acquired during the TRANSACTION state".
    Update,
    /// The connection is closed, or closing.
    Closed,
}

impl fmt::Display for ServerState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ServerState::Connecting => "CONNECTING",
            ServerState::Authorization => "AUTHORIZATION",
            ServerState::Authenticating => "AUTHENTICATING",
            ServerState::Transaction => "TRANSACTION",
            ServerState::Fetching => "FETCHING",
            ServerState::Update => "UPDATE",
            ServerState::Closed => "CLOSED",
        })
    }
}

/// The server's states and transitions: RFC 1939 §3's AUTHORIZATION, TRANSACTION and
/// UPDATE, with the two waits for the driver inside them, for the UI's state diagram.
/// Names as [`ServerState`] prints them.
pub fn server_diagram() -> wirelab_core::StateDiagram {
    let mut d = wirelab_core::StateDiagram::new("POP3 server", Some(rfc("3")));
    let connecting = d.state("CONNECTING", 0, 0);
    let authorization = d.state("AUTHORIZATION", 1, 0);
    let authenticating = d.state("AUTHENTICATING", 2, 0);
    let transaction = d.state("TRANSACTION", 1, 1);
    let fetching = d.state("FETCHING", 2, 1);
    let update = d.state("UPDATE", 1, 2);
    let closed = d.state("CLOSED", 0, 2);
    d.edge(connecting, authorization, "connection open / snd +OK greeting (§4)");
    d.edge(authorization, authenticating, "rcv PASS or APOP / ask the driver (§7)");
    d.edge(authenticating, transaction, "maildrop / snd +OK, maildrop locked (§3)");
    d.edge(authenticating, authorization, "auth-failed / snd -ERR");
    d.edge(transaction, fetching, "rcv RETR or TOP / ask the driver");
    d.edge(fetching, transaction, "message / snd +OK and the message (§5)");
    d.edge(transaction, update, "rcv QUIT / delete the marked messages (§6)");
    d.edge(update, closed, "deleted / snd +OK signing off");
    d.from_any(closed, "QUIT in AUTHORIZATION, autologout, or the client closed: no UPDATE");
    d
}

/// One message of the maildrop, as the driver describes it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct MessageInfo {
    /// The unique-id (§7 UIDL): 1 to 70 characters in 0x21–0x7E, the same in every session.
    pub uid: String,
    /// The size in octets (§5 LIST: "the exact size of the message in octets").
    pub size: u64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerConfig {
    pub local: SocketAddr,
    /// The server's name, in the sign-off (`+OK dewey POP3 server signing off`).
    pub host: String,
    /// The timestamp of the greeting, which enables APOP (§7: "a POP3 server which
    /// implements the APOP command will include a timestamp in its banner greeting").
    /// The machine has no clock and no randomness, so the driver makes it: `<pid.clock@host>`,
    /// different for every connection. `None`: no APOP.
    pub apop_timestamp: Option<String>,
    /// The inactivity autologout timer (§3): "Such a timer MUST be of at least 10
    /// minutes' duration." When it expires the server closes without a response and
    /// without UPDATE. `None`: no timer.
    pub autologout: Option<Duration>,
}

impl ServerConfig {
    pub fn new(local: SocketAddr, host: impl Into<String>) -> Self {
        ServerConfig { local, host: host.into(), apop_timestamp: None, autologout: Some(Duration::from_secs(10 * 60)) }
    }
}

/// What the driver tells the server besides bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ServerCommand {
    /// `maildrop [<uid>:<size>[,<uid>:<size>…]]` / `auth-failed [reason]`: the answer to
    /// [`ServerEvent::Authenticate`] and [`ServerEvent::AuthenticateApop`].
    Maildrop(Result<Vec<MessageInfo>, String>),
    /// `message <content with \r\n escapes>` / `message-failed [reason]`: the answer to
    /// [`ServerEvent::Fetch`].
    Message(Result<Vec<u8>, String>),
    /// `deleted` / `delete-failed [reason]`: the answer to [`ServerEvent::Delete`].
    Deleted(Result<(), String>),
    /// `eof`: the transport saw the client close its side.
    Eof,
}

const EXPECTED: &str = "maildrop [<uid>:<size>,...], auth-failed [reason], message <content>, \
                        message-failed [reason], deleted, delete-failed [reason] or eof";

pub use wirelab_core::escape::{escape, unescape};

fn with_reason(f: &mut fmt::Formatter<'_>, verb: &str, reason: &str) -> fmt::Result {
    if reason.is_empty() { f.write_str(verb) } else { write!(f, "{verb} {reason}") }
}

impl fmt::Display for ServerCommand {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ServerCommand::Maildrop(Ok(list)) if list.is_empty() => f.write_str("maildrop"),
            ServerCommand::Maildrop(Ok(list)) => {
                let l: Vec<String> = list.iter().map(|m| format!("{}:{}", m.uid, m.size)).collect();
                write!(f, "maildrop {}", l.join(","))
            }
            ServerCommand::Maildrop(Err(r)) => with_reason(f, "auth-failed", r),
            ServerCommand::Message(Ok(m)) => write!(f, "message {}", escape(m)),
            ServerCommand::Message(Err(r)) => with_reason(f, "message-failed", r),
            ServerCommand::Deleted(Ok(())) => f.write_str("deleted"),
            ServerCommand::Deleted(Err(r)) => with_reason(f, "delete-failed", r),
            ServerCommand::Eof => f.write_str("eof"),
        }
    }
}

impl FromStr for ServerCommand {
    type Err = UnknownCommand;
    fn from_str(s: &str) -> Result<Self, UnknownCommand> {
        let line = s.trim();
        let bad = || UnknownCommand { line: line.to_string(), expected: EXPECTED };
        let (verb, rest) = line.split_once(' ').unwrap_or((line, ""));
        let rest = rest.trim();
        match verb.to_ascii_lowercase().as_str() {
            "maildrop" if rest.is_empty() => Ok(ServerCommand::Maildrop(Ok(Vec::new()))),
            "maildrop" => rest
                .split(',')
                .map(|m| {
                    let (uid, size) = m.trim().rsplit_once(':')?;
                    Some(MessageInfo { uid: uid.to_string(), size: size.parse().ok()? })
                })
                .collect::<Option<Vec<_>>>()
                .map(|l| ServerCommand::Maildrop(Ok(l)))
                .ok_or_else(bad),
            "auth-failed" => Ok(ServerCommand::Maildrop(Err(rest.to_string()))),
            "message" => Ok(ServerCommand::Message(Ok(unescape(line.split_once(' ').map_or("", |(_, m)| m))))),
            "message-failed" => Ok(ServerCommand::Message(Err(rest.to_string()))),
            "deleted" if rest.is_empty() => Ok(ServerCommand::Deleted(Ok(()))),
            "delete-failed" => Ok(ServerCommand::Deleted(Err(rest.to_string()))),
            "eof" if rest.is_empty() => Ok(ServerCommand::Eof),
            _ => Err(bad()),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ServerEvent {
    /// USER and PASS were given: check them, lock the maildrop, and answer with
    /// [`ServerCommand::Maildrop`].
    Authenticate { user: String, pass: String },
    /// APOP was given: check that `digest` is MD5(`timestamp` + the user's secret)
    /// ([`crate::md5::apop_digest`]), lock the maildrop, and answer with
    /// [`ServerCommand::Maildrop`].
    AuthenticateApop { user: String, timestamp: String, digest: String },
    /// Message `n` (1-based) is wanted (RETR or TOP): answer with [`ServerCommand::Message`].
    Fetch { n: u32, uid: String },
    /// UPDATE: remove these messages, then answer with [`ServerCommand::Deleted`].
    Delete { uids: Vec<String> },
    /// The session ended without UPDATE: nothing is deleted (§6).
    Aborted { reason: &'static str },
    /// Close the connection (and unlock the maildrop).
    CloseConnection,
}

impl fmt::Display for ServerEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ServerEvent::Authenticate { user, .. } => {
                write!(f, "authenticate {user} by password (answer maildrop <uid>:<size>,… or auth-failed)")
            }
            ServerEvent::AuthenticateApop { user, .. } => {
                write!(f, "authenticate {user} by APOP digest (answer maildrop <uid>:<size>,… or auth-failed)")
            }
            ServerEvent::Fetch { n, uid } => write!(f, "fetch message {n} ({uid}) (answer message <content>)"),
            ServerEvent::Delete { uids } => write!(f, "delete {} (answer deleted or delete-failed)", uids.join(", ")),
            ServerEvent::Aborted { reason } => write!(f, "session ended without UPDATE: {reason}"),
            ServerEvent::CloseConnection => f.write_str("close the connection"),
        }
    }
}

/// What the server waits for the driver to answer.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Waiting {
    Auth { user: String },
    Fetch { n: u32, top: Option<u32> },
    Delete { left: usize },
}

/// The server side of one POP3 connection.
#[derive(Clone, Debug)]
pub struct Pop3Server {
    config: ServerConfig,
    state: ServerState,
    lines: LineBuffer,
    /// The name a USER command gave, waiting for PASS.
    user: Option<String>,
    maildrop: Vec<MessageInfo>,
    deleted: Vec<bool>,
    waiting: Option<Waiting>,
    peer: Option<SocketAddr>,
    /// When the autologout timer expires.
    deadline: Option<Instant>,
    out: VecDeque<Output<ServerState, ServerEvent>>,
}

impl Pop3Server {
    pub fn new(config: ServerConfig) -> Self {
        Pop3Server {
            config,
            state: ServerState::Connecting,
            // Room for a line one octet too long, so that it is recognized as such.
            lines: LineBuffer::new(MAX_COMMAND_LINE + 1),
            user: None,
            maildrop: Vec::new(),
            deleted: Vec::new(),
            waiting: None,
            peer: None,
            deadline: None,
            out: VecDeque::new(),
        }
    }

    /// Whether the server is waiting for the client (not for the driver, not closed).
    fn reads(&self) -> bool {
        self.waiting.is_none() && matches!(self.state, ServerState::Authorization | ServerState::Transaction)
    }

    /// Whether the server waits for the driver's answer.
    pub fn awaits_driver(&self) -> bool {
        self.waiting.is_some()
    }

    /// Message numbers marked deleted (1-based).
    pub fn marked_deleted(&self) -> Vec<u32> {
        (1..).zip(&self.deleted).filter(|(_, d)| **d).map(|(n, _)| n).collect()
    }

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
        self.waiting = None;
        self.set_state(ServerState::Closed, cause, rfc);
        self.out.push_back(Output::Event(ServerEvent::CloseConnection));
    }

    fn send(&mut self, bytes: Vec<u8>, why: impl Into<Cow<'static, str>>, rfc: RfcRef) {
        self.out.push_back(Output::Transmit(Transmit {
            from: self.config.local,
            to: self.peer.unwrap_or(self.config.local),
            bytes,
            reason: why.into(),
            rfc: Some(rfc),
        }));
    }

    fn ok(&mut self, text: impl Into<String>, why: impl Into<Cow<'static, str>>, rfc: RfcRef) {
        self.send(Status::ok(text).to_bytes(), why, rfc);
    }

    fn err(&mut self, text: impl Into<String>, why: impl Into<Cow<'static, str>>, rfc: RfcRef) {
        self.send(Status::err(text).to_bytes(), why, rfc);
    }

    /// The transport is open: the greeting (§4: "the POP3 server issues a one line
    /// greeting").
    pub fn connected(&mut self) {
        if self.state != ServerState::Connecting {
            return;
        }
        let text = match &self.config.apop_timestamp {
            Some(ts) => format!("POP3 server ready {ts}"),
            None => "POP3 server ready".to_string(),
        };
        self.ok(text, "+OK: the greeting; the client identifies itself next", rfc("4"));
        self.set_state(ServerState::Authorization, "connection opened, greeting sent", rfc("4"));
    }

    /// The client closed, or the connection is gone: no UPDATE (§6).
    pub fn peer_closed(&mut self) {
        if self.state == ServerState::Closed {
            return;
        }
        if matches!(self.state, ServerState::Transaction | ServerState::Fetching) {
            let reason = if self.deleted.contains(&true) {
                "the connection closed before QUIT: the messages marked deleted stay (RFC 1939 §6)"
            } else {
                "the connection closed before QUIT"
            };
            self.out.push_back(Output::Event(ServerEvent::Aborted { reason }));
        }
        self.close("the client closed the connection", rfc("6"));
    }

    fn process(&mut self) {
        while self.waiting.is_none() && matches!(self.state, ServerState::Authorization | ServerState::Transaction) {
            let Some(line) = self.lines.next_line() else { break };
            let parsed = match line {
                Line::TooLong => Err(wire::CommandError::LineTooLong),
                Line::Complete(l) => wire::parse_command(&l),
            };
            match parsed {
                Ok(cmd) => self.command(cmd),
                Err(e) => self.err(e.text(), format!("-ERR: {e}; the session goes on"), rfc("3")),
            }
        }
    }

    /// Totals of the messages not marked deleted.
    fn totals(&self) -> (usize, u64) {
        self.maildrop.iter().zip(&self.deleted).filter(|(_, d)| !**d).fold((0, 0), |(n, s), (m, _)| (n + 1, s + m.size))
    }

    /// The message numbered `n`, unless there is none or it is marked deleted (§5: "a
    /// message-number ... may NOT refer to a message marked as deleted").
    fn message(&self, n: u32) -> Option<&MessageInfo> {
        let i = (n as usize).checked_sub(1)?;
        if *self.deleted.get(i)? {
            return None;
        }
        self.maildrop.get(i)
    }

    fn no_such_message(&mut self, n: u32) {
        let deleted = (n as usize).checked_sub(1).and_then(|i| self.deleted.get(i)).copied().unwrap_or(false);
        if deleted {
            self.err(format!("message {n} already deleted"), format!("-ERR: message {n} is marked deleted"), rfc("5"));
        } else {
            self.err("no such message", format!("-ERR: there is no message {n}"), rfc("5"));
        }
    }

    fn command(&mut self, cmd: Pop3Command) {
        use Pop3Command::*;
        if self.state == ServerState::Authorization {
            return self.authorization(cmd);
        }
        match cmd {
            User(_) | Pass(_) | Apop { .. } => {
                self.err("already authenticated", "-ERR: only in the AUTHORIZATION state", rfc("3"))
            }
            Stat => {
                // §5: "The positive response consists of "+OK" followed by a single space,
                // the number of messages in the maildrop, a single space, and the size of
                // the maildrop in octets."
                let (n, size) = self.totals();
                self.ok(format!("{n} {size}"), "+OK: the drop listing, messages marked deleted left out", rfc("5"));
            }
            List(Some(n)) => match self.message(n).map(|m| m.size) {
                Some(size) => self.ok(format!("{n} {size}"), format!("+OK: the scan listing of message {n}"), rfc("5")),
                None => self.no_such_message(n),
            },
            List(None) => {
                let (n, size) = self.totals();
                let mut bytes = Status::ok(format!("{n} messages ({size} octets)")).to_bytes();
                let mut listing = Vec::new();
                for (i, (m, d)) in self.maildrop.iter().zip(&self.deleted).enumerate() {
                    if !d {
                        listing.extend_from_slice(format!("{} {}\r\n", i + 1, m.size).as_bytes());
                    }
                }
                bytes.extend(wire::stuff(&listing));
                self.send(bytes, "+OK and a scan listing per message, then a line with a single period", rfc("5"));
            }
            Uidl(Some(n)) => match self.message(n).map(|m| m.uid.clone()) {
                Some(uid) => self.ok(format!("{n} {uid}"), format!("+OK: the unique-id of message {n}"), rfc("7")),
                None => self.no_such_message(n),
            },
            Uidl(None) => {
                let mut bytes = Status::ok("").to_bytes();
                let mut listing = Vec::new();
                for (i, (m, d)) in self.maildrop.iter().zip(&self.deleted).enumerate() {
                    if !d {
                        listing.extend_from_slice(format!("{} {}\r\n", i + 1, m.uid).as_bytes());
                    }
                }
                bytes.extend(wire::stuff(&listing));
                self.send(bytes, "+OK and a unique-id listing per message", rfc("7"));
            }
            Retr(n) | Top { msg: n, .. } => {
                let top = match cmd {
                    Top { lines, .. } => Some(lines),
                    _ => None,
                };
                match self.message(n).map(|m| m.uid.clone()) {
                    Some(uid) => {
                        self.waiting = Some(Waiting::Fetch { n, top });
                        self.out.push_back(Output::Event(ServerEvent::Fetch { n, uid }));
                        self.set_state(ServerState::Fetching, "the driver fetches the message", rfc("5"));
                    }
                    None => self.no_such_message(n),
                }
            }
            Dele(n) => {
                if self.message(n).is_none() {
                    return self.no_such_message(n);
                }
                self.deleted[n as usize - 1] = true;
                // §5: "The POP3 server marks the message as deleted. ... The POP3 server
                // does not actually delete the message until the POP3 session enters the
                // UPDATE state."
                let why = format!("+OK: message {n} marked; it is removed only in UPDATE, after QUIT");
                self.ok(format!("message {n} deleted"), why, rfc("5"));
            }
            Noop => self.ok("", "+OK: NOOP", rfc("5")),
            Rset => {
                // §5: "If any messages have been marked as deleted by the POP3 server,
                // they are unmarked."
                self.deleted.iter_mut().for_each(|d| *d = false);
                let (n, size) = self.totals();
                self.ok(format!("maildrop has {n} messages ({size} octets)"), "+OK: every mark removed", rfc("5"));
            }
            Quit => {
                let uids: Vec<String> =
                    self.maildrop.iter().zip(&self.deleted).filter(|(_, d)| **d).map(|(m, _)| m.uid.clone()).collect();
                self.set_state(ServerState::Update, "QUIT in TRANSACTION", rfc("6"));
                let left = self.totals().0;
                if uids.is_empty() {
                    self.sign_off(left);
                } else {
                    self.waiting = Some(Waiting::Delete { left });
                    self.out.push_back(Output::Event(ServerEvent::Delete { uids }));
                }
            }
        }
    }

    fn sign_off(&mut self, left: usize) {
        let host = self.config.host.clone();
        let text = if left == 0 {
            format!("{host} POP3 server signing off (maildrop empty)")
        } else {
            format!("{host} POP3 server signing off ({left} messages left)")
        };
        self.ok(text, "+OK: the marked messages are gone; the server closes", rfc("6"));
        self.close("UPDATE done", rfc("6"));
    }

    fn authorization(&mut self, cmd: Pop3Command) {
        use Pop3Command::*;
        match cmd {
            User(name) => {
                // §7 USER: the server may answer +OK whether or not the mailbox exists;
                // wirelab always does, so USER reveals nothing (see §13).
                self.user = Some(name);
                self.ok("send PASS", "+OK: now PASS (whether or not the name exists)", rfc("7"));
            }
            Pass(pass) => {
                let Some(user) = self.user.take() else {
                    return self.err("send USER first", "-ERR: PASS must follow a successful USER", rfc("7"));
                };
                self.waiting = Some(Waiting::Auth { user: user.clone() });
                self.out.push_back(Output::Event(ServerEvent::Authenticate { user, pass }));
                self.set_state(ServerState::Authenticating, "PASS: the driver checks it", rfc("7"));
            }
            Apop { name, digest } => {
                self.user = None;
                let Some(timestamp) = self.config.apop_timestamp.clone() else {
                    return self.err("APOP not supported", "-ERR: no timestamp in the greeting, no APOP", rfc("7"));
                };
                self.waiting = Some(Waiting::Auth { user: name.clone() });
                self.out.push_back(Output::Event(ServerEvent::AuthenticateApop { user: name, timestamp, digest }));
                self.set_state(ServerState::Authenticating, "APOP: the driver checks the digest", rfc("7"));
            }
            Quit => {
                // §5: QUIT in AUTHORIZATION ends the session without UPDATE.
                let host = self.config.host.clone();
                self.ok(format!("{host} POP3 server signing off"), "+OK: QUIT before logging in", rfc("5"));
                self.close("QUIT in AUTHORIZATION", rfc("5"));
            }
            other => {
                let why = format!("-ERR: {} is only valid in the TRANSACTION state", other.keyword());
                self.err("not authenticated: USER/PASS or APOP first", why, rfc("3"));
            }
        }
    }

    fn on_maildrop(&mut self, r: Result<Vec<MessageInfo>, String>) -> Result<(), Pop3Error> {
        let Some(Waiting::Auth { user }) = self.waiting.clone() else {
            return Err(Pop3Error::NotAwaiting("maildrop"));
        };
        match r {
            Ok(list) => {
                if let Some(bad) = list.iter().find(|m| !wire::is_unique_id(&m.uid)) {
                    return Err(Pop3Error::BadCommand(format!("{:?} is not a unique-id (RFC 1939 §7)", bad.uid)));
                }
                self.waiting = None;
                self.deleted = vec![false; list.len()];
                self.maildrop = list;
                let (n, size) = self.totals();
                let text = format!("{user}'s maildrop has {n} messages ({size} octets)");
                self.ok(text, "+OK: authenticated, the maildrop is locked", rfc("7"));
                self.set_state(ServerState::Transaction, "authenticated, maildrop locked", rfc("3"));
            }
            Err(reason) => {
                self.waiting = None;
                let text = if reason.is_empty() { "invalid password".to_string() } else { reason };
                self.err(text, "-ERR: not authenticated; the client may try again", rfc("7"));
                self.set_state(ServerState::Authorization, "authentication failed", rfc("7"));
            }
        }
        Ok(())
    }

    fn on_message(&mut self, r: Result<Vec<u8>, String>) -> Result<(), Pop3Error> {
        let Some(Waiting::Fetch { n, top }) = self.waiting.clone() else {
            return Err(Pop3Error::NotAwaiting("message"));
        };
        self.waiting = None;
        self.set_state(ServerState::Transaction, "the driver answered", rfc("5"));
        match r {
            Ok(content) => {
                let size = self.message(n).map_or(content.len() as u64, |m| m.size);
                let (status, body, why) = match top {
                    None => (
                        format!("{size} octets"),
                        content,
                        format!("+OK and message {n}, lines starting with a period doubled, then a single period"),
                    ),
                    Some(lines) => (
                        "top of message follows".to_string(),
                        wire::top(&content, lines),
                        format!("+OK, the header of message {n} and {lines} lines of its body"),
                    ),
                };
                let mut bytes = Status::ok(status).to_bytes();
                bytes.extend(wire::stuff(&body));
                self.send(bytes, why, rfc(if top.is_some() { "7" } else { "5" }));
            }
            Err(reason) => {
                let text = if reason.is_empty() { format!("message {n} cannot be read") } else { reason };
                self.err(text, "-ERR: the driver could not fetch the message", rfc("5"));
            }
        }
        Ok(())
    }

    fn on_deleted(&mut self, r: Result<(), String>) -> Result<(), Pop3Error> {
        let Some(Waiting::Delete { left }) = self.waiting.clone() else {
            return Err(Pop3Error::NotAwaiting("deleted"));
        };
        self.waiting = None;
        match r {
            Ok(()) => self.sign_off(left),
            Err(reason) => {
                // §6 QUIT: "-ERR some deleted messages not removed".
                let why = format!("-ERR: the driver could not remove them: {reason}");
                self.err("some deleted messages not removed", why, rfc("6"));
                self.close("UPDATE failed", rfc("6"));
            }
        }
        Ok(())
    }
}

impl Machine for Pop3Server {
    type State = ServerState;
    type Command = ServerCommand;
    type Event = ServerEvent;
    type Error = Pop3Error;

    fn state(&self) -> ServerState {
        self.state
    }

    fn handle_input(&mut self, now: Instant, input: Input<'_, ServerCommand>) -> Result<(), Pop3Error> {
        if self.state == ServerState::Closed {
            return Ok(());
        }
        if let Input::Timeout = input {
            if self.reads() && self.deadline.is_some_and(|d| now >= d) {
                // §3: "When the timer expires, the session does NOT enter the UPDATE
                // state--the server should close the TCP connection without removing any
                // messages or sending any response to the client."
                if self.state == ServerState::Transaction {
                    self.out.push_back(Output::Event(ServerEvent::Aborted {
                        reason: "inactivity autologout: no UPDATE, nothing removed (RFC 1939 §3)",
                    }));
                }
                self.close("inactivity autologout timer expired", rfc("3"));
            }
            return Ok(());
        }
        // Anything else restarts the timer (the driver's answers too: the client waited).
        self.deadline = self.config.autologout.map(|t| now + t);
        let r = match input {
            Input::Receive { from, bytes } => {
                self.peer = Some(from);
                self.connected();
                self.lines.push(bytes);
                Ok(())
            }
            Input::Command(ServerCommand::Maildrop(r)) => self.on_maildrop(r),
            Input::Command(ServerCommand::Message(r)) => self.on_message(r),
            Input::Command(ServerCommand::Deleted(r)) => self.on_deleted(r),
            Input::Command(ServerCommand::Eof) => {
                self.peer_closed();
                Ok(())
            }
            Input::Timeout => Ok(()),
        };
        self.process();
        r
    }

    fn poll_output(&mut self, _now: Instant) -> Output<ServerState, ServerEvent> {
        let wake_at = if self.reads() { self.deadline } else { None };
        self.out.pop_front().unwrap_or(Output::Idle { wake_at })
    }

    fn suggested_commands(&self) -> Vec<ServerCommand> {
        match &self.waiting {
            Some(Waiting::Auth { .. }) => vec![
                ServerCommand::Maildrop(Ok(vec![
                    MessageInfo { uid: "msg-1".into(), size: 120 },
                    MessageInfo { uid: "msg-2".into(), size: 200 },
                ])),
                ServerCommand::Maildrop(Err("invalid password".into())),
            ],
            Some(Waiting::Fetch { .. }) => {
                vec![ServerCommand::Message(Ok(b"Subject: hello\r\n\r\nHi!\r\n".to_vec()))]
            }
            Some(Waiting::Delete { .. }) => {
                vec![ServerCommand::Deleted(Ok(())), ServerCommand::Deleted(Err("disk error".into()))]
            }
            None => Vec::new(),
        }
    }

    fn annotate(bytes: &[u8]) -> Annotation {
        annotate::annotate(bytes)
    }

    fn diagrams(&self) -> Vec<wirelab_core::StateDiagram> {
        vec![server_diagram()]
    }
}

/// The server over a byte stream: the greeting when it opens, no UPDATE if the client
/// goes away, and [`ServerEvent::CloseConnection`] closes it.
impl StreamApp for Pop3Server {
    const PROTOCOL: &'static str = "POP3";

    fn on_connected(&mut self, now: Instant) -> Result<(), Pop3Error> {
        self.deadline = self.config.autologout.map(|t| now + t);
        self.connected();
        Ok(())
    }

    fn on_peer_closed(&mut self, _now: Instant) -> Result<(), Pop3Error> {
        self.peer_closed();
        Ok(())
    }

    fn wants_transport_close(event: &ServerEvent) -> bool {
        matches!(event, ServerEvent::CloseConnection)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_round_trip() {
        for c in [
            ServerCommand::Maildrop(Ok(vec![])),
            ServerCommand::Maildrop(Ok(vec![
                MessageInfo { uid: "whqtswO00WBw418f9t5JxYwZ".into(), size: 120 },
                MessageInfo { uid: "QhdPYR:00WBw1Ph7x7".into(), size: 200 },
            ])),
            ServerCommand::Maildrop(Err("invalid password".into())),
            ServerCommand::Maildrop(Err(String::new())),
            ServerCommand::Message(Ok(b"Subject: x\r\n\r\n.dot\r\n".to_vec())),
            ServerCommand::Message(Err("gone".into())),
            ServerCommand::Deleted(Ok(())),
            ServerCommand::Deleted(Err("disk error".into())),
            ServerCommand::Eof,
        ] {
            assert_eq!(c.to_string().parse::<ServerCommand>(), Ok(c.clone()), "{c}");
        }
        assert!("maildrop a:b".parse::<ServerCommand>().is_err());
    }
}
