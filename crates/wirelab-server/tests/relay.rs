//! The relay between our own domains (RFC 5321 §3.6): Client → Server → Server → Client.
//! A message Python's smtplib submits to north.test for bob@south.test is answered 250
//! once queued, carried by north's relay (our SMTP client machine on a real socket) to
//! south's listener and stored in bob's INBOX with both servers' `Received:` fields; the
//! same the other way. A 5yz from the next hop, or too many 4yz, sends the sender a
//! bounce with the null reverse-path (§4.5.5); a 4yz is tried again.

mod support;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use support::{Running, python, start, start_with};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpListener;

/// smtplib submits one message to the server at `port`; prints the refused recipients.
async fn submit(port: u16, from: &str, to: &[&str], subject: &str) -> String {
    let to_list = to.iter().map(|t| format!("{t:?}")).collect::<Vec<_>>().join(", ");
    python(format!(
        r#"
import smtplib
s = smtplib.SMTP("127.0.0.1", {port}, local_hostname="client.test", timeout=10)
msg = "From: <{from}>\r\nTo: <{first}>\r\nSubject: {subject}\r\n\r\nhello\r\n.a dotted line\r\n"
print("refused", s.sendmail("{from}", [{to_list}], msg))
s.quit()
"#,
        first = to[0],
    ))
    .await
}

fn text(m: &[u8]) -> String {
    String::from_utf8_lossy(m).into_owned()
}

/// The `Received:` fields of a message, top first, each on one line.
fn received(m: &str) -> Vec<String> {
    let head = m.split("\r\n\r\n").next().unwrap_or_default().replace("\r\n\t", " ");
    head.lines().filter(|l| l.starts_with("Received:")).map(str::to_string).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn north_relays_to_south_and_south_to_north_each_hop_stamped() {
    let server = start().await;
    let out = submit(server.north.port(), "alice@north.test", &["bob@south.test"], "north to south").await;
    assert_eq!(out.trim(), "refused {}");
    let bob = server.wait_for_inbox("bob@south.test", 1).await;
    let m = text(&bob[0]);
    assert!(m.starts_with("Return-Path: <alice@north.test>\r\n"), "final delivery adds Return-Path (§4.4): {m}");
    let hops = received(&m);
    assert_eq!(hops.len(), 2, "two hops: {m}");
    // The newest first (§4.4: "prepended"): south took it from north's relay…
    assert!(
        hops[0].starts_with("Received: from north.test ([127.0.0.1]) by south.test (wirelab) with ESMTP id "),
        "{}",
        hops[0]
    );
    // …which took it from the client.
    assert!(
        hops[1].starts_with("Received: from client.test ([127.0.0.1]) by north.test (wirelab) with ESMTP id "),
        "{}",
        hops[1]
    );
    for h in &hops {
        assert!(
            h.contains(" for <bob@south.test>; ") && h.ends_with(" +0000"),
            "a for clause and an RFC 5322 date: {h}"
        );
    }
    assert!(m.contains("\r\n.a dotted line\r\n"), "dot-stuffed on each hop and unstuffed again: {m}");

    // South to north, two recipients: one local, one relayed.
    let out = submit(server.south.port(), "bob@south.test", &["alice@north.test", "bob@south.test"], "back").await;
    assert_eq!(out.trim(), "refused {}");
    let alice = server.wait_for_inbox("alice@north.test", 1).await;
    let hops = received(&text(&alice[0]));
    assert!(hops[0].contains("from south.test ([127.0.0.1]) by north.test"), "{hops:?}");
    assert!(hops[1].contains("from client.test ([127.0.0.1]) by south.test"), "{hops:?}");
    let bob = server.wait_for_inbox("bob@south.test", 2).await;
    assert_eq!(received(&text(&bob[1])).len(), 1, "bob's own copy made one hop");
    assert!(server.store.lock().expect("store").queued(10).expect("queue").is_empty(), "the queue is empty");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refusal_at_the_next_hop_bounces_to_the_sender_from_the_null_path() {
    let server = start().await;
    // North cannot know south's users: it takes the message…
    let out = submit(server.north.port(), "alice@north.test", &["nobody@south.test"], "lost").await;
    assert_eq!(out.trim(), "refused {}");
    // …south refuses it with 550, and alice hears of it.
    let alice = server.wait_for_inbox("alice@north.test", 1).await;
    let m = text(&alice[0]);
    assert!(m.starts_with("Return-Path: <>\r\n"), "a bounce comes from the null reverse-path (§4.5.5): {m}");
    assert!(m.contains("From: Mail Delivery System <MAILER-DAEMON@north.test>"), "{m}");
    assert!(m.contains("Content-Type: multipart/report; report-type=delivery-status"), "{m}");
    assert!(m.contains("Final-Recipient: rfc822; nobody@south.test\r\nAction: failed\r\nStatus: 5.0.0\r\n"), "{m}");
    assert!(m.contains("Diagnostic-Code: smtp; 550 No such user here"), "south's own reply: {m}");
    assert!(m.contains("Subject: lost"), "the original's header comes back: {m}");
    assert!(server.inbox("bob@south.test").is_empty());
    // A bounce is sent once, and nothing stays queued.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(server.inbox("alice@north.test").len(), 1);
    assert!(server.store.lock().expect("store").queued(10).expect("queue").is_empty());
    server.stop().await;
}

/// A next hop in front of south.test: the first `refuse` connections get a 421
/// greeting and are closed (RFC 5321 §3.1, §4.2.1: 4yz, try again); the rest are piped
/// to south's real listener. Counts the connections.
async fn flaky_south(south: SocketAddr, refuse: usize) -> (SocketAddr, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let count = Arc::new(AtomicUsize::new(0));
    let seen = count.clone();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            let n = seen.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(async move {
                if n < refuse {
                    let _ = s.write_all(b"421 south.test busy, try again later\r\n").await;
                    let _ = s.shutdown().await;
                } else if let Ok(mut to) = tokio::net::TcpStream::connect(south).await {
                    let _ = tokio::io::copy_bidirectional(&mut s, &mut to).await;
                }
            });
        }
    });
    (addr, count)
}

