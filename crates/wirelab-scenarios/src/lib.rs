//! The scenarios wirelab can play: each one names its machines, its network and its
//! script, and runs in the simulator to a [`Trace`]. The UI, the `wirelab scenarios` and
//! `wirelab export` commands and the tests all take scenarios from here.
//!
//! Scenario ids are short kebab-case names that never change: course pages link to them.

// Built for the P2P page alone, the scenarios page's scenario builders go unused.
#![cfg_attr(not(feature = "classic"), allow(dead_code, unused_imports))]

use core::time::Duration;
use serde::Serialize;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use wirelab_core::{Instant, LinkConfig, NodeId, Sim, SimError, Trace};
use wirelab_tcp::{Config as TcpConfig, ReadMode, Tcp};
use wirelab_udp::{Config as UdpConfig, Udp};

pub mod apps;
pub mod compare;
#[cfg(any(feature = "mail", feature = "imap"))]
pub mod mail;
pub mod models;
pub mod share;
pub mod web;
#[cfg(feature = "webrtc")]
pub mod webrtc;

/// The seed's topics, used to group scenarios on the landing page.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Topic {
    Models,
    WebSocket,
    Transport,
    FileTransfer,
    Email,
    RealTime,
}

impl fmt::Display for Topic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Topic::Models => "Client-server and peer-to-peer",
            Topic::WebSocket => "WebSocket",
            Topic::Transport => "HTTP, TCP and UDP",
            Topic::FileTransfer => "FTP and SFTP",
            Topic::Email => "Email",
            Topic::RealTime => "Real-time and P2P",
        })
    }
}

/// What the catalogue says of a scenario.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ScenarioInfo {
    pub id: &'static str,
    pub title: &'static str,
    pub topic: Topic,
    pub summary: &'static str,
}

/// What a person can change about a run.
#[derive(Clone, Debug, PartialEq)]
pub struct Params {
    pub seed: u64,
    pub link: LinkConfig,
    /// Trace indices of `Sent` events to lose on purpose.
    pub drops: Vec<usize>,
    /// Trace indices of `Sent` events to hold back on purpose, and by how much.
    pub delays: Vec<(usize, Duration)>,
}

impl Default for Params {
    fn default() -> Self {
        Params { seed: 1, link: LinkConfig::default(), drops: Vec::new(), delays: Vec::new() }
    }
}

/// Why a scenario could not be run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ScenarioError {
    UnknownScenario(String),
    /// A scenario of the catalogue whose code is in another of the app's bundles.
    ElsewhereInTheApp(String),
    Sim(SimError),
}

