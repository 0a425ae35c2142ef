//! Virtual datasources: one per reporting `source_uuid`, rendered with Kismet's
//! `kismet.datasource.*` names in the shape of Kismet's `all_sources.json`.

use serde_json::{json, Map, Value};

use super::kismet::{self, Uuid};

/// One reporting device.
#[derive(Clone, Debug, PartialEq)]
pub struct Source {
    pub uuid: Uuid,
    /// 1-based creation order (`kismet.datasource.source_number`).
    pub number: u32,
    /// The name of the newest request.
    pub name: Box<str>,
    /// Accepted reports (`num_packets`).
    pub packets: u64,
    /// Rejected reports (`num_error_packets`).
    pub errors: u64,
    /// Server time of the first and last request.
    pub first: u32,
    pub last: u32,
    /// Journal sequence number of the last request that changed this record.
    pub seq: u64,
    /// Changed since the last checkpoint.
    pub dirty: bool,
    /// A capture datasource (its record is the registry's); false: a virtual scan-report
    /// source.
    pub capture: bool,
}

impl Source {
    pub fn new(uuid: Uuid, number: u32) -> Source {
        Source {
            uuid,
            number,
            name: "".into(),
            packets: 0,
            errors: 0,
            first: 0,
            last: 0,
            seq: 0,
            dirty: false,
            capture: false,
        }
    }

    /// Counts one request.
    pub fn apply(&mut self, name: &str, accepted: usize, rejected: u32, now: u32) {
        if &*self.name != name {
            self.name = name.into();
        }
        if self.packets == 0 && self.errors == 0 && self.first == 0 {
            self.first = now;
        } else {
            self.first = self.first.min(now);
        }
        self.last = self.last.max(now);
        self.packets += accepted as u64;
        self.errors += rejected as u64;
    }

    /// The `kismet.datasource.*` record.
    pub fn render(&self) -> Value {
        let uuid = kismet::format_uuid(&self.uuid);
        let mut m = Map::new();
        let mut put = |k: &str, v: Value| {
            m.insert(format!("kismet.datasource.{k}"), v);
        };
        put("source_number", self.number.into());
        put("source_key", kismet::adler32(uuid.as_bytes()).into());
        put("cmd_pending", 0.into());
        put("paused", 0.into());
        put("ipc_binary", "".into());
        put("ipc_pid", 0.into());
        put("running", 0.into());
        put("datasource_version", "".into());
        put("remote_ip", "".into());
        put("remote", 0.into());
        put("passive", 0.into());
        put("name", (*self.name).into());
        put("uuid", uuid.into());
        put("definition", "".into());
        put("interface", "".into());
        put("capture_interface", "virtual".into());
        put("hardware", "IEEE80211 scan".into());
        put("dlt", 0.into());
        put("warning", "".into());
        put("channels", json!([]));
        put("hopping", 0.into());
        put("channel", "".into());
        put("hop_rate", 0.into());
        put("hop_channels", json!([]));
        put("hop_split", 0.into());
        put("hop_offset", 0.into());
        put("hop_shuffle", 0.into());
        put("hop_shuffle_skip", 0.into());
        put("error", 0.into());
        put("error_reason", "".into());
        put("num_packets", self.packets.into());
        put("num_error_packets", self.errors.into());
        put("packets_rrd", rrd(self.last, true));
        put("packets_datasize_rrd", rrd(self.last, true));
        put("retry", 0.into());
        put("retry_attempts", 0.into());
        put("total_retry_attempts", 0.into());
        put("info.antenna_type", "".into());
        put("info.antenna_gain", 0.into());
        put("info.antenna_orientation", 0.into());
        put("info.antenna_beamwidth", 0.into());
        put("info.amp_type", "".into());
        put("info.amp_gain", 0.into());
        put("linktype_override", 0.into());
        put(
            "type_driver",
            crate::datasource::types::driver(crate::datasource::types::Driver::Virtual),
        );
        // airsift's additions: when the source first and last reported (server time).
        m.insert(
            "airsift.datasource.first_report_time".into(),
            self.first.into(),
        );
        m.insert(
            "airsift.datasource.last_report_time".into(),
            self.last.into(),
        );
        Value::Object(m)
    }
}

/// A Kismet RRD with every bucket zero (airsift keeps no per-second history for scan data);
/// `full` adds the hour and day vectors.
pub fn rrd(last_time: u32, full: bool) -> Value {
    let zeros = |n: usize| Value::Array(vec![Value::from(0); n]);
    let mut m = Map::new();
    m.insert("kismet.common.rrd.last_time".into(), last_time.into());
    m.insert("kismet.common.rrd.serial_time".into(), last_time.into());
    m.insert("kismet.common.rrd.last_value".into(), 0.into());
    m.insert("kismet.common.rrd.last_value_n1".into(), 0.into());
    m.insert("kismet.common.rrd.minute_vec".into(), zeros(60));
    if full {
        m.insert("kismet.common.rrd.hour_vec".into(), zeros(60));
        m.insert("kismet.common.rrd.day_vec".into(), zeros(24));
    }
    m.insert("kismet.common.rrd.blank_val".into(), 0.into());
    Value::Object(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every key and value type of Kismet's reference record, in order.
    #[test]
    fn shape_matches_kismet_reference() {
        // Kismet 2025-09's answer, copied from the shared reference.
        let reference: Value =
            serde_json::from_str(include_str!("testdata/kismet_all_sources.json")).unwrap();
        let want = &reference[0];
        let mut s = Source::new(
            kismet::parse_uuid("11111111-2222-3333-4444-555555555555").unwrap(),
            1,
        );
        s.apply("ref-scanner", 3, 0, 1_795_446_339);
        let got = s.render();
        let (want, got) = (want.as_object().unwrap(), got.as_object().unwrap());
        let want_keys: Vec<&String> = want.keys().collect();
        let got_keys: Vec<&String> = got.keys().filter(|k| !k.starts_with("airsift.")).collect();
        assert_eq!(got_keys, want_keys);
        for (k, v) in want {
            assert_eq!(
                std::mem::discriminant(v),
                std::mem::discriminant(&got[k]),
                "{k}"
            );
        }
        // Equal except the clock-dependent RRD times.
        let mut got = got.clone();
        let mut want = want.clone();
        for m in [&mut got, &mut want] {
            m.remove("kismet.datasource.packets_rrd");
            m.remove("kismet.datasource.packets_datasize_rrd");
            m.retain(|k, _| !k.starts_with("airsift."));
        }
        assert_eq!(got, want);
    }

    #[test]
    fn counts_and_rename() {
        let mut s = Source::new([0; 16], 1);
        s.apply("a", 3, 1, 100);
        s.apply("b", 2, 0, 90);
        assert_eq!((s.packets, s.errors, s.first, s.last), (5, 1, 90, 100));
        assert_eq!(&*s.name, "b");
    }
}
