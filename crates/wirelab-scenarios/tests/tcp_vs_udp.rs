//! `tcp-vs-udp`: the seed's comparison, from real runs of both machines on one lossy link.
#![cfg(not(target_arch = "wasm32"))]

use core::time::Duration;
use proptest::prelude::*;
use wirelab_core::{LinkConfig, TraceKind};
use wirelab_scenarios::{MESSAGES, Params, compare, defaults, run};

#[test]
fn the_table_of_the_default_run() {
    let trace = run("tcp-vs-udp", &defaults("tcp-vs-udp")).expect("runs");
    let table = compare::tcp_vs_udp(&trace).expect("a tcp-vs-udp trace");
    println!("{table}");
    let (tcp, udp) = (&table.tcp, &table.udp);
    // TCP: everything, once, in order, with retransmissions to show for it.
    assert_eq!((tcp.sent, tcp.delivered), (MESSAGES, MESSAGES));
    assert!(tcp.in_order());
    assert!(tcp.retransmissions > 0, "15% loss costs TCP retransmissions");
    // UDP: one frame per message, never again; some lost, some out of order.
    assert_eq!(udp.sent, MESSAGES);
    assert_eq!(udp.frames, MESSAGES as usize);
    assert_eq!(udp.retransmissions, 0);
    assert!(udp.delivered < MESSAGES, "seed 1 loses some datagrams");
    assert!(!udp.in_order(), "seed 1 reorders some datagrams");
    // UDP is lighter on the wire and never waits for a retransmission.
    assert!(udp.wire_bytes < tcp.wire_bytes);
    assert!(udp.max_latency() < tcp.max_latency());
    // Both TCP ends closed in the end.
    assert_eq!(trace.states_after(Some(trace.events.len() - 1))[..2], ["CLOSED", "CLOSED"]);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, failure_persistence: None, ..ProptestConfig::default() })]

    /// Loss, reordering and duplication up to 30%: TCP's byte stream arrives exactly once,
    /// in order, with no error between our two machines, and both ends reach CLOSED.
    #[test]
    fn tcp_delivers_everything_in_order_under_faults(
        seed in any::<u64>(),
        loss in 0.0..0.3f64,
        reorder in 0.0..0.3f64,
        duplicate in 0.0..0.3f64,
        jitter_ms in 0u64..20,
    ) {
        let link = LinkConfig { loss, reorder, duplicate, jitter: Duration::from_millis(jitter_ms), ..LinkConfig::default() };
        let trace = run("tcp-vs-udp", &Params { seed, link, drops: vec![] }).expect("settles");
        let table = compare::tcp_vs_udp(&trace).expect("a tcp-vs-udp trace");
        prop_assert_eq!(table.tcp.delivered, MESSAGES, "{}", table);
        prop_assert!(table.tcp.in_order());
        let tcp_errors: Vec<_> = trace.events.iter()
            .filter(|e| e.node < 2 && matches!(e.kind, TraceKind::Error { .. }))
            .collect();
        prop_assert!(tcp_errors.is_empty(), "{:?}", tcp_errors);
        prop_assert_eq!(&trace.states_after(Some(trace.events.len() - 1))[..2], &["CLOSED", "CLOSED"]);
        prop_assert_eq!(table.udp.frames, MESSAGES as usize, "UDP never resends");
    }
}
