//! An IMAP4rev2 server session (RFC 9051) that also serves IMAP4rev1 clients (RFC 3501),
//! and that keeps no mailbox of its own: the store belongs to its driver.
//!
//! # The store protocol
//!
//! The session knows only what the driver told it, and asks for the rest with events;
//! the driver answers with commands. One question is open at a time (commands are run
//! in order; bytes that arrive meanwhile wait in the buffer).
//!
//! | the session emits ([`ServerEvent`])  | the driver answers ([`ServerCommand`])          |
//! |--------------------------------------|-------------------------------------------------|
//! | `Authenticate { user, pass }` (LOGIN) | `auth ok` / `auth no`                           |
//! | `Open { mailbox, read_only }` (SELECT, EXAMINE) | `mailbox <uidvalidity> <uidnext> <uid>:<size>:<flags>[:<date>]…` (a [`Snapshot`]) / `no-mailbox` |
//! | `Fetch { uid }`, one per message whose bytes a FETCH or SEARCH needs | `message <uid> <bytes>` / `no-message <uid>` |
//! | `Store { uids, op, flags }` (STORE, and `\Seen` set by `BODY[]`) | `stored <uid>:<flags>…`: each message's flags afterwards |
//! | `Expunge { uids }` (EXPUNGE, UID EXPUNGE, CLOSE) | `expunged <uid>…`: those actually removed |
//! | `Closed { mailbox }` (CLOSE, UNSELECT, SELECT elsewhere, LOGOUT) | nothing: stop pushing changes |
//!
//! The driver also pushes what other sessions (other devices) did to the selected
//! mailbox: `changed new …`, `changed flags …`, `changed expunged …` ([`Change`]). The
//! session does not tell its client at once: RFC 9051 §5.2 and §7 let a server send
//! such untagged data with any command's response, and §7.5.1 forbids an EXPUNGE
//! response "when no command is in progress, nor while responding to a FETCH, STORE, or
//! SEARCH command" (message numbers would shift under the client). So changes wait in a
//! queue, and go out before the next command's tagged completion (EXPUNGEs only with
//! commands that allow them); during IDLE (RFC 2177), a command is in progress, so they
//! go out as they come. The session's view of the mailbox (which message has which
//! sequence number) changes only as the client is told, so numbers never disagree.
//!
//! # Compatibility
//!
//! With [`Compat::Rev1AndRev2`] (the default) the server advertises both `IMAP4rev1` and
//! `IMAP4rev2` and behaves as IMAP4rev1 until the client sends `ENABLE IMAP4rev2`
//! (RFC 9051 Appendix E): `* n RECENT` and `OK [UNSEEN n]` on SELECT, `\Recent` in flags,
//! `* SEARCH` answers. After ENABLE (or always, with [`Compat::Rev2Only`]): `* LIST` on
//! SELECT, `* ESEARCH`, no `\Recent`.
//!
//! NOT RFC 9051 COMPLIANT, for teaching: LOGIN is accepted without TLS (§6.2.3 asks for
//! a configuration that refuses it); no STARTTLS, AUTHENTICATE, STATUS, APPEND, COPY,
//! MOVE, CREATE, DELETE, RENAME or SUBSCRIBE (answered BAD, as unknown commands).

use crate::command::{
    Command, CommandBody, CommandError, FetchItem, SearchKey, SearchReturn, StoreOp, is_done, leading_tag,
};
use crate::message;
use crate::response::{ESearchData, MsgAtt, Response, Untagged};
use crate::syntax::{Framed, Framer, Limits, Side, Value};
use crate::types::{Code, Flag, Flags, InternalDate, SeqSet, Status};
use crate::{State, annotate};
use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::fmt;
use std::net::SocketAddr;
use std::str::FromStr;
use wirelab_core::{
    Annotation, Input, Instant, Machine, Output, RfcRef, StreamApp, Transition, Transmit, UnknownCommand,
};

/// Which IMAP the server speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Compat {
    /// IMAP4rev2 only, as in RFC 9051 §8's sample session.
    Rev2Only,
    /// IMAP4rev1 until the client sends `ENABLE IMAP4rev2` (RFC 9051 Appendix E).
    Rev1AndRev2,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerConfig {
    pub local: SocketAddr,
    /// The client, if known before it sends anything (`Transmit::to`).
    pub peer: Option<SocketAddr>,
    pub compat: Compat,
    /// The greeting's text, after the capability code.
    pub greeting: String,
    /// The mailboxes LIST shows (SELECT asks the driver, whatever the name).
    pub mailboxes: Vec<String>,
    /// The hierarchy delimiter (RFC 9051 §5.1.1).
    pub delimiter: char,
    /// The flags the FLAGS response names (RFC 9051 §7.3.5).
    pub flags: Vec<Flag>,
    /// The flags that last beyond the session, for PERMANENTFLAGS (RFC 9051 §7.1);
    /// `\*`: new keywords may be created.
    pub permanent_flags: Vec<Flag>,
    /// Whether to advertise LITERAL+ (RFC 7888), so clients send literals without
    /// waiting for `+`. Literals of either kind are read regardless.
    pub literal_plus: bool,
    pub limits: Limits,
    /// The inactivity autologout timer (RFC 9051 §5.4): "If a server has an inactivity
    /// autologout timer that applies to sessions after authentication, the duration of
    /// that timer MUST be at least 30 minutes." When the client has sent nothing for this
    /// long (IDLE included: RFC 2177 §3 has clients re-issue IDLE within 29 minutes), the
    /// server says `* BYE` and closes. `None`: no timer.
    pub autologout: Option<core::time::Duration>,
}

impl ServerConfig {
    pub fn new(local: SocketAddr) -> ServerConfig {
        let mut permanent_flags = Flag::SYSTEM.to_vec();
        permanent_flags.push(Flag::Wildcard);
        ServerConfig {
            local,
            peer: None,
            compat: Compat::Rev1AndRev2,
            greeting: "IMAP4rev2 Service Ready".into(),
            mailboxes: vec!["INBOX".into()],
            delimiter: '/',
            flags: Flag::SYSTEM.to_vec(),
            permanent_flags,
            literal_plus: true,
            limits: Limits::default(),
            autologout: Some(core::time::Duration::from_secs(30 * 60)),
        }
    }
}

/// What the driver knows of one message: the session's metadata (its bytes are asked
/// for separately, when needed).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MessageMeta {
    /// Unique identifier (RFC 9051 §2.3.1.1), strictly ascending in the mailbox.
    pub uid: u32,
    pub flags: Flags,
    /// RFC822.SIZE: the message's size in octets (RFC 9051 §2.3.4).
    pub size: u32,
    /// INTERNALDATE (RFC 9051 §2.3.3).
    pub internal_date: Option<InternalDate>,
}

impl MessageMeta {
    pub fn new(uid: u32, size: u32, flags: Flags) -> MessageMeta {
        MessageMeta { uid, flags, size, internal_date: None }
    }

    /// `12:4286:\Seen,\Deleted:837596665-0700`.
    pub fn to_console(&self) -> String {
        let mut s = format!("{}:{}:{}", self.uid, self.size, self.flags.to_console());
        if let Some(d) = &self.internal_date {
            s.push(':');
            s.push_str(&d.to_console());
        }
        s
    }

    pub fn from_console(s: &str) -> Option<MessageMeta> {
        let mut parts = s.splitn(4, ':');
        let uid = parts.next()?.parse().ok().filter(|&u| u > 0)?;
        let size = parts.next()?.parse().ok()?;
        let flags = Flags::from_console(parts.next().unwrap_or(""))?;
        let internal_date = match parts.next() {
            Some(d) => Some(InternalDate::from_console(d)?),
            None => None,
        };
        Some(MessageMeta { uid, flags, size, internal_date })
    }
}

/// A mailbox as the driver has it when SELECT opens it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Snapshot {
    /// UIDVALIDITY (RFC 9051 §2.3.1.1): UIDs from a different value mean nothing.
    pub uidvalidity: u32,
    /// UIDNEXT: the UID the next message will get.
    pub uidnext: u32,
    /// The messages, in ascending UID order: message sequence number n is the nth.
    pub messages: Vec<MessageMeta>,
}

/// What another session did to the selected mailbox, as the driver reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Change {
    /// A message arrived (delivered, or appended elsewhere): `* n EXISTS`.
    New(MessageMeta),
    /// A message's flags are now these: `* n FETCH (FLAGS …)`.
    Flags { uid: u32, flags: Flags },
    /// A message was expunged: `* n EXPUNGE`.
    Expunged { uid: u32 },
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Change::New(m) => write!(f, "new {}", m.to_console()),
            Change::Flags { uid, flags } => write!(f, "flags {uid}:{}", flags.to_console()),
            Change::Expunged { uid } => write!(f, "expunged {uid}"),
        }
    }
}

