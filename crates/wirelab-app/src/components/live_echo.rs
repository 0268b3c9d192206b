//! Live: a real WebSocket from this page to the wirelab server's `/ws` echo endpoint,
//! with the round-trip time of each message measured by the browser's clock, and the
//! server's wire tap: a second socket on which the server reports the exact bytes of
//! this page's upgrade request, the response, and every frame both ways (the browser's
//! masking keys included), shown in the same inspector as simulated frames.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::Rc;
use wasm_bindgen::JsCast;
use wasm_bindgen::closure::Closure;
use web_sys::{CloseEvent, HtmlInputElement, MessageEvent, WebSocket};
use wirelab_core::Annotation;
use wirelab_ws::tap::{Direction, TapEvent};
use yew::prelude::*;

use crate::components::inspector::FrameView;

#[derive(Clone, Debug, PartialEq)]
enum Status {
    Disconnected,
    Connecting,
    Open,
    /// Closed with its close code and reason (RFC 6455 §7.1.5).
    Closed(u16, String),
    Failed(String),
}

#[derive(Clone, Debug, PartialEq)]
struct Line {
    sent: bool,
    text: String,
    rtt_ms: Option<f64>,
}

#[derive(Clone, Debug, PartialEq)]
struct Live {
    status: Status,
    log: Vec<Line>,
    /// What the server's tap reported, in order.
    tap: Vec<TapRow>,
    /// The tap report shown in the inspector.
    selected: Option<usize>,
}

enum LiveAction {
    Status(Status),
    Sent(String),
    Echo(String, Option<f64>),
    Tap(TapEvent),
    Select(usize),
    /// A new connection: forget the last one's tap reports.
    Reset,
}

impl Reducible for Live {
    type Action = LiveAction;
    fn reduce(self: Rc<Self>, action: LiveAction) -> Rc<Self> {
        let mut next = (*self).clone();
        match action {
            LiveAction::Status(s) => next.status = s,
            LiveAction::Sent(text) => next.log.push(Line { sent: true, text, rtt_ms: None }),
            LiveAction::Echo(text, rtt_ms) => next.log.push(Line { sent: false, text, rtt_ms }),
            LiveAction::Tap(e) => {
                // Show the handshake request until the student picks something else.
                if next.tap.is_empty() {
                    next.selected = Some(0);
                }
                next.tap.push(TapRow::new(&e));
            }
            LiveAction::Select(i) => next.selected = Some(i),
            LiveAction::Reset => {
                next.tap.clear();
                next.selected = None;
            }
        }
        Rc::new(next)
    }
}

/// The socket and the JS callbacks it calls, which must live as long as it does.
#[derive(Default)]
struct Conn {
    ws: Option<WebSocket>,
    /// The wire tap's report feed.
    tap: Option<WebSocket>,
    /// `performance.now()` of each message sent and not yet echoed, oldest first.
    pending: VecDeque<f64>,
    _callbacks: Vec<Closure<dyn FnMut(web_sys::Event)>>,
    tap_callbacks: Vec<Closure<dyn FnMut(web_sys::Event)>>,
}

fn now_ms() -> f64 {
    web_sys::window().and_then(|w| w.performance()).map_or(0.0, |p| p.now())
}

/// `ws://host/ws` (plus `path_and_query`), from this page's own address.
fn ws_url(path_and_query: &str) -> Result<String, String> {
    let loc = gloo::utils::window().location();
    let host = loc.host().map_err(|_| "cannot read this page's address".to_string())?;
    let scheme = if loc.protocol().ok().as_deref() == Some("https:") { "wss" } else { "ws" };
    Ok(format!("{scheme}://{host}/ws{path_and_query}"))
}

