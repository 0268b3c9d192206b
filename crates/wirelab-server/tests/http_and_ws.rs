//! The server on a real loopback port, spoken to by real clients: a raw HTTP/1.1 request
//! and tokio-tungstenite's WebSocket client (a client nobody here wrote).

use futures_util::{SinkExt, StreamExt};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::oneshot;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

struct Running {
    addr: std::net::SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

async fn start() -> Running {
    let listener = wirelab_server::bind("127.0.0.1:0".parse().expect("addr")).await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (tx, rx) = oneshot::channel();
    let task = tokio::spawn(wirelab_server::serve(listener, async {
        let _ = rx.await;
    }));
    Running { addr, stop: Some(tx), task }
}

impl Running {
    async fn stop(mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        let done = tokio::time::timeout(Duration::from_secs(10), self.task).await;
        assert!(matches!(done, Ok(Ok(Ok(())))), "server stops cleanly: {done:?}");
    }
}

/// One HTTP/1.1 request with `Connection: close`; returns the whole response.
async fn http_get(addr: std::net::SocketAddr, path: &str) -> String {
    let mut s = TcpStream::connect(addr).await.expect("connect");
    let req = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    s.write_all(req.as_bytes()).await.expect("write");
    let mut out = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut out)).await.expect("in time").expect("read");
    String::from_utf8_lossy(&out).into_owned()
}

#[tokio::test]
async fn healthz_index_fallback_and_404() {
    let server = start().await;
    let health = http_get(server.addr, "/healthz").await;
    assert!(health.starts_with("HTTP/1.1 200"), "{health}");
    assert!(health.ends_with("ok\n"));
    let index = http_get(server.addr, "/").await;
    assert!(index.starts_with("HTTP/1.1 200"));
    assert!(index.to_ascii_lowercase().contains("content-type: text/html"));
    assert!(index.contains("<title>"));
    // A deep link into the app gets the app.
    let deep = http_get(server.addr, "/embed/tcp-handshake").await;
    assert!(deep.starts_with("HTTP/1.1 200"));
    // A missing asset does not.
    let missing = http_get(server.addr, "/nope.js").await;
    assert!(missing.starts_with("HTTP/1.1 404"), "{missing}");
    server.stop().await;
}

#[tokio::test]
async fn ws_echoes_text_and_binary_and_closes_cleanly() {
    let server = start().await;
    let (mut ws, resp) = tokio_tungstenite::connect_async(format!("ws://{}/ws", server.addr)).await.expect("upgrade");
    assert_eq!(resp.status().as_u16(), 101);
    ws.send(Message::text("hello, wirelab")).await.expect("send");
    let echo = tokio::time::timeout(Duration::from_secs(5), ws.next()).await.expect("in time");
    assert_eq!(echo.and_then(Result::ok), Some(Message::text("hello, wirelab")));
    ws.send(Message::binary(vec![0u8, 1, 2, 255])).await.expect("send");
    let echo = tokio::time::timeout(Duration::from_secs(5), ws.next()).await.expect("in time");
    assert_eq!(echo.and_then(Result::ok), Some(Message::binary(vec![0u8, 1, 2, 255])));
    ws.send(Message::Ping(vec![7u8].into())).await.expect("ping");
    let pong = tokio::time::timeout(Duration::from_secs(5), ws.next()).await.expect("in time");
    assert_eq!(pong.and_then(Result::ok), Some(Message::Pong(vec![7u8].into())));
    // The close handshake completes: our Close (1000) comes back (RFC 6455 §5.5.1).
    ws.close(Some(CloseFrame { code: CloseCode::Normal, reason: "bye".into() })).await.expect("close");
    let reply = tokio::time::timeout(Duration::from_secs(5), ws.next()).await.expect("in time");
    match reply {
        Some(Ok(Message::Close(Some(frame)))) => assert_eq!(frame.code, CloseCode::Normal),
        other => panic!("expected the server's Close, got {other:?}"),
    }
    server.stop().await;
}

#[tokio::test]
async fn oversized_ws_messages_are_refused_and_others_still_served() {
    let server = start().await;
    let (mut big, _) = tokio_tungstenite::connect_async(format!("ws://{}/ws", server.addr)).await.expect("upgrade");
    let _ = big.send(Message::binary(vec![0u8; wirelab_server::MAX_WS_MESSAGE + 1])).await;
    // The server must close (or drop) this connection rather than echo it.
    let reply = tokio::time::timeout(Duration::from_secs(5), big.next()).await.expect("in time");
    assert!(!matches!(reply, Some(Ok(Message::Binary(_)))), "no echo of an oversized message: {reply:?}");
    // Everyone else is still served.
    let (mut ok, _) = tokio_tungstenite::connect_async(format!("ws://{}/ws", server.addr)).await.expect("upgrade");
    ok.send(Message::text("still here")).await.expect("send");
    let echo = tokio::time::timeout(Duration::from_secs(5), ok.next()).await.expect("in time");
    assert_eq!(echo.and_then(Result::ok), Some(Message::text("still here")));
    server.stop().await;
}
