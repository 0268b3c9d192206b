//! IMAP commands (`wirelab_imap::command`, `syntax::Framer`), literals included: the
//! frames a server-side framer cuts from a stream are the same however the stream
//! arrives; a command read from the front of any bytes parses again from exactly the bytes
//! it took, and prints (with synchronizing and non-synchronizing literals) to bytes that
//! parse back to the same command and read as one whole command.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wirelab_core::Machine;
use wirelab_fuzz::{cut, imap_frames, with_cuts};
use wirelab_imap::syntax::{LiteralMode, Side};
use wirelab_imap::{Command, ImapServer};

fuzz_target!(|data: &[u8]| {
    let (cuts, bytes) = with_cuts(data);
    let _ = ImapServer::annotate(bytes);
    assert_eq!(imap_frames(Side::Commands, &cut(bytes, cuts)), imap_frames(Side::Commands, &[bytes]));

    let Ok(Some((n, c))) = Command::read(bytes) else { return };
    assert_eq!(Command::parse(&bytes[..n]).as_ref(), Ok(&c));
    for mode in [LiteralMode::Sync, LiteralMode::NonSync] {
        let mut out = Vec::new();
        let splits = c.emit(&mut out, mode);
        assert!(splits.windows(2).all(|w| w[0] < w[1]) && splits.iter().all(|&s| s <= out.len()));
        assert_eq!(Command::parse(&out).as_ref(), Ok(&c), "{:?}", String::from_utf8_lossy(&out));
        let read = Command::read(&out).ok().flatten().map(|(n, _)| n);
        assert_eq!(read, Some(out.len()), "{:?}", String::from_utf8_lossy(&out));
    }
});
