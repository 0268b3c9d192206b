//! The trace: everything that happened in a run, in order. The simulator is the only
//! thing that writes one; the UI, the exports and the tests only read it.

use crate::annotate::Annotation;
use crate::diagram::StateDiagram;
use crate::machine::RfcRef;
use crate::time::Instant;
use serde::{Deserialize, Serialize};
use std::fmt::Write as _;
use std::net::{IpAddr, SocketAddr};

/// Index of a node in [`Trace::nodes`].
pub type NodeId = usize;

/// A node as the trace remembers it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeInfo {
    pub name: String,
    pub ip: IpAddr,
    /// The machine's state before the first event (`CLOSED`).
    pub initial_state: String,
    /// The machine's state diagrams, one per layer ([`Machine::diagrams`](crate::Machine::diagrams)).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub diagrams: Vec<StateDiagram>,
}

/// Bytes that went on the wire, explained.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Frame {
    pub from: SocketAddr,
    pub to: SocketAddr,
    /// The node the frame is addressed to, if there is one.
    pub to_node: Option<NodeId>,
    pub bytes: Vec<u8>,
    pub annotation: Annotation,
    /// Why the sender sent it.
    pub reason: String,
    pub rfc: Option<RfcRef>,
}

/// What happened.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum TraceKind {
    /// The user or the script gave the node a command.
    Command {
        line: String,
    },
    /// The node put a frame on the wire.
    Sent {
        frame: Frame,
    },
    /// The frame sent at event `sent_seq` reached this node.
    Delivered {
        sent_seq: usize,
        /// A second copy the link made (duplication).
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        duplicate: bool,
        /// The bit the link flipped on the way (corruption), counted from the frame's start.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        corrupted_bit: Option<usize>,
    },
    /// The frame sent at event `sent_seq` was lost on its way to this node.
    Dropped {
        sent_seq: usize,
        why: String,
    },
    StateChanged {
        from: String,
        to: String,
        cause: String,
        rfc: Option<RfcRef>,
    },
    /// The node asked to be woken at `at` (a retransmission or TIME-WAIT timer).
    TimerArmed {
        at: Instant,
    },
    TimerFired,
    /// Something the application above the machine sees: "connection established".
    Event {
        text: String,
    },
    /// The machine refused an input.
    Error {
        text: String,
    },
    /// A quantity the machine reports for plots (`srtt` = 23.5 ms).
    Metric {
        name: String,
        value: f64,
        unit: String,
    },
}

/// One thing that happened, at one node, at one time.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TraceEvent {
    /// Position in [`Trace::events`].
    pub seq: usize,
    pub at: Instant,
    pub node: NodeId,
    pub kind: TraceKind,
}

/// A whole run.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Trace {
    pub seed: u64,
    pub nodes: Vec<NodeInfo>,
    pub events: Vec<TraceEvent>,
}

/// Equality is total here: metrics are measured quantities, never NaN. Being `Eq` also
/// lets `Rc<Trace>` compare by pointer first, which the UI relies on: every view gets the
/// run as an `Rc<Trace>` prop, and a deep comparison of a 10 000-step run on every step
/// cost ~100 ms per step in Chromium.
impl Eq for Trace {}

impl Trace {
    /// What `node` reported ([`TraceKind::Event`]), in order: `TCP: connection established`.
    pub fn reports(&self, node: usize) -> Vec<String> {
        self.events
            .iter()
            .filter(|e| e.node == node)
            .filter_map(|e| match &e.kind {
                TraceKind::Event { text } => Some(text.clone()),
                _ => None,
            })
            .collect()
    }

    /// The frame sent at event `sent_seq`.
    pub fn frame(&self, sent_seq: usize) -> Option<&Frame> {
        match &self.events.get(sent_seq)?.kind {
            TraceKind::Sent { frame } => Some(frame),
            _ => None,
        }
    }

    /// The frame an event is about: the one sent, delivered or dropped there.
    pub fn frame_of(&self, event: usize) -> Option<(usize, &Frame)> {
        let sent_seq = match &self.events.get(event)?.kind {
            TraceKind::Sent { .. } => event,
            TraceKind::Delivered { sent_seq, .. } | TraceKind::Dropped { sent_seq, .. } => *sent_seq,
            _ => return None,
        };
        self.frame(sent_seq).map(|f| (sent_seq, f))
    }

    /// Where the frame sent at `sent_seq` ended: `Some((event, delivered?))`, or `None`
    /// while it is still in flight.
    pub fn fate(&self, sent_seq: usize) -> Option<(usize, bool)> {
        self.events.iter().skip(sent_seq + 1).find_map(|e| match &e.kind {
            TraceKind::Delivered { sent_seq: s, .. } if *s == sent_seq => Some((e.seq, true)),
            TraceKind::Dropped { sent_seq: s, .. } if *s == sent_seq => Some((e.seq, false)),
            _ => None,
        })
    }

    /// Each node's state once events `0..=step` have happened (`step = None`: before any).
    pub fn states_after(&self, step: Option<usize>) -> Vec<String> {
        let mut states: Vec<String> = self.nodes.iter().map(|n| n.initial_state.clone()).collect();
        let end = step.map_or(0, |s| (s + 1).min(self.events.len()));
        for e in &self.events[..end] {
            if let TraceKind::StateChanged { to, .. } = &e.kind {
                if let Some(s) = states.get_mut(e.node) {
                    s.clone_from(to);
                }
            }
        }
        states
    }

