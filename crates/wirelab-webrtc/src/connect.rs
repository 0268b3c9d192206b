//! One browser's side of a WebRTC data channel, from `createDataChannel` to the first
//! message, as a sans-IO machine: offer/answer through the signalling relay (JSEP, RFC
//! 8829), trickled ICE candidates (RFC 8838), a connectivity check each way (STUN, RFC
//! 8445 §7), the DTLS handshake's flights (RFC 6347), the SCTP association (RFC 9260 §5),
//! DCEP's DATA_CHANNEL_OPEN / ACK (RFC 8832) and a message (PPID 51, RFC 8831).
//!
//! What is real and what is not:
//! - real bytes: the signalling JSON and its SDP, every STUN message (MESSAGE-INTEGRITY
//!   keyed with the right ice-pwd, FINGERPRINT), DTLS record and handshake headers, SCTP
//!   packets with their CRC-32C, DCEP messages;
//! - placeholders: the DTLS handshake bodies and the certificate (see [`crate::dtls`]):
//!   no cryptography happens, the fingerprint in the SDP is random bytes, and SCTP travels
//!   in the clear inside application_data records.
//!
//! The run is one happy path with one candidate each; nothing is retransmitted, so a frame
//! lost on the way stops the connection where it was (the trace shows where).
//!
//! The state shows five layers, each with its spec's names: W3C `RTCSignalingState`,
//! `RTCIceConnectionState`, `RTCDtlsTransportState`, RFC 9260's SCTP states and W3C
//! `RTCDataChannelState`: `stable · ICE new · DTLS new · SCTP CLOSED · no channel`.

use crate::dcep::{self, ppid};
use crate::sctp::{self, Chunk, Packet};
use crate::signalling::{self, candidate_json, description_json, number_field, string_field};
use crate::stun::{self, Attribute, Class, Message, Seal};
use crate::{Nest, dtls};
use core::fmt;
use core::str::FromStr;
use std::borrow::Cow;
use std::collections::VecDeque;
use std::net::{IpAddr, SocketAddr};
use wirelab_core::{
    Annotation, Input, Instant, LAYER_SEPARATOR, Machine, Output, RfcRef, SeededRng, Transition, Transmit,
    UnknownCommand,
};
use wirelab_signal::{JsepError, SdpType, Signaling, SignalingState};

/// "a=sctp-port:5000", the convention (RFC 8841 §5).
pub const SCTP_PORT: u16 = 5000;
/// What both sides announce in a=max-message-size (RFC 8841 §6): Chrome's figure.
pub const MAX_MESSAGE_SIZE: u32 = 262_144;
/// W3C's default data channel priority, "low".
pub const PRIORITY_LOW: u16 = 256;
/// ice-char (RFC 8839 §5.4): ALPHA / DIGIT / "+" / "/".
const ICE_CHARS: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// `RTCIceConnectionState` (W3C WebRTC §5.6.4), the states this run passes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum IceState {
    New,
    Checking,
    Connected,
    Completed,
}

/// `RTCDtlsTransportState` (W3C WebRTC §5.5.1), the states this run passes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DtlsState {
    New,
    Connecting,
    Connected,
}

/// The association states of RFC 9260 §4 this run passes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SctpState {
    Closed,
    CookieWait,
    CookieEchoed,
    Established,
}

/// `RTCDataChannelState` (W3C WebRTC §6.2), or no channel yet.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ChannelState {
    None,
    Connecting,
    Open,
}

/// A peer connection's layers, bottom of the page to top of the stack.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PeerState {
    pub signaling: SignalingState,
    pub ice: IceState,
    pub dtls: DtlsState,
    pub sctp: SctpState,
    pub channel: ChannelState,
}

impl fmt::Display for PeerState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ice = ["new", "checking", "connected", "completed"][self.ice as usize];
        let dtls = ["new", "connecting", "connected"][self.dtls as usize];
        let sctp = ["CLOSED", "COOKIE-WAIT", "COOKIE-ECHOED", "ESTABLISHED"][self.sctp as usize];
        let channel = ["no channel", "channel connecting", "channel open"][self.channel as usize];
        let s = LAYER_SEPARATOR;
        write!(f, "{}{s}ICE {ice}{s}DTLS {dtls}{s}SCTP {sctp}{s}{channel}", self.signaling)
    }
}

