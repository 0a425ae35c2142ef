//! Scan events as messages: one accepted request in the format the host is configured for
//! ([`ScanFormat`]), with the headers that identify it, split into parts when it is larger
//! than the servers take.
//!
//! - `compact`: the payload is the journal's encoding of the request (`scan::codec`, its first
//!   byte the encoding's version), with `Content-Type: application/vnd.airsift.scan-batch`;
//! - `json`: the payload is the event's JSON ([`scan_json`]).
//!
//! Every message has the headers `Nats-Msg-Id` (host and journal sequence, and the part),
//! `Airsift-Host` and `Airsift-Seq`, so `airsift fleet tail` prints the same JSON for both.
//! A request is accepted up to the REST body limit (8 MiB by default) while a NATS server
//! takes 1 MiB messages by default: a larger event goes as parts, each with a share of the
//! reports and the header `Airsift-Part: i/n` (the JSON has `part` and `parts`).

use async_nats::header::HeaderMap;
use dataplane::wire::MacAddr;
use serde::Serialize;
use serde_json::json;

use super::ScanFormat;
use crate::scan::codec;
use crate::scan::report::{Batch, Tag};

/// The content type of scan events in the compact format.
pub const SCAN_BATCH_TYPE: &str = "application/vnd.airsift.scan-batch";
pub const CONTENT_TYPE: &str = "Content-Type";
/// The host a scan event comes from.
pub const HOST_HEADER: &str = "Airsift-Host";
/// The scan event's journal sequence on its host.
pub const SEQ_HEADER: &str = "Airsift-Seq";
/// `i/n`: part `i` (from 1) of the `n` a request was split into.
pub const PART_HEADER: &str = "Airsift-Part";
/// Room left in a message for its headers.
const HEADER_ROOM: usize = 1024;

/// The subject of an accepted scan report request.
pub fn scan_subject(batch: &Batch) -> String {
    format!(
        "airsift.scan.{}",
        crate::scan::kismet::format_uuid(&batch.source)
    )
}

/// The message id of part `part` (from 1, of several) or of the whole (`None`) of request
/// `seq` of `host`.
pub fn message_id(host: &str, seq: u64, part: Option<Part>) -> String {
    match part {
        None => format!("{host}-{seq}"),
        Some((i, _)) => format!("{host}-{seq}-{i}"),
    }
}

/// One message of a scan event.
#[derive(Debug)]
pub struct ScanMessage {
    pub seq: u64,
    pub payload: Vec<u8>,
    pub headers: HeaderMap,
    /// Whether this is the request's last message (its sequence is done once it is
    /// acknowledged with the ones before it).
    pub last: bool,
}

/// The messages of request `seq` (`journaled`: its journal encoding) of `host`, in `format`,
/// none larger than `max_payload` with its headers.
pub fn scan_messages(
    host: &str,
    seq: u64,
    journaled: Vec<u8>,
    format: ScanFormat,
    max_payload: usize,
) -> Vec<ScanMessage> {
    let limit = max_payload.saturating_sub(HEADER_ROOM).max(HEADER_ROOM);
    let bodies = match format {
        ScanFormat::Compact if journaled.len() <= limit => vec![journaled],
        _ => match codec::decode_batch(&journaled) {
            Ok(batch) => (format == ScanFormat::Json)
                .then(|| scan_event(host, seq, None, &batch))
                .filter(|j| j.len() <= limit)
                .map_or_else(|| split(host, seq, &batch, format, limit), |j| vec![j]),
            // Unreadable (not expected: the journal wrote it): sent as it is, or as the JSON
            // that says so.
            Err(_) if format == ScanFormat::Json => vec![scan_json(host, seq, None, &journaled)],
            Err(_) => vec![journaled],
        },
    };
    let n = bodies.len();
    bodies
        .into_iter()
        .enumerate()
        .map(|(i, payload)| {
            let part: Option<Part> = (n > 1).then_some((i + 1, n));
            let mut headers = HeaderMap::new();
            headers.insert("Nats-Msg-Id", message_id(host, seq, part).as_str());
            headers.insert(HOST_HEADER, host);
            headers.insert(SEQ_HEADER, seq.to_string().as_str());
            if format == ScanFormat::Compact {
                headers.insert(CONTENT_TYPE, SCAN_BATCH_TYPE);
            }
            if let Some((i, n)) = part {
                headers.insert(PART_HEADER, format!("{i}/{n}").as_str());
            }
            ScanMessage {
                seq,
                payload,
                headers,
                last: i + 1 == n,
            }
        })
        .collect()
}

