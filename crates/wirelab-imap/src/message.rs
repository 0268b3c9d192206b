//! Reading a stored message the driver handed over: its RFC 5322 header section, its
//! MIME structure (RFC 2045, RFC 2046), the envelope and body structure FETCH reports
//! (RFC 9051 §7.5.2), the sections `BODY[…]` names (§6.4.5), and the text SEARCH
//! looks into (§6.4.4).
//!
//! The server never keeps these bytes: it reads what it needs for one command and
//! drops them. Nothing here panics on malformed mail; it reads what it can.

use crate::command::{SearchKey, Section, SectionText};
use crate::response::{Address, BodyStructure, Envelope, SingleKind};
use crate::types::days_from_civil;

/// How deep message/rfc822 and multipart parts may nest before we stop looking inside.
const MAX_NESTING: usize = 16;

/// Where the header section ends: the index after its empty line (RFC 5322 §2.1), and
/// where the body starts (the same index). With no empty line, the whole message is
/// header.
pub fn split(bytes: &[u8]) -> (usize, usize) {
    let mut pos = 0;
    while pos < bytes.len() {
        let eol = match bytes[pos..].iter().position(|&b| b == b'\n') {
            Some(i) => pos + i,
            None => return (bytes.len(), bytes.len()),
        };
        let line = &bytes[pos..eol];
        if line.is_empty() || line == b"\r" {
            return (eol + 1, eol + 1);
        }
        pos = eol + 1;
    }
    (bytes.len(), bytes.len())
}

/// One header field: its name, the bytes of all its lines (with CRLFs and folded
/// lines), and its value unfolded and trimmed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Field {
    pub name: String,
    pub start: usize,
    pub end: usize,
    pub value: String,
}

/// The fields of a header section, in order (RFC 5322 §2.2; folded lines, RFC 5322
/// §2.2.3, belong to the field above them).
pub fn fields(header: &[u8]) -> Vec<Field> {
    let mut out: Vec<Field> = Vec::new();
    let mut pos = 0;
    while pos < header.len() {
        let eol = header[pos..].iter().position(|&b| b == b'\n').map_or(header.len(), |i| pos + i + 1);
        let line = &header[pos..eol];
        let text = line.strip_suffix(b"\n").unwrap_or(line);
        let text = text.strip_suffix(b"\r").unwrap_or(text);
        if text.is_empty() {
            break;
        }
        if matches!(text[0], b' ' | b'\t') {
            if let Some(last) = out.last_mut() {
                last.end = eol;
                last.value.push_str(&String::from_utf8_lossy(text));
            }
        } else if let Some(colon) = text.iter().position(|&b| b == b':') {
            out.push(Field {
                name: String::from_utf8_lossy(&text[..colon]).trim().to_string(),
                start: pos,
                end: eol,
                value: String::from_utf8_lossy(&text[colon + 1..]).into_owned(),
            });
        }
        pos = eol;
    }
    for f in &mut out {
        f.value = f.value.trim().to_string();
    }
    out
}

/// The value of the first field named `name` (case-insensitive).
pub fn field<'f>(fields: &'f [Field], name: &str) -> Option<&'f str> {
    fields.iter().find(|f| f.name.eq_ignore_ascii_case(name)).map(|f| f.value.as_str())
}

/// Splits at `sep` where it is not inside a quoted string, angle brackets or a comment.
fn split_top(s: &str, seps: &[char]) -> Vec<(String, Option<char>)> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let (mut quoted, mut escaped, mut angle, mut comment) = (false, false, 0usize, 0usize);
    for ch in s.chars() {
        if escaped {
            escaped = false;
            cur.push(ch);
            continue;
        }
        match ch {
            '\\' if quoted || comment > 0 => escaped = true,
            '"' if comment == 0 => quoted = !quoted,
            '(' if !quoted => comment += 1,
            ')' if !quoted && comment > 0 => comment -= 1,
            '<' if !quoted && comment == 0 => angle += 1,
            '>' if !quoted && comment == 0 && angle > 0 => angle -= 1,
            c if seps.contains(&c) && !quoted && comment == 0 && angle == 0 => {
                out.push((std::mem::take(&mut cur), Some(c)));
                continue;
            }
            _ => {}
        }
        cur.push(ch);
    }
    out.push((cur, None));
    out
}

