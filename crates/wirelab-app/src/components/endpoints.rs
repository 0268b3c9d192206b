//! One card per endpoint with its current state.

use std::rc::Rc;
use wirelab_core::{Trace, TraceKind};
use yew::prelude::*;

#[derive(Properties, PartialEq)]
pub struct EndpointsProps {
    pub trace: Rc<Trace>,
    pub states: Vec<String>,
    pub current: Option<usize>,
}

#[component(Endpoints)]
pub fn endpoints(props: &EndpointsProps) -> Html {
    // The node whose state the current step changed, to draw the eye to it.
    let changed = props.current.and_then(|e| props.trace.events.get(e)).and_then(|e| match e.kind {
        TraceKind::StateChanged { .. } => Some(e.node),
        _ => None,
    });
    html! {
        <div class="endpoints">
            { for props.trace.nodes.iter().enumerate().map(|(i, n)| {
                let state = props.states.get(i).cloned().unwrap_or_default();
                html! {
                    <div class={classes!("endpoint", (changed == Some(i)).then_some("changed"))}>
                        <span class="endpoint-name">{ &n.name }</span>
                        <span class="endpoint-ip">{ n.ip.to_string() }</span>
                        <span class="endpoint-state" data-testid={format!("state-{}", n.name)}>{ state }</span>
                    </div>
                }
            }) }
        </div>
    }
}
