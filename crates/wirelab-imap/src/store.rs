//! An in-memory driver for [`ImapServer`](crate::ImapServer) sessions: users,
//! mailboxes and messages, shared by every session, which it keeps in sync. It is the
//! store protocol of [`crate::server`] played by a few lines of code, for tests and
//! stepped scenarios; the real server will answer the same events from SQLite.
//!
//! Each session has a [`SessionId`]. [`MemStore::answer`] takes a session's event and
//! returns the answer for that session and the news for the others: when one device
//! marks a message `\Seen`, every other session with that mailbox selected is sent
//! `changed flags …`.

use crate::command::StoreOp;
use crate::server::{Change, MessageMeta, ServerCommand, ServerEvent, Snapshot};
use crate::types::{Flag, Flags, InternalDate};
use std::collections::BTreeMap;

/// Which session an event came from or news goes to (the driver's own numbering).
pub type SessionId = usize;

#[derive(Clone, Debug, PartialEq, Eq)]
struct Stored {
    meta: MessageMeta,
    bytes: Vec<u8>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct MemMailbox {
    uidvalidity: u32,
    uidnext: u32,
    messages: Vec<Stored>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Session {
    /// Who is logging in (until the answer) or logged in.
    user: Option<String>,
    logged_in: bool,
    selected: Option<String>,
}

/// Users, their mailboxes, and who has what selected.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MemStore {
    passwords: BTreeMap<String, String>,
    /// (user, mailbox) → mailbox.
    mailboxes: BTreeMap<(String, String), MemMailbox>,
    sessions: BTreeMap<SessionId, Session>,
    /// UIDVALIDITY for the next mailbox created.
    next_uidvalidity: u32,
}

impl MemStore {
    pub fn new() -> MemStore {
        MemStore { next_uidvalidity: 1, ..MemStore::default() }
    }

    /// Adds a user with an empty INBOX.
    pub fn add_user(&mut self, user: &str, password: &str) {
        self.passwords.insert(user.to_string(), password.to_string());
        self.create_mailbox(user, "INBOX", None);
    }

    /// Creates a mailbox (if new), with this UIDVALIDITY or the next one.
    pub fn create_mailbox(&mut self, user: &str, name: &str, uidvalidity: Option<u32>) {
        let v = uidvalidity.unwrap_or(self.next_uidvalidity);
        self.next_uidvalidity = self.next_uidvalidity.max(v.saturating_add(1));
        self.mailboxes.entry((user.to_string(), name.to_string())).or_insert(MemMailbox {
            uidvalidity: v,
            uidnext: 1,
            messages: Vec::new(),
        });
    }

    /// Sets the next UID of a mailbox (for replaying an RFC example's numbers).
    pub fn set_uidnext(&mut self, user: &str, name: &str, uidnext: u32) {
        if let Some(mb) = self.mailboxes.get_mut(&(user.to_string(), name.to_string())) {
            mb.uidnext = mb.uidnext.max(uidnext);
        }
    }

    /// Delivers a message: it gets the next UID. Returns the UID (None: no such mailbox)
    /// and the news for the sessions that have the mailbox selected.
    pub fn deliver(
        &mut self,
        user: &str,
        mailbox: &str,
        bytes: &[u8],
        flags: Flags,
        internal_date: Option<InternalDate>,
    ) -> (Option<u32>, Vec<(SessionId, ServerCommand)>) {
        let key = (user.to_string(), mailbox.to_string());
        let Some(mb) = self.mailboxes.get_mut(&key) else { return (None, Vec::new()) };
        let uid = mb.uidnext;
        mb.uidnext += 1;
        let size = u32::try_from(bytes.len()).unwrap_or(u32::MAX);
        let meta = MessageMeta { uid, flags, size, internal_date };
        mb.messages.push(Stored { meta: meta.clone(), bytes: bytes.to_vec() });
        let news = self.watchers(&key, None).map(|s| (s, ServerCommand::Changed(Change::New(meta.clone())))).collect();
        (Some(uid), news)
    }

    /// The UIDs and flags of a mailbox.
    pub fn messages(&self, user: &str, mailbox: &str) -> Vec<(u32, Flags)> {
        self.mailboxes
            .get(&(user.to_string(), mailbox.to_string()))
            .map(|mb| mb.messages.iter().map(|m| (m.meta.uid, m.meta.flags.clone())).collect())
            .unwrap_or_default()
    }

