//! Kismet's channel names, parsed into the frequency, width and centre that nl80211 tunes to.
//!
//! The syntax is the one Kismet's Linux Wi-Fi capture accepts, so channel lists written for
//! Kismet work unchanged: `N` (20 MHz, no HT), `NHT20`, `NHT40+`, `NHT40-`, `NVHT80`,
//! `NVHT160`, `NVHT80-C` / `NVHT160-C` (explicit centre channel or MHz), `NW5`, `NW10`, and
//! `NW6e` / `N-W6e` for 6 GHz. `N` is a channel number (1-14: 2.4 GHz, 15-196: 5 GHz) or, from
//! 1000 up, a frequency in MHz. Suffixes are case-insensitive.
//!
//! Kismet itself accepts any text and falls back to "plain channel" on anything it cannot read;
//! here every name either means one channel or is rejected with a reason, because the caller is
//! an API that answers 400 rather than a radio that silently tunes somewhere else. Widths are
//! checked against the 802.11 channel plan (HT40 pairs, 80/160 MHz blocks), not against one
//! radio's regulatory domain: the kernel still refuses channels the radio cannot use.

mod hop;
#[cfg(test)]
mod tests;

use std::fmt;
use std::str::FromStr;

pub use hop::{
    parse_rate, plan, same_hop_list, HopError, HopOptions, HopPlan, Hops, SourceHop,
    DEFAULT_SHUFFLE_SKIP, MIN_DWELL,
};

/// The frequency bands Kismet's channel names cover.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Band {
    /// 2.4 GHz, channels 1-14.
    Ghz2,
    /// 5 GHz, including the 4.9 GHz public-safety channels 182-196.
    Ghz5,
    /// 6 GHz, channels 1-233 (named `NW6e`).
    Ghz6,
}

impl Band {
    /// The band a frequency lies in, `None` outside the three.
    pub fn of_freq(mhz: u32) -> Option<Band> {
        match mhz {
            2400..=2500 => Some(Band::Ghz2),
            4900..=5924 => Some(Band::Ghz5),
            5925..=7125 => Some(Band::Ghz6),
            _ => None,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Band::Ghz2 => "2.4 GHz",
            Band::Ghz5 => "5 GHz",
            Band::Ghz6 => "6 GHz",
        }
    }
}

/// Channel width and HT/VHT mode, as Kismet's suffixes name them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Width {
    /// 20 MHz without HT (a plain `N`).
    NoHt20,
    /// `HT20`.
    Ht20,
    /// `HT40+`: the secondary 20 MHz channel is above the control channel.
    Ht40Plus,
    /// `HT40-`: the secondary 20 MHz channel is below the control channel.
    Ht40Minus,
    /// `VHT80`.
    Vht80,
    /// `VHT160`.
    Vht160,
    /// `W5`: a 5 MHz channel.
    Mhz5,
    /// `W10`: a 10 MHz channel.
    Mhz10,
}

impl Width {
    /// The occupied bandwidth in MHz.
    pub fn mhz(self) -> u32 {
        match self {
            Width::Mhz5 => 5,
            Width::Mhz10 => 10,
            Width::NoHt20 | Width::Ht20 => 20,
            Width::Ht40Plus | Width::Ht40Minus => 40,
            Width::Vht80 => 80,
            Width::Vht160 => 160,
        }
    }

    fn suffix(self) -> &'static str {
        match self {
            Width::NoHt20 => "",
            Width::Ht20 => "HT20",
            Width::Ht40Plus => "HT40+",
            Width::Ht40Minus => "HT40-",
            Width::Vht80 => "VHT80",
            Width::Vht160 => "VHT160",
            Width::Mhz5 => "W5",
            Width::Mhz10 => "W10",
        }
    }
}

/// One channel to tune to: the control (primary 20 MHz) frequency, the width, and for 40, 80
/// and 160 MHz the centre frequency of the whole channel (nl80211's `center_freq1`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Channel {
    /// Control channel frequency (nl80211's `WIPHY_FREQ`).
    pub freq_mhz: u32,
    pub width: Width,
    /// Centre of the whole 40/80/160 MHz channel; `None` for 5, 10 and 20 MHz channels, whose
    /// centre is the control frequency.
    pub center_freq1_mhz: Option<u32>,
}

