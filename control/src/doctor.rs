//! `airsift doctor`: what on this host would cost a capture frames or make it fail, each
//! finding with the command that fixes it. Every check reads the running system (sysfs,
//! procfs, ethtool, a socket probe); nothing is changed.

use std::fs;
use std::path::Path;

use serde_json::{json, Value};

use crate::datasource::interfaces::{self, InterfaceInfo, Link};

/// How bad a finding is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    Ok,
    /// Capture works, but loses frames or information.
    Warn,
    /// Capture cannot work as asked.
    Fail,
}

impl Level {
    pub fn name(self) -> &'static str {
        match self {
            Level::Ok => "ok",
            Level::Warn => "warn",
            Level::Fail => "fail",
        }
    }
}

/// One finding.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    /// Which check (`link`, `up`, `rx-queues`, `offloads`, `governor`, `af-xdp`, `bpf-jit`,
    /// `memlock`, `ring-memory`, `clocksource`, `disk`).
    pub check: &'static str,
    /// The interface, or `host`.
    pub subject: String,
    pub level: Level,
    pub detail: String,
    /// The command (or setting) that fixes it.
    pub fix: Option<String>,
}

impl Finding {
    fn new(check: &'static str, subject: &str, level: Level, detail: String) -> Finding {
        Finding {
            check,
            subject: subject.to_string(),
            level,
            detail,
            fix: None,
        }
    }

    fn fix(mut self, fix: String) -> Finding {
        self.fix = Some(fix);
        self
    }

    pub fn render(&self) -> Value {
        json!({
            "check": self.check,
            "subject": self.subject,
            "level": self.level.name(),
            "detail": self.detail,
            "fix": self.fix,
        })
    }
}

/// What to check (the `doctor` command's arguments).
#[derive(Clone, Debug, clap::Args)]
pub struct Request {
    /// Interfaces to capture from.
    pub interfaces: Vec<String>,
    /// Workers per source (an AF_XDP source needs a receive queue each).
    #[arg(long, default_value_t = 1)]
    pub workers: u32,
    /// The log directory to check the free space of.
    #[arg(long, value_name = "DIR")]
    pub log_dir: Option<std::path::PathBuf>,
    /// The log's rotation size (as `run --log-max-mb`).
    #[arg(long, value_name = "MB", default_value_t = 1024)]
    pub log_max_mb: u64,
    /// TPACKET ring block size per worker (as `run --block-kib`).
    #[arg(long, value_name = "KIB", default_value_t = 1024)]
    pub block_kib: u64,
    /// TPACKET ring blocks per worker (as `run --blocks`).
    #[arg(long, value_name = "N", default_value_t = 64)]
    pub blocks: u64,
}

/// Runs every check.
pub fn examine(req: &Request) -> Vec<Finding> {
    let mut out = Vec::new();
    for name in &req.interfaces {
        interface(name, req.workers, &mut out);
    }
    out.push(governor());
    out.push(af_xdp());
    out.push(bpf_jit());
    out.push(memlock());
    out.push(ring_memory(req));
    out.push(clocksource());
    if let Some(dir) = &req.log_dir {
        out.push(disk(dir, req.log_max_mb));
    }
    out
}

