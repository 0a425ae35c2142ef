//! Radiotap: the header Linux monitor interfaces put before each 802.11 frame.
//!
//! The header is a version byte, a length, a chain of 32-bit presence words, then the fields
//! those words announce, each aligned to its natural size relative to the header start. Bits
//! 29, 30 and 31 of every presence word switch to the radiotap namespace, switch to a vendor
//! namespace, and announce another word. A vendor namespace declares how many bytes to skip, so
//! a parser that does not know it still finds what follows. A field this parser does not know
//! (radiotap bits 28 and above, or TLVs) ends the walk: its size is unknown, so nothing after
//! it can be located, but the 802.11 frame still starts at the header's declared length.
//!
//! [`Radiotap::new`] checks the fixed part and the presence chain; [`Fields`] walks the fields
//! and reports any that run past the header. Nothing here allocates.

use super::{Layer, WireError};

/// Fixed part: version, pad, length, first presence word.
const FIXED_LEN: usize = 8;
const EXT: u32 = 1 << 31;
const VENDOR_NEXT: u32 = 1 << 30;
const RADIOTAP_NEXT: u32 = 1 << 29;
/// Bits 0-28 announce fields; 29-31 are reserved for namespaces in every namespace.
const FIELD_BITS: u32 = RADIOTAP_NEXT - 1;

/// Radiotap namespace field numbers airsift decodes.
pub mod field {
    pub const TSFT: u32 = 0;
    pub const FLAGS: u32 = 1;
    pub const RATE: u32 = 2;
    pub const CHANNEL: u32 = 3;
    pub const DBM_ANTSIGNAL: u32 = 5;
    pub const DBM_ANTNOISE: u32 = 6;
    pub const ANTENNA: u32 = 11;
    pub const RX_FLAGS: u32 = 14;
    pub const XCHANNEL: u32 = 18;
    pub const MCS: u32 = 19;
    pub const AMPDU_STATUS: u32 = 20;
    pub const VHT: u32 = 21;
    pub const TIMESTAMP: u32 = 22;
    /// Not a field: the number [`super::Fields`] reports for a vendor namespace's data.
    pub const VENDOR_NAMESPACE: u32 = 30;
}

/// Flags field bits.
pub mod flags {
    /// The frame ends with a 4-byte FCS.
    pub const FCS_AT_END: u8 = 0x10;
    /// The FCS did not check.
    pub const BAD_FCS: u8 = 0x40;
}

/// (alignment, size) of radiotap namespace fields 0-27, from radiotap.org's defined fields.
const FIELDS: [(u8, u8); 28] = [
    (8, 8),  // 0 TSFT
    (1, 1),  // 1 Flags
    (1, 1),  // 2 Rate
    (2, 4),  // 3 Channel
    (2, 2),  // 4 FHSS
    (1, 1),  // 5 dBm antenna signal
    (1, 1),  // 6 dBm antenna noise
    (2, 2),  // 7 Lock quality
    (2, 2),  // 8 TX attenuation
    (2, 2),  // 9 dB TX attenuation
    (1, 1),  // 10 dBm TX power
    (1, 1),  // 11 Antenna
    (1, 1),  // 12 dB antenna signal
    (1, 1),  // 13 dB antenna noise
    (2, 2),  // 14 RX flags
    (2, 2),  // 15 TX flags
    (1, 1),  // 16 RTS retries
    (1, 1),  // 17 data retries
    (4, 8),  // 18 XChannel
    (1, 3),  // 19 MCS
    (4, 8),  // 20 A-MPDU status
    (2, 12), // 21 VHT
    (8, 12), // 22 timestamp
    (2, 12), // 23 HE
    (2, 12), // 24 HE-MU
    (2, 6),  // 25 HE-MU-other-user
    (1, 1),  // 26 0-length PSDU
    (2, 4),  // 27 L-SIG
];

/// A checked radiotap header: version 0, a length that fits the record, and a presence chain
/// that fits the length.
#[derive(Clone, Copy, Debug)]
pub struct Radiotap<'a> {
    /// Exactly the header's declared length.
    header: &'a [u8],
    /// Offset of the first field (just past the last presence word).
    data_start: usize,
}

