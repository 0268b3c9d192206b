//! Setting up a fresh machine from registries only (crates.io, npm, Debian): nothing
//! here downloads a prebuilt binary from anywhere else, and nothing is assumed to have
//! been installed by hand. Each tool is checked first, so a warm machine skips it all.
//!
//! What gets installed, and why (../shared/TOOLCHAIN.md has the findings behind it):
//! - the `wasm32-unknown-unknown` target (rustup), rustfmt and clippy;
//! - trunk 0.21.14 (cargo install --locked): 0.22 needs a newer rustc;
//! - wasm-bindgen-cli at exactly the `wasm-bindgen` version in Cargo.lock (cargo install,
//!   without --locked: its own lock file names a crate version the registry lacks);
//! - wasm-opt and playwright-core from npm (`npm ci`, versions in package-lock.json):
//!   Debian's binaryen is too old to parse today's Rust output;
//! - for tests, Debian's chromium and chromium-driver, tshark, curl and python3 (apt);
//! - for tests and `cargo xtask fuzz`, cargo-fuzz 0.13.2 (cargo install --locked): it
//!   builds and runs the libFuzzer targets of `fuzz/`.

use crate::{Result, sh, step};
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;

pub const TRUNK_VERSION: &str = "0.21.14";
pub const CARGO_FUZZ_VERSION: &str = "0.13.2";
/// The wasm-opt version Trunk.toml pins (`version_132`) and package.json installs.
pub const WASM_OPT_VERSION: &str = "version 132";

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Purpose {
    Run,
    Test,
}

/// The environment the tools run in: PATH with the installed tools first.
#[derive(Debug)]
pub struct Env {
    path: OsString,
}

impl Env {
    /// A command that finds the installed tools, with Trunk kept offline and quiet about
    /// updates, and wasm-bindgen-test-runner pointed at Debian's chromedriver.
    pub fn cmd(&self, program: &str) -> Command {
        let mut c = Command::new(program);
        c.env("PATH", &self.path).env("TRUNK_SKIP_VERSION_CHECK", "true");
        if Path::new("/usr/bin/chromedriver").exists() && std::env::var_os("CHROMEDRIVER").is_none() {
            c.env("CHROMEDRIVER", "/usr/bin/chromedriver");
        }
        c
    }
}

fn cargo_home_bin() -> PathBuf {
    std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))
        .unwrap_or_else(|| PathBuf::from(".cargo"))
        .join("bin")
}

/// The first line a tool prints for `args`, or None if it cannot be run.
fn output_of(env: &Env, program: &str, args: &[&str]) -> Option<String> {
    let out = env.cmd(program).args(args).output().ok()?;
    if !out.status.success() {
        return None;
    }
    let text = String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    Some(text.lines().next().unwrap_or("").trim().to_string())
}

/// The version of `package` that Cargo.lock resolved.
pub fn locked_version(package: &str) -> Result<String> {
    let lock = std::fs::read_to_string("Cargo.lock").map_err(|e| format!("cannot read Cargo.lock: {e}"))?;
    let needle = format!("name = \"{package}\"\nversion = \"");
    let start = lock.find(&needle).ok_or(format!("Cargo.lock has no package {package}"))? + needle.len();
    let end = lock[start..].find('"').ok_or("Cargo.lock is malformed")? + start;
    Ok(lock[start..end].to_string())
}

/// The environment with the installed tools first on PATH, checking nothing.
pub fn env() -> Result<Env> {
    let mut path = vec![
        // Absolute even before it exists: tests run with the crate as working directory.
        std::env::current_dir().map_err(|e| e.to_string())?.join(PYENV).join("bin"),
        PathBuf::from("node_modules/.bin").canonicalize().unwrap_or_else(|_| PathBuf::from("node_modules/.bin")),
        cargo_home_bin(),
    ];
    path.extend(std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()));
    Ok(Env { path: std::env::join_paths(path).map_err(|e| e.to_string())? })
}

/// cargo-fuzz, for the fuzz step: installed from crates.io if missing or another version.
pub fn cargo_fuzz(env: &Env) -> Result {
    match output_of(env, "cargo", &["fuzz", "--version"]) {
        Some(v) if v == format!("cargo-fuzz {CARGO_FUZZ_VERSION}") => ok(&v),
        found => {
            install(
                &format!(
                    "cargo-fuzz {CARGO_FUZZ_VERSION}{}",
                    found.map(|f| format!(" (found {f})")).unwrap_or_default()
                ),
                "it builds the libFuzzer targets in fuzz/ (one per parser) and runs them",
                "about a minute on a 2-core machine",
            );
            sh(env.cmd("cargo").args(["install", "cargo-fuzz", "--version", CARGO_FUZZ_VERSION, "--locked"]))?;
        }
    }
    Ok(())
}

