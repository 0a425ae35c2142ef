//! The source registry: every capture datasource of this host, with its stable UUID and
//! number, its definition, its state (running, paused, closed, error with reason and
//! retries), its counters across reopenings, and Kismet's datasource record. It owns the
//! running dataplane and adds, pauses and closes source groups in it while others capture.
//!
//! Changes are stored before they are answered (when a store is given), so a restart
//! reopens the same sources; a source that cannot open is kept in error and retried with
//! backoff by [`SourceRegistry::tick`], which also samples the per-second counters.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use dataplane::plane::{Dataplane, GroupConfig, GroupView, SourceGroup};
use dataplane::worker::CounterSnapshot;
use serde_json::{json, Map, Value};

use super::channel::{same_hop_list, Channel, DEFAULT_SHUFFLE_SKIP};
use super::definition::{self, Definition, Kind};
use super::open::{self, OpenError, RingDefaults};
use super::rrd::CounterRrd;
use super::tuning::{self, ChannelRequest, ChannelState, Hopper};
use super::types::{self, Driver};
use crate::alerts::{builtin, Subject};
use crate::messages::{MessageBus, MSGFLAG_ERROR, MSGFLAG_INFO};
use crate::store::{Store, StoredSource};

/// Longest wait between two attempts to reopen a failed source.
const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// Why a registry operation was refused; the API maps each to its status.
#[derive(Debug)]
pub enum SourceError {
    /// 400: a bad definition, option, interface or file.
    Invalid(String),
    /// 404: no source with that UUID.
    NotFound(String),
    /// 409: the interface is captured by another source, or the operation does not apply.
    Conflict(String),
    /// 500: the store failed.
    Internal(String),
}

impl std::fmt::Display for SourceError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SourceError::Invalid(m)
            | SourceError::NotFound(m)
            | SourceError::Conflict(m)
            | SourceError::Internal(m) => f.write_str(m),
        }
    }
}

/// One datasource.
struct Entry {
    uuid: String,
    number: u32,
    text: String,
    def: Definition,
    name: String,
    group: Option<SourceGroup>,
    linktype: u32,
    closed: bool,
    paused: bool,
    error: Option<String>,
    warning: String,
    retries: u32,
    total_retries: u32,
    next_retry: Option<Instant>,
    /// Counters of earlier runs (a closed and reopened source keeps counting).
    carried: CounterSnapshot,
    /// What the radio should do, and the thread hopping it.
    tuning: ChannelState,
    hopper: Option<Hopper>,
    /// Frames and bytes per second, minute and hour (Kismet's `packets_rrd` and
    /// `packets_datasize_rrd`), sampled once a second by [`SourceRegistry::tick`].
    packets_rrd: CounterRrd,
    bytes_rrd: CounterRrd,
    /// Drops (kernel + sink) at the last tick, and whether the source was dropping then.
    drops: DropWatch,
}

impl Entry {
    /// A source not yet started, open (not closed, not paused), its channel untouched.
    fn new(uuid: String, number: u32, text: String, def: Definition) -> Entry {
        Entry {
            uuid,
            number,
            name: def.options.name.clone().unwrap_or_else(|| text.clone()),
            text,
            def,
            group: None,
            linktype: 0,
            closed: false,
            paused: false,
            error: None,
            warning: String::new(),
            retries: 0,
            total_retries: 0,
            next_retry: None,
            carried: CounterSnapshot::default(),
            tuning: ChannelState::Untouched,
            hopper: None,
            packets_rrd: CounterRrd::from_counter(0, now_secs()),
            bytes_rrd: CounterRrd::from_counter(0, now_secs()),
            drops: DropWatch::default(),
        }
    }

    /// How messages name the source: `name (UUID)`.
    fn label(&self) -> String {
        format!("{} ({})", self.name, self.uuid)
    }

    fn counters(&self) -> CounterSnapshot {
        let mut c = self.carried;
        if let Some(g) = &self.group {
            c.add(&g.view().totals());
        }
        c
    }

    fn running(&self) -> bool {
        self.group.as_ref().is_some_and(|g| !g.view().finished())
    }

    fn stored(&self) -> StoredSource {
        StoredSource {
            uuid: self.uuid.clone(),
            number: self.number,
            definition: self.text.clone(),
            closed: self.closed,
            paused: self.paused,
            channel: self.tuning.to_json().to_string(),
        }
    }

