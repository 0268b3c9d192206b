//! The mail scenarios: SMTP (RFC 5321), POP3 (RFC 1939) and IMAP (RFC 9051) sessions over
//! our simulated TCP ([`OverTcp`]), every segment real and every byte annotated by the
//! protocol's own annotator. The servers keep no mail themselves: each asks its driver
//! (events in, commands back), and the drivers here are the smallest that answer those
//! questions from an in-memory maildrop, deterministically.
//!
//! `smtp-relay` gives north.test's server an outbound queue ([`Spool`]) that its relay
//! agent, a second node, takes the message from: in the real server the same hand-off
//! goes through the mail store's queue (`wirelab-server`'s `relay.rs`).

use crate::apps::{App, Note, Script};
use crate::{CLIENT, Params, new_sim};
use core::time::Duration;
use std::cell::RefCell;
use std::collections::VecDeque;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::rc::Rc;
use wirelab_core::{Input, Instant, Machine, Sim, SimError};
use wirelab_imap::{ClientCommand as ImapCommand, ClientEvent as ImapEvent, Flags, ImapClient, ImapServer, MemStore};
use wirelab_pop3::{MessageInfo, Pop3Server, ServerCommand as Pop3Answer, ServerEvent as Pop3Event};
use wirelab_smtp::{
    ClientCommand as SmtpCommand, ClientConfig as SmtpClientConfig, ClientEvent as SmtpClientEvent, Outgoing,
    ServerCommand as SmtpAnswer, ServerConfig as SmtpServerConfig, ServerEvent as SmtpEvent, SmtpClient, SmtpServer,
};
use wirelab_tcp::{Config as TcpConfig, OverTcp, Tcp};

/// north.test's mail host: SMTP on 25, POP3 on 110, IMAP on 143 (TEST-NET-1, RFC 5737).
pub const NORTH_IP: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 25));
pub const NORTH_SMTP: SocketAddr = SocketAddr::new(NORTH_IP, 25);
pub const NORTH_POP3: SocketAddr = SocketAddr::new(NORTH_IP, 110);
pub const NORTH_IMAP: SocketAddr = SocketAddr::new(NORTH_IP, 143);
/// north.test's relay agent, the client side of its outbound queue.
pub const NORTH_RELAY: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 26)), 49_153);
/// south.test's mail host, on another network (TEST-NET-2).
pub const SOUTH_SMTP: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(198, 51, 100, 25)), 25);

/// The demo account every mail scenario logs in as, and its password.
pub const ALICE: &str = "alice@north.test";
pub const PASSWORD: &str = "wirelab";

/// The nodes of `smtp-relay`, in order.
pub const RELAY_NODES: [&str; 4] = ["alice", "north", "north-relay", "south"];

const fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn tcp(local: SocketAddr, seed: u64, peer: Option<SocketAddr>) -> Tcp {
    let mut cfg = TcpConfig::new(local, seed);
    cfg.suggested_peer = peer;
    Tcp::new(cfg)
}

/// A message as RFC 5322 writes it, CRLF line ends. A body line that starts with a
/// period shows dot-stuffing (RFC 5321 §4.5.2) and POP3's byte-stuffing (RFC 1939 §3).
pub fn message(from: &str, to: &str, subject: &str, id: u32, body: &[&str]) -> Vec<u8> {
    let mut m = format!(
        "From: <{from}>\r\nTo: <{to}>\r\nSubject: {subject}\r\nDate: Thu, 01 Jan 2026 00:00:0{id} +0000\r\n\
         Message-ID: <{id}@wirelab.test>\r\n\r\n"
    );
    for line in body {
        m.push_str(line);
        m.push_str("\r\n");
    }
    m.into_bytes()
}

/// How many `Received:` fields a message's header starts with.
pub fn received_lines(content: &[u8]) -> usize {
    content
        .split(|&b| b == b'\n')
        .take_while(|l| l.starts_with(b"Received:") || l.starts_with(b"\t"))
        .filter(|l| l.starts_with(b"Received:"))
        .count()
}

/// The `send-raw` console line that has an SMTP client send `content` exactly.
fn send_raw(from: &str, to: &str, content: &[u8]) -> String {
    format!("send-raw {from} {to} {}", wirelab_smtp::client::escape(content))
}

