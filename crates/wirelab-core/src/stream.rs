//! Machines that run over a byte stream (WebSocket, HTTP/1.1, SMTP) and what they need
//! from the transport under them besides bytes: to hear that it opened and that the peer
//! closed it, and to ask for it to be closed.
//!
//! The transport is anyone's: our simulated TCP machine (`wirelab_tcp::stack::OverTcp`),
//! a real socket in the server. Bytes travel as usual: the application's
//! [`Output::Transmit`](crate::Output::Transmit)s are written to the stream, and what the
//! stream delivers is given to it as [`Input::Receive`](crate::Input::Receive).

use crate::machine::Machine;
use crate::time::Instant;

/// An application protocol that runs over a reliable, ordered byte stream (TCP).
pub trait StreamApp: Machine {
    /// The protocol's name, for narration and frame summaries: `WebSocket`, `HTTP`.
    const PROTOCOL: &'static str;

    /// The stream is open: TCP reached ESTABLISHED (RFC 9293 §3.5). A WebSocket client
    /// sends its opening handshake now (RFC 6455 §4.1: "the client MUST ... establish a
    /// connection ... and then send an opening handshake").
    fn on_connected(&mut self, now: Instant) -> Result<(), Self::Error> {
        let _ = now;
        Ok(())
    }

    /// The peer closed its sending side: no more bytes will arrive (TCP's "connection
    /// closing", RFC 9293 §3.10.7.4; a socket read returning 0). What was delivered
    /// before is all there is.
    fn on_peer_closed(&mut self, now: Instant) -> Result<(), Self::Error>;

    /// The stream is gone: reset, timed out, or fully closed (RFC 9293 §3.10.7.4,
    /// §3.8.3). Nothing more can be sent or received. By default, the same as
    /// [`StreamApp::on_peer_closed`].
    fn on_transport_lost(&mut self, now: Instant) -> Result<(), Self::Error> {
        self.on_peer_closed(now)
    }

    /// Whether `event` asks the transport to close the stream (TCP's CLOSE call, RFC 9293
    /// §3.10.4): the application has sent everything it will send on it.
    fn wants_transport_close(event: &Self::Event) -> bool;
}
