//! `tcp-bulk`: 200 KB through a bottleneck with loss. Every byte arrives once and in
//! order; losses are repaired by fast retransmit (not only by the timer); cwnd grows in
//! slow start, halves on loss, and grows again: the sawtooth.
#![cfg(not(target_arch = "wasm32"))]

mod common;

use common::{received, sent_stream_is_the_pattern};
use proptest::prelude::*;
use wirelab_core::{Trace, TraceKind};
use wirelab_scenarios::{BULK_BYTES, defaults, run};

fn fast_retransmits(trace: &Trace) -> usize {
    trace
        .events
        .iter()
        .filter(|e| matches!(&e.kind, TraceKind::Sent { frame } if frame.reason.contains("fast retransmit")))
        .count()
}

#[test]
fn the_default_run_shows_the_sawtooth() {
    let trace = run("tcp-bulk", &defaults("tcp-bulk")).expect("settles");
    assert_eq!(received(&trace, 1), BULK_BYTES);
    assert!(sent_stream_is_the_pattern(&trace, 0));
    let cwnd: Vec<f64> = trace.metric_series(0, "cwnd").into_iter().map(|(_, v)| v).collect();
    let peak = cwnd.iter().copied().fold(0.0, f64::max);
    println!(
        "cwnd samples {}, peak {peak} bytes, fast retransmits {}, final states {:?}",
        cwnd.len(),
        fast_retransmits(&trace),
        trace.states_after(Some(trace.events.len() - 1))
    );
    assert!(peak > 4380.0 * 4.0, "slow start grew cwnd well past the initial window");
    // A halving: some sample at most ~half of the one before it.
    assert!(cwnd.windows(2).any(|w| w[1] <= w[0] * 0.6), "cwnd fell on a loss");
    assert!(fast_retransmits(&trace) > 0, "losses repaired by fast retransmit");
    assert!(!trace.metric_series(0, "ssthresh").is_empty());
    assert_eq!(trace.states_after(Some(trace.events.len() - 1)), ["CLOSED", "CLOSED"]);
}

/// Sender-side silly window syndrome avoidance (RFC 9293 §3.8.6.2.1): as long as there is
/// more queued than fits, new data goes out in full-sized segments only, however the
/// congestion window grows (by fractions of an MSS in congestion avoidance).
#[test]
fn new_data_goes_out_in_full_segments() {
    for seed in [1, 2, 3] {
        let mut p = defaults("tcp-bulk");
        p.seed = seed;
        let trace = run("tcp-bulk", &p).expect("settles");
        let sizes: Vec<usize> = trace
            .events
            .iter()
            .filter(|e| e.node == 0)
            .filter_map(|e| match &e.kind {
                TraceKind::Sent { frame } if frame.reason == "to carry the application's data" => {
                    Some(wirelab_tcp::Segment::parse(&frame.bytes).expect("our own segment").payload.len())
                }
                _ => None,
            })
            .collect();
        let mss = sizes.iter().copied().max().unwrap_or(0);
        assert!(mss >= 536, "seed {seed}: segments of {mss} bytes");
        let small = sizes[..sizes.len() - 1].iter().filter(|&&n| n < mss).count();
        assert_eq!(small, 0, "seed {seed}: {small} of {} segments shorter than {mss} before the last", sizes.len());
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, failure_persistence: None, ..ProptestConfig::default() })]

    /// Any seed and loss up to 5%: all 200 KB, once, in order; both ends closed.
    #[test]
    fn bulk_transfer_survives_loss(seed in any::<u64>(), loss in 0.0..0.05f64) {
        let mut p = defaults("tcp-bulk");
        p.seed = seed;
        p.link.loss = loss;
        let trace = run("tcp-bulk", &p).expect("settles");
        prop_assert_eq!(received(&trace, 1), BULK_BYTES);
        prop_assert!(sent_stream_is_the_pattern(&trace, 0));
        prop_assert_eq!(trace.states_after(Some(trace.events.len() - 1)), vec!["CLOSED".to_string(), "CLOSED".to_string()]);
    }
}
