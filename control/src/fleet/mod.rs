//! A fleet of capture hosts on NATS JetStream (API.md section 7): filters shared through the
//! KV bucket `airsift_filters` ([`filters`]), events in the stream `AIRSIFT` ([`events`]), and
//! each host's heartbeat in the KV bucket `airsift_hosts` ([`hosts`]).
//!
//! The NATS client runs on a runtime of its own, on one thread: the capture never waits for
//! it, the HTTP workers wait on its answers only for a filter change (with a deadline), and
//! without `--nats` none of this exists.

pub mod events;
pub mod filters;
pub mod hosts;
pub mod scan_event;

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use async_nats::connection::State;
use serde_json::Value;

use crate::filters::FilterRegistry;
use crate::store::Store;

/// How long a caller on another thread waits for the fleet before giving up.
pub const DEADLINE: Duration = Duration::from_secs(5);
/// Pause before a new session after one ended.
const RETRY: Duration = Duration::from_millis(500);
/// Largest number of replicas asked for a bucket or stream.
const MAX_REPLICAS: usize = 3;

/// `--nats` and its options.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FleetConfig {
    /// Server URLs (`nats://host:port`), tried in turn.
    pub urls: Vec<String>,
    /// A NATS credentials file (JWT and NKey seed).
    pub credentials: Option<PathBuf>,
    /// CA certificate (PEM) to verify the servers with; giving one requires TLS.
    pub tls_ca: Option<PathBuf>,
    /// Client certificate and key (PEM), for servers that verify clients.
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    /// This host's id in the fleet.
    pub host_id: String,
    /// How scan events are encoded on the stream.
    pub scan_format: ScanFormat,
}

/// How scan events are encoded on the stream (`fleet_scan_format`).
///
/// `compact` publishes the request exactly as the journal holds it (a few dozen bytes a
/// report, nothing to build); JSON costs the host the event's construction and the servers
/// three times the bytes, which on a small host holds scan-report ingest to about two thirds
/// of its rate without a fleet (BENCHMARKS.md). Either way the message id and the
/// `Airsift-Host` and `Airsift-Seq` headers are set, and `airsift fleet tail` prints the same
/// JSON.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ScanFormat {
    #[default]
    Compact,
    Json,
}

impl FleetConfig {
    /// `opts` with this configuration's credentials and TLS settings (the host's link and
    /// `airsift fleet tail` connect alike).
    pub async fn secure(
        &self,
        mut opts: async_nats::ConnectOptions,
    ) -> Result<async_nats::ConnectOptions, String> {
        if let Some(creds) = &self.credentials {
            opts = opts.credentials_file(creds).await.map_err(|e| {
                format!(
                    "cannot read the NATS credentials file {}: {e}",
                    creds.display()
                )
            })?;
        }
        if let Some(ca) = &self.tls_ca {
            opts = opts.add_root_certificates(ca.clone()).require_tls(true);
        }
        if let (Some(cert), Some(key)) = (&self.tls_cert, &self.tls_key) {
            opts = opts.add_client_certificate(cert.clone(), key.clone());
        }
        Ok(opts)
    }
}

/// What the fleet reads from the rest of the process, each second or on demand.
pub struct Local {
    pub registry: Arc<FilterRegistry>,
    pub store: Arc<Store>,
    /// The outbox the scan writer fills; the publisher raises its `acked`.
    pub outbox: Arc<crate::scan::Outbox>,
    /// Per-source statistics (`airsift.stats.<host>` and the heartbeat).
    pub stats: Box<dyn Fn() -> Value + Send + Sync>,
    pub devices_since: DevicesSince,
}

/// Devices changed since a time (seconds), at most a number of them, as `(mac, summary)`.
pub type DevicesSince = Box<dyn Fn(u64, usize) -> Vec<(String, Value)> + Send + Sync>;

/// Counters for `/metrics` and `/system/status.json`.
#[derive(Default)]
pub struct FleetCounters {
    pub filter_revisions: AtomicU64,
    pub events_published: AtomicU64,
    pub publish_errors: AtomicU64,
    pub outbox_pending: AtomicU64,
}

/// The link to the fleet.
pub struct Fleet {
    config: FleetConfig,
    handle: tokio::runtime::Handle,
    client: OnceLock<async_nats::Client>,
    /// Set while a session is in step with the filter bucket.
    synced: AtomicBool,
    /// Told each time the client connects again after losing its server: the session then
    /// reads the filters again (its watch may have lived on the server that went away).
    reconnected: Arc<tokio::sync::Notify>,
    pub counters: FleetCounters,
}

impl Fleet {
    /// Starts the link on a thread of its own: connects (retrying until a server answers),
    /// brings the filters in step and keeps them so, publishes events and the heartbeat.
    pub fn start(config: FleetConfig, local: Local) -> anyhow::Result<Arc<Fleet>> {
        anyhow::ensure!(
            !config.urls.is_empty(),
            "--nats needs at least one server URL"
        );
        for u in &config.urls {
            u.parse::<async_nats::ServerAddr>()
                .map_err(|e| anyhow::anyhow!("--nats {u:?}: {e}"))?;
        }
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let fleet = Arc::new(Fleet {
            config,
            handle: runtime.handle().clone(),
            client: OnceLock::new(),
            synced: AtomicBool::new(false),
            reconnected: Arc::default(),
            counters: FleetCounters::default(),
        });
        local.registry.share(fleet.clone());
        let f = fleet.clone();
        std::thread::Builder::new()
            .name("fleet".into())
            .spawn(move || runtime.block_on(f.run(Arc::new(local))))?;
        Ok(fleet)
    }

