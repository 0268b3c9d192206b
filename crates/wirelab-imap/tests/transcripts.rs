//! The RFCs' own sample sessions (RFC 9051 §8, RFC 3501 §8, in `tests/transcripts/`)
//! played against our server: the client's lines go in, and what the server sends for
//! each is compared with the RFC's lines (modulo what the example leaves free, see each
//! transcript's notes). The driver answers with the example's mailbox: UIDVALIDITY
//! 3857529045, UIDNEXT 4392, message 12 as printed.

mod support;

use std::collections::BTreeMap;
use support::{CLIENT, Line, compare, responses, transcript};
use wirelab_core::{Input, Instant, Machine, Output, StreamApp};
use wirelab_imap::{
    Compat, Flag, Flags, ImapServer, InternalDate, MessageMeta, ServerCommand, ServerConfig, ServerEvent, Snapshot,
    State,
};

pub const RFC9051: &str = include_str!("transcripts/rfc9051-8.txt");
pub const RFC3501: &str = include_str!("transcripts/rfc3501-8.txt");

/// The header of the RFCs' message 12 (342 octets, as BODY[HEADER] says).
fn header(version: &str) -> String {
    format!(
        "Date: Wed, 17 Jul 1996 02:23:25 -0700 (PDT)\r\n\
From: Terry Gray <gray@cac.washington.edu>\r\n\
Subject: IMAP4{version} WG mtg summary and minutes\r\n\
To: imap@cac.washington.edu\r\n\
cc: minutes@CNRI.Reston.VA.US, John Klensin <KLENSIN@MIT.EDU>\r\n\
Message-Id: <B27397-0100000@cac.washington.edu>\r\n\
MIME-Version: 1.0\r\n\
Content-Type: TEXT/PLAIN; CHARSET=US-ASCII\r\n\
\r\n"
    )
}

/// Message 12: the header and a body of 3028 octets in 92 lines, as BODY says.
pub fn message12(version: &str) -> Vec<u8> {
    let mut m = header(version).into_bytes();
    for i in 0..92 {
        let len = if i < 84 { 31 } else { 30 };
        let line = format!("{:-<len$}", format!("minutes line {i} "));
        m.extend_from_slice(line.as_bytes());
        m.extend_from_slice(b"\r\n");
    }
    m
}

/// The mailbox of the example, as the driver keeps it.
#[derive(Debug)]
pub struct RfcMailbox {
    pub exists: u32,
    pub flags: BTreeMap<u32, Flags>,
    pub version: &'static str,
}

impl RfcMailbox {
    /// RFC 9051 §8: 172 messages. RFC 3501 §8: 18, the last two \Recent and unseen.
    pub fn new(rev2: bool) -> RfcMailbox {
        let exists = if rev2 { 172 } else { 18 };
        let mut flags = BTreeMap::new();
        for seq in 1..=exists {
            let f: Flags = match seq {
                17 | 18 if !rev2 => [Flag::Recent].into_iter().collect(),
                _ => [Flag::Seen].into_iter().collect(),
            };
            flags.insert(Self::uid(exists, seq), f);
        }
        RfcMailbox { exists, flags, version: if rev2 { "rev2" } else { "rev1" } }
    }

    /// UIDs end at 4391, so UIDNEXT is 4392.
    pub fn uid(exists: u32, seq: u32) -> u32 {
        4391 - exists + seq
    }

