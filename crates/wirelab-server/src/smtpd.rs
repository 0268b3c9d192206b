//! The SMTP servers (RFC 5321) on real ports, one per mail domain (by default north.test
//! on 127.0.0.1:2525 and south.test on 2526): every connection is our `wirelab-smtp`
//! server machine on a real socket (`drive`), and this module is its driver: it answers
//! the machine's questions from the shared mail store. A recipient exists if the store
//! has the account; a message is committed to the store (one SQLite transaction,
//! `synchronous=FULL`) before the machine is told `Stored` and only then says 250
//! (RFC 5321 §6.1). Mail for our other domains (south.test at north's server) is
//! accepted for relaying: it goes into the store's outbound queue in that same
//! transaction, and the relay (`relay.rs`) carries it to the next hop. Mail for any other
//! domain is refused (550, no open relay: RFC 5321 §7.1).

use crate::drive::{Connection, Step, accept_loop};
use crate::mailstore::{Acceptance, MailStore, Outbound};
use crate::relay::RelayHandle;
use crate::{Lifecycle, MailLimits, MailShared};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::net::TcpListener;
use wirelab_core::{Input, Instant, Machine, StreamApp};
use wirelab_smtp::server::{
    Envelope, RecipientPolicy, RecipientVerdict, ServerCommand, ServerConfig, ServerEvent, SmtpServer, StoreError,
};
use wirelab_smtp::trace::return_path_header;
use wirelab_smtp::wire::{ForwardPath, ReversePath};

/// The store as the servers share it.
pub type SharedStore = Arc<Mutex<MailStore>>;

fn lock(store: &SharedStore) -> MutexGuard<'_, MailStore> {
    // Each store call is one transaction: after a panic elsewhere the store is whole.
    store.lock().unwrap_or_else(|p| p.into_inner())
}

type Reply = std::sync::mpsc::SyncSender<Result<Vec<u32>, crate::mailstore::StoreError>>;

/// Group commit: one writer thread stores what the connections accept. The messages that
/// arrive while a commit is under way go into the next one together (one transaction,
/// one fsync, [`MailStore::accept_many`]); each connection still says 250 only after the
/// commit that holds its message (RFC 5321 §6.1). With one fsync per message the store
/// took 482 messages a second under postfix's smtp-source; see `mail-bench`.
#[derive(Clone)]
struct Committer {
    jobs: std::sync::mpsc::Sender<(Acceptance, Reply)>,
}

/// The most messages one commit takes.
const BATCH: usize = 64;

impl Committer {
    fn start(store: SharedStore) -> Self {
        let (jobs, queue) = std::sync::mpsc::channel::<(Acceptance, Reply)>();
        let spawned = std::thread::Builder::new().name("smtp-commit".into()).spawn(move || {
            // Ends when every connection and the server have let go of their senders.
            while let Ok(first) = queue.recv() {
                let mut batch = vec![first];
                while batch.len() < BATCH {
                    match queue.try_recv() {
                        Ok(more) => batch.push(more),
                        Err(_) => break,
                    }
                }
                let (work, replies): (Vec<Acceptance>, Vec<Reply>) = batch.into_iter().unzip();
                match lock(&store).accept_many(&work) {
                    Ok(results) => {
                        for (reply, r) in replies.into_iter().zip(results) {
                            let _ = reply.send(r);
                        }
                    }
                    Err(e) => {
                        let why = e.to_string();
                        for reply in replies {
                            let _ = reply.send(Err(crate::mailstore::StoreError::Unavailable(why.clone())));
                        }
                    }
                }
            }
        });
        if let Err(e) = spawned {
            tracing::error!("smtp: cannot start the commit thread: {e}");
        }
        Committer { jobs }
    }

    /// Hands `job` to the writer and waits for its commit. On a multi-threaded runtime the
    /// wait gives this worker's other tasks to another thread meanwhile.
    fn accept(&self, job: Acceptance) -> Result<Vec<u32>, crate::mailstore::StoreError> {
        let (reply, answer) = std::sync::mpsc::sync_channel(1);
        let gone = || crate::mailstore::StoreError::Unavailable("the commit thread has stopped".into());
        self.jobs.send((job, reply)).map_err(|_| gone())?;
        let wait = || answer.recv().map_err(|_| gone()).and_then(|r| r);
        match tokio::runtime::Handle::try_current().map(|h| h.runtime_flavor()) {
            Ok(tokio::runtime::RuntimeFlavor::MultiThread) => tokio::task::block_in_place(wait),
            _ => wait(),
        }
    }
}

/// `local-part@domain` as the store keys accounts.
fn address(path: &ForwardPath, domain: &str) -> String {
    match path {
        ForwardPath::Postmaster => format!("postmaster@{domain}"),
        ForwardPath::Mailbox(m) => format!("{}@{}", m.local_part, m.domain),
    }
}

struct Smtp {
    machine: SmtpServer,
    store: SharedStore,
    committer: Committer,
    domain: String,
    relay: RelayHandle,
}

