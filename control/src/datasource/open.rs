//! Opening a datasource's rings from its definition: TPACKET_V3 sockets (several in a fanout
//! group), AF_XDP sockets (one per queue) or a capture file. The one place that turns a
//! definition into `Source`s, for `airsift run --source` and `add_source` alike.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use dataplane::kfilter::KernelMirror;
use dataplane::source::afxdp::{AfXdpConfig, AfXdpSource, XdpAttach, XdpMode};
use dataplane::source::file::{FileOptions, FileSource};
use dataplane::source::tpacket::{
    interface_linktype, Fanout, FanoutMode, TpacketConfig, TpacketSource,
};
use dataplane::source::Source;

use super::definition::{Definition, Kind};
use crate::privilege::{self, Access, Caps};

/// Ring settings from the command line and config file; a definition's options override
/// `workers`, `cores`, `fanout`, `link_type`, `pace` and `repeat`.
#[derive(Clone, Debug)]
pub struct RingDefaults {
    pub workers: Option<usize>,
    pub cores: Option<Vec<usize>>,
    /// `auto`, `radiotap`, `ieee80211` or `ppi`.
    pub link_type: String,
    /// `transmitter`, `lb` or `cpu`.
    pub fanout: String,
    pub pace: bool,
    pub repeat: bool,
    pub block_kib: usize,
    pub blocks: usize,
    pub block_timeout_ms: u64,
    pub xdp_mode: String,
    pub xdp_attach: String,
    /// AF_XDP: how long frames gather after a batch that nearly drained the ring.
    pub xdp_coalesce_us: u64,
    /// The kernel filter, attached to every TPACKET_V3 socket and AF_XDP interface opened
    /// (`--kernel-filter on`, when it loaded).
    pub kernel_filter: Option<Arc<KernelMirror>>,
}

impl Default for RingDefaults {
    fn default() -> Self {
        RingDefaults {
            workers: None,
            cores: None,
            link_type: "auto".into(),
            fanout: "transmitter".into(),
            pace: false,
            repeat: false,
            block_kib: 1024,
            blocks: 64,
            block_timeout_ms: 2,
            xdp_mode: "auto".into(),
            xdp_attach: "auto".into(),
            xdp_coalesce_us: 1000,
            kernel_filter: None,
        }
    }
}

/// Why a source could not be opened.
#[derive(Debug)]
pub enum OpenError {
    /// The definition asks for something impossible (bad option combination, queue out of
    /// range): retrying cannot help.
    Invalid(String),
    /// The interface or file is not there (yet): worth retrying.
    Missing(String),
    /// Anything else the kernel refused.
    Failed(String),
    /// This process lacks a capability the source needs (the message names it and the fix):
    /// retrying cannot help.
    Privilege(String),
}

impl std::fmt::Display for OpenError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            OpenError::Invalid(m)
            | OpenError::Missing(m)
            | OpenError::Failed(m)
            | OpenError::Privilege(m) => f.write_str(m),
        }
    }
}

fn classify(e: std::io::Error, what: &str) -> OpenError {
    let msg = format!("{what}: {e}");
    match e.raw_os_error() {
        Some(libc::ENODEV) | Some(libc::ENOENT) | Some(libc::ENXIO) => OpenError::Missing(msg),
        _ if e.kind() == std::io::ErrorKind::NotFound => OpenError::Missing(msg),
        _ if e.kind() == std::io::ErrorKind::InvalidInput => OpenError::Invalid(msg),
        _ => OpenError::Failed(msg),
    }
}

/// The rings of an opened source and the link type they deliver.
pub struct Opened {
    pub rings: Vec<Box<dyn Source>>,
    pub linktype: u32,
    /// Messages for the operator (AF_XDP fallbacks, leftover programs removed).
    pub notices: Vec<String>,
}

fn dlt(link_type: &str) -> Option<u32> {
    match link_type {
        "radiotap" => Some(127),
        "ieee80211" => Some(105),
        "ppi" => Some(192),
        _ => None,
    }
}

/// How many rings (workers) the definition asks for.
pub fn ring_count(def: &Definition, d: &RingDefaults) -> usize {
    let o = &def.options;
    o.cores
        .as_ref()
        .map(Vec::len)
        .or(o.workers)
        .or(d.cores.as_ref().map(Vec::len))
        .or(d.workers)
        .unwrap_or(1)
        .max(1)
}

/// The capabilities `def` needs with `n` rings, checked against this process's before
/// anything is opened.
fn check_privileges(def: &Definition, n: usize) -> Result<(), OpenError> {
    let o = &def.options;
    let (access, kind) = match def.kind.as_ref().unwrap_or(&Kind::Tpacket) {
        Kind::Pcap => return Ok(()),
        Kind::Tpacket => (Access::Tpacket, "tpacket"),
        Kind::Afxdp { .. } => (Access::AfXdp { sockets: n }, "afxdp"),
    };
    let tunes = o.channel.is_some() || (o.hop != Some(false) && o.channels.is_some());
    let needs = privilege::needs(access, tunes, privilege::memlock_limit());
    let subject = format!("source {kind}:{}", def.interface);
    match privilege::check(&subject, &needs, Caps::current()) {
        Some(m) => Err(OpenError::Privilege(m)),
        None => Ok(()),
    }
}

