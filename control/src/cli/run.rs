//! `airsift run`: capture from a monitor interface (or replay a file) with pinned workers,
//! decide every frame against the filter, write passed frames to the pcapng log, and report.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock, Weak};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use clap::{Args, ValueEnum};
use dataplane::filter::{FilterHandle, FilterTable};
use dataplane::kfilter::{Capacity, KernelFilter, KernelMirror};
use dataplane::plane::Dataplane;
use dataplane::sink::thread::SinkReport;
use dataplane::track::{TableSize, TrackHub};
use dataplane::worker::CounterSnapshot;
use serde::Serialize;

use crate::api::observe::{Observed, Sampler};
use crate::api::{AppState, ControlMetrics};
use crate::auth::Auth;
use crate::config::{FileConfig, ADMIN_PASSWORD_ENV};
use crate::datasource::open::RingDefaults;
use crate::datasource::registry::{SourceError, SourceRegistry};
use crate::filter_file;
use crate::filters::FilterRegistry;
use crate::messages::{MessageBus, MSGFLAG_ERROR, MSGFLAG_INFO};
use crate::scan::{FrameFeed, ScanService};
use crate::server::{self, Server, ServerConfig};
use crate::store::Store;

/// What the frames on the interface start with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum, Default)]
pub enum LinkTypeArg {
    /// From the interface's hardware type (radiotap monitor interfaces say so).
    #[default]
    Auto,
    Radiotap,
    Ieee80211,
    Ppi,
}

/// How several TPACKET workers share one interface.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum FanoutArg {
    /// By transmitter address: one station always on one worker.
    Transmitter,
    /// Round robin.
    Lb,
    /// By receiving CPU.
    Cpu,
}

