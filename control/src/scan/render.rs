//! A device as Kismet's JSON record (`kismet.device.base.*`, `dot11.device.*`,
//! `kismet.common.*`), in the key order and value types of Kismet's answer for the same
//! reports; field paths (`a/b/c`) resolved without rendering the whole record.

use std::cell::OnceCell;

use serde_json::{json, Map, Value};

use super::datasource::{rrd, Source};
use super::device::{flag, ssid_kind, Device, Location, Point, SsidRec};
use super::kismet;
use super::oui;
use dataplane::track::table::{link, role};

/// Kismet's `kismet.device.base.basic_type_set` bits.
const BASICTYPE_AP: u64 = 1;
const BASICTYPE_CLIENT: u64 = 2;
const BASICTYPE_PEER: u64 = 8;
/// Kismet's `basic_crypt_set` bits.
const BASICCRYPT_ENCRYPTED: u64 = 1 << 1;
const BASICCRYPT_L2: u64 = 1 << 2;
const BASICCRYPT_WEAK: u64 = 1 << 4;
/// Kismet's dot11 type set bits.
const DOT11_BEACON_AP: u64 = 1;
const DOT11_ADHOC: u64 = 1 << 1;
const DOT11_CLIENT: u64 = 1 << 2;
const DOT11_WDS: u64 = 1 << 4;
const DOT11_PROBE_CLIENT: u64 = 1 << 8;

/// What rendering needs besides the device: the datasources (for seen-by) and the server's
/// UUID.
pub struct Ctx<'a> {
    pub sources: &'a [Source],
    pub server_uuid: &'a str,
    docs: OnceCell<Vec<Value>>,
    capture_doc: Option<&'a CaptureDoc>,
}

/// The record of a capture datasource by UUID (the registry's), for seen-by entries.
pub type CaptureDoc = dyn Fn(&kismet::Uuid) -> Option<Value> + Send + Sync;

impl<'a> Ctx<'a> {
    pub fn new(sources: &'a [Source], server_uuid: &'a str) -> Ctx<'a> {
        Ctx {
            sources,
            server_uuid,
            docs: OnceCell::new(),
            capture_doc: None,
        }
    }

    /// Seen-by entries of capture datasources show `doc`'s record.
    pub fn with_capture_docs(mut self, doc: Option<&'a CaptureDoc>) -> Ctx<'a> {
        self.capture_doc = doc;
        self
    }

    fn source_doc(&self, i: u32) -> Value {
        let docs = self.docs.get_or_init(|| {
            self.sources
                .iter()
                .map(|s| match self.capture_doc {
                    Some(doc) if s.capture => doc(&s.uuid).unwrap_or_else(|| s.render()),
                    _ => s.render(),
                })
                .collect()
        });
        docs.get(i as usize).cloned().unwrap_or(Value::Null)
    }
}

/// The record's top-level keys, in Kismet's order.
pub const KEYS: &[&str] = &[
    "kismet.device.base.key",
    "kismet.device.base.macaddr",
    "kismet.device.base.related_devices",
    "kismet.device.base.name",
    "kismet.device.base.commonname",
    "kismet.server.uuid",
    "kismet.device.base.basic_type_set",
    "kismet.device.base.crypt",
    "kismet.device.base.basic_crypt_set",
    "kismet.device.base.first_time",
    "kismet.device.base.last_time",
    "kismet.device.base.mod_time",
    "kismet.device.base.packets.total",
    "kismet.device.base.packets.rx_total",
    "kismet.device.base.packets.tx_total",
    "kismet.device.base.packets.llc",
    "kismet.device.base.packets.error",
    "kismet.device.base.packets.data",
    "kismet.device.base.packets.crypt",
    "kismet.device.base.packets.filtered",
    "kismet.device.base.datasize",
    "kismet.device.base.channel",
    "kismet.device.base.frequency",
    "kismet.device.base.freq_khz_map",
    "dot11.device",
    "kismet.device.base.num_alerts",
    "kismet.device.base.seenby",
    "kismet.device.base.phyname",
    "kismet.device.base.manuf",
    "kismet.device.base.tx_packets.rrd",
    "kismet.device.base.packets.rrd",
    "kismet.device.base.signal",
    "kismet.device.base.location",
    "kismet.device.base.type",
    "kismet.device.base.tags",
];

