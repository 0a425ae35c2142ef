//! The per-frame path allocates nothing: a counting allocator watches a worker replay 20,000
//! real frames (capture file records → parse → decide against a 1,000-term table → counters →
//! sink port) and must see no allocation at all once the worker is set up.
//!
//! The counter is per thread and armed only in the worker's own thread, so whatever else the
//! test process does meanwhile (the harness, output capture, `RUST_BACKTRACE`) is not counted.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

use crossbeam_channel::bounded;
use dataplane::filter::{Action, Block, FilterHandle, FilterModel, PHY_80211};
use dataplane::sink::batch::SinkPort;
use dataplane::source::file::{FileOptions, FileSource};
use dataplane::track::{TableSize, TrackHub, TrackPort};
use dataplane::wire::{MacAddr, MacTerm};
use dataplane::worker::{CounterSnapshot, NoObserver, Worker, WorkerCounters};

#[path = "support/counting_alloc.rs"]
mod counting_alloc;
use counting_alloc::Counting;

#[global_allocator]
static GLOBAL: Counting = Counting;

#[test]
fn the_worker_loop_does_not_allocate() {
    let (c, allocations) = run_worker(None);
    assert_eq!(allocations, 0, "allocations on the per-frame path");
    assert!(c.passed > 0 && c.blocked > 0, "{c:?}");
}

/// With devices learned from the frames: tables small enough to be handed over many times
/// during the run, drained by another thread meanwhile, as the control plane does.
#[test]
fn the_worker_loop_does_not_allocate_while_tracking_devices() {
    let hub = TrackHub::new(TableSize {
        devices: 4,
        events: 2,
    });
    let port = hub.port(1);
    let done = AtomicBool::new(false);
    let mut merged = (0usize, 0u64, 0usize);
    let (c, allocations) = std::thread::scope(|scope| {
        scope.spawn(|| {
            while !done.load(Ordering::Acquire) {
                hub.drain(|t| {
                    merged.0 += 1;
                    merged.1 += t.entries().map(|e| u64::from(e.tx)).sum::<u64>();
                    merged.2 += t.events().len();
                });
                std::thread::sleep(std::time::Duration::from_millis(1));
            }
            hub.drain(|t| {
                merged.0 += 1;
                merged.1 += t.entries().map(|e| u64::from(e.tx)).sum::<u64>();
                merged.2 += t.events().len();
            });
        });
        let r = run_worker(Some(port));
        done.store(true, Ordering::Release);
        r
    });
    assert_eq!(allocations, 0, "allocations on the per-frame path");
    let (tables, tx, events) = merged;
    assert!(
        tables > 1,
        "tables were handed over during the run: {tables}"
    );
    assert!(
        tx > 0 && tx <= c.passed,
        "{tx} frames sent of {} passed",
        c.passed
    );
    assert!(events > 0, "SSIDs were seen");
}

fn run_worker(track: Option<TrackPort>) -> (CounterSnapshot, u64) {
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
    // A sink port nobody drains: after its 8 buffers fill up it drops (and counts) frames,
    // which must not allocate either.
    let (full_tx, full_rx) = bounded(4);
    let mut port = SinkPort::new(0, 8, full_tx, bounded(8));
    let counters = WorkerCounters::default();
    let stop = AtomicBool::new(false);

    // The worker runs in a thread of its own, armed only there, as in `airsift run`.
    let allocations = std::thread::scope(|scope| {
        scope
            .spawn(|| {
                drop(filters.load()); // arc-swap sets up this thread's slots on first use
                counting_alloc::arm(true);
                Worker {
                    source: &mut source,
                    filters: &filters,
                    port: &mut port,
                    counters: &counters,
                    stop: &stop,
                    paused: &AtomicBool::new(false),
                    pass_malformed: false,
                    track,
                }
                .run(&mut NoObserver)
                .unwrap();
                counting_alloc::arm(false);
                counting_alloc::allocations()
            })
            .join()
            .unwrap()
    });

    let c = counters.snapshot();
    assert_eq!(c.frames, 20_056);
    assert!(
        c.sink_drops > 0 && full_rx.is_full(),
        "the undrained port must have dropped"
    );
    (c, allocations)
}

/// The counter sees exactly the armed thread's allocation and none of another thread's made
/// meanwhile, so the zero above is a measurement, not an instrument that cannot move.
#[test]
fn the_counter_counts_the_armed_thread_only() {
    let done = AtomicBool::new(false);
    let counted = std::thread::scope(|scope| {
        let watcher = scope.spawn(|| {
            counting_alloc::arm(true);
            let v = std::hint::black_box(vec![1u8; 64]);
            while !done.load(Ordering::Acquire) {
                std::hint::spin_loop();
            }
            counting_alloc::arm(false);
            drop(v);
            counting_alloc::allocations()
        });
        scope.spawn(|| {
            for i in 0..1000 {
                std::hint::black_box(vec![0u8; 64 + i]);
            }
            done.store(true, Ordering::Release);
        });
        watcher.join().unwrap()
    });
    assert_eq!(counted, 1);
}
