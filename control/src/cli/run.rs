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
use dataplane::source::file::{FileOptions, FileSource};
use dataplane::source::tpacket::{Fanout, FanoutMode, TpacketConfig, TpacketSource};
use dataplane::source::Source;
use dataplane::worker::CounterSnapshot;
use serde::Serialize;

use crate::filter_file;

/// What the frames on the interface start with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum LinkTypeArg {
    /// From the interface's hardware type (radiotap monitor interfaces say so).
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

#[derive(Args, Debug, Clone)]
pub struct RunArgs {
    /// What to capture: `tpacket:IFACE`, `afxdp:IFACE[:QUEUE]` or `pcap:FILE`.
    #[arg(long, value_name = "SPEC")]
    pub source: String,
    /// Number of workers (one per TPACKET fanout member or AF_XDP queue), pinned to cores
    /// 0..N. A file source has one worker.
    #[arg(long, conflicts_with = "cores")]
    pub workers: Option<usize>,
    /// Cores to pin the workers to, one worker each (e.g. `0,1`).
    #[arg(long, value_delimiter = ',')]
    pub cores: Option<Vec<usize>>,
    /// Link type of the interface's frames; a veth carrying radiotap bytes needs `radiotap`.
    #[arg(long, value_enum, default_value = "auto")]
    pub link_type: LinkTypeArg,
    /// Write passed frames to rotating pcapng files in this directory.
    #[arg(long, value_name = "DIR")]
    pub log_dir: Option<PathBuf>,
    /// Start a new log file after this many MiB (0: no size limit).
    #[arg(long, default_value_t = 1024, value_name = "MIB")]
    pub log_max_mb: u64,
    /// Start a new log file after this many seconds (0: no age limit).
    #[arg(long, default_value_t = 0, value_name = "SECS")]
    pub log_rotate_secs: u64,
    /// Initial packet filter: a status document (as the REST API returns it).
    #[arg(long, value_name = "FILTER.json")]
    pub filter: Option<PathBuf>,
    /// File source: deliver frames at the pace of their timestamps.
    #[arg(long)]
    pub pace: bool,
    /// File source: start over at the end, forever.
    #[arg(long = "loop")]
    pub repeat: bool,
    /// TPACKET: how workers share the interface.
    #[arg(long, value_enum, default_value = "transmitter")]
    pub fanout: FanoutArg,
    /// TPACKET: ring block size in KiB (a multiple of the page size).
    #[arg(long, default_value_t = 1024, value_name = "KIB")]
    pub block_kib: usize,
    /// TPACKET: ring blocks per worker.
    #[arg(long, default_value_t = 64)]
    pub blocks: usize,
    /// TPACKET: how long the kernel holds a partly filled block, in ms.
    #[arg(long, default_value_t = 2, value_name = "MS")]
    pub block_timeout_ms: u64,
    /// Write malformed frames to the sinks too (they never match a filter term).
    #[arg(long)]
    pub pass_malformed: bool,
    /// On exit, print the totals as one JSON object on standard output.
    #[arg(long)]
    pub json: bool,
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

fn sources(args: &RunArgs) -> Result<(Vec<Box<dyn Source>>, Vec<u32>, String)> {
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
        other => bail!("--source {other}:...: unknown source kind (tpacket, afxdp or pcap)"),
    }
}

/// Runs a capture until the source ends or SIGINT/SIGTERM.
pub fn run(args: RunArgs) -> Result<()> {
    let table = match &args.filter {
        Some(p) => filter_file::load_table(p)?,
        None => FilterTable::pass_all(),
    };
    let filters = Arc::new(FilterHandle::new(table));
    let (srcs, linktypes, name) = sources(&args)?;
    let ncores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let cores: Vec<Option<usize>> = match &args.cores {
        Some(c) => c.iter().map(|&c| Some(c)).collect(),
        None => (0..srcs.len()).map(|i| Some(i % ncores)).collect(),
    };
    let log = args.log_dir.as_ref().map(|dir| LogConfig {
        dir: dir.clone(),
        prefix: "airsift".into(),
        max_bytes: args.log_max_mb << 20,
        max_age: Duration::from_secs(args.log_rotate_secs),
        source_name: name.clone(),
    });
    let cfg = CaptureConfig {
        sources: srcs,
        cores,
        log,
        stream_linktypes: linktypes,
        name,
        pass_malformed: args.pass_malformed,
    };
    let capture = Capture::start(cfg, filters).context("cannot start the capture")?;
    let stop = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(sig, stop.clone())?;
    }
    let tty = std::io::stderr().is_terminal();
    let mut last = (Instant::now(), capture.totals());
    while !stop.load(Ordering::Relaxed) && !capture.finished() {
        std::thread::sleep(Duration::from_millis(100));
        if tty && last.0.elapsed() >= Duration::from_secs(1) {
            let now = capture.totals();
            let secs = last.0.elapsed().as_secs_f64();
            status_line(&now, &last.1, secs, capture.filters().generation());
            last = (Instant::now(), now);
        }
    }
    if tty {
        eprint!("\r\x1b[2K");
    }
    let seconds = capture.started().elapsed().as_secs_f64();
    let (report, _) = capture.join();
    print_totals(&report, seconds, args.json)?;
    if !report.errors.is_empty() {
        bail!("capture ended with errors: {}", report.errors.join("; "));
    }
    Ok(())
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
