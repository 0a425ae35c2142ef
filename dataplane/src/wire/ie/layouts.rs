//! Remembered element layouts: [`Mgmt::parse`] for a stream in which the same senders repeat
//! the same element list (an AP's beacons: ten a second, each with the same elements in the
//! same order, only a few values changing).
//!
//! A plain walk finds each element's position from the length byte of the one before it, so
//! it costs a load's latency per element. With the (id, length) header of every element the
//! sender's previous frame had, positions come from those remembered lengths instead, and the
//! frame's headers are only compared with them: loads that do not wait on each other. A frame
//! whose headers all match and whose list ends where the remembered one did is walked exactly
//! as the plain walk would walk it, so the result is the same; any difference falls back to
//! the plain walk, whose layout is then remembered. Results never depend on the memo (a
//! property test checks it).

use super::mgmt::WPA;
use super::{id, Elements, IeError, Mgmt, WPA_OUI_TYPE};

/// Elements remembered per layout; a longer list is walked plainly every time.
const MAX_ELEMENTS: usize = 40;
/// Vendor elements remembered per layout (see `Layout::vendors`).
const MAX_VENDORS: usize = 8;
/// Layouts remembered (direct-mapped by key).
const SLOTS: usize = 256;
/// `Layout::key` of a slot never filled (keys are 48-bit MACs with a subtype above them).
const EMPTY: u64 = u64::MAX;

/// The element headers of one sender's last well-formed list, and where the walk found what
/// [`Mgmt`] keeps, so that a matching list is neither walked nor looked at element by
/// element (a branch on each element's id mispredicts several times a beacon).
#[derive(Clone, Copy, Debug)]
#[repr(C, align(64))]
struct Layout {
    key: u64,
    /// Length of the element list.
    len: u16,
    /// Elements in `heads`.
    n: u8,
    /// Vendor elements in `vendors`.
    nv: u8,
    /// Bit k: `kept[k]` holds a slice.
    kept_some: u8,
    /// What [`Mgmt::kept`] returned, as start and end offsets in the list.
    kept: [[u16; 2]; 4],
    /// Offsets of the vendor elements long enough to be WPA's, up to the first that was
    /// (all of them if none was): whether each is WPA is the one thing beyond the headers
    /// that decides what the walk keeps, so a match checks them again.
    vendors: [u16; MAX_VENDORS],
    /// Each element's id and length bytes, as two bytes read little-endian.
    heads: [u16; MAX_ELEMENTS],
}

const EMPTY_LAYOUT: Layout = Layout {
    key: EMPTY,
    len: 0,
    n: 0,
    nv: 0,
    kept_some: 0,
    kept: [[0; 2]; 4],
    vendors: [0; MAX_VENDORS],
    heads: [0; MAX_ELEMENTS],
};

const _: () = assert!(std::mem::size_of::<Layout>() == 128);

/// See the module doc. Allocated once (32 KiB); parsing never allocates.
#[derive(Debug)]
pub struct ElementLayouts {
    slots: Box<[Layout]>,
}

impl Default for ElementLayouts {
    fn default() -> Self {
        ElementLayouts {
            slots: vec![EMPTY_LAYOUT; SLOTS].into_boxed_slice(),
        }
    }
}

/// True when the vendor element at `at` in `list` (of length 4 or more) is WPA's.
#[inline]
fn is_wpa(list: &[u8], at: usize) -> bool {
    list.get(at + 2..at + 6) == Some(&WPA_OUI_TYPE[..])
}

impl ElementLayouts {
    /// [`Mgmt::parse`] of a frame of `subtype` from `sender` (a 48-bit MAC): the same result,
    /// cheaper when the sender's previous frame of this subtype had the same element headers.
    #[inline(always)]
    pub fn parse<'a>(
        &mut self,
        sender: u64,
        subtype: u8,
        body: &'a [u8],
    ) -> Result<Mgmt<'a>, IeError> {
        let (fixed, elements) = Mgmt::split(subtype, body)?;
        let key = (sender & 0xFFFF_FFFF_FFFF) | (u64::from(subtype) << 48);
        let slot = &mut self.slots[(key.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 56) as usize];
        let mut m = Mgmt::new(subtype, fixed, elements);
        if slot.key == key && usize::from(slot.len) == elements.len() && matches(slot, elements) {
            m.keep(slot.kept.map(|[a, b]| [a.into(), b.into()]), slot.kept_some);
            m.stopped_at(elements.len());
            return Ok(m);
        }
        // Walk plainly, remembering the layout of a well-formed list that fits.
        let mut walk = Elements::new(elements);
        let (mut n, mut nv, mut fits) = (0, 0, true);
        while let Some((id, data)) = walk.next() {
            let at = walk.offset() - data.len();
            if n < MAX_ELEMENTS {
                slot.heads[n] = u16::from_le_bytes([id, data.len() as u8]);
            }
            n += 1;
            let wpa_seen = m.has(WPA);
            m.see(id, at, data);
            if id == id::VENDOR && data.len() >= 4 && !wpa_seen {
                if nv < MAX_VENDORS {
                    slot.vendors[nv] = (at - 2) as u16;
                    nv += 1;
                } else {
                    fits = false;
                }
            }
        }
        m.stopped_at(walk.offset());
        let (kept, kept_some) = m.kept();
        slot.kept = kept.map(|[a, b]| [a as u16, b as u16]);
        slot.kept_some = kept_some;
        match u16::try_from(elements.len()) {
            Ok(len) if fits && !walk.malformed() && n <= MAX_ELEMENTS => {
                slot.key = key;
                slot.len = len;
                slot.n = n as u8;
                slot.nv = nv as u8;
            }
            _ => slot.key = EMPTY,
        }
        Ok(m)
    }
}

/// Whether `list` (as long as the remembered one) has the remembered element headers, and
/// its vendor elements are WPA's where the remembered ones were. Positions come from the
/// remembered lengths, so the loads do not wait on each other and no branch depends on them.
#[inline]
fn matches(slot: &Layout, list: &[u8]) -> bool {
    let mut at = 0;
    let mut same = true;
    for &head in &slot.heads[..usize::from(slot.n)] {
        // In bounds: the remembered lengths add up to `list.len()`.
        let Some(&[id, len]) = list.get(at..at + 2) else {
            return false;
        };
        same &= u16::from_le_bytes([id, len]) == head;
        at += 2 + usize::from(head >> 8);
    }
    let wpa_last = slot.kept_some & (1 << WPA) != 0;
    let nv = usize::from(slot.nv);
    for (k, &v) in slot.vendors[..nv].iter().enumerate() {
        same &= is_wpa(list, usize::from(v)) == (wpa_last && k + 1 == nv);
    }
    same
}
