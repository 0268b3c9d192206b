//! The mail scenarios: SMTP (RFC 5321), POP3 (RFC 1939) and IMAP (RFC 9051) sessions over
//! our simulated TCP (`OverTcp`), every segment real and every byte annotated by the
//! protocol's own annotator. The servers keep no mail themselves: each asks its driver
//! (events in, commands back), and the drivers here are the smallest that answer those
//! questions from an in-memory maildrop, deterministically.
//!
//! Two of the app's bundles carry them, each within its size budget: the mail page SMTP
//! and POP3 (feature `mail`: [`smtp`], [`pop3`]), the IMAP page IMAP (feature `imap`:
//! [`imap`]). What they share is here.

use core::time::Duration;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use wirelab_tcp::{Config as TcpConfig, Tcp};

#[cfg(feature = "imap")]
pub mod imap;
#[cfg(feature = "mail")]
pub mod pop3;
#[cfg(feature = "mail")]
pub mod smtp;

#[cfg(feature = "imap")]
pub use imap::*;
#[cfg(feature = "mail")]
pub use pop3::*;
#[cfg(feature = "mail")]
pub use smtp::*;

/// north.test's mail host: SMTP on 25, POP3 on 110, IMAP on 143 (TEST-NET-1, RFC 5737).
pub const NORTH_IP: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 25));
pub const NORTH_SMTP: SocketAddr = SocketAddr::new(NORTH_IP, 25);
pub const NORTH_POP3: SocketAddr = SocketAddr::new(NORTH_IP, 110);
pub const NORTH_IMAP: SocketAddr = SocketAddr::new(NORTH_IP, 143);
/// north.test's relay agent, the client side of its outbound queue.
pub const NORTH_RELAY: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 26)), 49_153);
/// south.test's mail host, on another network (TEST-NET-2).
pub const SOUTH_SMTP: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(198, 51, 100, 25)), 25);

/// The demo account every mail scenario logs in as, and its password.
pub const ALICE: &str = "alice@north.test";
pub const PASSWORD: &str = "wirelab";

/// The nodes of `smtp-relay`, in order.
pub const RELAY_NODES: [&str; 4] = ["alice", "north", "north-relay", "south"];

const fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn tcp(local: SocketAddr, seed: u64, peer: Option<SocketAddr>) -> Tcp {
    let mut cfg = TcpConfig::new(local, seed);
    cfg.suggested_peer = peer;
    Tcp::new(cfg)
}

/// A message as RFC 5322 writes it, CRLF line ends. A body line that starts with a
/// period shows dot-stuffing (RFC 5321 §4.5.2) and POP3's byte-stuffing (RFC 1939 §3).
pub fn message(from: &str, to: &str, subject: &str, id: u32, body: &[&str]) -> Vec<u8> {
    let mut m = format!(
        "From: <{from}>\r\nTo: <{to}>\r\nSubject: {subject}\r\nDate: Thu, 01 Jan 2026 00:00:0{id} +0000\r\n\
         Message-ID: <{id}@wirelab.test>\r\n\r\n"
    );
    for line in body {
        m.push_str(line);
        m.push_str("\r\n");
    }
    m.into_bytes()
}

/// How many `Received:` fields a message's header starts with.
pub fn received_lines(content: &[u8]) -> usize {
    content
        .split(|&b| b == b'\n')
        .take_while(|l| l.starts_with(b"Received:") || l.starts_with(b"\t"))
        .filter(|l| l.starts_with(b"Received:"))
        .count()
}

/// The two messages in alice's maildrop at the start of `pop3-retrieve-delete` and
/// `imap-sync`.
pub fn inbox() -> [Vec<u8>; 2] {
    [
        message("bob@south.test", ALICE, "Minutes", 1, &["The minutes are attached.", ".", "..and that is all", "Bob"]),
        message("carol@north.test", ALICE, "Lunch?", 2, &["Noon?", "Carol"]),
    ]
}
