//! Our POP3 client and server over our simulated TCP (`wirelab_tcp::OverTcp`), in the
//! simulator: the driver's answers are scripted commands given when the server asks
//! (the maildrop at the first login, the message at RETR, the deletion in UPDATE); and a
//! run where the client's connection is aborted before QUIT deletes nothing.
#![cfg(not(target_arch = "wasm32"))]

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;
use wirelab_core::{Instant, LinkConfig, Sim, Trace, TraceKind};
use wirelab_pop3::{ClientConfig, Pop3Client, Pop3Server, ServerConfig};
use wirelab_tcp::{Config as TcpConfig, OverTcp, Tcp};

const CLIENT: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 10)), 49152);
const SERVER: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 110)), 110);

fn tcp(local: SocketAddr, seed: u64, peer: Option<SocketAddr>) -> Tcp {
    let mut cfg = TcpConfig::new(local, seed);
    cfg.suggested_peer = peer;
    Tcp::new(cfg)
}

fn run(seed: u64, loss: f64, commands: &[&str], abort_after: Option<Duration>) -> Trace {
    let mut sim = Sim::new(seed, LinkConfig { loss, ..LinkConfig::default() });
    let client = OverTcp::new(tcp(CLIENT, seed, Some(SERVER)), Pop3Client::new(ClientConfig::new(CLIENT, SERVER)));
    let server = OverTcp::new(tcp(SERVER, seed, None), Pop3Server::new(ServerConfig::new(SERVER, "north.test")));
    let c = sim.add_node("client", CLIENT.ip(), Box::new(client));
    let s = sim.add_node("server", SERVER.ip(), Box::new(server));
    sim.command_at(Instant::ZERO, s, "listen").expect("listen");
    sim.command_at(Instant::from_millis(1), c, &format!("connect {SERVER}")).expect("connect");
    for (i, cmd) in commands.iter().enumerate() {
        sim.command_at(Instant::from_millis(2 + i as u64), c, cmd).expect("queued");
    }
    // The driver: the maildrop once logged in, message 1's content, the deletion.
    let ms = Duration::from_millis;
    sim.command_on_state(s, "AUTHENTICATING", ms(5), "maildrop m1:23,m2:40").expect("script");
    sim.command_on_state(s, "FETCHING", ms(5), "message Subject: hi\\r\\n\\r\\n.dot\\r\\n").expect("script");
    sim.command_on_state(s, "UPDATE", ms(5), "deleted").expect("script");
    // The client gives up on the connection, if asked to.
    if let Some(after) = abort_after {
        sim.command_on_state(c, "TRANSACTION", after, "abort").expect("script");
    }
    sim.run(100_000).expect("settles");
    sim.into_trace()
}

fn texts(t: &Trace, node: usize) -> Vec<String> {
    t.reports(node)
}

#[test]
fn a_session_over_tcp_deletes_in_update() {
    for (seed, loss) in [(1, 0.0), (2, 0.15)] {
        let t = run(seed, loss, &["login mrose secret", "STAT", "RETR 1", "DELE 1", "QUIT"], None);
        let client = texts(&t, 0);
        assert!(client.iter().any(|e| e.contains("2 messages, 63 octets")), "seed {seed}: {client:?}");
        assert!(client.iter().any(|e| e.contains("message 1: 21 octets")), "seed {seed}: {client:?}");
        let server = texts(&t, 1);
        assert!(server.iter().any(|e| e.contains("delete m1")), "seed {seed}: {server:?}");
        let last = |node: usize| {
            t.events.iter().rev().find_map(|e| match &e.kind {
                TraceKind::StateChanged { to, .. } if e.node == node => Some(to.clone()),
                _ => None,
            })
        };
        assert!(last(0).is_some_and(|s| s.starts_with("CLOSED · ")), "{:?}", last(0));
        assert!(last(1).is_some_and(|s| s.starts_with("CLOSED · ")), "{:?}", last(1));
    }
}

#[test]
fn an_aborted_connection_deletes_nothing() {
    // `abort` is TCP's ABORT: a reset before QUIT (RFC 9293 §3.10.7). RFC 1939 §6: no
    // UPDATE, so the messages marked deleted stay.
    let t = run(3, 0.0, &["login mrose secret", "DELE 1", "DELE 2"], Some(Duration::from_secs(2)));
    let client = texts(&t, 0);
    assert!(client.iter().any(|e| e.contains("DELE 2: +OK message 2 deleted")), "{client:?}");
    let server = texts(&t, 1);
    assert!(server.iter().any(|e| e.contains("session ended without UPDATE")), "{server:?}");
    assert!(!server.iter().any(|e| e.contains("delete m")), "{server:?}");
}
