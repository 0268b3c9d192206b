//! HTTP/1.1 responses (`wirelab_http::ResponseParser`): the responses to a GET, a HEAD
//! and a GET read from a stream (then its end) are the same however the stream is cut;
//! every response read prints to bytes that read back as the same response.
//! (`ResponseParser` re-parses a head on every push, so no end-of-line padding is needed.)
#![no_main]

use libfuzzer_sys::fuzz_target;
use wirelab_fuzz::{cut, with_cuts};
use wirelab_http::{Limits, ParseError, Response, ResponseParser};

const METHODS: [&str; 3] = ["GET", "HEAD", "GET"];

fn read_all(pieces: &[&[u8]], methods: &[&str], eof: bool) -> (Vec<Response>, Option<ParseError>) {
    let mut p = ResponseParser::new(Limits::default());
    for m in methods {
        p.expect(m);
    }
    let mut got = Vec::new();
    for piece in pieces {
        p.push(piece);
        loop {
            match p.next_response() {
                Ok(Some(r)) => got.push(r),
                Ok(None) => break,
                Err(e) => return (got, Some(e)),
            }
        }
    }
    if eof {
        match p.finish() {
            Ok(Some(r)) => got.push(r),
            Ok(None) => {}
            Err(e) => return (got, Some(e)),
        }
    }
    (got, None)
}

fuzz_target!(|data: &[u8]| {
    let (cuts, bytes) = with_cuts(data);
    let whole = read_all(&[bytes], &METHODS, true);
    assert_eq!(read_all(&cut(bytes, cuts), &METHODS, true), whole);
    for r in &whole.0 {
        // Printed with its own framing, read as the answer to a GET, or to a HEAD when it
        // has no body (a HEAD's answer keeps the Content-Length of the GET's).
        let printed = r.to_bytes();
        let method = if r.body.is_empty() { "HEAD" } else { "GET" };
        let again = read_all(&[&printed], &[method], true);
        assert_eq!(again, (vec![r.clone()], None), "{:?}", String::from_utf8_lossy(&printed));
    }
});
