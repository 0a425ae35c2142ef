//! The in-memory access-point record, kept compact (no JSON, numbers packed, the channel
//! interned, optional parts boxed), and how one report updates it.
//!
//! "Last" values (channel, frequency, last signal, last location, the crypt of an SSID, the
//! device type) follow the newest report by timestamp: a cached report that arrives late
//! updates counts, first times, minimums, maximums and averages but never a "last" value, and
//! never moves `last_time` backwards.

use super::crypt::{extra, Crypt};
use super::report::{Fix, Report, Tag};

/// `Device::flags`.
pub mod flag {
    /// A signal was reported (`signal` holds last, min, max).
    pub const SIGNAL: u8 = 1 << 0;
    /// A report without `[IBSS]`: an access point (Kismet's basic type AP).
    pub const AP: u8 = 1 << 1;
    /// A report with `[IBSS]` (Kismet's basic type peer, dot11 type ad-hoc).
    pub const PEER: u8 = 1 << 2;
    /// The newest report with capabilities said `[IBSS]`: type "Wi-Fi Ad-Hoc".
    pub const ADHOC_LAST: u8 = 1 << 3;
    /// Changed since the last checkpoint; its id is in the dirty list.
    pub const DIRTY: u8 = 1 << 4;
    /// Flags that are state (persisted); DIRTY is bookkeeping.
    pub const PERSISTED: u8 = SIGNAL | AP | PEER | ADHOC_LAST;
}

/// How many SSIDs one BSSID keeps; beyond, the least recently seen is replaced.
pub const MAX_SSIDS: usize = 8;
/// How many distinct frequencies one BSSID counts; beyond, new ones are not counted.
pub const MAX_FREQS: usize = 16;
/// `Device::last_ssid` when there is no SSID record.
pub const NO_SSID: u8 = u8::MAX;

/// One advertised SSID of a BSSID (`dot11.advertisedssid.*`).
#[derive(Clone, Debug, PartialEq)]
pub struct SsidRec {
    /// As reported (raw); escaped when rendered. Empty: cloaked.
    pub ssid: Box<str>,
    pub crypt: Crypt,
    pub first: u32,
    pub last: u32,
    /// Kismet's `ietag_checksum` of the newest report.
    pub ietag: u32,
    /// Channel number of the newest beacon or probe response (0: none).
    pub channel: u16,
    /// Beacon interval in TU from the newest beacon or probe response (0: unknown).
    pub interval: u16,
    /// Where it was seen ([`ssid_kind`] bits).
    pub kinds: u8,
}

/// `SsidRec::kinds` bits.
pub mod ssid_kind {
    pub const BEACON: u8 = 1 << 0;
    pub const PROBE_RESPONSE: u8 = 1 << 1;
}

/// Seen-by record of one datasource (`kismet.common.seenby.*`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SeenBy {
    /// Index of the datasource in the model.
    pub source: u32,
    pub count: u32,
    pub first: u32,
    pub last: u32,
    /// Newest, min, max signal this source saw (dBm; valid when `has_signal`).
    pub signal: [i8; 3],
    pub has_signal: bool,
}

/// A point with its fix (2 or 3) and time.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Point {
    pub lat: f64,
    pub lon: f64,
    pub alt: f64,
    pub fix: u8,
    pub time: u32,
}

/// Location history (`kismet.common.location.*`); only reports with a fix count.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Location {
    pub last: Point,
    pub last_speed: f64,
    /// Sums for the average: every fix for lat/lon, 3D fixes for altitude.
    pub sum_lat: f64,
    pub sum_lon: f64,
    pub sum_alt: f64,
    pub n: u32,
    pub n_alt: u32,
    /// Bounding box; altitude bounds only over 3D fixes.
    pub min: [f64; 3],
    pub max: [f64; 3],
    /// Where the strongest signal was reported (when a report had both).
    pub peak: Option<(Point, i16)>,
}

