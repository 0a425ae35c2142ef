//! Scanning-mode reports (API.md section 3): phones and ESP32 boards that cannot capture post
//! what they scanned; airsift keeps a virtual datasource per reporting device and an
//! access-point record per BSSID, durable before the reply, queryable like Kismet's.
//!
//! Interface shared by the ingestion core (this module's files) and the REST endpoints
//! (`api::scan`, `api::devices`).
//!
//! Files, one job each: `report` validates a request into a compact batch, `crypt` parses
//! capabilities, `oui` names manufacturers, `kismet` holds Kismet's spellings, `device` and
//! `datasource` are the records and how a report changes them, `model` the indexes, `codec` the
//! binary journal and checkpoint records, `journal` the group-commit writer thread, `recover`
//! the start-up replay, `query` the device selection, `render` Kismet's JSON.
//!
//! Durability: `ingest` returns only after the request's journal row is committed
//! (`synchronous=FULL`), sharing the commit with every other request queued meanwhile; the
//! in-memory model is updated after the commit and before the reply. `open` rebuilds the same
//! model from the last checkpoint plus the journal after it.

pub(crate) mod codec;
pub mod crypt;
pub mod datasource;
mod device;
mod frames;
mod journal;
pub mod kismet;
mod model;
pub mod oui;
mod query;
mod recover;
pub mod render;
pub mod report;
#[cfg(test)]
mod tests;

use std::sync::{Arc, PoisonError, RwLock};
use std::thread::JoinHandle;

use crossbeam_channel::Sender;

use dataplane::filter::FilterTable;
use dataplane::wire::MacTerm;
use regex::Regex;
use serde_json::{Map, Value};

use crate::store::{Store, StoreError};
pub use journal::{FrameFeed, Next, Outbox};
use journal::{Job, Msg, Policy, Writer};
pub use model::default_max_devices;
use model::State;

/// A report the validation rejected, by its index in `reports`.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Rejected {
    pub index: usize,
    pub error: String,
}

/// What an accepted request did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IngestReply {
    pub accepted: usize,
    pub rejected: Vec<Rejected>,
}

/// Why a whole request was refused.
#[derive(Debug)]
pub enum IngestError {
    /// A bad top level: 400 with this message, nothing stored.
    BadRequest(String),
    /// The store failed: 500, nothing acknowledged.
    Store(StoreError),
}

/// Seconds since the epoch now.
pub fn now_secs() -> u32 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as u32)
}

/// Which device view.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum View {
    /// `all`
    All,
    /// `phydot11_accesspoints`: devices that beaconed, answered probes or acted as the AP
    /// of data frames, and every scan-reported AP.
    AccessPoints,
    /// `seenby-{uuid}`: devices this datasource saw.
    SeenBy(kismet::Uuid),
}

/// How to order device lists.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sort {
    /// A field path (`kismet.device.base.last_time`), as `fields` paths.
    pub path: String,
    pub descending: bool,
}

/// A device query; every present part must hold.
#[derive(Clone, Debug, Default)]
pub struct DeviceQuery {
    pub view: Option<View>,
    /// Only devices seen at or after this absolute time (seconds since the epoch).
    pub last_time: Option<i64>,
    /// Only devices whose MAC falls under this term.
    pub mac: Option<MacTerm>,
    /// Only the device with this key (`kismet.device.base.key`).
    pub key: Option<String>,
    /// Only the clients of the AP with this MAC (`clients-of`).
    pub clients_of: Option<u64>,
    /// Any pair matching (field path, pattern) keeps the device; empty: no regex filter.
    pub regex: Vec<(String, Regex)>,
    /// Hide devices this packet filter blocks. An access point transmits as itself and is its
    /// own BSSID, so the filter decides a frame with `source` = `network` = the device's MAC
    /// (no destination, no fourth address): terms in the source, network or any block can hide
    /// it, destination and other terms cannot.
    pub filter: Option<Arc<FilterTable>>,
    pub sort: Option<Sort>,
    /// Pagination: skip `page * length`, return at most `length` (0: all).
    pub page: usize,
    pub length: usize,
    /// Field paths the caller will read (`fields`). When not empty, each record holds only
    /// the top-level fields these paths start with: the same values at those paths, rendered
    /// at a fraction of the cost. Empty: the whole record.
    pub fields: Vec<String>,
}

