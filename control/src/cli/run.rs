//! `airsift run`: capture from a monitor interface (or replay a file) with pinned workers,
//! decide every frame against the filter, write passed frames to the pcapng log, and report.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use clap::{Args, ValueEnum};
use dataplane::capture::{Capture, CaptureConfig, CaptureReport};
use dataplane::filter::{FilterHandle, FilterTable};
use dataplane::sink::log::LogConfig;
use dataplane::source::afxdp::{AfXdpConfig, AfXdpSource, XdpAttach, XdpMode};
use dataplane::source::file::{FileOptions, FileSource};
use dataplane::source::tpacket::{
    interface_linktype, Fanout, FanoutMode, TpacketConfig, TpacketSource,
};
use dataplane::source::Source;
use dataplane::worker::CounterSnapshot;
use serde::Serialize;

use crate::api::observe::{Dataplane, Sampler};
use crate::api::{AppState, ControlMetrics};
use crate::auth::Auth;
use crate::config::{FileConfig, ADMIN_PASSWORD_ENV};
use crate::filter_file;
use crate::filters::FilterRegistry;
use crate::scan::ScanService;
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

impl LinkTypeArg {
    fn dlt(self) -> Option<u32> {
        match self {
            LinkTypeArg::Auto => None,
            LinkTypeArg::Radiotap => Some(127),
            LinkTypeArg::Ieee80211 => Some(105),
            LinkTypeArg::Ppi => Some(192),
        }
    }
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
    /// What to capture: `tpacket:IFACE`, `afxdp:IFACE[:QUEUE]` or `pcap:FILE`.
    #[arg(long, value_name = "SPEC")]
    pub source: Option<String>,
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
    /// On exit, print the totals as one JSON object on standard output.
    #[arg(long)]
    pub json: bool,
}

/// `run`'s settings after flags, file and environment are merged.
#[derive(Debug, Clone)]
struct Settings {
    source: String,
    workers: Option<usize>,
    cores: Option<Vec<usize>>,
    link_type: LinkTypeArg,
    log_dir: Option<PathBuf>,
    log_max_mb: u64,
    log_rotate_secs: u64,
    filter: Option<PathBuf>,
    pace: bool,
    repeat: bool,
    fanout: FanoutArg,
    block_kib: usize,
    blocks: usize,
    block_timeout_ms: u64,
    xdp_mode: String,
    xdp_attach: String,
    pass_malformed: bool,
    listen: Option<String>,
    state_dir: PathBuf,
    tls: Option<(PathBuf, PathBuf)>,
    body_limit: usize,
    http_threads: usize,
    admin_user: String,
    admin_password: Option<String>,
    json: bool,
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
            source: a
                .source
                .or(f.source)
                .context("no source: give --source (or source in the config file)")?,
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
            admin_password: std::env::var(ADMIN_PASSWORD_ENV)
                .ok()
                .filter(|p| !p.is_empty())
                .or(f.admin_password),
            json: a.json,
        })
    }
}

/// Totals printed at exit.
#[derive(Serialize)]
struct Totals<'a> {
    #[serde(flatten)]
    counters: CounterSnapshot,
    log_frames: u64,
    log_errors: u64,
    log_files: Vec<String>,
    seconds: f64,
    errors: &'a [String],
}

/// The sources of a capture, the link types they deliver, and the capture's name.
type Sources = (Vec<Box<dyn Source>>, Vec<u32>, String);

