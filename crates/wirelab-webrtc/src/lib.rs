//! WebRTC data channels made visible: the wire formats a browser uses between offer and
//! first message, and a stepped, simulated peer connection built from them.
//!
//! - [`stun`]: STUN messages (RFC 8489) with ICE's attributes (RFC 8445 §16.1),
//!   MESSAGE-INTEGRITY and FINGERPRINT; golden-tested against RFC 5769's vectors.
//! - [`dcep`]: the Data Channel Establishment Protocol (RFC 8832): DATA_CHANNEL_OPEN and
//!   DATA_CHANNEL_ACK, and the SCTP payload protocol identifiers of RFC 8831 §8.
//! - [`crc`]: CRC-32 (STUN's FINGERPRINT) and CRC-32C (SCTP's checksum), small.
//!
//! Heads up! Read RFC 8489 §5 and §14 before changing `stun.rs`, RFC 8832 §5 before
//! changing `dcep.rs`.

pub mod crc;
pub mod dcep;
pub mod stun;
