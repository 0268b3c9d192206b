//! SDP explained line by line, for the UI: what a browser's offer says, and which RFC
//! says it means that.
//!
//! An SDP blob (RFC 8866 §5) is lines of `<type>=<value>`, the type one letter: first the
//! session (`v=`, `o=`, `s=`, `t=`, session attributes), then one section per `m=` line.
//! A WebRTC data channel needs one `m=application … UDP/DTLS/SCTP webrtc-datachannel`
//! section (RFC 8841); the rest says how to find the other side (ICE, RFC 8839) and how to
//! check it is who signalled (the DTLS certificate fingerprint, RFC 8122).
//!
//! This is an explainer, not a validating parser: every line gets an [`Explanation`],
//! lines it cannot make sense of get one saying so. Only candidates are parsed into a
//! type, [`Candidate`], since the UI draws them.

use core::fmt;
use core::str::FromStr;
use wirelab_core::RfcRef;

/// One SDP line, taken apart and explained.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Explanation {
    /// `v`, `o`, `m`, or for attributes `a=` and the name: `a=ice-ufrag`.
    pub key: String,
    /// What follows `=` (for attributes, what follows `name:`; empty for flags).
    pub value: String,
    /// What it means, in a sentence or two, with this line's values filled in.
    pub meaning: String,
    /// Where it is defined.
    pub rfc: RfcRef,
}

/// Explains every line of an SDP blob; blank lines are skipped, `\r\n` and `\n` both end
/// a line (RFC 8866 §5 requires CRLF and recommends accepting LF).
pub fn explain(sdp: &str) -> Vec<Explanation> {
    sdp.lines().map(|l| l.trim_end_matches('\r')).filter(|l| !l.trim().is_empty()).map(explain_line).collect()
}