pub use wirelab_core::escape::{escape, unescape};

/// What the server is told besides the client's bytes: its driver's answers and
/// news, and the transport's signals. One console line each.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ServerCommand {
    /// `auth ok`: the credentials of [`ServerEvent::Authenticate`] are good.
    LoginOk,
    /// `auth no`: they are not.
    LoginRefused,
    /// `mailbox <uidvalidity> <uidnext> <uid>:<size>:<flags>[:<date>]…`: the mailbox
    /// [`ServerEvent::Open`] asked for.
    Mailbox(Snapshot),
    /// `no-mailbox`: there is no such mailbox.
    NoMailbox,
    /// `message <uid> <text, \r\n escaped>`: the bytes [`ServerEvent::Fetch`] asked for.
    Message { uid: u32, bytes: Vec<u8> },
    /// `no-message <uid>`: that message is gone (another session expunged it).
    NoMessage { uid: u32 },
    /// `stored <uid>:<flags>…`: [`ServerEvent::Store`] done; the flags each message has now.
    Stored(Vec<(u32, Flags)>),
    /// `expunged <uid>…`: [`ServerEvent::Expunge`] done; the messages removed.
    Expunged(Vec<u32>),
    /// `changed new|flags|expunged …`: another session changed the selected mailbox.
    Changed(Change),
    /// `bye`: end the session now (`* BYE`, RFC 9051 §7.1.5).
    Close,
    /// `eof`: the client closed its side of the connection.
    Eof,
}

impl fmt::Display for ServerCommand {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ServerCommand::LoginOk => f.write_str("auth ok"),
            ServerCommand::LoginRefused => f.write_str("auth no"),
            ServerCommand::Mailbox(s) => {
                write!(f, "mailbox {} {}", s.uidvalidity, s.uidnext)?;
                for m in &s.messages {
                    write!(f, " {}", m.to_console())?;
                }
                Ok(())
            }
            ServerCommand::NoMailbox => f.write_str("no-mailbox"),
            ServerCommand::Message { uid, bytes } => write!(f, "message {uid} {}", escape(bytes)),
            ServerCommand::NoMessage { uid } => write!(f, "no-message {uid}"),
            ServerCommand::Stored(list) => {
                f.write_str("stored")?;
                for (uid, flags) in list {
                    write!(f, " {uid}:{}", flags.to_console())?;
                }
                Ok(())
            }
            ServerCommand::Expunged(uids) => {
                f.write_str("expunged")?;
                for uid in uids {
                    write!(f, " {uid}")?;
                }
                Ok(())
            }
            ServerCommand::Changed(c) => write!(f, "changed {c}"),
            ServerCommand::Close => f.write_str("bye"),
            ServerCommand::Eof => f.write_str("eof"),
        }
    }
}

const SERVER_GRAMMAR: &str = "auth ok|no, mailbox <uidvalidity> <uidnext> <uid>:<size>:<flags>[:<date>]…, \
no-mailbox, message <uid> <text>, no-message <uid>, stored <uid>:<flags>…, expunged <uid>…, \
changed new <uid>:<size>:<flags> | changed flags <uid>:<flags> | changed expunged <uid>, bye, eof";

impl FromStr for ServerCommand {
    type Err = UnknownCommand;
    fn from_str(s: &str) -> Result<Self, UnknownCommand> {
        let line = s.trim();
        let bad = || UnknownCommand { line: line.to_string(), expected: SERVER_GRAMMAR };
        let (verb, rest) = line.split_once(' ').unwrap_or((line, ""));
        let rest = rest.trim_start();
        let words: Vec<&str> = rest.split_whitespace().collect();
        let uid = |w: &str| w.parse::<u32>().ok().filter(|&u| u > 0);
        let uid_flags = |w: &str| {
            let (u, f) = w.split_once(':')?;
            Some((uid(u)?, Flags::from_console(f)?))
        };
        match (verb.to_ascii_lowercase().as_str(), words.as_slice()) {
            ("auth", ["ok"]) => Ok(ServerCommand::LoginOk),
            ("auth", ["no"]) => Ok(ServerCommand::LoginRefused),
            ("mailbox", [v, n, msgs @ ..]) => {
                let messages: Option<Vec<MessageMeta>> = msgs.iter().map(|m| MessageMeta::from_console(m)).collect();
                Ok(ServerCommand::Mailbox(Snapshot {
                    uidvalidity: uid(v).ok_or_else(bad)?,
                    uidnext: uid(n).ok_or_else(bad)?,
                    messages: messages.ok_or_else(bad)?,
                }))
            }
            ("no-mailbox", []) => Ok(ServerCommand::NoMailbox),
            ("message", [u, ..]) => {
                let text = rest.split_once(' ').map_or("", |(_, t)| t);
                Ok(ServerCommand::Message { uid: uid(u).ok_or_else(bad)?, bytes: unescape(text) })
            }
            ("no-message", [u]) => Ok(ServerCommand::NoMessage { uid: uid(u).ok_or_else(bad)? }),
            ("stored", list) => {
                Ok(ServerCommand::Stored(list.iter().map(|w| uid_flags(w)).collect::<Option<_>>().ok_or_else(bad)?))
            }
            ("expunged", list) => {
                Ok(ServerCommand::Expunged(list.iter().map(|w| uid(w)).collect::<Option<_>>().ok_or_else(bad)?))
            }
            ("changed", ["new", m]) => {
                Ok(ServerCommand::Changed(Change::New(MessageMeta::from_console(m).ok_or_else(bad)?)))
            }
            ("changed", ["flags", w]) => {
                let (uid, flags) = uid_flags(w).ok_or_else(bad)?;
                Ok(ServerCommand::Changed(Change::Flags { uid, flags }))
            }
            ("changed", ["expunged", u]) => {
                Ok(ServerCommand::Changed(Change::Expunged { uid: uid(u).ok_or_else(bad)? }))
            }
            ("bye", []) => Ok(ServerCommand::Close),
            ("eof", []) => Ok(ServerCommand::Eof),
            _ => Err(bad()),
        }
    }
}

/// What the session tells its driver (questions are answered with a
/// [`ServerCommand`]; see the module documentation) and its observers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ServerEvent {
    /// A command arrived: `A001 LOGIN`.
    CommandReceived(String),
    /// Are these credentials good? Answer `auth ok` or `auth no`.
    Authenticate { user: String, pass: String },
    /// Open this mailbox. Answer `mailbox …` or `no-mailbox`.
    Open { mailbox: String, read_only: bool },
    /// The bytes of this message, please. Answer `message …` or `no-message …`.
    Fetch { uid: u32 },
    /// Change these messages' flags. Answer `stored …` with the flags they end with.
    Store { uids: Vec<u32>, op: StoreOp, flags: Flags },
    /// Remove these messages (all have `\Deleted`). Answer `expunged …`.
    Expunge { uids: Vec<u32> },
    /// The session no longer has this mailbox selected: stop pushing its changes.
    Closed { mailbox: String },
    /// The bytes were no valid command; a BAD went back.
    Malformed(String),
    /// IDLE began (`+ idling`) or ended (DONE).
    Idle(bool),
    /// Close the connection: everything has been sent (after LOGOUT or BYE).
    CloseConnection,
}

impl fmt::Display for ServerEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ServerEvent::CommandReceived(c) => write!(f, "command {c}"),
            ServerEvent::Authenticate { user, .. } => write!(f, "authenticate {user}?"),
            ServerEvent::Open { mailbox, read_only: false } => write!(f, "open {mailbox}"),
            ServerEvent::Open { mailbox, read_only: true } => write!(f, "open {mailbox} read-only"),
            ServerEvent::Fetch { uid } => write!(f, "fetch message uid {uid}"),
            ServerEvent::Store { uids, op, flags } => write!(f, "store {op} {flags} on uids {uids:?}"),
            ServerEvent::Expunge { uids } => write!(f, "expunge uids {uids:?}"),
            ServerEvent::Closed { mailbox } => write!(f, "closed {mailbox}"),
            ServerEvent::Malformed(why) => write!(f, "malformed: {why}"),
            ServerEvent::Idle(true) => f.write_str("idling"),
            ServerEvent::Idle(false) => f.write_str("idle done"),
            ServerEvent::CloseConnection => f.write_str("close the connection"),
        }
    }
}