/// A number as Kismet prints doubles: integral values without a fraction.
fn num(x: f64) -> Value {
    if x.fract() == 0.0 && x.abs() < 9.0e15 {
        Value::from(x as i64)
    } else {
        Value::from(x)
    }
}

pub(crate) fn mac_string(mac: u64) -> String {
    dataplane::wire::MacAddr::from_u64(mac).to_string()
}

/// `kismet.device.base.name`: the newest SSID when it is not empty, else the MAC.
pub fn name(d: &Device) -> String {
    match d.last_ssid() {
        Some(s) if !s.ssid.is_empty() => kismet::printable_ssid(&s.ssid).into_owned(),
        _ => mac_string(d.mac),
    }
}

fn geopoint(p: &Point) -> Value {
    json!([num(p.lon), num(p.lat)])
}

fn ssid_record(s: &SsidRec) -> Value {
    use super::crypt::v2;
    let (mfp_supported, mfp_required) = s.crypt.mfp();
    let ft = s.crypt.bits & (v2::AKM_PSK_FT | v2::AKM_1X_FT | v2::AKM_SAE_FT) != 0;
    let mut m = Map::new();
    let mut put = |k: &str, v: Value| {
        m.insert(format!("dot11.advertisedssid.{k}"), v);
    };
    put("ssid", kismet::printable_ssid(&s.ssid).into());
    put("ssidlen", kismet::ssid_len(&s.ssid).into());
    put("ssid_hash", kismet::ssid_hash(&s.ssid).into());
    put("beacon", u8::from(s.kinds & ssid_kind::BEACON != 0).into());
    put(
        "probe_response",
        u8::from(s.kinds & ssid_kind::PROBE_RESPONSE != 0).into(),
    );
    put(
        "channel",
        if s.channel == 0 {
            String::new()
        } else {
            s.channel.to_string()
        }
        .into(),
    );
    put("ht_mode", "".into());
    put("ht_center_1", 0.into());
    put("ht_center_2", 0.into());
    put("first_time", s.first.into());
    put("last_time", s.last.into());
    put("cloaked", u8::from(s.ssid.is_empty()).into());
    put("crypt_bitfield", s.crypt.bits.into());
    put("crypt_set", s.crypt.legacy().into());
    put("crypt_string", s.crypt.display().into());
    put("maxrate", 0.into());
    put("beaconrate", s.interval.into());
    put("beacons_sec", 0.into());
    put("ietag_checksum", s.ietag.into());
    put("wpa_mfp_required", u8::from(mfp_required).into());
    put("wpa_mfp_supported", u8::from(mfp_supported).into());
    put("dot11r_mobility", u8::from(ft).into());
    put("dot11r_mobility_domain_id", 0.into());
    put("dot11e_qbss", 0.into());
    put("dot11e_qbss_stations", 0.into());
    put("dot11e_channel_utilization_perc", 0.into());
    put("ccx_txpower", 0.into());
    put("cisco_client_mfp", 0.into());
    put("advertised_txpower", 0.into());
    Value::Object(m)
}

fn client_record(d: &Device, a: &super::device::Assoc) -> Value {
    let kind = match a.link {
        link::FROM_DS => 1,
        link::TO_DS => 2,
        link::INTER_DS => 3,
        _ => 0,
    };
    json!({
        "dot11.client.bssid": mac_string(a.bssid),
        "dot11.client.bssid_key": kismet::device_key(a.bssid),
        "dot11.client.first_time": a.first,
        "dot11.client.last_time": a.last,
        "dot11.client.type": kind,
        "dot11.client.datasize": d.datasize,
        "dot11.client.num_fragments": 0,
        "dot11.client.num_retries": 0,
    })
}

