//! HTTP/1.1 requests (`wirelab_http::RequestParser`): the requests (and the error, if
//! any) read from a stream are the same however the stream is cut into pieces; every
//! request read prints (`Request::to_bytes`) to bytes that read back as the same request.
//!
//! The stream ends with an empty line in a piece of its own: the parser looks at a head
//! again only once a line has ended (so a head arriving byte by byte is not parsed per
//! byte), which means a malformed line still arriving is refused when it ends, not sooner.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wirelab_fuzz::{cut, with_cuts};
use wirelab_http::{Limits, ParseError, Request, RequestParser};

fn read_all(pieces: &[&[u8]]) -> (Vec<Request>, Option<ParseError>) {
    let mut p = RequestParser::new(Limits::default());
    let mut got = Vec::new();
    for piece in pieces {
        p.push(piece);
        loop {
            match p.next_request() {
                Ok(Some(r)) => got.push(r),
                Ok(None) => break,
                Err(e) => return (got, Some(e)),
            }
        }
    }
    (got, None)
}

fuzz_target!(|data: &[u8]| {
    let (cuts, bytes) = with_cuts(data);
    let whole = read_all(&[bytes, b"\r\n\r\n"]);
    let mut pieces = cut(bytes, cuts);
    pieces.push(b"\r\n\r\n");
    assert_eq!(read_all(&pieces), whole);
    for r in &whole.0 {
        let printed = r.to_bytes();
        let again = read_all(&[&printed]);
        assert_eq!(again, (vec![r.clone()], None), "{:?}", String::from_utf8_lossy(&printed));
    }
});
