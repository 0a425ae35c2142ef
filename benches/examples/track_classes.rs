//! The delta-table update (`dataplane::track::observe`) over one class of the bench mix's
//! frames, parsed beforehand, `REPS` times: a fixed workload for an instruction and branch
//! simulator (`scripts/bench-tracking.sh` runs it under cachegrind), whose counts do not move
//! with the host's noise the way times on a shared VM do.
//!
//! Run: `cargo run --release -p airsift-benches --example track_classes -- CLASS REPS`
//! (CLASS: all, data, beacon, mgmt-other).

use dataplane::track::{observe, DeltaTable, TableSize};
use dataplane::wire::{Frame, FrameKind};

fn main() {
    let class = std::env::args().nth(1).unwrap_or_else(|| "all".into());
    let reps: usize = std::env::args()
        .nth(2)
        .map(|s| s.parse().expect("REPS: a number"))
        .unwrap_or(0);
    let frames = airsift_benches::frame_mix();
    let parsed: Vec<(Frame<'_>, u32)> = frames
        .iter()
        .filter_map(|(f, lt)| Frame::parse(f, lt).ok().map(|fr| (fr, f.len() as u32)))
        .filter(|(f, _)| {
            let (kind, sub) = (f.header().kind(), f.header().subtype());
            match class.as_str() {
                "data" => kind == FrameKind::Data,
                "beacon" => kind == FrameKind::Management && sub == 8,
                "mgmt-other" => kind == FrameKind::Management && sub != 8,
                "all" => true,
                other => panic!("unknown class {other}"),
            }
        })
        .collect();
    let mut t = DeltaTable::new(1, TableSize::default());
    for _ in 0..reps {
        for (f, len) in &parsed {
            observe(&mut t, f, *len, 1_700_000_000);
        }
        if t.nearly_full() {
            t.clear();
        }
    }
    println!("{}", parsed.len());
}
