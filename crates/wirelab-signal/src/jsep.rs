//! The JSEP signalling state machine: which session description may be applied when.
//!
//! RFC 8829 §3.2: "JSEP's handling of session descriptions is simple and
//! straightforward. Whenever an offer/answer exchange is needed, the initiating side
//! creates an offer by calling a createOffer API. The application then uses that offer
//! to set up its local config via the setLocalDescription API. The offer is finally
//! sent off to the remote side over its preferred signaling mechanism". The states and
//! their names are those of W3C WebRTC §4.3.1.1 (`RTCSignalingState`,
//! <https://www.w3.org/TR/webrtc/#rtcsignalingstate-enum>), and the transitions those of
//! its state diagram:
//!
//! ```text
//!                    setLocal(offer)                    setRemote(offer)
//!   have-local-offer <-------------- stable -------------> have-remote-offer
//!     |  ^ setLocal(offer)           ^  ^  ^  ^                ^ setRemote(offer) |
//!     |  '----'                      |  |  |  |                '----'             |
//!     | setRemote(answer) -----------'  |  |  '--------- setLocal(answer)        |
//!     | setRemote(pranswer)             |  |                  setLocal(pranswer) |
//!     v                                 |  |                                      v
//!   have-remote-pranswer --setRemote(answer)  setLocal(answer)-- have-local-pranswer
//!     (setRemote(pranswer) loops)                      (setLocal(pranswer) loops)
//!
//!   rollback (local or remote) from have-local-offer or have-remote-offer -> stable
//!   close() from anywhere -> closed, and nothing more is accepted
//! ```
//!
//! Where the two specs differ we follow W3C, which browsers implement: RFC 8829 §5.7
//! allows a rollback "in any state except for stable", W3C WebRTC (issue #2235) refuses
//! one in `have-local-pranswer` and `have-remote-pranswer`. W3C's implicit rollback
//! (`setRemoteDescription(offer)` in `have-local-offer`, used by "perfect negotiation")
//! is not modelled: do the rollback explicitly first.

use core::fmt;
use core::str::FromStr;
use std::borrow::Cow;
use wirelab_core::{RfcRef, Transition};

/// `RTCSignalingState`, W3C WebRTC §4.3.1.1. `Display` prints the W3C spelling.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum SignalingState {
    /// No offer/answer exchange in progress: the initial state, and where every complete
    /// exchange ends.
    #[default]
    Stable,
    /// A local offer has been applied; waiting for the remote answer.
    HaveLocalOffer,
    /// A remote offer has been applied; the local answer is to be made.
    HaveRemoteOffer,
    /// A remote offer and a local provisional answer (RFC 8829 §4.1.10.1) have been applied.
    HaveLocalPranswer,
    /// A local offer and a remote provisional answer have been applied.
    HaveRemotePranswer,
    /// The connection was closed.
    Closed,
}

impl SignalingState {
    pub const ALL: [SignalingState; 6] = [
        SignalingState::Stable,
        SignalingState::HaveLocalOffer,
        SignalingState::HaveRemoteOffer,
        SignalingState::HaveLocalPranswer,
        SignalingState::HaveRemotePranswer,
        SignalingState::Closed,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            SignalingState::Stable => "stable",
            SignalingState::HaveLocalOffer => "have-local-offer",
            SignalingState::HaveRemoteOffer => "have-remote-offer",
            SignalingState::HaveLocalPranswer => "have-local-pranswer",
            SignalingState::HaveRemotePranswer => "have-remote-pranswer",
            SignalingState::Closed => "closed",
        }
    }

    /// The state after `setLocalDescription({type})`, or why it is refused.
    pub fn set_local(self, ty: SdpType) -> Result<SignalingState, JsepError> {
        self.apply(Side::Local, ty)
    }

    /// The state after `setRemoteDescription({type})`, or why it is refused.
    pub fn set_remote(self, ty: SdpType) -> Result<SignalingState, JsepError> {
        self.apply(Side::Remote, ty)
    }

    /// The state after applying a description of type `ty` on `side`: W3C WebRTC §4.3.1
    /// state diagram; rollback per RFC 8829 §5.7 as narrowed by W3C.
    pub fn apply(self, side: Side, ty: SdpType) -> Result<SignalingState, JsepError> {
        use SdpType::{Answer, Offer, Pranswer, Rollback};
        use Side::{Local, Remote};
        use SignalingState::*;
        let next = match (self, side, ty) {
            (Stable, Local, Offer) | (HaveLocalOffer, Local, Offer) => HaveLocalOffer,
            (Stable, Remote, Offer) | (HaveRemoteOffer, Remote, Offer) => HaveRemoteOffer,
            (HaveLocalOffer, Remote, Pranswer) | (HaveRemotePranswer, Remote, Pranswer) => HaveRemotePranswer,
            (HaveRemoteOffer, Local, Pranswer) | (HaveLocalPranswer, Local, Pranswer) => HaveLocalPranswer,
            (HaveLocalOffer | HaveRemotePranswer, Remote, Answer) => Stable,
            (HaveRemoteOffer | HaveLocalPranswer, Local, Answer) => Stable,
            // "The effect of rollback MUST be the same regardless of whether
            // setLocalDescription or setRemoteDescription is called." (RFC 8829 §5.7)
            (HaveLocalOffer | HaveRemoteOffer, _, Rollback) => Stable,
            _ => return Err(JsepError { state: self, side, ty }),
        };
        Ok(next)
    }
}

