//! An SMTP server (RFC 5321 §3, §4) for one connection, with the SIZE (RFC 1870) and
//! 8BITMIME (RFC 6152) extensions.
//!
//! # Storage is the driver's
//!
//! The machine stores nothing. When the mail data is complete it emits
//! [`ServerEvent::Deliver`] with the envelope and the content (a `Received:` field
//! prepended, RFC 5321 §4.4) and waits, in `DELIVERING`, for the driver's verdict:
//! [`ServerCommand::Stored`]`(Ok(id))` → `250 OK`; `Stored(Err(e))` → 451, 452 or 554
//! ([`StoreError`]). Only then does it reply, because RFC 5321 §6.1 makes a 250 a promise:
//! "When the receiver-SMTP accepts a piece of mail (by sending a "250 OK" message in
//! response to DATA), it is accepting responsibility for delivering or relaying the
//! message. It must take this responsibility seriously. It MUST NOT lose the message for
//! frivolous reasons". So the real server commits the message (to SQLite) before it
//! answers `stored <id>`. Commands that arrive meanwhile wait in the buffer.
//!
//! # Recipients
//!
//! A recipient in one of [`ServerConfig::local_domains`] is checked as
//! [`ServerConfig::recipients`] says ([`RecipientPolicy`]): accept all, a fixed list of
//! local-parts, or ask the driver ([`ServerEvent::CheckRecipient`], answered with
//! [`ServerCommand::Recipient`]). `Postmaster` is always accepted (RFC 5321 §4.5.1). A
//! recipient in another domain is accepted only if [`ServerConfig::relay`] is set, and is
//! then marked `relay: true` in the envelope for the driver to pass on; otherwise 550.
//!
//! # Errors
//!
//! Malformed or out-of-order commands get their reply (500, 501, 502, 503, 555, …) and
//! the session goes on: RFC 5321 §4.1.4 "If the commands in a transaction are out of
//! order to the degree that they cannot be processed by the server, a 503 failure reply
//! MUST be returned and the SMTP server MUST stay in the same state."

use crate::SmtpError;
use crate::annotate;
use crate::data::DataDecoder;
use crate::line::{Line, LineBuffer};
use crate::trace::{Received, rfc5322_date};
use crate::wire::{
    self, BodyType, ForwardPath, MAX_COMMAND_LINE, MAX_MAIL_LINE, MAX_TEXT_LINE, MailParams, Reply, ReversePath,
    SmtpCommand,
};
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
    RfcRef::new(5321, section)
}

/// Where the server is in the session. RFC 5321 names no states; these follow its
/// session (§3.1, §4.1.1.1) and the three steps of a mail transaction (§3.3: MAIL, one
/// or more RCPT, DATA), plus the two waits for the driver.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ServerState {
    /// The transport is not open yet; the greeting goes out when it is.
    Connecting,
    /// The 220 greeting was sent (§3.1); waiting for EHLO or HELO.
    Greeted,
    /// The client said hello (§4.1.1.1); no mail transaction open.
    Ready,
    /// MAIL accepted (§4.1.1.2); waiting for a recipient.
    Mail,
    /// At least one recipient accepted (§4.1.1.3); more RCPT or DATA.
    Rcpt,
    /// 354 sent; reading mail data up to the line holding a single period (§4.1.1.4).
    Data,
    /// Asked the driver whether a local mailbox exists.
    Verifying,
    /// Handed the message to the driver; the 250 waits for it to be stored (§6.1).
    Delivering,
    /// 221 or 421 sent, or the client went away.
    Closed,
}

impl fmt::Display for ServerState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ServerState::Connecting => "CONNECTING",
            ServerState::Greeted => "GREETED",
            ServerState::Ready => "READY",
            ServerState::Mail => "MAIL",
            ServerState::Rcpt => "RCPT",
            ServerState::Data => "DATA",
            ServerState::Verifying => "VERIFYING",
            ServerState::Delivering => "DELIVERING",
            ServerState::Closed => "CLOSED",
        })
    }
}

/// The server's states and transitions (RFC 5321 §3.1 greeting, §4.1.1.1 hello, the §3.3
/// mail transaction MAIL, RCPT, DATA, and §4.1.1.5 RSET), with the waits for the driver,
/// for the UI's state diagram. Names as [`ServerState`] prints them.
pub fn server_diagram() -> wirelab_core::StateDiagram {
    let mut d = wirelab_core::StateDiagram::new("SMTP server", Some(rfc("3.3")));
    let connecting = d.state("CONNECTING", 0, 0);
    let greeted = d.state("GREETED", 1, 0);
    let ready = d.state("READY", 2, 0);
    let mail = d.state("MAIL", 2, 1);
    let verifying = d.state("VERIFYING", 1, 1);
    let rcpt = d.state("RCPT", 2, 2);
    let data = d.state("DATA", 1, 2);
    let delivering = d.state("DELIVERING", 0, 2);
    let closed = d.state("CLOSED", 0, 1);
    d.edge(connecting, greeted, "connection open / snd 220");
    d.edge(greeted, ready, "rcv EHLO or HELO / snd 250");
    d.edge(ready, mail, "rcv MAIL FROM / snd 250");
    d.edge(mail, rcpt, "rcv RCPT TO / snd 250");
    d.edge(mail, verifying, "rcv RCPT TO (local) / ask the driver");
    d.edge(rcpt, verifying, "rcv RCPT TO (local) / ask the driver");
    d.edge(verifying, rcpt, "recipient accept / snd 250");
    d.edge(verifying, mail, "recipient unknown or later / snd 550 or 450");
    d.edge(rcpt, data, "rcv DATA / snd 354");
    d.edge(data, delivering, "rcv CRLF.CRLF / hand the message to the driver");
    d.edge(data, ready, "rcv CRLF.CRLF, too long / snd 500 or 552");
    d.edge(delivering, ready, "stored / snd 250 (§6.1)");
    d.edge(mail, ready, "rcv RSET or EHLO / snd 250");
    d.edge(rcpt, ready, "rcv RSET or EHLO / snd 250");
    d.from_any(closed, "rcv QUIT / snd 221; shutdown or idle / snd 421; the client closed");
    d
}