/// Explains one SDP line. Never fails: a line that is not SDP is explained as such.
pub fn explain_line(line: &str) -> Explanation {
    let line = line.trim_end_matches(['\r', '\n']);
    let ex = |key: &str, value: &str, meaning: String, rfc: RfcRef| Explanation {
        key: key.to_string(),
        value: value.to_string(),
        meaning,
        rfc,
    };
    let Some((ty, value)) = line.split_once('=') else {
        return ex("?", line, "not an SDP line: every line is <type>=<value>".into(), RfcRef::new(8866, "5"));
    };
    if ty.len() != 1 {
        return ex("?", line, format!("not an SDP line: the type {ty:?} should be one letter"), RfcRef::new(8866, "5"));
    }
    let fields: Vec<&str> = value.split(' ').collect();
    match ty {
        "v" => {
            let m = if value == "0" {
                "protocol version: always 0, there has never been another".to_string()
            } else {
                format!("protocol version {value:?}: only 0 exists, so this is not SDP as we know it")
            };
            ex("v", value, m, RfcRef::new(8866, "5.1"))
        }
        "o" => {
            let m = match fields.as_slice() {
                [user, id, version, net, addr_ty, addr] => format!(
                    "origin: user {user:?} ('-' is none), session id {id}, version {version} (goes up by one each time \
                     this side renegotiates), {net} {addr_ty} {addr} (a placeholder: browsers do not reveal their \
                     address here; the real ones are in the candidates)"
                ),
                _ => "origin, malformed: expected <username> <sess-id> <sess-version> <nettype> <addrtype> <address>"
                    .to_string(),
            };
            ex("o", value, m, RfcRef::new(8866, "5.2"))
        }
        "s" => ex(
            "s",
            value,
            "session name; '-' when it has none, as browsers always write".into(),
            RfcRef::new(8866, "5.3"),
        ),
        "i" => ex("i", value, "session or media title, free text".into(), RfcRef::new(8866, "5.4")),
        "u" => ex("u", value, "a URI with more about the session".into(), RfcRef::new(8866, "5.5")),
        "e" | "p" => ex(ty, value, "a contact address or phone number".into(), RfcRef::new(8866, "5.6")),
        "c" => {
            let m = match fields.as_slice() {
                [net, addr_ty, addr] => format!(
                    "connection data: {net} {addr_ty} {addr}; with ICE this is a dummy (0.0.0.0 before any \
                     candidate is known): connectivity is worked out from the candidates"
                ),
                _ => "connection data, malformed: expected <nettype> <addrtype> <address>".to_string(),
            };
            ex("c", value, m, RfcRef::new(8866, "5.7"))
        }
        "b" => ex("b", value, "proposed bandwidth, <type>:<kilobits per second>".into(), RfcRef::new(8866, "5.8")),
        "t" => {
            let m = if value == "0 0" {
                "time active: start 0 and stop 0, meaning unbounded: the session is on until it is torn down".into()
            } else {
                format!("time active: from {} to {} (NTP seconds)", fields[0], fields.get(1).unwrap_or(&"?"))
            };
            ex("t", value, m, RfcRef::new(8866, "5.9"))
        }
        "r" => ex("r", value, "repeat times of a scheduled session".into(), RfcRef::new(8866, "5.10")),
        "z" => ex("z", value, "time zone adjustments".into(), RfcRef::new(8866, "5.11")),
        "k" => ex("k", value, "an encryption key: obsolete, never used by WebRTC".into(), RfcRef::new(8866, "5.12")),
        "m" => {
            let m = match fields.as_slice() {
                [media, port, proto, fmt @ ..] => {
                    let mut m = format!("a media section: {media}, port {port}");
                    if *port == "9" {
                        m.push_str(" (the discard port: a placeholder, ICE finds the real ones)");
                    }
                    m.push_str(&format!(", protocol {proto}"));
                    if *proto == "UDP/DTLS/SCTP" {
                        m.push_str(" (SCTP over DTLS over UDP: reliable, ordered or not, encrypted messages)");
                    }
                    m.push_str(&format!(", format {}", fmt.join(" ")));
                    if fmt == ["webrtc-datachannel"] {
                        m.push_str(" (WebRTC data channels)");
                    }
                    m
                }
                _ => "a media section, malformed: expected <media> <port> <proto> <fmt> ...".to_string(),
            };
            let rfc = if value.contains("DTLS/SCTP") { RfcRef::new(8841, "4.1") } else { RfcRef::new(8866, "5.14") };
            ex("m", value, m, rfc)
        }
        "a" => explain_attribute(value),
        _ => ex(ty, value, format!("unknown line type {ty:?}: a parser must ignore it"), RfcRef::new(8866, "5")),
    }
}

