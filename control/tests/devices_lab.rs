//! Devices learned from captured frames, in the hardware-free lab (root; each test makes its
//! own network namespace and removes it, also on failure).
//!
//! Two radiotap TUN devices posing as monitor interfaces are fed real captures by
//! `airsift-inject` (which shares no code with the capture path); airsift captures both as
//! two datasources. The device records served over HTTP must be what `airsift devices`
//! learns from the same files offline (same rule, so the live path — rings, worker tables,
//! hand-over, merge — must lose and invent nothing), per datasource in the seen-by views;
//! clients-of must list an AP's clients; a phone's scan report for a captured AP must merge
//! into the same record; and a restart must keep them. A second test floods the capture path
//! with beacons from random MACs.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::http::Cred;
use common::{wait_until, Airsift, Injector, Netns};
use serde_json::{json, Value};

/// 16 devices: APs, clients, probing stations.
const CAPTURE_A: &str = "rt_aircrack_test1_multins-fcs.pcap";
/// A WPA3 AP and its client.
const CAPTURE_B: &str = "rt_aircrack_wpa3-psk-sae.pcap";

/// `airsift devices FILE`, keyed by MAC.
fn offline(cap: &Path) -> BTreeMap<String, Value> {
    let out = Command::new(env!("CARGO_BIN_EXE_airsift"))
        .arg("devices")
        .arg(cap)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let all: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    all.into_iter().map(|d| (mac(&d), d)).collect()
}

fn mac(d: &Value) -> String {
    d["kismet.device.base.macaddr"]
        .as_str()
        .unwrap()
        .to_string()
}

fn by_mac(list: &Value) -> BTreeMap<String, Value> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|d| (mac(d), d.clone()))
        .collect()
}

/// What must agree between the live and the offline record.
fn summary(d: &Value) -> Value {
    let d11 = &d["dot11.device"];
    let keys = |v: &Value| -> Vec<String> {
        v.as_object()
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default()
    };
    json!({
        "type": d["kismet.device.base.type"],
        "packets": [d["kismet.device.base.packets.total"], d["kismet.device.base.packets.tx_total"],
                    d["kismet.device.base.packets.rx_total"], d["kismet.device.base.packets.data"],
                    d["kismet.device.base.packets.crypt"], d["kismet.device.base.packets.error"]],
        "datasize": d["kismet.device.base.datasize"],
        "channel": d["kismet.device.base.channel"],
        "signal": d["kismet.device.base.signal"]["kismet.common.signal.max_signal"],
        "ssids": d11["dot11.device.advertised_ssid_map"].as_array().unwrap().iter()
            .map(|s| json!([s["dot11.advertisedssid.ssid"], s["dot11.advertisedssid.channel"],
                            s["dot11.advertisedssid.crypt_string"]]))
            .collect::<Vec<_>>(),
        "probed": d11["dot11.device.probed_ssid_map"].as_array().map(|a| a.iter()
            .map(|p| p["dot11.probedssid.ssid"].as_str().unwrap_or("").to_string())
            .collect::<BTreeSet<_>>()),
        "clients": keys(&d11["dot11.device.associated_client_map"]),
        "aps": keys(&d11["dot11.device.client_map"]),
    })
}

fn get(a: &Airsift, path: &str) -> Value {
    let r = a.api.get(path, &Cred::admin());
    assert_eq!(r.status, 200, "{path}: {}", r.text());
    r.json()
}

/// The UUID of the capture datasource on `iface`.
fn source_uuid(a: &Airsift, iface: &str) -> String {
    get(a, "/datasource/all_sources.json")
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["kismet.datasource.interface"] == iface)
        .unwrap_or_else(|| panic!("no datasource on {iface}"))["kismet.datasource.uuid"]
        .as_str()
        .unwrap()
        .to_string()
}

