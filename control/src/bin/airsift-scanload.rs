//! Load generator for the scan-report endpoint (API.md section 3): many keep-alive HTTP/1.1
//! connections, each posting batches of reports over a fixed set of distinct BSSIDs, for a
//! time or a number of reports. Prints one JSON object: reports acknowledged per second (in
//! 200 replies) and the latency of each request (p50/p90/p99/max).
//!
//! It can also time a read: `--get PATH --requests N` sends N GETs (or POSTs of `--body`)
//! over `--connections` keep-alive connections and reports their latency and size.
//!
//!   airsift-scanload --addr 127.0.0.1:2501 --password PW [--seconds 60] [--connections 16]
//!       [--batch 100] [--bssids 100000] [--bssid-offset 0] [--reports N] [--api-key TOKEN]
//!       [--timestamp-offset SECS]
//!   airsift-scanload --addr ... --get /devices/last-time/-10/devices.json --requests 100
//!
//! Plain `std::net`: no HTTP library between the measurement and the socket.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use clap::Parser;
use serde_json::json;

#[derive(Parser, Debug, Clone)]
#[command(
    name = "airsift-scanload",
    about = "Posts scan reports to airsift as fast as it acknowledges them and measures throughput and latency"
)]
struct Args {
    /// The API's address.
    #[arg(long, default_value = "127.0.0.1:2501")]
    addr: String,
    /// Concurrent keep-alive connections.
    #[arg(long, default_value_t = 16)]
    connections: usize,
    /// Reports per request.
    #[arg(long, default_value_t = 100)]
    batch: u64,
    /// How long to post, in seconds (ignored with --reports).
    #[arg(long, default_value_t = 60.0)]
    seconds: f64,
    /// Stop after this many reports (over every connection) instead of after --seconds.
    #[arg(long)]
    reports: Option<u64>,
    /// Distinct BSSIDs the reports cycle through.
    #[arg(long, default_value_t = 100_000)]
    bssids: u64,
    /// First BSSID number (BSSIDs are 02:xx:xx:xx:xx:xx + offset + i).
    #[arg(long, default_value_t = 0)]
    bssid_offset: u64,
    /// Report timestamps this many seconds in the past (so that later `last-time` queries for
    /// the last seconds find only fresh reports).
    #[arg(long, default_value_t = 0)]
    timestamp_offset: u64,
    /// Admin user for HTTP Basic.
    #[arg(long, default_value = "admin")]
    user: String,
    /// Admin password (default: $AIRSIFT_ADMIN_PASSWORD).
    #[arg(long)]
    password: Option<String>,
    /// An API key (role scanreport or admin) sent as the KISMET cookie instead of Basic.
    #[arg(long)]
    api_key: Option<String>,
    /// Instead of posting, GET this path (e.g. /devices/last-time/-10/devices.json).
    #[arg(long)]
    get: Option<String>,
    /// With --get: POST this command dictionary (JSON) to the path instead of a GET.
    #[arg(long, requires = "get")]
    body: Option<String>,
    /// With --get: how many requests.
    #[arg(long, default_value_t = 100)]
    requests: u64,
}

