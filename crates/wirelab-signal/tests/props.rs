//! Property tests: random hub sessions keep the room invariants and route every message
//! inside the sender's room; parsers never panic on anything.
#![cfg(not(target_arch = "wasm32"))]

use proptest::prelude::*;
use std::collections::BTreeSet;
use wirelab_core::Instant;
use wirelab_signal::{Candidate, ClientMsg, ConnId, Hub, Limits, PeerId, RoomId, ServerMsg, explain};

#[derive(Clone, Debug)]
enum Op {
    Connect(u8),
    Disconnect(u8),
    Join(u8, u8),
    Leave(u8),
    Offer(u8, u8),
    Candidate(u8, u8),
    Relay(u8),
    Ping(u8),
    Text(u8, String),
    Tick(u16),
}

fn op() -> impl Strategy<Value = Op> {
    let c = 0u8..6;
    prop_oneof![
        3 => c.clone().prop_map(Op::Connect),
        1 => c.clone().prop_map(Op::Disconnect),
        3 => (c.clone(), 0u8..3).prop_map(|(c, r)| Op::Join(c, r)),
        1 => c.clone().prop_map(Op::Leave),
        2 => (c.clone(), 0u8..9).prop_map(|(c, p)| Op::Offer(c, p)),
        1 => (c.clone(), 0u8..9).prop_map(|(c, p)| Op::Candidate(c, p)),
        2 => c.clone().prop_map(Op::Relay),
        1 => c.clone().prop_map(Op::Ping),
        1 => (c, "\\PC{0,40}").prop_map(|(c, s)| Op::Text(c, s)),
        1 => (0u16..1500).prop_map(Op::Tick),
    ]
}

fn limits() -> Limits {
    Limits {
        max_rooms: 2,
        max_peers_per_room: 3,
        max_message_bytes: 200,
        max_messages_per_second: Some(10),
        max_name_chars: 8,
    }
}

fn check_invariants(hub: &Hub, connected: &BTreeSet<ConnId>) -> Result<(), TestCaseError> {
    let lim = hub.limits();
    prop_assert!(hub.room_count() <= lim.max_rooms);
    prop_assert_eq!(hub.peer_count(), connected.len());
    let mut seen = BTreeSet::new();
    for room in hub.rooms() {
        let members = hub.members(&room);
        prop_assert!(!members.is_empty(), "empty room {}", room);
        prop_assert!(members.len() <= lim.max_peers_per_room);
        for &p in members {
            prop_assert!(seen.insert(p), "{} is in two rooms", p);
            prop_assert_eq!(hub.room_of(p), Some(room));
            let conn = hub.conn_of(p);
            prop_assert!(conn.is_some_and(|c| connected.contains(&c)), "{} is not connected", p);
        }
    }
    Ok(())
}

