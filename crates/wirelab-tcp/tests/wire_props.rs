//! Property tests for the TCP wire format: emit → parse gives back what was emitted,
//! every emitted checksum verifies, any single flipped bit is caught, and no input at
//! all makes the parser or the annotator panic.
#![cfg(not(target_arch = "wasm32"))]

use proptest::prelude::*;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use wirelab_tcp::wire::{self, Flags, Segment, TcpOption};

fn option() -> impl Strategy<Value = TcpOption> {
    prop_oneof![
        Just(TcpOption::NoOperation),
        any::<u16>().prop_map(TcpOption::MaximumSegmentSize),
        // Kinds 0-2 have fixed meanings; others carry up to 10 data bytes.
        (3u8..=254, prop::collection::vec(any::<u8>(), 0..10))
            .prop_map(|(kind, data)| TcpOption::Unknown { kind, data }),
    ]
}

fn segment() -> impl Strategy<Value = Segment> {
    (
        (any::<u16>(), any::<u16>(), any::<u32>(), any::<u32>()),
        (any::<u8>(), any::<u16>(), any::<u16>()),
        prop::collection::vec(option(), 0..4),
        prop::collection::vec(any::<u8>(), 0..64),
    )
        .prop_map(|((src_port, dst_port, seq, ack), (flags, window, urgent), options, payload)| Segment {
            src_port,
            dst_port,
            seq,
            ack,
            flags: Flags(flags),
            window,
            urgent,
            options,
            payload,
        })
}

fn addr() -> impl Strategy<Value = IpAddr> {
    prop_oneof![
        any::<[u8; 4]>().prop_map(|o| IpAddr::V4(Ipv4Addr::from(o))),
        any::<[u8; 16]>().prop_map(|o| IpAddr::V6(Ipv6Addr::from(o))),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2_000, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn emit_then_parse_round_trips(seg in segment(), src in addr(), dst in addr()) {
        let bytes = seg.emit(src, dst);
        prop_assert_eq!(bytes.len() % 4, seg.payload.len() % 4, "header is padded to 32 bits");
        let back = Segment::parse(&bytes).expect("our own segment parses");
        prop_assert_eq!(back, seg);
        prop_assert!(wire::verify_checksum(src, dst, &bytes).is_ok());
    }

    #[test]
    fn any_single_bit_flip_is_caught(seg in segment(), src in addr(), dst in addr(), bit in any::<prop::sample::Index>()) {
        let mut bytes = seg.emit(src, dst);
        let i = bit.index(bytes.len() * 8);
        bytes[i / 8] ^= 1 << (i % 8);
        prop_assert!(wire::verify_checksum(src, dst, &bytes).is_err());
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..80)) {
        let _ = Segment::parse(&bytes);
        let d = wire::annotate(&bytes);
        // Every field a annotation names lies inside the bytes.
        for f in &d.fields {
            prop_assert!(f.start + f.len <= bytes.len(), "{} overruns", f.name);
        }
    }
}
