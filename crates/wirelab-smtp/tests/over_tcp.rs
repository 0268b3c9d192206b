//! Our SMTP client and server over our simulated TCP (`wirelab_tcp::OverTcp`), in the
//! simulator, with a lossy link: the greeting goes out when TCP is ESTABLISHED, the
//! driver's `stored` answer is a scripted command given when the server enters
//! DELIVERING, the message arrives once and intact, and both sides close TCP after QUIT.
#![cfg(not(target_arch = "wasm32"))]

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;
use wirelab_core::{Instant, LinkConfig, Sim, Trace, TraceKind};
use wirelab_smtp::{ClientConfig, ServerConfig, SmtpClient, SmtpServer};
use wirelab_tcp::{Config as TcpConfig, OverTcp, Tcp};

const CLIENT: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 10)), 49152);
const SERVER: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 25)), 25);

fn tcp(local: SocketAddr, seed: u64, peer: Option<SocketAddr>) -> Tcp {
    let mut cfg = TcpConfig::new(local, seed);
    cfg.suggested_peer = peer;
    Tcp::new(cfg)
}

fn run(seed: u64, link: LinkConfig) -> Trace {
    let mut sim = Sim::new(seed, link);
    let client =
        OverTcp::new(tcp(CLIENT, seed, Some(SERVER)), SmtpClient::new(ClientConfig::new(CLIENT, SERVER, "south.test")));
    let server = OverTcp::new(tcp(SERVER, seed, None), SmtpServer::new(ServerConfig::new(SERVER, "north.test")));
    let c = sim.add_node("client", CLIENT.ip(), Box::new(client));
    let s = sim.add_node("server", SERVER.ip(), Box::new(server));
    sim.command_at(Instant::ZERO, s, "listen").expect("listen");
    sim.command_at(Instant::from_millis(1), c, &format!("connect {SERVER}")).expect("connect");
    sim.command_at(Instant::from_millis(2), c, "send alice@south.test bob@north.test \"Lunch\" Noon?\\n.see you\\n.")
        .expect("send");
    sim.command_at(Instant::from_millis(3), c, "quit").expect("quit");
    sim.command_on_state(s, "DELIVERING", Duration::from_millis(5), "stored 1").expect("stored");
    sim.run(100_000).expect("settles");
    sim.into_trace()
}

fn events(t: &Trace, node: usize) -> Vec<String> {
    t.reports(node)
}

#[test]
fn a_message_over_tcp_with_and_without_loss() {
    for (seed, loss) in [(1, 0.0), (2, 0.1), (3, 0.2)] {
        let t = run(seed, LinkConfig { loss, ..LinkConfig::default() });
        let errors: Vec<&TraceKind> =
            t.events.iter().map(|e| &e.kind).filter(|k| matches!(k, TraceKind::Error { .. })).collect();
        assert!(errors.is_empty(), "seed {seed}: {errors:?}");
        let server = events(&t, 1);
        let delivered: Vec<&String> = server.iter().filter(|e| e.contains("deliver ")).collect();
        assert_eq!(delivered.len(), 1, "seed {seed}: {server:?}");
        assert!(delivered[0].contains("from <alice@south.test> to <bob@north.test>"), "{}", delivered[0]);
        let client = events(&t, 0);
        assert!(client.iter().any(|e| e.contains("sent to bob@north.test")), "seed {seed}: {client:?}");
        // The states both sides went through, in order: SMTP's, then TCP's close.
        let last_state = |node: usize| {
            t.events.iter().rev().find_map(|e| match &e.kind {
                TraceKind::StateChanged { to, .. } if e.node == node => Some(to.clone()),
                _ => None,
            })
        };
        assert!(last_state(0).is_some_and(|s| s.starts_with("CLOSED · ")), "{:?}", last_state(0));
        assert!(last_state(1).is_some_and(|s| s.starts_with("CLOSED · ")), "{:?}", last_state(1));
    }
}

#[test]
fn segments_carrying_smtp_are_explained_by_both_layers() {
    let t = run(1, LinkConfig::default());
    let reasons: Vec<&str> = t
        .events
        .iter()
        .filter_map(|e| match &e.kind {
            TraceKind::Sent { frame } => Some(frame.reason.as_str()),
            _ => None,
        })
        .collect();
    assert!(reasons.iter().any(|r| r.contains("SMTP: 220: the greeting")), "{reasons:?}");
    assert!(reasons.iter().any(|r| r.contains("SMTP: the content")), "{reasons:?}");
    assert!(reasons.iter().any(|r| r.contains("SMTP: 250: stored as 1")), "{reasons:?}");
}