/// Errors of the machines' callers (peers' mistakes are answered on the wire instead).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ImapError {
    /// The session is over (Logout): nothing more is read or sent.
    Closed,
    /// A driver answer that answers nothing the session asked.
    UnexpectedReply(String),
    /// A client console command that cannot be sent now.
    Usage(String),
}

impl fmt::Display for ImapError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ImapError::Closed => f.write_str("the session is over"),
            ImapError::UnexpectedReply(r) => write!(f, "unexpected driver answer: {r}"),
            ImapError::Usage(u) => f.write_str(u),
        }
    }
}

impl std::error::Error for ImapError {}

/// The selected mailbox as the client knows it.
#[derive(Clone, Debug)]
struct Mailbox {
    name: String,
    read_only: bool,
    uidvalidity: u32,
    uidnext: u32,
    /// Sequence number n is `msgs[n - 1]`.
    msgs: Vec<MessageMeta>,
}

impl Mailbox {
    fn seq_of(&self, uid: u32) -> Option<usize> {
        self.msgs.binary_search_by_key(&uid, |m| m.uid).ok()
    }

    fn max_uid(&self) -> u32 {
        self.msgs.last().map_or(0, |m| m.uid)
    }

    /// Sequence numbers (from 1) the set names, ascending.
    fn targets(&self, set: &SeqSet, uid: bool) -> Vec<usize> {
        let (max_uid, exists) = (self.max_uid(), self.msgs.len() as u32);
        (1..=self.msgs.len())
            .filter(
                |&seq| {
                    if uid { set.contains(self.msgs[seq - 1].uid, max_uid) } else { set.contains(seq as u32, exists) }
                },
            )
            .collect()
    }
}

/// A command waiting on the driver.
#[derive(Clone, Debug)]
enum Waiting {
    None,
    Login { tag: String },
    Open { tag: String, name: String, read_only: bool },
    Work(Box<Work>),
}

#[derive(Clone, Debug)]
struct Work {
    tag: String,
    kind: WorkKind,
    /// UIDs whose bytes are still to come.
    need: BTreeSet<u32>,
    bodies: BTreeMap<u32, Vec<u8>>,
    /// UIDs the driver no longer has.
    missing: BTreeSet<u32>,
    /// Waiting for `stored`.
    storing: bool,
    /// UIDs whose flags the store changed.
    stored: BTreeSet<u32>,
    /// Waiting for `expunged`.
    expunging: bool,
    expunged: Vec<u32>,
}

#[derive(Clone, Debug)]
enum WorkKind {
    Fetch { uid: bool, seqs: Vec<usize>, items: Vec<FetchItem> },
    Store { uid: bool, seqs: Vec<usize>, op: StoreOp, silent: bool },
    Search { uid: bool, ret: Option<Vec<SearchReturn>>, keys: Vec<SearchKey> },
    Expunge { uid: bool },
    Close,
}

const CONTINUE_TEXT: &str = "Ready for literal data";

/// One IMAP server session (one connection).
#[derive(Clone, Debug)]
pub struct ImapServer {
    config: ServerConfig,
    state: State,
    framer: Framer,
    peer: Option<SocketAddr>,
    out: VecDeque<Output<State, ServerEvent>>,
    greeted: bool,
    /// Speaking IMAP4rev2 (always with [`Compat::Rev2Only`]; after ENABLE otherwise).
    rev2: bool,
    user: Option<String>,
    mailbox: Option<Mailbox>,
    /// Changes the client has not been told yet, oldest first.
    changes: VecDeque<Change>,
    waiting: Waiting,
    /// The tag of the IDLE in progress.
    idle_tag: Option<String>,
    /// When the client's silence ends the session ([`ServerConfig::autologout`]).
    deadline: Option<Instant>,
}

fn rfc(section: &'static str) -> RfcRef {
    RfcRef::new(9051, section)
}

impl ImapServer {
    pub fn new(config: ServerConfig) -> ImapServer {
        let framer = Framer::new(Side::Commands, config.limits.clone());
        let rev2 = config.compat == Compat::Rev2Only;
        let peer = config.peer;
        ImapServer {
            config,
            state: State::NotAuthenticated,
            framer,
            peer,
            out: VecDeque::new(),
            greeted: false,
            rev2,
            user: None,
            mailbox: None,
            changes: VecDeque::new(),
            waiting: Waiting::None,
            idle_tag: None,
            deadline: None,
        }
    }

    /// The client's silence is timed from `now`.
    fn arm(&mut self, now: Instant) {
        self.deadline = self.config.autologout.map(|t| now + t);
    }

    /// The logged-in user.
    pub fn user(&self) -> Option<&str> {
        self.user.as_deref()
    }

    /// The selected mailbox's name.
    pub fn selected(&self) -> Option<&str> {
        self.mailbox.as_ref().map(|m| m.name.as_str())
    }

    /// The selected mailbox's UIDs, in sequence-number order, as the client knows them.
    pub fn view(&self) -> Vec<u32> {
        self.mailbox.as_ref().map(|m| m.msgs.iter().map(|x| x.uid).collect()).unwrap_or_default()
    }

    pub fn is_idling(&self) -> bool {
        self.idle_tag.is_some()
    }

    /// Whether the session speaks IMAP4rev2 now.
    pub fn is_rev2(&self) -> bool {
        self.rev2
    }

    /// Changes received and not yet reported to the client.
    pub fn pending_changes(&self) -> usize {
        self.changes.len()
    }

    /// The capabilities (RFC 9051 §7.2.2).
    pub fn capabilities(&self) -> Vec<String> {
        let mut caps = Vec::new();
        if self.config.compat == Compat::Rev1AndRev2 {
            caps.push("IMAP4rev1");
        }
        caps.push("IMAP4rev2");
        caps.extend(["ENABLE", "IDLE"]);
        if self.config.literal_plus {
            caps.push("LITERAL+");
        }
        caps.extend(["NAMESPACE", "UNSELECT", "UIDPLUS", "ESEARCH"]);
        caps.into_iter().map(String::from).collect()
    }

    fn set_state(&mut self, to: State, cause: impl Into<Cow<'static, str>>, rfc: RfcRef) {
        let from = self.state;
        assert!(from != State::Logout, "invalid state transition {from:?} -> {to:?}");
        if from == to {
            return;
        }
        self.state = to;
        self.out.push_back(Output::Transition(Transition { from, to, cause: cause.into(), rfc: Some(rfc) }));
    }

    fn event(&mut self, e: ServerEvent) {
        self.out.push_back(Output::Event(e));
    }

    fn send(&mut self, r: Response, reason: impl Into<Cow<'static, str>>, rfc: RfcRef) {
        let to = self.peer.unwrap_or(self.config.local);
        self.out.push_back(Output::Transmit(Transmit {
            from: self.config.local,
            to,
            bytes: r.to_bytes(),
            reason: reason.into(),
            rfc: Some(rfc),
        }));
    }

    fn untagged(&mut self, u: Untagged, reason: impl Into<Cow<'static, str>>, rfc: RfcRef) {
        self.send(Response::Untagged(u), reason, rfc);
    }

    fn tagged(&mut self, tag: &str, status: Status, code: Option<Code>, text: impl Into<String>, r: RfcRef) {
        let text = text.into();
        let reason = format!("{status}: {text}");
        self.send(Response::tagged(tag, status, code, text), reason, r);
    }

    /// Reports pending changes, then completes the command.
    fn complete(&mut self, tag: &str, text: impl Into<String>, allow_expunge: bool) {
        self.flush_changes(allow_expunge);
        self.tagged(tag, Status::Ok, None, text, rfc("7.1.1"));
    }

    fn bad(&mut self, tag: Option<&str>, why: String) {
        self.event(ServerEvent::Malformed(why.clone()));
        match tag {
            Some(tag) => self.tagged(tag, Status::Bad, None, why, rfc("7.1.3")),
            None => self.send(
                Response::untagged_status(Status::Bad, None, why),
                "BAD, untagged: no tag could be read to answer with",
                rfc("7.1.3"),
            ),
        }
    }

    fn greet(&mut self) {
        if self.greeted {
            return;
        }
        self.greeted = true;
        let caps = self.capabilities();
        let text = self.config.greeting.clone();
        self.send(
            Response::untagged_status(Status::Ok, Some(Code::Capability(caps)), text),
            "the greeting: OK, so the session starts in the Not Authenticated state; the capabilities come along",
            rfc("7.1.1"),
        );
    }

    /// Flags as this client is shown them: IMAP4rev2 has no `\Recent`.
    fn shown(&self, flags: &Flags) -> Flags {
        if self.rev2 { flags.without_recent() } else { flags.clone() }
    }

