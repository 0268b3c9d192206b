//! `websocket-stepped`: WebSocket over our TCP, checked byte by byte from the trace — the
//! opening handshake (RFC 6455 §4), masking (§5.3), fragmentation (§5.4), Ping/Pong
//! (§5.5.2), the closing handshake (§5.5.1, §7) and the TCP close under it.
#![cfg(not(target_arch = "wasm32"))]

use wirelab_core::{LinkConfig, Trace, TraceKind};
use wirelab_scenarios::compare::sent_stream;
use wirelab_scenarios::{Params, run};
use wirelab_tcp::Segment;
use wirelab_ws::handshake::accept_key;
use wirelab_ws::{CloseCode, Frame, Opcode};

const BROWSER: usize = 0;
const SERVER: usize = 1;

fn trace() -> Trace {
    run("websocket-stepped", &Params::default()).expect("runs")
}

/// The opening-handshake message at the start of `stream`, and the frames after it.
fn split(stream: &[u8]) -> (String, Vec<(Frame, Vec<u8>)>) {
    let end = stream.windows(4).position(|w| w == b"\r\n\r\n").expect("an HTTP head") + 4;
    let head = String::from_utf8_lossy(&stream[..end]).into_owned();
    let mut frames = Vec::new();
    let mut at = end;
    while let Ok(Some((frame, n))) = Frame::parse(&stream[at..]) {
        frames.push((frame, stream[at..at + n].to_vec()));
        at += n;
    }
    assert_eq!(at, stream.len(), "the stream is a head and whole frames");
    (head, frames)
}

