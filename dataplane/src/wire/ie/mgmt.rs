//! A management frame body read in one pass: the subtype's fixed fields, then the elements a
//! scan needs, located as slices of the body.

use super::{id, subtype, Elements, IeError, WPA_OUI_TYPE};
use crate::wire::MacAddr;

/// Bytes of fixed fields before the elements, for the subtypes whose body is fixed fields
/// followed by elements.
const fn fixed_len(subtype: u8) -> Option<usize> {
    Some(match subtype {
        // Capability, listen interval.
        subtype::ASSOC_REQ => 4,
        // Capability, status code, association ID.
        subtype::ASSOC_RESP | subtype::REASSOC_RESP => 6,
        // Capability, listen interval, current AP address.
        subtype::REASSOC_REQ => 10,
        subtype::PROBE_REQ => 0,
        // Timestamp, beacon interval, capability.
        subtype::PROBE_RESP | subtype::BEACON => 12,
        _ => return None,
    })
}

/// Index in `Mgmt::kept` of what the walk keeps: the first SSID, the first DS Parameter Set
/// that is not empty, the first RSN element and the first WPA element (after its OUI and type).
pub(super) const SSID: usize = 0;
pub(super) const DS: usize = 1;
pub(super) const RSN: usize = 2;
pub(super) const WPA: usize = 3;

/// A checked management frame body. [`Mgmt::parse`] walks the elements once and keeps the
/// first SSID, DS Parameter Set, RSN and WPA element it meets; accessors only read what was
/// kept.
///
/// An element whose length runs past the body ends the walk, but the frame is still useful:
/// what was found before it is kept and [`Mgmt::malformed`] is true. A driver that cuts
/// records at a snapshot length produces exactly that, and so does a capture whose link type
/// hides a trailing FCS (the FCS reads as an element header with a random length).
///
/// What was kept is held as offsets into the element list, not as slices: the view is half
/// the size (it is built and moved for every management frame on the capture path), and a
/// remembered layout ([`super::ElementLayouts`]) hands its offsets over as they are.
#[derive(Clone, Copy, Debug)]
pub struct Mgmt<'a> {
    /// The fixed fields, exactly as long as the subtype's.
    fixed: &'a [u8],
    /// Everything after the fixed fields.
    elements: &'a [u8],
    /// Start and end offsets in `elements` of each kept element's data ([`SSID`], [`DS`],
    /// [`RSN`], [`WPA`]), valid where bit k of `kept_some` is set.
    kept: [[u32; 2]; 4],
    /// Offset in `elements` where the walk stopped: `elements.len()` unless malformed.
    stop: u32,
    kept_some: u8,
    subtype: u8,
}

impl<'a> Mgmt<'a> {
    /// Reads the body of a management frame of `subtype` (frame control bits 4-7): its fixed
    /// fields, then one pass over its elements. Each element's position depends on the length
    /// byte of the one before, so the pass costs about a load's latency per element; the rest
    /// (a few compares on the id) runs alongside.
    #[inline]
    pub fn parse(subtype: u8, body: &'a [u8]) -> Result<Mgmt<'a>, IeError> {
        let (fixed, elements) = Self::split(subtype, body)?;
        let mut m = Mgmt::new(subtype, fixed, elements);
        let mut walk = Elements::new(elements);
        while let Some((id, data)) = walk.next() {
            m.see(id, walk.offset() - data.len(), data);
        }
        m.stopped_at(walk.offset());
        Ok(m)
    }

    /// The fixed part of `subtype`'s body: `(fixed, elements)`.
    #[inline]
    pub(super) fn split(subtype: u8, body: &'a [u8]) -> Result<(&'a [u8], &'a [u8]), IeError> {
        let need = fixed_len(subtype).ok_or(IeError::UnsupportedSubtype(subtype))?;
        body.split_at_checked(need).ok_or(IeError::FixedTooShort {
            need,
            have: body.len(),
        })
    }

    /// A frame of no element seen yet.
    #[inline]
    pub(super) fn new(subtype: u8, fixed: &'a [u8], elements: &'a [u8]) -> Mgmt<'a> {
        Mgmt {
            fixed,
            elements,
            kept: [[0; 2]; 4],
            stop: 0,
            kept_some: 0,
            subtype,
        }
    }

    /// Takes note of the next element of the walk, whose `data` starts at offset `at` of the
    /// list: the first of each kind is kept.
    #[inline]
    pub(super) fn see(&mut self, id: u8, at: usize, data: &[u8]) {
        let (k, skip) = match id {
            id::SSID => (SSID, 0),
            id::DS_PARAMS if !data.is_empty() => (DS, 0),
            id::RSN => (RSN, 0),
            id::VENDOR if data.starts_with(&WPA_OUI_TYPE) => (WPA, WPA_OUI_TYPE.len()),
            _ => return,
        };
        if self.kept_some & (1 << k) == 0 {
            self.kept[k] = [(at + skip) as u32, (at + data.len()) as u32];
            self.kept_some |= 1 << k;
        }
    }

    /// Whether kept element `k` was found.
    #[inline]
    pub(super) fn has(&self, k: usize) -> bool {
        self.kept_some & (1 << k) != 0
    }

