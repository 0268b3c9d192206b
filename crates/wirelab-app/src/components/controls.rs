//! Step controls: first, back, forward, last, and where we are.

use crate::model::Action;
use yew::prelude::*;

#[derive(Properties, PartialEq)]
pub struct ControlsProps {
    pub pos: usize,
    pub total: usize,
    pub on_action: Callback<Action>,
}

#[component(Controls)]
pub fn controls(props: &ControlsProps) -> Html {
    // Icons are SVG paths, not emoji: many machines have no emoji font.
    let button = |action: Action, path: &'static str, title: &'static str, testid: &'static str, disabled: bool| {
        let cb = props.on_action.clone();
        html! {
            <button class="step-button" {title} aria-label={title} data-testid={testid} {disabled}
                onclick={Callback::from(move |_| cb.emit(action.clone()))}>
                <svg viewBox="0 0 16 16" width="16" height="16" aria-hidden="true"><path d={path} /></svg>
            </button>
        }
    };
    let at_start = props.pos == 0;
    let at_end = props.pos >= props.total;
    html! {
        <div class="controls" role="toolbar" aria-label="Step through the scenario">
            { button(Action::First, "M2 2h2v12H2zM14 2v12L5 8z", "Jump to start (Home)", "step-first", at_start) }
            { button(Action::Prev, "M12 2v12L3 8z", "Step back (←)", "step-prev", at_start) }
            { button(Action::Next, "M4 2v12l9-6z", "Step forward (→)", "step-next", at_end) }
            { button(Action::Last, "M12 2h2v12h-2zM2 2v12l9-6z", "Jump to end (End)", "step-last", at_end) }
            <span class="step-counter" data-testid="step-counter">
                { format!("Step {} of {}", props.pos, props.total) }
            </span>
            <span class="hint">{ "Keys: ← → Home End" }</span>
        </div>
    }
}
