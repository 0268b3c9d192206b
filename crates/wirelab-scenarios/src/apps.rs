//! Applications on top of the protocol machines, for the scenarios that run WebSocket and
//! HTTP over our TCP: what the program using the protocol does (echo what arrives, push
//! chat messages as they are written, poll for them), as [`Script`]s that drive a protocol
//! machine through its own commands and timers.
//!
//! [`App<I, S>`] is protocol machine `I` driven by script `S`, itself a [`Machine`] (and a
//! [`StreamApp`] when `I` is one), so it runs over TCP in
//! [`OverTcp`](wirelab_tcp::OverTcp) like the bare protocol does. Its console, states and
//! frames are `I`'s; its events are `I`'s plus the script's [`Note`]s.

use core::time::Duration;
use std::collections::{BTreeSet, VecDeque};
use std::fmt;
use wirelab_core::{Annotation, Input, Instant, Machine, Output, StreamApp};
use wirelab_http::{ClientCommand, ClientEvent, HttpClient, HttpServer};
use wirelab_ws::{CloseCode, Command as WsCommand, Event as WsEvent, Message, WebSocket};

/// What a script reports about the application's own work.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Note {
    /// The chat server has message `id` to give out from now on.
    Published { id: usize, text: String },
    /// The chat client has message `id` (the first time it sees it).
    Received { id: usize, text: String },
    /// A mail server's driver stored a message in `mailbox`'s maildrop, as `id`; its
    /// content starts with `received` `Received:` lines, one per hop (RFC 5321 §4.4).
    Stored { mailbox: String, id: String, received: usize },
    /// A mail server's driver queued a message for relay to `to` (RFC 5321 §3.6).
    Queued { to: String },
    /// A mail server's driver removed `count` messages from `mailbox` (POP3's UPDATE).
    Removed { mailbox: String, count: usize },
    /// A message arrived in `mailbox`, from outside this session (IMAP's `* n EXISTS`).
    Arrived { mailbox: String, uid: u32 },
}

impl fmt::Display for Note {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Note::Published { id, text } => write!(f, "chat #{id} published: {text:?}"),
            Note::Received { id, text } => write!(f, "chat #{id} received: {text:?}"),
            Note::Stored { mailbox, id, received } => {
                write!(f, "stored in {mailbox}'s maildrop as {id} ({received} Received: lines)")
            }
            Note::Queued { to } => write!(f, "queued for relay to {to}"),
            Note::Removed { mailbox, count } => write!(f, "removed {count} messages from {mailbox}'s maildrop"),
            Note::Arrived { mailbox, uid } => write!(f, "a new message (UID {uid}) arrived in {mailbox}"),
        }
    }
}

/// The events of an [`App`]: the protocol's, and the script's notes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AppEvent<E> {
    Protocol(E),
    Note(Note),
}

impl<E: fmt::Display> fmt::Display for AppEvent<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AppEvent::Protocol(e) => e.fmt(f),
            AppEvent::Note(n) => n.fmt(f),
        }
    }
}

/// What a program does with protocol machine `I`: it hears `I`'s events and its own
/// timer, and answers with `I`'s commands. Commands `I` refuses (say, a message after a
/// Close was sent) are dropped: there is nobody to send them to any more.
pub trait Script<I: Machine>: Clone + fmt::Debug {
    /// The stream under `I` is open (after `I` has heard so).
    fn on_connected(&mut self, _now: Instant, _inner: &mut I) {}
    /// `I` reported `event`.
    fn on_event(&mut self, now: Instant, inner: &mut I, event: &I::Event, notes: &mut Vec<Note>);
    /// When the script wants [`Script::on_timer`].
    fn wake_at(&self) -> Option<Instant> {
        None
    }
    fn on_timer(&mut self, _now: Instant, _inner: &mut I, _notes: &mut Vec<Note>) {}
}

