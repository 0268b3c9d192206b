//! Property tests: commands and responses survive print → parse unchanged; a session's
//! output does not depend on how its input was cut (at every single byte, and in random
//! chunkings, literals included), for the server and the client; no bytes make either
//! panic.
#![cfg(not(target_arch = "wasm32"))]

mod support;

use proptest::prelude::*;
use support::{CLIENT, SERVER, World, store_with};
use wirelab_core::{Input, Instant, Machine, Output, StreamApp};
use wirelab_imap::command::{SearchReturn, SectionText};
use wirelab_imap::response::{ESearchData, SingleKind};
use wirelab_imap::syntax::{LiteralMode, Value};
use wirelab_imap::types::{SeqNumber, SeqRange};
use wirelab_imap::{
    Address, BodyStructure, ClientCommand, ClientConfig, ClientEvent, Code, Command, CommandBody, Envelope, FetchItem,
    FetchItems, Flag, Flags, ImapClient, ImapServer, InternalDate, MsgAtt, Response, SearchKey, Section, SeqSet,
    ServerConfig, Status, StatusText, StoreOp, Untagged,
};

// ---------- strategies ----------

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-zA-Z0-9]{1,8}",
        "[ -~]{0,24}",
        proptest::collection::vec(any::<char>(), 0..12).prop_map(String::from_iter),
    ]
}

fn atom() -> impl Strategy<Value = String> {
    "[A-Za-z][A-Za-z0-9=+-]{0,8}".prop_filter("not NIL", |s| !s.eq_ignore_ascii_case("NIL"))
}

fn tag() -> impl Strategy<Value = String> {
    "[A-Za-z0-9.]{1,8}"
}

fn mailbox() -> impl Strategy<Value = String> {
    text().prop_map(|s| if s.eq_ignore_ascii_case("INBOX") { "INBOX".into() } else { s })
}

fn flag() -> impl Strategy<Value = Flag> {
    prop_oneof![
        Just(Flag::Seen),
        Just(Flag::Answered),
        Just(Flag::Flagged),
        Just(Flag::Deleted),
        Just(Flag::Draft),
        Just(Flag::Recent),
        "[A-Za-z$][A-Za-z0-9]{0,6}".prop_map(Flag::Keyword),
        "X[a-z]{1,5}".prop_map(Flag::Extension),
    ]
}

fn flags() -> impl Strategy<Value = Vec<Flag>> {
    proptest::collection::vec(flag(), 0..5).prop_map(|v| v.into_iter().collect::<Flags>().as_slice().to_vec())
}

fn seq_number() -> impl Strategy<Value = SeqNumber> {
    prop_oneof![(1u32..5000).prop_map(SeqNumber::Num), Just(SeqNumber::Star)]
}

fn seq_set() -> impl Strategy<Value = SeqSet> {
    proptest::collection::vec((seq_number(), seq_number()), 1..4)
        .prop_map(|v| SeqSet(v.into_iter().map(|(from, to)| SeqRange { from, to }).collect()))
}

fn section() -> impl Strategy<Value = Section> {
    let names = proptest::collection::vec("[A-Za-z-]{1,10}", 1..3);
    (
        proptest::collection::vec(1u32..9, 0..3),
        prop_oneof![
            Just(None),
            Just(Some(SectionText::Header)),
            Just(Some(SectionText::Text)),
            Just(Some(SectionText::Mime)),
            names.clone().prop_map(|n| Some(SectionText::HeaderFields(n))),
            names.prop_map(|n| Some(SectionText::HeaderFieldsNot(n))),
        ],
    )
        .prop_map(|(part, text)| {
            let text = if part.is_empty() && text == Some(SectionText::Mime) { None } else { text };
            Section { part, text }
        })
}

fn fetch_item() -> impl Strategy<Value = FetchItem> {
    prop_oneof![
        Just(FetchItem::Envelope),
        Just(FetchItem::Flags),
        Just(FetchItem::InternalDate),
        Just(FetchItem::Rfc822Size),
        Just(FetchItem::Body),
        Just(FetchItem::BodyStructure),
        Just(FetchItem::Uid),
        Just(FetchItem::Rfc822),
        Just(FetchItem::Rfc822Header),
        Just(FetchItem::Rfc822Text),
        (any::<bool>(), section(), proptest::option::of((0u32..10_000, 1u32..10_000)))
            .prop_map(|(peek, section, partial)| FetchItem::Section { peek, section, partial }),
    ]
}

