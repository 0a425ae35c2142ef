use super::wire::*;
use super::*;

// Expected bytes are assembled here from the kernel headers' layouts, independently of the
// builders: struct nlmsghdr { u32 len; u16 type; u16 flags; u32 seq; u32 pid; },
// struct genlmsghdr { u8 cmd; u8 version; u16 reserved; }, struct nlattr { u16 len; u16 type; }
// followed by the payload padded to 4 bytes. Integers are in host byte order.

fn nlhdr(len: u32, ty: u16, flags: u16, seq: u32, pid: u32) -> Vec<u8> {
    let mut v = len.to_ne_bytes().to_vec();
    v.extend(ty.to_ne_bytes());
    v.extend(flags.to_ne_bytes());
    v.extend(seq.to_ne_bytes());
    v.extend(pid.to_ne_bytes());
    v
}

fn genlhdr(cmd: u8, version: u8) -> Vec<u8> {
    vec![cmd, version, 0, 0]
}

fn attr(ty: u16, payload: &[u8]) -> Vec<u8> {
    let mut v = ((4 + payload.len()) as u16).to_ne_bytes().to_vec();
    v.extend(ty.to_ne_bytes());
    v.extend(payload);
    while !v.len().is_multiple_of(4) {
        v.push(0);
    }
    v
}

fn attr32(ty: u16, value: u32) -> Vec<u8> {
    attr(ty, &value.to_ne_bytes())
}

/// The netlink port id the test replies are addressed to.
const PORT: u32 = 4242;

/// A whole message to `PORT` (as the kernel addresses replies): header with the right
/// length, then the body.
fn message(ty: u16, flags: u16, seq: u32, body: &[u8]) -> Vec<u8> {
    let mut v = nlhdr((16 + body.len()) as u32, ty, flags, seq, PORT);
    v.extend(body);
    v
}

/// A generic netlink reply to `PORT`.
fn genl(ty: u16, flags: u16, seq: u32, cmd: u8, version: u8, attrs: &[Vec<u8>]) -> Vec<u8> {
    let mut body = genlhdr(cmd, version);
    for a in attrs {
        body.extend(a);
    }
    message(ty, flags, seq, &body)
}

/// A generic netlink request: as `genl`, but with port id 0 (the kernel fills in the sender).
fn genl_request(ty: u16, flags: u16, seq: u32, cmd: u8, attrs: &[Vec<u8>]) -> Vec<u8> {
    let version = if ty == GENL_ID_CTRL { 1 } else { 0 };
    let mut v = genl(ty, flags, seq, cmd, version, attrs);
    v[12..16].copy_from_slice(&0u32.to_ne_bytes());
    v
}

fn chan(s: &str) -> Channel {
    Channel::parse(s).unwrap()
}

#[test]
fn constants_match_the_kernel_headers() {
    // include/uapi/linux/nl80211.h, genetlink.h and netlink.h.
    assert_eq!(NL80211_CMD_SET_WIPHY, 2);
    assert_eq!(NL80211_CMD_GET_INTERFACE, 5);
    assert_eq!(NL80211_CMD_NEW_INTERFACE, 7);
    assert_eq!(NL80211_CMD_SET_CHANNEL, 65);
    assert_eq!(NL80211_ATTR_WIPHY, 1);
    assert_eq!(NL80211_ATTR_IFINDEX, 3);
    assert_eq!(NL80211_ATTR_IFNAME, 4);
    assert_eq!(NL80211_ATTR_IFTYPE, 5);
    assert_eq!(NL80211_ATTR_WIPHY_FREQ, 38);
    assert_eq!(NL80211_ATTR_WIPHY_CHANNEL_TYPE, 39);
    assert_eq!(NL80211_ATTR_CHANNEL_WIDTH, 159);
    assert_eq!(NL80211_ATTR_CENTER_FREQ1, 160);
    assert_eq!(NL80211_IFTYPE_MONITOR, 6);
    assert_eq!(
        [
            NL80211_CHAN_WIDTH_20_NOHT,
            NL80211_CHAN_WIDTH_20,
            NL80211_CHAN_WIDTH_40,
            NL80211_CHAN_WIDTH_80,
            NL80211_CHAN_WIDTH_80P80,
            NL80211_CHAN_WIDTH_160,
            NL80211_CHAN_WIDTH_5,
            NL80211_CHAN_WIDTH_10
        ],
        [0, 1, 2, 3, 4, 5, 6, 7]
    );
    assert_eq!(
        [
            NL80211_CHAN_NO_HT,
            NL80211_CHAN_HT20,
            NL80211_CHAN_HT40MINUS,
            NL80211_CHAN_HT40PLUS
        ],
        [0, 1, 2, 3]
    );
    assert_eq!((GENL_ID_CTRL, CTRL_CMD_GETFAMILY), (16, 3));
    assert_eq!((CTRL_ATTR_FAMILY_ID, CTRL_ATTR_FAMILY_NAME), (1, 2));
    assert_eq!((NLMSG_ERROR, NLM_F_REQUEST, NLM_F_ACK), (2, 1, 4));
    assert_eq!(
        (NLM_F_CAPPED, NLM_F_ACK_TLVS, NLMSGERR_ATTR_MSG),
        (0x100, 0x200, 1)
    );
}

