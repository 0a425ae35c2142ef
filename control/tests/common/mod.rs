//! Shared pieces of the lab tests: a network namespace that cleans up after itself, and the
//! two binaries under test (`airsift`) and doing the injecting (`airsift-inject`, which shares
//! no code with the capture path beyond reading the pcap file).
#![allow(dead_code)]

pub mod http;
pub mod nats;
pub mod webdriver;

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

pub fn root() -> bool {
    // SAFETY-free: geteuid has no preconditions, but avoid unsafe in tests: read /proc.
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .map(|l| l.split_whitespace().nth(2) == Some("0"))
        })
        .unwrap_or(false)
}

/// Prints why a lab test is skipped; CI runs as root, so there it never is.
pub fn skip_unless_root(test: &str) -> bool {
    if root() {
        return false;
    }
    eprintln!("{test}: skipped: needs root (network namespaces, packet sockets)");
    true
}

pub fn testdata() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata")
}

pub fn capture(name: &str) -> PathBuf {
    testdata().join("captures").join(name)
}

fn run(cmd: &mut Command) {
    let out = cmd.output().expect("run ip");
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A network namespace named `airsift-test-<tag>-<pid>`, deleted (with everything in it) when
/// dropped, also when the test panics.
pub struct Netns {
    pub name: String,
}

impl Netns {
    /// A namespace with IPv6 off (no stray router solicitations) and a veth pair va/vb, up,
    /// MTU 9000.
    pub fn with_veth(tag: &str) -> Netns {
        sweep_stale_namespaces();
        let ns = Netns::empty(tag);
        run(Command::new("ip").args([
            "-n", &ns.name, "link", "add", "va", "type", "veth", "peer", "name", "vb",
        ]));
        // Loopback, for an API listening on 127.0.0.1 inside the namespace.
        run(Command::new("ip").args(["-n", &ns.name, "link", "set", "lo", "up"]));
        for dev in ["va", "vb"] {
            run(Command::new("ip").args(["-n", &ns.name, "link", "set", dev, "mtu", "9000", "up"]));
        }
        ns
    }

    /// Like [`Netns::with_veth`], with `va` moved into a second namespace (returned second,
    /// IPv6 off there too) so that traffic between `va` and `vb` crosses the veth instead of
    /// the local stack. Addresses: `va` 10.77.0.1/24, `vb` 10.77.0.2/24.
    pub fn with_veth_peer(tag: &str) -> (Netns, Netns) {
        let ns = Netns::with_veth(tag);
        let peer = Netns::empty(&format!("{tag}peer"));
        ns.ip(&["link", "set", "va", "netns", &peer.name]);
        peer.ip(&["link", "set", "lo", "up"]);
        peer.ip(&["link", "set", "va", "mtu", "9000", "up"]);
        peer.ip(&["addr", "add", "10.77.0.1/24", "dev", "va"]);
        ns.ip(&["addr", "add", "10.77.0.2/24", "dev", "vb"]);
        (ns, peer)
    }

    /// The namespace `airsift-test-<tag>-<pid>`, new, with IPv6 off.
    fn empty(tag: &str) -> Netns {
        let name = format!("airsift-test-{tag}-{}", std::process::id());
        let _ = Command::new("ip").args(["netns", "del", &name]).output();
        run(Command::new("ip").args(["netns", "add", &name]));
        let ns = Netns { name };
        run(ns.cmd("sh").args([
            "-c",
            "echo 1 > /proc/sys/net/ipv6/conf/all/disable_ipv6 && echo 1 > /proc/sys/net/ipv6/conf/default/disable_ipv6",
        ]));
        ns
    }

    /// `ip -n NS ARGS...`, which must succeed.
    pub fn ip(&self, args: &[&str]) {
        run(Command::new("ip").args(["-n", &self.name]).args(args));
    }

    /// A command run inside the namespace.
    pub fn cmd(&self, program: &str) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.name, program]);
        c
    }

    /// The pid of the process named `comm` running in the namespace, if one is.
    pub fn pid_of(&self, comm: &str) -> Option<i32> {
        let out = Command::new("ip")
            .args(["netns", "pids", &self.name])
            .output()
            .ok()?;
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(str::trim)
            .find(|p| {
                std::fs::read_to_string(format!("/proc/{p}/comm")).is_ok_and(|c| c.trim() == comm)
            })
            .and_then(|p| p.parse().ok())
    }

    /// What `ip link` says about a device in the namespace.
    pub fn link(&self, dev: &str) -> String {
        let out = Command::new("ip")
            .args(["-n", &self.name, "-d", "link", "show", "dev", dev])
            .output()
            .expect("ip link");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

/// Deletes `airsift-test-*-PID` namespaces whose process is gone (a test run killed before
/// its guards ran), so they never pile up or collide.
fn sweep_stale_namespaces() {
    let Ok(dir) = std::fs::read_dir("/run/netns") else {
        return;
    };
    for e in dir.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let pid = name
            .strip_prefix("airsift-test-")
            .and_then(|r| r.rsplit('-').next())
            .and_then(|p| p.parse::<u32>().ok());
        if let Some(pid) = pid {
            if !Path::new(&format!("/proc/{pid}")).exists() {
                let _ = Command::new("ip").args(["netns", "del", &name]).output();
            }
        }
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .output();
    }
}

