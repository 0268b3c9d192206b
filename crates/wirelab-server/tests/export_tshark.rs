//! `wirelab export --format pcap` read back by tshark, a dissector nobody here wrote:
//! no malformed packets, good IP and TCP checksums, and every field tshark decodes
//! (addresses, ports, seq, ack, flags, window, header and data lengths) equal to ours.
//! `cargo xtask test` installs tshark (Debian package `tshark`).

use std::path::Path;
use std::process::Command;
use wirelab_core::{LinkConfig, TraceKind};
use wirelab_scenarios::Params;
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

fn check(scenario: &str, seed: u64, loss: f64) {
    let dir = std::env::temp_dir().join(format!("wirelab-tshark-{}-{seed}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let file = dir.join(format!("{scenario}.pcap"));
    export(scenario, seed, loss, &file);
    let rows = tshark_rows(&file);
    // The same run in-process: same seed, same trace.
    let params = Params { seed, link: LinkConfig { loss, ..LinkConfig::default() }, drops: vec![] };
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
    for (i, (row, (at, frame))) in rows.iter().zip(&sent).enumerate() {
        let seg = Segment::parse(&frame.bytes).expect("our segment parses");
        let field = |name: &str| row[FIELDS.iter().position(|f| *f == name).expect("known field")].as_str();
        let ctx = format!("packet {} of {scenario} seed {seed}: {row:?}", i + 1);
        assert_eq!(field("_ws.malformed"), "", "{ctx}: malformed");
        assert_eq!(field("ip.checksum.status"), "1", "{ctx}: IP checksum not good");
        assert_eq!(field("tcp.checksum.status"), "1", "{ctx}: TCP checksum not good");
        assert_eq!(field("ip.src"), frame.from.ip().to_string(), "{ctx}");
        assert_eq!(field("ip.dst"), frame.to.ip().to_string(), "{ctx}");
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
}

#[test]
fn tshark_agrees_with_every_byte_of_the_handshake() {
    check("tcp-handshake", 1, 0.0);
    check("tcp-handshake", 2, 0.0);
}

#[test]
fn tshark_agrees_under_loss_with_retransmissions() {
    // 30% loss: retransmitted SYNs and FINs, resets, whatever the seed brings.
    for seed in [3, 5, 8] {
        check("tcp-handshake", seed, 0.3);
    }
}