/// The request's reports in as few parts as keep each under `limit` (the rejected count goes
/// with the first). The parts depend only on the request and the limit, so a request sent
/// again after a restart is split the same way and the stream drops the copies.
fn split(host: &str, seq: u64, batch: &Batch, format: ScanFormat, limit: usize) -> Vec<Vec<u8>> {
    let reports = batch.reports.len().max(1);
    let mut n = 2;
    loop {
        let per = reports.div_ceil(n);
        let parts: Vec<Batch> = batch
            .reports
            .chunks(per)
            .enumerate()
            .map(|(i, r)| Batch {
                now: batch.now,
                source: batch.source,
                name: batch.name.clone(),
                rejected: if i == 0 { batch.rejected } else { 0 },
                reports: r.to_vec(),
            })
            .collect();
        let count = parts.len();
        let bodies: Vec<Vec<u8>> = parts
            .iter()
            .enumerate()
            .map(|(i, b)| match format {
                ScanFormat::Compact => codec::encode_batch(b),
                ScanFormat::Json => scan_event(host, seq, Some((i + 1, count)), b),
            })
            .collect();
        // One report is at most about 33 KiB (the validation's limits): it always fits.
        if per == 1 || bodies.iter().all(|b| b.len() <= limit) {
            return bodies;
        }
        n = (n * 2).min(reports);
    }
}

/// One report of a scan event (absent values are left out).
#[derive(Serialize)]
struct ReportOut<'a> {
    mac: String,
    time: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    ssid: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    channel: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    freq_khz: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    signal: Option<i16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    lat: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    lon: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    alt: Option<f64>,
    #[serde(serialize_with = "tags", skip_serializing_if = "<[_]>::is_empty")]
    tags: &'a [Tag],
}

/// Tags as one JSON object.
fn tags<S: serde::Serializer>(t: &&[Tag], s: S) -> Result<S::Ok, S::Error> {
    s.collect_map(t.iter().map(|(k, v)| (&**k, &**v)))
}

/// A scan event: the accepted request (or part `part` of `parts` of it), with the host and
/// journal sequence it has there.
#[derive(Serialize)]
struct ScanOut<'a> {
    host: &'a str,
    seq: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    part: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    parts: Option<usize>,
    time: u32,
    source_uuid: String,
    source_name: &'a str,
    rejected: u32,
    reports: Vec<ReportOut<'a>>,
}

/// The JSON event of `batch`, journaled as `seq` (`part`: which part of it this is).
/// Serialized from typed records, not built as a JSON tree.
fn scan_event(host: &str, seq: u64, part: Option<Part>, batch: &Batch) -> Vec<u8> {
    let out = ScanOut {
        host,
        seq,
        part: part.map(|p| p.0),
        parts: part.map(|p| p.1),
        time: batch.now,
        source_uuid: crate::scan::kismet::format_uuid(&batch.source),
        source_name: &batch.name,
        rejected: batch.rejected,
        reports: batch
            .reports
            .iter()
            .map(|r| ReportOut {
                mac: MacAddr::from_be_u64(r.mac).to_string(),
                time: r.time,
                ssid: r.ssid.as_deref(),
                channel: r.channel.as_deref(),
                freq_khz: r.freq_khz,
                signal: r.signal,
                lat: r.fix.map(|f| f.lat),
                lon: r.fix.map(|f| f.lon),
                alt: r.fix.and_then(|f| f.alt),
                tags: &r.tags,
            })
            .collect(),
    };
    serde_json::to_vec(&out).unwrap_or_default()
}

/// The JSON event from a request's (or part's) journal encoding: what the `json` format
/// publishes and what `airsift fleet tail` prints for the `compact` one.
pub fn scan_json(host: &str, seq: u64, part: Option<Part>, journaled: &[u8]) -> Vec<u8> {
    match codec::decode_batch(journaled) {
        Ok(b) => scan_event(host, seq, part, &b),
        Err(e) => serde_json::to_vec(&json!({
            "host": host,
            "seq": seq,
            "error": format!("the journaled request cannot be read: {e}"),
        }))
        .unwrap_or_default(),
    }
}

/// Part `i` (from 1) of `n`.
pub type Part = (usize, usize);

