//! A client and a server joined by an ideal byte stream in virtual time (quinn's `Pair`):
//! each side's transmits queue up for the other, delivered in chunks of a chosen size so
//! frames and handshakes arrive split anywhere.
#![allow(dead_code)]

use core::time::Duration;
use std::collections::VecDeque;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use wirelab_core::{Input, Instant, Machine, Output, Transition};
use wirelab_ws::{Command, Config, Event, WebSocket, WsError, WsState};

pub const CLIENT: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 10)), 49152);
pub const SERVER: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 80)), 80);

/// One endpoint and everything it has put out.
pub struct Side {
    pub ws: WebSocket,
    /// Bytes on their way to this side.
    pub inbox: VecDeque<u8>,
    /// Every transmit this side made, one per frame or handshake message.
    pub sent: Vec<Vec<u8>>,
    pub events: Vec<Event>,
    pub transitions: Vec<Transition<WsState>>,
    pub errors: Vec<WsError>,
    pub wake: Option<Instant>,
}

impl Side {
    fn new(config: Config) -> Side {
        Side {
            ws: WebSocket::new(config),
            inbox: VecDeque::new(),
            sent: vec![],
            events: vec![],
            transitions: vec![],
            errors: vec![],
            wake: None,
        }
    }

    pub fn state(&self) -> WsState {
        self.ws.state()
    }

    /// Takes the events so far.
    pub fn take_events(&mut self) -> Vec<Event> {
        std::mem::take(&mut self.events)
    }
}

pub struct Pair {
    pub client: Side,
    pub server: Side,
    pub now: Instant,
    /// Bytes per delivery: 1 cuts every frame at every byte.
    pub chunk: usize,
}

pub fn client_config() -> Config {
    Config::client(CLIENT, SERVER, 7)
}

pub fn server_config() -> Config {
    Config::server(SERVER, CLIENT, 7)
}

impl Pair {
    pub fn new() -> Pair {
        Pair::with(client_config(), server_config())
    }

    pub fn with(client: Config, server: Config) -> Pair {
        Pair { client: Side::new(client), server: Side::new(server), now: Instant::ZERO, chunk: usize::MAX }
    }

    /// A pair whose opening handshake is done, events cleared.
    pub fn open() -> Pair {
        let mut p = Pair::new();
        p.client_cmd(Command::Connect);
        p.run();
        assert_eq!((p.client.state(), p.server.state()), (WsState::Open, WsState::Open));
        p.client.events.clear();
        p.server.events.clear();
        p
    }

    fn drain(side: &mut Side, peer_inbox: &mut VecDeque<u8>, now: Instant) {
        loop {
            match side.ws.poll_output(now) {
                Output::Transmit(t) => {
                    peer_inbox.extend(&t.bytes);
                    side.sent.push(t.bytes);
                }
                Output::Event(e) => side.events.push(e),
                Output::Transition(t) => side.transitions.push(t),
                Output::Metric(_) => {}
                Output::Idle { wake_at } => {
                    side.wake = wake_at;
                    break;
                }
            }
        }
    }

    pub fn drain_both(&mut self) {
        Pair::drain(&mut self.client, &mut self.server.inbox, self.now);
        Pair::drain(&mut self.server, &mut self.client.inbox, self.now);
    }

    pub fn client_cmd(&mut self, c: Command) {
        self.client.ws.handle_input(self.now, Input::Command(c)).expect("the client accepts the command");
        self.drain_both();
    }

    pub fn server_cmd(&mut self, c: Command) {
        self.server.ws.handle_input(self.now, Input::Command(c)).expect("the server accepts the command");
        self.drain_both();
    }

    fn deliver(side: &mut Side, from: SocketAddr, chunk: usize, now: Instant) -> bool {
        if side.inbox.is_empty() {
            return false;
        }
        let n = chunk.min(side.inbox.len());
        let bytes: Vec<u8> = side.inbox.drain(..n).collect();
        if let Err(e) = side.ws.handle_input(now, Input::Receive { from, bytes: &bytes }) {
            side.errors.push(e);
        }
        true
    }

    /// Delivers everything in flight, in chunks, until both sides are quiet.
    pub fn run(&mut self) {
        loop {
            let a = Pair::deliver(&mut self.server, CLIENT, self.chunk, self.now);
            self.drain_both();
            let b = Pair::deliver(&mut self.client, SERVER, self.chunk, self.now);
            self.drain_both();
            if !a && !b {
                break;
            }
        }
    }

    /// Moves virtual time forward by `d` and fires any timer that came due.
    pub fn advance(&mut self, d: Duration) {
        self.now += d;
        for side in [&mut self.client, &mut self.server] {
            if side.wake.is_some_and(|w| w <= self.now) {
                side.ws.handle_input(self.now, Input::Timeout).expect("timeouts never fail");
            }
        }
        self.drain_both();
    }

    /// Raw bytes to the server, as if from a hostile client.
    pub fn send_server(&mut self, bytes: &[u8]) -> Result<(), WsError> {
        let r = self.server.ws.handle_input(self.now, Input::Receive { from: CLIENT, bytes });
        Pair::drain(&mut self.server, &mut VecDeque::new(), self.now);
        r
    }

    /// Raw bytes to the client, as if from a hostile server.
    pub fn send_client(&mut self, bytes: &[u8]) -> Result<(), WsError> {
        let r = self.client.ws.handle_input(self.now, Input::Receive { from: SERVER, bytes });
        Pair::drain(&mut self.client, &mut VecDeque::new(), self.now);
        r
    }
}
