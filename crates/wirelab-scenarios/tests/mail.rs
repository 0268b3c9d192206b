//! The mail scenarios, checked from their traces: the bytes each side sent are the RFCs'
//! dialogues (RFC 5321 §4.1 and §4.5.2, RFC 1939 §5 and §6, RFC 9051 §6 and RFC 2177),
//! the relayed copy at south.test carries a `Received:` line per hop (RFC 5321 §4.4), and
//! each run's ladder is pinned.
#![cfg(not(target_arch = "wasm32"))]

use wirelab_core::{LinkConfig, Trace, TraceKind};
use wirelab_scenarios::compare::sent_stream;
use wirelab_scenarios::{Bundle, CATALOGUE, Params, Topic, defaults, run};

fn trace(id: &str) -> Trace {
    run(id, &defaults(id)).unwrap_or_else(|e| panic!("{id}: {e}"))
}

fn text(trace: &Trace, node: usize) -> String {
    String::from_utf8_lossy(&sent_stream(trace, node)).into_owned()
}

fn events(trace: &Trace, node: usize) -> Vec<String> {
    trace.reports(node)
}

fn replies(trace: &Trace, node: usize) -> Vec<String> {
    text(trace, node).lines().map(|l| l.trim_end_matches('\r').to_string()).collect()
}

#[test]
fn every_mail_scenario_is_in_the_catalogue_and_runs_on_clean_and_lossy_links() {
    let ids: Vec<&str> = CATALOGUE.iter().filter(|s| s.topic == Topic::Email).map(|s| s.id).collect();
    assert_eq!(ids, ["smtp-send", "smtp-relay", "pop3-retrieve-delete", "imap-sync"]);
    for id in ids {
        assert!(wirelab_scenarios::available(id), "{id}");
        let page = if id == "imap-sync" { Bundle::Imap } else { Bundle::Mail };
        assert_eq!(wirelab_scenarios::bundle(id), Some(page), "{id}");
        trace(id);
        for seed in 1..=4 {
            let link = LinkConfig { loss: 0.2, ..LinkConfig::default() };
            run(id, &Params { seed, link, ..Params::default() }).unwrap_or_else(|e| panic!("{id} seed {seed}: {e}"));
        }
    }
}

#[test]
fn smtp_send_is_rfc_5321_s_dialogue_with_the_content_dot_stuffed() {
    let t = trace("smtp-send");
    let client = text(&t, 0);
    let server = replies(&t, 1);
    assert!(
        client.starts_with(
            "EHLO client.north.test\r\nMAIL FROM:<alice@north.test> SIZE=180\r\nRCPT TO:<dave@north.test>\r\nDATA\r\n"
        ),
        "{client}"
    );
    // §4.5.2: a line starting with a period gets a second one; the data ends CRLF.CRLF.
    assert!(client.contains("\r\n..plan: noon at the usual place\r\n"), "{client}");
    assert!(client.ends_with("Alice\r\n.\r\nQUIT\r\n"), "{client}");
    let codes: Vec<&str> = server.iter().map(|l| &l[..4]).collect();
    assert_eq!(codes, ["220 ", "250-", "250-", "250-", "250 ", "250 ", "250 ", "354 ", "250 ", "221 "]);
    assert!(server.contains(&"250-8BITMIME".to_string()) && server.contains(&"250-SIZE 10485760".to_string()));
    let notes = events(&t, 1);
    assert!(
        notes.iter().any(|e| e.contains("stored in <dave@north.test>'s maildrop as north.test.1 (1 Received: lines)")),
        "{notes:#?}"
    );
}

#[test]
fn smtp_relay_adds_a_received_line_per_hop() {
    let t = trace("smtp-relay");
    let names: Vec<&str> = t.nodes.iter().map(|n| n.name.as_str()).collect();
    assert_eq!(names, wirelab_scenarios::mail::RELAY_NODES);
    // north queued it for relay, its relay agent sent it on, south stored it.
    assert!(events(&t, 1).iter().any(|e| e.contains("queued for relay to <bob@south.test>")));
    let relayed = text(&t, 2);
    assert!(relayed.starts_with("EHLO north.test\r\nMAIL FROM:<alice@north.test> SIZE=322\r\nRCPT TO:<bob@south.test>\r\nDATA\r\nReceived: from client.north.test ([192.0.2.10])\r\n\tby north.test (wirelab) with ESMTP\r\n"), "{relayed}");
    assert!(relayed.ends_with(".\r\nQUIT\r\n"));
    let south = events(&t, 3);
    assert!(
        south.iter().any(|e| e.contains("stored in <bob@south.test>'s maildrop as south.test.1 (2 Received: lines)")),
        "{south:#?}"
    );
    assert_eq!(replies(&t, 3).last().map(String::as_str), Some("221 south.test Service closing transmission channel"));
}

