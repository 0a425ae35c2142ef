//! The `airsift` command.

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use control::cli::{devices, inspect, replay, run, FileEnd};
use control::filter_file;
use dataplane::capfile::CaptureFile;
use dataplane::filter::FilterTable;

/// The allocator: jemalloc, not the C library's malloc. glibc's malloc keeps what its per-thread
/// arenas free resident, and the first free of a large block (argon2's 19 MiB working memory of
/// a password check, a 4 MiB checkpoint list) raises its mmap threshold to that size for the
/// rest of the process, so from then on such blocks come from, and stay in, the arena of
/// whichever thread allocated them: measured, 500 MiB on top of 100,000 scan devices, growing
/// by 19 MiB with each password check on another thread. jemalloc returns unused pages within
/// seconds (decay) and rounds small records to tighter size classes. SQLite keeps the C
/// library's malloc for its bounded page cache (`store::PAGE_CACHE_KIB`).
#[global_allocator]
static ALLOC: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

#[derive(Parser)]
#[command(
    name = "airsift",
    version,
    about = "Wi-Fi capture dataplane: radiotap frames, MAC filters, pcapng"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Print one JSON object per frame of a pcap or pcapng file, with its verdict.
    Inspect {
        /// The capture file (pcap or pcapng; radiotap, 802.11, PPI or Prism link type).
        file: PathBuf,
        /// A packet filter status document (as GET /filters/packet/{id}/filter.json returns).
        /// Without it every frame passes.
        #[arg(long, value_name = "FILTER.json")]
        filter: Option<PathBuf>,
    },
    /// Run a capture file through the filter as fast as possible; write the passed frames.
    Replay {
        /// The capture file (pcap or pcapng).
        file: PathBuf,
        /// A packet filter status document. Without it every frame passes.
        #[arg(long, value_name = "FILTER.json")]
        filter: Option<PathBuf>,
        /// Write passed frames here as pcapng (link type and timestamps preserved).
        #[arg(long, value_name = "OUT.pcapng")]
        out: Option<PathBuf>,
        /// Also write malformed frames (they never match a filter term).
        #[arg(long)]
        pass_malformed: bool,
        /// Print the summary as one JSON object.
        #[arg(long)]
        json: bool,
    },
    /// Print the devices a capture file shows (access points, clients, probing stations and
    /// who talks to whom) as one JSON array of Kismet device records.
    Devices {
        /// The capture file (pcap or pcapng).
        file: PathBuf,
        /// A packet filter status document: only frames it passes teach devices. Without
        /// it every frame does.
        #[arg(long, value_name = "FILTER.json")]
        filter: Option<PathBuf>,
    },
    /// Check the host and the given interfaces for what would cost a capture frames, each
    /// finding with the command that fixes it. Exit status 0 when nothing is wrong, 1 when a
    /// finding warns or fails.
    Doctor {
        #[command(flatten)]
        request: control::doctor::Request,
        /// Print the findings as one JSON object.
        #[arg(long)]
        json: bool,
    },
    /// Capture from a monitor interface or a file with pinned workers; log passed frames.
    Run(Box<run::RunArgs>),
    /// The fleet of hosts sharing filters and events over NATS JetStream (`run --nats`).
    #[command(subcommand)]
    Fleet(control::cli::fleet::FleetCommand),
}

fn table(filter: Option<&PathBuf>) -> Result<FilterTable> {
    match filter {
        Some(p) => filter_file::load_table(p),
        None => Ok(FilterTable::pass_all()),
    }
}

fn open(path: &Path) -> Result<CaptureFile> {
    CaptureFile::open(path).with_context(|| format!("cannot read capture {}", path.display()))
}

/// Reports how the file ended; a damaged file is a failure.
fn file_end(path: &Path, end: FileEnd) -> ExitCode {
    match end {
        FileEnd::Complete => ExitCode::SUCCESS,
        FileEnd::Truncated(e) => {
            eprintln!("airsift: warning: {}: {e}", path.display());
            ExitCode::SUCCESS
        }
        FileEnd::Damaged(e) => {
            eprintln!("airsift: {}: {e}", path.display());
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Command::Inspect { file, filter } => {
            let table = table(filter.as_ref())?;
            let cap = open(&file)?;
            let stdout = std::io::stdout();
            let mut out = BufWriter::new(stdout.lock());
            let (_, end) = inspect::inspect(&cap, &table, &mut out)?;
            out.flush()?;
            Ok(file_end(&file, end))
        }
        Command::Replay {
            file,
            filter,
            out,
            pass_malformed,
            json,
        } => {
            let table = table(filter.as_ref())?;
            let cap = open(&file)?;
            let name = file.display().to_string();
            let opts = replay::ReplayOptions {
                out: out.as_deref(),
                pass_malformed,
            };
            let (summary, end) = replay::replay(&cap, &name, &table, &opts)?;
            let mut stdout = std::io::stdout().lock();
            if json {
                serde_json::to_writer(&mut stdout, &summary)?;
                writeln!(stdout)?;
            } else {
                replay::print_summary(&summary, &mut stdout)?;
            }
            Ok(file_end(&file, end))
        }
        Command::Devices { file, filter } => {
            let table = table(filter.as_ref())?;
            let cap = open(&file)?;
            let name = file.display().to_string();
            let mut out = BufWriter::new(std::io::stdout().lock());
            let end = devices::devices(&cap, &name, &table, &mut out)?;
            out.flush()?;
            Ok(file_end(&file, end))
        }
        Command::Doctor { request, json } => {
            use control::doctor::{self, Level};
            let findings = doctor::examine(&request);
            let healthy = findings.iter().all(|f| f.level == Level::Ok);
            if json {
                let list: Vec<_> = findings.iter().map(|f| f.render()).collect();
                println!(
                    "{}",
                    serde_json::json!({"healthy": healthy, "findings": list})
                );
            } else {
                print!("{}", doctor::render_text(&findings));
            }
            Ok(if healthy {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
        Command::Run(args) => run::run(*args),
        Command::Fleet(cmd) => control::cli::fleet::run(cmd),
    }
}

/// Structured logs on standard error; `AIRSIFT_LOG` takes a filter such as `debug` or
/// `control=debug,info`.
fn init_logs() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("AIRSIFT_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn,control=info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr)
        .init();
}

fn main() -> ExitCode {
    init_logs();
    match run(Cli::parse()) {
        Ok(code) => code,
        // A reader that stopped early (`airsift inspect F | head`) is not an error.
        Err(e)
            if e.chain().any(|c| {
                c.downcast_ref::<std::io::Error>()
                    .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            }) =>
        {
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("airsift: {e:#}");
            ExitCode::from(2)
        }
    }
}
