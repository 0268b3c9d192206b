//! An SMTP client for one connection (RFC 5321 §3, §4), step by step: it waits for the
//! reply to each command before it sends the next (no pipelining, RFC 2920), so every
//! command and reply can be followed on the ladder.
//!
//! The flow: the transport opens → the server's 220 → `EHLO` (falling back to `HELO` if
//! the server does not know EHLO, §3.2) → for each queued message `MAIL FROM`, one
//! `RCPT TO` per recipient, `DATA`, the dot-stuffed content and the final period
//! (§4.5.2) → `QUIT` when asked. Messages queued with `send` before the session is ready
//! wait for it.
//!
//! With SIZE offered, `MAIL FROM` declares the size (RFC 1870 §6) if
//! [`ClientConfig::declare_size`]; content with octets above 127 goes only to a server
//! that offers 8BITMIME, with `BODY=8BITMIME` (RFC 6152 §3).

use crate::SmtpError;
use crate::annotate;
use crate::data;
use crate::trace::rfc5322_date;
use crate::wire::{self, ForwardPath, MAX_TEXT_LINE, Mailbox, Param, Reply, ReversePath, SmtpCommand};
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

/// Where the client is. Each waiting state is named after the command whose reply it
/// waits for (rustls style: `EHLO` = "expect the EHLO reply").
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ClientState {
    /// The transport is not open yet.
    Connecting,
    /// Waiting for the server's greeting (§3.1).
    Greeting,
    /// Waiting for the reply to EHLO (§4.1.1.1).
    Ehlo,
    /// Waiting for the reply to HELO.
    Helo,
    /// The session is open, no command outstanding.
    Ready,
    /// Waiting for the reply to MAIL (§4.1.1.2).
    Mail,
    /// Waiting for the reply to a RCPT (§4.1.1.3).
    Rcpt,
    /// Waiting for the 354 to DATA (§4.1.1.4).
    Data,
    /// The content and its final period are sent; waiting for the final reply.
    Content,
    /// Waiting for the reply to RSET (§4.1.1.5).
    Rset,
    /// Waiting for the reply to a command typed with `raw`.
    Raw,
    /// Waiting for the 221 to QUIT (§4.1.1.10).
    Quit,
    /// The session is over.
    Closed,
}

impl fmt::Display for ClientState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ClientState::Connecting => "CONNECTING",
            ClientState::Greeting => "GREETING",
            ClientState::Ehlo => "EHLO",
            ClientState::Helo => "HELO",
            ClientState::Ready => "READY",
            ClientState::Mail => "MAIL",
            ClientState::Rcpt => "RCPT",
            ClientState::Data => "DATA",
            ClientState::Content => "CONTENT",
            ClientState::Rset => "RSET",
            ClientState::Raw => "RAW",
            ClientState::Quit => "QUIT",
            ClientState::Closed => "CLOSED",
        })
    }
}

