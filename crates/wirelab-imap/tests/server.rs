//! The server session against one or two clients and a shared [`MemStore`]: a table of
//! malformed and out-of-state commands (each answered BAD or NO with its tag, or an
//! untagged BAD, and the session goes on), IDLE pushing changes, changes held back
//! until a command may carry them (RFC 9051 §7.5.1), `\Seen` set by `BODY[]` and not
//! by `BODY.PEEK[]`, the UID forms, SEARCH as IMAP4rev1 and IMAP4rev2 answer it, and
//! literals.
#![cfg(not(target_arch = "wasm32"))]

mod support;

use support::{World, selected, store_with};
use wirelab_core::Machine;
use wirelab_imap::{Compat, Flag, ServerConfig, State};

fn config() -> ServerConfig {
    ServerConfig::new(support::SERVER)
}

fn rev2() -> ServerConfig {
    ServerConfig { compat: Compat::Rev2Only, ..config() }
}

/// A session in `state` ("not", "auth", "selected", "examined"), with 3 messages.
fn world_in(state: &str) -> World {
    let mut w = World::new(store_with(3), 1, config());
    w.take(0);
    match state {
        "not" => {}
        "auth" => {
            w.say(0, "s1 LOGIN alice secret");
        }
        "selected" => {
            w.say(0, "s1 LOGIN alice secret");
            w.say(0, "s2 SELECT INBOX");
        }
        "examined" => {
            w.say(0, "s1 LOGIN alice secret");
            w.say(0, "s2 EXAMINE INBOX");
        }
        _ => unreachable!(),
    }
    w
}

