//! Malformed and out-of-state commands, one row per rule: each gets `-ERR` with the exact
//! text, the state does not change, and the session goes on (a NOOP or a QUIT after it
//! is answered). Then the rules of RFC 1939 §5–§7 for message numbers and marks.

mod support;

use support::ServerRun;
use wirelab_core::Machine;
use wirelab_pop3::{ServerCommand, ServerEvent, ServerState};

fn authorization() -> ServerRun {
    let mut run = ServerRun::new();
    run.open();
    run.take_sent();
    run
}

fn row(name: &str, mut run: ServerRun, line: &[u8], want: &str) {
    let before = run.server.state();
    let mut bytes = line.to_vec();
    bytes.extend_from_slice(b"\r\n");
    run.feed(&bytes);
    assert_eq!(run.statuses(), [want], "{name}");
    assert_eq!(run.server.state(), before, "{name}: the state must not change");
    let (probe, answer) = if before == ServerState::Transaction {
        ("NOOP", "+OK")
    } else {
        ("QUIT", "+OK dewey POP3 server signing off")
    };
    run.line(probe);
    assert_eq!(run.statuses(), [answer], "{name}: the session goes on");
}

#[test]
fn test_authorization_bad_command_table() {
    let long = format!("USER {}", "a".repeat(41));
    let very_long = format!("NOOP {}", "x".repeat(300));
    let table: &[(&str, &[u8], &str)] = &[
        // §3: only USER, PASS, APOP and QUIT before logging in.
        ("STAT before login", b"STAT", "-ERR not authenticated: USER/PASS or APOP first"),
        ("LIST before login", b"LIST", "-ERR not authenticated: USER/PASS or APOP first"),
        ("RETR before login", b"RETR 1", "-ERR not authenticated: USER/PASS or APOP first"),
        ("DELE before login", b"DELE 1", "-ERR not authenticated: USER/PASS or APOP first"),
        ("NOOP before login", b"NOOP", "-ERR not authenticated: USER/PASS or APOP first"),
        // §7: PASS follows USER.
        ("PASS without USER", b"PASS secret", "-ERR send USER first"),
        // Syntax (§3).
        ("unknown keyword", b"XYZZY", "-ERR unknown command"),
        ("empty line", b"", "-ERR unknown command"),
        ("binary garbage", b"\x00\xff\x01", "-ERR unknown command"),
        ("USER without a name", b"USER", "-ERR USER: exactly one argument, the mailbox name"),
        ("USER with two names", b"USER a b", "-ERR USER: exactly one argument, the mailbox name"),
        ("argument over 40 characters", long.as_bytes(), "-ERR USER: an argument is longer than 40 characters"),
        ("two spaces", b"USER  mrose", "-ERR USER: arguments are printable ASCII separated by single spaces"),
        ("bare LF", b"USER a\nPASS b", "-ERR bare CR or LF in a command"),
        ("line over 255 octets", very_long.as_bytes(), "-ERR line too long"),
        ("PASS without a password", b"PASS", "-ERR PASS: a password is required"),
        ("APOP with a short digest", b"APOP mrose 1234", "-ERR APOP: the digest is 32 hexadecimal digits"),
        ("APOP without a digest", b"APOP mrose", "-ERR APOP: a name and a digest are required"),
        ("STAT with an argument", b"STAT 1", "-ERR STAT: no arguments are allowed"),
    ];
    for (name, line, want) in table {
        row(name, authorization(), line, want);
    }
}

