//! The `tcp-handshake` scenario end to end in the simulator: states, bytes and the ladder.
#![cfg(not(target_arch = "wasm32"))]

use wirelab_core::{LinkConfig, TraceKind};
use wirelab_scenarios::{Params, run};
use wirelab_tcp::{Flags, Segment};

fn segments(trace: &wirelab_core::Trace) -> Vec<(usize, Segment)> {
    trace
        .events
        .iter()
        .filter_map(|e| match &e.kind {
            TraceKind::Sent { frame } => Segment::parse(&frame.bytes).ok().map(|s| (e.node, s)),
            _ => None,
        })
        .collect()
}

#[test]
fn both_sides_walk_the_rfc_states() {
    let trace = run("tcp-handshake", &Params::default()).expect("runs");
    assert_eq!(
        trace.state_history(0),
        ["CLOSED", "SYN-SENT", "ESTABLISHED", "FIN-WAIT-1", "FIN-WAIT-2", "TIME-WAIT", "CLOSED"]
    );
    assert_eq!(
        trace.state_history(1),
        ["CLOSED", "LISTEN", "SYN-RECEIVED", "ESTABLISHED", "CLOSE-WAIT", "LAST-ACK", "CLOSED"]
    );
}

#[test]
fn segments_carry_the_handshake_numbers() {
    let trace = run("tcp-handshake", &Params::default()).expect("runs");
    let segs = segments(&trace);
    let flags: Vec<String> = segs.iter().map(|(_, s)| s.flags.to_string()).collect();
    assert_eq!(flags, ["SYN", "SYN,ACK", "ACK", "FIN,ACK", "ACK", "FIN,ACK", "ACK"]);
    let (syn, syn_ack, ack) = (&segs[0].1, &segs[1].1, &segs[2].1);
    // <SEQ=ISS_c><CTL=SYN>, <SEQ=ISS_s><ACK=ISS_c+1><CTL=SYN,ACK>, <SEQ=ISS_c+1><ACK=ISS_s+1><CTL=ACK>
    assert_eq!(syn_ack.ack, syn.seq.wrapping_add(1));
    assert_eq!(ack.seq, syn.seq.wrapping_add(1));
    assert_eq!(ack.ack, syn_ack.seq.wrapping_add(1));
    assert_eq!(syn.mss(), Some(1460));
    assert!(segs.iter().all(|(_, s)| s.payload.is_empty()));
    // Every FIN is acknowledged with FIN's sequence number + 1.
    let fin1 = &segs[3].1;
    assert_eq!(segs[4].1.ack, fin1.seq.wrapping_add(1));
    assert_eq!(segs[6].1.ack, segs[5].1.seq.wrapping_add(1));
    // Real header sizes: 24 bytes for the SYNs (20 + MSS option), 20 for the rest.
    let lens: Vec<usize> = trace
        .events
        .iter()
        .filter_map(|e| match &e.kind {
            TraceKind::Sent { frame } => Some(frame.bytes.len()),
            _ => None,
        })
        .collect();
    assert_eq!(lens, [24, 24, 20, 20, 20, 20, 20]);
}

#[test]
fn every_checksum_verifies() {
    let trace = run("tcp-handshake", &Params::default()).expect("runs");
    for e in &trace.events {
        if let TraceKind::Sent { frame } = &e.kind {
            wirelab_tcp::wire::verify_checksum(frame.from.ip(), frame.to.ip(), &frame.bytes).expect("valid checksum");
        }
    }
}

#[test]
fn same_seed_same_trace_other_seed_other_isns() {
    let a = run("tcp-handshake", &Params::default()).expect("runs");
    let b = run("tcp-handshake", &Params::default()).expect("runs");
    assert_eq!(a, b);
    let c = run("tcp-handshake", &Params { seed: 2, ..Params::default() }).expect("runs");
    assert_ne!(segments(&a)[0].1.seq, segments(&c)[0].1.seq);
    assert_eq!(a.state_history(0), c.state_history(0));
}

#[test]
fn a_dropped_syn_is_retransmitted_after_the_rto() {
    let base = run("tcp-handshake", &Params::default()).expect("runs");
    let syn = base.events.iter().position(|e| matches!(e.kind, TraceKind::Sent { .. })).expect("a SYN");
    let trace = run("tcp-handshake", &Params { drops: vec![syn], ..Params::default() }).expect("runs");
    let segs = segments(&trace);
    assert_eq!(segs[0].1.flags, Flags::SYN);
    assert_eq!(segs[1].1.flags, Flags::SYN, "the SYN goes again");
    assert_eq!(segs[0].1.seq, segs[1].1.seq, "with the same ISN");
    let sent_at: Vec<_> =
        trace.events.iter().filter(|e| matches!(e.kind, TraceKind::Sent { .. })).map(|e| e.at).collect();
    // RFC 6298 §2.1: the first RTO is 1 second.
    assert_eq!((sent_at[1] - sent_at[0]).as_millis(), 1000);
    assert!(trace.events.iter().any(|e| matches!(&e.kind, TraceKind::Dropped { why, .. } if why == "dropped by hand")));
    assert_eq!(trace.state_history(1).last().map(String::as_str), Some("CLOSED"));
}

#[test]
fn a_lossy_link_still_settles_and_replays() {
    for seed in 0..40 {
        let p = Params { seed, link: LinkConfig { loss: 0.3, ..LinkConfig::default() }, drops: vec![], delays: vec![] };
        let a = run("tcp-handshake", &p).expect("settles");
        let b = run("tcp-handshake", &p).expect("settles");
        assert_eq!(a, b, "seed {seed} replays");
        assert!(!a.events.iter().any(|e| matches!(e.kind, TraceKind::Error { .. })), "seed {seed}: no errors");
    }
}

#[test]
fn the_ladder_matches_the_snapshot() {
    let trace = run("tcp-handshake", &Params::default()).expect("runs");
    expect_test::expect_file!["snapshots/tcp_handshake.ladder"].assert_eq(&trace.ascii_ladder());
}

#[test]
fn unknown_scenarios_are_named_in_the_error() {
    let err = run("tcp-nope", &Params::default()).expect_err("unknown");
    assert!(err.to_string().contains("tcp-handshake"));
}

/// "Drop this one" names a frame by the trace position of its `Sent` event: the run made
/// with that drop is the same up to that event, loses that very frame, and TCP sends it again.
#[test]
fn a_frame_dropped_by_its_position_is_that_frame_and_tcp_sends_it_again() {
    let clean = run("tcp-handshake", &Params::default()).expect("runs");
    let syn = clean.events.iter().find(|e| matches!(e.kind, TraceKind::Sent { .. })).expect("a SYN").seq;
    let dropped = run("tcp-handshake", &Params { drops: vec![syn], ..Params::default() }).expect("runs");
    assert_eq!(clean.events[..=syn], dropped.events[..=syn]);
    assert_eq!(dropped.fate(syn).map(|(_, delivered)| delivered), Some(false));
    assert!(dropped.events.iter().any(
        |e| matches!(&e.kind, TraceKind::Dropped { sent_seq, why } if *sent_seq == syn && why == "dropped by hand")
    ));
    let syns = segments(&dropped).iter().filter(|(_, s)| s.flags.to_string() == "SYN").count();
    assert_eq!(syns, 2, "the SYN is sent again when its timer expires");
    assert_eq!(dropped.state_history(0), clean.state_history(0), "and the connection still opens and closes");
}