#[test]
fn get_family_request_bytes() {
    let got = get_family_request(7).unwrap();
    let want = genl_request(16, 1, 7, 3, &[attr(2, b"nl80211\0")]);
    assert_eq!(got, want);
    #[cfg(target_endian = "little")]
    assert_eq!(
        got,
        [
            32, 0, 0, 0, 16, 0, 1, 0, 7, 0, 0, 0, 0, 0, 0, 0, // nlmsghdr
            3, 1, 0, 0, // CTRL_CMD_GETFAMILY, version 1
            12, 0, 2, 0, b'n', b'l', b'8', b'0', b'2', b'1', b'1', 0, // FAMILY_NAME
        ]
    );
}

#[test]
fn get_interface_request_bytes() {
    let got = get_interface_request(0x1c, 9, 3).unwrap();
    assert_eq!(
        got,
        genl_request(0x1c, NLM_F_REQUEST, 9, 5, &[attr32(3, 3)])
    );
    #[cfg(target_endian = "little")]
    assert_eq!(
        got,
        [
            28, 0, 0, 0, 0x1c, 0, 1, 0, 9, 0, 0, 0, 0, 0, 0, 0, // nlmsghdr, NLM_F_REQUEST
            5, 0, 0, 0, // NL80211_CMD_GET_INTERFACE, version 0
            8, 0, 3, 0, 3, 0, 0, 0, // NL80211_ATTR_IFINDEX = 3
        ]
    );
}

#[test]
fn set_channel_request_for_each_width() {
    let f = 0x1c;
    let rq = NLM_F_REQUEST | NLM_F_ACK;
    let cases: [(&str, Vec<Vec<u8>>); 8] = [
        ("6", vec![attr32(38, 2437), attr32(159, 0), attr32(39, 0)]),
        (
            "6HT20",
            vec![attr32(38, 2437), attr32(159, 1), attr32(39, 1)],
        ),
        (
            "6HT40+",
            vec![
                attr32(38, 2437),
                attr32(159, 2),
                attr32(39, 3),
                attr32(160, 2447),
            ],
        ),
        ("36HT40-", vec![]), // invalid channel: not built
        (
            "40HT40-",
            vec![
                attr32(38, 5200),
                attr32(159, 2),
                attr32(39, 2),
                attr32(160, 5190),
            ],
        ),
        (
            "149VHT80",
            vec![attr32(38, 5745), attr32(159, 3), attr32(160, 5775)],
        ),
        (
            "36VHT160",
            vec![attr32(38, 5180), attr32(159, 5), attr32(160, 5250)],
        ),
        ("36W10", vec![attr32(38, 5180), attr32(159, 7)]),
    ];
    for (name, attrs) in cases {
        let Ok(c) = Channel::parse(name) else {
            assert!(attrs.is_empty(), "{name}");
            continue;
        };
        let mut all = vec![attr32(3, 4)];
        all.extend(attrs);
        let want = genl_request(f, rq, 11, 2, &all);
        assert_eq!(set_channel_request(f, 11, 4, &c).unwrap(), want, "{name}");
    }
    assert_eq!(
        set_channel_request(f, 1, 4, &chan("1W6e")).unwrap().len(),
        16 + 4 + 4 * 8
    );
    assert_eq!(
        set_channel_request(f, 1, 4, &chan("6W5")).unwrap()[36..44],
        attr32(159, 6)
    );
}

