//! IMAP's lexical layer (RFC 9051 §4, §9): the framer that cuts a byte stream into
//! whole commands or responses (lines plus the literals inside them), a cursor that
//! reads atoms, numbers, quoted strings, literals and lists from one such frame, and
//! the writers that choose how to send a string.
//!
//! ```text
//! literal  = "{" number64 ["+"] "}" CRLF *CHAR8     (RFC 9051 §9; "+": RFC 7888)
//! quoted   = DQUOTE *QUOTED-CHAR DQUOTE            QUOTED-CHAR escapes only \ and "
//! atom     = 1*ATOM-CHAR                           not ( ) { SP CTL % * " \ ]
//! ```
//!
//! A literal is how IMAP carries any bytes, CR and LF included: its length first, then
//! exactly that many octets. The line it ends is continued after them, so a "line" of
//! IMAP can hold many physical lines. The framer knows this; nothing else has to.
//!
//! NOT RFC 9051 COMPLIANT: a bare LF ends a line like CRLF does, so a student typing
//! into `nc` (which sends LF) is understood. Everything we send uses CRLF.

use crate::types::{Flag, SeqNumber, SeqRange, SeqSet};
use std::fmt;

/// Bytes that could not be read as IMAP: where, and what was expected there.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError {
    /// Offset in the frame.
    pub at: usize,
    pub expected: &'static str,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "at byte {}: expected {}", self.at, self.expected)
    }
}

impl std::error::Error for ParseError {}

/// `ATOM-CHAR` (RFC 9051 §9): any CHAR except atom-specials
/// `( ) { SP CTL % * " \ ]`.
pub fn is_atom_char(b: u8) -> bool {
    (0x21..0x7f).contains(&b) && !matches!(b, b'(' | b')' | b'{' | b'%' | b'*' | b'"' | b'\\' | b']')
}

/// `ASTRING-CHAR = ATOM-CHAR / resp-specials` (RFC 9051 §9): an atom that may hold `]`.
pub fn is_astring_char(b: u8) -> bool {
    is_atom_char(b) || b == b']'
}

/// `tag = 1*<any ASTRING-CHAR except "+">` (RFC 9051 §9).
pub fn is_tag_char(b: u8) -> bool {
    is_astring_char(b) && b != b'+'
}

/// `list-char = ATOM-CHAR / list-wildcards / resp-specials` (RFC 9051 §9).
fn is_list_char(b: u8) -> bool {
    is_astring_char(b) || b == b'%' || b == b'*'
}

/// A generic IMAP value, for data this crate reads without knowing its meaning
/// (an extension's FETCH item, BODYSTRUCTURE extension data).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Value {
    Nil,
    Number(u64),
    String(Vec<u8>),
    Atom(String),
    List(Vec<Value>),
}

impl Value {
    pub fn emit(&self, out: &mut Vec<u8>) {
        match self {
            Value::Nil => out.extend_from_slice(b"NIL"),
            Value::Number(n) => out.extend_from_slice(n.to_string().as_bytes()),
            Value::String(s) => emit_string(out, s),
            Value::Atom(a) => out.extend_from_slice(a.as_bytes()),
            Value::List(items) => {
                out.push(b'(');
                for (i, v) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(b' ');
                    }
                    v.emit(out);
                }
                out.push(b')');
            }
        }
    }
}

/// Reads one frame (see [`Framer`]) left to right. Every method either consumes what
/// it read and returns it, or returns a [`ParseError`]; none panics, whatever the bytes.
#[derive(Debug)]
pub struct Cursor<'a> {
    b: &'a [u8],
    pos: usize,
    /// Nesting of parenthesized lists, bounded so a hostile peer cannot exhaust the stack.
    depth: usize,
}

/// How deep lists may nest (BODYSTRUCTURE of nested multiparts is the deepest real use).
pub const MAX_DEPTH: usize = 32;

impl<'a> Cursor<'a> {
    pub fn new(b: &'a [u8]) -> Self {
        Cursor { b, pos: 0, depth: 0 }
    }

