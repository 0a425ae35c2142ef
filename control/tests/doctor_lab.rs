//! `airsift doctor` on lab interfaces in a namespace: its findings are true for each (a veth
//! is not a monitor interface, a radiotap TUN is; a missing interface; a veth taken down), its
//! offload findings follow `ethtool -k` (an oracle airsift shares no code with) as GRO is
//! switched on and off, and the exit status says whether anything is wrong.

mod common;

use std::process::Command;

use common::{Injector, Netns};
use serde_json::Value;

fn doctor(ns: &Netns, args: &[&str]) -> (i32, Value) {
    let out = ns
        .cmd(env!("CARGO_BIN_EXE_airsift"))
        .arg("doctor")
        .args(args)
        .arg("--json")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let v: Value = serde_json::from_str(stdout.trim())
        .unwrap_or_else(|e| panic!("{e}: {stdout}\n{}", String::from_utf8_lossy(&out.stderr)));
    (out.status.code().unwrap_or(-1), v)
}

fn finding<'a>(v: &'a Value, check: &str, subject: &str) -> &'a Value {
    v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["check"] == check && f["subject"] == subject)
        .unwrap_or_else(|| panic!("no {check} finding for {subject}: {v}"))
}

/// `ethtool -k DEV` in the namespace says generic-receive-offload is on.
fn ethtool_gro(ns: &Netns, dev: &str) -> Option<bool> {
    let out = ns.cmd("ethtool").args(["-k", dev]).output().ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text
        .lines()
        .find(|l| l.starts_with("generic-receive-offload:"))?;
    Some(line.split_whitespace().nth(1) == Some("on"))
}

fn have_ethtool() -> bool {
    Command::new("ethtool").arg("--version").output().is_ok()
}