#[derive(Args, Debug, Clone, Default)]
pub struct RunArgs {
    /// A TOML file whose keys are these flags' names (flags given here override it).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// What to capture: `tpacket:IFACE`, `afxdp:IFACE[:QUEUE]`, `pcap:FILE`, or Kismet's
    /// `IFACE:opt=val,...` (API.md section 5). May be given several times; without any, the
    /// API serves and waits for `add_source` (stored sources are reopened either way).
    #[arg(long, value_name = "DEFINITION")]
    pub source: Vec<String>,
    /// Number of workers (TPACKET fanout members or AF_XDP queues), pinned to cores 0..N.
    /// A file source has one worker. [default: 1]
    #[arg(long, conflicts_with = "cores")]
    pub workers: Option<usize>,
    /// Cores to pin the workers to, one worker each (e.g. `0,1`).
    #[arg(long, value_delimiter = ',')]
    pub cores: Option<Vec<usize>>,
    /// Link type of the interface's frames; a veth carrying radiotap bytes needs `radiotap`.
    /// [default: auto]
    #[arg(long, value_enum)]
    pub link_type: Option<LinkTypeArg>,
    /// Write passed frames to rotating pcapng files in this directory.
    #[arg(long, value_name = "DIR")]
    pub log_dir: Option<PathBuf>,
    /// Start a new log file after this many MiB (0: no size limit). [default: 1024]
    #[arg(long, value_name = "MIB")]
    pub log_max_mb: Option<u64>,
    /// Start a new log file after this many seconds (0: no age limit). [default: 0]
    #[arg(long, value_name = "SECS")]
    pub log_rotate_secs: Option<u64>,
    /// Packet filter status document to start the `capture` filter from, when the state
    /// directory holds none yet (a stored filter wins: a restart keeps every change).
    #[arg(long, value_name = "FILTER.json")]
    pub filter: Option<PathBuf>,
    /// File source: deliver frames at the pace of their timestamps.
    #[arg(long)]
    pub pace: bool,
    /// File source: start over at the end, forever.
    #[arg(long = "loop")]
    pub repeat: bool,
    /// TPACKET: how workers share the interface. [default: transmitter]
    #[arg(long, value_enum)]
    pub fanout: Option<FanoutArg>,
    /// TPACKET: ring block size in KiB (a multiple of the page size). [default: 1024]
    #[arg(long, value_name = "KIB")]
    pub block_kib: Option<usize>,
    /// TPACKET: ring blocks per worker. [default: 64]
    #[arg(long)]
    pub blocks: Option<usize>,
    /// TPACKET: how long the kernel holds a partly filled block, in ms. [default: 2]
    #[arg(long, value_name = "MS")]
    pub block_timeout_ms: Option<u64>,
    /// AF_XDP: copy, zero-copy, or auto (zero-copy when the driver can). [default: auto]
    #[arg(long, value_name = "MODE")]
    pub xdp_mode: Option<String>,
    /// AF_XDP: native, generic, or auto (native when the driver can). [default: auto]
    #[arg(long, value_name = "ATTACH")]
    pub xdp_attach: Option<String>,
    /// AF_XDP: after a batch that left the ring nearly empty, let frames gather this long
    /// before the next look (like TPACKET_V3's block timeout); 0 looks again at once.
    /// [default: 1000]
    #[arg(long, value_name = "US")]
    pub xdp_coalesce_us: Option<u64>,
    /// Judge frames in the kernel too (BPF socket filter on TPACKET_V3, XDP program on
    /// AF_XDP), so blocked frames are dropped before they are copied: on or off. Where the
    /// programs cannot load, capture goes on with user-space filtering and says why. Off by
    /// default until the program costs less than the copy it saves (BENCHMARKS.md).
    /// [default: off]
    #[arg(long, value_name = "on|off")]
    pub kernel_filter: Option<String>,
    /// Exact terms the kernel filter's map holds (masked maps hold a sixteenth, at least
    /// 4,096); raised at start to twice what the stored filter needs. Maps cannot grow while
    /// running: past this the kernel filter passes everything up and says so.
    /// [default: 65536]
    #[arg(long, value_name = "N")]
    pub kernel_filter_capacity: Option<u32>,
    /// Write malformed frames to the sinks too (they never match a filter term).
    #[arg(long)]
    pub pass_malformed: bool,
    /// REST API address. [default: 127.0.0.1:2501]
    #[arg(long, value_name = "ADDR:PORT")]
    pub listen: Option<String>,
    /// Run without the REST API (no state directory is used).
    #[arg(long)]
    pub no_api: bool,
    /// Directory for the database (filters, API keys) and a generated admin password.
    /// [default: /var/lib/airsift, or ./airsift-state when not root]
    #[arg(long, value_name = "DIR")]
    pub state_dir: Option<PathBuf>,
    /// Serve HTTPS with this PEM certificate chain (needs --tls-key).
    #[arg(long, value_name = "PEM", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// The PEM private key of --tls-cert.
    #[arg(long, value_name = "PEM", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Largest request body accepted, in MiB; larger ones get 413. [default: 8]
    #[arg(long, value_name = "MIB")]
    pub body_limit_mb: Option<u64>,
    /// HTTP worker threads, kept off the dataplane's cores when possible. [default: 1]
    #[arg(long)]
    pub http_threads: Option<usize>,
    /// Admin user name for Basic login. [default: admin]
    #[arg(long)]
    pub admin_user: Option<String>,
    /// A file holding the admin password (its first line), such as the one the Debian package
    /// generates; `admin_password` in the config file and AIRSIFT_ADMIN_PASSWORD override it.
    #[arg(long, value_name = "FILE")]
    pub admin_password_file: Option<PathBuf>,
    /// gpsd to take the host's position from (`/gps/location.json`), e.g. 127.0.0.1:2947.
    #[arg(long, value_name = "HOST:PORT")]
    pub gpsd: Option<String>,
    /// Most devices kept (learned from frames and scan reports); beyond, devices seen once
    /// are evicted, least recently seen first. 0: no cap. [default: an eighth of the memory
    /// at 1 KiB per device, within 100,000 and 10,000,000]
    #[arg(long, value_name = "N")]
    pub max_devices: Option<usize>,
    /// Do not learn devices from captured frames (the device views then show scan reports
    /// only).
    #[arg(long)]
    pub no_track_devices: bool,
    /// New transmitter addresses in ten seconds that raise the NEWTXFLOOD alert; 0: never.
    /// [default: 1000]
    #[arg(long, value_name = "N")]
    pub new_tx_alert: Option<u64>,
    /// Join a fleet of hosts through these NATS servers (comma-separated URLs,
    /// nats://host:port): filters shared, events published (API.md section 7).
    #[arg(long, value_name = "URL[,URL...]", value_delimiter = ',')]
    pub nats: Vec<String>,
    #[command(flatten)]
    pub nats_auth: super::fleet::NatsAuth,
    /// This host's id in the fleet. [default: /etc/machine-id, else the host name]
    #[arg(long, value_name = "ID")]
    pub host_id: Option<String>,
    /// How scan events are encoded on the stream: `compact` (the request as journaled, which
    /// `airsift fleet tail` prints as JSON) or `json`. [default: compact]
    #[arg(long, value_name = "FORMAT")]
    pub fleet_scan_format: Option<crate::fleet::ScanFormat>,
    /// On exit, print the totals as one JSON object on standard output.
    #[arg(long)]
    pub json: bool,
}

