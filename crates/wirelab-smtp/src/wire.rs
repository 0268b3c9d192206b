//! SMTP on the wire (RFC 5321 §4.1, §4.2, §4.5): command lines, replies, paths and the
//! SIZE (RFC 1870) and BODY (RFC 6152) parameters, with typed errors, each mapping to the
//! reply code a server answers it with.
//!
//! ```text
//! ehlo = "EHLO" SP ( Domain / address-literal ) CRLF                      (§4.1.1.1)
//! mail = "MAIL FROM:" Reverse-path [SP Mail-parameters] CRLF              (§4.1.1.2)
//! rcpt = "RCPT TO:" ( "<Postmaster@" Domain ">" / "<Postmaster>" /
//!                     Forward-path ) [SP Rcpt-parameters] CRLF            (§4.1.1.3)
//! Reply-line = *( Reply-code "-" [ textstring ] CRLF )
//!              Reply-code [ SP textstring ] CRLF                          (§4.2)
//! ```
//!
//! Every parser takes bytes and never panics, whatever the bytes: they are the entry
//! points for fuzzing.

use std::fmt;

/// RFC 5321 §4.5.3.1.4: "The maximum total length of a command line including the
/// command word and the <CRLF> is 512 octets."
pub const MAX_COMMAND_LINE: usize = 512;
/// RFC 1870 §3 (5): "the maximum length of a MAIL FROM command line is increased by 26
/// characters by the possible addition of the SIZE keyword and value"; and 14 more for
/// ` BODY=8BITMIME` (RFC 6152).
pub const MAX_MAIL_LINE: usize = MAX_COMMAND_LINE + 26 + 14;
/// RFC 5321 §4.5.3.1.5: "The maximum total length of a reply line including the reply
/// code and the <CRLF> is 512 octets."
pub const MAX_REPLY_LINE: usize = 512;
/// RFC 5321 §4.5.3.1.6: "The maximum total length of a text line including the <CRLF>
/// is 1000 octets (not counting the leading dot duplicated for transparency)."
pub const MAX_TEXT_LINE: usize = 1000;
/// RFC 5321 §4.5.3.1.1: "The maximum total length of a user name or other local-part is
/// 64 octets."
pub const MAX_LOCAL_PART: usize = 64;
/// RFC 5321 §4.5.3.1.2: "The maximum total length of a domain name or number is 255
/// octets."
pub const MAX_DOMAIN: usize = 255;
/// RFC 5321 §4.5.3.1.3: "The maximum total length of a reverse-path or forward-path is
/// 256 octets (including the punctuation and element separators)."
pub const MAX_PATH: usize = 256;

/// `Mailbox = Local-part "@" ( Domain / address-literal )` (RFC 5321 §4.1.2).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Mailbox {
    /// As sent: a Dot-string or a Quoted-string with its quotes. RFC 5321 §2.4: "the
    /// local-part of a mailbox MUST BE treated as case sensitive".
    pub local_part: String,
    /// A domain or an address literal (`[192.0.2.1]`).
    pub domain: String,
}

impl Mailbox {
    /// Parses `local@domain` (no angle brackets).
    pub fn parse(text: &str) -> Result<Mailbox, PathError> {
        let (mailbox, rest) = parse_mailbox(text.as_bytes())?;
        if !rest.is_empty() {
            return Err(PathError::Syntax("text after the mailbox"));
        }
        Ok(mailbox)
    }

    /// Whether `domain` (case-insensitively, RFC 5321 §2.4) is this mailbox's domain.
    pub fn in_domain(&self, domain: &str) -> bool {
        self.domain.eq_ignore_ascii_case(domain)
    }
}

impl fmt::Display for Mailbox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{}", self.local_part, self.domain)
    }
}

/// `Reverse-path = Path / "<>"` (RFC 5321 §4.1.2): where bounces go; `<>` for none
/// (a bounce itself, §4.5.5).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum ReversePath {
    Null,
    Mailbox(Mailbox),
}

impl fmt::Display for ReversePath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReversePath::Null => f.write_str("<>"),
            ReversePath::Mailbox(m) => write!(f, "<{m}>"),
        }
    }
}

/// A recipient: a mailbox, or the bare `<Postmaster>` every server must accept
/// (RFC 5321 §4.1.1.3, §4.5.1).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum ForwardPath {
    Postmaster,
    Mailbox(Mailbox),
}

impl ForwardPath {
    /// The mailbox, if any.
    pub fn mailbox(&self) -> Option<&Mailbox> {
        match self {
            ForwardPath::Postmaster => None,
            ForwardPath::Mailbox(m) => Some(m),
        }
    }

    /// Whether this is the postmaster, `<Postmaster>` or `<postmaster@domain>`
    /// (RFC 5321 §4.5.1: "a case-insensitive local name").
    pub fn is_postmaster(&self) -> bool {
        match self {
            ForwardPath::Postmaster => true,
            ForwardPath::Mailbox(m) => m.local_part.eq_ignore_ascii_case("postmaster"),
        }
    }
}