/// The state diagrams of a peer connection, one per layer, in the order [`PeerState`]
/// prints them: JSEP's signaling state (W3C WebRTC §4.3.1.1's diagram), ICE (W3C §5.6.4,
/// RFC 8445), DTLS (W3C §5.5.1, RFC 6347), the SCTP association (RFC 9260 §4) and the data
/// channel (W3C §6.2, RFC 8832 §6).
pub fn diagrams() -> Vec<wirelab_core::StateDiagram> {
    use wirelab_core::StateDiagram;
    let w3c = |s: &'static str| Some(RfcRef::new(8829, s));
    let mut sig = StateDiagram::new("JSEP signaling state", w3c("3.2"));
    let stable = sig.state("stable", 1, 0);
    let local = sig.state("have-local-offer", 0, 1);
    let remote = sig.state("have-remote-offer", 2, 1);
    let remote_pr = sig.state("have-remote-pranswer", 0, 2);
    let local_pr = sig.state("have-local-pranswer", 2, 2);
    let closed = sig.state("closed", 1, 2);
    sig.edge(stable, local, "setLocal(offer)");
    sig.edge(stable, remote, "setRemote(offer)");
    sig.edge(local, stable, "setRemote(answer), or rollback");
    sig.edge(remote, stable, "setLocal(answer), or rollback");
    sig.edge(local, remote_pr, "setRemote(pranswer)");
    sig.edge(remote, local_pr, "setLocal(pranswer)");
    sig.edge(remote_pr, stable, "setRemote(answer)");
    sig.edge(local_pr, stable, "setLocal(answer)");
    sig.from_any(closed, "close()");

    let mut ice = StateDiagram::new("ICE connection state", Some(RfcRef::new(8445, "6.1")));
    let new = ice.state("ICE new", 0, 0);
    let checking = ice.state("ICE checking", 1, 0);
    let connected = ice.state("ICE connected", 1, 1);
    let completed = ice.state("ICE completed", 0, 1);
    ice.edge(new, checking, "a candidate pair to check (RFC 8445 §6.1.4)");
    ice.edge(checking, connected, "a check succeeded (RFC 8445 §7.2.5.3)");
    ice.edge(checking, completed, "a nominated check succeeded (RFC 8445 §8.1)");
    ice.edge(connected, completed, "a pair nominated, checks done (RFC 8445 §8.1)");

    let mut dtls = StateDiagram::new("DTLS transport state", Some(RfcRef::new(6347, "4.2")));
    let new = dtls.state("DTLS new", 0, 0);
    let connecting = dtls.state("DTLS connecting", 1, 0);
    let connected = dtls.state("DTLS connected", 1, 1);
    dtls.edge(new, connecting, "ICE connected: the handshake starts");
    dtls.edge(connecting, connected, "Finished verified");

    let mut sctp = StateDiagram::new("SCTP association", Some(RfcRef::new(9260, "4")));
    let closed = sctp.state("SCTP CLOSED", 0, 0);
    let wait = sctp.state("SCTP COOKIE-WAIT", 1, 0);
    let echoed = sctp.state("SCTP COOKIE-ECHOED", 1, 1);
    let estab = sctp.state("SCTP ESTABLISHED", 0, 1);
    sctp.edge(closed, wait, "ASSOCIATE / snd INIT");
    sctp.edge(wait, echoed, "rcv INIT ACK / snd COOKIE ECHO");
    sctp.edge(echoed, estab, "rcv COOKIE ACK");
    sctp.edge(closed, estab, "rcv valid COOKIE ECHO / snd COOKIE ACK");

    let mut channel = StateDiagram::new("Data channel", Some(RfcRef::new(8832, "6")));
    let none = channel.state("no channel", 0, 0);
    let connecting = channel.state("channel connecting", 1, 0);
    let open = channel.state("channel open", 1, 1);
    channel.edge(none, connecting, "createDataChannel / snd DATA_CHANNEL_OPEN");
    channel.edge(connecting, open, "rcv DATA_CHANNEL_ACK");
    channel.edge(none, open, "rcv DATA_CHANNEL_OPEN / snd DATA_CHANNEL_ACK");
    vec![sig, ice, dtls, sctp, channel]
}

/// Who makes the offer. The offerer is ICE-controlling (RFC 8445 §6.1.1) and says
/// a=setup:actpass; the answerer picks a=setup:active, so it is the DTLS client (RFC 4145
/// §4), and starts the SCTP association here.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    Offerer,
    Answerer,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PeerConfig {
    pub role: Role,
    /// The host candidate: this peer's UDP address for ICE, DTLS and SCTP.
    pub ice: SocketAddr,
    /// Where its signalling (WebSocket) connection comes from.
    pub signalling: SocketAddr,
    pub server: SocketAddr,
    /// Peer ids in the signalling room: its own and the other's.
    pub me: u64,
    pub peer: u64,
    pub seed: u64,
    /// The data channel's label.
    pub label: String,
}

/// What the page's script asks of its RTCPeerConnection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    /// `createDataChannel(label)`, then `createOffer()` and `setLocalDescription()`.
    Connect,
    /// `channel.send(text)`.
    Send(String),
}

impl fmt::Display for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Command::Connect => f.write_str("connect"),
            Command::Send(t) => write!(f, "send {t}"),
        }
    }
}

impl FromStr for Command {
    type Err = UnknownCommand;
    fn from_str(s: &str) -> Result<Self, UnknownCommand> {
        match s.trim().split_once(' ') {
            _ if s.trim() == "connect" => Ok(Command::Connect),
            Some(("send", text)) => Ok(Command::Send(text.to_string())),
            _ => Err(UnknownCommand { line: s.trim().to_string(), expected: "connect, or send <text>" }),
        }
    }
}

/// What a peer refuses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PeerError {
    /// A description applied in the wrong signalling state (RFC 8829 §5.5, §5.6).
    Jsep(JsepError),
    Stun(stun::StunError),
    Dtls(dtls::DtlsError),
    Sctp(sctp::SctpError),
    Dcep(dcep::DcepError),
    /// Something this step of the connection does not expect, and why.
    Unexpected(&'static str),
}

