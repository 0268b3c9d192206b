//! Golden exchanges between our client and our server through an in-test pipe in
//! virtual time, byte for byte: a GET, keep-alive, pipelining, HEAD, chunked, 100-continue,
//! and responses read until close.

mod support;

use support::{CLIENT, Pair, SERVER, serve, statuses};
use wirelab_core::{Input, Instant, Machine, Output};
use wirelab_http::{
    ClientConfig, ClientEvent, ClientState, HttpClient, HttpServer, Route, ServerConfig, ServerEvent, ServerState,
    Site, Version, wire,
};

#[test]
fn test_idle_get_hello_byte_for_byte() {
    let mut p = Pair::new();
    p.command("GET /hello.txt");
    assert_eq!(p.wire.len(), 2);
    assert_eq!(
        p.wire[0],
        (true, b"GET /hello.txt HTTP/1.1\r\nHost: example.com\r\nUser-Agent: wirelab\r\n\r\n".to_vec())
    );
    assert_eq!(
        p.wire[1],
        (
            false,
            b"HTTP/1.1 200 OK\r\nServer: wirelab\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 13\r\n\r\nHello, world!"
                .to_vec()
        )
    );
    assert_eq!(p.client_transitions, ["IDLE -> WAITING-RESPONSE", "WAITING-RESPONSE -> IDLE"]);
    assert_eq!(p.server_transitions, ["IDLE -> READING-HEADERS", "READING-HEADERS -> IDLE"]);
    assert_eq!(
        p.server_events,
        [ServerEvent::RequestReceived("GET /hello.txt HTTP/1.1".into()), ServerEvent::ResponseSent(200)]
    );
    let ClientEvent::Response { request, status, reason, version, body_len, body, headers } = &p.client_events[0]
    else {
        panic!("expected a response, got {:?}", p.client_events);
    };
    assert_eq!((request.as_str(), *status, reason.as_str(), *version), ("GET /hello.txt", 200, "OK", Version::Http11));
    assert_eq!((*body_len, body.as_slice()), (13, &b"Hello, world!"[..]));
    assert_eq!(wire::header(headers, "server"), Some(&b"wirelab"[..]));
    assert_eq!(p.client_events[0].to_string(), "200 OK (13 bytes) for GET /hello.txt");
    // The virtual clock moved one hop each way.
    assert_eq!(p.now, Instant::from_millis(2));
    // The inspector's view of both messages.
    assert_eq!(HttpClient::annotate(&p.wire[0].1).summary, "GET /hello.txt HTTP/1.1");
    assert_eq!(HttpServer::annotate(&p.wire[1].1).summary, "200 OK (13 bytes)");
}

#[test]
fn test_idle_keep_alive_three_requests_on_one_connection() {
    let mut p = Pair::new();
    p.command("GET /");
    p.command("GET /hello.txt");
    p.command("POST /echo ping pong");
    let r = p.responses();
    assert_eq!(r.len(), 3);
    assert_eq!(r[0].0, 200);
    assert!(String::from_utf8_lossy(&r[0].1).contains("<h1>Hello from wirelab</h1>"));
    assert_eq!(r[1], (200, b"Hello, world!".to_vec()));
    assert_eq!(r[2], (200, b"ping pong".to_vec()));
    assert!(!p.client_events.contains(&ClientEvent::CloseConnection));
    assert!(!p.server_events.contains(&ServerEvent::CloseConnection));
    assert_eq!((p.client.state(), p.server.state()), (ClientState::Idle, ServerState::Idle));
    // The POST went out with its Content-Length and Content-Type.
    assert_eq!(
        p.wire[4].1,
        b"POST /echo HTTP/1.1\r\nHost: example.com\r\nUser-Agent: wirelab\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 9\r\n\r\nping pong"
    );
    // The echo keeps the request's content type.
    assert!(String::from_utf8_lossy(&p.wire[5].1).contains("Content-Type: text/plain; charset=utf-8\r\n"));
}

#[test]
fn test_waiting_response_pipelined_requests_answered_in_order() {
    let mut p = Pair::new();
    p.queue("GET /hello.txt");
    p.queue("HEAD /hello.txt");
    p.queue("GET /status/404");
    assert_eq!(p.client.outstanding(), 3);
    assert_eq!(p.client.state(), ClientState::WaitingResponse);
    p.run();
    let requests: Vec<String> = p
        .client_events
        .iter()
        .filter_map(|e| match e {
            ClientEvent::Response { request, status, body_len, .. } => Some(format!("{request} {status} {body_len}")),
            _ => None,
        })
        .collect();
    assert_eq!(requests, ["GET /hello.txt 200 13", "HEAD /hello.txt 200 0", "GET /status/404 404 14"]);
    assert_eq!(p.client.state(), ClientState::Idle);
}

