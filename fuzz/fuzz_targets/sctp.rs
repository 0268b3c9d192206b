//! SCTP packets (`wirelab_webrtc::sctp`): the input gets a correct CRC32c (else almost
//! nothing would get past the checksum), and a packet decoded from it encodes to bytes
//! with a correct checksum that decode to the same packet; the inspector copes with
//! anything, correct checksum or not.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wirelab_webrtc::sctp::{self, Packet};

fuzz_target!(|data: &[u8]| {
    let _ = sctp::annotate(data);
    let mut bytes = data.to_vec();
    if bytes.len() >= 12 {
        let sum = sctp::checksum(&bytes);
        bytes[8..12].copy_from_slice(&sum.to_le_bytes());
    }
    let _ = sctp::annotate(&bytes);
    let Ok(p) = Packet::decode(&bytes) else { return };
    let _ = sctp::summary(&p);
    let again = p.encode().expect("a decoded packet encodes");
    assert_eq!(sctp::checksum(&again).to_le_bytes(), again[8..12]);
    assert_eq!(Packet::decode(&again).as_ref(), Ok(&p), "{again:02x?}");
});