fn probed_record(p: &super::device::Probed) -> Value {
    json!({
        "dot11.probedssid.ssid": kismet::printable_ssid(&p.ssid),
        "dot11.probedssid.ssidlen": kismet::ssid_len(&p.ssid),
        "dot11.probedssid.bssid": "00:00:00:00:00:00",
        "dot11.probedssid.first_time": p.first,
        "dot11.probedssid.last_time": p.last,
        "dot11.probedssid.probe_count": p.count,
        "dot11.probedssid.crypt_set": 0,
    })
}

fn dot11(d: &Device) -> Value {
    let x = d.dot11();
    let mut m = Map::new();
    let mut put = |k: &str, v: Value| {
        m.insert(format!("dot11.device.{k}"), v);
    };
    let mut typeset = 0;
    if d.is_ap() || d.flags & flag::PEER == 0 && d.roles == 0 {
        typeset |= DOT11_BEACON_AP;
    }
    if d.flags & flag::PEER != 0 || d.roles & role::ADHOC != 0 {
        typeset |= DOT11_ADHOC;
    }
    if d.roles & role::CLIENT != 0 {
        typeset |= DOT11_CLIENT;
    }
    if d.roles & role::WDS != 0 {
        typeset |= DOT11_WDS;
    }
    if d.roles & role::PROBER != 0 {
        typeset |= DOT11_PROBE_CLIENT;
    }
    put("typeset", typeset.into());
    put("num_client_aps", x.map_or(0, |x| x.aps.len()).into());
    put("num_advertised_ssids", d.ssids.len().into());
    put("num_responded_ssids", 0.into());
    put("num_probed_ssids", x.map_or(0, |x| x.probed.len()).into());
    put(
        "num_associated_clients",
        x.map_or(0, |x| x.clients.len()).into(),
    );
    for k in [
        "client_disconnects",
        "client_disconnects_last",
        "bss_timestamp",
        "num_fragments",
        "num_retries",
    ] {
        put(k, 0.into());
    }
    put("datasize", d.datasize.into());
    for k in [
        "datasize_retry",
        "last_beacon_timestamp",
        "wps_m3_count",
        "wps_m3_last",
        "min_tx_power",
        "max_tx_power",
        "link_measurement_capable",
        "neighbor_report_capable",
        "beacon_fingerprint",
        "probe_fingerprint",
        "response_fingerprint",
    ] {
        put(k, 0.into());
    }
    let last_bssid = if d.is_ap() {
        d.mac
    } else {
        x.map_or(0, |x| x.last_bssid)
    };
    put("last_bssid", mac_string(last_bssid).into());
    put(
        "advertised_ssid_map",
        Value::Array(d.ssids.iter().map(ssid_record).collect()),
    );
    if let Some(s) = d.last_ssid() {
        put("last_beaconed_ssid_record", ssid_record(s));
    }
    if let Some(x) = x {
        if !x.probed.is_empty() {
            put(
                "probed_ssid_map",
                Value::Array(x.probed.iter().map(probed_record).collect()),
            );
        }
        if !x.aps.is_empty() {
            put(
                "client_map",
                Value::Object(
                    x.aps
                        .iter()
                        .map(|a| (mac_string(a.bssid), client_record(d, a)))
                        .collect(),
                ),
            );
        }
        if !x.clients.is_empty() {
            put(
                "associated_client_map",
                Value::Object(
                    x.clients
                        .iter()
                        .map(|&c| (mac_string(c), kismet::device_key(c).into()))
                        .collect(),
                ),
            );
        }
        if !x.wds.is_empty() {
            m.insert(
                "airsift.dot11.wds_peers".into(),
                Value::Array(x.wds.iter().map(|&w| mac_string(w).into()).collect()),
            );
        }
    }
    Value::Object(m)
}

