//! The live lab: every panel here talks to the real backend that served the page.

use crate::components::live_echo::LiveEcho;
use crate::components::live_http::LiveHttp;
use yew::prelude::*;

#[component(LivePage)]
pub fn live_page() -> Html {
    html! {
        <>
            <crate::components::app::TopBar live=true />
            <main class="live-page" data-testid="live-page">
                <p class="summary">{ "These panels talk to the real server that sent you this page: \
                    what you see in each ladder are the bytes that crossed the network, captured by the server." }</p>
                <LiveEcho />
                <LiveHttp />
                <crate::components::mail_lab::MailLab />
            </main>
        </>
    }
}
