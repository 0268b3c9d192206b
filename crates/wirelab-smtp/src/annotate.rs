//! Field-by-field annotation of SMTP bytes for the inspector: command lines (verb,
//! arguments, parameters, CRLF), replies (code, separator, text, CRLF, each line of a
//! multi-line reply) and mail data (the header fields and body of the message, stuffed
//! periods, the end-of-data line).

use crate::wire::{self, SmtpCommand, reply_meaning};
use wirelab_core::{Annotation, Field};

use wirelab_core::lines::spans as lines;

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn preview(b: &[u8]) -> String {
    let t = text(b);
    let short: String = t.chars().take(60).collect();
    if short.len() < t.len() { format!("{short}…") } else { short }
}

fn crlf(fields: &mut Vec<Field>, c: usize, e: usize, what: &str) {
    if e > c {
        fields.push(Field::new("CRLF", c, e - c, "\\r\\n", what.to_string()).child());
    }
}

/// Whether `bytes` start like a reply: three digits, then SP, "-" or CRLF.
fn looks_like_reply(bytes: &[u8]) -> bool {
    bytes.len() >= 3
        && bytes[..3].iter().all(u8::is_ascii_digit)
        && matches!(bytes.get(3), None | Some(b' ' | b'-' | b'\r'))
}

/// Names every part of what an SMTP client or server sends.
pub fn annotate(bytes: &[u8]) -> Annotation {
    if looks_like_reply(bytes) {
        annotate_replies(bytes)
    } else if bytes == b".\r\n" || bytes.ends_with(b"\r\n.\r\n") {
        annotate_data(bytes)
    } else {
        annotate_commands(bytes)
    }
}

/// One or more replies (RFC 5321 §4.2).
pub fn annotate_replies(bytes: &[u8]) -> Annotation {
    let mut a = Annotation { protocol: "SMTP".into(), ..Annotation::default() };
    let mut first = None;
    let mut count = 0;
    for (s, c, e) in lines(bytes) {
        let line = &bytes[s..c];
        match wire::parse_reply_line(line) {
            Ok((code, more, t)) => {
                if first.is_none() {
                    first = Some(format!("{code} {t}"));
                }
                count += 1;
                a.fields.push(Field::new("Reply Line", s, e - s, text(line), reply_meaning(code)));
                a.fields
                    .push(Field::new("Reply Code", s, 3, code.to_string(), reply_meaning(code).to_string()).child());
                if line.len() > 3 {
                    let (value, meaning) = if more {
                        ("-", "a hyphen: more lines of this reply follow (RFC 5321 §4.2.1)")
                    } else {
                        ("SP", "a space: the last line of this reply (RFC 5321 §4.2.1)")
                    };
                    a.fields.push(Field::new("Separator", s + 3, 1, value, meaning).child());
                }
                if line.len() > 4 {
                    a.fields.push(
                        Field::new("Text", s + 4, line.len() - 4, t, "for people; clients act on the code (§4.2)")
                            .child(),
                    );
                }
                crlf(&mut a.fields, c, e, "ends the reply line (RFC 5321 §2.3.8)");
            }
            Err(err) => {
                a.fields.push(Field::new("Malformed Reply Line", s, e - s, text(line), err.to_string()));
                a.error.get_or_insert(err.to_string());
            }
        }
        if e == c && a.error.is_none() {
            a.error = Some("the last line has no CRLF".into());
        }
    }
    let first = first.unwrap_or_else(|| "malformed reply".into());
    a.summary = if count > 1 { format!("{first} (+{} lines)", count - 1) } else { first };
    a
}

/// Command lines (RFC 5321 §4.1.1).
pub fn annotate_commands(bytes: &[u8]) -> Annotation {
    let mut a = Annotation { protocol: "SMTP".into(), ..Annotation::default() };
    let all = lines(bytes);
    for &(s, c, e) in &all {
        let line = &bytes[s..c];
        let parsed = wire::parse_command(line);
        let meaning = match &parsed {
            Ok(cmd) => command_meaning(cmd),
            Err(err) => {
                a.error.get_or_insert(err.to_string());
                "not a command this server reads".to_string()
            }
        };
        a.fields.push(Field::new("Command Line", s, e - s, text(line), meaning));
        let verb_len = line.iter().position(|&b| b == b' ').unwrap_or(line.len());
        a.fields.push(
            Field::new("Verb", s, verb_len, text(&line[..verb_len]), "the command, case-insensitive (RFC 5321 §2.4)")
                .child(),
        );
        if verb_len < line.len() {
            let arg = s + verb_len + 1;
            let args = &line[verb_len + 1..];
            match &parsed {
                Ok(SmtpCommand::Mail { .. } | SmtpCommand::Rcpt { .. }) => annotate_path_args(args, arg, &mut a.fields),
                _ => {
                    a.fields.push(Field::new("Argument", arg, args.len(), text(args), "the command's argument").child())
                }
            }
        }
        crlf(&mut a.fields, c, e, "ends the command line (RFC 5321 §2.3.8)");
        if e == c && a.error.is_none() {
            a.error = Some("the command line has no CRLF".into());
        }
    }
    let first = all.first().map(|&(s, c, _)| text(&bytes[s..c])).unwrap_or_else(|| "empty".into());
    a.summary = if all.len() > 1 { format!("{first} (+{} more)", all.len() - 1) } else { first };
    a
}