fn sources(args: &Settings) -> Result<Sources> {
    let (kind, rest) = args.source.split_once(':').with_context(|| {
        format!(
            "--source {:?}: expected tpacket:IFACE, afxdp:IFACE[:QUEUE] or pcap:FILE",
            args.source
        )
    })?;
    let n = args
        .cores
        .as_ref()
        .map(Vec::len)
        .or(args.workers)
        .unwrap_or(1)
        .max(1);
    match kind {
        "pcap" => {
            if n > 1 {
                bail!("a file source has one worker; drop --workers/--cores or give one core");
            }
            let opts = FileOptions {
                pace: args.pace,
                repeat: args.repeat,
            };
            let path = PathBuf::from(rest);
            let src = FileSource::open(&path, opts)
                .with_context(|| format!("cannot read capture {}", path.display()))?;
            let cap = dataplane::capfile::CaptureFile::open(&path)?;
            let mut lts: Vec<u32> = cap.interfaces().iter().map(|i| i.linktype).collect();
            lts.dedup();
            Ok((vec![Box::new(src)], lts, args.source.clone()))
        }
        "tpacket" => {
            let mut cfg = TpacketConfig::new(rest);
            cfg.block_size = args.block_kib * 1024;
            cfg.block_count = args.blocks;
            cfg.block_timeout = Duration::from_millis(args.block_timeout_ms);
            cfg.linktype = args.link_type.dlt();
            if n > 1 {
                cfg.fanout = Some(Fanout {
                    group: (std::process::id() & 0xFFFF) as u16,
                    mode: match args.fanout {
                        FanoutArg::Transmitter => FanoutMode::Transmitter,
                        FanoutArg::Lb => FanoutMode::LoadBalance,
                        FanoutArg::Cpu => FanoutMode::Cpu,
                    },
                });
            }
            let mut out: Vec<Box<dyn Source>> = Vec::new();
            let mut lt = 0;
            for _ in 0..n {
                let s = TpacketSource::open(&cfg)
                    .with_context(|| format!("cannot open a TPACKET_V3 ring on {rest}"))?;
                lt = s.linktype();
                out.push(Box::new(s));
            }
            Ok((out, vec![lt], args.source.clone()))
        }
        "afxdp" => {
            // afxdp:IFACE or afxdp:IFACE:QUEUE; with several workers, queues Q..Q+N.
            let (iface, first) = match rest.rsplit_once(':') {
                Some((i, q)) if q.parse::<u32>().is_ok() => (i, q.parse::<u32>().unwrap_or(0)),
                _ => (rest, 0),
            };
            let linktype = match args.link_type.dlt() {
                Some(l) => l,
                None => interface_linktype(iface)
                    .with_context(|| format!("interface {iface}"))?
                    .with_context(|| {
                        format!("interface {iface} is not an 802.11 monitor interface; if it carries radiotap frames (a lab veth), pass --link-type radiotap")
                    })?,
            };
            let mode = match args.xdp_mode.as_str() {
                "auto" => XdpMode::Auto,
                "copy" => XdpMode::Copy,
                "zerocopy" | "zero-copy" => XdpMode::ZeroCopy,
                m => bail!("--xdp-mode {m}: expected auto, copy or zerocopy"),
            };
            let attach = match args.xdp_attach.as_str() {
                "auto" => XdpAttach::Auto,
                "native" => XdpAttach::Native,
                "generic" => XdpAttach::Generic,
                a => bail!("--xdp-attach {a}: expected auto, native or generic"),
            };
            // One socket per queue: check the device has them all before attaching anything.
            let queues = dataplane::source::afxdp::rx_queue_count(iface)
                .with_context(|| format!("interface {iface}"))?;
            if let Some(q) = queues.filter(|&q| first + n as u32 > q) {
                bail!(
                    "{}",
                    dataplane::source::afxdp::missing_queue(iface, first, n as u32, q)
                );
            }
            let mut out: Vec<Box<dyn Source>> = Vec::new();
            for q in 0..n as u32 {
                let mut cfg = AfXdpConfig::new(iface);
                cfg.queue = first + q;
                cfg.linktype = linktype;
                cfg.mode = mode;
                cfg.attach = attach;
                let s = AfXdpSource::open(&cfg).with_context(|| {
                    format!(
                        "cannot open an AF_XDP socket on {iface} queue {}",
                        cfg.queue
                    )
                })?;
                for note in s.notices() {
                    eprintln!("airsift: {}: {note}", s.describe());
                }
                out.push(Box::new(s));
            }
            Ok((out, vec![linktype], args.source.clone()))
        }
        other => bail!("--source {other}:...: unknown source kind (tpacket, afxdp or pcap)"),
    }
}

