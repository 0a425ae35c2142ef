//! `airsift devices` against an independent oracle: a reference device tracker that reads
//! only tshark's dissection of every capture in `testdata/captures` (golden TSVs written by
//! `scripts/make-golden-devices.sh`), never airsift's parser.
//!
//! The reference implements the tracking rules below, frame by frame in file order; the test
//! runs `airsift devices FILE` on every capture and compares each device record with it.
//!
//! Frames: every frame airsift parses as a well-formed 802.11 frame, except frames whose
//! radiotap Flags (or PPI flags) say the FCS is bad, control frames and extension frames.
//! tx is A2 (tshark's `wlan.ta`); rx is A1 (`wlan.ra`) when unicast and not tx.
//! * tx device: tx_total + 1; rx device: rx_total + 1; total = tx_total + rx_total.
//! * data frames: data + 1 on both, crypt + 1 on both when Protected, datasize + the 802.11
//!   length (frame length less capture header, less 4 when the FCS is present) on both.
//! * management frames with fixed fields and elements (association, reassociation and probe
//!   requests and responses, beacons): error + 1 on tx when an element's length runs past
//!   the end of the captured frame.
//! * roles: beacon/probe response transmitter is an AP (Ad-Hoc when IBSS is set and ESS
//!   clear); ToDS data: A2 is a client of A1, A1 an AP; FromDS data: A2 is an AP, unicast A1
//!   its client; ToDS+FromDS: A1 and A2 are WDS; neither: tx and rx are Ad-Hoc. The type is
//!   the highest role: AP > Ad-Hoc > WDS > Client > Device.
//! * advertised SSIDs: per (transmitter, SSID bytes) of beacons and probe responses that have
//!   an SSID element; channel, encryption and beacon interval of the newest such frame (the DS
//!   Parameter Set channel, else the radiotap frequency's channel, else "").
//! * probed SSIDs: per (transmitter, SSID) of probe requests with a non-empty SSID.
//! * SSIDs are bytes (tshark prints `wlan.ssid` as hex): only a zero-length SSID is cloaked; a
//!   NUL-filled one, which tshark prints as its zero bytes, is an SSID of that length (shown
//!   as `\x00...`). None of the captures has one.
//! * signal (last/min/max) and frequency: of the frames the device transmitted.
//! * last_bssid: an AP's own MAC; otherwise the AP of the device's newest data frame to or
//!   from an AP; 00:00:00:00:00:00 (as Kismet prints no BSSID) when there is none.
//!
//! Where the reference cannot read a frame from tshark's output, or tshark is wrong about it,
//! the frame is in [`EXCEPTIONS`] with the reason tshark's own output gives.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{json, Map, Value};

fn testdata() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata")
}

// ---------------------------------------------------------------------------------------
// Golden rows
// ---------------------------------------------------------------------------------------

/// One golden row: tshark field name → every occurrence in the frame, in order.
#[derive(Clone, Debug, Default)]
struct Row(HashMap<String, Vec<String>>);

impl Row {
    fn all(&self, field: &str) -> &[String] {
        self.0.get(field).map_or(&[], Vec::as_slice)
    }

    fn first(&self, field: &str) -> Option<&str> {
        self.all(field).first().map(String::as_str)
    }

    /// The first occurrence as a number (decimal, or hex with 0x).
    fn num(&self, field: &str) -> Option<u64> {
        self.first(field).map(|v| parse_num(v, field))
    }

    fn nums(&self, field: &str) -> Vec<u64> {
        self.all(field)
            .iter()
            .map(|v| parse_num(v, field))
            .collect()
    }

    fn flag(&self, field: &str) -> bool {
        self.num(field) == Some(1)
    }
}

fn parse_num(v: &str, field: &str) -> u64 {
    let parsed = match v.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16),
        None => v.parse(),
    };
    parsed.unwrap_or_else(|_| panic!("{field}: not a number: {v:?}"))
}

fn parse_signed(v: &str) -> i32 {
    v.parse()
        .unwrap_or_else(|_| panic!("not a signed number: {v:?}"))
}

/// Rows of a golden TSV: a `#`-prefixed header, then one line per frame, occurrences joined
/// by `|`.
fn parse_rows(text: &str) -> Vec<Row> {
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().expect("header")[1..].split('\t').collect();
    lines
        .map(|l| {
            Row(header
                .iter()
                .zip(l.split('\t'))
                .map(|(k, v)| {
                    let vals = v
                        .split('|')
                        .filter(|s| !s.is_empty())
                        .map(str::to_string)
                        .collect();
                    (k.to_string(), vals)
                })
                .collect())
        })
        .collect()
}

fn golden(name: &str) -> Vec<Row> {
    let path = testdata()
        .join("golden/tshark-devices")
        .join(format!("{name}.tsv"));
    parse_rows(&std::fs::read_to_string(&path).expect("golden file"))
}

// ---------------------------------------------------------------------------------------
// Frames as the reference reads them
// ---------------------------------------------------------------------------------------

type Mac = [u8; 6];

fn parse_mac(s: &str) -> Mac {
    let mut m = [0u8; 6];
    let parts: Vec<&str> = s.split(':').collect();
    assert_eq!(parts.len(), 6, "MAC {s:?}");
    for (o, p) in m.iter_mut().zip(parts) {
        *o = u8::from_str_radix(p, 16).unwrap_or_else(|_| panic!("MAC {s:?}"));
    }
    m
}

fn mac_string(m: &Mac) -> String {
    m.iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":")
}

fn unicast(m: &Mac) -> bool {
    m[0] & 1 == 0
}

const RSN_OUI: u64 = 0x000FAC;
const MS_OUI: u64 = 0x0050F2;
const WFA_OUI: u64 = 0x506F9A;

/// One element's cipher and key management suites, as (OUI, type).
#[derive(Clone, Debug, Default, PartialEq)]
struct Suites {
    group: Option<(u64, u64)>,
    pairwise: Vec<(u64, u64)>,
    akms: Vec<(u64, u64)>,
    mfpc: bool,
    mfpr: bool,
}

/// How a management frame's element list ends, from tshark's tag list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Elements {
    /// The elements fill the body exactly.
    Whole,
    /// An element's length runs past the end of the captured frame.
    Overrun,
    /// tshark stopped listing elements inside one whose contents it could not dissect, so its
    /// output does not say how the list ends ([`EXCEPTIONS`] must).
    Unknown,
    /// Not a frame of fixed fields and elements.
    NotApplicable,
}

/// One frame, from its golden row.
#[derive(Clone, Debug, Default)]
struct Frame {
    number: u64,
    /// On-air length (`frame.len`) and captured length.
    len: u64,
    cap_len: u64,
    /// Capture header bytes (radiotap, PPI, Prism).
    header: u64,
    fcs: bool,
    bad_fcs: bool,
    signal: Option<i32>,
    freq_mhz: Option<u64>,
    /// (type, subtype); `None` when tshark found no 802.11 frame.
    kind: Option<(u64, u64)>,
    ds: u64,
    protected: bool,
    order: bool,
    ta: Option<Mac>,
    ra: Option<Mac>,
    beacon_interval: Option<u64>,
    ess: bool,
    ibss: bool,
    privacy: bool,
    /// (element id, length) in frame order.
    elements: Vec<(u64, u64)>,
    /// The first SSID element's bytes.
    ssid: Option<Vec<u8>>,
    ds_channel: Option<u64>,
    rsn: Option<Suites>,
    wpa: Option<Suites>,
    tshark_malformed: bool,
}

fn hex_bytes(s: &str) -> Vec<u8> {
    assert!(s.len().is_multiple_of(2), "hex {s:?}");
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap_or_else(|_| panic!("hex {s:?}")))
        .collect()
}