/// What alice submits in `smtp-send` and `smtp-relay`: its second body line starts with a
/// period, doubled on the wire.
pub fn submission(to: &str) -> Vec<u8> {
    message(ALICE, to, "Lunch", 1, &["Hi,", ".plan: noon at the usual place", "Alice"])
}

/// north.test's outbound queue: messages its server accepted for another domain, waiting
/// for its relay agent (RFC 5321 §3.6). Shared by the two nodes of one run, as the real
/// server's SMTP listener and relay share the mail store; so a clone of either node's
/// machine shares it too (the simulator never clones them: a run is replayed from its
/// trace).
pub type Spool = Rc<RefCell<VecDeque<Outgoing>>>;

/// An SMTP server's driver (RFC 5321 §6.1: the 250 after the data only once the message
/// is safe): it stores local mail in an in-memory maildrop, queues mail for other domains
/// in the [`Spool`] (if it relays), and answers `stored <id>`.
#[derive(Clone, Debug)]
pub struct Maildrop {
    domain: &'static str,
    spool: Option<Spool>,
    /// What was stored, in order.
    pub messages: Vec<Vec<u8>>,
}

impl Maildrop {
    pub fn new(domain: &'static str, spool: Option<Spool>) -> Self {
        Maildrop { domain, spool, messages: Vec::new() }
    }
}

impl Script<SmtpServer> for Maildrop {
    fn on_event(&mut self, now: Instant, smtp: &mut SmtpServer, event: &SmtpEvent, notes: &mut Vec<Note>) {
        let SmtpEvent::Deliver { envelope, data } = event else { return };
        let id = format!("{}.{}", self.domain, self.messages.len() + 1);
        for to in envelope.local_recipients() {
            notes.push(Note::Stored { mailbox: to.to_string(), id: id.clone(), received: received_lines(data) });
        }
        let relay: Vec<_> = envelope.relay_recipients().cloned().collect();
        if let (Some(spool), false) = (&self.spool, relay.is_empty()) {
            let to = relay.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ");
            spool.borrow_mut().push_back(Outgoing { from: envelope.from.clone(), to: relay, content: data.clone() });
            notes.push(Note::Queued { to });
        }
        self.messages.push(data.clone());
        let _ = smtp.handle_input(now, Input::Command(SmtpAnswer::Stored(Ok(id))));
    }
}

/// north.test's relay agent: once its session with the next hop is ready, it sends what
/// waits in the [`Spool`] as it is (the content already starts with north's `Received:`),
/// then QUIT.
#[derive(Clone, Debug)]
pub struct Relay {
    spool: Spool,
}

impl Script<SmtpClient> for Relay {
    fn on_event(&mut self, now: Instant, smtp: &mut SmtpClient, event: &SmtpClientEvent, _notes: &mut Vec<Note>) {
        if !matches!(event, SmtpClientEvent::Ready { .. }) {
            return;
        }
        let queued: Vec<Outgoing> = self.spool.borrow_mut().drain(..).collect();
        for Outgoing { from, to, content } in queued {
            let _ = smtp.handle_input(now, Input::Command(SmtpCommand::SendRaw { from, to, content }));
        }
        let _ = smtp.handle_input(now, Input::Command(SmtpCommand::Quit));
    }
}

fn smtp_server(
    local: SocketAddr,
    domain: &'static str,
    seed: u64,
    spool: Option<Spool>,
) -> OverTcp<App<SmtpServer, Maildrop>> {
    let mut cfg = SmtpServerConfig::new(local, domain);
    if spool.is_some() {
        cfg.relay_domains = vec!["south.test".into()];
    }
    OverTcp::new(tcp(local, seed, None), App::new(SmtpServer::new(cfg), Maildrop::new(domain, spool)))
}

fn smtp_client(local: SocketAddr, server: SocketAddr, domain: &str, seed: u64) -> OverTcp<SmtpClient> {
    OverTcp::new(tcp(local, seed, Some(server)), SmtpClient::new(SmtpClientConfig::new(local, server, domain)))
}

