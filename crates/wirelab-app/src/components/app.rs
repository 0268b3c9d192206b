//! The page: the scenario catalogue, the stepped scenario, and the live panel.

use crate::components::controls::Controls;
use crate::components::endpoints::Endpoints;
use crate::components::export_bar::ExportBar;
use crate::components::faults::{Faults, drop_tools};
use crate::components::inspector::Inspector;
use crate::components::ladder::Ladder;
use crate::components::narration::Narration;
use crate::components::results::Results;
use crate::components::share_bar::ShareBar;
use crate::model::{Action, Model};
use crate::route::{self, Route};
use crate::sync;
use gloo::events::{EventListener, EventListenerOptions};
use std::rc::Rc;
use wasm_bindgen::JsCast;
use wirelab_scenarios::share::View;
use wirelab_scenarios::{CATALOGUE, ScenarioInfo};
use yew::prelude::*;

#[component(App)]
pub fn app() -> Html {
    // The URL says which scenario, step, seed and faults; `/` opens the handshake (where
    // every course starts, whatever order the catalogue lists topics in).
    let route = use_state(|| Rc::new(Route::current()));
    // Bumped whenever the route comes from outside (back, forward): a fresh scenario view.
    let generation = use_mut_ref(|| 0u32);
    {
        let (route, generation) = (route.clone(), generation.clone());
        use_effect_with((), move |_| {
            let listener = EventListener::new(&gloo::utils::window(), "popstate", move |_| {
                *generation.borrow_mut() += 1;
                route.set(Rc::new(Route::current()));
            });
            move || drop(listener)
        });
    }
    let key = format!("{}#{}", route.info.id, generation.borrow());
    if route.embed {
        let full = route::href(false, route.info.id, &route.view);
        return html! {
            <main class="embed">
                <ScenarioView {key} route={(*route).clone()} />
                <a class="embed-open" href={full} target="_blank" rel="noopener">{ "Open in wirelab ↗" }</a>
            </main>
        };
    }
    let on_choose = {
        let (route, generation) = (route.clone(), generation.clone());
        Callback::from(move |info: &'static ScenarioInfo| choose(&route, &generation, info))
    };
    html! {
        <>
            <TopBar live=false />
            <div class="layout">
                <nav class="catalogue" aria-label="Scenarios">
                    <h2>{ "Scenarios" }</h2>
                    { for topics().into_iter().map(|topic| html! {
                        <section>
                            <h3>{ topic.to_string() }</h3>
                            <ul>
                            { for CATALOGUE.iter().filter(|s| s.topic == topic).map(|s| {
                                let on_choose = on_choose.clone();
                                let active = !route.landing && route.info.id == s.id;
                                html! {
                                    <li>
                                        <button class={classes!("scenario-link", active.then_some("active"))}
                                            data-testid={format!("scenario-{}", s.id)}
                                            aria-current={active.then_some("true")}
                                            onclick={Callback::from(move |_| on_choose.emit(s))}>
                                            { s.title }
                                        </button>
                                    </li>
                                }
                            }) }
                            </ul>
                        </section>
                    }) }
                </nav>
                <main>
                    if route.landing {
                        <Landing on_choose={on_choose.clone()} />
                    } else {
                        <ScenarioView {key} route={(*route).clone()} />
                    }
                </main>
            </div>
        </>
    }
}

#[derive(Properties, PartialEq)]
pub struct TopBarProps {
    /// On the live lab page (else on the scenarios page).
    pub live: bool,
}

/// The bar on top of both pages: the name, the two pages, the theme.
#[component(TopBar)]
pub fn top_bar(props: &TopBarProps) -> Html {
    let current = |here: bool| here.then_some("page");
    html! {
        <header class="topbar">
            <h1 class="logo"><a href="/" data-testid="home">{ "wirelab" }</a></h1>
            <p class="tagline">{ "Step through real protocols, byte by byte." }</p>
            <nav class="pages" aria-label="Pages">
                <a href="/" aria-current={current(!props.live)}>{ "Scenarios" }</a>
                <a href="/live/" data-testid="live-link" aria-current={current(props.live)}>{ "Live lab" }</a>
            </nav>
            <crate::components::theme::ThemeToggle />
        </header>
    }
}

/// The client-server vs P2P plot, for the models' scenarios (it runs their code).
#[cfg(feature = "classic")]
fn models_plot(info: &ScenarioInfo) -> Html {
    if info.topic == wirelab_scenarios::Topic::Models {
        html! { <crate::components::plots::ModelsPlot /> }
    } else {
        html! {}
    }
}

#[cfg(not(feature = "classic"))]
fn models_plot(_: &ScenarioInfo) -> Html {
    html! {}
}

/// Opens a scenario: in this page when its code is in this page's bundle, else by loading
/// the page that carries it (the server serves that page's bundle for `/s/<id>`).
fn choose(route: &UseStateHandle<Rc<Route>>, generation: &Rc<std::cell::RefCell<u32>>, info: &'static ScenarioInfo) {
    let next = Route::start(info);
    let href = route::href(false, info.id, &next.view);
    if !wirelab_scenarios::available(info.id) {
        let _ = gloo::utils::window().location().assign(&href);
        return;
    }
    route::push(&href);
    *generation.borrow_mut() += 1;
    route.set(Rc::new(next));
}

/// What the seed's topics hold that has no stepped scenario yet, said plainly.
fn coming(topic: wirelab_scenarios::Topic) -> Option<&'static str> {
    use wirelab_scenarios::Topic::*;
    match topic {
        FileTransfer => {
            Some("FTP (active and passive) and SSH/SFTP are next. The bridge already carries FTP's second connection.")
        }
        Email => Some(
            "The same SMTP, POP3 and IMAP machines also run as real servers (ports in the README). Still to come: \
             bob reading the relayed message by POP3 at south.test.",
        ),
        RealTime => {
            Some("WebRTC data channels between two browsers are next. Signalling rooms already run on the server.")
        }
        _ => None,
    }
}

