//! An IMAP client session (RFC 9051, talking to IMAP4rev1 servers too): it tags each
//! command (`A001`, `A002`…), sends literals the way the server allows (`{n}` and wait
//! for `+`, or `{n+}` with LITERAL+, RFC 7888), reads responses with the literals inside
//! them, follows the session's state (RFC 9051 §3), and reports what it learnt as
//! events: the mailbox's size and UIDs, each message's flags, envelope and text.
//!
//! The console speaks IMAP without the tag: `login alice secret`, `select INBOX`,
//! `fetch 1:* (FLAGS ENVELOPE)`, `store 1 +FLAGS (\Seen)`, `uid search unseen`, `idle`,
//! `done`, `logout` — any command of [`CommandBody`], parsed by the same grammar the
//! server uses — plus `raw <text with \r\n escapes>` to send bytes exactly as typed and
//! `eof` for the transport's end of stream.

use crate::State;
use crate::annotate;
use crate::command::{Command, CommandBody, CommandError};
use crate::response::{ESearchData, MsgAtt, Response, StatusText, Untagged};
use crate::server::{ImapError, escape, unescape};
use crate::syntax::{Framed, Framer, Limits, LiteralMode, Side, literal_at_end};
use crate::types::{Code, Flag, Flags, Status};
use std::borrow::Cow;
use std::collections::VecDeque;
use std::fmt;
use std::net::SocketAddr;
use std::str::FromStr;
use wirelab_core::{
    Annotation, Input, Instant, Machine, Output, RfcRef, StreamApp, Transition, Transmit, UnknownCommand,
};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientConfig {
    pub local: SocketAddr,
    pub server: SocketAddr,
    /// Tags are this prefix and a three-digit counter: `A001`.
    pub tag_prefix: String,
    /// The first tag's number.
    pub first_tag: u32,
    pub limits: Limits,
}

impl ClientConfig {
    pub fn new(local: SocketAddr, server: SocketAddr) -> ClientConfig {
        ClientConfig { local, server, tag_prefix: "A".into(), first_tag: 1, limits: Limits::default() }
    }
}

/// One console line for the client.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClientCommand {
    /// An IMAP command, tagged when sent: `fetch 1:* (FLAGS ENVELOPE)`.
    Send(CommandBody),
    /// `done`: ends IDLE (RFC 2177 §3).
    Done,
    /// `raw <text>`: these bytes exactly (`\r`, `\n`, `\t`, `\\` escapes), possibly
    /// malformed, untracked.
    Raw(Vec<u8>),
    /// `eof`: the transport saw the server close the connection.
    Eof,
}

impl fmt::Display for ClientCommand {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClientCommand::Send(body) => {
                let mut out = Vec::new();
                Command::new("X", body.clone()).emit(&mut out, LiteralMode::NonSync);
                let line = out.strip_prefix(b"X ").unwrap_or(&out);
                let line = line.strip_suffix(b"\r\n").unwrap_or(line);
                let name = body.name();
                let rest = String::from_utf8_lossy(line.get(name.len()..).unwrap_or_default()).into_owned();
                write!(f, "{}{rest}", name.to_ascii_lowercase())
            }
            ClientCommand::Done => f.write_str("done"),
            ClientCommand::Raw(bytes) => write!(f, "raw {}", escape(bytes)),
            ClientCommand::Eof => f.write_str("eof"),
        }
    }
}

const CLIENT_GRAMMAR: &str = "an IMAP command without its tag (login alice secret, select INBOX, \
fetch 1:* (FLAGS ENVELOPE), store 1 +FLAGS (\\Seen), search UNSEEN, uid fetch 1:* FLAGS, idle, logout…), \
done, raw <text with \\r\\n escapes>, or eof";

impl FromStr for ClientCommand {
    type Err = UnknownCommand;
    fn from_str(s: &str) -> Result<Self, UnknownCommand> {
        let line = s.trim();
        let bad = || UnknownCommand { line: line.to_string(), expected: CLIENT_GRAMMAR };
        let (verb, rest) = line.split_once(' ').unwrap_or((line, ""));
        match verb.to_ascii_lowercase().as_str() {
            "done" if rest.trim().is_empty() => return Ok(ClientCommand::Done),
            "eof" if rest.trim().is_empty() => return Ok(ClientCommand::Eof),
            "raw" if !rest.is_empty() => return Ok(ClientCommand::Raw(unescape(rest))),
            _ => {}
        }
        // The console line is the command after its tag; a literal's CRLF inside it
        // may be typed as \r\n.
        let text = if line.contains("}\\r\\n") { unescape(line) } else { line.as_bytes().to_vec() };
        let mut frame = b"X ".to_vec();
        frame.extend_from_slice(&text);
        frame.extend_from_slice(b"\r\n");
        match Command::parse(&frame) {
            Ok(c) => Ok(ClientCommand::Send(c.body)),
            Err(CommandError::Syntax { .. } | CommandError::Unknown { .. } | CommandError::NoTag(_)) => Err(bad()),
        }
    }
}