/// `smtp-send`: alice's client submits one message to north.test's server: the 220
/// greeting, EHLO and its SIZE and 8BITMIME lines, MAIL FROM with SIZE=, RCPT TO, DATA
/// and the dot-stuffed content, the 250 once the driver stored it, QUIT and 221.
pub fn smtp_send(params: &Params) -> Result<Sim, SimError> {
    let mut sim = new_sim(params);
    let seed = params.seed;
    let c = sim.add_node("alice", CLIENT.ip(), Box::new(smtp_client(CLIENT, NORTH_SMTP, "client.north.test", seed)));
    let s = sim.add_node("north", NORTH_IP, Box::new(smtp_server(NORTH_SMTP, "north.test", seed, None)));
    sim.command_at(Instant::ZERO, s, "listen")?;
    sim.command_at(Instant::ZERO + ms(1), c, &format!("connect {NORTH_SMTP}"))?;
    let to = "dave@north.test";
    sim.command_on_state(c, "ESTABLISHED", ms(0), &send_raw(ALICE, to, &submission(to)))?;
    sim.command_on_state(c, "ESTABLISHED", ms(0), "quit")?;
    Ok(sim)
}

/// `smtp-relay`: alice submits a message for bob@south.test to north.test's server, which
/// accepts it for relay (north relays for south.test only, RFC 5321 §3.6.2) and queues it;
/// north's relay agent opens SMTP to south.test's server and sends it on. Each server
/// prepends its `Received:` (§4.4): the copy stored at south carries two.
pub fn smtp_relay(params: &Params) -> Result<Sim, SimError> {
    let mut sim = new_sim(params);
    let seed = params.seed;
    let spool: Spool = Rc::default();
    let [alice, north, relay, south] = RELAY_NODES;
    let relay_app = App::new(
        SmtpClient::new(SmtpClientConfig::new(NORTH_RELAY, SOUTH_SMTP, "north.test")),
        Relay { spool: spool.clone() },
    );
    let a = sim.add_node(alice, CLIENT.ip(), Box::new(smtp_client(CLIENT, NORTH_SMTP, "client.north.test", seed)));
    let n = sim.add_node(north, NORTH_IP, Box::new(smtp_server(NORTH_SMTP, "north.test", seed, Some(spool))));
    let r = sim.add_node(
        relay,
        NORTH_RELAY.ip(),
        Box::new(OverTcp::new(tcp(NORTH_RELAY, seed, Some(SOUTH_SMTP)), relay_app)),
    );
    let s = sim.add_node(south, SOUTH_SMTP.ip(), Box::new(smtp_server(SOUTH_SMTP, "south.test", seed, None)));
    sim.command_at(Instant::ZERO, n, "listen")?;
    sim.command_at(Instant::ZERO, s, "listen")?;
    sim.command_at(Instant::ZERO + ms(1), a, &format!("connect {NORTH_SMTP}"))?;
    let to = "bob@south.test";
    sim.command_on_state(a, "ESTABLISHED", ms(0), &send_raw(ALICE, to, &submission(to)))?;
    sim.command_on_state(a, "ESTABLISHED", ms(0), "quit")?;
    // The relay agent starts when north has queued the message (its driver does so
    // before the 250: DELIVERING is left only after).
    sim.command_on_state_of(n, "DELIVERING", ms(5), r, &format!("connect {SOUTH_SMTP}"))?;
    Ok(sim)
}

/// The two messages in alice's maildrop at the start of `pop3-retrieve-delete` and
/// `imap-sync`.
pub fn inbox() -> [Vec<u8>; 2] {
    [
        message("bob@south.test", ALICE, "Minutes", 1, &["The minutes are attached.", ".", "..and that is all", "Bob"]),
        message("carol@north.test", ALICE, "Lunch?", 2, &["Noon?", "Carol"]),
    ]
}

/// A POP3 server's driver: one account and its maildrop (RFC 1939 §8: the server "acquires
/// an exclusive-access lock on the maildrop"; here nobody else uses it). DELE marks, and
/// the driver removes only when UPDATE asks it to (§6).
#[derive(Clone, Debug)]
pub struct Pop3Maildrop {
    user: &'static str,
    pass: &'static str,
    /// Unique-id and content of each message.
    pub messages: Vec<(String, Vec<u8>)>,
}

impl Pop3Maildrop {
    pub fn new(user: &'static str, pass: &'static str, messages: impl IntoIterator<Item = Vec<u8>>) -> Self {
        let messages = messages.into_iter().enumerate().map(|(i, m)| (format!("uid-{}", i + 1), m)).collect();
        Pop3Maildrop { user, pass, messages }
    }
}

