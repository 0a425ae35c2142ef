//! How what the capture saw changes device records: a worker's per-MAC delta and its SSID
//! observations (`dataplane::track`) applied to [`Device`]s. The model calls these under its
//! write lock, once per table handed over, never per frame.
//!
//! Times are the frames' own; "last" values (frequency, channel, newest signal, the SSID's
//! crypt) follow the newest observation, as for scan reports.

use dataplane::track::table::{link, role, Entry, SsidEvent, SsidKind, FREE};

use super::crypt::{self, Crypt};
use super::device::{ssid_kind, Assoc, Device, Dot11, Probed, SsidRec, MAX_APS, MAX_PROBED};

/// Roles a device keeps (the signal bit is per delta).
pub const ROLES: u8 = role::AP | role::ADHOC | role::WDS | role::CLIENT | role::PROBER;

/// The channel name of a frequency in MHz ("6", "36", "1" on 6 GHz...), or its number in
/// MHz when it is on no band airsift knows.
pub fn channel_name(mhz: u32) -> String {
    match crate::datasource::channel::freq_to_channel(mhz) {
        Some((_, n)) => n.to_string(),
        None => mhz.to_string(),
    }
}

/// An SSID's bytes as the record keeps them (every byte, shown as `\xNN` where not UTF-8).
pub fn ssid_text(raw: &[u8]) -> Box<str> {
    super::kismet::ssid_from_bytes(raw)
}

impl Device {
    /// Applies one interval's delta from datasource `source`. `channel` is the interned
    /// channel of its frequency (0: none). `now` is the server's time.
    pub fn apply_delta(&mut self, e: &Entry, channel: u32, source: u32, now: u32) {
        let was_new = self.packets == 0;
        let latest = was_new || e.last >= self.last;
        if was_new {
            self.first = e.first;
            self.last = e.last;
        } else {
            self.first = self.first.min(e.first);
            self.last = self.last.max(e.last);
        }
        self.modified = now;
        let n = e.tx.saturating_add(e.rx);
        self.packets = self.packets.saturating_add(n);
        self.rx = self.rx.saturating_add(e.rx);
        self.data = self.data.saturating_add(e.data);
        self.crypt = self.crypt.saturating_add(e.crypt);
        self.errors = self.errors.saturating_add(e.errors);
        self.datasize = self.datasize.saturating_add(u64::from(e.datasize));
        self.roles |= e.roles & ROLES;
        if e.freq_mhz != 0 {
            let khz = u32::from(e.freq_mhz) * 1000;
            self.count_freq(khz, e.tx.max(1));
            if latest {
                self.freq = khz;
                if channel != 0 {
                    self.channel = channel;
                }
            }
        }
        let sig = (e.roles & role::SIGNAL != 0).then_some(e.signal);
        if let Some([newest, min, max]) = sig {
            let (newest, min, max) = (i16::from(newest), i16::from(min), i16::from(max));
            if self.flags & super::device::flag::SIGNAL == 0 {
                self.signal = [newest, min, max];
                self.flags |= super::device::flag::SIGNAL;
            } else {
                if latest {
                    self.signal[0] = newest;
                }
                self.signal[1] = self.signal[1].min(min);
                self.signal[2] = self.signal[2].max(max);
            }
        }
        self.see(source, e.first, e.last, n, sig);
        if e.bssid != FREE && e.link != link::NONE {
            self.relate(e.bssid, e.link, e.first, e.last, latest);
        }
        if e.wds != FREE {
            self.add_wds(e.wds);
        }
    }

    /// Records that this station was a client of AP `bssid` between `first` and `last`;
    /// with `newest`, that AP becomes its `last_bssid`.
    pub fn relate(&mut self, bssid: u64, kind: u8, first: u32, last: u32, newest: bool) {
        let d = self.dot11.get_or_insert_with(Box::default);
        match d.aps.iter_mut().find(|a| a.bssid == bssid) {
            Some(a) => {
                a.first = a.first.min(first);
                if last >= a.last {
                    a.last = last;
                    a.link = kind;
                }
            }
            None => {
                let a = Assoc {
                    bssid,
                    first,
                    last,
                    link: kind,
                };
                if d.aps.len() < MAX_APS {
                    d.aps.push(a);
                } else if let Some(old) = d.aps.iter_mut().min_by_key(|a| a.last) {
                    *old = a;
                }
            }
        }
        if newest || d.last_bssid == 0 {
            d.last_bssid = bssid;
        }
    }

    /// Records a 4-address (WDS) peer.
    pub fn add_wds(&mut self, peer: u64) {
        let d = self.dot11.get_or_insert_with(Box::default);
        if let Err(i) = d.wds.binary_search(&peer) {
            if d.wds.len() < MAX_APS {
                d.wds.insert(i, peer);
            }
        }
    }

