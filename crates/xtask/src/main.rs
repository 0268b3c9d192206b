//! `cargo xtask`: everything it takes to go from a fresh clone on a fresh machine to a
//! running app or a green test run. Each tool is checked first and installed only when
//! missing or at the wrong version, and each step says what it does and why.
//!
//! - `cargo xtask run [--addr 127.0.0.1:8080]`: set up, build the app in release mode,
//!   build the server with the app embedded, and start it.
//! - `cargo xtask test`: set up (plus Chromium and chromedriver), then format check,
//!   clippy with warnings denied, native tests, a short run of every fuzz target, the
//!   protocol crates' tests as Wasm in headless Chromium, and the end-to-end test in
//!   headless Chromium.
//! - `cargo xtask fuzz [target] [seconds]`: build the libFuzzer targets of `fuzz/` and run
//!   each (or the one named) for `seconds` (default 60); `test` runs them all briefly.
//! - `cargo xtask dist`: set up and build the app only (into `dist/`), printing its size.
//! - `cargo xtask bench`: set up, then the TCP benchmark (ours against smoltcp) natively
//!   and as Wasm in headless Chromium, and the Wasm-to-native ratio; then the WebSocket
//!   benchmark (our server and frame decoder against tokio-tungstenite: echo messages/s,
//!   decoding MB/s, memory with 10 000 idle connections).

mod bootstrap;
mod checks;
mod fuzz;
mod size;

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::Instant;

/// Pass a message and a result up to `main`, which prints it and fails.
type Result<T = ()> = std::result::Result<T, String>;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let root = workspace_root();
    if let Err(e) = std::env::set_current_dir(&root) {
        eprintln!("xtask: cannot enter {}: {e}", root.display());
        return ExitCode::FAILURE;
    }
    let result = match args.first().map(String::as_str) {
        Some("run") => run(&args[1..]),
        Some("test") => test(&args[1..]),
        Some("bench") => bench(&args[1..]),
        Some("fuzz") => fuzz_task(&args[1..]),
        Some("dist") => bootstrap::tools(bootstrap::Purpose::Run).and_then(|env| build_app(&env).map(|_| ())),
        Some("help" | "--help" | "-h") | None => {
            println!("{}", USAGE);
            Ok(())
        }
        Some(other) => Err(format!("unknown task {other:?}\n\n{USAGE}")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("\nxtask: {e}");
            ExitCode::FAILURE
        }
    }
}

const USAGE: &str = "usage: cargo xtask <task>

