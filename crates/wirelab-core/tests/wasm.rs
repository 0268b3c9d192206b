//! Core types as Wasm in headless Chromium: virtual time and seeded randomness behave
//! exactly as natively (no `std::time::Instant`, no OS randomness).
#![cfg(target_arch = "wasm32")]

use core::time::Duration;
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};
use wirelab_core::{Instant, SeededRng};

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen_test]
fn virtual_time_is_portable() {
    assert_eq!((Instant::from_millis(1_250) + Duration::from_millis(750)).to_string(), "2.000000s");
    assert_eq!(Instant::ZERO - Instant::from_millis(5), Duration::ZERO);
}

#[wasm_bindgen_test]
fn seeded_rng_draws_what_it_draws_natively() {
    // The same constant the native unit test pins (src/rng.rs).
    assert_eq!(SeededRng::new(42).next_u64(), 0xae90_bfb5_395d_5ba1);
}