/// One access point, ~120 bytes plus its boxes.
#[derive(Clone, Debug, PartialEq)]
pub struct Device {
    /// Packed big-endian in the low 48 bits.
    pub mac: u64,
    /// Journal sequence number of the last request that changed this record.
    pub seq: u64,
    pub first: u32,
    pub last: u32,
    /// Server time of the last change (`kismet.device.base.mod_time`).
    pub modified: u32,
    pub packets: u32,
    /// Interned channel name; 0 = none.
    pub channel: u32,
    /// kHz; 0 = none.
    pub freq: u32,
    /// Last, min, max dBm (valid with [`flag::SIGNAL`]).
    pub signal: [i16; 3],
    pub flags: u8,
    /// Index in `ssids` of the newest SSID record, or [`NO_SSID`].
    pub last_ssid: u8,
    /// (kHz, reports), sorted by frequency.
    pub freqs: Box<[(u32, u32)]>,
    pub ssids: Box<[SsidRec]>,
    pub seen: Box<[SeenBy]>,
    pub loc: Option<Box<Location>>,
    /// Sorted by key.
    #[allow(clippy::box_collection)] // 8 bytes inline instead of 24: most devices have none
    pub tags: Option<Box<Vec<Tag>>>,
    /// Frames it received (of `packets`; the rest it sent or a phone reported).
    pub rx: u32,
    /// Data frames it sent or received, and of those the encrypted ones.
    pub data: u32,
    pub crypt: u32,
    /// Frames it sent whose elements were malformed.
    pub errors: u32,
    /// Bytes of its data frames.
    pub datasize: u64,
    /// What the capture saw it do (`dataplane::track::table::role` bits).
    pub roles: u8,
    /// Probed SSIDs and AP-client relations; most devices have none.
    pub dot11: Option<Box<Dot11>>,
}

/// The 802.11 relations of a device learned from frames.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Dot11 {
    /// SSIDs it probed for (at most [`MAX_PROBED`]; beyond, the least recently seen goes).
    pub probed: Vec<Probed>,
    /// The APs it was a client of (`dot11.device.client_map`, at most [`MAX_APS`]).
    pub aps: Vec<Assoc>,
    /// As an AP: its clients' MACs, sorted (`dot11.device.associated_client_map`, at most
    /// [`MAX_CLIENTS`]).
    pub clients: Vec<u64>,
    /// The AP of its newest data frame with one (0: none).
    pub last_bssid: u64,
    /// Its 4-address (WDS) peers, sorted (at most [`MAX_APS`]).
    pub wds: Vec<u64>,
}

/// One probed SSID (`dot11.probedssid.*`).
#[derive(Clone, Debug, PartialEq)]
pub struct Probed {
    pub ssid: Box<str>,
    pub first: u32,
    pub last: u32,
    pub count: u32,
}

/// One AP a station was a client of (`dot11.client.*`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Assoc {
    pub bssid: u64,
    pub first: u32,
    pub last: u32,
    /// `dataplane::track::table::link` of the newest frame.
    pub link: u8,
}

pub const MAX_PROBED: usize = 16;
pub const MAX_APS: usize = 16;
pub const MAX_CLIENTS: usize = 4096;

impl Device {
    pub fn new(mac: u64) -> Device {
        Device {
            mac,
            seq: 0,
            first: 0,
            last: 0,
            modified: 0,
            packets: 0,
            channel: 0,
            freq: 0,
            signal: [0; 3],
            flags: 0,
            last_ssid: NO_SSID,
            freqs: Box::default(),
            ssids: Box::default(),
            seen: Box::default(),
            loc: None,
            tags: None,
            rx: 0,
            data: 0,
            crypt: 0,
            errors: 0,
            datasize: 0,
            roles: 0,
            dot11: None,
        }
    }

    /// The newest SSID record.
    pub fn last_ssid(&self) -> Option<&SsidRec> {
        self.ssids.get(self.last_ssid as usize)
    }

    /// Applies one report. `channel` is the report's channel already interned (0: none);
    /// `source` the datasource index; `now` the request's arrival time.
    pub fn apply(&mut self, r: &Report, channel: u32, source: u32, now: u32) {
        let t = r.time;
        let latest = self.packets == 0 || t >= self.last;
        if self.packets == 0 {
            self.first = t;
            self.last = t;
        } else {
            self.first = self.first.min(t);
            self.last = self.last.max(t);
        }
        self.modified = now;
        self.packets = self.packets.saturating_add(1);
        if latest {
            if channel != 0 {
                self.channel = channel;
            }
            if let Some(f) = r.freq_khz {
                self.freq = f;
            }
        }
        if let Some(f) = r.freq_khz {
            self.count_freq(f, 1);
        }
        if let Some(s) = r.signal {
            if self.flags & flag::SIGNAL == 0 {
                self.signal = [s; 3];
                self.flags |= flag::SIGNAL;
            } else {
                if latest {
                    self.signal[0] = s;
                }
                self.signal[1] = self.signal[1].min(s);
                self.signal[2] = self.signal[2].max(s);
            }
        }
        if let Some(fix) = r.fix {
            self.loc
                .get_or_insert_with(Box::default)
                .add(&fix, t, r.signal);
        }
        match r.crypt {
            Some((c, _)) if c.extra & extra::IBSS != 0 => {
                self.flags |= flag::PEER;
                if latest {
                    self.flags |= flag::ADHOC_LAST;
                }
            }
            Some(_) => {
                self.flags |= flag::AP;
                if latest {
                    self.flags &= !flag::ADHOC_LAST;
                }
            }
            None => self.flags |= flag::AP,
        }
        if r.ssid.is_some() || r.crypt.is_some() {
            self.ssid(r);
        }
        for (k, v) in &r.tags {
            self.tag(k, v);
        }
        self.see(source, t, t, 1, None);
    }

