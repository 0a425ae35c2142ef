//! Service-level tests: ingest through `ScanService`, read back through its queries, reopen.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use dataplane::filter::{Action, Block, FilterModel, PHY_80211};
use regex::Regex;
use serde_json::{json, Map, Value};

use super::journal::Policy;
use super::*;
use crate::store::testdir::TestDir;

const UUID_A: &str = "11111111-2222-3333-4444-555555555555";
const UUID_B: &str = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee";
const NOW: i64 = 1_800_000_000;

fn open(dir: &TestDir) -> ScanService {
    let store = Arc::new(Store::open(dir.path()).unwrap());
    ScanService::open(store).unwrap()
}

fn open_policy(dir: &TestDir, policy: Policy) -> ScanService {
    let store = Arc::new(Store::open(dir.path()).unwrap());
    ScanService::open_with(store, policy, None, 0).unwrap()
}

fn dict(v: Value) -> Map<String, Value> {
    v.as_object().unwrap().clone()
}

fn request(uuid: &str, name: &str, reports: Value) -> Map<String, Value> {
    dict(json!({"source_uuid": uuid, "source_name": name, "reports": reports}))
}

fn all(s: &ScanService) -> Vec<Value> {
    s.query(&DeviceQuery::default()).devices
}

fn by_mac(s: &ScanService, mac: &str) -> Value {
    let q = DeviceQuery {
        mac: Some(mac.parse().unwrap()),
        ..DeviceQuery::default()
    };
    let mut d = s.query(&q).devices;
    assert_eq!(d.len(), 1, "{mac}");
    d.remove(0)
}

