//! Classic libpcap files: a 24-byte file header, then 16-byte record headers each followed
//! by the captured bytes.
//!
//! The format has no framing beyond the record lengths, so one bad length makes the rest of
//! the file unreadable: the reader stops at the first record that does not fit instead of
//! guessing where the next one starts.

use super::{CapError, Interface, Record};

/// Captured lengths above this are reported as a corrupt record header ([`CapError::BadRecord`])
/// instead of a cut-short file. No link layer has frames anywhere near this size (libpcap's
/// own maximum snapshot length is 256 KiB), so a larger value means the bytes being read as
/// a record header are garbage, and saying "truncated" would send the operator looking for
/// the wrong problem. The limit is far above any snaplen because fuzzed files legitimately
/// carry records longer than their header's snaplen, and those bytes are there to be read.
pub(super) const MAX_RECORD_LEN: u32 = 256 * 1024 * 1024;

const FILE_HEADER_LEN: usize = 24;
const RECORD_HEADER_LEN: usize = 16;

/// The fields of the pcap file header the reader needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct FileHeader {
    pub big_endian: bool,
    pub nanos: bool,
    pub snaplen: u32,
    /// Already masked to the lower 16 bits (the upper bits may hold FCS-length flags).
    pub linktype: u32,
}

impl FileHeader {
    /// `Ok(None)` when the magic is not a pcap magic; `Err` when it is but the header is cut
    /// short.
    pub fn parse(data: &[u8]) -> Result<Option<FileHeader>, CapError> {
        let Some(magic) = data.first_chunk::<4>() else {
            return Ok(None);
        };
        let (big_endian, nanos) = match u32::from_le_bytes(*magic) {
            0xa1b2_c3d4 => (false, false),
            0xa1b2_3c4d => (false, true),
            0xd4c3_b2a1 => (true, false),
            0x4d3c_b2a1 => (true, true),
            _ => return Ok(None),
        };
        let Some(h) = data.first_chunk::<FILE_HEADER_LEN>() else {
            return Err(CapError::Malformed {
                offset: 0,
                reason: format!(
                    "the pcap file header is {FILE_HEADER_LEN} bytes but the file has only {}",
                    data.len()
                ),
            });
        };
        let snaplen = rd32([h[16], h[17], h[18], h[19]], big_endian);
        let linktype = rd32([h[20], h[21], h[22], h[23]], big_endian) & 0xffff;
        Ok(Some(FileHeader {
            big_endian,
            nanos,
            snaplen,
            linktype,
        }))
    }
}

#[inline(always)]
fn rd32(b: [u8; 4], big_endian: bool) -> u32 {
    if big_endian {
        u32::from_be_bytes(b)
    } else {
        u32::from_le_bytes(b)
    }
}

/// Iterator state over the records of a pcap file.
pub(super) struct PcapRecords<'a> {
    data: &'a [u8],
    /// Offset of the next record header; never beyond `data.len()`.
    pos: usize,
    /// Records yielded so far.
    index: u64,
    header: FileHeader,
    done: bool,
    /// The file header as an interface, so `Records::interfaces` can lend a slice.
    iface: [Interface; 1],
}

impl<'a> PcapRecords<'a> {
    pub fn new(data: &'a [u8], header: FileHeader) -> Self {
        PcapRecords {
            data,
            pos: FILE_HEADER_LEN.min(data.len()),
            index: 0,
            header,
            done: false,
            iface: [Interface {
                linktype: header.linktype,
                snaplen: header.snaplen,
                name: None,
                section: 0,
                tsresol: if header.nanos { 9 } else { 6 },
                tsoffset: 0,
            }],
        }
    }

    pub fn pos(&self) -> usize {
        self.pos
    }