impl fmt::Display for ForwardPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ForwardPath::Postmaster => f.write_str("<Postmaster>"),
            ForwardPath::Mailbox(m) => write!(f, "<{m}>"),
        }
    }
}

/// The body type of RFC 6152 §2: `body-value = "7BIT" / "8BITMIME"`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum BodyType {
    #[default]
    SevenBit,
    EightBitMime,
}

impl fmt::Display for BodyType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            BodyType::SevenBit => "7BIT",
            BodyType::EightBitMime => "8BITMIME",
        })
    }
}

/// `esmtp-param = esmtp-keyword ["=" esmtp-value]` (RFC 5321 §4.1.2), keyword as sent.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Param {
    pub keyword: String,
    pub value: Option<String>,
}

impl fmt::Display for Param {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.value {
            Some(v) => write!(f, "{}={v}", self.keyword),
            None => f.write_str(&self.keyword),
        }
    }
}

/// The MAIL parameters wirelab knows.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MailParams {
    /// `SIZE=` (RFC 1870 §3 (4)): the client's estimate of the message size.
    pub size: Option<u64>,
    /// `BODY=` (RFC 6152 §2 (5)).
    pub body: Option<BodyType>,
}

/// One SMTP command line, parsed (RFC 5321 §4.1.1). Verbs are case-insensitive
/// (RFC 5321 §2.4).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SmtpCommand {
    /// `EHLO <domain>` (§4.1.1.1): extended hello, the server lists its extensions.
    Ehlo(String),
    /// `HELO <domain>` (§4.1.1.1): plain hello, no extensions.
    Helo(String),
    /// `MAIL FROM:<reverse-path> [params]` (§4.1.1.2).
    Mail { from: ReversePath, params: Vec<Param> },
    /// `RCPT TO:<forward-path> [params]` (§4.1.1.3).
    Rcpt { to: ForwardPath, params: Vec<Param> },
    /// `DATA` (§4.1.1.4).
    Data,
    /// `RSET` (§4.1.1.5).
    Rset,
    /// `VRFY <string>` (§4.1.1.6).
    Vrfy(String),
    /// `EXPN <string>` (§4.1.1.7).
    Expn(String),
    /// `HELP [string]` (§4.1.1.8).
    Help(Option<String>),
    /// `NOOP [string]` (§4.1.1.9).
    Noop(Option<String>),
    /// `QUIT` (§4.1.1.10).
    Quit,
}

impl SmtpCommand {
    /// The verb, uppercase.
    pub fn verb(&self) -> &'static str {
        match self {
            SmtpCommand::Ehlo(_) => "EHLO",
            SmtpCommand::Helo(_) => "HELO",
            SmtpCommand::Mail { .. } => "MAIL",
            SmtpCommand::Rcpt { .. } => "RCPT",
            SmtpCommand::Data => "DATA",
            SmtpCommand::Rset => "RSET",
            SmtpCommand::Vrfy(_) => "VRFY",
            SmtpCommand::Expn(_) => "EXPN",
            SmtpCommand::Help(_) => "HELP",
            SmtpCommand::Noop(_) => "NOOP",
            SmtpCommand::Quit => "QUIT",
        }
    }

    /// The line to send, CRLF included.
    pub fn to_bytes(&self) -> Vec<u8> {
        format!("{self}\r\n").into_bytes()
    }
}

impl fmt::Display for SmtpCommand {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let params = |f: &mut fmt::Formatter<'_>, params: &[Param]| params.iter().try_for_each(|p| write!(f, " {p}"));
        match self {
            SmtpCommand::Ehlo(d) => write!(f, "EHLO {d}"),
            SmtpCommand::Helo(d) => write!(f, "HELO {d}"),
            SmtpCommand::Mail { from, params: p } => {
                write!(f, "MAIL FROM:{from}")?;
                params(f, p)
            }
            SmtpCommand::Rcpt { to, params: p } => {
                write!(f, "RCPT TO:{to}")?;
                params(f, p)
            }
            SmtpCommand::Data => f.write_str("DATA"),
            SmtpCommand::Rset => f.write_str("RSET"),
            SmtpCommand::Vrfy(s) => write!(f, "VRFY {s}"),
            SmtpCommand::Expn(s) => write!(f, "EXPN {s}"),
            SmtpCommand::Help(None) => f.write_str("HELP"),
            SmtpCommand::Help(Some(s)) => write!(f, "HELP {s}"),
            SmtpCommand::Noop(None) => f.write_str("NOOP"),
            SmtpCommand::Noop(Some(s)) => write!(f, "NOOP {s}"),
            SmtpCommand::Quit => f.write_str("QUIT"),
        }
    }
}