/// The device store's counters (`/dataplane/stats.json` `devices`, `/metrics`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct DeviceStats {
    /// Devices stored (from frames and scan reports).
    pub stored: usize,
    /// The cap (0: none).
    pub max: usize,
    /// Devices seen once that were evicted to stay under the cap.
    pub evicted: u64,
    /// Devices first learned from captured frames since start.
    pub learned: u64,
    /// Frames about a new MAC that a worker's full delta table could not take.
    pub untracked_frames: u64,
    /// SSID observations a worker's full list could not take.
    pub ssids_dropped: u64,
}

/// A page of devices and the total before pagination.
#[derive(Clone, Debug)]
pub struct DevicePage {
    pub devices: Vec<Value>,
    pub total: usize,
}

/// The scan-report service. `Send + Sync`; share it in an `Arc`. Dropping it stops the writer
/// thread after the requests already queued.
pub struct ScanService {
    state: Arc<RwLock<State>>,
    capture_doc: std::sync::OnceLock<Box<render::CaptureDoc>>,
    tx: Option<Sender<Msg>>,
    writer: Option<JoinHandle<()>>,
    server_uuid: String,
    /// The fleet's outbox, shared with the writer.
    outbox: Arc<journal::Outbox>,
}

/// The settings key of the server's UUID (`kismet.server.uuid`).
const SERVER_UUID_SETTING: &str = "server_uuid";

fn stopped() -> StoreError {
    StoreError::Db("the scan report writer has stopped".into())
}

impl ScanService {
    /// Opens over the store (creating its tables) and recovers every stored report.
    pub fn open(store: Arc<Store>) -> Result<ScanService, StoreError> {
        ScanService::open_with(store, Policy::default(), None, 0)
    }

    /// [`ScanService::open`] that also learns devices from the capture (`feed`), keeping at
    /// most `max_devices` (0: no cap; see [`default_max_devices`]).
    pub fn open_capturing(
        store: Arc<Store>,
        feed: Option<FrameFeed>,
        max_devices: usize,
    ) -> Result<ScanService, StoreError> {
        ScanService::open_with(store, Policy::default(), feed, max_devices)
    }

