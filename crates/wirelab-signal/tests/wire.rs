//! The `/signal` JSON format, pinned: exact strings both ways, and every kind of bad
//! input turned into its typed error.

use wirelab_signal::{
    ClientMsg, ErrorCode, MAX_MESSAGE_BYTES, MsgError, PeerId, PeerInfo, RoomId, RoomIdError, ServerMsg,
};

const ROOM: &str = "mzxw6ytboiaaaaaaaaaaaaaaaa";

fn room() -> RoomId {
    let mut b = [0u8; 16];
    b[..6].copy_from_slice(b"foobar");
    RoomId::from_bytes(b)
}

fn client_golden() -> Vec<(ClientMsg, String)> {
    vec![
        (
            ClientMsg::Join { room: room(), name: Some("ada".into()) },
            format!(r#"{{"type":"join","room":"{ROOM}","name":"ada"}}"#),
        ),
        (ClientMsg::Join { room: room(), name: None }, format!(r#"{{"type":"join","room":"{ROOM}"}}"#)),
        (ClientMsg::Leave, r#"{"type":"leave"}"#.into()),
        (
            ClientMsg::Offer { to: PeerId(2), sdp: "v=0\r\n".into() },
            r#"{"type":"offer","to":2,"sdp":"v=0\r\n"}"#.into(),
        ),
        (ClientMsg::Answer { to: PeerId(1), sdp: "v=0".into() }, r#"{"type":"answer","to":1,"sdp":"v=0"}"#.into()),
        (
            ClientMsg::Candidate {
                to: PeerId(2),
                candidate: "candidate:1 1 udp 2122260223 192.0.2.1 54321 typ host".into(),
                sdp_mid: Some("0".into()),
                sdp_mline_index: Some(0),
            },
            r#"{"type":"candidate","to":2,"candidate":"candidate:1 1 udp 2122260223 192.0.2.1 54321 typ host","sdp_mid":"0","sdp_mline_index":0}"#
                .into(),
        ),
        (
            ClientMsg::Candidate { to: PeerId(2), candidate: String::new(), sdp_mid: None, sdp_mline_index: None },
            r#"{"type":"candidate","to":2,"candidate":""}"#.into(),
        ),
        (ClientMsg::Relay { data: "hi \"all\"".into() }, r#"{"type":"relay","data":"hi \"all\""}"#.into()),
        (ClientMsg::Ping, r#"{"type":"ping"}"#.into()),
    ]
}

fn server_golden() -> Vec<(ServerMsg, String)> {
    vec![
        (ServerMsg::Welcome { you: PeerId(7) }, r#"{"type":"welcome","you":7}"#.into()),
        (
            ServerMsg::Joined {
                room: room(),
                you: PeerId(3),
                peers: vec![
                    PeerInfo { id: PeerId(1), name: Some("bob".into()) },
                    PeerInfo { id: PeerId(2), name: None },
                ],
            },
            format!(r#"{{"type":"joined","room":"{ROOM}","you":3,"peers":[{{"id":1,"name":"bob"}},{{"id":2}}]}}"#),
        ),
        (
            ServerMsg::PeerJoined { peer: PeerInfo { id: PeerId(4), name: Some("eve".into()) } },
            r#"{"type":"peer-joined","peer":{"id":4,"name":"eve"}}"#.into(),
        ),
        (ServerMsg::PeerLeft { peer: PeerId(2) }, r#"{"type":"peer-left","peer":2}"#.into()),
        (ServerMsg::Offer { from: PeerId(1), sdp: "v=0".into() }, r#"{"type":"offer","from":1,"sdp":"v=0"}"#.into()),
        (ServerMsg::Answer { from: PeerId(2), sdp: "v=0".into() }, r#"{"type":"answer","from":2,"sdp":"v=0"}"#.into()),
        (
            ServerMsg::Candidate {
                from: PeerId(1),
                candidate: "c".into(),
                sdp_mid: Some("0".into()),
                sdp_mline_index: None,
            },
            r#"{"type":"candidate","from":1,"candidate":"c","sdp_mid":"0"}"#.into(),
        ),
        (
            ServerMsg::Relayed { from: PeerId(1), data: "hi".into() },
            r#"{"type":"relayed","from":1,"data":"hi"}"#.into(),
        ),
        (
            ServerMsg::Stats { room_messages: 5, room_bytes: 300, relayed_messages: 2, relayed_bytes: 80 },
            r#"{"type":"stats","room_messages":5,"room_bytes":300,"relayed_messages":2,"relayed_bytes":80}"#.into(),
        ),
        (ServerMsg::Pong, r#"{"type":"pong"}"#.into()),
        (
            ServerMsg::Error { code: ErrorCode::RoomFull, message: "the room has its 8 members".into() },
            r#"{"type":"error","code":"room-full","message":"the room has its 8 members"}"#.into(),
        ),
    ]
}

#[test]
fn client_messages_serialize_exactly_so_and_parse_back() {
    for (msg, json) in client_golden() {
        assert_eq!(msg.to_json(), json);
        assert_eq!(ClientMsg::parse(&json), Ok(msg.clone()), "{json}");
        assert!(json.contains(&format!(r#""type":"{}""#, msg.type_name())));
    }
}

#[test]
fn server_messages_serialize_exactly_so_and_parse_back() {
    for (msg, json) in server_golden() {
        assert_eq!(msg.to_json(), json);
        assert_eq!(ServerMsg::parse(&json), Ok(msg.clone()), "{json}");
        assert!(json.contains(&format!(r#""type":"{}""#, msg.type_name())));
    }
}

#[test]
fn every_error_code_is_kebab_case_on_the_wire() {
    let codes = [
        (ErrorCode::RoomFull, "room-full"),
        (ErrorCode::ServerFull, "server-full"),
        (ErrorCode::NoSuchPeer, "no-such-peer"),
        (ErrorCode::NotInRoom, "not-in-room"),
        (ErrorCode::AlreadyInRoom, "already-in-room"),
        (ErrorCode::BadMessage, "bad-message"),
        (ErrorCode::TooLarge, "too-large"),
        (ErrorCode::RateLimited, "rate-limited"),
        (ErrorCode::BadRoomId, "bad-room-id"),
    ];
    for (code, s) in codes {
        assert_eq!(serde_json::to_string(&code).expect("should succeed"), format!("\"{s}\""));
        assert_eq!(code.to_string(), s);
    }
}

#[test]
fn whitespace_and_field_order_do_not_matter_on_input() {
    let json = format!("{{ \"name\" : \"ada\" ,\n \"room\": \"{}\", \"type\": \"join\" }}", ROOM.to_uppercase());
    assert_eq!(ClientMsg::parse(&json), Ok(ClientMsg::Join { room: room(), name: Some("ada".into()) }));
}

#[test]
fn bad_input_gives_typed_errors() {
    assert!(matches!(ClientMsg::parse("hello"), Err(MsgError::NotJson { .. })));
    assert!(matches!(ClientMsg::parse(""), Err(MsgError::NotJson { .. })));
    assert!(matches!(ClientMsg::parse(r#"{"type":"ping""#), Err(MsgError::NotJson { .. })));
    assert!(matches!(ClientMsg::parse("[1,2]"), Err(MsgError::NotJson { .. })));
    assert_eq!(ClientMsg::parse(r#"{"to":1}"#), Err(MsgError::MissingType));
    assert_eq!(ClientMsg::parse(r#"{"type":7}"#), Err(MsgError::MissingType));
    assert_eq!(ClientMsg::parse(r#"{"type":"shout"}"#), Err(MsgError::UnknownType { ty: "shout".into() }));
    // A server type is unknown to the server, and the other way round.
    assert_eq!(ClientMsg::parse(r#"{"type":"pong"}"#), Err(MsgError::UnknownType { ty: "pong".into() }));
    assert_eq!(ServerMsg::parse(r#"{"type":"ping"}"#), Err(MsgError::UnknownType { ty: "ping".into() }));
    let e = ClientMsg::parse(r#"{"type":"offer","to":"two","sdp":"v=0"}"#).expect_err("should be refused");
    assert!(matches!(&e, MsgError::BadFields { ty, .. } if ty == "offer"), "{e:?}");
    assert_eq!(e.code(), ErrorCode::BadMessage);
    let e = ClientMsg::parse(r#"{"type":"offer","sdp":"v=0"}"#).expect_err("should be refused");
    assert!(matches!(&e, MsgError::BadFields { detail, .. } if detail.contains("to")), "{e:?}");
    let e = ClientMsg::parse(r#"{"type":"join","room":"lobby"}"#).expect_err("should be refused");
    assert_eq!(e, MsgError::BadRoomId(RoomIdError::WrongLength { len: 5 }));
    assert_eq!(e.code(), ErrorCode::BadRoomId);
    let e = ClientMsg::parse(r#"{"type":"candidate","to":1,"candidate":"c","sdp_mline_index":70000}"#)
        .expect_err("should be refused");
    assert!(matches!(e, MsgError::BadFields { .. }), "{e:?}");
}

#[test]
fn oversized_input_is_refused_before_parsing() {
    let big = format!(r#"{{"type":"relay","data":"{}"}}"#, "x".repeat(MAX_MESSAGE_BYTES));
    assert_eq!(ClientMsg::parse(&big), Err(MsgError::TooLarge { len: big.len(), max: MAX_MESSAGE_BYTES }));
    assert_eq!(ClientMsg::parse(&big).expect_err("should be refused").code(), ErrorCode::TooLarge);
    // Not even valid JSON is looked at when it is too long.
    let junk = "{".repeat(MAX_MESSAGE_BYTES + 1);
    assert!(matches!(ClientMsg::parse(&junk), Err(MsgError::TooLarge { .. })));
    // Exactly at the limit is fine.
    let pad = MAX_MESSAGE_BYTES - r#"{"type":"relay","data":""}"#.len();
    let exact = format!(r#"{{"type":"relay","data":"{}"}}"#, "x".repeat(pad));
    assert_eq!(exact.len(), MAX_MESSAGE_BYTES);
    assert!(ClientMsg::parse(&exact).is_ok());
    assert!(matches!(ClientMsg::parse_with_limit(r#"{"type":"ping"}"#, 5), Err(MsgError::TooLarge { .. })));
}

#[test]
fn deeply_nested_json_is_an_error_not_a_crash() {
    let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    assert!(matches!(ClientMsg::parse(&deep), Err(MsgError::NotJson { .. })));
}