/// What the client learnt.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClientEvent {
    /// The server's greeting: OK (log in next), PREAUTH, or BYE.
    Greeting(StatusText),
    /// The server's capabilities (from a CAPABILITY response or response code).
    Capabilities(Vec<String>),
    /// A command finished: its tag, what it was, and the server's status.
    Completed { tag: String, command: String, status: Status, code: Option<Code>, text: String },
    /// SELECT or EXAMINE succeeded.
    Selected { mailbox: String, exists: u32, uidvalidity: Option<u32>, uidnext: Option<u32>, read_only: bool },
    /// The mailbox holds this many messages now (`* n EXISTS`).
    Exists(u32),
    /// IMAP4rev1: this many are \Recent.
    Recent(u32),
    /// Message `n` is gone; later ones moved down (`* n EXPUNGE`).
    Expunged(u32),
    /// Data about message `seq` (`* n FETCH`): flags, envelope, text…
    Fetched { seq: u32, uid: Option<u32>, attrs: Vec<MsgAtt> },
    /// A search's result: message numbers (or UIDs), and COUNT if asked.
    Searched { uid: bool, numbers: Vec<u32>, count: Option<u32> },
    /// A mailbox (`* LIST`).
    Listed { mailbox: String, delimiter: Option<char>, attributes: Vec<String> },
    /// The server is idling: changes will come as they happen, until `done`.
    Idling,
    /// The server said BYE.
    Bye(String),
    /// The server sent bytes we could not read (skipped).
    Malformed { error: String, bytes: String },
    /// Close the connection: the session is over.
    CloseConnection,
}

fn summarize(attrs: &[MsgAtt]) -> String {
    let mut parts = Vec::new();
    for a in attrs {
        parts.push(match a {
            MsgAtt::Flags(f) => format!("FLAGS {f}"),
            MsgAtt::Uid(u) => format!("UID {u}"),
            MsgAtt::Rfc822Size(n) => format!("RFC822.SIZE {n}"),
            MsgAtt::InternalDate(d) => format!("INTERNALDATE {d}"),
            MsgAtt::Envelope(e) => format!(
                "ENVELOPE from {} subject {:?}",
                e.from.first().map(|a| a.email()).unwrap_or_default(),
                e.subject.clone().unwrap_or_default()
            ),
            MsgAtt::Section { data, .. }
            | MsgAtt::Rfc822(data)
            | MsgAtt::Rfc822Header(data)
            | MsgAtt::Rfc822Text(data) => {
                format!("{} ({} octets)", a.name(), data.as_ref().map_or(0, Vec::len))
            }
            other => other.name(),
        });
    }
    parts.join(", ")
}

impl fmt::Display for ClientEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClientEvent::Greeting(s) => write!(f, "greeting {} {}", s.status, s.text),
            ClientEvent::Capabilities(c) => write!(f, "capabilities {}", c.join(" ")),
            ClientEvent::Completed { tag, command, status, text, .. } => {
                write!(f, "{tag} {command}: {status} {text}")
            }
            ClientEvent::Selected { mailbox, exists, read_only, .. } => {
                write!(f, "selected {mailbox}: {exists} messages{}", if *read_only { ", read-only" } else { "" })
            }
            ClientEvent::Exists(n) => write!(f, "{n} messages"),
            ClientEvent::Recent(n) => write!(f, "{n} recent"),
            ClientEvent::Expunged(n) => write!(f, "message {n} expunged"),
            ClientEvent::Fetched { seq, attrs, .. } => write!(f, "message {seq}: {}", summarize(attrs)),
            ClientEvent::Searched { uid, numbers, count } => {
                let what = if *uid { "UIDs" } else { "messages" };
                write!(f, "search: {what} {numbers:?}")?;
                if let Some(c) = count {
                    write!(f, " (count {c})")?;
                }
                Ok(())
            }
            ClientEvent::Listed { mailbox, .. } => write!(f, "mailbox {mailbox}"),
            ClientEvent::Idling => f.write_str("idling"),
            ClientEvent::Bye(t) => write!(f, "bye: {t}"),
            ClientEvent::Malformed { error, .. } => write!(f, "malformed response: {error}"),
            ClientEvent::CloseConnection => f.write_str("close the connection"),
        }
    }
}

