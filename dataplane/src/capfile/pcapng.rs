//! pcapng files: a sequence of self-delimiting blocks, grouped into sections.
//!
//! Every block is `type, total length, body, total length`. A Section Header Block (SHB)
//! starts a section and fixes the byte order of every block up to the next SHB; Interface
//! Description Blocks (IDBs) declare the interfaces of the section, numbered from 0; packet
//! blocks (Enhanced, Simple and the obsolete Packet Block) refer to those interfaces for
//! their link type and timestamp resolution. Any other block is skipped by its length, which
//! is what makes the format extensible; it also means a single corrupt length desynchronises
//! the rest of the file, so framing errors end the iteration.

use super::{CapError, Interface, Record};

/// The SHB block type, 0x0A0D0D0A, which reads the same in both byte orders and doubles as
/// the file magic.
pub(super) const SHB_TYPE_BYTES: [u8; 4] = [0x0a, 0x0d, 0x0d, 0x0a];
const SHB: u32 = 0x0a0d_0d0a;
const IDB: u32 = 1;
const PB: u32 = 2;
const SPB: u32 = 3;
const EPB: u32 = 6;
const BYTE_ORDER_MAGIC: u32 = 0x1a2b_3c4d;

const OPT_ENDOFOPT: u16 = 0;
const OPT_IF_NAME: u16 = 2;
const OPT_IF_TSRESOL: u16 = 9;
const OPT_IF_TSOFFSET: u16 = 14;

/// Blocks longer than this are reported as corrupt rather than as a cut-short file, for the
/// same reason as pcap's [`MAX_RECORD_LEN`](super::pcap::MAX_RECORD_LEN): a length this large
/// is garbage, not a packet. The margin over the record limit leaves room for a block's
/// header and options.
const MAX_BLOCK_LEN: u32 = super::pcap::MAX_RECORD_LEN + 1024 * 1024;

/// Default `if_tsresol`: microseconds.
const DEFAULT_TSRESOL: u8 = 6;

#[inline(always)]
fn rd32(b: [u8; 4], big_endian: bool) -> u32 {
    if big_endian {
        u32::from_be_bytes(b)
    } else {
        u32::from_le_bytes(b)
    }
}

#[inline(always)]
fn rd32_at(b: &[u8], at: usize, big_endian: bool) -> Option<u32> {
    let w = b.get(at..)?.first_chunk::<4>()?;
    Some(rd32(*w, big_endian))
}

/// How to turn an interface's timestamp ticks into nanoseconds, decided once per IDB so the
/// per-packet work is one multiply or divide.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum TsConv {
    /// 10^-k with k <= 9: ticks * 10^(9-k).
    Mul(u64),
    /// 10^-k with 9 < k <= 47: ticks / 10^(k-9).
    Div(u128),
    /// 2^-k: ticks * 10^9 / 2^k (rounded down).
    Pow2(u32),
    /// 10^-k with k > 47: every u64 tick count is below one nanosecond.
    Zero,
}

impl TsConv {
    fn new(tsresol: u8) -> TsConv {
        if tsresol & 0x80 != 0 {
            return TsConv::Pow2(u32::from(tsresol & 0x7f));
        }
        let k = u32::from(tsresol);
        if k <= 9 {
            TsConv::Mul(10u64.pow(9 - k))
        } else if k - 9 <= 38 {
            // 10^38 is the largest power of ten in a u128.
            TsConv::Div(10u128.pow(k - 9))
        } else {
            TsConv::Zero
        }
    }

    /// Ticks to nanoseconds, plus an offset already in nanoseconds, clamped to u64. The
    /// widening to u128/i128 is what makes every resolution and offset overflow-free:
    /// ticks * 10^9 < 2^94, and the offset is below 2^93 in magnitude.
    #[inline]
    fn to_ns(self, ticks: u64, offset_ns: i128) -> u64 {
        let t = u128::from(ticks);
        let ns = match self {
            TsConv::Mul(m) => t * u128::from(m),
            TsConv::Div(d) => t / d,
            TsConv::Pow2(k) => (t * 1_000_000_000) >> k,
            TsConv::Zero => 0,
        };
        if offset_ns == 0 {
            return u64::try_from(ns).unwrap_or(u64::MAX);
        }
        // ns < 2^94, so it fits an i128 with room for the offset.
        let shifted = ns as i128 + offset_ns;
        u64::try_from(shifted.max(0)).unwrap_or(u64::MAX)
    }
}

