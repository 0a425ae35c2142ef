//! Why a capture file, or one of its records, could not be read.
//!
//! Every variant that points into the file carries the byte offset where the problem starts,
//! so that an operator can look at the file with `xxd -s OFFSET` and see it. Record indices
//! are 0-based and equal the number of records successfully read before the bad one, which is
//! also how many frames were delivered before reading stopped.

use std::fmt;

/// A capture file could not be opened or one of its records could not be read.
///
/// Errors are terminal: once [`Records`](super::Records) has yielded one, it yields `None`.
/// They are built at most once per file, so the variants that explain themselves in prose
/// own a `String` rather than forcing the fast path to carry structured detail it never needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CapError {
    /// Opening, inspecting or memory-mapping the file failed; the message names the path and
    /// the operating system's reason.
    Io(String),
    /// The file starts with neither a pcap nor a pcapng magic number. `head` holds its first
    /// bytes (only the first `len` of them are meaningful when the file is shorter than 4).
    NotACapture { head: [u8; 4], len: usize },
    /// The record (pcap) or block (pcapng) starting at `offset` runs past the end of the file:
    /// the capture was cut short, typically because the capturing process was killed. The
    /// `record` records before it were complete and have been yielded.
    Truncated { offset: u64, record: u64 },
    /// The header of packet record `record` at `offset` is impossible (for example a captured
    /// length of several gigabytes, or one larger than the block that holds it).
    BadRecord {
        offset: u64,
        record: u64,
        reason: String,
    },
    /// A structure that is not a packet is broken: the pcap file header, or the framing,
    /// Section Header Block or Interface Description Block of a pcapng file.
    Malformed { offset: u64, reason: String },
    /// A pcapng packet block at `offset` refers to an interface id that its section never
    /// described with an Interface Description Block, so its link type is unknown.
    UnknownInterface {
        offset: u64,
        record: u64,
        interface: u32,
    },
}

impl fmt::Display for CapError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CapError::Io(msg) => f.write_str(msg),
            CapError::NotACapture { head, len } => {
                let len = (*len).min(head.len());
                if len == 0 {
                    return f.write_str("not a capture file: the file is empty");
                }
                write!(f, "not a pcap or pcapng capture file: ")?;
                if len < head.len() {
                    write!(f, "it holds only {len} byte(s):")?;
                } else {
                    write!(f, "it starts with the bytes")?;
                }
                for b in &head[..len] {
                    write!(f, " {b:02x}")?;
                }
                f.write_str(
                    " (pcap starts with a1 b2 c3 d4 or a1 b2 3c 4d in either byte order, \
                     pcapng with 0a 0d 0d 0a)",
                )
            }
            CapError::Truncated { offset, record } => write!(
                f,
                "capture file cut short: record {record} (counting from 0) starting at byte \
                 offset {offset} runs past the end of the file; the {record} record(s) before \
                 it are complete"
            ),
            CapError::BadRecord {
                offset,
                record,
                reason,
            } => write!(
                f,
                "bad packet record {record} (counting from 0) at byte offset {offset}: {reason}"
            ),
            CapError::Malformed { offset, reason } => {
                write!(
                    f,
                    "malformed capture file at byte offset {offset}: {reason}"
                )
            }
            CapError::UnknownInterface {
                offset,
                record,
                interface,
            } => write!(
                f,
                "packet record {record} (counting from 0) at byte offset {offset} refers to \
                 interface {interface}, but its section has no Interface Description Block \
                 with that id"
            ),
        }
    }
}

impl std::error::Error for CapError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_the_problem_and_the_offset() {
        let e = CapError::NotACapture {
            head: *b"\x7fELF",
            len: 4,
        };
        assert!(e.to_string().contains("7f 45 4c 46"), "{e}");
        let e = CapError::NotACapture {
            head: [0xab, 0, 0, 0],
            len: 1,
        };
        assert!(e.to_string().contains("only 1 byte(s): ab ("), "{e}");
        let e = CapError::NotACapture {
            head: [0; 4],
            len: 0,
        };
        assert_eq!(e.to_string(), "not a capture file: the file is empty");
        let e = CapError::Truncated {
            offset: 1432616,
            record: 20056,
        };
        let s = e.to_string();
        assert!(s.contains("cut short") && s.contains("1432616") && s.contains("20056"));
        let e = CapError::BadRecord {
            offset: 24,
            record: 0,
            reason: "captured length is absurd".into(),
        };
        assert!(e
            .to_string()
            .contains("offset 24: captured length is absurd"));
        let e = CapError::UnknownInterface {
            offset: 100,
            record: 3,
            interface: 7,
        };
        assert!(e.to_string().contains("interface 7"));
    }
}
