//! A UDP socket as a sans-IO machine, with a tiny application on top that numbers what it
//! sends (`seq=N` in the data) and, on receipt, says what the network did: in order, a
//! gap, late, or a duplicate. UDP itself notices none of this: that is the lesson.

use crate::wire::{self, Datagram, WireError};
use std::collections::{BTreeSet, VecDeque};
use std::fmt;
use std::net::SocketAddr;
use std::str::FromStr;
use wirelab_core::{Annotation, Input, Instant, Machine, Output, RfcRef, Transmit, UnknownCommand};

/// RFC 768 defines no states: a socket is bound to a port, and that is all.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum UdpState {
    /// Bound to its port, ready to send and receive.
    Open,
}

impl fmt::Display for UdpState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("OPEN")
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    pub local: SocketAddr,
    /// The peer the UI suggests sending to.
    pub suggested_peer: Option<SocketAddr>,
}

impl Config {
    pub fn new(local: SocketAddr) -> Self {
        Config { local, suggested_peer: None }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    /// One datagram with this text.
    Send(SocketAddr, Vec<u8>),
    /// `count` datagrams, numbered `seq=0`, `seq=1`, … (sent back to back).
    Burst(SocketAddr, u32),
}

impl fmt::Display for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Command::Send(to, data) => write!(f, "send {to} {}", String::from_utf8_lossy(data)),
            Command::Burst(to, n) => write!(f, "burst {to} {n}"),
        }
    }
}

impl FromStr for Command {
    type Err = UnknownCommand;
    fn from_str(s: &str) -> Result<Self, UnknownCommand> {
        let bad = || UnknownCommand {
            line: s.trim().to_string(),
            expected: "send <ip:port> <text> or burst <ip:port> <count>",
        };
        let mut parts = s.trim().splitn(3, ' ');
        let verb = parts.next().unwrap_or("");
        let to: SocketAddr = parts.next().and_then(|a| a.parse().ok()).ok_or_else(bad)?;
        let rest = parts.next().unwrap_or("");
        match verb {
            "send" if !rest.is_empty() => Ok(Command::Send(to, rest.as_bytes().to_vec())),
            "burst" => rest.parse().map(|n| Command::Burst(to, n)).map_err(|_| bad()),
            _ => Err(bad()),
        }
    }
}

/// What the receiving application noticed about a numbered datagram.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Order {
    InOrder,
    /// Arrived with `missing` numbers before it not (yet) seen.
    AfterGap {
        missing: u32,
    },
    /// Arrived after a higher number: the network reordered it.
    Late,
    Duplicate,
    /// Not a numbered datagram.
    Unnumbered,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    Received { from: SocketAddr, data: Vec<u8>, order: Order },
}

impl fmt::Display for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Event::Received { from, data, order } = self;
        write!(f, "datagram {:?} from {from}", String::from_utf8_lossy(data))?;
        match order {
            Order::InOrder | Order::Unnumbered => Ok(()),
            Order::AfterGap { missing } => write!(f, " ({missing} missing before it)"),
            Order::Late => write!(f, " (late: a later one came first)"),
            Order::Duplicate => write!(f, " (a duplicate)"),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UdpError {
    Wire(WireError),
    /// No socket here listens on the datagram's port (a real host answers ICMP port
    /// unreachable, RFC 1122 §4.1.3.1; wirelab does not simulate ICMP).
    NoSocket {
        port: u16,
    },
}

impl fmt::Display for UdpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UdpError::Wire(e) => write!(f, "datagram discarded: {e}"),
            UdpError::NoSocket { port } => write!(f, "datagram discarded: nothing listens on port {port}"),
        }
    }
}

impl std::error::Error for UdpError {}

/// A bound UDP socket.
#[derive(Clone, Debug)]
pub struct Udp {
    config: Config,
    out: VecDeque<Output<UdpState, Event>>,
    /// The next number the application expects, and the numbers it has seen.
    next_expected: u32,
    seen: BTreeSet<u32>,
}

const RFC: Option<RfcRef> = Some(RfcRef::new(768, "1"));

impl Udp {
    pub fn new(config: Config) -> Self {
        Udp { config, out: VecDeque::new(), next_expected: 0, seen: BTreeSet::new() }
    }

    fn send(&mut self, to: SocketAddr, payload: Vec<u8>, reason: &'static str) -> Result<(), UdpError> {
        let d = Datagram { src_port: self.config.local.port(), dst_port: to.port(), payload };
        let bytes = d.emit(self.config.local.ip(), to.ip()).map_err(UdpError::Wire)?;
        self.out.push_back(Output::Transmit(Transmit {
            from: self.config.local,
            to,
            bytes,
            reason: reason.into(),
            rfc: RFC,
        }));
        Ok(())
    }

    fn order_of(&mut self, data: &[u8]) -> Order {
        let Some(n) =
            std::str::from_utf8(data).ok().and_then(|s| s.strip_prefix("seq=")).and_then(|n| n.parse::<u32>().ok())
        else {
            return Order::Unnumbered;
        };
        if !self.seen.insert(n) {
            return Order::Duplicate;
        }
        if n < self.next_expected {
            return Order::Late;
        }
        let missing = (self.next_expected..n).filter(|k| !self.seen.contains(k)).count() as u32;
        self.next_expected = n + 1;
        if missing == 0 { Order::InOrder } else { Order::AfterGap { missing } }
    }
}

impl Machine for Udp {
    type State = UdpState;
    type Command = Command;
    type Event = Event;
    type Error = UdpError;

    fn state(&self) -> UdpState {
        UdpState::Open
    }

    fn handle_input(&mut self, _now: Instant, input: Input<'_, Command>) -> Result<(), UdpError> {
        match input {
            Input::Command(Command::Send(to, data)) => {
                self.send(to, data, "as one datagram: no connection, no acknowledgment, no retransmission")
            }
            Input::Command(Command::Burst(to, n)) => {
                for i in 0..n {
                    self.send(
                        to,
                        format!("seq={i}").into_bytes(),
                        "as one numbered datagram of a burst: nothing will resend it if it is lost",
                    )?;
                }
                Ok(())
            }
            Input::Receive { from, bytes } => {
                wire::verify(from.ip(), self.config.local.ip(), bytes).map_err(UdpError::Wire)?;
                let d = Datagram::parse(bytes).map_err(UdpError::Wire)?;
                if d.dst_port != self.config.local.port() {
                    return Err(UdpError::NoSocket { port: d.dst_port });
                }
                let order = self.order_of(&d.payload);
                self.out.push_back(Output::Event(Event::Received { from, data: d.payload, order }));
                Ok(())
            }
            Input::Timeout => Ok(()),
        }
    }

    fn poll_output(&mut self, _now: Instant) -> Output<UdpState, Event> {
        self.out.pop_front().unwrap_or(Output::Idle { wake_at: None })
    }

    fn suggested_commands(&self) -> Vec<Command> {
        self.config
            .suggested_peer
            .map(|p| vec![Command::Send(p, b"hello".to_vec()), Command::Burst(p, 10)])
            .unwrap_or_default()
    }

    /// RFC 768 has no states: one box, no edges.
    fn diagrams(&self) -> Vec<wirelab_core::StateDiagram> {
        let mut d = wirelab_core::StateDiagram::new("UDP socket", Some(RfcRef::new(768, "1")));
        d.state("OPEN", 0, 0);
        vec![d]
    }

    fn annotate(bytes: &[u8]) -> Annotation {
        wire::annotate(bytes)
    }
}
