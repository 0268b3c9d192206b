//! A bulk transfer through two TCP implementations over the same simulated link: ours
//! (`wirelab-tcp`, the teaching machine) and smoltcp (a production embedded stack), so
//! the benchmark binaries can time both in one process and print the ratio.
//!
//! The link is deliberately simpler than `wirelab_core::Sim` (no trace is recorded):
//! what is timed is the two stacks, not the simulator. Per direction it has a fixed
//! latency, a bandwidth (serialisation delay, tail drop when more than `queue` bytes
//! wait) and independent random loss drawn from a seeded RNG. Both stacks' packets are
//! charged the same 20-byte IPv4 header on the wire: smoltcp's packets carry one, ours
//! are TCP segments and get it added to their size.
//!
//! Nothing here reads a clock: virtual time only. The callers (the native `tcp-bench`
//! binary and the browser bench) measure wall time around [`transfer`].
//!
//! [`ws`] (native only) holds the WebSocket benchmarks of the `ws-bench` binary.

#[cfg(not(target_arch = "wasm32"))]
pub mod ws;

use smoltcp::iface::{Config as IfaceConfig, Interface, SocketHandle, SocketSet};
use smoltcp::phy::{self, Device, DeviceCapabilities, Medium};
use smoltcp::socket::tcp as stcp;
use smoltcp::wire::{HardwareAddress, IpAddress, IpCidr};
use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;
use wirelab_core::{Input, Instant, Machine, Output, SeededRng};
use wirelab_tcp::{Command, Config, Event, Tcp};

/// Which implementation to run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stack {
    /// `wirelab-tcp`: RFC 9293 + RFC 6298 + NewReno, emitting transitions, events and metrics.
    Ours,
    /// smoltcp 0.12 with Reno congestion control, ACKs not delayed.
    Smoltcp,
}

impl Stack {
    pub fn name(self) -> &'static str {
        match self {
            Stack::Ours => "wirelab-tcp",
            Stack::Smoltcp => "smoltcp 0.12",
        }
    }
}

/// The link both directions share the settings of.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LinkSpec {
    pub latency: Duration,
    pub bandwidth_bps: u64,
    /// Bytes that may wait for the wire before new packets are tail-dropped.
    pub queue: usize,
    /// Probability in [0, 1) that a packet is lost.
    pub loss: f64,
}

impl Default for LinkSpec {
    /// 10 ms one way, 100 Mbit/s, a 256 KB queue, 1% loss.
    fn default() -> Self {
        LinkSpec { latency: Duration::from_millis(10), bandwidth_bps: 100_000_000, queue: 256 * 1024, loss: 0.01 }
    }
}

/// What one transfer did, in virtual time and packets.
#[derive(Clone, Debug, PartialEq)]
pub struct Outcome {
    pub stack: Stack,
    pub bytes: usize,
    /// Packets either side put on the link (data and ACKs, including those lost).
    pub segments: u64,
    /// Payload bytes the sender put on the link (more than `bytes` by what it resent).
    pub payload_sent: u64,
    pub lost: u64,
    /// Of `segments`, those the receiver sent (ACKs, window updates).
    pub from_receiver: u64,
    /// From the first SYN to the last byte read by the receiving application.
    pub virtual_time: Duration,
}

impl Outcome {
    /// Payload bytes sent again, as a share of the file.
    pub fn resent_share(&self) -> f64 {
        (self.payload_sent as f64 - self.bytes as f64).max(0.0) / self.bytes as f64
    }

    /// Goodput in the simulated world, Mbit/s.
    pub fn goodput_mbps(&self) -> f64 {
        self.bytes as f64 * 8.0 / self.virtual_time.as_secs_f64() / 1e6
    }
}

/// Why a transfer did not finish.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BenchError {
    /// Neither side had anything left to do, and the data was not all there.
    Stalled { delivered: usize, at: Duration },
    /// Past the virtual-time limit (a bounded loop, whatever happens).
    TooLong { delivered: usize },
    /// A stack reported an error.
    Stack(String),
}