/// What the client knows of a message of the selected mailbox.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Known {
    pub uid: Option<u32>,
    pub flags: Option<Flags>,
}

/// The selected mailbox as the client has learnt it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MailboxView {
    pub name: String,
    pub read_only: bool,
    pub uidvalidity: Option<u32>,
    pub uidnext: Option<u32>,
    pub flags: Vec<Flag>,
    pub permanent_flags: Vec<Flag>,
    /// Message sequence number n is `messages[n - 1]`.
    pub messages: Vec<Known>,
}

#[derive(Clone, Debug)]
struct Inflight {
    tag: String,
    body: CommandBody,
}

/// The rest of a command whose synchronizing literal waits for the server's `+`.
#[derive(Clone, Debug)]
struct Continuation {
    tag: String,
    /// Pieces still to send, each starting with a literal's octets (and its length).
    pieces: VecDeque<(Vec<u8>, usize)>,
}

/// Pieces sent after a `+`, remembered to explain them ([`Machine::annotate_sent`]).
const REMEMBERED: usize = 8;

/// One IMAP client session (one connection).
#[derive(Clone, Debug)]
pub struct ImapClient {
    config: ClientConfig,
    state: State,
    framer: Framer,
    out: VecDeque<Output<State, ClientEvent>>,
    greeted: bool,
    next_tag: u32,
    capabilities: Vec<String>,
    /// Commands given before the greeting, or while a literal waits for `+`.
    queued: VecDeque<CommandBody>,
    inflight: Vec<Inflight>,
    continuation: Option<Continuation>,
    /// The IDLE in progress: its tag, whether `+` came, whether DONE was asked for.
    idle: Option<(String, bool, bool)>,
    mailbox: Option<MailboxView>,
    /// The mailbox a SELECT in flight is learning.
    opening: Option<MailboxView>,
    /// Pieces sent after a `+`, with the length of the literal each starts with.
    continued: VecDeque<(Vec<u8>, usize)>,
}

fn rfc(section: &'static str) -> RfcRef {
    RfcRef::new(9051, section)
}

impl ImapClient {
    pub fn new(config: ClientConfig) -> ImapClient {
        let framer = Framer::new(Side::Responses, config.limits.clone());
        let next_tag = config.first_tag;
        ImapClient {
            config,
            state: State::NotAuthenticated,
            framer,
            out: VecDeque::new(),
            greeted: false,
            next_tag,
            capabilities: Vec::new(),
            queued: VecDeque::new(),
            inflight: Vec::new(),
            continuation: None,
            idle: None,
            mailbox: None,
            opening: None,
            continued: VecDeque::new(),
        }
    }

    pub fn capabilities(&self) -> &[String] {
        &self.capabilities
    }

    pub fn has_capability(&self, cap: &str) -> bool {
        self.capabilities.iter().any(|c| c.eq_ignore_ascii_case(cap))
    }

    /// The selected mailbox as learnt so far.
    pub fn mailbox(&self) -> Option<&MailboxView> {
        self.mailbox.as_ref()
    }

    /// Tags sent and not yet completed.
    pub fn outstanding(&self) -> Vec<&str> {
        self.inflight.iter().map(|i| i.tag.as_str()).collect()
    }

    pub fn is_idling(&self) -> bool {
        self.idle.is_some()
    }

    fn set_state(&mut self, to: State, cause: impl Into<Cow<'static, str>>, rfc: RfcRef) {
        let from = self.state;
        if from == to || from == State::Logout {
            return;
        }
        self.state = to;
        self.out.push_back(Output::Transition(Transition { from, to, cause: cause.into(), rfc: Some(rfc) }));
    }