    /// `connected` (in step with the fleet's filters), `syncing` (connected, reading them) or
    /// `disconnected`.
    pub fn state(&self) -> &'static str {
        match self.client.get().map(|c| c.connection_state()) {
            Some(State::Connected) if self.synced.load(Ordering::Acquire) => "connected",
            Some(State::Connected) => "syncing",
            _ => "disconnected",
        }
    }

    pub fn host_id(&self) -> &str {
        &self.config.host_id
    }

    pub fn urls(&self) -> &[String] {
        &self.config.urls
    }

    fn connected(&self) -> bool {
        self.client
            .get()
            .is_some_and(|c| c.connection_state() == State::Connected)
    }

    /// Runs `fut` on the fleet's runtime and waits for it, at most [`DEADLINE`].
    fn call<T: Send + 'static>(
        &self,
        fut: impl std::future::Future<Output = T> + Send + 'static,
    ) -> Option<T> {
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        self.handle.spawn(async move {
            let _ = tx.send(fut.await);
        });
        rx.recv_timeout(DEADLINE).ok()
    }

    async fn connect(&self) -> Result<async_nats::Client, String> {
        let c = &self.config;
        let reconnected = self.reconnected.clone();
        let opts = async_nats::ConnectOptions::new()
            .event_callback(move |event| {
                let reconnected = reconnected.clone();
                async move {
                    match event {
                        async_nats::Event::Connected => {
                            tracing::info!("fleet: connected");
                            reconnected.notify_waiters();
                        }
                        async_nats::Event::Disconnected => tracing::warn!("fleet: disconnected"),
                        other => tracing::debug!("fleet: {other}"),
                    }
                }
            })
            .name(format!("airsift {}", c.host_id))
            .retry_on_initial_connect()
            .max_reconnects(None)
            .connection_timeout(Duration::from_secs(2));
        let urls: Vec<async_nats::ServerAddr> =
            c.urls.iter().filter_map(|u| u.parse().ok()).collect();
        c.secure(opts)
            .await?
            .connect(urls)
            .await
            .map_err(|e| format!("cannot connect to NATS: {e}"))
    }

    async fn run(self: Arc<Fleet>, local: Arc<Local>) {
        let client = match self.connect().await {
            Ok(c) => c,
            Err(e) => {
                tracing::error!("fleet: {e}; this host runs alone");
                eprintln!("airsift: fleet: {e}; this host runs alone");
                return;
            }
        };
        let _ = self.client.set(client.clone());
        let js = async_nats::jetstream::new(client.clone());
        // Events and the heartbeat run for the life of the process; each copes with the
        // connection coming and going.
        tokio::spawn(events::publish_outbox(
            self.clone(),
            js.clone(),
            local.clone(),
        ));
        tokio::spawn(events::publish_periodic(
            self.clone(),
            js.clone(),
            local.clone(),
        ));
        tokio::spawn(hosts::heartbeat(self.clone(), js.clone(), local.clone()));
        loop {
            if self.connected() {
                if let Err(e) = filters::session(&self, &client, &js, &local.registry).await {
                    tracing::warn!("fleet: {e}");
                }
                self.synced.store(false, Ordering::Release);
            }
            tokio::time::sleep(RETRY).await;
        }
    }

    /// The fleet's status for `/system/status.json`.
    pub fn status(&self) -> Value {
        let c = &self.counters;
        serde_json::json!({
            "airsift.fleet.state": self.state(),
            "airsift.fleet.host": self.host_id(),
            "airsift.fleet.servers": self.urls(),
            "airsift.fleet.connected_server": self.client.get()
                .filter(|c| c.connection_state() == State::Connected)
                .map(|c| format!("{}:{}", c.server_info().host, c.server_info().port)),
            "airsift.fleet.filter_revisions_applied": c.filter_revisions.load(Ordering::Relaxed),
            "airsift.fleet.events_published": c.events_published.load(Ordering::Relaxed),
            "airsift.fleet.publish_errors": c.publish_errors.load(Ordering::Relaxed),
            "airsift.fleet.outbox_pending": c.outbox_pending.load(Ordering::Relaxed),
        })
    }
}

/// Replicas for a new bucket or stream: the cluster's size (the client URLs its servers
/// announce, which a clustered server lists for every member and a lone server leaves empty),
/// at most [`MAX_REPLICAS`]. A creation that fails with more than one is retried with one.
fn replicas(client: &async_nats::Client) -> usize {
    client
        .server_info()
        .connect_urls
        .len()
        .clamp(1, MAX_REPLICAS)
}

/// This host's id when none is configured: the machine id (systemd's `/etc/machine-id`),
/// else the host name.
pub fn default_host_id() -> String {
    std::fs::read_to_string("/etc/machine-id")
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .or_else(|| {
            nix::unistd::gethostname()
                .ok()
                .and_then(|h| h.into_string().ok())
        })
        .unwrap_or_else(|| "airsift".into())
}

/// The seconds since the epoch.
fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}
