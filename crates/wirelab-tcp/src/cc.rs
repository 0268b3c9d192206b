//! Congestion control: slow start, congestion avoidance, fast retransmit and fast recovery
//! (RFC 5681) with NewReno's partial acknowledgments (RFC 6582). Pure arithmetic on
//! `cwnd` and `ssthresh`, driven by the machine: it says what arrived, this says what to do.

use crate::seq::{gt, le};

/// What the sender should do after an ACK.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AckAction {
    /// Nothing special: send what the window now allows.
    None,
    /// Third duplicate ACK: retransmit the first unacknowledged segment now (RFC 5681 §3.2
    /// step 4, "fast retransmit").
    FastRetransmit,
    /// A partial ACK in recovery: retransmit the first unacknowledged segment (RFC 6582
    /// §3.2 step 5).
    RetransmitFirstUnacked,
}

/// NewReno state: RFC 5681's variables, named as the RFC names them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewReno {
    smss: u32,
    cwnd: u32,
    ssthresh: u32,
    dupacks: u32,
    /// "recover" of RFC 6582: the highest sequence number transmitted (SND.NXT − 1) when
    /// recovery began or the timer last expired.
    recover: u32,
    in_recovery: bool,
}

impl NewReno {
    /// "IW, the initial value of cwnd, MUST be set using the following guidelines as an
    /// upper bound" (RFC 5681 §3.1): 2, 3 or 4 segments by SMSS. "The initial value of
    /// ssthresh SHOULD be set arbitrarily high (e.g., to the size of the largest possible
    /// advertised window)".
    pub fn new(smss: u32, iss: u32) -> Self {
        let iw = match smss {
            s if s > 2190 => 2 * s,
            s if s > 1095 => 3 * s,
            s => 4 * s,
        };
        NewReno { smss, cwnd: iw, ssthresh: u32::MAX, dupacks: 0, recover: iss, in_recovery: false }
    }

    pub fn cwnd(&self) -> u32 {
        self.cwnd
    }

    pub fn ssthresh(&self) -> u32 {
        self.ssthresh
    }

    pub fn in_recovery(&self) -> bool {
        self.in_recovery
    }

    pub fn in_slow_start(&self) -> bool {
        self.cwnd < self.ssthresh
    }

    /// "ssthresh = max (FlightSize / 2, 2*SMSS)" (RFC 5681 equation 4).
    fn halve(&mut self, flight_size: u32) {
        self.ssthresh = (flight_size / 2).max(2 * self.smss);
    }

    /// An ACK that advanced SND.UNA by `acked` bytes to `ack`; `flight_size` is what was
    /// outstanding before it.
    pub fn on_new_ack(&mut self, ack: u32, acked: u32, flight_size: u32) -> AckAction {
        self.dupacks = 0;
        if self.in_recovery {
            if le(ack, self.recover) {
                // Partial ACK (RFC 6582 §3.2 step 5): "deflate the congestion window by the
                // amount of new data acknowledged by the cumulative acknowledgment field. If
                // the partial ACK acknowledges at least one SMSS of new data, then add back
                // SMSS bytes to the congestion window."
                self.cwnd = self.cwnd.saturating_sub(acked);
                if acked >= self.smss {
                    self.cwnd += self.smss;
                }
                self.cwnd = self.cwnd.max(self.smss);
                return AckAction::RetransmitFirstUnacked;
            }
            // Full ACK (RFC 6582 §3.2 step 6): "Set cwnd to either (1) min (ssthresh,
            // max(FlightSize, SMSS) + SMSS) or (2) ssthresh". We take (1).
            let remaining = flight_size.saturating_sub(acked);
            self.cwnd = self.ssthresh.min(remaining.max(self.smss) + self.smss);
            self.in_recovery = false;
            return AckAction::None;
        }
        if self.in_slow_start() {
            // "cwnd += min (N, SMSS)" (RFC 5681 equation 2)
            self.cwnd = self.cwnd.saturating_add(acked.min(self.smss));
        } else {
            // "cwnd += SMSS*SMSS/cwnd" (RFC 5681 equation 3), at least one byte.
            self.cwnd = self.cwnd.saturating_add((self.smss * self.smss / self.cwnd.max(1)).max(1));
        }
        AckAction::None
    }

