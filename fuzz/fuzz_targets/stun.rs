//! STUN messages (`wirelab_webrtc::stun`): a decoded message encodes (attributes as they
//! stand, zero padding) to bytes that decode to the same message; the summary and the
//! inspector cope with anything.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wirelab_webrtc::stun::{self, Message};

fuzz_target!(|data: &[u8]| {
    let _ = stun::annotate(data);
    let Ok(m) = Message::decode(data) else { return };
    let _ = stun::summary(&m);
    let bytes = m.encode().expect("a decoded message encodes");
    assert_eq!(Message::decode(&bytes).as_ref(), Ok(&m), "{bytes:02x?}");
});