impl fmt::Display for PeerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PeerError::Jsep(e) => write!(f, "{e}"),
            PeerError::Stun(e) => write!(f, "STUN: {e}"),
            PeerError::Dtls(e) => write!(f, "DTLS: {e}"),
            PeerError::Sctp(e) => write!(f, "SCTP: {e}"),
            PeerError::Dcep(e) => write!(f, "DCEP: {e}"),
            PeerError::Unexpected(why) => f.write_str(why),
        }
    }
}

/// What one side learned from the other's description and candidates.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Remote {
    ufrag: Option<String>,
    pwd: Option<String>,
    candidate: Option<SocketAddr>,
    end_of_candidates: bool,
}

/// One browser's RTCPeerConnection with one data channel.
#[derive(Clone)]
pub struct Peer {
    cfg: PeerConfig,
    rng: SeededRng,
    ufrag: String,
    pwd: String,
    session_id: u64,
    fingerprint: [u8; 32],
    tie_breaker: u64,
    remote: Remote,
    jsep: Signaling,
    state: PeerState,
    /// The transaction ID of this side's connectivity check, while it is outstanding.
    check: Option<[u8; 12]>,
    nominated: bool,
    /// Whether this side has sent its connectivity check.
    checked: bool,
    /// Records sent per epoch, and handshake messages sent.
    record_seq: [u64; 2],
    message_seq: u16,
    my_tag: u32,
    peer_tag: u32,
    next_tsn: u32,
    /// The last TSN received in order; `Some` once INIT or INIT ACK gave the first.
    peer_tsn: Option<u32>,
    owe_sack: bool,
    cookie: Vec<u8>,
    ssn: u16,
    out: VecDeque<Output<PeerState, String>>,
}

impl Peer {
    pub fn new(cfg: PeerConfig) -> Self {
        let label = if cfg.role == Role::Offerer { "webrtc-offerer" } else { "webrtc-answerer" };
        let mut rng = SeededRng::derive(cfg.seed, label);
        let mut chars =
            |n: usize| -> String { (0..n).map(|_| ICE_CHARS[(rng.next_u32() % 64) as usize] as char).collect() };
        // RFC 8839 §5.4: ufrag at least 4 characters and 24 bits of randomness, pwd at
        // least 22 characters and 128 bits; browsers use 4 and 24.
        let (ufrag, pwd) = (chars(4), chars(24));
        let mut fingerprint = [0u8; 32];
        rng.fill_bytes(&mut fingerprint);
        let session_id = rng.next_u64() >> 2;
        let tie_breaker = rng.next_u64();
        // "The Initiate Tag is allowed to have any value except 0" (RFC 9260 §3.3.2).
        let my_tag = rng.next_u32().max(1);
        let next_tsn = rng.next_u32();
        let state = PeerState {
            signaling: SignalingState::Stable,
            ice: IceState::New,
            dtls: DtlsState::New,
            sctp: SctpState::Closed,
            channel: ChannelState::None,
        };
        Peer {
            cfg,
            rng,
            ufrag,
            pwd,
            session_id,
            fingerprint,
            tie_breaker,
            remote: Remote::default(),
            jsep: Signaling::new(),
            state,
            check: None,
            nominated: false,
            checked: false,
            record_seq: [0, 0],
            message_seq: 0,
            my_tag,
            peer_tag: 0,
            next_tsn,
            peer_tsn: None,
            owe_sack: false,
            cookie: Vec::new(),
            ssn: 0,
            out: VecDeque::new(),
        }
    }

    /// This side's ICE credentials, as its SDP announces them.
    pub fn credentials(&self) -> (&str, &str) {
        (&self.ufrag, &self.pwd)
    }

    /// The one change of state: every layer moves through here, with its cause and rule.
    fn set(&mut self, change: impl FnOnce(&mut PeerState), cause: impl Into<Cow<'static, str>>, rfc: RfcRef) {
        let from = self.state;
        change(&mut self.state);
        if self.state != from {
            self.out.push_back(Output::Transition(Transition {
                from,
                to: self.state,
                cause: cause.into(),
                rfc: Some(rfc),
            }));
        }
    }

    fn event(&mut self, text: impl Into<String>) {
        self.out.push_back(Output::Event(text.into()));
    }

    fn send(&mut self, to: SocketAddr, bytes: Vec<u8>, reason: impl Into<Cow<'static, str>>, rfc: RfcRef) {
        let from = if to == self.cfg.server { self.cfg.signalling } else { self.cfg.ice };
        self.out.push_back(Output::Transmit(Transmit { from, to, bytes, reason: reason.into(), rfc: Some(rfc) }));
    }

    fn apply(&mut self, side: wirelab_signal::Side, ty: SdpType) -> Result<(), PeerError> {
        let t = self.jsep.apply(side, ty).map_err(PeerError::Jsep)?;
        let rfc = t.rfc.unwrap_or(RfcRef::new(8829, "3.2"));
        self.set(|s| s.signaling = t.to, t.cause, rfc);
        Ok(())
    }

