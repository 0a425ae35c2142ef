//! Alerts over HTTP (Kismet's `/alerts/...`): definitions (airsift's own and defined ones),
//! raising with Kismet's and its Python client's spellings, Kismet's record names,
//! `last-time` filtering, the wrapped form, `.itjson`, `by-id`, the bounded backlog, rate
//! limits, roles, every refusal with its status and no change; a filter change raising
//! FILTERCHANGE; and Kismet's legacy device field path.

mod common;
#[path = "common/scan.rs"]
mod scan;

use common::http::{ApiServer, Cred};
use scan::{batch, mac, post_ok, KEY, UUID_A};
use serde_json::{json, Value};

const DEFINE: &str = "/alerts/definitions/define_alert.cmd";
const RAISE: &str = "/alerts/raise_alerts.cmd";

fn headers(s: &ApiServer) -> Vec<String> {
    let r = s.get("/alerts/definitions.json", &Cred::admin());
    assert_eq!(r.status, 200, "{}", r.text());
    r.json()
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["kismet.alert.definition.header"].as_str().unwrap().into())
        .collect()
}

fn alerts(s: &ApiServer, since: &str) -> Vec<Value> {
    let r = s.get(
        &format!("/alerts/last-time/{since}/alerts.json"),
        &Cred::admin(),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    r.json().as_array().unwrap().clone()
}

fn readonly_key(s: &ApiServer) -> Cred {
    let r = s.post_json(
        "/auth/apikey/generate.cmd",
        &Cred::admin(),
        &json!({"name": "reader", "role": "readonly", "duration": 0}),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    Cred::Cookie(r.json()["token"].as_str().unwrap().to_string())
}

#[test]
fn define_raise_and_read_with_kismets_names() {
    let s = ApiServer::start_without_source(&common::scratch("alerts"));
    let admin = Cred::admin();
    let builtin = headers(&s);
    for h in ["CAPTUREDROPS", "SOURCEERROR", "NEWTXFLOOD", "FILTERCHANGE"] {
        assert!(builtin.contains(&h.to_string()), "{builtin:?}");
    }

    // The Python client's define: name, description, throttle, burst; form-encoded.
    let r = s.post_form(
        DEFINE,
        &admin,
        &json!({"name": "ScaryAlert", "description": "Super scary", "throttle": "10/min",
                "burst": "5/sec"}),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let d = &r.json()["kismet.alert.definition"];
    assert_eq!(d["kismet.alert.definition.header"], "SCARYALERT");
    assert_eq!(d["kismet.alert.definition.class"], "OTHER");
    assert_eq!(d["kismet.alert.definition.severity"], 0);
    assert_eq!(d["kismet.alert.definition.limit_rate"], 10);
    assert_eq!(d["kismet.alert.definition.limit_unit"], 1);
    assert_eq!(d["kismet.alert.definition.limit_burst"], 5);
    assert_eq!(d["kismet.alert.definition.burst_unit"], 0);
    // Kismet's full form, as JSON.
    let r = s.post_json(
        DEFINE,
        &admin,
        &json!({"name": "rogue", "description": "A rogue AP", "class": "spoof",
                "severity": 15, "throttle": "100/min", "burst": "100/sec"}),
    );
    assert_eq!(r.status, 200, "{}", r.text());

    // Raise with the client's singular URL (mixed case) and Kismet's plural one.
    let r = s.post_form(
        "/alerts/raise_alert.cmd",
        &admin,
        &json!({"name": "ScaryAlert", "text": "one"}),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let first = r.json()["kismet.alert.alert"].clone();
    let r = s.post_json(
        RAISE,
        &admin,
        &json!({"name": "ROGUE", "text": "two", "bssid": "02:00:00:00:00:0a",
                "source": "02:00:00:00:00:0b", "dest": "ff:ff:ff:ff:ff:ff",
                "other": "02:00:00:00:00:0c", "channel": 6}),
    );
    assert_eq!(r.status, 200, "{}", r.text());

    let all = alerts(&s, "0");
    assert_eq!(all.len(), 2, "{all:?}");
    let a = &all[1];
    assert_eq!(a["kismet.alert.header"], "ROGUE");
    assert_eq!(a["kismet.alert.class"], "SPOOF");
    assert_eq!(a["kismet.alert.severity"], 15);
    assert_eq!(a["kismet.alert.text"], "two");
    assert_eq!(a["kismet.alert.transmitter_mac"], "02:00:00:00:00:0A");
    assert_eq!(a["kismet.alert.source_mac"], "02:00:00:00:00:0B");
    assert_eq!(a["kismet.alert.dest_mac"], "FF:FF:FF:FF:FF:FF");
    assert_eq!(a["kismet.alert.other_mac"], "02:00:00:00:00:0C");
    assert_eq!(a["kismet.alert.channel"], "6");
    for k in [
        "kismet.alert.device_key",
        "kismet.alert.hash",
        "kismet.alert.phy_id",
        "kismet.alert.timestamp",
        "kismet.alert.frequency",
    ] {
        assert!(a.get(k).is_some(), "{k} missing: {a}");
    }
    assert_eq!(all[0]["kismet.alert.transmitter_mac"], "00:00:00:00:00:00");

    // last-time: only the newer one; Kismet's sec.usec spelling; negative seconds.
    let t = first["kismet.alert.timestamp"].as_f64().unwrap();
    let newer = alerts(&s, &format!("{t:.6}"));
    assert_eq!(newer.len(), 1, "{newer:?}");
    assert_eq!(newer[0]["kismet.alert.text"], "two");
    assert_eq!(alerts(&s, "-3600").len(), 2);
    assert_eq!(alerts(&s, "9999999999").len(), 0);
    assert_eq!(
        s.get("/alerts/last-time/yesterday/alerts.json", &admin)
            .status,
        400
    );
    // .itjson: one record per line; the wrapped form; all_alerts; by-id.
    let lines = s.get("/alerts/last-time/0/alerts.itjson", &admin).text();
    assert_eq!(lines.lines().count(), 2, "{lines}");
    let w = s
        .get("/alerts/wrapped/last-time/0/alerts.json", &admin)
        .json();
    assert_eq!(w["kismet.alert.list"].as_array().unwrap().len(), 2, "{w}");
    assert!(w["kismet.alert.timestamp"].as_f64().unwrap() >= t);
    assert_eq!(
        s.get("/alerts/all_alerts.json", &admin).json(),
        Value::Array(all.clone())
    );
    let hash = all[1]["kismet.alert.hash"].as_u64().unwrap();
    let one = s.get(&format!("/alerts/by-id/{hash}/alert.json"), &admin);
    assert_eq!(one.json(), all[1]);
    assert_eq!(s.get("/alerts/by-id/1/alert.json", &admin).status, 404);
    assert_eq!(s.get("/alerts/by-id/x/alert.json", &admin).status, 400);
    // Field simplification applies to the records.
    let r = s.post_json(
        "/alerts/last-time/0/alerts.json",
        &admin,
        &json!({"fields": ["kismet.alert.header"]}),
    );
    assert_eq!(
        r.json(),
        json!([{"kismet.alert.header": "SCARYALERT"}, {"kismet.alert.header": "ROGUE"}])
    );
    // The raise is on the message bus too, as Kismet's "HEADER text".
    let msgs = s
        .get("/messagebus/last-time/0/messages.json", &admin)
        .json();
    let texts: Vec<&str> = msgs["kismet.messagebus.list"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["kismet.messagebus.message_string"].as_str().unwrap())
        .collect();
    assert!(texts.contains(&"ROGUE two"), "{texts:?}");

    // A readonly key reads but neither defines nor raises.
    let ro = readonly_key(&s);
    assert_eq!(s.get("/alerts/last-time/0/alerts.json", &ro).status, 200);
    assert_eq!(s.get("/alerts/definitions.json", &ro).status, 200);
    let r = s.post_json(DEFINE, &ro, &json!({"name": "x", "description": "y"}));
    assert_eq!(r.status, 403, "{}", r.text());
    let r = s.post_json(RAISE, &ro, &json!({"name": "ROGUE", "text": "z"}));
    assert_eq!(r.status, 403, "{}", r.text());
    assert_eq!(s.get("/alerts/definitions.json", &Cred::None).status, 401);
    assert_eq!(alerts(&s, "0").len(), 2);
}

#[test]
fn refusals_name_the_problem_and_change_nothing() {
    let s = ApiServer::start_without_source(&common::scratch("alerts-bad"));
    let admin = Cred::admin();
    let before = headers(&s);
    for (body, status, says) in [
        (json!({"description": "d"}), 400, "missing key: name"),
        (json!({"name": "A"}), 400, "missing key: description"),
        (
            json!({"name": 5, "description": "d"}),
            400,
            "name must be a string",
        ),
        (
            json!({"name": "A", "description": "d", "severity": 7}),
            400,
            "severity 7",
        ),
        (
            json!({"name": "A", "description": "d", "throttle": "10/fortnight"}),
            400,
            "fortnight",
        ),
        (
            json!({"name": "A", "description": "d", "throttle": "1/sec", "burst": "1/min"}),
            400,
            "longer than the throttle",
        ),
        (
            json!({"name": "A", "description": "d", "phyname": "Bluetooth"}),
            400,
            "Bluetooth",
        ),
        (
            json!({"name": "A", "description": "d", "colour": 1}),
            400,
            "colour",
        ),
        (
            json!({"name": "sourceerror", "description": "mine"}),
            409,
            "already defined",
        ),
    ] {
        let r = s.post_json(DEFINE, &admin, &body);
        assert_eq!(r.status, status, "{body}: {}", r.text());
        assert!(r.text().contains(says), "{body}: {}", r.text());
    }
    assert_eq!(headers(&s), before, "refused definitions change nothing");

    let r = s.post_json(
        DEFINE,
        &admin,
        &json!({"name": "once", "description": "d", "throttle": "100/min", "burst": "1/sec"}),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    for (body, status, says) in [
        (
            json!({"name": "nope", "text": "t"}),
            404,
            "no alert named NOPE",
        ),
        (json!({"name": "once"}), 400, "missing key: text"),
        (
            json!({"name": "once", "text": "t", "bssid": "not-a-mac"}),
            400,
            "bssid",
        ),
        (
            json!({"name": "once", "text": "t", "severity": 5}),
            400,
            "severity",
        ),
    ] {
        let r = s.post_json(RAISE, &admin, &body);
        assert_eq!(r.status, status, "{body}: {}", r.text());
        assert!(r.text().contains(says), "{body}: {}", r.text());
    }
    assert!(alerts(&s, "0").is_empty());
    // A burst of one a second: the second raise within it is refused, and not kept.
    let r = s.post_json(RAISE, &admin, &json!({"name": "once", "text": "1"}));
    assert_eq!(r.status, 200, "{}", r.text());
    let r = s.post_json(RAISE, &admin, &json!({"name": "once", "text": "2"}));
    assert_eq!(r.status, 429, "{}", r.text());
    assert!(r.text().contains("throttle or burst"), "{}", r.text());
    assert_eq!(alerts(&s, "0").len(), 1);
    let defs = s.get("/alerts/definitions.json", &admin).json();
    let once = defs
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["kismet.alert.definition.header"] == "ONCE")
        .unwrap();
    assert_eq!(once["kismet.alert.definition.total_sent"], 1, "{once}");
    assert!(once["kismet.alert.definition.time_last"].as_f64().unwrap() > 1.7e9);
}

#[test]
fn the_backlog_is_bounded_newest_last() {
    let s = ApiServer::start_without_source(&common::scratch("alerts-ring"));
    let admin = Cred::admin();
    let r = s.post_json(
        DEFINE,
        &admin,
        &json!({"name": "many", "description": "d", "throttle": "100000/min",
                "burst": "100000/sec"}),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    for i in 0..1100 {
        let r = s.post_json(
            RAISE,
            &admin,
            &json!({"name": "many", "text": i.to_string()}),
        );
        assert_eq!(r.status, 200, "{}", r.text());
    }
    let all = alerts(&s, "0");
    assert_eq!(all.len(), 1024);
    assert_eq!(all[0]["kismet.alert.text"], "76");
    assert_eq!(all[1023]["kismet.alert.text"], "1099");
    let times: Vec<f64> = all
        .iter()
        .map(|a| a["kismet.alert.timestamp"].as_f64().unwrap())
        .collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]));
}

#[test]
fn a_filter_change_raises_filterchange_once() {
    let s = ApiServer::start_without_source(&common::scratch("alerts-filter"));
    let admin = Cred::admin();
    let r = s.post_json(
        "/packetfilters/capture/source/filter.json",
        &admin,
        &json!({"filter": {"02:00:00:00:00:01": true}}),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let all = alerts(&s, "0");
    assert_eq!(all.len(), 1, "{all:?}");
    assert_eq!(all[0]["kismet.alert.header"], "FILTERCHANGE");
    assert_eq!(all[0]["kismet.alert.class"], "SYSTEM");
    let text = all[0]["kismet.alert.text"].as_str().unwrap();
    assert!(text.contains("changed by admin: generation"), "{text}");
    // Told once on the bus: as the alert.
    let msgs = s
        .get("/messagebus/last-time/0/messages.json", &admin)
        .json();
    let told: Vec<&Value> = msgs["kismet.messagebus.list"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| {
            m["kismet.messagebus.message_string"]
                .as_str()
                .unwrap()
                .contains("changed by admin")
        })
        .collect();
    assert_eq!(told.len(), 1, "{msgs}");
    assert_eq!(told[0]["kismet.messagebus.message_flags"], 8);
}

#[test]
fn legacy_device_field_paths() {
    let s = ApiServer::start_without_source(&common::scratch("alerts-legacy"));
    let admin = Cred::admin();
    post_ok(
        &s,
        &batch(
            UUID_A,
            "phone",
            vec![
                json!({"bssid": mac(1), "ssid": "cafe", "capabilities": "[WPA2-PSK-CCMP][ESS]",
                        "frequency": 2437, "signal": -50}),
            ],
        ),
    );
    let devs = s.get("/devices/views/all/devices.json", &admin).json();
    let dev = &devs[0];
    let key = dev[KEY].as_str().unwrap();
    let r = s.get(
        &format!("/devices/by-key/{key}/device.json/kismet.device.base.macaddr"),
        &admin,
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json(), json!(mac(1)));
    let nested = "dot11.device/dot11.device.last_beaconed_ssid_record";
    let r = s.get(
        &format!("/devices/by-key/{key}/device.json/{nested}"),
        &admin,
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        r.json(),
        dev["dot11.device"]["dot11.device.last_beaconed_ssid_record"]
    );
    let r = s.get(
        &format!("/devices/by-key/{key}/device.json/dot11.device/no.such.field"),
        &admin,
    );
    assert_eq!(r.status, 404, "{}", r.text());
    assert!(
        r.text().contains("dot11.device/no.such.field"),
        "{}",
        r.text()
    );
}
