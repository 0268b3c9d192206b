//! Property tests: every STUN and DCEP message we can build comes back from its bytes as
//! it was (`decode(encode(m)) == m`), sealed STUN messages verify, and no bytes at all
//! make a decoder or annotator panic.
#![cfg(not(target_arch = "wasm32"))]

use proptest::prelude::*;
use std::net::{IpAddr, SocketAddr};
use wirelab_webrtc::dcep::{self, Open, Reliability};
use wirelab_webrtc::sctp::{self, Chunk, Packet};
use wirelab_webrtc::stun::{self, Attribute, Class, Message, Seal};
use wirelab_webrtc::{connect, dtls, signalling};

fn socket() -> impl Strategy<Value = SocketAddr> {
    let ip = prop_oneof![any::<[u8; 4]>().prop_map(IpAddr::from), any::<[u8; 16]>().prop_map(IpAddr::from)];
    (ip, any::<u16>()).prop_map(|(ip, port)| SocketAddr::new(ip, port))
}

/// Attribute types this module types itself, which `Unknown` must not use.
const KNOWN: [u16; 12] =
    [0x0001, 0x0006, 0x0008, 0x0009, 0x001C, 0x0020, 0x0024, 0x0025, 0x8022, 0x8028, 0x8029, 0x802A];

/// Attributes that may stand anywhere before MESSAGE-INTEGRITY.
fn body_attribute() -> impl Strategy<Value = Attribute> {
    prop_oneof![
        socket().prop_map(Attribute::MappedAddress),
        socket().prop_map(Attribute::XorMappedAddress),
        "\\PC{0,20}".prop_map(Attribute::Username),
        "\\PC{0,20}".prop_map(Attribute::Software),
        (300u16..700, "\\PC{0,20}").prop_map(|(code, reason)| Attribute::ErrorCode { code, reason }),
        any::<u32>().prop_map(Attribute::Priority),
        Just(Attribute::UseCandidate),
        any::<u64>().prop_map(Attribute::IceControlled),
        any::<u64>().prop_map(Attribute::IceControlling),
        (any::<u16>().prop_filter("unknown", |t| !KNOWN.contains(t)), proptest::collection::vec(any::<u8>(), 0..30))
            .prop_map(|(ty, value)| Attribute::Unknown { ty, value }),
    ]
}

fn message() -> impl Strategy<Value = Message> {
    let class = prop_oneof![
        Just(Class::Request),
        Just(Class::Indication),
        Just(Class::SuccessResponse),
        Just(Class::ErrorResponse)
    ];
    (
        0u16..0x1000,
        class,
        any::<[u8; 12]>(),
        proptest::collection::vec(body_attribute(), 0..8),
        proptest::option::of(any::<[u8; 20]>()),
        proptest::option::of((4usize..=8).prop_flat_map(|n| proptest::collection::vec(any::<u8>(), n * 4))),
        proptest::option::of(any::<u32>()),
    )
        .prop_map(|(method, class, transaction_id, mut attributes, mi, mi256, fp)| {
            attributes.extend(mi.map(Attribute::MessageIntegrity));
            attributes.extend(mi256.map(Attribute::MessageIntegritySha256));
            attributes.extend(fp.map(Attribute::Fingerprint));
            Message { method, class, transaction_id, attributes }
        })
}

fn dcep_message() -> impl Strategy<Value = dcep::Message> {
    let reliability = prop_oneof![
        Just(Reliability::Reliable),
        any::<u32>().prop_map(Reliability::MaxRetransmits),
        any::<u32>().prop_map(Reliability::MaxLifetimeMs),
    ];
    let open = (any::<bool>(), reliability, any::<u16>(), "\\PC{0,30}", "\\PC{0,12}").prop_map(
        |(ordered, reliability, priority, label, protocol)| {
            dcep::Message::Open(Open { ordered, reliability, priority, label, protocol })
        },
    );
    prop_oneof![1 => Just(dcep::Message::Ack), 4 => open]
}