fn interface(name: &str, workers: u32, out: &mut Vec<Finding>) {
    let info = match interfaces::info(name) {
        Ok(Some(i)) => i,
        Ok(None) => {
            out.push(
                Finding::new("link", name, Level::Fail, "no such interface".into())
                    .fix("ip link   (lists the interfaces there are)".into()),
            );
            return;
        }
        Err(e) => {
            out.push(Finding::new(
                "link",
                name,
                Level::Fail,
                format!("cannot read it from sysfs: {e}"),
            ));
            return;
        }
    };
    out.push(link(&info));
    out.push(if info.up {
        Finding::new("up", name, Level::Ok, "administratively up".into())
    } else {
        Finding::new("up", name, Level::Fail, "down: it receives nothing".into())
            .fix(format!("ip link set {name} up"))
    });
    out.push(if info.rx_queues >= workers {
        Finding::new(
            "rx-queues",
            name,
            Level::Ok,
            format!(
                "{} receive queue(s) for {workers} worker(s)",
                info.rx_queues
            ),
        )
    } else {
        Finding::new(
            "rx-queues",
            name,
            Level::Warn,
            format!(
                "{} receive queue(s) for {workers} worker(s): an AF_XDP source needs one per \
                 worker (TPACKET sources share them through fanout)",
                info.rx_queues
            ),
        )
        .fix(format!(
            "ethtool -L {name} combined {workers}   (or run with --workers {})",
            info.rx_queues.max(1)
        ))
    });
    out.push(offloads(name, info.monitor()));
}

fn link(info: &InterfaceInfo) -> Finding {
    let name = info.name.as_str();
    let monitor = format!(
        "iw dev {name} set type monitor   (or add one: iw phy PHY interface add mon0 type \
         monitor)"
    );
    match info.link() {
        Some(Link::Wifi(dataplane::wire::LinkType::Radiotap)) => Finding::new(
            "link",
            name,
            Level::Ok,
            "802.11 frames with radiotap headers (a monitor interface)".into(),
        ),
        Some(Link::Wifi(t)) => Finding::new(
            "link",
            name,
            Level::Warn,
            format!(
                "802.11 frames with {t} headers: no radiotap, so signal and channel may be \
                 missing"
            ),
        )
        .fix(monitor),
        Some(Link::Ethernet) => Finding::new(
            "link",
            name,
            Level::Fail,
            format!(
                "not a monitor interface: its frames are Ethernet (hardware type {})",
                info.arphrd
            ),
        )
        .fix(monitor),
        None => Finding::new(
            "link",
            name,
            Level::Fail,
            format!(
                "not a monitor interface: hardware type {} carries no 802.11 frames",
                info.arphrd
            ),
        )
        .fix(monitor),
    }
}

/// GRO and LRO merge TCP/IP segments; on an interface whose frames are 802.11 with a capture
/// header there is nothing for them to merge, so they are only reported.
fn offloads(name: &str, monitor: bool) -> Finding {
    let o = match dataplane::source::afxdp::offloads(name) {
        Ok(o) => o,
        Err(e) => {
            return Finding::new(
                "offloads",
                name,
                Level::Warn,
                format!("cannot read its offloads: {e}"),
            )
        }
    };
    let on: Vec<&str> = [("gro", o.gro), ("lro", o.lro)]
        .iter()
        .filter(|(_, v)| *v == Some(true))
        .map(|(n, _)| *n)
        .collect();
    let said = |v: Option<bool>| match v {
        Some(true) => "on",
        Some(false) => "off",
        None => "not reported",
    };
    if on.is_empty() || monitor {
        let note = if on.is_empty() {
            ""
        } else {
            " (they merge only TCP/IP segments: 802.11 frames pass as they are)"
        };
        return Finding::new(
            "offloads",
            name,
            Level::Ok,
            format!("GRO {}, LRO {}{note}", said(o.gro), said(o.lro)),
        );
    }
    Finding::new(
        "offloads",
        name,
        Level::Warn,
        format!(
            "{} on: the kernel merges received frames before a capture socket sees them",
            on.join(" and ").to_uppercase()
        ),
    )
    .fix(format!(
        "ethtool -K {name} {}",
        on.iter()
            .map(|n| format!("{n} off"))
            .collect::<Vec<_>>()
            .join(" ")
    ))
}

