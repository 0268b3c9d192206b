//! The live lab page (`live.html`, at `/live/`): panels that talk to the real backend.

fn main() {
    yew::Renderer::<wirelab_app::components::live::LivePage>::new().render();
}
