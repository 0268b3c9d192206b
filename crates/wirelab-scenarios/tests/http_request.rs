//! `http-request`: HTTP/1.1 over our TCP, checked from the trace — the bytes of both
//! streams, message framing (Content-Length, chunked: RFC 9112 §6, §7.1), the persistent
//! connection (§9.3), `Connection: close` (§9.6) and the TCP close under it.
#![cfg(not(target_arch = "wasm32"))]

use wirelab_core::{LinkConfig, Trace, TraceKind};
use wirelab_http::{Limits, Response, ResponseParser};
use wirelab_scenarios::compare::sent_stream;
use wirelab_scenarios::web::LAST_REQUEST;
use wirelab_scenarios::{Params, run};

const CLIENT: usize = 0;
const SERVER: usize = 1;

fn trace() -> Trace {
    run("http-request", &Params::default()).expect("runs")
}

/// The responses in the server's stream, read with our parser as the client would.
fn responses(trace: &Trace) -> Vec<Response> {
    let mut p = ResponseParser::new(Limits::default());
    for _ in 0..3 {
        p.expect("GET");
    }
    p.push(&sent_stream(trace, SERVER));
    let mut out = Vec::new();
    while let Ok(Some(r)) = p.next_response() {
        out.push(r);
    }
    out
}

#[test]
fn the_client_sends_three_requests_on_one_connection() {
    let trace = trace();
    let stream = String::from_utf8(sent_stream(&trace, CLIENT)).expect("text");
    let expected = [
        "GET /hello.txt HTTP/1.1\r\nHost: 192.0.2.80\r\nUser-Agent: wirelab\r\n\r\n",
        "GET /chunked HTTP/1.1\r\nHost: 192.0.2.80\r\nUser-Agent: wirelab\r\n\r\n",
        LAST_REQUEST,
    ]
    .concat();
    assert_eq!(stream, expected);
    // One TCP connection: exactly one SYN from the client.
    let syns = trace
        .events
        .iter()
        .filter(|e| e.node == CLIENT)
        .filter(|e| matches!(&e.kind, TraceKind::Sent { frame } if frame.annotation.summary.starts_with("SYN ")))
        .count();
    assert_eq!(syns, 1);
}

#[test]
fn the_server_frames_each_response_as_rfc_9112_says() {
    let r = responses(&trace());
    assert_eq!(r.len(), 3);
    // 1. Content-Length: 13 and the 13 bytes.
    assert_eq!((r[0].status, r[0].header("content-length").as_deref()), (200, Some("13")));
    assert_eq!(r[0].body, b"Hello, world!");
    assert_eq!(r[0].header("connection"), None, "HTTP/1.1 persists by default (§9.3)");
    // 2. Transfer-Encoding: chunked, no Content-Length (§6.1), three chunks decoded.
    assert_eq!(r[1].header("transfer-encoding").as_deref(), Some("chunked"));
    assert_eq!(r[1].header("content-length"), None);
    assert_eq!(r[1].body, b"This body arrives\nin chunks, each one\npreceded by its size in hex.\n");
    // 3. The answer to `Connection: close` says so too (§9.6).
    assert_eq!(r[2].header("connection").as_deref(), Some("close"));
    assert!(String::from_utf8_lossy(&r[2].body).contains("<h1>Hello from wirelab</h1>"));
    // The raw stream shows the chunk sizes in hex.
    let raw = String::from_utf8_lossy(&sent_stream(&trace(), SERVER)).into_owned();
    assert!(raw.contains("\r\n\r\n12\r\nThis body arrives\n\r\n14\r\nin chunks, each one\n\r\n1d\r\n"), "{raw}");
    assert!(raw.contains("\r\n0\r\n\r\n"));
}

#[test]
fn both_layers_walk_their_states() {
    let trace = trace();
    let client = trace.state_history(CLIENT);
    assert_eq!(client.first().map(String::as_str), Some("IDLE · CLOSED"));
    // Each request: waiting, then idle again on the persistent connection; the chunked
    // response is read in parts.
    let http: Vec<&str> = client.iter().filter_map(|s| s.split(" · ").next()).collect();
    assert_eq!(
        http,
        [
            "IDLE",
            "IDLE",
            "IDLE",
            "WAITING-RESPONSE",
            "IDLE",
            "WAITING-RESPONSE",
            "READING-BODY",
            "IDLE",
            "WAITING-RESPONSE",
            "CLOSED",
            "CLOSED",
            "CLOSED",
            "CLOSED",
            "CLOSED"
        ]
    );
    // After `Connection: close` the server closes at once and the client as soon as it has
    // read the response: the FINs cross (RFC 9293 §3.6), and both wait in TIME-WAIT.
    let tcp = |node| {
        trace.state_history(node).iter().filter_map(|s| s.split(" · ").nth(1).map(str::to_string)).collect::<Vec<_>>()
    };
    let tail = |v: Vec<String>| v[v.len() - 4..].to_vec();
    assert_eq!(tail(tcp(CLIENT)), ["FIN-WAIT-1", "CLOSING", "TIME-WAIT", "CLOSED"]);
    assert_eq!(tail(tcp(SERVER)), ["FIN-WAIT-1", "CLOSING", "TIME-WAIT", "CLOSED"]);
}

#[test]
fn segments_name_their_http_messages() {
    let trace = trace();
    let summaries: Vec<String> = trace
        .events
        .iter()
        .filter_map(|e| match &e.kind {
            TraceKind::Sent { frame } if frame.annotation.summary.contains(" · ") => {
                frame.annotation.summary.split(" · ").next().map(str::to_string)
            }
            _ => None,
        })
        .collect();
    assert_eq!(
        summaries,
        [
            "GET /hello.txt HTTP/1.1",
            "HTTP/1.1 200 OK (13 bytes)",
            "GET /chunked HTTP/1.1",
            "HTTP/1.1 200 OK (0 bytes)",
            "HTTP/1.1 1 chunk(s), 18 bytes",
            "HTTP/1.1 1 chunk(s), 20 bytes",
            "HTTP/1.1 1 chunk(s), 29 bytes",
            "HTTP/1.1 last chunk (end of a chunked body)",
            "GET / HTTP/1.1",
            "HTTP/1.1 200 OK (278 bytes)",
        ]
    );
}

#[test]
fn the_ladder_matches_the_snapshot() {
    expect_test::expect_file!["snapshots/http_request.ladder"].assert_eq(&trace().ascii_ladder());
}

#[test]
fn same_seed_same_trace() {
    assert_eq!(trace(), trace());
}

/// 5% loss, seeds 1 to 20: no error, the same three responses, both ends CLOSED.
#[test]
fn a_lossy_link_still_completes() {
    let clean = responses(&trace());
    for seed in 1..=20 {
        let p = Params { seed, link: LinkConfig { loss: 0.05, ..LinkConfig::default() }, ..Params::default() };
        let t = run("http-request", &p).expect("settles");
        assert!(!t.events.iter().any(|e| matches!(e.kind, TraceKind::Error { .. })), "seed {seed}");
        assert_eq!(responses(&t), clean, "seed {seed}");
        let got = t
            .events
            .iter()
            .filter(|e| e.node == CLIENT)
            .filter(|e| matches!(&e.kind, TraceKind::Event { text } if text.starts_with("HTTP: 200 OK")))
            .count();
        assert_eq!(got, 3, "seed {seed}: the client read all three");
        assert_eq!(t.states_after(Some(t.events.len() - 1)), ["CLOSED · CLOSED", "CLOSED · CLOSED"], "seed {seed}");
    }
}
