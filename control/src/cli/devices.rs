//! `airsift devices`: the devices a capture file shows, learned exactly as a live capture
//! learns them (the same per-frame rule on a worker's delta table, the same merge into the
//! device store), printed as Kismet device records.

use std::io::Write;

use anyhow::Result;
use dataplane::capfile::CaptureFile;
use dataplane::filter::FilterTable;
use dataplane::track::{observe, port::INTERVAL, DeltaTable, TableSize};
use dataplane::verdict::{judge_frame, Verdict};
use dataplane::wire::LayoutMemo;

use super::FileEnd;
use crate::scan::Survey;

/// Reads every record of `file`, learns devices from the frames `table` passes and writes
/// them to `out` as one JSON array, in MAC order.
pub fn devices(
    file: &CaptureFile,
    name: &str,
    table: &FilterTable,
    out: &mut impl Write,
) -> Result<FileEnd> {
    let mut survey = Survey::new(name);
    let mut delta = DeltaTable::new(1, TableSize::default());
    let mut memo = LayoutMemo::default();
    let mut end = FileEnd::Complete;
    // Tables are handed over as a live worker hands them: every 250 ms of the capture's own
    // time (or when nearly full), so a file and a live capture of it learn the same.
    let interval = INTERVAL.as_nanos() as u64;
    let mut since: Option<u64> = None;
    for record in file.records() {
        let r = match record {
            Ok(r) => r,
            Err(e) => {
                end = FileEnd::from_error(e);
                break;
            }
        };
        let ts = r.ts_ns.unwrap_or(0);
        let due = since.is_some_and(|s| ts.saturating_sub(s) >= interval);
        if due || delta.nearly_full() {
            survey.apply(&delta);
            delta.clear();
            since = None;
        }
        let complete = r.data.len() as u64 >= r.orig_len as u64;
        if let (Verdict::Pass, Some(frame)) =
            judge_frame(table, &mut memo, r.data, r.linktype, complete)
        {
            since.get_or_insert(ts);
            observe(&mut delta, &frame, r.orig_len, (ts / 1_000_000_000) as u32);
        }
    }
    survey.apply(&delta);
    serde_json::to_writer(&mut *out, &survey.render())?;
    out.write_all(b"\n")?;
    Ok(end)
}
