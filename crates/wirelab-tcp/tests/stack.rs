//! `OverTcp`: an application over our TCP, in the simulator. The application here is a
//! tiny line protocol (`say <text>` sends the text and a LF; each line received is an
//! event), so what is checked is the adapter: the stream delivered exactly once and in
//! order under loss, layered states and triggers, the console grammar, and segments
//! explained by both layers even when a message is split.
#![cfg(not(target_arch = "wasm32"))]

use core::time::Duration;
use proptest::prelude::*;
use std::collections::VecDeque;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::str::FromStr;
use wirelab_core::{
    Annotation, Field, Input, Instant, LinkConfig, Machine, Output, Sim, StreamApp, Trace, TraceKind, Transition,
    Transmit, UnknownCommand,
};
use wirelab_tcp::stack::{StackCommand, StackError};
use wirelab_tcp::{Command as TcpCommand, Config, OverTcp, Segment, Tcp, TcpState};

const CLIENT: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 10)), 49152);
const SERVER: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 80)), 7);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum LineState {
    Waiting,
    Talking,
    Done,
}

impl fmt::Display for LineState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            LineState::Waiting => "WAITING",
            LineState::Talking => "TALKING",
            LineState::Done => "DONE",
        })
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum LineCommand {
    Say(String),
    Bye,
}

impl fmt::Display for LineCommand {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LineCommand::Say(t) => write!(f, "say {t}"),
            LineCommand::Bye => f.write_str("bye"),
        }
    }
}

impl FromStr for LineCommand {
    type Err = UnknownCommand;
    fn from_str(s: &str) -> Result<Self, UnknownCommand> {
        match s.trim().split_once(' ') {
            Some(("say", t)) => Ok(LineCommand::Say(t.to_string())),
            None if s.trim() == "bye" => Ok(LineCommand::Bye),
            _ => Err(UnknownCommand { line: s.trim().to_string(), expected: "say <text> or bye" }),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum LineEvent {
    Line(String),
    /// Close the stream.
    Bye,
}

impl fmt::Display for LineEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LineEvent::Line(t) => write!(f, "line {t}"),
            LineEvent::Bye => f.write_str("bye"),
        }
    }
}

/// Lines of text over a stream: the test application.
#[derive(Clone, Debug)]
struct Lines {
    me: SocketAddr,
    state: LineState,
    inbuf: Vec<u8>,
    out: VecDeque<Output<LineState, LineEvent>>,
}

impl Lines {
    fn new(me: SocketAddr) -> Self {
        Lines { me, state: LineState::Waiting, inbuf: Vec::new(), out: VecDeque::new() }
    }

    fn set_state(&mut self, to: LineState, cause: &'static str) {
        if self.state != to {
            self.out.push_back(Output::Transition(Transition { from: self.state, to, cause: cause.into(), rfc: None }));
            self.state = to;
        }
    }
}

impl Machine for Lines {
    type State = LineState;
    type Command = LineCommand;
    type Event = LineEvent;
    type Error = String;

    fn state(&self) -> LineState {
        self.state
    }

    fn handle_input(&mut self, _now: Instant, input: Input<'_, LineCommand>) -> Result<(), String> {
        match input {
            Input::Command(LineCommand::Say(t)) => {
                let mut bytes = t.into_bytes();
                bytes.push(b'\n');
                self.out.push_back(Output::Transmit(Transmit {
                    from: self.me,
                    to: self.me,
                    bytes,
                    reason: "a line".into(),
                    rfc: None,
                }));
            }
            Input::Command(LineCommand::Bye) => {
                self.set_state(LineState::Done, "said bye");
                self.out.push_back(Output::Event(LineEvent::Bye));
            }
            Input::Receive { bytes, .. } => {
                self.inbuf.extend_from_slice(bytes);
                while let Some(i) = self.inbuf.iter().position(|&b| b == b'\n') {
                    let line: Vec<u8> = self.inbuf.drain(..=i).collect();
                    let text = String::from_utf8_lossy(&line[..i]).into_owned();
                    self.out.push_back(Output::Event(LineEvent::Line(text)));
                }
            }
            Input::Timeout => {}
        }
        Ok(())
    }

    fn poll_output(&mut self, _now: Instant) -> Output<LineState, LineEvent> {
        self.out.pop_front().unwrap_or(Output::Idle { wake_at: None })
    }

    fn suggested_commands(&self) -> Vec<LineCommand> {
        vec![LineCommand::Say("hi".into()), LineCommand::Bye]
    }