    pub fn pos(&self) -> usize {
        self.pos
    }

    pub fn rest(&self) -> &'a [u8] {
        self.b.get(self.pos..).unwrap_or_default()
    }

    pub fn err(&self, expected: &'static str) -> ParseError {
        ParseError { at: self.pos, expected }
    }

    /// Steps over `n` bytes (at most to the end).
    pub fn skip(&mut self, n: usize) {
        self.pos = self.pos.saturating_add(n).min(self.b.len());
    }

    pub fn peek(&self) -> Option<u8> {
        self.b.get(self.pos).copied()
    }

    pub fn peek_at(&self, i: usize) -> Option<u8> {
        self.b.get(self.pos + i).copied()
    }

    pub fn eat(&mut self, c: u8) -> bool {
        if self.peek() == Some(c) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    pub fn expect(&mut self, c: u8, what: &'static str) -> Result<(), ParseError> {
        if self.eat(c) { Ok(()) } else { Err(self.err(what)) }
    }

    pub fn sp(&mut self) -> Result<(), ParseError> {
        self.expect(b' ', "SP")
    }

    /// Whether the keyword `word` (ASCII, any case) comes next, followed by something
    /// that cannot continue it; consumes it if so.
    pub fn keyword(&mut self, word: &str) -> bool {
        let n = word.len();
        let Some(next) = self.b.get(self.pos..self.pos + n) else { return false };
        if !next.eq_ignore_ascii_case(word.as_bytes()) {
            return false;
        }
        if self.b.get(self.pos + n).is_some_and(|&c| c.is_ascii_alphanumeric() || c == b'.' || c == b'-') {
            return false;
        }
        self.pos += n;
        true
    }

    /// CRLF, or a bare LF (see the module comment).
    pub fn crlf(&mut self) -> Result<(), ParseError> {
        if self.rest().starts_with(b"\r\n") {
            self.pos += 2;
            Ok(())
        } else if self.eat(b'\n') {
            Ok(())
        } else {
            Err(self.err("CRLF"))
        }
    }

    /// At the end of the frame (after its CRLF, or at the end of text without one).
    pub fn at_end(&self) -> bool {
        self.pos >= self.b.len()
    }

    pub fn end(&self) -> Result<(), ParseError> {
        if self.at_end() { Ok(()) } else { Err(self.err("end of input")) }
    }

    /// At CRLF (or LF) or the end.
    pub fn at_eol(&self) -> bool {
        matches!(self.peek(), None | Some(b'\r' | b'\n'))
    }

    fn take_while(&mut self, f: impl Fn(u8) -> bool) -> &'a [u8] {
        let start = self.pos;
        while self.peek().is_some_and(&f) {
            self.pos += 1;
        }
        &self.b[start..self.pos]
    }

    /// `atom` (RFC 9051 §9).
    pub fn atom(&mut self) -> Result<&'a str, ParseError> {
        let s = self.take_while(is_atom_char);
        if s.is_empty() {
            return Err(self.err("an atom"));
        }
        // ATOM-CHAR is ASCII, so this cannot fail.
        std::str::from_utf8(s).map_err(|_| self.err("an atom"))
    }

    /// A keyword made of letters, digits, `.` and `-` (`BODY.PEEK`, `RFC822.SIZE`,
    /// `READ-WRITE`), upper-cased: what commands and responses are named with.
    pub fn word(&mut self) -> Result<String, ParseError> {
        let s = self.take_while(|c| c.is_ascii_alphanumeric() || c == b'.' || c == b'-');
        if s.is_empty() {
            return Err(self.err("a keyword"));
        }
        Ok(String::from_utf8_lossy(s).to_ascii_uppercase())
    }

    /// `tag` (RFC 9051 §9).
    pub fn tag(&mut self) -> Result<&'a str, ParseError> {
        let s = self.take_while(is_tag_char);
        if s.is_empty() {
            return Err(self.err("a tag"));
        }
        std::str::from_utf8(s).map_err(|_| self.err("a tag"))
    }

    /// `number` (RFC 9051 §9): up to 32 bits.
    pub fn number(&mut self) -> Result<u32, ParseError> {
        let at = self.pos;
        let n = self.number64()?;
        u32::try_from(n).map_err(|_| ParseError { at, expected: "a number below 2^32" })
    }

    /// `nz-number`: a number that is not 0.
    pub fn nz_number(&mut self) -> Result<u32, ParseError> {
        let at = self.pos;
        match self.number()? {
            0 => Err(ParseError { at, expected: "a non-zero number" }),
            n => Ok(n),
        }
    }

    /// `number64` (RFC 9051 §9): up to 63 bits.
    pub fn number64(&mut self) -> Result<u64, ParseError> {
        let at = self.pos;
        let digits = self.take_while(|c| c.is_ascii_digit());
        if digits.is_empty() {
            return Err(self.err("a number"));
        }
        let mut n: u64 = 0;
        for &d in digits {
            n = n
                .checked_mul(10)
                .and_then(|n| n.checked_add(u64::from(d - b'0')))
                .filter(|&n| n <= i64::MAX as u64)
                .ok_or(ParseError { at, expected: "a number below 2^63" })?;
        }
        Ok(n)
    }

    /// `quoted` (RFC 9051 §9), unescaped.
    pub fn quoted(&mut self) -> Result<Vec<u8>, ParseError> {
        self.expect(b'"', "a quoted string")?;
        let mut out = Vec::new();
        loop {
            match self.peek() {
                None | Some(b'\r' | b'\n' | 0) => return Err(self.err("a closing quote")),
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(out);
                }
                Some(b'\\') => {
                    self.pos += 1;
                    match self.peek() {
                        Some(c @ (b'"' | b'\\')) => {
                            out.push(c);
                            self.pos += 1;
                        }
                        _ => return Err(self.err("\\\" or \\\\ after a backslash in a quoted string")),
                    }
                }
                Some(c) => {
                    out.push(c);
                    self.pos += 1;
                }
            }
        }
    }

    /// The header of a literal, `{n}` or `{n+}`, and its CRLF: returns `(n, synchronizing)`.
    pub fn literal_header(&mut self) -> Result<(u64, bool), ParseError> {
        self.expect(b'{', "{")?;
        let n = self.number64()?;
        let plus = self.eat(b'+');
        self.expect(b'}', "}")?;
        self.crlf()?;
        Ok((n, !plus))
    }

    /// `literal` (RFC 9051 §9; `{n+}` from RFC 7888): its octets.
    pub fn literal(&mut self) -> Result<Vec<u8>, ParseError> {
        let (n, _) = self.literal_header()?;
        let n = usize::try_from(n).map_err(|_| self.err("a literal that fits in memory"))?;
        let data = self.b.get(self.pos..self.pos.saturating_add(n)).ok_or(self.err("the literal's octets"))?;
        self.pos += n;
        Ok(data.to_vec())
    }

    /// `string = quoted / literal`.
    pub fn string(&mut self) -> Result<Vec<u8>, ParseError> {
        match self.peek() {
            Some(b'"') => self.quoted(),
            Some(b'{') => self.literal(),
            _ => Err(self.err("a string")),
        }
    }

    /// `astring = 1*ASTRING-CHAR / string`.
    pub fn astring(&mut self) -> Result<Vec<u8>, ParseError> {
        match self.peek() {
            Some(b'"' | b'{') => self.string(),
            _ => {
                let s = self.take_while(is_astring_char);
                if s.is_empty() { Err(self.err("an astring")) } else { Ok(s.to_vec()) }
            }
        }
    }

    /// [`Cursor::astring`] as text (invalid UTF-8 replaced).
    pub fn astring_text(&mut self) -> Result<String, ParseError> {
        self.astring().map(|b| String::from_utf8_lossy(&b).into_owned())
    }

    /// `nstring = string / nil`.
    pub fn nstring(&mut self) -> Result<Option<Vec<u8>>, ParseError> {
        if self.keyword("NIL") { Ok(None) } else { self.string().map(Some) }
    }

    /// [`Cursor::nstring`] as text.
    pub fn nstring_text(&mut self) -> Result<Option<String>, ParseError> {
        Ok(self.nstring()?.map(|b| String::from_utf8_lossy(&b).into_owned()))
    }

    /// `mailbox = "INBOX" / astring` ("INBOX" is case-insensitive, RFC 9051 §5.1).
    pub fn mailbox(&mut self) -> Result<String, ParseError> {
        let name = self.astring_text()?;
        Ok(if name.eq_ignore_ascii_case("INBOX") { "INBOX".into() } else { name })
    }

    /// `list-mailbox = 1*list-char / string`.
    pub fn list_mailbox(&mut self) -> Result<String, ParseError> {
        match self.peek() {
            Some(b'"' | b'{') => Ok(String::from_utf8_lossy(&self.string()?).into_owned()),
            _ => {
                let s = self.take_while(is_list_char);
                if s.is_empty() {
                    Err(self.err("a mailbox pattern"))
                } else {
                    Ok(String::from_utf8_lossy(s).into_owned())
                }
            }
        }
    }

    /// `flag` (or `flag-perm`, which adds `\*`).
    pub fn flag(&mut self) -> Result<Flag, ParseError> {
        let at = self.pos;
        let backslash = self.eat(b'\\');
        let name = if backslash && self.eat(b'*') { "*" } else { self.atom()? };
        let text = if backslash { format!("\\{name}") } else { name.to_string() };
        Flag::parse(&text).ok_or(ParseError { at, expected: "a flag" })
    }

    /// `flag-list = "(" [flag *(SP flag)] ")"`.
    pub fn flag_list(&mut self) -> Result<Vec<Flag>, ParseError> {
        self.expect(b'(', "( to open a flag list")?;
        let mut flags = Vec::new();
        if self.eat(b')') {
            return Ok(flags);
        }
        loop {
            flags.push(self.flag()?);
            if self.eat(b')') {
                return Ok(flags);
            }
            self.sp()?;
        }
    }

    fn seq_number(&mut self) -> Result<SeqNumber, ParseError> {
        if self.eat(b'*') { Ok(SeqNumber::Star) } else { self.nz_number().map(SeqNumber::Num) }
    }

    /// `sequence-set` (RFC 9051 §9).
    pub fn seq_set(&mut self) -> Result<SeqSet, ParseError> {
        let mut ranges = Vec::new();
        loop {
            let from = self.seq_number()?;
            let to = if self.eat(b':') { self.seq_number()? } else { from };
            ranges.push(SeqRange { from, to });
            if !self.eat(b',') {
                return Ok(SeqSet(ranges));
            }
        }
    }

    /// Everything up to the end of the line, as text: `resp-text`'s `text`.
    pub fn text_to_eol(&mut self) -> String {
        let s = self.take_while(|c| c != b'\r' && c != b'\n');
        String::from_utf8_lossy(s).into_owned()
    }

    /// Any value: NIL, a number, a string, an atom or a parenthesized list of values.
    pub fn value(&mut self) -> Result<Value, ParseError> {
        match self.peek() {
            Some(b'(') => {
                if self.depth >= MAX_DEPTH {
                    return Err(self.err("lists nested less deeply"));
                }
                self.depth += 1;
                self.pos += 1;
                let mut items = Vec::new();
                if !self.eat(b')') {
                    loop {
                        items.push(self.value()?);
                        if self.eat(b')') {
                            break;
                        }
                        self.sp()?;
                    }
                }
                self.depth -= 1;
                Ok(Value::List(items))
            }
            Some(b'"' | b'{') => self.string().map(Value::String),
            Some(c) if c.is_ascii_digit() => self.number64().map(Value::Number),
            _ => {
                if self.keyword("NIL") {
                    return Ok(Value::Nil);
                }
                let s = self.take_while(|c| is_astring_char(c) || c == b'\\' || c == b'[' || c == b'*');
                if s.is_empty() {
                    Err(self.err("a value"))
                } else {
                    Ok(Value::Atom(String::from_utf8_lossy(s).into_owned()))
                }
            }
        }
    }

    /// Enters a nested list (for recursive readers other than [`Cursor::value`]).
    pub fn enter(&mut self) -> Result<(), ParseError> {
        if self.depth >= MAX_DEPTH {
            return Err(self.err("lists nested less deeply"));
        }
        self.depth += 1;
        Ok(())
    }

    pub fn leave(&mut self) {
        self.depth = self.depth.saturating_sub(1);
    }
}

