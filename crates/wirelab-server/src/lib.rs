//! The wirelab backend: serves the app embedded in this binary, `/healthz`, `/ws` (a
//! WebSocket echo spoken by our own RFC 6455 machine, with a wire tap at `/ws/tap/{id}`),
//! WebRTC signalling rooms (`/signal`), the WebSocket-to-TCP bridge to its own protocol
//! servers (`/bridge/{service}`), and the teaching HTTP/1.1 server on a port of its own;
//! with [`Mail`], the SMTP servers of our mail domains with the relay between them, POP3
//! and IMAP over one SQLite store, and `POST /mail/session` for mailboxes per browser.

pub mod bridge;
pub mod drive;
pub mod front;
pub mod ftpctl;
pub mod httpd;
pub mod imapd;
pub mod mailsession;
pub mod mailstore;
pub mod origin;
pub mod pop3d;
pub mod relay;
pub mod signal;
pub mod smtpd;
pub mod wstap;

use axum::Router;
use axum::extract::FromRef;
use axum::http::{StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use rust_embed::RustEmbed;
use std::collections::BTreeMap;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch};

pub use wstap::MAX_WS_MESSAGE;

/// The app Trunk built into `dist/`, embedded at compile time.
#[derive(RustEmbed)]
#[folder = "$CARGO_MANIFEST_DIR/../../dist"]
struct Dist;

/// How long shutdown waits for open sessions to finish their closing handshakes.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// When the server stops, and who is still busy: every long-lived session holds `alive`
/// and watches `stop`.
#[derive(Clone, Debug)]
pub struct Lifecycle {
    pub stop: watch::Receiver<bool>,
    pub alive: mpsc::Sender<()>,
}

/// What the routes share.
#[derive(Clone, Debug)]
pub struct AppState {
    pub bridge: bridge::Bridge,
    pub taps: wstap::Taps,
    pub signalling: signal::Signalling,
    pub origins: origin::Origins,
    pub life: Lifecycle,
    /// `POST /mail/session`, when the mail servers run.
    pub mail_sessions: Option<mailsession::Sessions>,
}

impl FromRef<AppState> for Option<mailsession::Sessions> {
    fn from_ref(s: &AppState) -> Self {
        s.mail_sessions.clone()
    }
}

/// `n` random octets from the operating system's CSPRNG, in hexadecimal.
pub fn random_hex(n: usize) -> Result<String, getrandom::Error> {
    let mut b = vec![0u8; n];
    getrandom::fill(&mut b)?;
    Ok(b.iter().map(|x| format!("{x:02x}")).collect())
}

impl FromRef<AppState> for origin::Origins {
    fn from_ref(s: &AppState) -> Self {
        s.origins.clone()
    }
}

impl FromRef<AppState> for bridge::Bridge {
    fn from_ref(s: &AppState) -> Self {
        s.bridge.clone()
    }
}

impl FromRef<AppState> for wstap::Taps {
    fn from_ref(s: &AppState) -> Self {
        s.taps.clone()
    }
}

impl FromRef<AppState> for signal::Signalling {
    fn from_ref(s: &AppState) -> Self {
        s.signalling.clone()
    }
}

impl FromRef<AppState> for Lifecycle {
    fn from_ref(s: &AppState) -> Self {
        s.life.clone()
    }
}

/// All HTTP routes (`/ws` itself is taken by the front door before axum sees it).
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/ws/tap/{id}", get(wstap::feed))
        .route("/signal", get(signal::upgrade))
        .route("/signal/rooms", post(signal::create_room))
        .route("/bridge", get(bridge::list))
        .route("/bridge/{service}", get(bridge::upgrade))
        .route("/bridge/{service}/data", get(bridge::data))
        .route("/mail/session", post(mailsession::create))
        .fallback(static_file)
        .with_state(state)
}

/// Binds `addr` (port 0 picks a free port), with an error that names the address.
pub async fn bind(addr: SocketAddr) -> std::io::Result<TcpListener> {
    TcpListener::bind(addr).await.map_err(|e| std::io::Error::new(e.kind(), format!("cannot listen on {addr}: {e}")))
}

/// The sockets the server listens on.
#[derive(Debug)]
pub struct Listeners {
    /// The app, its routes and WebSockets.
    pub app: TcpListener,
    /// The teaching HTTP/1.1 server (also reachable through the bridge as `http`).
    pub http: Option<TcpListener>,
}