fn b64(s: &str) -> String {
    const T: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let b = s.as_bytes();
    let mut out = String::new();
    for c in b.chunks(3) {
        let n = (c[0] as u32) << 16
            | (*c.get(1).unwrap_or(&0) as u32) << 8
            | *c.get(2).unwrap_or(&0) as u32;
        for i in 0..4 {
            if i <= c.len() {
                out.push(T[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// One keep-alive connection that reconnects when the server closes it.
struct Conn {
    addr: String,
    auth_header: String,
    stream: Option<BufReader<TcpStream>>,
    reconnects: u64,
}

struct Answer {
    status: u16,
    body: Vec<u8>,
}

impl Conn {
    fn new(addr: &str, auth_header: &str) -> Conn {
        Conn {
            addr: addr.to_string(),
            auth_header: auth_header.to_string(),
            stream: None,
            reconnects: 0,
        }
    }

    fn stream(&mut self) -> io::Result<&mut BufReader<TcpStream>> {
        if self.stream.is_none() {
            let s = TcpStream::connect(&self.addr)?;
            s.set_nodelay(true)?;
            s.set_read_timeout(Some(Duration::from_secs(60)))?;
            self.stream = Some(BufReader::with_capacity(64 * 1024, s));
            self.reconnects += 1;
        }
        Ok(self.stream.as_mut().expect("just connected"))
    }

    /// Sends a request and reads its reply; one retry on a fresh connection when a reused one
    /// turns out closed before anything was read.
    fn call(&mut self, method: &str, path: &str, body: &[u8]) -> io::Result<Answer> {
        let fresh = self.stream.is_none();
        match self.try_call(method, path, body) {
            Ok(a) => Ok(a),
            Err(e) => {
                self.stream = None;
                if fresh {
                    return Err(e);
                }
                let r = self.try_call(method, path, body);
                if r.is_err() {
                    self.stream = None;
                }
                r
            }
        }
    }

    fn try_call(&mut self, method: &str, path: &str, body: &[u8]) -> io::Result<Answer> {
        let head = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nConnection: keep-alive\r\n{}Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            self.addr,
            self.auth_header,
            body.len()
        );
        let r = self.stream()?;
        {
            let w = r.get_mut();
            let mut req = Vec::with_capacity(head.len() + body.len());
            req.extend_from_slice(head.as_bytes());
            req.extend_from_slice(body);
            w.write_all(&req)?;
        }
        let mut line = String::new();
        if r.read_line(&mut line)? == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "connection closed",
            ));
        }
        let status: u16 = line
            .split_whitespace()
            .nth(1)
            .and_then(|c| c.parse().ok())
            .ok_or_else(|| {
                io::Error::new(io::ErrorKind::InvalidData, format!("status {line:?}"))
            })?;
        let mut length = None;
        let mut chunked = false;
        let mut close = false;
        loop {
            line.clear();
            if r.read_line(&mut line)? == 0 {
                return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "in headers"));
            }
            let l = line.trim_end();
            if l.is_empty() {
                break;
            }
            if let Some((k, v)) = l.split_once(':') {
                let (k, v) = (k.trim(), v.trim());
                if k.eq_ignore_ascii_case("content-length") {
                    length = v.parse::<usize>().ok();
                } else if k.eq_ignore_ascii_case("transfer-encoding") {
                    chunked = v.to_ascii_lowercase().contains("chunked");
                } else if k.eq_ignore_ascii_case("connection") {
                    close = v.eq_ignore_ascii_case("close");
                }
            }
        }
        let mut body = Vec::new();
        if chunked {
            loop {
                line.clear();
                r.read_line(&mut line)?;
                let n = usize::from_str_radix(line.trim(), 16)
                    .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "chunk size"))?;
                let mut chunk = vec![0; n + 2];
                r.read_exact(&mut chunk)?;
                if n == 0 {
                    break;
                }
                body.extend_from_slice(&chunk[..n]);
            }
        } else if let Some(n) = length {
            body.resize(n, 0);
            r.read_exact(&mut body)?;
        } else {
            r.read_to_end(&mut body)?;
            close = true;
        }
        if close {
            self.stream = None;
        }
        Ok(Answer { status, body })
    }
}

/// `02:` + 40 bits of `n`.
fn bssid(n: u64) -> String {
    let b = (0x0200_0000_0000_u64 | (n & 0xFF_FFFF_FFFF)).to_be_bytes();
    format!(
        "{:02X}:{:02X}:{:02X}:{:02X}:{:02X}:{:02X}",
        b[2], b[3], b[4], b[5], b[6], b[7]
    )
}

const CAPS: [&str; 4] = [
    "[WPA2-PSK-CCMP][ESS]",
    "[WPA-PSK-TKIP+CCMP][WPA2-PSK-TKIP+CCMP][ESS][WPS]",
    "[RSN-SAE-CCMP][ESS]",
    "[ESS]",
];

