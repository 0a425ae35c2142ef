//! Validation of a scan-report request (API.md section 3) into a compact [`Batch`].
//!
//! The top level is all or nothing (a bad `source_uuid`, `source_name` or `reports` refuses
//! the request); each report is then checked on its own and either becomes a [`Report`] or a
//! [`Rejected`] entry naming the key and the value at fault.
//!
//! Policy, per key (`null` counts as absent for every optional key; unknown keys are ignored,
//! as Kismet ignores them):
//! - `bssid` (required): a MAC string (`:` or `-` separated); group (multicast/broadcast) and
//!   all-zero addresses are refused.
//! - `timestamp`: integer seconds (an integral float is accepted), 1 ..= now + 1 day; `0` means
//!   "now", like Kismet. Millisecond timestamps are refused with a hint.
//! - `ssid`: a string of at most 32 bytes (UTF-8), the 802.11 limit.
//! - `capabilities`: a string of at most 512 bytes.
//! - `channel`: a string of 1-32 characters from `[0-9A-Za-z+-_./]`, or an integer 1 ..= 255;
//!   `""`, `"0"` and `0` mean absent. Without one, the channel is derived from `freqkhz`.
//! - `freqkhz`: a number, 100,000 ..= 100,000,000 kHz (100 MHz .. 100 GHz), rounded to 1 kHz;
//!   `0` means absent. A value that looks like MHz is refused with a hint.
//! - `signal`: a number of dBm, -150 ..= 30, rounded; `0` means absent (Kismet's "no reading").
//! - `lat` -90 ..= 90, `lon` -180 ..= 180, `alt` -1,000 ..= 50,000 m, `speed` (or `spd`)
//!   0 ..= 2,000: finite numbers. A location needs both `lat` and `lon`; one without the other
//!   is refused; `lat`/`lon` of 0 (either) means "no fix", as in Kismet. `speed` and `spd`
//!   together must agree.
//! - `tags`: an object of at most 32 entries; keys 1-64 bytes without control characters,
//!   values strings of at most 1,024 bytes. An empty value removes the tag.

use crate::json_kind::kind;
use serde_json::{Map, Value};

use super::crypt::{self, Crypt};
use super::kismet::{self, Uuid};
use super::Rejected;
use dataplane::wire::MacAddr;

/// One validated report.
#[derive(Clone, Debug, PartialEq)]
pub struct Report {
    /// The BSSID, packed big-endian in the low 48 bits.
    pub mac: u64,
    /// Seconds since the epoch.
    pub time: u32,
    pub ssid: Option<Box<str>>,
    /// From `capabilities`, with Kismet's `ietag_checksum` over SSID + capabilities.
    pub crypt: Option<(Crypt, u32)>,
    /// As given, or derived from the frequency.
    pub channel: Option<Box<str>>,
    pub freq_khz: Option<u32>,
    pub signal: Option<i16>,
    pub fix: Option<Fix>,
    /// Tags to set (an empty value removes the tag), sorted by key, keys unique.
    pub tags: Vec<Tag>,
}

/// A position: only built when `lat` and `lon` are both present and non-zero.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Fix {
    pub lat: f64,
    pub lon: f64,
    /// Present: a 3D fix.
    pub alt: Option<f64>,
    pub speed: Option<f64>,
}

/// A tag to set on the device: (key, value); an empty value removes the tag.
pub type Tag = (Box<str>, Box<str>);

/// A validated request: what is journaled and applied.
#[derive(Clone, Debug, PartialEq)]
pub struct Batch {
    /// The request's arrival time (seconds).
    pub now: u32,
    pub source: Uuid,
    pub name: Box<str>,
    /// Reports refused by validation: `kismet.datasource.num_error_packets`.
    pub rejected: u32,
    pub reports: Vec<Report>,
}