    /// The SDP a browser writes for one data channel (RFC 8841, RFC 8839, RFC 8122).
    pub fn sdp(&self) -> String {
        let setup = if self.cfg.role == Role::Offerer { "actpass" } else { "active" };
        let fp: Vec<String> = self.fingerprint.iter().map(|b| format!("{b:02X}")).collect();
        format!(
            "v=0\r\no=- {} 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0\r\n\
             m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\nc=IN IP4 0.0.0.0\r\n\
             a=ice-ufrag:{}\r\na=ice-pwd:{}\r\na=ice-options:trickle\r\na=fingerprint:sha-256 {}\r\n\
             a=setup:{setup}\r\na=mid:0\r\na=sctp-port:{SCTP_PORT}\r\na=max-message-size:{MAX_MESSAGE_SIZE}\r\n",
            self.session_id,
            self.ufrag,
            self.pwd,
            fp.join(":")
        )
    }

    /// The host candidate: type preference 126, local preference 65535, component 1
    /// (RFC 8445 §5.1.2.1: 2^24·126 + 2^8·65535 + 255).
    pub fn candidate(&self) -> String {
        let prio = (126u32 << 24) | (65_535 << 8) | 255;
        format!("candidate:1 1 udp {prio} {} {} typ host", self.cfg.ice.ip(), self.cfg.ice.port())
    }

    /// Sends this side's description (offer or answer), candidate and end-of-candidates.
    fn signal_description(&mut self, ty: &str) {
        let (server, peer) = (self.cfg.server, self.cfg.peer);
        let rfc = if ty == "offer" { RfcRef::new(8829, "5.2") } else { RfcRef::new(8829, "5.3") };
        self.send(
            server,
            description_json(ty, peer, &self.sdp()).into_bytes(),
            format!("its {ty} goes to p{peer} through the signalling server"),
            rfc,
        );
        let c = self.candidate();
        self.event(format!("ICE gathered a host candidate: {c}"));
        self.send(
            server,
            candidate_json(peer, &c).into_bytes(),
            "it trickles its candidate as soon as it has it",
            RfcRef::new(8838, "9"),
        );
        self.send(
            server,
            candidate_json(peer, "").into_bytes(),
            "it has no more candidates: end-of-candidates",
            RfcRef::new(8838, "13"),
        );
    }

    fn on_signal(&mut self, text: &str) -> Result<(), PeerError> {
        use wirelab_signal::Side::{Local, Remote};
        let ty = string_field(text, "type").ok_or(PeerError::Unexpected("a signalling message without a type"))?;
        if number_field(text, "from") != Some(self.cfg.peer) {
            return Err(PeerError::Unexpected("a signalling message from someone else"));
        }
        match ty.as_str() {
            "offer" | "answer" => {
                let sdp = string_field(text, "sdp").ok_or(PeerError::Unexpected("a description without SDP"))?;
                let sdp_type = if ty == "offer" { SdpType::Offer } else { SdpType::Answer };
                self.apply(Remote, sdp_type)?;
                for line in sdp.lines() {
                    if let Some(u) = line.strip_prefix("a=ice-ufrag:") {
                        self.remote.ufrag = Some(u.to_string());
                    } else if let Some(p) = line.strip_prefix("a=ice-pwd:") {
                        self.remote.pwd = Some(p.to_string());
                    }
                }
                if sdp_type == SdpType::Offer {
                    // createAnswer(), setLocalDescription(answer): a=setup:active.
                    self.apply(Local, SdpType::Answer)?;
                    self.signal_description("answer");
                }
            }
            "candidate" => {
                let c = string_field(text, "candidate")
                    .ok_or(PeerError::Unexpected("a candidate message without a candidate"))?;
                if c.is_empty() {
                    self.remote.end_of_candidates = true;
                    self.event("the other side has no more candidates");
                } else {
                    // candidate:<foundation> <component> <transport> <priority> <address> <port> typ <type>
                    // (RFC 8839 §5.1): only the address and port matter here.
                    let mut f = c.split_ascii_whitespace().skip(4);
                    let addr = f.next().zip(f.next()).and_then(|(ip, port)| {
                        // IPv4 only: the scenario's candidates are, and the Wasm app need not
                        // carry an IPv6 address parser for them.
                        Some(SocketAddr::new(IpAddr::V4(ip.parse().ok()?), port.parse().ok()?))
                    });
                    self.remote.candidate =
                        Some(addr.ok_or(PeerError::Unexpected("a candidate without an address and port"))?);
                    self.event(format!("addIceCandidate: {c}"));
                }
            }
            _ => return Err(PeerError::Unexpected("a signalling message of a type this peer does not expect")),
        }
        self.maybe_check();
        Ok(())
    }

    /// Once both descriptions are applied and a remote candidate is known, there is a pair
    /// to check: ICE goes to checking, and the controlling side checks it.
    fn maybe_check(&mut self) {
        let ready = self.state.signaling == SignalingState::Stable && self.remote.pwd.is_some();
        let Some(remote) = self.remote.candidate.filter(|_| ready && self.state.ice == IceState::New) else { return };
        self.set(
            |s| s.ice = IceState::Checking,
            format!("has a local and a remote candidate: the pair {} → {remote} to check", self.cfg.ice),
            RfcRef::new(8445, "6.1.2"),
        );
        if self.cfg.role == Role::Offerer {
            self.send_check(remote);
        }
    }