/// The first element's suites from tshark's lists (a frame with two RSN elements has both
/// in one list; the counts say where the first ends).
fn suites(
    r: &Row,
    group: (&str, &str),
    pairwise: (&str, &str, &str),
    akms: (&str, &str, &str),
) -> Suites {
    let take = |count: &str, oui: &str, ty: &str| -> Vec<(u64, u64)> {
        let n = r.num(count).unwrap_or(0) as usize;
        r.nums(oui).into_iter().zip(r.nums(ty)).take(n).collect()
    };
    Suites {
        group: r.num(group.0).zip(r.num(group.1)),
        pairwise: take(pairwise.0, pairwise.1, pairwise.2),
        akms: take(akms.0, akms.1, akms.2),
        mfpc: false,
        mfpr: false,
    }
}

impl Frame {
    fn from_row(r: &Row) -> Frame {
        let radiotap = r.first("radiotap.length").is_some();
        let (signal, freq) = if radiotap {
            // The first occurrence: radiotap repeats the signal per antenna after the
            // combined one.
            (
                r.first("radiotap.dbm_antsignal").map(parse_signed),
                r.num("radiotap.channel.freq")
                    .or(r.num("wlan_radio.frequency")),
            )
        } else {
            (
                r.first("wlan_radio.signal_dbm").map(parse_signed),
                r.num("wlan_radio.frequency"),
            )
        };
        let header = r
            .num("radiotap.length")
            .or(r.num("ppi.length"))
            .or(r.num("prism.msglen"))
            .unwrap_or(0);
        let kind = match (r.first("wlan.fc.type"), r.first("wlan.fc.subtype")) {
            (Some(t), Some(s)) => Some((parse_num(t, "type"), parse_num(s, "subtype"))),
            _ => None,
        };
        // Extension elements (255) carry their length in wlan.ext_tag.length, which excludes
        // the extension id byte.
        let mut lens = r.nums("wlan.tag.length").into_iter();
        let mut ext = r.nums("wlan.ext_tag.length").into_iter();
        let elements: Vec<(u64, u64)> = r
            .nums("wlan.tag.number")
            .into_iter()
            .map(|id| {
                let len = if id == 255 {
                    ext.next().map(|l| l + 1)
                } else {
                    lens.next()
                };
                (id, len.expect("a length for every element"))
            })
            .collect();
        let ssid = elements.iter().find(|&&(id, _)| id == 0).map(|&(_, len)| {
            // tshark prints the SSID as hex; an empty one as <MISSING>.
            let v = r
                .first("wlan.ssid")
                .expect("SSID element without wlan.ssid");
            let bytes = if v == "<MISSING>" {
                Vec::new()
            } else {
                hex_bytes(v)
            };
            assert_eq!(bytes.len() as u64, len, "SSID length {v:?}");
            bytes
        });
        let rsn = r.first("wlan.rsn.version").map(|_| Suites {
            mfpc: r.flag("wlan.rsn.capabilities.mfpc"),
            mfpr: r.flag("wlan.rsn.capabilities.mfpr"),
            ..suites(
                r,
                ("wlan.rsn.gcs.oui", "wlan.rsn.gcs.type"),
                (
                    "wlan.rsn.pcs.count",
                    "wlan.rsn.pcs.oui",
                    "wlan.rsn.pcs.type",
                ),
                (
                    "wlan.rsn.akms.count",
                    "wlan.rsn.akms.oui",
                    "wlan.rsn.akms.type",
                ),
            )
        });
        let wpa = r.first("wlan.wfa.ie.wpa.version").map(|_| {
            suites(
                r,
                ("wlan.wfa.ie.wpa.mcs.oui", "wlan.wfa.ie.wpa.mcs.type"),
                (
                    "wlan.wfa.ie.wpa.ucs.count",
                    "wlan.wfa.ie.wpa.ucs.oui",
                    "wlan.wfa.ie.wpa.ucs.type",
                ),
                (
                    "wlan.wfa.ie.wpa.akms.count",
                    "wlan.wfa.ie.wpa.akms.oui",
                    "wlan.wfa.ie.wpa.type",
                ),
            )
        });
        Frame {
            number: r.num("frame.number").expect("frame.number"),
            len: r.num("frame.len").expect("frame.len"),
            cap_len: r.num("frame.cap_len").expect("frame.cap_len"),
            header,
            fcs: r.flag("radiotap.flags.fcs") || r.flag("ppi.80211-common.flags.fcs"),
            bad_fcs: r.flag("radiotap.flags.badfcs")
                || r.flag("ppi.80211-common.flags.fcs-invalid"),
            signal,
            freq_mhz: freq,
            kind,
            ds: r.num("wlan.fc.ds").unwrap_or(0),
            protected: r.flag("wlan.fc.protected"),
            order: r.flag("wlan.fc.order"),
            ta: r.first("wlan.ta").map(parse_mac),
            ra: r.first("wlan.ra").map(parse_mac),
            beacon_interval: r.num("wlan.fixed.beacon"),
            ess: r.flag("wlan.fixed.capabilities.ess"),
            ibss: r.flag("wlan.fixed.capabilities.ibss"),
            privacy: r.flag("wlan.fixed.capabilities.privacy"),
            elements,
            ssid,
            ds_channel: r.num("wlan.ds.current_channel"),
            rsn,
            wpa,
            tshark_malformed: r.first("_ws.malformed").is_some(),
        }
    }

    /// The 802.11 frame's length without capture header and FCS.
    fn dot11_len(&self) -> u64 {
        self.len - self.header - if self.fcs { 4 } else { 0 }
    }

    /// How the element list ends, for the subtypes that have one.
    fn elements_status(&self) -> Elements {
        let fixed = match self.kind {
            Some((0, 0)) => 4,
            Some((0, 1 | 3)) => 6,
            Some((0, 2)) => 10,
            Some((0, 4)) => 0,
            Some((0, 5 | 8)) => 12,
            _ => return Elements::NotApplicable,
        };
        let start = 24 + if self.order { 4 } else { 0 } + fixed;
        let end = self.cap_len as i64 - self.header as i64 - if self.fcs { 4 } else { 0 };
        let mut at = start;
        for &(_, len) in &self.elements {
            at += 2 + len as i64;
            if at > end {
                return Elements::Overrun;
            }
        }
        if at == end {
            Elements::Whole
        } else {
            Elements::Unknown
        }
    }
}

// ---------------------------------------------------------------------------------------
// Exceptions
// ---------------------------------------------------------------------------------------

/// What the reference does differently for one frame, and why.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Override {
    /// airsift calls the frame malformed (see `inspect_vs_tshark.rs`), so it is not tracked.
    NotTracked,
    /// tshark's element list stops early; the bytes show how the list really ends.
    ElementsAre(Elements),
}

/// (capture, frame numbers, override, reason). Files in name order.
const EXCEPTIONS: &[(&str, &[u64], Override, &str)] = &[
    // tshark stops at the Beacon Timing element (120) of ns-3's draft mesh beacons, whose
    // contents it cannot dissect ("Malformed Packet (Exception occurred)"); the bytes after it
    // are a Mesh ID element ("mesh") and four zero bytes (two empty SSID elements), which end
    // exactly at the frame's end.
    (
        "80211_ns3_hwmp-reactive-mesh.pcap",
        &[
            31, 55, 56, 57, 58, 59, 60, 61, 62, 63, 64, 91, 108, 109, 122, 123, 124, 137, 138, 139,
            152, 153, 154, 168, 169, 170, 183, 184, 185, 186, 187, 188, 189, 202, 203, 204, 205,
            206, 207, 208, 209, 210, 211, 212, 213, 214, 215, 216, 217,
        ],
        Override::ElementsAre(Elements::Whole),
        "tshark cannot dissect the Beacon Timing element; the list ends exactly at the frame end",
    ),
    // A fuzz beacon: tshark stops inside its first element (an RSN element whose suite counts
    // are 0x3030) and flags it malformed. By the bytes (tshark -x), the elements are 48/11,
    // 48/4, 48/20, 5/130, then 48/48 starting 6 bytes before the end of the 255 captured bytes.
    (
        "80211_tcpdump_parse-elements-oobr.pcap",
        &[1],
        Override::ElementsAre(Elements::Overrun),
        "tshark stops inside the first element; the fifth runs past the captured end",
    ),
    // A 10-byte management frame: tshark decodes only A1.
    (
        "80211_tcpdump_tim-ie-oobr.pcap",
        &[3],
        Override::NotTracked,
        "802.11 frame too short for its addresses",
    ),
    // A 17-byte record under a 144-byte Prism header: tshark flags "[Malformed Packet]".
    (
        "prism_aircrack_wpaclean-crash.pcap",
        &[1],
        Override::NotTracked,
        "Prism header truncated",
    ),
    // Fuzz files whose radiotap version byte is 0x30: tshark cannot decode 802.11 in them.
    (
        "rt_tcpdump_meshhdr-oobr.pcap",
        &[1],
        Override::NotTracked,
        "radiotap header has unknown version 48",
    ),
    (
        "rt_tcpdump_radiotap-heapoverflow.pcap",
        &[1],
        Override::NotTracked,
        "radiotap header has unknown version 48",
    ),
    (
        "rt_tcpdump_rates-oobr.pcap",
        &[1],
        Override::NotTracked,
        "radiotap header has unknown version 48",
    ),
];

