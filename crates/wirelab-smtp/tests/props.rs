//! Property tests: dot-stuffing round-trips any body (lines starting with a period, a
//! body holding "\r\n.\r\n"), from the codec alone and through our client and server;
//! the same session cut into random pieces gives the same outputs; random bytes never
//! make the server panic or send a malformed reply; the parsers never panic.
#![cfg(not(target_arch = "wasm32"))]

mod support;

use proptest::prelude::*;
use support::{CLIENT, SERVER, ServerRun, foo_com, transcript, turns};
use wirelab_core::{Input, Instant, Machine, Output, StreamApp};
use wirelab_smtp::{
    ClientCommand, ClientConfig, ClientEvent, ForwardPath, Mailbox, ReversePath, ServerEvent, SmtpClient, SmtpServer,
    data, wire,
};

/// `bytes` cut at the given points (taken modulo its length), in order.
fn cut<'a>(bytes: &'a [u8], cuts: &[usize]) -> Vec<&'a [u8]> {
    let mut points: Vec<usize> = cuts.iter().map(|c| if bytes.is_empty() { 0 } else { c % bytes.len() }).collect();
    points.push(0);
    points.push(bytes.len());
    points.sort_unstable();
    points.dedup();
    points.windows(2).map(|w| &bytes[w[0]..w[1]]).collect()
}

/// One line of text, no CR or LF, often starting with one or more periods.
fn text_line(max: usize) -> impl Strategy<Value = Vec<u8>> {
    let any = proptest::collection::vec(any::<u8>().prop_filter("no CR/LF", |b| *b != b'\r' && *b != b'\n'), 0..max);
    (prop_oneof![Just(""), Just("."), Just(".."), Just("...")], any).prop_map(|(p, rest)| {
        let mut l = p.as_bytes().to_vec();
        l.extend(rest);
        l
    })
}

/// A body in canonical form: lines each ended by CRLF.
fn canonical_body(max_line: usize) -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(text_line(max_line), 0..12).prop_map(|lines| {
        let mut b = Vec::new();
        for l in lines {
            b.extend(l);
            b.extend_from_slice(b"\r\n");
        }
        b
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]

    #[test]
    fn dot_stuffing_round_trips_any_canonical_body(body in canonical_body(80)) {
        let wire = data::encode(&body);
        prop_assert_eq!(data::decode(&wire), Some((body.clone(), wire.len())));
        prop_assert_eq!(data::canonical(&body), body);
    }

    #[test]
    fn dot_stuffing_a_body_holding_the_end_sequence_round_trips(a in canonical_body(20), b in canonical_body(20)) {
        let mut body = a;
        body.extend_from_slice(b".\r\n");
        body.extend(b);
        // The body holds CRLF "." CRLF (or starts with "." CRLF).
        prop_assert!(body.starts_with(b".\r\n") || body.windows(5).any(|w| w == b"\r\n.\r\n"));
        let wire = data::encode(&body);
        prop_assert_eq!(data::decode(&wire), Some((body, wire.len())));
    }

    #[test]
    fn dot_stuffing_any_bytes_round_trip_to_their_canonical_form(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        let wire = data::encode(&bytes);
        let canonical = data::canonical(&bytes);
        prop_assert_eq!(data::canonical(&canonical), canonical.clone());
        prop_assert_eq!(data::decode(&wire), Some((canonical, wire.len())));
    }
}

