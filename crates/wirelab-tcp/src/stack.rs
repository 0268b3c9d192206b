//! An application protocol over our TCP: [`OverTcp<U>`] runs a byte-stream machine
//! (WebSocket, HTTP/1.1, anything that implements [`StreamApp`]) on top of a [`Tcp`]
//! endpoint, so a simulated node puts real segments on the wire that carry real
//! application messages.
//!
//! The two layers meet where RFC 9293 §3.9.1 puts the user interface of TCP:
//! - the application's [`Output::Transmit`]s become SEND calls; the segments TCP then
//!   emits are the node's transmits, each explained by both layers;
//! - what TCP delivers ([`TcpEvent::Data`]) is the application's [`Input::Receive`];
//! - "connection established", "connection closing" (the peer's FIN), "connection reset"
//!   and the rest reach the application through [`StreamApp`]; when the application is
//!   done ([`StreamApp::wants_transport_close`]), TCP gets its CLOSE call.
//!
//! Everything one input sets off in either layer happens inside that one
//! `handle_input` call, so a run stays deterministic and an error anywhere in the chain is
//! that call's error.
//!
//! # Commands
//!
//! One console line, for one of the two layers ([`StackCommand`]):
//! - `tcp <command>` is always TCP's: `tcp close` half-closes the stream under the
//!   application, `tcp send hi` writes raw bytes into it;
//! - any other line is the application's if it parses as one of its commands (`text hi`,
//!   `ping`, `close 1000`, `GET /hello.txt`), and TCP's otherwise (`listen`,
//!   `connect 192.0.2.80:80`, `abort`).
//!
//! So `close` closes the application (a WebSocket closing handshake; HTTP's close), which
//! closes TCP once the application is done, while `tcp close` closes TCP at once.
//!
//! # State
//!
//! [`Layers`]: the application's state, then TCP's, printed `OPEN · ESTABLISHED`. Every
//! change of either layer is a transition with that layer's cause and RFC section. A
//! simulator trigger may wait for either layer's state by its own name (`OPEN`,
//! `ESTABLISHED`): see [`wirelab_core::enters_state`].

use crate::error::TcpError;
use crate::machine::{Command as TcpCommand, Event as TcpEvent, Tcp, TcpState};
use crate::wire::{self, Flags, Segment};
use std::borrow::Cow;
use std::collections::VecDeque;
use std::fmt;
use std::net::SocketAddr;
use std::str::FromStr;
use wirelab_core::{
    Annotation, Field, Input, Instant, Layers, Machine, Output, RfcRef, StreamApp, Transition, Transmit,
};

/// The state of an application over TCP: `OPEN · ESTABLISHED`.
pub type StackState<S> = Layers<S, TcpState>;

/// What a stack of application `U` over TCP hands back.
type StackOutput<U> = Output<StackState<<U as Machine>::State>, StackEvent<<U as Machine>::Event>>;

/// One console line for a node running an application over TCP (see the
/// [module documentation](self) for the grammar).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StackCommand<C> {
    /// TCP's user calls (RFC 9293 §3.9.1): `listen`, `connect <ip:port>`, `abort`, or any
    /// TCP command after `tcp `.
    Tcp(TcpCommand),
    /// The application's command: `text hi`, `GET /hello.txt`, `close`.
    App(C),
}

/// The prefix that sends a console line to TCP, whatever the application would make of it.
pub const TCP_PREFIX: &str = "tcp ";

impl<C: FromStr> FromStr for StackCommand<C>
where
    C::Err: fmt::Display,
{
    type Err = StackCommandError;

    fn from_str(s: &str) -> Result<Self, StackCommandError> {
        let line = s.trim();
        let bad = |app: Option<String>, tcp: String| StackCommandError { line: line.to_string(), app, tcp };
        let prefixed = line.get(..TCP_PREFIX.len()).is_some_and(|p| p.eq_ignore_ascii_case(TCP_PREFIX));
        if prefixed {
            let rest = &line[TCP_PREFIX.len()..];
            return rest.parse().map(StackCommand::Tcp).map_err(|e: crate::UsageError| bad(None, e.to_string()));
        }
        match s.parse::<C>() {
            Ok(c) => Ok(StackCommand::App(c)),
            Err(app) => line
                .parse()
                .map(StackCommand::Tcp)
                .map_err(|tcp: crate::UsageError| bad(Some(app.to_string()), tcp.to_string())),
        }
    }
}

