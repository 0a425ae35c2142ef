//! A real Prometheus (Debian's `prometheus` package, which `.ci/run` installs) scrapes airsift
//! with the configuration in `examples/prometheus.yml` and a readonly API key made over REST;
//! its query API must return the frame count airsift's own `/dataplane/stats.json` reports.
//! The Grafana dashboard in `examples/grafana-dashboard.json` must name only metrics airsift
//! exports, in queries this Prometheus accepts.
mod common;

use std::collections::BTreeSet;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::http::{self, ApiServer, Cred};
use serde_json::{json, Value};

/// The placeholders `examples/prometheus.yml` holds for the key and the address.
const KEY_PLACEHOLDER: &str = "REPLACE-WITH-READONLY-API-KEY";
const TARGET_PLACEHOLDER: &str = "127.0.0.1:2501";
/// Only guards against a hang: the example scrapes every 15 s, and the first scrape of a
/// target comes within one interval of Prometheus taking the target (its scrape manager takes
/// new targets every 5 s), so about 20 s after it starts at worst.
const SCRAPED: Duration = Duration::from_secs(120);

fn examples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples")
}

/// `/usr/bin/NAME` (or NAME on the PATH), from Debian's `prometheus` package.
fn tool(name: &str) -> PathBuf {
    let usr = Path::new("/usr/bin").join(name);
    if usr.exists() {
        return usr;
    }
    std::env::var_os("PATH")
        .and_then(|p| {
            std::env::split_paths(&p)
                .map(|d| d.join(name))
                .find(|f| f.exists())
        })
        .unwrap_or_else(|| {
            panic!("{name} not found: install the Debian package prometheus (.ci/run does)")
        })
}

