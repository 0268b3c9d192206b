//! IMAP as Wasm in headless Chromium: a session through the shared store, with IDLE
//! hearing another device's change, and the framer fed byte by byte, as natively.
#![cfg(target_arch = "wasm32")]

mod support;

use support::{World, store_with};
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};
use wirelab_core::Machine;
use wirelab_imap::syntax::{Framed, Framer, Limits, Side};
use wirelab_imap::{ImapServer, ServerConfig, State};

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen_test]
fn two_sessions_one_idling() {
    let mut w = World::new(store_with(2), 2, ServerConfig::new(support::SERVER));
    for i in 0..2 {
        w.say(i, "a1 LOGIN alice secret");
        w.say(i, "a2 SELECT INBOX");
    }
    assert_eq!(w.say(0, "a3 IDLE"), "+ idling\r\n");
    w.say(1, "b1 STORE 1 +FLAGS.SILENT (\\Seen)");
    assert_eq!(w.take(0), "* 1 FETCH (FLAGS (\\Seen) UID 1)\r\n");
    assert_eq!(w.say(0, "DONE"), "a3 OK IDLE terminated\r\n");
    assert_eq!(w.servers[0].state(), State::Selected);
    assert_eq!(ImapServer::annotate(b"a3 OK IDLE terminated\r\n").summary, "a3 OK IDLE terminated");
}

#[wasm_bindgen_test]
fn literals_frame_byte_by_byte() {
    let bytes = b"a1 LOGIN {5+}\r\nalice {6+}\r\nsecret\r\na2 NOOP\r\n";
    let mut f = Framer::new(Side::Commands, Limits::default());
    let mut frames = Vec::new();
    for b in bytes {
        f.push(std::slice::from_ref(b));
        while let Framed::Frame(x) = f.next_frame() {
            frames.push(x);
        }
    }
    assert_eq!(frames, [b"a1 LOGIN {5+}\r\nalice {6+}\r\nsecret\r\n".to_vec(), b"a2 NOOP\r\n".to_vec()]);
}