#[test]
fn test_transaction_bad_command_table() {
    let table: &[(&str, &[u8], &str)] = &[
        // §5: message numbers.
        ("RETR 0", b"RETR 0", "-ERR no such message"),
        ("RETR past the end", b"RETR 3", "-ERR no such message"),
        ("LIST past the end", b"LIST 9", "-ERR no such message"),
        ("DELE past the end", b"DELE 3", "-ERR no such message"),
        ("TOP past the end", b"TOP 3 1", "-ERR no such message"),
        ("UIDL past the end", b"UIDL 3", "-ERR no such message"),
        ("RETR without a number", b"RETR", "-ERR RETR: exactly one message number"),
        ("RETR with a word", b"RETR one", "-ERR RETR: a message number is required"),
        ("RETR with a sign", b"RETR +1", "-ERR RETR: a message number is required"),
        ("RETR with a huge number", b"RETR 99999999999", "-ERR RETR: a message number is required"),
        ("LIST with two numbers", b"LIST 1 2", "-ERR LIST: at most one message number"),
        ("TOP without the line count", b"TOP 1", "-ERR TOP: a message number and a line count"),
        ("TOP with a negative count", b"TOP 1 -1", "-ERR TOP: the line count is a non-negative number"),
        ("RSET with an argument", b"RSET now", "-ERR RSET: no arguments are allowed"),
        // §3: the AUTHORIZATION commands are over.
        ("USER again", b"USER mrose", "-ERR already authenticated"),
        ("PASS again", b"PASS secret", "-ERR already authenticated"),
        ("unknown keyword", b"LAST", "-ERR unknown command"),
    ];
    for (name, line, want) in table {
        row(name, ServerRun::logged_in(), line, want);
    }
}

#[test]
fn test_authorization_wrong_password_then_right_one() {
    let mut run = authorization();
    run.line("USER mrose");
    run.line("PASS wrong");
    run.line("STAT");
    run.line("USER mrose");
    run.line("PASS secret");
    assert_eq!(
        run.statuses(),
        [
            "+OK send PASS",
            "-ERR invalid password",
            "-ERR not authenticated: USER/PASS or APOP first",
            "+OK send PASS",
            "+OK mrose's maildrop has 2 messages (320 octets)",
        ]
    );
    assert_eq!(run.server.state(), ServerState::Transaction);
}

#[test]
fn test_authorization_apop_with_a_wrong_digest_or_without_a_timestamp() {
    let mut run = authorization();
    run.line("APOP mrose 00000000000000000000000000000000");
    assert_eq!(run.statuses(), ["-ERR permission denied"]);
    let mut plain = ServerRun::with(wirelab_pop3::ServerConfig::new(support::SERVER, "dewey"));
    plain.open();
    assert_eq!(plain.statuses(), ["+OK POP3 server ready"]);
    plain.line("APOP mrose c4c9334bac560ecc979e58001b3e22fb");
    assert_eq!(plain.statuses(), ["-ERR APOP not supported"]);
}

#[test]
fn test_transaction_deleted_messages_are_out_of_reach_until_rset() {
    let mut run = ServerRun::logged_in();
    run.line("DELE 1");
    run.line("DELE 1");
    run.line("RETR 1");
    run.line("LIST 1");
    run.line("STAT");
    run.line("LIST");
    run.line("RSET");
    run.line("STAT");
    assert_eq!(
        run.statuses(),
        [
            "+OK message 1 deleted",
            "-ERR message 1 already deleted",
            "-ERR message 1 already deleted",
            "-ERR message 1 already deleted",
            "+OK 1 200",
            "+OK 1 messages (200 octets)",
            "+OK maildrop has 2 messages (320 octets)",
            "+OK 2 320",
        ]
    );
}

#[test]
fn test_transaction_top_and_uidl() {
    let mut run = ServerRun::logged_in();
    run.line("TOP 1 1");
    let sent = String::from_utf8_lossy(&run.take_sent()).into_owned();
    // The header, the blank line, one line of the body (byte-stuffed), the end.
    assert_eq!(
        sent,
        "+OK top of message follows\r\nFrom: <Smith@bar.com>\r\nSubject: message 1\r\n\r\n..a line starting with a period\r\n.\r\n"
    );
    run.line("UIDL");
    run.line("UIDL 2");
    let sent = String::from_utf8_lossy(&run.take_sent()).into_owned();
    // The RFC 1939 §7 example's unique-ids.
    assert_eq!(sent, "+OK\r\n1 whqtswO00WBw418f9t5JxYwZ\r\n2 QhdPYR:00WBw1Ph7x7\r\n.\r\n+OK 2 QhdPYR:00WBw1Ph7x7\r\n");
}

