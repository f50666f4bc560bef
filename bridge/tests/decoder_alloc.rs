//! The frame decoder under a counting allocator: whatever the stream announces, no single
//! allocation is larger than the 1 MiB cap (a 4 GiB length costs nothing).

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use threadkeeper_bridge::frame::{ByteOrder, Decoder, Event, MAX_FRAME};

struct Counting;

static LARGEST: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LARGEST.fetch_max(layout.size(), Ordering::SeqCst);
        System.alloc(layout)
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout)
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LARGEST.fetch_max(new_size, Ordering::SeqCst);
        System.realloc(ptr, layout, new_size)
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

#[test]
fn announced_lengths_up_to_4_gib_never_allocate_past_the_cap() {
    let mut rng = 0x2545_f491_4f6c_dd1du64;
    let mut next = move || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    let noise: Vec<u8> = (0..64 * 1024).map(|_| next() as u8).collect();
    LARGEST.store(0, Ordering::SeqCst);
    let mut frames = 0;
    for round in 0..2000 {
        let order = if round % 2 == 0 { ByteOrder::Little } else { ByteOrder::Native };
        let mut decoder = Decoder::new(order);
        // A header announcing a random length (often far over the cap), then noise.
        let len = match round % 4 {
            0 => u32::MAX,
            1 => (next() as u32) | (1 << 31),
            2 => MAX_FRAME as u32 + (next() % 16) as u32,
            _ => (next() % (MAX_FRAME as u64 + 1)) as u32,
        };
        let header = if order == ByteOrder::Little { len.to_le_bytes() } else { len.to_ne_bytes() };
        let start = (next() % 1024) as usize;
        let mut input: Vec<u8> = header.to_vec();
        input.extend_from_slice(&noise[start..start + (next() % 8192) as usize]);
        let mut rest = &input[..];
        while !rest.is_empty() {
            let (used, event) = decoder.feed(rest);
            if let Some(Event::Frame(_)) = event {
                frames += 1;
            }
            rest = &rest[used..];
        }
    }
    let largest = LARGEST.load(Ordering::SeqCst);
    assert!(largest <= MAX_FRAME, "largest allocation {largest} bytes");
    assert!(frames < 2000);
}
