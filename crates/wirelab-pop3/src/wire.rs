//! POP3 on the wire (RFC 1939 §3): command lines, status lines (`+OK` / `-ERR`),
//! multi-line responses with byte-stuffing, and typed errors.
//!
//! RFC 1939 §3: "Commands in the POP3 consist of a case-insensitive keyword, possibly
//! followed by one or more arguments. All commands are terminated by a CRLF pair.
//! Keywords and arguments consist of printable ASCII characters. Keywords and arguments
//! are each separated by a single SPACE character. Keywords are three or four characters
//! long. Each argument may be up to 40 characters long."
//!
//! "Responses may be up to 512 characters long, including the terminating CRLF. There
//! are currently two status indicators: positive ("+OK") and negative ("-ERR"). Servers
//! MUST send the "+OK" and "-ERR" in upper case."
//!
//! Every parser takes bytes and never panics: they are the entry points for fuzzing.

use std::fmt;

/// RFC 1939 §3: "Responses may be up to 512 characters long, including the terminating
/// CRLF."
pub const MAX_RESPONSE_LINE: usize = 512;
/// The longest command line the server reads. RFC 1939 gives keywords of 4 characters
/// and arguments of 40; RFC 2449 §4 says "The maximum length of a command line is 255
/// octets, including the terminating CRLF."
pub const MAX_COMMAND_LINE: usize = 255;
/// RFC 1939 §3: "Each argument may be up to 40 characters long."
pub const MAX_ARGUMENT: usize = 40;

/// One POP3 command (RFC 1939 §5–§7).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Pop3Command {
    /// `USER name` (§7).
    User(String),
    /// `PASS string` (§7): the rest of the line, spaces included.
    Pass(String),
    /// `APOP name digest` (§7).
    Apop { name: String, digest: String },
    /// `STAT` (§5).
    Stat,
    /// `LIST [msg]` (§5).
    List(Option<u32>),
    /// `RETR msg` (§5).
    Retr(u32),
    /// `DELE msg` (§5).
    Dele(u32),
    /// `NOOP` (§5).
    Noop,
    /// `RSET` (§5).
    Rset,
    /// `TOP msg n` (§7).
    Top { msg: u32, lines: u32 },
    /// `UIDL [msg]` (§7).
    Uidl(Option<u32>),
    /// `QUIT` (§4, §6).
    Quit,
}

impl Pop3Command {
    pub fn keyword(&self) -> &'static str {
        match self {
            Pop3Command::User(_) => "USER",
            Pop3Command::Pass(_) => "PASS",
            Pop3Command::Apop { .. } => "APOP",
            Pop3Command::Stat => "STAT",
            Pop3Command::List(_) => "LIST",
            Pop3Command::Retr(_) => "RETR",
            Pop3Command::Dele(_) => "DELE",
            Pop3Command::Noop => "NOOP",
            Pop3Command::Rset => "RSET",
            Pop3Command::Top { .. } => "TOP",
            Pop3Command::Uidl(_) => "UIDL",
            Pop3Command::Quit => "QUIT",
        }
    }

    /// Whether a positive answer to this command is multi-line (RFC 1939 §5, §7).
    pub fn multi_line(&self) -> bool {
        matches!(
            self,
            Pop3Command::List(None) | Pop3Command::Retr(_) | Pop3Command::Top { .. } | Pop3Command::Uidl(None)
        )
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        format!("{self}\r\n").into_bytes()
    }
}

impl fmt::Display for Pop3Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Pop3Command::User(n) => write!(f, "USER {n}"),
            Pop3Command::Pass(p) => write!(f, "PASS {p}"),
            Pop3Command::Apop { name, digest } => write!(f, "APOP {name} {digest}"),
            Pop3Command::Stat => f.write_str("STAT"),
            Pop3Command::List(None) => f.write_str("LIST"),
            Pop3Command::List(Some(n)) => write!(f, "LIST {n}"),
            Pop3Command::Retr(n) => write!(f, "RETR {n}"),
            Pop3Command::Dele(n) => write!(f, "DELE {n}"),
            Pop3Command::Noop => f.write_str("NOOP"),
            Pop3Command::Rset => f.write_str("RSET"),
            Pop3Command::Top { msg, lines } => write!(f, "TOP {msg} {lines}"),
            Pop3Command::Uidl(None) => f.write_str("UIDL"),
            Pop3Command::Uidl(Some(n)) => write!(f, "UIDL {n}"),
            Pop3Command::Quit => f.write_str("QUIT"),
        }
    }
}

