//! Sequence-number arithmetic modulo 2^32 (RFC 9293 §3.4): "the sequence number space
//! ranges from 0 to 2^32 - 1 … all arithmetic dealing with sequence numbers must be
//! performed modulo 2^32."

/// `a < b` in sequence space.
pub fn lt(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) < 0
}

/// `a <= b` in sequence space.
pub fn le(a: u32, b: u32) -> bool {
    a == b || lt(a, b)
}

/// `a > b` in sequence space.
pub fn gt(a: u32, b: u32) -> bool {
    lt(b, a)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comparisons_wrap_around_zero() {
        assert!(lt(1, 2));
        assert!(lt(u32::MAX, 0));
        assert!(gt(0, u32::MAX - 10));
        assert!(le(5, 5));
        assert!(!lt(5, 5));
    }
}
