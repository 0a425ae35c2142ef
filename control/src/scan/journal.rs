//! Group commit and checkpoints: the one thread that writes scan data.
//!
//! Callers validate and encode in their own thread and queue a [`Job`]. The writer takes
//! everything queued, appends one journal row per request in ONE transaction (its commit is
//! the fsync: `synchronous=FULL`), applies the requests to the model in sequence order, and
//! only then answers every waiter. Concurrent requests therefore share an fsync, and a reply
//! is never sent before its reports are durable.
//!
//! Checkpoints bound the journal: the dirty device and datasource records are written to their
//! tables in chunks (each its own short transaction, interleaved with group commits), and the
//! last chunk deletes the journal rows the checkpoint covers. Each record carries the sequence
//! number of the last request applied to it, so a crash between chunks is harmless: recovery
//! loads the records and replays the journal, skipping requests a record already contains.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender, TryRecvError};
use rusqlite::params;

use dataplane::track::TrackHub;

use super::codec;
use super::device::flag;
use super::kismet::Uuid;
use super::model::State;
use super::report::Batch;
use crate::store::{OutboxRow, Store, StoreError};

/// One request waiting to be made durable.
pub struct Job {
    pub batch: Batch,
    /// The journal row: `codec::encode_batch(&batch)`.
    pub bytes: Vec<u8>,
    pub done: Sender<Result<(), String>>,
}

pub enum Msg {
    Ingest(Job),
    /// Run a full checkpoint now and answer when it is complete.
    Checkpoint(Sender<Result<(), String>>),
}

/// When to start a checkpoint (whichever comes first).
#[derive(Clone, Copy, Debug)]
pub struct Policy {
    pub rows: u64,
    pub reports: u64,
    pub interval: Duration,
    /// Device records per checkpoint transaction.
    pub chunk: usize,
    /// While requests wait, a checkpoint chunk may run only after this many times its own
    /// duration has passed since the previous one (so checkpoints take at most about
    /// 1 / (1 + share) of the writer from waiting requests; when none wait they run flat out).
    pub yield_factor: u32,
    /// Most requests in one group commit.
    pub max_group: usize,
    /// Devices changed by frames are checkpointed at least this often (a crash loses at
    /// most this much of what frames taught; scan reports are journaled and lose nothing).
    pub frames_interval: Duration,
}

impl Default for Policy {
    fn default() -> Policy {
        Policy {
            rows: 20_000,
            reports: 1_000_000,
            interval: Duration::from_secs(60),
            chunk: 1_024,
            max_group: 1_024,
            yield_factor: 3,
            frames_interval: Duration::from_secs(30),
        }
    }
}

struct Checkpoint {
    /// Journal rows up to here are covered once every record below is written.
    upto: u64,
    devices: Vec<u32>,
    pos: usize,
    sources: Vec<u32>,
    /// Evicted MACs whose stored records the last chunk deletes.
    evicted: Vec<u64>,
    waiters: Vec<Sender<Result<(), String>>>,
}

/// How often the writer collects the tables workers handed over. Workers hand a table over
/// every 250 ms, or sooner when it fills up (a flood of new MACs); collecting five times as
/// often gives such a worker its empty table back before its next one fills.
const TRACK_POLL: Duration = Duration::from_millis(50);

/// Where the writer collects what the capture workers learned, and how it names their
/// datasources: capture source number → (UUID, name), `None` for a number it does not know.
pub struct FrameFeed {
    pub hub: TrackHub,
    pub resolve: Box<dyn Fn(u32) -> Option<(Uuid, String)> + Send>,
}

pub struct Writer {
    pub store: Arc<Store>,
    pub state: Arc<RwLock<State>>,
    pub rx: Receiver<Msg>,
    /// The sequence number the next request gets.
    pub next_seq: u64,
    /// Journal rows and reports since the last checkpoint began (recovered rows count).
    pub rows: u64,
    pub reports: u64,
    pub policy: Policy,
    last_checkpoint: Instant,
    ckpt: Option<Checkpoint>,
    /// Earliest time for the next checkpoint chunk while requests are waiting.
    next_step: Instant,
    frames: Option<FrameFeed>,
    last_drain: Instant,
    /// The fleet's outbox (see [`Outbox`]).
    outbox: Arc<Outbox>,
    /// Outbox rows up to this sequence are deleted.
    trimmed: u64,
}

