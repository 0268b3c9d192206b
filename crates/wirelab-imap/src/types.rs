//! The small values of IMAP's formal syntax (RFC 9051 §9) that commands, responses and
//! the driver's store all speak: flags, sequence sets, dates, status words and response
//! codes.

use std::fmt;
use std::str::FromStr;

/// A message flag (RFC 9051 §2.3.2). System flags start with `\`; keywords are atoms.
/// Flags are case-insensitive: `\seen` is read as [`Flag::Seen`] and printed `\Seen`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Flag {
    /// `\Seen`: the message has been read.
    Seen,
    /// `\Answered`: the message has been answered.
    Answered,
    /// `\Flagged`: the message is "flagged" for urgent/special attention.
    Flagged,
    /// `\Deleted`: the message is marked for removal by a later EXPUNGE.
    Deleted,
    /// `\Draft`: the message has not completed composition.
    Draft,
    /// `\Recent` (RFC 3501 §2.3.2 only; removed by RFC 9051): this session is the first
    /// to hear of the message. Shown to IMAP4rev1 clients only.
    Recent,
    /// `\*` in PERMANENTFLAGS: the client may create new keywords (RFC 9051 §7.1).
    Wildcard,
    /// Another `\`-flag, kept without its backslash.
    Extension(String),
    /// A keyword (`$Forwarded`, `Work`).
    Keyword(String),
}

impl Flag {
    /// The five system flags every server offers, in the order RFC 9051 lists them in
    /// its FLAGS examples.
    pub const SYSTEM: [Flag; 5] = [Flag::Answered, Flag::Flagged, Flag::Deleted, Flag::Seen, Flag::Draft];

    /// Reads `\Seen`, `\*`, `$Forwarded`. `None` when `s` is no flag.
    pub fn parse(s: &str) -> Option<Flag> {
        if let Some(name) = s.strip_prefix('\\') {
            if name == "*" {
                return Some(Flag::Wildcard);
            }
            if name.is_empty() || !name.bytes().all(crate::syntax::is_atom_char) {
                return None;
            }
            return Some(match name.to_ascii_lowercase().as_str() {
                "seen" => Flag::Seen,
                "answered" => Flag::Answered,
                "flagged" => Flag::Flagged,
                "deleted" => Flag::Deleted,
                "draft" => Flag::Draft,
                "recent" => Flag::Recent,
                _ => Flag::Extension(name.to_string()),
            });
        }
        if s.is_empty() || !s.bytes().all(crate::syntax::is_atom_char) {
            return None;
        }
        Some(Flag::Keyword(s.to_string()))
    }

    /// Whether two flags are the same flag, ignoring case (RFC 9051 §2.3.2).
    pub fn same(&self, other: &Flag) -> bool {
        match (self, other) {
            (Flag::Extension(a), Flag::Extension(b)) | (Flag::Keyword(a), Flag::Keyword(b)) => {
                a.eq_ignore_ascii_case(b)
            }
            (a, b) => a == b,
        }
    }
}

impl fmt::Display for Flag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Flag::Seen => f.write_str("\\Seen"),
            Flag::Answered => f.write_str("\\Answered"),
            Flag::Flagged => f.write_str("\\Flagged"),
            Flag::Deleted => f.write_str("\\Deleted"),
            Flag::Draft => f.write_str("\\Draft"),
            Flag::Recent => f.write_str("\\Recent"),
            Flag::Wildcard => f.write_str("\\*"),
            Flag::Extension(s) => write!(f, "\\{s}"),
            Flag::Keyword(s) => f.write_str(s),
        }
    }
}

/// A set of flags that keeps the order flags were added in, as servers print them:
/// adding `\Deleted` to `(\Seen)` gives `(\Seen \Deleted)` (RFC 9051 §8).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Flags(Vec<Flag>);

impl Flags {
    pub fn new() -> Flags {
        Flags(Vec::new())
    }

    pub fn contains(&self, flag: &Flag) -> bool {
        self.0.iter().any(|f| f.same(flag))
    }

    /// Adds `flag` at the end unless it is there already; true if it was added.
    pub fn insert(&mut self, flag: Flag) -> bool {
        if self.contains(&flag) {
            return false;
        }
        self.0.push(flag);
        true
    }