/// A command line that cannot be read. The server answers every one with `-ERR` and the
/// session goes on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CommandError {
    /// Longer than [`MAX_COMMAND_LINE`].
    LineTooLong,
    /// A CR or LF that is not part of the CRLF ending the line (§3).
    BareCrOrLf,
    /// No such keyword.
    Unknown { keyword: String },
    /// The keyword is right, its arguments are not.
    BadArguments { keyword: &'static str, detail: &'static str },
}

impl CommandError {
    /// The text after `-ERR`.
    pub fn text(&self) -> String {
        match self {
            CommandError::LineTooLong => "line too long".into(),
            CommandError::BareCrOrLf => "bare CR or LF in a command".into(),
            CommandError::Unknown { .. } => "unknown command".into(),
            CommandError::BadArguments { keyword, detail } => format!("{keyword}: {detail}"),
        }
    }
}

impl fmt::Display for CommandError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CommandError::Unknown { keyword } => write!(f, "unknown command {keyword:?}"),
            other => f.write_str(&other.text()),
        }
    }
}

impl std::error::Error for CommandError {}

/// A message number: `1*DIGIT` (RFC 1939 §5: "a message-number argument ... the first
/// message in the maildrop is numbered 1").
fn number(arg: &[u8]) -> Option<u32> {
    if arg.is_empty() || arg.len() > 10 || !arg.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(arg).ok()?.parse().ok()
}

const KEYWORDS: [&str; 12] =
    ["USER", "PASS", "APOP", "STAT", "LIST", "RETR", "DELE", "NOOP", "RSET", "TOP", "UIDL", "QUIT"];

