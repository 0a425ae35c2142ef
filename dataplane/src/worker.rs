//! The pinned worker loop and its counters.
//!
//! Per batch: take a batch from the source; load the current filter table once, at the first
//! frame (so a worker idle in `poll` holds no table); parse and decide each frame with
//! [`judge_dlt`]; count; copy passed frames into the sink port; release the batch; publish the
//! counters. Nothing here allocates or locks per frame.

use std::io;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::filter::FilterHandle;
use crate::sink::batch::SinkPort;
use crate::source::{Poll, RxFrame, Source};
use crate::track::{observe, TrackPort};
use crate::verdict::{judge_frame, Verdict};
use crate::wire::LayoutMemo;

/// The longest a worker waits in `poll` before it looks at the stop flag and the current
/// filter generation again: an idle worker adopts a new generation within this time.
pub const POLL_TIMEOUT: Duration = Duration::from_millis(50);
/// After the stop flag, a live source's worker keeps reading until a poll finds its ring
/// empty (so frames the kernel already accepted are counted and logged), but no longer than
/// this under continuous traffic.
pub const DRAIN_LIMIT: Duration = Duration::from_millis(500);
/// How often the kernel's drop counters are read (a system call each time).
const KERNEL_STATS_EVERY: Duration = Duration::from_millis(250);

/// One worker's counters: written by that worker only, read by anyone without locks. Aligned
/// to 128 bytes so two workers' counters never share a cache line (or an adjacent-line
/// prefetch pair).
#[repr(align(128))]
#[derive(Debug, Default)]
pub struct WorkerCounters {
    pub frames: AtomicU64,
    pub bytes: AtomicU64,
    pub passed: AtomicU64,
    pub blocked: AtomicU64,
    pub malformed: AtomicU64,
    pub kernel_drops: AtomicU64,
    pub sink_drops: AtomicU64,
    pub batches: AtomicU64,
    /// Frames taken from the ring and thrown away unjudged while the source was paused.
    pub discarded: AtomicU64,
    /// The filter generation this worker applies (the last batch's, or the current one when
    /// idle).
    pub generation: AtomicU64,
}

/// A plain copy of counters, for reports and sums.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct CounterSnapshot {
    pub frames: u64,
    pub bytes: u64,
    pub passed: u64,
    pub blocked: u64,
    pub malformed: u64,
    pub kernel_drops: u64,
    pub sink_drops: u64,
    pub batches: u64,
    pub discarded: u64,
}

impl CounterSnapshot {
    /// Field-wise sum.
    pub fn add(&mut self, o: &CounterSnapshot) {
        self.frames += o.frames;
        self.bytes += o.bytes;
        self.passed += o.passed;
        self.blocked += o.blocked;
        self.malformed += o.malformed;
        self.kernel_drops += o.kernel_drops;
        self.sink_drops += o.sink_drops;
        self.batches += o.batches;
        self.discarded += o.discarded;
    }
}

impl WorkerCounters {
    pub fn snapshot(&self) -> CounterSnapshot {
        let r = |a: &AtomicU64| a.load(Ordering::Relaxed);
        CounterSnapshot {
            frames: r(&self.frames),
            bytes: r(&self.bytes),
            passed: r(&self.passed),
            blocked: r(&self.blocked),
            malformed: r(&self.malformed),
            kernel_drops: r(&self.kernel_drops),
            sink_drops: r(&self.sink_drops),
            batches: r(&self.batches),
            discarded: r(&self.discarded),
        }
    }

    fn publish(&self, c: &CounterSnapshot, generation: u64) {
        let w = |a: &AtomicU64, v: u64| a.store(v, Ordering::Relaxed);
        w(&self.frames, c.frames);
        w(&self.bytes, c.bytes);
        w(&self.passed, c.passed);
        w(&self.blocked, c.blocked);
        w(&self.malformed, c.malformed);
        w(&self.kernel_drops, c.kernel_drops);
        w(&self.sink_drops, c.sink_drops);
        w(&self.batches, c.batches);
        w(&self.discarded, c.discarded);
        w(&self.generation, generation);
    }
}

