//! The filters of a fleet: the KV bucket `airsift_filters` holds each filter's status document
//! (without its generation) under its id, and the bucket's revision of that key is the
//! filter's generation on every host.
//!
//! A session brings the host in step and keeps it so: it starts watching the bucket, then
//! reads every key and applies it (the fleet's filters win over the host's own), adds the
//! filters the fleet lacks (all of the host's when the bucket is new: the first host seeds
//! the fleet), and from then on applies each new revision the watch brings. A change made on
//! this host is written on condition that the bucket's last sequence is still the newest write
//! this host has applied ([`SharedFilters`] says why the whole bucket's, not the key's). Two
//! hosts seeding an empty bucket at the same moment may both succeed (the seed's create is a
//! per-key check): the later seed is then the fleet's filter on every host, as the watch
//! brings it.

use async_nats::jetstream::context::PublishErrorKind;
use async_nats::jetstream::{kv, stream};
use futures_util::StreamExt;
use serde_json::Value;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use super::{replicas, Fleet};
use crate::filters::{FilterRegistry, ShareError, SharedFilters};

/// The KV bucket holding every filter's status document.
pub const BUCKET: &str = "airsift_filters";
/// How often a session checks that its watch keeps up with the bucket.
const STALL_CHECK: std::time::Duration = std::time::Duration::from_secs(2);
/// Revisions kept per filter (the newest is what counts; a few older help an operator).
const HISTORY: i64 = 8;

/// The stream behind KV bucket `config.bucket`, as NATS's key-value convention lays it out
/// (`KV_<bucket>` on `$KV.<bucket>.>`, one message per key per revision kept, rollups allowed,
/// deletes through markers, new writes refused when full).
///
/// Created here rather than with the client's `create_key_value`, which first reads account
/// fields that servers before 2.10 (Debian 12 ships 2.9) do not send.
fn kv_stream(config: &kv::Config, replicas: usize) -> stream::Config {
    stream::Config {
        name: format!("KV_{}", config.bucket),
        description: Some(config.description.clone()),
        subjects: vec![format!("$KV.{}.>", config.bucket)],
        max_messages_per_subject: config.history.max(1),
        max_age: config.max_age,
        allow_rollup: true,
        deny_delete: true,
        allow_direct: true,
        discard: stream::DiscardPolicy::New,
        num_replicas: replicas,
        ..Default::default()
    }
}

/// Opens the bucket `config` names, creating it when absent: with the cluster's replicas,
/// again with one when the deployment cannot hold more, and opened after all when another host
/// created it meanwhile.
pub(super) async fn bucket(
    js: &async_nats::jetstream::Context,
    client: &async_nats::Client,
    config: kv::Config,
) -> Result<kv::Store, String> {
    if let Ok(b) = js.get_key_value(config.bucket.as_str()).await {
        return Ok(b);
    }
    let mut n = replicas(client);
    let mut err = match js.create_stream(kv_stream(&config, n)).await {
        Ok(_) => String::new(),
        Err(e) => e.to_string(),
    };
    if !err.is_empty() && n > 1 {
        tracing::warn!(
            "fleet: bucket {} with {n} replicas: {err}; trying one",
            config.bucket
        );
        n = 1;
        err = match js.create_stream(kv_stream(&config, n)).await {
            Ok(_) => String::new(),
            Err(e) => e.to_string(),
        };
    }
    js.get_key_value(config.bucket.as_str())
        .await
        .map_err(|e| format!("cannot create the KV bucket {} ({err}): {e}", config.bucket))
}