    fn send_check(&mut self, to: SocketAddr) {
        let mut id = [0u8; 12];
        self.rng.fill_bytes(&mut id);
        self.check = Some(id);
        self.checked = true;
        let (remote_ufrag, remote_pwd) =
            (self.remote.ufrag.clone().unwrap_or_default(), self.remote.pwd.clone().unwrap_or_default());
        let controlling = self.cfg.role == Role::Offerer;
        let mut m = Message::new(stun::BINDING, Class::Request, id);
        // "RFRAG:LFRAG" (RFC 8445 §7.2.2), PRIORITY of a peer-reflexive candidate (§7.1.1).
        m.attributes.push(Attribute::Username(format!("{remote_ufrag}:{}", self.ufrag)));
        m.attributes.push(Attribute::Priority((110u32 << 24) | (65_535 << 8) | 255));
        if controlling {
            m.attributes.push(Attribute::IceControlling(self.tie_breaker));
            m.attributes.push(Attribute::UseCandidate);
        } else {
            m.attributes.push(Attribute::IceControlled(self.tie_breaker));
        }
        m.attributes.push(Attribute::MessageIntegrity([0; 20]));
        m.attributes.push(Attribute::Fingerprint(0));
        let Ok(bytes) = m.seal(&Seal { key: Some(remote_pwd.as_bytes()), ..Seal::default() }) else { return };
        let reason = if controlling {
            "a connectivity check, keyed with the other side's ice-pwd; USE-CANDIDATE nominates the pair at once (aggressive nomination: RFC 8445 §8.1.1's regular nomination would check first and repeat with USE-CANDIDATE)"
        } else {
            "a triggered check back on the same pair, keyed with the other side's ice-pwd (RFC 8445 §7.3.1.4)"
        };
        self.send(to, bytes, reason, RfcRef::new(8445, "7.2.4"));
    }

    fn on_stun(&mut self, from: SocketAddr, bytes: &[u8]) -> Result<(), PeerError> {
        let m = Message::decode(bytes).map_err(PeerError::Stun)?;
        stun::verify_fingerprint(bytes).map_err(PeerError::Stun)?;
        match m.class {
            Class::Request => {
                // A request is keyed with the receiver's password (RFC 8445 §7.2.2).
                stun::verify_integrity(bytes, self.pwd.as_bytes()).map_err(PeerError::Stun)?;
                let expected = format!("{}:{}", self.ufrag, self.remote.ufrag.as_deref().unwrap_or(""));
                if m.get(stun::attr::USERNAME) != Some(&Attribute::Username(expected)) {
                    return Err(PeerError::Unexpected("a check whose USERNAME is not our ufrag and theirs"));
                }
                let mut r = Message::new(stun::BINDING, Class::SuccessResponse, m.transaction_id);
                r.attributes = vec![
                    Attribute::XorMappedAddress(from),
                    Attribute::MessageIntegrity([0; 20]),
                    Attribute::Fingerprint(0),
                ];
                let resp =
                    r.seal(&Seal { key: Some(self.pwd.as_bytes()), ..Seal::default() }).map_err(PeerError::Stun)?;
                self.send(from, resp, "the check succeeds: the response says where the request came from, keyed with the same password as the request", RfcRef::new(8445, "7.3.1"));
                if m.get(stun::attr::USE_CANDIDATE).is_some() && !self.nominated {
                    self.nominated = true;
                    self.event("the controlling side nominated this pair (USE-CANDIDATE)");
                }
                if !self.checked && self.state.ice == IceState::Checking {
                    self.send_check(from);
                }
            }
            Class::SuccessResponse => {
                if self.check != Some(m.transaction_id) {
                    return Err(PeerError::Unexpected("a response to no check of ours"));
                }
                stun::verify_integrity(bytes, self.remote.pwd.as_deref().unwrap_or("").as_bytes())
                    .map_err(PeerError::Stun)?;
                self.check = None;
                if self.cfg.role == Role::Offerer {
                    self.nominated = true;
                }
                if !self.nominated {
                    return Ok(());
                }
                self.set(
                    |s| s.ice = IceState::Connected,
                    "got a success response to its check on the nominated pair: ICE has a connection",
                    RfcRef::new(8445, "8.1.1"),
                );
                if self.remote.end_of_candidates {
                    self.set(
                        |s| s.ice = IceState::Completed,
                        "has checked every pair and the other side has no more candidates",
                        RfcRef::new(8445, "8.1.2"),
                    );
                }
                if self.cfg.role == Role::Answerer {
                    self.set(
                        |s| s.dtls = DtlsState::Connecting,
                        "is connected by ICE, and a=setup:active makes it the DTLS client",
                        RfcRef::new(4145, "4"),
                    );
                    self.flight(
                        &[dtls::CLIENT_HELLO],
                        "flight 1: ClientHello (no HelloVerifyRequest cookie exchange in this run, RFC 6347 §4.2.1)",
                    );
                }
            }
            _ => return Err(PeerError::Unexpected("a STUN indication or error response")),
        }
        Ok(())
    }

