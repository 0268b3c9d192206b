//! Every node of every scenario declares its state diagrams, and every transition it makes,
//! on a clean link and on lossy ones, is an edge of them: the diagrams the UI draws cannot
//! drift from the code that moves the machines.

use wirelab_core::diagram::{changed_layer, layer_states};
use wirelab_core::{LinkConfig, Trace, TraceKind};
use wirelab_scenarios::{CATALOGUE, Params, defaults, run};

/// Checks one run; returns how many transitions it checked.
fn check(id: &str, trace: &Trace) -> usize {
    for node in &trace.nodes {
        let layers = layer_states(&node.initial_state).count();
        assert_eq!(node.diagrams.len(), layers, "{id}: {} declares a diagram per layer", node.name);
        for (d, state) in node.diagrams.iter().zip(layer_states(&node.initial_state)) {
            assert!(d.boxes_named(state).next().is_some(), "{id}: {}: no box for {state} in {}", node.name, d.title);
        }
    }
    let mut checked = 0;
    for e in &trace.events {
        let TraceKind::StateChanged { from, to, cause, .. } = &e.kind else { continue };
        let node = &trace.nodes[e.node];
        let (layer, f, t) = changed_layer(from, to).expect("a state has at least one layer");
        let d = &node.diagrams[layer];
        assert!(
            d.edge_for(f, t).is_some(),
            "{id}: {} went {f} -> {t} ({cause}), which is no edge of {}",
            node.name,
            d.title
        );
        checked += 1;
    }
    checked
}

#[test]
fn every_transition_of_every_scenario_is_an_edge_of_its_diagram() {
    let mut total = 0;
    for s in CATALOGUE {
        let trace = run(s.id, &defaults(s.id)).expect("runs");
        total += check(s.id, &trace);
    }
    assert!(total > 100, "only {total} transitions were checked");
}

/// Loss makes the machines take the other ways: retransmissions, resets, timeouts.
#[test]
fn on_lossy_links_too() {
    let mut total = 0;
    // The bulk transfers would need far more than the simulator's event limit at 30% loss.
    let bulk = |id: &str| id.starts_with("tcp-bulk") || id == "tcp-flow-control";
    for s in CATALOGUE.iter().filter(|s| !bulk(s.id)) {
        for seed in 1..=6 {
            let base = defaults(s.id);
            let link = LinkConfig { loss: 0.3, ..base.link.clone() };
            let trace =
                run(s.id, &Params { seed, link, ..base }).unwrap_or_else(|e| panic!("{} seed {seed}: {e}", s.id));
            total += check(s.id, &trace);
        }
    }
    assert!(total > 500, "only {total} transitions were checked");
}

#[test]
fn tcp_draws_rfc_9293_figure_5() {
    let d = wirelab_tcp::machine::diagram();
    let mut names: Vec<&str> = d.states.iter().map(|s| s.name.as_ref()).collect();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), 11, "the eleven states of RFC 9293 §3.3.2");
    // The figure's own edges, as it labels them.
    for (f, t) in [
        ("CLOSED", "LISTEN"),
        ("CLOSED", "SYN-SENT"),
        ("LISTEN", "SYN-RECEIVED"),
        ("SYN-SENT", "SYN-RECEIVED"),
        ("SYN-SENT", "ESTABLISHED"),
        ("SYN-RECEIVED", "ESTABLISHED"),
        ("SYN-RECEIVED", "FIN-WAIT-1"),
        ("ESTABLISHED", "FIN-WAIT-1"),
        ("ESTABLISHED", "CLOSE-WAIT"),
        ("FIN-WAIT-1", "FIN-WAIT-2"),
        ("FIN-WAIT-1", "CLOSING"),
        ("FIN-WAIT-2", "TIME-WAIT"),
        ("CLOSE-WAIT", "LAST-ACK"),
        ("CLOSING", "TIME-WAIT"),
        ("LAST-ACK", "CLOSED"),
        ("TIME-WAIT", "CLOSED"),
    ] {
        let e = d.edge_for(f, t).unwrap_or_else(|| panic!("{f} -> {t}"));
        assert!(d.edges[e].from.is_some(), "{f} -> {t} is drawn, not a from-any note");
    }
    // No edge the machine cannot take in the other direction.
    assert!(d.edge_for("ESTABLISHED", "SYN-SENT").is_none());
    assert!(d.edge_for("TIME-WAIT", "ESTABLISHED").is_none());
}