/// `run`'s settings after flags, file and environment are merged.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    pub(crate) sources: Vec<String>,
    pub(crate) workers: Option<usize>,
    pub(crate) cores: Option<Vec<usize>>,
    pub(crate) link_type: LinkTypeArg,
    pub(crate) log_dir: Option<PathBuf>,
    pub(crate) log_max_mb: u64,
    pub(crate) log_rotate_secs: u64,
    pub(crate) filter: Option<PathBuf>,
    pub(crate) pace: bool,
    pub(crate) repeat: bool,
    pub(crate) fanout: FanoutArg,
    pub(crate) block_kib: usize,
    pub(crate) blocks: usize,
    pub(crate) block_timeout_ms: u64,
    pub(crate) xdp_mode: String,
    pub(crate) xdp_attach: String,
    pub(crate) xdp_coalesce_us: u64,
    pub(crate) kernel_filter: String,
    pub(crate) kernel_filter_capacity: u32,
    pub(crate) pass_malformed: bool,
    pub(crate) listen: Option<String>,
    pub(crate) state_dir: PathBuf,
    pub(crate) tls: Option<(PathBuf, PathBuf)>,
    pub(crate) body_limit: usize,
    pub(crate) http_threads: usize,
    pub(crate) admin_user: String,
    pub(crate) admin_password: Option<String>,
    pub(crate) gpsd: Option<String>,
    pub(crate) max_devices: usize,
    pub(crate) track_devices: bool,
    pub(crate) new_tx_alert: u64,
    pub(crate) fleet: Option<crate::fleet::FleetConfig>,
    pub(crate) json: bool,
}

fn value_enum<T: ValueEnum>(s: &str, key: &str) -> Result<T> {
    T::from_str(s, true)
        .map_err(|_| anyhow::anyhow!("config {key} = {s:?} is not one of the accepted values"))
}

