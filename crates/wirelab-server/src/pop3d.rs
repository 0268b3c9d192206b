//! The POP3 server (RFC 1939) on a real port (by default 127.0.0.1:1110): every
//! connection is our `wirelab-pop3` server machine on a real socket, and this module is
//! its driver: USER/PASS are checked against the mail store's accounts (the user name
//! is the full address, `alice@north.test`), the maildrop is the account's INBOX
//! (unique-ids are the store's UIDs), and the messages marked deleted are removed from
//! the store in the UPDATE state only, in one transaction, before the +OK (§6).

use crate::drive::{Connection, Step, accept_loop};
use crate::mailstore::AccountId;
use crate::smtpd::SharedStore;
use crate::{Lifecycle, MailShared};
use tokio::net::TcpListener;
use wirelab_core::{Input, Instant, Machine, StreamApp};
use wirelab_pop3::server::{MessageInfo, Pop3Server, ServerCommand, ServerConfig, ServerEvent};

struct Pop3 {
    machine: Pop3Server,
    store: SharedStore,
    /// The account logged in, once PASS succeeded.
    account: Option<AccountId>,
}

impl Pop3 {
    fn store(&self) -> std::sync::MutexGuard<'_, crate::mailstore::MailStore> {
        self.store.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn login(&mut self, user: &str, pass: &str) -> Result<Vec<MessageInfo>, String> {
        let store = self.store();
        let account = match store.authenticate(user, pass) {
            Ok(Some(id)) => id,
            // RFC 1939 §7: the server may say nothing of which part was wrong.
            Ok(None) => return Err("invalid user name or password".into()),
            Err(e) => return Err(e.to_string()),
        };
        let snap = store.snapshot(account, "INBOX").map_err(|e| e.to_string())?;
        drop(store);
        self.account = Some(account);
        Ok(snap.messages.iter().map(|m| MessageInfo { uid: m.uid.to_string(), size: m.size }).collect())
    }

    fn fetch(&self, uid: &str) -> Result<Vec<u8>, String> {
        let (Some(account), Ok(uid)) = (self.account, uid.parse::<u32>()) else {
            return Err("no such message".into());
        };
        match self.store().message(account, "INBOX", uid) {
            Ok(Some(bytes)) => Ok(bytes),
            Ok(None) => Err("message was removed".into()),
            Err(e) => Err(e.to_string()),
        }
    }

    fn delete(&self, uids: &[String]) -> Result<(), String> {
        let account = self.account.ok_or("not logged in")?;
        let uids: Vec<u32> = uids.iter().filter_map(|u| u.parse().ok()).collect();
        self.store().remove(account, "INBOX", &uids).map(|_| ()).map_err(|e| e.to_string())
    }
}

impl Connection for Pop3 {
    type M = Pop3Server;

    fn machine(&mut self) -> &mut Pop3Server {
        &mut self.machine
    }

    fn on_open(&mut self, now: Instant) {
        // The greeting, +OK (RFC 1939 §4).
        let _ = self.machine.on_connected(now);
    }

    fn on_event(&mut self, now: Instant, event: ServerEvent) -> Step {
        let answer = match event {
            ServerEvent::Authenticate { user, pass } => ServerCommand::Maildrop(self.login(&user, &pass)),
            // No APOP: the greeting carries no timestamp, so a client cannot compute one.
            ServerEvent::AuthenticateApop { .. } => ServerCommand::Maildrop(Err("APOP is not offered".into())),
            ServerEvent::Fetch { uid, .. } => ServerCommand::Message(self.fetch(&uid)),
            ServerEvent::Delete { uids } => ServerCommand::Deleted(self.delete(&uids)),
            ServerEvent::CloseConnection => return Step::Close,
            _ => return Step::Continue,
        };
        if let Err(e) = self.machine.handle_input(now, Input::Command(answer)) {
            tracing::warn!("pop3: {e}");
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
    // RFC 3206 §4: [SYS/TEMP], a temporary problem of the system.
    let accept = limits.accept(limits.pop3_idle, "-ERR [SYS/TEMP] too many connections from your address\r\n");
    accept_loop("pop3", listener, accept, life.stop, life.alive, move |local, _| Pop3 {
        machine: Pop3Server::new(ServerConfig {
            autologout: Some(limits.pop3_idle),
            ..ServerConfig::new(local, "wirelab")
        }),
        store: store.clone(),
        account: None,
    })
    .await;
}
