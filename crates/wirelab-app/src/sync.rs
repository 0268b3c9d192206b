//! Keeping the run, the address bar and the faults in step: hooks the scenario view uses.

use crate::model::{Action, Model};
use crate::route::{self, Route};
use gloo::render::{AnimationFrame, request_animation_frame};
use gloo::timers::callback::Timeout;
use std::rc::Rc;
use wirelab_scenarios::share::View;
use wirelab_scenarios::{Params, ScenarioInfo};
use yew::prelude::*;

/// Runs with more events than this take long enough (tens of milliseconds and more) to
/// say "recomputing…" first.
const SLOW_EVENTS: usize = 2_000;

/// A callback that runs the scenario again with other params, and whether it is busy.
/// A short run is made at once; a long one after the page has painted "recomputing…".
#[hook]
pub fn use_rerun(info: &'static ScenarioInfo, model: &UseReducerHandle<Model>) -> (bool, Callback<Params>) {
    let busy = use_state(|| false);
    let pending = use_mut_ref(|| None::<AnimationFrame>);
    let slow = model.trace.events.len() > SLOW_EVENTS;
    let dispatcher = model.dispatcher();
    let busy_setter = busy.setter();
    let rerun = Callback::from(move |params: Params| {
        if !slow {
            dispatcher.dispatch(Action::Rerun(Rc::new(Model::run(info, params, 0))));
            return;
        }
        busy_setter.set(true);
        let (dispatcher, busy) = (dispatcher.clone(), busy_setter.clone());
        // One frame to paint the note, then the work in a task of its own.
        *pending.borrow_mut() = Some(request_animation_frame(move |_| {
            Timeout::new(0, move || {
                dispatcher.dispatch(Action::Rerun(Rc::new(Model::run(info, params, 0))));
                busy.set(false);
            })
            .forget();
        }));
    });
    (*busy, rerun)
}

/// How long the view must stay put before the address is rewritten.
const ADDRESS_DELAY_MS: u32 = 150;

/// Writes the view into the address bar as the person steps and changes faults, without
/// new history entries.
#[hook]
pub fn use_address(route: &Route, model: &Model) {
    let (embed, id) = (route.embed, route.info.id);
    use_effect_with((model.pos, model.params.clone()), move |(pos, params)| {
        // Once stepping pauses: Chromium's replaceState costs ~5 ms, a third of a frame,
        // and holding → down would pay it on every step.
        let url = route::href(embed, id, &View { params: params.clone(), step: *pos });
        let pending = Timeout::new(ADDRESS_DELAY_MS, move || route::replace(&url));
        move || drop(pending)
    });
}

/// What in the URL the page could not use, said once, above the scenario.
#[hook]
pub fn use_notes(route: &Route, total: usize) -> Html {
    let notes = use_state(|| {
        let mut notes = route.notes.clone();
        if route.view.step > total {
            notes.push(format!(
                "step={} is past the end of this run ({total} steps): here is its last",
                route.view.step
            ));
        }
        notes
    });
    if notes.is_empty() {
        return html! {};
    }
    html! {
        <div class="url-note" role="status" data-testid="url-note">
            <p>{ "Some of this link could not be used:" }</p>
            <ul>{ for notes.iter().map(|n| html! { <li>{ n }</li> }) }</ul>
        </div>
    }
}