/// A process killed when dropped (a failing test must not leave capturers running).
pub struct Proc(pub Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The injector, started with `--wait-start`: it prints `ready` once its socket or TUN device
/// exists, sends when told, prints `sent N`, and (tun) keeps the device until stdin closes.
pub struct Injector {
    proc: Proc,
    stdin: Option<ChildStdin>,
    stdout: BufReader<ChildStdout>,
}

impl Injector {
    /// `mode` is `veth --iface va` or `tun --name rt0`, followed by the options.
    pub fn start(ns: &Netns, args: &[&str]) -> Injector {
        let mut c = ns.cmd(env!("CARGO_BIN_EXE_airsift-inject"));
        c.args(args)
            .arg("--wait-start")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped());
        let mut child = c.spawn().expect("start the injector");
        let stdin = child.stdin.take();
        let stdout = BufReader::new(child.stdout.take().expect("stdout"));
        let mut inj = Injector {
            proc: Proc(child),
            stdin,
            stdout,
        };
        assert_eq!(inj.line(), "ready");
        inj
    }

    /// The injector making a radiotap TUN device `rt0` that sends the capture `name` (from
    /// the test data) with the further options `extra` (`--rate`, `--loop`, ...).
    pub fn tun(ns: &Netns, name: &str, extra: &[&str]) -> Injector {
        let pcap = capture(name);
        let mut args = vec!["tun", "--name", "rt0", "--pcap", pcap.to_str().unwrap()];
        args.extend_from_slice(extra);
        Injector::start(ns, &args)
    }

    fn line(&mut self) -> String {
        let mut l = String::new();
        self.stdout.read_line(&mut l).expect("injector output");
        l.trim().to_string()
    }

    /// Its process id (to interrupt a `--loop` run from another thread: it then reports).
    pub fn pid(&self) -> i32 {
        self.proc.0.id() as i32
    }

    /// Sends and returns how many frames went out.
    pub fn send(&mut self) -> u64 {
        let stdin = self.stdin.as_mut().expect("stdin open");
        stdin.write_all(b"go\n").expect("tell the injector to go");
        stdin.flush().unwrap();
        let l = self.line();
        l.strip_prefix("sent ")
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("injector said {l:?}"))
    }

    /// Closes stdin (a TUN device goes away) and waits for the injector.
    pub fn finish(mut self) {
        drop(self.stdin.take());
        let _ = self.proc.0.wait();
    }
}

/// `airsift run` inside the namespace with its API on the namespace's loopback, stopped by
/// SIGTERM. Started means capturing: airsift announces its API only after every source is
/// open and the workers run, and the helper waits for that announcement.
pub struct Airsift {
    pub api: http::ApiServer,
}