/// How a writer may send a literal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LiteralMode {
    /// `{n}`: the sender waits for the peer's `+` continuation before the octets
    /// (a client sending a command without LITERAL+).
    Sync,
    /// `{n+}` (RFC 7888 LITERAL+): the octets follow at once.
    NonSync,
    /// `{n}`, octets at once: how a server sends literals (RFC 9051 §4.3 — the client
    /// never sends continuations).
    Server,
}

/// Where a writer's output must pause for the peer's continuation request: after each
/// synchronizing literal's header.
pub type SplitPoints = Vec<usize>;

/// Writes `data` as a literal; records a split point after a synchronizing header.
pub fn emit_literal(out: &mut Vec<u8>, data: &[u8], mode: LiteralMode, splits: &mut SplitPoints) {
    let plus = if mode == LiteralMode::NonSync { "+" } else { "" };
    out.extend_from_slice(format!("{{{}{plus}}}\r\n", data.len()).as_bytes());
    if mode == LiteralMode::Sync {
        splits.push(out.len());
    }
    out.extend_from_slice(data);
}

/// Whether `data` can be sent as a quoted string: no CR, LF or NUL (RFC 9051 §9,
/// `QUOTED-CHAR`; 8-bit text is UTF-8 in IMAP4rev2), and not too long to read.
pub fn quotable(data: &[u8]) -> bool {
    data.len() <= 256 && !data.iter().any(|&b| b == b'\r' || b == b'\n' || b == 0) && std::str::from_utf8(data).is_ok()
}