#[test]
fn test_update_only_after_quit_in_transaction() {
    // The connection drops before QUIT: no UPDATE, nothing deleted (§6).
    for drop in [true, false] {
        let mut run = ServerRun::logged_in();
        run.line("DELE 1");
        run.line("DELE 2");
        if drop {
            run.command(ServerCommand::Eof);
        } else {
            run.line("QUIT");
        }
        assert!(run.closed);
        let deleted = run.events.iter().any(|e| matches!(e, ServerEvent::Delete { .. }));
        assert_eq!(deleted, !drop, "drop: {drop}");
        if drop {
            assert!(run.removed.is_empty());
            assert!(run.events.iter().any(|e| matches!(e, ServerEvent::Aborted { .. })));
        } else {
            assert_eq!(run.removed.len(), 2);
        }
    }
}

#[test]
fn test_authorization_quit_ends_without_update() {
    let mut run = authorization();
    run.line("USER mrose");
    run.line("QUIT");
    assert_eq!(run.statuses(), ["+OK send PASS", "+OK dewey POP3 server signing off"]);
    assert!(run.closed);
    assert!(!run.events.iter().any(|e| matches!(e, ServerEvent::Delete { .. })));
}

#[test]
fn test_update_the_ok_waits_for_the_driver_and_a_failure_is_err() {
    let mut run = ServerRun::logged_in();
    run.auto = false;
    run.line("DELE 2");
    run.line("QUIT");
    assert_eq!(run.statuses(), ["+OK message 2 deleted"]);
    assert_eq!(run.server.state(), ServerState::Update);
    assert!(run.server.awaits_driver());
    run.command(ServerCommand::Deleted(Err("disk error".into())));
    assert_eq!(run.statuses(), ["-ERR some deleted messages not removed"]);
    assert!(run.closed);
    // Without marks, QUIT signs off at once, counting what is left.
    let mut run = ServerRun::logged_in();
    run.line("QUIT");
    assert_eq!(run.statuses(), ["+OK dewey POP3 server signing off (2 messages left)"]);
}

#[test]
fn test_transaction_commands_wait_while_the_driver_fetches() {
    let mut run = ServerRun::logged_in();
    run.auto = false;
    run.feed(b"RETR 1\r\nSTAT\r\nNOOP\r\n");
    assert!(run.take_sent().is_empty(), "nothing before the message");
    // A driver answer nobody asked for is a usage error.
    let wrong = run
        .server
        .handle_input(wirelab_core::Instant::ZERO, wirelab_core::Input::Command(ServerCommand::Deleted(Ok(()))));
    assert_eq!(wrong, Err(wirelab_pop3::Pop3Error::NotAwaiting("deleted")));
    run.command(ServerCommand::Message(Ok(b"Subject: x\r\n\r\nhi\r\n".to_vec())));
    assert_eq!(run.statuses(), ["+OK 120 octets", "+OK 2 320", "+OK"]);
}

#[test]
fn test_transaction_autologout_closes_silently_without_update() {
    use std::time::Duration;
    use wirelab_core::{Input, Instant, Output};
    let mut run = ServerRun::logged_in();
    run.line("DELE 1");
    run.take_sent();
    // The timer runs from the last input (at virtual time zero here): 10 minutes.
    let wake = loop {
        if let Output::Idle { wake_at } = run.server.poll_output(Instant::ZERO) {
            break wake_at;
        }
    };
    let ten = Instant::ZERO + Duration::from_secs(600);
    assert_eq!(wake, Some(ten));
    run.server.handle_input(ten, Input::Timeout).expect("ok");
    run.pump();
    // §3: no response, no UPDATE.
    assert!(run.take_sent().is_empty());
    assert!(run.closed);
    assert!(!run.events.iter().any(|e| matches!(e, ServerEvent::Delete { .. })));
    assert!(run.events.iter().any(|e| matches!(e, ServerEvent::Aborted { .. })));
}
