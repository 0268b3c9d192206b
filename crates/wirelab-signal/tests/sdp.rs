//! The SDP explainer on an offer as Chromium writes it for a data channel, and ICE
//! candidates of every type.

use wirelab_signal::{Candidate, CandidateError, CandidateType, explain, explain_line};

/// What `pc.createDataChannel("chat"); await pc.createOffer()` gives in Chromium,
/// before any candidate is gathered (trickle ICE sends those separately).
const CHROME_OFFER: &str = "v=0\r\n\
o=- 4611731400430051336 2 IN IP4 127.0.0.1\r\n\
s=-\r\n\
t=0 0\r\n\
a=group:BUNDLE 0\r\n\
a=extmap-allow-mixed\r\n\
a=msid-semantic: WMS\r\n\
m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n\
c=IN IP4 0.0.0.0\r\n\
a=ice-ufrag:EsAw\r\n\
a=ice-pwd:bP+XJMM09aR8AiX1jdukzR6Y\r\n\
a=ice-options:trickle\r\n\
a=fingerprint:sha-256 6B:8B:5D:EA:59:04:20:23:29:C8:87:1C:CC:87:32:BE:DD:8C:66:A5:8E:50:55:EA:8C:D3:B6:5C:09:5E:A6:BC\r\n\
a=setup:actpass\r\n\
a=mid:0\r\n\
a=sctp-port:5000\r\n\
a=max-message-size:262144\r\n";

#[test]
fn a_chromium_data_channel_offer_explained_line_by_line() {
    let lines = explain(CHROME_OFFER);
    let table: Vec<(&str, &str, String)> =
        lines.iter().map(|e| (e.key.as_str(), e.value.as_str(), e.rfc.to_string())).collect();
    let expected = [
        ("v", "0", "RFC 8866 §5.1"),
        ("o", "- 4611731400430051336 2 IN IP4 127.0.0.1", "RFC 8866 §5.2"),
        ("s", "-", "RFC 8866 §5.3"),
        ("t", "0 0", "RFC 8866 §5.9"),
        ("a=group", "BUNDLE 0", "RFC 5888 §5"),
        ("a=extmap-allow-mixed", "", "RFC 8285 §6"),
        ("a=msid-semantic", " WMS", "RFC 8830 §2"),
        ("m", "application 9 UDP/DTLS/SCTP webrtc-datachannel", "RFC 8841 §4.1"),
        ("c", "IN IP4 0.0.0.0", "RFC 8866 §5.7"),
        ("a=ice-ufrag", "EsAw", "RFC 8839 §5.4"),
        ("a=ice-pwd", "bP+XJMM09aR8AiX1jdukzR6Y", "RFC 8839 §5.4"),
        ("a=ice-options", "trickle", "RFC 8839 §5.6"),
        (
            "a=fingerprint",
            "sha-256 6B:8B:5D:EA:59:04:20:23:29:C8:87:1C:CC:87:32:BE:DD:8C:66:A5:8E:50:55:EA:8C:D3:B6:5C:09:5E:A6:BC",
            "RFC 8122 §5",
        ),
        ("a=setup", "actpass", "RFC 4145 §4"),
        ("a=mid", "0", "RFC 5888 §4"),
        ("a=sctp-port", "5000", "RFC 8841 §5"),
        ("a=max-message-size", "262144", "RFC 8841 §6"),
    ];
    assert_eq!(table.len(), expected.len());
    for (got, want) in table.iter().zip(expected) {
        assert_eq!((got.0, got.1, got.2.as_str()), want);
    }
    let meaning = |key: &str| lines.iter().find(|e| e.key == key).map(|e| e.meaning.clone()).expect("should succeed");
    assert!(meaning("v").contains("always 0"));
    assert!(meaning("o").contains("session id 4611731400430051336, version 2"));
    assert!(meaning("t").contains("unbounded"));
    assert!(meaning("m").contains("discard port"));
    assert!(meaning("m").contains("SCTP over DTLS over UDP"));
    assert!(meaning("m").contains("data channels"));
    assert!(meaning("a=group").contains("mids [0]"));
    assert!(meaning("a=ice-options").contains("trickle means"));
    assert!(meaning("a=fingerprint").contains("sha-256 hash (32 bytes)"));
    assert!(meaning("a=setup").contains("actpass"));
    assert!(meaning("a=sctp-port").contains("5000"));
    assert!(meaning("a=max-message-size").contains("262144 bytes"));
    assert!(meaning("a=msid-semantic").contains("(WMS)"));
}

