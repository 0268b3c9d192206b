//! What the bridge reads off an FTP control connection to open its data connections, and
//! nothing more: the passive replies the server sends (227 PASV, RFC 959 §4.1.2; 229
//! EPSV, RFC 2428 §3) and the active commands the browser sends (PORT, RFC 959 §4.1.2;
//! EPRT, RFC 2428 §2). The bridge opens a data connection only to a port its FTP server
//! announced on that same control connection, and lets PORT/EPRT name only a listener the
//! bridge opened for that session (so the server can be made to connect nowhere else:
//! the "bounce attack" of RFC 2577 §3).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

/// Longest control line kept; a longer one is skipped whole (RFC 959 lines are short).
pub const MAX_LINE: usize = 4096;

/// Splits a byte stream into CRLF- (or LF-) terminated lines, across reads.
#[derive(Clone, Debug, Default)]
pub struct LineScanner {
    partial: Vec<u8>,
    overlong: bool,
}

impl LineScanner {
    /// Feeds `bytes`, calling `line` for each complete line (without its line end).
    pub fn feed(&mut self, bytes: &[u8], mut line: impl FnMut(&str)) {
        for &b in bytes {
            if b == b'\n' {
                if !self.overlong {
                    let text = self.partial.strip_suffix(b"\r").unwrap_or(&self.partial);
                    if let Ok(text) = std::str::from_utf8(text) {
                        line(text);
                    }
                }
                self.partial.clear();
                self.overlong = false;
            } else if self.partial.len() < MAX_LINE {
                self.partial.push(b);
            } else {
                self.overlong = true;
            }
        }
    }
}

/// The first `count` numbers in `text`, as RFC 1123 §4.1.2.6 tells clients to read a
/// 227 reply ("scan for the first digit of the host and port numbers").
fn numbers(text: &str, count: usize) -> Option<Vec<u32>> {
    let mut out = Vec::with_capacity(count);
    let mut chars = text.char_indices().peekable();
    while out.len() < count {
        let (start, _) = chars.by_ref().find(|(_, c)| c.is_ascii_digit())?;
        let mut end = start + 1;
        while let Some(&(i, c)) = chars.peek() {
            if !c.is_ascii_digit() {
                break;
            }
            end = i + 1;
            chars.next();
        }
        out.push(text[start..end].parse().ok()?);
    }
    Some(out)
}

/// h1,h2,h3,h4,p1,p2 → address (RFC 959 §4.1.2: "the port … as two 8-bit values").
fn host_port(n: &[u32]) -> Option<SocketAddr> {
    let b: Vec<u8> = n.iter().map(|&v| u8::try_from(v).ok()).collect::<Option<_>>()?;
    let [h1, h2, h3, h4, p1, p2] = b[..] else { return None };
    Some(SocketAddr::new(IpAddr::V4(Ipv4Addr::new(h1, h2, h3, h4)), u16::from_be_bytes([p1, p2])))
}

/// A passive-mode announcement by the server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Passive {
    /// `227 Entering Passive Mode (h1,h2,h3,h4,p1,p2)`: host and port.
    Pasv(SocketAddr),
    /// `229 Entering Extended Passive Mode (|||port|)`: the port, on the control
    /// connection's host.
    Epsv(u16),
}

/// Reads a 227 or 229 reply line; anything else is `None`.
pub fn passive_reply(line: &str) -> Option<Passive> {
    if let Some(rest) = line.strip_prefix("227 ") {
        return host_port(&numbers(rest, 6)?).map(Passive::Pasv);
    }
    let rest = line.strip_prefix("229 ")?;
    // RFC 2428 §3: "(<d><d><d><tcp-port><d>)", the delimiter being any printable ASCII.
    let open = rest.find('(')?;
    let inner = &rest[open + 1..rest[open..].find(')')? + open];
    let d = inner.chars().next()?;
    let parts: Vec<&str> = inner.split(d).collect();
    match parts[..] {
        ["", "", "", port, ""] => port.parse().ok().filter(|&p| p != 0).map(Passive::Epsv),
        _ => None,
    }
}

/// Reads a PORT or EPRT command line (case-insensitive verbs); `None` if the line is
/// neither. `Some(Err)` for one the bridge cannot read: it is refused like a foreign one.
pub fn active_command(line: &str) -> Option<Result<SocketAddr, String>> {
    let (verb, arg) = line.split_once(' ').unwrap_or((line, ""));
    if verb.eq_ignore_ascii_case("PORT") {
        let n = numbers(arg, 6).filter(|_| arg.split(',').count() == 6);
        return Some(n.and_then(|n| host_port(&n)).ok_or_else(|| format!("cannot read {line:?}")));
    }
    if !verb.eq_ignore_ascii_case("EPRT") {
        return None;
    }
    // RFC 2428 §2: "EPRT<space><d><net-prt><d><net-addr><d><tcp-port><d>".
    let arg = arg.trim();
    let parse = || -> Option<SocketAddr> {
        let d = arg.chars().next()?;
        let parts: Vec<&str> = arg.split(d).collect();
        let ["", proto, addr, port, ""] = parts[..] else { return None };
        let ip: IpAddr = addr.parse().ok()?;
        let family_ok = matches!((proto, ip), ("1", IpAddr::V4(_)) | ("2", IpAddr::V6(_)));
        family_ok.then_some(SocketAddr::new(ip, port.parse().ok()?))
    };
    Some(parse().ok_or_else(|| format!("cannot read {line:?}")))
}