impl<'a> Radiotap<'a> {
    /// Checks the header at the start of `record`.
    #[inline]
    pub fn new(record: &'a [u8]) -> Result<Radiotap<'a>, WireError> {
        if record.len() < FIXED_LEN {
            return Err(WireError::HeaderTruncated {
                layer: Layer::Radiotap,
                have: record.len(),
            });
        }
        if record[0] != 0 {
            return Err(WireError::BadVersion {
                layer: Layer::Radiotap,
                version: record[0],
            });
        }
        let len = u16::from_le_bytes([record[2], record[3]]) as usize;
        if len < FIXED_LEN || len > record.len() {
            return Err(WireError::BadHeaderLength {
                layer: Layer::Radiotap,
                declared: len,
                have: record.len(),
            });
        }
        let header = &record[..len];
        let mut at = 4;
        while read_u32(header, at) & EXT != 0 {
            at += 4;
            if at + 4 > len {
                return Err(WireError::FieldOverrun {
                    layer: Layer::Radiotap,
                    offset: at,
                });
            }
        }
        Ok(Radiotap {
            header,
            data_start: at + 4,
        })
    }

    /// The header's declared length: where the 802.11 frame starts.
    #[inline]
    pub fn len(&self) -> usize {
        self.header.len()
    }

    /// Always false: a checked header holds at least its fixed part.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// The header bytes.
    pub fn as_bytes(&self) -> &'a [u8] {
        self.header
    }

    /// The first presence word.
    pub fn present(&self) -> u32 {
        read_u32(self.header, 4)
    }

    /// Walks the fields in header order.
    #[inline]
    pub fn fields(&self) -> Fields<'a> {
        let word = self.present();
        Fields {
            header: self.header,
            word_at: 4,
            word,
            bits: word & FIELD_BITS,
            base: 0,
            vendor_end: None,
            offset: self.data_start,
            done: false,
        }
    }

    /// The Flags byte of the first Flags field, walking every field so that a header whose
    /// fields overrun it is reported. This is [`Fields`]' walk without building a field per
    /// step; a property test checks that the two agree.
    #[inline]
    pub fn validate_flags(&self) -> Result<Option<u8>, WireError> {
        let w = self.walk(self.header.len())?;
        Ok(w.flags_at.map(|at| self.header[at]))
    }

    /// [`Radiotap::validate_flags`], remembering the layout of the presence chain in `memo`:
    /// a driver writes the same chain on every frame, so from the second frame on the walk is
    /// a comparison of a few words. Same results, same errors. Also says where the first
    /// antenna signal and frequency lie when the memo knew the layout, so that reading them
    /// later costs two loads and no second look at the chain.
    #[inline]
    pub fn validate_flags_memo(
        &self,
        memo: &mut LayoutMemo,
    ) -> Result<(Option<u8>, RadioAt), WireError> {
        let words = &self.header[4..self.data_start];
        if words.len() > 4 * MEMO_WORDS {
            return Ok((self.validate_flags()?, RadioAt::UNKNOWN));
        }
        if !memo.holds(words) {
            match self.walk(usize::MAX) {
                Ok(w) if !w.vendor => memo.store(words, w),
                _ => return Ok((self.validate_flags()?, RadioAt::UNKNOWN)),
            }
        }
        if memo.end as usize > self.header.len() {
            // Let the walk name the first field that overruns.
            return Ok((self.validate_flags()?, RadioAt::UNKNOWN));
        }
        let flags = (memo.flags_at != 0).then(|| self.header[memo.flags_at as usize]);
        let at = RadioAt {
            known: true,
            signal_at: memo.signal_at,
            channel_at: memo.channel_at,
        };
        Ok((flags, at))
    }

    /// Walks the fields' layout with fields allowed to end at `limit`: where the first Flags
    /// field is, where the last located field ends, and whether a vendor namespace (whose
    /// extent is data, not layout) was crossed.
    #[inline]
    fn walk(&self, limit: usize) -> Result<Walk, WireError> {
        let h = self.header;
        let mut flags_at = None;
        let mut signal_at = None;
        let mut channel_at = None;
        let mut xchannel_at = None;
        let mut offset = self.data_start;
        let mut word_at = 4;
        let mut base = 0u32;
        let mut vendor_end: Option<usize> = None;
        let mut vendor = false;
        loop {
            let word = read_u32(h, word_at);
            let mut bits = word & FIELD_BITS;
            if vendor_end.is_none() {
                while bits != 0 {
                    let index = base + bits.trailing_zeros();
                    bits &= bits - 1;
                    let Some(&(align, size)) = FIELDS.get(index as usize) else {
                        return Ok(Walk {
                            flags_at,
                            signal_at,
                            channel_at: channel_at.or(xchannel_at.map(|x| x + 4)),
                            end: offset,
                            vendor,
                        });
                    };
                    let start = align_up(offset, align as usize);
                    offset = start + size as usize;
                    if offset > limit {
                        return Err(WireError::FieldOverrun {
                            layer: Layer::Radiotap,
                            offset: start,
                        });
                    }
                    match index {
                        field::FLAGS if flags_at.is_none() => flags_at = Some(start),
                        field::DBM_ANTSIGNAL if signal_at.is_none() => signal_at = Some(start),
                        field::CHANNEL if channel_at.is_none() => channel_at = Some(start),
                        field::XCHANNEL if xchannel_at.is_none() => xchannel_at = Some(start),
                        _ => {}
                    }
                }
            }
            if word & EXT == 0 {
                return Ok(Walk {
                    flags_at,
                    signal_at,
                    channel_at: channel_at.or(xchannel_at.map(|x| x + 4)),
                    end: offset,
                    vendor,
                });
            }
            word_at += 4;
            match (word & RADIOTAP_NEXT != 0, word & VENDOR_NEXT != 0) {
                (false, false) => base += 32,
                (true, true) => {
                    return Err(WireError::RadiotapBadNamespace {
                        offset: word_at - 4,
                    })
                }
                (radiotap, _) => {
                    if let Some(end) = vendor_end.take() {
                        offset = end;
                    }
                    base = 0;
                    if !radiotap {
                        let v = vendor_namespace(h, offset)?;
                        offset = v.data_start;
                        vendor_end = Some(v.end);
                        vendor = true;
                    }
                }
            }
        }
    }
}