    /// Sends one datagram of handshake messages (a flight, RFC 6347 §4.2.4); a
    /// change_cipher_spec (type 0 here) switches the records after it to epoch 1.
    fn flight(&mut self, messages: &[u8], reason: &'static str) {
        let mut records = Vec::new();
        let mut epoch = 0usize;
        for &t in messages {
            let (content_type, fragment) = if t == 0 {
                (dtls::CHANGE_CIPHER_SPEC, vec![1])
            } else {
                self.message_seq += 1;
                (dtls::HANDSHAKE, dtls::handshake(t, self.message_seq - 1))
            };
            records.push(dtls::Record {
                content_type,
                epoch: epoch as u16,
                sequence_number: self.record_seq[epoch],
                fragment,
            });
            self.record_seq[epoch] += 1;
            if t == 0 {
                epoch = 1;
            }
        }
        let Ok(bytes) = dtls::encode(&records) else { return };
        if let Some(to) = self.remote.candidate {
            self.send(to, bytes, reason, RfcRef::new(6347, "4.2.4"));
        }
    }

    fn on_dtls(&mut self, bytes: &[u8]) -> Result<(), PeerError> {
        let records = dtls::decode(bytes).map_err(PeerError::Dtls)?;
        let types: Vec<u8> = records.iter().filter_map(|(_, r)| dtls::handshake_type(r)).collect();
        let server = self.cfg.role == Role::Offerer;
        if types.contains(&dtls::CLIENT_HELLO) && server {
            self.set(
                |s| s.dtls = DtlsState::Connecting,
                "received ClientHello: it is the DTLS server (the answer said a=setup:active)",
                RfcRef::new(6347, "4.2.4"),
            );
            use dtls::{CERTIFICATE, CERTIFICATE_REQUEST, SERVER_HELLO, SERVER_HELLO_DONE, SERVER_KEY_EXCHANGE};
            self.flight(&[SERVER_HELLO, CERTIFICATE, SERVER_KEY_EXCHANGE, CERTIFICATE_REQUEST, SERVER_HELLO_DONE], "flight 4: ServerHello … ServerHelloDone; CertificateRequest, because each side proves the certificate whose fingerprint its SDP carried (RFC 8122 §5)");
        } else if types.contains(&dtls::SERVER_HELLO_DONE) && !server {
            use dtls::{CERTIFICATE, CERTIFICATE_VERIFY, CLIENT_KEY_EXCHANGE, FINISHED};
            self.flight(&[CERTIFICATE, CLIENT_KEY_EXCHANGE, CERTIFICATE_VERIFY, 0, FINISHED], "flight 5: its certificate, key exchange and proof, ChangeCipherSpec, then Finished under the new keys (epoch 1)");
        } else if types.contains(&dtls::FINISHED) {
            self.event("placeholder: here the browser would check the other side's certificate against the a=fingerprint of its SDP (RFC 8122 §5); this simulation has no certificate");
            if server {
                self.flight(&[0, dtls::FINISHED], "flight 6: ChangeCipherSpec and Finished: the handshake is done");
            }
            let cause = if server {
                "received the client's Finished and sent its own"
            } else {
                "received the server's Finished"
            };
            self.set(|s| s.dtls = DtlsState::Connected, cause, RfcRef::new(6347, "4.2.4"));
            if !server {
                self.sctp(vec![Chunk::Init(self.init())], 0, "DTLS is up: it starts the SCTP association with INIT; the Verification Tag is 0, the peer's tag is not known yet", RfcRef::new(9260, "5.1"));
                self.set(|s| s.sctp = SctpState::CookieWait, "sent INIT", RfcRef::new(9260, "5.1"));
            }
        }
        for (_, r) in records.iter().filter(|(_, r)| r.content_type == dtls::APPLICATION_DATA) {
            self.on_sctp(&r.fragment)?;
        }
        Ok(())
    }

    fn init(&self) -> sctp::Init {
        sctp::Init {
            initiate_tag: self.my_tag,
            a_rwnd: 131_072,
            outbound_streams: 1024,
            inbound_streams: 1024,
            initial_tsn: self.next_tsn,
            params: vec![(sctp::FORWARD_TSN_SUPPORTED, Vec::new())],
        }
    }

    /// Sends SCTP chunks in one packet in one application_data record (epoch 1).
    fn sctp(&mut self, chunks: Vec<Chunk>, tag: u32, reason: impl Into<Cow<'static, str>>, rfc: RfcRef) {
        let packet = Packet { src_port: SCTP_PORT, dst_port: SCTP_PORT, verification_tag: tag, chunks };
        let Ok(fragment) = packet.encode() else { return };
        let record = dtls::Record {
            content_type: dtls::APPLICATION_DATA,
            epoch: 1,
            sequence_number: self.record_seq[1],
            fragment,
        };
        self.record_seq[1] += 1;
        let (Ok(bytes), Some(to)) = (dtls::encode(&[record]), self.remote.candidate) else { return };
        self.send(to, bytes, reason, rfc);
    }