    fn event(&mut self, e: ClientEvent) {
        self.out.push_back(Output::Event(e));
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

    fn tag(&mut self) -> String {
        let t = format!("{}{:03}", self.config.tag_prefix, self.next_tag);
        self.next_tag += 1;
        t
    }

    fn literal_mode(&self) -> LiteralMode {
        if self.has_capability("LITERAL+") { LiteralMode::NonSync } else { LiteralMode::Sync }
    }

    fn command(&mut self, body: CommandBody) -> Result<(), ImapError> {
        if self.idle.is_some() {
            return Err(ImapError::Usage("the session is idling: send done first (RFC 2177 §3)".into()));
        }
        if !self.greeted || self.continuation.is_some() {
            self.queued.push_back(body);
            return Ok(());
        }
        self.send(body);
        Ok(())
    }

    fn send(&mut self, body: CommandBody) {
        let tag = self.tag();
        let cmd = Command::new(tag.clone(), body.clone());
        let mut bytes = Vec::new();
        let splits = cmd.emit(&mut bytes, self.literal_mode());
        let name = body.name();
        let reason = match &body {
            CommandBody::Login { user, .. } => format!("{tag} {name}: log in as {user}, password in the clear"),
            CommandBody::Idle => format!("{tag} IDLE: ask the server to push changes as they happen"),
            _ => format!("{tag} {name}: the tag pairs this command with its completion"),
        };
        let section = match &body {
            CommandBody::Login { .. } => "6.2.3",
            CommandBody::Select(_) => "6.3.2",
            CommandBody::Fetch { .. } => "6.4.5",
            CommandBody::Store { .. } => "6.4.6",
            CommandBody::Search { .. } => "6.4.4",
            CommandBody::Idle => "6.3.13",
            CommandBody::Logout => "6.1.3",
            _ => "6",
        };
        if let CommandBody::Idle = body {
            self.idle = Some((tag.clone(), false, false));
        }
        if let CommandBody::Select(m) | CommandBody::Examine(m) = &body {
            self.opening = Some(MailboxView {
                name: m.clone(),
                read_only: matches!(body, CommandBody::Examine(_)),
                ..MailboxView::default()
            });
        }
        self.inflight.push(Inflight { tag: tag.clone(), body });
        if splits.is_empty() {
            self.transmit(bytes, reason, rfc(section));
            return;
        }
        let mut pieces: VecDeque<(Vec<u8>, usize)> = VecDeque::new();
        let mut start = 0;
        let mut literal = 0;
        for s in splits {
            pieces.push_back((bytes[start..s].to_vec(), literal));
            // The piece ends with the header `{n}` CRLF of the literal the next starts with.
            literal = literal_at_end(bytes[start..s].trim_ascii_end()).map_or(0, |(n, _)| n as usize);
            start = s;
        }
        pieces.push_back((bytes[start..].to_vec(), literal));
        let (first, _) = pieces.pop_front().unwrap_or_default();
        self.transmit(
            first,
            format!("{reason}; up to a synchronizing literal: the rest waits for the server's +"),
            rfc("7.5"),
        );
        self.continuation = Some(Continuation { tag, pieces });
    }

    /// The server said `+`: the next piece of the command goes out.
    fn continue_command(&mut self) -> bool {
        let Some(mut c) = self.continuation.take() else { return false };
        if let Some((piece, literal)) = c.pieces.pop_front() {
            self.continued.push_back((piece.clone(), literal));
            while self.continued.len() > REMEMBERED {
                self.continued.pop_front();
            }
            let more = !c.pieces.is_empty();
            let reason = if more {
                "the literal's octets, then the command up to its next synchronizing literal"
            } else {
                "the literal's octets and the rest of the command"
            };
            self.transmit(piece, reason, rfc("7.5"));
            if more {
                self.continuation = Some(c);
                return true;
            }
        }
        self.send_queued();
        true
    }

    fn send_queued(&mut self) {
        while self.continuation.is_none() && self.idle.is_none() {
            let Some(body) = self.queued.pop_front() else { break };
            self.send(body);
        }
    }

    fn done(&mut self) -> Result<(), ImapError> {
        match &mut self.idle {
            Some((_, true, _)) => {
                self.transmit(b"DONE\r\n".to_vec(), "DONE: end IDLE", RfcRef::new(2177, "3"));
                if let Some(idle) = &mut self.idle {
                    idle.2 = true;
                }
                Ok(())
            }
            // `+ idling` has not come yet: DONE follows it.
            Some((_, false, asked)) => {
                *asked = true;
                Ok(())
            }
            None => Err(ImapError::Usage("done ends IDLE, and the session is not idling".into())),
        }
    }

    fn read(&mut self) {
        loop {
            match self.framer.next_frame() {
                Framed::Partial => return,
                Framed::NeedContinuation { .. } => {}
                Framed::TooBig { start, what } => {
                    self.event(ClientEvent::Malformed { error: format!("expected {what}"), bytes: escape(&start) })
                }
                Framed::Frame(frame) => match Response::parse(&frame) {
                    Ok(r) => self.response(r),
                    Err(e) => self.event(ClientEvent::Malformed { error: e.to_string(), bytes: escape(&frame) }),
                },
            }
            if self.state == State::Logout && !self.framer.in_frame() {
                return;
            }
        }
    }

    fn response(&mut self, r: Response) {
        match r {
            Response::Continue(text) => {
                if let Some((_, plus, asked)) = &mut self.idle {
                    if !*plus {
                        *plus = true;
                        let asked = *asked;
                        self.event(ClientEvent::Idling);
                        if asked {
                            self.transmit(b"DONE\r\n".to_vec(), "DONE: end IDLE", RfcRef::new(2177, "3"));
                        }
                        return;
                    }
                }
                if !self.continue_command() {
                    self.event(ClientEvent::Malformed {
                        error: "a continuation request nothing waits for".into(),
                        bytes: format!("+ {text}"),
                    });
                }
            }
            Response::Tagged { tag, status } => self.completed(tag, status),
            Response::Untagged(u) => self.untagged(u),
        }
    }

    fn learn_code(&mut self, code: &Code) {
        let view = self.opening.as_mut().or(self.mailbox.as_mut());
        match code {
            Code::Capability(caps) => {
                self.capabilities = caps.clone();
                self.event(ClientEvent::Capabilities(caps.clone()));
            }
            Code::UidValidity(v) => {
                if let Some(m) = view {
                    m.uidvalidity = Some(*v);
                }
            }
            Code::UidNext(n) => {
                if let Some(m) = view {
                    m.uidnext = Some(*n);
                }
            }
            Code::PermanentFlags(f) => {
                if let Some(m) = view {
                    m.permanent_flags = f.clone();
                }
            }
            Code::ReadOnly => {
                if let Some(m) = self.opening.as_mut() {
                    m.read_only = true;
                }
            }
            _ => {}
        }
    }

    fn view(&mut self) -> Option<&mut MailboxView> {
        self.opening.as_mut().or(self.mailbox.as_mut())
    }

    fn untagged(&mut self, u: Untagged) {
        match u {
            Untagged::Status(s) => {
                if !self.greeted {
                    self.greeted = true;
                    let status = s.status;
                    self.event(ClientEvent::Greeting(s.clone()));
                    if let Some(code) = &s.code {
                        self.learn_code(code);
                    }
                    match status {
                        Status::PreAuth => {
                            self.set_state(State::Authenticated, "the greeting was PREAUTH", rfc("7.1.4"))
                        }
                        Status::Bye => self.bye(s.text),
                        _ => {}
                    }
                    self.send_queued();
                    return;
                }
                if let Some(code) = &s.code {
                    self.learn_code(code);
                }
                if s.status == Status::Bye {
                    self.bye(s.text);
                }
            }
            Untagged::Capability(caps) => {
                self.capabilities = caps.clone();
                self.event(ClientEvent::Capabilities(caps));
            }
            Untagged::Enabled(_) | Untagged::Namespace(_) | Untagged::Other(_) => {}
            Untagged::Flags(flags) => {
                if let Some(v) = self.view() {
                    v.flags = flags;
                }
            }
            Untagged::List { attributes, delimiter, mailbox } => {
                self.event(ClientEvent::Listed { mailbox, delimiter, attributes })
            }
            Untagged::Exists(n) => {
                if let Some(v) = self.view() {
                    v.messages.resize(n as usize, Known::default());
                }
                self.event(ClientEvent::Exists(n));
            }
            Untagged::Recent(n) => self.event(ClientEvent::Recent(n)),
            Untagged::Expunge(n) => {
                if let Some(v) = self.view() {
                    if n >= 1 && (n as usize) <= v.messages.len() {
                        v.messages.remove(n as usize - 1);
                    }
                }
                self.event(ClientEvent::Expunged(n));
            }
            Untagged::Search(numbers) => {
                let uid = self.inflight.iter().any(|i| matches!(i.body, CommandBody::Search { uid: true, .. }));
                self.event(ClientEvent::Searched { uid, numbers, count: None });
            }
            Untagged::ESearch { uid, data, .. } => {
                let mut numbers = Vec::new();
                let mut count = None;
                for d in data {
                    match d {
                        // An explicit set from the server: expanded, within reason.
                        ESearchData::All(set) => numbers = set.expand(0, u32::MAX).into_iter().take(100_000).collect(),
                        ESearchData::Count(c) => count = Some(c),
                        ESearchData::Min(n) | ESearchData::Max(n) => {
                            if !numbers.contains(&n) {
                                numbers.push(n);
                            }
                        }
                    }
                }
                numbers.sort_unstable();
                self.event(ClientEvent::Searched { uid, numbers, count });
            }
            Untagged::Fetch { seq, attrs } => {
                let uid = attrs.iter().find_map(|a| if let MsgAtt::Uid(u) = a { Some(*u) } else { None });
                let flags = attrs.iter().find_map(|a| if let MsgAtt::Flags(f) = a { Some(f.clone()) } else { None });
                if let Some(v) = self.view() {
                    if let Some(k) = v.messages.get_mut((seq as usize).wrapping_sub(1)) {
                        if uid.is_some() {
                            k.uid = uid;
                        }
                        if flags.is_some() {
                            k.flags = flags;
                        }
                    }
                }
                self.event(ClientEvent::Fetched { seq, uid, attrs });
            }
        }
    }

    fn bye(&mut self, text: String) {
        self.event(ClientEvent::Bye(text));
        self.set_state(State::Logout, "the server said BYE", rfc("7.1.5"));
        if !self.inflight.iter().any(|i| i.body == CommandBody::Logout) {
            self.event(ClientEvent::CloseConnection);
        }
    }

    fn completed(&mut self, tag: String, s: StatusText) {
        if let Some(code) = &s.code {
            self.learn_code(code);
        }
        let Some(i) = self.inflight.iter().position(|x| x.tag == tag) else {
            self.event(ClientEvent::Completed {
                tag,
                command: "(not sent by this client)".into(),
                status: s.status,
                code: s.code,
                text: s.text,
            });
            return;
        };
        let Inflight { body, .. } = self.inflight.remove(i);
        if self.continuation.as_ref().is_some_and(|c| c.tag == tag) {
            // The server refused the command before taking its literal.
            self.continuation = None;
        }
        let ok = s.status == Status::Ok;
        match &body {
            CommandBody::Login { user, .. } if ok => {
                self.set_state(State::Authenticated, format!("logged in as {user}"), rfc("6.2.3"))
            }
            CommandBody::Select(_) | CommandBody::Examine(_) => {
                let view = self.opening.take();
                if ok {
                    if let Some(v) = view {
                        self.event(ClientEvent::Selected {
                            mailbox: v.name.clone(),
                            exists: v.messages.len() as u32,
                            uidvalidity: v.uidvalidity,
                            uidnext: v.uidnext,
                            read_only: v.read_only || s.code == Some(Code::ReadOnly),
                        });
                        let cause = format!("{} {} succeeded", body.name(), v.name);
                        self.mailbox = Some(v);
                        self.set_state(State::Selected, cause, rfc("6.3.2"));
                    }
                } else if self.state == State::Selected {
                    self.mailbox = None;
                    self.set_state(State::Authenticated, "SELECT failed: no mailbox is selected", rfc("6.3.2"));
                }
            }
            CommandBody::Close | CommandBody::Unselect if ok => {
                self.mailbox = None;
                self.set_state(State::Authenticated, format!("{} succeeded", body.name()), rfc("6.4.1"));
            }
            CommandBody::Enable(_) if ok => {}
            CommandBody::Idle => {
                self.idle = None;
            }
            _ => {}
        }
        self.event(ClientEvent::Completed {
            tag,
            command: body.name().to_string(),
            status: s.status,
            code: s.code,
            text: s.text,
        });
        if body == CommandBody::Logout {
            self.set_state(State::Logout, "LOGOUT completed", rfc("6.1.3"));
            self.event(ClientEvent::CloseConnection);
        }
        // The literal that blocked the queue was refused, or IDLE ended.
        self.send_queued();
    }
}

impl Machine for ImapClient {
    type State = State;
    type Command = ClientCommand;
    type Event = ClientEvent;
    type Error = ImapError;