/// Why a path (`<local@domain>`) cannot be read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PathError {
    /// Not `"<" [ A-d-l ":" ] Mailbox ">"` (RFC 5321 §4.1.2); the detail says where.
    Syntax(&'static str),
    /// Longer than §4.5.3.1.1–3 allow: "501 Path too long" (§4.5.3.1.10).
    TooLong,
}

impl fmt::Display for PathError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PathError::Syntax(d) => write!(f, "bad path: {d}"),
            PathError::TooLong => f.write_str("path too long"),
        }
    }
}

impl std::error::Error for PathError {}

/// A command line that cannot be read, one variant per rule it breaks. Each maps to the
/// reply a server gives it ([`CommandError::reply`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CommandError {
    /// Longer than §4.5.3.1.4 allows: "500 Line too long" (§4.5.3.1.10).
    LineTooLong,
    /// A CR or LF that is not part of the CRLF ending the line (§2.3.8).
    BareCrOrLf,
    /// No verb wirelab knows: 500 (§4.2.4: "The 500 response may be used when the
    /// command verb is not recognized").
    Unrecognized { verb: String },
    /// A verb of RFC 5321 (or a common extension) that wirelab does not implement: 502
    /// (§4.2.4).
    NotImplemented { verb: &'static str },
    /// The verb is right, its arguments are not: 501 (§4.2.1).
    BadArguments { verb: &'static str, detail: &'static str },
    /// A path that is malformed (501) or too long ("501 Path too long", §4.5.3.1.10).
    BadPath { verb: &'static str, error: PathError },
}

impl CommandError {
    /// The reply a server sends for this error.
    pub fn reply(&self) -> Reply {
        match self {
            CommandError::LineTooLong => Reply::new(500, "Line too long"),
            CommandError::BareCrOrLf => Reply::new(500, "Syntax error, bare CR or LF in a command line"),
            CommandError::Unrecognized { .. } => Reply::new(500, "Syntax error, command unrecognized"),
            CommandError::NotImplemented { .. } => Reply::new(502, "Command not implemented"),
            CommandError::BadArguments { detail, .. } => {
                Reply::new(501, format!("Syntax error in parameters or arguments: {detail}"))
            }
            CommandError::BadPath { error: PathError::TooLong, .. } => Reply::new(501, "Path too long"),
            CommandError::BadPath { error: PathError::Syntax(d), .. } => {
                Reply::new(501, format!("Syntax error in parameters or arguments: {d}"))
            }
        }
    }
}

impl fmt::Display for CommandError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CommandError::LineTooLong => write!(f, "command line longer than {MAX_COMMAND_LINE} octets"),
            CommandError::BareCrOrLf => f.write_str("bare CR or LF in a command line"),
            CommandError::Unrecognized { verb } => write!(f, "unrecognized command {verb:?}"),
            CommandError::NotImplemented { verb } => write!(f, "{verb} is not implemented"),
            CommandError::BadArguments { verb, detail } => write!(f, "{verb}: {detail}"),
            CommandError::BadPath { verb, error } => write!(f, "{verb}: {error}"),
        }
    }
}

impl std::error::Error for CommandError {}

/// Verbs that RFC 5321 and its common extensions define but wirelab does not implement:
/// 502 (§4.2.4), not 500.
const NOT_IMPLEMENTED: [&str; 10] =
    ["SEND", "SOML", "SAML", "TURN", "ETRN", "ATRN", "AUTH", "STARTTLS", "BDAT", "XCLIENT"];