fn governor() -> Finding {
    let mut slow = Vec::new();
    let mut seen = 0;
    if let Ok(dir) = fs::read_dir("/sys/devices/system/cpu") {
        let mut cpus: Vec<_> = dir
            .filter_map(Result::ok)
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| {
                n.strip_prefix("cpu")
                    .is_some_and(|d| d.parse::<u32>().is_ok())
            })
            .collect();
        cpus.sort();
        for cpu in cpus {
            let p = format!("/sys/devices/system/cpu/{cpu}/cpufreq/scaling_governor");
            if let Ok(g) = fs::read_to_string(p) {
                seen += 1;
                if g.trim() != "performance" {
                    slow.push(format!("{cpu}: {}", g.trim()));
                }
            }
        }
    }
    match (seen, slow.is_empty()) {
        (0, _) => Finding::new(
            "governor",
            "host",
            Level::Ok,
            "no cpufreq governor (the hypervisor or firmware sets the frequency)".into(),
        ),
        (_, true) => Finding::new(
            "governor",
            "host",
            Level::Ok,
            "every CPU runs the performance governor".into(),
        ),
        (_, false) => Finding::new(
            "governor",
            "host",
            Level::Warn,
            format!(
                "CPUs not at full speed on demand ({}): a burst finds workers at low clock",
                slow.join(", ")
            ),
        )
        .fix("cpupower frequency-set -g performance".into()),
    }
}

fn af_xdp() -> Finding {
    match dataplane::source::afxdp::afxdp_supported() {
        Ok(true) => Finding::new(
            "af-xdp",
            "host",
            Level::Ok,
            "the kernel offers AF_XDP sockets".into(),
        ),
        Ok(false) => Finding::new(
            "af-xdp",
            "host",
            Level::Warn,
            "the kernel has no AF_XDP sockets: afxdp sources cannot open (tpacket ones can)".into(),
        )
        .fix("a kernel built with CONFIG_XDP_SOCKETS=y, or use tpacket: sources".into()),
        Err(e) => Finding::new(
            "af-xdp",
            "host",
            Level::Warn,
            format!("cannot tell whether the kernel offers AF_XDP: {e}"),
        ),
    }
}

/// The BPF JIT compiles the transmitter fanout program (and any socket filter) to machine code;
/// without it every frame runs through the interpreter.
fn bpf_jit() -> Finding {
    let path = "/proc/sys/net/core/bpf_jit_enable";
    match fs::read_to_string(path).map(|s| s.trim().to_string()) {
        Ok(v) if v == "1" || v == "2" => Finding::new(
            "bpf-jit",
            "host",
            Level::Ok,
            format!("the BPF JIT is on (net.core.bpf_jit_enable = {v})"),
        ),
        Ok(v) => Finding::new(
            "bpf-jit",
            "host",
            Level::Warn,
            format!(
                "the BPF JIT is off (net.core.bpf_jit_enable = {v}): the fanout program is \
                 interpreted for every frame"
            ),
        )
        .fix("sysctl -w net.core.bpf_jit_enable=1".into()),
        // The setting is the kernel's, shown only in its first network namespace (a kernel
        // built without the JIT is rarer than a namespace).
        Err(_) => Finding::new(
            "bpf-jit",
            "host",
            Level::Ok,
            "not shown in this network namespace: on the host, sysctl net.core.bpf_jit_enable \
             says whether the BPF JIT is on"
                .into(),
        ),
    }
}

/// `MemAvailable` in a `/proc/meminfo` text, in bytes.
pub fn mem_available(meminfo: &str) -> Option<u64> {
    let line = meminfo.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib << 10)
}

