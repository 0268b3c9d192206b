//! Live: a real WebSocket from this page to the wirelab server's `/ws` echo endpoint,
//! with the round-trip time of each message measured by the browser's clock, and the
//! server's wire tap: a second socket on which the server reports the exact bytes of
//! this page's upgrade request, the response, and every frame both ways (the browser's
//! masking keys included), shown in the same inspector as simulated frames.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::Rc;
use web_sys::{BinaryType, HtmlInputElement, WebSocket};
use wirelab_core::Annotation;
use wirelab_ws::tap::{Direction, TapEvent};
use yew::prelude::*;

use crate::components::form::use_initial_value;
use crate::components::inspector::FrameView;
use crate::components::socket::{Held, attach, discard};

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

/// Close codes a page may put in its own Close frame: 1000, or 3000–4999 (the
/// WebSocket API refuses the rest). Other valid codes are sent by the server on request.
fn page_may_close_with(code: u16) -> bool {
    code == 1000 || (3000..=4999).contains(&code)
}

/// Bytes as spaced hex, at most `max` of them.
fn hex_preview(bytes: &[u8], max: usize) -> String {
    let mut s: Vec<String> = bytes.iter().take(max).map(|b| format!("{b:02x}")).collect();
    if bytes.len() > max {
        s.push("…".into());
    }
    s.join(" ")
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
    /// A line of our own in the message log.
    Note(String),
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
            LiveAction::Note(text) => next.log.push(Line { sent: true, text, rtt_ms: None }),
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
    callbacks: Held,
    tap_callbacks: Held,
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

    // Sends `what` (text or bytes) if the socket is open; logs it and times the echo.
    let send_now = {
        let (live, conn) = (live.clone(), conn.clone());
        move |payload: Result<String, Vec<u8>>, log: String, expect_echo: bool| {
            let mut c = conn.borrow_mut();
            let Some(ws) = c.ws.clone().filter(|ws| ws.ready_state() == WebSocket::OPEN) else { return };
            let sent = match &payload {
                Ok(text) => ws.send_with_str(text),
                Err(bytes) => ws.send_with_u8_array(bytes),
            };
            match sent {
                Ok(()) => {
                    if expect_echo {
                        c.pending.push_back(now_ms());
                    }
                    live.dispatch(LiveAction::Sent(log));
                }
                Err(_) => live.dispatch(LiveAction::Status(Status::Failed("the browser refused to send".into()))),
            }
        }
    };
    let send_binary = {
        let (input, send_now) = (input.clone(), send_now.clone());
        Callback::from(move |_| {
            let Some(field) = input.cast::<HtmlInputElement>() else { return };
            let bytes = field.value().into_bytes();
            let log = format!("binary, {} bytes: {}", bytes.len(), hex_preview(&bytes, 16));
            send_now(Err(bytes), log, true);
        })
    };
    let ping = {
        let send_now = send_now.clone();
        Callback::from(move |_| {
            send_now(Ok("/ping from the live panel".into()), "/ping (asks the server to send a Ping)".into(), false)
        })
    };
    let close_code = use_node_ref();
    let close_reason = use_node_ref();
    use_initial_value(&input, "hello, wirelab");
    use_initial_value(&close_code, "1000");
    use_initial_value(&close_reason, "bye");
    let close_with = {
        let (conn, live, send_now) = (conn.clone(), live.clone(), send_now.clone());
        let (close_code, close_reason) = (close_code.clone(), close_reason.clone());
        Callback::from(move |_| {
            let value = |r: &NodeRef| r.cast::<HtmlInputElement>().map(|f| f.value()).unwrap_or_default();
            let reason = value(&close_reason);
            let Ok(code) = value(&close_code).trim().parse::<u16>() else {
                return live.dispatch(LiveAction::Note("a close code is a number, 1000 to 4999".into()));
            };
            if page_may_close_with(code) {
                if let Some(ws) = &conn.borrow().ws {
                    let _ = ws.close_with_code_and_reason(code, &reason);
                }
                live.dispatch(LiveAction::Note(format!("this page sent Close {code}")));
            } else {
                // RFC 6455 §7.4: the server may send 1001–1011 and the like; the page may not.
                send_now(
                    Ok(format!("/close {code} {reason}")),
                    format!("/close {code} (a page may not send {code}: asking the server to)"),
                    false,
                );
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
                <input ref={input} type="text" aria-label="Message to send" data-testid="ws-input" />
                <button type="submit" data-testid="ws-send" disabled={!open_now}>{ "Send text" }</button>
                <button type="button" data-testid="ws-send-binary" onclick={send_binary} disabled={!open_now}
                        title="The same characters as bytes, in a Binary frame (opcode 0x2)">{ "Send binary" }</button>
                <button type="button" data-testid="ws-ping" onclick={ping} disabled={!open_now}
                        title="A page cannot send a Ping: this asks the server to send one, and your browser answers Pong by itself">{ "Ping" }</button>
            </form>
            <div class="live-close">
                <label>{ "Close code " }
                    <input ref={close_code} type="number" min="1000" max="4999" data-testid="ws-close-code"
                           aria-describedby="close-help" />
                </label>
                <label>{ "reason " }<input ref={close_reason} type="text" maxlength="120" data-testid="ws-close-reason" /></label>
                <button type="button" data-testid="ws-close" onclick={close_with} disabled={!open_now}>{ "Close" }</button>
                <span id="close-help" class="muted">{ "1000 or 3000–4999: this page closes. 1001–1014: the server closes (a page may not send them, RFC 6455 §7.4)." }</span>
            </div>
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
            if !live.tap.is_empty() {
                <TapLadder rows={live.tap.clone()} selected={live.selected}
                           on_select={ let live = live.clone(); Callback::from(move |i| live.dispatch(LiveAction::Select(i))) } />
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
        discard(&old);
    }
    let Some(id) = tap_id() else { return open(live, conn, None) };
    let Ok(feed) = ws_url(&format!("/tap/{id}")).and_then(|u| WebSocket::new(&u).map_err(|_| u)) else {
        return open(live, conn, None);
    };
    live.dispatch(LiveAction::Status(Status::Connecting));
    let callbacks = {
        let (l1, l2, l3, c1, c3) = (live.clone(), live.clone(), live.clone(), conn.clone(), conn.clone());
        attach(
            &feed,
            move || open(&l1, &c1, Some(&id)),
            move |m| {
                if let Some(ev) = m.data().as_string().and_then(|t| wirelab_ws::tap::from_json(&t)) {
                    l2.dispatch(LiveAction::Tap(ev));
                }
            },
            |_, _| {},
            // No tap (an older server, say): the echo still works, untapped.
            move || {
                if c3.borrow().ws.is_none() {
                    open(&l3, &c3, None);
                }
            },
        )
    };
    let mut c = conn.borrow_mut();
    c.tap = Some(feed);
    c.tap_callbacks.replace(callbacks);
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
    ws.set_binary_type(BinaryType::Arraybuffer);

    let callbacks = {
        let (l1, l2, l3, l4) = (live.clone(), live.clone(), live.clone(), live.clone());
        let (conn2, conn3) = (conn.clone(), conn.clone());
        attach(
            &ws,
            move || l1.dispatch(LiveAction::Status(Status::Open)),
            move |m| {
                let data = m.data();
                let text = match data.as_string() {
                    Some(text) => text,
                    None => {
                        let bytes = js_sys::Uint8Array::new(&data).to_vec();
                        format!("binary, {} bytes: {}", bytes.len(), hex_preview(&bytes, 16))
                    }
                };
                let rtt = conn2.borrow_mut().pending.pop_front().map(|t| now_ms() - t);
                l2.dispatch(LiveAction::Echo(text, rtt));
            },
            move |code, reason| {
                let mut c = conn3.borrow_mut();
                c.ws = None;
                c.pending.clear();
                l3.dispatch(LiveAction::Status(Status::Closed(code, reason)));
            },
            move || {
                l4.dispatch(LiveAction::Status(Status::Failed(
                    "the connection failed (is the wirelab server running?)".into(),
                )))
            },
        )
    };
    let mut c = conn.borrow_mut();
    if let Some(old) = c.ws.replace(ws) {
        discard(&old);
    }
    c.pending.clear();
    c.callbacks.replace(callbacks);
}

#[derive(Properties, PartialEq)]
struct TapLadderProps {
    rows: Vec<TapRow>,
    selected: Option<usize>,
    on_select: Callback<usize>,
}

/// The tapped connection as a ladder: this browser on the left, the server on the right,
/// one arrow per report in the order the server saw them (times are the server's).
#[component(TapLadder)]
fn tap_ladder(props: &TapLadderProps) -> Html {
    const W: f64 = 640.0;
    const ROW: f64 = 26.0;
    const TOP: f64 = 34.0;
    let (left, right) = (150.0, W - 150.0);
    let height = TOP + ROW * props.rows.len() as f64 + 12.0;
    html! {
        <svg class="tap-ladder" data-testid="tap-ladder" viewBox={format!("0 0 {W} {height}")}
             width={W.to_string()} height={height.to_string()} role="img"
             aria-label="Ladder diagram of this page's WebSocket connection as the server saw it">
            <defs>
                <marker id="tap-arrowhead" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">
                    <path d="M 0 0 L 10 5 L 0 10 z" />
                </marker>
            </defs>
            <text class="lane-label" x={left.to_string()} y="16" text-anchor="middle">{ "this browser" }</text>
            <text class="lane-label" x={right.to_string()} y="16" text-anchor="middle">{ "wirelab server" }</text>
            <line class="lane" x1={left.to_string()} y1="24" x2={left.to_string()} y2={height.to_string()} />
            <line class="lane" x1={right.to_string()} y1="24" x2={right.to_string()} y2={height.to_string()} />
            { for props.rows.iter().enumerate().map(|(i, row)| {
                let y = TOP + ROW * i as f64 + ROW / 2.0;
                let on = props.selected == Some(i);
                let select = { let cb = props.on_select.clone(); Callback::from(move |_| cb.emit(i)) };
                let (x1, x2) = if row.inbound { (left, right) } else { (right, left) };
                let label: String = row.text.chars().take(52).collect();
                html! {
                    <g class={classes!("tap-arrow", on.then_some("selected"))} onclick={select} data-testid="tap-arrow">
                        <title>{ &row.text }</title>
                        <text class="time" x="4" y={(y + 4.0).to_string()}>{ format!("{:.1} ms", row.at_ms) }</text>
                        if row.arrow == "·" {
                            <text class="event" x={right.to_string()} y={(y + 4.0).to_string()} text-anchor="middle">{ "✕ TCP closed" }</text>
                        } else {
                            <line class="frame" x1={x1.to_string()} y1={y.to_string()} x2={x2.to_string()} y2={y.to_string()}
                                  marker-end="url(#tap-arrowhead)" />
                            <text class="frame-label" x={((left + right) / 2.0).to_string()} y={(y - 4.0).to_string()}
                                  text-anchor="middle">{ label }</text>
                        }
                    </g>
                }
            }) }
        </svg>
    }
}
