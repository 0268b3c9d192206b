//! Live: email for real. The page asks the server for a pair of mailboxes of its own
//! (`POST /mail/session`: one on north.test, one on south.test), then runs our own SMTP,
//! POP3 and IMAP *client machines* here in the page, as Wasm, each talking through the
//! server's WebSocket-to-TCP bridge (`/bridge/smtp-north`, `/bridge/pop3`, `/bridge/imap`)
//! to the real mail servers. Every command the machine sends and every reply it gets is a
//! row here, and each row's bytes open in the inspector with their fields named.
//!
//! Send from north to south and the mail goes Client → Server → Server → Client (north's
//! server relays it to south's, each adding a `Received:` line); read it with POP3 (RETR,
//! DELE, QUIT: gone from the server) or with IMAP on two "devices" at once, one in IDLE,
//! which hears the other's flag changes and new mail as they happen (RFC 2177).

use std::rc::Rc;
use wasm_bindgen::JsCast;
use web_sys::{BinaryType, HtmlInputElement, WebSocket};
use wirelab_core::{Annotation, DynMachine, Instant, Output};
use yew::prelude::*;

use crate::components::inspector::FrameView;
use crate::components::socket::{Held, attach, discard};

/// The mailboxes the server made for this page.
#[derive(Clone, Debug, PartialEq)]
pub struct Account {
    pub north: String,
    pub south: String,
    pub password: String,
}

/// The value of `"key":"…"` in a flat JSON object (the server's answer; no escapes in it).
fn json_str(text: &str, key: &str) -> Option<String> {
    let start = text.find(&format!("\"{key}\":\""))? + key.len() + 4;
    let end = text[start..].find('"')?;
    Some(text[start..start + end].to_string())
}

/// The addresses in `"addresses":["…","…"]`.
fn json_addresses(text: &str) -> Vec<String> {
    let Some(start) = text.find("\"addresses\":[") else { return Vec::new() };
    let rest = &text[start + 13..];
    let list = &rest[..rest.find(']').unwrap_or(0)];
    list.split(',').map(|s| s.trim().trim_matches('"').to_string()).filter(|s| s.contains('@')).collect()
}

async fn new_session() -> Result<Account, String> {
    let init = web_sys::RequestInit::new();
    init.set_method("POST");
    let promise = gloo::utils::window().fetch_with_str_and_init("/mail/session", &init);
    let response = wasm_bindgen_futures::JsFuture::from(promise).await.map_err(|_| "the server did not answer")?;
    let response: web_sys::Response = response.dyn_into().map_err(|_| "not an HTTP response")?;
    let text = response.text().map_err(|_| "no body")?;
    let text = wasm_bindgen_futures::JsFuture::from(text).await.map_err(|_| "no body")?.as_string().unwrap_or_default();
    if !response.ok() {
        return Err(format!("{}: {}", response.status(), json_str(&text, "error").unwrap_or(text)));
    }
    let addresses = json_addresses(&text);
    let find = |domain: &str| addresses.iter().find(|a| a.ends_with(domain)).cloned();
    match (find("@north.test"), find("@south.test"), json_str(&text, "password")) {
        (Some(north), Some(south), Some(password)) => Ok(Account { north, south, password }),
        _ => Err(format!("an answer without the mailboxes: {text}")),
    }
}

#[component(MailLab)]
pub fn mail_lab() -> Html {
    let account = use_state(|| None::<Rc<Account>>);
    let problem = use_state(String::new);
    let reader = use_state(|| Proto::Pop3);
    let create = {
        let (account, problem) = (account.clone(), problem.clone());
        Callback::from(move |_| {
            let (account, problem) = (account.clone(), problem.clone());
            yew::platform::spawn_local(async move {
                match new_session().await {
                    Ok(a) => account.set(Some(Rc::new(a))),
                    Err(e) => problem.set(e),
                }
            });
        })
    };
    let choose = |p: Proto| {
        let reader = reader.clone();
        Callback::from(move |_| reader.set(p))
    };
    html! {
        <section class="live mail-lab" aria-labelledby="mail-title" data-testid="mail-lab">
            <h2 id="mail-title">{ "Live: email, Client → Server → Server → Client" }</h2>
            <p class="summary">{ "Our own SMTP, POP3 and IMAP client machines run here in the page and talk, through the \
                server's bridge, to its real mail servers. Every command and reply is a row; click one to see its bytes." }</p>
            if let Some(a) = &*account {
                <p class="mail-account" data-testid="mail-account">
                    { "Your mailboxes: " }<code>{ &a.north }</code>{ " and " }<code>{ &a.south }</code>
                    { ", password " }<code>{ &a.password }</code>{ ". Nobody else can read them." }
                </p>
                <div class="mail-grid">
                    <BridgeConsole proto={Proto::Smtp} account={a.clone()} device="" />
                    <div>
                        <div class="presets" role="group" aria-label="Read with">
                            <button class={classes!((*reader == Proto::Pop3).then_some("active"))} data-testid="read-pop3"
                                onclick={choose(Proto::Pop3)}>{ "Read with POP3" }</button>
                            <button class={classes!((*reader == Proto::Imap).then_some("active"))} data-testid="read-imap"
                                onclick={choose(Proto::Imap)}>{ "Read with IMAP, on two devices" }</button>
                        </div>
                        // All stay connected while hidden: the phone in IDLE hears what POP3 does.
                        <div hidden={*reader != Proto::Pop3}>
                            <BridgeConsole proto={Proto::Pop3} account={a.clone()} device="" />
                        </div>
                        <div hidden={*reader != Proto::Imap}>
                            <BridgeConsole proto={Proto::Imap} account={a.clone()} device="phone" />
                            <BridgeConsole proto={Proto::Imap} account={a.clone()} device="laptop" />
                        </div>
                    </div>
                </div>
            } else {
                <button data-testid="mail-session" onclick={create}>{ "Get two mailboxes of my own" }</button>
                if !problem.is_empty() { <p class="error" role="alert">{ (*problem).clone() }</p> }
            }
        </section>
    }
}