/// Runs our client against our server in memory until both are idle; returns the
/// content delivered (without the Received field) and the client's events.
fn client_to_server(content: Vec<u8>) -> (Vec<Vec<u8>>, Vec<ClientEvent>) {
    let mut server = SmtpServer::new(foo_com());
    let mut client = SmtpClient::new(ClientConfig::new(CLIENT, SERVER, "bar.com"));
    let mb = |s: &str| Mailbox::parse(s).expect("mailbox");
    let send = ClientCommand::SendRaw {
        from: ReversePath::Mailbox(mb("Smith@bar.com")),
        to: vec![ForwardPath::Mailbox(mb("Jones@foo.com"))],
        content,
    };
    client.handle_input(Instant::ZERO, Input::Command(send)).expect("queued");
    client.handle_input(Instant::ZERO, Input::Command(ClientCommand::Quit)).expect("queued");
    client.on_connected(Instant::ZERO).expect("ok");
    server.on_connected(Instant::ZERO).expect("ok");
    let (mut delivered, mut events) = (Vec::new(), Vec::new());
    for _ in 0..100 {
        let mut moved = false;
        while let o = server.poll_output(Instant::ZERO)
            && !matches!(o, Output::Idle { .. })
        {
            moved = true;
            match o {
                Output::Transmit(t) => {
                    client.handle_input(Instant::ZERO, Input::Receive { from: SERVER, bytes: &t.bytes }).expect("ok")
                }
                Output::Event(ServerEvent::Deliver { data, .. }) => {
                    let text = String::from_utf8_lossy(&data);
                    let end = text.find("+0000\r\n").expect("a Received field") + 7;
                    delivered.push(data[end..].to_vec());
                    server.handle_input(Instant::ZERO, Input::Command("stored 1".parse().expect("cmd"))).expect("ok");
                }
                _ => {}
            }
        }
        while let o = client.poll_output(Instant::ZERO)
            && !matches!(o, Output::Idle { .. })
        {
            moved = true;
            match o {
                Output::Transmit(t) => {
                    server.handle_input(Instant::ZERO, Input::Receive { from: CLIENT, bytes: &t.bytes }).expect("ok")
                }
                Output::Event(e) => events.push(e),
                _ => {}
            }
        }
        if !moved {
            break;
        }
    }
    (delivered, events)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn dot_stuffing_round_trips_through_our_client_and_server(body in canonical_body(200)) {
        let (delivered, events) = client_to_server(body.clone());
        prop_assert_eq!(delivered, vec![body]);
        let sent = events.iter().any(|e| matches!(e, ClientEvent::Sent { .. }));
        prop_assert!(sent, "{:?}", events);
        prop_assert_eq!(events.last(), Some(&ClientEvent::CloseConnection));
    }
}

const D1: &str = include_str!("transcripts/rfc5321_d1.txt");

/// The D.1 session's client bytes, with a pipelined tail, fed to a server in pieces:
/// everything the server sends and every event.
fn server_outputs(pieces: &[&[u8]]) -> (Vec<u8>, Vec<String>) {
    let mut run = ServerRun::new(foo_com());
    for p in pieces {
        run.feed(p);
    }
    (run.sent, run.events.iter().map(ToString::to_string).collect())
}

fn client_side(lines: &[support::Said]) -> Vec<u8> {
    turns(lines).into_iter().filter(|(server, _)| !server).flat_map(|(_, b)| b).collect()
}

fn server_side(lines: &[support::Said]) -> Vec<u8> {
    turns(lines).into_iter().filter(|(server, _)| *server).flat_map(|(_, b)| b).collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn split_input_the_server_gives_the_same_outputs(cuts in proptest::collection::vec(any::<usize>(), 0..30)) {
        let stream = client_side(&transcript(D1));
        let whole = server_outputs(&[&stream]);
        prop_assert_eq!(server_outputs(&cut(&stream, &cuts)), whole);
    }

    #[test]
    fn split_input_the_client_gives_the_same_outputs(cuts in proptest::collection::vec(any::<usize>(), 0..30)) {
        let stream = server_side(&transcript(D1));
        let run = |pieces: &[&[u8]]| {
            let mut c = support::ClientRun::new(ClientConfig::new(CLIENT, SERVER, "bar.com"));
            c.command("send-raw Smith@bar.com Jones@foo.com,Green@foo.com,Brown@foo.com Hello\\r\\n..dots\\r\\n");
            c.command("quit");
            c.connect();
            for p in pieces {
                c.feed(p);
            }
            (c.sent, c.events)
        };
        let whole = run(&[&stream]);
        prop_assert_eq!(run(&cut(&stream, &cuts)), whole);
    }
}

