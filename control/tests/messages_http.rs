//! The server's clock and airsift's message bus over HTTP (Kismet's `/system/timestamp` and
//! `/messagebus/...`): who changed which filter to which generation, sources opened and
//! closed, `last-time` filtering in Kismet's argument forms, both encodings, roles.

mod common;

use common::http::{ApiServer, Cred};
use serde_json::{json, Value};

const TEXT: &str = "kismet.messagebus.message_string";

fn texts(s: &ApiServer, since: &str, cred: &Cred) -> Vec<String> {
    let r = s.get(
        &format!("/messagebus/last-time/{since}/messages.json"),
        cred,
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let doc = r.json();
    assert!(doc["kismet.messagebus.timestamp"].is_u64(), "{doc}");
    doc["kismet.messagebus.list"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m[TEXT].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn the_clock_in_kismets_fields() {
    let s = ApiServer::start_without_source(&common::scratch("clock"));
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let r = s.get("/system/timestamp.json", &Cred::admin());
    assert_eq!(r.status, 200);
    let t = r.json();
    let sec = t["kismet.system.timestamp.sec"].as_u64().unwrap();
    assert!(sec >= now && sec <= now + 60, "{t}");
    assert!(
        t["kismet.system.timestamp.usec"].as_u64().unwrap() < 1_000_000,
        "{t}"
    );
    assert_eq!(s.get("/system/timestamp.json", &Cred::None).status, 401);
}

#[test]
fn filter_changes_and_sources_are_told_with_who_and_which_generation() {
    let s = ApiServer::start_without_source(&common::scratch("msgs"));
    let admin = Cred::admin();
    let r = s.post_json(
        "/packetfilters/capture/source/filter.json",
        &admin,
        &json!({"filter": {"02:00:00:00:00:01": true}}),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let g = r.json()["airsift.packetfilter.generation"]
        .as_u64()
        .unwrap();
    let r = s.post_json(
        "/auth/apikey/generate.cmd",
        &admin,
        &json!({"name": "ops-key", "role": "admin", "duration": 0}),
    );
    let key = Cred::Cookie(r.json()["token"].as_str().unwrap().to_string());
    let r = s.post_json(
        "/filters/packet/capture/set_default.cmd",
        &key,
        &json!({"default": "reject"}),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let g2 = r.json()["airsift.packetfilter.generation"]
        .as_u64()
        .unwrap();
    // A refused change tells nothing.
    let r = s.post_json(
        "/packetfilters/capture/source/filter.json",
        &admin,
        &json!({"filter": {"not-a-mac": true}}),
    );
    assert_eq!(r.status, 400);
    // Sources opened and closed.
    let cap = common::capture("rt_aircrack_test1_multins-fcs.pcap");
    let r = s.post_json(
        "/datasource/add_source.cmd",
        &admin,
        &json!({"definition": format!("pcap:{}:name=replay", cap.display())}),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let uuid = r.json()["kismet.datasource.uuid"]
        .as_str()
        .unwrap()
        .to_string();
    let r = s.get(
        &format!("/datasource/by-uuid/{uuid}/close_source.cmd"),
        &admin,
    );
    assert_eq!(r.status, 200, "{}", r.text());

    let ro = {
        let r = s.post_json(
            "/auth/apikey/generate.cmd",
            &admin,
            &json!({"name": "reader", "role": "readonly", "duration": 0}),
        );
        Cred::Cookie(r.json()["token"].as_str().unwrap().to_string())
    };
    let all = texts(&s, "0", &ro);
    assert_eq!(
        all,
        [
            format!("packet filter capture changed by admin: generation {g}"),
            format!("packet filter capture changed by ops-key: generation {g2}"),
            format!(
                "source replay ({uuid}) opened: pcap:{}:name=replay",
                cap.display()
            ),
            format!("source replay ({uuid}) closed"),
        ],
        "{all:?}"
    );
    // Kismet's argument forms: sec.usec (its Python client), negative (seconds before now).
    assert_eq!(texts(&s, "0.0", &ro), all);
    assert_eq!(texts(&s, "-3600", &ro), all);
    let future = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 3600;
    assert!(texts(&s, &future.to_string(), &ro).is_empty());
    // One message per line with .itjson, the fields of each, and every message since 0.
    let r = s.get("/messagebus/last-time/0/messages.itjson", &ro);
    let lines: Vec<Value> = r
        .text()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 4);
    assert!(lines
        .iter()
        .all(|l| l["kismet.messagebus.message_time"].is_u64()));
    // The first filter change raised the FILTERCHANGE alert (flag 8); the second is an alert
    // too unless it came within the alert's burst of one a second (then a plain message, 2);
    // the sources' are plain messages.
    let flags: Vec<&Value> = lines
        .iter()
        .map(|l| &l["kismet.messagebus.message_flags"])
        .collect();
    assert_eq!(flags[0], &json!(8));
    assert!(flags[1] == &json!(2) || flags[1] == &json!(8), "{flags:?}");
    assert_eq!(flags[2..], [&json!(2), &json!(2)]);
    let r = s.get("/messagebus/all_messages.json", &ro).json();
    assert_eq!(r["kismet.messagebus.list"].as_array().unwrap().len(), 4);
    assert_eq!(
        s.get("/messagebus/last-time/yesterday/messages.json", &ro)
            .status,
        400
    );
    assert_eq!(
        s.get("/messagebus/last-time/0/messages.json", &Cred::None)
            .status,
        401
    );
}