/// 128 random bits from the browser's CSPRNG, as 32 hex digits: the tap's id, which only
/// this page knows.
fn tap_id() -> Option<String> {
    let mut bytes = [0u8; 16];
    gloo::utils::window().crypto().ok()?.get_random_values_with_u8_array(&mut bytes).ok()?;
    Some(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// A tap report, decoded and annotated once, when it arrives.
#[derive(Clone, Debug, PartialEq)]
struct TapRow {
    at_ms: f64,
    arrow: &'static str,
    text: String,
    /// Whether the bytes went from this browser to the server.
    inbound: bool,
    bytes: Rc<Vec<u8>>,
    annotation: Rc<Annotation>,
}

impl TapRow {
    fn new(e: &TapEvent) -> Self {
        let bytes = e.bytes();
        let annotation = wirelab_ws::wire::annotate(&bytes);
        let (arrow, text) = tap_line(e, &annotation.summary);
        let inbound = matches!(
            e,
            TapEvent::Request { .. }
                | TapEvent::Frame { dir: Direction::In, .. }
                | TapEvent::Malformed { dir: Direction::In, .. }
        );
        TapRow { at_ms: e.at_ms(), arrow, text, inbound, bytes: Rc::new(bytes), annotation: Rc::new(annotation) }
    }
}

/// One line for a tap report: which way, and what it is.
fn tap_line(e: &TapEvent, summary: &str) -> (&'static str, String) {
    match e {
        TapEvent::Request { .. } => ("→", format!("opening handshake: {}", summary)),
        TapEvent::Response { .. } => ("←", format!("handshake response: {}", summary)),
        TapEvent::Frame { dir, whole, payload_len, .. } => {
            let arrow = if *dir == Direction::In { "→" } else { "←" };
            let text = if *whole {
                summary.to_string()
            } else {
                format!("{} (header only; {payload_len} bytes of payload)", summary)
            };
            (arrow, text)
        }
        TapEvent::Malformed { dir, why, .. } => {
            (if *dir == Direction::In { "→" } else { "←" }, format!("malformed: {why}"))
        }
        TapEvent::Closed { .. } => ("·", "TCP connection closed".to_string()),
    }
}

#[component(LiveEcho)]
pub fn live_echo() -> Html {
    let live = use_reducer(|| Live { status: Status::Disconnected, log: Vec::new(), tap: Vec::new(), selected: None });
    let conn = use_mut_ref(Conn::default);
    let input = use_node_ref();

    let connect = {
        let (live, conn) = (live.clone(), conn.clone());
        Callback::from(move |_| {
            if matches!(live.status, Status::Open | Status::Connecting) {
                return;
            }
            start(&live, &conn);
        })
    };
    let disconnect = {
        let conn = conn.clone();
        Callback::from(move |_| {
            if let Some(ws) = &conn.borrow().ws {
                // 1000: normal closure (RFC 6455 §7.4.1).
                let _ = ws.close_with_code_and_reason(1000, "bye");
            }
        })
    };
    let send = {
        let (live, conn, input) = (live.clone(), conn.clone(), input.clone());
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            let Some(field) = input.cast::<HtmlInputElement>() else {
                return;
            };
            let text = field.value();
            if text.is_empty() {
                return;
            }
            let mut c = conn.borrow_mut();
            let Some(ws) = c.ws.clone() else { return };
            if ws.ready_state() != WebSocket::OPEN {
                return;
            }
            match ws.send_with_str(&text) {
                Ok(()) => {
                    c.pending.push_back(now_ms());
                    live.dispatch(LiveAction::Sent(text));
                }
                Err(_) => live.dispatch(LiveAction::Status(Status::Failed("the browser refused to send".into()))),
            }
        })
    };

    let status_text = match &live.status {
        Status::Disconnected => "not connected".to_string(),
        Status::Connecting => "connecting…".to_string(),
        Status::Open => "connected".to_string(),
        Status::Closed(code, reason) if reason.is_empty() => format!("closed ({code})"),
        Status::Closed(code, reason) => format!("closed ({code}: {reason})"),
        Status::Failed(why) => format!("failed: {why}"),
    };
    let open_now = live.status == Status::Open;
    html! {
        <section class="live" aria-labelledby="live-title" data-testid="live-echo">
            <h2 id="live-title">{ "Live: WebSocket echo" }</h2>
            <p class="summary">{ "A real WebSocket from this page to the wirelab server's /ws endpoint, which sends every message back. The time is the browser's own measure of the round trip." }</p>
            <div class="live-controls">
                <button data-testid="ws-connect" onclick={connect} disabled={open_now}>{ "Connect" }</button>
                <button data-testid="ws-disconnect" onclick={disconnect} disabled={!open_now}>{ "Disconnect" }</button>
                <span class={classes!("ws-status", open_now.then_some("open"))} data-testid="ws-status">{ status_text }</span>
            </div>
            <form class="live-send" onsubmit={send}>
                <input ref={input} type="text" value="hello, wirelab" aria-label="Message to send" data-testid="ws-input" />
                <button type="submit" data-testid="ws-send" disabled={!open_now}>{ "Send" }</button>
            </form>
            <ol class="ws-log" data-testid="ws-log">
                { for live.log.iter().map(|l| html! {
                    <li class={if l.sent { "sent" } else { "echo" }}>
                        <span class="dir">{ if l.sent { "→ sent" } else { "← echo" } }</span>
                        <span class="text">{ &l.text }</span>
                        if let Some(ms) = l.rtt_ms { <span class="rtt" data-testid="ws-rtt">{ format!("round trip {ms:.1} ms") }</span> }
                    </li>
                }) }
            </ol>
            <h3 id="tap-title">{ "Wire tap: the bytes your browser sent and got" }</h3>
            if live.tap.is_empty() {
                <p class="muted">{ "Connect to see this page's own opening handshake and frames, as the server read and wrote them." }</p>
            }
            <ol class="tap-log" aria-labelledby="tap-title" data-testid="tap-log">
                { for live.tap.iter().enumerate().map(|(i, row)| {
                    let on = live.selected == Some(i);
                    let select = { let live = live.clone(); Callback::from(move |_| live.dispatch(LiveAction::Select(i))) };
                    html! {
                        <li>
                            <button class={classes!("tap-row", on.then_some("selected"))} aria-pressed={on.to_string()}
                                    data-testid="tap-row" onclick={select}>
                                <span class="tap-at">{ format!("{:>8.1} ms", row.at_ms) }</span>
                                <span class="dir">{ row.arrow }</span>
                                <span class="text">{ &row.text }</span>
                            </button>
                        </li>
                    }
                }) }
            </ol>
            if let Some(row) = live.selected.and_then(|i| live.tap.get(i)) {
                <FrameView bytes={row.bytes.clone()} annotation={row.annotation.clone()}
                           route={if row.inbound { "this browser → server" } else { "server → this browser" }} />
            }
        </section>
    }
}