/// Bytes that look a little like SMTP, so fuzzing gets past the verbs.
fn smtp_ish() -> impl Strategy<Value = Vec<u8>> {
    let piece = prop_oneof![
        Just(b"EHLO bar.com".to_vec()),
        Just(b"HELO x".to_vec()),
        Just(b"MAIL FROM:<a@b.c>".to_vec()),
        Just(b"MAIL FROM:<>".to_vec()),
        Just(b" SIZE=".to_vec()),
        Just(b" BODY=8BITMIME".to_vec()),
        Just(b"RCPT TO:<x@foo.com>".to_vec()),
        Just(b"RCPT TO:<Postmaster>".to_vec()),
        Just(b"DATA".to_vec()),
        Just(b"RSET".to_vec()),
        Just(b"QUIT".to_vec()),
        Just(b"NOOP".to_vec()),
        Just(b"\r\n".to_vec()),
        Just(b"\r\n.\r\n".to_vec()),
        Just(b".".to_vec()),
        Just(b"\n".to_vec()),
        Just(b"<".to_vec()),
        Just(b"@".to_vec()),
        proptest::collection::vec(any::<u8>(), 1..8),
    ];
    proptest::collection::vec(piece, 0..60).prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    #[test]
    fn arbitrary_bytes_never_panic_the_server_and_every_reply_is_well_formed(
        bytes in prop_oneof![smtp_ish(), proptest::collection::vec(any::<u8>(), 0..600)],
        cuts in proptest::collection::vec(any::<usize>(), 0..8),
        eof in any::<bool>(),
    ) {
        let mut s = SmtpServer::new(foo_com());
        s.on_connected(Instant::ZERO).expect("ok");
        let check = |s: &mut SmtpServer| -> Result<(), TestCaseError> {
            while let o = s.poll_output(Instant::ZERO)
                && !matches!(o, Output::Idle { .. })
            {
                match o {
                    Output::Transmit(t) => {
                        // Whole replies, each line CRLF-ended, at most 512 octets.
                        let mut rest = &t.bytes[..];
                        while !rest.is_empty() {
                            let parsed = wire::parse_reply(rest);
                            prop_assert!(matches!(parsed, Ok(Some(_))), "{:?}: {:?}", parsed, String::from_utf8_lossy(&t.bytes));
                            let Ok(Some((_, n))) = parsed else { break };
                            rest = &rest[n..];
                        }
                        for line in t.bytes.split_inclusive(|&b| b == b'\n') {
                            prop_assert!(line.ends_with(b"\r\n") && line.len() <= wire::MAX_REPLY_LINE);
                        }
                        prop_assert!(SmtpServer::annotate(&t.bytes).error.is_none());
                    }
                    Output::Event(ServerEvent::Deliver { .. }) => {
                        s.handle_input(Instant::ZERO, Input::Command("stored 1".parse().expect("cmd"))).expect("ok");
                    }
                    _ => {}
                }
            }
            Ok(())
        };
        for piece in cut(&bytes, &cuts) {
            s.handle_input(Instant::ZERO, Input::Receive { from: CLIENT, bytes: piece }).expect("never an error");
            check(&mut s)?;
        }
        if eof {
            s.on_peer_closed(Instant::ZERO).expect("ok");
            check(&mut s)?;
        }
    }

    #[test]
    fn the_parsers_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        let _ = wire::parse_command(&bytes);
        let _ = wire::parse_reply(&bytes);
        let _ = wire::parse_reply_line(&bytes);
        let _ = data::decode(&bytes);
        let _ = data::encode(&bytes);
        let _ = SmtpServer::annotate(&bytes);
        let _ = Mailbox::parse(&String::from_utf8_lossy(&bytes));
    }
}
