//! Rules of the codebase that no compiler checks.

use crate::Result;
use crate::bootstrap::Env;
use std::path::{Path, PathBuf};

/// Crates that must run anywhere (native and Wasm) and so must not pull in an async
/// runtime or browser bindings: dependency arrows point down (STYLE.md).
const PORTABLE: &[&str] = &[
    "wirelab-core",
    "wirelab-tcp",
    "wirelab-udp",
    "wirelab-swarm",
    "wirelab-scenarios",
    "wirelab-ws",
    "wirelab-signal",
    "wirelab-smtp",
    "wirelab-pop3",
    "wirelab-imap",
    "wirelab-webrtc",
];
const FORBIDDEN: &[&str] = &["tokio", "web-sys", "js-sys", "wasm-bindgen", "gloo", "yew", "axum", "hyper"];

/// Fails if a portable crate depends (at any depth, for any target) on a forbidden one.
pub fn dependency_rule(env: &Env) -> Result {
    for krate in PORTABLE {
        let out = env
            .cmd("cargo")
            .args(["tree", "--quiet", "--package", krate, "--edges", "normal,build", "--target", "all"])
            .args(["--prefix", "none", "--format", "{p}"])
            .output()
            .map_err(|e| format!("cannot run cargo tree: {e}"))?;
        if !out.status.success() {
            return Err(format!("cargo tree failed for {krate}: {}", String::from_utf8_lossy(&out.stderr)));
        }
        let tree = String::from_utf8_lossy(&out.stdout);
        let bad: Vec<&str> =
            tree.lines().filter(|l| FORBIDDEN.iter().any(|f| l.split_whitespace().next() == Some(*f))).collect();
        if !bad.is_empty() {
            return Err(format!("{krate} must build for native and wasm32 alike, yet depends on: {}", bad.join(", ")));
        }
        println!("    ok: {krate} depends on none of {}", FORBIDDEN.join(", "));
    }
    Ok(())
}

/// Every Rust file opens with a `//!` doc comment; no test is ignored; no todo or
/// unimplemented macro is left behind.
pub fn tidy() -> Result {
    let mut files = Vec::new();
    for dir in ["crates", "fuzz/src", "fuzz/fuzz_targets"] {
        rust_files(Path::new(dir), &mut files);
    }
    let mut problems = Vec::new();
    for f in &files {
        let text = std::fs::read_to_string(f).map_err(|e| format!("cannot read {}: {e}", f.display()))?;
        let first = text.lines().map(str::trim).find(|l| !l.is_empty()).unwrap_or("");
        if !first.starts_with("//!") {
            problems.push(format!("{}: does not open with a //! comment saying what it is", f.display()));
        }
        for (n, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or("");
            // Spelled in pieces so this file does not match itself.
            for bad in [concat!("#[", "ignore"), concat!("todo", "!("), concat!("unimplemented", "!(")] {
                if code.contains(bad) {
                    problems.push(format!("{}:{}: {bad}", f.display(), n + 1));
                }
            }
        }
    }
    if problems.is_empty() {
        println!("    ok: {} Rust files", files.len());
        Ok(())
    } else {
        Err(format!("tidy:\n  {}", problems.join("\n  ")))
    }
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}
