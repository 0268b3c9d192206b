//! "Copy embed code": an `<iframe>` of this scenario at this step, seed and faults, for a
//! course page. Copied with the Clipboard API where the page may use it; otherwise the
//! code is shown selected, to copy by hand.

use crate::route;
use js_sys::futures::{JsFuture, spawn_local};
use wasm_bindgen::{JsCast, JsValue};
use web_sys::HtmlInputElement;
use wirelab_scenarios::ScenarioInfo;
use wirelab_scenarios::share::View;
use yew::prelude::*;

/// The iframe's size: the ladder and the inspector one above the other.
const WIDTH: u32 = 820;
const HEIGHT: u32 = 720;

#[derive(Properties, PartialEq)]
pub struct ShareProps {
    pub info: &'static ScenarioInfo,
    pub view: View,
}

/// `&`, `"`, `<`, `>` as HTML writes them in an attribute.
fn attr(s: &str) -> String {
    s.replace('&', "&amp;").replace('"', "&quot;").replace('<', "&lt;").replace('>', "&gt;")
}

/// The `<iframe>` for `view` of `info`.
pub fn embed_code(origin: &str, info: &ScenarioInfo, view: &View) -> String {
    let src = format!("{origin}{}", route::href(true, info.id, view));
    format!(
        r#"<iframe src="{}" width="{WIDTH}" height="{HEIGHT}" title="{}" style="border:0"></iframe>"#,
        attr(&src),
        attr(&format!("wirelab: {}", info.title))
    )
}

#[derive(Clone, PartialEq)]
enum Copied {
    Trying,
    Yes,
    /// The page may not write to the clipboard: the code is selected instead.
    ByHand,
}

/// `navigator.clipboard.writeText(text)`, if this page has a clipboard (a secure context).
async fn write_clipboard(text: &str) -> Result<(), JsValue> {
    let navigator = gloo::utils::window().navigator();
    let clipboard = js_sys::Reflect::get(&navigator, &JsValue::from_str("clipboard"))?;
    let clipboard: web_sys::Clipboard = clipboard.dyn_into()?;
    JsFuture::from(clipboard.write_text(text)).await.map(drop)
}

#[component(ShareBar)]
pub fn share_bar(props: &ShareProps) -> Html {
    let shown = use_state(|| None::<(String, Copied)>);
    let field = use_node_ref();
    {
        // Copying by hand: the code is selected, ready for Ctrl+C.
        let field = field.clone();
        let by_hand = matches!(&*shown, Some((_, Copied::ByHand)));
        use_effect_with(by_hand, move |&by_hand| {
            if let Some(input) = field.cast::<HtmlInputElement>().filter(|_| by_hand) {
                let _ = input.focus();
                input.select();
            }
        });
    }
    let on_copy = {
        let (shown, info, view) = (shown.clone(), props.info, props.view.clone());
        Callback::from(move |_: MouseEvent| {
            let code = embed_code(&route::origin(), info, &view);
            shown.set(Some((code.clone(), Copied::Trying)));
            let shown = shown.clone();
            spawn_local(async move {
                let how = if write_clipboard(&code).await.is_ok() { Copied::Yes } else { Copied::ByHand };
                shown.set(Some((code, how)));
            });
        })
    };
    html! {
        <div class="share-bar" role="group" aria-label="Share this view">
            <span class="export-label">{ "Share" }</span>
            <button type="button" data-testid="copy-embed" onclick={on_copy}
                title="An <iframe> of this scenario at this step, seed and faults, for a course page">
                { "Copy embed code" }
            </button>
            if let Some((code, how)) = &*shown {
                <input class="embed-code" readonly=true value={code.clone()} ref={field} data-testid="embed-code"
                    aria-label="Embed code" onfocus={Callback::from(|e: FocusEvent| {
                        if let Some(i) = e.target().and_then(|t| t.dyn_into::<HtmlInputElement>().ok()) { i.select() }
                    })} />
                <span class="muted" role="status" data-testid="embed-status">{ match how {
                    Copied::Trying => "Copying…",
                    Copied::Yes => "Copied to the clipboard.",
                    Copied::ByHand => "Select it and copy (Ctrl+C).",
                } }</span>
            }
        </div>
    }
}
