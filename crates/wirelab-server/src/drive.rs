//! Runs a sans-IO protocol machine on a real TCP connection: bytes read go in as
//! `Input::Receive`, `Output::Transmit`s are written, `Idle { wake_at }` becomes a
//! sleep, and the wall clock since the connection began is the machine's `now`. The
//! same machines run in the simulator and in the browser; this is their socket.
//!
//! The teaching HTTP server and the `/ws` echo use it; SMTP, POP3, IMAP and FTP will too.

use crate::mailstore::Notice;
use std::collections::HashMap;
use std::future::poll_fn;
use std::mem::MaybeUninit;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::Poll;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::watch;
use wirelab_core::{Input, Instant, Machine, Output};

/// The most read from the socket at once. The buffer lives on the stack only while a
/// read is handled, never in a waiting connection: an idle connection costs no buffer
/// (with 10 000 idle WebSockets, a 16 KiB buffer each was most of the server's memory).
pub const READ_CHUNK: usize = 16 * 1024;

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
    /// The connection is open, before anything is read: a server that speaks first
    /// (SMTP's 220, POP3's +OK, IMAP's * OK) says so now.
    fn on_open(&mut self, _now: Instant) {}
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
    /// News from elsewhere the connection listens to while it waits for its peer (an
    /// IMAP session: what other sessions do to its mailbox). [`drive`] takes it while it
    /// waits and gives it back with [`Connection::put_feed`].
    fn take_feed(&mut self) -> Option<Feed> {
        None
    }
    fn put_feed(&mut self, _feed: Feed) {}
    /// One item of the feed (or why there is none: it lagged, or closed; the feed is
    /// dropped then).
    fn on_feed(&mut self, _now: Instant, _item: Result<Notice, RecvError>) -> Step {
        Step::Continue
    }
}

/// What a connection may listen to besides its peer: the mail store's change bus.
pub type Feed = tokio::sync::broadcast::Receiver<Notice>;

/// The next item of `feed`; never, without one.
async fn next_item(feed: &mut Option<Feed>) -> Result<Notice, RecvError> {
    match feed {
        Some(f) => f.recv().await,
        None => std::future::pending().await,
    }
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
/// `stop` fires; gives the connection back (a client reads its outcome from it).
pub async fn drive<C: Connection>(
    stream: TcpStream,
    peer: SocketAddr,
    mut conn: C,
    limits: DriveLimits,
    stop: watch::Receiver<bool>,
) -> C {
    run(stream, peer, &mut conn, limits, stop).await;
    conn
}

async fn run<C: Connection>(
    mut stream: TcpStream,
    peer: SocketAddr,
    conn: &mut C,
    limits: DriveLimits,
    mut stop: watch::Receiver<bool>,
) {
    let start = std::time::Instant::now();
    let now = move || Instant::from_micros(start.elapsed().as_micros() as u64);
    let mut stopping = false;
    let mut peer_done = false;
    // The idle limit: one timer for the whole connection, moved on only when it fires
    // early (bytes came since it was set), rather than a timer set and cancelled per read.
    let mut heard = tokio::time::Instant::now();
    let idle = tokio::time::sleep(limits.idle);
    tokio::pin!(idle);
    // Made once: polled again each time round rather than made and dropped each time.
    let stopped = stop.changed();
    tokio::pin!(stopped);
    conn.on_open(now());
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
        let mut feed = conn.take_feed();
        let mut feed_ended = false;
        let sleep = async {
            match wake {
                Some(w) => {
                    tokio::time::sleep(Duration::from_micros(w.as_micros().saturating_sub(now().as_micros()))).await
                }
                None => std::future::pending().await,
            }
        };
        // Reads once the socket has bytes, into a buffer on the stack of that one poll,
        // and hands them to the protocol there and then. (The buffer is left
        // uninitialised: the socket fills what it reads, and only that is looked at.)
        let read = poll_fn(|cx| {
            let mut space = [MaybeUninit::<u8>::uninit(); READ_CHUNK];
            let mut buf = ReadBuf::uninit(&mut space);
            match Pin::new(&mut stream).poll_read(cx, &mut buf) {
                Poll::Pending => Poll::Pending,
                Poll::Ready(Ok(())) if !buf.filled().is_empty() => {
                    let bytes = buf.filled();
                    heard = tokio::time::Instant::now();
                    conn.on_read(now(), bytes);
                    if let Err(e) = conn.machine().handle_input(now(), Input::Receive { from: peer, bytes }) {
                        tracing::debug!(%peer, "protocol error: {e}");
                    }
                    Poll::Ready(Read::Bytes)
                }
                // The end of the stream, or an error.
                Poll::Ready(_) => Poll::Ready(Read::Eof),
            }
        });
        tokio::select! {
            item = next_item(&mut feed) => {
                feed_ended = item.is_err();
                if conn.on_feed(now(), item) == Step::Close {
                    flush(conn, &mut stream, now()).await;
                    break 'conn;
                }
            }
            got = read, if !peer_done => {
                if got == Read::Eof {
                    peer_done = true;
                    if conn.on_eof(now()) == Step::Close {
                        // Write what the machine still has to say, then close.
                        flush(conn, &mut stream, now()).await;
                        break 'conn;
                    }
                }
            },
            () = &mut idle, if !peer_done => {
                let due = heard + limits.idle;
                if tokio::time::Instant::now() < due {
                    idle.as_mut().reset(due);
                } else {
                    tracing::debug!(%peer, "idle");
                    if conn.on_idle(now()) == Step::Close {
                        break 'conn;
                    }
                    // The protocol said goodbye its way: give the peer as long again.
                    heard = tokio::time::Instant::now();
                    idle.as_mut().reset(heard + limits.idle);
                }
            },
            () = sleep => {
                let _ = conn.machine().handle_input(now(), Input::Timeout);
            }
            _ = &mut stopped, if !stopping => {
                stopping = true;
                if conn.on_stop(now()) == Step::Close {
                    flush(conn, &mut stream, now()).await;
                    break 'conn;
                }
            }
        }
        if let Some(f) = feed.filter(|_| !feed_ended) {
            conn.put_feed(f);
        }
    }
    linger_close(&mut stream, limits.linger).await;
}

