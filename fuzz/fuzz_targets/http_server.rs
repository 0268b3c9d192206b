//! The HTTP/1.1 server machine (`wirelab_http::HttpServer`, the teaching site) fed any
//! bytes in any pieces: it never fails until it has closed, sends and reports the same
//! whatever the pieces, and every response it sends is one its own inspector reads
//! without error. As in `http_request`, the stream ends with an empty line in a piece of
//! its own, so that a malformed line still arriving is refused in either case.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::net::SocketAddr;
use wirelab_core::{Input, Instant, Machine, Output};
use wirelab_fuzz::{cut, with_cuts};
use wirelab_http::{HttpServer, ServerConfig, ServerEvent};

fn run(pieces: &[&[u8]]) -> (Vec<Vec<u8>>, Vec<String>) {
    let server: SocketAddr = "192.0.2.80:80".parse().expect("addr");
    let client: SocketAddr = "198.51.100.7:40000".parse().expect("addr");
    let mut s = HttpServer::new(ServerConfig::new(server));
    let (mut sent, mut events) = (Vec::new(), Vec::new());
    let mut closed = false;
    for piece in pieces {
        let r = s.handle_input(Instant::ZERO, Input::Receive { from: client, bytes: piece });
        assert!(r.is_ok() || closed, "{r:?}");
        loop {
            match s.poll_output(Instant::ZERO) {
                Output::Idle { .. } => break,
                Output::Transmit(t) => {
                    let a = HttpServer::annotate(&t.bytes);
                    assert!(a.error.is_none(), "{a:?}");
                    sent.push(t.bytes);
                }
                Output::Event(e) => {
                    closed |= e == ServerEvent::CloseConnection;
                    events.push(format!("{e:?}"));
                }
                _ => {}
            }
        }
    }
    (sent, events)
}

fuzz_target!(|data: &[u8]| {
    let (cuts, bytes) = with_cuts(data);
    let _ = HttpServer::annotate(bytes);
    let whole = run(&[bytes, b"\r\n\r\n"]);
    let mut pieces = cut(bytes, cuts);
    pieces.push(b"\r\n\r\n");
    let (sent, events) = run(&pieces);
    assert_eq!(events, whole.1);
    assert_eq!(sent.concat(), whole.0.concat());
});