#[test]
fn devices_from_two_captures_over_http() {
    if common::skip_unless_root("devices_from_two_captures_over_http") {
        return;
    }
    let a_file = common::capture(CAPTURE_A);
    let b_file = common::capture(CAPTURE_B);
    let (want_a, want_b) = (offline(&a_file), offline(&b_file));
    assert!(want_a.len() >= 10 && want_b.len() >= 2);
    assert!(
        want_a.keys().all(|m| !want_b.contains_key(m)),
        "the two captures share no device"
    );
    let ns = Netns::with_veth("devs");
    let state = common::scratch("devices-lab");
    let mut inj_a = Injector::start(
        &ns,
        &["tun", "--name", "rt0", "--pcap", a_file.to_str().unwrap()],
    );
    let mut inj_b = Injector::start(
        &ns,
        &["tun", "--name", "rt1", "--pcap", b_file.to_str().unwrap()],
    );
    let airsift = Airsift::start(
        &ns,
        &state,
        &["--source", "tpacket:rt0", "--source", "tpacket:rt1"],
    );
    let sent = inj_a.send() + inj_b.send();
    airsift.wait_frames(sent);
    let total = want_a.len() + want_b.len();
    let want: BTreeMap<&String, &Value> = want_a.iter().chain(want_b.iter()).collect();
    // Workers hand their last tables over up to 250 ms after the frames were counted: wait
    // (at most a minute) until what is served holds every device as learned offline; the
    // asserts below then name any device that never got there.
    wait_until("every device learned", Duration::from_secs(60), || {
        let now = get(&airsift, "/devices/views/all/devices.json");
        let live = by_mac(&now);
        let done = live.len() >= total
            && want
                .iter()
                .all(|(m, w)| live.get(*m).is_some_and(|d| summary(d) == summary(w)));
        if !done {
            std::thread::sleep(Duration::from_millis(200));
        }
        done
    });
    let live = by_mac(&get(&airsift, "/devices/views/all/devices.json"));
    assert_eq!(
        live.keys().collect::<Vec<_>>(),
        want.keys().copied().collect::<Vec<_>>()
    );
    for (m, w) in &want {
        assert_eq!(summary(&live[*m]), summary(w), "device {m}");
    }

    // Seen-by: each datasource's view holds exactly its capture's devices.
    let (ua, ub) = (source_uuid(&airsift, "rt0"), source_uuid(&airsift, "rt1"));
    for (u, w) in [(&ua, &want_a), (&ub, &want_b)] {
        let v = by_mac(&get(
            &airsift,
            &format!("/devices/views/seenby-{u}/devices.json"),
        ));
        assert_eq!(v.keys().collect::<Vec<_>>(), w.keys().collect::<Vec<_>>());
        let d = v.values().next().unwrap();
        let sb = &d["kismet.device.base.seenby"][0];
        assert_eq!(sb["kismet.common.seenby.uuid"].as_str().unwrap(), u);
        assert_eq!(
            sb["kismet.common.seenby.source"]["kismet.datasource.uuid"],
            *u
        );
    }

    // clients-of: every AP with clients, as the offline record lists them.
    let mut checked = 0;
    for (m, w) in &want {
        let clients: BTreeSet<String> = w["dot11.device"]["dot11.device.associated_client_map"]
            .as_object()
            .map(|o| o.keys().cloned().collect())
            .unwrap_or_default();
        if clients.is_empty() {
            continue;
        }
        let key = w["kismet.device.base.key"].as_str().unwrap();
        let got = by_mac(&get(
            &airsift,
            &format!("/phy/phy80211/clients-of/{key}/clients.json"),
        ));
        assert_eq!(got.keys().cloned().collect::<BTreeSet<_>>(), clients, "{m}");
        checked += 1;
    }
    assert!(checked >= 2, "APs with clients in both captures");
    let r = airsift.api.get(
        "/phy/phy80211/clients-of/4202770D00000000_FFFFFFFF/clients.json",
        &Cred::admin(),
    );
    assert_eq!(r.status, 404);

    // A phone reports capture B's AP: one record, two seen-by entries.
    let ap = want_b
        .iter()
        .find(|(_, d)| d["kismet.device.base.type"] == "Wi-Fi AP")
        .map(|(m, _)| m.clone())
        .unwrap();
    let phone = "12345678-1234-1234-1234-123456789abc";
    let r = airsift.api.post_json(
        "/phy/phy80211/scan/scan_report.cmd",
        &Cred::admin(),
        &json!({"source_uuid": phone, "source_name": "phone",
                "reports": [{"bssid": ap, "ssid": "reported", "signal": -70}]}),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let rec = &get(&airsift, &format!("/devices/by-mac/{ap}/devices.json"))[0];
    let seen: BTreeSet<String> = rec["kismet.device.base.seenby"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            s["kismet.common.seenby.uuid"]
                .as_str()
                .unwrap()
                .to_lowercase()
        })
        .collect();
    assert_eq!(seen, BTreeSet::from([ub.to_lowercase(), phone.to_string()]));
    let packets = rec["kismet.device.base.packets.total"].as_u64().unwrap();
    assert_eq!(
        packets,
        want_b[&ap]["kismet.device.base.packets.total"]
            .as_u64()
            .unwrap()
            + 1
    );

    // A restart keeps what the frames taught.
    airsift.stop();
    inj_a.finish();
    inj_b.finish();
    let again = Airsift::start(&ns, &state, &[]);
    let after = by_mac(&get(&again, "/devices/views/all/devices.json"));
    assert_eq!(after.len(), total);
    for (m, w) in &want_a {
        assert_eq!(summary(&after[m]), summary(w), "device {m} after a restart");
    }
    assert_eq!(
        after[&ap]["kismet.device.base.packets.total"]
            .as_u64()
            .unwrap(),
        packets
    );
    again.stop();
    let _ = std::fs::remove_dir_all(&state);
}