#[test]
fn test_bad_input_table() {
    let huge_literal = "a1 LOGIN {99999999}";
    let table: &[(&str, &str, &str)] = &[
        // (state, what the client sends, how the answer starts)
        // No tag: untagged BAD (RFC 9051 §7.1.3).
        ("not", "", "* BAD"),
        ("not", "   NOOP", "* BAD"),
        ("not", "+ NOOP", "* BAD"),
        ("not", "\u{1}\u{2}\u{3}", "* BAD"),
        ("not", "(a1) NOOP", "* BAD"),
        // A tag, then nothing or nonsense.
        ("not", "a1", "a1 BAD Missing command"),
        ("not", "a1 ", "a1 BAD Missing command"),
        ("not", "a1 FROB", "a1 BAD Unknown or unsupported command FROB"),
        ("not", "a1 STARTTLS", "a1 BAD Unknown or unsupported command STARTTLS"),
        ("not", "a1 AUTHENTICATE PLAIN", "a1 BAD Unknown"),
        ("not", "a1 APPEND INBOX {3}", "a1 BAD Unknown"),
        // Syntax.
        ("not", "a1 LOGIN alice", "a1 BAD Syntax error in LOGIN"),
        ("not", "a1 LOGIN alice secret extra", "a1 BAD Syntax error in LOGIN"),
        ("not", "a1 LOGIN \"alice secret", "a1 BAD Syntax error in LOGIN"),
        ("not", "a1 NOOP now", "a1 BAD Syntax error in NOOP"),
        ("not", huge_literal, "a1 BAD Too big: expected a literal no larger than the limit"),
        // Refused: NO (RFC 9051 §7.1.2).
        ("not", "a1 LOGIN alice wrong", "a1 NO [AUTHENTICATIONFAILED]"),
        ("not", "a1 LOGIN mallory secret", "a1 NO [AUTHENTICATIONFAILED]"),
        // Out of state (RFC 9051 §3).
        ("not", "a1 SELECT INBOX", "a1 BAD SELECT needs you to log in first"),
        ("not", "a1 FETCH 1 FLAGS", "a1 BAD FETCH needs you to log in first"),
        ("not", "a1 IDLE", "a1 BAD IDLE needs you to log in first"),
        ("auth", "a1 LOGIN alice secret", "a1 BAD LOGIN is not allowed in the Authenticated state"),
        ("auth", "a1 FETCH 1 FLAGS", "a1 BAD FETCH needs a selected mailbox"),
        ("auth", "a1 EXPUNGE", "a1 BAD EXPUNGE needs a selected mailbox"),
        ("auth", "a1 CLOSE", "a1 BAD CLOSE needs a selected mailbox"),
        ("auth", "a1 UID SEARCH ALL", "a1 BAD UID SEARCH needs a selected mailbox"),
        ("auth", "a1 SELECT Nope", "a1 NO [NONEXISTENT]"),
        ("auth", "a1 SELECT \"\"", "a1 NO [NONEXISTENT]"),
        ("auth", "a1 ENABLE", "a1 BAD Syntax error in ENABLE"),
        ("selected", "a1 ENABLE IMAP4rev2", "a1 BAD ENABLE is not allowed in the Selected state"),
        ("selected", "a1 LOGIN alice secret", "a1 BAD LOGIN is not allowed in the Selected state"),
        // Message numbers (RFC 9051 §9: beyond EXISTS is an error).
        ("selected", "a1 FETCH 0 FLAGS", "a1 BAD Syntax error in FETCH"),
        ("selected", "a1 FETCH 4 FLAGS", "a1 BAD Invalid message sequence number"),
        ("selected", "a1 STORE 2:9 +FLAGS \\Seen", "a1 BAD Invalid message sequence number"),
        ("selected", "a1 FETCH 1 (FLAGS", "a1 BAD Syntax error in FETCH"),
        ("selected", "a1 FETCH 1 BODY[FOO]", "a1 BAD Syntax error in FETCH"),
        ("selected", "a1 FETCH 1:2 NOPE", "a1 BAD Syntax error in FETCH"),
        ("selected", "a1 FETCH 1:2", "a1 BAD Syntax error in FETCH"),
        ("selected", "a1 FETCH 1 BODY[]<10>", "a1 BAD Syntax error in FETCH"),
        ("selected", "a1 STORE 1 FLAGS.LOUD (\\Seen)", "a1 BAD Syntax error in STORE"),
        ("selected", "a1 STORE 1 +FLAGS (\\*)", "a1 BAD Syntax error in STORE"),
        ("selected", "a1 SEARCH FOO", "a1 BAD Syntax error in SEARCH"),
        ("selected", "a1 SEARCH", "a1 BAD Syntax error in SEARCH"),
        ("selected", "a1 SEARCH SINCE 31-Foo-2020", "a1 BAD Syntax error in SEARCH"),
        ("selected", "a1 SEARCH CHARSET KOI8-R ALL", "a1 NO [BADCHARSET (US-ASCII UTF-8)]"),
        ("selected", "a1 UID FROB 1", "a1 BAD Syntax error in UID"),
        ("selected", "a1 UID EXPUNGE", "a1 BAD Syntax error in UID"),
        ("selected", "DONE", "DONE BAD Missing command"),
        // Read-only (EXAMINE): refused.
        ("examined", "a1 STORE 1 +FLAGS \\Seen", "a1 NO The mailbox is read-only"),
        ("examined", "a1 EXPUNGE", "a1 NO The mailbox is read-only"),
    ];
    for (state, line, want) in table {
        let mut w = world_in(state);
        let answer = w.say(0, line);
        assert!(answer.starts_with(want), "{state} / {line:?}: got {answer:?}, want {want:?}");
        assert_eq!(answer.matches("\r\n").count(), 1, "{state} / {line:?}: one answer: {answer:?}");
        assert!(!answer.contains("+ "), "{line:?}: no continuation for a refused literal");
        // The session goes on.
        assert_eq!(w.say(0, "z9 NOOP"), "z9 OK NOOP completed\r\n", "{state} / {line:?}: the session goes on");
    }
}

