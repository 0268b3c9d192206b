//! Server responses on the wire (RFC 9051 §7, grammar in §9): status responses (tagged
//! or not), server and mailbox data, message data (FETCH, with ENVELOPE and
//! BODYSTRUCTURE), and the continuation request `+`.
//!
//! ```text
//! response       = *(continue-req / response-data) response-done
//! continue-req   = "+" SP (resp-text / base64) CRLF
//! response-data  = "*" SP (resp-cond-state / resp-cond-bye / mailbox-data /
//!                  message-data / capability-data / enable-data) CRLF
//! response-tagged = tag SP resp-cond-state CRLF
//! message-data   = nz-number SP ("EXPUNGE" / ("FETCH" SP msg-att))
//! ```
//!
//! Literals inside a response follow their header at once: the server never waits for
//! the client (RFC 9051 §4.3).

use crate::command::{Section, section};
use crate::syntax::{
    Cursor, LiteralMode, ParseError, Value, emit_astring, emit_literal, emit_nstring, emit_quoted, emit_string, frames,
};
use crate::types::{Code, Flag, Flags, InternalDate, SeqSet, Status};
use std::fmt;

/// A status with its optional response code and human-readable text (`resp-text`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatusText {
    pub status: Status,
    pub code: Option<Code>,
    pub text: String,
}

impl StatusText {
    pub fn new(status: Status, code: Option<Code>, text: impl Into<String>) -> StatusText {
        StatusText { status, code, text: text.into() }
    }

    fn emit(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self.status.to_string().as_bytes());
        out.push(b' ');
        if let Some(code) = &self.code {
            out.extend_from_slice(format!("[{code}] ").as_bytes());
        }
        out.extend_from_slice(self.text.as_bytes());
    }
}

/// One response.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Response {
    /// The end of a command: `A001 OK LOGIN completed` (RFC 9051 §7.1).
    Tagged { tag: String, status: StatusText },
    /// Data or status not tied to a tag: `* 172 EXISTS`.
    Untagged(Untagged),
    /// `+ idling`: the server is ready for more of the command (RFC 9051 §7.5).
    Continue(String),
}

/// The untagged responses (RFC 9051 §7.1–§7.5).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Untagged {
    /// `* OK`, `* NO`, `* BAD`, `* PREAUTH`, `* BYE` (§7.1).
    Status(StatusText),
    /// §7.2.2
    Capability(Vec<String>),
    /// §7.2.1 (RFC 5161)
    Enabled(Vec<String>),
    /// §7.3.5: the flags the mailbox knows.
    Flags(Vec<Flag>),
    /// §7.3.1: `* LIST () "/" INBOX`.
    List { attributes: Vec<String>, delimiter: Option<char>, mailbox: String },
    /// §7.4.1: the mailbox holds this many messages.
    Exists(u32),
    /// RFC 3501 §7.3.2 (IMAP4rev1 only): this many messages are `\Recent`.
    Recent(u32),
    /// §7.5.1: this message sequence number was removed; later ones moved down by one.
    Expunge(u32),
    /// RFC 3501 §7.2.5 (IMAP4rev1): `* SEARCH 2 84 882`.
    Search(Vec<u32>),
    /// §7.3.4 (RFC 4731): `* ESEARCH (TAG "A282") UID ALL 4:6`.
    ESearch { tag: Option<String>, uid: bool, data: Vec<ESearchData> },
    /// §7.5.2: data about one message.
    Fetch { seq: u32, attrs: Vec<MsgAtt> },
    /// §7.3.3 (RFC 2342): `* NAMESPACE (("" "/")) NIL NIL`, kept as values.
    Namespace(Vec<Value>),
    /// Anything else, as the text after `* `.
    Other(String),
}

/// One result of ESEARCH (RFC 9051 §7.3.4).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ESearchData {
    Min(u32),
    Max(u32),
    All(SeqSet),
    Count(u32),
}

/// One data item of a FETCH response (`msg-att`, RFC 9051 §7.5.2).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MsgAtt {
    Flags(Flags),
    Uid(u32),
    Rfc822Size(u64),
    InternalDate(InternalDate),
    Envelope(Box<Envelope>),
    /// `BODY`: the structure without extension data.
    Body(Box<BodyStructure>),
    BodyStructure(Box<BodyStructure>),
    /// `BODY[section]<origin> nstring`.
    Section {
        section: Section,
        origin: Option<u32>,
        data: Option<Vec<u8>>,
    },
    /// IMAP4rev1 `RFC822 nstring`.
    Rfc822(Option<Vec<u8>>),
    Rfc822Header(Option<Vec<u8>>),
    Rfc822Text(Option<Vec<u8>>),
    /// An item this crate does not know (`MODSEQ (12)`): its name and value.
    Other(String, Value),
}

