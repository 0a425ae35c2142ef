//! Capture files (pcap and pcapng) read in place.
//!
//! This is how recorded traffic enters the dataplane: the file is memory-mapped once and
//! every [`Record`] the [`Records`] iterator yields borrows its bytes straight from the
//! mapping, so replaying a multi-gigabyte capture costs no copies and no allocation per
//! frame. The readers treat the file as untrusted input: every length is checked before it
//! is used, nothing panics on garbage, and the first structural problem ends the iteration
//! with a [`CapError`] that names the byte offset. Records before the problem have already
//! been yielded, because real captures are routinely cut short by a killed capture process
//! and the frames before the cut are still worth filtering.
//!
//! Writing goes the other way through [`crate::sink::PcapngWriter`].

mod error;
mod pcap;
mod pcapng;

pub use error::CapError;

use std::fs::File;
use std::io;
use std::iter::FusedIterator;
use std::path::Path;

use memmap2::{Mmap, MmapOptions};

/// The container format of a capture file, as told by its first four bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// Classic libpcap: one link type for the whole file. `nanos` is set for the
    /// nanosecond-resolution magic (a1b23c4d), `big_endian` when the writer was big-endian.
    Pcap { nanos: bool, big_endian: bool },
    /// pcapng: one or more sections, each with its own byte order and interfaces.
    PcapNg,
}

/// One captured packet, borrowed from the file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Record<'a> {
    /// The captured bytes (may be shorter than `orig_len` when the capture used a snaplen).
    pub data: &'a [u8],
    /// The length of the packet on the wire.
    pub orig_len: u32,
    /// Nanoseconds since the Unix epoch; `None` for pcapng Simple Packet Blocks, which carry
    /// no timestamp. Values that do not fit are clamped to `0..=u64::MAX` rather than wrapped.
    pub ts_ns: Option<u64>,
    /// The pcap LINKTYPE_ number (lower 16 bits only: pcap files may store FCS-length flags
    /// in the upper bits, and pcapng stores 16 bits anyway).
    pub linktype: u32,
    /// Index into the interface list ([`CaptureFile::interfaces`]): always 0 for pcap. For
    /// pcapng the interfaces of all sections are numbered one after the other, so in a
    /// single-section file this is the packet block's own interface id.
    pub interface: u32,
}

/// A capture interface: the file header of a pcap file, or one pcapng Interface
/// Description Block.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Interface {
    /// LINKTYPE_ number (lower 16 bits).
    pub linktype: u32,
    /// The snapshot length the capture was taken with (0 in pcapng means "no limit").
    pub snaplen: u32,
    /// `if_name`, when the pcapng IDB has one (lossily decoded as UTF-8).
    pub name: Option<String>,
    /// The pcapng section (0-based) this interface belongs to; 0 for pcap.
    pub section: u32,
    /// The raw `if_tsresol` byte: 10^-n seconds per tick, or 2^-(n & 0x7f) when the high bit
    /// is set. 6 (microseconds) when absent; 6 or 9 for pcap depending on the magic.
    pub tsresol: u8,
    /// `if_tsoffset`: seconds to add to every timestamp of this interface (0 when absent).
    pub tsoffset: i64,
}

/// A capture file held in memory: memory-mapped from disk, or owned bytes for tests.
///
/// The format is detected (and a pcap file header checked) when it is built, so a value of
/// this type is known to at least start like a capture file.
pub struct CaptureFile {
    bytes: Backing,
    kind: Kind,
}

enum Backing {
    Mapped(Mmap),
    Owned(Vec<u8>),
}

#[derive(Clone, Copy)]
enum Kind {
    Pcap(pcap::FileHeader),
    PcapNg,
}

impl CaptureFile {
    /// Memory-maps the file at `path` read-only and detects its format.
    ///
    /// The mapping assumes the file is not modified or truncated while this value lives:
    /// another process truncating it would make reading the lost pages kill this process
    /// with SIGBUS, and writes to it would change records under the reader's feet. Read
    /// finished captures, not ones still being written.
    pub fn open(path: &Path) -> Result<CaptureFile, CapError> {
        let io_err = |what: &str, e: io::Error| {
            CapError::Io(format!(
                "cannot {what} capture file {}: {e}",
                path.display()
            ))
        };
        let file = File::open(path).map_err(|e| io_err("open", e))?;
        let len = file.metadata().map_err(|e| io_err("inspect", e))?.len();
        if len == 0 {
            // mmap(2) rejects a zero length, and there is nothing to map anyway.
            return Self::from_bytes(Vec::new());
        }
        let map = map_read_only(&file).map_err(|e| io_err("memory-map", e))?;
        #[cfg(unix)]
        {
            // Only a hint (readahead); failing to give it changes nothing.
            let _ = map.advise(memmap2::Advice::Sequential);
        }
        Self::from_backing(Backing::Mapped(map))
    }