    /// Applies one SSID observation (the device's delta of the same interval is applied
    /// too, so counts and times are already there). The SSID's channel is the DS Parameter
    /// Set's, else the frame frequency's.
    pub fn apply_ssid(&mut self, ev: &SsidEvent) {
        let channel = match (ev.ds_channel, ev.freq_mhz) {
            (c, _) if c != 0 => u16::from(c),
            (_, f) if f != 0 => crate::datasource::channel::freq_to_channel(u32::from(f))
                .map_or(0, |(_, n)| n as u16),
            _ => 0,
        };
        let t = ev.time;
        let name = ssid_text(ev.ssid());
        if ev.kind == SsidKind::ProbeRequest {
            let d = self.dot11.get_or_insert_with(Box::default);
            match d.probed.iter_mut().find(|p| p.ssid == name) {
                Some(p) => {
                    p.first = p.first.min(t);
                    p.last = p.last.max(t);
                    p.count = p.count.saturating_add(1);
                }
                None => {
                    let p = Probed {
                        ssid: name,
                        first: t,
                        last: t,
                        count: 1,
                    };
                    if d.probed.len() < MAX_PROBED {
                        d.probed.push(p);
                    } else if let Some(old) = d.probed.iter_mut().min_by_key(|p| p.last) {
                        *old = p;
                    }
                }
            }
            return;
        }
        let crypt = element_crypt(ev);
        let kind = match ev.kind {
            SsidKind::Beacon => ssid_kind::BEACON,
            _ => ssid_kind::PROBE_RESPONSE,
        };
        let idx = match self.ssids.iter().position(|s| s.ssid == name) {
            Some(i) => {
                let s = &mut self.ssids[i];
                s.first = s.first.min(t);
                s.kinds |= kind;
                if t >= s.last {
                    s.last = t;
                    s.crypt = crypt;
                    if channel != 0 {
                        s.channel = channel;
                    }
                    if ev.beacon_interval != 0 {
                        s.interval = ev.beacon_interval;
                    }
                }
                i
            }
            None => self.insert_ssid(SsidRec {
                ssid: name,
                crypt,
                first: t,
                last: t,
                ietag: 0,
                channel,
                interval: ev.beacon_interval,
                kinds: kind,
            }),
        };
        self.note_last_ssid(idx, t);
    }

    /// Records `client` as a client of this AP.
    pub fn add_client(&mut self, client: u64) {
        let d = self.dot11.get_or_insert_with(Box::default);
        if let Err(i) = d.clients.binary_search(&client) {
            if d.clients.len() < super::device::MAX_CLIENTS {
                d.clients.insert(i, client);
            }
        }
    }

    /// Forgets `client` (it was evicted).
    pub fn remove_client(&mut self, client: u64) {
        if let Some(d) = self.dot11.as_mut() {
            if let Ok(i) = d.clients.binary_search(&client) {
                d.clients.remove(i);
            }
        }
    }

    /// Forgets AP `bssid` (it was evicted).
    pub fn forget_ap(&mut self, bssid: u64) {
        if let Some(d) = self.dot11.as_mut() {
            d.aps.retain(|a| a.bssid != bssid);
            if d.last_bssid == bssid {
                d.last_bssid = 0;
            }
        }
    }

    /// Forgets WDS peer `peer` (it was evicted).
    pub fn forget_wds(&mut self, peer: u64) {
        if let Some(d) = self.dot11.as_mut() {
            d.wds.retain(|&w| w != peer);
        }
    }

    /// The 802.11 relations, if any.
    pub fn dot11(&self) -> Option<&Dot11> {
        self.dot11.as_deref()
    }

    /// An access point: it beaconed, answered probes or was the AP of data frames, or a
    /// scan report named it (reports are of APs, `[IBSS]` ones aside).
    pub fn is_ap(&self) -> bool {
        use super::device::flag;
        self.roles & role::AP != 0 || (self.flags & flag::AP != 0)
    }

    /// Kismet's device type name, by what the device was ever seen doing, in this order of
    /// precedence: "Wi-Fi AP", "Wi-Fi Ad-Hoc", "Wi-Fi WDS", "Wi-Fi Client", "Wi-Fi Device". A
    /// scan-reported device follows its newest report (AP or ad-hoc) unless frames showed it
    /// as an AP.
    pub fn type_name(&self) -> &'static str {
        use super::device::flag;
        if self.roles & role::AP != 0 {
            "Wi-Fi AP"
        } else if self.flags & flag::ADHOC_LAST != 0 || self.roles & role::ADHOC != 0 {
            "Wi-Fi Ad-Hoc"
        } else if self.flags & flag::AP != 0 {
            "Wi-Fi AP"
        } else if self.roles & role::WDS != 0 {
            "Wi-Fi WDS"
        } else if self.roles & role::CLIENT != 0 {
            "Wi-Fi Client"
        } else if self.flags & flag::PEER != 0 {
            "Wi-Fi Ad-Hoc"
        } else {
            "Wi-Fi Device"
        }
    }
}

/// The crypt of an advertised SSID from the frame's capability and RSN / WPA elements.
pub fn element_crypt(ev: &SsidEvent) -> Crypt {
    crypt::from_beacon(ev.capability, ev.rsn.as_ref(), ev.wpa.as_ref())
}