impl std::fmt::Display for BenchError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BenchError::Stalled { delivered, at } => write!(f, "stalled at {at:?} after {delivered} bytes"),
            BenchError::TooLong { delivered } => {
                write!(f, "not done within the virtual-time limit ({delivered} bytes)")
            }
            BenchError::Stack(e) => write!(f, "stack error: {e}"),
        }
    }
}

impl std::error::Error for BenchError {}

const SENDER: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
const RECEIVER: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);
const PORT: u16 = 5001;
const MSS: u16 = 1460;
/// Both stacks get the same 64 KiB - 1 receive window (neither scales it here).
const WINDOW: u16 = 65_535;
/// No run may take longer than this in virtual time.
const VIRTUAL_LIMIT: Duration = Duration::from_secs(3_600);

/// One endpoint as the link sees it.
trait Endpoint {
    fn receive(&mut self, now: Instant, packet: &[u8]) -> Result<(), BenchError>;
    /// Runs timers that are due and the application, then hands over what to send.
    fn poll(&mut self, now: Instant, out: &mut Vec<Vec<u8>>) -> Result<(), BenchError>;
    fn poll_at(&mut self, now: Instant) -> Option<Instant>;
    /// Bytes the application has read so far.
    fn delivered(&self) -> usize;
    /// Bytes of IP header in this stack's packets (0: the link adds 20 to the size).
    fn ip_header(&self) -> usize;
}

/// Transfers `bytes` from sender to receiver with `stack` over `link`, seeded.
pub fn transfer(stack: Stack, bytes: usize, link: LinkSpec, seed: u64) -> Result<Outcome, BenchError> {
    match stack {
        Stack::Ours => run(Stack::Ours, OursEnd::sender(bytes, seed), OursEnd::receiver(seed), bytes, link, seed),
        Stack::Smoltcp => {
            let now = Instant::ZERO;
            run(Stack::Smoltcp, SmolEnd::sender(bytes, seed, now), SmolEnd::receiver(seed, now), bytes, link, seed)
        }
    }
}