/// The mail servers and the store they share.
#[derive(Debug)]
pub struct Mail {
    pub store: smtpd::SharedStore,
    /// One SMTP server per mail domain: (domain, listener).
    pub smtp: Vec<(String, TcpListener)>,
    /// The POP3 server, for every account.
    pub pop3: Option<TcpListener>,
    /// The IMAP server, for every account.
    pub imap: Option<TcpListener>,
    /// Where the relay hands each domain's mail, where it differs from that domain's
    /// listener above (tests, and `--relay-route`).
    pub routes: BTreeMap<String, SocketAddr>,
    pub relay: relay::RelayConfig,
    pub limits: MailLimits,
    /// Browser sessions' mailboxes (`POST /mail/session`).
    pub sessions: mailsession::SessionConfig,
}

/// What every mail server shares.
#[derive(Clone, Debug)]
pub struct MailShared {
    pub store: smtpd::SharedStore,
    pub limits: MailLimits,
}

/// What the mail servers allow; each refusal is the protocol's own reply, and everyone
/// else is served on.
#[derive(Clone, Debug)]
pub struct MailLimits {
    /// The largest message, announced as `SIZE n` in EHLO (RFC 1870); more is 552.
    pub smtp_max_message_size: u64,
    /// Recipients per message; the next RCPT gets 452 (RFC 5321 §4.5.3.1.10: at least
    /// 100 must be accepted).
    pub smtp_max_recipients: usize,
    /// Connections open at once from one client address, per server; the next is told
    /// `421` (SMTP), `-ERR` (POP3) or `* BYE` (IMAP) and closed.
    pub connections_per_ip: usize,
    /// SMTP: 421 after this long without a command (RFC 5321 §4.5.3.2.7: at least 5 min).
    pub smtp_idle: Duration,
    /// POP3: the autologout timer (RFC 1939 §3: at least 10 min).
    pub pop3_idle: Duration,
    /// IMAP: the autologout timer, `* BYE` (RFC 9051 §5.4: at least 30 min).
    pub imap_idle: Duration,
    /// IMAP: the longest command line (literals aside), else BAD.
    pub imap_max_line: usize,
}

impl Default for MailLimits {
    fn default() -> Self {
        MailLimits {
            smtp_max_message_size: 10 * 1024 * 1024,
            smtp_max_recipients: 100,
            connections_per_ip: 20,
            smtp_idle: Duration::from_secs(5 * 60),
            pop3_idle: Duration::from_secs(10 * 60),
            imap_idle: Duration::from_secs(30 * 60),
            imap_max_line: 8192,
        }
    }
}

impl MailLimits {
    /// The accept loop's limits for a protocol whose own timer is `idle` and whose
    /// refusal is `refusal`. The socket's own idle limit is a minute longer, so the
    /// protocol's timer speaks first.
    pub fn accept(&self, idle: Duration, refusal: &str) -> drive::AcceptLimits {
        drive::AcceptLimits {
            drive: drive::DriveLimits { idle: idle + Duration::from_secs(60), ..Default::default() },
            per_ip: Some(self.connections_per_ip),
            refusal: refusal.as_bytes().to_vec(),
        }
    }
}

impl Mail {
    /// The SMTP servers of `smtp` sharing `store`, with default settings and no POP3 or
    /// IMAP server.
    pub fn new(store: smtpd::SharedStore, smtp: Vec<(String, TcpListener)>) -> Self {
        Mail {
            store,
            smtp,
            pop3: None,
            imap: None,
            routes: BTreeMap::new(),
            relay: relay::RelayConfig::default(),
            limits: MailLimits::default(),
            sessions: mailsession::SessionConfig::default(),
        }
    }
}

/// What a deployment may change beyond its addresses.
#[derive(Debug, Default)]
pub struct ServeConfig {
    /// Pages (other than the app's own) allowed to open the WebSockets.
    pub origins: origin::Origins,
    pub bridge: bridge::BridgeLimits,
    /// Services beyond the ones `Listeners` start, for the bridge's table (tests, and
    /// servers run beside this one).
    pub extra_services: BTreeMap<String, bridge::Service>,
    /// The mail servers, if any.
    pub mail: Option<Mail>,
}

/// Serves the app's port only (no protocol servers).
pub async fn serve(listener: TcpListener, shutdown: impl Future<Output = ()> + Send + 'static) -> std::io::Result<()> {
    serve_all(Listeners { app: listener, http: None }, shutdown).await
}

/// [`serve_with`] the default configuration.
pub async fn serve_all(
    listeners: Listeners,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_with(listeners, ServeConfig::default(), shutdown).await
}

