//! The server's limits and its conversation with the driver: the size and recipient
//! limits (RFC 1870, RFC 5321 §4.5.3.1), the 250 that waits for the message to be stored
//! (§6.1), the store failures' codes, recipients checked by the driver, relaying, and a
//! connection that drops before the end: nothing is delivered.

mod support;

use support::{CLIENT, ServerRun, codes, foo_com};
use wirelab_core::{Input, Instant, Machine, Output};
use wirelab_smtp::{
    ForwardPath, RecipientPolicy, ServerCommand, ServerEvent, ServerState, SmtpError, SmtpServer, StoreError,
};

fn deliveries(run: &ServerRun) -> Vec<(wirelab_smtp::Envelope, Vec<u8>)> {
    run.events
        .iter()
        .filter_map(|e| match e {
            ServerEvent::Deliver { envelope, data } => Some((envelope.clone(), data.clone())),
            _ => None,
        })
        .collect()
}

fn begin(run: &mut ServerRun) {
    run.line("EHLO bar.com");
    run.line("MAIL FROM:<Smith@bar.com>");
    run.take_sent();
}

#[test]
fn test_rcpt_recipient_limit_is_452_and_the_rest_is_delivered() {
    let mut config = foo_com();
    config.max_recipients = 3;
    let mut run = ServerRun::new(config);
    begin(&mut run);
    for name in ["a", "b", "c", "d", "e"] {
        run.line(&format!("RCPT TO:<{name}@foo.com>"));
    }
    // RFC 5321 §4.5.3.1.10: "The correct reply code for this condition is 452."
    assert_eq!(codes(&run.take_sent()), [250, 250, 250, 452, 452]);
    run.feed(b"DATA\r\nhi\r\n.\r\n");
    assert_eq!(codes(&run.take_sent()), [354, 250]);
    let d = deliveries(&run);
    assert_eq!(d.len(), 1);
    assert_eq!(d[0].0.recipients.len(), 3);
}

#[test]
fn test_data_size_limit_is_552_after_the_data_and_the_session_goes_on() {
    let mut config = foo_com();
    config.max_message_size = 100;
    let mut run = ServerRun::new(config);
    let mut ehlo = Vec::new();
    run.line("EHLO bar.com");
    ehlo.extend(run.take_sent());
    // The limit is announced (RFC 1870 §4).
    assert!(String::from_utf8_lossy(&ehlo).contains("250-SIZE 100\r\n"));
    run.line("MAIL FROM:<Smith@bar.com>");
    run.line("RCPT TO:<Jones@foo.com>");
    run.line("DATA");
    // 101 octets of content: one more than the limit. The server still reads to the
    // end of the data before it refuses (RFC 1870 §6.3).
    run.feed(format!("{}\r\n.\r\n", "x".repeat(99)).as_bytes());
    assert_eq!(codes(&run.take_sent()), [250, 250, 354, 552]);
    assert!(deliveries(&run).is_empty());
    assert_eq!(run.server.state(), ServerState::Ready);
    // Exactly 100 octets fit.
    run.line("MAIL FROM:<Smith@bar.com>");
    run.line("RCPT TO:<Jones@foo.com>");
    run.feed(format!("DATA\r\n{}\r\n.\r\n", "x".repeat(98)).as_bytes());
    assert_eq!(codes(&run.take_sent()), [250, 250, 354, 250]);
    assert_eq!(deliveries(&run).len(), 1);
}

#[test]
fn test_mail_declared_size_over_the_limit_is_552_and_equal_is_fine() {
    let mut config = foo_com();
    config.max_message_size = 1000;
    let mut run = ServerRun::new(config);
    run.line("EHLO bar.com");
    run.take_sent();
    run.line("MAIL FROM:<Smith@bar.com> SIZE=1001");
    run.line("MAIL FROM:<Smith@bar.com> SIZE=1000 BODY=8BITMIME");
    assert_eq!(codes(&run.take_sent()), [552, 250]);
}

