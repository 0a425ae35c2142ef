//! Durability of scan reports: every report acknowledged with a 200 survives `kill -9` during
//! a stream of posts from several clients, and the state directory opens again after it.

mod common;
#[path = "common/scan.rs"]
mod scan;

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::http::{ApiServer, Cred};
use scan::*;
use serde_json::{json, Value};

const CLIENTS: u64 = 4;
const PER_BATCH: u64 = 25;

/// The client's UUID (one virtual datasource each).
fn uuid(c: u64) -> String {
    format!("{c:08x}-2222-3333-4444-555555555555")
}

#[test]
fn acknowledged_reports_survive_sigkill() {
    let dir = common::scratch("scan-crash");
    let mut s = ApiServer::start(&dir, &[]);
    let addr = s.addr.clone();
    // A scanreport API key: what a fleet of scanners would use (and no password hashing per
    // request).
    let r = s.post_json(
        "/auth/apikey/generate.cmd",
        &Cred::admin(),
        &json!({"name": "scanners", "role": "scanreport", "duration": 0}),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let cred = Cred::Cookie(r.json()["token"].as_str().unwrap().to_string());
    let acked = Arc::new(Mutex::new(Vec::<String>::new()));
    let acked_per_client = Arc::new(Mutex::new(vec![0u64; CLIENTS as usize]));
    let stop = Arc::new(AtomicBool::new(false));
    let clients: Vec<_> = (0..CLIENTS)
        .map(|c| {
            let (addr, acked, per, stop, cred) = (
                addr.clone(),
                acked.clone(),
                acked_per_client.clone(),
                stop.clone(),
                cred.clone(),
            );
            std::thread::spawn(move || {
                let mut n = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    // Distinct BSSIDs per client and batch: 0x02:CC:bb:bb:bb:ii.
                    let macs: Vec<String> = (0..PER_BATCH)
                        .map(|i| mac_in(0x02_00_00 | (c as u32) << 8, n * PER_BATCH + i))
                        .collect();
                    let reports: Vec<Value> = macs
                        .iter()
                        .map(|m| json!({"bssid": m, "ssid": format!("c{c}"), "signal": -50}))
                        .collect();
                    let body = batch(&uuid(c), &format!("client-{c}"), reports).to_string();
                    let r = std::panic::catch_unwind(|| {
                        common::http::request(
                            &addr,
                            "POST",
                            REPORT,
                            &cred,
                            Some("application/json"),
                            body.as_bytes(),
                        )
                    });
                    match r {
                        Ok(r) if r.status == 200 => {
                            assert_eq!(r.json()["accepted"], PER_BATCH, "{}", r.text());
                            acked.lock().unwrap().extend(macs);
                            per.lock().unwrap()[c as usize] += PER_BATCH;
                        }
                        Ok(r) => panic!("client {c}: {} {}", r.status, r.text()),
                        Err(_) => break, // the server is gone
                    }
                    n += 1;
                }
            })
        })
        .collect();
    // Kill mid-stream once enough reports were acknowledged, however long that takes here.
    const ENOUGH: u64 = 8 * PER_BATCH;
    common::wait_until("acknowledged reports", Duration::from_secs(180), || {
        acked.lock().unwrap().len() as u64 >= ENOUGH
    });
    s.kill9();
    stop.store(true, Ordering::Relaxed);
    for c in clients {
        c.join().expect("a client failed before the kill");
    }
    let acked = acked.lock().unwrap().clone();
    assert!(
        acked.len() as u64 >= ENOUGH,
        "too few reports before the kill: {}",
        acked.len()
    );
    eprintln!("{} reports acknowledged before the kill", acked.len());
    // Restart on the same state directory: every acknowledged BSSID is a device.
    let t = std::time::Instant::now();
    let s2 = ApiServer::start(&dir, &[]);
    eprintln!("restarted in {:?}", t.elapsed());
    let r = s2.post_json(
        "/devices/views/all/devices.json",
        &Cred::admin(),
        &json!({"fields": [MAC]}),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let stored: HashSet<String> = r
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d[MAC].as_str().unwrap().to_string())
        .collect();
    let lost: Vec<&String> = acked.iter().filter(|m| !stored.contains(*m)).collect();
    assert!(
        lost.is_empty(),
        "{} of {} acknowledged reports lost, e.g. {:?}",
        lost.len(),
        acked.len(),
        &lost[..lost.len().min(5)]
    );
    // Spot checks by MAC, and each datasource counted at least what it was told.
    for m in acked.iter().step_by(acked.len() / 20 + 1) {
        let d = device(&s2, m);
        assert_eq!(d[MAC], *m);
    }
    let per = acked_per_client.lock().unwrap().clone();
    for (c, n) in per.iter().enumerate() {
        if *n == 0 {
            continue;
        }
        let src = s2
            .get(
                &format!("/datasource/by-uuid/{}/source.json", uuid(c as u64)),
                &Cred::admin(),
            )
            .json();
        assert!(
            src["kismet.datasource.num_packets"].as_u64().unwrap() >= *n,
            "client {c}: {n} acknowledged, datasource says {src}"
        );
    }
    // The service keeps taking reports after the restart.
    post_ok(
        &s2,
        &batch(&uuid(0), "client-0", vec![json!({"bssid": mac(0xABCDEF)})]),
    );
}