fn override_for(name: &str, number: u64) -> Option<Override> {
    EXCEPTIONS
        .iter()
        .find(|(n, frames, _, _)| *n == name && frames.contains(&number))
        .map(|&(_, _, o, _)| o)
}

// ---------------------------------------------------------------------------------------
// Encryption summary
// ---------------------------------------------------------------------------------------

/// The encryption of an advertised SSID as the tokens of airsift's Kismet-style display
/// string (`control/src/scan/crypt.rs`), its legacy `crypt_set` bits and MFP flags.
///
/// Mapping from the elements (what `crypt::parse` gives for the Android capability string of
/// the same network):
/// * `WPA` when the WPA vendor element is present; `WPA2` when an RSN element is present with
///   a WPA2-class key management (802.1X, PSK, their FT and SHA-256 variants) or none; `WPA3`
///   when the RSN element has SAE, FT-SAE, OWE, Suite-B-192, FILS, SAE-EXT-KEY or DPP.
/// * `{WPA,WPA2}-{EAP,PSK,FT-EAP,FT-PSK,EAP-SHA256,PSK-SHA256}` for each WPA2-class key
///   management of either element and each of those generations; `WPA3-{SAE,FT-SAE,OWE,...}`.
/// * ciphers: pairwise CCMP `AES-CCMP`, GCMP `AES-GCMP`, CCMP-256 `AES-CCMP-256`, GCMP-256
///   `AES-GCMP-256`; `TKIP` when pairwise or group; pairwise WEP40/104 `WEP`.
/// * `WEP` for the Privacy bit without RSN or WPA element; `Open` when nothing else.
/// * WPS is not part of the contract: `WPS` is dropped from airsift's string and bit 26 from
///   its `crypt_set` before comparing.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct CryptSummary {
    tokens: BTreeSet<String>,
    legacy: u64,
    mfp: (bool, bool),
}

const WPS_LEGACY: u64 = 1 << 26;

/// (name, WPA3-class) of an RSN key management suite.
fn rsn_akm(oui: u64, ty: u64) -> Option<(&'static str, bool)> {
    Some(match (oui, ty) {
        (RSN_OUI, 1) => ("EAP", false),
        (RSN_OUI, 2) => ("PSK", false),
        (RSN_OUI, 3) => ("FT-EAP", false),
        (RSN_OUI, 4) => ("FT-PSK", false),
        (RSN_OUI, 5) => ("EAP-SHA256", false),
        (RSN_OUI, 6) => ("PSK-SHA256", false),
        (RSN_OUI, 8) => ("SAE", true),
        (RSN_OUI, 9) => ("FT-SAE", true),
        (RSN_OUI, 12) => ("EAP-SUITE-B-192", true),
        (RSN_OUI, 14 | 16) => ("FILS-SHA256", true),
        (RSN_OUI, 15 | 17) => ("FILS-SHA384", true),
        (RSN_OUI, 18) => ("OWE", true),
        (RSN_OUI, 24 | 25) => ("SAE-EXT-KEY", true),
        (WFA_OUI, 2) => ("DPP", true),
        _ => return None,
    })
}

fn cipher_token(oui: u64, ty: u64) -> Option<&'static str> {
    if oui != RSN_OUI && oui != MS_OUI {
        return None;
    }
    Some(match ty {
        1 | 5 => "WEP",
        2 => "TKIP",
        4 => "AES-CCMP",
        8 => "AES-GCMP",
        9 => "AES-GCMP-256",
        10 => "AES-CCMP-256",
        _ => return None,
    })
}

fn crypt_summary(privacy: bool, rsn: Option<&Suites>, wpa: Option<&Suites>) -> CryptSummary {
    let mut wpa2_akms = BTreeSet::new();
    let mut wpa3_akms = BTreeSet::new();
    let mut rsn_wpa2 = false;
    if let Some(w) = wpa {
        for &(oui, ty) in &w.akms {
            match (oui, ty) {
                (MS_OUI, 1) => wpa2_akms.insert("EAP"),
                (MS_OUI, 2) => wpa2_akms.insert("PSK"),
                _ => false,
            };
        }
    }
    if let Some(r) = rsn {
        rsn_wpa2 = r.akms.is_empty();
        for &(oui, ty) in &r.akms {
            match rsn_akm(oui, ty) {
                Some((name, true)) => {
                    wpa3_akms.insert(name);
                }
                Some((name, false)) => {
                    wpa2_akms.insert(name);
                    rsn_wpa2 = true;
                }
                None => {}
            }
        }
    }
    let v1 = wpa.is_some();
    let v2 = rsn.is_some() && rsn_wpa2;
    let v3 = !wpa3_akms.is_empty();
    let mut tokens = BTreeSet::new();
    for (on, gen) in [(v1, "WPA"), (v2, "WPA2")] {
        if on {
            tokens.insert(gen.to_string());
            tokens.extend(wpa2_akms.iter().map(|a| format!("{gen}-{a}")));
        }
    }
    if v3 {
        tokens.insert("WPA3".to_string());
        tokens.extend(wpa3_akms.iter().map(|a| format!("WPA3-{a}")));
    }
    let elements: Vec<&Suites> = rsn.into_iter().chain(wpa).collect();
    let mut pairwise = BTreeSet::new();
    for s in &elements {
        for &(oui, ty) in &s.pairwise {
            pairwise.extend(cipher_token(oui, ty));
        }
        if let Some((oui, ty)) = s.group {
            if cipher_token(oui, ty) == Some("TKIP") {
                tokens.insert("TKIP".to_string());
            }
        }
    }
    tokens.extend(pairwise.iter().map(|c| c.to_string()));
    if privacy && elements.is_empty() {
        tokens.insert("WEP".to_string());
    }
    let mut legacy = 0;
    let has = |t: &BTreeSet<String>, f: &dyn Fn(&str) -> bool| t.iter().any(|s| f(s));
    let mut set = |on: bool, bit: u64| {
        if on {
            legacy |= bit;
        }
    };
    set(tokens.contains("WEP"), 1 << 1);
    set(tokens.contains("TKIP"), 1 << 5);
    set(!elements.is_empty(), 1 << 6);
    set(
        has(&tokens, &|s| {
            s.starts_with("WPA") && (s.ends_with("-PSK") || s.ends_with("-PSK-SHA256"))
        }),
        1 << 7,
    );
    set(
        pairwise.contains("AES-CCMP") || pairwise.contains("AES-CCMP-256"),
        1 << 9,
    );
    set(
        has(&tokens, &|s| s.starts_with("WPA") && s.contains("-EAP")),
        1 << 11,
    );
    set(
        wpa3_akms.contains("SAE") || wpa3_akms.contains("FT-SAE"),
        1 << 16,
    );
    set(wpa3_akms.contains("OWE"), 1 << 17);
    set(v1, 1 << 27);
    set(v2, 1 << 28);
    set(v3, 1 << 29);
    if tokens.is_empty() {
        tokens.insert("Open".to_string());
    }
    let (mfpc, mfpr) = rsn.map_or((false, false), |r| (r.mfpc, r.mfpr));
    CryptSummary {
        tokens,
        legacy,
        mfp: (mfpc || mfpr, mfpr),
    }
}

