//! Decoding masked client frames into unmasked payloads, MB/s (of wire bytes, 1 MB =
//! 10^6 bytes), ours against tungstenite on the very same buffers. The frames are Binary,
//! masked with a fresh key each, written by tungstenite's own encoder, and both decoders
//! are first checked to give back exactly the payloads that went in.
//!
//! Two levels:
//! - **read path**: what a server does with the bytes it reads, 16 KiB at a time (the
//!   read size of our server): ours is a server [`wirelab_ws::WebSocket`] after its opening
//!   handshake (`Input::Receive`, then `Event::Message`s: header parse and checks,
//!   unmasking, message assembly); tungstenite's is `WebSocketContext::read` with
//!   `Role::Server` (its `FrameCodec`: header parse, unmasking, message assembly). This is
//!   the like-for-like comparison. tungstenite runs twice: with its default configuration
//!   (a 128 KiB read buffer, zero-filled before each read: what users get) and with a
//!   16 KiB read buffer (our read size).
//! - **frame only**: ours is `Frame::parse_limited` (what the machine calls per frame:
//!   header parse and checks, payload copied out and unmasked). tungstenite has no public
//!   unmask of its own, so its side is `FrameHeader::parse`, then `Frame::format` of the
//!   masked frame, which is where it applies its mask: that costs it one more copy of the
//!   payload (into the output), so this row flatters ours.

use super::median;
use std::io::{Cursor, Read, Write};
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use tungstenite::Bytes;
use tungstenite::protocol::frame::coding::{Data, OpCode};
use tungstenite::protocol::frame::{Frame as TFrame, FrameHeader as TFrameHeader};
use tungstenite::protocol::{Role, WebSocketConfig, WebSocketContext};
use wirelab_core::{Input, Instant as MInstant, Machine, Output};
use wirelab_ws::{Config, Event, Frame, Message, WebSocket};

/// Bytes our server reads at a time, and so the chunks both read paths are fed.
pub const READ_CHUNK: usize = 16 * 1024;
/// Roughly how many wire bytes each workload holds.
const WORKLOAD_BYTES: usize = 4 << 20;

/// One buffer of frames and the payloads they carry.
#[derive(Clone, Debug)]
pub struct Workload {
    pub label: String,
    pub wire: Vec<u8>,
    pub payloads: Vec<Vec<u8>>,
}

/// xorshift64*: payload bytes and masking keys, the same on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

/// Frames of the given payload sizes, cycling through them until about
/// [`WORKLOAD_BYTES`] of wire bytes; masked by tungstenite's encoder.
pub fn workload(label: &str, sizes: &[usize], seed: u64) -> Workload {
    let mut rng = Rng(seed | 1);
    let mut wire = Vec::with_capacity(WORKLOAD_BYTES + 70_000);
    let mut payloads = Vec::new();
    for &len in sizes.iter().cycle() {
        if wire.len() >= WORKLOAD_BYTES {
            break;
        }
        let payload: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
        let mut frame = TFrame::message(payload.clone(), OpCode::Data(Data::Binary), true);
        frame.header_mut().mask = Some((rng.next() as u32).to_be_bytes());
        // Writing into a Vec cannot fail.
        let _ = frame.format(&mut wire);
        payloads.push(payload);
    }
    Workload { label: label.to_string(), wire, payloads }
}

/// The workloads: one per size, then the mix of all four.
pub fn workloads() -> Vec<Workload> {
    let mut w: Vec<Workload> = [(16, "16 B"), (125, "125 B"), (1024, "1 KiB"), (65_536, "64 KiB")]
        .iter()
        .map(|&(n, label)| workload(label, &[n], n as u64))
        .collect();
    w.push(workload("mix of the 4", &[16, 125, 1024, 65_536], 7));
    w
}

/// A decoder: feeds every payload it decodes to the sink, returns how many.
pub type Decoder = fn(&Workload, &mut dyn FnMut(&[u8])) -> Result<usize, String>;

const HANDSHAKE: &[u8] = b"GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";

/// Our read path: a server machine configured as our `/ws` is, fed 16 KiB reads.
pub fn ours_read_path(w: &Workload, sink: &mut dyn FnMut(&[u8])) -> Result<usize, String> {
    let (local, peer): (SocketAddr, SocketAddr) = (([127, 0, 0, 1], 80).into(), ([127, 0, 0, 1], 50_000).into());
    let mut config = Config::server(local, peer, 0);
    config.max_message = wirelab_server::MAX_WS_MESSAGE;
    let mut ws = WebSocket::new(config);
    let now = MInstant::ZERO;
    let mut n = 0;
    let mut poll = |ws: &mut WebSocket, n: &mut usize| -> Result<(), String> {
        loop {
            match ws.poll_output(now) {
                Output::Event(Event::Message(Message::Binary(b))) => {
                    sink(&b);
                    *n += 1;
                }
                Output::Event(Event::Failed { why, .. }) => return Err(why),
                Output::Idle { .. } => return Ok(()),
                _ => {}
            }
        }
    };
    ws.handle_input(now, Input::Receive { from: peer, bytes: HANDSHAKE }).map_err(|e| e.to_string())?;
    poll(&mut ws, &mut n)?;
    for chunk in w.wire.chunks(READ_CHUNK) {
        ws.handle_input(now, Input::Receive { from: peer, bytes: chunk }).map_err(|e| e.to_string())?;
        poll(&mut ws, &mut n)?;
    }
    Ok(n)
}