/// The fleet's outbox as the writer and the publisher share it. Accepted requests go into
/// the outbox table in the transaction that journals them once `on` is set; the publisher
/// raises `acked` as JetStream acknowledges them in order, and the writer deletes the rows up
/// to it within its next transaction (or in one of its own when idle): no transaction, fsync
/// or lock of the publisher's own on the request path. A deletion lost in a crash only sends
/// the rows again, which the stream drops by their message ids.
///
/// The rows just committed are also handed to the publisher in memory ([`Outbox::take`]), so
/// in the steady state it never reads the table back: reading it took the store's connection
/// that the writer's group commits wait for. The table stays the record: after a restart,
/// after a send that was not acknowledged, or when the publisher fell more than
/// [`FRESH_BYTES`] behind (NATS down), it reads the table until it is in step again.
#[derive(Debug, Default)]
pub struct Outbox {
    /// Set once the fleet is on: accepted requests go to the outbox from then on.
    pub on: std::sync::atomic::AtomicBool,
    /// The highest sequence such that it and every row before it were acknowledged.
    pub acked: std::sync::atomic::AtomicU64,
    /// The highest sequence committed to the outbox table.
    pub committed: std::sync::atomic::AtomicU64,
    /// Rows committed and not yet taken by the publisher, in sequence order, with their
    /// payloads' total size, at most [`FRESH_BYTES`] (rows beyond that are only in the table).
    fresh: Mutex<(VecDeque<OutboxRow>, usize)>,
}

/// Most payload bytes of committed rows held in memory for the publisher (about 700 requests
/// of 100 reports).
pub const FRESH_BYTES: usize = 8 << 20;

/// What the publisher should send next (see [`Outbox::take`]).
#[derive(Debug, PartialEq, Eq)]
pub enum Next {
    /// These rows, the ones right after the cursor, in order.
    Rows(Vec<OutboxRow>),
    /// Nothing was committed after the cursor.
    Idle,
    /// The rows after the cursor must be read from the table.
    Table,
}

impl Outbox {
    /// Hands rows just committed (in sequence order, after the ones committed before) to the
    /// publisher, as many as fit in memory.
    fn hand_over(&self, rows: impl Iterator<Item = OutboxRow>) {
        let mut fresh = self.fresh.lock().unwrap_or_else(PoisonError::into_inner);
        let (queue, bytes) = &mut *fresh;
        let mut last = 0;
        for r in rows {
            last = r.seq;
            if *bytes + r.payload.len() <= FRESH_BYTES {
                *bytes += r.payload.len();
                queue.push_back(r);
            }
        }
        self.committed
            .fetch_max(last, std::sync::atomic::Ordering::AcqRel);
    }

    /// The next rows to send after `cursor` (every row up to it is acknowledged), at most
    /// `limit`: from memory when the rows right after the cursor are there.
    pub fn take(&self, cursor: u64, limit: usize) -> Next {
        let mut fresh = self.fresh.lock().unwrap_or_else(PoisonError::into_inner);
        let (queue, bytes) = &mut *fresh;
        while let Some(r) = queue.front().filter(|r| r.seq <= cursor) {
            *bytes -= r.payload.len();
            queue.pop_front();
        }
        // Only rows contiguous from the cursor: rows that did not fit leave a gap.
        let n = queue
            .iter()
            .take(limit)
            .zip(cursor + 1..)
            .take_while(|(r, seq)| r.seq == *seq)
            .count();
        if n > 0 {
            let rows: Vec<OutboxRow> = queue.drain(..n).collect();
            *bytes -= rows.iter().map(|r| r.payload.len()).sum::<usize>();
            return Next::Rows(rows);
        }
        if self.committed.load(std::sync::atomic::Ordering::Acquire) <= cursor {
            Next::Idle
        } else {
            Next::Table
        }
    }

    /// Rows committed after `cursor`, when the one after the cursor was an outbox row.
    pub fn pending_after(&self, cursor: u64) -> u64 {
        self.committed
            .load(std::sync::atomic::Ordering::Acquire)
            .saturating_sub(cursor)
    }
}

impl Writer {
    pub fn new(
        store: Arc<Store>,
        state: Arc<RwLock<State>>,
        rx: Receiver<Msg>,
        next_seq: u64,
        rows: u64,
        reports: u64,
        policy: Policy,
    ) -> Writer {
        Writer {
            store,
            state,
            rx,
            next_seq,
            rows,
            reports,
            policy,
            last_checkpoint: Instant::now(),
            ckpt: None,
            next_step: Instant::now(),
            frames: None,
            last_drain: Instant::now(),
            outbox: Arc::default(),
            trimmed: 0,
        }
    }

