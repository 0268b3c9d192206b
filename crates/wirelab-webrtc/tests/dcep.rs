//! DCEP (RFC 8832 §5) against its figures: messages built by hand, byte by byte, from the
//! figure of §5.1, and a table of malformed inputs with their typed errors.
#![cfg(not(target_arch = "wasm32"))]

use wirelab_webrtc::dcep::{self, DcepError, Message, Open, Reliability, ppid};

fn open(ordered: bool, reliability: Reliability, priority: u16, label: &str, protocol: &str) -> Message {
    Message::Open(Open { ordered, reliability, priority, label: label.into(), protocol: protocol.into() })
}

/// §5.1, filled in for a browser's `createDataChannel("chat")`: reliable, ordered,
/// priority "low" (256), label "chat", no protocol.
const CHAT_OPEN: [u8; 16] = [
    0x03, // Message Type: DATA_CHANNEL_OPEN
    0x00, // Channel Type: DATA_CHANNEL_RELIABLE
    0x01, 0x00, // Priority: 256
    0x00, 0x00, 0x00, 0x00, // Reliability Parameter: 0 ("MUST be set to 0" when reliable)
    0x00, 0x04, // Label Length: 4
    0x00, 0x00, // Protocol Length: 0
    b'c', b'h', b'a', b't', // Label, not padded
];

/// §5.1 again: `createDataChannel("x", {ordered: false, maxRetransmits: 3, protocol:
/// "json"})` with priority "medium" (512).
const REXMIT_OPEN: [u8; 17] = [
    0x03, // DATA_CHANNEL_OPEN
    0x81, // DATA_CHANNEL_PARTIAL_RELIABLE_REXMIT_UNORDERED
    0x02, 0x00, // Priority: 512
    0x00, 0x00, 0x00, 0x03, // Reliability Parameter: 3 retransmissions at most
    0x00, 0x01, // Label Length
    0x00, 0x04, // Protocol Length
    b'x', // Label
    b'j', b's', b'o', b'n', // Protocol
];

#[test]
fn rfc8832_5_1_open_by_hand() {
    let chat = open(true, Reliability::Reliable, 256, "chat", "");
    assert_eq!(chat.encode().expect("encodes"), CHAT_OPEN);
    assert_eq!(Message::decode(&CHAT_OPEN), Ok(chat));
    let rexmit = open(false, Reliability::MaxRetransmits(3), 512, "x", "json");
    assert_eq!(rexmit.encode().expect("encodes"), REXMIT_OPEN);
    assert_eq!(Message::decode(&REXMIT_OPEN), Ok(rexmit));
}

/// §5.2: the answer to an OPEN, on the same stream, is one byte, the Message Type 0x02.
#[test]
fn rfc8832_5_2_ack() {
    assert_eq!(Message::Ack.encode().expect("encodes"), [0x02]);
    assert_eq!(Message::decode(&[0x02]), Ok(Message::Ack));
}

/// §8.2.2's table, each Channel Type with its reliability and order.
#[test]
fn every_channel_type() {
    let cases = [
        (0x00, true, Reliability::Reliable, "DATA_CHANNEL_RELIABLE"),
        (0x80, false, Reliability::Reliable, "DATA_CHANNEL_RELIABLE_UNORDERED"),
        (0x01, true, Reliability::MaxRetransmits(7), "DATA_CHANNEL_PARTIAL_RELIABLE_REXMIT"),
        (0x81, false, Reliability::MaxRetransmits(7), "DATA_CHANNEL_PARTIAL_RELIABLE_REXMIT_UNORDERED"),
        (0x02, true, Reliability::MaxLifetimeMs(7), "DATA_CHANNEL_PARTIAL_RELIABLE_TIMED"),
        (0x82, false, Reliability::MaxLifetimeMs(7), "DATA_CHANNEL_PARTIAL_RELIABLE_TIMED_UNORDERED"),
    ];
    for (ty, ordered, reliability, name) in cases {
        let m = open(ordered, reliability, 0, "", "");
        let bytes = m.encode().expect("encodes");
        assert_eq!(bytes[1], ty, "{name}");
        assert_eq!(dcep::channel_type_name(ty), Some(name));
        let param = if reliability == Reliability::Reliable { 0 } else { 7 };
        assert_eq!(bytes[4..8], u32::to_be_bytes(param));
        assert_eq!(Message::decode(&bytes), Ok(m));
    }
    // "MUST be ignored on the receiving side": a reliable OPEN with a parameter still opens.
    let mut b = CHAT_OPEN;
    b[7] = 9;
    assert_eq!(Message::decode(&b), Ok(open(true, Reliability::Reliable, 256, "chat", "")));
}

