//! Length-prefixed JSON frames: the one byte format of the bridge, on both of its links.
//!
//! A frame is a `u32` length, then that many bytes of UTF-8 JSON holding one object.
//! The browser link (native messaging, stdin/stdout) writes the length in the machine's
//! own byte order; the socket link (agent side) writes it little-endian. Both are capped
//! at [`MAX_FRAME`] bytes of payload. The schema of the objects is in `PROTOCOL.md`
//! beside this file, version 1.
//!
//! [`Decoder`] is a push decoder with no I/O: bytes go in, whole frames come out. It
//! never holds more than one frame's payload, never more than the cap, and skips an
//! oversized frame's bytes without storing them, so the stream stays in step after it.
//! [`FrameReader`] drives it from any `AsyncRead`.

use serde_json::{Map, Value};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// The largest payload accepted or sent, on either link: 1 MiB. Chrome refuses larger
/// messages from a host (1 MB), and no answer of Threadkeeper needs more.
pub const MAX_FRAME: usize = 1 << 20;

/// How a link writes its length prefix.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ByteOrder {
    /// The socket between `mcp` and `native`.
    Little,
    /// Native messaging: the browser uses the machine's own order.
    Native,
}

impl ByteOrder {
    fn read(self, bytes: [u8; 4]) -> u32 {
        match self {
            ByteOrder::Little => u32::from_le_bytes(bytes),
            ByteOrder::Native => u32::from_ne_bytes(bytes),
        }
    }

    fn write(self, len: u32) -> [u8; 4] {
        match self {
            ByteOrder::Little => len.to_le_bytes(),
            ByteOrder::Native => len.to_ne_bytes(),
        }
    }
}

/// What the decoder found in the stream.
#[derive(Debug, PartialEq, Eq)]
pub enum Event {
    /// A whole frame's payload, at most the cap (possibly empty).
    Frame(Vec<u8>),
    /// A frame announced longer than the cap; its bytes are being skipped unread.
    Oversized(u32),
}

#[derive(Debug)]
enum State {
    Header { bytes: [u8; 4], have: usize },
    Body { buf: Vec<u8>, len: usize },
    Skip { remaining: usize },
}

/// A push decoder of frames for one link.
#[derive(Debug)]
pub struct Decoder {
    order: ByteOrder,
    max: usize,
    state: State,
}

impl Decoder {
    /// A decoder for `order`, capped at [`MAX_FRAME`].
    pub fn new(order: ByteOrder) -> Self {
        Self::with_max(order, MAX_FRAME)
    }

    /// A decoder with another cap (tests use small ones).
    pub fn with_max(order: ByteOrder, max: usize) -> Self {
        Decoder { order, max, state: State::Header { bytes: [0; 4], have: 0 } }
    }

    /// Consumes bytes from `input` until one event is complete or the input runs out.
    /// Returns how many bytes it took and the event, if one completed. Call again with
    /// the rest of the input while it is not empty.
    pub fn feed(&mut self, input: &[u8]) -> (usize, Option<Event>) {
        let mut used = 0;
        loop {
            let rest = &input[used..];
            match &mut self.state {
                State::Header { bytes, have } => {
                    if rest.is_empty() {
                        return (used, None);
                    }
                    let take = (4 - *have).min(rest.len());
                    bytes[*have..*have + take].copy_from_slice(&rest[..take]);
                    *have += take;
                    used += take;
                    if *have < 4 {
                        return (used, None);
                    }
                    let len = self.order.read(*bytes);
                    if len as usize > self.max {
                        self.state = State::Skip { remaining: len as usize };
                        return (used, Some(Event::Oversized(len)));
                    }
                    // At most the cap, and exactly what the frame needs.
                    self.state = State::Body { buf: Vec::with_capacity(len as usize), len: len as usize };
                }
                State::Body { buf, len } => {
                    let take = (*len - buf.len()).min(rest.len());
                    buf.extend_from_slice(&rest[..take]);
                    used += take;
                    if buf.len() < *len {
                        return (used, None);
                    }
                    let frame = std::mem::take(buf);
                    self.state = State::Header { bytes: [0; 4], have: 0 };
                    return (used, Some(Event::Frame(frame)));
                }
                State::Skip { remaining } => {
                    let take = (*remaining).min(rest.len());
                    *remaining -= take;
                    used += take;
                    if *remaining > 0 {
                        return (used, None);
                    }
                    self.state = State::Header { bytes: [0; 4], have: 0 };
                }
            }
        }
    }