/// Per-interface state the packet path needs, parallel to the public `Interface` list.
#[derive(Clone, Copy, Debug)]
struct IfaceState {
    linktype: u32,
    snaplen: u32,
    conv: TsConv,
    offset_ns: i128,
}

/// Iterator state over the packet blocks of a pcapng file.
pub(super) struct PcapNgRecords<'a> {
    data: &'a [u8],
    /// Offset of the next block; never beyond `data.len()`.
    pos: usize,
    /// Packet records yielded so far.
    index: u64,
    /// Byte order of the current section.
    big_endian: bool,
    /// Index of the current section; `None` before the first SHB.
    section: Option<u32>,
    /// Index in `ifaces` of interface 0 of the current section.
    section_base: usize,
    ifaces: Vec<Interface>,
    states: Vec<IfaceState>,
    done: bool,
}

/// What one block turned out to be.
enum Step<'a> {
    Packet(Record<'a>),
    Other,
}

impl<'a> PcapNgRecords<'a> {
    pub fn new(data: &'a [u8]) -> Self {
        PcapNgRecords {
            data,
            pos: 0,
            index: 0,
            big_endian: false,
            section: None,
            section_base: 0,
            ifaces: Vec::new(),
            states: Vec::new(),
            done: false,
        }
    }

    pub fn pos(&self) -> usize {
        self.pos
    }