/// Printed so that it parses back to itself: a TCP command the application would take
/// for its own gets the `tcp ` prefix (`tcp close`).
impl<C: fmt::Display + FromStr> fmt::Display for StackCommand<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StackCommand::App(c) => c.fmt(f),
            StackCommand::Tcp(c) => {
                let line = c.to_string();
                if line.parse::<C>().is_ok() { write!(f, "{TCP_PREFIX}{line}") } else { f.write_str(&line) }
            }
        }
    }
}

/// A console line that neither layer understands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StackCommandError {
    pub line: String,
    /// What the application said of it (`None` after the `tcp ` prefix).
    pub app: Option<String>,
    /// What TCP said of it.
    pub tcp: String,
}

impl fmt::Display for StackCommandError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.app {
            Some(app) => write!(f, "{app}; or, for TCP: {}", self.tcp),
            None => write!(f, "{}", self.tcp),
        }
    }
}

impl std::error::Error for StackCommandError {}

/// What a node running an application over TCP reports.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StackEvent<E> {
    /// What TCP told the application (RFC 9293 §3.9.1: "connection established",
    /// "connection closing", …). Its data is not here: it went to the application.
    Tcp(TcpEvent),
    /// What the application reports.
    App { protocol: &'static str, event: E },
}

impl<E: fmt::Display> fmt::Display for StackEvent<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StackEvent::Tcp(e) => write!(f, "TCP: {e}"),
            StackEvent::App { protocol, event } => write!(f, "{protocol}: {event}"),
        }
    }
}

/// What a node running an application over TCP refuses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StackError<E> {
    /// TCP refused a segment or a command.
    Tcp(TcpError),
    /// The application refused a command or the bytes it was given.
    App { protocol: &'static str, error: E },
    /// The application wrote `len` bytes that TCP could not take: no connection, or it
    /// is closing (RFC 9293 §3.10.2).
    Unsent { protocol: &'static str, len: usize, why: TcpError },
}

impl<E: fmt::Display> fmt::Display for StackError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StackError::Tcp(e) => write!(f, "TCP: {e}"),
            StackError::App { protocol, error } => write!(f, "{protocol}: {error}"),
            StackError::Unsent { protocol, len, why } => {
                write!(f, "TCP could not send {len} bytes of {protocol}: {why}")
            }
        }
    }
}

impl<E: fmt::Debug + fmt::Display> std::error::Error for StackError<E> {}

/// One write of the application into the stream, kept until TCP has it acknowledged, so
/// that every segment carrying a part of it can be explained.
#[derive(Clone, Debug)]
struct Written {
    /// Offset in the stream of its first byte (0: the byte after the SYN).
    start: u64,
    bytes: Vec<u8>,
    reason: Cow<'static, str>,
    rfc: Option<RfcRef>,
}

impl Written {
    fn end(&self) -> u64 {
        self.start + self.bytes.len() as u64
    }
}

/// A part of a segment's payload that belongs to one application write.
#[derive(Debug)]
struct Piece<'a> {
    /// Where it starts in the payload.
    at: usize,
    len: usize,
    /// The whole write it is part of, and where in it the part starts.
    message: &'a [u8],
    skip: usize,
}

/// An application protocol `U` over our TCP, as one [`Machine`] (see the
/// [module documentation](self)).
///
/// Stream offsets are counted in 32-bit sequence space: segments of a stream longer than
/// 2 GiB are still sent right, but explained less well.
#[derive(Clone, Debug)]
pub struct OverTcp<U: StreamApp>
where
    U::Event: Clone,
{
    tcp: Tcp,
    app: U,
    /// The state as the last transition reported it.
    shown: StackState<U::State>,
    out: VecDeque<StackOutput<U>>,
    tcp_wake: Option<Instant>,
    app_wake: Option<Instant>,
    /// Where the data TCP delivers comes from: the sender of the last segment.
    peer: Option<SocketAddr>,
    /// This connection's initial send sequence number, learnt from our SYN: stream
    /// offset 0 is ISS+1 (RFC 9293 §3.4).
    iss: Option<u32>,
    /// The application's writes not yet acknowledged, in stream order.
    written: VecDeque<Written>,
    /// Bytes the application has written on this connection.
    stream_len: u64,
    /// The stream offset past the last byte that went on the wire at least once.
    sent_up_to: u64,
    /// TCP's CLOSE was called for the application (it is called once).
    close_requested: bool,
}