impl MsgAtt {
    /// The item's name as sent: `FLAGS`, `BODY[HEADER]`.
    pub fn name(&self) -> String {
        match self {
            MsgAtt::Flags(_) => "FLAGS".into(),
            MsgAtt::Uid(_) => "UID".into(),
            MsgAtt::Rfc822Size(_) => "RFC822.SIZE".into(),
            MsgAtt::InternalDate(_) => "INTERNALDATE".into(),
            MsgAtt::Envelope(_) => "ENVELOPE".into(),
            MsgAtt::Body(_) => "BODY".into(),
            MsgAtt::BodyStructure(_) => "BODYSTRUCTURE".into(),
            MsgAtt::Section { section, origin, .. } => match origin {
                Some(o) => format!("BODY[{section}]<{o}>"),
                None => format!("BODY[{section}]"),
            },
            MsgAtt::Rfc822(_) => "RFC822".into(),
            MsgAtt::Rfc822Header(_) => "RFC822.HEADER".into(),
            MsgAtt::Rfc822Text(_) => "RFC822.TEXT".into(),
            MsgAtt::Other(name, _) => name.clone(),
        }
    }

    fn emit(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self.name().as_bytes());
        out.push(b' ');
        let literal = |out: &mut Vec<u8>, data: &Option<Vec<u8>>| match data {
            None => out.extend_from_slice(b"NIL"),
            Some(d) => emit_literal(out, d, LiteralMode::Server, &mut Vec::new()),
        };
        match self {
            MsgAtt::Flags(f) => out.extend_from_slice(f.to_string().as_bytes()),
            MsgAtt::Uid(n) => out.extend_from_slice(n.to_string().as_bytes()),
            MsgAtt::Rfc822Size(n) => out.extend_from_slice(n.to_string().as_bytes()),
            MsgAtt::InternalDate(d) => emit_quoted(out, d.to_string().as_bytes()),
            MsgAtt::Envelope(e) => e.emit(out),
            MsgAtt::Body(b) | MsgAtt::BodyStructure(b) => b.emit(out),
            MsgAtt::Section { data, .. }
            | MsgAtt::Rfc822(data)
            | MsgAtt::Rfc822Header(data)
            | MsgAtt::Rfc822Text(data) => literal(out, data),
            MsgAtt::Other(_, v) => v.emit(out),
        }
    }
}

/// The envelope of a message (RFC 9051 §7.5.2): its RFC 5322 header fields, parsed.
/// Address lists are empty when the header has none (sent as NIL).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Envelope {
    pub date: Option<String>,
    pub subject: Option<String>,
    pub from: Vec<Address>,
    pub sender: Vec<Address>,
    pub reply_to: Vec<Address>,
    pub to: Vec<Address>,
    pub cc: Vec<Address>,
    pub bcc: Vec<Address>,
    pub in_reply_to: Option<String>,
    pub message_id: Option<String>,
}

/// An address (RFC 9051 §7.5.2): `("Terry Gray" NIL "gray" "cac.washington.edu")`.
/// A group starts with `(NIL NIL "group name" NIL)` and ends with `(NIL NIL NIL NIL)`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Address {
    pub name: Option<String>,
    /// The source route (obsolete; always NIL from us).
    pub adl: Option<String>,
    pub mailbox: Option<String>,
    pub host: Option<String>,
}

impl Address {
    /// `gray@cac.washington.edu`, or the group name.
    pub fn email(&self) -> String {
        match (&self.mailbox, &self.host) {
            (Some(m), Some(h)) => format!("{m}@{h}"),
            (Some(m), None) => m.clone(),
            _ => String::new(),
        }
    }
}

fn emit_ntext(out: &mut Vec<u8>, s: &Option<String>) {
    emit_nstring(out, s.as_deref().map(str::as_bytes));
}

fn emit_addresses(out: &mut Vec<u8>, list: &[Address]) {
    if list.is_empty() {
        out.extend_from_slice(b"NIL");
        return;
    }
    out.push(b'(');
    for a in list {
        out.push(b'(');
        emit_ntext(out, &a.name);
        out.push(b' ');
        emit_ntext(out, &a.adl);
        out.push(b' ');
        emit_ntext(out, &a.mailbox);
        out.push(b' ');
        emit_ntext(out, &a.host);
        out.push(b')');
    }
    out.push(b')');
}

