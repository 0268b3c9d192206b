//! Live: an HTTP/1.1 request typed in this page, sent byte for byte through the server's
//! WebSocket-to-TCP bridge (`/bridge/http`) to the teaching HTTP server (our own
//! `wirelab-http` machine on a real port), and the response's real bytes, both shown in
//! the inspector with every field named. Malformed requests are welcome: the server's
//! answer (400, 505, …) is the lesson.

use std::cell::RefCell;
use std::rc::Rc;
use web_sys::{BinaryType, HtmlTextAreaElement, WebSocket};
use wirelab_core::Annotation;
use yew::prelude::*;

use crate::components::form::use_initial_value;
use crate::components::inspector::FrameView;
use crate::components::socket::{Held, attach, discard};

/// Requests to start from: (button, request text with `\n` line ends).
const PRESETS: &[(&str, &str)] = &[
    ("GET /hello.txt", "GET /hello.txt HTTP/1.1\nHost: wirelab\nConnection: close\n\n"),
    ("Chunked body", "GET /chunked HTTP/1.1\nHost: wirelab\nConnection: close\n\n"),
    (
        "POST /echo",
        "POST /echo HTTP/1.1\nHost: wirelab\nContent-Type: text/plain\nContent-Length: 13\nConnection: close\n\nhello, server",
    ),
    (
        "Two on one connection",
        "GET /hello.txt HTTP/1.1\nHost: wirelab\n\nGET /status/404 HTTP/1.1\nHost: wirelab\nConnection: close\n\n",
    ),
    ("Bad: space before colon", "GET / HTTP/1.1\nHost : wirelab\n\n"),
    ("Bad: no Host", "GET / HTTP/1.1\nConnection: close\n\n"),
    ("Bad: HTTP/2.0", "GET / HTTP/2.0\nHost: wirelab\n\n"),
];

#[derive(Clone, Debug, PartialEq)]
enum Status {
    Idle,
    Sending,
    Open,
    Closed(u16, String),
    Failed(String),
}

#[derive(Clone, Debug, PartialEq)]
struct Exchange {
    status: Status,
    request: Rc<Vec<u8>>,
    request_note: Rc<Annotation>,
    response: Rc<Vec<u8>>,
    response_note: Rc<Annotation>,
}

enum Act {
    Start(Vec<u8>),
    Status(Status),
    Bytes(Vec<u8>),
}

impl Reducible for Exchange {
    type Action = Act;
    fn reduce(self: Rc<Self>, action: Act) -> Rc<Self> {
        let mut next = (*self).clone();
        match action {
            Act::Start(req) => {
                next.request_note = Rc::new(wirelab_http::wire::annotate(&req));
                next.request = Rc::new(req);
                next.response = Rc::new(Vec::new());
                next.response_note = Rc::new(Annotation::default());
                next.status = Status::Sending;
            }
            Act::Status(s) => next.status = s,
            Act::Bytes(b) => {
                let mut all = (*next.response).clone();
                all.extend_from_slice(&b);
                next.response_note = Rc::new(wirelab_http::wire::annotate(&all));
                next.response = Rc::new(all);
            }
        }
        Rc::new(next)
    }
}

#[derive(Default)]
struct Conn {
    ws: Option<WebSocket>,
    callbacks: Held,
}

fn bridge_url() -> Result<String, String> {
    let loc = gloo::utils::window().location();
    let host = loc.host().map_err(|_| "cannot read this page's address".to_string())?;
    let scheme = if loc.protocol().ok().as_deref() == Some("https:") { "wss" } else { "ws" };
    Ok(format!("{scheme}://{host}/bridge/http"))
}

