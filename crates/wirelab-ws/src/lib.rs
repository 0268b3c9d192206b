//! WebSocket (RFC 6455) as a sans-IO machine: the HTTP/1.1 opening handshake (§4), the
//! base framing protocol with masking and fragmentation (§5), and the closing handshake
//! (§5.5.1, §7). It runs over any byte stream: the simulated TCP of the stepped scenarios,
//! a real socket in the server, the browser's own WebSocket later.
//!
//! - [`wire`]: frames (`parse` / `emit` / `annotate`), close codes, wire errors.
//! - [`handshake`]: the client's request, the server's checks and answer, the client's checks.
//! - [`machine`]: [`WebSocket`], one endpoint (client or server) implementing
//!   [`wirelab_core::Machine`].
//!
//! No extensions (§9) are negotiated, so every RSV bit must be zero.
//!
//! Heads up! Read RFC 6455 §5 and §7 before changing `wire.rs` or `machine.rs`, and §4
//! before changing `handshake.rs`.

pub mod handshake;
pub mod machine;
pub mod tap;
pub mod wire;

pub use handshake::HandshakeError;
pub use machine::{Command, Config, Event, Message, ProtocolError, Role, UsageError, WebSocket, WsError, WsState};
pub use wire::{CloseCode, Frame, FrameHeader, Opcode, WireError};