/// The PORT and EPRT commands that name `addr` (what the browser's client should send).
pub fn port_commands(addr: SocketAddr) -> (Option<String>, String) {
    let [p1, p2] = addr.port().to_be_bytes();
    let port = match addr.ip() {
        IpAddr::V4(v4) => {
            let [a, b, c, d] = v4.octets();
            Some(format!("PORT {a},{b},{c},{d},{p1},{p2}"))
        }
        IpAddr::V6(_) => None,
    };
    let family = if addr.is_ipv4() { 1 } else { 2 };
    (port, format!("EPRT |{family}|{}|{}|", addr.ip(), addr.port()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_rfcs_passive_replies() {
        // RFC 959 §4.1.2's form; RFC 2428 §3's own example.
        assert_eq!(
            passive_reply("227 Entering Passive Mode (127,0,0,1,39,16)."),
            Some(Passive::Pasv("127.0.0.1:10000".parse().expect("addr")))
        );
        // RFC 1123 §4.1.2.6: some servers leave out the parentheses.
        assert_eq!(passive_reply("227 =192,0,2,80,4,1"), Some(Passive::Pasv("192.0.2.80:1025".parse().expect("a"))));
        assert_eq!(passive_reply("229 Entering Extended Passive Mode (|||6446|)"), Some(Passive::Epsv(6446)));
        assert_eq!(passive_reply("229 Extended (!!!6446!)"), Some(Passive::Epsv(6446)));
        for bad in [
            "227 Entering Passive Mode (127,0,0,1,300,16)",
            "227 Entering Passive Mode (127,0,0,1,39)",
            "227-Entering Passive Mode (127,0,0,1,39,16)",
            "229 Entering Extended Passive Mode (||6446|)",
            "229 Entering Extended Passive Mode (|||0|)",
            "229 Entering Extended Passive Mode (|||99999|)",
            "200 PORT command successful",
        ] {
            assert_eq!(passive_reply(bad), None, "{bad}");
        }
    }

    #[test]
    fn reads_port_and_eprt_and_refuses_what_it_cannot_read() {
        assert_eq!(active_command("PORT 127,0,0,1,4,1"), Some(Ok("127.0.0.1:1025".parse().expect("a"))));
        assert_eq!(active_command("port 10,0,0,1,0,21"), Some(Ok("10.0.0.1:21".parse().expect("a"))));
        // RFC 2428 §2's examples.
        assert_eq!(active_command("EPRT |1|132.235.1.2|6275|"), Some(Ok("132.235.1.2:6275".parse().expect("a"))));
        assert_eq!(
            active_command("EPRT |2|1080::8:800:200C:417A|5282|"),
            Some(Ok("[1080::8:800:200C:417A]:5282".parse().expect("a")))
        );
        assert!(matches!(active_command("PORT 127,0,0,1,4"), Some(Err(_))));
        assert!(matches!(active_command("PORT 127,0,0,1,4,1,9"), Some(Err(_))));
        assert!(matches!(active_command("EPRT |2|127.0.0.1|21|"), Some(Err(_))));
        assert!(matches!(active_command("EPRT |1|nowhere|21|"), Some(Err(_))));
        assert_eq!(active_command("RETR PORT 1,2,3,4,5,6"), None);
        assert_eq!(active_command("PASV"), None);
    }

    #[test]
    fn port_commands_round_trip() {
        let a: SocketAddr = "127.0.0.1:40001".parse().expect("a");
        let (port, eprt) = port_commands(a);
        assert_eq!(active_command(&port.expect("v4")), Some(Ok(a)));
        assert_eq!(active_command(&eprt), Some(Ok(a)));
        let v6: SocketAddr = "[::1]:2121".parse().expect("a");
        assert_eq!(active_command(&port_commands(v6).1), Some(Ok(v6)));
    }

    #[test]
    fn lines_split_across_reads_and_overlong_lines_are_skipped() {
        let mut s = LineScanner::default();
        let mut got = Vec::new();
        s.feed(b"227 Entering (127,0,", |l| got.push(l.to_string()));
        s.feed(b"0,1,4,1)\r\n220 ok\n", |l| got.push(l.to_string()));
        let long = vec![b'x'; MAX_LINE + 10];
        s.feed(&long, |l| got.push(l.to_string()));
        s.feed(b"\r\n229 (|||21|)\r\n", |l| got.push(l.to_string()));
        assert_eq!(got, ["227 Entering (127,0,0,1,4,1)", "220 ok", "229 (|||21|)"]);
    }
}