/// The client's states and transitions (RFC 5321 §3 and §4.1: the greeting, EHLO or HELO
/// with the §3.2 fallback, then MAIL, RCPT, DATA for each message, and QUIT), for the
/// UI's state diagram. Names as [`ClientState`] prints them.
pub fn client_diagram() -> wirelab_core::StateDiagram {
    let mut d = wirelab_core::StateDiagram::new("SMTP client", Some(rfc("4.1")));
    let connecting = d.state("CONNECTING", 0, 0);
    let greeting = d.state("GREETING", 1, 0);
    let ehlo = d.state("EHLO", 2, 0);
    let helo = d.state("HELO", 3, 0);
    let raw = d.state("RAW", 0, 1);
    let rset = d.state("RSET", 1, 1);
    let ready = d.state("READY", 2, 1);
    let quit = d.state("QUIT", 3, 1);
    let mail = d.state("MAIL", 1, 2);
    let rcpt = d.state("RCPT", 2, 2);
    let data = d.state("DATA", 3, 2);
    let closed = d.state("CLOSED", 0, 3);
    let content = d.state("CONTENT", 3, 3);
    d.edge(connecting, greeting, "connection open / wait: the server speaks first (§3.1)");
    d.edge(greeting, ehlo, "rcv 220 / snd EHLO");
    d.edge(greeting, quit, "rcv 554 / snd QUIT");
    d.edge(ehlo, ready, "rcv 250 + extensions");
    d.edge(ehlo, helo, "rcv 500/502 / snd HELO (§3.2)");
    d.edge(ehlo, quit, "rcv 4yz / snd QUIT");
    d.edge(helo, ready, "rcv 250");
    d.edge(helo, quit, "rcv 4yz/5yz / snd QUIT");
    d.edge(ready, mail, "send / snd MAIL FROM");
    d.edge(ready, raw, "raw / snd the line");
    d.edge(ready, quit, "quit / snd QUIT");
    d.edge(raw, ready, "rcv reply");
    d.edge(mail, rcpt, "rcv 250 / snd RCPT TO");
    d.edge(mail, data, "rcv 250, no recipient / snd DATA");
    d.edge(mail, rset, "rcv 250, no recipient / snd RSET");
    d.edge(mail, ready, "rcv 4yz/5yz");
    d.edge(rcpt, data, "rcv reply, a recipient accepted / snd DATA");
    d.edge(rcpt, rset, "rcv reply, every recipient refused / snd RSET");
    d.edge(data, content, "rcv 354 / snd content, CRLF.CRLF (§4.5.2)");
    d.edge(data, rset, "rcv 4yz/5yz / snd RSET");
    d.edge(content, ready, "rcv 250 (or the refusal)");
    d.edge(rset, ready, "rcv 250");
    d.edge(quit, closed, "rcv 221 / close");
    d.from_any(closed, "rcv 421, a malformed reply, or the server closed (§3.8)");
    d
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientConfig {
    pub local: SocketAddr,
    pub server: SocketAddr,
    /// The name this client gives in EHLO (§4.1.1.1: "the fully-qualified domain name of
    /// the SMTP client").
    pub domain: String,
    /// Whether MAIL FROM declares SIZE= when the server offers SIZE (RFC 1870 §6).
    pub declare_size: bool,
    /// The wall-clock time at virtual instant zero, in seconds since 1970, for the Date
    /// field of messages composed with `send`.
    pub epoch_unix: u64,
}

impl ClientConfig {
    pub fn new(local: SocketAddr, server: SocketAddr, domain: impl Into<String>) -> Self {
        ClientConfig { local, server, domain: domain.into(), declare_size: true, epoch_unix: 1_767_225_600 }
    }
}

/// One console line for the client.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClientCommand {
    /// `send <from> <to>[,<to>…] <subject> <body>`: a message with From, To, Subject and
    /// Date fields. The subject is one word or "several in quotes"; in the body `\n` is a
    /// line break. `<>` as the sender is the null reverse-path.
    Send { from: ReversePath, to: Vec<ForwardPath>, subject: String, body: String },
    /// `send-raw <from> <to>[,<to>…] <content>`: this content exactly (`\r`, `\n`, `\t`,
    /// `\\` escapes), no fields added.
    SendRaw { from: ReversePath, to: Vec<ForwardPath>, content: Vec<u8> },
    /// `raw <command line>`: one command line as typed, for trying things by hand. The
    /// client does not follow what it does (a raw `DATA` leaves the server reading data).
    Raw(String),
    /// `quit`: QUIT once the queued messages are sent.
    Quit,
    /// `eof`: the transport saw the server close its side.
    Eof,
}

const EXPECTED: &str = "send <from> <to>[,<to>...] <subject> <body>, send-raw <from> <to>[,<to>...] <content>, \
                        raw <command line>, quit or eof";

pub use wirelab_core::escape::{escape, unescape};

fn parse_from(s: &str) -> Option<ReversePath> {
    if s == "<>" {
        return Some(ReversePath::Null);
    }
    let s = s.strip_prefix('<').and_then(|s| s.strip_suffix('>')).unwrap_or(s);
    Mailbox::parse(s).ok().map(ReversePath::Mailbox)
}

fn parse_to(s: &str) -> Option<Vec<ForwardPath>> {
    s.split(',')
        .map(|t| {
            let t = t.strip_prefix('<').and_then(|t| t.strip_suffix('>')).unwrap_or(t);
            if t.eq_ignore_ascii_case("postmaster") {
                Some(ForwardPath::Postmaster)
            } else {
                Mailbox::parse(t).ok().map(ForwardPath::Mailbox)
            }
        })
        .collect()
}

fn show_from(p: &ReversePath) -> String {
    match p {
        ReversePath::Null => "<>".into(),
        ReversePath::Mailbox(m) => m.to_string(),
    }
}