impl Envelope {
    pub fn emit(&self, out: &mut Vec<u8>) {
        out.push(b'(');
        emit_ntext(out, &self.date);
        out.push(b' ');
        emit_ntext(out, &self.subject);
        for list in [&self.from, &self.sender, &self.reply_to, &self.to, &self.cc, &self.bcc] {
            out.push(b' ');
            emit_addresses(out, list);
        }
        out.push(b' ');
        emit_ntext(out, &self.in_reply_to);
        out.push(b' ');
        emit_ntext(out, &self.message_id);
        out.push(b')');
    }

    pub fn parse(c: &mut Cursor<'_>) -> Result<Envelope, ParseError> {
        c.expect(b'(', "( to open an envelope")?;
        let date = c.nstring_text()?;
        c.sp()?;
        let subject = c.nstring_text()?;
        let mut lists: Vec<Vec<Address>> = Vec::new();
        for _ in 0..6 {
            c.sp()?;
            lists.push(addresses(c)?);
        }
        c.sp()?;
        let in_reply_to = c.nstring_text()?;
        c.sp()?;
        let message_id = c.nstring_text()?;
        c.expect(b')', ") to close the envelope")?;
        let mut l = lists.into_iter();
        let mut next = || l.next().unwrap_or_default();
        Ok(Envelope {
            date,
            subject,
            from: next(),
            sender: next(),
            reply_to: next(),
            to: next(),
            cc: next(),
            bcc: next(),
            in_reply_to,
            message_id,
        })
    }
}

fn addresses(c: &mut Cursor<'_>) -> Result<Vec<Address>, ParseError> {
    if c.keyword("NIL") {
        return Ok(Vec::new());
    }
    c.expect(b'(', "( to open an address list")?;
    let mut out = Vec::new();
    loop {
        // Some servers put a space between addresses; the grammar has none.
        c.eat(b' ');
        if c.eat(b')') {
            break;
        }
        c.expect(b'(', "( to open an address")?;
        let name = c.nstring_text()?;
        c.sp()?;
        let adl = c.nstring_text()?;
        c.sp()?;
        let mailbox = c.nstring_text()?;
        c.sp()?;
        let host = c.nstring_text()?;
        c.expect(b')', ") to close an address")?;
        out.push(Address { name, adl, mailbox, host });
    }
    if out.is_empty() {
        return Err(c.err("at least one address"));
    }
    Ok(out)
}

/// The MIME structure of a message (RFC 9051 §7.5.2, BODY and BODYSTRUCTURE).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BodyStructure {
    /// A part that is not multipart: `("TEXT" "PLAIN" ("CHARSET" "US-ASCII") NIL NIL
    /// "7BIT" 3028 92)`.
    Single {
        media_type: String,
        subtype: String,
        params: Vec<(String, String)>,
        id: Option<String>,
        description: Option<String>,
        encoding: String,
        size: u32,
        kind: SingleKind,
        /// Extension data (BODYSTRUCTURE only), kept as read.
        ext: Vec<Value>,
    },
    /// `((…)(…) "MIXED")`.
    Multi { parts: Vec<BodyStructure>, subtype: String, ext: Vec<Value> },
}

/// What follows the basic fields of a single part.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SingleKind {
    Basic,
    /// TEXT/*: and the body's size in lines.
    Text {
        lines: u32,
    },
    /// MESSAGE/RFC822: the enclosed message's envelope, structure and size in lines.
    Message {
        envelope: Box<Envelope>,
        body: Box<BodyStructure>,
        lines: u32,
    },
}

impl BodyStructure {
    pub fn emit(&self, out: &mut Vec<u8>) {
        out.push(b'(');
        match self {
            BodyStructure::Single { media_type, subtype, params, id, description, encoding, size, kind, ext } => {
                emit_string(out, media_type.as_bytes());
                out.push(b' ');
                emit_string(out, subtype.as_bytes());
                out.push(b' ');
                if params.is_empty() {
                    out.extend_from_slice(b"NIL");
                } else {
                    out.push(b'(');
                    for (i, (k, v)) in params.iter().enumerate() {
                        if i > 0 {
                            out.push(b' ');
                        }
                        emit_string(out, k.as_bytes());
                        out.push(b' ');
                        emit_string(out, v.as_bytes());
                    }
                    out.push(b')');
                }
                out.push(b' ');
                emit_ntext(out, id);
                out.push(b' ');
                emit_ntext(out, description);
                out.push(b' ');
                emit_string(out, encoding.as_bytes());
                out.extend_from_slice(format!(" {size}").as_bytes());
                match kind {
                    SingleKind::Basic => {}
                    SingleKind::Text { lines } => out.extend_from_slice(format!(" {lines}").as_bytes()),
                    SingleKind::Message { envelope, body, lines } => {
                        out.push(b' ');
                        envelope.emit(out);
                        out.push(b' ');
                        body.emit(out);
                        out.extend_from_slice(format!(" {lines}").as_bytes());
                    }
                }
                for v in ext {
                    out.push(b' ');
                    v.emit(out);
                }
            }
            BodyStructure::Multi { parts, subtype, ext } => {
                for p in parts {
                    p.emit(out);
                }
                out.push(b' ');
                emit_string(out, subtype.as_bytes());
                for v in ext {
                    out.push(b' ');
                    v.emit(out);
                }
            }
        }
        out.push(b')');
    }

