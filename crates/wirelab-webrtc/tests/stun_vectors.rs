//! Golden tests: RFC 5769's STUN test vectors (§2.1 sample request, §2.2 IPv4 response,
//! §2.3 IPv6 response), copied byte for byte from the RFC text, decoded with their
//! MESSAGE-INTEGRITY and FINGERPRINT checked, and written again byte-identical: once from
//! the decoded message, once from a message built by hand, both sealed by our encoder.
#![cfg(not(target_arch = "wasm32"))]

mod vectors;

use std::net::SocketAddr;
use vectors::{PASSWORD, SAMPLE_IPV4_RESPONSE, SAMPLE_IPV6_RESPONSE, SAMPLE_REQUEST, TRANSACTION_ID};
use wirelab_webrtc::stun::{
    self, Attribute, BINDING, Class, Message, Seal, StunError, verify_fingerprint, verify_integrity,
};

/// The RFC pads with spaces.
const RFC5769: Seal<'static> = Seal { key: Some(PASSWORD), padding: 0x20, sha256: None };

fn addr(s: &str) -> SocketAddr {
    s.parse().expect("an address")
}

/// What an agent receiving each vector checks first.
fn checks_pass(bytes: &[u8]) {
    assert_eq!(verify_fingerprint(bytes), Ok(()));
    assert_eq!(verify_integrity(bytes, PASSWORD), Ok(()));
    assert_eq!(verify_integrity(bytes, b"VOkJxbRl1RmTxUk/WvJxBT"), Err(StunError::IntegrityMismatch));
}

#[test]
fn rfc5769_2_1_sample_request() {
    checks_pass(&SAMPLE_REQUEST);
    let m = Message::decode(&SAMPLE_REQUEST).expect("decodes");
    assert_eq!((m.method, m.class, m.transaction_id), (BINDING, Class::Request, TRANSACTION_ID));
    // Built by hand from the RFC's description; MESSAGE-INTEGRITY and FINGERPRINT are
    // placeholders the encoder replaces.
    let by_hand = Message {
        method: BINDING,
        class: Class::Request,
        transaction_id: TRANSACTION_ID,
        attributes: vec![
            Attribute::Software("STUN test client".into()),
            Attribute::Priority(0x6e0001ff),
            Attribute::IceControlled(0x932ff9b151263b36),
            Attribute::Username("evtj:h6vY".into()),
            Attribute::MessageIntegrity([0; 20]),
            Attribute::Fingerprint(0),
        ],
    };
    assert_eq!(m.attributes[..4], by_hand.attributes[..4]);
    assert_eq!(m.get(0x8028), Some(&Attribute::Fingerprint(0xe57a3bcf)));
    assert_eq!(by_hand.seal(&RFC5769).expect("encodes"), SAMPLE_REQUEST);
    assert_eq!(m.seal(&RFC5769).expect("encodes"), SAMPLE_REQUEST);
    assert_eq!(m.encode().expect("encodes")[..60], SAMPLE_REQUEST[..60], "up to the username's zero padding");
}

#[test]
fn rfc5769_2_2_sample_ipv4_response() {
    checks_pass(&SAMPLE_IPV4_RESPONSE);
    let m = Message::decode(&SAMPLE_IPV4_RESPONSE).expect("decodes");
    assert_eq!((m.method, m.class, m.transaction_id), (BINDING, Class::SuccessResponse, TRANSACTION_ID));
    assert_eq!(m.attributes[0], Attribute::Software("test vector".into()));
    // "Mapped address: 192.0.2.1 port 32853"
    assert_eq!(m.attributes[1], Attribute::XorMappedAddress(addr("192.0.2.1:32853")));
    let by_hand = Message {
        attributes: vec![
            Attribute::Software("test vector".into()),
            Attribute::XorMappedAddress(addr("192.0.2.1:32853")),
            Attribute::MessageIntegrity([0; 20]),
            Attribute::Fingerprint(0),
        ],
        ..m.clone()
    };
    assert_eq!(by_hand.seal(&RFC5769).expect("encodes"), SAMPLE_IPV4_RESPONSE);
    assert_eq!(m.seal(&RFC5769).expect("encodes"), SAMPLE_IPV4_RESPONSE);
}

#[test]
fn rfc5769_2_3_sample_ipv6_response() {
    checks_pass(&SAMPLE_IPV6_RESPONSE);
    let m = Message::decode(&SAMPLE_IPV6_RESPONSE).expect("decodes");
    assert_eq!((m.method, m.class, m.transaction_id), (BINDING, Class::SuccessResponse, TRANSACTION_ID));
    // "Mapped address: 2001:db8:1234:5678:11:2233:4455:6677 port 32853"
    let mapped = addr("[2001:db8:1234:5678:11:2233:4455:6677]:32853");
    assert_eq!(m.attributes[1], Attribute::XorMappedAddress(mapped));
    let by_hand = Message {
        attributes: vec![
            Attribute::Software("test vector".into()),
            Attribute::XorMappedAddress(mapped),
            Attribute::MessageIntegrity([0; 20]),
            Attribute::Fingerprint(0),
        ],
        ..m.clone()
    };
    assert_eq!(by_hand.seal(&RFC5769).expect("encodes"), SAMPLE_IPV6_RESPONSE);
}

