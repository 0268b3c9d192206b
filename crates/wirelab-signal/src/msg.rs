//! The `/signal` wire format: one JSON object per WebSocket text message, its kind in a
//! `"type"` field spelled in kebab-case, other fields in snake_case.
//!
//! ```text
//! C: {"type":"join","room":"mzxw6ytboiaaaaaaaaaaaaaaaa","name":"ada"}
//! S: {"type":"joined","room":"mzxw6ytboiaaaaaaaaaaaaaaaa","you":2,"peers":[{"id":1,"name":"bob"}]}
//! C: {"type":"offer","to":1,"sdp":"v=0\r\n…"}
//! S: {"type":"offer","from":2,"sdp":"v=0\r\n…"}            (to peer 1)
//! ```
//!
//! The server never reads an SDP: it forwards offers, answers and candidates between
//! two members of a room, which is all "signalling" means. RFC 8829 §1 leaves the
//! signalling channel to the application on purpose ("JSEP ... intentionally does not
//! specify a signaling protocol"), so this format is ours; it follows matchbox's.
//!
//! Parsing never panics: malformed, unknown or oversized input is a typed [`MsgError`].

use crate::room::{PeerId, RoomId, RoomIdError};
use core::fmt;
use serde::{Deserialize, Serialize};

/// The largest message either side accepts, in bytes of JSON text. A data-channel offer
/// is about 600 bytes; one with audio and video rarely reaches 10 KiB.
pub const MAX_MESSAGE_BYTES: usize = 64 * 1024;

/// What a browser sends to the server.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum ClientMsg {
    /// Enter a room, creating it if nobody is in it. `name` is shown to the others.
    Join {
        room: RoomId,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        name: Option<String>,
    },
    /// Leave the room (the connection stays open, ready to join another).
    Leave,
    /// An SDP offer (RFC 8829 §5.2) for one other member of the room.
    Offer { to: PeerId, sdp: String },
    /// An SDP answer (RFC 8829 §5.3) for one other member of the room.
    Answer { to: PeerId, sdp: String },
    /// A trickled ICE candidate (RFC 8838 §4): the fields of the browser's
    /// `RTCIceCandidateInit`. `candidate` is the attribute text without `a=`, or empty
    /// for end-of-candidates.
    Candidate {
        to: PeerId,
        candidate: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        sdp_mid: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        sdp_mline_index: Option<u16>,
    },
    /// Relay mode: the server forwards `data` to everyone else in the room. The
    /// client-server counterpart of a data channel in the peer-to-peer mesh.
    Relay { data: String },
    /// Are you there? Answered by `pong`, then `stats` if in a room.
    Ping,
}

/// What the server sends to a browser.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum ServerMsg {
    /// Sent once, on connection: the id the others will know you by.
    Welcome {
        you: PeerId,
    },
    /// You are in `room`, with `peers` (in the order they joined, without you). By our
    /// convention the newcomer sends an offer to each of them, and they wait: so every
    /// pair has exactly one offerer and offers never cross ("glare", which would otherwise
    /// need a rollback, RFC 8829 §5.7).
    Joined {
        room: RoomId,
        you: PeerId,
        peers: Vec<PeerInfo>,
    },
    /// Someone joined your room; expect their offer.
    PeerJoined {
        peer: PeerInfo,
    },
    /// Someone left your room or disconnected: close your connection to them.
    PeerLeft {
        peer: PeerId,
    },
    Offer {
        from: PeerId,
        sdp: String,
    },
    Answer {
        from: PeerId,
        sdp: String,
    },
    Candidate {
        from: PeerId,
        candidate: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        sdp_mid: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        sdp_mline_index: Option<u16>,
    },
    /// A relayed chat message from another member.
    Relayed {
        from: PeerId,
        data: String,
    },
    /// The server's load for your room since it was created: every message it forwarded
    /// on the room's behalf (`room_*`, relayed ones included) and the relayed copies alone
    /// (`relayed_*`). Bytes are of JSON text sent. A mesh costs the server only the
    /// handshake; relaying costs it every message times the number of other members.
    Stats {
        room_messages: u64,
        room_bytes: u64,
        relayed_messages: u64,
        relayed_bytes: u64,
    },
    Pong,
    /// Your last message was refused; nothing else happened.
    Error {
        code: ErrorCode,
        message: String,
    },
}

/// Another member of a room, as the others see it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeerInfo {
    pub id: PeerId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// Why the server refused a message, for programs; `ServerMsg::Error::message` is for
