//! State diagrams a machine declares: its states, placed on a small grid the way the RFC
//! draws them, and the transitions it can make, each with the event and action that cause
//! it (RFC 9293 Figure 5 writes them `rcv SYN / snd SYN,ACK`).
//!
//! The UI draws a node's diagrams next to the ladder, highlights the state it is in and
//! the edge of its last transition. The diagrams are data, not drawings: a test checks,
//! for every scenario, that every transition a machine made is an edge of the diagram it
//! declared, so a diagram cannot drift from the code that moves the machine.

use crate::machine::{LAYER_SEPARATOR, RfcRef};
use serde::{Deserialize, Serialize};
use std::borrow::Cow;

/// One state, drawn as a box at `col`, `row` of the diagram's grid. A state may appear
/// twice (RFC 9293 Figure 5 draws CLOSED at the top and at the bottom).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StateBox {
    /// The state as the machine prints it (`SYN-SENT`).
    pub name: Cow<'static, str>,
    pub col: u8,
    pub row: u8,
}

/// A transition the machine may make.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Edge {
    /// Index in [`StateDiagram::states`]; `None`: from any state (RFC 9293 draws these
    /// as notes: a reset or an abort closes the connection from wherever it is).
    pub from: Option<usize>,
    pub to: usize,
    /// What causes it: `rcv SYN,ACK / snd ACK`.
    pub label: Cow<'static, str>,
}

/// The states and transitions of one protocol layer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StateDiagram {
    /// `TCP connection states`.
    pub title: Cow<'static, str>,
    /// Where the diagram comes from.
    pub rfc: Option<RfcRef>,
    pub states: Vec<StateBox>,
    pub edges: Vec<Edge>,
}

impl StateDiagram {
    pub fn new(title: &'static str, rfc: Option<RfcRef>) -> Self {
        StateDiagram { title: Cow::Borrowed(title), rfc, states: Vec::new(), edges: Vec::new() }
    }

    /// Adds a state box at (`col`, `row`) and returns its index, for [`StateDiagram::edge`].
    pub fn state(&mut self, name: &'static str, col: u8, row: u8) -> usize {
        self.states.push(StateBox { name: Cow::Borrowed(name), col, row });
        self.states.len() - 1
    }

    /// Adds the transition `from` → `to` (indices from [`StateDiagram::state`]).
    pub fn edge(&mut self, from: usize, to: usize, label: &'static str) {
        self.edges.push(Edge { from: Some(from), to, label: Cow::Borrowed(label) });
    }

    /// Adds a transition from any state to `to`.
    pub fn from_any(&mut self, to: usize, label: &'static str) {
        self.edges.push(Edge { from: None, to, label: Cow::Borrowed(label) });
    }

    /// The boxes that show state `name`.
    pub fn boxes_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = usize> + 'a {
        self.states.iter().enumerate().filter(move |(_, s)| s.name == name).map(|(i, _)| i)
    }

    /// The edge a transition `from` → `to` took: an edge between boxes of those names,
    /// else an edge from any state into `to`.
    pub fn edge_for(&self, from: &str, to: &str) -> Option<usize> {
        let named = |i: usize, n: &str| self.states.get(i).is_some_and(|s| s.name == n);
        let direct = self.edges.iter().position(|e| e.from.is_some_and(|f| named(f, from)) && named(e.to, to));
        direct.or_else(|| self.edges.iter().position(|e| e.from.is_none() && named(e.to, to)))
    }

    /// The grid's size in columns and rows.
    pub fn grid(&self) -> (u8, u8) {
        let cols = self.states.iter().map(|s| s.col + 1).max().unwrap_or(0);
        let rows = self.states.iter().map(|s| s.row + 1).max().unwrap_or(0);
        (cols, rows)
    }
}

/// The states of a layered machine, one per diagram, upper layer first: `OPEN ·
/// ESTABLISHED` gives `["OPEN", "ESTABLISHED"]`.
pub fn layer_states(state: &str) -> impl Iterator<Item = &str> {
    state.split(LAYER_SEPARATOR)
}

/// Which layer a transition changed and its states there: for `CONNECTING · SYN-SENT` →
/// `CONNECTING · ESTABLISHED`, `(1, "SYN-SENT", "ESTABLISHED")`. A transition into the
/// same state (TIME-WAIT restarted by a retransmitted FIN) is the lowest layer's.
pub fn changed_layer<'a>(from: &'a str, to: &'a str) -> Option<(usize, &'a str, &'a str)> {
    let pairs: Vec<(&str, &str)> = layer_states(from).zip(layer_states(to)).collect();
    pairs
        .iter()
        .enumerate()
        .find(|(_, (f, t))| f != t)
        .or_else(|| pairs.iter().enumerate().next_back())
        .map(|(i, &(f, t))| (i, f, t))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn two_closed() -> StateDiagram {
        let mut d = StateDiagram::new("t", None);
        let top = d.state("CLOSED", 1, 0);
        let listen = d.state("LISTEN", 1, 1);
        let bottom = d.state("CLOSED", 2, 3);
        d.edge(top, listen, "passive OPEN");
        d.edge(listen, bottom, "CLOSE");
        d.from_any(bottom, "rcv RST");
        d
    }

    #[test]
    fn an_edge_is_found_by_state_names_and_a_wildcard_comes_last() {
        let d = two_closed();
        assert_eq!(d.edge_for("CLOSED", "LISTEN"), Some(0));
        assert_eq!(d.edge_for("LISTEN", "CLOSED"), Some(1));
        assert_eq!(d.edge_for("ESTABLISHED", "CLOSED"), Some(2));
        assert_eq!(d.edge_for("CLOSED", "ESTABLISHED"), None);
        assert_eq!(d.boxes_named("CLOSED").collect::<Vec<_>>(), vec![0, 2]);
        assert_eq!(d.grid(), (3, 4));
    }

    #[test]
    fn the_changed_layer_is_the_one_whose_state_differs() {
        assert_eq!(
            changed_layer("CONNECTING · SYN-SENT", "CONNECTING · ESTABLISHED"),
            Some((1, "SYN-SENT", "ESTABLISHED"))
        );
        assert_eq!(changed_layer("OPEN · ESTABLISHED", "CLOSING · ESTABLISHED"), Some((0, "OPEN", "CLOSING")));
        assert_eq!(changed_layer("TIME-WAIT", "TIME-WAIT"), Some((0, "TIME-WAIT", "TIME-WAIT")));
        assert_eq!(changed_layer("LISTEN", "SYN-RECEIVED"), Some((0, "LISTEN", "SYN-RECEIVED")));
    }
}