/// Which client machine a console runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Proto {
    Smtp,
    Pop3,
    Imap,
}

impl Proto {
    fn service(self) -> &'static str {
        match self {
            Proto::Smtp => "smtp-north",
            Proto::Pop3 => "pop3",
            Proto::Imap => "imap",
        }
    }

    fn title(self) -> &'static str {
        match self {
            Proto::Smtp => "Send: SMTP to north.test (RFC 5321)",
            Proto::Pop3 => "Read: POP3 at south.test (RFC 1939)",
            Proto::Imap => "Read: IMAP at south.test (RFC 9051)",
        }
    }

    /// The machine, fresh for each connection. The addresses only label the frames: the
    /// bridge, not the page, knows where the server is.
    fn machine(self) -> Box<dyn DynMachine> {
        let (page, server) = (([192, 0, 2, 1], 50000).into(), ([192, 0, 2, 25], 0).into());
        match self {
            Proto::Smtp => {
                let mut c = wirelab_smtp::client::ClientConfig::new(page, server, "browser.wirelab.test");
                c.epoch_unix = (js_sys::Date::now() / 1000.0) as u64;
                Box::new(wirelab_smtp::client::SmtpClient::new(c))
            }
            Proto::Pop3 => {
                Box::new(wirelab_pop3::client::Pop3Client::new(wirelab_pop3::client::ClientConfig::new(page, server)))
            }
            Proto::Imap => {
                Box::new(wirelab_imap::client::ImapClient::new(wirelab_imap::client::ClientConfig::new(page, server)))
            }
        }
    }

    /// Buttons: (label, console line).
    fn presets(self, a: &Account) -> Vec<(&'static str, String)> {
        match self {
            Proto::Smtp => vec![
                (
                    "Send to my south.test mailbox",
                    format!(
                        "send {} {} \"Hello from the browser\" This mail went browser, bridge, north.test, south.test.\\n.A line starting with a dot is stuffed on the wire.",
                        a.north, a.south
                    ),
                ),
                ("QUIT", "quit".into()),
            ],
            Proto::Pop3 => vec![
                ("Log in", format!("login {} {}", a.south, a.password)),
                ("STAT", "STAT".into()),
                ("LIST", "LIST".into()),
                ("RETR 1", "RETR 1".into()),
                ("DELE 1", "DELE 1".into()),
                ("QUIT", "QUIT".into()),
            ],
            Proto::Imap => vec![
                ("Log in", format!("login {} {}", a.south, a.password)),
                ("SELECT INBOX", "select INBOX".into()),
                ("FETCH", "fetch 1:* (FLAGS ENVELOPE)".into()),
                ("Mark 1 seen", "store 1 +FLAGS (\\Seen)".into()),
                ("IDLE", "idle".into()),
                ("DONE", "done".into()),
                ("LOGOUT", "logout".into()),
            ],
        }
    }
}

/// One row of a console: what went out, what came in, or what the machine said.
#[derive(Clone, Debug, PartialEq)]
struct Row {
    /// `→` sent, `←` received, `·` the machine's own note.
    dir: &'static str,
    text: String,
    bytes: Option<(Rc<Vec<u8>>, Rc<Annotation>)>,
}

#[derive(Default)]
struct Conn {
    ws: Option<WebSocket>,
    machine: Option<Box<dyn DynMachine>>,
    /// What the machine sent before the socket opened (a browser refuses to send then).
    waiting: Vec<Vec<u8>>,
    callbacks: Held,
}