#[test]
fn malformed_dcep_is_a_typed_error() {
    let mut long_label = CHAT_OPEN;
    long_label[9] = 5;
    let mut bad_type = CHAT_OPEN;
    bad_type[1] = 0x03;
    let mut bad_utf8 = CHAT_OPEN;
    bad_utf8[12] = 0xc3;
    let mut proto_bad = REXMIT_OPEN;
    proto_bad[16] = 0xff;
    let mut trailing = CHAT_OPEN.to_vec();
    trailing.push(0);
    let cases: Vec<(&str, Vec<u8>, DcepError)> = vec![
        ("empty", vec![], DcepError::Empty),
        ("reserved type 0x00", vec![0x00], DcepError::UnknownMessageType(0x00)),
        ("reserved type 0xff", vec![0xff, 0, 0], DcepError::UnknownMessageType(0xff)),
        ("ACK with a payload", vec![0x02, 0x00], DcepError::TrailingBytes { extra: 1 }),
        ("OPEN cut in the header", CHAT_OPEN[..11].to_vec(), DcepError::Truncated { need: 12, have: 11 }),
        ("OPEN cut in the label", CHAT_OPEN[..14].to_vec(), DcepError::Truncated { need: 16, have: 14 }),
        ("label length past the end", long_label.to_vec(), DcepError::Truncated { need: 17, have: 16 }),
        ("byte after the protocol", trailing, DcepError::TrailingBytes { extra: 1 }),
        ("channel type 0x03", bad_type.to_vec(), DcepError::UnknownChannelType(0x03)),
        ("label not UTF-8", bad_utf8.to_vec(), DcepError::NotUtf8 { field: "label" }),
        ("protocol not UTF-8", proto_bad.to_vec(), DcepError::NotUtf8 { field: "protocol" }),
    ];
    for (name, bytes, want) in cases {
        assert_eq!(Message::decode(&bytes), Err(want.clone()), "{name}");
        assert_eq!(dcep::annotate(&bytes).error, Some(want.to_string()), "{name}");
    }
    let huge = open(true, Reliability::Reliable, 0, &"l".repeat(70_000), "");
    assert_eq!(huge.encode(), Err(DcepError::TooLong { field: "label", len: 70_000 }));
}

#[test]
fn ppids_of_rfc8831_8() {
    let table = [
        (50, "WebRTC DCEP"),
        (51, "WebRTC String"),
        (53, "WebRTC Binary"),
        (56, "WebRTC String Empty"),
        (57, "WebRTC Binary Empty"),
    ];
    for (n, name) in table {
        assert_eq!(ppid::name(n), name);
    }
    assert_eq!((ppid::DCEP, ppid::STRING, ppid::BINARY, ppid::STRING_EMPTY, ppid::BINARY_EMPTY), (50, 51, 53, 56, 57));
    assert_eq!(ppid::name(55), "not a WebRTC PPID");
}

#[test]
fn the_annotation_names_each_field_of_the_figure() {
    let a = dcep::annotate(&REXMIT_OPEN);
    let names: Vec<(&str, usize, usize)> = a.fields.iter().map(|f| (f.name.as_str(), f.start, f.len)).collect();
    assert_eq!(
        names,
        [
            ("Message Type", 0, 1),
            ("Channel Type", 1, 1),
            ("Priority", 2, 2),
            ("Reliability Parameter", 4, 4),
            ("Label Length", 8, 2),
            ("Protocol Length", 10, 2),
            ("Label", 12, 1),
            ("Protocol", 13, 4)
        ]
    );
    let values: Vec<&str> = a.fields.iter().map(|f| f.value.as_str()).collect();
    assert_eq!(values, ["0x03", "0x81", "512", "3", "1", "4", "\"x\"", "\"json\""]);
    assert_eq!(a.summary, "DATA_CHANNEL_OPEN \"x\"");
}