    /// The same cursor over other bytes (see `Records::rebind`).
    pub fn rebind<'b>(self, data: &'b [u8]) -> PcapRecords<'b> {
        PcapRecords {
            data,
            pos: self.pos,
            index: self.index,
            header: self.header,
            done: self.done,
            iface: self.iface,
        }
    }

    pub fn interfaces(&self) -> &[Interface] {
        &self.iface
    }

    #[cold]
    fn fail(&mut self, e: CapError) -> Option<Result<Record<'a>, CapError>> {
        self.done = true;
        Some(Err(e))
    }

    #[inline]
    pub fn next(&mut self) -> Option<Result<Record<'a>, CapError>> {
        if self.done {
            return None;
        }
        let rest = match self.data.get(self.pos..) {
            Some(r) if !r.is_empty() => r,
            _ => {
                self.done = true;
                return None;
            }
        };
        let offset = self.pos as u64;
        let Some(h) = rest.first_chunk::<RECORD_HEADER_LEN>() else {
            return self.fail(CapError::Truncated {
                offset,
                record: self.index,
            });
        };
        let be = self.header.big_endian;
        let ts_sec = rd32([h[0], h[1], h[2], h[3]], be) as u64;
        let ts_frac = rd32([h[4], h[5], h[6], h[7]], be) as u64;
        let incl_len = rd32([h[8], h[9], h[10], h[11]], be);
        let orig_len = rd32([h[12], h[13], h[14], h[15]], be);
        if incl_len > MAX_RECORD_LEN {
            return self.fail(CapError::BadRecord {
                offset,
                record: self.index,
                reason: format!(
                    "captured length {incl_len} exceeds the {MAX_RECORD_LEN}-byte limit; \
                     the record header is corrupt"
                ),
            });
        }
        // Cannot overflow: incl_len <= 256 MiB, and usize is at least 32 bits.
        let end = RECORD_HEADER_LEN + incl_len as usize;
        let Some(data) = rest.get(RECORD_HEADER_LEN..end) else {
            return self.fail(CapError::Truncated {
                offset,
                record: self.index,
            });
        };
        // Cannot overflow u64: at most (2^32-1) * 10^9 + (2^32-1) * 10^3 < 2^63.
        let ts_ns = if self.header.nanos {
            ts_sec * 1_000_000_000 + ts_frac
        } else {
            ts_sec * 1_000_000_000 + ts_frac * 1_000
        };
        self.pos += end;
        self.index += 1;
        Some(Ok(Record {
            data,
            orig_len,
            ts_ns: Some(ts_ns),
            linktype: self.header.linktype,
            interface: 0,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capfile::{CaptureFile, Format};

    fn header(magic: u32, be: bool, snaplen: u32, linktype: u32) -> Vec<u8> {
        let w = |v: u32| if be { v.to_be_bytes() } else { v.to_le_bytes() };
        let mut out = Vec::new();
        out.extend_from_slice(&w(magic));
        out.extend_from_slice(&if be { [0, 2, 0, 4] } else { [2, 0, 4, 0] });
        out.extend_from_slice(&[0; 8]);
        out.extend_from_slice(&w(snaplen));
        out.extend_from_slice(&w(linktype));
        out
    }

    fn record(out: &mut Vec<u8>, be: bool, sec: u32, frac: u32, data: &[u8], orig: u32) {
        let w = |v: u32| if be { v.to_be_bytes() } else { v.to_le_bytes() };
        out.extend_from_slice(&w(sec));
        out.extend_from_slice(&w(frac));
        out.extend_from_slice(&w(data.len() as u32));
        out.extend_from_slice(&w(orig));
        out.extend_from_slice(data);
    }

    #[test]
    fn all_four_magics_and_the_linktype_mask() {
        for (magic, be, nanos) in [
            (0xa1b2c3d4, false, false),
            (0xa1b2c3d4, true, false),
            (0xa1b23c4d, false, true),
            (0xa1b23c4d, true, true),
        ] {
            let mut f = header(magic, be, 96, 0x3000_007f);
            record(&mut f, be, 1_600_000_000, 123_456, b"frame", 1500);
            record(&mut f, be, u32::MAX, u32::MAX, b"", 0);
            let cap = CaptureFile::from_bytes(f.clone()).unwrap();
            assert_eq!(
                cap.format(),
                Format::Pcap {
                    nanos,
                    big_endian: be
                }
            );
            let recs: Vec<_> = cap.records().collect::<Result<_, _>>().unwrap();
            let scale = if nanos { 1 } else { 1000 };
            assert_eq!(recs.len(), 2);
            assert_eq!(recs[0].data, b"frame");
            assert_eq!(recs[0].orig_len, 1500);
            assert_eq!(recs[0].linktype, 127);
            assert_eq!(
                recs[0].ts_ns,
                Some(1_600_000_000 * 1_000_000_000 + 123_456 * scale)
            );
            assert_eq!(
                recs[1].ts_ns,
                Some(u32::MAX as u64 * 1_000_000_000 + u32::MAX as u64 * scale)
            );
            let ifs = cap.interfaces();
            assert_eq!(ifs.len(), 1);
            assert_eq!((ifs[0].linktype, ifs[0].snaplen), (127, 96));
            assert_eq!(ifs[0].tsresol, if nanos { 9 } else { 6 });
        }
    }

    #[test]
    fn cut_short_file_yields_the_complete_records_then_truncated() {
        let mut f = header(0xa1b2c3d4, false, 65535, 105);
        record(&mut f, false, 1, 2, b"first", 5);
        let second = f.len();
        record(&mut f, false, 3, 4, b"second", 6);
        for cut in second..f.len() {
            let cap = CaptureFile::from_bytes(f[..cut].to_vec()).unwrap();
            let mut it = cap.records();
            assert_eq!(it.next().unwrap().unwrap().data, b"first");
            if cut == second {
                assert!(it.next().is_none());
            } else {
                assert_eq!(
                    it.next(),
                    Some(Err(CapError::Truncated {
                        offset: second as u64,
                        record: 1
                    }))
                );
                assert_eq!(it.bytes_consumed(), second);
            }
            assert!(it.next().is_none());
            assert!(it.next().is_none());
        }
    }

    #[test]
    fn absurd_length_is_a_bad_record_but_oversnaplen_is_fine() {
        let mut f = header(0xa1b2c3d4, false, 4, 105);
        record(&mut f, false, 0, 0, b"longer than the snaplen", 23);
        let bad = f.len();
        f.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0]);
        let cap = CaptureFile::from_bytes(f).unwrap();
        let mut it = cap.records();
        assert_eq!(it.next().unwrap().unwrap().data.len(), 23);
        match it.next() {
            Some(Err(CapError::BadRecord { offset, record, .. })) => {
                assert_eq!((offset, record), (bad as u64, 1));
            }
            other => panic!("{other:?}"),
        }
        assert!(it.next().is_none());
    }

    #[test]
    fn header_only_and_short_header() {
        let f = header(0xa1b2c3d4, true, 65535, 127);
        let cap = CaptureFile::from_bytes(f.clone()).unwrap();
        assert_eq!(cap.records().count(), 0);
        for cut in 4..24 {
            match CaptureFile::from_bytes(f[..cut].to_vec()) {
                Err(CapError::Malformed { offset: 0, reason }) => {
                    assert!(reason.contains(&format!("only {cut}")), "{reason}")
                }
                other => panic!("{other:?}"),
            }
        }
    }
}
