//! Malformed and out-of-order commands, one row per rule: each gets the exact reply code
//! RFC 5321 (or RFC 1870 / RFC 6152) gives it, the server stays in the state it was in
//! (§4.1.4: "a 503 failure reply MUST be returned and the SMTP server MUST stay in the
//! same state"), and the session goes on: a NOOP after it is answered 250.

mod support;

use support::{ServerRun, codes, foo_com};
use wirelab_core::Machine;
use wirelab_smtp::ServerState;

/// Where a row starts.
const GREETED: &[&str] = &[];
const READY: &[&str] = &["EHLO bar.com"];
const HELO: &[&str] = &["HELO bar.com"];
const MAIL: &[&str] = &["EHLO bar.com", "MAIL FROM:<Smith@bar.com>"];
const RCPT: &[&str] = &["EHLO bar.com", "MAIL FROM:<Smith@bar.com>", "RCPT TO:<Jones@foo.com>"];
const REFUSED: &[&str] = &["EHLO bar.com", "MAIL FROM:<Smith@bar.com>", "RCPT TO:<Jones@elsewhere.test>"];

fn row(name: &str, setup: &[&str], line: &[u8], code: u16) {
    let mut run = ServerRun::new(foo_com());
    for l in setup {
        run.line(l);
    }
    let before = run.server.state();
    run.take_sent();
    let mut bytes = line.to_vec();
    bytes.extend_from_slice(b"\r\n");
    run.feed(&bytes);
    let sent = run.take_sent();
    assert_eq!(codes(&sent), [code], "{name}: {}", String::from_utf8_lossy(&sent));
    assert_eq!(run.server.state(), before, "{name}: the state must not change");
    run.line("NOOP");
    assert_eq!(codes(&run.take_sent()), [250], "{name}: the session goes on");
    assert!(!run.closed, "{name}");
}

