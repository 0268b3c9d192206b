//! TCP (RFC 9293) as a sans-IO machine: real 20-byte headers (plus options), real
//! checksums over the IPv4 or IPv6 pseudo-header, seeded initial sequence numbers and
//! the RFC's eleven state names.
//!
//! Heads up! Read RFC 9293 §3.3.2 (the state diagram) and §3.10 (event processing)
//! before changing `machine.rs`: each rule sits next to the sentence it comes from.

pub mod cc;
pub mod error;
pub mod machine;
pub mod rtt;
pub mod seq;
pub mod stack;
pub mod wire;

pub use error::{TcpError, UsageError, WireError};
pub use machine::{Command, Config, Event, ReadMode, Tcp, TcpState};
pub use stack::{OverTcp, StackCommand, StackError, StackEvent, StackState};
pub use wire::{Flags, Segment, TcpOption};