/// What a layout walk found: where the first Flags, antenna signal and frequency (Channel,
/// else XChannel) are: the first occurrence is the one [`super::RadioInfo`] reports too.
struct Walk {
    flags_at: Option<usize>,
    signal_at: Option<usize>,
    channel_at: Option<usize>,
    end: usize,
    vendor: bool,
}

/// Presence chains longer than this are walked every time.
/// Where one radiotap header's first antenna signal (dBm) and frequency (Channel, else
/// XChannel) lie, as [`Radiotap::validate_flags_memo`] found them in its memo: offsets within
/// the header it checked, which the memo guarantees the header is long enough to hold.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RadioAt {
    /// False when the memo did not know the layout: decode with [`super::RadioInfo`].
    known: bool,
    /// Offsets; 0 when the header has no such field.
    signal_at: u16,
    channel_at: u16,
}

impl RadioAt {
    pub const UNKNOWN: RadioAt = RadioAt {
        known: false,
        signal_at: 0,
        channel_at: 0,
    };

    /// A header known to hold neither.
    pub const NONE: RadioAt = RadioAt {
        known: true,
        signal_at: 0,
        channel_at: 0,
    };

    /// A header with the signal byte and the 2-byte frequency at these offsets (not 0);
    /// offsets past the header read as unknown.
    pub fn at(signal_at: usize, channel_at: usize) -> RadioAt {
        match (u16::try_from(signal_at), u16::try_from(channel_at)) {
            (Ok(s), Ok(c)) if s != 0 && c != 0 => RadioAt {
                known: true,
                signal_at: s,
                channel_at: c,
            },
            _ => RadioAt::UNKNOWN,
        }
    }

    /// The signal and frequency (0 MHz read as none) in `header`, the one these offsets were
    /// found for; `None` when they are unknown.
    #[inline]
    pub fn read(&self, header: &[u8]) -> Option<(Option<i8>, Option<u16>)> {
        if !self.known {
            return None;
        }
        let signal = match self.signal_at {
            0 => None,
            at => Some(*header.get(at as usize)? as i8),
        };
        let freq = match self.channel_at {
            0 => None,
            at => {
                let b = header.get(at as usize..at as usize + 2)?;
                Some(u16::from_le_bytes([b[0], b[1]])).filter(|&f| f != 0)
            }
        };
        Some((signal, freq))
    }
}

const MEMO_WORDS: usize = 4;

/// The layout of one presence chain without vendor namespaces: a pure function of its words,
/// so remembering it changes no result. One per worker; never shared.
#[derive(Clone, Debug, Default)]
pub struct LayoutMemo {
    words: [u32; MEMO_WORDS],
    /// Bytes of `words` in use; 0 when empty.
    len: u8,
    /// Offset of the first Flags byte; 0 for none (offset 0 is the version byte).
    flags_at: u16,
    /// Offsets of the first antenna signal (dBm) and of the frequency: the first Channel
    /// field's, else the first XChannel field's; 0 for none.
    signal_at: u16,
    channel_at: u16,
    /// Where the last located field ends: the header must be at least this long.
    end: u16,
}

impl LayoutMemo {
    #[inline]
    fn holds(&self, words: &[u8]) -> bool {
        self.len as usize == words.len()
            && words
                .chunks_exact(4)
                .zip(&self.words)
                .all(|(w, m)| read_u32(w, 0) == *m)
    }