/// How recipients in the local domains are checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RecipientPolicy {
    /// Every local-part exists.
    AcceptAll,
    /// These local-parts exist (compared case-insensitively, as most servers do, though
    /// RFC 5321 §2.4 lets a server treat them as case-sensitive); others get 550.
    Known(Vec<String>),
    /// Ask the driver each time: [`ServerEvent::CheckRecipient`], answered with
    /// [`ServerCommand::Recipient`].
    AskDriver,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerConfig {
    pub local: SocketAddr,
    /// The server's own name, in the greeting, the EHLO reply, the 221 and `Received:`.
    pub domain: String,
    /// The domains whose mail this server takes for delivery; by default `domain` only.
    pub local_domains: Vec<String>,
    /// Whether to accept mail for other domains too, for the driver to relay (RFC 5321
    /// §3.6). Off by default: an open relay is how spam travels (§7.1).
    pub relay: bool,
    /// Domains this server relays to even when [`ServerConfig::relay`] is off: the
    /// domains it has agreed to forward for (RFC 5321 §3.6.2: "a site ... MAY ... relay
    /// for ... domains it has configured"; §7.1: everything else is refused, no open
    /// relay). Recipients there are marked `relay: true`.
    pub relay_domains: Vec<String>,
    /// The start of the message identifier in `Received:` (`with ESMTP id <prefix>.<n>`,
    /// RFC 5321 §4.4), n counting this session's transactions from 1. The machine has
    /// no randomness: the driver makes a prefix unique to the connection. `None`: no id.
    pub id_prefix: Option<String>,
    pub recipients: RecipientPolicy,
    /// The fixed maximum message size announced with SIZE (RFC 1870 §4); 0 for none.
    pub max_message_size: u64,
    /// The most recipients per transaction. RFC 5321 §4.5.3.1.8: "The minimum total
    /// number of recipients that MUST be buffered is 100 recipients."
    pub max_recipients: usize,
    /// The comment after the by-domain in `Received:`.
    pub software: String,
    /// The wall-clock time at virtual instant zero, in seconds since 1970: the machine
    /// has no clock, so the date in `Received:` is this plus `now`.
    pub epoch_unix: u64,
    /// How long the server waits for the client's next line before it gives up with 421.
    /// RFC 5321 §4.5.3.2.7: "An SMTP server SHOULD have a timeout of at least 5 minutes
    /// while it is awaiting the next command from the sender." `None`: forever.
    pub idle_timeout: Option<Duration>,
}

impl ServerConfig {
    /// A server for `domain`, delivering for that domain only, every local-part existing.
    pub fn new(local: SocketAddr, domain: impl Into<String>) -> Self {
        let domain = domain.into();
        ServerConfig {
            local,
            local_domains: vec![domain.clone()],
            domain,
            relay: false,
            relay_domains: Vec::new(),
            id_prefix: None,
            recipients: RecipientPolicy::AcceptAll,
            max_message_size: 10 * 1024 * 1024,
            max_recipients: 100,
            software: "wirelab".into(),
            epoch_unix: 1_767_225_600,
            idle_timeout: Some(Duration::from_secs(5 * 60)),
        }
    }

    fn is_local(&self, domain: &str) -> bool {
        self.local_domains.iter().any(|d| d.eq_ignore_ascii_case(domain))
    }

    fn relays_to(&self, domain: &str) -> bool {
        self.relay || self.relay_domains.iter().any(|d| d.eq_ignore_ascii_case(domain))
    }
}

/// Why the driver could not store a message, and so which reply the client gets.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StoreError {
    /// 451 "Requested action aborted: local error in processing": try again later.
    Temporary(String),
    /// 452 "Requested action not taken: insufficient system storage".
    NoSpace(String),
    /// 554 "Transaction failed": do not try again.
    Rejected(String),
    /// 552 "Requested mail action aborted: exceeded storage allocation" (RFC 5321
    /// §4.2.2): a mailbox is over its quota.
    ExceededStorage(String),
}

impl StoreError {
    pub fn code(&self) -> u16 {
        match self {
            StoreError::Temporary(_) => 451,
            StoreError::NoSpace(_) => 452,
            StoreError::Rejected(_) => 554,
            StoreError::ExceededStorage(_) => 552,
        }
    }

