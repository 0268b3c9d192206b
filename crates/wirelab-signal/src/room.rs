//! Room and peer identifiers.
//!
//! A room id is the only secret of a room: whoever knows it can join. So it is 128
//! random bits (the same strength as a version-4 UUID's 122, a little more), drawn by the
//! server from its OS RNG or, in simulations, from a seeded [`SeededRng`], and written in
//! the base32 alphabet of RFC 4648 §6, lowercased, without padding: 26 characters that
//! survive URLs, chat apps and being read aloud (no `0`/`O`, `1`/`l` confusion, no `-`/`_`).

use core::fmt;
use core::str::FromStr;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use wirelab_core::SeededRng;

/// The RFC 4648 §6 base32 alphabet, lowercased: `a`–`z` are 0–25, `2`–`7` are 26–31.
const ALPHABET: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";

/// 128 bits in 5-bit groups: 25 full groups and one of 3 bits.
pub const ROOM_ID_CHARS: usize = 26;

/// A room's name: 16 random bytes, printed as 26 base32 characters.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RoomId([u8; 16]);

impl RoomId {
    /// A room id from 16 bytes the caller drew from a good source (the server: its OS RNG).
    pub const fn from_bytes(bytes: [u8; 16]) -> Self {
        RoomId(bytes)
    }

    /// A room id drawn from a seeded generator: for simulations and tests, never for a
    /// server facing the Internet (the seed would make every room guessable).
    pub fn random(rng: &mut SeededRng) -> Self {
        let mut bytes = [0u8; 16];
        rng.fill_bytes(&mut bytes);
        RoomId(bytes)
    }

    pub const fn as_bytes(&self) -> &[u8; 16] {
        &self.0
    }
}

/// Why a string is not a room id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RoomIdError {
    /// A room id is exactly 26 characters.
    WrongLength { len: usize },
    /// Only `a`–`z` and `2`–`7` (either case) are base32 digits (RFC 4648 §6).
    BadChar { at: usize, ch: char },
    /// The last character holds 3 bits of the id; its 2 low bits are padding and must be
    /// zero, so that every id has exactly one spelling (RFC 4648 §3.5: "decoders MAY
    /// chose to reject an encoding if the pad bits have not been set to zero").
    NonZeroPadBits,
}

impl fmt::Display for RoomIdError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RoomIdError::WrongLength { len } => {
                write!(f, "a room id has {ROOM_ID_CHARS} characters, this one has {len}")
            }
            RoomIdError::BadChar { at, ch } => {
                write!(f, "{ch:?} at position {at} is not a base32 digit (a-z, 2-7)")
            }
            RoomIdError::NonZeroPadBits => {
                f.write_str("the last character of a room id must be one of a, e, i, m, q, u, y, 4")
            }
        }
    }
}

impl std::error::Error for RoomIdError {}

impl fmt::Display for RoomId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // RFC 4648 §6: take the input 5 bits at a time, most significant first; pad the
        // last group with zero bits on the right.
        let mut out = [0u8; ROOM_ID_CHARS];
        let mut acc: u32 = 0;
        let mut bits = 0;
        let mut n = 0;
        for &b in &self.0 {
            acc = (acc << 8) | u32::from(b);
            bits += 8;
            while bits >= 5 {
                bits -= 5;
                out[n] = ALPHABET[((acc >> bits) & 31) as usize];
                n += 1;
            }
        }
        // 128 = 25 * 5 + 3: three bits are left, shifted up to fill a 5-bit group.
        out[n] = ALPHABET[((acc << (5 - bits)) & 31) as usize];
        for &c in &out {
            f.write_str(char::from(c).encode_utf8(&mut [0; 4]))?;
        }
        Ok(())
    }
}

impl fmt::Debug for RoomId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RoomId({self})")
    }
}

impl FromStr for RoomId {
    type Err = RoomIdError;

    /// Accepts upper or lower case (RFC 4648 §6 spells the alphabet in upper case; we
    /// print lower case), nothing else: no padding, no spaces.
    fn from_str(s: &str) -> Result<Self, RoomIdError> {
        let len = s.chars().count();
        if len != ROOM_ID_CHARS {
            return Err(RoomIdError::WrongLength { len });
        }
        let mut bytes = [0u8; 16];
        let mut acc: u32 = 0;
        let mut bits = 0;
        let mut n = 0;
        for (at, ch) in s.chars().enumerate() {
            let v = match ch {
                'a'..='z' => ch as u32 - 'a' as u32,
                'A'..='Z' => ch as u32 - 'A' as u32,
                '2'..='7' => ch as u32 - '2' as u32 + 26,
                _ => return Err(RoomIdError::BadChar { at, ch }),
            };
            if at == ROOM_ID_CHARS - 1 {
                if v & 0b11 != 0 {
                    return Err(RoomIdError::NonZeroPadBits);
                }
                acc = (acc << 3) | (v >> 2);
                bits += 3;
            } else {
                acc = (acc << 5) | v;
                bits += 5;
            }
            if bits >= 8 {
                bits -= 8;
                bytes[n] = (acc >> bits) as u8;
                n += 1;
            }
        }
        Ok(RoomId(bytes))
    }
}

impl Serialize for RoomId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for RoomId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// A connected peer, numbered by the hub from 1 in order of connection and never reused
/// while the hub lives. Not a secret: knowing a peer's id lets you message it only from
/// inside its room. On the wire, a JSON number; printed `p7`.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PeerId(pub u64);

impl fmt::Display for PeerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "p{}", self.0)
    }
}

impl fmt::Debug for PeerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "p{}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_zero_and_all_one_bits_print_as_expected() {
        assert_eq!(RoomId::from_bytes([0; 16]).to_string(), "a".repeat(26));
        // 25 groups of 11111 ('7'), then 111 padded with 00: 11100 = 28 = '4'.
        assert_eq!(RoomId::from_bytes([0xff; 16]).to_string(), format!("{}4", "7".repeat(25)));
    }

    #[test]
    fn rfc4648_test_vector_prefix() {
        // RFC 4648 §10: BASE32("foobar") = "MZXW6YTBOI======"; our 16-byte ids start the
        // same way when their first six bytes are "foobar".
        let mut b = [0u8; 16];
        b[..6].copy_from_slice(b"foobar");
        assert!(RoomId::from_bytes(b).to_string().starts_with("mzxw6ytboi"));
    }
}
