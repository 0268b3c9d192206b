//! `imap-sync`: an IMAP (RFC 9051) client and server session over our TCP, the server
//! answered by a [`MemStore`], with an IDLE push (RFC 2177).

use super::{ALICE, NORTH_IMAP, NORTH_IP, PASSWORD, inbox, message, ms, tcp};
use crate::apps::{App, Note, Script};
use crate::{CLIENT, Params, new_sim};
use core::time::Duration;
use std::collections::VecDeque;
use wirelab_core::{Input, Instant, Machine, Sim, SimError};
use wirelab_imap::{ClientCommand as ImapCommand, ClientEvent as ImapEvent, Flags, ImapClient, ImapServer, MemStore};
use wirelab_tcp::OverTcp;

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
