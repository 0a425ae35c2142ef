//! Events to the stream `AIRSIFT` (API.md section 7):
//! - accepted scan reports (`airsift.scan.<source uuid>`), one message per accepted request,
//!   written to the outbox in the transaction that journals the request and published from
//!   there ([`publish_outbox`]): a row leaves the outbox only when JetStream acknowledged it,
//!   so requests accepted while NATS is down are published when it returns, and the message id
//!   (host and journal sequence) lets the stream drop a copy sent again after a crash. The
//!   rows just committed come from memory ([`crate::scan::Outbox::take`]); the messages and
//!   their encoding are [`super::scan_event`]'s;
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
use serde_json::{json, Value};

use super::scan_event::scan_messages;
use super::{replicas, Fleet, Local};
use crate::scan::Next;

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
/// A NATS server's message size limit unless it says otherwise.
const DEFAULT_MAX_PAYLOAD: usize = 1 << 20;
/// Most device messages per interval (the rest wait for the next interval's).
pub const DEVICES_PER_INTERVAL: usize = 2_000;

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
    // Rows are read from the table (rather than taken from memory) until a read finds the
    // table's end: at start (rows left from before a restart) and after a gap.
    let mut from_table = true;
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
        let (rows, pending) = match local.outbox.take(cursor, OUTBOX_BATCH) {
            Next::Rows(rows) if !from_table => (Ok(rows), local.outbox.pending_after(cursor)),
            Next::Idle if !from_table => (Ok(Vec::new()), 0),
            _ => {
                let store = local.store.clone();
                let read = tokio::task::spawn_blocking(move || {
                    let rows = store.outbox_after(cursor, OUTBOX_BATCH);
                    (rows, store.outbox_count_after(cursor).unwrap_or(0))
                })
                .await;
                let Ok((rows, pending)) = read else {
                    return;
                };
                if let Ok(rows) = &rows {
                    // In step with the table once a read finds its end: what follows comes
                    // from memory.
                    from_table = rows.len() == OUTBOX_BATCH;
                }
                (rows, pending)
            }
        };
        // Still pending, also while the outbox cannot be read.
        fleet
            .counters
            .outbox_pending
            .store(pending, Ordering::Relaxed);
        let rows = match rows {
            Ok(rows) => rows,
            Err(e) => {
                tracing::error!("fleet: cannot read the outbox: {e}");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        let Some(last) = rows.last().map(|r| r.seq) else {
            tokio::time::sleep(OUTBOX_POLL).await;
            continue;
        };
        let max_payload = match client.as_ref().map(|c| c.server_info().max_payload) {
            Some(m) if m > 0 => m,
            _ => DEFAULT_MAX_PAYLOAD,
        };
        let (host, format) = (fleet.host_id(), fleet.config.scan_format);
        let mut acks: Vec<(u64, bool, PublishAckFuture)> = Vec::with_capacity(rows.len());
        'rows: for r in rows {
            for m in scan_messages(host, r.seq, r.payload, format, max_payload) {
                let msg = jetstream::message::PublishMessage::build()
                    .payload(m.payload.into())
                    .headers(m.headers);
                match js.send_publish(r.subject.clone(), msg).await {
                    Ok(ack) => acks.push((m.seq, m.last, ack)),
                    Err(e) => {
                        fleet
                            .counters
                            .publish_errors
                            .fetch_add(1, Ordering::Relaxed);
                        tracing::warn!("fleet: publishing outbox row {}: {e}", r.seq);
                        break 'rows;
                    }
                }
            }
        }
        // The cursor moves over the rows acknowledged in order (all their parts); a message
        // that was not stops it (its row and the ones after it are sent again).
        let mut in_order = true;
        let before = cursor;
        for (seq, whole, ack) in acks {
            match ack.await {
                Ok(_) => {
                    fleet
                        .counters
                        .events_published
                        .fetch_add(1, Ordering::Relaxed);
                    if in_order && whole {
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
        if cursor < last {
            // What was not acknowledged is sent again, from the table.
            from_table = true;
        }
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
