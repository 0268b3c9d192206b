//! What the current step did and why, with its RFC section; read out by screen readers.

use std::rc::Rc;
use wirelab_core::Trace;
use yew::prelude::*;

#[derive(Properties, PartialEq)]
pub struct NarrationProps {
    pub trace: Rc<Trace>,
    pub event: Option<usize>,
}

#[component(Narration)]
pub fn narration(props: &NarrationProps) -> Html {
    let (text, rfc, at) = match props.event {
        Some(e) => {
            (props.trace.narrate(e), props.trace.rfc_of(e).cloned(), props.trace.events.get(e).map(|ev| seconds(ev.at)))
        }
        None => ("Press the step-forward button (or →) to take the first step.".to_string(), None, None),
    };
    html! {
        <div class="narration" aria-live="polite" data-testid="narration">
            if let Some(at) = at { <span class="narration-time">{ format!("t = {at}") }</span> }
            <p>{ text }</p>
            if let Some(rfc) = rfc {
                <a class="rfc-link" href={rfc.url()} target="_blank" rel="noopener">{ rfc.to_string() }</a>
            }
        </div>
    }
}

/// `0.011 s`: milliseconds are the resolution a person reads.
pub fn seconds(at: wirelab_core::Instant) -> String {
    format!("{:.3} s", at.as_micros() as f64 / 1e6)
}