fn search_key() -> impl Strategy<Value = SearchKey> {
    let leaf = prop_oneof![
        Just(SearchKey::All),
        Just(SearchKey::Answered),
        Just(SearchKey::Deleted),
        Just(SearchKey::Seen),
        Just(SearchKey::Unseen),
        Just(SearchKey::Undeleted),
        Just(SearchKey::New),
        Just(SearchKey::Recent),
        atom().prop_map(SearchKey::Keyword),
        text().prop_map(SearchKey::From),
        text().prop_map(SearchKey::Subject),
        text().prop_map(SearchKey::Body),
        (text(), text()).prop_map(|(n, v)| SearchKey::Header(n, v)),
        (0i64..100_000).prop_map(SearchKey::Since),
        (0i64..100_000).prop_map(SearchKey::SentBefore),
        (0u64..u64::from(u32::MAX)).prop_map(SearchKey::Larger),
        seq_set().prop_map(SearchKey::Uid),
        seq_set().prop_map(SearchKey::Seq),
    ];
    leaf.prop_recursive(3, 16, 3, |inner| {
        prop_oneof![
            inner.clone().prop_map(|k| SearchKey::Not(Box::new(k))),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| SearchKey::Or(Box::new(a), Box::new(b))),
            proptest::collection::vec(inner, 1..3).prop_map(SearchKey::And),
        ]
    })
}

fn command_body() -> impl Strategy<Value = CommandBody> {
    let ret = proptest::option::of(proptest::collection::vec(
        prop_oneof![
            Just(SearchReturn::Min),
            Just(SearchReturn::Max),
            Just(SearchReturn::All),
            Just(SearchReturn::Count)
        ],
        0..3,
    ));
    let op = prop_oneof![Just(StoreOp::Replace), Just(StoreOp::Add), Just(StoreOp::Remove)];
    prop_oneof![
        Just(CommandBody::Capability),
        Just(CommandBody::Noop),
        Just(CommandBody::Logout),
        Just(CommandBody::Idle),
        Just(CommandBody::Close),
        Just(CommandBody::Expunge),
        (text(), text()).prop_map(|(user, password)| CommandBody::Login { user, password }),
        proptest::collection::vec(atom(), 1..3).prop_map(CommandBody::Enable),
        mailbox().prop_map(CommandBody::Select),
        mailbox().prop_map(CommandBody::Examine),
        (mailbox(), text()).prop_map(|(reference, pattern)| CommandBody::List { reference, pattern }),
        seq_set().prop_map(CommandBody::UidExpunge),
        (
            any::<bool>(),
            seq_set(),
            prop_oneof![
                Just(FetchItems::All),
                Just(FetchItems::Fast),
                Just(FetchItems::Full),
                proptest::collection::vec(fetch_item(), 1..5).prop_map(FetchItems::List),
            ]
        )
            .prop_map(|(uid, set, items)| CommandBody::Fetch { uid, set, items }),
        (any::<bool>(), seq_set(), op, any::<bool>(), flags())
            .prop_map(|(uid, set, op, silent, flags)| CommandBody::Store { uid, set, op, silent, flags }),
        (any::<bool>(), ret, proptest::option::of(atom()), proptest::collection::vec(search_key(), 1..4))
            .prop_map(|(uid, ret, charset, keys)| CommandBody::Search { uid, ret, charset, keys }),
    ]
}

fn value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Nil),
        (0u64..1 << 40).prop_map(Value::Number),
        proptest::collection::vec(any::<u8>(), 0..10)
            .prop_map(|b| Value::String(String::from_utf8_lossy(&b).into_owned().into_bytes())),
        "[A-Za-z][A-Za-z0-9]{0,6}".prop_filter("not NIL", |s| !s.eq_ignore_ascii_case("NIL")).prop_map(Value::Atom),
    ];
    leaf.prop_recursive(2, 8, 3, |inner| proptest::collection::vec(inner, 0..3).prop_map(Value::List))
}

