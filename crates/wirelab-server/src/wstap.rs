//! `/ws`: a WebSocket echo served by our own RFC 6455 machine (`wirelab-ws`) on the raw
//! TCP stream, so the server knows every byte that crossed the wire, and the wire tap
//! that reports those bytes.
//!
//! A browser opens `/ws?tap=ID` (ID: 16 to 64 of `A-Z a-z 0-9 _ -`, chosen at random by
//! the page) and, on a second connection, `/ws/tap/ID`; the second receives, as JSON
//! [`TapEvent`]s, the exact upgrade request, the exact response and every frame of the
//! first. Reports that arrive before the reader connects are kept (up to
//! [`MAX_HISTORY`]) and replayed to it.

use crate::drive::{Connection, DriveLimits, Step, drive};
use crate::front::Sniffed;
use axum::extract::ws::{Message as AxMessage, WebSocket as AxWebSocket, WebSocketUpgrade};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{broadcast, mpsc, watch};
use wirelab_core::{Input, Instant, Machine};
use wirelab_ws::tap::{Direction, FrameSplitter, TapEvent, to_hex};
use wirelab_ws::{CloseCode, Command, Config, Event, Message, WebSocket, WsState};

/// Largest message the echo takes (RFC 6455 §7.4.1: bigger ones are closed with 1009).
pub const MAX_WS_MESSAGE: usize = 64 * 1024;
/// Tap channels open at once; beyond this a connection is served but not tapped.
pub const MAX_TAPS: usize = 1024;
/// Reports kept per channel for a reader that connects late.
pub const MAX_HISTORY: usize = 4096;
/// A WebSocket with no traffic for this long is closed with 1001.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(600);

/// The tap channels, by id.
#[derive(Clone, Debug, Default)]
pub struct Taps {
    inner: Arc<Mutex<HashMap<String, Channel>>>,
}

#[derive(Debug)]
struct Channel {
    history: Vec<TapEvent>,
    tx: broadcast::Sender<TapEvent>,
    /// Tapped connections currently open on this id.
    live: usize,
}