fn explain_attribute(value: &str) -> Explanation {
    let (name, arg) = value.split_once(':').unwrap_or((value, ""));
    let (meaning, rfc): (String, RfcRef) = match name {
        "group" => {
            let (sem, mids) = arg.split_once(' ').unwrap_or((arg, ""));
            let m = if sem == "BUNDLE" {
                format!(
                    "bundle: the media sections with mids [{mids}] share one transport, one ICE and DTLS \
                     connection (RFC 9143)"
                )
            } else {
                format!("a group of media sections, semantics {sem}: [{mids}]")
            };
            (m, RfcRef::new(5888, "5"))
        }
        "extmap-allow-mixed" => (
            "this side can receive RTP header extensions in one-byte and two-byte form mixed (irrelevant to data \
             channels; Chrome always says it)"
                .into(),
            RfcRef::new(8285, "6"),
        ),
        "msid-semantic" => (
            format!(
                "legacy media stream semantics ({}): from an early draft of RFC 8830, kept for old endpoints; no \
                 streams here",
                arg.trim()
            ),
            RfcRef::new(8830, "2"),
        ),
        "msid" => ("which media stream and track this section carries".into(), RfcRef::new(8830, "2")),
        "ice-ufrag" => (
            format!(
                "ICE username fragment {arg:?}: connectivity checks carry it, so each side knows the other saw this \
                 SDP (at least 24 random bits)"
            ),
            RfcRef::new(8839, "5.4"),
        ),
        "ice-pwd" => (
            "ICE password: keys the integrity check of every connectivity check (at least 128 random bits); \
             whoever reads the signalling can see it, which is why the signalling must be private"
                .into(),
            RfcRef::new(8839, "5.4"),
        ),
        "ice-options" => {
            let m = if arg.split(' ').any(|o| o == "trickle") {
                format!("ICE options {arg}: trickle means candidates follow one by one in separate messages (RFC 8838)")
            } else {
                format!("ICE options {arg}")
            };
            (m, RfcRef::new(8839, "5.6"))
        }
        "ice-lite" => {
            ("this side is a lite ICE agent: it only answers checks (servers)".into(), RfcRef::new(8839, "5.3"))
        }
        "fingerprint" => {
            let (hash, fp) = arg.split_once(' ').unwrap_or((arg, ""));
            let bytes = fp.split(':').count();
            (
                format!(
                    "{hash} hash ({bytes} bytes) of the certificate this side will present in the DTLS handshake: the \
                     other side checks it, which binds the encrypted channel to this signalling"
                ),
                RfcRef::new(8122, "5"),
            )
        }
        "setup" => {
            let m = match arg {
                "actpass" => "DTLS role: actpass, either; the offerer must say this, the answerer then picks",
                "active" => "DTLS role: active, this side starts the DTLS handshake (is the client)",
                "passive" => "DTLS role: passive, this side waits for the DTLS handshake (is the server)",
                "holdconn" => "DTLS role: holdconn, no connection for now",
                _ => "DTLS role: unknown value",
            };
            (m.into(), RfcRef::new(4145, "4"))
        }
        "mid" => (format!("media id {arg:?}: the name this section goes by in a=group"), RfcRef::new(5888, "4")),
        "sctp-port" => {
            (format!("the SCTP port inside the DTLS connection: {arg} (5000 by convention)"), RfcRef::new(8841, "5"))
        }
        "max-message-size" => (
            format!("the largest message this side can receive on a data channel: {arg} bytes (0: no limit)"),
            RfcRef::new(8841, "6"),
        ),
        "candidate" => {
            let m = match Candidate::parse(value) {
                Ok(c) => c.describe(),
                Err(e) => format!("an ICE candidate, malformed: {e}"),
            };
            (m, RfcRef::new(8839, "5.1"))
        }
        "sendrecv" | "sendonly" | "recvonly" | "inactive" => {
            (format!("media direction: {name}"), RfcRef::new(8866, "6.7"))
        }
        "rtpmap" => ("maps an RTP payload type number to a codec".into(), RfcRef::new(8866, "6.6")),
        "rtcp-mux" => ("RTP and RTCP share one port".into(), RfcRef::new(5761, "5.1.1")),
        _ => (format!("attribute {name:?}, which this explainer does not know"), RfcRef::new(8866, "5.13")),
    };
    Explanation { key: format!("a={name}"), value: arg.to_string(), meaning, rfc }
}

/// The kind of an ICE candidate (RFC 8445 §5.1.1, spelled as in RFC 8839 §5.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CandidateType {
    /// An address of the host itself (or, in browsers, an mDNS name standing for it).
    Host,
    /// Server-reflexive: the host's address as a STUN server saw it, outside the NAT.
    Srflx,
    /// Peer-reflexive: an address learned from a connectivity check, not signalled.
    Prflx,
    /// An address on a TURN relay.
    Relay,
}

impl CandidateType {
    pub const fn as_str(self) -> &'static str {
        match self {
            CandidateType::Host => "host",
            CandidateType::Srflx => "srflx",
            CandidateType::Prflx => "prflx",
            CandidateType::Relay => "relay",
        }
    }

    /// The type preference RFC 8445 §5.1.2.2 recommends: 126 host, 110 prflx, 100 srflx,
    /// 0 relay.
    pub const fn recommended_preference(self) -> u32 {
        match self {
            CandidateType::Host => 126,
            CandidateType::Prflx => 110,
            CandidateType::Srflx => 100,
            CandidateType::Relay => 0,
        }
    }
}

