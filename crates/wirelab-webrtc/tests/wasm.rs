//! The codecs as Wasm in headless Chromium: RFC 5769's vectors verify and re-encode byte
//! for byte there too, and DCEP's figure.
#![cfg(target_arch = "wasm32")]

mod vectors;

use vectors::{PASSWORD, SAMPLE_IPV4_RESPONSE, SAMPLE_IPV6_RESPONSE, SAMPLE_REQUEST};
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};
use wirelab_webrtc::dcep;
use wirelab_webrtc::stun::{Message, Seal, verify_fingerprint, verify_integrity};

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen_test]
fn rfc5769_vectors_in_the_browser() {
    for v in [&SAMPLE_REQUEST[..], &SAMPLE_IPV4_RESPONSE, &SAMPLE_IPV6_RESPONSE] {
        assert_eq!(verify_fingerprint(v), Ok(()));
        assert_eq!(verify_integrity(v, PASSWORD), Ok(()));
        let m = Message::decode(v).expect("decodes");
        assert_eq!(m.seal(&Seal { key: Some(PASSWORD), padding: 0x20, sha256: None }).expect("encodes"), v);
    }
}

#[wasm_bindgen_test]
fn dcep_open_in_the_browser() {
    let bytes = [0x03, 0x00, 0x01, 0x00, 0, 0, 0, 0, 0x00, 0x04, 0x00, 0x00, b'c', b'h', b'a', b't'];
    let m = dcep::Message::decode(&bytes).expect("decodes");
    assert_eq!(m.encode().expect("encodes"), bytes);
}
