//! The faults panel: loss, latency, jitter, bandwidth and the seed of the run on screen,
//! from the scenario's defaults. A change runs the scenario again, from the same seed, so
//! the same settings always give the same trace. And "drop this one" for the frame in the
//! inspector: it is lost on purpose, and the run is made again.

use core::time::Duration;
use std::rc::Rc;
use wasm_bindgen::JsCast;
use web_sys::HtmlInputElement;
use wirelab_core::Trace;
use wirelab_scenarios::share::{JITTER_MAX_MS, LATENCY_MAX_MS, LOSS_MAX, MAX_DROPS};
use wirelab_scenarios::{Params, defaults};
use yew::prelude::*;

/// The bandwidth slider's stops, in Mbit/s; the first is "off" (an infinitely fast line).
const BANDWIDTHS: [f64; 11] = [0.0, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0];

/// The stop nearest `bps` (0, "off", for none).
fn bandwidth_stop(bps: Option<u64>) -> f64 {
    let Some(bps) = bps else { return 0.0 };
    let mbps = bps as f64 / 1e6;
    // Nearest on a log scale: the smallest ratio either way.
    let ratio = |b: f64| if b > mbps { b / mbps } else { mbps / b };
    let mut best = (1, f64::INFINITY);
    for (i, &b) in BANDWIDTHS.iter().enumerate().skip(1) {
        if ratio(b) < best.1 {
            best = (i, ratio(b));
        }
    }
    best.0 as f64
}

fn mbit(bps: u64) -> String {
    format!("{} Mbit/s", bps as f64 / 1e6)
}

/// `15`, `2.5`: a fraction as a percentage, to a tenth.
fn percent(x: f64) -> f64 {
    (x * 1000.0).round() / 10.0
}

fn ms(d: Duration) -> String {
    format!("{} ms", d.as_micros() as f64 / 1000.0)
}

#[derive(Clone, Copy, PartialEq)]
enum Unit {
    Percent,
    Millis,
    /// An index into [`BANDWIDTHS`].
    Bandwidth,
}

impl Unit {
    fn show(self, v: f64) -> String {
        match self {
            Unit::Percent => format!("{v} %"),
            Unit::Millis => format!("{v} ms"),
            Unit::Bandwidth => match BANDWIDTHS.get(v as usize) {
                Some(&b) if b > 0.0 => format!("{b} Mbit/s"),
                _ => "off".to_string(),
            },
        }
    }
}

#[derive(Properties, PartialEq)]
struct SliderProps {
    label: &'static str,
    testid: &'static str,
    hint: &'static str,
    max: f64,
    value: f64,
    unit: Unit,
    on_commit: Callback<f64>,
}

/// A range input that shows its value as it moves and reports it once let go.
#[component(Slider)]
fn slider(props: &SliderProps) -> Html {
    let live = use_state(|| None::<f64>);
    let read = |e: &Event| e.target().and_then(|t| t.dyn_into::<HtmlInputElement>().ok()).map(|i| i.value_as_number());
    let oninput = {
        let live = live.clone();
        Callback::from(move |e: InputEvent| live.set(read(&e).filter(|v| v.is_finite())))
    };
    // The value shown stays the one let go of until the run made with it arrives.
    {
        let live = live.clone();
        use_effect_with(props.value.to_bits(), move |_| live.set(None));
    }
    let onchange = {
        let cb = props.on_commit.clone();
        Callback::from(move |e: Event| {
            if let Some(v) = read(&e).filter(|v| v.is_finite()) {
                cb.emit(v);
            }
        })
    };
    let shown = live.unwrap_or(props.value);
    html! {
        <label class="fault" title={props.hint}>
            <span class="fault-name">{ props.label }</span>
            <output class="fault-value" data-testid={format!("{}-value", props.testid)}>{ props.unit.show(shown) }</output>
            <input type="range" min="0" max={props.max.to_string()} step="1" value={shown.to_string()}
                data-testid={props.testid} {oninput} {onchange} />
        </label>
    }
}

#[derive(Properties, PartialEq)]
pub struct FaultsProps {
    pub scenario: &'static str,
    pub params: Params,
    /// A run is being made: say so.
    pub busy: bool,
    pub on_change: Callback<Params>,
}

