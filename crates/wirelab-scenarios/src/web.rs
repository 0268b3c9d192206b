//! The scenarios that run WebSocket (RFC 6455) and HTTP/1.1 (RFC 9112) over our simulated
//! TCP ([`OverTcp`]): every segment on the wire is real and carries real application bytes.

use crate::apps::{App, ChatScript, Echo, Listen, Poll, Publish, Push};
use crate::{CLIENT, Params, SERVER, new_sim};
use core::time::Duration;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use wirelab_core::{Instant, Sim, SimError};
use wirelab_http::{ClientConfig, HttpClient, HttpServer, Route, ServerConfig};
use wirelab_tcp::{Config as TcpConfig, OverTcp, Tcp};
use wirelab_ws::{Config as WsConfig, WebSocket};

fn tcp(local: SocketAddr, seed: u64, peer: Option<SocketAddr>) -> Tcp {
    let mut cfg = TcpConfig::new(local, seed);
    cfg.suggested_peer = peer;
    Tcp::new(cfg)
}

const fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// The `websocket-stepped` script, after the browser's WebSocket is OPEN: what it sends,
/// when. The server echoes the text, the binary and each fragment's message.
pub const WS_STEPS: [(u64, &str); 5] = [
    (50, "text Hello, WebSocket"),
    (150, "binary de ad be ef"),
    (250, "ping are you there?"),
    (350, "fragmented 3 one message in three frames"),
    (500, "close 1000 done"),
];

/// A browser-like WebSocket client (RFC 6455 §4.1: `GET /chat` with `Origin`) and an echo
/// server, over TCP: the TCP handshake, the opening handshake, a masked Text frame and its
/// echo, a Binary frame, a Ping and its Pong, a message in three fragments, the closing
/// handshake with 1000, and the TCP close the server starts (§7.1.1).
pub fn websocket_stepped(params: &Params) -> Result<Sim, SimError> {
    let mut sim = new_sim(params);
    let mut cfg = WsConfig::client(CLIENT, SERVER, params.seed);
    cfg.host = SERVER.ip().to_string();
    cfg.path = "/chat".into();
    cfg.origin = Some(format!("http://{}", SERVER.ip()));
    let browser = OverTcp::new(tcp(CLIENT, params.seed, Some(SERVER)), WebSocket::new(cfg));
    let server = App::new(WebSocket::new(WsConfig::server(SERVER, CLIENT, params.seed)), Echo);
    let server = OverTcp::new(tcp(SERVER, params.seed, None), server);
    let b = sim.add_node("browser", CLIENT.ip(), Box::new(browser));
    let s = sim.add_node("server", SERVER.ip(), Box::new(server));
    sim.command_at(Instant::ZERO, s, "listen")?;
    // `new WebSocket("ws://192.0.2.80/chat")`: TCP first; the opening handshake follows
    // by itself once TCP is ESTABLISHED.
    sim.command_at(Instant::ZERO + ms(1), b, &format!("connect {SERVER}"))?;
    for (after, line) in WS_STEPS {
        sim.command_on_state(b, "OPEN", ms(after), line)?;
    }
    Ok(sim)
}

/// The raw request that ends `http-request`: the teaching page, asking the server to close
/// the connection after answering (RFC 9112 §9.6).
pub const LAST_REQUEST: &str = "GET / HTTP/1.1\r\nHost: 192.0.2.80\r\nUser-Agent: wirelab\r\nConnection: close\r\n\r\n";

/// An HTTP/1.1 client and our teaching server over TCP: `GET /hello.txt` (Content-Length),
/// `GET /chunked` on the same persistent connection (RFC 9112 §9.3; chunked, §7.1), then
/// `GET /` with `Connection: close`, after which both close TCP.
pub fn http_request(params: &Params) -> Result<Sim, SimError> {
    let mut sim = new_sim(params);
    let client = HttpClient::new(ClientConfig::new(CLIENT, SERVER, SERVER.ip().to_string()));
    let client = OverTcp::new(tcp(CLIENT, params.seed, Some(SERVER)), client);
    let server = OverTcp::new(tcp(SERVER, params.seed, None), HttpServer::new(ServerConfig::new(SERVER)));
    let c = sim.add_node("client", CLIENT.ip(), Box::new(client));
    let s = sim.add_node("server", SERVER.ip(), Box::new(server));
    sim.command_at(Instant::ZERO, s, "listen")?;
    sim.command_at(Instant::ZERO + ms(1), c, &format!("connect {SERVER}"))?;
    sim.command_on_state(c, "ESTABLISHED", ms(10), "GET /hello.txt")?;
    sim.command_on_state(c, "ESTABLISHED", ms(150), "GET /chunked")?;
    let raw = wirelab_http::client::escape(LAST_REQUEST.as_bytes());
    sim.command_on_state(c, "ESTABLISHED", ms(300), &format!("raw {raw}"))?;
    Ok(sim)
}

