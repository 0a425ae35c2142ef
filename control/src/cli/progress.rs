//! A one-line progress display on standard error, only when it is a terminal.

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

/// Files smaller than this finish before a progress line would be worth drawing.
const MIN_BYTES: usize = 64 << 20;
const EVERY: Duration = Duration::from_millis(200);

pub struct Progress {
    total: usize,
    enabled: bool,
    last: Instant,
    drawn: bool,
}

impl Progress {
    pub fn new(total_bytes: usize) -> Progress {
        Progress {
            total: total_bytes.max(1),
            enabled: total_bytes >= MIN_BYTES && std::io::stderr().is_terminal(),
            last: Instant::now(),
            drawn: false,
        }
    }

    /// Redraws at most every 200 ms; callers call it every few thousand frames.
    pub fn update(&mut self, bytes_done: usize, frames: u64) {
        if !self.enabled || self.last.elapsed() < EVERY {
            return;
        }
        self.last = Instant::now();
        let pct = bytes_done as f64 * 100.0 / self.total as f64;
        let width = 30;
        let filled = ((pct / 100.0) * width as f64) as usize;
        let bar: String = (0..width)
            .map(|i| if i < filled { '#' } else { '.' })
            .collect();
        let mut err = std::io::stderr().lock();
        let _ = write!(err, "\r[{bar}] {pct:5.1}% {frames} frames");
        let _ = err.flush();
        self.drawn = true;
    }

    pub fn finish(&mut self) {
        if self.drawn {
            let _ = write!(std::io::stderr().lock(), "\r\x1b[2K");
        }
    }
}
