//! Capture in the hardware-free lab (root; each test makes its own network namespace and
//! removes it, also on failure). For each backend — TPACKET_V3 on a veth (one worker, and two
//! with fanout), TPACKET_V3 on a radiotap TUN device, AF_XDP on a veth — a known set of real
//! frames is injected by `airsift-inject` (which shares no code with the capture path), and:
//! every frame is counted exactly once across workers, the verdicts equal `airsift inspect`'s
//! for the same filter, the pcapng log holds exactly the passed frames byte for byte, and the
//! kernel dropped nothing at a modest rate. With the kernel filter on (TPACKET_V3 with fanout,
//! the radiotap TUN, AF_XDP), every blocked frame is dropped in the kernel and counted there,
//! the log is the same, and the programs are gone after exit and after SIGKILL.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use common::{Airsift, Injector, Netns};
use dataplane::capfile::CaptureFile;
use serde_json::Value;

/// A capture with several stations, FCS on most frames, three presence words.
const CAPTURE: &str = "rt_aircrack_test1_multins-fcs.pcap";
/// Filter: block one station as source, one network by OUI; pass the rest.
const FILTER: &str = r#"{
  "kismet.packetfilter.id": "capture",
  "kismet.packetfilter.default": 0,
  "kismet.packetfilter.macaddr.blocks_by_phy": {"IEEE802.11": {
    "kismet.packetfilter.macaddr.source": {"F8:1A:67:E5:05:62": 1},
    "kismet.packetfilter.macaddr.network": {"28:10:7B:00:00:00/FF:FF:FF:00:00:00": 1}
  }}}"#;

