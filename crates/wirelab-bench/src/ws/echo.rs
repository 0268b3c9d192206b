//! Echo throughput: `clients` tokio-tungstenite clients, each sending a text message and
//! waiting for its echo before sending the next, against our server's `/ws`
//! (`wirelab_server::serve`, our RFC 6455 machine on the raw socket) and against a bare
//! tokio-tungstenite echo server ([`super::tungstenite_echo_server`]), once with
//! tungstenite's default configuration and once with a 16 KiB read buffer (our read
//! size; the default 128 KiB one is zero-filled before every read).
//!
//! Fairness: the servers run in this process, each in a runtime of its own built the
//! same way (multi-threaded, `server_threads` workers, its threads named so their CPU
//! time can be read); the clients run in a third runtime and are the same code for both.
//! Only one server has traffic at a time, in interleaved rounds (ours, baseline, then
//! baseline, ours, …), and each round connects its clients afresh, warms up, then counts
//! the echoes that complete in a fixed window.

use super::{median, threads_cpu_secs};
use futures_util::{SinkExt, StreamExt};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio::net::TcpListener;
use tokio::runtime::Runtime;
use tokio::sync::{oneshot, watch};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

/// What to run.
#[derive(Clone, Copy, Debug)]
pub struct EchoSpec {
    pub clients: usize,
    /// Bytes of each text message.
    pub message_len: usize,
    pub warmup: Duration,
    /// The counting window of one round.
    pub window: Duration,
    /// Rounds per server.
    pub rounds: usize,
    /// Worker threads of each server's runtime.
    pub server_threads: usize,
    /// Worker threads of the clients' runtime.
    pub client_threads: usize,
}

impl Default for EchoSpec {
    fn default() -> Self {
        EchoSpec {
            clients: 100,
            message_len: 32,
            warmup: Duration::from_millis(300),
            window: Duration::from_secs(2),
            rounds: 5,
            server_threads: 1,
            client_threads: 1,
        }
    }
}

/// One server's rounds.
#[derive(Clone, Debug)]
pub struct EchoRow {
    pub server: &'static str,
    /// Echoes per second, one per round.
    pub msgs_per_s: Vec<f64>,
    /// Server CPU time per echo, µs, one per round (`None` where not measurable).
    pub cpu_us_per_msg: Vec<Option<f64>>,
}

impl EchoRow {
    pub fn median_msgs_per_s(&self) -> f64 {
        median(&self.msgs_per_s)
    }

    pub fn median_cpu_us(&self) -> Option<f64> {
        let v: Vec<f64> = self.cpu_us_per_msg.iter().flatten().copied().collect();
        (!v.is_empty()).then(|| median(&v))
    }
}

/// The servers, in the order of the rows.
pub const SERVERS: [&str; 3] = ["wirelab /ws", "tokio-tungstenite", "tokio-tungstenite 16K"];
/// Thread names of each server's runtime (none a prefix of another).
const THREADS: [&str; 3] = ["srv-ours", "srv-tdef", "srv-t16k"];

fn runtime(threads: usize, name: &str) -> Result<Runtime, String> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads.max(1))
        .thread_name(name)
        .enable_all()
        .build()
        .map_err(|e| format!("cannot build the {name} runtime: {e}"))
}

/// A server running in its own runtime until dropped.
struct Server {
    url: String,
    threads: &'static str,
    rt: Runtime,
    stop: Option<Box<dyn FnOnce() + Send>>,
}

impl Server {
    /// Server `i` of [`SERVERS`].
    fn start(i: usize, threads: usize) -> Result<Server, String> {
        let rt = runtime(threads, THREADS[i])?;
        let listener = rt.block_on(TcpListener::bind("127.0.0.1:0")).map_err(|e| format!("bind: {e}"))?;
        let addr: SocketAddr = listener.local_addr().map_err(|e| e.to_string())?;
        let stop: Box<dyn FnOnce() + Send> = if i == 0 {
            let (tx, rx) = oneshot::channel::<()>();
            rt.spawn(wirelab_server::serve(listener, async move {
                let _ = rx.await;
            }));
            Box::new(move || {
                let _ = tx.send(());
            })
        } else {
            let (tx, rx) = watch::channel(false);
            let config = (i == 2).then(super::tuned_config);
            rt.spawn(super::tungstenite_echo_server(listener, config, rx));
            Box::new(move || {
                let _ = tx.send(true);
            })
        };
        Ok(Server { url: format!("ws://{addr}/ws"), threads: THREADS[i], rt, stop: Some(stop) })
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            stop();
        }
        // Give the server a moment to stop by itself (our server closes its sessions).
        self.rt.block_on(async { tokio::time::sleep(Duration::from_millis(100)).await });
    }
}

/// What one round measured.
struct Round {
    msgs_per_s: f64,
    cpu_us_per_msg: Option<f64>,
}

/// Runs the rounds against every server of [`SERVERS`]; one row each, in that order.
pub fn measure(spec: EchoSpec) -> Result<Vec<EchoRow>, String> {
    let clients = runtime(spec.client_threads, "ws-client")?;
    let servers = (0..SERVERS.len()).map(|i| Server::start(i, spec.server_threads)).collect::<Result<Vec<_>, _>>()?;
    let mut rows: Vec<EchoRow> =
        SERVERS.iter().map(|&server| EchoRow { server, msgs_per_s: Vec::new(), cpu_us_per_msg: Vec::new() }).collect();
    // One untimed round each first: connection set-up paths, allocator and caches warm.
    for server in &servers {
        clients.block_on(round(&server.url, server.threads, EchoSpec { window: spec.warmup, ..spec }))?;
    }
    // Servers take turns, and turns about which goes first in a round.
    for r in 0..spec.rounds.max(1) {
        for k in 0..servers.len() {
            let i = (r + k) % servers.len();
            let m = clients.block_on(round(&servers[i].url, servers[i].threads, spec))?;
            rows[i].msgs_per_s.push(m.msgs_per_s);
            rows[i].cpu_us_per_msg.push(m.cpu_us_per_msg);
        }
    }
    drop(servers);
    clients.shutdown_timeout(Duration::from_secs(1));
    Ok(rows)
}