/// Protocol machine `I` driven by script `S`.
#[derive(Clone, Debug)]
pub struct App<I: Machine, S>
where
    I::Event: Clone,
{
    inner: I,
    script: S,
    inner_wake: Option<Instant>,
    out: VecDeque<Output<I::State, AppEvent<I::Event>>>,
}

impl<I: Machine, S: Script<I>> App<I, S>
where
    I::Event: Clone,
{
    pub fn new(inner: I, script: S) -> Self {
        App { inner, script, inner_wake: None, out: VecDeque::new() }
    }

    pub fn inner(&self) -> &I {
        &self.inner
    }

    fn notes(&mut self, notes: Vec<Note>) {
        self.out.extend(notes.into_iter().map(|n| Output::Event(AppEvent::Note(n))));
    }
}

impl<I: Machine, S: Script<I>> Machine for App<I, S>
where
    I::Event: Clone,
{
    type State = I::State;
    type Command = I::Command;
    type Event = AppEvent<I::Event>;
    type Error = I::Error;

    fn state(&self) -> I::State {
        self.inner.state()
    }

    fn handle_input(&mut self, now: Instant, input: Input<'_, I::Command>) -> Result<(), I::Error> {
        match input {
            Input::Timeout => {
                if self.script.wake_at().is_some_and(|w| w <= now) {
                    let mut notes = Vec::new();
                    self.script.on_timer(now, &mut self.inner, &mut notes);
                    self.notes(notes);
                }
                if self.inner_wake.is_some_and(|w| w <= now) {
                    self.inner_wake = None;
                    return self.inner.handle_input(now, Input::Timeout);
                }
                Ok(())
            }
            input => self.inner.handle_input(now, input),
        }
    }

    fn poll_output(&mut self, now: Instant) -> Output<I::State, AppEvent<I::Event>> {
        loop {
            if let Some(o) = self.out.pop_front() {
                return o;
            }
            match self.inner.poll_output(now) {
                Output::Event(e) => {
                    let mut notes = Vec::new();
                    self.script.on_event(now, &mut self.inner, &e, &mut notes);
                    self.out.push_back(Output::Event(AppEvent::Protocol(e)));
                    self.notes(notes);
                }
                Output::Transmit(t) => return Output::Transmit(t),
                Output::Transition(t) => return Output::Transition(t),
                Output::Metric(m) => return Output::Metric(m),
                Output::Idle { wake_at } => {
                    self.inner_wake = wake_at;
                    let wake_at = [wake_at, self.script.wake_at()].into_iter().flatten().min();
                    return Output::Idle { wake_at };
                }
            }
        }
    }

    fn suggested_commands(&self) -> Vec<I::Command> {
        self.inner.suggested_commands()
    }

    fn annotate(bytes: &[u8]) -> Annotation {
        I::annotate(bytes)
    }

    fn diagrams(&self) -> Vec<wirelab_core::StateDiagram> {
        self.inner.diagrams()
    }
}

impl<I: StreamApp, S: Script<I>> StreamApp for App<I, S>
where
    I::Event: Clone,
{
    const PROTOCOL: &'static str = I::PROTOCOL;

    fn on_connected(&mut self, now: Instant) -> Result<(), I::Error> {
        self.inner.on_connected(now)?;
        self.script.on_connected(now, &mut self.inner);
        Ok(())
    }

    fn on_peer_closed(&mut self, now: Instant) -> Result<(), I::Error> {
        self.inner.on_peer_closed(now)
    }

    fn on_transport_lost(&mut self, now: Instant) -> Result<(), I::Error> {
        self.inner.on_transport_lost(now)
    }

    fn wants_transport_close(event: &AppEvent<I::Event>) -> bool {
        matches!(event, AppEvent::Protocol(e) if I::wants_transport_close(e))
    }
}

/// A WebSocket server that sends every message back as it came: text as text, binary as
/// binary (the behaviour of the backend's `/ws` echo).
#[derive(Clone, Copy, Debug, Default)]
pub struct Echo;