    /// Wraps bytes already in memory (tests, or captures received over the network).
    pub fn from_bytes(bytes: Vec<u8>) -> Result<CaptureFile, CapError> {
        Self::from_backing(Backing::Owned(bytes))
    }

    fn from_backing(bytes: Backing) -> Result<CaptureFile, CapError> {
        let data: &[u8] = match &bytes {
            Backing::Mapped(m) => m,
            Backing::Owned(v) => v,
        };
        let kind = detect(data)?;
        Ok(CaptureFile { bytes, kind })
    }

    /// The whole file.
    pub fn as_bytes(&self) -> &[u8] {
        match &self.bytes {
            Backing::Mapped(m) => m,
            Backing::Owned(v) => v,
        }
    }

    /// Size of the file in bytes (the denominator of [`Records::bytes_consumed`]).
    pub fn len(&self) -> usize {
        self.as_bytes().len()
    }

    /// Always false for a value that was built successfully (an empty file is not a
    /// capture), but provided so that `len` has its customary partner.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The container format, detected from the magic number.
    pub fn format(&self) -> Format {
        match self.kind {
            Kind::Pcap(h) => Format::Pcap {
                nanos: h.nanos,
                big_endian: h.big_endian,
            },
            Kind::PcapNg => Format::PcapNg,
        }
    }

    /// Iterates over the packet records, in file order, borrowing from the file.
    pub fn records(&self) -> Records<'_> {
        let data = self.as_bytes();
        Records {
            inner: match self.kind {
                Kind::Pcap(h) => Inner::Pcap(pcap::PcapRecords::new(data, h)),
                Kind::PcapNg => Inner::PcapNg(pcapng::PcapNgRecords::new(data)),
            },
        }
    }

    /// The interfaces the file describes: the file header for pcap; for pcapng every
    /// Interface Description Block of every section, which takes a pass over the file.
    ///
    /// The pass stops at the first malformed block, so a truncated or damaged file lists the
    /// interfaces described before the damage; [`records`](Self::records) reports the error.
    pub fn interfaces(&self) -> Vec<Interface> {
        let mut records = self.records();
        if let Inner::PcapNg(_) = records.inner {
            records.by_ref().for_each(drop);
        }
        records.interfaces().to_vec()
    }
}

impl std::fmt::Debug for CaptureFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CaptureFile")
            .field("len", &self.len())
            .field("format", &self.format())
            .finish()
    }
}

/// Maps `file` read-only with private (copy-on-write) semantics.
///
/// The module's only `unsafe` block, kept this small so that it can be reviewed on its own;
/// everything the readers do afterwards is safe slice access on the returned mapping.
#[allow(unsafe_code)]
fn map_read_only(file: &File) -> io::Result<Mmap> {
    // SAFETY: `Mmap` hands out a `&[u8]` that Rust assumes never changes while borrowed. The
    // mapping is PROT_READ and MAP_PRIVATE, and the file was opened read-only, so nothing in
    // this process can write through it, and nothing we do can reach the file on disk.
    // MAP_PRIVATE is not a snapshot, though: pages that were never copied (ours never are,
    // since we never write) still show later writes by other processes, and if another
    // process truncates the file, touching the lost pages raises SIGBUS. We accept that
    // contract: airsift reads finished captures, and modifying or truncating a capture file
    // while it is being read is an operator error, documented on `CaptureFile::open`. The
    // length is non-zero (the caller checks), as mmap(2) requires.
    unsafe { MmapOptions::new().map_copy_read_only(file) }
}

/// Tells pcap from pcapng by the first four bytes, and checks a pcap file header.
fn detect(data: &[u8]) -> Result<Kind, CapError> {
    let Some(magic) = data.first_chunk::<4>() else {
        let mut head = [0u8; 4];
        head[..data.len()].copy_from_slice(data);
        return Err(CapError::NotACapture {
            head,
            len: data.len(),
        });
    };
    if *magic == pcapng::SHB_TYPE_BYTES {
        return Ok(Kind::PcapNg);
    }
    match pcap::FileHeader::parse(data)? {
        Some(h) => Ok(Kind::Pcap(h)),
        None => Err(CapError::NotACapture {
            head: *magic,
            len: data.len(),
        }),
    }
}

/// The records of a [`CaptureFile`]: `Ok` for each packet, then `None` at the end of the
/// file, or one `Err` followed by `None` when the file is damaged.
///
/// Packet data is borrowed from the file and nothing is allocated per record (a pcapng
/// reader allocates only for each Interface Description Block).
pub struct Records<'a> {
    inner: Inner<'a>,
}

