//! `tcp-flow-control`: a slow reader closes the window; the sender probes; reads reopen it.
#![cfg(not(target_arch = "wasm32"))]

mod common;

use common::{received, segments, sent_stream_is_the_pattern};
use wirelab_scenarios::{FLOW_BYTES, defaults, run};
use wirelab_tcp::Flags;

#[test]
fn the_window_closes_is_probed_and_reopens() {
    let trace = run("tcp-flow-control", &defaults("tcp-flow-control")).expect("settles");
    let server = segments(&trace, 1);
    let client = segments(&trace, 0);
    // The receiver's buffer filled: it advertised a zero window (on a plain ACK).
    let zero = server.iter().position(|(s, _)| s.window == 0 && !s.flags.contains(Flags::RST));
    assert!(zero.is_some(), "the server advertised win=0");
    // The sender probed it with single bytes, on the persist timer.
    let probes: Vec<_> = client.iter().filter(|(_, why)| why.contains("zero-window probe")).collect();
    assert!(!probes.is_empty(), "the client probed the zero window");
    assert!(probes.iter().all(|(s, _)| s.payload.len() == 1));
    // Reading made room, and the receiver said so.
    assert!(server.iter().any(|(_, why)| why.contains("window update")), "a window update was sent");
    // Nothing lost, nothing doubled, nothing out of order; both ends closed.
    assert_eq!(received(&trace, 1), FLOW_BYTES);
    assert!(sent_stream_is_the_pattern(&trace, 0));
    assert_eq!(trace.states_after(Some(trace.events.len() - 1)), ["CLOSED", "CLOSED"]);
    // No command was refused: every read found the connection open.
    assert!(!trace.events.iter().any(|e| matches!(e.kind, wirelab_core::TraceKind::Error { .. })));
    // The window the server advertises never exceeds its buffer's free space.
    assert!(server.iter().all(|(s, _)| s.window <= 64_240));
}
