//! Resident memory of a server holding many idle WebSockets. The server runs as a child
//! process (so only its memory is counted): `wirelab serve` on port 0, or the baseline
//! tokio-tungstenite echo server (this binary again, `--serve-baseline`). The clients, in
//! this process, open the connections, complete the opening handshake and then send
//! nothing. The server's `VmRSS` (from `/proc/PID/status`, Linux) is read before the
//! first connection and once they are all open and have settled.

use futures_util::StreamExt;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

/// Handshakes in flight at once while connecting.
const CONNECTING_AT_ONCE: usize = 128;

/// One server's figures.
#[derive(Clone, Debug)]
pub struct IdleRow {
    pub server: String,
    pub connections: usize,
    pub rss_before_kb: u64,
    pub rss_after_kb: u64,
    /// Peak resident memory (`VmHWM`).
    pub rss_peak_kb: u64,
    /// How long opening the connections took.
    pub connect_secs: f64,
}

impl IdleRow {
    pub fn per_connection_kb(&self) -> f64 {
        self.rss_after_kb.saturating_sub(self.rss_before_kb) as f64 / self.connections as f64
    }
}

/// A field of `/proc/PID/status` in kB, such as `VmRSS`.
pub fn status_kb(pid: u32, field: &str) -> Result<u64, String> {
    let path = format!("/proc/{pid}/status");
    let status = std::fs::read_to_string(&path).map_err(|e| format!("cannot read {path}: {e}"))?;
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':')?.trim().strip_suffix("kB")?.trim().parse().ok())
        .ok_or_else(|| format!("no {field} in {path}"))
}

/// A child server, killed when dropped.
struct ChildServer {
    child: Child,
    addr: SocketAddr,
}

impl Drop for ChildServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `cmd` and waits for the line that ends with its address
/// (`… listening on http://127.0.0.1:PORT`).
fn start(mut cmd: Command) -> Result<ChildServer, String> {
    let shown = format!("{cmd:?}");
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .env("RUST_LOG", "warn")
        .spawn()
        .map_err(|e| format!("cannot start {shown}: {e}"))?;
    let stdout = child.stdout.take().ok_or("no stdout")?;
    let mut server = ChildServer { child, addr: SocketAddr::from(([0, 0, 0, 0], 0)) };
    for line in BufReader::new(stdout).lines() {
        let line = line.map_err(|e| format!("reading from {shown}: {e}"))?;
        if let Some((_, rest)) = line.split_once("listening on http://") {
            server.addr = rest.trim().parse().map_err(|e| format!("{shown} printed {line:?}: {e}"))?;
            // The rest of its output is not read: it prints nothing more.
            return Ok(server);
        }
    }
    Err(format!("{shown} ended without printing its address"))
}

/// Opens `n` WebSockets to `url`, returning them open and idle.
async fn open(url: &str, n: usize) -> Result<Vec<super::echo::ClientStream>, String> {
    // Clients are unpolled once open: their buffers stay small.
    let config = WebSocketConfig::default().read_buffer_size(4096).write_buffer_size(0);
    let conns: Vec<_> = futures_util::stream::iter(0..n)
        .map(|_| tokio_tungstenite::connect_async_with_config(url, Some(config), false))
        .buffer_unordered(CONNECTING_AT_ONCE)
        .collect()
        .await;
    conns.into_iter().map(|c| c.map(|(ws, _)| ws).map_err(|e| format!("connect to {url}: {e}"))).collect()
}

/// Measures one server: `cmd` starts it, `path` is its WebSocket endpoint.
pub fn measure(name: &str, cmd: Command, path: &str, connections: usize) -> Result<IdleRow, String> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .map_err(|e| format!("cannot build a runtime: {e}"))?;
    let server = start(cmd)?;
    let pid = server.child.id();
    // Let it finish starting (threads, first allocations) before the baseline reading.
    std::thread::sleep(Duration::from_millis(500));
    let rss_before_kb = status_kb(pid, "VmRSS")?;
    let url = format!("ws://{}{path}", server.addr);
    let t = Instant::now();
    let conns = rt.block_on(open(&url, connections))?;
    let connect_secs = t.elapsed().as_secs_f64();
    // Settle: the server's tasks have all parked on their sockets.
    std::thread::sleep(Duration::from_secs(1));
    let rss_after_kb = status_kb(pid, "VmRSS")?;
    let rss_peak_kb = status_kb(pid, "VmHWM")?;
    // The server goes first, so the TIME_WAITs are its (the clients' ports stay free).
    drop(server);
    drop(conns);
    rt.shutdown_timeout(Duration::from_secs(1));
    Ok(IdleRow { server: name.to_string(), connections, rss_before_kb, rss_after_kb, rss_peak_kb, connect_secs })
}

/// The table: one line per server, then ours against the goal and the baseline.
pub fn report(rows: &[IdleRow]) -> String {
    use std::fmt::Write;
    let mut s = String::new();
    let n = rows.first().map_or(0, |r| r.connections);
    let _ = writeln!(s, "Idle: {n} WebSockets open (handshake done, then silent); server's own RSS, a child process");
    let _ = writeln!(
        s,
        "{:<28} {:>11} {:>13} {:>11} {:>11} {:>10}",
        "server",
        "RSS before",
        format!("RSS with {n}"),
        "peak RSS",
        "per conn.",
        "connect s"
    );
    let mb = |kb: u64| format!("{:.1} MiB", kb as f64 / 1024.0);
    for r in rows {
        let _ = writeln!(
            s,
            "{:<28} {:>11} {:>13} {:>11} {:>7.1} KiB {:>10.1}",
            r.server,
            mb(r.rss_before_kb),
            mb(r.rss_after_kb),
            mb(r.rss_peak_kb),
            r.per_connection_kb(),
            r.connect_secs
        );
    }
    if let Some(ours) = rows.first() {
        let _ = write!(s, "ours with {n}: {} (goal with 10 000: ≤ 200 MB)", mb(ours.rss_after_kb));
        for base in &rows[1..] {
            let _ = write!(
                s,
                "; per connection ours / {} {:.2}×",
                base.server,
                ours.per_connection_kb() / base.per_connection_kb()
            );
        }
        let _ = writeln!(s);
    }
    s
}
