//! A hostile or broken peer: arbitrary well-formed segments (valid checksums, any flags,
//! sequence and acknowledgment numbers near the real ones or anywhere) and arbitrary
//! commands, in every state the handshake and close pass through. The machine may refuse
//! them, answer with RST or ACK, or change state as RFC 9293 says, but never panic.
#![cfg(not(target_arch = "wasm32"))]

use proptest::prelude::*;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;
use wirelab_core::{Input, Instant, Machine, Output};
use wirelab_tcp::{Command, Config, Flags, Segment, Tcp};

const A: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 10)), 49152);
const B: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 80)), 80);

/// Outputs until idle: (segments sent, the timer asked for).
fn drain(m: &mut Tcp, now: Instant) -> (Vec<Vec<u8>>, Option<Instant>) {
    let mut sent = Vec::new();
    for _ in 0..1_000 {
        match m.poll_output(now) {
            Output::Transmit(t) => sent.push(t.bytes),
            Output::Idle { wake_at } => return (sent, wake_at),
            _ => {}
        }
    }
    panic!("a machine that never goes idle");
}

#[derive(Debug, Clone)]
enum Op {
    /// Deliver the next segment the other side sent, if any.
    Deliver,
    /// A forged segment from the peer's address: offsets relative to the real numbers.
    Forge {
        flags: u8,
        seq_off: i64,
        ack_off: i64,
        window: u16,
        payload: Vec<u8>,
    },
    Command(u8),
    /// Let time pass to the machine's timer.
    Wait,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => Just(Op::Deliver),
        3 => (any::<u8>(), -3i64..70_000, -3i64..70_000, any::<u16>(), prop::collection::vec(any::<u8>(), 0..8))
            .prop_map(|(flags, seq_off, ack_off, window, payload)| Op::Forge { flags, seq_off, ack_off, window, payload }),
        1 => (0u8..5).prop_map(Op::Command),
        1 => Just(Op::Wait),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn no_input_sequence_panics(seed in any::<u64>(), ops in prop::collection::vec(op(), 1..60)) {
        let mut cfg_c = Config::new(A, seed);
        cfg_c.msl = Duration::from_millis(50);
        let mut cfg_s = Config::new(B, seed);
        cfg_s.msl = Duration::from_millis(50);
        let mut client = Tcp::new(cfg_c);
        let mut server = Tcp::new(cfg_s);
        let mut now = Instant::ZERO;
        server.handle_input(now, Input::Command(Command::Listen)).expect("listen");
        client.handle_input(now, Input::Command(Command::Connect(B))).expect("connect");
        let (mut to_server, _) = drain(&mut client, now);
        drain(&mut server, now);
        let mut last_seen: Option<Segment> = None;
        for op in ops {
            now += Duration::from_millis(3);
            match op {
                Op::Deliver => {
                    if !to_server.is_empty() {
                        let seg = to_server.remove(0);
                        last_seen = Segment::parse(&seg).ok();
                        let _ = server.handle_input(now, Input::Receive { from: A, bytes: &seg });
                        let (replies, _) = drain(&mut server, now);
                        for r in replies {
                            let _ = client.handle_input(now, Input::Receive { from: B, bytes: &r });
                            to_server.extend(drain(&mut client, now).0);
                        }
                    }
                }
                Op::Forge { flags, seq_off, ack_off, window, payload } => {
                    let base = last_seen.as_ref().map_or((0, 0), |s| (s.seq, s.ack));
                    let seg = Segment {
                        src_port: A.port(),
                        dst_port: B.port(),
                        seq: base.0.wrapping_add(seq_off as u32),
                        ack: base.1.wrapping_add(ack_off as u32),
                        flags: Flags(flags),
                        window,
                        urgent: 0,
                        options: vec![],
                        payload,
                    };
                    let bytes = seg.emit(A.ip(), B.ip());
                    let _ = server.handle_input(now, Input::Receive { from: A, bytes: &bytes });
                    drain(&mut server, now);
                }
                Op::Command(c) => {
                    let cmd = match c {
                        0 => Command::Close,
                        1 => Command::Abort,
                        2 => Command::Send(b"data".to_vec()),
                        3 => Command::Listen,
                        _ => Command::Connect(A),
                    };
                    let _ = client.handle_input(now, Input::Command(cmd.clone()));
                    to_server.extend(drain(&mut client, now).0);
                    let _ = server.handle_input(now, Input::Command(cmd));
                    drain(&mut server, now);
                }
                Op::Wait => {
                    for m in [&mut client, &mut server] {
                        if let (_, Some(at)) = drain(m, now) {
                            now = now.max(at);
                            let _ = m.handle_input(now, Input::Timeout);
                        }
                    }
                    to_server.extend(drain(&mut client, now).0);
                    drain(&mut server, now);
                }
            }
            // Always one of the eleven RFC states.
            prop_assert!(wirelab_tcp::TcpState::ALL.contains(&server.state()));
            prop_assert!(wirelab_tcp::TcpState::ALL.contains(&client.state()));
        }
    }
}
