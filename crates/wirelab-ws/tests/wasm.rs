//! WebSocket as Wasm in headless Chromium: the RFC 6455 golden vectors and a handshake
//! between two machines, as natively.
#![cfg(target_arch = "wasm32")]

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};
use wirelab_core::{Input, Instant, Machine, Output};
use wirelab_ws::wire::{Frame, Opcode};
use wirelab_ws::{Command, Config, Event, Message, WebSocket, WsState, handshake};

wasm_bindgen_test_configure!(run_in_browser);

const C: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 10)), 49152);
const S: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 80)), 80);

#[wasm_bindgen_test]
fn section_1_3_accept_key() {
    assert_eq!(handshake::accept_key("dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

#[wasm_bindgen_test]
fn section_5_7_masked_hello_and_64_bit_length() {
    let bytes = [0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58];
    let want = Frame::new(Opcode::Text, b"Hello".to_vec()).masked([0x37, 0xfa, 0x21, 0x3d]);
    assert_eq!(Frame::parse(&bytes), Ok(Some((want.clone(), bytes.len()))));
    assert_eq!(want.to_bytes(), bytes);
    let big = Frame::new(Opcode::Binary, vec![0; 65536]).to_bytes();
    assert_eq!(big[..10], [0x82, 0x7f, 0, 0, 0, 0, 0, 1, 0, 0]);
}

/// Drains `from`, delivers its bytes to `to`, and returns the events `from` put out.
fn pump(from: &mut WebSocket, to: &mut WebSocket, from_addr: SocketAddr) -> Vec<Event> {
    let (mut bytes, mut events) = (Vec::new(), Vec::new());
    loop {
        match from.poll_output(Instant::ZERO) {
            Output::Transmit(t) => bytes.extend(t.bytes),
            Output::Event(e) => events.push(e),
            Output::Idle { .. } => break,
            _ => {}
        }
    }
    if !bytes.is_empty() {
        to.handle_input(Instant::ZERO, Input::Receive { from: from_addr, bytes: &bytes }).expect("valid bytes");
    }
    events
}

#[wasm_bindgen_test]
fn a_client_and_a_server_open_and_exchange_a_message() {
    let mut client = WebSocket::new(Config::client(C, S, 1));
    let mut server = WebSocket::new(Config::server(S, C, 1));
    client.handle_input(Instant::ZERO, Input::Command(Command::Connect)).expect("connect");
    pump(&mut client, &mut server, C);
    assert_eq!(pump(&mut server, &mut client, S), [Event::Open { protocol: None }]);
    assert_eq!(pump(&mut client, &mut server, C), [Event::Open { protocol: None }]);
    assert_eq!((client.state(), server.state()), (WsState::Open, WsState::Open));
    client.handle_input(Instant::ZERO, Input::Command(Command::Text("Hello".into()))).expect("text");
    pump(&mut client, &mut server, C);
    assert_eq!(pump(&mut server, &mut client, S), [Event::Message(Message::Text("Hello".into()))]);
}
