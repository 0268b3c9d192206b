//! Golden transcripts lifted from RFC 9293's own figures, replayed with the RFC's own
//! sequence numbers (fixed ISS). A transcript is a list of lines:
//!
//! - `iss A 100`: peer A's initial sequence number;
//! - `A: connect`, `B: listen`, `A: close`, `A: send hello`: a command (A connects to B);
//! - `A sends <SEQ=100><ACK=300><CTL=FIN,ACK><DATA>`: the next segment A put on the wire,
//!   as the RFC writes it (every segment must be stated, in order);
//! - `deliver A`: the oldest of A's segments still in flight reaches B;
//! - `A state FIN-WAIT-1`: A's state, as the RFC spells it;
//! - `~ 2MSL`: time passes until the TIME-WAIT timers have run.
#![cfg(not(target_arch = "wasm32"))]

use core::time::Duration;
use std::collections::VecDeque;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use wirelab_core::{Input, Instant, Machine, Output};
use wirelab_tcp::{Config, Flags, Segment, Tcp};

const ADDR: [SocketAddr; 2] = [
    SocketAddr::new(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 10)), 49152),
    SocketAddr::new(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 80)), 80),
];
const MSL: Duration = Duration::from_secs(1);

struct Peer {
    tcp: Option<Tcp>,
    iss: Option<u32>,
    /// Segments sent and not yet stated by a `sends` line.
    unstated: VecDeque<Segment>,
    /// Segments sent and not yet delivered.
    in_flight: VecDeque<Vec<u8>>,
    wake_at: Option<Instant>,
}

/// The RFC's notation for a segment: `<SEQ=100><ACK=300><CTL=FIN,ACK><DATA>`.
fn notation(s: &Segment) -> String {
    let mut out = format!("<SEQ={}>", s.seq);
    if s.flags.contains(Flags::ACK) {
        out.push_str(&format!("<ACK={}>", s.ack));
    }
    // The RFC's figures name SYN, FIN and RST before ACK, and never PSH.
    let ctl: Vec<&str> = [(Flags::SYN, "SYN"), (Flags::FIN, "FIN"), (Flags::RST, "RST"), (Flags::ACK, "ACK")]
        .iter()
        .filter(|(f, _)| s.flags.contains(*f))
        .map(|(_, n)| *n)
        .collect();
    out.push_str(&format!("<CTL={}>", ctl.join(",")));
    if !s.payload.is_empty() {
        out.push_str("<DATA>");
    }
    out
}

fn peer_index(name: &str) -> usize {
    match name {
        "A" => 0,
        "B" => 1,
        other => panic!("unknown peer {other}"),
    }
}

fn run(name: &str, text: &str) {
    let mut peers: Vec<Peer> = (0..2)
        .map(|_| Peer { tcp: None, iss: None, unstated: VecDeque::new(), in_flight: VecDeque::new(), wake_at: None })
        .collect();
    let mut now = Instant::ZERO;
    let machine = |peers: &mut Vec<Peer>, i: usize| -> Tcp {
        let mut cfg = Config::new(ADDR[i], 1);
        cfg.iss = peers[i].iss;
        cfg.msl = MSL;
        Tcp::new(cfg)
    };
    let drain = |peers: &mut Vec<Peer>, i: usize, now: Instant| {
        let p = &mut peers[i];
        let Some(tcp) = p.tcp.as_mut() else { return };
        loop {
            match tcp.poll_output(now) {
                Output::Transmit(t) => {
                    p.unstated.push_back(Segment::parse(&t.bytes).expect("our own segment parses"));
                    p.in_flight.push_back(t.bytes);
                }
                Output::Idle { wake_at } => {
                    p.wake_at = wake_at;
                    return;
                }
                _ => {}
            }
        }
    };
    for (n, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let at = format!("{name}:{}: {line}", n + 1);
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            ["iss", p, v] => peers[peer_index(p)].iss = Some(v.parse().expect("a number")),
            [p, "sends", seg] => {
                let i = peer_index(p);
                let got = peers[i].unstated.pop_front().map(|s| notation(&s));
                assert_eq!(got.as_deref(), Some(*seg), "{at}");
            }
            [p, "state", s] => {
                let i = peer_index(p);
                let state = peers[i].tcp.as_ref().map_or("CLOSED".to_string(), |t| t.state().to_string());
                assert_eq!(state, *s, "{at}");
            }
            ["deliver", p] => {
                let i = peer_index(p);
                let bytes = peers[i].in_flight.pop_front().unwrap_or_else(|| panic!("{at}: nothing in flight"));
                let j = 1 - i;
                if peers[j].tcp.is_none() {
                    peers[j].tcp = Some(machine(&mut peers, j));
                }
                if let Some(tcp) = peers[j].tcp.as_mut() {
                    tcp.handle_input(now, Input::Receive { from: ADDR[i], bytes: &bytes }).expect(&at);
                }
                drain(&mut peers, j, now);
            }
            ["~", "2MSL"] => {
                now += MSL * 2;
                for i in 0..2 {
                    if peers[i].wake_at.is_some_and(|w| w <= now) {
                        if let Some(tcp) = peers[i].tcp.as_mut() {
                            tcp.handle_input(now, Input::Timeout).expect(&at);
                        }
                        drain(&mut peers, i, now);
                    }
                }
            }
            [p, cmd @ ..] if p.ends_with(':') => {
                let i = peer_index(p.trim_end_matches(':'));
                if peers[i].tcp.is_none() {
                    peers[i].tcp = Some(machine(&mut peers, i));
                }
                let line = match cmd {
                    ["connect"] => format!("connect {}", ADDR[1 - i]),
                    _ => cmd.join(" "),
                };
                let command = line.parse().unwrap_or_else(|e| panic!("{at}: {e}"));
                if let Some(tcp) = peers[i].tcp.as_mut() {
                    tcp.handle_input(now, Input::Command(command)).expect(&at);
                }
                drain(&mut peers, i, now);
            }
            _ => panic!("{at}: not a transcript line"),
        }
    }
    for (i, p) in peers.iter().enumerate() {
        let left: Vec<String> = p.unstated.iter().map(notation).collect();
        assert!(
            left.is_empty(),
            "{name}: peer {} sent segments the transcript does not state: {left:?}",
            ["A", "B"][i]
        );
    }
}

macro_rules! transcript {
    ($test:ident, $file:literal) => {
        #[test]
        fn $test() {
            run($file, include_str!(concat!("transcripts/", $file)));
        }
    };
}

transcript!(rfc9293_figure_6_three_way_handshake, "rfc9293-fig6-handshake.txt");
transcript!(rfc9293_figure_7_simultaneous_open, "rfc9293-fig7-simultaneous-open.txt");
transcript!(rfc9293_figure_12_normal_close, "rfc9293-fig12-normal-close.txt");
transcript!(rfc9293_figure_13_simultaneous_close, "rfc9293-fig13-simultaneous-close.txt");
