//! Mail benchmark: messages per second our SMTP server (north.test) accepts *and stores
//! durably* (each 250 only after its SQLite commit, WAL with `synchronous=FULL`), against
//! postfix's `smtp-sink`, which answers 250 and stores nothing. Both are driven by
//! postfix's `smtp-source` (Debian's `postfix` package) in the same run, rounds
//! interleaved, medians compared. At the end a POP3 STAT counts what our store holds: every
//! message answered 250 must be there.
//!
//! ```text
//! mail-bench [--messages N] [--sessions S] [--size BYTES] [--rounds R] [--server-bin PATH]
//! ```
//!
//! `--server-bin` defaults to `wirelab` next to this binary (`cargo build --release -p
//! wirelab-server`). The server runs with `RUST_LOG=warn`: its per-message log line is not
//! what is measured.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const SOURCE: &str = "/usr/sbin/smtp-source";
const SINK: &str = "/usr/sbin/smtp-sink";
const USAGE: &str = "mail-bench [--messages N] [--sessions S] [--size BYTES] [--rounds R] [--server-bin PATH]";

type Result<T = ()> = std::result::Result<T, String>;

struct Options {
    messages: u32,
    sessions: u32,
    size: u32,
    rounds: u32,
    server_bin: PathBuf,
}

fn options() -> Result<Options> {
    let mut o = Options { messages: 2000, sessions: 10, size: 1000, rounds: 3, server_bin: next_to_me("wirelab")? };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{a} needs a value\n{USAGE}"));
        let number = |v: String| v.parse::<u32>().map_err(|_| format!("{a}: not a number: {v:?}\n{USAGE}"));
        match a.as_str() {
            "--messages" => o.messages = number(value()?)?,
            "--sessions" => o.sessions = number(value()?)?,
            "--size" => o.size = number(value()?)?,
            "--rounds" => o.rounds = number(value()?)?.max(1),
            "--server-bin" => o.server_bin = PathBuf::from(value()?),
            _ => return Err(format!("unknown option {a:?}\n{USAGE}")),
        }
    }
    Ok(o)
}

fn next_to_me(name: &str) -> Result<PathBuf> {
    let me = std::env::current_exe().map_err(|e| format!("where am I? {e}"))?;
    Ok(me.with_file_name(name))
}

/// A loopback port nobody listens on now.
fn free_port() -> Result<u16> {
    let l = TcpListener::bind("127.0.0.1:0").map_err(|e| format!("no free port: {e}"))?;
    l.local_addr().map(|a| a.port()).map_err(|e| e.to_string())
}

/// Kills the child when dropped, whatever happens.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn wait_for_port(port: u16) -> Result {
    for _ in 0..100 {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Err(format!("nothing listens on 127.0.0.1:{port} after 5 s"))
}