    pub fn parse(c: &mut Cursor<'_>) -> Result<BodyStructure, ParseError> {
        c.enter()?;
        let r = Self::parse_inner(c);
        c.leave();
        r
    }

    fn parse_inner(c: &mut Cursor<'_>) -> Result<BodyStructure, ParseError> {
        c.expect(b'(', "( to open a body structure")?;
        let text = |c: &mut Cursor<'_>| c.string().map(|b| String::from_utf8_lossy(&b).into_owned());
        if c.peek() == Some(b'(') {
            let mut parts = Vec::new();
            while c.peek() == Some(b'(') {
                parts.push(BodyStructure::parse(c)?);
            }
            c.sp()?;
            let subtype = text(c)?;
            let ext = extension(c)?;
            return Ok(BodyStructure::Multi { parts, subtype, ext });
        }
        let media_type = text(c)?;
        c.sp()?;
        let subtype = text(c)?;
        c.sp()?;
        let mut params = Vec::new();
        if !c.keyword("NIL") {
            c.expect(b'(', "( to open the parameters")?;
            loop {
                let k = text(c)?;
                c.sp()?;
                params.push((k, text(c)?));
                if c.eat(b')') {
                    break;
                }
                c.sp()?;
            }
        }
        c.sp()?;
        let id = c.nstring_text()?;
        c.sp()?;
        let description = c.nstring_text()?;
        c.sp()?;
        let encoding = text(c)?;
        c.sp()?;
        let size = c.number()?;
        let kind = if media_type.eq_ignore_ascii_case("TEXT") {
            c.sp()?;
            SingleKind::Text { lines: c.number()? }
        } else if media_type.eq_ignore_ascii_case("MESSAGE")
            && (subtype.eq_ignore_ascii_case("RFC822") || subtype.eq_ignore_ascii_case("GLOBAL"))
        {
            c.sp()?;
            let envelope = Box::new(Envelope::parse(c)?);
            c.sp()?;
            let body = Box::new(BodyStructure::parse(c)?);
            c.sp()?;
            SingleKind::Message { envelope, body, lines: c.number()? }
        } else {
            SingleKind::Basic
        };
        let ext = extension(c)?;
        Ok(BodyStructure::Single { media_type, subtype, params, id, description, encoding, size, kind, ext })
    }
}

/// Extension data up to the closing parenthesis.
fn extension(c: &mut Cursor<'_>) -> Result<Vec<Value>, ParseError> {
    let mut ext = Vec::new();
    while c.eat(b' ') {
        ext.push(c.value()?);
    }
    c.expect(b')', ") to close a body structure")?;
    Ok(ext)
}

impl Response {
    /// `tag OK text`.
    pub fn tagged(tag: &str, status: Status, code: Option<Code>, text: impl Into<String>) -> Response {
        Response::Tagged { tag: tag.to_string(), status: StatusText::new(status, code, text) }
    }

    /// `* OK [code] text`.
    pub fn untagged_status(status: Status, code: Option<Code>, text: impl Into<String>) -> Response {
        Response::Untagged(Untagged::Status(StatusText::new(status, code, text)))
    }

    pub fn emit(&self, out: &mut Vec<u8>) {
        match self {
            Response::Tagged { tag, status } => {
                out.extend_from_slice(tag.as_bytes());
                out.push(b' ');
                status.emit(out);
            }
            Response::Continue(text) => {
                out.extend_from_slice(b"+ ");
                out.extend_from_slice(text.as_bytes());
            }
            Response::Untagged(u) => {
                out.extend_from_slice(b"* ");
                u.emit(out);
            }
        }
        out.extend_from_slice(b"\r\n");
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.emit(&mut out);
        out
    }