    /// Removes `flag`; true if it was there.
    pub fn remove(&mut self, flag: &Flag) -> bool {
        let before = self.0.len();
        self.0.retain(|f| !f.same(flag));
        before != self.0.len()
    }

    pub fn iter(&self) -> std::slice::Iter<'_, Flag> {
        self.0.iter()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn as_slice(&self) -> &[Flag] {
        &self.0
    }

    /// The same flags without `\Recent` (what an IMAP4rev2 client is shown).
    pub fn without_recent(&self) -> Flags {
        Flags(self.0.iter().filter(|f| **f != Flag::Recent).cloned().collect())
    }

    /// The flags as the console writes them: `\Seen,\Deleted` (empty for none).
    pub fn to_console(&self) -> String {
        self.0.iter().map(ToString::to_string).collect::<Vec<_>>().join(",")
    }

    /// Reads [`Flags::to_console`]'s format.
    pub fn from_console(s: &str) -> Option<Flags> {
        let mut flags = Flags::new();
        for part in s.split(',').filter(|p| !p.is_empty()) {
            flags.insert(Flag::parse(part)?);
        }
        Some(flags)
    }
}

impl FromIterator<Flag> for Flags {
    fn from_iter<I: IntoIterator<Item = Flag>>(iter: I) -> Self {
        let mut flags = Flags::new();
        for f in iter {
            flags.insert(f);
        }
        flags
    }
}

impl<'a> IntoIterator for &'a Flags {
    type Item = &'a Flag;
    type IntoIter = std::slice::Iter<'a, Flag>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

/// `(\Seen \Deleted)`: a flag-list (RFC 9051 §9).
impl fmt::Display for Flags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("(")?;
        for (i, flag) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            write!(f, "{flag}")?;
        }
        f.write_str(")")
    }
}

/// One end of a range in a sequence set: a number, or `*`, "the largest number in use"
/// (RFC 9051 §9, `seq-number`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SeqNumber {
    Num(u32),
    Star,
}

impl SeqNumber {
    fn value(self, largest: u32) -> u32 {
        match self {
            SeqNumber::Num(n) => n,
            SeqNumber::Star => largest,
        }
    }
}

impl fmt::Display for SeqNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SeqNumber::Num(n) => write!(f, "{n}"),
            SeqNumber::Star => f.write_str("*"),
        }
    }
}

/// `a` or `a:b` (either order: "2:4 and 4:2 are equivalent", RFC 9051 §9).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SeqRange {
    pub from: SeqNumber,
    pub to: SeqNumber,
}

impl fmt::Display for SeqRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.from == self.to { write!(f, "{}", self.from) } else { write!(f, "{}:{}", self.from, self.to) }
    }
}

/// A sequence set (RFC 9051 §9, `sequence-set`): `1:*`, `2,4:7,9`. Used for message
/// sequence numbers and for UIDs alike; `*` stands for the largest one in use.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct SeqSet(pub Vec<SeqRange>);

impl SeqSet {
    /// One number.
    pub fn single(n: u32) -> SeqSet {
        SeqSet(vec![SeqRange { from: SeqNumber::Num(n), to: SeqNumber::Num(n) }])
    }

    /// `from:to`.
    pub fn range(from: SeqNumber, to: SeqNumber) -> SeqSet {
        SeqSet(vec![SeqRange { from, to }])
    }

    /// `1:*`.
    pub fn all() -> SeqSet {
        SeqSet::range(SeqNumber::Num(1), SeqNumber::Star)
    }

    /// The shortest set of ascending ranges holding exactly `numbers` (which need not be
    /// sorted): `1,2,3,7` → `1:3,7`. `None` for no numbers: a set is never empty.
    pub fn from_numbers(numbers: &[u32]) -> Option<SeqSet> {
        let mut sorted: Vec<u32> = numbers.to_vec();
        sorted.sort_unstable();
        sorted.dedup();
        let mut ranges: Vec<SeqRange> = Vec::new();
        let mut i = 0;
        while i < sorted.len() {
            let start = sorted[i];
            let mut end = start;
            while i + 1 < sorted.len() && sorted[i + 1] == end + 1 {
                end += 1;
                i += 1;
            }
            ranges.push(SeqRange { from: SeqNumber::Num(start), to: SeqNumber::Num(end) });
            i += 1;
        }
        (!ranges.is_empty()).then_some(SeqSet(ranges))
    }

