//! The RFCs' own sample sessions (RFC 9051 §8, RFC 3501 §8, in `tests/transcripts/`)
//! played against our server: the client's lines go in, and what the server sends for
//! each is compared with the RFC's lines (modulo what the example leaves free, see each
//! transcript's notes). The driver answers with the example's mailbox: UIDVALIDITY
//! 3857529045, UIDNEXT 4392, message 12 as printed.
#![cfg(not(target_arch = "wasm32"))]

mod support;

use std::collections::BTreeMap;
use support::{CLIENT, Line, compare, responses, transcript};
use wirelab_core::{Input, Instant, Machine, Output, StreamApp};
use wirelab_imap::{
    ClientCommand, ClientConfig, ClientEvent, Compat, Flag, Flags, ImapClient, ImapServer, InternalDate, MessageMeta,
    MsgAtt, ServerCommand, ServerConfig, ServerEvent, Snapshot, State,
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

/// The server's lines of a transcript step as wire bytes: the RFC's print folding
/// undone (`( x` → `(x`, `x )` → `x)`), and the RFC's tag replaced by ours.
fn wire(lines: &[Line], rfc_tag: &str, our_tag: &str) -> Vec<u8> {
    let mut out = Vec::new();
    for l in support::expected_responses(lines) {
        let (Line::Server(s) | Line::ServerFree(s) | Line::Extra(s)) = l else { continue };
        let mut s = s.replace("( ", "(").replace(" )", ")");
        if !s.ends_with("\r\n") {
            s.push_str("\r\n");
        }
        if let Some(rest) = s.strip_prefix(&format!("{rfc_tag} ")) {
            s = format!("{our_tag} {rest}");
        }
        out.extend_from_slice(s.as_bytes());
    }
    out
}

/// Plays `text` against our client: each `C:` line (without its tag) is a console
/// command; what the client sends must be that line (tag aside when `any_tag`, keyword
/// case aside: RFC 9051 §9, "the case of characters ... is not significant"); the
/// server's lines are then fed to it. Returns the client and its events.
fn play_client(text: &str, any_tag: bool) -> (ImapClient, Vec<ClientEvent>) {
    let lines = transcript(text);
    let mut config = ClientConfig::new(CLIENT, support::SERVER);
    config.tag_prefix = "a".into();
    let mut c = ImapClient::new(config);
    let mut events = Vec::new();
    let drain = |c: &mut ImapClient, events: &mut Vec<ClientEvent>| {
        let mut sent = Vec::new();
        loop {
            match c.poll_output(Instant::ZERO) {
                Output::Transmit(t) => sent.extend_from_slice(&t.bytes),
                Output::Event(e) => events.push(e),
                Output::Idle { .. } => return sent,
                _ => {}
            }
        }
    };
    let (mut rfc_tag, mut our_tag) = (String::new(), String::new());
    let mut i = 0;
    loop {
        let start = i;
        while i < lines.len() && !matches!(lines[i], Line::Client(_)) {
            i += 1;
        }
        let bytes = wire(&lines[start..i], &rfc_tag, &our_tag);
        c.handle_input(Instant::ZERO, Input::Receive { from: support::SERVER, bytes: &bytes }).expect("reads");
        assert!(drain(&mut c, &mut events).is_empty(), "the client sends nothing unasked");
        let Some(Line::Client(line)) = lines.get(i) else { break };
        let (tag, console) = line.split_once(' ').expect("a tagged line");
        let cmd: ClientCommand = console.parse().unwrap_or_else(|e| panic!("{console}: {e}"));
        c.handle_input(Instant::ZERO, Input::Command(cmd)).expect("command accepted");
        let sent = String::from_utf8(drain(&mut c, &mut events)).expect("ASCII");
        let (sent_tag, sent_rest) = sent.split_once(' ').expect("tagged");
        if !any_tag {
            assert_eq!(sent_tag, tag, "the tag");
        }
        assert_eq!(sent_rest.to_ascii_lowercase(), format!("{}\r\n", console.to_ascii_lowercase()), "{line}");
        (rfc_tag, our_tag) = (tag.to_string(), sent_tag.to_string());
        i += 1;
    }
    (c, events)
}

fn check_client_learnt(events: &[ClientEvent], exists: u32, subject: &str) {
    assert!(events.contains(&ClientEvent::Selected {
        mailbox: "INBOX".into(),
        exists,
        uidvalidity: Some(3_857_529_045),
        uidnext: Some(4392),
        read_only: false
    }));
    let envelope = events.iter().find_map(|e| match e {
        ClientEvent::Fetched { seq: 12, attrs, .. } => attrs.iter().find_map(|a| match a {
            MsgAtt::Envelope(env) => Some(env.clone()),
            _ => None,
        }),
        _ => None,
    });
    let envelope = envelope.expect("the envelope of message 12");
    assert_eq!(envelope.subject.as_deref(), Some(subject));
    assert_eq!(envelope.cc.len(), 2);
    assert_eq!(envelope.cc[1].name.as_deref(), Some("John Klensin"));
    let header = events.iter().find_map(|e| match e {
        ClientEvent::Fetched { seq: 12, attrs, .. } => attrs.iter().find_map(|a| match a {
            MsgAtt::Section { data: Some(d), .. } => Some(d.clone()),
            _ => None,
        }),
        _ => None,
    });
    assert_eq!(header.map(|h| h.len()), Some(342));
    let flags: Flags = [Flag::Seen, Flag::Deleted].into_iter().collect();
    assert!(events.contains(&ClientEvent::Fetched { seq: 12, uid: None, attrs: vec![MsgAtt::Flags(flags)] }));
    assert!(events.iter().any(|e| matches!(e, ClientEvent::Bye(_))));
    assert_eq!(events.last(), Some(&ClientEvent::CloseConnection));
    assert!(!events.iter().any(|e| matches!(e, ClientEvent::Malformed { .. })), "{events:?}");
}

#[test]
fn rfc3501_section8_against_our_client() {
    let (client, events) = play_client(RFC3501, false);
    assert_eq!(client.state(), State::Logout);
    check_client_learnt(&events, 18, "IMAP4rev1 WG mtg summary and minutes");
    assert!(events.contains(&ClientEvent::Recent(2)));
}

#[test]
fn rfc9051_section8_against_our_client() {
    let (client, events) = play_client(RFC9051, true);
    assert_eq!(client.state(), State::Logout);
    check_client_learnt(&events, 172, "IMAP4rev2 WG mtg summary and minutes");
    assert!(events.contains(&ClientEvent::Listed {
        mailbox: "INBOX".into(),
        delimiter: Some('/'),
        attributes: vec![]
    }));
}
