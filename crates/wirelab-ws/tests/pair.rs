//! A client and a server in virtual time: the opening handshake, messages both ways,
//! fragmentation, ping/pong, both closing handshakes and the close timeout, then hostile
//! peers, each test naming the rule of RFC 6455 it checks.
#![cfg(not(target_arch = "wasm32"))]

mod common;

use common::{Pair, client_config, server_config};
use core::time::Duration;
use wirelab_core::{Machine, RfcRef};
use wirelab_ws::wire::{Frame, Opcode};
use wirelab_ws::{
    CloseCode, Command, Event, HandshakeError, Message, ProtocolError, UsageError, WebSocket, WsError, WsState,
};

const KEY: [u8; 4] = [1, 2, 3, 4];

fn text(s: &str) -> Event {
    Event::Message(Message::Text(s.into()))
}

/// A masked frame, as a client sends it.
fn client_frame(f: Frame) -> Vec<u8> {
    f.masked(KEY).to_bytes()
}

fn closed(code: CloseCode, reason: &str, clean: bool) -> Event {
    Event::Closed { code, reason: reason.into(), clean }
}

/// The Close frame a server sends: unmasked, code then reason.
fn close_code_of(bytes: &[u8]) -> u16 {
    let (frame, _) = Frame::parse(bytes).expect("valid frame").expect("complete frame");
    assert_eq!(frame.header.opcode, Opcode::Close);
    u16::from_be_bytes([frame.payload[0], frame.payload[1]])
}

#[test]
fn test_connecting_handshake_opens_both_ends() {
    let mut p = Pair::new();
    assert_eq!(p.client.ws.suggested_commands(), [Command::Connect]);
    p.client_cmd(Command::Connect);
    p.run();
    assert!(p.client.sent[0].starts_with(b"GET / HTTP/1.1\r\nHost: 192.0.2.80:80\r\nUpgrade: websocket\r\n"));
    assert!(p.server.sent[0].starts_with(b"HTTP/1.1 101 Switching Protocols\r\n"));
    assert_eq!(p.client.events, [Event::Open { protocol: None }]);
    assert_eq!(p.server.events, [Event::Open { protocol: None }]);
    let t = &p.client.transitions[0];
    assert_eq!((t.from, t.to), (WsState::Connecting, WsState::Open));
    assert_eq!(t.cause, "received 101 Switching Protocols with the right Sec-WebSocket-Accept");
    assert_eq!(t.rfc, Some(RfcRef::new(6455, "4.1")));
    assert_eq!(p.server.transitions[0].rfc, Some(RfcRef::new(6455, "4.2.2")));
    assert_eq!(p.client.ws.suggested_commands().len(), 5);
    assert!(p.client.errors.is_empty() && p.server.errors.is_empty());
}

#[test]
fn test_open_messages_both_ways_client_masks_and_server_does_not() {
    let mut p = Pair::open();
    p.client_cmd(Command::Text("Hello".into()));
    p.server_cmd(Command::Text("Hi back".into()));
    p.client_cmd(Command::Binary(vec![0xde, 0xad]));
    p.server_cmd(Command::Binary(vec![0, 1, 2]));
    p.run();
    assert_eq!(p.server.events, [text("Hello"), Event::Message(Message::Binary(vec![0xde, 0xad]))]);
    assert_eq!(p.client.events, [text("Hi back"), Event::Message(Message::Binary(vec![0, 1, 2]))]);
    // §5.1: every client frame has MASK set, every server frame clear.
    assert!(p.client.sent[1..].iter().all(|b| b[1] & 0x80 != 0));
    assert!(p.server.sent[1..].iter().all(|b| b[1] & 0x80 == 0));
    assert_eq!(p.server.sent[1], [0x81, 0x07, b'H', b'i', b' ', b'b', b'a', b'c', b'k']);
    // §5.3: a fresh masking key per frame.
    assert_ne!(p.client.sent[1][2..6], p.client.sent[2][2..6]);
}

