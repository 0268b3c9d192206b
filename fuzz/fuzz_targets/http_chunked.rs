//! The chunked transfer coding (`wirelab_http::chunked`): decoding gives the same data,
//! trailers, consumed count and error however the input is cut; chunks encoded from the
//! input's pieces decode to their concatenation, leaving what follows untouched.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wirelab_fuzz::{cut, with_cuts};
use wirelab_http::ChunkedDecoder;
use wirelab_http::chunked::encode_chunked;

type Decoded = (Vec<u8>, usize, bool, Vec<(String, Vec<u8>)>, Option<String>);

fn decode(pieces: &[&[u8]]) -> Decoded {
    let mut d = ChunkedDecoder::new(1 << 16, 1024);
    let mut out = Vec::new();
    let mut used = 0;
    for piece in pieces {
        match d.decode(piece, &mut out) {
            Ok(n) => {
                assert!(n <= piece.len());
                used += n;
                if n < piece.len() {
                    assert!(d.is_done());
                    break;
                }
            }
            // Where in which piece it failed is not compared, only that it did and why.
            Err(e) => return (out, 0, d.is_done(), d.trailers().to_vec(), Some(format!("{e:?}"))),
        }
    }
    (out, used, d.is_done(), d.trailers().to_vec(), None)
}

fuzz_target!(|data: &[u8]| {
    let (cuts, bytes) = with_cuts(data);
    let whole = decode(&[bytes]);
    assert_eq!(decode(&cut(bytes, cuts)), whole);

    let chunks = cut(bytes, cuts);
    let mut wire = encode_chunked(&chunks);
    wire.extend_from_slice(b"NEXT");
    let (out, used, done, trailers, err) = decode(&[&wire]);
    assert_eq!((out, done, trailers, err), (bytes.to_vec(), true, vec![], None));
    assert_eq!(&wire[used..], b"NEXT");
});
