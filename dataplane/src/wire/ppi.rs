//! PPI (Per-Packet Information, link type 192): a header of type-length fields before an
//! 802.11 frame, written by older Windows and AirPcap captures.
//!
//! Only the 802.11-Common field (type 2) carries what airsift reports; other fields are
//! skipped by their length.

use super::radio::RadioInfo;
use super::radiotap::{flags, RadioAt};
use super::{Layer, WireError};

const FIXED_LEN: usize = 8;
/// `pph_flags` bit 0: fields are padded to 32-bit boundaries.
const ALIGNED: u8 = 0x01;
/// The link type PPI must wrap for airsift: plain 802.11.
const DLT_IEEE802_11: u32 = 105;
const FIELD_80211_COMMON: u16 = 2;
const COMMON_LEN: usize = 20;
/// 802.11-Common flags.
const COMMON_FCS_PRESENT: u16 = 0x0001;
const COMMON_FCS_INVALID: u16 = 0x0004;

/// A checked PPI header wrapping 802.11.
#[derive(Clone, Copy, Debug)]
pub struct Ppi<'a> {
    header: &'a [u8],
    /// The 802.11-Common field's 20 bytes, if present.
    common: Option<&'a [u8]>,
}

impl<'a> Ppi<'a> {
    /// Checks the header at the start of `record` and finds its 802.11-Common field.
    pub fn new(record: &'a [u8]) -> Result<Ppi<'a>, WireError> {
        if record.len() < FIXED_LEN {
            return Err(WireError::HeaderTruncated {
                layer: Layer::Ppi,
                have: record.len(),
            });
        }
        if record[0] != 0 {
            return Err(WireError::BadVersion {
                layer: Layer::Ppi,
                version: record[0],
            });
        }
        let len = u16::from_le_bytes([record[2], record[3]]) as usize;
        if len < FIXED_LEN || len > record.len() {
            return Err(WireError::BadHeaderLength {
                layer: Layer::Ppi,
                declared: len,
                have: record.len(),
            });
        }
        let dlt = u32::from_le_bytes([record[4], record[5], record[6], record[7]]);
        if dlt != DLT_IEEE802_11 {
            return Err(WireError::PpiNotIeee80211 { dlt });
        }
        let header = &record[..len];
        let aligned = record[1] & ALIGNED != 0;
        let mut common = None;
        let mut at = FIXED_LEN;
        while at < len {
            let Some(h) = header.get(at..at + 4) else {
                return Err(WireError::FieldOverrun {
                    layer: Layer::Ppi,
                    offset: at,
                });
            };
            let kind = u16::from_le_bytes([h[0], h[1]]);
            let flen = u16::from_le_bytes([h[2], h[3]]) as usize;
            let Some(data) = header.get(at + 4..at + 4 + flen) else {
                return Err(WireError::FieldOverrun {
                    layer: Layer::Ppi,
                    offset: at,
                });
            };
            if kind == FIELD_80211_COMMON && flen >= COMMON_LEN && common.is_none() {
                common = Some(data);
            }
            at += 4 + flen;
            if aligned {
                at = (at + 3) & !3;
            }
        }
        Ok(Ppi { header, common })
    }

    /// The header's declared length: where the 802.11 frame starts.
    pub fn len(&self) -> usize {
        self.header.len()
    }

    /// Always false: a checked header holds at least its fixed part.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// Whether the 802.11-Common field says an FCS ends the frame.
    #[inline]
    pub fn fcs_at_end(&self) -> bool {
        self.common_flags() & COMMON_FCS_PRESENT != 0
    }

    /// Where the 802.11-Common field's signal (dBm) and frequency (MHz) lie in the header,
    /// as [`Ppi::radio`] reads them.
    pub fn radio_at(&self) -> RadioAt {
        match self.common {
            Some(c) => {
                let at = c.as_ptr() as usize - self.header.as_ptr() as usize;
                RadioAt::at(at + 18, at + 12)
            }
            None => RadioAt::NONE,
        }
    }

    /// The 802.11-Common flags say the FCS did not check.
    #[inline]
    pub fn bad_fcs(&self) -> bool {
        self.common_flags() & COMMON_FCS_INVALID != 0
    }

    fn common_flags(&self) -> u16 {
        self.common.map_or(0, |c| u16::from_le_bytes([c[8], c[9]]))
    }

    /// The radio fields of the 802.11-Common field, mapped to radiotap's meaning.
    pub fn radio(&self) -> RadioInfo {
        let Some(c) = self.common else {
            return RadioInfo::default();
        };
        let cflags = self.common_flags();
        let mut rflags = 0;
        if cflags & COMMON_FCS_PRESENT != 0 {
            rflags |= flags::FCS_AT_END;
        }
        if cflags & COMMON_FCS_INVALID != 0 {
            rflags |= flags::BAD_FCS;
        }
        let rate = u16::from_le_bytes([c[10], c[11]]);
        let freq = u16::from_le_bytes([c[12], c[13]]);
        RadioInfo {
            tsft: Some(u64::from_le_bytes(c[0..8].try_into().unwrap_or([0; 8]))),
            flags: Some(rflags),
            rate_500kbps: (rate != 0).then_some(rate.min(255) as u8),
            freq_mhz: (freq != 0).then_some(freq),
            channel_flags: Some(u16::from_le_bytes([c[14], c[15]]) as u32),
            signal_dbm: Some(c[18] as i8),
            noise_dbm: Some(c[19] as i8),
            fcs_at_end: rflags & flags::FCS_AT_END != 0,
            bad_fcs: rflags & flags::BAD_FCS != 0,
            ..RadioInfo::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(dlt: u32, fields: &[u8]) -> Vec<u8> {
        let len = (8 + fields.len()) as u16;
        let mut h = vec![0, 0];
        h.extend_from_slice(&len.to_le_bytes());
        h.extend_from_slice(&dlt.to_le_bytes());
        h.extend_from_slice(fields);
        h
    }

    #[test]
    fn reads_the_common_field() {
        let mut common = vec![2, 0, 20, 0];
        common.extend_from_slice(&[0; 8]); // TSFT
        common.extend_from_slice(&[1, 0, 4, 0]); // flags (FCS), rate 2 Mb/s
        common.extend_from_slice(&[0x85, 0x09, 0xA0, 0]); // 2437 MHz
        common.extend_from_slice(&[0, 0, 0xC8, 0xA0]); // -56 dBm, -96 dBm
        let h = header(105, &common);
        let p = Ppi::new(&h).unwrap();
        assert_eq!(p.len(), 32);
        assert!(p.fcs_at_end());
        let r = p.radio();
        assert_eq!(
            (r.freq_mhz, r.signal_dbm, r.noise_dbm),
            (Some(2437), Some(-56), Some(-96))
        );
        assert_eq!(r.rate_500kbps, Some(4));
    }

    #[test]
    fn rejects_bad_headers() {
        assert!(matches!(
            Ppi::new(&header(1, &[])),
            Err(WireError::PpiNotIeee80211 { dlt: 1 })
        ));
        assert!(matches!(
            Ppi::new(&header(105, &[2, 0, 20, 0, 1])),
            Err(WireError::FieldOverrun { offset: 8, .. })
        ));
        assert!(Ppi::new(&[0, 0, 8]).is_err());
        let mut h = header(105, &[]);
        h[2] = 9;
        assert!(matches!(
            Ppi::new(&h),
            Err(WireError::BadHeaderLength { .. })
        ));
    }
}
