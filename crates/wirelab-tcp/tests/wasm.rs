//! The TCP machine compiled to wasm32 and run in headless Chromium: the same code the
//! browser app runs, checked where it runs.
#![cfg(target_arch = "wasm32")]

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};
use wirelab_core::{Input, Instant, Machine, Output};
use wirelab_tcp::{Command, Config, Flags, Segment, Tcp, TcpState, wire};

wasm_bindgen_test_configure!(run_in_browser);

const A: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 10)), 49152);
const B: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 80)), 80);

/// Drains a machine's outputs; returns the segments it sent.
fn drain(m: &mut Tcp) -> Vec<Vec<u8>> {
    let mut sent = Vec::new();
    loop {
        match m.poll_output(Instant::ZERO) {
            Output::Transmit(t) => sent.push(t.bytes),
            Output::Idle { .. } => return sent,
            _ => {}
        }
    }
}

#[wasm_bindgen_test]
fn three_way_handshake_in_the_browser() {
    let mut client = Tcp::new(Config::new(A, 7));
    let mut server = Tcp::new(Config::new(B, 7));
    server.handle_input(Instant::ZERO, Input::Command(Command::Listen)).expect("listen");
    drain(&mut server);
    client.handle_input(Instant::ZERO, Input::Command(Command::Connect(B))).expect("connect");
    let syn = drain(&mut client).remove(0);
    assert_eq!(client.state(), TcpState::SynSent);
    wire::verify_checksum(A.ip(), B.ip(), &syn).expect("checksum");
    server.handle_input(Instant::ZERO, Input::Receive { from: A, bytes: &syn }).expect("syn");
    let syn_ack = drain(&mut server).remove(0);
    assert_eq!(Segment::parse(&syn_ack).expect("parses").flags, Flags::SYN | Flags::ACK);
    client.handle_input(Instant::ZERO, Input::Receive { from: B, bytes: &syn_ack }).expect("syn-ack");
    let ack = drain(&mut client).remove(0);
    server.handle_input(Instant::ZERO, Input::Receive { from: A, bytes: &ack }).expect("ack");
    drain(&mut server);
    assert_eq!((client.state().to_string(), server.state().to_string()), ("ESTABLISHED".into(), "ESTABLISHED".into()));
}

#[wasm_bindgen_test]
fn garbage_is_a_typed_error_not_a_panic() {
    let mut server = Tcp::new(Config::new(B, 7));
    server.handle_input(Instant::ZERO, Input::Command(Command::Listen)).expect("listen");
    for len in 0..64 {
        let junk: Vec<u8> = (0..len).map(|i| (i * 37 + 11) as u8).collect();
        assert!(server.handle_input(Instant::ZERO, Input::Receive { from: A, bytes: &junk }).is_err());
    }
    assert_eq!(server.state(), TcpState::Listen);
}