fn macs(p: &DevicePage) -> Vec<String> {
    p.devices
        .iter()
        .map(|d| {
            d["kismet.device.base.macaddr"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect()
}

fn mac(i: u32) -> String {
    format!(
        "02:00:{:02X}:{:02X}:{:02X}:{:02X}",
        i >> 24,
        (i >> 16) & 0xFF,
        (i >> 8) & 0xFF,
        i & 0xFF
    )
}

#[test]
fn service_is_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<ScanService>();
}

// ---- Kismet's reference ---------------------------------------------------------------------

/// Same keys in the same order at every level, same JSON types.
fn same_shape(want: &Value, got: &Value, path: &str, diffs: &mut Vec<String>) {
    match (want, got) {
        (Value::Object(a), Value::Object(b)) => {
            let ka: Vec<&String> = a.keys().collect();
            let kb: Vec<&String> = b.keys().filter(|k| !k.starts_with("airsift.")).collect();
            if ka != kb {
                diffs.push(format!("{path}: keys {ka:?} != {kb:?}"));
            }
            for (k, v) in a {
                if let Some(w) = b.get(k) {
                    same_shape(v, w, &format!("{path}/{k}"), diffs);
                }
            }
        }
        (Value::Array(a), Value::Array(b)) => {
            if a.len() != b.len() {
                diffs.push(format!("{path}: {} items != {}", a.len(), b.len()));
            }
            for (i, (v, w)) in a.iter().zip(b).enumerate() {
                same_shape(v, w, &format!("{path}/{i}"), diffs);
            }
        }
        (a, b) if std::mem::discriminant(a) != std::mem::discriminant(b) => {
            diffs.push(format!("{path}: {a} vs {b}"));
        }
        _ => {}
    }
}

/// Drops what depends on the clock or on Kismet internals airsift does not reproduce.
fn mask(v: &mut Value, extra: &[&str]) {
    const VOLATILE: &[&str] = &[
        "kismet.server.uuid",
        "kismet.device.base.mod_time",
        "kismet.common.location.time_sec",
        "kismet.common.location.time_usec",
        "dot11.advertisedssid.ssid_hash",
        "kismet.device.base.basic_crypt_set",
    ];
    match v {
        Value::Object(m) => {
            m.retain(|k, _| {
                !(k.ends_with("rrd")
                    || k.starts_with("airsift.")
                    || VOLATILE.contains(&k.as_str())
                    || extra.contains(&k.as_str()))
            });
            for v in m.values_mut() {
                mask(v, extra);
            }
        }
        Value::Array(a) => a.iter_mut().for_each(|v| mask(v, extra)),
        _ => {}
    }
}

#[test]
fn reference_batch_renders_like_kismet() {
    let t = TestDir::new("scan-ref");
    let s = open(&t);
    let req: Value =
        serde_json::from_str(include_str!("testdata/kismet_scan_report_request.json")).unwrap();
    let want: Value =
        serde_json::from_str(include_str!("testdata/kismet_devices_view_all.json")).unwrap();
    // Kismet stamped the report without a timestamp with its clock: 1795446337.
    let r = s.ingest(req.as_object().unwrap(), 1_795_446_337).unwrap();
    assert_eq!(
        r,
        IngestReply {
            accepted: 3,
            rejected: vec![]
        }
    );
    let got = all(&s);
    let want = want.as_array().unwrap();
    assert_eq!(got.len(), want.len());
    for (i, (w, g)) in want.iter().zip(&got).enumerate() {
        let mut diffs = Vec::new();
        same_shape(w, g, "", &mut diffs);
        assert!(diffs.is_empty(), "device {i}: {diffs:#?}");
        // Kismet misses TKIP and WPS in the third report's capabilities; airsift reports them.
        let extra: &[&str] = if i == 2 {
            &[
                "kismet.device.base.crypt",
                "dot11.advertisedssid.crypt_bitfield",
                "dot11.advertisedssid.crypt_set",
                "dot11.advertisedssid.crypt_string",
            ]
        } else {
            &[]
        };
        let (mut w, mut g) = (w.clone(), g.clone());
        mask(&mut w, extra);
        mask(&mut g, extra);
        assert_eq!(g, w, "device {i}");
    }
    assert_eq!(
        got[2]["kismet.device.base.crypt"],
        "WPA WPA2 WPA-EAP WPA2-EAP TKIP AES-CCMP WPS"
    );
    assert_eq!(got[0]["kismet.device.base.basic_crypt_set"], 6);
    let ds = s.datasources();
    assert_eq!(ds.len(), 1);
    assert_eq!(ds[0]["kismet.datasource.num_packets"], 3);
    assert_eq!(ds[0]["kismet.datasource.source_key"], 2_167_277_340u32);
}

// ---- validation through the service --------------------------------------------------------

#[test]
fn bad_top_level_stores_nothing_and_partial_batches_store_the_good() {
    let t = TestDir::new("scan-validate");
    let s = open(&t);
    for bad in [
        json!({"source_name": "n", "reports": [{"bssid": "02:00:00:00:00:01"}]}),
        json!({"source_uuid": "x", "source_name": "n", "reports": [{"bssid": "02:00:00:00:00:01"}]}),
        json!({"source_uuid": UUID_A, "source_name": 5, "reports": [{"bssid": "02:00:00:00:00:01"}]}),
        json!({"source_uuid": UUID_A, "source_name": "n", "reports": {"bssid": "02:00:00:00:00:01"}}),
    ] {
        match s.ingest(&dict(bad.clone()), NOW) {
            Err(IngestError::BadRequest(m)) => assert!(!m.is_empty()),
            other => panic!("{bad}: {other:?}"),
        }
    }
    assert_eq!(s.device_count(), 0);
    assert!(s.datasources().is_empty());

    let r = s
        .ingest(
            &request(
                UUID_A,
                "phone",
                json!([
                    {"bssid": "02:00:00:00:00:01", "ssid": "a", "channel": 6},
                    {"bssid": "02:00:00:00:00:02", "signal": "strong"},
                    {"bssid": "02:00:00:00:00:03", "speed": 2.5, "lat": 1, "lon": 2},
                    {"bssid": "02:00:00:00:00:04", "spd": 3.5, "lat": 1, "lon": 2,
                     "tags": {"who": "me"}},
                    {"bssid": "02:00:00:00:00:05", "tags": {"n": 1}},
                ]),
            ),
            NOW,
        )
        .unwrap();
    assert_eq!(r.accepted, 3);
    assert_eq!(
        r.rejected,
        vec![
            Rejected {
                index: 1,
                error: "signal: expected a number, got a string \"strong\"".into()
            },
            Rejected {
                index: 4,
                error: "tags.n: expected a string, got a number 1".into()
            },
        ]
    );
    assert_eq!(s.device_count(), 3);
    let d = by_mac(&s, "02:00:00:00:00:01");
    assert_eq!(d["kismet.device.base.channel"], "6");
    assert_eq!(d["kismet.device.base.first_time"], NOW);
    let d = by_mac(&s, "02:00:00:00:00:03");
    assert_eq!(
        d["kismet.device.base.location"]["kismet.common.location.last"]
            ["kismet.common.location.speed"],
        2.5
    );
    let d = by_mac(&s, "02:00:00:00:00:04");
    assert_eq!(
        d["kismet.device.base.location"]["kismet.common.location.last"]
            ["kismet.common.location.speed"],
        3.5
    );
    assert_eq!(d["kismet.device.base.tags"], json!({"who": "me"}));
    let ds = &s.datasources()[0];
    assert_eq!(ds["kismet.datasource.num_packets"], 3);
    assert_eq!(ds["kismet.datasource.num_error_packets"], 2);
}

// ---- datasources ----------------------------------------------------------------------------

#[test]
fn datasource_created_renamed_and_counted() {
    let t = TestDir::new("scan-sources");
    let s = open(&t);
    let r = |n: u32| json!([{"bssid": mac(n)}]);
    s.ingest(&request(UUID_A, "first", r(1)), NOW).unwrap();
    s.ingest(&request(UUID_B, "other", r(2)), NOW + 5).unwrap();
    s.ingest(
        &request(
            UUID_A.to_uppercase().as_str(),
            "renamed",
            json!([{"bssid": mac(3)}, {}]),
        ),
        NOW + 10,
    )
    .unwrap();
    s.ingest(&request(UUID_A, "renamed", json!([])), NOW + 20)
        .unwrap();
    let ds = s.datasources();
    assert_eq!(ds.len(), 2);
    let a = &ds[0];
    assert_eq!(a["kismet.datasource.uuid"], UUID_A);
    assert_eq!(a["kismet.datasource.name"], "renamed");
    assert_eq!(a["kismet.datasource.source_number"], 1);
    assert_eq!(a["kismet.datasource.num_packets"], 2);
    assert_eq!(a["kismet.datasource.num_error_packets"], 1);
    assert_eq!(a["kismet.datasource.running"], 0);
    assert_eq!(a["kismet.datasource.hardware"], "IEEE80211 scan");
    assert_eq!(a["kismet.datasource.capture_interface"], "virtual");
    assert_eq!(
        a["kismet.datasource.type_driver"]["kismet.datasource.driver.type"],
        "virtual"
    );
    assert_eq!(a["airsift.datasource.first_report_time"], NOW);
    assert_eq!(a["airsift.datasource.last_report_time"], NOW + 20);
    assert_eq!(ds[1]["kismet.datasource.source_number"], 2);
    assert_eq!(s.datasource(&UUID_B.to_uppercase()).unwrap(), ds[1]);
    assert!(s
        .datasource("99999999-2222-3333-4444-555555555555")
        .is_none());
    assert!(s.datasource("nope").is_none());

    // Seen-by: one record per datasource.
    s.ingest(&request(UUID_B, "other", r(1)), NOW + 30).unwrap();
    let d = by_mac(&s, &mac(1));
    let seen = d["kismet.device.base.seenby"].as_array().unwrap();
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[1]["kismet.common.seenby.uuid"], UUID_B.to_uppercase());
    assert_eq!(seen[1]["kismet.common.seenby.num_packets"], 1);
    assert_eq!(
        seen[1]["kismet.common.seenby.source"]["kismet.datasource.name"],
        "other"
    );
}

// ---- device record rules --------------------------------------------------------------------

#[test]
fn late_cached_reports_move_first_time_not_last_time() {
    let t = TestDir::new("scan-late");
    let s = open(&t);
    let m = "02:00:00:00:00:01";
    s.ingest(
        &request(
            UUID_A,
            "p",
            json!([{"bssid": m, "timestamp": NOW - 100, "signal": -60,
            "channel": "6", "ssid": "new"}]),
        ),
        NOW,
    )
    .unwrap();
    s.ingest(
        &request(
            UUID_A,
            "p",
            json!([{"bssid": m, "timestamp": NOW - 5000, "signal": -30,
            "channel": "11", "ssid": "old"}]),
        ),
        NOW + 1,
    )
    .unwrap();
    let d = by_mac(&s, m);
    assert_eq!(d["kismet.device.base.last_time"], NOW - 100);
    assert_eq!(d["kismet.device.base.first_time"], NOW - 5000);
    assert_eq!(d["kismet.device.base.channel"], "6");
    assert_eq!(d["kismet.device.base.name"], "new");
    let sig = &d["kismet.device.base.signal"];
    assert_eq!(sig["kismet.common.signal.last_signal"], -60);
    assert_eq!(sig["kismet.common.signal.max_signal"], -30);
    assert_eq!(sig["kismet.common.signal.min_signal"], -60);
    assert_eq!(d["dot11.device"]["dot11.device.num_advertised_ssids"], 2);
    let seen = &d["kismet.device.base.seenby"][0];
    assert_eq!(seen["kismet.common.seenby.first_time"], NOW - 5000);
    assert_eq!(seen["kismet.common.seenby.last_time"], NOW - 100);
}

#[test]
fn location_average_only_with_both_coordinates_and_3d_with_altitude() {
    let t = TestDir::new("scan-loc");
    let s = open(&t);
    let m = "02:00:00:00:00:01";
    s.ingest(
        &request(
            UUID_A,
            "p",
            json!([
                {"bssid": m, "timestamp": NOW - 30, "lat": 10.0, "lon": 20.0, "signal": -50},
                {"bssid": m, "timestamp": NOW - 20, "lat": 0, "lon": 50.0},
                {"bssid": m, "timestamp": NOW - 10, "lat": 12.0, "lon": 22.0, "alt": 30.0},
            ]),
        ),
        NOW,
    )
    .unwrap();
    let l = by_mac(&s, m)["kismet.device.base.location"].clone();
    assert_eq!(l["kismet.common.location.loc_fix"], 3);
    let avg = &l["kismet.common.location.avg_loc"];
    assert_eq!(avg["kismet.common.location.geopoint"], json!([21, 11]));
    assert_eq!(avg["kismet.common.location.alt"], 30);
    assert_eq!(avg["kismet.common.location.fix"], 3);
    let last = &l["kismet.common.location.last"];
    assert_eq!(last["kismet.common.location.geopoint"], json!([22, 12]));
    assert_eq!(last["kismet.common.location.fix"], 3);
    assert_eq!(
        l["kismet.common.location.min_loc"],
        json!({"kismet.common.location.geopoint": [20, 10], "kismet.common.location.alt": 30})
    );
    let d = by_mac(&s, m);
    assert_eq!(
        d["kismet.device.base.signal"]["kismet.common.signal.peak_loc"]
            ["kismet.common.location.geopoint"],
        json!([20, 10])
    );
    // No fix at all: no location record.
    s.ingest(
        &request(
            UUID_A,
            "p",
            json!([{"bssid": "02:00:00:00:00:02", "lat": 0, "lon": 0}]),
        ),
        NOW,
    )
    .unwrap();
    assert!(by_mac(&s, "02:00:00:00:00:02")
        .get("kismet.device.base.location")
        .is_none());
}

#[test]
fn ssid_record_crypt_cloaked_and_manufacturer() {
    let t = TestDir::new("scan-ssid");
    let s = open(&t);
    s.ingest(
        &request(
            UUID_A,
            "p",
            json!([
                {"bssid": "B8:27:EB:00:00:01", "ssid": "Lab\u{7}", "capabilities":
                    "[RSN-PSK+SAE-CCMP][ESS][MFPC]"},
                {"bssid": "00:0C:29:00:00:02", "ssid": "", "capabilities": "[IBSS]"},
                {"bssid": "00:0C:29:00:00:03"},
            ]),
        ),
        NOW,
    )
    .unwrap();
    let d = by_mac(&s, "B8:27:EB:00:00:01");
    assert_eq!(d["kismet.device.base.manuf"], "Raspberry Pi Foundation");
    assert_eq!(d["kismet.device.base.name"], "Lab\\x07");
    let rec = &d["dot11.device"]["dot11.device.last_beaconed_ssid_record"];
    assert_eq!(rec["dot11.advertisedssid.ssid"], "Lab\\x07");
    assert_eq!(rec["dot11.advertisedssid.ssidlen"], 4);
    assert_eq!(rec["dot11.advertisedssid.cloaked"], 0);
    assert_eq!(rec["dot11.advertisedssid.wpa_mfp_supported"], 1);
    assert_eq!(rec["dot11.advertisedssid.wpa_mfp_required"], 0);
    assert_eq!(
        rec["dot11.advertisedssid.crypt_string"],
        "WPA2 WPA3 WPA2-PSK WPA3-SAE AES-CCMP"
    );
    assert_eq!(
        d["kismet.device.base.crypt"],
        rec["dot11.advertisedssid.crypt_string"]
    );
    let d = by_mac(&s, "00:0C:29:00:00:02");
    assert_eq!(d["kismet.device.base.manuf"], "VMware, Inc.");
    assert_eq!(d["kismet.device.base.name"], "00:0C:29:00:00:02");
    assert_eq!(d["kismet.device.base.type"], "Wi-Fi Ad-Hoc");
    let rec = &d["dot11.device"]["dot11.device.last_beaconed_ssid_record"];
    assert_eq!(rec["dot11.advertisedssid.cloaked"], 1);
    let d = by_mac(&s, "00:0C:29:00:00:03");
    assert_eq!(d["kismet.device.base.type"], "Wi-Fi AP");
    assert!(d["dot11.device"]
        .get("dot11.device.last_beaconed_ssid_record")
        .is_none());
    assert_eq!(
        d["dot11.device"]["dot11.device.advertised_ssid_map"],
        json!([])
    );
}

// ---- queries ---------------------------------------------------------------------------------

/// 200 devices: i = 0..200 at time NOW - 1000 + i, signal -(i % 90) - 10, SSID "net-i".
fn populated(t: &TestDir) -> ScanService {
    let s = open(t);
    for chunk in (0..200u32).collect::<Vec<_>>().chunks(50) {
        let reports: Vec<Value> = chunk
            .iter()
            .map(|&i| {
                json!({"bssid": mac(i), "timestamp": NOW - 1000 + i as i64,
                    "signal": -((i % 90) as i64) - 10, "ssid": format!("net-{i}")})
            })
            .collect();
        s.ingest(&request(UUID_A, "p", Value::Array(reports)), NOW)
            .unwrap();
    }
    s
}

#[test]
fn queries_select_sort_and_paginate() {
    let t = TestDir::new("scan-query");
    let s = populated(&t);
    let q = |f: &dyn Fn(&mut DeviceQuery)| {
        let mut q = DeviceQuery::default();
        f(&mut q);
        s.query(&q)
    };

    // Views: every scan device is an access point.
    for v in [View::All, View::AccessPoints] {
        assert_eq!(q(&|q| q.view = Some(v)).total, 200);
    }
    // Default order: by MAC.
    let p = q(&|_| {});
    assert_eq!(macs(&p)[..3], [mac(0), mac(1), mac(2)]);

    // last_time, through the time index: only the devices returned are examined.
    let p = q(&|q| q.last_time = Some(NOW - 1000 + 195));
    assert_eq!(macs(&p), (195..200).map(mac).collect::<Vec<_>>());
    let sel = query::select(
        &s.read(),
        &DeviceQuery {
            last_time: Some(NOW - 1000 + 195),
            ..DeviceQuery::default()
        },
        "u",
    );
    assert_eq!((sel.total, sel.examined), (5, 5));
    assert_eq!(q(&|q| q.last_time = Some(NOW + 1)).total, 0);
    assert_eq!(q(&|q| q.last_time = Some(i64::MAX)).total, 0);
    assert_eq!(q(&|q| q.last_time = Some(-5)).total, 200);

    // MAC, masked MAC, key.
    let p = q(&|q| q.mac = Some(format!("{}/FF:FF:FF:FF:FF:F0", mac(0x20)).parse().unwrap()));
    assert_eq!(macs(&p), (0x20..0x30).map(mac).collect::<Vec<_>>());
    let p = q(&|q| q.mac = Some(mac(7).parse().unwrap()));
    assert_eq!(macs(&p), [mac(7)]);
    let key = p.devices[0]["kismet.device.base.key"]
        .as_str()
        .unwrap()
        .to_string();
    let p = q(&|q| q.key = Some(key.to_lowercase()));
    assert_eq!(macs(&p), [mac(7)]);
    assert_eq!(q(&|q| q.key = Some("bogus".into())).total, 0);

    // Regex: any pair matches.
    let p =
        q(&|q| {
            q.regex =
                vec![
            ("kismet.device.base.name".into(), Regex::new("^net-1[0-2]$").unwrap()),
            (
                "dot11.device/dot11.device.last_beaconed_ssid_record/dot11.advertisedssid.ssid"
                    .into(),
                Regex::new("^net-199$").unwrap(),
            ),
            ("kismet.device.base.nonexistent".into(), Regex::new("").unwrap()),
        ]
        });
    assert_eq!(macs(&p), [mac(10), mac(11), mac(12), mac(199)]);

    // Filter table: a blocked source (or network) hides the AP.
    let mut f = FilterModel::new("capture", "");
    f.set_terms(
        PHY_80211,
        Block::Source,
        [(mac(3).parse().unwrap(), Action::Block)],
    );
    f.set_terms(
        PHY_80211,
        Block::Network,
        [(
            format!("{}/FF:FF:FF:FF:FF:F0", mac(0x40)).parse().unwrap(),
            Action::Block,
        )],
    );
    f.set_terms(
        PHY_80211,
        Block::Destination,
        [(mac(5).parse().unwrap(), Action::Block)],
    );
    let table = Arc::new(f.compile());
    let p = q(&|q| q.filter = Some(table.clone()));
    assert_eq!(p.total, 200 - 1 - 16, "destination terms do not hide an AP");
    assert!(!macs(&p).contains(&mac(3)));
    assert!(macs(&p).contains(&mac(5)));

    // Sort numerically and lexically, descending, with pagination.
    let p = q(&|q| {
        q.sort = Some(Sort {
            path: "kismet.device.base.signal/kismet.common.signal.last_signal".into(),
            descending: true,
        });
        q.length = 3;
    });
    assert_eq!(p.total, 200);
    assert_eq!(
        macs(&p),
        [mac(0), mac(90), mac(180)],
        "-10 dBm, ties by MAC"
    );
    let p = q(&|q| {
        q.sort = Some(Sort {
            path: "kismet.device.base.name".into(),
            descending: false,
        });
        q.page = 1;
        q.length = 2;
    });
    // net-0, net-1, net-10, net-100, net-101, ... lexically
    assert_eq!(macs(&p), [mac(10), mac(100)]);
    let p = q(&|q| {
        q.page = 99;
        q.length = 50;
    });
    assert_eq!((p.total, p.devices.len()), (200, 0));
    let p = q(&|q| {
        q.page = 3;
        q.length = 50;
    });
    assert_eq!(macs(&p)[0], mac(150));

    // `fields`: only the top-level fields the paths start with, same values.
    let full = q(&|q| q.mac = Some(mac(9).parse().unwrap()));
    let part = q(&|q| {
        q.mac = Some(mac(9).parse().unwrap());
        q.fields = vec![
            "kismet.device.base.macaddr".into(),
            "kismet.device.base.signal/kismet.common.signal.last_signal".into(),
            "no.such.field".into(),
        ];
    });
    let part = part.devices[0].as_object().unwrap();
    assert_eq!(
        part.keys().collect::<Vec<_>>(),
        ["kismet.device.base.macaddr", "kismet.device.base.signal"]
    );
    for (k, v) in part {
        assert_eq!(&full.devices[0][k], v);
    }
}

// ---- durability -----------------------------------------------------------------------------

fn snapshot(s: &ScanService) -> (Vec<Value>, Vec<Value>) {
    let mut d = all(s);
    for v in d.iter_mut() {
        // The seen-by source docs embed counters that are compared through datasources().
        v.as_object_mut().unwrap().remove("kismet.server.uuid");
    }
    (d, s.datasources())
}

fn varied_batch(round: u32, uuid: &str) -> Map<String, Value> {
    let reports: Vec<Value> = (0..40u32)
        .map(|i| {
            let n = (i * 7 + round * 3) % 60;
            let caps = ["[WPA2-PSK-CCMP][ESS]", "[OWE]", ""][(i % 3) as usize];
            json!({"bssid": mac(n), "timestamp": NOW - 500 + ((round * 13 + i) % 97) as i64,
                "ssid": format!("s{}", n % 5), "capabilities": caps,
                "channel": if i % 4 == 0 { json!(null) } else { json!((i % 11) + 1) },
                "freqkhz": 2_412_000 + 5_000 * (i % 11),
                "signal": -30 - ((i + round) % 60) as i64,
                "lat": if i % 5 == 0 { 0.0 } else { 40.0 + i as f64 / 100.0 },
                "lon": 10.0 + round as f64 / 10.0,
                "alt": if i % 2 == 0 { json!(100.5) } else { json!(null) },
                "speed": 1.25,
                "tags": if i % 6 == 0 { json!({"r": format!("{round}")}) } else { json!(null) }})
        })
        .chain(std::iter::once(json!({"bssid": "bad"})))
        .collect();
    request(uuid, &format!("name-{}", round % 3), Value::Array(reports))
}

#[test]
fn recovery_rebuilds_the_same_state() {
    let t = TestDir::new("scan-recover");
    let before;
    {
        // Small checkpoints so that recovery meets chunks, trimmed journal and replay at once.
        let s = open_policy(
            &t,
            Policy {
                rows: 4,
                chunk: 7,
                ..Policy::default()
            },
        );
        for round in 0..30 {
            let uuid = if round % 2 == 0 { UUID_A } else { UUID_B };
            s.ingest(&varied_batch(round, uuid), NOW + round as i64)
                .unwrap();
            if round == 10 {
                s.checkpoint().unwrap();
            }
        }
        before = snapshot(&s);
        assert_eq!(before.0.len(), 60);
    }
    // Reopen twice: from the journal + checkpoint, then again after a full checkpoint.
    let s = open(&t);
    assert_eq!(snapshot(&s), before);
    s.checkpoint().unwrap();
    drop(s);
    let s = open(&t);
    assert_eq!(snapshot(&s), before);
    let left: i64 = Store::open(t.path())
        .unwrap()
        .transaction(|tx| Ok(tx.query_row("SELECT count(*) FROM scan_journal", [], |r| r.get(0))?))
        .unwrap();
    assert_eq!(left, 0, "a full checkpoint trims the journal");
    // And the server UUID is stable.
    let u = s.server_uuid().to_string();
    drop(s);
    assert_eq!(open(&t).server_uuid(), u);
}

#[test]
fn concurrent_ingest_every_acknowledged_report_is_present() {
    let t = TestDir::new("scan-concurrent");
    let s = Arc::new(open(&t));
    let threads: Vec<_> = (0..8u32)
        .map(|th| {
            let s = s.clone();
            std::thread::spawn(move || {
                let mut acked = 0;
                for b in 0..20u32 {
                    let reports: Vec<Value> = (0..50u32)
                        .map(|i| json!({"bssid": mac(th << 16 | b << 8 | i), "signal": -40}))
                        .collect();
                    let uuid = format!("00000000-0000-0000-0000-00000000000{th}");
                    let r = s
                        .ingest(&request(&uuid, "t", Value::Array(reports)), NOW)
                        .unwrap();
                    acked += r.accepted;
                }
                acked
            })
        })
        .collect();
    let acked: usize = threads.into_iter().map(|h| h.join().unwrap()).sum();
    assert_eq!(acked, 8 * 20 * 50);
    assert_eq!(s.device_count(), acked);
    let per_source: Vec<u64> = s
        .datasources()
        .iter()
        .map(|d| d["kismet.datasource.num_packets"].as_u64().unwrap())
        .collect();
    assert_eq!(per_source, vec![1000; 8]);
    drop(s);
    assert_eq!(open(&t).device_count(), acked);
}

const CRASH_ENV: &str = "AIRSIFT_SCAN_CRASH_CHILD_DIR";

/// Child half of `acknowledged_reports_survive_abort`: ingests from several threads with small
/// checkpoints running, logs every acknowledged batch, and aborts (no destructor, no close)
/// right after the last counted reply. Does nothing unless the parent started it.
#[test]
fn crash_child_ingests_then_aborts() {
    let Some(dir) = std::env::var_os(CRASH_ENV) else {
        return;
    };
    let dir = std::path::PathBuf::from(dir);
    let store = Arc::new(Store::open(&dir).unwrap());
    let s = Arc::new(
        ScanService::open_with(
            store,
            Policy {
                rows: 10,
                chunk: 64,
                ..Policy::default()
            },
            None,
            0,
        )
        .unwrap(),
    );
    let log = Arc::new(Mutex::new(
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.join("acked.log"))
            .unwrap(),
    ));
    let finished = Arc::new(AtomicUsize::new(0));
    const WORKERS: usize = 4;
    // One more thread keeps posting until the abort: its requests are in flight at the crash.
    for th in 0..=WORKERS as u32 {
        let (s, log, finished) = (s.clone(), log.clone(), finished.clone());
        std::thread::spawn(move || {
            for b in 0..if th == WORKERS as u32 { u32::MAX } else { 25 } {
                let reports: Vec<Value> = (0..100u32)
                    .map(|i| json!({"bssid": mac(th << 24 | (b & 0xFFFF) << 8 | i)}))
                    .collect();
                s.ingest(&request(UUID_A, "crash", Value::Array(reports)), NOW)
                    .unwrap();
                writeln!(log.lock().unwrap(), "{th} {b}").unwrap();
            }
            if finished.fetch_add(1, Ordering::SeqCst) + 1 == WORKERS {
                std::process::abort();
            }
        });
    }
    std::thread::sleep(Duration::from_secs(120));
    panic!("the child did not abort");
}

