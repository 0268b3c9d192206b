//! The wirelab app, compiled to Wasm by Trunk and served by the `wirelab` binary.
//!
//! It runs the protocol machines right here in the browser (the simulator is the same
//! code the server and the tests run), and talks to the real backend over WebSocket.

mod components;
mod model;
mod route;
mod sync;

use components::app::App;

fn main() {
    yew::Renderer::<App>::new().render();
}