#[test]
fn test_any_state_bad_command_table() {
    let long_noop = format!("NOOP {}", "x".repeat(600));
    let long_local = format!("MAIL FROM:<{}@bar.com>", "a".repeat(65));
    let long_domain = format!("RCPT TO:<a@{}.com>", "d".repeat(260));
    let table: &[(&str, &[&str], &[u8], u16)] = &[
        // §4.1.4: mail transactions need EHLO/HELO first.
        ("MAIL before EHLO", GREETED, b"MAIL FROM:<Smith@bar.com>", 503),
        ("RCPT before EHLO", GREETED, b"RCPT TO:<Jones@foo.com>", 503),
        ("DATA before EHLO", GREETED, b"DATA", 503),
        // §4.2.4: unknown verbs 500, known but unimplemented ones 502.
        ("unknown verb", GREETED, b"FOO bar", 500),
        ("empty line", READY, b"", 500),
        ("binary garbage", READY, b"\x00\x01\xff\xfe", 500),
        ("TURN", READY, b"TURN", 502),
        ("STARTTLS", READY, b"STARTTLS", 502),
        ("EXPN", READY, b"EXPN staff", 502),
        // §4.1.1.1: EHLO/HELO need a domain or address literal.
        ("EHLO without domain", GREETED, b"EHLO", 501),
        ("HELO with a bad domain", GREETED, b"HELO -bad-", 501),
        ("EHLO with an unterminated literal", GREETED, b"EHLO [192.0.2.1", 501),
        // §2.3.8, §4.5.3.1.4: line ends and the 512-octet limit.
        ("bare LF inside a command", READY, b"NOOP\nNOOP", 500),
        ("bare CR inside a command", READY, b"NOOP\rNOOP", 500),
        ("command line over 512 octets", READY, long_noop.as_bytes(), 500),
        // §4.1.2: path syntax; §4.5.3.1.10: "501 Path too long".
        ("space after FROM:", READY, b"MAIL FROM: <Smith@bar.com>", 501),
        ("path without brackets", READY, b"MAIL FROM:Smith@bar.com", 501),
        ("MAIL TO: instead of FROM:", READY, b"MAIL TO:<Smith@bar.com>", 501),
        ("two @", READY, b"MAIL FROM:<Smith@@bar.com>", 501),
        ("no domain", READY, b"MAIL FROM:<Smith>", 501),
        ("local-part with a leading dot", READY, b"MAIL FROM:<.Smith@bar.com>", 501),
        ("local-part over 64 octets", READY, long_local.as_bytes(), 501),
        ("junk after the path", READY, b"MAIL FROM:<Smith@bar.com>junk", 501),
        // RFC 1870 §3, RFC 6152 §2: parameter values; §4.1.1.11: unknown parameters 555.
        ("SIZE not a number", READY, b"MAIL FROM:<Smith@bar.com> SIZE=ten", 501),
        ("SIZE without a value", READY, b"MAIL FROM:<Smith@bar.com> SIZE", 501),
        ("BODY=BINARYMIME", READY, b"MAIL FROM:<Smith@bar.com> BODY=BINARYMIME", 501),
        ("SIZE given twice", READY, b"MAIL FROM:<Smith@bar.com> SIZE=1 SIZE=2", 501),
        ("unknown MAIL parameter", READY, b"MAIL FROM:<Smith@bar.com> SMTPUTF8", 555),
        // RFC 1870 §6.1: a declared size above the limit.
        ("SIZE above the limit", READY, b"MAIL FROM:<Smith@bar.com> SIZE=99999999999", 552),
        // Parameters are extensions, which HELO does not negotiate.
        ("SIZE after HELO", HELO, b"MAIL FROM:<Smith@bar.com> SIZE=10", 555),
        // Commands that take no arguments.
        ("RSET with an argument", READY, b"RSET now", 501),
        ("QUIT with an argument", READY, b"QUIT now", 501),
        ("DATA with an argument", RCPT, b"DATA now", 501),
        ("VRFY without an argument", READY, b"VRFY", 501),
        // §3.3, §4.1.4: sequence.
        ("RCPT without MAIL", READY, b"RCPT TO:<Jones@foo.com>", 503),
        ("DATA without MAIL", READY, b"DATA", 503),
        ("a second MAIL", MAIL, b"MAIL FROM:<Smith@bar.com>", 503),
        ("DATA before any RCPT", MAIL, b"DATA", 503),
        ("DATA after only refused RCPTs", REFUSED, b"DATA", 554),
        // §4.1.1.3 and the relay rule.
        ("empty forward-path", MAIL, b"RCPT TO:<>", 501),
        ("domain over 255 octets", MAIL, long_domain.as_bytes(), 501),
        ("RCPT parameter", MAIL, b"RCPT TO:<Jones@foo.com> NOTIFY=NEVER", 555),
        ("another domain, no relaying", MAIL, b"RCPT TO:<Jones@elsewhere.test>", 550),
        // Allowed anywhere.
        ("VRFY", GREETED, b"VRFY Smith", 252),
        ("HELP", GREETED, b"HELP", 214),
        ("NOOP with an argument", MAIL, b"NOOP hello", 250),
    ];
    for (name, setup, line, code) in table {
        row(name, setup, line, *code);
    }
}

#[test]
fn test_rcpt_accepted_recipients_move_to_rcpt() {
    let mut run = ServerRun::new(foo_com());
    for l in MAIL {
        run.line(l);
    }
    assert_eq!(run.server.state(), ServerState::Mail);
    run.line("RCPT TO:<Postmaster>");
    run.line("RCPT TO:<postmaster@FOO.COM>");
    assert_eq!(codes(&run.take_sent()), [220, 250, 250, 250, 250]);
    assert_eq!(run.server.state(), ServerState::Rcpt);
}

#[test]
fn test_greeted_line_over_the_limit_in_pieces_then_a_good_command() {
    let mut run = ServerRun::new(foo_com());
    run.take_sent();
    for _ in 0..10 {
        run.feed(&[b'x'; 100]);
    }
    run.feed(b"\r\nEHLO bar.com\r\n");
    let sent = run.take_sent();
    assert_eq!(codes(&sent), [500, 250], "{}", String::from_utf8_lossy(&sent));
    assert!(String::from_utf8_lossy(&sent).starts_with("500 Line too long\r\n"));
}