async fn start_via(via: SocketAddr, max_attempts: u32) -> Running {
    start_with(|c| {
        let mail = c.mail.as_mut().expect("mail");
        mail.routes.insert("south.test".into(), via);
        mail.relay.retry_base = Duration::from_millis(100);
        mail.relay.max_attempts = max_attempts;
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_4yz_is_tried_again_after_a_backoff_and_then_delivered() {
    // The proxy needs south's address before the server starts: a proxy to a proxy.
    let inner = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let inner_addr = inner.local_addr().expect("addr");
    let (via, count) = flaky_south(inner_addr, 2).await;
    let server = start_via(via, 10).await;
    let south = server.south;
    tokio::spawn(async move {
        while let Ok((mut s, _)) = inner.accept().await {
            tokio::spawn(async move {
                if let Ok(mut to) = tokio::net::TcpStream::connect(south).await {
                    let _ = tokio::io::copy_bidirectional(&mut s, &mut to).await;
                }
            });
        }
    });
    let out = submit(server.north.port(), "alice@north.test", &["bob@south.test"], "patience").await;
    assert_eq!(out.trim(), "refused {}");
    let bob = server.wait_for_inbox("bob@south.test", 1).await;
    assert!(text(&bob[0]).contains("Subject: patience"));
    assert_eq!(count.load(Ordering::SeqCst), 3, "two 421s, then the delivery");
    assert!(server.inbox("alice@north.test").is_empty(), "no bounce");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn too_many_4yz_give_up_and_bounce() {
    let (via, count) = flaky_south("127.0.0.1:9".parse().expect("addr"), usize::MAX).await;
    let server = start_via(via, 3).await;
    let out = submit(server.north.port(), "alice@north.test", &["bob@south.test"], "never").await;
    assert_eq!(out.trim(), "refused {}");
    let alice = server.wait_for_inbox("alice@north.test", 1).await;
    let m = text(&alice[0]);
    assert!(m.contains("Status: 4.4.7\r\n"), "delivery time expired (RFC 3463): {m}");
    assert!(m.contains("gave up after 3 attempts; the last: 421 south.test busy"), "{m}");
    assert_eq!(count.load(Ordering::SeqCst), 3, "exactly max_attempts connections");
    assert!(server.inbox("bob@south.test").is_empty());
    server.stop().await;
}