    pub fn reason(&self) -> &str {
        match self {
            StoreError::Temporary(r)
            | StoreError::NoSpace(r)
            | StoreError::Rejected(r)
            | StoreError::ExceededStorage(r) => r,
        }
    }
}

/// The driver's answer to [`ServerEvent::CheckRecipient`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RecipientVerdict {
    /// The mailbox exists: 250.
    Accept,
    /// No such mailbox: 550 "No such user here".
    Unknown,
    /// Cannot tell now: 450, the client will try again later.
    TryLater,
}

/// What the driver tells the server besides bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ServerCommand {
    /// `stored <id>` / `store-failed <451|452|552|554> [reason]`: the answer to
    /// [`ServerEvent::Deliver`].
    Stored(Result<String, StoreError>),
    /// `recipient accept|unknown|later`: the answer to [`ServerEvent::CheckRecipient`].
    Recipient(RecipientVerdict),
    /// `shutdown`: 421 and close (RFC 5321 §3.8: the server "MAY ... close the
    /// connection" after replying 421 when it must shut down).
    Shutdown,
    /// `eof`: the transport saw the client close its side.
    Eof,
}

const EXPECTED: &str =
    "stored <id>, store-failed <451|452|552|554> [reason], recipient accept|unknown|later, shutdown or eof";

impl fmt::Display for ServerCommand {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ServerCommand::Stored(Ok(id)) => write!(f, "stored {id}"),
            ServerCommand::Stored(Err(e)) if e.reason().is_empty() => write!(f, "store-failed {}", e.code()),
            ServerCommand::Stored(Err(e)) => write!(f, "store-failed {} {}", e.code(), e.reason()),
            ServerCommand::Recipient(v) => f.write_str(match v {
                RecipientVerdict::Accept => "recipient accept",
                RecipientVerdict::Unknown => "recipient unknown",
                RecipientVerdict::TryLater => "recipient later",
            }),
            ServerCommand::Shutdown => f.write_str("shutdown"),
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
            "stored" if !rest.is_empty() && !rest.contains(' ') => Ok(ServerCommand::Stored(Ok(rest.to_string()))),
            "store-failed" => {
                let (code, reason) = rest.split_once(' ').unwrap_or((rest, ""));
                let reason = reason.trim().to_string();
                let e = match code {
                    "451" => StoreError::Temporary(reason),
                    "452" => StoreError::NoSpace(reason),
                    "554" => StoreError::Rejected(reason),
                    "552" => StoreError::ExceededStorage(reason),
                    _ => return Err(bad()),
                };
                Ok(ServerCommand::Stored(Err(e)))
            }
            "recipient" => match rest.to_ascii_lowercase().as_str() {
                "accept" => Ok(ServerCommand::Recipient(RecipientVerdict::Accept)),
                "unknown" => Ok(ServerCommand::Recipient(RecipientVerdict::Unknown)),
                "later" => Ok(ServerCommand::Recipient(RecipientVerdict::TryLater)),
                _ => Err(bad()),
            },
            "shutdown" if rest.is_empty() => Ok(ServerCommand::Shutdown),
            "eof" if rest.is_empty() => Ok(ServerCommand::Eof),
            _ => Err(bad()),
        }
    }
}

/// One recipient of a transaction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Recipient {
    pub path: ForwardPath,
    /// In no local domain: the driver relays it (RFC 5321 §3.6).
    pub relay: bool,
}

/// The envelope of a mail transaction (RFC 5321 §2.3.1): who sends, to whom, how.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Envelope {
    /// The name the client gave in EHLO or HELO.
    pub helo: String,
    /// EHLO (true) or HELO.
    pub esmtp: bool,
    /// The client's address, as the transport saw it.
    pub client: Option<SocketAddr>,
    pub from: ReversePath,
    pub recipients: Vec<Recipient>,
    /// BODY= (RFC 6152); 7BIT if not given.
    pub body: BodyType,
    /// SIZE= (RFC 1870), if given.
    pub declared_size: Option<u64>,
}

impl Envelope {
    /// The recipients to deliver here.
    pub fn local_recipients(&self) -> impl Iterator<Item = &ForwardPath> {
        self.recipients.iter().filter(|r| !r.relay).map(|r| &r.path)
    }