    /// Whether `n` is in the set when `*` means `largest`.
    pub fn contains(&self, n: u32, largest: u32) -> bool {
        self.0.iter().any(|r| {
            let (a, b) = (r.from.value(largest), r.to.value(largest));
            (a.min(b)..=a.max(b)).contains(&n)
        })
    }

    /// The largest explicit number in the set (ignoring `*`), to check message sequence
    /// numbers against EXISTS.
    pub fn max_explicit(&self) -> u32 {
        self.0
            .iter()
            .flat_map(|r| [r.from, r.to])
            .filter_map(|n| match n {
                SeqNumber::Num(n) => Some(n),
                SeqNumber::Star => None,
            })
            .max()
            .unwrap_or(0)
    }

    /// Every number of the set, ascending, each once, when `*` means `largest` and no
    /// number above `cap` exists (the numbers of a mailbox are at most its size, or its
    /// largest UID).
    pub fn expand(&self, largest: u32, cap: u32) -> Vec<u32> {
        let mut out = Vec::new();
        for r in &self.0 {
            let (a, b) = (r.from.value(largest), r.to.value(largest));
            let (lo, hi) = (a.min(b), a.max(b).min(cap));
            if lo <= hi {
                out.extend(lo..=hi);
            }
        }
        out.sort_unstable();
        out.dedup();
        out
    }
}

impl fmt::Display for SeqSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, r) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{r}")?;
        }
        Ok(())
    }
}

impl FromStr for SeqSet {
    type Err = crate::syntax::ParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut c = crate::syntax::Cursor::new(s.as_bytes());
        let set = c.seq_set()?;
        c.end()?;
        Ok(set)
    }
}

const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/// Days since 1970-01-01 of a civil date (Howard Hinnant's `days_from_civil`).
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The civil date of a day counted from 1970-01-01 (Hinnant's `civil_from_days`).
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Reads `Jul` (any case) as 1–12.
fn month_number(s: &str) -> Option<u32> {
    MONTHS.iter().position(|m| m.eq_ignore_ascii_case(s)).map(|i| i as u32 + 1)
}

/// The day of a search `date` (RFC 9051 §9: `date-text = date-day "-" date-month "-"
/// date-year`, `1-Feb-1994`), as days since 1970-01-01.
pub fn parse_search_date(s: &str) -> Option<i64> {
    let mut parts = s.split('-');
    let (d, m, y) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || d.is_empty() || d.len() > 2 || y.len() != 4 {
        return None;
    }
    let d: u32 = d.parse().ok().filter(|d| (1..=31).contains(d))?;
    let y: i64 = y.parse().ok()?;
    Some(days_from_civil(y, month_number(m)?, d))
}

/// The date and time a message arrived (INTERNALDATE, RFC 9051 §2.3.3): an instant and
/// the zone it is shown in, printed as `date-time` (RFC 9051 §9):
/// `17-Jul-1996 02:44:25 -0700`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct InternalDate {
    /// Seconds since 1970-01-01T00:00:00Z.
    pub unix: i64,
    /// The zone, in minutes east of UTC (-420 for `-0700`).
    pub offset_minutes: i16,
}

impl InternalDate {
    /// Local day (days since 1970-01-01 in the date's own zone), for SEARCH BEFORE/ON/SINCE
    /// which "disregard time and timezone" (RFC 9051 §6.4.4).
    pub fn day(&self) -> i64 {
        (self.unix + i64::from(self.offset_minutes) * 60).div_euclid(86_400)
    }

    /// `837595465-0700`: the console's form (seconds since the epoch and the zone).
    pub fn to_console(&self) -> String {
        let (sign, off) =
            if self.offset_minutes < 0 { ('-', -self.offset_minutes) } else { ('+', self.offset_minutes) };
        format!("{}{sign}{:02}{:02}", self.unix, off / 60, off % 60)
    }

    /// Reads [`InternalDate::to_console`]'s form.
    pub fn from_console(s: &str) -> Option<InternalDate> {
        let i = s.rfind(['+', '-']).filter(|&i| i > 0)?;
        let unix: i64 = s[..i].parse().ok()?;
        let offset_minutes = parse_zone(&s[i..])?;
        Some(InternalDate { unix, offset_minutes })
    }
}