/// Writes a quoted string, escaping `"` and `\`.
pub fn emit_quoted(out: &mut Vec<u8>, data: &[u8]) {
    out.push(b'"');
    for &b in data {
        if b == b'"' || b == b'\\' {
            out.push(b'\\');
        }
        out.push(b);
    }
    out.push(b'"');
}

/// Writes a `string`: quoted when possible, else a literal (server side).
pub fn emit_string(out: &mut Vec<u8>, data: &[u8]) {
    emit_string_mode(out, data, LiteralMode::Server, &mut Vec::new());
}

pub fn emit_string_mode(out: &mut Vec<u8>, data: &[u8], mode: LiteralMode, splits: &mut SplitPoints) {
    if quotable(data) { emit_quoted(out, data) } else { emit_literal(out, data, mode, splits) }
}

/// Writes an `astring`: an atom when every byte may stand in one (and it is not `NIL`,
/// which would read back as nothing), else a string.
pub fn emit_astring(out: &mut Vec<u8>, data: &[u8], mode: LiteralMode, splits: &mut SplitPoints) {
    if !data.is_empty() && data.iter().all(|&b| is_astring_char(b)) && !data.eq_ignore_ascii_case(b"NIL") {
        out.extend_from_slice(data);
    } else {
        emit_string_mode(out, data, mode, splits);
    }
}

