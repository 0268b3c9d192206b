//! The signalling leg of the stepped connection: the `/signal` JSON messages of
//! `wirelab_signal::msg` (same fields, same order, byte for byte what its serde writes),
//! written and read here without a JSON library, since this code runs in the size-bound
//! Wasm app; and the relay that forwards them, as a machine.
//!
//! Only the messages the scenario sends are written: `offer`, `answer`, `candidate`
//! (and its empty end-of-candidates form). Reading takes one field of a flat object.
//! The WebSocket and TCP under these messages are not drawn: `websocket-stepped` shows them.

use crate::Nest;
use core::fmt;
use core::str::FromStr;
use std::collections::VecDeque;
use std::net::SocketAddr;
use wirelab_core::{Annotation, Input, Instant, Machine, Output, RfcRef, Transmit, UnknownCommand};

/// A JSON string literal (RFC 8259 §7) as serde_json writes one: `"`, `\` and control
/// characters escaped, the rest as is.
pub fn json_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if c < ' ' => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The byte span of the value of `"key":` in a flat JSON object as the signalling writes
/// it (no spaces around `:`); a string's span includes its quotes.
pub fn value_span(text: &str, key: &str) -> Option<(usize, usize)> {
    let pat = format!("\"{key}\":");
    let start = text.find(&pat)? + pat.len();
    let b = text.as_bytes();
    let mut end = start;
    if b.get(start) == Some(&b'"') {
        end += 1;
        while *b.get(end)? != b'"' {
            end += if b[end] == b'\\' { 2 } else { 1 };
        }
        end += 1;
    } else {
        while b.get(end).is_some_and(|c| c.is_ascii_digit() || *c == b'-') {
            end += 1;
        }
    }
    (end > start).then_some((start, end))
}

/// A string field's value, unescaped; `None` if absent, not a string, or badly escaped.
pub fn string_field(text: &str, key: &str) -> Option<String> {
    let (s, e) = value_span(text, key)?;
    let raw = text.get(s + 1..e.checked_sub(1)?).filter(|_| text.as_bytes()[s] == b'"')?;
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        out.push(match chars.next()? {
            'n' => '\n',
            'r' => '\r',
            't' => '\t',
            'b' => '\u{8}',
            'f' => '\u{c}',
            'u' => char::from_u32(u32::from_str_radix(&chars.by_ref().take(4).collect::<String>(), 16).ok()?)?,
            other => other,
        });
    }
    Some(out)
}

/// A number field's value.
pub fn number_field(text: &str, key: &str) -> Option<u64> {
    let (s, e) = value_span(text, key)?;
    text[s..e].parse().ok()
}

/// `{"type":"offer","to":1,"sdp":"…"}`: `ClientMsg::Offer` (or `Answer`) as sent.
pub fn description_json(ty: &str, to: u64, sdp: &str) -> String {
    format!("{{\"type\":\"{ty}\",\"to\":{to},\"sdp\":{}}}", json_string(sdp))
}

/// `ClientMsg::Candidate` for the one media section, `mid` "0": a trickled candidate
/// (RFC 8838 §4), or with an empty `candidate` the end of candidates (§8.2).
pub fn candidate_json(to: u64, candidate: &str) -> String {
    format!(
        "{{\"type\":\"candidate\",\"to\":{to},\"candidate\":{},\"sdp_mid\":\"0\",\"sdp_mline_index\":0}}",
        json_string(candidate)
    )
}

/// The relay's one state: it holds no session, it forwards.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Relaying;

impl fmt::Display for Relaying {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("relaying")
    }
}

/// The relay takes no commands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NoCommand {}

impl fmt::Display for NoCommand {
    fn fmt(&self, _: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {}
    }
}

impl FromStr for NoCommand {
    type Err = UnknownCommand;
    fn from_str(s: &str) -> Result<Self, UnknownCommand> {
        Err(UnknownCommand { line: s.to_string(), expected: "nothing: the relay only forwards" })
    }
}

