//! Scanning-mode reports over HTTP (API.md section 3) against a real `airsift run`: the
//! report endpoint's validation, roles, datasources, what the devices record, and every way
//! of asking for devices (views, last-time, by-mac, by-key, multimac; regex, fields,
//! pagination, sort, datatable mode, a packet filter).

mod common;
#[path = "common/scan.rs"]
mod scan;

use common::http::{request, ApiServer, Cred};
use scan::*;
use serde_json::{json, Value};

/// The API without a capture source, so the datasources listed are the scan reports' own.
fn server(tag: &str) -> ApiServer {
    ApiServer::start_without_source(&common::scratch(tag))
}

fn key(s: &ApiServer, name: &str, role: &str) -> String {
    let r = s.post_json(
        "/auth/apikey/generate.cmd",
        &Cred::admin(),
        &json!({"name": name, "role": role, "duration": 0}),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    r.json()["token"].as_str().unwrap().to_string()
}

fn status_text(r: &common::http::Reply) -> String {
    r.json()["status"].as_str().unwrap_or_default().to_string()
}

/// Nothing stored: no datasource, no device.
fn assert_empty(s: &ApiServer) {
    let src = s.get("/datasource/all_sources.json", &Cred::admin()).json();
    assert_eq!(src, json!([]), "a refused request stored a datasource");
    assert!(devices(s, "/devices/views/all/devices.json", None).is_empty());
}

#[test]
fn a_bad_top_level_is_a_400_and_stores_nothing() {
    let s = server("scan-toplevel");
    let admin = Cred::admin();
    let good_report = json!([{"bssid": mac(1), "ssid": "x"}]);
    let cases: Vec<(Value, &str)> = vec![
        (
            json!({"source_name": "a", "reports": good_report}),
            "source_uuid",
        ),
        (
            json!({"source_uuid": "not-a-uuid", "source_name": "a", "reports": good_report}),
            "source_uuid",
        ),
        (
            json!({"source_uuid": 12, "source_name": "a", "reports": good_report}),
            "source_uuid",
        ),
        (
            json!({"source_uuid": UUID_A, "reports": good_report}),
            "source_name",
        ),
        (
            json!({"source_uuid": UUID_A, "source_name": 5, "reports": good_report}),
            "source_name",
        ),
        (
            json!({"source_uuid": UUID_A, "source_name": "a"}),
            "reports",
        ),
        (
            json!({"source_uuid": UUID_A, "source_name": "a", "reports": {"bssid": mac(1)}}),
            "reports",
        ),
        (
            json!({"source_uuid": UUID_A, "source_name": "a", "reports": "[]"}),
            "reports",
        ),
        (json!({}), "source_uuid"),
    ];
    for (body, needle) in cases {
        let r = s.post_json(REPORT, &admin, &body);
        assert_eq!(r.status, 400, "{body}: {}", r.text());
        assert_eq!(r.json()["success"], false);
        let msg = status_text(&r);
        assert!(msg.contains(needle), "{body}: {msg:?} should name {needle}");
    }
    // Not a dictionary, not JSON, an empty body, another content type.
    for (ct, body, code) in [
        (Some("application/json"), &b"[1, 2]"[..], 400),
        (Some("application/json"), b"\"reports\"", 400),
        (Some("application/json"), b"{\"source_uuid\": ", 400),
        (Some("application/json"), b"source_uuid=1", 400),
        (Some("application/json"), b"", 400),
        (None, b"", 400),
        (Some("application/x-www-form-urlencoded"), b"json=%7B", 400),
        (Some("application/x-www-form-urlencoded"), b"reports=1", 400),
        (Some("text/plain"), b"{}", 415),
    ] {
        let r = request(&s.addr, "POST", REPORT, &admin, ct, body);
        assert_eq!(
            r.status,
            code,
            "{ct:?} {:?}: {}",
            String::from_utf8_lossy(body),
            r.text()
        );
        assert_eq!(r.json()["success"], false);
    }
    // GET is not the method.
    let r = s.get(REPORT, &admin);
    assert_eq!(r.status, 405);
    assert_empty(&s);
}

#[test]
fn bad_reports_are_listed_and_the_good_ones_stored() {
    let s = server("scan-partial");
    let reports = vec![
        json!({"bssid": mac(1), "ssid": "good-1", "signal": -40}),
        json!({"bssid": "ZZ:00:00:00:00:01", "ssid": "bad mac"}),
        json!({"bssid": mac(2), "ssid": "good-2", "channel": 6}),
        json!({"ssid": "no bssid"}),
        json!({"bssid": mac(3), "signal": "strong"}),
        json!({"bssid": mac(4), "timestamp": "yesterday"}),
        json!({"bssid": 12345}),
        json!({"bssid": mac(5), "ssid": 7}),
        json!({"bssid": mac(6), "lat": "north"}),
        json!({"bssid": mac(7), "tags": "not an object"}),
        json!("not an object"),
        json!({"bssid": mac(8), "ssid": "good-3", "channel": "36", "freqkhz": 5180000}),
        json!({"bssid": "AA:BB:CC:00:00:00/FF:FF:FF:00:00:00"}),
    ];
    let r = post_reports(&s, &Cred::admin(), &batch(UUID_A, "phone", reports));
    assert_eq!(r.status, 200, "{}", r.text());
    let v = r.json();
    assert_eq!(v["success"], true);
    assert_eq!(v["accepted"], 3, "{v}");
    let rejected = v["rejected"].as_array().unwrap();
    let idx: Vec<u64> = rejected
        .iter()
        .map(|x| x["index"].as_u64().unwrap())
        .collect();
    assert_eq!(idx, [1, 3, 4, 5, 6, 7, 8, 9, 10, 12], "{v}");
    for x in rejected {
        assert!(
            !x["error"].as_str().unwrap().is_empty(),
            "a rejection says why: {x}"
        );
    }
    // The messages name what was wrong.
    let err = |i: u64| {
        rejected.iter().find(|x| x["index"] == i).unwrap()["error"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert!(err(1).contains("bssid"), "{}", err(1));
    assert!(err(3).contains("bssid"), "{}", err(3));
    assert!(err(4).contains("signal"), "{}", err(4));
    assert!(err(5).contains("timestamp"), "{}", err(5));
    assert!(err(7).contains("ssid"), "{}", err(7));
    assert!(err(8).contains("lat"), "{}", err(8));
    assert!(err(9).contains("tags"), "{}", err(9));
    // The good ones are there, the bad ones not.
    let all = macs(&devices(&s, "/devices/views/all/devices.json", None));
    let mut sorted = all.clone();
    sorted.sort();
    assert_eq!(sorted, [mac(1), mac(2), mac(8)]);
    assert_eq!(device(&s, &mac(2))["kismet.device.base.channel"], "6");
    // The datasource counted the stored reports only.
    let src = s
        .get(
            &format!("/datasource/by-uuid/{UUID_A}/source.json"),
            &Cred::admin(),
        )
        .json();
    assert_eq!(src["kismet.datasource.num_packets"], 3, "{src}");
    // A batch with nothing valid is still a 200 that lists every report.
    let r = post_reports(
        &s,
        &Cred::admin(),
        &batch(UUID_A, "phone", vec![json!({"bssid": "x"}), json!({})]),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["accepted"], 0);
    assert_eq!(r.json()["rejected"].as_array().unwrap().len(), 2);
    // An empty batch is valid and stores nothing.
    let r = post_reports(&s, &Cred::admin(), &batch(UUID_B, "empty", vec![]));
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["accepted"], 0);
}

#[test]
fn form_bodies_keep_ampersands_and_both_spellings_work() {
    let s = server("scan-form");
    let ssid = "Tom & Jerry's =%26 café";
    let body = batch(
        UUID_A,
        "form & co",
        vec![json!({"bssid": mac(1), "ssid": ssid})],
    );
    let r = s.post_form(REPORT, &Cred::admin(), &body);
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["accepted"], 1);
    let d = device(&s, &mac(1));
    assert_eq!(d[NAME], ssid);
    assert_eq!(at(&d, SSID_REC)["dot11.advertisedssid.ssid"], ssid);
    let src = s.get("/datasource/all_sources.json", &Cred::admin()).json();
    assert_eq!(src[0]["kismet.datasource.name"], "form & co");
    // `.json` is the same endpoint; a charset parameter is fine.
    let r = request(
        &s.addr,
        "POST",
        "/phy/phy80211/scan/scan_report.json",
        &Cred::admin(),
        Some("Application/JSON; charset=utf-8"),
        batch(UUID_A, "form & co", vec![json!({"bssid": mac(2)})])
            .to_string()
            .as_bytes(),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        devices(&s, "/devices/views/all/devices.json", None).len(),
        2
    );
}

#[test]
fn roles_on_the_scan_endpoints() {
    let s = server("scan-roles");
    let scanner = Cred::Cookie(key(&s, "esp32", "scanreport"));
    let reader = Cred::Cookie(key(&s, "grafana", "readonly"));
    let body = batch(UUID_A, "esp32", vec![json!({"bssid": mac(1)})]);
    // No credentials: 401 with the challenge; bad ones: 401.
    let r = post_reports(&s, &Cred::None, &body);
    assert_eq!(r.status, 401);
    assert!(r.header("WWW-Authenticate").unwrap().contains("Basic"));
    assert_eq!(
        post_reports(&s, &Cred::Basic("admin".into(), "wrong".into()), &body).status,
        401
    );
    assert_eq!(
        post_reports(&s, &Cred::Cookie("nope".into()), &body).status,
        401
    );
    // readonly may not post.
    let r = post_reports(&s, &reader, &body);
    assert_eq!(r.status, 403, "{}", r.text());
    assert_empty(&s);
    // scanreport may post (cookie or query variable) but not read.
    assert_eq!(post_reports(&s, &scanner, &body).status, 200);
    let Cred::Cookie(tok) = &scanner else {
        unreachable!()
    };
    assert_eq!(
        post_reports(&s, &Cred::Query(tok.clone()), &body).status,
        200
    );
    let reads = [
        "/devices/views/all/devices.json",
        "/devices/views/phydot11_accesspoints/devices.json",
        "/devices/last-time/0/devices.json",
        "/datasource/all_sources.json",
        &format!("/datasource/by-uuid/{UUID_A}/source.json"),
        &format!("/devices/by-mac/{}/devices.json", mac(1)),
    ];
    for path in reads {
        assert_eq!(s.get(path, &scanner).status, 403, "scanreport reads {path}");
        assert_eq!(
            s.get(path, &Cred::None).status,
            401,
            "anonymous reads {path}"
        );
        let r = s.get(path, &reader);
        assert_eq!(r.status, 200, "readonly reads {path}: {}", r.text());
    }
    let r = s.post_json(
        "/devices/multimac/devices.json",
        &scanner,
        &json!({"devices": [mac(1)]}),
    );
    assert_eq!(r.status, 403);
    // The scanner's key cannot touch filters either.
    let r = s.post_json(
        "/packetfilters/capture/source/filter.json",
        &scanner,
        &json!({"filter": {mac(1): true}}),
    );
    assert_eq!(r.status, 403);
}

#[test]
fn datasources_are_created_renamed_and_counted() {
    let s = server("scan-sources");
    post_ok(
        &s,
        &batch(
            UUID_A,
            "pixel",
            vec![json!({"bssid": mac(1)}), json!({"bssid": mac(2)})],
        ),
    );
    post_ok(&s, &batch(UUID_B, "esp32", vec![json!({"bssid": mac(1)})]));
    // Renamed by a later report; the count keeps growing.
    post_ok(
        &s,
        &batch(
            &UUID_A.to_uppercase(),
            "pixel-renamed",
            vec![json!({"bssid": mac(3)})],
        ),
    );
    let all = s.get("/datasource/all_sources.json", &Cred::admin()).json();
    let all = all.as_array().unwrap();
    assert_eq!(all.len(), 2, "{all:?}");
    let a = s
        .get(
            &format!("/datasource/by-uuid/{UUID_A}/source.json"),
            &Cred::admin(),
        )
        .json();
    assert_eq!(a["kismet.datasource.name"], "pixel-renamed");
    assert_eq!(
        a["kismet.datasource.uuid"].as_str().unwrap().to_lowercase(),
        UUID_A
    );
    assert_eq!(a["kismet.datasource.num_packets"], 3);
    assert_eq!(a["kismet.datasource.hardware"], "IEEE80211 scan");
    assert_eq!(
        a["kismet.datasource.type_driver"]["kismet.datasource.driver.type"],
        "virtual"
    );
    // Case-insensitive lookup; malformed 400; unknown 404.
    let up = s.get(
        &format!("/datasource/by-uuid/{}/source.json", UUID_A.to_uppercase()),
        &Cred::admin(),
    );
    assert_eq!(up.status, 200);
    assert_eq!(up.json(), a);
    let r = s.get("/datasource/by-uuid/not-a-uuid/source.json", &Cred::admin());
    assert_eq!(r.status, 400);
    let r = s.get(
        "/datasource/by-uuid/99999999-2222-3333-4444-555555555555/source.json",
        &Cred::admin(),
    );
    assert_eq!(r.status, 404, "{}", r.text());
    // Formats and field simplification.
    let p = s.get("/datasource/all_sources.prettyjson", &Cred::admin());
    assert!(p.text().contains("\n  "), "{}", p.text());
    let it = s.get("/datasource/all_sources.itjson", &Cred::admin());
    assert_eq!(it.text().lines().count(), 2);
    let f = s.post_json(
        "/datasource/all_sources.json",
        &Cred::admin(),
        &json!({"fields": [["kismet.datasource.name", "name"], "kismet.datasource.num_packets"]}),
    );
    assert_eq!(f.status, 200, "{}", f.text());
    let mut names: Vec<(String, u64)> = f
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|x| {
            assert_eq!(x.as_object().unwrap().len(), 2, "{x}");
            (
                x["name"].as_str().unwrap().to_string(),
                // No slash in the path: the whole path is the key.
                x["kismet.datasource.num_packets"].as_u64().unwrap(),
            )
        })
        .collect();
    names.sort();
    assert_eq!(
        names,
        [("esp32".to_string(), 1), ("pixel-renamed".to_string(), 3)]
    );
    let f = s.post_form(
        &format!("/datasource/by-uuid/{UUID_B}/source.json"),
        &Cred::admin(),
        &json!({"fields": ["kismet.datasource.name"]}),
    );
    assert_eq!(f.text(), r#"{"kismet.datasource.name":"esp32"}"#);
    // Unknown keys are refused.
    let r = s.post_json(
        "/datasource/all_sources.json",
        &Cred::admin(),
        &json!({"field": ["x"]}),
    );
    assert_eq!(r.status, 400);
    assert!(status_text(&r).contains("field"));
    // Seen-by on the device: both sources.
    let d = device(&s, &mac(1));
    let seen = d["kismet.device.base.seenby"].as_array().unwrap();
    let mut uuids: Vec<String> = seen
        .iter()
        .map(|x| {
            x["kismet.common.seenby.uuid"]
                .as_str()
                .unwrap()
                .to_lowercase()
        })
        .collect();
    uuids.sort();
    assert_eq!(uuids, [UUID_A, UUID_B]);
}

#[test]
fn device_records_follow_the_reports() {
    let s = server("scan-records");
    let t = now() - 3600;
    let m = mac(1);
    post_ok(
        &s,
        &batch(
            UUID_A,
            "phone",
            vec![
                json!({"bssid": m, "timestamp": t, "ssid": "Cafe", "capabilities": "[WPA2-PSK-CCMP][ESS]",
                       "channel": "6", "freqkhz": 2437000, "signal": -60, "lat": 10.0, "lon": 20.0,
                       "alt": 5.0, "speed": 1.5, "tags": {"floor": "2"}}),
                json!({"bssid": m.to_lowercase(), "timestamp": t + 10, "ssid": "Cafe", "signal": -40,
                       "lat": 20.0, "lon": 40.0, "spd": 2.0}),
                // A location with a zero coordinate is not a fix: not averaged, not last.
                json!({"bssid": m, "timestamp": t + 20, "ssid": "Cafe", "signal": -70,
                       "lat": 0.0, "lon": 50.0}),
            ],
        ),
    );
    // A late cached report (older timestamp) after the others.
    post_ok(
        &s,
        &batch(
            UUID_A,
            "phone",
            vec![json!({"bssid": m, "timestamp": t - 100, "ssid": "Cafe", "signal": -80})],
        ),
    );
    let d = device(&s, &m);
    assert_eq!(d[MAC], m);
    assert_eq!(d[LAST], t + 20, "last time never moves backwards: {d}");
    assert_eq!(d[FIRST], t - 100);
    assert_eq!(d[NAME], "Cafe");
    assert_eq!(d["kismet.device.base.channel"], "6");
    assert_eq!(d["kismet.device.base.frequency"], 2437000);
    assert_eq!(d["kismet.device.base.type"], "Wi-Fi AP");
    assert_eq!(d["kismet.device.base.phyname"], "IEEE802.11");
    let sig = &d[SIGNAL];
    // "Last" is the newest report's, not the last to arrive: the late one does not count.
    assert_eq!(sig["kismet.common.signal.last_signal"], -70, "{sig}");
    assert_eq!(sig["kismet.common.signal.min_signal"], -80, "{sig}");
    assert_eq!(sig["kismet.common.signal.max_signal"], -40, "{sig}");
    let avg = at(&d, AVG_LOC);
    let (lon, lat) = (avg[0].as_f64().unwrap(), avg[1].as_f64().unwrap());
    assert!(
        (lat - 15.0).abs() < 1e-6 && (lon - 30.0).abs() < 1e-6,
        "average of the two fixes: {avg}"
    );
    let last = at(&d, LAST_LOC);
    assert!(
        (last[0].as_f64().unwrap() - 40.0).abs() < 1e-6
            && (last[1].as_f64().unwrap() - 20.0).abs() < 1e-6,
        "{last}"
    );
    assert_eq!(d["kismet.device.base.tags"]["floor"], "2", "{d}");
    let seen = &d["kismet.device.base.seenby"][0];
    assert_eq!(seen["kismet.common.seenby.num_packets"], 4, "{seen}");
    assert_eq!(seen["kismet.common.seenby.first_time"], t - 100);
    assert_eq!(seen["kismet.common.seenby.last_time"], t + 20);
    let rec = at(&d, SSID_REC);
    assert_eq!(rec["dot11.advertisedssid.ssid"], "Cafe");
    assert_eq!(rec["dot11.advertisedssid.cloaked"], 0);
    assert_eq!(rec["dot11.advertisedssid.first_time"], t - 100);
    assert_eq!(rec["dot11.advertisedssid.last_time"], t + 20);
    // A hidden network: cloaked SSID record, the MAC as name.
    let h = mac(2);
    post_ok(
        &s,
        &batch(
            UUID_A,
            "phone",
            vec![json!({"bssid": h, "ssid": "", "capabilities": "[WPA2-PSK-CCMP][ESS]"})],
        ),
    );
    let d = device(&s, &h);
    assert_eq!(d[NAME], h);
    assert_eq!(at(&d, SSID_REC)["dot11.advertisedssid.cloaked"], 1);
    // No timestamp: now.
    let lt = d[LAST].as_i64().unwrap();
    assert!((lt - now()).abs() <= 5, "{lt}");
}

/// Android/WiGLE capability strings and what the devices show for them.
const CRYPT_TABLE: &[(&str, &str)] = &[
    ("[WPA2-PSK-CCMP][ESS]", "WPA2 WPA2-PSK AES-CCMP"),
    (
        "[WPA-PSK-TKIP+CCMP][WPA2-PSK-TKIP+CCMP][ESS][WPS]",
        "WPA WPA2 WPA-PSK WPA2-PSK TKIP AES-CCMP WPS",
    ),
    ("[RSN-SAE-CCMP][ESS]", "WPA3 WPA3-SAE AES-CCMP"),
    ("[WPA3-SAE-GCMP-256][ESS]", "WPA3 WPA3-SAE AES-GCMP-256"),
    ("[OWE][ESS]", "WPA3 WPA3-OWE"),
    ("[WEP][ESS]", "WEP"),
    ("[IBSS]", "Open"),
    ("[WPA2-EAP-CCMP][ESS]", "WPA2 WPA2-EAP AES-CCMP"),
    (
        "[RSN-PSK+SAE-CCMP][ESS][MFPC]",
        "WPA2 WPA3 WPA2-PSK WPA3-SAE AES-CCMP",
    ),
    ("", "Open"),
];

#[test]
fn capabilities_become_crypt_strings() {
    let s = server("scan-crypt");
    let reports: Vec<Value> = CRYPT_TABLE
        .iter()
        .enumerate()
        .map(|(i, (caps, _))| {
            json!({"bssid": mac(i as u64 + 1), "ssid": format!("net{i}"), "capabilities": caps})
        })
        .collect();
    post_ok(&s, &batch(UUID_A, "phone", reports));
    let mut wrong = Vec::new();
    for (i, (caps, want)) in CRYPT_TABLE.iter().enumerate() {
        let d = device(&s, &mac(i as u64 + 1));
        let got = at(&d, SSID_REC)["dot11.advertisedssid.crypt_string"].clone();
        if got != *want || d[CRYPT] != *want {
            wrong.push(format!(
                "{caps:?}: want {want:?}, ssid record {got}, device {}",
                d[CRYPT]
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// Five APs: three fresh (seen in the last minute), two old; names for regex and sort.
fn five_aps(s: &ApiServer) -> i64 {
    let now = now();
    let aps = [
        (mac_in(0xAABBCC, 1), "Cafe-1", now - 5),
        (mac_in(0xAABBCC, 2), "Cafe-2", now - 10),
        (mac_in(0xAABBCD, 3), "Library", now - 3000),
        (mac_in(0x122233, 4), "Home", now - 4000),
        (mac_in(0x122233, 5), "Office", now - 20),
    ];
    let reports: Vec<Value> = aps
        .iter()
        .map(|(m, n, t)| json!({"bssid": m, "ssid": n, "timestamp": t, "capabilities": "[ESS]"}))
        .collect();
    post_ok(s, &batch(UUID_A, "phone", reports));
    now
}

fn names(list: &[Value]) -> Vec<String> {
    let mut v: Vec<String> = list
        .iter()
        .map(|d| d[NAME].as_str().unwrap().to_string())
        .collect();
    v.sort();
    v
}

#[test]
fn views_last_time_by_mac_and_by_key() {
    let s = server("scan-views");
    let now = five_aps(&s);
    let admin = Cred::admin();
    for view in ["all", "phydot11_accesspoints"] {
        let path = format!("/devices/views/{view}/devices.json");
        assert_eq!(devices(&s, &path, None).len(), 5, "{view}");
        assert_eq!(devices(&s, &path, Some(&json!({}))).len(), 5, "{view}");
        let pretty = s.get(&format!("/devices/views/{view}/devices.prettyjson"), &admin);
        assert!(pretty.text().contains("\n  "));
        assert_eq!(pretty.json().as_array().unwrap().len(), 5);
        let it = s.get(&format!("/devices/views/{view}/devices.itjson"), &admin);
        assert_eq!(it.status, 200);
        let lines: Vec<Value> = it
            .text()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 5);
        // The view's own last-time form.
        let p = format!("/devices/views/{view}/last-time/-60/devices.json");
        assert_eq!(
            names(&devices(&s, &p, None)),
            ["Cafe-1", "Cafe-2", "Office"]
        );
    }
    // last-time: negative = seconds before now; absolute; the dictionary's last_time too.
    let fresh = ["Cafe-1", "Cafe-2", "Office"];
    assert_eq!(
        names(&devices(&s, "/devices/last-time/-60/devices.json", None)),
        fresh
    );
    let abs = format!("/devices/last-time/{}/devices.json", now - 60);
    assert_eq!(names(&devices(&s, &abs, None)), fresh);
    assert_eq!(
        devices(&s, "/devices/last-time/0/devices.json", None).len(),
        5
    );
    assert_eq!(
        names(&devices(
            &s,
            "/devices/last-time/-3500/devices.json",
            Some(&json!({"last_time": -15}))
        )),
        ["Cafe-1", "Cafe-2"],
        "URL and dictionary times both hold"
    );
    assert_eq!(
        names(&devices(
            &s,
            "/devices/views/all/devices.json",
            Some(&json!({"last_time": now - 3500}))
        )),
        ["Cafe-1", "Cafe-2", "Library", "Office"]
    );
    let it = s.get("/devices/last-time/-60/devices.itjson", &admin);
    assert_eq!(it.text().lines().count(), 3);
    for bad in ["1.5", "abc", "-", "10s"] {
        let r = s.get(&format!("/devices/last-time/{bad}/devices.json"), &admin);
        assert_eq!(r.status, 400, "{bad}: {}", r.text());
        assert!(status_text(&r).contains(bad), "{}", r.text());
    }
    for bad in [json!(1.5), json!("-10"), json!(null), json!([1])] {
        let r = s.post_json(
            "/devices/last-time/0/devices.json",
            &admin,
            &json!({"last_time": bad}),
        );
        assert_eq!(r.status, 400, "{bad}");
        assert!(status_text(&r).contains("last_time"));
    }
    // by-mac: exact (any case), masked with the slash raw or percent-encoded.
    let m1 = mac_in(0xAABBCC, 1);
    for form in [m1.clone(), m1.to_lowercase(), m1.replace(':', "%3A")] {
        let d = devices(&s, &format!("/devices/by-mac/{form}/devices.json"), None);
        assert_eq!(macs(&d), std::slice::from_ref(&m1), "{form}");
    }
    for masked in [
        "AA:BB:CC:00:00:00/FF:FF:FF:00:00:00",
        "AA:BB:CC:00:00:00%2FFF:FF:FF:00:00:00",
        "aa:bb:cc:12:34:56%2fff:ff:ff:00:00:00",
    ] {
        let d = devices(&s, &format!("/devices/by-mac/{masked}/devices.json"), None);
        assert_eq!(names(&d), ["Cafe-1", "Cafe-2"], "{masked}");
    }
    let d = devices(
        &s,
        "/devices/by-mac/AA:BB:CC:00:00:00/FF:FF:FE:00:00:00/devices.json",
        None,
    );
    assert_eq!(names(&d), ["Cafe-1", "Cafe-2", "Library"]);
    let it = s.get(
        "/devices/by-mac/12:22:33:00:00:00%2FFF:FF:FF:00:00:00/devices.itjson",
        &admin,
    );
    assert_eq!(it.text().lines().count(), 2);
    assert!(devices(
        &s,
        &format!("/devices/by-mac/{}/devices.json", mac(99)),
        None
    )
    .is_empty());
    for bad in ["ZZ:BB:CC:00:00:01", "AA:BB:CC", "AA:BB:CC:00:00:00%2FZZ"] {
        let r = s.get(&format!("/devices/by-mac/{bad}/devices.json"), &admin);
        assert_eq!(r.status, 400, "{bad}: {}", r.text());
    }
    // multimac (Kismet's python client's by_mac).
    let r = s.post_form(
        "/devices/multimac/devices.itjson",
        &admin,
        &json!({"devices": [m1, "12:22:33:00:00:00/FF:FF:FF:00:00:00", m1], "fields": [MAC, NAME]}),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let lines: Vec<Value> = r
        .text()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(names(&lines), ["Cafe-1", "Home", "Office"]);
    let r = s.post_json("/devices/multimac/devices.json", &admin, &json!({}));
    assert_eq!(r.status, 400);
    let r = s.post_json(
        "/devices/multimac/devices.json",
        &admin,
        &json!({"devices": ["nope"]}),
    );
    assert_eq!(r.status, 400);
    assert!(status_text(&r).contains("devices[0]"));
    // by-key: the key from a list; one document; unknown 404.
    let d = device(&s, &m1);
    let key = d[KEY].as_str().unwrap().to_string();
    let r = s.get(&format!("/devices/by-key/{key}/device.json"), &admin);
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json(), d);
    let r = s.post_json(
        &format!("/devices/by-key/{key}/device.prettyjson"),
        &admin,
        &json!({"fields": [NAME, ["kismet.device.base.macaddr", "mac"]]}),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        r.json(),
        json!({"kismet.device.base.name": "Cafe-1", "mac": m1})
    );
    let r = s.get(
        "/devices/by-key/0000000000000000_000000000000/device.json",
        &admin,
    );
    assert_eq!(r.status, 404, "{}", r.text());
    let r = s.get("/devices/by-key/not-a-key/device.json", &admin);
    assert_eq!(r.status, 400, "{}", r.text());
    let r = s.post_json(
        &format!("/devices/by-key/{key}/device.json"),
        &admin,
        &json!({"regex": [[NAME, "x"]]}),
    );
    assert_eq!(r.status, 400, "by-key takes fields only");
    // Unknown routes under /devices.
    assert_eq!(
        s.get("/devices/views/nope/devices.json", &admin).status,
        404
    );
    assert_eq!(s.get("/devices/views/all/devices.xml", &admin).status, 404);
    assert_eq!(
        request(
            &s.addr,
            "DELETE",
            "/devices/views/all/devices.json",
            &admin,
            None,
            b""
        )
        .status,
        405
    );
}

#[test]
fn regex_fields_sort_pagination_and_datatable() {
    let s = server("scan-query");
    five_aps(&s);
    let admin = Cred::admin();
    let all = "/devices/views/all/devices.json";
    // regex: any pair matching keeps the device.
    let d = devices(&s, all, Some(&json!({"regex": [[NAME, "^Cafe"]]})));
    assert_eq!(names(&d), ["Cafe-1", "Cafe-2"]);
    let d = devices(
        &s,
        all,
        Some(&json!({"regex": [[NAME, "^Home$"], [MAC, "^AA:BB:CD"]]})),
    );
    assert_eq!(names(&d), ["Home", "Library"]);
    let d = devices(
        &s,
        all,
        Some(&json!({"regex": [[format!("{SSID_REC}/dot11.advertisedssid.ssid"), "(?i)^office"]]})),
    );
    assert_eq!(names(&d), ["Office"]);
    // The same from Kismet's python client: form body, .itjson, last_time + regex + fields.
    let r = s.post_form(
        "/devices/views/phydot11_accesspoints/devices.itjson",
        &admin,
        &json!({"last_time": -60, "regex": [[NAME, "e"]], "fields": [NAME]}),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let lines: Vec<Value> = r
        .text()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(names(&lines), ["Cafe-1", "Cafe-2", "Office"]);
    // Kismet's legacy all-devices URL (its Python client's `device_list`) is the same view.
    let legacy = s.get("/devices/all_devices.itjson", &admin);
    let current = s.get("/devices/views/all/devices.itjson", &admin);
    assert_eq!(legacy.status, 200, "{}", legacy.text());
    assert_eq!(legacy.text(), current.text());
    assert_eq!(legacy.text().lines().count(), 5);
    assert!(lines.iter().all(|l| l.as_object().unwrap().len() == 1));
    // A hostile pattern is linear time: answered, no match (the bound below only guards
    // against a backtracking engine that would never finish).
    let t = std::time::Instant::now();
    let d = devices(
        &s,
        all,
        Some(&json!({"regex": [[NAME, "^(a+)+$"], [NAME, "(x+x+)+y"]]})),
    );
    assert!(d.is_empty());
    assert!(t.elapsed().as_secs() < 60);
    // Invalid regexes and malformed pairs are 400s naming them.
    for (bad, needle) in [
        (json!([[NAME, "("]]), "regex[0]"),
        (json!([[NAME, "ok"], [NAME, "[z-a]"]]), "regex[1]"),
        (json!([[NAME]]), "regex[0]"),
        (json!([NAME, "x"]), "regex[0]"),
        (json!("Cafe"), "regex"),
        (json!([[NAME, "\\w{1000}\\w{1000}\\w{1000}"]]), "regex[0]"),
    ] {
        let r = s.post_json(all, &admin, &json!({"regex": bad}));
        assert_eq!(r.status, 400, "{bad}: {}", r.text());
        assert!(status_text(&r).contains(needle), "{bad}: {}", r.text());
    }
    // fields: paths, renames, unresolved → 0, request order.
    let r = s.post_json(
        &format!("/devices/by-mac/{}/devices.json", mac_in(0xAABBCC, 1)),
        &admin,
        &json!({"fields": [NAME, [MAC, "bssid"], "no/such/field", format!("{SSID_REC}/dot11.advertisedssid.ssid")]}),
    );
    assert_eq!(
        r.text(),
        format!(
            r#"[{{"kismet.device.base.name":"Cafe-1","bssid":"{}","field":0,"dot11.advertisedssid.ssid":"Cafe-1"}}]"#,
            mac_in(0xAABBCC, 1)
        )
    );
    let r = s.post_json(all, &admin, &json!({"fields": [[NAME, 1]]}));
    assert_eq!(r.status, 400);
    // sort: a path (ascending) or [path, dir].
    let sorted = |sort: Value| -> Vec<String> {
        devices(&s, all, Some(&json!({"sort": sort, "fields": [NAME]})))
            .iter()
            .map(|d| d[NAME].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(
        sorted(json!(NAME)),
        ["Cafe-1", "Cafe-2", "Home", "Library", "Office"]
    );
    assert_eq!(
        sorted(json!([NAME, "desc"])),
        ["Office", "Library", "Home", "Cafe-2", "Cafe-1"]
    );
    assert_eq!(
        sorted(json!([LAST, "desc"])),
        ["Cafe-1", "Cafe-2", "Office", "Library", "Home"]
    );
    assert_eq!(
        sorted(json!([LAST, "asc"])),
        ["Home", "Library", "Office", "Cafe-2", "Cafe-1"]
    );
    for bad in [json!([NAME, "up"]), json!(3), json!([NAME])] {
        let r = s.post_json(all, &admin, &json!({"sort": bad}));
        assert_eq!(r.status, 400, "{bad}");
        assert!(status_text(&r).contains("sort"));
    }
    // Pagination: page of length, counted from 0; the total before pagination in a header.
    let page = |p: u64, l: u64| -> (Vec<String>, String) {
        let r = s.post_json(
            all,
            &admin,
            &json!({"sort": NAME, "page": p, "length": l, "fields": [NAME]}),
        );
        assert_eq!(r.status, 200, "{}", r.text());
        let total = r.header("X-Airsift-Total").unwrap_or_default().to_string();
        let n = r
            .json()
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d[NAME].as_str().unwrap().to_string())
            .collect();
        (n, total)
    };
    assert_eq!(
        page(0, 2),
        (vec!["Cafe-1".into(), "Cafe-2".into()], "5".into())
    );
    assert_eq!(
        page(1, 2),
        (vec!["Home".into(), "Library".into()], "5".into())
    );
    assert_eq!(page(2, 2), (vec!["Office".into()], "5".into()));
    assert_eq!(page(3, 2).0, Vec::<String>::new());
    assert_eq!(page(0, 0).0.len(), 5, "length 0: all");
    for bad in [
        json!({"page": -1, "length": 2}),
        json!({"page": 1.5, "length": 2}),
        json!({"page": 0, "length": "2"}),
        json!({"page": 1}),
        json!({"page": 1, "start": 2, "length": 2}),
    ] {
        let r = s.post_json(all, &admin, &bad);
        assert_eq!(r.status, 400, "{bad}: {}", r.text());
    }
    // page/length are the views' keys.
    let r = s.post_json(
        "/devices/last-time/0/devices.json",
        &admin,
        &json!({"page": 0, "length": 2}),
    );
    assert_eq!(r.status, 400);
    assert!(status_text(&r).contains("page"));
    // Kismet's datatable mode: a window from start, an object with the counts and draw.
    let r = s.post_json(
        all,
        &admin,
        &json!({"datatable": true, "draw": 7, "start": 1, "length": 3, "sort": NAME,
                "regex": [[NAME, "^(Cafe|Home|Library)"]], "fields": [NAME]}),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        r.json(),
        json!({"draw": 7, "recordsTotal": 5, "recordsFiltered": 4,
               "data": [{NAME: "Cafe-2"}, {NAME: "Home"}, {NAME: "Library"}]})
    );
    let r = s.post_json(all, &admin, &json!({"draw": 1}));
    let v = r.json();
    assert_eq!(v["recordsTotal"], 5);
    assert_eq!(v["data"].as_array().unwrap().len(), 5);
    let r = s.post_json(
        "/devices/views/all/devices.itjson",
        &admin,
        &json!({"datatable": true}),
    );
    assert_eq!(r.status, 400);
    let r = s.post_json(all, &admin, &json!({"datatable": "yes"}));
    assert_eq!(r.status, 400);
    // Unknown keys are refused, named.
    let r = s.post_json(all, &admin, &json!({"fields": [NAME], "colour": "red"}));
    assert_eq!(r.status, 400);
    assert!(status_text(&r).contains("colour"), "{}", r.text());
    let r = s.post_json(
        "/devices/by-mac/AA:BB:CC:00:00:01/devices.json",
        &admin,
        &json!({"lenght": 2}),
    );
    assert_eq!(r.status, 400);
    assert!(status_text(&r).contains("lenght"));
}

#[test]
fn a_packet_filter_hides_devices_from_lists() {
    let s = server("scan-filter");
    five_aps(&s);
    let admin = Cred::admin();
    let m1 = mac_in(0xAABBCC, 1);
    let with = |path: &str| -> Vec<String> {
        let sep = if path.contains('?') { '&' } else { '?' };
        names(&devices(&s, &format!("{path}{sep}filter=capture"), None))
    };
    // The capture filter passes everything at first.
    assert_eq!(with("/devices/views/all/devices.json").len(), 5);
    // Block one MAC: it disappears from every list asked with ?filter=capture, not from others.
    let r = s.post_json(
        "/packetfilters/capture/source/filter.json",
        &admin,
        &json!({"filter": {m1.clone(): true}}),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let four = ["Cafe-2", "Home", "Library", "Office"];
    assert_eq!(with("/devices/views/all/devices.json"), four);
    assert_eq!(
        with("/devices/views/phydot11_accesspoints/devices.json"),
        four
    );
    assert_eq!(
        with("/devices/last-time/-60/devices.json"),
        ["Cafe-2", "Office"]
    );
    assert_eq!(
        with("/devices/by-mac/AA:BB:CC:00:00:00%2FFF:FF:FF:00:00:00/devices.json"),
        ["Cafe-2"]
    );
    assert_eq!(
        devices(&s, "/devices/views/all/devices.json", None).len(),
        5
    );
    let key = device(&s, &m1)[KEY].as_str().unwrap().to_string();
    let r = s.get(
        &format!("/devices/by-key/{key}/device.json?filter=capture"),
        &admin,
    );
    assert_eq!(r.status, 404, "a hidden device is not found: {}", r.text());
    // The query variable sits beside the KISMET credential.
    let tok = {
        let r = s.post_json(
            "/auth/apikey/generate.cmd",
            &admin,
            &json!({"name": "ro", "role": "readonly", "duration": 0}),
        );
        r.json()["token"].as_str().unwrap().to_string()
    };
    let r = s.get(
        "/devices/views/all/devices.json?filter=capture",
        &Cred::Query(tok),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json().as_array().unwrap().len(), 4);
    // A masked network term in the default-pass filter hides a whole vendor.
    let r = s.post_json(
        "/packetfilters/capture/network/filter.json",
        &admin,
        &json!({"filter": {"12:22:33:00:00:00/FF:FF:FF:00:00:00": "block"}}),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        with("/devices/views/all/devices.json"),
        ["Cafe-2", "Library"]
    );
    // Removing the terms shows them again.
    let r = s.post_json(
        "/packetfilters/capture/source/remove.json",
        &admin,
        &json!({"addresses": [m1]}),
    );
    assert_eq!(r.status, 200);
    assert_eq!(
        with("/devices/views/all/devices.json"),
        ["Cafe-1", "Cafe-2", "Library"]
    );
    // An unknown filter id: 404.
    let r = s.get("/devices/views/all/devices.json?filter=nope", &admin);
    assert_eq!(r.status, 404, "{}", r.text());
}

#[test]
fn metrics_and_openapi_know_the_scan_endpoints() {
    let s = server("scan-metrics");
    post_ok(
        &s,
        &batch(
            UUID_A,
            "phone",
            vec![json!({"bssid": mac(1)}), json!({"bssid": mac(2)})],
        ),
    );
    let r = post_reports(
        &s,
        &Cred::admin(),
        &batch(
            UUID_A,
            "phone",
            vec![json!({"bssid": mac(3)}), json!({"bssid": "bad"})],
        ),
    );
    assert_eq!(r.status, 200);
    let m = s.get("/metrics", &Cred::admin()).text();
    let value = |name: &str| -> f64 {
        m.lines()
            .find(|l| l.starts_with(name) && l[name.len()..].starts_with(' '))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no {name} in\n{m}"))
    };
    assert_eq!(value("airsift_scan_reports_accepted_total"), 3.0);
    assert_eq!(value("airsift_scan_reports_rejected_total"), 1.0);
    assert_eq!(value("airsift_scan_requests_total"), 2.0);
    assert_eq!(value("airsift_scan_devices"), 3.0);
    let doc = s.get("/openapi.json", &Cred::None).json();
    let paths = doc["paths"].as_object().unwrap();
    for p in [
        "/phy/phy80211/scan/scan_report.cmd",
        "/datasource/all_sources.json",
        "/datasource/by-uuid/{uuid}/source.json",
        "/devices/views/all/devices.json",
        "/devices/views/phydot11_accesspoints/devices.json",
        "/devices/last-time/{ts}/devices.json",
        "/devices/by-mac/{mac}/devices.json",
        "/devices/by-key/{key}/device.json",
    ] {
        assert!(paths.contains_key(p), "{p} missing from /openapi.json");
    }
    let mac_params = &paths["/devices/by-mac/{mac}/devices.json"]["get"]["parameters"];
    let names: Vec<&str> = mac_params
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["mac", "filter"]);
    let keys = &paths["/phy/phy80211/scan/scan_report.cmd"]["post"]["requestBody"]["content"]
        ["application/json"]["schema"]["properties"];
    assert!(keys.get("reports").is_some(), "{keys}");
}

#[test]
fn long_lists_are_streamed_a_chunk_at_a_time() {
    // More devices than the API renders per step (2000), so lists cross chunk boundaries.
    const N: u64 = 4500;
    let s = server("scan-long");
    let admin = Cred::admin();
    let reports: Vec<Value> = (0..N)
        .map(|i| json!({"bssid": mac(i), "ssid": format!("n{i}"), "capabilities": "[ESS]"}))
        .collect();
    post_ok(&s, &batch(UUID_A, "phone", reports));
    let want: Vec<String> = (0..N).map(mac).collect();
    let r = s.get("/devices/views/all/devices.json", &admin);
    assert_eq!(r.status, 200);
    assert_eq!(r.header("X-Airsift-Total"), Some("4500"));
    assert!(
        r.header("Transfer-Encoding")
            .is_some_and(|v| v.contains("chunked")),
        "a long list is streamed: {:?}",
        r.headers
    );
    let all = r.json();
    assert_eq!(
        macs(all.as_array().unwrap()),
        want,
        "every device once, in MAC order"
    );
    let it = s.get("/devices/last-time/0/devices.itjson", &admin);
    let lines: Vec<Value> = it
        .text()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(macs(&lines), want);
    let pretty = s.get(
        "/devices/by-mac/02:00:00:00:00:00%2FFF:FF:FF:00:00:00/devices.prettyjson",
        &admin,
    );
    assert_eq!(pretty.json(), all, "the same list, indented");
    // Pages and windows across chunk boundaries, with fields.
    let r = s.post_json(
        "/devices/views/all/devices.json",
        &admin,
        &json!({"page": 1, "length": 1500, "fields": [MAC]}),
    );
    assert_eq!(macs(r.json().as_array().unwrap()), want[1500..3000]);
    let r = s.post_json(
        "/devices/views/all/devices.json",
        &admin,
        &json!({"start": 1999, "length": 3, "fields": [MAC]}),
    );
    assert_eq!(macs(r.json().as_array().unwrap()), want[1999..2002]);
    let r = s.post_json(
        "/devices/views/phydot11_accesspoints/devices.prettyjson",
        &admin,
        &json!({"datatable": true, "draw": 2, "start": 4000, "fields": [MAC]}),
    );
    let v = r.json();
    assert_eq!(v["recordsTotal"], 4500);
    assert_eq!(v["recordsFiltered"], 4500);
    assert_eq!(macs(v["data"].as_array().unwrap()), want[4000..]);
    let r = s.post_json(
        "/devices/views/all/devices.json",
        &admin,
        &json!({"datatable": true, "fields": [MAC]}),
    );
    assert_eq!(macs(r.json()["data"].as_array().unwrap()), want);
    // multimac: overlapping terms, each device once.
    let r = s.post_json(
        "/devices/multimac/devices.json",
        &admin,
        &json!({"devices": [mac(7), "02:00:00:00:00:00/FF:FF:FF:FF:F0:00", mac(4499)], "fields": [MAC]}),
    );
    let got = macs(r.json().as_array().unwrap());
    let mut expect = vec![mac(7)];
    expect.extend((0..4096).filter(|&i| i != 7).map(mac));
    expect.push(mac(4499));
    assert_eq!(got, expect);
}
