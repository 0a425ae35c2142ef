//! `airsift replay`: a capture file through the live workers' parse-and-decide code as fast as
//! it goes, passed frames written to a pcapng file with their link type and timestamps.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use dataplane::capfile::CaptureFile;
use dataplane::filter::FilterTable;
use dataplane::sink::PcapngWriter;
use dataplane::verdict::{judge_dlt, Verdict};
use dataplane::wire::LayoutMemo;
use serde::Serialize;

use super::progress::Progress;
use super::FileEnd;

/// Frames between two looks at the clock for the progress line.
const PROGRESS_EVERY: u64 = 1 << 16;
const OUT_BUFFER: usize = 1 << 20;

/// What a replay did.
#[derive(Debug, Default, Clone, Serialize)]
pub struct ReplaySummary {
    pub frames: u64,
    pub bytes: u64,
    pub passed: u64,
    pub blocked: u64,
    pub malformed: u64,
    /// Frames written to the output file (passed, plus malformed with `--pass-malformed`).
    pub written: u64,
    pub seconds: f64,
    pub frames_per_second: f64,
}

/// Options of one replay.
pub struct ReplayOptions<'a> {
    pub out: Option<&'a Path>,
    /// Write malformed frames to the output as well (they are never matched by a term).
    pub pass_malformed: bool,
}

/// The output file: one pcapng interface per input (link type, interface) pair.
struct Output {
    writer: PcapngWriter<BufWriter<File>>,
    interfaces: HashMap<(u32, u32), u32>,
}

impl Output {
    fn create(path: &Path) -> Result<Output> {
        let file = File::create(path)
            .with_context(|| format!("cannot create output file {}", path.display()))?;
        let writer = PcapngWriter::new(
            BufWriter::with_capacity(OUT_BUFFER, file),
            concat!("airsift ", env!("CARGO_PKG_VERSION")),
        )?;
        Ok(Output {
            writer,
            interfaces: HashMap::new(),
        })
    }

    fn interface(&mut self, linktype: u32, input: u32, name: &str) -> Result<u32> {
        if let Some(&id) = self.interfaces.get(&(linktype, input)) {
            return Ok(id);
        }
        let id = self.writer.add_interface(linktype, 0, Some(name))?;
        self.interfaces.insert((linktype, input), id);
        Ok(id)
    }
}

/// Replays `file` against `table`.
pub fn replay(
    file: &CaptureFile,
    input_name: &str,
    table: &FilterTable,
    opts: &ReplayOptions<'_>,
) -> Result<(ReplaySummary, FileEnd)> {
    let mut out = opts.out.map(Output::create).transpose()?;
    let mut progress = Progress::new(file.len());
    let mut s = ReplaySummary::default();
    let mut end = FileEnd::Complete;
    let started = Instant::now();
    let mut records = file.records();
    let mut memo = LayoutMemo::default();
    while let Some(record) = records.next() {
        let r = match record {
            Ok(r) => r,
            Err(e) => {
                end = FileEnd::from_error(e);
                break;
            }
        };
        s.frames += 1;
        s.bytes += r.data.len() as u64;
        let complete = r.data.len() as u64 >= r.orig_len as u64;
        let write = match judge_dlt(table, &mut memo, r.data, r.linktype, complete) {
            Verdict::Pass => {
                s.passed += 1;
                true
            }
            Verdict::Block => {
                s.blocked += 1;
                false
            }
            Verdict::Malformed(_) => {
                s.malformed += 1;
                opts.pass_malformed
            }
        };
        if write {
            if let Some(o) = out.as_mut() {
                let id = o.interface(r.linktype, r.interface, input_name)?;
                let ts = r.ts_ns.unwrap_or(0);
                o.writer.write_packet(id, ts, r.data, r.orig_len)?;
                s.written += 1;
            }
        }
        if s.frames % PROGRESS_EVERY == 0 {
            progress.update(records.bytes_consumed(), s.frames);
        }
    }
    if let Some(mut o) = out {
        o.writer.flush().context("cannot write the output file")?;
    }
    progress.finish();
    let elapsed = started.elapsed().max(Duration::from_nanos(1));
    s.seconds = elapsed.as_secs_f64();
    s.frames_per_second = s.frames as f64 / s.seconds;
    Ok((s, end))
}

/// Human-readable summary lines.
pub fn print_summary(s: &ReplaySummary, w: &mut impl Write) -> std::io::Result<()> {
    writeln!(
        w,
        "frames {}  passed {}  blocked {}  malformed {}  written {}",
        s.frames, s.passed, s.blocked, s.malformed, s.written
    )?;
    writeln!(
        w,
        "{:.3} s, {:.2} M frames/s, {:.1} MB/s",
        s.seconds,
        s.frames_per_second / 1e6,
        s.bytes as f64 / s.seconds / 1e6
    )
}