/// Longest `source_name` accepted.
const MAX_NAME: usize = 256;
const MAX_SSID: usize = 32;
const MAX_CAPABILITIES: usize = 512;
const MAX_CHANNEL: usize = 32;
const MAX_TAGS: usize = 32;
const MAX_TAG_KEY: usize = 64;
const MAX_TAG_VALUE: usize = 1024;
/// How far in the future a timestamp may be (clock skew of the reporting device).
const FUTURE_SLACK: i64 = 86_400;

/// A JSON value for a message, shortened.
fn show(v: &Value) -> String {
    let s = v.to_string();
    if s.chars().count() > 64 {
        let cut: String = s.chars().take(61).collect();
        format!("{cut}...")
    } else {
        s
    }
}

fn wrong_type(key: &str, want: &str, v: &Value) -> String {
    format!("{key}: expected {want}, got {} {}", kind(v), show(v))
}

/// Checks the top level and every report. `Err` is a 400 message; nothing may be stored.
pub fn validate(dict: &Map<String, Value>, now: i64) -> Result<(Batch, Vec<Rejected>), String> {
    let source = match dict.get("source_uuid") {
        None | Some(Value::Null) => return Err("source_uuid: missing (a UUID string)".into()),
        Some(Value::String(s)) => kismet::parse_uuid(s.trim()).ok_or_else(|| {
            format!(
                "source_uuid: {} is not a UUID (8-4-4-4-12 hex digits)",
                show(&Value::String(s.clone()))
            )
        })?,
        Some(v) => return Err(wrong_type("source_uuid", "a UUID string", v)),
    };
    let name = match dict.get("source_name") {
        None | Some(Value::Null) => return Err("source_name: missing (a string)".into()),
        Some(Value::String(s)) => {
            let t = s.trim();
            if t.is_empty() {
                return Err("source_name: must not be empty".into());
            }
            if t.len() > MAX_NAME {
                return Err(format!(
                    "source_name: {} bytes long, at most {MAX_NAME} allowed",
                    t.len()
                ));
            }
            if t.chars().any(char::is_control) {
                return Err(format!(
                    "source_name: {} contains control characters",
                    show(&Value::String(s.clone()))
                ));
            }
            t.into()
        }
        Some(v) => return Err(wrong_type("source_name", "a string", v)),
    };
    let reports = match dict.get("reports") {
        None | Some(Value::Null) => return Err("reports: missing (an array of reports)".into()),
        Some(Value::Array(a)) => a,
        Some(v) => return Err(wrong_type("reports", "an array", v)),
    };
    let now = now.clamp(0, u32::MAX as i64);
    let mut ok = Vec::with_capacity(reports.len());
    let mut rejected = Vec::new();
    for (index, r) in reports.iter().enumerate() {
        match report(r, now) {
            Ok(r) => ok.push(r),
            Err(error) => rejected.push(Rejected { index, error }),
        }
    }
    Ok((
        Batch {
            now: now as u32,
            source,
            name,
            rejected: rejected.len() as u32,
            reports: ok,
        },
        rejected,
    ))
}

/// An optional key: `None` when absent or `null`.
fn opt<'a>(o: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    o.get(key).filter(|v| !v.is_null())
}

/// A finite number in `lo..=hi`.
fn number(key: &str, v: &Value, lo: f64, hi: f64) -> Result<f64, String> {
    let x = v
        .as_f64()
        .filter(|x| x.is_finite())
        .ok_or_else(|| wrong_type(key, "a number", v))?;
    if !(lo..=hi).contains(&x) {
        return Err(format!(
            "{key}: {} is out of range ({lo} ..= {hi})",
            show(v)
        ));
    }
    Ok(x)
}

/// An integral number (integer JSON, or a float without fraction).
fn integer(key: &str, v: &Value, what: &str) -> Result<i64, String> {
    if let Some(i) = v.as_i64() {
        return Ok(i);
    }
    if v.as_u64().is_some() {
        return Err(format!("{key}: {} is out of range", show(v)));
    }
    match v.as_f64() {
        Some(x) if x.is_finite() && x.fract() == 0.0 && x.abs() < 9.0e15 => Ok(x as i64),
        Some(_) => Err(format!("{key}: {} is not {what}", show(v))),
        None => Err(wrong_type(key, what, v)),
    }
}