    fn store(&mut self, words: &[u8], w: Walk) {
        // Offsets fit: a radiotap header is at most 65535 bytes and the walk stopped within
        // 29 fields of 12 bytes at most per word past it.
        let at = |o: Option<usize>| u16::try_from(o.unwrap_or(0));
        let (Ok(end), Ok(flags_at), Ok(signal_at), Ok(channel_at)) = (
            u16::try_from(w.end),
            at(w.flags_at),
            at(w.signal_at),
            at(w.channel_at),
        ) else {
            self.len = 0;
            return;
        };
        for (m, w) in self.words.iter_mut().zip(words.chunks_exact(4)) {
            *m = read_u32(w, 0);
        }
        self.len = words.len() as u8;
        self.flags_at = flags_at;
        self.signal_at = signal_at;
        self.channel_at = channel_at;
        self.end = end;
    }
}

/// A vendor namespace's header (OUI, sub-namespace, skip length) and where its data lies.
struct VendorNamespace {
    oui: [u8; 3],
    sub_namespace: u8,
    data_start: usize,
    end: usize,
}

/// Reads the vendor namespace header due at `offset` and checks its data fits the header.
#[inline]
fn vendor_namespace(h: &[u8], offset: usize) -> Result<VendorNamespace, WireError> {
    let start = align_up(offset, 2);
    let Some(v) = h.get(start..start + 6) else {
        return Err(WireError::FieldOverrun {
            layer: Layer::Radiotap,
            offset: start,
        });
    };
    let data_start = start + 6;
    let end = data_start + u16::from_le_bytes([v[4], v[5]]) as usize;
    if end > h.len() {
        return Err(WireError::FieldOverrun {
            layer: Layer::Radiotap,
            offset: data_start,
        });
    }
    Ok(VendorNamespace {
        oui: [v[0], v[1], v[2]],
        sub_namespace: v[3],
        data_start,
        end,
    })
}

/// Which namespace a field belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Namespace {
    Radiotap,
    Vendor { oui: [u8; 3], sub_namespace: u8 },
}

/// One field: its namespace, its number within it, and its bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Field<'a> {
    pub namespace: Namespace,
    /// Bit number within the namespace (32 and up for extended words); for a vendor
    /// namespace's skipped data, [`field::VENDOR_NAMESPACE`].
    pub index: u32,
    pub data: &'a [u8],
}

impl Field<'_> {
    /// True for radiotap-namespace field `index`.
    #[inline]
    pub fn is_radiotap(&self, index: u32) -> bool {
        self.namespace == Namespace::Radiotap && self.index == index
    }
}

/// Iterator over a header's fields; yields one error and stops if the header is inconsistent.
#[derive(Clone, Debug)]
pub struct Fields<'a> {
    header: &'a [u8],
    word_at: usize,
    word: u32,
    /// Field bits of the current word not yet visited.
    bits: u32,
    /// Field number of bit 0 of the current word.
    base: u32,
    /// Inside a vendor namespace: where its data ends (its fields are skipped whole).
    vendor_end: Option<usize>,
    offset: usize,
    done: bool,
}

impl<'a> Fields<'a> {
    fn fail(&mut self, e: WireError) -> Option<Result<Field<'a>, WireError>> {
        self.done = true;
        Some(Err(e))
    }
}

impl<'a> Iterator for Fields<'a> {
    type Item = Result<Field<'a>, WireError>;

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if self.done {
                return None;
            }
            if self.bits != 0 {
                let bit = self.bits.trailing_zeros();
                self.bits &= self.bits - 1;
                if self.vendor_end.is_some() {
                    continue;
                }
                let index = self.base + bit;
                let Some(&(align, size)) = FIELDS.get(index as usize) else {
                    // Unknown size: nothing after this field can be located.
                    self.done = true;
                    return None;
                };
                let start = align_up(self.offset, align as usize);
                let end = start + size as usize;
                if end > self.header.len() {
                    return self.fail(WireError::FieldOverrun {
                        layer: Layer::Radiotap,
                        offset: start,
                    });
                }
                self.offset = end;
                return Some(Ok(Field {
                    namespace: Namespace::Radiotap,
                    index,
                    data: &self.header[start..end],
                }));
            }
            // This word is used up: follow the chain.
            if self.word & EXT == 0 {
                self.done = true;
                return None;
            }
            let word = self.word;
            self.word_at += 4;
            self.word = read_u32(self.header, self.word_at);
            self.bits = self.word & FIELD_BITS;
            match (word & RADIOTAP_NEXT != 0, word & VENDOR_NEXT != 0) {
                (false, false) => self.base += 32,
                (true, true) => {
                    let offset = self.word_at - 4;
                    return self.fail(WireError::RadiotapBadNamespace { offset });
                }
                (true, false) => {
                    if let Some(end) = self.vendor_end.take() {
                        self.offset = end;
                    }
                    self.base = 0;
                }
                (false, true) => {
                    if let Some(end) = self.vendor_end.take() {
                        self.offset = end;
                    }
                    self.base = 0;
                    let v = match vendor_namespace(self.header, self.offset) {
                        Ok(v) => v,
                        Err(e) => return self.fail(e),
                    };
                    self.vendor_end = Some(v.end);
                    self.offset = v.data_start;
                    return Some(Ok(Field {
                        namespace: Namespace::Vendor {
                            oui: v.oui,
                            sub_namespace: v.sub_namespace,
                        },
                        index: field::VENDOR_NAMESPACE,
                        data: &self.header[v.data_start..v.end],
                    }));
                }
            }
        }
    }
}