#[test]
fn set_channel_request_literal_bytes_for_ht40_plus() {
    #[cfg(target_endian = "little")]
    assert_eq!(
        set_channel_request(0x1c, 2, 4, &chan("6HT40+")).unwrap(),
        [
            60, 0, 0, 0, 0x1c, 0, 5, 0, 2, 0, 0, 0, 0, 0, 0, 0, // REQUEST | ACK, seq 2
            2, 0, 0, 0, // NL80211_CMD_SET_WIPHY, version 0
            8, 0, 3, 0, 4, 0, 0, 0, // IFINDEX 4
            8, 0, 38, 0, 0x85, 0x09, 0, 0, // WIPHY_FREQ 2437
            8, 0, 159, 0, 2, 0, 0, 0, // CHANNEL_WIDTH 40
            8, 0, 39, 0, 3, 0, 0, 0, // WIPHY_CHANNEL_TYPE HT40PLUS
            8, 0, 160, 0, 0x8f, 0x09, 0, 0, // CENTER_FREQ1 2447
        ]
    );
}

/// A GET_INTERFACE reply shaped like nl80211_send_iface's, with attributes the parser skips.
fn interface_reply(seq: u32, iftype: u32, with_freq: bool) -> Vec<u8> {
    let mut attrs = vec![
        attr32(NL80211_ATTR_IFINDEX, 5),
        attr(NL80211_ATTR_IFNAME, b"wlan0mon\0"), // 9 bytes: padded to 12
        attr32(NL80211_ATTR_WIPHY, 1),
        attr32(NL80211_ATTR_IFTYPE, iftype),
        attr(153, &0x1_0000_0002u64.to_ne_bytes()), // NL80211_ATTR_WDEV
        attr(6, &[2, 0, 0, 0, 0, 1]),               // NL80211_ATTR_MAC: 6 bytes, padded
        attr32(46, 3),                              // NL80211_ATTR_GENERATION
        attr(0x8000 | 200, &[]),                    // a nested-flagged attribute
    ];
    if with_freq {
        attrs.push(attr32(NL80211_ATTR_WIPHY_FREQ, 5745));
        attrs.push(attr32(NL80211_ATTR_CHANNEL_WIDTH, 3));
        attrs.push(attr32(NL80211_ATTR_CENTER_FREQ1, 5775));
    }
    genl(0x1c, 0, seq, NL80211_CMD_NEW_INTERFACE, 1, &attrs)
}

fn genl_attrs(reply: Option<Reply>) -> Vec<u8> {
    match reply {
        Some(Reply::Genl {
            cmd: NL80211_CMD_NEW_INTERFACE,
            attrs,
        }) => attrs,
        other => panic!("expected a NEW_INTERFACE reply, got {other:?}"),
    }
}

#[test]
fn parses_a_get_interface_reply() {
    let bytes = interface_reply(9, NL80211_IFTYPE_MONITOR, true);
    let info = parse_interface(&genl_attrs(parse_reply(&bytes, 9, PORT).unwrap())).unwrap();
    assert_eq!(
        info,
        RadioInfo {
            ifindex: 5,
            wiphy: 1,
            iftype: 6,
            ifname: Some("wlan0mon".into()),
            freq_mhz: Some(5745),
            channel_width: Some(3),
            center_freq1_mhz: Some(5775),
        }
    );
    assert!(info.is_monitor());

    let bytes = interface_reply(9, 2, false); // NL80211_IFTYPE_STATION, not tuned
    let info = parse_interface(&genl_attrs(parse_reply(&bytes, 9, PORT).unwrap())).unwrap();
    assert!(!info.is_monitor());
    assert_eq!(
        (info.freq_mhz, info.channel_width, info.center_freq1_mhz),
        (None, None, None)
    );
}

#[test]
fn parses_a_family_reply() {
    let bytes = genl(
        16,
        0,
        3,
        1, // CTRL_CMD_NEWFAMILY
        2,
        &[
            attr(CTRL_ATTR_FAMILY_NAME, b"nl80211\0"),
            attr(CTRL_ATTR_FAMILY_ID, &0x1cu16.to_ne_bytes()), // 2 bytes: padded
            attr32(3, 1),                                      // CTRL_ATTR_VERSION
        ],
    );
    match parse_reply(&bytes, 3, PORT).unwrap() {
        Some(Reply::Genl { cmd: 1, attrs }) => assert_eq!(parse_family_id(&attrs), Ok(0x1c)),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        parse_family_id(&[]),
        Err(WireError::Missing("CTRL_ATTR_FAMILY_ID"))
    );
    assert_eq!(
        parse_family_id(&attr32(CTRL_ATTR_FAMILY_ID, 0x1c)),
        Err(WireError::BadAttribute("CTRL_ATTR_FAMILY_ID"))
    );
}

