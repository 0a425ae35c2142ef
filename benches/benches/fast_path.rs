//! The per-frame path: parse + decide over a mix of real frames with tables of growing size,
//! table compilation, a one-term change, and the cost of loading the current table per batch
//! vs per frame.
//!
//! Run: `cargo bench -p airsift-benches --bench fast_path`

use std::hint::black_box;
use std::time::Duration;

use airsift_benches::{frame_mix, model, seen_addresses, tracking_off, tracking_on, FrameBlock};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use dataplane::filter::{Action, Block, FilterHandle, FilterTable, PHY_80211};
use dataplane::track::{observe, DeltaTable, TableSize};
use dataplane::verdict::{judge, judge_frame, Verdict};
use dataplane::wire::{Frame, LayoutMemo, MacAddr, MacTerm};

/// Frames per batch, as a worker takes them from a ring.
const BATCH: usize = 64;

fn run_all(table: &FilterTable, frames: &FrameBlock) -> u64 {
    let mut blocked = 0;
    let mut memo = LayoutMemo::default();
    for (f, lt) in frames.iter() {
        if let Verdict::Block = judge(table, &mut memo, f, lt, true) {
            blocked += 1;
        }
    }
    blocked
}

fn parse_and_decide(c: &mut Criterion) {
    let frames = frame_mix();
    let seen = seen_addresses(&frames);
    let mut g = c.benchmark_group("parse_decide");
    g.throughput(Throughput::Elements(frames.len() as u64));
    for (terms, masks) in [
        (0usize, 4),
        (1_000, 4),
        (100_000, 4),
        (1_000_000, 4),
        (100_000, 1),
    ] {
        // A fifth of the seen stations get a term, so real lookups hit as well as miss.
        let table = model(terms, masks, &seen, (seen.len() / 5).min(terms)).compile();
        g.bench_function(format!("{terms}_exact_64_masked_{masks}_masks"), |b| {
            b.iter(|| black_box(run_all(&table, &frames)))
        });
    }
    g.finish();
}

fn parse_only(c: &mut Criterion) {
    let frames = frame_mix();
    let mut g = c.benchmark_group("parse");
    g.throughput(Throughput::Elements(frames.len() as u64));
    g.bench_function("frame_addresses", |b| {
        b.iter(|| {
            let mut n = 0u64;
            let mut memo = LayoutMemo::default();
            for (f, lt) in frames.iter() {
                if let Ok(fr) = Frame::parse_with(f, lt, true, &mut memo) {
                    n += fr.addresses().source.is_some() as u64;
                }
            }
            black_box(n)
        })
    });
    g.finish();
}

fn compile(c: &mut Criterion) {
    let mut g = c.benchmark_group("compile");
    g.sample_size(10);
    for terms in [1_000usize, 100_000, 1_000_000] {
        let m = model(terms, 4, &[], 0);
        g.bench_function(format!("{terms}_terms"), |b| {
            b.iter(|| black_box(m.compile().term_count()))
        });
    }
    g.finish();
}

/// What a filter change costs the control plane before its 200: compile the model, publish
/// the table (the previous one is freed when no worker holds it any more).
fn compile_and_swap(c: &mut Criterion) {
    let mut g = c.benchmark_group("compile_and_swap");
    g.sample_size(10);
    for terms in [1_000usize, 100_000, 1_000_000] {
        let m = model(terms, 4, &[], 0);
        let handle = FilterHandle::new(m.compile());
        g.bench_function(format!("{terms}_terms"), |b| {
            b.iter(|| black_box(handle.publish(m.compile())))
        });
    }
    g.finish();
}

