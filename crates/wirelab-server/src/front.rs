//! The front door: one port for the app, its HTTP routes and the WebSocket endpoints.
//!
//! Every connection's request head is read first (at most [`MAX_HEAD`] bytes, within
//! [`HEAD_TIMEOUT`]). A WebSocket upgrade to a tapped path is handed, with the exact bytes
//! read, to a handler that speaks RFC 6455 with our own machine, so it can show the
//! student every byte their browser sent. Every other connection goes to axum with the
//! bytes already read put back in front ([`Rewind`]), through [`FrontDoor`], an
//! [`axum::serve::Listener`], so axum's graceful shutdown still covers it.

use axum::serve::Listener;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};

/// The most a request head may take before the connection is handed on undecided.
pub const MAX_HEAD: usize = 8 * 1024;
/// How long a client may take to send its request head before it is handed on.
pub const HEAD_TIMEOUT: Duration = Duration::from_secs(10);

/// A stream with bytes already read from it put back in front.
#[derive(Debug)]
pub struct Rewind<S> {
    prefix: Vec<u8>,
    at: usize,
    inner: S,
}

impl<S> Rewind<S> {
    pub fn new(prefix: Vec<u8>, inner: S) -> Self {
        Rewind { prefix, at: 0, inner }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Rewind<S> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        if self.at < self.prefix.len() {
            let n = (self.prefix.len() - self.at).min(buf.remaining());
            let at = self.at;
            buf.put_slice(&self.prefix[at..at + n]);
            self.at += n;
            if self.at == self.prefix.len() {
                self.prefix = Vec::new();
                self.at = 0;
            }
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Rewind<S> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

/// A connection whose request head has been read.
#[derive(Debug)]
pub struct Sniffed {
    pub stream: TcpStream,
    pub peer: SocketAddr,
    pub local: SocketAddr,
    /// Everything read so far: the head, and maybe the first bytes after it.
    pub head: Vec<u8>,
}

impl Sniffed {
    /// The request line's method and target, if the head has a complete first line.
    pub fn request_line(&self) -> Option<(&str, &str)> {
        let end = self.head.windows(2).position(|w| w == b"\r\n")?;
        let line = std::str::from_utf8(&self.head[..end]).ok()?;
        let mut parts = line.split(' ');
        Some((parts.next()?, parts.next()?))
    }

    /// The first header named `name` (any case), if the head parses and has it as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        let mut headers = [httparse::EMPTY_HEADER; 64];
        let mut req = httparse::Request::new(&mut headers);
        req.parse(&self.head).ok()?;
        let value = req.headers.iter().find(|h| h.name.eq_ignore_ascii_case(name))?.value;
        // The value borrows from `self.head`, not from the parser: find it there again.
        let start = self.head.windows(value.len().max(1)).position(|w| w == value)?;
        std::str::from_utf8(&self.head[start..start + value.len()]).ok()
    }

    /// Whether the head asks for a WebSocket upgrade (RFC 6455 §4.1: `Upgrade: websocket`).
    pub fn is_websocket_upgrade(&self) -> bool {
        let mut headers = [httparse::EMPTY_HEADER; 64];
        let mut req = httparse::Request::new(&mut headers);
        if !matches!(req.parse(&self.head), Ok(httparse::Status::Complete(_))) {
            return false;
        }
        req.headers.iter().any(|h| {
            h.name.eq_ignore_ascii_case("upgrade")
                && std::str::from_utf8(h.value)
                    .is_ok_and(|v| v.split(',').any(|t| t.trim().eq_ignore_ascii_case("websocket")))
        })
    }
}

/// Answers a connection with an HTTP error of our own (before anyone upgraded it) and
/// closes it.
pub async fn refuse(mut s: Sniffed, status: u16, reason: &str, body: String) {
    use tokio::io::AsyncWriteExt;
    let body = body + "\n";
    let response = format!(
        "HTTP/1.1 {status} {reason}\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = s.stream.write_all(response.as_bytes()).await;
    let _ = s.stream.shutdown().await;
}

/// Decides, from the head, whether a handler of ours takes the connection: it hands the
/// connection back (`Some`) to send it on to axum.
pub type Tap = Arc<dyn Fn(Sniffed) -> Option<Sniffed> + Send + Sync>;

/// The listener axum serves from: connections the tap declined, with their heads put back.
#[derive(Debug)]
pub struct FrontDoor {
    rx: mpsc::Receiver<(Rewind<TcpStream>, SocketAddr)>,
    local: SocketAddr,
}

impl FrontDoor {
    /// Accepts on `listener`; each connection's head is read in its own task (a slow
    /// client holds up no one), then offered to `tap`.
    /// Stops accepting when `stop` turns true.
    pub fn new(listener: TcpListener, tap: Tap, mut stop: watch::Receiver<bool>) -> io::Result<FrontDoor> {
        let local = listener.local_addr()?;
        let (tx, rx) = mpsc::channel(64);
        tokio::spawn(async move {
            loop {
                let accepted = tokio::select! {
                    a = listener.accept() => a,
                    _ = stop.changed() => return,
                };
                let (stream, peer) = match accepted {
                    Ok(c) => c,
                    Err(e) => {
                        // Out of file descriptors and the like: wait, as axum's own loop does.
                        tracing::warn!("accept: {e}");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                if tx.is_closed() {
                    return;
                }
                let (tx, tap) = (tx.clone(), tap.clone());
                tokio::spawn(async move {
                    let sniffed = sniff(stream, peer, local).await;
                    if let Some(s) = tap(sniffed) {
                        // axum stopped accepting (shutting down): the connection is dropped.
                        let _ = tx.send((Rewind::new(s.head, s.stream), s.peer)).await;
                    }
                });
            }
        });
        Ok(FrontDoor { rx, local })
    }
}

/// Reads until the end of the head (`\r\n\r\n`), [`MAX_HEAD`] bytes, EOF, an error or
/// [`HEAD_TIMEOUT`], whichever is first; whatever was read is kept.
async fn sniff(mut stream: TcpStream, peer: SocketAddr, local: SocketAddr) -> Sniffed {
    let mut head = Vec::with_capacity(1024);
    let read = async {
        let mut buf = [0u8; 2048];
        while head.len() < MAX_HEAD && !head.windows(4).any(|w| w == b"\r\n\r\n") {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => head.extend_from_slice(&buf[..n]),
            }
        }
    };
    let _ = tokio::time::timeout(HEAD_TIMEOUT, read).await;
    Sniffed { stream, peer, local, head }
}

/// The client's address, as axum's `ConnectInfo` gives it to handlers (the per-client
/// limits of the bridge count by it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientAddr(pub SocketAddr);

impl axum::extract::connect_info::Connected<axum::serve::IncomingStream<'_, FrontDoor>> for ClientAddr {
    fn connect_info(stream: axum::serve::IncomingStream<'_, FrontDoor>) -> Self {
        ClientAddr(*stream.remote_addr())
    }
}

impl Listener for FrontDoor {
    type Io = Rewind<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.rx.recv().await {
            Some(c) => c,
            // The accept loop has stopped (the server is stopping): nothing more comes.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        Ok(self.local)
    }
}
