//! Parse-and-decide for one captured record: the single function every driver calls (the
//! live workers, `replay`, `inspect`), so that they cannot disagree about a frame.

use crate::filter::{Action, FilterTable};
use crate::wire::{Frame, LayoutMemo, LinkType, WireError};

/// What the filter made of one record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    Pass,
    Block,
    /// The record is not a readable frame; it never matches a filter term.
    Malformed(WireError),
}

impl Verdict {
    /// `pass`, `block` or `malformed`, as `inspect` and the REST API print it.
    pub const fn name(&self) -> &'static str {
        match self {
            Verdict::Pass => "pass",
            Verdict::Block => "block",
            Verdict::Malformed(_) => "malformed",
        }
    }
}

/// Parses `record` and decides it against `table`. `complete` is false when a snapshot length
/// cut the record short (its FCS, if any, was not captured). `memo` is the caller's (one per
/// worker): it remembers header layouts and never changes a result. No allocation, no lock.
#[inline]
pub fn judge(
    table: &FilterTable,
    memo: &mut LayoutMemo,
    record: &[u8],
    linktype: LinkType,
    complete: bool,
) -> Verdict {
    match Frame::parse_with(record, linktype, complete, memo) {
        Ok(frame) => match table.decide(&frame.addresses()) {
            Action::Pass => Verdict::Pass,
            Action::Block => Verdict::Block,
        },
        Err(e) => Verdict::Malformed(e),
    }
}

/// [`judge_dlt`] that also returns the checked frame (when it was readable), for the workers
/// that learn devices from the frames they pass.
#[inline]
pub fn judge_frame<'a>(
    table: &FilterTable,
    memo: &mut LayoutMemo,
    record: &'a [u8],
    dlt: u32,
    complete: bool,
) -> (Verdict, Option<Frame<'a>>) {
    let Some(lt) = LinkType::from_dlt(dlt) else {
        return (
            Verdict::Malformed(WireError::UnsupportedLinkType(dlt)),
            None,
        );
    };
    match Frame::parse_with(record, lt, complete, memo) {
        Ok(frame) => match table.decide(&frame.addresses()) {
            Action::Pass => (Verdict::Pass, Some(frame)),
            Action::Block => (Verdict::Block, Some(frame)),
        },
        Err(e) => (Verdict::Malformed(e), None),
    }
}

/// [`judge`] for a record whose link type is a raw pcap number.
#[inline]
pub fn judge_dlt(
    table: &FilterTable,
    memo: &mut LayoutMemo,
    record: &[u8],
    dlt: u32,
    complete: bool,
) -> Verdict {
    match LinkType::from_dlt(dlt) {
        Some(lt) => judge(table, memo, record, lt, complete),
        None => Verdict::Malformed(WireError::UnsupportedLinkType(dlt)),
    }
}
