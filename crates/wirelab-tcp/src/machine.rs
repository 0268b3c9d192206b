//! One TCP endpoint (one connection's TCB, RFC 9293 §3.3.1) as a sans-IO machine.
//!
//! Segment processing follows RFC 9293 §3.10.7 ("SEGMENT ARRIVES") in its order: check
//! the sequence number, then RST, then SYN, then ACK, then the text, then FIN.
//!
//! Not yet here (the transport issue adds them): RTT estimation (the RTO starts
//! at RFC 6298's 1 s and only backs off), congestion control, zero-window probes.

use crate::cc::{AckAction, NewReno};
use crate::error::{TcpError, UsageError};
use crate::rtt::RttEstimator;
use crate::seq::{gt, le, lt};
use crate::wire::{self, Flags, Segment, TcpOption};
use core::time::Duration;
use std::borrow::Cow;
use std::collections::VecDeque;
use std::fmt;
use std::net::SocketAddr;
use std::str::FromStr;
use wirelab_core::{Annotation, Input, Instant, Machine, Metric, Output, RfcRef, SeededRng, Transition, Transmit};

const fn rfc(section: &'static str) -> Option<RfcRef> {
    Some(RfcRef::new(9293, section))
}

/// RFC 9293 §3.3.2 Figure 5, "TCP Connection State Diagram", laid out as the RFC draws
/// it, with the transitions this machine makes that the figure leaves to the text: a
/// FIN that also acknowledges ours (FIN-WAIT-1 straight to TIME-WAIT, §3.10.7.4), a
/// retransmitted FIN restarting TIME-WAIT (§3.10.7.4), and the ways into CLOSED from
/// anywhere (a reset, ABORT, or giving up on retransmissions: §3.10.7.4, §3.10.5, §3.8.3).
pub fn diagram() -> wirelab_core::StateDiagram {
    let mut d = wirelab_core::StateDiagram::new("TCP connection states", rfc("3.3.2"));
    let closed = d.state("CLOSED", 1, 0);
    let listen = d.state("LISTEN", 1, 1);
    let syn_rcvd = d.state("SYN-RECEIVED", 0, 2);
    let syn_sent = d.state("SYN-SENT", 2, 2);
    let estab = d.state("ESTABLISHED", 1, 3);
    let fin_wait_1 = d.state("FIN-WAIT-1", 0, 4);
    let close_wait = d.state("CLOSE-WAIT", 2, 4);
    let fin_wait_2 = d.state("FIN-WAIT-2", 0, 5);
    let closing = d.state("CLOSING", 1, 5);
    let last_ack = d.state("LAST-ACK", 2, 5);
    let time_wait = d.state("TIME-WAIT", 1, 6);
    let closed_end = d.state("CLOSED", 2, 6);
    d.edge(closed, listen, "passive OPEN / create TCB");
    d.edge(closed, syn_sent, "active OPEN / create TCB, snd SYN");
    d.edge(listen, closed, "CLOSE / delete TCB");
    d.edge(listen, syn_rcvd, "rcv SYN / snd SYN,ACK");
    d.edge(syn_sent, syn_rcvd, "rcv SYN / snd SYN,ACK");
    d.edge(syn_sent, estab, "rcv SYN,ACK / snd ACK");
    d.edge(syn_sent, closed, "CLOSE or rcv RST / delete TCB");
    d.edge(syn_rcvd, listen, "rcv RST (after passive OPEN)");
    d.edge(syn_rcvd, estab, "rcv ACK of SYN");
    d.edge(syn_rcvd, fin_wait_1, "CLOSE / snd FIN");
    d.edge(estab, fin_wait_1, "CLOSE / snd FIN");
    d.edge(estab, close_wait, "rcv FIN / snd ACK");
    d.edge(fin_wait_1, fin_wait_2, "rcv ACK of FIN");
    d.edge(fin_wait_1, closing, "rcv FIN / snd ACK");
    d.edge(fin_wait_1, time_wait, "rcv FIN with ACK of FIN / snd ACK");
    d.edge(fin_wait_2, time_wait, "rcv FIN / snd ACK");
    d.edge(close_wait, last_ack, "CLOSE / snd FIN");
    d.edge(closing, time_wait, "rcv ACK of FIN");
    d.edge(last_ack, closed_end, "rcv ACK of FIN / delete TCB");
    d.edge(time_wait, time_wait, "rcv FIN again / snd ACK, restart 2 MSL");
    d.edge(time_wait, closed_end, "timeout = 2 MSL / delete TCB");
    d.from_any(closed_end, "rcv RST, ABORT, or too many retransmissions / delete TCB");
    d
}

/// The connection states of RFC 9293 §3.3.2, printed as the RFC spells them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TcpState {
    Closed,
    Listen,
    SynSent,
    SynReceived,
    Established,
    FinWait1,
    FinWait2,
    CloseWait,
    Closing,
    LastAck,
    TimeWait,
}

impl TcpState {
    /// All eleven, in the order RFC 9293 §3.3.2 introduces them.
    pub const ALL: [TcpState; 11] = [
        TcpState::Listen,
        TcpState::SynSent,
        TcpState::SynReceived,
        TcpState::Established,
        TcpState::FinWait1,
        TcpState::FinWait2,
        TcpState::CloseWait,
        TcpState::Closing,
        TcpState::LastAck,
        TcpState::TimeWait,
        TcpState::Closed,
    ];

    /// "synchronized" states: those after the handshake (RFC 9293 §3.5.2).
    pub fn is_synchronized(self) -> bool {
        !matches!(self, TcpState::Closed | TcpState::Listen | TcpState::SynSent)
    }
}

impl fmt::Display for TcpState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TcpState::Closed => "CLOSED",
            TcpState::Listen => "LISTEN",
            TcpState::SynSent => "SYN-SENT",
            TcpState::SynReceived => "SYN-RECEIVED",
            TcpState::Established => "ESTABLISHED",
            TcpState::FinWait1 => "FIN-WAIT-1",
            TcpState::FinWait2 => "FIN-WAIT-2",
            TcpState::CloseWait => "CLOSE-WAIT",
            TcpState::Closing => "CLOSING",
            TcpState::LastAck => "LAST-ACK",
            TcpState::TimeWait => "TIME-WAIT",
        })
    }
}

/// How an endpoint is set up. No boolean parameters: each knob is named.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// The address and port this endpoint owns.
    pub local: SocketAddr,
    /// Seeds the initial sequence number generator.
    pub seed: u64,
    /// The MSS this endpoint announces (RFC 9293 §3.7.1). 1460 = Ethernet's 1500 − 40.
    pub mss: u16,
    /// The receive window it announces.
    pub window: u16,
    /// Maximum Segment Lifetime: TIME-WAIT lasts 2·MSL (RFC 9293 §3.4.2 suggests 2 minutes).
    pub msl: Duration,
    /// The first retransmission timeout: 1 s (RFC 6298 §2.1).
    pub initial_rto: Duration,
    /// The floor on a computed RTO: 1 s (RFC 6298 §2.4). Lower it to show RTT estimation
    /// on short simulated links (Linux uses 200 ms).
    pub min_rto: Duration,
    /// The cap on RTO: 60 s (RFC 6298 §2.5).
    pub max_rto: Duration,
    /// Retransmissions of one segment before giving up (RFC 9293 §3.8.3's R2: "R2 for a
    /// SYN segment MUST be set large enough to provide retransmission of the segment for at
    /// least 3 minutes"). 8, with the RTO doubling from 1 s and capped at 60 s: 183 s.
    pub max_retries: u32,
    /// The peer the UI suggests connecting to.
    pub suggested_peer: Option<SocketAddr>,
    /// When the application takes received data out of the receive buffer.
    pub reading: ReadMode,
    /// A fixed initial sequence number, to replay the RFC's own examples (ISS 100 and 300
    /// in RFC 9293's figures). `None`: drawn from the seeded generator.
    pub iss: Option<u32>,
}