fn run<A: Endpoint, B: Endpoint>(
    stack: Stack,
    mut a: A,
    mut b: B,
    bytes: usize,
    link: LinkSpec,
    seed: u64,
) -> Result<Outcome, BenchError> {
    let mut rng = SeededRng::derive(seed, "bench-link");
    // (arrival, sequence) → (to_receiver, packet)
    let mut in_flight: BinaryHeap<Reverse<(u64, u64)>> = BinaryHeap::new();
    let mut packets: Vec<Option<(bool, Vec<u8>)>> = Vec::new();
    let mut busy_until = [0u64; 2];
    let (mut segments, mut payload_sent, mut lost, mut from_receiver) = (0u64, 0u64, 0u64, 0u64);
    let mut now = Instant::ZERO;
    let mut out = Vec::new();
    // Who has something to do now: received a packet, or a timer is due. Only they run, so
    // neither stack pays for being polled when idle.
    let mut due = [true, true];
    loop {
        // Deliver what has arrived.
        while let Some(Reverse((at, id))) = in_flight.peek().copied() {
            if at > now.as_micros() {
                break;
            }
            in_flight.pop();
            if let Some((to_receiver, packet)) = packets.get_mut(id as usize).and_then(Option::take) {
                if to_receiver {
                    b.receive(now, &packet)?
                } else {
                    a.receive(now, &packet)?
                }
                due[usize::from(to_receiver)] = true;
            }
        }
        // Let both sides run and send.
        due[0] |= a.poll_at(now).is_some_and(|t| t <= now);
        due[1] |= b.poll_at(now).is_some_and(|t| t <= now);
        for (dir, ep) in [(0usize, &mut a as &mut dyn Endpoint), (1, &mut b as &mut dyn Endpoint)] {
            if !std::mem::take(&mut due[dir]) {
                continue;
            }
            ep.poll(now, &mut out)?;
            let ip = ep.ip_header();
            for packet in out.drain(..) {
                segments += 1;
                if dir == 0 {
                    payload_sent += tcp_payload_len(&packet[ip..]) as u64;
                } else {
                    from_receiver += 1;
                }
                let wire = packet.len() + if ip == 0 { 20 } else { 0 };
                let t = now.as_micros();
                let queued_us = busy_until[dir].saturating_sub(t);
                let queued_bytes = queued_us as u128 * link.bandwidth_bps as u128 / 8 / 1_000_000;
                if queued_bytes as usize + wire > link.queue || (link.loss > 0.0 && rng.next_f64() < link.loss) {
                    lost += 1;
                    continue;
                }
                let serialise = wire as u64 * 8 * 1_000_000 / link.bandwidth_bps;
                busy_until[dir] = busy_until[dir].max(t) + serialise;
                let arrival = busy_until[dir] + link.latency.as_micros() as u64;
                in_flight.push(Reverse((arrival, packets.len() as u64)));
                packets.push(Some((dir == 0, packet)));
            }
        }
        if b.delivered() >= bytes {
            return Ok(Outcome {
                stack,
                bytes,
                segments,
                payload_sent,
                lost,
                from_receiver,
                virtual_time: Duration::from_micros(now.as_micros()),
            });
        }
        let next = [in_flight.peek().map(|Reverse((at, _))| Instant::from_micros(*at)), a.poll_at(now), b.poll_at(now)]
            .into_iter()
            .flatten()
            .min();
        let at = Duration::from_micros(now.as_micros());
        match next {
            None => return Err(BenchError::Stalled { delivered: b.delivered(), at }),
            Some(_) if at > VIRTUAL_LIMIT => return Err(BenchError::TooLong { delivered: b.delivered() }),
            // A stack that wants to run "now" again gets the next microsecond: time moves.
            Some(t) => now = t.max(now + Duration::from_micros(1)),
        }
    }
}

/// The payload length of a TCP segment (header length from its Data Offset).
fn tcp_payload_len(segment: &[u8]) -> usize {
    match segment.get(12) {
        Some(off) => segment.len().saturating_sub(usize::from(off >> 4) * 4),
        None => 0,
    }
}

/// One stack's figures from [`measure`]: the run's outcome and its median wall time.
#[derive(Clone, Debug)]
pub struct Measured {
    pub outcome: Outcome,
    pub wall_ms: f64,
}

impl Measured {
    /// Packets (both directions, lost ones included) handled per second of wall time.
    pub fn segments_per_s(&self) -> f64 {
        self.outcome.segments as f64 / (self.wall_ms / 1e3)
    }
}

/// Times `transfer` for each stack: one warm-up each, then `runs` rounds that time every
/// stack once (interleaved, so a change in the machine's load hits all alike), all with
/// the same seed (identical work, checked). `now_ms` is the caller's clock: `std::time`
/// natively, `performance.now()` in the browser; this crate reads none.
pub fn measure(
    stacks: &[Stack],
    bytes: usize,
    link: LinkSpec,
    runs: usize,
    now_ms: &dyn Fn() -> f64,
) -> Result<Vec<Measured>, String> {
    let mut outcomes = Vec::new();
    for &stack in stacks {
        outcomes.push(transfer(stack, bytes, link, 42).map_err(|e| format!("{}: {e}", stack.name()))?);
    }
    let mut walls = vec![Vec::with_capacity(runs); stacks.len()];
    for _ in 0..runs.max(1) {
        for (i, &stack) in stacks.iter().enumerate() {
            let t = now_ms();
            let again = transfer(stack, bytes, link, 42).map_err(|e| format!("{}: {e}", stack.name()))?;
            walls[i].push(now_ms() - t);
            if again != outcomes[i] {
                return Err(format!("{}: two runs with the same seed differ", stack.name()));
            }
        }
    }
    Ok(outcomes
        .into_iter()
        .zip(walls)
        .map(|(outcome, mut w)| {
            w.sort_by(f64::total_cmp);
            Measured { outcome, wall_ms: w[w.len() / 2] }
        })
        .collect())
}

