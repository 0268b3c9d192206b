//! UDP datagrams (`wirelab_udp::wire`): a parsed datagram emits to bytes equal to the
//! input but for the checksum, which verifies, and which parse back to the same datagram.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use wirelab_udp::wire::{self, Datagram};

fuzz_target!(|data: &[u8]| {
    let _ = wire::annotate(data);
    let Ok(d) = Datagram::parse(data) else { return };
    for (src, dst) in [
        (IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)), IpAddr::V4(Ipv4Addr::new(192, 0, 2, 2))),
        (IpAddr::V6(Ipv6Addr::LOCALHOST), IpAddr::V6(Ipv6Addr::LOCALHOST)),
    ] {
        let bytes = d.emit(src, dst).expect("a parsed datagram fits");
        assert_eq!((&bytes[..6], &bytes[8..]), (&data[..6], &data[8..]));
        assert_eq!(wire::verify(src, dst, &bytes), Ok(()));
        assert_eq!(Datagram::parse(&bytes).as_ref(), Ok(&d));
    }
});
