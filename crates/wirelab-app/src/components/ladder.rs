//! The sequence (ladder) diagram: one lane per node, one row per step, an arrow per frame
//! from the row it was sent to the row it arrived (or a ✕ where it was lost). Only what
//! has happened so far is drawn; a frame still in flight is drawn part of the way.

use crate::components::narration::seconds;
use crate::model::Action;
use std::rc::Rc;
use wirelab_core::{Trace, TraceKind};
use yew::prelude::*;

const WIDTH: f64 = 720.0;
/// The time column on the left.
const GUTTER: f64 = 62.0;
/// Room beside the outer lanes for state names, commands and events.
const MARGIN: f64 = 150.0;
/// Longest lane label before it is cut (the whole text is in its tooltip).
const LABEL_CHARS: usize = 21;
const TOP: f64 = 48.0;
const ROW: f64 = 22.0;

#[derive(Properties, PartialEq)]
pub struct LadderProps {
    pub trace: Rc<Trace>,
    pub steps: Rc<Vec<usize>>,
    pub pos: usize,
    /// The frame shown in the inspector, highlighted here.
    pub selected: Option<usize>,
    pub on_action: Callback<Action>,
}

fn lane_x(node: usize, nodes: usize) -> f64 {
    if nodes <= 1 {
        (WIDTH + GUTTER) / 2.0
    } else {
        GUTTER + MARGIN + node as f64 * (WIDTH - GUTTER - 2.0 * MARGIN) / (nodes - 1) as f64
    }
}

fn row_y(row: usize) -> f64 {
    TOP + ROW * (row as f64 + 0.5)
}

/// Rows drawn beyond the visible ones, above and below, so scrolling shows no gap.
const OVERSCAN: usize = 30;

/// The figure's visible band in viewBox units, and the SVG's scale (pixels per unit).
/// Reading it forces a layout: done on scroll and once at mount, never per step.
fn visible_band(figure: &web_sys::Element) -> (f64, f64, f64) {
    let width = figure.query_selector("svg").ok().flatten().map_or(WIDTH, |svg| f64::from(svg.client_width()));
    let scale = if width > 0.0 { width / WIDTH } else { 1.0 };
    let top = f64::from(figure.scroll_top()) / scale;
    (top, top + f64::from(figure.client_height()) / scale, scale)
}

