//! Events to the stream `AIRSIFT` (API.md section 7):
//! - accepted scan reports (`airsift.scan.<source uuid>`), one message per accepted request,
//!   written to the outbox in the transaction that journals the request and published from
//!   there ([`publish_outbox`]): a row leaves the outbox only when JetStream acknowledged it,
//!   so requests accepted while NATS is down are published when it returns, and the message id
//!   (host and journal sequence) lets the stream drop a copy sent again after a crash;
//! - devices changed in the last interval (`airsift.device.<mac>`, one message per device and
//!   interval, at most [`DEVICES_PER_INTERVAL`]);
//! - per-source statistics each second (`airsift.stats.<host>`).
//!
//! Device changes and statistics describe a state that the next interval describes again, so
//! they are published without an outbox: what NATS misses while it is down is not sent later.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream::{self, context::PublishAckFuture, stream};
use dataplane::wire::MacAddr;
use serde::Serialize;
use serde_json::{json, Value};

use super::{replicas, Fleet, Local};
use crate::scan::report::Batch;

/// The stream every event goes to.
pub const STREAM: &str = "AIRSIFT";
/// How long the stream remembers message ids to drop duplicates.
pub const DEDUP_WINDOW: Duration = Duration::from_secs(120);
/// How long the stream keeps events.
const MAX_AGE: Duration = Duration::from_secs(7 * 86_400);
/// Outbox rows published per round.
const OUTBOX_BATCH: usize = 256;
/// How often the outbox is looked at when it was empty.
const OUTBOX_POLL: Duration = Duration::from_millis(100);
/// Most device messages per interval (the rest wait for the next interval's).
pub const DEVICES_PER_INTERVAL: usize = 2_000;

/// The subject of an accepted scan report request.
pub fn scan_subject(batch: &Batch) -> String {
    format!(
        "airsift.scan.{}",
        crate::scan::kismet::format_uuid(&batch.source)
    )
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
    tags: &'a [crate::scan::report::Tag],
}

/// Tags as one JSON object.
fn tags<S: serde::Serializer>(t: &&[crate::scan::report::Tag], s: S) -> Result<S::Ok, S::Error> {
    s.collect_map(t.iter().map(|(k, v)| (&**k, &**v)))
}

/// A scan event: the accepted request, with the host and journal sequence it has there.
#[derive(Serialize)]
struct ScanOut<'a> {
    host: &'a str,
    seq: u64,
    time: u32,
    source_uuid: String,
    source_name: &'a str,
    rejected: u32,
    reports: Vec<ReportOut<'a>>,
}

