//! The scenarios page (`index.html`): the landing page, the stepped scenarios and their
//! embeds.

fn main() {
    yew::Renderer::<wirelab_app::components::app::App>::new().render();
}
