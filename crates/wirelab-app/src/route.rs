//! Where the page is: `/s/<scenario>?step=…&seed=…&loss=…` (the full app) or
//! `/embed/<scenario>?…` (the scenario alone, for an iframe); `/` is the landing page,
//! every scenario by topic.
//! The query is [`wirelab_scenarios::share`]'s. Nothing in a URL can make the app panic:
//! what it cannot use is left at its default and said in a note.

use wirelab_scenarios::ScenarioInfo;
use wirelab_scenarios::share::{self, View};

/// The scenario the app opens with when the URL names none.
pub const HOME: &str = "tcp-handshake";

#[derive(Clone, Debug, PartialEq)]
pub struct Route {
    /// `/`: the landing page. `info` is then the handshake, where "start" leads.
    pub landing: bool,
    pub embed: bool,
    pub info: &'static ScenarioInfo,
    pub view: View,
    /// What in the URL was ignored, and why.
    pub notes: Vec<String>,
}

fn home() -> &'static ScenarioInfo {
    // The catalogue is compiled in and names the handshake; the first entry otherwise.
    wirelab_scenarios::info(HOME).unwrap_or(&wirelab_scenarios::CATALOGUE[0])
}

impl Route {
    /// The scenario at its defaults, in the full app.
    pub fn start(info: &'static ScenarioInfo) -> Self {
        Route {
            landing: false,
            embed: false,
            info,
            view: View { params: wirelab_scenarios::defaults(info.id), step: 0 },
            notes: vec![],
        }
    }

    /// Reads a path and query (`/s/tcp-handshake`, `?step=3`).
    pub fn parse(path: &str, query: &str) -> Self {
        let parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
        let (embed, id) = match parts.as_slice() {
            [] => return Route { landing: true, ..Route::start(home()) },
            ["s", id] => (false, *id),
            ["embed", id] => (true, *id),
            _ => {
                let mut r = Route::start(home());
                r.notes.push(format!("there is no page at {}: here is the {}", short(path), home().title));
                return r;
            }
        };
        let id = share::decode(id);
        let info = match wirelab_scenarios::info(&id) {
            Some(info) => info,
            None => {
                let mut r = Route { embed, ..Route::start(home()) };
                r.notes.push(format!("there is no scenario {:?}: here is the {}", short(&id), home().title));
                return r;
            }
        };
        let parsed = share::parse_query(info.id, query);
        Route { landing: false, embed, info, view: parsed.view, notes: parsed.notes }
    }

    /// The page's own address: `window.location`.
    pub fn current() -> Self {
        let loc = gloo::utils::window().location();
        Route::parse(&loc.pathname().unwrap_or_default(), &loc.search().unwrap_or_default())
    }
}

/// `/s/<id>?…` (or `/embed/<id>?…`) for `view`.
pub fn href(embed: bool, id: &str, view: &View) -> String {
    format!("/{}/{id}?{}", if embed { "embed" } else { "s" }, share::to_query(id, view))
}

/// `http://host:port`, for links that leave the page.
pub fn origin() -> String {
    gloo::utils::window().location().origin().unwrap_or_default()
}

/// Changes the address bar without a new history entry (stepping makes none).
pub fn replace(url: &str) {
    if let Ok(h) = gloo::utils::window().history() {
        let _ = h.replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(url));
    }
}

/// A new history entry: another scenario.
pub fn push(url: &str) {
    if let Ok(h) = gloo::utils::window().history() {
        let _ = h.push_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(url));
    }
}

fn short(s: &str) -> String {
    if s.chars().count() > 40 { format!("{}…", s.chars().take(39).collect::<String>()) } else { s.to_string() }
}