/// Parses one command line, without its CRLF. Never panics.
pub fn parse_command(line: &[u8]) -> Result<Pop3Command, CommandError> {
    if line.contains(&b'\r') || line.contains(&b'\n') {
        return Err(CommandError::BareCrOrLf);
    }
    if line.len() + 2 > MAX_COMMAND_LINE {
        return Err(CommandError::LineTooLong);
    }
    let (keyword, rest) = match line.iter().position(|&b| b == b' ') {
        Some(i) => (&line[..i], Some(&line[i + 1..])),
        None => (line, None),
    };
    let key = String::from_utf8_lossy(keyword).to_ascii_uppercase();
    let args: Vec<&[u8]> = rest.map(|r| r.split(|&b| b == b' ').collect()).unwrap_or_default();
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    let bad = |keyword: &'static str, detail: &'static str| CommandError::BadArguments { keyword, detail };
    let printable = |a: &[u8]| !a.is_empty() && a.iter().all(|&b| b.is_ascii_graphic());
    let check = |keyword: &'static str, a: &[u8]| -> Result<(), CommandError> {
        if !printable(a) {
            Err(bad(keyword, "arguments are printable ASCII separated by single spaces"))
        } else if a.len() > MAX_ARGUMENT {
            Err(bad(keyword, "an argument is longer than 40 characters"))
        } else {
            Ok(())
        }
    };
    let msg = |keyword: &'static str, a: &[u8]| number(a).ok_or_else(|| bad(keyword, "a message number is required"));
    let none = |keyword: &'static str, c: Pop3Command| {
        if rest.is_none() { Ok(c) } else { Err(bad(keyword, "no arguments are allowed")) }
    };
    // Single spaces between arguments (§3): no empty argument, except in PASS.
    if let Some(k) = KEYWORDS.iter().find(|k| **k == key && **k != "PASS")
        && args.iter().any(|a| a.is_empty())
    {
        return Err(bad(k, "arguments are printable ASCII separated by single spaces"));
    }
    match key.as_str() {
        "USER" => match args.as_slice() {
            [name] => check("USER", name).map(|()| Pop3Command::User(text(name))),
            _ => Err(bad("USER", "exactly one argument, the mailbox name")),
        },
        // §7 PASS: "Since the PASS command has exactly one argument, a POP3 server may
        // treat spaces in the argument as part of the password, instead of as argument
        // separators." We do, and allow passwords longer than 40 characters.
        "PASS" => match rest {
            Some(p) if !p.is_empty() && p.iter().all(|&b| b == b' ' || b.is_ascii_graphic()) => {
                Ok(Pop3Command::Pass(text(p)))
            }
            _ => Err(bad("PASS", "a password is required")),
        },
        "APOP" => match args.as_slice() {
            [name, digest] => {
                check("APOP", name)?;
                if digest.len() != 32 || !digest.iter().all(u8::is_ascii_hexdigit) {
                    return Err(bad("APOP", "the digest is 32 hexadecimal digits"));
                }
                Ok(Pop3Command::Apop { name: text(name), digest: text(digest).to_ascii_lowercase() })
            }
            _ => Err(bad("APOP", "a name and a digest are required")),
        },
        "STAT" => none("STAT", Pop3Command::Stat),
        "NOOP" => none("NOOP", Pop3Command::Noop),
        "RSET" => none("RSET", Pop3Command::Rset),
        "QUIT" => none("QUIT", Pop3Command::Quit),
        "LIST" | "UIDL" => {
            let k = if key == "LIST" { "LIST" } else { "UIDL" };
            let n = match args.as_slice() {
                [] => None,
                [n] => Some(msg(k, n)?),
                _ => return Err(bad(k, "at most one message number")),
            };
            Ok(if k == "LIST" { Pop3Command::List(n) } else { Pop3Command::Uidl(n) })
        }
        "RETR" | "DELE" => {
            let k = if key == "RETR" { "RETR" } else { "DELE" };
            let [n] = args.as_slice() else { return Err(bad(k, "exactly one message number")) };
            let n = msg(k, n)?;
            Ok(if k == "RETR" { Pop3Command::Retr(n) } else { Pop3Command::Dele(n) })
        }
        "TOP" => {
            let [m, n] = args.as_slice() else { return Err(bad("TOP", "a message number and a line count")) };
            let msg = msg("TOP", m)?;
            let lines = number(n).ok_or_else(|| bad("TOP", "the line count is a non-negative number"))?;
            Ok(Pop3Command::Top { msg, lines })
        }
        _ => Err(CommandError::Unknown { keyword: key.chars().take(16).collect() }),
    }
}

/// A status line: `+OK text` or `-ERR text`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Status {
    pub ok: bool,
    pub text: String,
}

impl Status {
    pub fn ok(text: impl Into<String>) -> Status {
        Status { ok: true, text: text.into() }
    }

    pub fn err(text: impl Into<String>) -> Status {
        Status { ok: false, text: text.into() }
    }

    /// The line, CRLF included, cut to 512 octets (§3); CR and LF in the text become spaces.
    pub fn to_bytes(&self) -> Vec<u8> {
        let indicator = if self.ok { "+OK" } else { "-ERR" };
        let mut text: String = self.text.chars().map(|c| if c == '\r' || c == '\n' { ' ' } else { c }).collect();
        let room = MAX_RESPONSE_LINE - indicator.len() - 3;
        if text.len() > room {
            let mut cut = room;
            while !text.is_char_boundary(cut) {
                cut -= 1;
            }
            text.truncate(cut);
        }
        if text.is_empty() { format!("{indicator}\r\n") } else { format!("{indicator} {text}\r\n") }.into_bytes()
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", if self.ok { "+OK" } else { "-ERR" }, self.text)
    }
}

/// A response that cannot be read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ResponseError {
    /// Neither `+OK` nor `-ERR` (in upper case, §3).
    BadStatus,
    /// A line longer than 512 octets (§3).
    LineTooLong,
}

impl fmt::Display for ResponseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ResponseError::BadStatus => "a response starts with +OK or -ERR",
            ResponseError::LineTooLong => "response line longer than 512 octets",
        })
    }
}

impl std::error::Error for ResponseError {}