/// One report.
fn report(v: &Value, now: i64) -> Result<Report, String> {
    let Value::Object(o) = v else {
        return Err(format!(
            "report: expected an object, got {} {}",
            kind(v),
            show(v)
        ));
    };
    let mac = match o.get("bssid") {
        None | Some(Value::Null) => return Err("bssid: missing".into()),
        Some(Value::String(s)) => {
            let a: MacAddr = s.parse().map_err(|_| {
                format!(
                    "bssid: {} is not a MAC address (expected AA:BB:CC:DD:EE:FF)",
                    show(&Value::String(s.clone()))
                )
            })?;
            if a.is_group() {
                return Err(format!(
                    "bssid: {} is a group (multicast or broadcast) address, not a BSSID",
                    show(&Value::String(s.clone()))
                ));
            }
            if a == MacAddr::ZERO {
                return Err("bssid: \"00:00:00:00:00:00\" is not a BSSID".into());
            }
            a.to_u64()
        }
        Some(v) => return Err(wrong_type("bssid", "a MAC address string", v)),
    };
    let time = match opt(o, "timestamp") {
        None => now,
        Some(v) => {
            let t = integer("timestamp", v, "integer seconds")?;
            if t == 0 {
                now
            } else if t < 0 {
                return Err(format!("timestamp: {} is negative", show(v)));
            } else if t > now + FUTURE_SLACK {
                let hint = if t > 100_000_000_000 {
                    " (milliseconds? timestamps are seconds)"
                } else {
                    ""
                };
                return Err(format!(
                    "timestamp: {} is more than a day in the future{hint}",
                    show(v)
                ));
            } else {
                t
            }
        }
    };
    let time = u32::try_from(time).map_err(|_| "timestamp: out of range".to_string())?;
    let ssid = match opt(o, "ssid") {
        None => None,
        Some(Value::String(s)) => {
            if s.len() > MAX_SSID {
                return Err(format!(
                    "ssid: {} is {} bytes long, at most {MAX_SSID} allowed",
                    show(&Value::String(s.clone())),
                    s.len()
                ));
            }
            Some(s.as_str().into())
        }
        Some(v) => return Err(wrong_type("ssid", "a string", v)),
    };
    let crypt = match opt(o, "capabilities") {
        None => None,
        Some(Value::String(s)) => {
            if s.len() > MAX_CAPABILITIES {
                return Err(format!(
                    "capabilities: {} bytes long, at most {MAX_CAPABILITIES} allowed",
                    s.len()
                ));
            }
            let shown = kismet::printable_ssid(ssid.as_deref().unwrap_or(""));
            let mut ie = Vec::with_capacity(shown.len() + s.len());
            ie.extend_from_slice(shown.as_bytes());
            ie.extend_from_slice(s.as_bytes());
            Some((crypt::parse(s), kismet::adler32(&ie)))
        }
        Some(v) => return Err(wrong_type("capabilities", "a string", v)),
    };
    let freq_khz = match opt(o, "freqkhz") {
        None => None,
        Some(v) => {
            let x = v
                .as_f64()
                .filter(|x| x.is_finite())
                .ok_or_else(|| wrong_type("freqkhz", "a number", v))?;
            if x == 0.0 {
                None
            } else if !(100_000.0..=100_000_000.0).contains(&x) {
                let hint = if (1_000.0..100_000.0).contains(&x) {
                    " (MHz? freqkhz is in kHz)"
                } else {
                    ""
                };
                return Err(format!(
                    "freqkhz: {} is out of range (100000 ..= 100000000 kHz){hint}",
                    show(v)
                ));
            } else {
                Some(x.round() as u32)
            }
        }
    };
    let channel = match opt(o, "channel") {
        None => None,
        Some(Value::String(s)) => {
            let s = s.trim();
            if s.is_empty() || s == "0" {
                None
            } else if s.len() > MAX_CHANNEL
                || !s
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"+-_./".contains(&b))
            {
                return Err(format!(
                    "channel: {} is not a channel name (1-{MAX_CHANNEL} of [0-9A-Za-z+-_./])",
                    show(&Value::String(s.to_string()))
                ));
            } else {
                Some(s.into())
            }
        }
        Some(v @ Value::Number(_)) => {
            let n = integer("channel", v, "an integer channel number")?;
            match n {
                0 => None,
                1..=255 => Some(n.to_string().into_boxed_str()),
                _ => return Err(format!("channel: {} is out of range (1 ..= 255)", show(v))),
            }
        }
        Some(v) => return Err(wrong_type("channel", "a string or a number", v)),
    };
    let channel = channel.or_else(|| {
        freq_khz
            .and_then(kismet::channel_for)
            .map(String::into_boxed_str)
    });
    let signal = match opt(o, "signal") {
        None => None,
        Some(v) => {
            let x = number("signal", v, -150.0, 30.0)?.round() as i16;
            (x != 0).then_some(x)
        }
    };
    let lat = opt(o, "lat")
        .map(|v| number("lat", v, -90.0, 90.0))
        .transpose()?;
    let lon = opt(o, "lon")
        .map(|v| number("lon", v, -180.0, 180.0))
        .transpose()?;
    let alt = opt(o, "alt")
        .map(|v| number("alt", v, -1_000.0, 50_000.0))
        .transpose()?;
    let speed = opt(o, "speed")
        .map(|v| number("speed", v, 0.0, 2_000.0))
        .transpose()?;
    let spd = opt(o, "spd")
        .map(|v| number("spd", v, 0.0, 2_000.0))
        .transpose()?;
    let speed = match (speed, spd) {
        (Some(a), Some(b)) if a != b => {
            return Err(format!(
                "spd: {b} disagrees with speed {a} (they are the same key)"
            ))
        }
        (a, b) => a.or(b),
    };
    let fix = match (lat, lon) {
        (Some(lat), Some(lon)) => (lat != 0.0 && lon != 0.0).then_some(Fix {
            lat,
            lon,
            alt,
            speed,
        }),
        (None, None) => None,
        (Some(lat), None) => return Err(format!("lat: {lat} given without lon")),
        (None, Some(lon)) => return Err(format!("lon: {lon} given without lat")),
    };
    let tags = match opt(o, "tags") {
        None => Vec::new(),
        Some(Value::Object(t)) => tags(t)?,
        Some(v) => return Err(wrong_type("tags", "an object of strings", v)),
    };
    Ok(Report {
        mac,
        time,
        ssid,
        crypt,
        channel,
        freq_khz,
        signal,
        fix,
        tags,
    })
}