impl Conn {
    fn send(&mut self, bytes: &[u8]) {
        match &self.ws {
            Some(ws) if ws.ready_state() == WebSocket::OPEN => {
                let _ = ws.send_with_u8_array(bytes);
            }
            _ => self.waiting.push(bytes.to_vec()),
        }
    }
}

fn now() -> Instant {
    let ms = gloo::utils::window().performance().map_or(0.0, |p| p.now());
    Instant::from_micros((ms * 1000.0) as u64)
}

/// What a row shows of its bytes: the lines as text (CRLF dropped), the first twelve of a
/// long one (a whole message) with the count of the rest; all of it is in the inspector.
fn shown_text(bytes: &[u8]) -> String {
    const SHOWN: usize = 12;
    let text = String::from_utf8_lossy(bytes);
    let lines: Vec<&str> = text.lines().collect();
    let mut out = lines.iter().take(SHOWN).copied().collect::<Vec<_>>().join("\n");
    if lines.len() > SHOWN {
        out.push_str(&format!("\n… {} more lines", lines.len() - SHOWN));
    }
    out
}

/// Pulls the machine's outputs until it is idle: frames go to the socket, the rest to rows.
fn pump(conn: &mut Conn, rows: &mut Vec<Row>) {
    loop {
        let Some(m) = conn.machine.as_mut() else { return };
        match m.poll_output_dyn(now()) {
            Output::Transmit(t) => {
                let note = m.annotate_dyn(&t.bytes);
                conn.send(&t.bytes);
                rows.push(Row {
                    dir: "→", text: shown_text(&t.bytes), bytes: Some((Rc::new(t.bytes), Rc::new(note)))
                });
            }
            Output::Transition(t) => {
                rows.push(Row { dir: "·", text: format!("{} → {}: {}", t.from, t.to, t.cause), bytes: None })
            }
            Output::Event(e) => rows.push(Row { dir: "·", text: e, bytes: None }),
            Output::Metric(_) => {}
            Output::Idle { .. } => break,
        }
    }
}

#[derive(Properties, PartialEq)]
pub struct ConsoleProps {
    pub proto: Proto,
    pub account: Rc<Account>,
    /// Which "device" this is, when one protocol has two consoles (IMAP's sync).
    pub device: AttrValue,
}

