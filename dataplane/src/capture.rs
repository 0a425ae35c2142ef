//! A running capture: pinned workers (one per source), the sink thread, and the handles the
//! control plane needs — the filter handle to publish tables into, the per-worker counters to
//! read, the stream hub to subscribe to, and a way to stop and collect the totals.

use std::io;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Instant;

use crate::filter::FilterHandle;
use crate::sink::log::{LogConfig, RotatingLog};
use crate::sink::stream::StreamHub;
use crate::sink::thread::{SinkHandle, SinkReport, SinkStats, Sinks};
use crate::source::Source;
use crate::worker::{CounterSnapshot, NoObserver, Observer, Worker, WorkerCounters};

/// What to capture and where passed frames go.
pub struct CaptureConfig {
    /// One worker per source.
    pub sources: Vec<Box<dyn Source>>,
    /// Core to pin worker `i` to (`None`: not pinned). Missing entries: not pinned.
    pub cores: Vec<Option<usize>>,
    pub log: Option<LogConfig>,
    /// Link types the live stream describes (frames of other types are not streamed).
    pub stream_linktypes: Vec<u32>,
    /// Interface name in the log and the stream.
    pub name: String,
    /// Hand malformed frames to the sinks too.
    pub pass_malformed: bool,
}

/// One worker's identity.
#[derive(Clone, Debug)]
pub struct WorkerInfo {
    pub source: String,
    /// The core it asked for, and whether pinning succeeded.
    pub core: Option<usize>,
    pub pinned: bool,
}

/// How a capture ended.
#[derive(Debug)]
pub struct CaptureReport {
    pub totals: CounterSnapshot,
    pub workers: Vec<CounterSnapshot>,
    pub sink: SinkReport,
    /// Errors that ended a worker early, with the worker's source.
    pub errors: Vec<String>,
}

/// What the control plane reads of a running capture: shared handles, cheap to clone.
#[derive(Clone)]
pub struct CaptureView {
    pub counters: Arc<[WorkerCounters]>,
    info: Arc<[std::sync::Mutex<WorkerInfo>]>,
    pub hub: Arc<StreamHub>,
    pub sink_stats: Arc<SinkStats>,
    pub started: Instant,
    running: Arc<AtomicUsize>,
}

impl CaptureView {
    /// Each worker's source and core.
    pub fn workers(&self) -> Vec<WorkerInfo> {
        self.info
            .iter()
            .map(|m| {
                m.lock()
                    .map(|g| g.clone())
                    .unwrap_or_else(|p| p.into_inner().clone())
            })
            .collect()
    }

    /// Sum of every worker's counters now.
    pub fn totals(&self) -> CounterSnapshot {
        let mut t = CounterSnapshot::default();
        for c in self.counters.iter() {
            t.add(&c.snapshot());
        }
        t
    }

    /// True once every worker has returned.
    pub fn finished(&self) -> bool {
        self.running.load(Ordering::Acquire) == 0
    }
}

/// A running capture; see the module doc.
pub struct Capture<O: Observer + Send + 'static = NoObserver> {
    filters: Arc<FilterHandle>,
    counters: Arc<[WorkerCounters]>,
    info: Arc<[std::sync::Mutex<WorkerInfo>]>,
    hub: Arc<StreamHub>,
    stop: Arc<AtomicBool>,
    running: Arc<AtomicUsize>,
    workers: Vec<JoinHandle<(io::Result<()>, O)>>,
    sink: SinkHandle,
    started: Instant,
}

impl Capture<NoObserver> {
    /// Starts one pinned worker per source and the sink thread.
    pub fn start(cfg: CaptureConfig, filters: Arc<FilterHandle>) -> io::Result<Capture> {
        let n = cfg.sources.len();
        Capture::start_observed(cfg, filters, (0..n).map(|_| NoObserver).collect())
    }
}