/// Any one flipped bit after the header breaks the FINGERPRINT (CRC-32 catches every
/// single-bit error), and any in the covered bytes breaks MESSAGE-INTEGRITY.
#[test]
fn a_flipped_bit_breaks_the_checks() {
    for bit in (HEADER_BITS..SAMPLE_REQUEST.len() * 8).step_by(7) {
        let mut b = SAMPLE_REQUEST;
        b[bit / 8] ^= 0x80 >> (bit % 8);
        if stun::looks_like_stun(&b) && Message::decode(&b).is_ok() {
            assert!(verify_fingerprint(&b).is_err(), "bit {bit}");
        }
    }
    let mut b = SAMPLE_REQUEST;
    b[30] ^= 1; // inside SOFTWARE, covered by the HMAC
    assert_eq!(verify_integrity(&b, PASSWORD), Err(StunError::IntegrityMismatch));
}
const HEADER_BITS: usize = 20 * 8;

#[test]
fn the_type_interleaves_method_and_class() {
    assert_eq!(stun::message_type(BINDING, Class::Request), 0x0001);
    assert_eq!(stun::message_type(BINDING, Class::Indication), 0x0011);
    assert_eq!(stun::message_type(BINDING, Class::SuccessResponse), 0x0101);
    assert_eq!(stun::message_type(BINDING, Class::ErrorResponse), 0x0111);
    // RFC 8489 §5's own examples: "a Binding request has class=0b00 (request) and
    // method=0b000000000001 (Binding) and is encoded into the first 16 bits as
    // 0x0001. A Binding response has class=0b10 (success response) and method=
    // 0b000000000001, and is encoded into the first 16 bits as 0x0101."
    assert_eq!(stun::split_type(0x0101), (BINDING, Class::SuccessResponse));
    // Every method bit lands outside the class bits and comes back.
    for method in [0x001, 0x003, 0x00f, 0x010, 0x070, 0x080, 0xf80, 0xfff] {
        for class in [Class::Request, Class::Indication, Class::SuccessResponse, Class::ErrorResponse] {
            let t = stun::message_type(method, class);
            assert_eq!(t & 0xC000, 0);
            assert_eq!(stun::split_type(t), (method, class));
        }
    }
}

/// Malformed input, and the typed error each gets.
#[test]
fn malformed_messages_are_typed_errors() {
    let mut long_len = SAMPLE_IPV4_RESPONSE.to_vec();
    long_len[3] = 0x40;
    let mut odd_len = SAMPLE_IPV4_RESPONSE.to_vec();
    odd_len[3] = 0x3d;
    let mut cookie = SAMPLE_IPV4_RESPONSE.to_vec();
    cookie[4] = 0x22;
    let mut family = SAMPLE_IPV4_RESPONSE.to_vec();
    family[41] = 0x03;
    let mut overflow = SAMPLE_IPV4_RESPONSE.to_vec();
    overflow[39] = 0x40; // XOR-MAPPED-ADDRESS claims 64 bytes
    let mut bad_utf8 = SAMPLE_IPV4_RESPONSE.to_vec();
    bad_utf8[24] = 0xff;
    let mut short_mi = SAMPLE_IPV4_RESPONSE[..60].to_vec();
    short_mi[3] = 0x28;
    short_mi[51] = 0x08; // MESSAGE-INTEGRITY of 8 bytes
    let mut tls = SAMPLE_IPV4_RESPONSE.to_vec();
    tls[0] = 0x80;
    let cases: Vec<(&str, Vec<u8>, StunError)> = vec![
        ("empty", vec![], StunError::Truncated { len: 0 }),
        ("19 bytes", SAMPLE_REQUEST[..19].to_vec(), StunError::Truncated { len: 19 }),
        ("an RTP packet (first byte 0x80)", tls, StunError::NotStun { first_byte: 0x80 }),
        ("cookie", cookie, StunError::BadMagicCookie { found: 0x2212a442 }),
        ("length too long", long_len, StunError::BadLength { field: 0x40, actual: 60 }),
        ("length not /4", odd_len, StunError::BadLength { field: 0x3d, actual: 60 }),
        ("cut short", SAMPLE_IPV4_RESPONSE[..60].to_vec(), StunError::BadLength { field: 60, actual: 40 }),
        ("attribute overflow", overflow, StunError::AttributeOverflow { ty: 0x0020, at: 36 }),
        (
            "family 3",
            family,
            StunError::BadAttribute { ty: 0x0020, why: "family is neither 0x01 (IPv4) nor 0x02 (IPv6)" },
        ),
        ("software not UTF-8", bad_utf8, StunError::BadAttribute { ty: 0x8022, why: "not UTF-8" }),
        (
            "short MESSAGE-INTEGRITY",
            short_mi,
            StunError::BadAttribute { ty: 0x0008, why: "wrong length for this type" },
        ),
    ];
    for (name, bytes, want) in cases {
        assert_eq!(Message::decode(&bytes), Err(want.clone()), "{name}");
        // The annotator says so too, and never panics.
        let a = stun::annotate(&bytes);
        assert_eq!(a.error, Some(want.to_string()), "{name}");
    }
    let no_key = Message {
        attributes: vec![Attribute::MessageIntegrity([0; 20])],
        ..Message::decode(&SAMPLE_REQUEST).expect("decodes")
    };
    assert_eq!(no_key.seal(&Seal::default()), Err(StunError::NoKey));
    let bad_code = Message { attributes: vec![Attribute::ErrorCode { code: 700, reason: String::new() }], ..no_key };
    assert!(matches!(bad_code.encode(), Err(StunError::BadAttribute { ty: 0x0009, .. })));
}

