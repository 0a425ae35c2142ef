//! `airsift doctor`: what on this host would cost a capture frames or make it fail, each
//! finding with the command that fixes it. Every check reads the running system (sysfs,
//! procfs, ethtool, a socket probe, generic netlink); nothing is changed.

use std::fs;
use std::io;
use std::path::Path;

use neli::consts::socket::{Msg, NlFamily};
use neli::socket::NlSocket;
use neli::utils::Groups;
use serde_json::{json, Value};

use crate::datasource::interfaces::{self, InterfaceInfo, Link};
use crate::datasource::nl80211::wire::{self, Reply};

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
    /// Which check (`link`, `up`, `rx-queues`, `offloads`, `irq-affinity`, `rps`, `xdp-modes`,
    /// `governor`, `af-xdp`, `bpf-jit`, `memlock`, `ring-memory`, `clocksource`, `disk`).
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
    out.push(memlock(req.workers));
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
    let cores = worker_cores(workers);
    out.push(irq_affinity(name, &cores));
    out.push(rps(name, &cores));
    out.push(judge_xdp(name, xdp_features(info.ifindex)));
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

/// The cores `run --workers N` pins its workers to: 0..N.
fn worker_cores(workers: u32) -> Vec<usize> {
    (0..workers.max(1) as usize).collect()
}

/// CPU numbers a mask or list may hold are below this (the kernel's NR_CPUS is at most 8192),
/// so malformed text cannot make a huge list.
const MAX_CPU: usize = 1 << 16;

/// A CPU list as the kernel prints it (`smp_affinity_list`, `cpu/online`): `0-3,5`; empty for
/// no CPU. Sorted, without duplicates; `None` when it is not one.
pub fn parse_cpu_list(text: &str) -> Option<Vec<usize>> {
    let text = text.trim();
    let mut cpus = Vec::new();
    if text.is_empty() {
        return Some(cpus);
    }
    for part in text.split(',') {
        let (lo, hi) = match part.split_once('-') {
            Some((lo, hi)) => (lo.trim().parse().ok()?, hi.trim().parse().ok()?),
            None => {
                let n: usize = part.trim().parse().ok()?;
                (n, n)
            }
        };
        if lo > hi || hi >= MAX_CPU {
            return None;
        }
        cpus.extend(lo..=hi);
        if cpus.len() > MAX_CPU {
            return None;
        }
    }
    cpus.sort_unstable();
    cpus.dedup();
    Some(cpus)
}

/// A CPU mask as the kernel prints it (`rps_cpus`, `smp_affinity`): hexadecimal, in 32-bit
/// groups separated by commas, the most significant first (`00000000,00000003` is CPUs 0 and
/// 1). Sorted; `None` when it is not one.
pub fn parse_cpu_mask(text: &str) -> Option<Vec<usize>> {
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    let groups: Vec<&str> = text.split(',').collect();
    if groups.len() * 32 > MAX_CPU {
        return None;
    }
    let mut cpus = Vec::new();
    for (i, group) in groups.iter().rev().enumerate() {
        if group.is_empty() || group.len() > 8 {
            return None;
        }
        let bits = u32::from_str_radix(group, 16).ok()?;
        cpus.extend((0..32).filter(|b| bits & (1 << b) != 0).map(|b| i * 32 + b));
    }
    Some(cpus)
}

/// CPUs as a mask the kernel takes (the inverse of [`parse_cpu_mask`], without leading zero
/// groups): `[0, 1]` is `3`, `[33]` is `2,00000000`.
pub fn cpu_mask(cpus: &[usize]) -> String {
    let Some(&top) = cpus.iter().filter(|&&c| c < MAX_CPU).max() else {
        return "0".into();
    };
    let mut groups = vec![0u32; top / 32 + 1];
    for &c in cpus.iter().filter(|&&c| c < MAX_CPU) {
        groups[c / 32] |= 1 << (c % 32);
    }
    let mut out = String::new();
    for (i, g) in groups.iter().rev().enumerate() {
        if i == 0 {
            out.push_str(&format!("{g:x}"));
        } else {
            out.push_str(&format!(",{g:08x}"));
        }
    }
    out
}