/// One request body: `batch` reports starting at report number `first`.
fn body(args: &Args, conn: usize, first: u64, now: u64) -> Vec<u8> {
    let mut s = String::with_capacity(args.batch as usize * 220 + 128);
    s.push_str(&format!(
        "{{\"source_uuid\":\"{:08x}-5ca1-4e00-8000-00000000b0a7\",\"source_name\":\"scanload-{conn}\",\"reports\":[",
        conn
    ));
    for i in 0..args.batch {
        let n = first + i;
        let b = args.bssid_offset + n % args.bssids.max(1);
        if i > 0 {
            s.push(',');
        }
        let lat = 52.0 + (b % 1000) as f64 * 1e-4;
        let lon = 13.0 + (n % 997) as f64 * 1e-4;
        s.push_str(&format!(
            "{{\"bssid\":\"{}\",\"timestamp\":{now},\"ssid\":\"net-{b}\",\"capabilities\":\"{}\",\"channel\":\"{}\",\"freqkhz\":{},\"signal\":{},\"lat\":{lat:.5},\"lon\":{lon:.5}}}",
            bssid(b),
            CAPS[(b % 4) as usize],
            1 + b % 11,
            2_412_000 + (b % 11) * 5_000,
            -40 - (n % 50) as i64,
        ));
    }
    s.push_str("]}");
    s.into_bytes()
}

