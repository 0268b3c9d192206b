//! Downloads of the run on screen: a pcap for Wireshark and Mermaid text for course
//! pages (the same functions the `wirelab export` command uses, run in the browser), and
//! the ladder diagram as drawn, as a standalone SVG or a PNG.

use js_sys::futures::{JsFuture, spawn_local};
use std::rc::Rc;
use wasm_bindgen::{JsCast, JsValue};
use wirelab_core::{Trace, export};
use yew::prelude::*;

const SVG_NS: &str = "http://www.w3.org/2000/svg";

/// The ladder's rules from www/style.css with the light theme's colours written out, so
/// the file looks the same in any viewer (keep the two in step).
const LADDER_CSS: &str = r#"
svg { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, "Liberation Mono", monospace; font-size: 11px; }
.background { fill: #f6f7f9; }
.lane line { stroke: #5b6677; stroke-width: 1.5; }
.lane-name { font: 700 13px system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; fill: #1c2430; }
.lane-ip { fill: #5b6677; font-size: 10px; }
.row rect { fill: none; }
.row.current rect { fill: #fff4c2; }
.row-time { fill: #5b6677; font-size: 9.5px; }
.frame .arrow { stroke: #0f5fa8; stroke-width: 1.8; }
.frame.selected .arrow { stroke-width: 3; }
.frame.lost .arrow { stroke: #b3261e; stroke-dasharray: 4 3; }
.lost-mark { fill: #b3261e; font-size: 15px; font-weight: 700; }
.frame-label { fill: #0f5fa8; font-size: 10.5px; paint-order: stroke; stroke: #f6f7f9; stroke-width: 3px; }
.frame.selected .frame-label { font-weight: 700; }
marker path { fill: #0f5fa8; }
.state-mark circle { fill: #6b3fa0; }
.state-label { fill: #6b3fa0; font-weight: 700; }
.command-label { fill: #1c2430; }
.event-label { fill: #1b7f4b; font-style: italic; }
.error-label { fill: #b3261e; }
"#;

/// The ladder on screen as a standalone SVG document, and its size in CSS pixels.
fn ladder_svg() -> Result<(String, f64, f64), JsValue> {
    let doc = gloo::utils::document();
    let svg = doc.query_selector(".scenario .ladder svg")?.ok_or("there is no diagram to export")?;
    let svg: web_sys::Element = svg.clone_node_with_deep(true)?.dyn_into()?;
    // Its size is its viewBox ("0 0 720 530"), not the page's 100 %.
    let vb: Vec<f64> = svg
        .get_attribute("viewBox")
        .unwrap_or_default()
        .split(' ')
        .map(js_sys::Number::parse_float)
        .filter(|v| v.is_finite())
        .collect();
    let (w, h) = match vb.as_slice() {
        [_, _, w, h] => (*w, *h),
        _ => return Err("the diagram has no size".into()),
    };
    svg.set_attribute("width", &w.to_string())?;
    svg.set_attribute("height", &h.to_string())?;
    // The wide invisible lines that make arrows easy to click have no use on paper.
    let hits = svg.query_selector_all(".hit")?;
    for i in 0..hits.length() {
        if let Some(n) = hits.item(i) {
            if let Some(parent) = n.parent_node() {
                parent.remove_child(&n)?;
            }
        }
    }
    let style = doc.create_element_ns(Some(SVG_NS), "style")?;
    style.set_text_content(Some(LADDER_CSS));
    let background = doc.create_element_ns(Some(SVG_NS), "rect")?;
    background.set_attribute("class", "background")?;
    background.set_attribute("width", "100%")?;
    background.set_attribute("height", "100%")?;
    svg.insert_before(&background, svg.first_child().as_ref())?;
    svg.insert_before(&style, Some(&background))?;
    let text = web_sys::XmlSerializer::new()?.serialize_to_string(&svg)?;
    Ok((format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n{text}\n"), w, h))
}

/// Canvases have limits (Chromium: 32 767 px a side, 268 M pixels): long runs are scaled down.
const MAX_SIDE: f64 = 32_000.0;
const MAX_AREA: f64 = 200_000_000.0;

/// The SVG drawn on a canvas at twice its size (less if it would not fit), as a PNG.
async fn png_of(svg: &str, w: f64, h: f64) -> Result<web_sys::Blob, JsValue> {
    let blob = blob(svg.as_bytes(), "image/svg+xml;charset=utf-8")?;
    let url = web_sys::Url::create_object_url_with_blob(&blob)?;
    let img = web_sys::HtmlImageElement::new()?;
    let loaded = js_sys::Promise::new(&mut |resolve, reject| {
        img.set_onload(Some(&resolve));
        img.set_onerror(Some(&reject));
    });
    img.set_src(&url);
    let loaded = JsFuture::from(loaded).await;
    web_sys::Url::revoke_object_url(&url)?;
    loaded.map_err(|_| JsValue::from_str("the browser could not draw the SVG"))?;
    let scale = 2f64.min(MAX_SIDE / w).min(MAX_SIDE / h).min((MAX_AREA / (w * h)).sqrt());
    let (cw, ch) = ((w * scale).round(), (h * scale).round());
    let canvas: web_sys::HtmlCanvasElement = gloo::utils::document().create_element("canvas")?.dyn_into()?;
    canvas.set_width(cw as u32);
    canvas.set_height(ch as u32);
    let ctx: web_sys::CanvasRenderingContext2d =
        canvas.get_context("2d")?.ok_or("the browser has no 2D canvas")?.dyn_into()?;
    ctx.draw_image_with_html_image_element_and_dw_and_dh(&img, 0.0, 0.0, cw, ch)?;
    let made = js_sys::Promise::new(&mut |resolve, _| {
        let _ = canvas.to_blob(&resolve);
    });
    JsFuture::from(made).await?.dyn_into::<web_sys::Blob>().map_err(|_| "the canvas made no PNG".into())
}

#[derive(Properties, PartialEq)]
pub struct ExportProps {
    pub trace: Rc<Trace>,
    pub scenario: &'static str,
}

fn blob(bytes: &[u8], mime: &str) -> Result<web_sys::Blob, JsValue> {
    let parts = js_sys::Array::of1(&js_sys::Uint8Array::from(bytes));
    let opts = web_sys::BlobPropertyBag::new();
    opts.set_type(mime);
    web_sys::Blob::new_with_u8_array_sequence_and_options(&parts, &opts)
}

/// Hands `bytes` to the browser as a file download named `name`.
fn download(name: &str, mime: &str, bytes: &[u8]) -> Result<(), JsValue> {
    save(name, &blob(bytes, mime)?)
}

fn save(name: &str, blob: &web_sys::Blob) -> Result<(), JsValue> {
    let url = web_sys::Url::create_object_url_with_blob(blob)?;
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
    let on_svg = {
        let (seed, error, name) = (props.trace.seed, error.clone(), props.scenario);
        Callback::from(move |_| {
            let r = ladder_svg().and_then(|(svg, _, _)| {
                download(&format!("{name}-seed{seed}.svg"), "image/svg+xml;charset=utf-8", svg.as_bytes())
            });
            error.set(r.err().map(|e| e.as_string().unwrap_or_else(|| "the browser refused the download".to_string())));
        })
    };
    let on_png = {
        let (seed, error, name) = (props.trace.seed, error.clone(), props.scenario);
        Callback::from(move |_| {
            let error = error.clone();
            spawn_local(async move {
                let r = match ladder_svg() {
                    Ok((svg, w, h)) => match png_of(&svg, w, h).await {
                        Ok(png) => save(&format!("{name}-seed{seed}.png"), &png),
                        Err(e) => Err(e),
                    },
                    Err(e) => Err(e),
                };
                error.set(
                    r.err().map(|e| e.as_string().unwrap_or_else(|| "the browser could not make the PNG".to_string())),
                );
            });
        })
    };
    html! {
        <div class="export-bar" role="group" aria-label="Export this run">
            <span class="export-label">{ "Export" }</span>
            <button data-testid="export-pcap" title="A capture to open in Wireshark" onclick={on_pcap}>{ "pcap" }</button>
            <button data-testid="export-mermaid" title="A Mermaid sequenceDiagram for course pages" onclick={on_mermaid}>{ "Mermaid" }</button>
            <button data-testid="export-svg" title="The diagram as drawn, up to this step: a standalone SVG" onclick={on_svg}>{ "SVG" }</button>
            <button data-testid="export-png" title="The diagram as drawn, up to this step: a PNG image" onclick={on_png}>{ "PNG" }</button>
            if let Some(e) = &*error { <span class="error" role="alert">{ e }</span> }
        </div>
    }
}