impl<O: Observer + Send + 'static> Capture<O> {
    /// [`Capture::start`] with an observer per worker (tests check every verdict with one).
    pub fn start_observed(
        cfg: CaptureConfig,
        filters: Arc<FilterHandle>,
        observers: Vec<O>,
    ) -> io::Result<Capture<O>> {
        let n = cfg.sources.len();
        if n == 0 || observers.len() != n {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "a capture needs at least one source, and one observer per source",
            ));
        }
        let log = cfg.log.map(RotatingLog::new).transpose()?;
        let hub = Arc::new(StreamHub::new(&cfg.name, &cfg.stream_linktypes));
        let (ports, sink) = Sinks::start(n, log, hub.clone())?.split();
        let counters: Arc<[WorkerCounters]> = (0..n).map(|_| WorkerCounters::default()).collect();
        let info: Arc<[std::sync::Mutex<WorkerInfo>]> = cfg
            .sources
            .iter()
            .enumerate()
            .map(|(i, s)| {
                std::sync::Mutex::new(WorkerInfo {
                    source: s.describe(),
                    core: cfg.cores.get(i).copied().flatten(),
                    pinned: false,
                })
            })
            .collect();
        let stop = Arc::new(AtomicBool::new(false));
        let running = Arc::new(AtomicUsize::new(n));
        let mut workers = Vec::with_capacity(n);
        let parts = cfg.sources.into_iter().zip(ports).zip(observers);
        for (i, ((mut source, mut port), mut observer)) in parts.enumerate() {
            let (filters, counters, info) = (filters.clone(), counters.clone(), info.clone());
            let (stop, running) = (stop.clone(), running.clone());
            let pass_malformed = cfg.pass_malformed;
            port.set_wait(!source.live());
            let handle = std::thread::Builder::new()
                .name(format!("airsift-worker-{i}"))
                .spawn(move || {
                    if let Ok(mut inf) = info[i].lock() {
                        if let Some(core) = inf.core {
                            inf.pinned =
                                core_affinity::set_for_current(core_affinity::CoreId { id: core });
                        }
                    }
                    let r = Worker {
                        source: source.as_mut(),
                        filters: &filters,
                        port: &mut port,
                        counters: &counters[i],
                        stop: &stop,
                        pass_malformed,
                    }
                    .run(&mut observer);
                    running.fetch_sub(1, Ordering::Release);
                    (r, observer)
                })?;
            workers.push(handle);
        }
        Ok(Capture {
            filters,
            counters,
            info,
            hub,
            stop,
            running,
            workers,
            sink,
            started: Instant::now(),
        })
    }

    pub fn filters(&self) -> &Arc<FilterHandle> {
        &self.filters
    }

    /// Shared handles for observers (the REST API).
    pub fn view(&self) -> CaptureView {
        CaptureView {
            counters: self.counters.clone(),
            info: self.info.clone(),
            hub: self.hub.clone(),
            sink_stats: self.sink.stats.clone(),
            started: self.started,
            running: self.running.clone(),
        }
    }

    /// Per-worker counters, readable while the capture runs.
    pub fn counters(&self) -> &Arc<[WorkerCounters]> {
        &self.counters
    }

    /// Each worker's source and core.
    pub fn workers(&self) -> Vec<WorkerInfo> {
        self.view().workers()
    }

    pub fn hub(&self) -> &Arc<StreamHub> {
        &self.hub
    }

    pub fn sink_stats(&self) -> &Arc<SinkStats> {
        &self.sink.stats
    }

    pub fn started(&self) -> Instant {
        self.started
    }

    /// Sum of every worker's counters now.
    pub fn totals(&self) -> CounterSnapshot {
        self.view().totals()
    }

    /// True once every worker has returned (its source ended, or after [`Capture::stop`]).
    pub fn finished(&self) -> bool {
        self.view().finished()
    }

    /// Asks the workers to finish their current batch and return.
    pub fn stop(&self) {
        self.stop.store(true, Ordering::Relaxed);
    }

    /// Stops, waits for the workers and the sink thread (which flushes and closes the log),
    /// and reports. Returns the observers too.
    pub fn join(self) -> (CaptureReport, Vec<O>) {
        self.stop();
        let mut errors = Vec::new();
        let mut observers = Vec::new();
        let info = self.workers();
        for (i, h) in self.workers.into_iter().enumerate() {
            match h.join() {
                Ok((r, o)) => {
                    if let Err(e) = r {
                        errors.push(format!("{}: {e}", info[i].source));
                    }
                    observers.push(o);
                }
                Err(_) => errors.push(format!("{}: worker panicked", info[i].source)),
            }
        }
        let sink = self.sink.join();
        let workers: Vec<CounterSnapshot> = self.counters.iter().map(|c| c.snapshot()).collect();
        let mut totals = CounterSnapshot::default();
        for w in &workers {
            totals.add(w);
        }
        (
            CaptureReport {
                totals,
                workers,
                sink,
                errors,
            },
            observers,
        )
    }
}