tasks:
  run [--addr ADDR]   set up what is missing, build the app, start the server
                      (default http://127.0.0.1:8080; also WIRELAB_ADDR)
  test                set up what is missing (also Chromium), then: fmt, clippy,
                      native tests, fuzz targets (20 000 fixed runs each), Wasm tests in headless
                      Chromium, end-to-end test
  fuzz [TARGET] [SECONDS]
                      build the fuzz targets (cargo-fuzz, installed if missing) and
                      run each, or TARGET only, for SECONDS (default 60)
  dist                set up and build the app into dist/ only
  bench               TCP benchmark: ours against smoltcp, natively and as Wasm in
                      headless Chromium; then the WebSocket benchmark: our server
                      and decoder against tokio-tungstenite (a few minutes; not part
                      of test)";

fn workspace_root() -> PathBuf {
    // crates/xtask -> the workspace root.
    Path::new(env!("CARGO_MANIFEST_DIR")).ancestors().nth(2).map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}

/// Prints a step's banner: what and why.
pub fn step(what: &str) {
    println!("\n==> {what}");
}

/// Runs a command to completion with its output passing through; fails with its name.
pub fn sh(cmd: &mut Command) -> Result {
    let shown = std::iter::once(cmd.get_program())
        .chain(cmd.get_args())
        .map(|a| a.to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join(" ");
    println!("    $ {shown}");
    let status = cmd.status().map_err(|e| format!("cannot start `{shown}`: {e}"))?;
    if status.success() { Ok(()) } else { Err(format!("`{shown}` failed ({status})")) }
}

/// The app's pages: what each is, the HTML Trunk builds it from, where it goes, and the
/// URL the server serves it at. Each page is its own Wasm bundle within the size budget,
/// so that opening either downloads only its own code. `dist` first: Trunk empties its
/// dist directory, and `dist/live` is inside it.
const PAGES: [(&str, &str, &str, &str); 5] = [
    ("scenarios", "index.html", "dist", "/"),
    ("live lab", "live.html", "dist/live", "/live/"),
    ("P2P scenarios", "p2p.html", "dist/p2p", "/p2p/"),
    ("mail scenarios", "mail.html", "dist/mail", "/mail/"),
    ("IMAP scenarios", "imap.html", "dist/imap", "/imap/"),
];

/// Builds every page; returns each page's gzipped size.
fn build_app(env: &bootstrap::Env) -> Result<Vec<(&'static str, u64)>> {
    step("Building the app (Trunk, release: Rust → Wasm, wasm-bindgen, wasm-opt)");
    let t = Instant::now();
    // Trunk is offline (Trunk.toml) and passes --offline to cargo: fetch crates first.
    sh(env.cmd("cargo").args(["fetch", "--quiet"]))?;
    for (_, html, dist, url) in PAGES {
        sh(env.cmd("trunk").args(["build", "--release=true", "--dist", dist, "--public-url", url, html]))?;
    }
    println!("    built in {:.0?}", t.elapsed());
    let mut sizes = Vec::new();
    for (name, _, dist, url) in PAGES {
        println!("    page {url} ({name}):");
        sizes.push((name, size::report(Path::new(dist))?));
    }
    Ok(sizes)
}

fn run(args: &[String]) -> Result {
    let mut addr = std::env::var("WIRELAB_ADDR").unwrap_or_else(|_| "127.0.0.1:8080".to_string());
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--addr" => addr = it.next().ok_or("--addr needs an address, e.g. 127.0.0.1:8080")?.clone(),
            other => return Err(format!("unknown option {other:?} for run\n\n{USAGE}")),
        }
    }
    let env = bootstrap::tools(bootstrap::Purpose::Run)?;
    build_app(&env)?;
    step("Building the server with the app embedded (cargo build --release)");
    sh(env.cmd("cargo").args(["build", "--release", "--package", "wirelab-server"]))?;
    step(&format!("Starting wirelab on http://{addr} (Ctrl-C stops it)"));
    let mut server = Command::new(Path::new("target/release/wirelab"));
    server.args(["serve", "--addr", &addr]);
    exec(server)
}

/// Replaces this process with `cmd`, so Ctrl-C goes straight to the server.
#[cfg(unix)]
fn exec(mut cmd: Command) -> Result {
    use std::os::unix::process::CommandExt;
    Err(format!("cannot start the server: {}", cmd.exec()))
}

#[cfg(not(unix))]
fn exec(mut cmd: Command) -> Result {
    let status = cmd.status().map_err(|e| format!("cannot start the server: {e}"))?;
    if status.success() { Ok(()) } else { Err(format!("the server exited with {status}")) }
}

/// Runs the TCP benchmark natively, then in headless Chromium, and prints both tables and
/// how much slower each stack is as Wasm; then the WebSocket benchmark.
fn bench(args: &[String]) -> Result {
    if let Some(a) = args.first() {
        return Err(format!("unknown option {a:?} for bench\n\n{USAGE}"));
    }
    let env = bootstrap::tools(bootstrap::Purpose::Test)?;
    step("Native: cargo run --release -p wirelab-bench --bin tcp-bench");
    let native =
        capture(env.cmd("cargo").args(["run", "--release", "--quiet", "-p", "wirelab-bench", "--bin", "tcp-bench"]))?;
    print!("{native}");
    step("Wasm in headless Chromium: cargo bench --target wasm32-unknown-unknown -p wirelab-bench");
    let wasm = capture(env.cmd("cargo").args([
        "bench",
        "--target",
        "wasm32-unknown-unknown",
        "-p",
        "wirelab-bench",
        "--bench",
        "browser",
    ]))?;
    let table: String =
        wasm.lines().skip_while(|l| !l.starts_with("wasm32")).take(5).map(|l| format!("{l}\n")).collect();
    print!("{table}");
    step("Wasm against native (wall time of the same run, same seed, same profile)");
    let wall = |text: &str, stack: &str| -> Option<f64> {
        // The stack's name fills the first 14 columns; the wall time comes next.
        text.lines().find(|l| l.starts_with(stack))?.get(14..)?.split_whitespace().next()?.parse().ok()
    };
    for stack in ["smoltcp", "wirelab-tcp"] {
        match (wall(&native, stack), wall(&table, stack)) {
            (Some(n), Some(w)) => {
                println!("    {stack:<12} native {n:>7.1} ms   wasm {w:>7.1} ms   wasm/native {:.2}×", w / n)
            }
            _ => return Err(format!("no figures for {stack} in the benchmark output")),
        }
    }
    ws_bench(&env)?;
    mail_bench(&env)
}