impl Script<WebSocket> for Echo {
    fn on_event(&mut self, now: Instant, ws: &mut WebSocket, event: &WsEvent, _notes: &mut Vec<Note>) {
        let echo = match event {
            WsEvent::Message(Message::Text(t)) => WsCommand::Text(t.clone()),
            WsEvent::Message(Message::Binary(b)) => WsCommand::Binary(b.clone()),
            _ => return,
        };
        // Refused only once closing has begun: then there is nobody to echo to.
        let _ = ws.handle_input(now, Input::Command(echo));
    }
}

/// The chat of `http-polling-vs-websocket`: who writes what, when.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChatScript {
    pub entries: Vec<(Instant, String)>,
}

impl ChatScript {
    /// How a chat message travels, over HTTP and WebSocket alike: `#<id> <text>`.
    pub fn line(id: usize, text: &str) -> String {
        format!("#{id} {text}")
    }

    /// The `#<id> <text>` lines in `body`, in order; anything else is skipped.
    pub fn parse_lines(body: &str) -> Vec<(usize, String)> {
        body.lines()
            .filter_map(|l| {
                let (id, text) = l.strip_prefix('#')?.split_once(' ')?;
                Some((id.parse().ok()?, text.to_string()))
            })
            .collect()
    }
}

/// Messages written so far: publishes each at its time, as a [`Note`].
#[derive(Clone, Debug)]
struct Publisher {
    script: ChatScript,
    next: usize,
}

impl Publisher {
    fn wake_at(&self) -> Option<Instant> {
        self.script.entries.get(self.next).map(|e| e.0)
    }

    /// The messages due by `now`, noted as published.
    fn due(&mut self, now: Instant, notes: &mut Vec<Note>) -> Vec<(usize, String)> {
        let mut due = Vec::new();
        while let Some((at, text)) = self.script.entries.get(self.next) {
            if *at > now {
                break;
            }
            notes.push(Note::Published { id: self.next, text: text.clone() });
            due.push((self.next, text.clone()));
            self.next += 1;
        }
        due
    }

    fn done(&self) -> bool {
        self.next >= self.script.entries.len()
    }
}

/// A chat server over WebSocket: pushes each message to the client the moment it is
/// written (a Text frame `#<id> <text>`), and closes with 1000 after the last one.
#[derive(Clone, Debug)]
pub struct Push {
    publisher: Publisher,
    unsent: VecDeque<(usize, String)>,
    closed: bool,
}

impl Push {
    pub fn new(script: ChatScript) -> Self {
        Push { publisher: Publisher { script, next: 0 }, unsent: VecDeque::new(), closed: false }
    }

    /// Sends what waits, if the connection is open (messages written during the opening
    /// handshake wait for it), then the Close once all is said.
    fn flush(&mut self, now: Instant, ws: &mut WebSocket) {
        if !ws.can_send() {
            return;
        }
        while let Some((id, text)) = self.unsent.pop_front() {
            let _ = ws.handle_input(now, Input::Command(WsCommand::Text(ChatScript::line(id, &text))));
        }
        if self.publisher.done() && !std::mem::replace(&mut self.closed, true) {
            let close = WsCommand::Close(Some(CloseCode::NORMAL), "end of chat".into());
            let _ = ws.handle_input(now, Input::Command(close));
        }
    }
}

impl Script<WebSocket> for Push {
    fn on_event(&mut self, now: Instant, ws: &mut WebSocket, event: &WsEvent, _notes: &mut Vec<Note>) {
        if matches!(event, WsEvent::Open { .. }) {
            self.flush(now, ws);
        }
    }

    fn wake_at(&self) -> Option<Instant> {
        self.publisher.wake_at()
    }

    fn on_timer(&mut self, now: Instant, ws: &mut WebSocket, notes: &mut Vec<Note>) {
        self.unsent.extend(self.publisher.due(now, notes));
        self.flush(now, ws);
    }
}

/// A chat client over WebSocket: notes each `#<id> <text>` message the first time.
#[derive(Clone, Debug, Default)]
pub struct Listen {
    have: BTreeSet<usize>,
}