    /// A DATA chunk on the channel's stream, after a SACK if one is owed.
    fn data(&mut self, ppid: u32, data: Vec<u8>, reason: impl Into<Cow<'static, str>>, rfc: RfcRef) {
        let mut chunks = self.sack_if_owed();
        // RFC 8832 §6: the DTLS client uses even stream identifiers, the server odd ones;
        // here the offerer is the DTLS server, so the channel is stream 1.
        let (stream, ssn) = (1, self.ssn);
        self.ssn = self.ssn.wrapping_add(1);
        chunks.push(Chunk::Data { flags: 0x03, tsn: self.next_tsn, stream, ssn, ppid, data });
        self.next_tsn = self.next_tsn.wrapping_add(1);
        self.sctp(chunks, self.peer_tag, reason, rfc);
    }

    fn sack_if_owed(&mut self) -> Vec<Chunk> {
        match self.peer_tsn.filter(|_| std::mem::take(&mut self.owe_sack)) {
            Some(cumulative_tsn_ack) => vec![Chunk::Sack { cumulative_tsn_ack, a_rwnd: 131_072 }],
            None => Vec::new(),
        }
    }

    fn on_sctp(&mut self, bytes: &[u8]) -> Result<(), PeerError> {
        let p = Packet::decode(bytes).map_err(PeerError::Sctp)?;
        let is_init = matches!(p.chunks.first(), Some(Chunk::Init(_)));
        // "the receiver ... MUST check the Verification Tag ... matches its own tag";
        // an INIT carries 0 (RFC 9260 §8.5, §8.5.1).
        if p.verification_tag != if is_init { 0 } else { self.my_tag } {
            return Err(PeerError::Unexpected("an SCTP packet with the wrong Verification Tag (RFC 9260 §8.5)"));
        }
        for chunk in p.chunks {
            match chunk {
                Chunk::Init(i) => {
                    self.peer_tag = i.initiate_tag;
                    self.peer_tsn = Some(i.initial_tsn.wrapping_sub(1));
                    self.cookie = vec![0; 16];
                    self.rng.fill_bytes(&mut self.cookie);
                    let mut ack = self.init();
                    ack.params.push((sctp::STATE_COOKIE, self.cookie.clone()));
                    self.sctp(
                        vec![Chunk::InitAck(ack)],
                        self.peer_tag,
                        "INIT ACK with its tag, TSN and a State Cookie; it keeps no state until the cookie comes back",
                        RfcRef::new(9260, "5.1"),
                    );
                }
                Chunk::InitAck(i) => {
                    self.peer_tag = i.initiate_tag;
                    self.peer_tsn = Some(i.initial_tsn.wrapping_sub(1));
                    let cookie =
                        i.params.iter().find(|p| p.0 == sctp::STATE_COOKIE).map(|p| p.1.clone()).unwrap_or_default();
                    self.sctp(
                        vec![Chunk::CookieEcho(cookie)],
                        self.peer_tag,
                        "COOKIE ECHO returns the State Cookie unchanged",
                        RfcRef::new(9260, "5.1"),
                    );
                    self.set(
                        |s| s.sctp = SctpState::CookieEchoed,
                        "received INIT ACK and echoed its cookie",
                        RfcRef::new(9260, "5.1"),
                    );
                }
                Chunk::CookieEcho(cookie) => {
                    if cookie != self.cookie {
                        return Err(PeerError::Unexpected("a COOKIE ECHO with a cookie it never sent"));
                    }
                    self.set(
                        |s| s.sctp = SctpState::Established,
                        "received its own State Cookie back in COOKIE ECHO",
                        RfcRef::new(9260, "5.1"),
                    );
                    self.sctp(
                        vec![Chunk::CookieAck],
                        self.peer_tag,
                        "COOKIE ACK: the association is up",
                        RfcRef::new(9260, "5.1"),
                    );
                    if self.state.channel == ChannelState::Connecting {
                        let open = dcep::Message::Open(dcep::Open {
                            ordered: true,
                            reliability: dcep::Reliability::Reliable,
                            priority: PRIORITY_LOW,
                            label: self.cfg.label.clone(),
                            protocol: String::new(),
                        });
                        let bytes = open.encode().map_err(PeerError::Dcep)?;
                        self.data(
                            ppid::DCEP,
                            bytes,
                            "DATA_CHANNEL_OPEN for its channel, on stream 1, PPID 50 (WebRTC DCEP)",
                            RfcRef::new(8832, "6"),
                        );
                    }
                }
                Chunk::CookieAck => {
                    self.set(|s| s.sctp = SctpState::Established, "received COOKIE ACK", RfcRef::new(9260, "5.1"));
                }
                Chunk::Data { tsn, ppid, data, .. } => {
                    self.peer_tsn = Some(tsn);
                    self.owe_sack = true;
                    self.on_data(ppid, &data)?;
                }
                Chunk::Sack { .. } | Chunk::Other { .. } => {}
            }
        }
        Ok(())
    }