// ---------------------------------------------------------------------------------------
// The reference tracker
// ---------------------------------------------------------------------------------------

const ROLE_AP: u8 = 1;
const ROLE_ADHOC: u8 = 2;
const ROLE_WDS: u8 = 4;
const ROLE_CLIENT: u8 = 8;

/// One advertised SSID of a device.
#[derive(Clone, Debug, Default, PartialEq)]
struct Adv {
    channel: Option<u64>,
    crypt: CryptSummary,
    beacon_interval: Option<u64>,
    beacon: bool,
    probe_response: bool,
}

/// One device as the reference tracks it.
#[derive(Clone, Debug, Default, PartialEq)]
struct Dev {
    roles: u8,
    tx: u64,
    rx: u64,
    data: u64,
    crypt: u64,
    error: u64,
    datasize: u64,
    /// (last, min, max)
    signal: Option<(i32, i32, i32)>,
    freq_mhz: Option<u64>,
    ssids: BTreeMap<Vec<u8>, Adv>,
    probed: BTreeSet<Vec<u8>>,
    /// As an AP: its clients. As a client: its APs.
    clients: BTreeSet<Mac>,
    aps: BTreeSet<Mac>,
    /// The AP of the newest data frame to or from an AP.
    last_ap: Option<Mac>,
}

impl Dev {
    fn type_name(&self) -> &'static str {
        if self.roles & ROLE_AP != 0 {
            "Wi-Fi AP"
        } else if self.roles & ROLE_ADHOC != 0 {
            "Wi-Fi Ad-Hoc"
        } else if self.roles & ROLE_WDS != 0 {
            "Wi-Fi WDS"
        } else if self.roles & ROLE_CLIENT != 0 {
            "Wi-Fi Client"
        } else {
            "Wi-Fi Device"
        }
    }

    fn last_bssid(&self, mac: &Mac) -> Option<Mac> {
        if self.roles & ROLE_AP != 0 {
            Some(*mac)
        } else {
            self.last_ap
        }
    }
}

/// The channel number of a frequency in MHz.
fn channel_of(mhz: u64) -> Option<u64> {
    Some(match mhz {
        2484 => 14,
        2412..=2472 => (mhz - 2407) / 5,
        5935 => 2,
        5955..=7115 => (mhz - 5950) / 5,
        4910..=4980 => (mhz - 4000) / 5,
        5000..=5900 => (mhz - 5000) / 5,
        _ => return None,
    })
}

#[derive(Default)]
struct Tracker {
    devices: BTreeMap<Mac, Dev>,
    /// Frames looked at, and frames tracked.
    frames: u64,
    tracked: u64,
}

impl Tracker {
    fn dev(&mut self, m: Mac) -> &mut Dev {
        self.devices.entry(m).or_default()
    }

    fn relate(&mut self, client: Mac, ap: Mac) {
        self.dev(client).roles |= ROLE_CLIENT;
        self.dev(client).aps.insert(ap);
        self.dev(client).last_ap = Some(ap);
        self.dev(ap).roles |= ROLE_AP;
        self.dev(ap).clients.insert(client);
    }

    /// One frame of capture `name`.
    fn frame(&mut self, name: &str, f: &Frame) {
        self.frames += 1;
        let ov = override_for(name, f.number);
        if ov == Some(Override::NotTracked) {
            return;
        }
        let Some((ftype, subtype)) = f.kind else {
            panic!(
                "{name} #{}: tshark found no 802.11 frame and it is not in EXCEPTIONS",
                f.number
            );
        };
        if f.bad_fcs || ftype == 1 || ftype == 3 {
            return;
        }
        let Some(tx) = f.ta else {
            panic!("{name} #{}: no transmitter", f.number);
        };
        self.tracked += 1;
        let rx = f.ra.filter(|r| unicast(r) && *r != tx);

        let d = self.dev(tx);
        d.tx += 1;
        if let Some(s) = f.signal {
            d.signal = Some(match d.signal {
                None => (s, s, s),
                Some((_, lo, hi)) => (s, lo.min(s), hi.max(s)),
            });
        }
        if let Some(mhz) = f.freq_mhz {
            d.freq_mhz = Some(mhz);
        }
        if let Some(r) = rx {
            self.dev(r).rx += 1;
        }

        match ftype {
            0 => self.management(name, f, subtype, tx, ov),
            2 => self.data(f, tx, rx),
            _ => {}
        }
    }

    fn management(&mut self, name: &str, f: &Frame, subtype: u64, tx: Mac, ov: Option<Override>) {
        let status = match ov {
            Some(Override::ElementsAre(e)) => e,
            _ => f.elements_status(),
        };
        match status {
            Elements::Overrun => self.dev(tx).error += 1,
            Elements::Unknown => panic!(
                "{name} #{}: tshark's element list ends early (malformed: {}) and EXCEPTIONS \
                 does not say how it ends: {:?}",
                f.number, f.tshark_malformed, f.elements
            ),
            Elements::Whole | Elements::NotApplicable => {}
        }
        match subtype {
            5 | 8 => {
                let adhoc = f.ibss && !f.ess;
                let d = self.dev(tx);
                d.roles |= if adhoc { ROLE_ADHOC } else { ROLE_AP };
                // A frame without an SSID element advertises no SSID (the AP is still an AP).
                let Some(ssid) = f.ssid.clone() else { return };
                let adv = d.ssids.entry(ssid).or_default();
                adv.channel = f.ds_channel.or(f.freq_mhz.and_then(channel_of));
                adv.crypt = crypt_summary(f.privacy, f.rsn.as_ref(), f.wpa.as_ref());
                adv.beacon_interval = f.beacon_interval;
                if subtype == 8 {
                    adv.beacon = true;
                } else {
                    adv.probe_response = true;
                }
            }
            4 => {
                if let Some(s) = f.ssid.as_ref().filter(|s| !s.is_empty()) {
                    self.dev(tx).probed.insert(s.clone());
                }
            }
            _ => {}
        }
    }

    fn data(&mut self, f: &Frame, tx: Mac, rx: Option<Mac>) {
        let size = f.dot11_len();
        for m in std::iter::once(tx).chain(rx) {
            let d = self.dev(m);
            d.data += 1;
            d.datasize += size;
            if f.protected {
                d.crypt += 1;
            }
        }
        match f.ds {
            // ToDS: A2 is a client of A1.
            1 => {
                if let Some(ap) = rx {
                    self.relate(tx, ap);
                }
            }
            // FromDS: A2 is an AP; a unicast A1 its client.
            2 => {
                self.dev(tx).roles |= ROLE_AP;
                if let Some(client) = rx {
                    self.relate(client, tx);
                }
            }
            3 => {
                for m in std::iter::once(tx).chain(rx) {
                    self.dev(m).roles |= ROLE_WDS;
                }
            }
            _ => {
                for m in std::iter::once(tx).chain(rx) {
                    self.dev(m).roles |= ROLE_ADHOC;
                }
            }
        }
    }
}

fn reference(name: &str, rows: &[Row]) -> Tracker {
    let mut t = Tracker::default();
    for r in rows {
        t.frame(name, &Frame::from_row(r));
    }
    t
}

// ---------------------------------------------------------------------------------------
// Comparison with airsift's records
// ---------------------------------------------------------------------------------------

