//! The simulator: nodes running machines, joined by a simulated link, in virtual time.
//! It owns the clock, the seeded randomness of the network, and the trace.
//!
//! Like quinn-proto's `Pair` and str0m's `progress`, it is the only place where machine
//! outputs become deliveries, losses and trace events. Same seed, same faults: the same
//! trace, bit for bit.

use crate::machine::{DynMachine, Output};
use crate::rng::SeededRng;
use crate::time::Instant;
use crate::trace::{Frame, NodeInfo, Trace, TraceEvent, TraceKind};
use core::time::Duration;
use std::cmp::Reverse;
use std::collections::{BTreeSet, BinaryHeap};
use std::fmt;
use std::net::{IpAddr, SocketAddr};

pub use crate::trace::NodeId;

/// How the simulated link between every pair of nodes behaves.
#[derive(Clone, Debug, PartialEq)]
pub struct LinkConfig {
    /// One-way propagation delay.
    pub latency: Duration,
    /// Extra delay drawn uniformly from `0..=jitter` for each frame (so frames may reorder).
    pub jitter: Duration,
    /// Probability in `[0, 1]` that a frame is lost.
    pub loss: f64,
}

impl Default for LinkConfig {
    fn default() -> Self {
        LinkConfig { latency: Duration::from_millis(10), jitter: Duration::ZERO, loss: 0.0 }
    }
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
}

#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Scheduled {
    at: Instant,
    order: usize,
    node: NodeId,
    line: String,
}

/// A command that runs `delay` after `node` enters `state`, once.
#[derive(Debug)]
struct Trigger {
    node: NodeId,
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
    rng: SeededRng,
    /// Transmissions to lose on purpose, by the trace index of their `Sent` event.
    manual_drops: BTreeSet<usize>,
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
            rng: SeededRng::derive(seed, "link"),
            manual_drops: BTreeSet::new(),
            triggers: Vec::new(),
            trace: Trace { seed, ..Trace::default() },
        }
    }

    /// Adds a node that owns `ip` and runs `machine`.
    pub fn add_node(&mut self, name: &str, ip: IpAddr, machine: Box<dyn DynMachine>) -> NodeId {
        self.trace.nodes.push(NodeInfo { name: name.to_string(), ip, initial_state: machine.state_name() });
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
    pub fn command_on_state(&mut self, node: NodeId, state: &str, delay: Duration, line: &str) -> Result<(), SimError> {
        if node >= self.nodes.len() {
            return Err(SimError::NoSuchNode(node));
        }
        self.triggers.push(Trigger { node, state: state.to_string(), delay, line: line.to_string() });
        Ok(())
    }

    /// Loses the transmission that will be trace event `sent_seq` ("drop this one").
    pub fn drop_transmission(&mut self, sent_seq: usize) {
        self.manual_drops.insert(sent_seq);
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
        let (from, bytes) = (frame.from, frame.bytes.clone());
        self.push(f.to_node, TraceKind::Delivered { sent_seq: f.sent_seq });
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
                    while let Some(i) = self.triggers.iter().position(|tr| tr.node == node && tr.state == t.to) {
                        let tr = self.triggers.remove(i);
                        self.schedule(now + tr.delay, node, tr.line);
                    }
                    self.push(
                        node,
                        TraceKind::StateChanged { from: t.from, to: t.to, cause: t.cause.into_owned(), rfc: t.rfc },
                    );
                }
                Output::Event(text) => {
                    self.push(node, TraceKind::Event { text });
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

    /// Puts a frame on the link: decides now, with the seeded RNG, whether and when it arrives.
    fn launch(&mut self, sent_seq: usize, from_node: NodeId, to_node: Option<NodeId>) {
        let Some(to_node) = to_node else {
            self.push(from_node, TraceKind::Dropped { sent_seq, why: "no node has that address".to_string() });
            return;
        };
        let mut delay = self.link.latency;
        if !self.link.jitter.is_zero() {
            let jitter_us = u64::try_from(self.link.jitter.as_micros()).unwrap_or(u64::MAX);
            delay += Duration::from_micros((self.rng.next_f64() * (jitter_us as f64 + 1.0)) as u64);
        }
        let lost = if self.manual_drops.contains(&sent_seq) {
            Some("dropped by hand".to_string())
        } else if self.link.loss > 0.0 && self.rng.next_f64() < self.link.loss {
            Some(format!("lost on the link (loss {:.0}%)", self.link.loss * 100.0))
        } else {
            None
        };
        self.in_flight.push(Reverse(InFlight { arrive_at: self.now + delay, sent_seq, to_node, lost }));
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