/// An NLMSG_ERROR answering request `seq`: errno (0 for an ack), the echoed request (only
/// its header when capped) and extended-ack attributes.
fn error_message(seq: u32, error: i32, flags: u16, tlvs: &[Vec<u8>]) -> Vec<u8> {
    let request = get_interface_request(0x1c, seq, 1).unwrap();
    let mut body = error.to_ne_bytes().to_vec();
    if flags & NLM_F_CAPPED != 0 {
        body.extend(&request[..16]);
    } else {
        body.extend(&request);
    }
    for t in tlvs {
        body.extend(t);
    }
    message(NLMSG_ERROR, flags, seq, &body)
}

#[test]
fn parses_acks_and_errors() {
    assert_eq!(
        parse_reply(&error_message(4, 0, NLM_F_CAPPED, &[]), 4, PORT),
        Ok(Some(Reply::Ack))
    );
    assert_eq!(
        parse_reply(&error_message(4, 0, 0, &[]), 4, PORT),
        Ok(Some(Reply::Ack))
    );
    assert_eq!(
        parse_reply(&error_message(4, -19, 0, &[]), 4, PORT),
        Ok(Some(Reply::Error {
            errno: 19,
            message: None
        }))
    );
    // Extended ack, capped and not: the text is found after the echoed request.
    let tlvs = [
        attr(NLMSGERR_ATTR_MSG, b"invalid channel definition\0"),
        attr32(2, 24),
    ];
    for flags in [NLM_F_CAPPED | NLM_F_ACK_TLVS, NLM_F_ACK_TLVS] {
        assert_eq!(
            parse_reply(&error_message(4, -22, flags, &tlvs), 4, PORT),
            Ok(Some(Reply::Error {
                errno: 22,
                message: Some("invalid channel definition".into())
            })),
            "flags {flags:#x}"
        );
    }
    let e = unexpected(
        "SET_WIPHY",
        Reply::Error {
            errno: 22,
            message: Some("bad".into()),
        },
    );
    let text = e.to_string();
    assert!(text.contains("SET_WIPHY") && text.contains("errno 22") && text.contains("bad"));
    assert!(text.contains("Invalid argument"), "{text}");
}

#[test]
fn skips_answers_to_other_requests_and_control_messages() {
    // A stale ack for request 1, a NLMSG_DONE and a NOOP, then the answer to request 2, all
    // in one datagram.
    let mut bytes = error_message(1, 0, NLM_F_CAPPED, &[]);
    bytes.extend(message(3, 0, 2, &0i32.to_ne_bytes()));
    bytes.extend(message(1, 0, 2, &[]));
    bytes.extend(interface_reply(2, 6, false));
    assert!(matches!(
        parse_reply(&bytes, 2, PORT),
        Ok(Some(Reply::Genl { .. }))
    ));
    assert_eq!(parse_reply(&bytes, 3, PORT), Ok(None));
    assert_eq!(parse_reply(&[], 3, PORT), Ok(None));
    // Addressed to another port: not an answer to this socket's request.
    assert_eq!(
        parse_reply(&interface_reply(2, 6, false), 2, PORT + 1),
        Ok(None)
    );
}

#[test]
fn malformed_replies_are_errors() {
    let good = interface_reply(9, 6, true);
    // nlmsg_len below the header size, and past the datagram.
    let mut short = good.clone();
    short[..4].copy_from_slice(&4u32.to_ne_bytes());
    assert_eq!(
        parse_reply(&short, 9, PORT),
        Err(WireError::Truncated("message"))
    );
    let mut long = good.clone();
    long[..4].copy_from_slice(&(good.len() as u32 + 4).to_ne_bytes());
    assert_eq!(
        parse_reply(&long, 9, PORT),
        Err(WireError::Truncated("message"))
    );
    // A genl message without room for its header.
    let bare = message(0x1c, 0, 9, &[7, 0]);
    assert_eq!(
        parse_reply(&bare, 9, PORT),
        Err(WireError::Truncated("generic netlink header"))
    );
    // An error message without its code.
    let no_code = message(NLMSG_ERROR, 0, 9, &[0xea, 0xff]);
    assert_eq!(
        parse_reply(&no_code, 9, PORT),
        Err(WireError::Truncated("error code"))
    );
    // Attributes with a length below 4 or past the end.
    assert_eq!(
        attributes(&[2, 0, 1, 0]),
        Err(WireError::Truncated("attribute"))
    );
    assert_eq!(
        attributes(&[12, 0, 1, 0, 0, 0, 0, 0]),
        Err(WireError::Truncated("attribute"))
    );
    // A u32 attribute of the wrong size, and a missing required attribute.
    let attrs = [
        attr(NL80211_ATTR_IFINDEX, &[1, 0]),
        attr32(1, 0),
        attr32(5, 6),
    ]
    .concat();
    assert_eq!(
        parse_interface(&attrs),
        Err(WireError::BadAttribute("NL80211_ATTR_IFINDEX"))
    );
    let attrs = [
        attr32(NL80211_ATTR_IFINDEX, 5),
        attr32(NL80211_ATTR_IFTYPE, 6),
    ]
    .concat();
    assert_eq!(
        parse_interface(&attrs),
        Err(WireError::Missing("NL80211_ATTR_WIPHY"))
    );
    assert!(WireError::Truncated("message")
        .to_string()
        .contains("truncated message"));
}