impl Settings {
    fn resolve(a: RunArgs) -> Result<Settings> {
        let f = match &a.config {
            Some(p) => FileConfig::load(p)?,
            None => FileConfig::default(),
        };
        let root = nix::unistd::geteuid().is_root();
        let default_state = if root {
            PathBuf::from("/var/lib/airsift")
        } else {
            PathBuf::from("airsift-state")
        };
        let link_type = match (a.link_type, &f.link_type) {
            (Some(l), _) => l,
            (None, Some(s)) => value_enum(s, "link_type")?,
            (None, None) => LinkTypeArg::Auto,
        };
        let fanout = match (a.fanout, &f.fanout) {
            (Some(x), _) => x,
            (None, Some(s)) => value_enum(s, "fanout")?,
            (None, None) => FanoutArg::Transmitter,
        };
        let tls = match (a.tls_cert.or(f.tls_cert), a.tls_key.or(f.tls_key)) {
            (Some(c), Some(k)) => Some((c, k)),
            (None, None) => None,
            _ => bail!("TLS needs both tls_cert and tls_key"),
        };
        let no_api = a.no_api || f.no_api.unwrap_or(false);
        Ok(Settings {
            sources: if a.source.is_empty() {
                f.source.map(|s| s.into_vec()).unwrap_or_default()
            } else {
                a.source
            },
            workers: a.workers.or(f.workers),
            cores: a.cores.or(f.cores),
            link_type,
            log_dir: a.log_dir.or(f.log_dir),
            log_max_mb: a.log_max_mb.or(f.log_max_mb).unwrap_or(1024),
            log_rotate_secs: a.log_rotate_secs.or(f.log_rotate_secs).unwrap_or(0),
            filter: a.filter.or(f.filter),
            pace: a.pace || f.pace.unwrap_or(false),
            repeat: a.repeat || f.repeat.unwrap_or(false),
            fanout,
            block_kib: a.block_kib.or(f.block_kib).unwrap_or(1024),
            blocks: a.blocks.or(f.blocks).unwrap_or(64),
            block_timeout_ms: a.block_timeout_ms.or(f.block_timeout_ms).unwrap_or(2),
            xdp_mode: a.xdp_mode.or(f.xdp_mode).unwrap_or_else(|| "auto".into()),
            xdp_attach: a
                .xdp_attach
                .or(f.xdp_attach)
                .unwrap_or_else(|| "auto".into()),
            xdp_coalesce_us: a.xdp_coalesce_us.or(f.xdp_coalesce_us).unwrap_or(1000),
            kernel_filter: a
                .kernel_filter
                .or(f.kernel_filter)
                .unwrap_or_else(|| "off".into()),
            kernel_filter_capacity: a
                .kernel_filter_capacity
                .or(f.kernel_filter_capacity)
                .unwrap_or(1 << 16),
            pass_malformed: a.pass_malformed || f.pass_malformed.unwrap_or(false),
            listen: if no_api {
                None
            } else {
                Some(
                    a.listen
                        .or(f.listen)
                        .unwrap_or_else(|| "127.0.0.1:2501".into()),
                )
            },
            state_dir: a.state_dir.or(f.state_dir).unwrap_or(default_state),
            tls,
            body_limit: (a.body_limit_mb.or(f.body_limit_mb).unwrap_or(8) << 20) as usize,
            http_threads: a.http_threads.or(f.http_threads).unwrap_or(1),
            admin_user: a
                .admin_user
                .or(f.admin_user)
                .unwrap_or_else(|| "admin".into()),
            admin_password: match std::env::var(ADMIN_PASSWORD_ENV)
                .ok()
                .filter(|p| !p.is_empty())
                .or(f.admin_password)
            {
                Some(p) => Some(p),
                None => a
                    .admin_password_file
                    .or(f.admin_password_file)
                    .map(|p| read_password_file(&p))
                    .transpose()?,
            },
            gpsd: a.gpsd.or(f.gpsd),
            max_devices: a
                .max_devices
                .or(f.max_devices)
                .unwrap_or_else(crate::scan::default_max_devices),
            track_devices: !(a.no_track_devices || f.no_track_devices.unwrap_or(false)),
            new_tx_alert: a.new_tx_alert.or(f.new_tx_alert).unwrap_or(1000),
            fleet: {
                let urls = if a.nats.is_empty() {
                    f.nats.map(|n| n.into_vec()).unwrap_or_default()
                } else {
                    a.nats
                };
                let urls: Vec<String> = urls
                    .into_iter()
                    .map(|u| u.trim().to_string())
                    .filter(|u| !u.is_empty())
                    .collect();
                if urls.is_empty() {
                    None
                } else {
                    let (tls_cert, tls_key) = (
                        a.nats_auth.nats_tls_cert.or(f.nats_tls_cert),
                        a.nats_auth.nats_tls_key.or(f.nats_tls_key),
                    );
                    if tls_cert.is_some() != tls_key.is_some() {
                        bail!(
                            "a NATS client certificate needs both nats_tls_cert and nats_tls_key"
                        );
                    }
                    Some(crate::fleet::FleetConfig {
                        urls,
                        credentials: a.nats_auth.nats_credentials.or(f.nats_credentials),
                        tls_ca: a.nats_auth.nats_tls_ca.or(f.nats_tls_ca),
                        tls_cert,
                        tls_key,
                        host_id: match a.host_id.or(f.host_id) {
                            Some(h) if !h.trim().is_empty() => h.trim().to_string(),
                            Some(_) => bail!("host_id is empty"),
                            None => crate::fleet::default_host_id(),
                        },
                        scan_format: a
                            .fleet_scan_format
                            .or(f.fleet_scan_format)
                            .unwrap_or_default(),
                    })
                }
            },
            json: a.json,
        })
    }
}

/// The first line of `path`, which must not be empty.
fn read_password_file(path: &std::path::Path) -> Result<String> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the admin password file {}", path.display()))?;
    let line = text.lines().next().unwrap_or("").trim_end();
    if line.is_empty() {
        bail!("the admin password file {} is empty", path.display());
    }
    Ok(line.to_string())
}

/// Totals printed at exit.
#[derive(Serialize)]
struct Totals<'a> {
    #[serde(flatten)]
    counters: CounterSnapshot,
    /// Frames the kernel filter dropped: never in `frames`, which counts what user space saw.
    kernel_blocked: u64,
    log_frames: u64,
    log_errors: u64,
    log_files: Vec<String>,
    seconds: f64,
    errors: &'a [String],
}