    /// Sessions other than `except` with this mailbox selected.
    fn watchers<'a>(
        &'a self,
        key: &'a (String, String),
        except: Option<SessionId>,
    ) -> impl Iterator<Item = SessionId> + 'a {
        self.sessions
            .iter()
            .filter(move |(id, s)| {
                Some(**id) != except
                    && s.logged_in
                    && s.user.as_deref() == Some(key.0.as_str())
                    && s.selected.as_deref() == Some(key.1.as_str())
            })
            .map(|(id, _)| *id)
    }

    /// The session is gone: forget it.
    pub fn disconnect(&mut self, session: SessionId) {
        self.sessions.remove(&session);
    }

    /// Answers one event of `session`: the command to give that session (if the event
    /// asks a question), and news for the other sessions.
    pub fn answer(
        &mut self,
        session: SessionId,
        event: &ServerEvent,
    ) -> (Option<ServerCommand>, Vec<(SessionId, ServerCommand)>) {
        let s = self.sessions.entry(session).or_default();
        let key = |s: &Session| (s.user.clone().unwrap_or_default(), s.selected.clone().unwrap_or_default());
        match event {
            ServerEvent::Authenticate { user, pass } => {
                let ok = self.passwords.get(user) == Some(pass);
                s.user = Some(user.clone());
                s.logged_in = ok;
                (Some(if ok { ServerCommand::LoginOk } else { ServerCommand::LoginRefused }), Vec::new())
            }
            ServerEvent::Open { mailbox, .. } => {
                let user = s.user.clone().unwrap_or_default();
                match self.mailboxes.get(&(user, mailbox.clone())) {
                    Some(mb) if s.logged_in => {
                        s.selected = Some(mailbox.clone());
                        let snap = Snapshot {
                            uidvalidity: mb.uidvalidity,
                            uidnext: mb.uidnext,
                            messages: mb.messages.iter().map(|m| m.meta.clone()).collect(),
                        };
                        (Some(ServerCommand::Mailbox(snap)), Vec::new())
                    }
                    _ => {
                        s.selected = None;
                        (Some(ServerCommand::NoMailbox), Vec::new())
                    }
                }
            }
            ServerEvent::Fetch { uid } => {
                let k = key(s);
                let found = self.mailboxes.get(&k).and_then(|mb| mb.messages.iter().find(|m| m.meta.uid == *uid));
                let reply = match found {
                    Some(m) => ServerCommand::Message { uid: *uid, bytes: m.bytes.clone() },
                    None => ServerCommand::NoMessage { uid: *uid },
                };
                (Some(reply), Vec::new())
            }
            ServerEvent::Store { uids, op, flags } => {
                let k = key(s);
                let mut result = Vec::new();
                if let Some(mb) = self.mailboxes.get_mut(&k) {
                    let wanted: Vec<Flag> = flags.iter().cloned().collect();
                    for m in mb.messages.iter_mut().filter(|m| uids.contains(&m.meta.uid)) {
                        m.meta.flags = op.apply(&m.meta.flags, &wanted);
                        result.push((m.meta.uid, m.meta.flags.clone()));
                    }
                }
                let news = self
                    .watchers(&k, Some(session))
                    .flat_map(|w| {
                        result.iter().map(move |(uid, flags)| {
                            (w, ServerCommand::Changed(Change::Flags { uid: *uid, flags: flags.clone() }))
                        })
                    })
                    .collect();
                (Some(ServerCommand::Stored(result)), news)
            }
            ServerEvent::Expunge { uids } => {
                let k = key(s);
                let mut removed = Vec::new();
                if let Some(mb) = self.mailboxes.get_mut(&k) {
                    mb.messages.retain(|m| {
                        let gone = uids.contains(&m.meta.uid) && m.meta.flags.contains(&Flag::Deleted);
                        if gone {
                            removed.push(m.meta.uid);
                        }
                        !gone
                    });
                }
                let news = self
                    .watchers(&k, Some(session))
                    .flat_map(|w| removed.iter().map(move |&uid| (w, ServerCommand::Changed(Change::Expunged { uid }))))
                    .collect();
                (Some(ServerCommand::Expunged(removed)), news)
            }
            ServerEvent::Closed { .. } => {
                s.selected = None;
                (None, Vec::new())
            }
            ServerEvent::CloseConnection => {
                self.sessions.remove(&session);
                (None, Vec::new())
            }
            ServerEvent::CommandReceived(_) | ServerEvent::Malformed(_) | ServerEvent::Idle(_) => (None, Vec::new()),
        }
    }

    /// Applies a flag change made outside any session (an administrator, a filter),
    /// returning the news for the sessions watching.
    pub fn set_flags(
        &mut self,
        user: &str,
        mailbox: &str,
        uid: u32,
        op: StoreOp,
        flags: &[Flag],
    ) -> Vec<(SessionId, ServerCommand)> {
        let key = (user.to_string(), mailbox.to_string());
        let Some(mb) = self.mailboxes.get_mut(&key) else { return Vec::new() };
        let Some(m) = mb.messages.iter_mut().find(|m| m.meta.uid == uid) else { return Vec::new() };
        m.meta.flags = op.apply(&m.meta.flags, flags);
        let flags = m.meta.flags.clone();
        self.watchers(&key, None)
            .map(|w| (w, ServerCommand::Changed(Change::Flags { uid, flags: flags.clone() })))
            .collect()
    }
}
