//! One peer: serves the pieces it has, fetches the ones it lacks from neighbours that
//! have them, and tells its neighbours of each piece it gets.

use crate::wire::{self, Message};
use core::time::Duration;
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::fmt;
use std::net::SocketAddr;
use std::str::FromStr;
use wirelab_core::{Annotation, Input, Instant, Machine, Output, SeededRng, Transition, Transmit, UnknownCommand};

/// A peer's life (BEP 3 defines no states for this; these are wirelab's).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PeerState {
    /// Not started yet.
    Idle,
    Downloading,
    /// Has every piece, and serves them (a server is always here).
    Seeding,
    /// Left the swarm: answers nothing.
    Left,
}

/// A swarm peer's life: the states are ours (BitTorrent's BEP 3 names the roles
/// "downloader" and "seed", not states).
pub fn diagram() -> wirelab_core::StateDiagram {
    let mut d = wirelab_core::StateDiagram::new("Peer", None);
    let idle = d.state("IDLE", 0, 0);
    let downloading = d.state("DOWNLOADING", 1, 0);
    let seeding = d.state("SEEDING", 1, 1);
    let left = d.state("LEFT", 0, 1);
    d.edge(idle, downloading, "start, pieces missing");
    d.edge(idle, seeding, "start with the whole file");
    d.edge(downloading, seeding, "has every piece");
    d.from_any(left, "leave");
    d
}

impl fmt::Display for PeerState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PeerState::Idle => "IDLE",
            PeerState::Downloading => "DOWNLOADING",
            PeerState::Seeding => "SEEDING",
            PeerState::Left => "LEFT",
        })
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// Starts with the whole file: the server, or the swarm's first seed.
    Seed,
    /// Starts with nothing.
    Leecher,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    pub local: SocketAddr,
    pub seed: u64,
    pub role: Role,
    /// Whom this peer may ask and tells of its pieces: only the server in client-server,
    /// a few others and the seed in a swarm.
    pub neighbours: Vec<SocketAddr>,
    pub pieces: u32,
    pub piece_len: u32,
    /// Requests in flight at once.
    pub max_outstanding: usize,
    /// A request not answered in this time is asked of someone else.
    pub request_timeout: Duration,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    /// Begin: a seed announces its pieces, a leecher starts asking.
    Start,
    /// Leave the swarm mid-way.
    Leave,
}

impl fmt::Display for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Command::Start => "start",
            Command::Leave => "leave",
        })
    }
}

impl FromStr for Command {
    type Err = UnknownCommand;
    fn from_str(s: &str) -> Result<Self, UnknownCommand> {
        let bad = || UnknownCommand { line: s.trim().to_string(), expected: "start or leave" };
        match s.trim() {
            "start" => Ok(Command::Start),
            "leave" => Ok(Command::Leave),
            _ => Err(bad()),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// Every piece is here.
    Complete { pieces: u32 },
}

impl fmt::Display for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Event::Complete { pieces } = self;
        write!(f, "download complete: all {pieces} pieces")
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PeerError {
    Wire(wire::WireError),
    /// A message from someone who is not a neighbour.
    Stranger(SocketAddr),
}

impl fmt::Display for PeerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PeerError::Wire(e) => write!(f, "message discarded: {e}"),
            PeerError::Stranger(a) => write!(f, "message discarded: {a} is not a neighbour"),
        }
    }
}

impl std::error::Error for PeerError {}

/// The bytes of piece `index`: recognisable, so a receiver could check them.
pub fn piece_bytes(index: u32, len: u32) -> Vec<u8> {
    (0..len).map(|i| (index as u8).wrapping_mul(31).wrapping_add(i as u8)).collect()
}

#[derive(Clone, Debug)]
pub struct Peer {
    config: Config,
    rng: SeededRng,
    state: PeerState,
    have: BTreeSet<u32>,
    /// Which pieces each neighbour has told us it has.
    peer_has: BTreeMap<SocketAddr, BTreeSet<u32>>,
    /// Requests in flight: piece → (asked whom, when it times out).
    outstanding: BTreeMap<u32, (SocketAddr, Instant)>,
    /// Requests each neighbour let time out in a row; three and it is taken for gone.
    strikes: BTreeMap<SocketAddr, u32>,
    out: VecDeque<Output<PeerState, Event>>,
}

impl Peer {
    pub fn new(config: Config) -> Self {
        let rng = SeededRng::derive(config.seed, &config.local.to_string());
        let have = match config.role {
            Role::Seed => (0..config.pieces).collect(),
            Role::Leecher => BTreeSet::new(),
        };
        Peer {
            config,
            rng,
            state: PeerState::Idle,
            have,
            peer_has: BTreeMap::new(),
            outstanding: BTreeMap::new(),
            strikes: BTreeMap::new(),
            out: VecDeque::new(),
        }
    }

    pub fn pieces_held(&self) -> usize {
        self.have.len()
    }

    fn set_state(&mut self, to: PeerState, cause: &'static str) {
        let from = self.state;
        if from != to {
            self.state = to;
            self.out.push_back(Output::Transition(Transition { from, to, cause: cause.into(), rfc: None }));
        }
    }

    fn send(&mut self, to: SocketAddr, m: Message, reason: &'static str) {
        self.out.push_back(Output::Transmit(Transmit {
            from: self.config.local,
            to,
            bytes: m.emit(),
            reason: reason.into(),
            rfc: None,
        }));
    }