/// Removes comments `(…)` (RFC 5322 §3.2.2).
fn strip_comments(s: &str) -> String {
    let mut out = String::new();
    let (mut depth, mut quoted, mut escaped) = (0usize, false, false);
    for ch in s.chars() {
        if escaped {
            escaped = false;
            if depth == 0 {
                out.push(ch);
            }
            continue;
        }
        match ch {
            '\\' => {
                escaped = true;
                if depth == 0 {
                    out.push(ch);
                }
            }
            '"' if depth == 0 => {
                quoted = !quoted;
                out.push(ch);
            }
            '(' if !quoted => depth += 1,
            ')' if !quoted && depth > 0 => depth -= 1,
            c if depth == 0 => out.push(c),
            _ => {}
        }
    }
    out
}

/// `"Terry \"T\" Gray"` → `Terry "T" Gray`.
fn unquote(s: &str) -> String {
    let s = s.trim();
    match s.strip_prefix('"').and_then(|s| s.strip_suffix('"')) {
        Some(inner) => {
            let mut out = String::new();
            let mut escaped = false;
            for ch in inner.chars() {
                if escaped || ch != '\\' {
                    out.push(ch);
                    escaped = false;
                } else {
                    escaped = true;
                }
            }
            out
        }
        None => s.split_whitespace().collect::<Vec<_>>().join(" "),
    }
}

fn mailbox(text: &str) -> Option<Address> {
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    let (name, addr) = match (text.rfind('<'), text.rfind('>')) {
        (Some(open), Some(close)) if open < close => {
            let name = unquote(&strip_comments(&text[..open]));
            (Some(name).filter(|n| !n.is_empty()), text[open + 1..close].trim().to_string())
        }
        _ => (None, strip_comments(text).trim().to_string()),
    };
    // An obsolete source route, `@a,@b:user@host` (RFC 5322 §4.4), goes in the adl.
    let (adl, addr) = match addr.strip_prefix('@').and_then(|_| addr.split_once(':')) {
        Some((route, rest)) => (Some(route.to_string()), rest.to_string()),
        None => (None, addr),
    };
    let (mailbox, host) = match addr.rsplit_once('@') {
        Some((m, h)) => (Some(unquote(m)), Some(h.to_string())),
        None => (Some(unquote(&addr)).filter(|m| !m.is_empty()), None),
    };
    Some(Address { name, adl, mailbox, host })
}

/// An address-list header value as envelope addresses (RFC 5322 §3.4; groups as RFC
/// 9051 §7.5.2 spells them: a start marker with the group name, an end marker).
pub fn addresses(value: &str) -> Vec<Address> {
    let mut out = Vec::new();
    for (text, sep) in split_top(value, &[',', ':', ';']) {
        match sep {
            Some(':') => {
                out.push(Address { mailbox: Some(unquote(&text)), ..Address::default() });
            }
            Some(';') => {
                out.extend(mailbox(&text));
                out.push(Address::default());
            }
            _ => out.extend(mailbox(&text)),
        }
    }
    out
}

/// The envelope of a message (RFC 9051 §7.5.2). "If the Sender or Reply-To header
/// lines are absent in the \[RFC5322\] header, or are present but empty, the server sets
/// the corresponding member of the envelope to be the same value as the from member."
pub fn envelope(bytes: &[u8]) -> Envelope {
    let (hdr_end, _) = split(bytes);
    let f = fields(&bytes[..hdr_end]);
    let text = |name: &str| field(&f, name).map(str::to_string);
    let list = |name: &str| field(&f, name).map(addresses).unwrap_or_default();
    let from = list("From");
    let or_from = |v: Vec<Address>| if v.is_empty() { from.clone() } else { v };
    Envelope {
        date: text("Date"),
        subject: text("Subject"),
        sender: or_from(list("Sender")),
        reply_to: or_from(list("Reply-To")),
        from: from.clone(),
        to: list("To"),
        cc: list("Cc"),
        bcc: list("Bcc"),
        in_reply_to: text("In-Reply-To"),
        message_id: text("Message-ID"),
    }
}

