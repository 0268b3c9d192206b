//! Per-state fixtures (smoltcp's habit): bring endpoint A to each of RFC 9293's eleven
//! states against a real peer B, then hand it one segment or one timeout and check the
//! state it moves to and what it answers. Each row cites the rule of RFC 9293 §3.10 it
//! checks. Also: simultaneous open and simultaneous close, end to end.
#![cfg(not(target_arch = "wasm32"))]

use core::time::Duration;
use std::collections::VecDeque;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use wirelab_core::{Input, Instant, Machine, Output};
use wirelab_tcp::{Command, Config, Event, Flags, Segment, Tcp, TcpState};

const A: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 10)), 49152);
const B: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 80)), 80);

/// Two endpoints and the segments in flight between them, in virtual time.
struct Pair {
    a: Tcp,
    b: Tcp,
    now: Instant,
    to_a: VecDeque<Vec<u8>>,
    to_b: VecDeque<Vec<u8>>,
    events_a: Vec<Event>,
    wake_a: Option<Instant>,
    wake_b: Option<Instant>,
}

fn config(local: SocketAddr) -> Config {
    let mut c = Config::new(local, 9);
    c.msl = Duration::from_secs(1);
    c
}

impl Pair {
    fn new() -> Pair {
        Pair {
            a: Tcp::new(config(A)),
            b: Tcp::new(config(B)),
            now: Instant::ZERO,
            to_a: VecDeque::new(),
            to_b: VecDeque::new(),
            events_a: vec![],
            wake_a: None,
            wake_b: None,
        }
    }

    /// Pulls every output of both endpoints onto the wire.
    fn drain(&mut self) {
        loop {
            match self.a.poll_output(self.now) {
                Output::Transmit(t) => self.to_b.push_back(t.bytes),
                Output::Event(e) => self.events_a.push(e),
                Output::Idle { wake_at } => {
                    self.wake_a = wake_at;
                    break;
                }
                _ => {}
            }
        }
        loop {
            match self.b.poll_output(self.now) {
                Output::Transmit(t) => self.to_a.push_back(t.bytes),
                Output::Idle { wake_at } => {
                    self.wake_b = wake_at;
                    break;
                }
                _ => {}
            }
        }
    }

    fn a_cmd(&mut self, c: Command) {
        self.a.handle_input(self.now, Input::Command(c)).expect("a accepts the command");
        self.drain();
    }

    fn b_cmd(&mut self, c: Command) {
        self.b.handle_input(self.now, Input::Command(c)).expect("b accepts the command");
        self.drain();
    }

    /// Delivers the oldest segment in flight to B, 10 ms later.
    fn step_to_b(&mut self) {
        let Some(bytes) = self.to_b.pop_front() else { return };
        self.now += Duration::from_millis(10);
        let _ = self.b.handle_input(self.now, Input::Receive { from: A, bytes: &bytes });
        self.drain();
    }

    /// Delivers the oldest segment in flight to A, 10 ms later.
    fn step_to_a(&mut self) {
        let Some(bytes) = self.to_a.pop_front() else { return };
        self.now += Duration::from_millis(10);
        let _ = self.a.handle_input(self.now, Input::Receive { from: B, bytes: &bytes });
        self.drain();
    }

    /// Delivers everything until both directions are empty.
    fn settle(&mut self) {
        for _ in 0..100 {
            if self.to_a.is_empty() && self.to_b.is_empty() {
                return;
            }
            self.step_to_b();
            self.step_to_a();
        }
        panic!("did not settle");
    }