/// The table both benchmark front ends print, one line per stack, then the ratio line
/// `ratio wirelab-tcp / smoltcp …` (the last stack against the first).
pub fn report(title: &str, link: LinkSpec, runs: usize, rows: &[Measured]) -> String {
    use std::fmt::Write;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{title}: {} MB, {} ms one way, {} Mbit/s, {:.1}% loss; median of {runs} runs after a warm-up",
        rows.first().map_or(0, |r| r.outcome.bytes / 1_000_000),
        link.latency.as_millis(),
        link.bandwidth_bps / 1_000_000,
        link.loss * 100.0
    );
    let _ = writeln!(
        s,
        "{:<14} {:>9} {:>9} {:>7} {:>6} {:>7} {:>10} {:>13} {:>11}",
        "stack", "wall ms", "segments", "acks", "lost", "resent", "virtual s", "virt. Mbit/s", "segments/s"
    );
    for r in rows {
        let o = &r.outcome;
        let _ = writeln!(
            s,
            "{:<14} {:>9.1} {:>9} {:>7} {:>6} {:>6.1}% {:>10.2} {:>13.1} {:>11.0}",
            o.stack.name(),
            r.wall_ms,
            o.segments,
            o.from_receiver,
            o.lost,
            o.resent_share() * 100.0,
            o.virtual_time.as_secs_f64(),
            o.goodput_mbps(),
            r.segments_per_s()
        );
    }
    if let (Some(first), Some(last)) = (rows.first(), rows.last()) {
        let _ = writeln!(
            s,
            "ratio {} / {}, segments per second of CPU: {:.2}",
            last.outcome.stack.name(),
            first.outcome.stack.name(),
            last.segments_per_s() / first.segments_per_s()
        );
    }
    s
}

// ---------------------------------------------------------------------------------------
// Ours

struct OursEnd {
    tcp: Tcp,
    wake: Option<Instant>,
    delivered: usize,
    /// The sender's file, queued once the connection is up.
    to_send: usize,
    peer: SocketAddr,
}

impl OursEnd {
    fn config(ip: Ipv4Addr, seed: u64) -> Config {
        let mut c = Config::new(SocketAddr::new(IpAddr::V4(ip), PORT), seed);
        c.mss = MSS;
        c.window = WINDOW;
        c
    }

    fn sender(bytes: usize, seed: u64) -> Self {
        let peer = SocketAddr::new(IpAddr::V4(RECEIVER), PORT);
        let mut e =
            OursEnd { tcp: Tcp::new(Self::config(SENDER, seed)), wake: None, delivered: 0, to_send: bytes, peer };
        e.command(Instant::ZERO, Command::Connect(peer));
        e
    }

    fn receiver(seed: u64) -> Self {
        let peer = SocketAddr::new(IpAddr::V4(SENDER), PORT);
        let mut e =
            OursEnd { tcp: Tcp::new(Self::config(RECEIVER, seed ^ 1)), wake: None, delivered: 0, to_send: 0, peer };
        e.command(Instant::ZERO, Command::Listen);
        e
    }

    fn command(&mut self, now: Instant, c: Command) {
        // Commands here are valid in the state they are given in; a usage error would show
        // up as a stalled transfer, which `run` reports.
        let _ = self.tcp.handle_input(now, Input::Command(c));
    }
}

impl Endpoint for OursEnd {
    fn receive(&mut self, now: Instant, packet: &[u8]) -> Result<(), BenchError> {
        // A segment the machine rejects (say, one for a closed connection) is part of
        // normal operation; the machine answers it itself.
        let _ = self.tcp.handle_input(now, Input::Receive { from: self.peer, bytes: packet });
        Ok(())
    }

