//! Test harness: server sessions driven by a [`MemStore`] (or a scripted driver), fed
//! client bytes in any chunking, and the RFC transcripts' reader and comparison.
#![allow(dead_code)]

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use wirelab_core::{Input, Instant, Machine, Output, StreamApp};
use wirelab_imap::syntax::frames;
use wirelab_imap::{ImapServer, MemStore, ServerCommand, ServerConfig, ServerEvent};

pub const CLIENT: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 10)), 49152);
pub const CLIENT2: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 11)), 49153);
pub const SERVER: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 143)), 143);

/// Server sessions sharing one store: what two devices of one user see.
#[derive(Debug)]
pub struct World {
    pub store: MemStore,
    pub servers: Vec<ImapServer>,
    /// Bytes each session sent, not yet taken.
    pub sent: Vec<Vec<u8>>,
    pub events: Vec<Vec<ServerEvent>>,
    pub transitions: Vec<Vec<String>>,
    pub now: Instant,
}

impl World {
    /// `n` sessions, each greeted.
    pub fn new(store: MemStore, n: usize, config: ServerConfig) -> World {
        let mut w = World {
            store,
            servers: Vec::new(),
            sent: vec![Vec::new(); n],
            events: vec![Vec::new(); n],
            transitions: vec![Vec::new(); n],
            now: Instant::ZERO,
        };
        for _ in 0..n {
            let mut s = ImapServer::new(config.clone());
            s.on_connected(Instant::ZERO).expect("greets");
            w.servers.push(s);
        }
        w.settle();
        w
    }

    /// Client bytes into session `i`, then everything settles.
    pub fn send(&mut self, i: usize, bytes: &[u8]) {
        let from = if i == 0 { CLIENT } else { CLIENT2 };
        self.servers[i].handle_input(self.now, Input::Receive { from, bytes }).expect("server reads");
        self.settle();
    }

    /// A command into session `i` (driver news, `eof`…), then everything settles.
    pub fn command(&mut self, i: usize, cmd: ServerCommand) {
        self.servers[i].handle_input(self.now, Input::Command(cmd)).expect("server takes the command");
        self.settle();
    }

    pub fn news(&mut self, news: Vec<(usize, ServerCommand)>) {
        for (i, c) in news {
            self.command(i, c);
        }
    }

    /// Pulls every output; answers each event from the store and delivers news, until
    /// nothing moves.
    pub fn settle(&mut self) {
        for _ in 0..10_000 {
            let mut moved = false;
            for i in 0..self.servers.len() {
                loop {
                    match self.servers[i].poll_output(self.now) {
                        Output::Transmit(t) => {
                            assert!(t.rfc.is_some() && !t.reason.is_empty(), "every transmit says why");
                            self.sent[i].extend_from_slice(&t.bytes);
                            moved = true;
                        }
                        Output::Event(e) => {
                            moved = true;
                            let (answer, news) = self.store.answer(i, &e);
                            self.events[i].push(e);
                            if let Some(a) = answer {
                                self.servers[i].handle_input(self.now, Input::Command(a)).expect("answer fits");
                            }
                            for (j, c) in news {
                                self.servers[j].handle_input(self.now, Input::Command(c)).expect("news taken");
                            }
                        }
                        Output::Transition(t) => {
                            self.transitions[i].push(format!("{} -> {}", t.from, t.to));
                            moved = true;
                        }
                        Output::Metric(_) => {}
                        Output::Idle { .. } => break,
                    }
                }
            }
            if !moved {
                return;
            }
        }
        panic!("the world did not settle");
    }

    /// What session `i` sent since last asked, as text.
    pub fn take(&mut self, i: usize) -> String {
        String::from_utf8_lossy(&std::mem::take(&mut self.sent[i])).into_owned()
    }

    /// A line to session `i`, and what it answered.
    pub fn say(&mut self, i: usize, line: &str) -> String {
        self.send(i, format!("{line}\r\n").as_bytes());
        self.take(i)
    }
}

