//! POP3 lines (`wirelab_pop3::wire`): a command line that parses prints to a line that
//! parses to the same command; a status line that parses prints to one of at most 512
//! octets that parses to the same status (CR and LF in its text become spaces, and a long
//! text is cut); responses read from the front
//! of any bytes take a CRLF-ended prefix of them; byte-stuffing any bytes unstuffs to
//! their canonical form.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wirelab_core::Machine;
use wirelab_fuzz::assert_command_line_round_trip;
use wirelab_pop3::Pop3Server;
use wirelab_pop3::wire::{self, Status};

fuzz_target!(|data: &[u8]| {
    let _ = Pop3Server::annotate(data);
    let line = data.split(|&b| b == b'\n').next().unwrap_or_default();
    let line = line.strip_suffix(b"\r").unwrap_or(line);

    assert_command_line_round_trip(line, wire::parse_command, |c| c.to_bytes());

    if let Ok(s) = wire::parse_status(line) {
        let printed = s.to_bytes();
        assert!(printed.len() <= 512 && printed.ends_with(b"\r\n"));
        let text: String = s.text.chars().map(|c| if c == '\r' || c == '\n' { ' ' } else { c }).collect();
        let again = wire::parse_status(&printed[..printed.len() - 2]).expect("a printed status parses");
        // The same status; its text cut (at a character boundary) to fit the line.
        assert_eq!(again.ok, s.ok);
        assert!(text.starts_with(&again.text), "{:?} → {:?}", s.text, again.text);
        if printed.len() < 512 - 4 {
            assert_eq!(again, Status { ok: s.ok, text });
        }
    }

    for multi in [false, true] {
        if let Ok(Some((_, n))) = wire::parse_response(data, multi) {
            assert!(n <= data.len() && data[..n].ends_with(b"\r\n"));
        }
    }
    if let Some((_, n)) = wire::unstuff(data) {
        assert!(n <= data.len());
    }
    let _ = wire::top(data, u32::from(data.first().copied().unwrap_or(0) % 8));

    let stuffed = wire::stuff(data);
    assert_eq!(wire::unstuff(&stuffed), Some((wire::canonical(data), stuffed.len())));
});
