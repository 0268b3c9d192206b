//! The IMAP server (RFC 9051, IMAP4rev1 clients too) on a real port (by default
//! 127.0.0.1:1143): every connection is our `wirelab-imap` server machine on a real
//! socket, and this module is its driver, answering from the mail store: LOGIN against
//! the accounts (the user name is the full address), SELECT/EXAMINE of INBOX from its
//! UIDVALIDITY, UIDNEXT and messages, FETCH of bodies, STORE of flags and EXPUNGE, each
//! one store transaction before the machine's tagged reply.
//!
//! What other sessions and servers do to the selected INBOX (mail delivered by SMTP or
//! the relay, flags stored, messages expunged, by IMAP or POP3) reaches the session
//! through the store's change bus (`MailBus`) as the machine's `Changed` news: a session
//! in IDLE hears `* n EXISTS`, `* n FETCH (FLAGS …)` and `* n EXPUNGE` at once (RFC
//! 2177 §3), one not in IDLE with its next command's response (RFC 9051 §5.2, §7), each
//! numbered in that session's own view. The subscription is taken under the same store
//! lock as the SELECT's snapshot, so nothing falls between them; a session's own changes
//! are left out (it has told its client already).

use crate::drive::Feed;
use crate::drive::{Connection, Step, accept_loop};
use crate::mailstore::{self, AccountId, MailStore, Notice, StoreChange};
use crate::smtpd::SharedStore;
use crate::{Lifecycle, MailShared};
use std::sync::MutexGuard;
use std::sync::atomic::{AtomicU64, Ordering};
use tokio::net::TcpListener;
use tokio::sync::broadcast::error::RecvError;
use wirelab_core::{Input, Instant, Machine, StreamApp};
use wirelab_imap::server::{Change, ImapServer, MessageMeta, ServerCommand, ServerConfig, ServerEvent, Snapshot};
use wirelab_imap::{Flag, Flags, StoreOp};

const INBOX: &str = "INBOX";

/// Session numbers for the change bus, from 1 (0 is no session).
static SESSIONS: AtomicU64 = AtomicU64::new(1);

struct Imap {
    machine: ImapServer,
    store: SharedStore,
    account: Option<AccountId>,
    /// This session, as the change bus names the origin of its changes.
    id: u64,
    /// The selected INBOX's changes.
    feed: Option<Feed>,
}

/// The store, locked, with changes made through it marked as one session's.
struct Acting<'a>(MutexGuard<'a, MailStore>);

impl std::ops::Deref for Acting<'_> {
    type Target = MailStore;
    fn deref(&self) -> &MailStore {
        &self.0
    }
}

impl std::ops::DerefMut for Acting<'_> {
    fn deref_mut(&mut self) -> &mut MailStore {
        &mut self.0
    }
}

impl Drop for Acting<'_> {
    fn drop(&mut self) {
        self.0.set_origin(0);
    }
}

/// A stored message's metadata as the IMAP machine takes it.
fn meta(m: &mailstore::MessageMeta) -> MessageMeta {
    MessageMeta::new(m.uid, m.size.min(u64::from(u32::MAX)) as u32, flags_of(&m.flags))
}

fn flags_of(names: &[String]) -> Flags {
    let mut f = Flags::new();
    for n in names {
        if let Some(flag) = Flag::parse(n) {
            f.insert(flag);
        }
    }
    f
}

