//! Seeded randomness. Machines that need random numbers (TCP initial sequence numbers,
//! WebSocket masking keys, SSH cookies) own one of these, seeded from their `Config`,
//! so a run replays exactly and cloning a machine clones its future random choices too.

use rand_chacha::ChaCha8Rng;
use rand_core::{RngCore, SeedableRng};

/// A small, fast, cloneable, portable PRNG (ChaCha8): the same seed gives the same
/// numbers on every platform, native and Wasm alike.
#[derive(Clone, Debug)]
pub struct SeededRng(ChaCha8Rng);

impl SeededRng {
    /// A generator whose whole future is fixed by `seed`.
    pub fn new(seed: u64) -> Self {
        SeededRng(ChaCha8Rng::seed_from_u64(seed))
    }

    /// A generator derived from `seed` for the stream named `label`, so that two
    /// machines given the same run seed do not draw the same numbers.
    pub fn derive(seed: u64, label: &str) -> Self {
        // FNV-1a over the label, mixed with the seed: stable across platforms and versions.
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for b in label.bytes() {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        SeededRng::new(seed ^ h.rotate_left(17))
    }

    pub fn next_u32(&mut self) -> u32 {
        self.0.next_u32()
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0.next_u64()
    }

    /// A uniform float in `[0, 1)`.
    pub fn next_f64(&mut self) -> f64 {
        // 53 random bits, the precision of an f64 mantissa.
        (self.0.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    pub fn fill_bytes(&mut self, dest: &mut [u8]) {
        self.0.fill_bytes(dest);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The first draw of seed 42. Pinned: a change of generator would silently change
    /// every saved run and deep link; the Wasm tests check the same number in Chromium.
    pub const SEED_42_FIRST_U64: u64 = 0xae90_bfb5_395d_5ba1;

    #[test]
    fn seed_42_draws_the_pinned_number() {
        assert_eq!(SeededRng::new(42).next_u64(), SEED_42_FIRST_U64);
    }

    #[test]
    fn same_seed_same_numbers_and_labels_separate_streams() {
        let mut a = SeededRng::new(7);
        let mut b = SeededRng::new(7);
        assert_eq!(a.next_u64(), b.next_u64());
        let mut c = SeededRng::derive(7, "client");
        let mut d = SeededRng::derive(7, "server");
        assert_ne!(c.next_u64(), d.next_u64());
        let x = SeededRng::new(1).next_f64();
        assert!((0.0..1.0).contains(&x));
    }
}