fn show_to(to: &[ForwardPath]) -> String {
    let v: Vec<String> = to
        .iter()
        .map(|p| match p {
            ForwardPath::Postmaster => "postmaster".to_string(),
            ForwardPath::Mailbox(m) => m.to_string(),
        })
        .collect();
    v.join(",")
}

impl fmt::Display for ClientCommand {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClientCommand::Send { from, to, subject, body } => {
                let subject = if subject.is_empty() || subject.contains(' ') {
                    format!("\"{subject}\"")
                } else {
                    subject.clone()
                };
                write!(f, "send {} {} {subject} {}", show_from(from), show_to(to), body.replace('\n', "\\n"))
            }
            ClientCommand::SendRaw { from, to, content } => {
                write!(f, "send-raw {} {} {}", show_from(from), show_to(to), escape(content))
            }
            ClientCommand::Raw(line) => write!(f, "raw {line}"),
            ClientCommand::Quit => f.write_str("quit"),
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
        let rest = rest.trim_start();
        match verb.to_ascii_lowercase().as_str() {
            "send" | "send-raw" => {
                let (from, rest) = rest.split_once(' ').ok_or_else(bad)?;
                let (to, rest) = rest.trim_start().split_once(' ').unwrap_or((rest.trim_start(), ""));
                let from = parse_from(from).ok_or_else(bad)?;
                let to = parse_to(to).ok_or_else(bad)?;
                let rest = rest.trim_start();
                if verb.eq_ignore_ascii_case("send-raw") {
                    return Ok(ClientCommand::SendRaw { from, to, content: unescape(rest) });
                }
                let (subject, body) = match rest.strip_prefix('"') {
                    Some(q) => {
                        let (subject, body) = q.split_once('"').ok_or_else(bad)?;
                        (subject, body.strip_prefix(' ').unwrap_or(body))
                    }
                    None => rest.split_once(' ').unwrap_or((rest, "")),
                };
                Ok(ClientCommand::Send { from, to, subject: subject.to_string(), body: body.replace("\\n", "\n") })
            }
            "raw" if !rest.is_empty() => Ok(ClientCommand::Raw(rest.to_string())),
            "quit" if rest.is_empty() => Ok(ClientCommand::Quit),
            "eof" if rest.is_empty() => Ok(ClientCommand::Eof),
            _ => Err(bad()),
        }
    }
}

/// A message to send: the envelope and the content (RFC 5321 §2.3.1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outgoing {
    pub from: ReversePath,
    pub to: Vec<ForwardPath>,
    pub content: Vec<u8>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClientEvent {
    /// The session is open: EHLO (with the server's extension keywords) or HELO worked.
    Ready { esmtp: bool, extensions: Vec<String> },
    /// The server took responsibility for a message (the 250 after the data, §6.1).
    Sent { from: ReversePath, accepted: Vec<ForwardPath>, refused: Vec<(ForwardPath, Reply)>, reply: Reply },
    /// A message was not sent, and why.
    Failed { from: ReversePath, reason: String, reply: Option<Reply> },
    /// The reply to a `raw` command.
    Reply(Reply),
    /// The server broke the protocol; the client closes.
    ProtocolError(String),
    /// Close the connection.
    CloseConnection,
}

impl fmt::Display for ClientEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClientEvent::Ready { esmtp: true, extensions } => write!(f, "ready (ESMTP: {})", extensions.join(", ")),
            ClientEvent::Ready { esmtp: false, .. } => f.write_str("ready (HELO, no extensions)"),
            ClientEvent::Sent { accepted, refused, .. } => {
                write!(f, "sent to {}", show_to(accepted))?;
                if !refused.is_empty() {
                    let r: Vec<String> = refused.iter().map(|(p, r)| format!("{p}: {}", r.code)).collect();
                    write!(f, " (refused: {})", r.join(", "))?;
                }
                Ok(())
            }
            ClientEvent::Failed { reason, .. } => write!(f, "not sent: {reason}"),
            ClientEvent::Reply(r) => write!(f, "reply {r}"),
            ClientEvent::ProtocolError(e) => write!(f, "protocol error: {e}"),
            ClientEvent::CloseConnection => f.write_str("close the connection"),
        }
    }
}

#[derive(Clone, Debug)]
enum Pending {
    Message(Outgoing),
    Raw(String),
    Quit,
}