#[component(BridgeConsole)]
pub fn bridge_console(props: &ConsoleProps) -> Html {
    let proto = props.proto;
    let rows = use_state(Vec::<Row>::new);
    let status = use_state(|| "not connected".to_string());
    let selected = use_state(|| None::<usize>);
    let conn = use_mut_ref(Conn::default);
    // The rows live in the connection's callbacks too: keep one list, copied into state.
    let log = use_mut_ref(Vec::<Row>::new);
    let input = use_node_ref();
    let id = if props.device.is_empty() {
        proto.service().to_string()
    } else {
        format!("{}-{}", proto.service(), props.device)
    };

    let publish = {
        let (rows, log) = (rows.clone(), log.clone());
        Rc::new(move || rows.set(log.borrow().clone()))
    };
    let connect = {
        let (conn, log, status, publish) = (conn.clone(), log.clone(), status.clone(), publish.clone());
        Callback::from(move |_: ()| {
            if let Some(old) = conn.borrow_mut().ws.take() {
                discard(&old);
            }
            let loc = gloo::utils::window().location();
            let host = loc.host().unwrap_or_default();
            let scheme = if loc.protocol().ok().as_deref() == Some("https:") { "wss" } else { "ws" };
            let url = format!("{scheme}://{host}/bridge/{}", proto.service());
            let Ok(ws) = WebSocket::new(&url) else {
                status.set(format!("cannot open {url}"));
                return;
            };
            ws.set_binary_type(BinaryType::Arraybuffer);
            status.set("connecting through the bridge…".into());
            log.borrow_mut().push(Row {
                dir: "·",
                text: format!("new {} client machine; bridge {url}", proto.service()),
                bytes: None,
            });
            let callbacks = {
                let (s1, s2, s3) = (status.clone(), status.clone(), status.clone());
                let (c1, c2, c3) = (conn.clone(), conn.clone(), conn.clone());
                let (l2, l3) = (log.clone(), log.clone());
                let (p1, p2, p3) = (publish.clone(), publish.clone(), publish.clone());
                attach(
                    &ws,
                    move || {
                        let mut c = c1.borrow_mut();
                        for bytes in std::mem::take(&mut c.waiting) {
                            c.send(&bytes);
                        }
                        s1.set("connected".into());
                        p1();
                    },
                    move |m| {
                        if m.data().as_string().is_some() {
                            return; // the bridge's own notices
                        }
                        let bytes = js_sys::Uint8Array::new(&m.data()).to_vec();
                        let mut c = c2.borrow_mut();
                        let mut l = l2.borrow_mut();
                        if let Some(machine) = c.machine.as_mut() {
                            let note = machine.annotate_dyn(&bytes);
                            l.push(Row {
                                dir: "←",
                                text: shown_text(&bytes),
                                bytes: Some((Rc::new(bytes.clone()), Rc::new(note))),
                            });
                            if let Err(e) = machine.handle_receive(now(), ([192, 0, 2, 25], 0).into(), &bytes) {
                                l.push(Row { dir: "·", text: format!("refused: {e}"), bytes: None });
                            }
                        }
                        pump(&mut c, &mut l);
                        drop((c, l));
                        p2();
                    },
                    move |code, reason| {
                        let mut c = c3.borrow_mut();
                        c.ws = None;
                        let mut l = l3.borrow_mut();
                        if let Some(m) = c.machine.as_mut() {
                            let _ = m.handle_command(now(), "eof");
                        }
                        pump(&mut c, &mut l);
                        l.push(Row {
                            dir: "·",
                            text: format!(
                                "connection closed ({code}{}{reason})",
                                if reason.is_empty() { "" } else { ": " }
                            ),
                            bytes: None,
                        });
                        drop((c, l));
                        s2.set(format!("closed ({code})"));
                        p3();
                    },
                    move || s3.set("the bridge refused or failed".into()),
                )
            };
            let mut c = conn.borrow_mut();
            c.machine = Some(proto.machine());
            c.waiting.clear();
            c.ws = Some(ws);
            c.callbacks.replace(callbacks);
            drop(c);
            publish();
        })
    };
    let run = {
        let (conn, log, publish, connect) = (conn.clone(), log.clone(), publish.clone(), connect.clone());
        Rc::new(move |line: String| {
            if conn.borrow().ws.is_none() {
                connect.emit(());
            }
            let mut c = conn.borrow_mut();
            let mut l = log.borrow_mut();
            l.push(Row { dir: "·", text: format!("$ {line}"), bytes: None });
            if let Some(m) = c.machine.as_mut() {
                if let Err(e) = m.handle_command(now(), &line) {
                    l.push(Row { dir: "·", text: format!("not a command: {e}"), bytes: None });
                }
            }
            pump(&mut c, &mut l);
            drop((c, l));
            publish();
        })
    };
    let typed = {
        let (run, input) = (run.clone(), input.clone());
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            if let Some(field) = input.cast::<HtmlInputElement>() {
                let line = field.value();
                if !line.trim().is_empty() {
                    field.set_value("");
                    run(line);
                }
            }
        })
    };
    // Leaving the page closes the connection (its callbacks go with the component).
    {
        let conn = conn.clone();
        use_effect_with((), move |_| {
            move || {
                if let Some(ws) = conn.borrow_mut().ws.take() {
                    discard(&ws);
                }
            }
        });
    }
    let shown = selected.and_then(|i| rows.get(i)).and_then(|r| r.bytes.clone());
    html! {
        <div class="console" data-testid={format!("console-{id}")}>
            <h3>{ proto.title() }if !props.device.is_empty() { { format!(" · {}", props.device) } }</h3>
            <div class="presets" role="group" aria-label="Commands">
                <button data-testid={format!("{id}-connect")} onclick={connect.reform(|_| ())}>{ "Connect" }</button>
                { for proto.presets(&props.account).into_iter().map(|(label, line)| {
                    let run = run.clone();
                    html! { <button data-testid={format!("{id}-preset")} title={line.clone()}
                        onclick={Callback::from(move |_| run(line.clone()))}>{ label }</button> }
                }) }
                <span class="ws-status" data-testid={format!("{id}-status")} aria-live="polite">{ (*status).clone() }</span>
            </div>
            <form class="console-line" onsubmit={typed}>
                <input ref={input} type="text" spellcheck="false" placeholder="or type a command line for the machine"
                    aria-label="Command line" data-testid={format!("{id}-input")} />
            </form>
            <ol class="console-log" data-testid={format!("{id}-log")}>
                { for rows.iter().enumerate().map(|(i, r)| {
                    let selected = selected.clone();
                    let pick = r.bytes.is_some().then(|| Callback::from(move |_| selected.set(Some(i))));
                    html! {
                        <li class={classes!("row", (r.dir == "·").then_some("note"), pick.is_some().then_some("frame"))}
                            onclick={pick}>
                            <span class="dir">{ r.dir }</span>{ &r.text }
                        </li>
                    }
                }) }
            </ol>
            if let Some((bytes, note)) = shown {
                <FrameView {bytes} annotation={note} route={"through the bridge"} />
            }
        </div>
    }
}