/// CPUs as a list with ranges (`0-2,5`), as the kernel prints one; `none` for none.
pub fn cpu_list(cpus: &[usize]) -> String {
    let mut sorted = cpus.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    let mut parts: Vec<String> = Vec::new();
    let mut i = 0;
    while i < sorted.len() {
        let mut j = i;
        while j + 1 < sorted.len() && sorted[j + 1] == sorted[j] + 1 {
            j += 1;
        }
        parts.push(if i == j {
            sorted[i].to_string()
        } else {
            format!("{}-{}", sorted[i], sorted[j])
        });
        i = j + 1;
    }
    if parts.is_empty() {
        "none".into()
    } else {
        parts.join(",")
    }
}

/// Every CPU of `cpus` is a worker core.
fn within(cpus: &[usize], cores: &[usize]) -> bool {
    cpus.iter().all(|c| cores.contains(c))
}

/// The numbers of the entries of a directory whose names are numbers, sorted.
fn numbered_entries(dir: &Path) -> Vec<u32> {
    let mut out: Vec<u32> = fs::read_dir(dir)
        .map(|d| {
            d.filter_map(Result::ok)
                .filter_map(|e| e.file_name().to_str()?.parse().ok())
                .collect()
        })
        .unwrap_or_default();
    out.sort_unstable();
    out
}

/// The IRQs of the device behind `/sys/class/net/IF/device`: its MSI/MSI-X vectors
/// (`msi_irqs/`), else its legacy line (`irq`, 0 for none). A virtio NIC's vectors belong to
/// the virtio transport's PCI device, its parent.
fn device_irqs(dev: &Path) -> Vec<u32> {
    let msi = numbered_entries(&dev.join("msi_irqs"));
    if !msi.is_empty() {
        return msi;
    }
    let line = fs::read_to_string(dev.join("irq"))
        .ok()
        .and_then(|s| s.trim().parse::<u32>().ok())
        .filter(|&n| n != 0);
    if let Some(n) = line {
        return vec![n];
    }
    let virtio = fs::read_link(dev.join("subsystem"))
        .is_ok_and(|l| l.file_name().is_some_and(|n| n == "virtio"));
    if virtio {
        return numbered_entries(&dev.join("..").join("msi_irqs"));
    }
    Vec::new()
}

/// A process named `irqbalance` runs (it moves IRQs between CPUs as load changes).
fn irqbalance_running() -> bool {
    let Ok(dir) = fs::read_dir("/proc") else {
        return false;
    };
    dir.filter_map(Result::ok)
        .filter(|e| {
            e.file_name()
                .to_str()
                .is_some_and(|n| n.bytes().all(|b| b.is_ascii_digit()))
        })
        .any(|e| {
            fs::read_to_string(e.path().join("comm")).is_ok_and(|c| c.trim_end() == "irqbalance")
        })
}

/// The interface's device IRQs and where they may run, against the worker cores: the CPU
/// that takes a receive interrupt also runs the softirq that hands the frame to the capture
/// socket, so off the worker cores every frame crosses cores before a worker reads it.
fn irq_affinity(name: &str, cores: &[usize]) -> Finding {
    let dev = Path::new("/sys/class/net").join(name).join("device");
    if !dev.exists() {
        return Finding::new(
            "irq-affinity",
            name,
            Level::Ok,
            "no device IRQs: a virtual interface receives in the sender's context".into(),
        );
    }
    let irqs: Vec<(u32, Option<Vec<usize>>)> = device_irqs(&dev)
        .into_iter()
        .map(|n| {
            let list = fs::read_to_string(format!("/proc/irq/{n}/smp_affinity_list")).ok();
            (n, list.as_deref().and_then(parse_cpu_list))
        })
        .collect();
    judge_irqs(name, cores, &irqs, irqbalance_running())
}

