//! `ws-bench`: our WebSocket backend against tokio-tungstenite, each baseline run in the
//! same process and the same run, figures and ratios printed (no assertions):
//!
//! 1. echo messages/s with 100 concurrent clients: our `/ws` against a bare
//!    tokio-tungstenite echo server;
//! 2. decoding masked client frames, MB/s: `wirelab-ws` against tungstenite;
//! 3. resident memory of the server with 10 000 idle WebSockets: `wirelab serve` as a
//!    child process (and the tokio-tungstenite server, the same way, for comparison).
//!
//! tokio-tungstenite runs as it comes (default configuration) and with a 16 KiB read
//! buffer, our server's read size, as its default 128 KiB buffer costs it both time (it
//! is zero-filled before every read) and memory.
//!
//! `cargo xtask bench` builds the server and runs this after the TCP benchmark. By hand:
//!
//! ```text
//! cargo build --release -p wirelab-server -p wirelab-bench --bin wirelab --bin ws-bench
//! target/release/ws-bench [--only echo|decode|idle] [--rounds R] [--secs S] [--clients N]
//!     [--message-bytes B] [--server-threads T] [--client-threads T] [--conns N]
//!     [--server-bin PATH]
//! ```
//!
//! `--server-bin` defaults to `wirelab` next to this binary. `--serve-baseline [--tuned]`
//! (used by the idle benchmark on itself) runs the tokio-tungstenite echo server (with a
//! 16 KiB read buffer if tuned) and prints its address.

