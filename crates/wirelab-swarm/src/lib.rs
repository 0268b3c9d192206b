//! Sharing a file in pieces, the way BitTorrent peers do (BEP 3): `have`, `request` and
//! `piece` messages with BEP 3's framing, exchanged between peers that each serve what
//! they have. The same machine is a client of one server (client-server) or a member of a
//! swarm (peer-to-peer): only whom it may ask changes.
//!
//! Simplified, and said so: each message travels as one simulated datagram (real
//! BitTorrent runs over TCP, after a handshake and a bitfield); a piece is requested whole
//! as one block; no choking.

pub mod machine;
pub mod wire;

pub use machine::{Command, Config, Event, Peer, PeerState, Role};
pub use wire::{Message, WireError};
