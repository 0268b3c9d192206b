//! The signalling contract as Wasm in headless Chromium: the same JSON, the same hub
//! decisions and the same JSEP states as natively.
#![cfg(target_arch = "wasm32")]

use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};
use wirelab_core::{Instant, SeededRng};
use wirelab_signal::{
    Candidate, CandidateType, ClientMsg, ConnId, Hub, Limits, PeerId, RoomId, SdpType, ServerMsg, SignalingState,
};

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen_test]
fn two_browsers_meet_in_a_room_and_exchange_an_offer() {
    let room = RoomId::random(&mut SeededRng::new(42));
    assert_eq!(room.to_string().parse::<RoomId>(), Ok(room));
    let mut hub = Hub::new(Limits::default());
    let (a, b) = (ConnId(1), ConnId(2));
    hub.connect(a);
    hub.connect(b);
    let join = ClientMsg::Join { room, name: None }.to_json();
    hub.handle_text(Instant::ZERO, a, &join).expect("a joins");
    hub.handle_text(Instant::ZERO, b, &join).expect("b joins");
    hub.handle_text(Instant::ZERO, b, r#"{"type":"offer","to":1,"sdp":"v=0"}"#).expect("offer");
    let out: Vec<_> = std::iter::from_fn(|| hub.poll()).collect();
    assert_eq!(out.last(), Some(&(a, ServerMsg::Offer { from: PeerId(2), sdp: "v=0".into() })));
    assert_eq!(out.last().map(|(_, m)| m.to_json()).as_deref(), Some(r#"{"type":"offer","from":2,"sdp":"v=0"}"#));
}

#[wasm_bindgen_test]
fn jsep_and_candidates_work_the_same() {
    let s = SignalingState::Stable.set_local(SdpType::Offer).expect("offer");
    assert_eq!(s.to_string(), "have-local-offer");
    assert!(s.set_local(SdpType::Answer).is_err());
    let c = Candidate::parse("candidate:1 1 udp 1686052607 203.0.113.7 61234 typ srflx raddr 10.0.0.2 rport 5000")
        .expect("candidate");
    assert_eq!(c.typ, CandidateType::Srflx);
}
