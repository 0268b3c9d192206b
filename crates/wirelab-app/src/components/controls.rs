//! Step controls: first, back, play/pause, forward, last, a speed, a scrub bar, and where
//! we are. Space plays and pauses (← → Home End are handled by the scenario view).

use crate::model::Action;
use gloo::events::{EventListener, EventListenerOptions};
use gloo::timers::callback::Interval;
use wasm_bindgen::JsCast;
use web_sys::HtmlInputElement;
use yew::prelude::*;

/// Playback speeds offered, as multiples of one step every [`STEP_MS`].
pub const SPEEDS: [f64; 5] = [0.25, 0.5, 1.0, 2.0, 4.0];
/// One step every 700 ms at 1×.
pub const STEP_MS: f64 = 700.0;

#[derive(Properties, PartialEq)]
pub struct ControlsProps {
    pub pos: usize,
    pub total: usize,
    pub on_action: Callback<Action>,
}

#[component(Controls)]
pub fn controls(props: &ControlsProps) -> Html {
    let playing = use_state(|| false);
    let speed = use_state(|| 1.0f64);
    let at_start = props.pos == 0;
    let at_end = props.pos >= props.total;

    // Playing: a step every STEP_MS / speed; stops by itself at the end.
    {
        let (on_action, playing_now) = (props.on_action.clone(), *playing);
        use_effect_with((playing_now, *speed, at_end), move |&(on, speed, at_end)| {
            let timer = (on && !at_end)
                .then(|| Interval::new((STEP_MS / speed).round() as u32, move || on_action.emit(Action::Next)));
            move || drop(timer)
        });
    }
    if *playing && at_end {
        playing.set(false);
    }
    let toggle = {
        let (playing, on_action) = (playing.clone(), props.on_action.clone());
        Callback::from(move |_| {
            // Play from the start when at the end.
            if !*playing && at_end {
                on_action.emit(Action::First);
            }
            playing.set(!*playing);
        })
    };
    // Space: play / pause, unless typing or on a button (where Space clicks it).
    {
        // Re-registered when what `toggle` read changes (a handle's value is a snapshot).
        let toggle = toggle.clone();
        use_effect_with((*playing, at_end), move |_| {
            let options = EventListenerOptions::enable_prevent_default();
            let listener = EventListener::new_with_options(&gloo::utils::document(), "keydown", options, move |e| {
                let Some(e) = e.dyn_ref::<web_sys::KeyboardEvent>() else { return };
                let busy = e.target().and_then(|t| t.dyn_into::<web_sys::Element>().ok()).is_some_and(|el| {
                    matches!(el.tag_name().as_str(), "INPUT" | "TEXTAREA" | "SELECT" | "BUTTON" | "A")
                });
                if e.key() == " " && !busy && !e.ctrl_key() && !e.alt_key() && !e.meta_key() {
                    e.prevent_default();
                    toggle.emit(());
                }
            });
            move || drop(listener)
        });
    }

    // Any manual step pauses playback.
    let manual = |action: Action| {
        let (cb, playing) = (props.on_action.clone(), playing.clone());
        Callback::from(move |_| {
            playing.set(false);
            cb.emit(action.clone());
        })
    };
    // Icons are SVG paths, not emoji: many machines have no emoji font.
    let button = |action: Action, path: &'static str, title: &'static str, testid: &'static str, disabled: bool| {
        html! {
            <button class="step-button" {title} aria-label={title} data-testid={testid} {disabled}
                onclick={manual(action)}>
                <svg viewBox="0 0 16 16" width="16" height="16" aria-hidden="true"><path d={path} /></svg>
            </button>
        }
    };
    let scrub = {
        let (cb, playing) = (props.on_action.clone(), playing.clone());
        Callback::from(move |e: InputEvent| {
            let Some(input) = e.target_dyn_into::<HtmlInputElement>() else { return };
            if let Ok(n) = input.value().parse::<usize>() {
                playing.set(false);
                cb.emit(Action::Goto(n));
            }
        })
    };
    let set_speed = {
        let speed = speed.clone();
        Callback::from(move |e: Event| {
            let Some(input) = e.target_dyn_into::<web_sys::HtmlSelectElement>() else { return };
            // The option's value is its index in SPEEDS (no float parsing in the app: its
            // tables cost kilobytes).
            if let Some(&s) = input.value().parse::<usize>().ok().and_then(|i| SPEEDS.get(i)) {
                speed.set(s);
            }
        })
    };
    let (play_path, play_title) =
        if *playing { ("M3 2h4v12H3zM9 2h4v12H9z", "Pause (Space)") } else { ("M4 2v12l10-6z", "Play (Space)") };
    html! {
        <div class="controls" role="toolbar" aria-label="Step through the scenario">
            { button(Action::First, "M2 2h2v12H2zM14 2v12L5 8z", "Jump to start (Home)", "step-first", at_start) }
            { button(Action::Prev, "M12 2v12L3 8z", "Step back (←)", "step-prev", at_start) }
            <button class={classes!("step-button", "play", playing.then_some("on"))} title={play_title} aria-label={play_title}
                    aria-pressed={playing.to_string()} data-testid="play" onclick={toggle.reform(|_| ())}
                    disabled={props.total == 0}>
                <svg viewBox="0 0 16 16" width="16" height="16" aria-hidden="true"><path d={play_path} /></svg>
            </button>
            { button(Action::Next, "M4 2v12l9-6z", "Step forward (→)", "step-next", at_end) }
            { button(Action::Last, "M12 2h2v12h-2zM2 2v12l9-6z", "Jump to end (End)", "step-last", at_end) }
            <label class="speed">
                <span class="visually-hidden">{ "Playback speed" }</span>
                <select data-testid="speed" onchange={set_speed} aria-label="Playback speed">
                    { for SPEEDS.iter().enumerate().map(|(i, &s)| html! {
                        <option value={i.to_string()} selected={s == *speed}>{ format!("{s}×") }</option>
                    }) }
                </select>
            </label>
            <span class="step-counter" data-testid="step-counter">
                { format!("Step {} of {}", props.pos, props.total) }
            </span>
            <input class="scrub" type="range" min="0" max={props.total.to_string()} value={props.pos.to_string()}
                   aria-label="Scrub through the steps" data-testid="scrub" oninput={scrub} />
            <span class="hint">{ "Keys: ← → Space Home End" }</span>
        </div>
    }
}