/// What a read gave.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Read {
    /// Bytes, handed to the machine.
    Bytes,
    /// The end of the stream, or an error.
    Eof,
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

/// What an accept loop allows.
#[derive(Clone, Debug, Default)]
pub struct AcceptLimits {
    pub drive: DriveLimits,
    /// The most connections open at once from one client address; `None`: no limit.
    pub per_ip: Option<usize>,
    /// What a client over `per_ip` is told before its connection is closed: the
    /// protocol's own refusal (SMTP's 421, POP3's -ERR, IMAP's `* BYE`).
    pub refusal: Vec<u8>,
}

/// Open connections per client address; a [`Slot`] holds one until dropped.
#[derive(Clone, Debug, Default)]
struct PerIp(Arc<Mutex<HashMap<IpAddr, usize>>>);

struct Slot(PerIp, IpAddr);

impl PerIp {
    fn take(&self, ip: IpAddr, max: usize) -> Option<Slot> {
        let mut open = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let n = open.entry(ip).or_insert(0);
        if *n >= max {
            return None;
        }
        *n += 1;
        Some(Slot(self.clone(), ip))
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut open = self.0.0.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = open.get_mut(&self.1) {
            *n -= 1;
            if *n == 0 {
                open.remove(&self.1);
            }
        }
    }
}

/// Says `refusal` and closes, lingering as a normal close does.
async fn refuse(mut stream: TcpStream, refusal: &[u8], linger: Duration) {
    let _ = stream.write_all(refusal).await;
    linger_close(&mut stream, linger).await;
}

/// Lingering close: our side first, then discard what still comes, briefly.
async fn linger_close(stream: &mut TcpStream, linger: Duration) {
    let _ = stream.shutdown().await;
    let mut discard = vec![0u8; 4096];
    let _ = tokio::time::timeout(linger, async {
        while let Ok(n) = stream.read(&mut discard).await {
            if n == 0 {
                break;
            }
        }
    })
    .await;
}

