//! Which web pages may open the server's WebSockets (`/ws`, `/signal`, `/bridge/…`).
//!
//! Browsers send the page's origin in `Origin` with every WebSocket handshake (RFC 6455
//! §4.1, item 8; §10.2: "servers that are not intended to process input from any web
//! page but only for certain sites SHOULD verify the |Origin| field"). Without a check,
//! any site a student visits could drive the bridge to the mail servers with the
//! student's browser. The rule:
//! - no `Origin` header: not a browser (curl, Python, a test client): allowed;
//! - the app's own origin (`Origin`'s host and port equal the request's `Host`): allowed;
//! - an origin on the allow-list (`--allow-origin`, exact, e.g. `https://course.example`):
//!   allowed;
//! - anything else, including `null` (sandboxed frames, `file:` pages): refused with 403.

use axum::http::{HeaderMap, header};
use std::sync::Arc;

/// The allow-list, beyond the app's own origin.
#[derive(Clone, Debug, Default)]
pub struct Origins {
    allowed: Arc<Vec<String>>,
}

impl Origins {
    /// `allowed` are exact origins: scheme, host and port as the browser sends them
    /// (`https://course.example`, `http://localhost:3000`), without a trailing slash.
    pub fn new(allowed: impl IntoIterator<Item = String>) -> Self {
        let allowed = allowed.into_iter().map(|o| o.trim().trim_end_matches('/').to_ascii_lowercase()).collect();
        Origins { allowed: Arc::new(allowed) }
    }

    /// Checks a handshake's headers; the error says why, for the 403 body and the log.
    pub fn check(&self, headers: &HeaderMap) -> Result<(), String> {
        let Some(origin) = headers.get(header::ORIGIN) else { return Ok(()) };
        let origin = origin.to_str().map_err(|_| "the Origin header is not text".to_string())?;
        let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
        self.check_values(origin, host)
    }

    /// The same check on raw values (the front door has no `HeaderMap`).
    pub fn check_values(&self, origin: &str, host: Option<&str>) -> Result<(), String> {
        let origin = origin.trim().to_ascii_lowercase();
        // "scheme://host[:port]": the part after the scheme is what `Host` carries.
        let authority = origin.split_once("://").map(|(_, rest)| rest);
        let same_origin = matches!((authority, host), (Some(a), Some(h)) if a == h.trim().to_ascii_lowercase());
        if same_origin || self.allowed.contains(&origin) {
            Ok(())
        } else {
            Err(format!(
                "pages from {origin} may not open this server's WebSockets; start the server with --allow-origin {origin} to allow them"
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_origin_and_listed_origins_pass_others_do_not() {
        let o = Origins::new(["https://course.example/".to_string()]);
        assert!(o.check_values("http://127.0.0.1:8080", Some("127.0.0.1:8080")).is_ok());
        assert!(o.check_values("http://LOCALHOST:8080", Some("localhost:8080")).is_ok());
        assert!(o.check_values("https://course.example", Some("127.0.0.1:8080")).is_ok());
        // Another port is another origin (RFC 6454 §4).
        assert!(o.check_values("http://127.0.0.1:9999", Some("127.0.0.1:8080")).is_err());
        assert!(o.check_values("https://evil.example", Some("127.0.0.1:8080")).is_err());
        assert!(o.check_values("null", Some("127.0.0.1:8080")).is_err());
        assert!(o.check_values("https://course.example.evil.example", Some("x")).is_err());
        assert!(o.check_values("http://127.0.0.1:8080", None).is_err());
    }

    #[test]
    fn no_origin_header_is_not_a_browser_and_passes() {
        let o = Origins::default();
        let mut h = HeaderMap::new();
        h.insert(header::HOST, "127.0.0.1:8080".parse().expect("header"));
        assert!(o.check(&h).is_ok());
        h.insert(header::ORIGIN, "https://evil.example".parse().expect("header"));
        assert!(o.check(&h).is_err_and(|e| e.contains("--allow-origin https://evil.example")));
    }
}
