//! IMAP (RFC 9051, IMAP4rev2) as sans-IO machines: a server session that keeps no
//! mailbox of its own, and a client; both accept IMAP4rev1 (RFC 3501) peers.
//!
//! - [`syntax`]: the framer (lines and the literals inside them) and the lexical reader
//!   and writers of RFC 9051 §4 and §9.
//! - [`types`]: flags, sequence sets, dates, status words and response codes.
//! - [`command`] and [`response`]: the typed commands and responses, parsed and
//!   printed.
//! - [`message`]: reading a stored message for ENVELOPE, BODYSTRUCTURE, `BODY[…]` and
//!   SEARCH.
//! - [`server`]: [`ImapServer`], one session, with the store protocol it speaks with its
//!   driver (see its module documentation).
//! - [`client`]: [`ImapClient`], tags `A001`, `A002`…, console commands
//!   (`login alice secret`, `select INBOX`, `fetch 1:* (FLAGS ENVELOPE)`, `idle`…).
//! - [`store`]: [`MemStore`], an in-memory driver: mailboxes shared by several sessions
//!   and kept in sync, as the real server's SQLite store will do.
//! - [`annotate`]: what each byte of a command or response is, for the inspector.
//!
//! Heads up! Read RFC 9051 §2–§5 (model, states, data formats, sequencing) and §7
//! (responses) before changing `server.rs` or `client.rs`, and §9 (formal syntax)
//! before changing `syntax.rs`, `command.rs` or `response.rs`.

pub mod annotate;
pub mod client;
pub mod command;
pub mod message;
pub mod response;
pub mod server;
pub mod store;
pub mod syntax;
pub mod types;

pub use client::{ClientCommand, ClientConfig, ClientEvent, ImapClient};
pub use command::{Command, CommandBody, CommandError, FetchItem, FetchItems, SearchKey, Section, StoreOp};
pub use response::{Address, BodyStructure, Envelope, MsgAtt, Response, StatusText, Untagged};
pub use server::{
    Change, Compat, ImapError, ImapServer, MessageMeta, ServerCommand, ServerConfig, ServerEvent, Snapshot,
};
pub use store::MemStore;
pub use syntax::{Framed, Framer, Limits, ParseError};
pub use types::{Code, Flag, Flags, InternalDate, SeqSet, Status};

/// The states of an IMAP session (RFC 9051 §3), shared by server and client, printed
/// as the RFC names them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum State {
    /// §3.1: before LOGIN (or AUTHENTICATE) succeeds.
    NotAuthenticated,
    /// §3.2: logged in; no mailbox selected.
    Authenticated,
    /// §3.3: a mailbox is selected.
    Selected,
    /// §3.4: the connection is ending (LOGOUT, or the server said BYE).
    Logout,
}

impl std::fmt::Display for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            State::NotAuthenticated => "Not Authenticated",
            State::Authenticated => "Authenticated",
            State::Selected => "Selected",
            State::Logout => "Logout",
        })
    }
}

/// An IMAP session's states and transitions as RFC 9051 §3 Figure 1 draws them, for the
/// UI's state diagram of a client (`title` "IMAP client") or a server session. The
/// figure's own labels: (1) the OK greeting, (2) PREAUTH, (3) BYE, (4) LOGIN, (5)
/// SELECT or EXAMINE, (6) CLOSE, UNSELECT or a failed SELECT, (7) LOGOUT, shutdown or the
/// connection closed. IDLE (RFC 2177) is no state: it is a command in progress in
/// Authenticated or Selected.
pub fn session_diagram(title: &'static str) -> wirelab_core::StateDiagram {
    let mut d = wirelab_core::StateDiagram::new(title, Some(wirelab_core::RfcRef::new(9051, "3")));
    let not_auth = d.state("Not Authenticated", 0, 0);
    let auth = d.state("Authenticated", 1, 1);
    let selected = d.state("Selected", 1, 2);
    let logout = d.state("Logout", 0, 3);
    d.edge(not_auth, auth, "(4) LOGIN completed OK");
    d.edge(auth, selected, "(5) SELECT or EXAMINE completed OK");
    d.edge(selected, auth, "(6) CLOSE, UNSELECT, or a failed SELECT");
    d.from_any(auth, "(2) PREAUTH greeting");
    d.from_any(logout, "(3) BYE greeting; (7) LOGOUT, shutdown, or the connection closed");
    d
}
