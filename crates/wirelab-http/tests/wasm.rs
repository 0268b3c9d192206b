//! HTTP/1.1 as Wasm in headless Chromium: a client and a server exchange requests
//! through an in-test pipe, and the chunked decoder works on a stream cut anywhere, as
//! natively.
#![cfg(target_arch = "wasm32")]

mod support;

use support::Pair;
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};
use wirelab_core::Machine;
use wirelab_http::chunked::{ChunkedDecoder, encode_chunked};
use wirelab_http::{ClientState, HttpServer};

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen_test]
fn a_get_and_a_chunked_get_on_one_connection() {
    let mut p = Pair::new();
    p.command("GET /hello.txt");
    p.command("GET /chunked");
    let r = p.responses();
    assert_eq!(r[0], (200, b"Hello, world!".to_vec()));
    assert_eq!(r[1].1.len(), 67);
    assert_eq!(p.client.state(), ClientState::Idle);
    assert_eq!(HttpServer::annotate(&p.wire[1].1).summary, "200 OK (13 bytes)");
}

#[wasm_bindgen_test]
fn chunked_decodes_byte_by_byte() {
    let encoded = encode_chunked(&[&b"Wiki"[..], b"pedia"]);
    let mut d = ChunkedDecoder::new(1 << 20, 1024);
    let mut out = Vec::new();
    for b in &encoded {
        d.decode(std::slice::from_ref(b), &mut out).expect("valid");
    }
    assert!(d.is_done());
    assert_eq!(out, b"Wikipedia");
}
