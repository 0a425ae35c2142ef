//! What the capture header says about the radio: signal, noise, channel, rate, FCS.
//!
//! One plain `Copy` struct for all three capture headers (radiotap, PPI, Prism), decoded on
//! demand: the per-frame path needs only the FCS flag and never builds it.

use super::ppi::Ppi;
use super::prism::Prism;
use super::radiotap::{field, flags, Fields, Radiotap};
use super::{LinkType, WireError};

/// Radio metadata of one frame; `None` where the capture header did not say.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RadioInfo {
    /// The radio's TSF timer in microseconds.
    pub tsft: Option<u64>,
    /// Radiotap Flags byte (PPI and Prism flags are mapped to the same bits).
    pub flags: Option<u8>,
    /// Legacy rate in 500 kb/s units.
    pub rate_500kbps: Option<u8>,
    pub freq_mhz: Option<u16>,
    pub channel_flags: Option<u32>,
    pub signal_dbm: Option<i8>,
    pub noise_dbm: Option<i8>,
    pub antenna: Option<u8>,
    pub mcs: Option<Mcs>,
    pub ampdu: Option<Ampdu>,
    pub vht: Option<Vht>,
    pub timestamp: Option<Timestamp>,
    /// The frame as captured ends with an FCS.
    pub fcs_at_end: bool,
    /// The capture header says the FCS did not check.
    pub bad_fcs: bool,
}

/// Radiotap MCS field: which parts are known, their flags, and the MCS index.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Mcs {
    pub known: u8,
    pub flags: u8,
    pub index: u8,
}

/// Radiotap A-MPDU status: the aggregate this subframe belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ampdu {
    pub reference: u32,
    pub flags: u16,
    pub delimiter_crc: u8,
}

/// Radiotap VHT field.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Vht {
    pub known: u16,
    pub flags: u8,
    pub bandwidth: u8,
    /// Per user: MCS in the high nibble, number of spatial streams in the low nibble.
    pub mcs_nss: [u8; 4],
    pub coding: u8,
    pub group_id: u8,
    pub partial_aid: u16,
}

/// Radiotap timestamp field (bit 22).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timestamp {
    pub timestamp: u64,
    pub accuracy: u16,
    pub unit_position: u8,
    pub flags: u8,
}

fn le16(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}

fn le32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

fn le64(b: &[u8], at: usize) -> u64 {
    (le32(b, at + 4) as u64) << 32 | le32(b, at) as u64
}

impl RadioInfo {
    /// Best-effort decode of a record's capture header: what could be read before any
    /// inconsistency (a malformed frame still shows the signal its header gave).
    pub fn parse(record: &[u8], linktype: LinkType) -> RadioInfo {
        match linktype {
            LinkType::Radiotap => Radiotap::new(record)
                .map(|rt| RadioInfo::from_radiotap(rt.fields()).0)
                .unwrap_or_default(),
            LinkType::Ppi => Ppi::new(record).map(|p| p.radio()).unwrap_or_default(),
            LinkType::Prism => Prism::new(record).map(|p| p.radio()).unwrap_or_default(),
            LinkType::Ieee80211 => RadioInfo::default(),
        }
    }

    /// Decodes the radiotap fields; the first occurrence of a field wins (later namespaces
    /// repeat signal and antenna per chain). Returns what was decoded before any error.
    pub fn from_radiotap(fields: Fields<'_>) -> (RadioInfo, Option<WireError>) {
        let mut r = RadioInfo::default();
        let mut xchannel: Option<(u16, u32)> = None;
        for f in fields {
            let f = match f {
                Ok(f) => f,
                Err(e) => return (r.finish(xchannel), Some(e)),
            };
            if f.namespace != super::radiotap::Namespace::Radiotap {
                continue;
            }
            // Every slice below has exactly the size the field table gives for its index.
            let d = f.data;
            match f.index {
                field::TSFT => {
                    r.tsft.get_or_insert(le64(d, 0));
                }
                field::FLAGS => {
                    r.flags.get_or_insert(d[0]);
                }
                field::RATE => {
                    r.rate_500kbps.get_or_insert(d[0]);
                }
                field::CHANNEL if r.freq_mhz.is_none() => {
                    r.freq_mhz = Some(le16(d, 0));
                    r.channel_flags = Some(le16(d, 2) as u32);
                }
                field::DBM_ANTSIGNAL => {
                    r.signal_dbm.get_or_insert(d[0] as i8);
                }
                field::DBM_ANTNOISE => {
                    r.noise_dbm.get_or_insert(d[0] as i8);
                }
                field::ANTENNA => {
                    r.antenna.get_or_insert(d[0]);
                }
                field::XCHANNEL => {
                    xchannel.get_or_insert((le16(d, 4), le32(d, 0)));
                }
                field::MCS => {
                    r.mcs.get_or_insert(Mcs {
                        known: d[0],
                        flags: d[1],
                        index: d[2],
                    });
                }
                field::AMPDU_STATUS => {
                    r.ampdu.get_or_insert(Ampdu {
                        reference: le32(d, 0),
                        flags: le16(d, 4),
                        delimiter_crc: d[6],
                    });
                }
                field::VHT => {
                    r.vht.get_or_insert(Vht {
                        known: le16(d, 0),
                        flags: d[2],
                        bandwidth: d[3],
                        mcs_nss: [d[4], d[5], d[6], d[7]],
                        coding: d[8],
                        group_id: d[9],
                        partial_aid: le16(d, 10),
                    });
                }
                field::TIMESTAMP => {
                    r.timestamp.get_or_insert(Timestamp {
                        timestamp: le64(d, 0),
                        accuracy: le16(d, 8),
                        unit_position: d[10],
                        flags: d[11],
                    });
                }
                _ => {}
            }
        }
        (r.finish(xchannel), None)
    }

    /// Fills derived values: XChannel stands in for a missing Channel; FCS bits from Flags.
    fn finish(mut self, xchannel: Option<(u16, u32)>) -> RadioInfo {
        if self.freq_mhz.is_none() {
            if let Some((freq, chflags)) = xchannel {
                self.freq_mhz = Some(freq);
                self.channel_flags = Some(chflags);
            }
        }
        if let Some(f) = self.flags {
            self.fcs_at_end = f & flags::FCS_AT_END != 0;
            self.bad_fcs = f & flags::BAD_FCS != 0;
        }
        self
    }
}