/// An SSID as airsift prints it: UTF-8 as is, except control characters as `\xNN` and the
/// backslash doubled (`scan::kismet::printable_ssid`); bytes that are not UTF-8 as `\xNN`.
fn shown_ssid(raw: &[u8]) -> String {
    let mut s = String::new();
    let mut rest = raw;
    loop {
        match std::str::from_utf8(rest) {
            Ok(ok) => {
                push_printable(&mut s, ok);
                break;
            }
            Err(e) => {
                let (ok, bad) = rest.split_at(e.valid_up_to());
                push_printable(&mut s, std::str::from_utf8(ok).unwrap());
                let n = e.error_len().unwrap_or(bad.len());
                for b in &bad[..n] {
                    s.push_str(&format!("\\x{b:02X}"));
                }
                rest = &bad[n..];
            }
        }
    }
    s
}

fn push_printable(s: &mut String, text: &str) {
    for c in text.chars() {
        if c == '\\' {
            s.push_str("\\\\");
        } else if c.is_control() {
            s.push_str(&format!("\\x{:02X}", c as u32));
        } else {
            s.push(c);
        }
    }
}

/// A value at a path of keys.
fn at<'a>(v: &'a Value, path: &[&str]) -> &'a Value {
    path.iter().fold(v, |v, k| &v[*k])
}

fn base(v: &Value, k: &str) -> Value {
    v[format!("kismet.device.base.{k}")].clone()
}

/// The tokens of a crypt string, without WPS.
fn tokens_of(s: &str) -> BTreeSet<String> {
    s.split_whitespace()
        .filter(|t| *t != "WPS")
        .map(str::to_string)
        .collect()
}

/// Every difference between the reference's devices and airsift's records.
/// Notes a difference.
fn differ(out: &mut Vec<String>, at: &str, what: &str, got: Value, want: Value) {
    if got != want {
        out.push(format!("{at}: {what} {got} vs reference {want}"));
    }
}

fn compare(name: &str, want: &BTreeMap<Mac, Dev>, got: &[Value]) -> Vec<String> {
    let mut out = Vec::new();
    let mut by_mac: BTreeMap<String, &Value> = BTreeMap::new();
    for v in got {
        let Some(m) = base(v, "macaddr").as_str().map(str::to_string) else {
            out.push(format!("{name}: a record without macaddr: {v}"));
            continue;
        };
        if by_mac.insert(m.clone(), v).is_some() {
            out.push(format!("{name}: {m} twice"));
        }
    }
    let want_macs: BTreeSet<String> = want.keys().map(mac_string).collect();
    let got_macs: BTreeSet<String> = by_mac.keys().cloned().collect();
    for m in want_macs.difference(&got_macs) {
        out.push(format!("{name}: {m} missing ({:?})", want[&parse_mac(m)]));
    }
    for m in got_macs.difference(&want_macs) {
        out.push(format!("{name}: {m} not expected"));
    }
    let key_of = |m: &Mac| by_mac.get(&mac_string(m)).map(|v| base(v, "key"));
    for (mac, d) in want {
        let ms = mac_string(mac);
        let Some(&v) = by_mac.get(&ms) else { continue };
        let at_ = format!("{name} {ms}");
        differ(
            &mut out,
            &at_,
            "type",
            base(v, "type"),
            d.type_name().into(),
        );
        differ(
            &mut out,
            &at_,
            "packets.total",
            base(v, "packets.total"),
            (d.tx + d.rx).into(),
        );
        differ(
            &mut out,
            &at_,
            "packets.tx_total",
            base(v, "packets.tx_total"),
            d.tx.into(),
        );
        differ(
            &mut out,
            &at_,
            "packets.rx_total",
            base(v, "packets.rx_total"),
            d.rx.into(),
        );
        differ(
            &mut out,
            &at_,
            "packets.data",
            base(v, "packets.data"),
            d.data.into(),
        );
        differ(
            &mut out,
            &at_,
            "packets.crypt",
            base(v, "packets.crypt"),
            d.crypt.into(),
        );
        differ(
            &mut out,
            &at_,
            "packets.error",
            base(v, "packets.error"),
            d.error.into(),
        );
        differ(
            &mut out,
            &at_,
            "datasize",
            base(v, "datasize"),
            d.datasize.into(),
        );
        differ(
            &mut out,
            &at_,
            "frequency",
            base(v, "frequency"),
            (d.freq_mhz.unwrap_or(0) * 1000).into(),
        );
        let sig = base(v, "signal");
        let got_sig = if sig.is_null() {
            Value::Null
        } else {
            json!([
                sig["kismet.common.signal.last_signal"],
                sig["kismet.common.signal.min_signal"],
                sig["kismet.common.signal.max_signal"],
            ])
        };
        differ(
            &mut out,
            &at_,
            "signal [last, min, max]",
            got_sig,
            d.signal
                .map_or(Value::Null, |(l, lo, hi)| json!([l, lo, hi])),
        );
        if base(v, "key").as_str().is_none_or(str::is_empty) {
            out.push(format!("{at_}: no key"));
        }
        let dot11 = &v["dot11.device"];
        if !dot11.is_object() {
            out.push(format!("{at_}: no dot11.device"));
            continue;
        }
        let dot = |k: &str| dot11[format!("dot11.device.{k}")].clone();
        differ(
            &mut out,
            &at_,
            "last_bssid",
            dot("last_bssid"),
            mac_string(&d.last_bssid(mac).unwrap_or_default()).into(),
        );

        // Advertised SSIDs, by the SSID as shown.
        let mut got_ssids: BTreeMap<String, &Value> = BTreeMap::new();
        if let Some(a) = dot11["dot11.device.advertised_ssid_map"].as_array() {
            for s in a {
                let shown = s["dot11.advertisedssid.ssid"]
                    .as_str()
                    .unwrap_or("<none>")
                    .to_string();
                if got_ssids.insert(shown.clone(), s).is_some() {
                    out.push(format!("{at_}: advertised SSID {shown:?} twice"));
                }
            }
        } else if !d.ssids.is_empty() {
            out.push(format!("{at_}: no advertised_ssid_map"));
        }
        let want_ssids: BTreeMap<String, (&Vec<u8>, &Adv)> = d
            .ssids
            .iter()
            .map(|(raw, a)| (shown_ssid(raw), (raw, a)))
            .collect();
        let gk: BTreeSet<&String> = got_ssids.keys().collect();
        let wk: BTreeSet<&String> = want_ssids.keys().collect();
        if gk != wk {
            out.push(format!(
                "{at_}: advertised SSIDs {gk:?} vs reference {wk:?}"
            ));
        }
        for (shown, (raw, a)) in &want_ssids {
            let Some(&s) = got_ssids.get(shown) else {
                continue;
            };
            let ad = |k: &str| s[format!("dot11.advertisedssid.{k}")].clone();
            let w = format!("{at_} SSID {shown:?}");
            differ(&mut out, &w, "ssidlen", ad("ssidlen"), raw.len().into());
            differ(
                &mut out,
                &w,
                "cloaked",
                ad("cloaked"),
                u8::from(raw.is_empty()).into(),
            );
            differ(
                &mut out,
                &w,
                "channel",
                ad("channel"),
                a.channel.map_or(String::new(), |c| c.to_string()).into(),
            );
            differ(
                &mut out,
                &w,
                "beaconrate",
                ad("beaconrate"),
                a.beacon_interval.map_or(Value::Null, Value::from),
            );
            differ(
                &mut out,
                &w,
                "beacon",
                ad("beacon"),
                u8::from(a.beacon).into(),
            );
            differ(
                &mut out,
                &w,
                "probe_response",
                ad("probe_response"),
                u8::from(a.probe_response).into(),
            );
            let crypt = ad("crypt_string");
            let got_tokens = tokens_of(crypt.as_str().unwrap_or(""));
            differ(
                &mut out,
                &w,
                "crypt_string tokens",
                json!(got_tokens),
                json!(a.crypt.tokens),
            );
            differ(
                &mut out,
                &w,
                "crypt_set (without WPS)",
                ad("crypt_set")
                    .as_u64()
                    .map_or(Value::Null, |b| (b & !WPS_LEGACY).into()),
                a.crypt.legacy.into(),
            );
            differ(
                &mut out,
                &w,
                "wpa_mfp_supported",
                ad("wpa_mfp_supported"),
                u8::from(a.crypt.mfp.0).into(),
            );
            differ(
                &mut out,
                &w,
                "wpa_mfp_required",
                ad("wpa_mfp_required"),
                u8::from(a.crypt.mfp.1).into(),
            );
        }

        // Probed SSIDs.
        let got_probed: BTreeSet<String> = dot("probed_ssid_map")
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|p| {
                        p["dot11.probedssid.ssid"]
                            .as_str()
                            .unwrap_or("<none>")
                            .to_string()
                    })
                    .collect()
            })
            .unwrap_or_default();
        let want_probed: BTreeSet<String> = d.probed.iter().map(|s| shown_ssid(s)).collect();
        if got_probed != want_probed {
            out.push(format!(
                "{at_}: probed SSIDs {got_probed:?} vs reference {want_probed:?}"
            ));
        }

        // Clients, both directions.
        let keys = |val: Value| -> BTreeMap<String, Value> {
            val.as_object()
                .map(|o| o.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
                .unwrap_or_default()
        };
        let assoc = keys(dot("associated_client_map"));
        let want_assoc: BTreeMap<String, Value> = d
            .clients
            .iter()
            .map(|c| (mac_string(c), key_of(c).unwrap_or(Value::Null)))
            .collect();
        if assoc != want_assoc {
            out.push(format!(
                "{at_}: associated_client_map {assoc:?} vs reference {want_assoc:?}"
            ));
        }
        differ(
            &mut out,
            &at_,
            "num_associated_clients",
            dot("num_associated_clients"),
            d.clients.len().into(),
        );
        let client_map = keys(dot("client_map"));
        let got_aps: BTreeSet<String> = client_map.keys().cloned().collect();
        let want_aps: BTreeSet<String> = d.aps.iter().map(mac_string).collect();
        if got_aps != want_aps {
            out.push(format!(
                "{at_}: client_map {got_aps:?} vs reference {want_aps:?}"
            ));
        }
        for (ap, rec) in &client_map {
            if rec["dot11.client.bssid"] != ap.as_str() {
                out.push(format!(
                    "{at_}: client_map[{ap}] bssid {}",
                    rec["dot11.client.bssid"]
                ));
            }
        }
    }
    out
}