    /// The recipients to relay to other servers.
    pub fn relay_recipients(&self) -> impl Iterator<Item = &ForwardPath> {
        self.recipients.iter().filter(|r| r.relay).map(|r| &r.path)
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ServerEvent {
    /// The client said EHLO (`esmtp`) or HELO.
    Hello { domain: String, esmtp: bool },
    /// Does this local mailbox exist? Answer with [`ServerCommand::Recipient`]
    /// (only with [`RecipientPolicy::AskDriver`]).
    CheckRecipient(ForwardPath),
    /// A complete message: store it (and relay the relay recipients' copy), then answer
    /// with [`ServerCommand::Stored`]. `data` starts with this server's `Received:`
    /// field and ends with CRLF; periods are unstuffed.
    Deliver { envelope: Envelope, data: Vec<u8> },
    /// An open transaction ended without delivery: RSET, a new EHLO, QUIT, or the
    /// connection dropped (RFC 5321 §4.1.1.5, §3.8).
    Aborted { reason: &'static str },
    /// Close the connection: everything that will be sent has been.
    CloseConnection,
}

impl fmt::Display for ServerEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ServerEvent::Hello { domain, esmtp: true } => write!(f, "EHLO from {domain}"),
            ServerEvent::Hello { domain, esmtp: false } => write!(f, "HELO from {domain}"),
            ServerEvent::CheckRecipient(p) => write!(f, "does {p} exist? (answer recipient accept|unknown|later)"),
            ServerEvent::Deliver { envelope, data } => {
                let to: Vec<String> = envelope.recipients.iter().map(|r| r.path.to_string()).collect();
                write!(
                    f,
                    "deliver {} octets from {} to {} (answer stored <id> or store-failed <code>)",
                    data.len(),
                    envelope.from,
                    to.join(", ")
                )
            }
            ServerEvent::Aborted { reason } => write!(f, "transaction aborted: {reason}"),
            ServerEvent::CloseConnection => f.write_str("close the connection"),
        }
    }
}

/// An open mail transaction (RFC 5321 §3.3): the reverse-path, forward-path and mail
/// data buffers.
#[derive(Clone, Debug)]
struct Transaction {
    from: ReversePath,
    params: MailParams,
    recipients: Vec<Recipient>,
    /// RCPT commands tried, accepted or not: DATA after only refused ones is 554.
    attempts: usize,
    data: DataDecoder,
}

#[derive(Clone, Debug)]
struct Session {
    helo: String,
    esmtp: bool,
}

/// The server side of one SMTP connection.
#[derive(Clone, Debug)]
pub struct SmtpServer {
    config: ServerConfig,
    state: ServerState,
    lines: LineBuffer,
    session: Option<Session>,
    tx: Option<Transaction>,
    /// The recipient the driver is asked about.
    checking: Option<ForwardPath>,
    peer: Option<SocketAddr>,
    /// When the client's silence ends the session ([`ServerConfig::idle_timeout`]).
    deadline: Option<Instant>,
    /// Messages handed to the driver in this session, for the `Received:` id.
    transactions: u32,
    out: VecDeque<Output<ServerState, ServerEvent>>,
}

impl SmtpServer {
    pub fn new(config: ServerConfig) -> Self {
        SmtpServer {
            config,
            state: ServerState::Connecting,
            lines: LineBuffer::new(MAX_MAIL_LINE),
            session: None,
            tx: None,
            checking: None,
            peer: None,
            deadline: None,
            transactions: 0,
            out: VecDeque::new(),
        }
    }

    /// Whether the server is waiting for the client (not for the driver, not closed).
    fn reads(&self) -> bool {
        matches!(
            self.state,
            ServerState::Greeted | ServerState::Ready | ServerState::Mail | ServerState::Rcpt | ServerState::Data
        )
    }

    /// The client's silence is timed from now.
    fn arm(&mut self, now: Instant) {
        self.deadline = self.config.idle_timeout.map(|t| now + t);
    }

    pub fn config(&self) -> &ServerConfig {
        &self.config
    }

    /// Whether the server waits for the driver ([`ServerEvent::CheckRecipient`] or
    /// [`ServerEvent::Deliver`]).
    pub fn awaits_driver(&self) -> bool {
        matches!(self.state, ServerState::Verifying | ServerState::Delivering)
    }

    /// The transport is open: the 220 greeting (RFC 5321 §3.1, §4.3.1).
    pub fn connected(&mut self, now: Instant) {
        if self.state != ServerState::Connecting {
            return;
        }
        self.arm(now);
        let text = format!("{} Simple Mail Transfer Service Ready", self.config.domain);
        self.reply(Reply::new(220, text), "220: the greeting; the client speaks after it", rfc("3.1"));
        self.set_state(ServerState::Greeted, "connection opened, greeting sent", rfc("3.1"));
    }

    /// The client closed its side, or the connection is gone: the same as `eof`.
    pub fn peer_closed(&mut self, _now: Instant) {
        if self.state == ServerState::Closed {
            return;
        }
        if self.tx.is_some() && self.state != ServerState::Delivering {
            self.out.push_back(Output::Event(ServerEvent::Aborted {
                reason: "the connection closed before the end of the transaction: nothing was delivered",
            }));
        }
        self.close("the client closed the connection", rfc("3.8"));
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
        self.tx = None;
        self.set_state(ServerState::Closed, cause, rfc);
        self.out.push_back(Output::Event(ServerEvent::CloseConnection));
    }

    fn reply(&mut self, reply: Reply, why: impl Into<Cow<'static, str>>, rfc: RfcRef) {
        self.out.push_back(Output::Transmit(Transmit {
            from: self.config.local,
            to: self.peer.unwrap_or(self.config.local),
            bytes: reply.to_bytes(),
            reason: why.into(),
            rfc: Some(rfc),
        }));
    }

    /// The state after a transaction ends (or never began).
    fn idle_state(&self) -> ServerState {
        if self.session.is_some() { ServerState::Ready } else { ServerState::Greeted }
    }

