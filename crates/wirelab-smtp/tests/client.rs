//! The client against scripted server replies: the fall-back from EHLO to HELO (RFC 5321
//! §3.2), what it declares with SIZE and BODY (RFC 1870, RFC 6152) and what it refuses to
//! send, a transaction where every recipient is refused (RSET), a 421, a malformed reply,
//! and `raw` commands.

mod support;

use support::{CLIENT, ClientRun, SERVER};
use wirelab_core::{Input, Instant, Machine};
use wirelab_smtp::{ClientConfig, ClientEvent, ClientState, SmtpError};

fn client() -> ClientRun {
    let mut run = ClientRun::new(ClientConfig::new(CLIENT, SERVER, "bar.com"));
    run.connect();
    run
}

fn take(run: &mut ClientRun) -> String {
    String::from_utf8_lossy(&std::mem::take(&mut run.sent)).into_owned()
}

fn ready_esmtp(run: &mut ClientRun, extensions: &str) {
    run.feed(b"220 foo.com ready\r\n");
    assert_eq!(take(run), "EHLO bar.com\r\n");
    run.feed(format!("250-foo.com greets bar.com\r\n{extensions}").as_bytes());
    assert_eq!(run.client.state(), ClientState::Ready);
}

fn failures(run: &ClientRun) -> Vec<String> {
    run.events
        .iter()
        .filter_map(|e| match e {
            ClientEvent::Failed { reason, .. } => Some(reason.clone()),
            _ => None,
        })
        .collect()
}

#[test]
fn test_ehlo_refused_falls_back_to_helo_and_sends_no_parameters() {
    let mut run = client();
    run.command("send-raw a@bar.com b@foo.com hi\\r\\n");
    run.feed(b"220 old.example ready\r\n");
    assert_eq!(take(&mut run), "EHLO bar.com\r\n");
    run.feed(b"500 Syntax error, command unrecognized\r\n");
    assert_eq!(take(&mut run), "HELO bar.com\r\n");
    run.feed(b"250 old.example\r\n");
    // No extensions: MAIL FROM without SIZE or BODY.
    assert_eq!(take(&mut run), "MAIL FROM:<a@bar.com>\r\n");
    assert!(run.events.contains(&ClientEvent::Ready { esmtp: false, extensions: vec![] }));
}

#[test]
fn test_ready_size_and_body_are_declared_when_offered() {
    let mut run = client();
    ready_esmtp(&mut run, "250-8BITMIME\r\n250 SIZE 1000\r\n");
    run.command("send-raw a@bar.com b@foo.com caf\u{e9}\\r\\n");
    // "café" is 5 octets in UTF-8, plus CRLF.
    assert_eq!(take(&mut run), "MAIL FROM:<a@bar.com> SIZE=7 BODY=8BITMIME\r\n");
}

#[test]
fn test_ready_messages_the_server_cannot_take_are_not_sent() {
    let mut run = client();
    ready_esmtp(&mut run, "250 SIZE 10\r\n");
    // Too big for SIZE 10 (RFC 1870 §6), 8-bit without 8BITMIME (RFC 6152 §3), a line
    // over 1000 octets (RFC 5321 §4.5.3.1.6).
    run.command("send-raw a@bar.com b@foo.com 0123456789\\r\\n");
    run.command("send-raw a@bar.com b@foo.com \u{e9}\\r\\n");
    let long = "x".repeat(999);
    run.command(&format!("send-raw a@bar.com b@foo.com {long}"));
    assert_eq!(take(&mut run), "");
    assert_eq!(
        failures(&run),
        [
            "12 octets, more than the server's SIZE 10",
            "the content has 8-bit octets and the server does not offer 8BITMIME",
            "a line of the content is longer than 1000 octets (RFC 5321 §4.5.3.1.6)",
        ]
    );
    assert_eq!(run.client.state(), ClientState::Ready);
}

