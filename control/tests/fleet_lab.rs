//! A fleet of airsift hosts on a real NATS JetStream cluster (API.md section 7): three
//! `nats-server` processes clustered on 127.0.0.1 and three `airsift run --nats` processes,
//! each with its own state directory. Checked from outside, over HTTP and with
//! `airsift fleet tail`, the consumer operators use.

mod common;
#[path = "common/scan.rs"]
mod scan;

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use common::http::{ApiServer, Cred};
use common::nats::{self, NatsCluster};
use scan::{batch, mac, now, post_reports, UUID_A, UUID_B};
use serde_json::{json, Value};

const SET: &str = "/filters/packet/capture/IEEE802.11/source/set_filter.cmd";
const FILTER: &str = "/filters/packet/capture/filter.json";

fn skip(test: &str) -> bool {
    if nats::available() {
        return false;
    }
    eprintln!("{test}: skipped: nats-server is not installed (.ci/run installs it)");
    true
}

/// `airsift run` in the fleet, capturing a pcap file in a loop (so "keeps capturing" can be
/// checked), with host id `id`.
fn host(dir: &Path, urls: &str, id: &str) -> ApiServer {
    host_with(dir, urls, id, &[])
}

/// [`host`] with further arguments.
fn host_with(dir: &Path, urls: &str, id: &str, extra: &[&str]) -> ApiServer {
    let cap = common::capture("rt_wltrace_trace-bigendian-5ghz.pcap");
    let args: Vec<String> = [
        "run",
        "--source",
        &format!("pcap:{}", cap.display()),
        "--loop",
        "--pace",
        "--state-dir",
        &dir.display().to_string(),
        "--listen",
        "127.0.0.1:0",
        "--nats",
        urls,
        "--host-id",
        id,
    ]
    .iter()
    .chain(extra)
    .map(|s| s.to_string())
    .collect();
    ApiServer::start_args(dir, &args)
}

fn status(s: &ApiServer) -> Value {
    s.get("/system/status.json", &Cred::admin()).json()
}

/// How long a wait may last before it counts as a hang. Generous: with both cores busy, a
/// three-node cluster that lost a node was seen answering a host's consumer requests only
/// after 50 s (the host retried every 10 s until it did).
const HANG: Duration = Duration::from_secs(180);

