//! Kismet's own Python client (`kismet_rest` from PyPI, which `.ci/run` installs into
//! `target/kismet-client`) managing airsift's datasources in a lab namespace: the calls its
//! `Datasources` class makes, with the HTTP methods and form-encoded bodies it sends, its
//! `System.get_system_time`, `Messages.all`, `GPS.current_location` and `Alerts` calls, and
//! the legacy `KismetConnector`'s alert, message, GPS, status and device calls. The
//! client is an oracle airsift shares no code with. Skipped, saying so, where the client is
//! not installed (`python3 -m venv target/kismet-client && target/kismet-client/bin/pip
//! install kismet_rest==2020.5.1`).

mod common;

use std::path::PathBuf;

use common::http::{ApiServer, Cred, PASSWORD};
use common::Netns;
use serde_json::Value;

fn client_python() -> Option<PathBuf> {
    let p = std::env::var_os("AIRSIFT_KISMET_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/kismet-client/bin/python")
        });
    p.exists().then_some(p)
}

const SCRIPT: &str = r#"
import json, sys
import kismet_rest
from kismet_rest.exceptions import KismetRequestException

host = "http://" + sys.argv[1]
ds = kismet_rest.Datasources(host_uri=host, username="admin", password=sys.argv[2])
out = {}
out["add"] = ds.add("tpacket:vb:link_type=radiotap,name=from-python")
srcs = list(ds.all())
out["names"] = [s["kismet.datasource.name"] for s in srcs]
uuid = [s for s in srcs if s["kismet.datasource.name"] == "from-python"][0]["kismet.datasource.uuid"]
out["uuid"] = uuid
out["pause"] = ds.pause(uuid)
out["resume"] = ds.resume(uuid)
out["close"] = ds.close(uuid)
out["open"] = ds.open(uuid)
out["interfaces"] = sorted(i["kismet.datasource.probed.interface"] for i in ds.interfaces())
def refused(f):
    try:
        f()
        return None
    except KismetRequestException as e:
        return str(e)
out["set_channel"] = refused(lambda: ds.set_channel(uuid, "6"))
out["set_hop_channels"] = refused(lambda: ds.set_hop_channels(uuid, 5, ["1", "6", "11"]))
out["set_hop"] = refused(lambda: ds.set_hop(uuid))
out["add_missing"] = refused(lambda: ds.add("tpacket:nosuch0"))
system = kismet_rest.System(host_uri=host, username="admin", password=sys.argv[2])
out["time"] = system.get_system_time()
out["time_iso"] = system.get_system_time("iso")
msgs = kismet_rest.Messages(host_uri=host, username="admin", password=sys.argv[2])
out["messages"] = list(msgs.all())
out["gps"] = kismet_rest.GPS(host_uri=host, username="admin", password=sys.argv[2]).current_location()
al = kismet_rest.Alerts(host_uri=host, username="admin", password=sys.argv[2])
out["define"] = al.define("FromPython", "defined by the client")
out["raise"] = al.raise_alert("FromPython", "raised by the client", bssid="02:00:00:00:00:01", channel="6")
out["alerts"] = list(al.all())
kc = kismet_rest.KismetConnector(host_uri=host, username="admin", password=sys.argv[2])
out["legacy_define"] = kc.define_alert("Legacy", "defined by the legacy connector")
out["legacy_raise"] = kc.raise_alert("Legacy", "raised by the legacy connector")
out["legacy_alerts"] = kc.alerts()
out["legacy_messages"] = kc.messages()
out["legacy_location"] = kc.location()
out["legacy_status"] = kc.system_status()
devs = list(kc.device_list())
out["legacy_devices"] = devs
key = devs[0]["kismet.device.base.key"]
out["legacy_device"] = kc.device(key)
out["legacy_field"] = kc.device_field(key, "kismet.device.base.macaddr")
out["legacy_nested"] = kc.device_field(key, "dot11.device/dot11.device.last_beaconed_ssid_record")
out["legacy_by_mac"] = kc.device_by_mac("02:00:00:00:00:01")
out["legacy_aps"] = list(kc.dot11_access_points())
out["legacy_summary"] = kc.device_summary()
out["legacy_since"] = kc.device_summary_since(0, ["kismet.device.base.macaddr"])
out["legacy_smart"] = kc.smart_device_list(ts=0, fields=["kismet.device.base.macaddr"], regex=[["kismet.device.base.name", "^caf"]])
out["legacy_smart_none"] = kc.smart_device_list(ts=0, regex=[["kismet.device.base.name", "^nomatch$"]])
out["legacy_by_macs"] = kc.device_list_by_mac(["02:00:00:00:00:01", "02:00:00:00:00:99"])
out["legacy_clients"] = kc.dot11_clients_of(key)
out["legacy_sources"] = [d["kismet.datasource.name"] for d in kc.datasources()]
out["legacy_interfaces"] = sorted(i["kismet.datasource.probed.interface"] for i in kc.datasource_list_interfaces())
print(json.dumps(out))
"#;

