//! The IMAP server (RFC 9051, IMAP4rev1 clients too) on a real port (by default
//! 127.0.0.1:1143): every connection is our `wirelab-imap` server machine on a real
//! socket, and this module is its driver, answering from the mail store: LOGIN against
//! the accounts (the user name is the full address), SELECT/EXAMINE of INBOX from its
//! UIDVALIDITY, UIDNEXT and messages, FETCH of bodies, STORE of flags and EXPUNGE, each
//! one store transaction before the machine's tagged reply.
//!
//! Not yet: pushing other sessions' changes (new mail, flags) to a session that is
//! IDLE; a session sees them when it selects the mailbox again.

use crate::drive::{Connection, Step, accept_loop};
use crate::mailstore::{AccountId, MailStore};
use crate::smtpd::SharedStore;
use crate::{Lifecycle, MailShared};
use tokio::net::TcpListener;
use wirelab_core::{Input, Instant, Machine, StreamApp};
use wirelab_imap::server::{ImapServer, MessageMeta, ServerCommand, ServerConfig, ServerEvent, Snapshot};
use wirelab_imap::{Flag, Flags, StoreOp};

const INBOX: &str = "INBOX";

struct Imap {
    machine: ImapServer,
    store: SharedStore,
    account: Option<AccountId>,
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
    fn store(&self) -> std::sync::MutexGuard<'_, MailStore> {
        self.store.lock().unwrap_or_else(|p| p.into_inner())
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
                match self.store().snapshot(account, INBOX) {
                    Ok(s) => ServerCommand::Mailbox(Snapshot {
                        uidvalidity: s.uidvalidity,
                        uidnext: s.uidnext,
                        messages: s
                            .messages
                            .iter()
                            .map(|m| {
                                MessageMeta::new(m.uid, m.size.min(u64::from(u32::MAX)) as u32, flags_of(&m.flags))
                            })
                            .collect(),
                    }),
                    Err(_) => ServerCommand::NoMailbox,
                }
            }
            ServerEvent::Fetch { uid } => match self.account.map(|a| self.store().message(a, INBOX, uid)) {
                Some(Ok(Some(bytes))) => ServerCommand::Message { uid, bytes },
                _ => ServerCommand::NoMessage { uid },
            },
            ServerEvent::Store { uids, op, flags } => {
                let account = self.account?;
                let mut store = self.store();
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
                let removed = self.store().remove(account, INBOX, &uids).map_or(0, |n| n);
                tracing::info!(removed, "imap: expunged");
                ServerCommand::Expunged(uids)
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
        Imap { machine: ImapServer::new(config), store: store.clone(), account: None }
    })
    .await;
}
