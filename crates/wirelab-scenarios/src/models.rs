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

/// The table as a line chart (SVG, 640×360): N on a log₂ axis, seconds on a linear one,
/// one line per model. What `wirelab models --svg FILE` writes and the app shows; it uses
/// `currentColor` and two CSS custom properties, so it follows the page's theme.
pub fn plot_svg(rows: &[Row]) -> String {
    use std::fmt::Write;
    let (w, h, left, right, top, bottom) = (640.0, 360.0, 56.0, 16.0, 20.0, 44.0);
    let max_s = rows.iter().flat_map(|r| [r.1, r.2]).flatten().map(|d| d.as_secs_f64()).fold(0.0, f64::max);
    let y_max = nice_ceiling(max_s.max(0.1));
    let (n_min, n_max) = (
        rows.iter().map(|r| r.0).min().unwrap_or(1).max(1) as f64,
        rows.iter().map(|r| r.0).max().unwrap_or(2).max(2) as f64,
    );
    let span = (n_max.log2() - n_min.log2()).max(1.0);
    let x = |n: usize| left + (w - left - right) * ((n as f64).log2() - n_min.log2()) / span;
    let y = |s: f64| top + (h - top - bottom) * (1.0 - s / y_max);
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {w} {h}\" role=\"img\" \
         aria-labelledby=\"models-title\" font-family=\"system-ui, sans-serif\" font-size=\"12\">\
         <title id=\"models-title\">Total download time, client-server against peer-to-peer, N = {n_min}…{n_max}</title>"
    );
    // Axes, grid and ticks.
    for i in 0..=4 {
        let s = y_max * f64::from(i) / 4.0;
        let _ = write!(
            svg,
            "<line x1=\"{left}\" x2=\"{}\" y1=\"{y:.1}\" y2=\"{y:.1}\" stroke=\"currentColor\" stroke-opacity=\"0.15\"/>\
             <text x=\"{}\" y=\"{:.1}\" text-anchor=\"end\" fill=\"currentColor\">{s:.0} s</text>",
            w - right,
            left - 6.0,
            y(s) + 4.0,
            y = y(s)
        );
    }
    for &(n, _, _) in rows {
        let _ = write!(
            svg,
            "<text x=\"{:.1}\" y=\"{}\" text-anchor=\"middle\" fill=\"currentColor\">{n}</text>",
            x(n),
            h - bottom + 16.0
        );
    }
    let _ = write!(
        svg,
        "<text x=\"{:.1}\" y=\"{}\" text-anchor=\"middle\" fill=\"currentColor\">N (peers downloading the file)</text>",
        left + (w - left - right) / 2.0,
        h - 8.0
    );
    // One line per model, with a dot per run; a model that never finished has no point.
    type Pick = fn(&Row) -> Option<Duration>;
    let series: [(&str, &str, Pick); 2] =
        [("client-server", "var(--plot-a, #d9480f)", |r| r.1), ("peer-to-peer", "var(--plot-b, #1971c2)", |r| r.2)];
    for (i, (name, colour, pick)) in series.iter().enumerate() {
        let points: Vec<(f64, f64)> =
            rows.iter().filter_map(|r| pick(r).map(|d| (x(r.0), y(d.as_secs_f64())))).collect();
        let path: Vec<String> = points.iter().map(|(px, py)| format!("{px:.1},{py:.1}")).collect();
        let _ = write!(
            svg,
            "<polyline class=\"series\" data-series=\"{name}\" points=\"{}\" fill=\"none\" stroke=\"{colour}\" stroke-width=\"2.5\"/>",
            path.join(" ")
        );
        for (px, py) in &points {
            let _ = write!(svg, "<circle cx=\"{px:.1}\" cy=\"{py:.1}\" r=\"3.5\" fill=\"{colour}\"/>");
        }
        let ly = top + 8.0 + 18.0 * i as f64;
        let _ = write!(
            svg,
            "<line x1=\"{}\" x2=\"{}\" y1=\"{ly}\" y2=\"{ly}\" stroke=\"{colour}\" stroke-width=\"2.5\"/>\
             <text x=\"{}\" y=\"{}\" fill=\"currentColor\">{name}</text>",
            left + 12.0,
            left + 36.0,
            left + 42.0,
            ly + 4.0
        );
    }
    svg.push_str("</svg>");
    svg
}

/// 1, 2 or 5 times a power of ten, at least `v`: a round top for an axis.
fn nice_ceiling(v: f64) -> f64 {
    let p = 10f64.powf(v.log10().floor());
    [1.0, 2.0, 5.0, 10.0].iter().map(|m| m * p).find(|&c| c >= v).unwrap_or(10.0 * p)
}

#[cfg(test)]
mod plot_tests {
    use super::*;

    #[test]
    fn the_plot_has_a_point_per_finished_run_and_both_series() {
        let s = |x: f64| Some(Duration::from_secs_f64(x));
        let rows = vec![(2, s(0.45), s(0.41)), (4, s(0.87), None), (64, s(13.48), s(6.54))];
        let svg = plot_svg(&rows);
        assert_eq!(svg.matches("<circle").count(), 5, "one per finished run");
        assert!(svg.contains("data-series=\"client-server\"") && svg.contains("data-series=\"peer-to-peer\""));
        assert!(svg.contains(">20 s<"), "y axis rounded up to 20 s: {svg}");
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
    }

    #[test]
    fn axis_tops_are_round() {
        assert_eq!(nice_ceiling(13.48), 20.0);
        assert_eq!(nice_ceiling(0.45), 0.5);
        assert_eq!(nice_ceiling(5.0), 5.0);
    }
}
