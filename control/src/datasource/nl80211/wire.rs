//! The bytes of the nl80211 conversation: the three requests built (with neli's message types)
//! and the kernel's replies parsed, as pure functions so both are tested without a kernel.
//!
//! Replies are parsed here rather than with neli's decoder because that decoder subtracts the
//! header size from `nlmsg_len` unchecked and panics (debug) on a message shorter than its
//! header; this parser bounds-checks every length and returns an error instead.

use std::fmt;
use std::io::Cursor;

use neli::consts::nl::NlmF;
use neli::genl::{AttrTypeBuilder, GenlmsghdrBuilder, NlattrBuilder, NoUserHeader};
use neli::nl::{NlPayload, NlmsghdrBuilder};
use neli::types::GenlBuffer;
use neli::{Size, ToBytes};

use crate::datasource::channel::{Channel, Width};

// include/uapi/linux/netlink.h
/// `NLMSG_HDRLEN`: `struct nlmsghdr` is 16 bytes.
pub const NLMSG_HDRLEN: usize = 16;
/// `NLMSG_ERROR`: an error, or with error 0 an acknowledgement.
pub const NLMSG_ERROR: u16 = 2;
/// `NLMSG_MIN_TYPE`: types below are netlink's own control messages (NOOP, ERROR, DONE,
/// OVERRUN); from it up, a family's.
pub const NLMSG_MIN_TYPE: u16 = 0x10;
/// `NLM_F_REQUEST`.
pub const NLM_F_REQUEST: u16 = 0x1;
/// `NLM_F_ACK`: ask for an acknowledgement.
pub const NLM_F_ACK: u16 = 0x4;
/// `NLM_F_CAPPED` (on `NLMSG_ERROR`): only the request's header is echoed back.
pub const NLM_F_CAPPED: u16 = 0x100;
/// `NLM_F_ACK_TLVS` (on `NLMSG_ERROR`): extended-ack attributes follow the echoed request.
pub const NLM_F_ACK_TLVS: u16 = 0x200;
/// `NLMSGERR_ATTR_MSG`: the kernel's error text.
pub const NLMSGERR_ATTR_MSG: u16 = 1;
/// `NLA_HDRLEN`: `struct nlattr` is 4 bytes.
pub const NLA_HDRLEN: usize = 4;
/// `NLA_TYPE_MASK`: the attribute type without the nested/byte-order flag bits.
pub const NLA_TYPE_MASK: u16 = !(0x8000 | 0x4000);

// include/uapi/linux/genetlink.h
/// `GENL_HDRLEN`: `struct genlmsghdr` (cmd, version, reserved) is 4 bytes.
pub const GENL_HDRLEN: usize = 4;
/// `GENL_ID_CTRL`: the generic netlink controller's fixed family id.
pub const GENL_ID_CTRL: u16 = 16;
/// `CTRL_CMD_GETFAMILY`.
pub const CTRL_CMD_GETFAMILY: u8 = 3;
/// `CTRL_ATTR_FAMILY_ID` (u16).
pub const CTRL_ATTR_FAMILY_ID: u16 = 1;
/// `CTRL_ATTR_FAMILY_NAME` (NUL-terminated string).
pub const CTRL_ATTR_FAMILY_NAME: u16 = 2;
/// Controller protocol version libnl sends with `CTRL_CMD_GETFAMILY`.
pub const CTRL_VERSION: u8 = 1;

/// The generic netlink family name cfg80211 registers.
pub const NL80211_FAMILY_NAME: &str = "nl80211";
/// nl80211 ignores the genl version; iw and Kismet send 0.
pub const NL80211_VERSION: u8 = 0;

// include/uapi/linux/nl80211.h: enum nl80211_commands
/// `NL80211_CMD_SET_WIPHY`: with `NL80211_ATTR_IFINDEX`, tunes that interface (as iw and
/// Kismet do for monitor interfaces).
pub const NL80211_CMD_SET_WIPHY: u8 = 2;
/// `NL80211_CMD_GET_INTERFACE`.
pub const NL80211_CMD_GET_INTERFACE: u8 = 5;
/// `NL80211_CMD_NEW_INTERFACE`: the command of a `GET_INTERFACE` reply.
pub const NL80211_CMD_NEW_INTERFACE: u8 = 7;
/// `NL80211_CMD_SET_CHANNEL`: the per-interface alternative to `SET_WIPHY`.
pub const NL80211_CMD_SET_CHANNEL: u8 = 65;