/// Writes an `nstring`: `NIL` for none.
pub fn emit_nstring(out: &mut Vec<u8>, data: Option<&[u8]>) {
    match data {
        None => out.extend_from_slice(b"NIL"),
        Some(d) => emit_string(out, d),
    }
}

/// Limits on what a peer may make us buffer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Longest line, excluding the literals inside it (RFC 9051 §4 sets no limit;
    /// RFC 7162 §4 recommends at least 8192 octets for clients' command lines).
    pub max_line: usize,
    /// Largest literal.
    pub max_literal: u64,
    /// Largest whole frame: lines and literals together.
    pub max_frame: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { max_line: 8192, max_literal: 1 << 20, max_frame: 2 << 20 }
    }
}

/// Which side's stream a [`Framer`] reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    /// Reads commands (a server's input): a synchronizing literal's header is reported
    /// as [`Framed::NeedContinuation`], since the client waits for `+` before sending it.
    Commands,
    /// Reads responses (a client's input): literals always follow their header.
    Responses,
}

/// What the framer found in the stream so far.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Framed {
    /// A whole command or response: every line and literal, up to and with its final
    /// CRLF.
    Frame(Vec<u8>),
    /// A command line ended in a synchronizing literal's header (`{n}`): its octets will
    /// come only after the server sends a continuation request (RFC 9051 §7.5). The
    /// framer keeps the partial frame; `line` is its start (with the tag).
    NeedContinuation { line: Vec<u8>, size: u64 },
    /// A line or literal broke a [`Limits`] bound. `start` is the beginning of the frame
    /// (to read the tag from). The framer has dropped it: for a synchronizing literal it
    /// reads on from the next line (the client sends no octets without a `+`); otherwise
    /// it first skips the literal's octets and the rest of that line.
    TooBig { start: Vec<u8>, what: &'static str },
    /// More bytes are needed.
    Partial,
}