    /// Parses one whole frame (lines and literals, with its final CRLF or LF).
    pub fn parse(frame: &[u8]) -> Result<Response, ParseError> {
        let mut c = Cursor::new(frame);
        let r = if c.eat(b'+') {
            let text = if c.eat(b' ') { c.text_to_eol() } else { String::new() };
            Response::Continue(text)
        } else if c.eat(b'*') {
            c.sp()?;
            Response::Untagged(untagged(&mut c)?)
        } else {
            let tag = c.tag()?.to_string();
            c.sp()?;
            let at = c.pos();
            let status = match Status::parse(&c.word()?) {
                Some(s @ (Status::Ok | Status::No | Status::Bad)) => s,
                _ => return Err(ParseError { at, expected: "OK, NO or BAD after a tag" }),
            };
            Response::Tagged { tag, status: resp_text(&mut c, status)? }
        };
        c.crlf()?;
        c.end()?;
        Ok(r)
    }

    /// Reads the first response in `bytes`: `Ok(None)` until it is complete, else how
    /// many bytes it took.
    pub fn read(bytes: &[u8]) -> Result<Option<(usize, Response)>, ParseError> {
        match frames(bytes).0.first() {
            None => Ok(None),
            Some(&(_, end)) => Response::parse(&bytes[..end]).map(|r| Some((end, r))),
        }
    }
}

impl fmt::Display for Response {
    /// The response as sent, without its CRLF; literals shown as `{n}` and a note.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let bytes = self.to_bytes();
        let text = String::from_utf8_lossy(bytes.strip_suffix(b"\r\n").unwrap_or(&bytes)).into_owned();
        f.write_str(&text)
    }
}

impl Untagged {
    fn emit(&self, out: &mut Vec<u8>) {
        let mut words = |name: &str, list: &[String]| {
            out.extend_from_slice(name.as_bytes());
            for w in list {
                out.push(b' ');
                out.extend_from_slice(w.as_bytes());
            }
        };
        match self {
            Untagged::Status(s) => s.emit(out),
            Untagged::Capability(caps) => words("CAPABILITY", caps),
            Untagged::Enabled(caps) => words("ENABLED", caps),
            Untagged::Flags(flags) => {
                out.extend_from_slice(format!("FLAGS {}", flags.iter().cloned().collect::<Flags>()).as_bytes())
            }
            Untagged::List { attributes, delimiter, mailbox } => {
                out.extend_from_slice(format!("LIST ({}) ", attributes.join(" ")).as_bytes());
                match delimiter {
                    Some(d) => emit_quoted(out, d.to_string().as_bytes()),
                    None => out.extend_from_slice(b"NIL"),
                }
                out.push(b' ');
                emit_astring(out, mailbox.as_bytes(), LiteralMode::Server, &mut Vec::new());
            }
            Untagged::Exists(n) => out.extend_from_slice(format!("{n} EXISTS").as_bytes()),
            Untagged::Recent(n) => out.extend_from_slice(format!("{n} RECENT").as_bytes()),
            Untagged::Expunge(n) => out.extend_from_slice(format!("{n} EXPUNGE").as_bytes()),
            Untagged::Search(ns) => {
                out.extend_from_slice(b"SEARCH");
                for n in ns {
                    out.extend_from_slice(format!(" {n}").as_bytes());
                }
            }
            Untagged::ESearch { tag, uid, data } => {
                out.extend_from_slice(b"ESEARCH");
                if let Some(tag) = tag {
                    out.extend_from_slice(b" (TAG ");
                    emit_quoted(out, tag.as_bytes());
                    out.push(b')');
                }
                if *uid {
                    out.extend_from_slice(b" UID");
                }
                for d in data {
                    let item = match d {
                        ESearchData::Min(n) => format!(" MIN {n}"),
                        ESearchData::Max(n) => format!(" MAX {n}"),
                        ESearchData::All(s) => format!(" ALL {s}"),
                        ESearchData::Count(n) => format!(" COUNT {n}"),
                    };
                    out.extend_from_slice(item.as_bytes());
                }
            }
            Untagged::Fetch { seq, attrs } => {
                out.extend_from_slice(format!("{seq} FETCH (").as_bytes());
                for (i, a) in attrs.iter().enumerate() {
                    if i > 0 {
                        out.push(b' ');
                    }
                    a.emit(out);
                }
                out.push(b')');
            }
            Untagged::Namespace(values) => {
                out.extend_from_slice(b"NAMESPACE");
                for v in values {
                    out.push(b' ');
                    v.emit(out);
                }
            }
            Untagged::Other(text) => out.extend_from_slice(text.as_bytes()),
        }
    }
}

