//! Helpers shared by the fuzz targets: cutting an input into the pieces a stream might
//! arrive in, and splitting a fuzzer's bytes into a few independent values; the round
//! trips and readers that more than one target checks.

use std::fmt::Debug;
use wirelab_imap::syntax::Side;
use wirelab_imap::{Framed, Framer, Limits};

/// Splits `bytes` at the points `cuts` names (each taken modulo the length), in order.
pub fn cut<'a>(bytes: &'a [u8], cuts: &[u8]) -> Vec<&'a [u8]> {
    let mut points: Vec<usize> = cuts.iter().map(|&c| usize::from(c) * bytes.len() / 256).collect();
    points.sort_unstable();
    let mut out = Vec::new();
    let mut at = 0;
    for p in points {
        out.push(&bytes[at..p]);
        at = p;
    }
    out.push(&bytes[at..]);
    out
}

/// The first byte as a small number of cut points, those points, and the rest: how a
/// target reads "these bytes, arriving in these pieces".
pub fn with_cuts(data: &[u8]) -> (&[u8], &[u8]) {
    let Some((&n, rest)) = data.split_first() else { return (&[], &[]) };
    let n = usize::from(n % 8).min(rest.len());
    (&rest[..n], &rest[n..])
}

/// Splits `data` at its first `sep` byte (the whole of it when there is none).
pub fn split_at_byte(data: &[u8], sep: u8) -> (&[u8], &[u8]) {
    match data.iter().position(|&b| b == sep) {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &[]),
    }
}

/// A command line that parses prints (CRLF-ended) to a line that parses to the same
/// command: the round trip the SMTP and POP3 command parsers share.
pub fn assert_command_line_round_trip<C: PartialEq + Debug, E: PartialEq + Debug>(
    line: &[u8],
    parse: impl Fn(&[u8]) -> Result<C, E>,
    print: impl Fn(&C) -> Vec<u8>,
) {
    let Ok(c) = parse(line) else { return };
    let printed = print(&c);
    let Some(printed_line) = printed.strip_suffix(b"\r\n") else { panic!("{printed:?} is not CRLF-ended") };
    assert_eq!(
        parse(printed_line).as_ref(),
        Ok(&c),
        "{:?} → {:?}",
        String::from_utf8_lossy(line),
        String::from_utf8_lossy(&printed)
    );
}

/// The frames an IMAP framer for `side` cuts from a stream arriving in `pieces`, each
/// as its `Debug` text (the framer's own type has no `PartialEq`).
pub fn imap_frames(side: Side, pieces: &[&[u8]]) -> Vec<String> {
    let mut f = Framer::new(side, Limits::default());
    let mut out = Vec::new();
    for piece in pieces {
        f.push(piece);
        loop {
            match f.next_frame() {
                Framed::Partial => break,
                framed => out.push(format!("{framed:?}")),
            }
        }
    }
    out
}