impl Taps {
    fn with<R>(&self, f: impl FnOnce(&mut HashMap<String, Channel>) -> R) -> R {
        // A panic while holding the lock cannot leave the map half-updated in a way that
        // matters (each update is one insert or push), so a poisoned lock is used as is.
        let mut map = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut map)
    }

    /// The channel for `id`, made if there is room.
    fn open(map: &mut HashMap<String, Channel>, id: &str) -> Option<()> {
        if !map.contains_key(id) {
            if map.len() >= MAX_TAPS {
                return None;
            }
            let (tx, _) = broadcast::channel(1024);
            map.insert(id.to_string(), Channel { history: Vec::new(), tx, live: 0 });
        }
        Some(())
    }

    fn attach(&self, id: &str) -> bool {
        self.with(|m| Self::open(m, id).and_then(|()| m.get_mut(id)).map(|c| c.live += 1).is_some())
    }

    fn detach(&self, id: &str) {
        self.with(|m| {
            if let Some(c) = m.get_mut(id) {
                c.live = c.live.saturating_sub(1);
                if c.live == 0 && c.tx.receiver_count() == 0 {
                    m.remove(id);
                }
            }
        });
    }

    fn publish_to(&self, id: Option<&str>, e: TapEvent) {
        if let Some(id) = id {
            self.publish(id, e);
        }
    }

    fn publish(&self, id: &str, e: TapEvent) {
        self.with(|m| {
            if let Some(c) = m.get_mut(id) {
                if c.history.len() < MAX_HISTORY {
                    c.history.push(e.clone());
                }
                let _ = c.tx.send(e);
            }
        });
    }

    /// What was reported so far and a receiver for what comes next, with no gap between.
    fn subscribe(&self, id: &str) -> Option<(Vec<TapEvent>, broadcast::Receiver<TapEvent>)> {
        self.with(|m| {
            Self::open(m, id)?;
            m.get(id).map(|c| (c.history.clone(), c.tx.subscribe()))
        })
    }

    fn unsubscribe(&self, id: &str) {
        self.with(|m| {
            if m.get(id).is_some_and(|c| c.live == 0 && c.tx.receiver_count() == 0) {
                m.remove(id);
            }
        });
    }

    /// Channels open now (for tests and logs).
    pub fn len(&self) -> usize {
        self.with(|m| m.len())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A tap id: 16 to 64 characters from the URL-safe alphabet.
pub fn valid_tap_id(id: &str) -> bool {
    (16..=64).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The `tap` query parameter of a request target, if valid.
pub fn tap_id_of(target: &str) -> Option<String> {
    let query = target.split_once('?')?.1;
    query.split('&').find_map(|kv| kv.strip_prefix("tap=")).filter(|id| valid_tap_id(id)).map(str::to_string)
}

/// Whether the front door should give this connection to [`serve`].
pub fn wants(s: &Sniffed) -> bool {
    matches!(s.request_line(), Some(("GET", target)) if target == "/ws" || target.starts_with("/ws?"))
        && s.is_websocket_upgrade()
}

/// One `/ws` connection: our machine, echoing, with every byte reported to the tap.
struct Echo {
    ws: WebSocket,
    taps: Taps,
    id: Option<String>,
    start: std::time::Instant,
    answered: bool,
    inbound: FrameSplitter,
    outbound: FrameSplitter,
}

impl Echo {
    fn ms(&self) -> f64 {
        self.start.elapsed().as_secs_f64() * 1e3
    }

    fn publish(&self, e: TapEvent) {
        self.taps.publish_to(self.id.as_deref(), e);
    }

    fn close(&mut self, now: Instant, why: &str) -> Step {
        // RFC 6455 §7.4.1: 1001, "an endpoint is going away, such as a server going down".
        let _ = self.ws.handle_input(now, Input::Command(Command::Close(Some(CloseCode::GOING_AWAY), why.into())));
        Step::Continue
    }
}

/// Text messages the echo obeys instead of echoing back, because a page's WebSocket API
/// cannot send a Ping, nor a Close with a code other than 1000 or 3000–4999: `/ping
/// [payload]` makes the server send a Ping (the browser answers Pong by itself, RFC 6455
/// §5.5.2), `/close CODE [reason]` makes it start the closing handshake with that code,
/// `/fragmented N text` makes it send a message in N frames (§5.4). The grammar is the
/// machine's own command grammar.
pub fn server_command(text: &str) -> Option<Command> {
    let cmd: Command = text.strip_prefix('/')?.parse().ok()?;
    matches!(cmd, Command::Ping(_) | Command::Close(..) | Command::Fragmented(..)).then_some(cmd)
}

impl Connection for Echo {
    type M = WebSocket;

    fn machine(&mut self) -> &mut WebSocket {
        &mut self.ws
    }

    fn on_event(&mut self, now: Instant, event: Event) -> Step {
        match event {
            Event::Message(m) => {
                let reply = match m {
                    Message::Text(s) => server_command(&s).unwrap_or(Command::Text(s)),
                    Message::Binary(b) => Command::Binary(b),
                };
                // Refused once closing has begun (nothing to echo to), or a close code no
                // endpoint may send (RFC 6455 §7.4.1): then say so instead.
                if let Err(e) = self.ws.handle_input(now, Input::Command(reply)) {
                    let _ = self.ws.handle_input(now, Input::Command(Command::Text(format!("refused: {e}"))));
                }
                Step::Continue
            }
            Event::CloseTransport => Step::Close,
            e @ (Event::Failed { .. } | Event::Closed { .. }) => {
                tracing::debug!("ws: {e}");
                Step::Continue
            }
            _ => Step::Continue,
        }
    }

    fn on_eof(&mut self, _now: Instant) -> Step {
        Step::Close
    }

    fn on_stop(&mut self, now: Instant) -> Step {
        self.close(now, "server shutting down")
    }

    fn on_idle(&mut self, now: Instant) -> Step {
        if self.ws.state() == WsState::Open { self.close(now, "idle for too long") } else { Step::Close }
    }

    fn on_read(&mut self, _now: Instant, bytes: &[u8]) {
        // Nobody listens on an untapped connection: no frames to split and show.
        if self.answered && self.id.is_some() {
            let at = self.ms();
            for e in self.inbound.push(at, bytes) {
                self.publish(e);
            }
        }
    }

    fn on_write(&mut self, _now: Instant, bytes: &[u8]) {
        if self.id.is_none() {
            return;
        }
        let at = self.ms();
        if self.answered {
            for e in self.outbound.push(at, bytes) {
                self.publish(e);
            }
        } else {
            self.answered = true;
            self.publish(TapEvent::Response { at_ms: at, hex: to_hex(bytes) });
        }
    }
}

/// Serves one WebSocket connection with our machine, echoing text and binary messages,
/// until it closes, fails, idles out or the server stops (Close 1001 "going away").
/// `_alive` is held until the connection is gone, so shutdown can wait for it.
pub async fn serve(sniffed: Sniffed, taps: Taps, stop: watch::Receiver<bool>, _alive: mpsc::Sender<()>) {
    let id = sniffed.request_line().and_then(|(_, target)| tap_id_of(target)).filter(|id| taps.attach(id));
    let Sniffed { stream, peer, local, head } = sniffed;
    let mut config = Config::server(local, peer, 0);
    config.max_message = MAX_WS_MESSAGE;
    let mut echo = Echo {
        ws: WebSocket::new(config),
        taps: taps.clone(),
        id: id.clone(),
        start: std::time::Instant::now(),
        answered: false,
        inbound: FrameSplitter::new(Direction::In),
        outbound: FrameSplitter::new(Direction::Out),
    };
    if id.is_some() {
        let head_end = head.windows(4).position(|w| w == b"\r\n\r\n").map_or(head.len(), |p| p + 4);
        echo.publish(TapEvent::Request { at_ms: 0.0, hex: to_hex(&head[..head_end]) });
        for e in echo.inbound.push(0.0, &head[head_end..]) {
            echo.publish(e);
        }
    }
    // A bad handshake is answered by the machine itself (400 or 426) when `drive` starts.
    let _ = echo.ws.handle_input(Instant::ZERO, Input::Receive { from: peer, bytes: &head });
    // Not kept for the connection's lifetime: the machine has what it needs.
    drop(head);
    let limits = DriveLimits { idle: IDLE_TIMEOUT, ..DriveLimits::default() };
    let start = echo.start;
    drive(stream, peer, echo, limits, stop).await;
    taps.publish_to(id.as_deref(), TapEvent::Closed { at_ms: start.elapsed().as_secs_f64() * 1e3 });
    if let Some(id) = &id {
        taps.detach(id);
    }
}

/// `GET /ws/tap/{id}`: the reports for connection `id`, as JSON text messages.
pub async fn feed(State(taps): State<Taps>, Path(id): Path<String>, ws: WebSocketUpgrade) -> Response {
    if !valid_tap_id(&id) {
        return (StatusCode::BAD_REQUEST, "a tap id is 16 to 64 of A-Z a-z 0-9 _ -\n").into_response();
    }
    ws.on_upgrade(move |socket| send_reports(socket, taps, id))
}

async fn send_reports(mut socket: AxWebSocket, taps: Taps, id: String) {
    let Some((history, mut rx)) = taps.subscribe(&id) else {
        let _ = socket.send(AxMessage::Text("{\"kind\":\"error\",\"why\":\"too many taps open\"}".into())).await;
        return;
    };
    let send = |e: &TapEvent| serde_json::to_string(e).map(|s| AxMessage::Text(s.into()));
    for e in &history {
        if let Ok(m) = send(e) {
            if socket.send(m).await.is_err() {
                taps.unsubscribe(&id);
                return;
            }
        }
    }
    loop {
        tokio::select! {
            e = rx.recv() => match e {
                Ok(e) => {
                    if let Ok(m) = send(&e) {
                        if socket.send(m).await.is_err() {
                            break;
                        }
                    }
                }
                Err(broadcast::error::RecvError::Lagged(n)) => {
                    let note = format!("{{\"kind\":\"error\",\"why\":\"{n} reports skipped: the reader was too slow\"}}");
                    if socket.send(AxMessage::Text(note.into())).await.is_err() {
                        break;
                    }
                }
                Err(broadcast::error::RecvError::Closed) => break,
            },
            msg = socket.recv() => match msg {
                Some(Ok(AxMessage::Close(_))) | None | Some(Err(_)) => break,
                _ => {}
            },
        }
    }
    drop(rx);
    taps.unsubscribe(&id);
}