impl<U: StreamApp> OverTcp<U>
where
    U::Event: Clone,
{
    /// `app` over `tcp`. Give TCP `listen` or `connect <ip:port>` to start.
    pub fn new(tcp: Tcp, app: U) -> Self {
        let shown = Layers { upper: app.state(), lower: tcp.state() };
        OverTcp {
            tcp,
            app,
            shown,
            out: VecDeque::new(),
            tcp_wake: None,
            app_wake: None,
            peer: None,
            iss: None,
            written: VecDeque::new(),
            stream_len: 0,
            sent_up_to: 0,
            close_requested: false,
        }
    }

    pub fn tcp(&self) -> &Tcp {
        &self.tcp
    }

    pub fn app(&self) -> &U {
        &self.app
    }

    fn app_error(e: U::Error) -> StackError<U::Error> {
        StackError::App { protocol: U::PROTOCOL, error: e }
    }

    /// Moves every output of both layers along until both are idle: TCP's segments,
    /// transitions, events and metrics out; its data and notices into the application;
    /// the application's bytes into TCP. Returns the first error on the way.
    fn pump(&mut self, now: Instant) -> Result<(), StackError<U::Error>> {
        let mut first = None;
        loop {
            let mut moved = self.drain_tcp(now, &mut first);
            loop {
                match self.app.poll_output(now) {
                    Output::Idle { wake_at } => {
                        self.app_wake = wake_at;
                        break;
                    }
                    o => {
                        moved = true;
                        if let Err(e) = self.on_app_output(now, o) {
                            first.get_or_insert(e);
                        }
                        // What the application's output made TCP send goes out before the
                        // application's next output: its 101 before its OPEN.
                        self.drain_tcp(now, &mut first);
                    }
                }
            }
            if !moved {
                break;
            }
        }
        self.forget_acknowledged();
        first.map_or(Ok(()), Err)
    }

    /// Takes TCP's outputs until it is idle; true if there were any.
    fn drain_tcp(&mut self, now: Instant, first: &mut Option<StackError<U::Error>>) -> bool {
        let mut moved = false;
        loop {
            match self.tcp.poll_output(now) {
                Output::Idle { wake_at } => {
                    self.tcp_wake = wake_at;
                    return moved;
                }
                o => {
                    moved = true;
                    if let Err(e) = self.on_tcp_output(now, o) {
                        first.get_or_insert(e);
                    }
                }
            }
        }
    }

    fn on_tcp_output(&mut self, now: Instant, o: Output<TcpState, TcpEvent>) -> Result<(), StackError<U::Error>> {
        match o {
            Output::Transmit(t) => {
                let t = self.explain(t);
                self.out.push_back(Output::Transmit(t));
            }
            Output::Transition(t) => {
                if matches!(t.from, TcpState::Closed | TcpState::Listen)
                    && matches!(t.to, TcpState::SynSent | TcpState::SynReceived)
                {
                    // A new connection: a new stream.
                    self.written.clear();
                    (self.stream_len, self.sent_up_to, self.close_requested) = (0, 0, false);
                }
                let from = self.shown;
                self.shown.lower = t.to;
                self.out.push_back(Output::Transition(Transition { from, to: self.shown, cause: t.cause, rfc: t.rfc }));
            }
            Output::Event(TcpEvent::Data(bytes)) => {
                let from = self.peer.unwrap_or(self.tcp.config().local);
                return self.app.handle_input(now, Input::Receive { from, bytes: &bytes }).map_err(Self::app_error);
            }
            Output::Event(e) => {
                let notice = e.clone();
                self.out.push_back(Output::Event(StackEvent::Tcp(e)));
                let r = match notice {
                    TcpEvent::Connected => self.app.on_connected(now),
                    TcpEvent::PeerClosed => self.app.on_peer_closed(now),
                    TcpEvent::Closed | TcpEvent::Reset | TcpEvent::TimedOut => self.app.on_transport_lost(now),
                    TcpEvent::Data(_) => Ok(()),
                };
                return r.map_err(Self::app_error);
            }
            Output::Metric(m) => self.out.push_back(Output::Metric(m)),
            Output::Idle { .. } => {}
        }
        Ok(())
    }

    fn on_app_output(&mut self, now: Instant, o: Output<U::State, U::Event>) -> Result<(), StackError<U::Error>> {
        match o {
            Output::Transmit(t) => {
                if t.bytes.is_empty() {
                    return Ok(());
                }
                let len = t.bytes.len();
                // The SEND call (RFC 9293 §3.10.2): TCP queues the bytes and segments them.
                self.tcp
                    .handle_input(now, Input::Command(TcpCommand::Send(t.bytes.clone())))
                    .map_err(|why| StackError::Unsent { protocol: U::PROTOCOL, len, why })?;
                self.written.push_back(Written {
                    start: self.stream_len,
                    bytes: t.bytes,
                    reason: t.reason,
                    rfc: t.rfc,
                });
                self.stream_len += len as u64;
            }
            Output::Transition(t) => {
                let from = self.shown;
                self.shown.upper = t.to;
                self.out.push_back(Output::Transition(Transition { from, to: self.shown, cause: t.cause, rfc: t.rfc }));
            }
            Output::Event(e) => {
                let close = U::wants_transport_close(&e);
                self.out.push_back(Output::Event(StackEvent::App { protocol: U::PROTOCOL, event: e }));
                if close {
                    return self.close_transport(now);
                }
            }
            Output::Metric(m) => self.out.push_back(Output::Metric(m)),
            Output::Idle { .. } => {}
        }
        Ok(())
    }

    /// TCP's CLOSE for the application, once, and only while there is something to close
    /// (RFC 9293 §3.10.4).
    fn close_transport(&mut self, now: Instant) -> Result<(), StackError<U::Error>> {
        if std::mem::replace(&mut self.close_requested, true) {
            return Ok(());
        }
        use TcpState::*;
        if !matches!(self.tcp.state(), Listen | SynSent | SynReceived | Established | CloseWait) {
            return Ok(());
        }
        self.tcp.handle_input(now, Input::Command(TcpCommand::Close)).map_err(StackError::Tcp)
    }

    /// The stream offset of sequence number `seq` on this connection.
    fn offset_of(&self, seq: u32) -> Option<u64> {
        self.iss.map(|iss| u64::from(seq.wrapping_sub(iss.wrapping_add(1))))
    }

    /// The parts of the application's writes that `len` payload bytes at stream offset
    /// `off` carry.
    fn pieces(&self, off: u64, len: usize) -> Vec<Piece<'_>> {
        let end = off + len as u64;
        self.written
            .iter()
            .filter(|w| w.start < end && w.end() > off)
            .map(|w| {
                let (from, to) = (w.start.max(off), w.end().min(end));
                Piece {
                    at: (from - off) as usize,
                    len: (to - from) as usize,
                    message: &w.bytes,
                    skip: (from - w.start) as usize,
                }
            })
            .collect()
    }

    /// Adds to a segment's reason why the application sent what it carries; a first
    /// transmission takes the application's RFC section (the rule that made it send),
    /// a retransmission keeps TCP's.
    fn explain(&mut self, mut t: Transmit) -> Transmit {
        let Ok(seg) = Segment::parse(&t.bytes) else { return t };
        if seg.flags.contains(Flags::SYN) {
            self.iss = Some(seg.seq);
        }
        if seg.payload.is_empty() {
            return t;
        }
        let Some(off) = self.offset_of(seg.seq) else { return t };
        let end = off + seg.payload.len() as u64;
        let first_time = end > self.sent_up_to;
        self.sent_up_to = self.sent_up_to.max(end);
        let writes: Vec<&Written> = self.written.iter().filter(|w| w.start < end && w.end() > off).collect();
        let why = match writes.as_slice() {
            [] => return t,
            [w] => w.reason.to_string(),
            [w, rest @ ..] => format!("{} (and {} more)", w.reason, rest.len()),
        };
        // The rule behind the first write that starts here, else behind the one continued.
        let rule = writes.iter().find(|w| w.start >= off).or(writes.first()).and_then(|w| w.rfc.clone());
        t.reason = format!("{} — {}: {why}", t.reason, U::PROTOCOL).into();
        if first_time && rule.is_some() {
            t.rfc = rule;
        }
        t
    }

    /// Drops the writes TCP has had acknowledged: they will not be sent again.
    fn forget_acknowledged(&mut self) {
        let (Some(iss), Some((snd_una, _, _))) = (self.iss, self.tcp.sequence_variables()) else { return };
        let acked = snd_una.wrapping_sub(iss.wrapping_add(1));
        // Before the SYN is acknowledged, SND.UNA = ISS: "-1".
        if (acked as i32) <= 0 {
            return;
        }
        let acked = u64::from(acked);
        while self.written.front().is_some_and(|w| w.end() <= acked) {
            self.written.pop_front();
        }
    }
}

