//! Mailboxes of one's own for each browser session: `POST /mail/session` makes a fresh
//! pair of accounts, `u<random>@north.test` and `u<random>@south.test`, with one random
//! password (both from the operating system's CSPRNG), and answers with them and where
//! the SMTP, POP3 and IMAP servers listen, as JSON. The page can then send mail between
//! its two mailboxes through the relay and read it, without seeing anybody else's.
//!
//! - Same Origin rule as the WebSockets (`origin.rs`): a page of another site gets 403.
//! - Limits: at most [`SessionConfig::per_ip`] session accounts pairs per client address
//!   (429 Too Many Requests, RFC 6585 §4) and [`SessionConfig::total`] in all (503 Service
//!   Unavailable, RFC 9110 §15.6.4); each mailbox holds at most [`SessionConfig::quota`]
//!   octets (SMTP 552, RFC 5321 §4.2.2, at the end of the data).
//! - Expiry: accounts unused (no login, no mail delivered) for
//!   [`SessionConfig::idle_expiry`] are removed with their mail; the demo accounts stay.
//!
//! The passwords are never stored: the store keeps a salted SHA-256 like any account's.

use crate::origin::Origins;
use crate::smtpd::SharedStore;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// The limits of browser sessions' mailboxes.
#[derive(Clone, Debug)]
pub struct SessionConfig {
    /// Sessions (account pairs) made from one client address and not expired.
    pub per_ip: u64,
    /// Sessions in all.
    pub total: u64,
    /// Octets each mailbox may hold.
    pub quota: u64,
    /// Removed after this long without use.
    pub idle_expiry: Duration,
}

impl Default for SessionConfig {
    fn default() -> Self {
        SessionConfig { per_ip: 5, total: 1000, quota: 1024 * 1024, idle_expiry: Duration::from_secs(24 * 60 * 60) }
    }
}

/// What the endpoint needs.
#[derive(Clone, Debug)]
pub struct Sessions {
    store: SharedStore,
    config: SessionConfig,
    /// `(domain, SMTP address)` of each mail domain, the POP3 and IMAP addresses.
    smtp: Arc<Vec<(String, SocketAddr)>>,
    pop3: Option<SocketAddr>,
    imap: Option<SocketAddr>,
}

impl Sessions {
    pub fn new(
        store: SharedStore,
        config: SessionConfig,
        smtp: Vec<(String, SocketAddr)>,
        pop3: Option<SocketAddr>,
        imap: Option<SocketAddr>,
    ) -> Self {
        Sessions { store, config, smtp: Arc::new(smtp), pop3, imap }
    }

    fn create(&self, client: SocketAddr) -> Result<serde_json::Value, (StatusCode, String)> {
        let creator = client.ip().to_string();
        let domains = self.smtp.len() as u64;
        let mut store = self.store.lock().unwrap_or_else(|p| p.into_inner());
        let (all, mine) = store.session_accounts(&creator).map_err(internal)?;
        if mine / domains.max(1) >= self.config.per_ip {
            let why = format!(
                "{} mail sessions from {creator} already; they expire after a time unused",
                mine / domains.max(1)
            );
            return Err((StatusCode::TOO_MANY_REQUESTS, why));
        }
        if all / domains.max(1) >= self.config.total {
            return Err((StatusCode::SERVICE_UNAVAILABLE, "no room for more mail sessions now; try later".into()));
        }
        let name = format!("u{}", crate::random_hex(8).map_err(internal)?);
        let password = crate::random_hex(12).map_err(internal)?;
        let addresses: Vec<String> = self.smtp.iter().map(|(d, _)| format!("{name}@{d}")).collect();
        store.create_session(&addresses, &password, &creator, self.config.quota).map_err(internal)?;
        drop(store);
        tracing::info!(%client, name, "mail session");
        let smtp: serde_json::Map<String, serde_json::Value> =
            self.smtp.iter().map(|(d, a)| (d.clone(), a.to_string().into())).collect();
        Ok(serde_json::json!({
            "addresses": addresses,
            "password": password,
            "smtp": smtp,
            "pop3": self.pop3.map(|a| a.to_string()),
            "imap": self.imap.map(|a| a.to_string()),
            "quota": self.config.quota,
            "expires_after_idle_secs": self.config.idle_expiry.as_secs(),
        }))
    }
}

fn internal(e: impl std::fmt::Display) -> (StatusCode, String) {
    tracing::error!("mail session: {e}");
    (StatusCode::INTERNAL_SERVER_ERROR, "cannot make a mail session now".into())
}

/// `POST /mail/session`.
pub async fn create(
    State(sessions): State<Option<Sessions>>,
    State(origins): State<Origins>,
    ConnectInfo(crate::front::ClientAddr(client)): ConnectInfo<crate::front::ClientAddr>,
    headers: HeaderMap,
) -> Response {
    if let Err(why) = origins.check(&headers) {
        return (StatusCode::FORBIDDEN, format!("{why}\n")).into_response();
    }
    let Some(sessions) = sessions else {
        return (StatusCode::NOT_FOUND, "this server runs no mail servers\n").into_response();
    };
    match sessions.create(client) {
        Ok(body) => (StatusCode::CREATED, axum::Json(body)).into_response(),
        Err((status, why)) => (status, axum::Json(serde_json::json!({ "error": why }))).into_response(),
    }
}

/// Removes expired session accounts every so often until `stop` fires.
pub async fn sweep(store: SharedStore, idle_expiry: Duration, mut stop: watch::Receiver<bool>) {
    let every = (idle_expiry / 4).clamp(Duration::from_millis(200), Duration::from_secs(60));
    loop {
        tokio::select! {
            () = tokio::time::sleep(every) => {}
            _ = stop.changed() => return,
        }
        let gone = store.lock().unwrap_or_else(|p| p.into_inner()).expire_sessions(idle_expiry.as_secs());
        match gone {
            Ok(0) => {}
            Ok(n) => tracing::info!(accounts = n, "mail sessions expired"),
            Err(e) => tracing::warn!("mail sessions: {e}"),
        }
    }
}
