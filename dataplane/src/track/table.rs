//! One worker's device deltas for one interval: a fixed-capacity open-addressing table keyed
//! by MAC, and a fixed-capacity list of SSID observations. Both are allocated once; filling
//! them never allocates, and a full table counts what it could not take instead of growing.

use crate::wire::ie::{ElementLayouts, Rsn};

/// No MAC (a MAC has 48 bits): `Entry::bssid` and `Entry::wds` when unrelated.
pub const FREE: u64 = u64::MAX;

/// `Entry::roles` bits: what the device did in this interval.
pub mod role {
    /// Transmitted a beacon or probe response of an infrastructure network, or acted as the
    /// AP of a data frame.
    pub const AP: u8 = 1 << 0;
    /// Beaconed an IBSS, or sent or received data with neither ToDS nor FromDS.
    pub const ADHOC: u8 = 1 << 1;
    /// An end of a 4-address (ToDS and FromDS) data frame.
    pub const WDS: u8 = 1 << 2;
    /// A station in an infrastructure data frame with an AP.
    pub const CLIENT: u8 = 1 << 3;
    /// `Entry::signal` holds values.
    pub const SIGNAL: u8 = 1 << 4;
    /// Sent a probe request.
    pub const PROBER: u8 = 1 << 5;
}

/// How `Entry::bssid` is related to the device (Kismet's `dot11.client.type`).
pub mod link {
    pub const NONE: u8 = 0;
    /// The AP sent to this station (FromDS).
    pub const FROM_DS: u8 = 1;
    /// This station sent to the AP (ToDS).
    pub const TO_DS: u8 = 2;
    /// A 4-address link between two distribution-system stations.
    pub const INTER_DS: u8 = 3;
}

/// What one MAC did in one interval, as seen by one worker. One cache line: the filter
/// table's lookups evict the delta table between a device's frames, so every line an entry
/// spans is a miss on the frame path.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(C, align(64))]
pub struct Entry {
    pub mac: u64,
    /// The AP of the newest infrastructure data frame that related this device to one
    /// ([`FREE`] when none); `link` says how. Earlier, other APs of the interval are in the
    /// table's relations.
    pub bssid: u64,
    /// The peer of the newest 4-address (WDS) data frame it sent ([`FREE`] when none).
    pub wds: u64,
    /// Bytes of the data frames it sent or received (802.11 frame, FCS excluded; an interval
    /// is 250 ms, so 4 GiB cannot be reached).
    pub datasize: u32,
    /// Seconds since the epoch of the first and newest frame.
    pub first: u32,
    pub last: u32,
    /// Frames sent, received, data frames, protected data frames. Frame counts add without
    /// a saturation check: a table holds one interval (250 ms, handed over sooner when
    /// nearly full), and 2^32 frames about one device would take the control plane failing
    /// to take tables for most of an hour at a million frames a second.
    pub tx: u32,
    pub rx: u32,
    pub data: u32,
    pub crypt: u32,
    /// Management frames it sent whose elements were malformed.
    pub errors: u32,
    /// Frequency of the newest frame it sent (MHz; 0: unknown).
    pub freq_mhz: u16,
    /// Signal of the frames it sent: newest, min, max (valid with [`role::SIGNAL`]; until then
    /// min and max hold `i8::MAX` and `i8::MIN`).
    pub signal: [i8; 3],
    pub roles: u8,
    pub link: u8,
    /// Next slot of this entry's ring in `DeltaTable::seen_ssids`.
    seen_next: u8,
}

const _: () = assert!(std::mem::size_of::<Entry>() == 64);

impl Entry {
    pub fn new(mac: u64, time: u32) -> Entry {
        Entry {
            mac,
            bssid: FREE,
            wds: FREE,
            datasize: 0,
            first: time,
            last: time,
            tx: 0,
            rx: 0,
            data: 0,
            crypt: 0,
            errors: 0,
            freq_mhz: 0,
            // Min and max start at the extremes, so the first signal needs no branch.
            signal: [0, i8::MAX, i8::MIN],
            roles: 0,
            link: link::NONE,
            seen_next: 0,
        }
    }