#[test]
fn test_open_fragmented_message_is_reassembled() {
    let mut p = Pair::open();
    p.client_cmd(Command::Fragmented(2, "Hello".into()));
    p.server_cmd(Command::Fragmented(3, "Hello world".into()));
    p.run();
    assert_eq!(p.server.events, [text("Hello")]);
    assert_eq!(p.client.events, [text("Hello world")]);
    // The RFC's own example, §5.7: "Hel" then "lo" (here masked).
    let first = Frame::parse(&p.client.sent[1]).expect("valid").expect("whole").0;
    let second = Frame::parse(&p.client.sent[2]).expect("valid").expect("whole").0;
    assert_eq!((first.header.fin, first.header.opcode, first.payload.as_slice()), (false, Opcode::Text, &b"Hel"[..]));
    assert_eq!(
        (second.header.fin, second.header.opcode, &second.payload[..]),
        (true, Opcode::Continuation, &b"lo"[..])
    );
    assert_eq!(p.server.sent[1..], [b"\x01\x04Hell".to_vec(), b"\x00\x04o wo".to_vec(), b"\x80\x03rld".to_vec()]);
}

#[test]
fn test_open_ping_is_answered_with_the_same_data() {
    let mut p = Pair::open();
    p.client_cmd(Command::Ping(b"are you there".to_vec()));
    p.run();
    assert_eq!(p.server.events, [Event::Ping(b"are you there".to_vec())]);
    assert_eq!(p.client.events, [Event::Pong(b"are you there".to_vec())]);
    p.server_cmd(Command::Ping(vec![]));
    p.run();
    assert_eq!(p.server.sent.last().expect("ping"), &[0x89, 0x00]);
    assert_eq!(p.client.events.last(), Some(&Event::Ping(vec![])));
    assert_eq!(p.server.events.last(), Some(&Event::Pong(vec![])));
}

#[test]
fn test_open_control_frames_may_interleave_a_fragmented_message() {
    // §5.4: "Control frames MAY be injected in the middle of a fragmented message."
    let mut p = Pair::open();
    let mut stream = client_frame(Frame::new(Opcode::Text, b"Hel".to_vec()).with_fin(false));
    stream.extend(client_frame(Frame::new(Opcode::Ping, b"mid".to_vec())));
    stream.extend(client_frame(Frame::new(Opcode::Continuation, b"lo".to_vec())));
    p.send_server(&stream).expect("valid stream");
    assert_eq!(p.server.events, [Event::Ping(b"mid".to_vec()), text("Hello")]);
    assert_eq!(p.server.sent.last().expect("pong"), b"\x8a\x03mid");
}

#[test]
fn test_open_client_close_is_echoed_and_the_server_closes_tcp() {
    let mut p = Pair::open();
    p.client_cmd(Command::Close(Some(CloseCode::NORMAL), "bye".into()));
    assert_eq!(p.client.state(), WsState::Closing);
    assert_eq!(p.client.wake, Some(p.now + Duration::from_secs(5)));
    p.run();
    assert_eq!(p.server.events, [closed(CloseCode::NORMAL, "bye", true), Event::CloseTransport]);
    // §5.5.1: the server "typically echos the status code it received".
    assert_eq!(p.server.sent.last().expect("close"), &[0x88, 0x02, 0x03, 0xe8]);
    assert_eq!(p.client.events, [closed(CloseCode::NORMAL, "", true)]);
    assert_eq!((p.client.state(), p.server.state()), (WsState::Closed, WsState::Closed));
    assert_eq!(p.client.wake, None);
    let causes: Vec<&str> = p.client.transitions.iter().map(|t| t.cause.as_ref()).collect();
    assert_eq!(causes[1..], ["sent Close", "received the peer's Close answering ours"]);
}

#[test]
fn test_open_server_close_without_code_closes_with_1005() {
    let mut p = Pair::open();
    p.server_cmd(Command::Close(None, String::new()));
    assert_eq!(p.server.sent.last().expect("close"), &[0x88, 0x00]);
    p.run();
    // §7.1.5: no status code in the Close frame: the close code is considered 1005.
    assert_eq!(p.client.events, [closed(CloseCode::NO_STATUS_RCVD, "", true)]);
    assert_eq!(p.server.events, [closed(CloseCode::NO_STATUS_RCVD, "", true), Event::CloseTransport]);
}