impl Script<Pop3Server> for Pop3Maildrop {
    fn on_event(&mut self, now: Instant, pop3: &mut Pop3Server, event: &Pop3Event, notes: &mut Vec<Note>) {
        let answer = match event {
            Pop3Event::Authenticate { user, pass } if user == self.user && pass == self.pass => {
                let list = self.messages.iter().map(|(uid, m)| MessageInfo { uid: uid.clone(), size: m.len() as u64 });
                Pop3Answer::Maildrop(Ok(list.collect()))
            }
            Pop3Event::Authenticate { .. } | Pop3Event::AuthenticateApop { .. } => {
                Pop3Answer::Maildrop(Err("invalid user name or password".into()))
            }
            Pop3Event::Fetch { uid, .. } => match self.messages.iter().find(|(u, _)| u == uid) {
                Some((_, m)) => Pop3Answer::Message(Ok(m.clone())),
                None => Pop3Answer::Message(Err("no such message".into())),
            },
            Pop3Event::Delete { uids } => {
                let before = self.messages.len();
                self.messages.retain(|(u, _)| !uids.contains(u));
                notes.push(Note::Removed { mailbox: self.user.into(), count: before - self.messages.len() });
                Pop3Answer::Deleted(Ok(()))
            }
            Pop3Event::Aborted { .. } | Pop3Event::CloseConnection => return,
        };
        let _ = pop3.handle_input(now, Input::Command(answer));
    }
}

/// The POP3 client's script in `pop3-retrieve-delete`, one line per command (the client
/// sends each after the last one's response, RFC 1939 §3).
pub const POP3_STEPS: [&str; 6] = ["login alice@north.test wirelab", "STAT", "LIST", "RETR 1", "DELE 1", "QUIT"];

/// `pop3-retrieve-delete`: alice logs in with USER and PASS, asks STAT and LIST, retrieves
/// message 1 (its byte-stuffed lines unstuffed), marks it deleted, and QUIT moves the
/// session to UPDATE, where the driver removes it (RFC 1939 §6).
pub fn pop3_retrieve_delete(params: &Params) -> Result<Sim, SimError> {
    let mut sim = new_sim(params);
    let seed = params.seed;
    let client = wirelab_pop3::Pop3Client::new(wirelab_pop3::ClientConfig::new(CLIENT, NORTH_POP3));
    let client = OverTcp::new(tcp(CLIENT, seed, Some(NORTH_POP3)), client);
    let server = App::new(
        Pop3Server::new(wirelab_pop3::ServerConfig::new(NORTH_POP3, "north.test")),
        Pop3Maildrop::new(ALICE, PASSWORD, inbox()),
    );
    let c = sim.add_node("alice", CLIENT.ip(), Box::new(client));
    let s = sim.add_node("north", NORTH_IP, Box::new(OverTcp::new(tcp(NORTH_POP3, seed, None), server)));
    sim.command_at(Instant::ZERO, s, "listen")?;
    sim.command_at(Instant::ZERO + ms(1), c, &format!("connect {NORTH_POP3}"))?;
    for line in POP3_STEPS {
        sim.command_on_state(c, "ESTABLISHED", ms(0), line)?;
    }
    Ok(sim)
}

/// An IMAP server's driver: a [`MemStore`] with alice's INBOX, answering the session's
/// questions (session 0). When the session starts IDLE (RFC 2177), a new message is
/// delivered to the INBOX a little later, as another server would, so the session pushes
/// `* n EXISTS`.
#[derive(Clone, Debug)]
pub struct ImapDriver {
    store: MemStore,
    arrive_at: Option<Instant>,
    arrival: Option<Vec<u8>>,
}

/// How long after IDLE begins the new message arrives.
pub const ARRIVAL_AFTER: Duration = Duration::from_millis(300);

impl ImapDriver {
    pub fn new(inbox: impl IntoIterator<Item = Vec<u8>>, arrival: Vec<u8>) -> Self {
        let mut store = MemStore::new();
        store.add_user(ALICE, PASSWORD);
        for m in inbox {
            store.deliver(ALICE, "INBOX", &m, Flags::default(), None);
        }
        ImapDriver { store, arrive_at: None, arrival: Some(arrival) }
    }
}

