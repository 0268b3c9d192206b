//! SMTP (RFC 5321) as sans-IO machines: a server and a client for one connection each,
//! with the SIZE (RFC 1870) and 8BITMIME (RFC 6152) extensions, over any byte stream
//! (our simulated TCP through `wirelab_tcp::stack::OverTcp`, or a real socket).
//!
//! - [`wire`]: command lines, replies, paths, parameters; parsers that never panic.
//! - [`line`]: CRLF line splitting with the limits of RFC 5321 §4.5.3.1.
//! - [`data`]: mail data, dot-stuffing and its removal (§4.5.2).
//! - [`trace`]: the `Received:` field (§4.4) and RFC 5322 dates.
//! - [`server`]: [`SmtpServer`]; it stores nothing itself: a complete message is a
//!   [`ServerEvent::Deliver`], and its 250 waits for the driver's [`ServerCommand::Stored`].
//! - [`client`]: [`SmtpClient`], one command at a time.
//! - [`annotate`](mod@annotate): names every part of a command, reply or message for the
//!   inspector.
//!
//! Heads up! Read RFC 5321 §3 and §4.1 before changing `client.rs` or `server.rs`, and
//! §4.5.2 and §4.5.3 before changing `data.rs`, `line.rs` or `wire.rs`.

pub mod annotate;
pub mod client;
pub mod data;
pub mod line;
pub mod server;
pub mod trace;
pub mod wire;

pub use client::{ClientCommand, ClientConfig, ClientEvent, ClientState, Outgoing, SmtpClient};
pub use server::{
    Envelope, Recipient, RecipientPolicy, RecipientVerdict, ServerCommand, ServerConfig, ServerEvent, ServerState,
    SmtpServer, StoreError,
};
pub use wire::{
    BodyType, CommandError, ForwardPath, MailParams, Mailbox, Param, PathError, Reply, ReplyError, ReversePath,
    SmtpCommand, parse_command, parse_reply,
};

use std::fmt;

/// A caller's mistake (the peer's mistakes are replies, not errors).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SmtpError {
    /// The driver answered a question the machine did not ask: `stored` when no message
    /// waits, `recipient` when no recipient does.
    NotAwaiting(&'static str),
    /// A command the machine cannot carry out.
    BadCommand(String),
    /// The session is over.
    Closed,
}

impl fmt::Display for SmtpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SmtpError::NotAwaiting(what) => write!(f, "{what}: the server is not waiting for that answer"),
            SmtpError::BadCommand(why) => write!(f, "bad command: {why}"),
            SmtpError::Closed => f.write_str("the session is closed"),
        }
    }
}

impl std::error::Error for SmtpError {}
