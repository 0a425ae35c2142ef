//! The running dataplane: one sink thread (log and live stream) and one filter handle shared
//! by any number of source groups, each a capture source with its own pinned workers, that
//! can be added, paused and closed while the others capture.
//!
//! The control plane's source registry drives it; [`crate::capture::Capture`] is the
//! one-group form used by tools and tests.

use std::io;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::Instant;

use crate::filter::FilterHandle;
use crate::sink::log::{LogConfig, RotatingLog};
use crate::sink::stream::StreamHub;
use crate::sink::thread::{SinkReport, SinkStats, SinkThread};
use crate::sink::SourceNames;
use crate::source::Source;
use crate::track::TrackHub;
use crate::worker::{CounterSnapshot, Observer, Worker, WorkerCounters};

/// One worker's identity.
#[derive(Clone, Debug)]
pub struct WorkerInfo {
    pub source: String,
    /// The core it asked for, and whether pinning succeeded.
    pub core: Option<usize>,
    pub pinned: bool,
}

/// What a source group is made of.
pub struct GroupConfig {
    /// The source number: the pcapng interface its frames are logged under.
    pub number: u32,
    /// The name of that interface (`tpacket:wlan0`, or the datasource's name).
    pub name: String,
    /// One worker per ring (several for fanout or AF_XDP queues).
    pub sources: Vec<Box<dyn Source>>,
    /// Core to pin worker `i` to (`None` or missing: not pinned).
    pub cores: Vec<Option<usize>>,
}

/// How a group ended.
#[derive(Debug, Default)]
pub struct GroupReport {
    pub totals: CounterSnapshot,
    pub workers: Vec<CounterSnapshot>,
    /// Errors that ended a worker early, with the worker's source.
    pub errors: Vec<String>,
}

/// The dataplane; see the module doc.
pub struct Dataplane {
    filters: Arc<FilterHandle>,
    hub: Arc<StreamHub>,
    names: SourceNames,
    sink: SinkThread,
    pass_malformed: bool,
    started: Instant,
    next_worker: AtomicUsize,
    track: Option<TrackHub>,
}

impl Dataplane {
    /// Starts the sink thread (opening the log directory, if any); no source yet.
    pub fn start(
        log: Option<LogConfig>,
        filters: Arc<FilterHandle>,
        pass_malformed: bool,
    ) -> io::Result<Dataplane> {
        let names = log.as_ref().map(|l| l.names.clone()).unwrap_or_default();
        let log = log.map(RotatingLog::new).transpose()?;
        let hub = Arc::new(StreamHub::new(names.clone()));
        let sink = SinkThread::start(log, hub.clone())?;
        Ok(Dataplane {
            filters,
            hub,
            names,
            sink,
            pass_malformed,
            started: Instant::now(),
            next_worker: AtomicUsize::new(0),
            track: None,
        })
    }

    /// Every worker started from now on folds the frames it passes into tables that `hub`
    /// collects (devices learned from frames).
    pub fn with_tracking(mut self, hub: TrackHub) -> Dataplane {
        self.track = Some(hub);
        self
    }

