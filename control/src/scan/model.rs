//! The in-memory model: devices, datasources, their indexes, and how a journaled request is
//! applied. One writer (the journal thread) mutates it under a write lock; queries read it.
//!
//! Indexes, kept in step on every change: `by_mac` (MAC → device id, ordered: the default sort
//! and masked-MAC ranges), `by_time` ((last_time, id), ordered: a last-time query visits only
//! the devices it returns).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use super::datasource::Source;
use super::device::{flag, Device};
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
            let id = match self.by_mac.get(&r.mac) {
                Some(&id) => id,
                None => {
                    let id = self.devices.len() as u32;
                    self.devices.push(Device::new(r.mac));
                    self.by_mac.insert(r.mac, id);
                    id
                }
            };
            let channel = r.channel.as_deref().map_or(0, |c| self.channels.intern(c));
            let d = &mut self.devices[id as usize];
            if replay && d.flags & flag::DIRTY == 0 && d.seq >= seq {
                continue;
            }
            let (was_new, old_last) = (d.packets == 0, d.last);
            d.apply(r, channel, src, b.now);
            d.seq = seq;
            if d.flags & flag::DIRTY == 0 {
                d.flags |= flag::DIRTY;
                self.dirty.push(id);
            }
            if was_new || d.last != old_last {
                if !was_new {
                    self.by_time.remove(&(old_last, id));
                }
                self.by_time.insert((d.last, id));
            }
        }
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
        n + self.dirty.capacity() * 4
    }
}