/// A pcap of `n` beacons from random locally administered MACs, with every 100th a beacon of
/// one of three fixed APs.
fn flood_file(path: &Path, n: u64) -> Vec<String> {
    let aps: Vec<[u8; 6]> = (1..=3u8)
        .map(|i| [0x00, 0x1B, 0x2C, 0x00, 0x00, i])
        .collect();
    let mut w = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    // pcap header: magic, v2.4, tz 0, sigfigs 0, snaplen 65535, radiotap.
    let mut hdr = 0xA1B2_C3D4u32.to_le_bytes().to_vec();
    hdr.extend_from_slice(&2u16.to_le_bytes());
    hdr.extend_from_slice(&4u16.to_le_bytes());
    for v in [0u32, 0, 65_535, 127] {
        hdr.extend_from_slice(&v.to_le_bytes());
    }
    w.write_all(&hdr).unwrap();
    let mut seed = 0x2545_F491_4F6C_DD1Du64;
    let mut frame = Vec::with_capacity(64);
    for i in 0..n {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let mut ta = [0u8; 6];
        ta.copy_from_slice(&seed.to_be_bytes()[2..]);
        ta[0] = (ta[0] & 0xFC) | 0x02;
        let (ta, ssid): ([u8; 6], &[u8]) = if i % 100 == 0 {
            (aps[(i / 100 % 3) as usize], b"Real-AP")
        } else {
            (ta, b"flood")
        };
        frame.clear();
        frame.extend_from_slice(&[0, 0, 8, 0, 0, 0, 0, 0]); // radiotap, no fields
        frame.extend_from_slice(&[0x80, 0, 0, 0]);
        frame.extend_from_slice(&[0xFF; 6]);
        frame.extend_from_slice(&ta);
        frame.extend_from_slice(&ta);
        frame.extend_from_slice(&[0, 0]);
        frame.extend_from_slice(&[0; 8]); // timestamp
        frame.extend_from_slice(&[100, 0, 0x01, 0x00]); // interval, capability ESS
        frame.push(0);
        frame.push(ssid.len() as u8);
        frame.extend_from_slice(ssid);
        let ts = i as u32;
        for v in [
            1_700_000_000 + ts / 1_000_000,
            ts % 1_000_000,
            frame.len() as u32,
            frame.len() as u32,
        ] {
            w.write_all(&v.to_le_bytes()).unwrap();
        }
        w.write_all(&frame).unwrap();
    }
    w.flush().unwrap();
    aps.iter()
        .map(|m| {
            m.iter()
                .map(|b| format!("{b:02X}"))
                .collect::<Vec<_>>()
                .join(":")
        })
        .collect()
}