/// The event of an accepted scan report request, journaled as `seq`. Serialized from typed
/// records, not built as a JSON tree: this runs for every accepted request.
pub fn scan_event(host: &str, seq: u64, batch: &Batch) -> Vec<u8> {
    let out = ScanOut {
        host,
        seq,
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

/// The message id of outbox row `seq` of `host`.
pub fn message_id(host: &str, seq: u64) -> String {
    format!("{host}-{seq}")
}

/// Makes sure the stream exists (with the cluster's replicas) before publishing to it.
async fn ensure_stream(js: &jetstream::Context, client: &async_nats::Client) -> Result<(), String> {
    if js.get_stream(STREAM).await.is_ok() {
        return Ok(());
    }
    let mut config = stream::Config {
        name: STREAM.into(),
        description: Some("airsift events: scan reports, device changes, statistics".into()),
        subjects: vec!["airsift.>".into()],
        duplicate_window: DEDUP_WINDOW,
        max_age: MAX_AGE,
        num_replicas: replicas(client),
        ..Default::default()
    };
    let mut err = match js.get_or_create_stream(config.clone()).await {
        Ok(_) => return Ok(()),
        Err(e) => e.to_string(),
    };
    if config.num_replicas > 1 {
        config.num_replicas = 1;
        match js.get_or_create_stream(config).await {
            Ok(_) => return Ok(()),
            Err(e) => err = e.to_string(),
        }
    }
    Err(format!("cannot create the stream {STREAM}: {err}"))
}

/// Publishes the outbox, oldest first, for the life of the process: rows after the last one
/// acknowledged in order (those sent before a restart are sent again; the stream drops them by
/// message id), a batch at a time, all sent before the acknowledgements are collected.
pub(super) async fn publish_outbox(fleet: Arc<Fleet>, js: jetstream::Context, local: Arc<Local>) {
    let client = fleet.client.get().cloned();
    let mut stream_ready = false;
    // Every row up to here is acknowledged.
    let mut cursor = 0u64;
    loop {
        if !fleet.connected() {
            stream_ready = false;
            tokio::time::sleep(OUTBOX_POLL).await;
            continue;
        }
        if !stream_ready {
            match ensure_stream(&js, client.as_ref().expect("set before the tasks start")).await {
                Ok(()) => stream_ready = true,
                Err(e) => {
                    tracing::warn!("fleet: {e}");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue;
                }
            }
        }
        let (store, host) = (local.store.clone(), fleet.host_id().to_string());
        let rows = tokio::task::spawn_blocking(move || {
            // Rows hold the journal's encoding of the request; the event is its JSON.
            let rows = store.outbox_after(cursor, OUTBOX_BATCH).map(|rows| {
                rows.into_iter()
                    .map(|mut r| {
                        r.payload = match crate::scan::codec::decode_batch(&r.payload) {
                            Ok(b) => scan_event(&host, r.seq, &b),
                            Err(e) => serde_json::to_vec(&json!({
                                "host": host,
                                "seq": r.seq,
                                "error": format!("the journaled request cannot be read: {e}"),
                            }))
                            .unwrap_or_default(),
                        };
                        r
                    })
                    .collect::<Vec<_>>()
            });
            (rows, store.outbox_count_after(cursor).unwrap_or(0))
        })
        .await;
        let (rows, pending) = match rows {
            Ok((Ok(rows), pending)) => (rows, pending),
            Ok((Err(e), _)) => {
                tracing::error!("fleet: cannot read the outbox: {e}");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
            Err(_) => return,
        };
        fleet
            .counters
            .outbox_pending
            .store(pending, Ordering::Relaxed);
        if rows.is_empty() {
            tokio::time::sleep(OUTBOX_POLL).await;
            continue;
        }
        let mut acks: Vec<(u64, PublishAckFuture)> = Vec::with_capacity(rows.len());
        for r in rows {
            let msg = jetstream::message::PublishMessage::build()
                .payload(r.payload.into())
                .message_id(message_id(fleet.host_id(), r.seq));
            match js.send_publish(r.subject, msg).await {
                Ok(ack) => acks.push((r.seq, ack)),
                Err(e) => {
                    fleet
                        .counters
                        .publish_errors
                        .fetch_add(1, Ordering::Relaxed);
                    tracing::warn!("fleet: publishing outbox row {}: {e}", r.seq);
                    break;
                }
            }
        }
        // The cursor moves over the rows acknowledged in order; a row that was not stops it
        // (it and the ones after it are sent again).
        let mut in_order = true;
        let before = cursor;
        for (seq, ack) in acks {
            match ack.await {
                Ok(_) => {
                    fleet
                        .counters
                        .events_published
                        .fetch_add(1, Ordering::Relaxed);
                    if in_order {
                        cursor = seq;
                    }
                }
                Err(e) => {
                    in_order = false;
                    fleet
                        .counters
                        .publish_errors
                        .fetch_add(1, Ordering::Relaxed);
                    tracing::warn!("fleet: outbox row {seq} not acknowledged: {e}");
                }
            }
        }
        local
            .outbox
            .acked
            .fetch_max(cursor, std::sync::atomic::Ordering::AcqRel);
        if cursor == before {
            tokio::time::sleep(OUTBOX_POLL).await;
        }
    }
}

/// Statistics and the devices changed since the last round, each second, while connected.
pub(super) async fn publish_periodic(fleet: Arc<Fleet>, js: jetstream::Context, local: Arc<Local>) {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut devices_from = super::now_secs();
    loop {
        tick.tick().await;
        if !fleet.connected() {
            continue;
        }
        let stats = json!({
            "host": fleet.host_id(),
            "time": super::now_secs(),
            "sources": (local.stats)(),
        });
        let subject = format!("airsift.stats.{}", fleet.host_id());
        publish_now(&fleet, &js, subject, &stats).await;
        let since = devices_from;
        let local2 = local.clone();
        let Ok(changed) = tokio::task::spawn_blocking(move || {
            (local2.devices_since)(since, DEVICES_PER_INTERVAL)
        })
        .await
        else {
            return;
        };
        // Oldest first: when the limit cut the list, the next round goes on from the last one
        // published (its second may be sent again); else from now (devices seen in the current
        // second may change again within it: they are sent again next round).
        let now = super::now_secs();
        devices_from = if changed.len() >= DEVICES_PER_INTERVAL {
            changed
                .last()
                .and_then(|(_, d)| d["kismet.device.base.last_time"].as_u64())
                .unwrap_or(now)
                .max(since)
        } else {
            now
        };
        // All sent, then the acknowledgements collected: one round trip per interval.
        let mut acks = Vec::with_capacity(changed.len());
        for (mac, doc) in changed {
            let doc = json!({"host": fleet.host_id(), "time": now, "device": doc});
            let payload = serde_json::to_vec(&doc).unwrap_or_default();
            match js
                .publish(format!("airsift.device.{mac}"), payload.into())
                .await
            {
                Ok(ack) => acks.push(ack),
                Err(_) => {
                    fleet
                        .counters
                        .publish_errors
                        .fetch_add(1, Ordering::Relaxed);
                    break;
                }
            }
        }
        for ack in acks {
            let counter = match ack.await {
                Ok(_) => &fleet.counters.events_published,
                Err(_) => &fleet.counters.publish_errors,
            };
            counter.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// Publishes one message and waits for its acknowledgement (counted either way).
async fn publish_now(fleet: &Fleet, js: &jetstream::Context, subject: String, doc: &Value) {
    let payload = serde_json::to_vec(doc).unwrap_or_default();
    let r = match js.publish(subject, payload.into()).await {
        Ok(ack) => ack.await.map(|_| ()).map_err(|e| e.to_string()),
        Err(e) => Err(e.to_string()),
    };
    match r {
        Ok(()) => {
            fleet
                .counters
                .events_published
                .fetch_add(1, Ordering::Relaxed);
        }
        Err(e) => {
            fleet
                .counters
                .publish_errors
                .fetch_add(1, Ordering::Relaxed);
            tracing::debug!("fleet: publish: {e}");
        }
    }
}