fn resp_text(c: &mut Cursor<'_>, status: Status) -> Result<StatusText, ParseError> {
    // RFC 9051 §9 asks for SP before resp-text; some servers end the line after the
    // status, which we accept.
    if c.at_eol() {
        return Ok(StatusText::new(status, None, ""));
    }
    c.sp()?;
    let code = if c.eat(b'[') {
        let code = resp_code(c)?;
        c.expect(b']', "] to close the response code")?;
        c.eat(b' ');
        Some(code)
    } else {
        None
    };
    Ok(StatusText::new(status, code, c.text_to_eol()))
}

fn resp_code(c: &mut Cursor<'_>) -> Result<Code, ParseError> {
    let at = c.pos();
    let name = c.atom()?.to_ascii_uppercase();
    let atoms_to_bracket = |c: &mut Cursor<'_>| -> Result<Vec<String>, ParseError> {
        let mut v = Vec::new();
        while c.eat(b' ') {
            v.push(c.atom()?.to_string());
        }
        Ok(v)
    };
    Ok(match name.as_str() {
        "ALERT" => Code::Alert,
        "AUTHENTICATIONFAILED" => Code::AuthenticationFailed,
        "CAPABILITY" => Code::Capability(atoms_to_bracket(c)?),
        "CLIENTBUG" => Code::ClientBug,
        "CLOSED" => Code::Closed,
        "EXPUNGEISSUED" => Code::ExpungeIssued,
        "NONEXISTENT" => Code::NonExistent,
        "PARSE" => Code::Parse,
        "READ-ONLY" => Code::ReadOnly,
        "READ-WRITE" => Code::ReadWrite,
        "TRYCREATE" => Code::TryCreate,
        "BADCHARSET" => {
            let mut sets = Vec::new();
            if c.eat(b' ') {
                c.expect(b'(', "( to open the charsets")?;
                loop {
                    sets.push(c.astring_text()?);
                    if c.eat(b')') {
                        break;
                    }
                    c.sp()?;
                }
            }
            Code::BadCharset(sets)
        }
        "PERMANENTFLAGS" => {
            c.sp()?;
            Code::PermanentFlags(c.flag_list()?)
        }
        "UIDNEXT" | "UIDVALIDITY" | "UNSEEN" => {
            c.sp()?;
            let n = c.nz_number()?;
            match name.as_str() {
                "UIDNEXT" => Code::UidNext(n),
                "UIDVALIDITY" => Code::UidValidity(n),
                _ => Code::Unseen(n),
            }
        }
        _ => {
            if name.is_empty() {
                return Err(ParseError { at, expected: "a response code" });
            }
            let arg = if c.eat(b' ') {
                let rest = c.rest();
                let n = rest.iter().take_while(|&&b| b != b']' && b != b'\r' && b != b'\n').count();
                let text = String::from_utf8_lossy(&rest[..n]).into_owned();
                c.skip(n);
                Some(text)
            } else {
                None
            };
            Code::Other(name, arg)
        }
    })
}