#[test]
fn acknowledged_reports_survive_abort() {
    let t = TestDir::new("scan-crash");
    std::fs::create_dir_all(t.path()).unwrap();
    let status = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "scan::tests::crash_child_ingests_then_aborts",
            "--test-threads=1",
        ])
        .env(CRASH_ENV, t.path())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(!status.success(), "the child must have aborted");
    let log = std::fs::read_to_string(t.path().join("acked.log")).unwrap();
    let mut acked: BTreeMap<u32, u32> = BTreeMap::new();
    for line in log.lines() {
        let (th, b) = line.split_once(' ').unwrap();
        let (th, b): (u32, u32) = (th.parse().unwrap(), b.parse().unwrap());
        assert!(b < 25 || th == 4, "{line}");
        *acked.entry(th).or_default() += 1;
    }
    assert!(
        acked.len() >= 4 && (0..4).all(|th| acked[&th] == 25),
        "{acked:?}"
    );
    let s = open(&t);
    let total: u32 = acked.values().sum();
    assert!(
        s.device_count() >= total as usize * 100,
        "{} devices for {total} acknowledged batches",
        s.device_count()
    );
    for line in log.lines() {
        let (th, b) = line.split_once(' ').unwrap();
        let (th, b): (u32, u32) = (th.parse().unwrap(), b.parse().unwrap());
        for i in [0u32, 57, 99] {
            let m = mac(th << 24 | (b & 0xFFFF) << 8 | i);
            let q = DeviceQuery {
                mac: Some(m.parse().unwrap()),
                ..DeviceQuery::default()
            };
            assert_eq!(
                s.query(&q).total,
                1,
                "acknowledged {m} (thread {th} batch {b})"
            );
        }
    }
    let n = s.datasources()[0]["kismet.datasource.num_packets"]
        .as_u64()
        .unwrap();
    assert!(n >= total as u64 * 100);
}

