//! Shared by the POP3 tests: addresses, the maildrop of RFC 1939 §10, golden transcripts,
//! a driver that answers the server's questions, and pumps that run a machine to idle.
#![allow(dead_code)]

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use wirelab_core::{Input, Instant, Machine, Output, StreamApp};
use wirelab_pop3::md5::apop_digest;
use wirelab_pop3::{
    ClientConfig, ClientEvent, MessageInfo, Pop3Client, Pop3Server, ServerCommand, ServerConfig, ServerEvent,
};

pub const CLIENT: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 10)), 49152);
pub const SERVER: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 110)), 110);

/// The greeting timestamp and shared secret of RFC 1939 §7's APOP example.
pub const TIMESTAMP: &str = "<1896.697170952@dbc.mtview.ca.us>";
pub const SECRET: &str = "tanstaaf";

/// A message of exactly `size` octets with a header, a line starting with a period (so
/// it is byte-stuffed on the wire) and a line holding only a period.
pub fn message(n: u32, size: usize) -> Vec<u8> {
    let mut m = format!("From: <Smith@bar.com>\r\nSubject: message {n}\r\n\r\n.a line starting with a period\r\n.\r\n")
        .into_bytes();
    assert!(m.len() + 2 <= size);
    let fill = size - m.len() - 2;
    m.extend(std::iter::repeat_n(b'x', fill));
    m.extend_from_slice(b"\r\n");
    m
}

/// RFC 1939 §10's maildrop: two messages, 120 and 200 octets.
pub fn maildrop() -> Vec<(MessageInfo, Vec<u8>)> {
    vec![
        (MessageInfo { uid: "whqtswO00WBw418f9t5JxYwZ".into(), size: 120 }, message(1, 120)),
        (MessageInfo { uid: "QhdPYR:00WBw1Ph7x7".into(), size: 200 }, message(2, 200)),
    ]
}

/// One step of a transcript.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    /// Bytes the server sends.
    Server(Vec<u8>),
    /// Bytes the client sends.
    Client(Vec<u8>),
    /// `C: <open connection>`
    Open,
    /// `C: <close connection>`
    Close,
}

/// Reads a transcript: consecutive lines of one speaker become one step; lines in angle
/// brackets are actions, and `<the POP3 server sends message N>` becomes message N's
/// lines, byte-stuffed.
pub fn transcript(text: &str, messages: &[Vec<u8>]) -> Vec<Step> {
    let mut steps: Vec<Step> = Vec::new();
    for l in text.lines().map(str::trim_start).filter(|l| !l.is_empty() && !l.starts_with('#')) {
        let (server, said) = if let Some(s) = l.strip_prefix("S:") {
            (true, s.trim_start())
        } else if let Some(c) = l.strip_prefix("C:") {
            (false, c.trim_start())
        } else {
            panic!("not a transcript line: {l:?}")
        };
        let bytes = if let Some(n) = said.strip_prefix("<the POP3 server sends message ") {
            let n: usize = n.trim_end_matches('>').parse().expect("a message number");
            let stuffed = wirelab_pop3::wire::stuff(&messages[n - 1]);
            stuffed[..stuffed.len() - 3].to_vec()
        } else if said == "<open connection>" {
            steps.push(Step::Open);
            continue;
        } else if said == "<close connection>" {
            steps.push(Step::Close);
            continue;
        } else if said.starts_with("<wait for") {
            continue;
        } else {
            format!("{said}\r\n").into_bytes()
        };
        match (steps.last_mut(), server) {
            (Some(Step::Server(b)), true) | (Some(Step::Client(b)), false) => b.extend(bytes),
            _ => steps.push(if server { Step::Server(bytes) } else { Step::Client(bytes) }),
        }
    }
    steps
}

/// A server with the §10 maildrop behind it.
#[derive(Debug)]
pub struct ServerRun {
    pub server: Pop3Server,
    pub maildrop: Vec<(MessageInfo, Vec<u8>)>,
    pub sent: Vec<u8>,
    pub events: Vec<ServerEvent>,
    /// What the driver removed from the maildrop.
    pub removed: Vec<String>,
    pub closed: bool,
    /// Whether the driver answers on its own.
    pub auto: bool,
    /// The answer to Delete.
    pub delete_answer: Result<(), String>,
}