/// Every output goes to a live connection, and every message about or from a peer goes
/// only to someone in that peer's room.
fn check_outputs(hub: &mut Hub, connected: &BTreeSet<ConnId>) -> Result<(), TestCaseError> {
    while let Some((conn, msg)) = hub.poll() {
        prop_assert!(connected.contains(&conn), "{} to dead {}", msg, conn);
        let me = hub.peer_of(conn).ok_or_else(|| TestCaseError::fail("no peer"))?;
        let my_room = hub.room_of(me);
        match &msg {
            ServerMsg::Offer { from, .. }
            | ServerMsg::Answer { from, .. }
            | ServerMsg::Candidate { from, .. }
            | ServerMsg::Relayed { from, .. } => {
                prop_assert_ne!(*from, me);
                prop_assert!(my_room.is_some());
                prop_assert_eq!(hub.room_of(*from), my_room, "{} crossed rooms", msg);
            }
            ServerMsg::PeerJoined { peer } => {
                prop_assert!(my_room.is_some() && hub.room_of(peer.id) == my_room);
            }
            ServerMsg::PeerLeft { peer } => {
                prop_assert!(my_room.is_some() && hub.room_of(*peer) != my_room);
            }
            ServerMsg::Joined { room, you, peers } => {
                prop_assert_eq!(*you, me);
                prop_assert_eq!(my_room, Some(*room));
                prop_assert!(peers.iter().all(|p| p.id != me && hub.room_of(p.id) == Some(*room)));
            }
            ServerMsg::Welcome { you } => prop_assert_eq!(*you, me),
            ServerMsg::Stats { .. } => prop_assert!(my_room.is_some()),
            ServerMsg::Pong | ServerMsg::Error { .. } => {}
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn random_sessions_keep_the_room_invariants(ops in proptest::collection::vec(op(), 1..120)) {
        let mut hub = Hub::new(limits());
        let mut connected = BTreeSet::new();
        let mut now = Instant::ZERO;
        for op in ops {
            let conn = |c: u8| ConnId(u64::from(c));
            // Errors are expected (refusals); panics are not. Outputs are checked below.
            let _ = match op {
                Op::Connect(c) => {
                    hub.connect(conn(c));
                    connected.insert(conn(c));
                    Ok(())
                }
                Op::Disconnect(c) => {
                    hub.disconnect(conn(c));
                    connected.remove(&conn(c));
                    Ok(())
                }
                Op::Join(c, r) => hub.handle(now, conn(c), ClientMsg::Join { room: RoomId::from_bytes([r; 16]), name: None }),
                Op::Leave(c) => hub.handle(now, conn(c), ClientMsg::Leave),
                Op::Offer(c, p) => hub.handle(now, conn(c), ClientMsg::Offer { to: PeerId(u64::from(p)), sdp: "v=0".into() }),
                Op::Candidate(c, p) => hub.handle_text(now, conn(c), &format!(r#"{{"type":"candidate","to":{p},"candidate":""}}"#)),
                Op::Relay(c) => hub.handle_text(now, conn(c), r#"{"type":"relay","data":"hi"}"#),
                Op::Ping(c) => hub.handle(now, conn(c), ClientMsg::Ping),
                Op::Text(c, s) => hub.handle_text(now, conn(c), &s),
                Op::Tick(ms) => {
                    now += core::time::Duration::from_millis(u64::from(ms));
                    Ok(())
                }
            };
            check_outputs(&mut hub, &connected)?;
            check_invariants(&hub, &connected)?;
        }
    }

    #[test]
    fn client_parse_never_panics(s in "\\PC*") {
        let _ = ClientMsg::parse(&s);
        let _ = ServerMsg::parse(&s);
    }

    #[test]
    fn json_shaped_junk_never_panics(ty in "[a-z-]{0,12}", field in "[a-z_]{0,10}", v in "\\PC{0,20}") {
        let s = format!(r#"{{"type":"{ty}","{field}":"{v}","to":1}}"#);
        let _ = ClientMsg::parse(&s);
    }

    #[test]
    fn room_ids_round_trip_and_junk_never_panics(bytes in any::<[u8; 16]>(), junk in "\\PC{0,30}") {
        let id = RoomId::from_bytes(bytes);
        prop_assert_eq!(id.to_string().parse::<RoomId>(), Ok(id));
        let _ = junk.parse::<RoomId>();
    }

    #[test]
    fn sdp_and_candidate_parsers_never_panic(s in "\\PC{0,200}") {
        let _ = explain(&s);
        let _ = Candidate::parse(&s);
        let _ = Candidate::parse(&format!("candidate:{s}"));
    }

    #[test]
    fn candidates_round_trip(
        foundation in "[a-zA-Z0-9+/]{1,32}",
        component in 1u16..=256,
        tcp in any::<bool>(),
        priority in any::<u32>(),
        addr in "[0-9]{1,3}\\.[0-9]{1,3}\\.[0-9]{1,3}\\.[0-9]{1,3}",
        port in any::<u16>(),
        typ in 0usize..4,
        rel in proptest::option::of(("[0-9.]{7,15}", any::<u16>())),
        exts in proptest::collection::vec(("[a-z][a-z-]{0,10}", "[a-zA-Z0-9]{1,8}"), 0..4),
    ) {
        let typ = ["host", "srflx", "prflx", "relay"][typ];
        let mut line = format!("candidate:{foundation} {component} {} {priority} {addr} {port} typ {typ}", if tcp { "tcp" } else { "udp" });
        if let Some((a, p)) = &rel {
            line.push_str(&format!(" raddr {a} rport {p}"));
        }
        for (n, v) in &exts {
            // raddr/rport after other extensions are kept as extensions, in order.
            line.push_str(&format!(" {n} {v}"));
        }
        let c = Candidate::parse(&line).map_err(|e| TestCaseError::fail(format!("{line}: {e}")))?;
        prop_assert_eq!(c.to_string(), line.clone());
        prop_assert_eq!(Candidate::parse(&c.to_string()), Ok(c));
    }
}
