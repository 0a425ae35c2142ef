//! No management body may panic the element parsers, and what they find in real captures is
//! what tshark finds: every management frame of every capture under `testdata/captures`, read
//! as it is, with random bytes changed, flipped, inserted, removed and cut.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use dataplane::capfile::CaptureFile;
use dataplane::wire::ie::{
    id, Akms, Ciphers, ElementLayouts, Elements, IeError, Mgmt, Rsn, WPA_OUI_TYPE,
};
use dataplane::wire::{Frame, FrameKind, LinkType};
use proptest::prelude::*;

fn captures() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/captures");
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e != "md"))
        .collect();
    paths.sort();
    paths
}

/// Calls `f(subtype, body)` for each management frame of a capture that reads as a frame.
fn for_each_mgmt(path: &Path, mut f: impl FnMut(u8, &[u8])) {
    let cap = CaptureFile::open(path).unwrap();
    for r in cap.records().flatten() {
        let Some(lt) = LinkType::from_dlt(r.linktype) else {
            continue;
        };
        let complete = r.orig_len as usize == r.data.len();
        if let Ok(frame) = Frame::parse_record(r.data, lt, complete) {
            let h = frame.header();
            if h.kind() == FrameKind::Management {
                f(h.subtype(), h.body());
            }
        }
    }
}

/// Distinct (subtype, body) of every management frame in the captures.
fn corpus() -> &'static [(u8, Vec<u8>)] {
    static CORPUS: OnceLock<Vec<(u8, Vec<u8>)>> = OnceLock::new();
    CORPUS.get_or_init(|| {
        let mut seen = HashSet::new();
        for path in captures() {
            for_each_mgmt(&path, |st, body| {
                seen.insert((st, body.to_vec()));
            });
        }
        let mut v: Vec<_> = seen.into_iter().collect();
        v.sort();
        v
    })
}

fn within(part: &[u8], whole: &[u8]) -> bool {
    let (p, w) = (part.as_ptr_range(), whole.as_ptr_range());
    w.start <= p.start && p.end <= w.end
}

/// Everything a caller can do with a body, and what must hold of the answers: slices inside
/// the body, and [`Mgmt::parse`]'s one pass agreeing with a plain [`Elements`] walk.
fn exercise(subtype: u8, body: &[u8]) {
    for st in [subtype, 0, 1, 2, 3, 4, 5, 8] {
        let Ok(m) = Mgmt::parse(st, body) else {
            continue;
        };
        assert!(within(m.fixed(), body));
        for part in [m.ssid(), m.rsn(), m.wpa()].into_iter().flatten() {
            assert!(within(part, body));
        }
        let _ = (m.capability(), m.beacon_interval(), m.timestamp());
        let _ = (m.listen_interval(), m.status(), m.aid(), m.current_ap());
        let mut walk = m.elements();
        let (mut ssid, mut rsn, mut wpa, mut ds) = (None, None, None, None);
        for (id, data) in walk.by_ref() {
            assert!(within(data, body));
            match id {
                id::SSID => ssid = ssid.or(Some(data)),
                id::RSN => rsn = rsn.or(Some(data)),
                id::DS_PARAMS => ds = ds.or(data.first().copied()),
                id::VENDOR if data.starts_with(&WPA_OUI_TYPE) => wpa = wpa.or(Some(&data[4..])),
                _ => {}
            }
        }
        assert_eq!(m.malformed(), walk.malformed());
        assert_eq!(m.error().is_some(), m.malformed());
        assert_eq!(
            (m.ssid(), m.rsn(), m.wpa(), m.ds_channel()),
            (ssid, rsn, wpa, ds)
        );
        if let Some(r) = m.rsn().map(Rsn::parse).and_then(Result::ok) {
            assert!(r.parts() <= 4 && !r.is_wpa());
        }
        if let Some(r) = m.wpa().map(Rsn::parse_wpa).and_then(Result::ok) {
            assert!(r.parts() <= 3 && r.is_wpa() && r.capabilities().is_none());
        }
    }
    // The RSN decoder on anything: the body itself and every element in it.
    let _ = (Rsn::parse(body), Rsn::parse_wpa(body));
    for (_, data) in Elements::new(body) {
        assert!(within(data, body));
        let _ = (Rsn::parse(data), Rsn::parse_wpa(data));
    }
}

