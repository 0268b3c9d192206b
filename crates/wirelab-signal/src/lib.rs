//! WebRTC signalling, sans-IO: what two browsers must tell each other, through a server,
//! before they can talk directly.
//!
//! - [`msg`]: the JSON messages of the `/signal` WebSocket, one message per text frame.
//!   This is the contract between the Yew app and the axum server (matchbox's
//!   `matchbox_protocol` plays the same part there).
//! - [`room`]: unguessable room ids (128 random bits, RFC 4648 base32) and peer ids.
//! - [`hub`]: the server's room logic as a machine: connections in, messages out, no I/O,
//!   no clock of its own.
//! - [`jsep`]: the offer/answer signalling state machine of RFC 8829 (JSEP) with the
//!   W3C WebRTC state names.
//! - [`sdp`]: an explainer for SDP (RFC 8866) as browsers write it for a data channel,
//!   and a typed ICE candidate (RFC 8839 §5.1).
//!
//! Heads up! Read RFC 8829 §3 (the JSEP model) and W3C WebRTC §4.3.1 (the signalling
//! state diagram) before changing `jsep.rs`.
//!
//! RFC 9429 (2024) obsoletes RFC 8829 with small changes; the sections cited here are
//! RFC 8829's, which is what the W3C spec and the browsers were written against.

pub mod hub;
pub mod jsep;
pub mod msg;
pub mod room;
pub mod sdp;

pub use hub::{ConnId, Hub, HubError, Limits, RoomStats};
pub use jsep::{JsepError, SdpType, Side, Signaling, SignalingState};
pub use msg::{ClientMsg, ErrorCode, MAX_MESSAGE_BYTES, MsgError, PeerInfo, ServerMsg};
pub use room::{PeerId, RoomId, RoomIdError};
pub use sdp::{Candidate, CandidateError, CandidateType, Explanation, explain, explain_line};