/// Waits until `cond` holds, polling; the deadline only guards against a hang.
fn wait_for(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + HANG;
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// [`wait_for`] on one host, whose fleet status and last log lines a timeout reports.
fn wait_for_host(h: &ApiServer, what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + HANG;
    while !cond() {
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what}: {:#} {:#?}",
            status(h)["airsift.fleet"],
            h.stderr_tail(20)
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn generation(s: &ApiServer) -> u64 {
    s.get(FILTER, &Cred::admin()).json()["airsift.packetfilter.generation"]
        .as_u64()
        .unwrap()
}

fn sources_block(s: &ApiServer) -> Value {
    s.get(FILTER, &Cred::admin()).json()["kismet.packetfilter.macaddr.blocks_by_phy"]["IEEE802.11"]
        ["kismet.packetfilter.macaddr.source"]
        .clone()
}

/// Blocks transmitter `m` on `s`: (status, generation if 200).
fn block(s: &ApiServer, m: &str) -> (u16, Option<u64>) {
    let r = s.post_json(SET, &Cred::admin(), &json!({"filter": {m: "reject"}}));
    let g = (r.status == 200).then(|| {
        r.json()["airsift.packetfilter.generation"]
            .as_u64()
            .unwrap()
    });
    if ![200, 409].contains(&r.status) {
        eprintln!("blocking {m}: {} {}", r.status, r.text());
    }
    (r.status, g)
}

/// [`block`], retried while the fleet is not reachable (503), until [`HANG`].
fn block_when_connected(s: &ApiServer, m: &str) -> u64 {
    let deadline = Instant::now() + HANG;
    loop {
        match block(s, m) {
            (200, Some(g)) => return g,
            (503, _) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(100)),
            other => panic!("blocking {m}: {other:?}"),
        }
    }
}

fn frames(s: &ApiServer) -> u64 {
    s.frames_by_source().values().sum()
}

/// `airsift fleet tail` over everything the stream holds on `subject`, until it is idle for
/// 3 s (`limit`: or after that many events).
fn tail_all(urls: &str, subject: &str, limit: Option<u64>) -> Vec<Value> {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_airsift"));
    cmd.args([
        "fleet",
        "tail",
        "--nats",
        urls,
        "--subject",
        subject,
        "--all",
    ])
    .args(["--idle-exit", "3"]);
    if let Some(n) = limit {
        cmd.args(["--count", &n.to_string()]);
    }
    let out = cmd.output().expect("run airsift fleet tail");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect()
}

#[test]
fn one_filter_everywhere_events_outlive_outages() {
    if skip("one_filter_everywhere_events_outlive_outages") {
        return;
    }
    let mut cluster = NatsCluster::start("fleet", 3);
    let urls = cluster.urls();
    let dirs: Vec<_> = ["a", "b", "c"]
        .iter()
        .map(|t| common::scratch(&format!("fleet-host-{t}")))
        .collect();
    let mut hosts: Vec<ApiServer> = ["host-a", "host-b", "host-c"]
        .iter()
        .zip(&dirs)
        .map(|(id, d)| host(d, &urls, id))
        .collect();
    for h in &hosts {
        wait_for("every host in step with the fleet", || {
            status(h)["fleet"] == "connected"
        });
    }
    // One filter: the first host seeded the bucket, the others took it; one generation.
    wait_for("one generation on every host", || {
        let g: BTreeSet<u64> = hosts.iter().map(generation).collect();
        g.len() == 1
    });

    // A change on A is applied by B and C with the same generation.
    let g = block_when_connected(&hosts[0], "02:00:00:00:00:01");
    for h in &hosts[1..] {
        wait_for("B and C at A's generation", || generation(h) == g);
        assert_eq!(sources_block(h), sources_block(&hosts[0]));
        assert_eq!(
            sources_block(h)["02:00:00:00:00:01"],
            json!(1),
            "{}",
            sources_block(h)
        );
    }
    // The filter the workers use follows (the capture's generation in /dataplane/stats.json).
    let st = hosts[2].get("/dataplane/stats.json", &Cred::admin()).json();
    assert_eq!(st["filter_generation"].as_u64(), Some(g), "{st}");

    // B and C change the same filter at the same moment, round after round: a change may be
    // refused with 409 (the other got there first), never lost.
    let mut conflicts = 0;
    let mut taken = Vec::new();
    for round in 0..30u64 {
        let barrier = Arc::new(Barrier::new(2));
        let hs = [&hosts[1], &hosts[2]];
        let answers: Vec<(String, (u16, Option<u64>))> = std::thread::scope(|sc| {
            let joins: Vec<_> = hs
                .iter()
                .enumerate()
                .map(|(k, h)| {
                    let b = barrier.clone();
                    let m = mac(0x1000 + round * 2 + k as u64);
                    sc.spawn(move || {
                        b.wait();
                        let r = block(h, &m);
                        (m, r)
                    })
                })
                .collect();
            joins.into_iter().map(|j| j.join().unwrap()).collect()
        });
        eprintln!("round {round}: {answers:?}");
        for (m, (status, _)) in answers {
            match status {
                200 => taken.push(m),
                409 => conflicts += 1,
                other => panic!("round {round}: {other}"),
            }
        }
        // Let both catch up before the next round.
        wait_for("B and C in step", || {
            generation(&hosts[1]) == generation(&hosts[2])
        });
        if conflicts >= 3 {
            break;
        }
    }
    assert!(
        conflicts > 0,
        "30 rounds of simultaneous changes and never a conflict"
    );
    let final_doc = sources_block(&hosts[0]);
    wait_for("A at the last generation", || {
        generation(&hosts[0]) == generation(&hosts[1])
    });
    let final_doc = if final_doc == sources_block(&hosts[0]) {
        final_doc
    } else {
        sources_block(&hosts[0])
    };
    for m in &taken {
        assert_eq!(
            final_doc[m.as_str()],
            json!(1),
            "accepted change {m} lost: {final_doc}"
        );
    }
    assert_eq!(
        final_doc.as_object().unwrap().len(),
        taken.len() + 1,
        "only accepted changes are in the filter: {final_doc}"
    );

    // Kill one NATS node: changes and events go on.
    cluster.kill(0);
    let g = block_when_connected(&hosts[1], "02:00:00:00:00:02");
    for h in &hosts {
        wait_for_host(h, "every host at the change made with a node down", || {
            generation(h) == g
        });
    }
    let r = post_reports(
        &hosts[1],
        &Cred::admin(),
        &batch(
            UUID_A,
            "phone-b",
            vec![json!({"bssid": mac(1), "ssid": "node-down", "timestamp": now()})],
        ),
    );
    assert_eq!(r.status, 200, "{}", r.text());

    // Stop every node: capture goes on, changes get 503, reports still 200.
    cluster.kill(1);
    cluster.kill(2);
    wait_for("A sees the fleet gone", || {
        status(&hosts[0])["fleet"] == "disconnected"
    });
    let before = frames(&hosts[0]);
    wait_for("A keeps capturing", || frames(&hosts[0]) > before + 10);
    let (code, _) = block(&hosts[0], "02:00:00:00:00:03");
    assert_eq!(code, 503, "a change while the fleet is down");
    assert_eq!(
        sources_block(&hosts[0])["02:00:00:00:00:03"],
        Value::Null,
        "nothing changed"
    );
    const DOWN: usize = 40;
    for i in 0..DOWN {
        let r = post_reports(
            &hosts[0],
            &Cred::admin(),
            &batch(
                UUID_B,
                "phone-a",
                vec![json!({"bssid": mac(100 + i as u64), "ssid": "offline", "timestamp": now()})],
            ),
        );
        assert_eq!(r.status, 200, "report {i} while NATS is down: {}", r.text());
    }
    // More than the 8 MiB of rows the publisher holds in memory: the rest are read from the
    // outbox table, each request in parts (NATS takes 1 MiB messages).
    const BIG: usize = 7;
    for i in 0..BIG {
        let r = post_reports(
            &hosts[0],
            &Cred::admin(),
            &big_request(UUID_B, i as u64 * 100),
        );
        assert_eq!(
            r.status,
            200,
            "large request {i} while NATS is down: {}",
            r.text()
        );
    }
    // Host A stops while NATS is down: its exit checkpoint trims the journal, but not the rows
    // its outbox still names (their bytes are what it publishes), and it publishes them after
    // its restart, from the table.
    hosts[0].stop();
    hosts[0] = host(&dirs[0], &urls, "host-a");
    // Restart a host while the fleet is down; it comes back with its own state.
    hosts[2].kill9();

    // NATS returns: the reports reach the stream, exactly once each.
    for i in 0..3 {
        cluster.start_node(i);
    }
    cluster.wait_ready();
    for h in &hosts[..2] {
        wait_for("back in step", || status(h)["fleet"] == "connected");
    }
    wait_for("A's outbox empty", || {
        status(&hosts[0])["airsift.fleet"]["airsift.fleet.outbox_pending"] == 0
    });
    let scans = tail_all(&urls, "airsift.scan.>", None);
    let from_a: Vec<&Value> = scans
        .iter()
        .filter(|e| e["data"]["host"] == "host-a")
        .collect();
    let offline: Vec<&Value> = from_a
        .iter()
        .copied()
        .filter(|e| e["data"]["reports"][0]["ssid"] == "offline")
        .collect();
    assert_eq!(
        offline.len(),
        DOWN,
        "every report accepted while NATS was down, once"
    );
    let ids: BTreeSet<&str> = from_a.iter().map(|e| e["id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), from_a.len(), "no duplicate message ids");
    let big: Vec<&Value> = from_a
        .iter()
        .copied()
        .filter(|e| e["data"]["reports"][0]["ssid"] == "big")
        .collect();
    let macs = reports_once(&big);
    assert_eq!(
        macs.len(),
        BIG * BIG_REPORTS,
        "every large request's reports, once"
    );
    assert!(big.iter().all(|e| e["data"]["parts"].as_u64() >= Some(2)));
    assert!(
        scans
            .iter()
            .any(|e| e["data"]["reports"][0]["ssid"] == "node-down"),
        "the report made with a node down is in the stream"
    );
    assert!(offline.iter().all(|e| e["subject"]
        .as_str()
        .unwrap()
        .eq_ignore_ascii_case(&format!("airsift.scan.{UUID_B}"))));

    // A change now, then the restarted host resyncs to it.
    let g = block_when_connected(&hosts[0], "02:00:00:00:00:04");
    hosts[2] = host(&dirs[2], &urls, "host-c");
    wait_for("the restarted host in step", || {
        status(&hosts[2])["fleet"] == "connected"
    });
    wait_for("the restarted host at the fleet's generation", || {
        generation(&hosts[2]) == g
    });
    assert_eq!(sources_block(&hosts[2]), sources_block(&hosts[0]));

    // Every host is listed by every host.
    wait_for("three heartbeats", || {
        let r = hosts[1].get("/fleet/hosts.json", &Cred::admin());
        r.status == 200 && r.json().as_array().is_some_and(|a| a.len() == 3)
    });
    let listed = hosts[2].get("/fleet/hosts.json", &Cred::admin()).json();
    let ids: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["airsift.fleet.host.id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["host-a", "host-b", "host-c"]);
}

/// Reports in a large request (a JSON body of about 1.4 MB).
const BIG_REPORTS: usize = 40;

/// A request of [`BIG_REPORTS`] reports, each with 32 tags of 1,000 bytes, the BSSIDs from
/// `first`.
fn big_request(uuid: &str, first: u64) -> Value {
    let tags: serde_json::Map<String, Value> = (0..32)
        .map(|t| (format!("k{t:02}"), Value::String("v".repeat(1_000))))
        .collect();
    batch(
        uuid,
        "bulk",
        (0..BIG_REPORTS as u64)
            .map(|i| json!({"bssid": mac(first + i), "ssid": "big", "timestamp": now(), "tags": tags}))
            .collect(),
    )
}

/// The BSSIDs of the reports in `events`, each checked to appear only once.
fn reports_once(events: &[&Value]) -> BTreeSet<String> {
    let mut macs = BTreeSet::new();
    for e in events {
        for r in e["data"]["reports"].as_array().unwrap() {
            let m = r["mac"].as_str().unwrap().to_string();
            assert!(macs.insert(m.clone()), "report {m} twice");
        }
    }
    macs
}

/// The message of stream sequence `seq`, as stored: its headers (`name: value`) and payload.
fn raw_message(urls: &str, seq: u64) -> (Vec<String>, Vec<u8>) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let url = urls.split(',').next().unwrap().to_string();
        let client = async_nats::connect(url).await.expect("connect to NATS");
        let js = async_nats::jetstream::new(client);
        let stream = js.get_stream("AIRSIFT").await.expect("the stream");
        let m = stream.get_raw_message(seq).await.expect("the message");
        let headers = m
            .headers
            .iter()
            .flat_map(|(k, vs)| vs.iter().map(move |v| format!("{k}: {v}")))
            .collect();
        (headers, m.payload.to_vec())
    })
}

#[test]
fn scan_events_compact_or_json_and_large_requests_in_parts() {
    if skip("scan_events_compact_or_json_and_large_requests_in_parts") {
        return;
    }
    let cluster = NatsCluster::start("format", 1);
    let urls = cluster.urls();
    let compact = host(&common::scratch("fleet-compact"), &urls, "compact");
    let json_host = host_with(
        &common::scratch("fleet-json"),
        &urls,
        "json",
        &["--fleet-scan-format", "json"],
    );
    for h in [&compact, &json_host] {
        wait_for("connected", || status(h)["fleet"] == "connected");
        let small = batch(
            UUID_A,
            "phone",
            vec![json!({"bssid": mac(1), "ssid": "small", "timestamp": now()})],
        );
        assert_eq!(post_reports(h, &Cred::admin(), &small).status, 200);
        let r = post_reports(h, &Cred::admin(), &big_request(UUID_A, 1_000));
        assert_eq!(r.status, 200, "{}", r.text());
    }
    for h in [&compact, &json_host] {
        wait_for("outbox empty", || {
            status(h)["airsift.fleet"]["airsift.fleet.outbox_pending"] == 0
        });
    }
    let scans = tail_all(&urls, "airsift.scan.>", None);
    for id in ["compact", "json"] {
        let mine: Vec<&Value> = scans.iter().filter(|e| e["data"]["host"] == id).collect();
        let (small, big): (Vec<&Value>, Vec<&Value>) = mine
            .iter()
            .partition(|e| e["data"]["reports"][0]["ssid"] == "small");
        assert_eq!(small.len(), 1, "{id}: {small:?}");
        assert_eq!(small[0]["data"].get("part"), None, "{id}: one message");
        assert_eq!(small[0]["id"], format!("{id}-{}", small[0]["data"]["seq"]));
        let parts = big.len();
        assert!(parts >= 2, "{id}: a 1.3 MB request in parts, got {parts}");
        let seq = &big[0]["data"]["seq"];
        for (i, e) in big.iter().enumerate() {
            assert_eq!(&e["data"]["seq"], seq, "{id}: one request");
            assert_eq!(e["data"]["part"], i + 1, "{id}");
            assert_eq!(e["data"]["parts"], parts, "{id}");
            assert_eq!(e["id"], format!("{id}-{seq}-{}", i + 1), "{id}");
            let n = e["data"]["reports"].as_array().unwrap().len();
            assert!(n < BIG_REPORTS, "{id}: part {i} holds {n} reports");
        }
        assert_eq!(
            reports_once(&big).len(),
            BIG_REPORTS,
            "{id}: every report once"
        );
        assert_eq!(
            big[0]["data"]["reports"][0]["tags"]["k31"]
                .as_str()
                .map(str::len),
            Some(1_000)
        );
        // As stored: the journal's encoding with its content type, or the JSON itself.
        let (headers, payload) = raw_message(&urls, small[0]["seq"].as_u64().unwrap());
        assert!(
            headers.contains(&format!("Airsift-Host: {id}")),
            "{headers:?}"
        );
        let as_json = serde_json::from_slice::<Value>(&payload);
        let typed =
            headers.contains(&"Content-Type: application/vnd.airsift.scan-batch".to_string());
        if id == "compact" {
            assert!(typed && as_json.is_err(), "{headers:?}");
        } else {
            assert!(!typed, "{headers:?}");
            assert_eq!(as_json.unwrap(), small[0]["data"]);
        }
    }
}

#[test]
fn fleet_tail_sees_a_report_and_a_lone_host_reports_its_state() {
    if skip("fleet_tail_sees_a_report_and_a_lone_host_reports_its_state") {
        return;
    }
    // Without --nats: no fleet.
    let alone = ApiServer::start_without_source(&common::scratch("fleet-alone"));
    assert_eq!(status(&alone)["fleet"], "off");
    assert_eq!(alone.get("/fleet/hosts.json", &Cred::admin()).status, 404);
    drop(alone);

    let cluster = NatsCluster::start("tail", 1);
    let urls = cluster.urls();
    let h = host(&common::scratch("fleet-tail-host"), &urls, "tail-host");
    wait_for("connected", || status(&h)["fleet"] == "connected");
    // The stream exists once the host has published its first statistics.
    wait_for("statistics published", || {
        status(&h)["airsift.fleet"]["airsift.fleet.events_published"]
            .as_u64()
            .is_some_and(|n| n > 0)
    });
    let mut tail = Command::new(env!("CARGO_BIN_EXE_airsift"))
        .args([
            "fleet",
            "tail",
            "--nats",
            &urls,
            "--subject",
            "airsift.scan.>",
            "--count",
            "1",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start airsift fleet tail");
    let mut err = BufReader::new(tail.stderr.take().unwrap());
    let mut line = String::new();
    err.read_line(&mut line).unwrap();
    assert!(line.contains("following"), "{line}");
    let r = post_reports(
        &h,
        &Cred::admin(),
        &batch(
            UUID_A,
            "phone",
            vec![json!({"bssid": mac(7), "ssid": "tailed", "timestamp": now()})],
        ),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let out = tail
        .wait_with_output()
        .expect("fleet tail ends after one event");
    let ev: Value = serde_json::from_slice(&out.stdout).expect("one JSON line");
    assert!(
        ev["subject"]
            .as_str()
            .unwrap()
            .eq_ignore_ascii_case(&format!("airsift.scan.{UUID_A}")),
        "{ev}"
    );
    assert_eq!(ev["data"]["host"], "tail-host");
    assert_eq!(ev["data"]["reports"][0]["ssid"], "tailed");
    assert_eq!(ev["data"]["reports"][0]["mac"], mac(7));
    assert!(ev["id"].as_str().unwrap().starts_with("tail-host-"), "{ev}");
    // Statistics each second, on the host's subject (published without end: take three).
    let stats = tail_all(&urls, "airsift.stats.tail-host", Some(3));
    assert_eq!(stats.len(), 3);
    assert!(stats[0]["data"]["sources"]
        .as_array()
        .is_some_and(|s| !s.is_empty()));
    // The metrics say the fleet is connected.
    let m = h.get("/metrics", &Cred::admin()).text();
    assert!(m.contains("airsift_fleet_connected 1"), "{m}");
}