// include/uapi/linux/nl80211.h: enum nl80211_attrs
/// `NL80211_ATTR_WIPHY` (u32 wiphy index).
pub const NL80211_ATTR_WIPHY: u16 = 1;
/// `NL80211_ATTR_IFINDEX` (u32).
pub const NL80211_ATTR_IFINDEX: u16 = 3;
/// `NL80211_ATTR_IFNAME` (string).
pub const NL80211_ATTR_IFNAME: u16 = 4;
/// `NL80211_ATTR_IFTYPE` (u32, `enum nl80211_iftype`).
pub const NL80211_ATTR_IFTYPE: u16 = 5;
/// `NL80211_ATTR_WIPHY_FREQ` (u32 MHz, the control channel).
pub const NL80211_ATTR_WIPHY_FREQ: u16 = 38;
/// `NL80211_ATTR_WIPHY_CHANNEL_TYPE` (u32, `enum nl80211_channel_type`).
pub const NL80211_ATTR_WIPHY_CHANNEL_TYPE: u16 = 39;
/// `NL80211_ATTR_CHANNEL_WIDTH` (u32, `enum nl80211_chan_width`).
pub const NL80211_ATTR_CHANNEL_WIDTH: u16 = 159;
/// `NL80211_ATTR_CENTER_FREQ1` (u32 MHz).
pub const NL80211_ATTR_CENTER_FREQ1: u16 = 160;

// include/uapi/linux/nl80211.h: enum nl80211_iftype
/// `NL80211_IFTYPE_MONITOR`.
pub const NL80211_IFTYPE_MONITOR: u32 = 6;

// include/uapi/linux/nl80211.h: enum nl80211_chan_width
pub const NL80211_CHAN_WIDTH_20_NOHT: u32 = 0;
pub const NL80211_CHAN_WIDTH_20: u32 = 1;
pub const NL80211_CHAN_WIDTH_40: u32 = 2;
pub const NL80211_CHAN_WIDTH_80: u32 = 3;
pub const NL80211_CHAN_WIDTH_80P80: u32 = 4;
pub const NL80211_CHAN_WIDTH_160: u32 = 5;
pub const NL80211_CHAN_WIDTH_5: u32 = 6;
pub const NL80211_CHAN_WIDTH_10: u32 = 7;

// include/uapi/linux/nl80211.h: enum nl80211_channel_type
pub const NL80211_CHAN_NO_HT: u32 = 0;
pub const NL80211_CHAN_HT20: u32 = 1;
pub const NL80211_CHAN_HT40MINUS: u32 = 2;
pub const NL80211_CHAN_HT40PLUS: u32 = 3;

/// A message that could not be built (neli refused it; not expected for these messages).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncodeError(pub String);

impl fmt::Display for EncodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "building a netlink message: {}", self.0)
    }
}

fn enc(e: impl fmt::Display) -> EncodeError {
    EncodeError(e.to_string())
}

/// An attribute's payload: the two kinds these requests carry.
enum Value<'a> {
    U32(u32),
    Str(&'a str),
}