    /// What was kept: offsets of each kind (see `Mgmt::kept`) and which were found.
    #[inline]
    pub(super) fn kept(&self) -> ([[u32; 2]; 4], u8) {
        (self.kept, self.kept_some)
    }

    /// Sets what was kept, for a list walked elsewhere: offsets into this view's list that
    /// the walk of an identical list found.
    #[inline]
    pub(super) fn keep(&mut self, kept: [[u32; 2]; 4], kept_some: u8) {
        (self.kept, self.kept_some) = (kept, kept_some);
    }

    /// Says the walk ended after `stop` bytes of the element list.
    #[inline]
    pub(super) fn stopped_at(&mut self, stop: usize) {
        self.stop = stop as u32;
    }

    /// Kept element `k`'s data (a remembered layout's offsets are checked like any others).
    #[inline]
    fn part(&self, k: usize) -> Option<&'a [u8]> {
        if !self.has(k) {
            return None;
        }
        let [start, end] = self.kept[k];
        self.elements.get(start as usize..end as usize)
    }

    /// The management subtype the body was read as.
    pub fn subtype(&self) -> u8 {
        self.subtype
    }

    /// The fixed fields, as long as the subtype has.
    pub fn fixed(&self) -> &'a [u8] {
        self.fixed
    }

    /// A fresh walk over every element, for what [`Mgmt::parse`] does not keep.
    pub fn elements(&self) -> Elements<'a> {
        Elements::new(self.elements)
    }

    /// The first SSID element's data: empty for a hidden network or a wildcard probe request.
    /// Up to 32 bytes by the standard; longer ones are returned as they are.
    #[inline]
    pub fn ssid(&self) -> Option<&'a [u8]> {
        self.part(SSID)
    }

    /// The current channel, from the first DS Parameter Set element that holds one.
    #[inline]
    pub fn ds_channel(&self) -> Option<u8> {
        self.part(DS).and_then(|d| d.first().copied())
    }

    /// The first RSN element's body, for [`super::Rsn::parse`].
    #[inline]
    pub fn rsn(&self) -> Option<&'a [u8]> {
        self.part(RSN)
    }

    /// The first WPA element's body after its OUI and type, for [`super::Rsn::parse_wpa`].
    #[inline]
    pub fn wpa(&self) -> Option<&'a [u8]> {
        self.part(WPA)
    }

    /// Whether the walk stopped at an element running past the end of the body.
    #[inline]
    pub fn malformed(&self) -> bool {
        self.stop as usize != self.elements.len()
    }

    /// The malformed element, with its offset in the body.
    pub fn error(&self) -> Option<IeError> {
        self.malformed().then(|| IeError::ElementOverrun {
            offset: self.fixed.len() + self.stop as usize,
        })
    }

    /// Capability Information, from every subtype but the probe request (see
    /// [`super::capability`]).
    #[inline]
    pub fn capability(&self) -> Option<u16> {
        match self.subtype {
            subtype::PROBE_RESP | subtype::BEACON => self.u16_at(10),
            _ => self.u16_at(0),
        }
    }

    /// Beacon interval in time units (1024 µs), from a beacon or probe response.
    pub fn beacon_interval(&self) -> Option<u16> {
        match self.subtype {
            subtype::PROBE_RESP | subtype::BEACON => self.u16_at(8),
            _ => None,
        }
    }

    /// The sender's TSF timer in µs, from a beacon or probe response.
    pub fn timestamp(&self) -> Option<u64> {
        match self.subtype {
            subtype::PROBE_RESP | subtype::BEACON => {
                Some(u64::from_le_bytes(self.fixed.get(..8)?.try_into().ok()?))
            }
            _ => None,
        }
    }

    /// Listen interval in beacon intervals, from an (re)association request.
    pub fn listen_interval(&self) -> Option<u16> {
        match self.subtype {
            subtype::ASSOC_REQ | subtype::REASSOC_REQ => self.u16_at(2),
            _ => None,
        }
    }

    /// Status code of an (re)association response (0 is success).
    pub fn status(&self) -> Option<u16> {
        match self.subtype {
            subtype::ASSOC_RESP | subtype::REASSOC_RESP => self.u16_at(2),
            _ => None,
        }
    }

    /// Association ID of an (re)association response, without the two top bits the field
    /// always sets.
    pub fn aid(&self) -> Option<u16> {
        match self.subtype {
            subtype::ASSOC_RESP | subtype::REASSOC_RESP => self.u16_at(4).map(|a| a & 0x3FFF),
            _ => None,
        }
    }

    /// The AP a reassociation request moves from.
    pub fn current_ap(&self) -> Option<MacAddr> {
        match self.subtype {
            subtype::REASSOC_REQ => MacAddr::from_slice(self.fixed.get(4..)?),
            _ => None,
        }
    }

    /// A little-endian u16 of the fixed fields; `None` past their end.
    #[inline]
    fn u16_at(&self, at: usize) -> Option<u16> {
        Some(u16::from_le_bytes(
            self.fixed.get(at..at + 2)?.try_into().ok()?,
        ))
    }
}
