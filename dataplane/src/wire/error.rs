//! Why a captured record could not be read as an 802.11 frame.

use std::fmt;

/// A small, `Copy` error: building one never allocates, so the fast path can count it and
/// move on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WireError {
    /// The record's link type is not one of radiotap, PPI, Prism or plain 802.11.
    UnsupportedLinkType(u32),
    /// Fewer bytes than the capture header's fixed part (radiotap 8, PPI 8, Prism 144).
    HeaderTruncated { layer: Layer, have: usize },
    /// The capture header's version byte is not one we know.
    BadVersion { layer: Layer, version: u8 },
    /// The capture header's declared length is shorter than its fixed part or longer than
    /// the record.
    BadHeaderLength {
        layer: Layer,
        declared: usize,
        have: usize,
    },
    /// A presence word, field or vendor namespace runs past the header's declared length.
    FieldOverrun { layer: Layer, offset: usize },
    /// A radiotap presence word asks for a radiotap and a vendor namespace at once.
    RadiotapBadNamespace { offset: usize },
    /// The Flags say an FCS ends the frame, but the frame is shorter than the FCS.
    FcsTruncated { have: usize },
    /// A PPI header that does not carry 802.11 (its DLT field).
    PpiNotIeee80211 { dlt: u32 },
    /// The 802.11 protocol version is not 0; the frame's layout is unknown.
    UnsupportedProtocolVersion(u8),
    /// The 802.11 frame is shorter than its type needs to hold its addresses.
    FrameTooShort { need: usize, have: usize },
}

/// The layer an error was found in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layer {
    Radiotap,
    Ppi,
    Prism,
    Ieee80211,
}

impl fmt::Display for Layer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Layer::Radiotap => "radiotap",
            Layer::Ppi => "PPI",
            Layer::Prism => "Prism",
            Layer::Ieee80211 => "802.11",
        })
    }
}

impl fmt::Display for WireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            WireError::UnsupportedLinkType(t) => write!(f, "unsupported link type {t}"),
            WireError::HeaderTruncated { layer, have } => {
                write!(f, "{layer} header truncated: only {have} bytes")
            }
            WireError::BadVersion { layer, version } => {
                write!(f, "{layer} header has unknown version {version}")
            }
            WireError::BadHeaderLength {
                layer,
                declared,
                have,
            } => write!(
                f,
                "{layer} header declares {declared} bytes, record has {have}"
            ),
            WireError::FieldOverrun { layer, offset } => {
                write!(f, "{layer} field at offset {offset} runs past the header")
            }
            WireError::RadiotapBadNamespace { offset } => write!(
                f,
                "radiotap presence word at offset {offset} selects two namespaces"
            ),
            WireError::FcsTruncated { have } => {
                write!(f, "frame of {have} bytes is shorter than its FCS")
            }
            WireError::PpiNotIeee80211 { dlt } => {
                write!(f, "PPI header carries link type {dlt}, not 802.11")
            }
            WireError::UnsupportedProtocolVersion(v) => {
                write!(f, "802.11 protocol version {v} is not supported")
            }
            WireError::FrameTooShort { need, have } => write!(
                f,
                "802.11 frame too short for its addresses: {have} bytes, needs {need}"
            ),
        }
    }
}

impl std::error::Error for WireError {}
