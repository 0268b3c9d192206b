//! Field-by-field annotation of POP3 bytes for the inspector: command lines (keyword,
//! arguments, CRLF), status lines (indicator, text, CRLF), and the body of a multi-line
//! response: scan listings, unique-id listings, or a message's header fields and body,
//! with stuffed octets and the termination line.

use crate::wire;
use wirelab_core::{Annotation, Field};

use wirelab_core::lines::spans as lines;

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn crlf(fields: &mut Vec<Field>, c: usize, e: usize) {
    if e > c {
        fields.push(Field::new("CRLF", c, e - c, "\\r\\n", "ends the line (RFC 1939 §3)").child());
    }
}

/// Names every part of what a POP3 client or server sends.
pub fn annotate(bytes: &[u8]) -> Annotation {
    if bytes.starts_with(b"+OK") || bytes.starts_with(b"-ERR") {
        annotate_response(bytes)
    } else {
        annotate_commands(bytes)
    }
}

/// Command lines (RFC 1939 §5–§7).
pub fn annotate_commands(bytes: &[u8]) -> Annotation {
    let mut a = Annotation { protocol: "POP3".into(), ..Annotation::default() };
    let all = lines(bytes);
    for &(s, c, e) in &all {
        let line = &bytes[s..c];
        let parsed = wire::parse_command(line);
        let meaning = match &parsed {
            Ok(cmd) => meaning(cmd),
            Err(err) => {
                a.error.get_or_insert(err.to_string());
                "not a command this server reads".into()
            }
        };
        a.fields.push(Field::new("Command Line", s, e - s, text(line), meaning));
        let k = line.iter().position(|&b| b == b' ').unwrap_or(line.len());
        a.fields
            .push(Field::new("Keyword", s, k, text(&line[..k]), "case-insensitive, 3 or 4 characters (§3)").child());
        if k < line.len() {
            let keyword = text(&line[..k]).to_ascii_uppercase();
            if keyword == "PASS" {
                let arg = &line[k + 1..];
                a.fields.push(
                    Field::new(
                        "Password",
                        s + k + 1,
                        arg.len(),
                        text(arg),
                        "sent in the clear: anyone on the path can read it (§13)",
                    )
                    .child(),
                );
            } else {
                let mut at = k + 1;
                for (i, arg) in line[k + 1..].split(|&b| b == b' ').enumerate() {
                    let (name, m) = argument(&keyword, i);
                    a.fields.push(Field::new(name, s + at, arg.len(), text(arg), m).child());
                    at += arg.len() + 1;
                }
            }
        }
        crlf(&mut a.fields, c, e);
        if e == c && a.error.is_none() {
            a.error = Some("the command line has no CRLF".into());
        }
    }
    let first = all.first().map(|&(s, c, _)| text(&bytes[s..c])).unwrap_or_else(|| "empty".into());
    a.summary = if all.len() > 1 { format!("{first} (+{} more)", all.len() - 1) } else { first };
    a
}

fn argument(keyword: &str, i: usize) -> (&'static str, &'static str) {
    match (keyword, i) {
        ("USER", _) => ("Name", "the mailbox to open (§7)"),
        ("APOP", 0) => ("Name", "the mailbox to open (§7)"),
        ("APOP", _) => ("Digest", "MD5 of the greeting's timestamp and the shared secret, in hex (§7)"),
        ("TOP", 1) => ("Lines", "how many lines of the body to send (§7)"),
        _ => ("Message Number", "which message, counting from 1 (§5)"),
    }
}

fn meaning(cmd: &wire::Pop3Command) -> String {
    use wire::Pop3Command::*;
    match cmd {
        User(n) => format!("names the mailbox {n} (AUTHORIZATION, §7)"),
        Pass(_) => "the password, in the clear (AUTHORIZATION, §7)".into(),
        Apop { name, .. } => format!("opens {name} without sending the password (§7)"),
        Stat => "how many messages, how many octets (TRANSACTION, §5)".into(),
        List(None) => "the size of every message (§5)".into(),
        List(Some(n)) => format!("the size of message {n} (§5)"),
        Retr(n) => format!("sends message {n} (§5)"),
        Dele(n) => format!("marks message {n} deleted; it goes at QUIT (§5)"),
        Noop => "does nothing; +OK (§5)".into(),
        Rset => "unmarks every message marked deleted (§5)".into(),
        Top { msg, lines } => format!("the header and {lines} body lines of message {msg} (§7)"),
        Uidl(None) => "the unique-id of every message (§7)".into(),
        Uidl(Some(n)) => format!("the unique-id of message {n} (§7)"),
        Quit => "ends the session; in TRANSACTION, deleted messages go now (UPDATE, §6)".into(),
    }
}