/// The four nodes of `http-polling-vs-websocket`, in order.
pub const POLLING_VS_WS_NODES: [&str; 4] = ["http-client", "http-server", "ws-client", "ws-server"];
pub const WS_CLIENT: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 11)), 49152);
pub const WS_SERVER: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 81)), 80);
/// The resource the polling client asks for.
pub const CHAT_PATH: &str = "/chat";
/// How often the polling client asks.
pub const POLL_PERIOD: Duration = Duration::from_millis(500);
/// How long the chat lasts, from the start of the run: the last message is written before.
pub const CHAT_DURATION: Duration = Duration::from_secs(5);

/// When each message is written (ms into the run) and what it says: ten over five
/// seconds, in bursts with silences between, as people chat.
pub const CHAT: [(u64, &str); 10] = [
    (300, "alice: hi all"),
    (450, "bob: hey alice"),
    (700, "carol: morning!"),
    (2_100, "alice: lunch at noon?"),
    (2_250, "bob: yes"),
    (3_300, "carol: the usual place?"),
    (3_400, "alice: sure"),
    (3_550, "bob: see you there"),
    (4_650, "carol: bring the slides"),
    (4_800, "alice: will do"),
];

/// The chat as the servers know it.
pub fn chat_script() -> ChatScript {
    ChatScript { entries: CHAT.iter().map(|&(at, text)| (Instant::from_millis(at), text.to_string())).collect() }
}

/// Polls the polling client makes: one every [`POLL_PERIOD`] from when it connects, for the
/// whole [`CHAT_DURATION`], so the last one comes after the last message.
pub fn polls() -> u32 {
    let (d, p) = (CHAT_DURATION.as_micros(), POLL_PERIOD.as_micros());
    u32::try_from(d.div_ceil(p)).unwrap_or(u32::MAX)
}

/// The same chat both ways on one link: a client polls an HTTP server for new messages
/// every [`POLL_PERIOD`] on a persistent connection; another holds a WebSocket open and the server
/// pushes each message as it is written.
pub fn polling_vs_websocket(params: &Params) -> Result<Sim, SimError> {
    let mut sim = new_sim(params);
    let [hc, hs, wc, ws] = POLLING_VS_WS_NODES;
    let seed = params.seed;

    let poller = App::new(
        HttpClient::new(ClientConfig::new(CLIENT, SERVER, SERVER.ip().to_string())),
        Poll::new(CHAT_PATH, POLL_PERIOD, polls()),
    );
    let mut site = ServerConfig::new(SERVER);
    site.site.routes.push(Route::Feed { path: CHAT_PATH.into(), entries: chat_script().entries });
    let feed = App::new(HttpServer::new(site), Publish::new(chat_script()));
    let mut ws_cfg = WsConfig::client(WS_CLIENT, WS_SERVER, seed);
    ws_cfg.host = WS_SERVER.ip().to_string();
    ws_cfg.path = CHAT_PATH.into();
    let listener = App::new(WebSocket::new(ws_cfg), Listen::default());
    let pusher = App::new(WebSocket::new(WsConfig::server(WS_SERVER, WS_CLIENT, seed)), Push::new(chat_script()));

    let hc = sim.add_node(hc, CLIENT.ip(), Box::new(OverTcp::new(tcp(CLIENT, seed, Some(SERVER)), poller)));
    let hs = sim.add_node(hs, SERVER.ip(), Box::new(OverTcp::new(tcp(SERVER, seed, None), feed)));
    let wc = sim.add_node(wc, WS_CLIENT.ip(), Box::new(OverTcp::new(tcp(WS_CLIENT, seed, Some(WS_SERVER)), listener)));
    let ws = sim.add_node(ws, WS_SERVER.ip(), Box::new(OverTcp::new(tcp(WS_SERVER, seed, None), pusher)));
    sim.command_at(Instant::ZERO, hs, "listen")?;
    sim.command_at(Instant::ZERO, ws, "listen")?;
    sim.command_at(Instant::ZERO + ms(1), hc, &format!("connect {SERVER}"))?;
    sim.command_at(Instant::ZERO + ms(1), wc, &format!("connect {WS_SERVER}"))?;
    Ok(sim)
}
