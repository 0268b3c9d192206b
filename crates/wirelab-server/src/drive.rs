//! Runs a sans-IO protocol machine on a real TCP connection: bytes read go in as
//! `Input::Receive`, `Output::Transmit`s are written, `Idle { wake_at }` becomes a
//! sleep, and the wall clock since the connection began is the machine's `now`. The
//! same machines run in the simulator and in the browser; this is their socket.
//!
//! The teaching HTTP server and the `/ws` echo use it; SMTP, POP3, IMAP and FTP will too.

use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::watch;
use wirelab_core::{Input, Instant, Machine, Output};

/// What the connection should do after an event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    Continue,
    /// Close: shut our sending side, then read and discard for a moment before closing,
    /// so the peer's TCP does not reset the connection before it has read our last
    /// bytes ("lingering close", RFC 9112 §9.6).
    Close,
}

/// How a protocol plugs into [`drive`].
pub trait Connection {
    type M: Machine;
    fn machine(&mut self) -> &mut Self::M;
    fn on_event(&mut self, now: Instant, event: <Self::M as Machine>::Event) -> Step;
    /// The peer closed its sending side (read returned 0).
    fn on_eof(&mut self, now: Instant) -> Step;
    /// The server is stopping: say goodbye the protocol's way (or just close).
    fn on_stop(&mut self, _now: Instant) -> Step {
        Step::Close
    }
    /// Nothing came from the peer for [`DriveLimits::idle`].
    fn on_idle(&mut self, _now: Instant) -> Step {
        Step::Close
    }
    /// Bytes just read, before the machine gets them (a tap's hook).
    fn on_read(&mut self, _now: Instant, _bytes: &[u8]) {}
    /// Bytes just written (a tap's hook).
    fn on_write(&mut self, _now: Instant, _bytes: &[u8]) {}
}

/// Limits every driven connection gets.
#[derive(Clone, Copy, Debug)]
pub struct DriveLimits {
    /// No bytes from the peer for this long: close.
    pub idle: Duration,
    /// How long the lingering close reads and discards.
    pub linger: Duration,
}

impl Default for DriveLimits {
    fn default() -> Self {
        DriveLimits { idle: Duration::from_secs(120), linger: Duration::from_secs(2) }
    }
}

/// Serves one connection until the protocol closes it, the peer goes, it idles out or
/// `stop` fires.
pub async fn drive<C: Connection>(
    mut stream: TcpStream,
    peer: SocketAddr,
    mut conn: C,
    limits: DriveLimits,
    mut stop: watch::Receiver<bool>,
) {
    let start = std::time::Instant::now();
    let now = move || Instant::from_micros(start.elapsed().as_micros() as u64);
    let mut buf = vec![0u8; 16 * 1024];
    let mut stopping = false;
    let mut peer_done = false;
    'conn: loop {
        let wake;
        let mut close = false;
        loop {
            match conn.machine().poll_output(now()) {
                Output::Transmit(t) => {
                    if stream.write_all(&t.bytes).await.is_err() {
                        return;
                    }
                    conn.on_write(now(), &t.bytes);
                }
                Output::Event(e) => close |= conn.on_event(now(), e) == Step::Close,
                Output::Idle { wake_at } => {
                    wake = wake_at;
                    break;
                }
                Output::Transition(_) | Output::Metric(_) => {}
            }
        }
        if close {
            break 'conn;
        }
        let sleep = async {
            match wake {
                Some(w) => {
                    tokio::time::sleep(Duration::from_micros(w.as_micros().saturating_sub(now().as_micros()))).await
                }
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            read = tokio::time::timeout(limits.idle, stream.read(&mut buf)), if !peer_done => match read {
                Err(_) => {
                    tracing::debug!(%peer, "idle");
                    if conn.on_idle(now()) == Step::Close {
                        break 'conn;
                    }
                }
                Ok(Ok(0) | Err(_)) => {
                    peer_done = true;
                    if conn.on_eof(now()) == Step::Close {
                        // Write what the machine still has to say, then close.
                        flush(&mut conn, &mut stream, now()).await;
                        break 'conn;
                    }
                }
                Ok(Ok(n)) => {
                    conn.on_read(now(), &buf[..n]);
                    if let Err(e) = conn.machine().handle_input(now(), Input::Receive { from: peer, bytes: &buf[..n] }) {
                        tracing::debug!(%peer, "protocol error: {e}");
                    }
                }
            },
            () = sleep => {
                let _ = conn.machine().handle_input(now(), Input::Timeout);
            }
            _ = stop.changed(), if !stopping => {
                stopping = true;
                if conn.on_stop(now()) == Step::Close {
                    flush(&mut conn, &mut stream, now()).await;
                    break 'conn;
                }
            }
        }
    }
    // Lingering close: our side first, then discard what still comes, briefly.
    let _ = stream.shutdown().await;
    let _ = tokio::time::timeout(limits.linger, async {
        while let Ok(n) = stream.read(&mut buf).await {
            if n == 0 {
                break;
            }
        }
    })
    .await;
}

/// Writes what the machine still has to send; events after the decision to close are
/// not acted on.
async fn flush<C: Connection>(conn: &mut C, stream: &mut TcpStream, now: Instant) {
    loop {
        match conn.machine().poll_output(now) {
            Output::Transmit(t) => {
                if stream.write_all(&t.bytes).await.is_err() {
                    return;
                }
                conn.on_write(now, &t.bytes);
            }
            Output::Idle { .. } => return,
            Output::Event(_) | Output::Transition(_) | Output::Metric(_) => {}
        }
    }
}
