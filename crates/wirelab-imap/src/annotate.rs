//! What each byte of an IMAP transmit is, for the hex↔field inspector: the tag, the
//! command or status, each argument, response codes, literal headers and literal data,
//! and the CRLFs. One transmit may hold several commands or responses (each gets its
//! fields), or the middle of a command (the literal a client sends after the server's
//! `+`; [`annotate_continuation`]).
//!
//! This reads tokens, not the grammar: it explains malformed bytes too, as far as they
//! go, and never panics.

use crate::syntax::frames;
use wirelab_core::{Annotation, Field};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Tok {
    Atom,
    Quoted,
    /// `{n}` / `{n+}` and its CRLF; the data's length.
    LiteralHeader(usize),
    LiteralData,
    Open,
    Close,
    /// `[…]` standing alone (a response code).
    Code,
    Eol,
}

#[derive(Clone, Copy, Debug)]
struct Token {
    kind: Tok,
    start: usize,
    end: usize,
    depth: usize,
}

/// Splits `b` (one frame, or the start of one) into tokens.
fn tokens(b: &[u8]) -> Vec<Token> {
    let mut out = Vec::new();
    let mut i = 0;
    let mut depth = 0usize;
    while i < b.len() {
        let start = i;
        let kind = match b[i] {
            b' ' => {
                i += 1;
                continue;
            }
            b'\r' | b'\n' => {
                i += if b[i..].starts_with(b"\r\n") { 2 } else { 1 };
                Tok::Eol
            }
            b'(' => {
                i += 1;
                depth += 1;
                out.push(Token { kind: Tok::Open, start, end: i, depth: depth - 1 });
                continue;
            }
            b')' => {
                i += 1;
                depth = depth.saturating_sub(1);
                Tok::Close
            }
            b'"' => {
                i += 1;
                while i < b.len() && b[i] != b'"' && b[i] != b'\r' && b[i] != b'\n' {
                    i += if b[i] == b'\\' { 2 } else { 1 };
                }
                i = (i + 1).min(b.len());
                Tok::Quoted
            }
            b'{' => {
                let close = b[i..].iter().position(|&c| c == b'}').map(|p| i + p);
                let n = close.and_then(|c| {
                    let digits = b[i + 1..c].strip_suffix(b"+").unwrap_or(&b[i + 1..c]);
                    std::str::from_utf8(digits).ok()?.parse::<usize>().ok()
                });
                match (close, n) {
                    (Some(c), Some(n)) => {
                        i = c + 1;
                        if b[i..].starts_with(b"\r\n") {
                            i += 2;
                        } else if b[i..].starts_with(b"\n") {
                            i += 1;
                        }
                        out.push(Token { kind: Tok::LiteralHeader(n), start, end: i, depth });
                        let data_end = i.saturating_add(n).min(b.len());
                        out.push(Token { kind: Tok::LiteralData, start: i, end: data_end, depth });
                        i = data_end;
                        continue;
                    }
                    _ => {
                        i += 1;
                        Tok::Atom
                    }
                }
            }
            b'[' => {
                let mut level = 0;
                while i < b.len() && b[i] != b'\r' && b[i] != b'\n' {
                    if b[i] == b'[' {
                        level += 1;
                    } else if b[i] == b']' {
                        level -= 1;
                        if level == 0 {
                            i += 1;
                            break;
                        }
                    }
                    i += 1;
                }
                Tok::Code
            }
            _ => {
                // An atom; brackets inside it (`BODY[HEADER.FIELDS (A B)]<0.10>`) belong to it.
                let mut level = 0;
                while i < b.len() {
                    match b[i] {
                        b'[' => level += 1,
                        b']' if level > 0 => level -= 1,
                        b'\r' | b'\n' => break,
                        b' ' | b'(' | b')' | b'"' | b'{' if level == 0 => break,
                        _ => {}
                    }
                    i += 1;
                }
                Tok::Atom
            }
        };
        out.push(Token { kind, start, end: i, depth });
    }
    out
}

fn text(b: &[u8], t: &Token) -> String {
    let s = String::from_utf8_lossy(&b[t.start..t.end]).into_owned();
    if s.chars().count() > 60 { format!("{}…", s.chars().take(60).collect::<String>()) } else { s }
}

