//! `http-polling-vs-websocket`: the table computed from the run, checked against what the
//! chat's timing, the poll period and the link delay say it must be.
#![cfg(not(target_arch = "wasm32"))]

use core::time::Duration;
use wirelab_core::{Instant, LinkConfig, Trace, TraceKind};
use wirelab_scenarios::compare::{self, PollingVsWebSocket, sent_stream};
use wirelab_scenarios::web::{CHAT, CHAT_DURATION, CHAT_PATH, POLL_PERIOD, POLLING_VS_WS_NODES, polls};
use wirelab_scenarios::{Params, defaults, run};

const HTTP_CLIENT: usize = 0;

fn trace() -> Trace {
    run("http-polling-vs-websocket", &defaults("http-polling-vs-websocket")).expect("runs")
}

fn table(trace: &Trace) -> PollingVsWebSocket {
    compare::polling_vs_websocket(trace).expect("a polling-vs-websocket trace")
}

/// When `node` entered ESTABLISHED.
fn established(trace: &Trace, node: usize) -> Instant {
    trace
        .events
        .iter()
        .find(|e| {
            e.node == node && matches!(&e.kind, TraceKind::StateChanged { to, .. } if to.ends_with(" · ESTABLISHED"))
        })
        .map(|e| e.at)
        .expect("connected")
}

#[test]
fn the_nodes_are_the_ones_the_table_reads() {
    let trace = trace();
    let names: Vec<&str> = trace.nodes.iter().map(|n| n.name.as_str()).collect();
    assert_eq!(names, POLLING_VS_WS_NODES);
}

/// The model: the poller asks at `t_c + k·P` (k = 1..=polls), its request reaches the
/// server one link delay `L` later, which lists every message published by then; the
/// answer is back after another `L`. A message written at `t` is therefore had at the
/// first `t_c + k·P + 2L` with `t <= t_c + k·P + L`. Pushed over WebSocket, it is had at
/// `t + L`.
#[test]
fn the_table_of_the_default_run_is_what_the_timing_says() {
    let trace = trace();
    let t = table(&trace);
    println!("{t}");
    let (p, w) = (&t.polling, &t.websocket);
    let n = CHAT.len();
    assert_eq!((p.published, p.delivered), (n, n));
    assert_eq!((w.published, w.delivered), (n, n));

    // Requests: one per period over the chat's duration, ceil(5 s / 0.5 s) = 10; the
    // WebSocket client makes one, the opening handshake's GET.
    assert_eq!(polls(), 10);
    assert_eq!(p.requests, CHAT_DURATION.as_millis().div_ceil(POLL_PERIOD.as_millis()) as usize);
    assert_eq!(w.requests, 1);

    let link = Params::default().link.latency;
    let t_c = established(&trace, HTTP_CLIENT);
    let poll_at = |k: u32| t_c + POLL_PERIOD * k;
    let expected: Vec<Duration> = CHAT
        .iter()
        .map(|&(at, _)| {
            let written = Instant::from_millis(at);
            let k = (1..=polls()).find(|&k| written <= poll_at(k) + link).expect("a poll after every message");
            poll_at(k) + link * 2 - written
        })
        .collect();
    let got: Vec<Duration> = p.latency.iter().map(|l| l.expect("delivered")).collect();
    assert_eq!(got, expected);
    assert!(w.latency.iter().all(|l| *l == Some(link)), "{:?}", w.latency);

    // So: polling waits about half a period on average, the push one link delay.
    let mean = p.mean_latency().expect("some");
    assert!(mean > POLL_PERIOD / 2 - link && mean < POLL_PERIOD / 2 + link * 5, "{mean:?}");
    assert!(w.mean_latency() < p.mean_latency());
    assert!(p.max_latency().expect("some") <= POLL_PERIOD + link * 2);

    // And polling pays for every question, answered or not: more frames, more bytes.
    assert!(p.frames > w.frames);
    assert!(p.wire_bytes > w.wire_bytes * 3 / 2, "{} vs {}", p.wire_bytes, w.wire_bytes);
    assert_eq!(p.bytes_per_message(), Some(p.wire_bytes / n));

    // The figures as the table prints them.
    let text = t.to_string();
    assert!(text.contains(&format!("{:<30} {:<28} {}", "HTTP requests", 10, 1)), "{text}");
    assert!(text.contains("10 of 10"), "{text}");
}

/// What the poller asks for: `since` is the first message it does not have yet, so it is
/// the number of messages the earlier polls brought.
#[test]
fn each_poll_asks_for_what_is_new() {
    let trace = trace();
    let t = table(&trace);
    let link = Params::default().link.latency;
    let t_c = established(&trace, HTTP_CLIENT);
    let mut since = 0;
    let mut expected = String::new();
    for k in 1..=polls() {
        expected.push_str(&format!(
            "GET {CHAT_PATH}?since={since} HTTP/1.1\r\nHost: 192.0.2.80\r\nUser-Agent: wirelab\r\n\r\n"
        ));
        let served = t_c + POLL_PERIOD * k + link;
        since = CHAT.iter().filter(|(at, _)| Instant::from_millis(*at) <= served).count();
    }
    assert_eq!(String::from_utf8_lossy(&sent_stream(&trace, HTTP_CLIENT)), expected);
    // Four of the ten polls find nothing new: their answers are empty lists.
    let empty = trace
        .events
        .iter()
        .filter(|e| matches!(&e.kind, TraceKind::Sent { frame } if frame.annotation.summary.starts_with("HTTP/1.1 200 OK (0 bytes)")))
        .count();
    assert_eq!(empty, 4);
    assert_eq!(t.polling.requests, 10);
}

#[test]
fn same_seed_same_trace() {
    assert_eq!(trace(), trace());
}

/// 5% loss, seeds 1 to 20: no error, every message reaches both clients, every
/// connection closes, and polling still makes exactly its requests.
#[test]
fn a_lossy_link_still_delivers_every_message_both_ways() {
    for seed in 1..=20 {
        let p = Params { seed, link: LinkConfig { loss: 0.05, ..LinkConfig::default() }, ..Params::default() };
        let trace = run("http-polling-vs-websocket", &p).expect("settles");
        assert!(!trace.events.iter().any(|e| matches!(e.kind, TraceKind::Error { .. })), "seed {seed}");
        let t = table(&trace);
        assert_eq!((t.polling.delivered, t.websocket.delivered), (CHAT.len(), CHAT.len()), "seed {seed}\n{t}");
        assert_eq!((t.polling.requests, t.websocket.requests), (10, 1), "seed {seed}");
        assert!(trace.states_after(Some(trace.events.len() - 1)).iter().all(|s| s == "CLOSED · CLOSED"), "seed {seed}");
    }
}
