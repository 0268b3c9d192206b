//! Component tests: each view mounted alone in a page of headless Chromium (wasm-bindgen-
//! test), with props a test chose, and what it drew read back from the DOM. The
//! end-to-end test drives the whole app; these pin each view's own promises.
#![cfg(target_arch = "wasm32")]

use std::rc::Rc;
use std::time::Duration;
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};
use web_sys::Element;
use wirelab_app::components::controls::{Controls, ControlsProps};
use wirelab_app::components::ladder::{Ladder, LadderProps};
use wirelab_app::components::state_diagram::{StateDiagrams, StateDiagramsProps};
use wirelab_app::model::Model;
use wirelab_app::route::Route;
use wirelab_core::TraceKind;
use yew::{BaseComponent, Callback};

wasm_bindgen_test_configure!(run_in_browser);

/// Renders `C` with `props` into a fresh element and waits for yew to draw it.
async fn mount<C: BaseComponent>(props: C::Properties) -> Element {
    let doc = gloo::utils::document();
    let root = doc.create_element("div").expect("a div");
    doc.body().expect("a body").append_child(&root).expect("attached");
    yew::Renderer::<C>::with_root_and_props(root.clone(), props).render();
    yew::platform::time::sleep(Duration::from_millis(20)).await;
    root
}

fn all(root: &Element, selector: &str) -> Vec<Element> {
    let list = root.query_selector_all(selector).expect("a valid selector");
    (0..list.length()).filter_map(|i| list.item(i)).filter_map(|n| wasm_bindgen::JsCast::dyn_into(n).ok()).collect()
}

fn handshake(pos: usize) -> Model {
    let info = wirelab_scenarios::info("tcp-handshake").expect("in the catalogue");
    Model::run(info, wirelab_scenarios::defaults(info.id), pos)
}

#[wasm_bindgen_test]
async fn the_state_diagrams_light_the_state_and_the_edge_of_the_last_transition() {
    let m = handshake(0);
    // The step at which the server enters SYN-RECEIVED.
    let pos = m
        .steps
        .iter()
        .position(|&e| matches!(&m.trace.events[e].kind, TraceKind::StateChanged { to, .. } if to == "SYN-RECEIVED"))
        .expect("the server gets the SYN")
        + 1;
    let m = handshake(pos);
    let root = mount::<StateDiagrams>(StateDiagramsProps { trace: m.trace.clone(), event: m.current_event() }).await;
    let figures = all(&root, "figure.sd-node");
    assert_eq!(figures.len(), 2, "client and server");
    assert_eq!(all(&figures[0], ".sd-box").len(), 12, "eleven states, CLOSED twice as in RFC 9293 Figure 5");
    let lit: Vec<String> = all(&root, ".sd-box.now").iter().filter_map(|b| b.get_attribute("data-state")).collect();
    assert_eq!(lit, ["SYN-SENT", "SYN-RECEIVED"]);
    let hot = all(&root, ".sd-edge.hot");
    assert_eq!(hot.len(), 2, "one last edge per endpoint");
    let server_cause = figures[1].text_content().unwrap_or_default();
    assert!(server_cause.contains("LISTEN → SYN-RECEIVED"), "{server_cause}");
    assert!(server_cause.contains("RFC 9293 §3.10.7.2"), "{server_cause}");
}

#[wasm_bindgen_test]
async fn before_the_first_step_nothing_is_lit_as_a_transition() {
    let m = handshake(0);
    let root = mount::<StateDiagrams>(StateDiagramsProps { trace: m.trace.clone(), event: None }).await;
    assert!(all(&root, ".sd-edge.hot").is_empty());
    let lit: Vec<String> = all(&root, ".sd-box.now").iter().filter_map(|b| b.get_attribute("data-state")).collect();
    assert_eq!(lit, ["CLOSED", "CLOSED"], "the first CLOSED box of each");
    assert!(root.text_content().unwrap_or_default().contains("No transition yet."));
}

#[wasm_bindgen_test]
async fn the_controls_disable_what_cannot_be_done() {
    let root = mount::<Controls>(ControlsProps { pos: 0, total: 5, on_action: Callback::noop() }).await;
    let disabled = |id: &str| {
        all(&root, &format!("[data-testid={id}]")).first().map(|b| b.has_attribute("disabled")).expect("the button")
    };
    assert!(disabled("step-prev"));
    assert!(!disabled("step-next"));
    assert!(root.text_content().unwrap_or_default().contains("Step 0 of 5"));
    let end = mount::<Controls>(ControlsProps { pos: 5, total: 5, on_action: Callback::noop() }).await;
    let next = all(&end, "[data-testid=step-next]");
    assert!(next[0].has_attribute("disabled"), "nothing after the last step");
}

#[wasm_bindgen_test]
async fn the_ladder_draws_frames_states_and_the_timers_they_arm() {
    let m = handshake(usize::MAX);
    let root = mount::<Ladder>(LadderProps {
        trace: m.trace.clone(),
        steps: m.steps.clone(),
        pos: m.pos,
        selected: None,
        on_action: Callback::noop(),
    })
    .await;
    assert_eq!(all(&root, "[data-testid=frame]").len(), 7, "SYN, SYN-ACK, ACK, FIN, ACK, FIN, ACK");
    assert_eq!(all(&root, "[data-testid=state-mark]").len(), 12);
    let timers = all(&root, "[data-testid=timer-mark]");
    assert!(!timers.is_empty(), "the retransmission and TIME-WAIT timers are marked");
    assert!(timers.iter().all(|t| t.text_content().unwrap_or_default().starts_with("timer ")));
    // TIME-WAIT's 2·MSL, armed by the client when it enters TIME-WAIT.
    let texts: Vec<String> = timers.iter().filter_map(|t| t.text_content()).collect();
    assert!(texts.iter().any(|t| t.contains("ms") && t.len() > 4), "{texts:?}");
}

#[wasm_bindgen_test]
fn routes_read_every_page_and_survive_bad_addresses() {
    let landing = Route::parse("/", "");
    assert!(landing.landing && !landing.embed);
    let deep = Route::parse("/s/tcp-handshake", "?step=3&seed=9");
    assert!(!deep.landing);
    assert_eq!((deep.info.id, deep.view.step, deep.view.params.seed), ("tcp-handshake", 3, 9));
    let embed = Route::parse("/embed/tcp-vs-udp", "");
    assert!(embed.embed);
    assert_eq!(embed.info.id, "tcp-vs-udp");
    let unknown = Route::parse("/s/no-such", "");
    assert_eq!(unknown.info.id, "tcp-handshake");
    assert!(unknown.notes.iter().any(|n| n.contains("no-such")), "{:?}", unknown.notes);
    let nowhere = Route::parse("/a/b/c", "");
    assert!(nowhere.notes.iter().any(|n| n.contains("no page at")), "{:?}", nowhere.notes);
}

#[wasm_bindgen_test]
fn a_model_steps_within_its_run() {
    let m = handshake(usize::MAX);
    assert_eq!(m.pos, m.steps.len(), "a step past the end is the end");
    assert!(m.error.is_none());
    let m = Rc::new(handshake(1));
    assert_eq!(m.current_event(), m.steps.first().copied());
}