    /// Tells the client what changed (see the module documentation).
    fn flush_changes(&mut self, allow_expunge: bool) {
        if self.mailbox.is_none() {
            self.changes.clear();
            return;
        }
        let mut kept = VecDeque::new();
        let mut grew = false;
        let mut recent = false;
        while let Some(change) = self.changes.pop_front() {
            let Some(mb) = self.mailbox.as_mut() else { break };
            match change {
                Change::New(meta) => {
                    if meta.uid > mb.max_uid() {
                        recent |= meta.flags.contains(&Flag::Recent);
                        mb.uidnext = mb.uidnext.max(meta.uid.saturating_add(1));
                        mb.msgs.push(meta);
                        grew = true;
                    }
                }
                Change::Flags { uid, flags } => {
                    if grew {
                        self.announce_exists(recent);
                        grew = false;
                    }
                    let Some(mb) = self.mailbox.as_mut() else { break };
                    if let Some(i) = mb.seq_of(uid) {
                        mb.msgs[i].flags = flags.clone();
                        let shown = self.shown(&flags);
                        self.untagged(
                            Untagged::Fetch { seq: i as u32 + 1, attrs: vec![MsgAtt::Flags(shown), MsgAtt::Uid(uid)] },
                            format!("another session changed the flags of UID {uid}"),
                            rfc("7.5.2"),
                        );
                    }
                }
                Change::Expunged { uid } if allow_expunge => {
                    if grew {
                        self.announce_exists(recent);
                        grew = false;
                    }
                    let Some(mb) = self.mailbox.as_mut() else { break };
                    if let Some(i) = mb.seq_of(uid) {
                        mb.msgs.remove(i);
                        self.untagged(
                            Untagged::Expunge(i as u32 + 1),
                            format!("another session expunged UID {uid}; later messages move down by one"),
                            rfc("7.5.1"),
                        );
                    }
                }
                c @ Change::Expunged { .. } => kept.push_back(c),
            }
        }
        if grew {
            self.announce_exists(recent);
        }
        self.changes = kept;
    }

    fn announce_exists(&mut self, recent: bool) {
        let Some(mb) = &self.mailbox else { return };
        let n = mb.msgs.len() as u32;
        let recent_count = mb.msgs.iter().filter(|m| m.flags.contains(&Flag::Recent)).count() as u32;
        self.untagged(Untagged::Exists(n), "new mail: the mailbox now holds this many messages", rfc("7.4.1"));
        if recent && !self.rev2 {
            self.untagged(
                Untagged::Recent(recent_count),
                "IMAP4rev1: how many are \\Recent",
                RfcRef::new(3501, "7.3.2"),
            );
        }
    }

    /// Reads and runs commands until the buffer is empty or one waits on the driver.
    fn process(&mut self) {
        loop {
            if self.state == State::Logout || !matches!(self.waiting, Waiting::None) {
                return;
            }
            match self.framer.next_frame() {
                Framed::Partial => return,
                Framed::NeedContinuation { line, size } => {
                    // A command we do not know gets its BAD now, not after its literal
                    // (RFC 9051 §7.5: the server may answer instead of sending "+").
                    if let Err(e @ (CommandError::NoTag(_) | CommandError::Unknown { .. })) = Command::parse(&line) {
                        self.framer.abandon();
                        self.refuse(&e);
                        continue;
                    }
                    self.send(
                        Response::Continue(CONTINUE_TEXT.into()),
                        format!("a synchronizing literal of {size} octets: the client waits for this go-ahead"),
                        rfc("7.5"),
                    );
                }
                Framed::TooBig { start, what } => {
                    let tag = leading_tag(&start);
                    self.bad(tag.as_deref(), format!("Too big: expected {what}"));
                }
                Framed::Frame(frame) => self.handle_frame(&frame),
            }
        }
    }

    fn handle_frame(&mut self, frame: &[u8]) {
        if let Some(tag) = self.idle_tag.take() {
            self.event(ServerEvent::Idle(false));
            if is_done(frame) {
                self.complete(&tag, "IDLE terminated", true);
                return;
            }
            self.tagged(&tag, Status::Bad, None, "Expected DONE to end IDLE", RfcRef::new(2177, "3"));
        }
        match Command::parse(frame) {
            Ok(cmd) => self.run(cmd),
            Err(e) => self.refuse(&e),
        }
    }

    fn refuse(&mut self, e: &CommandError) {
        let why = match e {
            CommandError::NoTag(_) => format!("Missing or invalid tag ({e})"),
            CommandError::Unknown { name, .. } if name.is_empty() => "Missing command".into(),
            CommandError::Unknown { name, .. } => format!("Unknown or unsupported command {name}"),
            CommandError::Syntax { command, error, .. } => format!("Syntax error in {command}: {error}"),
        };
        self.bad(e.tag(), why);
    }

    fn run(&mut self, cmd: Command) {
        let name = cmd.body.name();
        self.event(ServerEvent::CommandReceived(format!("{} {name}", cmd.tag)));
        let allowed = match &cmd.body {
            CommandBody::Capability | CommandBody::Noop | CommandBody::Logout => true,
            CommandBody::Login { .. } => self.state == State::NotAuthenticated,
            CommandBody::Enable(_) => self.state == State::Authenticated,
            CommandBody::Select(_)
            | CommandBody::Examine(_)
            | CommandBody::List { .. }
            | CommandBody::Namespace
            | CommandBody::Idle => matches!(self.state, State::Authenticated | State::Selected),
            _ => self.state == State::Selected,
        };
        if !allowed {
            let why = match self.state {
                State::NotAuthenticated => format!("{name} needs you to log in first"),
                State::Authenticated if !matches!(cmd.body, CommandBody::Login { .. }) => {
                    format!("{name} needs a selected mailbox")
                }
                _ => format!("{name} is not allowed in the {} state", self.state),
            };
            self.event(ServerEvent::Malformed(why.clone()));
            self.tagged(&cmd.tag, Status::Bad, None, why, rfc("3"));
            return;
        }
        let tag = cmd.tag;
        match cmd.body {
            CommandBody::Capability => {
                let caps = self.capabilities();
                self.untagged(Untagged::Capability(caps), "what this server can do", rfc("7.2.2"));
                self.complete(&tag, "CAPABILITY completed", true);
            }
            CommandBody::Noop => self.complete(&tag, "NOOP completed", true),
            CommandBody::Logout => {
                self.untagged(
                    Untagged::Status(crate::response::StatusText::new(
                        Status::Bye,
                        None,
                        "IMAP4rev2 Server logging out",
                    )),
                    "BYE: the server will close the connection",
                    rfc("6.1.3"),
                );
                self.tagged(&tag, Status::Ok, None, "LOGOUT completed", rfc("6.1.3"));
                self.end("LOGOUT", rfc("6.1.3"));
            }
            CommandBody::Login { user, password } => {
                self.user = Some(user.clone());
                self.waiting = Waiting::Login { tag };
                self.event(ServerEvent::Authenticate { user, pass: password });
            }
            CommandBody::Enable(caps) => {
                let mut enabled = Vec::new();
                for c in caps {
                    if c.eq_ignore_ascii_case("IMAP4rev2") && !self.rev2 {
                        self.rev2 = true;
                        enabled.push("IMAP4rev2".to_string());
                    }
                }
                self.untagged(
                    Untagged::Enabled(enabled),
                    "the extensions now enabled (IMAP4rev2: no \\Recent, ESEARCH, LIST on SELECT)",
                    rfc("6.3.1"),
                );
                self.complete(&tag, "ENABLE completed", true);
            }
            CommandBody::Select(name) | CommandBody::Examine(name) if name.is_empty() => {
                self.tagged(&tag, Status::No, Some(Code::NonExistent), "No such mailbox", rfc("6.3.2"));
            }
            CommandBody::Select(name) => self.open(tag, name, false),
            CommandBody::Examine(name) => self.open(tag, name, true),
            CommandBody::List { reference, pattern } => {
                self.list(&reference, &pattern);
                self.complete(&tag, "LIST completed", true);
            }
            CommandBody::Namespace => {
                let personal = Value::List(vec![Value::List(vec![
                    Value::String(Vec::new()),
                    Value::String(self.config.delimiter.to_string().into_bytes()),
                ])]);
                self.untagged(
                    Untagged::Namespace(vec![personal, Value::Nil, Value::Nil]),
                    "one personal namespace, no prefix; no other users' or shared ones",
                    rfc("7.3.3"),
                );
                self.complete(&tag, "NAMESPACE completed", true);
            }
            CommandBody::Idle => {
                self.send(
                    Response::Continue("idling".into()),
                    "IDLE: the server will now push changes as they happen, until DONE",
                    RfcRef::new(2177, "3"),
                );
                self.event(ServerEvent::Idle(true));
                self.flush_changes(true);
                self.idle_tag = Some(tag);
            }
            CommandBody::Close => self.close_mailbox(tag),
            CommandBody::Unselect => {
                self.deselect("UNSELECT: deselected without expunging", rfc("6.4.2"));
                self.tagged(&tag, Status::Ok, None, "UNSELECT completed", rfc("6.4.2"));
            }
            CommandBody::Expunge => self.expunge(tag, None),
            CommandBody::UidExpunge(set) => self.expunge(tag, Some(set)),
            CommandBody::Fetch { uid, set, items } => self.fetch(tag, uid, set, items.items()),
            CommandBody::Store { uid, set, op, silent, flags } => self.store(tag, uid, set, op, silent, flags),
            CommandBody::Search { uid, ret, charset, keys } => self.search(tag, uid, ret, charset, keys),
        }
    }

