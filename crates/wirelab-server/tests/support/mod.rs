//! What the mail tests share: the mail servers started in-process on free loopback ports
//! (north.test and south.test SMTP, POP3, IMAP) over one in-memory store with the demo
//! accounts, and running a client program to completion.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::oneshot;
use wirelab_server::mailstore::MailStore;
use wirelab_server::{Listeners, Mail, ServeConfig};

pub struct Running {
    pub app: SocketAddr,
    pub north: SocketAddr,
    pub south: SocketAddr,
    pub pop3: SocketAddr,
    pub imap: SocketAddr,
    pub store: Arc<Mutex<MailStore>>,
    stop: oneshot::Sender<()>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

async fn bind() -> tokio::net::TcpListener {
    wirelab_server::bind("127.0.0.1:0".parse().expect("addr")).await.expect("bind")
}

fn addr(l: &tokio::net::TcpListener) -> SocketAddr {
    l.local_addr().expect("addr")
}

/// The servers with default settings.
pub async fn start() -> Running {
    start_with(|_| {}).await
}

/// The servers, after `adjust` has changed their configuration.
pub async fn start_with(adjust: impl FnOnce(&mut ServeConfig)) -> Running {
    let (app, north, south, pop3, imap) = (bind().await, bind().await, bind().await, bind().await, bind().await);
    let (app_addr, north_addr, south_addr, pop3_addr, imap_addr) =
        (addr(&app), addr(&north), addr(&south), addr(&pop3), addr(&imap));
    let mut store = MailStore::in_memory().expect("store");
    store.create_account("alice@north.test", "wirelab").expect("alice");
    store.create_account("bob@south.test", "wirelab").expect("bob");
    let store = Arc::new(Mutex::new(store));
    let mut mail = Mail::new(store.clone(), vec![("north.test".into(), north), ("south.test".into(), south)]);
    mail.pop3 = Some(pop3);
    mail.imap = Some(imap);
    let mut config = ServeConfig { mail: Some(mail), ..Default::default() };
    adjust(&mut config);
    let (tx, rx) = oneshot::channel();
    let task = tokio::spawn(wirelab_server::serve_with(Listeners { app, http: None }, config, async {
        let _ = rx.await;
    }));
    Running {
        app: app_addr,
        north: north_addr,
        south: south_addr,
        pop3: pop3_addr,
        imap: imap_addr,
        store,
        stop: tx,
        task,
    }
}

impl Running {
    /// The messages in `address`'s INBOX, oldest first.
    pub fn inbox(&self, address: &str) -> Vec<Vec<u8>> {
        let store = self.store.lock().expect("store");
        let id = store.account(address).expect("query").expect("account");
        let snap = store.snapshot(id, "INBOX").expect("snapshot");
        snap.messages.iter().map(|m| store.message(id, "INBOX", m.uid).expect("query").expect("message")).collect()
    }

    /// Waits (at most 20 s) until `address`'s INBOX holds `n` messages, and returns them.
    pub async fn wait_for_inbox(&self, address: &str, n: usize) -> Vec<Vec<u8>> {
        for _ in 0..200 {
            let inbox = self.inbox(address);
            if inbox.len() >= n {
                return inbox;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("{address} did not get {n} messages within 20 s: {} there", self.inbox(address).len());
    }

    pub async fn stop(self) {
        let _ = self.stop.send(());
        let done = tokio::time::timeout(Duration::from_secs(15), self.task).await;
        assert!(matches!(done, Ok(Ok(Ok(())))), "server stops cleanly: {done:?}");
    }
}

/// Runs a program to its end: (success, stdout, stderr).
pub fn run(cmd: &mut Command) -> (bool, String, String) {
    let out = cmd.output().unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e} (cargo xtask test installs it)"));
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Runs a Python script (with a 60 s limit) on a blocking thread; its stdout.
pub async fn python(script: String) -> String {
    let (ok, out, err) =
        tokio::task::spawn_blocking(move || run(Command::new("timeout").args(["60", "python3", "-c", &script])))
            .await
            .expect("python ran");
    assert!(ok, "python failed:\n{out}\n{err}");
    out
}

/// A raw line-oriented client connection, every read bounded by 10 s.
pub struct Conn {
    reader: tokio::io::BufReader<tokio::net::TcpStream>,
}

impl Conn {
    pub async fn open(addr: SocketAddr) -> Conn {
        let s = tokio::net::TcpStream::connect(addr).await.expect("connect");
        Conn { reader: tokio::io::BufReader::new(s) }
    }

    /// Opens and reads the greeting line.
    pub async fn greeted(addr: SocketAddr) -> (Conn, String) {
        let mut c = Conn::open(addr).await;
        let greeting = c.line().await;
        (c, greeting)
    }

    pub async fn send(&mut self, bytes: &[u8]) {
        use tokio::io::AsyncWriteExt;
        self.reader.get_mut().write_all(bytes).await.expect("write");
    }

    /// One line, CRLF included; empty at the end of the stream.
    pub async fn line(&mut self) -> String {
        use tokio::io::AsyncBufReadExt;
        let mut line = String::new();
        tokio::time::timeout(Duration::from_secs(10), self.reader.read_line(&mut line))
            .await
            .expect("a line within 10 s")
            .expect("read");
        line
    }

    /// Sends one line (CRLF added) and reads one.
    pub async fn ask(&mut self, line: &str) -> String {
        self.send(format!("{line}\r\n").as_bytes()).await;
        self.line().await
    }

    /// Reads lines until one starts with `prefix`; all of them.
    pub async fn until(&mut self, prefix: &str) -> Vec<String> {
        let mut lines = Vec::new();
        loop {
            let l = self.line().await;
            assert!(!l.is_empty(), "closed before {prefix:?}: {lines:?}");
            let done = l.starts_with(prefix);
            lines.push(l);
            if done {
                return lines;
            }
        }
    }

    /// Whether the server closed the connection (the next read ends the stream).
    pub async fn closed(&mut self) -> bool {
        self.line().await.is_empty()
    }
}

/// `POST path` on the app's port with `extra` header lines: (status, body).
pub async fn post(app: SocketAddr, path: &str, extra: &str) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(app).await.expect("connect");
    let request =
        format!("POST {path} HTTP/1.1\r\nHost: {app}\r\nContent-Length: 0\r\nConnection: close\r\n{extra}\r\n");
    s.write_all(request.as_bytes()).await.expect("write");
    let mut response = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut response))
        .await
        .expect("a response within 10 s")
        .expect("read");
    let text = String::from_utf8_lossy(&response).into_owned();
    let status = text.get(9..12).and_then(|c| c.parse().ok()).unwrap_or(0);
    let body = text.split_once("\r\n\r\n").map(|(_, b)| b.to_string()).unwrap_or_default();
    (status, body)
}