/// Everything a parse answered, comparable.
type Summary<'a> = Result<
    (
        &'a [u8],
        Option<&'a [u8]>,
        Option<&'a [u8]>,
        Option<&'a [u8]>,
        Option<u8>,
        Option<IeError>,
    ),
    IeError,
>;

fn summary(m: Result<Mgmt<'_>, IeError>) -> Summary<'_> {
    m.map(|m| {
        (
            m.fixed(),
            m.ssid(),
            m.rsn(),
            m.wpa(),
            m.ds_channel(),
            m.error(),
        )
    })
}

fn named_ciphers() -> Ciphers {
    [
        Ciphers::USE_GROUP,
        Ciphers::WEP40,
        Ciphers::TKIP,
        Ciphers::CCMP128,
        Ciphers::WEP104,
        Ciphers::BIP_CMAC128,
        Ciphers::GCMP128,
        Ciphers::GCMP256,
        Ciphers::CCMP256,
        Ciphers::BIP_GMAC128,
        Ciphers::BIP_GMAC256,
        Ciphers::BIP_CMAC256,
    ]
    .into_iter()
    .fold(Ciphers::EMPTY, |a, c| a | c)
}

fn named_akms() -> Akms {
    [
        Akms::IEEE8021X,
        Akms::PSK,
        Akms::FT_IEEE8021X,
        Akms::FT_PSK,
        Akms::IEEE8021X_SHA256,
        Akms::PSK_SHA256,
        Akms::SAE,
        Akms::FT_SAE,
        Akms::SUITE_B,
        Akms::SUITE_B_192,
        Akms::FT_IEEE8021X_SHA384,
        Akms::FILS_SHA256,
        Akms::FILS_SHA384,
        Akms::FT_FILS_SHA256,
        Akms::FT_FILS_SHA384,
        Akms::OWE,
        Akms::FT_PSK_SHA384,
        Akms::PSK_SHA384,
        Akms::SAE_EXT_KEY,
        Akms::FT_SAE_EXT_KEY,
        Akms::DPP,
    ]
    .into_iter()
    .fold(Akms::EMPTY, |a, k| a | k)
}

/// One change to a body.
#[derive(Clone, Debug)]
enum Edit {
    Set(prop::sample::Index, u8),
    Flip(prop::sample::Index, u8),
    Insert(prop::sample::Index, u8),
    Remove(prop::sample::Index),
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        (any::<prop::sample::Index>(), any::<u8>()).prop_map(|(i, b)| Edit::Set(i, b)),
        (any::<prop::sample::Index>(), 0u8..8).prop_map(|(i, b)| Edit::Flip(i, b)),
        (any::<prop::sample::Index>(), any::<u8>()).prop_map(|(i, b)| Edit::Insert(i, b)),
        any::<prop::sample::Index>().prop_map(Edit::Remove),
    ]
}