#[test]
fn test_closing_times_out_when_the_peer_never_answers() {
    let mut p = Pair::open();
    p.client_cmd(Command::Close(Some(CloseCode::GOING_AWAY), String::new()));
    p.server.inbox.clear(); // the Close is lost
    p.advance(Duration::from_secs(4));
    assert_eq!(p.client.state(), WsState::Closing);
    p.advance(Duration::from_secs(1));
    assert_eq!(p.client.state(), WsState::Closed);
    assert_eq!(p.client.events, [closed(CloseCode::ABNORMAL_CLOSURE, "", false), Event::CloseTransport]);
    assert_eq!(p.server.state(), WsState::Open);
}

#[test]
fn test_closing_still_delivers_data_sent_before_the_peer_saw_our_close() {
    let mut p = Pair::open();
    p.server_cmd(Command::Text("crossing".into()));
    p.client_cmd(Command::Close(Some(CloseCode::NORMAL), String::new()));
    p.run();
    assert_eq!(p.client.events, [text("crossing"), closed(CloseCode::NORMAL, "", true)]);
}

#[test]
fn test_closed_data_after_close_is_ignored() {
    let mut p = Pair::open();
    p.send_server(&client_frame(Frame::close(Some(CloseCode::NORMAL), ""))).expect("valid close");
    assert_eq!(p.server.state(), WsState::Closed);
    p.server.events.clear();
    assert_eq!(p.send_server(&client_frame(Frame::new(Opcode::Text, b"late".to_vec()))), Ok(()));
    assert!(p.server.events.is_empty());
}

#[test]
fn test_every_run_cut_at_every_byte_gives_the_same_events() {
    fn session(chunk: usize) -> (Vec<Event>, Vec<Event>, Vec<Vec<u8>>) {
        let mut p = Pair::new();
        p.chunk = chunk;
        p.client_cmd(Command::Connect);
        p.run();
        p.client_cmd(Command::Fragmented(3, "split anywhere".into()));
        p.server_cmd(Command::Binary((0..=255).collect()));
        p.client_cmd(Command::Ping(b"p".to_vec()));
        p.run();
        p.server_cmd(Command::Close(Some(CloseCode(4000)), "done".into()));
        p.run();
        (p.client.events, p.server.events, p.client.sent)
    }
    let whole = session(usize::MAX);
    assert_eq!(whole.1[1], text("split anywhere"));
    for chunk in [1, 2, 3, 7, 100] {
        assert_eq!(session(chunk), whole, "chunks of {chunk}");
    }
}

#[test]
fn test_same_seed_same_bytes() {
    let run = |seed| {
        let mut c = client_config();
        c.seed = seed;
        let mut p = Pair::with(c, server_config());
        p.client_cmd(Command::Connect);
        p.run();
        p.client_cmd(Command::Text("x".into()));
        p.client.sent
    };
    assert_eq!(run(1), run(1));
    assert_ne!(run(1), run(2));
}

#[test]
fn test_subprotocol_is_negotiated() {
    let mut c = client_config();
    c.protocols = vec!["chat".into(), "superchat".into()];
    let mut s = server_config();
    s.protocols = vec!["superchat".into()];
    let mut p = Pair::with(c, s);
    p.client_cmd(Command::Connect);
    p.run();
    assert_eq!(p.client.events, [Event::Open { protocol: Some("superchat".into()) }]);
    assert_eq!(p.client.ws.protocol(), Some("superchat"));
}

