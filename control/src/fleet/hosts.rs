//! Each host's heartbeat in the KV bucket `airsift_hosts` (API.md section 7), and the list of
//! hosts any host serves at `/fleet/hosts.json`.

use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream::{self, kv};
use futures_util::StreamExt;
use serde_json::{json, Value};

use super::{filters, Fleet, Local};
use crate::filters::CAPTURE_ID;

/// The bucket of heartbeats, keyed by host id.
pub const BUCKET: &str = "airsift_hosts";
/// How often a host writes its heartbeat.
pub const EVERY: Duration = Duration::from_secs(2);
/// A heartbeat older than this is gone from the bucket (the host is taken as down).
const MAX_AGE: Duration = Duration::from_secs(30);

/// A host id as a KV key: letters, digits, `-`, `_`, `=`, `/` and `.` pass, anything else
/// becomes `_`.
pub fn key(host: &str) -> String {
    host.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_=/".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect()
}

async fn open(fleet: &Fleet, js: &jetstream::Context) -> Result<kv::Store, String> {
    let client = fleet.client.get().ok_or("not connected")?;
    filters::bucket(
        js,
        client,
        kv::Config {
            bucket: BUCKET.into(),
            description: "airsift hosts: each host's heartbeat".into(),
            history: 1,
            max_age: MAX_AGE,
            ..Default::default()
        },
    )
    .await
}

/// This host's heartbeat document.
fn beat(fleet: &Fleet, local: &Local, sources: Value, rates: &Value) -> Value {
    json!({
        "airsift.fleet.host.id": fleet.host_id(),
        "airsift.fleet.host.version": env!("CARGO_PKG_VERSION"),
        "airsift.fleet.host.state": fleet.state(),
        "airsift.fleet.host.filter_generation": local.registry.generation(CAPTURE_ID),
        "airsift.fleet.host.sources": sources,
        "airsift.fleet.host.rates": rates,
        "airsift.fleet.host.last_seen": super::now_secs(),
    })
}

/// Writes the heartbeat every [`EVERY`] while connected, for the life of the process. The
/// rates are frames per second over the last beat, from the sources' counters.
pub(super) async fn heartbeat(fleet: Arc<Fleet>, js: jetstream::Context, local: Arc<Local>) {
    let mut store: Option<kv::Store> = None;
    let mut last: Option<(tokio::time::Instant, u64)> = None;
    loop {
        if fleet.connected() {
            if store.is_none() {
                match open(&fleet, &js).await {
                    Ok(s) => store = Some(s),
                    Err(e) => tracing::warn!("fleet: {e}"),
                }
            }
            if let Some(s) = &store {
                // Off the runtime thread: the registry's lock may be held by a change that
                // waits for this runtime.
                let (f, l) = (fleet.clone(), local.clone());
                let prev = last;
                let Ok((doc, now, frames)) = tokio::task::spawn_blocking(move || {
                    let sources = (l.stats)();
                    let frames = total_frames(&sources);
                    let now = tokio::time::Instant::now();
                    let rate = prev
                        .map(|(t, n)| frames.saturating_sub(n) as f64 / (now - t).as_secs_f64())
                        .unwrap_or(0.0);
                    let doc = beat(&f, &l, sources, &json!({"frames_per_s": rate}));
                    (doc, now, frames)
                })
                .await
                else {
                    return;
                };
                last = Some((now, frames));
                let value = serde_json::to_vec(&doc).unwrap_or_default();
                if let Err(e) = s.put(key(fleet.host_id()), value.into()).await {
                    tracing::debug!("fleet: heartbeat: {e}");
                    store = None;
                }
            }
        } else {
            store = None;
        }
        tokio::time::sleep(EVERY).await;
    }
}

/// Frames counted by every source in a statistics document.
fn total_frames(stats: &Value) -> u64 {
    stats
        .as_array()
        .map(|a| a.iter().filter_map(|s| s["frames"].as_u64()).sum::<u64>())
        .unwrap_or(0)
}

impl Fleet {
    /// Every host's latest heartbeat, ordered by id.
    pub fn hosts(&self) -> Result<Vec<Value>, String> {
        if !self.connected() {
            return Err(format!("the fleet is {}", self.state()));
        }
        let client = self.client.get().cloned().ok_or("not connected")?;
        let js = jetstream::new(client);
        let answer = self.call(async move {
            let store = js
                .get_key_value(BUCKET)
                .await
                .map_err(|e| format!("cannot open {BUCKET}: {e}"))?;
            let mut keys = store
                .keys()
                .await
                .map_err(|e| format!("cannot list {BUCKET}: {e}"))?;
            let mut out = Vec::new();
            while let Some(k) = keys.next().await {
                let k = k.map_err(|e| format!("cannot list {BUCKET}: {e}"))?;
                if let Ok(Some(v)) = store.get(k.as_str()).await {
                    if let Ok(doc) = serde_json::from_slice::<Value>(&v) {
                        out.push(doc);
                    }
                }
            }
            out.sort_by(|a, b| {
                a["airsift.fleet.host.id"]
                    .as_str()
                    .cmp(&b["airsift.fleet.host.id"].as_str())
            });
            Ok::<_, String>(out)
        });
        answer.unwrap_or_else(|| Err("the fleet did not answer in time".into()))
    }
}
