//! `wirelab`: the whole deployment in one binary. `wirelab serve` serves the embedded app
//! and its WebSocket endpoints; `wirelab scenarios` and `wirelab export` give course
//! authors the simulator from the command line.

use clap::{Parser, Subcommand, ValueEnum};
use std::io::{IsTerminal, Write};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;
use wirelab_core::export;
use wirelab_scenarios::CATALOGUE;

#[derive(Parser, Debug)]
#[command(name = "wirelab", version, about = "A network-protocol playground: the server and its tools")]
#[command(args_conflicts_with_subcommands = true)]
struct Cli {
    #[command(subcommand)]
    command: Option<Cmd>,
    /// With no subcommand, `wirelab` serves: these are `serve`'s options.
    #[command(flatten)]
    serve: ServeArgs,
}

// `serve`'s options are the large variant; the command line is parsed once.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand, Debug)]
enum Cmd {
    /// Serve the app, /ws and /healthz (the default when no subcommand is given).
    Serve(ServeArgs),
    /// List the scenarios: id, topic, title.
    Scenarios,
    /// Run a scenario in the simulator and write its trace.
    Export(ExportArgs),
    /// Client-server against peer-to-peer: total download time for N = 2 … 64, from runs.
    Models {
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Also write the plot as SVG to this file.
        #[arg(long)]
        svg: Option<PathBuf>,
    },
}

#[derive(clap::Args, Debug)]
struct ServeArgs {
    /// Address to listen on (port 0 picks a free port; the address is printed).
    #[arg(long, env = "WIRELAB_ADDR", default_value = "127.0.0.1:8080")]
    addr: SocketAddr,
    /// The teaching HTTP/1.1 server (our own HTTP machine; curl it, or reach it from the
    /// browser through /bridge/http). Port 0 picks a free port.
    #[arg(long, env = "WIRELAB_HTTP_ADDR", default_value = "127.0.0.1:8081")]
    http_addr: SocketAddr,
    /// A web page origin (`https://course.example`) allowed to open the WebSockets
    /// besides the app's own; repeat, or comma-separate in the variable. Pages of other
    /// origins get 403 (RFC 6455 §10.2).
    #[arg(long = "allow-origin", env = "WIRELAB_ALLOW_ORIGINS", value_delimiter = ',')]
    allow_origins: Vec<String>,
    /// The SMTP server for north.test (our SMTP machine; `curl smtp://…`, Python's
    /// smtplib). Port 0 picks a free port.
    #[arg(long, env = "WIRELAB_SMTP_NORTH_ADDR", default_value = "127.0.0.1:2525")]
    smtp_north_addr: SocketAddr,
    /// The SMTP server for south.test.
    #[arg(long, env = "WIRELAB_SMTP_SOUTH_ADDR", default_value = "127.0.0.1:2526")]
    smtp_south_addr: SocketAddr,
    /// The POP3 server (our POP3 machine; Python's poplib, `curl pop3://`).
    #[arg(long, env = "WIRELAB_POP3_ADDR", default_value = "127.0.0.1:1110")]
    pop3_addr: SocketAddr,
    /// The IMAP server (our IMAP machine; Python's imaplib, `curl imap://`).
    #[arg(long, env = "WIRELAB_IMAP_ADDR", default_value = "127.0.0.1:1143")]
    imap_addr: SocketAddr,
    /// Where the mail store lives (SQLite, `mail.sqlite3`); created if missing.
    #[arg(long, env = "WIRELAB_DATA_DIR", default_value = "wirelab-data")]
    data_dir: PathBuf,
    /// Keep mail in memory only: everything is gone when the server stops.
    #[arg(long, env = "WIRELAB_IN_MEMORY")]
    in_memory: bool,
    /// Where the relay hands a domain's mail, `south.test=127.0.0.1:2600`, instead of that
    /// domain's own SMTP listener; repeat, or comma-separate in the variable.
    #[arg(long = "relay-route", env = "WIRELAB_RELAY_ROUTES", value_delimiter = ',', value_parser = parse_route)]
    relay_routes: Vec<(String, SocketAddr)>,
    /// The relay's first wait after a temporary failure, in milliseconds; it doubles
    /// after each further one (up to 30 minutes; given up after 10 attempts).
    #[arg(long, env = "WIRELAB_RELAY_RETRY_MS", default_value_t = 30_000)]
    relay_retry_ms: u64,
    /// The largest message the SMTP servers take, in octets (announced with SIZE; 552).
    #[arg(long, env = "WIRELAB_SMTP_MAX_SIZE", default_value_t = 10 * 1024 * 1024)]
    smtp_max_size: u64,
    /// Recipients per message (the next RCPT gets 452).
    #[arg(long, env = "WIRELAB_SMTP_MAX_RECIPIENTS", default_value_t = 100)]
    smtp_max_recipients: usize,
    /// Connections open at once from one address, per mail server (421 / -ERR / * BYE).
    #[arg(long, env = "WIRELAB_MAIL_CONNECTIONS_PER_IP", default_value_t = 20)]
    mail_connections_per_ip: usize,
    /// SMTP: seconds without a command before 421 (RFC 5321 §4.5.3.2.7).
    #[arg(long, env = "WIRELAB_SMTP_IDLE_SECS", default_value_t = 300)]
    smtp_idle_secs: u64,
    /// POP3: seconds without a command before the autologout (RFC 1939 §3).
    #[arg(long, env = "WIRELAB_POP3_IDLE_SECS", default_value_t = 600)]
    pop3_idle_secs: u64,
    /// IMAP: seconds without a command before `* BYE` (RFC 9051 §5.4).
    #[arg(long, env = "WIRELAB_IMAP_IDLE_SECS", default_value_t = 1800)]
    imap_idle_secs: u64,
    /// Browser sessions' mailboxes (`POST /mail/session`) are removed after this many
    /// seconds without use.
    #[arg(long, env = "WIRELAB_MAIL_SESSION_IDLE_SECS", default_value_t = 24 * 60 * 60)]
    mail_session_idle_secs: u64,
    /// Browser sessions per client address (429 beyond).
    #[arg(long, env = "WIRELAB_MAIL_SESSIONS_PER_IP", default_value_t = 5)]
    mail_sessions_per_ip: u64,
    /// Browser sessions in all (503 beyond).
    #[arg(long, env = "WIRELAB_MAIL_SESSIONS_TOTAL", default_value_t = 1000)]
    mail_sessions_total: u64,
    /// Octets each browser session's mailbox holds (552 beyond).
    #[arg(long, env = "WIRELAB_MAIL_SESSION_QUOTA", default_value_t = 1024 * 1024)]
    mail_session_quota: u64,
}

