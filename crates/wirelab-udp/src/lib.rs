//! UDP (RFC 768) as a sans-IO machine: an 8-byte header, a checksum over the IPv4 or
//! IPv6 pseudo-header, and nothing else. No connection, no retransmission, no ordering:
//! what the link does to a datagram, the application sees.
//!
//! Heads up! RFC 768 is three pages; read it before changing `wire.rs`.

pub mod machine;
pub mod wire;

pub use machine::{Command, Config, Event, Udp, UdpState};
pub use wire::{Datagram, WireError};
