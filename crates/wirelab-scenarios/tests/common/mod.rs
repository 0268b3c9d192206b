//! Checks shared by the scenario tests: what a TCP receiver's application got, and
//! whether the bytes on the wire are the stream that was sent.
#![allow(dead_code)]

use wirelab_core::{Trace, TraceKind};
use wirelab_tcp::machine::bulk_pattern;
use wirelab_tcp::{Flags, Segment};

/// The bytes `node`'s application received (from its "received N bytes" events).
pub fn received(trace: &Trace, node: usize) -> usize {
    trace
        .events
        .iter()
        .filter(|e| e.node == node)
        .filter_map(|e| match &e.kind {
            TraceKind::Event { text } if text.starts_with("received ") => {
                text["received ".len()..].split(' ').next().and_then(|n| n.parse::<usize>().ok())
            }
            _ => None,
        })
        .sum()
}

/// Every payload `node` put on the wire is the bulk pattern at its stream offset:
/// retransmissions and probes included, byte for byte.
pub fn sent_stream_is_the_pattern(trace: &Trace, node: usize) -> bool {
    let mut isn = None;
    trace.events.iter().filter(|e| e.node == node).all(|e| {
        let TraceKind::Sent { frame } = &e.kind else { return true };
        let Ok(seg) = Segment::parse(&frame.bytes) else { return false };
        if seg.flags.contains(Flags::SYN) {
            isn = Some(seg.seq);
        }
        let off = seg.seq.wrapping_sub(isn.unwrap_or(0)).wrapping_sub(1) as usize;
        seg.payload.is_empty() || seg.payload == bulk_pattern(off, seg.payload.len())
    })
}

/// The segments `node` sent, parsed, with the reason it gave.
pub fn segments(trace: &Trace, node: usize) -> Vec<(Segment, String)> {
    trace
        .events
        .iter()
        .filter(|e| e.node == node)
        .filter_map(|e| match &e.kind {
            TraceKind::Sent { frame } => Segment::parse(&frame.bytes).ok().map(|s| (s, frame.reason.clone())),
            _ => None,
        })
        .collect()
}