fn is_atext(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-/=?^_`{|}~".contains(&b)
}

/// `Domain = sub-domain *("." sub-domain)`, `sub-domain = Let-dig [Ldh-str]`
/// (RFC 5321 §4.1.2), or an address literal `[...]` (§4.1.3).
pub fn is_domain(d: &[u8]) -> bool {
    if d.is_empty() || d.len() > MAX_DOMAIN {
        return false;
    }
    if let Some(inner) = d.strip_prefix(b"[").and_then(|d| d.strip_suffix(b"]")) {
        // address-literal: IPv4, "IPv6:...", or a General-address-literal; the
        // characters of dcontent (%d33-90 / %d94-126) are enough to know its end.
        return !inner.is_empty() && inner.iter().all(|&b| (33..=90).contains(&b) || (94..=126).contains(&b));
    }
    d.split(|&b| b == b'.').all(|label| {
        !label.is_empty()
            && label[0].is_ascii_alphanumeric()
            && label[label.len() - 1].is_ascii_alphanumeric()
            && label.iter().all(|&b| b.is_ascii_alphanumeric() || b == b'-')
    })
}

/// Reads a `Mailbox` at the start of `b`; returns it and what follows.
fn parse_mailbox(b: &[u8]) -> Result<(Mailbox, &[u8]), PathError> {
    let local_len = if b.first() == Some(&b'"') {
        // Quoted-string = DQUOTE *QcontentSMTP DQUOTE
        let mut i = 1;
        loop {
            match b.get(i) {
                None => return Err(PathError::Syntax("unterminated quoted local-part")),
                Some(b'"') => break i + 1,
                Some(b'\\') => match b.get(i + 1) {
                    Some(32..=126) => i += 2,
                    _ => return Err(PathError::Syntax("bad quoted-pair in the local-part")),
                },
                Some(32..=126) => i += 1,
                Some(_) => return Err(PathError::Syntax("bad character in the local-part")),
            }
        }
    } else {
        // Dot-string = Atom *("." Atom)
        let n = b.iter().take_while(|&&c| is_atext(c) || c == b'.').count();
        let dots = &b[..n];
        if n == 0 || dots[0] == b'.' || dots[n - 1] == b'.' || dots.windows(2).any(|w| w == b"..") {
            return Err(PathError::Syntax("bad local-part"));
        }
        n
    };
    if local_len > MAX_LOCAL_PART {
        return Err(PathError::TooLong);
    }
    if b.get(local_len) != Some(&b'@') {
        return Err(PathError::Syntax("no @ after the local-part"));
    }
    let rest = &b[local_len + 1..];
    let domain_len = if rest.first() == Some(&b'[') {
        rest.iter().position(|&c| c == b']').map(|i| i + 1).ok_or(PathError::Syntax("unterminated address literal"))?
    } else {
        rest.iter().take_while(|&&c| c.is_ascii_alphanumeric() || c == b'-' || c == b'.').count()
    };
    let domain = &rest[..domain_len];
    if domain.len() > MAX_DOMAIN {
        return Err(PathError::TooLong);
    }
    if !is_domain(domain) {
        return Err(PathError::Syntax("bad domain"));
    }
    // Every byte checked above is ASCII.
    let text = |x: &[u8]| String::from_utf8_lossy(x).into_owned();
    Ok((Mailbox { local_part: text(&b[..local_len]), domain: text(domain) }, &rest[domain_len..]))
}

/// Reads `"<" [ A-d-l ":" ] Mailbox ">"` at the start of `b`, or `<>` if `null_ok`;
/// returns the mailbox (None for `<>`) and what follows. The source route (A-d-l) is
/// dropped: RFC 5321 §4.1.1.3 "Servers MUST be prepared to encounter a list of source
/// routes in the forward-path, but they SHOULD ignore the routes".
fn parse_path(b: &[u8], null_ok: bool) -> Result<(Option<Mailbox>, &[u8]), PathError> {
    let Some(inner) = b.strip_prefix(b"<") else {
        return Err(PathError::Syntax("a path starts with <"));
    };
    if let Some(rest) = inner.strip_prefix(b">") {
        return if null_ok { Ok((None, rest)) } else { Err(PathError::Syntax("empty path")) };
    }
    let mut at = inner;
    if at.first() == Some(&b'@') {
        // A-d-l = At-domain *( "," At-domain ) ":"
        let colon = at.iter().position(|&c| c == b':').ok_or(PathError::Syntax("source route without :"))?;
        for hop in at[..colon].split(|&c| c == b',') {
            let ok = hop.strip_prefix(b"@").is_some_and(is_domain);
            if !ok {
                return Err(PathError::Syntax("bad source route"));
            }
        }
        at = &at[colon + 1..];
    }
    let (mailbox, rest) = parse_mailbox(at)?;
    let Some(rest) = rest.strip_prefix(b">") else {
        return Err(PathError::Syntax("no > after the mailbox"));
    };
    let used = b.len() - rest.len();
    if used > MAX_PATH {
        return Err(PathError::TooLong);
    }
    Ok((Some(mailbox), rest))
}

/// `Mail-parameters = esmtp-param *(SP esmtp-param)` (RFC 5321 §4.1.2), after the path.
fn parse_params(rest: &[u8]) -> Result<Vec<Param>, &'static str> {
    if rest.is_empty() {
        return Ok(Vec::new());
    }
    let Some(rest) = rest.strip_prefix(b" ") else {
        return Err("a space must separate the path from the parameters");
    };
    rest.split(|&b| b == b' ')
        .map(|p| {
            let (k, v) = match p.iter().position(|&b| b == b'=') {
                Some(i) => (&p[..i], Some(&p[i + 1..])),
                None => (p, None),
            };
            // esmtp-keyword = (ALPHA / DIGIT) *(ALPHA / DIGIT / "-")
            let key_ok = k.first().is_some_and(u8::is_ascii_alphanumeric)
                && k.iter().all(|&b| b.is_ascii_alphanumeric() || b == b'-');
            // esmtp-value = 1*(%d33-60 / %d62-126)
            let value_ok = v.is_none_or(|v| !v.is_empty() && v.iter().all(|&b| (33..=126).contains(&b) && b != b'='));
            if !key_ok || !value_ok {
                return Err("malformed parameter");
            }
            let text = |x: &[u8]| String::from_utf8_lossy(x).into_owned();
            Ok(Param { keyword: text(k), value: v.map(text) })
        })
        .collect()
}

/// Parses one command line, without its CRLF. Never panics.
pub fn parse_command(line: &[u8]) -> Result<SmtpCommand, CommandError> {
    if line.contains(&b'\r') || line.contains(&b'\n') {
        return Err(CommandError::BareCrOrLf);
    }
    let (verb, args) = match line.iter().position(|&b| b == b' ') {
        Some(i) => (&line[..i], Some(&line[i + 1..])),
        None => (line, None),
    };
    let verb_text = String::from_utf8_lossy(verb).to_ascii_uppercase();
    let arg_text = || args.map(|a| String::from_utf8_lossy(a).into_owned());
    let need = |verb: &'static str, detail: &'static str| -> Result<&[u8], CommandError> {
        match args {
            Some(a) if !a.is_empty() => Ok(a),
            _ => Err(CommandError::BadArguments { verb, detail }),
        }
    };
    let none = |verb: &'static str, cmd: SmtpCommand| match args {
        None => Ok(cmd),
        Some(_) => Err(CommandError::BadArguments { verb, detail: "this command takes no arguments" }),
    };
    match verb_text.as_str() {
        "EHLO" | "HELO" => {
            let v = if verb_text == "EHLO" { "EHLO" } else { "HELO" };
            let d = need(v, "a domain or address literal is required")?;
            if !is_domain(d) {
                return Err(CommandError::BadArguments { verb: v, detail: "not a domain or address literal" });
            }
            let d = String::from_utf8_lossy(d).into_owned();
            Ok(if v == "EHLO" { SmtpCommand::Ehlo(d) } else { SmtpCommand::Helo(d) })
        }
        "MAIL" => {
            let a = need("MAIL", "MAIL FROM:<reverse-path> is required")?;
            let Some(path) = strip_prefix_ci(a, b"FROM:") else {
                return Err(CommandError::BadArguments { verb: "MAIL", detail: "expected FROM:<reverse-path>" });
            };
            // §4.1.2: "spaces are not permitted on either side of the colon following
            // FROM in the MAIL command or TO in the RCPT command."
            if path.first() == Some(&b' ') {
                return Err(CommandError::BadArguments { verb: "MAIL", detail: "no space is allowed after FROM:" });
            }
            let (mailbox, rest) =
                parse_path(path, true).map_err(|error| CommandError::BadPath { verb: "MAIL", error })?;
            let params = parse_params(rest).map_err(|detail| CommandError::BadArguments { verb: "MAIL", detail })?;
            let from = mailbox.map_or(ReversePath::Null, ReversePath::Mailbox);
            Ok(SmtpCommand::Mail { from, params })
        }
        "RCPT" => {
            let a = need("RCPT", "RCPT TO:<forward-path> is required")?;
            let Some(path) = strip_prefix_ci(a, b"TO:") else {
                return Err(CommandError::BadArguments { verb: "RCPT", detail: "expected TO:<forward-path>" });
            };
            if path.first() == Some(&b' ') {
                return Err(CommandError::BadArguments { verb: "RCPT", detail: "no space is allowed after TO:" });
            }
            let (to, rest) = match strip_prefix_ci(path, b"<postmaster>") {
                Some(rest) => (ForwardPath::Postmaster, rest),
                None => {
                    let (m, rest) =
                        parse_path(path, false).map_err(|error| CommandError::BadPath { verb: "RCPT", error })?;
                    match m {
                        Some(m) => (ForwardPath::Mailbox(m), rest),
                        None => {
                            return Err(CommandError::BadPath { verb: "RCPT", error: PathError::Syntax("empty path") });
                        }
                    }
                }
            };
            let params = parse_params(rest).map_err(|detail| CommandError::BadArguments { verb: "RCPT", detail })?;
            Ok(SmtpCommand::Rcpt { to, params })
        }
        "DATA" => none("DATA", SmtpCommand::Data),
        "RSET" => none("RSET", SmtpCommand::Rset),
        "QUIT" => none("QUIT", SmtpCommand::Quit),
        "VRFY" => {
            need("VRFY", "a user name or mailbox is required")?;
            Ok(SmtpCommand::Vrfy(arg_text().unwrap_or_default()))
        }
        "EXPN" => {
            need("EXPN", "a mailing list name is required")?;
            Ok(SmtpCommand::Expn(arg_text().unwrap_or_default()))
        }
        "HELP" => Ok(SmtpCommand::Help(arg_text().filter(|a| !a.is_empty()))),
        // §4.1.1.9: "If a parameter string is specified, servers SHOULD ignore it."
        "NOOP" => Ok(SmtpCommand::Noop(arg_text().filter(|a| !a.is_empty()))),
        _ => match NOT_IMPLEMENTED.iter().find(|v| **v == verb_text) {
            Some(v) => Err(CommandError::NotImplemented { verb: v }),
            None => Err(CommandError::Unrecognized { verb: verb_text.chars().take(32).collect() }),
        },
    }
}

fn strip_prefix_ci<'a>(b: &'a [u8], prefix: &[u8]) -> Option<&'a [u8]> {
    (b.len() >= prefix.len() && b[..prefix.len()].eq_ignore_ascii_case(prefix)).then(|| &b[prefix.len()..])
}

/// Reads the SIZE and BODY parameters of MAIL.
pub fn mail_params(params: &[Param]) -> Result<MailParams, ParamError> {
    let mut out = MailParams::default();
    for p in params {
        match p.keyword.to_ascii_uppercase().as_str() {
            "SIZE" => {
                // size-value ::= 1*20DIGIT (RFC 1870 §3 (4))
                let v = p.value.as_deref().unwrap_or_default();
                if v.is_empty() || v.len() > 20 || !v.bytes().all(|b| b.is_ascii_digit()) || out.size.is_some() {
                    return Err(ParamError::BadValue { keyword: "SIZE" });
                }
                // 20 digits may not fit in 64 bits: such a size is more than any limit.
                out.size = Some(v.parse().unwrap_or(u64::MAX));
            }
            "BODY" => {
                let v = p.value.as_deref().unwrap_or_default().to_ascii_uppercase();
                out.body = Some(match v.as_str() {
                    _ if out.body.is_some() => return Err(ParamError::BadValue { keyword: "BODY" }),
                    "7BIT" => BodyType::SevenBit,
                    "8BITMIME" => BodyType::EightBitMime,
                    _ => return Err(ParamError::BadValue { keyword: "BODY" }),
                });
            }
            _ => return Err(ParamError::Unknown { keyword: p.keyword.clone() }),
        }
    }
    Ok(out)
}

/// A MAIL or RCPT parameter the server will not take.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ParamError {
    /// §4.1.1.11: "If the server SMTP does not recognize or cannot implement one or more
    /// of the parameters associated with a particular MAIL FROM or RCPT TO command, it
    /// will return code 555."
    Unknown { keyword: String },
    /// A known parameter with a malformed value (or given twice): 501.
    BadValue { keyword: &'static str },
}

impl ParamError {
    pub fn reply(&self) -> Reply {
        match self {
            ParamError::Unknown { .. } => {
                Reply::new(555, "MAIL FROM/RCPT TO parameters not recognized or not implemented")
            }
            ParamError::BadValue { keyword } => {
                Reply::new(501, format!("Syntax error in parameters or arguments: bad {keyword} value"))
            }
        }
    }
}

impl fmt::Display for ParamError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParamError::Unknown { keyword } => write!(f, "unknown parameter {keyword}"),
            ParamError::BadValue { keyword } => write!(f, "bad {keyword} value"),
        }
    }
}

impl std::error::Error for ParamError {}

/// A reply (RFC 5321 §4.2): a three-digit code and one or more lines of text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reply {
    pub code: u16,
    /// The text of each line, without code, separator or CRLF. Never empty.
    pub lines: Vec<String>,
}

impl Reply {
    /// A one-line reply.
    pub fn new(code: u16, text: impl Into<String>) -> Reply {
        Reply { code, lines: vec![text.into()] }
    }

    /// A multi-line reply: `250-first`, …, `250 last` (§4.2.1).
    pub fn multi(code: u16, lines: Vec<String>) -> Reply {
        let lines = if lines.is_empty() { vec![String::new()] } else { lines };
        Reply { code, lines }
    }

    /// The first line's text.
    pub fn text(&self) -> &str {
        self.lines.first().map(String::as_str).unwrap_or_default()
    }

    /// 2yz: positive completion (§4.2.1).
    pub fn is_positive(&self) -> bool {
        (200..300).contains(&self.code)
    }

    /// 3yz: positive intermediate (354 after DATA).
    pub fn is_intermediate(&self) -> bool {
        (300..400).contains(&self.code)
    }

    /// Appends the reply, every line ended by CRLF. Each line is cut to fit the 512-octet
    /// limit of §4.5.3.1.5, and any CR or LF in the text is replaced by a space.
    pub fn emit(&self, out: &mut Vec<u8>) {
        let n = self.lines.len();
        for (i, line) in self.lines.iter().enumerate() {
            let sep = if i + 1 == n { ' ' } else { '-' };
            let mut text: String = line.chars().map(|c| if c == '\r' || c == '\n' { ' ' } else { c }).collect();
            let room = MAX_REPLY_LINE - 6;
            if text.len() > room {
                let mut cut = room;
                while !text.is_char_boundary(cut) {
                    cut -= 1;
                }
                text.truncate(cut);
            }
            if text.is_empty() && sep == ' ' {
                out.extend_from_slice(format!("{:03}\r\n", self.code).as_bytes());
            } else {
                out.extend_from_slice(format!("{:03}{sep}{text}\r\n", self.code).as_bytes());
            }
        }
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.emit(&mut out);
        out
    }
}

impl fmt::Display for Reply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.code, self.lines.join(" / "))
    }
}

/// A reply that cannot be read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReplyError {
    /// Not three digits, the first 2–5, the second 0–5 (§4.2: "Reply-code = %x32-35
    /// %x30-35 %x30-39").
    BadCode,
    /// Not SP, "-" or CRLF after the code (§4.2).
    BadSeparator,
    /// The lines of one multi-line reply carry different codes (§4.2.1: "each line of
    /// the multiline reply must have the same code").
    MixedCodes,
    /// A line longer than 512 octets (§4.5.3.1.5).
    LineTooLong,
}

impl fmt::Display for ReplyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ReplyError::BadCode => "malformed reply code",
            ReplyError::BadSeparator => "no space or hyphen after the reply code",
            ReplyError::MixedCodes => "the lines of a multi-line reply carry different codes",
            ReplyError::LineTooLong => "reply line longer than 512 octets",
        })
    }
}

impl std::error::Error for ReplyError {}

/// One reply line parsed: code, whether more lines follow, text.
pub fn parse_reply_line(line: &[u8]) -> Result<(u16, bool, String), ReplyError> {
    if line.len() + 2 > MAX_REPLY_LINE {
        return Err(ReplyError::LineTooLong);
    }
    let code_ok = line.len() >= 3
        && (b'2'..=b'5').contains(&line[0])
        && (b'0'..=b'5').contains(&line[1])
        && line[2].is_ascii_digit();
    if !code_ok {
        return Err(ReplyError::BadCode);
    }
    let code = u16::from(line[0] - b'0') * 100 + u16::from(line[1] - b'0') * 10 + u16::from(line[2] - b'0');
    match line.get(3) {
        None => Ok((code, false, String::new())),
        Some(b' ') => Ok((code, false, String::from_utf8_lossy(&line[4..]).into_owned())),
        Some(b'-') => Ok((code, true, String::from_utf8_lossy(&line[4..]).into_owned())),
        Some(_) => Err(ReplyError::BadSeparator),
    }
}

/// Parses one whole reply at the start of `bytes`: `Ok(None)` until its last line has
/// arrived, else the reply and how many bytes it took. Never panics.
pub fn parse_reply(bytes: &[u8]) -> Result<Option<(Reply, usize)>, ReplyError> {
    let mut at = 0;
    let mut code = None;
    let mut lines = Vec::new();
    loop {
        let rest = &bytes[at..];
        let Some(end) = rest.windows(2).position(|w| w == b"\r\n") else {
            if rest.len() >= MAX_REPLY_LINE {
                return Err(ReplyError::LineTooLong);
            }
            return Ok(None);
        };
        let (c, more, text) = parse_reply_line(&rest[..end])?;
        if code.is_some_and(|first| first != c) {
            return Err(ReplyError::MixedCodes);
        }
        code = Some(c);
        lines.push(text);
        at += end + 2;
        if !more {
            return Ok(Some((Reply { code: c, lines }, at)));
        }
    }
}

/// The meaning of a reply code, as RFC 5321 §4.2.2–§4.2.3 lists it.
pub fn reply_meaning(code: u16) -> &'static str {
    match code {
        211 => "System status, or system help reply",
        214 => "Help message",
        220 => "<domain> Service ready",
        221 => "<domain> Service closing transmission channel",
        250 => "Requested mail action okay, completed",
        251 => "User not local; will forward to <forward-path>",
        252 => "Cannot VRFY user, but will accept message and attempt delivery",
        354 => "Start mail input; end with <CRLF>.<CRLF>",
        421 => "<domain> Service not available, closing transmission channel",
        450 => "Requested mail action not taken: mailbox unavailable",
        451 => "Requested action aborted: local error in processing",
        452 => "Requested action not taken: insufficient system storage",
        455 => "Server unable to accommodate parameters",
        500 => "Syntax error, command unrecognized",
        501 => "Syntax error in parameters or arguments",
        502 => "Command not implemented",
        503 => "Bad sequence of commands",
        504 => "Command parameter not implemented",
        550 => "Requested action not taken: mailbox unavailable",
        551 => "User not local; please try <forward-path>",
        552 => "Requested mail action aborted: exceeded storage allocation",
        553 => "Requested action not taken: mailbox name not allowed",
        554 => "Transaction failed",
        555 => "MAIL FROM/RCPT TO parameters not recognized or not implemented",
        _ => match code / 100 {
            2 => "positive completion",
            3 => "positive intermediate",
            4 => "transient negative completion: try again later",
            5 => "permanent negative completion",
            _ => "not a reply code",
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mb(s: &str) -> Mailbox {
        Mailbox::parse(s).expect("a mailbox")
    }

    #[test]
    fn commands_parse_and_print_back() {
        for line in [
            "EHLO bar.com",
            "HELO [192.0.2.1]",
            "MAIL FROM:<Smith@bar.com>",
            "MAIL FROM:<> SIZE=1000 BODY=8BITMIME",
            "RCPT TO:<Jones@foo.com>",
            "RCPT TO:<Postmaster>",
            "DATA",
            "RSET",
            "VRFY Smith",
            "EXPN list",
            "HELP",
            "HELP MAIL",
            "NOOP",
            "QUIT",
        ] {
            let c = parse_command(line.as_bytes()).expect(line);
            assert_eq!(c.to_string(), line);
        }
    }

    #[test]
    fn verbs_and_from_to_are_case_insensitive() {
        assert_eq!(
            parse_command(b"mail from:<a@b.c>"),
            Ok(SmtpCommand::Mail { from: ReversePath::Mailbox(mb("a@b.c")), params: vec![] })
        );
        assert_eq!(
            parse_command(b"rcpt To:<postmaster>"),
            Ok(SmtpCommand::Rcpt { to: ForwardPath::Postmaster, params: vec![] })
        );
    }

    #[test]
    fn source_routes_are_accepted_and_dropped() {
        assert_eq!(
            parse_command(b"RCPT TO:<@hosta.int,@jkl.org:userc@d.bar.org>"),
            Ok(SmtpCommand::Rcpt { to: ForwardPath::Mailbox(mb("userc@d.bar.org")), params: vec![] })
        );
    }

    #[test]
    fn quoted_local_parts() {
        let m = mb("\"John Smith\"@example.com");
        assert_eq!(m.local_part, "\"John Smith\"");
        assert!(Mailbox::parse("\"unterminated@example.com").is_err());
    }

    #[test]
    fn bad_command_lines_and_their_codes() {
        let code = |l: &[u8]| parse_command(l).map_err(|e| e.reply().code);
        assert_eq!(code(b"FOO"), Err(500));
        assert_eq!(code(b"TURN"), Err(502));
        assert_eq!(code(b"EHLO"), Err(501));
        assert_eq!(code(b"EHLO bad_domain!"), Err(501));
        assert_eq!(code(b"MAIL FROM: <a@b.c>"), Err(501));
        assert_eq!(code(b"MAIL TO:<a@b.c>"), Err(501));
        assert_eq!(code(b"MAIL FROM:a@b.c"), Err(501));
        assert_eq!(code(b"RCPT TO:<>"), Err(501));
        assert_eq!(code(b"DATA now"), Err(501));
        assert_eq!(code(b"NOOP\nQUIT"), Err(500));
        let long = format!("RCPT TO:<{}@b.c>", "a".repeat(65));
        assert_eq!(code(long.as_bytes()), Err(501));
        assert_eq!(
            parse_command(long.as_bytes()).map_err(|e| e.reply().text().to_string()),
            Err("Path too long".into())
        );
    }

    #[test]
    fn mail_params_size_and_body() {
        let p = |s: &str| match parse_command(format!("MAIL FROM:<a@b.c> {s}").as_bytes()) {
            Ok(SmtpCommand::Mail { params, .. }) => mail_params(&params),
            other => panic!("{other:?}"),
        };
        assert_eq!(p("SIZE=100 BODY=8bitmime"), Ok(MailParams { size: Some(100), body: Some(BodyType::EightBitMime) }));
        assert_eq!(p("SIZE=x").map_err(|e| e.reply().code), Err(501));
        assert_eq!(p("BODY=BINARYMIME").map_err(|e| e.reply().code), Err(501));
        assert_eq!(p("SMTPUTF8").map_err(|e| e.reply().code), Err(555));
        assert_eq!(p("SIZE=99999999999999999999"), Ok(MailParams { size: Some(u64::MAX), body: None }));
    }

    #[test]
    fn replies_parse_single_and_multi_line() {
        let r = Reply::multi(250, vec!["foo.com greets bar.com".into(), "8BITMIME".into(), "HELP".into()]);
        let bytes = r.to_bytes();
        assert_eq!(bytes, b"250-foo.com greets bar.com\r\n250-8BITMIME\r\n250 HELP\r\n");
        assert_eq!(parse_reply(&bytes), Ok(Some((r, bytes.len()))));
        assert_eq!(parse_reply(b"250-a\r\n250 b"), Ok(None));
        assert_eq!(parse_reply(b"250-a\r\n251 b\r\n"), Err(ReplyError::MixedCodes));
        assert_eq!(parse_reply(b"25 x\r\n"), Err(ReplyError::BadCode));
        assert_eq!(parse_reply(b"650 x\r\n"), Err(ReplyError::BadCode));
        assert_eq!(parse_reply(b"250x\r\n"), Err(ReplyError::BadSeparator));
        assert_eq!(parse_reply(b"250\r\n"), Ok(Some((Reply::new(250, ""), 5))));
    }
}
