//! WebSocket opening handshakes (`wirelab_ws::handshake`): a request the server accepts is
//! accepted again from exactly the bytes it took, and our own answer to it (with the
//! first subprotocol offered) passes the client's check of RFC 6455 §4.1; a response read
//! against any key and offer never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wirelab_ws::handshake::{self, MAX_HANDSHAKE};

fuzz_target!(|data: &[u8]| {
    let _ = handshake::parse_response(data, MAX_HANDSHAKE, "dGhlIHNhbXBsZSBub25jZQ==", &["chat".to_string()]);
    let _ = handshake::parse_response(data, 64, "", &[]);
    let Ok(Some((req, n))) = handshake::parse_request(data, MAX_HANDSHAKE) else { return };
    assert!(n <= data.len());
    assert_eq!(handshake::parse_request(&data[..n], MAX_HANDSHAKE), Ok(Some((req.clone(), n))));
    let picked = req.protocols.first().map(String::as_str);
    let answer = handshake::server_response(&req.key, picked);
    match handshake::parse_response(&answer, MAX_HANDSHAKE, &req.key, &req.protocols) {
        Ok(Some((resp, used))) => {
            assert_eq!(used, answer.len());
            assert_eq!(resp.protocol.as_deref(), picked);
        }
        other => panic!("our answer {:?} to {req:?} fails the client: {other:?}", String::from_utf8_lossy(&answer)),
    }
});
