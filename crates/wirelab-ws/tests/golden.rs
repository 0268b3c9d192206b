//! Golden vectors lifted from RFC 6455 itself: the §1.3 accept key, the §1.2 handshake,
//! and every byte example of §5.7, parsed and emitted both ways.
#![cfg(not(target_arch = "wasm32"))]

use wirelab_ws::handshake::{self, MAX_HANDSHAKE};
use wirelab_ws::wire::{self, Frame, FrameHeader, Opcode};

const MASK: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];

/// Parses `bytes` as exactly one frame and checks that emitting it gives `bytes` back.
fn both_ways(bytes: &[u8], want: &Frame) {
    let (frame, n) = Frame::parse(bytes).expect("valid frame").expect("complete frame");
    assert_eq!(n, bytes.len());
    assert_eq!(&frame, want);
    assert_eq!(want.to_bytes(), bytes);
    // One byte short is incomplete, not an error.
    assert_eq!(Frame::parse(&bytes[..bytes.len() - 1]), Ok(None));
}

#[test]
fn section_1_3_accept_key() {
    assert_eq!(handshake::accept_key("dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

#[test]
fn section_1_2_handshake_answered_with_the_rfc_accept() {
    let request = b"GET /chat HTTP/1.1\r\nHost: server.example.com\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
        Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nOrigin: http://example.com\r\n\
        Sec-WebSocket-Protocol: chat, superchat\r\nSec-WebSocket-Version: 13\r\n\r\n";
    let (req, _) = handshake::parse_request(request, MAX_HANDSHAKE).expect("valid").expect("complete");
    let response = handshake::server_response(&req.key, Some("chat"));
    assert_eq!(
        String::from_utf8(response).expect("ascii"),
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\nSec-WebSocket-Protocol: chat\r\n\r\n"
    );
}

#[test]
fn section_5_7_unmasked_text() {
    both_ways(&[0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f], &Frame::new(Opcode::Text, b"Hello".to_vec()));
}

#[test]
fn section_5_7_masked_text() {
    both_ways(
        &[0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58],
        &Frame::new(Opcode::Text, b"Hello".to_vec()).masked(MASK),
    );
}

#[test]
fn section_5_7_fragmented_unmasked_text() {
    both_ways(&[0x01, 0x03, 0x48, 0x65, 0x6c], &Frame::new(Opcode::Text, b"Hel".to_vec()).with_fin(false));
    both_ways(&[0x80, 0x02, 0x6c, 0x6f], &Frame::new(Opcode::Continuation, b"lo".to_vec()));
}

#[test]
fn section_5_7_ping_and_masked_pong() {
    both_ways(&[0x89, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f], &Frame::new(Opcode::Ping, b"Hello".to_vec()));
    both_ways(
        &[0x8a, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58],
        &Frame::new(Opcode::Pong, b"Hello".to_vec()).masked(MASK),
    );
}

#[test]
fn section_5_7_binary_256_bytes_uses_the_16_bit_length() {
    let payload: Vec<u8> = (0..=255).collect();
    let frame = Frame::new(Opcode::Binary, payload.clone());
    let bytes = frame.to_bytes();
    assert_eq!(bytes[..4], [0x82, 0x7e, 0x01, 0x00]);
    assert_eq!(frame.header.header_len(), 4);
    both_ways(&bytes, &frame);
    assert_eq!(FrameHeader::parse(&bytes[..4]), Ok(Some((frame.header, 4))));
    assert_eq!(FrameHeader::parse(&bytes[..3]), Ok(None));
}

#[test]
fn section_5_7_binary_64_kib_uses_the_64_bit_length() {
    let frame = Frame::new(Opcode::Binary, vec![0xab; 65536]);
    let bytes = frame.to_bytes();
    assert_eq!(bytes[..10], [0x82, 0x7f, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00]);
    assert_eq!(bytes.len(), 10 + 65536);
    assert_eq!(frame.header.header_len(), 10);
    both_ways(&bytes, &frame);
}

#[test]
fn length_boundaries_are_minimal() {
    for (len, header) in [(0, 2), (125, 2), (126, 4), (65535, 4), (65536, 10)] {
        let bytes = Frame::new(Opcode::Binary, vec![0; len]).to_bytes();
        assert_eq!(bytes.len() - len, header, "payload of {len}");
        assert!(Frame::parse(&bytes).expect("minimal").is_some());
    }
}

#[test]
fn annotation_of_the_rfc_examples() {
    let a = wire::annotate(&[0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f]);
    assert_eq!(a.summary, "Text \"Hello\" (5 bytes)");
    let a = wire::annotate(&[0x01, 0x03, 0x48, 0x65, 0x6c]);
    assert_eq!(a.summary, "Text \"Hel\" (not final, 3 bytes)");
    assert_eq!(a.fields[0].value, "0");
    let a = wire::annotate(&[0x8a, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58]);
    assert_eq!(a.summary, "Pong \"Hello\" (masked, 5 bytes)");
    let mut big = vec![0x82, 0x7f, 0, 0, 0, 0, 0, 1, 0, 0];
    big.extend(vec![0xff; 65536]);
    let a = wire::annotate(&big);
    let ext = a.fields.iter().find(|f| f.name == "Extended payload length").expect("64-bit length");
    assert_eq!((ext.start, ext.len, ext.value.as_str()), (2, 8, "65536"));
    assert_eq!(a.error, None);
}