/// RFC 8489 §14.5: attributes after MESSAGE-INTEGRITY (but MESSAGE-INTEGRITY-SHA256 and
/// FINGERPRINT) are ignored; nothing after FINGERPRINT counts.
#[test]
fn attributes_after_integrity_are_ignored() {
    let m = Message {
        method: BINDING,
        class: Class::Request,
        transaction_id: TRANSACTION_ID,
        attributes: vec![
            Attribute::Username("a:b".into()),
            Attribute::MessageIntegrity([0; 20]),
            Attribute::Priority(7),
            Attribute::MessageIntegritySha256(vec![0; 32]),
            Attribute::Fingerprint(0),
            Attribute::UseCandidate,
        ],
    };
    // SHA-256 comes with the caller: without it, MESSAGE-INTEGRITY-SHA256 cannot be made.
    assert_eq!(m.seal(&Seal { key: Some(b"pass"), ..Seal::default() }), Err(StunError::NoKey));
    let bytes = m.seal(&Seal { key: Some(b"pass"), padding: 0, sha256: Some(stun::hmac_sha256) }).expect("encodes");
    let back = Message::decode(&bytes).expect("decodes");
    assert_eq!(back.attributes.len(), 4, "{back:?}");
    assert!(back.get(0x0024).is_none() && back.get(0x0025).is_none());
    assert_eq!(verify_integrity(&bytes, b"pass"), Ok(()));
    assert!(
        matches!(back.get(0x001C), Some(Attribute::MessageIntegritySha256(v)) if v.len() == 32 && v.iter().any(|&b| b != 0))
    );
}

#[test]
fn the_annotation_names_every_byte() {
    for v in [&SAMPLE_REQUEST[..], &SAMPLE_IPV4_RESPONSE, &SAMPLE_IPV6_RESPONSE] {
        let a = stun::annotate(v);
        assert_eq!(a.error, None);
        for i in 0..v.len() {
            let covered =
                a.fields.iter().filter(|f| f.depth > 0 || f.name != "Message Type").any(|f| f.range().contains(&i));
            assert!(covered, "byte {i} of {}", a.summary);
        }
    }
    let a = stun::annotate(&SAMPLE_IPV4_RESPONSE);
    assert_eq!(a.summary, "STUN Binding success response XOR-MAPPED-ADDRESS=192.0.2.1:32853");
    let port = a.fields.iter().find(|f| f.name == "Port").expect("X-Port");
    assert_eq!((port.start, port.len, port.value.as_str()), (42, 2, "0xa147"));
    let address = a.fields.iter().rfind(|f| f.name == "Value" && f.start == 44).expect("X-Address");
    assert_eq!((address.len, address.value.as_str()), (4, "192.0.2.1:32853"));
    let pad = a.fields.iter().find(|f| f.name == "Padding").expect("SOFTWARE's padding");
    assert_eq!((pad.start, pad.len, pad.value.as_str()), (35, 1, "0x20"));
}

/// Found in review: an attribute after FINGERPRINT is never decoded, so the annotator
/// must not trust its length either (a 1-byte XOR-MAPPED-ADDRESS there once sliced
/// `value[2..1]`).
#[test]
fn regression_a_broken_attribute_after_fingerprint() {
    let mut b = SAMPLE_IPV4_RESPONSE.to_vec();
    b.extend_from_slice(&[0x00, 0x20, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00]);
    b[3] += 8;
    let m = Message::decode(&b).expect("what follows FINGERPRINT does not count");
    assert_eq!(m.attributes.len(), 4);
    let a = stun::annotate(&b);
    assert_eq!(a.error, None);
    let last = a.fields.iter().rfind(|f| f.depth == 0).expect("the trailing attribute");
    assert_eq!(last.start, 80);
    assert!(last.meaning.starts_with("ignored"), "{}", last.meaning);
}
