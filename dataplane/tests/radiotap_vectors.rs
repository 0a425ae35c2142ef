//! The radiotap-library's golden vectors (`check/*.bin` with the reference parser's `*.out`):
//! airsift's walker must find the same fields with the same values, skip vendor namespaces by
//! their declared length, and call the same headers malformed.
//!
//! Two deliberate differences, both following the current radiotap definition:
//! - the reference `parse` tool registers a test vendor namespace (OUI 00:00:00, sub 0) and
//!   prints its fields; airsift knows no vendor namespace, so it reports that namespace's data
//!   as one skipped block, whose bytes must equal the fields' bytes;
//! - `0fcs` is run with `--fcshdr`, an obsolete meaning of bit 14 (FCS in header); airsift reads
//!   bit 14 as RX flags, so that line is not compared.

use std::path::Path;

use dataplane::wire::radiotap::{field, Namespace, Radiotap};
use dataplane::wire::RadioInfo;

fn vectors() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/radiotap-vectors")
}

/// Renders a walk in the reference tool's output format.
fn render(bin: &[u8]) -> (Vec<String>, Vec<u8>, bool) {
    let rt = Radiotap::new(bin).expect("fixed part is valid in every vector");
    let mut lines = Vec::new();
    let mut vendor_bytes = Vec::new();
    let mut malformed = false;
    for f in rt.fields() {
        let f = match f {
            Ok(f) => f,
            Err(_) => {
                malformed = true;
                break;
            }
        };
        match (f.namespace, f.index) {
            (Namespace::Vendor { .. }, _) => vendor_bytes.extend_from_slice(f.data),
            (_, field::TSFT) => lines.push(format!(
                "TSFT: {}",
                u64::from_le_bytes(f.data.try_into().unwrap())
            )),
            (_, field::FLAGS) => lines.push(format!("flags: {:02x}", f.data[0])),
            (_, field::RATE) => lines.push(format!("rate: {:.6}", f.data[0] as f64 / 2.0)),
            (_, field::RX_FLAGS) => lines.push(format!(
                "RX flags: {:04x}",
                u16::from_le_bytes([f.data[0], f.data[1]])
            )),
            _ => {}
        }
    }
    (lines, vendor_bytes, malformed)
}

/// Parses the reference output into field lines, vendor bytes, and the malformed marker.
fn expected(out: &str) -> (Vec<String>, Vec<u8>, bool) {
    let mut lines = Vec::new();
    let mut vendor = Vec::new();
    let mut malformed = false;
    for l in out.lines() {
        let t = l.trim();
        if t == "malformed radiotap data" {
            malformed = true;
        } else if t.starts_with("vendor NS") || t.starts_with("FCS in header") {
        } else if l.starts_with("\t\t") {
            vendor.extend(t.split(' ').map(|h| u8::from_str_radix(h, 16).unwrap()));
        } else if let Some((_, v)) = t.split_once("|").filter(|_| t.starts_with("00:00:00-00")) {
            let v = v.split_once(": ").unwrap().1;
            vendor.extend(v.split('/').map(|h| u8::from_str_radix(h, 16).unwrap()));
        } else {
            lines.push(t.to_string());
        }
    }
    (lines, vendor, malformed)
}

#[test]
fn walker_matches_the_reference_parser() {
    let mut checked = 0;
    for entry in std::fs::read_dir(vectors()).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("bin") {
            continue;
        }
        let bin = std::fs::read(&path).unwrap();
        let out = std::fs::read_to_string(path.with_extension("out")).unwrap();
        let (mut lines, mut vendor, malformed) = render(&bin);
        if path.ends_with("0v0-2.bin") {
            // The registered test namespace announces none of its fields here, so the
            // reference prints nothing of it; airsift reports its 4 data bytes as skipped.
            assert_eq!(vendor, [0xff, 0xee, 0xdd, 0xcc]);
            vendor.clear();
        }
        if path.ends_with("0fcs.bin") {
            // Bit 14 read as RX flags (current meaning), where `--fcshdr` reads an FCS.
            assert_eq!(lines.pop().as_deref(), Some("RX flags: bbaa"));
        }
        assert_eq!(
            (lines, vendor, malformed),
            expected(&out),
            "vector {}",
            path.display()
        );
        checked += 1;
    }
    assert_eq!(checked, 10);
}

#[test]
fn first_occurrence_wins_and_vendor_data_is_skipped() {
    // 00.bin: TSFT in two radiotap namespaces; the first is the one reported.
    let bin = std::fs::read(vectors().join("00.bin")).unwrap();
    let (info, err) = RadioInfo::from_radiotap(Radiotap::new(&bin).unwrap().fields());
    assert_eq!(err, None);
    assert_eq!(info.tsft, Some(9833440827789222417));
    // unparsed-vendor.bin: the rate after the unknown vendor namespace is still found, but
    // the first rate (1 Mb/s) is the one reported.
    let bin = std::fs::read(vectors().join("unparsed-vendor.bin")).unwrap();
    let (info, err) = RadioInfo::from_radiotap(Radiotap::new(&bin).unwrap().fields());
    assert_eq!(err, None);
    assert_eq!(
        (info.rate_500kbps, info.flags, info.signal_dbm),
        (Some(2), Some(0x10), Some(-29))
    );
    assert!(info.fcs_at_end);
    assert_eq!(info.freq_mhz, Some(2462));
    // malformed-vendor.bin: the fields before the overrun are decoded, and the error is given.
    let bin = std::fs::read(vectors().join("malformed-vendor.bin")).unwrap();
    let (info, err) = RadioInfo::from_radiotap(Radiotap::new(&bin).unwrap().fields());
    assert!(err.is_some());
    assert_eq!(info.signal_dbm, Some(-29));
    assert!(Radiotap::new(&bin).unwrap().validate_flags().is_err());
}