    /// Clears the transaction: an event if one was open.
    fn reset(&mut self, reason: &'static str) {
        if self.tx.take().is_some() {
            self.out.push_back(Output::Event(ServerEvent::Aborted { reason }));
        }
    }

    /// Handles every complete line buffered, unless waiting for the driver.
    fn process(&mut self, now: Instant) {
        while matches!(
            self.state,
            ServerState::Greeted | ServerState::Ready | ServerState::Mail | ServerState::Rcpt | ServerState::Data
        ) {
            let Some(line) = self.lines.next_line() else { break };
            if self.state == ServerState::Data {
                self.data_line(line, now);
            } else {
                self.command_line(line);
            }
        }
    }

    fn command_line(&mut self, line: Line) {
        let parsed = match line {
            Line::TooLong => Err(wire::CommandError::LineTooLong),
            Line::Complete(l) => {
                let mail = l.len() >= 4 && l[..4].eq_ignore_ascii_case(b"MAIL");
                if !mail && l.len() + 2 > MAX_COMMAND_LINE {
                    Err(wire::CommandError::LineTooLong)
                } else {
                    wire::parse_command(&l)
                }
            }
        };
        match parsed {
            Ok(cmd) => self.command(cmd),
            Err(e) => {
                let r = e.reply();
                let section = match r.code {
                    500 if e == wire::CommandError::LineTooLong => "4.5.3.1.4",
                    500 => "4.2.4",
                    502 => "4.2.4",
                    _ => "4.1.1",
                };
                self.reply(r, format!("{e}; the session goes on"), rfc(section));
            }
        }
    }

    fn command(&mut self, cmd: SmtpCommand) {
        match cmd {
            SmtpCommand::Ehlo(domain) => self.hello(domain, true),
            SmtpCommand::Helo(domain) => self.hello(domain, false),
            SmtpCommand::Mail { from, params } => self.mail(from, &params),
            SmtpCommand::Rcpt { to, params } => self.rcpt(to, &params),
            SmtpCommand::Data => self.data(),
            SmtpCommand::Rset => {
                // §4.1.1.5: "Any stored sender, recipients, and mail data MUST be
                // discarded, and all buffers and state tables cleared. The receiver MUST
                // send a "250 OK" reply to a RSET command with no arguments."
                self.reset("RSET");
                self.reply(Reply::new(250, "OK"), "250: RSET clears the transaction", rfc("4.1.1.5"));
                let to = self.idle_state();
                self.set_state(to, "RSET", rfc("4.1.1.5"));
            }
            SmtpCommand::Noop(_) => self.reply(Reply::new(250, "OK"), "250: NOOP does nothing", rfc("4.1.1.9")),
            SmtpCommand::Vrfy(_) => self.reply(
                Reply::new(252, "Cannot VRFY user, but will accept message and attempt delivery"),
                "252: wirelab does not reveal which mailboxes exist",
                rfc("3.5.3"),
            ),
            SmtpCommand::Expn(_) => {
                self.reply(Reply::new(502, "Command not implemented"), "502: no mailing lists here", rfc("3.5.2"))
            }
            SmtpCommand::Help(_) => self.reply(
                Reply::multi(
                    214,
                    vec![
                        "wirelab SMTP server, RFC 5321 with SIZE (RFC 1870) and 8BITMIME (RFC 6152)".into(),
                        "Commands: EHLO HELO MAIL RCPT DATA RSET NOOP VRFY HELP QUIT".into(),
                    ],
                ),
                "214: help",
                rfc("4.1.1.8"),
            ),
            SmtpCommand::Quit => {
                // §4.1.1.10: "This command specifies that the receiver MUST send a "221
                // OK" reply, and then close the transmission channel."
                self.reset("QUIT before the end of the transaction");
                let text = format!("{} Service closing transmission channel", self.config.domain);
                self.reply(Reply::new(221, text), "221: QUIT, then the server closes", rfc("4.1.1.10"));
                self.close("QUIT", rfc("4.1.1.10"));
            }
        }
    }

    fn hello(&mut self, domain: String, esmtp: bool) {
        // §4.1.4: "An EHLO command MAY be issued by a client later in the session. If it
        // is issued after the session begins and the EHLO command is acceptable to the
        // SMTP server, the SMTP server MUST clear all buffers and reset the state exactly
        // as if a RSET command had been issued."
        self.reset("a new EHLO or HELO");
        let greet = format!("{} greets {domain}", self.config.domain);
        if esmtp {
            let size = match self.config.max_message_size {
                0 => "SIZE".to_string(),
                n => format!("SIZE {n}"),
            };
            let lines = vec![greet, "8BITMIME".into(), size, "HELP".into()];
            self.reply(
                Reply::multi(250, lines),
                "250: EHLO answered with the extensions this server offers, one per line",
                rfc("4.1.1.1"),
            );
        } else {
            self.reply(Reply::new(250, greet), "250: HELO answered, no extensions", rfc("4.1.1.1"));
        }
        self.session = Some(Session { helo: domain.clone(), esmtp });
        self.out.push_back(Output::Event(ServerEvent::Hello { domain, esmtp }));
        self.set_state(ServerState::Ready, if esmtp { "EHLO" } else { "HELO" }, rfc("4.1.1.1"));
    }

