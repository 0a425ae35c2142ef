//! The per-frame path allocates nothing: a counting global allocator watches a worker replay
//! 20,000 real frames (capture file records → parse → decide against a 1,000-term table →
//! counters → sink port) and must see no allocation at all once the worker is set up.
//!
//! One test in this binary, so no other test thread allocates while the counter is armed.

use std::alloc::{GlobalAlloc, Layout, System};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use crossbeam_channel::bounded;
use dataplane::filter::{Action, Block, FilterHandle, FilterModel, PHY_80211};
use dataplane::sink::batch::SinkPort;
use dataplane::source::file::{FileOptions, FileSource};
use dataplane::wire::{MacAddr, MacTerm};
use dataplane::worker::{NoObserver, Worker, WorkerCounters};

struct Counting;

static ARMED: AtomicBool = AtomicBool::new(false);
static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);

// SAFETY: forwards every call to the system allocator unchanged; the counter is a side effect.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if ARMED.load(Ordering::Relaxed) {
            ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        }
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new: usize) -> *mut u8 {
        if ARMED.load(Ordering::Relaxed) {
            ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        }
        // SAFETY: same contract as the caller's.
        unsafe { System.realloc(ptr, layout, new) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

#[test]
fn the_worker_loop_does_not_allocate() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../testdata/captures/80211_aircrack_pmkid-not-recognized.cap");
    let mut source = FileSource::open(&path, FileOptions::default()).unwrap();
    let mut model = FilterModel::new("capture", "");
    let terms = (0..1000u64).map(|i| {
        let a = MacAddr::from_u64(0x0200_0000_0000 + i * 7919);
        (
            MacTerm::exact(a),
            if i % 2 == 0 {
                Action::Block
            } else {
                Action::Pass
            },
        )
    });
    model.set_terms(PHY_80211, Block::Any, terms);
    // Real stations of this capture: one by its OUI, one exactly.
    let oui = "8C:DE:F9:00:00:00/FF:FF:FF:00:00:00".parse().unwrap();
    let station = "60:7E:A4:4C:EE:73".parse().unwrap();
    model.set_terms(PHY_80211, Block::Source, [(oui, Action::Block)]);
    model.set_terms(PHY_80211, Block::Destination, [(station, Action::Block)]);
    let filters = FilterHandle::new(model.compile());
    drop(filters.load()); // arc-swap sets up this thread's slots on first use
                          // A sink port nobody drains: after its 8 buffers fill up it drops (and counts) frames,
                          // which must not allocate either.
    let (full_tx, full_rx) = bounded(4);
    let mut port = SinkPort::new(0, 8, full_tx, bounded(8));
    let counters = WorkerCounters::default();
    let stop = AtomicBool::new(false);

    ARMED.store(true, Ordering::SeqCst);
    Worker {
        source: &mut source,
        filters: &filters,
        port: &mut port,
        counters: &counters,
        stop: &stop,
        pass_malformed: false,
    }
    .run(&mut NoObserver)
    .unwrap();
    ARMED.store(false, Ordering::SeqCst);

    let c = counters.snapshot();
    assert_eq!(c.frames, 20_056);
    assert!(c.passed > 0 && c.blocked > 0, "{c:?}");
    assert!(
        c.sink_drops > 0 && full_rx.is_full(),
        "the undrained port must have dropped"
    );
    assert_eq!(
        ALLOCATIONS.load(Ordering::SeqCst),
        0,
        "allocations on the per-frame path"
    );
}