/// The summary an application's annotation gives, with its protocol named unless it
/// already is (outside any quoted payload): `WebSocket Text "hi" (masked, 2 bytes)`,
/// `GET / HTTP/1.1`, `HTTP/1.1 200 OK (13 bytes)`.
fn app_summary(a: &Annotation, protocol: &str) -> String {
    let name = if a.protocol.is_empty() { protocol } else { a.protocol.as_str() };
    let unquoted = a.summary.split('"').next().unwrap_or_default();
    if unquoted.contains(name) { a.summary.clone() } else { format!("{name} {}", a.summary) }
}

/// TCP's annotation of a segment, with its payload explained by the application: one
/// field per application write (a part of one, if the write is split across segments),
/// the application's own fields one level deeper, shifted past the TCP header.
fn layered_annotation<U: StreamApp>(bytes: &[u8], seg: &Segment, pieces: &[Piece<'_>]) -> Annotation {
    let mut a = wire::annotate(bytes);
    if pieces.is_empty() {
        return a;
    }
    let hl = seg.header_len();
    // The generic "Data" field gives way to the application's view of the same bytes.
    a.fields.retain(|f| !(f.name == "Data" && f.start == hl));
    let data = |from: usize, to: usize| {
        let preview: String = String::from_utf8_lossy(&seg.payload[from..to]).chars().take(40).collect();
        Field::new(
            "Data",
            hl + from,
            to - from,
            format!("{preview:?}"),
            format!("{} bytes written to TCP directly, not by {}", to - from, U::PROTOCOL),
        )
    };
    let mut summaries = Vec::new();
    let mut errors = Vec::new();
    let mut next = 0;
    for p in pieces {
        if p.at > next {
            a.fields.push(data(next, p.at));
        }
        let ann = U::annotate(p.message);
        let name = if ann.protocol.is_empty() { U::PROTOCOL.to_string() } else { ann.protocol.clone() };
        let what = app_summary(&ann, U::PROTOCOL);
        let total = p.message.len();
        let (continued, continues) = (p.skip > 0, p.skip + p.len < total);
        let (value, meaning) = match (continued, continues) {
            (false, false) => (what, format!("a {} message of {total} bytes, whole in this segment", U::PROTOCOL)),
            (false, true) => (
                format!("{what} (continued in the next segment)"),
                format!("the first {} of the {total} bytes of a {} message: TCP split it", p.len, U::PROTOCOL),
            ),
            (true, false) => (
                format!("{what} (end)"),
                format!(
                    "the last {} of the {total} bytes of a {} message that began in an earlier segment",
                    p.len,
                    U::PROTOCOL
                ),
            ),
            (true, true) => (
                format!("{what} (middle part)"),
                format!("bytes {}–{} of a {total}-byte {} message", p.skip, p.skip + p.len - 1, U::PROTOCOL),
            ),
        };
        let base = hl + p.at;
        a.fields.push(Field::new(name, base, p.len, value.clone(), meaning));
        for f in &ann.fields {
            let (from, to) = (f.start.max(p.skip), (f.start + f.len).min(p.skip + p.len));
            if from >= to {
                continue;
            }
            let mut g = f.clone();
            g.start = base + (from - p.skip);
            g.len = to - from;
            g.depth = f.depth.saturating_add(1);
            if (from, to) != (f.start, f.start + f.len) {
                g.meaning = format!("{} (only part of this field is in this segment)", f.meaning);
            }
            a.fields.push(g);
        }
        if let Some(e) = ann.error {
            errors.push(e);
        }
        summaries.push(value);
        next = p.at + p.len;
    }
    if next < seg.payload.len() {
        a.fields.push(data(next, seg.payload.len()));
    }
    let app = match summaries.as_slice() {
        [one] => one.clone(),
        [one, two] => format!("{one} + {two}"),
        [one, rest @ ..] => format!("{one} + {} more", rest.len()),
        [] => String::new(),
    };
    // The frame is a TCP segment: `protocol` stays "TCP" (what exports and tools go by);
    // the summary and the fields say what it carries.
    a.summary = format!("{app} · {}", a.summary);
    if let Some(e) = errors.first() {
        a.error = Some(format!("{}: {e}", U::PROTOCOL));
    }
    a
}

impl<U: StreamApp> Machine for OverTcp<U>
where
    U::Event: Clone,
{
    type State = StackState<U::State>;
    type Command = StackCommand<U::Command>;
    type Event = StackEvent<U::Event>;
    type Error = StackError<U::Error>;

    fn state(&self) -> Self::State {
        Layers { upper: self.app.state(), lower: self.tcp.state() }
    }

    fn handle_input(&mut self, now: Instant, input: Input<'_, Self::Command>) -> Result<(), Self::Error> {
        let r = match input {
            Input::Receive { from, bytes } => {
                self.peer = Some(from);
                self.tcp.handle_input(now, Input::Receive { from, bytes }).map_err(StackError::Tcp)
            }
            Input::Command(StackCommand::Tcp(c)) => {
                self.tcp.handle_input(now, Input::Command(c)).map_err(StackError::Tcp)
            }
            Input::Command(StackCommand::App(c)) => {
                self.app.handle_input(now, Input::Command(c)).map_err(Self::app_error)
            }
            Input::Timeout => {
                let mut r = Ok(());
                if self.tcp_wake.is_some_and(|w| w <= now) {
                    self.tcp_wake = None;
                    r = self.tcp.handle_input(now, Input::Timeout).map_err(StackError::Tcp);
                }
                if self.app_wake.is_some_and(|w| w <= now) {
                    self.app_wake = None;
                    let a = self.app.handle_input(now, Input::Timeout).map_err(Self::app_error);
                    r = r.and(a);
                }
                r
            }
        };
        // Whatever the input set off in either layer runs to the end, error or not.
        let pumped = self.pump(now);
        r.and(pumped)
    }

    fn poll_output(&mut self, _now: Instant) -> Output<Self::State, Self::Event> {
        self.out
            .pop_front()
            .unwrap_or(Output::Idle { wake_at: [self.tcp_wake, self.app_wake].into_iter().flatten().min() })
    }

    /// The application's commands once TCP is connected, then TCP's (but not `send`,
    /// `send-bulk` and `read`, which would write or read under the application; they are
    /// there for typing, after `tcp `).
    fn suggested_commands(&self) -> Vec<Self::Command> {
        let mut v = Vec::new();
        if self.tcp.state().is_synchronized() {
            v.extend(self.app.suggested_commands().into_iter().map(StackCommand::App));
        }
        v.extend(
            self.tcp
                .suggested_commands()
                .into_iter()
                .filter(|c| !matches!(c, TcpCommand::Send(_) | TcpCommand::SendBulk(_) | TcpCommand::Read(_)))
                .map(StackCommand::Tcp),
        );
        v
    }

    /// A segment on its own: the payload is taken to be one whole application message.
    fn annotate(bytes: &[u8]) -> Annotation {
        let Ok(seg) = Segment::parse(bytes) else { return wire::annotate(bytes) };
        if seg.payload.is_empty() {
            return wire::annotate(bytes);
        }
        let piece = Piece { at: 0, len: seg.payload.len(), message: &seg.payload, skip: 0 };
        layered_annotation::<U>(bytes, &seg, &[piece])
    }

    /// A segment this node sent: its payload cut along the application's writes, so a
    /// message split across segments is named in each ("continued in the next segment").
    /// The application's diagrams above TCP's, in the order the state prints its layers.
    fn diagrams(&self) -> Vec<wirelab_core::StateDiagram> {
        let mut v = self.app.diagrams();
        v.extend(self.tcp.diagrams());
        v
    }

    fn annotate_sent(&self, bytes: &[u8]) -> Annotation {
        let Ok(seg) = Segment::parse(bytes) else { return wire::annotate(bytes) };
        if seg.payload.is_empty() {
            return wire::annotate(bytes);
        }
        let pieces = match self.offset_of(seg.seq) {
            Some(off) if !seg.flags.contains(Flags::SYN) => self.pieces(off, seg.payload.len()),
            _ => Vec::new(),
        };
        layered_annotation::<U>(bytes, &seg, &pieces)
    }
}