    /// Counts a data frame it sent or received: `len` bytes on the air, `crypt` if protected.
    #[inline]
    pub fn count_data(&mut self, crypt: bool, len: u32) {
        self.data = self.data.wrapping_add(1);
        self.crypt = self.crypt.wrapping_add(crypt as u32);
        self.datasize = self.datasize.saturating_add(len);
    }

    /// Records a signal of a frame this device sent.
    #[inline]
    pub fn signal(&mut self, s: i8) {
        self.signal = [s, self.signal[1].min(s), self.signal[2].max(s)];
        self.roles |= role::SIGNAL;
    }
}

/// A station related to an AP (or a WDS peer) by a data frame: recorded when the relation
/// differs from the one the station's entry holds, so every AP a station talked to in an
/// interval reaches the store, not only the newest.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Relation {
    pub station: u64,
    pub peer: u64,
    /// [`link`]: FROM_DS / TO_DS (peer is the AP) or INTER_DS (peer is the WDS peer).
    pub link: u8,
    pub time: u32,
}

/// Which frame an SSID came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SsidKind {
    Beacon,
    ProbeResponse,
    ProbeRequest,
}

/// The longest SSID kept (802.11 allows 32 bytes; longer elements are cut).
pub const SSID_MAX: usize = 32;

/// One SSID a device advertised or probed for, with what the frame said about it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SsidEvent {
    pub mac: u64,
    pub time: u32,
    pub kind: SsidKind,
    ssid_len: u8,
    ssid: [u8; SSID_MAX],
    /// DS Parameter Set channel (0: absent).
    pub ds_channel: u8,
    /// The frame's frequency (MHz; 0: unknown).
    pub freq_mhz: u16,
    /// Capability field (beacons and probe responses; 0 otherwise).
    pub capability: u16,
    pub beacon_interval: u16,
    pub rsn: Option<Rsn>,
    pub wpa: Option<Rsn>,
}

impl SsidEvent {
    #[allow(clippy::too_many_arguments)]
    pub fn new(mac: u64, time: u32, kind: SsidKind, ssid: &[u8]) -> SsidEvent {
        let n = ssid.len().min(SSID_MAX);
        let mut buf = [0u8; SSID_MAX];
        buf[..n].copy_from_slice(&ssid[..n]);
        SsidEvent {
            mac,
            time,
            kind,
            ssid_len: n as u8,
            ssid: buf,
            ds_channel: 0,
            freq_mhz: 0,
            capability: 0,
            beacon_interval: 0,
            rsn: None,
            wpa: None,
        }
    }

    pub fn ssid(&self) -> &[u8] {
        &self.ssid[..self.ssid_len as usize]
    }
}

/// The per-interval de-duplication key of a (kind, SSID): the SSID (cut at [`SSID_MAX`]) read
/// as little-endian words, each folded in with one multiply, its length and the kind in the
/// seed. Four multiplies at most where a byte-wise hash takes 32 in a dependent chain: this
/// runs for every beacon. A tail shorter than a word is read with fixed-size loads that may
/// overlap bytes already read (the length is in the seed, so this stays a function of the
/// SSID), never with a copy of variable length, which would be a call to `memcpy`. Two SSIDs
/// of one device colliding would drop the second's observation for the interval; at 32 bits
/// and a handful of SSIDs per device that is negligible.
#[inline]
pub fn ssid_hash(kind: SsidKind, ssid: &[u8]) -> u32 {
    const K: u64 = 0x9E37_79B9_7F4A_7C15;
    let s = &ssid[..ssid.len().min(SSID_MAX)];
    let n = s.len();
    let word = |at: usize| u64::from_le_bytes(s[at..at + 8].try_into().expect("8 bytes"));
    let half = |at: usize| u64::from(u32::from_le_bytes(s[at..at + 4].try_into().expect("4")));
    let mix = |h: u64, w: u64| (h ^ w).wrapping_mul(K).rotate_left(29);
    let mut h = (n as u64) << 8 | kind as u64;
    let mut at = 0;
    while at + 8 <= n {
        h = mix(h, word(at));
        at += 8;
    }
    if at < n {
        let tail = match n {
            8.. => word(n - 8),
            4..=7 => half(0) | half(n - 4) << 32,
            _ => u64::from(s[0]) | u64::from(s[n / 2]) << 8 | u64::from(s[n - 1]) << 16,
        };
        h = mix(h, tail);
    }
    h = h.wrapping_mul(K);
    ((h >> 32) as u32) | 1 // never 0, the empty ring slot
}