    /// Shares the fleet's outbox.
    pub fn with_outbox(mut self, outbox: Arc<Outbox>) -> Writer {
        self.outbox = outbox;
        self
    }

    /// Outbox rows acknowledged and not yet deleted: up to which sequence to delete.
    fn trim_to(&self) -> Option<u64> {
        let acked = self.outbox.acked.load(std::sync::atomic::Ordering::Acquire);
        (acked > self.trimmed).then_some(acked)
    }

    /// Deletes the acknowledged outbox rows in a transaction of their own (the writer is idle).
    fn trim_outbox(&mut self) {
        let Some(upto) = self.trim_to() else {
            return;
        };
        let r = self
            .store
            .transaction(|tx| crate::store::outbox_trim(tx, upto));
        match r {
            Ok(()) => self.trimmed = upto,
            Err(e) => tracing::warn!(error = %e, "the fleet's outbox was not trimmed"),
        }
    }

    /// Also merges the tables of capture workers, every [`TRACK_POLL`].
    pub fn with_frames(mut self, feed: Option<FrameFeed>) -> Writer {
        self.frames = feed;
        self
    }

    /// Merges every table the workers handed over.
    fn drain_frames(&mut self) {
        self.last_drain = Instant::now();
        let Some(feed) = self.frames.as_ref() else {
            return;
        };
        let now = crate::scan::now_secs();
        let mut st: Option<std::sync::RwLockWriteGuard<'_, State>> = None;
        feed.hub.drain(|t| {
            let Some((uuid, name)) = (feed.resolve)(t.source) else {
                return;
            };
            let st = st
                .get_or_insert_with(|| self.state.write().unwrap_or_else(PoisonError::into_inner));
            let src = st.capture_source(uuid, &name);
            st.apply_frames(t, src, now);
        });
    }

    /// Serves until every sender is gone.
    pub fn run(mut self) {
        loop {
            let first = if self.ckpt.is_some() {
                match self.rx.try_recv() {
                    Ok(m) => Some(m),
                    Err(TryRecvError::Empty) => None,
                    Err(TryRecvError::Disconnected) => return,
                }
            } else {
                let wait = if self.frames.is_some() {
                    TRACK_POLL.saturating_sub(self.last_drain.elapsed())
                } else {
                    Duration::from_secs(1)
                };
                match self.rx.recv_timeout(wait) {
                    Ok(m) => Some(m),
                    Err(RecvTimeoutError::Timeout) => None,
                    Err(RecvTimeoutError::Disconnected) => return,
                }
            };
            let mut jobs = Vec::new();
            let mut waiters = Vec::new();
            if let Some(m) = first {
                let mut next = Some(m);
                while let Some(m) = next.take() {
                    match m {
                        Msg::Ingest(j) => jobs.push(j),
                        Msg::Checkpoint(w) => waiters.push(w),
                    }
                    if jobs.len() < self.policy.max_group {
                        next = self.rx.try_recv().ok();
                    }
                }
            }
            if !jobs.is_empty() {
                self.commit(jobs);
            } else if self.ckpt.is_none() {
                self.trim_outbox();
            }
            if self.frames.is_some() && self.last_drain.elapsed() >= TRACK_POLL {
                self.drain_frames();
            }
            if !waiters.is_empty() {
                // A checkpoint asked for now includes what the workers handed over so far.
                self.drain_frames();
                if self.ckpt.is_none() {
                    self.begin();
                }
                if let Some(c) = self.ckpt.as_mut() {
                    c.waiters.extend(waiters);
                }
            } else if self.ckpt.is_none() && self.due() {
                self.begin();
            }
            if self.ckpt.is_some() && (self.rx.is_empty() || Instant::now() >= self.next_step) {
                let t0 = Instant::now();
                self.step();
                self.next_step = Instant::now() + t0.elapsed() * self.policy.yield_factor;
            }
        }
    }

    fn due(&self) -> bool {
        let since = self.last_checkpoint.elapsed();
        self.rows >= self.policy.rows
            || self.reports >= self.policy.reports
            || (self.rows > 0 && since >= self.policy.interval)
            || (since >= self.policy.frames_interval && self.frame_changes() > 0)
    }

    fn frame_changes(&self) -> u64 {
        let st = self.state.read().unwrap_or_else(PoisonError::into_inner);
        st.frame_changes + st.evicted_macs.len() as u64
    }

