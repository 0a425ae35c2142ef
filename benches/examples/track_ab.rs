//! Tracking off and on, interleaved: the same work as criterion's `tracking/off` and
//! `tracking/on` (the fast-path mix, a 100k-term table), timed in alternating short samples
//! within one process, so that a shared host's slow spells hit both sides of each pair alike.
//! Prints the median and quartiles of (on - off) per frame over the pairs, and each side's
//! median.
//!
//! Run: `cargo run --release -p airsift-benches --example track_ab -- [PAIRS]` (default 400),
//! pinned to one core with `taskset -c 1` (`scripts/bench-tracking.sh` does both).

use std::hint::black_box;
use std::time::Instant;

use airsift_benches::{frame_mix, model, seen_addresses, tracking_off, tracking_on};
use dataplane::track::{DeltaTable, TableSize};

/// Passes over the mix per sample (about 0.3-0.5 ms each).
const REPS: usize = 4;

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let pairs: usize = std::env::args()
        .nth(1)
        .map(|s| s.parse().expect("PAIRS: a number"))
        .unwrap_or(400);
    let frames = frame_mix();
    let seen = seen_addresses(&frames);
    let table = model(100_000, 4, &seen, seen.len() / 5).compile();
    let mut delta = DeltaTable::new(1, TableSize::default());
    let n = frames.len();
    let off = |reps: usize| {
        for _ in 0..reps {
            black_box(tracking_off(&table, &frames));
        }
    };
    let mut on = |reps: usize| {
        for _ in 0..reps {
            black_box(tracking_on(&table, &frames, &mut delta));
        }
    };
    // Warm up both.
    for _ in 0..50 {
        off(1);
        on(1);
    }
    let per_frame = |ns: u128| ns as f64 / (REPS * n) as f64;
    let (mut offs, mut ons, mut diffs) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..pairs {
        // Alternate which side goes first, so neither always follows the other.
        let (a, b) = if i % 2 == 0 {
            let t = Instant::now();
            off(REPS);
            let a = t.elapsed().as_nanos();
            let t = Instant::now();
            on(REPS);
            (a, t.elapsed().as_nanos())
        } else {
            let t = Instant::now();
            on(REPS);
            let b = t.elapsed().as_nanos();
            let t = Instant::now();
            off(REPS);
            (t.elapsed().as_nanos(), b)
        };
        offs.push(per_frame(a));
        ons.push(per_frame(b));
        diffs.push(per_frame(b) - per_frame(a));
    }
    let off_med = median(&mut offs);
    let on_med = median(&mut ons);
    diffs.sort_by(f64::total_cmp);
    let q = |p: f64| diffs[((diffs.len() - 1) as f64 * p) as usize];
    println!(
        "{n} frames, {pairs} pairs of {REPS} passes: off {off_med:.1} ns/frame, on {on_med:.1} \
         ns/frame (medians); on - off per pair: median {:.1} ns, quartiles {:.1} .. {:.1} ns",
        q(0.5),
        q(0.25),
        q(0.75)
    );
}