impl fmt::Display for CandidateType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An ICE candidate attribute (RFC 8839 §5.1):
///
/// ```text
/// candidate-attribute = "candidate" ":" foundation SP component-id SP transport SP
///                       priority SP connection-address SP port SP cand-type
///                       [SP rel-addr] [SP rel-port] *(SP cand-extension)
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Candidate {
    /// Candidates with the same foundation share a base, type and server: ICE freezes
    /// all but one of them at first.
    pub foundation: String,
    /// 1 for RTP (and for everything, with rtcp-mux and data channels), 2 for RTCP.
    pub component: u16,
    /// `udp` or `tcp` (as written: browsers write lowercase, the RFC's ABNF `UDP`).
    pub transport: String,
    pub priority: u32,
    /// An IP address, or a `….local` mDNS name a browser uses to hide a host address.
    pub address: String,
    pub port: u16,
    pub typ: CandidateType,
    /// For srflx, prflx and relay: the address this one was derived from.
    pub raddr: Option<String>,
    pub rport: Option<u16>,
    /// Everything after: `tcptype active` (RFC 6544), `generation 0`, `ufrag …`,
    /// `network-id 1`, `network-cost 10` (Chrome's), in order.
    pub extensions: Vec<(String, String)>,
}

/// Why a line is not a candidate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CandidateError {
    /// It does not start with `candidate:` (or `a=candidate:`).
    NotACandidate,
    /// It ends before this field.
    Missing(&'static str),
    /// This field is not a number in range.
    BadNumber { field: &'static str, value: String },
    /// Where `typ` should be, something else.
    ExpectedTyp(String),
    /// A `typ` other than host, srflx, prflx, relay.
    UnknownType(String),
    /// An extension name with no value after it.
    DanglingExtension(String),
}

impl fmt::Display for CandidateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CandidateError::NotACandidate => f.write_str("does not start with \"candidate:\""),
            CandidateError::Missing(field) => write!(f, "ends before the {field}"),
            CandidateError::BadNumber { field, value } => write!(f, "{field} {value:?} is not a number in range"),
            CandidateError::ExpectedTyp(got) => write!(f, "expected \"typ\", found {got:?}"),
            CandidateError::UnknownType(t) => write!(f, "unknown candidate type {t:?}"),
            CandidateError::DanglingExtension(n) => write!(f, "extension {n:?} has no value"),
        }
    }
}

impl std::error::Error for CandidateError {}

fn number<T: FromStr>(field: &'static str, s: Option<&str>) -> Result<T, CandidateError> {
    let s = s.ok_or(CandidateError::Missing(field))?;
    // ABNF digits only: `str::parse` would also take a leading `+`.
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(CandidateError::BadNumber { field, value: s.to_string() });
    }
    s.parse().map_err(|_| CandidateError::BadNumber { field, value: s.to_string() })
}

