//! The signalling server's room logic as a sans-IO machine, after matchbox_server: the
//! axum endpoint owns the sockets and feeds this hub; the hub decides who hears what.
//!
//! ```text
//! let mut hub = Hub::new(Limits::default());
//! let me = hub.connect(conn);                          // queues Welcome { you: me }
//! hub.handle_text(now, conn, r#"{"type":"ping"}"#);     // queues Pong
//! while let Some((to, msg)) = hub.poll() { send(to, msg.to_json()) }
//! hub.disconnect(conn);                                // queues PeerLeft to the room
//! ```
//!
//! Outputs are pulled one at a time with [`Hub::poll`], in the order they were decided,
//! until it returns `None` (quinn's `poll_transmit`). Refusals are outputs too: a refused
//! message queues an [`ServerMsg::Error`] for its sender and changes nothing else; the
//! same refusal is returned from `handle*` for the server's log.
//!
//! Rules (ours; signalling is the application's business, RFC 8829 §1):
//! - a peer is in at most one room; joining an unknown room creates it; the last one out
//!   removes it, so no room is ever empty;
//! - offers, answers and candidates go only to another member of the sender's room;
//! - relayed data goes to every other member of the sender's room;
//! - everything is deterministic: same inputs, same outputs (maps are ordered, peer ids
//!   are a counter, time is passed in).

use crate::msg::{ClientMsg, ErrorCode, MsgError, PeerInfo, ServerMsg};
use crate::room::{PeerId, RoomId};
use core::fmt;
use core::time::Duration;
use std::collections::{BTreeMap, VecDeque};
use wirelab_core::Instant;

/// One WebSocket connection, numbered by the server however it likes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ConnId(pub u64);

impl fmt::Display for ConnId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "conn#{}", self.0)
    }
}

/// What the hub will put up with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Rooms at once; a join that would create one more is refused `server-full`.
    pub max_rooms: usize,
    /// Members of one room; one more is refused `room-full`. A full mesh of n peers has
    /// n(n-1)/2 connections, so keep this small.
    pub max_peers_per_room: usize,
    /// Bytes of JSON per message; more is refused `too-large` without being parsed.
    pub max_message_bytes: usize,
    /// Messages per connection per second of `now`; more are refused `rate-limited`.
    /// `None`: no limit.
    pub max_messages_per_second: Option<u32>,
    /// Characters in a display name.
    pub max_name_chars: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_rooms: 1_000,
            max_peers_per_room: 8,
            max_message_bytes: crate::msg::MAX_MESSAGE_BYTES,
            max_messages_per_second: Some(50),
            max_name_chars: 32,
        }
    }
}

/// What the server forwarded on a room's behalf since the room was created: see
/// [`ServerMsg::Stats`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RoomStats {
    pub room_messages: u64,
    pub room_bytes: u64,
    pub relayed_messages: u64,
    pub relayed_bytes: u64,
}

impl RoomStats {
    pub fn to_msg(self) -> ServerMsg {
        ServerMsg::Stats {
            room_messages: self.room_messages,
            room_bytes: self.room_bytes,
            relayed_messages: self.relayed_messages,
            relayed_bytes: self.relayed_bytes,
        }
    }
}

/// Why `handle` did nothing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HubError {
    /// The server's mistake: it never called [`Hub::connect`] for this connection (or
    /// already called [`Hub::disconnect`]). Nothing was queued: there is nobody to tell.
    UnknownConn(ConnId),
    /// The peer's mistake; `ServerMsg::Error { code, message }` is queued for it.
    Refused { code: ErrorCode, message: String },
}

impl fmt::Display for HubError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HubError::UnknownConn(c) => write!(f, "{c} is not connected"),
            HubError::Refused { code, message } => write!(f, "refused ({code}): {message}"),
        }
    }
}

impl std::error::Error for HubError {}

#[derive(Clone, Debug)]
struct Peer {
    id: PeerId,
    name: Option<String>,
    room: Option<RoomId>,
    /// Start of the current one-second rate window, and messages seen in it.
    window_start: Instant,
    window_count: u32,
}