impl Script<ImapServer> for ImapDriver {
    fn on_event(&mut self, now: Instant, imap: &mut ImapServer, event: &wirelab_imap::ServerEvent, _: &mut Vec<Note>) {
        if matches!(event, wirelab_imap::ServerEvent::Idle(true)) && self.arrival.is_some() {
            self.arrive_at = Some(now + ARRIVAL_AFTER);
        }
        if let (Some(answer), _) = self.store.answer(0, event) {
            let _ = imap.handle_input(now, Input::Command(answer));
        }
    }

    fn wake_at(&self) -> Option<Instant> {
        self.arrive_at
    }

    fn on_timer(&mut self, now: Instant, imap: &mut ImapServer, notes: &mut Vec<Note>) {
        self.arrive_at = None;
        let Some(m) = self.arrival.take() else { return };
        let (uid, news) = self.store.deliver(ALICE, "INBOX", &m, Flags::default(), None);
        if let Some(uid) = uid {
            notes.push(Note::Arrived { mailbox: format!("{ALICE}'s INBOX"), uid });
        }
        for (_, change) in news.into_iter().filter(|(session, _)| *session == 0) {
            let _ = imap.handle_input(now, Input::Command(change));
        }
    }
}

/// An IMAP client that sends its commands one at a time, each once the last completed,
/// and ends IDLE with DONE when the server pushes a new message.
#[derive(Clone, Debug)]
pub struct ImapSteps {
    lines: VecDeque<&'static str>,
}

impl ImapSteps {
    pub fn new(lines: &[&'static str]) -> Self {
        ImapSteps { lines: lines.iter().copied().collect() }
    }

    fn next(&mut self, now: Instant, imap: &mut ImapClient) {
        let Some(cmd) = self.lines.pop_front().and_then(|l| l.parse::<ImapCommand>().ok()) else { return };
        let _ = imap.handle_input(now, Input::Command(cmd));
    }
}

impl Script<ImapClient> for ImapSteps {
    fn on_event(&mut self, now: Instant, imap: &mut ImapClient, event: &ImapEvent, _notes: &mut Vec<Note>) {
        match event {
            ImapEvent::Greeting(_) | ImapEvent::Completed { .. } => self.next(now, imap),
            ImapEvent::Exists(_) if imap.is_idling() => {
                let _ = imap.handle_input(now, Input::Command(ImapCommand::Done));
            }
            _ => {}
        }
    }
}

/// The IMAP client's script in `imap-sync`.
pub const IMAP_STEPS: [&str; 6] = [
    "login alice@north.test wirelab",
    "select INBOX",
    "fetch 1:* (FLAGS BODY.PEEK[])",
    "store 1 +FLAGS (\\Seen)",
    "idle",
    "logout",
];

/// `imap-sync`: alice's client logs in, selects INBOX (EXISTS, UIDVALIDITY, UIDNEXT),
/// fetches every message's flags and text without setting `\Seen` (BODY.PEEK), marks the
/// first `\Seen` with STORE, IDLEs until the server pushes the message that just arrived
/// (`* 3 EXISTS`, RFC 2177), ends IDLE with DONE and logs out (RFC 9051 §3, §6).
pub fn imap_sync(params: &Params) -> Result<Sim, SimError> {
    let mut sim = new_sim(params);
    let seed = params.seed;
    let client =
        App::new(ImapClient::new(wirelab_imap::ClientConfig::new(CLIENT, NORTH_IMAP)), ImapSteps::new(&IMAP_STEPS));
    let mut cfg = wirelab_imap::ServerConfig::new(NORTH_IMAP);
    cfg.peer = Some(CLIENT);
    let arrival = message("bob@south.test", ALICE, "Re: Minutes", 3, &["Thanks!", "Bob"]);
    let server = App::new(ImapServer::new(cfg), ImapDriver::new(inbox(), arrival));
    let c = sim.add_node("alice", CLIENT.ip(), Box::new(OverTcp::new(tcp(CLIENT, seed, Some(NORTH_IMAP)), client)));
    let s = sim.add_node("north", NORTH_IP, Box::new(OverTcp::new(tcp(NORTH_IMAP, seed, None), server)));
    sim.command_at(Instant::ZERO, s, "listen")?;
    sim.command_at(Instant::ZERO + ms(1), c, &format!("connect {NORTH_IMAP}"))?;
    Ok(sim)
}
