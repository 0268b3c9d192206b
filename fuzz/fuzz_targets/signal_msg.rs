//! Signalling messages (`wirelab_signal::msg`, JSON over WebSocket): a client or server
//! message that parses serialises (`to_json`) to text that parses to the same message;
//! the same text as a type name (`type_name`) agrees; any text never panics the parsers.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wirelab_signal::{ClientMsg, ServerMsg};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(m) = ClientMsg::parse(&text) {
        let json = m.to_json();
        assert_eq!(ClientMsg::parse_with_limit(&json, usize::MAX).as_ref(), Ok(&m), "{json}");
        assert!(json.contains(&format!("\"{}\"", m.type_name())), "{json}");
    }
    if let Ok(m) = ServerMsg::parse(&text) {
        let json = m.to_json();
        assert_eq!(ServerMsg::parse_with_limit(&json, usize::MAX).as_ref(), Ok(&m), "{json}");
        assert!(json.contains(&format!("\"{}\"", m.type_name())), "{json}");
    }
});