fn chunk() -> impl Strategy<Value = Chunk> {
    let bytes = || proptest::collection::vec(any::<u8>(), 0..24);
    let init =
        (
            any::<u32>(),
            any::<u32>(),
            any::<u16>(),
            any::<u16>(),
            any::<u32>(),
            proptest::collection::vec((any::<u16>(), bytes()), 0..3),
        )
            .prop_map(|(initiate_tag, a_rwnd, outbound_streams, inbound_streams, initial_tsn, params)| {
                sctp::Init { initiate_tag, a_rwnd, outbound_streams, inbound_streams, initial_tsn, params }
            });
    prop_oneof![
        (any::<u8>(), any::<u32>(), any::<u16>(), any::<u16>(), any::<u32>(), bytes())
            .prop_map(|(flags, tsn, stream, ssn, ppid, data)| Chunk::Data { flags, tsn, stream, ssn, ppid, data }),
        init.clone().prop_map(Chunk::Init),
        init.prop_map(Chunk::InitAck),
        (any::<u32>(), any::<u32>())
            .prop_map(|(cumulative_tsn_ack, a_rwnd)| Chunk::Sack { cumulative_tsn_ack, a_rwnd }),
        bytes().prop_map(Chunk::CookieEcho),
        Just(Chunk::CookieAck),
        (prop_oneof![4u8..10, 12u8..=255], any::<u8>(), bytes()).prop_map(|(ty, flags, value)| Chunk::Other {
            ty,
            flags,
            value
        }),
    ]
}