fn parse_route(s: &str) -> Result<(String, SocketAddr), String> {
    let (domain, addr) = s.split_once('=').ok_or_else(|| format!("{s}: expected DOMAIN=HOST:PORT"))?;
    let addr = addr.parse().map_err(|e| format!("{addr}: {e}"))?;
    Ok((domain.trim().to_ascii_lowercase(), addr))
}

/// The demo accounts every store starts with (README: "Mail").
const DEMO_ACCOUNTS: [&str; 2] = ["alice@north.test", "bob@south.test"];
const DEMO_PASSWORD: &str = "wirelab";

fn open_store(args: &ServeArgs) -> Result<wirelab_server::mailstore::MailStore, String> {
    use wirelab_server::mailstore::MailStore;
    let mut store = if args.in_memory { MailStore::in_memory() } else { MailStore::open(&args.data_dir) }
        .map_err(|e| format!("cannot open the mail store in {}: {e}", args.data_dir.display()))?;
    for a in DEMO_ACCOUNTS {
        store.ensure_account(a, DEMO_PASSWORD).map_err(|e| e.to_string())?;
    }
    Ok(store)
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum Format {
    /// The whole trace as JSON: every event, frame bytes and field annotations.
    Json,
    /// A plain-text ladder diagram.
    Ascii,
    /// A capture (libpcap, Ethernet + IPv4/IPv6 + TCP/UDP) for Wireshark or tshark.
    Pcap,
    /// A Mermaid `sequenceDiagram`, for Markdown pages and slides.
    Mermaid,
}

#[derive(clap::Args, Debug)]
struct ExportArgs {
    /// Scenario id, as `wirelab scenarios` lists them.
    scenario: String,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Probability that the link loses a frame, 0 to 1 (default: the scenario's own).
    #[arg(long)]
    loss: Option<f64>,
    #[arg(long, value_enum, default_value_t = Format::Json)]
    format: Format,
    /// Where to write; standard output when absent.
    #[arg(long)]
    out: Option<PathBuf>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command.unwrap_or(Cmd::Serve(cli.serve)) {
        Cmd::Serve(args) => serve(args),
        Cmd::Scenarios => {
            for s in CATALOGUE {
                println!("{:<20} {:<32} {}", s.id, s.topic.to_string(), s.title);
            }
            ExitCode::SUCCESS
        }
        Cmd::Models { seed, svg } => match wirelab_scenarios::models::comparison(&[2, 4, 8, 16, 32, 64], seed) {
            Ok(rows) => {
                print!("{}", wirelab_scenarios::models::table(&rows));
                if let Some(path) = svg {
                    if let Err(e) = std::fs::write(&path, wirelab_scenarios::models::plot_svg(&rows)) {
                        eprintln!("wirelab models: cannot write {}: {e}", path.display());
                        return ExitCode::FAILURE;
                    }
                    eprintln!("wrote {}", path.display());
                }
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("wirelab models: {e}");
                ExitCode::FAILURE
            }
        },
        Cmd::Export(args) => match export(&args) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("wirelab export: {e}");
                ExitCode::FAILURE
            }
        },
    }
}

