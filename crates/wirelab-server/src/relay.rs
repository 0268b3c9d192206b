//! The relay between our own mail domains (RFC 5321 §2.3.10, §3.6, §4.5.4.1): a
//! message north.test's server accepted for bob@south.test sits in the outbound queue of
//! the SQLite store (committed before the 250, §6.1) until this task has handed it over
//! to south.test's server over a real SMTP connection, spoken by our sans-IO SMTP
//! *client* machine (`wirelab_smtp::SmtpClient`) on a tokio socket (`drive`).
//!
//! - Delivered (250 after the data): the row goes.
//! - A temporary failure (4xx, no connection, the session cut short): the row stays and
//!   is tried again after a backoff that doubles from [`RelayConfig::retry_base`] up to
//!   [`RelayConfig::retry_max`]; after [`RelayConfig::max_attempts`] it is given up.
//!   RFC 5321 §4.5.4.1: "Retries continue until the message is transmitted or the sender
//!   gives up".
//! - A permanent failure (5xx), or given up: the sender gets a bounce, a delivery status
//!   notification (RFC 3464's multipart/report) sent with the null reverse-path
//!   `MAIL FROM:<>` (§4.5.5: "all notifications are to be sent ... using the NULL
//!   reverse-path"), queued in the same store transaction that removes the message. A
//!   bounce that cannot be delivered is dropped, never bounced (§4.5.5, §6.1).
//!
//! Nothing is lost across a restart: the queue is in the store, and a new process
//! tries every queued row at once. Time here is tokio's (the backoff sleeps); the client
//! machine gets `now` from `drive`, as every machine does.

use crate::drive::{Connection, DriveLimits, Step, drive};
use crate::mailstore::{MailStore, Outbound, Queued};
use crate::smtpd::SharedStore;
use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Notify, watch};
use tokio::time::Instant;
use wirelab_core::{Input, Instant as MachineInstant, Machine};
use wirelab_smtp::client::{ClientCommand, ClientConfig, ClientEvent, SmtpClient};
use wirelab_smtp::trace::rfc5322_date;
use wirelab_smtp::wire::{ForwardPath, Mailbox, Reply, ReversePath};

/// How the relay retries.
#[derive(Clone, Debug)]
pub struct RelayConfig {
    /// The wait after the first temporary failure; doubled after each further one.
    pub retry_base: Duration,
    /// The longest wait between attempts.
    pub retry_max: Duration,
    /// Attempts before the message is given up and bounced.
    pub max_attempts: u32,
    /// How long to wait for a connection to the next hop.
    pub connect_timeout: Duration,
    /// How long the next hop may be silent within a session. RFC 5321 §4.5.3.2 asks
    /// for 5 minutes for the greeting and the replies to MAIL, RCPT and DATA, and 10
    /// for the final reply; a playground's servers answer within a second or not at all.
    pub session_timeout: Duration,
}

impl Default for RelayConfig {
    fn default() -> Self {
        RelayConfig {
            retry_base: Duration::from_secs(30),
            retry_max: Duration::from_secs(30 * 60),
            max_attempts: 10,
            connect_timeout: Duration::from_secs(10),
            session_timeout: Duration::from_secs(60),
        }
    }
}

/// What the SMTP servers need of the relay: the domains it forwards to, and a bell.
#[derive(Clone, Debug)]
pub struct RelayHandle {
    /// Our mail domains: each server relays to the others, to nobody else.
    pub domains: Vec<String>,
    wake: Arc<Notify>,
}

impl RelayHandle {
    pub fn new(domains: Vec<String>) -> Self {
        RelayHandle { domains, wake: Arc::new(Notify::new()) }
    }

    /// Something was queued: look at the queue now.
    pub fn wake(&self) {
        self.wake.notify_one();
    }
}

/// How one attempt ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    Delivered,
    /// Try again later: why.
    Temporary(String),
    /// Do not try again: the reply that said so (or why).
    Permanent(String),
}

/// The client machine on the connection to the next hop, and what became of the message.
struct Hop {
    machine: SmtpClient,
    recipient: ForwardPath,
    outcome: Option<Outcome>,
}

impl Hop {
    fn settle(&mut self, outcome: Outcome) {
        self.outcome.get_or_insert(outcome);
    }
}

fn classify(reply: &Reply) -> Outcome {
    // RFC 5321 §4.2.1: 4yz is "Transient Negative Completion", 5yz "Permanent".
    if reply.code >= 500 { Outcome::Permanent(reply.to_string()) } else { Outcome::Temporary(reply.to_string()) }
}

impl Connection for Hop {
    type M = SmtpClient;

    fn machine(&mut self) -> &mut SmtpClient {
        &mut self.machine
    }