impl Candidate {
    /// Parses `candidate:…` (as in `RTCIceCandidate.candidate`) or `a=candidate:…` (as
    /// in SDP).
    pub fn parse(s: &str) -> Result<Candidate, CandidateError> {
        let s = s.trim();
        let s = s.strip_prefix("a=").unwrap_or(s);
        let rest = s.strip_prefix("candidate:").ok_or(CandidateError::NotACandidate)?;
        let mut it = rest.split_ascii_whitespace();
        let foundation = it.next().ok_or(CandidateError::Missing("foundation"))?.to_string();
        let component: u16 = number("component id", it.next())?;
        // component-id = 1*3DIGIT, and RFC 8445 §5.1.1 allows 1 to 256.
        if !(1..=256).contains(&component) {
            return Err(CandidateError::BadNumber { field: "component id", value: component.to_string() });
        }
        let transport = it.next().ok_or(CandidateError::Missing("transport"))?.to_string();
        let priority: u32 = number("priority", it.next())?;
        let address = it.next().ok_or(CandidateError::Missing("address"))?.to_string();
        let port: u16 = number("port", it.next())?;
        match it.next() {
            Some("typ") => {}
            Some(other) => return Err(CandidateError::ExpectedTyp(other.to_string())),
            None => return Err(CandidateError::Missing("typ")),
        }
        let typ = match it.next() {
            Some("host") => CandidateType::Host,
            Some("srflx") => CandidateType::Srflx,
            Some("prflx") => CandidateType::Prflx,
            Some("relay") => CandidateType::Relay,
            Some(t) => return Err(CandidateError::UnknownType(t.to_string())),
            None => return Err(CandidateError::Missing("candidate type")),
        };
        let mut c = Candidate {
            foundation,
            component,
            transport,
            priority,
            address,
            port,
            typ,
            raddr: None,
            rport: None,
            extensions: Vec::new(),
        };
        while let Some(name) = it.next() {
            let value = it.next().ok_or_else(|| CandidateError::DanglingExtension(name.to_string()))?;
            match name {
                "raddr" if c.raddr.is_none() && c.extensions.is_empty() => c.raddr = Some(value.to_string()),
                "rport" if c.rport.is_none() && c.extensions.is_empty() => {
                    c.rport = Some(number("rport", Some(value))?)
                }
                _ => c.extensions.push((name.to_string(), value.to_string())),
            }
        }
        Ok(c)
    }

    /// An extension's value: `c.extension("tcptype")`.
    pub fn extension(&self, name: &str) -> Option<&str> {
        self.extensions.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    /// The priority taken apart (RFC 8445 §5.1.2.1): `priority = 2^24 * type preference
    /// + 2^8 * local preference + (256 - component id)`.
    pub fn priority_parts(&self) -> (u32, u32, u32) {
        (self.priority >> 24, (self.priority >> 8) & 0xffff, 256 - (self.priority & 0xff))
    }

    /// One sentence for the UI.
    pub fn describe(&self) -> String {
        let kind = match self.typ {
            CandidateType::Host if self.address.ends_with(".local") => {
                "host candidate behind an mDNS name (the browser hides the local IP address)"
            }
            CandidateType::Host => "host candidate: an address of the machine itself",
            CandidateType::Srflx => "server-reflexive candidate: the address a STUN server saw, outside the NAT",
            CandidateType::Prflx => "peer-reflexive candidate: learned from a connectivity check",
            CandidateType::Relay => "relay candidate: an address on a TURN server, the last resort",
        };
        let (tp, lp, _) = self.priority_parts();
        let mut s = format!(
            "{kind}; {} {}:{}, component {}, priority {} (type preference {tp}, local preference {lp}), foundation {}",
            self.transport, self.address, self.port, self.component, self.priority, self.foundation
        );
        if let (Some(a), Some(p)) = (&self.raddr, self.rport) {
            s.push_str(&format!(", derived from {a}:{p}"));
        }
        if let Some(t) = self.extension("tcptype") {
            s.push_str(&format!(", TCP {t} (RFC 6544)"));
        }
        s
    }
}

impl FromStr for Candidate {
    type Err = CandidateError;
    fn from_str(s: &str) -> Result<Self, CandidateError> {
        Candidate::parse(s)
    }
}

/// The attribute value as a browser writes it: `candidate:1 1 udp 2122260223 … typ host`.
impl fmt::Display for Candidate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "candidate:{} {} {} {} {} {} typ {}",
            self.foundation, self.component, self.transport, self.priority, self.address, self.port, self.typ
        )?;
        if let Some(a) = &self.raddr {
            write!(f, " raddr {a}")?;
        }
        if let Some(p) = self.rport {
            write!(f, " rport {p}")?;
        }
        for (n, v) in &self.extensions {
            write!(f, " {n} {v}")?;
        }
        Ok(())
    }
}