/// Runs a capture (and the REST API) until SIGINT/SIGTERM; without the API, also until a
/// finite source ends.
pub fn run(args: RunArgs) -> Result<()> {
    let st = Settings::resolve(args)?;
    let seed = st
        .filter
        .as_ref()
        .map(|p| filter_file::load_model(p))
        .transpose()?;
    let api = match &st.listen {
        Some(_) => Some(ApiParts::open(&st, seed.clone())?),
        None => None,
    };
    let filters = match &api {
        Some(p) => p.registry.capture_handle().clone(),
        None => Arc::new(FilterHandle::new(
            seed.map(|m| m.compile())
                .unwrap_or_else(FilterTable::pass_all),
        )),
    };
    let (srcs, linktypes, name) = sources(&st)?;
    let ncores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let cores: Vec<Option<usize>> = match &st.cores {
        Some(c) => c.iter().map(|&c| Some(c)).collect(),
        None => (0..srcs.len()).map(|i| Some(i % ncores)).collect(),
    };
    let log = st.log_dir.as_ref().map(|dir| LogConfig {
        dir: dir.clone(),
        prefix: "airsift".into(),
        max_bytes: st.log_max_mb << 20,
        max_age: Duration::from_secs(st.log_rotate_secs),
        source_name: name.clone(),
    });
    let worker_cores: Vec<usize> = cores.iter().flatten().copied().collect();
    let cfg = CaptureConfig {
        sources: srcs,
        cores,
        log,
        stream_linktypes: linktypes,
        name,
        pass_malformed: st.pass_malformed,
    };
    let capture = Capture::start(cfg, filters).context("cannot start the capture")?;
    let server = match api {
        Some(parts) => Some(parts.serve(&st, &capture, &worker_cores, ncores)?),
        None => None,
    };
    let stop = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(sig, stop.clone())?;
    }
    let tty = std::io::stderr().is_terminal();
    let mut last = (Instant::now(), capture.totals());
    let mut announced_end = false;
    while !stop.load(Ordering::Relaxed) {
        if capture.finished() {
            if server.is_none() {
                break;
            }
            if !announced_end {
                announced_end = true;
                if tty {
                    eprint!("\r\x1b[2K");
                }
                eprintln!(
                    "airsift: the source has ended; the API keeps serving until SIGINT/SIGTERM"
                );
            }
        }
        std::thread::sleep(Duration::from_millis(100));
        if tty && !announced_end && last.0.elapsed() >= Duration::from_secs(1) {
            let now = capture.totals();
            let secs = last.0.elapsed().as_secs_f64();
            status_line(&now, &last.1, secs, capture.filters().generation());
            last = (Instant::now(), now);
        }
    }
    if tty {
        eprint!("\r\x1b[2K");
    }
    if let Some(s) = server {
        s.stop();
    }
    let seconds = capture.started().elapsed().as_secs_f64();
    let (report, _) = capture.join();
    print_totals(&report, seconds, st.json)?;
    if !report.errors.is_empty() {
        bail!("capture ended with errors: {}", report.errors.join("; "));
    }
    Ok(())
}

/// The control plane's pieces, opened before the capture starts (the capture filter comes
/// from the store).
struct ApiParts {
    store: Arc<Store>,
    registry: FilterRegistry,
    auth: Auth,
    scan: Arc<ScanService>,
}

impl ApiParts {
    fn open(st: &Settings, seed: Option<dataplane::filter::FilterModel>) -> Result<ApiParts> {
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
            ScanService::open(store.clone())
                .map_err(|e| anyhow::anyhow!("cannot open the scan reports: {e}"))?,
        );
        Ok(ApiParts {
            store,
            registry,
            auth,
            scan,
        })
    }

    fn serve(
        self,
        st: &Settings,
        capture: &Capture,
        worker_cores: &[usize],
        ncores: usize,
    ) -> Result<Server> {
        let view = capture.view();
        let backend = st.source.split(':').next().unwrap_or("").to_string();
        let state = AppState {
            auth: self.auth,
            filters: self.registry,
            store: self.store,
            scan: self.scan,
            dataplane: Dataplane {
                sampler: Sampler::start(view.clone()),
                view,
                backend,
                source: st.source.clone(),
            },
            body_limit: st.body_limit,
            started: Instant::now(),
            metrics: ControlMetrics::default(),
        };
        let free: Vec<usize> = (0..ncores).filter(|c| !worker_cores.contains(c)).collect();
        let cfg = ServerConfig {
            listen: st.listen.clone().unwrap_or_default(),
            tls: st.tls.clone(),
            threads: st.http_threads,
            cores: free,
        };
        let server = server::start(&cfg, state)?;
        for a in &server.addrs {
            let scheme = if st.tls.is_some() { "https" } else { "http" };
            eprintln!("airsift: REST API on {scheme}://{a}/");
        }
        Ok(server)
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

fn print_totals(r: &CaptureReport, seconds: f64, json: bool) -> Result<()> {
    let mut out = std::io::stdout().lock();
    if json {
        let t = Totals {
            counters: r.totals,
            log_frames: r.sink.log_frames,
            log_errors: r.sink.log_errors,
            log_files: r
                .sink
                .files
                .iter()
                .map(|p| p.display().to_string())
                .collect(),
            seconds,
            errors: &r.errors,
        };
        serde_json::to_writer(&mut out, &t)?;
        writeln!(out)?;
    } else {
        let t = &r.totals;
        writeln!(
            out,
            "frames {}  passed {}  blocked {}  malformed {}  kernel drops {}  sink drops {}",
            t.frames, t.passed, t.blocked, t.malformed, t.kernel_drops, t.sink_drops
        )?;
        writeln!(
            out,
            "log: {} frames in {} file(s){}",
            r.sink.log_frames,
            r.sink.files.len(),
            r.sink
                .first_error
                .as_ref()
                .map(|e| format!(", {} errors (first: {e})", r.sink.log_errors))
                .unwrap_or_default()
        )?;
        for f in &r.sink.files {
            writeln!(out, "  {}", f.display())?;
        }
    }
    Ok(())
}
