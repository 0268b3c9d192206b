//! The one interface every protocol machine implements, so the simulator, the UI and the
//! server drive TCP, SMTP or WebSocket the same way.
//!
//! The shape follows quinn-proto and str0m: inputs are verbs (`handle_input`), outputs are
//! pulled (`poll_output`) until [`Output::Idle`], and time is always passed in.

use crate::annotate::Annotation;
use crate::diagram::StateDiagram;
use crate::time::Instant;
use core::fmt::{Debug, Display};
use core::str::FromStr;
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::net::SocketAddr;

/// A section of an RFC, the source of a rule. Printed as `RFC 9293 §3.5`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct RfcRef {
    pub rfc: u16,
    pub section: Cow<'static, str>,
}

impl RfcRef {
    pub const fn new(rfc: u16, section: &'static str) -> Self {
        RfcRef { rfc, section: Cow::Borrowed(section) }
    }

    /// The section on the RFC Editor's site.
    pub fn url(&self) -> String {
        format!("https://www.rfc-editor.org/rfc/rfc{}#section-{}", self.rfc, self.section)
    }
}

impl Display for RfcRef {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "RFC {} §{}", self.rfc, self.section)
    }
}

/// A console line that is no command of the machine it was given to: the `FromStr`
/// error every protocol's `Command` can use.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownCommand {
    pub line: String,
    /// What would have been understood: "send <ip:port> <text> or burst <ip:port> <count>".
    pub expected: &'static str,
}

impl Display for UnknownCommand {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "unknown command {:?}: try {}", self.line, self.expected)
    }
}

impl std::error::Error for UnknownCommand {}

/// What a machine is told.
#[derive(Debug)]
pub enum Input<'a, C> {
    /// Bytes arrived from the peer at `from`.
    Receive { from: SocketAddr, bytes: &'a [u8] },
    /// The deadline the machine last asked for (in [`Output::Idle`]) has passed.
    Timeout,
    /// The user (or the scenario script) asked for something: `connect`, `MAIL FROM:<…>`.
    Command(C),
}

/// Bytes to put on the wire, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Transmit {
    pub from: SocketAddr,
    pub to: SocketAddr,
    pub bytes: Vec<u8>,
    /// Why the machine sends this, in a sentence, for the narration.
    pub reason: Cow<'static, str>,
    /// The rule that makes it send this.
    pub rfc: Option<RfcRef>,
}

/// A change of state, emitted by the machine's one `set_state`, with its cause.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Transition<S> {
    pub from: S,
    pub to: S,
    /// What caused it, as the RFC would say it: "received SYN,ACK".
    pub cause: Cow<'static, str>,
    pub rfc: Option<RfcRef>,
}

/// A named quantity a machine reports as it changes, for plots: `srtt` in ms, `cwnd` in
/// bytes. Names are the RFC's variable names, lowercased.
#[derive(Clone, Debug, PartialEq)]
pub struct Metric {
    pub name: &'static str,
    pub value: f64,
    pub unit: &'static str,
}

/// What a machine hands back, pulled one at a time.
#[derive(Clone, Debug, PartialEq)]
pub enum Output<S, E> {
    Transmit(Transmit),
    Transition(Transition<S>),
    Event(E),
    Metric(Metric),
    /// Nothing more to do now. Call again with [`Input::Timeout`] at `wake_at`, if any.
    Idle {
        wake_at: Option<Instant>,
    },
}

/// A sans-IO protocol endpoint. Never reads a clock, never touches a socket.
pub trait Machine: Clone {
    /// The protocol's states, `Display`ed as the RFC spells them (`SYN-SENT`).
    type State: Copy + Eq + Debug + Display;
    /// One console line (`connect`, `MAIL FROM:<a@b.example>`).
    type Command: Debug + Display + FromStr<Err: Display>;
    type Event: Debug + Display;
    type Error: Debug + Display + Clone + Eq;

    fn state(&self) -> Self::State;

