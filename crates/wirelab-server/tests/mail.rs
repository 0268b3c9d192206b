//! The SMTP servers on real loopback ports against clients nobody here wrote: Python's
//! smtplib and curl's `smtp://`. What they send must be in the store, with our
//! `Received:` field, before the 250; unknown recipients and foreign domains are refused
//! (no open relay) and the session goes on.

mod support;

use std::process::Command;
use support::{run, start};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_smtplib_delivers_and_is_refused_as_the_rfc_says() {
    let server = start().await;
    let port = server.north.port();
    let script = format!(
        r#"
import smtplib
from email.message import EmailMessage
s = smtplib.SMTP("127.0.0.1", {port}, local_hostname="client.test", timeout=5)
code, ext = s.ehlo()
print("ehlo", code, "SIZE" in ext.decode(), "8BITMIME" in ext.decode())
m = EmailMessage()
m["From"] = "carol@client.test"; m["To"] = "alice@north.test"; m["Subject"] = "hello from smtplib"
m.set_content("first line\n.a line that starts with a dot\nlast line\n")
print("refused", s.send_message(m))
try:
    s.sendmail("carol@client.test", ["nobody@north.test"], "Subject: x\r\n\r\nx\r\n")
except smtplib.SMTPRecipientsRefused as e:
    print("nobody", e.recipients["nobody@north.test"][0])
try:
    s.sendmail("carol@client.test", ["eve@example.org"], "Subject: x\r\n\r\nx\r\n")
except smtplib.SMTPRecipientsRefused as e:
    print("relay", e.recipients["eve@example.org"][0], e.recipients["eve@example.org"][1].decode())
print("noop", s.noop()[0])
print("vrfy", s.verify("alice")[0])
print("quit", s.quit()[0])
"#
    );
    let (ok, out, err) = tokio::task::spawn_blocking(move || run(Command::new("python3").args(["-c", &script])))
        .await
        .expect("python ran");
    assert!(ok, "{out}\n{err}");
    assert_eq!(
        out.lines().collect::<Vec<_>>(),
        [
            "ehlo 250 True True",
            "refused {}",
            "nobody 550",
            "relay 550 Relaying denied",
            "noop 250",
            "vrfy 252",
            "quit 221"
        ],
        "{out}"
    );
    let inbox = server.inbox("alice@north.test");
    assert_eq!(inbox.len(), 1, "one message stored, the refused ones not");
    let text = String::from_utf8_lossy(&inbox[0]);
    assert!(
        text.starts_with("Return-Path: <carol@client.test>\r\nReceived: from client.test"),
        "Return-Path and our Received: first (RFC 5321 §4.4): {text}"
    );
    assert!(text.contains("by north.test"), "{text}");
    assert!(text.contains("\r\n.a line that starts with a dot\r\n"), "the dot is unstuffed: {text}");
    assert!(text.contains("Subject: hello from smtplib"), "{text}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn curl_uploads_a_message_over_smtp() {
    let server = start().await;
    let url = format!("smtp://127.0.0.1:{}", server.north.port());
    let file = std::env::temp_dir().join(format!("wirelab-curl-mail-{}.eml", std::process::id()));
    std::fs::write(&file, "From: dave@client.test\r\nTo: alice@north.test\r\nSubject: from curl\r\n\r\nhi\r\n")
        .expect("write");
    let f = file.clone();
    let (ok, out, err) = tokio::task::spawn_blocking(move || {
        run(Command::new("curl")
            .args(["-sS", &url, "--mail-from", "dave@client.test", "--mail-rcpt", "alice@north.test", "-T"])
            .arg(&f))
    })
    .await
    .expect("curl ran");
    let _ = std::fs::remove_file(&file);
    assert!(ok, "curl: {out}\n{err}");
    let inbox = server.inbox("alice@north.test");
    assert_eq!(inbox.len(), 1);
    assert!(String::from_utf8_lossy(&inbox[0]).contains("Subject: from curl"));
    server.stop().await;
}

/// POP3 (RFC 1939) with Python's poplib: a wrong password is -ERR and the session goes
/// on; RETR gives the stored bytes; DELE removes only at QUIT (UPDATE), and a session
/// that drops before QUIT removes nothing (§6).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_poplib_retrieves_and_deletes_only_in_update() {
    let server = start().await;
    {
        let mut store = server.store.lock().expect("store");
        store.deliver("alice@north.test", b"Subject: one\r\n\r\n.dotted line\r\nbody\r\n").expect("deliver");
        store.deliver("alice@north.test", b"Subject: two\r\n\r\nsecond\r\n").expect("deliver");
    }
    let port = server.pop3.port();
    let script = format!(
        r#"
import poplib
p = poplib.POP3("127.0.0.1", {port}, timeout=5)
print("greeting", p.getwelcome().decode().startswith("+OK"))
p.user("alice@north.test")
try:
    p.pass_("wrong")
except poplib.error_proto as e:
    print("wrong", str(e)[:6])
p.user("alice@north.test")
print("pass", p.pass_("wirelab").decode()[:3])
print("stat", p.stat())
resp, lines, octets = p.retr(1)
print("retr", lines)
print("uidl", [l.decode() for l in p.uidl()[1]])
print("dele", p.dele(1).decode()[:3])
# Dropped before QUIT: nothing may be deleted.
p.sock.close()
q = poplib.POP3("127.0.0.1", {port}, timeout=5)
q.user("alice@north.test"); q.pass_("wirelab")
print("after drop", q.stat()[0])
q.dele(1)
print("quit", q.quit().decode()[:3])
"#
    );
    let (ok, out, err) = tokio::task::spawn_blocking(move || run(Command::new("python3").args(["-c", &script])))
        .await
        .expect("python ran");
    assert!(ok, "{out}\n{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "greeting True");
    assert_eq!(lines[1], "wrong b'-ERR", "{out}");
    assert_eq!(lines[2], "pass +OK");
    assert_eq!(lines[3], "stat (2, 60)", "the exact octets, 36 + 24: {out}");
    // The dot-leading line comes back unstuffed by poplib: byte-stuffing round trip.
    assert_eq!(lines[4], "retr [b'Subject: one', b'', b'.dotted line', b'body']", "{out}");
    assert_eq!(lines[5], "uidl ['1 1', '2 2']", "{out}");
    assert_eq!(lines[6], "dele +OK");
    assert_eq!(lines[7], "after drop 2", "nothing deleted by a session without QUIT: {out}");
    assert_eq!(lines[8], "quit +OK");
    let inbox = server.inbox("alice@north.test");
    assert_eq!(inbox.len(), 1, "message 1 removed in UPDATE");
    assert!(String::from_utf8_lossy(&inbox[0]).contains("Subject: two"));
    server.stop().await;
}

/// IMAP with Python's imaplib (an IMAP4rev1 client): LOGIN, SELECT INBOX, SEARCH,
/// FETCH of a body (which sets \\Seen), BODY.PEEK (which does not), STORE +FLAGS,
/// EXPUNGE; the store sees every change; a bad login is NO and the session goes on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_imaplib_reads_flags_and_expunges_through_the_store() {
    let server = start().await;
    {
        let mut store = server.store.lock().expect("store");
        store.deliver("bob@south.test", b"From: alice@north.test\r\nSubject: first\r\n\r\nhello bob\r\n").expect("d");
        store.deliver("bob@south.test", b"From: carol@client.test\r\nSubject: second\r\n\r\nhi\r\n").expect("d");
    }
    let port = server.imap.port();
    let script = format!(
        r#"
import imaplib
m = imaplib.IMAP4("127.0.0.1", {port}, timeout=5)
try:
    m.login("bob@south.test", "wrong")
except imaplib.IMAP4.error as e:
    print("bad login refused")
print("login", m.login("bob@south.test", "wirelab")[0])
typ, data = m.select("INBOX")
print("select", typ, data[0].decode())
print("search", m.search(None, "ALL")[1][0].decode())
typ, data = m.fetch("2", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
print("peek", data[0][1].decode().strip())
typ, data = m.fetch("1", "(BODY[])")
print("body", data[0][1].decode().splitlines()[-1])
print("unseen", m.search(None, "UNSEEN")[1][0].decode())
print("store", m.store("2", "+FLAGS", "(\\Deleted)")[0])
print("expunge", m.expunge()[1][0].decode())
print("logout", m.logout()[0])
"#
    );
    let (ok, out, err) = tokio::task::spawn_blocking(move || run(Command::new("python3").args(["-c", &script])))
        .await
        .expect("python ran");
    assert!(ok, "{out}\n{err}");
    assert_eq!(
        out.lines().collect::<Vec<_>>(),
        [
            "bad login refused",
            "login OK",
            "select OK 2",
            "search 1 2",
            "peek Subject: second",
            "body hello bob",
            "unseen 2",
            "store OK",
            "expunge 2",
            "logout BYE"
        ],
        "{out}"
    );
    {
        let store = server.store.lock().expect("store");
        let bob = store.account("bob@south.test").expect("q").expect("bob");
        let snap = store.snapshot(bob, "INBOX").expect("snapshot");
        assert_eq!(snap.messages.len(), 1, "message 2 expunged from the store");
        assert_eq!(snap.messages[0].flags, ["\\Seen"], "BODY[] set \\Seen in the store");
    }
    server.stop().await;
}