    /// Counts `n` observations on frequency `f` (kHz).
    pub(super) fn count_freq(&mut self, f: u32, n: u32) {
        match self.freqs.binary_search_by_key(&f, |e| e.0) {
            Ok(i) => self.freqs[i].1 = self.freqs[i].1.saturating_add(n),
            Err(i) if self.freqs.len() < MAX_FREQS => {
                let mut v = std::mem::take(&mut self.freqs).into_vec();
                v.insert(i, (f, n));
                self.freqs = v.into_boxed_slice();
            }
            Err(_) => {}
        }
    }

    fn ssid(&mut self, r: &Report) {
        let t = r.time;
        let name = r.ssid.as_deref().unwrap_or("");
        let idx = match self.ssids.iter().position(|s| &*s.ssid == name) {
            Some(i) => {
                let s = &mut self.ssids[i];
                s.first = s.first.min(t);
                if t >= s.last {
                    s.last = t;
                    if let Some((c, ie)) = r.crypt {
                        s.crypt = c;
                        s.ietag = ie;
                    }
                } else if let Some((c, ie)) = r.crypt {
                    if !s.crypt.known() {
                        s.crypt = c;
                        s.ietag = ie;
                    }
                }
                i
            }
            None => {
                let (crypt, ietag) = r.crypt.unwrap_or_default();
                self.insert_ssid(SsidRec {
                    ssid: name.into(),
                    crypt,
                    first: t,
                    last: t,
                    ietag,
                    channel: 0,
                    interval: 0,
                    kinds: 0,
                })
            }
        };
        self.note_last_ssid(idx, t);
    }

    /// Adds an SSID record; beyond [`MAX_SSIDS`] it replaces the least recently seen (never
    /// the newest one). Returns its index.
    pub(super) fn insert_ssid(&mut self, rec: SsidRec) -> usize {
        if self.ssids.len() < MAX_SSIDS {
            let mut v = std::mem::take(&mut self.ssids).into_vec();
            v.push(rec);
            self.ssids = v.into_boxed_slice();
            return self.ssids.len() - 1;
        }
        let (i, _) = self
            .ssids
            .iter()
            .enumerate()
            .min_by_key(|(_, s)| s.last)
            .expect("MAX_SSIDS > 0");
        self.ssids[i] = rec;
        if self.last_ssid as usize == i {
            self.last_ssid = NO_SSID;
            self.recompute_last_ssid();
        }
        i
    }

    /// Makes SSID record `idx`, seen at `t`, the newest one unless a newer one exists.
    pub(super) fn note_last_ssid(&mut self, idx: usize, t: u32) {
        match self.last_ssid() {
            Some(cur) if t < cur.last => {}
            _ => self.last_ssid = idx as u8,
        }
    }

    fn recompute_last_ssid(&mut self) {
        self.last_ssid = self
            .ssids
            .iter()
            .enumerate()
            .max_by_key(|(_, s)| s.last)
            .map_or(NO_SSID, |(i, _)| i as u8);
    }

    fn tag(&mut self, k: &str, v: &str) {
        let tags = self.tags.get_or_insert_with(Box::default);
        match tags.binary_search_by(|e| (*e.0).cmp(k)) {
            Ok(i) if v.is_empty() => {
                tags.remove(i);
            }
            Ok(i) => tags[i].1 = v.into(),
            Err(_) if v.is_empty() => {}
            Err(i) => tags.insert(i, (k.into(), v.into())),
        }
        if tags.is_empty() {
            self.tags = None;
        }
    }