fn apply(body: &mut Vec<u8>, e: &Edit) {
    match e {
        Edit::Insert(i, b) => body.insert(i.index(body.len() + 1), *b),
        _ if body.is_empty() => {}
        Edit::Set(i, b) => {
            let at = i.index(body.len());
            body[at] = *b;
        }
        Edit::Flip(i, bit) => {
            let at = i.index(body.len());
            body[at] ^= 1 << bit;
        }
        Edit::Remove(i) => {
            body.remove(i.index(body.len()));
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(5_000))]

    /// A real body, edited, cut, and read as its own subtype or any other.
    #[test]
    fn mutated_real_bodies(
        pick in any::<prop::sample::Index>(),
        edits in prop::collection::vec(edit(), 0..8),
        cut in any::<prop::sample::Index>(),
        uncut in any::<bool>(),
        subtype in prop_oneof![Just(None), (0u8..16).prop_map(Some)],
    ) {
        let (st, body) = &corpus()[pick.index(corpus().len())];
        let mut body = body.clone();
        for e in &edits {
            apply(&mut body, e);
        }
        if !uncut {
            body.truncate(cut.index(body.len() + 1));
        }
        exercise(subtype.unwrap_or(*st), &body);
    }

    /// Remembering element layouts never changes a result: senders repeat real bodies with
    /// a few bytes changed (values or headers, lengths kept or not), their frames
    /// interleaved, and a shared [`ElementLayouts`] answers like [`Mgmt::parse`] every time.
    #[test]
    fn layouts_never_change_a_result(
        bases in prop::collection::vec((any::<prop::sample::Index>(), prop_oneof![Just(None), (0u8..9).prop_map(Some)]), 1..5),
        stream in prop::collection::vec((any::<prop::sample::Index>(), prop::collection::vec(edit(), 0..3)), 1..60),
    ) {
        let mut layouts = ElementLayouts::default();
        for (who, edits) in &stream {
            let sender = who.index(bases.len());
            let (pick, subtype) = &bases[sender];
            let (st, body) = &corpus()[pick.index(corpus().len())];
            let st = subtype.unwrap_or(*st);
            let mut body = body.clone();
            for e in edits {
                apply(&mut body, e);
            }
            let seen = summary(layouts.parse(sender as u64 * 0x1_0001, st, &body));
            prop_assert_eq!(seen, summary(Mgmt::parse(st, &body)));
        }
    }

    /// RSN and WPA bodies built to get past the version and counts, then edited.
    #[test]
    fn rsn_like_bodies(
        counts in (0u16..4, 0u16..4),
        suites in prop::collection::vec((
            prop_oneof![Just([0x00, 0x0F, 0xAC]), Just([0x00, 0x50, 0xF2]), Just([0x50, 0x6F, 0x9A])],
            prop_oneof![0u8..32, any::<u8>()],
        ), 0..10),
        tail in prop::collection::vec(any::<u8>(), 0..6),
        edits in prop::collection::vec(edit(), 0..3),
    ) {
        let mut b = vec![1, 0];
        let mut suites = suites.into_iter().map(|(oui, t)| [oui[0], oui[1], oui[2], t]);
        b.extend(suites.next().unwrap_or([0, 0x0F, 0xAC, 4]));
        for n in [counts.0, counts.1] {
            b.extend(n.to_le_bytes());
            for s in suites.by_ref().take(n as usize) {
                b.extend(s);
            }
        }
        b.extend(tail);
        for e in &edits {
            apply(&mut b, e);
        }
        for r in [Rsn::parse(&b), Rsn::parse_wpa(&b)].into_iter().flatten() {
            // Unknown suites leave nothing behind: every bit is a named suite.
            prop_assert!(r.parts() <= 4);
            prop_assert!(r.group().bits().count_ones() <= 1);
            prop_assert!(named_ciphers().contains(r.group() | r.pairwise()));
            prop_assert!(named_akms().contains(r.akms()));
            let _ = (r.mfp_capable(), r.mfp_required());
        }
        exercise(8, &[&[0u8; 12][..], &[48, b.len() as u8], &b].concat());
    }
}

/// Every record of every capture with random bytes changed and random lengths cut, read down
/// to its management body, as `wire_never_panics` does for the headers.
#[test]
fn mutated_real_records() {
    let mut seed = 0x2545_F491_4F6C_DD1Du64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let read = |record: &[u8], lt: LinkType| {
        for complete in [true, false] {
            if let Ok(f) = Frame::parse_record(record, lt, complete) {
                let body = f.header().body();
                assert!(within(body, record));
                exercise(f.header().subtype(), body);
            }
        }
    };
    let mut bodies = 0;
    for path in captures() {
        let cap = CaptureFile::open(&path).unwrap();
        for r in cap.records().flatten().take(300) {
            let Some(lt) = LinkType::from_dlt(r.linktype) else {
                continue;
            };
            bodies += 1;
            read(r.data, lt);
            let mut m = r.data.to_vec();
            for _ in 0..8 {
                if m.is_empty() {
                    break;
                }
                let i = next() as usize % m.len();
                m[i] = next() as u8;
                read(&m, lt);
                read(&m[..next() as usize % (m.len() + 1)], lt);
            }
        }
    }
    assert!(bodies > 1800, "{bodies}");
}