    fn bad_sequence(&mut self, text: &'static str, why: &'static str) {
        self.reply(Reply::new(503, format!("Bad sequence of commands: {text}")), why, rfc("4.1.4"));
    }

    fn mail(&mut self, from: ReversePath, params: &[wire::Param]) {
        let Some(session) = &self.session else {
            // §4.1.4: "A session that will contain mail transactions MUST first be
            // initialized by the use of the EHLO command."
            return self.bad_sequence("send EHLO or HELO first", "503: MAIL before EHLO/HELO");
        };
        if self.tx.is_some() {
            // §4.1.1.2 / §3.3: a transaction is already open (MAIL must follow RSET).
            return self.bad_sequence("a mail transaction is already open", "503: a second MAIL in one transaction");
        }
        if !session.esmtp && !params.is_empty() {
            // Parameters are service extensions, which only EHLO negotiates (§2.2.1).
            let r = Reply::new(555, "MAIL FROM/RCPT TO parameters not recognized or not implemented");
            return self.reply(r, "555: parameters without EHLO", rfc("4.1.1.11"));
        }
        let params = match wire::mail_params(params) {
            Ok(p) => p,
            Err(e) => return self.reply(e.reply(), format!("{e}"), rfc("4.1.1.11")),
        };
        let max = self.config.max_message_size;
        if let Some(size) = params.size.filter(|&s| max > 0 && s > max) {
            // RFC 1870 §6.1: a declared size above the fixed maximum is refused with 552.
            let r = Reply::new(552, "Message size exceeds fixed maximum message size");
            let why = format!("552: the declared SIZE {size} is more than the {max} this server accepts");
            return self.reply(r, why, RfcRef::new(1870, "6.1"));
        }
        let why = match (params.size, params.body) {
            (Some(s), _) => format!("250: sender {from} accepted, {s} octets announced"),
            _ => format!("250: sender {from} accepted; the transaction begins"),
        };
        self.tx = Some(Transaction { from, params, recipients: Vec::new(), attempts: 0, data: DataDecoder::new() });
        self.reply(Reply::new(250, "OK"), why, rfc("4.1.1.2"));
        self.set_state(ServerState::Mail, "MAIL accepted", rfc("3.3"));
    }

    fn rcpt(&mut self, to: ForwardPath, params: &[wire::Param]) {
        let Some(tx) = &mut self.tx else {
            return self.bad_sequence("need MAIL before RCPT", "503: RCPT without MAIL");
        };
        tx.attempts += 1;
        if !params.is_empty() {
            let r = Reply::new(555, "MAIL FROM/RCPT TO parameters not recognized or not implemented");
            return self.reply(r, "555: no RCPT parameters are implemented", rfc("4.1.1.11"));
        }
        if tx.recipients.len() >= self.config.max_recipients {
            // §4.5.3.1.10: "The correct reply code for this condition is 452."
            let why = format!("452: no more than {} recipients per transaction", self.config.max_recipients);
            return self.reply(Reply::new(452, "Too many recipients"), why, rfc("4.5.3.1.10"));
        }
        let local = match &to {
            ForwardPath::Postmaster => true,
            ForwardPath::Mailbox(m) => self.config.is_local(&m.domain),
        };
        if !local {
            if to.mailbox().is_some_and(|m| self.config.relays_to(&m.domain)) {
                return self.accept_recipient(to, true);
            }
            let why = format!("550: {to} is in no domain of this server, and it does not relay");
            return self.reply(Reply::new(550, "Relaying denied"), why, rfc("3.6.2"));
        }
        if to.is_postmaster() {
            // §4.5.1: "Any system that includes an SMTP server supporting mail relaying
            // or delivery MUST support the reserved mailbox "postmaster" as a
            // case-insensitive local name."
            return self.accept_recipient(to, false);
        }
        let local_part = to.mailbox().map(|m| m.local_part.clone()).unwrap_or_default();
        match &self.config.recipients {
            RecipientPolicy::AcceptAll => self.accept_recipient(to, false),
            RecipientPolicy::Known(list) => {
                if list.iter().any(|l| l.eq_ignore_ascii_case(&local_part)) {
                    self.accept_recipient(to, false)
                } else {
                    let why = format!("550: no mailbox {to} here");
                    self.reply(Reply::new(550, "No such user here"), why, rfc("3.3"));
                }
            }
            RecipientPolicy::AskDriver => {
                self.checking = Some(to.clone());
                self.out.push_back(Output::Event(ServerEvent::CheckRecipient(to)));
                self.set_state(ServerState::Verifying, "RCPT for a local mailbox: asking the driver", rfc("3.3"));
            }
        }
    }

    fn accept_recipient(&mut self, to: ForwardPath, relay: bool) {
        let why = if relay { format!("250: {to} accepted, to be relayed") } else { format!("250: {to} accepted") };
        if let Some(tx) = &mut self.tx {
            tx.recipients.push(Recipient { path: to, relay });
        }
        self.reply(Reply::new(250, "OK"), why, rfc("4.1.1.3"));
        self.set_state(ServerState::Rcpt, "a recipient accepted", rfc("3.3"));
    }

