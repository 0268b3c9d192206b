//! Interop with programs nobody here wrote: curl's `pop3://` and `imap://` against our
//! POP3 and IMAP servers, and our SMTP client machine (the relay's, natively, on tokio
//! TCP) against aiosmtpd (PyPI), whose stored copy must equal what we sent byte for byte,
//! a line starting with a period included (dot-stuffed on the wire, RFC 5321 §4.5.2).
//! Then malformed and out-of-order commands on all three servers: each answered with the
//! protocol's error reply (5yz, -ERR, BAD), and the session goes on.

mod support;

use std::process::{Command, Stdio};
use std::time::Duration;
use support::{Conn, run, start};
use wirelab_server::mailstore::Outbound;
use wirelab_server::relay::{Outcome, RelayConfig, attempt};

const ONE: &[u8] = b"From: carol@client.test\r\nSubject: one\r\n\r\n.a line that starts with a dot\r\nbody\r\n";
const TWO: &[u8] = b"From: dave@client.test\r\nSubject: two\r\n\r\nsecond\r\n";

/// curl with a 10 s limit, on a blocking thread: its stdout.
async fn curl(args: &[&str]) -> String {
    let owned: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    let (ok, out, err) = tokio::task::spawn_blocking(move || {
        run(Command::new("curl").args(["-sS", "--max-time", "10", "-u", "alice@north.test:wirelab"]).args(&owned))
    })
    .await
    .expect("curl ran");
    assert!(ok, "curl {args:?}: {out}\n{err}");
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn curl_lists_and_retrieves_over_pop3_and_imap() {
    let server = start().await;
    {
        let mut store = server.store.lock().expect("store");
        store.deliver("alice@north.test", ONE).expect("deliver");
        store.deliver("alice@north.test", TWO).expect("deliver");
    }
    let pop3 = format!("pop3://127.0.0.1:{}", server.pop3.port());
    // LIST: message numbers and exact sizes (RFC 1939 §5).
    assert_eq!(curl(&[&format!("{pop3}/")]).await, format!("1 {}\r\n2 {}\r\n", ONE.len(), TWO.len()));
    // RETR: the stored bytes exactly, the dot-stuffing undone by curl.
    assert_eq!(curl(&[&format!("{pop3}/1")]).await.as_bytes(), ONE);
    assert_eq!(curl(&["-X", "UIDL", &format!("{pop3}/")]).await, "1 1\r\n2 2\r\n");
    let imap = format!("imap://127.0.0.1:{}", server.imap.port());
    assert_eq!(curl(&[&format!("{imap}/")]).await, "* LIST () \"/\" INBOX\r\n");
    assert_eq!(curl(&[&format!("{imap}/INBOX?ALL")]).await, "* SEARCH 1 2\r\n");
    // `;UID=2`: curl's UID FETCH of BODY[] (RFC 5092), the message exactly.
    assert_eq!(curl(&[&format!("{imap}/INBOX/;UID=2")]).await.as_bytes(), TWO);
    // Fetching the body set \Seen on UID 2 (RFC 9051 §6.4.5), as a UID FETCH shows.
    assert_eq!(
        curl(&["-X", "UID FETCH 1:* (FLAGS)", &format!("{imap}/INBOX")]).await,
        "* 1 FETCH (UID 1 FLAGS ())\r\n* 2 FETCH (UID 2 FLAGS (\\Seen))\r\n"
    );
    // A wrong password: curl's "access denied" (exit 67), from our NO.
    let url = format!("{imap}/INBOX");
    let (ok, _, err) = tokio::task::spawn_blocking(move || {
        run(Command::new("curl").args(["-sS", "--max-time", "10", "-u", "alice@north.test:wrong", &url]))
    })
    .await
    .expect("curl ran");
    assert!(!ok && err.contains("Access denied"), "{err}");
    server.stop().await;
}

/// aiosmtpd with a handler that writes the envelope and the data as received
/// (`original_content`: after aiosmtpd has undone the dot-stuffing) to a file.
const AIOSMTPD: &str = r#"
import os, sys
from aiosmtpd.controller import Controller
port, out = int(sys.argv[1]), sys.argv[2]
class Keep:
    async def handle_DATA(self, server, session, envelope):
        head = "HELO {}\nFROM {}\nTO {}\n".format(session.host_name, envelope.mail_from, ",".join(envelope.rcpt_tos))
        with open(out + ".part", "wb") as f:
            f.write(head.encode() + envelope.original_content)
        os.rename(out + ".part", out)
        return "250 OK kept"
c = Controller(Keep(), hostname="127.0.0.1", port=port)
c.start()
print("ready", flush=True)
sys.stdin.read()
c.stop()
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn our_smtp_client_machine_sends_to_aiosmtpd_byte_for_byte() {
    let dir = std::env::temp_dir().join(format!("wirelab-aiosmtpd-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("dir");
    let kept = dir.join("kept");
    let port = std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port();
    let mut child = Command::new("timeout")
        .args(["60", "python3", "-c", AIOSMTPD, &port.to_string()])
        .arg(&kept)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3 with aiosmtpd (cargo xtask test installs it)");
    let mut ready = String::new();
    let stdout = child.stdout.take().expect("stdout");
    let ready = tokio::task::spawn_blocking(move || {
        use std::io::BufRead;
        let _ = std::io::BufReader::new(stdout).read_line(&mut ready);
        ready
    })
    .await
    .expect("read");
    assert_eq!(ready.trim(), "ready", "aiosmtpd started");
    let content = b"From: alice@north.test\r\nTo: eve@aiosmtpd.test\r\nSubject: interop\r\n\r\n\
        .a line that starts with a dot\r\n..and one with two\r\n.\r\nthe line before was one dot\r\nend\r\n";
    let message = Outbound {
        hop_from: "north.test".into(),
        reverse_path: "alice@north.test".into(),
        recipient: "eve@aiosmtpd.test".into(),
        data: content.to_vec(),
    };
    let (_stop_tx, stop) = tokio::sync::watch::channel(false);
    let to = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let outcome = attempt(&message, to, &RelayConfig::default(), stop).await;
    assert_eq!(outcome, Outcome::Delivered);
    let mut got = Vec::new();
    for _ in 0..100 {
        if let Ok(b) = std::fs::read(&kept) {
            got = b;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    drop(child.stdin.take());
    let _ = child.wait();
    let _ = std::fs::remove_dir_all(&dir);
    let mut expected = b"HELO north.test\nFROM alice@north.test\nTO eve@aiosmtpd.test\n".to_vec();
    expected.extend_from_slice(content);
    assert_eq!(String::from_utf8_lossy(&got), String::from_utf8_lossy(&expected));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_and_out_of_order_commands_get_error_replies_and_the_session_goes_on() {
    let server = start().await;
    let (mut s, _) = Conn::greeted(server.north).await;
    for (line, code) in [
        ("MAIL FROM:<carol@client.test>", "503 "), // before EHLO (RFC 5321 §4.1.4)
        ("FROB", "500 "),                          // unknown (§4.2.4)
        ("EHLO", "501 "),                          // no domain
    ] {
        let reply = s.ask(line).await;
        assert!(reply.starts_with(code), "{line}: {reply}");
    }
    s.send(b"EHLO client.test\r\n").await;
    s.until("250 ").await;
    for (line, code) in [
        ("RCPT TO:<alice@north.test>", "503 "), // before MAIL
        ("DATA", "503 "),
        ("MAIL FROM:<no-closing-bracket", "501 "),
        ("MAIL FROM:<carol@client.test>", "250 "),
        ("MAIL FROM:<carol@client.test>", "503 "), // a second MAIL
        ("RCPT TO:<alice@north.test> FOO=BAR", "555 "),
        ("RCPT TO:<alice@north.test>", "250 "),
        ("DATA", "354 "),
    ] {
        let reply = s.ask(line).await;
        assert!(reply.starts_with(code), "{line}: {reply}");
    }
    assert!(s.ask("Subject: after all that\r\n\r\nhi\r\n.").await.starts_with("250 "));
    assert_eq!(server.inbox("alice@north.test").len(), 1);

    let (mut p, _) = Conn::greeted(server.pop3).await;
    for (line, reply) in [
        ("STAT", "-ERR"), // before login (RFC 1939 §4)
        ("PASS wirelab", "-ERR"),
        ("FROB", "-ERR"),
        ("USER alice@north.test", "+OK"),
        ("PASS wirelab", "+OK"),
        ("RETR 9", "-ERR"), // no such message
        ("RETR x", "-ERR"),
        ("USER bob@south.test", "-ERR"), // not in TRANSACTION
        ("STAT", "+OK 1 "),
    ] {
        let got = p.ask(line).await;
        assert!(got.starts_with(reply), "{line}: {got}");
    }

    let (mut i, _) = Conn::greeted(server.imap).await;
    for (line, reply) in [
        ("a1 SELECT INBOX", "a1 BAD"), // before LOGIN (RFC 9051 §6.3.2)
        ("a2 FROB", "a2 BAD"),
        ("(x) NOOP", "* BAD"), // no tag to answer with
        ("a3 LOGIN alice@north.test wirelab", "a3 OK"),
        ("a4 FETCH 1 (FLAGS)", "a4 BAD"), // nothing selected
        ("a5 FETCH (FLAGS", "a5 BAD"),
    ] {
        let got = i.ask(line).await;
        assert!(got.starts_with(reply), "{line}: {got}");
    }
    i.send(b"a6 SELECT INBOX\r\n").await;
    assert!(i.until("a6 ").await.last().is_some_and(|l| l.starts_with("a6 OK")));
    server.stop().await;
}
