//! `airsift inspect` against an independent oracle: tshark's dissection of every real capture
//! in `testdata/captures`, committed as golden files by `scripts/make-golden.sh`.
//!
//! For each frame: the frame length, the four address roles, the signal, noise and frequency,
//! and the FCS flag must agree. Where tshark names addresses differently from API.md's mapping,
//! the mapping below follows API.md and says so. Frames airsift calls malformed must be on the
//! list at the bottom, each with the reason tshark's own output supports.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

fn testdata() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata")
}

/// One golden row, keyed by tshark field name.
struct Row(HashMap<String, String>);

impl Row {
    fn get(&self, field: &str) -> Option<String> {
        self.0
            .get(field)
            .filter(|v| !v.is_empty())
            .map(|v| v.to_ascii_uppercase())
    }
}

fn golden(name: &str) -> Vec<Row> {
    let text =
        std::fs::read_to_string(testdata().join("golden/tshark").join(format!("{name}.tsv")))
            .expect("golden file");
    let mut lines = text.lines();
    let header: Vec<String> = lines.next().unwrap()[1..]
        .split('\t')
        .map(str::to_string)
        .collect();
    lines
        .map(|l| {
            Row(header
                .iter()
                .cloned()
                .zip(l.split('\t').map(str::to_string))
                .collect())
        })
        .collect()
}

