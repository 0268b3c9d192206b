//! The server embeds the built app from `dist/` (rust-embed). When the app has not been
//! built yet (a plain `cargo build` or `cargo clippy`), put a page there that says how to
//! build it, so the server still compiles and tells the person what to do.
use std::path::Path;

fn main() {
    let dist = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../dist");
    println!("cargo:rerun-if-changed={}", dist.display());
    println!("cargo:rerun-if-changed={}", dist.join("index.html").display());
    if !dist.join("index.html").exists() {
        let _ = std::fs::create_dir_all(&dist);
        let _ = std::fs::write(
            dist.join("index.html"),
            "<!doctype html><meta charset=utf-8><title>wirelab: app not built</title>\
             <p>The wirelab app has not been built into this server. Run <code>cargo xtask run</code>.</p>",
        );
    }
}
