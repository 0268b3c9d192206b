//! DCEP messages (`wirelab_webrtc::dcep`, RFC 8832): a decoded message encodes to the
//! bytes it came from (the format has a single encoding), but for a reliable channel's
//! Reliability Parameter, which "MUST be ignored on receipt" and is sent as 0 (§5.1); and
//! it decodes again the same.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wirelab_webrtc::dcep::{self, Message, Reliability};

fuzz_target!(|data: &[u8]| {
    let _ = dcep::annotate(data);
    let Ok(m) = Message::decode(data) else { return };
    let _ = dcep::summary(&m);
    let bytes = m.encode().expect("a decoded message encodes");
    assert_eq!(Message::decode(&bytes).as_ref(), Ok(&m));
    let mut expected = data.to_vec();
    if let Message::Open(open) = &m
        && open.reliability == Reliability::Reliable
    {
        expected[4..8].fill(0);
    }
    assert_eq!(bytes, expected);
});