#[test]
fn test_selected_idle_pushes_exists_from_a_driver_change() {
    let mut w = selected(store_with(3), config());
    assert_eq!(w.say(0, "a3 IDLE"), "+ idling\r\n");
    assert!(w.servers[0].is_idling());
    // Another device delivers: the driver pushes `changed new`, the server tells at once.
    let (_, news) = w.store.deliver("alice", "INBOX", b"Subject: new\r\n\r\nhi\r\n", Default::default(), None);
    assert_eq!(news.len(), 1);
    w.news(news);
    assert_eq!(w.take(0), "* 4 EXISTS\r\n");
    // A flag set elsewhere, and an expunge: also at once (a command is in progress).
    let news = w.store.set_flags("alice", "INBOX", 2, wirelab_imap::StoreOp::Add, &[Flag::Deleted]);
    w.news(news);
    assert_eq!(w.take(0), "* 2 FETCH (FLAGS (\\Deleted) UID 2)\r\n");
    assert_eq!(w.say(0, "DONE"), "a3 OK IDLE terminated\r\n");
    assert!(!w.servers[0].is_idling());
    assert_eq!(w.say(0, "a4 NOOP"), "a4 OK NOOP completed\r\n");
}

#[test]
fn test_selected_changes_wait_for_a_command_and_expunge_waits_for_one_that_allows_it() {
    let mut w = World::new(store_with(3), 2, config());
    for i in 0..2 {
        w.say(i, "a1 LOGIN alice secret");
        w.say(i, "a2 SELECT INBOX");
        w.take(i);
    }
    // Device 1 deletes message 2 and expunges it; device 0 is told nothing yet
    // (no command in progress, RFC 9051 §7.5.1).
    w.say(1, "b1 STORE 2 +FLAGS.SILENT \\Deleted");
    assert_eq!(w.say(1, "b2 EXPUNGE"), "* 2 EXPUNGE\r\nb2 OK EXPUNGE completed\r\n");
    assert_eq!(w.take(0), "");
    assert_eq!(w.servers[0].pending_changes(), 2);
    // FETCH may carry the flag change but not the EXPUNGE: message numbers stay put.
    let out = w.say(0, "a3 FETCH 1:* FLAGS");
    assert_eq!(
        out,
        "* 1 FETCH (FLAGS ())\r\n* 2 FETCH (FLAGS ())\r\n* 3 FETCH (FLAGS ())\r\n\
* 2 FETCH (FLAGS (\\Deleted) UID 2)\r\na3 OK FETCH completed\r\n"
    );
    assert_eq!(w.servers[0].view(), vec![1, 2, 3]);
    // The message is gone from the store: fetching its text fails softly.
    let out = w.say(0, "a4 FETCH 2 BODY.PEEK[]");
    assert_eq!(out, "a4 NO [EXPUNGEISSUED] Some messages were expunged by another session\r\n");
    // NOOP may carry it.
    assert_eq!(w.say(0, "a5 NOOP"), "* 2 EXPUNGE\r\na5 OK NOOP completed\r\n");
    assert_eq!(w.servers[0].view(), vec![1, 3]);
    // New mail waits too, and comes with the next command (EXISTS is fine with FETCH).
    let (_, news) = w.store.deliver("alice", "INBOX", b"Subject: x\r\n\r\n", Default::default(), None);
    w.news(news);
    assert_eq!(w.take(0), "");
    assert_eq!(w.say(0, "a6 FETCH 1 UID"), "* 1 FETCH (UID 1)\r\n* 3 EXISTS\r\na6 OK FETCH completed\r\n");
    assert_eq!(w.say(1, "b3 NOOP"), "* 3 EXISTS\r\nb3 OK NOOP completed\r\n");
}

