//! One captured record read as a frame: the capture header for its link type, then the
//! 802.11 header, with the FCS cut off when the capture header says one is there.

use super::ieee80211::{Addresses, Header};
use super::ppi::Ppi;
use super::prism::Prism;
use super::radio::RadioInfo;
use super::radiotap::{self, LayoutMemo, RadioAt, Radiotap};
use super::{LinkType, WireError};

const FCS_LEN: usize = 4;

/// A checked frame. Building one walks the capture header (so an inconsistent header is an
/// error here, on every path alike) and checks that the 802.11 header holds the addresses its
/// type needs. Decoding radio fields is left to [`Frame::radio`], which the per-frame path
/// never calls.
#[derive(Clone, Copy, Debug)]
pub struct Frame<'a> {
    linktype: LinkType,
    /// The whole record.
    record: &'a [u8],
    /// Length of the capture header.
    header_len: usize,
    /// The 802.11 frame, FCS excluded.
    dot11: Header<'a>,
    fcs: bool,
    /// The capture header says the FCS did not check (radiotap Flags; PPI flags).
    bad_fcs: bool,
    /// Where a radiotap header's signal and frequency lie, when the layout memo knew it.
    radio_at: RadioAt,
}

impl<'a> Frame<'a> {
    /// Parses a complete record.
    #[inline]
    pub fn parse(record: &'a [u8], linktype: LinkType) -> Result<Frame<'a>, WireError> {
        Self::parse_record(record, linktype, true)
    }

    /// Parses a record that may have been cut short by a snapshot length: when `complete` is
    /// false the FCS (if any) is not among the captured bytes and nothing is cut off.
    #[inline]
    pub fn parse_record(
        record: &'a [u8],
        linktype: LinkType,
        complete: bool,
    ) -> Result<Frame<'a>, WireError> {
        Self::parse_with(record, linktype, complete, &mut LayoutMemo::default())
    }

    /// [`Frame::parse_record`] for a stream of records: `memo` remembers the radiotap layout
    /// of the previous record, which a driver repeats on every frame. Results are the same.
    #[inline]
    pub fn parse_with(
        record: &'a [u8],
        linktype: LinkType,
        complete: bool,
        memo: &mut LayoutMemo,
    ) -> Result<Frame<'a>, WireError> {
        let unknown = RadioAt::UNKNOWN;
        let (header_len, fcs, bad_fcs, radio_at) = match linktype {
            LinkType::Radiotap => {
                let rt = Radiotap::new(record)?;
                let (flags, at) = rt.validate_flags_memo(memo)?;
                let flags = flags.unwrap_or(0);
                let fcs = flags & radiotap::flags::FCS_AT_END != 0;
                (rt.len(), fcs, flags & radiotap::flags::BAD_FCS != 0, at)
            }
            LinkType::Ieee80211 => (0, false, false, RadioAt::NONE),
            LinkType::Ppi => {
                let p = Ppi::new(record)?;
                (p.len(), p.fcs_at_end(), p.bad_fcs(), p.radio_at())
            }
            LinkType::Prism => (Prism::new(record)?.len(), false, false, unknown),
        };
        let mut body = &record[header_len..];
        if fcs && complete {
            if body.len() < FCS_LEN {
                return Err(WireError::FcsTruncated { have: body.len() });
            }
            body = &body[..body.len() - FCS_LEN];
        }
        Ok(Frame {
            linktype,
            record,
            header_len,
            dot11: Header::new(body)?,
            fcs,
            bad_fcs,
            radio_at,
        })
    }

    /// The source / destination / network / other roles the filter matches on.
    #[inline]
    pub fn addresses(&self) -> Addresses {
        self.dot11.addresses()
    }

    /// The checked 802.11 header.
    #[inline]
    pub fn header(&self) -> &Header<'a> {
        &self.dot11
    }

    /// The 802.11 frame without its FCS.
    #[inline]
    pub fn dot11(&self) -> &'a [u8] {
        self.dot11.as_bytes()
    }

    #[inline]
    pub fn linktype(&self) -> LinkType {
        self.linktype
    }

    /// The record's capture header (empty for plain 802.11).
    #[inline]
    pub fn capture_header(&self) -> &'a [u8] {
        &self.record[..self.header_len]
    }

    /// Length of the record's capture header (0 for plain 802.11).
    #[inline]
    pub fn capture_header_len(&self) -> usize {
        self.header_len
    }

    /// The capture header says the frame ends with an FCS.
    #[inline]
    pub fn has_fcs(&self) -> bool {
        self.fcs
    }

    /// The capture header says the FCS did not check: the frame's bytes are not to be trusted.
    #[inline]
    pub fn bad_fcs(&self) -> bool {
        self.bad_fcs
    }

    /// The signal (dBm) and frequency (MHz) the capture header gives, as [`Frame::radio`]
    /// would; for a radiotap header whose layout the parse's memo knew, two loads at the
    /// offsets it gave instead of a field walk.
    #[inline]
    pub fn signal_freq(&self) -> (Option<i8>, Option<u16>) {
        if let Some(q) = self.radio_at.read(self.capture_header()) {
            return q;
        }
        let r = self.radio();
        (r.signal_dbm, r.freq_mhz.filter(|&f| f != 0))
    }

    /// Decodes the capture header's radio fields.
    pub fn radio(&self) -> RadioInfo {
        RadioInfo::parse(self.record, self.linktype)
    }
}
