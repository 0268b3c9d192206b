//! The simulator: nodes running machines, joined by a simulated link, in virtual time.
//! It owns the clock, the seeded randomness of the network, and the trace.
//!
//! Like quinn-proto's `Pair` and str0m's `progress`, it is the only place where machine
//! outputs become deliveries, losses and trace events. Same seed, same faults: the same
//! trace, bit for bit.

use crate::machine::{DynMachine, Output, enters_state};
use crate::rng::SeededRng;
use crate::time::Instant;
use crate::trace::{Frame, NodeInfo, Trace, TraceEvent, TraceKind};
use core::time::Duration;
use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap, VecDeque};
use std::fmt;
use std::net::{IpAddr, SocketAddr};

pub use crate::trace::NodeId;

/// How a simulated link behaves, in one direction. Every random choice is drawn from
/// the run's seed, and only for the faults that are switched on, so turning one fault on
/// does not change the draws of another.
#[derive(Clone, Debug, PartialEq)]
pub struct LinkConfig {
    /// One-way propagation delay.
    pub latency: Duration,
    /// Extra delay drawn uniformly from `0..=jitter` for each frame (so frames may reorder).
    pub jitter: Duration,
    /// Probability in `[0, 1]` that a frame is lost.
    pub loss: f64,
    /// The sender's line rate in bits per second: a frame takes `8·len/bandwidth` to put on
    /// the wire, and waits its turn behind those before it. `None`: infinitely fast.
    pub bandwidth_bps: Option<u64>,
    /// Frames that may wait for the wire; one more is dropped (tail drop).
    pub queue_limit: usize,
    /// Probability that a frame is held back by one extra `latency`, so later ones overtake it.
    pub reorder: f64,
    /// Probability that the link delivers a frame twice.
    pub duplicate: f64,
    /// Probability that one bit of a frame is flipped on the way.
    pub corrupt: f64,
}

impl Default for LinkConfig {
    fn default() -> Self {
        LinkConfig {
            latency: Duration::from_millis(10),
            jitter: Duration::ZERO,
            loss: 0.0,
            bandwidth_bps: None,
            queue_limit: 64,
            reorder: 0.0,
            duplicate: 0.0,
            corrupt: 0.0,
        }
    }
}

/// The sending side of one directed link: when its wire is free, and when each frame
/// still waiting will start to go out.
#[derive(Debug, Default)]
struct Transmitter {
    busy_until: Instant,
    starts: VecDeque<Instant>,
}

/// Why a run stopped early.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SimError {
    /// The run did not settle within the given number of events (a machine that never
    /// goes idle, or a scenario longer than its budget).
    EventLimit(usize),
    /// A command was scheduled for a node that does not exist.
    NoSuchNode(NodeId),
}

impl fmt::Display for SimError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SimError::EventLimit(n) => write!(f, "the run did not settle within {n} events"),
            SimError::NoSuchNode(n) => write!(f, "there is no node {n}"),
        }
    }
}

impl std::error::Error for SimError {}

#[derive(Debug)]
struct SimNode {
    machine: Box<dyn DynMachine>,
    wake_at: Option<Instant>,
}

/// A frame on the link. Ordered by arrival time, then by when it was sent.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
struct InFlight {
    arrive_at: Instant,
    sent_seq: usize,
    to_node: NodeId,
    /// `Some(why)` if the link loses it; the loss is shown where it would have arrived.
    lost: Option<String>,
    duplicate: bool,
    corrupted_bit: Option<usize>,
}

#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Scheduled {
    at: Instant,
    order: usize,
    node: NodeId,
    line: String,
}

/// A command for `target` that runs `delay` after `node` enters `state`, once.
#[derive(Debug)]
struct Trigger {
    node: NodeId,
    target: NodeId,
    state: String,
    delay: Duration,
    line: String,
}

/// A simulated network of machines.
#[derive(Debug)]
pub struct Sim {
    now: Instant,
    nodes: Vec<SimNode>,
    in_flight: BinaryHeap<Reverse<InFlight>>,
    script: BinaryHeap<Reverse<Scheduled>>,
    /// Ties between commands due at the same instant go to the one scheduled first.
    next_order: usize,
    link: LinkConfig,
    /// Links configured apart from the default, by (from, to).
    links: BTreeMap<(NodeId, NodeId), LinkConfig>,
    transmitters: BTreeMap<(NodeId, NodeId), Transmitter>,
    /// Shared access lines: a node's rate and queue for all it sends.
    uplinks: BTreeMap<NodeId, (u64, usize)>,
    rng: SeededRng,
    /// Transmissions to lose on purpose, by the trace index of their `Sent` event.
    manual_drops: BTreeSet<usize>,
    /// Transmissions to hold back on purpose, and by how much.
    manual_delays: BTreeMap<usize, Duration>,
    /// Commands waiting for their node to enter a state.
    triggers: Vec<Trigger>,
    trace: Trace,
}