/// A row of [`TSHARK`].
type Row = (&'static str, u8, Option<&'static [u8]>, bool, usize);

/// What tshark 3.6 reports as `wlan.ssid` (first occurrence) for the assoc requests,
/// reassoc requests, probe requests, probe responses and beacons of each capture: (file,
/// subtype, SSID, whether the walk meets an element running past the body, frames). tshark
/// prints an empty SSID as `<MISSING>` (here `Some(b"")`) and no SSID element as nothing
/// (`None`). Malformed are the tcpdump fuzz file and the Prism capture, whose 4-byte FCS the
/// link type does not announce and which the walk reads as an element. The ns-3 mesh beacons
/// have no SSID element: the empty one found in them (by tshark too) is the four zero bytes of
/// an unannounced FCS, read as two empty SSIDs. Left out: the 17-byte
/// record of `prism_aircrack_wpaclean-crash.pcap`, shorter than a Prism header, which tshark
/// decodes as an association request anyway.
#[rustfmt::skip]
const TSHARK: &[Row] = &[
    ("80211_aircrack_capture-wds.cap", 0, Some(b"test1"), false, 1),
    ("80211_aircrack_capture-wds.cap", 8, Some(b"test1"), false, 1),
    ("80211_aircrack_chinese-ssid.pcap", 8, Some(b"\xb2\xe2\xca\xd4"), false, 1),
    ("80211_aircrack_n-02.cap", 0, Some(b"Neheb"), false, 1),
    ("80211_aircrack_n-02.cap", 2, Some(b"Neheb"), false, 1),
    ("80211_aircrack_n-02.cap", 4, Some(b""), false, 8),
    ("80211_aircrack_n-02.cap", 4, Some(b"Neheb"), false, 1),
    ("80211_aircrack_n-02.cap", 5, Some(b"Neheb"), false, 9),
    ("80211_aircrack_n-02.cap", 8, Some(b"Neheb"), false, 1),
    ("80211_aircrack_pmkid-not-recognized.cap", 0, Some(b"WML"), false, 142),
    ("80211_aircrack_pmkid-not-recognized.cap", 4, Some(b"WML"), false, 128),
    ("80211_aircrack_pmkid-not-recognized.cap", 5, Some(b"WML"), false, 877),
    ("80211_aircrack_pmkid-not-recognized.cap", 8, Some(b"WML"), false, 1),
    ("80211_aircrack_wep-64-ptw.cap", 8, Some(b"Appart"), false, 1),
    ("80211_aircrack_wep-shared-key-auth.cap", 0, Some(b"teddy"), false, 1),
    ("80211_aircrack_wep-shared-key-auth.cap", 8, Some(b"teddy"), false, 1),
    ("80211_ns3_hwmp-reactive-mesh.pcap", 8, Some(b""), false, 50),
    ("80211_tcpdump_parse-elements-oobr.pcap", 8, None, true, 1),
    ("80211_wltrace_non-radiotap-snaplen60.pcap", 8, Some(b""), false, 17),
    ("prism_aircrack_wpa.cap", 8, Some(b"test"), true, 1),
    ("rt_aircrack_test1_multins-fcs.pcap", 0, Some(b"Smile)"), false, 1),
    ("rt_aircrack_test1_multins-fcs.pcap", 0, Some(b"TPLIN"), false, 2),
    ("rt_aircrack_test1_multins-fcs.pcap", 0, Some(b"ogogo"), false, 1),
    ("rt_aircrack_test1_multins-fcs.pcap", 4, Some(b"Intertelecom_FREE"), false, 1),
    ("rt_aircrack_test1_multins-fcs.pcap", 4, Some(b"Smile)"), false, 1),
    ("rt_aircrack_test1_multins-fcs.pcap", 4, Some(b"Vodafone"), false, 1),
    ("rt_aircrack_test1_multins-fcs.pcap", 4, Some(b"tmpAP"), false, 1),
    ("rt_aircrack_test1_multins-fcs.pcap", 4, Some(b"veles3"), false, 1),
    ("rt_aircrack_test1_multins-fcs.pcap", 5, Some(b"Intertelecom_FREE"), false, 1),
    ("rt_aircrack_test1_multins-fcs.pcap", 5, Some(b"Smile)"), false, 1),
    ("rt_aircrack_test1_multins-fcs.pcap", 5, Some(b"Vodafone"), false, 1),
    ("rt_aircrack_test1_multins-fcs.pcap", 5, Some(b"ogogo"), false, 1),
    ("rt_aircrack_test1_multins-fcs.pcap", 5, Some(b"tmpAP"), false, 1),
    ("rt_aircrack_test1_multins-fcs.pcap", 5, Some(b"veles3"), false, 1),
    ("rt_aircrack_test1_multins-fcs.pcap", 8, Some(b"Lekonora"), false, 1),
    ("rt_aircrack_wpa3-psk-sae.pcap", 0, Some(b"WPA3-Network"), false, 1),
    ("rt_aircrack_wpa3-psk-sae.pcap", 4, Some(b""), false, 1),
    ("rt_aircrack_wpa3-psk-sae.pcap", 5, Some(b"WPA3-Network"), false, 1),
    ("rt_aircrack_wpa3-psk-sae.pcap", 8, Some(b"WPA3-Network"), false, 1),
    ("rt_aircrack_zn2i-mcs.pcap", 2, Some(b"dlink"), false, 1),
    ("rt_aircrack_zn2i-mcs.pcap", 8, Some(b"dlink"), false, 1),
    ("rt_fragattacks_ping-I-F-BE-AE-fromap.pcapng", 0, Some(b"testnetwork"), false, 1),
    ("rt_fragattacks_ping-I-F-BE-AE-fromap.pcapng", 4, Some(b""), false, 10),
    ("rt_fragattacks_ping-I-F-BE-AE-fromap.pcapng", 4, Some(b"testnetwork"), false, 1),
    ("rt_fragattacks_ping-I-F-BE-AE-fromap.pcapng", 5, Some(b"testnetwork"), false, 13),
    ("rt_fragattacks_ping-I-F-BE-AE-fromap.pcapng", 8, Some(b"testnetwork"), false, 49),
    ("rt_libpcap_wpa-induction-trimmed.pcap", 8, Some(b"Coherer"), false, 2),
    ("rt_libpcap_wpa2linkup-vht.pcap", 0, Some(b"ikeriri-5g"), false, 1),
    ("rt_libpcap_wpa2linkup-vht.pcap", 4, Some(b""), false, 1),
    ("rt_libpcap_wpa2linkup-vht.pcap", 5, Some(b"ikeriri-5g"), false, 1),
    ("rt_libpcap_wpa2linkup-vht.pcap", 8, Some(b"ikeriri-5g"), false, 1),
    ("rt_libtrace_10-packets.pcap", 5, Some(b"waikato"), false, 5),
    ("rt_libtrace_10-packets.pcap", 8, Some(b"CRCnet-test"), false, 2),
    ("rt_libtrace_10-packets.pcap", 8, Some(b"waikato"), false, 1),
    ("rt_scapy_bad-rsn-truncated-file.pcap", 8, Some(b"ROUTE-821E295"), false, 1),
    ("rt_tcpdump_exthdr-89byte-hdr.pcap", 0, Some(b"omus"), false, 1),
    ("rt_tcpdump_exthdr-89byte-hdr.pcap", 4, Some(b"omus"), false, 6),
    ("rt_tcpdump_exthdr-89byte-hdr.pcap", 5, Some(b"omus"), false, 6),
    ("rt_tcpdump_meshid.pcap", 4, Some(b""), false, 1),
    ("rt_tcpdump_meshid.pcap", 5, Some(b""), false, 1),
    ("rt_tcpdump_meshid.pcap", 8, Some(b""), false, 1),
    ("rt_wlanpi_0xc6-ssid-beacon.pcapng", 8, Some(b"\xc6TME Enterprise"), false, 1),
    ("rt_wlanpi_ax210-6ghz-reassoc.pcap", 2, Some(b"WLANPI_1"), false, 1),
    ("rt_wltrace_trace-bigendian-5ghz.pcap", 0, Some(b"AP4-5"), false, 2),
    ("rt_wltrace_trace-bigendian-5ghz.pcap", 4, Some(b""), false, 3),
    ("rt_wltrace_trace-bigendian-5ghz.pcap", 4, Some(b"AP4-5"), false, 2),
    ("rt_wltrace_trace-bigendian-5ghz.pcap", 4, Some(b"bluehawk5"), false, 2),
    ("rt_wltrace_trace-bigendian-5ghz.pcap", 5, Some(b"AP4-5"), false, 5),
    ("rt_wltrace_trace-bigendian-5ghz.pcap", 8, Some(b"AP4-5"), false, 213),
];

