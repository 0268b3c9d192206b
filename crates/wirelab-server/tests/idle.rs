//! IMAP IDLE across sessions (RFC 2177; RFC 9051 §7.3.1, §7.4, §7.5.2): a session in
//! IDLE (a raw socket: Python 3.11's imaplib has no idle()) hears at once what happens
//! to its INBOX elsewhere: mail delivered by SMTP, directly and through the relay
//! (`* n EXISTS`), flags stored and messages expunged by another IMAP session, Python's
//! imaplib (`* n FETCH (FLAGS …)`, `* n EXPUNGE`), a POP3 deletion; in order, and
//! numbered in its own view. A session not in IDLE hears them with its next command
//! (RFC 9051 §5.2). A session's own changes are not echoed back to it.

mod support;

use support::{Conn, python, start};

async fn logged_in_and_selected(imap: std::net::SocketAddr, tag: &str) -> (Conn, Vec<String>) {
    let (mut c, greeting) = Conn::greeted(imap).await;
    assert!(greeting.starts_with("* OK"), "{greeting}");
    c.send(format!("{tag}1 LOGIN bob@south.test wirelab\r\n").as_bytes()).await;
    c.until(&format!("{tag}1 OK")).await;
    c.send(format!("{tag}2 SELECT INBOX\r\n").as_bytes()).await;
    let select = c.until(&format!("{tag}2 OK")).await;
    (c, select)
}

/// Sends NOOPs (at most 50, 50 ms apart) until their responses brought `n` untagged
/// lines, and returns those.
async fn noops(c: &mut Conn, tag: &str, n: usize) -> Vec<String> {
    let mut heard = Vec::new();
    for _ in 0..50 {
        c.send(format!("{tag} NOOP\r\n").as_bytes()).await;
        let lines = c.until(&format!("{tag} OK")).await;
        heard.extend(lines[..lines.len() - 1].iter().map(|l| l.trim_end().to_string()));
        if heard.len() >= n {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    heard
}

/// Reads `n` lines.
async fn lines(c: &mut Conn, n: usize) -> Vec<String> {
    let mut got = Vec::new();
    for _ in 0..n {
        got.push(c.line().await.trim_end().to_string());
    }
    got
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_hears_smtp_relay_flags_expunge_and_pop3_from_other_sessions() {
    let server = start().await;
    {
        let mut store = server.store.lock().expect("store");
        store.deliver("bob@south.test", b"Subject: one\r\n\r\n1\r\n").expect("deliver");
        store.deliver("bob@south.test", b"Subject: two\r\n\r\n2\r\n").expect("deliver");
    }
    let (mut a, select) = logged_in_and_selected(server.imap, "a").await;
    assert!(select.contains(&"* 2 EXISTS\r\n".to_string()), "{select:?}");
    assert_eq!(a.ask("a3 IDLE").await, "+ idling\r\n");

    // SMTP straight to south, then from north through the relay.
    let (south, north) = (server.south.port(), server.north.port());
    python(format!(
        r#"
import smtplib
for port in ({south}, {north}):
    s = smtplib.SMTP("127.0.0.1", port, local_hostname="client.test", timeout=10)
    s.sendmail("carol@client.test", ["bob@south.test"], "Subject: pushed\r\n\r\nhi\r\n")
    s.quit()
"#
    ))
    .await;
    assert_eq!(lines(&mut a, 2).await, ["* 3 EXISTS", "* 4 EXISTS"]);

    // Another device, imaplib: flags, an expunge that moves the later messages down,
    // then a flag on what is message 3 for everyone now (UID 4).
    let imap = server.imap.port();
    python(format!(
        r#"
import imaplib
m = imaplib.IMAP4("127.0.0.1", {imap}, timeout=10)
m.login("bob@south.test", "wirelab")
m.select("INBOX")
m.store("1", "+FLAGS", "(\\Flagged)")
m.store("2", "+FLAGS", "(\\Deleted)")
m.expunge()
m.store("3", "+FLAGS", "(\\Seen)")
m.logout()
"#
    ))
    .await;
    assert_eq!(
        lines(&mut a, 4).await,
        [
            "* 1 FETCH (FLAGS (\\Flagged) UID 1)",
            "* 2 FETCH (FLAGS (\\Deleted) UID 2)",
            "* 2 EXPUNGE",
            "* 3 FETCH (FLAGS (\\Seen) UID 4)"
        ]
    );

    // POP3 deletes message 1 (UID 1) at QUIT: an EXPUNGE too.
    let pop3 = server.pop3.port();
    python(format!(
        r#"
import poplib
p = poplib.POP3("127.0.0.1", {pop3}, timeout=10)
p.user("bob@south.test"); p.pass_("wirelab")
p.dele(1)
p.quit()
"#
    ))
    .await;
    assert_eq!(lines(&mut a, 1).await, ["* 1 EXPUNGE"]);
    a.send(b"DONE\r\n").await;
    assert_eq!(lines(&mut a, 1).await, ["a3 OK IDLE terminated"]);

    // The session's own STORE is answered once, not echoed through the bus again.
    assert_eq!(a.ask("a4 STORE 1 +FLAGS (\\Draft)").await.trim_end(), "* 1 FETCH (FLAGS (\\Draft))");
    assert!(a.line().await.starts_with("a4 OK"));
    // A change made after it: once a NOOP reports that, an echo would have come before.
    server.store.lock().expect("store").deliver("bob@south.test", b"Subject: 5\r\n\r\n5\r\n").expect("deliver");
    assert_eq!(noops(&mut a, "a5", 1).await, ["* 3 EXISTS"], "no echo of a4's own change");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_not_idling_hears_the_changes_with_its_next_command() {
    let server = start().await;
    {
        let mut store = server.store.lock().expect("store");
        for i in 1..=3 {
            store.deliver("bob@south.test", format!("Subject: {i}\r\n\r\n{i}\r\n").as_bytes()).expect("deliver");
        }
    }
    let (mut d, _) = logged_in_and_selected(server.imap, "d").await;
    let (mut e, _) = logged_in_and_selected(server.imap, "e").await;
    // e expunges message 1, flags UID 3, and new mail arrives.
    assert!(e.ask("e3 STORE 1 +FLAGS (\\Deleted)").await.starts_with("* 1 FETCH"));
    e.until("e3 OK").await;
    e.send(b"e4 EXPUNGE\r\n").await;
    assert_eq!(e.until("e4 OK").await[0], "* 1 EXPUNGE\r\n");
    e.send(b"e5 UID STORE 3 +FLAGS (\\Answered)\r\n").await;
    e.until("e5 OK").await;
    server.store.lock().expect("store").deliver("bob@south.test", b"Subject: 4\r\n\r\n4\r\n").expect("deliver");
    // d hears it all with its NOOPs (the bus may bring the news between two of them),
    // in commit order and in d's numbering: UID 1 is flagged \Deleted and goes, so UID 3
    // is message 2, and the new one makes three.
    assert_eq!(
        noops(&mut d, "d3", 4).await,
        ["* 1 FETCH (FLAGS (\\Deleted) UID 1)", "* 1 EXPUNGE", "* 2 FETCH (FLAGS (\\Answered) UID 3)", "* 3 EXISTS"]
    );
    server.stop().await;
}
