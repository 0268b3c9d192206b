//! The client-server and peer-to-peer models, run: the same file (16 pieces of 16 KB)
//! fetched by N downloaders, either all from one server or from each other in a swarm,
//! every node behind a 10 Mbit/s uplink. Total times for N = 2 … 64 come from real runs.

use crate::{Params, new_sim};
use core::time::Duration;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use wirelab_core::{Instant, NodeId, Sim, SimError, Trace, TraceKind};
use wirelab_swarm::{Config, Peer, Role};

pub const PIECES: u32 = 16;
pub const PIECE_LEN: u32 = 16 * 1024;
/// Every node's uplink, server included.
pub const UPLINK_BPS: u64 = 10_000_000;
/// Downloaders in the `client-server` and `p2p-swarm` scenarios.
pub const SCENARIO_N: usize = 8;

/// The server or first seed, and the downloaders (TEST-NET-2, RFC 5737).
fn addr(i: usize) -> SocketAddr {
    SocketAddr::new(IpAddr::V4(Ipv4Addr::new(198, 51, 100, (1 + i) as u8)), 6881)
}

fn config(i: usize, seed: u64, role: Role, neighbours: Vec<SocketAddr>) -> Config {
    Config {
        local: addr(i),
        seed,
        role,
        neighbours,
        pieces: PIECES,
        piece_len: PIECE_LEN,
        max_outstanding: 2,
        request_timeout: Duration::from_secs(5),
    }
}

/// Node 0 serves; nodes 1..=n download. `neighbours(i)` says whom node i talks to.
fn build(params: &Params, n: usize, neighbours: impl Fn(usize) -> Vec<usize>) -> Result<(Sim, Vec<NodeId>), SimError> {
    let mut sim = new_sim(params);
    let mut ids = Vec::new();
    for i in 0..=n {
        let role = if i == 0 { Role::Seed } else { Role::Leecher };
        let near = neighbours(i).into_iter().map(addr).collect();
        let name = if i == 0 { "server".to_string() } else { format!("peer-{i}") };
        let id = sim.add_node(&name, addr(i).ip(), Box::new(Peer::new(config(i, params.seed, role, near))));
        // One shared access line per node, with room to queue everything (no tail drops:
        // the comparison is of capacity, not of loss).
        sim.set_uplink(id, UPLINK_BPS, 100_000);
        ids.push(id);
    }
    for &id in &ids {
        sim.command_at(Instant::ZERO, id, "start")?;
    }
    Ok((sim, ids))
}

/// Everyone downloads from the server; the server's uplink is shared by all.
pub fn client_server(params: &Params, n: usize) -> Result<(Sim, Vec<NodeId>), SimError> {
    build(params, n, |i| if i == 0 { (1..=n).collect() } else { vec![0] })
}

/// A swarm: each downloader talks to the seed and to its three nearest on each side of a
/// ring (everyone, when there are few), and serves what it has.
pub fn peer_to_peer(params: &Params, n: usize) -> Result<(Sim, Vec<NodeId>), SimError> {
    build(params, n, |i| {
        if i == 0 {
            return (1..=n).collect();
        }
        let mut near: Vec<usize> = vec![0];
        if n <= 7 {
            near.extend((1..=n).filter(|&j| j != i));
        } else {
            for d in 1..=3 {
                near.push((i - 1 + d) % n + 1);
                near.push((i - 1 + n - d) % n + 1);
            }
        }
        near.sort_unstable();
        near.dedup();
        near
    })
}

/// When the last downloader that stayed finished; `None` if one never did.
pub fn finish_time(trace: &Trace) -> Option<Instant> {
    let downloaders: Vec<usize> =
        (1..trace.nodes.len()).filter(|&i| trace.state_history(i).last().is_none_or(|s| s != "LEFT")).collect();
    let mut last = Instant::ZERO;
    for &i in &downloaders {
        let done = trace.events.iter().find(|e| {
            e.node == i && matches!(&e.kind, TraceKind::Event { text } if text.starts_with("download complete"))
        })?;
        last = last.max(done.at);
    }
    Some(last)
}

/// One row of the models table: N, client-server time, peer-to-peer time.
pub type Row = (usize, Option<Duration>, Option<Duration>);

/// Total download time for each N, both ways, from real runs.
pub fn comparison(ns: &[usize], seed: u64) -> Result<Vec<Row>, SimError> {
    let params = Params { seed, ..Params::default() };
    let since = |t: Option<Instant>| t.map(|t| t - Instant::ZERO);
    ns.iter()
        .map(|&n| {
            let (mut cs, _) = client_server(&params, n)?;
            cs.run(crate::MAX_EVENTS * 4)?;
            let (mut p2p, _) = peer_to_peer(&params, n)?;
            p2p.run(crate::MAX_EVENTS * 4)?;
            Ok((n, since(finish_time(cs.trace())), since(finish_time(p2p.trace()))))
        })
        .collect()
}

/// The table as text, with a bar for each time: what `wirelab models` prints.
pub fn table(rows: &[Row]) -> String {
    let max = rows.iter().flat_map(|r| [r.1, r.2]).flatten().max().unwrap_or(Duration::from_secs(1));
    let bar = |d: Option<Duration>| match d {
        Some(d) => "#".repeat(((d.as_secs_f64() / max.as_secs_f64()) * 40.0).ceil() as usize),
        None => "never".to_string(),
    };
    let secs = |d: Option<Duration>| d.map_or("–".to_string(), |d| format!("{:.2} s", d.as_secs_f64()));
    let mut out = format!("{:>3}  {:>14}  {:>14}\n", "N", "client-server", "peer-to-peer");
    for &(n, cs, p2p) in rows {
        out.push_str(&format!(
            "{n:>3}  {:>14}  {:>14}  C {}\n{:>37}P {}\n",
            secs(cs),
            secs(p2p),
            bar(cs),
            "",
            bar(p2p)
        ));
    }
    out
}