#[inline]
fn align_up(offset: usize, align: usize) -> usize {
    (offset + align - 1) & !(align - 1)
}

/// Reads a little-endian u32 the caller has bounds-checked.
#[inline]
fn read_u32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

#[cfg(test)]
mod tests {
    use super::*;

    type Walked = Result<(Namespace, u32, Vec<u8>), WireError>;

    fn collect(h: &[u8]) -> Vec<Walked> {
        Radiotap::new(h)
            .unwrap()
            .fields()
            .map(|f| f.map(|f| (f.namespace, f.index, f.data.to_vec())))
            .collect()
    }

    #[test]
    fn flags_only_odd_length() {
        let h = [0, 0, 9, 0, 2, 0, 0, 0, 0x33];
        assert_eq!(collect(&h), vec![Ok((Namespace::Radiotap, 1, vec![0x33]))]);
        assert_eq!(Radiotap::new(&h).unwrap().validate_flags(), Ok(Some(0x33)));
    }

    #[test]
    fn aligns_fields_to_their_size() {
        // Flags, then Channel (align 2), then TSFT would come first: use Flags + Channel + signal.
        let h = [
            0, 0, 14, 0, 0x2A, 0, 0, 0, 0x10, 0xFF, 0x85, 0x09, 0xA0, 0x00,
        ];
        let f = collect(&h);
        assert_eq!(f[0], Ok((Namespace::Radiotap, 1, vec![0x10])));
        assert_eq!(
            f[1],
            Ok((Namespace::Radiotap, 3, vec![0x85, 0x09, 0xA0, 0x00]))
        );
        assert!(matches!(
            f[2],
            Err(WireError::FieldOverrun { offset: 14, .. })
        ));
    }

    #[test]
    fn rejects_bad_fixed_part() {
        assert!(matches!(
            Radiotap::new(&[0, 0, 8, 0, 0, 0, 0]),
            Err(WireError::HeaderTruncated { have: 7, .. })
        ));
        assert!(matches!(
            Radiotap::new(&[1, 0, 8, 0, 0, 0, 0, 0]),
            Err(WireError::BadVersion { version: 1, .. })
        ));
        assert!(matches!(
            Radiotap::new(&[0, 0, 9, 0, 0, 0, 0, 0]),
            Err(WireError::BadHeaderLength {
                declared: 9,
                have: 8,
                ..
            })
        ));
        assert!(matches!(
            Radiotap::new(&[0, 0, 7, 0, 0, 0, 0, 0]),
            Err(WireError::BadHeaderLength { declared: 7, .. })
        ));
        // Extension bit with no room for the next word.
        assert!(matches!(
            Radiotap::new(&[0, 0, 8, 0, 0, 0, 0, 0x80]),
            Err(WireError::FieldOverrun { offset: 8, .. })
        ));
    }

    #[test]
    fn unknown_extended_bits_stop_the_walk_quietly() {
        // Word 0: Flags + ext; word 1 (radiotap namespace, bits 32+): bit 33 unknown.
        let h = [0, 0, 13, 0, 0x02, 0, 0, 0x80, 0x02, 0, 0, 0, 0x10];
        assert_eq!(collect(&h), vec![Ok((Namespace::Radiotap, 1, vec![0x10]))]);
    }

    #[test]
    fn both_namespace_bits_are_an_error() {
        let h = [0, 0, 12, 0, 0, 0, 0, 0xE0, 0, 0, 0, 0];
        assert_eq!(
            collect(&h),
            vec![Err(WireError::RadiotapBadNamespace { offset: 4 })]
        );
    }
}