    /// The state becomes Logout; the connection should close.
    fn end(&mut self, cause: &'static str, r: RfcRef) {
        if let Some(mb) = self.mailbox.take() {
            self.event(ServerEvent::Closed { mailbox: mb.name });
        }
        self.changes.clear();
        self.idle_tag = None;
        self.set_state(State::Logout, cause, r);
        self.event(ServerEvent::CloseConnection);
    }

    fn deselect(&mut self, cause: &'static str, r: RfcRef) {
        if let Some(mb) = self.mailbox.take() {
            self.event(ServerEvent::Closed { mailbox: mb.name });
        }
        self.changes.clear();
        self.set_state(State::Authenticated, cause, r);
    }

    fn open(&mut self, tag: String, name: String, read_only: bool) {
        if let Some(old) = self.mailbox.take() {
            self.changes.clear();
            self.event(ServerEvent::Closed { mailbox: old.name });
            if self.rev2 {
                // RFC 9051 §6.3.2: "the server MUST return an untagged OK response with
                // the "CLOSED" response code when the currently selected mailbox is closed".
                self.send(
                    Response::untagged_status(Status::Ok, Some(Code::Closed), "Previous mailbox closed"),
                    "the mailbox selected before is closed first",
                    rfc("6.3.2"),
                );
            }
        }
        self.event(ServerEvent::Open { mailbox: name.clone(), read_only });
        self.waiting = Waiting::Open { tag, name, read_only };
    }

    fn opened(&mut self, tag: String, name: String, read_only: bool, snap: Snapshot) {
        let mut msgs = snap.messages;
        msgs.sort_by_key(|m| m.uid);
        msgs.dedup_by_key(|m| m.uid);
        let mb = Mailbox { name: name.clone(), read_only, uidvalidity: snap.uidvalidity, uidnext: snap.uidnext, msgs };
        let exists = mb.msgs.len() as u32;
        let recent = mb.msgs.iter().filter(|m| m.flags.contains(&Flag::Recent)).count() as u32;
        let unseen = mb.msgs.iter().position(|m| !m.flags.contains(&Flag::Seen)).map(|i| i as u32 + 1);
        let (uidvalidity, uidnext) = (mb.uidvalidity, mb.uidnext.max(mb.max_uid().saturating_add(1)));
        self.mailbox = Some(mb);
        self.untagged(Untagged::Exists(exists), "how many messages the mailbox holds", rfc("7.4.1"));
        if !self.rev2 {
            self.untagged(
                Untagged::Recent(recent),
                "IMAP4rev1: how many are \\Recent (this session is the first to see them)",
                RfcRef::new(3501, "6.3.1"),
            );
            if let Some(n) = unseen {
                self.send(
                    Response::untagged_status(
                        Status::Ok,
                        Some(Code::Unseen(n)),
                        format!("Message {n} is the first unseen message"),
                    ),
                    "IMAP4rev1: the first message without \\Seen",
                    RfcRef::new(3501, "6.3.1"),
                );
            }
        }
        self.send(
            Response::untagged_status(Status::Ok, Some(Code::UidValidity(uidvalidity)), "UIDs valid"),
            "UIDVALIDITY: UIDs the client kept are valid only while this stays the same",
            rfc("2.3.1.1"),
        );
        self.send(
            Response::untagged_status(Status::Ok, Some(Code::UidNext(uidnext)), "Predicted next UID"),
            "UIDNEXT: the UID the next message will get",
            rfc("2.3.1.1"),
        );
        self.untagged(Untagged::Flags(self.config.flags.clone()), "the flags this mailbox knows", rfc("7.3.5"));
        let permanent = if read_only { Vec::new() } else { self.config.permanent_flags.clone() };
        let text = if read_only {
            "No permanent flags permitted"
        } else if self.config.flags.iter().all(|f| permanent.contains(f)) {
            "Flags permitted"
        } else {
            "Limited"
        };
        self.send(
            Response::untagged_status(Status::Ok, Some(Code::PermanentFlags(permanent)), text),
            "PERMANENTFLAGS: the flags the client can change for good (\\*: and create keywords)",
            rfc("7.1"),
        );
        if self.rev2 {
            self.untagged(
                Untagged::List {
                    attributes: Vec::new(),
                    delimiter: Some(self.config.delimiter),
                    mailbox: name.clone(),
                },
                "IMAP4rev2: the selected mailbox's name as the server spells it",
                rfc("6.3.2"),
            );
        }
        let (code, cmd) = if read_only { (Code::ReadOnly, "EXAMINE") } else { (Code::ReadWrite, "SELECT") };
        self.tagged(&tag, Status::Ok, Some(code), format!("{cmd} completed"), rfc("6.3.2"));
        self.set_state(State::Selected, format!("{cmd} {name} succeeded"), rfc("3.3"));
    }

    fn list(&mut self, reference: &str, pattern: &str) {
        let d = self.config.delimiter;
        if pattern.is_empty() {
            // RFC 9051 §6.3.9: an empty pattern asks for the delimiter and root.
            self.untagged(
                Untagged::List { attributes: vec!["\\Noselect".into()], delimiter: Some(d), mailbox: String::new() },
                "the hierarchy delimiter and root name",
                rfc("6.3.9"),
            );
            return;
        }
        let full = format!("{reference}{pattern}");
        for name in self.config.mailboxes.clone() {
            if wildcard_match(&full, &name, d) {
                self.untagged(
                    Untagged::List { attributes: Vec::new(), delimiter: Some(d), mailbox: name.clone() },
                    format!("mailbox {name} matches {full:?}"),
                    rfc("7.3.1"),
                );
            }
        }
    }

    fn close_mailbox(&mut self, tag: String) {
        let Some(mb) = &self.mailbox else { return };
        let deleted: Vec<u32> = mb.msgs.iter().filter(|m| m.flags.contains(&Flag::Deleted)).map(|m| m.uid).collect();
        if mb.read_only || deleted.is_empty() {
            self.deselect("CLOSE: deselected (nothing to expunge)", rfc("6.4.1"));
            self.tagged(&tag, Status::Ok, None, "CLOSE completed", rfc("6.4.1"));
            return;
        }
        self.event(ServerEvent::Expunge { uids: deleted });
        self.waiting = Waiting::Work(Box::new(Work::new(tag, WorkKind::Close).expunging()));
    }

    fn expunge(&mut self, tag: String, set: Option<SeqSet>) {
        let Some(mb) = &self.mailbox else { return };
        if mb.read_only {
            self.tagged(&tag, Status::No, None, "The mailbox is read-only (EXAMINE)", rfc("6.4.3"));
            return;
        }
        let max = mb.max_uid();
        let deleted: Vec<u32> = mb
            .msgs
            .iter()
            .filter(|m| m.flags.contains(&Flag::Deleted))
            .filter(|m| set.as_ref().is_none_or(|s| s.contains(m.uid, max)))
            .map(|m| m.uid)
            .collect();
        let uid = set.is_some();
        if deleted.is_empty() {
            let name = if uid { "UID EXPUNGE" } else { "EXPUNGE" };
            self.complete(&tag, format!("{name} completed"), true);
            return;
        }
        self.event(ServerEvent::Expunge { uids: deleted });
        self.waiting = Waiting::Work(Box::new(Work::new(tag, WorkKind::Expunge { uid }).expunging()));
    }

    /// Checks a message-sequence-number set against the mailbox: RFC 9051 §9, "seq-number":
    /// a number larger than the number of messages is an error (BAD).
    fn check_seqs(&mut self, tag: &str, set: &SeqSet, uid: bool) -> bool {
        let exists = self.mailbox.as_ref().map_or(0, |m| m.msgs.len() as u32);
        // `*` in an empty mailbox names no message either.
        if uid || (exists > 0 && set.max_explicit() <= exists) {
            return true;
        }
        let why = format!("Invalid message sequence number: the mailbox has {exists} message(s)");
        self.event(ServerEvent::Malformed(why.clone()));
        self.tagged(tag, Status::Bad, None, why, rfc("9"));
        false
    }