    /// A hand-made segment from B's address to A, numbered from A's point of view: the
    /// sequence number A expects next, acknowledging everything A has sent (plus `extra`
    /// bytes it has not, for an ACK of unsent data).
    fn forge_to_a(&mut self, flags: Flags, payload: &[u8], extra: u32) -> Vec<Segment> {
        let (_, snd_nxt, rcv_nxt) = self.a.sequence_variables().unwrap_or((0, 0, 0));
        let seg = Segment {
            src_port: B.port(),
            dst_port: A.port(),
            seq: rcv_nxt,
            ack: snd_nxt.wrapping_add(extra),
            flags,
            window: 64240,
            urgent: 0,
            options: vec![],
            payload: payload.to_vec(),
        };
        let bytes = seg.emit(B.ip(), A.ip());
        let _ = self.a.handle_input(self.now, Input::Receive { from: B, bytes: &bytes });
        let before = self.to_b.len();
        self.drain();
        self.to_b.iter().skip(before).filter_map(|b| Segment::parse(b).ok()).collect()
    }

    /// Lets time run to A's next timer and fires it; returns what A sent.
    fn timeout_a(&mut self) -> Vec<Segment> {
        let Some(at) = self.wake_a else { return vec![] };
        self.now = self.now.max(at);
        let _ = self.a.handle_input(self.now, Input::Timeout);
        let before = self.to_b.len();
        self.drain();
        self.to_b.iter().skip(before).filter_map(|b| Segment::parse(b).ok()).collect()
    }
}

/// A brought to `state` with B as its peer (B's own state follows the RFC's dialogue).
fn fixture(state: TcpState) -> Pair {
    use TcpState::*;
    let mut p = Pair::new();
    match state {
        Closed => {}
        Listen => p.a_cmd(Command::Listen),
        SynSent => {
            p.b_cmd(Command::Listen);
            p.a_cmd(Command::Connect(B));
        }
        SynReceived => {
            // A listens; B's SYN arrives; A's SYN,ACK is in flight to B.
            p.a_cmd(Command::Listen);
            p.b_cmd(Command::Connect(A));
            p.step_to_a();
        }
        Established => {
            p.b_cmd(Command::Listen);
            p.a_cmd(Command::Connect(B));
            p.settle();
        }
        FinWait1 => {
            let mut q = fixture(Established);
            q.a_cmd(Command::Close);
            return q;
        }
        FinWait2 => {
            let mut q = fixture(FinWait1);
            q.settle();
            return q;
        }
        CloseWait => {
            let mut q = fixture(Established);
            q.b_cmd(Command::Close);
            q.settle();
            return q;
        }
        LastAck => {
            let mut q = fixture(CloseWait);
            q.a_cmd(Command::Close);
            return q;
        }
        Closing => {
            // Both close at once; A gets B's FIN before the ACK of its own.
            let mut q = fixture(Established);
            q.a_cmd(Command::Close);
            q.b_cmd(Command::Close);
            q.step_to_a();
            return q;
        }
        TimeWait => {
            let mut q = fixture(FinWait2);
            q.b_cmd(Command::Close);
            q.settle();
            return q;
        }
    }
    p
}

#[test]
fn every_fixture_reaches_its_state() {
    for s in TcpState::ALL {
        assert_eq!(fixture(s).a.state(), s, "fixture for {s}");
    }
}

/// What A should do with one input in one state.
struct Row {
    state: TcpState,
    input: &'static str,
    then: TcpState,
    /// Control bits of A's first reply ("" for none).
    reply: &'static str,
    rule: &'static str,
}

fn run_row(r: &Row) {
    let mut p = fixture(r.state);
    let replies = match r.input {
        "SYN" => p.forge_to_a(Flags::SYN, b"", 0),
        "ACK" => p.forge_to_a(Flags::ACK, b"", 0),
        "bad-ACK" => p.forge_to_a(Flags::ACK, b"", 1000),
        "FIN" => p.forge_to_a(Flags::FIN | Flags::ACK, b"", 0),
        "RST" => p.forge_to_a(Flags::RST | Flags::ACK, b"", 0),
        "data" => p.forge_to_a(Flags::ACK | Flags::PSH, b"hello", 0),
        "timeout" => p.timeout_a(),
        other => panic!("unknown input {other}"),
    };
    let reply = replies.first().map(|s| s.flags.to_string()).unwrap_or_default();
    assert_eq!(
        (p.a.state(), reply.as_str()),
        (r.then, r.reply),
        "{} + {}: {} (replies {:?})",
        r.state,
        r.input,
        r.rule,
        replies.iter().map(|s| s.flags.to_string()).collect::<Vec<_>>()
    );
}