/// The host, sequence and part of a compact scan event, from its headers (`None` for any
/// other message).
pub fn compact_headers(h: &HeaderMap) -> Option<(&str, u64, Option<Part>)> {
    if h.get(CONTENT_TYPE)?.as_str() != SCAN_BATCH_TYPE {
        return None;
    }
    let part = match h.get(PART_HEADER) {
        None => None,
        Some(v) => {
            let (i, n) = v.as_str().split_once('/')?;
            Some((i.parse().ok()?, n.parse().ok()?))
        }
    };
    Some((
        h.get(HOST_HEADER)?.as_str(),
        h.get(SEQ_HEADER)?.as_str().parse().ok()?,
        part,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scan::report::Report;

    fn batch(reports: usize, tag_bytes: usize) -> Batch {
        Batch {
            now: 1_700_000_000,
            source: [7; 16],
            name: "phone".into(),
            rejected: 3,
            reports: (0..reports as u64)
                .map(|i| Report {
                    mac: 0x0200_0000_0000 + i,
                    time: 1_700_000_000,
                    ssid: Some(format!("net{i}").into()),
                    crypt: None,
                    channel: Some("6".into()),
                    freq_khz: None,
                    signal: Some(-60),
                    fix: None,
                    tags: (0..32)
                        .map(|t| (format!("k{t:02}").into(), "v".repeat(tag_bytes).into()))
                        .collect(),
                })
                .collect(),
        }
    }

    fn reports_of(host: &str, m: &ScanMessage) -> serde_json::Value {
        let (h, seq, part) = compact_headers(&m.headers).expect("compact headers");
        assert_eq!((h, seq), (host, m.seq));
        serde_json::from_slice(&scan_json(h, seq, part, &m.payload)).unwrap()
    }

    #[test]
    fn a_small_request_is_one_message_with_its_journal_encoding() {
        let b = batch(3, 10);
        let enc = codec::encode_batch(&b);
        let ms = scan_messages("h", 9, enc.clone(), ScanFormat::Compact, 1 << 20);
        assert_eq!(ms.len(), 1);
        assert_eq!(ms[0].payload, enc);
        assert!(ms[0].last);
        assert_eq!(ms[0].headers.get("Nats-Msg-Id").unwrap().as_str(), "h-9");
        assert!(ms[0].headers.get(PART_HEADER).is_none());
        let ev = reports_of("h", &ms[0]);
        assert_eq!(ev["reports"].as_array().unwrap().len(), 3);
        assert_eq!(ev["rejected"], 3);
        assert_eq!(ev["reports"][1]["ssid"], "net1");
        assert_eq!(ev.get("part"), None);
        // The JSON format publishes that same JSON.
        let js = scan_messages("h", 9, enc, ScanFormat::Json, 1 << 20);
        assert_eq!(js.len(), 1);
        assert!(js[0].headers.get(CONTENT_TYPE).is_none());
        assert_eq!(
            serde_json::from_slice::<serde_json::Value>(&js[0].payload).unwrap(),
            ev
        );
    }

    #[test]
    fn a_request_larger_than_the_limit_goes_in_parts_with_every_report_once() {
        let b = batch(40, 1_000); // about 1.3 MB
        let enc = codec::encode_batch(&b);
        for format in [ScanFormat::Compact, ScanFormat::Json] {
            let ms = scan_messages("h", 5, enc.clone(), format, 1 << 20);
            assert!(ms.len() >= 2, "{format:?}");
            let mut macs = Vec::new();
            let mut rejected = 0;
            for (i, m) in ms.iter().enumerate() {
                assert!(m.payload.len() + HEADER_ROOM <= 1 << 20, "{format:?}");
                assert_eq!(m.last, i + 1 == ms.len());
                let n = ms.len();
                assert_eq!(
                    m.headers.get(PART_HEADER).unwrap().as_str(),
                    format!("{}/{n}", i + 1)
                );
                assert_eq!(
                    m.headers.get("Nats-Msg-Id").unwrap().as_str(),
                    format!("h-5-{}", i + 1)
                );
                let ev: serde_json::Value = match format {
                    ScanFormat::Compact => reports_of("h", m),
                    ScanFormat::Json => serde_json::from_slice(&m.payload).unwrap(),
                };
                assert_eq!(ev["part"], i + 1);
                assert_eq!(ev["parts"], n);
                rejected += ev["rejected"].as_u64().unwrap();
                macs.extend(
                    ev["reports"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|r| r["mac"].as_str().unwrap().to_string()),
                );
            }
            let want: Vec<String> = b
                .reports
                .iter()
                .map(|r| MacAddr::from_be_u64(r.mac).to_string())
                .collect();
            assert_eq!(macs, want, "{format:?}: every report once, in order");
            assert_eq!(rejected, 3, "{format:?}: the rejected count once");
            // Deterministic: sent again, the same parts (the stream drops the copies by id).
            let again = scan_messages("h", 5, enc.clone(), format, 1 << 20);
            assert_eq!(
                again.iter().map(|m| &m.payload).collect::<Vec<_>>(),
                ms.iter().map(|m| &m.payload).collect::<Vec<_>>()
            );
        }
    }
}
