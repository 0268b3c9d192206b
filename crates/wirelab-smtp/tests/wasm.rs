//! SMTP as Wasm in headless Chromium: the RFC 5321 D.1 transcript against our server and
//! our client, and dot-stuffing, as natively.
#![cfg(target_arch = "wasm32")]

mod support;

use support::{ClientRun, SERVER, ServerRun, foo_com, replies, transcript, turns};
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};
use wirelab_smtp::{ClientConfig, RecipientPolicy, data};

wasm_bindgen_test_configure!(run_in_browser);

const D1: &str = include_str!("transcripts/rfc5321_d1.txt");

#[wasm_bindgen_test]
fn rfc5321_d1_reply_codes_from_our_server() {
    let mut config = foo_com();
    config.recipients = RecipientPolicy::Known(vec!["Jones".into(), "Brown".into()]);
    let mut run = ServerRun::new(config);
    for (server, bytes) in turns(&transcript(D1)) {
        if server {
            let got = run.take_sent();
            let codes = |b: &[u8]| replies(b).iter().map(|r| r.code).collect::<Vec<_>>();
            assert_eq!(codes(&got), codes(&bytes));
        } else {
            run.feed(&bytes);
        }
    }
    assert!(run.closed);
}

#[wasm_bindgen_test]
fn rfc5321_d1_lines_from_our_client() {
    let mut config = ClientConfig::new(support::CLIENT, SERVER, "bar.com");
    config.declare_size = false;
    let mut run = ClientRun::new(config);
    run.command("send-raw Smith@bar.com Jones@foo.com,Green@foo.com,Brown@foo.com Blah blah blah...\\r\\n..etc. etc. etc.\\r\\n");
    run.command("quit");
    run.connect();
    let mut want = Vec::new();
    for (server, bytes) in turns(&transcript(D1)) {
        if server {
            run.feed(&bytes);
        } else {
            want.extend(bytes);
        }
    }
    assert_eq!(run.sent, want);
}

#[wasm_bindgen_test]
fn dot_stuffing() {
    let body = b"one\r\n.\r\n..two\r\n";
    let wire = data::encode(body);
    assert_eq!(wire, b"one\r\n..\r\n...two\r\n.\r\n");
    assert_eq!(data::decode(&wire), Some((body.to_vec(), wire.len())));
}
