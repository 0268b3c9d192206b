//! Property tests: the chunked coding and whole messages survive encode → parse with the
//! stream cut anywhere, and no bytes make the server panic or hang without a reason.
#![cfg(not(target_arch = "wasm32"))]

mod support;

use proptest::prelude::*;
use support::{CLIENT, SERVER};
use wirelab_core::{Input, Instant, Machine, Output};
use wirelab_http::chunked::{ChunkedDecoder, encode_chunked};
use wirelab_http::{HttpServer, Limits, Request, RequestParser, Response, ResponseParser, ServerConfig, ServerState};

/// `bytes` cut at the given points (taken modulo its length), in order.
fn cut<'a>(bytes: &'a [u8], cuts: &[usize]) -> Vec<&'a [u8]> {
    let mut points: Vec<usize> = cuts.iter().map(|c| if bytes.is_empty() { 0 } else { c % bytes.len() }).collect();
    points.push(0);
    points.push(bytes.len());
    points.sort_unstable();
    points.dedup();
    points.windows(2).map(|w| &bytes[w[0]..w[1]]).collect()
}

fn token() -> impl Strategy<Value = String> {
    "[A-Za-z][A-Za-z0-9-]{0,12}".prop_map(|s| format!("X-{s}"))
}

fn field_value() -> impl Strategy<Value = Vec<u8>> {
    "[!-~]([ -~]{0,20}[!-~])?".prop_map(String::into_bytes)
}