    fn on_event(&mut self, _now: MachineInstant, event: ClientEvent) -> Step {
        match event {
            ClientEvent::Sent { accepted, refused, reply, .. } => {
                if accepted.contains(&self.recipient) {
                    self.settle(Outcome::Delivered);
                } else if let Some((_, r)) = refused.first() {
                    self.settle(classify(r));
                } else {
                    self.settle(Outcome::Temporary(format!("accepted for nobody: {reply}")));
                }
            }
            // MAIL, RCPT, DATA or the content refused: the reply says for how long.
            ClientEvent::Failed { reply: Some(r), .. } => self.settle(classify(&r)),
            ClientEvent::Failed { reason, reply: None, .. } => {
                let ended = self.machine.state() == wirelab_smtp::ClientState::Closed;
                // Cut short: try again. Refused by our own client (too big for the
                // server's SIZE, 8-bit to a 7-bit server): it would be refused again.
                self.settle(if ended { Outcome::Temporary(reason) } else { Outcome::Permanent(reason) });
            }
            ClientEvent::Reply(r) if r.code >= 400 => self.settle(classify(&r)),
            ClientEvent::ProtocolError(e) => self.settle(Outcome::Temporary(e)),
            ClientEvent::CloseConnection => return Step::Close,
            ClientEvent::Ready { .. } | ClientEvent::Reply(_) => {}
        }
        Step::Continue
    }

    fn on_eof(&mut self, now: MachineInstant) -> Step {
        let _ = self.machine.handle_input(now, Input::Command(ClientCommand::Eof));
        Step::Close
    }
}

fn forward_path(address: &str) -> Option<ForwardPath> {
    Mailbox::parse(address).ok().map(ForwardPath::Mailbox)
}

fn domain_of(address: &str) -> &str {
    address.rsplit_once('@').map_or("", |(_, d)| d)
}

/// One attempt to hand `m` to the server at `to`: the SMTP client machine on a new
/// connection, one message, then QUIT.
pub async fn attempt(m: &Outbound, to: SocketAddr, config: &RelayConfig, stop: watch::Receiver<bool>) -> Outcome {
    let Some(recipient) = forward_path(&m.recipient) else {
        return Outcome::Permanent(format!("{} is not an address", m.recipient));
    };
    let from = if m.reverse_path.is_empty() {
        ReversePath::Null
    } else {
        match Mailbox::parse(&m.reverse_path) {
            Ok(mb) => ReversePath::Mailbox(mb),
            Err(e) => return Outcome::Permanent(format!("{} is not an address: {e:?}", m.reverse_path)),
        }
    };
    let stream = match tokio::time::timeout(config.connect_timeout, tokio::net::TcpStream::connect(to)).await {
        Ok(Ok(s)) => s,
        Ok(Err(e)) => return Outcome::Temporary(format!("cannot connect to {to}: {e}")),
        Err(_) => return Outcome::Temporary(format!("no connection to {to} within {:?}", config.connect_timeout)),
    };
    let local = stream.local_addr().unwrap_or(to);
    let mut machine = SmtpClient::new(ClientConfig::new(local, to, m.hop_from.clone()));
    let send = ClientCommand::SendRaw { from, to: vec![recipient.clone()], content: m.data.clone() };
    for c in [send, ClientCommand::Quit] {
        if let Err(e) = machine.handle_input(MachineInstant::ZERO, Input::Command(c)) {
            return Outcome::Permanent(e.to_string());
        }
    }
    let hop = Hop { machine, recipient, outcome: None };
    let limits = DriveLimits { idle: config.session_timeout, linger: Duration::from_millis(200) };
    let hop = drive(stream, to, hop, limits, stop).await;
    hop.outcome.unwrap_or_else(|| Outcome::Temporary(format!("the session with {to} ended without a reply")))
}

