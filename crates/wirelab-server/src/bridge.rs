//! The WebSocket-to-TCP bridge: `GET /bridge/{service}` upgrades to a WebSocket whose
//! binary messages are the bytes of one TCP connection to one of *this* server's own
//! protocol servers (HTTP now; SMTP, POP3, IMAP and FTP as they land), so the browser's
//! Wasm client machines can speak to real servers. It reaches the services named in its
//! table and nothing else: no host or port ever comes from the browser.
//!
//! Messages: **binary** messages carry the connection's bytes, both ways, as they came (a
//! TCP stream has no message boundaries; the client machine buffers as on a socket).
//! Text from the browser is taken as its UTF-8 bytes (handy for typing a request by
//! hand). Text from the bridge is the bridge's own notice, JSON with a `type`:
//! `session` (FTP: the id to name in data requests), `data-port` (FTP: the server
//! announced a passive port), `listening` (FTP active mode: where the bridge listens).
//! When the server closes its side, the bridge sends what is left and Close 1000.
//!
//! **FTP's second connection** (RFC 959 §3.2; RFC 2428): on a control session to an FTP
//! service the bridge reads the server's 227/229 replies (module [`crate::ftpctl`]).
//! - Passive: `GET /bridge/{service}/data?session=ID&port=P` connects to P on the FTP
//!   server's own address, only if that server announced P on session ID (once per
//!   announcement).
//! - Active: `GET /bridge/{service}/data?session=ID&mode=active` makes the bridge listen
//!   on the browser's behalf (on the FTP server's address, port chosen by the system),
//!   tells the browser the PORT/EPRT command to send, and accepts one connection, from the
//!   FTP server's address only. A PORT or EPRT on the control connection that names any
//!   other address closes the session (1008): the server is never made to connect
//!   elsewhere (RFC 2577 §3, the "bounce attack").
//!
//! Limits ([`BridgeLimits`]): sessions in all and per client address, bytes per second
//! each way per session, message size, idle time; browsers' `Origin` is checked
//! ([`crate::origin`]).

use crate::front::ClientAddr;
use crate::ftpctl::{self, LineScanner, Passive};
use crate::origin::Origins;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};

/// What the bridge allows. [`Default`] is what `wirelab serve` uses.
#[derive(Clone, Copy, Debug)]
pub struct BridgeLimits {
    /// Bridged connections open at once, all clients together.
    pub max_sessions: usize,
    /// Bridged connections open at once from one client address.
    pub per_client: usize,
    /// Bytes per second each way, per connection (a burst of one second's worth).
    pub bytes_per_sec: u64,
    /// The largest message the browser may send.
    pub max_message: usize,
    /// No traffic either way for this long: Close 1001.
    pub idle: Duration,
    /// How long the bridge waits for a service to accept the TCP connection.
    pub connect_timeout: Duration,
    /// FTP active mode: how long the bridge's listener waits for the server.
    pub accept_timeout: Duration,
}

impl Default for BridgeLimits {
    fn default() -> Self {
        BridgeLimits {
            max_sessions: 256,
            per_client: 16,
            bytes_per_sec: 4 * 1024 * 1024,
            max_message: 64 * 1024,
            idle: Duration::from_secs(300),
            connect_timeout: Duration::from_secs(5),
            accept_timeout: Duration::from_secs(30),
        }
    }
}

/// How the bridge treats a service's connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ServiceKind {
    /// Bytes, both ways, nothing read (HTTP, SMTP, POP3, IMAP).
    Stream,
    /// An FTP control connection: passive replies and PORT/EPRT are read (see above).
    Ftp,
}

/// One entry of the bridge's table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Service {
    pub addr: SocketAddr,
    pub kind: ServiceKind,
}

impl Service {
    pub fn stream(addr: SocketAddr) -> Self {
        Service { addr, kind: ServiceKind::Stream }
    }
}

/// An FTP control session's data connections: what its server announced, where the
/// bridge listens for it.
#[derive(Debug)]
struct FtpSession {
    service: String,
    client: IpAddr,
    server: IpAddr,
    /// Ports announced by 227/229 and not yet used.
    passive: BTreeSet<u16>,
    /// The bridge's listeners for this session (active mode).
    active: BTreeSet<SocketAddr>,
}

