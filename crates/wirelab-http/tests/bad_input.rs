//! Malformed requests, one row per rule: each gets the exact status code the RFC asks
//! for, and the connection closes where the RFC says it must.

mod support;

use support::{CLIENT, SERVER, serve, serve_with, statuses};
use wirelab_core::{Input, Instant, Machine, Output};
use wirelab_http::{HttpError, HttpServer, Limits, ServerConfig, ServerEvent, ServerState};

fn row(name: &str, bytes: &[u8], status: u16, closes: bool) {
    let (out, closed) = serve(bytes);
    assert_eq!(statuses(&out), [status], "{name}: {}", String::from_utf8_lossy(&out));
    assert_eq!(closed, closes, "{name}: close");
    if closes {
        assert!(String::from_utf8_lossy(&out).contains("Connection: close\r\n"), "{name}");
    }
}

#[test]
fn test_reading_headers_malformed_request_table() {
    let huge_header = format!("GET / HTTP/1.1\r\nHost: a\r\nX-Big: {}\r\n\r\n", "x".repeat(20_000));
    let many_headers = format!("GET / HTTP/1.1\r\nHost: a\r\n{}\r\n", "X-A: 1\r\n".repeat(150));
    let long_uri = format!("GET /{} HTTP/1.1\r\nHost: a\r\n\r\n", "a".repeat(9000));
    let table: &[(&str, &[u8], u16, bool)] = &[
        // RFC 9112 §3: request-line = method SP request-target SP HTTP-version.
        ("request-line without target", b"GET\r\nHost: a\r\n\r\n", 400, true),
        ("request-line with two spaces", b"GET  / HTTP/1.1\r\nHost: a\r\n\r\n", 400, true),
        ("lowercase version", b"GET / http/1.1\r\nHost: a\r\n\r\n", 400, true),
        ("version without minor", b"GET / HTTP/2\r\nHost: a\r\n\r\n", 400, true),
        ("binary garbage", b"\x00\x01\x02\x03\r\n\r\n", 400, true),
        // RFC 9112 §5.1: whitespace between field name and colon MUST be 400.
        ("space before colon", b"GET / HTTP/1.1\r\nHost : a\r\n\r\n", 400, true),
        ("tab before colon", b"GET / HTTP/1.1\r\nHost\t: a\r\n\r\n", 400, true),
        ("bad header name", b"GET / HTTP/1.1\r\nHost: a\r\nBad[Name]: x\r\n\r\n", 400, true),
        ("control character in value", b"GET / HTTP/1.1\r\nHost: a\r\nX: a\x01b\r\n\r\n", 400, true),
        // RFC 9112 §2.2: whitespace before the first field; RFC 9112 §5.2: obs-fold.
        ("whitespace before first field", b"GET / HTTP/1.1\r\n Host: a\r\n\r\n", 400, true),
        ("obs-fold", b"GET / HTTP/1.1\r\nHost: a\r\nX: one\r\n two\r\n\r\n", 400, true),
        // RFC 9112 §3.2: Host.
        ("missing Host", b"GET / HTTP/1.1\r\n\r\n", 400, true),
        ("two Host lines", b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400, true),
        ("invalid Host", b"GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", 400, true),
        // RFC 9112 §6.3 rule 5: Content-Length.
        (
            "conflicting Content-Length",
            b"POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!",
            400,
            true,
        ),
        (
            "conflicting Content-Length list",
            b"POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 6\r\n\r\nhello!",
            400,
            true,
        ),
        ("negative Content-Length", b"POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n", 400, true),
        ("non-numeric Content-Length", b"POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: five\r\n\r\n", 400, true),
        (
            "overflowing Content-Length",
            b"POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999999999999\r\n\r\n",
            400,
            true,
        ),
        // RFC 9112 §6.1: both framings, and Transfer-Encoding in HTTP/1.0.
        (
            "both CL and TE",
            b"POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
            400,
            true,
        ),
        ("TE in HTTP/1.0", b"POST /echo HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400, true),
        // RFC 9112 §6.3 rule 4: chunked not final.
        ("chunked not final", b"POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", 400, true),
        ("gzip alone", b"POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n", 400, true),
        // RFC 9112 §6.1: a transfer coding the server does not understand: 501.
        (
            "unknown transfer coding",
            b"POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: foo, chunked\r\n\r\n",
            501,
            true,
        ),
        (
            "unimplemented transfer coding",
            b"POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
            501,
            true,
        ),
        // RFC 9112 §7.1: chunk-size.
        (
            "negative chunk size",
            b"POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n-5\r\nhello\r\n0\r\n\r\n",
            400,
            true,
        ),
        (
            "overflowing chunk size",
            b"POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n1ffffffffffffffff\r\n",
            400,
            true,
        ),
        (
            "chunk size too big for the limit",
            b"POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nffffffff\r\n",
            413,
            true,
        ),
        (
            "chunk data not followed by CRLF",
            b"POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcd\r\n",
            400,
            true,
        ),
        (
            "bare LF after chunk size",
            b"POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\nabc\r\n",
            400,
            true,
        ),
        // Limits: RFC 9110 §15.5.14 (413), §15.5.15 (414), RFC 6585 §5 (431).
        ("content too large", b"POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 2000000\r\n\r\n", 413, true),
        ("oversize header section", huge_header.as_bytes(), 431, true),
        ("too many header fields", many_headers.as_bytes(), 431, true),
        ("request-line too long", long_uri.as_bytes(), 414, true),
        // RFC 9110 §15.6.6: another major version.
        ("HTTP/2.0", b"GET / HTTP/2.0\r\nHost: a\r\n\r\n", 505, true),
        ("HTTP/3.0", b"GET / HTTP/3.0\r\nHost: a\r\n\r\n", 505, true),
        ("HTTP/0.9-style version", b"GET / HTTP/0.9\r\nHost: a\r\n\r\n", 505, true),
        // Well framed, but not served: the connection persists.
        ("unknown method", b"BREW /pot HTTP/1.1\r\nHost: a\r\n\r\n", 501, false),
        (
            "CONNECT (RFC 9112 §3.2.3 example)",
            b"CONNECT www.example.com:80 HTTP/1.1\r\nHost: www.example.com\r\n\r\n",
            501,
            false,
        ),
        ("authority-form with GET", b"GET www.example.com:80 HTTP/1.1\r\nHost: a\r\n\r\n", 400, false),
        ("asterisk-form with GET", b"GET * HTTP/1.1\r\nHost: a\r\n\r\n", 400, false),
        ("405 for PUT", b"PUT /hello.txt HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\n\r\nx", 405, false),
    ];
    for (name, bytes, status, closes) in table {
        row(name, bytes, *status, *closes);
    }
}

#[test]
fn test_reading_headers_higher_minor_version_reads_as_http11() {
    // RFC 9110 §2.5: HTTP/1.2 is processed as the highest 1.x we implement.
    let (out, closed) = serve(b"GET /hello.txt HTTP/1.2\r\nHost: a\r\n\r\n");
    assert_eq!(statuses(&out), [200]);
    assert!(!closed);
}

#[test]
fn test_reading_headers_leading_empty_lines_and_bare_lf_are_accepted() {
    // RFC 9112 §2.2: ignore at least one empty line before the request-line; a recipient
    // MAY recognize a single LF as a line terminator.
    let (out, _) = serve(b"\r\n\r\nGET /hello.txt HTTP/1.1\nHost: a\n\n");
    assert_eq!(statuses(&out), [200]);
}

#[test]
fn test_idle_error_after_good_request_answers_both_and_closes() {
    let (out, closed) = serve(b"GET /hello.txt HTTP/1.1\r\nHost: a\r\n\r\nGET / HTTP/1.1\r\nHost : a\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n");
    assert_eq!(statuses(&out), [200, 400]);
    assert!(closed);
}

#[test]
fn test_reading_body_limit_rejects_before_the_body_arrives() {
    let mut config = ServerConfig::new(SERVER);
    config.limits = Limits { max_body: 4, ..Limits::default() };
    let (out, closed) = serve_with(config, b"POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\n");
    assert_eq!(statuses(&out), [413]);
    assert!(closed);
}

#[test]
fn test_reading_headers_incomplete_request_waits_for_more() {
    let mut s = HttpServer::new(ServerConfig::new(SERVER));
    s.handle_input(Instant::ZERO, Input::Receive { from: CLIENT, bytes: b"GET / HTTP/1.1\r\nHost: a\r\n" })
        .expect("ok");
    assert_eq!(s.state(), ServerState::ReadingHeaders);
    s.handle_input(Instant::ZERO, Input::Receive { from: CLIENT, bytes: b"\r\n" }).expect("ok");
    assert_eq!(s.state(), ServerState::Idle);
    // A request cut short by the client's close: no response, the connection closes.
    s.handle_input(Instant::ZERO, Input::Receive { from: CLIENT, bytes: b"GET /" }).expect("ok");
    s.peer_closed(Instant::ZERO).expect("ok");
    assert_eq!(s.state(), ServerState::Closed);
}

#[test]
fn test_closed_receive_is_refused() {
    let mut s = HttpServer::new(ServerConfig::new(SERVER));
    s.handle_input(Instant::ZERO, Input::Receive { from: CLIENT, bytes: b"GET / HTTP/9.9\r\n\r\n" }).expect("ok");
    let mut events = Vec::new();
    while let o = s.poll_output(Instant::ZERO)
        && !matches!(o, Output::Idle { .. })
    {
        if let Output::Event(e) = o {
            events.push(e);
        }
    }
    assert!(matches!(&events[0], ServerEvent::BadRequest(e) if e.status() == 505), "{events:?}");
    assert_eq!(events.last(), Some(&ServerEvent::CloseConnection));
    assert_eq!(s.state(), ServerState::Closed);
    assert_eq!(s.handle_input(Instant::ZERO, Input::Receive { from: CLIENT, bytes: b"GET /" }), Err(HttpError::Closed));
}