fn header<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines().find_map(|l| {
        let (n, v) = l.split_once(':')?;
        n.eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

fn events(trace: &Trace, node: usize) -> Vec<String> {
    trace.reports(node)
}

#[test]
fn the_accept_key_is_the_rfc_s_own_example() {
    // RFC 6455 §1.3: the key "dGhlIHNhbXBsZSBub25jZQ==" gives "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=".
    assert_eq!(accept_key("dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

#[test]
fn the_opening_handshake_is_an_upgrade_answered_with_the_right_accept() {
    let trace = trace();
    let (request, _) = split(&sent_stream(&trace, BROWSER));
    let (response, _) = split(&sent_stream(&trace, SERVER));
    assert!(request.starts_with("GET /chat HTTP/1.1\r\n"), "{request}");
    assert_eq!(header(&request, "Host"), Some("192.0.2.80"));
    assert_eq!(header(&request, "Upgrade"), Some("websocket"));
    assert_eq!(header(&request, "Connection"), Some("Upgrade"));
    assert_eq!(header(&request, "Sec-WebSocket-Version"), Some("13"));
    assert_eq!(header(&request, "Origin"), Some("http://192.0.2.80"));
    // 16 random bytes, base64: 24 characters ending in "==" (§4.1).
    let key = header(&request, "Sec-WebSocket-Key").expect("a key");
    assert_eq!((key.len(), key.ends_with("==")), (24, true), "{key}");
    assert!(response.starts_with("HTTP/1.1 101 Switching Protocols\r\n"), "{response}");
    assert_eq!(header(&response, "Upgrade"), Some("websocket"));
    assert_eq!(header(&response, "Sec-WebSocket-Accept"), Some(accept_key(key).as_str()));
    // The seed fixes the key: pinned, so a change of generator shows.
    assert_eq!(key, "VL2fR1SELRRZ5wlZ/nQ5fg==");
    // base64(SHA-1(key + GUID)), computed apart from our code (Python hashlib).
    assert_eq!(accept_key(key), "Yc3XOJR4Mc9zsVbJci+MOI+oN10=");
}

#[test]
fn client_frames_are_masked_server_frames_are_not_and_everything_is_echoed() {
    let trace = trace();
    let (_, sent) = split(&sent_stream(&trace, BROWSER));
    let (_, echoed) = split(&sent_stream(&trace, SERVER));
    let kinds = |fs: &[(Frame, Vec<u8>)]| fs.iter().map(|(f, _)| (f.header.opcode, f.header.fin)).collect::<Vec<_>>();
    assert_eq!(
        kinds(&sent),
        [
            (Opcode::Text, true),
            (Opcode::Binary, true),
            (Opcode::Ping, true),
            (Opcode::Text, false),
            (Opcode::Continuation, false),
            (Opcode::Continuation, true),
            (Opcode::Close, true),
        ]
    );
    assert_eq!(
        kinds(&echoed),
        [
            (Opcode::Text, true),
            (Opcode::Binary, true),
            (Opcode::Pong, true),
            (Opcode::Text, true),
            (Opcode::Close, true)
        ]
    );
    // §5.3: every client frame is masked with its own key; the wire shows the masked
    // bytes, which unmask to the text. §5.1: no server frame is masked.
    let (text, wire) = &sent[0];
    let key = text.header.mask.expect("masked");
    assert_eq!(text.payload, b"Hello, WebSocket");
    let on_wire = &wire[wire.len() - text.payload.len()..];
    assert_ne!(on_wire, b"Hello, WebSocket");
    let unmasked: Vec<u8> = on_wire.iter().enumerate().map(|(i, b)| b ^ key[i % 4]).collect();
    assert_eq!(unmasked, b"Hello, WebSocket");
    let keys: Vec<[u8; 4]> = sent.iter().filter_map(|(f, _)| f.header.mask).collect();
    assert_eq!(keys.len(), sent.len());
    assert!(keys.windows(2).all(|k| k[0] != k[1]), "a fresh key per frame");
    assert!(echoed.iter().all(|(f, _)| f.header.mask.is_none()));
    // The echoes, the Pong with the Ping's data (§5.5.2), the fragments reassembled (§5.4).
    assert_eq!(echoed[0].0.payload, b"Hello, WebSocket");
    assert_eq!(echoed[1].0.payload, [0xde, 0xad, 0xbe, 0xef]);
    assert_eq!(echoed[2].0.payload, sent[2].0.payload);
    assert_eq!(echoed[2].0.payload, b"are you there?");
    let fragments: Vec<u8> = sent[3..6].iter().flat_map(|(f, _)| f.payload.clone()).collect();
    assert_eq!(fragments, b"one message in three frames");
    assert_eq!(echoed[3].0.payload, fragments);
    // §5.5.1: the Close carries 1000 and the reason; the answer echoes the code.
    assert_eq!(sent[6].0.payload, b"\x03\xe8done");
    assert_eq!(echoed[4].0.payload, CloseCode::NORMAL.0.to_be_bytes());
}

#[test]
fn the_browser_reports_each_echo_and_a_clean_close() {
    let trace = trace();
    let ws: Vec<String> = events(&trace, BROWSER).into_iter().filter(|e| e.starts_with("WebSocket: ")).collect();
    assert_eq!(
        ws,
        [
            "WebSocket: open",
            "WebSocket: text message \"Hello, WebSocket\"",
            "WebSocket: binary message of 4 bytes: de ad be ef",
            "WebSocket: pong \"are you there?\"",
            "WebSocket: text message \"one message in three frames\"",
            "WebSocket: closed cleanly with code 1000 (Normal Closure)",
            "WebSocket: close the TCP connection",
        ]
    );
}

#[test]
fn both_layers_walk_their_states_and_the_server_closes_tcp_first() {
    let trace = trace();
    assert_eq!(
        trace.state_history(BROWSER),
        [
            "CONNECTING · CLOSED",
            "CONNECTING · SYN-SENT",
            "CONNECTING · ESTABLISHED",
            "OPEN · ESTABLISHED",
            "CLOSING · ESTABLISHED",
            "CLOSED · ESTABLISHED",
            "CLOSED · CLOSE-WAIT",
            "CLOSED · LAST-ACK",
            "CLOSED · CLOSED",
        ]
    );
    // RFC 6455 §7.1.1: the server closes TCP first, so it is the one in TIME-WAIT.
    assert_eq!(
        trace.state_history(SERVER),
        [
            "CONNECTING · CLOSED",
            "CONNECTING · LISTEN",
            "CONNECTING · SYN-RECEIVED",
            "CONNECTING · ESTABLISHED",
            "OPEN · ESTABLISHED",
            "CLOSED · ESTABLISHED",
            "CLOSED · FIN-WAIT-1",
            "CLOSED · FIN-WAIT-2",
            "CLOSED · TIME-WAIT",
            "CLOSED · CLOSED",
        ]
    );
    // Each transition names its layer's rule.
    for e in &trace.events {
        if let TraceKind::StateChanged { from, to, rfc, .. } = &e.kind {
            let tcp_moved = from.split(" · ").nth(1) != to.split(" · ").nth(1);
            let rfc = rfc.as_ref().map(|r| r.rfc);
            assert_eq!(rfc, Some(if tcp_moved { 9293 } else { 6455 }), "{from} -> {to}");
        }
    }
}

#[test]
fn segments_say_what_they_carry_and_why() {
    let trace = trace();
    let frames: Vec<_> = trace
        .events
        .iter()
        .filter_map(|e| match &e.kind {
            TraceKind::Sent { frame } if Segment::parse(&frame.bytes).is_ok_and(|s| !s.payload.is_empty()) => {
                Some(frame)
            }
            _ => None,
        })
        .collect();
    let text = frames.iter().find(|f| f.annotation.summary.starts_with("WebSocket Text \"Hello")).expect("text");
    assert!(text.annotation.summary.contains(" · PSH,ACK seq="), "{}", text.annotation.summary);
    assert_eq!(text.annotation.protocol, "TCP");
    assert_eq!(text.rfc.as_ref().map(ToString::to_string).as_deref(), Some("RFC 6455 §5.6"));
    assert!(text.reason.starts_with("to carry the application's data — WebSocket: a Text frame"), "{}", text.reason);
    // The frame's own fields, one level down, shifted past the 20-byte TCP header.
    let key = text.annotation.fields.iter().find(|f| f.name == "Masking-key").expect("a key field");
    assert_eq!((key.start, key.len, key.depth), (22, 4, 1));
    let payload = text.annotation.fields.iter().find(|f| f.name == "Payload data").expect("payload");
    assert_eq!(payload.value, "\"Hello, WebSocket\"");
    assert_eq!(payload.start + payload.len, text.bytes.len());
    for f in &frames {
        assert_eq!(f.annotation.error, None, "{}", f.annotation.summary);
        for i in 0..f.bytes.len() {
            assert!(f.annotation.field_at(i).is_some(), "byte {i} of {}", f.annotation.summary);
        }
    }
    let upgrade = frames[0];
    assert!(upgrade.annotation.summary.starts_with("GET /chat HTTP/1.1 (WebSocket opening handshake) · PSH,ACK"));
    assert_eq!(upgrade.rfc.as_ref().map(ToString::to_string).as_deref(), Some("RFC 6455 §4.1"));
}

/// Every segment goes into a pcap export: the frames are TCP, whatever they carry.
#[test]
fn every_layered_segment_exports_to_pcap() {
    for id in ["websocket-stepped", "http-request", "http-polling-vs-websocket"] {
        let t = run(id, &wirelab_scenarios::defaults(id)).expect("runs");
        assert_eq!(wirelab_core::export::pcap(&t).left_out, 0, "{id}");
    }
}

#[test]
fn the_ladder_matches_the_snapshot() {
    expect_test::expect_file!["snapshots/websocket_stepped.ladder"].assert_eq(&trace().ascii_ladder());
}

#[test]
fn same_seed_same_trace_other_seed_other_key() {
    assert_eq!(trace(), trace());
    let other = run("websocket-stepped", &Params { seed: 2, ..Params::default() }).expect("runs");
    let key = |t: &Trace| split(&sent_stream(t, BROWSER)).0;
    assert_ne!(key(&trace()), key(&other));
    assert_eq!(trace().state_history(SERVER), other.state_history(SERVER));
}

fn received(trace: &Trace, node: usize) -> Vec<String> {
    events(trace, node)
        .into_iter()
        .filter(|t| t.starts_with("WebSocket: ") && (t.contains("message") || t.contains("ping") || t.contains("pong")))
        .collect()
}

/// 5% loss, seeds 1 to 20: the run settles with no error; the server gets every message
/// once and in order; every frame the server sends reaches the browser; the close is
/// clean and both ends reach CLOSED.
#[test]
fn a_lossy_link_still_completes() {
    let clean = trace();
    for seed in 1..=20 {
        let p = Params { seed, link: LinkConfig { loss: 0.05, ..LinkConfig::default() }, ..Params::default() };
        let t = run("websocket-stepped", &p).expect("settles");
        assert!(!t.events.iter().any(|e| matches!(e.kind, TraceKind::Error { .. })), "seed {seed}");
        assert_eq!(received(&t, SERVER), received(&clean, SERVER), "seed {seed}");
        let (_, echoed) = split(&sent_stream(&t, SERVER));
        let data = echoed.iter().filter(|(f, _)| f.header.opcode != Opcode::Close).count();
        assert_eq!(received(&t, BROWSER).len(), data, "seed {seed}: every echo sent arrives");
        let events = events(&t, BROWSER);
        assert!(events.contains(&"WebSocket: closed cleanly with code 1000 (Normal Closure)".into()), "seed {seed}");
        assert_eq!(t.states_after(Some(t.events.len() - 1)), ["CLOSED · CLOSED", "CLOSED · CLOSED"], "seed {seed}");
    }
}

/// Seed 5 at 5% loss loses the second fragment. Its retransmission carries the last two
/// fragments and the browser's Close too (sent meanwhile), so the server reads the whole
/// message and the Close at once: its machine answers the Close before the echo can be
/// written, and "after sending a Close frame, the application MUST NOT send any more data
/// frames" (RFC 6455 §5.5.1). The message arrived; its echo is never sent.
#[test]
fn a_close_read_with_the_message_leaves_no_room_for_the_echo() {
    let p = Params { seed: 5, link: LinkConfig { loss: 0.05, ..LinkConfig::default() }, ..Params::default() };
    let t = run("websocket-stepped", &p).expect("settles");
    let server = events(&t, SERVER);
    let message = server.iter().position(|e| e == "WebSocket: text message \"one message in three frames\"");
    let closed = server.iter().position(|e| e.starts_with("WebSocket: closed cleanly"));
    assert!(message.is_some() && closed.is_some(), "{server:?}");
    let (_, echoed) = split(&sent_stream(&t, SERVER));
    assert_eq!(echoed.len(), 4, "text, binary and pong echoed; then only the Close");
    assert_eq!(echoed[3].0.header.opcode, Opcode::Close);
    assert!(!received(&t, BROWSER).iter().any(|e| e.contains("three frames")));
}