fn export(args: &ExportArgs) -> Result<(), String> {
    let mut params = wirelab_scenarios::defaults(&args.scenario);
    params.seed = args.seed;
    if let Some(loss) = args.loss {
        if !(0.0..=1.0).contains(&loss) {
            return Err(format!("--loss must be between 0 and 1, got {loss}"));
        }
        params.link.loss = loss;
    }
    let trace = wirelab_scenarios::run(&args.scenario, &params).map_err(|e| e.to_string())?;
    let bytes = match args.format {
        Format::Json => serde_json::to_string_pretty(&trace).map_err(|e| e.to_string())?.into_bytes(),
        Format::Ascii => trace.ascii_ladder().into_bytes(),
        Format::Mermaid => export::mermaid(&trace).into_bytes(),
        Format::Pcap => {
            let p = export::pcap(&trace);
            if p.left_out > 0 {
                eprintln!("wirelab export: {} frames are not TCP or UDP and are not in the capture", p.left_out);
            }
            if args.out.is_none() && std::io::stdout().is_terminal() {
                return Err("a pcap is binary: give --out FILE, or redirect standard output".to_string());
            }
            p.bytes
        }
    };
    match &args.out {
        Some(path) => std::fs::write(path, bytes).map_err(|e| format!("cannot write {}: {e}", path.display())),
        None => std::io::stdout().write_all(&bytes).map_err(|e| format!("cannot write to standard output: {e}")),
    }
}

fn serve(args: ServeArgs) -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info,tower_http=warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    // One file descriptor per connection: take all the hard limit allows.
    if let Some(limit) = wirelab_server::raise_open_files_limit() {
        tracing::debug!(limit, "open-files limit");
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("wirelab: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        let app = wirelab_server::bind(args.addr).await?;
        let http = wirelab_server::bind(args.http_addr).await?;
        let store = open_store(&args).map_err(std::io::Error::other)?;
        let north = wirelab_server::bind(args.smtp_north_addr).await?;
        let south = wirelab_server::bind(args.smtp_south_addr).await?;
        let pop3 = wirelab_server::bind(args.pop3_addr).await?;
        println!("wirelab smtp north.test on {}, south.test on {}", north.local_addr()?, south.local_addr()?);
        let imap = wirelab_server::bind(args.imap_addr).await?;
        println!("wirelab pop3 on {}, imap on {}", pop3.local_addr()?, imap.local_addr()?);
        println!("wirelab http server on http://{}", http.local_addr()?);
        // The xtask and the e2e test read this line to learn the port: print it last.
        println!("wirelab listening on http://{}", app.local_addr()?);
        let mut mail = wirelab_server::Mail::new(
            std::sync::Arc::new(std::sync::Mutex::new(store)),
            vec![("north.test".to_string(), north), ("south.test".to_string(), south)],
        );
        mail.pop3 = Some(pop3);
        mail.imap = Some(imap);
        mail.routes = args.relay_routes.iter().cloned().collect();
        mail.relay.retry_base = Duration::from_millis(args.relay_retry_ms);
        mail.limits = wirelab_server::MailLimits {
            smtp_max_message_size: args.smtp_max_size,
            smtp_max_recipients: args.smtp_max_recipients,
            connections_per_ip: args.mail_connections_per_ip,
            smtp_idle: Duration::from_secs(args.smtp_idle_secs),
            pop3_idle: Duration::from_secs(args.pop3_idle_secs),
            imap_idle: Duration::from_secs(args.imap_idle_secs),
            ..Default::default()
        };
        mail.sessions = wirelab_server::mailsession::SessionConfig {
            per_ip: args.mail_sessions_per_ip,
            total: args.mail_sessions_total,
            quota: args.mail_session_quota,
            idle_expiry: Duration::from_secs(args.mail_session_idle_secs),
        };
        let listeners = wirelab_server::Listeners { app, http: Some(http) };
        let config = wirelab_server::ServeConfig {
            origins: wirelab_server::origin::Origins::new(args.allow_origins),
            mail: Some(mail),
            ..Default::default()
        };
        wirelab_server::serve_with(listeners, config, wirelab_server::shutdown_signal()).await
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("wirelab: {e}");
            ExitCode::FAILURE
        }
    }
}