    fn annotate(bytes: &[u8]) -> Annotation {
        let end = bytes.iter().position(|&b| b == b'\n');
        let text = String::from_utf8_lossy(&bytes[..end.unwrap_or(bytes.len())]).into_owned();
        let mut fields = vec![Field::new("Text", 0, text.len(), text.clone(), "the line")];
        if let Some(i) = end {
            fields.push(Field::new("LF", i, 1, "0x0a", "ends the line").child());
        }
        Annotation {
            protocol: "LINES".into(),
            summary: format!("line of {} bytes", text.len()),
            fields,
            error: end.is_none().then(|| "incomplete line".into()),
        }
    }
}

impl StreamApp for Lines {
    const PROTOCOL: &'static str = "LINES";

    fn on_connected(&mut self, _now: Instant) -> Result<(), String> {
        self.set_state(LineState::Talking, "the stream opened");
        Ok(())
    }

    fn on_peer_closed(&mut self, _now: Instant) -> Result<(), String> {
        if self.state != LineState::Done {
            self.set_state(LineState::Done, "the peer said bye");
            self.out.push_back(Output::Event(LineEvent::Bye));
        }
        Ok(())
    }

    fn wants_transport_close(event: &LineEvent) -> bool {
        *event == LineEvent::Bye
    }
}

fn node(local: SocketAddr, seed: u64) -> OverTcp<Lines> {
    let mut cfg = Config::new(local, seed);
    cfg.msl = Duration::from_secs(1);
    OverTcp::new(Tcp::new(cfg), Lines::new(local))
}

/// The client says `lines` (one every 5 ms once connected), then bye; the server says
/// "welcome" when it is connected and bye when the client has gone.
fn run(seed: u64, link: LinkConfig, lines: &[String]) -> Trace {
    let mut sim = Sim::new(seed, link);
    let c = sim.add_node("client", CLIENT.ip(), Box::new(node(CLIENT, seed)));
    let s = sim.add_node("server", SERVER.ip(), Box::new(node(SERVER, seed)));
    sim.command_at(Instant::ZERO, s, "listen").expect("server");
    sim.command_at(Instant::from_millis(1), c, &format!("connect {SERVER}")).expect("client");
    sim.command_on_state(s, "ESTABLISHED", Duration::ZERO, "say welcome").expect("server");
    for (i, l) in lines.iter().enumerate() {
        sim.command_on_state(c, "TALKING", Duration::from_millis(5 * i as u64), &format!("say {l}")).expect("client");
    }
    sim.command_on_state(c, "TALKING", Duration::from_millis(5 * lines.len() as u64), "bye").expect("client");
    sim.run(200_000).expect("settles");
    sim.into_trace()
}

fn lines_at(trace: &Trace, node: usize) -> Vec<String> {
    trace
        .events
        .iter()
        .filter(|e| e.node == node)
        .filter_map(|e| match &e.kind {
            TraceKind::Event { text } => text.strip_prefix("LINES: line ").map(str::to_string),
            _ => None,
        })
        .collect()
}

fn errors(trace: &Trace) -> Vec<String> {
    trace
        .events
        .iter()
        .filter_map(|e| match &e.kind {
            TraceKind::Error { text } => Some(text.clone()),
            _ => None,
        })
        .collect()
}

fn numbered(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("line {i}:{}", "x".repeat(i * 37 % 300))).collect()
}

#[test]
fn the_stream_arrives_once_in_order_and_both_layers_close() {
    let lines = numbered(30);
    let trace = run(1, LinkConfig::default(), &lines);
    assert_eq!(errors(&trace), Vec::<String>::new());
    assert_eq!(lines_at(&trace, 1), lines);
    assert_eq!(lines_at(&trace, 0), ["welcome"]);
    let end = trace.states_after(Some(trace.events.len() - 1));
    assert_eq!(end, ["DONE · CLOSED", "DONE · CLOSED"]);
    assert_eq!(
        trace.state_history(0),
        [
            "WAITING · CLOSED",
            "WAITING · SYN-SENT",
            "WAITING · ESTABLISHED",
            "TALKING · ESTABLISHED",
            "DONE · ESTABLISHED",
            "DONE · FIN-WAIT-1",
            "DONE · FIN-WAIT-2",
            "DONE · TIME-WAIT",
            "DONE · CLOSED"
        ]
    );
}