    fn poll(&mut self, now: Instant, out: &mut Vec<Vec<u8>>) -> Result<(), BenchError> {
        if self.wake.is_some_and(|w| w <= now) {
            self.wake = None;
            self.tcp.handle_input(now, Input::Timeout).map_err(|e| BenchError::Stack(e.to_string()))?;
        }
        loop {
            match self.tcp.poll_output(now) {
                Output::Transmit(t) => out.push(t.bytes),
                Output::Event(Event::Data(d)) => self.delivered += d.len(),
                Output::Event(Event::Connected) if self.to_send > 0 => {
                    let n = std::mem::take(&mut self.to_send);
                    self.command(now, Command::SendBulk(n));
                }
                Output::Event(Event::Reset | Event::TimedOut) => {
                    return Err(BenchError::Stack("connection reset or timed out".into()));
                }
                Output::Idle { wake_at } => {
                    self.wake = wake_at;
                    return Ok(());
                }
                _ => {}
            }
        }
    }

    fn poll_at(&mut self, _now: Instant) -> Option<Instant> {
        self.wake
    }

    fn delivered(&self) -> usize {
        self.delivered
    }

    fn ip_header(&self) -> usize {
        0
    }
}

// ---------------------------------------------------------------------------------------
// smoltcp

/// A device that is two queues: packets in from the link, packets out to it.
#[derive(Default)]
struct Pipe {
    rx: VecDeque<Vec<u8>>,
    tx: Vec<Vec<u8>>,
}

struct RxToken(Vec<u8>);
struct TxToken<'a>(&'a mut Vec<Vec<u8>>);

impl phy::RxToken for RxToken {
    fn consume<R, F: FnOnce(&[u8]) -> R>(self, f: F) -> R {
        f(&self.0)
    }
}

impl phy::TxToken for TxToken<'_> {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, len: usize, f: F) -> R {
        let mut buf = vec![0; len];
        let r = f(&mut buf);
        self.0.push(buf);
        r
    }
}

impl Device for Pipe {
    type RxToken<'a> = RxToken;
    type TxToken<'a> = TxToken<'a>;

    fn receive(&mut self, _: smoltcp::time::Instant) -> Option<(RxToken, TxToken<'_>)> {
        let p = self.rx.pop_front()?;
        Some((RxToken(p), TxToken(&mut self.tx)))
    }

    fn transmit(&mut self, _: smoltcp::time::Instant) -> Option<TxToken<'_>> {
        Some(TxToken(&mut self.tx))
    }

    fn capabilities(&self) -> DeviceCapabilities {
        let mut caps = DeviceCapabilities::default();
        caps.medium = Medium::Ip;
        caps.max_transmission_unit = usize::from(MSS) + 40;
        caps
    }
}

struct SmolEnd {
    iface: Interface,
    sockets: SocketSet<'static>,
    handle: SocketHandle,
    pipe: Pipe,
    /// Bytes the sending application still has to hand to the socket.
    to_send: usize,
    delivered: usize,
}

/// What the sending application writes, 64 KiB at a time.
static CHUNK: [u8; 65_536] = [0x5a; 65_536];

impl SmolEnd {
    fn new(ip: Ipv4Addr, seed: u64, now: Instant) -> Self {
        let mut pipe = Pipe::default();
        let mut config = IfaceConfig::new(HardwareAddress::Ip);
        config.random_seed = seed;
        let mut iface = Interface::new(config, &mut pipe, smol_now(now));
        iface.update_ip_addrs(|a| {
            let [x, y, z, w] = ip.octets();
            // Capacity is a handful of addresses; one cannot overflow it.
            let _ = a.push(IpCidr::new(IpAddress::v4(x, y, z, w), 24));
        });
        let mut socket = stcp::Socket::new(
            stcp::SocketBuffer::new(vec![0; usize::from(WINDOW)]),
            stcp::SocketBuffer::new(vec![0; usize::from(WINDOW)]),
        );
        socket.set_ack_delay(None);
        socket.set_nagle_enabled(false);
        socket.set_congestion_control(stcp::CongestionControl::Reno);
        let mut sockets = SocketSet::new(Vec::new());
        let handle = sockets.add(socket);
        SmolEnd { iface, sockets, handle, pipe, to_send: 0, delivered: 0 }
    }