/// Parses a status line, without its CRLF. Never panics.
pub fn parse_status(line: &[u8]) -> Result<Status, ResponseError> {
    if line.len() + 2 > MAX_RESPONSE_LINE {
        return Err(ResponseError::LineTooLong);
    }
    let (ok, rest) = if let Some(r) = line.strip_prefix(b"+OK") {
        (true, r)
    } else if let Some(r) = line.strip_prefix(b"-ERR") {
        (false, r)
    } else {
        return Err(ResponseError::BadStatus);
    };
    let text = match rest {
        [] => String::new(),
        [b' ', t @ ..] => String::from_utf8_lossy(t).into_owned(),
        _ => return Err(ResponseError::BadStatus),
    };
    Ok(Status { ok, text })
}

/// A whole response: the status, and for a positive multi-line one its lines, unstuffed,
/// each ended by CRLF (without the final `.` line).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Response {
    pub status: Status,
    pub body: Option<Vec<u8>>,
}

/// Parses one response at the start of `bytes`: `Ok(None)` until it is complete, else
/// the response and how many bytes it took. `multi_line` says whether a positive answer
/// to the command asked is multi-line (a negative one never is, §3). Never panics.
pub fn parse_response(bytes: &[u8], multi_line: bool) -> Result<Option<(Response, usize)>, ResponseError> {
    let Some(end) = bytes.windows(2).position(|w| w == b"\r\n") else {
        if bytes.len() >= MAX_RESPONSE_LINE {
            return Err(ResponseError::LineTooLong);
        }
        return Ok(None);
    };
    let status = parse_status(&bytes[..end])?;
    let used = end + 2;
    if !status.ok || !multi_line {
        return Ok(Some((Response { status, body: None }, used)));
    }
    Ok(unstuff(&bytes[used..]).map(|(body, n)| (Response { status, body: Some(body) }, used + n)))
}

/// The lines of a multi-line response, byte-stuffed, and the termination line (§3): "If
/// any line of the multi-line response begins with the termination octet, the line is
/// "byte-stuffed" by pre-pending the termination octet to that line of the response.
/// Hence a multi-line response is terminated with the five octets "CRLF.CRLF"."
///
/// Line ends are made CRLF first: a bare LF or CR becomes CRLF, and content that does not
/// end with CRLF gets one.
pub fn stuff(content: &[u8]) -> Vec<u8> {
    let content = canonical(content);
    let mut out = Vec::with_capacity(content.len() + 8);
    for line in content.split_inclusive(|&b| b == b'\n') {
        if line.first() == Some(&b'.') {
            out.push(b'.');
        }
        out.extend_from_slice(line);
    }
    out.extend_from_slice(b".\r\n");
    out
}

