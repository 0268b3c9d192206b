//! The teardown scenarios: simultaneous close, and resets out and in.
#![cfg(not(target_arch = "wasm32"))]

mod common;

use common::segments;
use wirelab_core::Trace;
use wirelab_scenarios::{defaults, run};

fn flags_sent(trace: &Trace, node: usize) -> Vec<String> {
    segments(trace, node).into_iter().map(|(s, _)| s.flags.to_string()).collect()
}

fn events(trace: &Trace, node: usize) -> Vec<String> {
    trace.reports(node)
}

#[test]
fn simultaneous_close_passes_closing_on_both_sides() {
    let trace = run("tcp-close-simultaneous", &defaults("tcp-close-simultaneous")).expect("settles");
    for node in [0, 1] {
        let h = trace.state_history(node);
        let tail: Vec<&str> = h.iter().skip_while(|s| *s != "ESTABLISHED").map(String::as_str).collect();
        assert_eq!(tail, ["ESTABLISHED", "FIN-WAIT-1", "CLOSING", "TIME-WAIT", "CLOSED"], "node {node}: {h:?}");
    }
    // Each side: SYN or SYN,ACK, ACK, its FIN, then the ACK of the other's FIN.
    assert_eq!(flags_sent(&trace, 0), ["SYN", "ACK", "FIN,ACK", "ACK"]);
    assert_eq!(flags_sent(&trace, 1), ["SYN,ACK", "FIN,ACK", "ACK"]);
}

#[test]
fn abort_resets_and_a_closed_port_refuses() {
    let trace = run("tcp-reset", &defaults("tcp-reset")).expect("settles");
    let client = flags_sent(&trace, 0);
    assert_eq!(client, ["SYN", "ACK", "PSH,ACK", "RST", "SYN"], "client sent {client:?}");
    // The server: SYN,ACK, the ACK of "hello", then RST,ACK refusing port 81.
    assert_eq!(flags_sent(&trace, 1), ["SYN,ACK", "ACK", "RST,ACK"]);
    assert!(events(&trace, 1).iter().any(|e| e == "connection reset"), "the server is told of the abort");
    assert!(events(&trace, 0).iter().any(|e| e == "connection reset"), "the client is refused");
    assert_eq!(trace.states_after(Some(trace.events.len() - 1)), ["CLOSED", "CLOSED"]);
}
