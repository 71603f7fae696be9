//! How much heap a loaded flow set holds, counted by the allocator rather
//! than read from the resident set size, which the allocator's own caching
//! blurs: a figure per flow set, per flow and per step.
//!
//! `cargo run --release --example generate_flows -- DIR 10000 20`, then
//! `cargo run --release --example flow_memory -- DIR`.

use std::alloc::{GlobalAlloc, Layout, System};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

/// The system allocator, counting the bytes it has handed out and not got
/// back.
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call is passed on to the system allocator unchanged; the
// counter only observes sizes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size(), Ordering::Relaxed);
        // SAFETY: the caller's layout, as the caller promised it.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        // SAFETY: `ptr` came from `alloc` with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE.fetch_add(new_size, Ordering::Relaxed);
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        // SAFETY: `ptr` came from `alloc` with this layout.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

fn main() {
    let dir = PathBuf::from(
        std::env::args()
            .nth(1)
            .unwrap_or_else(|| "generated-flows".into()),
    );
    let before = LIVE.load(Ordering::Relaxed);
    let loaded = match callflow::flow::load(&dir) {
        Ok(loaded) => loaded,
        Err(report) => {
            eprintln!("{report}");
            std::process::exit(1);
        }
    };
    let held = LIVE.load(Ordering::Relaxed) - before;
    let flows = loaded.flows.flows().len();
    let steps: usize = loaded.flows.flows().iter().map(|f| f.steps.len()).sum();
    println!(
        "{flows} flows, {steps} steps: {} KiB held by the flow set, {} bytes per step",
        held / 1024,
        held / steps.max(1)
    );
}
