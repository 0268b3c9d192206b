//! Our client against our server, through an in-test pipe, the servers sharing one
//! [`MemStore`]: two devices of one user stay in sync (one idles and hears of what the
//! other does at once), literals flow with and without LITERAL+, and the client's
//! console, tags, IDLE and errors behave.
#![cfg(not(target_arch = "wasm32"))]

mod support;

use support::{CLIENT, SERVER, World, store_with};
use wirelab_core::{Input, Instant, Machine, Output};
use wirelab_imap::{
    ClientCommand, ClientConfig, ClientEvent, Flag, ImapClient, ImapError, MsgAtt, ServerConfig, State, Status,
};

/// Clients, each joined to its own server session of `world`.
struct Devices {
    world: World,
    clients: Vec<ImapClient>,
    events: Vec<Vec<ClientEvent>>,
    /// What each client sent, transmit by transmit.
    sent: Vec<Vec<Vec<u8>>>,
}

impl Devices {
    fn new(n: usize, config: ServerConfig) -> Devices {
        let world = World::new(store_with(3), n, config);
        let clients = (0..n).map(|_| ImapClient::new(ClientConfig::new(CLIENT, SERVER))).collect();
        let mut d = Devices { world, clients, events: vec![Vec::new(); n], sent: vec![Vec::new(); n] };
        d.run();
        d
    }

    /// A console line into client `i`, then everything settles.
    fn say(&mut self, i: usize, line: &str) -> Result<(), ImapError> {
        let cmd: ClientCommand = line.parse().unwrap_or_else(|e| panic!("{line}: {e}"));
        let r = self.clients[i].handle_input(Instant::ZERO, Input::Command(cmd));
        self.run();
        r
    }

    /// Moves bytes both ways until nothing moves.
    fn run(&mut self) {
        for _ in 0..1000 {
            let mut moved = false;
            for i in 0..self.clients.len() {
                let from_server = std::mem::take(&mut self.world.sent[i]);
                if !from_server.is_empty() {
                    moved = true;
                    self.clients[i]
                        .handle_input(Instant::ZERO, Input::Receive { from: SERVER, bytes: &from_server })
                        .expect("client reads");
                }
                loop {
                    match self.clients[i].poll_output(Instant::ZERO) {
                        Output::Transmit(t) => {
                            moved = true;
                            self.sent[i].push(t.bytes.clone());
                            self.world.send(i, &t.bytes);
                        }
                        Output::Event(e) => self.events[i].push(e),
                        Output::Idle { .. } => break,
                        _ => {}
                    }
                }
            }
            if !moved {
                return;
            }
        }
        panic!("did not settle");
    }

    fn take_events(&mut self, i: usize) -> Vec<ClientEvent> {
        std::mem::take(&mut self.events[i])
    }

    fn last_completion(&self, i: usize) -> Option<(String, Status)> {
        self.events[i].iter().rev().find_map(|e| match e {
            ClientEvent::Completed { command, status, .. } => Some((command.clone(), *status)),
            _ => None,
        })
    }
}

