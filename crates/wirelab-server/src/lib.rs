//! The wirelab backend: serves the app embedded in this binary, `/healthz`, and the
//! `/ws` WebSocket echo that proves the browser's Wasm app talks to a real server.

use axum::Router;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::http::{StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use rust_embed::RustEmbed;
use std::future::Future;
use std::net::SocketAddr;
use tokio::net::TcpListener;

/// The app Trunk built into `dist/`, embedded at compile time.
#[derive(RustEmbed)]
#[folder = "$CARGO_MANIFEST_DIR/../../dist"]
struct Dist;

/// Largest WebSocket message `/ws` accepts: an echo needs no more.
pub const MAX_WS_MESSAGE: usize = 64 * 1024;

/// All routes.
pub fn router() -> Router {
    Router::new().route("/healthz", get(healthz)).route("/ws", get(ws_echo)).fallback(static_file)
}

/// Binds `addr` (port 0 picks a free port), with an error that names the address.
pub async fn bind(addr: SocketAddr) -> std::io::Result<TcpListener> {
    TcpListener::bind(addr).await.map_err(|e| std::io::Error::new(e.kind(), format!("cannot listen on {addr}: {e}")))
}

/// Serves on `listener` until `shutdown` completes; then stops accepting and lets open
/// requests finish.
pub async fn serve(listener: TcpListener, shutdown: impl Future<Output = ()> + Send + 'static) -> std::io::Result<()> {
    tracing::info!(local = %listener.local_addr()?, "serving");
    axum::serve(listener, router()).with_graceful_shutdown(shutdown).await?;
    tracing::info!("stopped");
    Ok(())
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

async fn ws_echo(ws: WebSocketUpgrade) -> Response {
    ws.max_message_size(MAX_WS_MESSAGE).on_upgrade(echo)
}

/// Sends every text and binary message back as it came. Pings are answered by the
/// library with pongs (RFC 6455 §5.5.2). A Close is answered by the library with a Close
/// carrying the same code, flushed by the next `recv`, which then ends the stream: so on a
/// Close we keep reading rather than return, or the reply would never be sent and the
/// browser would see 1006 instead of a clean close (RFC 6455 §5.5.1).
async fn echo(mut socket: WebSocket) {
    while let Some(msg) = socket.recv().await {
        let msg = match msg {
            Ok(m) => m,
            Err(e) => {
                tracing::debug!("ws: {e}");
                return;
            }
        };
        let reply = match msg {
            Message::Text(_) | Message::Binary(_) => msg,
            Message::Close(_) | Message::Ping(_) | Message::Pong(_) => continue,
        };
        if socket.send(reply).await.is_err() {
            return;
        }
    }
}

/// Serves a file of the embedded app. Paths that name no file get `index.html`, so deep
/// links into the app work; paths that look like files (have an extension) get 404.
async fn static_file(uri: Uri) -> Response {
    let path = uri.path().trim_start_matches('/');
    let path = if path.is_empty() { "index.html" } else { path };
    match Dist::get(path) {
        Some(file) => file_response(path, file),
        None if !path.rsplit('/').next().unwrap_or("").contains('.') => match Dist::get("index.html") {
            Some(file) => file_response("index.html", file),
            None => (StatusCode::NOT_FOUND, "the app is not built into this server\n").into_response(),
        },
        None => (StatusCode::NOT_FOUND, format!("no such file: /{path}\n")).into_response(),
    }
}

fn file_response(path: &str, file: rust_embed::EmbeddedFile) -> Response {
    let mime = file.metadata.mimetype().to_string();
    // Trunk names assets by content hash: they never change. index.html must be re-read.
    let cache = if path == "index.html" { "no-cache" } else { "public, max-age=31536000, immutable" };
    ([(header::CONTENT_TYPE, mime), (header::CACHE_CONTROL, cache.to_string())], file.data).into_response()
}