/// Accepts on `listener` until `stop` fires, running each connection `make(local, peer)`
/// builds in a task of its own until it closes; `alive` is held while any runs, so
/// shutdown can wait for them. A client with `limits.per_ip` connections open gets
/// `limits.refusal` and is closed, and everyone else is served on; the bridge's own
/// connections ([`crate::bridge::BRIDGE_SOURCE`]) are not counted, as the bridge limits
/// each browser itself. The HTTP, SMTP, POP3
/// and IMAP servers all serve this way.
pub async fn accept_loop<C, F>(
    name: &'static str,
    listener: tokio::net::TcpListener,
    limits: AcceptLimits,
    stop: watch::Receiver<bool>,
    alive: tokio::sync::mpsc::Sender<()>,
    make: F,
) where
    C: Connection + Send + 'static,
    <C::M as Machine>::State: Send,
    <C::M as Machine>::Event: Send,
    F: Fn(SocketAddr, SocketAddr) -> C,
{
    let local = match listener.local_addr() {
        Ok(a) => a,
        Err(e) => {
            tracing::error!("{name}: {e}");
            return;
        }
    };
    let mut stop_accept = stop.clone();
    let open = PerIp::default();
    let refusal: Arc<[u8]> = limits.refusal.into();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    let alive = alive.clone();
                    // The bridge limits its browsers itself, per browser address.
                    let bridged = peer.ip() == std::net::IpAddr::V4(crate::bridge::BRIDGE_SOURCE);
                    let slot = match limits.per_ip.filter(|_| !bridged) {
                        Some(max) => match open.take(peer.ip(), max) {
                            Some(slot) => Some(slot),
                            None => {
                                tracing::info!(%peer, "{name}: too many connections from this address");
                                let (refusal, linger) = (refusal.clone(), limits.drive.linger);
                                tokio::spawn(async move {
                                    refuse(stream, &refusal, linger).await;
                                    drop(alive);
                                });
                                continue;
                            }
                        },
                        None => None,
                    };
                    let conn = make(local, peer);
                    let (stop, drive_limits) = (stop.clone(), limits.drive);
                    tokio::spawn(async move {
                        drive(stream, peer, conn, drive_limits, stop).await;
                        drop((slot, alive));
                    });
                }
                Err(e) => {
                    // Out of file descriptors and the like: wait a moment.
                    tracing::warn!("{name} accept: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
            _ = stop_accept.changed() => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::net::TcpListener;
    use wirelab_ws::{Config, Event, WebSocket};

    /// A WebSocket server that closes the connection when the idle limit passes.
    struct Quiet(WebSocket);

    impl Connection for Quiet {
        type M = WebSocket;
        fn machine(&mut self) -> &mut WebSocket {
            &mut self.0
        }
        fn on_event(&mut self, _now: Instant, event: Event) -> Step {
            if event == Event::CloseTransport { Step::Close } else { Step::Continue }
        }
        fn on_eof(&mut self, _now: Instant) -> Step {
            Step::Close
        }
    }

    /// Reads until at least `n` bytes came.
    async fn read_some(s: &mut TcpStream, n: usize) -> Vec<u8> {
        let mut got = Vec::new();
        let mut buf = [0u8; 512];
        while got.len() < n {
            let k = s.read(&mut buf).await.expect("read");
            assert!(k > 0, "closed early, after {got:?}");
            got.extend_from_slice(&buf[..k]);
        }
        got
    }

    /// The idle limit counts from the last bytes heard, not from when the connection
    /// opened; the socket is read in chunks and every byte still reaches the machine.
    #[tokio::test]
    async fn idle_limit_counts_from_the_last_bytes_heard() {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let (_stop_tx, stop) = watch::channel(false);
        let limits = DriveLimits { idle: Duration::from_millis(1000), linger: Duration::from_millis(100) };
        tokio::spawn(async move {
            let (stream, peer) = listener.accept().await.expect("accept");
            drive(stream, peer, Quiet(WebSocket::new(Config::server(addr, peer, 0))), limits, stop).await;
        });
        let mut client = TcpStream::connect(addr).await.expect("connect");
        let handshake = "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
            Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
        client.write_all(handshake.as_bytes()).await.expect("write");
        let response = read_some(&mut client, 12).await;
        assert!(response.starts_with(b"HTTP/1.1 101"), "{}", String::from_utf8_lossy(&response));
        // Read the whole response head (it may have come in pieces).
        let mut head = response;
        while !head.windows(4).any(|w| w == b"\r\n\r\n") {
            head.extend(read_some(&mut client, 1).await);
        }
        tokio::time::sleep(Duration::from_millis(600)).await;
        // A masked Ping "hi" (RFC 6455 §5.5.2), then the Pong comes back: still open.
        client.write_all(&[0x89, 0x82, 1, 2, 3, 4, b'h' ^ 1, b'i' ^ 2]).await.expect("ping");
        assert_eq!(read_some(&mut client, 4).await, [0x8a, 0x02, b'h', b'i']);
        let heard = std::time::Instant::now();
        let mut buf = [0u8; 64];
        let closed = tokio::time::timeout(Duration::from_secs(10), client.read(&mut buf)).await;
        assert!(matches!(closed, Ok(Ok(0))), "the server closes the idle connection: {closed:?}");
        // Counted from the connection's start, the limit would have passed 0.4 s after the Ping.
        assert!(heard.elapsed() >= Duration::from_millis(800), "closed {:?} after the Ping", heard.elapsed());
    }
}
