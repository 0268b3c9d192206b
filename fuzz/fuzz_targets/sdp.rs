//! SDP (`wirelab_signal::sdp`): the explainer reads any text line by line without
//! panicking, one explanation per line; an ICE candidate that parses prints to a line
//! that parses to the same candidate.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wirelab_signal::{Candidate, explain, explain_line};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ = explain(&text);
    for line in text.lines() {
        let _ = explain_line(line);
        for s in [line, line.strip_prefix("a=").unwrap_or(line)] {
            if let Ok(c) = Candidate::parse(s) {
                let _ = c.describe();
                let printed = c.to_string();
                assert_eq!(Candidate::parse(&printed).as_ref(), Ok(&c), "{s:?} → {printed:?}");
            }
        }
    }
});