/// The names of a command's arguments, in order; the last repeats.
fn argument_names(command: &str) -> &'static [(&'static str, &'static str)] {
    match command {
        "LOGIN" => &[
            ("User Name", "who logs in (RFC 9051 §6.2.3)"),
            ("Password", "the password, in the clear (RFC 9051 §6.2.3)"),
        ],
        "SELECT" | "EXAMINE" => &[("Mailbox", "the mailbox to open (RFC 9051 §6.3.2)")],
        "LIST" => &[
            ("Reference", "the context the pattern is relative to (RFC 9051 §6.3.9)"),
            ("Mailbox Pattern", "* matches anything, % anything but the delimiter"),
        ],
        "ENABLE" => &[("Capability", "an extension to turn on (RFC 9051 §6.3.1)")],
        "FETCH" => &[
            ("Sequence Set", "which messages, by sequence number: 1:* is all (RFC 9051 §9)"),
            ("Data Items", "what to fetch, or a macro: ALL, FAST, FULL (RFC 9051 §6.4.5)"),
        ],
        "UID FETCH" => &[
            ("UID Set", "which messages, by unique identifier (RFC 9051 §6.4.9)"),
            ("Data Items", "what to fetch (RFC 9051 §6.4.5)"),
        ],
        "STORE" => &[
            ("Sequence Set", "which messages, by sequence number"),
            ("Flag Operation", "FLAGS replaces, +FLAGS adds, -FLAGS removes; .SILENT: no answer (RFC 9051 §6.4.6)"),
            ("Flags", "the flags to store"),
        ],
        "UID STORE" => &[
            ("UID Set", "which messages, by unique identifier"),
            ("Flag Operation", "FLAGS replaces, +FLAGS adds, -FLAGS removes (RFC 9051 §6.4.6)"),
            ("Flags", "the flags to store"),
        ],
        "SEARCH" | "UID SEARCH" => &[("Search Key", "a criterion; all must match (RFC 9051 §6.4.4)")],
        "UID EXPUNGE" => &[("UID Set", "expunge only these \\Deleted messages (RFC 9051 §6.4.9)")],
        _ => &[("Argument", "")],
    }
}

fn status_meaning(word: &str) -> &'static str {
    match word {
        "OK" => "success (RFC 9051 §7.1.1)",
        "NO" => "the command failed: understood and refused (RFC 9051 §7.1.2)",
        "BAD" => "a protocol error in the client's command (RFC 9051 §7.1.3)",
        "PREAUTH" => "already authenticated: no LOGIN needed (RFC 9051 §7.1.4)",
        "BYE" => "the server is about to close the connection (RFC 9051 §7.1.5)",
        "EXISTS" => "the number of messages in the mailbox (RFC 9051 §7.4.1)",
        "RECENT" => "IMAP4rev1: how many messages are \\Recent (RFC 3501 §7.3.2)",
        "EXPUNGE" => "this message is gone; later ones move down by one (RFC 9051 §7.5.1)",
        "FETCH" => "data about this message (RFC 9051 §7.5.2)",
        "CAPABILITY" => "what the server supports (RFC 9051 §7.2.2)",
        "FLAGS" => "the flags the mailbox knows (RFC 9051 §7.3.5)",
        "LIST" => "a mailbox: attributes, delimiter, name (RFC 9051 §7.3.1)",
        "SEARCH" => "IMAP4rev1: the matching message numbers (RFC 3501 §7.2.5)",
        "ESEARCH" => "the search result, compactly (RFC 9051 §7.3.4)",
        "ENABLED" => "the extensions now on (RFC 9051 §7.2.1)",
        "NAMESPACE" => "where mailbox names live (RFC 9051 §7.3.3)",
        _ => "",
    }
}