#[test]
fn no_reply_bytes_panic() {
    // Every truncation of every reply kind, and every single-byte change to a set of values
    // that hit the length fields' edges.
    let samples = [
        interface_reply(9, 6, true),
        error_message(9, -22, NLM_F_ACK_TLVS, &[attr(NLMSGERR_ATTR_MSG, b"x\0")]),
        error_message(9, -22, NLM_F_CAPPED | NLM_F_ACK_TLVS, &[attr32(2, 1)]),
        error_message(9, 0, 0, &[]),
    ];
    for s in &samples {
        for cut in 0..=s.len() {
            let _ = parse_reply(&s[..cut], 9, PORT);
            let _ = parse_interface(&s[cut.min(20)..cut]);
            let _ = parse_family_id(&s[cut.min(20)..cut]);
        }
        for i in 0..s.len() {
            for v in [0u8, 1, 3, 4, 15, 16, 17, 0x7f, 0x80, 0xfe, 0xff] {
                let mut m = s.clone();
                m[i] = v;
                if let Ok(Some(Reply::Genl { attrs, .. })) = parse_reply(&m, 9, PORT) {
                    let _ = parse_interface(&attrs);
                }
            }
        }
    }
}

#[test]
fn chandef_follows_iw() {
    assert_eq!(
        chandef(&chan("6")),
        (NL80211_CHAN_WIDTH_20_NOHT, Some(NL80211_CHAN_NO_HT))
    );
    assert_eq!(
        chandef(&chan("6HT20")),
        (NL80211_CHAN_WIDTH_20, Some(NL80211_CHAN_HT20))
    );
    assert_eq!(
        chandef(&chan("6HT40-")),
        (NL80211_CHAN_WIDTH_40, Some(NL80211_CHAN_HT40MINUS))
    );
    assert_eq!(
        chandef(&chan("6HT40+")),
        (NL80211_CHAN_WIDTH_40, Some(NL80211_CHAN_HT40PLUS))
    );
    assert_eq!(chandef(&chan("36VHT80")), (NL80211_CHAN_WIDTH_80, None));
    assert_eq!(chandef(&chan("36VHT160")), (NL80211_CHAN_WIDTH_160, None));
    assert_eq!(chandef(&chan("6W5")), (NL80211_CHAN_WIDTH_5, None));
    assert_eq!(chandef(&chan("6W10")), (NL80211_CHAN_WIDTH_10, None));
}

#[test]
fn interface_names_are_checked_before_the_kernel_is_asked() {
    for bad in ["", "a/b", "has space", "sixteen-chars-xx", "nul\0"] {
        assert!(
            matches!(ifindex_of(bad), Err(Error::BadInterfaceName(_))),
            "{bad:?}"
        );
    }
    assert!(matches!(radio_of("a/b"), Err(Error::BadInterfaceName(_))));
}

#[test]
fn live_loopback_is_not_a_cfg80211_radio() {
    // On a kernel without cfg80211 the nl80211 family is missing; with it, nl80211 answers
    // ENODEV for lo. Both mean "not a radio", never an error.
    assert!(matches!(radio_of("lo"), Ok(None)), "{:?}", radio_of("lo"));
}

#[test]
fn live_missing_interface_is_an_error() {
    let r = radio_of("airsiftnone0");
    assert!(
        matches!(r, Err(Error::NoSuchInterface(ref n)) if n == "airsiftnone0"),
        "{r:?}"
    );
}

#[test]
fn live_tuning_loopback_fails_cleanly() {
    let lo = ifindex_of("lo").unwrap();
    match set_channel(lo, &chan("6")) {
        Err(Error::NoNl80211) => {}
        Err(Error::Kernel {
            request: "SET_WIPHY",
            ..
        }) => {}
        other => panic!("tuning lo: {other:?}"),
    }
}