impl Settings {
    fn ring_defaults(&self) -> RingDefaults {
        RingDefaults {
            workers: self.workers,
            cores: self.cores.clone(),
            link_type: format!("{:?}", self.link_type).to_ascii_lowercase(),
            fanout: format!("{:?}", self.fanout).to_ascii_lowercase(),
            pace: self.pace,
            repeat: self.repeat,
            block_kib: self.block_kib,
            blocks: self.blocks,
            block_timeout_ms: self.block_timeout_ms,
            xdp_mode: self.xdp_mode.clone(),
            xdp_attach: self.xdp_attach.clone(),
            xdp_coalesce_us: self.xdp_coalesce_us,
            kernel_filter: None,
        }
    }
}

/// Loads the kernel filter and makes it follow the capture filter; where it cannot load
/// (an old kernel, no CAP_BPF), says why and returns None: capture filters in user space.
fn load_kernel_filter(filters: &Arc<FilterHandle>, exact: u32) -> Option<Arc<KernelMirror>> {
    use crate::privilege::{Cap, Caps};
    if !Caps::current().has(Cap::Bpf) {
        eprintln!(
            "airsift: the kernel filter is off: loading it needs CAP_BPF, which this process \
             lacks (the packaged unit grants it). Frames are filtered in user space only; \
             --kernel-filter off says this is intended"
        );
        return None;
    }
    let at_least = Capacity {
        exact,
        masked: (exact / 16).max(Capacity::DEFAULT.masked),
    };
    match KernelFilter::load(Capacity::for_table(&filters.load(), at_least)) {
        Ok(k) => {
            let mirror = Arc::new(KernelMirror::new(k));
            filters.add_mirror(mirror.clone());
            Some(mirror)
        }
        Err(e) => {
            eprintln!(
                "airsift: the kernel filter is off: {e}. Frames are filtered in user space \
                 only (every frame is copied to the rings); --kernel-filter off says this is \
                 intended"
            );
            None
        }
    }
}