#[test]
fn every_transition_starts_where_the_last_one_ended_and_names_one_layer() {
    let trace = run(3, LinkConfig { loss: 0.1, ..LinkConfig::default() }, &numbered(10));
    for node in [0, 1] {
        let mut at = trace.nodes[node].initial_state.clone();
        for e in trace.events.iter().filter(|e| e.node == node) {
            if let TraceKind::StateChanged { from, to, rfc, .. } = &e.kind {
                assert_eq!(from, &at);
                let (f, t): (Vec<&str>, Vec<&str>) = (from.split(" · ").collect(), to.split(" · ").collect());
                let changed = f.iter().zip(&t).filter(|(a, b)| a != b).count();
                assert!(changed <= 1, "{from} -> {to}: one layer at a time");
                // TCP's transitions keep TCP's RFC.
                if f[1] != t[1] {
                    assert_eq!(rfc.as_ref().map(|r| r.rfc), Some(9293), "{from} -> {to}");
                }
                at.clone_from(to);
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 40, failure_persistence: None, ..ProptestConfig::default() })]

    /// Loss, reordering and duplication: every line the client said reaches the server's
    /// application once, in order, with no error in either layer; both ends close.
    #[test]
    fn lines_survive_a_faulty_link(
        seed in any::<u64>(),
        loss in 0.0..0.25f64,
        reorder in 0.0..0.25f64,
        duplicate in 0.0..0.25f64,
        n in 1usize..25,
    ) {
        let lines = numbered(n);
        let link = LinkConfig { loss, reorder, duplicate, jitter: Duration::from_millis(3), ..LinkConfig::default() };
        let trace = run(seed, link, &lines);
        prop_assert_eq!(errors(&trace), Vec::<String>::new());
        prop_assert_eq!(lines_at(&trace, 1), lines);
        let end = trace.states_after(Some(trace.events.len() - 1));
        prop_assert_eq!(end, ["DONE · CLOSED", "DONE · CLOSED"]);
    }
}

#[test]
fn same_seed_same_trace() {
    let link = LinkConfig { loss: 0.1, reorder: 0.1, ..LinkConfig::default() };
    let a = run(9, link.clone(), &numbered(12));
    assert_eq!(a, run(9, link, &numbered(12)));
}

#[test]
fn a_message_split_across_segments_is_named_in_each() {
    // 3000 bytes: three segments of at most 1460.
    let long = "y".repeat(2999);
    let trace = run(1, LinkConfig::default(), std::slice::from_ref(&long));
    let data: Vec<_> = trace
        .events
        .iter()
        .filter(|e| e.node == 0)
        .filter_map(|e| match &e.kind {
            TraceKind::Sent { frame } => Some(frame),
            _ => None,
        })
        .filter(|f| Segment::parse(&f.bytes).is_ok_and(|s| !s.payload.is_empty()))
        .collect();
    assert_eq!(data.len(), 3);
    let summaries: Vec<&str> = data.iter().map(|f| f.annotation.summary.split(" · ").next().unwrap_or("")).collect();
    assert_eq!(
        summaries,
        [
            "LINES line of 2999 bytes (continued in the next segment)",
            "LINES line of 2999 bytes (middle part)",
            "LINES line of 2999 bytes (end)"
        ]
    );
    for f in &data {
        let a = &f.annotation;
        assert_eq!(a.protocol, "TCP", "the frame is a TCP segment: exports go by this");
        assert_eq!(a.fields.iter().find(|x| x.name == "LINES").map(|x| x.depth), Some(0));
        assert_eq!(a.error, None, "the whole line is fine: {:?}", a.error);
        // Every byte is explained; every field lies inside the segment.
        for i in 0..f.bytes.len() {
            assert!(a.field_at(i).is_some(), "byte {i} of {}", a.summary);
        }
        assert!(a.fields.iter().all(|x| x.start + x.len <= f.bytes.len()));
        // The reason says why TCP sent it and why the application did.
        assert!(f.reason.ends_with("— LINES: a line"), "{}", f.reason);
    }
    // The LF is a child field of the application's message, in the last segment only.
    let lf: Vec<&Field> = data[2].annotation.fields.iter().filter(|x| x.name == "LF").collect();
    assert_eq!(lf.len(), 1);
    assert_eq!(lf[0].depth, 2);
    assert_eq!(lf[0].start, data[2].bytes.len() - 1);
    assert!(data[0].annotation.fields.iter().all(|x| x.name != "LF"));
}