/// Cuts a stream into frames (see the module comment). Feed it with [`Framer::push`],
/// then call [`Framer::next_frame`] until [`Framed::Partial`].
#[derive(Clone, Debug)]
pub struct Framer {
    side: Side,
    limits: Limits,
    buf: Vec<u8>,
    /// How far into `buf` the current frame has been scanned.
    scanned: usize,
    /// Where the current line starts within `buf`.
    line_start: usize,
    /// Octets of the current literal still to come.
    literal_left: u64,
    /// Octets to throw away (a literal that was too big), then the rest of its line.
    skip: u64,
    skip_line: bool,
}

impl Framer {
    pub fn new(side: Side, limits: Limits) -> Framer {
        Framer { side, limits, buf: Vec::new(), scanned: 0, line_start: 0, literal_left: 0, skip: 0, skip_line: false }
    }

    pub fn push(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// Bytes held: the start of a frame not yet complete.
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// Whether a frame has started and is not complete.
    pub fn in_frame(&self) -> bool {
        !self.buf.is_empty()
    }

    fn reset(&mut self) {
        self.scanned = 0;
        self.line_start = 0;
        self.literal_left = 0;
    }

    pub fn next_frame(&mut self) -> Framed {
        // Throw away what a refused literal left behind.
        while self.skip > 0 || self.skip_line {
            if self.skip > 0 {
                let n = usize::try_from(self.skip).unwrap_or(usize::MAX).min(self.buf.len());
                self.buf.drain(..n);
                self.skip -= n as u64;
                if self.skip > 0 {
                    return Framed::Partial;
                }
            }
            match self.buf.iter().position(|&b| b == b'\n') {
                Some(i) => {
                    self.buf.drain(..=i);
                    self.skip_line = false;
                }
                None => {
                    self.buf.clear();
                    return Framed::Partial;
                }
            }
        }
        loop {
            if self.literal_left > 0 {
                let have = (self.buf.len() - self.scanned) as u64;
                if have < self.literal_left {
                    self.literal_left -= have;
                    self.scanned = self.buf.len();
                    return Framed::Partial;
                }
                self.scanned += self.literal_left as usize;
                self.literal_left = 0;
                self.line_start = self.scanned;
            }
            let Some(i) = self.buf[self.scanned..].iter().position(|&b| b == b'\n') else {
                if self.buf.len() - self.line_start > self.limits.max_line {
                    return self.too_big("a line no longer than the limit", false, 0);
                }
                self.scanned = self.buf.len();
                return Framed::Partial;
            };
            let eol = self.scanned + i;
            if eol - self.line_start > self.limits.max_line {
                return self.too_big("a line no longer than the limit", false, 0);
            }
            let line_end = if eol > self.line_start && self.buf[eol - 1] == b'\r' { eol - 1 } else { eol };
            if let Some((size, sync)) = literal_at_end(&self.buf[self.line_start..line_end]) {
                if size > self.limits.max_literal || eol + 1 + size as usize > self.limits.max_frame {
                    let skip = if sync && self.side == Side::Commands { 0 } else { size };
                    self.scanned = eol + 1;
                    return self.too_big("a literal no larger than the limit", true, skip);
                }
                self.scanned = eol + 1;
                self.literal_left = size;
                if size == 0 {
                    self.line_start = self.scanned;
                }
                if sync && self.side == Side::Commands {
                    return Framed::NeedContinuation { line: self.buf[..self.scanned].to_vec(), size };
                }
                continue;
            }
            let frame: Vec<u8> = self.buf.drain(..=eol).collect();
            self.reset();
            return Framed::Frame(frame);
        }
    }

    /// Drops the frame begun (after a [`Framed::NeedContinuation`] the server refused:
    /// the client sends no literal without a `+`, so what follows is a new line).
    pub fn abandon(&mut self) {
        let end = self.scanned.min(self.buf.len());
        self.buf.drain(..end);
        self.reset();
    }

    fn too_big(&mut self, what: &'static str, literal: bool, skip: u64) -> Framed {
        let end = self.scanned.min(self.buf.len());
        let start: Vec<u8> = self.buf[..if literal { end } else { self.buf.len().min(64) }].to_vec();
        if literal {
            self.buf.drain(..end);
            self.skip = skip;
            self.skip_line = skip > 0;
        } else {
            // A line too long: drop it all, up to its end when that has come.
            match self.buf[end..].iter().position(|&b| b == b'\n') {
                Some(i) => {
                    self.buf.drain(..end + i + 1);
                }
                None => {
                    self.buf.clear();
                    self.skip_line = true;
                }
            }
        }
        self.reset();
        Framed::TooBig { start, what }
    }
}

/// Whether a line (without its CRLF) ends in a literal's header: `{12}` or `{12+}`.
pub fn literal_at_end(line: &[u8]) -> Option<(u64, bool)> {
    let body = line.strip_suffix(b"}")?;
    let (body, sync) = match body.strip_suffix(b"+") {
        Some(b) => (b, false),
        None => (body, true),
    };
    let open = body.iter().rposition(|&b| b == b'{')?;
    let digits = &body[open + 1..];
    if digits.is_empty() || digits.len() > 18 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let n = std::str::from_utf8(digits).ok()?.parse().ok()?;
    Some((n, sync))
}

/// Every whole frame in `bytes` read without a stream: `(start, end)` of each, and
/// where the incomplete remainder starts. For annotating one transmit.
pub fn frames(bytes: &[u8]) -> (Vec<(usize, usize)>, usize) {
    let mut out = Vec::new();
    let mut start = 0;
    let mut line_start = 0;
    while let Some(i) = bytes.get(line_start..).and_then(|b| b.iter().position(|&c| c == b'\n')) {
        let eol = line_start + i;
        let line_end = if eol > line_start && bytes[eol - 1] == b'\r' { eol - 1 } else { eol };
        if let Some((n, _)) = literal_at_end(&bytes[line_start..line_end]) {
            match usize::try_from(n).ok().and_then(|n| (eol + 1).checked_add(n)) {
                Some(next) if next <= bytes.len() => {
                    line_start = next;
                    continue;
                }
                _ => break,
            }
        }
        out.push((start, eol + 1));
        start = eol + 1;
        line_start = start;
    }
    (out, start)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(f: &mut Framer) -> Vec<Framed> {
        let mut v = Vec::new();
        loop {
            match f.next_frame() {
                Framed::Partial => return v,
                x => v.push(x),
            }
        }
    }

    #[test]
    fn frames_hold_literals_and_continue_after_them() {
        let mut f = Framer::new(Side::Commands, Limits::default());
        f.push(b"a1 LOGIN {5}\r\n");
        assert_eq!(all(&mut f), vec![Framed::NeedContinuation { line: b"a1 LOGIN {5}\r\n".to_vec(), size: 5 }]);
        f.push(b"alice {6+}\r\nsecret\r\na2 NOOP\r\n");
        assert_eq!(
            all(&mut f),
            vec![
                Framed::Frame(b"a1 LOGIN {5}\r\nalice {6+}\r\nsecret\r\n".to_vec()),
                Framed::Frame(b"a2 NOOP\r\n".to_vec())
            ]
        );
        assert_eq!(f.buffered(), 0);
    }

    #[test]
    fn a_literal_too_big_is_refused_and_the_stream_goes_on() {
        let limits = Limits { max_literal: 10, ..Limits::default() };
        let mut f = Framer::new(Side::Commands, limits.clone());
        f.push(b"a1 LOGIN {50}\r\na2 NOOP\r\n");
        let out = all(&mut f);
        assert!(matches!(&out[0], Framed::TooBig { start, .. } if start.starts_with(b"a1 LOGIN")));
        assert_eq!(out[1], Framed::Frame(b"a2 NOOP\r\n".to_vec()));
        // A non-synchronizing one arrives anyway: skipped, with the rest of its line.
        let mut f = Framer::new(Side::Commands, limits);
        f.push(b"a1 LOGIN {12+}\r\n0123456789ab rest\r\na2 NOOP\r\n");
        let out = all(&mut f);
        assert!(matches!(&out[0], Framed::TooBig { .. }));
        assert_eq!(out[1], Framed::Frame(b"a2 NOOP\r\n".to_vec()));
    }

    #[test]
    fn a_line_too_long_is_dropped() {
        let mut f = Framer::new(Side::Commands, Limits { max_line: 16, ..Limits::default() });
        f.push(b"a1 NOOP 0123456789012345678");
        assert!(matches!(all(&mut f).as_slice(), [Framed::TooBig { .. }]));
        f.push(b"9\r\na2 NOOP\r\n");
        assert_eq!(all(&mut f), vec![Framed::Frame(b"a2 NOOP\r\n".to_vec())]);
    }

    #[test]
    fn frames_of_one_transmit() {
        let b = b"* 1 FETCH (BODY[] {3}\r\na\r\n)\r\n* 2 EXISTS\r\nA1 OK";
        let (f, rest) = frames(b);
        assert_eq!(f, vec![(0, 29), (29, 41)]);
        assert_eq!(rest, 41);
    }

    #[test]
    fn cursor_reads_the_basic_tokens() {
        let mut c = Cursor::new(b"a.b \"q\\\"x\" {3}\r\nabc NIL (\\Seen $x) 1:*,4 4294967296");
        assert_eq!(c.atom(), Ok("a.b"));
        c.sp().expect("sp");
        assert_eq!(c.astring(), Ok(b"q\"x".to_vec()));
        c.sp().expect("sp");
        assert_eq!(c.astring(), Ok(b"abc".to_vec()));
        c.sp().expect("sp");
        assert_eq!(c.nstring(), Ok(None));
        c.sp().expect("sp");
        assert_eq!(c.flag_list(), Ok(vec![Flag::Seen, Flag::Keyword("$x".into())]));
        c.sp().expect("sp");
        assert_eq!(c.seq_set().map(|s| s.to_string()), Ok("1:*,4".into()));
        c.sp().expect("sp");
        assert!(c.number().is_err());
        let mut deep = Cursor::new(&[b'('; 100]);
        assert!(deep.value().is_err());
    }
}