/// The records airsift prints for a capture.
fn airsift_devices(path: &Path) -> Result<Vec<Value>, String> {
    let out = Command::new(env!("CARGO_BIN_EXE_airsift"))
        .arg("devices")
        .arg(path)
        .output()
        .map_err(|e| format!("run airsift: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "airsift devices {} failed: {}",
            path.display(),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    match serde_json::from_slice(&out.stdout) {
        Ok(Value::Array(a)) => Ok(a),
        Ok(other) => Err(format!("not a JSON array: {}", &other.to_string()[..80])),
        Err(e) => Err(format!("not JSON: {e}")),
    }
}

fn captures() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(testdata().join("captures"))
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.ends_with(".pcap") || n.ends_with(".cap") || n.ends_with(".pcapng"))
        .collect();
    names.sort();
    names
}

#[test]
fn devices_agree_with_tshark_on_every_capture() {
    let names = captures();
    assert!(names.len() >= 36, "captures missing: {names:?}");
    let mut mismatches = Vec::new();
    let (mut frames, mut tracked, mut devices) = (0, 0, 0);
    for name in &names {
        let t = reference(name, &golden(name));
        frames += t.frames;
        tracked += t.tracked;
        devices += t.devices.len();
        match airsift_devices(&testdata().join("captures").join(name)) {
            Ok(got) => mismatches.extend(compare(name, &t.devices, &got)),
            Err(e) => mismatches.push(format!("{name}: {e}")),
        }
    }
    assert!(
        mismatches.is_empty(),
        "{} mismatches:\n{}",
        mismatches.len(),
        mismatches[..mismatches.len().min(60)].join("\n")
    );
    assert_eq!(
        (frames, tracked, devices),
        (88_795, 46_421, 107),
        "frames read, tracked; devices"
    );
}

// ---------------------------------------------------------------------------------------
// The reference and the comparison on their own
// ---------------------------------------------------------------------------------------

const HEADER: &str = "frame.number\tframe.len\tframe.cap_len\tradiotap.length\t\
radiotap.flags.fcs\tradiotap.flags.badfcs\tradiotap.dbm_antsignal\tradiotap.channel.freq\t\
wlan.fc.type\twlan.fc.subtype\twlan.fc.ds\twlan.fc.protected\twlan.ta\twlan.ra\t\
wlan.fixed.beacon\twlan.fixed.capabilities.ess\twlan.fixed.capabilities.ibss\t\
wlan.fixed.capabilities.privacy\twlan.tag.number\twlan.tag.length\twlan.ssid\t\
wlan.ds.current_channel\twlan.rsn.version\twlan.rsn.gcs.oui\twlan.rsn.gcs.type\t\
wlan.rsn.pcs.count\twlan.rsn.pcs.oui\twlan.rsn.pcs.type\twlan.rsn.akms.count\t\
wlan.rsn.akms.oui\twlan.rsn.akms.type\twlan.rsn.capabilities.mfpc\twlan.rsn.capabilities.mfpr";

const AP: &str = "02:00:00:00:00:0a";
const STA: &str = "02:00:00:00:00:0b";
const STA2: &str = "02:00:00:00:00:0c";
const BCAST: &str = "ff:ff:ff:ff:ff:ff";

/// A hand-made frame: (type, subtype, ds, protected, ta, ra, signal, other fields).
type HandFrame<'a> = (
    &'a str,
    &'a str,
    &'a str,
    &'a str,
    &'a str,
    &'a str,
    &'a str,
    &'a [(&'a str, &'a str)],
);

/// Golden rows of hand-made frames.
fn hand_rows(frames: &[HandFrame]) -> Vec<Row> {
    let header: Vec<&str> = HEADER.split('\t').collect();
    let mut text = format!("#{HEADER}\n");
    for (i, &(ty, st, ds, prot, ta, ra, sig, extra)) in frames.iter().enumerate() {
        let mut vals: HashMap<&str, String> = HashMap::new();
        vals.insert("frame.number", (i + 1).to_string());
        vals.insert("frame.len", "100".into());
        vals.insert("frame.cap_len", "100".into());
        vals.insert("radiotap.length", "20".into());
        vals.insert("radiotap.flags.fcs", "1".into());
        vals.insert("radiotap.flags.badfcs", "0".into());
        vals.insert("radiotap.dbm_antsignal", sig.into());
        vals.insert("radiotap.channel.freq", "2437".into());
        vals.insert("wlan.fc.type", ty.into());
        vals.insert("wlan.fc.subtype", st.into());
        vals.insert("wlan.fc.ds", ds.into());
        vals.insert("wlan.fc.protected", prot.into());
        vals.insert("wlan.ta", ta.into());
        vals.insert("wlan.ra", ra.into());
        for &(k, v) in extra {
            vals.insert(k, v.into());
        }
        let line: Vec<String> = header
            .iter()
            .map(|h| vals.get(h).cloned().unwrap_or_default())
            .collect();
        text += &line.join("\t");
        text += "\n";
    }
    parse_rows(&text)
}

/// Beacon body: 100 − 20 radiotap − 4 FCS − 24 header − 12 fixed = 40 bytes of elements.
const BEACON_RSN: &[(&str, &str)] = &[
    ("wlan.fixed.beacon", "100"),
    ("wlan.fixed.capabilities.ess", "1"),
    ("wlan.fixed.capabilities.ibss", "0"),
    ("wlan.fixed.capabilities.privacy", "1"),
    ("wlan.tag.number", "0|1|3|48"),
    ("wlan.tag.length", "4|7|1|20"),
    ("wlan.ssid", "6e657431"),
    ("wlan.ds.current_channel", "6"),
    ("wlan.rsn.version", "1"),
    ("wlan.rsn.gcs.oui", "4012"),
    ("wlan.rsn.gcs.type", "4"),
    ("wlan.rsn.pcs.count", "1"),
    ("wlan.rsn.pcs.oui", "4012"),
    ("wlan.rsn.pcs.type", "4"),
    ("wlan.rsn.akms.count", "1"),
    ("wlan.rsn.akms.oui", "4012"),
    ("wlan.rsn.akms.type", "2"),
    ("wlan.rsn.capabilities.mfpc", "1"),
    ("wlan.rsn.capabilities.mfpr", "0"),
];