/// The mail benchmark (`mail-bench`, under a minute): postfix's smtp-source against our
/// north.test server, which stores each message durably before its 250, and against
/// postfix's smtp-sink, which stores nothing.
fn mail_bench(env: &bootstrap::Env) -> Result {
    step("Mail: messages per second stored durably, against postfix's smtp-sink (smtp-source drives both)");
    bootstrap::postfix_tools()?;
    sh(env
        .cmd("cargo")
        .args(["build", "--release", "--quiet", "-p", "wirelab-server", "-p", "wirelab-bench"])
        .args(["--bin", "wirelab", "--bin", "mail-bench"]))?;
    sh(env.cmd("cargo").args(["run", "--release", "--quiet", "-p", "wirelab-bench", "--bin", "mail-bench"]))
}

/// The WebSocket benchmark (`ws-bench`, about a minute). It starts the release `wirelab`
/// binary as a child process (for the memory figures) from next to itself: both are
/// built in one go, so with the same features, and `cargo run` then only runs it.
fn ws_bench(env: &bootstrap::Env) -> Result {
    step("WebSocket: our server and frame decoder against tokio-tungstenite (release build, then ws-bench)");
    sh(env
        .cmd("cargo")
        .args(["build", "--release", "--quiet", "-p", "wirelab-server", "-p", "wirelab-bench"])
        .args(["--bin", "wirelab", "--bin", "ws-bench"]))?;
    sh(env.cmd("cargo").args(["run", "--release", "--quiet", "-p", "wirelab-bench", "--bin", "ws-bench"]))
}