fn command_meaning(cmd: &SmtpCommand) -> String {
    match cmd {
        SmtpCommand::Ehlo(d) => {
            format!("extended hello from {d}: asks for the server's extensions (RFC 5321 §4.1.1.1)")
        }
        SmtpCommand::Helo(d) => format!("hello from {d}, without extensions (RFC 5321 §4.1.1.1)"),
        SmtpCommand::Mail { from, .. } => {
            format!("starts a mail transaction; bounces go to {from} (RFC 5321 §4.1.1.2)")
        }
        SmtpCommand::Rcpt { to, .. } => format!("one recipient: {to} (RFC 5321 §4.1.1.3)"),
        SmtpCommand::Data => "the mail data follows the 354 reply (RFC 5321 §4.1.1.4)".into(),
        SmtpCommand::Rset => "aborts the mail transaction (RFC 5321 §4.1.1.5)".into(),
        SmtpCommand::Vrfy(_) => "asks whether a user exists (RFC 5321 §4.1.1.6)".into(),
        SmtpCommand::Expn(_) => "asks for a mailing list's members (RFC 5321 §4.1.1.7)".into(),
        SmtpCommand::Help(_) => "asks for help (RFC 5321 §4.1.1.8)".into(),
        SmtpCommand::Noop(_) => "does nothing; the server answers 250 (RFC 5321 §4.1.1.9)".into(),
        SmtpCommand::Quit => "ends the session: 221, then the server closes (RFC 5321 §4.1.1.10)".into(),
    }
}

/// `FROM:<path> SIZE=… BODY=…` / `TO:<path>`.
fn annotate_path_args(args: &[u8], base: usize, fields: &mut Vec<Field>) {
    let colon = args.iter().position(|&b| b == b':').map_or(0, |i| i + 1);
    let keyword = &args[..colon];
    fields.push(
        Field::new("Keyword", base, colon, text(keyword), "FROM: or TO:, no space after the colon (§4.1.2)").child(),
    );
    let rest = &args[colon..];
    let path_len = rest.iter().position(|&b| b == b' ').unwrap_or(rest.len());
    let (name, meaning) = if keyword.eq_ignore_ascii_case(b"FROM:") {
        ("Reverse-Path", "where delivery failures are reported; <> for none (RFC 5321 §4.1.2)")
    } else {
        ("Forward-Path", "the recipient's mailbox (RFC 5321 §4.1.2)")
    };
    fields.push(Field::new(name, base + colon, path_len, text(&rest[..path_len]), meaning).child());
    let mut at = colon + path_len;
    while at < args.len() {
        let start = at + 1;
        let len = args[start..].iter().position(|&b| b == b' ').unwrap_or(args.len() - start);
        let p = &args[start..start + len];
        let upper = text(p).to_ascii_uppercase();
        let meaning = if upper.starts_with("SIZE=") {
            "the client's estimate of the message size in octets (RFC 1870 §3)"
        } else if upper.starts_with("BODY=") {
            "7BIT or 8BITMIME: whether the content has octets above 127 (RFC 6152 §2)"
        } else {
            "an ESMTP parameter (RFC 5321 §4.1.2)"
        };
        fields.push(Field::new("Parameter", base + start, len, text(p), meaning).child());
        at = start + len;
    }
}