/// Annotates one command or response (or the start of one) at `b[base..]`, adding
/// fields; returns its summary.
fn frame(b: &[u8], base: usize, fields: &mut Vec<Field>) -> String {
    let toks = tokens(b);
    let mut first_line = None;
    for t in &toks {
        match t.kind {
            Tok::Eol => {
                first_line = Some(String::from_utf8_lossy(&b[..t.start]).into_owned());
                break;
            }
            Tok::LiteralHeader(_) => {
                first_line = Some(format!("{} …", String::from_utf8_lossy(&b[..t.end]).trim_end()));
                break;
            }
            _ => {}
        }
    }
    let first_line = first_line.unwrap_or_else(|| String::from_utf8_lossy(b).into_owned());
    let summary = if first_line.chars().count() > 72 {
        format!("{}…", first_line.chars().take(72).collect::<String>())
    } else {
        first_line
    };
    let field = |name: &str, t: &Token, value: String, meaning: &str| {
        Field::new(name, base + t.start, t.end - t.start, value, meaning)
    };
    let Some(first) = toks.first() else { return "empty".into() };
    let word = |i: usize| toks.get(i).map(|t| String::from_utf8_lossy(&b[t.start..t.end]).to_ascii_uppercase());
    let first_text = text(b, first);
    let second = word(1).unwrap_or_default();
    let is_status = |w: &str| matches!(w, "OK" | "NO" | "BAD" | "PREAUTH" | "BYE");
    let mut i = 1;
    let mut names: &[(&str, &str)] = &[("Data", "")];
    let response;
    if first_text == "*" {
        response = true;
        fields.push(field("Tag", first, "*".into(), "untagged: data or status not ending a command (RFC 9051 §2.2.2)"));
        if let Some(t) = toks.get(1).filter(|t| b[t.start].is_ascii_digit()) {
            fields.push(field("Message Number", t, text(b, t), "a message sequence number, or a count"));
            i = 2;
        }
        if let Some(t) = toks.get(i) {
            let w = word(i).unwrap_or_default();
            let name = if is_status(&w) { "Status" } else { "Response" };
            fields.push(field(name, t, text(b, t), status_meaning(&w)));
            i += 1;
            names = match w.as_str() {
                w if is_status(w) => &[("Text", "human-readable text")],
                "LIST" => &[
                    ("Attributes", "what the mailbox is (\\Noselect, \\HasChildren…)"),
                    ("Delimiter", "the hierarchy separator in mailbox names"),
                    ("Mailbox", "the mailbox's name"),
                ],
                "FLAGS" => &[("Flags", "the flags defined in the mailbox")],
                "FETCH" => &[("Data Items", "pairs of a data item's name and its value")],
                "CAPABILITY" | "ENABLED" => &[("Capability", "")],
                "SEARCH" => &[("Number", "a matching message")],
                _ => &[("Data", "")],
            };
        }
    } else if first_text == "+" {
        response = true;
        fields.push(field(
            "Continuation",
            first,
            "+".into(),
            "the server is ready for the rest of the command (RFC 9051 §7.5)",
        ));
        names = &[("Text", "human-readable text, ignored by the client")];
    } else if is_status(&second) {
        response = true;
        fields.push(field("Tag", first, first_text.clone(), "the tag of the command this completes (RFC 9051 §2.2.2)"));
        if let Some(t) = toks.get(1) {
            fields.push(field("Status", t, second.clone(), status_meaning(&second)));
        }
        i = 2;
        names = &[("Text", "human-readable text")];
    } else if first_text.eq_ignore_ascii_case("DONE") && toks.get(1).is_none_or(|t| t.kind == Tok::Eol) {
        fields.push(field("DONE", first, "DONE".into(), "ends IDLE (RFC 2177 §3)"));
        response = false;
    } else {
        response = false;
        fields.push(field(
            "Tag",
            first,
            first_text.clone(),
            "the client's label for the command; its completion repeats it (RFC 9051 §2.2.1)",
        ));
        if let Some(t) = toks.get(1) {
            let mut name = second.clone();
            let mut end = t.end;
            if name == "UID" {
                if let Some(t2) = toks.get(2) {
                    name = format!("UID {}", word(2).unwrap_or_default());
                    end = t2.end;
                    i = 3;
                } else {
                    i = 2;
                }
            } else {
                i = 2;
            }
            fields.push(Field::new("Command", base + t.start, end - t.start, name.clone(), "what to do (RFC 9051 §6)"));
            names = argument_names(&name);
        }
    }
    // The rest: top-level items, with the items of lists one level down.
    let mut n = 0;
    let mut list_start: Option<usize> = None;
    let mut child_list: Option<usize> = None;
    let mut child_n = 0;
    // In FETCH (command or response), lists hold data items, and values after them.
    let fetch = fields
        .iter()
        .any(|f| (f.name == "Response" || f.name == "Command") && (f.value == "FETCH" || f.value == "UID FETCH"))
        && response;
    while i < toks.len() {
        let t = toks[i];
        match t.kind {
            Tok::Eol => fields.push(field("CRLF", &t, "\\r\\n".into(), "ends the line")),
            Tok::LiteralHeader(_) if t.depth <= 1 => fields.push(
                field(
                    "Literal Header",
                    &t,
                    text(b, &t).trim_end().to_string(),
                    "a literal: this many octets follow the CRLF (RFC 9051 §4.3)",
                )
                .child_if(t.depth > 0),
            ),
            Tok::LiteralData if t.depth <= 1 => {
                let meaning = "the literal's octets: any bytes, CRLFs included";
                if t.depth == 0 {
                    n += 1;
                } else {
                    child_n += 1;
                }
                fields.push(
                    Field::new(
                        "Literal Data",
                        base + t.start,
                        t.end - t.start,
                        format!("{} octets", t.end - t.start),
                        meaning,
                    )
                    .child_if(t.depth > 0),
                );
            }
            Tok::Code if t.depth == 0 => {
                fields.push(field("Response Code", &t, text(b, &t), "machine-readable detail (RFC 9051 §7.1)"));
            }
            Tok::Open if t.depth == 0 => {
                list_start = Some(i);
                child_n = 0;
            }
            Tok::Open if t.depth == 1 => child_list = Some(t.start),
            Tok::Close if t.depth == 1 => {
                if let Some(start) = child_list.take() {
                    let (name, meaning) = child_name(fetch, child_n);
                    let whole = Token { kind: Tok::Atom, start, end: t.end, depth: 1 };
                    fields.push(field(name, &whole, text(b, &whole), meaning).child());
                    child_n += 1;
                }
            }
            Tok::Close if t.depth == 0 => {
                if let Some(s) = list_start.take() {
                    let (name, meaning) = names[n.min(names.len() - 1)];
                    let start = toks[s].start;
                    let f = Field::new(
                        numbered(name, n, names.len()),
                        base + start,
                        t.end - start,
                        text(b, &Token { kind: Tok::Atom, start, end: t.end, depth: 0 }),
                        meaning,
                    );
                    fields.push(f);
                    n += 1;
                }
            }
            _ if t.depth == 1 && !matches!(t.kind, Tok::Open | Tok::Close) => {
                let (name, meaning) = child_name(fetch, child_n);
                fields.push(field(name, &t, text(b, &t), meaning).child());
                child_n += 1;
            }
            _ if t.depth == 0 && !matches!(t.kind, Tok::Open | Tok::Close) => {
                let (name, meaning) = names[n.min(names.len() - 1)];
                if response && names.len() == 1 && names[0].0 == "Text" {
                    // Status text: everything to the end of the line.
                    let end = toks[i..].iter().take_while(|x| x.kind != Tok::Eol).last().map_or(t.end, |x| x.end);
                    fields.push(Field::new(
                        "Text",
                        base + t.start,
                        end - t.start,
                        String::from_utf8_lossy(&b[t.start..end]).into_owned(),
                        meaning,
                    ));
                    while i + 1 < toks.len() && toks[i + 1].kind != Tok::Eol {
                        i += 1;
                    }
                } else {
                    fields.push(field(&numbered(name, n, names.len()), &t, text(b, &t), meaning));
                    n += 1;
                }
            }
            _ => {}
        }
        i += 1;
    }
    summary
}

