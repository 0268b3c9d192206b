//! `POST /mail/session`: mailboxes of its own for each browser session, isolated from
//! everyone else's (tried with Python's imaplib and poplib), limited (403 for a foreign
//! Origin, 429 per client address, 503 in all, SMTP 552 over the quota) and removed
//! after a time without use while the demo accounts stay.

mod support;

use std::time::Duration;
use support::{Running, post, python, start_with};
use wirelab_server::mailsession::SessionConfig;

async fn start(config: SessionConfig) -> Running {
    start_with(|c| c.mail.as_mut().expect("mail").sessions = config).await
}

/// A new session: (north address, south address, password).
async fn session(server: &Running) -> (String, String, String) {
    let (status, body) = post(server.app, "/mail/session", "").await;
    assert_eq!(status, 201, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).expect("JSON");
    let addresses: Vec<String> =
        v["addresses"].as_array().expect("addresses").iter().map(|a| a.as_str().expect("text").to_string()).collect();
    assert_eq!(v["smtp"]["north.test"], server.north.to_string());
    assert_eq!(v["smtp"]["south.test"], server.south.to_string());
    assert_eq!(
        (v["pop3"].as_str(), v["imap"].as_str()),
        (Some(&*server.pop3.to_string()), Some(&*server.imap.to_string()))
    );
    let password = v["password"].as_str().expect("password").to_string();
    assert_eq!(password.len(), 24, "96 random bits in hexadecimal");
    (addresses[0].clone(), addresses[1].clone(), password)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_browser_session_gets_mailboxes_nobody_else_can_open() {
    let server = start(SessionConfig::default()).await;
    let (a_north, a_south, a_pw) = session(&server).await;
    let (b_north, _b_south, b_pw) = session(&server).await;
    let name = |a: &str| a.split('@').next().unwrap_or_default().to_string();
    assert_eq!(name(&a_north), name(&a_south), "one name in both domains");
    assert!(a_north.starts_with('u') && a_north.ends_with("@north.test") && a_south.ends_with("@south.test"));
    assert_ne!(name(&a_north), name(&b_north));
    assert_ne!(a_pw, b_pw);
    let (north, imap, pop3) = (server.north.port(), server.imap.port(), server.pop3.port());
    let out = python(format!(
        r#"
import imaplib, poplib, smtplib, time
s = smtplib.SMTP("127.0.0.1", {north}, local_hostname="browser.test", timeout=10)
s.sendmail("{a_north}", ["{a_south}"], "Subject: for a\r\n\r\nmine\r\n")
s.sendmail("{a_north}", ["{b_north}"], "Subject: for b\r\n\r\nyours\r\n")
s.quit()
def imap_count(user, pw):
    m = imaplib.IMAP4("127.0.0.1", {imap}, timeout=10)
    try:
        m.login(user, pw)
    except imaplib.IMAP4.error:
        return "NO"
    n = m.select("INBOX")[1][0].decode()
    m.logout()
    return n
def pop3_login(user, pw):
    p = poplib.POP3("127.0.0.1", {pop3}, timeout=10)
    p.user(user)
    try:
        p.pass_(pw)
        return str(p.stat()[0])
    except poplib.error_proto:
        return "ERR"
    finally:
        p.quit()
for _ in range(100):
    if imap_count("{a_south}", "{a_pw}") == "1":
        break
    time.sleep(0.1)
print("a reads a", imap_count("{a_south}", "{a_pw}"))
print("b reads b", imap_count("{b_north}", "{b_pw}"))
print("a opens b", imap_count("{b_north}", "{a_pw}"), pop3_login("{b_north}", "{a_pw}"))
print("b opens a", imap_count("{a_south}", "{b_pw}"), pop3_login("{a_south}", "{b_pw}"))
print("a opens alice", imap_count("alice@north.test", "{a_pw}"))
print("alice", imap_count("alice@north.test", "wirelab"))
"#
    ))
    .await;
    assert_eq!(
        out.lines().collect::<Vec<_>>(),
        ["a reads a 1", "b reads b 1", "a opens b NO ERR", "b opens a NO ERR", "a opens alice NO", "alice 0"],
        "{out}"
    );
    assert!(String::from_utf8_lossy(&server.inbox(&b_north)[0]).contains("Subject: for b"));
    assert!(String::from_utf8_lossy(&server.inbox(&a_south)[0]).contains("Subject: for a"));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn foreign_origins_per_address_and_total_limits_and_the_quota() {
    let server = start(SessionConfig { per_ip: 2, quota: 1500, ..Default::default() }).await;
    let (status, body) = post(server.app, "/mail/session", "Origin: https://evil.example\r\n").await;
    assert_eq!(status, 403, "{body}");
    let own = format!("Origin: http://{}\r\n", server.app);
    assert_eq!(post(server.app, "/mail/session", &own).await.0, 201, "the app's own origin");
    let (north, _, _) = session(&server).await;
    let (status, body) = post(server.app, "/mail/session", "").await;
    assert_eq!(status, 429, "{body}");
    assert!(body.contains("\"error\""), "{body}");
    // The quota: a message of about 1000 octets fits, a second does not (552), the session goes on.
    let port = server.north.port();
    let out = python(format!(
        r#"
import smtplib
s = smtplib.SMTP("127.0.0.1", {port}, local_hostname="browser.test", timeout=10)
msg = "Subject: big\r\n\r\n" + ("x" * 70 + "\r\n") * 14
print("first", s.sendmail("{north}", ["{north}"], msg))
try:
    s.sendmail("{north}", ["{north}"], msg)
except smtplib.SMTPDataError as e:
    print("second", e.smtp_code, e.smtp_error.decode())
print("noop", s.noop()[0])
s.quit()
"#
    ))
    .await;
    assert_eq!(
        out.lines().collect::<Vec<_>>(),
        ["first {}", "second 552 Requested mail action aborted: exceeded storage allocation", "noop 250"],
        "{out}"
    );
    server.stop().await;

    let server = start(SessionConfig { per_ip: 10, total: 2, ..Default::default() }).await;
    session(&server).await;
    session(&server).await;
    assert_eq!(post(server.app, "/mail/session", "").await.0, 503);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unused_sessions_expire_and_the_demo_accounts_stay() {
    let server = start(SessionConfig { idle_expiry: Duration::from_secs(1), ..Default::default() }).await;
    let (north, south, _) = session(&server).await;
    let exists = |a: &str| server.store.lock().expect("store").account(a).expect("query").is_some();
    assert!(exists(&north) && exists(&south));
    let mut gone = false;
    for _ in 0..100 {
        if !exists(&north) && !exists(&south) {
            gone = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(gone, "removed after a time without use");
    assert!(exists("alice@north.test") && exists("bob@south.test"), "the demo accounts stay");
    server.stop().await;
}