/// A store with user `alice` (password `secret`) and `n` messages in INBOX.
pub fn store_with(n: u32) -> MemStore {
    let mut s = MemStore::new();
    s.add_user("alice", "secret");
    for i in 1..=n {
        let msg = format!(
            "From: Bob <bob{i}@example.org>\r\nTo: alice@example.org\r\nSubject: Message {i}\r\n\
Date: Mon, {i} Jan 2024 10:00:00 +0000\r\n\r\nHello number {i}.\r\n"
        );
        s.deliver("alice", "INBOX", msg.as_bytes(), Default::default(), None);
    }
    s
}

/// A session of `store` logged in as alice with INBOX selected; output taken.
pub fn selected(store: MemStore, config: ServerConfig) -> World {
    let mut w = World::new(store, 1, config);
    w.say(0, "a1 LOGIN alice secret");
    w.say(0, "a2 SELECT INBOX");
    w.take(0);
    w
}

/// One server's run over scripted input with a scripted driver: every event is
/// answered by `driver`; returns all bytes sent.
pub fn run_scripted(
    config: ServerConfig,
    chunks: &[&[u8]],
    driver: &mut dyn FnMut(&ServerEvent) -> Option<ServerCommand>,
) -> (Vec<u8>, Vec<String>) {
    let mut s = ImapServer::new(config);
    s.on_connected(Instant::ZERO).expect("greets");
    let mut out = Vec::new();
    let mut events = Vec::new();
    let mut drain = |s: &mut ImapServer, out: &mut Vec<u8>, events: &mut Vec<String>| loop {
        match s.poll_output(Instant::ZERO) {
            Output::Transmit(t) => out.extend_from_slice(&t.bytes),
            Output::Event(e) => {
                events.push(e.to_string());
                if let Some(c) = driver(&e) {
                    s.handle_input(Instant::ZERO, Input::Command(c)).expect("driver answer fits");
                }
            }
            Output::Idle { .. } => break,
            _ => {}
        }
    };
    drain(&mut s, &mut out, &mut events);
    for c in chunks {
        s.handle_input(Instant::ZERO, Input::Receive { from: CLIENT, bytes: c }).expect("server reads");
        drain(&mut s, &mut out, &mut events);
    }
    (out, events)
}

/// One line of a transcript.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Line {
    /// `C:` what the client sends.
    Client(String),
    /// `S:` what the server sends, exactly (modulo the normalization of [`normalize`]).
    Server(String),
    /// `S~`: a status response whose code and text the example leaves free: compare
    /// tag and status.
    ServerFree(String),
    /// `S+`: a response we send that the example does not show (a comment says why).
    Extra(String),
}

/// Reads a transcript: `C:`, `S:`, `S~`, `S+` lines; `#` comments; a line starting with
/// whitespace continues the line above (the RFCs fold long lines for print).
pub fn transcript(text: &str) -> Vec<Line> {
    let mut out: Vec<Line> = Vec::new();
    for raw in text.lines() {
        if raw.trim_start().starts_with('#') || raw.trim().is_empty() {
            continue;
        }
        if raw.starts_with(' ') || raw.starts_with('\t') {
            let cont = raw.trim();
            match out.last_mut() {
                Some(Line::Server(s) | Line::ServerFree(s) | Line::Extra(s) | Line::Client(s)) => {
                    s.push(' ');
                    s.push_str(cont);
                }
                None => panic!("a continuation before any line"),
            }
            continue;
        }
        let (kind, rest) = raw.split_at(2.min(raw.len()));
        let rest = rest.strip_prefix(' ').unwrap_or(rest);
        let rest = rest.trim_start_matches(' ').to_string();
        out.push(match kind {
            "C:" => Line::Client(rest),
            "S:" => Line::Server(rest),
            "S~" => Line::ServerFree(rest),
            "S+" => Line::Extra(rest),
            _ => panic!("bad transcript line {raw:?}"),
        });
    }
    out
}

