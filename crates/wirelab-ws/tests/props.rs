//! Property tests: frames round-trip through emit and parse, a stream of frames cut at
//! arbitrary points parses to the same frames, arbitrary bytes never panic a machine, and
//! two of our own machines always agree on what was sent, however the stream is cut.
#![cfg(not(target_arch = "wasm32"))]

mod common;

use common::{Pair, client_config, server_config};
use proptest::prelude::*;
use wirelab_core::{Input, Instant, Machine, Output};
use wirelab_ws::wire::{Frame, FrameHeader, Opcode};
use wirelab_ws::{CloseCode, Command, Event, Message, WebSocket, WsState};

fn payload() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        8 => prop::collection::vec(any::<u8>(), 0..=130),
        1 => prop::collection::vec(any::<u8>(), 65_530..=65_540),
        1 => Just(vec![0x5a; 70_000]),
    ]
}

/// Any frame the rules allow: data frames of any size, control frames final and ≤125 bytes.
fn frame() -> impl Strategy<Value = Frame> {
    let data =
        (prop_oneof![Just(Opcode::Continuation), Just(Opcode::Text), Just(Opcode::Binary)], any::<bool>(), payload());
    let control = (
        prop_oneof![Just(Opcode::Close), Just(Opcode::Ping), Just(Opcode::Pong)],
        Just(true),
        prop::collection::vec(any::<u8>(), 0..=125),
    );
    (prop_oneof![data, control], any::<Option<[u8; 4]>>()).prop_map(|((opcode, fin, payload), mask)| Frame {
        header: FrameHeader { fin, mask, ..FrameHeader::new(opcode, payload.len() as u64) },
        payload,
    })
}

/// Parses a stream fed in the given pieces, as a machine would: buffer, parse, repeat.
fn parse_in_pieces(stream: &[u8], cuts: &[usize]) -> Vec<Frame> {
    let mut points: Vec<usize> = cuts.iter().map(|c| c % (stream.len() + 1)).collect();
    points.push(stream.len());
    points.sort_unstable();
    let (mut buf, mut frames, mut at) = (Vec::new(), Vec::new(), 0);
    for p in points {
        buf.extend_from_slice(&stream[at..p]);
        at = p;
        while let Some((f, n)) = Frame::parse(&buf).expect("our own frames are valid") {
            frames.push(f);
            buf.drain(..n);
        }
    }
    assert!(buf.is_empty());
    frames
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1000, ..ProptestConfig::default() })]

    #[test]
    fn emit_then_parse_gives_the_frame_back(f in frame()) {
        let bytes = f.to_bytes();
        prop_assert_eq!(bytes.len(), f.header.header_len() + f.payload.len());
        let (parsed, n) = Frame::parse(&bytes).expect("valid").expect("complete");
        prop_assert_eq!(n, bytes.len());
        prop_assert_eq!(parsed.to_bytes(), bytes);
        prop_assert_eq!(parsed, f);
    }

    #[test]
    fn a_stream_cut_anywhere_parses_to_the_same_frames(
        frames in prop::collection::vec(frame(), 1..6),
        cuts in prop::collection::vec(any::<usize>(), 0..12),
    ) {
        let stream: Vec<u8> = frames.iter().flat_map(Frame::to_bytes).collect();
        prop_assert_eq!(parse_in_pieces(&stream, &cuts), frames);
    }

    #[test]
    fn any_header_bytes_parse_or_fail_without_panicking(bytes in prop::collection::vec(any::<u8>(), 0..20)) {
        if let Ok(Some((h, n))) = FrameHeader::parse(&bytes) {
            prop_assert_eq!(n, h.header_len());
            let mut again = Vec::new();
            h.emit(&mut again);
            prop_assert_eq!(&again[..], &bytes[..n]);
        }
        let _ = wirelab_ws::wire::annotate(&bytes);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    /// Whatever a hostile client sends, before or after a valid handshake, the server never
    /// panics, and once CLOSED it stays CLOSED.
    #[test]
    fn arbitrary_bytes_never_panic_a_server(
        handshake_first in any::<bool>(),
        chunks in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..64), 0..8),
        masked_garbage in prop::collection::vec(any::<u8>(), 0..64),
    ) {
        let mut p = Pair::new();
        if handshake_first {
            p.client_cmd(Command::Connect);
            p.run();
        }
        // A masked header in front of garbage gets past the masking rule to the deeper checks.
        let mut all = chunks;
        all.push([&[0x81, 0x80 | 20, 1, 2, 3, 4][..], &masked_garbage].concat());
        for c in all {
            let was_closed = p.server.state() == WsState::Closed;
            let _ = p.send_server(&c);
            if was_closed {
                prop_assert_eq!(p.server.state(), WsState::Closed);
            }
            for t in &p.server.sent {
                let _ = WebSocket::annotate(t);
            }
        }
        let mut client = WebSocket::new(client_config());
        let _ = client.handle_input(Instant::ZERO, Input::Command(Command::Connect));
        let _ = client.handle_input(Instant::ZERO, Input::Receive { from: common::SERVER, bytes: &masked_garbage });
        while !matches!(client.poll_output(Instant::ZERO), Output::Idle { .. }) {}
    }

    /// Two of our own machines: every message either side sends arrives whole and in order,
    /// with no protocol error, however the byte stream is cut.
    #[test]
    fn our_own_machines_always_understand_each_other(
        chunk in 1usize..40,
        ops in prop::collection::vec((any::<bool>(), 0u8..4, "[a-zé€ ]{0,30}", 1usize..4), 0..12),
    ) {
        let mut p = Pair::with(client_config(), server_config());
        p.chunk = chunk;
        p.client_cmd(Command::Connect);
        p.run();
        let (mut to_server, mut to_client) = (Vec::new(), Vec::new());
        for (from_client, kind, text, n) in ops {
            let (cmd, expect) = match kind {
                0 => (Command::Text(text.clone()), Some(Event::Message(Message::Text(text)))),
                1 => (Command::Binary(text.clone().into_bytes()), Some(Event::Message(Message::Binary(text.into_bytes())))),
                2 if n <= text.len() => (Command::Fragmented(n, text.clone()), Some(Event::Message(Message::Text(text)))),
                _ => (Command::Ping(text.clone().into_bytes()), None),
            };
            if from_client {
                p.client_cmd(cmd);
                to_server.extend(expect);
            } else {
                p.server_cmd(cmd);
                to_client.extend(expect);
            }
        }
        p.run();
        p.client_cmd(Command::Close(Some(CloseCode::NORMAL), String::new()));
        p.run();
        let data = |events: &[Event]| -> Vec<Event> {
            events.iter().filter(|e| matches!(e, Event::Message(_))).cloned().collect()
        };
        prop_assert!(p.client.errors.is_empty() && p.server.errors.is_empty());
        prop_assert_eq!(data(&p.server.events), to_server);
        prop_assert_eq!(data(&p.client.events), to_client);
        prop_assert_eq!((p.client.state(), p.server.state()), (WsState::Closed, WsState::Closed));
    }
}