/// The message being sent.
#[derive(Clone, Debug)]
struct Job {
    message: Outgoing,
    next_rcpt: usize,
    accepted: Vec<ForwardPath>,
    refused: Vec<(ForwardPath, Reply)>,
}

/// The client side of one SMTP connection.
#[derive(Clone, Debug)]
pub struct SmtpClient {
    config: ClientConfig,
    state: ClientState,
    /// Received bytes not yet making a whole reply.
    buf: Vec<u8>,
    queue: VecDeque<Pending>,
    job: Option<Job>,
    /// EHLO was accepted.
    esmtp: bool,
    /// The EHLO keywords (uppercase, with their parameters), once known.
    extensions: Vec<String>,
    out: VecDeque<Output<ClientState, ClientEvent>>,
}

impl SmtpClient {
    pub fn new(config: ClientConfig) -> Self {
        SmtpClient {
            config,
            state: ClientState::Connecting,
            buf: Vec::new(),
            queue: VecDeque::new(),
            job: None,
            esmtp: false,
            extensions: Vec::new(),
            out: VecDeque::new(),
        }
    }

    /// The server's extensions, as its EHLO reply listed them.
    pub fn extensions(&self) -> &[String] {
        &self.extensions
    }

    fn extension(&self, keyword: &str) -> Option<&str> {
        self.extensions.iter().find_map(|e| {
            let (k, rest) = e.split_once(' ').unwrap_or((e, ""));
            k.eq_ignore_ascii_case(keyword).then_some(rest)
        })
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
        if let Some(job) = self.job.take() {
            let from = job.message.from;
            self.event(ClientEvent::Failed { from, reason: "the session ended first".into(), reply: None });
        }
        for p in std::mem::take(&mut self.queue) {
            if let Pending::Message(m) = p {
                self.event(ClientEvent::Failed { from: m.from, reason: "the session ended first".into(), reply: None });
            }
        }
        self.set_state(ClientState::Closed, cause, rfc);
        self.event(ClientEvent::CloseConnection);
    }

    fn send_line(&mut self, line: String, why: impl Into<Cow<'static, str>>, rfc: RfcRef) {
        self.transmit(format!("{line}\r\n").into_bytes(), why, rfc);
    }

    fn transmit(&mut self, bytes: Vec<u8>, why: impl Into<Cow<'static, str>>, rfc: RfcRef) {
        self.out.push_back(Output::Transmit(Transmit {
            from: self.config.local,
            to: self.config.server,
            bytes,
            reason: why.into(),
            rfc: Some(rfc),
        }));
    }

    /// The transport is open: wait for the greeting (§3.1: the client speaks second).
    pub fn connected(&mut self) {
        if self.state == ClientState::Connecting {
            self.set_state(ClientState::Greeting, "connection opened; the server speaks first", rfc("3.1"));
        }
    }

    /// The server closed its side.
    pub fn peer_closed(&mut self) {
        match self.state {
            ClientState::Closed => {}
            ClientState::Quit => self.close("the server closed after QUIT", rfc("4.1.1.10")),
            _ => {
                // §3.8: a server closing without 221 or 421 is a failure of the session.
                self.event(ClientEvent::ProtocolError("the server closed the connection unexpectedly".into()));
                self.close("the server closed the connection", rfc("3.8"));
            }
        }
    }

    fn compose(&self, now: Instant, from: &ReversePath, to: &[ForwardPath], subject: &str, body: &str) -> Vec<u8> {
        let from_field = match from {
            ReversePath::Null => format!("MAILER-DAEMON@{}", self.config.domain),
            ReversePath::Mailbox(m) => m.to_string(),
        };
        let to_field: Vec<String> = to.iter().map(|p| p.to_string()).collect();
        let date = rfc5322_date(self.config.epoch_unix + now.as_micros() / 1_000_000);
        let mut s =
            format!("From: <{from_field}>\r\nTo: {}\r\nSubject: {subject}\r\nDate: {date}\r\n", to_field.join(", "));
        if data::has_8bit(body.as_bytes()) {
            // RFC 6152 §3: 8-bit content is MIME content (RFC 2045).
            s.push_str(
                "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n",
            );
        }
        s.push_str("\r\n");
        s.push_str(body);
        s.into_bytes()
    }

