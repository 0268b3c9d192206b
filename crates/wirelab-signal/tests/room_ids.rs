//! Room ids: 128 random bits, 26 base32 characters, one spelling each, and typed errors
//! for everything else.

use std::collections::HashSet;
use wirelab_core::SeededRng;
use wirelab_signal::{Hub, RoomId, RoomIdError};

#[test]
fn a_room_id_is_16_bytes_printed_as_26_base32_chars_and_round_trips() {
    let mut rng = SeededRng::new(42);
    let mut seen = HashSet::new();
    for _ in 0..200 {
        let id = RoomId::random(&mut rng);
        let s = id.to_string();
        assert_eq!(s.len(), 26);
        assert!(s.bytes().all(|b| b.is_ascii_lowercase() || (b'2'..=b'7').contains(&b)), "{s}");
        assert_eq!(s.parse::<RoomId>(), Ok(id));
        assert_eq!(s.to_uppercase().parse::<RoomId>(), Ok(id));
        assert!(seen.insert(id));
    }
}

#[test]
fn every_bit_of_the_128_matters() {
    let base = RoomId::from_bytes([0; 16]).to_string();
    let mut spellings = HashSet::new();
    for bit in 0..128 {
        let mut b = [0u8; 16];
        b[bit / 8] = 0x80 >> (bit % 8);
        let s = RoomId::from_bytes(b).to_string();
        assert_ne!(s, base, "bit {bit} is lost");
        assert_eq!(s.parse::<RoomId>().map(|r| *r.as_bytes()), Ok(b));
        spellings.insert(s);
    }
    assert_eq!(spellings.len(), 128);
}

#[test]
fn hub_create_room_takes_the_servers_bytes() {
    let bytes = [0xa5; 16];
    assert_eq!(Hub::create_room(bytes).as_bytes(), &bytes);
}

#[test]
fn bad_strings_are_refused_with_the_reason() {
    let good = RoomId::from_bytes([0x11; 16]).to_string();
    assert_eq!("".parse::<RoomId>(), Err(RoomIdError::WrongLength { len: 0 }));
    assert_eq!(good[..25].parse::<RoomId>(), Err(RoomIdError::WrongLength { len: 25 }));
    assert_eq!(format!("{good}a").parse::<RoomId>(), Err(RoomIdError::WrongLength { len: 27 }));
    assert_eq!(format!("{good}=").parse::<RoomId>(), Err(RoomIdError::WrongLength { len: 27 }));
    // 0, 1, 8, 9 are not in the base32 alphabet (RFC 4648 §6), nor are - and _.
    for (i, bad) in ['0', '1', '8', '9', '-', '_', ' ', 'é'].into_iter().enumerate() {
        let mut s: Vec<char> = good.chars().collect();
        s[i] = bad;
        let s: String = s.into_iter().collect();
        assert_eq!(s.parse::<RoomId>(), Err(RoomIdError::BadChar { at: i, ch: bad }), "{s}");
    }
    // The last character's two low bits are padding and must be zero: 'b' = 00001.
    let mut s = "a".repeat(25);
    s.push('b');
    assert_eq!(s.parse::<RoomId>(), Err(RoomIdError::NonZeroPadBits));
    for last in ['a', 'e', 'i', 'm', 'q', 'u', 'y', '4'] {
        assert!(format!("{}{last}", "a".repeat(25)).parse::<RoomId>().is_ok());
    }
}

#[test]
fn room_ids_are_json_strings() {
    let id = RoomId::from_bytes([0xff; 16]);
    assert_eq!(serde_json::to_string(&id).expect("should succeed"), format!("\"{}4\"", "7".repeat(25)));
    assert_eq!(
        serde_json::from_str::<RoomId>(&serde_json::to_string(&id).expect("should succeed")).expect("should succeed"),
        id
    );
    assert!(serde_json::from_str::<RoomId>("\"nope\"").is_err());
    assert!(serde_json::from_str::<RoomId>("12").is_err());
}