    /// Counts `n` observations by datasource `source` between `first` and `last`, with the
    /// signal (newest, min, max) they had, if any.
    pub(super) fn see(&mut self, source: u32, first: u32, last: u32, n: u32, sig: Option<[i8; 3]>) {
        let s = match self.seen.iter().position(|s| s.source == source) {
            Some(i) => {
                let s = &mut self.seen[i];
                s.count = s.count.saturating_add(n);
                s.first = s.first.min(first);
                s.last = s.last.max(last);
                s
            }
            None => {
                let mut v = std::mem::take(&mut self.seen).into_vec();
                v.push(SeenBy {
                    source,
                    count: n,
                    first,
                    last,
                    signal: [0; 3],
                    has_signal: false,
                });
                self.seen = v.into_boxed_slice();
                self.seen.last_mut().expect("just pushed")
            }
        };
        if let Some([newest, min, max]) = sig {
            if s.has_signal {
                s.signal = [newest, s.signal[1].min(min), s.signal[2].max(max)];
            } else {
                s.signal = [newest, min, max];
                s.has_signal = true;
            }
        }
    }
}

impl Location {
    fn add(&mut self, f: &Fix, t: u32, signal: Option<i16>) {
        let fix = if f.alt.is_some() { 3 } else { 2 };
        let p = Point {
            lat: f.lat,
            lon: f.lon,
            alt: f.alt.unwrap_or(0.0),
            fix,
            time: t,
        };
        if self.n == 0 {
            self.min = [f.lat, f.lon, 0.0];
            self.max = [f.lat, f.lon, 0.0];
        } else {
            self.min[0] = self.min[0].min(f.lat);
            self.min[1] = self.min[1].min(f.lon);
            self.max[0] = self.max[0].max(f.lat);
            self.max[1] = self.max[1].max(f.lon);
        }
        if let Some(a) = f.alt {
            if self.n_alt == 0 {
                self.min[2] = a;
                self.max[2] = a;
            } else {
                self.min[2] = self.min[2].min(a);
                self.max[2] = self.max[2].max(a);
            }
            self.sum_alt += a;
            self.n_alt += 1;
        }
        if self.n == 0 || t >= self.last.time {
            self.last = p;
            self.last_speed = f.speed.unwrap_or(0.0);
        }
        self.sum_lat += f.lat;
        self.sum_lon += f.lon;
        self.n += 1;
        if let Some(s) = signal {
            match self.peak {
                Some((_, best)) if s < best => {}
                _ => self.peak = Some((p, s)),
            }
        }
    }

    /// The best fix seen: 3 once any report had an altitude.
    pub fn fix(&self) -> u8 {
        if self.n_alt > 0 {
            3
        } else {
            2
        }
    }