    fn state(&self) -> State {
        self.state
    }

    fn handle_input(&mut self, _now: Instant, input: Input<'_, ClientCommand>) -> Result<(), ImapError> {
        if self.state == State::Logout {
            return match input {
                Input::Timeout | Input::Command(ClientCommand::Eof) => Ok(()),
                // The rest of what the server sent with its BYE and tagged OK.
                Input::Receive { bytes, .. } => {
                    self.framer.push(bytes);
                    self.read();
                    Ok(())
                }
                Input::Command(_) => Err(ImapError::Closed),
            };
        }
        match input {
            Input::Receive { bytes, .. } => {
                self.framer.push(bytes);
                self.read();
                Ok(())
            }
            Input::Timeout => Ok(()),
            Input::Command(ClientCommand::Send(body)) => self.command(body),
            Input::Command(ClientCommand::Done) => self.done(),
            Input::Command(ClientCommand::Raw(bytes)) => {
                self.transmit(bytes, "raw bytes, exactly as typed", rfc("2.2.1"));
                Ok(())
            }
            Input::Command(ClientCommand::Eof) => {
                self.set_state(State::Logout, "the server closed the connection", rfc("3.4"));
                self.event(ClientEvent::CloseConnection);
                Ok(())
            }
        }
    }

    fn poll_output(&mut self, _now: Instant) -> Output<State, ClientEvent> {
        self.out.pop_front().unwrap_or(Output::Idle { wake_at: None })
    }