impl Imap {
    fn store(&self) -> MutexGuard<'_, MailStore> {
        self.store.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn acting(&self) -> Acting<'_> {
        let mut store = self.store();
        store.set_origin(self.id);
        Acting(store)
    }

    fn answer(&mut self, event: ServerEvent) -> Option<ServerCommand> {
        Some(match event {
            ServerEvent::Authenticate { user, pass } => {
                let found = self.store().authenticate(&user, &pass);
                match found {
                    Ok(Some(id)) => {
                        self.account = Some(id);
                        ServerCommand::LoginOk
                    }
                    _ => ServerCommand::LoginRefused,
                }
            }
            ServerEvent::Open { mailbox, .. } => {
                let Some(account) = self.account.filter(|_| mailbox.eq_ignore_ascii_case(INBOX)) else {
                    return Some(ServerCommand::NoMailbox);
                };
                let store = self.store();
                // Under one lock: the changes heard are exactly those after the snapshot.
                let feed = store.bus().subscribe(account);
                let snapshot = store.snapshot(account, INBOX);
                drop(store);
                match snapshot {
                    Ok(s) => {
                        self.feed = Some(feed);
                        ServerCommand::Mailbox(Snapshot {
                            uidvalidity: s.uidvalidity,
                            uidnext: s.uidnext,
                            messages: s.messages.iter().map(meta).collect(),
                        })
                    }
                    Err(_) => ServerCommand::NoMailbox,
                }
            }
            ServerEvent::Fetch { uid } => match self.account.map(|a| self.store().message(a, INBOX, uid)) {
                Some(Ok(Some(bytes))) => ServerCommand::Message { uid, bytes },
                _ => ServerCommand::NoMessage { uid },
            },
            ServerEvent::Store { uids, op, flags } => {
                let account = self.account?;
                let mut store = self.acting();
                let Ok(current) = store.snapshot(account, INBOX) else {
                    return Some(ServerCommand::Stored(Vec::new()));
                };
                let mut done = Vec::new();
                for m in current.messages.iter().filter(|m| uids.contains(&m.uid)) {
                    let mut now = match op {
                        StoreOp::Replace => Flags::new(),
                        StoreOp::Add | StoreOp::Remove => flags_of(&m.flags),
                    };
                    for f in flags.iter() {
                        match op {
                            StoreOp::Remove => {
                                now.remove(f);
                            }
                            StoreOp::Add | StoreOp::Replace => {
                                now.insert(f.clone());
                            }
                        }
                    }
                    let names: Vec<String> = now.iter().map(ToString::to_string).collect();
                    if store.set_flags(account, INBOX, m.uid, &names).unwrap_or(false) {
                        done.push((m.uid, now));
                    }
                }
                ServerCommand::Stored(done)
            }
            ServerEvent::Expunge { uids } => {
                let account = self.account?;
                let removed = self.acting().remove(account, INBOX, &uids).map_or(0, |n| n);
                tracing::info!(removed, "imap: expunged");
                ServerCommand::Expunged(uids)
            }
            ServerEvent::Closed { .. } => {
                self.feed = None;
                return None;
            }
            _ => return None,
        })
    }
}

impl Connection for Imap {
    type M = ImapServer;

    fn machine(&mut self) -> &mut ImapServer {
        &mut self.machine
    }

    fn on_open(&mut self, now: Instant) {
        // The greeting, `* OK [CAPABILITY …]` (RFC 9051 §7.1.1).
        let _ = self.machine.on_connected(now);
    }

    fn on_event(&mut self, now: Instant, event: ServerEvent) -> Step {
        if matches!(event, ServerEvent::CloseConnection) {
            return Step::Close;
        }
        if let Some(answer) = self.answer(event)
            && let Err(e) = self.machine.handle_input(now, Input::Command(answer))
        {
            tracing::warn!("imap: {e}");
        }
        Step::Continue
    }

    fn on_eof(&mut self, now: Instant) -> Step {
        let _ = self.machine.handle_input(now, Input::Command(ServerCommand::Eof));
        Step::Close
    }

    fn take_feed(&mut self) -> Option<Feed> {
        self.feed.take()
    }

    fn put_feed(&mut self, feed: Feed) {
        self.feed.get_or_insert(feed);
    }

    fn on_feed(&mut self, now: Instant, item: Result<Notice, RecvError>) -> Step {
        let change = match item {
            Ok(n) if n.origin == self.id => return Step::Continue,
            Ok(n) => match n.change {
                StoreChange::New(m) => Change::New(meta(&m)),
                StoreChange::Flags { uid, flags } => Change::Flags { uid, flags: flags_of(&flags) },
                StoreChange::Expunged { uid } => Change::Expunged { uid },
            },
            // Changes were missed: the session's view cannot be trusted any more; end
            // it (`* BYE`), and the client selects again.
            Err(RecvError::Lagged(n)) => {
                tracing::warn!(missed = n, "imap: a session fell behind its mailbox's changes");
                let _ = self.machine.handle_input(now, Input::Command(ServerCommand::Close));
                return Step::Continue;
            }
            Err(RecvError::Closed) => return Step::Continue,
        };
        if let Err(e) = self.machine.handle_input(now, Input::Command(ServerCommand::Changed(change))) {
            tracing::debug!("imap: {e}");
        }
        Step::Continue
    }
}

/// Accepts until the server stops; each connection runs until it closes.
pub async fn serve(listener: TcpListener, shared: MailShared, life: Lifecycle) {
    let MailShared { store, limits } = shared;
    // RFC 9051 §7.1.5: BYE may be the greeting: "the server is not willing to accept a
    // connection from this client".
    let accept = limits.accept(limits.imap_idle, "* BYE Too many connections from your address\r\n");
    accept_loop("imap", listener, accept, life.stop, life.alive, move |local, peer| {
        let mut config = ServerConfig::new(local);
        config.peer = Some(peer);
        config.autologout = Some(limits.imap_idle);
        config.limits.max_line = limits.imap_max_line;
        let id = SESSIONS.fetch_add(1, Ordering::Relaxed);
        Imap { machine: ImapServer::new(config), store: store.clone(), account: None, id, feed: None }
    })
    .await;
}
