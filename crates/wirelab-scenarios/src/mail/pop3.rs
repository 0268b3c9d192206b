//! `pop3-retrieve-delete`: a POP3 (RFC 1939) client and server over our TCP, the server
//! answered by an in-memory maildrop.

use super::{ALICE, NORTH_IP, NORTH_POP3, PASSWORD, inbox, ms, tcp};
use crate::apps::{App, Note, Script};
use crate::{CLIENT, Params, new_sim};
use wirelab_core::{Input, Instant, Machine, Sim, SimError};
use wirelab_pop3::{MessageInfo, Pop3Server, ServerCommand as Pop3Answer, ServerEvent as Pop3Event};
use wirelab_tcp::OverTcp;

/// A POP3 server's driver: one account and its maildrop (RFC 1939 §8: the server "acquires
/// an exclusive-access lock on the maildrop"; here nobody else uses it). DELE marks, and
/// the driver removes only when UPDATE asks it to (§6).
#[derive(Clone, Debug)]
pub struct Pop3Maildrop {
    user: &'static str,
    pass: &'static str,
    /// Unique-id and content of each message.
    pub messages: Vec<(String, Vec<u8>)>,
}

impl Pop3Maildrop {
    pub fn new(user: &'static str, pass: &'static str, messages: impl IntoIterator<Item = Vec<u8>>) -> Self {
        let messages = messages.into_iter().enumerate().map(|(i, m)| (format!("uid-{}", i + 1), m)).collect();
        Pop3Maildrop { user, pass, messages }
    }
}

impl Script<Pop3Server> for Pop3Maildrop {
    fn on_event(&mut self, now: Instant, pop3: &mut Pop3Server, event: &Pop3Event, notes: &mut Vec<Note>) {
        let answer = match event {
            Pop3Event::Authenticate { user, pass } if user == self.user && pass == self.pass => {
                let list = self.messages.iter().map(|(uid, m)| MessageInfo { uid: uid.clone(), size: m.len() as u64 });
                Pop3Answer::Maildrop(Ok(list.collect()))
            }
            Pop3Event::Authenticate { .. } | Pop3Event::AuthenticateApop { .. } => {
                Pop3Answer::Maildrop(Err("invalid user name or password".into()))
            }
            Pop3Event::Fetch { uid, .. } => match self.messages.iter().find(|(u, _)| u == uid) {
                Some((_, m)) => Pop3Answer::Message(Ok(m.clone())),
                None => Pop3Answer::Message(Err("no such message".into())),
            },
            Pop3Event::Delete { uids } => {
                let before = self.messages.len();
                self.messages.retain(|(u, _)| !uids.contains(u));
                notes.push(Note::Removed { mailbox: self.user.into(), count: before - self.messages.len() });
                Pop3Answer::Deleted(Ok(()))
            }
            Pop3Event::Aborted { .. } | Pop3Event::CloseConnection => return,
        };
        let _ = pop3.handle_input(now, Input::Command(answer));
    }
}

/// The POP3 client's script in `pop3-retrieve-delete`, one line per command (the client
/// sends each after the last one's response, RFC 1939 §3).
pub const POP3_STEPS: [&str; 6] = ["login alice@north.test wirelab", "STAT", "LIST", "RETR 1", "DELE 1", "QUIT"];

/// `pop3-retrieve-delete`: alice logs in with USER and PASS, asks STAT and LIST, retrieves
/// message 1 (its byte-stuffed lines unstuffed), marks it deleted, and QUIT moves the
/// session to UPDATE, where the driver removes it (RFC 1939 §6).
pub fn pop3_retrieve_delete(params: &Params) -> Result<Sim, SimError> {
    let mut sim = new_sim(params);
    let seed = params.seed;
    let client = wirelab_pop3::Pop3Client::new(wirelab_pop3::ClientConfig::new(CLIENT, NORTH_POP3));
    let client = OverTcp::new(tcp(CLIENT, seed, Some(NORTH_POP3)), client);
    let server = App::new(
        Pop3Server::new(wirelab_pop3::ServerConfig::new(NORTH_POP3, "north.test")),
        Pop3Maildrop::new(ALICE, PASSWORD, inbox()),
    );
    let c = sim.add_node("alice", CLIENT.ip(), Box::new(client));
    let s = sim.add_node("north", NORTH_IP, Box::new(OverTcp::new(tcp(NORTH_POP3, seed, None), server)));
    sim.command_at(Instant::ZERO, s, "listen")?;
    sim.command_at(Instant::ZERO + ms(1), c, &format!("connect {NORTH_POP3}"))?;
    for line in POP3_STEPS {
        sim.command_on_state(c, "ESTABLISHED", ms(0), line)?;
    }
    Ok(sim)
}