fn promtool_check_config(file: &Path) {
    let out = Command::new(tool("promtool"))
        .args(["check", "config"])
        .arg(file)
        .output()
        .expect("run promtool");
    assert!(
        out.status.success(),
        "promtool check config {}: {}{}",
        file.display(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A Prometheus server on 127.0.0.1, killed (and its storage removed) when dropped, also when
/// the test panics.
struct Prometheus {
    child: Child,
    addr: String,
    dir: PathBuf,
}

impl Prometheus {
    /// Starts on `config` with its storage and log in `dir`, on a free port, and waits until it
    /// is ready. A port taken between choosing and binding it is chosen again.
    fn start(dir: &Path, config: &Path) -> Prometheus {
        let log_path = dir.join("prometheus.log");
        for _attempt in 0..5 {
            let port = TcpListener::bind("127.0.0.1:0")
                .and_then(|l| l.local_addr())
                .expect("a free port")
                .port();
            let addr = format!("127.0.0.1:{port}");
            let log = std::fs::File::create(&log_path).unwrap();
            let child = Command::new(tool("prometheus"))
                .arg(format!("--config.file={}", config.display()))
                .arg(format!(
                    "--storage.tsdb.path={}",
                    dir.join("data").display()
                ))
                .arg(format!("--web.listen-address={addr}"))
                .stdin(Stdio::null())
                .stdout(log.try_clone().unwrap())
                .stderr(log)
                .spawn()
                .expect("start prometheus");
            let mut p = Prometheus {
                child,
                addr,
                dir: dir.to_path_buf(),
            };
            let deadline = Instant::now() + Duration::from_secs(60);
            loop {
                if let Ok(Some(status)) = p.child.try_wait() {
                    let log = std::fs::read_to_string(&log_path).unwrap_or_default();
                    if log.contains("address already in use") {
                        break; // dropped: chooses another port
                    }
                    panic!("prometheus exited with {status}: {log}");
                }
                if p.get("/-/ready").is_some_and(|r| r.status == 200) {
                    return p;
                }
                assert!(
                    Instant::now() < deadline,
                    "prometheus not ready after 60 s: {}",
                    std::fs::read_to_string(&log_path).unwrap_or_default()
                );
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        panic!("no free port for prometheus after 5 attempts");
    }

    /// A GET, or None while nothing listens yet.
    fn get(&self, path: &str) -> Option<http::Reply> {
        std::net::TcpStream::connect(&self.addr).ok()?;
        Some(http::request(
            &self.addr,
            "GET",
            path,
            &Cred::None,
            None,
            b"",
        ))
    }

    /// An instant query: the `data.result` vector. Panics on a query Prometheus refuses.
    fn query(&self, expr: &str) -> Vec<Value> {
        let path = format!("/api/v1/query?query={}", http::form_encode(expr));
        let r = self.get(&path).expect("prometheus is up");
        let body = r.json();
        assert!(
            r.status == 200 && body["status"] == "success",
            "query {expr:?}: {} {body}",
            r.status
        );
        body["data"]["result"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    /// The value of each series `expr` returns.
    fn values(&self, expr: &str) -> Vec<f64> {
        self.query(expr)
            .iter()
            .map(|s| {
                s["value"][1]
                    .as_str()
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(f64::NAN)
            })
            .collect()
    }

    /// What Prometheus says about its targets (for failure messages).
    fn targets(&self) -> String {
        self.get("/api/v1/targets")
            .map(|r| r.text())
            .unwrap_or_default()
    }

    /// Waits until `expr` returns exactly one series, with value `want`.
    fn wait_value(&self, expr: &str, want: f64) {
        let end = Instant::now() + SCRAPED;
        loop {
            let got = self.values(expr);
            if got == [want] {
                return;
            }
            assert!(
                Instant::now() < end,
                "{expr}: {got:?}, not [{want}], after {SCRAPED:?}; targets: {}",
                self.targets()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(self.dir.join("data"));
    }
}

/// The names of the samples in an OpenMetrics text (`name{labels} value` or `name value`).
fn sample_names(text: &str) -> BTreeSet<String> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .filter_map(|l| l.split(['{', ' ']).next())
        .map(String::from)
        .collect()
}

/// Every `targets[].expr` of every panel, rows' panels included, with the panel's title.
fn panel_exprs(panels: &[Value], out: &mut Vec<(String, String)>) {
    for p in panels {
        for t in p["targets"].as_array().into_iter().flatten() {
            if let Some(e) = t["expr"].as_str() {
                out.push((p["title"].as_str().unwrap_or("?").to_string(), e.into()));
            }
        }
        if let Some(inner) = p["panels"].as_array() {
            panel_exprs(inner, out);
        }
    }
}

/// A dashboard query with Grafana's variables replaced the way Grafana would fill them.
fn as_promql(expr: &str) -> String {
    let e = expr
        .replace("$__rate_interval", "1m")
        .replace("$instance", ".+");
    assert!(!e.contains('$'), "an unknown Grafana variable in {expr:?}");
    e
}

#[test]
fn prometheus_scrapes_airsift_with_the_example_config() {
    let example = examples().join("prometheus.yml");
    promtool_check_config(&example);

    let dir = common::scratch("prometheus");
    let mut s = ApiServer::start(&dir.join("state"), &[]);
    let admin = Cred::admin();
    // The capture file is finite: once it is read to the end, the counts do not change.
    let stats = || s.get("/dataplane/stats.json", &admin).json();
    common::wait_until("the capture file read", Duration::from_secs(60), || {
        stats()["capture_running"] == false
    });
    let st = stats();
    let frames = st["total"]["frames"].as_u64().unwrap();
    assert!(frames > 0, "{st}");
    assert_eq!(st["sources"][0]["frames"].as_u64(), Some(frames), "{st}");

    // A readonly key, as the example's comment makes it.
    let r = s.post_json(
        "/auth/apikey/generate.cmd",
        &admin,
        &json!({"name": "prometheus", "role": "readonly", "duration": 0}),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["role"], "readonly");
    let key = r.json()["token"].as_str().unwrap().to_string();

    // Readonly is enough to scrape, and without the key there is nothing to scrape.
    let r = s.get("/metrics", &Cred::None);
    assert_eq!(r.status, 401, "{}", r.text());
    let r = s.get("/metrics", &Cred::Query(key.clone()));
    assert_eq!(r.status, 200, "{}", r.text());
    let metrics = r.text();
    assert!(
        r.header("content-type")
            .is_some_and(|c| c.starts_with("application/openmetrics-text")),
        "{:?}",
        r.headers
    );
    // ...and it is only readonly.
    let r = s.post_json(
        "/auth/apikey/generate.cmd",
        &Cred::Query(key.clone()),
        &json!({"name": "more", "role": "admin", "duration": 0}),
    );
    assert_eq!(r.status, 403, "{}", r.text());

    // The example with this server's address and key, plus a job without the key.
    let text = std::fs::read_to_string(&example).unwrap();
    for placeholder in [KEY_PLACEHOLDER, TARGET_PLACEHOLDER] {
        assert_eq!(
            text.matches(&format!("'{placeholder}'")).count(),
            1,
            "examples/prometheus.yml should hold '{placeholder}' once"
        );
    }
    let mut config = text
        .replace(&format!("'{KEY_PLACEHOLDER}'"), &format!("'{key}'"))
        .replace(&format!("'{TARGET_PLACEHOLDER}'"), &format!("'{}'", s.addr));
    config += &format!(
        "  - job_name: airsift-no-key\n    scrape_interval: 5s\n    metrics_path: /metrics\n    static_configs:\n      - targets: ['{}']\n",
        s.addr
    );
    let config_path = dir.join("prometheus.yml");
    std::fs::write(&config_path, config).unwrap();
    promtool_check_config(&config_path);

    let prom = Prometheus::start(&dir, &config_path);
    prom.wait_value("up{job=\"airsift\"}", 1.0);
    prom.wait_value("up{job=\"airsift-no-key\"}", 0.0);
    let targets: Value = serde_json::from_str(&prom.targets()).unwrap();
    let no_key = targets["data"]["activeTargets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["labels"]["job"] == "airsift-no-key")
        .cloned()
        .unwrap_or_default();
    assert!(
        no_key["lastError"]
            .as_str()
            .is_some_and(|e| e.contains("401")),
        "{targets}"
    );

    // The scrape came after the file was read: Prometheus holds airsift's own count.
    let series = prom.query("airsift_frames_total{job=\"airsift\"}");
    assert_eq!(series.len(), 1, "{series:?}");
    let labels = &series[0]["metric"];
    assert_eq!(labels["source"], "1", "{labels}");
    assert!(
        labels["source_name"]
            .as_str()
            .is_some_and(|n| n.starts_with("pcap:")),
        "{labels}"
    );
    assert_eq!(series[0]["value"][1], frames.to_string(), "{series:?}");
    assert_eq!(
        stats()["total"]["frames"].as_u64(),
        Some(frames),
        "the count moved"
    );
    prom.wait_value(
        "sum(airsift_captured_bytes_total{job=\"airsift\"})",
        st["total"]["bytes"].as_u64().unwrap() as f64,
    );

    // The latency histogram: every bucket of the 2xx class, and the requests this test made
    // before the scrape in them.
    let buckets = prom
        .query("airsift_http_request_duration_seconds_bucket{job=\"airsift\",code_class=\"2xx\"}");
    assert_eq!(buckets.len(), 16, "15 bounds and +Inf: {buckets:?}");
    assert!(buckets.iter().any(|b| b["metric"]["le"] == "+Inf"));
    let count = prom
        .values("airsift_http_request_duration_seconds_count{job=\"airsift\",code_class=\"2xx\"}");
    assert!(count.len() == 1 && count[0] >= 3.0, "{count:?}");
    assert_eq!(
        prom.query("airsift_http_request_duration_seconds_sum{job=\"airsift\"}")
            .len(),
        3,
        "2xx, 4xx, 5xx"
    );
    let p99 = prom.values(
        "histogram_quantile(0.99, sum by (le) (airsift_http_request_duration_seconds_bucket{job=\"airsift\"}))",
    );
    assert!(
        p99.len() == 1 && p99[0] > 0.0 && p99[0] <= 8.192,
        "p99 {p99:?}"
    );

    // The dashboard: JSON, and every metric it names is one airsift exports, in queries this
    // Prometheus accepts.
    let dash: Value = serde_json::from_str(
        &std::fs::read_to_string(examples().join("grafana-dashboard.json")).unwrap(),
    )
    .expect("the dashboard is JSON");
    assert!(dash["schemaVersion"].as_u64().is_some(), "schemaVersion");
    let mut exprs = Vec::new();
    panel_exprs(dash["panels"].as_array().expect("panels"), &mut exprs);
    for v in dash["templating"]["list"].as_array().into_iter().flatten() {
        if let Some(d) = v["definition"].as_str() {
            exprs.push((format!("variable {}", v["name"]), d.to_string()));
        }
    }
    assert!(exprs.len() >= 10, "{exprs:?}");
    let exported = sample_names(&metrics);
    let name = regex::Regex::new("airsift_[a-z0-9_]+").unwrap();
    let mut used = BTreeSet::new();
    for (title, expr) in &exprs {
        let names: Vec<&str> = name.find_iter(expr).map(|m| m.as_str()).collect();
        assert!(!names.is_empty(), "{title}: {expr} names no airsift metric");
        for n in names {
            assert!(
                exported.contains(n),
                "{title}: {n} is not in /metrics ({exported:?})"
            );
            used.insert(n.to_string());
        }
        if !expr.starts_with("label_values(") {
            prom.query(&as_promql(expr));
        }
    }
    for wanted in [
        "airsift_frames_total",
        "airsift_passed_total",
        "airsift_blocked_total",
        "airsift_malformed_total",
        "airsift_kernel_drops_total",
        "airsift_sink_drops_total",
        "airsift_filter_generation",
        "airsift_worker_filter_generation",
        "airsift_scan_reports_accepted_total",
        "airsift_scan_reports_rejected_total",
        "airsift_scan_devices",
        "airsift_http_request_duration_seconds_bucket",
        "airsift_log_frames_total",
        "airsift_log_errors_total",
    ] {
        assert!(used.contains(wanted), "no panel shows {wanted}");
    }
    // The README's table lists every metric airsift exports.
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../README.md"))
            .unwrap();
    for n in &exported {
        let family = ["_bucket", "_sum", "_count"]
            .iter()
            .find_map(|suffix| n.strip_suffix(suffix))
            .filter(|f| metrics.contains(&format!("# TYPE {f} histogram")))
            .unwrap_or(n);
        assert!(
            readme.contains(&format!("| `{family}` |")),
            "README.md's metric table lacks {family}"
        );
    }
    eprintln!(
        "prometheus_lab: {frames} frames in Prometheus as in stats.json; {} dashboard queries \
         over {} metrics accepted",
        exprs.len(),
        used.len()
    );

    drop(prom);
    s.stop();
    let _ = std::fs::remove_dir_all(&dir);
}