#[test]
fn two_devices_stay_in_sync_through_the_store() {
    let mut d = Devices::new(2, ServerConfig::new(SERVER));
    for i in 0..2 {
        d.say(i, "login alice secret").expect("sent");
        d.say(i, "select INBOX").expect("sent");
        assert_eq!(d.clients[i].state(), State::Selected);
    }
    d.say(0, "uid fetch 1:* FLAGS").expect("sent");
    let laptop = d.clients[0].mailbox().expect("selected").clone();
    assert_eq!(laptop.messages.iter().map(|m| m.uid).collect::<Vec<_>>(), [Some(1), Some(2), Some(3)]);
    // The laptop idles; the phone reads message 1 and deletes message 2.
    d.say(0, "idle").expect("sent");
    assert!(d.take_events(0).contains(&ClientEvent::Idling));
    d.say(1, "fetch 1 BODY[]").expect("sent");
    let seen = d.take_events(0);
    let flags = [Flag::Seen].into_iter().collect();
    assert_eq!(
        seen,
        [ClientEvent::Fetched { seq: 1, uid: Some(1), attrs: vec![MsgAtt::Flags(flags), MsgAtt::Uid(1)] }]
    );
    d.say(1, "store 2 +FLAGS.SILENT (\\Deleted)").expect("sent");
    d.say(1, "expunge").expect("sent");
    let ev = d.take_events(0);
    assert!(ev.contains(&ClientEvent::Expunged(2)), "{ev:?}");
    // New mail: the laptop hears at once.
    let (_, news) = d.world.store.deliver("alice", "INBOX", b"Subject: hi\r\n\r\nnew\r\n", Default::default(), None);
    d.world.news(news);
    d.run();
    assert_eq!(d.take_events(0), [ClientEvent::Exists(3)]);
    // Commands wait for DONE.
    assert!(matches!(d.say(0, "noop"), Err(ImapError::Usage(_))));
    d.say(0, "done").expect("sent");
    assert_eq!(d.last_completion(0), Some(("IDLE".into(), Status::Ok)));
    let laptop = d.clients[0].mailbox().expect("selected");
    assert_eq!(laptop.messages.len(), 3);
    assert_eq!(laptop.messages[0].flags.as_ref().map(|f| f.contains(&Flag::Seen)), Some(true));
    // The phone hears of the new mail with its next command.
    d.take_events(1);
    d.say(1, "noop").expect("sent");
    assert!(d.take_events(1).contains(&ClientEvent::Exists(3)));
    d.say(0, "uid search ALL").expect("sent");
    assert!(d.events[0].contains(&ClientEvent::Searched { uid: true, numbers: vec![1, 3, 4], count: None }));
    d.say(0, "logout").expect("sent");
    assert_eq!(d.clients[0].state(), State::Logout);
    assert_eq!(d.world.servers[0].state(), State::Logout);
}

#[test]
fn synchronizing_literals_wait_for_the_servers_go_ahead() {
    let config = ServerConfig { literal_plus: false, ..ServerConfig::new(SERVER) };
    let mut d = Devices::new(1, config);
    d.world.store.add_user("bob", "pa\r\nss");
    assert!(!d.clients[0].has_capability("LITERAL+"));
    // A password with CR LF can only go as a literal (the console takes \r\n escapes).
    d.say(0, "login bob {6}\\r\\npa\\r\\nss").expect("sent");
    assert_eq!(d.clients[0].state(), State::Authenticated);
    assert_eq!(d.sent[0], [b"A001 LOGIN bob {6}\r\n".to_vec(), b"pa\r\nss\r\n".to_vec()]);
    // The piece after the `+` starts with the literal's octets: the client says so.
    let a = d.clients[0].annotate_sent(b"pa\r\nss\r\n");
    assert_eq!((a.fields[0].name.as_str(), a.fields[0].len), ("Literal Data", 6));
    // A password with CR LF goes as a literal by itself.
    let mut c = ImapClient::new(ClientConfig::new(CLIENT, SERVER));
    c.handle_input(Instant::ZERO, Input::Receive { from: SERVER, bytes: b"* OK [CAPABILITY IMAP4rev1] hi\r\n" })
        .expect("greeting");
    let login = ClientCommand::Send(wirelab_imap::CommandBody::Login { user: "bob".into(), password: "a\r\nb".into() });
    c.handle_input(Instant::ZERO, Input::Command(login)).expect("sent");
    c.handle_input(Instant::ZERO, Input::Command("noop".parse().expect("noop"))).expect("queued");
    let sent = |c: &mut ImapClient| {
        let mut out = Vec::new();
        loop {
            match c.poll_output(Instant::ZERO) {
                Output::Transmit(t) => out.push(String::from_utf8_lossy(&t.bytes).into_owned()),
                Output::Idle { .. } => return out,
                _ => {}
            }
        }
    };
    assert_eq!(sent(&mut c), ["A001 LOGIN bob {4}\r\n"], "NOOP waits behind the literal");
    // The server refuses instead of saying `+`: the literal is never sent.
    c.handle_input(Instant::ZERO, Input::Receive { from: SERVER, bytes: b"A001 NO [LIMIT] no\r\n" }).expect("reads");
    assert_eq!(sent(&mut c), ["A002 NOOP\r\n"]);
    assert_eq!(c.state(), State::NotAuthenticated);
}