    /// True when the stream stopped inside a frame (a truncated frame).
    pub fn mid_frame(&self) -> bool {
        !matches!(self.state, State::Header { have: 0, .. })
    }

    /// Bytes the decoder holds reserved right now (for the tests of the cap).
    pub fn reserved(&self) -> usize {
        match &self.state {
            State::Body { buf, .. } => buf.capacity(),
            _ => 0,
        }
    }
}

/// Why a frame's payload is not a protocol object.
#[derive(Debug, PartialEq, Eq)]
pub enum PayloadError {
    Empty,
    NotUtf8,
    NotJson,
    NotObject,
}

impl std::fmt::Display for PayloadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            PayloadError::Empty => "the frame is empty",
            PayloadError::NotUtf8 => "the frame is not UTF-8",
            PayloadError::NotJson => "the frame is not JSON",
            PayloadError::NotObject => "the frame is JSON but not an object",
        })
    }
}

/// Reads a payload as one JSON object.
///
/// # Errors
/// [`PayloadError`] says which rule the bytes broke; it never quotes them.
pub fn parse_object(payload: &[u8]) -> Result<Map<String, Value>, PayloadError> {
    if payload.is_empty() {
        return Err(PayloadError::Empty);
    }
    let text = std::str::from_utf8(payload).map_err(|_| PayloadError::NotUtf8)?;
    match serde_json::from_str::<Value>(text).map_err(|_| PayloadError::NotJson)? {
        Value::Object(map) => Ok(map),
        _ => Err(PayloadError::NotObject),
    }
}

/// Encodes one frame: the length prefix in `order`, then the JSON.
///
/// # Errors
/// `None` when the JSON is longer than [`MAX_FRAME`]: the caller answers something
/// smaller instead.
pub fn encode(order: ByteOrder, value: &impl serde::Serialize) -> Option<Vec<u8>> {
    let json = serde_json::to_vec(value).ok()?;
    if json.len() > MAX_FRAME {
        return None;
    }
    let mut out = Vec::with_capacity(4 + json.len());
    out.extend_from_slice(&order.write(json.len() as u32));
    out.extend_from_slice(&json);
    Some(out)
}

/// Writes one already-encoded frame and flushes it.
///
/// # Errors
/// The writer's own I/O error.
pub async fn write_frame<W: AsyncWrite + Unpin>(writer: &mut W, frame: &[u8]) -> std::io::Result<()> {
    writer.write_all(frame).await?;
    writer.flush().await
}

/// Drives a [`Decoder`] from an async reader through an 8 KiB buffer.
pub struct FrameReader<R> {
    reader: R,
    decoder: Decoder,
    buf: Box<[u8]>,
    start: usize,
    end: usize,
}

impl<R: AsyncRead + Unpin> FrameReader<R> {
    pub fn new(reader: R, order: ByteOrder) -> Self {
        FrameReader { reader, decoder: Decoder::new(order), buf: vec![0; 8192].into_boxed_slice(), start: 0, end: 0 }
    }

