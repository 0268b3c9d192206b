//! UDP as Wasm in headless Chromium: datagrams, checksums and the receiving
//! application's view of order, as natively.
#![cfg(target_arch = "wasm32")]

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};
use wirelab_core::{Input, Instant, Machine, Output};
use wirelab_udp::{Command, Config, Event, Udp, wire};

wasm_bindgen_test_configure!(run_in_browser);

const A: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 11)), 5000);
const B: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 81)), 5000);

#[wasm_bindgen_test]
fn a_burst_arrives_out_of_order_and_the_receiver_says_so() {
    let mut tx = Udp::new(Config::new(A));
    let mut rx = Udp::new(Config::new(B));
    tx.handle_input(Instant::ZERO, Input::Command(Command::Burst(B, 3))).expect("burst");
    let mut sent = Vec::new();
    while let Output::Transmit(t) = tx.poll_output(Instant::ZERO) {
        wire::verify(A.ip(), B.ip(), &t.bytes).expect("checksum");
        sent.push(t.bytes);
    }
    assert_eq!(sent.len(), 3);
    // Deliver seq=2 before seq=1, and lose seq=0.
    let mut notes = Vec::new();
    for i in [2, 1] {
        rx.handle_input(Instant::ZERO, Input::Receive { from: A, bytes: &sent[i] }).expect("valid");
        if let Output::Event(e @ Event::Received { .. }) = rx.poll_output(Instant::ZERO) {
            notes.push(e.to_string());
        }
    }
    assert!(notes[0].contains("2 missing before it"), "{notes:?}");
    assert!(notes[1].contains("late"), "{notes:?}");
}