    /// Starts the next queued thing, if the session is idle.
    fn next(&mut self) {
        while self.state == ClientState::Ready {
            let Some(p) = self.queue.pop_front() else { return };
            match p {
                Pending::Quit => {
                    self.send_line("QUIT".into(), "QUIT: the last command of a session", rfc("4.1.1.10"));
                    self.set_state(ClientState::Quit, "QUIT sent", rfc("4.1.1.10"));
                }
                Pending::Raw(line) => {
                    self.send_line(line, "a command typed by hand", rfc("4.1.1"));
                    self.set_state(ClientState::Raw, "raw command sent", rfc("4.1.1"));
                }
                Pending::Message(m) => self.start(m),
            }
        }
    }

    fn fail(&mut self, from: ReversePath, reason: impl Into<String>, reply: Option<Reply>) {
        self.event(ClientEvent::Failed { from, reason: reason.into(), reply });
    }

    /// MAIL FROM, after checking the message against the server's extensions.
    fn start(&mut self, m: Outgoing) {
        let size = data::message_size(&m.content);
        let eight_bit = data::has_8bit(&m.content);
        let esmtp = self.esmtp;
        if eight_bit && self.extension("8BITMIME").is_none() {
            // RFC 6152 §3: without 8BITMIME the server takes only 7-bit content.
            return self.fail(m.from, "the content has 8-bit octets and the server does not offer 8BITMIME", None);
        }
        if data::longest_line(&m.content) > MAX_TEXT_LINE {
            return self.fail(m.from, "a line of the content is longer than 1000 octets (RFC 5321 §4.5.3.1.6)", None);
        }
        let max = self.extension("SIZE").and_then(|v| v.trim().parse::<u64>().ok()).unwrap_or(0);
        if max > 0 && size > max {
            // RFC 1870 §6: a client should not send a message the server said it refuses.
            let reason = format!("{size} octets, more than the server's SIZE {max}");
            return self.fail(m.from, reason, None);
        }
        let mut params = Vec::new();
        if esmtp && self.config.declare_size && self.extension("SIZE").is_some() {
            params.push(Param { keyword: "SIZE".into(), value: Some(size.to_string()) });
        }
        if eight_bit {
            params.push(Param { keyword: "BODY".into(), value: Some("8BITMIME".into()) });
        }
        let cmd = SmtpCommand::Mail { from: m.from.clone(), params };
        let why = format!("MAIL: starts a transaction; bounces go to {}", m.from);
        self.transmit(cmd.to_bytes(), why, rfc("4.1.1.2"));
        self.job = Some(Job { message: m, next_rcpt: 0, accepted: Vec::new(), refused: Vec::new() });
        self.set_state(ClientState::Mail, "MAIL sent", rfc("3.3"));
    }

    /// The next RCPT, or DATA (or RSET if every recipient was refused).
    fn next_recipient(&mut self) {
        let Some(job) = &mut self.job else { return };
        if let Some(to) = job.message.to.get(job.next_rcpt).cloned() {
            job.next_rcpt += 1;
            let why = format!("RCPT: recipient {to}");
            self.transmit(SmtpCommand::Rcpt { to, params: Vec::new() }.to_bytes(), why, rfc("4.1.1.3"));
            self.set_state(ClientState::Rcpt, "RCPT sent", rfc("3.3"));
        } else if job.accepted.is_empty() {
            let from = job.message.from.clone();
            // The last refusal's reply goes along: 4yz or 5yz tells whether to try again.
            let last = job.refused.last().map(|(_, r)| r.clone());
            self.job = None;
            self.fail(from, "every recipient was refused", last);
            self.send_line("RSET".into(), "RSET: no recipient was accepted; abort the transaction", rfc("4.1.1.5"));
            self.set_state(ClientState::Rset, "RSET sent", rfc("4.1.1.5"));
        } else {
            self.send_line("DATA".into(), "DATA: the content comes after the 354", rfc("4.1.1.4"));
            self.set_state(ClientState::Data, "DATA sent", rfc("4.1.1.4"));
        }
    }