/// A socket for tungstenite: reads hand out the workload 16 KiB at a time; writes vanish.
struct Chunked<'a> {
    data: &'a [u8],
}

impl Read for Chunked<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = buf.len().min(READ_CHUNK).min(self.data.len());
        buf[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Ok(n)
    }
}

impl Write for Chunked<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// tungstenite's read path: a server `WebSocketContext` reading from a socket that gives
/// 16 KiB per read, with the default configuration (a 128 KiB read buffer, which it
/// zero-fills before every read).
pub fn tungstenite_read_path(w: &Workload, sink: &mut dyn FnMut(&[u8])) -> Result<usize, String> {
    tungstenite_read_path_with(WebSocketConfig::default(), w, sink)
}

/// As [`tungstenite_read_path`] with a 16 KiB read buffer: our read size.
pub fn tungstenite_read_path_16k(w: &Workload, sink: &mut dyn FnMut(&[u8])) -> Result<usize, String> {
    tungstenite_read_path_with(WebSocketConfig::default().read_buffer_size(READ_CHUNK), w, sink)
}

fn tungstenite_read_path_with(
    config: WebSocketConfig,
    w: &Workload,
    sink: &mut dyn FnMut(&[u8]),
) -> Result<usize, String> {
    let mut ctx = WebSocketContext::new(Role::Server, Some(config));
    let mut socket = Chunked { data: &w.wire };
    for _ in 0..w.payloads.len() {
        match ctx.read(&mut socket).map_err(|e| e.to_string())? {
            tungstenite::Message::Binary(b) => sink(&b),
            other => return Err(format!("expected a binary message, got {other:?}")),
        }
    }
    Ok(w.payloads.len())
}

/// Our frame decoder alone: `Frame::parse_limited`, frame after frame.
pub fn ours_frames(w: &Workload, sink: &mut dyn FnMut(&[u8])) -> Result<usize, String> {
    let (mut at, mut n) = (0, 0);
    while at < w.wire.len() {
        match Frame::parse_limited(&w.wire[at..], 1 << 20).map_err(|e| e.to_string())? {
            Some((frame, used)) => {
                sink(&frame.payload);
                at += used;
                n += 1;
            }
            None => return Err(format!("truncated frame at byte {at}")),
        }
    }
    Ok(n)
}

/// tungstenite's public pieces: `FrameHeader::parse`, then `Frame::format` to unmask.
pub fn tungstenite_frames(w: &Workload, sink: &mut dyn FnMut(&[u8])) -> Result<usize, String> {
    let mut cursor = Cursor::new(w.wire.as_slice());
    let mut out = Vec::with_capacity(70_000);
    let mut n = 0;
    while (cursor.position() as usize) < w.wire.len() {
        let (header, len) = TFrameHeader::parse(&mut cursor).map_err(|e| e.to_string())?.ok_or("truncated frame")?;
        let start = cursor.position() as usize;
        let end = start + len as usize;
        let payload = w.wire.get(start..end).ok_or("truncated payload")?;
        let header_len = header.len(len);
        out.clear();
        TFrame::from_payload(header, Bytes::copy_from_slice(payload)).format(&mut out).map_err(|e| e.to_string())?;
        sink(&out[header_len..]);
        cursor.set_position(end as u64);
        n += 1;
    }
    Ok(n)
}

/// Checks that `decode` gives back exactly the workload's payloads.
pub fn verify(name: &str, decode: Decoder, w: &Workload) -> Result<(), String> {
    let mut i = 0;
    let mut bad = None;
    let n = decode(w, &mut |p: &[u8]| {
        if bad.is_none() && w.payloads.get(i).map(Vec::as_slice) != Some(p) {
            bad = Some(i);
        }
        i += 1;
    })
    .map_err(|e| format!("{name} on {}: {e}", w.label))?;
    match bad {
        Some(i) => Err(format!("{name} on {}: payload {i} differs from what was sent", w.label)),
        None if n != w.payloads.len() => {
            Err(format!("{name} on {}: {n} payloads, {} were sent", w.label, w.payloads.len()))
        }
        None => Ok(()),
    }
}