/// A client WebSocket over plain TCP.
pub type ClientStream = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn connect(url: &str) -> Result<ClientStream, String> {
    // Small buffers: the clients are the same for both servers and should cost little.
    let config = WebSocketConfig::default().read_buffer_size(4096).write_buffer_size(0);
    let (ws, _) = tokio_tungstenite::connect_async_with_config(url, Some(config), true)
        .await
        .map_err(|e| format!("connect to {url}: {e}"))?;
    Ok(ws)
}

/// Connects `spec.clients` clients, lets them echo for `warmup`, counts the echoes that
/// complete during `window`, then closes them all (closing handshake).
async fn round(url: &str, server_threads: &str, spec: EchoSpec) -> Result<Round, String> {
    let mut conns = Vec::with_capacity(spec.clients);
    for _ in 0..spec.clients {
        conns.push(connect(url).await?);
    }
    let echoed = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let text: String = "0123456789abcdef".chars().cycle().take(spec.message_len).collect();
    let tasks: Vec<_> = conns
        .into_iter()
        .map(|mut ws| {
            let (echoed, stop, text) = (echoed.clone(), stop.clone(), text.clone());
            tokio::spawn(async move {
                let message = Message::text(text.clone());
                while !stop.load(Ordering::Relaxed) {
                    ws.send(message.clone()).await.map_err(|e| format!("send: {e}"))?;
                    match ws.next().await {
                        Some(Ok(Message::Text(t))) if t.as_str() == text => {
                            echoed.fetch_add(1, Ordering::Relaxed);
                        }
                        other => return Err(format!("expected the echo, got {other:?}")),
                    }
                }
                ws.close(None).await.map_err(|e| format!("close: {e}"))?;
                // Read until the server's Close and the end of the stream.
                let drain = async { while let Some(Ok(_)) = ws.next().await {} };
                let _ = tokio::time::timeout(Duration::from_secs(5), drain).await;
                Ok::<(), String>(())
            })
        })
        .collect();
    tokio::time::sleep(spec.warmup).await;
    let (c0, t0, cpu0) = (echoed.load(Ordering::Relaxed), Instant::now(), threads_cpu_secs(server_threads));
    tokio::time::sleep(spec.window).await;
    let (c1, t1, cpu1) = (echoed.load(Ordering::Relaxed), Instant::now(), threads_cpu_secs(server_threads));
    stop.store(true, Ordering::Relaxed);
    for t in tasks {
        t.await.map_err(|e| format!("client task: {e}"))??;
    }
    let n = c1.saturating_sub(c0);
    if n == 0 {
        return Err(format!("no echoes from {url} in {:?}", spec.window));
    }
    let cpu_us_per_msg = match (cpu0, cpu1) {
        (Some(a), Some(b)) => Some((b - a) * 1e6 / n as f64),
        _ => None,
    };
    Ok(Round { msgs_per_s: n as f64 / (t1 - t0).as_secs_f64(), cpu_us_per_msg })
}

/// The table: one line per server, then the ratio.
pub fn report(spec: &EchoSpec, rows: &[EchoRow]) -> String {
    use std::fmt::Write;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "Echo: {} clients, {} B text messages, one in flight per client; {} rounds of {:.1} s per server, \
         interleaved; median",
        spec.clients,
        spec.message_len,
        spec.rounds,
        spec.window.as_secs_f64()
    );
    let _ = writeln!(
        s,
        "      each server in its own multi-thread runtime of {} worker(s), clients in one of {} worker(s)",
        spec.server_threads, spec.client_threads
    );
    let _ = writeln!(
        s,
        "{:<20} {:>10} {:>21} {:>17} {:>16}",
        "server", "msgs/s", "(min … max)", "server CPU µs/msg", "server CPU busy"
    );
    for r in rows {
        let (lo, hi) = super::range(&r.msgs_per_s);
        let cpu = r.median_cpu_us().map_or("-".to_string(), |c| format!("{c:.1}"));
        // CPU time per message times messages per second: the share of one CPU it used.
        let busy = r.median_cpu_us().map_or("-".to_string(), |c| format!("{:.0}%", c * r.median_msgs_per_s() / 1e4));
        let _ = writeln!(
            s,
            "{:<20} {:>10.0} {:>10.0} … {:>8.0} {:>17} {:>16}",
            r.server,
            r.median_msgs_per_s(),
            lo,
            hi,
            cpu,
            busy
        );
    }
    if let Some((ours, bases)) = rows.split_first() {
        for base in bases {
            let _ = write!(
                s,
                "ratio {} / {}: msgs/s {:.2}×",
                ours.server,
                base.server,
                ours.median_msgs_per_s() / base.median_msgs_per_s()
            );
            if let (Some(a), Some(b)) = (ours.median_cpu_us(), base.median_cpu_us()) {
                let _ = write!(s, ", server CPU per message {:.2}×", a / b);
            }
            let _ = writeln!(s, " (goal: msgs/s ≥ 0.9×)");
        }
    }
    s
}
