//! The WebSocket server machine (`wirelab_ws::WebSocket`) fed any bytes (half the time
//! after RFC 6455 §1.3's opening handshake, so that frames get read) in any pieces, then
//! maybe the end of the stream: it never panics, it sends and reports the same whatever
//! the pieces, and what it sends after its 101 answer is whole frames, back to back.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::net::SocketAddr;
use wirelab_core::{Input, Instant, Machine, Output, StreamApp};
use wirelab_fuzz::{cut, with_cuts};
use wirelab_ws::{Config, Frame, WebSocket};

const HANDSHAKE: &[u8] = b"GET /chat HTTP/1.1\r\nHost: server.example.com\r\nUpgrade: websocket\r\n\
Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nOrigin: http://example.com\r\n\
Sec-WebSocket-Protocol: chat, superchat\r\nSec-WebSocket-Version: 13\r\n\r\n";

fn run(pieces: &[&[u8]], eof: bool) -> (Vec<u8>, Vec<String>) {
    let server: SocketAddr = "192.0.2.80:80".parse().expect("addr");
    let client: SocketAddr = "198.51.100.7:40000".parse().expect("addr");
    let mut ws = WebSocket::new(Config::server(server, client, 7));
    let (mut sent, mut events) = (Vec::new(), Vec::new());
    let mut drain = |ws: &mut WebSocket| {
        loop {
            match ws.poll_output(Instant::ZERO) {
                Output::Idle { .. } => break,
                Output::Transmit(t) => sent.extend_from_slice(&t.bytes),
                Output::Event(e) => events.push(format!("{e:?}")),
                _ => {}
            }
        }
    };
    let _ = ws.on_connected(Instant::ZERO);
    drain(&mut ws);
    for piece in pieces {
        let _ = ws.handle_input(Instant::ZERO, Input::Receive { from: client, bytes: piece });
        drain(&mut ws);
    }
    if eof {
        let _ = ws.on_peer_closed(Instant::ZERO);
        drain(&mut ws);
    }
    (sent, events)
}

fuzz_target!(|data: &[u8]| {
    let (cuts, rest) = with_cuts(data);
    let bytes = if data.first().is_some_and(|b| b & 0x80 != 0) { [HANDSHAKE, rest].concat() } else { rest.to_vec() };
    let eof = data.first().is_some_and(|b| b & 0x40 != 0);
    let whole = run(&[&bytes], eof);
    assert_eq!(run(&cut(&bytes, cuts), eof), whole);

    let sent = whole.0;
    if sent.starts_with(b"HTTP/1.1 101 ") {
        let head = sent.windows(4).position(|w| w == b"\r\n\r\n").expect("a whole head") + 4;
        let mut at = head;
        while at < sent.len() {
            match Frame::parse(&sent[at..]) {
                Ok(Some((_, n))) => at += n,
                other => panic!("sent bytes at {at} are not a frame: {other:?} in {:02x?}", &sent[head..]),
            }
        }
    }
});