#[test]
fn test_selected_body_sets_seen_and_peek_does_not() {
    let mut w = World::new(store_with(2), 2, config());
    for i in 0..2 {
        w.say(i, "a1 LOGIN alice secret");
        w.say(i, "a2 SELECT INBOX");
        w.take(i);
    }
    let msg = "From: Bob <bob1@example.org>\r\nTo: alice@example.org\r\nSubject: Message 1\r\n\
Date: Mon, 1 Jan 2024 10:00:00 +0000\r\n\r\nHello number 1.\r\n";
    let out = w.say(0, "a3 FETCH 1 BODY.PEEK[]");
    assert_eq!(out, format!("* 1 FETCH (BODY[] {{{}}}\r\n{msg})\r\na3 OK FETCH completed\r\n", msg.len()));
    assert_eq!(w.store.messages("alice", "INBOX")[0].1.len(), 0, "PEEK leaves \\Seen alone");
    let out = w.say(0, "a4 FETCH 1 BODY[TEXT]");
    assert_eq!(out, "* 1 FETCH (BODY[TEXT] {17}\r\nHello number 1.\r\n FLAGS (\\Seen))\r\na4 OK FETCH completed\r\n");
    assert!(w.store.messages("alice", "INBOX")[0].1.contains(&Flag::Seen), "the store has it");
    // Asked for FLAGS too, or already seen: no second FLAGS, no second store.
    let out = w.say(0, "a5 FETCH 1 (FLAGS BODY[HEADER.FIELDS (SUBJECT)])");
    assert_eq!(
        out,
        "* 1 FETCH (FLAGS (\\Seen) BODY[HEADER.FIELDS (SUBJECT)] {22}\r\nSubject: Message 1\r\n\r\n)\r\n\
a5 OK FETCH completed\r\n"
    );
    // The other device hears of it with its next command.
    assert_eq!(w.say(1, "b1 NOOP"), "* 1 FETCH (FLAGS (\\Seen) UID 1)\r\nb1 OK NOOP completed\r\n");
    // Read-only sessions never set it (RFC 9051 §6.3.3).
    w.say(1, "b2 EXAMINE INBOX");
    w.say(1, "b3 FETCH 2 RFC822.TEXT");
    assert!(w.store.messages("alice", "INBOX")[1].1.is_empty());
    // RFC822 (IMAP4rev1) sets it.
    let out = w.say(0, "a6 FETCH 2 (RFC822.SIZE RFC822)");
    assert!(out.starts_with("* 2 FETCH (RFC822.SIZE 130 RFC822 {130}\r\n"), "{out}");
    assert!(out.ends_with(" FLAGS (\\Seen))\r\na6 OK FETCH completed\r\n"), "{out}");
}

#[test]
fn test_selected_uid_forms() {
    let mut w = selected(store_with(4), config());
    // Make UIDs differ from sequence numbers: expunge message 1.
    w.say(0, "a3 STORE 1 +FLAGS.SILENT (\\Deleted)");
    assert_eq!(w.say(0, "a4 EXPUNGE"), "* 1 EXPUNGE\r\na4 OK EXPUNGE completed\r\n");
    // UID FETCH: UIDs in, UID in every answer (RFC 9051 §6.4.9).
    assert_eq!(
        w.say(0, "a5 UID FETCH 3:* FLAGS"),
        "* 2 FETCH (UID 3 FLAGS ())\r\n* 3 FETCH (UID 4 FLAGS ())\r\na5 OK UID FETCH completed\r\n"
    );
    // "559:*" names the last message even when 559 is larger (RFC 9051 §9).
    assert_eq!(w.say(0, "a6 UID FETCH 559:* UID"), "* 3 FETCH (UID 4)\r\na6 OK UID FETCH completed\r\n");
    // No such UID is no error.
    assert_eq!(w.say(0, "a7 UID FETCH 1 FLAGS"), "a7 OK UID FETCH completed\r\n");
    assert_eq!(
        w.say(0, "a8 UID STORE 2,4 +FLAGS (\\Flagged)"),
        "* 1 FETCH (FLAGS (\\Flagged) UID 2)\r\n* 3 FETCH (FLAGS (\\Flagged) UID 4)\r\na8 OK +FLAGS completed\r\n"
    );
    assert_eq!(w.say(0, "a9 UID SEARCH FLAGGED"), "* SEARCH 2 4\r\na9 OK UID SEARCH completed\r\n");
    assert_eq!(w.say(0, "b1 SEARCH FLAGGED"), "* SEARCH 1 3\r\nb1 OK SEARCH completed\r\n");
    // UID EXPUNGE removes only the \Deleted messages in its set.
    w.say(0, "b2 STORE 1:3 +FLAGS.SILENT \\Deleted");
    assert_eq!(w.say(0, "b3 UID EXPUNGE 3:4"), "* 2 EXPUNGE\r\n* 2 EXPUNGE\r\nb3 OK UID EXPUNGE completed\r\n");
    assert_eq!(w.servers[0].view(), vec![2]);
    // CLOSE expunges the rest silently and leaves the Selected state.
    assert_eq!(w.say(0, "b4 CLOSE"), "b4 OK CLOSE completed\r\n");
    assert_eq!(w.servers[0].state(), State::Authenticated);
    assert!(w.store.messages("alice", "INBOX").is_empty());
}