    fn suggested_commands(&self) -> Vec<ClientCommand> {
        let lines: &[&str] = match self.state {
            _ if self.idle.is_some() => &["done"],
            State::NotAuthenticated => &["login alice secret", "capability"],
            State::Authenticated => &["select INBOX", "list \"\" *", "logout"],
            State::Selected => &[
                "fetch 1:* (FLAGS ENVELOPE)",
                "fetch 1 BODY[]",
                "search UNSEEN",
                "store 1 +FLAGS (\\Seen)",
                "idle",
                "expunge",
                "close",
                "logout",
            ],
            State::Logout => &[],
        };
        lines.iter().filter_map(|l| l.parse().ok()).collect()
    }

    fn annotate(bytes: &[u8]) -> Annotation {
        annotate::annotate(bytes)
    }

    fn diagrams(&self) -> Vec<wirelab_core::StateDiagram> {
        vec![crate::session_diagram("IMAP client")]
    }

    /// A piece sent after a `+` starts with literal data, which the bytes alone cannot
    /// show; the client remembers the pieces it sent that way.
    fn annotate_sent(&self, bytes: &[u8]) -> Annotation {
        match self.continued.iter().rev().find(|(p, _)| p == bytes) {
            Some((_, literal)) => annotate::annotate_continuation(bytes, *literal),
            None => annotate::annotate(bytes),
        }
    }
}

/// The client over a byte stream: it waits for the server's greeting once the stream
/// opens; the server's FIN is `eof`; [`ClientEvent::CloseConnection`] closes it.
impl StreamApp for ImapClient {
    const PROTOCOL: &'static str = "IMAP";