/// One generic netlink request: header, genl header, attributes, each padded to 4 bytes.
fn request(
    family: u16,
    flags: u16,
    seq: u32,
    cmd: u8,
    version: u8,
    attrs: &[(u16, Value<'_>)],
) -> Result<Vec<u8>, EncodeError> {
    let mut buf = GenlBuffer::<u16, neli::types::Buffer>::new();
    for (ty, value) in attrs {
        let ty = AttrTypeBuilder::default()
            .nla_type(*ty)
            .build()
            .map_err(enc)?;
        let attr = match value {
            Value::U32(v) => NlattrBuilder::default()
                .nla_type(ty)
                .nla_payload(*v)
                .build(),
            Value::Str(s) => NlattrBuilder::default()
                .nla_type(ty)
                .nla_payload(*s)
                .build(),
        };
        buf.push(attr.map_err(enc)?);
    }
    let genl = GenlmsghdrBuilder::<u8, u16, NoUserHeader>::default()
        .cmd(cmd)
        .version(version)
        .attrs(buf)
        .build()
        .map_err(enc)?;
    let msg = NlmsghdrBuilder::default()
        .nl_type(family)
        .nl_flags(NlmF::from_bits_retain(flags))
        .nl_seq(seq)
        .nl_pid(0)
        .nl_payload(NlPayload::Payload(genl))
        .build()
        .map_err(enc)?;
    let mut out = Cursor::new(Vec::with_capacity(msg.padded_size()));
    msg.to_bytes(&mut out).map_err(enc)?;
    Ok(out.into_inner())
}

/// `CTRL_CMD_GETFAMILY` for "nl80211": asks the controller for the family's id.
pub fn get_family_request(seq: u32) -> Result<Vec<u8>, EncodeError> {
    request(
        GENL_ID_CTRL,
        NLM_F_REQUEST,
        seq,
        CTRL_CMD_GETFAMILY,
        CTRL_VERSION,
        &[(CTRL_ATTR_FAMILY_NAME, Value::Str(NL80211_FAMILY_NAME))],
    )
}

/// `NL80211_CMD_GET_INTERFACE` for one interface. No ack is asked for: the reply, or an
/// error, is the only answer.
pub fn get_interface_request(family: u16, seq: u32, ifindex: u32) -> Result<Vec<u8>, EncodeError> {
    request(
        family,
        NLM_F_REQUEST,
        seq,
        NL80211_CMD_GET_INTERFACE,
        NL80211_VERSION,
        &[(NL80211_ATTR_IFINDEX, Value::U32(ifindex))],
    )
}

/// nl80211's width and, for 20 and 40 MHz, channel type for a channel, as iw sends them: the
/// kernel takes the channel type when present (and checks `center_freq1` against it), else the
/// width with `center_freq1`.
pub fn chandef(ch: &Channel) -> (u32, Option<u32>) {
    match ch.width {
        Width::NoHt20 => (NL80211_CHAN_WIDTH_20_NOHT, Some(NL80211_CHAN_NO_HT)),
        Width::Ht20 => (NL80211_CHAN_WIDTH_20, Some(NL80211_CHAN_HT20)),
        Width::Ht40Plus => (NL80211_CHAN_WIDTH_40, Some(NL80211_CHAN_HT40PLUS)),
        Width::Ht40Minus => (NL80211_CHAN_WIDTH_40, Some(NL80211_CHAN_HT40MINUS)),
        Width::Vht80 => (NL80211_CHAN_WIDTH_80, None),
        Width::Vht160 => (NL80211_CHAN_WIDTH_160, None),
        Width::Mhz5 => (NL80211_CHAN_WIDTH_5, None),
        Width::Mhz10 => (NL80211_CHAN_WIDTH_10, None),
    }
}

/// `NL80211_CMD_SET_WIPHY` tuning interface `ifindex` to `ch`, asking for an ack: attributes
/// IFINDEX, WIPHY_FREQ, CHANNEL_WIDTH, then WIPHY_CHANNEL_TYPE (20/40 MHz) and CENTER_FREQ1
/// (when the channel has one), in that order.
pub fn set_channel_request(
    family: u16,
    seq: u32,
    ifindex: u32,
    ch: &Channel,
) -> Result<Vec<u8>, EncodeError> {
    let (width, chan_type) = chandef(ch);
    let mut attrs = vec![
        (NL80211_ATTR_IFINDEX, Value::U32(ifindex)),
        (NL80211_ATTR_WIPHY_FREQ, Value::U32(ch.freq_mhz)),
        (NL80211_ATTR_CHANNEL_WIDTH, Value::U32(width)),
    ];
    if let Some(t) = chan_type {
        attrs.push((NL80211_ATTR_WIPHY_CHANNEL_TYPE, Value::U32(t)));
    }
    if let Some(c) = ch.center_freq1_mhz {
        attrs.push((NL80211_ATTR_CENTER_FREQ1, Value::U32(c)));
    }
    request(
        family,
        NLM_F_REQUEST | NLM_F_ACK,
        seq,
        NL80211_CMD_SET_WIPHY,
        NL80211_VERSION,
        &attrs,
    )
}

/// Bytes the kernel sent that are not well-formed netlink.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WireError {
    /// A length field that is too small or runs past the data.
    Truncated(&'static str),
    /// A required attribute is absent.
    Missing(&'static str),
    /// An attribute's payload has the wrong size.
    BadAttribute(&'static str),
    /// A genl message with a command other than the reply expected.
    UnexpectedCommand(u8),
}

impl fmt::Display for WireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WireError::Truncated(what) => write!(f, "malformed netlink reply: truncated {what}"),
            WireError::Missing(what) => write!(f, "netlink reply lacks {what}"),
            WireError::BadAttribute(what) => write!(f, "netlink reply has a malformed {what}"),
            WireError::UnexpectedCommand(c) => write!(f, "unexpected netlink reply command {c}"),
        }
    }
}

/// What the kernel answered to one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// `NLMSG_ERROR` with error 0.
    Ack,
    /// `NLMSG_ERROR` with a negative errno (stored positive) and the extended-ack text, if any.
    Error { errno: i32, message: Option<String> },
    /// A generic netlink message: its command and its attribute bytes.
    Genl { cmd: u8, attrs: Vec<u8> },
}