impl Sim {
    /// An empty network whose randomness is fixed by `seed`.
    pub fn new(seed: u64, link: LinkConfig) -> Self {
        Sim {
            now: Instant::ZERO,
            nodes: Vec::new(),
            in_flight: BinaryHeap::new(),
            script: BinaryHeap::new(),
            next_order: 0,
            link,
            links: BTreeMap::new(),
            transmitters: BTreeMap::new(),
            uplinks: BTreeMap::new(),
            rng: SeededRng::derive(seed, "link"),
            manual_drops: BTreeSet::new(),
            manual_delays: BTreeMap::new(),
            triggers: Vec::new(),
            trace: Trace { seed, ..Trace::default() },
        }
    }

    /// Adds a node that owns `ip` and runs `machine`.
    pub fn add_node(&mut self, name: &str, ip: IpAddr, machine: Box<dyn DynMachine>) -> NodeId {
        self.trace.nodes.push(NodeInfo {
            name: name.to_string(),
            ip,
            initial_state: machine.state_name(),
            diagrams: machine.diagrams_dyn(),
        });
        self.nodes.push(SimNode { machine, wake_at: None });
        self.nodes.len() - 1
    }

    /// Gives `node` the command `line` at virtual time `at`.
    pub fn command_at(&mut self, at: Instant, node: NodeId, line: &str) -> Result<(), SimError> {
        if node >= self.nodes.len() {
            return Err(SimError::NoSuchNode(node));
        }
        self.schedule(at, node, line.to_string());
        Ok(())
    }

    /// Gives `node` the command `line`, `delay` after it first enters `state` (printed as
    /// the machine prints it: `ESTABLISHED`). Scripts written this way stay meaningful when
    /// faults change the timing.
    ///
    /// For a layered machine, whose state reads `OPEN · ESTABLISHED`, `state` may be the
    /// whole name or one layer's (`OPEN`, `ESTABLISHED`): the trigger fires when that
    /// layer enters it ([`enters_state`](crate::enters_state)).
    pub fn command_on_state(&mut self, node: NodeId, state: &str, delay: Duration, line: &str) -> Result<(), SimError> {
        self.command_on_state_of(node, state, delay, node, line)
    }

    /// Gives `target` the command `line`, `delay` after `node` first enters `state`: one
    /// host's step that another's starts (north's relay agent connects once north's
    /// server has queued a message). Otherwise as [`Sim::command_on_state`].
    pub fn command_on_state_of(
        &mut self,
        node: NodeId,
        state: &str,
        delay: Duration,
        target: NodeId,
        line: &str,
    ) -> Result<(), SimError> {
        if let Some(&n) = [node, target].iter().find(|&&n| n >= self.nodes.len()) {
            return Err(SimError::NoSuchNode(n));
        }
        self.triggers.push(Trigger { node, target, state: state.to_string(), delay, line: line.to_string() });
        Ok(())
    }

    /// Loses the transmission that will be trace event `sent_seq` ("drop this one").
    pub fn drop_transmission(&mut self, sent_seq: usize) {
        self.manual_drops.insert(sent_seq);
    }

    /// Holds back the transmission that will be trace event `sent_seq` by `extra`.
    pub fn delay_transmission(&mut self, sent_seq: usize, extra: Duration) {
        self.manual_delays.insert(sent_seq, extra);
    }

    /// Sets how the link from `from` to `to` behaves (one direction; every other pair
    /// behaves as the config given to [`Sim::new`]).
    pub fn set_link(&mut self, from: NodeId, to: NodeId, config: LinkConfig) {
        self.links.insert((from, to), config);
    }

    /// Gives `node` one access line of `bps` shared by everything it sends, to every
    /// destination, with a queue of `queue_limit` frames: the bottleneck of a server that
    /// many clients download from. Overrides the links' own bandwidth for this sender.
    pub fn set_uplink(&mut self, node: NodeId, bps: u64, queue_limit: usize) {
        self.uplinks.insert(node, (bps, queue_limit));
    }

    pub fn now(&self) -> Instant {
        self.now
    }

    pub fn trace(&self) -> &Trace {
        &self.trace
    }

    pub fn into_trace(self) -> Trace {
        self.trace
    }

