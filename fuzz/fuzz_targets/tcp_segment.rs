//! TCP segments (`wirelab_tcp::wire`): any bytes parse or fail cleanly; a parsed segment
//! emits to bytes whose checksum verifies and which parse back to the same segment; the
//! inspector copes with anything.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use wirelab_tcp::wire::{self, Segment};

fuzz_target!(|data: &[u8]| {
    let _ = wire::annotate(data);
    let Ok(seg) = Segment::parse(data) else { return };
    assert!(seg.header_len() <= 60, "{seg:?}");
    for (src, dst) in [
        (IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)), IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2))),
        (IpAddr::V6(Ipv6Addr::LOCALHOST), IpAddr::V6(Ipv6Addr::UNSPECIFIED)),
    ] {
        let bytes = seg.emit(src, dst);
        assert_eq!(wire::verify_checksum(src, dst, &bytes), Ok(()));
        assert_eq!(Segment::parse(&bytes).as_ref(), Ok(&seg), "{bytes:02x?}");
        assert!(wire::annotate(&bytes).error.is_none());
    }
});
