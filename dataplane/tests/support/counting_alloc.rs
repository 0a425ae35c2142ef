//! A global allocator that counts the allocations of the threads that arm it, and of no
//! other thread: the test harness, the output capture and `RUST_BACKTRACE` machinery allocate
//! on their own threads and must not be mistaken for the code under test.
//!
//! Included with `#[path]` by the tests that need it (each test binary has one allocator).

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

pub struct Counting;

thread_local! {
    static ARMED: Cell<bool> = const { Cell::new(false) };
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
}

/// Starts (`true`) or stops counting this thread's allocations.
pub fn arm(on: bool) {
    ARMED.set(on);
}

/// This thread's allocations while armed, so far.
pub fn allocations() -> u64 {
    ALLOCATIONS.get()
}

fn count_if_armed() {
    // `try_with`: the allocator also runs while thread-locals are being torn down.
    if ARMED.try_with(Cell::get).unwrap_or(false) {
        let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
    }
}

// SAFETY: forwards every call to the system allocator unchanged; the counter (const
// thread-locals without destructors, which never allocate) is a side effect.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count_if_armed();
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count_if_armed();
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new: usize) -> *mut u8 {
        count_if_armed();
        // SAFETY: same contract as the caller's.
        unsafe { System.realloc(ptr, layout, new) }
    }
}