fn signal(d: &Device) -> Option<Value> {
    if d.flags & flag::SIGNAL == 0 {
        return None;
    }
    let [last, min, max] = d.signal;
    let mut m = Map::new();
    let mut put = |k: &str, v: Value| {
        m.insert(format!("kismet.common.signal.{k}"), v);
    };
    put("type", "dbm".into());
    put("last_signal", last.into());
    put("last_noise", 0.into());
    put("min_signal", min.into());
    put("min_noise", 0.into());
    put("max_signal", max.into());
    put("max_noise", 0.into());
    put("maxseenrate", 0.into());
    put("encodingset", 0.into());
    put("carrierset", 0.into());
    if let Some((p, _)) = d.loc.as_ref().and_then(|l| l.peak) {
        put(
            "peak_loc",
            json!({
                "kismet.common.location.geopoint": geopoint(&p),
                "kismet.common.location.alt": num(p.alt),
                "kismet.common.location.fix": p.fix,
                "kismet.common.location.time_sec": p.time,
                "kismet.common.location.time_usec": 0,
            }),
        );
    }
    put("signal_rrd", rrd(d.modified, false));
    Some(Value::Object(m))
}

fn location(l: &Location) -> Value {
    let fix = l.fix();
    let bound = |v: &[f64; 3]| {
        let mut m = Map::new();
        m.insert(
            "kismet.common.location.geopoint".into(),
            json!([num(v[1]), num(v[0])]),
        );
        if fix == 3 {
            m.insert("kismet.common.location.alt".into(), num(v[2]));
        }
        Value::Object(m)
    };
    let (lat, lon, alt) = l.average();
    json!({
        "kismet.common.location.loc_fix": fix,
        "kismet.common.location.min_loc": bound(&l.min),
        "kismet.common.location.max_loc": bound(&l.max),
        "kismet.common.location.last": {
            "kismet.common.location.geopoint": geopoint(&l.last),
            "kismet.common.location.alt": num(l.last.alt),
            "kismet.common.location.fix": l.last.fix,
            "kismet.common.location.speed": num(l.last_speed),
            "kismet.common.location.heading": 0,
        },
        "kismet.common.location.avg_loc": {
            "kismet.common.location.geopoint": [num(lon), num(lat)],
            "kismet.common.location.alt": num(alt),
            "kismet.common.location.fix": fix,
            "kismet.common.location.time_sec": l.last.time,
            "kismet.common.location.time_usec": 0,
        },
    })
}

