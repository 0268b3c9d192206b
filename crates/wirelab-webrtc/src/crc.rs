//! The two CRC-32s WebRTC's packets carry: ISO-HDLC's (STUN FINGERPRINT, RFC 8489 §14.7,
//! "the CRC-32 as defined in ITU V.42") and Castagnoli's (SCTP, RFC 9260 §6.8 and
//! Appendix A).
//!
//! Bit by bit, without tables: a frame here is a few hundred bytes, and a table-driven
//! CRC (crc32fast carries 16 KiB of tables) would cost the Wasm app more than all of
//! this crate. The tests check both against crc32fast and the catalogue's check values.

/// The reflected CRC-32 with polynomial `poly` (bit-reversed), initial value and final
/// XOR all ones: the shape both CRCs share.
fn reflected(poly: u32, bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = (crc >> 1) ^ (poly & (crc & 1).wrapping_neg());
        }
    }
    !crc
}

/// CRC-32 (ITU V.42, ISO-HDLC; polynomial 0x04C11DB7): what STUN's FINGERPRINT is made from.
pub fn crc32(bytes: &[u8]) -> u32 {
    reflected(0xEDB8_8320, bytes)
}

/// CRC-32C (Castagnoli; polynomial 0x1EDC6F41): SCTP's checksum (RFC 9260 Appendix A).
pub fn crc32c(bytes: &[u8]) -> u32 {
    reflected(0x82F6_3B78, bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The catalogue's check values: the CRC of the nine ASCII digits "123456789".
    #[test]
    fn check_values() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
        assert_eq!(crc32c(b"123456789"), 0xE306_9283);
        assert_eq!(crc32(b""), 0);
    }

    /// RFC 3720 §B.4's CRC32C examples (iSCSI uses the same CRC as SCTP): 32 bytes of
    /// zeros, and of ones.
    #[test]
    fn rfc3720_crc32c_examples() {
        assert_eq!(crc32c(&[0u8; 32]), 0x8A91_36AA);
        assert_eq!(crc32c(&[0xffu8; 32]), 0x62A8_AB43);
    }

    #[cfg(not(target_arch = "wasm32"))]
    proptest::proptest! {
        #[test]
        fn crc32_equals_crc32fast(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..300)) {
            proptest::prop_assert_eq!(crc32(&bytes), crc32fast::hash(&bytes));
        }
    }
}