fn tags(t: &Map<String, Value>) -> Result<Vec<Tag>, String> {
    if t.len() > MAX_TAGS {
        return Err(format!(
            "tags: {} entries, at most {MAX_TAGS} allowed",
            t.len()
        ));
    }
    let mut out: Vec<Tag> = Vec::with_capacity(t.len());
    for (k, v) in t {
        if k.is_empty() || k.len() > MAX_TAG_KEY || k.chars().any(char::is_control) {
            return Err(format!(
                "tags: key {} must be 1-{MAX_TAG_KEY} bytes without control characters",
                show(&Value::String(k.clone()))
            ));
        }
        let Value::String(s) = v else {
            return Err(wrong_type(&format!("tags.{k}"), "a string", v));
        };
        if s.len() > MAX_TAG_VALUE {
            return Err(format!(
                "tags.{k}: {} bytes long, at most {MAX_TAG_VALUE} allowed",
                s.len()
            ));
        }
        out.push((k.as_str().into(), s.as_str().into()));
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const NOW: i64 = 1_700_000_100;
    const UUID: &str = "11111111-2222-3333-4444-555555555555";

    fn top(v: Value) -> Result<(Batch, Vec<Rejected>), String> {
        validate(v.as_object().unwrap(), NOW)
    }

    fn one(r: Value) -> Result<Report, String> {
        let (b, rej) = top(json!({"source_uuid": UUID, "source_name": "n", "reports": [r]}))?;
        match rej.into_iter().next() {
            Some(r) => Err(r.error),
            None => Ok(b.reports.into_iter().next().unwrap()),
        }
    }

    fn err(r: Value) -> String {
        one(r).unwrap_err()
    }

    #[test]
    fn top_level_rules() {
        let r = json!([]);
        for (v, want) in [
            (
                json!({"source_name": "n", "reports": r}),
                "source_uuid: missing",
            ),
            (
                json!({"source_uuid": 5, "source_name": "n", "reports": r}),
                "source_uuid: expected a UUID string, got a number 5",
            ),
            (
                json!({"source_uuid": "zz", "source_name": "n", "reports": r}),
                "source_uuid: \"zz\" is not a UUID",
            ),
            (
                json!({"source_uuid": UUID, "reports": r}),
                "source_name: missing",
            ),
            (
                json!({"source_uuid": UUID, "source_name": ["x"], "reports": r}),
                "source_name: expected a string, got an array",
            ),
            (
                json!({"source_uuid": UUID, "source_name": "  ", "reports": r}),
                "source_name: must not be empty",
            ),
            (
                json!({"source_uuid": UUID, "source_name": "n"}),
                "reports: missing",
            ),
            (
                json!({"source_uuid": UUID, "source_name": "n", "reports": {"a": 1}}),
                "reports: expected an array, got an object",
            ),
        ] {
            let e = top(v).unwrap_err();
            assert!(e.starts_with(want), "{e:?} should start with {want:?}");
        }
        let (b, rej) = top(
            json!({"source_uuid": UUID.to_uppercase(), "source_name": " s ",
            "reports": []}),
        )
        .unwrap();
        assert!(rej.is_empty() && b.reports.is_empty());
        assert_eq!(&*b.name, "s");
        assert_eq!(b.now, NOW as u32);
    }

    #[test]
    fn partial_accept_lists_rejections_by_index() {
        let (b, rej) = top(json!({"source_uuid": UUID, "source_name": "n", "reports": [
            {"bssid": "AA:BB:CC:00:00:01"},
            {"bssid": "nope"},
            {"ssid": "no bssid"},
            {"bssid": "AA:BB:CC:00:00:02", "signal": "-40"},
            {"bssid": "aa-bb-cc-00-00-03", "unknown_key": [1, 2]},
            7,
        ]}))
        .unwrap();
        assert_eq!(b.reports.len(), 2);
        assert_eq!(b.rejected, 4);
        let idx: Vec<usize> = rej.iter().map(|r| r.index).collect();
        assert_eq!(idx, [1, 2, 3, 5]);
        assert!(rej[0]
            .error
            .contains("bssid: \"nope\" is not a MAC address"));
        assert_eq!(rej[1].error, "bssid: missing");
        assert_eq!(
            rej[2].error,
            "signal: expected a number, got a string \"-40\""
        );
        assert_eq!(rej[3].error, "report: expected an object, got a number 7");
        assert_eq!(
            b.reports[1].mac, 0xAABB_CC00_0003,
            "unknown keys are ignored"
        );
    }

    #[test]
    fn each_rule() {
        let m = "AA:BB:CC:00:00:01";
        let cases: &[(Value, &str)] = &[
            (
                json!({"bssid": 5}),
                "bssid: expected a MAC address string, got a number 5",
            ),
            (
                json!({"bssid": "FF:FF:FF:FF:FF:FF"}),
                "bssid: \"FF:FF:FF:FF:FF:FF\" is a group",
            ),
            (
                json!({"bssid": "01:00:5E:00:00:01"}),
                "bssid: \"01:00:5E:00:00:01\" is a group",
            ),
            (
                json!({"bssid": "00:00:00:00:00:00"}),
                "bssid: \"00:00:00:00:00:00\" is not",
            ),
            (
                json!({"bssid": m, "timestamp": "1"}),
                "timestamp: expected integer seconds, got a string",
            ),
            (
                json!({"bssid": m, "timestamp": 1.5}),
                "timestamp: 1.5 is not integer seconds",
            ),
            (
                json!({"bssid": m, "timestamp": -3}),
                "timestamp: -3 is negative",
            ),
            (
                json!({"bssid": m, "timestamp": NOW + 90_000}),
                "timestamp: 1700090100 is more than a day",
            ),
            (
                json!({"bssid": m, "timestamp": 1_700_000_000_000i64}),
                "timestamp: 1700000000000 is more than a day in the future (milliseconds?",
            ),
            (
                json!({"bssid": m, "ssid": 3}),
                "ssid: expected a string, got a number 3",
            ),
            (
                json!({"bssid": m, "ssid": "x".repeat(33)}),
                "ssid: \"xxxxxxxx",
            ),
            (
                json!({"bssid": m, "capabilities": ["WPA2"]}),
                "capabilities: expected a string, got an array",
            ),
            (
                json!({"bssid": m, "channel": true}),
                "channel: expected a string or a number, got a boolean true",
            ),
            (
                json!({"bssid": m, "channel": "6 HT"}),
                "channel: \"6 HT\" is not a channel name",
            ),
            (
                json!({"bssid": m, "channel": 6.5}),
                "channel: 6.5 is not an integer channel number",
            ),
            (
                json!({"bssid": m, "channel": 300}),
                "channel: 300 is out of range (1 ..= 255)",
            ),
            (
                json!({"bssid": m, "freqkhz": "2437000"}),
                "freqkhz: expected a number, got a string",
            ),
            (
                json!({"bssid": m, "freqkhz": 2437}),
                "freqkhz: 2437 is out of range (100000 ..= 100000000 kHz) (MHz?",
            ),
            (
                json!({"bssid": m, "freqkhz": 1e12}),
                "freqkhz: 1000000000000.0 is out of range",
            ),
            (
                json!({"bssid": m, "signal": -200}),
                "signal: -200 is out of range (-150 ..= 30)",
            ),
            (
                json!({"bssid": m, "signal": {"dbm": -40}}),
                "signal: expected a number, got an object",
            ),
            (
                json!({"bssid": m, "lat": 91, "lon": 1}),
                "lat: 91 is out of range (-90 ..= 90)",
            ),
            (
                json!({"bssid": m, "lat": 1, "lon": -181}),
                "lon: -181 is out of range (-180 ..= 180)",
            ),
            (
                json!({"bssid": m, "lat": "1", "lon": 1}),
                "lat: expected a number, got a string \"1\"",
            ),
            (json!({"bssid": m, "lat": 1.0}), "lat: 1 given without lon"),
            (json!({"bssid": m, "lon": 2.0}), "lon: 2 given without lat"),
            (
                json!({"bssid": m, "lat": 1, "lon": 1, "alt": 1e6}),
                "alt: 1000000.0 is out of range",
            ),
            (
                json!({"bssid": m, "speed": -1}),
                "speed: -1 is out of range (0 ..= 2000)",
            ),
            (
                json!({"bssid": m, "spd": "fast"}),
                "spd: expected a number, got a string \"fast\"",
            ),
            (
                json!({"bssid": m, "speed": 1, "spd": 2}),
                "spd: 2 disagrees with speed 1",
            ),
            (
                json!({"bssid": m, "tags": ["a"]}),
                "tags: expected an object of strings, got an array",
            ),
            (
                json!({"bssid": m, "tags": {"a": 1}}),
                "tags.a: expected a string, got a number 1",
            ),
            (
                json!({"bssid": m, "tags": {"": "x"}}),
                "tags: key \"\" must be 1-64 bytes",
            ),
        ];
        for (r, want) in cases {
            let e = err(r.clone());
            assert!(e.starts_with(want), "{r}: {e:?} should start with {want:?}");
        }
    }

    #[test]
    fn accepted_values_and_types() {
        let r = one(
            json!({"bssid": "aa:bb:cc:00:00:01", "timestamp": 1_700_000_000,
            "ssid": "Net", "capabilities": "[WPA2-PSK-CCMP][ESS]", "channel": "6",
            "freqkhz": 2437000, "signal": -45.4, "lat": 52.52, "lon": 13.405, "alt": 35.0,
            "speed": 1.5, "tags": {"b": "2", "a": "1"}}),
        )
        .unwrap();
        assert_eq!(r.mac, 0xAABB_CC00_0001);
        assert_eq!(r.time, 1_700_000_000);
        assert_eq!(r.ssid.as_deref(), Some("Net"));
        let (c, ie) = r.crypt.unwrap();
        assert_eq!(c.display(), "WPA2 WPA2-PSK AES-CCMP");
        assert_eq!(ie, kismet::adler32(b"Net[WPA2-PSK-CCMP][ESS]"));
        assert_eq!(r.channel.as_deref(), Some("6"));
        assert_eq!(r.freq_khz, Some(2_437_000));
        assert_eq!(r.signal, Some(-45));
        assert_eq!(
            r.fix,
            Some(Fix {
                lat: 52.52,
                lon: 13.405,
                alt: Some(35.0),
                speed: Some(1.5)
            })
        );
        let keys: Vec<&str> = r.tags.iter().map(|t| &*t.0).collect();
        assert_eq!(keys, ["a", "b"]);

        // Defaults, nulls, channel as a number, spd, channel from frequency, zero meaning absent.
        let r = one(
            json!({"bssid": "AA:BB:CC:00:00:02", "ssid": null, "channel": 11,
            "freqkhz": 0, "signal": 0, "timestamp": 0, "lat": 0, "lon": 13.4, "spd": 3}),
        )
        .unwrap();
        assert_eq!(r.time, NOW as u32);
        assert_eq!(r.ssid, None);
        assert_eq!(r.channel.as_deref(), Some("11"));
        assert_eq!((r.freq_khz, r.signal, r.fix), (None, None, None));
        let r = one(json!({"bssid": "AA:BB:CC:00:00:02", "freqkhz": 5180000.0,
            "timestamp": 1_699_000_000.0, "lat": 1, "lon": 2, "spd": 3, "speed": 3}))
        .unwrap();
        assert_eq!(r.channel.as_deref(), Some("36"));
        assert_eq!(r.time, 1_699_000_000);
        assert_eq!(r.fix.unwrap().speed, Some(3.0));
        assert_eq!(r.fix.unwrap().alt, None);
        let r =
            one(json!({"bssid": "AA:BB:CC:00:00:02", "channel": "0", "freqkhz": 2412000})).unwrap();
        assert_eq!(r.channel.as_deref(), Some("1"));
        let r = one(json!({"bssid": "AA:BB:CC:00:00:02", "channel": "149VHT80"})).unwrap();
        assert_eq!(r.channel.as_deref(), Some("149VHT80"));
        let r = one(json!({"bssid": "AA:BB:CC:00:00:02", "ssid": "", "capabilities": ""})).unwrap();
        assert_eq!(r.ssid.as_deref(), Some(""));
        assert_eq!(r.crypt.unwrap().0.display(), "Open");
        let r = one(json!({"bssid": "AA:BB:CC:00:00:02", "ssid": "\u{1}é"})).unwrap();
        assert_eq!(r.ssid.as_deref(), Some("\u{1}é"));
    }
}