    /// One group commit.
    fn commit(&mut self, jobs: Vec<Job>) {
        let first = self.next_seq;
        let outbox = self.outbox.on.load(std::sync::atomic::Ordering::Acquire);
        let trim = self.trim_to();
        let subjects: Vec<String> = if outbox {
            jobs.iter()
                .map(|j| crate::fleet::scan_event::scan_subject(&j.batch))
                .collect()
        } else {
            Vec::new()
        };
        let res = self.store.transaction(|tx| {
            let mut stmt =
                tx.prepare_cached("INSERT INTO scan_journal (seq, batch) VALUES (?1, ?2)")?;
            for (i, j) in jobs.iter().enumerate() {
                stmt.execute(params![(first + i as u64) as i64, j.bytes])?;
            }
            if outbox {
                // A row naming the journal row, whose bytes are the event's: written once,
                // and anything built from them is built when published, off this thread.
                for (i, subject) in subjects.iter().enumerate() {
                    crate::store::outbox_insert(tx, first + i as u64, subject)?;
                }
            }
            if let Some(upto) = trim {
                crate::store::outbox_trim(tx, upto)?;
            }
            Ok(())
        });
        match res {
            Ok(()) => {
                if let Some(upto) = trim {
                    self.trimmed = upto;
                }
                {
                    let mut st = self.state.write().unwrap_or_else(PoisonError::into_inner);
                    for (i, j) in jobs.iter().enumerate() {
                        st.apply(first + i as u64, &j.batch, false);
                    }
                }
                self.next_seq += jobs.len() as u64;
                self.rows += jobs.len() as u64;
                self.reports += jobs
                    .iter()
                    .map(|j| j.batch.reports.len() as u64)
                    .sum::<u64>();
                let mut subjects = subjects.into_iter();
                let mut rows = Vec::with_capacity(subjects.len());
                for (i, j) in jobs.into_iter().enumerate() {
                    let _ = j.done.send(Ok(()));
                    if let Some(subject) = subjects.next() {
                        rows.push(OutboxRow {
                            seq: first + i as u64,
                            subject,
                            payload: j.bytes,
                        });
                    }
                }
                if !rows.is_empty() {
                    self.outbox.hand_over(rows.into_iter());
                }
            }
            Err(e) => {
                tracing::error!(error = %e, requests = jobs.len(), "scan reports not stored");
                let msg = e.to_string();
                for j in jobs {
                    let _ = j.done.send(Err(msg.clone()));
                }
            }
        }
    }

    fn begin(&mut self) {
        let mut st = self.state.write().unwrap_or_else(PoisonError::into_inner);
        let (mut devices, sources) = st.take_dirty();
        let evicted = std::mem::take(&mut st.evicted_macs);
        // In key order: each chunk then touches neighbouring pages of the table.
        devices.sort_unstable_by_key(|&id| st.devices[id as usize].mac);
        self.ckpt = Some(Checkpoint {
            upto: st.seq,
            devices,
            pos: 0,
            sources,
            evicted,
            waiters: Vec::new(),
        });
        self.rows = 0;
        self.reports = 0;
        self.last_checkpoint = Instant::now();
    }

    /// Writes one chunk; the last one also writes the datasources and trims the journal.
    fn step(&mut self) {
        let Some(c) = self.ckpt.as_ref() else {
            return;
        };
        let end = (c.pos + self.policy.chunk).min(c.devices.len());
        let last = end == c.devices.len();
        let upto = c.upto;
        let (rows, srcs, gone) = {
            let st = self.state.read().unwrap_or_else(PoisonError::into_inner);
            let number = |i: u32| st.sources[i as usize].number;
            let channel = |c: u32| Box::from(st.channels.name(c));
            let rows: Vec<(i64, Vec<u8>)> = c.devices[c.pos..end]
                .iter()
                .map(|&id| &st.devices[id as usize])
                .filter(|d| d.mac != dataplane::track::table::FREE)
                .map(|d| (d.mac as i64, codec::encode_device(d, channel, number)))
                .collect();
            // Evicted and not back since: their stored records go.
            let gone: Vec<i64> = if last {
                c.evicted
                    .iter()
                    .filter(|m| !st.by_mac.contains_key(m))
                    .map(|&m| m as i64)
                    .collect()
            } else {
                Vec::new()
            };
            let srcs: Vec<(Vec<u8>, Vec<u8>)> = if last {
                c.sources
                    .iter()
                    .map(|&i| {
                        let s = &st.sources[i as usize];
                        (s.uuid.to_vec(), codec::encode_source(s))
                    })
                    .collect()
            } else {
                Vec::new()
            };
            (rows, srcs, gone)
        };
        let res = self.store.transaction(|tx| {
            let mut dev = tx
                .prepare_cached("INSERT OR REPLACE INTO scan_devices (mac, rec) VALUES (?1, ?2)")?;
            for (mac, rec) in &rows {
                dev.execute(params![mac, rec])?;
            }
            if last {
                let mut src = tx.prepare_cached(
                    "INSERT OR REPLACE INTO scan_sources (uuid, rec) VALUES (?1, ?2)",
                )?;
                for (uuid, rec) in &srcs {
                    src.execute(params![uuid, rec])?;
                }
                let mut del = tx.prepare_cached("DELETE FROM scan_devices WHERE mac = ?1")?;
                for mac in &gone {
                    del.execute(params![mac])?;
                }
                // Rows the fleet's outbox still names stay: their bytes are what it publishes.
                tx.execute(
                    "DELETE FROM scan_journal WHERE seq <= ?1
                     AND seq NOT IN (SELECT seq FROM fleet_outbox WHERE seq <= ?1)",
                    params![upto as i64],
                )?;
            }
            Ok(())
        });
        match res {
            Ok(()) if last => {
                let done = self.ckpt.take().expect("checkpoint in progress");
                tracing::debug!(
                    devices = done.devices.len(),
                    upto,
                    "scan checkpoint written"
                );
                for w in done.waiters {
                    let _ = w.send(Ok(()));
                }
            }
            Ok(()) => {
                if let Some(c) = self.ckpt.as_mut() {
                    c.pos = end;
                }
            }
            Err(e) => self.abandon(e),
        }
    }

