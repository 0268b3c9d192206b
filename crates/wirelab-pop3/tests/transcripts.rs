//! RFC 1939 §10's example session, played against both our server and our client.
//!
//! Against the server: the client's lines go in (the APOP digest is the RFC's own, for
//! the secret "tanstaaf" of §7), and what comes out must be the transcript's server
//! lines, byte for byte, with the two messages in place of "<the POP3 server sends
//! message N>". The server's name is `dewey`, as in the RFC's sign-off. Against the
//! client: the server's lines go in, and the client must send exactly the transcript's
//! client lines, computing the same APOP digest from the greeting's timestamp.

mod support;

use support::{ClientRun, ServerRun, Step, maildrop, transcript};
use wirelab_core::Machine;
use wirelab_pop3::{ClientEvent, ClientState, ServerEvent, ServerState};

const S10: &str = include_str!("transcripts/rfc1939_s10.txt");

fn messages() -> Vec<Vec<u8>> {
    maildrop().into_iter().map(|(_, m)| m).collect()
}

#[test]
fn rfc1939_s10_against_our_server() {
    let mut run = ServerRun::new();
    for (i, step) in transcript(S10, &messages()).into_iter().enumerate() {
        match step {
            Step::Open => run.open(),
            Step::Client(bytes) => run.feed(&bytes),
            Step::Server(bytes) => {
                let got = run.take_sent();
                assert_eq!(String::from_utf8_lossy(&got), String::from_utf8_lossy(&bytes), "step {i}");
            }
            Step::Close => assert!(run.closed, "the server closes after QUIT"),
        }
    }
    assert_eq!(run.server.state(), ServerState::Closed);
    // The deletions happened in UPDATE, after QUIT, and the +OK waited for them.
    let deletes: Vec<&ServerEvent> = run.events.iter().filter(|e| matches!(e, ServerEvent::Delete { .. })).collect();
    assert_eq!(deletes.len(), 1);
    assert_eq!(run.removed, ["whqtswO00WBw418f9t5JxYwZ", "QhdPYR:00WBw1Ph7x7"]);
}

#[test]
fn rfc1939_s10_against_our_client() {
    let mut run = ClientRun::new();
    for c in ["apop mrose tanstaaf", "STAT", "LIST", "RETR 1", "DELE 1", "RETR 2", "DELE 2", "QUIT"] {
        run.command(c);
    }
    for (i, step) in transcript(S10, &messages()).into_iter().enumerate() {
        match step {
            Step::Open => {
                run.connect();
                assert!(run.sent.is_empty(), "the client waits for the greeting");
            }
            Step::Server(bytes) => run.feed(&bytes),
            Step::Client(bytes) => {
                let n = bytes.len().min(run.sent.len());
                let got: Vec<u8> = run.sent.drain(..n).collect();
                assert_eq!(String::from_utf8_lossy(&got), String::from_utf8_lossy(&bytes), "step {i}");
            }
            Step::Close => assert_eq!(run.client.state(), ClientState::Closed),
        }
    }
    assert!(run.sent.is_empty(), "sent more: {}", String::from_utf8_lossy(&run.sent));
    let m = messages();
    assert!(run.events.contains(&ClientEvent::Stat { count: 2, size: 320 }));
    assert!(run.events.contains(&ClientEvent::Listing(vec![(1, 120), (2, 200)])));
    // The messages arrive unstuffed, exactly as stored.
    assert!(run.events.contains(&ClientEvent::Message { n: 1, content: m[0].clone() }));
    assert!(run.events.contains(&ClientEvent::Message { n: 2, content: m[1].clone() }));
    assert_eq!(
        run.events.first(),
        Some(&ClientEvent::Greeting {
            text: "POP3 server ready <1896.697170952@dbc.mtview.ca.us>".into(),
            timestamp: Some("<1896.697170952@dbc.mtview.ca.us>".into())
        })
    );
    assert_eq!(run.events.last(), Some(&ClientEvent::CloseConnection));
}

#[test]
fn the_messages_have_the_sizes_of_the_listing() {
    let m = messages();
    assert_eq!((m[0].len(), m[1].len()), (120, 200));
}