impl fmt::Display for SignalingState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for SignalingState {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        SignalingState::ALL.into_iter().find(|st| st.as_str() == s).ok_or_else(|| format!("no signaling state {s:?}"))
    }
}

/// `RTCSdpType` of W3C WebRTC, after RFC 8829 §4.1.10.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SdpType {
    Offer,
    /// A provisional answer: final enough to start, may be replaced by the real answer
    /// (RFC 8829 §4.1.10.1).
    Pranswer,
    Answer,
    /// Cancel the offer in progress and return to `stable` (RFC 8829 §5.7).
    Rollback,
}

impl SdpType {
    pub const ALL: [SdpType; 4] = [SdpType::Offer, SdpType::Pranswer, SdpType::Answer, SdpType::Rollback];

    pub const fn as_str(self) -> &'static str {
        match self {
            SdpType::Offer => "offer",
            SdpType::Pranswer => "pranswer",
            SdpType::Answer => "answer",
            SdpType::Rollback => "rollback",
        }
    }
}

impl fmt::Display for SdpType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for SdpType {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        SdpType::ALL.into_iter().find(|t| t.as_str() == s).ok_or_else(|| format!("no SDP type {s:?}"))
    }
}

/// Whose description: `setLocalDescription` or `setRemoteDescription`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Side {
    Local,
    Remote,
}

impl Side {
    pub const fn method(self) -> &'static str {
        match self {
            Side::Local => "setLocalDescription",
            Side::Remote => "setRemoteDescription",
        }
    }
}

impl fmt::Display for Side {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Side::Local => "local",
            Side::Remote => "remote",
        })
    }
}

/// A description of type `ty` cannot be applied on `side` in `state`. A browser rejects
/// the promise with an `InvalidStateError` and leaves the state as it was.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct JsepError {
    pub state: SignalingState,
    pub side: Side,
    pub ty: SdpType,
}

impl JsepError {
    /// Why, in a sentence.
    pub fn reason(&self) -> &'static str {
        use SdpType::{Answer, Offer, Pranswer, Rollback};
        use Side::{Local, Remote};
        use SignalingState::*;
        match (self.state, self.side, self.ty) {
            (Closed, _, _) => "the connection is closed",
            (Stable, _, Rollback) => "there is no offer in progress to roll back (RFC 8829 §5.7)",
            (HaveLocalPranswer | HaveRemotePranswer, _, Rollback) => {
                "W3C WebRTC does not roll back a provisional answer, though RFC 8829 §5.7 would"
            }
            (Stable, _, Pranswer | Answer)
            | (HaveLocalOffer, Local, Pranswer | Answer)
            | (HaveRemoteOffer, Remote, Pranswer | Answer) => "an answer needs an offer from the other side first",
            (HaveLocalOffer, Remote, Offer) => "both sides offered at once (glare): roll back the local offer first",
            (HaveRemoteOffer, Local, Offer) => {
                "an offer from the other side is in progress: answer it, or roll it back first"
            }
            (HaveLocalPranswer, _, _) => "the other side's offer is provisionally answered: send the final answer",
            (HaveRemotePranswer, _, _) => "this side's offer is provisionally answered: wait for the final answer",
            _ => "not a transition of the W3C WebRTC state diagram",
        }
    }

    /// What a browser names the failure (W3C WebRTC, "set the session description"):
    /// always this one for a description of the wrong type for the state.
    pub const fn dom_exception(&self) -> &'static str {
        "InvalidStateError"
    }
}

impl fmt::Display for JsepError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "cannot set {} {} in state {}: {}", self.side, self.ty, self.state, self.reason())
    }
}

impl std::error::Error for JsepError {}

/// One peer connection's signalling state, changed only through [`Signaling::apply`],
/// which reports each change as a [`Transition`] with its cause and rule, for the trace.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Signaling {
    state: SignalingState,
}

impl Signaling {
    pub fn new() -> Self {
        Signaling::default()
    }

    pub fn state(&self) -> SignalingState {
        self.state
    }

    pub fn set_local(&mut self, ty: SdpType) -> Result<Transition<SignalingState>, JsepError> {
        self.apply(Side::Local, ty)
    }

    pub fn set_remote(&mut self, ty: SdpType) -> Result<Transition<SignalingState>, JsepError> {
        self.apply(Side::Remote, ty)
    }

    /// Applies a description; on error the state is unchanged.
    pub fn apply(&mut self, side: Side, ty: SdpType) -> Result<Transition<SignalingState>, JsepError> {
        let to = self.state.apply(side, ty)?;
        let rfc = match ty {
            SdpType::Rollback => RfcRef::new(8829, "5.7"),
            _ => RfcRef::new(8829, "3.2"),
        };
        Ok(self.set_state(to, Cow::Owned(format!("{}({ty})", side.method())), Some(rfc)))
    }

    /// `RTCPeerConnection.close()`, which in W3C WebRTC sets the state to `closed` (a
    /// W3C rule, not an RFC's: the transition names no `RfcRef`).
    pub fn close(&mut self) -> Transition<SignalingState> {
        self.set_state(SignalingState::Closed, Cow::Borrowed("close()"), None)
    }

    fn set_state(
        &mut self,
        to: SignalingState,
        cause: Cow<'static, str>,
        rfc: Option<RfcRef>,
    ) -> Transition<SignalingState> {
        let from = self.state;
        self.state = to;
        Transition { from, to, cause, rfc }
    }
}
