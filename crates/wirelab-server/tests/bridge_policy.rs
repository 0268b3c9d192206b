//! What the backend refuses, and that it keeps serving everyone else: pages of foreign
//! origins, too many bridged connections from one client, bridge targets off its table
//! (other ports on 127.0.0.1, other addresses), FTP data connections to ports the FTP
//! server never announced, PORT commands naming a third party; malformed WebSocket frames
//! (close 1002) and handshakes (400).
//!
//! The FTP server here is a stand-in written for this test (a few lines that answer PASV,
//! EPSV and PORT): the bridge's side of FTP's second connection is what is tested; the
//! real FTP server comes with its own issue.

use futures_util::{SinkExt, StreamExt};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use wirelab_server::bridge::{BridgeLimits, Service, ServiceKind};
use wirelab_server::{Listeners, ServeConfig};

type Ws = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<TcpStream>>;

struct Running {
    app: SocketAddr,
    http: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

async fn start(config: ServeConfig) -> Running {
    let any: SocketAddr = "127.0.0.1:0".parse().expect("addr");
    let app = wirelab_server::bind(any).await.expect("bind");
    let http = wirelab_server::bind(any).await.expect("bind");
    let (app_addr, http_addr) = (app.local_addr().expect("addr"), http.local_addr().expect("addr"));
    let (tx, rx) = oneshot::channel();
    let task = tokio::spawn(wirelab_server::serve_with(Listeners { app, http: Some(http) }, config, async {
        let _ = rx.await;
    }));
    Running { app: app_addr, http: http_addr, stop: Some(tx), task }
}

impl Running {
    async fn stop(mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        let done = tokio::time::timeout(Duration::from_secs(15), self.task).await;
        assert!(matches!(done, Ok(Ok(Ok(())))), "server stops cleanly: {done:?}");
    }
}

async fn open(url: &str, origin: Option<&str>) -> Result<Ws, WsError> {
    let mut req = url.into_client_request().expect("request");
    if let Some(o) = origin {
        req.headers_mut().insert("origin", o.parse().expect("header"));
    }
    tokio::time::timeout(Duration::from_secs(5), tokio_tungstenite::connect_async(req))
        .await
        .expect("handshake in time")
        .map(|(ws, _)| ws)
}

fn status(r: Result<Ws, WsError>) -> u16 {
    match r {
        Err(WsError::Http(resp)) => resp.status().as_u16(),
        Ok(_) => 101,
        Err(e) => panic!("expected an HTTP refusal, got {e}"),
    }
}

/// Next message that is not a ping/pong, within 5 s.
async fn next(ws: &mut Ws) -> Option<Message> {
    loop {
        match tokio::time::timeout(Duration::from_secs(5), ws.next()).await.expect("a message in time") {
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
            Some(Ok(m)) => return Some(m),
            _ => return None,
        }
    }
}

async fn expect_notice(ws: &mut Ws, kind: &str) -> serde_json::Value {
    loop {
        match next(ws).await {
            Some(Message::Text(t)) => {
                let v: serde_json::Value = serde_json::from_str(&t).expect("notices are JSON");
                if v["type"] == kind {
                    return v;
                }
            }
            Some(Message::Binary(_)) => continue,
            other => panic!("expected a {kind} notice, got {other:?}"),
        }
    }
}

/// Bytes until the bridge closes; returns them and the close code.
async fn read_to_close(ws: &mut Ws) -> (Vec<u8>, Option<CloseCode>) {
    let mut got = Vec::new();
    loop {
        match next(ws).await {
            Some(Message::Binary(b)) => got.extend_from_slice(&b),
            Some(Message::Text(_)) => {}
            Some(Message::Close(f)) => return (got, f.map(|f| f.code)),
            _ => return (got, None),
        }
    }
}

/// Binary messages until `needle` has arrived.
async fn read_until(ws: &mut Ws, needle: &str) -> String {
    let mut got = String::new();
    while !got.contains(needle) {
        match next(ws).await {
            Some(Message::Binary(b)) => got.push_str(&String::from_utf8_lossy(&b)),
            Some(Message::Text(_)) => {}
            other => panic!("waiting for {needle:?}, got {other:?} after {got:?}"),
        }
    }
    got
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn foreign_origins_are_refused_the_apps_own_and_listed_ones_are_not() {
    let config = ServeConfig {
        origins: wirelab_server::origin::Origins::new(["https://course.example".into()]),
        ..Default::default()
    };
    let server = start(config).await;
    let own = format!("http://{}", server.app);
    for path in ["ws", "signal", "bridge/http"] {
        let url = format!("ws://{}/{path}", server.app);
        assert_eq!(status(open(&url, Some("https://evil.example")).await), 403, "{path} from another site");
        assert_eq!(status(open(&url, Some("null")).await), 403, "{path} from a sandboxed page");
        assert_eq!(status(open(&url, Some(&own)).await), 101, "{path} from the app itself");
        assert_eq!(status(open(&url, Some("https://course.example")).await), 101, "{path} from a listed page");
        assert_eq!(status(open(&url, None).await), 101, "{path} from a non-browser client");
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_client_may_hold_only_so_many_bridged_connections() {
    let config = ServeConfig { bridge: BridgeLimits { per_client: 2, ..Default::default() }, ..Default::default() };
    let server = start(config).await;
    let url = format!("ws://{}/bridge/http", server.app);
    let mut a = open(&url, None).await.expect("first");
    let _b = open(&url, None).await.expect("second");
    assert_eq!(status(open(&url, None).await), 429, "a third at once is refused");
    a.close(None).await.expect("close");
    // The slot comes back once the bridge has seen the close.
    let mut third = None;
    for _ in 0..50 {
        match open(&url, None).await {
            Ok(ws) => {
                third = Some(ws);
                break;
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
        }
    }
    let mut third = third.expect("a slot again after closing one");
    third.send(Message::text("GET /hello.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")).await.expect("send");
    let (got, code) = read_to_close(&mut third).await;
    assert!(got.starts_with(b"HTTP/1.1 200 OK\r\n"), "{}", String::from_utf8_lossy(&got));
    assert_eq!(code, Some(CloseCode::Normal));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bridge_reaches_nothing_off_its_table() {
    let server = start(ServeConfig::default()).await;
    // Something else listening on loopback that the bridge must never reach.
    let other = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let other_port = other.local_addr().expect("addr").port();
    let app = server.app;
    for target in [
        format!("127.0.0.1:{other_port}"),
        format!("127.0.0.1%3A{}", server.http.port()),
        format!("{other_port}"),
        "localhost".to_string(),
        "10.0.0.1:22".to_string(),
        "%5B::1%5D:22".to_string(),
        "..%2Fhttp".to_string(),
        "HTTP".to_string(),
    ] {
        assert_eq!(status(open(&format!("ws://{app}/bridge/{target}"), None).await), 404, "{target}");
    }
    // A query naming a host or port is ignored: the connection still goes to the table's
    // HTTP server, and the other listener sees nobody.
    let mut ws =
        open(&format!("ws://{app}/bridge/http?host=127.0.0.1&port={other_port}"), None).await.expect("upgrade");
    ws.send(Message::binary(b"GET /hello.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".to_vec()))
        .await
        .expect("send");
    let (got, _) = read_to_close(&mut ws).await;
    assert!(String::from_utf8_lossy(&got).contains("Server: wirelab"), "{}", String::from_utf8_lossy(&got));
    // Data connections exist for FTP only.
    assert_eq!(status(open(&format!("ws://{app}/bridge/http/data?session=x&port={other_port}"), None).await), 404);
    let nobody = tokio::time::timeout(Duration::from_millis(200), other.accept()).await;
    assert!(nobody.is_err(), "the bridge connected to a port off its table: {nobody:?}");
    server.stop().await;
}

/// A stand-in FTP control server: 220, then PASV / EPSV / `PASV-ELSEWHERE` / PORT.
async fn fake_ftp(listener: TcpListener) {
    loop {
        let Ok((stream, _)) = listener.accept().await else { return };
        tokio::spawn(async move {
            let (rd, mut wr) = stream.into_split();
            let mut lines = BufReader::new(rd).lines();
            let _ = wr.write_all(b"220 stand-in FTP\r\n").await;
            while let Ok(Some(line)) = lines.next_line().await {
                let (verb, arg) = line.split_once(' ').unwrap_or((&line, ""));
                match verb {
                    "PASV" | "EPSV" => {
                        let data = TcpListener::bind("127.0.0.1:0").await.expect("bind");
                        let port = data.local_addr().expect("addr").port();
                        let [p1, p2] = port.to_be_bytes();
                        let reply = if verb == "PASV" {
                            format!("227 Entering Passive Mode (127,0,0,1,{p1},{p2}).\r\n")
                        } else {
                            format!("229 Entering Extended Passive Mode (|||{port}|)\r\n")
                        };
                        let _ = wr.write_all(reply.as_bytes()).await;
                        let verb = verb.to_string();
                        tokio::spawn(async move {
                            if let Ok((mut s, _)) = data.accept().await {
                                let _ = s.write_all(format!("passive data via {verb}").as_bytes()).await;
                            }
                        });
                    }
                    "PASV-ELSEWHERE" => {
                        let _ = wr.write_all(b"227 Entering Passive Mode (192,0,2,1,4,1).\r\n").await;
                    }
                    "PORT" => {
                        let n: Vec<u16> = arg.split(',').filter_map(|x| x.parse().ok()).collect();
                        let addr =
                            SocketAddr::from(([n[0] as u8, n[1] as u8, n[2] as u8, n[3] as u8], n[4] * 256 + n[5]));
                        let _ = wr.write_all(b"200 PORT command successful\r\n").await;
                        if let Ok(mut s) = TcpStream::connect(addr).await {
                            let _ = s.write_all(b"active data").await;
                        }
                    }
                    _ => {
                        let _ = wr.write_all(b"502 not in this stand-in\r\n").await;
                    }
                }
            }
        });
    }
}

async fn with_ftp() -> Running {
    let ftp = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = ftp.local_addr().expect("addr");
    tokio::spawn(fake_ftp(ftp));
    let mut extra_services = BTreeMap::new();
    extra_services.insert("ftp".to_string(), Service { addr, kind: ServiceKind::Ftp });
    start(ServeConfig { extra_services, ..Default::default() }).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ftp_passive_data_goes_only_to_ports_the_server_announced() {
    let server = with_ftp().await;
    let app = server.app;
    let mut ctl = open(&format!("ws://{app}/bridge/ftp"), None).await.expect("control");
    let id = expect_notice(&mut ctl, "session").await["id"].as_str().expect("id").to_string();
    assert_eq!(id.len(), 32, "128 bits in hex: {id}");
    read_until(&mut ctl, "220 ").await;
    let data = |port: u16, session: &str| format!("ws://{app}/bridge/ftp/data?session={session}&port={port}");

    // Nothing announced yet: the HTTP server's port on the same host is refused.
    assert_eq!(status(open(&data(server.http.port(), &id), None).await), 403);
    // An announcement naming another host is not followed.
    ctl.send(Message::text("PASV-ELSEWHERE\r\n")).await.expect("send");
    read_until(&mut ctl, "227 ").await;
    assert_eq!(status(open(&data(1025, &id), None).await), 403);

    for verb in ["PASV", "EPSV"] {
        ctl.send(Message::text(format!("{verb}\r\n"))).await.expect("send");
        let port = expect_notice(&mut ctl, "data-port").await["port"].as_u64().expect("port") as u16;
        assert_eq!(status(open(&data(port, "0123456789abcdef0123456789abcdef"), None).await), 403, "another session");
        let mut d = open(&data(port, &id), None).await.expect("data connection");
        let (got, code) = read_to_close(&mut d).await;
        assert_eq!(String::from_utf8_lossy(&got), format!("passive data via {verb}"));
        assert_eq!(code, Some(CloseCode::Normal));
        assert_eq!(status(open(&data(port, &id), None).await), 403, "an announcement is good for one connection");
    }
    // Once the control connection is gone, so is its session.
    ctl.send(Message::text("PASV\r\n")).await.expect("send");
    let port = expect_notice(&mut ctl, "data-port").await["port"].as_u64().expect("port") as u16;
    ctl.close(None).await.expect("close");
    let _ = read_to_close(&mut ctl).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(status(open(&data(port, &id), None).await), 403);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ftp_active_mode_listens_for_the_server_and_port_may_name_nothing_else() {
    let server = with_ftp().await;
    let app = server.app;
    let mut ctl = open(&format!("ws://{app}/bridge/ftp"), None).await.expect("control");
    let id = expect_notice(&mut ctl, "session").await["id"].as_str().expect("id").to_string();
    read_until(&mut ctl, "220 ").await;
    let mut d = open(&format!("ws://{app}/bridge/ftp/data?session={id}&mode=active"), None).await.expect("listen");
    let listening = expect_notice(&mut d, "listening").await;
    let port_cmd = listening["port"].as_str().expect("a PORT command").to_string();
    assert!(port_cmd.starts_with("PORT 127,0,0,1,"), "{listening}");
    assert!(listening["eprt"].as_str().expect("eprt").starts_with("EPRT |1|127.0.0.1|"), "{listening}");
    ctl.send(Message::text(format!("{port_cmd}\r\n"))).await.expect("send");
    read_until(&mut ctl, "200 PORT").await;
    let (got, _) = read_to_close(&mut d).await;
    assert_eq!(got, b"active data");

    // PORT naming anyone else (here: the teaching HTTP server) ends the session, before
    // the FTP server sees the command.
    let [p1, p2] = server.http.port().to_be_bytes();
    ctl.send(Message::text(format!("PORT 127,0,0,1,{p1},{p2}\r\n"))).await.expect("send");
    let (_, code) = read_to_close(&mut ctl).await;
    assert_eq!(code, Some(CloseCode::Policy), "1008 for a PORT to a third party");

    // A fresh session: EPRT to another address is refused too, and split across messages.
    let mut ctl = open(&format!("ws://{app}/bridge/ftp"), None).await.expect("control");
    expect_notice(&mut ctl, "session").await;
    ctl.send(Message::text("EPRT |1|10.0.0")).await.expect("send");
    ctl.send(Message::text(".1|22|\r\n")).await.expect("send");
    let (_, code) = read_to_close(&mut ctl).await;
    assert_eq!(code, Some(CloseCode::Policy));
    server.stop().await;
}

/// A raw client that completes the handshake by hand and then sends `frame`.
async fn raw_ws(app: SocketAddr, frame: &[u8]) -> Vec<u8> {
    let mut s = TcpStream::connect(app).await.expect("connect");
    s.write_all(
        b"GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
          Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
    )
    .await
    .expect("write");
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        s.read_exact(&mut byte).await.expect("response");
        head.push(byte[0]);
    }
    assert!(head.starts_with(b"HTTP/1.1 101"), "{}", String::from_utf8_lossy(&head));
    s.write_all(frame).await.expect("frame");
    let mut rest = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut rest)).await;
    rest
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_frames_get_close_1002_and_everyone_else_is_still_served() {
    let server = start(ServeConfig::default()).await;
    let mut bystander = open(&format!("ws://{}/ws", server.app), None).await.expect("bystander");
    let masked = |first: u8, payload: &[u8]| {
        let mut f = vec![first, 0x80 | payload.len() as u8, 1, 2, 3, 4];
        f.extend(payload.iter().enumerate().map(|(i, b)| b ^ [1, 2, 3, 4][i % 4]));
        f
    };
    for (why, frame) in [
        // RFC 6455 §5.1: "The server MUST close the connection upon receiving a frame
        // that is not masked" (with 1002, §7.4.1).
        ("unmasked", vec![0x81, 0x02, b'h', b'i']),
        ("RSV1 with no extension", masked(0xC1, b"hi")),
        ("reserved opcode 0x3", masked(0x83, b"hi")),
        ("fragmented ping", masked(0x09, b"")),
        ("continuation with nothing to continue", masked(0x80, b"hi")),
        ("control frame over 125 bytes", {
            let mut f = vec![0x89, 0xFE, 0, 126, 0, 0, 0, 0];
            f.extend([0u8; 126]);
            f
        }),
    ] {
        let rest = raw_ws(server.app, &frame).await;
        // An unmasked server Close frame: 0x88, length, status code 1002.
        assert!(rest.len() >= 4 && rest[0] == 0x88, "{why}: no close frame: {rest:02x?}");
        assert_eq!(u16::from_be_bytes([rest[2], rest[3]]), 1002, "{why}: {rest:02x?}");
        bystander.send(Message::text(why)).await.expect("send");
        assert_eq!(next(&mut bystander).await, Some(Message::text(why)), "the bystander is still echoed");
    }
    // Invalid UTF-8 in a text frame is 1007 (§8.1).
    let rest = raw_ws(server.app, &masked(0x81, &[0xC3, 0x28])).await;
    assert_eq!(u16::from_be_bytes([rest[2], rest[3]]), 1007, "{rest:02x?}");
    // A broken handshake is an HTTP 400 (RFC 6455 §4.2.1: version 13 only → 426).
    for (req, code) in [
        (
            "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n\r\n",
            "400",
        ),
        (
            "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 8\r\n\r\n",
            "426",
        ),
    ] {
        let mut s = TcpStream::connect(server.app).await.expect("connect");
        s.write_all(req.as_bytes()).await.expect("write");
        let mut got = Vec::new();
        let _ = tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut got)).await;
        let text = String::from_utf8_lossy(&got);
        assert!(text.starts_with(&format!("HTTP/1.1 {code}")), "{req:?} → {text}");
    }
    bystander.send(Message::text("after all that")).await.expect("send");
    assert_eq!(next(&mut bystander).await, Some(Message::text("after all that")));
    server.stop().await;
}
