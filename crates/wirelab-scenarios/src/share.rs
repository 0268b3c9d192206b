//! A view of a run as a URL query, so a link reopens the exact same trace at the same step:
//! `step=12&seed=3&loss=0.05&latency=20&jitter=5&bw=10&drop=7,19`.
//!
//! The names are short and stable (course pages link to them):
//!
//! | name      | meaning                                                   | range            |
//! |-----------|-----------------------------------------------------------|------------------|
//! | `step`    | steps taken (0: before the first)                         | 0 …              |
//! | `seed`    | the run's seed                                            | any `u64`        |
//! | `loss`    | probability a frame is lost, as a fraction                | 0 … 0.5          |
//! | `latency` | one-way delay, milliseconds                               | 0 … 500          |
//! | `jitter`  | extra random delay per frame, up to this, milliseconds    | 0 … 200          |
//! | `bw`      | line rate in Mbit/s, or `off` for an infinitely fast line | 0.1 … 100, `off` |
//! | `drop`    | trace positions of `Sent` events dropped by hand          | up to 64 of them |
//!
//! `step` and `seed` are always written; a fault only when it differs from the scenario's
//! [`defaults`]. Reading never fails: a value that does not parse or is out of range is
//! left at the scenario's default and explained in a note for the page to show.

use crate::{MAX_EVENTS, Params, defaults};
use core::time::Duration;
use std::fmt::Write as _;

/// Highest loss the faults panel offers (50 %).
pub const LOSS_MAX: f64 = 0.5;
/// Highest one-way latency, in milliseconds.
pub const LATENCY_MAX_MS: f64 = 500.0;
/// Highest jitter, in milliseconds.
pub const JITTER_MAX_MS: f64 = 200.0;
/// The slowest and fastest line rates, in Mbit/s.
pub const BANDWIDTH_MIN_MBPS: f64 = 0.1;
pub const BANDWIDTH_MAX_MBPS: f64 = 100.0;
/// Most frames a link may drop by hand.
pub const MAX_DROPS: usize = 64;

/// What a link shows: a run and a step in it.
#[derive(Clone, Debug, PartialEq)]
pub struct View {
    pub params: Params,
    /// Steps taken; the app clamps it to the run's length.
    pub step: usize,
}

/// A query read back: the view, and what was ignored and why.
#[derive(Clone, Debug, PartialEq)]
pub struct Parsed {
    pub view: View,
    pub notes: Vec<String>,
}

/// `20`, `12.5`: milliseconds as a person types them.
fn millis(d: Duration) -> f64 {
    d.as_micros() as f64 / 1000.0
}

fn from_millis(ms: f64) -> Duration {
    Duration::from_micros((ms * 1000.0).round() as u64)
}

/// The query (without `?`) for `view` of scenario `id`.
pub fn to_query(id: &str, view: &View) -> String {
    let p = &view.params;
    let d = defaults(id);
    let mut q = format!("step={}&seed={}", view.step, p.seed);
    if p.link.loss != d.link.loss {
        let _ = write!(q, "&loss={}", p.link.loss);
    }
    if p.link.latency != d.link.latency {
        let _ = write!(q, "&latency={}", millis(p.link.latency));
    }
    if p.link.jitter != d.link.jitter {
        let _ = write!(q, "&jitter={}", millis(p.link.jitter));
    }
    if p.link.bandwidth_bps != d.link.bandwidth_bps {
        match p.link.bandwidth_bps {
            Some(bps) => {
                let _ = write!(q, "&bw={}", bps as f64 / 1e6);
            }
            None => q.push_str("&bw=off"),
        }
    }
    if !p.drops.is_empty() {
        let drops: Vec<String> = p.drops.iter().map(usize::to_string).collect();
        let _ = write!(q, "&drop={}", drops.join(","));
    }
    q
}

