//! The Internet checksum (RFC 1071) and the pseudo-header sums TCP and UDP put over it
//! (RFC 9293 §3.1, RFC 768, RFC 8200 §8.1): one implementation for every protocol.

use std::net::IpAddr;

/// The one's complement sum of `bytes` as 16-bit big-endian words (an odd last byte is
/// padded with zero), added to `sum`, not yet folded or complemented.
pub fn sum_words(sum: u32, bytes: &[u8]) -> u32 {
    // RFC 1071 §2 (B), (C): add 32-bit words into a 64-bit accumulator and fold the carries
    // once at the end; since 2^16 ≡ 1 (mod 2^16 - 1) this is the same one's complement sum
    // as adding 16-bit words, about four times faster.
    let mut acc = u64::from(sum);
    let mut words = bytes.chunks_exact(4);
    for w in &mut words {
        acc += u64::from(u32::from_be_bytes([w[0], w[1], w[2], w[3]]));
    }
    for pair in words.remainder().chunks(2) {
        acc += u64::from(u16::from_be_bytes([pair[0], *pair.get(1).unwrap_or(&0)]));
    }
    while acc > 0xffff {
        acc = (acc & 0xffff) + (acc >> 16);
    }
    acc as u32
}

/// Folds the carries and complements: the checksum of a sum.
pub fn finish(mut sum: u32) -> u16 {
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// The Internet checksum of `bytes` (RFC 1071).
pub fn internet_checksum(bytes: &[u8]) -> u16 {
    finish(sum_words(0, bytes))
}

/// The checksum of a transport segment of IP protocol `protocol` (6 TCP, 17 UDP) over its
/// pseudo-header, skipping the segment's own two checksum bytes at `checksum_at`. IPv4
/// addresses over an IPv6 pair are mapped (`::ffff:a.b.c.d`).
pub fn transport_checksum(src: IpAddr, dst: IpAddr, protocol: u8, segment: &[u8], checksum_at: usize) -> u16 {
    let len = segment.len() as u32;
    let mut sum = match (src, dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => {
            // source, destination, zero, PTCL, TCP/UDP length (RFC 9293 §3.1, RFC 768)
            let s = sum_words(sum_words(0, &s.octets()), &d.octets());
            sum_words(s, &[0, protocol, (len >> 8) as u8, len as u8])
        }
        (s, d) => {
            let v6 = |a: IpAddr| match a {
                IpAddr::V4(a) => a.to_ipv6_mapped(),
                IpAddr::V6(a) => a,
            };
            // source, destination, upper-layer length, zero, next header (RFC 8200 §8.1)
            let s = sum_words(sum_words(0, &v6(s).octets()), &v6(d).octets());
            sum_words(sum_words(s, &len.to_be_bytes()), &[0, 0, 0, protocol])
        }
    };
    sum = sum_words(sum, segment.get(..checksum_at).unwrap_or(segment));
    sum = sum_words(sum, segment.get(checksum_at + 2..).unwrap_or(&[]));
    finish(sum)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 1071 §3: the words 0001 f203 f4f5 f6f7 sum to 0xddf2.
    #[test]
    fn rfc_1071_example() {
        assert_eq!(internet_checksum(&[0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7]), !0xddf2);
    }

    /// The word-at-a-time sum equals RFC 1071's plain 16-bit sum for every length and
    /// starting sum, odd lengths and all-ones data (the carry-heavy case) included.
    #[test]
    fn wide_sum_equals_the_16_bit_definition() {
        fn plain(mut sum: u32, bytes: &[u8]) -> u16 {
            for pair in bytes.chunks(2) {
                sum += u32::from(u16::from_be_bytes([pair[0], *pair.get(1).unwrap_or(&0)]));
            }
            finish(sum)
        }
        let mut rng = crate::SeededRng::new(1071);
        for len in 0..300 {
            let mut bytes = vec![0u8; len];
            rng.fill_bytes(&mut bytes);
            for start in [0, 1, 0xffff, 0x1_2345] {
                assert_eq!(finish(sum_words(start, &bytes)), plain(start, &bytes), "len {len} start {start}");
                let ones = vec![0xff; len];
                assert_eq!(finish(sum_words(start, &ones)), plain(start, &ones), "ones, len {len}");
            }
        }
    }
}