fn read_u16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_ne_bytes(
        b.get(at..at.checked_add(2)?)?.try_into().ok()?,
    ))
}

fn read_u32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_ne_bytes(
        b.get(at..at.checked_add(4)?)?.try_into().ok()?,
    ))
}

/// Rounds up to netlink's 4-byte alignment.
fn align4(n: usize) -> usize {
    n.saturating_add(3) & !3
}

/// One netlink message's header fields and payload.
struct Message<'a> {
    kind: u16,
    flags: u16,
    seq: u32,
    /// The port the message is addressed to (for a kernel reply, the requester's).
    port: u32,
    payload: &'a [u8],
}

/// The netlink messages in one datagram.
fn messages(mut buf: &[u8]) -> Result<Vec<Message<'_>>, WireError> {
    let header = || WireError::Truncated("message header");
    let mut out = Vec::new();
    while buf.len() >= NLMSG_HDRLEN {
        let len = read_u32(buf, 0).ok_or_else(header)? as usize;
        let payload = buf
            .get(NLMSG_HDRLEN..len)
            .ok_or(WireError::Truncated("message"))?;
        out.push(Message {
            kind: read_u16(buf, 4).ok_or_else(header)?,
            flags: read_u16(buf, 6).ok_or_else(header)?,
            seq: read_u32(buf, 8).ok_or_else(header)?,
            port: read_u32(buf, 12).ok_or_else(header)?,
            payload,
        });
        buf = buf.get(align4(len)..).unwrap_or(&[]);
    }
    Ok(out)
}

/// The attributes in `buf`, as (type without flag bits, payload). Stops at a length that does
/// not fit, as an error.
pub fn attributes(mut buf: &[u8]) -> Result<Vec<(u16, &[u8])>, WireError> {
    let mut out = Vec::new();
    while buf.len() >= NLA_HDRLEN {
        let truncated = || WireError::Truncated("attribute");
        let len = read_u16(buf, 0).ok_or_else(truncated)? as usize;
        let ty = read_u16(buf, 2).ok_or_else(truncated)? & NLA_TYPE_MASK;
        out.push((ty, buf.get(NLA_HDRLEN..len).ok_or_else(truncated)?));
        buf = buf.get(align4(len)..).unwrap_or(&[]);
    }
    Ok(out)
}

/// The answer to request `seq` in one datagram received on netlink port `port`; `None` when
/// the datagram holds no message for that port with that sequence number (a stale answer to
/// an earlier request). The kernel addresses its replies and acks to the requesting port.
pub fn parse_reply(buf: &[u8], seq: u32, port: u32) -> Result<Option<Reply>, WireError> {
    for Message {
        kind,
        flags,
        seq: mseq,
        port: to,
        payload,
    } in messages(buf)?
    {
        if mseq != seq || to != port {
            continue;
        }
        if kind == NLMSG_ERROR {
            return parse_error(flags, payload).map(Some);
        }
        if kind < NLMSG_MIN_TYPE {
            // NLMSG_NOOP, NLMSG_DONE, NLMSG_OVERRUN and reserved control types carry no answer.
            continue;
        }
        if payload.len() < GENL_HDRLEN {
            return Err(WireError::Truncated("generic netlink header"));
        }
        return Ok(Some(Reply::Genl {
            cmd: payload[0],
            attrs: payload[GENL_HDRLEN..].to_vec(),
        }));
    }
    Ok(None)
}

/// Longest extended-ack text kept.
const EXT_ACK_MAX: usize = 200;

/// `struct nlmsgerr` (error, then the echoed request) and any extended-ack attributes.
fn parse_error(flags: u16, payload: &[u8]) -> Result<Reply, WireError> {
    let code = read_u32(payload, 0).ok_or(WireError::Truncated("error code"))? as i32;
    if code == 0 {
        return Ok(Reply::Ack);
    }
    let mut message = None;
    if flags & NLM_F_ACK_TLVS != 0 {
        let echoed = if flags & NLM_F_CAPPED != 0 {
            NLMSG_HDRLEN
        } else {
            let len = read_u32(payload, 4).ok_or(WireError::Truncated("echoed request"))?;
            align4(len as usize)
        };
        let tlvs = payload.get(4usize.saturating_add(echoed)..).unwrap_or(&[]);
        for (ty, value) in attributes(tlvs)? {
            if ty == NLMSGERR_ATTR_MSG {
                let text = value.split(|&b| b == 0).next().unwrap_or(&[]);
                let text = String::from_utf8_lossy(text);
                message = Some(text.chars().take(EXT_ACK_MAX).collect());
            }
        }
    }
    Ok(Reply::Error {
        errno: code.checked_neg().unwrap_or(i32::MAX),
        message,
    })
}

