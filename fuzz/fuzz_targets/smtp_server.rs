//! The SMTP server machine (`wirelab_smtp::SmtpServer`) fed any bytes in any pieces, then
//! maybe the end of the stream: it never fails and never panics, and everything it sends
//! is whole replies, each line CRLF-ended and at most 512 octets (RFC 5321 §4.5.3.1.5),
//! that its own inspector reads without error.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::net::SocketAddr;
use wirelab_core::{Input, Instant, Machine, Output, StreamApp};
use wirelab_fuzz::{cut, with_cuts};
use wirelab_smtp::wire;
use wirelab_smtp::{ServerConfig, ServerEvent, SmtpServer};

fn check(s: &mut SmtpServer) {
    loop {
        match s.poll_output(Instant::ZERO) {
            Output::Idle { .. } => return,
            Output::Transmit(t) => {
                let mut rest = &t.bytes[..];
                while !rest.is_empty() {
                    let parsed = wire::parse_reply(rest);
                    let Ok(Some((_, n))) = parsed else {
                        panic!("{parsed:?}: {:?}", String::from_utf8_lossy(&t.bytes))
                    };
                    rest = &rest[n..];
                }
                for line in t.bytes.split_inclusive(|&b| b == b'\n') {
                    assert!(line.ends_with(b"\r\n") && line.len() <= wire::MAX_REPLY_LINE);
                }
                assert!(SmtpServer::annotate(&t.bytes).error.is_none());
            }
            Output::Event(ServerEvent::Deliver { .. }) => {
                let stored = "stored 1".parse().expect("a console command");
                s.handle_input(Instant::ZERO, Input::Command(stored)).expect("awaiting the store");
            }
            _ => {}
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let server: SocketAddr = "192.0.2.25:25".parse().expect("addr");
    let client: SocketAddr = "198.51.100.7:40000".parse().expect("addr");
    let (cuts, bytes) = with_cuts(data);
    let mut s = SmtpServer::new(ServerConfig::new(server, "foo.com"));
    s.on_connected(Instant::ZERO).expect("connected");
    check(&mut s);
    for piece in cut(bytes, cuts) {
        s.handle_input(Instant::ZERO, Input::Receive { from: client, bytes: piece }).expect("never an error");
        check(&mut s);
    }
    if cuts.len() % 2 == 1 {
        s.on_peer_closed(Instant::ZERO).expect("eof");
        check(&mut s);
    }
});