/// people.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ErrorCode {
    /// The room has as many members as `Limits::max_peers_per_room`.
    RoomFull,
    /// The server has as many rooms as `Limits::max_rooms`, so cannot create another.
    ServerFull,
    /// The addressed peer is not in your room (or is you).
    NoSuchPeer,
    /// Join a room first.
    NotInRoom,
    /// Leave your room first: a peer is in at most one room.
    AlreadyInRoom,
    /// Not JSON, not an object, no or an unknown `type`, or a field missing or mistyped.
    BadMessage,
    /// Longer than `Limits::max_message_bytes`.
    TooLarge,
    /// More than `Limits::max_messages_per_second`.
    RateLimited,
    /// The room id is not 26 base32 characters.
    BadRoomId,
}

impl ErrorCode {
    /// The kebab-case spelling used on the wire.
    pub const fn as_str(self) -> &'static str {
        match self {
            ErrorCode::RoomFull => "room-full",
            ErrorCode::ServerFull => "server-full",
            ErrorCode::NoSuchPeer => "no-such-peer",
            ErrorCode::NotInRoom => "not-in-room",
            ErrorCode::AlreadyInRoom => "already-in-room",
            ErrorCode::BadMessage => "bad-message",
            ErrorCode::TooLarge => "too-large",
            ErrorCode::RateLimited => "rate-limited",
            ErrorCode::BadRoomId => "bad-room-id",
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a text is not a message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MsgError {
    /// Longer than the limit; not even looked at.
    TooLarge { len: usize, max: usize },
    /// Not JSON at all, or JSON but not an object.
    NotJson { detail: String },
    /// An object without a string `"type"` field.
    MissingType,
    /// A `"type"` this side does not know.
    UnknownType { ty: String },
    /// A known type with a field missing or of the wrong kind.
    BadFields { ty: String, detail: String },
    /// A `join` whose `room` is not a room id.
    BadRoomId(RoomIdError),
}

impl MsgError {
    /// The code the server answers with.
    pub fn code(&self) -> ErrorCode {
        match self {
            MsgError::TooLarge { .. } => ErrorCode::TooLarge,
            MsgError::BadRoomId(_) => ErrorCode::BadRoomId,
            _ => ErrorCode::BadMessage,
        }
    }
}

impl fmt::Display for MsgError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MsgError::TooLarge { len, max } => write!(f, "message of {len} bytes is over the limit of {max}"),
            MsgError::NotJson { detail } => write!(f, "not a JSON object: {detail}"),
            MsgError::MissingType => f.write_str("no \"type\" field"),
            MsgError::UnknownType { ty } => write!(f, "unknown message type {ty:?}"),
            MsgError::BadFields { ty, detail } => write!(f, "bad {ty:?} message: {detail}"),
            MsgError::BadRoomId(e) => write!(f, "bad room id: {e}"),
        }
    }
}

impl std::error::Error for MsgError {}

const CLIENT_TYPES: &[&str] = &["join", "leave", "offer", "answer", "candidate", "relay", "ping"];
const SERVER_TYPES: &[&str] = &[
    "welcome",
    "joined",
    "peer-joined",
    "peer-left",
    "offer",
    "answer",
    "candidate",
    "relayed",
    "stats",
    "pong",
    "error",
];

/// Parses `text` as a `T`, and on failure works out which [`MsgError`] it is. The slow
/// path (a second parse into a `serde_json::Value`) runs only for bad input.
fn parse<'a, T: Deserialize<'a>>(text: &'a str, max: usize, known: &[&str]) -> Result<T, MsgError> {
    if text.len() > max {
        return Err(MsgError::TooLarge { len: text.len(), max });
    }
    let err = match serde_json::from_str::<T>(text) {
        Ok(m) => return Ok(m),
        Err(e) => e,
    };
    let value: serde_json::Value = match serde_json::from_str(text) {
        Ok(v) => v,
        Err(e) => return Err(MsgError::NotJson { detail: e.to_string() }),
    };
    let Some(obj) = value.as_object() else {
        return Err(MsgError::NotJson { detail: "expected an object".into() });
    };
    let Some(ty) = obj.get("type").and_then(|t| t.as_str()) else {
        return Err(MsgError::MissingType);
    };
    if !known.contains(&ty) {
        return Err(MsgError::UnknownType { ty: ty.to_string() });
    }
    if ty == "join" || ty == "joined" {
        if let Some(Err(e)) = obj.get("room").and_then(|r| r.as_str()).map(str::parse::<RoomId>) {
            return Err(MsgError::BadRoomId(e));
        }
    }
    Err(MsgError::BadFields { ty: ty.to_string(), detail: err.to_string() })
}

impl ClientMsg {
    /// Parses one WebSocket text message from a browser, refusing more than
    /// [`MAX_MESSAGE_BYTES`].
    pub fn parse(text: &str) -> Result<Self, MsgError> {
        Self::parse_with_limit(text, MAX_MESSAGE_BYTES)
    }

    pub fn parse_with_limit(text: &str, max: usize) -> Result<Self, MsgError> {
        parse(text, max, CLIENT_TYPES)
    }