#[test]
fn ssids_match_tshark() {
    let mut want = BTreeMap::new();
    for &(file, st, ssid, malformed, n) in TSHARK {
        want.insert(
            (file.to_string(), st, ssid.map(<[u8]>::to_vec), malformed),
            n,
        );
    }
    let mut got = BTreeMap::new();
    for path in captures() {
        let file = path.file_name().unwrap().to_string_lossy().into_owned();
        for_each_mgmt(&path, |st, body| {
            if ![0, 2, 4, 5, 8].contains(&st) {
                return;
            }
            let m = Mgmt::parse(st, body).unwrap();
            let key = (
                file.clone(),
                st,
                m.ssid().map(<[u8]>::to_vec),
                m.malformed(),
            );
            *got.entry(key).or_insert(0) += 1;
        });
    }
    assert_eq!(got, want);
}

/// The WPA3 capture and the WPA/WPA2 capture, element by element.
#[test]
fn wpa3_and_wpa2_captures() {
    let mut frames = 0;
    let path = |name: &str| {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../testdata/captures")
            .join(name)
    };
    for_each_mgmt(&path("rt_aircrack_wpa3-psk-sae.pcap"), |st, body| {
        let Ok(m) = Mgmt::parse(st, body) else {
            return; // SAE authentication frames
        };
        frames += 1;
        assert!(!m.malformed(), "subtype {st}");
        if st == 1 || st == 4 {
            return; // association response, wildcard probe request
        }
        assert_eq!(m.ssid(), Some(&b"WPA3-Network"[..]));
        let r = Rsn::parse(m.rsn().unwrap()).unwrap();
        assert_eq!(
            (r.group(), r.pairwise(), r.akms()),
            (Ciphers::CCMP128, Ciphers::CCMP128, Akms::SAE)
        );
        assert!(r.mfp_capable() && r.mfp_required());
        assert_eq!(m.wpa(), None);
        if st == 8 || st == 5 {
            assert_eq!(m.ds_channel(), Some(1));
            assert_eq!(m.beacon_interval(), Some(100));
        }
    });
    assert_eq!(frames, 5);
    for_each_mgmt(
        &path("rt_libpcap_wpa-induction-trimmed.pcap"),
        |st, body| {
            let m = Mgmt::parse(st, body).unwrap();
            frames += 1;
            assert_eq!(st, 8);
            assert!(!m.malformed());
            assert_eq!(m.ssid(), Some(&b"Coherer"[..]));
            assert_eq!(m.ds_channel(), Some(1));
            let cap = m.capability().unwrap();
            assert_ne!(cap & dataplane::wire::ie::capability::PRIVACY, 0);
            let rsn = Rsn::parse(m.rsn().unwrap()).unwrap();
            let wpa = Rsn::parse_wpa(m.wpa().unwrap()).unwrap();
            for r in [rsn, wpa] {
                assert_eq!(
                    (r.group(), r.pairwise(), r.akms()),
                    (Ciphers::TKIP, Ciphers::TKIP | Ciphers::CCMP128, Akms::PSK)
                );
            }
            assert!(!rsn.mfp_capable());
        },
    );
    assert_eq!(frames, 7);
}
