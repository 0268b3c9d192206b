//! The room hub with two and three peers: who hears what, and every refusal.

use wirelab_core::Instant;
use wirelab_signal::{
    ClientMsg, ConnId, ErrorCode, Hub, HubError, Limits, PeerId, PeerInfo, RoomId, RoomStats, ServerMsg,
};

const T0: Instant = Instant::ZERO;
const A: ConnId = ConnId(10);
const B: ConnId = ConnId(20);
const C: ConnId = ConnId(30);
const D: ConnId = ConnId(40);

fn room(n: u8) -> RoomId {
    RoomId::from_bytes([n; 16])
}

fn drain(hub: &mut Hub) -> Vec<(ConnId, ServerMsg)> {
    std::iter::from_fn(|| hub.poll()).collect()
}

fn join(hub: &mut Hub, conn: ConnId, r: RoomId) {
    hub.handle(T0, conn, ClientMsg::Join { room: r, name: None }).expect("join");
}

/// A hub with A, B (and C) connected and in room 1, outputs drained.
fn hub_with(conns: &[ConnId]) -> Hub {
    let mut hub = Hub::new(Limits::default());
    for &c in conns {
        hub.connect(c);
    }
    for &c in conns {
        join(&mut hub, c, room(1));
    }
    drain(&mut hub);
    hub
}

fn refused(code: ErrorCode) -> impl Fn(&Result<(), HubError>) -> bool {
    move |r| matches!(r, Err(HubError::Refused { code: c, .. }) if *c == code)
}

#[test]
fn connect_welcomes_with_a_fresh_peer_id() {
    let mut hub = Hub::new(Limits::default());
    assert_eq!(hub.connect(A), PeerId(1));
    assert_eq!(hub.connect(B), PeerId(2));
    assert_eq!(hub.connect(A), PeerId(1), "connecting twice gives the same id");
    assert_eq!(
        drain(&mut hub),
        vec![(A, ServerMsg::Welcome { you: PeerId(1) }), (B, ServerMsg::Welcome { you: PeerId(2) })]
    );
    // Ids are never reused.
    hub.disconnect(A);
    assert_eq!(hub.connect(A), PeerId(3));
}

#[test]
fn two_peers_join_and_learn_of_each_other() {
    let mut hub = Hub::new(Limits::default());
    hub.connect(A);
    hub.connect(B);
    drain(&mut hub);
    hub.handle(T0, A, ClientMsg::Join { room: room(1), name: Some("ada".into()) }).expect("should succeed");
    assert_eq!(drain(&mut hub), vec![(A, ServerMsg::Joined { room: room(1), you: PeerId(1), peers: vec![] })]);
    hub.handle(T0, B, ClientMsg::Join { room: room(1), name: Some("bob".into()) }).expect("should succeed");
    assert_eq!(
        drain(&mut hub),
        vec![
            (
                B,
                ServerMsg::Joined {
                    room: room(1),
                    you: PeerId(2),
                    peers: vec![PeerInfo { id: PeerId(1), name: Some("ada".into()) }]
                }
            ),
            (A, ServerMsg::PeerJoined { peer: PeerInfo { id: PeerId(2), name: Some("bob".into()) } }),
        ]
    );
    assert_eq!(hub.members(&room(1)), &[PeerId(1), PeerId(2)]);
    assert_eq!(hub.room_of(PeerId(2)), Some(room(1)));
}