#[component(LiveHttp)]
pub fn live_http() -> Html {
    let ex = use_reducer(|| Exchange {
        status: Status::Idle,
        request: Rc::default(),
        request_note: Rc::default(),
        response: Rc::default(),
        response_note: Rc::default(),
    });
    let conn = use_mut_ref(Conn::default);
    let area = use_node_ref();
    use_initial_value(&area, PRESETS[0].1);
    let send = {
        let (ex, conn, area) = (ex.clone(), conn.clone(), area.clone());
        Callback::from(move |_| {
            let Some(field) = area.cast::<HtmlTextAreaElement>() else { return };
            let bytes = wirelab_http::wire::typed_to_wire(&field.value());
            if bytes.is_empty() {
                return;
            }
            send_through_bridge(&ex, &conn, bytes);
        })
    };
    let hang_up = {
        let conn = conn.clone();
        Callback::from(move |_| {
            if let Some(ws) = &conn.borrow().ws {
                let _ = ws.close_with_code_and_reason(1000, "done");
            }
        })
    };
    let status = match &ex.status {
        Status::Idle => "nothing sent yet".to_string(),
        Status::Sending => "connecting through the bridge…".to_string(),
        Status::Open => format!("connected; {} bytes back so far", ex.response.len()),
        Status::Closed(_, reason) if reason.is_empty() => format!("closed; {} bytes back", ex.response.len()),
        Status::Closed(_, reason) => format!("closed ({reason}); {} bytes back", ex.response.len()),
        Status::Failed(why) => format!("failed: {why}"),
    };
    html! {
        <section class="live" aria-labelledby="http-title" data-testid="live-http">
            <h2 id="http-title">{ "Live: HTTP/1.1 through the bridge" }</h2>
            <p class="summary">{ "Type a request, or start from one below. Its bytes go over a WebSocket to the wirelab server's bridge, which copies them onto a TCP connection to the teaching HTTP server; what comes back is that server's real answer. Lines end in CRLF on the wire (RFC 9112 §2.2)." }</p>
            <div class="presets" role="group" aria-label="Example requests">
                { for PRESETS.iter().map(|(name, text)| {
                    let area = area.clone();
                    let text = *text;
                    let pick = Callback::from(move |_| {
                        if let Some(f) = area.cast::<HtmlTextAreaElement>() { f.set_value(text); }
                    });
                    html! { <button type="button" onclick={pick} data-testid="http-preset">{ *name }</button> }
                }) }
            </div>
            <textarea ref={area} class="http-request" rows="7" spellcheck="false" aria-label="The HTTP request to send"
                      data-testid="http-request" />
            <div class="live-controls">
                <button data-testid="http-send" onclick={send}>{ "Send through the bridge" }</button>
                <button data-testid="http-hangup" onclick={hang_up} disabled={ex.status != Status::Open}>{ "Close connection" }</button>
                <span class="ws-status" data-testid="http-status" aria-live="polite">{ status }</span>
            </div>
            if !ex.request.is_empty() {
                <h3>{ "Request, as sent" }</h3>
                <FrameView bytes={ex.request.clone()} annotation={ex.request_note.clone()} route={"this browser → bridge → HTTP server"} />
            }
            if !ex.response.is_empty() {
                <h3>{ "Response, as received" }</h3>
                <FrameView bytes={ex.response.clone()} annotation={ex.response_note.clone()} route={"HTTP server → bridge → this browser"} />
            }
        </section>
    }
}

fn send_through_bridge(ex: &UseReducerHandle<Exchange>, conn: &Rc<RefCell<Conn>>, bytes: Vec<u8>) {
    if let Some(old) = conn.borrow_mut().ws.take() {
        discard(&old);
    }
    let url = match bridge_url() {
        Ok(u) => u,
        Err(e) => return ex.dispatch(Act::Status(Status::Failed(e))),
    };
    let Ok(ws) = WebSocket::new(&url) else {
        return ex.dispatch(Act::Status(Status::Failed(format!("cannot open {url}"))));
    };
    ws.set_binary_type(BinaryType::Arraybuffer);
    ex.dispatch(Act::Start(bytes.clone()));
    let callbacks = {
        let (ex1, ex2, ex3, ex4, conn, sock) =
            (ex.clone(), ex.clone(), ex.clone(), ex.clone(), conn.clone(), ws.clone());
        attach(
            &ws,
            move || {
                ex1.dispatch(Act::Status(Status::Open));
                if sock.send_with_u8_array(&bytes).is_err() {
                    ex1.dispatch(Act::Status(Status::Failed("the browser refused to send".into())));
                }
            },
            // Text from the bridge is its own notice, not the server's bytes.
            move |m| {
                if m.data().as_string().is_none() {
                    ex2.dispatch(Act::Bytes(js_sys::Uint8Array::new(&m.data()).to_vec()));
                }
            },
            move |code, reason| {
                conn.borrow_mut().ws = None;
                ex3.dispatch(Act::Status(Status::Closed(code, reason)));
            },
            move || {
                ex4.dispatch(Act::Status(Status::Failed(
                    "the bridge refused or failed (is the wirelab server running?)".into(),
                )))
            },
        )
    };
    let mut c = conn.borrow_mut();
    c.ws = Some(ws);
    c.callbacks.replace(callbacks);
}
