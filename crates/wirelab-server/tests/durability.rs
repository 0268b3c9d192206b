//! A message the SMTP server answered 250 for is on disk, and so is one it queued for
//! relaying (the second test): the `wirelab` binary is killed
//! with SIGKILL right after the 250 (no shutdown, no flush), started again on the same
//! data directory, and the message is read back over POP3 (RFC 5321 §6.1: with the 250
//! the server has taken responsibility for the message).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

struct Server {
    child: Child,
    smtp: String,
    pop3: String,
}

/// Starts the binary on free ports and reads its addresses from what it prints.
fn start(data: &std::path::Path) -> Server {
    start_with(data, &[])
}

fn start_with(data: &std::path::Path, extra: &[&str]) -> Server {
    let mut child = Command::new(env!("CARGO_BIN_EXE_wirelab"))
        .args(["serve", "--addr", "127.0.0.1:0", "--http-addr", "127.0.0.1:0"])
        .args(["--smtp-north-addr", "127.0.0.1:0", "--smtp-south-addr", "127.0.0.1:0"])
        .args(["--pop3-addr", "127.0.0.1:0", "--imap-addr", "127.0.0.1:0", "--data-dir"])
        .arg(data)
        .args(extra)
        // Whatever the caller's environment says, this run is on disk.
        .env_remove("WIRELAB_IN_MEMORY")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the wirelab binary starts");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let (mut smtp, mut pop3) = (String::new(), String::new());
    for line in lines.by_ref() {
        let line = line.expect("a line");
        // "wirelab smtp north.test on 127.0.0.1:P, south.test on …"
        if let Some(rest) = line.strip_prefix("wirelab smtp north.test on ") {
            smtp = rest.split(',').next().unwrap_or_default().to_string();
        }
        // "wirelab pop3 on 127.0.0.1:P, imap on …"
        if let Some(rest) = line.strip_prefix("wirelab pop3 on ") {
            pop3 = rest.split(',').next().unwrap_or_default().to_string();
        }
        if line.starts_with("wirelab listening on") {
            break;
        }
    }
    assert!(!smtp.is_empty() && !pop3.is_empty(), "the server printed its mail ports");
    Server { child, smtp, pop3 }
}

/// Sends `line` (if any) and reads one reply line.
fn exchange(s: &mut TcpStream, line: Option<&str>) -> String {
    if let Some(l) = line {
        s.write_all(l.as_bytes()).expect("write");
    }
    let mut reply = Vec::new();
    let mut byte = [0u8; 1];
    while !reply.ends_with(b"\r\n") {
        s.read_exact(&mut byte).expect("a reply");
        reply.push(byte[0]);
    }
    String::from_utf8_lossy(&reply).into_owned()
}

/// EHLO, MAIL, RCPT, DATA: the final reply.
fn submit(s: &mut TcpStream, from: &str, to: &str, content: &str) -> String {
    assert!(exchange(s, None).starts_with("220 "));
    // EHLO's reply is several lines: read until the last ("250 " rather than "250-").
    s.write_all(b"EHLO client.test\r\n").expect("write");
    while !exchange(s, None).starts_with("250 ") {}
    assert!(exchange(s, Some(&format!("MAIL FROM:<{from}>\r\n"))).starts_with("250"));
    assert!(exchange(s, Some(&format!("RCPT TO:<{to}>\r\n"))).starts_with("250"));
    assert!(exchange(s, Some("DATA\r\n")).starts_with("354"));
    exchange(s, Some(content))
}

/// Logs in to POP3 as `user`: STAT's reply.
fn pop3_stat(addr: &str, user: &str) -> (TcpStream, String) {
    let mut p = TcpStream::connect(addr).expect("connect to POP3");
    p.set_read_timeout(Some(Duration::from_secs(10))).expect("timeout");
    assert!(exchange(&mut p, None).starts_with("+OK"));
    assert!(exchange(&mut p, Some(&format!("USER {user}\r\n"))).starts_with("+OK"));
    assert!(exchange(&mut p, Some("PASS wirelab\r\n")).starts_with("+OK"));
    let stat = exchange(&mut p, Some("STAT\r\n"));
    (p, stat)
}

/// A message north.test queued for south.test is still queued after kill -9, and the
/// restarted server relays it: the first run's route to south.test leads nowhere (a
/// closed port, so every attempt is a temporary failure), the second's to south's
/// listener.
#[test]
fn a_queued_message_is_relayed_after_kill_dash_9_and_a_restart() {
    let data = std::env::temp_dir().join(format!("wirelab-durability-relay-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&data);
    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr");
    let route = format!("south.test={closed}");
    let mut first = start_with(&data, &["--relay-route", &route, "--relay-retry-ms", "60000"]);
    let mut s = TcpStream::connect(&first.smtp).expect("connect to SMTP");
    s.set_read_timeout(Some(Duration::from_secs(10))).expect("timeout");
    let reply =
        submit(&mut s, "alice@north.test", "bob@south.test", "Subject: queued across kill -9\r\n\r\nhi\r\n.\r\n");
    assert!(reply.starts_with("250"), "{reply}");
    let (_p, stat) = pop3_stat(&first.pop3, "bob@south.test");
    assert!(stat.starts_with("+OK 0 "), "not delivered yet: the route leads nowhere: {stat}");
    first.child.kill().expect("kill -9");
    let _ = first.child.wait();

    let mut second = start(&data);
    let mut delivered = String::new();
    for _ in 0..100 {
        let (mut p, stat) = pop3_stat(&second.pop3, "bob@south.test");
        let _ = exchange(&mut p, Some("QUIT\r\n"));
        if stat.starts_with("+OK 1 ") {
            delivered = stat;
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(delivered.starts_with("+OK 1 "), "relayed after the restart");
    let _ = second.child.kill();
    let _ = second.child.wait();
    let _ = std::fs::remove_dir_all(&data);
}

#[test]
fn a_message_answered_250_survives_kill_dash_9() {
    let data = std::env::temp_dir().join(format!("wirelab-durability-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&data);
    let mut first = start(&data);
    let mut s = TcpStream::connect(&first.smtp).expect("connect to SMTP");
    s.set_read_timeout(Some(Duration::from_secs(10))).expect("timeout");
    let content = "Subject: kept across kill -9\r\n\r\nstill here\r\n.\r\n";
    let reply = submit(&mut s, "carol@client.test", "alice@north.test", content);
    assert!(reply.starts_with("250"), "{reply}");
    // At once, before anything else: SIGKILL, no chance to flush or shut down.
    first.child.kill().expect("kill -9");
    let _ = first.child.wait();

    let mut second = start(&data);
    let (mut p, stat) = pop3_stat(&second.pop3, "alice@north.test");
    assert!(stat.starts_with("+OK 1 "), "the message is there after the restart: {stat}");
    assert!(exchange(&mut p, Some("RETR 1\r\n")).starts_with("+OK"));
    let mut message = String::new();
    loop {
        let line = exchange(&mut p, None);
        if line == ".\r\n" {
            break;
        }
        message.push_str(&line);
    }
    assert!(message.contains("Subject: kept across kill -9\r\n"), "{message}");
    assert!(message.contains("still here"), "{message}");
    let _ = exchange(&mut p, Some("QUIT\r\n"));
    let _ = second.child.kill();
    let _ = second.child.wait();
    let _ = std::fs::remove_dir_all(&data);
}
