//! The sink thread: takes passed-frame batches from every worker, writes them to the log,
//! offers them to the live streams, and gives each buffer back to the worker that filled it.

use std::io;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

use crossbeam_channel::{bounded, Receiver, RecvTimeoutError, Sender, TryRecvError};

use super::batch::{PassedBatch, SinkPort};
use super::log::{LogConfig, RotatingLog};
use super::stream::StreamHub;

/// Buffers per worker (256 KiB each, touched only when used): the sink thread may fall this
/// far behind (a quarter of a million frames) before a worker starts dropping.
pub const BUFFERS_PER_WORKER: usize = 256;
/// How often the thread flushes the log and checks its age limit without traffic.
const TICK: Duration = Duration::from_millis(500);

/// What the sink thread did, shared with observers while it runs.
#[derive(Debug, Default)]
pub struct SinkStats {
    pub log_frames: AtomicU64,
    /// Frames the log could not write (disk full, I/O error); the first error is reported.
    pub log_errors: AtomicU64,
}

/// Result of the sink thread once every worker has gone.
#[derive(Debug, Default)]
pub struct SinkReport {
    pub files: Vec<PathBuf>,
    pub log_frames: u64,
    pub log_errors: u64,
    pub first_error: Option<String>,
}

/// Batches in flight towards the sink thread, all workers together. Each worker also holds
/// at most [`BUFFERS_PER_WORKER`] buffers, so this bounds nothing but the queue's length.
const QUEUE: usize = BUFFERS_PER_WORKER * 16;

/// The running sink thread. Ports for new workers can be made at any time, so sources can be
/// added while others capture; the thread ends once [`SinkThread::join`] was called and the
/// last port is gone, after writing everything handed over.
pub struct SinkThread {
    /// The queue's sender and the thread, until [`SinkThread::join`] takes them (behind a
    /// mutex so that whoever holds the dataplane shared can still end it; only adding a
    /// worker and joining lock it, never the per-frame path).
    inner: Mutex<Option<(Sender<PassedBatch>, JoinHandle<SinkReport>)>>,
    /// Log changes for the thread, each answered on its own channel.
    changes: Sender<LogChange>,
    pub stats: Arc<SinkStats>,
}

/// A new log configuration (`None`: stop logging) and where to say whether it took.
struct LogChange {
    log: Option<LogConfig>,
    reply: Sender<io::Result<()>>,
}

impl SinkThread {
    pub fn start(log: Option<RotatingLog>, hub: Arc<StreamHub>) -> io::Result<SinkThread> {
        let (full, full_rx) = bounded(QUEUE);
        let (changes, changes_rx) = bounded(1);
        let stats = Arc::new(SinkStats::default());
        let st = stats.clone();
        let handle = std::thread::Builder::new()
            .name("airsift-sink".into())
            .spawn(move || run(full_rx, changes_rx, log, hub, &st))?;
        Ok(SinkThread {
            inner: Mutex::new(Some((full, handle))),
            changes,
            stats,
        })
    }

    /// Moves the log to a new configuration between two batches, so no frame is lost or
    /// written twice: the same directory keeps its open file under the new limits; another
    /// directory (created if need be) gets a new file, after the current one is closed;
    /// `None` closes the log. On an error (the new directory cannot be made) the log goes on
    /// as it was. Waits for the thread's answer.
    pub fn reconfigure_log(&self, log: Option<LogConfig>) -> io::Result<()> {
        let (reply, answer) = bounded(1);
        let gone = || io::Error::other("the sink thread has ended");
        self.changes
            .send(LogChange { log, reply })
            .map_err(|_| gone())?;
        answer.recv().map_err(|_| gone())?
    }

    /// A port for a new worker, with its own [`BUFFERS_PER_WORKER`] buffers (allocated as
    /// they are first used), tagging its frames with source number `source`.
    /// `None` once the thread was joined.
    pub fn port(&self, worker: usize, source: u32) -> Option<SinkPort> {
        let inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        let (full, _) = inner.as_ref()?;
        let mut p = SinkPort::new(
            worker,
            BUFFERS_PER_WORKER,
            full.clone(),
            bounded(BUFFERS_PER_WORKER),
        );
        p.set_source(source);
        Some(p)
    }

    /// Waits for the thread to finish; it does once every port has been dropped. A second
    /// call reports nothing.
    pub fn join(&self) -> SinkReport {
        let taken = self
            .inner
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        match taken {
            Some((full, handle)) => {
                drop(full);
                handle.join().unwrap_or_default()
            }
            None => SinkReport::default(),
        }
    }
}

/// Applies `change` to `log`; a log it replaces is closed and its files and frames move to
/// `report`.
fn apply(
    change: Option<LogConfig>,
    log: &mut Option<RotatingLog>,
    report: &mut SinkReport,
) -> io::Result<()> {
    if let (Some(cfg), Some(l)) = (&change, log.as_mut()) {
        if cfg.dir == l.dir() {
            l.set_limits(cfg.max_bytes, cfg.max_age);
            return Ok(());
        }
    }
    let next = change.map(RotatingLog::new).transpose()?;
    if let Some(mut old) = std::mem::replace(log, next) {
        let closed = old.close();
        report.files.extend_from_slice(old.files());
        report.log_frames += old.frames();
        closed?;
    }
    Ok(())
}

fn run(
    full: Receiver<PassedBatch>,
    changes: Receiver<LogChange>,
    mut log: Option<RotatingLog>,
    hub: Arc<StreamHub>,
    stats: &SinkStats,
) -> SinkReport {
    let mut report = SinkReport::default();
    let note = |e: io::Error, n: u64, report: &mut SinkReport| {
        stats.log_errors.fetch_add(n, Ordering::Relaxed);
        report.first_error.get_or_insert_with(|| e.to_string());
    };
    loop {
        match changes.try_recv() {
            Ok(c) => {
                let _ = c.reply.send(apply(c.log, &mut log, &mut report));
            }
            Err(TryRecvError::Empty | TryRecvError::Disconnected) => {}
        }
        let batch = match full.recv_timeout(TICK) {
            Ok(b) => b,
            Err(RecvTimeoutError::Timeout) => {
                if let Some(l) = log.as_mut() {
                    if let Err(e) = l.tick().and_then(|_| l.flush()) {
                        note(e, 0, &mut report);
                    }
                }
                continue;
            }
            Err(RecvTimeoutError::Disconnected) => break,
        };
        if let Some(l) = log.as_mut() {
            for (m, data) in batch.iter() {
                match l.write(m, data) {
                    Ok(()) => {
                        stats.log_frames.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(e) => note(e, 1, &mut report),
                }
            }
        }
        hub.publish(&batch);
        batch.go_home();
    }
    if let Some(mut l) = log {
        if let Err(e) = l.close() {
            note(e, 0, &mut report);
        }
        report.files.extend_from_slice(l.files());
        report.log_frames += l.frames();
    }
    report.log_errors = stats.log_errors.load(Ordering::Relaxed);
    report
}
