//! A minimal pcapng encoder: one little-endian section, interfaces with nanosecond
//! timestamps, and Enhanced Packet Blocks.
//!
//! Only what the sinks need is written, and always the same way, so the output is easy to
//! check byte for byte: the Section Header Block carries only `shb_userappl`, each Interface
//! Description Block `if_name` (when given) and `if_tsresol = 9`, and packets carry no
//! options. Nanosecond resolution means the `ts_ns` of a [`Record`](crate::capfile::Record)
//! is written unchanged, with no rounding, whatever file it came from.
//!
//! Besides the [`PcapngWriter`] that streams into any `io::Write`, [`encode_preamble`] and
//! [`encode_packet`] produce the same bytes into buffers: a live stream sends each new
//! subscriber the preamble, then the packet blocks it fans out to everybody.

use std::io::{self, Write};

const SHB_TYPE: u32 = 0x0a0d_0d0a;
const IDB_TYPE: u32 = 1;
const EPB_TYPE: u32 = 6;
const BYTE_ORDER_MAGIC: u32 = 0x1a2b_3c4d;

const OPT_ENDOFOPT: u16 = 0;
const SHB_USERAPPL: u16 = 4;
const IF_NAME: u16 = 2;
const IF_TSRESOL: u16 = 9;

/// Fixed part of an Enhanced Packet Block before the data: type, total length, interface,
/// timestamp high and low, captured length, original length.
const EPB_HEADER_LEN: usize = 28;
/// EPB framing around the data: the header plus the trailing total length.
const EPB_OVERHEAD: usize = EPB_HEADER_LEN + 4;

/// Padding source: blocks and options are padded to 4 bytes with zeros.
static ZEROS: [u8; 3] = [0; 3];

/// Bytes of zero padding after `len` bytes to reach a multiple of 4.
#[inline]
fn pad_len(len: usize) -> usize {
    (4 - (len & 3)) & 3
}

fn invalid(msg: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, msg)
}

/// One interface of a [`encode_preamble`] preamble.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InterfaceDesc<'a> {
    /// LINKTYPE_ number; must fit in 16 bits.
    pub linktype: u32,
    /// Snapshot length; 0 means unlimited.
    pub snaplen: u32,
    /// `if_name`, if any.
    pub name: Option<&'a str>,
}

/// Appends one option (code, length, value, padding) to `out`.
fn put_option(out: &mut Vec<u8>, code: u16, value: &[u8]) -> io::Result<()> {
    let len = u16::try_from(value.len()).map_err(|_| {
        invalid(format!(
            "pcapng option {code} value is {} bytes; options hold at most 65535",
            value.len()
        ))
    })?;
    out.extend_from_slice(&code.to_le_bytes());
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(value);
    out.extend_from_slice(&ZEROS[..pad_len(value.len())]);
    Ok(())
}

/// Appends a block whose body (already padded to 4 bytes) is built by `body`.
fn put_block(
    out: &mut Vec<u8>,
    btype: u32,
    body: impl FnOnce(&mut Vec<u8>) -> io::Result<()>,
) -> io::Result<()> {
    let start = out.len();
    out.extend_from_slice(&btype.to_le_bytes());
    out.extend_from_slice(&[0; 4]); // total length, patched below
    body(out)?;
    let total = out.len() - start + 4;
    debug_assert_eq!(total & 3, 0);
    let total = u32::try_from(total)
        .map_err(|_| invalid(format!("pcapng block of {total} bytes is too large")))?;
    out[start + 4..start + 8].copy_from_slice(&total.to_le_bytes());
    out.extend_from_slice(&total.to_le_bytes());
    Ok(())
}

/// Appends a little-endian Section Header Block of unknown section length (-1, which lets
/// the file be streamed) naming `application` in `shb_userappl`.
fn put_shb(out: &mut Vec<u8>, application: &str) -> io::Result<()> {
    put_block(out, SHB_TYPE, |out| {
        out.extend_from_slice(&BYTE_ORDER_MAGIC.to_le_bytes());
        out.extend_from_slice(&1u16.to_le_bytes()); // major
        out.extend_from_slice(&0u16.to_le_bytes()); // minor
        out.extend_from_slice(&(-1i64).to_le_bytes()); // section length: not known
        if !application.is_empty() {
            put_option(out, SHB_USERAPPL, application.as_bytes())?;
        }
        put_option(out, OPT_ENDOFOPT, &[])
    })
}