/// One top-level field; `None` when the device has no such field (no signal, no location,
/// no tags, or an unknown key).
pub fn field(d: &Device, channel: &str, cx: &Ctx<'_>, key: &str) -> Option<Value> {
    let crypt = d.last_ssid().map(|s| s.crypt);
    Some(match key {
        "kismet.device.base.key" => kismet::device_key(d.mac).into(),
        "kismet.device.base.macaddr" => mac_string(d.mac).into(),
        "kismet.device.base.related_devices" => json!({}),
        "kismet.device.base.name" | "kismet.device.base.commonname" => name(d).into(),
        "kismet.server.uuid" => cx.server_uuid.into(),
        "kismet.device.base.basic_type_set" => {
            let mut t = 0;
            if d.is_ap() || d.flags & flag::PEER == 0 && d.roles == 0 {
                t |= BASICTYPE_AP;
            }
            if d.flags & flag::PEER != 0 || d.roles & (role::ADHOC | role::WDS) != 0 {
                t |= BASICTYPE_PEER;
            }
            if d.roles & (role::CLIENT | role::PROBER) != 0 {
                t |= BASICTYPE_CLIENT;
            }
            t.into()
        }
        "kismet.device.base.crypt" => crypt.map_or(String::new(), |c| c.display()).into(),
        "kismet.device.base.basic_crypt_set" => {
            let mut b = 0;
            if let Some(c) = crypt.filter(|c| c.encrypted()) {
                b |= BASICCRYPT_ENCRYPTED | BASICCRYPT_L2;
                if c.weak() {
                    b |= BASICCRYPT_WEAK;
                }
            }
            b.into()
        }
        "kismet.device.base.first_time" => d.first.into(),
        "kismet.device.base.last_time" => d.last.into(),
        "kismet.device.base.mod_time" => d.modified.into(),
        "kismet.device.base.packets.total" => d.packets.into(),
        "kismet.device.base.packets.tx_total" => d.packets.saturating_sub(d.rx).into(),
        "kismet.device.base.packets.llc" => d.packets.saturating_sub(d.data).into(),
        "kismet.device.base.packets.rx_total" => d.rx.into(),
        "kismet.device.base.packets.error" => d.errors.into(),
        "kismet.device.base.packets.data" => d.data.into(),
        "kismet.device.base.packets.crypt" => d.crypt.into(),
        "kismet.device.base.datasize" => d.datasize.into(),
        "kismet.device.base.packets.filtered" | "kismet.device.base.num_alerts" => 0.into(),
        "kismet.device.base.channel" => channel.into(),
        "kismet.device.base.frequency" => d.freq.into(),
        "kismet.device.base.freq_khz_map" => Value::Object(
            d.freqs
                .iter()
                .map(|&(f, c)| (f.to_string(), Value::from(c)))
                .collect(),
        ),
        "dot11.device" => dot11(d),
        "kismet.device.base.seenby" => Value::Array(
            d.seen
                .iter()
                .map(|s| {
                    let uuid = cx
                        .sources
                        .get(s.source as usize)
                        .map_or(String::new(), |src| kismet::format_uuid(&src.uuid));
                    let mut v = json!({
                        "kismet.common.seenby.uuid": uuid,
                        "kismet.common.seenby.source": cx.source_doc(s.source),
                        "kismet.common.seenby.first_time": s.first,
                        "kismet.common.seenby.last_time": s.last,
                        "kismet.common.seenby.num_packets": s.count,
                    });
                    if s.has_signal {
                        v["kismet.common.seenby.signal"] = json!({
                            "kismet.common.signal.type": "dbm",
                            "kismet.common.signal.last_signal": s.signal[0],
                            "kismet.common.signal.min_signal": s.signal[1],
                            "kismet.common.signal.max_signal": s.signal[2],
                        });
                    }
                    v
                })
                .collect(),
        ),
        "kismet.device.base.phyname" => "IEEE802.11".into(),
        "kismet.device.base.manuf" => oui::manuf(d.mac).into(),
        "kismet.device.base.tx_packets.rrd" | "kismet.device.base.packets.rrd" => {
            rrd(d.modified, true)
        }
        "kismet.device.base.signal" => return signal(d),
        "kismet.device.base.location" => return d.loc.as_deref().map(location),
        "kismet.device.base.type" => d.type_name().into(),
        "kismet.device.base.tags" => {
            let tags = d.tags.as_deref()?;
            Value::Object(
                tags.iter()
                    .map(|(k, v)| (k.to_string(), Value::from(&**v)))
                    .collect(),
            )
        }
        _ => return None,
    })
}

/// The whole record.
pub fn render(d: &Device, channel: &str, cx: &Ctx<'_>) -> Value {
    render_only(d, channel, cx, KEYS)
}

/// Only the given top-level fields (in Kismet's order, absent ones left out).
pub fn render_only(d: &Device, channel: &str, cx: &Ctx<'_>, keys: &[&str]) -> Value {
    let mut m = Map::new();
    for &k in keys {
        if let Some(v) = field(d, channel, cx, k) {
            m.insert(k.to_string(), v);
        }
    }
    Value::Object(m)
}

/// The paths sorts and regexes use most, answered without building any JSON tree: `Some`
/// with the value at `path` (itself `None` when absent), or `None` for other paths.
fn fast_lookup(d: &Device, channel: &str, path: &str) -> Option<Option<Value>> {
    let signal = |i: usize| (d.flags & flag::SIGNAL != 0).then(|| Value::from(d.signal[i]));
    Some(match path {
        "kismet.device.base.macaddr" => Some(mac_string(d.mac).into()),
        "kismet.device.base.key" => Some(kismet::device_key(d.mac).into()),
        "kismet.device.base.name" | "kismet.device.base.commonname" => Some(name(d).into()),
        "kismet.device.base.first_time" => Some(d.first.into()),
        "kismet.device.base.last_time" => Some(d.last.into()),
        "kismet.device.base.mod_time" => Some(d.modified.into()),
        "kismet.device.base.packets.total" => Some(d.packets.into()),
        "kismet.device.base.channel" => Some(channel.into()),
        "kismet.device.base.frequency" => Some(d.freq.into()),
        "kismet.device.base.manuf" => Some(oui::manuf(d.mac).into()),
        "kismet.device.base.crypt" => Some(
            d.last_ssid()
                .map_or(String::new(), |s| s.crypt.display())
                .into(),
        ),
        "kismet.device.base.signal/kismet.common.signal.last_signal" => signal(0),
        "kismet.device.base.signal/kismet.common.signal.min_signal" => signal(1),
        "kismet.device.base.signal/kismet.common.signal.max_signal" => signal(2),
        "dot11.device/dot11.device.last_beaconed_ssid_record/dot11.advertisedssid.ssid" => d
            .last_ssid()
            .map(|s| kismet::printable_ssid(&s.ssid).into_owned().into()),
        _ => return None,
    })
}

