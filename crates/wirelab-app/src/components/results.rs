//! What a comparison scenario measured, read off the whole run (not typed in): the seed's
//! TCP-vs-UDP table, HTTP polling against WebSocket push.

use std::rc::Rc;
use wirelab_core::Trace;
use wirelab_scenarios::compare::table_for;
use yew::prelude::*;

#[derive(Properties, PartialEq)]
pub struct ResultsProps {
    pub scenario: &'static str,
    pub trace: Rc<Trace>,
}

#[component(Results)]
pub fn results(props: &ResultsProps) -> Html {
    let table = {
        let (id, trace) = (props.scenario, props.trace.clone());
        use_memo((id, trace), |(id, trace)| table_for(id, trace))
    };
    let Some(table) = table.as_ref() else { return html! {} };
    html! {
        <section class="results" aria-labelledby="results-title" data-testid="results">
            <h3 id="results-title">{ "What this run measured" }</h3>
            <table>
                <thead><tr><th scope="col"></th><th scope="col">{ &table.columns[0] }</th><th scope="col">{ &table.columns[1] }</th></tr></thead>
                <tbody>
                    { for table.rows.iter().map(|(name, a, b)| html! {
                        <tr><th scope="row">{ name }</th><td>{ a }</td><td>{ b }</td></tr>
                    }) }
                </tbody>
            </table>
            <p class="muted">{ "Counted from the simulated run above, frame by frame; change the seed or the faults and it is counted again." }</p>
        </section>
    }
}