    fn handle_input(&mut self, now: Instant, input: Input<'_, Self::Command>) -> Result<(), Self::Error>;

    /// Call after every input until it returns [`Output::Idle`].
    fn poll_output(&mut self, now: Instant) -> Output<Self::State, Self::Event>;

    /// Commands that make sense now: the UI shows them as buttons.
    fn suggested_commands(&self) -> Vec<Self::Command> {
        Vec::new()
    }

    /// Names every field of a frame this protocol puts on the wire, with its byte range.
    fn annotate(bytes: &[u8]) -> Annotation;

    /// Names every field of a frame this very machine has just transmitted. The bytes
    /// alone do not always say what they are: a layered machine (an application over TCP)
    /// knows where each application message starts in its stream, so it can explain a
    /// segment that carries the middle of one. The simulator calls this for every
    /// [`Output::Transmit`] right after pulling it. By default, [`Machine::annotate`].
    fn annotate_sent(&self, bytes: &[u8]) -> Annotation {
        Self::annotate(bytes)
    }

    /// The state diagrams of this machine, one per layer, upper layer first (the order of
    /// [`Layers`]' names): the UI draws them and highlights the current state and the last
    /// transition. Every transition the machine makes must be an edge of its diagram.
    fn diagrams(&self) -> Vec<StateDiagram> {
        Vec::new()
    }
}

/// What separates the layers' names in the state of a layered machine: `OPEN · ESTABLISHED`.
pub const LAYER_SEPARATOR: &str = " · ";

/// The state of a machine stacked on another (an application over TCP): both layers'
/// states, printed upper first, joined by [`LAYER_SEPARATOR`]: `OPEN · ESTABLISHED`.
///
/// A simulator trigger waiting for one layer's state (`ESTABLISHED`) fires when that
/// layer enters it, whatever the other layer does: see [`enters_state`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Layers<U, L> {
    pub upper: U,
    pub lower: L,
}

impl<U: Display, L: Display> Display for Layers<U, L> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{}{LAYER_SEPARATOR}{}", self.upper, self.lower)
    }
}

/// Whether a machine moving from state `from` to state `to` (as printed) enters `state`:
/// - `to` is `state`, the whole name (`ESTABLISHED`, or `OPEN · ESTABLISHED`); or
/// - the machine is layered ([`Layers`]) and one layer moves into `state`: the layer
///   names at the same position differ, and the new one is `state`. So `ESTABLISHED`
///   matches `CONNECTING · SYN-SENT` → `CONNECTING · ESTABLISHED`, but not the later
///   `CONNECTING · ESTABLISHED` → `OPEN · ESTABLISHED`, which TCP did not enter. A name
///   two layers share (`CLOSED`) matches whichever layer enters it first.
pub fn enters_state(from: &str, to: &str, state: &str) -> bool {
    if to == state {
        return true;
    }
    if !to.contains(LAYER_SEPARATOR) {
        return false;
    }
    let (from, to) = (from.split(LAYER_SEPARATOR), to.split(LAYER_SEPARATOR));
    from.clone().count() == to.clone().count() && to.zip(from).any(|(t, f)| t == state && t != f)
}

/// Any [`Machine`], with states, commands and events as text: what the simulator and
/// the UI hold, so they need no code of their own per protocol. Blanket-implemented.
pub trait DynMachine: Debug {
    fn state_name(&self) -> String;
    fn handle_receive(&mut self, now: Instant, from: SocketAddr, bytes: &[u8]) -> Result<(), String>;
    fn handle_timeout(&mut self, now: Instant) -> Result<(), String>;
    /// Parses `line` with the machine's `Command::from_str` and runs it.
    fn handle_command(&mut self, now: Instant, line: &str) -> Result<(), String>;
    fn poll_output_dyn(&mut self, now: Instant) -> Output<String, String>;
    fn suggested_command_lines(&self) -> Vec<String>;
    /// Annotates a frame this machine has just transmitted ([`Machine::annotate_sent`]).
    fn annotate_dyn(&self, bytes: &[u8]) -> Annotation;
    fn diagrams_dyn(&self) -> Vec<StateDiagram>;
    fn clone_box(&self) -> Box<dyn DynMachine>;
}