#[test]
fn lf_only_and_blank_lines_are_accepted() {
    let lf = CHROME_OFFER.replace("\r\n", "\n\n");
    assert_eq!(explain(&lf), explain(CHROME_OFFER));
}

#[test]
fn odd_lines_are_explained_not_rejected() {
    assert_eq!(explain_line("hello").key, "?");
    assert_eq!(explain_line("ab=c").key, "?");
    assert!(explain_line("v=1").meaning.contains("only 0 exists"));
    assert!(explain_line("o=-").meaning.contains("malformed"));
    assert!(explain_line("x=1").meaning.contains("must ignore"));
    let e = explain_line("a=x-custom:1");
    assert_eq!((e.key.as_str(), e.value.as_str()), ("a=x-custom", "1"));
    assert!(e.meaning.contains("does not know"));
    assert!(explain_line("a=candidate:1 1 udp nope").meaning.contains("malformed"));
    assert!(explain_line("m=").meaning.contains("malformed"));
    assert!(explain_line("").key == "?");
}

#[test]
fn candidates_of_every_type_parse() {
    let host = Candidate::parse(
        "candidate:1467250027 1 udp 2122260223 192.168.1.10 54321 typ host generation 0 ufrag EsAw network-id 1",
    )
    .expect("should succeed");
    assert_eq!(host.foundation, "1467250027");
    assert_eq!(host.component, 1);
    assert_eq!(host.transport, "udp");
    assert_eq!(host.priority, 2122260223);
    assert_eq!((host.address.as_str(), host.port), ("192.168.1.10", 54321));
    assert_eq!(host.typ, CandidateType::Host);
    assert_eq!((host.raddr.as_deref(), host.rport), (None, None));
    assert_eq!(host.extension("ufrag"), Some("EsAw"));
    assert_eq!(host.extension("network-id"), Some("1"));
    assert_eq!(host.priority_parts(), (126, 32542, 1));

    let mdns =
        Candidate::parse("a=candidate:2999745851 1 udp 2122260223 4e4b5e0c-2f3a-4b7b-9e5a-1c9e1f3d2a6b.local 61234 typ host generation 0")
            .expect("should succeed");
    assert!(mdns.address.ends_with(".local"));
    assert!(mdns.describe().contains("mDNS"));

    let srflx = Candidate::parse(
        "candidate:842163049 1 udp 1686052607 203.0.113.7 61234 typ srflx raddr 192.168.1.10 rport 54321 generation 0 network-cost 10",
    )
    .expect("should succeed");
    assert_eq!(srflx.typ, CandidateType::Srflx);
    assert_eq!((srflx.raddr.as_deref(), srflx.rport), (Some("192.168.1.10"), Some(54321)));
    assert_eq!(srflx.priority_parts().0, 100);
    assert!(srflx.describe().contains("derived from 192.168.1.10:54321"));

    let prflx = Candidate::parse("candidate:3 1 udp 1853824767 198.51.100.4 40000 typ prflx raddr 0.0.0.0 rport 0")
        .expect("should succeed");
    assert_eq!(prflx.typ, CandidateType::Prflx);
    assert_eq!(prflx.priority_parts().0, 110);

    let relay = Candidate::parse(
        "candidate:4 1 udp 41885439 198.51.100.20 3478 typ relay raddr 203.0.113.7 rport 61234 generation 0",
    )
    .expect("should succeed");
    assert_eq!(relay.typ, CandidateType::Relay);
    assert!(relay.describe().contains("TURN"));

    let tcp = Candidate::parse("candidate:5 1 tcp 1518280447 192.168.1.10 9 typ host tcptype active generation 0")
        .expect("should succeed");
    assert_eq!(tcp.transport, "tcp");
    assert_eq!(tcp.extension("tcptype"), Some("active"));
    assert!(tcp.describe().contains("TCP active"));

    let v6 = Candidate::parse("candidate:6 2 UDP 2122260222 2001:db8::1 50000 typ host").expect("should succeed");
    assert_eq!((v6.address.as_str(), v6.component, v6.transport.as_str()), ("2001:db8::1", 2, "UDP"));
    assert_eq!(v6.priority_parts().2, 2);

    for c in [host, mdns, srflx, prflx, relay, tcp, v6] {
        assert_eq!(Candidate::parse(&c.to_string()), Ok(c.clone()), "{c}");
        assert_eq!(c.to_string().parse::<Candidate>(), Ok(c));
    }
}