    /// The current state of `node`'s machine.
    pub fn state_of(&self, node: NodeId) -> Option<String> {
        self.nodes.get(node).map(|n| n.machine.state_name())
    }

    /// Runs until nothing is scheduled, in flight, or waiting on a timer.
    pub fn run(&mut self, max_events: usize) -> Result<(), SimError> {
        while let Some(at) = self.next_wakeup() {
            if self.trace.events.len() >= max_events {
                return Err(SimError::EventLimit(max_events));
            }
            self.now = self.now.max(at);
            self.step_once();
        }
        Ok(())
    }

    fn next_wakeup(&self) -> Option<Instant> {
        let script = self.script.peek().map(|Reverse(s)| s.at);
        let frame = self.in_flight.peek().map(|Reverse(f)| f.arrive_at);
        let timer = self.nodes.iter().filter_map(|n| n.wake_at).min();
        [script, frame, timer].into_iter().flatten().min()
    }

    /// Handles everything due at `self.now`, in a fixed order: commands, then arrivals,
    /// then timers (each by node, then by when it was scheduled), so runs are deterministic.
    fn step_once(&mut self) {
        let now = self.now;
        if let Some(Reverse(s)) = self.script.peek() {
            if s.at <= now {
                if let Some(Reverse(s)) = self.script.pop() {
                    self.push(s.node, TraceKind::Command { line: s.line.clone() });
                    let result = self.nodes[s.node].machine.handle_command(now, &s.line);
                    self.after_input(s.node, result);
                }
                return;
            }
        }
        if let Some(Reverse(f)) = self.in_flight.peek() {
            if f.arrive_at <= now {
                if let Some(Reverse(f)) = self.in_flight.pop() {
                    self.arrive(f);
                }
                return;
            }
        }
        if let Some(node) = self.nodes.iter().position(|n| n.wake_at.is_some_and(|w| w <= now)) {
            self.nodes[node].wake_at = None;
            self.push(node, TraceKind::TimerFired);
            let result = self.nodes[node].machine.handle_timeout(now);
            self.after_input(node, result);
        }
    }

    fn arrive(&mut self, f: InFlight) {
        if let Some(why) = f.lost {
            self.push(f.to_node, TraceKind::Dropped { sent_seq: f.sent_seq, why });
            return;
        }
        let Some(frame) = self.trace.frame(f.sent_seq) else {
            return;
        };
        let (from, mut bytes) = (frame.from, frame.bytes.clone());
        if let Some(bit) = f.corrupted_bit {
            if let Some(b) = bytes.get_mut(bit / 8) {
                *b ^= 0x80 >> (bit % 8);
            }
        }
        self.push(
            f.to_node,
            TraceKind::Delivered { sent_seq: f.sent_seq, duplicate: f.duplicate, corrupted_bit: f.corrupted_bit },
        );
        let result = self.nodes[f.to_node].machine.handle_receive(self.now, from, &bytes);
        self.after_input(f.to_node, result);
    }

    fn after_input(&mut self, node: NodeId, result: Result<(), String>) {
        if let Err(text) = result {
            self.push(node, TraceKind::Error { text });
        }
        self.drain(node);
    }

    /// Pulls every output of `node` until it is idle, turning each into trace events.
    fn drain(&mut self, node: NodeId) {
        let now = self.now;
        loop {
            match self.nodes[node].machine.poll_output_dyn(now) {
                Output::Transmit(t) => {
                    let annotation = self.nodes[node].machine.annotate_dyn(&t.bytes);
                    let to_node = self.node_for(t.to);
                    let frame = Frame {
                        from: t.from,
                        to: t.to,
                        to_node,
                        bytes: t.bytes,
                        annotation,
                        reason: t.reason.into_owned(),
                        rfc: t.rfc,
                    };
                    let sent_seq = self.push(node, TraceKind::Sent { frame });
                    self.launch(sent_seq, node, to_node);
                }
                Output::Transition(t) => {
                    while let Some(i) =
                        self.triggers.iter().position(|tr| tr.node == node && enters_state(&t.from, &t.to, &tr.state))
                    {
                        let tr = self.triggers.remove(i);
                        self.schedule(now + tr.delay, tr.target, tr.line);
                    }
                    self.push(
                        node,
                        TraceKind::StateChanged { from: t.from, to: t.to, cause: t.cause.into_owned(), rfc: t.rfc },
                    );
                }
                Output::Event(text) => {
                    self.push(node, TraceKind::Event { text });
                }
                Output::Metric(m) => {
                    self.push(
                        node,
                        TraceKind::Metric { name: m.name.to_string(), value: m.value, unit: m.unit.to_string() },
                    );
                }
                Output::Idle { wake_at } => {
                    let slot = &mut self.nodes[node].wake_at;
                    if *slot != wake_at {
                        *slot = wake_at;
                        if let Some(at) = wake_at {
                            self.push(node, TraceKind::TimerArmed { at });
                        }
                    }
                    return;
                }
            }
        }
    }