    fn on_data(&mut self, ppid: u32, data: &[u8]) -> Result<(), PeerError> {
        match (ppid, dcep::Message::decode(data)) {
            (ppid::DCEP, Ok(dcep::Message::Open(o))) => {
                self.set(
                    |s| s.channel = ChannelState::Open,
                    format!("received DATA_CHANNEL_OPEN {:?}: the channel exists, and is open", o.label),
                    RfcRef::new(8832, "6"),
                );
                self.event(format!("ondatachannel: a channel {:?} opened by the other side", o.label));
                let ack = dcep::Message::Ack.encode().map_err(PeerError::Dcep)?;
                self.data(
                    ppid::DCEP,
                    ack,
                    "DATA_CHANNEL_ACK on the same stream, with a SACK for the OPEN",
                    RfcRef::new(8832, "6"),
                );
            }
            (ppid::DCEP, Ok(dcep::Message::Ack)) => {
                self.set(|s| s.channel = ChannelState::Open, "received DATA_CHANNEL_ACK", RfcRef::new(8832, "6"));
            }
            (ppid::DCEP, Err(e)) => return Err(PeerError::Dcep(e)),
            (ppid::STRING, _) => {
                self.event(format!("onmessage on {:?}: {:?}", self.cfg.label, String::from_utf8_lossy(data)));
                let chunks = self.sack_if_owed();
                self.sctp(
                    chunks,
                    self.peer_tag,
                    "SACK: the message arrived (sent at once here; a receiver may wait up to 200 ms, RFC 9260 §6.2)",
                    RfcRef::new(9260, "6.2"),
                );
            }
            _ => {}
        }
        Ok(())
    }
}

/// Its role and state, not its secrets and buffers: short, and small in the Wasm app.
impl fmt::Debug for Peer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Peer({:?}, {})", self.cfg.role, self.state)
    }
}

impl Machine for Peer {
    type State = PeerState;
    type Command = Command;
    type Event = String;
    type Error = PeerError;

    fn state(&self) -> PeerState {
        self.state
    }

    fn handle_input(&mut self, _now: Instant, input: Input<'_, Command>) -> Result<(), PeerError> {
        match input {
            Input::Command(Command::Connect) => {
                if self.cfg.role != Role::Offerer || self.state.channel != ChannelState::None {
                    return Err(PeerError::Unexpected("only the offerer connects, once"));
                }
                let label = self.cfg.label.clone();
                self.set(
                    |s| s.channel = ChannelState::Connecting,
                    format!("called createDataChannel({label:?}): the offer will carry a data channel section"),
                    RfcRef::new(8831, "6.5"),
                );
                self.apply(wirelab_signal::Side::Local, SdpType::Offer)?;
                self.signal_description("offer");
                Ok(())
            }
            Input::Command(Command::Send(text)) => {
                if self.state.channel != ChannelState::Open {
                    return Err(PeerError::Unexpected("the channel is not open"));
                }
                // An empty string goes as one byte with PPID 56 (RFC 8831 §6.6).
                let (ppid, data) =
                    if text.is_empty() { (ppid::STRING_EMPTY, vec![0]) } else { (ppid::STRING, text.into_bytes()) };
                self.data(
                    ppid,
                    data,
                    "the message on stream 1 as PPID 51 (WebRTC String), ordered and reliable",
                    RfcRef::new(8831, "6.6"),
                );
                Ok(())
            }
            Input::Receive { from, bytes } if from == self.cfg.server => {
                let text =
                    core::str::from_utf8(bytes).map_err(|_| PeerError::Unexpected("signalling that is not text"))?;
                self.on_signal(text)
            }
            // One UDP port, demultiplexed by the first byte (RFC 7983 §7): 0-3 STUN, 20-63 DTLS.
            Input::Receive { from, bytes } => match bytes.first() {
                Some(0..=3) => self.on_stun(from, bytes),
                Some(20..=63) => self.on_dtls(bytes),
                _ => Err(PeerError::Unexpected("a datagram that is neither STUN nor DTLS (RFC 7983 §7)")),
            },
            Input::Timeout => Ok(()),
        }
    }

    fn poll_output(&mut self, _now: Instant) -> Output<PeerState, String> {
        self.out.pop_front().unwrap_or(Output::Idle { wake_at: None })
    }

    fn suggested_commands(&self) -> Vec<Command> {
        match (self.cfg.role, self.state.channel) {
            (Role::Offerer, ChannelState::None) => vec![Command::Connect],
            (_, ChannelState::Open) => vec![Command::Send("hello".into())],
            _ => Vec::new(),
        }
    }

    fn diagrams(&self) -> Vec<wirelab_core::StateDiagram> {
        diagrams()
    }

    fn annotate(bytes: &[u8]) -> Annotation {
        annotate(bytes)
    }
}

/// Any frame of the connection, explained: signalling JSON, STUN, or DTLS records (and the
/// SCTP and DCEP inside), told apart by the first byte as RFC 7983 §7 does.
pub fn annotate(bytes: &[u8]) -> Annotation {
    match bytes.first() {
        Some(b'{') => signalling::annotate(bytes),
        Some(0..=3) => stun::annotate(bytes),
        Some(20..=63) => dtls::annotate(bytes),
        _ => {
            let mut a =
                Annotation { protocol: "?".into(), summary: format!("{} bytes", bytes.len()), ..Annotation::default() };
            Nest { fields: &mut a.fields, base: 0, depth: 0 }.push(
                "Data",
                0,
                bytes.len(),
                String::new(),
                "not STUN, DTLS or signalling",
                0,
            );
            a
        }
    }
}