#[test]
fn test_data_a_line_over_1000_octets_is_refused_after_the_data() {
    let mut run = ServerRun::new(foo_com());
    begin(&mut run);
    run.line("RCPT TO:<Jones@foo.com>");
    run.line("DATA");
    // 999 octets + CRLF is over the limit; 998 + CRLF is not (§4.5.3.1.6). A stuffed
    // period does not count.
    run.feed(format!(".{}\r\n{}\r\n.\r\n", ".".repeat(998), "y".repeat(999)).as_bytes());
    assert_eq!(codes(&run.take_sent()), [250, 354, 500]);
    assert!(deliveries(&run).is_empty());
    run.line("NOOP");
    assert_eq!(codes(&run.take_sent()), [250]);
}

#[test]
fn test_delivering_the_250_waits_for_the_driver_and_commands_wait_too() {
    let mut server = SmtpServer::new(foo_com());
    wirelab_core::StreamApp::on_connected(&mut server, Instant::ZERO).expect("connected");
    let mut sent = Vec::new();
    let mut events = Vec::new();
    let pump = |s: &mut SmtpServer, sent: &mut Vec<u8>, events: &mut Vec<ServerEvent>| {
        while let o = s.poll_output(Instant::ZERO)
            && !matches!(o, Output::Idle { .. })
        {
            match o {
                Output::Transmit(t) => sent.extend(t.bytes),
                Output::Event(e) => events.push(e),
                _ => {}
            }
        }
    };
    // Everything at once, QUIT included (a pipelining client, RFC 2920).
    let all = b"EHLO bar.com\r\nMAIL FROM:<Smith@bar.com>\r\nRCPT TO:<Jones@foo.com>\r\nDATA\r\nHello\r\n.\r\nQUIT\r\n";
    server.handle_input(Instant::ZERO, Input::Receive { from: CLIENT, bytes: all }).expect("ok");
    pump(&mut server, &mut sent, &mut events);
    assert_eq!(support::codes(&sent), [220, 250, 250, 250, 354], "no 250 before the driver stores it");
    assert_eq!(server.state(), ServerState::Delivering);
    assert!(server.awaits_driver());
    assert!(matches!(events.last(), Some(ServerEvent::Deliver { .. })));
    // Asking about a recipient now is a driver bug.
    assert_eq!(
        server.handle_input(Instant::ZERO, Input::Command("recipient accept".parse().expect("cmd"))),
        Err(SmtpError::NotAwaiting("recipient"))
    );
    sent.clear();
    server.handle_input(Instant::ZERO, Input::Command("stored 7".parse().expect("cmd"))).expect("ok");
    pump(&mut server, &mut sent, &mut events);
    // The 250 for the message, then the buffered QUIT is answered.
    assert_eq!(support::codes(&sent), [250, 221]);
    assert_eq!(server.state(), ServerState::Closed);
    // A late answer after the close is ignored.
    assert_eq!(server.handle_input(Instant::ZERO, Input::Command(ServerCommand::Stored(Ok("8".into())))), Ok(()));
}

#[test]
fn test_delivering_store_failures_give_451_452_554() {
    let mut run = ServerRun::new(foo_com());
    run.store_answers = vec![
        ServerCommand::Stored(Err(StoreError::Temporary("database locked".into()))),
        ServerCommand::Stored(Err(StoreError::NoSpace("disk full".into()))),
        ServerCommand::Stored(Err(StoreError::Rejected("spam".into()))),
        ServerCommand::Stored(Ok("4".into())),
    ];
    run.line("EHLO bar.com");
    run.take_sent();
    for _ in 0..4 {
        run.feed(b"MAIL FROM:<Smith@bar.com>\r\nRCPT TO:<Jones@foo.com>\r\nDATA\r\nHi\r\n.\r\n");
    }
    let c = codes(&run.take_sent());
    let finals: Vec<u16> = c.chunks(4).map(|t| t[3]).collect();
    assert_eq!(finals, [451, 452, 554, 250]);
    assert_eq!(run.server.state(), ServerState::Ready);
}