// ---- measurements (ignored; run in release) -------------------------------------------------
//
//   cargo test --release -p control --lib scan::tests::bench_ -- --ignored --nocapture --test-threads=1

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

/// A realistic report for BSSID number `n`.
fn bench_report(n: u32, t: i64) -> Value {
    const CAPS: [&str; 4] = [
        "[WPA2-PSK-CCMP][ESS]",
        "[WPA-PSK-TKIP+CCMP][WPA2-PSK-TKIP+CCMP][ESS][WPS]",
        "[RSN-SAE-CCMP][ESS][MFPC][MFPR]",
        "[ESS]",
    ];
    const CHANNELS: [(&str, u32); 5] = [
        ("1", 2_412_000),
        ("6", 2_437_000),
        ("11", 2_462_000),
        ("36", 5_180_000),
        ("149", 5_745_000),
    ];
    let (channel, freq) = CHANNELS[(n % 5) as usize];
    json!({
        "bssid": mac(n),
        "timestamp": t,
        "ssid": format!("net-{:06}", n % 50_000),
        "capabilities": CAPS[(n % 4) as usize],
        "channel": channel,
        "freqkhz": freq,
        "signal": -30 - (n % 60) as i64,
        "lat": 52.5 + (n % 1000) as f64 / 10_000.0,
        "lon": 13.4 + (n % 777) as f64 / 10_000.0,
        "alt": 34.0,
    })
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

/// 16 threads x batches of 100 over 100k distinct BSSIDs through `ScanService::ingest`.
/// Mode "map": requests pre-parsed (the service's own cost); mode "bytes": each request parsed
/// from its JSON body first, as the endpoint does.
#[test]
#[ignore]
fn bench_ingest_throughput() {
    const THREADS: u32 = 16;
    const POOL: u32 = 64; // distinct requests per thread: 16 x 64 x 100 = 102,400 reports
                          // Passes over the pool (AIRSIFT_BENCH_ROUNDS, default 12: 1.2M reports).
    let rounds: u32 = std::env::var("AIRSIFT_BENCH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(12);
    // AIRSIFT_BENCH_PRELOAD=1000000: store that many other devices first (then checkpoint).
    let preload: u32 = std::env::var("AIRSIFT_BENCH_PRELOAD")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    for mode in ["map", "bytes"] {
        let t = TestDir::new("scan-bench");
        let s = Arc::new(open(&t));
        if preload > 0 {
            let t0 = std::time::Instant::now();
            let loaders: Vec<_> = (0..4u32)
                .map(|l| {
                    let s = s.clone();
                    std::thread::spawn(move || {
                        for b in (l..preload / 100).step_by(4) {
                            let reports: Vec<Value> = (0..100u32)
                                .map(|i| bench_report(0x0100_0000 + b * 100 + i, NOW - 7200))
                                .collect();
                            s.ingest(&request(UUID_B, "preload", Value::Array(reports)), NOW)
                                .unwrap();
                        }
                    })
                })
                .collect();
            loaders.into_iter().for_each(|h| h.join().unwrap());
            s.checkpoint().unwrap();
            eprintln!(
                "preloaded {} devices (and checkpointed) in {:?}",
                s.device_count(),
                t0.elapsed()
            );
        }
        let start_barrier = Arc::new(std::sync::Barrier::new(THREADS as usize + 1));
        let handles: Vec<_> = (0..THREADS)
            .map(|th| {
                let (s, barrier) = (s.clone(), start_barrier.clone());
                std::thread::spawn(move || {
                    let uuid = format!("00000000-0000-0000-0000-0000000000{th:02}");
                    let bodies: Vec<Vec<u8>> = (0..POOL)
                        .map(|b| {
                            let reports: Vec<Value> = (0..100u32)
                                .map(|i| {
                                    let n = ((th * POOL + b) * 100 + i) % 100_000;
                                    bench_report(n, NOW - 3600 + i as i64)
                                })
                                .collect();
                            serde_json::to_vec(&request(&uuid, "bench", Value::Array(reports)))
                                .unwrap()
                        })
                        .collect();
                    let maps: Vec<Map<String, Value>> = if mode == "map" {
                        bodies
                            .iter()
                            .map(|b| serde_json::from_slice(b).unwrap())
                            .collect()
                    } else {
                        Vec::new()
                    };
                    let mut lat = Vec::with_capacity((POOL * rounds) as usize);
                    barrier.wait();
                    for r in 0..rounds {
                        for b in 0..POOL as usize {
                            let t0 = std::time::Instant::now();
                            let reply = if mode == "map" {
                                s.ingest(&maps[b], NOW + r as i64)
                            } else {
                                let m: Map<String, Value> =
                                    serde_json::from_slice(&bodies[b]).unwrap();
                                s.ingest(&m, NOW + r as i64)
                            }
                            .unwrap();
                            assert_eq!(reply.accepted, 100);
                            lat.push(t0.elapsed());
                        }
                    }
                    lat
                })
            })
            .collect();
        start_barrier.wait();
        let t0 = std::time::Instant::now();
        let mut lat: Vec<Duration> = handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect();
        let secs = t0.elapsed().as_secs_f64();
        lat.sort();
        let reports = (THREADS * POOL * rounds * 100) as f64;
        eprintln!(
            "ingest[{mode}]: {reports} reports in {secs:.2} s = {:.0} reports/s ({:.0} requests/s); \
             latency p50 {:?} p99 {:?} max {:?}; devices {}",
            reports / secs,
            reports / 100.0 / secs,
            percentile(&lat, 0.5),
            percentile(&lat, 0.99),
            lat.last().unwrap(),
            s.device_count()
        );
    }
}

/// Memory per device with 1M devices (every report with SSID, capabilities, channel,
/// frequency, signal and a 3D location), the cost of a last-time query returning few of them,
/// a checkpoint, and recovery.
#[test]
#[ignore]
fn bench_memory_million_devices() {
    const DEVICES: u32 = 1_000_000;
    let t = TestDir::new("scan-mem");
    let s = open(&t);
    let rss0 = rss_kib();
    let t0 = std::time::Instant::now();
    for b in 0..DEVICES / 100 {
        let reports: Vec<Value> = (0..100u32)
            .map(|i| {
                let n = b * 100 + i;
                bench_report(n, NOW - 2_000_000 + n as i64)
            })
            .collect();
        s.ingest(&request(UUID_A, "mem", Value::Array(reports)), NOW)
            .unwrap();
    }
    let ingest = t0.elapsed();
    let rss1 = rss_kib();
    assert_eq!(s.device_count(), DEVICES as usize);
    let est = s.approx_memory_bytes();
    eprintln!(
        "1M devices: ingest (1 thread) {ingest:?}; RSS {} MiB -> {} MiB = {} bytes/device; \
         model estimate {} bytes/device",
        rss0 / 1024,
        rss1 / 1024,
        (rss1 - rss0) * 1024 / DEVICES as u64,
        est / DEVICES as usize
    );
    // Let the checkpoint that 1M reports trigger finish first: it competes for the CPU.
    let t0 = std::time::Instant::now();
    s.checkpoint().unwrap();
    eprintln!("checkpoint (1M dirty devices): {:?}", t0.elapsed());
    let timed = |q: &DeviceQuery| {
        let t0 = std::time::Instant::now();
        let sel = query::select(&s.read(), q, "u");
        let selected = t0.elapsed();
        let p = s.query(q);
        (p.total, sel.examined, selected, t0.elapsed() - selected)
    };
    let q = DeviceQuery {
        last_time: Some(NOW - 2_000_000 + DEVICES as i64 - 10),
        ..DeviceQuery::default()
    };
    timed(&q); // first use parses the OUI table
    let (n, examined, sel, all) = timed(&q);
    assert_eq!((n, examined), (10, 10));
    eprintln!(
        "last-time query over 1M devices returning {n}: select {sel:?}, select+render {all:?}"
    );
    let q = DeviceQuery {
        mac: Some("02:00:00:0F:00:00/FF:FF:FF:FF:FF:00".parse().unwrap()),
        ..DeviceQuery::default()
    };
    for _ in 0..3 {
        let (n, examined, sel, all) = timed(&q);
        eprintln!(
            "masked-MAC query returning {n} ({examined} examined): select {sel:?}, \
             select+render {all:?}"
        );
    }
    let q = DeviceQuery {
        regex: vec![(
            "kismet.device.base.name".into(),
            Regex::new("^net-00012").unwrap(),
        )],
        length: 10,
        ..DeviceQuery::default()
    };
    let (n, examined, sel, _) = timed(&q);
    eprintln!("regex over 1M devices matching {n} ({examined} examined): {sel:?}");
    drop(s);
    let t0 = std::time::Instant::now();
    let s = open(&t);
    eprintln!(
        "recovery of {} devices from the checkpoint: {:?}; database {} MiB",
        s.device_count(),
        t0.elapsed(),
        std::fs::metadata(t.path().join(crate::store::DB_FILE))
            .map(|m| m.len() >> 20)
            .unwrap_or(0)
    );
}

#[test]
#[ignore]
fn bench_render_fields() {
    let t = TestDir::new("scan-render");
    let s = open(&t);
    let reports: Vec<Value> = (0..100u32).map(|n| bench_report(n, NOW - 10)).collect();
    s.ingest(&request(UUID_A, "r", Value::Array(reports)), NOW)
        .unwrap();
    let st = s.read();
    let cx = render::Ctx::new(&st.sources, "u");
    let _ = super::oui::manuf(0);
    for &k in render::KEYS {
        let t0 = std::time::Instant::now();
        for d in &st.devices {
            let _ = render::field(d, "6", &cx, k);
        }
        eprintln!("{k}: {:?} per device", t0.elapsed() / 100);
    }
}

/// Frames learned by the capture: a service fed by a track hub, the way `airsift run` feeds it.
mod frames {
    use super::*;
    use dataplane::track::table::{link, role, SsidKind};
    use dataplane::track::{TableSize, TrackHub};

    const CAPTURE_UUID: &str = "99999999-8888-7777-6666-555555555555";
    const AP: u64 = 0x00AA_BBCC_0001;
    const STA: u64 = 0x0002_0000_0001;

    fn open_feed(dir: &TestDir, hub: &TrackHub, max: usize) -> ScanService {
        let store = Arc::new(Store::open(dir.path()).unwrap());
        let feed = FrameFeed {
            hub: hub.clone(),
            resolve: Box::new(|n| {
                (n == 7).then(|| (kismet::parse_uuid(CAPTURE_UUID).unwrap(), "wlan0".into()))
            }),
        };
        ScanService::open_with(store, Policy::default(), Some(feed), max).unwrap()
    }

    /// One interval of an AP beaconing and a station sending it data.
    fn send_interval(hub: &TrackHub, t: u32) {
        let mut port = hub.port(7);
        let tb = port.table();
        let ap = tb.entry(AP, t).unwrap();
        ap.tx += 10;
        ap.rx += 2;
        ap.roles |= role::AP;
        ap.freq_mhz = 2437;
        ap.signal(-40);
        ap.signal(-55);
        tb.ssid_event(AP, SsidKind::Beacon, b"Lab-AP", t, |ev| {
            ev.ds_channel = 6;
            ev.capability = 0x0011;
            ev.beacon_interval = 100;
        });
        let sta = tb.entry(STA, t + 1).unwrap();
        (sta.tx, sta.data, sta.crypt, sta.datasize) = (2, 2, 2, 300);
        sta.roles |= role::CLIENT | role::PROBER;
        sta.bssid = AP;
        sta.link = link::TO_DS;
        tb.ssid_event(STA, SsidKind::ProbeRequest, b"Home", t, |_| {});
        port.finish();
    }

    #[test]
    fn frames_and_a_scan_report_make_one_record_with_two_seen_by_and_survive_a_restart() {
        let dir = TestDir::new("frames-merge");
        let hub = TrackHub::new(TableSize::default());
        {
            let s = open_feed(&dir, &hub, 0);
            send_interval(&hub, 1_000);
            s.checkpoint().unwrap();
            let r = s
                .ingest(
                    &request(
                        UUID_A,
                        "phone",
                        json!([{"bssid": "00:AA:BB:CC:00:01", "ssid": "Lab-AP", "timestamp": 1_001,
                                "capabilities": "[WPA2-PSK-CCMP][ESS]", "signal": -60}]),
                    ),
                    NOW,
                )
                .unwrap();
            assert_eq!(r.accepted, 1);
            let ap = by_mac(&s, "00:AA:BB:CC:00:01");
            assert_eq!(ap["kismet.device.base.type"], "Wi-Fi AP");
            assert_eq!(
                ap["kismet.device.base.packets.total"], 13,
                "12 frames + 1 report"
            );
            assert_eq!(ap["kismet.device.base.packets.rx_total"], 2);
            assert_eq!(ap["kismet.device.base.channel"], "6");
            let seen: Vec<&str> = ap["kismet.device.base.seenby"]
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x["kismet.common.seenby.uuid"].as_str().unwrap())
                .collect();
            assert_eq!(seen, [CAPTURE_UUID.to_uppercase(), UUID_A.to_uppercase()]);
            let sb = &ap["kismet.device.base.seenby"][0]["kismet.common.seenby.signal"];
            assert_eq!(sb["kismet.common.signal.min_signal"], -55);
            let ssid = &ap["dot11.device"]["dot11.device.advertised_ssid_map"][0];
            assert_eq!(ssid["dot11.advertisedssid.ssid"], "Lab-AP");
            assert_eq!(ssid["dot11.advertisedssid.channel"], "6");
            assert_eq!(ssid["dot11.advertisedssid.beaconrate"], 100);
            assert_eq!(ssid["dot11.advertisedssid.beacon"], 1);
            assert_eq!(
                ap["dot11.device"]["dot11.device.associated_client_map"]["00:02:00:00:00:01"],
                kismet::device_key(STA)
            );
            // The capture datasource is not a virtual one.
            assert_eq!(s.datasources().len(), 1);
            s.checkpoint().unwrap();
        }
        let s = open_feed(&dir, &hub, 0);
        let sta = by_mac(&s, "00:02:00:00:00:01");
        assert_eq!(sta["kismet.device.base.type"], "Wi-Fi Client");
        assert_eq!(sta["kismet.device.base.packets.crypt"], 2);
        assert_eq!(sta["kismet.device.base.datasize"], 300);
        let d11 = &sta["dot11.device"];
        assert_eq!(d11["dot11.device.last_bssid"], "00:AA:BB:CC:00:01");
        assert_eq!(
            d11["dot11.device.client_map"]["00:AA:BB:CC:00:01"]["dot11.client.type"],
            2
        );
        assert_eq!(
            d11["dot11.device.probed_ssid_map"][0]["dot11.probedssid.ssid"],
            "Home"
        );
        let ap = by_mac(&s, "00:AA:BB:CC:00:01");
        assert_eq!(ap["kismet.device.base.seenby"].as_array().unwrap().len(), 2);
        // clients-of, the seen-by view and the AP view.
        let q = DeviceQuery {
            clients_of: Some(AP),
            ..DeviceQuery::default()
        };
        assert_eq!(macs(&s.query(&q)), ["00:02:00:00:00:01"]);
        let seen_by = |u: &str| DeviceQuery {
            view: Some(View::SeenBy(kismet::parse_uuid(u).unwrap())),
            ..DeviceQuery::default()
        };
        assert_eq!(s.query(&seen_by(CAPTURE_UUID)).total, 2);
        assert_eq!(macs(&s.query(&seen_by(UUID_A))), ["00:AA:BB:CC:00:01"]);
        assert_eq!(s.query(&seen_by(UUID_B)).total, 0);
        let aps = DeviceQuery {
            view: Some(View::AccessPoints),
            ..DeviceQuery::default()
        };
        assert_eq!(macs(&s.query(&aps)), ["00:AA:BB:CC:00:01"]);
    }

    #[test]
    fn a_flood_of_new_macs_evicts_devices_seen_once_and_keeps_the_rest() {
        let dir = TestDir::new("frames-flood");
        let hub = TrackHub::new(TableSize {
            devices: 4_096,
            events: 16,
        });
        let s = open_feed(&dir, &hub, 100);
        send_interval(&hub, 1_000);
        for round in 0..10u64 {
            let mut port = hub.port(7);
            for i in 0..1_000u64 {
                let e = port
                    .table()
                    .entry(0x0200_0000_0000 + round * 1_000 + i, 2_000)
                    .unwrap();
                e.tx = 1;
            }
            port.finish();
            s.checkpoint().unwrap();
        }
        let st = s.device_stats();
        assert_eq!(st.stored, 100);
        assert_eq!(st.evicted, 10_002 - 100);
        by_mac(&s, "00:AA:BB:CC:00:01");
        by_mac(&s, "00:02:00:00:00:01");
        // The newest flood MACs are kept, the oldest went; evicted records leave the store.
        assert_eq!(s.query(&DeviceQuery::default()).total, 100);
        drop(s);
        let s = open_feed(&dir, &hub, 100);
        assert_eq!(
            s.device_stats().stored,
            100,
            "evicted records are not reloaded"
        );
    }
}