/// Every line ended by CRLF (see [`stuff`]). Content already so is unchanged.
pub fn canonical(content: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(content.len() + 2);
    let mut i = 0;
    while i < content.len() {
        match content[i] {
            b'\r' if content.get(i + 1) == Some(&b'\n') => {
                out.extend_from_slice(b"\r\n");
                i += 1;
            }
            b'\r' | b'\n' => out.extend_from_slice(b"\r\n"),
            b => out.push(b),
        }
        i += 1;
    }
    if !out.is_empty() && !out.ends_with(b"\r\n") {
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// The inverse of [`stuff`], from the first line after the status line: the content and
/// how many bytes it took, termination line included, or `None` if the end has not
/// arrived (§3: "If so and if octets other than CRLF follow, the first octet of the line
/// (the termination octet) is stripped away. If so and if CRLF immediately follows the
/// termination character, then the response from the POP server is ended"). Never panics.
pub fn unstuff(bytes: &[u8]) -> Option<(Vec<u8>, usize)> {
    let mut out = Vec::with_capacity(bytes.len());
    let mut at = 0;
    while let Some(i) = bytes[at..].windows(2).position(|w| w == b"\r\n") {
        let line = &bytes[at..at + i];
        at += i + 2;
        if line == b"." {
            return Some((out, at));
        }
        out.extend_from_slice(line.strip_prefix(b".").unwrap_or(line));
        out.extend_from_slice(b"\r\n");
    }
    None
}

/// The header section and the first `n` lines of the body of `message` (TOP, §7): "the
/// POP3 server sends the headers of the message, the blank line separating the headers
/// from the body, and then the number of lines of the indicated message's body". A
/// message with no blank line is all header.
pub fn top(message: &[u8], n: u32) -> Vec<u8> {
    let message = canonical(message);
    let mut out = Vec::new();
    let mut lines = message.split_inclusive(|&b| b == b'\n');
    for line in lines.by_ref() {
        out.extend_from_slice(line);
        if line == b"\r\n" {
            break;
        }
    }
    for line in lines.take(n as usize) {
        out.extend_from_slice(line);
    }
    out
}

/// RFC 1939 §7 UIDL: "The unique-id of a message is an arbitrary server-determined
/// string, consisting of one to 70 characters in the range 0x21 to 0x7E".
pub fn is_unique_id(uid: &str) -> bool {
    (1..=70).contains(&uid.len()) && uid.bytes().all(|b| (0x21..=0x7e).contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_parse_and_print_back() {
        for line in [
            "USER mrose",
            "PASS secret with spaces",
            "APOP mrose c4c9334bac560ecc979e58001b3e22fb",
            "STAT",
            "LIST",
            "LIST 2",
            "RETR 1",
            "DELE 1",
            "NOOP",
            "RSET",
            "TOP 1 10",
            "UIDL",
            "UIDL 2",
            "QUIT",
        ] {
            let c = parse_command(line.as_bytes()).expect(line);
            assert_eq!(c.to_string(), line);
        }
        assert_eq!(parse_command(b"retr 1"), Ok(Pop3Command::Retr(1)));
    }

    #[test]
    fn bad_commands() {
        for line in [
            &b"RETR"[..],
            b"RETR x",
            b"RETR -1",
            b"RETR 1 2",
            b"LIST 1 2",
            b"STAT 1",
            b"USER",
            b"USER a b",
            b"TOP 1",
            b"APOP mrose short",
            b"XYZZY",
            b"NOOP\nQUIT",
            b"USER  mrose",
        ] {
            assert!(parse_command(line).is_err(), "{}", String::from_utf8_lossy(line));
        }
        let long = format!("USER {}", "a".repeat(41));
        assert!(parse_command(long.as_bytes()).is_err());
    }

    #[test]
    fn responses() {
        assert_eq!(
            parse_response(b"+OK 2 320\r\n", false),
            Ok(Some((Response { status: Status::ok("2 320"), body: None }, 11)))
        );
        assert_eq!(parse_response(b"+OK\r\n1 120\r\n", true), Ok(None));
        assert_eq!(
            parse_response(b"+OK\r\n1 120\r\n..x\r\n.\r\nrest", true),
            Ok(Some((Response { status: Status::ok(""), body: Some(b"1 120\r\n.x\r\n".to_vec()) }, 20)))
        );
        // A negative response is one line even to a multi-line command.
        assert_eq!(parse_response(b"-ERR no such message\r\n", true).map(|r| r.map(|(r, _)| r.body)), Ok(Some(None)));
        assert_eq!(parse_response(b"+ok\r\n", false), Err(ResponseError::BadStatus));
        assert_eq!(parse_response(b"+OKAY\r\n", false), Err(ResponseError::BadStatus));
    }

    #[test]
    fn stuffing() {
        assert_eq!(stuff(b".a\r\n.\r\nb"), b"..a\r\n..\r\nb\r\n.\r\n");
        assert_eq!(unstuff(&stuff(b".a\r\n.\r\nb\r\n")), Some((b".a\r\n.\r\nb\r\n".to_vec(), 15)));
    }

    #[test]
    fn top_lines() {
        let m = b"Subject: x\r\nFrom: y\r\n\r\n1\r\n2\r\n3\r\n";
        assert_eq!(top(m, 0), b"Subject: x\r\nFrom: y\r\n\r\n");
        assert_eq!(top(m, 2), b"Subject: x\r\nFrom: y\r\n\r\n1\r\n2\r\n");
        assert_eq!(top(m, 99), m);
        assert_eq!(top(b"no body", 3), b"no body\r\n");
    }
}