#[test]
fn two_writes_in_one_segment_are_two_messages() {
    // Two writes queued before the connection exists go out in one segment.
    let mut sim = Sim::new(1, LinkConfig::default());
    let c = sim.add_node("client", CLIENT.ip(), Box::new(node(CLIENT, 1)));
    let s = sim.add_node("server", SERVER.ip(), Box::new(node(SERVER, 1)));
    sim.command_at(Instant::ZERO, s, "listen").expect("server");
    sim.command_at(Instant::from_millis(1), c, &format!("connect {SERVER}")).expect("client");
    // In SYN-SENT TCP queues what it is given (RFC 9293 §3.10.2) and sends it at once later.
    sim.command_at(Instant::from_millis(2), c, "say one").expect("client");
    sim.command_at(Instant::from_millis(3), c, "say two").expect("client");
    sim.run(10_000).expect("settles");
    let t = sim.into_trace();
    let frame = t
        .events
        .iter()
        .find_map(|e| match &e.kind {
            TraceKind::Sent { frame }
                if e.node == 0 && Segment::parse(&frame.bytes).is_ok_and(|s| !s.payload.is_empty()) =>
            {
                Some(frame)
            }
            _ => None,
        })
        .expect("a data segment");
    let summary = &frame.annotation.summary;
    assert!(summary.starts_with("LINES line of 3 bytes + LINES line of 3 bytes · PSH,ACK"), "{summary}");
    assert!(frame.reason.ends_with("— LINES: a line (and 1 more)"), "{}", frame.reason);
    assert_eq!(lines_at(&t, 1), ["one", "two"]);
}

#[test]
fn the_static_annotation_never_panics_and_says_what_is_missing() {
    let ip = CLIENT.ip();
    let seg = Segment {
        src_port: 1,
        dst_port: 2,
        seq: 10,
        ack: 0,
        flags: wirelab_tcp::Flags::ACK | wirelab_tcp::Flags::PSH,
        window: 100,
        urgent: 0,
        options: vec![],
        payload: b"half a li".to_vec(),
    };
    let bytes = seg.emit(ip, ip);
    let a = OverTcp::<Lines>::annotate(&bytes);
    assert!(a.summary.starts_with("LINES line of 9 bytes · PSH,ACK seq=10"), "{}", a.summary);
    assert_eq!(a.error.as_deref(), Some("LINES: incomplete line"));
    for cut in 0..bytes.len() {
        let _ = OverTcp::<Lines>::annotate(&bytes[..cut]);
    }
}

#[test]
fn console_lines_go_to_the_right_layer_and_print_back() {
    type Cmd = StackCommand<LineCommand>;
    let cases: [(&str, Cmd); 6] = [
        ("say hi", StackCommand::App(LineCommand::Say("hi".into()))),
        ("bye", StackCommand::App(LineCommand::Bye)),
        ("listen", StackCommand::Tcp(TcpCommand::Listen)),
        ("connect 192.0.2.80:7", StackCommand::Tcp(TcpCommand::Connect(SERVER))),
        ("close", StackCommand::Tcp(TcpCommand::Close)),
        ("tcp send raw", StackCommand::Tcp(TcpCommand::Send(b"raw".to_vec()))),
    ];
    for (line, cmd) in cases {
        assert_eq!(line.parse::<Cmd>(), Ok(cmd.clone()), "{line}");
        assert_eq!(cmd.to_string().parse::<Cmd>(), Ok(cmd), "{line}");
    }
    // `tcp` forces TCP; unknown lines say what both layers expected.
    assert_eq!("TCP listen".parse::<Cmd>(), Ok(StackCommand::Tcp(TcpCommand::Listen)));
    let e = "shout".parse::<Cmd>().expect_err("nobody's");
    assert!(e.to_string().contains("say <text>") && e.to_string().contains("listen"), "{e}");
    assert!("tcp say hi".parse::<Cmd>().is_err());
}

#[test]
fn suggestions_merge_both_layers_once_connected() {
    let mut a = node(CLIENT, 1);
    let lines = |m: &OverTcp<Lines>| m.suggested_commands().iter().map(ToString::to_string).collect::<Vec<_>>();
    assert_eq!(lines(&a), ["listen"]);
    a.handle_input(Instant::ZERO, Input::Command(StackCommand::Tcp(TcpCommand::Connect(SERVER)))).expect("connect");
    assert_eq!(a.state().to_string(), "WAITING · SYN-SENT");
    assert_eq!(a.state().lower, TcpState::SynSent);
    assert_eq!(lines(&a), ["close"]);
}

#[test]
fn writing_with_no_connection_is_refused_by_tcp() {
    let mut a = node(CLIENT, 1);
    let r = a.handle_input(Instant::ZERO, Input::Command(StackCommand::App(LineCommand::Say("hi".into()))));
    let Err(e @ StackError::Unsent { len: 3, .. }) = r else { panic!("{r:?}") };
    assert_eq!(e.to_string(), "TCP could not send 3 bytes of LINES: connection does not exist");
}
