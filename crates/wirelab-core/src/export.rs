//! Exports of a trace for course material: a pcap capture Wireshark and tshark open, and
//! a Mermaid `sequenceDiagram`. Pure functions over a [`Trace`]; no I/O.

use crate::checksum::internet_checksum;
use crate::trace::{Trace, TraceKind};
use std::fmt::Write as _;
use std::net::IpAddr;

/// A capture in the classic libpcap format (microsecond timestamps, LINKTYPE_ETHERNET).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pcap {
    pub bytes: Vec<u8>,
    /// Packets written.
    pub packets: usize,
    /// Frames left out because they are not TCP or UDP (they have no IP protocol number).
    pub left_out: usize,
}

/// The IP protocol number of a frame, from the protocol its annotation names.
fn ip_protocol(protocol: &str) -> Option<u8> {
    match protocol {
        "TCP" => Some(6),
        "UDP" => Some(17),
        _ => None,
    }
}

/// A locally administered MAC for node `n`: 02:00:00:00:00:nn (+1, so no zero address).
fn mac(node: usize) -> [u8; 6] {
    let n = (node + 1) as u16;
    [0x02, 0, 0, 0, (n >> 8) as u8, n as u8]
}

/// Every frame the run put on the wire, as the sender's interface saw it when it sent
/// it (lost frames included: they were sent), wrapped in Ethernet II and IPv4 or IPv6.
pub fn pcap(trace: &Trace) -> Pcap {
    let mut out = Vec::new();
    // Global header (libpcap): magic, version 2.4, GMT offset, accuracy, snaplen, linktype.
    out.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
    out.extend_from_slice(&2u16.to_le_bytes());
    out.extend_from_slice(&4u16.to_le_bytes());
    out.extend_from_slice(&0i32.to_le_bytes());
    out.extend_from_slice(&0u32.to_le_bytes());
    out.extend_from_slice(&65_535u32.to_le_bytes());
    out.extend_from_slice(&1u32.to_le_bytes()); // LINKTYPE_ETHERNET
    let (mut packets, mut left_out) = (0, 0);
    let mut ip_id: Vec<u16> = vec![0; trace.nodes.len()];
    for e in &trace.events {
        let TraceKind::Sent { frame } = &e.kind else { continue };
        let Some(proto) = ip_protocol(&frame.annotation.protocol) else {
            left_out += 1;
            continue;
        };
        let mut pkt = Vec::with_capacity(14 + 40 + frame.bytes.len());
        pkt.extend_from_slice(&mac(frame.to_node.unwrap_or(usize::MAX - 1)));
        pkt.extend_from_slice(&mac(e.node));
        match (frame.from.ip(), frame.to.ip()) {
            (IpAddr::V4(src), IpAddr::V4(dst)) => {
                pkt.extend_from_slice(&0x0800u16.to_be_bytes());
                let id = ip_id.get_mut(e.node).map_or(0, |c| {
                    *c = c.wrapping_add(1);
                    *c
                });
                let total = (20 + frame.bytes.len()) as u16;
                let mut ip = [0u8; 20];
                ip[0] = 0x45; // version 4, IHL 5 (RFC 791 §3.1)
                ip[2..4].copy_from_slice(&total.to_be_bytes());
                ip[4..6].copy_from_slice(&id.to_be_bytes());
                ip[6] = 0x40; // Don't Fragment
                ip[8] = 64; // TTL
                ip[9] = proto;
                ip[12..16].copy_from_slice(&src.octets());
                ip[16..20].copy_from_slice(&dst.octets());
                let sum = internet_checksum(&ip);
                ip[10..12].copy_from_slice(&sum.to_be_bytes());
                pkt.extend_from_slice(&ip);
            }
            (src, dst) => {
                let v6 = |a: IpAddr| match a {
                    IpAddr::V4(a) => a.to_ipv6_mapped(),
                    IpAddr::V6(a) => a,
                };
                pkt.extend_from_slice(&0x86DDu16.to_be_bytes());
                pkt.extend_from_slice(&[0x60, 0, 0, 0]); // version 6, no class or flow label (RFC 8200 §3)
                pkt.extend_from_slice(&(frame.bytes.len() as u16).to_be_bytes());
                pkt.push(proto);
                pkt.push(64); // hop limit
                pkt.extend_from_slice(&v6(src).octets());
                pkt.extend_from_slice(&v6(dst).octets());
            }
        }
        pkt.extend_from_slice(&frame.bytes);
        let micros = e.at.as_micros();
        out.extend_from_slice(&((micros / 1_000_000) as u32).to_le_bytes());
        out.extend_from_slice(&((micros % 1_000_000) as u32).to_le_bytes());
        out.extend_from_slice(&(pkt.len() as u32).to_le_bytes());
        out.extend_from_slice(&(pkt.len() as u32).to_le_bytes());
        out.extend_from_slice(&pkt);
        packets += 1;
    }
    Pcap { bytes: out, packets, left_out }
}

/// Mermaid text is line-based; `;` and `#` have meanings there. Escape them as entities.
fn mermaid_text(s: &str) -> String {
    s.replace('#', "#35;").replace(';', "#59;").replace('\n', " ")
}

/// The run as a Mermaid `sequenceDiagram`: one participant per node, an arrow per frame
/// (a cross for one that was lost), a note for each state change.
pub fn mermaid(trace: &Trace) -> String {
    let mut out = String::from("sequenceDiagram\n");
    for (i, n) in trace.nodes.iter().enumerate() {
        let _ = writeln!(out, "    participant n{i} as {} ({})", mermaid_text(&n.name), n.ip);
    }
    for (i, n) in trace.nodes.iter().enumerate() {
        let _ = writeln!(out, "    Note over n{i}: {}", mermaid_text(&n.initial_state));
    }
    for e in &trace.events {
        match &e.kind {
            TraceKind::Sent { frame } => {
                let to = frame.to_node.unwrap_or(e.node);
                let lost = matches!(trace.fate(e.seq), Some((_, false)));
                let (arrow, suffix) = if lost { ("-x", " (lost)") } else { ("->>", "") };
                let _ =
                    writeln!(out, "    n{}{arrow}n{to}: {}{suffix}", e.node, mermaid_text(&frame.annotation.summary));
            }
            TraceKind::StateChanged { to, .. } => {
                let _ = writeln!(out, "    Note over n{}: {}", e.node, mermaid_text(to));
            }
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_trace_is_a_valid_empty_capture() {
        let p = pcap(&Trace::default());
        assert_eq!(p.bytes.len(), 24);
        assert_eq!(&p.bytes[..4], &[0xd4, 0xc3, 0xb2, 0xa1]);
        assert_eq!(p.packets, 0);
        assert_eq!(mermaid(&Trace::default()), "sequenceDiagram\n");
    }
}