/// Runs the dataplane (and the REST API) until SIGINT/SIGTERM; without the API, also until
/// every finite source has ended. An error is one that kept it from starting (the caller's
/// exit status 2, which the packaged unit does not restart on: a restart cannot fix it); a
/// capture that ran and ended with errors is exit status 1.
pub fn run(args: RunArgs) -> Result<std::process::ExitCode> {
    // First of all, so a signal during start-up still ends the run cleanly.
    let stop = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(sig, stop.clone())?;
    }
    // SIGHUP (`systemctl reload airsift`) re-reads the config file; see `reload`.
    let hup = Arc::new(AtomicBool::new(false));
    signal_hook::flag::register(signal_hook::consts::SIGHUP, hup.clone())?;
    let mut st = Settings::resolve(args.clone())?;
    if !matches!(
        st.xdp_mode.as_str(),
        "auto" | "copy" | "zerocopy" | "zero-copy"
    ) {
        bail!(
            "--xdp-mode {}: expected auto, copy or zerocopy",
            st.xdp_mode
        );
    }
    if !matches!(st.xdp_attach.as_str(), "auto" | "native" | "generic") {
        bail!(
            "--xdp-attach {}: expected auto, native or generic",
            st.xdp_attach
        );
    }
    if !matches!(st.kernel_filter.as_str(), "on" | "off") {
        bail!("--kernel-filter {}: expected on or off", st.kernel_filter);
    }
    if st.listen.is_none() && st.sources.is_empty() {
        bail!("no source: give --source (or source in the config file), or run with the API");
    }
    let seed = st
        .filter
        .as_ref()
        .map(|p| filter_file::load_model(p))
        .transpose()?;
    // Devices are learned from frames when there is a store to keep them in (with the API).
    let registry_slot: Arc<OnceLock<Weak<SourceRegistry>>> = Arc::default();
    let track =
        (st.listen.is_some() && st.track_devices).then(|| TrackHub::new(TableSize::default()));
    let api = match &st.listen {
        Some(_) => {
            let slot = registry_slot.clone();
            let feed = track.clone().map(|hub| FrameFeed {
                hub,
                resolve: Box::new(move |number| {
                    let reg = slot.get()?.upgrade()?;
                    let (uuid, name) = reg.identity(number)?;
                    Some((crate::scan::kismet::parse_uuid(&uuid)?, name))
                }),
            });
            Some(ApiParts::open(&st, seed.clone(), feed)?)
        }
        None => None,
    };
    let filters = match &api {
        Some(p) => p.registry.capture_handle().clone(),
        None => Arc::new(FilterHandle::new(
            seed.map(|m| m.compile())
                .unwrap_or_else(FilterTable::pass_all),
        )),
    };
    let kernel_filter = (st.kernel_filter == "on")
        .then(|| load_kernel_filter(&filters, st.kernel_filter_capacity))
        .flatten();
    let names = dataplane::sink::SourceNames::default();
    let log = super::reload::log_config(&st, &names);
    let mut plane =
        Dataplane::start(log, filters, st.pass_malformed).context("cannot start the dataplane")?;
    if let Some(hub) = track {
        plane = plane.with_tracking(hub);
    }
    let store = api.as_ref().map(|p| p.store.clone());
    let messages = Arc::new(MessageBus::default());
    let mut ring_defaults = st.ring_defaults();
    ring_defaults.kernel_filter = kernel_filter;
    let sources = Arc::new(SourceRegistry::new(
        plane,
        store,
        ring_defaults,
        messages.clone(),
    ));
    let _ = registry_slot.set(Arc::downgrade(&sources));
    if let Some(p) = &api {
        let reg = Arc::downgrade(&sources);
        p.scan.set_capture_docs(Box::new(move |uuid| {
            reg.upgrade()?
                .record(&crate::scan::kismet::format_uuid(uuid))
        }));
    }
    for note in sources
        .restore()
        .map_err(|e| anyhow::anyhow!("cannot restore the datasources: {e}"))?
    {
        eprintln!("airsift: {note}");
    }
    for def in &st.sources {
        match sources.add(def) {
            Ok(_) => {}
            // A source stored by an earlier run with the same definition is reopened already.
            Err(SourceError::Conflict(m)) if api.is_some() && m.contains("already captured") => {
                eprintln!("airsift: --source {def}: {m}; keeping the stored source");
            }
            Err(e) => bail!("--source {def}: {e}"),
        }
    }
    // The fleet starts before the API serves: no change or report escapes it.
    let fleet = match (&api, &st.fleet) {
        (Some(p), Some(cfg)) => Some(start_fleet(cfg.clone(), p, &sources)?),
        (None, Some(_)) => bail!("--nats needs the REST API (it shares the API's filters)"),
        _ => None,
    };
    let ncores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let scan = api.as_ref().map(|p| p.scan.clone());
    let (mut server, state) = match api {
        Some(parts) => {
            let (server, state) = parts.serve(&st, &sources, &messages, ncores, fleet)?;
            (Some(server), Some(state))
        }
        None => (None, None),
    };
    let tty = std::io::stderr().is_terminal();
    let started = Instant::now();
    let total = |r: &SourceRegistry| {
        let mut t = CounterSnapshot::default();
        for (_, _, c) in r.counters() {
            t.add(&c);
        }
        t
    };
    let mut last = (Instant::now(), total(&sources));
    let mut last_tick = Instant::now();
    let mut device_watch = crate::alerts::watch::DeviceWatch::new(st.new_tx_alert);
    let mut announced_end = false;
    while !stop.load(Ordering::Relaxed) {
        if sources.all_finished() && !st.sources.is_empty() {
            if server.is_none() {
                break;
            }
            if !announced_end {
                announced_end = true;
                if tty {
                    eprint!("\r\x1b[2K");
                }
                eprintln!(
                    "airsift: the sources have ended; the API keeps serving until SIGINT/SIGTERM"
                );
            }
        }
        std::thread::sleep(Duration::from_millis(100));
        if hup.swap(false, Ordering::Relaxed) {
            if tty {
                eprint!("\r\x1b[2K");
            }
            let live = super::reload::Live {
                sources: &sources,
                server: &mut server,
                state: state.as_ref(),
                device_watch: &mut device_watch,
            };
            reload(&args, &mut st, live, &messages);
        }
        if last_tick.elapsed() >= Duration::from_secs(1) {
            last_tick = Instant::now();
            for note in sources.tick() {
                eprintln!("airsift: {note}");
            }
            if let Some(scan) = &scan {
                let secs = started.elapsed().as_secs_f64();
                device_watch.tick(secs, &scan.device_stats(), &messages);
            }
        }
        if tty && !announced_end && last.0.elapsed() >= Duration::from_secs(1) {
            let now = total(&sources);
            let secs = last.0.elapsed().as_secs_f64();
            status_line(&now, &last.1, secs, sources.plane().filters().generation());
            last = (Instant::now(), now);
        }
    }
    if tty {
        eprint!("\r\x1b[2K");
    }
    if let Some(s) = server {
        s.stop();
    }
    let seconds = started.elapsed().as_secs_f64();
    let (totals, errors) = sources.close_all();
    // The workers have handed over their last tables: keep what they taught.
    if let Some(s) = scan {
        if let Err(e) = s.checkpoint() {
            eprintln!("airsift: the device store's last checkpoint failed: {e}");
        }
    }
    let sink = sources.plane().shutdown();
    print_totals(
        &totals,
        sources.kernel_blocked(),
        &sink,
        &errors,
        seconds,
        st.json,
    )?;
    if !errors.is_empty() {
        eprintln!("airsift: capture ended with errors: {}", errors.join("; "));
        return Ok(std::process::ExitCode::from(1));
    }
    Ok(std::process::ExitCode::SUCCESS)
}