/// The frames the injector can send on a veth (14 to MTU+14 bytes), with `inspect`'s verdict.
fn expected(cap: &Path, filter: &Path, veth: bool) -> Vec<(Vec<u8>, String)> {
    let out = Command::new(env!("CARGO_BIN_EXE_airsift"))
        .arg("inspect")
        .arg(cap)
        .arg("--filter")
        .arg(filter)
        .output()
        .unwrap();
    assert!(out.status.success());
    let verdicts: Vec<String> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["verdict"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    let file = CaptureFile::open(cap).unwrap();
    file.records()
        .map(Result::unwrap)
        .zip(verdicts)
        .filter(|(r, _)| !veth || (14..=9014).contains(&r.data.len()))
        .map(|(r, v)| (r.data.to_vec(), v))
        .collect()
}

/// Every frame of every log file, in file order.
fn logged(dir: &Path) -> Vec<Vec<u8>> {
    common::logged_records(dir)
        .into_iter()
        .map(|(linktype, data)| {
            assert_eq!(linktype, 127, "log link type");
            data
        })
        .collect()
}

fn multiset(frames: &[Vec<u8>]) -> BTreeMap<&[u8], usize> {
    let mut m = BTreeMap::new();
    for f in frames {
        *m.entry(f.as_slice()).or_insert(0) += 1;
    }
    m
}

/// The kernel filter's state and program ids from `/dataplane/stats.json`.
fn kernel_filter(airsift: &Airsift) -> (String, Vec<u32>) {
    let kf = airsift
        .api
        .get("/dataplane/stats.json", &common::http::Cred::admin())
        .json()["kernel_filter"]
        .clone();
    let ids = kf["program_ids"]
        .as_array()
        .map(|a| a.iter().map(|v| v.as_u64().unwrap() as u32).collect())
        .unwrap_or_default();
    (kf["state"].as_str().unwrap_or("").to_string(), ids)
}

/// Runs one capture scenario and checks everything the module doc lists. With the kernel
/// filter on (`kernel`), every blocked frame is dropped in the kernel (counted in
/// `kernel_blocked`, never in `frames`), the workers see only the passed ones, the log is the
/// same, and the programs are gone once airsift has exited.
fn scenario(
    tag: &str,
    ns: &Netns,
    inject: &[&str],
    run: &[&str],
    ordered: bool,
    veth: bool,
    kernel: bool,
) {
    let dir = common::scratch(tag);
    let filter = dir.join("filter.json");
    std::fs::write(&filter, FILTER).unwrap();
    let logdir = dir.join("log");
    let cap = common::capture(CAPTURE);
    let expect = expected(&cap, &filter, veth);
    let passes: Vec<Vec<u8>> = expect
        .iter()
        .filter(|(_, v)| v == "pass")
        .map(|(f, _)| f.clone())
        .collect();
    let blocks = expect.iter().filter(|(_, v)| v == "block").count() as u64;
    assert!(
        !passes.is_empty() && blocks > 0,
        "the filter must both pass and block"
    );

    let mut inj_args: Vec<&str> = inject.to_vec();
    let capstr = cap.to_str().unwrap();
    inj_args.extend(["--pcap", capstr, "--rate", "5000"]);
    let mut inj = Injector::start(ns, &inj_args);
    let mut args: Vec<&str> = run.to_vec();
    let logstr = logdir.to_str().unwrap();
    let fstr = filter.to_str().unwrap();
    args.extend(["--log-dir", logstr, "--filter", fstr]);
    args.extend(["--kernel-filter", if kernel { "on" } else { "off" }]);
    let airsift = Airsift::start(ns, &dir.join("state"), &args);
    let (state, program_ids) = kernel_filter(&airsift);
    assert_eq!(state, if kernel { "on" } else { "off" });
    assert_eq!(program_ids.is_empty(), !kernel);
    let sent = inj.send();
    assert_eq!(
        sent,
        expect.len() as u64,
        "the injector sent every sendable frame"
    );
    common::wait_until(
        &format!("{sent} frames counted in user space and the kernel"),
        std::time::Duration::from_secs(120),
        || {
            let t = airsift.totals();
            t["frames"].as_u64().unwrap_or(0) + t["kernel_blocked"].as_u64().unwrap_or(0) >= sent
        },
    );
    let totals = airsift.stop();
    inj.finish();
    let kernel_blocked = if kernel { blocks } else { 0 };
    assert_eq!(totals["kernel_blocked"], kernel_blocked, "{totals}");
    // The kernel frees a socket's filter after an RCU grace period, not at close.
    common::wait_until(
        "the kernel filter's programs to be freed after exit",
        std::time::Duration::from_secs(30),
        || {
            program_ids
                .iter()
                .all(|&id| !dataplane::kfilter::program_loaded(id))
        },
    );

    assert_eq!(
        totals["frames"],
        sent - kernel_blocked,
        "every frame counted exactly once: {totals}"
    );
    assert_eq!(totals["passed"], passes.len() as u64, "{totals}");
    assert_eq!(totals["blocked"], blocks - kernel_blocked, "{totals}");
    assert_eq!(totals["malformed"], 0, "{totals}");
    assert_eq!(totals["kernel_drops"], 0, "{totals}");
    assert_eq!(totals["sink_drops"], 0, "{totals}");
    let log = logged(&logdir);
    assert_eq!(totals["log_frames"], log.len() as u64);
    if ordered {
        assert!(
            log == passes,
            "the log differs from the passed frames (in order)"
        );
    } else {
        assert_eq!(
            multiset(&log),
            multiset(&passes),
            "the log differs from the passed frames"
        );
    }
}

#[test]
fn tpacket_on_a_veth_one_worker() {
    if common::skip_unless_root("tpacket_on_a_veth_one_worker") {
        return;
    }
    let ns = Netns::with_veth("tp1");
    scenario(
        "tp1",
        &ns,
        &["veth", "--iface", "va"],
        &["--source", "tpacket:vb", "--link-type", "radiotap"],
        true,
        true,
        false,
    );
}

#[test]
fn tpacket_on_a_veth_two_workers_fanout() {
    if common::skip_unless_root("tpacket_on_a_veth_two_workers_fanout") {
        return;
    }
    veth_two_workers("tp2", false);
}

/// TPACKET_V3 with two workers in a fanout group on a veth.
fn veth_two_workers(tag: &str, kernel: bool) {
    let ns = Netns::with_veth(tag);
    scenario(
        tag,
        &ns,
        &["veth", "--iface", "va"],
        &[
            "--source",
            "tpacket:vb",
            "--link-type",
            "radiotap",
            "--workers",
            "2",
        ],
        false,
        true,
        kernel,
    );
}

#[test]
fn tpacket_on_a_radiotap_tun_device() {
    if common::skip_unless_root("tpacket_on_a_radiotap_tun_device") {
        return;
    }
    tun_device("tun", false);
}

/// TPACKET_V3 on a radiotap TUN device. The injector creates rt0 and prints ready; airsift
/// reads its link type (ARPHRD 803), so `auto` finding radiotap is part of the check.
fn tun_device(tag: &str, kernel: bool) {
    let ns = Netns::with_veth(tag);
    scenario(
        tag,
        &ns,
        &["tun", "--name", "rt0"],
        &["--source", "tpacket:rt0"],
        true,
        false,
        kernel,
    );
}

#[test]
fn afxdp_on_a_veth() {
    if common::skip_unless_root("afxdp_on_a_veth") {
        return;
    }
    afxdp_veth("xdp", false);
}

/// The AF_XDP scenario on a veth; afterwards no XDP program is left on the interface.
fn afxdp_veth(tag: &str, kernel: bool) {
    let ns = Netns::with_veth(tag);
    scenario(
        tag,
        &ns,
        &["veth", "--iface", "va"],
        &["--source", "afxdp:vb", "--link-type", "radiotap"],
        true,
        true,
        kernel,
    );
    assert!(
        !ns.link("vb").contains("xdp"),
        "an XDP program was left on vb: {}",
        ns.link("vb")
    );
}

#[test]
fn kernel_filter_tpacket_on_a_veth_two_workers_fanout() {
    if common::skip_unless_root("kernel_filter_tpacket_on_a_veth_two_workers_fanout") {
        return;
    }
    veth_two_workers("kf2", true);
}

#[test]
fn kernel_filter_tpacket_on_a_radiotap_tun_device() {
    if common::skip_unless_root("kernel_filter_tpacket_on_a_radiotap_tun_device") {
        return;
    }
    tun_device("kftun", true);
}

#[test]
fn kernel_filter_afxdp_on_a_veth() {
    if common::skip_unless_root("kernel_filter_afxdp_on_a_veth") {
        return;
    }
    afxdp_veth("kfxdp", true);
}

/// SIGKILL leaves nothing behind either: socket filters go with the sockets, the XDP program
/// with its link, the maps with the last program.
#[test]
fn kernel_filter_programs_go_with_a_killed_process() {
    if common::skip_unless_root("kernel_filter_programs_go_with_a_killed_process") {
        return;
    }
    let ns = Netns::with_veth("kfkill");
    let dir = common::scratch("kfkill");
    let mut airsift = Airsift::start(
        &ns,
        &dir.join("state"),
        &[
            "--source",
            "afxdp:vb",
            "--link-type",
            "radiotap",
            "--kernel-filter",
            "on",
        ],
    );
    let (state, ids) = kernel_filter(&airsift);
    assert_eq!(state, "on");
    assert!(!ids.is_empty() && ids.iter().all(|&id| dataplane::kfilter::program_loaded(id)));
    assert!(ns.link("vb").contains("xdp"), "{}", ns.link("vb"));
    airsift.api.kill9();
    common::wait_until(
        "the kernel filter's programs to be freed",
        std::time::Duration::from_secs(30),
        || {
            ids.iter()
                .all(|&id| !dataplane::kfilter::program_loaded(id))
        },
    );
    assert!(!ns.link("vb").contains("xdp"), "{}", ns.link("vb"));
}

/// More AF_XDP workers than the device has receive queues: refused at start, before anything
/// is attached, with the queue count and both ways out.
#[test]
fn afxdp_with_more_workers_than_queues_explains_itself() {
    if common::skip_unless_root("afxdp_with_more_workers_than_queues_explains_itself") {
        return;
    }
    let ns = Netns::with_veth("xdpq");
    let out = ns
        .cmd(env!("CARGO_BIN_EXE_airsift"))
        .args(["run", "--source", "afxdp:vb", "--link-type", "radiotap"])
        .args(["--workers", "2", "--no-api"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{err}");
    for part in [
        "vb has 1 receive queue",
        "queues 0..=1 (2 workers",
        "--workers 1",
        "ethtool -L vb combined 2",
        "numrxqueues 2",
    ] {
        assert!(err.contains(part), "{part:?} missing from: {err}");
    }
    assert!(!err.contains("os error 22"), "{err}");
    assert!(!ns.link("vb").contains("xdp"), "{}", ns.link("vb"));
    // An explicit queue out of range: the same explanation.
    let out = ns
        .cmd(env!("CARGO_BIN_EXE_airsift"))
        .args([
            "run",
            "--source",
            "afxdp:vb:3",
            "--link-type",
            "radiotap",
            "--no-api",
        ])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        err.contains("vb has 1 receive queue") && err.contains("cannot bind queue 3"),
        "{err}"
    );
}
