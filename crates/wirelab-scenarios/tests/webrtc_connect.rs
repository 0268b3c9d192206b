//! The `webrtc-connect` scenario end to end: the ladder, the JSEP and ICE states, and every
//! frame's bytes checked with codecs that did not write them (wirelab_signal's serde for
//! the signalling, the STUN, SCTP and DCEP decoders with the passwords the SDP announced).
#![cfg(not(target_arch = "wasm32"))]

use wirelab_core::{Frame, Trace, TraceKind};
use wirelab_scenarios::webrtc::{A_ICE, B_ICE, MESSAGE, NODES};
use wirelab_scenarios::{Params, info, run};
use wirelab_signal::{ClientMsg, ServerMsg};
use wirelab_webrtc::stun::{self, Attribute, Class, Message};
use wirelab_webrtc::{dcep, dtls, sctp};

const A: usize = 0;
const SERVER: usize = 1;
const B: usize = 2;

fn trace() -> Trace {
    run("webrtc-connect", &Params::default()).expect("runs")
}

/// Every frame sent, with its sender.
fn frames(t: &Trace) -> Vec<(usize, &Frame)> {
    t.events
        .iter()
        .filter_map(|e| match &e.kind {
            TraceKind::Sent { frame } => Some((e.node, frame)),
            _ => None,
        })
        .collect()
}

/// One layer of each state a node passed through, without repeats.
fn layer(t: &Trace, node: usize, i: usize) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for s in t.state_history(node) {
        let l = s.split(" · ").nth(i).unwrap_or("").to_string();
        if out.last() != Some(&l) {
            out.push(l);
        }
    }
    out
}

/// The ice-ufrag and ice-pwd of the description `node` sent, read from the JSON with
/// wirelab_signal's own parser and the SDP line by line.
fn credentials(t: &Trace, node: usize) -> (String, String) {
    for (n, f) in frames(t) {
        let Ok(ClientMsg::Offer { sdp, .. } | ClientMsg::Answer { sdp, .. }) =
            ClientMsg::parse(std::str::from_utf8(&f.bytes).unwrap_or(""))
        else {
            continue;
        };
        if n != node {
            continue;
        }
        let get = |p: &str| sdp.lines().find_map(|l| l.strip_prefix(p)).map(str::to_string).expect("in the SDP");
        return (get("a=ice-ufrag:"), get("a=ice-pwd:"));
    }
    panic!("node {node} sent no description");
}

#[test]
fn the_ladder_matches_the_snapshot() {
    expect_test::expect_file!["snapshots/webrtc_connect.ladder"].assert_eq(&trace().ascii_ladder());
}

#[test]
fn it_is_in_the_catalogue_and_replays() {
    assert_eq!(info("webrtc-connect").map(|i| i.id), Some("webrtc-connect"));
    assert_eq!(trace(), trace());
    let other = run("webrtc-connect", &Params { seed: 2, ..Params::default() }).expect("runs");
    assert_ne!(credentials(&other, A), credentials(&trace(), A), "ufrag and pwd come from the seed");
    assert_eq!(other.state_history(A).last(), trace().state_history(A).last());
    assert_eq!(trace().nodes.iter().map(|n| n.name.as_str()).collect::<Vec<_>>(), NODES);
}

#[test]
fn jsep_ice_dtls_sctp_and_the_channel_walk_their_states() {
    let t = trace();
    assert_eq!(layer(&t, A, 0), ["stable", "have-local-offer", "stable"]);
    assert_eq!(layer(&t, B, 0), ["stable", "have-remote-offer", "stable"]);
    for node in [A, B] {
        assert_eq!(layer(&t, node, 1), ["ICE new", "ICE checking", "ICE connected", "ICE completed"]);
        assert_eq!(layer(&t, node, 2), ["DTLS new", "DTLS connecting", "DTLS connected"]);
        assert_eq!(layer(&t, node, 4).last().map(String::as_str), Some("channel open"));
    }
    assert_eq!(
        layer(&t, A, 3),
        ["SCTP CLOSED", "SCTP ESTABLISHED"],
        "the side that gets INIT keeps no state until COOKIE ECHO"
    );
    assert_eq!(layer(&t, B, 3), ["SCTP CLOSED", "SCTP COOKIE-WAIT", "SCTP COOKIE-ECHOED", "SCTP ESTABLISHED"]);
    assert_eq!(layer(&t, A, 4), ["no channel", "channel connecting", "channel open"]);
    assert_eq!(layer(&t, B, 4), ["no channel", "channel open"]);
    // Every transition says why, and which RFC says so.
    for e in &t.events {
        if let TraceKind::StateChanged { cause, rfc, .. } = &e.kind {
            assert!(!cause.is_empty() && rfc.is_some(), "{cause}");
        }
    }
    assert!(!t.events.iter().any(|e| matches!(e.kind, TraceKind::Error { .. } | TraceKind::Dropped { .. })));
    // B's application got A's message.
    let got = format!("onmessage on \"chat\": {MESSAGE:?}");
    assert!(t.events.iter().any(|e| e.node == B && matches!(&e.kind, TraceKind::Event { text } if *text == got)));
}