/// Channel number to frequency, as the kernel's `ieee80211_channel_to_frequency` computes it,
/// for the channel numbers Kismet's names can carry. `None` for a number that names no channel
/// of that band (6 GHz: only the 20 MHz channels 1, 5, 9, ... 233, and 2).
pub fn channel_to_freq(band: Band, n: u32) -> Option<u32> {
    match band {
        Band::Ghz2 => match n {
            1..=13 => Some(2407 + 5 * n),
            14 => Some(2484),
            _ => None,
        },
        Band::Ghz5 => match n {
            182..=196 => Some(4000 + 5 * n),
            15..=181 => Some(5000 + 5 * n),
            _ => None,
        },
        Band::Ghz6 => match n {
            2 => Some(5935),
            1..=233 if n % 4 == 1 => Some(5950 + 5 * n),
            _ => None,
        },
    }
}

/// The band and channel number of a channel's centre frequency; `None` when the frequency is
/// not exactly one of the channels `channel_to_freq` knows.
pub fn freq_to_channel(mhz: u32) -> Option<(Band, u32)> {
    let (band, n) = match mhz {
        2484 => (Band::Ghz2, 14),
        2407..=2483 => (Band::Ghz2, (mhz - 2407) / 5),
        4910..=4980 => (Band::Ghz5, (mhz - 4000) / 5),
        5075..=5905 => (Band::Ghz5, (mhz - 5000) / 5),
        5935 => (Band::Ghz6, 2),
        5950..=7115 => (Band::Ghz6, (mhz - 5950) / 5),
        _ => return None,
    };
    (channel_to_freq(band, n) == Some(mhz)).then_some((band, n))
}

/// The 5 GHz 20 MHz channel runs inside which 40/80/160 MHz channels are formed, as inclusive
/// (first, last) channel numbers; the wide channels are aligned to each run's first channel.
const SEGMENTS_5GHZ: [(u32, u32); 3] = [(36, 64), (100, 144), (149, 177)];

/// The first 20 MHz channel of the `span`-MHz channel (40, 80 or 160) that contains 5 GHz
/// channel `n`; `None` when `n` is in no such channel.
fn block_start(n: u32, span: u32) -> Option<u32> {
    let per = span / 20 * 4; // channel numbers covered by the block
    SEGMENTS_5GHZ.iter().find_map(|&(lo, hi)| {
        if n < lo || n > hi || !(n - lo).is_multiple_of(4) {
            return None;
        }
        let first = lo + (n - lo) / per * per;
        (first + per - 4 <= hi).then_some(first)
    })
}

/// Centre frequency of the `span`-MHz 5 GHz channel containing channel `n`.
fn block_center(n: u32, span: u32) -> Option<u32> {
    let first = block_start(n, span)?;
    let center_chan = first + (span / 20 * 4 - 4) / 2;
    channel_to_freq(Band::Ghz5, center_chan)
}

/// Why a channel name was rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    /// Nothing but whitespace.
    Empty,
    /// No leading channel number or frequency.
    NoNumber,
    /// Text after the number that is none of the suffixes.
    UnknownSuffix,
    /// A number that is neither a channel nor a channel's frequency in MHz.
    NotAChannel,
    /// `NW6e` with `N` not a 6 GHz 20 MHz channel.
    Not6GhzChannel,
    /// A width the channel's band does not have (HT/VHT on 6 GHz, VHT on 2.4 GHz).
    WidthNotInBand(Width, Band),
    /// `HT40+`/`HT40-` without the secondary 20 MHz channel on that side.
    NoHt40Pair(Width),
    /// `VHT80`/`VHT160` on a channel in no 80/160 MHz channel of the plan.
    NoBlock(Width),
    /// An explicit VHT centre (MHz) whose channel does not include the control channel.
    CenterOutside(Width, u32),
}

/// A channel name that is not a channel: the text (shortened) and why. Its `Display` is
/// written to be returned to an API client as is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelError {
    pub text: String,
    pub reason: Reason,
}

/// Longest part of a rejected name echoed back in an error.
const ECHO_MAX: usize = 40;

impl ChannelError {
    fn new(text: &str, reason: Reason) -> ChannelError {
        let mut end = text.len().min(ECHO_MAX);
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        let mut shown = text[..end].to_string();
        if end < text.len() {
            shown.push('…');
        }
        ChannelError {
            text: shown,
            reason,
        }
    }
}