/// The value at a field path (`a/b/c`: each part a field name; an array is indexed by a
/// number), rendering only the top-level field it starts with.
pub fn lookup(d: &Device, channel: &str, cx: &Ctx<'_>, path: &str) -> Option<Value> {
    if let Some(v) = fast_lookup(d, channel, path) {
        return v;
    }
    slow_lookup(d, channel, cx, path)
}

fn slow_lookup(d: &Device, channel: &str, cx: &Ctx<'_>, path: &str) -> Option<Value> {
    let mut parts = path.split('/').filter(|p| !p.is_empty());
    let mut v = field(d, channel, cx, parts.next()?)?;
    for p in parts {
        v = match v {
            Value::Object(mut m) => m.remove(p)?,
            Value::Array(mut a) => {
                let i: usize = p.parse().ok()?;
                if i >= a.len() {
                    return None;
                }
                a.swap_remove(i)
            }
            _ => return None,
        };
    }
    Some(v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scan::crypt;
    use crate::scan::report::Report;

    #[test]
    fn fast_paths_agree_with_the_rendered_record() {
        let mut with = Device::new(0x0000_0C01_0203);
        let mut r = Report {
            mac: with.mac,
            time: 100,
            ssid: Some("a\u{1}".into()),
            crypt: Some((crypt::parse("[WPA2-PSK-CCMP]"), 1)),
            channel: None,
            freq_khz: Some(2_437_000),
            signal: Some(-40),
            fix: None,
            tags: Vec::new(),
        };
        with.apply(&r, 1, 0, 200);
        r.signal = Some(-70);
        with.apply(&r, 1, 0, 201);
        let without = Device::new(0x0200_0000_0001);
        let sources = [];
        let cx = Ctx::new(&sources, "u");
        for d in [&with, &without] {
            for path in [
                "kismet.device.base.macaddr",
                "kismet.device.base.key",
                "kismet.device.base.name",
                "kismet.device.base.commonname",
                "kismet.device.base.first_time",
                "kismet.device.base.last_time",
                "kismet.device.base.mod_time",
                "kismet.device.base.packets.total",
                "kismet.device.base.channel",
                "kismet.device.base.frequency",
                "kismet.device.base.manuf",
                "kismet.device.base.crypt",
                "kismet.device.base.signal/kismet.common.signal.last_signal",
                "kismet.device.base.signal/kismet.common.signal.min_signal",
                "kismet.device.base.signal/kismet.common.signal.max_signal",
                "dot11.device/dot11.device.last_beaconed_ssid_record/dot11.advertisedssid.ssid",
            ] {
                let fast = fast_lookup(d, "6", path).expect(path);
                assert_eq!(fast, slow_lookup(d, "6", &cx, path), "{path}");
            }
        }
        assert_eq!(
            lookup(
                &with,
                "6",
                &cx,
                "dot11.device/dot11.device.advertised_ssid_map/0/dot11.advertisedssid.ssidlen"
            ),
            Some(Value::from(2))
        );
        assert_eq!(
            lookup(
                &with,
                "6",
                &cx,
                "dot11.device/dot11.device.advertised_ssid_map/1"
            ),
            None
        );
    }
}