/// `-0700` → -420.
fn parse_zone(z: &str) -> Option<i16> {
    let b = z.as_bytes();
    if b.len() != 5 || !b[1..].iter().all(u8::is_ascii_digit) {
        return None;
    }
    let hh: i16 = z[1..3].parse().ok()?;
    let mm: i16 = z[3..5].parse().ok()?;
    if mm > 59 {
        return None;
    }
    match b[0] {
        b'+' => Some(hh * 60 + mm),
        b'-' => Some(-(hh * 60 + mm)),
        _ => None,
    }
}

impl fmt::Display for InternalDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let local = self.unix + i64::from(self.offset_minutes) * 60;
        let (y, m, d) = civil_from_days(local.div_euclid(86_400));
        let secs = local.rem_euclid(86_400);
        let (sign, off) =
            if self.offset_minutes < 0 { ('-', -self.offset_minutes) } else { ('+', self.offset_minutes) };
        write!(
            f,
            "{d:2}-{}-{y:04} {:02}:{:02}:{:02} {sign}{:02}{:02}",
            MONTHS[(m - 1) as usize],
            secs / 3600,
            secs % 3600 / 60,
            secs % 60,
            off / 60,
            off % 60
        )
    }
}

impl FromStr for InternalDate {
    type Err = ();
    /// Reads `date-time` without its quotes: `17-Jul-1996 02:44:25 -0700` (the day may
    /// be padded with a space: ` 7-Jul-1996 …`).
    fn from_str(s: &str) -> Result<Self, ()> {
        let s = s.strip_prefix(' ').unwrap_or(s);
        let mut parts = s.split(' ');
        let (date, time, zone) = (parts.next().ok_or(())?, parts.next().ok_or(())?, parts.next().ok_or(())?);
        if parts.next().is_some() {
            return Err(());
        }
        let day = parse_search_date(date).ok_or(())?;
        let t: Vec<&str> = time.split(':').collect();
        if t.len() != 3 || t.iter().any(|p| p.len() != 2 || !p.bytes().all(|b| b.is_ascii_digit())) {
            return Err(());
        }
        let (h, m, sec): (i64, i64, i64) =
            (t[0].parse().map_err(|_| ())?, t[1].parse().map_err(|_| ())?, t[2].parse().map_err(|_| ())?);
        if h > 23 || m > 59 || sec > 60 {
            return Err(());
        }
        let offset_minutes = parse_zone(zone).ok_or(())?;
        let local = day * 86_400 + h * 3600 + m * 60 + sec;
        Ok(InternalDate { unix: local - i64::from(offset_minutes) * 60, offset_minutes })
    }
}

/// The status of a status response (RFC 9051 §7.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Status {
    /// Success (§7.1.1).
    Ok,
    /// Operational error: the command was understood and refused (§7.1.2).
    No,
    /// Protocol error in the client's command (§7.1.3).
    Bad,
    /// Greeting: already authenticated (§7.1.4).
    PreAuth,
    /// The server is about to close the connection (§7.1.5).
    Bye,
}

impl Status {
    pub fn parse(word: &str) -> Option<Status> {
        Some(match word.to_ascii_uppercase().as_str() {
            "OK" => Status::Ok,
            "NO" => Status::No,
            "BAD" => Status::Bad,
            "PREAUTH" => Status::PreAuth,
            "BYE" => Status::Bye,
            _ => return None,
        })
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Status::Ok => "OK",
            Status::No => "NO",
            Status::Bad => "BAD",
            Status::PreAuth => "PREAUTH",
            Status::Bye => "BYE",
        })
    }
}

