//! The teaching HTTP/1.1 server on its own port (default 127.0.0.1:8081): every
//! connection is our `wirelab-http` server machine on a real socket, so curl, Python's
//! http.client and the browser's Wasm client (through the bridge) all talk to the same
//! code the stepped scenarios show. It serves `Site::teaching()`: `/`, `/hello.txt`,
//! `/echo` (POST), `/chunked`, `/headers`, `/status/{code}`.

use crate::drive::{Connection, Step, accept_loop};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch};
use wirelab_core::Instant;
use wirelab_http::{HttpServer, ServerConfig, ServerEvent};

struct Http(HttpServer);

impl Connection for Http {
    type M = HttpServer;

    fn machine(&mut self) -> &mut HttpServer {
        &mut self.0
    }

    fn on_event(&mut self, _now: Instant, event: ServerEvent) -> Step {
        match event {
            ServerEvent::CloseConnection => Step::Close,
            ServerEvent::RequestReceived(r) => {
                tracing::debug!("http: {r}");
                Step::Continue
            }
            _ => Step::Continue,
        }
    }

    fn on_eof(&mut self, now: Instant) -> Step {
        // The machine answers what it has read (written by the flush before closing).
        let _ = self.0.peer_closed(now);
        Step::Close
    }
}

/// Accepts until `stop` fires; each connection runs until it closes (or `stop`).
pub async fn serve(listener: TcpListener, stop: watch::Receiver<bool>, alive: mpsc::Sender<()>) {
    accept_loop("http", listener, Default::default(), stop, alive, |local, _| {
        Http(HttpServer::new(ServerConfig::new(local)))
    })
    .await;
}