/// The `irq-affinity` finding from the device's IRQs with their affinity lists (`None`:
/// unreadable) and whether irqbalance runs. The fix spreads the IRQs over the worker cores,
/// one core each in turn.
fn judge_irqs(
    name: &str,
    cores: &[usize],
    irqs: &[(u32, Option<Vec<usize>>)],
    irqbalance: bool,
) -> Finding {
    if irqs.is_empty() {
        return Finding::new(
            "irq-affinity",
            name,
            Level::Ok,
            "its device lists no IRQs of its own (no device/msi_irqs or device/irq: a USB \
             adapter's interrupts are its host controller's)"
                .into(),
        );
    }
    let shown: Vec<String> = irqs
        .iter()
        .map(|(n, cpus)| match cpus {
            Some(c) => format!("IRQ {n} on CPUs {}", cpu_list(c)),
            None => format!("IRQ {n} affinity unreadable"),
        })
        .collect();
    let outside: Vec<u32> = irqs
        .iter()
        .filter(|(_, cpus)| {
            cpus.as_ref()
                .is_some_and(|c| c.is_empty() || !within(c, cores))
        })
        .map(|(n, _)| *n)
        .collect();
    let mut detail = format!("{}; worker cores {}", shown.join(", "), cpu_list(cores));
    if outside.is_empty() && !irqbalance {
        return Finding::new("irq-affinity", name, Level::Ok, detail);
    }
    let mut fix = Vec::new();
    if !outside.is_empty() {
        detail.push_str(&format!(
            ": IRQ {} may run outside them, so received frames cross cores before a worker \
             reads them",
            outside
                .iter()
                .map(u32::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    if irqbalance {
        detail.push_str(": irqbalance is running and moves IRQs between CPUs at will");
        fix.push("systemctl disable --now irqbalance".to_string());
    }
    if !outside.is_empty() && !cores.is_empty() {
        for (i, (n, _)) in irqs.iter().enumerate() {
            fix.push(format!(
                "echo {} > /proc/irq/{n}/smp_affinity_list",
                cores[i % cores.len()]
            ));
        }
    }
    Finding::new("irq-affinity", name, Level::Warn, detail).fix(fix.join("; "))
}

/// Receive packet steering of each receive queue (`queues/rx-*/rps_cpus`).
fn rps(name: &str, cores: &[usize]) -> Finding {
    let dir = Path::new("/sys/class/net").join(name).join("queues");
    let mut queues: Vec<(u32, Option<Vec<usize>>)> = fs::read_dir(&dir)
        .map(|d| {
            d.filter_map(Result::ok)
                .filter_map(|e| {
                    let q: u32 = e.file_name().to_str()?.strip_prefix("rx-")?.parse().ok()?;
                    let mask = fs::read_to_string(e.path().join("rps_cpus")).ok()?;
                    Some((q, parse_cpu_mask(&mask)))
                })
                .collect()
        })
        .unwrap_or_default();
    queues.sort_by_key(|(q, _)| *q);
    judge_rps(name, cores, &queues)
}

/// The `rps` finding from each receive queue's RPS CPUs (`None`: unreadable). RPS moves the
/// protocol processing of received frames, the capture sockets' delivery included, to the
/// CPUs in the mask: off (empty) or on worker cores is right.
fn judge_rps(name: &str, cores: &[usize], queues: &[(u32, Option<Vec<usize>>)]) -> Finding {
    if queues.is_empty() {
        return Finding::new(
            "rps",
            name,
            Level::Ok,
            "no rps_cpus on its receive queues (a kernel without RPS)".into(),
        );
    }
    let outside: Vec<(u32, &Vec<usize>)> = queues
        .iter()
        .filter_map(|(q, c)| Some((*q, c.as_ref()?)))
        .filter(|(_, c)| !within(c, cores))
        .collect();
    let on: Vec<String> = queues
        .iter()
        .filter_map(|(q, c)| match c {
            Some(c) if c.is_empty() => None,
            Some(c) => Some(format!("rx-{q} to CPUs {}", cpu_list(c))),
            None => Some(format!("rx-{q} unreadable")),
        })
        .collect();
    if outside.is_empty() {
        let detail = if on.is_empty() {
            format!("RPS off on its {} receive queue(s)", queues.len())
        } else {
            format!(
                "RPS steers {}: within the worker cores {}",
                on.join(", "),
                cpu_list(cores)
            )
        };
        return Finding::new("rps", name, Level::Ok, detail);
    }
    let detail = format!(
        "RPS steers {}, outside the worker cores {}: frames are handed to the capture sockets \
         on other CPUs",
        outside
            .iter()
            .map(|(q, c)| format!("rx-{q} to CPUs {}", cpu_list(c)))
            .collect::<Vec<_>>()
            .join(", "),
        cpu_list(cores)
    );
    let mask = cpu_mask(cores);
    let fix = outside
        .iter()
        .map(|(q, _)| format!("echo {mask} > /sys/class/net/{name}/queues/rx-{q}/rps_cpus"))
        .collect::<Vec<_>>()
        .join("; ");
    Finding::new("rps", name, Level::Warn, detail).fix(fix)
}

// include/uapi/linux/netdev.h (the "netdev" generic netlink family, Linux 6.3 and later).
/// `NETDEV_FAMILY_NAME`.
const NETDEV_FAMILY_NAME: &str = "netdev";
/// `NETDEV_FAMILY_VERSION`.
const NETDEV_FAMILY_VERSION: u8 = 1;
/// `NETDEV_CMD_DEV_GET`: one device's features (the reply has the same command).
const NETDEV_CMD_DEV_GET: u8 = 1;
/// `NETDEV_A_DEV_IFINDEX` (u32).
const NETDEV_A_DEV_IFINDEX: u16 = 1;
/// `NETDEV_A_DEV_XDP_FEATURES` (u64, `enum netdev_xdp_act` bits).
const NETDEV_A_DEV_XDP_FEATURES: u16 = 3;
/// `NETDEV_A_DEV_XDP_ZC_MAX_SEGS` (u32).
const NETDEV_A_DEV_XDP_ZC_MAX_SEGS: u16 = 4;
/// `NETDEV_XDP_ACT_BASIC`: the driver runs XDP programs itself (native, driver mode).
pub const NETDEV_XDP_ACT_BASIC: u64 = 1;
/// `NETDEV_XDP_ACT_XSK_ZEROCOPY`: AF_XDP sockets can bind in zero-copy mode.
pub const NETDEV_XDP_ACT_XSK_ZEROCOPY: u64 = 8;
/// The `enum netdev_xdp_act` bits by name, as the kernel's netdev.yaml spells them.
const XDP_ACT_NAMES: [(u64, &str); 7] = [
    (1, "basic"),
    (2, "redirect"),
    (4, "ndo-xmit"),
    (8, "xsk-zerocopy"),
    (16, "hw-offload"),
    (32, "rx-sg"),
    (64, "ndo-xmit-sg"),
];

/// What the kernel says about a device's XDP (`NETDEV_CMD_DEV_GET`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct XdpFeatures {
    /// `enum netdev_xdp_act` bits.
    pub flags: u64,
    /// The most fragments a zero-copy AF_XDP frame may have, when reported.
    pub zc_max_segs: Option<u32>,
}

/// A generic netlink request with one attribute, built with neli's message types.
fn genl_request<P: neli::Size + neli::ToBytes>(
    family: u16,
    seq: u32,
    cmd: u8,
    version: u8,
    attr: u16,
    value: P,
) -> Result<Vec<u8>, String> {
    use neli::consts::nl::NlmF;
    use neli::genl::{AttrTypeBuilder, GenlmsghdrBuilder, NlattrBuilder, NoUserHeader};
    use neli::nl::{NlPayload, NlmsghdrBuilder};
    use neli::types::GenlBuffer;
    let err = |e: &dyn std::fmt::Display| format!("building a netlink message: {e}");
    let ty = AttrTypeBuilder::default()
        .nla_type(attr)
        .build()
        .map_err(|e| err(&e))?;
    let mut attrs = GenlBuffer::<u16, neli::types::Buffer>::new();
    attrs.push(
        NlattrBuilder::default()
            .nla_type(ty)
            .nla_payload(value)
            .build()
            .map_err(|e| err(&e))?,
    );
    let genl = GenlmsghdrBuilder::<u8, u16, NoUserHeader>::default()
        .cmd(cmd)
        .version(version)
        .attrs(attrs)
        .build()
        .map_err(|e| err(&e))?;
    let msg = NlmsghdrBuilder::default()
        .nl_type(family)
        .nl_flags(NlmF::from_bits_retain(wire::NLM_F_REQUEST))
        .nl_seq(seq)
        .nl_pid(0)
        .nl_payload(NlPayload::Payload(genl))
        .build()
        .map_err(|e| err(&e))?;
    let mut out = io::Cursor::new(Vec::with_capacity(neli::Size::padded_size(&msg)));
    neli::ToBytes::to_bytes(&msg, &mut out).map_err(|e| err(&e))?;
    Ok(out.into_inner())
}

/// `NETDEV_CMD_DEV_GET` for interface `ifindex`.
pub fn dev_get_request(family: u16, seq: u32, ifindex: u32) -> Result<Vec<u8>, String> {
    genl_request(
        family,
        seq,
        NETDEV_CMD_DEV_GET,
        NETDEV_FAMILY_VERSION,
        NETDEV_A_DEV_IFINDEX,
        ifindex,
    )
}

/// The XDP features in a `NETDEV_CMD_DEV_GET` reply's attributes.
pub fn parse_xdp_features(attrs: &[u8]) -> Result<XdpFeatures, wire::WireError> {
    let mut flags = None;
    let mut zc_max_segs = None;
    for (ty, value) in wire::attributes(attrs)? {
        match ty {
            NETDEV_A_DEV_XDP_FEATURES => {
                let b: [u8; 8] = value
                    .try_into()
                    .map_err(|_| wire::WireError::BadAttribute("NETDEV_A_DEV_XDP_FEATURES"))?;
                flags = Some(u64::from_ne_bytes(b));
            }
            NETDEV_A_DEV_XDP_ZC_MAX_SEGS => {
                let b: [u8; 4] = value
                    .try_into()
                    .map_err(|_| wire::WireError::BadAttribute("NETDEV_A_DEV_XDP_ZC_MAX_SEGS"))?;
                zc_max_segs = Some(u32::from_ne_bytes(b));
            }
            _ => {}
        }
    }
    Ok(XdpFeatures {
        flags: flags.ok_or(wire::WireError::Missing("NETDEV_A_DEV_XDP_FEATURES"))?,
        zc_max_segs,
    })
}

/// Sends one request and returns the kernel's answer to it: a generic netlink `do` request is
/// answered inside `send`, so the answer is read without waiting (as `nl80211::Session` does).
fn genl_exchange(sock: &NlSocket, port: u32, seq: u32, request: &[u8]) -> Result<Reply, String> {
    sock.send(request, Msg::empty())
        .map_err(|e| format!("netlink send: {e}"))?;
    let mut buf = vec![0u8; 16 * 1024];
    for _ in 0..16 {
        let n = match sock.recv(&mut buf[..], Msg::DONTWAIT) {
            Ok((n, _)) => n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
            Err(e) => return Err(format!("netlink receive: {e}")),
        };
        let data = buf.get(..n).unwrap_or(&buf[..]);
        if let Some(reply) = wire::parse_reply(data, seq, port).map_err(|e| e.to_string())? {
            return Ok(reply);
        }
    }
    Err("no reply from the kernel".into())
}

fn refused(what: &str, reply: Reply) -> String {
    match reply {
        Reply::Error { errno, message } => format!(
            "{what} refused: {} (errno {errno}){}",
            nix::errno::Errno::from_raw(errno).desc(),
            message.map(|m| format!(": {m}")).unwrap_or_default()
        ),
        Reply::Ack => format!("{what}: a bare ack instead of a reply"),
        Reply::Genl { cmd, .. } => format!("{what}: unexpected reply command {cmd}"),
    }
}

/// What the kernel's "netdev" generic netlink family says about interface `ifindex`'s XDP;
/// `Ok(None)` when the kernel has no such family (before Linux 6.3).
fn xdp_features(ifindex: u32) -> Result<Option<XdpFeatures>, String> {
    let sock = NlSocket::connect(NlFamily::Generic, None, Groups::empty())
        .map_err(|e| format!("netlink socket: {e}"))?;
    let _ = sock.enable_ext_ack(true);
    let port = sock
        .pid()
        .map_err(|e| format!("netlink socket address: {e}"))?;
    let request = genl_request(
        wire::GENL_ID_CTRL,
        1,
        wire::CTRL_CMD_GETFAMILY,
        wire::CTRL_VERSION,
        wire::CTRL_ATTR_FAMILY_NAME,
        NETDEV_FAMILY_NAME,
    )?;
    let family = match genl_exchange(&sock, port, 1, &request)? {
        Reply::Genl { attrs, .. } => wire::parse_family_id(&attrs).map_err(|e| e.to_string())?,
        Reply::Error { errno, .. } if errno == nix::errno::Errno::ENOENT as i32 => return Ok(None),
        other => return Err(refused("CTRL_CMD_GETFAMILY netdev", other)),
    };
    match genl_exchange(&sock, port, 2, &dev_get_request(family, 2, ifindex)?)? {
        Reply::Genl {
            cmd: NETDEV_CMD_DEV_GET,
            attrs,
        } => parse_xdp_features(&attrs)
            .map(Some)
            .map_err(|e| e.to_string()),
        other => Err(refused("netdev DEV_GET", other)),
    }
}

/// The `xdp-modes` finding from what the kernel reports (`Ok(None)`: it reports nothing).
fn judge_xdp(name: &str, features: Result<Option<XdpFeatures>, String>) -> Finding {
    let f =
        match features {
            Ok(Some(f)) => f,
            Ok(None) => return Finding::new(
                "xdp-modes",
                name,
                Level::Ok,
                "the kernel does not report XDP features (no \"netdev\" generic netlink family: \
                 before Linux 6.3); an afxdp source tries native attach and zero-copy and falls \
                 back with a message"
                    .into(),
            ),
            Err(e) => {
                return Finding::new(
                    "xdp-modes",
                    name,
                    Level::Warn,
                    format!("cannot read its XDP features from the kernel: {e}"),
                )
            }
        };
    let names: Vec<&str> = XDP_ACT_NAMES
        .iter()
        .filter(|(bit, _)| f.flags & bit != 0)
        .map(|(_, n)| *n)
        .collect();
    let names = if names.is_empty() {
        "none".to_string()
    } else {
        names.join(", ")
    };
    let native = f.flags & NETDEV_XDP_ACT_BASIC != 0;
    let zerocopy = if f.flags & NETDEV_XDP_ACT_XSK_ZEROCOPY != 0 {
        "AF_XDP zero-copy available"
    } else {
        "AF_XDP copy mode only (no zero-copy)"
    };
    if native {
        return Finding::new(
            "xdp-modes",
            name,
            Level::Ok,
            format!("native XDP available; {zerocopy} (XDP features: {names})"),
        );
    }
    // Not a fault: Wi-Fi drivers have no native XDP, TPACKET sources do not use XDP, and an
    // afxdp source falls back to generic attachment by itself. Nothing here to fix.
    Finding::new(
        "xdp-modes",
        name,
        Level::Ok,
        format!(
            "no native XDP, only generic (an afxdp source attaches in generic mode by itself: \
             slower, frames are copied after the skb is built; full speed needs a driver with \
             native XDP; tpacket sources do not use XDP); {zerocopy} (XDP features: {names})"
        ),
    )
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

/// AF_XDP's UMEM is charged to the locked-memory limit, one per worker.
fn memlock(workers: u32) -> Finding {
    let limits = fs::read_to_string("/proc/self/limits").unwrap_or_default();
    let needed = crate::privilege::umem_bytes() * u64::from(workers.max(1));
    if crate::privilege::Caps::current().has(crate::privilege::Cap::IpcLock) {
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
        Some(Some(n)) if n >= needed => Finding::new(
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
                "locked-memory limit {} KiB, no CAP_IPC_LOCK: an AF_XDP source locks its UMEM \
                 ({} MiB a worker, {} MiB for {workers}) against it",
                n >> 10,
                crate::privilege::umem_bytes() >> 20,
                needed >> 20
            ),
        )
        .fix(
            "the packaged service grants CAP_IPC_LOCK; by hand: ulimit -l unlimited before \
             airsift run, or LimitMEMLOCK=infinity in a systemd unit"
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
            "{:<4} {:<12} {}: {}\n",
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
    fn text_puts_problems_first() {
        let f = vec![
            Finding::new("a", "host", Level::Ok, "fine".into()),
            Finding::new("b", "x", Level::Fail, "broken".into()).fix("mend x".into()),
        ];
        let t = render_text(&f);
        assert!(
            t.starts_with("fail b            x: broken\n     fix: mend x\nok"),
            "{t}"
        );
    }

    #[test]
    fn cpu_lists() {
        assert_eq!(parse_cpu_list("0-3,5\n"), Some(vec![0, 1, 2, 3, 5]));
        assert_eq!(parse_cpu_list("7"), Some(vec![7]));
        assert_eq!(parse_cpu_list("2,0-1,1"), Some(vec![0, 1, 2]));
        assert_eq!(parse_cpu_list(""), Some(vec![]));
        assert_eq!(parse_cpu_list("3-1"), None);
        assert_eq!(parse_cpu_list("x"), None);
        assert_eq!(parse_cpu_list("0-4294967295"), None);
        assert_eq!(cpu_list(&[0, 1, 2, 5, 7, 8]), "0-2,5,7-8");
        assert_eq!(cpu_list(&[3]), "3");
        assert_eq!(cpu_list(&[]), "none");
    }

    #[test]
    fn cpu_masks() {
        assert_eq!(parse_cpu_mask("0\n"), Some(vec![]));
        assert_eq!(parse_cpu_mask("00000000,00000000"), Some(vec![]));
        assert_eq!(parse_cpu_mask("3"), Some(vec![0, 1]));
        assert_eq!(parse_cpu_mask("00000000,00000003"), Some(vec![0, 1]));
        assert_eq!(parse_cpu_mask("1,80000000"), Some(vec![31, 32]));
        assert_eq!(parse_cpu_mask("f0"), Some(vec![4, 5, 6, 7]));
        assert_eq!(parse_cpu_mask(""), None);
        assert_eq!(parse_cpu_mask("1,,2"), None);
        assert_eq!(parse_cpu_mask("123456789"), None);
        assert_eq!(parse_cpu_mask("g"), None);
        assert_eq!(cpu_mask(&[0]), "1");
        assert_eq!(cpu_mask(&[0, 1]), "3");
        assert_eq!(cpu_mask(&[33]), "2,00000000");
        assert_eq!(cpu_mask(&[]), "0");
        for cpus in [vec![0, 1, 2, 3], vec![5, 40, 95], vec![31, 32, 63, 64]] {
            assert_eq!(parse_cpu_mask(&cpu_mask(&cpus)), Some(cpus));
        }
        assert_eq!(worker_cores(2), vec![0, 1]);
        assert_eq!(worker_cores(0), vec![0]);
    }

    #[test]
    fn irqs_against_workers() {
        let cores = worker_cores(2);
        let f = judge_irqs(
            "eth0",
            &cores,
            &[(40, Some(vec![0])), (41, Some(vec![1]))],
            false,
        );
        assert_eq!(f.level, Level::Ok, "{f:?}");
        assert_eq!(
            f.detail,
            "IRQ 40 on CPUs 0, IRQ 41 on CPUs 1; worker cores 0-1"
        );
        assert_eq!(f.fix, None);

        // One IRQ may run on CPU 3: the fix spreads every IRQ over the worker cores.
        let irqs = [
            (40, Some(vec![0])),
            (41, Some(vec![0, 1, 2, 3])),
            (42, Some(vec![1])),
        ];
        let f = judge_irqs("eth0", &cores, &irqs, false);
        assert_eq!(f.level, Level::Warn);
        assert!(f.detail.contains("IRQ 41 on CPUs 0-3"), "{}", f.detail);
        assert!(
            f.detail.contains("IRQ 41 may run outside them"),
            "{}",
            f.detail
        );
        assert_eq!(
            f.fix.as_deref(),
            Some(
                "echo 0 > /proc/irq/40/smp_affinity_list; echo 1 > /proc/irq/41/smp_affinity_list; \
                 echo 0 > /proc/irq/42/smp_affinity_list"
            )
        );

        // irqbalance alone: it is what moves them.
        let f = judge_irqs("eth0", &cores, &[(40, Some(vec![0]))], true);
        assert_eq!(f.level, Level::Warn);
        assert!(f.detail.contains("irqbalance is running"), "{}", f.detail);
        assert_eq!(f.fix.as_deref(), Some("systemctl disable --now irqbalance"));
        let f = judge_irqs("eth0", &[0], &[(40, Some(vec![1]))], true);
        assert_eq!(
            f.fix.as_deref(),
            Some("systemctl disable --now irqbalance; echo 0 > /proc/irq/40/smp_affinity_list")
        );

        // Unreadable affinity is said, not judged; no IRQs at all is said too.
        let f = judge_irqs("eth0", &cores, &[(40, None)], false);
        assert_eq!(f.level, Level::Ok);
        assert!(
            f.detail.contains("IRQ 40 affinity unreadable"),
            "{}",
            f.detail
        );
        let f = judge_irqs("wlan0", &cores, &[], true);
        assert_eq!(f.level, Level::Ok);
        assert!(f.detail.contains("no IRQs of its own"), "{}", f.detail);
    }

    #[test]
    fn rps_against_workers() {
        let cores = worker_cores(2);
        let f = judge_rps("eth0", &cores, &[(0, Some(vec![])), (1, Some(vec![]))]);
        assert_eq!(f.level, Level::Ok);
        assert_eq!(f.detail, "RPS off on its 2 receive queue(s)");
        let f = judge_rps("eth0", &cores, &[(0, Some(vec![0, 1])), (1, Some(vec![]))]);
        assert_eq!(f.level, Level::Ok);
        assert_eq!(
            f.detail,
            "RPS steers rx-0 to CPUs 0-1: within the worker cores 0-1"
        );
        let f = judge_rps(
            "eth0",
            &cores,
            &[
                (0, Some(vec![0])),
                (1, Some(vec![2, 3])),
                (2, Some(vec![1, 35])),
            ],
        );
        assert_eq!(f.level, Level::Warn);
        assert!(
            f.detail.starts_with(
                "RPS steers rx-1 to CPUs 2-3, rx-2 to CPUs 1,35, outside the worker cores 0-1"
            ),
            "{}",
            f.detail
        );
        assert_eq!(
            f.fix.as_deref(),
            Some(
                "echo 3 > /sys/class/net/eth0/queues/rx-1/rps_cpus; \
                 echo 3 > /sys/class/net/eth0/queues/rx-2/rps_cpus"
            )
        );
        assert_eq!(judge_rps("eth0", &cores, &[]).level, Level::Ok);
    }

    /// One netlink attribute: length, type, payload padded to 4 bytes.
    fn nla(ty: u16, payload: &[u8]) -> Vec<u8> {
        let mut b = Vec::new();
        b.extend_from_slice(&((4 + payload.len()) as u16).to_ne_bytes());
        b.extend_from_slice(&ty.to_ne_bytes());
        b.extend_from_slice(payload);
        while b.len() % 4 != 0 {
            b.push(0);
        }
        b
    }

    #[test]
    fn dev_get_request_bytes() {
        let b = dev_get_request(0x22, 7, 5).unwrap();
        let mut want = Vec::new();
        want.extend_from_slice(&28u32.to_ne_bytes()); // nlmsg_len
        want.extend_from_slice(&0x22u16.to_ne_bytes()); // the resolved family
        want.extend_from_slice(&1u16.to_ne_bytes()); // NLM_F_REQUEST
        want.extend_from_slice(&7u32.to_ne_bytes()); // seq
        want.extend_from_slice(&0u32.to_ne_bytes()); // port
        want.extend_from_slice(&[1, 1, 0, 0]); // NETDEV_CMD_DEV_GET, version 1
        want.extend(nla(1, &5u32.to_ne_bytes())); // NETDEV_A_DEV_IFINDEX
        assert_eq!(b, want);
    }

    #[test]
    fn xdp_features_from_reply() {
        // A reply as the kernel sends it: ifindex, a pad attribute (where u64 needs alignment),
        // the features, the zero-copy segments and attributes newer than this parser.
        let mut attrs = nla(1, &5u32.to_ne_bytes());
        attrs.extend(nla(2, &[]));
        attrs.extend(nla(3, &(1u64 | 2 | 8 | 32).to_ne_bytes()));
        attrs.extend(nla(4, &1u32.to_ne_bytes()));
        attrs.extend(nla(5, &0u64.to_ne_bytes()));
        let f = parse_xdp_features(&attrs).unwrap();
        assert_eq!(
            f,
            XdpFeatures {
                flags: 0b10_1011,
                zc_max_segs: Some(1)
            }
        );
        assert_eq!(
            parse_xdp_features(&nla(1, &5u32.to_ne_bytes())),
            Err(wire::WireError::Missing("NETDEV_A_DEV_XDP_FEATURES"))
        );
        assert!(parse_xdp_features(&nla(3, &1u32.to_ne_bytes())).is_err());
        assert!(parse_xdp_features(&[8, 0, 3, 0, 1]).is_err());
    }

    #[test]
    fn xdp_modes_judged() {
        let xdp = |flags| {
            judge_xdp(
                "eth0",
                Ok(Some(XdpFeatures {
                    flags,
                    zc_max_segs: None,
                })),
            )
        };
        let f = xdp(1 | 2 | 8 | 32);
        assert_eq!(f.level, Level::Ok);
        assert_eq!(
            f.detail,
            "native XDP available; AF_XDP zero-copy available (XDP features: basic, redirect, \
             xsk-zerocopy, rx-sg)"
        );
        assert_eq!(f.fix, None);
        let f = xdp(1 | 2 | 32);
        assert_eq!(f.level, Level::Ok);
        assert!(f.detail.contains("AF_XDP copy mode only"), "{}", f.detail);
        let f = xdp(0);
        assert_eq!(f.level, Level::Ok, "no native XDP is no fault");
        assert!(
            f.detail.starts_with("no native XDP, only generic"),
            "{}",
            f.detail
        );
        assert!(f.detail.contains("XDP features: none"), "{}", f.detail);
        assert!(f.detail.contains("generic mode by itself"), "{}", f.detail);
        assert_eq!(f.fix, None);
        let f = judge_xdp("eth0", Ok(None));
        assert_eq!(f.level, Level::Ok);
        assert!(
            f.detail
                .starts_with("the kernel does not report XDP features"),
            "{}",
            f.detail
        );
        assert_eq!(judge_xdp("eth0", Err("boom".into())).level, Level::Warn);
    }
}