fn untagged(c: &mut Cursor<'_>) -> Result<Untagged, ParseError> {
    if c.peek().is_some_and(|b| b.is_ascii_digit()) {
        let n = c.number()?;
        c.sp()?;
        let at = c.pos();
        return Ok(match c.word()?.as_str() {
            "EXISTS" => Untagged::Exists(n),
            "RECENT" => Untagged::Recent(n),
            "EXPUNGE" => Untagged::Expunge(n),
            "FETCH" => {
                c.sp()?;
                Untagged::Fetch { seq: n, attrs: msg_atts(c)? }
            }
            _ => return Err(ParseError { at, expected: "EXISTS, RECENT, EXPUNGE or FETCH" }),
        });
    }
    let word = c.word()?;
    if let Some(status) = Status::parse(&word) {
        return Ok(Untagged::Status(resp_text(c, status)?));
    }
    let atoms = |c: &mut Cursor<'_>| -> Result<Vec<String>, ParseError> {
        let mut v = Vec::new();
        while c.eat(b' ') {
            v.push(c.atom()?.to_string());
        }
        Ok(v)
    };
    Ok(match word.as_str() {
        "CAPABILITY" => Untagged::Capability(atoms(c)?),
        "ENABLED" => Untagged::Enabled(atoms(c)?),
        "FLAGS" => {
            c.sp()?;
            Untagged::Flags(c.flag_list()?)
        }
        "LIST" => {
            c.sp()?;
            c.expect(b'(', "( to open the mailbox attributes")?;
            let mut attributes = Vec::new();
            if !c.eat(b')') {
                loop {
                    let backslash = c.eat(b'\\');
                    let a = c.atom()?;
                    attributes.push(if backslash { format!("\\{a}") } else { a.to_string() });
                    if c.eat(b')') {
                        break;
                    }
                    c.sp()?;
                }
            }
            c.sp()?;
            let delimiter = if c.keyword("NIL") {
                None
            } else {
                let at = c.pos();
                let d = c.quoted()?;
                match d.as_slice() {
                    [b] if b.is_ascii() => Some(*b as char),
                    _ => return Err(ParseError { at, expected: "a one-character delimiter" }),
                }
            };
            c.sp()?;
            let mailbox = c.mailbox()?;
            Untagged::List { attributes, delimiter, mailbox }
        }
        "SEARCH" => {
            let mut ns = Vec::new();
            while c.eat(b' ') {
                ns.push(c.nz_number()?);
            }
            Untagged::Search(ns)
        }
        "ESEARCH" => {
            let mut tag = None;
            let mut uid = false;
            let mut data = Vec::new();
            while c.eat(b' ') {
                if c.eat(b'(') {
                    if !c.keyword("TAG") {
                        return Err(c.err("TAG"));
                    }
                    c.sp()?;
                    tag = Some(c.astring_text()?);
                    c.expect(b')', ") after the tag")?;
                    continue;
                }
                let at = c.pos();
                let w = c.word()?;
                if w == "UID" {
                    uid = true;
                    continue;
                }
                c.sp()?;
                data.push(match w.as_str() {
                    "MIN" => ESearchData::Min(c.nz_number()?),
                    "MAX" => ESearchData::Max(c.nz_number()?),
                    "ALL" => ESearchData::All(c.seq_set()?),
                    "COUNT" => ESearchData::Count(c.number()?),
                    _ => return Err(ParseError { at, expected: "MIN, MAX, ALL or COUNT" }),
                });
            }
            Untagged::ESearch { tag, uid, data }
        }
        "NAMESPACE" => {
            let mut values = Vec::new();
            while c.eat(b' ') {
                values.push(c.value()?);
            }
            Untagged::Namespace(values)
        }
        _ => {
            // Keep the line as text, literals and all. A byte that is not UTF-8 becomes
            // `?`, one byte for one: a literal's `{n}` must still count its octets.
            let rest = c.rest();
            let body = rest.strip_suffix(b"\n").unwrap_or(rest);
            let body = body.strip_suffix(b"\r").unwrap_or(body);
            let body: String = body
                .utf8_chunks()
                .flat_map(|chunk| chunk.valid().chars().chain(std::iter::repeat_n('?', chunk.invalid().len())))
                .collect();
            let text = format!("{word}{body}");
            c.skip(body.len());
            Untagged::Other(text)
        }
    })
}

fn msg_atts(c: &mut Cursor<'_>) -> Result<Vec<MsgAtt>, ParseError> {
    c.expect(b'(', "( to open the message data")?;
    let mut attrs = Vec::new();
    if c.eat(b')') {
        return Ok(attrs);
    }
    loop {
        attrs.push(msg_att(c)?);
        if c.eat(b')') {
            return Ok(attrs);
        }
        c.sp()?;
    }
}

