//! The frame inspector: the field tree and the hex bytes, linked both ways. Hover a field
//! and its bytes light up; hover a byte and its field does.

use std::rc::Rc;
use wirelab_core::{Annotation, Field, Trace};
use yew::prelude::*;

#[derive(Properties, PartialEq)]
pub struct InspectorProps {
    pub trace: Rc<Trace>,
    /// The trace index of the `Sent` event whose frame to show.
    pub frame: Option<usize>,
    /// Buttons for this frame ("drop this one"), under its summary.
    #[prop_or_default]
    pub tools: Option<Html>,
}

#[component(Inspector)]
pub fn inspector(props: &InspectorProps) -> Html {
    let Some(frame) = props.frame.and_then(|s| props.trace.frame(s)) else {
        return html! {
            <aside class="inspector empty" data-testid="inspector">
                <h3>{ "Frame inspector" }</h3>
                <p>{ "Step to a frame, or click one in the diagram, to see its bytes and fields." }</p>
            </aside>
        };
    };
    html! {
        <FrameView bytes={Rc::new(frame.bytes.clone())} annotation={Rc::new(frame.annotation.clone())}
                   route={format!("{} → {}", frame.from, frame.to)}>
            { props.tools.clone() }
        </FrameView>
    }
}

#[derive(Properties, PartialEq)]
pub struct FrameViewProps {
    pub bytes: Rc<Vec<u8>>,
    pub annotation: Rc<Annotation>,
    /// "192.0.2.1:80 → 192.0.2.2:5000", or "browser → server".
    pub route: String,
    #[prop_or_default]
    pub children: Html,
}

/// Any frame's bytes and fields, linked: the inspector for simulated frames and for the
/// live wire tap alike.
#[component(FrameView)]
pub fn frame_view(props: &FrameViewProps) -> Html {
    let hover = use_state(|| None::<usize>); // index into the fields
    let d = &*props.annotation;
    let bytes = &*props.bytes;
    let lit: Option<&Field> = hover.and_then(|i| d.fields.get(i));
    let set_hover = |i: Option<usize>| {
        let hover = hover.clone();
        Callback::from(move |_| hover.set(i))
    };
    let fields = d.fields.iter().enumerate().map(|(i, f)| {
        let on = *hover == Some(i);
        html! {
            <tr class={classes!("field-row", format!("depth-{}", f.depth), on.then_some("lit"))} data-testid="field-row"
                title={f.meaning.clone()} onmouseenter={set_hover(Some(i))} onmouseleave={set_hover(None)}>
                <td class="field-name">{ &f.name }</td>
                <td class="field-value">{ &f.value }</td>
                <td class="field-bytes">{ byte_span(f) }</td>
            </tr>
        }
    });
    let hex_rows = bytes.chunks(16).enumerate().map(|(r, chunk)| {
        html! {
            <div class="hex-row">
                <span class="hex-offset">{ format!("{:04x}", r * 16) }</span>
                { for chunk.iter().enumerate().map(|(c, b)| {
                    let i = r * 16 + c;
                    let on = lit.is_some_and(|f| f.range().contains(&i));
                    let field = d.field_at(i);
                    html! {
                        <span class={classes!("hex-byte", on.then_some("lit"))} data-testid="hex-byte"
                              title={field.and_then(|f| d.fields.get(f)).map(|f| f.name.clone())}
                              onmouseenter={set_hover(field)} onmouseleave={set_hover(None)}>
                            { format!("{b:02x}") }
                        </span>
                    }
                }) }
            </div>
        }
    });
    html! {
        <aside class="inspector" data-testid="inspector">
            <h3>{ format!("{} · {} bytes", d.protocol, bytes.len()) }</h3>
            <p class="frame-summary" data-testid="frame-summary">{ &d.summary }</p>
            <p class="frame-route">{ &props.route }</p>
            { props.children.clone() }
            if let Some(err) = &d.error { <p class="error">{ err }</p> }
            <div class="hex" aria-label="Bytes in hexadecimal">{ for hex_rows }</div>
            <p class="field-detail" data-testid="field-detail" aria-live="polite">
                { match lit {
                    Some(f) => html! { <><strong>{ format!("{} (byte {})", f.name, byte_span(f)) }</strong>{ format!(": {}", f.meaning) }</> },
                    None => html! { <span class="muted">{ "Hover a field or a byte to see what it means." }</span> },
                } }
            </p>
            <table class="fields">
                <thead><tr><th>{ "Field" }</th><th>{ "Value" }</th><th>{ "Bytes" }</th></tr></thead>
                <tbody>{ for fields }</tbody>
            </table>
        </aside>
    }
}

/// `4–7`, or `12` for a one-byte field.
fn byte_span(f: &Field) -> String {
    if f.len <= 1 { f.start.to_string() } else { format!("{}–{}", f.start, f.start + f.len - 1) }
}
