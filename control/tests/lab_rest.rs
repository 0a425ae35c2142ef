//! End to end in the lab: capture on a veth, block a station over REST while frames flow;
//! from the generation in the reply on, no frame from that station reaches the pcapng log,
//! and `stats.json` counts them as blocked.

mod common;

use common::http::{ApiServer, Cred};
use common::{Injector, Netns};
use dataplane::capfile::CaptureFile;
use dataplane::wire::{Frame, LinkType, MacAddr};
use serde_json::json;

#[test]
fn blocking_over_rest_takes_effect_from_the_replied_generation() {
    if common::skip_unless_root("blocking_over_rest_takes_effect_from_the_replied_generation") {
        return;
    }
    let ns = Netns::with_veth("rest");
    let dir = common::scratch("lab-rest");
    let logdir = dir.join("log");
    let cap = common::capture("rt_aircrack_test1_multins-fcs.pcap");
    let frames: Vec<Vec<u8>> = CaptureFile::open(&cap)
        .unwrap()
        .records()
        .map(|r| r.unwrap().data.to_vec())
        .collect();
    let source = |f: &[u8]| {
        Frame::parse(f, LinkType::Radiotap)
            .ok()
            .and_then(|fr| fr.addresses().source)
    };
    let station: MacAddr = "F8:1A:67:E5:05:62".parse().unwrap();
    let from_station = frames.iter().filter(|f| source(f) == Some(station)).count() as u64;
    assert!(from_station > 10);

    let args: Vec<String> = [
        "run",
        "--source",
        "tpacket:vb",
        "--link-type",
        "radiotap",
        "--workers",
        "2",
        "--log-dir",
        logdir.to_str().unwrap(),
        "--state-dir",
        dir.join("state").to_str().unwrap(),
        "--listen",
        "127.0.0.1:0",
        "--json",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let mut s = ApiServer::start_in_ns(&ns, &dir.join("state"), &args);
    let admin = Cred::admin();
    let inject = [
        "veth",
        "--iface",
        "va",
        "--pcap",
        cap.to_str().unwrap(),
        "--rate",
        "5000",
    ];

    // Phase A: everything passes.
    let mut a = Injector::start(&ns, &inject);
    assert_eq!(a.send(), frames.len() as u64);
    a.finish();
    // Block the station; the reply carries the generation the workers apply from now on.
    let r = s.post_json(
        "/filters/packet/capture/IEEE802.11/source/set_filter.cmd",
        &admin,
        &json!({"filter": {station.to_string(): true}}),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let g = r.json()["airsift.packetfilter.generation"]
        .as_u64()
        .unwrap();
    // Phase B: the station's frames are blocked.
    let mut b = Injector::start(&ns, &inject);
    assert_eq!(b.send(), frames.len() as u64);
    b.finish();
    common::wait_until(
        "every frame counted",
        std::time::Duration::from_secs(120),
        || {
            s.get("/dataplane/stats.json", &admin).json()["total"]["frames"]
                .as_u64()
                .unwrap_or(0)
                >= 2 * frames.len() as u64
        },
    );
    let st = s.get("/dataplane/stats.json", &admin).json();
    assert_eq!(st["total"]["frames"], 2 * frames.len() as u64, "{st}");
    assert_eq!(st["total"]["blocked"], from_station, "{st}");
    assert_eq!(st["total"]["kernel_drops"], 0, "{st}");
    for w in st["workers"].as_array().unwrap() {
        assert!(
            w["filter_generation"].as_u64().unwrap() >= g,
            "a worker still applies an older table: {st}"
        );
    }
    let totals: serde_json::Value = serde_json::from_str(s.stop().trim()).unwrap();
    assert_eq!(totals["log_frames"], 2 * frames.len() as u64 - from_station);
    // The log: phase A whole, phase B without the station.
    let log: Vec<Vec<u8>> = common::logged_records(&logdir)
        .into_iter()
        .map(|(_, data)| data)
        .collect();
    let logged_from_station = log.iter().filter(|f| source(f) == Some(station)).count() as u64;
    assert_eq!(
        logged_from_station, from_station,
        "only phase A's frames from the station are logged"
    );
    assert_eq!(log.len() as u64, 2 * frames.len() as u64 - from_station);
}
