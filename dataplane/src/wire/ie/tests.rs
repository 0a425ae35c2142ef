//! [`Mgmt`] and [`Rsn`] over hand-built bodies.

use super::*;
use crate::wire::MacAddr;

fn el(id: u8, data: &[u8]) -> Vec<u8> {
    let mut v = vec![id, data.len() as u8];
    v.extend_from_slice(data);
    v
}

fn cat(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

const IEEE: [u8; 3] = [0x00, 0x0F, 0xAC];
const MS: [u8; 3] = [0x00, 0x50, 0xF2];

fn suite(oui: [u8; 3], t: u8) -> [u8; 4] {
    [oui[0], oui[1], oui[2], t]
}

/// An RSN (or WPA, with `oui` = MS) body: version 1, group, pairwise list, AKM list, then the
/// capabilities if given.
fn rsn_body(oui: [u8; 3], group: u8, pairwise: &[u8], akms: &[u8], caps: Option<u16>) -> Vec<u8> {
    let mut v = vec![1, 0];
    v.extend_from_slice(&suite(oui, group));
    for list in [pairwise, akms] {
        v.extend_from_slice(&(list.len() as u16).to_le_bytes());
        for &t in list {
            v.extend_from_slice(&suite(oui, t));
        }
    }
    if let Some(c) = caps {
        v.extend_from_slice(&c.to_le_bytes());
    }
    v
}

/// The body of a WPA2-PSK-CCMP RSN element with MFP capable.
fn rsn_psk_ccmp() -> Vec<u8> {
    rsn_body(IEEE, 4, &[4], &[2], Some(0x0080))
}

/// A WPA element's data (OUI and type first), TKIP/PSK.
fn wpa_element_data() -> Vec<u8> {
    let mut v = vec![0x00, 0x50, 0xF2, 0x01];
    v.extend_from_slice(&rsn_body(MS, 2, &[2], &[2], None));
    v
}

/// Fixed fields for each subtype, with recognisable values.
fn fixed(subtype: u8) -> Vec<u8> {
    match subtype {
        subtype::ASSOC_REQ => vec![0x31, 0x04, 0x0A, 0x00],
        subtype::ASSOC_RESP | subtype::REASSOC_RESP => vec![0x11, 0x04, 0x00, 0x00, 0x05, 0xC0],
        subtype::REASSOC_REQ => vec![0x31, 0x04, 0x0A, 0x00, 1, 2, 3, 4, 5, 6],
        subtype::PROBE_REQ => vec![],
        _ => vec![1, 2, 3, 4, 5, 6, 7, 8, 0x64, 0x00, 0x11, 0x04],
    }
}

/// Elements of a typical beacon: SSID, rates, DS, TIM, RSN, HT, a WMM vendor element, WPA,
/// a WPS vendor element.
fn typical_elements() -> Vec<u8> {
    cat(&[
        &el(0, b"office"),
        &el(1, &[0x82, 0x84, 0x8B, 0x96, 0x0C, 0x12, 0x18, 0x24]),
        &el(3, &[11]),
        &el(5, &[0, 1, 0, 0]),
        &el(48, &rsn_psk_ccmp()),
        &el(45, &[0; 26]),
        &el(221, &[0x00, 0x50, 0xF2, 0x02, 0x01, 0x01, 0x00]),
        &el(221, &wpa_element_data()),
        &el(221, &[0x00, 0x50, 0xF2, 0x04, 0x10, 0x4A]),
    ])
}

#[test]
fn every_subtype_reads_its_fixed_fields_and_elements() {
    let elements = typical_elements();
    for st in [0, 1, 2, 3, 4, 5, 8] {
        let body = cat(&[&fixed(st), &elements]);
        let m = Mgmt::parse(st, &body).unwrap();
        assert_eq!(m.subtype(), st);
        assert_eq!(m.fixed(), &fixed(st)[..], "subtype {st}");
        assert_eq!(m.ssid(), Some(&b"office"[..]));
        assert_eq!(m.ds_channel(), Some(11));
        assert_eq!(m.rsn(), Some(&rsn_psk_ccmp()[..]));
        assert_eq!(m.wpa(), Some(&wpa_element_data()[4..]));
        assert!(!m.malformed());
        assert_eq!(m.error(), None);
        assert_eq!(m.elements().count(), 9);

        let beaconish = st == subtype::BEACON || st == subtype::PROBE_RESP;
        let response = st == subtype::ASSOC_RESP || st == subtype::REASSOC_RESP;
        let request = st == subtype::ASSOC_REQ || st == subtype::REASSOC_REQ;
        assert_eq!(m.beacon_interval(), beaconish.then_some(100));
        assert_eq!(
            m.timestamp(),
            beaconish.then_some(0x0807_0605_0403_0201),
            "subtype {st}"
        );
        let cap = match st {
            subtype::PROBE_REQ => None,
            subtype::ASSOC_REQ | subtype::REASSOC_REQ => Some(0x0431),
            _ => Some(0x0411),
        };
        assert_eq!(m.capability(), cap, "subtype {st}");
        assert_eq!(m.listen_interval(), request.then_some(10));
        assert_eq!(m.status(), response.then_some(0));
        assert_eq!(m.aid(), response.then_some(5));
        assert_eq!(
            m.current_ap(),
            (st == subtype::REASSOC_REQ).then(|| MacAddr::from_octets([1, 2, 3, 4, 5, 6]))
        );
    }
}

#[test]
fn capability_bits() {
    let body = fixed(8);
    let m = Mgmt::parse(8, &body).unwrap();
    let cap = m.capability().unwrap();
    assert_ne!(cap & capability::ESS, 0);
    assert_ne!(cap & capability::PRIVACY, 0);
    assert_eq!(cap & capability::IBSS, 0);
}

#[test]
fn other_subtypes_carry_no_element_list() {
    for st in [6, 7, 9, 10, 11, 12, 13, 14, 15, 16, 255] {
        assert_eq!(
            Mgmt::parse(st, &[0; 64]).unwrap_err(),
            IeError::UnsupportedSubtype(st)
        );
    }
}

#[test]
fn fixed_fields_must_fit() {
    for (st, need) in [(0, 4), (1, 6), (2, 10), (3, 6), (5, 12), (8, 12)] {
        let body = vec![0u8; need];
        assert_eq!(
            Mgmt::parse(st, &body[..need - 1]).unwrap_err(),
            IeError::FixedTooShort {
                need,
                have: need - 1
            }
        );
        // Exactly the fixed fields: no elements, nothing malformed.
        let m = Mgmt::parse(st, &body).unwrap();
        assert_eq!(
            (m.ssid(), m.rsn(), m.wpa(), m.ds_channel()),
            (None, None, None, None)
        );
        assert!(!m.malformed());
    }
    let m = Mgmt::parse(subtype::PROBE_REQ, &[]).unwrap();
    assert!(m.ssid().is_none() && !m.malformed());
}

#[test]
fn hidden_and_unusual_ssids() {
    let parse = |elements: &[u8]| {
        let body = cat(&[&fixed(8), elements]);
        Mgmt::parse(8, &body).unwrap().ssid().map(<[u8]>::to_vec)
    };
    // Hidden: empty, or the name's length in zeros.
    assert_eq!(parse(&el(0, b"")), Some(vec![]));
    assert_eq!(parse(&el(0, &[0; 7])), Some(vec![0; 7]));
    // No SSID element at all.
    assert_eq!(parse(&el(1, &[0x82])), None);
    // The first SSID counts.
    assert_eq!(
        parse(&cat(&[&el(0, b"a"), &el(0, b"b")])),
        Some(b"a".to_vec())
    );
    // Longer than 802.11's 32 bytes: returned as it is.
    assert_eq!(parse(&el(0, &[b'x'; 255])), Some(vec![b'x'; 255]));
    // A wildcard probe request.
    let body = el(0, b"");
    let m = Mgmt::parse(subtype::PROBE_REQ, &body).unwrap();
    assert_eq!(m.ssid(), Some(&[][..]));
}

#[test]
fn vendor_elements_other_than_wpa_are_skipped() {
    let body = cat(&[
        &fixed(8),
        &el(221, &[0x00, 0x50]),       // too short for an OUI and type
        &el(221, &[0x00, 0x50, 0xF2]), // too short for a type
        &el(221, &[0x00, 0x50, 0xF2, 0x04, 0x10]), // WPS
        &el(221, &[0x00, 0x10, 0x18, 0x01, 0x00]), // Broadcom
        &el(221, &[0x00, 0x50, 0xF2, 0x01]), // WPA with an empty body
        &el(221, &wpa_element_data()), // a second WPA: ignored
    ]);
    let m = Mgmt::parse(8, &body).unwrap();
    assert_eq!(m.wpa(), Some(&[][..]));
    assert_eq!(m.rsn(), None);
    assert!(!m.malformed());
}

#[test]
fn ds_parameter_set() {
    let channel = |elements: &[u8]| {
        let body = cat(&[&fixed(8), elements]);
        Mgmt::parse(8, &body).unwrap().ds_channel()
    };
    assert_eq!(channel(&el(3, &[])), None);
    assert_eq!(channel(&el(3, &[36, 0])), Some(36));
    assert_eq!(channel(&cat(&[&el(3, &[1]), &el(3, &[6])])), Some(1));
}

#[test]
fn a_truncated_element_at_each_position_keeps_what_came_before() {
    let elements = typical_elements();
    // Element boundaries, and where the first element each accessor reports ends.
    let mut boundaries = vec![0];
    let mut first_end = std::collections::HashMap::new();
    let mut e = Elements::new(&elements);
    while let Some((id, data)) = e.next() {
        boundaries.push(e.offset());
        let kept = id != 221 || data.starts_with(&WPA_OUI_TYPE);
        if kept {
            first_end.entry(id).or_insert(e.offset());
        }
    }
    let head = fixed(8);
    for cut in 0..=elements.len() {
        let body = cat(&[&head, &elements[..cut]]);
        let m = Mgmt::parse(8, &body).unwrap();
        let whole = |id: u8| first_end[&id] <= cut;
        assert_eq!(m.malformed(), !boundaries.contains(&cut), "cut {cut}");
        assert_eq!(m.ssid().is_some(), whole(0), "cut {cut}");
        assert_eq!(m.ds_channel().is_some(), whole(3), "cut {cut}");
        assert_eq!(m.rsn().is_some(), whole(48), "cut {cut}");
        assert_eq!(m.wpa().is_some(), whole(221), "cut {cut}");
        if m.malformed() {
            let last = boundaries.iter().rev().find(|&&b| b <= cut).unwrap();
            assert_eq!(
                m.error(),
                Some(IeError::ElementOverrun {
                    offset: head.len() + last
                })
            );
        }
    }
}

#[test]
fn an_overrunning_length_hides_what_follows() {
    // The HT element (after RSN) claims 200 bytes: everything after it is unreachable.
    let mut elements = typical_elements();
    let ht = Elements::new(&elements)
        .scan(0usize, |at, (id, d)| {
            let here = *at;
            *at += 2 + d.len();
            Some((here, id))
        })
        .find(|&(_, id)| id == 45)
        .unwrap()
        .0;
    elements[ht + 1] = 200;
    let body = cat(&[&fixed(8), &elements]);
    let m = Mgmt::parse(8, &body).unwrap();
    assert!(m.malformed());
    assert_eq!(m.error(), Some(IeError::ElementOverrun { offset: 12 + ht }));
    assert_eq!(m.ssid(), Some(&b"office"[..]));
    assert!(m.rsn().is_some());
    assert_eq!(m.wpa(), None);
    // A single trailing byte is malformed too.
    let body = cat(&[&fixed(8), &el(0, b"x"), &[0]]);
    let m = Mgmt::parse(8, &body).unwrap();
    assert!(m.malformed());
    assert_eq!(m.ssid(), Some(&b"x"[..]));
}

#[test]
fn rsn_psk_ccmp_with_mfp_capable() {
    let r = Rsn::parse(&rsn_psk_ccmp()).unwrap();
    assert!(!r.is_wpa());
    assert_eq!(r.group(), Ciphers::CCMP128);
    assert_eq!(r.pairwise(), Ciphers::CCMP128);
    assert_eq!(r.akms(), Akms::PSK);
    assert_eq!(r.capabilities(), Some(0x0080));
    assert!(r.mfp_capable() && !r.mfp_required());
    assert_eq!(r.parts(), 4);
}

#[test]
fn rsn_may_end_after_any_complete_part() {
    let full = rsn_body(IEEE, 2, &[2, 4], &[2, 8], Some(0x00C0));
    // (length, parts, group, pairwise, akms, capabilities); defaults fill the rest.
    let ends = [
        (
            2,
            0,
            Ciphers::CCMP128,
            Ciphers::CCMP128,
            Akms::IEEE8021X,
            None,
        ),
        (6, 1, Ciphers::TKIP, Ciphers::CCMP128, Akms::IEEE8021X, None),
        (
            16,
            2,
            Ciphers::TKIP,
            Ciphers::TKIP | Ciphers::CCMP128,
            Akms::IEEE8021X,
            None,
        ),
        (
            26,
            3,
            Ciphers::TKIP,
            Ciphers::TKIP | Ciphers::CCMP128,
            Akms::PSK | Akms::SAE,
            None,
        ),
        (
            28,
            4,
            Ciphers::TKIP,
            Ciphers::TKIP | Ciphers::CCMP128,
            Akms::PSK | Akms::SAE,
            Some(0x00C0),
        ),
    ];
    assert_eq!(full.len(), 28);
    for (len, parts, group, pairwise, akms, caps) in ends {
        let r = Rsn::parse(&full[..len]).unwrap();
        assert_eq!(
            (
                r.parts(),
                r.group(),
                r.pairwise(),
                r.akms(),
                r.capabilities()
            ),
            (parts, group, pairwise, akms, caps),
            "length {len}"
        );
    }
    // Anywhere else is inside a field. The offset names the field that does not fit: the
    // version, the group suite, a count (for its list too), the capabilities.
    for len in 0..full.len() {
        if ends.iter().any(|e| e.0 == len) {
            continue;
        }
        let offset = match len {
            0..=1 => 0,
            3..=5 => 2,
            7..=15 => 6,
            17..=25 => 16,
            _ => 26,
        };
        assert_eq!(
            Rsn::parse(&full[..len]),
            Err(IeError::RsnTruncated { offset }),
            "length {len}"
        );
    }
    // Whatever follows the capabilities (PMKIDs, group management cipher) is not read.
    let mut more = full.clone();
    more.extend_from_slice(&[1, 0, 0xAA]);
    assert_eq!(Rsn::parse(&more), Rsn::parse(&full));
}

#[test]
fn rsn_count_running_past_the_end_is_an_error() {
    let mut b = rsn_psk_ccmp();
    b[6] = 4; // pairwise count 4: 16 bytes, 12 left
    assert_eq!(Rsn::parse(&b), Err(IeError::RsnTruncated { offset: 6 }));
    let mut b = rsn_psk_ccmp();
    b[12] = 0xFF; // AKM count 255
    assert_eq!(Rsn::parse(&b), Err(IeError::RsnTruncated { offset: 12 }));
    let mut b = rsn_psk_ccmp();
    b[13] = 0xFF; // AKM count 65281
    assert_eq!(Rsn::parse(&b), Err(IeError::RsnTruncated { offset: 12 }));
}

#[test]
fn rsn_version_must_be_1() {
    let mut b = rsn_psk_ccmp();
    b[0] = 2;
    assert_eq!(Rsn::parse(&b), Err(IeError::RsnVersion(2)));
    assert_eq!(Rsn::parse(&[0, 1]), Err(IeError::RsnVersion(256)));
}

#[test]
fn ft_sae_owe_and_the_rest_of_the_akms() {
    let akms = [
        (1, Akms::IEEE8021X),
        (2, Akms::PSK),
        (3, Akms::FT_IEEE8021X),
        (4, Akms::FT_PSK),
        (5, Akms::IEEE8021X_SHA256),
        (6, Akms::PSK_SHA256),
        (8, Akms::SAE),
        (9, Akms::FT_SAE),
        (11, Akms::SUITE_B),
        (12, Akms::SUITE_B_192),
        (13, Akms::FT_IEEE8021X_SHA384),
        (14, Akms::FILS_SHA256),
        (15, Akms::FILS_SHA384),
        (16, Akms::FT_FILS_SHA256),
        (17, Akms::FT_FILS_SHA384),
        (18, Akms::OWE),
        (19, Akms::FT_PSK_SHA384),
        (20, Akms::PSK_SHA384),
        (24, Akms::SAE_EXT_KEY),
        (25, Akms::FT_SAE_EXT_KEY),
    ];
    for (t, want) in akms {
        let r = Rsn::parse(&rsn_body(IEEE, 4, &[4], &[t], None)).unwrap();
        assert_eq!(r.akms(), want, "AKM type {t}");
    }
    // A transition network: PSK, SAE, FT-SAE together.
    let r = Rsn::parse(&rsn_body(IEEE, 4, &[4], &[2, 8, 9], Some(0x80))).unwrap();
    assert_eq!(r.akms(), Akms::PSK | Akms::SAE | Akms::FT_SAE);
    assert!(r.akms().contains(Akms::SAE) && !r.akms().contains(Akms::OWE));
    // DPP is a Wi-Fi Alliance suite.
    let mut b = rsn_body(IEEE, 4, &[4], &[8], None);
    b[14..18].copy_from_slice(&[0x50, 0x6F, 0x9A, 0x02]);
    b[12] = 2;
    b.splice(18..18, [0x00, 0x0F, 0xAC, 0x08]);
    let r = Rsn::parse(&b[..]).unwrap();
    assert_eq!(r.akms(), Akms::DPP | Akms::SAE);
}

#[test]
fn unknown_suites_are_skipped() {
    // AKM: TDLS (7), an unassigned type, another vendor; cipher: type 3, 7, 14, another OUI.
    let mut b = rsn_body(IEEE, 7, &[3, 14, 4], &[7, 30, 2], None);
    b[16..20].copy_from_slice(&[0x00, 0x10, 0x18, 0x04]); // third pairwise suite: Broadcom
    let r = Rsn::parse(&b).unwrap();
    assert_eq!(r.group(), Ciphers::EMPTY);
    assert_eq!(r.pairwise(), Ciphers::EMPTY);
    assert_eq!(r.akms(), Akms::PSK);
    // Types past the set's width.
    let r = Rsn::parse(&rsn_body(IEEE, 200, &[16], &[31, 255], None)).unwrap();
    assert!(r.group().is_empty() && r.pairwise().is_empty() && r.akms().is_empty());
}

#[test]
fn gcmp_and_256_bit_ciphers() {
    let ciphers = [
        (0, Ciphers::USE_GROUP),
        (1, Ciphers::WEP40),
        (2, Ciphers::TKIP),
        (4, Ciphers::CCMP128),
        (5, Ciphers::WEP104),
        (6, Ciphers::BIP_CMAC128),
        (8, Ciphers::GCMP128),
        (9, Ciphers::GCMP256),
        (10, Ciphers::CCMP256),
        (11, Ciphers::BIP_GMAC128),
        (12, Ciphers::BIP_GMAC256),
        (13, Ciphers::BIP_CMAC256),
    ];
    for (t, want) in ciphers {
        let r = Rsn::parse(&rsn_body(IEEE, t, &[t], &[12], None)).unwrap();
        assert_eq!((r.group(), r.pairwise()), (want, want), "cipher type {t}");
    }
    let r = Rsn::parse(&rsn_body(IEEE, 9, &[9, 10, 8], &[12], Some(0xC0))).unwrap();
    assert_eq!(r.group(), Ciphers::GCMP256);
    assert_eq!(
        r.pairwise(),
        Ciphers::GCMP256 | Ciphers::CCMP256 | Ciphers::GCMP128
    );
    assert!(r.pairwise().intersects(Ciphers::GCMP256 | Ciphers::TKIP));
    assert!(!r.pairwise().contains(Ciphers::GCMP256 | Ciphers::TKIP));
    assert_eq!(r.akms(), Akms::SUITE_B_192);
}

#[test]
fn mfp_bits() {
    for (caps, capable, required) in [
        (0x0000, false, false),
        (0x0080, true, false),
        (0x00C0, true, true),
        (0x0040, false, true),
        (0x003C, false, false), // replay counters only
        (0xFF3F, false, false),
    ] {
        let r = Rsn::parse(&rsn_body(IEEE, 4, &[4], &[8], Some(caps))).unwrap();
        assert_eq!(
            (r.mfp_capable(), r.mfp_required()),
            (capable, required),
            "{caps:#06x}"
        );
    }
    let r = Rsn::parse(&rsn_body(IEEE, 4, &[4], &[8], None)).unwrap();
    assert!(!r.mfp_capable() && !r.mfp_required());
}

#[test]
fn wpa_element() {
    let r = Rsn::parse_wpa(&wpa_element_data()[4..]).unwrap();
    assert!(r.is_wpa());
    assert_eq!(
        (r.group(), r.pairwise(), r.akms(), r.parts()),
        (Ciphers::TKIP, Ciphers::TKIP, Akms::PSK, 3)
    );
    // WPA's defaults are TKIP and 802.1X.
    let r = Rsn::parse_wpa(&[1, 0]).unwrap();
    assert_eq!(
        (r.group(), r.pairwise(), r.akms(), r.parts()),
        (Ciphers::TKIP, Ciphers::TKIP, Akms::IEEE8021X, 0)
    );
    // TKIP+CCMP, 802.1X; trailing capabilities are not read.
    let b = rsn_body(MS, 2, &[2, 4], &[1], Some(0x00C0));
    let r = Rsn::parse_wpa(&b).unwrap();
    assert_eq!(r.pairwise(), Ciphers::TKIP | Ciphers::CCMP128);
    assert_eq!(r.akms(), Akms::IEEE8021X);
    assert_eq!((r.capabilities(), r.mfp_capable()), (None, false));
    // 802.11 suites in a WPA element, and WPA suites in an RSN element, mean nothing.
    let r = Rsn::parse_wpa(&rsn_body(IEEE, 4, &[4], &[2], None)).unwrap();
    assert!(r.group().is_empty() && r.pairwise().is_empty() && r.akms().is_empty());
    let r = Rsn::parse(&rsn_body(MS, 4, &[4], &[2], None)).unwrap();
    assert!(r.group().is_empty() && r.pairwise().is_empty() && r.akms().is_empty());
    // WPA has no GCMP, no SAE: the types it lacks are skipped.
    let r = Rsn::parse_wpa(&rsn_body(MS, 9, &[8, 3], &[8, 3], None)).unwrap();
    assert!(r.group().is_empty() && r.pairwise().is_empty() && r.akms().is_empty());
    assert_eq!(
        Rsn::parse_wpa(&rsn_body(MS, 2, &[2], &[2], None)[..9]),
        Err(IeError::RsnTruncated { offset: 6 })
    );
}

#[test]
fn rsn_and_wpa_together() {
    let body = cat(&[
        &fixed(5),
        &el(0, b"mixed"),
        &el(48, &rsn_body(IEEE, 2, &[2, 4], &[2], Some(0))),
        &el(221, &wpa_element_data()),
    ]);
    let m = Mgmt::parse(subtype::PROBE_RESP, &body).unwrap();
    let rsn = Rsn::parse(m.rsn().unwrap()).unwrap();
    let wpa = Rsn::parse_wpa(m.wpa().unwrap()).unwrap();
    assert_eq!(rsn.pairwise(), Ciphers::TKIP | Ciphers::CCMP128);
    assert_eq!(rsn.group(), Ciphers::TKIP);
    assert_eq!(wpa.pairwise(), Ciphers::TKIP);
    assert!(!rsn.is_wpa() && wpa.is_wpa());
}

#[test]
fn errors_display() {
    let all = [
        IeError::UnsupportedSubtype(13),
        IeError::FixedTooShort { need: 12, have: 3 },
        IeError::ElementOverrun { offset: 40 },
        IeError::RsnVersion(2),
        IeError::RsnTruncated { offset: 6 },
    ];
    for e in all {
        assert!(!e.to_string().is_empty());
    }
    assert_eq!(
        IeError::FixedTooShort { need: 12, have: 3 }.to_string(),
        "management body too short for its fixed fields: 3 bytes, needs 12"
    );
}