fn code() -> impl Strategy<Value = Code> {
    prop_oneof![
        Just(Code::Alert),
        Just(Code::AuthenticationFailed),
        proptest::collection::vec(atom(), 0..3).prop_map(Code::BadCharset),
        proptest::collection::vec(atom(), 1..4).prop_map(Code::Capability),
        Just(Code::Closed),
        Just(Code::ExpungeIssued),
        Just(Code::NonExistent),
        Just(Code::Parse),
        (flags(), any::<bool>()).prop_map(|(mut f, w)| {
            if w {
                f.push(Flag::Wildcard)
            }
            Code::PermanentFlags(f)
        }),
        Just(Code::ReadOnly),
        Just(Code::ReadWrite),
        (1u32..).prop_map(Code::UidNext),
        (1u32..).prop_map(Code::UidValidity),
        (1u32..).prop_map(Code::Unseen),
        ("X[A-Z]{1,8}", proptest::option::of("[a-z0-9 ]{0,10}")).prop_map(|(a, t)| Code::Other(a, t)),
    ]
}

fn status_text(statuses: Vec<Status>) -> impl Strategy<Value = StatusText> {
    (prop::sample::select(statuses), proptest::option::of(code()), "[a-zA-Z0-9 ,.()]{0,30}").prop_map(
        |(status, code, text)| {
            let text = if code.is_none() { text.trim_start_matches('[').to_string() } else { text };
            StatusText { status, code, text }
        },
    )
}

fn nstring() -> impl Strategy<Value = Option<String>> {
    proptest::option::of(text())
}

fn address() -> impl Strategy<Value = Address> {
    (nstring(), nstring(), nstring(), nstring()).prop_map(|(name, adl, mailbox, host)| Address {
        name,
        adl,
        mailbox,
        host,
    })
}

fn envelope() -> impl Strategy<Value = Envelope> {
    let list = || proptest::collection::vec(address(), 0..3);
    ((nstring(), nstring(), list(), list(), list()), (list(), list(), list(), nstring(), nstring())).prop_map(
        |((date, subject, from, sender, reply_to), (to, cc, bcc, in_reply_to, message_id))| Envelope {
            date,
            subject,
            from,
            sender,
            reply_to,
            to,
            cc,
            bcc,
            in_reply_to,
            message_id,
        },
    )
}

fn body_structure() -> impl Strategy<Value = BodyStructure> {
    let params = proptest::collection::vec((text(), text()), 0..3);
    let single = (
        prop_oneof![Just(0u8), Just(1u8)],
        prop::sample::select(vec!["APPLICATION", "IMAGE", "AUDIO"]),
        "[A-Z]{1,8}",
        params,
        (nstring(), nstring(), "[A-Z0-9]{1,8}", any::<u32>(), any::<u32>()),
        proptest::collection::vec(value(), 0..2),
    )
        .prop_map(|(k, basic, subtype, params, (id, description, encoding, size, lines), ext)| {
            let (media_type, kind) = if k == 0 {
                (basic.to_string(), SingleKind::Basic)
            } else {
                ("TEXT".into(), SingleKind::Text { lines })
            };
            BodyStructure::Single { media_type, subtype, params, id, description, encoding, size, kind, ext }
        });
    single.prop_recursive(2, 8, 3, |inner| {
        prop_oneof![
            (proptest::collection::vec(inner.clone(), 1..3), "[A-Z]{1,8}")
                .prop_map(|(parts, subtype)| BodyStructure::Multi { parts, subtype, ext: Vec::new() }),
            (envelope(), inner, any::<u32>(), any::<u32>()).prop_map(|(env, body, size, lines)| {
                BodyStructure::Single {
                    media_type: "MESSAGE".into(),
                    subtype: "RFC822".into(),
                    params: Vec::new(),
                    id: None,
                    description: None,
                    encoding: "7BIT".into(),
                    size,
                    kind: SingleKind::Message { envelope: Box::new(env), body: Box::new(body), lines },
                    ext: Vec::new(),
                }
            }),
        ]
    })
}

fn bytes() -> impl Strategy<Value = Option<Vec<u8>>> {
    proptest::option::of(proptest::collection::vec(any::<u8>(), 0..64))
}

fn msg_att() -> impl Strategy<Value = MsgAtt> {
    prop_oneof![
        flags().prop_map(|f| MsgAtt::Flags(f.into_iter().collect())),
        (1u32..).prop_map(MsgAtt::Uid),
        (0u64..1 << 40).prop_map(MsgAtt::Rfc822Size),
        (0i64..253_402_300_799, -1439i16..1440)
            .prop_map(|(unix, offset_minutes)| { MsgAtt::InternalDate(InternalDate { unix, offset_minutes }) }),
        envelope().prop_map(|e| MsgAtt::Envelope(Box::new(e))),
        body_structure().prop_map(|b| MsgAtt::Body(Box::new(b))),
        body_structure().prop_map(|b| MsgAtt::BodyStructure(Box::new(b))),
        (section(), proptest::option::of(any::<u32>()), bytes()).prop_map(|(section, origin, data)| MsgAtt::Section {
            section,
            origin,
            data
        }),
        bytes().prop_map(MsgAtt::Rfc822),
        bytes().prop_map(MsgAtt::Rfc822Header),
        bytes().prop_map(MsgAtt::Rfc822Text),
        ("X-[A-Z]{1,6}", value()).prop_map(|(n, v)| MsgAtt::Other(n, v)),
    ]
}

