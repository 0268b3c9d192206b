//! Downloads of the run on screen: a pcap for Wireshark and Mermaid text for course
//! pages. The same functions the `wirelab export` command uses, run in the browser.

use std::rc::Rc;
use wasm_bindgen::{JsCast, JsValue};
use wirelab_core::{Trace, export};
use yew::prelude::*;

#[derive(Properties, PartialEq)]
pub struct ExportProps {
    pub trace: Rc<Trace>,
    pub scenario: &'static str,
}

/// Hands `bytes` to the browser as a file download named `name`.
fn download(name: &str, mime: &str, bytes: &[u8]) -> Result<(), JsValue> {
    let parts = js_sys::Array::of1(&js_sys::Uint8Array::from(bytes));
    let opts = web_sys::BlobPropertyBag::new();
    opts.set_type(mime);
    let blob = web_sys::Blob::new_with_u8_array_sequence_and_options(&parts, &opts)?;
    let url = web_sys::Url::create_object_url_with_blob(&blob)?;
    let a: web_sys::HtmlAnchorElement = gloo::utils::document().create_element("a")?.dyn_into()?;
    a.set_href(&url);
    a.set_download(name);
    a.click();
    web_sys::Url::revoke_object_url(&url)
}

#[component(ExportBar)]
pub fn export_bar(props: &ExportProps) -> Html {
    let error = use_state(|| None::<String>);
    let on_pcap = {
        let (trace, error, name) = (props.trace.clone(), error.clone(), props.scenario);
        Callback::from(move |_| {
            let p = export::pcap(&trace);
            let r = download(&format!("{name}-seed{}.pcap", trace.seed), "application/vnd.tcpdump.pcap", &p.bytes);
            error.set(r.err().map(|_| "the browser refused the download".to_string()));
        })
    };
    let on_mermaid = {
        let (trace, error, name) = (props.trace.clone(), error.clone(), props.scenario);
        Callback::from(move |_| {
            let text = export::mermaid(&trace);
            let r = download(&format!("{name}-seed{}.mmd", trace.seed), "text/plain;charset=utf-8", text.as_bytes());
            error.set(r.err().map(|_| "the browser refused the download".to_string()));
        })
    };
    html! {
        <div class="export-bar" role="group" aria-label="Export this run">
            <span class="export-label">{ "Export" }</span>
            <button data-testid="export-pcap" title="A capture to open in Wireshark" onclick={on_pcap}>{ "pcap" }</button>
            <button data-testid="export-mermaid" title="A Mermaid sequenceDiagram for course pages" onclick={on_mermaid}>{ "Mermaid" }</button>
            if let Some(e) = &*error { <span class="error" role="alert">{ e }</span> }
        </div>
    }
}