/// What a one-term change costs the control plane now: the model edited, the next table made
/// from the current one (`FilterModel::recompile`) and published, alternately adding a term
/// and removing it again, so the filter keeps its size.
fn change_one_term(c: &mut Criterion) {
    let mut g = c.benchmark_group("change_one_term");
    for terms in [1_000usize, 100_000, 1_000_000] {
        let mut m = model(terms, 4, &[], 0);
        let handle = FilterHandle::new(m.compile());
        let t = MacTerm::exact(MacAddr::from_u64(0x02ff_0000_0001));
        let mut add = true;
        g.bench_function(format!("{terms}_terms"), |b| {
            b.iter(|| {
                if add {
                    m.set_terms(PHY_80211, Block::Source, [(t, Action::Block)]);
                } else {
                    m.remove_terms(PHY_80211, Block::Source, [t]);
                }
                add = !add;
                let next = m.recompile(&handle.load(), &[t]);
                black_box(handle.publish(next))
            })
        });
    }
    g.finish();
}

fn table_load(c: &mut Criterion) {
    let frames = frame_mix();
    let seen = seen_addresses(&frames);
    let handle = FilterHandle::new(model(100_000, 4, &seen, seen.len() / 5).compile());
    let mut g = c.benchmark_group("table_load");
    g.throughput(Throughput::Elements(frames.len() as u64));
    g.bench_function("per_batch_of_64", |b| {
        b.iter(|| {
            let mut blocked = 0u64;
            let mut memo = LayoutMemo::default();
            for batch in frames.index.chunks(BATCH) {
                let table = handle.load();
                for &(at, len, lt) in batch {
                    let f = &frames.bytes[at..at + len];
                    blocked +=
                        matches!(judge(&table, &mut memo, f, lt, true), Verdict::Block) as u64;
                }
            }
            black_box(blocked)
        })
    });
    g.bench_function("per_frame", |b| {
        b.iter(|| {
            let mut blocked = 0u64;
            let mut memo = LayoutMemo::default();
            for (f, lt) in frames.iter() {
                let table = handle.load();
                blocked += matches!(judge(&table, &mut memo, f, lt, true), Verdict::Block) as u64;
            }
            black_box(blocked)
        })
    });
    g.finish();
}

/// Learning devices from the passed frames (`dataplane::track`): the worker's per-frame work
/// with tracking off (parse + decide, the frame kept) and on (plus the delta-table update),
/// over the same frames and a 100k-term table. The budget is 20 ns/frame.
fn tracking(c: &mut Criterion) {
    let frames = frame_mix();
    let seen = seen_addresses(&frames);
    let table = model(100_000, 4, &seen, seen.len() / 5).compile();
    let mut g = c.benchmark_group("tracking");
    g.throughput(Throughput::Elements(frames.len() as u64));
    g.bench_function("off", |b| {
        b.iter(|| black_box(tracking_off(&table, &frames)))
    });
    let mut delta = DeltaTable::new(1, TableSize::default());
    g.bench_function("on", |b| {
        b.iter(|| black_box(tracking_on(&table, &frames, &mut delta)))
    });
    // The delta-table update alone, over frames parsed and judged beforehand: the part of
    // `on` that `off` does not do, without the filter's cache misses around it.
    let passed: Vec<(Frame<'_>, u32)> = frames
        .iter()
        .filter_map(|(f, lt)| {
            match judge_frame(&table, &mut LayoutMemo::default(), f, lt.dlt(), true) {
                (Verdict::Pass, Some(frame)) => Some((frame, f.len() as u32)),
                _ => None,
            }
        })
        .collect();
    let mut delta = DeltaTable::new(1, TableSize::default());
    g.throughput(Throughput::Elements(passed.len() as u64));
    g.bench_function("observe_only", |b| {
        b.iter(|| {
            for (frame, len) in &passed {
                observe(&mut delta, frame, *len, 1_700_000_000);
            }
            if delta.nearly_full() {
                delta.clear();
            }
            black_box(delta.len())
        })
    });
    g.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .sample_size(30)
}

criterion_group! {
    name = benches;
    config = config();
    targets = parse_and_decide, parse_only, compile, compile_and_swap, change_one_term, table_load, tracking
}
criterion_main!(benches);