/// One session; returns when the watch ends (the connection was lost) or on an error.
pub(super) async fn session(
    fleet: &Arc<Fleet>,
    client: &async_nats::Client,
    js: &async_nats::jetstream::Context,
    registry: &Arc<FilterRegistry>,
) -> Result<(), String> {
    let store = bucket(
        js,
        client,
        kv::Config {
            bucket: BUCKET.into(),
            description: "airsift packet filters: status documents by filter id".into(),
            history: HISTORY,
            ..Default::default()
        },
    )
    .await?;
    // Watch first, so nothing written between the read below and the watch is missed.
    let mut watch = store
        .watch_all()
        .await
        .map_err(|e| format!("cannot watch {BUCKET}: {e}"))?;
    // The newest write before the read: with the writes the read finds, what this host has
    // seen once it has applied them (later ones come through the watch).
    let before = store
        .status()
        .await
        .map_err(|e| format!("cannot read the state of {BUCKET}: {e}"))?
        .info
        .state
        .last_sequence;
    let mut keys: Vec<String> = Vec::new();
    let mut listing = store
        .keys()
        .await
        .map_err(|e| format!("cannot list {BUCKET}: {e}"))?;
    while let Some(k) = listing.next().await {
        keys.push(k.map_err(|e| format!("cannot list {BUCKET}: {e}"))?);
    }
    for key in &keys {
        let entry = store
            .entry(key.as_str())
            .await
            .map_err(|e| format!("cannot read filter {key:?} from {BUCKET}: {e}"))?;
        if let Some(e) = entry.filter(|e| e.operation == kv::Operation::Put) {
            take(fleet, registry, &e.key, &e.value, e.revision, true).await;
        }
    }
    let docs = {
        let r = registry.clone();
        tokio::task::spawn_blocking(move || r.shared_docs())
            .await
            .map_err(|e| format!("reading the local filters: {e}"))?
    };
    for (id, doc) in docs {
        if keys.contains(&id) {
            continue;
        }
        match store.create(id.as_str(), to_bytes(&doc)).await {
            Ok(rev) => {
                take(fleet, registry, &id, &to_bytes(&doc), rev, true).await;
                tracing::info!("fleet: added filter {id:?} to {BUCKET} (revision {rev})");
            }
            Err(e) if e.kind() == kv::CreateErrorKind::AlreadyExists => {
                // Another host added it first: theirs wins.
                if let Ok(Some(e)) = store.entry(id.as_str()).await {
                    take(fleet, registry, &e.key, &e.value, e.revision, true).await;
                }
            }
            Err(e) => return Err(format!("cannot add filter {id:?} to {BUCKET}: {e}")),
        }
    }
    registry.saw_shared(before);
    fleet.synced.store(true, Ordering::Release);
    tracing::info!("fleet: filters in step with {BUCKET}");
    // Behind the bucket for two checks in a row: the watch has stopped delivering.
    let mut check = tokio::time::interval(STALL_CHECK);
    check.tick().await;
    let mut behind = false;
    loop {
        tokio::select! {
            entry = watch.next() => {
                let Some(entry) = entry else {
                    return Err(format!("the watch on {BUCKET} ended"));
                };
                let entry = entry.map_err(|e| format!("watching {BUCKET}: {e}"))?;
                if entry.operation == kv::Operation::Put {
                    take(fleet, registry, &entry.key, &entry.value, entry.revision, false).await;
                } else {
                    registry.saw_shared(entry.revision);
                }
            }
            _ = fleet.reconnected.notified() => {
                return Err("connected again: reading the filters anew".into());
            }
            _ = check.tick() => {
                let last = match store.status().await {
                    Ok(s) => s.info.state.last_sequence,
                    Err(_) => continue,
                };
                let was_behind = behind;
                behind = last > registry.shared_seq();
                if behind && was_behind {
                    return Err(format!(
                        "the watch on {BUCKET} fell behind (at {}, the bucket at {last}): reading anew",
                        registry.shared_seq()
                    ));
                }
            }
        }
    }
}

/// Applies revision `rev` of filter `id`; `fresh`: even when not newer than the host's.
///
/// On the blocking pool, not on the fleet's runtime thread: the registry's lock may be held
/// by a local change that is waiting for this runtime to run its compare-and-set.
async fn take(
    fleet: &Arc<Fleet>,
    registry: &Arc<FilterRegistry>,
    id: &str,
    value: &[u8],
    rev: u64,
    fresh: bool,
) {
    let doc: Value = match serde_json::from_slice(value) {
        Ok(d) => d,
        Err(e) => {
            tracing::error!(
                "fleet: revision {rev} of filter {id:?} is not JSON ({e}); the last one stays"
            );
            return;
        }
    };
    let (fleet, registry, id) = (fleet.clone(), registry.clone(), id.to_string());
    let _ =
        tokio::task::spawn_blocking(move || match registry.take_shared(&id, &doc, rev, fresh) {
            Ok(true) => {
                fleet
                    .counters
                    .filter_revisions
                    .fetch_add(1, Ordering::Relaxed);
                tracing::info!("fleet: filter {id:?} is at generation {rev}");
            }
            Ok(false) => {}
            Err(e) => tracing::error!("fleet: revision {rev} of filter {id:?} not applied: {e}"),
        })
        .await;
}

fn to_bytes(doc: &Value) -> bytes::Bytes {
    bytes::Bytes::from(serde_json::to_vec(doc).unwrap_or_default())
}

impl SharedFilters for Fleet {
    fn compare_and_set(&self, id: &str, doc: &Value, read: u64) -> Result<u64, ShareError> {
        let state = self.state();
        if state != "connected" {
            return Err(ShareError::Unavailable(format!(
                "the fleet is {state}: filter changes are refused until this host is back in \
                 step with it (capture goes on with the last filter)"
            )));
        }
        let Some(client) = self.client.get().cloned() else {
            return Err(ShareError::Unavailable("not connected".into()));
        };
        let (id, value) = (id.to_string(), to_bytes(doc));
        let answer = self.call(async move {
            let js = async_nats::jetstream::new(client);
            let mut headers = async_nats::HeaderMap::new();
            headers.insert("Nats-Expected-Last-Sequence", read.to_string().as_str());
            let unavailable = |e: &dyn std::fmt::Display| {
                ShareError::Unavailable(format!("the fleet did not take the change: {e}"))
            };
            let ack = js
                .publish_with_headers(format!("$KV.{BUCKET}.{id}"), headers, value)
                .await
                .map_err(|e| unavailable(&e))?;
            match ack.await {
                Ok(a) => Ok(a.sequence),
                Err(e) if e.kind() == PublishErrorKind::WrongLastSequence => {
                    Err(ShareError::Conflict(format!(
                        "the fleet's filters changed on another host after generation {read}: \
                         read filter {id:?} again and retry"
                    )))
                }
                Err(e) => Err(unavailable(&e)),
            }
        });
        answer.unwrap_or_else(|| {
            Err(ShareError::Unavailable(format!(
                "the fleet did not answer within {} s; the change may still be applied",
                super::DEADLINE.as_secs()
            )))
        })
    }
}