#[test]
fn test_idle_pipelined_requests_in_one_segment() {
    // Three requests in one raw send: the server sees them in one Receive.
    let mut p = Pair::new();
    p.command(
        "raw GET /hello.txt HTTP/1.1\\r\\nHost: a\\r\\n\\r\\nHEAD / HTTP/1.1\\r\\nHost: a\\r\\n\\r\\nGET /status/201 HTTP/1.1\\r\\nHost: a\\r\\n\\r\\n",
    );
    assert_eq!(p.wire.iter().filter(|(c, _)| *c).count(), 1);
    let got: Vec<u16> = p.responses().iter().map(|r| r.0).collect();
    assert_eq!(got, [200, 200, 201]);
    assert_eq!(statuses(&p.sent(false))[..1], [200]);
    assert_eq!(p.client.state(), ClientState::Idle);
}

#[test]
fn test_idle_head_has_the_get_head_and_no_body() {
    let mut p = Pair::new();
    p.command("HEAD /hello.txt");
    assert_eq!(
        p.wire[1].1,
        b"HTTP/1.1 200 OK\r\nServer: wirelab\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 13\r\n\r\n"
    );
    assert_eq!(p.responses(), [(200, Vec::new())]);
    // The framing held: the next response on the connection reads fine.
    p.command("GET /hello.txt");
    assert_eq!(p.responses()[1], (200, b"Hello, world!".to_vec()));
    // HEAD of a chunked resource: Transfer-Encoding in the head, no chunks.
    p.command("HEAD /chunked");
    assert!(p.wire.last().expect("a response").1.ends_with(b"Transfer-Encoding: chunked\r\n\r\n"));
    p.command("GET /");
    assert_eq!(p.responses().len(), 4);
    assert_eq!(p.client.state(), ClientState::Idle);
}

#[test]
fn test_idle_chunked_response_decoded_by_the_client() {
    let mut p = Pair::new();
    p.command("GET /chunked");
    // Head, three chunks, last chunk: one transmit each.
    let server: Vec<&Vec<u8>> = p.wire.iter().filter(|(c, _)| !*c).map(|(_, b)| b).collect();
    assert_eq!(server.len(), 5);
    assert!(server[0].ends_with(b"Transfer-Encoding: chunked\r\n\r\n"));
    assert_eq!(server[1].as_slice(), b"12\r\nThis body arrives\n\r\n");
    assert_eq!(server[4].as_slice(), b"0\r\n\r\n");
    assert_eq!(HttpServer::annotate(server[1]).summary, "1 chunk(s), 18 bytes");
    let whole = p.sent(false);
    let a = HttpServer::annotate(&whole);
    assert_eq!(a.summary, "200 OK (67 bytes)");
    assert!(a.error.is_none());
    assert_eq!(
        p.responses(),
        [(200, b"This body arrives\nin chunks, each one\npreceded by its size in hex.\n".to_vec())]
    );
    assert!(p.client_transitions.contains(&"WAITING-RESPONSE -> READING-BODY".to_string()));
    assert_eq!(p.client.state(), ClientState::Idle);
}

/// A client against a scripted server (bytes written by hand), stepping by hand.
fn client_after(chunks: &[&[u8]], command: &str) -> (HttpClient, Vec<ClientEvent>) {
    let mut c = HttpClient::new(ClientConfig::new(CLIENT, SERVER, "example.com"));
    let t = Instant::ZERO;
    c.handle_input(t, Input::Command(command.parse().expect("command"))).expect("sent");
    for chunk in chunks {
        c.handle_input(t, Input::Receive { from: SERVER, bytes: chunk }).expect("valid");
    }
    let mut events = Vec::new();
    while let o = c.poll_output(t)
        && !matches!(o, Output::Idle { .. })
    {
        if let Output::Event(e) = o {
            events.push(e);
        }
    }
    (c, events)
}

