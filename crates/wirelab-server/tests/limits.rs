//! What the mail servers refuse, each with its protocol's own reply, while serving
//! everyone else: SMTP's SIZE (RFC 1870: announced, 552), recipients per message (452,
//! RFC 5321 §4.5.3.1.10), command and text line lengths (500, §4.5.3.1.4–6), POP3's and
//! IMAP's long lines (-ERR, BAD), connections per client address (421, -ERR, * BYE) and
//! the idle timers (SMTP 421, §4.5.3.2.7; POP3 closes, RFC 1939 §3; IMAP * BYE, RFC
//! 9051 §5.4), set short here.

mod support;

use std::time::Duration;
use support::{Conn, start_with};
use wirelab_server::MailLimits;

fn limits(adjust: impl FnOnce(&mut MailLimits)) -> impl FnOnce(&mut wirelab_server::ServeConfig) {
    move |c| adjust(&mut c.mail.as_mut().expect("mail").limits)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn smtp_size_recipients_and_line_limits_get_the_rfc_replies() {
    let server = start_with(limits(|l| {
        l.smtp_max_message_size = 200;
        l.smtp_max_recipients = 3;
    }))
    .await;
    let (mut s, greeting) = Conn::greeted(server.north).await;
    assert!(greeting.starts_with("220 "), "{greeting}");
    s.send(b"EHLO client.test\r\n").await;
    let ehlo = s.until("250 ").await;
    assert!(ehlo.contains(&"250-SIZE 200\r\n".to_string()), "SIZE announced (RFC 1870 §4): {ehlo:?}");
    // A declared size over the limit: 552 at MAIL (RFC 1870 §6.1).
    assert!(s.ask("MAIL FROM:<carol@client.test> SIZE=500").await.starts_with("552 "));
    assert!(s.ask("MAIL FROM:<carol@client.test>").await.starts_with("250 "));
    for expect in ["250 ", "250 ", "250 ", "452 "] {
        let reply = s.ask("RCPT TO:<alice@north.test>").await;
        assert!(reply.starts_with(expect), "{expect}: {reply}");
    }
    // More data than announced: 552 after the data (RFC 1870 §6.3).
    assert!(s.ask("DATA").await.starts_with("354 "));
    s.send(format!("Subject: big\r\n\r\n{}\r\n.\r\n", "x".repeat(300)).as_bytes()).await;
    assert!(s.line().await.starts_with("552 "));
    // A command line over 512 octets (§4.5.3.1.4): 500, and the session goes on.
    let long = format!("NOOP {}", "y".repeat(600));
    assert!(s.ask(&long).await.starts_with("500 "));
    // A text line over 1000 octets (§4.5.3.1.6): the message is refused.
    assert!(s.ask("MAIL FROM:<carol@client.test>").await.starts_with("250 "));
    assert!(s.ask("RCPT TO:<alice@north.test>").await.starts_with("250 "));
    assert!(s.ask("DATA").await.starts_with("354 "));
    s.send(format!("{}\r\n.\r\n", "z".repeat(1100)).as_bytes()).await;
    assert!(s.line().await.starts_with("500 "));
    assert!(s.ask("NOOP").await.starts_with("250 "), "still serving");
    assert!(server.inbox("alice@north.test").is_empty(), "nothing refused was stored");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pop3_and_imap_long_lines_are_refused_and_the_session_goes_on() {
    let server = start_with(limits(|l| l.imap_max_line = 1000)).await;
    let (mut p, greeting) = Conn::greeted(server.pop3).await;
    assert!(greeting.starts_with("+OK"));
    // RFC 2449 §4: a command line is at most 255 octets.
    let reply = p.ask(&format!("USER {}", "a".repeat(300))).await;
    assert!(reply.starts_with("-ERR"), "{reply}");
    assert!(p.ask("USER alice@north.test").await.starts_with("+OK"));
    assert!(p.ask("PASS wirelab").await.starts_with("+OK"));
    let (mut i, greeting) = Conn::greeted(server.imap).await;
    assert!(greeting.starts_with("* OK"));
    let reply = i.ask(&format!("a1 NOOP {}", "b".repeat(1200))).await;
    assert!(reply.starts_with("a1 BAD") || reply.starts_with("* BAD"), "{reply}");
    assert!(i.ask("a2 NOOP").await.starts_with("a2 OK"), "still serving");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_address_over_its_connection_limit_is_refused_and_the_others_are_served() {
    let server = start_with(limits(|l| l.connections_per_ip = 2)).await;
    for (addr, ok, refusal, command, answer) in [
        (server.north, "220 ", "421 north.test Too many connections", "NOOP", "250 "),
        (server.pop3, "+OK", "-ERR [SYS/TEMP] too many connections", "NOOP", "-ERR"),
        (server.imap, "* OK", "* BYE Too many connections", "a1 NOOP", "a1 OK"),
    ] {
        let (mut first, g1) = Conn::greeted(addr).await;
        let (_second, g2) = Conn::greeted(addr).await;
        assert!(g1.starts_with(ok) && g2.starts_with(ok), "{g1} {g2}");
        let (mut third, g3) = Conn::greeted(addr).await;
        assert!(g3.starts_with(refusal), "{g3}");
        assert!(third.closed().await, "closed after the refusal");
        // The bystander is served on.
        let reply = first.ask(command).await;
        assert!(reply.starts_with(answer), "{reply}");
        // A connection closed frees its place.
        drop(first);
        let mut again = String::new();
        for _ in 0..50 {
            let (_c, g) = Conn::greeted(addr).await;
            if g.starts_with(ok) {
                again = g;
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert!(again.starts_with(ok), "a place is free again");
    }
    server.stop().await;
}

/// Browsers reach the mail servers through the bridge, whose connections all come from
/// one loopback address of its own (`bridge::BRIDGE_SOURCE`): the bridge limits each
/// browser itself, so the servers' per-address allowance (here 2) must not make every
/// bridged browser share one. Four bridged POP3 sessions are all greeted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bridged_browsers_are_not_one_address_to_the_mail_servers() {
    use futures_util::StreamExt;
    use tokio_tungstenite::tungstenite::Message;
    let server = start_with(limits(|l| l.connections_per_ip = 2)).await;
    let mut open = Vec::new();
    for i in 0..4 {
        let url = format!("ws://{}/bridge/pop3", server.app);
        let (mut ws, _) = tokio::time::timeout(Duration::from_secs(5), tokio_tungstenite::connect_async(url))
            .await
            .expect("in time")
            .expect("the bridge accepts");
        let greeting = loop {
            match tokio::time::timeout(Duration::from_secs(5), ws.next()).await.expect("a greeting in time") {
                Some(Ok(Message::Binary(b))) => break String::from_utf8_lossy(&b).into_owned(),
                Some(Ok(Message::Text(_))) => continue,
                other => panic!("bridged session {i}: {other:?}"),
            }
        };
        assert!(greeting.starts_with("+OK"), "bridged session {i} was greeted: {greeting}");
        open.push(ws);
    }
    // A local client is still held to the allowance: two, then a refusal.
    let (_a, g1) = Conn::greeted(server.pop3).await;
    let (_b, g2) = Conn::greeted(server.pop3).await;
    let (_c, g3) = Conn::greeted(server.pop3).await;
    assert!(g1.starts_with("+OK") && g2.starts_with("+OK"), "{g1} {g2}");
    assert!(g3.starts_with("-ERR"), "{g3}");
    drop(open);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_timers_end_silent_sessions_the_protocols_way_and_spare_busy_ones() {
    let server = start_with(limits(|l| {
        l.smtp_idle = Duration::from_secs(1);
        l.pop3_idle = Duration::from_secs(1);
        l.imap_idle = Duration::from_secs(1);
    }))
    .await;
    let (mut smtp, _) = Conn::greeted(server.north).await;
    let (mut pop3, _) = Conn::greeted(server.pop3).await;
    let (mut imap, _) = Conn::greeted(server.imap).await;
    let (mut busy, _) = Conn::greeted(server.south).await;
    // The busy one talks every 300 ms for 2 s: never silent for a whole second.
    for _ in 0..7 {
        assert!(busy.ask("NOOP").await.starts_with("250 "));
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let bye = smtp.line().await;
    assert!(bye.starts_with("421 north.test Service not available"), "{bye}");
    assert!(smtp.closed().await);
    // RFC 1939 §3: the autologout closes "without sending any response".
    assert!(pop3.closed().await, "POP3 closes silently");
    let bye = imap.line().await;
    assert_eq!(bye, "* BYE Autologout; idle for too long\r\n");
    assert!(imap.closed().await);
    assert!(busy.ask("NOOP").await.starts_with("250 "), "the busy session is still served");
    server.stop().await;
}