/// Serves on all `listeners` until `shutdown` completes; then stops accepting, closes
/// open WebSockets with 1001 ("going away") and waits up to [`SHUTDOWN_GRACE`] for
/// sessions to finish.
pub async fn serve_with(
    listeners: Listeners,
    config: ServeConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let (stop_tx, stop) = watch::channel(false);
    let (alive, mut all_done) = mpsc::channel::<()>(1);
    let life = Lifecycle { stop: stop.clone(), alive: alive.clone() };
    let mut services = config.extra_services;
    let mut mail_sessions = None;
    if let Some(mail) = config.mail {
        let domains: Vec<String> = mail.smtp.iter().map(|(d, _)| d.to_ascii_lowercase()).collect();
        let relay = relay::RelayHandle::new(domains);
        let shared = MailShared { store: mail.store.clone(), limits: mail.limits.clone() };
        let mut routes = BTreeMap::new();
        let mut smtp_addrs = Vec::new();
        for (domain, listener) in mail.smtp {
            let addr = listener.local_addr()?;
            smtp_addrs.push((domain.to_ascii_lowercase(), addr));
            tracing::info!(%addr, domain, "SMTP server");
            routes.insert(domain.to_ascii_lowercase(), addr);
            let name = format!("smtp-{}", domain.split('.').next().unwrap_or(&domain));
            services.insert(name, bridge::Service::stream(addr));
            tokio::spawn(smtpd::serve(listener, domain, shared.clone(), relay.clone(), life.clone()));
        }
        routes.extend(mail.routes.into_iter().map(|(d, a)| (d.to_ascii_lowercase(), a)));
        tokio::spawn(relay::run(mail.store.clone(), routes, mail.relay, relay, stop.clone()));
        let (pop3, imap) = (
            mail.pop3.as_ref().and_then(|l| l.local_addr().ok()),
            mail.imap.as_ref().and_then(|l| l.local_addr().ok()),
        );
        let sessions = mailsession::Sessions::new(mail.store.clone(), mail.sessions.clone(), smtp_addrs, pop3, imap);
        mail_sessions = Some(sessions);
        tokio::spawn(mailsession::sweep(mail.store.clone(), mail.sessions.idle_expiry, stop.clone()));
        if let Some(listener) = mail.pop3 {
            let addr = listener.local_addr()?;
            tracing::info!(%addr, "POP3 server");
            services.insert("pop3".to_string(), bridge::Service::stream(addr));
            tokio::spawn(pop3d::serve(listener, shared.clone(), life.clone()));
        }
        if let Some(listener) = mail.imap {
            let addr = listener.local_addr()?;
            tracing::info!(%addr, "IMAP server");
            services.insert("imap".to_string(), bridge::Service::stream(addr));
            tokio::spawn(imapd::serve(listener, shared.clone(), life.clone()));
        }
    }
    if let Some(http) = listeners.http {
        let addr = http.local_addr()?;
        tracing::info!(%addr, "teaching HTTP server");
        services.insert("http".to_string(), bridge::Service::stream(addr));
        tokio::spawn(httpd::serve(http, stop.clone(), alive.clone()));
    }
    let state = AppState {
        bridge: bridge::Bridge::new(services, config.bridge, config.origins.clone()),
        taps: wstap::Taps::default(),
        signalling: signal::Signalling::default(),
        origins: config.origins.clone(),
        life: life.clone(),
        mail_sessions,
    };
    let tap: front::Tap = {
        let (taps, life, origins) = (state.taps.clone(), life.clone(), config.origins);
        Arc::new(move |s: front::Sniffed| {
            if wstap::wants(&s) {
                if let Some(origin) = s.header("origin")
                    && let Err(why) = origins.check_values(origin, s.header("host"))
                {
                    tokio::spawn(front::refuse(s, 403, "Forbidden", why));
                    return None;
                }
                tokio::spawn(wstap::serve(s, taps.clone(), life.stop.clone(), life.alive.clone()));
                None
            } else {
                Some(s)
            }
        })
    };
    let local = listeners.app.local_addr()?;
    tracing::info!(%local, "serving");
    let door = front::FrontDoor::new(listeners.app, tap, stop.clone())?;
    drop((alive, life));
    axum::serve(door, router(state).into_make_service_with_connect_info::<front::ClientAddr>())
        .with_graceful_shutdown(async move {
            shutdown.await;
            let _ = stop_tx.send(true);
        })
        .await?;
    // Every sender is gone once every session has ended: then `recv` returns None.
    if tokio::time::timeout(SHUTDOWN_GRACE, all_done.recv()).await.is_err() {
        tracing::warn!("sessions still open after {SHUTDOWN_GRACE:?}: stopping anyway");
    }
    tracing::info!("stopped");
    Ok(())
}

