//! The simulated network's faults, each on its own and all together, with a tiny test
//! machine that sends numbered 100-byte frames and records what reaches it.
#![cfg(not(target_arch = "wasm32"))]

use core::time::Duration;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use wirelab_core::{Annotation, Input, Instant, LinkConfig, Machine, Output, Sim, Trace, TraceKind, Transmit};

const A: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)), 9);
const B: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 2)), 9);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Up;
impl fmt::Display for Up {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("UP")
    }
}

/// `send N` puts N frames of 100 bytes on the wire at once, numbered in their first byte.
#[derive(Clone, Debug)]
struct Blaster {
    me: SocketAddr,
    peer: SocketAddr,
    out: Vec<Transmit>,
    got: Vec<Vec<u8>>,
}

#[derive(Debug)]
struct Send(u8);
impl fmt::Display for Send {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "send {}", self.0)
    }
}
impl std::str::FromStr for Send {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        s.strip_prefix("send ").and_then(|n| n.parse().ok()).map(Send).ok_or_else(|| format!("bad command {s:?}"))
    }
}

impl Machine for Blaster {
    type State = Up;
    type Command = Send;
    type Event = String;
    type Error = String;
    fn state(&self) -> Up {
        Up
    }
    fn handle_input(&mut self, _now: Instant, input: Input<'_, Send>) -> Result<(), String> {
        match input {
            Input::Command(Send(n)) => {
                for i in 0..n {
                    let mut bytes = vec![0u8; 100];
                    bytes[0] = i;
                    self.out.push(Transmit { from: self.me, to: self.peer, bytes, reason: "".into(), rfc: None });
                }
            }
            Input::Receive { bytes, .. } => self.got.push(bytes.to_vec()),
            Input::Timeout => {}
        }
        Ok(())
    }
    fn poll_output(&mut self, _now: Instant) -> Output<Up, String> {
        if self.out.is_empty() { Output::Idle { wake_at: None } } else { Output::Transmit(self.out.remove(0)) }
    }
    fn annotate(bytes: &[u8]) -> Annotation {
        Annotation {
            protocol: "TEST".into(),
            summary: format!("#{}", bytes.first().copied().unwrap_or(0)),
            ..Default::default()
        }
    }
}

fn run(seed: u64, link: LinkConfig, frames: u8, setup: impl FnOnce(&mut Sim)) -> Trace {
    let mut sim = Sim::new(seed, link);
    let blaster = |me, peer| Box::new(Blaster { me, peer, out: vec![], got: vec![] });
    let a = sim.add_node("a", A.ip(), blaster(A, B));
    sim.add_node("b", B.ip(), blaster(B, A));
    setup(&mut sim);
    sim.command_at(Instant::ZERO, a, &format!("send {frames}")).expect("node a");
    sim.run(10_000).expect("settles");
    sim.into_trace()
}

/// (frame number, arrival time, duplicate?, corrupted bit) of each delivery, in order.
fn deliveries(t: &Trace) -> Vec<(u8, Instant, bool, Option<usize>)> {
    t.events
        .iter()
        .filter_map(|e| match &e.kind {
            TraceKind::Delivered { sent_seq, duplicate, corrupted_bit } => {
                Some((t.frame(*sent_seq)?.bytes[0], e.at, *duplicate, *corrupted_bit))
            }
            _ => None,
        })
        .collect()
}

fn drops(t: &Trace) -> Vec<String> {
    t.events
        .iter()
        .filter_map(|e| match &e.kind {
            TraceKind::Dropped { why, .. } => Some(why.clone()),
            _ => None,
        })
        .collect()
}

#[test]
fn bandwidth_serialises_frames_and_a_full_queue_tail_drops() {
    // 120 bytes on the wire (100 + a 20-byte IP header) = 960 bits; at 96 kbit/s, 10 ms each.
    let link = LinkConfig { bandwidth_bps: Some(96_000), queue_limit: 4, ..LinkConfig::default() };
    let t = run(1, link, 10, |_| {});
    let d = deliveries(&t);
    // One on the wire and four waiting get through; the other five find the queue full.
    assert_eq!(d.iter().map(|x| x.0).collect::<Vec<_>>(), [0, 1, 2, 3, 4]);
    let ms: Vec<u64> = d.iter().map(|x| x.1.as_micros() / 1000).collect();
    assert_eq!(ms, [20, 30, 40, 50, 60], "10 ms on the wire each, then 10 ms of latency");
    let dropped = drops(&t);
    assert_eq!(dropped.len(), 5);
    assert!(dropped.iter().all(|w| w.contains("tail drop")), "{dropped:?}");
}

#[test]
fn reordering_lets_later_frames_overtake() {
    let link = LinkConfig { reorder: 0.3, ..LinkConfig::default() };
    let t = run(7, link.clone(), 40, |_| {});
    let order: Vec<u8> = deliveries(&t).iter().map(|x| x.0).collect();
    assert_eq!(order.len(), 40, "nothing lost");
    assert!(order.windows(2).any(|w| w[0] > w[1]), "some frame overtaken: {order:?}");
    assert_eq!(t, run(7, link, 40, |_| {}), "same seed, same order");
}

#[test]
fn duplication_delivers_a_marked_second_copy() {
    let t = run(1, LinkConfig { duplicate: 1.0, ..LinkConfig::default() }, 5, |_| {});
    let d = deliveries(&t);
    assert_eq!(d.len(), 10);
    assert_eq!(d.iter().filter(|x| x.2).count(), 5);
    assert!(
        t.narrate(t.events.iter().rposition(|e| matches!(e.kind, TraceKind::Delivered { .. })).unwrap_or(0))
            .contains("duplicated")
    );
}

#[test]
fn corruption_flips_exactly_one_bit_and_says_which() {
    let t = run(3, LinkConfig { corrupt: 1.0, ..LinkConfig::default() }, 6, |_| {});
    let d = deliveries(&t);
    assert_eq!(d.len(), 6);
    assert!(d.iter().all(|x| x.3.is_some_and(|bit| bit < 800)));
}

#[test]
fn a_manual_delay_holds_one_frame_back() {
    // Event 0 is the command; the frames are sent as events 1..=5.
    let t = run(1, LinkConfig::default(), 5, |sim| sim.delay_transmission(2, Duration::from_millis(50)));
    let order: Vec<u8> = deliveries(&t).iter().map(|x| x.0).collect();
    assert_eq!(order, [0, 2, 3, 4, 1]);
}

#[test]
fn links_are_configured_per_direction() {
    let t = run(1, LinkConfig::default(), 3, |sim| {
        sim.set_link(0, 1, LinkConfig { loss: 1.0, ..LinkConfig::default() });
    });
    assert!(deliveries(&t).is_empty());
    assert_eq!(drops(&t).len(), 3);
}

#[test]
fn all_faults_at_once_replay_bit_for_bit() {
    let link = LinkConfig {
        latency: Duration::from_millis(5),
        jitter: Duration::from_millis(3),
        loss: 0.1,
        bandwidth_bps: Some(1_000_000),
        queue_limit: 20,
        reorder: 0.1,
        duplicate: 0.1,
        corrupt: 0.1,
    };
    let a = run(11, link.clone(), 50, |_| {});
    assert_eq!(a, run(11, link.clone(), 50, |_| {}));
    assert_ne!(a, run(12, link, 50, |_| {}));
}
