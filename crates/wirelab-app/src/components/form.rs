//! Free-text fields the person types into: given a starting value once, then left alone
//! (a `value` in the markup would be written back on every re-render, wiping what was
//! typed whenever a message or a status arrives).

use wasm_bindgen::JsCast;
use yew::prelude::*;

/// Puts `initial` into the input or textarea behind `field` when it first appears.
#[hook]
pub fn use_initial_value(field: &NodeRef, initial: &'static str) {
    let field = field.clone();
    use_effect_with((), move |_| {
        if let Some(el) = field.get() {
            if let Some(input) = el.dyn_ref::<web_sys::HtmlInputElement>() {
                input.set_value(initial);
            } else if let Some(area) = el.dyn_ref::<web_sys::HtmlTextAreaElement>() {
                area.set_value(initial);
            }
        }
    });
}
