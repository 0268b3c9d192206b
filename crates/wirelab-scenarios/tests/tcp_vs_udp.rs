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
        let trace = run("tcp-vs-udp", &Params { seed, link, drops: vec![], delays: vec![] }).expect("settles");
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

/// RFC 6298 in a run. Without loss every RTT sample lies between the path's real round
/// trip (2 × 10 ms) and that plus what jitter and reordering add. Under heavy loss none is
/// ever shorter than the path (Karn's rule: a retransmitted segment is never timed, or the
/// ACK of its first transmission would end the sample too soon); longer ones are fine: when
/// an ACK is lost, a later cumulative ACK ends the sample. RTO never goes below 1 s.
#[test]
fn rtt_samples_are_real_round_trips_even_under_loss() {
    let mut samples = 0;
    for (seed, loss) in (0..40).map(|s| (s, 0.0)).chain((0..40).map(|s| (s, 0.3))) {
        let mut p = defaults("tcp-vs-udp");
        p.seed = seed;
        p.link.loss = loss;
        let trace = run("tcp-vs-udp", &p).expect("settles");
        for node in [0, 1] {
            for (_, rtt) in trace.metric_series(node, "rtt") {
                samples += 1;
                assert!(rtt >= 20.0, "seed {seed}, loss {loss}: sample {rtt} ms is shorter than the path");
                if loss == 0.0 {
                    assert!(rtt <= 70.0, "seed {seed}: sample {rtt} ms with no loss");
                }
            }
            for (_, rto) in trace.metric_series(node, "rto") {
                assert!(rto >= 1000.0, "seed {seed}: RTO {rto} ms below RFC 6298's 1 s");
            }
        }
    }
    assert!(samples > 200, "enough samples to mean something: {samples}");
}

/// Karn's rule where it matters: the client's SYN is not lost but held back until just
/// after the RTO (1 s) fired and the SYN went again. The SYN,ACK answering the original
/// then arrives 15 ms after the retransmission, so timing the retransmission would give a
/// 15 ms "RTT" on a 20 ms path. (With data segments, fast retransmit would repair the hole
/// before the timer fired; a SYN has no later segments to bring duplicate ACKs.)
#[test]
fn karn_ignores_the_ack_of_a_delayed_original() {
    let clean = Params::default();
    let base = run("tcp-handshake", &clean).expect("settles");
    let syn = base.events.iter().find(|e| matches!(e.kind, TraceKind::Sent { .. })).map(|e| e.seq).expect("a SYN");
    let held = Params { delays: vec![(syn, Duration::from_millis(995))], ..clean };
    let trace = run("tcp-handshake", &held).expect("settles");
    let again = trace
        .events
        .iter()
        .filter(|e| matches!(&e.kind, TraceKind::Sent { frame } if frame.reason.starts_with("again")))
        .count();
    assert!(again > 0, "the timer fired and the SYN went again");
    for node in [0, 1] {
        for (at, rtt) in trace.metric_series(node, "rtt") {
            assert!(
                rtt >= 20.0,
                "a {rtt} ms sample at {at}: an ACK of the original was taken for the retransmission's"
            );
        }
    }
}
