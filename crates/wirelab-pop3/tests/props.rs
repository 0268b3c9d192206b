//! Property tests: byte-stuffing round-trips any message (lines starting with a period, a
//! message holding "\r\n.\r\n"), from the codec alone and from our server to our client;
//! the §10 session cut into random pieces gives the same outputs on both sides; random
//! bytes never make the server panic or send a malformed response; the parsers never
//! panic.
#![cfg(not(target_arch = "wasm32"))]

mod support;

use proptest::prelude::*;
use support::{CLIENT, ClientRun, SERVER, ServerRun, Step, maildrop, transcript};
use wirelab_core::{Input, Instant, Machine, Output, StreamApp};
use wirelab_pop3::{
    ClientConfig, ClientEvent, MessageInfo, Pop3Client, Pop3Server, ServerCommand, ServerConfig, ServerEvent, wire,
};

fn cut<'a>(bytes: &'a [u8], cuts: &[usize]) -> Vec<&'a [u8]> {
    let mut points: Vec<usize> = cuts.iter().map(|c| if bytes.is_empty() { 0 } else { c % bytes.len() }).collect();
    points.push(0);
    points.push(bytes.len());
    points.sort_unstable();
    points.dedup();
    points.windows(2).map(|w| &bytes[w[0]..w[1]]).collect()
}

fn text_line() -> impl Strategy<Value = Vec<u8>> {
    let rest = proptest::collection::vec(any::<u8>().prop_filter("no CR/LF", |b| *b != b'\r' && *b != b'\n'), 0..60);
    (prop_oneof![Just(""), Just("."), Just(".."), Just("...")], rest).prop_map(|(p, r)| {
        let mut l = p.as_bytes().to_vec();
        l.extend(r);
        l
    })
}

fn canonical_message() -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(text_line(), 0..12).prop_map(|lines| {
        let mut m = Vec::new();
        for l in lines {
            m.extend(l);
            m.extend_from_slice(b"\r\n");
        }
        m
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]

    #[test]
    fn byte_stuffing_round_trips_any_canonical_message(m in canonical_message()) {
        let wire = wire::stuff(&m);
        prop_assert_eq!(wire::unstuff(&wire), Some((m.clone(), wire.len())));
    }

    #[test]
    fn byte_stuffing_a_message_holding_the_end_sequence_round_trips(a in canonical_message(), b in canonical_message()) {
        let mut m = a;
        m.extend_from_slice(b".\r\n");
        m.extend(b);
        let wire = wire::stuff(&m);
        prop_assert_eq!(wire::unstuff(&wire), Some((m, wire.len())));
    }

    #[test]
    fn byte_stuffing_any_bytes_round_trip_to_their_canonical_form(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        let wire = wire::stuff(&bytes);
        prop_assert_eq!(wire::unstuff(&wire), Some((wire::canonical(&bytes), wire.len())));
    }

    #[test]
    fn byte_stuffing_round_trips_from_our_server_to_our_client(m in canonical_message()) {
        let mut server = Pop3Server::new(ServerConfig::new(SERVER, "dewey"));
        let mut client = Pop3Client::new(ClientConfig::new(CLIENT, SERVER));
        for c in ["login mrose secret", "RETR 1", "TOP 1 3", "QUIT"] {
            client.handle_input(Instant::ZERO, Input::Command(c.parse().expect("cmd"))).expect("ok");
        }
        client.on_connected(Instant::ZERO).expect("ok");
        server.on_connected(Instant::ZERO).expect("ok");
        let mut events = Vec::new();
        for _ in 0..50 {
            let mut moved = false;
            while let o = server.poll_output(Instant::ZERO) && !matches!(o, Output::Idle { .. }) {
                moved = true;
                match o {
                    Output::Transmit(t) => client.handle_input(Instant::ZERO, Input::Receive { from: SERVER, bytes: &t.bytes }).expect("ok"),
                    Output::Event(ServerEvent::Authenticate { .. }) => server.handle_input(Instant::ZERO, Input::Command(
                        ServerCommand::Maildrop(Ok(vec![MessageInfo { uid: "a".into(), size: m.len() as u64 }])))).expect("ok"),
                    Output::Event(ServerEvent::Fetch { .. }) => server.handle_input(Instant::ZERO, Input::Command(
                        ServerCommand::Message(Ok(m.clone())))).expect("ok"),
                    _ => {}
                }
            }
            while let o = client.poll_output(Instant::ZERO) && !matches!(o, Output::Idle { .. }) {
                moved = true;
                match o {
                    Output::Transmit(t) => server.handle_input(Instant::ZERO, Input::Receive { from: CLIENT, bytes: &t.bytes }).expect("ok"),
                    Output::Event(e) => events.push(e),
                    _ => {}
                }
            }
            if !moved {
                break;
            }
        }
        prop_assert!(events.contains(&ClientEvent::Message { n: 1, content: m.clone() }), "{:?}", events);
        prop_assert!(events.contains(&ClientEvent::Top { n: 1, content: wire::top(&m, 3) }), "{:?}", events);
        prop_assert_eq!(events.last(), Some(&ClientEvent::CloseConnection));
    }
}

const S10: &str = include_str!("transcripts/rfc1939_s10.txt");

