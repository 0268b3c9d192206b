//! IMAP responses (`wirelab_imap::response`, `syntax::Framer`), literals included: the
//! frames a client-side framer cuts from a stream are the same however the stream
//! arrives; a response read from the front of any bytes parses again from exactly the
//! bytes it took and prints to bytes that parse back to the same response; the client
//! machine takes any bytes without panicking.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::net::SocketAddr;
use wirelab_core::{Input, Instant, Machine, Output};
use wirelab_fuzz::{cut, imap_frames, with_cuts};
use wirelab_imap::syntax::Side;
use wirelab_imap::{ClientConfig, ImapClient, Response};

fuzz_target!(|data: &[u8]| {
    let (cuts, bytes) = with_cuts(data);
    let _ = ImapClient::annotate(bytes);
    assert_eq!(imap_frames(Side::Responses, &cut(bytes, cuts)), imap_frames(Side::Responses, &[bytes]));

    let client: SocketAddr = "198.51.100.7:40000".parse().expect("addr");
    let server: SocketAddr = "192.0.2.143:143".parse().expect("addr");
    let mut c = ImapClient::new(ClientConfig::new(client, server));
    let login = "login a b".parse().expect("a console command");
    c.handle_input(Instant::ZERO, Input::Command(login)).expect("queued");
    for piece in cut(bytes, cuts) {
        let _ = c.handle_input(Instant::ZERO, Input::Receive { from: server, bytes: piece });
        while !matches!(c.poll_output(Instant::ZERO), Output::Idle { .. }) {}
    }

    let Ok(Some((n, r))) = Response::read(bytes) else { return };
    assert_eq!(Response::parse(&bytes[..n]).as_ref(), Ok(&r));
    let printed = r.to_bytes();
    assert_eq!(Response::parse(&printed).as_ref(), Ok(&r), "{:?}", String::from_utf8_lossy(&printed));
    let read = Response::read(&printed).ok().flatten().map(|(n, _)| n);
    assert_eq!(read, Some(printed.len()), "{r:?}: {:?}", String::from_utf8_lossy(&printed));
});
