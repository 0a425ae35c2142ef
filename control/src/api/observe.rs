//! What the dataplane is doing (API.md section 4): counters and rates, a Prometheus scrape,
//! the system status, and the live pcapng stream of passed frames.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use actix_web::{web::Bytes, HttpRequest, HttpResponse};
use dataplane::worker::CounterSnapshot;

use crate::datasource::registry::SourceRegistry;
use serde_json::{json, Map, Value};

use super::error::ApiError;
use super::reply;
use super::request::Ext;
use super::AppState;

/// Queue of one stream subscriber, in worker batches.
const STREAM_QUEUE: usize = 256;
/// How often a stream with nothing queued looks again.
const STREAM_POLL: Duration = Duration::from_millis(20);

/// Per-source counters sampled once a second, for rates over the last second.
#[derive(Default)]
pub struct Sampler {
    /// The two most recent samples, older first: source number → counters.
    samples: Mutex<Vec<(Instant, HashMap<u32, CounterSnapshot>)>>,
}

impl Sampler {
    /// Starts a thread that samples every source every second for as long as the sampler
    /// lives.
    pub fn start(sources: Arc<SourceRegistry>) -> Arc<Sampler> {
        let s = Arc::new(Sampler::default());
        let weak = Arc::downgrade(&s);
        let sources = Arc::downgrade(&sources);
        let _ = std::thread::Builder::new()
            .name("airsift-stats".into())
            .spawn(move || {
                while let (Some(s), Some(src)) = (weak.upgrade(), sources.upgrade()) {
                    let snap = src.counters().into_iter().map(|(n, _, c)| (n, c)).collect();
                    drop(src);
                    let mut v = s.samples.lock().unwrap_or_else(PoisonError::into_inner);
                    v.push((Instant::now(), snap));
                    if v.len() > 2 {
                        v.remove(0);
                    }
                    drop(v);
                    drop(s);
                    std::thread::sleep(Duration::from_secs(1));
                }
            });
        s
    }

    /// Frames/s and bytes/s of source `number` between the two latest samples.
    fn rate(&self, number: u32) -> (f64, f64) {
        let v = self.samples.lock().unwrap_or_else(PoisonError::into_inner);
        match v.as_slice() {
            [(t0, a), (t1, b)] => {
                let dt = t1.duration_since(*t0).as_secs_f64().max(1e-3);
                match (a.get(&number), b.get(&number)) {
                    (Some(a), Some(b)) => (
                        b.frames.saturating_sub(a.frames) as f64 / dt,
                        b.bytes.saturating_sub(a.bytes) as f64 / dt,
                    ),
                    _ => (0.0, 0.0),
                }
            }
            _ => (0.0, 0.0),
        }
    }
}

/// What the API observes of the dataplane: the capture datasources and their rates.
pub struct Observed {
    pub sources: Arc<SourceRegistry>,
    pub sampler: Arc<Sampler>,
}

fn counters_json(c: &CounterSnapshot) -> Map<String, Value> {
    match serde_json::to_value(c) {
        Ok(Value::Object(m)) => m,
        _ => Map::new(),
    }
}

/// `/dataplane/stats.json`: totals, per source (counters across reopenings) and per running
/// worker.
pub fn stats(
    state: &AppState,
    ext: Ext,
    dict: &Map<String, Value>,
) -> Result<HttpResponse, ApiError> {
    let dp = &state.dataplane;
    let mut total = CounterSnapshot::default();
    let (mut fps, mut bps) = (0.0, 0.0);
    let mut sources = Vec::new();
    for (number, name, c) in dp.sources.counters() {
        total.add(&c);
        let (f, b) = dp.sampler.rate(number);
        fps += f;
        bps += b;
        let mut s = counters_json(&c);
        s.insert("source_number".into(), number.into());
        s.insert("name".into(), name.into());
        s.insert("frames_per_second".into(), json!(f));
        s.insert("bytes_per_second".into(), json!(b));
        sources.push(Value::Object(s));
    }
    let mut workers = Vec::new();
    for (number, name, g) in dp.sources.groups() {
        for (info, c) in g.workers().iter().zip(g.counters.iter()) {
            let mut w = counters_json(&c.snapshot());
            w.insert("worker".into(), workers.len().into());
            w.insert("source_number".into(), number.into());
            w.insert("source_name".into(), name.clone().into());
            w.insert("core".into(), json!(info.core));
            w.insert("pinned".into(), json!(info.pinned));
            w.insert("source".into(), json!(info.source));
            w.insert(
                "filter_generation".into(),
                c.generation.load(Ordering::Relaxed).into(),
            );
            w.insert("paused".into(), g.paused().into());
            workers.push(Value::Object(w));
        }
    }
    let mut t = counters_json(&total);
    t.insert("frames_per_second".into(), json!(fps));
    t.insert("bytes_per_second".into(), json!(bps));
    let plane = dp.sources.plane();
    let sink = plane.sink_stats();
    t.insert(
        "log_frames".into(),
        sink.log_frames.load(Ordering::Relaxed).into(),
    );
    t.insert(
        "log_errors".into(),
        sink.log_errors.load(Ordering::Relaxed).into(),
    );
    // Frames the kernel filter dropped before any ring: not in `frames`, which counts what
    // the workers saw.
    t.insert("kernel_blocked".into(), dp.sources.kernel_blocked().into());
    t.insert(
        "stream_subscribers".into(),
        plane.hub().subscribers().into(),
    );
    let doc = json!({
        "total": t,
        "sources": sources,
        "workers": workers,
        "filter_generation": state.filters.capture_handle().generation(),
        "kernel_filter": kernel_filter_json(dp.sources.kernel_filter()),
        "devices": state.scan.device_stats(),
        "capture_running": !dp.sources.all_finished(),
        "uptime_s": plane.started().elapsed().as_secs_f64(),
    });
    reply::document(doc, ext, dict)
}

