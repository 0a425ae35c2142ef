//! Measures how long a filter change takes to reach the dataplane: POST a change, then poll
//! `/dataplane/stats.json` until every worker reports the generation the reply named. Runs a
//! given number of changes at a given rate against a running `airsift run`, and prints the
//! latency distribution as JSON.
//!
//!   airsift-swapbench --addr 127.0.0.1:2501 --password PW [--changes 1000] [--rate 100]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use serde_json::Value;

fn arg(args: &[String], name: &str) -> Option<String> {
    args.windows(2).find(|w| w[0] == name).map(|w| w[1].clone())
}

fn b64(s: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(s)
}

/// One request on a fresh connection; returns the body.
fn http(
    addr: &str,
    auth: &str,
    method: &str,
    path: &str,
    body: &str,
) -> std::io::Result<(u16, Vec<u8>)> {
    let mut s = TcpStream::connect(addr)?;
    s.set_nodelay(true)?;
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nAuthorization: Basic {auth}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )?;
    let mut r = BufReader::new(s);
    let mut status = String::new();
    r.read_line(&mut status)?;
    let code = status
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let mut line = String::new();
    while r.read_line(&mut line)? > 2 {
        line.clear();
    }
    let mut out = Vec::new();
    r.read_to_end(&mut out)?;
    Ok((code, out))
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let addr = arg(&args, "--addr").unwrap_or_else(|| "127.0.0.1:2501".into());
    let user = arg(&args, "--user").unwrap_or_else(|| "admin".into());
    let password = arg(&args, "--password").expect("--password");
    let changes: usize = arg(&args, "--changes").map_or(1000, |v| v.parse().expect("a number"));
    let rate: f64 = arg(&args, "--rate").map_or(100.0, |v| v.parse().expect("a number"));
    let auth = b64(&format!("{user}:{password}"));
    let period = Duration::from_secs_f64(1.0 / rate.max(0.001));
    let mut lat = Vec::with_capacity(changes);
    let start = Instant::now();
    for i in 0..changes {
        let due = start + period * i as u32;
        if let Some(wait) = due.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
        // A term in the `other` block for a locally administered address: a real change of
        // the table that leaves the verdicts of the injected traffic as they were.
        let b = (0x0600_0000_0000u64 + i as u64).to_be_bytes();
        let mac = format!(
            "{:02X}:{:02X}:{:02X}:{:02X}:{:02X}:{:02X}",
            b[2], b[3], b[4], b[5], b[6], b[7]
        );
        let body = format!("{{\"filter\": {{\"{mac}\": true}}}}");
        let t0 = Instant::now();
        let (code, reply) = http(
            &addr,
            &auth,
            "POST",
            "/packetfilters/capture/other/filter.json",
            &body,
        )
        .expect("POST");
        assert_eq!(code, 200, "{}", String::from_utf8_lossy(&reply));
        let v: Value = serde_json::from_slice(&reply).expect("JSON reply");
        let g = v["airsift.packetfilter.generation"]
            .as_u64()
            .expect("a generation");
        loop {
            let (_, st) =
                http(&addr, &auth, "GET", "/dataplane/stats.json", "").expect("GET stats");
            let st: Value = serde_json::from_slice(&st).expect("stats JSON");
            let all = st["workers"]
                .as_array()
                .map(|ws| {
                    ws.iter()
                        .all(|w| w["filter_generation"].as_u64().unwrap_or(0) >= g)
                })
                .unwrap_or(false);
            if all {
                break;
            }
            std::thread::sleep(Duration::from_micros(200));
        }
        lat.push(t0.elapsed().as_secs_f64() * 1e3);
    }
    let elapsed = start.elapsed().as_secs_f64();
    lat.sort_by(|a, b| a.total_cmp(b));
    let out = serde_json::json!({
        "changes": changes,
        "seconds": elapsed,
        "changes_per_second": changes as f64 / elapsed,
        "latency_ms_p50": percentile(&lat, 0.5),
        "latency_ms_p99": percentile(&lat, 0.99),
        "latency_ms_max": lat.last().copied().unwrap_or(0.0),
    });
    println!("{out}");
}