/// When the application above TCP reads what arrived.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReadMode {
    /// At once: the receive buffer never fills and the window stays open.
    Eager,
    /// Only on a `read N` command: unread data fills the buffer and shrinks the window
    /// the receiver advertises, down to zero (flow control, RFC 9293 §3.8.6).
    OnRequest,
}

impl Config {
    /// RFC defaults for an endpoint at `local`.
    pub fn new(local: SocketAddr, seed: u64) -> Self {
        Config {
            local,
            seed,
            mss: 1460,
            window: 64240,
            msl: Duration::from_secs(120),
            initial_rto: Duration::from_secs(1),
            min_rto: Duration::from_secs(1),
            max_rto: Duration::from_secs(60),
            max_retries: 8,
            suggested_peer: None,
            reading: ReadMode::Eager,
            iss: None,
        }
    }
}

/// What the application asks of TCP (RFC 9293 §3.9.1's user calls), one console line each.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    /// Passive OPEN.
    Listen,
    /// Active OPEN to the given address.
    Connect(SocketAddr),
    /// SEND: queue bytes for the peer.
    Send(Vec<u8>),
    /// SEND of `n` bytes of [`bulk_pattern`], for transfers too big to type.
    SendBulk(usize),
    /// RECEIVE: the application takes up to `n` bytes from the receive buffer
    /// (with [`ReadMode::OnRequest`]).
    Read(usize),
    /// CLOSE: "I have no more data to send."
    Close,
    /// ABORT: drop everything and reset the connection.
    Abort,
}

impl fmt::Display for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Command::Listen => write!(f, "listen"),
            Command::Connect(a) => write!(f, "connect {a}"),
            Command::Send(b) => write!(f, "send {}", String::from_utf8_lossy(b)),
            Command::SendBulk(n) => write!(f, "send-bulk {n}"),
            Command::Read(n) => write!(f, "read {n}"),
            Command::Close => write!(f, "close"),
            Command::Abort => write!(f, "abort"),
        }
    }
}

impl FromStr for Command {
    type Err = UsageError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        let (verb, rest) = s.split_once(' ').unwrap_or((s, ""));
        match verb.to_ascii_lowercase().as_str() {
            "listen" if rest.is_empty() => Ok(Command::Listen),
            "connect" => rest.trim().parse().map(Command::Connect).map_err(|_| UsageError::BadCommand(s.to_string())),
            "send" if !rest.is_empty() => Ok(Command::Send(rest.as_bytes().to_vec())),
            "send-bulk" => {
                rest.trim().parse().map(Command::SendBulk).map_err(|_| UsageError::BadCommand(s.to_string()))
            }
            "read" => rest.trim().parse().map(Command::Read).map_err(|_| UsageError::BadCommand(s.to_string())),
            "close" if rest.is_empty() => Ok(Command::Close),
            "abort" if rest.is_empty() => Ok(Command::Abort),
            _ => Err(UsageError::BadCommand(s.to_string())),
        }
    }
}

/// The bytes `send-bulk` sends, from stream offset `from`, `n` of them: a repeating,
/// recognisable text, so a receiver can check every byte arrived once and in order.
pub fn bulk_pattern(from: usize, n: usize) -> Vec<u8> {
    const TEXT: &[u8] = b"wirelab bulk data 0123456789 ";
    let mut out = Vec::with_capacity(n);
    let mut at = from % TEXT.len();
    while out.len() < n {
        let take = (TEXT.len() - at).min(n - out.len());
        out.extend_from_slice(&TEXT[at..at + take]);
        at = 0;
    }
    out
}

/// The first `n` bytes of a byte queue, copied slice by slice (not byte by byte).
fn front_bytes(q: &VecDeque<u8>, n: usize) -> Vec<u8> {
    let (a, b) = q.as_slices();
    let n = n.min(q.len());
    let mut out = Vec::with_capacity(n);
    out.extend_from_slice(&a[..n.min(a.len())]);
    out.extend_from_slice(&b[..n.saturating_sub(a.len())]);
    out
}

/// What the application above TCP is told.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    Connected,
    Data(Vec<u8>),
    /// The peer sent FIN: "connection closing" (RFC 9293 §3.10.7.4, eighth).
    PeerClosed,
    Closed,
    /// "connection reset" (RFC 9293 §3.10.7).
    Reset,
    /// "connection aborted due to user timeout" / R2 exceeded (RFC 9293 §3.8.3).
    TimedOut,
}

impl fmt::Display for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Event::Connected => write!(f, "connection established"),
            Event::Data(b) => write!(f, "received {} bytes: {:?}", b.len(), String::from_utf8_lossy(b)),
            Event::PeerClosed => write!(f, "connection closing: the peer has no more data"),
            Event::Closed => write!(f, "connection closed"),
            Event::Reset => write!(f, "connection reset"),
            Event::TimedOut => write!(f, "connection timed out"),
        }
    }
}

/// The Transmission Control Block (RFC 9293 §3.3.1), named as the RFC names its variables.
#[derive(Clone, Debug)]
struct Tcb {
    remote: SocketAddr,
    /// Opened by `listen` (passive): an RST in SYN-RECEIVED returns to LISTEN.
    passive: bool,
    iss: u32,
    snd_una: u32,
    snd_nxt: u32,
    snd_wnd: u32,
    /// The largest window the peer has offered: "Max(SND.WND)" of the sender's silly
    /// window syndrome avoidance (RFC 9293 §3.8.6.2.1).
    max_snd_wnd: u32,
    snd_wl1: u32,
    snd_wl2: u32,
    irs: u32,
    rcv_nxt: u32,
    peer_mss: u16,
    /// Data the application gave us that has not been sent yet.
    send_queue: VecDeque<u8>,
    /// `send-bulk` data not yet in `send_queue`: generated [`BULK_CHUNK`] bytes at a time,
    /// so a 10 MB transfer does not hold 10 MB (offset into the pattern, bytes left).
    bulk_offset: usize,
    bulk_left: usize,
    /// Data sent and not yet acknowledged, starting at sequence number `unacked_seq`.
    unacked: VecDeque<u8>,
    unacked_seq: u32,
    /// The application called CLOSE; send FIN once `send_queue` is empty.
    close_pending: bool,
    /// The sequence number our FIN occupies, once sent.
    fin_seq: Option<u32>,
    /// Data that arrived ahead of a hole, by its offset from IRS (so the order survives
    /// sequence-number wrap-around), until the hole is filled.
    reassembly: std::collections::BTreeMap<u32, Vec<u8>>,
    /// Congestion control (RFC 5681, RFC 6582), set up once the MSS is known.
    cc: NewReno,
    /// Data received in order that the application has not read yet.
    rcv_buf: VecDeque<u8>,
    /// The window last advertised, to know when an update is worth sending.
    rcv_wnd_advertised: u16,
}

/// A TCP endpoint.
#[derive(Clone, Debug)]
pub struct Tcp {
    config: Config,
    rng: SeededRng,
    state: TcpState,
    tcb: Option<Tcb>,
    out: VecDeque<Output<TcpState, Event>>,
    rtt: RttEstimator,
    retries: u32,
    retransmit_at: Option<Instant>,
    time_wait_until: Option<Instant>,
    /// The persist timer, while the peer's window is zero (RFC 9293 §3.8.6.1), and how
    /// often it has fired since the window closed.
    persist_at: Option<Instant>,
    persist_backoff: u32,
}