/// Mail data as the client sends it after the 354 (RFC 5321 §4.1.1.4): the message's
/// header fields and body (RFC 5322 §2.1), stuffed periods, and the end line.
pub fn annotate_data(bytes: &[u8]) -> Annotation {
    let mut a = Annotation { protocol: "SMTP".into(), ..Annotation::default() };
    let all = lines(bytes);
    let end_line = all.last().copied().filter(|&(s, c, _)| &bytes[s..c] == b".");
    let content_lines = if end_line.is_some() { &all[..all.len() - 1] } else { &all[..] };
    let mut subject = None;
    let mut in_header = content_lines.first().is_some_and(|&(s, c, _)| header_name_len(&bytes[s..c]).is_some());
    let mut body_start = None;
    let mut stuffed = 0;
    for &(s, c, e) in content_lines {
        let line = &bytes[s..c];
        if in_header {
            if line.is_empty() {
                a.fields.push(Field::new("Empty Line", s, e - s, "CRLF", "ends the header section (RFC 5322 §2.1)"));
                in_header = false;
                continue;
            }
            if matches!(line.first(), Some(b' ' | b'\t')) {
                // A folded continuation of the previous field (RFC 5322 §2.2.3).
                if let Some(f) = a.fields.iter_mut().rev().find(|f| f.depth == 0) {
                    f.len = e - f.start;
                    f.value.push_str(&text(line));
                }
                continue;
            }
            if let Some(n) = header_name_len(line) {
                let name = text(&line[..n]);
                let value = text(line[n + 1..].trim_ascii());
                if name.eq_ignore_ascii_case("subject") {
                    subject = Some(value.clone());
                }
                let meaning = header_meaning(&name);
                a.fields.push(Field::new(name, s, e - s, value, meaning));
                continue;
            }
            in_header = false;
        }
        body_start.get_or_insert(s);
        if line.first() == Some(&b'.') && stuffed < 32 {
            stuffed += 1;
            a.fields.push(
                Field::new(
                    "Stuffed Period",
                    s,
                    1,
                    ".",
                    "added by the client because the line starts with a period; the server removes it (RFC 5321 §4.5.2)",
                )
                .child(),
            );
        }
    }
    let content_end = end_line.map_or(bytes.len(), |(s, _, _)| s);
    if let Some(b) = body_start {
        a.fields.push(Field::new(
            "Body",
            b,
            content_end - b,
            preview(&bytes[b..content_end]),
            format!("{} octets of body, lines ended by CRLF (RFC 5322 §2.3)", content_end - b),
        ));
    }
    if let Some((s, _, e)) = end_line {
        a.fields.push(Field::new(
            "End of Data",
            s,
            e - s,
            ".\\r\\n",
            "a line holding only a period ends the mail data (RFC 5321 §4.1.1.4)",
        ));
    } else {
        a.error = Some("no end-of-data line".into());
    }
    // Children first appear before their parent body field: keep the inspector's order.
    a.fields.sort_by_key(|f| (f.start, f.depth));
    a.summary = match subject {
        Some(s) => format!("mail data, {content_end} octets: {s}"),
        None => format!("mail data, {content_end} octets"),
    };
    a
}

/// The length of a header field's name, if `line` starts with `name:` (RFC 5322 §2.2:
/// printable US-ASCII except colon).
fn header_name_len(line: &[u8]) -> Option<usize> {
    let n = line.iter().position(|&b| b == b':')?;
    (n > 0 && line[..n].iter().all(|&b| (33..=126).contains(&b))).then_some(n)
}

fn header_meaning(name: &str) -> String {
    match name.to_ascii_lowercase().as_str() {
        "received" => "trace: a server that handled the message (RFC 5321 §4.4)".into(),
        "return-path" => "the envelope's reverse-path, added at final delivery (RFC 5321 §4.4)".into(),
        "from" => "the author (RFC 5322 §3.6.2)".into(),
        "to" => "the primary recipients, as the author wrote them (RFC 5322 §3.6.3)".into(),
        "cc" => "other recipients (RFC 5322 §3.6.3)".into(),
        "subject" => "the topic (RFC 5322 §3.6.5)".into(),
        "date" => "when the message was written (RFC 5322 §3.6.1)".into(),
        "message-id" => "a unique identifier for the message (RFC 5322 §3.6.4)".into(),
        "mime-version" | "content-type" | "content-transfer-encoding" => "MIME (RFC 2045)".into(),
        _ => "a header field (RFC 5322 §2.2)".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_multi_line_reply() {
        let a = annotate(b"250-foo.com greets bar.com\r\n250 HELP\r\n");
        assert_eq!(a.summary, "250 foo.com greets bar.com (+1 lines)");
        assert_eq!(a.error, None);
        let names: Vec<&str> = a.fields.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "Reply Line",
                "Reply Code",
                "Separator",
                "Text",
                "CRLF",
                "Reply Line",
                "Reply Code",
                "Separator",
                "Text",
                "CRLF"
            ]
        );
    }

    #[test]
    fn a_mail_command() {
        let a = annotate(b"MAIL FROM:<a@b.c> SIZE=12\r\n");
        assert_eq!(a.summary, "MAIL FROM:<a@b.c> SIZE=12");
        let f: Vec<(&str, &str)> = a.fields.iter().map(|f| (f.name.as_str(), f.value.as_str())).collect();
        assert_eq!(
            f,
            [
                ("Command Line", "MAIL FROM:<a@b.c> SIZE=12"),
                ("Verb", "MAIL"),
                ("Keyword", "FROM:"),
                ("Reverse-Path", "<a@b.c>"),
                ("Parameter", "SIZE=12"),
                ("CRLF", "\\r\\n")
            ]
        );
    }

    #[test]
    fn mail_data_with_headers_and_a_stuffed_line() {
        let a = annotate(b"Subject: hi\r\nFrom: a@b.c\r\n\r\nbody\r\n..dots\r\n.\r\n");
        assert_eq!(a.summary, "mail data, 42 octets: hi");
        let names: Vec<&str> = a.fields.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, ["Subject", "From", "Empty Line", "Body", "Stuffed Period", "End of Data"]);
        assert_eq!(a.error, None);
    }
}