#[test]
fn test_selected_search_as_rev1_and_rev2_answer_it() {
    let mut w = selected(store_with(3), config());
    w.say(0, "a3 STORE 2 +FLAGS \\Seen");
    assert_eq!(w.say(0, "a4 SEARCH UNSEEN"), "* SEARCH 1 3\r\na4 OK SEARCH completed\r\n");
    assert_eq!(w.say(0, "a5 SEARCH SEEN"), "* SEARCH 2\r\na5 OK SEARCH completed\r\n");
    // Header and body keys need the messages' bytes: the driver is asked for each.
    assert_eq!(w.say(0, "a6 SEARCH FROM bob3"), "* SEARCH 3\r\na6 OK SEARCH completed\r\n");
    assert_eq!(w.say(0, "a7 SEARCH SUBJECT \"message 1\""), "* SEARCH 1\r\na7 OK SEARCH completed\r\n");
    assert_eq!(w.say(0, "a8 SEARCH OR BODY \"number 2\" UID 3 NOT SEEN"), "* SEARCH 3\r\na8 OK SEARCH completed\r\n");
    assert_eq!(
        w.say(0, "a9 SEARCH SENTSINCE 2-Jan-2024 SENTBEFORE 3-Jan-2024"),
        "* SEARCH 2\r\na9 OK SEARCH completed\r\n"
    );
    assert_eq!(w.say(0, "b1 SEARCH NOT ALL"), "* SEARCH\r\nb1 OK SEARCH completed\r\n");
    // ESEARCH when asked with RETURN, even in IMAP4rev1.
    assert_eq!(
        w.say(0, "b2 SEARCH RETURN (MIN MAX COUNT) UNSEEN"),
        "* ESEARCH (TAG \"b2\") MIN 1 MAX 3 COUNT 2\r\nb2 OK SEARCH completed\r\n"
    );
    // After ENABLE IMAP4rev2: always ESEARCH (RFC 9051 §6.4.4).
    w.say(0, "b3 UNSELECT");
    assert_eq!(w.say(0, "b4 ENABLE IMAP4rev2"), "* ENABLED IMAP4rev2\r\nb4 OK ENABLE completed\r\n");
    let out = w.say(0, "b5 SELECT INBOX");
    assert!(out.contains("* LIST () \"/\" INBOX\r\n") && !out.contains("RECENT"), "{out}");
    assert_eq!(w.say(0, "b6 SEARCH UNSEEN"), "* ESEARCH (TAG \"b6\") ALL 1,3\r\nb6 OK SEARCH completed\r\n");
    assert_eq!(w.say(0, "b7 UID SEARCH ALL"), "* ESEARCH (TAG \"b7\") UID ALL 1:3\r\nb7 OK UID SEARCH completed\r\n");
    assert_eq!(w.say(0, "b8 SEARCH DELETED"), "* ESEARCH (TAG \"b8\")\r\nb8 OK SEARCH completed\r\n");
}