impl Tcp {
    pub fn new(config: Config) -> Self {
        let rng = SeededRng::derive(config.seed, &config.local.to_string());
        let rtt = RttEstimator::new(config.initial_rto, config.min_rto, config.max_rto);
        Tcp {
            config,
            rng,
            state: TcpState::Closed,
            tcb: None,
            out: VecDeque::new(),
            rtt,
            retries: 0,
            retransmit_at: None,
            time_wait_until: None,
            persist_at: None,
            persist_backoff: 0,
        }
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    pub fn is_established(&self) -> bool {
        self.state == TcpState::Established
    }

    /// (SND.UNA, SND.NXT, RCV.NXT), for tests and the UI.
    pub fn sequence_variables(&self) -> Option<(u32, u32, u32)> {
        self.tcb.as_ref().map(|t| (t.snd_una, t.snd_nxt, t.rcv_nxt))
    }

    /// The only place the state changes.
    fn set_state(&mut self, to: TcpState, cause: impl Into<Cow<'static, str>>, rfc: Option<RfcRef>) {
        let from = self.state;
        assert!(from != to || to == TcpState::TimeWait, "invalid state transition {from:?} -> {to:?}");
        self.state = to;
        self.out.push_back(Output::Transition(Transition { from, to, cause: cause.into(), rfc }));
        match to {
            TcpState::Established => {
                // Congestion control starts with the connection, once both MSSs are known.
                if let Some(tcb) = self.tcb.as_mut() {
                    let smss = u32::from(self.config.mss.min(tcb.peer_mss));
                    tcb.cc = NewReno::new(smss, tcb.iss);
                }
                self.out.push_back(Output::Event(Event::Connected));
            }
            TcpState::Closed | TcpState::Listen => {
                self.retransmit_at = None;
                self.time_wait_until = None;
                self.rtt = RttEstimator::new(self.config.initial_rto, self.config.min_rto, self.config.max_rto);
                self.retries = 0;
                if to == TcpState::Closed {
                    self.tcb = None;
                }
            }
            _ => {}
        }
    }

    /// Builds, checksums and queues one segment.
    fn transmit(
        &mut self,
        flags: Flags,
        seq: u32,
        payload: Vec<u8>,
        reason: impl Into<Cow<'static, str>>,
        rfc: Option<RfcRef>,
    ) {
        let Some(tcb) = &self.tcb else { return };
        let options = if flags.contains(Flags::SYN) {
            // "TCP implementations SHOULD send an MSS Option in every SYN segment" (RFC 9293 §3.7.1, SHLD-5)
            vec![TcpOption::MaximumSegmentSize(self.config.mss)]
        } else {
            Vec::new()
        };
        let seg = Segment {
            src_port: self.config.local.port(),
            dst_port: tcb.remote.port(),
            seq,
            ack: if flags.contains(Flags::ACK) { tcb.rcv_nxt } else { 0 },
            flags,
            window: self.rcv_wnd(),
            urgent: 0,
            options,
            payload,
        };
        let bytes = seg.emit(self.config.local.ip(), tcb.remote.ip());
        let remote = tcb.remote;
        if let Some(t) = self.tcb.as_mut() {
            t.rcv_wnd_advertised = seg.window;
        }
        self.out.push_back(Output::Transmit(Transmit {
            from: self.config.local,
            to: remote,
            bytes,
            reason: reason.into(),
            rfc,
        }));
    }

    /// A reset answering `seg` when no connection matches it (RFC 9293 §3.10.7.1):
    /// "If the ACK bit is off, <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>; if the ACK bit
    /// is on, <SEQ=SEG.ACK><CTL=RST>".
    fn reset_for(&mut self, peer: SocketAddr, seg: &Segment, why: &'static str) {
        let (flags, seq, ack) = if seg.flags.contains(Flags::ACK) {
            (Flags::RST, seg.ack, 0)
        } else {
            (Flags::RST | Flags::ACK, 0, seg.seq.wrapping_add(seg.seg_len()))
        };
        let reply = Segment {
            // The reset answers this very segment: its ports, swapped.
            src_port: seg.dst_port,
            dst_port: seg.src_port,
            seq,
            ack,
            flags,
            window: 0,
            urgent: 0,
            options: Vec::new(),
            payload: Vec::new(),
        };
        self.out.push_back(Output::Transmit(Transmit {
            from: SocketAddr::new(self.config.local.ip(), seg.dst_port),
            to: peer,
            bytes: reply.emit(self.config.local.ip(), peer.ip()),
            reason: why.into(),
            rfc: rfc("3.10.7.1"),
        }));
    }

    fn send_ack(&mut self, reason: &'static str, section: &'static str) {
        let Some(snd_nxt) = self.tcb.as_ref().map(|t| t.snd_nxt) else {
            return;
        };
        self.transmit(Flags::ACK, snd_nxt, Vec::new(), reason, rfc(section));
    }

    /// RCV.WND: the receive buffer's free space (RFC 9293 §3.8.6.2).
    fn rcv_wnd(&self) -> u16 {
        let used = self.tcb.as_ref().map_or(0, |t| t.rcv_buf.len());
        u16::try_from(usize::from(self.config.window).saturating_sub(used)).unwrap_or(0)
    }

    /// In-order data for the application: handed over now, or kept until it reads.
    fn deliver(config: &Config, out: &mut VecDeque<Output<TcpState, Event>>, tcb: &mut Tcb, data: Vec<u8>) {
        match config.reading {
            ReadMode::Eager => out.push_back(Output::Event(Event::Data(data))),
            ReadMode::OnRequest => tcb.rcv_buf.extend(data),
        }
    }

    /// The application reads up to `n` bytes. If that opens the window by enough, tell the
    /// sender: "the window is updated … when it can be increased by min(RCV.BUFF/2, MSS)"
    /// (receiver-side silly window syndrome avoidance, RFC 9293 §3.8.6.2.2).
    fn read(&mut self, n: usize) {
        let Some(tcb) = self.tcb.as_mut() else { return };
        let take = n.min(tcb.rcv_buf.len());
        if take > 0 {
            let data = front_bytes(&tcb.rcv_buf, take);
            tcb.rcv_buf.drain(..take);
            self.out.push_back(Output::Event(Event::Data(data)));
        }
        let advertised = self.tcb.as_ref().map_or(0, |t| t.rcv_wnd_advertised);
        let threshold = (self.config.window / 2).min(self.config.mss);
        if self.rcv_wnd().saturating_sub(advertised) >= threshold && self.state.is_synchronized() {
            self.send_ack("as a window update: the application read data, so there is room again", "3.8.6.2.2");
        }
    }

    /// Zero window: the persist timer replaces the retransmission timer, so the sender
    /// keeps probing and never gives up ("the transmitting host MUST NOT close the
    /// connection while probing", RFC 1122 §4.2.2.17).
    fn update_persist(&mut self, now: Instant) {
        let Some(tcb) = self.tcb.as_ref() else { return };
        let waiting = tcb.has_queued() || !tcb.unacked.is_empty();
        let sending = matches!(self.state, TcpState::Established | TcpState::CloseWait);
        // Data held back by SWS avoidance with nothing in flight: no ACK will come to
        // release it, so the same timer serves as the override timeout (§3.8.6.2.1 (4)).
        let held = tcb.has_queued() && tcb.snd_una == tcb.snd_nxt;
        if (tcb.snd_wnd == 0 || held) && waiting && sending {
            self.retransmit_at = None;
            if self.persist_at.is_none() {
                let interval =
                    (self.rtt.rto() * 2u32.saturating_pow(self.persist_backoff)).min(Duration::from_secs(60));
                self.persist_at = Some(now + interval);
            }
        } else if self.persist_at.take().is_some() {
            self.persist_backoff = 0;
            if tcb.snd_una != tcb.snd_nxt {
                self.arm_retransmit(now);
            }
        }
    }

    /// The persist timer fired: probe the zero window with one byte (RFC 9293 §3.8.6.1:
    /// "the sending TCP must regularly transmit at least one octet of new data (if
    /// available) … even if the send window is zero").
    fn probe_zero_window(&mut self, now: Instant) {
        self.persist_at = None;
        self.persist_backoff += 1;
        let Some(tcb) = self.tcb.as_mut() else { return };
        tcb.top_up(1);
        if tcb.snd_wnd > 0 {
            // Not a zero window: data was held back to avoid silly windows; send what fits.
            self.flush_data(now, true);
            return;
        }
        let (seq, byte) = if let Some(&b) = tcb.unacked.front() {
            (tcb.snd_una, b)
        } else if let Some(b) = tcb.send_queue.pop_front() {
            if tcb.unacked.is_empty() {
                tcb.unacked_seq = tcb.snd_nxt;
            }
            tcb.unacked.push_back(b);
            let seq = tcb.snd_nxt;
            tcb.snd_nxt = tcb.snd_nxt.wrapping_add(1);
            (seq, b)
        } else {
            return;
        };
        self.rtt.cancel_timing();
        self.transmit(
            Flags::ACK | Flags::PSH,
            seq,
            vec![byte],
            "as a zero-window probe: one byte, to learn when the receiver has room again",
            rfc("3.8.6.1"),
        );
        self.update_persist(now);
    }

    /// Reports a duration for plotting, in milliseconds.
    fn metric(&mut self, name: &'static str, d: Duration) {
        self.out.push_back(Output::Metric(Metric { name, value: d.as_secs_f64() * 1000.0, unit: "ms" }));
    }

    /// An acknowledgment of `ack` arrived: take an RTT sample if it ends the timed segment.
    fn sample_rtt(&mut self, ack: u32, now: Instant) {
        if let Some(r) = self.rtt.on_ack(ack, now) {
            self.metric("rtt", r);
            if let Some(srtt) = self.rtt.srtt() {
                self.metric("srtt", srtt);
            }
            self.metric("rttvar", self.rtt.rttvar());
            self.metric("rto", self.rtt.rto());
        }
    }

    /// Reports cwnd and ssthresh for plotting, in bytes (ssthresh only once it is finite).
    fn report_cc(&mut self) {
        let Some(tcb) = self.tcb.as_ref() else { return };
        let (cwnd, ssthresh) = (tcb.cc.cwnd(), tcb.cc.ssthresh());
        self.out.push_back(Output::Metric(Metric { name: "cwnd", value: f64::from(cwnd), unit: "bytes" }));
        if ssthresh != u32::MAX {
            self.out.push_back(Output::Metric(Metric { name: "ssthresh", value: f64::from(ssthresh), unit: "bytes" }));
        }
    }

    /// Sends the first unacknowledged segment again now, outside the timer (fast
    /// retransmit, NewReno's partial ACK). Karn: the timed segment may be this one, so
    /// timing stops.
    fn retransmit_first_unacked(&mut self, now: Instant, reason: &'static str, rule: RfcRef) {
        let Some(tcb) = self.tcb.as_ref() else { return };
        let mss = usize::from(self.config.mss.min(tcb.peer_mss));
        let data = front_bytes(&tcb.unacked, mss);
        let (snd_una, fin_seq) = (tcb.snd_una, tcb.fin_seq);
        self.rtt.cancel_timing();
        if !data.is_empty() {
            self.transmit(Flags::ACK | Flags::PSH, snd_una, data, reason, Some(rule.clone()));
        } else if fin_seq == Some(snd_una) {
            self.transmit(Flags::FIN | Flags::ACK, snd_una, Vec::new(), reason, Some(rule));
        }
        self.arm_retransmit(now);
    }

    /// cwnd and ssthresh (RFC 5681), for tests and the UI.
    pub fn congestion_window(&self) -> Option<(u32, u32)> {
        self.tcb.as_ref().map(|t| (t.cc.cwnd(), t.cc.ssthresh()))
    }

    /// SRTT, RTTVAR and RTO (RFC 6298), for tests and the UI.
    pub fn rtt_estimate(&self) -> (Option<Duration>, Duration, Duration) {
        (self.rtt.srtt(), self.rtt.rttvar(), self.rtt.rto())
    }

    /// "If the retransmission timer is not running, start it running so that it will
    /// expire after RTO seconds" (RFC 6298 §5.1).
    fn arm_retransmit(&mut self, now: Instant) {
        if self.retransmit_at.is_none() {
            self.retransmit_at = Some(now + self.rtt.rto());
        }
    }

    fn send_syn(&mut self, now: Instant, reason: &'static str) {
        let Some(iss) = self.tcb.as_ref().map(|t| t.iss) else {
            return;
        };
        self.transmit(Flags::SYN, iss, Vec::new(), reason, rfc("3.5"));
        self.arm_retransmit(now);
    }

    fn send_syn_ack(&mut self, now: Instant, reason: &'static str) {
        let Some(iss) = self.tcb.as_ref().map(|t| t.iss) else {
            return;
        };
        self.transmit(Flags::SYN | Flags::ACK, iss, Vec::new(), reason, rfc("3.5"));
        self.arm_retransmit(now);
    }

    /// Sends queued data the peer's window allows, then FIN if CLOSE was called.
    fn flush(&mut self, now: Instant) {
        self.flush_data(now, false);
    }

    /// Sends queued data the windows allow, then the FIN if a CLOSE is pending. With
    /// `override_sws`, the first segment goes out even if silly window syndrome avoidance
    /// would hold it: the override timeout of RFC 9293 §3.8.6.2.1 (4) fired.
    fn flush_data(&mut self, now: Instant, mut override_sws: bool) {
        loop {
            let Some(tcb) = self.tcb.as_mut() else { return };
            if !matches!(self.state, TcpState::Established | TcpState::CloseWait) {
                return;
            }
            // "TCP MUST NOT send data with a sequence number higher than the sum of the
            // highest acknowledged sequence number and the minimum of cwnd and rwnd"
            // (RFC 5681 §3.1).
            let in_flight = tcb.snd_nxt.wrapping_sub(tcb.snd_una);
            let room = tcb.snd_wnd.min(tcb.cc.cwnd()).saturating_sub(in_flight) as usize;
            let mss = usize::from(self.config.mss.min(tcb.peer_mss));
            tcb.top_up(BULK_CHUNK);
            let queued = tcb.send_queue.len() + tcb.bulk_left;
            let n = tcb.send_queue.len().min(room).min(mss);
            if n == 0 {
                break;
            }
            // Sender-side SWS avoidance (RFC 9293 §3.8.6.2.1): send "(1) if a maximum-sized
            // segment can be sent", "(2) or if the data is pushed and all queued data can be
            // sent now" (everything an application hands us is pushed), "(3) or if at least
            // a fraction Fs of the maximum window can be sent" with nothing in flight
            // (Fs = 1/2); otherwise wait for an ACK or "(4) the override timeout".
            let full = n == mss;
            let all = queued <= room;
            let half_window = in_flight == 0 && n as u32 >= tcb.max_snd_wnd / 2;
            if !(full || all || half_window || std::mem::take(&mut override_sws)) {
                break;
            }
            let chunk = front_bytes(&tcb.send_queue, n);
            tcb.send_queue.drain(..n);
            if tcb.unacked.is_empty() {
                tcb.unacked_seq = tcb.snd_nxt;
            }
            tcb.unacked.extend(&chunk);
            let seq = tcb.snd_nxt;
            tcb.snd_nxt = tcb.snd_nxt.wrapping_add(n as u32);
            self.transmit(Flags::ACK | Flags::PSH, seq, chunk, "to carry the application's data", rfc("3.10.2"));
            self.rtt.start(seq.wrapping_add(n as u32), now);
            self.arm_retransmit(now);
        }
        let Some(tcb) = self.tcb.as_mut() else { return };
        if tcb.close_pending && !tcb.has_queued() && tcb.fin_seq.is_none() {
            let seq = tcb.snd_nxt;
            tcb.fin_seq = Some(seq);
            tcb.snd_nxt = seq.wrapping_add(1);
            let (to, cause, reason) = match self.state {
                TcpState::CloseWait => (
                    TcpState::LastAck,
                    "was asked to close after the peer had closed",
                    "to close its half too; it waits for the last ACK",
                ),
                _ => (
                    TcpState::FinWait1,
                    "was asked to close (CLOSE call)",
                    "to say it has no more data to send (its FIN takes one sequence number)",
                ),
            };
            self.set_state(to, cause, rfc("3.10.4"));
            self.transmit(Flags::FIN | Flags::ACK, seq, Vec::new(), reason, rfc("3.6"));
            self.rtt.start(seq.wrapping_add(1), now);
            self.arm_retransmit(now);
        }
        self.update_persist(now);
    }

    fn on_command(&mut self, now: Instant, cmd: Command) -> Result<(), TcpError> {
        use TcpState::*;
        match (cmd, self.state) {
            (Command::Listen, Closed) => {
                self.set_state(Listen, "was asked to wait for connections (passive OPEN)", rfc("3.10.1"));
                Ok(())
            }
            (Command::Connect(remote), Closed) => {
                // A seeded random ISS. RFC 9293 §3.4.1 asks for a clock-driven ISN with a
                // keyed hash (RFC 6528); random numbers keep runs replayable and are just as
                // unpredictable to an off-path attacker within one run.
                let iss = self.config.iss.unwrap_or_else(|| self.rng.next_u32());
                self.tcb = Some(Tcb::new(remote, false, iss));
                self.set_state(SynSent, "was asked to connect (active OPEN) and sent its SYN", rfc("3.10.1"));
                self.send_syn(now, "to open a connection, announcing its initial sequence number (ISN)");
                self.rtt.start(iss.wrapping_add(1), now);
                Ok(())
            }
            (Command::Listen | Command::Connect(_), _) => Err(UsageError::ConnectionExists.into()),
            (Command::Read(_), Closed | Listen) => Err(UsageError::ConnectionDoesNotExist.into()),
            (Command::Read(n), _) => {
                self.read(n);
                Ok(())
            }
            (Command::Send(_) | Command::SendBulk(_), Closed | Listen) => {
                Err(UsageError::ConnectionDoesNotExist.into())
            }
            (cmd @ (Command::Send(_) | Command::SendBulk(_)), SynSent | SynReceived | Established | CloseWait) => {
                if let Some(tcb) = self.tcb.as_mut() {
                    if tcb.close_pending {
                        return Err(UsageError::ConnectionClosing.into());
                    }
                    // What was queued before keeps its place in the stream.
                    tcb.top_up(usize::MAX);
                    match cmd {
                        Command::Send(data) => tcb.send_queue.extend(data),
                        Command::SendBulk(n) => (tcb.bulk_offset, tcb.bulk_left) = (0, n),
                        _ => {}
                    }
                }
                self.flush(now);
                Ok(())
            }
            (Command::Send(_) | Command::SendBulk(_), _) => Err(UsageError::ConnectionClosing.into()),
            (Command::Close, Closed) => Err(UsageError::ConnectionDoesNotExist.into()),
            (Command::Close, Listen | SynSent) => {
                self.set_state(Closed, "was asked to close before any connection existed", rfc("3.10.4"));
                Ok(())
            }
            (Command::Close, SynReceived | Established | CloseWait) => {
                if let Some(tcb) = self.tcb.as_mut() {
                    tcb.close_pending = true;
                }
                if self.state == SynReceived {
                    // "If no SENDs have been issued and there is no pending data to send,
                    // then form a FIN segment and send it, and enter FIN-WAIT-1 state"
                    // (RFC 9293 §3.10.4). We wait for ESTABLISHED: simpler, and allowed
                    // ("otherwise, queue for processing after entering ESTABLISHED state").
                    return Ok(());
                }
                self.flush(now);
                Ok(())
            }
            (Command::Close, _) => Err(UsageError::ConnectionClosing.into()),
            (Command::Abort, Closed) => Err(UsageError::ConnectionDoesNotExist.into()),
            (Command::Abort, state) => {
                if matches!(state, SynReceived | Established | FinWait1 | FinWait2 | CloseWait) {
                    let snd_nxt = self.tcb.as_ref().map_or(0, |t| t.snd_nxt);
                    // "Send a reset segment: <SEQ=SND.NXT><CTL=RST>" (RFC 9293 §3.10.5)
                    self.transmit(Flags::RST, snd_nxt, Vec::new(), "to abort the connection at once", rfc("3.10.5"));
                }
                self.set_state(Closed, "was asked to abort (ABORT call)", rfc("3.10.5"));
                Ok(())
            }
        }
    }

    fn on_timeout(&mut self, now: Instant) {
        if self.time_wait_until.is_some_and(|t| t <= now) {
            self.time_wait_until = None;
            // "If the time-wait timeout expires on a connection, delete the TCB, enter the
            // CLOSED state, and return." (RFC 9293 §3.10.8)
            self.set_state(
                TcpState::Closed,
                "waited 2·MSL in TIME-WAIT, long enough for any delayed segment of this connection to die out",
                rfc("3.10.8"),
            );
            self.out.push_back(Output::Event(Event::Closed));
            return;
        }
        if self.persist_at.is_some_and(|t| t <= now) {
            self.probe_zero_window(now);
            return;
        }
        if self.retransmit_at.is_none_or(|t| t > now) {
            return;
        }
        self.retransmit_at = None;
        self.retries += 1;
        if self.retries > self.config.max_retries {
            self.set_state(TcpState::Closed, "gave up after too many retransmissions (R2)", rfc("3.8.3"));
            self.out.push_back(Output::Event(Event::TimedOut));
            return;
        }
        // "The host MUST set RTO <- RTO * 2 ('back off the timer')" (RFC 6298 §5.5).
        self.rtt.on_retransmit();
        self.metric("rto", self.rtt.rto());
        if let Some(tcb) = self.tcb.as_mut() {
            let flight = tcb.snd_nxt.wrapping_sub(tcb.snd_una);
            tcb.cc.on_timeout(flight, tcb.snd_nxt);
        }
        self.report_cc();
        self.retransmit_earliest(now);
    }

    /// "Retransmit the earliest segment that has not been acknowledged" (RFC 6298 §5.4).
    fn retransmit_earliest(&mut self, now: Instant) {
        let Some(tcb) = self.tcb.as_ref() else { return };
        let (snd_una, iss, fin_seq) = (tcb.snd_una, tcb.iss, tcb.fin_seq);
        let mss = usize::from(self.config.mss.min(tcb.peer_mss));
        let data = front_bytes(&tcb.unacked, mss);
        match self.state {
            TcpState::SynSent => {
                self.send_syn(now, "again: its SYN was not answered before the retransmission timer expired")
            }
            TcpState::SynReceived if snd_una == iss => self
                .send_syn_ack(now, "again: its SYN,ACK was not acknowledged before the retransmission timer expired"),
            _ if !data.is_empty() => {
                self.transmit(
                    Flags::ACK | Flags::PSH,
                    snd_una,
                    data,
                    "again: the data was not acknowledged in time",
                    rfc("3.8.1"),
                );
                self.arm_retransmit(now);
            }
            _ if fin_seq == Some(snd_una) => {
                self.transmit(
                    Flags::FIN | Flags::ACK,
                    snd_una,
                    Vec::new(),
                    "again: its FIN was not acknowledged in time",
                    rfc("3.8.1"),
                );
                self.arm_retransmit(now);
            }
            _ => {}
        }
    }

    fn on_segment(&mut self, now: Instant, from: SocketAddr, bytes: &[u8]) -> Result<(), TcpError> {
        // "If the checksum fails, the segment is discarded" (RFC 9293 §3.1; MUST-2/3)
        wire::verify_checksum(from.ip(), self.config.local.ip(), bytes)?;
        let seg = Segment::parse(bytes)?;
        let ours = seg.dst_port == self.config.local.port()
            && self.tcb.as_ref().is_none_or(|t| t.remote == from && t.remote.port() == seg.src_port);
        match self.state {
            _ if !ours => self.on_segment_closed(from, &seg),
            TcpState::Closed => self.on_segment_closed(from, &seg),
            TcpState::Listen => self.on_segment_listen(now, from, &seg),
            TcpState::SynSent => self.on_segment_syn_sent(now, from, &seg),
            _ => self.on_segment_synchronized(now, seg),
        }
        Ok(())
    }

    /// RFC 9293 §3.10.7.1: "If the state is CLOSED (i.e., TCB does not exist) … An
    /// incoming segment not containing a RST causes a RST to be sent in response."
    fn on_segment_closed(&mut self, from: SocketAddr, seg: &Segment) {
        if !seg.flags.contains(Flags::RST) {
            self.reset_for(from, seg, "because no connection matches the segment it received");
        }
    }

    /// RFC 9293 §3.10.7.2.
    fn on_segment_listen(&mut self, now: Instant, from: SocketAddr, seg: &Segment) {
        // "First, check for a RST: An incoming RST segment could not be valid since it
        // could not have been sent in response to anything sent by this incarnation."
        if seg.flags.contains(Flags::RST) {
            return;
        }
        // "Second, check for an ACK: Any acknowledgment is bad if it arrives on a
        // connection still in the LISTEN state. An acceptable reset segment should be
        // formed for any arriving ACK-bearing segment."
        if seg.flags.contains(Flags::ACK) {
            self.reset_for(from, seg, "because an ACK cannot be valid in LISTEN");
            return;
        }
        // "Third, check for a SYN: … set RCV.NXT to SEG.SEQ+1, IRS is set to SEG.SEQ …
        // ISS should be selected and a SYN segment sent of the form
        // <SEQ=ISS><ACK=RCV.NXT><CTL=SYN,ACK>. SND.NXT is set to ISS+1 and SND.UNA to ISS.
        // The connection state should be changed to SYN-RECEIVED."
        if seg.flags.contains(Flags::SYN) {
            let iss = self.config.iss.unwrap_or_else(|| self.rng.next_u32());
            let mut tcb = Tcb::new(from, true, iss);
            tcb.irs = seg.seq;
            tcb.rcv_nxt = seg.seq.wrapping_add(1);
            tcb.snd_wnd = u32::from(seg.window);
            tcb.max_snd_wnd = tcb.max_snd_wnd.max(tcb.snd_wnd);
            tcb.peer_mss = seg.mss().unwrap_or(536);
            self.tcb = Some(tcb);
            self.set_state(
                TcpState::SynReceived,
                "received a SYN and answered it with its own SYN,ACK",
                rfc("3.10.7.2"),
            );
            self.send_syn_ack(now, "to acknowledge the client's SYN and send its own ISN in the same segment");
            self.rtt.start(iss.wrapping_add(1), now);
        }
        // "Fourth, other data or control: … drop the segment and return."
    }

    /// RFC 9293 §3.10.7.3.
    fn on_segment_syn_sent(&mut self, now: Instant, from: SocketAddr, seg: &Segment) {
        let Some((iss, snd_una, snd_nxt)) = self.tcb.as_ref().map(|t| (t.iss, t.snd_una, t.snd_nxt)) else {
            return;
        };
        // "First, check the ACK bit: If SEG.ACK =< ISS or SEG.ACK > SND.NXT, send a reset
        // (unless the RST bit is set, if so drop the segment and return)"
        let ack_ok = seg.flags.contains(Flags::ACK) && {
            if le(seg.ack, iss) || gt(seg.ack, snd_nxt) {
                if !seg.flags.contains(Flags::RST) {
                    self.reset_for(from, seg, "because the ACK does not acknowledge anything it sent");
                }
                return;
            }
            le(snd_una, seg.ack)
        };
        // "Second, check the RST bit: If the ACK was acceptable, then signal to the user
        // 'error: connection reset', drop the segment, enter CLOSED state"
        if seg.flags.contains(Flags::RST) {
            if ack_ok {
                self.set_state(TcpState::Closed, "received RST: the peer refused the connection", rfc("3.10.7.3"));
                self.out.push_back(Output::Event(Event::Reset));
            }
            return;
        }
        // "Fourth, check the SYN bit"
        if !seg.flags.contains(Flags::SYN) {
            return; // "If neither of the SYN or RST bits is set, then drop the segment and return."
        }
        if let Some(tcb) = self.tcb.as_mut() {
            tcb.rcv_nxt = seg.seq.wrapping_add(1);
            tcb.irs = seg.seq;
            tcb.peer_mss = seg.mss().unwrap_or(536);
            if ack_ok {
                tcb.snd_una = seg.ack;
            }
            tcb.snd_wnd = u32::from(seg.window);
            tcb.max_snd_wnd = tcb.max_snd_wnd.max(tcb.snd_wnd);
            tcb.snd_wl1 = seg.seq;
            tcb.snd_wl2 = seg.ack;
        }
        if ack_ok && gt(seg.ack, iss) {
            // "If SND.UNA > ISS (our SYN has been ACKed), change the connection state to
            // ESTABLISHED, form an ACK segment <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK> and send it."
            self.retransmit_at = None;
            self.retries = 0;
            self.sample_rtt(seg.ack, now);
            self.set_state(TcpState::Established, "received SYN,ACK acknowledging its SYN", rfc("3.10.7.3"));
            self.send_ack("to acknowledge the server's SYN: the three-way handshake is complete", "3.5");
            self.flush(now);
        } else {
            // "Otherwise, enter SYN-RECEIVED, form a SYN,ACK segment
            // <SEQ=ISS><ACK=RCV.NXT><CTL=SYN,ACK> and send it." (simultaneous open)
            self.set_state(
                TcpState::SynReceived,
                "received a SYN without an ACK: a simultaneous open",
                rfc("3.10.7.3"),
            );
            self.send_syn_ack(now, "to acknowledge the peer's SYN in a simultaneous open");
        }
    }

    /// RFC 9293 §3.10.7.4: every state from SYN-RECEIVED on.
    fn on_segment_synchronized(&mut self, now: Instant, mut seg: Segment) {
        let Some(tcb) = self.tcb.as_ref() else { return };
        // Simultaneous open (RFC 9293 §3.5, Figure 7, line 6): in SYN-RECEIVED, a SYN,ACK
        // whose SYN is the one already received (SEG.SEQ = IRS) carries nothing new but
        // its ACK. "One could tailor actual segments … by trimming off any portions that
        // lie outside the window (including SYN and FIN) and only processing further if the
        // segment then begins at RCV.NXT" (§3.10.7.4): trimmed, it is the ACK that
        // completes the open. Only here: in ESTABLISHED a repeated SYN,ACK must be
        // answered with an ACK (the peer is still waiting for one), which the sequence
        // check below does.
        if self.state == TcpState::SynReceived
            && seg.flags.contains(Flags::SYN | Flags::ACK)
            && seg.seq == tcb.irs
            && seg.payload.is_empty()
        {
            seg.seq = seg.seq.wrapping_add(1);
            seg.flags = Flags(seg.flags.0 & !Flags::SYN.0);
        }
        let (rcv_nxt, rcv_wnd) = (tcb.rcv_nxt, u32::from(self.rcv_wnd()));
        // "First, check sequence number": the four acceptability cases.
        let seg_len = seg.seg_len();
        let in_window = |s: u32| le(rcv_nxt, s) && lt(s, rcv_nxt.wrapping_add(rcv_wnd));
        let acceptable = match (seg_len, rcv_wnd) {
            (0, 0) => seg.seq == rcv_nxt,
            (0, _) => in_window(seg.seq),
            (_, 0) => false,
            (_, _) => in_window(seg.seq) || in_window(seg.seq.wrapping_add(seg_len - 1)),
        };
        if !acceptable {
            // "If an incoming segment is not acceptable, an acknowledgment should be sent in
            // reply (unless the RST bit is set, if so drop the segment and return)"
            if !seg.flags.contains(Flags::RST) {
                self.send_ack("because the segment it received lies outside its receive window", "3.10.7.4");
            }
            return;
        }
        // "Second, check the RST bit" (RFC 5961's exact-match check applies when the RST
        // is not exactly at RCV.NXT; we accept any in-window RST, as RFC 9293 allows.)
        if seg.flags.contains(Flags::RST) {
            let passive = self.tcb.as_ref().is_some_and(|t| t.passive);
            if self.state == TcpState::SynReceived && passive {
                self.set_state(TcpState::Listen, "received RST in SYN-RECEIVED: back to waiting", rfc("3.10.7.4"));
                self.tcb = None;
            } else {
                self.set_state(TcpState::Closed, "received RST: the peer reset the connection", rfc("3.10.7.4"));
                self.out.push_back(Output::Event(Event::Reset));
            }
            return;
        }
        // "Fourth, check the SYN bit … TCP endpoints MUST send a 'challenge ACK'" (RFC 5961 §4)
        if seg.flags.contains(Flags::SYN) {
            self.send_ack("as a challenge ACK: a SYN in a synchronized state is suspect (RFC 5961)", "3.10.7.4");
            return;
        }
        // "Fifth, check the ACK field: if the ACK bit is off, drop the segment and return"
        if !seg.flags.contains(Flags::ACK) {
            return;
        }
        if !self.process_ack(now, &seg) {
            return;
        }
        // "Seventh, process the segment text" in ESTABLISHED, FIN-WAIT-1 and FIN-WAIT-2.
        let mut need_ack = false;
        let mut fin_in_order = seg.flags.contains(Flags::FIN);
        if matches!(self.state, TcpState::Established | TcpState::FinWait1 | TcpState::FinWait2) {
            if let Some(tcb) = self.tcb.as_mut() {
                // Trim what we already have from the front of the segment.
                if lt(seg.seq, tcb.rcv_nxt) {
                    let dup = tcb.rcv_nxt.wrapping_sub(seg.seq) as usize;
                    seg.payload.drain(..dup.min(seg.payload.len()));
                    seg.seq = tcb.rcv_nxt;
                }
                if seg.seq != tcb.rcv_nxt {
                    // Out of order. "Segments with higher beginning sequence numbers SHOULD
                    // be held for later processing" (RFC 9293 §3.10.7.4); the ACK we send
                    // for what we have tells the sender of the hole (a duplicate ACK,
                    // RFC 5681 §4.2). A FIN out of order is ignored: it will come again.
                    if !seg.payload.is_empty() {
                        let offset = seg.seq.wrapping_sub(tcb.irs);
                        tcb.reassembly.entry(offset).or_insert_with(|| std::mem::take(&mut seg.payload));
                    }
                    fin_in_order = false;
                    need_ack = true;
                } else if !seg.payload.is_empty() {
                    tcb.rcv_nxt = tcb.rcv_nxt.wrapping_add(seg.payload.len() as u32);
                    Self::deliver(&self.config, &mut self.out, tcb, std::mem::take(&mut seg.payload));
                    // The hole may now be filled: deliver what was held, in order.
                    while let Some((&offset, _)) = tcb.reassembly.first_key_value() {
                        let next = tcb.rcv_nxt.wrapping_sub(tcb.irs);
                        if offset > next {
                            break;
                        }
                        let data = tcb.reassembly.remove(&offset).unwrap_or_default();
                        let skip = (next - offset) as usize;
                        if skip < data.len() {
                            tcb.rcv_nxt = tcb.rcv_nxt.wrapping_add((data.len() - skip) as u32);
                            Self::deliver(&self.config, &mut self.out, tcb, data[skip..].to_vec());
                        }
                    }
                    // A FIN on this segment counts only if nothing is still held after it.
                    fin_in_order = fin_in_order && tcb.reassembly.is_empty();
                    need_ack = true;
                }
            }
        } else {
            // CLOSE-WAIT, CLOSING, LAST-ACK, TIME-WAIT: "Ignore the segment text" (seventh).
            // A FIN that got this far is acknowledged and changes no state; in TIME-WAIT it
            // restarts the 2·MSL timeout (RFC 9293 §3.10.7.4, eighth). (A retransmitted FIN
            // below RCV.NXT was already answered by the sequence check, first.)
            if fin_in_order {
                self.send_ack("to acknowledge the FIN; the connection is already closing", "3.10.7.4");
                if self.state == TcpState::TimeWait {
                    self.time_wait_until = Some(now + self.config.msl * 2);
                }
            }
            return;
        }
        // "Eighth, check the FIN bit"
        if fin_in_order {
            if let Some(tcb) = self.tcb.as_mut() {
                tcb.rcv_nxt = tcb.rcv_nxt.wrapping_add(1);
            }
            self.out.push_back(Output::Event(Event::PeerClosed));
            let fin_acked = self.our_fin_acked();
            match self.state {
                TcpState::Established => {
                    self.set_state(
                        TcpState::CloseWait,
                        "received FIN: the peer has no more data to send",
                        rfc("3.10.7.4"),
                    );
                    self.send_ack("to acknowledge the peer's FIN (a FIN takes one sequence number)", "3.6");
                    // The application may still send, then CLOSE.
                    self.flush(now);
                    return;
                }
                TcpState::FinWait1 if !fin_acked => {
                    self.set_state(
                        TcpState::Closing,
                        "received FIN before the ACK of its own FIN: a simultaneous close",
                        rfc("3.10.7.4"),
                    );
                }
                TcpState::FinWait1 | TcpState::FinWait2 => {
                    self.enter_time_wait(now, "received the peer's FIN after its own FIN was acknowledged");
                }
                _ => {}
            }
            self.send_ack("to acknowledge the peer's FIN (a FIN takes one sequence number)", "3.6");
            return;
        }
        if need_ack {
            self.send_ack("to acknowledge the data it received", "3.10.7.4");
        }
        self.flush(now);
    }

    fn our_fin_acked(&self) -> bool {
        self.tcb.as_ref().is_some_and(|t| t.fin_seq.is_some_and(|f| lt(f, t.snd_una)))
    }

    fn enter_time_wait(&mut self, now: Instant, cause: &'static str) {
        self.retransmit_at = None;
        self.time_wait_until = Some(now + self.config.msl * 2);
        self.set_state(TcpState::TimeWait, cause, rfc("3.10.7.4"));
    }

    /// "Fifth, check the ACK field" for the synchronized states. Returns false when the
    /// segment is done with.
    fn process_ack(&mut self, now: Instant, seg: &Segment) -> bool {
        let Some(tcb) = self.tcb.as_mut() else {
            return false;
        };
        if self.state == TcpState::SynReceived {
            // "If SND.UNA < SEG.ACK =< SND.NXT, then enter ESTABLISHED state and continue
            // processing … If the segment acknowledgment is not acceptable, form a reset
            // segment <SEQ=SEG.ACK><CTL=RST> and send it."
            if lt(tcb.snd_una, seg.ack) && le(seg.ack, tcb.snd_nxt) {
                tcb.snd_wnd = u32::from(seg.window);
                tcb.max_snd_wnd = tcb.max_snd_wnd.max(tcb.snd_wnd);
                tcb.snd_wl1 = seg.seq;
                tcb.snd_wl2 = seg.ack;
                self.set_state(TcpState::Established, "received the ACK of its SYN,ACK", rfc("3.10.7.4"));
            } else {
                let from = tcb.remote;
                self.reset_for(from, seg, "because the ACK does not acknowledge its SYN,ACK");
                return false;
            }
        }
        let Some(tcb) = self.tcb.as_mut() else {
            return false;
        };
        if lt(tcb.snd_una, seg.ack) && le(seg.ack, tcb.snd_nxt) {
            // New data acknowledged: "SND.UNA <- SEG.ACK. Any segments on the
            // retransmission queue that are thereby entirely acknowledged are removed."
            let acked_data = seg.ack.wrapping_sub(tcb.unacked_seq) as usize;
            let n = acked_data.min(tcb.unacked.len());
            tcb.unacked.drain(..n);
            tcb.unacked_seq = tcb.unacked_seq.wrapping_add(n as u32);
            let flight = tcb.snd_nxt.wrapping_sub(tcb.snd_una);
            tcb.snd_una = seg.ack;
            // Congestion control counts data (RFC 5681 §3.1): the ACK of a SYN or a FIN alone
            // moves nothing.
            let action = if n > 0 { tcb.cc.on_new_ack(seg.ack, n as u32, flight) } else { AckAction::None };
            self.retries = 0;
            self.retransmit_at = None;
            self.sample_rtt(seg.ack, now);
            self.report_cc();
            if action == AckAction::RetransmitFirstUnacked {
                self.retransmit_first_unacked(
                    now,
                    "again at once: a partial ACK shows the next hole (NewReno)",
                    RfcRef::new(6582, "3.2"),
                );
            }
            let Some(tcb) = self.tcb.as_mut() else {
                return false;
            };
            // "When all outstanding data has been acknowledged, turn off the retransmission
            // timer. When an ACK is received that acknowledges new data, restart the
            // retransmission timer" (RFC 6298 §5.2, §5.3)
            if tcb.snd_una != tcb.snd_nxt {
                self.arm_retransmit(now);
            }
        } else if gt(seg.ack, tcb.snd_nxt) {
            // "If the ACK acks something not yet sent (SEG.ACK > SND.NXT), then send an ACK,
            // drop the segment, and return."
            self.send_ack("because the ACK acknowledges data it never sent", "3.10.7.4");
            return false;
        } else if seg.ack == tcb.snd_una
            && tcb.snd_una != tcb.snd_nxt
            && seg.payload.is_empty()
            && !seg.flags.contains(Flags::SYN)
            && !seg.flags.contains(Flags::FIN)
            && u32::from(seg.window) == tcb.snd_wnd
        {
            // A duplicate ACK as RFC 5681 §2 defines it: data outstanding, no data or SYN or
            // FIN on it, the same acknowledgment number and the same window.
            let flight = tcb.snd_nxt.wrapping_sub(tcb.snd_una);
            let action = tcb.cc.on_dup_ack(tcb.snd_una, tcb.snd_nxt, flight);
            self.report_cc();
            if action == AckAction::FastRetransmit {
                self.retransmit_first_unacked(
                    now,
                    "again at once: three duplicate ACKs say it was lost (fast retransmit)",
                    RfcRef::new(5681, "3.2"),
                );
            }
        }
        let Some(tcb) = self.tcb.as_mut() else {
            return false;
        };
        // Window update: "If SND.UNA =< SEG.ACK =< SND.NXT, the send window should be
        // updated. If (SND.WL1 < SEG.SEQ or (SND.WL1 = SEG.SEQ and SND.WL2 =< SEG.ACK))"
        if le(tcb.snd_una, seg.ack)
            && le(seg.ack, tcb.snd_nxt)
            && (lt(tcb.snd_wl1, seg.seq) || (tcb.snd_wl1 == seg.seq && le(tcb.snd_wl2, seg.ack)))
        {
            tcb.snd_wnd = u32::from(seg.window);
            tcb.max_snd_wnd = tcb.max_snd_wnd.max(tcb.snd_wnd);
            tcb.snd_wl1 = seg.seq;
            tcb.snd_wl2 = seg.ack;
        }
        let fin_acked = self.our_fin_acked();
        match self.state {
            TcpState::FinWait1 if fin_acked => {
                self.set_state(
                    TcpState::FinWait2,
                    "received the ACK of its FIN; it waits for the peer's FIN",
                    rfc("3.10.7.4"),
                );
            }
            TcpState::Closing => {
                if fin_acked {
                    self.enter_time_wait(now, "received the ACK of its FIN after a simultaneous close");
                }
                return false;
            }
            TcpState::LastAck => {
                if fin_acked {
                    self.set_state(
                        TcpState::Closed,
                        "received the ACK of its FIN: both halves are closed",
                        rfc("3.10.7.4"),
                    );
                    self.out.push_back(Output::Event(Event::Closed));
                }
                return false;
            }
            _ => {}
        }
        true
    }
}

impl Tcb {
    fn new(remote: SocketAddr, passive: bool, iss: u32) -> Self {
        Tcb {
            remote,
            passive,
            iss,
            snd_una: iss,
            snd_nxt: iss.wrapping_add(1),
            snd_wnd: 0,
            max_snd_wnd: 0,
            snd_wl1: 0,
            snd_wl2: 0,
            irs: 0,
            rcv_nxt: 0,
            peer_mss: 536,
            send_queue: VecDeque::new(),
            bulk_offset: 0,
            bulk_left: 0,
            unacked: VecDeque::new(),
            unacked_seq: iss.wrapping_add(1),
            close_pending: false,
            fin_seq: None,
            reassembly: std::collections::BTreeMap::new(),
            cc: NewReno::new(536, iss),
            rcv_buf: VecDeque::new(),
            rcv_wnd_advertised: 0,
        }
    }
}

/// How much `send-bulk` data is generated into the send queue at a time.
const BULK_CHUNK: usize = 64 * 1024;

impl Tcb {
    /// Data the application gave us that has not been sent yet?
    fn has_queued(&self) -> bool {
        !self.send_queue.is_empty() || self.bulk_left > 0
    }