/// Raises this process's soft limit on open files (`RLIMIT_NOFILE`) to its hard limit and
/// returns the limit now in force. Every WebSocket is a socket, so a file descriptor: the
/// soft limit is often 1024 while the hard limit allows far more, and without this the
/// server would stop accepting (`EMFILE`) at about a thousand open connections. Raising
/// the soft limit up to the hard one needs no privilege. `None` where there is no such
/// limit (not Unix) or it cannot be read or changed.
pub fn raise_open_files_limit() -> Option<u64> {
    #[cfg(unix)]
    {
        use rustix::process::{Resource, getrlimit, setrlimit};
        let limit = getrlimit(Resource::Nofile);
        // An unlimited hard limit (macOS) cannot be the soft one: it is left alone there.
        if limit.current.is_some() && limit.maximum.is_some() && limit.current != limit.maximum {
            let raised = rustix::process::Rlimit { current: limit.maximum, maximum: limit.maximum };
            if let Err(e) = setrlimit(Resource::Nofile, raised) {
                tracing::warn!("cannot raise the open-files limit to {:?}: {e}", limit.maximum);
            }
        }
        // `None` in the limit means unlimited.
        Some(getrlimit(Resource::Nofile).current.unwrap_or(u64::MAX))
    }
    #[cfg(not(unix))]
    None
}

/// Completes on Ctrl-C (SIGINT) or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::warn!("cannot listen for Ctrl-C: {e}");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::warn!("cannot listen for SIGTERM: {e}");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => tracing::info!("Ctrl-C: shutting down"),
        () = term => tracing::info!("SIGTERM: shutting down"),
    }
}

async fn healthz() -> &'static str {
    "ok\n"
}

/// The page (Trunk's `index.html` of one of the app's bundles) that answers `path`:
/// `/live/…` the live lab's; `/s/<id>` and `/embed/<id>` the bundle that carries that
/// scenario's code ([`wirelab_scenarios::bundle`]); anything else the scenarios page's.
fn page_for(path: &str) -> &'static str {
    if path == "live" || path.starts_with("live/") {
        return "live/index.html";
    }
    let id = path.strip_prefix("s/").or_else(|| path.strip_prefix("embed/")).unwrap_or("");
    match wirelab_scenarios::bundle(id) {
        Some(wirelab_scenarios::Bundle::P2p) => "p2p/index.html",
        Some(wirelab_scenarios::Bundle::Mail) => "mail/index.html",
        Some(wirelab_scenarios::Bundle::Imap) => "imap/index.html",
        _ => "index.html",
    }
}

/// Serves a file of the embedded app. Paths that name no file get their page's
/// `index.html` ([`page_for`]), so deep links into the app work; paths that look like
/// files (have an extension) get 404.
async fn static_file(uri: Uri) -> Response {
    let path = uri.path().trim_start_matches('/');
    let page = page_for(path);
    let path = if path.is_empty() { page } else { path };
    match Dist::get(path) {
        Some(file) => file_response(path, file),
        None if !path.rsplit('/').next().unwrap_or("").contains('.') => match Dist::get(page) {
            Some(file) => file_response(page, file),
            None => (StatusCode::NOT_FOUND, "the app is not built into this server\n").into_response(),
        },
        None => (StatusCode::NOT_FOUND, format!("no such file: /{path}\n")).into_response(),
    }
}

fn file_response(path: &str, file: rust_embed::EmbeddedFile) -> Response {
    let mime = file.metadata.mimetype().to_string();
    // Trunk names assets by content hash: they never change. index.html must be re-read.
    let cache = if path.ends_with("index.html") { "no-cache" } else { "public, max-age=31536000, immutable" };
    ([(header::CONTENT_TYPE, mime), (header::CACHE_CONTROL, cache.to_string())], file.data).into_response()
}

#[cfg(test)]
mod tests {
    use super::page_for;

    #[test]
    fn each_scenario_link_gets_the_page_whose_bundle_carries_it() {
        assert_eq!(page_for("s/tcp-handshake"), "index.html");
        assert_eq!(page_for("s/webrtc-connect"), "p2p/index.html");
        for id in ["smtp-send", "smtp-relay", "pop3-retrieve-delete"] {
            assert_eq!(page_for(&format!("s/{id}")), "mail/index.html", "{id}");
            assert_eq!(page_for(&format!("embed/{id}")), "mail/index.html", "{id}");
        }
        assert_eq!(page_for("s/imap-sync"), "imap/index.html");
        assert_eq!(page_for("embed/imap-sync"), "imap/index.html");
        assert_eq!(page_for("live/"), "live/index.html");
        assert_eq!(page_for("s/no-such-scenario"), "index.html");
    }
}