/// Opens the tap's feed first (so no report is missed), then the echo connection.
fn start(live: &UseReducerHandle<Live>, conn: &Rc<RefCell<Conn>>) {
    live.dispatch(LiveAction::Reset);
    if let Some(old) = conn.borrow_mut().tap.take() {
        let _ = old.close();
    }
    let Some(id) = tap_id() else { return open(live, conn, None) };
    let Ok(feed) = ws_url(&format!("/tap/{id}")).and_then(|u| WebSocket::new(&u).map_err(|_| u)) else {
        return open(live, conn, None);
    };
    live.dispatch(LiveAction::Status(Status::Connecting));
    let on_open = {
        let (live, conn, id) = (live.clone(), conn.clone(), id.clone());
        Closure::<dyn FnMut(web_sys::Event)>::new(move |_| open(&live, &conn, Some(&id)))
    };
    let on_message = {
        let live = live.clone();
        Closure::<dyn FnMut(web_sys::Event)>::new(move |e: web_sys::Event| {
            let text = e.dyn_ref::<MessageEvent>().and_then(|m| m.data().as_string());
            if let Some(ev) = text.and_then(|t| serde_json::from_str::<TapEvent>(&t).ok()) {
                live.dispatch(LiveAction::Tap(ev));
            }
        })
    };
    let on_error = {
        let (live, conn) = (live.clone(), conn.clone());
        // No tap (an older server, say): the echo still works, untapped.
        Closure::<dyn FnMut(web_sys::Event)>::new(move |_| {
            if conn.borrow().ws.is_none() {
                open(&live, &conn, None);
            }
        })
    };
    feed.set_onopen(Some(on_open.as_ref().unchecked_ref()));
    feed.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    feed.set_onerror(Some(on_error.as_ref().unchecked_ref()));
    let mut c = conn.borrow_mut();
    c.tap = Some(feed);
    c.tap_callbacks = vec![on_open, on_message, on_error];
}

fn open(live: &UseReducerHandle<Live>, conn: &Rc<RefCell<Conn>>, tap: Option<&str>) {
    let query = tap.map_or(String::new(), |id| format!("?tap={id}"));
    let url = match ws_url(&query) {
        Ok(u) => u,
        Err(e) => return live.dispatch(LiveAction::Status(Status::Failed(e))),
    };
    let ws = match WebSocket::new(&url) {
        Ok(ws) => ws,
        Err(_) => {
            return live.dispatch(LiveAction::Status(Status::Failed(format!("cannot open {url}"))));
        }
    };
    live.dispatch(LiveAction::Status(Status::Connecting));

    let on_open = {
        let live = live.clone();
        Closure::<dyn FnMut(web_sys::Event)>::new(move |_| live.dispatch(LiveAction::Status(Status::Open)))
    };
    let on_message = {
        let (live, conn) = (live.clone(), conn.clone());
        Closure::<dyn FnMut(web_sys::Event)>::new(move |e: web_sys::Event| {
            let Some(e) = e.dyn_ref::<MessageEvent>() else {
                return;
            };
            let text = e.data().as_string().unwrap_or_else(|| "(binary)".to_string());
            let rtt = conn.borrow_mut().pending.pop_front().map(|t| now_ms() - t);
            live.dispatch(LiveAction::Echo(text, rtt));
        })
    };
    let on_close = {
        let (live, conn) = (live.clone(), conn.clone());
        Closure::<dyn FnMut(web_sys::Event)>::new(move |e: web_sys::Event| {
            let (code, reason) = e.dyn_ref::<CloseEvent>().map_or((1006, String::new()), |c| (c.code(), c.reason()));
            let mut c = conn.borrow_mut();
            c.ws = None;
            c.pending.clear();
            live.dispatch(LiveAction::Status(Status::Closed(code, reason)));
        })
    };
    let on_error = {
        let live = live.clone();
        Closure::<dyn FnMut(web_sys::Event)>::new(move |_| {
            live.dispatch(LiveAction::Status(Status::Failed(
                "the connection failed (is the wirelab server running?)".into(),
            )));
        })
    };
    ws.set_onopen(Some(on_open.as_ref().unchecked_ref()));
    ws.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    ws.set_onclose(Some(on_close.as_ref().unchecked_ref()));
    ws.set_onerror(Some(on_error.as_ref().unchecked_ref()));
    let mut c = conn.borrow_mut();
    c.ws = Some(ws);
    c.pending.clear();
    c._callbacks = vec![on_open, on_message, on_close, on_error];
}