fn msg_att(c: &mut Cursor<'_>) -> Result<MsgAtt, ParseError> {
    let word = c.word()?;
    if word == "BODY" && c.peek() == Some(b'[') {
        let sec = section(c)?;
        let origin = if c.eat(b'<') {
            let o = c.number()?;
            c.expect(b'>', "> to close the origin")?;
            Some(o)
        } else {
            None
        };
        c.sp()?;
        return Ok(MsgAtt::Section { section: sec, origin, data: c.nstring()? });
    }
    c.sp()?;
    Ok(match word.as_str() {
        "FLAGS" => MsgAtt::Flags(c.flag_list()?.into_iter().collect()),
        "UID" => MsgAtt::Uid(c.nz_number()?),
        "RFC822.SIZE" => MsgAtt::Rfc822Size(c.number64()?),
        "INTERNALDATE" => {
            let at = c.pos();
            let text = c.quoted()?;
            let d = std::str::from_utf8(&text).ok().and_then(|t| t.parse().ok());
            MsgAtt::InternalDate(d.ok_or(ParseError { at, expected: "a date-time" })?)
        }
        "ENVELOPE" => MsgAtt::Envelope(Box::new(Envelope::parse(c)?)),
        "BODY" => MsgAtt::Body(Box::new(BodyStructure::parse(c)?)),
        "BODYSTRUCTURE" => MsgAtt::BodyStructure(Box::new(BodyStructure::parse(c)?)),
        "RFC822" => MsgAtt::Rfc822(c.nstring()?),
        "RFC822.HEADER" => MsgAtt::Rfc822Header(c.nstring()?),
        "RFC822.TEXT" => MsgAtt::Rfc822Text(c.nstring()?),
        _ => MsgAtt::Other(word, c.value()?),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(line: &[u8]) -> Response {
        let r = Response::parse(line).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(line)));
        assert_eq!(r.to_bytes(), line, "{r:?}");
        r
    }

    #[test]
    fn the_rfc_examples_round_trip() {
        round_trip(b"* OK [UIDVALIDITY 3857529045] UIDs valid\r\n");
        round_trip(b"* OK [PERMANENTFLAGS (\\Deleted \\Seen \\*)] Limited\r\n");
        round_trip(b"* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)\r\n");
        round_trip(b"* LIST () \"/\" INBOX\r\n");
        round_trip(b"babc OK [READ-WRITE] SELECT completed\r\n");
        round_trip(b"* 12 FETCH (FLAGS (\\Seen \\Deleted))\r\n");
        round_trip(b"* CAPABILITY IMAP4rev2 IDLE LITERAL+\r\n");
        round_trip(b"* ESEARCH (TAG \"A282\") MIN 2 COUNT 3\r\n");
        round_trip(b"* ESEARCH (TAG \"A284\") UID ALL 4:6,8\r\n");
        round_trip(b"* SEARCH 2 84 882\r\n");
        round_trip(b"+ idling\r\n");
        round_trip(b"* 12 FETCH (BODY[HEADER] {5}\r\nab\r\nc)\r\n");
        round_trip(b"* NAMESPACE ((\"\" \"/\")) NIL NIL\r\n");
        let full = b"* 12 FETCH (FLAGS (\\Seen) INTERNALDATE \"17-Jul-1996 02:44:25 -0700\" RFC822.SIZE 4286 \
ENVELOPE (\"Wed, 17 Jul 1996 02:23:25 -0700 (PDT)\" \"IMAP4rev2 WG mtg summary and minutes\" \
((\"Terry Gray\" NIL \"gray\" \"cac.washington.edu\")) ((\"Terry Gray\" NIL \"gray\" \"cac.washington.edu\")) \
((\"Terry Gray\" NIL \"gray\" \"cac.washington.edu\")) ((NIL NIL \"imap\" \"cac.washington.edu\")) \
((NIL NIL \"minutes\" \"CNRI.Reston.VA.US\")(\"John Klensin\" NIL \"KLENSIN\" \"MIT.EDU\")) NIL NIL \
\"<B27397-0100000@cac.washington.edu>\") BODY (\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7BIT\" 3028 92))\r\n";
        let r = round_trip(full);
        let Response::Untagged(Untagged::Fetch { seq: 12, attrs }) = r else { panic!("a fetch") };
        assert_eq!(attrs.len(), 5);
    }

    #[test]
    fn unknown_data_is_kept_and_bad_data_is_an_error() {
        let r = Response::parse(b"* STATUS blurdybloop (MESSAGES 231 UIDNEXT 44292)\r\n").expect("other");
        assert_eq!(r, Response::Untagged(Untagged::Other("STATUS blurdybloop (MESSAGES 231 UIDNEXT 44292)".into())));
        let r = Response::parse(b"* 1 FETCH (MODSEQ (12) UID 3)\r\n").expect("extension item");
        assert!(matches!(r, Response::Untagged(Untagged::Fetch { .. })));
        assert!(Response::parse(b"* 1 FETCH (FLAGS (\\Seen)\r\n").is_err());
        assert!(Response::parse(b"A1 MAYBE\r\n").is_err());
        assert!(Response::parse(b"* 0x EXISTS\r\n").is_err());
        assert_eq!(Response::parse(b"A1 OK\r\n"), Ok(Response::tagged("A1", Status::Ok, None, "")));
    }

    /// Found by the `imap_response` fuzz target: a non-UTF-8 octet in a literal of
    /// unknown data became U+FFFD (three octets), so the printed `{3}` no longer counted
    /// the literal and the printed response framed differently.
    #[test]
    fn unknown_data_keeps_its_literals_sizes_when_not_utf8() {
        let r = Response::parse(b"* XDATA {3}\r\na\xd5\n\r\n").expect("other");
        assert_eq!(r, Response::Untagged(Untagged::Other("XDATA {3}\r\na?\n".into())));
        let printed = r.to_bytes();
        assert_eq!(Response::read(&printed), Ok(Some((printed.len(), r))));
    }
}