fn hand_tracker() -> Tracker {
    let rows = hand_rows(&[
        ("0", "8", "0x00", "0", AP, BCAST, "-40", BEACON_RSN),
        // A probe request (body 52 bytes: SSID 8 + 40); the same, bad FCS.
        (
            "0",
            "4",
            "0x00",
            "0",
            STA,
            BCAST,
            "-60",
            &[
                ("wlan.tag.number", "0|1"),
                ("wlan.tag.length", "8|40"),
                ("wlan.ssid", "686f6d652d6e6574"),
            ],
        ),
        (
            "0",
            "4",
            "0x00",
            "0",
            STA,
            BCAST,
            "-10",
            &[
                ("radiotap.flags.badfcs", "1"),
                ("wlan.tag.number", "0"),
                ("wlan.tag.length", "3"),
                ("wlan.ssid", "626164"),
            ],
        ),
        // ToDS protected data STA → AP, FromDS data AP → STA2, an ACK (control: ignored).
        ("2", "8", "0x01", "1", STA, AP, "-55", &[]),
        ("2", "0", "0x02", "0", AP, STA2, "-42", &[]),
        ("1", "13", "0x00", "0", "", STA, "-1", &[]),
        // A probe response from the AP whose second element runs past the end.
        (
            "0",
            "5",
            "0x00",
            "0",
            AP,
            STA,
            "-41",
            &[
                ("wlan.fixed.beacon", "200"),
                ("wlan.fixed.capabilities.ess", "1"),
                ("wlan.fixed.capabilities.privacy", "0"),
                ("wlan.tag.number", "0|1"),
                ("wlan.tag.length", "0|99"),
                ("wlan.ssid", "<MISSING>"),
            ],
        ),
    ]);
    reference("hand-made", &rows)
}

#[test]
fn reference_tracks_hand_made_frames() {
    let t = hand_tracker();
    assert_eq!((t.frames, t.tracked), (7, 5));
    let [ap, sta, sta2] = [AP, STA, STA2].map(parse_mac);
    assert_eq!(t.devices.len(), 3);

    let a = &t.devices[&ap];
    assert_eq!(a.type_name(), "Wi-Fi AP");
    assert_eq!((a.tx, a.rx, a.data, a.crypt, a.error), (3, 1, 2, 1, 1));
    // 100 − 20 radiotap − 4 FCS, for each of the two data frames.
    assert_eq!(a.datasize, 152);
    assert_eq!(a.signal, Some((-41, -42, -40)));
    assert_eq!(a.freq_mhz, Some(2437));
    assert_eq!(a.clients, BTreeSet::from([sta, sta2]));
    assert_eq!(a.last_bssid(&ap), Some(ap));
    let net = &a.ssids[b"net1".as_slice()];
    assert_eq!(net.channel, Some(6));
    assert_eq!(net.beacon_interval, Some(100));
    assert!(net.beacon && !net.probe_response);
    let want: BTreeSet<String> = ["WPA2", "WPA2-PSK", "AES-CCMP"].map(String::from).into();
    assert_eq!(net.crypt.tokens, want);
    assert_eq!(net.crypt.mfp, (true, false));
    // WPA, PSK, AES_CCM, VERSION_WPA2: Kismet's crypt_set for [WPA2-PSK-CCMP].
    assert_eq!(net.crypt.legacy, 268_436_160);
    // The cloaked SSID of the probe response: open, channel from the radiotap frequency.
    let hidden = &a.ssids[b"".as_slice()];
    assert_eq!(hidden.channel, Some(6));
    assert!(hidden.probe_response && !hidden.beacon);
    assert_eq!(hidden.crypt.tokens, BTreeSet::from(["Open".to_string()]));
    assert_eq!(hidden.beacon_interval, Some(200));

    let s = &t.devices[&sta];
    assert_eq!(s.type_name(), "Wi-Fi Client");
    assert_eq!((s.tx, s.rx, s.data, s.crypt, s.error), (2, 1, 1, 1, 0));
    assert_eq!(
        s.signal,
        Some((-55, -60, -55)),
        "the bad-FCS frame is not tracked"
    );
    assert_eq!(s.probed, BTreeSet::from([b"home-net".to_vec()]));
    assert_eq!(s.aps, BTreeSet::from([ap]));
    assert_eq!(s.last_bssid(&sta), Some(ap));

    let s2 = &t.devices[&sta2];
    assert_eq!(s2.type_name(), "Wi-Fi Client");
    assert_eq!((s2.tx, s2.rx, s2.data, s2.datasize), (0, 1, 1, 76));
    assert_eq!(s2.signal, None);
    assert_eq!(s2.aps, BTreeSet::from([ap]));
}

#[test]
fn reference_roles_and_crypt_mapping() {
    // WDS, ad hoc data and an IBSS beacon.
    let rows = hand_rows(&[
        ("2", "0", "0x03", "0", AP, STA, "-50", &[]),
        ("2", "0", "0x00", "0", STA2, BCAST, "-50", &[]),
        (
            "0",
            "8",
            "0x00",
            "0",
            STA,
            BCAST,
            "-50",
            &[
                ("wlan.fixed.capabilities.ess", "0"),
                ("wlan.fixed.capabilities.ibss", "1"),
                ("wlan.tag.number", "0|1"),
                ("wlan.tag.length", "2|34"),
                ("wlan.ssid", "c65c"),
            ],
        ),
    ]);
    let t = reference("hand-made", &rows);
    let [ap, sta, sta2] = [AP, STA, STA2].map(parse_mac);
    assert_eq!(t.devices[&ap].type_name(), "Wi-Fi WDS");
    assert_eq!(t.devices[&sta].type_name(), "Wi-Fi Ad-Hoc");
    assert_eq!(t.devices[&sta2].type_name(), "Wi-Fi Ad-Hoc");
    assert_eq!(t.devices[&sta].last_bssid(&sta), None);
    // Not UTF-8, and a backslash.
    assert_eq!(shown_ssid(&[0xc6, b'\\']), "\\xC6\\\\");
    assert_eq!(shown_ssid(&[0, 0]), "\\x00\\x00");
    assert_eq!(shown_ssid("a\u{1}é".as_bytes()), "a\\x01é");

    let suite = |t: u64| (RSN_OUI, t);
    let rsn = |pcs: &[u64], akms: &[u64]| Suites {
        group: Some(suite(pcs[0])),
        pairwise: pcs.iter().map(|&t| suite(t)).collect(),
        akms: akms.iter().map(|&t| suite(t)).collect(),
        mfpc: false,
        mfpr: false,
    };
    let toks = |c: CryptSummary| c.tokens.into_iter().collect::<Vec<_>>().join(" ");
    assert_eq!(toks(crypt_summary(true, None, None)), "WEP");
    assert_eq!(toks(crypt_summary(false, None, None)), "Open");
    assert_eq!(
        toks(crypt_summary(true, Some(&rsn(&[4], &[8])), None)),
        "AES-CCMP WPA3 WPA3-SAE"
    );
    assert_eq!(
        toks(crypt_summary(true, Some(&rsn(&[4], &[2, 8])), None)),
        "AES-CCMP WPA2 WPA2-PSK WPA3 WPA3-SAE"
    );
    let wpa = Suites {
        group: Some((MS_OUI, 2)),
        pairwise: vec![(MS_OUI, 2)],
        akms: vec![(MS_OUI, 1)],
        ..Suites::default()
    };
    assert_eq!(
        toks(crypt_summary(true, Some(&rsn(&[2, 4], &[1])), Some(&wpa))),
        "AES-CCMP TKIP WPA WPA-EAP WPA2 WPA2-EAP"
    );
    // Kismet's crypt_set for [WPA-EAP-TKIP][WPA2-EAP-CCMP] without WPS: WPA, EAP, TKIP,
    // AES_CCM, VERSION_WPA, VERSION_WPA2.
    assert_eq!(
        crypt_summary(true, Some(&rsn(&[2, 4], &[1])), Some(&wpa)).legacy,
        (1 << 6) | (1 << 11) | (1 << 5) | (1 << 9) | (1 << 27) | (1 << 28)
    );
}

