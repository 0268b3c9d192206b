//! The wirelab app, compiled to Wasm by Trunk and served by the `wirelab` binary, as two
//! pages that share these components:
//!
//! - `wirelab-app` (`index.html`): the landing page and the stepped scenarios, which run
//!   the protocol machines right here in the browser (the simulator is the same code the
//!   server and the tests run);
//! - `wirelab-live` (`live.html`, served at `/live/`): the live lab, which talks to the
//!   real backend (its WebSocket echo, its HTTP server through the bridge).
//!
//! Two pages, not one, so that what a student downloads to open either stays within the
//! size budget: the live lab's clients are not in the scenarios' bundle and the
//! simulator's scenarios are not in the live lab's.

// Props and component types are compared and rendered by yew, never printed; the lint
// (workspace-wide, for the protocol crates' public types) only applies here since the
// app became a library shared by its two pages.
#![allow(missing_debug_implementations)]

pub mod components;
pub mod model;
pub mod route;
pub mod sync;
