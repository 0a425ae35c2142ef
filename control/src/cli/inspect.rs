//! `airsift inspect`: one JSON object per frame of a capture file, with the verdict the live
//! dataplane would give it.

use std::io::Write;

use anyhow::Result;
use dataplane::capfile::CaptureFile;
use dataplane::filter::FilterTable;
use dataplane::verdict::{judge_dlt, Verdict};
use dataplane::wire::{Frame, LayoutMemo, LinkType, MacAddr, RadioInfo};
use serde::Serialize;

use super::FileEnd;

/// One line of `inspect` output.
#[derive(Serialize)]
struct FrameLine<'a> {
    index: u64,
    linktype: u32,
    #[serde(rename = "type")]
    kind: Option<&'static str>,
    subtype: Option<&'static str>,
    source: Option<Mac>,
    destination: Option<Mac>,
    network: Option<Mac>,
    other: Option<Mac>,
    signal_dbm: Option<i8>,
    noise_dbm: Option<i8>,
    freq_mhz: Option<u16>,
    fcs: bool,
    length: u32,
    verdict: &'static str,
    error: Option<&'a str>,
}

/// Serialises as uppercase colon hex.
struct Mac(MacAddr);

impl Serialize for Mac {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&self.0)
    }
}

/// Counts of an inspect run.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct InspectCounts {
    pub frames: u64,
    pub passed: u64,
    pub blocked: u64,
    pub malformed: u64,
}

/// Writes one line per frame of `file` to `out`.
pub fn inspect(
    file: &CaptureFile,
    table: &FilterTable,
    out: &mut impl Write,
) -> Result<(InspectCounts, FileEnd)> {
    let mut counts = InspectCounts::default();
    let mut error_text = String::new();
    let mut memo = LayoutMemo::default();
    for record in file.records() {
        let r = match record {
            Ok(r) => r,
            Err(e) => return Ok((counts, FileEnd::from_error(e))),
        };
        counts.frames += 1;
        let complete = r.data.len() as u64 >= r.orig_len as u64;
        let verdict = judge_dlt(table, &mut memo, r.data, r.linktype, complete);
        let linktype = LinkType::from_dlt(r.linktype);
        let frame = linktype.and_then(|lt| Frame::parse_record(r.data, lt, complete).ok());
        let radio = linktype.map_or_else(RadioInfo::default, |lt| RadioInfo::parse(r.data, lt));
        let addrs = frame.map(|f| f.addresses()).unwrap_or_default();
        error_text.clear();
        match verdict {
            Verdict::Pass => counts.passed += 1,
            Verdict::Block => counts.blocked += 1,
            Verdict::Malformed(e) => {
                counts.malformed += 1;
                error_text = e.to_string();
            }
        }
        let line = FrameLine {
            index: counts.frames,
            linktype: r.linktype,
            kind: frame.map(|f| f.header().kind().name()),
            subtype: frame.map(|f| f.header().subtype_name()),
            source: addrs.source.map(Mac),
            destination: addrs.destination.map(Mac),
            network: addrs.network.map(Mac),
            other: addrs.other.map(Mac),
            signal_dbm: radio.signal_dbm,
            noise_dbm: radio.noise_dbm,
            freq_mhz: radio.freq_mhz,
            fcs: frame.map_or(radio.fcs_at_end, |f| f.has_fcs()),
            length: r.orig_len,
            verdict: verdict.name(),
            error: (!error_text.is_empty()).then_some(error_text.as_str()),
        };
        serde_json::to_writer(&mut *out, &line)?;
        out.write_all(b"\n")?;
    }
    Ok((counts, FileEnd::Complete))
}
