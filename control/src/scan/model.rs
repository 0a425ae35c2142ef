//! The in-memory model: devices, datasources, their indexes, and how a journaled request is
//! applied. One writer (the journal thread) mutates it under a write lock; queries read it.
//!
//! Indexes, kept in step on every change: `by_mac` (MAC → device id, ordered: the default sort
//! and masked-MAC ranges), `by_time` ((last_time, id), ordered: a last-time query visits only
//! the devices it returns).

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};

use dataplane::track::table::{link, DeltaTable, FREE};

use super::datasource::Source;
use super::device::{flag, Device};
use super::frames::channel_name;
use super::kismet::Uuid;
use super::report::Batch;

/// Interned strings (channel names): id 0 is the empty string.
#[derive(Debug)]
pub struct Interner {
    names: Vec<Box<str>>,
    ids: HashMap<Box<str>, u32>,
}

impl Default for Interner {
    fn default() -> Interner {
        Interner {
            names: vec!["".into()],
            ids: HashMap::new(),
        }
    }
}

impl Interner {
    pub fn intern(&mut self, s: &str) -> u32 {
        if s.is_empty() {
            return 0;
        }
        if let Some(&id) = self.ids.get(s) {
            return id;
        }
        let id = self.names.len() as u32;
        self.names.push(s.into());
        self.ids.insert(s.into(), id);
        id
    }

    pub fn name(&self, id: u32) -> &str {
        self.names.get(id as usize).map_or("", |s| s)
    }
}

#[derive(Debug, Default)]
pub struct State {
    pub devices: Vec<Device>,
    pub by_mac: BTreeMap<u64, u32>,
    pub by_time: BTreeSet<(u32, u32)>,
    /// Index = `number - 1`.
    pub sources: Vec<Source>,
    pub source_ix: HashMap<Uuid, u32>,
    pub channels: Interner,
    /// Ids of devices changed since the last checkpoint began.
    pub dirty: Vec<u32>,
    /// The last journal sequence number applied.
    pub seq: u64,
    /// Ids of evicted records' slots, for reuse (their record is `Device::new(FREE)`).
    pub free: Vec<u32>,
    /// Devices seen once, oldest first, as (id, MAC) (an id whose MAC changed, or a device
    /// seen again since, is skipped when its turn comes): eviction candidates.
    pub once: VecDeque<(u32, u64)>,
    /// Most devices kept; beyond, devices seen once are evicted, least recently seen first.
    pub max_devices: usize,
    /// Devices evicted since start.
    pub evicted: u64,
    /// Devices first learned from captured frames since start (new transmitters and
    /// receivers; a device evicted and seen again counts again).
    pub learned: u64,
    /// MACs evicted since the last checkpoint began: their stored records go with it.
    pub evicted_macs: Vec<u64>,
    /// Device changes from frames since the last checkpoint began.
    pub frame_changes: u64,
    /// Frames about new MACs that found a worker's table full, and SSID observations that
    /// found its list full (tables merged so far).
    pub untracked: u64,
    pub events_dropped: u64,
    /// Interned channel of each frequency (MHz) met so far.
    freq_channel: HashMap<u16, u32>,
}

/// The default device cap: an eighth of the machine's memory at 1 KiB per device, within
/// 100,000 and 10,000,000.
pub fn default_max_devices() -> usize {
    let mem = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .find(|l| l.starts_with("MemTotal:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
        })
        .unwrap_or(4 << 20); // KiB
    ((mem / 8) as usize).clamp(100_000, 10_000_000)
}

impl State {
    /// Applies request `seq`. With `replay`, a record that a checkpoint wrote at or after
    /// `seq` already contains this request and is left alone (records not yet touched by the
    /// replay are the ones loaded from the checkpoint, and they are clean).
    pub fn apply(&mut self, seq: u64, b: &Batch, replay: bool) {
        self.seq = self.seq.max(seq);
        let src = match self.source_ix.get(&b.source) {
            Some(&i) => i,
            None => {
                let i = self.sources.len() as u32;
                self.sources.push(Source::new(b.source, i + 1));
                self.source_ix.insert(b.source, i);
                i
            }
        };
        let s = &mut self.sources[src as usize];
        if !(replay && !s.dirty && s.seq >= seq) {
            s.apply(&b.name, b.reports.len(), b.rejected, b.now);
            s.seq = seq;
            s.dirty = true;
        }
        for r in &b.reports {
            let id = self.id_of(r.mac);
            let channel = r.channel.as_deref().map_or(0, |c| self.channels.intern(c));
            let d = &mut self.devices[id as usize];
            if replay && d.flags & flag::DIRTY == 0 && d.seq >= seq {
                continue;
            }
            let (was_new, old_last) = (d.packets == 0, d.last);
            d.apply(r, channel, src, b.now);
            d.seq = seq;
            let once = d.packets == 1;
            self.reindex(id, was_new, old_last, once);
        }
        self.evict_over_cap();
    }