/// The kernel filter's state and counters: `{"state": "off"}` when it is not loaded.
fn kernel_filter_json(k: Option<&Arc<dataplane::kfilter::KernelMirror>>) -> Value {
    let Some(k) = k else {
        return json!({ "state": "off" });
    };
    let s = k.state();
    let c = k.programs().counters().unwrap_or_default();
    json!({
        "state": if s.usable { "on" } else { "passing_all" },
        "generation": s.generation,
        "reason": s.reason,
        "seen": c.seen,
        "dropped": c.dropped,
        "passed_up_unparsed": c.unparsed,
        "passed_up_unusable": c.unusable,
        "passed_up_raced": c.raced,
        "program_ids": k.programs().program_ids(),
    })
}

/// Resident memory of this process in bytes, from /proc.
fn rss_bytes() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let kb: u64 = s
        .lines()
        .find(|l| l.starts_with("VmRSS:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()?;
    Some(kb * 1024)
}

/// `/system/status.json`.
pub fn system_status(
    state: &AppState,
    ext: Ext,
    dict: &Map<String, Value>,
) -> Result<HttpResponse, ApiError> {
    let dp = &state.dataplane;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let up = state.started.elapsed().as_secs();
    let doc = json!({
        "kismet.system.version": env!("CARGO_PKG_VERSION"),
        "airsift.system.version": env!("CARGO_PKG_VERSION"),
        "kismet.system.timestamp.sec": now,
        "kismet.system.timestamp.start_sec": now.saturating_sub(up),
        "airsift.system.uptime_s": up,
        "kismet.system.memory.rss": rss_bytes().map(|b| b / 1024),
        "airsift.system.memory.rss_bytes": rss_bytes(),
        "airsift.capture.backend": dp.sources.backends().join(","),
        "airsift.capture.sources": dp.sources.groups().iter().map(|(n, name, g)| json!({
            "source_number": n,
            "name": name,
            "workers": g.workers().iter().map(|w| json!({"ring": w.source, "core": w.core, "pinned": w.pinned})).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
        "airsift.capture.running": !dp.sources.all_finished(),
        "airsift.state.database": state.store.path().display().to_string(),
        "airsift.auth.sessions": state.auth.session_count(),
        "fleet": state.fleet.as_ref().map_or("off", |f| f.state()),
        "airsift.fleet": state.fleet.as_ref().map(|f| f.status()),
    });
    reply::document(doc, ext, dict)
}

/// `/fleet/hosts.json`: the fleet's hosts from their heartbeats.
pub fn fleet_hosts(
    state: &AppState,
    ext: Ext,
    dict: &Map<String, Value>,
) -> Result<HttpResponse, ApiError> {
    let fleet = state.fleet.as_ref().ok_or_else(|| {
        ApiError::not_found("this host is not in a fleet (start it with --nats URL)")
    })?;
    let hosts = fleet.hosts().map_err(|e| {
        ApiError::new(
            actix_web::http::StatusCode::SERVICE_UNAVAILABLE,
            format!("cannot list the fleet's hosts: {e}"),
        )
    })?;
    reply::list(hosts, ext, dict)
}

/// `/system/timestamp.json`: the server's clock as Kismet gives it.
pub fn timestamp(ext: Ext, dict: &Map<String, Value>) -> Result<HttpResponse, ApiError> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    reply::document(
        json!({
            "kismet.system.timestamp.sec": now.as_secs(),
            "kismet.system.timestamp.usec": now.subsec_micros(),
        }),
        ext,
        dict,
    )
}

/// `/messagebus/last-time/{ts}/messages`: Kismet's wrapper object for `.json`, one message per
/// line for `.itjson`.
pub fn messages(
    state: &AppState,
    since: &str,
    ext: Ext,
    dict: &Map<String, Value>,
) -> Result<HttpResponse, ApiError> {
    let list: Vec<Value> = state
        .messages
        .since(super::request::since_arg(since)?)
        .iter()
        .map(|m| m.render())
        .collect();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    reply::wrapped_list(list, ext, dict, |list| {
        json!({
            "kismet.messagebus.list": list,
            "kismet.messagebus.timestamp": now,
        })
    })
}

/// `/metrics`: Prometheus text exposition of the dataplane and control plane counters.
pub fn metrics(state: &AppState) -> HttpResponse {
    use prometheus_client::encoding::text::encode;
    use prometheus_client::metrics::counter::Counter;
    use prometheus_client::metrics::family::Family;
    use prometheus_client::metrics::gauge::Gauge;
    use prometheus_client::registry::{Registry, Unit};

    let mut reg = Registry::with_prefix("airsift");
    let dp = &state.dataplane;
    let source_family = |get: &dyn Fn(&CounterSnapshot) -> u64| {
        let fam = Family::<Vec<(String, String)>, Counter>::default();
        for (number, sname, c) in dp.sources.counters() {
            fam.get_or_create(&vec![
                ("source".into(), number.to_string()),
                ("source_name".into(), sname),
            ])
            .inc_by(get(&c));
        }
        fam
    };
    let worker_family =
        |reg: &mut Registry, name: &str, help: &str, get: &dyn Fn(&CounterSnapshot) -> u64| {
            reg.register(name, help, source_family(get));
        };
    worker_family(
        &mut reg,
        "frames",
        "Frames taken from the capture source",
        &|c| c.frames,
    );
    reg.register_with_unit(
        "captured",
        "Bytes of captured frames",
        Unit::Bytes,
        source_family(&|c| c.bytes),
    );
    worker_family(
        &mut reg,
        "passed",
        "Frames the capture filter passed",
        &|c| c.passed,
    );
    worker_family(
        &mut reg,
        "blocked",
        "Frames the capture filter blocked",
        &|c| c.blocked,
    );
    worker_family(
        &mut reg,
        "malformed",
        "Frames that are not readable 802.11",
        &|c| c.malformed,
    );
    worker_family(
        &mut reg,
        "kernel_drops",
        "Frames the kernel dropped (ring full)",
        &|c| c.kernel_drops,
    );
    worker_family(
        &mut reg,
        "sink_drops",
        "Passed frames the sinks could not take",
        &|c| c.sink_drops,
    );
    worker_family(&mut reg, "batches", "Batches taken from the source", &|c| {
        c.batches
    });
    let gen = Family::<Vec<(String, String)>, Gauge>::default();
    let mut i = 0usize;
    for (number, _, g) in dp.sources.groups() {
        for c in g.counters.iter() {
            gen.get_or_create(&vec![
                ("source".into(), number.to_string()),
                ("worker".into(), i.to_string()),
            ])
            .set(c.generation.load(Ordering::Relaxed) as i64);
            i += 1;
        }
    }
    reg.register(
        "worker_filter_generation",
        "Capture filter generation the worker applies",
        gen,
    );
    let g = Gauge::<i64>::default();
    g.set(state.filters.capture_handle().generation() as i64);
    reg.register("filter_generation", "Current capture filter generation", g);
    let counter = |reg: &mut Registry, name: &str, help: &str, v: u64| {
        let c = Counter::<u64>::default();
        c.inc_by(v);
        reg.register(name, help, c);
    };
    let m = &state.metrics;
    counter(
        &mut reg,
        "log_frames",
        "Frames written to the pcapng log",
        dp.sources
            .plane()
            .sink_stats()
            .log_frames
            .load(Ordering::Relaxed),
    );
    counter(
        &mut reg,
        "log_errors",
        "Frames the pcapng log failed to write",
        dp.sources
            .plane()
            .sink_stats()
            .log_errors
            .load(Ordering::Relaxed),
    );
    counter(
        &mut reg,
        "http_requests",
        "REST requests received",
        m.requests.load(Ordering::Relaxed),
    );
    counter(
        &mut reg,
        "http_client_errors",
        "REST requests refused with a 4xx",
        m.client_errors.load(Ordering::Relaxed),
    );
    counter(
        &mut reg,
        "http_server_errors",
        "REST requests that failed with a 5xx",
        m.server_errors.load(Ordering::Relaxed),
    );
    counter(
        &mut reg,
        "filter_changes",
        "Packet filter changes applied",
        m.filter_changes.load(Ordering::Relaxed),
    );
    counter(
        &mut reg,
        "scan_requests",
        "Scan report requests stored (answered 200)",
        m.scan_requests.load(Ordering::Relaxed),
    );
    counter(
        &mut reg,
        "scan_reports_accepted",
        "Scan reports stored durably",
        m.scan_reports_accepted.load(Ordering::Relaxed),
    );
    counter(
        &mut reg,
        "scan_reports_rejected",
        "Scan reports rejected by validation (listed in their reply)",
        m.scan_reports_rejected.load(Ordering::Relaxed),
    );
    let ds = state.scan.device_stats();
    let devices = Gauge::<i64>::default();
    devices.set(ds.stored as i64);
    reg.register(
        "scan_devices",
        "Devices stored (from captured frames and scan reports)",
        devices,
    );
    counter(
        &mut reg,
        "devices_evicted",
        "Devices seen once evicted to stay under the device cap",
        ds.evicted,
    );
    counter(
        &mut reg,
        "devices_untracked_frames",
        "Frames about a new MAC that a worker's full device table could not take",
        ds.untracked_frames,
    );
    // Walks every device record under the model's read lock: about 20 ms per million devices,
    // during which the scan writer waits.
    let model = Gauge::<i64>::default();
    model.set(state.scan.approx_memory_bytes() as i64);
    reg.register_with_unit(
        "scan_model",
        "Estimated memory of the scan devices, datasources and their indexes",
        Unit::Bytes,
        model,
    );
    let subs = Gauge::<i64>::default();
    subs.set(dp.sources.plane().hub().subscribers() as i64);
    reg.register("stream_subscribers", "Live pcapng stream subscribers", subs);
    let up = Gauge::<f64, std::sync::atomic::AtomicU64>::default();
    up.set(state.started.elapsed().as_secs_f64());
    reg.register_with_unit(
        "uptime",
        "Seconds since the control plane started",
        Unit::Seconds,
        up,
    );
    if let Some(f) = &state.fleet {
        use std::sync::atomic::Ordering::Relaxed;
        let connected = Gauge::<i64>::default();
        connected.set(i64::from(f.state() == "connected"));
        reg.register(
            "fleet_connected",
            "1 while this host is connected to the fleet and in step with its filters",
            connected,
        );
        let c = &f.counters;
        for (name, help, v) in [
            (
                "fleet_filter_revisions",
                "Filter revisions from the fleet applied here",
                c.filter_revisions.load(Relaxed),
            ),
            (
                "fleet_events_published",
                "Events JetStream acknowledged",
                c.events_published.load(Relaxed),
            ),
            (
                "fleet_publish_errors",
                "Events JetStream did not acknowledge (outbox rows are sent again)",
                c.publish_errors.load(Relaxed),
            ),
        ] {
            let counter = prometheus_client::metrics::counter::Counter::<u64>::default();
            counter.inc_by(v);
            reg.register(name, help, counter);
        }
        let pending = Gauge::<i64>::default();
        pending.set(c.outbox_pending.load(Relaxed) as i64);
        reg.register(
            "fleet_outbox_pending",
            "Accepted scan report requests not yet acknowledged by JetStream",
            pending,
        );
    }
    reg.register_with_unit(
        "http_request_duration",
        "REST request latency, from the request's dispatch to its response head, by status \
         class",
        Unit::Seconds,
        m.http_request_duration.clone(),
    );
    let mut out = String::new();
    let _ = encode(&mut out, &reg);
    HttpResponse::Ok()
        .content_type("application/openmetrics-text; version=1.0.0; charset=utf-8")
        .body(out)
}

/// `/pcap/all_packets.pcapng`: the pcapng preamble, then the passed frames as they come. A
/// client that reads too slowly loses frames from its own stream (counted in the hub).
pub fn stream(state: &AppState, _req: &HttpRequest) -> Result<HttpResponse, ApiError> {
    let sub = state
        .dataplane
        .sources
        .plane()
        .hub()
        .subscribe(STREAM_QUEUE)
        .map_err(|e| ApiError::internal(format!("cannot start the stream: {e}")))?;
    let first = Bytes::from(sub.preamble);
    let rx = sub.chunks;
    let body = futures_util::stream::unfold((Some(first), rx), |(first, rx)| async move {
        if let Some(f) = first {
            return Some((Ok::<_, actix_web::Error>(f), (None, rx)));
        }
        loop {
            match rx.try_recv() {
                Ok(chunk) => return Some((Ok(Bytes::copy_from_slice(&chunk)), (None, rx))),
                Err(crossbeam_channel::TryRecvError::Empty) => {
                    actix_web::rt::time::sleep(STREAM_POLL).await;
                }
                Err(crossbeam_channel::TryRecvError::Disconnected) => return None,
            }
        }
    });
    Ok(HttpResponse::Ok()
        .content_type("application/x-pcapng")
        .streaming(body))
}
