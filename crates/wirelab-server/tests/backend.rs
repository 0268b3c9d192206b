//! The backend on real loopback ports against clients nobody here wrote: curl and
//! Python's http.client against the teaching HTTP server; tokio-tungstenite against the
//! wire tap, the bridge and the signalling rooms; and a hand-made WebSocket client whose
//! exact bytes the tap must report back.

use futures_util::{SinkExt, StreamExt};
use std::net::SocketAddr;
use std::process::Command;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::oneshot;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use wirelab_ws::tap::{Direction, TapEvent, to_hex};

struct Running {
    app: SocketAddr,
    http: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

async fn start() -> Running {
    let any: SocketAddr = "127.0.0.1:0".parse().expect("addr");
    let app = wirelab_server::bind(any).await.expect("bind");
    let http = wirelab_server::bind(any).await.expect("bind");
    let (app_addr, http_addr) = (app.local_addr().expect("addr"), http.local_addr().expect("addr"));
    let (tx, rx) = oneshot::channel();
    let listeners = wirelab_server::Listeners { app, http: Some(http) };
    let task = tokio::spawn(wirelab_server::serve_all(listeners, async {
        let _ = rx.await;
    }));
    Running { app: app_addr, http: http_addr, stop: Some(tx), task }
}

impl Running {
    fn stop_now(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
    }

