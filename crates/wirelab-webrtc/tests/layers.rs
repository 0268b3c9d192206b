//! SCTP packets (RFC 9260) and DTLS records (RFC 6347) as this crate writes them: round
//! trips, the CRC-32C, malformed input; and the signalling JSON written without serde,
//! byte for byte what `wirelab_signal`'s serde writes and reads.
#![cfg(not(target_arch = "wasm32"))]

use wirelab_signal::{ClientMsg, PeerId, ServerMsg};
use wirelab_webrtc::dcep::{self, ppid};
use wirelab_webrtc::sctp::{self, Chunk, Init, Packet, SctpError};
use wirelab_webrtc::{connect, dtls, signalling};

fn init() -> Init {
    Init {
        initiate_tag: 0x1234_5678,
        a_rwnd: 131_072,
        outbound_streams: 1024,
        inbound_streams: 1024,
        initial_tsn: 7,
        params: vec![(sctp::FORWARD_TSN_SUPPORTED, vec![]), (sctp::STATE_COOKIE, vec![1, 2, 3, 4, 5])],
    }
}

#[test]
fn sctp_packets_round_trip_with_their_crc32c() {
    let open = dcep::Message::Ack.encode().expect("encodes");
    let packets = [
        Packet { src_port: 5000, dst_port: 5000, verification_tag: 0, chunks: vec![Chunk::Init(init())] },
        Packet { src_port: 5000, dst_port: 5000, verification_tag: 9, chunks: vec![Chunk::InitAck(init())] },
        Packet {
            src_port: 5000,
            dst_port: 5000,
            verification_tag: 9,
            chunks: vec![Chunk::CookieEcho(vec![1, 2, 3, 4, 5])],
        },
        Packet { src_port: 5000, dst_port: 5000, verification_tag: 9, chunks: vec![Chunk::CookieAck] },
        Packet {
            src_port: 5000,
            dst_port: 5000,
            verification_tag: 9,
            chunks: vec![
                Chunk::Sack { cumulative_tsn_ack: 41, a_rwnd: 1000 },
                Chunk::Data { flags: 3, tsn: 8, stream: 1, ssn: 0, ppid: ppid::DCEP, data: open },
            ],
        },
    ];
    for p in packets {
        let bytes = p.encode().expect("encodes");
        assert_eq!(bytes.len() % 4, 0, "chunks are padded to 4 bytes");
        assert_eq!(Packet::decode(&bytes), Ok(p.clone()));
        // The checksum field holds the CRC-32C of the packet with the field zero, least
        // significant byte first (RFC 9260 Appendix A).
        let mut zeroed = bytes.clone();
        zeroed[8..12].fill(0);
        assert_eq!(bytes[8..12], wirelab_webrtc::crc::crc32c(&zeroed).to_le_bytes());
        let a = sctp::annotate(&bytes);
        assert_eq!(a.error, None, "{}", a.summary);
    }
    // The INIT's bytes, field by field (RFC 9260 §3.3.2): chunk type 1, flags 0, length
    // 20 + 4 (Forward-TSN-Supported) + 12 (State Cookie of 5 bytes, padded).
    let bytes = Packet { src_port: 5000, dst_port: 5000, verification_tag: 0, chunks: vec![Chunk::Init(init())] }
        .encode()
        .expect("encodes");
    assert_eq!(bytes[..8], [0x13, 0x88, 0x13, 0x88, 0, 0, 0, 0]);
    assert_eq!(bytes[12..16], [1, 0, 0, 33]);
    assert_eq!(bytes[16..20], 0x1234_5678u32.to_be_bytes());
    assert_eq!(bytes[32..36], [0xC0, 0x00, 0x00, 0x04]);
    assert_eq!(bytes[36..45], [0x00, 0x07, 0x00, 0x09, 1, 2, 3, 4, 5]);
    assert_eq!(bytes.len(), 48);
}