/// Joins the fleet: filters shared through NATS from now on, accepted scan reports to the
/// outbox, statistics from the sources.
fn start_fleet(
    cfg: crate::fleet::FleetConfig,
    parts: &ApiParts,
    sources: &Arc<SourceRegistry>,
) -> Result<Arc<crate::fleet::Fleet>> {
    let host = cfg.host_id.clone();
    let urls = cfg.urls.join(",");
    let reg = Arc::downgrade(sources);
    let scan = Arc::downgrade(&parts.scan);
    let outbox = parts.scan.publish_to_fleet();
    let local = crate::fleet::Local {
        registry: parts.registry.clone(),
        store: parts.store.clone(),
        outbox,
        stats: Box::new(move || {
            let Some(reg) = reg.upgrade() else {
                return serde_json::Value::Array(Vec::new());
            };
            reg.counters()
                .into_iter()
                .map(|(number, name, c)| {
                    let mut doc = serde_json::to_value(c).unwrap_or_default();
                    doc["source_number"] = number.into();
                    doc["name"] = name.into();
                    doc["uuid"] = reg.identity(number).map(|(u, _)| u).into();
                    doc
                })
                .collect()
        }),
        devices_since: Box::new(move |since, limit| {
            scan.upgrade()
                .map(|s| s.devices_since(since, limit))
                .unwrap_or_default()
        }),
    };
    let fleet = crate::fleet::Fleet::start(cfg, local)?;
    eprintln!("airsift: fleet host {host:?} on NATS {urls}");
    Ok(fleet)
}

/// Re-reads the config file and applies it (`super::reload`), telling the operator on standard
/// error and the message bus what changed, what failed and what needs a restart.
fn reload(args: &RunArgs, st: &mut Settings, live: super::reload::Live<'_>, bus: &MessageBus) {
    let tell = |error: bool, text: String| {
        eprintln!("airsift: reload: {text}");
        let flag = if error { MSGFLAG_ERROR } else { MSGFLAG_INFO };
        bus.post(flag, format!("reload: {text}"));
    };
    let Some(file) = &args.config else {
        tell(
            false,
            "started without --config: nothing to read again".into(),
        );
        return;
    };
    match Settings::resolve(args.clone()) {
        // One line (TOML's errors span several), so logs and the message bus keep it whole.
        Err(e) => {
            let why: Vec<String> = format!("{e:#}")
                .lines()
                .map(|l| l.trim().to_string())
                .filter(|l| !l.is_empty() && l != "|")
                .collect();
            tell(true, format!("{}; nothing changed", why.join(" ")))
        }
        Ok(new) => {
            tell(false, format!("reading {}", file.display()));
            for n in super::reload::apply(st, new, live) {
                tell(n.error, n.text);
            }
        }
    }
}

/// The control plane's pieces, opened before the capture starts (the capture filter comes
/// from the store).
struct ApiParts {
    store: Arc<Store>,
    registry: Arc<FilterRegistry>,
    auth: Auth,
    scan: Arc<ScanService>,
}

