//! No input may panic the parsers: random bytes under every link type, random radiotap
//! headers built to reach deep into the walker, and every real capture's records with random
//! bytes changed and random lengths cut.

use std::path::Path;

use dataplane::capfile::CaptureFile;
use dataplane::filter::FilterTable;
use dataplane::verdict::judge;
use dataplane::wire::radiotap::Radiotap;
use dataplane::wire::{Frame, LayoutMemo, LinkType, RadioInfo};
use proptest::prelude::*;

const LINK_TYPES: [LinkType; 4] = [
    LinkType::Radiotap,
    LinkType::Ieee80211,
    LinkType::Ppi,
    LinkType::Prism,
];

/// Everything a driver can do with a record.
fn exercise(record: &[u8]) {
    let table = FilterTable::pass_all();
    for lt in LINK_TYPES {
        for complete in [true, false] {
            let _ = judge(&table, &mut LayoutMemo::default(), record, lt, complete);
            if let Ok(f) = Frame::parse_record(record, lt, complete) {
                let h = f.header();
                let _ = (f.addresses(), f.radio(), f.dot11(), f.capture_header());
                let _ = (h.subtype_name(), h.duration(), h.sequence_control());
                for n in 0..6 {
                    let _ = h.address(n);
                }
            }
        }
        let _ = RadioInfo::parse(record, lt);
    }
    if let Ok(rt) = Radiotap::new(record) {
        let _ = rt.fields().count();
        let _ = rt.validate_flags();
    }
}

/// A radiotap header with random presence words (namespace and extension bits included)
/// and random field bytes, followed by random frame bytes.
fn radiotap_like() -> impl Strategy<Value = Vec<u8>> {
    (
        prop::collection::vec(any::<u32>(), 1..5),
        prop::collection::vec(any::<u8>(), 0..80),
        any::<u16>(),
        prop::collection::vec(any::<u8>(), 0..40),
    )
        .prop_map(|(mut words, fields, len_noise, frame)| {
            let n = words.len();
            for (i, w) in words.iter_mut().enumerate() {
                if i + 1 < n {
                    *w |= 1 << 31;
                } else {
                    *w &= !(1 << 31);
                }
            }
            let natural = 4 + 4 * n + fields.len();
            // Usually the honest length, sometimes a wrong one.
            let len = if len_noise % 4 == 0 {
                len_noise as usize % 200
            } else {
                natural
            };
            let mut v = vec![0, 0];
            v.extend_from_slice(&(len as u16).to_le_bytes());
            for w in words {
                v.extend_from_slice(&w.to_le_bytes());
            }
            v.extend_from_slice(&fields);
            v.extend_from_slice(&frame);
            v
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(5_000))]

    #[test]
    fn random_bytes(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
        exercise(&bytes);
    }

    #[test]
    fn random_radiotap_headers(bytes in radiotap_like()) {
        exercise(&bytes);
    }

    /// The per-frame shortcut walk and the decoding walk must agree on every header.
    #[test]
    fn flag_walk_agrees_with_field_walk(bytes in radiotap_like()) {
        if let Ok(rt) = Radiotap::new(&bytes) {
            let mut by_fields = Ok(None);
            for f in rt.fields() {
                match f {
                    Ok(f) => {
                        if f.is_radiotap(1) && matches!(by_fields, Ok(None)) {
                            by_fields = Ok(Some(f.data[0]));
                        }
                    }
                    Err(e) => {
                        by_fields = Err(e);
                        break;
                    }
                }
            }
            prop_assert_eq!(rt.validate_flags(), by_fields);
        }
    }

    /// Remembering layouts never changes a result: a memo shared across a stream of headers
    /// (repeats, near-repeats with other lengths, and strangers) answers like the plain walk.
    #[test]
    fn memo_never_changes_a_result(headers in prop::collection::vec(radiotap_like(), 1..12), order in prop::collection::vec(any::<u8>(), 1..40)) {
        let mut memo = LayoutMemo::default();
        for i in order {
            let mut h = headers[i as usize % headers.len()].clone();
            if i % 5 == 0 && h.len() > 4 {
                // Same presence chain, shorter declared length: must still overrun alike.
                let len = u16::from_le_bytes([h[2], h[3]]).saturating_sub(i as u16 % 9);
                h[2..4].copy_from_slice(&len.to_le_bytes());
            }
            if let Ok(rt) = Radiotap::new(&h) {
                let ok = rt.validate_flags_memo(&mut memo);
                prop_assert_eq!(ok.map(|(flags, _)| flags), rt.validate_flags());
                // The signal and frequency read at remembered offsets are the decoder's.
                if let Some((signal, freq)) = ok.ok().and_then(|(_, at)| at.read(&h)) {
                    let full = RadioInfo::from_radiotap(rt.fields()).0;
                    prop_assert_eq!(signal, full.signal_dbm);
                    prop_assert_eq!(freq, full.freq_mhz.filter(|&f| f != 0));
                }
            }
        }
    }
}

#[test]
fn mutated_real_records() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/captures");
    let mut seed = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let mut records = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "md") {
            continue;
        }
        let cap = CaptureFile::open(&path).unwrap();
        // At most 200 records per file keeps this fast on the big captures.
        for r in cap.records().take(300).flatten() {
            records += 1;
            exercise(r.data);
            let mut m = r.data.to_vec();
            for _ in 0..8 {
                if m.is_empty() {
                    break;
                }
                let i = next() as usize % m.len();
                m[i] = next() as u8;
                exercise(&m);
                exercise(&m[..next() as usize % (m.len() + 1)]);
            }
        }
    }
    assert!(records > 1800, "{records}");
}

/// A frame's signal and frequency read at the offsets its parse located are what decoding the
/// capture header gives, for every record of every capture (radiotap, PPI, plain 802.11,
/// Prism), with one layout memo shared across them all as a worker shares it.
#[test]
fn located_signal_and_frequency_are_the_decoders() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/captures");
    let mut memo = LayoutMemo::default();
    let mut checked = 0;
    let mut paths: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e != "md"))
        .collect();
    paths.sort();
    for path in paths {
        let cap = dataplane::capfile::CaptureFile::open(&path).unwrap();
        for r in cap.records().flatten() {
            let Some(lt) = LinkType::from_dlt(r.linktype) else {
                continue;
            };
            let complete = r.orig_len as usize == r.data.len();
            if let Ok(f) = Frame::parse_with(r.data, lt, complete, &mut memo) {
                let radio = f.radio();
                assert_eq!(
                    f.signal_freq(),
                    (radio.signal_dbm, radio.freq_mhz.filter(|&f| f != 0)),
                    "{} record {lt:?}",
                    path.display()
                );
                checked += 1;
            }
        }
    }
    assert!(checked > 1000, "{checked}");
}
