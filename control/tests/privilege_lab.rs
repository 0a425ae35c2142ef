//! Least privilege, for real: airsift as an unprivileged user (`nobody`) holding exactly the
//! capabilities the packaged unit grants (`control/debian/airsift.service`, read here) captures
//! from every kind of source in the lab: TPACKET on a radiotap TUN, AF_XDP on a veth, a
//! capture file. Without a capability a source needs, it refuses at start with a message
//! naming the capability and the fix, before anything is opened; a file needs none.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use common::http::ApiServer;
use common::{capture, scratch, wait_until, Injector, Netns};

const UNIT: &str = include_str!("../debian/airsift.service");
const NOBODY: &str = "65534";
/// RLIMIT_MEMLOCK for every run: 8 MiB, under one AF_XDP UMEM (16 MiB), as on a stock host.
const MEMLOCK: &str = "8388608";
const TUN_CAPTURE: &str = "rt_wltrace_trace-bigendian-5ghz.pcap";
const VETH_CAPTURE: &str = "rt_aircrack_test1_multins-fcs.pcap";

/// A unit setting's capabilities, as `setpriv` names them (`net_raw`).
fn unit_caps(key: &str) -> Vec<String> {
    common::unit_caps(UNIT, key)
}

/// A copy of the binary and the capture any user can read, and a state directory `nobody`
/// owns (the build tree may sit in a directory only root can enter).
struct Setup {
    dir: PathBuf,
    bin: PathBuf,
    file: PathBuf,
}

impl Setup {
    fn new(tag: &str) -> Setup {
        let dir = scratch(tag);
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        let bin = dir.join("airsift");
        std::fs::copy(env!("CARGO_BIN_EXE_airsift"), &bin).unwrap();
        std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755)).unwrap();
        let file = dir.join("capture.pcap");
        std::fs::copy(capture(VETH_CAPTURE), &file).unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
        Setup { dir, bin, file }
    }

    /// A fresh state directory owned by `nobody`.
    fn state(&self, name: &str) -> PathBuf {
        let d = self.dir.join(name);
        std::fs::create_dir_all(&d).unwrap();
        let ok = Command::new("chown")
            .args([&format!("{NOBODY}:{NOBODY}"), d.to_str().unwrap()])
            .status()
            .unwrap()
            .success();
        assert!(ok, "chown {}", d.display());
        d
    }

    /// `airsift` inside `ns` as `nobody` with exactly `caps` (ambient, inheritable and
    /// bounding) and the locked-memory limit of a stock host.
    fn command(&self, ns: &Netns, caps: &[String]) -> Command {
        let mut c = ns.cmd("prlimit");
        c.arg(format!("--memlock={MEMLOCK}:{MEMLOCK}"));
        common::setpriv(&mut c, NOBODY, caps);
        c.arg(&self.bin);
        c
    }

    fn args(&self, state: &Path, sources: &[String]) -> Vec<String> {
        let mut a: Vec<String> = ["run", "--link-type", "radiotap", "--json"]
            .map(String::from)
            .to_vec();
        for s in sources {
            a.push("--source".into());
            a.push(s.clone());
        }
        a.extend([
            "--listen".into(),
            "127.0.0.1:0".into(),
            "--state-dir".into(),
        ]);
        a.push(state.display().to_string());
        a
    }
}