impl ServerRun {
    pub fn new() -> ServerRun {
        let mut config = ServerConfig::new(SERVER, "dewey");
        config.apop_timestamp = Some(TIMESTAMP.into());
        ServerRun::with(config)
    }

    pub fn with(config: ServerConfig) -> ServerRun {
        ServerRun {
            server: Pop3Server::new(config),
            maildrop: maildrop(),
            sent: Vec::new(),
            events: Vec::new(),
            removed: Vec::new(),
            closed: false,
            auto: true,
            delete_answer: Ok(()),
        }
    }

    pub fn open(&mut self) {
        self.server.on_connected(Instant::ZERO).expect("connected");
        self.pump();
    }

    /// A server past the greeting and logged in as mrose.
    pub fn logged_in() -> ServerRun {
        let mut run = ServerRun::new();
        run.open();
        run.line("USER mrose");
        run.line("PASS secret");
        run.take_sent();
        run
    }

    pub fn feed(&mut self, bytes: &[u8]) {
        self.server.handle_input(Instant::ZERO, Input::Receive { from: CLIENT, bytes }).expect("receive");
        self.pump();
    }

    pub fn line(&mut self, line: &str) {
        self.feed(format!("{line}\r\n").as_bytes());
    }

    pub fn command(&mut self, c: ServerCommand) {
        self.server.handle_input(Instant::ZERO, Input::Command(c)).expect("driver answer");
        self.pump();
    }

    pub fn take_sent(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.sent)
    }

    /// The status lines of what was sent since the last call (`+OK …` / `-ERR …`).
    pub fn statuses(&mut self) -> Vec<String> {
        let sent = self.take_sent();
        String::from_utf8_lossy(&sent)
            .split("\r\n")
            .filter(|l| l.starts_with("+OK") || l.starts_with("-ERR"))
            .map(str::to_string)
            .collect()
    }

    fn answer(&mut self, e: &ServerEvent) -> Option<ServerCommand> {
        let list = || self.maildrop.iter().map(|(i, _)| i.clone()).collect::<Vec<_>>();
        Some(match e {
            ServerEvent::Authenticate { user, pass } => {
                if user == "mrose" && pass == "secret" {
                    ServerCommand::Maildrop(Ok(list()))
                } else {
                    ServerCommand::Maildrop(Err("invalid password".into()))
                }
            }
            ServerEvent::AuthenticateApop { user, timestamp, digest } => {
                if user == "mrose" && *digest == apop_digest(timestamp, SECRET) {
                    ServerCommand::Maildrop(Ok(list()))
                } else {
                    ServerCommand::Maildrop(Err("permission denied".into()))
                }
            }
            ServerEvent::Fetch { n, uid } => {
                let (info, content) = &self.maildrop[*n as usize - 1];
                assert_eq!(&info.uid, uid);
                ServerCommand::Message(Ok(content.clone()))
            }
            ServerEvent::Delete { uids } => {
                if self.delete_answer.is_ok() {
                    self.removed.extend(uids.iter().cloned());
                }
                ServerCommand::Deleted(self.delete_answer.clone())
            }
            _ => return None,
        })
    }

    pub fn pump(&mut self) {
        loop {
            match self.server.poll_output(Instant::ZERO) {
                Output::Transmit(t) => {
                    assert!(t.rfc.is_some() && !t.reason.is_empty(), "{t:?}");
                    self.sent.extend_from_slice(&t.bytes);
                }
                Output::Event(e) => {
                    if e == ServerEvent::CloseConnection {
                        self.closed = true;
                    }
                    let answer = if self.auto { self.answer(&e) } else { None };
                    self.events.push(e);
                    if let Some(a) = answer {
                        self.server.handle_input(Instant::ZERO, Input::Command(a)).expect("driver answer");
                    }
                }
                Output::Transition(_) | Output::Metric(_) => {}
                Output::Idle { .. } => break,
            }
        }
    }
}

/// A client and everything it did.
#[derive(Debug)]
pub struct ClientRun {
    pub client: Pop3Client,
    pub sent: Vec<u8>,
    pub events: Vec<ClientEvent>,
}

impl ClientRun {
    pub fn new() -> ClientRun {
        ClientRun { client: Pop3Client::new(ClientConfig::new(CLIENT, SERVER)), sent: Vec::new(), events: Vec::new() }
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