#[cfg(not(target_arch = "wasm32"))]
fn main() -> std::process::ExitCode {
    match native::main() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ws-bench: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// The benchmark needs sockets and processes: there is nothing to run in a browser.
#[cfg(target_arch = "wasm32")]
fn main() {}

#[cfg(not(target_arch = "wasm32"))]
mod native {
    use std::path::PathBuf;
    use std::process::Command;
    use std::time::{Duration, Instant};
    use wirelab_bench::ws::{CpuMeter, decode, echo, idle, load_average};

    const USAGE: &str = "usage: ws-bench [--only echo|decode|idle] [--rounds R] [--secs S] [--clients N] \
        [--message-bytes B] [--server-threads T] [--client-threads T] [--conns N] [--server-bin PATH]";

    struct Args(Vec<String>);

    impl Args {
        fn value(&self, name: &str) -> Option<&str> {
            let i = self.0.iter().position(|a| a == name)?;
            self.0.get(i + 1).map(String::as_str)
        }

        fn number<T: std::str::FromStr>(&self, name: &str, default: T) -> Result<T, String> {
            match self.value(name) {
                None if self.0.iter().any(|a| a == name) => Err(format!("{name} needs a value; {USAGE}")),
                None => Ok(default),
                Some(v) => v.parse().map_err(|_| format!("{name}: not a number: {v:?}; {USAGE}")),
            }
        }
    }

    const WITH_VALUE: &[&str] = &[
        "--only",
        "--rounds",
        "--secs",
        "--clients",
        "--message-bytes",
        "--server-threads",
        "--client-threads",
        "--conns",
        "--server-bin",
    ];

    pub fn main() -> Result<(), String> {
        let args = Args(std::env::args().skip(1).collect());
        if args.0.iter().any(|a| a == "--serve-baseline") {
            return serve_baseline(args.0.iter().any(|a| a == "--tuned"));
        }
        let mut it = args.0.iter();
        while let Some(a) = it.next() {
            if WITH_VALUE.contains(&a.as_str()) {
                it.next();
            } else {
                return Err(format!("unknown argument {a:?}; {USAGE}"));
            }
        }
        let only = args.value("--only");
        if let Some(o) = only {
            if !matches!(o, "echo" | "decode" | "idle") {
                return Err(format!("--only takes echo, decode or idle; {USAGE}"));
            }
        }
        let wants = |part: &str| only.is_none_or(|o| o == part);
        let rounds: usize = args.number("--rounds", 5)?;
        let spec = echo::EchoSpec {
            clients: args.number("--clients", 100)?,
            message_len: args.number("--message-bytes", 32)?,
            window: Duration::from_secs_f64(args.number("--secs", 2.0)?),
            rounds,
            server_threads: args.number("--server-threads", 1)?,
            client_threads: args.number("--client-threads", 1)?,
            ..echo::EchoSpec::default()
        };
        let conns: usize = args.number("--conns", 10_000)?;

        let limit = wirelab_server::raise_open_files_limit();
        let cpus = std::thread::available_parallelism().map_or(0, usize::from);
        println!(
            "ws-bench: {cpus} CPUs, load average {} at start; open-files limit {}",
            load_average().unwrap_or_else(|| "unknown".into()),
            limit.map_or("unknown".into(), |l| l.to_string())
        );
        println!("(release profile of the workspace: opt-level \"s\", LTO, one codegen unit, for every crate alike)");
        let started = Instant::now();

        if wants("echo") {
            let t = Instant::now();
            let cpu = CpuMeter::start();
            let rows = echo::measure(spec)?;
            println!();
            print!("{}", echo::report(&spec, &rows));
            footer(t, cpu);
        }
        if wants("decode") {
            let t = Instant::now();
            let cpu = CpuMeter::start();
            // Many short samples: a median that a burst of load elsewhere hardly moves.
            let samples = 2 * rounds + 1;
            let levels = decode::measure(samples, Duration::from_millis(80))?;
            println!();
            print!("{}", decode::report(samples, &levels));
            footer(t, cpu);
        }
        if wants("idle") {
            let t = Instant::now();
            let cpu = CpuMeter::start();
            let rows = idle_rows(&args, conns)?;
            println!();
            print!("{}", idle::report(&rows));
            footer(t, cpu);
        }
        println!("\nws-bench: done in {:.0} s", started.elapsed().as_secs_f64());
        Ok(())
    }

    /// How long a part took and how busy the machine was meanwhile.
    fn footer(t: Instant, cpu: Option<CpuMeter>) {
        println!(
            "      ({:.0} s; {}; load average now {})",
            t.elapsed().as_secs_f64(),
            cpu.map_or("CPU use of other processes unknown".into(), |c| c.describe()),
            load_average().unwrap_or_else(|| "unknown".into())
        );
    }

    fn idle_rows(args: &Args, conns: usize) -> Result<Vec<idle::IdleRow>, String> {
        if !cfg!(target_os = "linux") {
            return Err("the idle benchmark reads /proc: Linux only (skip it with --only)".into());
        }
        // This process holds the client side of every connection.
        if let Some(limit) = wirelab_server::raise_open_files_limit() {
            if limit < conns as u64 + 64 {
                return Err(format!(
                    "{conns} connections need as many file descriptors, the hard limit allows {limit}: \
                     raise it (ulimit -Hn) or pass a smaller --conns"
                ));
            }
        }
        let me = std::env::current_exe().map_err(|e| format!("cannot find this binary: {e}"))?;
        let server_bin = match args.value("--server-bin") {
            Some(p) => PathBuf::from(p),
            None => me.with_file_name("wirelab"),
        };
        if !server_bin.exists() {
            return Err(format!(
                "no server binary at {}: build it (cargo build --release -p wirelab-server) or give --server-bin",
                server_bin.display()
            ));
        }
        let mut ours = Command::new(&server_bin);
        ours.args([
            "serve",
            "--addr",
            "127.0.0.1:0",
            "--http-addr",
            "127.0.0.1:0",
            "--smtp-north-addr",
            "127.0.0.1:0",
            "--smtp-south-addr",
            "127.0.0.1:0",
            "--pop3-addr",
            "127.0.0.1:0",
            "--imap-addr",
            "127.0.0.1:0",
            "--in-memory",
        ]);
        let mut baseline = Command::new(&me);
        baseline.arg("--serve-baseline");
        let mut tuned = Command::new(&me);
        tuned.args(["--serve-baseline", "--tuned"]);
        Ok(vec![
            idle::measure("wirelab serve (/ws)", ours, "/ws", conns)?,
            idle::measure("tokio-tungstenite echo", baseline, "/", conns)?,
            idle::measure("tokio-tungstenite echo 16K", tuned, "/", conns)?,
        ])
    }

    /// The baseline server as a process of its own, built as `wirelab serve` is: a
    /// multi-threaded runtime with a worker per CPU, the open-files limit raised.
    /// `tuned`: a 16 KiB read buffer instead of tungstenite's default 128 KiB.
    fn serve_baseline(tuned: bool) -> Result<(), String> {
        wirelab_server::raise_open_files_limit();
        let rt = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .map_err(|e| format!("cannot build the runtime: {e}"))?;
        rt.block_on(async {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.map_err(|e| format!("bind: {e}"))?;
            let addr = listener.local_addr().map_err(|e| e.to_string())?;
            println!("tokio-tungstenite echo listening on http://{addr}");
            let (_stop, rx) = tokio::sync::watch::channel(false);
            let config = tuned.then(wirelab_bench::ws::tuned_config);
            wirelab_bench::ws::tungstenite_echo_server(listener, config, rx).await;
            Ok(())
        })
    }
}