    /// The average position (lat, lon, alt); altitude averages 3D fixes only.
    pub fn average(&self) -> (f64, f64, f64) {
        let n = self.n.max(1) as f64;
        let alt = if self.n_alt > 0 {
            self.sum_alt / self.n_alt as f64
        } else {
            0.0
        };
        (self.sum_lat / n, self.sum_lon / n, alt)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scan::crypt;

    fn rep(t: u32) -> Report {
        Report {
            mac: 1,
            time: t,
            ssid: None,
            crypt: None,
            channel: None,
            freq_khz: None,
            signal: None,
            fix: None,
            tags: Vec::new(),
        }
    }

    #[test]
    fn late_reports_never_move_last_back_but_move_first() {
        let mut d = Device::new(1);
        let mut r = rep(100);
        r.signal = Some(-50);
        r.freq_khz = Some(2_437_000);
        d.apply(&r, 7, 0, 1000);
        let mut late = rep(50);
        late.signal = Some(-30);
        late.freq_khz = Some(2_412_000);
        d.apply(&late, 9, 0, 1001);
        assert_eq!((d.first, d.last), (50, 100));
        assert_eq!(d.channel, 7, "a late report does not change the channel");
        assert_eq!(d.freq, 2_437_000);
        assert_eq!(d.signal, [-50, -50, -30], "last stays, max moves");
        assert_eq!(&*d.freqs, &[(2_412_000, 1), (2_437_000, 1)]);
        assert_eq!(d.seen[0].first, 50);
        assert_eq!(d.seen[0].last, 100);
        assert_eq!(d.seen[0].count, 2);
        assert_eq!(d.modified, 1001);
        let mut newer = rep(100);
        newer.signal = Some(-70);
        d.apply(&newer, 0, 1, 1002);
        assert_eq!(d.signal, [-70, -70, -30], "same second: newer arrival wins");
        assert_eq!(d.channel, 7, "no channel in the report: kept");
        assert_eq!(d.seen.len(), 2);
        assert_eq!(d.packets, 3);
    }

    #[test]
    fn signal_min_max() {
        let mut d = Device::new(1);
        for (t, s) in [(1, -60), (2, -40), (3, -80), (4, -55)] {
            let mut r = rep(t);
            r.signal = Some(s);
            d.apply(&r, 0, 0, 0);
        }
        assert_eq!(d.signal, [-55, -80, -40]);
        d.apply(&rep(5), 0, 0, 0);
        assert_eq!(
            d.signal,
            [-55, -80, -40],
            "a report without signal keeps it"
        );
    }

    #[test]
    fn location_average_2d_and_3d() {
        let mut d = Device::new(1);
        let fix = |lat, lon, alt| Fix {
            lat,
            lon,
            alt,
            speed: None,
        };
        let mut r = rep(10);
        r.fix = Some(fix(10.0, 20.0, None));
        r.signal = Some(-60);
        d.apply(&r, 0, 0, 0);
        let l = d.loc.as_ref().unwrap();
        assert_eq!((l.fix(), l.average()), (2, (10.0, 20.0, 0.0)));
        let mut r = rep(20);
        r.fix = Some(fix(12.0, 22.0, Some(100.0)));
        r.signal = Some(-40);
        d.apply(&r, 0, 0, 0);
        let mut r = rep(5); // late: counts in the average, not as last
        r.fix = Some(fix(14.0, 24.0, Some(200.0)));
        d.apply(&r, 0, 0, 0);
        let l = d.loc.as_ref().unwrap();
        assert_eq!(l.fix(), 3);
        assert_eq!(l.average(), (12.0, 22.0, 150.0));
        assert_eq!(
            (l.last.lat, l.last.lon, l.last.alt, l.last.fix),
            (12.0, 22.0, 100.0, 3)
        );
        assert_eq!((l.min, l.max), ([10.0, 20.0, 100.0], [14.0, 24.0, 200.0]));
        let (peak, s) = l.peak.unwrap();
        assert_eq!((peak.lat, s), (12.0, -40));
        assert_eq!(l.n, 3);
    }

    #[test]
    fn ssid_records_and_type() {
        let mut d = Device::new(1);
        let mut r = rep(10);
        r.ssid = Some("A".into());
        r.crypt = Some((crypt::parse("[WPA2-PSK-CCMP][ESS]"), 1));
        d.apply(&r, 0, 0, 0);
        let mut r = rep(20);
        r.ssid = Some("B".into());
        d.apply(&r, 0, 0, 0);
        assert_eq!(&*d.last_ssid().unwrap().ssid, "B");
        assert!(!d.last_ssid().unwrap().crypt.known());
        let mut r = rep(15); // older than B, newer than A: A changes, the newest stays B
        r.ssid = Some("A".into());
        r.crypt = Some((crypt::parse("[WEP]"), 2));
        d.apply(&r, 0, 0, 0);
        assert_eq!(&*d.last_ssid().unwrap().ssid, "B");
        assert_eq!((d.ssids[0].first, d.ssids[0].last), (10, 15));
        assert_eq!(d.ssids[0].crypt.display(), "WEP");
        let mut r = rep(5); // older than A's newest: A's first time moves, its crypt does not
        r.ssid = Some("A".into());
        r.crypt = Some((crypt::parse("[OWE]"), 4));
        d.apply(&r, 0, 0, 0);
        assert_eq!((d.ssids[0].first, d.ssids[0].last), (5, 15));
        assert_eq!(d.ssids[0].crypt.display(), "WEP");
        let mut r = rep(30);
        r.crypt = Some((crypt::parse("[IBSS]"), 3));
        d.apply(&r, 0, 0, 0);
        assert_eq!(
            &*d.last_ssid().unwrap().ssid,
            "",
            "capabilities alone: cloaked record"
        );
        assert_eq!(d.flags & flag::ADHOC_LAST, flag::ADHOC_LAST);
        assert_eq!(d.flags & (flag::AP | flag::PEER), flag::AP | flag::PEER);
        for i in 0..20 {
            let mut r = rep(40 + i);
            r.ssid = Some(format!("S{i}").into());
            d.apply(&r, 0, 0, 0);
        }
        assert_eq!(d.ssids.len(), MAX_SSIDS);
        assert_eq!(&*d.last_ssid().unwrap().ssid, "S19");
    }

    #[test]
    fn tags_set_replace_remove() {
        let mut d = Device::new(1);
        let mut r = rep(1);
        r.tags = vec![("b".into(), "2".into()), ("a".into(), "1".into())];
        d.apply(&r, 0, 0, 0);
        let mut r = rep(2);
        r.tags = vec![("a".into(), "".into()), ("b".into(), "3".into())];
        d.apply(&r, 0, 0, 0);
        assert_eq!(d.tags.as_deref().unwrap(), &vec![("b".into(), "3".into())]);
        let mut r = rep(3);
        r.tags = vec![("b".into(), "".into())];
        d.apply(&r, 0, 0, 0);
        assert!(d.tags.is_none());
    }
}
