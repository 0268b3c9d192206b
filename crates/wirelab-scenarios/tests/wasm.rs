//! The simulator and the `tcp-handshake` scenario as Wasm in headless Chromium: the run
//! the app shows must be the run the native tests check, bit for bit.
#![cfg(target_arch = "wasm32")]

use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};
use wirelab_core::{LinkConfig, TraceKind};
use wirelab_scenarios::{Params, run};

wasm_bindgen_test_configure!(run_in_browser);

/// The native snapshot of the same run (tests/snapshots/tcp_handshake.ladder).
const LADDER: &str = include_str!("snapshots/tcp_handshake.ladder");

#[wasm_bindgen_test]
fn the_browser_run_equals_the_native_snapshot() {
    let trace = run("tcp-handshake", &Params::default()).expect("runs");
    assert_eq!(trace.ascii_ladder(), LADDER);
}

#[wasm_bindgen_test]
fn lossy_runs_replay_in_the_browser() {
    for seed in 0..10 {
        let p = Params { seed, link: LinkConfig { loss: 0.3, ..LinkConfig::default() }, drops: vec![], delays: vec![] };
        let a = run("tcp-handshake", &p).expect("settles");
        assert_eq!(a, run("tcp-handshake", &p).expect("settles"));
        assert!(!a.events.iter().any(|e| matches!(e.kind, TraceKind::Error { .. })));
    }
}