    fn sender(bytes: usize, seed: u64, now: Instant) -> Self {
        let mut e = Self::new(SENDER, seed, now);
        e.to_send = bytes;
        let [x, y, z, w] = RECEIVER.octets();
        let socket = e.sockets.get_mut::<stcp::Socket>(e.handle);
        // Connecting an unused socket to a valid endpoint cannot fail.
        let _ = socket.connect(e.iface.context(), (IpAddress::v4(x, y, z, w), PORT), 49_152);
        e
    }

    fn receiver(seed: u64, now: Instant) -> Self {
        let mut e = Self::new(RECEIVER, seed ^ 1, now);
        let _ = e.sockets.get_mut::<stcp::Socket>(e.handle).listen(PORT);
        e
    }

    /// The applications: the sender fills the send buffer, the receiver empties the
    /// receive buffer. Whether either did anything.
    fn app(&mut self) -> bool {
        let before = (self.to_send, self.delivered);
        let socket = self.sockets.get_mut::<stcp::Socket>(self.handle);
        while self.to_send > 0 && socket.can_send() {
            let n = self.to_send.min(CHUNK.len());
            match socket.send_slice(&CHUNK[..n]) {
                Ok(0) | Err(_) => break,
                Ok(sent) => self.to_send -= sent,
            }
        }
        while socket.can_recv() {
            match socket.recv(|buf| (buf.len(), buf.len())) {
                Ok(0) | Err(_) => break,
                Ok(n) => self.delivered += n,
            }
        }
        before != (self.to_send, self.delivered)
    }
}

fn smol_now(now: Instant) -> smoltcp::time::Instant {
    smoltcp::time::Instant::from_micros(now.as_micros() as i64)
}

impl Endpoint for SmolEnd {
    fn receive(&mut self, _now: Instant, packet: &[u8]) -> Result<(), BenchError> {
        self.pipe.rx.push_back(packet.to_vec());
        Ok(())
    }

    fn poll(&mut self, now: Instant, out: &mut Vec<Vec<u8>>) -> Result<(), BenchError> {
        let t = smol_now(now);
        self.iface.poll(t, &mut self.pipe, &mut self.sockets);
        if self.app() {
            self.iface.poll(t, &mut self.pipe, &mut self.sockets);
        }
        out.append(&mut self.pipe.tx);
        Ok(())
    }

    fn poll_at(&mut self, now: Instant) -> Option<Instant> {
        if !self.pipe.rx.is_empty() {
            return Some(now);
        }
        self.iface.poll_at(smol_now(now), &self.sockets).map(|t| Instant::from_micros(t.total_micros().max(0) as u64))
    }

    fn delivered(&self) -> usize {
        self.delivered
    }

    fn ip_header(&self) -> usize {
        20
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Both stacks move every byte across a lossy link, and lose and resend some on the way.
    #[test]
    fn both_stacks_finish_a_lossy_transfer() {
        for stack in [Stack::Ours, Stack::Smoltcp] {
            let o = transfer(stack, 300_000, LinkSpec::default(), 7).expect("transfer finishes");
            assert_eq!(o.bytes, 300_000);
            assert!(o.payload_sent >= 300_000, "{stack:?} sent only {}", o.payload_sent);
            assert!(o.lost > 0, "{stack:?}: 1% loss over hundreds of packets loses some");
            assert!(o.segments > 2 * 300_000 / u64::from(MSS), "{stack:?}: data and ACKs, {} packets", o.segments);
        }
    }

    /// Same seed, same run.
    #[test]
    fn transfers_are_deterministic() {
        for stack in [Stack::Ours, Stack::Smoltcp] {
            let a = transfer(stack, 100_000, LinkSpec::default(), 3).expect("finishes");
            let b = transfer(stack, 100_000, LinkSpec::default(), 3).expect("finishes");
            assert_eq!(a, b);
        }
    }
}