    async fn stop(mut self) {
        self.stop_now();
        let done = tokio::time::timeout(Duration::from_secs(15), self.task).await;
        assert!(matches!(done, Ok(Ok(Ok(())))), "server stops cleanly: {done:?}");
    }
}

async fn next_text<S>(ws: &mut S) -> String
where
    S: StreamExt<Item = Result<Message, tokio_tungstenite::tungstenite::Error>> + Unpin,
{
    loop {
        match tokio::time::timeout(Duration::from_secs(5), ws.next()).await.expect("a message in time") {
            Some(Ok(Message::Text(t))) => return t.to_string(),
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
            other => panic!("expected text, got {other:?}"),
        }
    }
}

fn run(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e} (cargo xtask test installs it)"));
    assert!(out.status.success(), "{cmd:?}: {}\n{}", out.status, String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn curl_talks_to_the_teaching_http_server() {
    let server = start().await;
    let base = format!("http://{}", server.http);
    let (b1, b2) = (base.clone(), base.clone());
    let out = tokio::task::spawn_blocking(move || {
        // Two resources on one connection (curl reuses it: keep-alive), headers shown.
        let both = run(Command::new("curl").args(["-sS", "-i", &format!("{b1}/hello.txt"), &format!("{b1}/chunked")]));
        let echo = run(Command::new("curl").args(["-sS", "--data-binary", "echo me", &format!("{b2}/echo")]));
        let missing =
            run(Command::new("curl").args(["-sS", "-o", "/dev/null", "-w", "%{http_code}", &format!("{b2}/nope")]));
        let head = run(Command::new("curl").args(["-sS", "-I", &format!("{b2}/hello.txt")]));
        (both, echo, missing, head)
    })
    .await
    .expect("curl ran");
    let (both, echo, missing, head) = out;
    assert!(both.starts_with("HTTP/1.1 200 OK"), "{both}");
    assert!(both.to_ascii_lowercase().contains("transfer-encoding: chunked"), "the second is chunked: {both}");
    assert_eq!(echo, "echo me");
    assert_eq!(missing, "404");
    assert!(head.starts_with("HTTP/1.1 200") && head.to_ascii_lowercase().contains("content-length:"), "{head}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_http_client_keeps_one_connection_for_several_requests() {
    let server = start().await;
    let port = server.http.port();
    let script = format!(
        r#"
import http.client
c = http.client.HTTPConnection("127.0.0.1", {port}, timeout=5)
out = []
for method, path, body in [("GET", "/hello.txt", None), ("GET", "/chunked", None), ("POST", "/echo", b"x" * 100000), ("GET", "/status/418", None)]:
    c.request(method, path, body=body)
    r = c.getresponse()
    data = r.read()
    out.append(f"{{r.status}} {{len(data)}} {{r.getheader('Connection')}}")
# A space before the colon is a 400 and the connection closes (RFC 9112 §5.1).
import socket
s = socket.create_connection(("127.0.0.1", {port}), timeout=5)
s.sendall(b"GET / HTTP/1.1\r\nHost : x\r\n\r\n")
reply = b""
while True:
    chunk = s.recv(4096)
    if not chunk:
        break
    reply += chunk
out.append(reply.split(b"\r\n")[0].decode())
print("\n".join(out))
"#
    );
    let out = tokio::task::spawn_blocking(move || run(Command::new("python3").args(["-c", &script])))
        .await
        .expect("python ran");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 5, "{out}");
    assert!(lines[0].starts_with("200 "), "{out}");
    assert!(lines[1].starts_with("200 "), "{out}");
    assert!(lines[2].starts_with("200 100000"), "the POST body echoed whole: {out}");
    assert!(lines[3].starts_with("418 "), "{out}");
    assert_eq!(lines[4], "HTTP/1.1 400 Bad Request");
    server.stop().await;
}

/// Python's `websockets` (PyPI; `cargo xtask test` installs it into target/pyenv) against
/// `/ws`: text, binary, a 60 kB message (64-bit length), ping/pong, a close handshake
/// with our code and reason, and the wire tap seeing its handshake.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_websockets_client_talks_to_our_machine() {
    let server = start().await;
    let url = format!("ws://{}/ws?tap=py-client", server.app);
    let script = format!(
        r#"
import asyncio, websockets
async def main():
    async with websockets.connect("{url}", max_size=2**20, compression=None) as ws:
        await ws.send("héllo")
        print("text", await ws.recv())
        await ws.send(bytes(range(256)))
        got = await ws.recv()
        print("binary", len(got), got == bytes(range(256)))
        big = "x" * 60000
        await ws.send(big)
        print("big", (await ws.recv()) == big)
        pong = await ws.ping(b"are you there")
        latency = await asyncio.wait_for(pong, 5)
        print("pong", latency >= 0)
        await ws.close(code=4000, reason="bye from python")
        # The server's Close echoes our code (RFC 6455 §5.5.1).
        print("closed", ws.close_code)
asyncio.run(main())
"#
    );
    let out = tokio::task::spawn_blocking(move || run(Command::new("python3").args(["-c", &script])))
        .await
        .expect("python ran");
    assert_eq!(
        out.lines().collect::<Vec<_>>(),
        ["text héllo", "binary 256 True", "big True", "pong True", "closed 4000"],
        "{out}"
    );
    server.stop().await;
}

/// What a page's WebSocket API cannot send, the echo sends on request: `/ping`, `/close
/// CODE reason`, `/fragmented N text`; a code no endpoint may send is refused in words.
#[tokio::test]
async fn the_echo_pings_closes_and_fragments_on_request() {
    let server = start().await;
    let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{}/ws", server.app)).await.expect("upgrade");
    ws.send(Message::text("/ping are you there")).await.expect("send");
    let got = tokio::time::timeout(Duration::from_secs(5), ws.next()).await.expect("in time");
    assert!(matches!(&got, Some(Ok(Message::Ping(p))) if &p[..] == b"are you there"), "{got:?}");
    ws.send(Message::text("/fragmented 3 abcdefghi")).await.expect("send");
    let got = tokio::time::timeout(Duration::from_secs(5), ws.next()).await.expect("in time");
    assert!(matches!(&got, Some(Ok(Message::Text(t))) if t.as_str() == "abcdefghi"), "reassembled: {got:?}");
    ws.send(Message::text("/close 1005")).await.expect("send");
    let got = tokio::time::timeout(Duration::from_secs(5), ws.next()).await.expect("in time");
    assert!(matches!(&got, Some(Ok(Message::Text(t))) if t.starts_with("refused: ")), "1005 is never sent: {got:?}");
    ws.send(Message::text("/close 1008 not allowed here")).await.expect("send");
    let got = tokio::time::timeout(Duration::from_secs(5), ws.next()).await.expect("in time");
    match got {
        Some(Ok(Message::Close(Some(f)))) => {
            assert_eq!(u16::from(f.code), 1008);
            assert_eq!(f.reason.as_str(), "not allowed here");
        }
        other => panic!("expected the server's Close 1008, got {other:?}"),
    }
    server.stop().await;
}

/// The tap reports the very bytes a client sent and got: handshake and frames, masks and all.
#[tokio::test]
async fn the_wire_tap_reports_exact_bytes() {
    let server = start().await;
    let id = "test-tap-0123456789abcdef";
    let (mut feed, _) =
        tokio_tungstenite::connect_async(format!("ws://{}/ws/tap/{id}", server.app)).await.expect("tap feed");
    let mut raw = TcpStream::connect(server.app).await.expect("connect");
    let request = format!(
        "GET /ws?tap={id} HTTP/1.1\r\nHost: {}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nX-Student: ada\r\n\r\n",
        server.app
    );
    raw.write_all(request.as_bytes()).await.expect("write");
    let mut response = Vec::new();
    let mut buf = [0u8; 1024];
    while !response.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = tokio::time::timeout(Duration::from_secs(5), raw.read(&mut buf)).await.expect("in time").expect("read");
        assert!(n > 0, "server closed during the handshake");
        response.extend_from_slice(&buf[..n]);
    }
    let text = String::from_utf8_lossy(&response).to_string();
    assert!(text.starts_with("HTTP/1.1 101"), "{text}");
    assert!(text.contains("s3pPLMBiTxaQ9kYGzzhZRbK+xOo="), "RFC 6455 §1.3's accept value: {text}");
    // RFC 6455 §5.7: a masked "Hello".
    let frame = [0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58];
    raw.write_all(&frame).await.expect("write");
    let mut echo = Vec::new();
    while echo.len() < 7 {
        let n = tokio::time::timeout(Duration::from_secs(5), raw.read(&mut buf)).await.expect("in time").expect("read");
        echo.extend_from_slice(&buf[..n]);
    }
    assert_eq!(echo, [0x81, 0x05, b'H', b'e', b'l', b'l', b'o'], "the echo, unmasked from the server (§5.1)");
    let mut events = Vec::new();
    while events.len() < 4 {
        let e: TapEvent = serde_json::from_str(&next_text(&mut feed).await).expect("a tap event");
        events.push(e);
    }
    assert!(
        matches!(&events[0], TapEvent::Request { hex, .. } if *hex == to_hex(request.as_bytes())),
        "{:?}",
        events[0]
    );
    assert!(matches!(&events[1], TapEvent::Response { hex, .. } if *hex == to_hex(&response)), "{:?}", events[1]);
    assert!(
        matches!(&events[2], TapEvent::Frame { dir: Direction::In, masked: true, hex, .. } if *hex == to_hex(&frame)),
        "{:?}",
        events[2]
    );
    assert!(
        matches!(&events[3], TapEvent::Frame { dir: Direction::Out, masked: false, hex, .. } if *hex == to_hex(&echo)),
        "{:?}",
        events[3]
    );
    server.stop().await;
}