    /// A checkpoint write failed: nothing is lost (the journal is only trimmed by the last
    /// chunk), but its records must be dirty again so that a later checkpoint writes them
    /// before trimming past them.
    fn abandon(&mut self, e: StoreError) {
        tracing::warn!(error = %e, "scan checkpoint failed; will retry");
        let Some(c) = self.ckpt.take() else {
            return;
        };
        {
            let mut guard = self.state.write().unwrap_or_else(PoisonError::into_inner);
            let st = &mut *guard;
            for &id in &c.devices {
                let d = &mut st.devices[id as usize];
                if d.flags & flag::DIRTY == 0 {
                    d.flags |= flag::DIRTY;
                    st.dirty.push(id);
                }
            }
            for &i in &c.sources {
                st.sources[i as usize].dirty = true;
            }
            st.evicted_macs.extend(c.evicted);
        }
        self.rows = self.rows.max(1);
        let msg = e.to_string();
        for w in c.waiters {
            let _ = w.send(Err(msg.clone()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{Next, Outbox, OutboxRow, FRESH_BYTES};

    fn row(seq: u64, len: usize) -> OutboxRow {
        OutboxRow {
            seq,
            subject: "airsift.scan.x".into(),
            payload: vec![0; len],
        }
    }

    fn seqs(n: Next) -> Vec<u64> {
        match n {
            Next::Rows(r) => r.iter().map(|r| r.seq).collect(),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn the_publisher_takes_rows_in_order_right_after_its_cursor() {
        let o = Outbox::default();
        assert_eq!(o.take(0, 10), Next::Idle);
        o.hand_over((5..=9).map(|s| row(s, 10)));
        // Rows from before (a restart) are not in memory: the cursor is not where they start.
        assert_eq!(o.take(0, 10), Next::Table);
        // Older rows than the cursor are dropped; a batch stops at the limit.
        assert_eq!(seqs(o.take(5, 2)), [6, 7]);
        assert_eq!(o.pending_after(7), 2);
        assert_eq!(seqs(o.take(7, 10)), [8, 9]);
        assert_eq!(o.take(9, 10), Next::Idle);
        // Rows taken but not acknowledged: the cursor stayed behind, they are in the table.
        assert_eq!(o.take(7, 10), Next::Table);
    }

    #[test]
    fn rows_that_did_not_fit_leave_a_gap_the_table_fills() {
        let o = Outbox::default();
        let big = FRESH_BYTES / 4;
        o.hand_over((1..=6).map(|s| row(s, big))); // rows 5 and 6 do not fit
        assert_eq!(o.pending_after(0), 6);
        assert_eq!(seqs(o.take(0, 100)), [1, 2, 3, 4]);
        o.hand_over((7..=8).map(|s| row(s, 10))); // room again: after the gap
        assert_eq!(
            o.take(4, 100),
            Next::Table,
            "rows 5 and 6 only in the table"
        );
        assert_eq!(
            seqs(o.take(6, 100)),
            [7, 8],
            "in step after the table's rows"
        );
        assert_eq!(o.take(8, 100), Next::Idle);
    }
}