/// Reads a query (with or without its `?`) for scenario `id`, starting from its defaults.
pub fn parse_query(id: &str, query: &str) -> Parsed {
    let mut params = defaults(id);
    let mut step = 0;
    let mut notes = Vec::new();
    for pair in query.trim_start_matches('?').split('&').filter(|p| !p.is_empty()) {
        let (key, raw) = pair.split_once('=').unwrap_or((pair, ""));
        let (key, value) = (decode(key), decode(raw));
        let value = value.trim();
        let number = |lo: f64, hi: f64| decimal(value).filter(|v| (lo..=hi).contains(v));
        let ok = match key.as_str() {
            "step" => value.parse().map(|v| step = v).is_ok(),
            "seed" => value.parse().map(|v| params.seed = v).is_ok(),
            "loss" => number(0.0, LOSS_MAX).map(|v| params.link.loss = v).is_some(),
            "latency" => number(0.0, LATENCY_MAX_MS).map(|v| params.link.latency = from_millis(v)).is_some(),
            "jitter" => number(0.0, JITTER_MAX_MS).map(|v| params.link.jitter = from_millis(v)).is_some(),
            "bw" if value == "off" => {
                params.link.bandwidth_bps = None;
                true
            }
            "bw" => number(BANDWIDTH_MIN_MBPS, BANDWIDTH_MAX_MBPS)
                .map(|v| params.link.bandwidth_bps = Some((v * 1e6).round() as u64))
                .is_some(),
            "drop" => parse_drops(value).map(|d| params.drops = d).is_some(),
            _ => {
                notes.push(format!("ignored {}: not a setting wirelab knows", short(&key)));
                continue;
            }
        };
        if !ok {
            notes.push(format!("ignored {}={}: {}; the scenario's default stands", key, short(value), expected(&key)));
        }
    }
    Parsed { view: View { params, step }, notes }
}

/// `12`, `0.05`, `.5`: a plain decimal of at most 15 digits; no signs, exponents or
/// infinities. (Not `str::parse::<f64>`: its tables would add 10 KB to the app.) Equal to
/// what `parse` gives: digits and power of ten are exact in a double, and one division
/// rounds to the double nearest the decimal.
fn decimal(s: &str) -> Option<f64> {
    let (whole, frac) = s.split_once('.').unwrap_or((s, ""));
    let digits = |d: &str| d.bytes().all(|b| b.is_ascii_digit());
    if (whole.is_empty() && frac.is_empty()) || !digits(whole) || !digits(frac) || whole.len() + frac.len() > 15 {
        return None;
    }
    let n: u64 = format!("{whole}{frac}").parse().ok()?;
    Some(n as f64 / 10u64.pow(frac.len() as u32) as f64)
}

/// `7,19` → `[7, 19]`, sorted, without repeats; `None` if any entry is not a trace position.
fn parse_drops(value: &str) -> Option<Vec<usize>> {
    let mut out = Vec::new();
    for part in value.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let n: usize = part.parse().ok().filter(|&n| n < MAX_EVENTS)?;
        out.push(n);
    }
    out.sort_unstable();
    out.dedup();
    (out.len() <= MAX_DROPS).then_some(out)
}

fn expected(key: &str) -> String {
    match key {
        "step" => "expected a step number".to_string(),
        "seed" => "expected a whole number".to_string(),
        "loss" => format!("expected a fraction from 0 to {LOSS_MAX}"),
        "latency" => format!("expected milliseconds from 0 to {LATENCY_MAX_MS}"),
        "jitter" => format!("expected milliseconds from 0 to {JITTER_MAX_MS}"),
        "bw" => format!("expected Mbit/s from {BANDWIDTH_MIN_MBPS} to {BANDWIDTH_MAX_MBPS}, or off"),
        _ => format!("expected up to {MAX_DROPS} frame numbers, separated by commas"),
    }
}

/// At most 40 characters of what someone typed, for a note.
fn short(s: &str) -> String {
    if s.chars().count() > 40 { format!("{}…", s.chars().take(39).collect::<String>()) } else { s.to_string() }
}