fn start_sink() -> Result<(Killed, u16)> {
    let port = free_port()?;
    let mut cmd = Command::new(SINK);
    // smtp-sink refuses to run as root without a user to become.
    if is_root() {
        cmd.args(["-u", "nobody"]);
    }
    let child = cmd
        .args([format!("127.0.0.1:{port}"), "1000".into()])
        .stdout(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start {SINK}: {e}"))?;
    let child = Killed(child);
    wait_for_port(port)?;
    Ok((child, port))
}

fn is_root() -> bool {
    Command::new("id").arg("-u").output().is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// `wirelab serve` on free ports with a fresh data directory: (child, SMTP port, POP3 port).
fn start_ours(bin: &Path, data: &Path) -> Result<(Killed, u16, u16)> {
    let (smtp, pop3) = (free_port()?, free_port()?);
    let child = Command::new(bin)
        .args(["serve", "--addr", "127.0.0.1:0", "--http-addr", "127.0.0.1:0", "--smtp-south-addr", "127.0.0.1:0"])
        .args(["--imap-addr", "127.0.0.1:0", "--smtp-north-addr", &format!("127.0.0.1:{smtp}")])
        .args(["--pop3-addr", &format!("127.0.0.1:{pop3}"), "--data-dir"])
        .arg(data)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| {
            format!("cannot start {}: {e} (build it: cargo build --release -p wirelab-server)", bin.display())
        })?;
    let mut child = Killed(child);
    let out = child.0.stdout.take().ok_or("no stdout")?;
    // The server says where it listens last, once everything is up.
    for line in BufReader::new(out).lines() {
        let line = line.map_err(|e| e.to_string())?;
        if line.contains("wirelab listening on") {
            return Ok((child, smtp, pop3));
        }
    }
    Err("the server stopped before it listened".into())
}

/// One smtp-source run; returns messages per second.
fn drive(o: &Options, port: u16) -> Result<f64> {
    let started = Instant::now();
    let out = Command::new(SOURCE)
        .args(["-s", &o.sessions.to_string(), "-m", &o.messages.to_string(), "-l", &o.size.to_string()])
        .args(["-f", "alice@north.test", "-t", "alice@north.test", &format!("127.0.0.1:{port}")])
        .output()
        .map_err(|e| format!("cannot run {SOURCE}: {e}"))?;
    let secs = started.elapsed().as_secs_f64();
    let complaints = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() || !complaints.trim().is_empty() {
        return Err(format!("smtp-source against port {port}: {} {complaints}", out.status));
    }
    Ok(f64::from(o.messages) / secs)
}

/// Messages in alice's maildrop, by POP3 STAT (RFC 1939 §5).
fn stored(pop3: u16) -> Result<u64> {
    let mut s = TcpStream::connect(("127.0.0.1", pop3)).map_err(|e| e.to_string())?;
    s.set_read_timeout(Some(Duration::from_secs(10))).map_err(|e| e.to_string())?;
    let read = |s: &mut TcpStream| -> Result<String> {
        let mut buf = [0u8; 512];
        let n = s.read(&mut buf).map_err(|e| e.to_string())?;
        Ok(String::from_utf8_lossy(&buf[..n]).into_owned())
    };
    read(&mut s)?;
    for cmd in ["USER alice@north.test\r\n", "PASS wirelab\r\n"] {
        s.write_all(cmd.as_bytes()).map_err(|e| e.to_string())?;
        read(&mut s)?;
    }
    s.write_all(b"STAT\r\n").map_err(|e| e.to_string())?;
    let stat = read(&mut s)?;
    let _ = s.write_all(b"QUIT\r\n");
    stat.split_whitespace().nth(1).and_then(|n| n.parse().ok()).ok_or_else(|| format!("odd STAT reply: {stat}"))
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    if let Err(e) = run() {
        eprintln!("mail-bench: {e}");
        std::process::exit(1);
    }
}

fn run() -> Result {
    let o = options()?;
    for tool in [SOURCE, SINK] {
        if !Path::new(tool).exists() {
            return Err(format!("{tool} is missing: install Debian's postfix package"));
        }
    }
    let data = std::env::temp_dir().join(format!("wirelab-mail-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&data);
    std::fs::create_dir_all(&data).map_err(|e| format!("cannot make {}: {e}", data.display()))?;
    let result = (|| {
        let (_sink, sink_port) = start_sink()?;
        let (_ours, smtp, pop3) = start_ours(&o.server_bin, &data)?;
        let before = stored(pop3)?;
        println!(
            "    smtp-source: {} sessions, {} messages of {} bytes per round, {} rounds",
            o.sessions, o.messages, o.size, o.rounds
        );
        let (mut sink, mut ours) = (Vec::new(), Vec::new());
        for round in 1..=o.rounds {
            let s = drive(&o, sink_port)?;
            let w = drive(&o, smtp)?;
            println!("    round {round}: smtp-sink {s:>8.0} msgs/s   wirelab (stored) {w:>8.0} msgs/s");
            sink.push(s);
            ours.push(w);
        }
        let after = stored(pop3)?;
        let expected = u64::from(o.messages) * u64::from(o.rounds);
        let (s, w) = (median(sink), median(ours));
        println!("    median: smtp-sink {s:.0} msgs/s, wirelab {w:.0} msgs/s: {:.2}× (goal ≥ 0.3×)", w / s);
        println!("    stored and found by POP3 STAT: {} of {expected} answered 250", after - before);
        if after - before != expected {
            return Err(format!("{} messages answered 250 are not in the store", expected - (after - before)));
        }
        let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
        println!("    load average meanwhile: {}", load.split_whitespace().take(3).collect::<Vec<_>>().join(" "));
        Ok(())
    })();
    let _ = std::fs::remove_dir_all(&data);
    result
}