#[component(Ladder)]
pub fn ladder(props: &LadderProps) -> Html {
    let figure = use_node_ref();
    // Only the rows near the visible band are drawn (a run may have 10 000 steps).
    // `None` until measured.
    let band = use_state(|| None::<(f64, f64, f64)>);
    {
        // Keep the current step in view as the person steps: scroll the figure itself
        // (the row may not be drawn yet) by what we know of the band, without reading
        // layout, then draw the new band.
        let (figure, band) = (figure.clone(), band.clone());
        use_effect_with(props.pos, move |&pos| {
            if let Some(f) = figure.cast::<web_sys::Element>() {
                let (top, bottom, scale) = (*band).unwrap_or_else(|| visible_band(&f));
                let y = row_y(pos.saturating_sub(1));
                if y < top + ROW || y > bottom - ROW {
                    let height = bottom - top;
                    let new_top = (y - height / 2.0).max(0.0);
                    f.set_scroll_top((new_top * scale) as i32);
                    band.set(Some((new_top, new_top + height, scale)));
                } else if band.is_none() {
                    band.set(Some((top, bottom, scale)));
                }
            }
        });
    }
    let on_scroll = {
        let (figure, band) = (figure.clone(), band.clone());
        Callback::from(move |_: Event| {
            if let Some(f) = figure.cast::<web_sys::Element>() {
                let now = visible_band(&f);
                // Redraw only when the band moved by a few rows.
                let moved = (*band).is_none_or(|b| (now.0 - b.0).abs() > ROW * 4.0 || (now.1 - b.1).abs() > ROW * 4.0);
                if moved {
                    band.set(Some(now));
                }
            }
        })
    };
    let (band_top, band_bottom, _) = (*band).unwrap_or((0.0, 1600.0, 1.0));
    let first_row = (((band_top - TOP) / ROW).floor().max(0.0) as usize).saturating_sub(OVERSCAN);
    let last_row = ((band_bottom - TOP) / ROW).ceil().max(0.0) as usize + OVERSCAN;
    let shown = |row: usize| row >= first_row && row <= last_row;
    // Where each frame ended, by its `Sent` event: one pass per run, not one per frame per step.
    let fates = use_memo(props.trace.clone(), |trace| {
        let mut fates: Vec<Option<(usize, bool)>> = vec![None; trace.events.len()];
        for e in &trace.events {
            let (sent, delivered) = match e.kind {
                TraceKind::Delivered { sent_seq, .. } => (sent_seq, true),
                TraceKind::Dropped { sent_seq, .. } => (sent_seq, false),
                _ => continue,
            };
            if let Some(slot @ None) = fates.get_mut(sent) {
                *slot = Some((e.seq, delivered));
            }
        }
        fates
    });
    let trace = &props.trace;
    let n = trace.nodes.len();
    let rows = props.steps.len();
    let height = TOP + ROW * rows as f64 + 16.0;
    let row_of = |event: usize| props.steps.binary_search(&event).ok();
    let done = |row: usize| row < props.pos;

    let lanes = trace.nodes.iter().enumerate().map(|(i, node)| {
        let x = lane_x(i, n);
        html! {
            <g class="lane">
                <text class="lane-name" x={x.to_string()} y="18" text-anchor="middle">{ &node.name }</text>
                <text class="lane-ip" x={x.to_string()} y="34" text-anchor="middle">{ node.ip.to_string() }</text>
                <line x1={x.to_string()} y1={TOP.to_string()} x2={x.to_string()} y2={height.to_string()} />
            </g>
        }
    });

    // Row backgrounds: clickable, the current one highlighted, with the time on the left.
    let row_bands = props.steps.iter().enumerate().filter(|(row, _)| shown(*row)).map(|(row, &event)| {
        let y = TOP + ROW * row as f64;
        let current = row + 1 == props.pos;
        let cb = props.on_action.clone();
        let at = trace.events.get(event).map(|e| seconds(e.at)).unwrap_or_default();
        html! {
            <g class={classes!("row", current.then_some("current"), (!done(row)).then_some("future"))}
                onclick={Callback::from(move |_| cb.emit(Action::Goto(row + 1)))}>
                <rect x="0" y={y.to_string()} width={WIDTH.to_string()} height={ROW.to_string()} />
                if done(row) {
                    <text class="row-time" x="6" y={(y + ROW * 0.68).to_string()}>{ at }</text>
                }
            </g>
        }
    });

    // Marks on lanes for state changes, commands and events.
    let marks =
        props.steps.iter().enumerate().filter(|(row, _)| done(*row) && shown(*row)).filter_map(|(row, &event)| {
            let e = trace.events.get(event)?;
            let x = lane_x(e.node, n);
            let y = row_y(row);
            let left = e.node == 0 && n > 1;
            let (tx, anchor) = if left { (x - 10.0, "end") } else { (x + 10.0, "start") };
            let label = |class: &'static str, text: String| {
                let short = if text.chars().count() > LABEL_CHARS {
                    format!("{}…", text.chars().take(LABEL_CHARS - 1).collect::<String>())
                } else {
                    text.clone()
                };
                html! {
                    <text class={class} x={tx.to_string()} y={(y + 4.0).to_string()} text-anchor={anchor}>
                        <title>{ text }</title>{ short }
                    </text>
                }
            };
            // A timer this step armed (the trace records it right after the step): marked
            // on the lane, under the step's own label, with when it will fire.
            let next = props.steps.get(row + 1).copied().unwrap_or(trace.events.len());
            let armed = trace.events.get(event + 1..next).unwrap_or_default().iter().find_map(|t| match t.kind {
                TraceKind::TimerArmed { at } if t.node == e.node => Some(at),
                _ => None,
            });
            let timer = armed.map(|at| {
                let ms = at.saturating_duration_since(e.at).as_millis();
                html! {
                    <text class="timer-label" data-testid="timer-mark" x={tx.to_string()} y={(y + 13.0).to_string()} text-anchor={anchor}>
                        { format!("timer {ms} ms") }
                        <title>{ format!("timer armed: fires at t = {} unless stopped first", seconds(at)) }</title>
                    </text>
                }
            });
            let main = match &e.kind {
                TraceKind::StateChanged { to, .. } => html! {
                    <g class="mark state-mark" data-testid="state-mark">
                        <circle cx={x.to_string()} cy={y.to_string()} r="5" />
                        { label("state-label", to.clone()) }
                    </g>
                },
                TraceKind::Command { line } => {
                    html! { <g class="mark command-mark">{ label("command-label", format!("$ {line}")) }</g> }
                }
                TraceKind::Event { text } => {
                    html! { <g class="mark event-mark">{ label("event-label", text.clone()) }</g> }
                }
                TraceKind::TimerFired => {
                    html! { <g class="mark timer-mark">{ label("event-label", "timer expires".to_string()) }</g> }
                }
                TraceKind::Error { text } => {
                    html! { <g class="mark error-mark">{ label("error-label", format!("! {text}")) }</g> }
                }
                _ if timer.is_some() => html! {},
                _ => return None,
            };
            Some(html! { <>{ main }{ timer }</> })
        });

    // Frames.
    let frames = props.steps.iter().enumerate().filter(|(row, _)| done(*row) && *row <= last_row).filter_map(|(row, &event)| {
        let e = trace.events.get(event)?;
        let TraceKind::Sent { frame } = &e.kind else { return None };
        let x1 = lane_x(e.node, n);
        let y1 = row_y(row);
        let to = frame.to_node.unwrap_or(e.node);
        let x_to = lane_x(to, n);
        let fate = fates.get(event).copied().flatten().and_then(|(ev, delivered)| row_of(ev).map(|r| (r, delivered)));
        // Drawn if any of it crosses the drawn band.
        let end_row = fate.map_or(row, |(r, _)| r);
        if end_row < first_row || row > last_row {
            return None;
        }
        let (x2, y2, arrived, lost) = match fate {
            Some((r, delivered)) if done(r) => {
                if delivered { (x_to, row_y(r), true, false) } else { ((x1 + x_to) / 2.0, row_y(r), false, true) }
            }
            Some((r, _)) => {
                // In flight: part of the way, more with each step, never none or all.
                let f = (props.pos as f64 - row as f64) / (r as f64 - row as f64 + 1.0);
                (x1 + (x_to - x1) * f.clamp(0.0, 1.0), y1 + (row_y(r) - y1) * f.clamp(0.0, 1.0), false, false)
            }
            None => (x1 + (x_to - x1) * 0.5, y1, false, false),
        };
        let selected = props.selected == Some(event);
        let cb = props.on_action.clone();
        // The label sits just above the arrow and runs along it, kept upright.
        let (mx, my) = ((x1 + x2) / 2.0, (y1 + y2) / 2.0);
        let mut deg = (y2 - y1).atan2(x2 - x1).to_degrees();
        if deg.abs() > 90.0 {
            deg -= 180.0f64.copysign(deg);
        }
        let rotate = format!("rotate({deg:.2} {mx:.1} {my:.1})");
        // No longer than its arrow (about 6 units a character at 10.5 px): on a dense run
        // neighbouring labels would run into each other. The whole summary is the tooltip.
        let room = (((x2 - x1).hypot(y2 - y1) - 14.0) / 6.0).max(0.0) as usize;
        let summary = &frame.annotation.summary;
        let label = if summary.chars().count() <= room {
            summary.clone()
        } else {
            let mut cut: String = summary.chars().take(room.saturating_sub(1)).collect();
            if !cut.is_empty() {
                cut.push('…');
            }
            cut
        };
        Some(html! {
            <g class={classes!("frame", selected.then_some("selected"), lost.then_some("lost"))}
               data-testid="frame" onclick={Callback::from(move |e: MouseEvent| { e.stop_propagation(); cb.emit(Action::Select(event)); })}>
                <title>{ &frame.annotation.summary }</title>
                <line class="hit" x1={x1.to_string()} y1={y1.to_string()} x2={x2.to_string()} y2={y2.to_string()} />
                <line class="arrow" x1={x1.to_string()} y1={y1.to_string()} x2={x2.to_string()} y2={y2.to_string()}
                    marker-end={arrived.then_some("url(#arrowhead)")} />
                if lost {
                    <text class="lost-mark" x={x2.to_string()} y={(y2 + 5.0).to_string()} text-anchor="middle">{ "✕" }</text>
                }
                <text class="frame-label" x={mx.to_string()} y={(my - 4.0).to_string()} text-anchor="middle" transform={rotate}>{ label }</text>
            </g>
        })
    });

    html! {
        <figure class="ladder" aria-label="Sequence diagram" ref={figure} onscroll={on_scroll}>
            <svg viewBox={format!("0 0 {WIDTH} {height}")} width="100%" role="img"
                 aria-label={format!("Ladder diagram, {} of {} steps shown", props.pos, rows)}>
                <defs>
                    <marker id="arrowhead" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">
                        <path d="M 0 0 L 10 5 L 0 10 z" />
                    </marker>
                </defs>
                { for row_bands }
                { for lanes }
                { for frames }
                { for marks }
            </svg>
        </figure>
    }
}