#[test]
fn test_connecting_response_and_first_frame_in_one_read() {
    let mut p = Pair::new();
    p.client_cmd(Command::Connect);
    p.server.inbox.clear();
    let request = p.client.sent[0].clone();
    p.send_server(&request).expect("valid request");
    let mut bytes = p.server.sent[0].clone();
    bytes.extend(Frame::new(Opcode::Text, b"welcome".to_vec()).to_bytes());
    p.send_client(&bytes).expect("valid response and frame");
    assert_eq!(p.client.events, [Event::Open { protocol: None }, text("welcome")]);
}

#[test]
fn test_usage_errors_are_typed_and_never_panic() {
    let mut p = Pair::new();
    let r = p.client.ws.handle_input(p.now, wirelab_core::Input::Command(Command::Text("early".into())));
    assert_eq!(r, Err(WsError::Usage(UsageError::NotNow { command: "text", state: WsState::Connecting })));
    assert_eq!(r.expect_err("usage").to_string(), "text in state CONNECTING");
    let r = p.server.ws.handle_input(p.now, wirelab_core::Input::Command(Command::Connect));
    assert_eq!(r, Err(WsError::Usage(UsageError::ServerCannotConnect)));
    let mut p = Pair::open();
    let mut try_cmd = |c| p.client.ws.handle_input(p.now, wirelab_core::Input::Command(c));
    assert_eq!(
        try_cmd(Command::Close(Some(CloseCode(1005)), String::new())),
        Err(WsError::Usage(UsageError::InvalidCloseCode(1005)))
    );
    assert_eq!(
        try_cmd(Command::Ping(vec![0; 126])),
        Err(WsError::Usage(UsageError::ControlPayloadTooLong { len: 126 }))
    );
    assert_eq!(
        try_cmd(Command::Fragmented(9, "Hello".into())),
        Err(WsError::Usage(UsageError::BadFragmentCount { n: 9, len: 5 }))
    );
    assert_eq!(
        try_cmd(Command::Close(Some(CloseCode::NORMAL), "x".repeat(124))),
        Err(WsError::Usage(UsageError::ControlPayloadTooLong { len: 126 }))
    );
    assert_eq!(try_cmd(Command::Close(None, String::new())), Ok(()));
    assert!(matches!(try_cmd(Command::Text("after close".into())), Err(WsError::Usage(UsageError::NotNow { .. }))));
}

// ---- Hostile peers ----

/// The server's last transmit is Close with `code`, and it failed with `code` and closed TCP.
fn assert_server_failed(p: &Pair, code: CloseCode) {
    assert_eq!(close_code_of(p.server.sent.last().expect("a close frame")), code.0);
    assert_eq!(p.server.state(), WsState::Closed);
    assert!(
        matches!(p.server.events.as_slice(), [.., Event::Failed { code: Some(c), .. }, Event::CloseTransport] if *c == code),
        "{:?}",
        p.server.events
    );
}

#[test]
fn test_open_unmasked_client_frame_fails_with_1002() {
    let mut p = Pair::open();
    let r = p.send_server(&[0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f]);
    assert_eq!(r, Err(WsError::Protocol(ProtocolError::UnmaskedClientFrame)));
    assert_server_failed(&p, CloseCode::PROTOCOL_ERROR);
    assert_eq!(p.server.transitions.last().expect("to CLOSED").rfc, Some(RfcRef::new(6455, "5.1")));
    assert_eq!(p.server.ws.error(), Some(&WsError::Protocol(ProtocolError::UnmaskedClientFrame)));
    // And the client, told so, closes cleanly with the server's 1002.
    p.client.inbox.extend(p.server.sent.last().expect("close").iter().copied());
    p.run();
    assert_eq!(p.client.events, [closed(CloseCode::PROTOCOL_ERROR, "the client sent an unmasked frame", true)]);
}

#[test]
fn test_open_masked_server_frame_fails_the_client() {
    let mut p = Pair::open();
    let r = p.send_client(&client_frame(Frame::new(Opcode::Text, b"hi".to_vec())));
    assert_eq!(r, Err(WsError::Protocol(ProtocolError::MaskedServerFrame)));
    let (close, _) = Frame::parse(p.client.sent.last().expect("close")).expect("valid").expect("whole");
    assert_eq!(close.payload[..2], [0x03, 0xea]);
    assert!(close.header.mask.is_some(), "the client masks even its failing Close");
    assert_eq!(p.client.state(), WsState::Closed);
}