/// MB/s of one sample: passes over the workload until at least `min` has gone by.
fn sample(decode: Decoder, w: &Workload, min: Duration) -> Result<f64, String> {
    let mut sum = 0u64;
    let mut sink = |p: &[u8]| sum = sum.wrapping_add(p.len() as u64 + u64::from(p.first().copied().unwrap_or(0)));
    let t = Instant::now();
    let mut passes = 0u64;
    while passes == 0 || t.elapsed() < min {
        decode(std::hint::black_box(w), &mut sink)?;
        passes += 1;
    }
    let secs = t.elapsed().as_secs_f64();
    std::hint::black_box(sum);
    Ok((w.wire.len() as u64 * passes) as f64 / secs / 1e6)
}

/// A decoder with its name in the tables.
#[derive(Clone, Copy, Debug)]
pub struct Named {
    pub name: &'static str,
    /// For the ratio column: "ours/{short}".
    pub short: &'static str,
    pub decode: Decoder,
}

/// One level of the comparison: ours first, then the baselines.
#[derive(Clone, Debug)]
pub struct Level {
    pub title: String,
    pub decoders: Vec<Named>,
    pub rows: Vec<DecodeRow>,
}

/// One workload: MB/s samples per decoder of its level.
#[derive(Clone, Debug)]
pub struct DecodeRow {
    pub label: String,
    pub frames: usize,
    pub samples: Vec<Vec<f64>>,
}

impl DecodeRow {
    /// Ours (the first decoder) over decoder `i`, by their medians.
    pub fn ratio(&self, i: usize) -> f64 {
        median(&self.samples[0]) / median(&self.samples[i])
    }
}

/// The levels to measure.
pub fn levels() -> Vec<Level> {
    let named = |name, short, decode| Named { name, short, decode };
    vec![
        Level {
            title: format!(
                "read path, {} KiB reads (ours: WebSocket machine; tungstenite: WebSocketContext::read, Role::Server)",
                READ_CHUNK / 1024
            ),
            decoders: vec![
                named("ours", "", ours_read_path as Decoder),
                named("tungstenite", "tung", tungstenite_read_path),
                named("tung. 16K buf", "tung16K", tungstenite_read_path_16k),
            ],
            rows: Vec::new(),
        },
        Level {
            title: "frame only (ours: Frame::parse_limited; tungstenite: FrameHeader::parse + Frame::format, \
                    one copy more)"
                .into(),
            decoders: vec![named("ours", "", ours_frames as Decoder), named("tungstenite", "tung", tungstenite_frames)],
            rows: Vec::new(),
        },
    ]
}

/// Every level on every workload: each decoder is verified first, then `rounds` samples
/// of at least `min` each are taken, the decoders taking turns (and turns about which
/// goes first), so a burst of load elsewhere falls on all of them alike.
pub fn measure(rounds: usize, min: Duration) -> Result<Vec<Level>, String> {
    let workloads = workloads();
    let mut levels = levels();
    for level in &mut levels {
        for w in &workloads {
            for d in &level.decoders {
                verify(d.name, d.decode, w)?;
            }
            let n = level.decoders.len();
            let mut samples = vec![Vec::new(); n];
            for r in 0..rounds.max(1) {
                for k in 0..n {
                    let i = (r + k) % n;
                    samples[i].push(sample(level.decoders[i].decode, w, min)?);
                }
            }
            level.rows.push(DecodeRow { label: w.label.clone(), frames: w.payloads.len(), samples });
        }
    }
    Ok(levels)
}

/// The tables, one per level: MB/s per decoder, then ours over each baseline.
pub fn report(rounds: usize, levels: &[Level]) -> String {
    use std::fmt::Write;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "Decode: masked Binary client frames -> unmasked payloads, ~{} MB of frames per size, payloads verified; \
         MB/s of wire bytes, median of {rounds} samples taken in turn",
        WORKLOAD_BYTES / 1_000_000
    );
    for level in levels {
        let _ = writeln!(s, "{}", level.title);
        let _ = write!(s, "  {:<14} {:>7}", "frames", "count");
        for d in &level.decoders {
            let _ = write!(s, " {:>14}", d.name);
        }
        for d in &level.decoders[1..] {
            let _ = write!(s, " {:>14}", format!("ours/{}", d.short));
        }
        let _ = writeln!(s);
        for r in &level.rows {
            let _ = write!(s, "  {:<14} {:>7}", r.label, r.frames);
            for x in &r.samples {
                let _ = write!(s, " {:>14.0}", median(x));
            }
            for i in 1..r.samples.len() {
                let _ = write!(s, " {:>13.2}×", r.ratio(i));
            }
            let _ = writeln!(s);
        }
    }
    if let Some(mix) = levels.first().and_then(|l| l.rows.last()) {
        let _ = writeln!(
            s,
            "ratio ours / tungstenite, read path, {}: {:.2}× against its default buffer, {:.2}× against a 16 KiB one \
             (goal ≥ 1.0×)",
            mix.label,
            mix.ratio(1),
            mix.ratio(2)
        );
    }
    s
}
