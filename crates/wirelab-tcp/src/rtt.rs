//! The retransmission timer's estimator, RFC 6298: SRTT, RTTVAR and RTO from round-trip
//! samples, Karn's rule, and exponential backoff.
//!
//! "TCP MUST use Karn's algorithm [KP87] for taking RTT samples. That is, RTT samples
//! MUST NOT be made using segments that were retransmitted" (RFC 6298 §3). One segment is
//! timed at a time, as RFC 6298 §3 allows ("at least one RTT measurement per RTT").

use crate::seq::le;
use core::time::Duration;
use wirelab_core::Instant;

/// α = 1/8 and β = 1/4 (RFC 6298 §2.3), K = 4.
const K: u32 = 4;
/// The clock granularity G of RFC 6298 §2: the simulator's clock ticks in microseconds,
/// and we round to a millisecond, as a real stack's timer would.
const G: Duration = Duration::from_millis(1);

/// SRTT, RTTVAR and RTO, and the one segment being timed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RttEstimator {
    srtt: Option<Duration>,
    rttvar: Duration,
    rto: Duration,
    min_rto: Duration,
    max_rto: Duration,
    /// The sequence number whose acknowledgment ends the sample, and when timing began.
    timing: Option<(u32, Instant)>,
}

impl RttEstimator {
    /// "Until a round-trip time (RTT) measurement has been made … the sender SHOULD set
    /// RTO <- 1 second" (RFC 6298 §2.1); `min_rto` is §2.4's floor ("if it is less than 1
    /// second, then the RTO SHOULD be rounded up to 1 second"); `max_rto` is §2.5's cap
    /// ("a maximum value MAY be placed on RTO provided it is at least 60 seconds").
    pub fn new(initial_rto: Duration, min_rto: Duration, max_rto: Duration) -> Self {
        RttEstimator { srtt: None, rttvar: Duration::ZERO, rto: initial_rto, min_rto, max_rto, timing: None }
    }

    pub fn rto(&self) -> Duration {
        self.rto
    }

    pub fn srtt(&self) -> Option<Duration> {
        self.srtt
    }

    pub fn rttvar(&self) -> Duration {
        self.rttvar
    }

    /// Starts timing the segment whose acknowledgment will be `ack_of` (unless one is
    /// already being timed).
    pub fn start(&mut self, ack_of: u32, now: Instant) {
        if self.timing.is_none() {
            self.timing = Some((ack_of, now));
        }
    }

    /// An acknowledgment for `ack` arrived: if it covers the timed segment, takes the
    /// sample and updates the estimate. Returns the sample.
    pub fn on_ack(&mut self, ack: u32, now: Instant) -> Option<Duration> {
        let (end, sent) = self.timing?;
        if !le(end, ack) {
            return None;
        }
        self.timing = None;
        let r = now - sent;
        match self.srtt {
            // "When the first RTT measurement R is made, the host MUST set
            // SRTT <- R, RTTVAR <- R/2" (RFC 6298 §2.2)
            None => {
                self.srtt = Some(r);
                self.rttvar = r / 2;
            }
            // "RTTVAR <- (1 - beta) * RTTVAR + beta * |SRTT - R'|,
            //  SRTT <- (1 - alpha) * SRTT + alpha * R'" (RFC 6298 §2.3), in that order.
            Some(srtt) => {
                let diff = srtt.abs_diff(r);
                self.rttvar = self.rttvar * 3 / 4 + diff / 4;
                self.srtt = Some(srtt * 7 / 8 + r / 8);
            }
        }
        // "RTO <- SRTT + max (G, K*RTTVAR)" (RFC 6298 §2.2, §2.3)
        let srtt = self.srtt.unwrap_or(r);
        self.rto = (srtt + G.max(self.rttvar * K)).clamp(self.min_rto, self.max_rto);
        Some(r)
    }

    /// A segment goes again outside the timer (fast retransmit): by Karn's rule nothing
    /// sent before now may be timed, but the RTO stays.
    pub fn cancel_timing(&mut self) {
        self.timing = None;
    }

    /// The timer expired and a segment goes again: "RTO <- RTO * 2" (RFC 6298 §5.5), and
    /// by Karn's rule nothing sent before now may be timed.
    pub fn on_retransmit(&mut self) {
        self.timing = None;
        self.rto = (self.rto * 2).min(self.max_rto);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    fn est() -> RttEstimator {
        RttEstimator::new(Duration::from_secs(1), Duration::ZERO, Duration::from_secs(60))
    }

    #[test]
    fn first_sample_sets_srtt_and_half_rttvar() {
        let mut e = est();
        e.start(100, Instant::ZERO);
        assert_eq!(e.on_ack(99, Instant::from_millis(10)), None, "does not cover the timed segment");
        assert_eq!(e.on_ack(100, Instant::from_millis(20)), Some(ms(20)));
        assert_eq!((e.srtt(), e.rttvar()), (Some(ms(20)), ms(10)));
        // RTO = 20 + max(1, 4·10) = 60 ms (no 1 s floor in this test's config).
        assert_eq!(e.rto(), ms(60));
    }

    #[test]
    fn later_samples_follow_the_rfc_equations() {
        let mut e = est();
        e.start(1, Instant::ZERO);
        e.on_ack(1, Instant::from_millis(100));
        e.start(2, Instant::from_millis(100));
        e.on_ack(2, Instant::from_millis(300)); // R' = 200
        // RTTVAR = 3/4·50 + 1/4·|100 − 200| = 62.5; SRTT = 7/8·100 + 1/8·200 = 112.5
        assert_eq!(e.rttvar(), Duration::from_micros(62_500));
        assert_eq!(e.srtt(), Some(Duration::from_micros(112_500)));
        assert_eq!(e.rto(), Duration::from_micros(112_500 + 250_000));
    }

    #[test]
    fn karns_rule_and_backoff() {
        let mut e = RttEstimator::new(Duration::from_secs(1), Duration::from_secs(1), Duration::from_secs(60));
        e.start(1, Instant::ZERO);
        e.on_retransmit();
        assert_eq!(e.rto(), Duration::from_secs(2));
        // The ACK may be for either transmission: no sample (Karn).
        assert_eq!(e.on_ack(1, Instant::from_millis(2_100)), None);
        for _ in 0..10 {
            e.on_retransmit();
        }
        assert_eq!(e.rto(), Duration::from_secs(60), "capped at 60 s");
        // A small sample is floored at the minimum RTO.
        e.start(5, Instant::from_millis(10_000));
        e.on_ack(5, Instant::from_millis(10_000) + ms(20));
        assert_eq!(e.rto(), Duration::from_secs(1));
    }
}
