//! Channel hopping plans with Kismet's semantics, so several radios hopping one list behave as
//! they would under Kismet.
//!
//! - Split (`split_source_hopping`, on by default): sources of one type hopping the same set
//!   of channels start at different places in the list, source `i` of `n` at
//!   `(len / n) * i` (integer division first, as Kismet computes it; with more sources than
//!   channels every offset is 0).
//! - Shuffle (`randomized_hopping`, on by default): not random but a stride walk with
//!   `hop_shuffle_skip` (4 for Linux Wi-Fi, so consecutive hops on 2.4 GHz land on channels
//!   that do not overlap). From the offset the walk takes every `skip`-th channel to the end
//!   of the list; each time it runs off the end it restarts at the next of
//!   `1, 2, ... skip-1, 0, 1, ...`, so every `skip` passes visit every channel once. A skip of 0
//!   or of at least the list's length walks the list in order.
//! - Without shuffle each source walks the list in order from its offset, round and round.
//! - Dwell: one hop every `1 / rate` seconds, never shorter than 50 ms (Kismet's floor).

use std::fmt;
use std::time::Duration;

use super::Channel;

/// Kismet's `hop_shuffle_skip` for Linux Wi-Fi sources.
pub const DEFAULT_SHUFFLE_SKIP: usize = 4;

/// Kismet's shortest dwell: faster rates are slowed to this.
pub const MIN_DWELL: Duration = Duration::from_millis(50);

/// How a group of sources hops.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HopOptions {
    /// Hops per second, finite and > 0.
    pub rate: f64,
    /// Walk the list with a stride of `shuffle_skip` instead of in order.
    pub shuffle: bool,
    pub shuffle_skip: usize,
    /// Give each source its own starting offset.
    pub split: bool,
}

impl HopOptions {
    /// Kismet's defaults at `rate` hops per second: split and shuffled with a skip of 4.
    pub fn kismet(rate: f64) -> HopOptions {
        HopOptions {
            rate,
            shuffle: true,
            shuffle_skip: DEFAULT_SHUFFLE_SKIP,
            split: true,
        }
    }
}

/// Why no plan could be made.
#[derive(Debug, Clone, PartialEq)]
pub enum HopError {
    NoChannels,
    NoSources,
    /// Not finite, or not above 0.
    BadRate(f64),
    /// A rate whose dwell does not fit in a `Duration`.
    RateTooLow(f64),
    /// `parse_rate` text that is not `N/sec`, `N/min` or `N/dwell`.
    BadRateText(String),
}

impl fmt::Display for HopError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HopError::NoChannels => write!(f, "the channel list is empty"),
            HopError::NoSources => write!(f, "there are no sources to hop"),
            HopError::BadRate(r) => write!(f, "hop rate {r} is not a number above 0"),
            HopError::RateTooLow(r) => write!(f, "hop rate {r} is too low"),
            HopError::BadRateText(t) => write!(
                f,
                "hop rate {t:?}: expected N/sec, N/min or N/dwell with N a number above 0"
            ),
        }
    }
}

impl std::error::Error for HopError {}

/// Kismet's `channel_hoprate` text: `N/sec` (hops a second), `N/min` (hops a minute) or
/// `N/dwell` (seconds on each channel), as hops per second.
pub fn parse_rate(text: &str) -> Result<f64, HopError> {
    let bad = || HopError::BadRateText(text.chars().take(40).collect());
    let (n, unit) = text.trim().split_once('/').ok_or_else(bad)?;
    let n: f64 = n.trim().parse().map_err(|_| bad())?;
    if !n.is_finite() || n <= 0.0 {
        return Err(bad());
    }
    let rate = match unit.trim() {
        "sec" => n,
        "min" => n / 60.0,
        "dwell" => 1.0 / n,
        _ => return Err(bad()),
    };
    if rate.is_finite() && rate > 0.0 {
        Ok(rate)
    } else {
        Err(bad())
    }
}

/// Kismet's test for sources that share hopping: the same number of channels, and every
/// channel of `a` in `b` (order does not matter).
pub fn same_hop_list(a: &[Channel], b: &[Channel]) -> bool {
    a.len() == b.len() && a.iter().all(|c| b.contains(c))
}

/// The hopping of a group of sources that share one channel list.
#[derive(Debug, Clone, PartialEq)]
pub struct HopPlan {
    /// Time on each channel.
    pub dwell: Duration,
    /// One per source, in the order the sources were given.
    pub sources: Vec<SourceHop>,
}

/// One source's walk through the shared list.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceHop {
    /// Index of the first channel.
    pub offset: usize,
    /// Distance between consecutive hops within a pass (1 without shuffle).
    pub stride: usize,
    channels: Vec<Channel>,
}

impl SourceHop {
    /// The channel list the source walks.
    pub fn channels(&self) -> &[Channel] {
        &self.channels
    }

    /// The endless sequence of channels, the first one first.
    pub fn hops(&self) -> Hops<'_> {
        Hops {
            channels: &self.channels,
            pos: self.offset,
            stride: self.stride,
            restarts: 0,
        }
    }

    /// The first `n` list indices the source tunes to (for inspection and tests).
    pub fn positions(&self, n: usize) -> Vec<usize> {
        let mut h = self.hops();
        (0..n).map(|_| h.next_index()).collect()
    }
}

/// Iterator over a source's hops; never ends.
#[derive(Debug, Clone)]
pub struct Hops<'a> {
    channels: &'a [Channel],
    pos: usize,
    stride: usize,
    restarts: usize,
}

impl Hops<'_> {
    /// The index of the next hop, advancing the walk. `plan` guarantees a non-empty list, an
    /// offset inside it and `1 <= stride < len` (or `stride == 1`), so `pos` stays in range.
    fn next_index(&mut self) -> usize {
        let len = self.channels.len().max(1);
        let here = self.pos % len;
        self.pos = here + self.stride;
        if self.pos >= len {
            self.restarts = self.restarts.wrapping_add(1);
            self.pos = self.restarts % self.stride.max(1) % len;
        }
        here
    }
}

impl Iterator for Hops<'_> {
    type Item = Channel;

    fn next(&mut self) -> Option<Channel> {
        let i = self.next_index();
        self.channels.get(i).copied()
    }
}

/// Plans `sources` radios hopping `channels` together.
pub fn plan(channels: &[Channel], sources: usize, opts: &HopOptions) -> Result<HopPlan, HopError> {
    if channels.is_empty() {
        return Err(HopError::NoChannels);
    }
    if sources == 0 {
        return Err(HopError::NoSources);
    }
    let dwell = dwell(opts.rate)?;
    let len = channels.len();
    let stride = if opts.shuffle && opts.shuffle_skip > 0 && opts.shuffle_skip < len {
        opts.shuffle_skip
    } else {
        1
    };
    let step = if opts.split { len / sources } else { 0 };
    let sources = (0..sources)
        .map(|i| SourceHop {
            offset: step.saturating_mul(i) % len,
            stride,
            channels: channels.to_vec(),
        })
        .collect();
    Ok(HopPlan { dwell, sources })
}

/// Kismet's dwell for a rate: `1e6 / rate` whole microseconds, at least `MIN_DWELL`.
fn dwell(rate: f64) -> Result<Duration, HopError> {
    if !rate.is_finite() || rate <= 0.0 {
        return Err(HopError::BadRate(rate));
    }
    let micros = (1e6 / rate).floor();
    if micros >= u64::MAX as f64 {
        return Err(HopError::RateTooLow(rate));
    }
    Ok(Duration::from_micros(micros as u64).max(MIN_DWELL))
}

#[cfg(test)]
mod tests;