/// Checks and installs everything `purpose` needs; returns the environment to use.
pub fn tools(purpose: Purpose) -> Result<Env> {
    let env = env()?;

    step("Checking the toolchain (installing only what is missing)");
    let mut apt_updated = false;

    // Rust target and components.
    let targets = output_of_all(&env, "rustup", &["target", "list", "--installed"])
        .ok_or("rustup is not on PATH: wirelab builds with a rustup-managed Rust toolchain")?;
    if targets.lines().any(|l| l.trim() == "wasm32-unknown-unknown") {
        ok("wasm32-unknown-unknown target");
    } else {
        install(
            "the wasm32-unknown-unknown target",
            "the app and the protocol crates compile to WebAssembly",
            "seconds",
        );
        sh(env.cmd("rustup").args(["target", "add", "wasm32-unknown-unknown"]))?;
    }
    if purpose == Purpose::Test {
        if output_of(&env, "cargo", &["fmt", "--version"]).is_some()
            && output_of(&env, "cargo", &["clippy", "--version"]).is_some()
        {
            ok("rustfmt and clippy");
        } else {
            install("rustfmt and clippy", "the test command checks formatting and lints", "a minute");
            sh(env.cmd("rustup").args(["component", "add", "rustfmt", "clippy"]))?;
        }
    }

    // Node and npm: wasm-opt and (for tests) playwright-core come from the npm registry.
    if output_of(&env, "npm", &["--version"]).is_none() || output_of(&env, "node", &["--version"]).is_none() {
        install(
            "Node.js and npm (Debian)",
            "wasm-opt and the end-to-end test driver come from the npm registry",
            "a minute",
        );
        apt_install(&mut apt_updated, &["nodejs", "npm"])?;
    }
    let wasm_opt = output_of(&env, "wasm-opt", &["--version"]);
    let playwright = Path::new("node_modules/playwright-core/package.json").exists();
    if wasm_opt.as_deref().is_some_and(|v| v.contains(WASM_OPT_VERSION)) && playwright {
        ok(&format!("wasm-opt ({WASM_OPT_VERSION}) and playwright-core in node_modules"));
    } else {
        install(
            "wasm-opt (npm binaryen) and playwright-core (npm ci)",
            "wasm-opt shrinks the app (Debian's binaryen cannot parse today's Rust output); playwright-core drives Chromium in the e2e test",
            "under a minute",
        );
        sh(env.cmd("npm").args(["ci", "--no-audit", "--no-fund"]))?;
    }

    // Trunk, at the version our rustc can build.
    match output_of(&env, "trunk", &["--version"]) {
        Some(v) if v == format!("trunk {TRUNK_VERSION}") => ok(&v),
        found => {
            install(
                &format!("trunk {TRUNK_VERSION}{}", found.map(|f| format!(" (found {f})")).unwrap_or_default()),
                "Trunk builds the Yew app (0.22 needs a newer rustc)",
                "about 8 minutes on a cold 2-core machine",
            );
            sh(env.cmd("cargo").args(["install", "trunk", "--version", TRUNK_VERSION, "--locked"]))?;
        }
    }

    // wasm-bindgen CLI, exactly the library's version.
    let wb = locked_version("wasm-bindgen")?;
    let want = format!("wasm-bindgen {wb}");
    let have_cli = output_of(&env, "wasm-bindgen", &["--version"]);
    let have_runner = output_of(&env, "wasm-bindgen-test-runner", &["--version"]);
    if have_cli.as_deref() == Some(want.as_str()) && have_runner.is_some_and(|v| v.ends_with(&wb)) {
        ok(&want);
    } else {
        install(
            &format!("wasm-bindgen-cli {wb}{}", have_cli.map(|f| format!(" (found {f})")).unwrap_or_default()),
            "it must equal the wasm-bindgen library in Cargo.lock; it also brings wasm-bindgen-test-runner",
            "about 5 minutes on a cold 2-core machine",
        );
        // Not --locked: its lock file names a webpki-roots version the registry does not serve.
        sh(env.cmd("cargo").args(["install", "wasm-bindgen-cli", "--version", &wb]))?;
    }

    if purpose == Purpose::Test {
        let chromium = output_of(&env, "chromium", &["--version"]);
        let driver = output_of(&env, "chromedriver", &["--version"]);
        match (chromium, driver) {
            (Some(c), Some(d)) => ok(&format!("{c}; {d}")),
            _ => {
                install(
                    "Chromium and ChromeDriver (Debian)",
                    "the Wasm tests and the end-to-end test run in headless Chromium",
                    "a few minutes",
                );
                apt_install(&mut apt_updated, &["chromium", "chromium-driver"])?;
            }
        }
        match output_of(&env, "tshark", &["--version"]) {
            Some(v) => ok(&v),
            None => {
                install("tshark (Debian)", "the pcap export is checked against Wireshark's own dissectors", "a minute");
                apt_install(&mut apt_updated, &["tshark"])?;
            }
        }
        match (output_of(&env, "curl", &["--version"]), output_of(&env, "python3", &["--version"])) {
            (Some(c), Some(p)) => ok(&format!("{c}; {p}")),
            _ => {
                install(
                    "curl and Python 3 (Debian)",
                    "the protocol servers are tested against clients nobody here wrote",
                    "a minute",
                );
                apt_install(&mut apt_updated, &["curl", "python3"])?;
            }
        }
        python_packages(&env, &mut apt_updated)?;
        cargo_fuzz(&env)?;
    }
    Ok(env)
}