/// Runs a command, passing its stderr through, and returns its stdout.
fn capture(cmd: &mut Command) -> Result<String> {
    let out = cmd.stderr(std::process::Stdio::inherit()).output().map_err(|e| format!("cannot run {cmd:?}: {e}"))?;
    if !out.status.success() {
        return Err(format!("{cmd:?} failed: {}\n{}", out.status, String::from_utf8_lossy(&out.stdout)));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn test(args: &[String]) -> Result {
    if let Some(a) = args.first() {
        return Err(format!("unknown option {a:?} for test\n\n{USAGE}"));
    }
    let started = Instant::now();
    let env = bootstrap::tools(bootstrap::Purpose::Test)?;
    let mut times: Vec<(&str, f64)> = vec![("set-up", started.elapsed().as_secs_f64())];

    timed(&mut times, "format check", &mut || {
        step("Format check (cargo fmt --check), the workspace and fuzz/");
        sh(env.cmd("cargo").args(["fmt", "--all", "--check"]))?;
        sh(env.cmd("cargo").args(["fmt", "--all", "--check", "--manifest-path", "fuzz/Cargo.toml"]))
    })?;
    timed(&mut times, "tidy", &mut || {
        step("Tidy: module docs, no ignored tests, no todo macros; portable crates stay portable");
        checks::tidy()?;
        checks::dependency_rule(&env)
    })?;
    // The server embeds dist/: build the app before anything compiles the server.
    timed(&mut times, "app build", &mut || {
        build_app(&env)?.into_iter().try_for_each(|(page, gz)| size::enforce(page, gz))
    })?;
    timed(&mut times, "clippy", &mut || {
        step("Clippy, warnings denied: native crates, then the app for wasm32");
        sh(env.cmd("cargo").args([
            "clippy",
            "--workspace",
            "--exclude",
            "wirelab-app",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ]))?;
        // Each page's build of it: the scenarios page's features, the P2P, mail and IMAP pages'.
        for features in [
            &[][..],
            &["--no-default-features", "--features", "webrtc"][..],
            &["--no-default-features", "--features", "mail"][..],
            &["--no-default-features", "--features", "imap"][..],
        ] {
            sh(env
                .cmd("cargo")
                .args(["clippy", "--package", "wirelab-app", "--target", "wasm32-unknown-unknown"])
                .args(features)
                .args(["--", "-D", "warnings"]))?;
        }
        Ok(())
    })?;
    timed(&mut times, "native tests", &mut || {
        step("Native tests (cargo test)");
        sh(env.cmd("cargo").args(["test", "--workspace", "--exclude", "wirelab-app"]))
    })?;
    timed(&mut times, "fuzz", &mut || fuzz::run(&env, None, fuzz::TEST_RUNS))?;
    timed(&mut times, "wasm tests", &mut || {
        step("Protocol crates' tests compiled to wasm32, run in headless Chromium (wasm-bindgen-test)");
        sh(env.cmd("cargo").args(["test", "--target", "wasm32-unknown-unknown"]).args([
            "--package",
            "wirelab-core",
            "--package",
            "wirelab-tcp",
            "--package",
            "wirelab-udp",
            "--package",
            "wirelab-scenarios",
            "--package",
            "wirelab-ws",
            "--package",
            "wirelab-signal",
            "--package",
            "wirelab-http",
            "--package",
            "wirelab-smtp",
            "--package",
            "wirelab-pop3",
            "--package",
            "wirelab-imap",
            "--package",
            "wirelab-webrtc",
            // The app's components, each mounted alone (tests/components.rs).
            "--package",
            "wirelab-app",
            // All of the app's scenario bundles.
            "--features",
            "wirelab-scenarios/webrtc",
            "--features",
            "wirelab-scenarios/mail",
            "--features",
            "wirelab-scenarios/imap",
        ]))
    })?;
    timed(&mut times, "end-to-end", &mut || {
        step("End-to-end: the real server, the built app, headless Chromium (node --test e2e/)");
        sh(env.cmd("cargo").args(["build", "--package", "wirelab-server"]))?;
        sh(env.cmd("node").args(["--test", "--test-reporter=spec", "e2e/"]).env("WIRELAB_BIN", "target/debug/wirelab"))
    })?;
    step("Summary");
    for (name, secs) in &times {
        println!("    {name:<14} {secs:>7.1} s");
    }
    println!("    {:<14} {:>7.1} s", "total", started.elapsed().as_secs_f64());
    println!("    screenshots: target/e2e/*.png");
    Ok(())
}

/// `cargo xtask fuzz [target] [seconds]`: longer runs by hand (a number alone is the time).
fn fuzz_task(args: &[String]) -> Result {
    let (mut target, mut seconds) = (None, 60);
    for a in args {
        match a.parse::<u64>() {
            Ok(s) => seconds = s,
            Err(_) if target.is_none() => target = Some(a.as_str()),
            Err(_) => return Err(format!("unknown option {a:?} for fuzz\n\n{USAGE}")),
        }
    }
    let env = bootstrap::env()?;
    step("Checking cargo-fuzz (installing it if missing)");
    bootstrap::cargo_fuzz(&env)?;
    fuzz::run(&env, target, fuzz::Runs::Seconds(seconds))
}

/// Runs one stage of the test command and notes how long it took.
fn timed(times: &mut Vec<(&'static str, f64)>, name: &'static str, f: &mut dyn FnMut() -> Result) -> Result {
    let t = Instant::now();
    let r = f();
    times.push((name, t.elapsed().as_secs_f64()));
    r
}