#[test]
fn test_reading_body_read_until_close_completes_on_eof() {
    let (mut c, events) =
        client_after(&[b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nfirst part, ", b"second part"], "GET /old");
    assert!(events.is_empty(), "{events:?}");
    assert_eq!(c.state(), ClientState::ReadingBody);
    c.peer_closed(Instant::ZERO).expect("eof completes the body");
    let mut events = Vec::new();
    while let o = c.poll_output(Instant::ZERO)
        && !matches!(o, Output::Idle { .. })
    {
        if let Output::Event(e) = o {
            events.push(e);
        }
    }
    assert!(
        matches!(&events[0], ClientEvent::Response { status: 200, body, .. } if body == b"first part, second part")
    );
    assert_eq!(events[1], ClientEvent::CloseConnection);
    assert_eq!(c.state(), ClientState::Closed);
}

#[test]
fn test_waiting_response_eof_inside_a_length_framed_body_is_an_error() {
    let (mut c, _) = client_after(&[b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort"], "GET /");
    assert!(c.peer_closed(Instant::ZERO).is_err());
    assert_eq!(c.state(), ClientState::Closed);
}

#[test]
fn test_waiting_response_interim_100_then_final_and_http10_closes() {
    let (c, events) = client_after(
        &[b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok"],
        "POST /upload data",
    );
    assert_eq!(events[0], ClientEvent::Interim { status: 100, reason: "Continue".into() });
    assert!(
        matches!(&events[1], ClientEvent::Response { status: 200, version: Version::Http10, body, .. } if body == b"ok")
    );
    // HTTP/1.0 without keep-alive: not persistent (RFC 9112 §9.3).
    assert_eq!(events[2], ClientEvent::CloseConnection);
    assert_eq!(c.state(), ClientState::Closed);
}

#[test]
fn test_waiting_response_malformed_response_closes_the_client() {
    let mut c = HttpClient::new(ClientConfig::new(CLIENT, SERVER, "example.com"));
    c.handle_input(Instant::ZERO, Input::Command("GET /".parse().expect("command"))).expect("sent");
    let r = c.handle_input(
        Instant::ZERO,
        Input::Receive { from: SERVER, bytes: b"HTTP/1.1 200 OK\r\nContent-Length: 1, 2\r\n\r\n" },
    );
    assert!(r.is_err());
    assert_eq!(c.state(), ClientState::Closed);
    assert!(c.handle_input(Instant::ZERO, Input::Command("GET /".parse().expect("command"))).is_err());
}

#[test]
fn test_idle_connection_close_is_honoured_by_both_sides() {
    let mut p = Pair::new();
    p.command("raw GET /hello.txt HTTP/1.1\\r\\nHost: a\\r\\nConnection: close\\r\\n\\r\\nGET / HTTP/1.1\\r\\nHost: a\\r\\n\\r\\n");
    // Only the first request is answered (RFC 9112 §9.6), with Connection: close.
    assert_eq!(statuses(&p.sent(false)), [200]);
    assert!(String::from_utf8_lossy(&p.sent(false)).contains("Connection: close\r\n"));
    assert_eq!(p.server.state(), ServerState::Closed);
    assert_eq!(p.client.state(), ClientState::Closed);
    assert!(p.server_events.contains(&ServerEvent::CloseConnection));
}

#[test]
fn test_idle_http10_closes_unless_keep_alive() {
    let (out, closed) = serve(b"GET /hello.txt HTTP/1.0\r\n\r\n");
    assert!(closed);
    assert!(out.starts_with(b"HTTP/1.1 200 OK\r\n"));
    let (out, closed) = serve(b"GET /chunked HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    assert!(!closed);
    let text = String::from_utf8_lossy(&out);
    // No Transfer-Encoding to an HTTP/1.0 client (RFC 9112 §6.1).
    assert!(text.contains("Content-Length: 67\r\n") && !text.contains("Transfer-Encoding"), "{text}");
    assert!(text.contains("Connection: keep-alive\r\n"));
}

#[test]
fn test_reading_body_expect_100_continue() {
    let mut s = HttpServer::new(ServerConfig::new(SERVER));
    let t = Instant::ZERO;
    let head = b"POST /echo HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n";
    s.handle_input(t, Input::Receive { from: CLIENT, bytes: head }).expect("ok");
    assert_eq!(s.state(), ServerState::ReadingBody);
    let mut out = Vec::new();
    while let o = s.poll_output(t)
        && !matches!(o, Output::Idle { .. })
    {
        if let Output::Transmit(tx) = o {
            out.extend(tx.bytes);
        }
    }
    assert_eq!(out, b"HTTP/1.1 100 Continue\r\n\r\n");
    s.handle_input(t, Input::Receive { from: CLIENT, bytes: b"hello" }).expect("ok");
    let mut out = Vec::new();
    while let o = s.poll_output(t)
        && !matches!(o, Output::Idle { .. })
    {
        if let Output::Transmit(tx) = o {
            out.extend(tx.bytes);
        }
    }
    assert!(out.ends_with(b"\r\n\r\nhello"));
    assert_eq!(s.state(), ServerState::Idle);
}

#[test]
fn test_idle_dynamic_routes() {
    let (out, _) = serve(b"GET /headers HTTP/1.1\r\nHost: a\r\nX-Test: yes\r\n\r\n");
    assert!(out.ends_with(b"\r\n\r\nGET /headers HTTP/1.1\r\nHost: a\r\nX-Test: yes\r\n\r\n"));
    let (out, _) = serve(b"GET /status/418 HTTP/1.1\r\nHost: a\r\n\r\n");
    assert!(out.starts_with(b"HTTP/1.1 418 \r\n"), "{}", String::from_utf8_lossy(&out));
    let (out, _) = serve(b"GET /status/204 HTTP/1.1\r\nHost: a\r\n\r\n");
    assert_eq!(out, b"HTTP/1.1 204 No Content\r\nServer: wirelab\r\n\r\n");
    let (out, _) = serve(b"GET /nowhere HTTP/1.1\r\nHost: a\r\n\r\n");
    assert_eq!(statuses(&out), [404]);
    let (out, closed) = serve(b"POST /hello.txt HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\n\r\nx");
    assert_eq!(statuses(&out), [405]);
    assert!(String::from_utf8_lossy(&out).contains("Allow: GET, HEAD, OPTIONS\r\n"));
    assert!(!closed);
    let (out, _) = serve(b"GET /echo HTTP/1.1\r\nHost: a\r\n\r\n");
    assert!(String::from_utf8_lossy(&out).contains("Allow: POST, OPTIONS\r\n"));
    let (out, _) = serve(b"OPTIONS * HTTP/1.1\r\nHost: www.example.org:8001\r\n\r\n");
    assert!(out.starts_with(b"HTTP/1.1 204 No Content\r\n"));
    // RFC 9112 §3.2.2: absolute-form is accepted.
    let (out, _) = serve(b"GET http://www.example.org/hello.txt HTTP/1.1\r\nHost: www.example.org\r\n\r\n");
    assert!(out.ends_with(b"Hello, world!"));
    // A chunked request body, echoed back.
    let (out, _) = serve(b"POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2;x=y\r\nde\r\n0\r\nT: v\r\n\r\n");
    assert!(out.ends_with(b"Content-Length: 5\r\n\r\nabcde"), "{}", String::from_utf8_lossy(&out));
}

#[test]
fn test_idle_custom_site_and_date() {
    let mut config = ServerConfig::new(SERVER);
    config.site = Site { routes: vec![Route::resource("/a", "text/plain", "A")] };
    config.date = Some("Sun, 06 Nov 1994 08:49:37 GMT".into());
    let (out, _) = support::serve_with(config, b"GET /a HTTP/1.1\r\nHost: a\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n");
    assert!(out.starts_with(b"HTTP/1.1 200 OK\r\nServer: wirelab\r\nDate: Sun, 06 Nov 1994 08:49:37 GMT\r\n"));
    assert_eq!(statuses(&out), [200, 404]);
}

#[test]
fn test_every_transmit_of_a_session_annotates_without_error() {
    let mut p = Pair::new();
    for c in ["GET /", "HEAD /hello.txt", "GET /chunked", "POST /echo hi", "GET /headers", "GET /status/500"] {
        p.command(c);
    }
    for (_, bytes) in &p.wire {
        let a = HttpServer::annotate(bytes);
        assert!(a.error.is_none(), "{a:?}");
        assert!(!a.fields.is_empty());
        for f in &a.fields {
            assert!(f.start + f.len <= bytes.len(), "{f:?} outside {} bytes", bytes.len());
        }
    }
}

/// `Route::Feed`: what a request gets depends on when it is served and on `since`.
#[test]
fn test_idle_feed_lists_what_is_published_since() {
    let mut server = ServerConfig::new(SERVER);
    let entries = vec![
        (Instant::from_millis(0), "first".to_string()),
        (Instant::from_millis(5), "second".to_string()),
        (Instant::from_millis(50), "third".to_string()),
    ];
    server.site.routes.push(Route::Feed { path: "/chat".into(), entries });
    let mut p = Pair::with(ClientConfig::new(CLIENT, SERVER, "example.com"), server);
    // Served at 1 ms: only the first entry is out.
    p.command("GET /chat?since=0");
    p.now = Instant::from_millis(10);
    p.command("GET /chat?since=1");
    p.command("GET /chat?since=2");
    p.now = Instant::from_millis(60);
    p.command("GET /chat?since=2");
    p.command("GET /chat");
    let bodies: Vec<String> = p.responses().iter().map(|(_, b)| String::from_utf8_lossy(b).into_owned()).collect();
    assert_eq!(bodies, ["#0 first\n", "#1 second\n", "", "#2 third\n", "#0 first\n#1 second\n#2 third\n"]);
    assert!(p.responses().iter().all(|(s, _)| *s == 200));
}