/// A u32 attribute's value (exactly 4 bytes).
fn attr_u32(value: &[u8], what: &'static str) -> Result<u32, WireError> {
    if value.len() != 4 {
        return Err(WireError::BadAttribute(what));
    }
    read_u32(value, 0).ok_or(WireError::BadAttribute(what))
}

/// The family id in a `CTRL_CMD_GETFAMILY` reply's attributes.
pub fn parse_family_id(attrs: &[u8]) -> Result<u16, WireError> {
    let id = attributes(attrs)?
        .into_iter()
        .find(|(ty, _)| *ty == CTRL_ATTR_FAMILY_ID)
        .ok_or(WireError::Missing("CTRL_ATTR_FAMILY_ID"))?
        .1;
    if id.len() != 2 {
        return Err(WireError::BadAttribute("CTRL_ATTR_FAMILY_ID"));
    }
    read_u16(id, 0).ok_or(WireError::BadAttribute("CTRL_ATTR_FAMILY_ID"))
}

/// What `NL80211_CMD_GET_INTERFACE` says about an interface.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RadioInfo {
    pub ifindex: u32,
    /// The wiphy (radio) the interface belongs to.
    pub wiphy: u32,
    /// `enum nl80211_iftype`.
    pub iftype: u32,
    pub ifname: Option<String>,
    /// Current control frequency, when the kernel reports one (an interface that is up and
    /// tuned).
    pub freq_mhz: Option<u32>,
    /// Current `enum nl80211_chan_width`, when reported.
    pub channel_width: Option<u32>,
    pub center_freq1_mhz: Option<u32>,
}

impl RadioInfo {
    /// Whether the interface is in monitor mode.
    pub fn is_monitor(&self) -> bool {
        self.iftype == NL80211_IFTYPE_MONITOR
    }
}

/// A `GET_INTERFACE` reply's attributes. IFINDEX, WIPHY and IFTYPE are required (the kernel
/// always sends them for a network interface); the channel is optional.
pub fn parse_interface(attrs: &[u8]) -> Result<RadioInfo, WireError> {
    let (mut ifindex, mut wiphy, mut iftype) = (None, None, None);
    let mut info = RadioInfo {
        ifindex: 0,
        wiphy: 0,
        iftype: 0,
        ifname: None,
        freq_mhz: None,
        channel_width: None,
        center_freq1_mhz: None,
    };
    for (ty, value) in attributes(attrs)? {
        match ty {
            NL80211_ATTR_IFINDEX => ifindex = Some(attr_u32(value, "NL80211_ATTR_IFINDEX")?),
            NL80211_ATTR_WIPHY => wiphy = Some(attr_u32(value, "NL80211_ATTR_WIPHY")?),
            NL80211_ATTR_IFTYPE => iftype = Some(attr_u32(value, "NL80211_ATTR_IFTYPE")?),
            NL80211_ATTR_IFNAME => {
                let name = value.split(|&b| b == 0).next().unwrap_or(&[]);
                info.ifname = Some(String::from_utf8_lossy(name).into_owned());
            }
            NL80211_ATTR_WIPHY_FREQ => {
                info.freq_mhz = Some(attr_u32(value, "NL80211_ATTR_WIPHY_FREQ")?)
            }
            NL80211_ATTR_CHANNEL_WIDTH => {
                info.channel_width = Some(attr_u32(value, "NL80211_ATTR_CHANNEL_WIDTH")?)
            }
            NL80211_ATTR_CENTER_FREQ1 => {
                info.center_freq1_mhz = Some(attr_u32(value, "NL80211_ATTR_CENTER_FREQ1")?)
            }
            _ => {}
        }
    }
    info.ifindex = ifindex.ok_or(WireError::Missing("NL80211_ATTR_IFINDEX"))?;
    info.wiphy = wiphy.ok_or(WireError::Missing("NL80211_ATTR_WIPHY"))?;
    info.iftype = iftype.ok_or(WireError::Missing("NL80211_ATTR_IFTYPE"))?;
    Ok(info)
}