#[test]
fn test_verifying_the_driver_checks_local_recipients() {
    let mut config = foo_com();
    config.recipients = RecipientPolicy::AskDriver;
    let mut run = ServerRun::new(config);
    begin(&mut run);
    for (answer, code) in [("recipient unknown", 550), ("recipient later", 450), ("recipient accept", 250)] {
        run.recipient_answer = Some(answer.parse().expect("cmd"));
        run.line("RCPT TO:<Jones@foo.com>");
        assert_eq!(codes(&run.take_sent()), [code], "{answer}");
    }
    assert_eq!(run.server.state(), ServerState::Rcpt);
    // Postmaster is never asked about (RFC 5321 §4.5.1).
    let asked = run.events.iter().filter(|e| matches!(e, ServerEvent::CheckRecipient(_))).count();
    run.line("RCPT TO:<Postmaster>");
    assert_eq!(codes(&run.take_sent()), [250]);
    assert_eq!(run.events.iter().filter(|e| matches!(e, ServerEvent::CheckRecipient(_))).count(), asked);
    // No answer: the server waits, in VERIFYING.
    run.recipient_answer = None;
    run.line("RCPT TO:<Brown@foo.com>");
    assert!(run.take_sent().is_empty());
    assert_eq!(run.server.state(), ServerState::Verifying);
}

#[test]
fn test_rcpt_relaying_hands_other_domains_to_the_driver() {
    let mut config = foo_com();
    config.relay = true;
    config.local_domains.push("north.test".into());
    let mut run = ServerRun::new(config);
    begin(&mut run);
    run.feed(b"RCPT TO:<Jones@foo.com>\r\nRCPT TO:<ann@north.test>\r\nRCPT TO:<bob@south.test>\r\nDATA\r\nx\r\n.\r\n");
    assert_eq!(codes(&run.take_sent()), [250, 250, 250, 354, 250]);
    let d = deliveries(&run);
    let local: Vec<String> = d[0].0.local_recipients().map(ToString::to_string).collect();
    let relay: Vec<String> = d[0].0.relay_recipients().map(ToString::to_string).collect();
    assert_eq!(local, ["<Jones@foo.com>", "<ann@north.test>"]);
    assert_eq!(relay, ["<bob@south.test>"]);
}

/// RFC 5321 §3.6.2, §7.1: relaying only to the domains configured for it, no open
/// relay; each message gets the connection's id in `Received:` (§4.4).
#[test]
fn test_rcpt_relay_domains_only_and_received_ids() {
    let mut config = foo_com();
    config.relay_domains = vec!["south.test".into()];
    config.id_prefix = Some("C0FFEE.7".into());
    let mut run = ServerRun::new(config);
    for subject in ["one", "two"] {
        begin(&mut run);
        run.feed(b"RCPT TO:<bob@SOUTH.test>\r\nRCPT TO:<eve@example.org>\r\nDATA\r\n");
        run.feed(format!("Subject: {subject}\r\n\r\n.\r\n").as_bytes());
        let sent = run.take_sent();
        assert_eq!(codes(&sent), [250, 550, 354, 250]);
        assert!(String::from_utf8_lossy(&sent).contains("550 Relaying denied\r\n"));
    }
    let d = deliveries(&run);
    let relay: Vec<String> = d[0].0.relay_recipients().map(ToString::to_string).collect();
    assert_eq!(relay, ["<bob@SOUTH.test>"]);
    for (i, (_, data)) in d.iter().enumerate() {
        let text = String::from_utf8_lossy(data);
        assert!(text.contains(&format!(" with ESMTP id C0FFEE.7.{}\r\n", i + 1)), "{text}");
    }
}

#[test]
fn test_data_connection_drop_before_the_end_delivers_nothing() {
    for cut in ["DATA\r\nhalf a mess", "DATA\r\n", "", "DATA\r\nall of it\r\n.\r"] {
        let mut run = ServerRun::new(foo_com());
        begin(&mut run);
        run.line("RCPT TO:<Jones@foo.com>");
        run.feed(cut.as_bytes());
        run.server.handle_input(Instant::ZERO, Input::Command(ServerCommand::Eof)).expect("eof");
        run.pump();
        assert!(deliveries(&run).is_empty(), "{cut:?}");
        assert!(run.events.iter().any(|e| matches!(e, ServerEvent::Aborted { .. })), "{cut:?}");
        assert!(run.closed);
    }
}

#[test]
fn test_ready_ehlo_again_resets_the_transaction() {
    let mut run = ServerRun::new(foo_com());
    begin(&mut run);
    run.line("RCPT TO:<Jones@foo.com>");
    run.line("EHLO bar.com");
    run.line("DATA");
    let c = codes(&run.take_sent());
    assert_eq!(c, [250, 250, 503]);
    assert!(run.events.contains(&ServerEvent::Aborted { reason: "a new EHLO or HELO" }));
}