macro_rules! rows {
    ($($state:ident $input:literal => $then:ident $reply:literal, $rule:literal;)*) => {
        vec![$(Row { state: TcpState::$state, input: $input, then: TcpState::$then, reply: $reply, rule: $rule }),*]
    };
}

#[test]
fn each_state_handles_syn_ack_fin_rst_data_and_timeout() {
    let table = rows![
        Closed "SYN" => Closed "RST,ACK", "§3.10.7.1: no TCB, a segment without ACK gets <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>";
        Closed "ACK" => Closed "RST", "§3.10.7.1: with ACK on, <SEQ=SEG.ACK><CTL=RST>";
        Closed "RST" => Closed "", "§3.10.7.1: an incoming RST is discarded";
        Closed "timeout" => Closed "", "no timer runs in CLOSED";
        Listen "SYN" => SynReceived "SYN,ACK", "§3.10.7.2 third: SYN gets <SEQ=ISS><ACK=RCV.NXT><CTL=SYN,ACK>";
        Listen "ACK" => Listen "RST", "§3.10.7.2 second: any ACK in LISTEN gets <SEQ=SEG.ACK><CTL=RST>";
        Listen "RST" => Listen "", "§3.10.7.2 first: an incoming RST is ignored";
        Listen "data" => Listen "RST", "§3.10.7.2 second: the ACK on it is bad in LISTEN";
        Listen "timeout" => Listen "", "no timer runs in LISTEN";
        SynSent "SYN" => SynReceived "SYN,ACK", "§3.10.7.3 fourth: SYN without ACK is a simultaneous open";
        SynSent "ACK" => SynSent "", "§3.10.7.3: an acceptable ACK with neither SYN nor RST is dropped";
        SynSent "bad-ACK" => SynSent "RST", "§3.10.7.3 first: SEG.ACK > SND.NXT gets <SEQ=SEG.ACK><CTL=RST>";
        SynSent "RST" => Closed "", "§3.10.7.3 second: RST with an acceptable ACK: connection reset (refused)";
        SynSent "timeout" => SynSent "SYN", "RFC 6298 §5.4: the SYN goes again";
        SynReceived "ACK" => Established "", "§3.10.7.4 fifth: SND.UNA < SEG.ACK =< SND.NXT enters ESTABLISHED";
        SynReceived "bad-ACK" => SynReceived "RST", "§3.10.7.4 fifth: an unacceptable ACK gets <SEQ=SEG.ACK><CTL=RST>";
        SynReceived "RST" => Listen "", "§3.10.7.4 second: from a passive OPEN, RST returns to LISTEN";
        SynReceived "timeout" => SynReceived "SYN,ACK", "RFC 6298 §5.4: the SYN,ACK goes again";
        Established "SYN" => Established "ACK", "§3.10.7.4 fourth: a SYN gets a challenge ACK (RFC 5961)";
        Established "ACK" => Established "", "§3.10.7.4 fifth: a duplicate ACK is ignored";
        Established "bad-ACK" => Established "ACK", "§3.10.7.4 fifth: an ACK of unsent data gets an ACK and is dropped";
        Established "FIN" => CloseWait "ACK", "§3.10.7.4 eighth: FIN enters CLOSE-WAIT and is acknowledged";
        Established "RST" => Closed "", "§3.10.7.4 second: RST resets the connection";
        Established "data" => Established "ACK", "§3.10.7.4 seventh: in-order data is delivered and acknowledged";
        Established "timeout" => Established "", "nothing is outstanding: no timer";
        FinWait1 "ACK" => FinWait2 "", "§3.10.7.4 fifth: the ACK of our FIN enters FIN-WAIT-2";
        FinWait1 "FIN" => TimeWait "ACK", "§3.10.7.4 eighth: a FIN whose ACK covers our FIN goes straight to TIME-WAIT";
        FinWait1 "RST" => Closed "", "§3.10.7.4 second";
        FinWait1 "data" => FinWait2 "ACK", "§3.10.7.4 seventh: FIN-WAIT-1 still receives (and this ACK covers our FIN)";
        FinWait1 "timeout" => FinWait1 "FIN,ACK", "RFC 6298 §5.4: the FIN goes again";
        FinWait2 "FIN" => TimeWait "ACK", "§3.10.7.4 eighth: FIN in FIN-WAIT-2 enters TIME-WAIT";
        FinWait2 "data" => FinWait2 "ACK", "§3.10.7.4 seventh: FIN-WAIT-2 still receives";
        FinWait2 "RST" => Closed "", "§3.10.7.4 second";
        CloseWait "FIN" => CloseWait "ACK", "§3.10.7.4 eighth: CLOSE-WAIT: remain, and acknowledge the FIN";
        CloseWait "RST" => Closed "", "§3.10.7.4 second";
        CloseWait "data" => CloseWait "", "§3.10.7.4 seventh: CLOSE-WAIT ignores segment text";
        LastAck "ACK" => Closed "", "§3.10.7.4 fifth: the ACK of our FIN: delete the TCB";
        LastAck "RST" => Closed "", "§3.10.7.4 second";
        LastAck "timeout" => LastAck "FIN,ACK", "RFC 6298 §5.4: the FIN goes again";
        Closing "ACK" => TimeWait "", "§3.10.7.4 fifth: the ACK of our FIN in CLOSING enters TIME-WAIT";
        Closing "RST" => Closed "", "§3.10.7.4 second";
        Closing "timeout" => Closing "FIN,ACK", "RFC 6298 §5.4: the FIN goes again";
        TimeWait "FIN" => TimeWait "ACK", "§3.10.7.4 eighth: acknowledge it and restart the 2·MSL timeout";
        TimeWait "RST" => Closed "", "§3.10.7.4 second";
        TimeWait "timeout" => Closed "", "§3.10.8: after 2·MSL, delete the TCB";
    ];
    let mut failures = Vec::new();
    for r in &table {
        if let Err(e) = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run_row(r))) {
            failures.push(e.downcast_ref::<String>().cloned().unwrap_or_default());
        }
    }
    assert!(failures.is_empty(), "{} of {} rows failed:\n{}", failures.len(), table.len(), failures.join("\n"));
}