    /// Moves `send-bulk` data into the send queue until it holds `want` bytes or the bulk
    /// data is all there.
    fn top_up(&mut self, want: usize) {
        let n = want.saturating_sub(self.send_queue.len()).min(self.bulk_left);
        if n > 0 {
            self.send_queue.extend(&bulk_pattern(self.bulk_offset, n));
            self.bulk_offset += n;
            self.bulk_left -= n;
        }
    }
}

impl Machine for Tcp {
    type State = TcpState;
    type Command = Command;
    type Event = Event;
    type Error = TcpError;

    fn state(&self) -> TcpState {
        self.state
    }

    fn handle_input(&mut self, now: Instant, input: Input<'_, Command>) -> Result<(), TcpError> {
        match input {
            Input::Receive { from, bytes } => self.on_segment(now, from, bytes),
            Input::Timeout => {
                self.on_timeout(now);
                Ok(())
            }
            Input::Command(cmd) => self.on_command(now, cmd),
        }
    }

    fn poll_output(&mut self, _now: Instant) -> Output<TcpState, Event> {
        self.out.pop_front().unwrap_or(Output::Idle {
            wake_at: [self.retransmit_at, self.time_wait_until, self.persist_at].into_iter().flatten().min(),
        })
    }

    fn diagrams(&self) -> Vec<wirelab_core::StateDiagram> {
        vec![diagram()]
    }

    fn suggested_commands(&self) -> Vec<Command> {
        match self.state {
            TcpState::Closed => {
                let mut v = vec![Command::Listen];
                v.extend(self.config.suggested_peer.map(Command::Connect));
                v
            }
            TcpState::Established => vec![Command::Send(b"hello".to_vec()), Command::Close, Command::Abort],
            TcpState::CloseWait => vec![Command::Close, Command::Abort],
            TcpState::Listen | TcpState::SynSent => vec![Command::Close],
            _ => vec![Command::Abort],
        }
    }

    fn annotate(bytes: &[u8]) -> Annotation {
        wire::annotate(bytes)
    }
}