#[test]
fn pop3_deletes_only_in_update() {
    let t = trace("pop3-retrieve-delete");
    assert_eq!(replies(&t, 0), ["USER alice@north.test", "PASS wirelab", "STAT", "LIST", "RETR 1", "DELE 1", "QUIT"]);
    let server = replies(&t, 1);
    let status: Vec<&String> = server.iter().filter(|l| l.starts_with('+') || l.starts_with('-')).collect();
    assert_eq!(status[0], "+OK POP3 server ready");
    assert_eq!(status[3], "+OK 2 343");
    assert_eq!(status[4], "+OK 2 messages (343 octets)");
    assert_eq!(status[5], "+OK 191 octets");
    assert_eq!(status[6], "+OK message 1 deleted");
    assert_eq!(status[7], "+OK north.test POP3 server signing off (1 messages left)");
    // RFC 1939 §3: a line of the message starting with "." is byte-stuffed.
    assert!(server.contains(&"...and that is all".to_string()) && server.contains(&"..".to_string()));
    // The removal comes after QUIT, in UPDATE, and only then.
    let mine: Vec<_> = t.events.iter().filter(|e| e.node == 1).collect();
    let update =
        mine.iter().position(|e| matches!(&e.kind, TraceKind::StateChanged { to, .. } if to.starts_with("UPDATE")));
    let removed =
        mine.iter().position(|e| matches!(&e.kind, TraceKind::Event { text } if text.contains("removed 1 messages")));
    assert!(matches!((update, removed), (Some(u), Some(r)) if u < r), "{update:?} {removed:?}");
    assert_eq!(events(&t, 1).iter().filter(|e| e.contains("removed")).count(), 1);
}

#[test]
fn imap_sync_selects_fetches_flags_and_hears_the_push_while_idle() {
    let t = trace("imap-sync");
    assert_eq!(
        replies(&t, 0),
        [
            "A001 LOGIN alice@north.test wirelab",
            "A002 SELECT INBOX",
            "A003 FETCH 1:* (FLAGS BODY.PEEK[])",
            "A004 STORE 1 +FLAGS \\Seen",
            "A005 IDLE",
            "DONE",
            "A006 LOGOUT"
        ]
    );
    let server = replies(&t, 1);
    for line in [
        "A001 OK LOGIN completed",
        "* 2 EXISTS",
        "* OK [UIDVALIDITY 1] UIDs valid",
        "* OK [UIDNEXT 3] Predicted next UID",
        "A002 OK [READ-WRITE] SELECT completed",
        "* 1 FETCH (FLAGS () BODY[] {191}",
        "* 1 FETCH (FLAGS (\\Seen))",
        "+ idling",
        "* 3 EXISTS",
        "A005 OK IDLE terminated",
        "* BYE IMAP4rev2 Server logging out",
        "A006 OK LOGOUT completed",
    ] {
        assert!(server.iter().any(|l| l == line), "no {line:?} in {server:#?}");
    }
    // The push comes during IDLE, before DONE ends it (RFC 2177 §3).
    let at = |l: &str| server.iter().position(|x| x == l);
    assert!(at("+ idling") < at("* 3 EXISTS") && at("* 3 EXISTS") < at("A005 OK IDLE terminated"));
    // The session's states, as RFC 9051 §3 names them.
    let states: Vec<String> = t
        .events
        .iter()
        .filter(|e| e.node == 0)
        .filter_map(|e| match &e.kind {
            TraceKind::StateChanged { to, .. } => to.split(" · ").next().map(str::to_string),
            _ => None,
        })
        .collect::<Vec<_>>();
    let mut distinct = states.clone();
    distinct.dedup();
    assert_eq!(distinct, ["Not Authenticated", "Authenticated", "Selected", "Logout"]);
}

#[test]
fn the_ladders_are_pinned() {
    for id in ["smtp-send", "smtp-relay", "pop3-retrieve-delete", "imap-sync"] {
        let ladder = trace(id).ascii_ladder();
        let file = format!("{}/tests/snapshots/{}.ladder", env!("CARGO_MANIFEST_DIR"), id.replace('-', "_"));
        expect_test::expect_file![file].assert_eq(&ladder);
    }
}

/// The diagrams the UI draws for the mail machines have the RFCs' states and transitions.
#[test]
fn the_diagrams_are_the_rfcs() {
    let t = trace("smtp-relay");
    let pop3 = trace("pop3-retrieve-delete");
    let imap = trace("imap-sync");
    let titles = |t: &Trace, n: usize| t.nodes[n].diagrams.iter().map(|d| d.title.to_string()).collect::<Vec<_>>();
    assert_eq!(titles(&t, 0), ["SMTP client", "TCP connection states"]);
    assert_eq!(titles(&t, 1), ["SMTP server", "TCP connection states"]);
    assert_eq!(titles(&pop3, 1)[0], "POP3 server");
    assert_eq!(titles(&imap, 0)[0], "IMAP client");
    // RFC 1939 §3: AUTHORIZATION, then TRANSACTION, then (after QUIT) UPDATE.
    for n in [0, 1] {
        let d = &pop3.nodes[n].diagrams[0];
        assert!(d.edge_for("TRANSACTION", "UPDATE").is_some());
        assert!(d.edge_for("UPDATE", "TRANSACTION").is_none());
    }
    let server = &pop3.nodes[1].diagrams[0];
    assert!(server.edge_for("AUTHENTICATING", "TRANSACTION").is_some());
    // RFC 9051 Figure 1's transitions (4), (5), (6), and (7) from anywhere.
    for n in [0, 1] {
        let d = &imap.nodes[n].diagrams[0];
        assert!(d.edge_for("Not Authenticated", "Authenticated").is_some());
        assert!(d.edge_for("Authenticated", "Selected").is_some());
        assert!(d.edge_for("Selected", "Authenticated").is_some());
        assert!(d.edge_for("Selected", "Logout").is_some_and(|e| d.edges[e].from.is_none()));
    }
    // RFC 5321 §3.3: MAIL, RCPT, DATA, in that order only.
    let smtp = &t.nodes[1].diagrams[0];
    assert!(smtp.edge_for("MAIL", "RCPT").is_some() && smtp.edge_for("RCPT", "DATA").is_some());
    assert!(smtp.edge_for("MAIL", "DATA").is_none());
}
