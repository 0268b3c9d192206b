//! SMTP lines (`wirelab_smtp::wire`, `data`): a command line that parses prints to a line
//! that parses to the same command; a reply read from the front of any bytes prints to
//! bytes that read back as the same reply (CR and LF in its text become spaces, as
//! `Reply::emit` says); mail data encoded from any bytes decodes to their canonical form.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wirelab_core::Machine;
use wirelab_fuzz::assert_command_line_round_trip;
use wirelab_smtp::data;
use wirelab_smtp::wire::{self, Reply};
use wirelab_smtp::{Mailbox, SmtpServer};

fuzz_target!(|data: &[u8]| {
    let _ = SmtpServer::annotate(data);
    let _ = Mailbox::parse(&String::from_utf8_lossy(data));
    let _ = data::decode(data);

    let line = data.split(|&b| b == b'\n').next().unwrap_or_default();
    assert_command_line_round_trip(line, wire::parse_command, |c| c.to_bytes());

    if let Ok(Some((reply, n))) = wire::parse_reply(data) {
        assert!(n <= data.len() && data[..n].ends_with(b"\r\n"));
        let printed = reply.to_bytes();
        let clean = |s: &String| s.chars().map(|c| if c == '\r' || c == '\n' { ' ' } else { c }).collect();
        let expected = Reply { code: reply.code, lines: reply.lines.iter().map(clean).collect() };
        assert_eq!(wire::parse_reply(&printed), Ok(Some((expected, printed.len()))));
    }

    let canonical = data::canonical(data);
    assert_eq!(data::canonical(&canonical), canonical);
    let wire = data::encode(data);
    assert_eq!(data::decode(&wire), Some((canonical, wire.len())));
});