impl Smtp {
    /// Stores one copy per local recipient and queues one per relayed recipient, all or
    /// none, in one store transaction.
    fn deliver(&self, envelope: &Envelope, data: &[u8]) -> Result<String, StoreError> {
        let local: Vec<String> =
            envelope.recipients.iter().filter(|r| !r.relay).map(|r| address(&r.path, &self.domain)).collect();
        let reverse_path = match &envelope.from {
            ReversePath::Null => String::new(),
            ReversePath::Mailbox(m) => m.to_string(),
        };
        let outbound: Vec<Outbound> = envelope
            .recipients
            .iter()
            .filter(|r| r.relay)
            .map(|r| Outbound {
                hop_from: self.domain.clone(),
                reverse_path: reverse_path.clone(),
                recipient: address(&r.path, &self.domain),
                data: data.to_vec(),
            })
            .collect();
        // RFC 5321 §4.4: "When the delivery SMTP server makes the "final delivery" of a
        // message, it inserts a return-path line at the beginning of the mail data".
        let mut copy = return_path_header(&envelope.from).into_bytes();
        copy.extend_from_slice(data);
        let job = Acceptance { local: local.clone(), data: copy, outbound: outbound.clone() };
        let uids = match self.committer.accept(job) {
            Ok(uids) => uids,
            // Checked at RCPT; gone since (an expired session's account).
            Err(crate::mailstore::StoreError::NotFound(what)) => {
                return Err(StoreError::Rejected(format!("{what} no longer exists")));
            }
            Err(e @ crate::mailstore::StoreError::OverQuota(_)) => {
                return Err(StoreError::ExceededStorage(e.to_string()));
            }
            Err(e) => return Err(StoreError::Temporary(e.to_string())),
        };
        if !outbound.is_empty() {
            self.relay.wake();
        }
        let mut ids: Vec<String> = local.iter().zip(uids).map(|(to, uid)| format!("{to}/{uid}")).collect();
        ids.extend(outbound.iter().map(|o| format!("queued:{}", o.recipient)));
        Ok(ids.join(","))
    }

    fn verdict(&self, path: &ForwardPath) -> RecipientVerdict {
        let to = address(path, &self.domain);
        match lock(&self.store).account(&to) {
            Ok(Some(_)) => RecipientVerdict::Accept,
            Ok(None) if matches!(path, ForwardPath::Postmaster) => RecipientVerdict::Accept,
            Ok(None) => RecipientVerdict::Unknown,
            Err(e) => {
                tracing::warn!("smtp: store: {e}");
                RecipientVerdict::TryLater
            }
        }
    }
}

impl Connection for Smtp {
    type M = SmtpServer;

    fn machine(&mut self) -> &mut SmtpServer {
        &mut self.machine
    }

    fn on_open(&mut self, now: Instant) {
        // The greeting, 220 (RFC 5321 §4.3.1).
        let _ = self.machine.on_connected(now);
    }

    fn on_event(&mut self, now: Instant, event: ServerEvent) -> Step {
        let answer = match event {
            ServerEvent::CheckRecipient(path) => ServerCommand::Recipient(self.verdict(&path)),
            ServerEvent::Deliver { envelope, data } => {
                let stored = self.deliver(&envelope, &data);
                match &stored {
                    Ok(ids) => tracing::info!(domain = %self.domain, from = %envelope.from, ids, "smtp: stored"),
                    Err(e) => tracing::warn!(domain = %self.domain, "smtp: not stored: {e:?}"),
                }
                ServerCommand::Stored(stored)
            }
            ServerEvent::CloseConnection => return Step::Close,
            _ => return Step::Continue,
        };
        if let Err(e) = self.machine.handle_input(now, Input::Command(answer)) {
            tracing::warn!("smtp: {e}");
        }
        Step::Continue
    }

    fn on_eof(&mut self, now: Instant) -> Step {
        let _ = self.machine.handle_input(now, Input::Command(ServerCommand::Eof));
        Step::Close
    }
}

/// The machine's configuration for `domain`: recipients asked of the store, relaying
/// only to our `other` domains, a `Received:` id unique to the connection.
pub fn config(local: SocketAddr, domain: &str, other: &[String], limits: &MailLimits) -> ServerConfig {
    static CONNECTIONS: AtomicU64 = AtomicU64::new(0);
    let mut c = ServerConfig::new(local, domain);
    c.max_message_size = limits.smtp_max_message_size;
    c.max_recipients = limits.smtp_max_recipients;
    c.idle_timeout = Some(limits.smtp_idle);
    c.recipients = RecipientPolicy::AskDriver;
    c.relay_domains = other.iter().filter(|d| !d.eq_ignore_ascii_case(domain)).cloned().collect();
    c.epoch_unix = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
    // `<start>.<connection>` in hexadecimal, then the machine's `.<transaction>`.
    let n = CONNECTIONS.fetch_add(1, Ordering::Relaxed);
    c.id_prefix = Some(format!("{:X}.{n:X}", c.epoch_unix));
    c
}

/// Accepts for `domain` until the server stops; each connection runs until it closes.
pub async fn serve(listener: TcpListener, domain: String, shared: MailShared, relay: RelayHandle, life: Lifecycle) {
    let MailShared { store, limits } = shared;
    // RFC 5321 §3.8, §4.2.2: 421 "Service not available, closing transmission channel".
    let refusal = format!("421 {domain} Too many connections from your address, closing transmission channel\r\n");
    let accept = limits.accept(limits.smtp_idle, &refusal);
    let committer = Committer::start(store.clone());
    accept_loop("smtp", listener, accept, life.stop, life.alive, move |local, _| Smtp {
        machine: SmtpServer::new(config(local, &domain, &relay.domains, &limits)),
        store: store.clone(),
        committer: committer.clone(),
        domain: domain.clone(),
        relay: relay.clone(),
    })
    .await;
}