    fn on_peer_closed(&mut self, now: Instant) -> Result<(), ImapError> {
        self.handle_input(now, Input::Command(ClientCommand::Eof))
    }

    fn wants_transport_close(event: &ClientEvent) -> bool {
        matches!(event, ClientEvent::CloseConnection)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn console_lines_round_trip() {
        for line in [
            "login alice secret",
            "select INBOX",
            "fetch 1:* (FLAGS ENVELOPE)",
            "store 1 +FLAGS \\Seen",
            "uid store 4:7 -FLAGS.SILENT (\\Seen \\Deleted)",
            "uid search UNSEEN FROM alice",
            "search RETURN (COUNT) ALL",
            "uid expunge 3:5",
            "idle",
            "logout",
            "list \"\" *",
            "done",
            "raw a1 NOOP\\r\\n",
            "eof",
        ] {
            let c: ClientCommand = line.parse().unwrap_or_else(|e| panic!("{line}: {e}"));
            assert_eq!(c.to_string(), line);
        }
        let c: ClientCommand = "LOGIN alice \"pass word\"".parse().expect("quoted");
        assert_eq!(c.to_string(), "login alice \"pass word\"");
        assert!("frobnicate".parse::<ClientCommand>().is_err());
        assert!("fetch".parse::<ClientCommand>().is_err());
    }
}