/// Percent-decoding (`%2C` → `,`, `+` → space), leaving malformed escapes as they are.
pub fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => match s
                .get(i + 1..i + 3)
                .filter(|h| h.bytes().all(|c| c.is_ascii_hexdigit()))
                .and_then(|h| u8::from_str_radix(h, 16).ok())
            {
                Some(b) => {
                    out.push(b);
                    i += 3;
                    continue;
                }
                None => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view(id: &str) -> View {
        View { params: defaults(id), step: 0 }
    }

    #[test]
    fn defaults_write_only_the_step_and_seed() {
        assert_eq!(to_query("tcp-handshake", &view("tcp-handshake")), "step=0&seed=1");
        assert_eq!(to_query("tcp-bulk", &view("tcp-bulk")), "step=0&seed=1");
    }

    #[test]
    fn every_setting_survives_the_round_trip() {
        let mut v = view("tcp-handshake");
        v.step = 12;
        v.params.seed = 3;
        v.params.link.loss = 0.05;
        v.params.link.latency = Duration::from_millis(20);
        v.params.link.jitter = Duration::from_micros(12_500);
        v.params.link.bandwidth_bps = Some(100_000);
        v.params.drops = vec![7, 19];
        let q = to_query("tcp-handshake", &v);
        assert_eq!(q, "step=12&seed=3&loss=0.05&latency=20&jitter=12.5&bw=0.1&drop=7,19");
        assert_eq!(parse_query("tcp-handshake", &format!("?{q}")), Parsed { view: v, notes: vec![] });
    }

    #[test]
    fn turning_a_default_fault_off_is_written() {
        let mut v = view("tcp-bulk");
        v.params.link.bandwidth_bps = None;
        v.params.link.loss = 0.0;
        let q = to_query("tcp-bulk", &v);
        assert_eq!(q, "step=0&seed=1&loss=0&bw=off");
        assert_eq!(parse_query("tcp-bulk", &q).view, v);
    }

    #[test]
    fn bad_values_fall_back_to_the_defaults_with_a_note() {
        let p =
            parse_query("tcp-vs-udp", "step=-1&seed=x&loss=0.9&latency=NaN&jitter=1e9&bw=0&drop=3,a&colour=red&loss");
        assert_eq!(p.view, view("tcp-vs-udp"));
        assert_eq!(p.notes.len(), 9, "{:?}", p.notes);
        assert!(p.notes[2].contains("loss=0.9"), "{:?}", p.notes);
        assert!(p.notes[7].contains("colour"), "{:?}", p.notes);
    }

    #[test]
    fn escapes_and_repeats_are_read() {
        let p = parse_query("tcp-handshake", "drop=19%2C7%2c7&step=2&step=5&bw=off");
        assert_eq!(p.view.params.drops, [7, 19]);
        assert_eq!(p.view.step, 5);
        assert!(p.notes.is_empty());
    }

    #[test]
    fn decimals_read_as_parse_reads_them() {
        for s in ["0", "0.05", "0.07", "0.15", ".5", "5.", "12.5", "100", "0.1", "0.333333333", "123456.123456789"] {
            assert_eq!(decimal(s), s.parse::<f64>().ok(), "{s}");
        }
        for s in ["", ".", "-1", "+1", "1e3", "inf", "NaN", "1.2.3", " 1", "1234567890.1234567"] {
            assert_eq!(decimal(s), None, "{s}");
        }
    }

    #[test]
    fn nothing_typed_into_a_url_panics() {
        for q in ["%", "%4", "%zz=1", "=", "&&&", "drop=,,", "step=99999999999999999999999", "bw=%FF%FE", "é=é"] {
            let _ = parse_query("tcp-handshake", q);
            let _ = decode(q);
        }
        assert_eq!(decode("a%2Cb+c%"), "a,b c%");
        assert_eq!(decode("%+1"), "% 1", "a sign is not a hex digit");
    }
}
