//! The server's FTP control-line readers (`wirelab_server::ftpctl`, compiled here from
//! its source file: the server crate itself embeds the built app and brings tokio and
//! axum, which a fuzz build need not instrument). The lines a scanner cuts from a stream
//! are the same however it arrives; any line never panics the PASV/EPSV and PORT/EPRT
//! readers; an address read from PORT or EPRT prints (`port_commands`) to commands that
//! read back as the same address.
#![no_main]

#[allow(dead_code)]
#[path = "../../crates/wirelab-server/src/ftpctl.rs"]
mod ftpctl;

use ftpctl::{LineScanner, active_command, passive_reply, port_commands};
use libfuzzer_sys::fuzz_target;
use wirelab_fuzz::{cut, with_cuts};

fn lines(pieces: &[&[u8]]) -> Vec<String> {
    let mut scanner = LineScanner::default();
    let mut out = Vec::new();
    for piece in pieces {
        scanner.feed(piece, |l| out.push(l.to_string()));
    }
    out
}

fuzz_target!(|data: &[u8]| {
    let (cuts, bytes) = with_cuts(data);
    let whole = lines(&[bytes]);
    assert_eq!(lines(&cut(bytes, cuts)), whole);
    for line in &whole {
        assert!(line.len() <= ftpctl::MAX_LINE && !line.contains('\n'));
        let _ = passive_reply(line);
        if let Some(Ok(addr)) = active_command(line) {
            let (port, eprt) = port_commands(addr);
            assert_eq!(active_command(&eprt), Some(Ok(addr)), "{line:?} → {eprt:?}");
            if let Some(port) = port {
                assert_eq!(active_command(&port), Some(Ok(addr)), "{line:?} → {port:?}");
            }
        }
    }
});