#[derive(Clone, Debug)]
struct Room {
    /// In order of joining.
    members: Vec<PeerId>,
    stats: RoomStats,
}

/// The rooms of one signalling server.
#[derive(Clone, Debug)]
pub struct Hub {
    limits: Limits,
    conns: BTreeMap<ConnId, Peer>,
    by_peer: BTreeMap<PeerId, ConnId>,
    rooms: BTreeMap<RoomId, Room>,
    out: VecDeque<(ConnId, ServerMsg)>,
    next_peer: u64,
}

impl Hub {
    pub fn new(limits: Limits) -> Self {
        Hub {
            limits,
            conns: BTreeMap::new(),
            by_peer: BTreeMap::new(),
            rooms: BTreeMap::new(),
            out: VecDeque::new(),
            next_peer: 1,
        }
    }

    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// A fresh room id from 16 bytes of the server's OS RNG. The room itself comes into
    /// being when someone joins it (the hub never holds an empty room).
    pub fn create_room(bytes: [u8; 16]) -> RoomId {
        RoomId::from_bytes(bytes)
    }

    /// A new connection: gives it a peer id and queues `welcome`. Connecting a connection
    /// twice returns its id again and queues nothing.
    pub fn connect(&mut self, conn: ConnId) -> PeerId {
        if let Some(p) = self.conns.get(&conn) {
            return p.id;
        }
        let id = PeerId(self.next_peer);
        self.next_peer += 1;
        let peer = Peer { id, name: None, room: None, window_start: Instant::ZERO, window_count: 0 };
        self.conns.insert(conn, peer);
        self.by_peer.insert(id, conn);
        self.out.push_back((conn, ServerMsg::Welcome { you: id }));
        id
    }

    /// The connection closed: the peer leaves its room (the others get `peer-left`) and
    /// anything still queued for it is dropped. Returns who it was.
    pub fn disconnect(&mut self, conn: ConnId) -> Option<PeerId> {
        let peer = self.conns.remove(&conn)?;
        self.by_peer.remove(&peer.id);
        self.out.retain(|(c, _)| *c != conn);
        if let Some(room) = peer.room {
            self.remove_from_room(peer.id, room);
        }
        Some(peer.id)
    }

    /// One text message from `conn`, as received: checked for size and rate, parsed,
    /// then handled as by [`Hub::handle`].
    pub fn handle_text(&mut self, now: Instant, conn: ConnId, text: &str) -> Result<(), HubError> {
        self.admit(now, conn, text.len())?;
        match ClientMsg::parse_with_limit(text, self.limits.max_message_bytes) {
            Ok(msg) => self.dispatch(conn, msg),
            Err(e) => self.refuse(conn, e.code(), e.to_string()),
        }
    }

    /// One message from `conn`, already parsed (the simulator's path). Its size is that of
    /// its JSON text.
    pub fn handle(&mut self, now: Instant, conn: ConnId, msg: ClientMsg) -> Result<(), HubError> {
        let len = msg.to_json().len();
        self.admit(now, conn, len)?;
        self.dispatch(conn, msg)
    }

    /// The next message to send, and to whom; `None` when there is nothing left.
    pub fn poll(&mut self) -> Option<(ConnId, ServerMsg)> {
        self.out.pop_front()
    }

    /// The peer on a connection.
    pub fn peer_of(&self, conn: ConnId) -> Option<PeerId> {
        self.conns.get(&conn).map(|p| p.id)
    }

    /// The connection of a peer.
    pub fn conn_of(&self, peer: PeerId) -> Option<ConnId> {
        self.by_peer.get(&peer).copied()
    }

    /// The room a peer is in.
    pub fn room_of(&self, peer: PeerId) -> Option<RoomId> {
        self.conn_of(peer).and_then(|c| self.conns.get(&c)).and_then(|p| p.room)
    }