/// Where the Python interop clients live: a virtual environment of the project's own.
pub const PYENV: &str = "target/pyenv";
const PY_REQUIREMENTS: &str = "crates/xtask/python-requirements.txt";

/// Python packages from PyPI (`python-requirements.txt`, pinned) in [`PYENV`], which is
/// first on PATH, so the tests' `python3` is the one that has them. Reinstalled when the
/// requirements change.
fn python_packages(env: &Env, apt_updated: &mut bool) -> Result {
    let wanted = std::fs::read_to_string(PY_REQUIREMENTS).map_err(|e| format!("cannot read {PY_REQUIREMENTS}: {e}"))?;
    let stamp = PathBuf::from(PYENV).join("requirements.installed");
    if std::fs::read_to_string(&stamp).is_ok_and(|s| s == wanted) {
        ok(&format!("Python packages in {PYENV}"));
        return Ok(());
    }
    install(
        &format!("Python packages into {PYENV} (PyPI)"),
        "interop tests use Python's own websockets client",
        "a minute",
    );
    let python = PathBuf::from(PYENV).join("bin").join("python3");
    if !python.exists() && sh(Command::new("python3").args(["-m", "venv", PYENV])).is_err() {
        // Debian's python3 keeps venv in a package of its own.
        apt_install(apt_updated, &["python3-venv"])?;
        sh(Command::new("python3").args(["-m", "venv", PYENV]))?;
    }
    sh(env.cmd(&python.to_string_lossy()).args(["-m", "pip", "install", "-q", "-r", PY_REQUIREMENTS]))?;
    std::fs::write(&stamp, wanted).map_err(|e| format!("cannot write {}: {e}", stamp.display()))
}

/// Like `output_of`, but the whole output.
fn output_of_all(env: &Env, program: &str, args: &[&str]) -> Option<String> {
    let out = env.cmd(program).args(args).output().ok()?;
    out.status.success().then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

fn ok(what: &str) {
    println!("    ok: {what}");
}

fn install(what: &str, why: &str, how_long: &str) {
    println!("    installing {what}\n      why: {why}\n      takes: {how_long}");
}

/// For `cargo xtask bench`: postfix's `smtp-source` and `smtp-sink` (Debian's postfix
/// package), the load generator and the store-nothing baseline of the mail benchmark.
pub fn postfix_tools() -> Result {
    if Path::new("/usr/sbin/smtp-source").exists() && Path::new("/usr/sbin/smtp-sink").exists() {
        println!("    ok: smtp-source and smtp-sink (postfix)");
        return Ok(());
    }
    install("postfix (apt)", "smtp-source drives the mail benchmark, smtp-sink is its baseline", "a minute");
    apt_install(&mut false, &["postfix"])
}

fn apt_install(updated: &mut bool, packages: &[&str]) -> Result {
    let root =
        Command::new("id").arg("-u").output().ok().is_some_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
    let apt = |args: &[&str]| -> Command {
        let mut c = if root {
            Command::new("apt-get")
        } else {
            let mut c = Command::new("sudo");
            c.args(["-n", "apt-get"]);
            c
        };
        c.args(args).env("DEBIAN_FRONTEND", "noninteractive");
        c
    };
    if !*updated {
        sh(&mut apt(&["update", "-q"]))
            .map_err(|e| format!("{e}\n(apt needs root; install {} by hand if you are not)", packages.join(" ")))?;
        *updated = true;
    }
    let mut args = vec!["install", "-y", "-q", "--no-install-recommends"];
    args.extend_from_slice(packages);
    sh(&mut apt(&args))
}