fn inspect(path: &Path) -> Vec<Value> {
    let out = Command::new(env!("CARGO_BIN_EXE_airsift"))
        .arg("inspect")
        .arg(path)
        .output()
        .expect("run airsift");
    assert!(
        out.status.success(),
        "airsift inspect {} failed: {}",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
        .collect()
}

type Roles = [Option<String>; 4];

/// The roles API.md's table gives, read from tshark's names.
fn expected_roles(r: &Row) -> Roles {
    let (sa, da, bssid, ta, ra) = (
        r.get("wlan.sa"),
        r.get("wlan.da"),
        r.get("wlan.bssid"),
        r.get("wlan.ta"),
        r.get("wlan.ra"),
    );
    let subtype = r.get("wlan.fc.subtype");
    match (r.get("wlan.fc.type").as_deref(), subtype.as_deref()) {
        (Some("0"), _) => [sa, da, bssid, None],
        (Some("2"), _) if r.get("wlan.fc.ds").as_deref() == Some("0X03") => [sa, da, None, ta],
        (Some("2"), _) => [sa, da, bssid, None],
        // PS-Poll: tshark also calls A1 the receiver; API.md gives it no destination.
        (Some("1"), Some("10")) => [ta, None, bssid, None],
        // CF-End (+CF-Ack): tshark calls A2 the BSSID; API.md maps A2 to source, no network.
        (Some("1"), Some("14" | "15")) => [bssid, ra, None, None],
        (Some("1"), _) => [ta, ra, None, None],
        // DMG beacon: API.md has no row. A1 holds the transmitting PCP/AP's address, which
        // tshark shows as both BSSID and receiver; airsift maps it to source and network.
        (Some("3"), Some("0")) => [bssid.clone(), None, bssid, None],
        _ => [None, None, None, None],
    }
}

fn ours(v: &Value, key: &str) -> Option<String> {
    match &v[key] {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    }
}

/// Frames airsift reports malformed, with the error it must give and why tshark agrees.
/// Files are in name order.
const EXPECTED_MALFORMED: &[(&str, u64, &str)] = &[
    // A 10-byte management frame: tshark decodes only A1 (the receiver) and nothing else.
    (
        "80211_tcpdump_tim-ie-oobr.pcap",
        3,
        "802.11 frame too short for its addresses: 10 bytes, needs 22",
    ),
    // A 17-byte record under a 144-byte Prism header: tshark flags "[Malformed Packet]".
    (
        "prism_aircrack_wpaclean-crash.pcap",
        1,
        "Prism header truncated: only 17 bytes",
    ),
    // Fuzz files whose radiotap version byte is 0x30: tshark cannot decode 802.11 in them.
    (
        "rt_tcpdump_meshhdr-oobr.pcap",
        1,
        "radiotap header has unknown version 48",
    ),
    (
        "rt_tcpdump_radiotap-heapoverflow.pcap",
        1,
        "radiotap header has unknown version 48",
    ),
    (
        "rt_tcpdump_rates-oobr.pcap",
        1,
        "radiotap header has unknown version 48",
    ),
];

#[test]
fn inspect_agrees_with_tshark_on_every_capture() {
    let mut names: Vec<String> = std::fs::read_dir(testdata().join("captures"))
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.ends_with(".pcap") || n.ends_with(".cap") || n.ends_with(".pcapng"))
        .collect();
    names.sort();
    assert!(names.len() >= 36, "captures missing: {names:?}");
    let mut mismatches = Vec::new();
    let mut malformed = Vec::new();
    let mut compared = 0;
    for name in &names {
        let rows = golden(name);
        let lines = inspect(&testdata().join("captures").join(name));
        if rows.len() != lines.len() {
            mismatches.push(format!(
                "{name}: tshark {} frames, airsift {}",
                rows.len(),
                lines.len()
            ));
            continue;
        }
        for (row, line) in rows.iter().zip(&lines) {
            let index = line["index"].as_u64().unwrap();
            let at = format!("{name} #{index}");
            assert_eq!(row.get("frame.number"), Some(index.to_string()), "{at}");
            if ours(line, "length") != row.get("frame.len") {
                mismatches.push(format!(
                    "{at}: length {:?} vs {:?}",
                    line["length"],
                    row.get("frame.len")
                ));
            }
            if line["verdict"] == "malformed" {
                malformed.push((name.clone(), index, ours(line, "error").unwrap_or_default()));
                continue;
            }
            compared += 1;
            let got: Roles = ["source", "destination", "network", "other"].map(|k| ours(line, k));
            let want = expected_roles(row);
            if got != want {
                mismatches.push(format!("{at}: roles {got:?} vs tshark {want:?}"));
            }
            let linktype = line["linktype"].as_u64().unwrap();
            let (signal, noise, freq) = if linktype == 127 {
                // First occurrence of the radiotap fields (tshark's wlan_radio takes the last
                // per-chain value; the first is the combined signal airsift reports).
                let freq = row
                    .get("radiotap.channel.freq")
                    .or(row.get("wlan_radio.frequency"));
                (
                    row.get("radiotap.dbm_antsignal"),
                    row.get("radiotap.dbm_antnoise"),
                    freq,
                )
            } else {
                (
                    row.get("wlan_radio.signal_dbm"),
                    row.get("wlan_radio.noise_dbm"),
                    row.get("wlan_radio.frequency"),
                )
            };
            for (key, want) in [
                ("signal_dbm", signal),
                ("noise_dbm", noise),
                ("freq_mhz", freq),
            ] {
                if ours(line, key) != want {
                    mismatches.push(format!("{at}: {key} {:?} vs tshark {want:?}", line[key]));
                }
            }
            if linktype == 127 {
                let fcs = row.get("radiotap.flags.fcs").as_deref() == Some("1");
                if line["fcs"] != fcs {
                    mismatches.push(format!("{at}: fcs {} vs tshark {fcs}", line["fcs"]));
                }
            }
        }
    }
    assert!(
        mismatches.is_empty(),
        "{} mismatches:\n{}",
        mismatches.len(),
        mismatches[..mismatches.len().min(40)].join("\n")
    );
    let expected: Vec<(String, u64, String)> = EXPECTED_MALFORMED
        .iter()
        .map(|(n, i, e)| (n.to_string(), *i, e.to_string()))
        .collect();
    assert_eq!(
        malformed, expected,
        "malformed frames differ from the expected list"
    );
    assert_eq!(compared, 88_790, "frames compared");
}
