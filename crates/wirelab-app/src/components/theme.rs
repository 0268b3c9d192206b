//! Light, dark, or as the system says: a button that cycles the three and remembers the
//! choice (localStorage), by setting `data-theme` on the root element.

use yew::prelude::*;

const KEY: &str = "wirelab-theme";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Theme {
    System,
    Light,
    Dark,
}

impl Theme {
    fn from_str(s: &str) -> Theme {
        match s {
            "light" => Theme::Light,
            "dark" => Theme::Dark,
            _ => Theme::System,
        }
    }

    fn next(self) -> Theme {
        match self {
            Theme::System => Theme::Light,
            Theme::Light => Theme::Dark,
            Theme::Dark => Theme::System,
        }
    }

    fn attr(self) -> Option<&'static str> {
        match self {
            Theme::System => None,
            Theme::Light => Some("light"),
            Theme::Dark => Some("dark"),
        }
    }

    fn label(self) -> &'static str {
        match self {
            Theme::System => "Theme: system",
            Theme::Light => "Theme: light",
            Theme::Dark => "Theme: dark",
        }
    }
}

fn storage() -> Option<web_sys::Storage> {
    gloo::utils::window().local_storage().ok().flatten()
}

fn apply(theme: Theme) {
    if let Some(root) = gloo::utils::document().document_element() {
        let _ = match theme.attr() {
            Some(v) => root.set_attribute("data-theme", v),
            None => root.remove_attribute("data-theme"),
        };
    }
    if let Some(s) = storage() {
        let _ = match theme.attr() {
            Some(v) => s.set_item(KEY, v),
            None => s.remove_item(KEY),
        };
    }
}

#[component(ThemeToggle)]
pub fn theme_toggle() -> Html {
    let theme = use_state(|| {
        let t = storage().and_then(|s| s.get_item(KEY).ok().flatten()).map_or(Theme::System, |v| Theme::from_str(&v));
        apply(t);
        t
    });
    let cycle = {
        let theme = theme.clone();
        Callback::from(move |_| {
            let next = theme.next();
            apply(next);
            theme.set(next);
        })
    };
    html! {
        <button class="theme-toggle" data-testid="theme" onclick={cycle} title="Switch between the system's theme, light and dark">
            { theme.label() }
        </button>
    }
}
