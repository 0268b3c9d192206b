//! WebRTC signalling: `POST /signal/rooms` makes a room id (128 bits from the operating
//! system's random source) and `GET /signal` upgrades to a WebSocket speaking
//! `wirelab-signal`'s JSON messages. The room logic is that crate's sans-IO [`Hub`]; this
//! module only moves its messages between sockets.

use axum::extract::State;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::mpsc;
use wirelab_signal::hub::{ConnId, Hub, Limits};

/// The hub and, for each connection, where to send what the hub says to it.
#[derive(Clone, Debug)]
pub struct Signalling {
    inner: Arc<Mutex<Inner>>,
    next_conn: Arc<AtomicU64>,
    started: std::time::Instant,
}

#[derive(Debug)]
struct Inner {
    hub: Hub,
    outboxes: HashMap<ConnId, mpsc::UnboundedSender<String>>,
}

impl Default for Signalling {
    fn default() -> Self {
        Self::new(Limits::default())
    }
}

impl Signalling {
    pub fn new(limits: Limits) -> Self {
        Signalling {
            inner: Arc::new(Mutex::new(Inner { hub: Hub::new(limits), outboxes: HashMap::new() })),
            next_conn: Arc::new(AtomicU64::new(1)),
            started: std::time::Instant::now(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // Each hub call completes its own bookkeeping before returning, so after a panic
        // elsewhere the state is still consistent: use it.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Runs `f` on the hub, then delivers everything it queued.
    fn with_hub<R>(&self, f: impl FnOnce(&mut Hub) -> R) -> R {
        let mut inner = self.lock();
        let r = f(&mut inner.hub);
        while let Some((conn, msg)) = inner.hub.poll() {
            if let Some(tx) = inner.outboxes.get(&conn) {
                let _ = tx.send(msg.to_json());
            }
        }
        r
    }

    fn now(&self) -> wirelab_core::Instant {
        wirelab_core::Instant::from_micros(self.started.elapsed().as_micros() as u64)
    }
}

/// `POST /signal/rooms`: a new room id, as `{"room": "…"}`.
pub async fn create_room() -> Response {
    let mut bytes = [0u8; 16];
    if let Err(e) = getrandom::fill(&mut bytes) {
        tracing::error!("no randomness for a room id: {e}");
        return (StatusCode::INTERNAL_SERVER_ERROR, "no randomness available\n").into_response();
    }
    let room = Hub::create_room(bytes);
    axum::Json(serde_json::json!({ "room": room.to_string() })).into_response()
}

/// `GET /signal`: one peer's signalling connection.
pub async fn upgrade(
    State(sig): State<Signalling>,
    State(life): State<crate::Lifecycle>,
    State(origins): State<crate::origin::Origins>,
    headers: axum::http::HeaderMap,
    ws: WebSocketUpgrade,
) -> Response {
    if let Err(why) = origins.check(&headers) {
        return (StatusCode::FORBIDDEN, why + "\n").into_response();
    }
    ws.max_message_size(wirelab_signal::msg::MAX_MESSAGE_BYTES).on_upgrade(move |socket| async move {
        session(socket, sig, life.stop.clone()).await;
        drop(life);
    })
}

async fn session(mut socket: WebSocket, sig: Signalling, mut stop: tokio::sync::watch::Receiver<bool>) {
    let conn = ConnId(sig.next_conn.fetch_add(1, Ordering::Relaxed));
    let (tx, mut rx) = mpsc::unbounded_channel();
    sig.lock().outboxes.insert(conn, tx);
    sig.with_hub(|hub| hub.connect(conn));
    loop {
        tokio::select! {
            _ = stop.changed() => {
                let close = axum::extract::ws::CloseFrame { code: 1001, reason: "server shutting down".into() };
                let _ = socket.send(Message::Close(Some(close))).await;
                break;
            }
            out = rx.recv() => match out {
                Some(text) => {
                    if socket.send(Message::Text(text.into())).await.is_err() {
                        break;
                    }
                }
                None => break,
            },
            msg = socket.recv() => match msg {
                Some(Ok(Message::Text(t))) => {
                    let now = sig.now();
                    // Refusals are already queued for the sender as `error` messages.
                    if let Err(e) = sig.with_hub(|hub| hub.handle_text(now, conn, t.as_str())) {
                        tracing::debug!(%conn, "signal: {e}");
                    }
                }
                Some(Ok(Message::Binary(_))) => {
                    let now = sig.now();
                    let _ = sig.with_hub(|hub| hub.handle_text(now, conn, "binary messages are not signalling"));
                }
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
            },
        }
    }
    sig.with_hub(|hub| hub.disconnect(conn));
    sig.lock().outboxes.remove(&conn);
}