#[test]
fn literal_plus_sends_everything_at_once_and_the_client_reads_literal_responses() {
    let mut d = Devices::new(1, ServerConfig::new(SERVER));
    d.world.store.add_user("bob", "pa\r\nss");
    assert!(d.clients[0].has_capability("LITERAL+"));
    d.say(0, "login bob {6}\\r\\npa\\r\\nss").expect("sent");
    assert_eq!(d.sent[0], [b"A001 LOGIN bob {6+}\r\npa\r\nss\r\n".to_vec()]);
    assert_eq!(d.clients[0].state(), State::Authenticated);
    d.say(0, "logout").expect("sent");
    let mut d = Devices::new(1, ServerConfig::new(SERVER));
    d.say(0, "login alice secret").expect("sent");
    d.say(0, "examine INBOX").expect("sent");
    assert!(d.events[0].iter().any(|e| matches!(e, ClientEvent::Selected { read_only: true, exists: 3, .. })));
    d.say(0, "fetch 2 (BODY.PEEK[HEADER.FIELDS (Subject)] BODY.PEEK[TEXT])").expect("sent");
    let fetched = d.events[0].iter().find_map(|e| match e {
        ClientEvent::Fetched { seq: 2, attrs, .. } => Some(attrs.clone()),
        _ => None,
    });
    let attrs = fetched.expect("message 2");
    let texts: Vec<Vec<u8>> = attrs
        .iter()
        .filter_map(|a| match a {
            MsgAtt::Section { data, .. } => data.clone(),
            _ => None,
        })
        .collect();
    assert_eq!(texts, [b"Subject: Message 2\r\n\r\n".to_vec(), b"Hello number 2.\r\n".to_vec()]);
}

#[test]
fn client_tags_states_and_console() {
    let mut d = Devices::new(1, ServerConfig::new(SERVER));
    assert!(matches!(d.events[0][0], ClientEvent::Greeting(_)));
    let lines = ["capability", "login alice wrong", "login alice secret", "select Nope", "select INBOX", "close"];
    for l in lines {
        d.say(0, l).expect("sent");
    }
    let tags: Vec<String> =
        d.sent[0].iter().map(|b| String::from_utf8_lossy(b).split(' ').next().unwrap_or("").to_string()).collect();
    assert_eq!(tags, ["A001", "A002", "A003", "A004", "A005", "A006"]);
    let completions: Vec<(String, Status)> = d.events[0]
        .iter()
        .filter_map(|e| match e {
            ClientEvent::Completed { command, status, .. } => Some((command.clone(), *status)),
            _ => None,
        })
        .collect();
    let st = |c: &str, s| (c.to_string(), s);
    assert_eq!(
        completions,
        [
            st("CAPABILITY", Status::Ok),
            st("LOGIN", Status::No),
            st("LOGIN", Status::Ok),
            st("SELECT", Status::No),
            st("SELECT", Status::Ok),
            st("CLOSE", Status::Ok)
        ]
    );
    assert_eq!(d.clients[0].state(), State::Authenticated);
    // `done` when not idling, anything after LOGOUT: the caller's mistakes.
    assert!(matches!(d.say(0, "done"), Err(ImapError::Usage(_))));
    d.say(0, "logout").expect("sent");
    assert!(d.events[0].contains(&ClientEvent::CloseConnection));
    assert_eq!(d.say(0, "noop"), Err(ImapError::Closed));
    // Suggestions parse and are for the state.
    let c = ImapClient::new(ClientConfig::new(CLIENT, SERVER));
    let s: Vec<String> = c.suggested_commands().iter().map(ToString::to_string).collect();
    assert_eq!(s, ["login alice secret", "capability"]);
}

#[test]
fn raw_bytes_reach_the_server_as_typed() {
    let mut d = Devices::new(1, ServerConfig::new(SERVER));
    d.say(0, "raw x1 FROB\\r\\n").expect("sent");
    assert_eq!(d.sent[0], [b"x1 FROB\r\n".to_vec()]);
    assert!(d.events[0].iter().any(|e| matches!(e,
        ClientEvent::Completed { tag, status: Status::Bad, .. } if tag == "x1")));
}