/// Sees every frame's verdict and generation; for tests and tools. The default does nothing
/// and compiles away.
pub trait Observer {
    fn frame(&mut self, _frame: &RxFrame<'_>, _verdict: Verdict, _generation: u64) {}
}

/// The observer of production workers.
pub struct NoObserver;

impl Observer for NoObserver {}

/// What a worker is given.
pub struct Worker<'a> {
    pub source: &'a mut dyn Source,
    pub filters: &'a FilterHandle,
    pub port: &'a mut SinkPort,
    pub counters: &'a WorkerCounters,
    pub stop: &'a AtomicBool,
    /// While set, frames are taken from the ring and discarded unjudged and uncounted (a
    /// paused source keeps its ring, so the kernel never fills it up meanwhile).
    pub paused: &'a AtomicBool,
    /// Hand malformed frames to the sinks too (they never match a term).
    pub pass_malformed: bool,
    /// Where the frames the filter passes teach the device store (`None`: not tracked).
    pub track: Option<TrackPort>,
}

impl Worker<'_> {
    /// Runs until `stop` is set or the source ends. After `stop` a live source is drained
    /// until a poll finds nothing (at most [`DRAIN_LIMIT`]). On return every frame taken from
    /// the source has been counted and handed to the sinks (or counted as a sink drop).
    pub fn run<O: Observer>(self, observer: &mut O) -> io::Result<()> {
        let Worker {
            source,
            filters,
            port,
            counters,
            stop,
            paused,
            pass_malformed,
            mut track,
        } = self;
        let mut memo = LayoutMemo::default();
        let mut c = counters.snapshot();
        let mut stats_at = Instant::now();
        let mut result = Ok(());
        let mut drain_until: Option<Instant> = None;
        loop {
            if drain_until.is_none() && stop.load(Ordering::Relaxed) {
                if !source.live() {
                    break;
                }
                drain_until = Some(Instant::now() + DRAIN_LIMIT);
            }
            if drain_until.is_some_and(|t| Instant::now() >= t) {
                break;
            }
            let mut generation = None;
            // Read at the batch's first frame, after the poll returned (like the table): a
            // pause that came while the worker waited applies to the frames that woke it.
            let mut discard = None;
            let poll = {
                let mut table = None;
                let r = source.next_batch(POLL_TIMEOUT, &mut |f| {
                    if *discard.get_or_insert_with(|| paused.load(Ordering::Acquire)) {
                        c.discarded += 1;
                        return;
                    }
                    let t = table.get_or_insert_with(|| filters.load());
                    let complete = f.data.len() as u64 >= u64::from(f.orig_len);
                    let (v, frame) = judge_frame(t, &mut memo, f.data, f.linktype, complete);
                    c.frames += 1;
                    c.bytes += f.data.len() as u64;
                    let gen = t.generation();
                    match v {
                        Verdict::Pass => {
                            c.passed += 1;
                            port.offer(f, gen);
                            if let (Some(tp), Some(frame)) = (track.as_mut(), frame.as_ref()) {
                                let secs = (f.ts_ns / 1_000_000_000) as u32;
                                observe(tp.table(), frame, f.orig_len, secs);
                            }
                        }
                        Verdict::Block => c.blocked += 1,
                        Verdict::Malformed(_) => {
                            c.malformed += 1;
                            if pass_malformed {
                                port.offer(f, gen);
                            }
                        }
                    }
                    observer.frame(f, v, gen);
                });
                generation = table.as_ref().map(|t| t.generation()).or(generation);
                r
            };
            if matches!(poll, Ok(Poll::Frames(_))) {
                port.flush_if_due();
            } else {
                port.flush();
            }
            if let Some(tp) = track.as_mut() {
                tp.maybe_hand_over(Instant::now());
            }
            let poll = match poll {
                Ok(p) => p,
                Err(e) => {
                    result = Err(e);
                    Poll::Ended
                }
            };
            if poll != Poll::Idle && discard != Some(true) {
                c.batches += u64::from(matches!(poll, Poll::Frames(_)));
            }
            if poll != Poll::Frames(0) && stats_at.elapsed() >= KERNEL_STATS_EVERY {
                stats_at = Instant::now();
                if let Ok(k) = source.kernel_counters() {
                    c.kernel_drops = k.drops;
                }
            }
            c.sink_drops = port.drops();
            counters.publish(&c, generation.unwrap_or_else(|| filters.generation()));
            if poll == Poll::Ended || (drain_until.is_some() && !matches!(poll, Poll::Frames(1..)))
            {
                break;
            }
        }
        if let Ok(k) = source.kernel_counters() {
            c.kernel_drops = k.drops;
        }
        port.flush();
        c.sink_drops = port.drops();
        counters.publish(&c, filters.generation());
        if let Some(tp) = track {
            tp.finish();
        }
        result
    }
}