fn response() -> impl Strategy<Value = Response> {
    let all = vec![Status::Ok, Status::No, Status::Bad, Status::PreAuth, Status::Bye];
    let esearch = prop_oneof![
        (1u32..).prop_map(ESearchData::Min),
        (1u32..).prop_map(ESearchData::Max),
        seq_set().prop_map(ESearchData::All),
        any::<u32>().prop_map(ESearchData::Count),
    ];
    let untagged = prop_oneof![
        status_text(all).prop_map(Untagged::Status),
        proptest::collection::vec(atom(), 0..4).prop_map(Untagged::Capability),
        proptest::collection::vec(atom(), 0..2).prop_map(Untagged::Enabled),
        flags().prop_map(Untagged::Flags),
        (
            proptest::collection::vec("\\\\[A-Z][a-z]{1,8}", 0..3),
            proptest::option::of(prop::sample::select(vec!['/', '.'])),
            mailbox()
        )
            .prop_map(|(attributes, delimiter, mailbox)| Untagged::List { attributes, delimiter, mailbox }),
        any::<u32>().prop_map(Untagged::Exists),
        any::<u32>().prop_map(Untagged::Recent),
        (1u32..).prop_map(Untagged::Expunge),
        proptest::collection::vec(1u32.., 0..5).prop_map(Untagged::Search),
        (proptest::option::of("[A-Za-z0-9]{1,5}"), any::<bool>(), proptest::collection::vec(esearch, 0..3))
            .prop_map(|(tag, uid, data)| Untagged::ESearch { tag, uid, data }),
        (1u32.., proptest::collection::vec(msg_att(), 0..4)).prop_map(|(seq, attrs)| Untagged::Fetch { seq, attrs }),
        proptest::collection::vec(value(), 0..3).prop_map(Untagged::Namespace),
        "X[A-Z]{2,6}( [a-z0-9]{1,8}){0,3}".prop_map(Untagged::Other),
    ];
    prop_oneof![
        (tag(), status_text(vec![Status::Ok, Status::No, Status::Bad]))
            .prop_map(|(tag, status)| Response::Tagged { tag, status }),
        untagged.prop_map(Response::Untagged),
        "[ -~]{0,20}".prop_map(Response::Continue),
    ]
}

/// `bytes` cut at the given points (taken modulo its length), in order.
fn cut<'a>(bytes: &'a [u8], cuts: &[usize]) -> Vec<&'a [u8]> {
    let mut points: Vec<usize> = cuts.iter().map(|c| if bytes.is_empty() { 0 } else { c % bytes.len() }).collect();
    points.push(0);
    points.push(bytes.len());
    points.sort_unstable();
    points.dedup();
    points.windows(2).map(|w| &bytes[w[0]..w[1]]).collect()
}

// ---------- round trips ----------

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    #[test]
    fn commands_print_parse_round_trip(tag in tag(), body in command_body(), sync in any::<bool>()) {
        let c = Command::new(tag, body);
        let mut out = Vec::new();
        let splits = c.emit(&mut out, if sync { LiteralMode::Sync } else { LiteralMode::NonSync });
        prop_assert!(splits.windows(2).all(|w| w[0] < w[1]) && splits.iter().all(|&s| s <= out.len()));
        let parsed = Command::parse(&out);
        prop_assert_eq!(parsed.as_ref(), Ok(&c), "{}", String::from_utf8_lossy(&out));
        prop_assert_eq!(Command::read(&out).ok().flatten().map(|(n, _)| n), Some(out.len()));
    }

    #[test]
    fn responses_print_parse_round_trip(r in response()) {
        let bytes = r.to_bytes();
        let parsed = Response::parse(&bytes);
        prop_assert_eq!(parsed.as_ref(), Ok(&r), "{}", String::from_utf8_lossy(&bytes));
        prop_assert_eq!(Response::read(&bytes).ok().flatten().map(|(n, _)| n), Some(bytes.len()));
    }

    #[test]
    fn client_console_lines_round_trip(body in command_body()) {
        let c = ClientCommand::Send(body);
        let line = c.to_string();
        if !line.contains('\n') && !line.contains('\r') {
            let parsed = line.parse::<ClientCommand>();
            prop_assert_eq!(parsed.as_ref(), Ok(&c), "{}", line);
        }
    }
}