#[test]
fn simultaneous_open_reaches_established_on_both_sides() {
    // RFC 9293 §3.5, Figure 7: both send SYN; the SYNs cross.
    let mut p = Pair::new();
    p.a_cmd(Command::Connect(B));
    p.b_cmd(Command::Connect(A));
    assert_eq!((p.a.state(), p.b.state()), (TcpState::SynSent, TcpState::SynSent));
    p.settle();
    assert_eq!((p.a.state(), p.b.state()), (TcpState::Established, TcpState::Established));
}

#[test]
fn simultaneous_close_goes_through_closing_to_time_wait_on_both_sides() {
    // RFC 9293 §3.6, Figure 13: both FINs cross; each side passes CLOSING.
    let mut p = fixture(TcpState::Established);
    p.a_cmd(Command::Close);
    p.b_cmd(Command::Close);
    p.settle();
    assert_eq!((p.a.state(), p.b.state()), (TcpState::TimeWait, TcpState::TimeWait));
    p.timeout_a();
    assert_eq!(p.a.state(), TcpState::Closed);
}

#[test]
fn reset_in_established_tells_the_application() {
    let mut p = fixture(TcpState::Established);
    p.forge_to_a(Flags::RST | Flags::ACK, b"", 0);
    assert!(p.events_a.contains(&Event::Reset));
}
