//! Trace information (RFC 5321 §4.4): the `Received:` header field every SMTP server
//! prepends to the content it accepts, the `Return-Path:` the final delivery adds, and
//! the RFC 5322 date-time both need.
//!
//! RFC 5321 §4.4: "When an SMTP server receives a message for delivery or further
//! processing, it MUST insert trace ("time stamp" or "Received") information at the
//! beginning of the message content".
//!
//! ```text
//! Time-stamp-line = "Received:" FWS Stamp <CRLF>
//! Stamp           = From-domain By-domain Opt-info [CFWS] ";" FWS date-time
//! From-domain     = "FROM" FWS Extended-Domain
//! Extended-Domain = Domain / ( Domain FWS "(" TCP-info ")" ) / ...
//! TCP-info        = address-literal / ( Domain FWS address-literal )
//! With            = CFWS "WITH" FWS Protocol          ; "ESMTP" / "SMTP"
//! For             = CFWS "FOR" ( [ FWS ] ( Path / Mailbox ) )
//! ```

use crate::wire::{ForwardPath, ReversePath};
use std::net::IpAddr;

/// What a `Received:` field records.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Received {
    /// The name the client gave in EHLO or HELO.
    pub from_domain: String,
    /// The client's address as the transport saw it.
    pub from_addr: Option<IpAddr>,
    /// This server's domain.
    pub by_domain: String,
    /// A comment after the by-domain: the software's name.
    pub by_comment: Option<String>,
    /// `ESMTP` after EHLO, `SMTP` after HELO (RFC 5321 §4.4, RFC 3848).
    pub protocol: &'static str,
    /// The server's identifier for the message, if it has one yet.
    pub id: Option<String>,
    /// The recipient, given only when the transaction has exactly one. RFC 5321 §4.4:
    /// "If the FOR clause appears, it MUST contain exactly one <path> entry, even when
    /// multiple RCPT commands have been given."
    pub for_path: Option<ForwardPath>,
    /// An RFC 5322 date-time: [`rfc5322_date`].
    pub date: String,
}

/// `[192.0.2.10]` or `[IPv6:2001:db8::1]` (RFC 5321 §4.1.3).
pub fn address_literal(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => format!("[{v4}]"),
        IpAddr::V6(v6) => format!("[IPv6:{v6}]"),
    }
}

impl Received {
    /// The header field, folded onto several lines (RFC 5322 §2.2.3), CRLF at the end.
    pub fn header(&self) -> String {
        let mut out = format!("Received: from {}", self.from_domain);
        if let Some(ip) = self.from_addr {
            out.push_str(&format!(" ({})", address_literal(ip)));
        }
        out.push_str(&format!("\r\n\tby {}", self.by_domain));
        if let Some(c) = &self.by_comment {
            out.push_str(&format!(" ({c})"));
        }
        out.push_str(&format!(" with {}", self.protocol));
        if let Some(id) = &self.id {
            out.push_str(&format!(" id {id}"));
        }
        if let Some(p) = &self.for_path {
            out.push_str(&format!("\r\n\tfor {p}"));
        }
        out.push_str(&format!(";\r\n\t{}\r\n", self.date));
        out
    }
}

/// `Return-Path: <a@b>` (RFC 5321 §4.4): "When the delivery SMTP server makes the "final
/// delivery" of a message, it inserts a return-path line at the beginning of the mail
/// data." The driver adds it when it stores a message in a mailbox.
pub fn return_path_header(path: &ReversePath) -> String {
    format!("Return-Path: {path}\r\n")
}

/// The RFC 5322 §3.3 date-time of `unix_secs` seconds after 1970-01-01T00:00:00Z, in UTC:
/// `Thu, 1 Jan 2026 00:00:00 +0000`.
pub fn rfc5322_date(unix_secs: u64) -> String {
    let days = unix_secs / 86_400;
    let secs = unix_secs % 86_400;
    let (y, m, d) = civil_from_days(days);
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    format!(
        "{}, {d} {} {y} {:02}:{:02}:{:02} +0000",
        DAYS[(days % 7) as usize],
        MONTHS[(m - 1) as usize],
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

/// (year, month 1–12, day 1–31) of a day count since 1970-01-01 (Howard Hinnant's
/// `civil_from_days`).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + u64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::Mailbox;
    use std::net::Ipv4Addr;

    #[test]
    fn dates() {
        assert_eq!(rfc5322_date(0), "Thu, 1 Jan 1970 00:00:00 +0000");
        // RFC 5322 Appendix A.1.1's date, in UTC: Fri, 21 Nov 1997 09:55:06 -0600.
        assert_eq!(rfc5322_date(880_127_706), "Fri, 21 Nov 1997 15:55:06 +0000");
        assert_eq!(rfc5322_date(951_782_400), "Tue, 29 Feb 2000 00:00:00 +0000");
        assert_eq!(rfc5322_date(1_767_225_600), "Thu, 1 Jan 2026 00:00:00 +0000");
    }

    #[test]
    fn a_received_field() {
        let r = Received {
            from_domain: "bar.com".into(),
            from_addr: Some(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 10))),
            by_domain: "foo.com".into(),
            by_comment: Some("wirelab".into()),
            protocol: "ESMTP",
            id: None,
            for_path: Some(ForwardPath::Mailbox(Mailbox::parse("Jones@foo.com").expect("mailbox"))),
            date: rfc5322_date(0),
        };
        assert_eq!(
            r.header(),
            "Received: from bar.com ([192.0.2.10])\r\n\tby foo.com (wirelab) with ESMTP\r\n\tfor <Jones@foo.com>;\r\n\tThu, 1 Jan 1970 00:00:00 +0000\r\n"
        );
        assert_eq!(return_path_header(&ReversePath::Null), "Return-Path: <>\r\n");
    }
}