impl<M> DynMachine for M
where
    M: Machine + Debug + 'static,
{
    fn state_name(&self) -> String {
        self.state().to_string()
    }

    fn handle_receive(&mut self, now: Instant, from: SocketAddr, bytes: &[u8]) -> Result<(), String> {
        self.handle_input(now, Input::Receive { from, bytes }).map_err(|e| e.to_string())
    }

    fn handle_timeout(&mut self, now: Instant) -> Result<(), String> {
        self.handle_input(now, Input::Timeout).map_err(|e| e.to_string())
    }

    fn handle_command(&mut self, now: Instant, line: &str) -> Result<(), String> {
        let cmd = line.parse::<M::Command>().map_err(|e| e.to_string())?;
        self.handle_input(now, Input::Command(cmd)).map_err(|e| e.to_string())
    }

    fn poll_output_dyn(&mut self, now: Instant) -> Output<String, String> {
        match self.poll_output(now) {
            Output::Transmit(t) => Output::Transmit(t),
            Output::Transition(t) => Output::Transition(Transition {
                from: t.from.to_string(),
                to: t.to.to_string(),
                cause: t.cause,
                rfc: t.rfc,
            }),
            Output::Event(e) => Output::Event(e.to_string()),
            Output::Metric(m) => Output::Metric(m),
            Output::Idle { wake_at } => Output::Idle { wake_at },
        }
    }

    fn suggested_command_lines(&self) -> Vec<String> {
        self.suggested_commands().iter().map(ToString::to_string).collect()
    }

    fn annotate_dyn(&self, bytes: &[u8]) -> Annotation {
        self.annotate_sent(bytes)
    }

    fn diagrams_dyn(&self) -> Vec<StateDiagram> {
        self.diagrams()
    }

    fn clone_box(&self) -> Box<dyn DynMachine> {
        Box::new(self.clone())
    }
}

impl Clone for Box<dyn DynMachine> {
    fn clone(&self) -> Self {
        self.clone_box()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    struct S(&'static str);
    impl Display for S {
        fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
            f.write_str(self.0)
        }
    }

    #[test]
    fn layers_print_upper_first() {
        let l = Layers { upper: S("OPEN"), lower: S("ESTABLISHED") };
        assert_eq!(l.to_string(), "OPEN · ESTABLISHED");
        let nested = Layers { upper: S("TRANSACTION"), lower: l };
        assert_eq!(nested.to_string(), "TRANSACTION · OPEN · ESTABLISHED");
    }

    #[test]
    fn a_trigger_matches_the_whole_name_or_the_layer_that_entered_it() {
        // Single-layer machines: the name, exactly, as before.
        assert!(enters_state("SYN-SENT", "ESTABLISHED", "ESTABLISHED"));
        assert!(!enters_state("SYN-SENT", "ESTABLISHED", "ESTAB"));
        // Layered: the layer that moved.
        assert!(enters_state("CONNECTING · SYN-SENT", "CONNECTING · ESTABLISHED", "ESTABLISHED"));
        assert!(enters_state("CONNECTING · ESTABLISHED", "OPEN · ESTABLISHED", "OPEN"));
        assert!(enters_state("CONNECTING · ESTABLISHED", "OPEN · ESTABLISHED", "OPEN · ESTABLISHED"));
        // Not a layer that stayed where it was.
        assert!(!enters_state("CONNECTING · ESTABLISHED", "OPEN · ESTABLISHED", "ESTABLISHED"));
        assert!(!enters_state("OPEN · SYN-SENT", "OPEN · ESTABLISHED", "OPEN"));
        // A name two layers share: whichever enters it.
        assert!(enters_state("OPEN · ESTABLISHED", "CLOSED · ESTABLISHED", "CLOSED"));
        assert!(enters_state("CLOSED · LAST-ACK", "CLOSED · CLOSED", "CLOSED"));
        assert!(!enters_state("CLOSED · LAST-ACK", "CLOSED · CLOSED", "LAST-ACK"));
        // Part of a layer's name is no match.
        assert!(!enters_state("A · B", "A · FIN-WAIT-1", "FIN"));
    }
}
