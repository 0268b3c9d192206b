//! POP3 as Wasm in headless Chromium: the RFC 1939 §10 transcript against our server and
//! our client (with the APOP digest computed in Wasm), as natively.
#![cfg(target_arch = "wasm32")]

mod support;

use support::{ClientRun, ServerRun, Step, maildrop, transcript};
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};
use wirelab_pop3::md5::apop_digest;

wasm_bindgen_test_configure!(run_in_browser);

const S10: &str = include_str!("transcripts/rfc1939_s10.txt");

fn messages() -> Vec<Vec<u8>> {
    maildrop().into_iter().map(|(_, m)| m).collect()
}

#[wasm_bindgen_test]
fn rfc1939_apop_digest() {
    assert_eq!(apop_digest("<1896.697170952@dbc.mtview.ca.us>", "tanstaaf"), "c4c9334bac560ecc979e58001b3e22fb");
}

#[wasm_bindgen_test]
fn rfc1939_s10_against_our_server_and_client() {
    let mut server = ServerRun::new();
    let mut client = ClientRun::new();
    for c in ["apop mrose tanstaaf", "STAT", "LIST", "RETR 1", "DELE 1", "RETR 2", "DELE 2", "QUIT"] {
        client.command(c);
    }
    let (mut want_server, mut want_client) = (Vec::new(), Vec::new());
    for step in transcript(S10, &messages()) {
        match step {
            Step::Open => {
                server.open();
                client.connect();
            }
            Step::Client(b) => {
                server.feed(&b);
                want_client.extend(b);
            }
            Step::Server(b) => {
                client.feed(&b);
                want_server.extend(b);
            }
            Step::Close => {}
        }
    }
    assert_eq!(server.sent, want_server);
    assert_eq!(client.sent, want_client);
    assert_eq!(server.removed.len(), 2);
}