/// The services the bridge may reach, by name, and its limits and bookkeeping.
#[derive(Clone, Debug)]
pub struct Bridge {
    services: Arc<BTreeMap<String, Service>>,
    limits: BridgeLimits,
    origins: Origins,
    slots: Arc<Semaphore>,
    clients: Arc<Mutex<HashMap<IpAddr, usize>>>,
    ftp: Arc<Mutex<HashMap<String, FtpSession>>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // Every critical section here leaves the maps consistent: a panic elsewhere is no
    // reason to stop bridging.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// One client's hold on a session slot; dropping it gives the slot back.
#[derive(Debug)]
struct Admission {
    _permit: OwnedSemaphorePermit,
    client: IpAddr,
    clients: Arc<Mutex<HashMap<IpAddr, usize>>>,
}

impl Drop for Admission {
    fn drop(&mut self) {
        let mut clients = lock(&self.clients);
        if let Some(n) = clients.get_mut(&self.client) {
            *n -= 1;
            if *n == 0 {
                clients.remove(&self.client);
            }
        }
    }
}

/// A refusal before any upgrade: the status and a sentence for the body.
type Refusal = (StatusCode, String);

fn refuse(status: StatusCode, why: impl Into<String>) -> Refusal {
    let mut why = why.into();
    why.push('\n');
    (status, why)
}

impl Bridge {
    pub fn new(services: BTreeMap<String, Service>, limits: BridgeLimits, origins: Origins) -> Self {
        Bridge {
            services: Arc::new(services),
            slots: Arc::new(Semaphore::new(limits.max_sessions)),
            limits,
            origins,
            clients: Arc::default(),
            ftp: Arc::default(),
        }
    }

    /// The services by name: `/bridge` lists them as JSON.
    pub fn services(&self) -> &BTreeMap<String, Service> {
        &self.services
    }

    fn service(&self, name: &str) -> Result<Service, Refusal> {
        self.services.get(name).copied().ok_or_else(|| {
            let known: Vec<&str> = self.services.keys().map(String::as_str).collect();
            refuse(StatusCode::NOT_FOUND, format!("no service {name:?} on this bridge; it has {known:?}"))
        })
    }