    fn on_reply(&mut self, r: Reply) {
        if r.code == 421 && self.state != ClientState::Quit {
            // §3.8: "the SMTP server ... responds to all commands with 421"; the client
            // gives up on the session.
            self.event(ClientEvent::Reply(r));
            self.close("421: the server is closing the connection", rfc("3.8"));
            return;
        }
        match self.state {
            ClientState::Greeting if r.code == 220 => {
                let cmd = SmtpCommand::Ehlo(self.config.domain.clone());
                self.transmit(cmd.to_bytes(), "EHLO: hello, and which extensions do you offer?", rfc("4.1.1.1"));
                self.set_state(ClientState::Ehlo, "220 greeting received", rfc("3.1"));
            }
            ClientState::Greeting => {
                // §3.1: a 554 greeting says there is no SMTP service here; the client
                // ends the session with QUIT.
                self.event(ClientEvent::Reply(r));
                self.send_line("QUIT".into(), "QUIT: the server does not offer service", rfc("3.1"));
                self.set_state(ClientState::Quit, "no service", rfc("3.1"));
            }
            ClientState::Ehlo if r.is_positive() => {
                self.extensions = r.lines.iter().skip(1).map(|l| l.to_ascii_uppercase()).collect();
                self.esmtp = true;
                let extensions = self.extensions.clone();
                self.event(ClientEvent::Ready { esmtp: true, extensions });
                self.set_state(ClientState::Ready, "EHLO accepted", rfc("4.1.1.1"));
                self.next();
            }
            ClientState::Ehlo if r.code >= 500 => {
                // §3.2: a server that does not know EHLO answers it 500 or 502; "the
                // client SHOULD ... fall back to HELO".
                let cmd = SmtpCommand::Helo(self.config.domain.clone());
                self.transmit(cmd.to_bytes(), "HELO: the server does not know EHLO", rfc("3.2"));
                self.set_state(ClientState::Helo, "EHLO refused", rfc("3.2"));
            }
            ClientState::Helo if r.is_positive() => {
                self.event(ClientEvent::Ready { esmtp: false, extensions: Vec::new() });
                self.set_state(ClientState::Ready, "HELO accepted", rfc("4.1.1.1"));
                self.next();
            }
            ClientState::Ehlo | ClientState::Helo => {
                self.event(ClientEvent::Reply(r));
                self.send_line("QUIT".into(), "QUIT: the server refused our hello", rfc("4.1.1.10"));
                self.set_state(ClientState::Quit, "hello refused", rfc("4.1.1.1"));
            }
            ClientState::Mail if r.is_positive() => self.next_recipient(),
            ClientState::Mail => {
                if let Some(job) = self.job.take() {
                    self.fail(job.message.from, format!("MAIL refused: {r}"), Some(r));
                }
                self.set_state(ClientState::Ready, "MAIL refused", rfc("4.1.1.2"));
                self.next();
            }
            ClientState::Rcpt => {
                if let Some(job) = &mut self.job
                    && let Some(to) = job.message.to.get(job.next_rcpt.wrapping_sub(1)).cloned()
                {
                    if r.is_positive() {
                        job.accepted.push(to);
                    } else {
                        job.refused.push((to, r));
                    }
                }
                self.next_recipient();
            }
            ClientState::Data if r.is_intermediate() => {
                let Some(job) = &self.job else { return };
                let bytes = data::encode(&job.message.content);
                let why = format!(
                    "the content ({} octets), lines starting with a period doubled, then a line with a single period",
                    data::message_size(&job.message.content)
                );
                self.transmit(bytes, why, rfc("4.5.2"));
                self.set_state(ClientState::Content, "354 received, content sent", rfc("4.1.1.4"));
            }
            ClientState::Data => {
                if let Some(job) = self.job.take() {
                    self.fail(job.message.from, format!("DATA refused: {r}"), Some(r));
                }
                self.send_line("RSET".into(), "RSET: DATA was refused; abort the transaction", rfc("4.1.1.5"));
                self.set_state(ClientState::Rset, "DATA refused", rfc("4.1.1.5"));
            }
            ClientState::Content => {
                if let Some(job) = self.job.take() {
                    if r.is_positive() {
                        let Job { message, accepted, refused, .. } = job;
                        self.event(ClientEvent::Sent { from: message.from, accepted, refused, reply: r });
                    } else {
                        self.fail(job.message.from, format!("the content was refused: {r}"), Some(r));
                    }
                }
                self.set_state(ClientState::Ready, "the transaction is over", rfc("4.1.1.4"));
                self.next();
            }
            ClientState::Rset => {
                self.set_state(ClientState::Ready, "RSET answered", rfc("4.1.1.5"));
                self.next();
            }
            ClientState::Raw => {
                self.event(ClientEvent::Reply(r));
                self.set_state(ClientState::Ready, "reply to the raw command", rfc("4.2"));
                self.next();
            }
            ClientState::Quit => {
                self.event(ClientEvent::Reply(r));
                self.close("reply to QUIT", rfc("4.1.1.10"));
            }
            ClientState::Connecting | ClientState::Ready | ClientState::Closed => {
                self.event(ClientEvent::ProtocolError(format!("a reply nobody asked for: {r}")));
            }
        }
    }