#[test]
fn the_recommended_type_preferences_order_the_types() {
    let p = |t: CandidateType| t.recommended_preference();
    assert!(p(CandidateType::Host) > p(CandidateType::Prflx));
    assert!(p(CandidateType::Prflx) > p(CandidateType::Srflx));
    assert!(p(CandidateType::Srflx) > p(CandidateType::Relay));
}

#[test]
fn malformed_candidates_give_typed_errors() {
    use CandidateError::*;
    let cases: &[(&str, CandidateError)] = &[
        ("", NotACandidate),
        ("1 1 udp 1 192.0.2.1 9 typ host", NotACandidate),
        ("candidate:", Missing("foundation")),
        ("candidate:1", Missing("component id")),
        ("candidate:1 0 udp 1 192.0.2.1 9 typ host", BadNumber { field: "component id", value: "0".into() }),
        ("candidate:1 257 udp 1 192.0.2.1 9 typ host", BadNumber { field: "component id", value: "257".into() }),
        ("candidate:1 1", Missing("transport")),
        ("candidate:1 1 udp", Missing("priority")),
        ("candidate:1 1 udp -1 192.0.2.1 9 typ host", BadNumber { field: "priority", value: "-1".into() }),
        ("candidate:1 1 udp +1 192.0.2.1 9 typ host", BadNumber { field: "priority", value: "+1".into() }),
        ("candidate:1 1 udp 4294967296 a 9 typ host", BadNumber { field: "priority", value: "4294967296".into() }),
        ("candidate:1 1 udp 1", Missing("address")),
        ("candidate:1 1 udp 1 192.0.2.1", Missing("port")),
        ("candidate:1 1 udp 1 192.0.2.1 65536 typ host", BadNumber { field: "port", value: "65536".into() }),
        ("candidate:1 1 udp 1 192.0.2.1 9", Missing("typ")),
        ("candidate:1 1 udp 1 192.0.2.1 9 type host", ExpectedTyp("type".into())),
        ("candidate:1 1 udp 1 192.0.2.1 9 typ", Missing("candidate type")),
        ("candidate:1 1 udp 1 192.0.2.1 9 typ lan", UnknownType("lan".into())),
        ("candidate:1 1 udp 1 192.0.2.1 9 typ srflx raddr", DanglingExtension("raddr".into())),
        (
            "candidate:1 1 udp 1 192.0.2.1 9 typ srflx raddr 1.2.3.4 rport x",
            BadNumber { field: "rport", value: "x".into() },
        ),
    ];
    for (line, err) in cases {
        assert_eq!(Candidate::parse(line).as_ref(), Err(err), "{line}");
        assert!(!err.to_string().is_empty());
    }
}