impl fmt::Display for ChannelError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "channel {:?}: ", self.text)?;
        match self.reason {
            Reason::Empty => write!(f, "empty channel name"),
            Reason::NoNumber => {
                write!(
                    f,
                    "does not start with a channel number or a frequency in MHz"
                )
            }
            Reason::UnknownSuffix => write!(
                f,
                "unknown suffix (expected none, HT20, HT40+, HT40-, VHT80, VHT160, W5, W10 \
                 or W6e)"
            ),
            Reason::NotAChannel => write!(
                f,
                "not a Wi-Fi channel (2.4 GHz 1-14, 5 GHz 15-196, 6 GHz as NW6e) nor a \
                 channel's frequency in MHz"
            ),
            Reason::Not6GhzChannel => {
                write!(f, "not a 6 GHz 20 MHz channel (1, 5, 9, ... 233, or 2)")
            }
            Reason::WidthNotInBand(w, b) => {
                write!(
                    f,
                    "{} is not available on {} channels",
                    w.suffix(),
                    b.name()
                )
            }
            Reason::NoHt40Pair(w) => write!(
                f,
                "no 20 MHz channel {} it to pair with for {}",
                if w == Width::Ht40Plus {
                    "above"
                } else {
                    "below"
                },
                w.suffix()
            ),
            Reason::NoBlock(w) => {
                write!(
                    f,
                    "not inside any {} MHz channel of the 5 GHz plan",
                    w.mhz()
                )
            }
            Reason::CenterOutside(w, c) => write!(
                f,
                "a {} MHz channel centred on {c} MHz does not have it as one of its 20 MHz \
                 channels",
                w.mhz()
            ),
        }
    }
}

impl std::error::Error for ChannelError {}

/// Splits `6HT40+` into its leading decimal number and the rest. `None` when there are no
/// leading digits or the number does not fit a `u32`.
fn split_number(s: &str) -> Option<(u32, &str)> {
    let digits = s.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 {
        return None;
    }
    let n = s[..digits].parse::<u32>().ok()?;
    Some((n, &s[digits..]))
}

impl Channel {
    /// Parses one of Kismet's channel names. Surrounding whitespace is ignored.
    pub fn parse(text: &str) -> Result<Channel, ChannelError> {
        let err = |reason| ChannelError::new(text, reason);
        let s = text.trim();
        if s.is_empty() {
            return Err(err(Reason::Empty));
        }
        let (n, suffix) = match split_number(s) {
            Some(v) => v,
            None if s.starts_with(|c: char| c.is_ascii_digit()) => {
                return Err(err(Reason::NotAChannel))
            }
            None => return Err(err(Reason::NoNumber)),
        };
        let lower = suffix.to_ascii_lowercase();

        if lower == "w6e" || lower == "-w6e" {
            let freq = channel_to_freq(Band::Ghz6, n).ok_or_else(|| err(Reason::Not6GhzChannel))?;
            return Ok(Channel {
                freq_mhz: freq,
                width: Width::NoHt20,
                center_freq1_mhz: None,
            });
        }

        let (width, explicit_center) = match lower.as_str() {
            "" => (Width::NoHt20, None),
            "ht20" => (Width::Ht20, None),
            "ht40+" => (Width::Ht40Plus, None),
            "ht40-" => (Width::Ht40Minus, None),
            "w5" => (Width::Mhz5, None),
            "w10" => (Width::Mhz10, None),
            other => {
                let (width, rest) = if let Some(rest) = other.strip_prefix("vht160") {
                    (Width::Vht160, rest)
                } else if let Some(rest) = other.strip_prefix("vht80") {
                    (Width::Vht80, rest)
                } else {
                    return Err(err(Reason::UnknownSuffix));
                };
                match rest.strip_prefix('-') {
                    None if rest.is_empty() => (width, None),
                    Some(c) => match split_number(c) {
                        Some((c, "")) => (width, Some(c)),
                        _ => return Err(err(Reason::UnknownSuffix)),
                    },
                    None => return Err(err(Reason::UnknownSuffix)),
                }
            }
        };

        let (band, chan, freq) = resolve(n).ok_or_else(|| err(Reason::NotAChannel))?;
        let center = match (width, band) {
            (_, Band::Ghz6) if width != Width::NoHt20 => {
                return Err(err(Reason::WidthNotInBand(width, band)))
            }
            (Width::NoHt20 | Width::Ht20 | Width::Mhz5 | Width::Mhz10, _) => None,
            (Width::Ht40Plus | Width::Ht40Minus, _) => {
                Some(ht40_center(band, chan, width).ok_or_else(|| err(Reason::NoHt40Pair(width)))?)
            }
            (Width::Vht80 | Width::Vht160, Band::Ghz5) => {
                let center = match explicit_center {
                    Some(c) => {
                        let c = center_freq(c).ok_or_else(|| err(Reason::NotAChannel))?;
                        if !contains(c, width.mhz(), freq) {
                            return Err(err(Reason::CenterOutside(width, c)));
                        }
                        c
                    }
                    None => block_center(chan, width.mhz())
                        .ok_or_else(|| err(Reason::NoBlock(width)))?,
                };
                Some(center)
            }
            (Width::Vht80 | Width::Vht160, _) => {
                return Err(err(Reason::WidthNotInBand(width, band)))
            }
        };
        Ok(Channel {
            freq_mhz: freq,
            width,
            center_freq1_mhz: center,
        })
    }

