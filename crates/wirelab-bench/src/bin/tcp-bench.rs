//! `tcp-bench`: 10 MB through our TCP and through smoltcp over the same simulated link
//! (10 ms, 100 Mbit/s, 1% loss), timed in this one process, with the ratio printed.
//! `cargo xtask bench` runs it, then the same in headless Chromium as Wasm.
//!
//! `cargo run --release -p wirelab-bench --bin tcp-bench -- [--mb N] [--loss PERCENT] [--runs R]`

use std::time::Instant;
use wirelab_bench::{LinkSpec, Stack, measure, report};

fn arg<T: std::str::FromStr>(args: &[String], name: &str, default: T) -> Result<T, String> {
    match args.iter().position(|a| a == name) {
        None => Ok(default),
        Some(i) => args
            .get(i + 1)
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| format!("{name} needs a number; usage: tcp-bench [--mb N] [--loss PERCENT] [--runs R]")),
    }
}

fn main() -> Result<(), String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let Some(a) = args.iter().find(|a| !matches!(a.as_str(), "--mb" | "--loss" | "--runs") && a.starts_with('-')) {
        return Err(format!("unknown option {a}; usage: tcp-bench [--mb N] [--loss PERCENT] [--runs R]"));
    }
    let mb: usize = arg(&args, "--mb", 10)?;
    let loss: f64 = arg(&args, "--loss", 1.0)? / 100.0;
    let runs: usize = arg(&args, "--runs", 7)?.max(1);
    let link = LinkSpec { loss, ..LinkSpec::default() };
    let start = Instant::now();
    let clock = move || start.elapsed().as_secs_f64() * 1e3;
    let rows = measure(&[Stack::Smoltcp, Stack::Ours], mb * 1_000_000, link, runs, &clock)?;
    print!("{}", report("native", link, runs, &rows));
    Ok(())
}