    /// Origin, then a slot in all, then a slot for this client; refused with 403, 503
    /// or 429 before any upgrade, so the browser's `onerror` has a reason to show.
    fn admit(&self, client: IpAddr, headers: &HeaderMap) -> Result<Admission, Refusal> {
        if let Err(why) = self.origins.check(headers) {
            tracing::warn!(%client, "bridge: {why}");
            return Err(refuse(StatusCode::FORBIDDEN, why));
        }
        let Ok(permit) = self.slots.clone().try_acquire_owned() else {
            return Err(refuse(StatusCode::SERVICE_UNAVAILABLE, "the bridge is full; try again shortly"));
        };
        let mut clients = lock(&self.clients);
        let n = clients.entry(client).or_insert(0);
        if *n >= self.limits.per_client {
            return Err(refuse(
                StatusCode::TOO_MANY_REQUESTS,
                format!(
                    "{} bridged connections from {client} are open already; close one first",
                    self.limits.per_client
                ),
            ));
        }
        *n += 1;
        Ok(Admission { _permit: permit, client, clients: self.clients.clone() })
    }
}

/// `GET /bridge`: the service names the bridge reaches, with their ports.
pub async fn list(State(bridge): State<Bridge>) -> Response {
    let body: BTreeMap<&str, u16> = bridge.services.iter().map(|(k, v)| (k.as_str(), v.addr.port())).collect();
    axum::Json(body).into_response()
}

/// `GET /bridge/{service}`: a connection to the service.
pub async fn upgrade(
    State(bridge): State<Bridge>,
    State(life): State<crate::Lifecycle>,
    ConnectInfo(ClientAddr(client)): ConnectInfo<ClientAddr>,
    Path(name): Path<String>,
    headers: HeaderMap,
    ws: WebSocketUpgrade,
) -> Response {
    let service = match bridge.service(&name) {
        Ok(s) => s,
        Err(r) => return r.into_response(),
    };
    let admission = match bridge.admit(client.ip(), &headers) {
        Ok(a) => a,
        Err(r) => return r.into_response(),
    };
    let limits = bridge.limits;
    ws.max_message_size(limits.max_message).on_upgrade(move |mut socket| async move {
        let Some(tcp) = connect(&mut socket, &name, service.addr, &limits).await else { return };
        let watch = match service.kind {
            ServiceKind::Stream => Watch::None,
            ServiceKind::Ftp => {
                let id = match new_session_id() {
                    Ok(id) => id,
                    Err(e) => {
                        tracing::error!("bridge: no randomness for a session id: {e}");
                        let _ = socket.send(close(1011, "cannot make a session id")).await;
                        return;
                    }
                };
                lock(&bridge.ftp).insert(
                    id.clone(),
                    FtpSession {
                        service: name.clone(),
                        client: client.ip(),
                        server: service.addr.ip(),
                        passive: BTreeSet::new(),
                        active: BTreeSet::new(),
                    },
                );
                let notice = serde_json::json!({ "type": "session", "id": id });
                if socket.send(Message::Text(notice.to_string().into())).await.is_err() {
                    lock(&bridge.ftp).remove(&id);
                    return;
                }
                Watch::FtpControl { id, down: LineScanner::default(), up: LineScanner::default() }
            }
        };
        relay(socket, tcp, &name, watch, &bridge, life.stop.clone()).await;
        drop((admission, life));
    })
}

/// The query of a data-connection request.
#[derive(Debug, Deserialize)]
pub struct DataQuery {
    session: String,
    port: Option<u16>,
    mode: Option<String>,
}

/// `GET /bridge/{service}/data?session=ID&port=P` (passive) or `…&mode=active`: an FTP
/// data connection for control session ID. Refused (403) unless the port was announced
/// by that session's server.
pub async fn data(
    State(bridge): State<Bridge>,
    State(life): State<crate::Lifecycle>,
    ConnectInfo(ClientAddr(client)): ConnectInfo<ClientAddr>,
    Path(name): Path<String>,
    Query(q): Query<DataQuery>,
    headers: HeaderMap,
    ws: WebSocketUpgrade,
) -> Response {
    match bridge.service(&name) {
        Ok(s) if s.kind == ServiceKind::Ftp => {}
        Ok(_) => {
            return refuse(StatusCode::NOT_FOUND, format!("{name} has no data connections (it is not FTP)"))
                .into_response();
        }
        Err(r) => return r.into_response(),
    }
    let target = {
        let mut sessions = lock(&bridge.ftp);
        let Some(session) = sessions.get_mut(&q.session).filter(|s| s.service == name && s.client == client.ip())
        else {
            return refuse(StatusCode::FORBIDDEN, format!("no open {name} control session {:?} of yours", q.session))
                .into_response();
        };
        match (q.port, q.mode.as_deref()) {
            (Some(port), None) => {
                if !session.passive.remove(&port) {
                    return refuse(
                        StatusCode::FORBIDDEN,
                        format!(
                            "the {name} server has not announced port {port} on this session (send PASV or EPSV first)"
                        ),
                    )
                    .into_response();
                }
                DataTarget::Connect(SocketAddr::new(session.server, port))
            }
            (None, Some("active")) => DataTarget::Listen(session.server),
            _ => return refuse(StatusCode::BAD_REQUEST, "give either port=P (passive) or mode=active").into_response(),
        }
    };
    let admission = match bridge.admit(client.ip(), &headers) {
        Ok(a) => a,
        Err(r) => return r.into_response(),
    };
    let limits = bridge.limits;
    match target {
        DataTarget::Connect(addr) => ws.max_message_size(limits.max_message).on_upgrade(move |mut socket| async move {
            let label = format!("{name} data");
            let Some(tcp) = connect(&mut socket, &label, addr, &limits).await else { return };
            relay(socket, tcp, &label, Watch::None, &bridge, life.stop.clone()).await;
            drop((admission, life));
        }),
        DataTarget::Listen(server) => {
            let listener = match TcpListener::bind(SocketAddr::new(server, 0)).await {
                Ok(l) => l,
                Err(e) => {
                    return refuse(
                        StatusCode::SERVICE_UNAVAILABLE,
                        format!("cannot listen for the data connection: {e}"),
                    )
                    .into_response();
                }
            };
            let Ok(addr) = listener.local_addr() else {
                return refuse(StatusCode::SERVICE_UNAVAILABLE, "cannot listen for the data connection")
                    .into_response();
            };
            if let Some(s) = lock(&bridge.ftp).get_mut(&q.session) {
                s.active.insert(addr);
            }
            let session = q.session;
            ws.max_message_size(limits.max_message).on_upgrade(move |socket| async move {
                active(socket, listener, addr, server, &name, &bridge, life.stop.clone()).await;
                if let Some(s) = lock(&bridge.ftp).get_mut(&session) {
                    s.active.remove(&addr);
                }
                drop((admission, life));
            })
        }
    }
}

enum DataTarget {
    Connect(SocketAddr),
    Listen(IpAddr),
}

/// FTP active mode: tell the browser what to send, wait for the server, relay.
async fn active(
    mut socket: WebSocket,
    listener: TcpListener,
    addr: SocketAddr,
    server: IpAddr,
    name: &str,
    bridge: &Bridge,
    stop: watch::Receiver<bool>,
) {
    let (port, eprt) = ftpctl::port_commands(addr);
    let notice = serde_json::json!({ "type": "listening", "addr": addr.to_string(), "port": port, "eprt": eprt });
    if socket.send(Message::Text(notice.to_string().into())).await.is_err() {
        return;
    }
    let accepted = tokio::time::timeout(bridge.limits.accept_timeout, async {
        loop {
            match listener.accept().await {
                Ok((tcp, peer)) if peer.ip() == server => return Some(tcp),
                // Anyone else knocking is turned away; keep waiting for the server.
                Ok((_, peer)) => tracing::warn!(%peer, "bridge: refused a data connection not from the {name} server"),
                Err(e) => {
                    tracing::warn!("bridge: accept: {e}");
                    return None;
                }
            }
        }
    })
    .await;
    match accepted {
        Ok(Some(tcp)) => relay(socket, tcp, &format!("{name} data"), Watch::None, bridge, stop).await,
        Ok(None) => {
            let _ = socket.send(close(1011, "the data listener failed")).await;
        }
        Err(_) => {
            let _ = socket.send(close(1001, "the server did not open the data connection in time")).await;
        }
    }
}

fn new_session_id() -> Result<String, getrandom::Error> {
    crate::random_hex(16)
}

fn close(code: u16, reason: &str) -> Message {
    Message::Close(Some(CloseFrame { code, reason: reason.into() }))
}

/// The address the bridge's connections to local services come from: a loopback address
/// of its own, so that the services can tell bridged browsers (already limited here, per
/// browser address and in all: [`BridgeLimits`]) from local clients they limit per
/// address themselves (the mail servers' `--mail-connections-per-ip`). Without it, every
/// bridged browser would share 127.0.0.1's one allowance.
pub const BRIDGE_SOURCE: std::net::Ipv4Addr = std::net::Ipv4Addr::new(127, 0, 0, 2);

/// Connects to `target`, from [`BRIDGE_SOURCE`] when `target` is on IPv4 loopback (else,
/// or if binding there fails, from wherever the system chooses).
async fn connect_from_bridge(target: SocketAddr) -> std::io::Result<TcpStream> {
    if target.ip().is_loopback() && target.is_ipv4() {
        if let Ok(socket) = tokio::net::TcpSocket::new_v4() {
            if socket.bind(SocketAddr::new(BRIDGE_SOURCE.into(), 0)).is_ok() {
                return socket.connect(target).await;
            }
        }
    }
    TcpStream::connect(target).await
}

async fn connect(ws: &mut WebSocket, label: &str, target: SocketAddr, limits: &BridgeLimits) -> Option<TcpStream> {
    match tokio::time::timeout(limits.connect_timeout, connect_from_bridge(target)).await {
        Ok(Ok(s)) => Some(s),
        Ok(Err(e)) => {
            tracing::warn!(label, %target, "bridge: cannot connect: {e}");
            // 1011: "the server encountered an unexpected condition" (RFC 6455 §7.4.1).
            let _ = ws.send(close(1011, &format!("cannot reach {label}"))).await;
            None
        }
        Err(_) => {
            let _ = ws.send(close(1011, &format!("{label} did not answer in time"))).await;
            None
        }
    }
}

/// What the relay reads as bytes pass.
#[derive(Debug)]
enum Watch {
    None,
    FtpControl { id: String, down: LineScanner, up: LineScanner },
}

/// A token bucket: `take(n)` waits until `n` bytes fit in the rate.
#[derive(Debug)]
pub struct Throttle {
    rate: f64,
    burst: f64,
    tokens: f64,
    last: tokio::time::Instant,
}

impl Throttle {
    /// `bytes_per_sec`, with a burst of one second's worth.
    pub fn new(bytes_per_sec: u64) -> Self {
        let rate = bytes_per_sec.max(1) as f64;
        Throttle { rate, burst: rate, tokens: rate, last: tokio::time::Instant::now() }
    }