fn headers() -> impl Strategy<Value = Vec<(String, Vec<u8>)>> {
    proptest::collection::vec((token(), field_value()), 0..6)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    #[test]
    fn chunked_round_trip_with_the_stream_cut_anywhere(
        chunks in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 1..80), 0..8),
        cuts in proptest::collection::vec(any::<usize>(), 0..10),
    ) {
        let mut encoded = encode_chunked(&chunks);
        encoded.extend_from_slice(b"NEXT");
        let mut d = ChunkedDecoder::new(u64::MAX, 1024);
        let mut out = Vec::new();
        let mut rest = Vec::new();
        for piece in cut(&encoded, &cuts) {
            let n = d.decode(piece, &mut out).expect("our own encoding decodes");
            rest.extend_from_slice(&piece[n..]);
        }
        prop_assert!(d.is_done());
        prop_assert_eq!(out, chunks.concat());
        prop_assert_eq!(rest, b"NEXT".to_vec());
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn request_encode_parse_round_trip(
        method in prop::sample::select(vec!["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "FOO"]),
        target in "/[a-z0-9/._~-]{0,20}(\\?[a-z0-9=&]{0,10})?",
        headers in headers(),
        body in proptest::collection::vec(any::<u8>(), 0..200),
        chunked in any::<bool>(),
        cuts in proptest::collection::vec(any::<usize>(), 0..6),
    ) {
        let mut req = Request::new(method, target).with_header("Host", "example.com");
        req.headers.extend(headers);
        let req = if chunked {
            let mut r = req.with_header("Transfer-Encoding", "chunked");
            r.body = body;
            r
        } else {
            req.with_body(body)
        };
        let bytes = req.to_bytes();
        let mut p = RequestParser::new(Limits::default());
        let mut got = Vec::new();
        for piece in cut(&bytes, &cuts) {
            p.push(piece);
            while let Some(r) = p.next_request().expect("our own encoding parses") {
                got.push(r);
            }
        }
        prop_assert_eq!(got, vec![req]);
    }

    #[test]
    fn response_encode_parse_round_trip(
        status in 200u16..600,
        reason in "([A-Za-z]([A-Za-z ]{0,15}[A-Za-z])?)?",
        headers in headers(),
        body in proptest::collection::vec(any::<u8>(), 0..200),
        chunked in any::<bool>(),
        cuts in proptest::collection::vec(any::<usize>(), 0..6),
    ) {
        let body = if status == 204 || status == 304 { Vec::new() } else { body };
        let mut resp = Response::new(status);
        resp.reason = reason;
        resp.headers.extend(headers);
        let resp = if chunked && !body.is_empty() {
            let mut r = resp.with_header("Transfer-Encoding", "chunked");
            r.body = body;
            r
        } else if status == 204 || status == 304 {
            resp
        } else {
            resp.with_body(body)
        };
        let bytes = resp.to_bytes();
        let mut p = ResponseParser::new(Limits::default());
        p.expect("GET");
        let mut got = Vec::new();
        for piece in cut(&bytes, &cuts) {
            p.push(piece);
            while let Some(r) = p.next_response().expect("our own encoding parses") {
                got.push(r);
            }
        }
        prop_assert_eq!(got, vec![resp]);
    }
}

/// Bytes that look a little like HTTP, so the fuzzing gets past the request-line.
fn http_ish() -> impl Strategy<Value = Vec<u8>> {
    let piece = prop_oneof![
        Just(b"GET ".to_vec()),
        Just(b"POST ".to_vec()),
        Just(b"/echo ".to_vec()),
        Just(b"/ ".to_vec()),
        Just(b"HTTP/1.1".to_vec()),
        Just(b"HTTP/1.0".to_vec()),
        Just(b"\r\n".to_vec()),
        Just(b"Host: a".to_vec()),
        Just(b"Content-Length: ".to_vec()),
        Just(b"Transfer-Encoding: chunked".to_vec()),
        Just(b"Connection: close".to_vec()),
        Just(b"Expect: 100-continue".to_vec()),
        Just(b"5".to_vec()),
        Just(b"0".to_vec()),
        Just(b":".to_vec()),
        Just(b" ".to_vec()),
        proptest::collection::vec(any::<u8>(), 1..8),
    ];
    proptest::collection::vec(piece, 0..40).prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    #[test]
    fn arbitrary_bytes_never_panic_the_server(
        bytes in prop_oneof![http_ish(), proptest::collection::vec(any::<u8>(), 0..300)],
        cuts in proptest::collection::vec(any::<usize>(), 0..8),
    ) {
        let mut s = HttpServer::new(ServerConfig::new(SERVER));
        let mut sent = 0;
        let mut closed = false;
        for piece in cut(&bytes, &cuts) {
            let r = s.handle_input(Instant::ZERO, Input::Receive { from: CLIENT, bytes: piece });
            prop_assert!(r.is_ok() || closed);
            loop {
                match s.poll_output(Instant::ZERO) {
                    Output::Transmit(t) => {
                        sent += 1;
                        let a = HttpServer::annotate(&t.bytes);
                        prop_assert!(a.error.is_none(), "{:?}", a);
                    }
                    Output::Event(wirelab_http::ServerEvent::CloseConnection) => closed = true,
                    Output::Idle { .. } => break,
                    _ => {}
                }
            }
        }
        // Either the server closed after answering, or it is waiting for more data.
        if s.state() == ServerState::Closed {
            prop_assert!(closed && sent > 0);
        } else {
            prop_assert!(!closed);
        }
        // The inspector copes with any bytes too.
        let _ = HttpServer::annotate(&bytes);
    }
}

/// The golden request streams, cut at every single point, give the same responses.
#[test]
fn split_input_gives_the_same_output_at_every_cut() {
    let stream: &[u8] = b"GET /hello.txt HTTP/1.1\r\nHost: a\r\n\r\nPOST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\nHEAD /chunked HTTP/1.1\r\nHost: a\r\n\r\nPOST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nConnection: close\r\n\r\nbody";
    let (whole, closed) = support::serve(stream);
    assert!(closed);
    // Four responses (the HEAD one without content), the last ending with the echo.
    assert_eq!(whole.windows(9).filter(|w| w == b"HTTP/1.1 ").count(), 4);
    assert!(whole.ends_with(b"Connection: close\r\n\r\nbody"));
    for i in 0..=stream.len() {
        for j in i..=stream.len() {
            if j - i > 3 && j != stream.len() {
                continue;
            }
            let mut s = HttpServer::new(ServerConfig::new(SERVER));
            let mut out = Vec::new();
            for piece in [&stream[..i], &stream[i..j], &stream[j..]].into_iter().filter(|p| !p.is_empty()) {
                s.handle_input(Instant::ZERO, Input::Receive { from: CLIENT, bytes: piece }).expect("ok");
                while let o = s.poll_output(Instant::ZERO)
                    && !matches!(o, Output::Idle { .. })
                {
                    if let Output::Transmit(t) = o {
                        out.extend(t.bytes);
                    }
                }
            }
            assert_eq!(out, whole, "cut at {i} and {j}");
        }
    }
}