    pub fn answer(&mut self, e: &ServerEvent) -> Option<ServerCommand> {
        let uid12 = Self::uid(self.exists, 12);
        match e {
            ServerEvent::Authenticate { .. } => Some(ServerCommand::LoginOk),
            ServerEvent::Open { .. } => Some(ServerCommand::Mailbox(Snapshot {
                uidvalidity: 3_857_529_045,
                uidnext: 4392,
                messages: self
                    .flags
                    .iter()
                    .map(|(&uid, f)| MessageMeta {
                        uid,
                        flags: f.clone(),
                        size: if uid == uid12 { 4286 } else { 100 },
                        internal_date: "17-Jul-1996 02:44:25 -0700".parse::<InternalDate>().ok(),
                    })
                    .collect(),
            })),
            ServerEvent::Fetch { uid } if *uid == uid12 => {
                Some(ServerCommand::Message { uid: *uid, bytes: message12(self.version) })
            }
            ServerEvent::Fetch { uid } => {
                Some(ServerCommand::Message { uid: *uid, bytes: b"Subject: other\r\n\r\nx\r\n".to_vec() })
            }
            ServerEvent::Store { uids, op, flags } => {
                let wanted: Vec<Flag> = flags.iter().cloned().collect();
                let mut out = Vec::new();
                for uid in uids {
                    if let Some(f) = self.flags.get_mut(uid) {
                        *f = op.apply(f, &wanted);
                        out.push((*uid, f.clone()));
                    }
                }
                Some(ServerCommand::Stored(out))
            }
            _ => None,
        }
    }
}

/// The example's configuration: PERMANENTFLAGS (\Deleted \Seen \*) for RFC 9051.
pub fn config(rev2: bool) -> ServerConfig {
    let mut c = ServerConfig::new(support::SERVER);
    if rev2 {
        c.compat = Compat::Rev2Only;
        c.permanent_flags = vec![Flag::Deleted, Flag::Seen, Flag::Wildcard];
    }
    c
}

struct Scripted {
    server: ImapServer,
    mailbox: RfcMailbox,
}

impl Scripted {
    fn drain(&mut self) -> Vec<u8> {
        let mut out = Vec::new();
        loop {
            match self.server.poll_output(Instant::ZERO) {
                Output::Transmit(t) => out.extend_from_slice(&t.bytes),
                Output::Event(e) => {
                    if let Some(c) = self.mailbox.answer(&e) {
                        self.server.handle_input(Instant::ZERO, Input::Command(c)).expect("answer fits");
                    }
                }
                Output::Idle { .. } => return out,
                _ => {}
            }
        }
    }
}

/// Plays `text` against the server: returns the session for further checks.
fn play(text: &str, rev2: bool) -> ImapServer {
    let lines = transcript(text);
    let mut s = Scripted { server: ImapServer::new(config(rev2)), mailbox: RfcMailbox::new(rev2) };
    s.server.on_connected(Instant::ZERO).expect("greets");
    let mut i = 0;
    let mut step = "the greeting".to_string();
    let mut out = s.drain();
    loop {
        let start = i;
        while i < lines.len() && !matches!(lines[i], Line::Client(_)) {
            i += 1;
        }
        compare(&step, &lines[start..i], &responses(&out));
        let Some(Line::Client(c)) = lines.get(i) else { break };
        step = c.clone();
        let bytes = format!("{c}\r\n");
        s.server.handle_input(Instant::ZERO, Input::Receive { from: CLIENT, bytes: bytes.as_bytes() }).expect("reads");
        out = s.drain();
        i += 1;
    }
    s.server
}

#[test]
fn rfc9051_section8_against_our_server() {
    let server = play(RFC9051, true);
    assert_eq!(server.state(), State::Logout);
}

#[test]
fn rfc3501_section8_against_our_server() {
    let server = play(RFC3501, false);
    assert_eq!(server.state(), State::Logout);
    assert!(!server.is_rev2());
}

#[test]
fn the_transcripts_parse_and_their_literals_add_up() {
    for t in [RFC9051, RFC3501] {
        let lines = transcript(t);
        let server: Vec<Line> = lines.into_iter().filter(|l| !matches!(l, Line::Client(_))).collect();
        let grouped = support::expected_responses(&server);
        assert!(grouped.iter().any(|l| matches!(l, Line::Server(s) if s.contains("{342}\r\nDate:"))));
    }
    assert_eq!(header("rev2").len(), 342);
    let m = message12("rev2");
    assert_eq!(m.len() - 342, 3028);
    assert_eq!(m[342..].iter().filter(|&&b| b == b'\n').count(), 92);
}