/// Spacing the RFCs' line folding changes: `( x` → `(x`, `x )` → `x)`, `) (` → `)(`.
pub fn normalize(s: &str) -> String {
    let mut s = s.trim_end_matches(['\r', '\n']).to_string();
    loop {
        let before = s.clone();
        s = s.replace("( ", "(").replace(" )", ")").replace(") (", ")(").replace("  ", " ");
        if s == before {
            return s;
        }
    }
}

/// `A1 OK [CODE …] text` → `A1 OK`; `* BYE text` → `* BYE`.
pub fn status_head(s: &str) -> String {
    s.split(' ').take(2).collect::<Vec<_>>().join(" ")
}

/// The responses in `bytes`, each as text with its CRLFs (literals inside).
pub fn responses(bytes: &[u8]) -> Vec<String> {
    let (f, rest) = frames(bytes);
    assert_eq!(rest, bytes.len(), "no incomplete response left: {:?}", String::from_utf8_lossy(&bytes[rest..]));
    f.into_iter().map(|(s, e)| String::from_utf8_lossy(&bytes[s..e]).into_owned()).collect()
}

/// Expected server lines (S:, S~, S+) grouped into responses: a line ending in a
/// literal `{n}` takes the next lines with it.
pub fn expected_responses(lines: &[Line]) -> Vec<Line> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let mut line = lines[i].clone();
        if let Line::Server(s) = &mut line {
            let mut bytes = format!("{s}\r\n");
            while let Some((n, _)) = wirelab_imap::syntax::literal_at_end(bytes.trim_end().as_bytes()) {
                let want = bytes.len() + n as usize;
                while bytes.len() < want {
                    i += 1;
                    let Some(Line::Server(next)) = lines.get(i) else { panic!("literal runs past the transcript") };
                    bytes.push_str(next);
                    bytes.push_str("\r\n");
                }
                assert_eq!(bytes.len(), want, "the literal's lines add up to its length");
                i += 1;
                let Some(Line::Server(next)) = lines.get(i) else { panic!("nothing after a literal") };
                bytes.push_str(next);
                bytes.push_str("\r\n");
            }
            *s = bytes;
        }
        out.push(line);
        i += 1;
    }
    out
}

/// Compares what a server sent for one command with the transcript's lines for it:
/// untagged responses in any order (RFC 9051 §7: their order is free), the tagged one
/// last; `S~` by status head, `S+` may be there.
pub fn compare(step: &str, expected: &[Line], actual: &[String]) {
    let mut actual: Vec<String> = actual.iter().map(|a| normalize(a)).collect();
    let expected = expected_responses(expected);
    if let Some(Line::Server(last)) =
        expected.last().filter(|l| matches!(l, Line::Server(s) if !s.starts_with(['*', '+'])))
    {
        assert_eq!(actual.last(), Some(&normalize(last)), "{step}: the tagged completion comes last");
    }
    let mut extras = Vec::new();
    for e in &expected {
        let found = match e {
            Line::Server(s) => {
                let s = normalize(s);
                actual.iter().position(|a| *a == s)
            }
            Line::ServerFree(s) => {
                let head = status_head(&normalize(s));
                actual.iter().position(|a| status_head(a) == head)
            }
            Line::Extra(s) => {
                extras.push(normalize(s));
                continue;
            }
            Line::Client(_) => unreachable!(),
        };
        match found {
            Some(i) => {
                actual.remove(i);
            }
            None => panic!("{step}: expected {e:?}\nnot among what the server sent:\n{}", actual.join("\n")),
        }
    }
    for x in extras {
        if let Some(i) = actual.iter().position(|a| *a == x) {
            actual.remove(i);
        }
    }
    assert!(actual.is_empty(), "{step}: the server sent more than the transcript shows:\n{}", actual.join("\n"));
}
