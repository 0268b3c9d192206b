//! `smtp-send` and `smtp-relay`: SMTP (RFC 5321) clients and servers over our TCP.
//!
//! `smtp-relay` gives north.test's server an outbound queue ([`Spool`]) that its relay
//! agent, a second node, takes the message from: in the real server the same hand-off
//! goes through the mail store's queue (`wirelab-server`'s `relay.rs`).

use super::{ALICE, NORTH_IP, NORTH_RELAY, NORTH_SMTP, RELAY_NODES, SOUTH_SMTP, message, ms, received_lines, tcp};
use crate::apps::{App, Note, Script};
use crate::{CLIENT, Params, new_sim};
use std::cell::RefCell;
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::rc::Rc;
use wirelab_core::{Input, Instant, Machine, Sim, SimError};
use wirelab_smtp::{
    ClientCommand as SmtpCommand, ClientConfig as SmtpClientConfig, ClientEvent as SmtpClientEvent, Outgoing,
    ServerCommand as SmtpAnswer, ServerConfig as SmtpServerConfig, ServerEvent as SmtpEvent, SmtpClient, SmtpServer,
};
use wirelab_tcp::OverTcp;

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