    /// The id of `mac`'s record, created empty if there is none.
    fn id_of(&mut self, mac: u64) -> u32 {
        if let Some(&id) = self.by_mac.get(&mac) {
            return id;
        }
        let id = match self.free.pop() {
            Some(id) => {
                self.devices[id as usize] = Device::new(mac);
                id
            }
            None => {
                self.devices.push(Device::new(mac));
                (self.devices.len() - 1) as u32
            }
        };
        self.by_mac.insert(mac, id);
        id
    }

    /// Device `id` changed: the next checkpoint writes it.
    fn mark_dirty(&mut self, id: u32) {
        let d = &mut self.devices[id as usize];
        if d.flags & flag::DIRTY == 0 {
            d.flags |= flag::DIRTY;
            self.dirty.push(id);
        }
    }

    /// After device `id` changed: marks it dirty and moves it in the time index.
    fn reindex(&mut self, id: u32, was_new: bool, old_last: u32, once: bool) {
        self.mark_dirty(id);
        let d = &mut self.devices[id as usize];
        if was_new || d.last != old_last {
            if !was_new {
                self.by_time.remove(&(old_last, id));
            }
            self.by_time.insert((d.last, id));
        }
        if was_new && once {
            self.once.push_back((id, d.mac));
        }
    }

    /// Devices stored.
    pub fn device_count(&self) -> usize {
        self.devices.len() - self.free.len()
    }

    /// The model index of capture datasource `uuid`, registered (named `name`) if new.
    pub fn capture_source(&mut self, uuid: Uuid, name: &str) -> u32 {
        if let Some(&i) = self.source_ix.get(&uuid) {
            let s = &mut self.sources[i as usize];
            if &*s.name != name || !s.capture {
                s.name = name.into();
                s.capture = true;
                s.dirty = true;
            }
            return i;
        }
        let i = self.sources.len() as u32;
        let mut s = Source::new(uuid, i + 1);
        s.name = name.into();
        s.capture = true;
        s.dirty = true;
        self.sources.push(s);
        self.source_ix.insert(uuid, i);
        i
    }

    /// Applies one worker's table from the capture datasource at model index `src`: every
    /// device's delta, then the SSIDs, then the AP side of the client relations. `now` is
    /// the server's time.
    pub fn apply_frames(&mut self, t: &DeltaTable, src: u32, now: u32) {
        self.untracked += t.untracked;
        self.events_dropped += t.events_dropped;
        for e in t.entries() {
            let id = self.id_of(e.mac);
            let channel = match e.freq_mhz {
                0 => 0,
                f => match self.freq_channel.get(&f) {
                    Some(&c) => c,
                    None => {
                        let c = self.channels.intern(&channel_name(u32::from(f)));
                        self.freq_channel.insert(f, c);
                        c
                    }
                },
            };
            let d = &mut self.devices[id as usize];
            let (was_new, old_last) = (d.packets == 0, d.last);
            self.learned += u64::from(was_new);
            d.apply_delta(e, channel, src, now);
            let once = d.packets == 1;
            self.reindex(id, was_new, old_last, once);
            self.frame_changes += 1;
        }
        for ev in t.events() {
            let Some(&id) = self.by_mac.get(&ev.mac) else {
                continue;
            };
            let d = &mut self.devices[id as usize];
            d.apply_ssid(ev);
            // An AP seen without a frequency (no radiotap channel) is on its beacon's channel.
            let ds = ev.ds_channel;
            if d.channel == 0 && ds != 0 && ev.kind != dataplane::track::SsidKind::ProbeRequest {
                d.channel = self.channels.intern(&ds.to_string());
            }
        }
        // Relations the entries replaced during the interval (older than the entries' own).
        for r in t.relations() {
            let Some(&id) = self.by_mac.get(&r.station) else {
                continue;
            };
            let d = &mut self.devices[id as usize];
            if r.link == link::INTER_DS {
                d.add_wds(r.peer);
            } else {
                d.relate(r.peer, r.link, r.time, r.time, false);
            }
        }
        // The other side of each relation: an AP's clients, a WDS peer's peers.
        let pairs = t
            .entries()
            .flat_map(|e| {
                [
                    (e.bssid != FREE && e.link != link::NONE).then_some((e.mac, e.bssid, false)),
                    (e.wds != FREE).then_some((e.mac, e.wds, true)),
                ]
            })
            .flatten()
            .chain(
                t.relations()
                    .iter()
                    .map(|r| (r.station, r.peer, r.link == link::INTER_DS)),
            );
        for (station, peer, wds) in pairs {
            if let Some(&p) = self.by_mac.get(&peer) {
                let d = &mut self.devices[p as usize];
                if wds {
                    d.add_wds(station);
                } else {
                    d.add_client(station);
                }
                self.mark_dirty(p);
            }
        }
        self.evict_over_cap();
    }