/// Sizes of one table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TableSize {
    /// Distinct MACs one interval can hold (the slots are a power of two, 4/3 of this).
    pub devices: usize,
    /// SSID observations one interval can hold.
    pub events: usize,
}

impl Default for TableSize {
    fn default() -> TableSize {
        TableSize {
            devices: 16_384,
            events: 2_048,
        }
    }
}

/// See the module doc.
#[derive(Debug)]
pub struct DeltaTable {
    /// The capture source the frames came from.
    pub source: u32,
    /// Open addressing over the MACs: per slot, 1 + the number of the entry whose MAC sits
    /// there (0: free). Four bytes a slot, so the probes of a few hundred busy MACs touch a
    /// few dozen pages, not one page each (the filter table's lookups compete for the TLB).
    index: Box<[u32]>,
    shift: u32,
    /// Index slots in use, to clear them.
    taken: Vec<u32>,
    /// The entries, dense, in the order their MACs first appeared; the capacity is the device
    /// limit and is never exceeded.
    entries: Vec<Entry>,
    /// Per entry: hashes of the SSID observations already queued for its device this interval
    /// (a ring of four, `Entry::seen_next`); apart from the entries, so the frames that carry
    /// no SSID never touch it.
    seen_ssids: Vec<[u32; 4]>,
    events: Vec<SsidEvent>,
    relations: Vec<Relation>,
    /// Frames about a new MAC that found the table full.
    pub untracked: u64,
    /// SSID observations and relations that found their list full.
    pub events_dropped: u64,
    /// The element layouts of recent senders' management frames; kept across intervals (a
    /// memo: it never changes a result).
    pub layouts: ElementLayouts,
}

impl DeltaTable {
    pub fn new(source: u32, size: TableSize) -> DeltaTable {
        let devices = size.devices.max(1);
        let slots = (devices * 4 / 3).next_power_of_two();
        DeltaTable {
            source,
            index: vec![0; slots].into_boxed_slice(),
            shift: 64 - slots.trailing_zeros(),
            taken: Vec::with_capacity(devices),
            entries: Vec::with_capacity(devices),
            seen_ssids: Vec::with_capacity(devices),
            events: Vec::with_capacity(size.events.max(1)),
            relations: Vec::with_capacity(size.events.max(1)),
            untracked: 0,
            events_dropped: 0,
            layouts: ElementLayouts::default(),
        }
    }

    /// The entry of `mac`, created at `time` if new; `None` (counted) when the table is full.
    #[inline]
    pub fn entry(&mut self, mac: u64, time: u32) -> Option<&mut Entry> {
        let i = self.slot(mac, time)?;
        Some(&mut self.entries[i])
    }

    /// The number of `mac`'s entry, created at `time` if new (its `last` raised to `time`);
    /// `None` (counted) when the table is full. The per-frame rule looks a MAC up once and
    /// works on the entry's number from then on.
    #[inline(always)]
    pub fn slot(&mut self, mac: u64, time: u32) -> Option<usize> {
        let mask = self.index.len() - 1;
        let mut i = (mac.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> self.shift) as usize;
        loop {
            let n = self.index[i] as usize;
            if n == 0 {
                return self.insert(i, mac, time);
            }
            let e = &mut self.entries[n - 1];
            if e.mac == mac {
                e.last = e.last.max(time);
                return Some(n - 1);
            }
            i = (i + 1) & mask;
        }
    }

    /// A new entry for `mac` in the free index slot `i` (out of line: a MAC is new once an
    /// interval, and the frame path keeps only the lookup inline).
    #[cold]
    #[inline(never)]
    fn insert(&mut self, i: usize, mac: u64, time: u32) -> Option<usize> {
        let k = self.entries.len();
        if k == self.entries.capacity() {
            self.untracked += 1;
            return None;
        }
        self.entries.push(Entry::new(mac, time));
        self.seen_ssids.push([0; 4]);
        self.taken.push(i as u32);
        self.index[i] = k as u32 + 1;
        Some(k)
    }

