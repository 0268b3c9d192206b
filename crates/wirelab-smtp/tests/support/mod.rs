//! Shared by the SMTP tests: addresses, golden transcripts (`S:` / `C:` lines), a driver
//! that answers the server's questions, and a pump that runs a machine to idle.
#![allow(dead_code)]

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use wirelab_core::{Input, Instant, Machine, Output, StreamApp};
use wirelab_smtp::{
    ClientConfig, ClientEvent, Reply, ServerCommand, ServerConfig, ServerEvent, SmtpClient, SmtpServer,
};

pub const CLIENT: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 10)), 49152);
pub const SERVER: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 25)), 25);

/// One line of a golden transcript.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Said {
    Server(String),
    Client(String),
}

/// Reads `S: text` and `C: text` lines; `#` lines and blank lines are comments.
pub fn transcript(text: &str) -> Vec<Said> {
    text.lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| {
            if let Some(s) = l.strip_prefix("S: ") {
                Said::Server(s.to_string())
            } else if let Some(c) = l.strip_prefix("C: ") {
                Said::Client(c.to_string())
            } else {
                panic!("not a transcript line: {l:?}")
            }
        })
        .collect()
}

/// Consecutive lines of one speaker, as wire bytes (each line + CRLF).
pub fn turns(lines: &[Said]) -> Vec<(bool, Vec<u8>)> {
    let mut out: Vec<(bool, Vec<u8>)> = Vec::new();
    for l in lines {
        let (server, text) = match l {
            Said::Server(t) => (true, t),
            Said::Client(t) => (false, t),
        };
        match out.last_mut() {
            Some((s, bytes)) if *s == server => {
                bytes.extend_from_slice(text.as_bytes());
                bytes.extend_from_slice(b"\r\n");
            }
            _ => out.push((server, format!("{text}\r\n").into_bytes())),
        }
    }
    out
}

/// The replies in `bytes`, which must all be whole and well formed.
pub fn replies(mut bytes: &[u8]) -> Vec<Reply> {
    let mut out = Vec::new();
    while !bytes.is_empty() {
        let (r, n) = wirelab_smtp::parse_reply(bytes).expect("well-formed").expect("complete");
        out.push(r);
        bytes = &bytes[n..];
    }
    out
}

pub fn codes(bytes: &[u8]) -> Vec<u16> {
    replies(bytes).iter().map(|r| r.code).collect()
}

/// A server config for `foo.com` (the RFC's examples).
pub fn foo_com() -> ServerConfig {
    ServerConfig::new(SERVER, "foo.com")
}

/// A server, its driver's answers, and everything it did.
#[derive(Debug)]
pub struct ServerRun {
    pub server: SmtpServer,
    pub sent: Vec<u8>,
    pub events: Vec<ServerEvent>,
    pub closed: bool,
    /// Answered to every `Deliver`, in turn; the last one repeats.
    pub store_answers: Vec<ServerCommand>,
    /// Answered to every `CheckRecipient`.
    pub recipient_answer: Option<ServerCommand>,
    pub delivered: usize,
    pub transitions: Vec<String>,
}

impl ServerRun {
    pub fn new(config: ServerConfig) -> ServerRun {
        let mut run = ServerRun {
            server: SmtpServer::new(config),
            sent: Vec::new(),
            events: Vec::new(),
            closed: false,
            store_answers: vec![ServerCommand::Stored(Ok("1".into()))],
            recipient_answer: None,
            delivered: 0,
            transitions: Vec::new(),
        };
        run.server.on_connected(Instant::ZERO).expect("connected");
        run.pump();
        run
    }

    /// Feeds bytes as the client, then lets the driver answer.
    pub fn feed(&mut self, bytes: &[u8]) {
        self.server.handle_input(Instant::ZERO, Input::Receive { from: CLIENT, bytes }).expect("receive");
        self.pump();
    }

    pub fn line(&mut self, line: &str) {
        self.feed(format!("{line}\r\n").as_bytes());
    }

    /// The bytes sent since the last call.
    pub fn take_sent(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.sent)
    }

    pub fn pump(&mut self) {
        loop {
            match self.server.poll_output(Instant::ZERO) {
                Output::Transmit(t) => {
                    assert!(t.rfc.is_some() && !t.reason.is_empty(), "{t:?}");
                    self.sent.extend_from_slice(&t.bytes);
                }
                Output::Event(e) => {
                    let answer = match &e {
                        ServerEvent::Deliver { .. } => {
                            let i = self.delivered.min(self.store_answers.len() - 1);
                            self.delivered += 1;
                            Some(self.store_answers[i].clone())
                        }
                        ServerEvent::CheckRecipient(_) => self.recipient_answer.clone(),
                        ServerEvent::CloseConnection => {
                            self.closed = true;
                            None
                        }
                        _ => None,
                    };
                    self.events.push(e);
                    if let Some(a) = answer {
                        self.server.handle_input(Instant::ZERO, Input::Command(a)).expect("driver answer");
                    }
                }
                Output::Transition(t) => self.transitions.push(format!("{} -> {}", t.from, t.to)),
                Output::Metric(_) => {}
                Output::Idle { .. } => break,
            }
        }
    }
}

/// A client and everything it did.
#[derive(Debug)]
pub struct ClientRun {
    pub client: SmtpClient,
    pub sent: Vec<u8>,
    pub events: Vec<ClientEvent>,
}

impl ClientRun {
    pub fn new(config: ClientConfig) -> ClientRun {
        ClientRun { client: SmtpClient::new(config), sent: Vec::new(), events: Vec::new() }
    }

    pub fn command(&mut self, line: &str) {
        let c = line.parse().expect("a client command");
        self.client.handle_input(Instant::ZERO, Input::Command(c)).expect("accepted");
        self.pump();
    }

    pub fn connect(&mut self) {
        self.client.on_connected(Instant::ZERO).expect("connected");
        self.pump();
    }

    pub fn feed(&mut self, bytes: &[u8]) {
        self.client.handle_input(Instant::ZERO, Input::Receive { from: SERVER, bytes }).expect("receive");
        self.pump();
    }

    pub fn pump(&mut self) {
        loop {
            match self.client.poll_output(Instant::ZERO) {
                Output::Transmit(t) => {
                    assert!(t.rfc.is_some() && !t.reason.is_empty(), "{t:?}");
                    self.sent.extend_from_slice(&t.bytes);
                }
                Output::Event(e) => self.events.push(e),
                Output::Transition(_) | Output::Metric(_) => {}
                Output::Idle { .. } => break,
            }
        }
    }
}
