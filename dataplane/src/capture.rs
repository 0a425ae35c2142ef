//! A capture with a fixed set of rings: a [`Dataplane`] holding one source group, and the
//! handles tools and tests need — the filter handle to publish tables into, the per-worker
//! counters to read, the stream hub to subscribe to, and a way to stop and collect the
//! totals. The control plane, whose sources come and go, drives the [`Dataplane`] itself.

use std::io;
use std::sync::Arc;
use std::time::Instant;

use crate::filter::FilterHandle;
use crate::plane::{Dataplane, GroupConfig, GroupView, SourceGroup};
use crate::sink::log::LogConfig;
use crate::sink::stream::StreamHub;
use crate::sink::thread::{SinkReport, SinkStats};
use crate::source::Source;
use crate::worker::{CounterSnapshot, NoObserver, Observer, WorkerCounters};

pub use crate::plane::WorkerInfo;

/// What to capture and where passed frames go.
pub struct CaptureConfig {
    /// One worker per source.
    pub sources: Vec<Box<dyn Source>>,
    /// Core to pin worker `i` to (`None`: not pinned). Missing entries: not pinned.
    pub cores: Vec<Option<usize>>,
    pub log: Option<LogConfig>,
    /// Interface name in the log and the stream.
    pub name: String,
    /// Hand malformed frames to the sinks too.
    pub pass_malformed: bool,
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

/// A running capture; see the module doc.
pub struct Capture<O: Observer + Send + 'static = NoObserver> {
    plane: Dataplane,
    group: SourceGroup<O>,
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
        let plane = Dataplane::start(cfg.log, filters, cfg.pass_malformed)?;
        let group = plane.add(
            GroupConfig {
                number: 0,
                name: cfg.name,
                sources: cfg.sources,
                cores: cfg.cores,
            },
            observers,
        )?;
        Ok(Capture { plane, group })
    }

    pub fn filters(&self) -> &Arc<FilterHandle> {
        self.plane.filters()
    }

    /// The group's shared handles (the REST API reads counters through them).
    pub fn view(&self) -> &GroupView {
        self.group.view()
    }

    /// Per-worker counters, readable while the capture runs.
    pub fn counters(&self) -> &Arc<[WorkerCounters]> {
        &self.group.view().counters
    }

    /// Each worker's source and core.
    pub fn workers(&self) -> Vec<WorkerInfo> {
        self.group.view().workers()
    }

    pub fn hub(&self) -> &Arc<StreamHub> {
        self.plane.hub()
    }

    pub fn sink_stats(&self) -> &Arc<SinkStats> {
        self.plane.sink_stats()
    }

    pub fn started(&self) -> Instant {
        self.plane.started()
    }

    /// Sum of every worker's counters now.
    pub fn totals(&self) -> CounterSnapshot {
        self.group.view().totals()
    }

    /// True once every worker has returned (its source ended, or after [`Capture::stop`]).
    pub fn finished(&self) -> bool {
        self.group.view().finished()
    }

    /// Asks the workers to finish (draining live rings) and return.
    pub fn stop(&self) {
        self.group.stop();
    }

    /// Stops, waits for the workers and the sink thread (which flushes and closes the log),
    /// and reports. Returns the observers too.
    pub fn join(self) -> (CaptureReport, Vec<O>) {
        let (group, observers) = self.group.close();
        let sink = self.plane.shutdown();
        (
            CaptureReport {
                totals: group.totals,
                workers: group.workers,
                sink,
                errors: group.errors,
            },
            observers,
        )
    }
}