impl ApiParts {
    fn open(
        st: &Settings,
        seed: Option<dataplane::filter::FilterModel>,
        feed: Option<FrameFeed>,
    ) -> Result<ApiParts> {
        let store = Arc::new(Store::open(&st.state_dir).map_err(|e| anyhow::anyhow!("{e}"))?);
        let (registry, seed_ignored) =
            FilterRegistry::open(store.clone(), seed).map_err(|e| anyhow::anyhow!("{e}"))?;
        if seed_ignored {
            tracing::warn!(
                "--filter ignored: the state directory already holds the capture filter"
            );
            eprintln!(
                "airsift: --filter ignored: {} already holds the capture filter (a restart keeps every change)",
                store.path().display()
            );
        }
        let (auth, generated) = Auth::init(
            store.clone(),
            &st.state_dir,
            &st.admin_user,
            st.admin_password.as_deref(),
        )
        .map_err(|e| anyhow::anyhow!("cannot set up authentication: {e}"))?;
        if let Some(p) = generated {
            eprintln!(
                "airsift: generated a password for user {:?}; it is in {} (mode 0600)",
                st.admin_user,
                p.display()
            );
        }
        let scan = Arc::new(
            ScanService::open_capturing(store.clone(), feed, st.max_devices)
                .map_err(|e| anyhow::anyhow!("cannot open the device store: {e}"))?,
        );
        Ok(ApiParts {
            store,
            registry: Arc::new(registry),
            auth,
            scan,
        })
    }

    fn serve(
        self,
        st: &Settings,
        sources: &Arc<SourceRegistry>,
        messages: &Arc<MessageBus>,
        ncores: usize,
        fleet: Option<Arc<crate::fleet::Fleet>>,
    ) -> Result<(Server, actix_web::web::Data<AppState>)> {
        let worker_cores: Vec<usize> = sources
            .groups()
            .iter()
            .flat_map(|(_, _, g)| g.workers())
            .filter_map(|w| w.core)
            .collect();
        let state = AppState {
            auth: self.auth,
            filters: self.registry,
            store: self.store,
            scan: self.scan,
            dataplane: Observed {
                sampler: Sampler::start(sources.clone()),
                sources: sources.clone(),
            },
            messages: messages.clone(),
            gps: match &st.gpsd {
                Some(addr) => crate::gps::Gps::start(addr.clone(), messages.clone()),
                None => Arc::new(crate::gps::Gps::default()),
            },
            body_limit: st.body_limit.into(),
            started: Instant::now(),
            metrics: ControlMetrics::default(),
            fleet,
        };
        let free: Vec<usize> = (0..ncores).filter(|c| !worker_cores.contains(c)).collect();
        let cfg = ServerConfig {
            listen: st.listen.clone().unwrap_or_default(),
            tls: st.tls.clone(),
            threads: st.http_threads,
            cores: free,
        };
        let state = actix_web::web::Data::new(state);
        let server = server::start(&cfg, state.clone())?;
        for a in &server.addrs {
            let scheme = if st.tls.is_some() { "https" } else { "http" };
            eprintln!("airsift: REST API on {scheme}://{a}/");
        }
        Ok((server, state))
    }
}

fn status_line(now: &CounterSnapshot, before: &CounterSnapshot, secs: f64, generation: u64) {
    let rate = (now.frames - before.frames) as f64 / secs;
    eprint!(
        "\r\x1b[2K{:>9.0} frames/s  passed {}  blocked {}  malformed {}  drops {} kernel, {} sink  filter gen {}",
        rate, now.passed, now.blocked, now.malformed, now.kernel_drops, now.sink_drops, generation
    );
    let _ = std::io::stderr().flush();
}

fn print_totals(
    totals: &CounterSnapshot,
    kernel_blocked: u64,
    sink: &SinkReport,
    errors: &[String],
    seconds: f64,
    json: bool,
) -> Result<()> {
    let mut out = std::io::stdout().lock();
    if json {
        let t = Totals {
            counters: *totals,
            kernel_blocked,
            log_frames: sink.log_frames,
            log_errors: sink.log_errors,
            log_files: sink.files.iter().map(|p| p.display().to_string()).collect(),
            seconds,
            errors,
        };
        serde_json::to_writer(&mut out, &t)?;
        writeln!(out)?;
    } else {
        let t = totals;
        writeln!(
            out,
            "frames {}  passed {}  blocked {}  malformed {}  kernel drops {}  sink drops {}",
            t.frames, t.passed, t.blocked, t.malformed, t.kernel_drops, t.sink_drops
        )?;
        if kernel_blocked > 0 {
            writeln!(
                out,
                "blocked in the kernel (not in frames) {kernel_blocked}"
            )?;
        }
        writeln!(
            out,
            "log: {} frames in {} file(s){}",
            sink.log_frames,
            sink.files.len(),
            sink.first_error
                .as_ref()
                .map(|e| format!(", {} errors (first: {e})", sink.log_errors))
                .unwrap_or_default()
        )?;
        for f in &sink.files {
            writeln!(out, "  {}", f.display())?;
        }
    }
    Ok(())
}