/// A Content-Type value: type, subtype (upper-cased) and parameters (names
/// upper-cased, values as written, unquoted).
fn content_type(value: Option<&str>, default: (&str, &str)) -> (String, String, Vec<(String, String)>) {
    let Some(value) = value else {
        let params = if default.0 == "TEXT" { vec![("CHARSET".into(), "US-ASCII".into())] } else { Vec::new() };
        return (default.0.into(), default.1.into(), params);
    };
    let value = strip_comments(value);
    let mut parts = split_top(&value, &[';']).into_iter().map(|(t, _)| t);
    let kind = parts.next().unwrap_or_default();
    let (t, s) = match kind.trim().split_once('/') {
        Some((t, s)) if !t.trim().is_empty() && !s.trim().is_empty() => {
            (t.trim().to_ascii_uppercase(), s.trim().to_ascii_uppercase())
        }
        _ => (default.0.to_string(), default.1.to_string()),
    };
    let params = parts
        .filter_map(|p| {
            let (k, v) = p.split_once('=')?;
            Some((k.trim().to_ascii_uppercase(), unquote(v)))
        })
        .filter(|(k, _)| !k.is_empty())
        .collect();
    (t, s, params)
}

/// A MIME entity: the message itself or one of its parts.
#[derive(Clone, Debug)]
struct Entity<'a> {
    header: &'a [u8],
    body: &'a [u8],
    media_type: String,
    subtype: String,
    params: Vec<(String, String)>,
    fields: Vec<Field>,
}

impl<'a> Entity<'a> {
    /// `default`: the type when there is no Content-Type (RFC 2046 §5.1.5: parts of a
    /// multipart/digest default to message/rfc822).
    fn new(bytes: &'a [u8], default: (&str, &str)) -> Entity<'a> {
        let (hdr_end, body_start) = split(bytes);
        let header = &bytes[..hdr_end];
        let fields = fields(header);
        let (media_type, subtype, params) = content_type(field(&fields, "Content-Type"), default);
        Entity { header, body: &bytes[body_start..], media_type, subtype, params, fields }
    }

    fn is_multipart(&self) -> bool {
        self.media_type == "MULTIPART"
    }

    fn is_message(&self) -> bool {
        self.media_type == "MESSAGE" && (self.subtype == "RFC822" || self.subtype == "GLOBAL")
    }

    fn param(&self, name: &str) -> Option<&str> {
        self.params.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// The parts of a multipart body (RFC 2046 §5.1.1): between delimiter lines
    /// `--boundary`, ending at `--boundary--`; the CRLF before a delimiter belongs to it.
    fn parts(&self) -> Vec<Entity<'a>> {
        let Some(boundary) = self.param("BOUNDARY").filter(|b| !b.is_empty()) else { return Vec::new() };
        let delim = format!("--{boundary}");
        let default = if self.subtype == "DIGEST" { ("MESSAGE", "RFC822") } else { ("TEXT", "PLAIN") };
        let body = self.body;
        let mut marks: Vec<(usize, usize, bool)> = Vec::new(); // (line start, after line, closing)
        let mut pos = 0;
        while pos < body.len() {
            let eol = body[pos..].iter().position(|&b| b == b'\n').map_or(body.len(), |i| pos + i + 1);
            let line = &body[pos..eol];
            if let Some(rest) = line.strip_prefix(delim.as_bytes()) {
                let closing = rest.starts_with(b"--");
                let rest = if closing { &rest[2..] } else { rest };
                if rest.iter().all(|b| b.is_ascii_whitespace()) {
                    marks.push((pos, eol, closing));
                    if closing {
                        break;
                    }
                }
            }
            pos = eol;
        }
        let mut out = Vec::new();
        for w in marks.windows(2) {
            let (start, end) = (w[0].1, w[1].0);
            if w[0].2 || start > end {
                continue;
            }
            let mut end = end;
            if end > start && body[end - 1] == b'\n' {
                end -= 1;
                if end > start && body[end - 1] == b'\r' {
                    end -= 1;
                }
            }
            out.push(Entity::new(&body[start..end], default));
        }
        out
    }

    /// The encapsulated message of a message/rfc822 part.
    fn inner_message(&self) -> Entity<'a> {
        Entity::new(self.body, ("TEXT", "PLAIN"))
    }