    /// A room's members in order of joining; empty if there is no such room.
    pub fn members(&self, room: &RoomId) -> &[PeerId] {
        self.rooms.get(room).map_or(&[], |r| r.members.as_slice())
    }

    /// Every room, in id order.
    pub fn rooms(&self) -> impl Iterator<Item = RoomId> + '_ {
        self.rooms.keys().copied()
    }

    pub fn room_count(&self) -> usize {
        self.rooms.len()
    }

    /// Connected peers, in a room or not.
    pub fn peer_count(&self) -> usize {
        self.conns.len()
    }

    pub fn stats(&self, room: &RoomId) -> Option<RoomStats> {
        self.rooms.get(room).map(|r| r.stats)
    }

    /// Checks the connection, the rate and the size, in that order.
    fn admit(&mut self, now: Instant, conn: ConnId, len: usize) -> Result<(), HubError> {
        let Some(peer) = self.conns.get_mut(&conn) else {
            return Err(HubError::UnknownConn(conn));
        };
        if let Some(max) = self.limits.max_messages_per_second {
            if now >= peer.window_start + Duration::from_secs(1) || now < peer.window_start {
                peer.window_start = now;
                peer.window_count = 0;
            }
            peer.window_count = peer.window_count.saturating_add(1);
            if peer.window_count > max {
                return self.refuse(conn, ErrorCode::RateLimited, format!("more than {max} messages in a second"));
            }
        }
        if len > self.limits.max_message_bytes {
            let e = MsgError::TooLarge { len, max: self.limits.max_message_bytes };
            return self.refuse(conn, e.code(), e.to_string());
        }
        Ok(())
    }

    fn refuse(&mut self, conn: ConnId, code: ErrorCode, message: String) -> Result<(), HubError> {
        self.out.push_back((conn, ServerMsg::Error { code, message: message.clone() }));
        Err(HubError::Refused { code, message })
    }

    fn dispatch(&mut self, conn: ConnId, msg: ClientMsg) -> Result<(), HubError> {
        let Some(peer) = self.conns.get(&conn) else {
            return Err(HubError::UnknownConn(conn));
        };
        let (me, my_room) = (peer.id, peer.room);
        match msg {
            ClientMsg::Join { room, name } => self.join(conn, me, my_room, room, name),
            ClientMsg::Leave => match my_room {
                Some(room) => {
                    if let Some(p) = self.conns.get_mut(&conn) {
                        p.room = None;
                    }
                    self.remove_from_room(me, room);
                    Ok(())
                }
                None => self.refuse(conn, ErrorCode::NotInRoom, "you are in no room".into()),
            },
            ClientMsg::Offer { to, sdp } => self.forward(conn, me, my_room, to, ServerMsg::Offer { from: me, sdp }),
            ClientMsg::Answer { to, sdp } => self.forward(conn, me, my_room, to, ServerMsg::Answer { from: me, sdp }),
            ClientMsg::Candidate { to, candidate, sdp_mid, sdp_mline_index } => {
                let msg = ServerMsg::Candidate { from: me, candidate, sdp_mid, sdp_mline_index };
                self.forward(conn, me, my_room, to, msg)
            }
            ClientMsg::Relay { data } => {
                let Some(room) = my_room else {
                    return self.refuse(conn, ErrorCode::NotInRoom, "join a room before relaying".into());
                };
                let others: Vec<PeerId> = self.members(&room).iter().copied().filter(|p| *p != me).collect();
                let msg = ServerMsg::Relayed { from: me, data };
                let bytes = msg.to_json().len() as u64;
                for other in others {
                    if let Some(c) = self.conn_of(other) {
                        self.out.push_back((c, msg.clone()));
                        if let Some(r) = self.rooms.get_mut(&room) {
                            r.stats.room_messages += 1;
                            r.stats.room_bytes += bytes;
                            r.stats.relayed_messages += 1;
                            r.stats.relayed_bytes += bytes;
                        }
                    }
                }
                Ok(())
            }
            ClientMsg::Ping => {
                self.out.push_back((conn, ServerMsg::Pong));
                if let Some(stats) = my_room.and_then(|r| self.stats(&r)) {
                    self.out.push_back((conn, stats.to_msg()));
                }
                Ok(())
            }
        }
    }

    fn join(
        &mut self,
        conn: ConnId,
        me: PeerId,
        current: Option<RoomId>,
        room: RoomId,
        name: Option<String>,
    ) -> Result<(), HubError> {
        if let Some(cur) = current {
            let msg = if cur == room { "you are already in this room".into() } else { format!("leave {cur} first") };
            return self.refuse(conn, ErrorCode::AlreadyInRoom, msg);
        }
        if let Some(n) = &name {
            let chars = n.chars().count();
            if chars > self.limits.max_name_chars || n.chars().any(char::is_control) {
                let msg = format!("a name is at most {} printable characters", self.limits.max_name_chars);
                return self.refuse(conn, ErrorCode::BadMessage, msg);
            }
        }
        match self.rooms.get(&room) {
            Some(r) if r.members.len() >= self.limits.max_peers_per_room => {
                let msg = format!("the room has its {} members", self.limits.max_peers_per_room);
                return self.refuse(conn, ErrorCode::RoomFull, msg);
            }
            None if self.rooms.len() >= self.limits.max_rooms => {
                let msg = format!("the server has its {} rooms", self.limits.max_rooms);
                return self.refuse(conn, ErrorCode::ServerFull, msg);
            }
            _ => {}
        }
        let peers: Vec<PeerInfo> = self.members(&room).iter().map(|p| self.info(*p)).collect();
        if let Some(p) = self.conns.get_mut(&conn) {
            p.room = Some(room);
            p.name = name.clone();
        }
        self.rooms
            .entry(room)
            .or_insert_with(|| Room { members: Vec::new(), stats: RoomStats::default() })
            .members
            .push(me);
        let others: Vec<PeerId> = peers.iter().map(|p| p.id).collect();
        self.out.push_back((conn, ServerMsg::Joined { room, you: me, peers }));
        for other in others {
            if let Some(c) = self.conn_of(other) {
                self.out.push_back((c, ServerMsg::PeerJoined { peer: PeerInfo { id: me, name: name.clone() } }));
            }
        }
        Ok(())
    }

    fn info(&self, peer: PeerId) -> PeerInfo {
        let name = self.conn_of(peer).and_then(|c| self.conns.get(&c)).and_then(|p| p.name.clone());
        PeerInfo { id: peer, name }
    }

    /// Sends an offer, answer or candidate to `to`, if it is another member of the room.
    fn forward(
        &mut self,
        conn: ConnId,
        me: PeerId,
        my_room: Option<RoomId>,
        to: PeerId,
        msg: ServerMsg,
    ) -> Result<(), HubError> {
        let Some(room) = my_room else {
            return self.refuse(conn, ErrorCode::NotInRoom, format!("join a room before sending {}", msg.type_name()));
        };
        let target = self.conn_of(to).filter(|_| to != me && self.room_of(to) == Some(room));
        let Some(target) = target else {
            return self.refuse(conn, ErrorCode::NoSuchPeer, format!("{to} is not another member of your room"));
        };
        let bytes = msg.to_json().len() as u64;
        if let Some(r) = self.rooms.get_mut(&room) {
            r.stats.room_messages += 1;
            r.stats.room_bytes += bytes;
        }
        self.out.push_back((target, msg));
        Ok(())
    }

    /// Takes `peer` out of `room` (its own record is the caller's business), tells the
    /// rest, and removes the room if it is now empty.
    fn remove_from_room(&mut self, peer: PeerId, room: RoomId) {
        let Some(r) = self.rooms.get_mut(&room) else { return };
        r.members.retain(|p| *p != peer);
        if r.members.is_empty() {
            self.rooms.remove(&room);
            return;
        }
        let rest = r.members.clone();
        for other in rest {
            if let Some(c) = self.conn_of(other) {
                self.out.push_back((c, ServerMsg::PeerLeft { peer }));
            }
        }
    }
}
