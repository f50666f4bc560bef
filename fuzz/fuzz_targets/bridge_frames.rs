//! The bridge's two frame decoders (socket: little-endian; native messaging: the
//! machine's order), fed any bytes split at any points, and every whole frame read as a
//! request, a reply and a tool's arguments: never a panic, never more reserved than the
//! cap (a frame announced bigger is skipped unread).
#![no_main]

use libfuzzer_sys::fuzz_target;
use threadkeeper_bridge::frame::{parse_object, ByteOrder, Decoder, Event, MAX_FRAME};
use threadkeeper_bridge::protocol::{Reply, Request};
use threadkeeper_bridge::tools;

fuzz_target!(|data: &[u8]| {
    let Some((&split, stream)) = data.split_first() else { return };
    for order in [ByteOrder::Little, ByteOrder::Native] {
        // A small cap too, so that oversized frames and skipping are reached often.
        for max in [MAX_FRAME, 64] {
            let mut decoder = Decoder::with_max(order, max);
            let step = usize::from(split % 7) + 1;
            for piece in stream.chunks(step) {
                let mut rest = piece;
                while !rest.is_empty() {
                    let (used, event) = decoder.feed(rest);
                    assert!(decoder.reserved() <= max);
                    rest = &rest[used..];
                    let done = event.is_some();
                    if let Some(Event::Frame(frame)) = event {
                        assert!(frame.len() <= max);
                        if let Ok(object) = parse_object(&frame) {
                            let value = serde_json::Value::Object(object.clone());
                            let _ = serde_json::from_value::<Request>(value.clone());
                            let _ = serde_json::from_value::<Reply>(value);
                            for tool in ["search_chats", "get_context", "list_recent", "remember", "tools"] {
                                let _ = tools::validate(tool, &object);
                            }
                        }
                    }
                    if used == 0 && !done {
                        break;
                    }
                }
            }
            let _ = decoder.mid_frame();
        }
    }
});