/// Appends an Interface Description Block with nanosecond timestamps.
fn put_idb(out: &mut Vec<u8>, iface: InterfaceDesc<'_>) -> io::Result<()> {
    let linktype = u16::try_from(iface.linktype).map_err(|_| {
        invalid(format!(
            "link type {:#x} does not fit the 16 bits pcapng stores",
            iface.linktype
        ))
    })?;
    put_block(out, IDB_TYPE, |out| {
        out.extend_from_slice(&linktype.to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes()); // reserved
        out.extend_from_slice(&iface.snaplen.to_le_bytes());
        if let Some(name) = iface.name {
            put_option(out, IF_NAME, name.as_bytes())?;
        }
        put_option(out, IF_TSRESOL, &[9])?;
        put_option(out, OPT_ENDOFOPT, &[])
    })
}

/// The fixed header and trailer of an EPB for `data_len` bytes of data. Validating here,
/// once, keeps the buffer and stream paths identical.
#[inline]
fn epb_frame(
    interface: u32,
    ts_ns: u64,
    data_len: usize,
    orig_len: u32,
) -> io::Result<([u8; EPB_HEADER_LEN], [u8; 4])> {
    let total = data_len
        .checked_add(pad_len(data_len) + EPB_OVERHEAD)
        .and_then(|t| u32::try_from(t).ok())
        .ok_or_else(|| {
            invalid(format!(
                "packet of {data_len} bytes is too large for a pcapng block"
            ))
        })?;
    // data_len < total, so it fits u32 too.
    let cap_len = data_len as u32;
    let mut h = [0u8; EPB_HEADER_LEN];
    h[0..4].copy_from_slice(&EPB_TYPE.to_le_bytes());
    h[4..8].copy_from_slice(&total.to_le_bytes());
    h[8..12].copy_from_slice(&interface.to_le_bytes());
    h[12..16].copy_from_slice(&((ts_ns >> 32) as u32).to_le_bytes());
    h[16..20].copy_from_slice(&(ts_ns as u32).to_le_bytes());
    h[20..24].copy_from_slice(&cap_len.to_le_bytes());
    h[24..28].copy_from_slice(&orig_len.to_le_bytes());
    Ok((h, total.to_le_bytes()))
}

