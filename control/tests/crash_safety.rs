//! Durability: every filter change answered 200 survives `kill -9` at any moment, and the
//! database is intact after it; a clean restart keeps everything too.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::http::{ApiServer, Cred};
use serde_json::json;

fn mac(i: u64) -> String {
    let b = (0x0200_0000_0000u64 + i).to_be_bytes();
    format!(
        "{:02X}:{:02X}:{:02X}:{:02X}:{:02X}:{:02X}",
        b[2], b[3], b[4], b[5], b[6], b[7]
    )
}

#[test]
fn acknowledged_changes_survive_sigkill() {
    let dir = common::scratch("crash");
    let mut s = ApiServer::start(&dir, &[]);
    let addr = s.addr.clone();
    let acked = Arc::new(Mutex::new(Vec::<(u64, u64)>::new()));
    let stop = Arc::new(AtomicBool::new(false));
    // Two writers post changes as fast as they are answered.
    let writers: Vec<_> = (0..2u64)
        .map(|w| {
            let (addr, acked, stop) = (addr.clone(), acked.clone(), stop.clone());
            std::thread::spawn(move || {
                let mut i = w;
                while !stop.load(Ordering::Relaxed) {
                    let body = json!({"filter": {mac(i): true}}).to_string();
                    let r = std::panic::catch_unwind(|| {
                        common::http::request(
                            &addr,
                            "POST",
                            "/packetfilters/capture/source/filter.json",
                            &Cred::admin(),
                            Some("application/json"),
                            body.as_bytes(),
                        )
                    });
                    match r {
                        Ok(r) if r.status == 200 => {
                            let g = r.json()["airsift.packetfilter.generation"]
                                .as_u64()
                                .unwrap();
                            acked.lock().unwrap().push((i, g));
                        }
                        _ => break, // the server is gone
                    }
                    i += 2;
                }
            })
        })
        .collect();
    // Kill once enough changes were acknowledged, however long that takes on this machine
    // (the deadline only guards against a hang).
    const ENOUGH: usize = 40;
    common::wait_until(
        "acknowledged filter changes",
        Duration::from_secs(180),
        || acked.lock().unwrap().len() >= ENOUGH,
    );
    s.kill9();
    stop.store(true, Ordering::Relaxed);
    for w in writers {
        let _ = w.join();
    }
    let acked = acked.lock().unwrap().clone();
    assert!(
        acked.len() >= ENOUGH,
        "{} changes before the kill",
        acked.len()
    );
    // Restart on the same state directory: the store opens (its integrity check passes) and
    // every acknowledged term is there, under a generation at least as new.
    let s2 = ApiServer::start(&dir, &[]);
    let doc = s2
        .get("/packetfilters/capture/filter.json", &Cred::admin())
        .json();
    let terms = doc["kismet.packetfilter.macaddr.blocks_by_phy"]["IEEE802.11"]
        ["kismet.packetfilter.macaddr.source"]
        .as_object()
        .unwrap()
        .clone();
    for (i, _) in &acked {
        assert_eq!(
            terms.get(&mac(*i)),
            Some(&json!(1)),
            "acknowledged term {} lost",
            mac(*i)
        );
    }
    let max_gen = acked.iter().map(|(_, g)| *g).max().unwrap();
    assert!(doc["airsift.packetfilter.generation"].as_u64().unwrap() >= max_gen);
    // Generations keep growing after the restart, and the workers apply the stored table.
    let r = s2.post_json(
        "/packetfilters/capture/set_default.json",
        &Cred::admin(),
        &json!({"default": "pass"}),
    );
    assert!(
        r.json()["airsift.packetfilter.generation"]
            .as_u64()
            .unwrap()
            > max_gen
    );
}

#[test]
fn a_restart_keeps_filters_and_keys() {
    let dir = common::scratch("restart");
    let mut s = ApiServer::start(&dir, &[]);
    let r = s.post_json(
        "/packetfilters/capture/network/filter.json",
        &Cred::admin(),
        &json!({"filter": {"00:11:22:00:00:00/FF:FF:FF:00:00:00": "deny"}}),
    );
    assert_eq!(r.status, 200);
    let r = s.post_json(
        "/auth/apikey/generate.cmd",
        &Cred::admin(),
        &json!({"name": "k", "role": "readonly", "duration": 0}),
    );
    let tok = r.json()["token"].as_str().unwrap().to_string();
    let before = s
        .get("/packetfilters/capture/filter.json", &Cred::admin())
        .json();
    s.stop();
    // A --filter given at restart does not replace the stored filter.
    let seed = common::testdata().join("../examples/filter-capture.json");
    let s2 = ApiServer::start(&dir, &["--filter", seed.to_str().unwrap()]);
    assert_eq!(
        s2.get("/packetfilters/capture/filter.json", &Cred::admin())
            .json(),
        before
    );
    assert_eq!(
        s2.get("/session/check_session", &Cred::Cookie(tok)).status,
        200
    );
}

#[test]
fn a_newer_schema_is_refused_not_touched() {
    let dir = common::scratch("schema");
    let mut s = ApiServer::start(&dir, &[]);
    s.stop();
    let db = dir.join("airsift.db");
    // A future airsift wrote this file: stamp a newer schema version the way SQLite keeps it.
    {
        let c = rusqlite::Connection::open(&db).unwrap();
        c.pragma_update(None, "user_version", 99).unwrap();
    }
    let files = |d: &std::path::Path| -> Vec<(String, Vec<u8>)> {
        let mut v: Vec<_> = std::fs::read_dir(d)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.to_string_lossy().contains("airsift.db"))
            .map(|p| (p.display().to_string(), std::fs::read(&p).unwrap()))
            .collect();
        v.sort();
        v
    };
    let bytes = files(&dir);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_airsift"))
        .args(["run", "--source"])
        .arg(format!(
            "pcap:{}",
            common::capture("rt_zeek_radiotap-qos.pcap").display()
        ))
        .args(["--listen", "127.0.0.1:0", "--state-dir"])
        .arg(&dir)
        .env("AIRSIFT_ADMIN_PASSWORD", "x")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("99"), "the message names the version: {err}");
    assert_eq!(files(&dir), bytes, "the newer file was modified");
}