#[test]
fn malformed_sctp_is_a_typed_error() {
    let good = Packet { src_port: 5000, dst_port: 5000, verification_tag: 9, chunks: vec![Chunk::CookieAck] }
        .encode()
        .expect("encodes");
    let mut flipped = good.clone();
    flipped[13] ^= 1;
    let mut long = good.clone();
    long[15] = 8;
    let sum = |b: &mut Vec<u8>| {
        let s = sctp::checksum(b);
        b[8..12].copy_from_slice(&s.to_le_bytes());
    };
    sum(&mut long);
    assert_eq!(Packet::decode(&good[..12]), Err(SctpError::Truncated { len: 12 }));
    assert!(matches!(Packet::decode(&flipped), Err(SctpError::BadChecksum { .. })));
    assert_eq!(Packet::decode(&long), Err(SctpError::BadLength { at: 12 }));
    assert!(sctp::annotate(&flipped).error.is_some());
}

#[test]
fn dtls_records_round_trip_and_name_their_handshake_messages() {
    let records = vec![
        dtls::Record {
            content_type: dtls::HANDSHAKE,
            epoch: 0,
            sequence_number: 3,
            fragment: dtls::handshake(dtls::CERTIFICATE, 1),
        },
        dtls::Record { content_type: dtls::CHANGE_CIPHER_SPEC, epoch: 0, sequence_number: 4, fragment: vec![1] },
        dtls::Record {
            content_type: dtls::HANDSHAKE,
            epoch: 1,
            sequence_number: 0,
            fragment: dtls::handshake(dtls::FINISHED, 2),
        },
    ];
    let bytes = dtls::encode(&records).expect("encodes");
    // RFC 6347 §4.1: type, version {254, 253}, epoch, 48-bit sequence number, length.
    assert_eq!(bytes[..11], [22, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 3]);
    let back: Vec<dtls::Record> = dtls::decode(&bytes).expect("decodes").into_iter().map(|(_, r)| r).collect();
    assert_eq!(back, records);
    let a = dtls::annotate(&bytes);
    assert_eq!(a.summary, "DTLS Certificate, ChangeCipherSpec, Finished");
    let body = a.fields.iter().find(|f| f.name == "Body (placeholder)").expect("a body");
    assert!(body.meaning.starts_with("NOT REAL"), "{}", body.meaning);
    assert_eq!(dtls::decode(&bytes[..20]), Err(dtls::DtlsError::Truncated { at: 0 }));
    let mut v = bytes.clone();
    v[2] = 0xfc;
    assert_eq!(dtls::decode(&v), Err(dtls::DtlsError::BadVersion { at: 0, version: 0xfefc }));
}

#[test]
fn signalling_json_is_what_wirelab_signal_writes() {
    let sdp = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\na=x:\"quoted\" back\\slash\r\n";
    let ours = signalling::description_json("offer", 1, sdp);
    let theirs = ClientMsg::Offer { to: PeerId(1), sdp: sdp.into() };
    assert_eq!(ours, theirs.to_json());
    assert_eq!(ClientMsg::parse(&ours), Ok(theirs));
    let cand = "candidate:1 1 udp 2130706431 192.0.2.10 54400 typ host";
    for c in [cand, ""] {
        let ours = signalling::candidate_json(1, c);
        let theirs = ClientMsg::Candidate {
            to: PeerId(1),
            candidate: c.into(),
            sdp_mid: Some("0".into()),
            sdp_mline_index: Some(0),
        };
        assert_eq!(ours, theirs.to_json());
    }
    // And read back what serde writes, control characters included.
    let server = ServerMsg::Answer { from: PeerId(2), sdp: "a\u{1}b\tc\r\n".into() }.to_json();
    assert_eq!(signalling::string_field(&server, "sdp").as_deref(), Some("a\u{1}b\tc\r\n"));
    assert_eq!(signalling::number_field(&server, "from"), Some(2));
    assert_eq!(signalling::string_field(&server, "nope"), None);
    assert_eq!(signalling::string_field("{\"sdp\":\"cut", "sdp"), None);
}

#[test]
fn the_frame_annotator_tells_the_protocols_apart() {
    assert_eq!(
        connect::annotate(b"{\"type\":\"candidate\",\"to\":1,\"candidate\":\"\"}").summary,
        "end-of-candidates to p1"
    );
    assert_eq!(connect::annotate(&[22, 0xfe, 0xfd]).protocol, "DTLS");
    assert_eq!(connect::annotate(&[0, 1, 0, 0]).protocol, "STUN");
    assert_eq!(connect::annotate(&[0x80, 0]).protocol, "?");
    assert_eq!(connect::annotate(&[]).protocol, "?");
}