    fn receive(&mut self, bytes: &[u8]) {
        self.connected();
        self.buf.extend_from_slice(bytes);
        while self.state != ClientState::Closed {
            match wire::parse_reply(&self.buf) {
                Ok(Some((r, n))) => {
                    self.buf.drain(..n);
                    self.on_reply(r);
                }
                Ok(None) => return,
                Err(e) => {
                    self.buf.clear();
                    self.event(ClientEvent::ProtocolError(format!("malformed reply: {e}")));
                    self.close("malformed reply", rfc("4.2"));
                }
            }
        }
    }

    fn enqueue(&mut self, p: Pending) {
        self.queue.push_back(p);
        self.next();
    }
}

impl Machine for SmtpClient {
    type State = ClientState;
    type Command = ClientCommand;
    type Event = ClientEvent;
    type Error = SmtpError;

    fn state(&self) -> ClientState {
        self.state
    }

    fn handle_input(&mut self, now: Instant, input: Input<'_, ClientCommand>) -> Result<(), SmtpError> {
        if self.state == ClientState::Closed {
            return match input {
                Input::Receive { .. } | Input::Timeout | Input::Command(ClientCommand::Eof) => Ok(()),
                Input::Command(_) => Err(SmtpError::Closed),
            };
        }
        match input {
            Input::Receive { bytes, .. } => self.receive(bytes),
            Input::Timeout => {}
            Input::Command(c) => match c {
                ClientCommand::Send { from, to, subject, body } => {
                    let content = self.compose(now, &from, &to, &subject, &body);
                    self.enqueue(Pending::Message(Outgoing { from, to, content }));
                }
                ClientCommand::SendRaw { from, to, content } => {
                    self.enqueue(Pending::Message(Outgoing { from, to, content }))
                }
                ClientCommand::Raw(line) => {
                    if line.contains(['\r', '\n']) {
                        return Err(SmtpError::BadCommand("a raw command is one line".into()));
                    }
                    self.enqueue(Pending::Raw(line));
                }
                ClientCommand::Quit => self.enqueue(Pending::Quit),
                ClientCommand::Eof => self.peer_closed(),
            },
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
        let (Ok(from), Ok(to)) =
            (Mailbox::parse(&format!("student@{}", self.config.domain)), Mailbox::parse("friend@north.test"))
        else {
            return vec![ClientCommand::Quit];
        };
        vec![
            ClientCommand::Send {
                from: ReversePath::Mailbox(from),
                to: vec![ForwardPath::Mailbox(to)],
                subject: "Hello".into(),
                body: "Hi there!\n.a line that starts with a period".into(),
            },
            ClientCommand::Raw("NOOP".into()),
            ClientCommand::Quit,
        ]
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
impl StreamApp for SmtpClient {
    const PROTOCOL: &'static str = "SMTP";

    fn on_connected(&mut self, _now: Instant) -> Result<(), SmtpError> {
        self.connected();
        Ok(())
    }

    fn on_peer_closed(&mut self, _now: Instant) -> Result<(), SmtpError> {
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
        for line in [
            "send smith@bar.com jones@foo.com,brown@foo.com \"Hello there\" Hi!\\nBye",
            "send <> postmaster Hi body",
            "send-raw smith@bar.com jones@foo.com Blah\\r\\n..etc.\\r\\n",
            "raw NOOP",
            "quit",
            "eof",
        ] {
            let c: ClientCommand = line.parse().expect(line);
            assert_eq!(c.to_string(), line);
            assert_eq!(c.to_string().parse::<ClientCommand>(), Ok(c));
        }
        assert!("send nobody".parse::<ClientCommand>().is_err());
        assert!("send a@b.c not-an-address x y".parse::<ClientCommand>().is_err());
    }
}