    /// Spends `n` bytes, sleeping first if the bucket would go below empty.
    pub async fn take(&mut self, n: usize) {
        let now = tokio::time::Instant::now();
        let elapsed = now.duration_since(self.last).as_secs_f64();
        self.last = now;
        self.tokens = (self.tokens + elapsed * self.rate).min(self.burst) - n as f64;
        if self.tokens < 0.0 {
            tokio::time::sleep(Duration::from_secs_f64(-self.tokens / self.rate)).await;
        }
    }
}

/// Copies bytes both ways until either side is done.
async fn relay(
    mut ws: WebSocket,
    tcp: TcpStream,
    label: &str,
    mut watch: Watch,
    bridge: &Bridge,
    mut stop: watch::Receiver<bool>,
) {
    tracing::info!(label, peer = ?tcp.peer_addr().ok(), "bridge: open");
    let (mut rd, mut wr) = tcp.into_split();
    let mut buf = vec![0u8; 16 * 1024];
    let (mut to_server, mut to_browser) = (0usize, 0usize);
    let (mut up_rate, mut down_rate) =
        (Throttle::new(bridge.limits.bytes_per_sec), Throttle::new(bridge.limits.bytes_per_sec));
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
                    down_rate.take(n).await;
                    to_browser += n;
                    if ws.send(Message::Binary(buf[..n].to_vec().into())).await.is_err() {
                        break;
                    }
                    for notice in watch_down(&mut watch, &buf[..n], bridge) {
                        if ws.send(Message::Text(notice.into())).await.is_err() {
                            break;
                        }
                    }
                }
            },
            msg = tokio::time::timeout(bridge.limits.idle, ws.recv()) => match msg {
                Err(_) => {
                    let _ = ws.send(close(1001, "idle for too long")).await;
                    break;
                }
                Ok(Some(Ok(m @ (Message::Binary(_) | Message::Text(_))))) => {
                    let bytes = m.into_data();
                    if let Err(why) = watch_up(&mut watch, &bytes, bridge) {
                        tracing::warn!(label, "bridge: {why}");
                        // 1008: "a message that violates its policy" (RFC 6455 §7.4.1).
                        let _ = ws.send(close(1008, &why)).await;
                        break;
                    }
                    up_rate.take(bytes.len()).await;
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
    if let Watch::FtpControl { id, .. } = &watch {
        lock(&bridge.ftp).remove(id);
    }
    tracing::info!(label, to_server, to_browser, "bridge: closed");
}

/// Server → browser: records the passive ports an FTP server announces; returns the
/// notices for the browser.
fn watch_down(watch: &mut Watch, bytes: &[u8], bridge: &Bridge) -> Vec<String> {
    let Watch::FtpControl { id, down, .. } = watch else { return Vec::new() };
    let mut notices = Vec::new();
    down.feed(bytes, |line| {
        let Some(reply) = ftpctl::passive_reply(line) else { return };
        let mut sessions = lock(&bridge.ftp);
        let Some(s) = sessions.get_mut(id.as_str()) else { return };
        let port = match reply {
            Passive::Pasv(addr) if addr.ip() == s.server => addr.port(),
            Passive::Pasv(addr) => {
                // The bridge connects to its own server's address only, whatever it says.
                tracing::warn!(%addr, "bridge: FTP server announced another host; not followed");
                return;
            }
            Passive::Epsv(port) => port,
        };
        s.passive.insert(port);
        notices.push(serde_json::json!({ "type": "data-port", "port": port }).to_string());
    });
    notices
}

/// Browser → server: a PORT or EPRT may name only the bridge's own listener for this
/// session.
fn watch_up(watch: &mut Watch, bytes: &[u8], bridge: &Bridge) -> Result<(), String> {
    let Watch::FtpControl { id, up, .. } = watch else { return Ok(()) };
    let mut verdict = Ok(());
    up.feed(bytes, |line| {
        let allowed = match ftpctl::active_command(line) {
            None => return,
            Some(Err(e)) => Err(e),
            Some(Ok(addr)) => {
                lock(&bridge.ftp).get(id.as_str()).filter(|s| s.active.contains(&addr)).map(|_| ()).ok_or_else(|| {
                    format!(
                        "{} names {addr}, not a listener the bridge opened for this session",
                        line.split(' ').next().unwrap_or("")
                    )
                })
            }
        };
        if verdict.is_ok() {
            verdict = allowed;
        }
    });
    verdict
}

#[cfg(test)]
mod tests {
    use super::Throttle;
    use std::time::Duration;

    #[tokio::test(start_paused = true)]
    async fn the_throttle_holds_the_rate_after_the_first_seconds_burst() {
        let start = tokio::time::Instant::now();
        let mut t = Throttle::new(1_000_000);
        for _ in 0..400 {
            t.take(10_000).await;
        }
        // 4 MB at 1 MB/s with 1 MB up front: 3 s of (virtual) time.
        let took = start.elapsed();
        assert!(took >= Duration::from_millis(2_990) && took <= Duration::from_millis(3_010), "{took:?}");
    }
}