    /// While there are more than `max_devices` (0: no cap), evicts devices seen once, least
    /// recently seen first; when none is left, the least recently seen device of all.
    fn evict_over_cap(&mut self) {
        if self.max_devices == 0 {
            return;
        }
        while self.device_count() > self.max_devices {
            let id = match self.once.pop_front() {
                Some((id, mac)) => {
                    let d = &self.devices[id as usize];
                    if d.mac != mac || d.packets > 1 {
                        continue;
                    }
                    id
                }
                None => match self.by_time.first() {
                    Some(&(_, id)) => id,
                    None => return,
                },
            };
            self.evict(id);
        }
    }

    fn evict(&mut self, id: u32) {
        let d = std::mem::replace(&mut self.devices[id as usize], Device::new(FREE));
        self.by_mac.remove(&d.mac);
        self.by_time.remove(&(d.last, id));
        if let Some(x) = d.dot11.as_deref() {
            for a in &x.aps {
                if let Some(&ap) = self.by_mac.get(&a.bssid) {
                    self.devices[ap as usize].remove_client(d.mac);
                }
            }
            for &c in &x.clients {
                if let Some(&sta) = self.by_mac.get(&c) {
                    self.devices[sta as usize].forget_ap(d.mac);
                }
            }
            for &w in &x.wds {
                if let Some(&peer) = self.by_mac.get(&w) {
                    self.devices[peer as usize].forget_wds(d.mac);
                }
            }
        }
        self.free.push(id);
        self.evicted += 1;
        self.evicted_macs.push(d.mac);
    }

    /// Adds a device loaded from a checkpoint (clean).
    pub fn load_device(&mut self, mut d: Device) {
        let id = self.devices.len() as u32;
        d.flags &= !flag::DIRTY;
        self.seq = self.seq.max(d.seq);
        self.by_mac.insert(d.mac, id);
        self.by_time.insert((d.last, id));
        self.devices.push(d);
    }

    /// After loading: the eviction queue of devices seen once, oldest first.
    pub fn rebuild_once(&mut self) {
        let mut once: Vec<(u32, u32, u64)> = self
            .devices
            .iter()
            .enumerate()
            .filter(|(_, d)| d.packets == 1 && d.mac != FREE)
            .map(|(i, d)| (d.last, i as u32, d.mac))
            .collect();
        once.sort_unstable();
        self.once = once.into_iter().map(|(_, id, mac)| (id, mac)).collect();
    }

    /// Adds a datasource loaded from a checkpoint (clean); they must come in number order.
    pub fn load_source(&mut self, mut s: Source) -> Result<(), String> {
        if s.number as usize != self.sources.len() + 1 {
            return Err(format!(
                "datasource records out of sequence: number {} after {}",
                s.number,
                self.sources.len()
            ));
        }
        s.dirty = false;
        self.seq = self.seq.max(s.seq);
        self.source_ix.insert(s.uuid, self.sources.len() as u32);
        self.sources.push(s);
        Ok(())
    }

    /// Takes the dirty sets for a checkpoint: device ids and datasource indexes, clearing
    /// their flags (a later change marks them again).
    pub fn take_dirty(&mut self) -> (Vec<u32>, Vec<u32>) {
        self.frame_changes = 0;
        let ids = std::mem::take(&mut self.dirty);
        for &id in &ids {
            self.devices[id as usize].flags &= !flag::DIRTY;
        }
        let mut srcs = Vec::new();
        for (i, s) in self.sources.iter_mut().enumerate() {
            if s.dirty {
                s.dirty = false;
                srcs.push(i as u32);
            }
        }
        (ids, srcs)
    }

    /// Approximate heap and inline bytes of the model (for the memory measurement).
    pub fn approx_bytes(&self) -> usize {
        use std::mem::size_of;
        let mut n = self.devices.capacity() * size_of::<Device>();
        for d in &self.devices {
            n += d.freqs.len() * 8
                + d.seen.len() * size_of::<super::device::SeenBy>()
                + d.ssids.len() * size_of::<super::device::SsidRec>()
                + d.ssids.iter().map(|s| s.ssid.len()).sum::<usize>()
                + d.loc
                    .as_ref()
                    .map_or(0, |_| size_of::<super::device::Location>())
                + d.tags.as_ref().map_or(0, |t| {
                    24 + t.iter().map(|(k, v)| 32 + k.len() + v.len()).sum::<usize>()
                });
        }
        // B-tree nodes hold 11 entries and run about two-thirds full.
        n += self.by_mac.len() * 12 * 3 / 2 + self.by_time.len() * 8 * 3 / 2;
        n += self.once.capacity() * 16 + self.free.capacity() * 4;
        for d in self.devices.iter().filter_map(|d| d.dot11.as_deref()) {
            n += size_of::<super::device::Dot11>()
                + d.probed.capacity() * size_of::<super::device::Probed>()
                + d.probed.iter().map(|p| p.ssid.len()).sum::<usize>()
                + d.aps.capacity() * size_of::<super::device::Assoc>()
                + d.clients.capacity() * 8;
        }
        n + self.dirty.capacity() * 4
    }
}
