//! Each endpoint's state diagrams, drawn from the states and transitions its machine
//! declares ([`wirelab_core::StateDiagram`]; for TCP, RFC 9293 Figure 5): the state it
//! is in after the current step highlighted, and the edge of its last transition with
//! the cause the machine gave and the RFC section.

use std::rc::Rc;
use wirelab_core::diagram::{changed_layer, layer_states};
use wirelab_core::{StateDiagram, Trace, TraceKind};
use yew::prelude::*;

/// A grid cell, and the box drawn in it (viewBox units).
const CELL_W: i32 = 162;
const CELL_H: i32 = 58;
const BOX_W: i32 = 140;
const BOX_H: i32 = 30;
/// Room on the right of the grid for arrows "from any state".
const RIGHT: i32 = 30;

#[derive(Properties, PartialEq)]
pub struct StateDiagramsProps {
    pub trace: Rc<Trace>,
    /// The current step's trace index (`None` before the first step).
    pub event: Option<usize>,
}

#[component(StateDiagrams)]
pub fn state_diagrams(props: &StateDiagramsProps) -> Html {
    let trace = &props.trace;
    // With more than two endpoints, one at a time (a swarm has six).
    let chosen = use_state(|| 0usize);
    let nodes: Vec<usize> = (0..trace.nodes.len()).filter(|&i| !trace.nodes[i].diagrams.is_empty()).collect();
    if nodes.is_empty() {
        return html! {};
    }
    let shown: Vec<usize> = if nodes.len() <= 2 { nodes.clone() } else { vec![(*chosen).min(trace.nodes.len() - 1)] };
    let states = trace.states_after(props.event);
    html! {
        <details class="state-diagrams" open=true data-testid="state-diagrams">
            <summary>{ "State diagrams" }</summary>
            if nodes.len() > 2 {
                <div class="sd-picker" role="group" aria-label="Endpoint">
                    { for nodes.iter().map(|&i| {
                        let chosen = chosen.clone();
                        html! {
                            <button class={classes!("sd-pick", shown.contains(&i).then_some("active"))}
                                aria-pressed={shown.contains(&i).to_string()}
                                onclick={Callback::from(move |_| chosen.set(i))}>{ &trace.nodes[i].name }</button>
                        }
                    }) }
                </div>
            }
            <div class="sd-nodes">
                { for shown.iter().map(|&n| node_view(trace, n, &states[n], props.event)) }
            </div>
        </details>
    }
}

/// The last transition of `node` up to `event`: (trace index, layer, from, to).
fn last_transition(trace: &Trace, node: usize, event: Option<usize>) -> Option<(usize, usize, &str, &str)> {
    let end = event.map_or(0, |e| (e + 1).min(trace.events.len()));
    trace.events[..end].iter().rev().find_map(|e| match &e.kind {
        TraceKind::StateChanged { from, to, .. } if e.node == node => {
            changed_layer(from, to).map(|(layer, f, t)| (e.seq, layer, f, t))
        }
        _ => None,
    })
}

fn node_view(trace: &Trace, node: usize, state: &str, event: Option<usize>) -> Html {
    let info = &trace.nodes[node];
    let last = last_transition(trace, node, event);
    let cause = last.and_then(|(seq, _, f, t)| match &trace.events[seq].kind {
        TraceKind::StateChanged { cause, rfc, .. } => Some(html! {
            <>
                <strong>{ format!("{f} → {t}") }</strong>{ format!(": {cause}") }
                if let Some(rfc) = rfc {
                    { " " }<a class="rfc-link" href={rfc.url()} target="_blank" rel="noopener">{ rfc.to_string() }</a>
                }
            </>
        }),
        _ => None,
    });
    html! {
        <figure class="sd-node">
            <figcaption>{ &info.name }</figcaption>
            { for info.diagrams.iter().zip(layer_states(state)).enumerate().map(|(layer, (d, now))| {
                let hot = last.filter(|l| l.1 == layer).and_then(|(_, _, f, t)| d.edge_for(f, t));
                draw(d, now, hot)
            }) }
            <p class={classes!("sd-cause", cause.is_none().then_some("muted"))} data-testid={format!("sd-cause-{}", info.name)}>
                { cause.unwrap_or_else(|| html! { "No transition yet." }) }
            </p>
        </figure>
    }
}

fn center(d: &StateDiagram, i: usize) -> (i32, i32) {
    let s = &d.states[i];
    (i32::from(s.col) * CELL_W + CELL_W / 2, i32::from(s.row) * CELL_H + CELL_H / 2)
}