    /// Entry number `i` (from [`DeltaTable::slot`]).
    #[inline]
    pub fn at(&mut self, i: usize) -> &mut Entry {
        &mut self.entries[i]
    }

    /// The number of `mac`'s entry if the table holds it.
    #[inline]
    fn find(&self, mac: u64) -> Option<usize> {
        let mask = self.index.len() - 1;
        let mut i = (mac.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> self.shift) as usize;
        loop {
            match self.index[i] as usize {
                0 => return None,
                n if self.entries[n - 1].mac == mac => return Some(n - 1),
                _ => i = (i + 1) & mask,
            }
        }
    }

    /// The entry of `mac` if the table holds one (nothing is created or counted).
    #[inline]
    pub fn get_mut(&mut self, mac: u64) -> Option<&mut Entry> {
        let i = self.find(mac)?;
        Some(&mut self.entries[i])
    }

    /// Queues an SSID observation for `mac`'s device (which must have an entry: one that the
    /// full table could not take learns nothing more) unless the same (kind, SSID) was
    /// already queued for it this interval. `build` runs only when it is queued.
    #[inline]
    pub fn ssid_event(
        &mut self,
        mac: u64,
        kind: SsidKind,
        ssid: &[u8],
        time: u32,
        build: impl FnOnce(&mut SsidEvent),
    ) {
        if let Some(i) = self.find(mac) {
            self.ssid_event_at(i, kind, ssid, time, build);
        }
    }

    /// [`DeltaTable::ssid_event`] for the device in slot `i`.
    #[inline]
    pub fn ssid_event_at(
        &mut self,
        i: usize,
        kind: SsidKind,
        ssid: &[u8],
        time: u32,
        build: impl FnOnce(&mut SsidEvent),
    ) {
        let h = ssid_hash(kind, ssid);
        let seen = &mut self.seen_ssids[i];
        if seen.contains(&h) {
            return;
        }
        let e = &mut self.entries[i];
        seen[e.seen_next as usize % 4] = h;
        e.seen_next = e.seen_next.wrapping_add(1);
        if self.events.len() == self.events.capacity() {
            self.events_dropped += 1;
            return;
        }
        let mut ev = SsidEvent::new(e.mac, time, kind, ssid);
        build(&mut ev);
        self.events.push(ev);
    }

    /// Relates `station` to `peer` by `link` (see [`Entry::bssid`] and [`Entry::wds`]):
    /// nothing when the station's entry already holds this relation, else the one it held is
    /// recorded in the relations list (dropped and counted when full) and the new one kept.
    #[inline]
    pub fn relate(&mut self, station: u64, peer: u64, kind: u8, time: u32) {
        if let Some(i) = self.find(station) {
            self.relate_at(i, peer, kind, time);
        }
    }

    /// [`DeltaTable::relate`] for the station in slot `i`.
    #[inline]
    pub fn relate_at(&mut self, i: usize, peer: u64, kind: u8, time: u32) {
        let e = &mut self.entries[i];
        let held = if kind == link::INTER_DS {
            &mut e.wds
        } else {
            &mut e.bssid
        };
        if *held == peer && (kind == link::INTER_DS || e.link == kind) {
            return;
        }
        let old = std::mem::replace(held, peer);
        let old_link = if kind == link::INTER_DS {
            link::INTER_DS
        } else {
            std::mem::replace(&mut e.link, kind)
        };
        if old == FREE {
            return;
        }
        if self.relations.len() == self.relations.capacity() {
            self.events_dropped += 1;
            return;
        }
        self.relations.push(Relation {
            station: e.mac,
            peer: old,
            link: old_link,
            time,
        });
    }

    /// Relations replaced during the interval, oldest first (the entries hold the newest).
    pub fn relations(&self) -> &[Relation] {
        &self.relations
    }