impl fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ScenarioError::UnknownScenario(id) => {
                let ids: Vec<&str> = CATALOGUE.iter().map(|s| s.id).collect();
                write!(f, "no scenario named {id:?}; known scenarios: {}", ids.join(", "))
            }
            ScenarioError::ElsewhereInTheApp(id) => {
                write!(f, "scenario {id:?} runs on another page of the app (its own bundle)")
            }
            ScenarioError::Sim(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for ScenarioError {}

impl From<SimError> for ScenarioError {
    fn from(e: SimError) -> Self {
        ScenarioError::Sim(e)
    }
}

/// Every scenario, in the order the landing page lists them.
pub const CATALOGUE: &[ScenarioInfo] = &[
    ScenarioInfo {
        id: "client-server",
        title: "Client-server: eight clients, one server",
        topic: Topic::Models,
        summary: "Eight clients download the same 256 KB file from one server. Every byte leaves through the server's 10 Mbit/s uplink, so each extra client makes everyone wait longer.",
    },
    ScenarioInfo {
        id: "client-server-failure",
        title: "Client-server: the server fails",
        topic: Topic::Models,
        summary: "The same eight clients; the server goes away after 300 ms. Nobody else has the file: every client is left incomplete.",
    },
    ScenarioInfo {
        id: "p2p-swarm",
        title: "Peer-to-peer: a swarm shares the file",
        topic: Topic::Models,
        summary: "A seed and eight peers swap the file's 16 pieces (BitTorrent's have / request / piece, BEP 3), each serving what it has. One peer leaves half-way; the swarm finishes anyway, sooner than the server alone could.",
    },
    ScenarioInfo {
        id: "tcp-handshake",
        title: "TCP three-way handshake and orderly close",
        topic: Topic::Transport,
        summary: "A client opens a connection to a web server with SYN, SYN,ACK, ACK, then both sides close it with FIN and ACK; the client waits in TIME-WAIT.",
    },
    ScenarioInfo {
        id: "tcp-close-simultaneous",
        title: "TCP simultaneous close",
        topic: Topic::Transport,
        summary: "Both ends close at the same moment: the two FINs cross, each side passes through CLOSING, and both wait in TIME-WAIT (RFC 9293 §3.6, Figure 13).",
    },
    ScenarioInfo {
        id: "tcp-reset",
        title: "TCP resets: an abort, and a connection refused",
        topic: Topic::Transport,
        summary: "The client aborts an open connection with RST; then it tries a port where nothing listens and is refused with RST,ACK (RFC 9293 §3.10.5, §3.10.7.1).",
    },
    ScenarioInfo {
        id: "tcp-flow-control",
        title: "TCP flow control: a full receive buffer and the zero-window probe",
        topic: Topic::Transport,
        summary: "The server's application reads slowly: its receive buffer fills, the window it advertises falls to zero, the client probes with one byte until reading makes room and a window update lets the data flow again (RFC 9293 §3.8.6).",
    },
    ScenarioInfo {
        id: "tcp-bulk",
        title: "TCP bulk transfer under loss: congestion control",
        topic: Topic::Transport,
        summary: "200 KB over a 10 Mbit/s link with a 30-frame queue and 1% loss. Slow start, congestion avoidance, fast retransmit and recovery (RFC 5681, NewReno RFC 6582): watch cwnd rise and halve.",
    },
    ScenarioInfo {
        id: "tcp-bulk-long",
        title: "TCP bulk transfer, long run: 3 MB under loss",
        topic: Topic::Transport,
        summary: "The same link as the bulk transfer, fifteen times the data: more than 10 000 steps of slow start, loss, fast recovery and the congestion-avoidance sawtooth (RFC 5681). Scrub through it, or watch cwnd in the plot.",
    },
    ScenarioInfo {
        id: "tcp-vs-udp",
        title: "TCP vs UDP on the same lossy link",
        topic: Topic::Transport,
        summary: "The same 20 numbered messages, once over a TCP connection and once as UDP datagrams, across one link that loses 15% of frames and reorders some. TCP delivers all of them, in order, later; UDP delivers what survives, as it comes.",
    },
    ScenarioInfo {
        id: "http-request",
        title: "HTTP/1.1 over TCP: two requests on one connection, then Connection: close",
        topic: Topic::Transport,
        summary: "A client opens TCP to our teaching server, GETs /hello.txt (Content-Length) and /chunked (chunked transfer coding) on the same persistent connection, then asks for / with Connection: close; both sides close TCP (RFC 9112 §6, §9).",
    },
    ScenarioInfo {
        id: "websocket-stepped",
        title: "WebSocket over TCP, step by step",
        topic: Topic::WebSocket,
        summary: "A browser-like client opens TCP, upgrades it with Sec-WebSocket-Key and gets 101 with Sec-WebSocket-Accept (RFC 6455 §4), sends a masked Text frame, a Binary frame, a Ping and a message in three fragments to an echo server, then closes with 1000; the server closes TCP first (§7.1.1).",
    },
    ScenarioInfo {
        id: "http-polling-vs-websocket",
        title: "HTTP polling vs WebSocket push for a chat",
        topic: Topic::WebSocket,
        summary: "Ten chat messages written in bursts over five seconds reach one client that polls over HTTP every half second and another that holds a WebSocket open. Polling asks again and again, often for nothing, and learns of each message up to half a second late; the push arrives one link delay after it is written.",
    },
    ScenarioInfo {
        id: "smtp-send",
        title: "SMTP: submitting one message",
        topic: Topic::Email,
        summary: "Alice's client opens TCP to north.test's mail server: the 220 greeting, EHLO answered with SIZE and 8BITMIME, MAIL FROM with the message's size, RCPT TO, DATA and the content with a line starting with a period doubled (RFC 5321 §4.5.2), the 250 once the server has stored it, QUIT and 221.",
    },
    ScenarioInfo {
        id: "smtp-relay",
        title: "SMTP relay: from north.test to south.test",
        topic: Topic::Email,
        summary: "Alice writes to bob@south.test. North.test's server accepts the message for relay and queues it; north's relay agent opens SMTP to south.test's server and sends it on. Each server prepends a Received: line (RFC 5321 §4.4): the copy stored at south carries two.",
    },
    ScenarioInfo {
        id: "pop3-retrieve-delete",
        title: "POP3: retrieve a message, delete it",
        topic: Topic::Email,
        summary: "Alice's client logs in with USER and PASS, asks STAT and LIST, retrieves message 1 with RETR, marks it with DELE, and QUIT: only now, in the UPDATE state, is the message removed (RFC 1939 §6).",
    },
    ScenarioInfo {
        id: "imap-sync",
        title: "IMAP: select, fetch, flag, idle",
        topic: Topic::Email,
        summary: "Alice's client logs in, selects INBOX (* 2 EXISTS, UIDVALIDITY, UIDNEXT), fetches every message with BODY.PEEK[], marks the first \\Seen with STORE, then IDLEs until the server pushes a new arrival (* 3 EXISTS, RFC 2177), ends IDLE with DONE and logs out (RFC 9051).",
    },
    ScenarioInfo {
        id: "webrtc-connect",
        title: "WebRTC data channel: from offer to first message",
        topic: Topic::RealTime,
        summary: "Two browsers open a data channel: offer and answer through a signalling server (JSEP), trickled candidates, a STUN connectivity check each way (real bytes, MESSAGE-INTEGRITY keyed with the ice-pwd), the DTLS handshake's flights (headers real, contents placeholders: no cryptography), the SCTP four-way handshake, DCEP's DATA_CHANNEL_OPEN and ACK, then one message.",
    },
];

/// The network a scenario starts with, before anyone changes it. `tcp-vs-udp` is lossy
/// and jittery by default: that is its point.
pub fn defaults(id: &str) -> Params {
    match id {
        "tcp-vs-udp" => Params {
            seed: 1,
            link: LinkConfig { loss: 0.15, jitter: Duration::from_millis(15), reorder: 0.15, ..LinkConfig::default() },
            drops: Vec::new(),
            delays: Vec::new(),
        },
        "tcp-bulk" | "tcp-bulk-long" => Params {
            seed: 1,
            link: LinkConfig {
                latency: Duration::from_millis(20),
                loss: 0.01,
                bandwidth_bps: Some(10_000_000),
                queue_limit: 30,
                ..LinkConfig::default()
            },
            drops: Vec::new(),
            delays: Vec::new(),
        },
        // One clean link with 10 ms each way: the steps of the protocols, and the
        // latencies the comparison shows, are plain to read. Loss is one slider away.
        "websocket-stepped" | "http-request" | "http-polling-vs-websocket" => Params::default(),
        _ => Params::default(),
    }
}

/// The catalogue entry for `id`.
pub fn info(id: &str) -> Option<&'static ScenarioInfo> {
    CATALOGUE.iter().find(|s| s.id == id)
}