enum Inner<'a> {
    Pcap(pcap::PcapRecords<'a>),
    PcapNg(pcapng::PcapNgRecords<'a>),
}

impl<'a> Records<'a> {
    /// Detaches the cursor from the file's bytes, so that an owner of both (a capture source
    /// reading one batch at a time) can keep its place between batches without borrowing
    /// itself. Iterating a parked cursor ends it: [`rebind`](Self::rebind) it first.
    pub fn park(self) -> Records<'static> {
        self.rebind_bytes(&[])
    }

    /// Attaches a cursor to `file` again. It must be the file the cursor came from: over
    /// other bytes it reads garbage (safely: every access stays bounds-checked).
    pub fn rebind(self, file: &CaptureFile) -> Records<'_> {
        self.rebind_bytes(file.as_bytes())
    }

    fn rebind_bytes<'b>(self, data: &'b [u8]) -> Records<'b> {
        Records {
            inner: match self.inner {
                Inner::Pcap(r) => Inner::Pcap(r.rebind(data)),
                Inner::PcapNg(r) => Inner::PcapNg(r.rebind(data)),
            },
        }
    }

    /// Bytes of the file fully processed so far (headers included): the numerator of a
    /// progress bar whose denominator is [`CaptureFile::len`]. After an error it is the
    /// offset of the record that could not be read.
    pub fn bytes_consumed(&self) -> usize {
        match &self.inner {
            Inner::Pcap(r) => r.pos(),
            Inner::PcapNg(r) => r.pos(),
        }
    }

    /// The interfaces described so far; [`Record::interface`] indexes this slice.
    pub fn interfaces(&self) -> &[Interface] {
        match &self.inner {
            Inner::Pcap(r) => r.interfaces(),
            Inner::PcapNg(r) => r.interfaces(),
        }
    }
}

impl<'a> Iterator for Records<'a> {
    type Item = Result<Record<'a>, CapError>;

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        match &mut self.inner {
            Inner::Pcap(r) => r.next(),
            Inner::PcapNg(r) => r.next(),
        }
    }
}

impl FusedIterator for Records<'_> {}

impl std::fmt::Debug for Records<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Records")
            .field("bytes_consumed", &self.bytes_consumed())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_or_foreign_files_are_not_captures() {
        for bytes in [
            &b""[..],
            b"\x0a",
            b"\xd4\xc3\xb2",
            b"GIF89a....",
            b"\x7fELF\x02\x01",
        ] {
            match CaptureFile::from_bytes(bytes.to_vec()) {
                Err(CapError::NotACapture { head, len }) => {
                    assert_eq!(len, bytes.len());
                    let n = len.min(4);
                    assert_eq!(&head[..n], &bytes[..n]);
                }
                other => panic!("{bytes:?}: {other:?}"),
            }
        }
    }

    #[test]
    fn open_reports_the_path() {
        let path = Path::new("/nonexistent/airsift/capture.pcap");
        let err = CaptureFile::open(path).unwrap_err();
        assert!(matches!(err, CapError::Io(_)));
        assert!(
            err.to_string()
                .contains("/nonexistent/airsift/capture.pcap"),
            "{err}"
        );
    }

    #[test]
    fn open_maps_a_file_and_an_empty_file_is_not_a_capture() {
        let dir = std::env::temp_dir();
        let empty = dir.join(format!("airsift-capfile-empty-{}.pcap", std::process::id()));
        std::fs::write(&empty, b"").unwrap();
        let res = CaptureFile::open(&empty);
        std::fs::remove_file(&empty).unwrap();
        assert!(matches!(res, Err(CapError::NotACapture { len: 0, .. })));

        let mut bytes = Vec::new();
        bytes.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
        bytes.extend_from_slice(&[2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        bytes.extend_from_slice(&65535u32.to_le_bytes());
        bytes.extend_from_slice(&105u32.to_le_bytes());
        bytes.extend_from_slice(&[1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 9, 0, 0, 0]);
        bytes.extend_from_slice(b"abc");
        let path = dir.join(format!("airsift-capfile-one-{}.pcap", std::process::id()));
        std::fs::write(&path, &bytes).unwrap();
        let cap = CaptureFile::open(&path);
        std::fs::remove_file(&path).unwrap();
        let cap = cap.unwrap();
        assert_eq!(cap.len(), bytes.len());
        assert!(!cap.is_empty());
        let recs: Vec<_> = cap.records().collect::<Result<_, _>>().unwrap();
        assert_eq!(
            recs,
            [Record {
                data: b"abc",
                orig_len: 9,
                ts_ns: Some(1_000_002_000),
                linktype: 105,
                interface: 0
            }]
        );
    }
}