#[test]
fn the_units_capabilities_are_exactly_enough_for_every_source_kind() {
    if common::skip_unless_root("the_units_capabilities_are_exactly_enough_for_every_source_kind") {
        return;
    }
    let caps = unit_caps("AmbientCapabilities");
    assert_eq!(
        caps,
        unit_caps("CapabilityBoundingSet"),
        "ambient = bounding"
    );
    assert_eq!(caps, ["net_raw", "net_admin", "bpf", "ipc_lock"]);

    let setup = Setup::new("privilege");
    let ns = Netns::with_veth("priv");
    let mut tun = Injector::tun(&ns, TUN_CAPTURE, &[]);
    let mut veth = Injector::start(
        &ns,
        &[
            "veth",
            "--iface",
            "vb",
            "--pcap",
            capture(VETH_CAPTURE).to_str().unwrap(),
        ],
    );
    let sources = [
        "tpacket:rt0:name=tpacket".to_string(),
        "afxdp:va:name=afxdp".to_string(),
        format!("pcap:{}:name=file", setup.file.display()),
    ];
    let state = setup.state("state-all");
    let mut s = ApiServer::launch(
        &state,
        setup.command(&ns, &caps),
        &setup.args(&state, &sources),
        Some(&ns.name),
    );
    // It runs as nobody, with exactly those capabilities in effect.
    let pid = ns.pid_of("airsift").expect("airsift runs in the namespace");
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    assert!(status.contains(&format!("Uid:\t{NOBODY}\t{NOBODY}\t{NOBODY}\t{NOBODY}")));
    assert!(status.contains("CapEff:\t0000008000007000"), "{}", status);

    let file_frames = {
        let out = Command::new(env!("CARGO_BIN_EXE_airsift"))
            .arg("replay")
            .arg(&setup.file)
            .arg("--json")
            .output()
            .unwrap();
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        v["frames"].as_u64().unwrap()
    };
    let a = tun.send();
    let b = veth.send();
    wait_until("every frame counted", Duration::from_secs(120), || {
        let f = s.frames_by_source();
        f.get("tpacket") == Some(&a)
            && f.get("afxdp") == Some(&b)
            && f.get("file") == Some(&file_frames)
    });
    assert!(a > 0 && b > 0 && file_frames > 0);
    let totals: serde_json::Value = serde_json::from_str(s.stop().trim()).unwrap();
    assert_eq!(totals["frames"], a + b + file_frames, "{totals}");
    assert_eq!(totals["kernel_drops"], 0, "{totals}");
    tun.finish();
    veth.finish();
}

/// Runs airsift as nobody with `caps` on `source` and returns its exit status and stderr.
fn refused(setup: &Setup, ns: &Netns, caps: &[String], source: &str) -> String {
    let state = setup.state(&format!("state-{}", caps.join("-")));
    let out = setup
        .command(ns, caps)
        .args(setup.args(&state, &[source.to_string()]))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        !out.status.success(),
        "{source} with {caps:?} started: {err}"
    );
    err
}

#[test]
fn a_missing_capability_is_named_at_start_with_its_fix() {
    if common::skip_unless_root("a_missing_capability_is_named_at_start_with_its_fix") {
        return;
    }
    let setup = Setup::new("privilege-missing");
    let ns = Netns::with_veth("privmiss");
    let tun = Injector::tun(&ns, TUN_CAPTURE, &[]);
    let all = unit_caps("AmbientCapabilities");
    let without =
        |cap: &str| -> Vec<String> { all.iter().filter(|c| *c != cap).cloned().collect() };
    // What each source kind needs, one capability taken away at a time.
    let cases = [
        ("tpacket:rt0", "net_raw"),
        ("afxdp:va", "net_raw"),
        ("afxdp:va", "net_admin"),
        ("afxdp:va", "bpf"),
        ("afxdp:va", "ipc_lock"),
    ];
    for (source, cap) in cases {
        let err = refused(&setup, &ns, &without(cap), source);
        let name = format!("CAP_{}", cap.to_ascii_uppercase());
        assert!(
            err.contains(&format!("source {source} needs")) && err.contains(&format!("{name} (")),
            "{source} without {name}: {err}"
        );
        assert!(err.contains(&format!("setcap {cap}")), "{err}");
        assert!(err.contains("systemctl cat airsift"), "{err}");
        assert!(
            !err.contains("EPERM") && !err.contains("os error 1)"),
            "{err}"
        );
    }
    // A capture file needs none.
    let state = setup.state("state-none");
    let mut s = ApiServer::launch(
        &state,
        setup.command(&ns, &[]),
        &setup.args(
            &state,
            &[format!("pcap:{}:name=file", setup.file.display())],
        ),
        Some(&ns.name),
    );
    wait_until("the file read", Duration::from_secs(60), || {
        s.frames_by_source().get("file").copied().unwrap_or(0) > 0
    });
    s.stop();
    tun.finish();
}