    /// A duplicate ACK (RFC 5681 §2's definition, checked by the caller), acknowledging
    /// `snd_una` while `snd_nxt` is the next sequence number to send.
    pub fn on_dup_ack(&mut self, snd_una: u32, snd_nxt: u32, flight_size: u32) -> AckAction {
        if self.in_recovery {
            // "For each additional duplicate ACK received (after the third), cwnd MUST be
            // incremented by SMSS" (RFC 5681 §3.2 step 5)
            self.cwnd = self.cwnd.saturating_add(self.smss);
            return AckAction::None;
        }
        self.dupacks += 1;
        if self.dupacks < 3 {
            return AckAction::None;
        }
        // "If the Cumulative Acknowledgment field didn't cover more than recover", do not
        // enter fast retransmit (RFC 6582 §3.2 step 2): one loss event halves cwnd once.
        if !gt(snd_una, self.recover) {
            return AckAction::None;
        }
        self.halve(flight_size);
        self.recover = snd_nxt.wrapping_sub(1);
        self.in_recovery = true;
        // "set cwnd to ssthresh plus 3*SMSS" (RFC 5681 §3.2 step 3)
        self.cwnd = self.ssthresh + 3 * self.smss;
        AckAction::FastRetransmit
    }

    /// The retransmission timer expired (RFC 5681 §3.1, equation 4 and "cwnd MUST be set
    /// to no more than the loss window, LW, which equals 1 full-sized segment").
    pub fn on_timeout(&mut self, flight_size: u32, snd_nxt: u32) {
        self.halve(flight_size);
        self.cwnd = self.smss;
        self.dupacks = 0;
        self.in_recovery = false;
        // RFC 6582 §3.2 step 4 ("After a retransmit timeout, record the highest sequence
        // number transmitted in the variable recover").
        self.recover = snd_nxt.wrapping_sub(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MSS: u32 = 1000;

    #[test]
    fn initial_window_follows_rfc_5681_section_3_1() {
        assert_eq!(NewReno::new(1460, 0).cwnd(), 4380);
        assert_eq!(NewReno::new(536, 0).cwnd(), 2144);
        assert_eq!(NewReno::new(4000, 0).cwnd(), 8000);
    }

    #[test]
    fn slow_start_grows_by_one_mss_per_ack_then_avoidance_by_about_one_per_rtt() {
        let mut cc = NewReno::new(MSS, 0);
        let start = cc.cwnd();
        cc.on_new_ack(1000, 1000, 4000);
        assert_eq!(cc.cwnd(), start + MSS);
        cc.on_timeout(8000, 9000);
        assert_eq!((cc.cwnd(), cc.ssthresh()), (MSS, 4000));
        for _ in 0..3 {
            cc.on_new_ack(0, 1000, 1000);
        }
        assert_eq!(cc.cwnd(), 4000, "slow start up to ssthresh");
        assert!(!cc.in_slow_start());
        cc.on_new_ack(0, 1000, 4000);
        assert_eq!(cc.cwnd(), 4250, "SMSS*SMSS/cwnd");
    }

    #[test]
    fn three_dup_acks_trigger_fast_retransmit_and_recovery() {
        let mut cc = NewReno::new(MSS, 0);
        // 10 segments out (1..=10000), the first lost.
        assert_eq!(cc.on_dup_ack(1, 10_001, 10_000), AckAction::None);
        assert_eq!(cc.on_dup_ack(1, 10_001, 10_000), AckAction::None);
        assert_eq!(cc.on_dup_ack(1, 10_001, 10_000), AckAction::FastRetransmit);
        assert_eq!(cc.ssthresh(), 5000);
        assert_eq!(cc.cwnd(), 5000 + 3 * MSS);
        assert!(cc.in_recovery());
        cc.on_dup_ack(1, 10_001, 10_000);
        assert_eq!(cc.cwnd(), 9000, "inflated by each further dup ACK");
        // A partial ACK (segments 1-2 only): deflate, retransmit the next hole.
        assert_eq!(cc.on_new_ack(2001, 2000, 10_000), AckAction::RetransmitFirstUnacked);
        assert_eq!(cc.cwnd(), 9000 - 2000 + MSS);
        assert!(cc.in_recovery());
        // The full ACK ends recovery with cwnd = min(ssthresh, max(flight, SMSS) + SMSS).
        assert_eq!(cc.on_new_ack(10_001, 8000, 8000), AckAction::None);
        assert!(!cc.in_recovery());
        assert_eq!(cc.cwnd(), 2000);
    }

    #[test]
    fn dup_acks_below_recover_after_a_timeout_do_not_halve_again() {
        let mut cc = NewReno::new(MSS, 0);
        cc.on_timeout(8000, 9001); // recover = 9000
        let after = cc.ssthresh();
        // Duplicate ACKs for data sent before the timeout: the same loss event.
        for _ in 0..5 {
            assert_eq!(cc.on_dup_ack(2001, 9001, 7000), AckAction::None);
        }
        assert_eq!((cc.ssthresh(), cc.cwnd()), (after, MSS));
        // A new loss past recover does start recovery.
        cc.on_new_ack(9001, 7000, 7000);
        for _ in 0..2 {
            cc.on_dup_ack(9001, 12_001, 3000);
        }
        assert_eq!(cc.on_dup_ack(9001, 12_001, 3000), AckAction::FastRetransmit);
    }
}