/// A response code, in brackets after the status (RFC 9051 §7.1, `resp-text-code`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Code {
    Alert,
    AuthenticationFailed,
    /// `BADCHARSET (UTF-8)`: SEARCH got a charset the server does not support.
    BadCharset(Vec<String>),
    Capability(Vec<String>),
    ClientBug,
    Closed,
    /// A command referred to a message another session expunged.
    ExpungeIssued,
    NonExistent,
    Parse,
    PermanentFlags(Vec<Flag>),
    ReadOnly,
    ReadWrite,
    TryCreate,
    UidNext(u32),
    UidValidity(u32),
    /// IMAP4rev1 only (RFC 3501 §7.1): the first unseen message's sequence number.
    Unseen(u32),
    /// Any other code: its atom, and the text after it, if any.
    Other(String, Option<String>),
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let list = |v: &[String]| v.join(" ");
        match self {
            Code::Alert => f.write_str("ALERT"),
            Code::AuthenticationFailed => f.write_str("AUTHENTICATIONFAILED"),
            Code::BadCharset(c) if c.is_empty() => f.write_str("BADCHARSET"),
            Code::BadCharset(c) => write!(f, "BADCHARSET ({})", list(c)),
            Code::Capability(c) => write!(f, "CAPABILITY {}", list(c)),
            Code::ClientBug => f.write_str("CLIENTBUG"),
            Code::Closed => f.write_str("CLOSED"),
            Code::ExpungeIssued => f.write_str("EXPUNGEISSUED"),
            Code::NonExistent => f.write_str("NONEXISTENT"),
            Code::Parse => f.write_str("PARSE"),
            Code::PermanentFlags(flags) => write!(f, "PERMANENTFLAGS {}", flags.iter().cloned().collect::<Flags>()),
            Code::ReadOnly => f.write_str("READ-ONLY"),
            Code::ReadWrite => f.write_str("READ-WRITE"),
            Code::TryCreate => f.write_str("TRYCREATE"),
            Code::UidNext(n) => write!(f, "UIDNEXT {n}"),
            Code::UidValidity(n) => write!(f, "UIDVALIDITY {n}"),
            Code::Unseen(n) => write!(f, "UNSEEN {n}"),
            Code::Other(atom, None) => f.write_str(atom),
            Code::Other(atom, Some(text)) => write!(f, "{atom} {text}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_print_and_parse_as_the_rfc_writes_them() {
        let d: InternalDate = "17-Jul-1996 02:44:25 -0700".parse().expect("a date-time");
        assert_eq!(d.offset_minutes, -420);
        assert_eq!(d.to_string(), "17-Jul-1996 02:44:25 -0700");
        assert_eq!(d.unix, 837_596_665);
        let padded: InternalDate = " 7-Feb-2024 23:59:60 +0130".parse().expect("padded day");
        assert_eq!(padded.to_string(), " 8-Feb-2024 00:00:00 +0130");
        assert_eq!(InternalDate::from_console(&d.to_console()), Some(d));
        assert!("32-Jul-1996 02:44:25 -0700".parse::<InternalDate>().is_err());
        assert!("17-Jul-1996 02:44:25 0700".parse::<InternalDate>().is_err());
        assert_eq!(parse_search_date("1-Jan-1970"), Some(0));
        assert_eq!(civil_from_days(days_from_civil(2000, 2, 29)), (2000, 2, 29));
    }

    #[test]
    fn sequence_sets() {
        let s: SeqSet = "2,4:7,9,12:*".parse().expect("a set");
        assert_eq!(s.to_string(), "2,4:7,9,12:*");
        assert!(s.contains(5, 20) && s.contains(20, 20) && !s.contains(3, 20));
        assert_eq!(s.expand(13, 13), vec![2, 4, 5, 6, 7, 9, 12, 13]);
        // "559:*" includes the largest UID even when 559 is larger (RFC 9051 §9).
        let uid: SeqSet = "559:*".parse().expect("a set");
        assert!(uid.contains(100, 100));
        assert_eq!(SeqSet::from_numbers(&[7, 1, 2, 3, 3]).map(|s| s.to_string()), Some("1:3,7".into()));
        assert!("0".parse::<SeqSet>().is_err() && "1,".parse::<SeqSet>().is_err() && "".parse::<SeqSet>().is_err());
    }

    #[test]
    fn flags_keep_their_order_and_ignore_case() {
        let mut f: Flags = [Flag::Seen].into_iter().collect();
        f.insert(Flag::parse("\\deleted").expect("a flag"));
        f.insert(Flag::Seen);
        assert_eq!(f.to_string(), "(\\Seen \\Deleted)");
        assert!(!f.contains(&Flag::Keyword("x".into())));
        f.insert(Flag::Keyword("Work".into()));
        assert!(f.remove(&Flag::Keyword("WORK".into())));
        assert_eq!(Flags::from_console(&f.to_console()), Some(f));
    }
}
