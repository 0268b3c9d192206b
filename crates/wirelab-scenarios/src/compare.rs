//! Tables computed from runs, row by row: the seed's TCP-vs-UDP table from a `tcp-vs-udp`
//! run (what arrived, in what order, how late, and how many bytes crossed the wire for
//! it), and HTTP polling against WebSocket push from an `http-polling-vs-websocket` run.

use crate::web::POLLING_VS_WS_NODES;
use crate::{MESSAGES, TCP_VS_UDP_NODES};
use core::time::Duration;
use std::fmt;
use wirelab_core::{Instant, Trace, TraceKind};
use wirelab_http::{Limits, RequestParser};
use wirelab_tcp::{Flags, Segment};

/// What one protocol did with the messages.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    /// Messages the application handed over.
    pub sent: u32,
    /// Messages that reached the receiving application, each once.
    pub delivered: u32,
    /// The message numbers in the order the application got them.
    pub arrival_order: Vec<u32>,
    /// Per message (by number): time from being handed over to being delivered.
    pub latency: Vec<Option<Duration>>,
    /// Frames and bytes (with a 20-byte IPv4 header each) both ends put on the wire.
    pub frames: usize,
    pub wire_bytes: usize,
    /// Frames sent again because they were not acknowledged in time.
    pub retransmissions: usize,
    /// When the last message arrived.
    pub finished_at: Option<Instant>,
}

impl Outcome {
    pub fn in_order(&self) -> bool {
        self.arrival_order.windows(2).all(|w| w[0] < w[1])
    }

    pub fn mean_latency(&self) -> Option<Duration> {
        let got: Vec<Duration> = self.latency.iter().flatten().copied().collect();
        (!got.is_empty()).then(|| got.iter().sum::<Duration>() / got.len() as u32)
    }

    pub fn max_latency(&self) -> Option<Duration> {
        self.latency.iter().flatten().max().copied()
    }
}

/// Both columns of the table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Comparison {
    pub tcp: Outcome,
    pub udp: Outcome,
}

fn number(text: &str) -> Option<u32> {
    let rest = &text[text.find("seq=")? + 4..];
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

/// Reads the table off a `tcp-vs-udp` trace.
pub fn tcp_vs_udp(trace: &Trace) -> Option<Comparison> {
    let node = |name: &str| trace.nodes.iter().position(|n| n.name == name);
    let [c, s, us, ur] = TCP_VS_UDP_NODES.map(node);
    let (c, s, us, ur) = (c?, s?, us?, ur?);
    let n = MESSAGES as usize;
    let mut tcp = Outcome {
        sent: 0,
        delivered: 0,
        arrival_order: vec![],
        latency: vec![None; n],
        frames: 0,
        wire_bytes: 0,
        retransmissions: 0,
        finished_at: None,
    };
    let mut udp = tcp.clone();
    // TCP is a byte stream: message i is delivered once the stream reaches its last byte.
    let mut tcp_sent_at: Vec<(Instant, usize, u32)> = Vec::new(); // (when, end offset, number)
    let mut tcp_offset = 0usize;
    let mut tcp_received = 0usize;
    let mut udp_sent_at: Vec<Option<Instant>> = vec![None; n];
    for e in &trace.events {
        match &e.kind {
            TraceKind::Command { line } if e.node == c && line.starts_with("send ") => {
                let msg = &line["send ".len()..];
                tcp_offset += msg.len();
                if let Some(k) = number(msg) {
                    tcp_sent_at.push((e.at, tcp_offset, k));
                    tcp.sent += 1;
                }
            }
            TraceKind::Command { line } if e.node == us => {
                if let Some(k) = number(line).filter(|k| (*k as usize) < n) {
                    udp_sent_at[k as usize] = Some(e.at);
                    udp.sent += 1;
                }
            }
            TraceKind::Sent { frame } if e.node == c || e.node == s || e.node == us => {
                let side = if e.node == us { &mut udp } else { &mut tcp };
                side.frames += 1;
                side.wire_bytes += frame.bytes.len() + 20;
                if frame.reason.starts_with("again") {
                    side.retransmissions += 1;
                }
            }
            TraceKind::Event { text } if e.node == s && text.starts_with("received ") => {
                let bytes: usize =
                    text["received ".len()..].split(' ').next().and_then(|b| b.parse().ok()).unwrap_or(0);
                tcp_received += bytes;
                for &(at, end, k) in &tcp_sent_at {
                    if end <= tcp_received && tcp.latency[k as usize].is_none() {
                        tcp.latency[k as usize] = Some(e.at - at);
                        tcp.arrival_order.push(k);
                        tcp.delivered += 1;
                        tcp.finished_at = Some(e.at);
                    }
                }
            }
            TraceKind::Event { text }
                if e.node == ur && text.starts_with("datagram") && !text.contains("duplicate") =>
            {
                if let Some(k) = number(text).filter(|k| (*k as usize) < n) {
                    if let Some(at) = udp_sent_at[k as usize] {
                        udp.latency[k as usize] = Some(e.at - at);
                    }
                    udp.arrival_order.push(k);
                    udp.delivered += 1;
                    udp.finished_at = Some(e.at);
                }
            }
            _ => {}
        }
    }
    Some(Comparison { tcp, udp })
}

fn ms(d: Option<Duration>) -> String {
    d.map_or_else(|| "–".to_string(), |d| format!("{:.1} ms", d.as_secs_f64() * 1000.0))
}

impl Comparison {
    /// The seed's table: one row per property, one column per protocol.
    pub fn table(&self) -> Table {
        let (t, u) = (&self.tcp, &self.udp);
        let yes = |b: bool| if b { "yes" } else { "no" }.to_string();
        Table::new(
            ["TCP", "UDP"],
            vec![
                (
                    "messages delivered",
                    format!("{} of {}", t.delivered, t.sent),
                    format!("{} of {}", u.delivered, u.sent),
                ),
                ("in the order sent", yes(t.in_order()), yes(u.in_order())),
                ("mean delay", ms(t.mean_latency()), ms(u.mean_latency())),
                ("worst delay", ms(t.max_latency()), ms(u.max_latency())),
                ("frames on the wire", t.frames.to_string(), u.frames.to_string()),
                ("bytes on the wire (with IPv4)", t.wire_bytes.to_string(), u.wire_bytes.to_string()),
                ("retransmissions", t.retransmissions.to_string(), u.retransmissions.to_string()),
                ("arrival order", join(&t.arrival_order), join(&u.arrival_order)),
            ],
        )
    }
}

impl fmt::Display for Comparison {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.table().fmt(f)
    }
}