#[test]
fn a_flood_of_random_transmitters_stays_under_the_cap() {
    if common::skip_unless_root("a_flood_of_random_transmitters_stays_under_the_cap") {
        return;
    }
    const FRAMES: u64 = 1_000_000;
    const CAP: u64 = 20_000;
    let ns = Netns::with_veth("flood");
    let state = common::scratch("devices-flood");
    let file = state.join("flood.pcap");
    let aps = flood_file(&file, FRAMES);
    let mut inj = Injector::start(
        &ns,
        &[
            "tun",
            "--name",
            "rt0",
            "--pcap",
            file.to_str().unwrap(),
            "--rate",
            "200000",
        ],
    );
    let airsift = Airsift::start(
        &ns,
        &state.join("state"),
        &["--source", "tpacket:rt0", "--max-devices", &CAP.to_string()],
    );
    let rss_before = get(&airsift, "/system/status.json")["airsift.system.memory.rss_bytes"]
        .as_u64()
        .unwrap();
    let sent = inj.send();
    assert_eq!(sent, FRAMES);
    wait_until("the flood counted", Duration::from_secs(300), || {
        let t = airsift.totals();
        t["frames"].as_u64().unwrap_or(0) + t["kernel_drops"].as_u64().unwrap_or(0) >= FRAMES
    });
    let stats = |a: &Airsift| get(a, "/dataplane/stats.json")["devices"].clone();
    // The last tables reach the store within a few intervals (handed over every 250 ms,
    // collected every 50 ms): settled once nothing changed over a full second.
    let mut last = Value::Null;
    wait_until("the device store settled", Duration::from_secs(120), || {
        let s = stats(&airsift);
        let settled = s == last;
        last = s;
        if !settled {
            std::thread::sleep(Duration::from_millis(1_000));
        }
        settled
    });
    let s = stats(&airsift);
    let stored = s["stored"].as_u64().unwrap();
    let evicted = s["evicted"].as_u64().unwrap();
    let untracked = s["untracked_frames"].as_u64().unwrap();
    let frames = airsift.totals()["frames"].as_u64().unwrap();
    assert!(stored <= CAP, "{s}");
    // The real APs are kept, whatever the flood did to the store.
    let mut ap_frames = 0;
    for ap in &aps {
        let d = &get(&airsift, &format!("/devices/by-mac/{ap}/devices.json"))[0];
        assert_eq!(d["kismet.device.base.type"], "Wi-Fi AP", "{ap}");
        assert_eq!(d["kismet.device.base.name"], "Real-AP");
        let n = d["kismet.device.base.packets.total"].as_u64().unwrap();
        assert!(n > 1000, "{ap}: {n} frames");
        ap_frames += n;
    }
    // Nothing is lost unaccounted: each captured flood frame has a MAC of its own, so it made
    // a device (stored or evicted) or found its worker's table full (untracked); the real
    // APs' frames made three devices or were untracked.
    assert_eq!(
        stored + evicted + untracked,
        frames - ap_frames + aps.len() as u64,
        "{s} for {frames} frames captured, {ap_frames} of them counted for the APs"
    );
    // Most flood MACs reached the store and were evicted (the rest found a worker's table
    // full while the control plane was merging).
    assert!(evicted >= 100_000, "{s}");
    let metrics = airsift.api.get("/metrics", &Cred::admin()).text();
    assert!(
        metrics.contains(&format!("airsift_devices_evicted_total {evicted}")),
        "{metrics}"
    );
    // The flood raised NEWTXFLOOD (far more than 1,000 new transmitters in ten seconds), and
    // the device table told when it began evicting.
    let alerts = get(&airsift, "/alerts/last-time/0/alerts.json");
    assert!(
        alerts.as_array().unwrap().iter().any(|a| {
            a["kismet.alert.header"] == "NEWTXFLOOD"
                && a["kismet.alert.text"]
                    .as_str()
                    .unwrap()
                    .contains("new transmitter addresses in the last 10 s (limit 1000)")
        }),
        "{alerts}"
    );
    let msgs = get(&airsift, "/messagebus/last-time/0/messages.json");
    assert!(
        msgs["kismet.messagebus.list"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["kismet.messagebus.message_string"]
                .as_str()
                .unwrap()
                .starts_with(&format!("device table full ({CAP} devices)"))),
        "{msgs}"
    );
    let rss = get(&airsift, "/system/status.json")["airsift.system.memory.rss_bytes"]
        .as_u64()
        .unwrap();
    // 20,000 devices at well under 1 KiB each, plus the workers' tables: the flood of a
    // million MACs must not show in memory.
    assert!(
        rss < rss_before + (64 << 20),
        "RSS grew from {rss_before} to {rss} bytes"
    );
    airsift.stop();
    inj.finish();
    let _ = std::fs::remove_dir_all(&state);
}
