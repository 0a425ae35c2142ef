//! Kismet's own Python client (`kismet_rest` from PyPI, which `.ci/run` installs into
//! `target/kismet-client`) managing airsift's datasources in a lab namespace: the calls its
//! `Datasources` class makes, with the HTTP methods and form-encoded bodies it sends, and its
//! `System.get_system_time`, `Messages.all` and `GPS.current_location`. The
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
    let r: Value = serde_json::from_str(stdout.trim()).unwrap();
    for call in ["add", "pause", "resume", "close", "open"] {
        assert_eq!(r[call], true, "{call}: {r}");
    }
    assert_eq!(r["names"], serde_json::json!(["from-python"]), "{r}");
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