/// Where the line from the centre of a box towards (`dx`, `dy`) leaves it.
fn border(dx: f32, dy: f32) -> f32 {
    let (hw, hh) = (BOX_W as f32 / 2.0 + 3.0, BOX_H as f32 / 2.0 + 3.0);
    let tx = if dx == 0.0 { f32::INFINITY } else { hw / dx.abs() };
    let ty = if dy == 0.0 { f32::INFINITY } else { hh / dy.abs() };
    tx.min(ty)
}

/// One diagram: boxes on the grid, an arrow per edge (a pair of opposite edges drawn
/// apart), loops beside their box, "from any state" arrows coming in from the right.
fn draw(d: &StateDiagram, now: &str, hot: Option<usize>) -> Html {
    let (cols, rows) = d.grid();
    let (w, h) = (i32::from(cols) * CELL_W + RIGHT, i32::from(rows) * CELL_H);
    // The box the machine is in: the one the last edge entered, else the first of that name.
    let current = hot.map(|e| d.edges[e].to).filter(|&b| d.states[b].name == now).or_else(|| d.boxes_named(now).next());
    let edges = d.edges.iter().enumerate().map(|(i, e)| {
        let (x2, y2) = center(d, e.to);
        let path = match e.from {
            None => {
                let (x, y) = (w - 4, y2 - BOX_H / 2 - 8);
                format!("M{x} {y}L{} {}", x2 + BOX_W / 2 + 4, y2 - 4)
            }
            Some(f) if f == e.to => {
                let (x, y) = (x2 + BOX_W / 2, y2);
                format!("M{x} {}C{} {} {} {} {x} {}", y - 6, x + 26, y - 20, x + 26, y + 20, y + 6)
            }
            Some(f) => {
                let (x1, y1) = center(d, f);
                let (dx, dy) = ((x2 - x1) as f32, (y2 - y1) as f32);
                let len = (dx * dx + dy * dy).sqrt().max(1.0);
                // Opposite edges between the same boxes are drawn 5 units apart.
                let twin = d.edges.iter().any(|o| o.from == Some(e.to) && o.to == f);
                let off = if twin { 5.0 } else { 0.0 };
                let (ox, oy) = (-dy / len * off, dx / len * off);
                // Every box has the same size: the line leaves one and enters the other alike.
                let t = border(dx, dy);
                let (sx, sy) = (x1 as f32 + dx * t + ox, y1 as f32 + dy * t + oy);
                let (ex, ey) = (x2 as f32 - dx * t + ox, y2 as f32 - dy * t + oy);
                format!("M{sx:.0} {sy:.0}L{ex:.0} {ey:.0}")
            }
        };
        let is_hot = hot == Some(i);
        let from = e.from.map_or("any state", |f| d.states[f].name.as_ref());
        html! {
            <path class={classes!("sd-edge", is_hot.then_some("hot"), e.from.is_none().then_some("any"))} d={path}
                marker-end={if is_hot { "url(#sd-arrow-hot)" } else { "url(#sd-arrow)" }}>
                <title>{ format!("{from} → {}: {}", d.states[e.to].name, e.label) }</title>
            </path>
        }
    });
    let boxes = d.states.iter().enumerate().map(|(i, s)| {
        let (x, y) = center(d, i);
        let is_now = current == Some(i);
        html! {
            <g class={classes!("sd-box", is_now.then_some("now"))} data-state={s.name.to_string()}>
                <rect x={(x - BOX_W / 2).to_string()} y={(y - BOX_H / 2).to_string()}
                    width={BOX_W.to_string()} height={BOX_H.to_string()} rx="6" />
                <text x={x.to_string()} y={(y + 4).to_string()} text-anchor="middle">{ s.name.to_string() }</text>
            </g>
        }
    });
    let hot_label = hot.map(|e| d.edges[e].label.to_string());
    html! {
        <div class="sd">
            <svg viewBox={format!("0 0 {w} {h}")} width={w.to_string()} height={h.to_string()} role="img"
                aria-label={format!("{}: in {now}", d.title)}>
                <defs>
                    <marker id="sd-arrow" viewBox="0 0 8 8" refX="7" refY="4" markerWidth="7" markerHeight="7" orient="auto">
                        <path d="M0 0L8 4L0 8z" />
                    </marker>
                    <marker id="sd-arrow-hot" class="hot" viewBox="0 0 8 8" refX="7" refY="4" markerWidth="7" markerHeight="7" orient="auto">
                        <path d="M0 0L8 4L0 8z" />
                    </marker>
                </defs>
                { for edges }
                { for boxes }
            </svg>
            <p class="sd-title">
                { d.title.to_string() }
                if let Some(rfc) = &d.rfc {
                    { " · " }<a href={rfc.url()} target="_blank" rel="noopener">{ rfc.to_string() }</a>
                }
                if let Some(label) = hot_label { <span class="sd-edge-label">{ format!(" · last edge: {label}") }</span> }
            </p>
        </div>
    }
}