    /// Part `n` (from 1) of this entity (RFC 9051 §6.4.5): the nth part of a multipart;
    /// inside a message/rfc822 part, the parts of the message it holds; part 1 of a
    /// single-part message is its body.
    fn child(&self, n: u32) -> Option<Entity<'a>> {
        if self.is_multipart() {
            return self.parts().into_iter().nth(n.checked_sub(1)? as usize);
        }
        if self.is_message() {
            let inner = self.inner_message();
            return if inner.is_multipart() { inner.child(n) } else { (n == 1).then_some(inner) };
        }
        (n == 1).then(|| self.clone())
    }

    fn structure(&self, depth: usize) -> BodyStructure {
        if self.is_multipart() && depth < MAX_NESTING {
            let parts: Vec<BodyStructure> = self.parts().iter().map(|p| p.structure(depth + 1)).collect();
            if !parts.is_empty() {
                return BodyStructure::Multi { parts, subtype: self.subtype.clone(), ext: Vec::new() };
            }
        }
        let lines = count_lines(self.body);
        let kind = if self.media_type == "TEXT" {
            SingleKind::Text { lines }
        } else if self.is_message() && depth < MAX_NESTING {
            let inner = self.inner_message();
            SingleKind::Message {
                envelope: Box::new(envelope(self.body)),
                body: Box::new(inner.structure(depth + 1)),
                lines,
            }
        } else {
            SingleKind::Basic
        };
        let (media_type, subtype) = if self.is_multipart() || (self.is_message() && depth >= MAX_NESTING) {
            // A multipart without parts we can find, or nested too deep: shown as opaque data.
            ("APPLICATION".to_string(), "OCTET-STREAM".to_string())
        } else {
            (self.media_type.clone(), self.subtype.clone())
        };
        let kind =
            if media_type == "APPLICATION" && self.media_type != "APPLICATION" { SingleKind::Basic } else { kind };
        BodyStructure::Single {
            media_type,
            subtype,
            params: self.params.clone(),
            id: field(&self.fields, "Content-ID").map(str::to_string),
            description: field(&self.fields, "Content-Description").map(str::to_string),
            encoding: field(&self.fields, "Content-Transfer-Encoding")
                .map(|e| e.trim().to_ascii_uppercase())
                .unwrap_or_else(|| "7BIT".into()),
            size: u32::try_from(self.body.len()).unwrap_or(u32::MAX),
            kind,
            ext: Vec::new(),
        }
    }
}

