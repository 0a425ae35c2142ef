//! The pcapng log: passed frames written to files in a directory, rotated by size and by age.
//!
//! One writer, fed by the sink thread, so that a capture is one series of files rather than
//! one per worker. Each file starts with a section header; each capture source (and link type)
//! gets an interface description named after the source where its first frame in the file
//! is written; every frame keeps its own timestamp.

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, BufWriter};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use super::batch::FrameMeta;
use super::PcapngWriter;

const WRITE_BUFFER: usize = 1 << 20;

/// Where and how the log is written.
#[derive(Clone, Debug)]
pub struct LogConfig {
    pub dir: PathBuf,
    /// File names are `PREFIX-YYYYMMDDTHHMMSSZ-NNNN.pcapng`.
    pub prefix: String,
    /// Start a new file once this many bytes are written; 0 = never.
    pub max_bytes: u64,
    /// Start a new file once the current one is this old; zero = never.
    pub max_age: Duration,
    /// Interface names by source number (`tpacket:wlan0`).
    pub names: super::SourceNames,
}

/// The open file and what it needs to append to it.
struct OpenFile {
    writer: PcapngWriter<BufWriter<File>>,
    opened: Instant,
    /// Interface id per (source number, link type) in this file.
    interfaces: HashMap<(u32, u32), u32>,
}

/// A rotating pcapng log.
pub struct RotatingLog {
    cfg: LogConfig,
    open: Option<OpenFile>,
    files: Vec<PathBuf>,
    seq: u32,
    frames: u64,
}

impl RotatingLog {
    /// Checks that the directory exists or can be created; files are opened on first write.
    pub fn new(cfg: LogConfig) -> io::Result<RotatingLog> {
        std::fs::create_dir_all(&cfg.dir).map_err(|e| {
            io::Error::new(
                e.kind(),
                format!("cannot create log directory {}: {e}", cfg.dir.display()),
            )
        })?;
        Ok(RotatingLog {
            cfg,
            open: None,
            files: Vec::new(),
            seq: 0,
            frames: 0,
        })
    }

    /// Appends one frame, rotating first when the current file is full or old.
    pub fn write(&mut self, meta: &FrameMeta, data: &[u8]) -> io::Result<()> {
        if let Some(f) = &self.open {
            let full = self.cfg.max_bytes > 0 && f.writer.bytes_written() >= self.cfg.max_bytes;
            let old = !self.cfg.max_age.is_zero() && f.opened.elapsed() >= self.cfg.max_age;
            if full || old {
                self.close()?;
            }
        }
        if self.open.is_none() {
            self.open_next()?;
        }
        let Some(f) = self.open.as_mut() else {
            return Ok(());
        };
        let key = (meta.source, meta.linktype);
        let id = match f.interfaces.get(&key) {
            Some(&id) => id,
            None => {
                let name = self.cfg.names.get(meta.source);
                let id = f.writer.add_interface(meta.linktype, 0, Some(&name))?;
                f.interfaces.insert(key, id);
                id
            }
        };
        f.writer.write_packet(id, meta.ts_ns, data, meta.orig_len)?;
        self.frames += 1;
        Ok(())
    }

    /// Rotates if the current file is older than the age limit, even without traffic.
    pub fn tick(&mut self) -> io::Result<()> {
        let old = self
            .open
            .as_ref()
            .is_some_and(|f| !self.cfg.max_age.is_zero() && f.opened.elapsed() >= self.cfg.max_age);
        if old {
            self.close()?;
        }
        Ok(())
    }

    /// Flushes the buffer to the kernel (readers of the file see every frame so far).
    pub fn flush(&mut self) -> io::Result<()> {
        match self.open.as_mut() {
            Some(f) => f.writer.flush(),
            None => Ok(()),
        }
    }

    /// Flushes, syncs and closes the current file.
    pub fn close(&mut self) -> io::Result<()> {
        if let Some(mut f) = self.open.take() {
            f.writer.flush()?;
            f.writer.get_ref().get_ref().sync_all()?;
        }
        Ok(())
    }

    /// The directory it writes to.
    pub fn dir(&self) -> &Path {
        &self.cfg.dir
    }

    /// New rotation limits, for the open file too (it rotates at its next write or tick if
    /// it is already past them).
    pub fn set_limits(&mut self, max_bytes: u64, max_age: Duration) {
        self.cfg.max_bytes = max_bytes;
        self.cfg.max_age = max_age;
    }

    /// Files written so far, oldest first.
    pub fn files(&self) -> &[PathBuf] {
        &self.files
    }

    /// Frames written so far.
    pub fn frames(&self) -> u64 {
        self.frames
    }

    fn open_next(&mut self) -> io::Result<()> {
        self.seq += 1;
        let name = format!(
            "{}-{}-{:04}.pcapng",
            self.cfg.prefix,
            utc_stamp(SystemTime::now()),
            self.seq
        );
        let path = self.cfg.dir.join(name);
        let file = File::create(&path).map_err(|e| with_path(e, &path))?;
        let writer = PcapngWriter::new(
            BufWriter::with_capacity(WRITE_BUFFER, file),
            concat!("airsift ", env!("CARGO_PKG_VERSION")),
        )?;
        self.files.push(path);
        self.open = Some(OpenFile {
            writer,
            opened: Instant::now(),
            interfaces: HashMap::new(),
        });
        Ok(())
    }
}

impl Drop for RotatingLog {
    fn drop(&mut self) {
        let _ = self.close();
    }
}

fn with_path(e: io::Error, path: &Path) -> io::Error {
    io::Error::new(e.kind(), format!("{}: {e}", path.display()))
}

/// `YYYYMMDDTHHMMSSZ` for a time, in UTC.
fn utc_stamp(t: SystemTime) -> String {
    let secs = t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // Civil date from days since 1970-01-01 (H. Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}{month:02}{day:02}T{:02}{:02}{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamps_utc() {
        let t = UNIX_EPOCH + Duration::from_secs(1_763_910_061);
        assert_eq!(utc_stamp(t), "20251123T150101Z");
        assert_eq!(utc_stamp(UNIX_EPOCH), "19700101T000000Z");
        let leap = UNIX_EPOCH + Duration::from_secs(951_825_600); // 2000-02-29 12:00
        assert_eq!(utc_stamp(leap), "20000229T120000Z");
    }

    #[test]
    fn rotates_by_size() {
        let dir = std::env::temp_dir().join(format!("airsift-log-test-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let mut log = RotatingLog::new(LogConfig {
            dir: dir.clone(),
            prefix: "t".into(),
            max_bytes: 1000,
            max_age: Duration::ZERO,
            names: crate::sink::SourceNames::default(),
        })
        .unwrap();
        let data = [0u8; 100];
        let meta = FrameMeta {
            offset: 0,
            len: 100,
            orig_len: 100,
            linktype: 127,
            ts_ns: 1,
            generation: 1,
            source: 0,
        };
        for _ in 0..30 {
            log.write(&meta, &data).unwrap();
        }
        log.close().unwrap();
        assert!(log.files().len() >= 3, "{:?}", log.files());
        let mut total = 0;
        for f in log.files() {
            let cap = crate::capfile::CaptureFile::open(f).unwrap();
            total += cap.records().filter(|r| r.is_ok()).count();
        }
        assert_eq!(total, 30);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