#[component(Faults)]
pub fn faults(props: &FaultsProps) -> Html {
    let p = &props.params;
    let d = defaults(props.scenario);
    let seed_input = use_node_ref();
    let set = |f: fn(&mut Params, f64)| {
        let (params, cb) = (p.clone(), props.on_change.clone());
        Callback::from(move |v: f64| {
            let mut p = params.clone();
            f(&mut p, v);
            if p != params {
                cb.emit(p);
            }
        })
    };
    let on_seed = {
        let (params, cb, input) = (p.clone(), props.on_change.clone(), seed_input.clone());
        Callback::from(move |_: Event| {
            let Some(el) = input.cast::<HtmlInputElement>() else { return };
            match el.value().trim().parse::<u64>() {
                Ok(seed) if seed != params.seed => cb.emit(Params { seed, ..params.clone() }),
                Ok(_) => {}
                Err(_) => el.set_value(&params.seed.to_string()),
            }
        })
    };
    let on_new_seed = {
        let (params, cb) = (p.clone(), props.on_change.clone());
        Callback::from(move |_: MouseEvent| {
            let mut seed = params.seed;
            while seed == params.seed {
                seed = 1 + (js_sys::Math::random() * 99_999.0) as u64;
            }
            cb.emit(Params { seed, ..params.clone() })
        })
    };
    let on_reset = {
        let (cb, d) = (props.on_change.clone(), d.clone());
        Callback::from(move |_: MouseEvent| cb.emit(d.clone()))
    };

    // What is in effect, the ones that differ from the scenario's own marked.
    let mut active: Vec<(String, bool)> =
        vec![(format!("latency {}", ms(p.link.latency)), p.link.latency != d.link.latency)];
    if p.link.loss > 0.0 || d.link.loss > 0.0 {
        let text = if p.link.loss > 0.0 { format!("loss {} %", percent(p.link.loss)) } else { "no loss".to_string() };
        active.push((text, p.link.loss != d.link.loss));
    }
    if !p.link.jitter.is_zero() || !d.link.jitter.is_zero() {
        active.push((format!("jitter {}", ms(p.link.jitter)), p.link.jitter != d.link.jitter));
    }
    if p.link.bandwidth_bps.is_some() || d.link.bandwidth_bps.is_some() {
        let text = p.link.bandwidth_bps.map_or("unlimited bandwidth".to_string(), mbit);
        active.push((text, p.link.bandwidth_bps != d.link.bandwidth_bps));
    }
    if p.link.reorder > 0.0 {
        active.push((format!("reorder {} %", percent(p.link.reorder)), false));
    }
    if !p.drops.is_empty() {
        let list: Vec<String> = p.drops.iter().map(|s| format!("#{s}")).collect();
        active.push((format!("dropped by hand: {}", list.join(", ")), true));
    }
    active.push((format!("seed {}", p.seed), p.seed != d.seed));
    let changed = *p != d;

    html! {
        <details class="faults" open=true data-testid="faults">
            <summary>
                <span class="faults-title">{ "Faults and seed" }</span>
                <span class="faults-active" data-testid="faults-active">
                    { for active.into_iter().map(|(t, c)| html! { <span class={classes!("fault-chip", c.then_some("changed"))}>{ t }</span> }) }
                </span>
                if props.busy { <span class="recomputing" role="status" data-testid="recomputing">{ "recomputing…" }</span> }
            </summary>
            <div class="fault-grid">
                <Slider label="Loss" testid="fault-loss" hint="The chance that the link loses each frame"
                    max={LOSS_MAX * 100.0} value={(p.link.loss * 100.0).round()} unit={Unit::Percent}
                    on_commit={set(|p, v| p.link.loss = v / 100.0)} />
                <Slider label="Latency" testid="fault-latency" hint="How long each frame takes to cross, one way"
                    max={LATENCY_MAX_MS} value={(p.link.latency.as_micros() as f64 / 1000.0).round()} unit={Unit::Millis}
                    on_commit={set(|p, v| p.link.latency = Duration::from_millis(v as u64))} />
                <Slider label="Jitter" testid="fault-jitter" hint="Extra random delay for each frame, up to this: frames may overtake each other"
                    max={JITTER_MAX_MS} value={(p.link.jitter.as_micros() as f64 / 1000.0).round()} unit={Unit::Millis}
                    on_commit={set(|p, v| p.link.jitter = Duration::from_millis(v as u64))} />
                <Slider label="Bandwidth" testid="fault-bandwidth" hint="The line rate: each frame waits its turn to go on the wire"
                    max={(BANDWIDTHS.len() - 1) as f64} value={bandwidth_stop(p.link.bandwidth_bps)} unit={Unit::Bandwidth}
                    on_commit={set(|p, v| {
                        p.link.bandwidth_bps = BANDWIDTHS.get(v as usize).filter(|b| **b > 0.0).map(|b| (b * 1e6).round() as u64)
                    })} />
            </div>
            <div class="faults-foot">
                <span class="fault seed" title="Every random choice of the link comes from the seed: the same seed, the same run">
                    <label for="fault-seed" class="fault-name">{ "Seed" }</label>
                    <input id="fault-seed" type="number" min="0" step="1" value={p.seed.to_string()} ref={seed_input}
                        data-testid="fault-seed" onchange={on_seed} />
                    <button type="button" data-testid="fault-new-seed" onclick={on_new_seed}>{ "New seed" }</button>
                </span>
                <button type="button" data-testid="faults-reset" disabled={!changed} onclick={on_reset}>
                    { "Reset to the scenario's defaults" }
                </button>
                <span class="muted">{ "Click a frame in the diagram to drop it by hand." }</span>
            </div>
        </details>
    }
}

/// "Drop this one" (or "undo") for the frame the inspector shows.
pub fn drop_tools(params: &Params, trace: &Rc<Trace>, frame: Option<usize>, on_change: &Callback<Params>) -> Html {
    let Some(seq) = frame else { return html! {} };
    if params.drops.contains(&seq) {
        // Later drops were picked in the run this one shaped: they go with it.
        let cb = on_change.clone();
        let p = Params { drops: params.drops.iter().copied().filter(|&d| d < seq).collect(), ..params.clone() };
        return html! {
            <p class="drop-tools">
                <span class="dropped">{ format!("Frame #{seq} was dropped by hand.") }</span>
                <button type="button" data-testid="undo-drop" title="Deliver it again (and forget the drops after it)"
                    onclick={Callback::from(move |_: MouseEvent| cb.emit(p.clone()))}>{ "Undo" }</button>
            </p>
        };
    }
    let lost = matches!(trace.fate(seq), Some((_, false)));
    if lost || params.drops.len() >= MAX_DROPS {
        return html! {};
    }
    let cb = on_change.clone();
    let mut drops = params.drops.clone();
    drops.push(seq);
    drops.sort_unstable();
    let p = Params { drops, ..params.clone() };
    html! {
        <p class="drop-tools">
            <button type="button" data-testid="drop-frame" title="Lose this frame on the link and run again from the same seed"
                onclick={Callback::from(move |_: MouseEvent| cb.emit(p.clone()))}>{ "Drop this one" }</button>
        </p>
    }
}