    fn data(&mut self) {
        let Some(tx) = &mut self.tx else {
            return self.bad_sequence("need MAIL and RCPT before DATA", "503: DATA without MAIL");
        };
        if tx.recipients.is_empty() {
            if tx.attempts == 0 {
                return self.bad_sequence("need RCPT before DATA", "503: DATA without RCPT");
            }
            // §3.3: "If there was no MAIL, or no RCPT, command, or all such commands were
            // rejected, the server MAY return a "command out of sequence" (503) or "no
            // valid recipients" (554) reply in response to the DATA command."
            let why = "554: every recipient was refused";
            return self.reply(Reply::new(554, "No valid recipients"), why, rfc("3.3"));
        }
        tx.data = DataDecoder::new();
        self.lines.set_max(MAX_TEXT_LINE + 1);
        self.reply(
            Reply::new(354, "Start mail input; end with <CRLF>.<CRLF>"),
            "354: send the mail data, a line holding a single period ends it",
            rfc("4.1.1.4"),
        );
        self.set_state(ServerState::Data, "DATA", rfc("4.1.1.4"));
    }

    fn data_line(&mut self, line: Line, now: Instant) {
        let Some(tx) = &mut self.tx else { return };
        let done = match line {
            Line::Complete(l) => tx.data.line(&l),
            Line::TooLong => {
                tx.data.line_too_long();
                false
            }
        };
        if done {
            self.end_of_data(now);
        }
    }

    /// §4.1.1.4: "Receipt of the end of mail data indication requires the server to
    /// process the stored mail transaction information."
    fn end_of_data(&mut self, now: Instant) {
        self.lines.set_max(MAX_MAIL_LINE);
        let Some(tx) = self.tx.take() else { return };
        self.transactions += 1;
        let id = self.config.id_prefix.as_ref().map(|p| format!("{p}.{}", self.transactions));
        let Some(session) = &self.session else { return };
        let idle = self.idle_state();
        if tx.data.long_lines() > 0 {
            let why = format!("500: {} lines longer than 1000 octets; the message is refused", tx.data.long_lines());
            self.reply(Reply::new(500, "Line too long"), why, rfc("4.5.3.1.6"));
            self.set_state(idle, "mail data refused", rfc("4.5.3.1.10"));
            return;
        }
        let size = tx.data.len() as u64;
        let max = self.config.max_message_size;
        if max > 0 && size > max {
            let why = format!("552: {size} octets of mail data, more than the {max} this server accepts");
            self.reply(Reply::new(552, "Too much mail data"), why, RfcRef::new(1870, "6.3"));
            self.set_state(idle, "mail data refused", rfc("4.5.3.1.10"));
            return;
        }
        let for_path = match tx.recipients.as_slice() {
            [one] => Some(one.path.clone()),
            _ => None,
        };
        let received = Received {
            from_domain: session.helo.clone(),
            from_addr: self.peer.map(|p| p.ip()),
            by_domain: self.config.domain.clone(),
            by_comment: Some(self.config.software.clone()),
            protocol: if session.esmtp { "ESMTP" } else { "SMTP" },
            id,
            for_path,
            date: rfc5322_date(self.config.epoch_unix + now.as_micros() / 1_000_000),
        };
        let mut data = received.header().into_bytes();
        data.extend_from_slice(&tx.data.into_content());
        let envelope = Envelope {
            helo: session.helo.clone(),
            esmtp: session.esmtp,
            client: self.peer,
            from: tx.from,
            recipients: tx.recipients,
            body: tx.params.body.unwrap_or_default(),
            declared_size: tx.params.size,
        };
        self.out.push_back(Output::Event(ServerEvent::Deliver { envelope, data }));
        self.set_state(
            ServerState::Delivering,
            "end of mail data: the driver stores the message before the 250",
            rfc("6.1"),
        );
    }

    fn stored(&mut self, result: Result<String, StoreError>, now: Instant) -> Result<(), SmtpError> {
        if self.state != ServerState::Delivering {
            return Err(SmtpError::NotAwaiting("stored"));
        }
        match result {
            Ok(id) => {
                let why = format!("250: stored as {id}; the server now answers for the message");
                self.reply(Reply::new(250, "OK"), why, rfc("6.1"));
            }
            Err(e) => {
                let text = match &e {
                    StoreError::Temporary(_) => "Requested action aborted: local error in processing",
                    StoreError::NoSpace(_) => "Requested action not taken: insufficient system storage",
                    StoreError::Rejected(_) => "Transaction failed",
                    StoreError::ExceededStorage(_) => "Requested mail action aborted: exceeded storage allocation",
                };
                let why = format!("{}: the driver could not store the message: {}", e.code(), e.reason());
                self.reply(Reply::new(e.code(), text), why, rfc("4.2.2"));
            }
        }
        let idle = self.idle_state();
        self.set_state(idle, "the transaction is over", rfc("4.1.1.4"));
        self.process(now);
        Ok(())
    }