/// No run may take more events than this: a bound on a machine that never settles.
pub const MAX_EVENTS: usize = 100_000;

/// Runs scenario `id` with `params` to the end.
pub fn run(id: &str, params: &Params) -> Result<Trace, ScenarioError> {
    let mut sim = match bundle(id) {
        None => return Err(ScenarioError::UnknownScenario(id.to_string())),
        #[cfg(feature = "classic")]
        Some(Bundle::Scenarios) => classic(id, params)?,
        #[cfg(feature = "webrtc")]
        Some(Bundle::P2p) => webrtc::webrtc_connect(params)?,
        #[cfg(feature = "mail")]
        Some(Bundle::Mail) => mail_scenario(id, params)?,
        #[cfg(feature = "imap")]
        Some(Bundle::Imap) => mail::imap_sync(params)?,
        #[allow(unreachable_patterns)]
        Some(_) => return Err(ScenarioError::ElsewhereInTheApp(id.to_string())),
    };
    sim.run(MAX_EVENTS)?;
    Ok(sim.into_trace())
}

/// Which of the app's Wasm bundles carries a scenario's code: each stays within the size
/// budget by carrying only its own (the cargo features `classic`, `webrtc`, `mail` and `imap`). The
/// catalogue itself is in every bundle, so each page can list and link every scenario.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Bundle {
    /// The scenarios page (`/`): TCP, UDP, WebSocket, HTTP, the models.
    Scenarios,
    /// The P2P page (`/p2p/`): WebRTC.
    P2p,
    /// The mail page (`/mail/`): SMTP and POP3.
    Mail,
    /// The IMAP page (`/imap/`): IMAP, whose machines alone fill most of a page's budget.
    Imap,
}