/// Encodes a complete pcapng preamble: the Section Header Block, then one Interface
/// Description Block per entry of `interfaces` (their ids are their positions).
///
/// A live stream computes this once and sends it to each new subscriber before any packet.
/// It is byte-for-byte what [`PcapngWriter::new`] followed by
/// [`add_interface`](PcapngWriter::add_interface) calls writes.
pub fn encode_preamble(application: &str, interfaces: &[InterfaceDesc<'_>]) -> io::Result<Vec<u8>> {
    let mut out = Vec::with_capacity(64 + 48 * interfaces.len());
    put_shb(&mut out, application)?;
    for &iface in interfaces {
        put_idb(&mut out, iface)?;
    }
    Ok(out)
}

/// Encodes Interface Description Blocks only: for interfaces added after a preamble was sent
/// (their ids continue from the interfaces described before).
pub fn encode_interfaces(interfaces: &[InterfaceDesc<'_>]) -> io::Result<Vec<u8>> {
    let mut out = Vec::with_capacity(48 * interfaces.len());
    for &iface in interfaces {
        put_idb(&mut out, iface)?;
    }
    Ok(out)
}

/// Appends one Enhanced Packet Block to `out`: what [`PcapngWriter::write_packet`] writes.
///
/// The interface id is not checked (the buffer does not know the preamble it will follow);
/// `orig_len` is written as given, even if smaller than `data`.
pub fn encode_packet(
    out: &mut Vec<u8>,
    interface: u32,
    ts_ns: u64,
    data: &[u8],
    orig_len: u32,
) -> io::Result<()> {
    let (header, trailer) = epb_frame(interface, ts_ns, data.len(), orig_len)?;
    out.reserve(data.len() + EPB_OVERHEAD + 3);
    out.extend_from_slice(&header);
    out.extend_from_slice(data);
    out.extend_from_slice(&ZEROS[..pad_len(data.len())]);
    out.extend_from_slice(&trailer);
    Ok(())
}

/// Streams a pcapng file into `W`.
///
/// Each packet is four `write_all` calls (header, data, padding, trailer) and no allocation;
/// wrap unbuffered destinations such as a `File` or a socket in a `BufWriter`. If a write
/// fails mid-block the output is left with a partial block: treat the writer as broken.
#[derive(Debug)]
pub struct PcapngWriter<W: Write> {
    w: W,
    interfaces: u32,
    bytes_written: u64,
}

impl<W: Write> PcapngWriter<W> {
    /// Writes the Section Header Block (little-endian, section length -1, `shb_userappl` =
    /// `application`).
    pub fn new(mut w: W, application: &str) -> io::Result<Self> {
        let mut shb = Vec::with_capacity(64);
        put_shb(&mut shb, application)?;
        w.write_all(&shb)?;
        Ok(PcapngWriter {
            w,
            interfaces: 0,
            bytes_written: shb.len() as u64,
        })
    }

    /// Writes an Interface Description Block with nanosecond timestamps and returns its id,
    /// which [`write_packet`](Self::write_packet) takes. Ids count from 0 in call order.
    pub fn add_interface(
        &mut self,
        linktype: u32,
        snaplen: u32,
        name: Option<&str>,
    ) -> io::Result<u32> {
        let id = self.interfaces;
        let mut idb = Vec::with_capacity(48);
        put_idb(
            &mut idb,
            InterfaceDesc {
                linktype,
                snaplen,
                name,
            },
        )?;
        self.w.write_all(&idb)?;
        self.bytes_written += idb.len() as u64;
        self.interfaces += 1;
        Ok(id)
    }

    /// Writes one Enhanced Packet Block. `interface` must be an id returned by
    /// [`add_interface`](Self::add_interface); `ts_ns` is nanoseconds since the epoch.
    #[inline]
    pub fn write_packet(
        &mut self,
        interface: u32,
        ts_ns: u64,
        data: &[u8],
        orig_len: u32,
    ) -> io::Result<()> {
        if interface >= self.interfaces {
            return Err(invalid(format!(
                "interface {interface} was never added ({} interface(s) so far)",
                self.interfaces
            )));
        }
        let (header, trailer) = epb_frame(interface, ts_ns, data.len(), orig_len)?;
        let pad = pad_len(data.len());
        self.w.write_all(&header)?;
        self.w.write_all(data)?;
        self.w.write_all(&ZEROS[..pad])?;
        self.w.write_all(&trailer)?;
        self.bytes_written += (EPB_OVERHEAD + data.len() + pad) as u64;
        Ok(())
    }

    /// Bytes handed to the underlying writer so far (including buffered ones, if it buffers).
    pub fn bytes_written(&self) -> u64 {
        self.bytes_written
    }

    /// Number of interfaces added so far.
    pub fn interface_count(&self) -> u32 {
        self.interfaces
    }

    /// Flushes the underlying writer.
    pub fn flush(&mut self) -> io::Result<()> {
        self.w.flush()
    }

    /// Returns the underlying writer (not flushed: call [`flush`](Self::flush) first if it
    /// buffers and you will not drop it through its own flushing `Drop`).
    pub fn into_inner(self) -> W {
        self.w
    }

    pub fn get_ref(&self) -> &W {
        &self.w
    }

    /// Mutable access to the underlying writer; writing to it directly corrupts the file.
    pub fn get_mut(&mut self) -> &mut W {
        &mut self.w
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capfile::{CaptureFile, Format};

    #[test]
    fn section_header_layout() {
        let w = PcapngWriter::new(Vec::new(), "airsift").unwrap();
        let b = w.into_inner();
        #[rustfmt::skip]
        let want: &[u8] = &[
            0x0a, 0x0d, 0x0d, 0x0a, 44, 0, 0, 0,
            0x4d, 0x3c, 0x2b, 0x1a, 1, 0, 0, 0,
            0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
            4, 0, 7, 0, b'a', b'i', b'r', b's', b'i', b'f', b't', 0,
            0, 0, 0, 0,
            44, 0, 0, 0,
        ];
        assert_eq!(b, want);
    }

    #[test]
    fn interface_and_packet_layout() {
        let mut w = PcapngWriter::new(Vec::new(), "").unwrap();
        let shb_len = w.bytes_written() as usize;
        assert_eq!(w.add_interface(127, 65535, Some("wlan0")).unwrap(), 0);
        assert_eq!(w.add_interface(105, 0, None).unwrap(), 1);
        w.write_packet(1, 0x0102_0304_0506_0708, b"hello", 300)
            .unwrap();
        let written = w.bytes_written();
        let b = w.into_inner();
        assert_eq!(written, b.len() as u64);
        #[rustfmt::skip]
        let idb0: &[u8] = &[
            1, 0, 0, 0, 44, 0, 0, 0,
            127, 0, 0, 0, 0xff, 0xff, 0, 0,
            2, 0, 5, 0, b'w', b'l', b'a', b'n', b'0', 0, 0, 0,
            9, 0, 1, 0, 9, 0, 0, 0,
            0, 0, 0, 0,
            44, 0, 0, 0,
        ];
        let idb1_at = shb_len + idb0.len();
        assert_eq!(&b[shb_len..idb1_at], idb0);
        let epb_at = idb1_at + 32;
        #[rustfmt::skip]
        let epb: &[u8] = &[
            6, 0, 0, 0, 40, 0, 0, 0,
            1, 0, 0, 0,
            4, 3, 2, 1, 8, 7, 6, 5,
            5, 0, 0, 0, 44, 1, 0, 0,
            b'h', b'e', b'l', b'l', b'o', 0, 0, 0,
            40, 0, 0, 0,
        ];
        assert_eq!(&b[epb_at..], epb);
    }

    #[test]
    fn buffers_match_the_stream() {
        let mut w = PcapngWriter::new(Vec::new(), "airsift test").unwrap();
        w.add_interface(127, 262144, Some("mon0")).unwrap();
        w.add_interface(192, 0, None).unwrap();
        let mut expect = encode_preamble(
            "airsift test",
            &[
                InterfaceDesc {
                    linktype: 127,
                    snaplen: 262144,
                    name: Some("mon0"),
                },
                InterfaceDesc {
                    linktype: 192,
                    snaplen: 0,
                    name: None,
                },
            ],
        )
        .unwrap();
        for (i, len) in (0..9).enumerate() {
            let data: Vec<u8> = (0..len as u8).collect();
            let iface = (i % 2) as u32;
            w.write_packet(iface, 1_700_000_000_000_000_000 + i as u64, &data, 1000)
                .unwrap();
            encode_packet(
                &mut expect,
                iface,
                1_700_000_000_000_000_000 + i as u64,
                &data,
                1000,
            )
            .unwrap();
        }
        assert_eq!(w.into_inner(), expect);
    }

    #[test]
    fn output_reads_back() {
        let mut w = PcapngWriter::new(Vec::new(), "airsift").unwrap();
        let a = w.add_interface(127, 65535, Some("a")).unwrap();
        let b = w.add_interface(105, 65535, None).unwrap();
        let frames: Vec<(u32, u64, Vec<u8>, u32)> = (0..20u32)
            .map(|i| {
                (
                    if i % 3 == 0 { b } else { a },
                    u64::MAX - u64::from(i),
                    vec![i as u8; i as usize],
                    i * 7,
                )
            })
            .collect();
        for (iface, ts, data, orig) in &frames {
            w.write_packet(*iface, *ts, data, *orig).unwrap();
        }
        w.flush().unwrap();
        let cap = CaptureFile::from_bytes(w.into_inner()).unwrap();
        assert_eq!(cap.format(), Format::PcapNg);
        let back: Vec<_> = cap
            .records()
            .map(|r| r.map(|r| (r.interface, r.ts_ns.unwrap(), r.data.to_vec(), r.orig_len)))
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(back, frames);
        let ifs = cap.interfaces();
        assert_eq!(ifs.len(), 2);
        assert_eq!(
            (ifs[0].linktype, ifs[0].name.as_deref(), ifs[0].tsresol),
            (127, Some("a"), 9)
        );
        assert_eq!((ifs[1].linktype, ifs[1].name.as_deref()), (105, None));
    }

    #[test]
    fn invalid_input_is_refused() {
        let mut w = PcapngWriter::new(Vec::new(), "x").unwrap();
        let before = w.bytes_written();
        let e = w.write_packet(0, 0, b"", 0).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidInput);
        assert!(w.add_interface(0x1_0000, 0, None).is_err());
        let long = "n".repeat(70_000);
        assert!(w.add_interface(127, 0, Some(&long)).is_err());
        assert_eq!(w.bytes_written(), before);
        assert_eq!(w.get_ref().len() as u64, before);
        assert!(PcapngWriter::new(Vec::new(), &long).is_err());
        assert!(epb_frame(0, 0, u32::MAX as usize - 30, 0).is_err());
        assert!(epb_frame(0, 0, u32::MAX as usize - 35, 0).is_ok());
        w.get_mut().clear();
        assert_eq!(w.interface_count(), 0);
    }
}