/// The name of the nth item in a list: in a FETCH response, names and values alternate.
fn child_name(fetch: bool, n: usize) -> (&'static str, &'static str) {
    match (fetch, n % 2) {
        (true, 0) => ("Data Item", "what this is about the message (RFC 9051 §7.5.2)"),
        (true, _) => ("Value", "the data item's value"),
        (false, _) => ("Item", ""),
    }
}

/// `Argument 2`, or `Data Items` when the name is specific.
fn numbered(name: &str, n: usize, count: usize) -> String {
    if count == 1 && matches!(name, "Argument" | "Data" | "Search Key" | "Capability" | "Number") {
        format!("{name} {}", n + 1)
    } else {
        name.to_string()
    }
}

trait ChildIf {
    fn child_if(self, yes: bool) -> Self;
}

impl ChildIf for Field {
    fn child_if(self, yes: bool) -> Self {
        if yes { self.child() } else { self }
    }
}

fn finish(mut a: Annotation, summaries: Vec<String>) -> Annotation {
    a.fields.sort_by_key(|f| (f.start, f.depth));
    a.summary = match summaries.len() {
        0 => "empty".into(),
        1 => summaries.into_iter().next().unwrap_or_default(),
        n => format!("{} (+{} more)", summaries[0], n - 1),
    };
    a
}

/// Names the fields of IMAP bytes: whole commands or responses, one after another,
/// and the start of one whose end has not been sent yet.
pub fn annotate(bytes: &[u8]) -> Annotation {
    let mut a = Annotation { protocol: "IMAP".into(), ..Annotation::default() };
    let (whole, rest) = frames(bytes);
    let mut summaries = Vec::new();
    for (s, e) in whole {
        summaries.push(frame(&bytes[s..e], s, &mut a.fields));
    }
    if rest < bytes.len() {
        let s = frame(&bytes[rest..], rest, &mut a.fields);
        let waits = crate::syntax::literal_at_end(bytes.trim_ascii_end());
        summaries.push(match waits {
            Some((_, true)) => format!("{s} (the literal waits for the server's +)"),
            _ => format!("{s} (incomplete)"),
        });
    }
    finish(a, summaries)
}