    /// The next event, or `None` at a clean end of the stream.
    ///
    /// # Errors
    /// The reader's I/O error, or `UnexpectedEof` when the stream ends inside a frame.
    pub async fn next(&mut self) -> std::io::Result<Option<Event>> {
        loop {
            if self.start < self.end {
                let (used, event) = self.decoder.feed(&self.buf[self.start..self.end]);
                self.start += used;
                if event.is_some() {
                    return Ok(event);
                }
                continue;
            }
            self.start = 0;
            self.end = self.reader.read(&mut self.buf).await?;
            if self.end == 0 {
                if self.decoder.mid_frame() {
                    return Err(std::io::ErrorKind::UnexpectedEof.into());
                }
                return Ok(None);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(order: ByteOrder, payload: &[u8]) -> Vec<u8> {
        let mut out = order.write(payload.len() as u32).to_vec();
        out.extend_from_slice(payload);
        out
    }

    fn decode_all(decoder: &mut Decoder, mut input: &[u8]) -> Vec<Event> {
        let mut events = Vec::new();
        while !input.is_empty() {
            let (used, event) = decoder.feed(input);
            assert!(used > 0 || event.is_some(), "the decoder must make progress");
            input = &input[used..];
            events.extend(event);
        }
        events
    }

    #[test]
    fn the_socket_link_reads_little_endian_lengths_pinned_bytes() {
        // Pinned vector: {"v":1} is 7 bytes, prefix 07 00 00 00 on the socket link.
        let bytes = b"\x07\x00\x00\x00{\"v\":1}";
        let mut decoder = Decoder::new(ByteOrder::Little);
        assert_eq!(decode_all(&mut decoder, bytes), vec![Event::Frame(b"{\"v\":1}".to_vec())]);
        assert_eq!(encode(ByteOrder::Little, &serde_json::json!({"v": 1})).unwrap(), bytes.to_vec());
    }

    #[test]
    fn the_browser_link_reads_the_machines_own_byte_order() {
        let payload = b"{\"kind\":\"reply\"}";
        let mut bytes = (payload.len() as u32).to_ne_bytes().to_vec();
        bytes.extend_from_slice(payload);
        let mut decoder = Decoder::new(ByteOrder::Native);
        assert_eq!(decode_all(&mut decoder, &bytes), vec![Event::Frame(payload.to_vec())]);
    }

    #[test]
    fn frames_split_byte_by_byte_come_out_whole() {
        let mut bytes = frame(ByteOrder::Little, b"{\"a\":1}");
        bytes.extend(frame(ByteOrder::Little, b"{\"b\":2}"));
        let mut decoder = Decoder::new(ByteOrder::Little);
        let mut events = Vec::new();
        for byte in &bytes {
            events.extend(decode_all(&mut decoder, std::slice::from_ref(byte)));
        }
        assert_eq!(events, vec![Event::Frame(b"{\"a\":1}".to_vec()), Event::Frame(b"{\"b\":2}".to_vec())]);
        assert!(!decoder.mid_frame());
    }

    #[test]
    fn an_oversized_frame_is_skipped_and_the_next_frame_still_reads() {
        let mut decoder = Decoder::with_max(ByteOrder::Little, 16);
        let mut bytes = frame(ByteOrder::Little, &[b'x'; 40]);
        bytes.extend(frame(ByteOrder::Little, b"{}"));
        let events = decode_all(&mut decoder, &bytes);
        assert_eq!(events, vec![Event::Oversized(40), Event::Frame(b"{}".to_vec())]);
    }

    #[test]
    fn a_frame_of_exactly_the_cap_is_accepted_and_one_more_byte_is_not() {
        let mut decoder = Decoder::with_max(ByteOrder::Little, 8);
        assert_eq!(decode_all(&mut decoder, &frame(ByteOrder::Little, &[b'a'; 8])), vec![Event::Frame(vec![b'a'; 8])]);
        let mut decoder = Decoder::with_max(ByteOrder::Little, 8);
        assert_eq!(decode_all(&mut decoder, &frame(ByteOrder::Little, &[b'a'; 9])), vec![Event::Oversized(9)]);
        // The real cap: 1 MiB + 1 announced, nothing reserved for it.
        let mut decoder = Decoder::new(ByteOrder::Little);
        let header = ((MAX_FRAME + 1) as u32).to_le_bytes();
        assert_eq!(decoder.feed(&header), (4, Some(Event::Oversized(MAX_FRAME as u32 + 1))));
        assert_eq!(decoder.reserved(), 0);
    }

    #[test]
    fn a_truncated_frame_is_reported_as_mid_frame() {
        let mut decoder = Decoder::new(ByteOrder::Little);
        let bytes = frame(ByteOrder::Little, b"{\"v\":1}");
        assert!(decode_all(&mut decoder, &bytes[..6]).is_empty());
        assert!(decoder.mid_frame());
        let mut decoder = Decoder::new(ByteOrder::Little);
        assert!(decode_all(&mut decoder, &bytes[..2]).is_empty());
        assert!(decoder.mid_frame(), "half a length prefix is truncated too");
    }

    #[test]
    fn a_zero_length_frame_is_a_frame_and_not_an_object() {
        let mut decoder = Decoder::new(ByteOrder::Little);
        let events = decode_all(&mut decoder, &[0, 0, 0, 0]);
        assert_eq!(events, vec![Event::Frame(Vec::new())]);
        assert_eq!(parse_object(&[]), Err(PayloadError::Empty));
    }

    #[test]
    fn payloads_that_are_not_utf8_json_objects_are_named_for_what_they_are() {
        assert_eq!(parse_object(b"\xff\xfe{}"), Err(PayloadError::NotUtf8));
        assert_eq!(parse_object(b"{\"a\":"), Err(PayloadError::NotJson));
        assert_eq!(parse_object(b"[1,2]"), Err(PayloadError::NotObject));
        assert_eq!(parse_object(b"\"text\""), Err(PayloadError::NotObject));
        assert_eq!(parse_object(b"null"), Err(PayloadError::NotObject));
        assert_eq!(parse_object(b"{\"a\":1}").unwrap()["a"], 1);
    }

    #[test]
    fn encode_refuses_more_than_the_cap() {
        let big = "x".repeat(MAX_FRAME);
        assert!(encode(ByteOrder::Native, &big).is_none(), "the quotes make it 2 bytes over");
        let fits = "x".repeat(MAX_FRAME - 2);
        assert_eq!(encode(ByteOrder::Native, &fits).unwrap().len(), MAX_FRAME + 4);
    }

    /// xorshift64*: enough randomness to shake the decoder, no dependency.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
        }
        fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }
    }