    fn announce(&mut self, index: u32) {
        for n in self.config.neighbours.clone() {
            self.send(n, Message::Have { index }, "to tell a neighbour it can now ask for this piece");
        }
    }

    /// Asks for missing pieces, up to the limit, each of a random neighbour that has it.
    fn request_more(&mut self, now: Instant) {
        if self.state != PeerState::Downloading {
            return;
        }
        while self.outstanding.len() < self.config.max_outstanding {
            // Missing, not asked for yet, and someone has it.
            let wanted: Vec<(u32, Vec<SocketAddr>)> = (0..self.config.pieces)
                .filter(|i| !self.have.contains(i) && !self.outstanding.contains_key(i))
                .filter_map(|i| {
                    let who: Vec<SocketAddr> =
                        self.peer_has.iter().filter(|(_, set)| set.contains(&i)).map(|(a, _)| *a).collect();
                    (!who.is_empty()).then_some((i, who))
                })
                .collect();
            if wanted.is_empty() {
                return;
            }
            // Rarest first, as BitTorrent clients do: of the pieces the fewest neighbours
            // have, a random one; then a random holder. Spreads the seed's upload over
            // different pieces instead of copies of the same.
            let rarest = wanted.iter().map(|(_, who)| who.len()).min().unwrap_or(0);
            let rare: Vec<&(u32, Vec<SocketAddr>)> = wanted.iter().filter(|(_, who)| who.len() == rarest).collect();
            let (index, who) = rare[(self.rng.next_u32() as usize) % rare.len()];
            // Of its holders, one of those that have the fewest pieces: peers still
            // downloading before the seed, so the seed's uplink is kept for what only it has.
            let least = who.iter().map(|a| self.peer_has.get(a).map_or(0, BTreeSet::len)).min().unwrap_or(0);
            let holders: Vec<SocketAddr> =
                who.iter().copied().filter(|a| self.peer_has.get(a).map_or(0, BTreeSet::len) == least).collect();
            let from = holders[(self.rng.next_u32() as usize) % holders.len()];
            let index = *index;
            self.outstanding.insert(index, (from, now + self.config.request_timeout));
            self.send(
                from,
                Message::Request { index, begin: 0, length: self.config.piece_len },
                "to ask for a piece it lacks",
            );
        }
    }

    fn on_message(&mut self, now: Instant, from: SocketAddr, m: Message) {
        match m {
            Message::Have { index } => {
                self.peer_has.entry(from).or_default().insert(index);
                self.request_more(now);
            }
            Message::Request { index, .. } => {
                if self.have.contains(&index) {
                    let block = piece_bytes(index, self.config.piece_len);
                    self.send(from, Message::Piece { index, begin: 0, block }, "to serve a piece it has");
                }
            }
            Message::Piece { index, block, .. } => {
                self.outstanding.remove(&index);
                if index < self.config.pieces
                    && self.have.insert(index)
                    && block == piece_bytes(index, self.config.piece_len)
                {
                    self.announce(index);
                    if self.have.len() as u32 == self.config.pieces {
                        self.set_state(PeerState::Seeding, "has every piece now, and serves them");
                        self.out.push_back(Output::Event(Event::Complete { pieces: self.config.pieces }));
                    }
                }
                self.request_more(now);
            }
        }
    }
}

impl Machine for Peer {
    type State = PeerState;
    type Command = Command;
    type Event = Event;
    type Error = PeerError;

    fn state(&self) -> PeerState {
        self.state
    }

    fn handle_input(&mut self, now: Instant, input: Input<'_, Command>) -> Result<(), PeerError> {
        if self.state == PeerState::Left {
            return Ok(());
        }
        match input {
            Input::Command(Command::Start) => {
                if self.have.len() as u32 == self.config.pieces {
                    self.set_state(PeerState::Seeding, "was started with the whole file");
                    for i in 0..self.config.pieces {
                        self.announce(i);
                    }
                } else {
                    self.set_state(PeerState::Downloading, "was started with pieces missing");
                    self.request_more(now);
                }
            }
            Input::Command(Command::Leave) => {
                self.outstanding.clear();
                self.set_state(PeerState::Left, "left the swarm");
            }
            Input::Receive { from, bytes } => {
                if !self.config.neighbours.contains(&from) {
                    return Err(PeerError::Stranger(from));
                }
                let m = Message::parse(bytes).map_err(PeerError::Wire)?;
                self.strikes.remove(&from);
                self.on_message(now, from, m);
            }
            Input::Timeout => {
                // Requests that went unanswered are asked again, of whoever has the piece. A
                // neighbour silent three times in a row is taken for gone (it may have left):
                // no more requests to it.
                let late: Vec<(u32, SocketAddr)> =
                    self.outstanding.iter().filter(|(_, (_, t))| *t <= now).map(|(i, (a, _))| (*i, *a)).collect();
                for (i, who) in late {
                    self.outstanding.remove(&i);
                    let strikes = self.strikes.entry(who).or_insert(0);
                    *strikes += 1;
                    if *strikes >= 3 {
                        self.peer_has.remove(&who);
                    }
                }
                self.request_more(now);
            }
        }
        Ok(())
    }

    fn poll_output(&mut self, _now: Instant) -> Output<PeerState, Event> {
        self.out.pop_front().unwrap_or(Output::Idle { wake_at: self.outstanding.values().map(|(_, t)| *t).min() })
    }

    fn diagrams(&self) -> Vec<wirelab_core::StateDiagram> {
        vec![diagram()]
    }

    fn annotate(bytes: &[u8]) -> Annotation {
        wire::annotate(bytes)
    }
}
