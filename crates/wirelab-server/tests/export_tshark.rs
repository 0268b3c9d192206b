//! `wirelab export --format pcap` read back by tshark, a dissector nobody here wrote:
//! no malformed packets, good IP and TCP checksums, and every field tshark decodes
//! (addresses, ports, seq, ack, flags, window, header and data lengths) equal to ours.
//! `cargo xtask test` installs tshark (Debian package `tshark`).

use std::path::Path;
use std::process::Command;
use wirelab_core::TraceKind;
use wirelab_tcp::Segment;

const FIELDS: &[&str] = &[
    "ip.src",
    "ip.dst",
    "tcp.srcport",
    "tcp.dstport",
    "tcp.seq_raw",
    "tcp.ack_raw",
    "tcp.flags",
    "tcp.window_size_value",
    "tcp.hdr_len",
    "tcp.len",
    "ip.checksum.status",
    "tcp.checksum.status",
    "_ws.malformed",
    "frame.time_relative",
    "udp.srcport",
    "udp.dstport",
    "udp.length",
    "udp.checksum.status",
];

fn export(scenario: &str, seed: u64, loss: f64, out: &Path) {
    let status = Command::new(env!("CARGO_BIN_EXE_wirelab"))
        .args([
            "export",
            scenario,
            "--seed",
            &seed.to_string(),
            "--loss",
            &loss.to_string(),
            "--format",
            "pcap",
            "--out",
        ])
        .arg(out)
        .status()
        .expect("wirelab runs");
    assert!(status.success(), "wirelab export failed: {status}");
}

fn tshark_rows(pcap: &Path) -> Vec<Vec<String>> {
    let mut cmd = Command::new("tshark");
    cmd.arg("-r").arg(pcap).args(["-o", "tcp.check_checksum:TRUE", "-o", "ip.check_checksum:TRUE"]);
    cmd.args(["-o", "udp.check_checksum:TRUE"]);
    // Check TCP and UDP themselves: no application dissector may guess from a port number
    // (port 80 would make tshark reassemble bulk bytes as HTTP, and report every
    // retransmission as an overlap in that reassembly, though its bytes are identical, as
    // tests/tcp_bulk.rs checks byte by byte).
    cmd.args(["--disable-protocol", "http,quic,dns,ntp,snmp,syslog,rtp,rtcp,sip"]);
    cmd.args(["-o", "tcp.desegment_tcp_streams:FALSE"]);
    cmd.args(["-T", "fields", "-E", "separator=/t", "-E", "occurrence=f"]);
    for f in FIELDS {
        cmd.args(["-e", f]);
    }
    let out = cmd.output().unwrap_or_else(|e| {
        panic!("cannot run tshark ({e}): install the Debian package tshark, or run cargo xtask test, which does")
    });
    assert!(out.status.success(), "tshark failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| l.split('\t').map(str::to_string).collect::<Vec<_>>())
        .collect()
}

fn check(scenario: &str, seed: u64, loss: f64) -> usize {
    let dir = std::env::temp_dir().join(format!("wirelab-tshark-{}-{scenario}-{seed}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let file = dir.join(format!("{scenario}.pcap"));
    export(scenario, seed, loss, &file);
    let rows = tshark_rows(&file);
    // The same run in-process: same seed, same trace.
    let mut params = wirelab_scenarios::defaults(scenario);
    params.seed = seed;
    params.link.loss = loss;
    let trace = wirelab_scenarios::run(scenario, &params).expect("runs");
    let sent: Vec<_> = trace
        .events
        .iter()
        .filter_map(|e| match &e.kind {
            TraceKind::Sent { frame } => Some((e.at, frame)),
            _ => None,
        })
        .collect();
    assert_eq!(rows.len(), sent.len(), "one packet per frame sent");
    let mut udp = 0;
    for (i, (row, (at, frame))) in rows.iter().zip(&sent).enumerate() {
        let field = |name: &str| {
            row.get(FIELDS.iter().position(|f| *f == name).expect("known field")).map_or("", String::as_str)
        };
        let ctx = format!("packet {} of {scenario} seed {seed}: {row:?}", i + 1);
        assert_eq!(field("_ws.malformed"), "", "{ctx}: malformed");
        assert_eq!(field("ip.checksum.status"), "1", "{ctx}: IP checksum not good");
        assert_eq!(field("ip.src"), frame.from.ip().to_string(), "{ctx}");
        assert_eq!(field("ip.dst"), frame.to.ip().to_string(), "{ctx}");
        if frame.annotation.protocol == "UDP" {
            let d = wirelab_udp::Datagram::parse(&frame.bytes).expect("our datagram parses");
            assert_eq!(field("udp.checksum.status"), "1", "{ctx}: UDP checksum not good");
            assert_eq!(field("udp.srcport"), d.src_port.to_string(), "{ctx}");
            assert_eq!(field("udp.dstport"), d.dst_port.to_string(), "{ctx}");
            assert_eq!(field("udp.length"), frame.bytes.len().to_string(), "{ctx}");
            udp += 1;
            continue;
        }
        let seg = Segment::parse(&frame.bytes).expect("our segment parses");
        assert_eq!(field("tcp.checksum.status"), "1", "{ctx}: TCP checksum not good");
        assert_eq!(field("tcp.srcport"), seg.src_port.to_string(), "{ctx}");
        assert_eq!(field("tcp.dstport"), seg.dst_port.to_string(), "{ctx}");
        assert_eq!(field("tcp.seq_raw"), seg.seq.to_string(), "{ctx}");
        assert_eq!(field("tcp.ack_raw"), seg.ack.to_string(), "{ctx}");
        assert_eq!(field("tcp.flags"), format!("0x{:04x}", seg.flags.0), "{ctx}");
        assert_eq!(field("tcp.window_size_value"), seg.window.to_string(), "{ctx}");
        assert_eq!(field("tcp.hdr_len"), seg.header_len().to_string(), "{ctx}");
        assert_eq!(field("tcp.len"), seg.payload.len().to_string(), "{ctx}");
        let t: f64 = field("frame.time_relative").parse().expect("a time");
        let ours = at.as_micros() as f64 / 1e6 - sent[0].0.as_micros() as f64 / 1e6;
        assert!((t - ours).abs() < 2e-6, "{ctx}: time {t} vs {ours}");
    }
    let _ = std::fs::remove_dir_all(&dir);
    udp
}

#[test]
fn tshark_agrees_with_every_byte_of_the_handshake() {
    check("tcp-handshake", 1, 0.0);
    check("tcp-handshake", 2, 0.0);
}

#[test]
fn tshark_agrees_with_tcp_and_udp_side_by_side() {
    for seed in [1, 2] {
        assert_eq!(check("tcp-vs-udp", seed, 0.15), 20, "all 20 datagrams are in the capture");
    }
}

#[test]
fn tshark_agrees_on_resets_crossing_fins_and_a_bulk_transfer() {
    check("tcp-reset", 1, 0.0);
    check("tcp-close-simultaneous", 1, 0.0);
    check("tcp-bulk", 1, 0.01);
    check("tcp-flow-control", 1, 0.0);
}

#[test]
fn tshark_agrees_under_loss_with_retransmissions() {
    // 30% loss: retransmitted SYNs and FINs, resets, whatever the seed brings.
    for seed in [3, 5, 8] {
        check("tcp-handshake", seed, 0.3);
    }
}
