//! A capture file as a source: replays a pcap or pcapng file through the same worker path as
//! a live ring, as fast as possible or at the pace its timestamps give, once or in a loop.

use std::io;
use std::path::Path;
use std::time::{Duration, Instant};

use super::{KernelCounters, Poll, RxFrame, Source};
use crate::capfile::{CapError, CaptureFile, Records};

/// Records handed to the worker per batch.
const BATCH: usize = 64;

/// How a file source replays its file.
#[derive(Clone, Copy, Debug, Default)]
pub struct FileOptions {
    /// Deliver each frame when its timestamp (relative to the first) says, instead of at once.
    pub pace: bool,
    /// Start over at the end, forever.
    pub repeat: bool,
}

/// A record taken from the cursor but not delivered yet (pacing said wait), by position.
#[derive(Clone, Copy, Debug)]
struct Pending {
    offset: usize,
    len: usize,
    orig_len: u32,
    ts_ns: u64,
    linktype: u32,
}

/// A pcap or pcapng file read in place.
pub struct FileSource {
    file: CaptureFile,
    name: String,
    opts: FileOptions,
    /// The cursor between batches, detached from `file` (see [`Records::park`]); `None` once
    /// the file has ended.
    cursor: Option<Records<'static>>,
    pending: Option<Pending>,
    /// Pacing: the first frame's timestamp and when it was delivered.
    pace_origin: Option<(u64, Instant)>,
    /// Added to timestamps on each pass of a looping replay, so that they keep increasing.
    loop_offset_ns: u64,
    first_ts_ns: Option<u64>,
    last_ts_ns: u64,
    error: Option<CapError>,
}

impl FileSource {
    pub fn open(path: &Path, opts: FileOptions) -> Result<FileSource, CapError> {
        let file = CaptureFile::open(path)?;
        let cursor = Some(file.records().park());
        Ok(FileSource {
            file,
            name: format!("pcap:{}", path.display()),
            opts,
            cursor,
            pending: None,
            pace_origin: None,
            loop_offset_ns: 0,
            first_ts_ns: None,
            last_ts_ns: 0,
            error: None,
        })
    }

    /// The error that ended the file early, if any (a truncated last record, say).
    pub fn error(&self) -> Option<&CapError> {
        self.error.as_ref()
    }
}

/// How long to wait before delivering a frame stamped `ts`, when pacing from `origin`.
fn pace_delay(origin: &mut Option<(u64, Instant)>, ts: u64) -> Duration {
    let (t0, start) = *origin.get_or_insert((ts, Instant::now()));
    let due = Duration::from_nanos(ts.saturating_sub(t0));
    due.saturating_sub(start.elapsed())
}

impl Source for FileSource {
    fn next_batch(
        &mut self,
        timeout: Duration,
        each: &mut dyn FnMut(&RxFrame<'_>),
    ) -> io::Result<Poll> {
        let Some(parked) = self.cursor.take() else {
            return Ok(Poll::Ended);
        };
        let bytes = self.file.as_bytes();
        let base = bytes.as_ptr() as usize;
        let mut records = parked.rebind(&self.file);
        let started = Instant::now();
        let mut ended = false;
        let mut n = 0;
        while n < BATCH {
            let rec = match self.pending.take() {
                Some(p) => p,
                None => match records.next() {
                    Some(Ok(r)) => {
                        let ts = r.ts_ns.unwrap_or(0);
                        self.first_ts_ns.get_or_insert(ts);
                        Pending {
                            offset: r.data.as_ptr() as usize - base,
                            len: r.data.len(),
                            orig_len: r.orig_len,
                            ts_ns: ts + self.loop_offset_ns,
                            linktype: r.linktype,
                        }
                    }
                    Some(Err(e)) => {
                        self.error = Some(e);
                        ended = true;
                        break;
                    }
                    None if self.opts.repeat && self.first_ts_ns.is_some() => {
                        // Next pass: timestamps continue 1 µs after the last one.
                        let first = self.first_ts_ns.unwrap_or(0);
                        self.loop_offset_ns = (self.last_ts_ns + 1_000).saturating_sub(first);
                        records = self.file.records();
                        continue;
                    }
                    None => {
                        ended = true;
                        break;
                    }
                },
            };
            if self.opts.pace {
                let wait = pace_delay(&mut self.pace_origin, rec.ts_ns);
                if !wait.is_zero() {
                    let left = timeout.saturating_sub(started.elapsed());
                    if n > 0 || wait > left {
                        // Deliver what we have; this record waits for a later batch.
                        self.pending = Some(rec);
                        if n == 0 {
                            std::thread::sleep(left);
                        }
                        break;
                    }
                    std::thread::sleep(wait);
                }
            }
            self.last_ts_ns = rec.ts_ns;
            each(&RxFrame {
                data: &bytes[rec.offset..rec.offset + rec.len],
                orig_len: rec.orig_len,
                ts_ns: rec.ts_ns,
                linktype: rec.linktype,
            });
            n += 1;
        }
        if !ended {
            self.cursor = Some(records.park());
        }
        Ok(match n {
            0 if ended => Poll::Ended,
            0 => Poll::Idle,
            n => Poll::Frames(n),
        })
    }

    fn kernel_counters(&mut self) -> io::Result<KernelCounters> {
        Ok(KernelCounters::default())
    }

    fn describe(&self) -> String {
        self.name.clone()
    }

    fn live(&self) -> bool {
        false
    }
}