impl Script<WebSocket> for Listen {
    fn on_event(&mut self, _now: Instant, _ws: &mut WebSocket, event: &WsEvent, notes: &mut Vec<Note>) {
        if let WsEvent::Message(Message::Text(t)) = event {
            for (id, text) in ChatScript::parse_lines(t) {
                if self.have.insert(id) {
                    notes.push(Note::Received { id, text });
                }
            }
        }
    }
}

/// A chat server over HTTP: its site serves the chat as a
/// [`Route::Feed`](wirelab_http::Route::Feed); this script only notes each message as it
/// is written, at the same instants the feed starts to list it.
#[derive(Clone, Debug)]
pub struct Publish {
    publisher: Publisher,
}

impl Publish {
    pub fn new(script: ChatScript) -> Self {
        Publish { publisher: Publisher { script, next: 0 } }
    }
}

impl Script<HttpServer> for Publish {
    fn on_event(
        &mut self,
        _now: Instant,
        _http: &mut HttpServer,
        _event: &wirelab_http::ServerEvent,
        _: &mut Vec<Note>,
    ) {
    }

    fn wake_at(&self) -> Option<Instant> {
        self.publisher.wake_at()
    }

    fn on_timer(&mut self, now: Instant, _http: &mut HttpServer, notes: &mut Vec<Note>) {
        self.publisher.due(now, notes);
    }
}

/// A chat client over HTTP: once connected, `GET <path>?since=<n>` every `period`, `polls`
/// times, on the one persistent connection (RFC 9112 §9.3), where `n` is the first message
/// it does not have; notes each new message; closes when the last poll is answered.
/// Polls go out on time even if an answer is late: they are pipelined (RFC 9112 §9.3.2).
#[derive(Clone, Debug)]
pub struct Poll {
    path: String,
    period: Duration,
    polls: u32,
    made: u32,
    next_at: Option<Instant>,
    have: BTreeSet<usize>,
    closed: bool,
}

impl Poll {
    pub fn new(path: &str, period: Duration, polls: u32) -> Self {
        Poll { path: path.into(), period, polls, made: 0, next_at: None, have: BTreeSet::new(), closed: false }
    }

    fn first_missing(&self) -> usize {
        (0..).find(|i| !self.have.contains(i)).unwrap_or(0)
    }

    fn maybe_close(&mut self, now: Instant, http: &mut HttpClient) {
        if self.made >= self.polls && http.outstanding() == 0 && !std::mem::replace(&mut self.closed, true) {
            let _ = http.handle_input(now, Input::Command(ClientCommand::Close));
        }
    }
}

impl Script<HttpClient> for Poll {
    fn on_connected(&mut self, now: Instant, _http: &mut HttpClient) {
        if self.made == 0 && self.polls > 0 {
            self.next_at = Some(now + self.period);
        }
    }

    fn on_event(&mut self, now: Instant, http: &mut HttpClient, event: &ClientEvent, notes: &mut Vec<Note>) {
        match event {
            ClientEvent::Response { request, status: 200, body, .. } if request.starts_with("GET ") => {
                for (id, text) in ChatScript::parse_lines(&String::from_utf8_lossy(body)) {
                    if self.have.insert(id) {
                        notes.push(Note::Received { id, text });
                    }
                }
                self.maybe_close(now, http);
            }
            ClientEvent::CloseConnection => self.next_at = None,
            _ => {}
        }
    }

    fn wake_at(&self) -> Option<Instant> {
        self.next_at
    }

    fn on_timer(&mut self, now: Instant, http: &mut HttpClient, _notes: &mut Vec<Note>) {
        let Some(at) = self.next_at else { return };
        let get = ClientCommand::Get(format!("{}?since={}", self.path, self.first_missing()));
        if http.handle_input(now, Input::Command(get)).is_err() {
            self.next_at = None;
            return;
        }
        self.made += 1;
        self.next_at = (self.made < self.polls).then(|| at + self.period);
    }
}