    /// Puts a frame on the link: decides now, with the seeded RNG, whether, when and how
    /// it arrives. The draws happen in a fixed order, each only if its fault is on.
    fn launch(&mut self, sent_seq: usize, from_node: NodeId, to_node: Option<NodeId>) {
        let Some(to_node) = to_node else {
            self.push(from_node, TraceKind::Dropped { sent_seq, why: "no node has that address".to_string() });
            return;
        };
        let link = self.links.get(&(from_node, to_node)).unwrap_or(&self.link).clone();
        let len = self.trace.frame(sent_seq).map_or(0, |f| f.bytes.len());
        let now = self.now;

        // Serialisation: the frame waits for the wire, then takes 8·len/bandwidth on it,
        // counted with the 20-byte IPv4 header it would travel in.
        let mut depart = now;
        // A shared uplink (one transmitter for every destination) or the link's own.
        let line = match self.uplinks.get(&from_node) {
            Some(&(bps, queue)) => Some((bps, queue, (from_node, usize::MAX))),
            None => link.bandwidth_bps.map(|bps| (bps, link.queue_limit, (from_node, to_node))),
        };
        if let Some((bps, queue_limit, key)) = line.filter(|l| l.0 > 0) {
            let tx = self.transmitters.entry(key).or_default();
            while tx.starts.front().is_some_and(|s| *s <= now) {
                tx.starts.pop_front();
            }
            if tx.starts.len() >= queue_limit {
                let why = format!("the sender's queue was full ({} frames waiting): tail drop", tx.starts.len());
                self.push(from_node, TraceKind::Dropped { sent_seq, why });
                return;
            }
            let start = tx.busy_until.max(now);
            let bits = ((len + 20) * 8) as u64;
            tx.busy_until = start + Duration::from_micros(bits.saturating_mul(1_000_000) / bps);
            tx.starts.push_back(start);
            depart = tx.busy_until;
        }
        let mut delay = link.latency;
        let mut lost = None;
        if self.manual_drops.contains(&sent_seq) {
            lost = Some("dropped by hand".to_string());
        } else if link.loss > 0.0 && self.rng.next_f64() < link.loss {
            lost = Some(format!("lost on the link (loss {:.0}%)", link.loss * 100.0));
        }
        if !link.jitter.is_zero() {
            let jitter_us = u64::try_from(link.jitter.as_micros()).unwrap_or(u64::MAX);
            delay += Duration::from_micros((self.rng.next_f64() * (jitter_us as f64 + 1.0)) as u64);
        }
        if link.reorder > 0.0 && self.rng.next_f64() < link.reorder {
            delay += link.latency;
        }
        if let Some(extra) = self.manual_delays.get(&sent_seq) {
            delay += *extra;
        }
        let duplicate = link.duplicate > 0.0 && self.rng.next_f64() < link.duplicate;
        let corrupted_bit = if link.corrupt > 0.0 && self.rng.next_f64() < link.corrupt && len > 0 {
            Some((self.rng.next_u64() % (len as u64 * 8)) as usize)
        } else {
            None
        };
        let arrive_at = depart + delay;
        if duplicate && lost.is_none() {
            // The copy arrives just after the original, unharmed.
            let copy = InFlight {
                arrive_at: arrive_at + Duration::from_micros(1),
                sent_seq,
                to_node,
                lost: None,
                duplicate: true,
                corrupted_bit: None,
            };
            self.in_flight.push(Reverse(copy));
        }
        self.in_flight.push(Reverse(InFlight { arrive_at, sent_seq, to_node, lost, duplicate: false, corrupted_bit }));
    }

    fn schedule(&mut self, at: Instant, node: NodeId, line: String) {
        let order = self.next_order;
        self.next_order += 1;
        self.script.push(Reverse(Scheduled { at, order, node, line }));
    }

    fn node_for(&self, addr: SocketAddr) -> Option<NodeId> {
        self.trace.nodes.iter().position(|n| n.ip == addr.ip())
    }

    fn push(&mut self, node: NodeId, kind: TraceKind) -> usize {
        let seq = self.trace.events.len();
        self.trace.events.push(TraceEvent { seq, at: self.now, node, kind });
        seq
    }
}