    #[test]
    fn random_byte_streams_never_panic_nor_reserve_more_than_the_cap() {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        for round in 0..5000 {
            let max = [0usize, 1, 7, 64, 4096][round % 5];
            let order = if round % 2 == 0 { ByteOrder::Little } else { ByteOrder::Native };
            let mut decoder = Decoder::with_max(order, max);
            // Mix pure noise with well-formed frames of random sizes around the cap, so
            // headers that are small enough to be read happen often.
            let mut stream = Vec::new();
            for _ in 0..rng.below(12) {
                if rng.below(3) == 0 {
                    let len = rng.below(64) as usize;
                    stream.extend((0..len).map(|_| rng.next() as u8));
                } else {
                    let len = rng.below(max as u64 + 8) as usize;
                    stream.extend_from_slice(&order.write(len as u32));
                    stream.extend((0..len).map(|_| rng.next() as u8));
                }
            }
            let mut input = &stream[..];
            while !input.is_empty() {
                let chunk = 1 + rng.below(input.len() as u64) as usize;
                let mut piece = &input[..chunk];
                while !piece.is_empty() {
                    let (used, event) = decoder.feed(piece);
                    assert!(used > 0 || event.is_some());
                    assert!(decoder.reserved() <= max, "reserved {} over cap {max}", decoder.reserved());
                    if let Some(Event::Frame(payload)) = event {
                        assert!(payload.len() <= max);
                        let _ = parse_object(&payload);
                    }
                    piece = &piece[used..];
                }
                input = &input[chunk..];
            }
        }
    }
}