/// The delivery status notification for `q` (RFC 3464 §2: a multipart/report of a
/// human-readable part, a message/delivery-status part and the original's header).
pub fn bounce(q: &Outbound, status: &str, diagnostic: &str, unix_secs: u64) -> Outbound {
    let reporter = &q.hop_from;
    let header_end = q.data.windows(4).position(|w| w == b"\r\n\r\n").map_or(q.data.len(), |i| i + 2);
    let headers = String::from_utf8_lossy(&q.data[..header_end]);
    let boundary = format!("wirelab-dsn-{unix_secs}");
    let text = format!(
        "From: Mail Delivery System <MAILER-DAEMON@{reporter}>\r\n\
         To: <{to}>\r\n\
         Subject: Undelivered Mail Returned to Sender\r\n\
         Date: {date}\r\n\
         Auto-Submitted: auto-replied\r\n\
         MIME-Version: 1.0\r\n\
         Content-Type: multipart/report; report-type=delivery-status; boundary=\"{boundary}\"\r\n\
         \r\n\
         --{boundary}\r\n\
         Content-Type: text/plain; charset=us-ascii\r\n\
         \r\n\
         This is the mail system at {reporter}.\r\n\
         \r\n\
         Your message to <{rcpt}> could not be delivered.\r\n\
         Reason: {diagnostic}\r\n\
         \r\n\
         --{boundary}\r\n\
         Content-Type: message/delivery-status\r\n\
         \r\n\
         Reporting-MTA: dns; {reporter}\r\n\
         \r\n\
         Final-Recipient: rfc822; {rcpt}\r\n\
         Action: failed\r\n\
         Status: {status}\r\n\
         Diagnostic-Code: smtp; {diagnostic}\r\n\
         \r\n\
         --{boundary}\r\n\
         Content-Type: text/rfc822-headers\r\n\
         \r\n\
         {headers}\
         --{boundary}--\r\n",
        to = q.reverse_path,
        date = rfc5322_date(unix_secs),
        rcpt = q.recipient,
    );
    Outbound {
        hop_from: reporter.clone(),
        reverse_path: String::new(),
        recipient: q.reverse_path.clone(),
        data: text.into_bytes(),
    }
}

fn lock(store: &SharedStore) -> std::sync::MutexGuard<'_, MailStore> {
    store.lock().unwrap_or_else(|p| p.into_inner())
}

fn unix_now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// Runs the queue until `stop` fires: `routes` says where each domain's server listens.
pub async fn run(
    store: SharedStore,
    routes: BTreeMap<String, SocketAddr>,
    config: RelayConfig,
    handle: RelayHandle,
    mut stop: watch::Receiver<bool>,
) {
    // When each row may be tried again; rows not here are due now (so, after a restart,
    // every queued row is tried at once).
    let mut later: HashMap<i64, Instant> = HashMap::new();
    loop {
        let queued = lock(&store).queued(1000);
        let queued = match queued {
            Ok(q) => q,
            Err(e) => {
                tracing::warn!("relay: cannot read the queue: {e}");
                Vec::new()
            }
        };
        later.retain(|id, _| queued.iter().any(|q| q.id == *id));
        // A bounce queued by this round is tried in the next, at once.
        let mut bounced = false;
        for q in &queued {
            if *stop.borrow() {
                return;
            }
            if later.get(&q.id).is_some_and(|t| *t > Instant::now()) {
                continue;
            }
            let domain = domain_of(&q.message.recipient).to_ascii_lowercase();
            let outcome = match routes.get(&domain) {
                Some(to) => attempt(&q.message, *to, &config, stop.clone()).await,
                None => Outcome::Permanent(format!("no route to {domain}: relaying denied")),
            };
            tracing::info!(id = q.id, to = %q.message.recipient, ?outcome, "relay");
            bounced |= settle(&store, &routes, &config, q, outcome, &mut later);
        }
        if bounced {
            continue;
        }
        let next = later.values().min().copied();
        tokio::select! {
            () = handle.wake.notified() => {}
            () = async {
                match next {
                    Some(t) => tokio::time::sleep_until(t).await,
                    None => std::future::pending().await,
                }
            } => {}
            _ = stop.changed() => return,
        }
    }
}

/// Records an attempt's outcome in the store; whether a bounce was queued.
fn settle(
    store: &SharedStore,
    routes: &BTreeMap<String, SocketAddr>,
    config: &RelayConfig,
    q: &Queued,
    outcome: Outcome,
    later: &mut HashMap<i64, Instant>,
) -> bool {
    let attempts = q.attempts + 1;
    let failed = match outcome {
        Outcome::Delivered => None,
        Outcome::Temporary(why) if attempts < config.max_attempts => {
            let wait = config.retry_base.saturating_mul(1 << (attempts - 1).min(20)).min(config.retry_max);
            later.insert(q.id, Instant::now() + wait);
            if let Err(e) = lock(store).defer(q.id, &why) {
                tracing::warn!("relay: {e}");
            }
            return false;
        }
        // RFC 3463: 4.4.7 "Delivery time expired".
        Outcome::Temporary(why) => Some(("4.4.7", format!("gave up after {attempts} attempts; the last: {why}"))),
        Outcome::Permanent(why) => Some(("5.0.0", why)),
    };
    // §4.5.5: a message with the null reverse-path is never bounced; and a bounce goes
    // only where we have a route (our own domains).
    let bounce = failed.and_then(|(status, why)| {
        let to = domain_of(&q.message.reverse_path).to_ascii_lowercase();
        (!q.message.reverse_path.is_empty() && routes.contains_key(&to))
            .then(|| bounce(&q.message, status, &why, unix_now()))
    });
    later.remove(&q.id);
    if let Err(e) = lock(store).dequeue(q.id, bounce.as_ref()) {
        tracing::warn!("relay: {e}");
        return false;
    }
    bounce.is_some()
}
