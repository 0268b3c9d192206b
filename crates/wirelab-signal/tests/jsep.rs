//! The JSEP signalling state machine against the W3C WebRTC state diagram: every legal
//! transition, written out here independently of the code, and every other combination
//! refused with the state unchanged.

use wirelab_signal::{JsepError, SdpType, Side, Signaling, SignalingState};

use SdpType::{Answer, Offer, Pranswer, Rollback};
use Side::{Local, Remote};
use SignalingState::{Closed, HaveLocalOffer, HaveLocalPranswer, HaveRemoteOffer, HaveRemotePranswer, Stable};

/// The W3C WebRTC §4.3.1 diagram, edge by edge, plus rollback (RFC 8829 §5.7 as W3C
/// narrows it: only from the two have-*-offer states).
const LEGAL: &[(SignalingState, Side, SdpType, SignalingState)] = &[
    (Stable, Local, Offer, HaveLocalOffer),
    (Stable, Remote, Offer, HaveRemoteOffer),
    (HaveLocalOffer, Local, Offer, HaveLocalOffer),
    (HaveLocalOffer, Remote, Pranswer, HaveRemotePranswer),
    (HaveLocalOffer, Remote, Answer, Stable),
    (HaveLocalOffer, Local, Rollback, Stable),
    (HaveLocalOffer, Remote, Rollback, Stable),
    (HaveRemoteOffer, Remote, Offer, HaveRemoteOffer),
    (HaveRemoteOffer, Local, Pranswer, HaveLocalPranswer),
    (HaveRemoteOffer, Local, Answer, Stable),
    (HaveRemoteOffer, Local, Rollback, Stable),
    (HaveRemoteOffer, Remote, Rollback, Stable),
    (HaveLocalPranswer, Local, Pranswer, HaveLocalPranswer),
    (HaveLocalPranswer, Local, Answer, Stable),
    (HaveRemotePranswer, Remote, Pranswer, HaveRemotePranswer),
    (HaveRemotePranswer, Remote, Answer, Stable),
];

/// Some illegal ones with the reason a student would expect, spelled out.
const ILLEGAL: &[(SignalingState, Side, SdpType, &str)] = &[
    (Stable, Remote, Answer, "needs an offer"),
    (Stable, Local, Answer, "needs an offer"),
    (Stable, Local, Pranswer, "needs an offer"),
    (Stable, Local, Rollback, "no offer in progress"),
    (Stable, Remote, Rollback, "no offer in progress"),
    (HaveLocalOffer, Local, Answer, "needs an offer from the other side"),
    (HaveLocalOffer, Remote, Offer, "glare"),
    (HaveRemoteOffer, Local, Offer, "roll it back first"),
    (HaveRemoteOffer, Remote, Answer, "needs an offer from the other side"),
    (HaveLocalPranswer, Remote, Answer, "send the final answer"),
    (HaveLocalPranswer, Local, Rollback, "provisional answer"),
    (HaveRemotePranswer, Remote, Rollback, "provisional answer"),
    (HaveRemotePranswer, Local, Offer, "wait for the final answer"),
    (Closed, Local, Offer, "closed"),
    (Closed, Remote, Offer, "closed"),
    (Closed, Local, Rollback, "closed"),
];

#[test]
fn states_print_as_w3c_spells_them() {
    let names =
        ["stable", "have-local-offer", "have-remote-offer", "have-local-pranswer", "have-remote-pranswer", "closed"];
    for (state, name) in SignalingState::ALL.into_iter().zip(names) {
        assert_eq!(state.to_string(), name);
        assert_eq!(name.parse(), Ok(state));
    }
    for (ty, name) in SdpType::ALL.into_iter().zip(["offer", "pranswer", "answer", "rollback"]) {
        assert_eq!(ty.to_string(), name);
        assert_eq!(name.parse(), Ok(ty));
    }
    assert!("Stable".parse::<SignalingState>().is_err());
    assert_eq!(SignalingState::default(), Stable);
}

