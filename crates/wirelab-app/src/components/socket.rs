//! A browser WebSocket's four handlers, wired once: the live panels (`/ws`, its tap,
//! `/bridge/http`) all open sockets the same way.

use wasm_bindgen::JsCast;
use wasm_bindgen::closure::Closure;
use web_sys::{CloseEvent, MessageEvent, WebSocket};

/// The JS callbacks a socket calls: keep them as long as the socket lives.
pub type Callbacks = Vec<Closure<dyn FnMut(web_sys::Event)>>;

/// Sets `ws`'s handlers. `on_close` gets the close code and reason (RFC 6455 §7.1.5;
/// 1006 when the browser gives none).
pub fn attach(
    ws: &WebSocket,
    mut on_open: impl FnMut() + 'static,
    mut on_message: impl FnMut(&MessageEvent) + 'static,
    mut on_close: impl FnMut(u16, String) + 'static,
    mut on_error: impl FnMut() + 'static,
) -> Callbacks {
    let open = Closure::<dyn FnMut(web_sys::Event)>::new(move |_| on_open());
    let message = Closure::<dyn FnMut(web_sys::Event)>::new(move |e: web_sys::Event| {
        if let Some(m) = e.dyn_ref::<MessageEvent>() {
            on_message(m);
        }
    });
    let close = Closure::<dyn FnMut(web_sys::Event)>::new(move |e: web_sys::Event| {
        let (code, reason) = e.dyn_ref::<CloseEvent>().map_or((1006, String::new()), |c| (c.code(), c.reason()));
        on_close(code, reason);
    });
    let error = Closure::<dyn FnMut(web_sys::Event)>::new(move |_| on_error());
    ws.set_onopen(Some(open.as_ref().unchecked_ref()));
    ws.set_onmessage(Some(message.as_ref().unchecked_ref()));
    ws.set_onclose(Some(close.as_ref().unchecked_ref()));
    ws.set_onerror(Some(error.as_ref().unchecked_ref()));
    vec![open, message, close, error]
}

/// Clears `ws`'s handlers and closes it: events still to come (its close) then call
/// nothing, so its callbacks may be dropped.
pub fn discard(ws: &WebSocket) {
    ws.set_onopen(None);
    ws.set_onmessage(None);
    ws.set_onclose(None);
    ws.set_onerror(None);
    let _ = ws.close();
}

/// A socket's callbacks, and those of the sockets it replaced: an event already on its
/// way from a replaced socket must still find its callback (wasm-bindgen throws "closure
/// invoked … after being dropped" otherwise), so replaced ones are kept a while.
#[derive(Default)]
pub struct Held {
    current: Callbacks,
    retired: std::collections::VecDeque<Callbacks>,
}

impl Held {
    /// How many replaced sockets' callbacks are kept.
    const KEEP: usize = 8;

    pub fn replace(&mut self, callbacks: Callbacks) {
        let old = std::mem::replace(&mut self.current, callbacks);
        if !old.is_empty() {
            self.retired.push_back(old);
        }
        while self.retired.len() > Self::KEEP {
            self.retired.pop_front();
        }
    }
}