/// `"accepted":N` from a reply, without parsing the rest.
fn accepted(reply: &[u8]) -> Option<u64> {
    let t = std::str::from_utf8(reply).ok()?;
    let rest = &t[t.find("\"accepted\":")? + 11..];
    let digits: String = rest
        .trim_start()
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

#[derive(Default)]
struct Tally {
    latencies_us: Vec<u64>,
    ok: u64,
    failed: u64,
    errors: u64,
    acked: u64,
    rejected_reports: u64,
    bytes: u64,
    reconnects: u64,
    first_error: Option<String>,
}

impl Tally {
    fn merge(&mut self, o: Tally) {
        self.latencies_us.extend(o.latencies_us);
        self.ok += o.ok;
        self.failed += o.failed;
        self.errors += o.errors;
        self.acked += o.acked;
        self.rejected_reports += o.rejected_reports;
        self.bytes += o.bytes;
        self.reconnects += o.reconnects;
        if self.first_error.is_none() {
            self.first_error = o.first_error;
        }
    }
}

fn percentile_ms(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[i] as f64 / 1000.0
}

fn main() {
    let args = Args::parse();
    let auth_header = match (&args.api_key, &args.password) {
        (Some(k), _) => format!("Cookie: KISMET={k}\r\n"),
        (None, p) => {
            let pw = p
                .clone()
                .or_else(|| std::env::var("AIRSIFT_ADMIN_PASSWORD").ok())
                .unwrap_or_else(|| {
                    eprintln!(
                        "airsift-scanload: give --password, --api-key or AIRSIFT_ADMIN_PASSWORD"
                    );
                    std::process::exit(2);
                });
            format!(
                "Authorization: Basic {}\r\n",
                b64(&format!("{}:{pw}", args.user))
            )
        }
    };
    let args = Arc::new(args);
    let next = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let total = Arc::new(Mutex::new(Tally::default()));
    let started = Instant::now();
    let deadline = started + Duration::from_secs_f64(args.seconds.max(0.0));
    let get_mode = args.get.is_some();
    let workers: Vec<_> = (0..args.connections.max(1))
        .map(|c| {
            let (args, next, stop, total, auth) = (
                args.clone(),
                next.clone(),
                stop.clone(),
                total.clone(),
                auth_header.clone(),
            );
            std::thread::spawn(move || {
                let mut conn = Conn::new(&args.addr, &auth);
                let mut t = Tally::default();
                loop {
                    if stop.load(Ordering::Relaxed) {
                        break;
                    }
                    let (method, path, payload) = if let Some(p) = &args.get {
                        if next.fetch_add(1, Ordering::Relaxed) >= args.requests {
                            break;
                        }
                        match &args.body {
                            Some(b) => ("POST", p.clone(), b.clone().into_bytes()),
                            None => ("GET", p.clone(), Vec::new()),
                        }
                    } else {
                        let first = next.fetch_add(args.batch, Ordering::Relaxed);
                        match args.reports {
                            Some(limit) if first >= limit => break,
                            None if Instant::now() >= deadline => break,
                            _ => {}
                        }
                        let ts = now_secs().saturating_sub(args.timestamp_offset);
                        let b = body(&args, c, first, ts);
                        ("POST", "/phy/phy80211/scan/scan_report.cmd".into(), b)
                    };
                    let t0 = Instant::now();
                    let r = conn.call(method, &path, &payload);
                    let us = t0.elapsed().as_micros() as u64;
                    match r {
                        Ok(a) if a.status == 200 => {
                            t.ok += 1;
                            t.latencies_us.push(us);
                            t.bytes += a.body.len() as u64;
                            if method == "POST" {
                                let n = accepted(&a.body).unwrap_or(0);
                                t.acked += n;
                                t.rejected_reports += args.batch.saturating_sub(n);
                            }
                        }
                        Ok(a) => {
                            t.failed += 1;
                            t.latencies_us.push(us);
                            if t.first_error.is_none() {
                                t.first_error = Some(format!(
                                    "{} {}",
                                    a.status,
                                    String::from_utf8_lossy(&a.body)
                                ));
                            }
                        }
                        Err(e) => {
                            t.errors += 1;
                            if t.first_error.is_none() {
                                t.first_error = Some(e.to_string());
                            }
                            if t.errors > 1000 {
                                break;
                            }
                            std::thread::sleep(Duration::from_millis(10));
                        }
                    }
                }
                t.reconnects = conn.reconnects;
                total.lock().unwrap_or_else(|e| e.into_inner()).merge(t);
            })
        })
        .collect();
    for w in workers {
        let _ = w.join();
    }
    stop.store(true, Ordering::Relaxed);
    let elapsed = started.elapsed().as_secs_f64();
    let mut t = std::mem::take(&mut *total.lock().unwrap_or_else(|e| e.into_inner()));
    t.latencies_us.sort_unstable();
    let mean_ms = if t.latencies_us.is_empty() {
        0.0
    } else {
        t.latencies_us.iter().sum::<u64>() as f64 / t.latencies_us.len() as f64 / 1000.0
    };
    let lat = json!({
        "p50": percentile_ms(&t.latencies_us, 0.50),
        "p90": percentile_ms(&t.latencies_us, 0.90),
        "p99": percentile_ms(&t.latencies_us, 0.99),
        "max": percentile_ms(&t.latencies_us, 1.0),
        "mean": mean_ms,
    });
    let out = if get_mode {
        json!({
            "mode": "get",
            "path": args.get,
            "connections": args.connections,
            "requests_ok": t.ok,
            "requests_failed": t.failed,
            "errors": t.errors,
            "seconds": elapsed,
            "requests_per_s": t.ok as f64 / elapsed.max(1e-9),
            "mean_reply_bytes": t.bytes.checked_div(t.ok).unwrap_or(0),
            "latency_ms": lat,
            "first_error": t.first_error,
        })
    } else {
        json!({
            "mode": "post",
            "connections": args.connections,
            "batch": args.batch,
            "bssids": args.bssids,
            "bssid_offset": args.bssid_offset,
            "seconds": elapsed,
            "requests_ok": t.ok,
            "requests_failed": t.failed,
            "errors": t.errors,
            "reconnects": t.reconnects,
            "reports_acked": t.acked,
            "reports_rejected": t.rejected_reports,
            "reports_per_s": t.acked as f64 / elapsed.max(1e-9),
            "requests_per_s": t.ok as f64 / elapsed.max(1e-9),
            "latency_ms": lat,
            "first_error": t.first_error,
        })
    };
    println!("{out}");
    if t.ok == 0 {
        std::process::exit(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_are_valid_reports() {
        let args = Args::parse_from(["x", "--batch", "3", "--bssids", "2"]);
        let b = body(&args, 5, 10, 1_700_000_000);
        let v: serde_json::Value = serde_json::from_slice(&b).unwrap();
        assert_eq!(v["source_name"], "scanload-5");
        let r = v["reports"].as_array().unwrap();
        assert_eq!(r.len(), 3);
        assert_eq!(r[0]["bssid"], "02:00:00:00:00:00");
        assert_eq!(r[1]["bssid"], "02:00:00:00:00:01");
        assert_eq!(r[2]["bssid"], "02:00:00:00:00:00");
        assert_eq!(bssid(0xAB_CDEF_0123), "02:AB:CD:EF:01:23");
        assert_eq!(
            accepted(br#"{"success":true,"status":"x","accepted": 100,"rejected":[]}"#),
            Some(100)
        );
        assert_eq!(b64("admin:pw"), "YWRtaW46cHc=");
    }
}
