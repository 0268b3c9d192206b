//! Client-server against peer-to-peer, from runs: the server's uplink is the bottleneck,
//! a swarm is not slowed by its size, a server failure fails everyone, a peer leaving
//! does not fail the swarm.
#![cfg(not(target_arch = "wasm32"))]

use core::time::Duration;
use wirelab_core::Instant;
use wirelab_scenarios::models::{self, PIECE_LEN, PIECES, UPLINK_BPS, finish_time};
use wirelab_scenarios::{defaults, run};

/// The time one copy of the file takes through one 10 Mbit/s uplink.
fn one_copy() -> Duration {
    Duration::from_secs_f64(f64::from(PIECES * PIECE_LEN) * 8.0 / UPLINK_BPS as f64)
}

#[test]
fn client_server_time_is_set_by_the_servers_uplink() {
    let trace = run("client-server", &defaults("client-server")).expect("settles");
    let done = finish_time(&trace).expect("every client finishes") - Instant::ZERO;
    // Eight copies leave through one uplink: at least 8 × one copy.
    assert!(done >= one_copy() * 8, "{done:?}");
    assert!(done < one_copy() * 10, "and not much more: {done:?}");
}

#[test]
fn when_the_server_fails_everyone_fails() {
    let trace = run("client-server-failure", &defaults("client-server-failure")).expect("settles");
    assert_eq!(finish_time(&trace), None);
    let incomplete = (1..trace.nodes.len())
        .filter(|&i| trace.state_history(i).last().map(String::as_str) != Some("SEEDING"))
        .count();
    assert_eq!(incomplete, models::SCENARIO_N, "no client has the whole file");
}

#[test]
fn the_swarm_finishes_without_the_peer_that_left_and_sooner() {
    let p2p = run("p2p-swarm", &defaults("p2p-swarm")).expect("settles");
    let left: Vec<usize> =
        (1..p2p.nodes.len()).filter(|&i| p2p.state_history(i).last().map(String::as_str) == Some("LEFT")).collect();
    assert_eq!(left.len(), 1, "one peer left");
    let done = finish_time(&p2p).expect("everyone who stayed finished") - Instant::ZERO;
    let cs = finish_time(&run("client-server", &defaults("client-server")).expect("settles")).expect("finishes")
        - Instant::ZERO;
    assert!(done < cs, "swarm {done:?} vs server {cs:?}");
}

#[test]
fn the_models_table_for_2_to_64() {
    let rows = models::comparison(&[2, 4, 8, 16, 32, 64], 1).expect("runs");
    println!("{}", models::table(&rows));
    let t = |d: Option<Duration>| d.expect("finished").as_secs_f64();
    // Client-server grows with N, about one copy per client.
    for w in rows.windows(2) {
        assert!(t(w[1].1) > t(w[0].1) * 1.6, "client-server roughly doubles with N: {:?}", rows);
    }
    // The swarm is faster from N = 4 on, at 64 by well over a third, and grows more slowly.
    // (It still grows: without BEP 3's choking, every peer's first requests queue at the
    // seed, the only holder at the start.)
    for r in rows.iter().filter(|r| r.0 >= 4) {
        assert!(t(r.2) < t(r.1), "N = {}: {rows:?}", r.0);
    }
    let (first, last) = (&rows[0], &rows[rows.len() - 1]);
    assert!(t(last.2) < t(last.1) * 0.6, "{rows:?}");
    assert!(t(last.2) / t(first.2) < t(last.1) / t(first.1) * 0.7, "{rows:?}");
}