/// What the peers send the server parses as `ClientMsg`, what it forwards as `ServerMsg`,
/// and both are byte for byte what wirelab_signal's serde would have written.
#[test]
fn signalling_is_wirelab_signals_json() {
    let t = trace();
    let mut n = 0;
    for (node, f) in frames(&t) {
        let text = std::str::from_utf8(&f.bytes).unwrap_or("");
        if node == SERVER {
            let m = ServerMsg::parse(text).expect("a ServerMsg");
            assert_eq!(m.to_json(), text);
            n += 1;
        } else if f.to.port() == 443 {
            let m = ClientMsg::parse(text).expect("a ClientMsg");
            assert_eq!(m.to_json(), text);
            n += 1;
        }
    }
    assert_eq!(n, 12, "offer, answer, a candidate and end-of-candidates each way, to and from the server");
    // The SDP carries what a data channel needs.
    let offer = frames(&t)
        .into_iter()
        .find_map(|(_, f)| match ClientMsg::parse(std::str::from_utf8(&f.bytes).unwrap_or("")) {
            Ok(ClientMsg::Offer { sdp, .. }) => Some(sdp),
            _ => None,
        })
        .expect("an offer");
    for line in [
        "m=application 9 UDP/DTLS/SCTP webrtc-datachannel",
        "a=setup:actpass",
        "a=sctp-port:5000",
        "a=max-message-size:262144",
        "a=ice-options:trickle",
    ] {
        assert!(offer.lines().any(|l| l == line), "{line} in\n{offer}");
    }
    assert!(offer.lines().any(|l| l.starts_with("a=fingerprint:sha-256 ") && l.len() == 22 + 95));
    assert!(wirelab_signal::explain(&offer).iter().all(|e| !e.meaning.contains("does not know")));
}

/// Every STUN message decodes, its FINGERPRINT is right, and its MESSAGE-INTEGRITY
/// verifies with the password the right SDP announced: a request with the receiver's, a
/// response with the responder's (RFC 8445 §7.2.2, §7.3) — and not with the other one.
#[test]
fn every_stun_frame_verifies_with_the_right_password() {
    let t = trace();
    let (a_ufrag, a_pwd) = credentials(&t, A);
    let (b_ufrag, b_pwd) = credentials(&t, B);
    let mut seen = Vec::new();
    for (node, f) in frames(&t) {
        if !stun::looks_like_stun(&f.bytes) {
            continue;
        }
        let m = Message::decode(&f.bytes).expect("decodes");
        stun::verify_fingerprint(&f.bytes).expect("FINGERPRINT");
        let sender_is_a = node == A;
        let (key, wrong) = match (m.class, sender_is_a) {
            (Class::Request, true) | (Class::SuccessResponse, false) => (&b_pwd, &a_pwd),
            _ => (&a_pwd, &b_pwd),
        };
        assert_eq!(stun::verify_integrity(&f.bytes, key.as_bytes()), Ok(()), "{}", f.annotation.summary);
        assert_eq!(stun::verify_integrity(&f.bytes, wrong.as_bytes()), Err(stun::StunError::IntegrityMismatch));
        if m.class == Class::Request {
            let (to_ufrag, from_ufrag) = if sender_is_a { (&b_ufrag, &a_ufrag) } else { (&a_ufrag, &b_ufrag) };
            assert_eq!(m.get(stun::attr::USERNAME), Some(&Attribute::Username(format!("{to_ufrag}:{from_ufrag}"))));
            assert!(matches!(m.get(stun::attr::PRIORITY), Some(Attribute::Priority(1_862_270_975))));
        } else {
            let mapped = if sender_is_a { B_ICE } else { A_ICE };
            assert_eq!(m.get(stun::attr::XOR_MAPPED_ADDRESS), Some(&Attribute::XorMappedAddress(mapped)));
        }
        seen.push((
            node,
            m.class,
            m.get(stun::attr::USE_CANDIDATE).is_some(),
            m.get(stun::attr::ICE_CONTROLLING).is_some(),
        ));
    }
    assert_eq!(
        seen,
        [
            (A, Class::Request, true, true),
            (B, Class::SuccessResponse, false, false),
            (B, Class::Request, false, false),
            (A, Class::SuccessResponse, false, false),
        ]
    );
}