    fn fetch(&mut self, tag: String, uid: bool, set: SeqSet, mut items: Vec<FetchItem>) {
        if !self.check_seqs(&tag, &set, uid) {
            return;
        }
        let Some(mb) = &self.mailbox else { return };
        // RFC 9051 §6.4.9: "the UID FETCH command ... MUST include the UID".
        if uid && !items.contains(&FetchItem::Uid) {
            items.insert(0, FetchItem::Uid);
        }
        let seqs = mb.targets(&set, uid);
        let content = items.iter().any(FetchItem::needs_content);
        let need: BTreeSet<u32> =
            if content { seqs.iter().map(|&s| mb.msgs[s - 1].uid).collect() } else { BTreeSet::new() };
        let unseen: Vec<u32> = if !mb.read_only && items.iter().any(FetchItem::sets_seen) {
            seqs.iter().map(|&s| &mb.msgs[s - 1]).filter(|m| !m.flags.contains(&Flag::Seen)).map(|m| m.uid).collect()
        } else {
            Vec::new()
        };
        let mut work = Work::new(tag, WorkKind::Fetch { uid, seqs, items });
        for &u in &need {
            self.event(ServerEvent::Fetch { uid: u });
        }
        work.need = need;
        if !unseen.is_empty() {
            // RFC 9051 §6.4.5: "The \Seen flag is implicitly set" by BODY[section].
            self.event(ServerEvent::Store {
                uids: unseen,
                op: StoreOp::Add,
                flags: [Flag::Seen].into_iter().collect(),
            });
            work.storing = true;
        }
        self.start(work);
    }

    fn store(&mut self, tag: String, uid: bool, set: SeqSet, op: StoreOp, silent: bool, flags: Vec<Flag>) {
        if !self.check_seqs(&tag, &set, uid) {
            return;
        }
        let Some(mb) = &self.mailbox else { return };
        if mb.read_only {
            self.tagged(&tag, Status::No, None, "The mailbox is read-only (EXAMINE)", rfc("6.4.6"));
            return;
        }
        let seqs = mb.targets(&set, uid);
        let uids: Vec<u32> = seqs.iter().map(|&s| mb.msgs[s - 1].uid).collect();
        let mut work = Work::new(tag, WorkKind::Store { uid, seqs, op, silent });
        if !uids.is_empty() {
            self.event(ServerEvent::Store { uids, op, flags: flags.into_iter().collect() });
            work.storing = true;
        }
        self.start(work);
    }

    fn search(
        &mut self,
        tag: String,
        uid: bool,
        ret: Option<Vec<SearchReturn>>,
        charset: Option<String>,
        keys: Vec<SearchKey>,
    ) {
        if let Some(cs) = &charset {
            if !cs.eq_ignore_ascii_case("UTF-8") && !cs.eq_ignore_ascii_case("US-ASCII") {
                self.tagged(
                    &tag,
                    Status::No,
                    Some(Code::BadCharset(vec!["US-ASCII".into(), "UTF-8".into()])),
                    format!("Unsupported charset {cs}"),
                    rfc("6.4.4"),
                );
                return;
            }
        }
        let Some(mb) = &self.mailbox else { return };
        let content = keys.iter().any(message::needs_content);
        let need: BTreeSet<u32> = if content { mb.msgs.iter().map(|m| m.uid).collect() } else { BTreeSet::new() };
        for &u in &need {
            self.event(ServerEvent::Fetch { uid: u });
        }
        let mut work = Work::new(tag, WorkKind::Search { uid, ret, keys });
        work.need = need;
        self.start(work);
    }

    /// Runs the work now if it waits on nothing, else leaves it waiting.
    fn start(&mut self, work: Work) {
        if work.ready() {
            self.finish(work);
        } else {
            self.waiting = Waiting::Work(Box::new(work));
        }
    }

    fn finish(&mut self, work: Work) {
        let Work { tag, kind, bodies, missing, stored, expunged, .. } = work;
        match kind {
            WorkKind::Fetch { uid, seqs, items } => {
                let mut gone = false;
                for seq in seqs {
                    let Some(meta) = self.mailbox.as_ref().and_then(|m| m.msgs.get(seq - 1)).cloned() else {
                        continue;
                    };
                    if missing.contains(&meta.uid) {
                        gone = true;
                        continue;
                    }
                    let body = bodies.get(&meta.uid).map(Vec::as_slice);
                    let mut attrs = fetch_attrs(&items, &meta, body, &self.shown(&meta.flags));
                    if stored.contains(&meta.uid) && !items.contains(&FetchItem::Flags) {
                        // RFC 9051 §6.4.5: "if this causes the flags to change, they SHOULD
                        // be included as part of the FETCH responses".
                        attrs.push(MsgAtt::Flags(self.shown(&meta.flags)));
                    }
                    self.untagged(
                        Untagged::Fetch { seq: seq as u32, attrs },
                        format!("message {seq} (UID {}): the data asked for", meta.uid),
                        rfc("7.5.2"),
                    );
                }
                let name = if uid { "UID FETCH" } else { "FETCH" };
                if gone {
                    self.flush_changes(uid);
                    self.tagged(
                        &tag,
                        Status::No,
                        Some(Code::ExpungeIssued),
                        "Some messages were expunged by another session",
                        rfc("7.1"),
                    );
                } else {
                    self.complete(&tag, format!("{name} completed"), uid);
                }
            }
            WorkKind::Store { uid, seqs, op, silent } => {
                if !silent {
                    for seq in seqs {
                        let Some(meta) = self.mailbox.as_ref().and_then(|m| m.msgs.get(seq - 1)).cloned() else {
                            continue;
                        };
                        let mut attrs = vec![MsgAtt::Flags(self.shown(&meta.flags))];
                        if uid {
                            attrs.push(MsgAtt::Uid(meta.uid));
                        }
                        self.untagged(
                            Untagged::Fetch { seq: seq as u32, attrs },
                            format!("message {seq}'s flags after the STORE"),
                            rfc("6.4.6"),
                        );
                    }
                }
                let silent = if silent { ".SILENT" } else { "" };
                self.complete(&tag, format!("{op}{silent} completed"), uid);
            }
            WorkKind::Search { uid, ret, keys } => {
                let Some(mb) = &self.mailbox else { return };
                let (exists, max_uid) = (mb.msgs.len() as u32, mb.max_uid());
                let found: Vec<u32> = mb
                    .msgs
                    .iter()
                    .enumerate()
                    .filter(|(i, m)| {
                        let body = bodies.get(&m.uid).map(Vec::as_slice);
                        keys.iter().all(|k| eval(k, *i as u32 + 1, m, body, exists, max_uid))
                    })
                    .map(|(i, m)| if uid { m.uid } else { i as u32 + 1 })
                    .collect();
                if self.rev2 || ret.is_some() {
                    let opts = ret.filter(|r| !r.is_empty()).unwrap_or_else(|| vec![SearchReturn::All]);
                    let mut data = Vec::new();
                    for o in opts {
                        match o {
                            SearchReturn::Min => data.extend(found.first().map(|&n| ESearchData::Min(n))),
                            SearchReturn::Max => data.extend(found.last().map(|&n| ESearchData::Max(n))),
                            SearchReturn::All => data.extend(SeqSet::from_numbers(&found).map(ESearchData::All)),
                            SearchReturn::Count => data.push(ESearchData::Count(found.len() as u32)),
                        }
                    }
                    self.untagged(
                        Untagged::ESearch { tag: Some(tag.clone()), uid, data },
                        format!("{} message(s) match, as a compact set", found.len()),
                        rfc("7.3.4"),
                    );
                } else {
                    self.untagged(
                        Untagged::Search(found.clone()),
                        format!("IMAP4rev1: the {} matching message(s)", found.len()),
                        RfcRef::new(3501, "7.2.5"),
                    );
                }
                let name = if uid { "UID SEARCH" } else { "SEARCH" };
                self.complete(&tag, format!("{name} completed"), uid);
            }
            WorkKind::Expunge { uid } => {
                for u in expunged {
                    let Some(mb) = self.mailbox.as_mut() else { break };
                    if let Some(i) = mb.seq_of(u) {
                        mb.msgs.remove(i);
                        self.untagged(
                            Untagged::Expunge(i as u32 + 1),
                            format!("UID {u} removed; later messages move down by one"),
                            rfc("7.5.1"),
                        );
                    }
                }
                let name = if uid { "UID EXPUNGE" } else { "EXPUNGE" };
                self.complete(&tag, format!("{name} completed"), true);
            }
            WorkKind::Close => {
                self.deselect("CLOSE: \\Deleted messages expunged silently, mailbox deselected", rfc("6.4.1"));
                self.tagged(&tag, Status::Ok, None, "CLOSE completed", rfc("6.4.1"));
            }
        }
    }

