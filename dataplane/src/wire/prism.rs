//! Prism monitor headers (link type 119), written by old wlan-ng, HostAP and madwifi
//! drivers; the AVS header shares the link type and is recognised by its magic.
//!
//! A Prism header is a message code, a length, a device name and ten fixed items (host
//! time, MAC time, channel, RSSI, SQ, signal, noise, rate, is-TX, frame length), each
//! `did, status, len, data`, in the capturing host's byte order. Like Wireshark, airsift
//! reports the RSSI item as the signal in dBm; neither header carries an FCS flag.

use super::radio::RadioInfo;
use super::{Layer, WireError};

const PRISM_LEN: usize = 144;
const ITEMS_AT: usize = 24;
const ITEM_LEN: usize = 12;
const ITEM_RSSI: usize = 3;
const ITEM_RATE: usize = 7;
const AVS_MAGIC: u32 = 0x8021_1001;
const AVS_MIN_LEN: usize = 64;
/// AVS `ssi_type` value meaning the signal is in dBm.
const AVS_SSI_DBM: u32 = 2;

/// A checked Prism or AVS header.
#[derive(Clone, Copy, Debug)]
pub struct Prism<'a> {
    header: &'a [u8],
    big_endian: bool,
    avs: bool,
}

impl<'a> Prism<'a> {
    /// Checks the header at the start of `record`.
    pub fn new(record: &'a [u8]) -> Result<Prism<'a>, WireError> {
        let truncated = WireError::HeaderTruncated {
            layer: Layer::Prism,
            have: record.len(),
        };
        let word = |at: usize, be: bool| -> Option<u32> {
            let b: [u8; 4] = record.get(at..at + 4)?.try_into().ok()?;
            Some(if be {
                u32::from_be_bytes(b)
            } else {
                u32::from_le_bytes(b)
            })
        };
        let (avs, big_endian, min) = if word(0, true).ok_or(truncated)? == AVS_MAGIC {
            (true, true, AVS_MIN_LEN)
        } else {
            // Host byte order: a plausible little-endian length decides.
            let le = word(4, false).ok_or(truncated)?;
            (false, !(PRISM_LEN as u32..=0xFFFF).contains(&le), PRISM_LEN)
        };
        if record.len() < min {
            return Err(truncated);
        }
        let declared = word(4, big_endian).ok_or(truncated)? as usize;
        if declared < min || declared > record.len() {
            return Err(WireError::BadHeaderLength {
                layer: Layer::Prism,
                declared,
                have: record.len(),
            });
        }
        Ok(Prism {
            header: &record[..declared],
            big_endian,
            avs,
        })
    }

    /// The header's declared length: where the 802.11 frame starts.
    pub fn len(&self) -> usize {
        self.header.len()
    }

    /// Always false: a checked header holds at least its fixed part.
    pub fn is_empty(&self) -> bool {
        false
    }

    fn u32_at(&self, at: usize) -> u32 {
        let b = [
            self.header[at],
            self.header[at + 1],
            self.header[at + 2],
            self.header[at + 3],
        ];
        if self.big_endian {
            u32::from_be_bytes(b)
        } else {
            u32::from_le_bytes(b)
        }
    }

    /// An item's value when its status says it is supplied.
    fn item(&self, n: usize) -> Option<u32> {
        let at = ITEMS_AT + n * ITEM_LEN;
        let status = self.u32_at(at + 4) & 0xFFFF;
        let status = if self.big_endian {
            self.u32_at(at + 4) >> 16
        } else {
            status
        };
        (status == 0).then(|| self.u32_at(at + 8))
    }

    /// Signal and rate as Wireshark reads them.
    pub fn radio(&self) -> RadioInfo {
        if self.avs {
            let ssi_type = self.u32_at(44);
            let rate_100kbps = self.u32_at(32);
            return RadioInfo {
                signal_dbm: (ssi_type == AVS_SSI_DBM).then(|| clamp_i8(self.u32_at(48) as i32)),
                noise_dbm: (ssi_type == AVS_SSI_DBM).then(|| clamp_i8(self.u32_at(52) as i32)),
                rate_500kbps: (rate_100kbps != 0).then(|| (rate_100kbps / 5).min(255) as u8),
                ..RadioInfo::default()
            };
        }
        RadioInfo {
            signal_dbm: self.item(ITEM_RSSI).map(|v| clamp_i8(v as i32)),
            rate_500kbps: self.item(ITEM_RATE).map(|v| v.min(255) as u8),
            ..RadioInfo::default()
        }
    }
}

fn clamp_i8(v: i32) -> i8 {
    v.clamp(i8::MIN as i32, i8::MAX as i32) as i8
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_records_are_truncated() {
        assert!(matches!(
            Prism::new(&[0x44, 0, 0, 0, 0x90, 0, 0, 0]),
            Err(WireError::HeaderTruncated { have: 8, .. })
        ));
        assert!(Prism::new(&[]).is_err());
    }

    #[test]
    fn reads_avs_headers() {
        let mut h = vec![0u8; 64];
        h[0..4].copy_from_slice(&AVS_MAGIC.to_be_bytes());
        h[4..8].copy_from_slice(&64u32.to_be_bytes());
        h[32..36].copy_from_slice(&110u32.to_be_bytes());
        h[44..48].copy_from_slice(&2u32.to_be_bytes());
        h[48..52].copy_from_slice(&(-60i32).to_be_bytes());
        h[52..56].copy_from_slice(&(-95i32).to_be_bytes());
        let p = Prism::new(&h).unwrap();
        assert_eq!(p.len(), 64);
        let r = p.radio();
        assert_eq!(
            (r.signal_dbm, r.noise_dbm, r.rate_500kbps),
            (Some(-60), Some(-95), Some(22))
        );
    }
}