    fn open_with(
        store: Arc<Store>,
        policy: Policy,
        feed: Option<FrameFeed>,
        max_devices: usize,
    ) -> Result<ScanService, StoreError> {
        let server_uuid = match store.setting(SERVER_UUID_SETTING)? {
            Some(u) => u,
            None => {
                let mut b = [0u8; 16];
                getrandom::fill(&mut b).map_err(|e| {
                    StoreError::Io(format!("the operating system gave no random bytes: {e}"))
                })?;
                b[6] = (b[6] & 0x0F) | 0x40; // version 4
                b[8] = (b[8] & 0x3F) | 0x80; // RFC 4122 variant
                let u = kismet::format_uuid(&b);
                store.set_setting(SERVER_UUID_SETTING, &u)?;
                u
            }
        };
        let started = std::time::Instant::now();
        oui::OuiTable::get(); // parse the manufacturer table now, not in the first query
        let r = recover::load(&store)?;
        if r.rows > 0 || !r.state.devices.is_empty() {
            tracing::info!(
                devices = r.state.devices.len(),
                sources = r.state.sources.len(),
                journal_rows = r.rows,
                ms = started.elapsed().as_millis() as u64,
                "scan data recovered"
            );
        }
        let mut st = r.state;
        st.max_devices = max_devices;
        let state = Arc::new(RwLock::new(st));
        let (tx, rx) = crossbeam_channel::unbounded();
        let w = Writer::new(
            store,
            state.clone(),
            rx,
            r.next_seq,
            r.rows,
            r.reports,
            policy,
        )
        .with_frames(feed);
        let outbox: Arc<journal::Outbox> = Arc::default();
        let w = w.with_outbox(outbox.clone());
        let writer = std::thread::Builder::new()
            .name("scan-writer".into())
            .spawn(move || w.run())
            .map_err(|e| StoreError::Io(format!("cannot start the scan writer thread: {e}")))?;
        Ok(ScanService {
            state,
            capture_doc: std::sync::OnceLock::new(),
            tx: Some(tx),
            writer: Some(writer),
            server_uuid,
            outbox,
        })
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, State> {
        self.state.read().unwrap_or_else(PoisonError::into_inner)
    }

    /// Validates and stores one request's dictionary; returns once every accepted report is
    /// durable. `now` is the time used for reports without a timestamp.
    pub fn ingest(&self, dict: &Map<String, Value>, now: i64) -> Result<IngestReply, IngestError> {
        let (batch, rejected) = report::validate(dict, now).map_err(IngestError::BadRequest)?;
        let accepted = batch.reports.len();
        let bytes = codec::encode_batch(&batch);
        let (done, wait) = crossbeam_channel::bounded(1);
        self.tx
            .as_ref()
            .ok_or_else(stopped)
            .and_then(|tx| {
                tx.send(Msg::Ingest(Job { batch, bytes, done }))
                    .map_err(|_| stopped())
            })
            .map_err(IngestError::Store)?;
        match wait.recv() {
            Ok(Ok(())) => Ok(IngestReply { accepted, rejected }),
            Ok(Err(m)) => Err(IngestError::Store(StoreError::Db(m))),
            Err(_) => Err(IngestError::Store(stopped())),
        }
    }

    /// Every virtual datasource, as Kismet's `kismet.datasource.*` records.
    pub fn datasources(&self) -> Vec<Value> {
        self.read()
            .sources
            .iter()
            .filter(|s| !s.capture)
            .map(|s| s.render())
            .collect()
    }

    /// One virtual datasource by UUID (case-insensitive).
    pub fn datasource(&self, uuid: &str) -> Option<Value> {
        let u = kismet::parse_uuid(uuid.trim())?;
        let st = self.read();
        let &i = st.source_ix.get(&u)?;
        let s = &st.sources[i as usize];
        (!s.capture).then(|| s.render())
    }

    /// How seen-by entries of capture datasources show their datasource: the registry's
    /// record by UUID. Set once, at start.
    pub fn set_capture_docs(&self, doc: Box<render::CaptureDoc>) {
        let _ = self.capture_doc.set(doc);
    }

    /// Device-store counters.
    pub fn device_stats(&self) -> DeviceStats {
        let st = self.read();
        DeviceStats {
            stored: st.device_count(),
            max: st.max_devices,
            evicted: st.evicted,
            learned: st.learned,
            untracked_frames: st.untracked,
            ssids_dropped: st.events_dropped,
        }
    }

    /// Devices matching `q`, rendered with Kismet's field names. See [`query`] for the order
    /// of work and how the packet filter is applied (an AP is source and network of its own
    /// frames).
    pub fn query(&self, q: &DeviceQuery) -> DevicePage {
        let sel = query::select(&self.read(), q, &self.server_uuid);
        tracing::trace!(examined = sel.examined, matched = sel.total, "device query");
        let cx = render::Ctx::new(&sel.sources, &self.server_uuid)
            .with_capture_docs(self.capture_doc.get().map(|b| &**b));
        let tops: Vec<&str> = render::KEYS
            .iter()
            .copied()
            .filter(|k| {
                q.fields
                    .iter()
                    .any(|p| p.trim_start_matches('/').split('/').next() == Some(*k))
            })
            .collect();
        DevicePage {
            devices: sel
                .devices
                .iter()
                .map(|(d, ch)| {
                    if q.fields.is_empty() {
                        render::render(d, ch, &cx)
                    } else {
                        render::render_only(d, ch, &cx, &tops)
                    }
                })
                .collect(),
            total: sel.total,
        }
    }

    /// From now on, every accepted request also goes to the fleet's outbox (API.md section 7).
    /// Returns the outbox, whose `acked` the publisher raises.
    pub fn publish_to_fleet(&self) -> Arc<journal::Outbox> {
        self.outbox
            .on
            .store(true, std::sync::atomic::Ordering::Release);
        self.outbox.clone()
    }

    /// Devices seen at or after `since` (seconds), at most `limit`, oldest first (the time
    /// index's order: no sort), each as its MAC and a summary: the base fields a fleet event
    /// carries and a compact seen-by list (datasource UUID, last time, packets, last signal),
    /// not the datasources' whole records, which would make each event kilobytes long.
    pub fn devices_since(&self, since: u64, limit: usize) -> Vec<(String, Value)> {
        const FIELDS: &[&str] = &[
            "kismet.device.base.macaddr",
            "kismet.device.base.key",
            "kismet.device.base.type",
            "kismet.device.base.name",
            "kismet.device.base.first_time",
            "kismet.device.base.last_time",
            "kismet.device.base.channel",
            "kismet.device.base.frequency",
            "kismet.device.base.packets.total",
            "kismet.device.base.crypt",
        ];
        let q = DeviceQuery {
            last_time: Some(since as i64),
            length: limit,
            ..DeviceQuery::default()
        };
        let sel = query::select(&self.read(), &q, &self.server_uuid);
        let cx = render::Ctx::new(&sel.sources, &self.server_uuid);
        sel.devices
            .iter()
            .map(|(d, ch)| {
                let mut doc = Map::new();
                for f in FIELDS {
                    if let Some(v) = render::field(d, ch, &cx, f) {
                        doc.insert(f.to_string(), v);
                    }
                }
                let seen: Vec<Value> = d
                    .seen
                    .iter()
                    .map(|s| {
                        serde_json::json!({
                            "uuid": sel.sources.get(s.source as usize)
                                .map(|src| kismet::format_uuid(&src.uuid)),
                            "last_time": s.last,
                            "packets": s.count,
                            "signal": s.has_signal.then_some(s.signal[0]),
                        })
                    })
                    .collect();
                doc.insert("airsift.fleet.seenby".into(), seen.into());
                (render::mac_string(d.mac), Value::Object(doc))
            })
            .collect()
    }

    /// Number of devices stored.
    pub fn device_count(&self) -> usize {
        self.read().device_count()
    }

    /// The server's UUID (`kismet.server.uuid`), created at first start and kept in the
    /// settings table (key `server_uuid`).
    pub fn server_uuid(&self) -> &str {
        &self.server_uuid
    }

    /// Writes a checkpoint now (every changed record, then trims the journal) and returns when
    /// it is durable. Checkpoints also run by themselves; this is for shutdown and tests.
    pub fn checkpoint(&self) -> Result<(), StoreError> {
        let (done, wait) = crossbeam_channel::bounded(1);
        let tx = self.tx.as_ref().ok_or_else(stopped)?;
        tx.send(Msg::Checkpoint(done)).map_err(|_| stopped())?;
        match wait.recv() {
            Ok(Ok(())) => Ok(()),
            Ok(Err(m)) => Err(StoreError::Db(m)),
            Err(_) => Err(stopped()),
        }
    }

    /// An estimate of the model's memory (records and indexes), in bytes.
    pub fn approx_memory_bytes(&self) -> usize {
        self.read().approx_bytes()
    }
}

impl Drop for ScanService {
    fn drop(&mut self) {
        self.tx = None; // the writer drains the queue, then sees the channel closed
        if let Some(w) = self.writer.take() {
            let _ = w.join();
        }
    }
}

/// An in-memory device store without durability, for learning devices from a capture file
/// (`airsift devices`): the same merge and rendering as the service.
pub struct Survey {
    state: State,
    source: u32,
}

impl Survey {
    /// A store with one capture datasource named `name` (its UUID derived from the name).
    pub fn new(name: &str) -> Survey {
        let mut state = State::default();
        let h = kismet::ssid_hash(name).to_be_bytes();
        let mut uuid = [0u8; 16];
        for (i, b) in uuid.iter_mut().enumerate() {
            *b = h[i % 4] ^ (i as u8).wrapping_mul(37);
        }
        let source = state.capture_source(uuid, name);
        Survey { state, source }
    }

    /// Merges one table of deltas.
    pub fn apply(&mut self, t: &dataplane::track::DeltaTable) {
        self.state.apply_frames(t, self.source, now_secs());
    }

    /// Every device as Kismet's record, in MAC order.
    pub fn render(&self) -> Vec<Value> {
        let sel = query::select(&self.state, &DeviceQuery::default(), "");
        let cx = render::Ctx::new(&sel.sources, "");
        sel.devices
            .iter()
            .map(|(d, ch)| render::render(d, ch, &cx))
            .collect()
    }
}