/// What the relay cannot forward.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RelayError {
    /// From an address not in the room.
    Stranger(SocketAddr),
    /// Not a message with a `"to"` naming a member.
    Unroutable(String),
}

impl fmt::Display for RelayError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RelayError::Stranger(a) => write!(f, "a message from {a}, who is not in the room"),
            RelayError::Unroutable(why) => write!(f, "cannot forward: {why}"),
        }
    }
}

/// The signalling server's room as a machine: two members, each known by its peer id
/// and address. A message `{"type":T,"to":N,…}` from one goes to N as
/// `{"type":T,"from":M,…}`, the rest untouched: `ServerMsg`'s form, as `wirelab_signal`'s
/// hub sends it. It never reads the SDP.
#[derive(Clone, Debug)]
pub struct Relay {
    pub addr: SocketAddr,
    pub members: Vec<(u64, SocketAddr)>,
    out: VecDeque<Transmit>,
}

impl Relay {
    pub fn new(addr: SocketAddr, members: Vec<(u64, SocketAddr)>) -> Self {
        Relay { addr, members, out: VecDeque::new() }
    }
}

impl Machine for Relay {
    type State = Relaying;
    type Command = NoCommand;
    type Event = String;
    type Error = RelayError;

    fn state(&self) -> Relaying {
        Relaying
    }

    fn handle_input(&mut self, _now: Instant, input: Input<'_, NoCommand>) -> Result<(), RelayError> {
        let Input::Receive { from, bytes } = input else { return Ok(()) };
        let sender = self.members.iter().find(|m| m.1 == from).ok_or(RelayError::Stranger(from))?.0;
        let text = core::str::from_utf8(bytes).map_err(|_| RelayError::Unroutable("not UTF-8 text".into()))?;
        let bad = |why: &str| RelayError::Unroutable(why.to_string());
        let ty = string_field(text, "type").ok_or_else(|| bad("no \"type\""))?;
        let (s, e) = value_span(text, "to").ok_or_else(|| bad("no \"to\""))?;
        let to = number_field(text, "to").ok_or_else(|| bad("\"to\" is not a peer id"))?;
        let dest = self.members.iter().find(|m| m.0 == to && m.0 != sender).ok_or_else(|| bad("no such peer"))?.1;
        let key = s - "\"to\":".len();
        let forwarded = format!("{}\"from\":{sender}{}", &text[..key], &text[e..]);
        self.out.push_back(Transmit {
            from: self.addr,
            to: dest,
            bytes: forwarded.into_bytes(),
            reason: format!("it forwards p{sender}'s {ty} to p{to} as it came, never reading the SDP").into(),
            rfc: Some(RfcRef::new(8829, "1")),
        });
        Ok(())
    }

    fn poll_output(&mut self, _now: Instant) -> Output<Relaying, String> {
        match self.out.pop_front() {
            Some(t) => Output::Transmit(t),
            None => Output::Idle { wake_at: None },
        }
    }

    /// One state: a room forwards, and has nothing else to be.
    fn diagrams(&self) -> Vec<wirelab_core::StateDiagram> {
        let mut d = wirelab_core::StateDiagram::new("Signalling room", Some(RfcRef::new(8829, "1")));
        d.state("relaying", 0, 0);
        vec![d]
    }

    fn annotate(bytes: &[u8]) -> Annotation {
        annotate(bytes)
    }
}

/// One line: `offer to p1 (412 bytes of SDP)`, `candidate from p2: candidate:1 …`,
/// as `ClientMsg`'s and `ServerMsg`'s `Display` print them.
pub fn summary(text: &str) -> String {
    let ty = string_field(text, "type").unwrap_or_default();
    let (dir, peer) = match (number_field(text, "to"), number_field(text, "from")) {
        (Some(n), _) => ("to", n),
        (None, Some(n)) => ("from", n),
        _ => ("", 0),
    };
    match (ty.as_str(), string_field(text, "sdp"), string_field(text, "candidate")) {
        (_, Some(sdp), _) => format!("{ty} {dir} p{peer} ({} bytes of SDP)", sdp.len()),
        ("candidate", _, Some(c)) if c.is_empty() => format!("end-of-candidates {dir} p{peer}"),
        ("candidate", _, Some(c)) => format!("candidate {dir} p{peer}: {c}"),
        _ => format!("{ty} {dir} p{peer}"),
    }
}

