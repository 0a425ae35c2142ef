//! Helpers of the scan-report tests: reports, MACs, and device queries over HTTP.
#![allow(dead_code)]

use serde_json::{json, Value};

use crate::common::http::{ApiServer, Cred, Reply};

pub const REPORT: &str = "/phy/phy80211/scan/scan_report.cmd";
pub const UUID_A: &str = "11111111-2222-3333-4444-555555555555";
pub const UUID_B: &str = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee";

/// Field paths (Kismet's names).
pub const MAC: &str = "kismet.device.base.macaddr";
pub const KEY: &str = "kismet.device.base.key";
pub const NAME: &str = "kismet.device.base.name";
pub const FIRST: &str = "kismet.device.base.first_time";
pub const LAST: &str = "kismet.device.base.last_time";
pub const CRYPT: &str = "kismet.device.base.crypt";
pub const SSID_REC: &str = "dot11.device/dot11.device.last_beaconed_ssid_record";
pub const AVG_LOC: &str =
    "kismet.device.base.location/kismet.common.location.avg_loc/kismet.common.location.geopoint";
pub const LAST_LOC: &str =
    "kismet.device.base.location/kismet.common.location.last/kismet.common.location.geopoint";
pub const SIGNAL: &str = "kismet.device.base.signal";

/// Seconds since the epoch.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// `02:00:00:00:00:00 + i` in Kismet's spelling.
pub fn mac(i: u64) -> String {
    mac_in(0x02_00_00, i)
}

/// A MAC with the 24-bit prefix `oui` and the low 24 bits `i`.
pub fn mac_in(oui: u32, i: u64) -> String {
    let b = ((oui as u64) << 24 | (i & 0xFF_FFFF)).to_be_bytes();
    format!(
        "{:02X}:{:02X}:{:02X}:{:02X}:{:02X}:{:02X}",
        b[2], b[3], b[4], b[5], b[6], b[7]
    )
}

/// A command dictionary from one source.
pub fn batch(uuid: &str, name: &str, reports: Vec<Value>) -> Value {
    json!({"source_uuid": uuid, "source_name": name, "reports": reports})
}

/// Follows a `a/b/c` path.
pub fn at<'a>(v: &'a Value, path: &str) -> &'a Value {
    path.split('/').fold(v, |v, p| match v {
        Value::Array(a) => p
            .parse::<usize>()
            .ok()
            .and_then(|i| a.get(i))
            .unwrap_or(&Value::Null),
        _ => v.get(p).unwrap_or(&Value::Null),
    })
}

pub fn post_reports(s: &ApiServer, cred: &Cred, body: &Value) -> Reply {
    s.post_json(REPORT, cred, body)
}

/// Posts and expects a 200 with every report accepted.
pub fn post_ok(s: &ApiServer, body: &Value) -> Value {
    let r = post_reports(s, &Cred::admin(), body);
    assert_eq!(r.status, 200, "{}", r.text());
    let v = r.json();
    let n = body["reports"].as_array().map_or(0, Vec::len);
    assert_eq!(v["accepted"], n, "{v}");
    assert_eq!(v["rejected"], json!([]), "{v}");
    v
}

/// A list endpoint's devices (GET without a dictionary, POST with one).
pub fn devices(s: &ApiServer, path: &str, dict: Option<&Value>) -> Vec<Value> {
    let r = match dict {
        Some(d) => s.post_json(path, &Cred::admin(), d),
        None => s.get(path, &Cred::admin()),
    };
    assert_eq!(r.status, 200, "{path}: {}", r.text());
    match r.json() {
        Value::Array(a) => a,
        other => panic!("{path}: not an array: {other}"),
    }
}

/// The device with this MAC (exactly one).
pub fn device(s: &ApiServer, mac: &str) -> Value {
    let mut d = devices(s, &format!("/devices/by-mac/{mac}/devices.json"), None);
    assert_eq!(d.len(), 1, "{mac}: {d:?}");
    d.remove(0)
}

/// The MACs of a list, in order.
pub fn macs(list: &[Value]) -> Vec<String> {
    list.iter()
        .map(|d| d[MAC].as_str().unwrap_or_default().to_string())
        .collect()
}
