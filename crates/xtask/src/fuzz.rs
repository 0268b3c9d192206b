//! The fuzz step: every libFuzzer target of `fuzz/` (one per parser of the protocol
//! crates, see `fuzz/fuzz_targets/`) built with cargo-fuzz and run for a bounded time.
//!
//! cargo-fuzz passes `-Z` sanitizer and coverage flags that only nightly rustc takes; the
//! toolchain here is stable, so the build runs with `RUSTC_BOOTSTRAP=1`, which lets stable
//! rustc accept them. Each target starts from its committed seeds (`fuzz/corpus/<target>`,
//! read only) and writes what it finds to a scratch corpus under `fuzz/target/corpus/`,
//! so repeated runs build on each other without touching the repository. A crash fails
//! the step (so does an input that takes over 10 s), naming the input that caused it
//! (`fuzz/artifacts/<target>/crash-…`) and the command that replays it.

use crate::bootstrap::Env;
use crate::{Result, sh, step};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

/// How `cargo xtask test` runs each target: the same inputs every time, so that a test
/// run fails only for a change of code, never for the luck of the draw: a fresh scratch
/// corpus, libFuzzer's seed fixed, and a number of executions rather than a time
/// (about 1–10 s a target here). New ground is broken by `cargo xtask fuzz`, which runs
/// by time, builds on what earlier runs found and is as lucky as it gets.
pub const TEST_RUNS: Runs = Runs::Fixed { runs: 20_000, seed: 1 };

/// How long each target runs.
#[derive(Clone, Copy, Debug)]
pub enum Runs {
    /// This many executions from the committed seeds alone, libFuzzer seeded with `seed`.
    Fixed { runs: u64, seed: u64 },
    /// This many seconds, from the seeds and what earlier runs kept.
    Seconds(u64),
}
const FUZZ_DIR: &str = "fuzz";

/// The targets: the files of `fuzz/fuzz_targets`, sorted.
pub fn targets() -> Result<Vec<String>> {
    let dir = Path::new(FUZZ_DIR).join("fuzz_targets");
    let entries = std::fs::read_dir(&dir).map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
    let mut names: Vec<String> =
        entries.flatten().filter_map(|e| e.file_name().to_str()?.strip_suffix(".rs").map(str::to_string)).collect();
    names.sort();
    Ok(names)
}

/// cargo in `fuzz/`, allowed the nightly flags, with its own target directory.
fn cargo_fuzz(env: &Env) -> Command {
    let mut c = env.cmd("cargo");
    c.current_dir(FUZZ_DIR).env("RUSTC_BOOTSTRAP", "1").env_remove("CARGO_TARGET_DIR").arg("fuzz");
    c
}

/// Builds the targets, then runs each of `only` (all when `None`) for `seconds`; fails
/// after the last one if any crashed, listing each crash input.
pub fn run(env: &Env, only: Option<&str>, how: Runs) -> Result {
    let all = targets()?;
    let chosen: Vec<String> = match only {
        Some(t) if all.iter().any(|a| a == t) => vec![t.to_string()],
        Some(t) => return Err(format!("no fuzz target {t:?}; there are: {}", all.join(", "))),
        None => all,
    };
    step(&format!(
        "Fuzz: building {} libFuzzer target(s) (cargo fuzz build -O; RUSTC_BOOTSTRAP=1 lets stable rustc take its sanitizer flags)",
        chosen.len()
    ));
    let t = Instant::now();
    let mut build = cargo_fuzz(env);
    build.args(["build", "-O"]);
    if let Some(one) = only {
        build.arg(one);
    }
    sh(&mut build)?;
    println!("    built in {:.0?}", t.elapsed());

    let what = match how {
        Runs::Fixed { runs, seed } => format!("{runs} runs (seed {seed})"),
        Runs::Seconds(s) => format!("{s} s"),
    };
    step(&format!("Fuzz: each target {what} from its seeds in fuzz/corpus/ (logs in fuzz/target/logs/)"));
    let t = Instant::now();
    let mut crashes = Vec::new();
    for target in &chosen {
        if let Err(e) = run_one(env, target, how) {
            crashes.push(e);
        }
    }
    println!("    ran in {:.0?}", t.elapsed());
    if crashes.is_empty() { Ok(()) } else { Err(format!("fuzzing found crashes:\n{}", crashes.join("\n"))) }
}