fn sides() -> (Vec<u8>, Vec<u8>) {
    let messages: Vec<Vec<u8>> = maildrop().into_iter().map(|(_, m)| m).collect();
    let (mut c, mut s) = (Vec::new(), Vec::new());
    for step in transcript(S10, &messages) {
        match step {
            Step::Client(b) => c.extend(b),
            Step::Server(b) => s.extend(b),
            _ => {}
        }
    }
    (c, s)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn split_input_the_server_gives_the_same_outputs(cuts in proptest::collection::vec(any::<usize>(), 0..30)) {
        let (client_bytes, _) = sides();
        let run = |pieces: &[&[u8]]| {
            let mut r = ServerRun::new();
            r.open();
            for p in pieces {
                r.feed(p);
            }
            (r.sent, r.events)
        };
        let whole = run(&[&client_bytes]);
        prop_assert_eq!(run(&cut(&client_bytes, &cuts)), whole);
    }

    #[test]
    fn split_input_the_client_gives_the_same_outputs(cuts in proptest::collection::vec(any::<usize>(), 0..30)) {
        let (_, server_bytes) = sides();
        let run = |pieces: &[&[u8]]| {
            let mut c = ClientRun::new();
            for cmd in ["apop mrose tanstaaf", "STAT", "LIST", "RETR 1", "DELE 1", "RETR 2", "DELE 2", "QUIT"] {
                c.command(cmd);
            }
            c.connect();
            for p in pieces {
                c.feed(p);
            }
            (c.sent, c.events)
        };
        let whole = run(&[&server_bytes]);
        prop_assert_eq!(run(&cut(&server_bytes, &cuts)), whole);
    }
}

fn pop3_ish() -> impl Strategy<Value = Vec<u8>> {
    let piece = prop_oneof![
        Just(b"USER mrose".to_vec()),
        Just(b"PASS secret".to_vec()),
        Just(b"APOP mrose c4c9334bac560ecc979e58001b3e22fb".to_vec()),
        Just(b"STAT".to_vec()),
        Just(b"LIST".to_vec()),
        Just(b"RETR ".to_vec()),
        Just(b"DELE ".to_vec()),
        Just(b"TOP 1 ".to_vec()),
        Just(b"UIDL".to_vec()),
        Just(b"RSET".to_vec()),
        Just(b"QUIT".to_vec()),
        Just(b"1".to_vec()),
        Just(b"2".to_vec()),
        Just(b" ".to_vec()),
        Just(b"\r\n".to_vec()),
        Just(b"\n".to_vec()),
        proptest::collection::vec(any::<u8>(), 1..8),
    ];
    proptest::collection::vec(piece, 0..60).prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    #[test]
    fn arbitrary_bytes_never_panic_the_server_and_every_response_is_well_formed(
        bytes in prop_oneof![pop3_ish(), proptest::collection::vec(any::<u8>(), 0..600)],
        cuts in proptest::collection::vec(any::<usize>(), 0..8),
        eof in any::<bool>(),
    ) {
        let mut run = ServerRun::new();
        run.open();
        let check = |sent: &[u8]| -> Result<(), TestCaseError> {
            // Each response: a status line, and for a multi-line one, its lines and the end.
            let first = sent.windows(2).position(|w| w == b"\r\n").map(|i| &sent[..i]);
            prop_assert!(first.is_some_and(|l| wire::parse_status(l).is_ok()), "{:?}", String::from_utf8_lossy(sent));
            prop_assert!(sent.ends_with(b"\r\n"));
            if first.is_some_and(|l| l.len() + 2 < sent.len()) {
                prop_assert!(sent.ends_with(b"\r\n.\r\n"));
                let after = first.map_or(0, |l| l.len() + 2);
                prop_assert!(wire::unstuff(&sent[after..]).is_some_and(|(_, n)| after + n == sent.len()));
            }
            prop_assert!(Pop3Server::annotate(sent).error.is_none(), "{:?}", Pop3Server::annotate(sent));
            Ok(())
        };
        let mut responses = Vec::new();
        for piece in cut(&bytes, &cuts) {
            run.server.handle_input(Instant::ZERO, Input::Receive { from: CLIENT, bytes: piece }).expect("never an error");
            // Pull transmits one by one to check each response separately.
            loop {
                match run.server.poll_output(Instant::ZERO) {
                    Output::Transmit(t) => responses.push(t.bytes),
                    Output::Event(ServerEvent::Authenticate { .. }) => run.server.handle_input(Instant::ZERO, Input::Command(
                        ServerCommand::Maildrop(Ok(maildrop().into_iter().map(|(i, _)| i).collect())))).expect("ok"),
                    Output::Event(ServerEvent::Fetch { n, .. }) => run.server.handle_input(Instant::ZERO, Input::Command(
                        ServerCommand::Message(Ok(maildrop()[n as usize - 1].1.clone())))).expect("ok"),
                    Output::Event(ServerEvent::Delete { .. }) => run.server.handle_input(Instant::ZERO, Input::Command(
                        ServerCommand::Deleted(Ok(())))).expect("ok"),
                    Output::Idle { .. } => break,
                    _ => {}
                }
            }
        }
        if eof {
            run.server.on_peer_closed(Instant::ZERO).expect("ok");
        }
        for r in &responses {
            check(r)?;
        }
    }

    #[test]
    fn the_parsers_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400), multi in any::<bool>(), n in 0u32..20) {
        let _ = wire::parse_command(&bytes);
        let _ = wire::parse_status(&bytes);
        let _ = wire::parse_response(&bytes, multi);
        let _ = wire::unstuff(&bytes);
        let _ = wire::top(&bytes, n);
        let _ = Pop3Server::annotate(&bytes);
    }
}