#[test]
fn kismets_python_client_manages_datasources() {
    if common::skip_unless_root("kismets_python_client_manages_datasources") {
        return;
    }
    let Some(python) = client_python() else {
        eprintln!(
            "kismets_python_client_manages_datasources: skipped: Kismet's Python client is not \
             installed (see this file's doc; .ci/run installs it)"
        );
        return;
    };
    let ns = Netns::with_veth("pyk");
    let dir = common::scratch("pyk");
    let args: Vec<String> = ["run", "--listen", "127.0.0.1:0", "--state-dir"]
        .iter()
        .map(|s| s.to_string())
        .chain([dir.display().to_string()])
        .collect();
    let s = ApiServer::start_in_ns(&ns, &dir, &args);
    // A device for the legacy connector's device calls, from a scan report.
    let r = s.post_json(
        "/phy/phy80211/scan/scan_report.cmd",
        &Cred::admin(),
        &serde_json::json!({
            "source_uuid": "11111111-2222-3333-4444-555555555555",
            "source_name": "phone",
            "reports": [{"bssid": "02:00:00:00:00:01", "ssid": "cafe",
                         "capabilities": "[WPA2-PSK-CCMP][ESS]", "frequency": 2437,
                         "signal": -50}],
        }),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let out = ns
        .cmd(python.to_str().unwrap())
        .args(["-c", SCRIPT, &s.addr, PASSWORD])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The last line: the client's smart_device_list prints each URL it calls.
    let last = stdout.trim().lines().last().unwrap_or_default();
    let r: Value = serde_json::from_str(last).unwrap_or_else(|e| panic!("{e}: {stdout}"));
    for call in ["add", "pause", "resume", "close", "open"] {
        assert_eq!(r[call], true, "{call}: {r}");
    }
    // The scan report's virtual source is listed after the capture source.
    assert_eq!(
        r["names"],
        serde_json::json!(["from-python", "phone"]),
        "{r}"
    );
    assert_eq!(
        r["interfaces"],
        serde_json::json!(["lo", "va", "vb"]),
        "{r}"
    );
    let refused_with = |call: &str, code: &str| {
        let e = r[call]
            .as_str()
            .unwrap_or_else(|| panic!("{call} was not refused: {r}"));
        assert!(e.contains(code), "{call}: {e}");
    };
    for call in ["set_channel", "set_hop_channels", "set_hop"] {
        refused_with(call, "409");
    }
    refused_with("add_missing", "400");
    // The clock (epoch and ISO forms) and the message bus through the same client.
    assert!(
        r["time"]["kismet.system.timestamp.sec"].as_u64().unwrap() > 1_700_000_000,
        "{r}"
    );
    assert!(r["time_iso"].as_str().unwrap().contains('T'), "{r}");
    let listed = r["messages"][0]["kismet.messagebus.list"]
        .as_array()
        .unwrap();
    let texts: Vec<&str> = listed
        .iter()
        .map(|m| m["kismet.messagebus.message_string"].as_str().unwrap())
        .collect();
    assert_eq!(
        r["gps"]["kismet.common.location.fix"], 0,
        "no gpsd, no fix: {r}"
    );
    for word in ["opened", "paused", "resumed", "closed", "reopened"] {
        assert!(
            texts
                .iter()
                .any(|t| t.ends_with(word) || t.contains(&format!("{word}:"))),
            "{word}: {texts:?}"
        );
    }
    // Alerts: defined without class or severity, raised by the client's singular URL with a
    // mixed-case name, read back one per line.
    for call in ["define", "raise", "legacy_define", "legacy_raise"] {
        assert_eq!(r[call], true, "{call}: {r}");
    }
    let raised = r["alerts"].as_array().unwrap();
    assert_eq!(raised.len(), 1, "{r}");
    assert_eq!(raised[0]["kismet.alert.header"], "FROMPYTHON");
    assert_eq!(raised[0]["kismet.alert.text"], "raised by the client");
    assert_eq!(
        raised[0]["kismet.alert.transmitter_mac"],
        "02:00:00:00:00:01"
    );
    assert_eq!(raised[0]["kismet.alert.channel"], "6");
    // The legacy connector's reads: both alerts, then the bus with both raises on it.
    let legacy = r["legacy_alerts"].as_array().unwrap();
    assert_eq!(legacy.len(), 2, "{r}");
    assert_eq!(legacy[0], raised[0]);
    assert_eq!(legacy[1]["kismet.alert.header"], "LEGACY");
    assert!(
        r["legacy_messages"]["kismet.messagebus.list"].is_array(),
        "{r}"
    );
    assert_eq!(r["legacy_location"]["kismet.common.location.fix"], 0, "{r}");
    assert!(r["legacy_status"].is_object(), "{r}");
    let devs = r["legacy_devices"].as_array().unwrap();
    assert_eq!(devs.len(), 1, "{r}");
    assert_eq!(r["legacy_device"], devs[0], "{r}");
    assert_eq!(r["legacy_field"], "02:00:00:00:00:01", "{r}");
    assert_eq!(
        r["legacy_nested"], devs[0]["dot11.device"]["dot11.device.last_beaconed_ssid_record"],
        "{r}"
    );
    assert_eq!(r["legacy_by_mac"][0], devs[0], "{r}");
    assert_eq!(
        r["legacy_aps"][0]["kismet.device.base.macaddr"],
        "02:00:00:00:00:01"
    );
    assert_eq!(r["legacy_summary"], r["legacy_devices"], "{r}");
    let mac_only = serde_json::json!([{"kismet.device.base.macaddr": "02:00:00:00:00:01"}]);
    assert_eq!(r["legacy_since"], mac_only, "{r}");
    assert_eq!(r["legacy_smart"], mac_only, "{r}");
    assert_eq!(r["legacy_smart_none"], serde_json::json!([]), "{r}");
    assert_eq!(r["legacy_by_macs"], serde_json::json!([devs[0]]), "{r}");
    assert_eq!(
        r["legacy_clients"],
        serde_json::json!([]),
        "no clients: {r}"
    );
    assert_eq!(
        r["legacy_sources"],
        serde_json::json!(["from-python", "phone"]),
        "{r}"
    );
    assert_eq!(
        r["legacy_interfaces"],
        serde_json::json!(["lo", "va", "vb"]),
        "{r}"
    );
    // What the client did is what the API shows: the source runs again after open.
    let uuid = r["uuid"].as_str().unwrap();
    let rec = s
        .get(
            &format!("/datasource/by-uuid/{uuid}/source.json"),
            &Cred::admin(),
        )
        .json();
    assert_eq!(rec["kismet.datasource.running"], 1, "{rec}");
    assert_eq!(rec["kismet.datasource.paused"], 0, "{rec}");
}
