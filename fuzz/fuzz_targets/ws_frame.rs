//! WebSocket frames (`wirelab_ws::wire`): a frame parsed from the front of any bytes
//! re-emits to exactly the bytes it took (the parser insists on minimal lengths, so the
//! encoding is unique); a shorter prefix asks for more bytes; the limited parser agrees;
//! Close bodies and the inspector cope with anything.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wirelab_ws::wire::{self, Frame, FrameHeader, Opcode};

fuzz_target!(|data: &[u8]| {
    let _ = wire::annotate(data);
    let _ = FrameHeader::parse_unchecked(data);
    let Ok(Some((frame, n))) = Frame::parse(data) else { return };
    assert_eq!(frame.to_bytes(), &data[..n], "{frame:?}");
    assert_eq!(Frame::parse(&data[..n]), Ok(Some((frame.clone(), n))));
    assert_eq!(Frame::parse(&data[..n - 1]), Ok(None));
    assert_eq!(Frame::parse_limited(data, frame.payload.len() as u64), Ok(Some((frame.clone(), n))));
    if frame.header.opcode == Opcode::Close {
        let _ = wire::parse_close_body(&frame.payload);
    }
});