/// The DTLS flights, the SCTP packets inside (their CRC-32C, their tags), and the DCEP
/// messages inside those.
#[test]
fn dtls_sctp_and_dcep_frames_decode() {
    let t = trace();
    let mut flights = Vec::new();
    let mut sctp_chunks = Vec::new();
    let mut dcep_msgs = Vec::new();
    for (node, f) in frames(&t) {
        if f.bytes.first().is_none_or(|b| !(20..=63).contains(b)) {
            continue;
        }
        assert_eq!(f.annotation.error, None);
        let records = dtls::decode(&f.bytes).expect("DTLS records");
        let kinds: Vec<u8> = records.iter().filter_map(|(_, r)| dtls::handshake_type(r)).collect();
        if !kinds.is_empty() {
            flights.push((node, kinds));
        }
        for (_, r) in records.iter().filter(|(_, r)| r.content_type == dtls::APPLICATION_DATA) {
            assert_eq!(r.epoch, 1);
            let p = sctp::Packet::decode(&r.fragment).expect("SCTP with a good CRC-32C");
            assert_eq!((p.src_port, p.dst_port), (5000, 5000));
            for c in &p.chunks {
                sctp_chunks.push((
                    node,
                    sctp::chunk_name(match c {
                        sctp::Chunk::Data { .. } => sctp::DATA,
                        sctp::Chunk::Init(_) => sctp::INIT,
                        sctp::Chunk::InitAck(_) => sctp::INIT_ACK,
                        sctp::Chunk::Sack { .. } => sctp::SACK,
                        sctp::Chunk::CookieEcho(_) => sctp::COOKIE_ECHO,
                        sctp::Chunk::CookieAck => sctp::COOKIE_ACK,
                        sctp::Chunk::Other { ty, .. } => *ty,
                    }),
                ));
                if let sctp::Chunk::Data { ppid, data, stream, .. } = c {
                    assert_eq!(*stream, 1, "the DTLS server's channel: an odd stream (RFC 8832 §6)");
                    match *ppid {
                        dcep::ppid::DCEP => dcep_msgs.push(dcep::Message::decode(data).expect("DCEP")),
                        dcep::ppid::STRING => assert_eq!(data, MESSAGE.as_bytes()),
                        other => panic!("PPID {other}"),
                    }
                }
            }
        }
    }
    use dtls::*;
    assert_eq!(
        flights,
        [
            (B, vec![CLIENT_HELLO]),
            (A, vec![SERVER_HELLO, CERTIFICATE, SERVER_KEY_EXCHANGE, CERTIFICATE_REQUEST, SERVER_HELLO_DONE]),
            (B, vec![CERTIFICATE, CLIENT_KEY_EXCHANGE, CERTIFICATE_VERIFY, FINISHED]),
            (A, vec![FINISHED]),
        ]
    );
    let names: Vec<(usize, &str)> = sctp_chunks;
    assert_eq!(
        names,
        [
            (B, "INIT"),
            (A, "INIT ACK"),
            (B, "COOKIE ECHO"),
            (A, "COOKIE ACK"),
            (A, "DATA"),
            (B, "SACK"),
            (B, "DATA"),
            (A, "SACK"),
            (A, "DATA"),
            (B, "SACK"),
        ]
    );
    assert_eq!(
        dcep_msgs,
        [
            dcep::Message::Open(dcep::Open {
                ordered: true,
                reliability: dcep::Reliability::Reliable,
                priority: 256,
                label: "chat".into(),
                protocol: String::new(),
            }),
            dcep::Message::Ack
        ]
    );
}

/// Every frame is explained without error, and every byte of a STUN, DTLS or SCTP frame
/// belongs to a named field.
#[test]
fn every_frame_is_annotated() {
    let t = trace();
    for (_, f) in frames(&t) {
        let a = &f.annotation;
        assert_eq!(a.error, None, "{}", a.summary);
        assert!(!a.fields.is_empty() && !a.summary.is_empty());
        if f.bytes[0] != b'{' {
            for i in 0..f.bytes.len() {
                // Under a DTLS record or an SCTP chunk, a field of its own, not only the
                // record's or chunk's outline.
                let deepest = a.field_at(i).map(|k| &a.fields[k]);
                let leaf = deepest.is_some_and(|x| a.protocol == "STUN" || x.depth > 0);
                assert!(leaf, "byte {i} of {}", a.summary);
            }
        }
    }
    // The SDP inside an offer is explained line by line.
    let (_, offer) = frames(&t).into_iter().next().expect("the offer");
    let fp = offer.annotation.fields.iter().find(|f| f.name == "a=fingerprint").expect("a=fingerprint explained");
    assert!(fp.meaning.contains("RFC 8122"), "{}", fp.meaning);
}