impl Airsift {
    pub fn start(ns: &Netns, state_dir: &Path, args: &[&str]) -> Airsift {
        let mut all: Vec<String> = vec!["run".into()];
        all.extend(args.iter().map(|a| a.to_string()));
        all.extend(["--listen", "127.0.0.1:0", "--json", "--state-dir"].map(String::from));
        all.push(state_dir.display().to_string());
        Airsift {
            api: http::ApiServer::start_in_ns(ns, state_dir, &all),
        }
    }

    /// `/dataplane/stats.json`'s totals.
    pub fn totals(&self) -> serde_json::Value {
        self.api
            .get("/dataplane/stats.json", &http::Cred::admin())
            .json()["total"]
            .clone()
    }

    /// Waits until the workers have counted `n` frames (more would fail the caller's checks).
    pub fn wait_frames(&self, n: u64) {
        wait_until(
            &format!("{n} frames counted"),
            Duration::from_secs(120),
            || self.totals()["frames"].as_u64().unwrap_or(0) >= n,
        );
    }

    /// SIGTERM, then the totals it printed.
    pub fn stop(mut self) -> serde_json::Value {
        let out = self.api.stop();
        serde_json::from_str(out.trim()).unwrap_or_else(|e| panic!("totals {out:?}: {e}"))
    }
}

/// Polls `cond` every 10 ms until it holds; panics naming `what` after `deadline`, which only
/// guards against a hang (tests wait for conditions, never for a time that must be "enough").
pub fn wait_until(what: &str, deadline: Duration, mut cond: impl FnMut() -> bool) {
    let end = Instant::now() + deadline;
    while !cond() {
        assert!(
            Instant::now() < end,
            "timed out after {deadline:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// The capabilities a systemd unit setting names (`AmbientCapabilities=CAP_NET_RAW ...`), as
/// `setpriv` names them (`net_raw`).
pub fn unit_caps(unit: &str, key: &str) -> Vec<String> {
    let line = unit
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{key}=")))
        .unwrap_or_else(|| panic!("the unit has no {key}="));
    line.split_whitespace()
        .map(|c| c.trim_start_matches("CAP_").to_ascii_lowercase())
        .collect()
}

/// `cmd` followed by `setpriv` arguments that run what comes next as `user` holding exactly
/// `caps` (ambient, inheritable and bounding), with `user`'s groups.
pub fn setpriv(cmd: &mut Command, user: &str, caps: &[String]) {
    let set = std::iter::once("-all".to_string())
        .chain(caps.iter().map(|c| format!("+{c}")))
        .collect::<Vec<_>>()
        .join(",");
    cmd.args(["setpriv", "--reuid", user, "--regid", user, "--init-groups"])
        .arg(format!("--inh-caps={set}"))
        .arg(format!("--ambient-caps={set}"))
        .arg(format!("--bounding-set={set}"))
        .arg("--");
}

/// Frames tshark reads from a capture file (an oracle independent of airsift's reader).
pub fn tshark_frames(file: &Path) -> u64 {
    let out = Command::new("tshark")
        .args(["-n", "-r"])
        .arg(file)
        .args(["-T", "fields", "-e", "frame.number"])
        .output()
        .expect("tshark (CI installs it)");
    assert!(
        out.status.success(),
        "tshark {}: {}",
        file.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).lines().count() as u64
}

/// A fresh empty directory under the target directory, removed first if it exists.
/// Every record of every capture file in `dir` (a log directory), in file-name order: link
/// type and bytes.
pub fn logged_records(dir: &Path) -> Vec<(u32, Vec<u8>)> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    let mut out = Vec::new();
    for f in files {
        let cap = dataplane::capfile::CaptureFile::open(&f).unwrap();
        for r in cap.records() {
            let r = r.unwrap();
            out.push((r.linktype, r.data.to_vec()));
        }
    }
    out
}

pub fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("airsift-test-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}
