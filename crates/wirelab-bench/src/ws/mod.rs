//! The WebSocket benchmarks of the `ws-bench` binary: our backend's `/ws` and our frame
//! decoder (`wirelab-ws`) against tokio-tungstenite / tungstenite, each baseline built and
//! run in the same process and the same run, so every figure comes with its ratio.
//!
//! - [`echo`]: echo messages per second with many concurrent clients, our server's `/ws`
//!   against a bare tokio-tungstenite echo server.
//! - [`decode`]: masked client frames to unmasked payloads, MB/s, our decoder against
//!   tungstenite's.
//! - [`idle`]: resident memory of a server process holding thousands of idle WebSockets.
//!
//! Native only: sockets, threads and child processes.

pub mod decode;
pub mod echo;
pub mod idle;

use futures_util::{SinkExt, StreamExt};
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

/// The read buffer of the tuned baseline: our server's read size
/// (`wirelab_server::drive::READ_CHUNK`).
pub const TUNED_READ_BUFFER: usize = 16 * 1024;

/// The tuned baseline's configuration: tungstenite's default but for the read buffer.
pub fn tuned_config() -> WebSocketConfig {
    WebSocketConfig::default().read_buffer_size(TUNED_READ_BUFFER)
}

/// The median of `xs` (the upper one of the middle two for an even count); NaN if empty.
pub fn median(xs: &[f64]) -> f64 {
    let mut v = xs.to_vec();
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}

/// Spread of `xs` as (min, max).
pub fn range(xs: &[f64]) -> (f64, f64) {
    xs.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &x| (lo.min(x), hi.max(x)))
}

/// The 1, 5 and 15 minute load averages, as `/proc/loadavg` gives them (Linux).
pub fn load_average() -> Option<String> {
    let s = std::fs::read_to_string("/proc/loadavg").ok()?;
    Some(s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
}

/// CPU time (user + system) used so far by this process's threads whose name starts with
/// `prefix`, from `/proc/self/task/*/stat` (Linux; `None` elsewhere). The kernel counts in
/// USER_HZ ticks, 100 per second on every Linux architecture: 10 ms resolution.
pub fn threads_cpu_secs(prefix: &str) -> Option<f64> {
    let mut ticks = 0u64;
    for task in std::fs::read_dir("/proc/self/task").ok()?.flatten() {
        let Ok(stat) = std::fs::read_to_string(task.path().join("stat")) else { continue };
        // "tid (comm) state ppid ...": comm may hold spaces, so split at the last ')'.
        let (Some(open), Some(close)) = (stat.find('('), stat.rfind(')')) else { continue };
        if !stat[open + 1..close].starts_with(prefix) {
            continue;
        }
        // After the comm: state is field 3; utime and stime are fields 14 and 15.
        let fields: Vec<&str> = stat[close + 1..].split_whitespace().collect();
        let utime: u64 = fields.get(11).and_then(|f| f.parse().ok()).unwrap_or(0);
        let stime: u64 = fields.get(12).and_then(|f| f.parse().ok()).unwrap_or(0);
        ticks += utime + stime;
    }
    Some(ticks as f64 / 100.0)
}

/// How busy the machine was with other processes over a stretch of time: the CPU time
/// the whole system spent (`/proc/stat`) less what this process and its waited-for
/// children spent (`/proc/self/stat`). Linux; both count in USER_HZ ticks.
#[derive(Clone, Copy, Debug)]
pub struct CpuMeter {
    at: std::time::Instant,
    system_busy: u64,
    ours: u64,
}

impl CpuMeter {
    pub fn start() -> Option<CpuMeter> {
        Some(CpuMeter { at: std::time::Instant::now(), system_busy: system_busy_ticks()?, ours: own_ticks()? })
    }

    /// CPUs kept busy on average by everything else since `start`, and by this process.
    pub fn busy_cpus(&self) -> Option<(f64, f64)> {
        let secs = self.at.elapsed().as_secs_f64();
        let system = system_busy_ticks()?.saturating_sub(self.system_busy) as f64 / 100.0;
        let ours = own_ticks()?.saturating_sub(self.ours) as f64 / 100.0;
        Some((((system - ours) / secs).max(0.0), ours / secs))
    }

    /// "other processes: 1.2 CPUs busy on average, this benchmark 0.9".
    pub fn describe(&self) -> String {
        match self.busy_cpus() {
            Some((others, ours)) => {
                format!("other processes kept {others:.1} CPUs busy on average, this benchmark {ours:.1}")
            }
            None => "CPU use of other processes unknown".into(),
        }
    }
}

/// user + nice + system + irq + softirq + steal of the first line of `/proc/stat`.
fn system_busy_ticks() -> Option<u64> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let f: Vec<u64> = stat.lines().next()?.split_whitespace().skip(1).map_while(|x| x.parse().ok()).collect();
    Some(f.first()? + f.get(1)? + f.get(2)? + f.get(5)? + f.get(6)? + f.get(7).copied().unwrap_or(0))
}

/// utime + stime + cutime + cstime of this process.
fn own_ticks() -> Option<u64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let fields: Vec<&str> = stat[stat.rfind(')')? + 1..].split_whitespace().collect();
    // Fields 14 to 17 of the line; the slice starts at field 3.
    (11..=14).map(|i| fields.get(i)?.parse::<u64>().ok()).sum()
}

/// The baseline: a bare tokio-tungstenite echo server, the way its README writes one.
/// Every connection on `listener` is upgraded (any path) and each text or binary message
/// sent back; tungstenite answers pings and closes by itself. `config: None` is
/// tungstenite's default configuration (among others a 128 KiB read buffer per
/// connection). Stops accepting when `stop` turns true.
pub async fn tungstenite_echo_server(
    listener: TcpListener,
    config: Option<WebSocketConfig>,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        let accepted = tokio::select! {
            a = listener.accept() => a,
            _ = stop.changed() => return,
        };
        let Ok((stream, _)) = accepted else {
            // Out of file descriptors and the like: wait a little, as axum does.
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        };
        tokio::spawn(async move {
            let Ok(mut ws) = tokio_tungstenite::accept_async_with_config(stream, config).await else { return };
            while let Some(Ok(m)) = ws.next().await {
                if matches!(m, Message::Text(_) | Message::Binary(_)) && ws.send(m).await.is_err() {
                    return;
                }
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_and_range() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), 3.0);
        assert!(median(&[]).is_nan());
        assert_eq!(range(&[2.0, 5.0, 1.0]), (1.0, 5.0));
    }
}