/// What each SDP line this crate writes means. A short table of its own rather than
/// `wirelab_signal::sdp::explain`, whose full explainer would cost the Wasm app more than
/// this whole scenario's signalling.
fn sdp_meaning(key: &str) -> &'static str {
    match key {
        "v" => "protocol version, always 0 (RFC 8866 §5.1)",
        "o" => "origin: no user, session id, version; the address is a placeholder (RFC 8866 §5.2)",
        "s" => "session name: '-', none (RFC 8866 §5.3)",
        "t" => "time: 0 0, unbounded (RFC 8866 §5.9)",
        "a=group" => "BUNDLE: the sections share one ICE and DTLS transport (RFC 9143)",
        "m" => "the data channel section: SCTP over DTLS over UDP; port 9 is a placeholder (RFC 8841 §4.1)",
        "c" => "connection address: a dummy, ICE finds the real ones (RFC 8866 §5.7)",
        "a=ice-ufrag" => "ICE username fragment: the checks' USERNAME carries it (RFC 8839 §5.4)",
        "a=ice-pwd" => "ICE password: keys MESSAGE-INTEGRITY of the checks sent to this side (RFC 8839 §5.4)",
        "a=ice-options" => "trickle: candidates follow in messages of their own (RFC 8838)",
        "a=fingerprint" => "hash of the certificate this side's DTLS will present (RFC 8122 §5); random bytes here",
        "a=setup" => "DTLS role: actpass lets the answerer choose; active is the client (RFC 4145 §4)",
        "a=mid" => "the section's id, as a=group names it (RFC 5888 §4)",
        "a=sctp-port" => "the SCTP port inside DTLS (RFC 8841 §5)",
        "a=max-message-size" => "the largest message this side accepts (RFC 8841 §6)",
        _ => "not explained here",
    }
}

/// Names the fields of a signalling message, and every line of an SDP inside it.
pub fn annotate(bytes: &[u8]) -> Annotation {
    let mut a = Annotation { protocol: "signalling (JSON over WebSocket)".into(), ..Annotation::default() };
    let Ok(text) = core::str::from_utf8(bytes) else {
        return crate::malformed("signalling", bytes, "a signalling message is JSON text");
    };
    a.summary = summary(text);
    let mut out = Nest { fields: &mut a.fields, base: 0, depth: 0 };
    const KEYS: [(&str, &str); 7] = [
        ("type", "the kind of message (wirelab_signal::msg)"),
        ("to", "the room member it is for; the server replaces this with \"from\""),
        ("from", "the room member it came from, filled in by the server"),
        ("sdp", "the session description (RFC 8866); the server does not read it"),
        (
            "candidate",
            "a trickled host candidate: foundation, component, transport, priority, address, port, type (RFC 8839 §5.1); empty: end of candidates",
        ),
        ("sdp_mid", "the media section it belongs to (a=mid)"),
        ("sdp_mline_index", "the media section's index"),
    ];
    for (key, meaning) in KEYS {
        let Some((s, e)) = value_span(text, key) else { continue };
        out.push(key, s, e - s, text[s..e].chars().take(60).collect(), meaning, 0);
        if key != "sdp" || text.as_bytes()[s] != b'"' {
            continue;
        }
        // Each line sits between escaped CRLFs ("\r\n", four characters).
        let mut at = s + 1;
        for line in text[s + 1..e - 1].split("\\r\\n") {
            if let Some((k, v)) = line.split_once('=') {
                let key = match v.split_once(':') {
                    Some((name, _)) if k == "a" => format!("a={name}"),
                    _ => k.to_string(),
                };
                out.push(&key, at, line.len(), v.to_string(), sdp_meaning(&key), 1);
            }
            at += line.len() + 4;
        }
    }
    a
}