/// A comparison read off a run: one row per property, two columns.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Table {
    pub columns: [String; 2],
    pub rows: Vec<(String, String, String)>,
}

impl Table {
    fn new(columns: [&str; 2], rows: Vec<(&str, String, String)>) -> Self {
        Table {
            columns: columns.map(str::to_string),
            rows: rows.into_iter().map(|(n, a, b)| (n.to_string(), a, b)).collect(),
        }
    }
}

impl fmt::Display for Table {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{:<30} {:<28} {}", "", self.columns[0], self.columns[1])?;
        for (name, a, b) in &self.rows {
            writeln!(f, "{name:<30} {a:<28} {b}")?;
        }
        Ok(())
    }
}

/// The comparison scenario `id` makes, read off its `trace`, if it makes one.
pub fn table_for(id: &str, trace: &Trace) -> Option<Table> {
    match id {
        "tcp-vs-udp" => tcp_vs_udp(trace).map(|c| c.table()),
        "http-polling-vs-websocket" => polling_vs_websocket(trace).map(|c| c.table()),
        _ => None,
    }
}

fn join(v: &[u32]) -> String {
    v.iter().map(u32::to_string).collect::<Vec<_>>().join(" ")
}

/// How one client learnt the chat messages in `http-polling-vs-websocket`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChatDelivery {
    /// Messages the server published.
    pub published: usize,
    /// Messages the client got, each counted once.
    pub delivered: usize,
    /// HTTP requests the client put on the wire (for WebSocket, the opening handshake's
    /// GET): read from the bytes of its stream, each request once however often TCP sent it.
    pub requests: usize,
    /// Frames and bytes (with a 20-byte IPv4 header each) both ends put on the wire,
    /// TCP's handshake, acknowledgments and close included.
    pub frames: usize,
    pub wire_bytes: usize,
    /// Per message (by id): from being published to reaching the client.
    pub latency: Vec<Option<Duration>>,
}

impl ChatDelivery {
    pub fn mean_latency(&self) -> Option<Duration> {
        let got: Vec<Duration> = self.latency.iter().flatten().copied().collect();
        (!got.is_empty()).then(|| got.iter().sum::<Duration>() / got.len() as u32)
    }

    pub fn max_latency(&self) -> Option<Duration> {
        self.latency.iter().flatten().max().copied()
    }

    /// Bytes on the wire for each message delivered.
    pub fn bytes_per_message(&self) -> Option<usize> {
        (self.delivered > 0).then(|| self.wire_bytes / self.delivered)
    }
}

/// Both columns of the polling-vs-push table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PollingVsWebSocket {
    pub polling: ChatDelivery,
    pub websocket: ChatDelivery,
}

/// The id in "chat #<id> <what>", if the text says `what` of a chat message.
fn chat_id(text: &str, what: &str) -> Option<usize> {
    let rest = &text[text.find("chat #")? + "chat #".len()..];
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    rest[digits.len()..].starts_with(what).then(|| digits.parse().ok()).flatten()
}

