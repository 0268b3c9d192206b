//! A client and a server joined by an in-test pipe, in virtual time: every transmit is
//! delivered in order after 1 ms, and `CloseConnection` on one side becomes `eof` on the
//! other once the bytes before it have arrived.
#![allow(dead_code)]

use std::collections::VecDeque;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;
use wirelab_core::{Input, Instant, Machine, Output};
use wirelab_http::{ClientCommand, ClientConfig, ClientEvent, HttpClient, HttpServer, ServerConfig, ServerEvent};

pub const CLIENT: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 10)), 49152);
pub const SERVER: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 80)), 80);

#[derive(Debug)]
enum Piece {
    Bytes(Vec<u8>),
    Eof,
}

#[derive(Debug)]
pub struct Pair {
    pub client: HttpClient,
    pub server: HttpServer,
    pub now: Instant,
    to_server: VecDeque<Piece>,
    to_client: VecDeque<Piece>,
    /// Every transmit, in order: (true if client → server, bytes).
    pub wire: Vec<(bool, Vec<u8>)>,
    pub client_events: Vec<ClientEvent>,
    pub server_events: Vec<ServerEvent>,
    /// Every state a machine went through, as `IDLE -> WAITING-RESPONSE`.
    pub client_transitions: Vec<String>,
    pub server_transitions: Vec<String>,
}

impl Pair {
    pub fn new() -> Pair {
        Pair::with(ClientConfig::new(CLIENT, SERVER, "example.com"), ServerConfig::new(SERVER))
    }

    pub fn with(client: ClientConfig, server: ServerConfig) -> Pair {
        Pair {
            client: HttpClient::new(client),
            server: HttpServer::new(server),
            now: Instant::ZERO,
            to_server: VecDeque::new(),
            to_client: VecDeque::new(),
            wire: Vec::new(),
            client_events: Vec::new(),
            server_events: Vec::new(),
            client_transitions: Vec::new(),
            server_transitions: Vec::new(),
        }
    }

    pub fn command(&mut self, line: &str) {
        let c: ClientCommand = line.parse().expect("a client command");
        self.client.handle_input(self.now, Input::Command(c)).expect("command accepted");
        self.run();
    }

    /// Bytes into the server as if the client had sent them.
    pub fn raw_to_server(&mut self, bytes: &[u8]) {
        self.to_server.push_back(Piece::Bytes(bytes.to_vec()));
        self.run();
    }

    fn drain(&mut self) {
        loop {
            match self.client.poll_output(self.now) {
                Output::Transmit(t) => {
                    assert_eq!((t.from, t.to), (CLIENT, SERVER));
                    self.wire.push((true, t.bytes.clone()));
                    self.to_server.push_back(Piece::Bytes(t.bytes));
                }
                Output::Event(ClientEvent::CloseConnection) => {
                    self.client_events.push(ClientEvent::CloseConnection);
                    self.to_server.push_back(Piece::Eof);
                }
                Output::Event(e) => self.client_events.push(e),
                Output::Transition(t) => self.client_transitions.push(format!("{} -> {}", t.from, t.to)),
                Output::Metric(_) => {}
                Output::Idle { .. } => break,
            }
        }
        loop {
            match self.server.poll_output(self.now) {
                Output::Transmit(t) => {
                    assert_eq!((t.from, t.to), (SERVER, CLIENT));
                    assert!(t.rfc.is_some() && !t.reason.is_empty());
                    self.wire.push((false, t.bytes.clone()));
                    self.to_client.push_back(Piece::Bytes(t.bytes));
                }
                Output::Event(ServerEvent::CloseConnection) => {
                    self.server_events.push(ServerEvent::CloseConnection);
                    self.to_client.push_back(Piece::Eof);
                }
                Output::Event(e) => self.server_events.push(e),
                Output::Transition(t) => self.server_transitions.push(format!("{} -> {}", t.from, t.to)),
                Output::Metric(_) => {}
                Output::Idle { .. } => break,
            }
        }
    }

    /// Delivers everything in flight, 1 ms per hop, until both sides are quiet.
    pub fn run(&mut self) {
        for _ in 0..1000 {
            self.drain();
            if self.to_server.is_empty() && self.to_client.is_empty() {
                return;
            }
            self.now += Duration::from_millis(1);
            while let Some(p) = self.to_server.pop_front() {
                let r = match p {
                    Piece::Bytes(b) => self.server.handle_input(self.now, Input::Receive { from: CLIENT, bytes: &b }),
                    Piece::Eof => self.server.peer_closed(self.now),
                };
                r.expect("server accepts");
            }
            while let Some(p) = self.to_client.pop_front() {
                let _ = match p {
                    Piece::Bytes(b) => self.client.handle_input(self.now, Input::Receive { from: SERVER, bytes: &b }),
                    Piece::Eof => self.client.peer_closed(self.now),
                };
            }
        }
        panic!("the pair did not settle");
    }

    /// The bytes sent one way, concatenated.
    pub fn sent(&self, by_client: bool) -> Vec<u8> {
        self.wire.iter().filter(|(c, _)| *c == by_client).flat_map(|(_, b)| b.clone()).collect()
    }

    /// `(status, body)` of each response the client got.
    pub fn responses(&self) -> Vec<(u16, Vec<u8>)> {
        self.client_events
            .iter()
            .filter_map(|e| match e {
                ClientEvent::Response { status, body, .. } => Some((*status, body.clone())),
                _ => None,
            })
            .collect()
    }
}

/// Feeds `bytes` into a fresh server and returns every transmit's bytes, concatenated,
/// and whether it asked to close.
pub fn serve(bytes: &[u8]) -> (Vec<u8>, bool) {
    serve_with(ServerConfig::new(SERVER), bytes)
}

pub fn serve_with(config: ServerConfig, bytes: &[u8]) -> (Vec<u8>, bool) {
    let mut s = HttpServer::new(config);
    s.handle_input(Instant::ZERO, Input::Receive { from: CLIENT, bytes }).expect("server accepts bytes");
    let mut out = Vec::new();
    let mut closed = false;
    loop {
        match s.poll_output(Instant::ZERO) {
            Output::Transmit(t) => out.extend_from_slice(&t.bytes),
            Output::Event(ServerEvent::CloseConnection) => closed = true,
            Output::Idle { .. } => break,
            _ => {}
        }
    }
    (out, closed)
}

/// The status codes of the responses in `bytes`, in order.
pub fn statuses(bytes: &[u8]) -> Vec<u16> {
    let mut p = wirelab_http::ResponseParser::new(wirelab_http::Limits::default());
    p.push(bytes);
    let mut out = Vec::new();
    while let Ok(Some(r)) = p.next_response() {
        out.push(r.status);
    }
    out
}

impl Pair {
    /// A command given without delivering anything yet (to pipeline several).
    pub fn queue(&mut self, line: &str) {
        let c: ClientCommand = line.parse().expect("a client command");
        self.client.handle_input(self.now, Input::Command(c)).expect("command accepted");
    }
}