#[test]
fn test_rcpt_every_recipient_refused_means_rset_and_no_data() {
    let mut run = client();
    ready_esmtp(&mut run, "250 HELP\r\n");
    run.command("send-raw a@bar.com x@foo.com,y@foo.com hi");
    assert_eq!(take(&mut run), "MAIL FROM:<a@bar.com>\r\n");
    run.feed(b"250 OK\r\n");
    assert_eq!(take(&mut run), "RCPT TO:<x@foo.com>\r\n");
    run.feed(b"550 No such user here\r\n");
    assert_eq!(take(&mut run), "RCPT TO:<y@foo.com>\r\n");
    run.feed(b"450 mailbox busy\r\n");
    assert_eq!(take(&mut run), "RSET\r\n");
    run.feed(b"250 OK\r\n");
    assert_eq!(failures(&run), ["every recipient was refused"]);
    // The last refusal goes along: a 4yz there means "try again later".
    let codes: Vec<u16> = run
        .events
        .iter()
        .filter_map(|e| match e {
            ClientEvent::Failed { reply: Some(r), .. } => Some(r.code),
            _ => None,
        })
        .collect();
    assert_eq!(codes, [450]);
    assert_eq!(run.client.state(), ClientState::Ready);
}

#[test]
fn test_content_refused_after_the_data_is_a_failure() {
    let mut run = client();
    ready_esmtp(&mut run, "250 HELP\r\n");
    run.command("send-raw a@bar.com x@foo.com .hidden\\r\\n");
    run.feed(b"250 OK\r\n250 OK\r\n");
    assert_eq!(take(&mut run), "MAIL FROM:<a@bar.com>\r\nRCPT TO:<x@foo.com>\r\nDATA\r\n");
    run.feed(b"354 go ahead\r\n");
    // The leading period is doubled (RFC 5321 §4.5.2).
    assert_eq!(take(&mut run), "..hidden\r\n.\r\n");
    run.feed(b"552 Too much mail data\r\n");
    assert_eq!(failures(&run), ["the content was refused: 552 Too much mail data"]);
}

#[test]
fn test_any_state_421_closes_and_a_malformed_reply_is_a_protocol_error() {
    let mut run = client();
    run.command("send-raw a@bar.com x@foo.com hi");
    run.feed(b"220 foo.com ready\r\n250 foo.com\r\n");
    assert_eq!(run.client.state(), ClientState::Mail);
    run.feed(b"421 foo.com Service not available, closing transmission channel\r\n");
    assert_eq!(run.client.state(), ClientState::Closed);
    assert_eq!(failures(&run), ["the session ended first"]);
    assert_eq!(run.events.last(), Some(&ClientEvent::CloseConnection));
    assert_eq!(
        run.client.handle_input(Instant::ZERO, Input::Command("quit".parse().expect("cmd"))),
        Err(SmtpError::Closed)
    );

    let mut run = client();
    run.feed(b"hello there\r\n");
    assert!(matches!(run.events.first(), Some(ClientEvent::ProtocolError(_))));
    assert_eq!(run.client.state(), ClientState::Closed);
}

#[test]
fn test_ready_raw_commands_and_their_replies() {
    let mut run = client();
    ready_esmtp(&mut run, "250 HELP\r\n");
    run.command("raw VRFY Smith");
    run.command("raw NOOP");
    assert_eq!(take(&mut run), "VRFY Smith\r\n", "one at a time");
    run.feed(b"252 Cannot VRFY user\r\n");
    assert_eq!(take(&mut run), "NOOP\r\n");
    run.feed(b"250 OK\r\n");
    let replies: Vec<u16> = run
        .events
        .iter()
        .filter_map(|e| match e {
            ClientEvent::Reply(r) => Some(r.code),
            _ => None,
        })
        .collect();
    assert_eq!(replies, [252, 250]);
}

#[test]
fn test_greeting_554_means_quit() {
    let mut run = client();
    run.feed(b"554 No SMTP service here\r\n");
    assert_eq!(take(&mut run), "QUIT\r\n");
    run.feed(b"221 bye\r\n");
    assert_eq!(run.client.state(), ClientState::Closed);
}

#[test]
fn test_send_composes_a_message_with_fields() {
    let mut run = client();
    ready_esmtp(&mut run, "250 HELP\r\n");
    run.command("send ann@bar.com bob@foo.com \"Lunch plans\" Noon?\\n.see you");
    run.feed(b"250 OK\r\n250 OK\r\n354 go\r\n");
    let sent = take(&mut run);
    assert_eq!(
        sent,
        "MAIL FROM:<ann@bar.com>\r\nRCPT TO:<bob@foo.com>\r\nDATA\r\n\
         From: <ann@bar.com>\r\nTo: <bob@foo.com>\r\nSubject: Lunch plans\r\nDate: Thu, 1 Jan 2026 00:00:00 +0000\r\n\r\n\
         Noon?\r\n..see you\r\n.\r\n"
    );
}
