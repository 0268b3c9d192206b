//! HTTP/1.1 as sans-IO machines: a client and a server (one per connection) that read
//! and write a byte stream, parse with `httparse`, and frame message bodies exactly as
//! RFC 9112 §6 says (Content-Length, the chunked transfer coding, or read until close).
//!
//! The stream underneath is someone else's: our simulated TCP machine in stepped
//! scenarios, a real socket in the backend, a WebSocket-to-TCP bridge in the browser.
//! So the machines need two signals from the transport that bytes alone cannot carry:
//! - the peer closed its side: the transport runs the `eof` command
//!   ([`ClientCommand::Eof`], [`ServerCommand::Eof`], or `peer_closed(now)`), which
//!   completes a response read until close (RFC 9112 §6.3 rule 8);
//! - this side wants to close: the machine emits `CloseConnection`
//!   ([`ClientEvent::CloseConnection`], [`ServerEvent::CloseConnection`]) and then
//!   sends nothing more.
//!
//! Heads up! Read RFC 9112 §2–§7 and §9 (message syntax, framing, connections) and
//! RFC 9110 §9 and §15 (methods, status codes) before changing `wire.rs`, `chunked.rs`,
//! `client.rs` or `server.rs`.

pub mod chunked;
pub mod client;
pub mod server;
pub mod wire;

pub use chunked::ChunkedDecoder;
pub use client::{ClientCommand, ClientConfig, ClientEvent, ClientState, HttpClient};
pub use server::{HttpServer, Route, ServerCommand, ServerConfig, ServerEvent, ServerState, Site};
pub use wire::{HttpError, Limits, ParseError, Request, RequestParser, Response, ResponseParser, Version};