#[tokio::test]
async fn shutdown_closes_open_websockets_with_going_away() {
    let mut server = start().await;
    let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{}/ws", server.app)).await.expect("upgrade");
    ws.send(Message::text("hi")).await.expect("send");
    assert_eq!(next_text(&mut ws).await, "hi");
    server.stop_now();
    match tokio::time::timeout(Duration::from_secs(5), ws.next()).await.expect("in time") {
        Some(Ok(Message::Close(Some(f)))) => assert_eq!(f.code, CloseCode::Away, "1001 going away"),
        other => panic!("expected Close 1001, got {other:?}"),
    }
    // Answering the Close lets the server finish at once rather than after its timeout.
    let _ = ws.close(None).await;
    let task = server.task;
    let done = tokio::time::timeout(Duration::from_secs(10), task).await;
    assert!(matches!(done, Ok(Ok(Ok(())))), "{done:?}");
}

/// The bridge reaches the teaching HTTP server, and nothing that is not in its table.
#[tokio::test]
async fn the_bridge_carries_bytes_to_its_services_only() {
    let server = start().await;
    let (mut ws, _) =
        tokio_tungstenite::connect_async(format!("ws://{}/bridge/http", server.app)).await.expect("bridge");
    ws.send(Message::binary(b"GET /hello.txt HTTP/1.1\r\nHost: wirelab\r\nConnection: close\r\n\r\n".to_vec()))
        .await
        .expect("send");
    let mut got = Vec::new();
    loop {
        match tokio::time::timeout(Duration::from_secs(5), ws.next()).await.expect("in time") {
            Some(Ok(Message::Binary(b))) => got.extend_from_slice(&b),
            Some(Ok(Message::Close(Some(f)))) => {
                assert_eq!(f.code, CloseCode::Normal, "the server closed: {f:?}");
                break;
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    let text = String::from_utf8_lossy(&got);
    assert!(text.starts_with("HTTP/1.1 200 OK\r\n"), "{text}");
    // Unknown services are refused before any upgrade.
    match tokio_tungstenite::connect_async(format!("ws://{}/bridge/ssh-to-anywhere", server.app)).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(r)) => assert_eq!(r.status().as_u16(), 404),
        other => panic!("expected 404, got {other:?}"),
    }
    server.stop().await;
}

#[tokio::test]
async fn two_peers_meet_in_a_room_and_exchange_an_offer() {
    let server = start().await;
    // A room id from the server: 128 random bits as 26 base32 characters.
    let mut s = TcpStream::connect(server.app).await.expect("connect");
    s.write_all(b"POST /signal/rooms HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        .await
        .expect("write");
    let mut resp = String::new();
    s.read_to_string(&mut resp).await.expect("read");
    let body = resp.split("\r\n\r\n").nth(1).expect("a body");
    let room =
        serde_json::from_str::<serde_json::Value>(body).expect("json")["room"].as_str().expect("room").to_string();
    assert_eq!(room.len(), 26, "{room}");

    let url = format!("ws://{}/signal", server.app);
    let (mut a, _) = tokio_tungstenite::connect_async(&url).await.expect("a");
    let (mut b, _) = tokio_tungstenite::connect_async(&url).await.expect("b");
    let welcome_a: serde_json::Value = serde_json::from_str(&next_text(&mut a).await).expect("json");
    let _welcome_b = next_text(&mut b).await;
    let a_id = welcome_a["you"].clone();
    a.send(Message::text(format!(r#"{{"type":"join","room":"{room}","name":"ada"}}"#))).await.expect("join");
    assert!(next_text(&mut a).await.contains(r#""type":"joined""#));
    b.send(Message::text(format!(r#"{{"type":"join","room":"{room}","name":"bob"}}"#))).await.expect("join");
    let joined_b = next_text(&mut b).await;
    assert!(joined_b.contains(r#""type":"joined""#) && joined_b.contains("ada"), "{joined_b}");
    assert!(next_text(&mut a).await.contains(r#""type":"peer-joined""#));
    b.send(Message::text(format!(r#"{{"type":"offer","to":{a_id},"sdp":"v=0\r\n"}}"#))).await.expect("offer");
    let offer = next_text(&mut a).await;
    assert!(offer.contains(r#""type":"offer""#) && offer.contains("v=0"), "{offer}");
    drop(b);
    assert!(next_text(&mut a).await.contains(r#""type":"peer-left""#));
    server.stop().await;
}