#[test]
fn findings_are_true_for_lab_interfaces() {
    if common::skip_unless_root("findings_are_true_for_lab_interfaces") {
        return;
    }
    let ns = Netns::with_veth("doctor");
    let tun = Injector::start(
        &ns,
        &[
            "tun",
            "--name",
            "rt0",
            "--pcap",
            common::capture("rt_aircrack_test1_multins-fcs.pcap")
                .to_str()
                .unwrap(),
        ],
    );
    let dir = common::scratch("doctor");
    std::fs::create_dir_all(&dir).unwrap();
    let (code, v) = doctor(
        &ns,
        &["va", "rt0", "nosuch0", "--log-dir", dir.to_str().unwrap()],
    );
    assert_eq!(code, 1, "something is wrong: {v}");
    assert_eq!(v["healthy"], false);
    let va = finding(&v, "link", "va");
    assert_eq!(va["level"], "fail", "{va}");
    assert!(va["detail"].as_str().unwrap().contains("Ethernet"), "{va}");
    assert!(va["fix"]
        .as_str()
        .unwrap()
        .contains("iw dev va set type monitor"));
    let rt0 = finding(&v, "link", "rt0");
    assert_eq!(rt0["level"], "ok", "{rt0}");
    assert!(
        rt0["detail"].as_str().unwrap().contains("radiotap"),
        "{rt0}"
    );
    let missing = finding(&v, "link", "nosuch0");
    assert_eq!(missing["level"], "fail");
    assert_eq!(missing["detail"], "no such interface");
    assert_eq!(finding(&v, "up", "va")["level"], "ok");
    for check in ["governor", "af-xdp", "bpf-jit", "memlock", "clocksource"] {
        let f = finding(&v, check, "host");
        assert!(["ok", "warn", "fail"].contains(&f["level"].as_str().unwrap()));
    }
    assert_eq!(
        finding(&v, "af-xdp", "host")["level"],
        "ok",
        "this kernel has AF_XDP (the afxdp tests use it)"
    );
    // The BPF JIT setting is the host's: inside the namespace it cannot be read and says so;
    // in the host's namespace the finding follows sysctl's own reading.
    let f = finding(&v, "bpf-jit", "host");
    assert_eq!(f["level"], "ok", "{f}");
    assert!(
        f["detail"].as_str().unwrap().contains("network namespace"),
        "{f}"
    );
    let out = Command::new(env!("CARGO_BIN_EXE_airsift"))
        .args(["doctor", "--json"])
        .output()
        .unwrap();
    let host: Value = serde_json::from_slice(&out.stdout).unwrap();
    let jit = Command::new("sysctl")
        .args(["-n", "net.core.bpf_jit_enable"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string());
    if let Some(jit) = jit.ok().filter(|j| !j.is_empty()) {
        let jit = jit.as_str();
        let f = finding(&host, "bpf-jit", "host");
        let on = jit == "1" || jit == "2";
        assert_eq!(f["level"], if on { "ok" } else { "warn" }, "{jit}: {f}");
        assert!(
            f["detail"].as_str().unwrap().contains(&format!("= {jit}")),
            "{f}"
        );
    }
    let disk = finding(&v, "disk", dir.to_str().unwrap());
    assert_eq!(disk["level"], "ok", "{disk}");
    // Rings against the memory the kernel says is available (read here from /proc/meminfo):
    // the defaults fit this machine; a million blocks of 1 MiB per worker cannot.
    let avail_mib = std::fs::read_to_string("/proc/meminfo")
        .unwrap()
        .lines()
        .find(|l| l.starts_with("MemAvailable:"))
        .and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
        .unwrap()
        >> 10;
    let ring = finding(&v, "ring-memory", "host");
    assert_eq!(ring["level"], "ok", "{ring}");
    // Three interfaces, one worker, 64 blocks of 1 MiB.
    assert!(
        ring["detail"]
            .as_str()
            .unwrap()
            .starts_with("TPACKET rings 192 MiB (3 ring(s)"),
        "{ring}"
    );
    let (_, big) = doctor(&ns, &["rt0", "--blocks", "1000000"]);
    let ring = finding(&big, "ring-memory", "host");
    assert_eq!(ring["level"], "warn", "{ring}");
    let fix = ring["fix"].as_str().unwrap();
    let fit: u64 = fix
        .strip_prefix("run with --blocks ")
        .and_then(|r| r.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{fix}"));
    // Within 5 % of half of it: other processes move MemAvailable between the two reads.
    let half = avail_mib / 2;
    assert!(fit.abs_diff(half) <= half / 20, "{fit} for {avail_mib} MiB");

    // A veth taken down: found, with the command that brings it up.
    ns.ip(&["link", "set", "vb", "down"]);
    let (_, v) = doctor(&ns, &["vb"]);
    let down = finding(&v, "up", "vb");
    assert_eq!(down["level"], "fail", "{down}");
    assert_eq!(down["fix"], "ip link set vb up");
    ns.ip(&["link", "set", "vb", "up"]);

    // Offloads follow ethtool's own reading as GRO is switched on and off.
    if have_ethtool() {
        for (setting, want) in [("on", "warn"), ("off", "ok")] {
            let r = ns
                .cmd("ethtool")
                .args(["-K", "va", "gro", setting])
                .output()
                .unwrap();
            assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
            assert_eq!(ethtool_gro(&ns, "va"), Some(setting == "on"));
            let (_, v) = doctor(&ns, &["va"]);
            let off = finding(&v, "offloads", "va");
            assert_eq!(off["level"], want, "gro {setting}: {off}");
            if setting == "on" {
                assert_eq!(off["fix"], "ethtool -K va gro off");
            }
        }
    } else {
        eprintln!(
            "findings_are_true_for_lab_interfaces: ethtool not installed, offloads unchecked"
        );
    }

    // Only the radiotap TUN, and enough of everything on the host: nothing wrong there.
    let (_, v) = doctor(&ns, &["rt0"]);
    let rt0: Vec<&Value> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["subject"] == "rt0")
        .collect();
    assert!(
        rt0.iter().all(|f| f["level"] == "ok"),
        "a radiotap TUN, up, one queue for one worker: {rt0:?}"
    );
    tun.finish();
    let _ = std::fs::remove_dir_all(&dir);
}