/// The TPACKET rings the interfaces would take (one per worker each) against the memory the
/// kernel says is available: rings are allocated when a source opens and never swapped.
fn ring_memory(req: &Request) -> Finding {
    let rings = req.interfaces.len().max(1) as u64 * u64::from(req.workers.max(1));
    let per_ring = req
        .block_kib
        .saturating_mul(1024)
        .saturating_mul(req.blocks);
    let total = per_ring.saturating_mul(rings);
    let meminfo = fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let Some(avail) = mem_available(&meminfo) else {
        return Finding::new(
            "ring-memory",
            "host",
            Level::Warn,
            "cannot read MemAvailable from /proc/meminfo".into(),
        );
    };
    let detail = format!(
        "TPACKET rings {} MiB ({rings} ring(s) of {} blocks x {} KiB) of {} MiB available",
        total >> 20,
        req.blocks,
        req.block_kib,
        avail >> 20
    );
    if total <= avail / 2 {
        return Finding::new("ring-memory", "host", Level::Ok, detail);
    }
    let fit = (avail / 2 / rings.max(1) / req.block_kib.max(1).saturating_mul(1024)).max(1);
    Finding::new(
        "ring-memory",
        "host",
        Level::Warn,
        format!("{detail}: more than half of it"),
    )
    .fix(format!(
        "run with --blocks {fit} (or a smaller --block-kib)"
    ))
}

/// The soft limit of `Max locked memory` in a `/proc/PID/limits` text, in bytes (`None`:
/// unlimited).
pub fn memlock_limit(limits: &str) -> Option<Option<u64>> {
    let line = limits
        .lines()
        .find(|l| l.starts_with("Max locked memory"))?;
    let soft = line["Max locked memory".len()..]
        .split_whitespace()
        .next()?;
    if soft == "unlimited" {
        return Some(None);
    }
    soft.parse().ok().map(Some)
}

/// AF_XDP's UMEM (4 MiB a worker by default) is charged to the locked-memory limit.
const MEMLOCK_NEEDED: u64 = 64 << 20;

/// Whether `CapEff` in a `/proc/PID/status` text holds CAP_IPC_LOCK (14), which lifts the
/// locked-memory limit.
pub fn has_ipc_lock(status: &str) -> bool {
    status
        .lines()
        .find_map(|l| l.strip_prefix("CapEff:"))
        .and_then(|h| u64::from_str_radix(h.trim(), 16).ok())
        .is_some_and(|caps| caps & (1 << 14) != 0)
}

fn memlock() -> Finding {
    let limits = fs::read_to_string("/proc/self/limits").unwrap_or_default();
    let status = fs::read_to_string("/proc/self/status").unwrap_or_default();
    if has_ipc_lock(&status) {
        return Finding::new(
            "memlock",
            "host",
            Level::Ok,
            "CAP_IPC_LOCK: the locked-memory limit does not apply".into(),
        );
    }
    match memlock_limit(&limits) {
        Some(None) => Finding::new(
            "memlock",
            "host",
            Level::Ok,
            "locked memory unlimited".into(),
        ),
        Some(Some(n)) if n >= MEMLOCK_NEEDED => Finding::new(
            "memlock",
            "host",
            Level::Ok,
            format!("locked-memory limit {} MiB", n >> 20),
        ),
        Some(Some(n)) => Finding::new(
            "memlock",
            "host",
            Level::Warn,
            format!(
                "locked-memory limit {} KiB: AF_XDP sources lock their UMEM (4 MiB a worker) \
                 against it",
                n >> 10
            ),
        )
        .fix(
            "ulimit -l unlimited before airsift run, or LimitMEMLOCK=infinity in its systemd \
             unit"
                .into(),
        ),
        None => Finding::new(
            "memlock",
            "host",
            Level::Warn,
            "cannot read the locked-memory limit from /proc/self/limits".into(),
        ),
    }
}