#[derive(Properties, PartialEq)]
pub struct LandingProps {
    pub on_choose: Callback<&'static ScenarioInfo>,
}

/// `/`: every scenario, by the seed's topics, with what each shows.
#[component(Landing)]
pub fn landing(props: &LandingProps) -> Html {
    use wirelab_scenarios::Topic::*;
    html! {
        <section class="landing" data-testid="landing" aria-labelledby="landing-title">
            <h2 id="landing-title">{ "Protocols, one step at a time" }</h2>
            <p class="summary">{ "Every scenario runs the real protocol machines in your browser: step forward and back, \
                see each frame's bytes with their fields named, read why each step happened with its RFC section, \
                and break the network on purpose. The live lab talks to the real server." }</p>
            <div class="topics">
            { for [Models, WebSocket, Transport, FileTransfer, Email, RealTime].into_iter().map(|topic| html! {
                <section class="topic" data-testid="topic">
                    <h3>{ topic.to_string() }</h3>
                    <ul>
                    { for CATALOGUE.iter().filter(|s| s.topic == topic).map(|s| {
                        let on_choose = props.on_choose.clone();
                        html! {
                            <li>
                                <a href={format!("/s/{}", s.id)} data-testid={format!("landing-{}", s.id)}
                                    onclick={Callback::from(move |e: MouseEvent| { e.prevent_default(); on_choose.emit(s) })}>
                                    { s.title }
                                </a>
                                <p>{ s.summary }</p>
                            </li>
                        }
                    }) }
                    </ul>
                    if let Some(next) = coming(topic) { <p class="coming">{ next }</p> }
                </section>
            }) }
            </div>
        </section>
    }
}