    /// The JSON text, as sent.
    pub fn to_json(&self) -> String {
        // Only strings, integers and enums with string tags: serialising cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }

    /// The wire name of this message's type: `"join"`, `"offer"`.
    pub fn type_name(&self) -> &'static str {
        match self {
            ClientMsg::Join { .. } => "join",
            ClientMsg::Leave => "leave",
            ClientMsg::Offer { .. } => "offer",
            ClientMsg::Answer { .. } => "answer",
            ClientMsg::Candidate { .. } => "candidate",
            ClientMsg::Relay { .. } => "relay",
            ClientMsg::Ping => "ping",
        }
    }
}

impl ServerMsg {
    /// Parses one WebSocket text message from the server, refusing more than
    /// [`MAX_MESSAGE_BYTES`].
    pub fn parse(text: &str) -> Result<Self, MsgError> {
        Self::parse_with_limit(text, MAX_MESSAGE_BYTES)
    }

    pub fn parse_with_limit(text: &str, max: usize) -> Result<Self, MsgError> {
        parse(text, max, SERVER_TYPES)
    }

    /// The JSON text, as sent.
    pub fn to_json(&self) -> String {
        // Only strings, integers and enums with string tags: serialising cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }

    /// The wire name of this message's type: `"welcome"`, `"peer-left"`.
    pub fn type_name(&self) -> &'static str {
        match self {
            ServerMsg::Welcome { .. } => "welcome",
            ServerMsg::Joined { .. } => "joined",
            ServerMsg::PeerJoined { .. } => "peer-joined",
            ServerMsg::PeerLeft { .. } => "peer-left",
            ServerMsg::Offer { .. } => "offer",
            ServerMsg::Answer { .. } => "answer",
            ServerMsg::Candidate { .. } => "candidate",
            ServerMsg::Relayed { .. } => "relayed",
            ServerMsg::Stats { .. } => "stats",
            ServerMsg::Pong => "pong",
            ServerMsg::Error { .. } => "error",
        }
    }
}

/// One line for a trace: `offer to p2 (612 bytes of SDP)`.
impl fmt::Display for ClientMsg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClientMsg::Join { room, name: Some(n) } => write!(f, "join {room} as {n:?}"),
            ClientMsg::Join { room, name: None } => write!(f, "join {room}"),
            ClientMsg::Leave => f.write_str("leave"),
            ClientMsg::Offer { to, sdp } => write!(f, "offer to {to} ({} bytes of SDP)", sdp.len()),
            ClientMsg::Answer { to, sdp } => write!(f, "answer to {to} ({} bytes of SDP)", sdp.len()),
            ClientMsg::Candidate { to, candidate, .. } if candidate.is_empty() => {
                write!(f, "end-of-candidates to {to}")
            }
            ClientMsg::Candidate { to, candidate, .. } => write!(f, "candidate to {to}: {candidate}"),
            ClientMsg::Relay { data } => write!(f, "relay {data:?}"),
            ClientMsg::Ping => f.write_str("ping"),
        }
    }
}

/// One line for a trace: `peer-joined p3 "ada"`.
impl fmt::Display for ServerMsg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ServerMsg::Welcome { you } => write!(f, "welcome, you are {you}"),
            ServerMsg::Joined { room, you, peers } => {
                write!(f, "joined {room} as {you} with [")?;
                for (i, p) in peers.iter().enumerate() {
                    write!(f, "{}{}", if i == 0 { "" } else { ", " }, p.id)?;
                }
                f.write_str("]")
            }
            ServerMsg::PeerJoined { peer: PeerInfo { id, name: Some(n) } } => write!(f, "peer-joined {id} {n:?}"),
            ServerMsg::PeerJoined { peer: PeerInfo { id, name: None } } => write!(f, "peer-joined {id}"),
            ServerMsg::PeerLeft { peer } => write!(f, "peer-left {peer}"),
            ServerMsg::Offer { from, sdp } => write!(f, "offer from {from} ({} bytes of SDP)", sdp.len()),
            ServerMsg::Answer { from, sdp } => write!(f, "answer from {from} ({} bytes of SDP)", sdp.len()),
            ServerMsg::Candidate { from, candidate, .. } if candidate.is_empty() => {
                write!(f, "end-of-candidates from {from}")
            }
            ServerMsg::Candidate { from, candidate, .. } => write!(f, "candidate from {from}: {candidate}"),
            ServerMsg::Relayed { from, data } => write!(f, "relayed from {from}: {data:?}"),
            ServerMsg::Stats { room_messages, room_bytes, relayed_messages, relayed_bytes } => write!(
                f,
                "stats: {room_messages} messages / {room_bytes} bytes forwarded, of which relayed {relayed_messages} / {relayed_bytes}"
            ),
            ServerMsg::Pong => f.write_str("pong"),
            ServerMsg::Error { code, message } => write!(f, "error {code}: {message}"),
        }
    }
}