/// The bundle that runs scenario `id`, if there is such a scenario.
pub fn bundle(id: &str) -> Option<Bundle> {
    info(id).map(|i| match i.topic {
        Topic::RealTime => Bundle::P2p,
        Topic::Email if i.id.starts_with("imap") => Bundle::Imap,
        Topic::Email => Bundle::Mail,
        _ => Bundle::Scenarios,
    })
}

/// Whether this build can run scenario `id` (else [`run`] says where it runs).
pub fn available(id: &str) -> bool {
    match bundle(id) {
        Some(Bundle::Scenarios) => cfg!(feature = "classic"),
        Some(Bundle::P2p) => cfg!(feature = "webrtc"),
        Some(Bundle::Mail) => cfg!(feature = "mail"),
        Some(Bundle::Imap) => cfg!(feature = "imap"),
        None => false,
    }
}

#[cfg(feature = "mail")]
fn mail_scenario(id: &str, params: &Params) -> Result<Sim, ScenarioError> {
    Ok(match id {
        "smtp-send" => mail::smtp_send(params)?,
        "smtp-relay" => mail::smtp_relay(params)?,
        "pop3-retrieve-delete" => mail::pop3_retrieve_delete(params)?,
        _ => return Err(ScenarioError::UnknownScenario(id.to_string())),
    })
}

#[cfg(feature = "classic")]
fn classic(id: &str, params: &Params) -> Result<Sim, ScenarioError> {
    Ok(match id {
        "tcp-handshake" => tcp_handshake(params)?,
        "client-server" => models::client_server(params, models::SCENARIO_N)?.0,
        "client-server-failure" => {
            let (mut sim, ids) = models::client_server(params, models::SCENARIO_N)?;
            sim.command_at(Instant::ZERO + Duration::from_millis(300), ids[0], "leave")?;
            sim
        }
        "p2p-swarm" => {
            let (mut sim, ids) = models::peer_to_peer(params, models::SCENARIO_N)?;
            sim.command_at(Instant::ZERO + Duration::from_millis(60), ids[3], "leave")?;
            sim
        }
        "tcp-vs-udp" => tcp_vs_udp(params)?,
        "tcp-bulk" => tcp_bulk(params, BULK_BYTES)?,
        "tcp-bulk-long" => tcp_bulk(params, BULK_LONG_BYTES)?,
        "tcp-flow-control" => tcp_flow_control(params)?,
        "tcp-close-simultaneous" => tcp_close_simultaneous(params)?,
        "tcp-reset" => tcp_reset(params)?,
        "websocket-stepped" => web::websocket_stepped(params)?,
        "http-request" => web::http_request(params)?,
        "http-polling-vs-websocket" => web::polling_vs_websocket(params)?,
        _ => return Err(ScenarioError::UnknownScenario(id.to_string())),
    })
}

/// Documentation addresses (RFC 5737, TEST-NET-1): never real hosts.
pub const CLIENT: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 10)), 49152);
pub const SERVER: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 80)), 80);

pub(crate) fn new_sim(params: &Params) -> Sim {
    let mut sim = Sim::new(params.seed, params.link.clone());
    for &d in &params.drops {
        sim.drop_transmission(d);
    }
    for &(d, extra) in &params.delays {
        sim.delay_transmission(d, extra);
    }
    sim
}