proptest! {
    #[test]
    fn sctp_round_trips(tag in any::<u32>(), chunks in proptest::collection::vec(chunk(), 1..4)) {
        let p = Packet { src_port: 5000, dst_port: 5000, verification_tag: tag, chunks };
        let bytes = p.encode().expect("fits");
        prop_assert_eq!(Packet::decode(&bytes), Ok(p));
    }

    /// Random bytes, and random bytes made to pass the checksum, so the chunk walk runs.
    #[test]
    fn sctp_dtls_and_signalling_never_panic(mut bytes in proptest::collection::vec(any::<u8>(), 0..120)) {
        let _ = sctp::annotate(&bytes);
        if bytes.len() >= 16 {
            let sum = sctp::checksum(&bytes);
            bytes[8..12].copy_from_slice(&sum.to_le_bytes());
            let _ = Packet::decode(&bytes);
            let _ = sctp::annotate(&bytes);
        }
        let _ = dtls::annotate(&bytes);
        let _ = connect::annotate(&bytes);
        let text = String::from_utf8_lossy(&bytes);
        let _ = signalling::annotate(text.as_bytes());
        let _ = signalling::string_field(&text, "sdp");
    }

    /// Signalling-shaped text with any values: the annotator and the relay take it apart
    /// without panicking.
    #[test]
    fn signalling_shapes_never_panic(key in "type|to|from|sdp|candidate|sdp_mid", value in "[0-9\"\\\\a-z:\\r\\n é]{0,12}") {
        let text = format!("{{\"{key}\":{value}}}");
        let _ = signalling::annotate(text.as_bytes());
        let _ = signalling::summary(&text);
        let _ = connect::annotate(text.as_bytes());
    }

    /// A peer in any role takes any datagram or signalling text without panicking: a
    /// typed error or nothing.
    #[test]
    fn a_peer_never_panics(offerer in any::<bool>(), from_server in any::<bool>(), bytes in proptest::collection::vec(any::<u8>(), 0..120)) {
        use wirelab_core::{Input, Instant, Machine};
        let addr = |s: &str| s.parse::<SocketAddr>().expect("an address");
        let role = if offerer { connect::Role::Offerer } else { connect::Role::Answerer };
        let mut p = connect::Peer::new(connect::PeerConfig {
            role,
            ice: addr("192.0.2.10:5000"),
            signalling: addr("192.0.2.10:49152"),
            server: addr("192.0.2.80:443"),
            me: 1,
            peer: 2,
            seed: 1,
            label: "chat".into(),
        });
        let from = if from_server { addr("192.0.2.80:443") } else { addr("192.0.2.20:5000") };
        let _ = p.handle_input(Instant::ZERO, Input::Command(connect::Command::Connect));
        let _ = p.handle_input(Instant::ZERO, Input::Receive { from, bytes: &bytes });
        while !matches!(p.poll_output(Instant::ZERO), wirelab_core::Output::Idle { .. }) {}
    }

    #[test]
    fn json_strings_read_back(s in "\\PC{0,40}|[\\x00-\\x1f\"\\\\]{0,8}") {
        let text = format!("{{\"sdp\":{}}}", signalling::json_string(&s));
        prop_assert_eq!(signalling::string_field(&text, "sdp"), Some(s));
    }

    #[test]
    fn stun_round_trips(m in message()) {
        let bytes = m.encode().expect("fits");
        prop_assert_eq!(bytes.len() % 4, 0);
        prop_assert_eq!(Message::decode(&bytes), Ok(m.clone()));
        // RFC 7983 §7 sorts a first byte of 0..=3 to STUN: every method below 0x100.
        prop_assert_eq!(stun::looks_like_stun(&bytes), m.method < 0x100);
        prop_assert_eq!(stun::annotate(&bytes).error, None);
    }

    #[test]
    fn sealed_stun_verifies_with_its_key_only(m in message(), key in "[A-Za-z0-9+/]{22,32}", padding in any::<u8>()) {
        let has_mi = m.get(stun::attr::MESSAGE_INTEGRITY).is_some();
        let has_fp = m.get(stun::attr::FINGERPRINT).is_some();
        let bytes = m.seal(&Seal { key: Some(key.as_bytes()), padding, sha256: Some(stun::hmac_sha256) }).expect("fits");
        let back = Message::decode(&bytes).expect("decodes");
        prop_assert_eq!(back.attributes.len(), m.attributes.len());
        if has_mi {
            prop_assert_eq!(stun::verify_integrity(&bytes, key.as_bytes()), Ok(()));
            prop_assert!(stun::verify_integrity(&bytes, b"not the key").is_err());
        }
        if has_fp {
            prop_assert_eq!(stun::verify_fingerprint(&bytes), Ok(()));
        }
    }

    #[test]
    fn stun_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        let _ = Message::decode(&bytes);
        let _ = stun::annotate(&bytes);
        let _ = stun::verify_integrity(&bytes, b"k");
        let _ = stun::verify_fingerprint(&bytes);
    }

    /// A valid header in front of random attribute bytes: the attribute walk is reached.
    #[test]
    fn stun_attributes_never_panic(id in any::<[u8; 12]>(), body in proptest::collection::vec(any::<u8>(), 0..40)) {
        let mut bytes = vec![0x00, 0x01, 0, 0, 0x21, 0x12, 0xa4, 0x42];
        bytes.extend_from_slice(&id);
        let n = body.len() / 4 * 4;
        bytes.extend_from_slice(&body[..n]);
        bytes[3] = n as u8;
        let _ = Message::decode(&bytes);
        let _ = stun::annotate(&bytes);
        let _ = stun::verify_integrity(&bytes, b"k");
        let _ = stun::verify_fingerprint(&bytes);
    }

    #[test]
    fn dcep_round_trips(m in dcep_message()) {
        let bytes = m.encode().expect("fits");
        prop_assert_eq!(dcep::Message::decode(&bytes), Ok(m));
        prop_assert_eq!(dcep::annotate(&bytes).error, None);
    }

    #[test]
    fn dcep_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..40)) {
        let _ = dcep::Message::decode(&bytes);
        let _ = dcep::annotate(&bytes);
    }
}