/// A record in airsift's shape built from the reference's own device, so the comparison can
/// be shown to pass on agreement and to fail on each kind of disagreement.
fn render(mac: &Mac, d: &Dev) -> Value {
    let mut base = Map::new();
    let mut put = |k: &str, v: Value| {
        base.insert(format!("kismet.device.base.{k}"), v);
    };
    put("macaddr", mac_string(mac).into());
    put("key", format!("key-{}", mac_string(mac)).into());
    put("type", d.type_name().into());
    put("packets.total", (d.tx + d.rx).into());
    put("packets.tx_total", d.tx.into());
    put("packets.rx_total", d.rx.into());
    put("packets.data", d.data.into());
    put("packets.crypt", d.crypt.into());
    put("packets.error", d.error.into());
    put("datasize", d.datasize.into());
    put("frequency", (d.freq_mhz.unwrap_or(0) * 1000).into());
    if let Some((l, lo, hi)) = d.signal {
        put(
            "signal",
            json!({
                "kismet.common.signal.last_signal": l,
                "kismet.common.signal.min_signal": lo,
                "kismet.common.signal.max_signal": hi,
            }),
        );
    }
    let ssids: Vec<Value> = d
        .ssids
        .iter()
        .map(|(raw, a)| {
            json!({
                "dot11.advertisedssid.ssid": shown_ssid(raw),
                "dot11.advertisedssid.ssidlen": raw.len(),
                "dot11.advertisedssid.cloaked": u8::from(raw.is_empty()),
                "dot11.advertisedssid.channel": a.channel.map_or(String::new(), |c| c.to_string()),
                "dot11.advertisedssid.beaconrate": a.beacon_interval,
                "dot11.advertisedssid.beacon": u8::from(a.beacon),
                "dot11.advertisedssid.probe_response": u8::from(a.probe_response),
                "dot11.advertisedssid.crypt_string":
                    a.crypt.tokens.iter().cloned().collect::<Vec<_>>().join(" ") + " WPS",
                "dot11.advertisedssid.crypt_set": a.crypt.legacy | WPS_LEGACY,
                "dot11.advertisedssid.wpa_mfp_supported": u8::from(a.crypt.mfp.0),
                "dot11.advertisedssid.wpa_mfp_required": u8::from(a.crypt.mfp.1),
            })
        })
        .collect();
    let assoc: Map<String, Value> = d
        .clients
        .iter()
        .map(|c| (mac_string(c), format!("key-{}", mac_string(c)).into()))
        .collect();
    let client_map: Map<String, Value> = d
        .aps
        .iter()
        .map(|a| {
            (
                mac_string(a),
                json!({ "dot11.client.bssid": mac_string(a) }),
            )
        })
        .collect();
    base.insert(
        "dot11.device".into(),
        json!({
            "dot11.device.advertised_ssid_map": ssids,
            "dot11.device.probed_ssid_map": d.probed.iter()
                .map(|s| json!({ "dot11.probedssid.ssid": shown_ssid(s) }))
                .collect::<Vec<_>>(),
            "dot11.device.associated_client_map": assoc,
            "dot11.device.num_associated_clients": d.clients.len(),
            "dot11.device.client_map": client_map,
            "dot11.device.last_bssid": mac_string(&d.last_bssid(mac).unwrap_or_default()),
        }),
    );
    Value::Object(base)
}

#[test]
fn comparison_catches_each_kind_of_disagreement() {
    // A real capture's reference devices, rendered, agree with themselves.
    let name = "rt_aircrack_wpa3-psk-sae.pcap";
    let t = reference(name, &golden(name));
    let records: Vec<Value> = t.devices.iter().map(|(m, d)| render(m, d)).collect();
    assert_eq!(compare(name, &t.devices, &records), Vec::<String>::new());
    let ap = t
        .devices
        .iter()
        .find(|(_, d)| d.type_name() == "Wi-Fi AP")
        .map(|(m, _)| mac_string(m))
        .expect("an AP");
    let ap_index = records
        .iter()
        .position(|r| base(r, "macaddr") == ap.as_str())
        .unwrap();
    let ssid_path = ["dot11.device", "dot11.device.advertised_ssid_map"];
    assert!(at(&records[ap_index], &ssid_path)[0].is_object());

    // Each edit of airsift's side must be caught.
    type Edit = Box<dyn Fn(&mut Vec<Value>)>;
    let i = ap_index;
    let edits: Vec<(&str, Edit)> = vec![
        (
            "tx count",
            Box::new(move |r| {
                let n = base(&r[i], "packets.tx_total").as_u64().unwrap();
                r[i]["kismet.device.base.packets.tx_total"] = (n + 1).into();
            }),
        ),
        (
            "type",
            Box::new(move |r| r[i]["kismet.device.base.type"] = "Wi-Fi Client".into()),
        ),
        (
            "a missing device",
            Box::new(|r| {
                r.pop();
            }),
        ),
        (
            "crypt",
            Box::new(move |r| {
                r[i]["dot11.device"]["dot11.device.advertised_ssid_map"][0]
                    ["dot11.advertisedssid.crypt_string"] = "WPA2 WPA2-PSK AES-CCMP".into();
            }),
        ),
        (
            "channel",
            Box::new(move |r| {
                r[i]["dot11.device"]["dot11.device.advertised_ssid_map"][0]
                    ["dot11.advertisedssid.channel"] = "11".into();
            }),
        ),
        (
            "a client",
            Box::new(move |r| {
                r[i]["dot11.device"]["dot11.device.associated_client_map"] = json!({});
            }),
        ),
        (
            "signal",
            Box::new(move |r| {
                r[i]["kismet.device.base.signal"]["kismet.common.signal.min_signal"] = (-99).into();
            }),
        ),
    ];
    for (what, edit) in edits {
        let mut wrong = records.clone();
        edit(&mut wrong);
        assert!(
            !compare(name, &t.devices, &wrong).is_empty(),
            "a wrong {what} went unnoticed"
        );
    }
    // And a wrong expectation on the reference's side.
    let mut devices = t.devices.clone();
    devices.values_mut().next().unwrap().datasize += 1;
    assert!(!compare(name, &devices, &records).is_empty());
}

#[test]
fn every_exception_names_a_frame_of_its_capture() {
    let names = captures();
    for (name, frames, ov, reason) in EXCEPTIONS {
        assert!(names.contains(&name.to_string()), "{name}");
        let rows = golden(name);
        for n in *frames {
            let f = Frame::from_row(&rows[*n as usize - 1]);
            assert_eq!(f.number, *n);
            if let Override::ElementsAre(_) = ov {
                assert_eq!(
                    f.elements_status(),
                    Elements::Unknown,
                    "{name} #{n}: tshark's list is complete, the exception is not needed \
                     ({reason})"
                );
            }
        }
    }
}

/// `DEVICES_ORACLE_DUMP=<capture> cargo test -p control --test devices_vs_tshark -- --ignored`
/// prints the reference's devices for one capture in the shape of airsift's records.
#[test]
#[ignore]
fn dump_reference() {
    let name = std::env::var("DEVICES_ORACLE_DUMP").expect("DEVICES_ORACLE_DUMP=<capture>");
    let t = reference(&name, &golden(&name));
    let records: Vec<Value> = t.devices.iter().map(|(m, d)| render(m, d)).collect();
    println!("{}", serde_json::to_string_pretty(&records).unwrap());
    println!("frames {}, tracked {}", t.frames, t.tracked);
}