    /// Every state each node passed through, in order (its initial state first).
    pub fn state_history(&self, node: NodeId) -> Vec<String> {
        let mut out: Vec<String> = self.nodes.get(node).map(|n| n.initial_state.clone()).into_iter().collect();
        out.extend(self.events.iter().filter(|e| e.node == node).filter_map(|e| match &e.kind {
            TraceKind::StateChanged { to, .. } => Some(to.clone()),
            _ => None,
        }));
        out
    }

    /// Every value `node` reported for metric `name`, with when: a series to plot.
    pub fn metric_series(&self, node: NodeId, name: &str) -> Vec<(Instant, f64)> {
        self.events
            .iter()
            .filter(|e| e.node == node)
            .filter_map(|e| match &e.kind {
                TraceKind::Metric { name: n, value, .. } if n == name => Some((e.at, *value)),
                _ => None,
            })
            .collect()
    }

    /// A sentence saying what event `step` did and why, for the narration panel.
    pub fn narrate(&self, step: usize) -> String {
        let Some(e) = self.events.get(step) else {
            return String::new();
        };
        let who = self.node_name(e.node);
        match &e.kind {
            TraceKind::Command { line } => format!("The {who}'s application asks it to {line}."),
            TraceKind::Sent { frame } => {
                let to = frame.to_node.map_or_else(|| frame.to.to_string(), |n| self.node_name(n).to_string());
                let mut s = format!("The {who} sends {} to the {to}", frame.annotation.summary);
                if !frame.reason.is_empty() {
                    let _ = write!(s, ": {}", frame.reason);
                }
                s.push('.');
                s
            }
            TraceKind::Delivered { sent_seq, duplicate, corrupted_bit } => {
                let what = self.frame(*sent_seq).map_or("a frame", |f| f.annotation.summary.as_str());
                let mut s = format!("{what} arrives at the {who}");
                if *duplicate {
                    s.push_str(" a second time: the link duplicated it");
                }
                if let Some(bit) = corrupted_bit {
                    let _ = write!(s, ", with bit {bit} flipped on the way");
                }
                s.push('.');
                s
            }
            TraceKind::Dropped { sent_seq, why } => {
                let what = self.frame(*sent_seq).map_or("a frame", |f| f.annotation.summary.as_str());
                format!("{what} never reaches the {who}: {why}.")
            }
            TraceKind::StateChanged { from, to, cause, .. } => {
                format!("The {who} moves from {from} to {to} because it {cause}.")
            }
            TraceKind::TimerArmed { at } => format!("The {who} sets a timer for {at}."),
            TraceKind::TimerFired => format!("The {who}'s timer expires."),
            TraceKind::Event { text } => format!("The {who} reports: {text}."),
            TraceKind::Error { text } => format!("The {who} refuses: {text}."),
            TraceKind::Metric { name, value, unit } => format!("The {who}'s {name} is now {value:.1} {unit}."),
        }
    }

    /// The RFC section behind event `step`, if it has one.
    pub fn rfc_of(&self, step: usize) -> Option<&RfcRef> {
        match &self.events.get(step)?.kind {
            TraceKind::StateChanged { rfc, .. } => rfc.as_ref(),
            TraceKind::Sent { frame } => frame.rfc.as_ref(),
            TraceKind::Delivered { sent_seq, .. } => self.frame(*sent_seq)?.rfc.as_ref(),
            _ => None,
        }
    }

    fn node_name(&self, node: NodeId) -> &str {
        self.nodes.get(node).map_or("?", |n| n.name.as_str())
    }

    /// A plain-text ladder of the run, one line per event: what the tests snapshot, so the
    /// diagram is checked without a browser.
    pub fn ascii_ladder(&self) -> String {
        const W: usize = 14;
        let mut out = String::new();
        let _ = write!(out, "{:>10}  ", "time");
        for n in &self.nodes {
            let _ = write!(out, "{:<W$}", n.name);
        }
        out.push('\n');
        for e in &self.events {
            let mut cols: Vec<String> = vec![String::new(); self.nodes.len()];
            let text = match &e.kind {
                TraceKind::Command { line } => format!("$ {line}"),
                TraceKind::Sent { frame } => format!("--> {}", frame.annotation.summary),
                TraceKind::Delivered { sent_seq, .. } => {
                    format!("<-- {}", self.frame(*sent_seq).map_or("?", |f| f.annotation.summary.as_str()))
                }
                TraceKind::Dropped { sent_seq, why } => format!("X {sent_seq} ({why})"),
                TraceKind::StateChanged { to, .. } => format!("[{to}]"),
                TraceKind::TimerArmed { at } => format!("timer @{at}"),
                TraceKind::TimerFired => "timer fired".to_string(),
                TraceKind::Event { text } => format!("* {text}"),
                TraceKind::Error { text } => format!("! {text}"),
                // Plotted, not drawn in the ladder.
                TraceKind::Metric { .. } => continue,
            };
            if let Some(c) = cols.get_mut(e.node) {
                *c = text;
            }
            let _ = write!(out, "{:>10}  ", e.at.to_string());
            let last = cols.iter().rposition(|c| !c.is_empty()).unwrap_or(0);
            for (i, c) in cols.iter().enumerate().take(last + 1) {
                if i == last {
                    out.push_str(c);
                } else {
                    let _ = write!(out, "{c:<W$}");
                }
            }
            out.push('\n');
        }
        out
    }
}