#[test]
fn test_any_state_shutdown_is_421_and_close() {
    let mut run = ServerRun::new(foo_com());
    begin(&mut run);
    run.server.handle_input(Instant::ZERO, Input::Command(ServerCommand::Shutdown)).expect("ok");
    run.pump();
    let sent = run.take_sent();
    assert_eq!(String::from_utf8_lossy(&sent), "421 foo.com Service not available, closing transmission channel\r\n");
    assert!(run.closed);
}

#[test]
fn test_deliver_received_field_and_8bit_body_type() {
    let mut run = ServerRun::new(foo_com());
    run.line("EHLO bar.com");
    run.line("MAIL FROM:<> BODY=8BITMIME");
    run.line("RCPT TO:<Jones@foo.com>");
    run.feed("DATA\r\nSubject: caf\u{e9}\r\n\r\n..x\r\n.\r\n".as_bytes());
    let d = deliveries(&run);
    let (env, data) = &d[0];
    assert_eq!(env.body, wirelab_smtp::BodyType::EightBitMime);
    assert_eq!(env.from, wirelab_smtp::ReversePath::Null);
    assert_eq!(
        env.recipients[0].path,
        ForwardPath::Mailbox(wirelab_smtp::Mailbox::parse("Jones@foo.com").expect("mb"))
    );
    let text = String::from_utf8_lossy(data);
    // One recipient: the for clause names it (RFC 5321 §4.4). The date is the configured
    // epoch (1 Jan 2026) plus the virtual time.
    assert_eq!(
        text,
        "Received: from bar.com ([192.0.2.10])\r\n\tby foo.com (wirelab) with ESMTP\r\n\tfor <Jones@foo.com>;\r\n\tThu, 1 Jan 2026 00:00:00 +0000\r\nSubject: caf\u{e9}\r\n\r\n.x\r\n"
    );
}

#[test]
fn test_ready_a_silent_client_gets_421_after_the_idle_timeout() {
    let mut server = SmtpServer::new(foo_com());
    let t0 = Instant::from_millis(1_000);
    wirelab_core::StreamApp::on_connected(&mut server, t0).expect("connected");
    let drain = |s: &mut SmtpServer, now: Instant| {
        let mut sent = Vec::new();
        loop {
            match s.poll_output(now) {
                Output::Transmit(t) => sent.extend(t.bytes),
                Output::Idle { wake_at } => return (sent, wake_at),
                _ => {}
            }
        }
    };
    let five_minutes = std::time::Duration::from_secs(300);
    let (_, wake) = drain(&mut server, t0);
    assert_eq!(wake, Some(t0 + five_minutes));
    // A command restarts the clock.
    let t1 = t0 + std::time::Duration::from_secs(100);
    server.handle_input(t1, Input::Receive { from: CLIENT, bytes: b"EHLO bar.com\r\n" }).expect("ok");
    let (_, wake) = drain(&mut server, t1);
    assert_eq!(wake, Some(t1 + five_minutes));
    // Early: nothing. On time: 421 and close.
    server.handle_input(t0 + five_minutes, Input::Timeout).expect("ok");
    assert_eq!(drain(&mut server, t0 + five_minutes).0, b"");
    server.handle_input(t1 + five_minutes, Input::Timeout).expect("ok");
    let (sent, wake) = drain(&mut server, t1 + five_minutes);
    assert_eq!(codes(&sent), [421]);
    assert_eq!(wake, None);
    assert_eq!(server.state(), ServerState::Closed);
}

#[test]
fn test_delivering_no_timeout_while_the_driver_stores() {
    let mut server = SmtpServer::new(foo_com());
    wirelab_core::StreamApp::on_connected(&mut server, Instant::ZERO).expect("ok");
    let all = b"EHLO bar.com\r\nMAIL FROM:<a@bar.com>\r\nRCPT TO:<b@foo.com>\r\nDATA\r\nx\r\n.\r\n";
    server.handle_input(Instant::ZERO, Input::Receive { from: CLIENT, bytes: all }).expect("ok");
    let wake = loop {
        if let Output::Idle { wake_at } = server.poll_output(Instant::ZERO) {
            break wake_at;
        }
    };
    assert_eq!(server.state(), ServerState::Delivering);
    assert_eq!(wake, None, "the client is not the one keeping us waiting");
}