    /// A driver answer.
    fn reply(&mut self, cmd: ServerCommand) -> Result<(), ImapError> {
        let unexpected = |c: &ServerCommand| Err(ImapError::UnexpectedReply(c.to_string()));
        match (std::mem::replace(&mut self.waiting, Waiting::None), cmd) {
            (Waiting::Login { tag }, ServerCommand::LoginOk) => {
                self.tagged(&tag, Status::Ok, None, "LOGIN completed", rfc("6.2.3"));
                self.set_state(State::Authenticated, "LOGIN succeeded", rfc("3.2"));
            }
            (Waiting::Login { tag }, ServerCommand::LoginRefused) => {
                self.user = None;
                self.tagged(&tag, Status::No, Some(Code::AuthenticationFailed), "Invalid credentials", rfc("6.2.3"));
            }
            (Waiting::Open { tag, name, read_only }, ServerCommand::Mailbox(snap)) => {
                self.opened(tag, name, read_only, snap);
            }
            (Waiting::Open { tag, .. }, ServerCommand::NoMailbox) => {
                self.tagged(&tag, Status::No, Some(Code::NonExistent), "No such mailbox", rfc("6.3.2"));
                // RFC 9051 §6.3.2: a failed SELECT leaves no mailbox selected.
                self.set_state(State::Authenticated, "SELECT failed: no mailbox is selected", rfc("6.3.2"));
            }
            (Waiting::Work(mut work), cmd) => {
                match cmd {
                    ServerCommand::Message { uid, bytes } if work.need.remove(&uid) => {
                        work.bodies.insert(uid, bytes);
                    }
                    ServerCommand::NoMessage { uid } if work.need.remove(&uid) => {
                        work.missing.insert(uid);
                    }
                    ServerCommand::Stored(list) if work.storing => {
                        work.storing = false;
                        if let Some(mb) = self.mailbox.as_mut() {
                            for (uid, flags) in list {
                                if let Some(i) = mb.seq_of(uid) {
                                    mb.msgs[i].flags = flags;
                                    work.stored.insert(uid);
                                }
                            }
                        }
                    }
                    ServerCommand::Expunged(uids) if work.expunging => {
                        work.expunging = false;
                        work.expunged = uids;
                    }
                    other => {
                        self.waiting = Waiting::Work(work);
                        return unexpected(&other);
                    }
                }
                if work.ready() {
                    self.finish(*work);
                } else {
                    self.waiting = Waiting::Work(work);
                }
            }
            (w, other) => {
                self.waiting = w;
                return unexpected(&other);
            }
        }
        Ok(())
    }

    /// What the driver is being asked, as the answers the console would accept (the
    /// UI's buttons), guessing the answer a store would give.
    fn suggested_answers(&self) -> Vec<ServerCommand> {
        match &self.waiting {
            Waiting::None => Vec::new(),
            Waiting::Login { .. } => vec![ServerCommand::LoginOk, ServerCommand::LoginRefused],
            Waiting::Open { .. } => vec![
                ServerCommand::Mailbox(Snapshot { uidvalidity: 1, uidnext: 1, messages: Vec::new() }),
                ServerCommand::NoMailbox,
            ],
            Waiting::Work(w) => {
                let mut out: Vec<ServerCommand> =
                    w.need.iter().take(1).map(|&uid| ServerCommand::NoMessage { uid }).collect();
                if w.expunging {
                    if let Some(mb) = &self.mailbox {
                        let uids = mb.msgs.iter().filter(|m| m.flags.contains(&Flag::Deleted)).map(|m| m.uid);
                        out.push(ServerCommand::Expunged(uids.collect()));
                    }
                }
                out
            }
        }
    }
}

impl Work {
    fn new(tag: String, kind: WorkKind) -> Work {
        Work {
            tag,
            kind,
            need: BTreeSet::new(),
            bodies: BTreeMap::new(),
            missing: BTreeSet::new(),
            storing: false,
            stored: BTreeSet::new(),
            expunging: false,
            expunged: Vec::new(),
        }
    }

    fn expunging(mut self) -> Work {
        self.expunging = true;
        self
    }

    fn ready(&self) -> bool {
        self.need.is_empty() && !self.storing && !self.expunging
    }
}

/// LIST's pattern matching (RFC 9051 §6.3.9): `*` matches anything, `%` anything but
/// the delimiter; INBOX in any case.
fn wildcard_match(pattern: &str, name: &str, delimiter: char) -> bool {
    fn go(p: &[char], n: &[char], d: char) -> bool {
        match p.split_first() {
            None => n.is_empty(),
            Some(('*', rest)) => (0..=n.len()).any(|i| go(rest, &n[i..], d)),
            Some(('%', rest)) => (0..=n.len()).take_while(|&i| i == 0 || n[i - 1] != d).any(|i| go(rest, &n[i..], d)),
            Some((c, rest)) => n.first() == Some(c) && go(rest, &n[1..], d),
        }
    }
    let canon = |s: &str| {
        if s.len() >= 5 && s[..5].eq_ignore_ascii_case("INBOX") { format!("INBOX{}", &s[5..]) } else { s.to_string() }
    };
    let (p, n): (Vec<char>, Vec<char>) = (canon(pattern).chars().collect(), canon(name).chars().collect());
    p.len() <= 256 && go(&p, &n, delimiter)
}

/// The FETCH data items of one message.
fn fetch_attrs(items: &[FetchItem], meta: &MessageMeta, body: Option<&[u8]>, flags: &Flags) -> Vec<MsgAtt> {
    let bytes = body.unwrap_or_default();
    let mut attrs = Vec::new();
    for item in items {
        attrs.push(match item {
            FetchItem::Flags => MsgAtt::Flags(flags.clone()),
            FetchItem::Uid => MsgAtt::Uid(meta.uid),
            FetchItem::Rfc822Size => MsgAtt::Rfc822Size(u64::from(meta.size)),
            FetchItem::InternalDate => {
                MsgAtt::InternalDate(meta.internal_date.unwrap_or(InternalDate { unix: 0, offset_minutes: 0 }))
            }
            FetchItem::Envelope => MsgAtt::Envelope(Box::new(message::envelope(bytes))),
            FetchItem::Body => MsgAtt::Body(Box::new(message::body_structure(bytes))),
            FetchItem::BodyStructure => MsgAtt::BodyStructure(Box::new(message::body_structure(bytes))),
            FetchItem::Section { section, partial, .. } => {
                let data = message::section(bytes, section).unwrap_or_default();
                let (data, origin) = match partial {
                    Some((start, len)) => {
                        let s = (*start as usize).min(data.len());
                        let e = s.saturating_add(*len as usize).min(data.len());
                        (data[s..e].to_vec(), Some(*start))
                    }
                    None => (data, None),
                };
                MsgAtt::Section { section: section.clone(), origin, data: Some(data) }
            }
            FetchItem::Rfc822 => MsgAtt::Rfc822(Some(bytes.to_vec())),
            FetchItem::Rfc822Header => MsgAtt::Rfc822Header(Some(bytes[..message::split(bytes).0].to_vec())),
            FetchItem::Rfc822Text => MsgAtt::Rfc822Text(Some(bytes[message::split(bytes).1..].to_vec())),
        });
    }
    attrs
}