fn run_one(env: &Env, target: &str, how: Runs) -> Result {
    let fuzz = Path::new(FUZZ_DIR);
    let scratch = Path::new("target/corpus").join(target);
    let logs = fuzz.join("target/logs");
    for dir in [&fuzz.join(&scratch), &logs] {
        std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    }
    let artifacts = fuzz.join("artifacts").join(target);
    let before = files(&artifacts);
    let limits = match how {
        Runs::Fixed { runs, seed } => {
            // From the committed seeds alone: last run's finds would change the inputs.
            let _ = std::fs::remove_dir_all(fuzz.join(&scratch));
            std::fs::create_dir_all(fuzz.join(&scratch))
                .map_err(|e| format!("cannot create the scratch corpus: {e}"))?;
            // The time bound only guards against a machine far slower than this one.
            vec![format!("-runs={runs}"), format!("-seed={seed}"), "-max_total_time=120".to_string()]
        }
        Runs::Seconds(s) => vec![format!("-max_total_time={s}")],
    };
    let log_path = logs.join(format!("{target}.log"));
    let log = std::fs::File::create(&log_path).map_err(|e| format!("cannot create {}: {e}", log_path.display()))?;
    let started = Instant::now();
    let status = cargo_fuzz(env)
        .args(["run", "-O", target])
        .arg(&scratch)
        .arg(Path::new("corpus").join(target))
        // An input that takes over 10 s is a hang: reported like a crash (`timeout-…`).
        .arg("--")
        .args(&limits)
        .args(["-timeout=10", "-print_final_stats=1"])
        .stdout(Stdio::null())
        .stderr(log)
        .status()
        .map_err(|e| format!("cannot run cargo fuzz: {e}"))?;
    let text = std::fs::read_to_string(&log_path).unwrap_or_default();
    let stat = |name: &str| {
        text.lines().find_map(|l| l.strip_prefix(&format!("stat::{name}:")).map(str::trim)).unwrap_or("?").to_string()
    };
    println!(
        "    {target:<14} {:>5.1} s  {:>9} runs  {:>5} edges covered  corpus {}",
        started.elapsed().as_secs_f64(),
        stat("number_of_executed_units"),
        cov(&text),
        files(&fuzz.join(&scratch)).len()
    );
    if status.success() {
        return Ok(());
    }
    let found: Vec<PathBuf> = files(&artifacts).into_iter().filter(|f| !before.contains(f)).collect();
    // The panic message (or libFuzzer's own error: a timeout, running out of memory),
    // without the backtrace; else the end of the log.
    let is_start = |l: &&str| l.contains("panicked at") || l.contains("ERROR: libFuzzer");
    let mut excerpt: Vec<&str> =
        text.lines().skip_while(|l| !is_start(l)).take_while(|l| !l.starts_with("stack backtrace")).take(12).collect();
    if excerpt.is_empty() {
        let lines: Vec<&str> = text.lines().filter(|l| !l.starts_with('#')).collect();
        excerpt = lines[lines.len().saturating_sub(20)..].to_vec();
    }
    println!("      {}", excerpt.join("\n      "));
    let inputs = if found.is_empty() {
        format!("no new input in {} (see {})", artifacts.display(), log_path.display())
    } else {
        found.iter().map(|f| f.display().to_string()).collect::<Vec<_>>().join(", ")
    };
    Err(format!(
        "  {target}: {status}; input: {inputs}\n    replay: cd fuzz && RUSTC_BOOTSTRAP=1 cargo fuzz run -O {target} <input>"
    ))
}

/// The coverage libFuzzer last reported (`cov: N` on its progress lines).
fn cov(log: &str) -> String {
    log.lines()
        .rev()
        .find_map(|l| l.split("cov: ").nth(1)?.split_whitespace().next().map(str::to_string))
        .unwrap_or_else(|| "?".into())
}

fn files(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir).map(|es| es.flatten().map(|e| e.path()).collect()).unwrap_or_default()
}