    /// Distinct MACs held.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty() && self.events.is_empty() && self.relations.is_empty()
    }

    /// Past three quarters of either capacity: time to hand it over early.
    #[inline]
    pub fn nearly_full(&self) -> bool {
        self.entries.len() * 4 >= self.entries.capacity() * 3
            || self.events.len() * 4 >= self.events.capacity() * 3
    }

    /// The entries, in the order their MACs first appeared.
    pub fn entries(&self) -> impl Iterator<Item = &Entry> + '_ {
        self.entries.iter()
    }

    pub fn events(&self) -> &[SsidEvent] {
        &self.events
    }

    /// Empties the table for reuse (only the used slots are touched); keeps `source`.
    pub fn clear(&mut self) {
        for &i in &self.taken {
            self.index[i as usize] = 0;
        }
        self.taken.clear();
        self.entries.clear();
        self.seen_ssids.clear();
        self.events.clear();
        self.relations.clear();
        self.untracked = 0;
        self.events_dropped = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_are_found_again_and_the_table_never_grows() {
        let mut t = DeltaTable::new(
            1,
            TableSize {
                devices: 100,
                events: 2,
            },
        );
        for m in 0..100u64 {
            t.entry(m * 7919, 10).unwrap().tx += 1;
        }
        for m in 0..100u64 {
            t.entry(m * 7919, 12).unwrap().tx += 1;
        }
        assert_eq!(t.len(), 100);
        assert!(t
            .entries()
            .all(|e| e.tx == 2 && e.first == 10 && e.last == 12));
        assert!(t.entry(1, 13).is_none(), "full: the new MAC is not taken");
        assert_eq!(t.untracked, 1);
        assert!(t.entry(7919, 13).is_some(), "a known MAC still is");
        t.clear();
        assert!(t.is_empty());
        assert_eq!(t.entries().count(), 0);
        assert_eq!(t.entry(5, 1).unwrap().tx, 0);
    }

    #[test]
    fn every_relation_of_an_interval_is_kept() {
        let mut t = DeltaTable::new(1, TableSize::default());
        t.entry(1, 5);
        for ap in [10, 10, 11, 11, 10] {
            t.relate(1, ap, link::TO_DS, 5);
        }
        t.relate(1, 20, link::INTER_DS, 6);
        t.relate(1, 20, link::INTER_DS, 6);
        t.relate(1, 10, link::FROM_DS, 7);
        let e = *t.get_mut(1).unwrap();
        assert_eq!((e.bssid, e.link, e.wds), (10, link::FROM_DS, 20));
        let r: Vec<(u64, u8)> = t.relations().iter().map(|r| (r.peer, r.link)).collect();
        assert_eq!(
            r,
            [(10, link::TO_DS), (11, link::TO_DS), (10, link::TO_DS)],
            "each replaced relation, in order; the WDS peer is apart"
        );
        t.clear();
        assert!(t.relations().is_empty());
    }

    #[test]
    fn one_ssid_event_per_device_and_ssid_per_interval() {
        let mut t = DeltaTable::new(
            1,
            TableSize {
                devices: 16,
                events: 3,
            },
        );
        let mut built = 0;
        for m in 1..=3 {
            t.entry(m, 5);
        }
        t.ssid_event(9, SsidKind::Beacon, b"no entry", 5, |_| built += 1);
        for _ in 0..5 {
            t.ssid_event(1, SsidKind::Beacon, b"net", 5, |_| built += 1);
        }
        t.ssid_event(1, SsidKind::ProbeResponse, b"net", 5, |_| built += 1);
        t.ssid_event(2, SsidKind::Beacon, b"net", 5, |_| built += 1);
        t.ssid_event(3, SsidKind::Beacon, b"other", 5, |_| built += 1);
        assert_eq!(built, 3);
        assert_eq!(t.events().len(), 3);
        assert_eq!(t.events_dropped, 1);
        assert_eq!(t.events()[0].ssid(), b"net");
        let long = [b'x'; 40];
        t.clear();
        t.entry(4, 5);
        t.ssid_event(4, SsidKind::ProbeRequest, &long, 5, |_| {});
        assert_eq!(t.events()[0].ssid().len(), SSID_MAX);
    }
}