    /// Ends the running group (and any hopping) and keeps its counters.
    fn stop(&mut self) -> Vec<String> {
        self.hopper = None;
        match self.group.take() {
            Some(g) => {
                let (report, _) = g.close();
                self.carried.add(&report.totals);
                report.errors
            }
            None => Vec::new(),
        }
    }
}

/// Notices when a source starts and stops losing frames, from its cumulative drop counters
/// sampled once a second.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct DropWatch {
    kernel: u64,
    sink: u64,
    dropping: bool,
}

/// A change of a source's dropping state, with the drops of the last second (began) or the
/// totals (stopped).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DropChange {
    Began { kernel: u64, sink: u64 },
    Stopped { kernel: u64, sink: u64 },
}

impl DropWatch {
    fn update(&mut self, kernel: u64, sink: u64) -> Option<DropChange> {
        let (dk, ds) = (
            kernel.saturating_sub(self.kernel),
            sink.saturating_sub(self.sink),
        );
        self.kernel = kernel;
        self.sink = sink;
        let now = dk + ds > 0;
        let change = match (self.dropping, now) {
            (false, true) => Some(DropChange::Began {
                kernel: dk,
                sink: ds,
            }),
            (true, false) => Some(DropChange::Stopped { kernel, sink }),
            _ => None,
        };
        self.dropping = now;
        change
    }
}

/// The channel state a definition asks for: `channel=` locks, `channels=` or `hop=true` hops.
fn initial_tuning(def: &Definition) -> Result<ChannelState, String> {
    let o = &def.options;
    if let Some(c) = &o.channel {
        return Channel::parse(c)
            .map(ChannelState::Locked)
            .map_err(|e| format!("option channel: {e}"));
    }
    let channels = o
        .channels
        .as_deref()
        .map(tuning::parse_channels)
        .transpose()
        .map_err(|e| format!("option channels: {e}"))?;
    match (o.hop, channels) {
        (Some(false), _) | (None, None) => Ok(ChannelState::Untouched),
        (_, Some(channels)) if !channels.is_empty() => Ok(ChannelState::Hopping {
            rate: o.hop_rate.unwrap_or(tuning::DEFAULT_HOP_RATE),
            channels,
            shuffle: true,
        }),
        _ => Err("option hop=true needs channels=\"...\" (the list to hop)".into()),
    }
}

/// The registry; see the module doc.
pub struct SourceRegistry {
    plane: Dataplane,
    store: Option<Arc<Store>>,
    defaults: RingDefaults,
    entries: Mutex<Vec<Entry>>,
    /// The process's cores, to give each new source free ones.
    ncores: usize,
    /// Where opened, closed, failed and reopened sources are told.
    messages: Arc<MessageBus>,
}

fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// A random (version 4) UUID in Kismet's upper-case form.
fn new_uuid() -> String {
    let mut b = [0u8; 16];
    let _ = getrandom::fill(&mut b);
    b[6] = (b[6] & 0x0F) | 0x40;
    b[8] = (b[8] & 0x3F) | 0x80;
    let h: String = b.iter().map(|x| format!("{x:02X}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

impl SourceRegistry {
    /// The kernel filter the rings are opened with, when it is on and loaded.
    pub fn kernel_filter(&self) -> Option<&Arc<dataplane::kfilter::KernelMirror>> {
        self.defaults.kernel_filter.as_ref()
    }

    /// Frames the kernel filter dropped (0 when it is off): never in the workers' `frames`.
    pub fn kernel_blocked(&self) -> u64 {
        self.kernel_filter()
            .and_then(|k| k.programs().counters().ok())
            .map_or(0, |c| c.dropped)
    }

    pub fn new(
        plane: Dataplane,
        store: Option<Arc<Store>>,
        defaults: RingDefaults,
        messages: Arc<MessageBus>,
    ) -> Self {
        SourceRegistry {
            plane,
            store,
            defaults,
            entries: Mutex::new(Vec::new()),
            ncores: std::thread::available_parallelism().map_or(1, |n| n.get()),
            messages,
        }
    }

    fn tell(&self, flags: i32, text: String) {
        self.messages.post(flags, text);
    }

    fn lock(&self) -> MutexGuard<'_, Vec<Entry>> {
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub fn plane(&self) -> &Dataplane {
        &self.plane
    }

    fn save(&self, e: &Entry) -> Result<(), SourceError> {
        match &self.store {
            Some(s) => s
                .save_capture_source(&e.stored())
                .map_err(|err| SourceError::Internal(format!("cannot store the source: {err}"))),
            None => Ok(()),
        }
    }

    /// Reopens the stored sources (those not closed); one that fails stays in error and is
    /// retried. Returns what to tell the operator.
    pub fn restore(&self) -> Result<Vec<String>, SourceError> {
        let Some(store) = &self.store else {
            return Ok(Vec::new());
        };
        let stored = store
            .capture_sources()
            .map_err(|e| SourceError::Internal(e.to_string()))?;
        let mut notes = Vec::new();
        for s in stored {
            let def = match definition::parse(&s.definition) {
                Ok(d) => d,
                Err(e) => {
                    notes.push(format!("stored source {} ignored: {e}", s.uuid));
                    continue;
                }
            };
            let mut e = Entry::new(s.uuid, s.number, s.definition, def);
            e.closed = s.closed;
            e.paused = s.paused;
            e.tuning = ChannelState::from_json(
                &serde_json::from_str(&s.channel).unwrap_or_else(|_| json!({})),
            );
            if !e.closed {
                let mut entries = self.lock();
                if let Err(err) = self.start(&mut e, &entries) {
                    if let OpenError::Privilege(m) = err {
                        // Retrying cannot grant a capability: say so at start.
                        return Err(SourceError::Conflict(format!("stored {m}")));
                    }
                    notes.push(format!("{}: {err}; retrying", e.name));
                    e.error = Some(err.to_string());
                    e.next_retry = Some(Instant::now() + Duration::from_secs(1));
                } else {
                    notes.push(format!("{}: reopened", e.name));
                }
                entries.push(e);
            } else {
                self.lock().push(e);
            }
        }
        for (_, m) in self.rehop(&mut self.lock()) {
            notes.push(m);
        }
        for n in &notes {
            let flags = if n.ends_with("reopened") {
                MSGFLAG_INFO
            } else {
                MSGFLAG_ERROR
            };
            self.tell(flags, format!("source {n}"));
        }
        Ok(notes)
    }

    /// Cores for `n` workers: the definition's, else the ones no running source uses, else
    /// shared (with a warning).
    fn cores_for(&self, e: &Entry, n: usize, others: &[Entry]) -> (Vec<Option<usize>>, String) {
        if let Some(c) = e
            .def
            .options
            .cores
            .as_ref()
            .or(self.defaults.cores.as_ref())
        {
            return (c.iter().map(|&c| Some(c)).collect(), String::new());
        }
        let used: Vec<usize> = others
            .iter()
            .filter_map(|o| o.group.as_ref())
            .flat_map(|g| g.view().workers())
            .filter_map(|w| w.core)
            .collect();
        let free: Vec<usize> = (0..self.ncores).filter(|c| !used.contains(c)).collect();
        if free.len() >= n {
            return (free[..n].iter().map(|&c| Some(c)).collect(), String::new());
        }
        let cores: Vec<Option<usize>> = (0..n)
            .map(|i| Some(free.get(i).copied().unwrap_or(i % self.ncores)))
            .collect();
        (
            cores,
            format!(
                "not enough free cores for {n} worker(s): sharing cores with other sources; \
                 set cores= in the definition to choose"
            ),
        )
    }

    /// Opens the rings and starts the workers of `e` (which is not in `others`).
    fn start(&self, e: &mut Entry, others: &[Entry]) -> Result<(), OpenError> {
        let group = (std::process::id() as u16).wrapping_add((e.number as u16).wrapping_mul(7919));
        let opened = open::open(&e.def, &self.defaults, group)?;
        let n = opened.rings.len();
        let (cores, warning) = self.cores_for(e, n, others);
        let mut warn = warning;
        for n in &opened.notices {
            if !warn.is_empty() {
                warn.push_str("; ");
            }
            warn.push_str(n);
        }
        let g = self
            .plane
            .add(
                GroupConfig {
                    number: e.number,
                    name: e.name.clone(),
                    sources: opened.rings,
                    cores,
                },
                (0..n).map(|_| dataplane::worker::NoObserver).collect(),
            )
            .map_err(|err| OpenError::Failed(format!("cannot start the workers: {err}")))?;
        g.set_paused(e.paused);
        if let ChannelState::Locked(ch) = &e.tuning {
            if let Err(err) = tuning::lock(&e.def.interface, ch) {
                if !warn.is_empty() {
                    warn.push_str("; ");
                }
                warn.push_str(&err.to_string());
            }
        }
        e.group = Some(g);
        e.linktype = opened.linktype;
        e.warning = warn;
        e.error = None;
        e.retries = 0;
        e.next_retry = None;
        Ok(())
    }

    /// The source capturing `iface` (not closed), other than `except`.
    fn user_of<'a>(entries: &'a [Entry], iface: &str, except: &str) -> Option<&'a Entry> {
        entries.iter().find(|e| {
            e.uuid != except
                && !e.closed
                && e.def.kind != Some(Kind::Pcap)
                && e.def.interface == iface
        })
    }

    /// The source whose definition text is `text` (trimmed), with whether it is closed: a
    /// reload matches the config file's definitions to sources this way.
    pub fn by_definition(&self, text: &str) -> Option<(String, bool)> {
        let entries = self.lock();
        // An open one first: a definition closed once and added again has two records.
        let mut matching: Vec<&Entry> = entries.iter().filter(|e| e.text == text.trim()).collect();
        matching.sort_by_key(|e| e.closed);
        matching.first().map(|e| (e.uuid.clone(), e.closed))
    }

    /// `add_source`: parses, checks, opens and starts; stores the source; returns its record.
    pub fn add(&self, text: &str) -> Result<Value, SourceError> {
        let def = definition::parse(text).map_err(|e| SourceError::Invalid(e.to_string()))?;
        let mut entries = self.lock();
        if def.kind != Some(Kind::Pcap) {
            if let Some(u) = Self::user_of(&entries, &def.interface, "") {
                return Err(SourceError::Conflict(format!(
                    "interface {} is already captured by source {} ({})",
                    def.interface, u.name, u.uuid
                )));
            }
        } else if !std::path::Path::new(&def.interface).is_file() {
            return Err(SourceError::Invalid(format!(
                "no such capture file: {}",
                def.interface
            )));
        }
        let tuning = initial_tuning(&def).map_err(SourceError::Invalid)?;
        let number = entries.iter().map(|e| e.number).max().unwrap_or(0) + 1;
        let uuid = match &def.options.uuid {
            Some(u) if entries.iter().any(|e| &e.uuid == u) => {
                return Err(SourceError::Conflict(format!(
                    "a source with UUID {u} exists"
                )))
            }
            Some(u) => u.clone(),
            None => new_uuid(),
        };
        let mut e = Entry::new(uuid, number, text.trim().to_string(), def);
        e.tuning = tuning;
        if e.tuning != ChannelState::Untouched {
            let what = match e.tuning {
                ChannelState::Locked(_) => "lock a channel",
                _ => "hop channels",
            };
            if e.def.kind == Some(Kind::Pcap) {
                return Err(SourceError::Invalid(format!(
                    "{} is a capture file: channel options do not apply",
                    e.def.interface
                )));
            }
            tuning::radio(&e.def.interface, what)
                .map_err(|err| SourceError::Conflict(err.to_string()))?;
        }
        self.start(&mut e, &entries).map_err(|err| match err {
            OpenError::Invalid(m) | OpenError::Missing(m) => SourceError::Invalid(m),
            OpenError::Failed(m) | OpenError::Privilege(m) => SourceError::Conflict(m),
        })?;
        if let Err(err) = self.save(&e) {
            e.stop();
            return Err(err);
        }
        entries.push(e);
        let hop_error = self.rehop(&mut entries);
        let e = entries.last_mut().expect("just pushed");
        if let Some(err) = hop_error
            .into_iter()
            .find(|(u, _)| *u == e.uuid)
            .map(|(_, m)| m)
        {
            e.stop();
            let e = entries.pop().expect("just pushed");
            if let Some(store) = &self.store {
                let mut gone = e.stored();
                gone.closed = true;
                let _ = store.save_capture_source(&gone);
            }
            return Err(SourceError::Conflict(err));
        }
        let e = entries.last().expect("just pushed");
        self.tell(
            MSGFLAG_INFO,
            format!("source {} opened: {}", e.label(), e.text),
        );
        Ok(self.render(e))
    }

    fn find<'a>(entries: &'a mut [Entry], uuid: &str) -> Result<&'a mut Entry, SourceError> {
        entries
            .iter_mut()
            .find(|e| e.uuid.eq_ignore_ascii_case(uuid))
            .ok_or_else(|| SourceError::NotFound(format!("no capture datasource with UUID {uuid}")))
    }

    /// `close_source`: drains and releases everything; keeps the record and counters.
    pub fn close(&self, uuid: &str) -> Result<Value, SourceError> {
        let mut entries = self.lock();
        let e = Self::find(&mut entries, uuid)?;
        e.stop();
        e.closed = true;
        e.error = None;
        e.next_retry = None;
        self.save(e)?;
        self.tell(MSGFLAG_INFO, format!("source {} closed", e.label()));
        Ok(self.render(e))
    }

    /// `open_source`: starts a closed (or failed) source again.
    pub fn open(&self, uuid: &str) -> Result<Value, SourceError> {
        let mut entries = self.lock();
        let i = entries
            .iter()
            .position(|e| e.uuid.eq_ignore_ascii_case(uuid))
            .ok_or_else(|| {
                SourceError::NotFound(format!("no capture datasource with UUID {uuid}"))
            })?;
        if entries[i].running() {
            return Ok(self.render(&entries[i]));
        }
        let mut e = entries.remove(i);
        if e.def.kind != Some(Kind::Pcap) {
            if let Some(u) = Self::user_of(&entries, &e.def.interface, &e.uuid) {
                let msg = format!(
                    "interface {} is already captured by source {} ({})",
                    e.def.interface, u.name, u.uuid
                );
                entries.insert(i, e);
                return Err(SourceError::Conflict(msg));
            }
        }
        e.stop();
        e.closed = false;
        let started = self.start(&mut e, &entries);
        let saved = self.save(&e);
        entries.insert(i, e);
        started.map_err(|err| SourceError::Conflict(err.to_string()))?;
        saved?;
        self.rehop(&mut entries);
        let e = &entries[i];
        self.tell(MSGFLAG_INFO, format!("source {} reopened", e.label()));
        Ok(self.render(e))
    }

    /// `pause_source` / `resume_source`.
    pub fn set_paused(&self, uuid: &str, paused: bool) -> Result<Value, SourceError> {
        let mut entries = self.lock();
        let e = Self::find(&mut entries, uuid)?;
        e.paused = paused;
        if let Some(g) = &e.group {
            g.set_paused(paused);
        }
        self.save(e)?;
        let what = if paused { "paused" } else { "resumed" };
        self.tell(MSGFLAG_INFO, format!("source {} {what}", e.label()));
        Ok(self.render(e))
    }

    /// `set_channel` / `set_hop`: lock the radio on a channel, or hop (Kismet's split among
    /// the sources hopping the same list). Only a cfg80211 radio can tune: anything else is a
    /// 409 saying so, never a silent 200.
    pub fn set_channel(&self, uuid: &str, req: ChannelRequest) -> Result<Value, SourceError> {
        let mut entries = self.lock();
        let e = Self::find(&mut entries, uuid)?;
        let what = match req {
            ChannelRequest::Lock(_) => "lock a channel",
            ChannelRequest::Hop { .. } => "hop channels",
        };
        if e.def.kind == Some(Kind::Pcap) {
            return Err(SourceError::Conflict(format!(
                "{} is a capture file, not a cfg80211 Wi-Fi radio, so it cannot {what}",
                e.def.interface
            )));
        }
        tuning::radio(&e.def.interface, what)
            .map_err(|err| SourceError::Conflict(err.to_string()))?;
        let next = match req {
            ChannelRequest::Lock(ch) => {
                e.hopper = None;
                tuning::lock(&e.def.interface, &ch)
                    .map_err(|err| SourceError::Conflict(err.to_string()))?;
                ChannelState::Locked(ch)
            }
            ChannelRequest::Hop {
                rate,
                channels,
                shuffle,
            } => {
                let (old_rate, old_channels, old_shuffle) = match &e.tuning {
                    ChannelState::Hopping {
                        rate,
                        channels,
                        shuffle,
                    } => (Some(*rate), Some(channels.clone()), Some(*shuffle)),
                    _ => (None, None, None),
                };
                let configured = e
                    .def
                    .options
                    .channels
                    .as_deref()
                    .map(tuning::parse_channels)
                    .transpose()
                    .map_err(SourceError::Invalid)?;
                let channels = channels.or(old_channels).or(configured).ok_or_else(|| {
                    SourceError::Invalid(
                        "no channel list to hop: give channels, or channels= in the definition"
                            .into(),
                    )
                })?;
                ChannelState::Hopping {
                    rate: rate
                        .or(old_rate)
                        .or(e.def.options.hop_rate)
                        .unwrap_or(tuning::DEFAULT_HOP_RATE),
                    channels,
                    shuffle: shuffle.or(old_shuffle).unwrap_or(true),
                }
            }
        };
        e.tuning = next;
        let uuid = e.uuid.clone();
        if let Some(err) = self
            .rehop(&mut entries)
            .into_iter()
            .find(|(u, _)| *u == uuid)
        {
            return Err(SourceError::Conflict(err.1));
        }
        let e = Self::find(&mut entries, &uuid)?;
        self.save(e)?;
        Ok(self.render(e))
    }

    /// Restarts the hopping of every running source that hops, each group sharing a channel
    /// list split as Kismet splits it. Returns the sources whose hopping could not start.
    fn rehop(&self, entries: &mut [Entry]) -> Vec<(String, String)> {
        let mut failed = Vec::new();
        let hopping: Vec<usize> = entries
            .iter()
            .enumerate()
            .filter(|(_, e)| e.group.is_some() && matches!(e.tuning, ChannelState::Hopping { .. }))
            .map(|(i, _)| i)
            .collect();
        for e in entries.iter_mut() {
            if !matches!(e.tuning, ChannelState::Hopping { .. }) {
                e.hopper = None;
            }
        }
        let list = |e: &Entry| match &e.tuning {
            ChannelState::Hopping { channels, .. } => channels.clone(),
            _ => Vec::new(),
        };
        for &i in &hopping {
            let mine = list(&entries[i]);
            let group: Vec<usize> = hopping
                .iter()
                .copied()
                .filter(|&j| same_hop_list(&list(&entries[j]), &mine))
                .collect();
            let index = group.iter().position(|&j| j == i).unwrap_or(0);
            let e = &mut entries[i];
            let ChannelState::Hopping { rate, shuffle, .. } = e.tuning else {
                continue;
            };
            e.hopper = None;
            let started = tuning::source_plan(rate, &mine, shuffle, group.len(), index)
                .map_err(|m| format!("{}: {m}", e.def.interface))
                .and_then(|(dwell, hop)| {
                    tuning::Hopper::start(&e.def.interface, dwell, hop)
                        .map_err(|err| err.to_string())
                });
            match started {
                Ok(h) => e.hopper = Some(h),
                Err(m) => failed.push((e.uuid.clone(), m)),
            }
        }
        failed
    }

    /// The UUID of the source (not closed) capturing interface `iface`.
    pub fn user_of_interface(&self, iface: &str) -> Option<String> {
        Self::user_of(&self.lock(), iface, "").map(|e| e.uuid.clone())
    }

    /// Every capture datasource's record, by number.
    pub fn records(&self) -> Vec<Value> {
        self.lock().iter().map(|e| self.render(e)).collect()
    }

    /// The UUID and name of the source numbered `number`.
    pub fn identity(&self, number: u32) -> Option<(String, String)> {
        self.lock()
            .iter()
            .find(|e| e.number == number)
            .map(|e| (e.uuid.clone(), e.name.clone()))
    }

    /// One record by UUID (case-insensitive).
    pub fn record(&self, uuid: &str) -> Option<Value> {
        self.lock()
            .iter()
            .find(|e| e.uuid.eq_ignore_ascii_case(uuid))
            .map(|e| self.render(e))
    }

    /// Running groups' views with their source numbers and names, for stats and metrics.
    pub fn groups(&self) -> Vec<(u32, String, GroupView)> {
        self.lock()
            .iter()
            .filter_map(|e| {
                e.group
                    .as_ref()
                    .map(|g| (e.number, e.name.clone(), g.view().clone()))
            })
            .collect()
    }

    /// The kinds of the running sources (`tpacket`, `afxdp`, `pcap`), each once.
    pub fn backends(&self) -> Vec<&'static str> {
        let mut out = Vec::new();
        for e in self.lock().iter().filter(|e| e.group.is_some()) {
            let k = match e.def.kind {
                Some(Kind::Pcap) => "pcap",
                Some(Kind::Afxdp { .. }) => "afxdp",
                _ => "tpacket",
            };
            if !out.contains(&k) {
                out.push(k);
            }
        }
        out
    }

    /// Per source: number, name, counters across reopenings.
    pub fn counters(&self) -> Vec<(u32, String, CounterSnapshot)> {
        self.lock()
            .iter()
            .map(|e| (e.number, e.name.clone(), e.counters()))
            .collect()
    }

    /// True when no source is running (every finite source has ended).
    pub fn all_finished(&self) -> bool {
        self.lock().iter().all(|e| !e.running())
    }

    /// Moves live sources whose workers failed (the interface went away) into error, and
    /// retries failed sources whose backoff has passed (1 s, doubling, at most 30 s).
    pub fn tick(&self) -> Vec<String> {
        let mut notes = Vec::new();
        let mut entries = self.lock();
        let now = Instant::now();
        let secs = now_secs();
        for e in entries.iter_mut() {
            let c = e.counters();
            e.packets_rrd.sample(c.frames, secs);
            e.bytes_rrd.sample(c.bytes, secs);
            match e.drops.update(c.kernel_drops, c.sink_drops) {
                Some(DropChange::Began { kernel, sink }) => {
                    let text = format!(
                        "source {}: drops began: {kernel} in the kernel, {sink} at the sinks \
                         since the last second",
                        e.label()
                    );
                    self.messages
                        .tell_or_raise(MSGFLAG_ERROR, builtin::DROPS.0, text);
                }
                Some(DropChange::Stopped { kernel, sink }) => self.tell(
                    MSGFLAG_INFO,
                    format!(
                        "source {}: drops stopped ({kernel} in the kernel, {sink} at the sinks \
                         in all)",
                        e.label()
                    ),
                ),
                None => {}
            }
            let live = e.def.kind != Some(Kind::Pcap);
            if live && e.group.as_ref().is_some_and(|g| g.view().finished()) {
                let errors = e.stop();
                let reason = if errors.is_empty() {
                    "the capture ended".to_string()
                } else {
                    errors.join("; ")
                };
                notes.push(format!("{}: {reason}; retrying", e.name));
                let _ = self.messages.alerts.raise(
                    builtin::SOURCE_ERROR.0,
                    &format!("source {} failed: {reason}", e.label()),
                    Subject::default(),
                );
                e.error = Some(reason);
                e.retries = 0;
                e.next_retry = Some(now + Duration::from_secs(1));
            }
        }
        let due: Vec<usize> = entries
            .iter()
            .enumerate()
            .filter(|(_, e)| {
                !e.closed && e.group.is_none() && e.next_retry.is_some_and(|t| t <= now)
            })
            .map(|(i, _)| i)
            .collect();
        let mut reopened = false;
        for i in due {
            let mut e = entries.remove(i);
            match self.start(&mut e, &entries) {
                Ok(()) => {
                    reopened = true;
                    notes.push(format!(
                        "{}: opened after {} retries",
                        e.name, e.total_retries
                    ))
                }
                Err(err) => {
                    e.retries += 1;
                    e.total_retries += 1;
                    let wait = Duration::from_secs(1u64 << e.retries.min(5)).min(MAX_BACKOFF);
                    e.next_retry = Some(now + wait);
                    e.error = Some(err.to_string());
                }
            }
            entries.insert(i, e);
        }
        if reopened {
            for (_, m) in self.rehop(&mut entries) {
                notes.push(m);
            }
        }
        for n in &notes {
            let flags = if n.contains("opened after") {
                MSGFLAG_INFO
            } else {
                MSGFLAG_ERROR
            };
            self.tell(flags, format!("source {n}"));
        }
        notes
    }

    /// Closes every source (draining their rings); the dataplane can then shut down.
    pub fn close_all(&self) -> (CounterSnapshot, Vec<String>) {
        let mut errors = Vec::new();
        let mut total = CounterSnapshot::default();
        for e in self.lock().iter_mut() {
            errors.extend(e.stop());
            total.add(&e.counters());
        }
        (total, errors)
    }

    /// Kismet's datasource record (reference: `datasource_add_source_pcapfile_response.json`)
    /// plus `airsift.datasource.workers`.
    fn render(&self, e: &Entry) -> Value {
        let c = e.counters();
        let running = e.running();
        let now = now_secs();
        let names =
            |c: &[Channel]| json!(c.iter().map(Channel::to_kismet_string).collect::<Vec<_>>());
        let (hopping, hop_rate, hop_channels, shuffle) = match &e.tuning {
            ChannelState::Hopping {
                rate,
                channels,
                shuffle,
            } => (true, *rate, names(channels), *shuffle),
            _ => (
                false,
                0.0,
                json!(e.def.options.channels.clone().unwrap_or_default()),
                false,
            ),
        };
        let (current, hop_error) = e.hopper.as_ref().map(Hopper::status).unwrap_or_default();
        let channel = match (&e.tuning, current) {
            (ChannelState::Locked(c), _) => c.to_kismet_string(),
            (_, Some(c)) => c.to_kismet_string(),
            _ => String::new(),
        };
        let mut m = Map::new();
        let mut put = |k: &str, v: Value| {
            m.insert(format!("kismet.datasource.{k}"), v);
        };
        put("source_number", e.number.into());
        put(
            "source_key",
            (e.number as u64 * 2_654_435_761 % (1 << 32)).into(),
        );
        put("cmd_pending", 0.into());
        put("paused", u8::from(e.paused).into());
        put("ipc_binary", "".into());
        put("ipc_pid", std::process::id().into());
        put("running", u8::from(running).into());
        put("datasource_version", env!("CARGO_PKG_VERSION").into());
        put("remote_ip", "".into());
        put("remote", 0.into());
        put("passive", 0.into());
        put("name", e.name.clone().into());
        put("uuid", e.uuid.clone().into());
        put("definition", e.text.clone().into());
        put("interface", e.def.interface.clone().into());
        put(
            "capture_interface",
            if e.def.kind == Some(Kind::Pcap) {
                "".into()
            } else {
                e.def.interface.clone().into()
            },
        );
        put(
            "hardware",
            match e.def.kind {
                Some(Kind::Afxdp { .. }) => "AF_XDP".into(),
                Some(Kind::Tpacket) => "TPACKET_V3".into(),
                _ => "".into(),
            },
        );
        put("dlt", e.linktype.into());
        let warning = match (&hop_error, e.warning.is_empty()) {
            (Some(h), true) => h.clone(),
            (Some(h), false) => format!("{}; {h}", e.warning),
            (None, _) => e.warning.clone(),
        };
        put("warning", warning.into());
        put("channels", hop_channels.clone());
        put("hopping", u8::from(hopping).into());
        put("channel", channel.into());
        put("hop_rate", json!(hop_rate));
        put("hop_channels", hop_channels);
        put("hop_split", u8::from(hopping).into());
        put(
            "hop_offset",
            e.hopper.as_ref().map_or(0, |h| h.offset).into(),
        );
        put("hop_shuffle", u8::from(shuffle).into());
        put(
            "hop_shuffle_skip",
            if shuffle { DEFAULT_SHUFFLE_SKIP } else { 0 }.into(),
        );
        put("error", u8::from(e.error.is_some()).into());
        put("error_reason", e.error.clone().unwrap_or_default().into());
        put("num_packets", c.frames.into());
        put("num_error_packets", c.malformed.into());
        put("packets_rrd", e.packets_rrd.render(now));
        put("packets_datasize_rrd", e.bytes_rrd.render(now));
        put("retry", u8::from(e.error.is_some() && !e.closed).into());
        put("retry_attempts", e.retries.into());
        put("total_retry_attempts", e.total_retries.into());
        put("info.antenna_type", "".into());
        put("info.antenna_gain", 0.into());
        put("info.antenna_orientation", 0.into());
        put("info.antenna_beamwidth", 0.into());
        put("info.amp_type", "".into());
        put("info.amp_gain", 0.into());
        put("linktype_override", 0.into());
        put(
            "type_driver",
            types::driver(match e.def.kind {
                Some(Kind::Pcap) => Driver::Pcapfile,
                Some(Kind::Afxdp { .. }) => Driver::Afxdp,
                _ => Driver::Tpacket,
            }),
        );
        let workers: Vec<Value> = e
            .group
            .as_ref()
            .map(|g| {
                let v = g.view();
                v.workers()
                    .iter()
                    .zip(v.counters.iter())
                    .map(|(w, k)| {
                        let mut o = match serde_json::to_value(k.snapshot()) {
                            Ok(Value::Object(o)) => o,
                            _ => Map::new(),
                        };
                        o.insert("ring".into(), w.source.clone().into());
                        o.insert("core".into(), json!(w.core));
                        o.insert("pinned".into(), w.pinned.into());
                        o.insert(
                            "filter_generation".into(),
                            k.generation
                                .load(std::sync::atomic::Ordering::Relaxed)
                                .into(),
                        );
                        Value::Object(o)
                    })
                    .collect()
            })
            .unwrap_or_default();
        m.insert("airsift.datasource.workers".into(), Value::Array(workers));
        m.insert(
            "airsift.datasource.counters".into(),
            serde_json::to_value(c).unwrap_or(Value::Null),
        );
        m.insert("airsift.datasource.closed".into(), e.closed.into());
        Value::Object(m)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drops_beginning_and_stopping_are_noticed_once_each() {
        let mut w = DropWatch::default();
        assert_eq!(w.update(0, 0), None);
        assert_eq!(
            w.update(5, 0),
            Some(DropChange::Began { kernel: 5, sink: 0 })
        );
        assert_eq!(w.update(9, 2), None, "still dropping: no new message");
        assert_eq!(
            w.update(9, 2),
            Some(DropChange::Stopped { kernel: 9, sink: 2 })
        );
        assert_eq!(w.update(9, 2), None);
        assert_eq!(
            w.update(9, 3),
            Some(DropChange::Began { kernel: 0, sink: 1 })
        );
    }
}