#[test]
fn test_open_invalid_utf8_fails_with_1007() {
    let mut p = Pair::open();
    let r = p.send_server(&client_frame(Frame::new(Opcode::Text, vec![b'o', b'k', 0xff, 0xfe])));
    assert_eq!(r, Err(WsError::Protocol(ProtocolError::InvalidUtf8)));
    assert_server_failed(&p, CloseCode::INVALID_PAYLOAD);
    // A code point split between fragments is fine: only the message must be UTF-8.
    let mut p = Pair::open();
    let euro = "€".as_bytes();
    let mut stream = client_frame(Frame::new(Opcode::Text, euro[..1].to_vec()).with_fin(false));
    stream.extend(client_frame(Frame::new(Opcode::Continuation, euro[1..].to_vec())));
    p.send_server(&stream).expect("valid UTF-8 message");
    assert_eq!(p.server.events, [text("€")]);
}

#[test]
fn test_open_oversize_messages_fail_with_1009() {
    let mut s = server_config();
    s.max_message = 10;
    s.max_frame = 8;
    let mut p = Pair::with(client_config(), s);
    p.client_cmd(Command::Connect);
    p.run();
    // A frame over max_frame fails on its header alone, before its payload arrives.
    let big = client_frame(Frame::new(Opcode::Binary, vec![0; 9]));
    let r = p.send_server(&big[..6]);
    assert!(matches!(r, Err(WsError::Protocol(ProtocolError::Wire(wirelab_ws::WireError::FrameTooBig { .. })))));
    assert_server_failed(&p, CloseCode::MESSAGE_TOO_BIG);

    // Fragments that together exceed max_message.
    let mut s = server_config();
    s.max_message = 10;
    let mut p = Pair::with(client_config(), s);
    p.client_cmd(Command::Connect);
    p.run();
    p.client_cmd(Command::Fragmented(2, "twelve bytes".into()));
    p.run();
    assert_eq!(p.server.errors, [WsError::Protocol(ProtocolError::MessageTooBig { len: 12, max: 10 })]);
    assert_server_failed(&p, CloseCode::MESSAGE_TOO_BIG);
    // The client gets the 1009 and closes cleanly.
    assert!(
        matches!(p.client.events.as_slice(), [.., Event::Closed { code: CloseCode(1009), clean: true, .. }]),
        "{:?}",
        p.client.events
    );
}

#[test]
fn test_open_reserved_opcode_and_rsv_bits_fail_with_1002() {
    for first in [0x83u8, 0x8b, 0xc1, 0x91] {
        let mut p = Pair::open();
        let mut frame = client_frame(Frame::new(Opcode::Text, vec![]));
        frame[0] = first;
        assert!(matches!(p.send_server(&frame), Err(WsError::Protocol(ProtocolError::Wire(_)))), "{first:02x}");
        assert_server_failed(&p, CloseCode::PROTOCOL_ERROR);
    }
}

#[test]
fn test_open_fragmentation_rules_fail_with_1002() {
    // §5.4: a continuation with nothing to continue, and a new message inside a fragmented one.
    let mut p = Pair::open();
    let r = p.send_server(&client_frame(Frame::new(Opcode::Continuation, b"x".to_vec())));
    assert_eq!(r, Err(WsError::Protocol(ProtocolError::UnexpectedContinuation)));
    assert_server_failed(&p, CloseCode::PROTOCOL_ERROR);
    let mut p = Pair::open();
    let mut stream = client_frame(Frame::new(Opcode::Text, b"a".to_vec()).with_fin(false));
    stream.extend(client_frame(Frame::new(Opcode::Binary, b"b".to_vec())));
    let r = p.send_server(&stream);
    assert_eq!(r, Err(WsError::Protocol(ProtocolError::ExpectedContinuation { opcode: Opcode::Binary })));
    assert_server_failed(&p, CloseCode::PROTOCOL_ERROR);
}

