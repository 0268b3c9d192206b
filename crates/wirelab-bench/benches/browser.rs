//! The TCP transfer benchmark compiled to Wasm and run in headless Chromium: the same
//! 10 MB over the same simulated link through both stacks, timed with `performance.now()`.
//! `cargo xtask bench` runs it after the native `tcp-bench` and prints Wasm against native.
//! (A benchmark, built and run only by `cargo bench`.)
#![cfg(target_arch = "wasm32")]

use wasm_bindgen_test::{Criterion, Instant, console_log, wasm_bindgen_bench, wasm_bindgen_test_configure};
use wirelab_bench::{LinkSpec, Stack, measure, report};

wasm_bindgen_test_configure!(run_in_browser);

/// Times with our own rounds (interleaved, median) rather than `Criterion`'s sampling, so
/// the browser's figures are computed exactly as the native binary's.
#[wasm_bindgen_bench]
fn tcp_transfer_in_the_browser(_: &mut Criterion) {
    let link = LinkSpec::default();
    let start = Instant::now();
    let clock = move || start.elapsed().as_secs_f64() * 1e3;
    match measure(&[Stack::Smoltcp, Stack::Ours], 10_000_000, link, 7, &clock) {
        Ok(rows) => console_log!("{}", report("wasm32 in Chromium", link, 7, &rows)),
        Err(e) => panic!("benchmark failed: {e}"),
    }
}