// ---------- the same session however it is cut ----------

/// A session with everything the framer must get right: sync and non-sync literals,
/// literals in responses, IDLE, pipelining, errors.
const SESSION: &[u8] = b"a1 CAPABILITY\r\na2 LOGIN {5}\r\nalice {6+}\r\nsecret\r\na3 SELECT INBOX\r\n\
a4 FETCH 1:* (FLAGS UID RFC822.SIZE ENVELOPE BODY[])\r\na5 STORE 2 +FLAGS (\\Deleted)\r\n\
a6 SEARCH SUBJECT {9}\r\nmessage 3\r\na7 IDLE\r\nDONE\r\nbogus\r\na8 FETCH 9 FLAGS\r\na9 EXPUNGE\r\n\
b1 UID FETCH 1:* (UID BODY.PEEK[HEADER.FIELDS (SUBJECT)])\r\nb2 LOGOUT\r\n";

fn serve_in_chunks(chunks: &[&[u8]]) -> (String, Vec<String>) {
    let mut w = World::new(store_with(3), 1, ServerConfig::new(SERVER));
    for c in chunks {
        w.send(0, c);
    }
    let events = w.events[0].iter().map(ToString::to_string).collect();
    (w.take(0), events)
}

#[test]
fn server_output_is_the_same_when_input_is_cut_at_every_byte() {
    let (whole, whole_events) = serve_in_chunks(&[SESSION]);
    assert!(whole.contains("+ Ready for literal data\r\n") && whole.contains("b2 OK LOGOUT completed"), "{whole}");
    assert!(whole.contains("* 2 EXPUNGE\r\na9 OK"), "{whole}");
    for i in 1..SESSION.len() {
        let (out, events) = serve_in_chunks(&[&SESSION[..i], &SESSION[i..]]);
        assert_eq!(out, whole, "cut at byte {i}");
        assert_eq!(events, whole_events, "cut at byte {i}");
    }
    let bytes: Vec<&[u8]> = SESSION.chunks(1).collect();
    assert_eq!(serve_in_chunks(&bytes).0, whole, "byte by byte");
}

/// The client's side of a whole session against our server (through the store): the
/// server's bytes, and the console commands.
fn recorded_session() -> (Vec<u8>, Vec<&'static str>) {
    let commands = vec![
        "login alice {6}\\r\\nsecret",
        "select INBOX",
        "fetch 1:* (FLAGS UID ENVELOPE BODY[])",
        "store 1:2 +FLAGS (\\Seen \\Flagged)",
        "uid search UNSEEN",
        "search RETURN (COUNT MIN) ALL",
        "logout",
    ];
    let mut w = World::new(store_with(3), 1, ServerConfig::new(SERVER));
    let mut c = ImapClient::new(ClientConfig::new(CLIENT, SERVER));
    for line in &commands {
        let cmd: ClientCommand = line.parse().expect("a console line");
        c.handle_input(Instant::ZERO, Input::Command(cmd)).expect("accepted");
    }
    let mut from_server = Vec::new();
    for _ in 0..100 {
        let answer = w.take(0);
        from_server.extend_from_slice(answer.as_bytes());
        c.handle_input(Instant::ZERO, Input::Receive { from: SERVER, bytes: answer.as_bytes() }).expect("reads");
        let mut to_server = Vec::new();
        loop {
            match c.poll_output(Instant::ZERO) {
                Output::Transmit(t) => to_server.extend_from_slice(&t.bytes),
                Output::Idle { .. } => break,
                _ => {}
            }
        }
        if to_server.is_empty() {
            break;
        }
        w.send(0, &to_server);
    }
    assert_eq!(c.state(), wirelab_imap::State::Logout);
    (from_server, commands)
}