#[test]
fn offer_answer_and_candidates_go_only_to_the_named_peer() {
    let mut hub = hub_with(&[A, B, C]);
    // A (p1) offers to C (p3); B hears nothing.
    hub.handle(T0, A, ClientMsg::Offer { to: PeerId(3), sdp: "offer-sdp".into() }).expect("should succeed");
    assert_eq!(drain(&mut hub), vec![(C, ServerMsg::Offer { from: PeerId(1), sdp: "offer-sdp".into() })]);
    hub.handle(T0, C, ClientMsg::Answer { to: PeerId(1), sdp: "answer-sdp".into() }).expect("should succeed");
    assert_eq!(drain(&mut hub), vec![(A, ServerMsg::Answer { from: PeerId(3), sdp: "answer-sdp".into() })]);
    let cand = ClientMsg::Candidate {
        to: PeerId(3),
        candidate: "candidate:1 1 udp 1 192.0.2.1 9 typ host".into(),
        sdp_mid: Some("0".into()),
        sdp_mline_index: Some(0),
    };
    hub.handle(T0, A, cand).expect("should succeed");
    assert_eq!(
        drain(&mut hub),
        vec![(
            C,
            ServerMsg::Candidate {
                from: PeerId(1),
                candidate: "candidate:1 1 udp 1 192.0.2.1 9 typ host".into(),
                sdp_mid: Some("0".into()),
                sdp_mline_index: Some(0),
            }
        )]
    );
    // The same through the text path.
    hub.handle_text(T0, B, r#"{"type":"offer","to":1,"sdp":"x"}"#).expect("should succeed");
    assert_eq!(drain(&mut hub), vec![(A, ServerMsg::Offer { from: PeerId(2), sdp: "x".into() })]);
}

#[test]
fn messages_to_yourself_nobody_or_another_room_are_refused() {
    let mut hub = hub_with(&[A, B]);
    hub.connect(C);
    join(&mut hub, C, room(2));
    drain(&mut hub);
    for to in [PeerId(1), PeerId(99), PeerId(3)] {
        let r = hub.handle(T0, A, ClientMsg::Offer { to, sdp: "x".into() });
        assert!(refused(ErrorCode::NoSuchPeer)(&r), "to {to}: {r:?}");
        let out = drain(&mut hub);
        assert_eq!(out.len(), 1);
        assert!(matches!(&out[0], (A, ServerMsg::Error { code: ErrorCode::NoSuchPeer, .. })), "{out:?}");
    }
    // C, in room 2, cannot reach B in room 1 either.
    let r = hub.handle(T0, C, ClientMsg::Answer { to: PeerId(2), sdp: "x".into() });
    assert!(refused(ErrorCode::NoSuchPeer)(&r));
    assert!(drain(&mut hub).iter().all(|(c, _)| *c == C));
}

#[test]
fn signalling_before_joining_is_refused() {
    let mut hub = Hub::new(Limits::default());
    hub.connect(A);
    hub.connect(B);
    drain(&mut hub);
    let msgs =
        [ClientMsg::Offer { to: PeerId(2), sdp: "x".into() }, ClientMsg::Relay { data: "x".into() }, ClientMsg::Leave];
    for m in msgs {
        assert!(refused(ErrorCode::NotInRoom)(&hub.handle(T0, A, m)));
    }
    assert_eq!(drain(&mut hub).len(), 3);
    // Ping works anywhere; no stats outside a room.
    hub.handle(T0, A, ClientMsg::Ping).expect("should succeed");
    assert_eq!(drain(&mut hub), vec![(A, ServerMsg::Pong)]);
}

#[test]
fn a_peer_is_in_at_most_one_room() {
    let mut hub = hub_with(&[A]);
    assert!(refused(ErrorCode::AlreadyInRoom)(&hub.handle(T0, A, ClientMsg::Join { room: room(2), name: None })));
    assert!(refused(ErrorCode::AlreadyInRoom)(&hub.handle(T0, A, ClientMsg::Join { room: room(1), name: None })));
    assert_eq!(hub.room_count(), 1);
    hub.handle(T0, A, ClientMsg::Leave).expect("should succeed");
    assert_eq!(hub.room_count(), 0, "the last one out removes the room");
    join(&mut hub, A, room(2));
    assert_eq!(hub.room_of(PeerId(1)), Some(room(2)));
}

#[test]
fn leaving_and_disconnecting_tell_the_rest() {
    let mut hub = hub_with(&[A, B, C]);
    hub.handle(T0, B, ClientMsg::Leave).expect("should succeed");
    assert_eq!(
        drain(&mut hub),
        vec![(A, ServerMsg::PeerLeft { peer: PeerId(2) }), (C, ServerMsg::PeerLeft { peer: PeerId(2) })]
    );
    assert_eq!(hub.disconnect(A), Some(PeerId(1)));
    assert_eq!(drain(&mut hub), vec![(C, ServerMsg::PeerLeft { peer: PeerId(1) })]);
    assert_eq!(hub.members(&room(1)), &[PeerId(3)]);
    assert_eq!(hub.disconnect(C), Some(PeerId(3)));
    assert_eq!(drain(&mut hub), vec![]);
    assert_eq!(hub.room_count(), 0);
    assert_eq!(hub.disconnect(C), None);
    assert_eq!(hub.handle(T0, C, ClientMsg::Ping), Err(HubError::UnknownConn(C)));
    assert_eq!(drain(&mut hub), vec![]);
}

#[test]
fn messages_queued_for_a_connection_are_dropped_when_it_goes() {
    let mut hub = hub_with(&[A, B]);
    hub.handle(T0, A, ClientMsg::Offer { to: PeerId(2), sdp: "x".into() }).expect("should succeed");
    hub.disconnect(B);
    assert_eq!(drain(&mut hub), vec![(A, ServerMsg::PeerLeft { peer: PeerId(2) })]);
}

#[test]
fn a_full_room_refuses_the_next_peer() {
    let mut hub = Hub::new(Limits { max_peers_per_room: 2, ..Limits::default() });
    for c in [A, B, C] {
        hub.connect(c);
    }
    join(&mut hub, A, room(1));
    join(&mut hub, B, room(1));
    drain(&mut hub);
    let r = hub.handle(T0, C, ClientMsg::Join { room: room(1), name: None });
    assert!(refused(ErrorCode::RoomFull)(&r), "{r:?}");
    assert!(matches!(drain(&mut hub).as_slice(), [(C, ServerMsg::Error { code: ErrorCode::RoomFull, .. })]));
    assert_eq!(hub.members(&room(1)).len(), 2);
    // Room for one again when someone leaves.
    hub.handle(T0, A, ClientMsg::Leave).expect("should succeed");
    join(&mut hub, C, room(1));
}

#[test]
fn a_full_server_refuses_a_new_room_but_not_an_existing_one() {
    let mut hub = Hub::new(Limits { max_rooms: 1, ..Limits::default() });
    for c in [A, B, C] {
        hub.connect(c);
    }
    join(&mut hub, A, room(1));
    assert!(refused(ErrorCode::ServerFull)(&hub.handle(T0, B, ClientMsg::Join { room: room(2), name: None })));
    join(&mut hub, C, room(1));
}

#[test]
fn relay_reaches_everyone_else_and_is_counted() {
    let mut hub = hub_with(&[A, B, C]);
    hub.handle(T0, A, ClientMsg::Relay { data: "hello".into() }).expect("should succeed");
    let relayed = ServerMsg::Relayed { from: PeerId(1), data: "hello".into() };
    assert_eq!(drain(&mut hub), vec![(B, relayed.clone()), (C, relayed.clone())]);
    let per_copy = relayed.to_json().len() as u64;
    assert_eq!(
        hub.stats(&room(1)),
        Some(RoomStats {
            room_messages: 2,
            room_bytes: 2 * per_copy,
            relayed_messages: 2,
            relayed_bytes: 2 * per_copy
        })
    );
    // Signalling counts towards the room, not the relay.
    let offer = ServerMsg::Offer { from: PeerId(2), sdp: "v=0".into() };
    hub.handle(T0, B, ClientMsg::Offer { to: PeerId(3), sdp: "v=0".into() }).expect("should succeed");
    drain(&mut hub);
    let expected = RoomStats {
        room_messages: 3,
        room_bytes: 2 * per_copy + offer.to_json().len() as u64,
        relayed_messages: 2,
        relayed_bytes: 2 * per_copy,
    };
    assert_eq!(hub.stats(&room(1)), Some(expected));
    // Ping reports them.
    hub.handle(T0, C, ClientMsg::Ping).expect("should succeed");
    assert_eq!(drain(&mut hub), vec![(C, ServerMsg::Pong), (C, expected.to_msg())]);
    // Alone in a room, a relay reaches nobody and costs nothing.
    let mut hub = hub_with(&[D]);
    hub.handle(T0, D, ClientMsg::Relay { data: "echo?".into() }).expect("should succeed");
    assert_eq!(drain(&mut hub), vec![]);
    assert_eq!(hub.stats(&room(1)), Some(RoomStats::default()));
}

#[test]
fn rooms_have_separate_stats() {
    let mut hub = Hub::new(Limits::default());
    for c in [A, B, C, D] {
        hub.connect(c);
    }
    join(&mut hub, A, room(1));
    join(&mut hub, B, room(1));
    join(&mut hub, C, room(2));
    join(&mut hub, D, room(2));
    hub.handle(T0, A, ClientMsg::Relay { data: "x".into() }).expect("should succeed");
    assert_eq!(hub.stats(&room(1)).map(|s| s.relayed_messages), Some(1));
    assert_eq!(hub.stats(&room(2)).map(|s| s.relayed_messages), Some(0));
}

#[test]
fn bad_text_is_refused_with_the_right_code() {
    let mut hub = hub_with(&[A]);
    let cases = [
        ("not json", ErrorCode::BadMessage),
        (r#"{"type":"dance"}"#, ErrorCode::BadMessage),
        (r#"{"type":"offer","to":-1,"sdp":""}"#, ErrorCode::BadMessage),
        (r#"{"type":"join","room":"lobby"}"#, ErrorCode::BadRoomId),
    ];
    for (text, code) in cases {
        assert!(refused(code)(&hub.handle_text(T0, A, text)), "{text}");
        assert!(matches!(drain(&mut hub).as_slice(), [(A, ServerMsg::Error { code: c, .. })] if *c == code));
    }
    let mut hub = Hub::new(Limits { max_message_bytes: 100, ..Limits::default() });
    hub.connect(A);
    drain(&mut hub);
    let big = format!(r#"{{"type":"relay","data":"{}"}}"#, "x".repeat(100));
    assert!(refused(ErrorCode::TooLarge)(&hub.handle_text(T0, A, &big)));
    assert!(refused(ErrorCode::TooLarge)(&hub.handle(T0, A, ClientMsg::Relay { data: "x".repeat(100) })));
}

#[test]
fn names_are_bounded() {
    let mut hub = Hub::new(Limits { max_name_chars: 4, ..Limits::default() });
    hub.connect(A);
    let r = hub.handle(T0, A, ClientMsg::Join { room: room(1), name: Some("abcde".into()) });
    assert!(refused(ErrorCode::BadMessage)(&r));
    let r = hub.handle(T0, A, ClientMsg::Join { room: room(1), name: Some("a\nb".into()) });
    assert!(refused(ErrorCode::BadMessage)(&r));
    assert_eq!(hub.room_count(), 0);
    hub.handle(T0, A, ClientMsg::Join { room: room(1), name: Some("äöüß".into()) }).expect("should succeed");
}

#[test]
fn the_rate_limit_counts_per_connection_per_second_of_virtual_time() {
    let mut hub = Hub::new(Limits { max_messages_per_second: Some(3), ..Limits::default() });
    hub.connect(A);
    hub.connect(B);
    drain(&mut hub);
    for _ in 0..3 {
        hub.handle(T0, A, ClientMsg::Ping).expect("should succeed");
    }
    assert!(refused(ErrorCode::RateLimited)(&hub.handle(T0, A, ClientMsg::Ping)));
    assert!(refused(ErrorCode::RateLimited)(&hub.handle_text(Instant::from_millis(999), A, "junk")));
    // B has its own budget.
    hub.handle(T0, B, ClientMsg::Ping).expect("should succeed");
    // A second later, A may talk again.
    hub.handle(Instant::from_millis(1_000), A, ClientMsg::Ping).expect("should succeed");
    let errors = drain(&mut hub)
        .into_iter()
        .filter(|(_, m)| matches!(m, ServerMsg::Error { code: ErrorCode::RateLimited, .. }))
        .count();
    assert_eq!(errors, 2);
}

#[test]
fn same_inputs_same_outputs() {
    let run = || {
        let mut hub = Hub::new(Limits::default());
        let mut out = Vec::new();
        for c in [C, A, B] {
            hub.connect(c);
            join(&mut hub, c, room(c.0 as u8));
            hub.handle_text(T0, c, r#"{"type":"relay","data":"x"}"#).expect("should succeed");
            out.extend(drain(&mut hub));
        }
        hub.disconnect(A);
        out.extend(drain(&mut hub));
        out
    };
    assert_eq!(run(), run());
}