/// Whether message `seq` matches a search key (RFC 9051 §6.4.4).
fn eval(key: &SearchKey, seq: u32, m: &MessageMeta, body: Option<&[u8]>, exists: u32, max_uid: u32) -> bool {
    let has = |f: Flag| m.flags.contains(&f);
    let content = |k: &SearchKey| body.is_some_and(|b| message::matches_content(b, k));
    match key {
        SearchKey::All => true,
        SearchKey::Answered => has(Flag::Answered),
        SearchKey::Deleted => has(Flag::Deleted),
        SearchKey::Draft => has(Flag::Draft),
        SearchKey::Flagged => has(Flag::Flagged),
        SearchKey::Seen => has(Flag::Seen),
        SearchKey::Unanswered => !has(Flag::Answered),
        SearchKey::Undeleted => !has(Flag::Deleted),
        SearchKey::Undraft => !has(Flag::Draft),
        SearchKey::Unflagged => !has(Flag::Flagged),
        SearchKey::Unseen => !has(Flag::Seen),
        SearchKey::New => has(Flag::Recent) && !has(Flag::Seen),
        SearchKey::Old => !has(Flag::Recent),
        SearchKey::Recent => has(Flag::Recent),
        SearchKey::Keyword(k) => has(Flag::Keyword(k.clone())),
        SearchKey::Unkeyword(k) => !has(Flag::Keyword(k.clone())),
        SearchKey::Before(d) => m.internal_date.is_some_and(|x| x.day() < *d),
        SearchKey::On(d) => m.internal_date.is_some_and(|x| x.day() == *d),
        SearchKey::Since(d) => m.internal_date.is_some_and(|x| x.day() >= *d),
        SearchKey::Larger(n) => u64::from(m.size) > *n,
        SearchKey::Smaller(n) => u64::from(m.size) < *n,
        SearchKey::Uid(set) => set.contains(m.uid, max_uid),
        SearchKey::Seq(set) => set.contains(seq, exists),
        SearchKey::Not(k) => !eval(k, seq, m, body, exists, max_uid),
        SearchKey::Or(a, b) => eval(a, seq, m, body, exists, max_uid) || eval(b, seq, m, body, exists, max_uid),
        SearchKey::And(keys) => keys.iter().all(|k| eval(k, seq, m, body, exists, max_uid)),
        k => content(k),
    }
}

impl Machine for ImapServer {
    type State = State;
    type Command = ServerCommand;
    type Event = ServerEvent;
    type Error = ImapError;

    fn state(&self) -> State {
        self.state
    }

    fn handle_input(&mut self, now: Instant, input: Input<'_, ServerCommand>) -> Result<(), ImapError> {
        if self.state == State::Logout {
            return match input {
                Input::Timeout | Input::Command(ServerCommand::Eof | ServerCommand::Close) => Ok(()),
                // Another session's news, or a late answer: nobody to tell any more.
                Input::Command(ServerCommand::Changed(_)) => Ok(()),
                _ => Err(ImapError::Closed),
            };
        }
        match input {
            Input::Receive { from, bytes } => {
                self.peer = Some(from);
                self.greet();
                self.arm(now);
                self.framer.push(bytes);
                self.process();
            }
            Input::Timeout => {
                if self.deadline.is_some_and(|d| now >= d) {
                    self.send(
                        Response::untagged_status(Status::Bye, None, "Autologout; idle for too long"),
                        "BYE: the client said nothing for longer than the autologout timer",
                        rfc("5.4"),
                    );
                    self.end("autologout", rfc("5.4"));
                }
            }
            Input::Command(ServerCommand::Eof) => {
                let cause = if self.framer.in_frame() {
                    "the client closed the connection in the middle of a command"
                } else {
                    "the client closed the connection"
                };
                self.end(cause, rfc("3.4"));
            }
            Input::Command(ServerCommand::Close) => {
                self.greet();
                self.send(
                    Response::untagged_status(Status::Bye, None, "Server shutting down"),
                    "BYE: the server ends the session on its own",
                    rfc("7.1.5"),
                );
                self.end("the server ended the session", rfc("7.1.5"));
            }
            Input::Command(ServerCommand::Changed(change)) => {
                if self.mailbox.is_some() {
                    self.changes.push_back(change);
                    if self.idle_tag.is_some() {
                        // RFC 2177 §3: while idling, the server sends updates as they happen.
                        self.flush_changes(true);
                    }
                }
            }
            Input::Command(cmd) => {
                self.reply(cmd)?;
                self.process();
            }
        }
        Ok(())
    }

    fn poll_output(&mut self, _now: Instant) -> Output<State, ServerEvent> {
        let wake_at = if self.state == State::Logout { None } else { self.deadline };
        self.out.pop_front().unwrap_or(Output::Idle { wake_at })
    }

    fn suggested_commands(&self) -> Vec<ServerCommand> {
        if self.state == State::Logout {
            return Vec::new();
        }
        let mut out = self.suggested_answers();
        if let Some(mb) = &self.mailbox {
            let uid = mb.uidnext.max(mb.max_uid() + 1);
            out.push(ServerCommand::Changed(Change::New(MessageMeta::new(uid, 100, Flags::new()))));
        }
        out.push(ServerCommand::Close);
        out
    }

    fn annotate(bytes: &[u8]) -> Annotation {
        annotate::annotate(bytes)
    }

    fn diagrams(&self) -> Vec<wirelab_core::StateDiagram> {
        vec![crate::session_diagram("IMAP server")]
    }
}

/// The server over a byte stream: it greets when the stream opens (RFC 9051 §7.1:
/// "the server greeting"), the client's FIN is `eof`, and
/// [`ServerEvent::CloseConnection`] closes the stream.
impl StreamApp for ImapServer {
    const PROTOCOL: &'static str = "IMAP";

    fn on_connected(&mut self, now: Instant) -> Result<(), ImapError> {
        if self.state != State::Logout {
            self.greet();
            self.arm(now);
        }
        Ok(())
    }

    fn on_peer_closed(&mut self, now: Instant) -> Result<(), ImapError> {
        self.handle_input(now, Input::Command(ServerCommand::Eof))
    }

    fn wants_transport_close(event: &ServerEvent) -> bool {
        matches!(event, ServerEvent::CloseConnection)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn console_commands_round_trip() {
        let cmds = [
            "auth ok",
            "auth no",
            "mailbox 3857529045 4392 12:4286:\\Seen:837596665-0700 13:100:",
            "no-mailbox",
            "message 12 Subject: hi\\r\\n\\r\\nbody",
            "no-message 12",
            "stored 12:\\Seen,\\Deleted 13:",
            "expunged 3 4",
            "changed new 14:120:\\Recent",
            "changed flags 12:\\Seen",
            "changed expunged 12",
            "bye",
            "eof",
        ];
        for c in cmds {
            let parsed: ServerCommand = c.parse().unwrap_or_else(|e| panic!("{c}: {e}"));
            assert_eq!(parsed.to_string(), c);
        }
        assert!("mailbox x 1".parse::<ServerCommand>().is_err());
        assert!("stored 0:".parse::<ServerCommand>().is_err());
    }

    /// RFC 9051 §5.4: the autologout timer counts from the client's last bytes, and
    /// ends the session with `* BYE`.
    #[test]
    fn autologout_after_the_clients_silence() {
        let secs = |s| Instant::ZERO + core::time::Duration::from_secs(s);
        let local: SocketAddr = ([127, 0, 0, 1], 143).into();
        let mut config = ServerConfig::new(local);
        config.autologout = Some(core::time::Duration::from_secs(60));
        let mut server = ImapServer::new(config);
        let drain = |server: &mut ImapServer, now| {
            let (mut sent, mut closed) = (Vec::new(), false);
            loop {
                match server.poll_output(now) {
                    Output::Transmit(t) => sent.extend(t.bytes),
                    Output::Event(ServerEvent::CloseConnection) => closed = true,
                    Output::Idle { wake_at } => return (String::from_utf8_lossy(&sent).into_owned(), closed, wake_at),
                    _ => {}
                }
            }
        };
        let _ = server.on_connected(secs(0));
        assert_eq!(drain(&mut server, secs(0)).2, Some(secs(60)));
        let peer: SocketAddr = ([127, 0, 0, 1], 5000).into();
        let _ = server.handle_input(secs(10), Input::Receive { from: peer, bytes: b"a1 NOOP\r\n" });
        let (sent, _, wake) = drain(&mut server, secs(10));
        assert!(sent.starts_with("a1 OK"), "{sent}");
        assert_eq!(wake, Some(secs(70)), "counted from the last bytes");
        let _ = server.handle_input(secs(69), Input::Timeout);
        assert_eq!(drain(&mut server, secs(69)).0, "");
        let _ = server.handle_input(secs(70), Input::Timeout);
        let (sent, closed, wake) = drain(&mut server, secs(70));
        assert_eq!((sent.as_str(), closed, wake), ("* BYE Autologout; idle for too long\r\n", true, None));
        assert_eq!(server.state(), State::Logout);
    }

    #[test]
    fn list_patterns() {
        assert!(wildcard_match("*", "INBOX", '/'));
        assert!(wildcard_match("inbox", "INBOX", '/'));
        assert!(wildcard_match("%", "Work", '/'));
        assert!(!wildcard_match("%", "Work/Old", '/'));
        assert!(wildcard_match("Work/%", "Work/Old", '/'));
        assert!(!wildcard_match("Sent", "INBOX", '/'));
    }
}