/// The bytes `node` sent on its TCP connection, in stream order, each once: put together
/// from the payloads of its segments (retransmissions land on the same offsets).
pub fn sent_stream(trace: &Trace, node: usize) -> Vec<u8> {
    let mut iss = None;
    let mut stream = Vec::new();
    for e in trace.events.iter().filter(|e| e.node == node) {
        let TraceKind::Sent { frame } = &e.kind else { continue };
        let Ok(seg) = Segment::parse(&frame.bytes) else { continue };
        if seg.flags.contains(Flags::SYN) {
            iss = Some(seg.seq);
        }
        let Some(iss) = iss.filter(|_| !seg.payload.is_empty()) else { continue };
        let off = seg.seq.wrapping_sub(iss.wrapping_add(1)) as usize;
        let end = off + seg.payload.len();
        if stream.len() < end {
            stream.resize(end, 0);
        }
        stream[off..end].copy_from_slice(&seg.payload);
    }
    stream
}

/// HTTP requests at the start of `stream`, one after another, until something that is not
/// one (a WebSocket frame after the opening handshake).
fn count_requests(stream: &[u8]) -> usize {
    let mut parser = RequestParser::new(Limits::default());
    parser.push(stream);
    let mut n = 0;
    while let Ok(Some(_)) = parser.next_request() {
        n += 1;
    }
    n
}

/// Reads the table off an `http-polling-vs-websocket` trace: for each client, what its
/// server published and when (the servers' "chat #N published" events), when the client
/// had each message (its "chat #N received" events), its requests (parsed from the bytes
/// it sent) and the frames and bytes both ends put on the wire.
pub fn polling_vs_websocket(trace: &Trace) -> Option<PollingVsWebSocket> {
    let node = |name: &str| trace.nodes.iter().position(|n| n.name == name);
    let [hc, hs, wc, ws] = POLLING_VS_WS_NODES.map(node);
    let (hc, hs, wc, ws) = (hc?, hs?, wc?, ws?);
    let column = |client: usize, server: usize| {
        let mut published: Vec<Option<Instant>> = Vec::new();
        let mut received: Vec<Option<Instant>> = Vec::new();
        let (mut frames, mut wire_bytes) = (0, 0);
        let slot = |v: &mut Vec<Option<Instant>>, id: usize, at: Instant| {
            if v.len() <= id {
                v.resize(id + 1, None);
            }
            v[id].get_or_insert(at);
        };
        for e in trace.events.iter().filter(|e| e.node == client || e.node == server) {
            match &e.kind {
                TraceKind::Sent { frame } => {
                    frames += 1;
                    wire_bytes += frame.bytes.len() + 20;
                }
                TraceKind::Event { text } if e.node == server => {
                    if let Some(id) = chat_id(text, " published") {
                        slot(&mut published, id, e.at);
                    }
                }
                TraceKind::Event { text } => {
                    if let Some(id) = chat_id(text, " received") {
                        slot(&mut received, id, e.at);
                    }
                }
                _ => {}
            }
        }
        let latency: Vec<Option<Duration>> =
            published.iter().enumerate().map(|(id, p)| Some(received.get(id).copied().flatten()? - (*p)?)).collect();
        ChatDelivery {
            published: published.iter().flatten().count(),
            delivered: received.iter().flatten().count(),
            requests: count_requests(&sent_stream(trace, client)),
            frames,
            wire_bytes,
            latency,
        }
    };
    Some(PollingVsWebSocket { polling: column(hc, hs), websocket: column(wc, ws) })
}

impl PollingVsWebSocket {
    /// One row per property, one column per way of learning the messages.
    pub fn table(&self) -> Table {
        let (p, w) = (&self.polling, &self.websocket);
        let per = |d: &ChatDelivery| d.bytes_per_message().map_or_else(|| "–".to_string(), |b| b.to_string());
        Table::new(
            ["HTTP polling", "WebSocket push"],
            vec![
                (
                    "messages delivered",
                    format!("{} of {}", p.delivered, p.published),
                    format!("{} of {}", w.delivered, w.published),
                ),
                ("HTTP requests", p.requests.to_string(), w.requests.to_string()),
                ("frames on the wire", p.frames.to_string(), w.frames.to_string()),
                ("bytes on the wire (with IPv4)", p.wire_bytes.to_string(), w.wire_bytes.to_string()),
                ("bytes per message", per(p), per(w)),
                ("mean delivery latency", ms(p.mean_latency()), ms(w.mean_latency())),
                ("worst delivery latency", ms(p.max_latency()), ms(w.max_latency())),
            ],
        )
    }
}

impl fmt::Display for PollingVsWebSocket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.table().fmt(f)
    }
}