fn clocksource() -> Finding {
    let dir = Path::new("/sys/devices/system/clocksource/clocksource0");
    let current = fs::read_to_string(dir.join("current_clocksource")).unwrap_or_default();
    let current = current.trim();
    match current {
        "tsc" | "kvm-clock" | "arch_sys_counter" | "hyperv_clocksource_tsc_page" => Finding::new(
            "clocksource",
            "host",
            Level::Ok,
            format!("clock source {current}: timestamps are cheap"),
        ),
        "" => Finding::new(
            "clocksource",
            "host",
            Level::Warn,
            "cannot read the clock source".into(),
        ),
        other => {
            let available =
                fs::read_to_string(dir.join("available_clocksource")).unwrap_or_default();
            let f = Finding::new(
                "clocksource",
                "host",
                Level::Warn,
                format!(
                    "clock source {other}: every timestamp is a slow read (available: {})",
                    available.trim()
                ),
            );
            if available.split_whitespace().any(|c| c == "tsc") {
                f.fix(format!(
                    "echo tsc > {}",
                    dir.join("current_clocksource").display()
                ))
            } else {
                f
            }
        }
    }
}

fn disk(dir: &Path, max_mb: u64) -> Finding {
    let subject = dir.display().to_string();
    let probe = dir
        .ancestors()
        .find(|p| p.exists())
        .unwrap_or(Path::new("/"));
    match nix::sys::statvfs::statvfs(probe) {
        Ok(s) => {
            let free = s.blocks_available() * s.fragment_size();
            // Two files: the one being written and the one just rotated out.
            let need = 2 * (max_mb << 20);
            let f = Finding::new(
                "disk",
                &subject,
                if free >= need { Level::Ok } else { Level::Warn },
                format!(
                    "{} MiB free for the log; rotation at {max_mb} MiB needs room for two files",
                    free >> 20
                ),
            );
            if free >= need {
                f
            } else {
                f.fix(format!(
                    "free space under {}, or rotate smaller: --log-max-mb {}",
                    probe.display(),
                    (free >> 20) / 4
                ))
            }
        }
        Err(e) => Finding::new(
            "disk",
            &subject,
            Level::Warn,
            format!("cannot read free space: {e}"),
        ),
    }
}

/// The findings as lines for a person: the problems first.
pub fn render_text(findings: &[Finding]) -> String {
    let mut out = String::new();
    let mut sorted: Vec<&Finding> = findings.iter().collect();
    sorted.sort_by_key(|f| match f.level {
        Level::Fail => 0,
        Level::Warn => 1,
        Level::Ok => 2,
    });
    for f in sorted {
        out.push_str(&format!(
            "{:<4} {:<11} {}: {}\n",
            f.level.name(),
            f.check,
            f.subject,
            f.detail
        ));
        if let Some(fix) = &f.fix {
            out.push_str(&format!("     fix: {fix}\n"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memlock_lines() {
        let t = "Limit                     Soft Limit           Hard Limit           Units\n\
                 Max locked memory         8388608              8388608              bytes\n";
        assert_eq!(memlock_limit(t), Some(Some(8_388_608)));
        let t = "Max locked memory         unlimited            unlimited            bytes\n";
        assert_eq!(memlock_limit(t), Some(None));
        assert_eq!(memlock_limit("nothing"), None);
    }

    #[test]
    fn meminfo_available() {
        let t = "MemTotal:       24000000 kB\nMemAvailable:   1000 kB\n";
        assert_eq!(mem_available(t), Some(1_024_000));
        assert_eq!(mem_available("MemTotal: 1 kB\n"), None);
    }

    #[test]
    fn ipc_lock_from_status() {
        assert!(has_ipc_lock("Name:\tx\nCapEff:\t000001ffffffffff\n"));
        assert!(!has_ipc_lock("CapEff:\t0000000000003000\n"));
        assert!(has_ipc_lock("CapEff:\t0000000000004000\n"));
        assert!(!has_ipc_lock(""));
    }

    #[test]
    fn text_puts_problems_first() {
        let f = vec![
            Finding::new("a", "host", Level::Ok, "fine".into()),
            Finding::new("b", "x", Level::Fail, "broken".into()).fix("mend x".into()),
        ];
        let t = render_text(&f);
        assert!(
            t.starts_with("fail b           x: broken\n     fix: mend x\nok"),
            "{t}"
        );
    }
}