/// Opens the rings of `def`. `fanout_group` must be unique among this process's sources.
pub fn open(def: &Definition, d: &RingDefaults, fanout_group: u16) -> Result<Opened, OpenError> {
    let o = &def.options;
    let n = ring_count(def, d);
    check_privileges(def, n)?;
    let link_type = o.link_type.clone().unwrap_or_else(|| d.link_type.clone());
    let iface = def.interface.as_str();
    match def.kind.as_ref().unwrap_or(&Kind::Tpacket) {
        Kind::Pcap => {
            if n > 1 {
                return Err(OpenError::Invalid(
                    "a file source has one worker; drop workers/cores or give one core".into(),
                ));
            }
            let opts = FileOptions {
                pace: o.realtime.unwrap_or(d.pace),
                repeat: o.repeat.unwrap_or(d.repeat),
            };
            let path = PathBuf::from(iface);
            let src = FileSource::open(&path, opts).map_err(|e| {
                OpenError::Invalid(format!("cannot read capture {}: {e}", path.display()))
            })?;
            let linktype = dataplane::capfile::CaptureFile::open(&path)
                .ok()
                .and_then(|c| c.interfaces().first().map(|i| i.linktype))
                .unwrap_or(127);
            Ok(Opened {
                rings: vec![Box::new(src)],
                linktype,
                notices: Vec::new(),
            })
        }
        Kind::Tpacket => {
            let mut cfg = TpacketConfig::new(iface);
            cfg.block_size = d.block_kib * 1024;
            cfg.block_count = d.blocks;
            cfg.block_timeout = Duration::from_millis(d.block_timeout_ms);
            cfg.linktype = dlt(&link_type);
            cfg.kernel_filter = d.kernel_filter.as_ref().map(|k| Arc::clone(k.programs()));
            if n > 1 {
                let fanout = o.fanout.as_deref().unwrap_or(&d.fanout);
                cfg.fanout = Some(Fanout {
                    group: fanout_group,
                    mode: match fanout {
                        "lb" => FanoutMode::LoadBalance,
                        "cpu" => FanoutMode::Cpu,
                        _ => FanoutMode::Transmitter,
                    },
                });
            }
            let mut rings: Vec<Box<dyn Source>> = Vec::new();
            let mut linktype = 0;
            let mut notices = Vec::new();
            for _ in 0..n {
                let s = TpacketSource::open(&cfg).map_err(|e| {
                    classify(e, &format!("cannot open a TPACKET_V3 ring on {iface}"))
                })?;
                linktype = s.linktype();
                // One notice per source, not per ring: every ring has the same reason.
                if notices.is_empty() {
                    notices.extend(s.notices().iter().cloned());
                }
                rings.push(Box::new(s));
            }
            Ok(Opened {
                rings,
                linktype,
                notices,
            })
        }
        Kind::Afxdp { queue } => {
            let first = queue.unwrap_or(0);
            let linktype = match dlt(&link_type) {
                Some(l) => l,
                None => interface_linktype(iface)
                    .map_err(|e| classify(e, &format!("interface {iface}")))?
                    .ok_or_else(|| {
                        OpenError::Invalid(format!(
                            "interface {iface} is not an 802.11 monitor interface; if it carries \
                             radiotap frames (a lab veth), use link_type radiotap"
                        ))
                    })?,
            };
            let mode = match d.xdp_mode.as_str() {
                "copy" => XdpMode::Copy,
                "zerocopy" | "zero-copy" => XdpMode::ZeroCopy,
                _ => XdpMode::Auto,
            };
            let attach = match d.xdp_attach.as_str() {
                "native" => XdpAttach::Native,
                "generic" => XdpAttach::Generic,
                _ => XdpAttach::Auto,
            };
            // One socket per queue: check the device has them all before attaching anything.
            let queues = dataplane::source::afxdp::rx_queue_count(iface)
                .map_err(|e| classify(e, &format!("interface {iface}")))?;
            if let Some(q) = queues.filter(|&q| first + n as u32 > q) {
                return Err(OpenError::Invalid(dataplane::source::afxdp::missing_queue(
                    iface, first, n as u32, q,
                )));
            }
            let mut rings: Vec<Box<dyn Source>> = Vec::new();
            let mut notices = Vec::new();
            for q in 0..n as u32 {
                let mut cfg = AfXdpConfig::new(iface);
                cfg.queue = first + q;
                cfg.linktype = linktype;
                cfg.mode = mode;
                cfg.attach = attach;
                cfg.coalesce = Duration::from_micros(d.xdp_coalesce_us);
                cfg.kernel_filter = d.kernel_filter.as_ref().map(|k| Arc::clone(k.programs()));
                cfg.select = o.select.clone().unwrap_or_default();
                let s = AfXdpSource::open(&cfg).map_err(|e| {
                    classify(
                        e,
                        &format!(
                            "cannot open an AF_XDP socket on {iface} queue {}",
                            cfg.queue
                        ),
                    )
                })?;
                notices.extend(s.notices().iter().map(|n| format!("{}: {n}", s.describe())));
                rings.push(Box::new(s));
            }
            Ok(Opened {
                rings,
                linktype,
                notices,
            })
        }
    }
}