/// Names the fields of the rest of a command sent after a continuation request: first
/// the `literal` octets of the literal the server said go ahead for, then the rest of
/// the command line as arguments.
pub fn annotate_continuation(bytes: &[u8], literal: usize) -> Annotation {
    let mut a = Annotation { protocol: "IMAP".into(), ..Annotation::default() };
    let n = literal.min(bytes.len());
    a.fields.push(Field::new(
        "Literal Data",
        0,
        n,
        format!("{n} octets"),
        "the literal's octets, sent after the server's + (RFC 9051 §7.5)",
    ));
    let rest = &bytes[n..];
    let toks = tokens(rest);
    for t in &toks {
        let f = match t.kind {
            Tok::Eol => Field::new("CRLF", n + t.start, t.end - t.start, "\\r\\n", "ends the command"),
            Tok::LiteralHeader(_) => Field::new(
                "Literal Header",
                n + t.start,
                t.end - t.start,
                text(rest, t).trim_end().to_string(),
                "another literal: this many octets follow",
            ),
            Tok::LiteralData => {
                Field::new("Literal Data", n + t.start, t.end - t.start, format!("{} octets", t.end - t.start), "")
            }
            _ if t.depth == 0 => {
                Field::new("Argument", n + t.start, t.end - t.start, text(rest, t), "the rest of the command")
            }
            _ => continue,
        };
        a.fields.push(f);
    }
    let summary = format!("literal data ({n} octets) and the rest of the command");
    finish(a, vec![summary])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(a: &Annotation) -> Vec<(String, String)> {
        a.fields.iter().map(|f| (f.name.clone(), f.value.clone())).collect()
    }

    #[test]
    fn a_command_with_a_literal() {
        let b = b"A001 LOGIN {5}\r\nalice secret\r\n";
        let a = annotate(b);
        assert_eq!(a.summary, "A001 LOGIN {5} …");
        let n = names(&a);
        assert_eq!(n[0], ("Tag".into(), "A001".into()));
        assert_eq!(n[1], ("Command".into(), "LOGIN".into()));
        assert_eq!(n[2], ("Literal Header".into(), "{5}".into()));
        assert_eq!(n[3], ("Literal Data".into(), "5 octets".into()));
        assert_eq!(n[4], ("Password".into(), "secret".into()));
        assert_eq!(n[5].0, "CRLF");
        for f in &a.fields {
            assert!(f.start + f.len <= b.len(), "{f:?}");
        }
    }

    #[test]
    fn responses_and_several_in_one_transmit() {
        let b = b"* 12 FETCH (FLAGS (\\Seen) BODY[HEADER] {3}\r\nab\n)\r\nA1 OK [READ-WRITE] SELECT completed\r\n";
        let a = annotate(b);
        assert_eq!(a.summary, "* 12 FETCH (FLAGS (\\Seen) BODY[HEADER] {3} … (+1 more)");
        let n = names(&a);
        assert!(n.contains(&("Message Number".into(), "12".into())));
        assert!(n.contains(&("Data Item".into(), "BODY[HEADER]".into())));
        assert!(n.contains(&("Value".into(), "(\\Seen)".into())));
        assert!(n.contains(&("Literal Data".into(), "3 octets".into())));
        assert!(n.contains(&("Response Code".into(), "[READ-WRITE]".into())));
        assert!(n.contains(&("Text".into(), "SELECT completed".into())));
        let a = annotate(b"A2 LOGIN {5}\r\n");
        assert_eq!(a.summary, "A2 LOGIN {5} … (the literal waits for the server's +)");
    }

    #[test]
    fn any_bytes_are_explained_without_panicking() {
        for b in
            [&b""[..], b"\r\n", b"{", b"{99999999999999999999}\r\n", b"* (((", b"[[[", b"\"abc", b"+", b"a b c d e f g"]
        {
            let a = annotate(b);
            for f in &a.fields {
                assert!(f.start + f.len <= b.len(), "{b:?}: {f:?}");
            }
        }
        let a = annotate_continuation(b"secret\r\n", 6);
        assert_eq!(names(&a)[0], ("Literal Data".into(), "6 octets".into()));
    }
}
