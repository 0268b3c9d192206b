//! The WebSocket-to-TCP bridge: `GET /bridge/{service}` upgrades to a WebSocket whose
//! binary messages are the bytes of one TCP connection to one of *this* server's own
//! protocol servers (HTTP, later SMTP, POP3, IMAP, FTP), so the browser's Wasm client
//! machines can speak to real servers. It reaches the services named in its table and
//! nothing else: no host or port comes from the browser.
//!
//! Each WebSocket message carries bytes as they came; the TCP stream's boundaries mean
//! nothing, so the client machine buffers (as it would on a socket). When the server
//! closes its side, the bridge sends the remaining bytes and a Close 1000 "server closed
//! the connection"; when the browser closes, the bridge shuts the TCP connection down.

use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::Semaphore;

/// The largest message the browser may send through the bridge.
pub const MAX_BRIDGE_MESSAGE: usize = 64 * 1024;
/// A bridged connection with no traffic either way for this long is closed (1001).
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(300);
/// How long the bridge waits for a service to accept the TCP connection.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// The services the bridge may reach, by name, and how many bridged connections may be
/// open at once (across all services).
#[derive(Clone, Debug)]
pub struct Bridge {
    services: Arc<BTreeMap<String, SocketAddr>>,
    slots: Arc<Semaphore>,
}

impl Bridge {
    pub fn new(services: BTreeMap<String, SocketAddr>, max_connections: usize) -> Self {
        Bridge { services: Arc::new(services), slots: Arc::new(Semaphore::new(max_connections)) }
    }

    /// The services by name: `/bridge` lists them as JSON.
    pub fn services(&self) -> &BTreeMap<String, SocketAddr> {
        &self.services
    }
}

/// `GET /bridge`: the service names the bridge reaches, with their ports.
pub async fn list(State(bridge): State<Bridge>) -> Response {
    let body: BTreeMap<&str, u16> = bridge.services.iter().map(|(k, v)| (k.as_str(), v.port())).collect();
    axum::Json(body).into_response()
}

/// `GET /bridge/{service}`: refuses unknown services (404) and a full bridge (503) with
/// an HTTP status before any upgrade, so the browser's `onerror` has a reason to show.
pub async fn upgrade(
    State(bridge): State<Bridge>,
    State(life): State<crate::Lifecycle>,
    Path(service): Path<String>,
    ws: WebSocketUpgrade,
) -> Response {
    let Some(&target) = bridge.services.get(&service) else {
        let known: Vec<&str> = bridge.services.keys().map(String::as_str).collect();
        return (StatusCode::NOT_FOUND, format!("no service {service:?} on this bridge; it has {known:?}\n"))
            .into_response();
    };
    let Ok(permit) = bridge.slots.clone().try_acquire_owned() else {
        return (StatusCode::SERVICE_UNAVAILABLE, "the bridge is full; try again shortly\n").into_response();
    };
    ws.max_message_size(MAX_BRIDGE_MESSAGE).on_upgrade(move |socket| async move {
        relay(socket, &service, target, life.stop.clone()).await;
        drop((permit, life));
    })
}

fn close(code: u16, reason: &str) -> Message {
    Message::Close(Some(CloseFrame { code, reason: reason.into() }))
}

/// Copies bytes both ways until either side is done.
async fn relay(mut ws: WebSocket, service: &str, target: SocketAddr, mut stop: tokio::sync::watch::Receiver<bool>) {
    let tcp = match tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(target)).await {
        Ok(Ok(s)) => s,
        Ok(Err(e)) => {
            tracing::warn!(service, %target, "bridge: cannot connect: {e}");
            // 1011: "the server encountered an unexpected condition" (RFC 6455 §7.4.1).
            let _ = ws.send(close(1011, &format!("cannot reach {service}"))).await;
            return;
        }
        Err(_) => {
            let _ = ws.send(close(1011, &format!("{service} did not answer in time"))).await;
            return;
        }
    };
    tracing::info!(service, %target, "bridge: open");
    let (mut rd, mut wr) = tcp.into_split();
    let mut buf = vec![0u8; 16 * 1024];
    let (mut to_server, mut to_browser) = (0usize, 0usize);
    loop {
        tokio::select! {
            _ = stop.changed() => {
                // RFC 6455 §7.4.1: 1001, "a server going down".
                let _ = ws.send(close(1001, "server shutting down")).await;
                break;
            }
            read = rd.read(&mut buf) => match read {
                Ok(0) | Err(_) => {
                    let _ = ws.send(close(1000, "server closed the connection")).await;
                    break;
                }
                Ok(n) => {
                    to_browser += n;
                    if ws.send(Message::Binary(buf[..n].to_vec().into())).await.is_err() {
                        break;
                    }
                }
            },
            msg = tokio::time::timeout(IDLE_TIMEOUT, ws.recv()) => match msg {
                Err(_) => {
                    let _ = ws.send(close(1001, "idle for too long")).await;
                    break;
                }
                // Text is accepted as its UTF-8 bytes: handy for typing a request by hand.
                Ok(Some(Ok(m @ (Message::Binary(_) | Message::Text(_))))) => {
                    let bytes = m.into_data();
                    to_server += bytes.len();
                    if wr.write_all(&bytes).await.is_err() {
                        let _ = ws.send(close(1011, "the server's connection broke")).await;
                        break;
                    }
                }
                Ok(Some(Ok(Message::Ping(_) | Message::Pong(_)))) => {}
                Ok(Some(Ok(Message::Close(_))) | None | Some(Err(_))) => {
                    let _ = wr.shutdown().await;
                    break;
                }
            },
        }
    }
    tracing::info!(service, to_server, to_browser, "bridge: closed");
}