/// A response: the status line, and the lines of a multi-line one.
pub fn annotate_response(bytes: &[u8]) -> Annotation {
    let mut a = Annotation { protocol: "POP3".into(), ..Annotation::default() };
    let all = lines(bytes);
    let Some(&(s, c, e)) = all.first() else {
        a.summary = "empty".into();
        return a;
    };
    let line = &bytes[s..c];
    match wire::parse_status(line) {
        Ok(st) => {
            a.summary = st.to_string();
            let ind = if st.ok { 3 } else { 4 };
            let m = if st.ok { "positive: the command worked (§3)" } else { "negative: the command failed (§3)" };
            a.fields.push(Field::new("Status Line", s, e - s, text(line), m));
            a.fields.push(Field::new("Status Indicator", s, ind, text(&line[..ind]), m).child());
            if line.len() > ind + 1 {
                a.fields
                    .push(Field::new("Text", s + ind + 1, line.len() - ind - 1, st.text, "for people (§3)").child());
            }
            crlf(&mut a.fields, c, e);
        }
        Err(err) => {
            a.summary = "malformed status line".into();
            a.fields.push(Field::new("Malformed Status Line", s, e - s, text(line), err.to_string()));
            a.error = Some(err.to_string());
        }
    }
    let rest = &all[1..];
    if rest.is_empty() {
        return a;
    }
    let body: &[(usize, usize, usize)] = match rest.last() {
        Some(&(ts, tc, te)) if &bytes[ts..tc] == b"." => {
            a.fields.push(Field::new(
                "Termination Line",
                ts,
                te - ts,
                ".\\r\\n",
                "a line holding only the termination octet ends the response (§3)",
            ));
            &rest[..rest.len() - 1]
        }
        _ => {
            a.error.get_or_insert("no termination line".into());
            rest
        }
    };
    let listing = !body.is_empty()
        && body.iter().all(|&(s, c, _)| {
            let l = &bytes[s..c];
            let mut parts = l.split(|&b| b == b' ');
            matches!((parts.next(), parts.next(), parts.next()), (Some(n), Some(v), None) if !n.is_empty() && n.iter().all(u8::is_ascii_digit) && !v.is_empty())
        });
    if listing {
        for &(s, c, e) in body {
            let l = &bytes[s..c];
            let sizes = l.iter().skip_while(|b| **b != b' ').skip(1).all(u8::is_ascii_digit);
            let (name, m) = if sizes {
                ("Scan Listing", "message number and size in octets (§5 LIST)")
            } else {
                ("Unique-ID Listing", "message number and its unique-id (§7 UIDL)")
            };
            a.fields.push(Field::new(name, s, e - s, text(l), m));
        }
    } else {
        annotate_message(bytes, body, &mut a);
    }
    a.fields.sort_by_key(|f| (f.start, f.depth));
    a
}

/// A message (RFC 5322 §2.1) carried in a multi-line response.
fn annotate_message(bytes: &[u8], body: &[(usize, usize, usize)], a: &mut Annotation) {
    let header_name = |l: &[u8]| {
        let n = l.iter().position(|&b| b == b':')?;
        (n > 0 && l[..n].iter().all(|&b| (33..=126).contains(&b))).then_some(n)
    };
    let mut in_header = body.first().is_some_and(|&(s, c, _)| header_name(&bytes[s..c]).is_some());
    let mut body_start = None;
    let mut stuffed = 0;
    for &(s, c, e) in body {
        let line = &bytes[s..c];
        if in_header {
            if line.is_empty() {
                a.fields.push(Field::new("Empty Line", s, e - s, "CRLF", "ends the header section (RFC 5322 §2.1)"));
                in_header = false;
                continue;
            }
            if matches!(line.first(), Some(b' ' | b'\t')) {
                if let Some(f) = a.fields.iter_mut().rev().find(|f| f.depth == 0 && f.start < s) {
                    f.len = e - f.start;
                    f.value.push_str(&text(line));
                }
                continue;
            }
            if let Some(n) = header_name(line) {
                let v = text(line[n + 1..].trim_ascii());
                a.fields.push(Field::new(
                    text(&line[..n]),
                    s,
                    e - s,
                    v,
                    "a header field of the message (RFC 5322 §2.2)",
                ));
                continue;
            }
            in_header = false;
        }
        body_start.get_or_insert(s);
        if line.first() == Some(&b'.') && stuffed < 32 {
            stuffed += 1;
            a.fields.push(
                Field::new(
                    "Stuffed Octet",
                    s,
                    1,
                    ".",
                    "added because the line starts with the termination octet; the client removes it (§3)",
                )
                .child(),
            );
        }
    }
    if let (Some(b), Some(&(_, _, end))) = (body_start, body.last()) {
        let preview: String = text(&bytes[b..end]).chars().take(60).collect();
        a.fields.push(Field::new("Body", b, end - b, preview, format!("{} octets of message body", end - b)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_scan_listing() {
        let a = annotate(b"+OK 2 messages (320 octets)\r\n1 120\r\n2 200\r\n.\r\n");
        assert_eq!(a.summary, "+OK 2 messages (320 octets)");
        let names: Vec<&str> = a.fields.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(
            names,
            ["Status Line", "Status Indicator", "Text", "CRLF", "Scan Listing", "Scan Listing", "Termination Line"]
        );
        assert_eq!(a.error, None);
    }

    #[test]
    fn a_message() {
        let a = annotate(b"+OK 30 octets\r\nSubject: hi\r\n\r\n..dot\r\n.\r\n");
        let names: Vec<&str> = a.fields.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "Status Line",
                "Status Indicator",
                "Text",
                "CRLF",
                "Subject",
                "Empty Line",
                "Body",
                "Stuffed Octet",
                "Termination Line"
            ]
        );
    }

    #[test]
    fn commands() {
        let a = annotate(b"APOP mrose c4c9334bac560ecc979e58001b3e22fb\r\n");
        let names: Vec<&str> = a.fields.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, ["Command Line", "Keyword", "Name", "Digest", "CRLF"]);
        assert_eq!(annotate(b"PASS my secret\r\n").fields[2].value, "my secret");
        assert!(annotate(b"FOO\r\n").error.is_some());
    }
}