/// The three-way handshake (RFC 9293 §3.5) and the orderly close (§3.6).
fn tcp_handshake(params: &Params) -> Result<Sim, SimError> {
    let mut sim = new_sim(params);
    let mut client_cfg = TcpConfig::new(CLIENT, params.seed);
    client_cfg.suggested_peer = Some(SERVER);
    let client = sim.add_node("client", CLIENT.ip(), Box::new(Tcp::new(client_cfg)));
    let server = sim.add_node("server", SERVER.ip(), Box::new(Tcp::new(TcpConfig::new(SERVER, params.seed))));
    let ms = |n| Instant::ZERO + Duration::from_millis(n);
    sim.command_at(ms(0), server, "listen")?;
    sim.command_at(ms(1), client, &format!("connect {SERVER}"))?;
    // Each side closes a little while after it has reason to, however long that took.
    sim.command_on_state(client, "ESTABLISHED", Duration::from_millis(70), "close")?;
    sim.command_on_state(server, "CLOSE-WAIT", Duration::from_millis(80), "close")?;
    Ok(sim)
}

/// The TCP client and server of `tcp-vs-udp`, and the UDP sender and receiver.
pub const TCP_VS_UDP_NODES: [&str; 4] = ["tcp-client", "tcp-server", "udp-sender", "udp-receiver"];
pub const UDP_SENDER: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 11)), 5000);
pub const UDP_RECEIVER: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 81)), 5000);
/// Messages each protocol carries in `tcp-vs-udp`, one every `MESSAGE_GAP`.
pub const MESSAGES: u32 = 20;
pub const MESSAGE_GAP: Duration = Duration::from_millis(10);

/// The same numbered messages (`seq=0` … `seq=19`) over TCP and over UDP, on one link.
fn tcp_vs_udp(params: &Params) -> Result<Sim, SimError> {
    let mut sim = new_sim(params);
    let [c, s, us, ur] = TCP_VS_UDP_NODES;
    let client = sim.add_node(c, CLIENT.ip(), Box::new(Tcp::new(TcpConfig::new(CLIENT, params.seed))));
    let server = sim.add_node(s, SERVER.ip(), Box::new(Tcp::new(TcpConfig::new(SERVER, params.seed))));
    let sender = sim.add_node(us, UDP_SENDER.ip(), Box::new(Udp::new(UdpConfig::new(UDP_SENDER))));
    sim.add_node(ur, UDP_RECEIVER.ip(), Box::new(Udp::new(UdpConfig::new(UDP_RECEIVER))));
    sim.command_at(Instant::ZERO, server, "listen")?;
    sim.command_at(Instant::ZERO + Duration::from_millis(1), client, &format!("connect {SERVER}"))?;
    // Both start sending once they can: UDP at once, TCP once connected.
    for i in 0..MESSAGES {
        let after = MESSAGE_GAP * i;
        sim.command_at(
            Instant::ZERO + Duration::from_millis(1) + after,
            sender,
            &format!("send {UDP_RECEIVER} seq={i}"),
        )?;
        sim.command_on_state(client, "ESTABLISHED", after, &format!("send seq={i}"))?;
    }
    sim.command_on_state(client, "ESTABLISHED", MESSAGE_GAP * MESSAGES, "close")?;
    sim.command_on_state(server, "CLOSE-WAIT", MESSAGE_GAP, "close")?;
    Ok(sim)
}

/// Bytes `tcp-bulk` sends.
pub const BULK_BYTES: usize = 200_000;
/// Bytes `tcp-bulk-long` sends: enough for a run of more than 10 000 steps.
pub const BULK_LONG_BYTES: usize = 3_000_000;