#[test]
fn every_legal_transition_of_the_w3c_table() {
    for &(from, side, ty, to) in LEGAL {
        assert_eq!(from.apply(side, ty), Ok(to), "{side} {ty} in {from}");
        let via = match side {
            Local => from.set_local(ty),
            Remote => from.set_remote(ty),
        };
        assert_eq!(via, Ok(to));
    }
}

#[test]
fn every_other_combination_is_refused() {
    let mut refused = 0;
    for from in SignalingState::ALL {
        for side in [Local, Remote] {
            for ty in SdpType::ALL {
                let legal = LEGAL.iter().any(|&(f, s, t, _)| (f, s, t) == (from, side, ty));
                if !legal {
                    assert_eq!(from.apply(side, ty), Err(JsepError { state: from, side, ty }), "{side} {ty} in {from}");
                    refused += 1;
                }
            }
        }
    }
    assert_eq!(refused, 6 * 2 * 4 - LEGAL.len());
    assert_eq!(refused, 32);
}

#[test]
fn illegal_transitions_say_why() {
    for &(state, side, ty, why) in ILLEGAL {
        let e = state.apply(side, ty).expect_err("should be refused");
        let text = e.to_string();
        assert!(text.starts_with(&format!("cannot set {side} {ty} in state {state}")), "{text}");
        assert!(text.contains(why), "{text} should say {why:?}");
        assert_eq!(e.dom_exception(), "InvalidStateError");
    }
}

#[test]
fn a_full_exchange_with_a_provisional_answer_from_both_ends() {
    // Offerer and answerer, each with its own machine, driven in step.
    let mut offerer = Signaling::new();
    let mut answerer = Signaling::new();
    let t = offerer.set_local(Offer).expect("should succeed");
    assert_eq!((t.from, t.to, &*t.cause), (Stable, HaveLocalOffer, "setLocalDescription(offer)"));
    assert_eq!(t.rfc.map(|r| r.to_string()), Some("RFC 8829 §3.2".into()));
    answerer.set_remote(Offer).expect("should succeed");
    answerer.set_local(Pranswer).expect("should succeed");
    offerer.set_remote(Pranswer).expect("should succeed");
    assert_eq!((offerer.state(), answerer.state()), (HaveRemotePranswer, HaveLocalPranswer));
    answerer.set_local(Answer).expect("should succeed");
    let t = offerer.set_remote(Answer).expect("should succeed");
    assert_eq!((t.from, t.to), (HaveRemotePranswer, Stable));
    assert_eq!((offerer.state(), answerer.state()), (Stable, Stable));
}

#[test]
fn glare_is_resolved_by_a_rollback() {
    // Both sides offered at once; the "polite" one rolls back and answers.
    let mut polite = Signaling::new();
    polite.set_local(Offer).expect("should succeed");
    let e = polite.set_remote(Offer).expect_err("should be refused");
    assert_eq!(polite.state(), HaveLocalOffer, "a refused description changes nothing");
    assert!(e.to_string().contains("glare"));
    let t = polite.set_local(Rollback).expect("should succeed");
    assert_eq!(t.rfc.map(|r| r.to_string()), Some("RFC 8829 §5.7".into()));
    polite.set_remote(Offer).expect("should succeed");
    polite.set_local(Answer).expect("should succeed");
    assert_eq!(polite.state(), Stable);
}

#[test]
fn close_is_final() {
    let mut s = Signaling::new();
    s.set_local(Offer).expect("should succeed");
    let t = s.close();
    assert_eq!((t.from, t.to, t.rfc), (HaveLocalOffer, Closed, None));
    for ty in SdpType::ALL {
        assert!(s.set_local(ty).is_err());
        assert!(s.set_remote(ty).is_err());
    }
    assert_eq!(s.state(), Closed);
}