    /// The same cursor over other bytes (see `Records::rebind`).
    pub fn rebind<'b>(self, data: &'b [u8]) -> PcapNgRecords<'b> {
        PcapNgRecords {
            data,
            pos: self.pos,
            index: self.index,
            big_endian: self.big_endian,
            section: self.section,
            section_base: self.section_base,
            ifaces: self.ifaces,
            states: self.states,
            done: self.done,
        }
    }

    pub fn interfaces(&self) -> &[Interface] {
        &self.ifaces
    }

    pub fn next(&mut self) -> Option<Result<Record<'a>, CapError>> {
        while !self.done {
            let rest = match self.data.get(self.pos..) {
                Some(r) if !r.is_empty() => r,
                _ => {
                    self.done = true;
                    return None;
                }
            };
            match self.block(rest) {
                Ok((len, step)) => {
                    // `block` checked that len <= rest.len().
                    self.pos += len;
                    if let Step::Packet(rec) = step {
                        self.index += 1;
                        return Some(Ok(rec));
                    }
                }
                Err(e) => {
                    self.done = true;
                    return Some(Err(e));
                }
            }
        }
        None
    }

    #[cold]
    fn malformed(&self, reason: String) -> CapError {
        CapError::Malformed {
            offset: self.pos as u64,
            reason,
        }
    }

    #[cold]
    fn bad_record(&self, reason: String) -> CapError {
        CapError::BadRecord {
            offset: self.pos as u64,
            record: self.index,
            reason,
        }
    }

    /// Validates the framing of the block at the start of `rest` and interprets it. Returns
    /// the block's total length and what it was. Nothing is committed (byte order, section,
    /// interfaces) unless the whole block is valid.
    #[inline]
    fn block(&mut self, rest: &'a [u8]) -> Result<(usize, Step<'a>), CapError> {
        let truncated = || CapError::Truncated {
            offset: self.pos as u64,
            record: self.index,
        };
        let Some(head) = rest.first_chunk::<8>() else {
            return Err(truncated());
        };
        let is_shb = head[..4] == SHB_TYPE_BYTES;
        let big_endian = if is_shb {
            // The SHB's own length is in the byte order its body declares.
            let Some(bom) = rest.get(8..12) else {
                return Err(truncated());
            };
            match bom {
                [0x4d, 0x3c, 0x2b, 0x1a] => false,
                [0x1a, 0x2b, 0x3c, 0x4d] => true,
                _ => {
                    return Err(self.malformed(format!(
                        "Section Header Block byte-order magic is {:02x} {:02x} {:02x} {:02x}, \
                         not 1a2b3c4d in either byte order",
                        bom[0], bom[1], bom[2], bom[3]
                    )))
                }
            }
        } else if self.section.is_none() {
            return Err(
                self.malformed("a pcapng file must start with a Section Header Block".to_string())
            );
        } else {
            self.big_endian
        };
        let btype = rd32([head[0], head[1], head[2], head[3]], big_endian);
        let total = rd32([head[4], head[5], head[6], head[7]], big_endian);
        if total < 12 || total & 3 != 0 {
            return Err(self.malformed(format!(
                "block of type {btype:#x} declares total length {total}, which is not a \
                 multiple of 4 of at least 12"
            )));
        }
        if total > MAX_BLOCK_LEN {
            return Err(self.malformed(format!(
                "block of type {btype:#x} declares total length {total}, more than the \
                 {MAX_BLOCK_LEN}-byte limit; the block header is corrupt"
            )));
        }
        let len = total as usize;
        let Some(block) = rest.get(..len) else {
            return Err(truncated());
        };
        let trailer = rd32_at(block, len - 4, big_endian).unwrap_or(0);
        if trailer != total {
            return Err(self.malformed(format!(
                "block of type {btype:#x} declares total length {total} at its start but \
                 {trailer} at its end"
            )));
        }
        let body = &block[8..len - 4];
        let step = match btype {
            SHB => {
                self.section_header(body, big_endian)?;
                Step::Other
            }
            IDB => {
                self.interface_description(body)?;
                Step::Other
            }
            EPB => Step::Packet(self.enhanced_packet(body)?),
            SPB => Step::Packet(self.simple_packet(body)?),
            PB => Step::Packet(self.obsolete_packet(body)?),
            _ => Step::Other,
        };
        Ok((len, step))
    }

    fn section_header(&mut self, body: &[u8], big_endian: bool) -> Result<(), CapError> {
        // byte-order magic (4), major (2), minor (2), section length (8)
        let Some(fixed) = body.first_chunk::<16>() else {
            return Err(self.malformed(format!(
                "Section Header Block body is {} bytes, shorter than its 16-byte fixed part",
                body.len()
            )));
        };
        let major = if big_endian {
            u16::from_be_bytes([fixed[4], fixed[5]])
        } else {
            u16::from_le_bytes([fixed[4], fixed[5]])
        };
        if major != 1 {
            return Err(self.malformed(format!(
                "pcapng major version {major} is not supported (only 1 is defined)"
            )));
        }
        debug_assert_eq!(
            rd32([fixed[0], fixed[1], fixed[2], fixed[3]], big_endian),
            BYTE_ORDER_MAGIC
        );
        self.big_endian = big_endian;
        self.section = Some(self.section.map_or(0, |s| s.saturating_add(1)));
        self.section_base = self.ifaces.len();
        Ok(())
    }

    fn interface_description(&mut self, body: &[u8]) -> Result<(), CapError> {
        let be = self.big_endian;
        let Some(fixed) = body.first_chunk::<8>() else {
            return Err(self.malformed(format!(
                "Interface Description Block body is {} bytes, shorter than its 8-byte fixed \
                 part",
                body.len()
            )));
        };
        let linktype = u32::from(if be {
            u16::from_be_bytes([fixed[0], fixed[1]])
        } else {
            u16::from_le_bytes([fixed[0], fixed[1]])
        });
        let snaplen = rd32([fixed[4], fixed[5], fixed[6], fixed[7]], be);
        let mut name = None;
        let mut tsresol = DEFAULT_TSRESOL;
        let mut tsoffset = 0i64;
        let mut opts = &body[8..];
        while let Some(oh) = opts.first_chunk::<4>() {
            let (code, olen) = if be {
                (
                    u16::from_be_bytes([oh[0], oh[1]]),
                    u16::from_be_bytes([oh[2], oh[3]]),
                )
            } else {
                (
                    u16::from_le_bytes([oh[0], oh[1]]),
                    u16::from_le_bytes([oh[2], oh[3]]),
                )
            };
            if code == OPT_ENDOFOPT {
                break;
            }
            let olen = usize::from(olen);
            let Some(value) = opts.get(4..4 + olen) else {
                return Err(self.malformed(format!(
                    "option {code} of an Interface Description Block declares {olen} bytes, \
                     more than remain in the block"
                )));
            };
            match code {
                OPT_IF_NAME => {
                    let s = String::from_utf8_lossy(value);
                    name = Some(s.trim_end_matches('\0').to_string());
                }
                OPT_IF_TSRESOL => match value {
                    [r] => tsresol = *r,
                    _ => {
                        return Err(self
                            .malformed(format!("if_tsresol option is {olen} bytes long, not 1")))
                    }
                },
                OPT_IF_TSOFFSET => match value.first_chunk::<8>() {
                    Some(v) if olen == 8 => {
                        tsoffset = if be {
                            i64::from_be_bytes(*v)
                        } else {
                            i64::from_le_bytes(*v)
                        }
                    }
                    _ => {
                        return Err(self
                            .malformed(format!("if_tsoffset option is {olen} bytes long, not 8")))
                    }
                },
                _ => {}
            }
            // Values are padded to 4 bytes; a missing final pad just ends the options.
            let padded = (4 + olen + 3) & !3;
            opts = opts.get(padded..).unwrap_or(&[]);
        }
        self.ifaces.push(Interface {
            linktype,
            snaplen,
            name,
            section: self.section.unwrap_or(0),
            tsresol,
            tsoffset,
        });
        self.states.push(IfaceState {
            linktype,
            snaplen,
            conv: TsConv::new(tsresol),
            offset_ns: i128::from(tsoffset) * 1_000_000_000,
        });
        Ok(())
    }

    /// Looks up interface `id` of the current section.
    #[inline]
    fn iface(&self, id: u32) -> Result<(u32, IfaceState), CapError> {
        let global = self.section_base.checked_add(id as usize);
        match global.and_then(|g| self.states.get(g).map(|s| (g, s))) {
            // The global index fits u32: there are at most len/20 IDBs in a file, and the
            // file fits in memory; saturate rather than trust that on 64-bit hosts.
            Some((g, s)) => Ok((u32::try_from(g).unwrap_or(u32::MAX), *s)),
            None => Err(CapError::UnknownInterface {
                offset: self.pos as u64,
                record: self.index,
                interface: id,
            }),
        }
    }

    /// Packet data of `cap_len` bytes at the start of `rest`, checked against the block.
    #[inline]
    fn packet_data(&self, rest: &'a [u8], cap_len: u32) -> Result<&'a [u8], CapError> {
        match rest.get(..cap_len as usize) {
            Some(d) => Ok(d),
            None => Err(self.bad_record(format!(
                "captured length {cap_len} runs past the end of its block ({} bytes of room)",
                rest.len()
            ))),
        }
    }

    /// Enhanced Packet Block: interface id, timestamp (high, low), captured length, original
    /// length, data, options.
    #[inline]
    fn enhanced_packet(&self, body: &'a [u8]) -> Result<Record<'a>, CapError> {
        let be = self.big_endian;
        let Some(f) = body.first_chunk::<20>() else {
            return Err(self.bad_record(format!(
                "Enhanced Packet Block body is {} bytes, shorter than its 20-byte fixed part",
                body.len()
            )));
        };
        let id = rd32([f[0], f[1], f[2], f[3]], be);
        let ts_hi = rd32([f[4], f[5], f[6], f[7]], be);
        let ts_lo = rd32([f[8], f[9], f[10], f[11]], be);
        let cap_len = rd32([f[12], f[13], f[14], f[15]], be);
        let orig_len = rd32([f[16], f[17], f[18], f[19]], be);
        let (interface, st) = self.iface(id)?;
        let data = self.packet_data(&body[20..], cap_len)?;
        let ticks = (u64::from(ts_hi) << 32) | u64::from(ts_lo);
        Ok(Record {
            data,
            orig_len,
            ts_ns: Some(st.conv.to_ns(ticks, st.offset_ns)),
            linktype: st.linktype,
            interface,
        })
    }

    /// Simple Packet Block: original length, then data. It always belongs to interface 0 and
    /// has no captured length: the data is the original length cut to the snaplen and to the
    /// block (the block may carry padding, which is not data).
    #[inline]
    fn simple_packet(&self, body: &'a [u8]) -> Result<Record<'a>, CapError> {
        let Some(f) = body.first_chunk::<4>() else {
            return Err(self.bad_record(format!(
                "Simple Packet Block body is {} bytes, shorter than its 4-byte fixed part",
                body.len()
            )));
        };
        let orig_len = rd32(*f, self.big_endian);
        let (interface, st) = self.iface(0)?;
        let room = &body[4..];
        let mut cap = (orig_len as usize).min(room.len());
        if st.snaplen != 0 {
            cap = cap.min(st.snaplen as usize);
        }
        Ok(Record {
            data: &room[..cap],
            orig_len,
            ts_ns: None,
            linktype: st.linktype,
            interface,
        })
    }

    /// The obsolete Packet Block (type 2): a 16-bit interface id and a 16-bit drops count in
    /// place of the EPB's 32-bit interface id; otherwise laid out like an EPB.
    #[inline]
    fn obsolete_packet(&self, body: &'a [u8]) -> Result<Record<'a>, CapError> {
        let be = self.big_endian;
        let Some(f) = body.first_chunk::<20>() else {
            return Err(self.bad_record(format!(
                "Packet Block body is {} bytes, shorter than its 20-byte fixed part",
                body.len()
            )));
        };
        let id = u32::from(if be {
            u16::from_be_bytes([f[0], f[1]])
        } else {
            u16::from_le_bytes([f[0], f[1]])
        });
        let ts_hi = rd32([f[4], f[5], f[6], f[7]], be);
        let ts_lo = rd32([f[8], f[9], f[10], f[11]], be);
        let cap_len = rd32([f[12], f[13], f[14], f[15]], be);
        let orig_len = rd32([f[16], f[17], f[18], f[19]], be);
        let (interface, st) = self.iface(id)?;
        let data = self.packet_data(&body[20..], cap_len)?;
        let ticks = (u64::from(ts_hi) << 32) | u64::from(ts_lo);
        Ok(Record {
            data,
            orig_len,
            ts_ns: Some(st.conv.to_ns(ticks, st.offset_ns)),
            linktype: st.linktype,
            interface,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capfile::{CaptureFile, Format};

    /// Builds pcapng blocks in either byte order.
    struct Builder {
        be: bool,
        out: Vec<u8>,
    }

    impl Builder {
        fn u16(&self, v: u16) -> [u8; 2] {
            if self.be {
                v.to_be_bytes()
            } else {
                v.to_le_bytes()
            }
        }
        fn u32(&self, v: u32) -> [u8; 4] {
            if self.be {
                v.to_be_bytes()
            } else {
                v.to_le_bytes()
            }
        }
        fn block(&mut self, btype: u32, body: &[u8]) -> &mut Self {
            let mut body = body.to_vec();
            while body.len() & 3 != 0 {
                body.push(0);
            }
            let total = 12 + body.len() as u32;
            let (t, l) = (self.u32(btype), self.u32(total));
            self.out.extend_from_slice(&t);
            self.out.extend_from_slice(&l);
            self.out.extend_from_slice(&body);
            self.out.extend_from_slice(&l);
            self
        }
        fn shb(&mut self, be: bool) -> &mut Self {
            self.be = be;
            let mut body = self.u32(BYTE_ORDER_MAGIC).to_vec();
            body.extend_from_slice(&self.u16(1));
            body.extend_from_slice(&self.u16(0));
            body.extend_from_slice(&[0xff; 8]);
            self.block(SHB, &body)
        }
        fn option(&self, body: &mut Vec<u8>, code: u16, value: &[u8]) {
            body.extend_from_slice(&self.u16(code));
            body.extend_from_slice(&self.u16(value.len() as u16));
            body.extend_from_slice(value);
            while body.len() & 3 != 0 {
                body.push(0);
            }
        }
        fn idb(&mut self, linktype: u16, snaplen: u32, opts: &[(u16, Vec<u8>)]) -> &mut Self {
            let mut body = self.u16(linktype).to_vec();
            body.extend_from_slice(&[0, 0]);
            body.extend_from_slice(&self.u32(snaplen));
            for (code, value) in opts {
                self.option(&mut body, *code, value);
            }
            if !opts.is_empty() {
                body.extend_from_slice(&[0; 4]);
            }
            self.block(IDB, &body)
        }
        fn epb(&mut self, iface: u32, ticks: u64, data: &[u8], orig: u32) -> &mut Self {
            let mut body = self.u32(iface).to_vec();
            body.extend_from_slice(&self.u32((ticks >> 32) as u32));
            body.extend_from_slice(&self.u32(ticks as u32));
            body.extend_from_slice(&self.u32(data.len() as u32));
            body.extend_from_slice(&self.u32(orig));
            body.extend_from_slice(data);
            self.block(EPB, &body)
        }
        fn spb(&mut self, orig: u32, data: &[u8]) -> &mut Self {
            let mut body = self.u32(orig).to_vec();
            body.extend_from_slice(data);
            self.block(SPB, &body)
        }
        fn pb(&mut self, iface: u16, ticks: u64, data: &[u8], orig: u32) -> &mut Self {
            let mut body = self.u16(iface).to_vec();
            body.extend_from_slice(&self.u16(7));
            body.extend_from_slice(&self.u32((ticks >> 32) as u32));
            body.extend_from_slice(&self.u32(ticks as u32));
            body.extend_from_slice(&self.u32(data.len() as u32));
            body.extend_from_slice(&self.u32(orig));
            body.extend_from_slice(data);
            self.block(PB, &body)
        }
        fn build(&self) -> Vec<u8> {
            self.out.clone()
        }
    }

    fn new() -> Builder {
        Builder {
            be: false,
            out: Vec::new(),
        }
    }

    /// data, orig_len, ts_ns, linktype, interface
    type Owned = (Vec<u8>, u32, Option<u64>, u32, u32);

    fn read(bytes: Vec<u8>) -> (Vec<Owned>, Option<CapError>) {
        let cap = CaptureFile::from_bytes(bytes).unwrap();
        assert_eq!(cap.format(), Format::PcapNg);
        let mut out = Vec::new();
        let mut err = None;
        for r in cap.records() {
            match r {
                Ok(r) => out.push((
                    r.data.to_vec(),
                    r.orig_len,
                    r.ts_ns,
                    r.linktype,
                    r.interface,
                )),
                Err(e) => err = Some(e),
            }
        }
        (out, err)
    }

    #[test]
    fn two_sections_of_opposite_byte_order_and_all_packet_blocks() {
        let f = new()
            .shb(true)
            .idb(127, 0, &[(OPT_IF_NAME, b"wlan0mon".to_vec())])
            .idb(105, 4, &[(OPT_IF_TSRESOL, vec![9])])
            .epb(0, 1_500_000_000_123_456, b"abcde", 60)
            .block(0x4000_0bad, b"custom block, skipped")
            .spb(10, b"0123456789xx")
            .pb(1, 42, b"pb", 2)
            .shb(false)
            .idb(
                192,
                0,
                &[
                    (OPT_IF_TSRESOL, vec![3]),
                    (OPT_IF_TSOFFSET, 100i64.to_le_bytes().to_vec()),
                ],
            )
            .epb(0, 5, b"x", 1)
            .build();
        let (recs, err) = read(f.clone());
        assert_eq!(err, None);
        assert_eq!(
            recs,
            vec![
                (
                    b"abcde".to_vec(),
                    60,
                    Some(1_500_000_000_123_456_000),
                    127,
                    0
                ),
                (b"0123456789".to_vec(), 10, None, 127, 0),
                (b"pb".to_vec(), 2, Some(42), 105, 1),
                (b"x".to_vec(), 1, Some(100_005_000_000), 192, 2),
            ]
        );
        let cap = CaptureFile::from_bytes(f).unwrap();
        let ifs = cap.interfaces();
        assert_eq!(ifs.len(), 3);
        assert_eq!(ifs[0].name.as_deref(), Some("wlan0mon"));
        assert_eq!((ifs[0].section, ifs[0].tsresol), (0, 6));
        assert_eq!(
            (ifs[1].linktype, ifs[1].snaplen, ifs[1].tsresol),
            (105, 4, 9)
        );
        assert_eq!(
            (ifs[2].section, ifs[2].tsoffset, ifs[2].tsresol),
            (1, 100, 3)
        );
        let mut it = cap.records();
        it.by_ref().for_each(drop);
        assert_eq!(it.bytes_consumed(), cap.len());
    }

    #[test]
    fn simple_packet_is_cut_to_the_snaplen() {
        let f = new()
            .shb(false)
            .idb(105, 4, &[])
            .spb(10, b"0123456789xx")
            .build();
        let (recs, err) = read(f);
        assert_eq!(err, None);
        assert_eq!(recs[0].0, b"0123");
    }

    #[test]
    fn timestamp_resolutions() {
        let max = u64::MAX;
        assert_eq!(TsConv::new(6).to_ns(1_000_001, 0), 1_000_001_000);
        assert_eq!(TsConv::new(9).to_ns(max, 0), max);
        assert_eq!(TsConv::new(0).to_ns(3, 0), 3_000_000_000);
        assert_eq!(TsConv::new(0).to_ns(max, 0), max, "saturates");
        assert_eq!(TsConv::new(12).to_ns(1_234_567, 0), 1_234);
        assert_eq!(TsConv::new(47).to_ns(max, 0), 0);
        assert_eq!(TsConv::new(48).to_ns(max, 0), 0);
        assert_eq!(TsConv::new(127).to_ns(max, 0), 0);
        assert_eq!(
            TsConv::new(0x80 | 10).to_ns(1024 * 5 + 512, 0),
            5_500_000_000
        );
        assert_eq!(TsConv::new(0x80 | 20).to_ns(3, 0), 2_861);
        assert_eq!(TsConv::new(0x80).to_ns(max, 0), max);
        assert_eq!(TsConv::new(0xff).to_ns(max, 0), 0);
        assert_eq!(
            TsConv::new(6).to_ns(5, -1_000_000_000),
            0,
            "clamps at the epoch"
        );
        assert_eq!(
            TsConv::new(6).to_ns(5_000_000, -1_000_000_000),
            4_000_000_000
        );
        assert_eq!(
            TsConv::new(9).to_ns(max, i128::from(i64::MAX) * 1_000_000_000),
            max
        );
        for r in 0..=255u8 {
            for t in [0, 1, max / 3, max] {
                for off in [i64::MIN, -1, 0, 1, i64::MAX] {
                    let _ = TsConv::new(r).to_ns(t, i128::from(off) * 1_000_000_000);
                }
            }
        }
    }

    #[test]
    fn framing_errors() {
        let good = new()
            .shb(false)
            .idb(127, 0, &[])
            .epb(0, 1, b"abcd", 4)
            .build();
        let epb_at = good.len() - 36;
        // total length < 12, not a multiple of 4, absurd; then a trailer mismatch
        for (patch, want) in [
            (8u32, "at least 12"),
            (38, "multiple of 4"),
            (0xffff_fff0, "corrupt"),
        ] {
            let mut f = good.clone();
            f[epb_at + 4..epb_at + 8].copy_from_slice(&patch.to_le_bytes());
            match read(f) {
                (recs, Some(CapError::Malformed { offset, reason })) => {
                    assert!(recs.is_empty());
                    assert_eq!(offset, epb_at as u64);
                    assert!(reason.contains(want), "{reason}");
                }
                other => panic!("{other:?}"),
            }
        }
        let mut f = good.clone();
        let n = f.len();
        f[n - 4] ^= 0x10;
        assert!(
            matches!(read(f), (_, Some(CapError::Malformed { reason, .. })) if reason.contains("at its end"))
        );
        // a block that runs past the end of the file
        for cut in epb_at + 1..good.len() {
            assert_eq!(
                read(good[..cut].to_vec()).1,
                Some(CapError::Truncated {
                    offset: epb_at as u64,
                    record: 0
                })
            );
        }
        // captured length larger than the block
        let mut f = good.clone();
        f[epb_at + 20..epb_at + 24].copy_from_slice(&5u32.to_le_bytes());
        assert!(matches!(
            read(f),
            (_, Some(CapError::BadRecord { record: 0, .. }))
        ));
        // unknown interface
        let mut f = good.clone();
        f[epb_at + 8] = 1;
        assert_eq!(
            read(f).1,
            Some(CapError::UnknownInterface {
                offset: epb_at as u64,
                record: 0,
                interface: 1
            })
        );
        // bad byte-order magic
        let mut f = good.clone();
        f[8] = 0;
        assert!(matches!(
            read(f),
            (_, Some(CapError::Malformed { offset: 0, .. }))
        ));
        // a second section does not inherit the first one's interfaces
        let mut f = good.clone();
        f.extend_from_slice(&new().shb(true).epb(0, 1, b"", 0).build());
        assert!(
            matches!(read(f), (r, Some(CapError::UnknownInterface { record: 1, .. })) if r.len() == 1)
        );
    }

    #[test]
    fn idb_option_errors() {
        let f = new()
            .shb(false)
            .idb(127, 0, &[(OPT_IF_TSRESOL, vec![6, 6])])
            .build();
        assert!(
            matches!(read(f), (_, Some(CapError::Malformed { reason, .. })) if reason.contains("if_tsresol"))
        );
        let mut f = new()
            .shb(false)
            .idb(127, 0, &[(OPT_IF_NAME, b"abcd".to_vec())])
            .build();
        // option length 200 inside a small block
        let at = f.len() - 4 - 4 - 4 - 4 + 2; // length field of the if_name option
        f[at..at + 2].copy_from_slice(&200u16.to_le_bytes());
        assert!(
            matches!(read(f), (_, Some(CapError::Malformed { reason, .. })) if reason.contains("option 2"))
        );
    }
}