/// A bulk transfer that fills the pipe: congestion control at work (RFC 5681, RFC 6582).
fn tcp_bulk(params: &Params, bytes: usize) -> Result<Sim, SimError> {
    let mut sim = new_sim(params);
    let client = sim.add_node("client", CLIENT.ip(), Box::new(Tcp::new(TcpConfig::new(CLIENT, params.seed))));
    let server = sim.add_node("server", SERVER.ip(), Box::new(Tcp::new(TcpConfig::new(SERVER, params.seed))));
    sim.command_at(Instant::ZERO, server, "listen")?;
    sim.command_at(Instant::ZERO + Duration::from_millis(1), client, &format!("connect {SERVER}"))?;
    sim.command_on_state(client, "ESTABLISHED", Duration::ZERO, &format!("send-bulk {bytes}"))?;
    sim.command_on_state(client, "ESTABLISHED", Duration::from_millis(1), "close")?;
    sim.command_on_state(server, "CLOSE-WAIT", Duration::from_millis(1), "close")?;
    Ok(sim)
}

/// A client and a server, connected: the start of the teardown scenarios.
fn tcp_pair(params: &Params) -> Result<(Sim, NodeId, NodeId), SimError> {
    let mut sim = new_sim(params);
    let client = sim.add_node("client", CLIENT.ip(), Box::new(Tcp::new(TcpConfig::new(CLIENT, params.seed))));
    let server = sim.add_node("server", SERVER.ip(), Box::new(Tcp::new(TcpConfig::new(SERVER, params.seed))));
    sim.command_at(Instant::ZERO, server, "listen")?;
    sim.command_at(Instant::ZERO + Duration::from_millis(1), client, &format!("connect {SERVER}"))?;
    Ok((sim, client, server))
}

/// Both ends close at once: the FINs cross (RFC 9293 §3.6, Figure 13).
fn tcp_close_simultaneous(params: &Params) -> Result<Sim, SimError> {
    let (mut sim, client, server) = tcp_pair(params)?;
    // The client is ESTABLISHED one link latency before the server: close both at 81 ms.
    sim.command_on_state(client, "ESTABLISHED", Duration::from_millis(60), "close")?;
    sim.command_on_state(server, "ESTABLISHED", Duration::from_millis(50), "close")?;
    Ok(sim)
}

/// An ABORT (RST out, RST in), then a connection refused by a closed port.
fn tcp_reset(params: &Params) -> Result<Sim, SimError> {
    let (mut sim, client, _) = tcp_pair(params)?;
    sim.command_on_state(client, "ESTABLISHED", Duration::from_millis(20), "send hello")?;
    sim.command_on_state(client, "ESTABLISHED", Duration::from_millis(60), "abort")?;
    let closed_port = SocketAddr::new(SERVER.ip(), 81);
    sim.command_on_state(client, "CLOSED", Duration::from_millis(50), &format!("connect {closed_port}"))?;
    Ok(sim)
}

/// Bytes `tcp-flow-control` sends, and how its server's application reads them.
pub const FLOW_BYTES: usize = 100_000;
pub const FLOW_READ: usize = 16_000;

/// A slow reader: the window closes, the sender probes it, reads reopen it.
fn tcp_flow_control(params: &Params) -> Result<Sim, SimError> {
    let mut sim = new_sim(params);
    let client = sim.add_node("client", CLIENT.ip(), Box::new(Tcp::new(TcpConfig::new(CLIENT, params.seed))));
    let mut server_cfg = TcpConfig::new(SERVER, params.seed);
    server_cfg.reading = ReadMode::OnRequest;
    let server = sim.add_node("server", SERVER.ip(), Box::new(Tcp::new(server_cfg)));
    sim.command_at(Instant::ZERO, server, "listen")?;
    sim.command_at(Instant::ZERO + Duration::from_millis(1), client, &format!("connect {SERVER}"))?;
    sim.command_on_state(client, "ESTABLISHED", Duration::ZERO, &format!("send-bulk {FLOW_BYTES}"))?;
    sim.command_on_state(client, "ESTABLISHED", Duration::from_millis(1), "close")?;
    // The application sleeps 2.5 s, then reads 16 KB every 250 ms, seven times: 112 KB,
    // enough for all 100 KB.
    for k in 0..7u64 {
        sim.command_at(Instant::ZERO + Duration::from_millis(2_500 + 250 * k), server, &format!("read {FLOW_READ}"))?;
    }
    // It closes once it has read everything (the last read is due by then).
    sim.command_on_state(server, "CLOSE-WAIT", Duration::from_millis(1_500), "close")?;
    Ok(sim)
}