#[test]
fn test_not_authenticated_literals_sync_and_non_sync() {
    let mut w = World::new(store_with(1), 1, config());
    w.take(0);
    w.send(0, b"a1 LOGIN {5}\r\n");
    assert_eq!(w.take(0), "+ Ready for literal data\r\n");
    w.send(0, b"alice {6}\r\n");
    assert_eq!(w.take(0), "+ Ready for literal data\r\n");
    w.send(0, b"secret\r\n");
    assert_eq!(w.take(0), "a1 OK LOGIN completed\r\n");
    assert_eq!(w.servers[0].state(), State::Authenticated);
    // LITERAL+ (RFC 7888): no continuation; a literal may hold CRLF and specials.
    let mut w = World::new(store_with(1), 1, config());
    w.take(0);
    w.send(0, b"a1 LOGIN {5+}\r\nalice {6+}\r\nsecret\r\na2 LOGOUT\r\n");
    assert_eq!(w.take(0), "a1 OK LOGIN completed\r\n* BYE IMAP4rev2 Server logging out\r\na2 OK LOGOUT completed\r\n");
    assert_eq!(w.servers[0].state(), State::Logout);
}

#[test]
fn test_any_state_commands_and_pipelining() {
    let mut w = World::new(store_with(2), 1, config());
    let greeting = w.take(0);
    assert_eq!(
        greeting,
        "* OK [CAPABILITY IMAP4rev1 IMAP4rev2 ENABLE IDLE LITERAL+ NAMESPACE UNSELECT UIDPLUS ESEARCH] \
IMAP4rev2 Service Ready\r\n"
    );
    // Several commands in one segment: answered in order, each after its driver answer.
    w.send(0, b"a1 CAPABILITY\r\na2 LOGIN alice secret\r\na3 LIST \"\" *\r\na4 SELECT inbox\r\na5 FETCH 2 UID\r\n");
    let out = w.take(0);
    let tags: Vec<&str> = out.lines().filter(|l| !l.starts_with('*')).map(|l| &l[..2]).collect();
    assert_eq!(tags, ["a1", "a2", "a3", "a4", "a5"], "{out}");
    assert!(out.contains("* LIST () \"/\" INBOX\r\na3 OK"));
    assert!(out.contains("* 2 FETCH (UID 2)\r\na5 OK"));
    assert_eq!(w.say(0, "a6 LIST \"\" \"\""), "* LIST (\\Noselect) \"/\" \"\"\r\na6 OK LIST completed\r\n");
    assert_eq!(w.say(0, "a7 NAMESPACE"), "* NAMESPACE ((\"\" \"/\")) NIL NIL\r\na7 OK NAMESPACE completed\r\n");
    // SELECT elsewhere while selected: IMAP4rev1 sends no CLOSED; a failed SELECT
    // leaves no mailbox selected (RFC 9051 §6.3.2).
    assert!(w.say(0, "a8 SELECT Nope").starts_with("a8 NO [NONEXISTENT]"));
    assert_eq!(w.servers[0].state(), State::Authenticated);
    let t = &w.transitions[0];
    assert_eq!(t, &["Not Authenticated -> Authenticated", "Authenticated -> Selected", "Selected -> Authenticated"]);
}

#[test]
fn test_rev2_select_while_selected_says_closed() {
    let mut w = selected(store_with(1), rev2());
    let out = w.say(0, "a3 EXAMINE INBOX");
    assert!(out.starts_with("* OK [CLOSED] Previous mailbox closed\r\n* 1 EXISTS\r\n"), "{out}");
    assert!(out.contains("* OK [PERMANENTFLAGS ()] No permanent flags permitted\r\n"), "{out}");
    assert!(out.ends_with("a3 OK [READ-ONLY] EXAMINE completed\r\n"), "{out}");
}

#[test]
fn test_logout_and_eof() {
    let mut w = selected(store_with(1), config());
    let events_before = w.events[0].len();
    assert_eq!(w.say(0, "a3 LOGOUT"), "* BYE IMAP4rev2 Server logging out\r\na3 OK LOGOUT completed\r\n");
    assert_eq!(w.servers[0].state(), State::Logout);
    let ev: Vec<String> = w.events[0][events_before..].iter().map(ToString::to_string).collect();
    assert_eq!(ev, ["command a3 LOGOUT", "closed INBOX", "close the connection"]);
    // Nothing more is read.
    assert!(
        w.servers[0]
            .handle_input(w.now, wirelab_core::Input::Receive { from: support::CLIENT, bytes: b"a4 NOOP\r\n" })
            .is_err()
    );
}
