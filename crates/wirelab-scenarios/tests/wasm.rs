//! The simulator and the scenarios as Wasm in headless Chromium: the run the app shows
//! must be the run the native tests check, bit for bit.
#![cfg(target_arch = "wasm32")]

use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};
use wirelab_core::{LinkConfig, TraceKind};
use wirelab_scenarios::{Params, compare, defaults, run};

wasm_bindgen_test_configure!(run_in_browser);

/// The native snapshot of the same run (tests/snapshots/tcp_handshake.ladder).
const LADDER: &str = include_str!("snapshots/tcp_handshake.ladder");

#[wasm_bindgen_test]
fn the_browser_run_equals_the_native_snapshot() {
    let trace = run("tcp-handshake", &Params::default()).expect("runs");
    assert_eq!(trace.ascii_ladder(), LADDER);
}

/// WebSocket and HTTP over our TCP, layered: the same ladders as natively.
#[wasm_bindgen_test]
fn the_layered_runs_equal_the_native_snapshots() {
    let ws = run("websocket-stepped", &Params::default()).expect("runs");
    assert_eq!(ws.ascii_ladder(), include_str!("snapshots/websocket_stepped.ladder"));
    let http = run("http-request", &Params::default()).expect("runs");
    assert_eq!(http.ascii_ladder(), include_str!("snapshots/http_request.ladder"));
}

/// The WebRTC connection, every STUN, DTLS, SCTP and DCEP byte: the same ladder as natively.
#[cfg(feature = "webrtc")]
#[wasm_bindgen_test]
fn webrtc_connect_equals_the_native_snapshot() {
    let trace = run("webrtc-connect", &Params::default()).expect("runs");
    assert_eq!(trace.ascii_ladder(), include_str!("snapshots/webrtc_connect.ladder"));
}

/// SMTP and POP3 over our TCP: the same ladders as natively.
#[cfg(feature = "mail")]
#[wasm_bindgen_test]
fn the_mail_runs_equal_the_native_snapshots() {
    for (id, ladder) in [
        ("smtp-send", include_str!("snapshots/smtp_send.ladder")),
        ("smtp-relay", include_str!("snapshots/smtp_relay.ladder")),
        ("pop3-retrieve-delete", include_str!("snapshots/pop3_retrieve_delete.ladder")),
    ] {
        assert_eq!(run(id, &Params::default()).expect("runs").ascii_ladder(), ladder, "{id}");
    }
}

/// IMAP over our TCP, with its IDLE push: the same ladder as natively.
#[cfg(feature = "imap")]
#[wasm_bindgen_test]
fn imap_sync_equals_the_native_snapshot() {
    let trace = run("imap-sync", &Params::default()).expect("runs");
    assert_eq!(trace.ascii_ladder(), include_str!("snapshots/imap_sync.ladder"));
}

#[wasm_bindgen_test]
fn polling_vs_websocket_gives_the_same_table_in_the_browser() {
    let trace = run("http-polling-vs-websocket", &defaults("http-polling-vs-websocket")).expect("runs");
    let t = compare::polling_vs_websocket(&trace).expect("a table");
    assert_eq!((t.polling.delivered, t.websocket.delivered), (10, 10));
    assert_eq!((t.polling.requests, t.websocket.requests), (10, 1));
    assert!(t.websocket.mean_latency() < t.polling.mean_latency());
}

#[wasm_bindgen_test]
fn lossy_runs_replay_in_the_browser() {
    for seed in 0..10 {
        let p = Params { seed, link: LinkConfig { loss: 0.3, ..LinkConfig::default() }, drops: vec![], delays: vec![] };
        let a = run("tcp-handshake", &p).expect("settles");
        assert_eq!(a, run("tcp-handshake", &p).expect("settles"));
        assert!(!a.events.iter().any(|e| matches!(e.kind, TraceKind::Error { .. })));
    }
}
