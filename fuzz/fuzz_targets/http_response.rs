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
        // The answer to a GET prints whole and reads back as the same answer to a GET;
        // the answer to a HEAD (no body, whatever its fields say) prints as its head alone
        // and reads back as the same answer to a HEAD. Which one it was is not kept, so
        // one of the two must hold.
        let whole_message = r.to_bytes();
        let as_get = read_all(&[&whole_message], &["GET"], true) == (vec![r.clone()], None);
        let mut head = Vec::new();
        r.emit_head(&mut head);
        let as_head = r.body.is_empty() && read_all(&[&head], &["HEAD"], true) == (vec![r.clone()], None);
        assert!(as_get || as_head, "{r:?} → {:?}", String::from_utf8_lossy(&whole_message));
    }
});
