//! The capture-file readers against real captures, and the pcapng writer against the readers.
//!
//! Every record of every capture in `testdata/captures/` is compared with what tshark saw in
//! it: the golden files in `testdata/golden/capfile/` are the unedited output of
//! `tshark -r F -T fields -e frame.number -e frame.time_epoch -e frame.len -e frame.cap_len`
//! (TShark 4.0.17), generated once because tshark is not available when the tests run.
//! The fuzz tests then check that no damage to those files, or random bytes, makes the
//! reader panic, loop or yield anything after an error.

use dataplane::capfile::{CapError, CaptureFile, Format, Record};
use dataplane::sink::PcapngWriter;
use proptest::prelude::*;
use std::path::PathBuf;

const CAPTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../testdata/captures/");
const GOLDEN: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../testdata/golden/capfile/");

const PCAP_LE_US: Format = Format::Pcap {
    nanos: false,
    big_endian: false,
};

fn capture_path(name: &str) -> PathBuf {
    PathBuf::from(CAPTURES).join(name)
}

fn capture_bytes(name: &str) -> Vec<u8> {
    std::fs::read(capture_path(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// One line of tshark output.
#[derive(Debug)]
struct Golden {
    number: u64,
    ts_ns: u64,
    len: u32,
    cap_len: usize,
}

/// `1620678872.227444202` → nanoseconds, exactly (no floating point).
fn epoch_to_ns(s: &str) -> u64 {
    let (secs, frac) = s.split_once('.').unwrap_or((s, ""));
    assert!(frac.len() <= 9, "{s}");
    let frac_ns: u64 = format!("{frac:0<9}").parse().unwrap();
    secs.parse::<u64>().unwrap() * 1_000_000_000 + frac_ns
}

fn golden(name: &str) -> Vec<Golden> {
    let path = PathBuf::from(GOLDEN).join(format!("{name}.tsv"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
    text.lines()
        .map(|line| {
            let f: Vec<&str> = line.split('\t').collect();
            assert_eq!(f.len(), 4, "{name}: {line:?}");
            Golden {
                number: f[0].parse().unwrap(),
                ts_ns: epoch_to_ns(f[1]),
                len: f[2].parse().unwrap(),
                cap_len: f[3].parse().unwrap(),
            }
        })
        .collect()
}

/// How reading a capture must end.
#[derive(Debug)]
enum End {
    Clean,
    Error(CapError),
}

/// Reads `name` through `CaptureFile::open` (so through the memory map) and compares it with
/// the golden file and the expectations. Returns the file for further checks.
fn check(name: &str, format: Format, count: usize, linktype: u32, end: End) -> CaptureFile {
    let cap = CaptureFile::open(&capture_path(name)).unwrap();
    assert_eq!(cap.format(), format, "{name}");
    let gold = golden(name);
    assert_eq!(gold.len(), count, "{name}: golden file");

    let mut records = cap.records();
    let mut n = 0usize;
    let mut error = None;
    for item in records.by_ref() {
        match item {
            Ok(rec) => {
                let g = gold
                    .get(n)
                    .unwrap_or_else(|| panic!("{name}: more records than tshark's {count}"));
                assert_eq!(g.number, n as u64 + 1, "{name}");
                assert_eq!(
                    rec.data.len(),
                    g.cap_len,
                    "{name} frame {}: cap_len",
                    g.number
                );
                assert_eq!(rec.orig_len, g.len, "{name} frame {}: len", g.number);
                assert_eq!(rec.ts_ns, Some(g.ts_ns), "{name} frame {}: time", g.number);
                assert_eq!(rec.linktype, linktype, "{name} frame {}", g.number);
                n += 1;
            }
            Err(e) => error = Some(e),
        }
    }
    let consumed = records.bytes_consumed();
    assert_eq!(n, count, "{name}: record count");
    match end {
        End::Clean => {
            assert_eq!(error, None, "{name}");
            assert_eq!(consumed, cap.len(), "{name}: bytes_consumed at the end");
        }
        End::Error(want) => assert_eq!(error, Some(want), "{name}"),
    }
    assert!(records.next().is_none(), "{name}: fused");
    cap
}

#[test]
fn big_endian_pcap() {
    let cap = check(
        "rt_wltrace_trace-bigendian-5ghz.pcap",
        Format::Pcap {
            nanos: false,
            big_endian: true,
        },
        318,
        127,
        End::Clean,
    );
    let ifs = cap.interfaces();
    assert_eq!(ifs.len(), 1);
    assert_eq!(
        (ifs[0].linktype, ifs[0].snaplen, &ifs[0].name),
        (127, 65535, &None)
    );
}

#[test]
fn pcapng_with_nanosecond_timestamps() {
    let cap = check(
        "rt_fragattacks_ping-I-F-BE-AE-fromap.pcapng",
        Format::PcapNg,
        187,
        127,
        End::Clean,
    );
    let ifs = cap.interfaces();
    assert_eq!(ifs.len(), 1);
    assert_eq!(ifs[0].name.as_deref(), Some("monwlan1"));
    assert_eq!(
        (ifs[0].linktype, ifs[0].tsresol, ifs[0].section),
        (127, 9, 0)
    );
    assert!(cap.records().all(|r| r.unwrap().interface == 0));
}

#[test]
fn pcapng_single_beacon() {
    let cap = check(
        "rt_wlanpi_0xc6-ssid-beacon.pcapng",
        Format::PcapNg,
        1,
        127,
        End::Clean,
    );
    let ifs = cap.interfaces();
    assert_eq!(ifs.len(), 1);
    assert_eq!(ifs[0].name.as_deref(), Some("cm4emmc:wlan1"));
    assert_eq!((ifs[0].snaplen, ifs[0].tsresol), (65535, 6));
}

#[test]
fn radiotap_with_fcs() {
    check(
        "rt_aircrack_test1_multins-fcs.pcap",
        PCAP_LE_US,
        192,
        127,
        End::Clean,
    );
}

#[test]
fn cut_short_capture_yields_every_complete_record_then_truncated() {
    // tshark reads 20,056 frames and reports the file "cut short in the middle of a
    // packet"; walking the record headers shows the cut record starts at byte 1,432,616
    // (its header declares 411 bytes, 179 remain).
    let cap = check(
        "80211_aircrack_pmkid-not-recognized.cap",
        PCAP_LE_US,
        20_056,
        105,
        End::Error(CapError::Truncated {
            offset: 1_432_616,
            record: 20_056,
        }),
    );
    let mut it = cap.records();
    it.by_ref().for_each(drop);
    assert_eq!(it.bytes_consumed(), 1_432_616);
    assert_eq!(cap.len(), 1_432_811);
}

#[test]
fn linktype_upper_bits_are_masked() {
    // The file header's link-type field is 0x3000007f.
    let raw = capture_bytes("rt_tcpdump_radiotap-heapoverflow.pcap");
    assert_eq!(&raw[20..24], &[0x7f, 0, 0, 0x30]);
    let cap = check(
        "rt_tcpdump_radiotap-heapoverflow.pcap",
        PCAP_LE_US,
        1,
        127,
        End::Clean,
    );
    assert_eq!(cap.interfaces()[0].linktype, 127);
    assert_eq!(cap.interfaces()[0].snaplen, 8);
}

#[test]
fn caplen_larger_than_snaplen_is_read() {
    let cap = check(
        "rt_tcpdump_meshhdr-oobr.pcap",
        PCAP_LE_US,
        1,
        127,
        End::Clean,
    );
    assert_eq!(cap.interfaces()[0].snaplen, 26);
    assert_eq!(cap.records().next().unwrap().unwrap().data.len(), 86);
}

#[test]
fn prism_record_shorter_than_its_header() {
    check(
        "prism_aircrack_wpaclean-crash.pcap",
        PCAP_LE_US,
        1,
        119,
        End::Clean,
    );
}

#[test]
fn ppi() {
    check("ppi_libpcap_http.pcap", PCAP_LE_US, 5, 192, End::Clean);
}

#[test]
fn timestamps_going_backwards() {
    let cap = check(
        "80211_aircrack_3-cfpoll-4addr-timeback.pcap",
        PCAP_LE_US,
        3,
        105,
        End::Clean,
    );
    let ts: Vec<u64> = cap.records().map(|r| r.unwrap().ts_ns.unwrap()).collect();
    assert_eq!(ts[0] - ts[1], 8192 * 1_000_000_000);
}

const ALL: [&str; 10] = [
    "rt_wltrace_trace-bigendian-5ghz.pcap",
    "rt_fragattacks_ping-I-F-BE-AE-fromap.pcapng",
    "rt_wlanpi_0xc6-ssid-beacon.pcapng",
    "rt_aircrack_test1_multins-fcs.pcap",
    "80211_aircrack_pmkid-not-recognized.cap",
    "rt_tcpdump_radiotap-heapoverflow.pcap",
    "rt_tcpdump_meshhdr-oobr.pcap",
    "prism_aircrack_wpaclean-crash.pcap",
    "ppi_libpcap_http.pcap",
    "80211_aircrack_3-cfpoll-4addr-timeback.pcap",
];

/// Every file's complete records, written through `PcapngWriter` and read back, are
/// unchanged: data, timestamp, original length and link type.
#[test]
fn pcapng_writer_round_trip() {
    for name in ALL {
        let cap = CaptureFile::from_bytes(capture_bytes(name)).unwrap();
        let original: Vec<Record<'_>> = cap.records().map_while(Result::ok).collect();
        assert!(!original.is_empty(), "{name}");

        let mut w = PcapngWriter::new(Vec::new(), "airsift capfile test").unwrap();
        for iface in cap.interfaces() {
            w.add_interface(iface.linktype, iface.snaplen, iface.name.as_deref())
                .unwrap();
        }
        for rec in &original {
            w.write_packet(rec.interface, rec.ts_ns.unwrap(), rec.data, rec.orig_len)
                .unwrap();
        }
        let written = w.bytes_written();
        let bytes = w.into_inner();
        assert_eq!(written, bytes.len() as u64);

        let back = CaptureFile::from_bytes(bytes).unwrap();
        assert_eq!(back.format(), Format::PcapNg);
        let copy: Vec<Record<'_>> = back.records().collect::<Result<_, _>>().unwrap();
        assert_eq!(copy.len(), original.len(), "{name}");
        for (i, (a, b)) in original.iter().zip(&copy).enumerate() {
            assert_eq!(a.data, b.data, "{name} record {i}");
            assert_eq!(a.ts_ns, b.ts_ns, "{name} record {i}");
            assert_eq!(a.orig_len, b.orig_len, "{name} record {i}");
            assert_eq!(a.linktype, b.linktype, "{name} record {i}");
            assert_eq!(a.interface, b.interface, "{name} record {i}");
        }
        let names: Vec<_> = back.interfaces().into_iter().map(|i| i.name).collect();
        let orig_names: Vec<_> = cap.interfaces().into_iter().map(|i| i.name).collect();
        assert_eq!(names, orig_names, "{name}");
    }
}

/// What `drain` saw: (captured length, orig_len, ts_ns) per record, and the error if any.
type Drained = (Vec<(usize, u32, Option<u64>)>, Option<CapError>);

/// Drains a reader over arbitrary bytes, checking the iterator's contract: `Ok`s, at most
/// one `Err`, then `None` for good, with progress on every step. `None` when the bytes are
/// not even accepted as a capture file.
fn drain(bytes: Vec<u8>) -> Option<Drained> {
    let len = bytes.len();
    let cap = CaptureFile::from_bytes(bytes).ok()?;
    let mut it = cap.records();
    let mut recs = Vec::new();
    let mut err = None;
    let mut prev = it.bytes_consumed();
    // Every record needs at least 12 bytes, so this bounds a correct iterator.
    for _ in 0..=len / 12 + 1 {
        match it.next() {
            Some(Ok(r)) => {
                let now = it.bytes_consumed();
                assert!(
                    now > prev && now <= len,
                    "no progress: {prev} -> {now} of {len}"
                );
                prev = now;
                assert!(r.data.len() <= len);
                recs.push((r.data.len(), r.orig_len, r.ts_ns));
            }
            Some(Err(e)) => {
                assert!(!e.to_string().is_empty());
                err = Some(e);
                break;
            }
            None => break,
        }
    }
    assert!(it.next().is_none(), "records after the end or the error");
    assert!(it.next().is_none());
    let _ = cap.interfaces();
    Some((recs, err))
}

/// Cutting a capture anywhere yields exactly the records that end before the cut, then a
/// clean end (cut on a record boundary) or `Truncated` (cut inside a record).
fn check_every_cut(name: &str, cuts: impl Iterator<Item = usize>) {
    let full = capture_bytes(name);
    let (all, end) = drain(full.clone()).unwrap();
    // The end offset of each complete record, from a walk over the full file.
    let mut ends = Vec::new();
    {
        let cap = CaptureFile::from_bytes(full.clone()).unwrap();
        let mut it = cap.records();
        while let Some(Ok(_)) = it.next() {
            ends.push(it.bytes_consumed());
        }
    }
    let header_len = match CaptureFile::from_bytes(full.clone()).unwrap().format() {
        Format::Pcap { .. } => 24,
        Format::PcapNg => 0,
    };
    for cut in cuts {
        let Some((recs, err)) = drain(full[..cut].to_vec()) else {
            assert!(cut < header_len.max(4), "{name}: cut at {cut} rejected");
            continue;
        };
        let complete = ends.iter().take_while(|&&e| e <= cut).count();
        assert_eq!(recs[..], all[..complete], "{name}: cut at {cut}");
        if cut == full.len() {
            assert_eq!(err, end, "{name}");
        } else if cut == header_len || ends.contains(&cut) {
            assert_eq!(err, None, "{name}: cut at {cut}");
        } else if let Some(CapError::Truncated { record, .. }) = err {
            assert_eq!(record as usize, complete, "{name}: cut at {cut}");
        } else {
            // Cutting between two pcapng blocks that carry no packet is a clean end too.
            assert!(
                header_len == 0 && err.is_none(),
                "{name}: cut at {cut}: {err:?}"
            );
        }
    }
}

#[test]
fn every_truncation_of_the_real_files() {
    for name in ALL {
        if name.starts_with("80211_aircrack_pmkid") {
            continue;
        }
        let len = capture_bytes(name).len();
        check_every_cut(name, 0..=len);
    }
}

#[test]
fn truncations_of_the_large_file() {
    let name = "80211_aircrack_pmkid-not-recognized.cap";
    let len = capture_bytes(name).len();
    // The first records, the last ones, and a spread in between.
    let cuts = (0..300)
        .chain(len - 450..=len)
        .chain((0..len).step_by(7919));
    check_every_cut(name, cuts);
}

#[test]
fn every_single_byte_damage_to_the_small_files() {
    for name in ALL {
        let full = capture_bytes(name);
        if full.len() > 1024 {
            continue;
        }
        for at in 0..full.len() {
            for value in [0x00, 0xff, 0x7f, 0x80, full[at] ^ 0x01, full[at] ^ 0x10] {
                let mut f = full.clone();
                f[at] = value;
                let _ = drain(f);
            }
        }
    }
}

fn magic_prefix() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        Just(vec![0xd4, 0xc3, 0xb2, 0xa1]),
        Just(vec![0xa1, 0xb2, 0xc3, 0xd4]),
        Just(vec![0x4d, 0x3c, 0xb2, 0xa1]),
        Just(vec![0xa1, 0xb2, 0x3c, 0x4d]),
        Just(vec![0x0a, 0x0d, 0x0d, 0x0a]),
        // A pcapng start with a valid byte-order magic, either order.
        Just(vec![
            0x0a, 0x0d, 0x0d, 0x0a, 0x1c, 0, 0, 0, 0x4d, 0x3c, 0x2b, 0x1a
        ]),
        Just(vec![
            0x0a, 0x0d, 0x0d, 0x0a, 0, 0, 0, 0x1c, 0x1a, 0x2b, 0x3c, 0x4d
        ]),
        Just(vec![]),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1500))]

    #[test]
    fn random_bytes_never_panic(prefix in magic_prefix(), body in proptest::collection::vec(any::<u8>(), 0..600)) {
        let mut bytes = prefix;
        bytes.extend_from_slice(&body);
        let _ = drain(bytes);
    }

    #[test]
    fn random_damage_to_real_files_never_panics(
        file in 0..ALL.len(),
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..12),
        cut in any::<prop::sample::Index>(),
        do_cut in any::<bool>(),
    ) {
        let mut f = capture_bytes(ALL[file]);
        if f.len() > 64 * 1024 {
            // Keep the case fast: a 64 KiB prefix of the large file still has ~900 records.
            f.truncate(64 * 1024);
        }
        for (at, value) in edits {
            let i = at.index(f.len());
            f[i] = value;
        }
        if do_cut {
            let n = cut.index(f.len() + 1);
            f.truncate(n);
        }
        let _ = drain(f);
    }
}
