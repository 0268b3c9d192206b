//! The RFC's own example sessions, played against both our server and our client:
//! RFC 5321 Appendix D.1 (a typical transaction) and D.2 (an aborted one).
//!
//! Against the server: the client's lines go in, and each reply that comes out must be
//! the transcript's. Host names are the RFC's (the server is configured as `foo.com`), so
//! the texts compare exactly, except for one documented difference in the EHLO reply:
//! the RFC's server offers DSN (RFC 3461), ours does not, and ours gives SIZE its limit
//! (`SIZE 10485760`, RFC 1870 §4). Against the client: the server's lines go in, and
//! what the client sends must be the transcript's client lines, byte for byte.

mod support;

use support::{ClientRun, SERVER, Said, ServerRun, foo_com, replies, transcript, turns};
use wirelab_core::Machine;
use wirelab_smtp::{
    ClientCommand, ClientConfig, ClientEvent, ClientState, ForwardPath, Mailbox, RecipientPolicy, Reply, ReversePath,
    ServerEvent, ServerState,
};

const D1: &str = include_str!("transcripts/rfc5321_d1.txt");
const D2: &str = include_str!("transcripts/rfc5321_d2.txt");

/// Extension keywords the RFC's server offers and ours does not.
const NOT_OFFERED: [&str; 1] = ["DSN"];

/// Whether our reply says what the transcript's says (see the module documentation).
fn same_reply(ours: &Reply, theirs: &Reply) -> bool {
    if ours.code != theirs.code || ours.lines[0] != theirs.lines[0] {
        return false;
    }
    let keyword = |l: &String| l.split(' ').next().unwrap_or_default().to_ascii_uppercase();
    if theirs.lines.len() > 1 && theirs.lines[0].contains(" greets ") {
        // The EHLO reply: every keyword the RFC lists that we implement, and no others.
        let mut want: Vec<String> =
            theirs.lines[1..].iter().map(keyword).filter(|k| !NOT_OFFERED.contains(&k.as_str())).collect();
        let mut got: Vec<String> = ours.lines[1..].iter().map(keyword).collect();
        want.sort();
        got.sort();
        return want == got;
    }
    ours.lines == theirs.lines
}

/// Plays the client's side of a transcript into our server; returns what it did.
fn play_server(text: &str) -> ServerRun {
    let mut config = foo_com();
    // "Green does not have a mailbox at host foo.com."
    config.recipients = RecipientPolicy::Known(vec!["Jones".into(), "Brown".into(), "Smith".into()]);
    let mut run = ServerRun::new(config);
    for (i, (server, bytes)) in turns(&transcript(text)).into_iter().enumerate() {
        if server {
            let got = run.take_sent();
            let (ours, theirs) = (replies(&got), replies(&bytes));
            assert_eq!(ours.len(), theirs.len(), "turn {i}: {}", String::from_utf8_lossy(&got));
            for (o, t) in ours.iter().zip(&theirs) {
                assert!(same_reply(o, t), "turn {i}: ours {o:?}, the RFC's {t:?}");
            }
        } else {
            run.feed(&bytes);
        }
    }
    assert!(run.take_sent().is_empty());
    run
}

#[test]
fn rfc5321_d1_against_our_server() {
    let run = play_server(D1);
    assert!(run.closed);
    assert_eq!(run.server.state(), ServerState::Closed);
    // One message, for Jones and Brown, with the stuffed period removed.
    let delivered: Vec<&ServerEvent> = run.events.iter().filter(|e| matches!(e, ServerEvent::Deliver { .. })).collect();
    let [ServerEvent::Deliver { envelope, data }] = delivered.as_slice() else { panic!("{:?}", run.events) };
    let mb = |s: &str| Mailbox::parse(s).expect("mailbox");
    assert_eq!(envelope.from, ReversePath::Mailbox(mb("Smith@bar.com")));
    let to: Vec<&ForwardPath> = envelope.local_recipients().collect();
    assert_eq!(to, [&ForwardPath::Mailbox(mb("Jones@foo.com")), &ForwardPath::Mailbox(mb("Brown@foo.com"))]);
    assert_eq!(envelope.helo, "bar.com");
    assert!(envelope.esmtp);
    let text = String::from_utf8_lossy(data);
    assert!(
        text.starts_with("Received: from bar.com ([192.0.2.10])\r\n\tby foo.com (wirelab) with ESMTP;\r\n\t"),
        "{text}"
    );
    assert!(text.ends_with("\r\nBlah blah blah...\r\n..etc. etc. etc.\r\n"), "{text}");
}

#[test]
fn rfc5321_d2_against_our_server() {
    let run = play_server(D2);
    assert!(run.closed);
    assert!(!run.events.iter().any(|e| matches!(e, ServerEvent::Deliver { .. })));
    assert!(run.events.contains(&ServerEvent::Aborted { reason: "RSET" }));
}

#[test]
fn rfc5321_d1_against_our_client() {
    let lines = transcript(D1);
    let mut config = ClientConfig::new(support::CLIENT, SERVER, "bar.com");
    // The RFC's client declares no SIZE, though the server offers it (RFC 1870 says "may").
    config.declare_size = false;
    let mut run = ClientRun::new(config);
    let mb = |s: &str| Mailbox::parse(s).expect("mailbox");
    // The text Smith wrote: its second line starts with two periods, which go on the
    // wire as three (RFC 5321 §4.5.2).
    run.client
        .handle_input(
            wirelab_core::Instant::ZERO,
            wirelab_core::Input::Command(ClientCommand::SendRaw {
                from: ReversePath::Mailbox(mb("Smith@bar.com")),
                to: ["Jones@foo.com", "Green@foo.com", "Brown@foo.com"]
                    .iter()
                    .map(|s| ForwardPath::Mailbox(mb(s)))
                    .collect(),
                content: b"Blah blah blah...\r\n..etc. etc. etc.\r\n".to_vec(),
            }),
        )
        .expect("queued");
    run.command("quit");
    run.connect();
    assert!(run.sent.is_empty(), "the client waits for the greeting");
    for (i, (server, bytes)) in turns(&lines).into_iter().enumerate() {
        if server {
            run.feed(&bytes);
        } else {
            let n = bytes.len().min(run.sent.len());
            let got: Vec<u8> = run.sent.drain(..n).collect();
            assert_eq!(String::from_utf8_lossy(&got), String::from_utf8_lossy(&bytes), "turn {i}");
        }
    }
    assert!(run.sent.is_empty(), "sent more: {}", String::from_utf8_lossy(&run.sent));
    assert_eq!(run.client.state(), ClientState::Closed);
    let sent: Vec<&ClientEvent> = run.events.iter().filter(|e| matches!(e, ClientEvent::Sent { .. })).collect();
    let [ClientEvent::Sent { accepted, refused, .. }] = sent.as_slice() else { panic!("{:?}", run.events) };
    assert_eq!(accepted.len(), 2);
    assert_eq!(refused.len(), 1);
    assert_eq!(refused[0].1.code, 550);
    assert_eq!(run.events.last(), Some(&ClientEvent::CloseConnection));
}

#[test]
fn the_transcripts_alternate_and_end_with_the_server() {
    for t in [D1, D2] {
        let lines = transcript(t);
        assert!(matches!(lines.first(), Some(Said::Server(_))));
        assert!(matches!(lines.last(), Some(Said::Server(_))));
    }
}