    /// The band of the control frequency.
    pub fn band(&self) -> Option<Band> {
        Band::of_freq(self.freq_mhz)
    }

    /// The control channel's number within its band, `None` for a frequency that is not one.
    pub fn number(&self) -> Option<u32> {
        freq_to_channel(self.freq_mhz).map(|(_, n)| n)
    }

    /// Kismet's canonical name for this channel: the channel number (or the frequency, for one
    /// that has no number Kismet's names can carry) with the width's suffix; 6 GHz as `NW6e`;
    /// the VHT centre only when it is not the plan's own (`36VHT80-58` style, as Kismet).
    pub fn to_kismet_string(&self) -> String {
        let number = freq_to_channel(self.freq_mhz);
        if let Some((Band::Ghz6, n)) = number {
            return format!("{n}W6e");
        }
        let base = number.map_or(self.freq_mhz, |(_, n)| n);
        let mut s = format!("{base}{}", self.width.suffix());
        if let (Width::Vht80 | Width::Vht160, Some(c)) = (self.width, self.center_freq1_mhz) {
            let standard = number.and_then(|(_, n)| block_center(n, self.width.mhz()));
            if standard != Some(c) {
                let shown = match freq_to_channel(c) {
                    Some((Band::Ghz5, cn)) => cn,
                    _ => c,
                };
                s.push('-');
                s.push_str(&shown.to_string());
            }
        }
        s
    }
}

impl FromStr for Channel {
    type Err = ChannelError;

    fn from_str(s: &str) -> Result<Channel, ChannelError> {
        Channel::parse(s)
    }
}

impl fmt::Display for Channel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_kismet_string())
    }
}

/// The band, channel number and frequency a name's number stands for: 1-14 are 2.4 GHz
/// channels, 15-196 are 5 GHz ones (Kismet's guess, as its names carry no band), 1000 and up is
/// a frequency in MHz, which must be exactly a channel's.
fn resolve(n: u32) -> Option<(Band, u32, u32)> {
    if n >= 1000 {
        let (band, chan) = freq_to_channel(n)?;
        return Some((band, chan, n));
    }
    let band = match n {
        1..=14 => Band::Ghz2,
        15..=196 => Band::Ghz5,
        _ => return None,
    };
    Some((band, n, channel_to_freq(band, n)?))
}

/// The explicit centre of `NVHT80-C`: a 5 GHz channel number, or from 1000 up a frequency.
fn center_freq(c: u32) -> Option<u32> {
    if c >= 1000 {
        return (Band::of_freq(c) == Some(Band::Ghz5)).then_some(c);
    }
    channel_to_freq(Band::Ghz5, c)
}

/// Whether a `span`-MHz channel centred on `center` has `control` as one of its 20 MHz channels.
fn contains(center: u32, span: u32, control: u32) -> bool {
    let Some(lowest) = center.checked_sub(span / 2 - 10) else {
        return false;
    };
    control >= lowest && control - lowest < span && (control - lowest).is_multiple_of(20)
}

/// Centre of an HT40 channel: 10 MHz above (`HT40+`) or below (`HT40-`) the control channel,
/// when the secondary channel exists. On 2.4 GHz the secondary is 4 channel numbers away and
/// must be one of 1-13; on 5 GHz the pair must be one of the plan's 40 MHz channels.
fn ht40_center(band: Band, chan: u32, width: Width) -> Option<u32> {
    let plus = width == Width::Ht40Plus;
    let freq = channel_to_freq(band, chan)?;
    let ok = match band {
        Band::Ghz2 => {
            if plus {
                (1..=9).contains(&chan)
            } else {
                (5..=13).contains(&chan)
            }
        }
        Band::Ghz5 => {
            let first = block_start(chan, 40)?;
            if plus {
                first == chan
            } else {
                first + 4 == chan
            }
        }
        Band::Ghz6 => false,
    };
    if !ok {
        return None;
    }
    Some(if plus { freq + 10 } else { freq - 10 })
}