#[test]
fn test_open_bad_close_bodies_fail_the_connection() {
    for (body, code) in [
        (vec![0x03], CloseCode::PROTOCOL_ERROR),
        (vec![0x03, 0xed], CloseCode::PROTOCOL_ERROR), // 1005 may not be sent
        (vec![0x00, 0x10], CloseCode::PROTOCOL_ERROR), // 16: not a status code
        (vec![0x03, 0xe8, 0xc3, 0x28], CloseCode::INVALID_PAYLOAD), // reason not UTF-8
    ] {
        let mut p = Pair::open();
        let frame = Frame::new(Opcode::Close, body.clone());
        assert!(p.send_server(&client_frame(frame)).is_err(), "{body:02x?}");
        assert_server_failed(&p, code);
    }
}

#[test]
fn test_connecting_wrong_version_is_answered_426() {
    let mut p = Pair::new();
    let request = "GET /chat HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
        Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 8\r\n\r\n";
    let r = p.send_server(request.as_bytes());
    assert_eq!(r, Err(WsError::Handshake(HandshakeError::UnsupportedVersion { found: "8".into() })));
    let body = "Sec-WebSocket-Version \"8\" is not supported: this server speaks 13\n";
    let want = format!(
        "HTTP/1.1 426 Upgrade Required\r\nSec-WebSocket-Version: 13\r\nUpgrade: websocket\r\n\
         Connection: Upgrade, close\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    assert_eq!(String::from_utf8_lossy(&p.server.sent[0]), want);
    assert_eq!(p.server.state(), WsState::Closed);
    assert!(matches!(p.server.events.as_slice(), [Event::Failed { code: None, .. }, Event::CloseTransport]));
}

#[test]
fn test_connecting_bad_request_is_answered_400() {
    let mut p = Pair::new();
    let r = p.send_server(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!(r, Err(WsError::Handshake(HandshakeError::NoUpgradeWebsocket { found: None })));
    let body = "Upgrade header field is none, not websocket\n";
    let want = format!(
        "HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    assert_eq!(String::from_utf8_lossy(&p.server.sent[0]), want);
    // An endless header is cut off at the limit.
    let mut p = Pair::new();
    let r = p.send_server(&[b"GET / HTTP/1.1\r\nX: ".as_slice(), &[b'a'; 9000]].concat());
    assert_eq!(r, Err(WsError::Handshake(HandshakeError::TooLarge { limit: 8192 })));
    assert!(p.server.sent[0].starts_with(b"HTTP/1.1 400 Bad Request"));
}

#[test]
fn test_connecting_client_fails_on_a_bad_accept() {
    let mut p = Pair::new();
    p.client_cmd(Command::Connect);
    let wrong = wirelab_ws::handshake::server_response("AAAAAAAAAAAAAAAAAAAAAA==", None);
    let r = p.send_client(&wrong);
    assert!(matches!(r, Err(WsError::Handshake(HandshakeError::BadAccept { .. }))));
    assert_eq!(p.client.state(), WsState::Closed);
    assert_eq!(p.client.sent.len(), 1, "a client answers a bad handshake with nothing but closing TCP");
    assert_eq!(p.client.events.last(), Some(&Event::CloseTransport));
    let r = p.send_client(b"more");
    assert_eq!(r, Ok(()), "after the failure, input is ignored");
}

#[test]
fn test_machine_annotates_what_it_sends() {
    let mut p = Pair::open();
    p.client_cmd(Command::Close(Some(CloseCode::NORMAL), "bye".into()));
    let a = WebSocket::annotate(p.client.sent.last().expect("close"));
    assert_eq!(a.summary, "Close 1000 \"bye\" (masked, 5 bytes)");
    let a = WebSocket::annotate(&p.client.sent[0]);
    assert_eq!(a.protocol, "HTTP");
    assert!(a.fields.iter().any(|f| f.name == "Sec-WebSocket-Key" && f.meaning.contains("16 random bytes")));
}