/// The topics that have scenarios, in catalogue order.
fn topics() -> Vec<wirelab_scenarios::Topic> {
    let mut out = Vec::new();
    for s in CATALOGUE {
        if !out.contains(&s.topic) {
            out.push(s.topic);
        }
    }
    out
}

#[derive(Properties, PartialEq)]
pub struct ScenarioProps {
    /// The scenario, and the step, seed and faults it opens with.
    pub route: Rc<Route>,
}

/// One scenario, stepped: controls, endpoint states, ladder, inspector and narration.
#[component(ScenarioView)]
pub fn scenario_view(props: &ScenarioProps) -> Html {
    let route = props.route.clone();
    let info = route.info;
    let model = use_reducer(|| Model::run(info, route.view.params.clone(), route.view.step));
    let (busy, rerun) = sync::use_rerun(info, &model);
    sync::use_address(&route, &model);
    let notes = sync::use_notes(&route, model.steps.len());

    // Keyboard: ← → step, Home End jump. Not while typing in a text field.
    {
        let dispatcher = model.dispatcher();
        use_effect_with((), move |_| {
            // Not passive: Home/End/arrows must not also scroll the page.
            let options = EventListenerOptions::enable_prevent_default();
            let listener = EventListener::new_with_options(&gloo::utils::document(), "keydown", options, move |e| {
                let Some(e) = e.dyn_ref::<web_sys::KeyboardEvent>() else {
                    return;
                };
                let typing = e
                    .target()
                    .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
                    .is_some_and(|el| matches!(el.tag_name().as_str(), "INPUT" | "TEXTAREA" | "SELECT"));
                if typing || e.alt_key() || e.ctrl_key() || e.meta_key() {
                    return;
                }
                let action = match e.key().as_str() {
                    "ArrowRight" => Action::Next,
                    "ArrowLeft" => Action::Prev,
                    "Home" => Action::First,
                    "End" => Action::Last,
                    _ => return,
                };
                e.prevent_default();
                dispatcher.dispatch(action);
            });
            move || drop(listener)
        });
    }

    let dispatch = {
        let model = model.clone();
        Callback::from(move |a: Action| model.dispatch(a))
    };
    let faults = (!route.embed).then(|| {
        html! { <Faults scenario={info.id} params={model.params.clone()} {busy} on_change={rerun.clone()} /> }
    });
    if let Some(err) = &model.error {
        return html! { <section class="scenario"><p class="error" role="alert">{ format!("This scenario could not be run: {err}") }</p>{ faults }</section> };
    }
    let current = model.current_event();
    let states = model.trace.states_after(current);
    let inspected = model.inspected_frame();
    html! {
        <section class="scenario" data-testid="scenario" aria-labelledby="scenario-title">
            <h2 id="scenario-title">{ info.title }</h2>
            <p class="summary">{ info.summary }</p>
            { notes }
            { faults }
            <Controls pos={model.pos} total={model.steps.len()} on_action={dispatch.clone()} />
            <Narration trace={model.trace.clone()} event={current} />
            <Endpoints trace={model.trace.clone()} states={states} current={current} />
            <div class="stage">
                <Ladder trace={model.trace.clone()} steps={model.steps.clone()} pos={model.pos}
                    selected={inspected} on_action={dispatch.clone()} />
                <Inspector trace={model.trace.clone()} frame={inspected}
                    tools={(!route.embed).then(|| drop_tools(&model.params, &model.trace, inspected, &rerun))} />
            </div>
            <crate::components::state_diagram::StateDiagrams trace={model.trace.clone()} event={current} />
            <crate::components::plots::Plots trace={model.trace.clone()} event={current} />
            { models_plot(info) }
            <Results scenario={info.id} trace={model.trace.clone()} />
            if !route.embed {
                <ExportBar trace={model.trace.clone()} scenario={info.id} />
                <ShareBar {info} view={View { params: model.params.clone(), step: model.pos }} />
            }
        </section>
    }
}
