//! DTLS record layers (`wirelab_webrtc::dtls`): the records decoded from a datagram
//! encode to bytes that decode to the same records at the same offsets, equal to the
//! input but for the version field (we write DTLS 1.2).
#![no_main]

use libfuzzer_sys::fuzz_target;
use wirelab_webrtc::dtls;

fuzz_target!(|data: &[u8]| {
    let _ = dtls::annotate(data);
    let Ok(records) = dtls::decode(data) else { return };
    let _ = dtls::summary(&records);
    let plain: Vec<dtls::Record> = records.iter().map(|(_, r)| r.clone()).collect();
    let bytes = dtls::encode(&plain).expect("decoded records encode");
    assert_eq!(dtls::decode(&bytes).as_ref(), Ok(&records));
    assert_eq!(bytes.len(), data.len());
    for (at, _) in &records {
        assert_eq!(bytes[*at], data[*at]);
        assert_eq!(bytes[at + 3..at + 13], data[at + 3..at + 13]);
    }
});
