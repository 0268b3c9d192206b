//! POP3 (RFC 1939) as sans-IO machines: a server and a client for one connection each,
//! over any byte stream (our simulated TCP through `wirelab_tcp::stack::OverTcp`, or a
//! real socket).
//!
//! - [`wire`]: commands, status lines, multi-line responses and byte-stuffing; parsers
//!   that never panic.
//! - [`line`]: CRLF line splitting with a length limit.
//! - [`server`]: [`Pop3Server`]; it holds no mail and no passwords: it asks the driver
//!   ([`ServerEvent::Authenticate`], [`ServerEvent::Fetch`], [`ServerEvent::Delete`]) and
//!   waits for the answer ([`ServerCommand`]). Deletion happens only in UPDATE, after QUIT.
//! - [`client`]: [`Pop3Client`], one command at a time.
//! - [`md5`]: MD5 for APOP (§7).
//! - [`annotate`](mod@annotate): names every part of a command or response for the
//!   inspector.
//!
//! Heads up! Read RFC 1939 §3–§7 before changing `server.rs`, `client.rs` or `wire.rs`.

pub mod annotate;
pub mod client;
pub mod line;
pub mod md5;
pub mod server;
pub mod wire;

pub use client::{ClientCommand, ClientConfig, ClientEvent, ClientState, Pop3Client};
pub use server::{MessageInfo, Pop3Server, ServerCommand, ServerConfig, ServerEvent, ServerState};
pub use wire::{CommandError, Pop3Command, Response, ResponseError, Status, parse_command, parse_response};

use std::fmt;

/// A caller's mistake (the peer's mistakes are `-ERR` responses, not errors).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Pop3Error {
    /// The driver answered a question the server did not ask.
    NotAwaiting(&'static str),
    /// A command the machine cannot carry out (an invalid unique-id from the driver).
    BadCommand(String),
    /// The session is over.
    Closed,
}

impl fmt::Display for Pop3Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Pop3Error::NotAwaiting(what) => write!(f, "{what}: the server is not waiting for that answer"),
            Pop3Error::BadCommand(why) => write!(f, "bad command: {why}"),
            Pop3Error::Closed => f.write_str("the session is closed"),
        }
    }
}

impl std::error::Error for Pop3Error {}