/// Lines in a body: its line ends, plus one for a last line without one.
fn count_lines(body: &[u8]) -> u32 {
    let n = body.iter().filter(|&&b| b == b'\n').count() + usize::from(body.last().is_some_and(|&b| b != b'\n'));
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// The body structure of a message (BODY and BODYSTRUCTURE, RFC 9051 §7.5.2), without
/// extension data.
pub fn body_structure(bytes: &[u8]) -> BodyStructure {
    Entity::new(bytes, ("TEXT", "PLAIN")).structure(0)
}

/// The lines of fields named (or, with `not`, not named) in `names`, then the empty
/// line: what `HEADER.FIELDS` and `HEADER.FIELDS.NOT` return (RFC 9051 §6.4.5).
fn header_fields(header: &[u8], names: &[String], not: bool) -> Vec<u8> {
    let mut out = Vec::new();
    for f in fields(header) {
        let named = names.iter().any(|n| n.eq_ignore_ascii_case(&f.name));
        if named != not {
            out.extend_from_slice(&header[f.start..f.end]);
        }
    }
    out.extend_from_slice(b"\r\n");
    out
}

/// The text of a section (RFC 9051 §6.4.5), or `None` if the message has no such part.
pub fn section(bytes: &[u8], section: &Section) -> Option<Vec<u8>> {
    let top = Entity::new(bytes, ("TEXT", "PLAIN"));
    let mut entity = top.clone();
    for (depth, &n) in section.part.iter().enumerate() {
        if depth >= MAX_NESTING {
            return None;
        }
        entity = entity.child(n)?;
    }
    // HEADER, TEXT and HEADER.FIELDS after part numbers apply to the message a
    // message/rfc822 part holds.
    let message = if section.part.is_empty() {
        Some(top)
    } else if entity.is_message() {
        Some(entity.inner_message())
    } else {
        None
    };
    Some(match &section.text {
        None if section.part.is_empty() => bytes.to_vec(),
        None => entity.body.to_vec(),
        Some(SectionText::Mime) => entity.header.to_vec(),
        Some(SectionText::Header) => message?.header.to_vec(),
        Some(SectionText::Text) => message?.body.to_vec(),
        Some(SectionText::HeaderFields(names)) => header_fields(message?.header, names, false),
        Some(SectionText::HeaderFieldsNot(names)) => header_fields(message?.header, names, true),
    })
}

/// The day (days since 1970-01-01) of the Date: header, time and zone disregarded
/// (RFC 9051 §6.4.4 SENTBEFORE): `Wed, 17 Jul 1996 02:23:25 -0700` → 17 Jul 1996.
pub fn sent_day(bytes: &[u8]) -> Option<i64> {
    let (hdr_end, _) = split(bytes);
    let f = fields(&bytes[..hdr_end]);
    let date = strip_comments(field(&f, "Date")?);
    let date = date.split_once(',').map_or(date.as_str(), |(_, rest)| rest);
    let mut words = date.split_whitespace();
    let d: u32 = words.next()?.parse().ok()?;
    let m = words.next()?;
    let y: i64 = words.next()?.parse().ok()?;
    let month = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
        .iter()
        .position(|x| m.eq_ignore_ascii_case(x))?;
    // RFC 5322 §4.3: two-digit years.
    let y = match y {
        0..=49 => y + 2000,
        50..=999 => y + 1900,
        y => y,
    };
    ((1..=31).contains(&d)).then(|| days_from_civil(y, month as u32 + 1, d))
}

fn contains_ci(hay: &[u8], needle: &str) -> bool {
    let needle = needle.as_bytes();
    needle.is_empty() || hay.windows(needle.len()).any(|w| w.eq_ignore_ascii_case(needle))
}

/// Whether a search key that looks into the message (header fields, body, text,
/// Date:) matches it. Matching is a case-insensitive substring search (RFC 9051
/// §6.4.4), ASCII case only. Keys about flags, size or numbers are the server's.
pub fn matches_content(bytes: &[u8], key: &SearchKey) -> bool {
    let (hdr_end, body_start) = split(bytes);
    let header = &bytes[..hdr_end];
    let f = || fields(header);
    let field_has = |name: &str, s: &str| {
        f().iter().any(|x| x.name.eq_ignore_ascii_case(name) && contains_ci(x.value.as_bytes(), s))
    };
    match key {
        SearchKey::From(s) => field_has("From", s),
        SearchKey::To(s) => field_has("To", s),
        SearchKey::Cc(s) => field_has("Cc", s),
        SearchKey::Bcc(s) => field_has("Bcc", s),
        SearchKey::Subject(s) => field_has("Subject", s),
        SearchKey::Header(name, s) => field_has(name, s),
        SearchKey::Body(s) => contains_ci(&bytes[body_start..], s),
        SearchKey::Text(s) => contains_ci(bytes, s),
        SearchKey::SentBefore(d) => sent_day(bytes).is_some_and(|s| s < *d),
        SearchKey::SentOn(d) => sent_day(bytes).is_some_and(|s| s == *d),
        SearchKey::SentSince(d) => sent_day(bytes).is_some_and(|s| s >= *d),
        _ => false,
    }
}

/// Whether evaluating `key` needs the message's bytes.
pub fn needs_content(key: &SearchKey) -> bool {
    match key {
        SearchKey::From(_)
        | SearchKey::To(_)
        | SearchKey::Cc(_)
        | SearchKey::Bcc(_)
        | SearchKey::Subject(_)
        | SearchKey::Header(..)
        | SearchKey::Body(_)
        | SearchKey::Text(_)
        | SearchKey::SentBefore(_)
        | SearchKey::SentOn(_)
        | SearchKey::SentSince(_) => true,
        SearchKey::Not(k) => needs_content(k),
        SearchKey::Or(a, b) => needs_content(a) || needs_content(b),
        SearchKey::And(keys) => keys.iter().any(needs_content),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str = "Date: Wed, 17 Jul 1996 02:23:25 -0700 (PDT)\r\n\
From: Terry Gray <gray@cac.washington.edu>\r\n\
Subject: IMAP4rev2 WG mtg summary and minutes\r\n\
To: imap@cac.washington.edu\r\n\
cc: minutes@CNRI.Reston.VA.US, John Klensin <KLENSIN@MIT.EDU>\r\n\
Message-Id: <B27397-0100000@cac.washington.edu>\r\n\
MIME-Version: 1.0\r\n\
Content-Type: TEXT/PLAIN; CHARSET=US-ASCII\r\n\
\r\n";

    #[test]
    fn the_rfc_envelope() {
        assert_eq!(HEADER.len(), 342);
        let msg = format!("{HEADER}Hello\r\n");
        let mut out = Vec::new();
        envelope(msg.as_bytes()).emit(&mut out);
        assert_eq!(
            String::from_utf8_lossy(&out),
            "(\"Wed, 17 Jul 1996 02:23:25 -0700 (PDT)\" \"IMAP4rev2 WG mtg summary and minutes\" \
((\"Terry Gray\" NIL \"gray\" \"cac.washington.edu\")) ((\"Terry Gray\" NIL \"gray\" \"cac.washington.edu\")) \
((\"Terry Gray\" NIL \"gray\" \"cac.washington.edu\")) ((NIL NIL \"imap\" \"cac.washington.edu\")) \
((NIL NIL \"minutes\" \"CNRI.Reston.VA.US\")(\"John Klensin\" NIL \"KLENSIN\" \"MIT.EDU\")) NIL NIL \
\"<B27397-0100000@cac.washington.edu>\")"
        );
        let mut out = Vec::new();
        body_structure(msg.as_bytes()).emit(&mut out);
        assert_eq!(
            String::from_utf8_lossy(&out),
            "(\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7BIT\" 7 1)"
        );
        assert_eq!(sent_day(msg.as_bytes()), Some(days_from_civil(1996, 7, 17)));
    }

    #[test]
    fn groups_and_odd_addresses() {
        let a = addresses("Team: a@x.example, \"B, Jr.\" <b@y.example>;, c@z (comment)");
        let emails: Vec<String> = a.iter().map(Address::email).collect();
        assert_eq!(emails, vec!["Team", "a@x.example", "b@y.example", "", "c@z"]);
        assert_eq!(a[2].name.as_deref(), Some("B, Jr."));
        assert_eq!(a[3], Address::default());
        assert!(addresses("").is_empty());
    }

    #[test]
    fn multipart_sections_and_structure() {
        let msg = b"From: a@b\r\nContent-Type: multipart/mixed; boundary=\"XX\"\r\n\r\npreamble\r\n--XX\r\n\
Content-Type: text/plain\r\n\r\nhello\r\n--XX\r\nContent-Type: message/rfc822\r\n\r\nSubject: inner\r\n\r\nbody\r\n\
--XX--\r\nepilogue\r\n";
        let s = |spec: &str| {
            let mut c = crate::syntax::Cursor::new(spec.as_bytes());
            let sec = crate::command::section(&mut c).expect("a section");
            section(msg, &sec).map(|b| String::from_utf8_lossy(&b).into_owned())
        };
        assert_eq!(s("[1]").as_deref(), Some("hello"));
        assert_eq!(s("[1.MIME]").as_deref(), Some("Content-Type: text/plain\r\n\r\n"));
        assert_eq!(s("[2.HEADER]").as_deref(), Some("Subject: inner\r\n\r\n"));
        assert_eq!(s("[2.TEXT]").as_deref(), Some("body"));
        assert_eq!(s("[2.1]").as_deref(), Some("body"));
        assert_eq!(s("[3]"), None);
        assert_eq!(s("[HEADER.FIELDS (FROM)]").as_deref(), Some("From: a@b\r\n\r\n"));
        let mut out = Vec::new();
        body_structure(msg).emit(&mut out);
        assert_eq!(
            String::from_utf8_lossy(&out),
            "((\"TEXT\" \"PLAIN\" NIL NIL NIL \"7BIT\" 5 1)(\"MESSAGE\" \"RFC822\" NIL NIL NIL \"7BIT\" 22 \
(NIL \"inner\" NIL NIL NIL NIL NIL NIL NIL NIL) (\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7BIT\" 4 1) 3) \
\"MIXED\")"
        );
        // Malformed mail never panics.
        for cut in 0..msg.len() {
            let _ = body_structure(&msg[..cut]);
            let _ = envelope(&msg[..cut]);
        }
    }
}