    /// Starts one pinned worker per source of `cfg`, without touching the running groups.
    pub fn add<O: Observer + Send + 'static>(
        &self,
        cfg: GroupConfig,
        observers: Vec<O>,
    ) -> io::Result<SourceGroup<O>> {
        let n = cfg.sources.len();
        if n == 0 || observers.len() != n {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "a source group needs at least one ring, and one observer per ring",
            ));
        }
        self.names.set(cfg.number, &cfg.name);
        let view = GroupView {
            number: cfg.number,
            counters: (0..n).map(|_| WorkerCounters::default()).collect(),
            info: cfg
                .sources
                .iter()
                .enumerate()
                .map(|(i, s)| {
                    Mutex::new(WorkerInfo {
                        source: s.describe(),
                        core: cfg.cores.get(i).copied().flatten(),
                        pinned: false,
                    })
                })
                .collect(),
            paused: Arc::new(AtomicBool::new(false)),
            running: Arc::new(AtomicUsize::new(n)),
        };
        let stop = Arc::new(AtomicBool::new(false));
        let mut workers: Vec<JoinHandle<(io::Result<()>, O)>> = Vec::with_capacity(n);
        for (i, (mut source, mut observer)) in cfg.sources.into_iter().zip(observers).enumerate() {
            let id = self.next_worker.fetch_add(1, Ordering::Relaxed);
            let Some(mut port) = self.sink.port(id, cfg.number) else {
                stop.store(true, Ordering::Relaxed);
                for h in workers {
                    let _ = h.join();
                }
                return Err(io::Error::other("the dataplane has shut down"));
            };
            port.set_wait(!source.live());
            let track = self.track.as_ref().map(|h| h.port(cfg.number));
            let (filters, wview, wstop) = (self.filters.clone(), view.clone(), stop.clone());
            let pass_malformed = self.pass_malformed;
            let spawned = std::thread::Builder::new()
                .name(format!("airsift-worker-{id}"))
                .spawn(move || {
                    let (view, stop) = (wview, wstop);
                    if let Ok(mut inf) = view.info[i].lock() {
                        if let Some(core) = inf.core {
                            inf.pinned =
                                core_affinity::set_for_current(core_affinity::CoreId { id: core });
                        }
                    }
                    let r = Worker {
                        source: source.as_mut(),
                        filters: &filters,
                        port: &mut port,
                        counters: &view.counters[i],
                        stop: &stop,
                        paused: &view.paused,
                        pass_malformed,
                        track,
                    }
                    .run(&mut observer);
                    view.running.fetch_sub(1, Ordering::Release);
                    (r, observer)
                });
            match spawned {
                Ok(h) => workers.push(h),
                Err(e) => {
                    // Stop the workers already started; their rings close with them.
                    stop.store(true, Ordering::Relaxed);
                    for h in workers {
                        let _ = h.join();
                    }
                    return Err(e);
                }
            }
        }
        Ok(SourceGroup {
            view,
            stop,
            workers,
        })
    }

    pub fn filters(&self) -> &Arc<FilterHandle> {
        &self.filters
    }

    pub fn hub(&self) -> &Arc<StreamHub> {
        &self.hub
    }

    pub fn sink_stats(&self) -> &Arc<SinkStats> {
        &self.sink.stats
    }

    /// The interface names of the log and stream, by source number.
    pub fn names(&self) -> &SourceNames {
        &self.names
    }

    pub fn started(&self) -> Instant {
        self.started
    }

    /// Moves the pcapng log to `log` (`None`: stop logging) without losing a frame; see
    /// [`SinkThread::reconfigure_log`].
    pub fn reconfigure_log(&self, log: Option<LogConfig>) -> io::Result<()> {
        self.sink.reconfigure_log(log)
    }

    /// Waits for the sink thread, which ends once every group has been closed (their
    /// workers hold the sink's ports), after flushing and closing the log. Sources cannot be
    /// added afterwards.
    pub fn shutdown(&self) -> SinkReport {
        self.sink.join()
    }
}

/// What the control plane reads of a group: shared handles, cheap to clone.
#[derive(Clone)]
pub struct GroupView {
    pub number: u32,
    pub counters: Arc<[WorkerCounters]>,
    info: Arc<[Mutex<WorkerInfo>]>,
    paused: Arc<AtomicBool>,
    running: Arc<AtomicUsize>,
}

impl GroupView {
    /// Each worker's ring and core.
    pub fn workers(&self) -> Vec<WorkerInfo> {
        self.info
            .iter()
            .map(|m| m.lock().unwrap_or_else(PoisonError::into_inner).clone())
            .collect()
    }

    /// Sum of the group's workers' counters now.
    pub fn totals(&self) -> CounterSnapshot {
        let mut t = CounterSnapshot::default();
        for c in self.counters.iter() {
            t.add(&c.snapshot());
        }
        t
    }

    /// True once every worker has returned (its source ended, or after a close).
    pub fn finished(&self) -> bool {
        self.running.load(Ordering::Acquire) == 0
    }

    pub fn paused(&self) -> bool {
        self.paused.load(Ordering::Relaxed)
    }
}

/// A running source group; see the module doc.
pub struct SourceGroup<O = crate::worker::NoObserver> {
    view: GroupView,
    stop: Arc<AtomicBool>,
    workers: Vec<JoinHandle<(io::Result<()>, O)>>,
}

impl<O> SourceGroup<O> {
    pub fn view(&self) -> &GroupView {
        &self.view
    }

    /// Pausing: the workers keep emptying their rings but discard the frames unjudged and
    /// uncounted, from their next batch on.
    pub fn set_paused(&self, paused: bool) {
        self.view.paused.store(paused, Ordering::Release);
    }

    /// Asks the workers to drain their rings and return.
    pub fn stop(&self) {
        self.stop.store(true, Ordering::Relaxed);
    }

    /// Stops and waits for the workers; their sources (rings, sockets, XDP programs) are
    /// released when this returns. Returns the observers too.
    pub fn close(self) -> (GroupReport, Vec<O>) {
        self.stop();
        let info = self.view.workers();
        let mut report = GroupReport::default();
        let mut observers = Vec::new();
        for (i, h) in self.workers.into_iter().enumerate() {
            let who = info.get(i).map_or("?", |w| w.source.as_str()).to_string();
            match h.join() {
                Ok((r, o)) => {
                    if let Err(e) = r {
                        report.errors.push(format!("{who}: {e}"));
                    }
                    observers.push(o);
                }
                Err(_) => report.errors.push(format!("{who}: worker panicked")),
            }
        }
        report.workers = self.view.counters.iter().map(|c| c.snapshot()).collect();
        for w in &report.workers {
            report.totals.add(w);
        }
        (report, observers)
    }
}