    fn verdict(&mut self, v: RecipientVerdict, now: Instant) -> Result<(), SmtpError> {
        let (ServerState::Verifying, Some(to)) = (self.state, self.checking.take()) else {
            return Err(SmtpError::NotAwaiting("recipient"));
        };
        let back = if self.tx.as_ref().is_some_and(|t| !t.recipients.is_empty()) {
            ServerState::Rcpt
        } else {
            ServerState::Mail
        };
        match v {
            RecipientVerdict::Accept => self.accept_recipient(to, false),
            RecipientVerdict::Unknown => {
                self.reply(Reply::new(550, "No such user here"), format!("550: no mailbox {to} here"), rfc("3.3"));
                self.set_state(back, "recipient refused", rfc("3.3"));
            }
            RecipientVerdict::TryLater => {
                let r = Reply::new(450, "Requested mail action not taken: mailbox unavailable");
                self.reply(r, format!("450: {to} cannot be checked now; try again later"), rfc("4.2.2"));
                self.set_state(back, "recipient deferred", rfc("3.3"));
            }
        }
        self.process(now);
        Ok(())
    }
}

impl Machine for SmtpServer {
    type State = ServerState;
    type Command = ServerCommand;
    type Event = ServerEvent;
    type Error = SmtpError;

    fn state(&self) -> ServerState {
        self.state
    }

    fn handle_input(&mut self, now: Instant, input: Input<'_, ServerCommand>) -> Result<(), SmtpError> {
        if self.state == ServerState::Closed {
            // Bytes after the 221, or a late answer from the driver: nothing to do.
            return Ok(());
        }
        match input {
            Input::Receive { from, bytes } => {
                self.peer = Some(from);
                // A transport that never said it opened: it has, since bytes came.
                self.connected(now);
                self.lines.push(bytes);
                self.arm(now);
                self.process(now);
                Ok(())
            }
            Input::Command(ServerCommand::Stored(r)) => {
                self.stored(r, now)?;
                self.arm(now);
                Ok(())
            }
            Input::Command(ServerCommand::Recipient(v)) => {
                self.verdict(v, now)?;
                self.arm(now);
                Ok(())
            }
            Input::Command(ServerCommand::Shutdown) => {
                let text = format!("{} Service not available, closing transmission channel", self.config.domain);
                self.reply(Reply::new(421, text), "421: the server is shutting down", rfc("3.8"));
                self.reset("the server shut down");
                self.close("shutdown", rfc("3.8"));
                Ok(())
            }
            Input::Command(ServerCommand::Eof) => {
                self.peer_closed(now);
                Ok(())
            }
            Input::Timeout => {
                if self.reads() && self.deadline.is_some_and(|d| now >= d) {
                    let text = format!("{} Service not available, closing transmission channel", self.config.domain);
                    self.reply(Reply::new(421, text), "421: the client said nothing for too long", rfc("4.5.3.2.7"));
                    self.reset("the client was silent too long");
                    self.close("idle timeout", rfc("4.5.3.2.7"));
                }
                Ok(())
            }
        }
    }

    fn poll_output(&mut self, _now: Instant) -> Output<ServerState, ServerEvent> {
        let wake_at = if self.reads() { self.deadline } else { None };
        self.out.pop_front().unwrap_or(Output::Idle { wake_at })
    }

    fn suggested_commands(&self) -> Vec<ServerCommand> {
        match self.state {
            ServerState::Delivering => vec![
                ServerCommand::Stored(Ok("1".into())),
                ServerCommand::Stored(Err(StoreError::Temporary("disk busy".into()))),
            ],
            ServerState::Verifying => vec![
                ServerCommand::Recipient(RecipientVerdict::Accept),
                ServerCommand::Recipient(RecipientVerdict::Unknown),
            ],
            ServerState::Closed => Vec::new(),
            _ => vec![ServerCommand::Shutdown],
        }
    }

    fn annotate(bytes: &[u8]) -> Annotation {
        annotate::annotate(bytes)
    }

    fn diagrams(&self) -> Vec<wirelab_core::StateDiagram> {
        vec![server_diagram()]
    }
}

/// The server over a byte stream: the greeting when it opens, `eof` when the client
/// closes, and [`ServerEvent::CloseConnection`] closes it.
impl StreamApp for SmtpServer {
    const PROTOCOL: &'static str = "SMTP";

    fn on_connected(&mut self, now: Instant) -> Result<(), SmtpError> {
        self.connected(now);
        Ok(())
    }

    fn on_peer_closed(&mut self, now: Instant) -> Result<(), SmtpError> {
        self.peer_closed(now);
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
            ServerCommand::Stored(Ok("42".into())),
            ServerCommand::Stored(Err(StoreError::Temporary("disk busy".into()))),
            ServerCommand::Stored(Err(StoreError::NoSpace(String::new()))),
            ServerCommand::Stored(Err(StoreError::Rejected("spam".into()))),
            ServerCommand::Stored(Err(StoreError::ExceededStorage("over quota".into()))),
            ServerCommand::Recipient(RecipientVerdict::Accept),
            ServerCommand::Recipient(RecipientVerdict::Unknown),
            ServerCommand::Recipient(RecipientVerdict::TryLater),
            ServerCommand::Shutdown,
            ServerCommand::Eof,
        ] {
            assert_eq!(c.to_string().parse::<ServerCommand>(), Ok(c));
        }
        assert!("store-failed 500 x".parse::<ServerCommand>().is_err());
        assert!("stored".parse::<ServerCommand>().is_err());
    }
}