fn client_events(commands: &[&str], chunks: &[&[u8]]) -> Vec<ClientEvent> {
    let mut c = ImapClient::new(ClientConfig::new(CLIENT, SERVER));
    let mut events = Vec::new();
    for line in commands {
        c.handle_input(Instant::ZERO, Input::Command(line.parse().expect("console"))).expect("accepted");
    }
    for chunk in chunks {
        c.handle_input(Instant::ZERO, Input::Receive { from: SERVER, bytes: chunk }).expect("reads");
        loop {
            match c.poll_output(Instant::ZERO) {
                Output::Event(e) => events.push(e),
                Output::Idle { .. } => break,
                _ => {}
            }
        }
    }
    events
}

#[test]
fn client_events_are_the_same_when_input_is_cut_at_every_byte() {
    let (stream, commands) = recorded_session();
    let whole = client_events(&commands, &[&stream]);
    assert!(whole.iter().any(|e| matches!(e, ClientEvent::Fetched { seq: 3, .. })), "{whole:?}");
    assert!(!whole.iter().any(|e| matches!(e, ClientEvent::Malformed { .. })), "{whole:?}");
    for i in 1..stream.len() {
        assert_eq!(client_events(&commands, &[&stream[..i], &stream[i..]]), whole, "cut at byte {i}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn server_output_is_the_same_in_random_chunkings(cuts in proptest::collection::vec(any::<usize>(), 0..40)) {
        let whole = serve_in_chunks(&[SESSION]);
        prop_assert_eq!(serve_in_chunks(&cut(SESSION, &cuts)), whole);
    }

    #[test]
    fn client_events_are_the_same_in_random_chunkings(cuts in proptest::collection::vec(any::<usize>(), 0..40)) {
        let (stream, commands) = recorded_session();
        prop_assert_eq!(client_events(&commands, &cut(&stream, &cuts)), client_events(&commands, &[&stream]));
    }
}

// ---------- no bytes make them panic ----------

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]

    #[test]
    fn no_bytes_make_the_server_panic(
        prefix in prop::sample::select(vec!["", "a1 LOGIN alice secret\r\n", "a1 LOGIN alice secret\r\na2 SELECT INBOX\r\n"]),
        junk in proptest::collection::vec(prop_oneof![
            any::<u8>(),
            prop::sample::select(b"(){}[]<>*%\\\" \r\n+0123456789".to_vec()),
        ], 0..300),
        keywords in proptest::collection::vec(prop::sample::select(vec![
            "a FETCH ", "a STORE ", "a SEARCH ", "a UID ", "BODY[", "{3}\r\n", "{2+}\r\n", "a IDLE\r\n", "DONE\r\n",
            "1:*", "\\Seen", "(", ")", "\r\n",
        ]), 0..20),
    ) {
        let mut w = World::new(store_with(2), 1, ServerConfig::new(SERVER));
        w.send(0, prefix.as_bytes());
        let mut bytes = junk;
        for k in keywords {
            bytes.extend_from_slice(k.as_bytes());
        }
        w.send(0, &bytes);
        w.send(0, b"\r\nz1 NOOP\r\n");
        let _ = ImapServer::annotate(&bytes);
    }

    #[test]
    fn no_bytes_make_the_client_panic(
        junk in proptest::collection::vec(prop_oneof![
            any::<u8>(),
            prop::sample::select(b"(){}[]<>*%\\\" \r\n+0123456789".to_vec()),
        ], 0..300),
        pieces in proptest::collection::vec(prop::sample::select(vec![
            "* ", "A001 ", "OK ", "FETCH (", "BODY[] ", "{3}\r\n", "ENVELOPE (", "BODYSTRUCTURE (", "NIL ", "\r\n",
            "* 1 EXPUNGE\r\n", "* 5 EXISTS\r\n", "+ go\r\n", "* BYE x\r\n",
        ]), 0..20),
    ) {
        let mut c = ImapClient::new(ClientConfig::new(CLIENT, SERVER));
        c.handle_input(Instant::ZERO, Input::Command("login a b".parse().expect("console"))).expect("queued");
        let mut bytes = b"* OK hi\r\n".to_vec();
        for p in pieces {
            bytes.extend_from_slice(p.as_bytes());
        }
        bytes.extend_from_slice(&junk);
        let _ = c.handle_input(Instant::ZERO, Input::Receive { from: SERVER, bytes: &bytes });
        while !matches!(c.poll_output(Instant::ZERO), Output::Idle { .. }) {}
        let _ = c.on_peer_closed(Instant::ZERO);
        let _ = ImapClient::annotate(&bytes);
    }
}
