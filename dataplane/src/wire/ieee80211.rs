//! The 802.11 MAC header: frame control, duration, the address fields, sequence control, and
//! the mapping from address fields to the four roles a filter matches on (API.md section 2).

use super::{MacAddr, WireError};

/// Frame control byte 1 flags.
const TO_DS: u8 = 0x01;
const FROM_DS: u8 = 0x02;
const MORE_FRAGMENTS: u8 = 0x04;
const RETRY: u8 = 0x08;
const PROTECTED: u8 = 0x40;
const ORDER: u8 = 0x80;

/// Byte offsets of the header fields.
mod field {
    pub const FC: usize = 0;
    pub const DURATION: usize = 2;
    pub const A1: usize = 4;
    pub const A2: usize = 10;
    pub const A3: usize = 16;
    pub const SEQ: usize = 22;
    pub const A4: usize = 24;
    /// The end of a management frame's MAC header (sequence control ends it).
    pub const MGMT_BODY: usize = 24;
    /// The HT Control field that the Order bit adds to a management frame.
    pub const HT_CONTROL_LEN: usize = 4;
}

/// Control frame subtypes that the mapping treats specially.
mod control {
    pub const CONTROL_WRAPPER: u8 = 7;
    pub const PS_POLL: u8 = 10;
    pub const CTS: u8 = 12;
    pub const ACK: u8 = 13;
}

/// The frame type (frame control bits 2-3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FrameKind {
    Management,
    Control,
    Data,
    Extension,
}

impl FrameKind {
    /// Lowercase name as `inspect` prints it.
    pub const fn name(self) -> &'static str {
        match self {
            FrameKind::Management => "management",
            FrameKind::Control => "control",
            FrameKind::Data => "data",
            FrameKind::Extension => "extension",
        }
    }
}

/// Where each address role is taken from: an address field number (1-4), or none.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Layout {
    source: u8,
    destination: u8,
    network: u8,
    other: u8,
    /// Bytes the frame must hold for every address the layout names.
    need: u8,
}

const fn layout(source: u8, destination: u8, network: u8, other: u8) -> Layout {
    let mut max = source;
    if destination > max {
        max = destination;
    }
    if network > max {
        max = network;
    }
    if other > max {
        max = other;
    }
    // Address n ends at 4 + 6n, except A4 which follows sequence control.
    let need = match max {
        0 => 2,
        4 => 30,
        n => 4 + 6 * n,
    };
    Layout {
        source,
        destination,
        network,
        other,
        need,
    }
}

/// The four address roles of one frame; `None` where the frame type has no such address.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Addresses {
    /// The transmitting station that originated the frame (SA, else TA).
    pub source: Option<MacAddr>,
    /// The final recipient (DA, else RA).
    pub destination: Option<MacAddr>,
    /// The BSSID.
    pub network: Option<MacAddr>,
    /// The fourth address slot: the transmitter of a 4-address (WDS/mesh) frame.
    pub other: Option<MacAddr>,
}

/// A checked view of an 802.11 header: once [`Header::new`] succeeds, every address its type
/// names is inside the buffer and no accessor panics.
#[derive(Clone, Copy, Debug)]
pub struct Header<'a> {
    data: &'a [u8],
    layout: Layout,
}

impl<'a> Header<'a> {
    /// Checks that `data` starts with an 802.11 header long enough for the addresses its type
    /// needs.
    #[inline]
    pub fn new(data: &'a [u8]) -> Result<Header<'a>, WireError> {
        if data.len() < 2 {
            return Err(WireError::FrameTooShort {
                need: 2,
                have: data.len(),
            });
        }
        let fc0 = data[0];
        let version = fc0 & 0x03;
        if version != 0 {
            return Err(WireError::UnsupportedProtocolVersion(version));
        }
        let layout = Self::layout_for(fc0, data[1], data.len());
        if data.len() < layout.need as usize {
            return Err(WireError::FrameTooShort {
                need: layout.need as usize,
                have: data.len(),
            });
        }
        Ok(Header { data, layout })
    }

    /// The address layout of API.md's table for this frame control.
    #[inline]
    fn layout_for(fc0: u8, fc1: u8, len: usize) -> Layout {
        let subtype = fc0 >> 4;
        match (fc0 >> 2) & 0x03 {
            0 => layout(2, 1, 3, 0),
            2 => match fc1 & (TO_DS | FROM_DS) {
                0 => layout(2, 1, 3, 0),
                FROM_DS => layout(3, 1, 2, 0),
                TO_DS => layout(2, 3, 1, 0),
                _ => layout(4, 3, 0, 2),
            },
            1 => match subtype {
                control::CTS | control::ACK | control::CONTROL_WRAPPER => layout(0, 1, 0, 0),
                control::PS_POLL => layout(2, 0, 1, 0),
                // RTS, BlockAckReq, BlockAck, CF-End, CF-End+CF-Ack, Trigger, TACK,
                // Beamforming Report Poll, NDP Announcement: TA in A2, RA in A1.
                2..=5 | 8 | 9 | 11 | 14 | 15 => layout(2, 1, 0, 0),
                // Reserved subtypes and DMG control frame extensions: A2 when present.
                _ if len >= 16 => layout(2, 1, 0, 0),
                _ => layout(0, 1, 0, 0),
            },
            // Extension frames: DMG (0) and S1G (1) beacons carry the AP's address in A1.
            _ => match subtype {
                0 | 1 => layout(1, 0, 1, 0),
                _ => layout(0, 0, 0, 0),
            },
        }
    }

    /// The checked bytes, from frame control to the end of the frame (FCS excluded).
    #[inline]
    pub fn as_bytes(&self) -> &'a [u8] {
        self.data
    }

    /// The raw frame control field (little-endian on the air).
    #[inline]
    pub fn frame_control(&self) -> u16 {
        u16::from_le_bytes([self.data[field::FC], self.data[field::FC + 1]])
    }

    /// The frame type.
    #[inline]
    pub fn kind(&self) -> FrameKind {
        match (self.data[0] >> 2) & 0x03 {
            0 => FrameKind::Management,
            1 => FrameKind::Control,
            2 => FrameKind::Data,
            _ => FrameKind::Extension,
        }
    }

    /// The 4-bit subtype.
    #[inline]
    pub fn subtype(&self) -> u8 {
        self.data[0] >> 4
    }

    /// The subtype's name, lowercase with underscores (`qos_data`, `beacon`, `rts`...).
    pub fn subtype_name(&self) -> &'static str {
        subtype_name(self.kind(), self.subtype())
    }

    #[inline]
    pub fn to_ds(&self) -> bool {
        self.data[1] & TO_DS != 0
    }

    #[inline]
    pub fn from_ds(&self) -> bool {
        self.data[1] & FROM_DS != 0
    }

    pub fn more_fragments(&self) -> bool {
        self.data[1] & MORE_FRAGMENTS != 0
    }

    pub fn retry(&self) -> bool {
        self.data[1] & RETRY != 0
    }

    #[inline]
    pub fn protected(&self) -> bool {
        self.data[1] & PROTECTED != 0
    }

    /// The +HTC/Order bit.
    pub fn order(&self) -> bool {
        self.data[1] & ORDER != 0
    }

    /// Duration/ID; `None` for a frame of only a frame control field.
    pub fn duration(&self) -> Option<u16> {
        let b = self.data.get(field::DURATION..field::DURATION + 2)?;
        Some(u16::from_le_bytes([b[0], b[1]]))
    }

    /// Address field `n` (1-4) if the frame is long enough to hold it. Whether the frame's
    /// type has such a field is the business of [`Header::addresses`].
    #[inline]
    pub fn address(&self, n: u8) -> Option<MacAddr> {
        let at = match n {
            1 => field::A1,
            2 => field::A2,
            3 => field::A3,
            4 => field::A4,
            _ => return None,
        };
        // The two bytes before every address field are in the header (frame control,
        // duration or an earlier address), so one 8-byte load reads it.
        let b = self.data.get(at - 2..at + 6)?;
        Some(MacAddr::from_be_u64(u64::from_be_bytes(
            b.try_into().expect("8 bytes"),
        )))
    }

    /// Sequence control (sequence number << 4 | fragment) of management and data frames.
    pub fn sequence_control(&self) -> Option<u16> {
        match self.kind() {
            FrameKind::Management | FrameKind::Data => {
                let b = self.data.get(field::SEQ..field::SEQ + 2)?;
                Some(u16::from_le_bytes([b[0], b[1]]))
            }
            _ => None,
        }
    }

    /// The body of a management frame: what follows its 24-byte header, and the 4-byte HT
    /// Control field when the Order bit is set (on a management frame that bit means +HTC).
    /// [`Header::new`] checks a management frame only up to its third address, so a frame may
    /// end inside sequence control or HT Control: its body is empty. Empty for the other frame
    /// types too, whose header lengths (QoS, A4, +HTC) are not worked out here. An empty body
    /// is the frame's empty tail, so a body always lies within the frame.
    #[inline]
    pub fn body(&self) -> &'a [u8] {
        let start = match (self.kind(), self.order()) {
            (FrameKind::Management, false) => field::MGMT_BODY,
            (FrameKind::Management, true) => field::MGMT_BODY + field::HT_CONTROL_LEN,
            _ => self.data.len(),
        };
        &self.data[start.min(self.data.len())..]
    }

    /// The source / destination / network / other roles of API.md section 2.
    #[inline]
    pub fn addresses(&self) -> Addresses {
        let l = self.layout;
        Addresses {
            source: self.role(l.source),
            destination: self.role(l.destination),
            network: self.role(l.network),
            other: self.role(l.other),
        }
    }

    /// Reads address field `n`, which [`Header::new`] checked is inside the frame.
    #[inline]
    fn role(&self, n: u8) -> Option<MacAddr> {
        let at = match n {
            0 => return None,
            4 => field::A4,
            n => field::A1 + 6 * (n as usize - 1),
        };
        let b: [u8; 8] = self.data[at - 2..at + 6].try_into().expect("8 bytes");
        Some(MacAddr::from_be_u64(u64::from_be_bytes(b)))
    }
}

/// The name of a subtype, lowercase with underscores.
pub fn subtype_name(kind: FrameKind, subtype: u8) -> &'static str {
    const MANAGEMENT: [&str; 16] = [
        "assoc_req",
        "assoc_resp",
        "reassoc_req",
        "reassoc_resp",
        "probe_req",
        "probe_resp",
        "timing_adv",
        "reserved",
        "beacon",
        "atim",
        "disassoc",
        "auth",
        "deauth",
        "action",
        "action_no_ack",
        "reserved",
    ];
    const CONTROL: [&str; 16] = [
        "reserved",
        "reserved",
        "trigger",
        "tack",
        "beamforming_report_poll",
        "ndp_announcement",
        "control_frame_extension",
        "control_wrapper",
        "block_ack_req",
        "block_ack",
        "ps_poll",
        "rts",
        "cts",
        "ack",
        "cf_end",
        "cf_end_cf_ack",
    ];
    const DATA: [&str; 16] = [
        "data",
        "data_cf_ack",
        "data_cf_poll",
        "data_cf_ack_cf_poll",
        "null",
        "cf_ack",
        "cf_poll",
        "cf_ack_cf_poll",
        "qos_data",
        "qos_data_cf_ack",
        "qos_data_cf_poll",
        "qos_data_cf_ack_cf_poll",
        "qos_null",
        "reserved",
        "qos_cf_poll",
        "qos_cf_ack_cf_poll",
    ];
    let i = (subtype & 0x0F) as usize;
    match kind {
        FrameKind::Management => MANAGEMENT[i],
        FrameKind::Control => CONTROL[i],
        FrameKind::Data => DATA[i],
        FrameKind::Extension => match i {
            0 => "dmg_beacon",
            1 => "s1g_beacon",
            _ => "reserved",
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: [u8; 6] = [0xA1; 6];
    const B: [u8; 6] = [0xA2; 6];
    const C: [u8; 6] = [0xA3; 6];
    const D: [u8; 6] = [0xA4; 6];

    fn frame(fc0: u8, fc1: u8, len: usize) -> Vec<u8> {
        let mut f = vec![fc0, fc1, 0, 0];
        for a in [A, B, C] {
            f.extend_from_slice(&a);
        }
        f.extend_from_slice(&[0x10, 0x00]);
        f.extend_from_slice(&D);
        f.resize(len, 0);
        f
    }

    fn m(a: [u8; 6]) -> Option<MacAddr> {
        Some(MacAddr::from_octets(a))
    }

    fn roles(fc0: u8, fc1: u8, len: usize) -> Addresses {
        Header::new(&frame(fc0, fc1, len)).unwrap().addresses()
    }

    #[test]
    fn maps_every_row_of_the_api_table() {
        let none = None;
        // (fc0, fc1, length, source, destination, network, other)
        let rows = [
            (0x80, 0x00, 24, m(B), m(A), m(C), none), // beacon
            (0x08, 0x00, 24, m(B), m(A), m(C), none), // data, no DS
            (0x08, 0x02, 24, m(C), m(A), m(B), none), // data, FromDS
            (0x08, 0x01, 24, m(B), m(C), m(A), none), // data, ToDS
            (0x88, 0x03, 30, m(D), m(C), none, m(B)), // QoS data, WDS
            (0xB4, 0x00, 16, m(B), m(A), none, none), // RTS
            (0x84, 0x00, 16, m(B), m(A), none, none), // BlockAckReq
            (0x94, 0x00, 16, m(B), m(A), none, none), // BlockAck
            (0xC4, 0x00, 10, none, m(A), none, none), // CTS
            (0xD4, 0x00, 10, none, m(A), none, none), // ACK
            (0xA4, 0x00, 16, m(B), none, m(A), none), // PS-Poll
            (0xE4, 0x00, 16, m(B), m(A), none, none), // CF-End
            (0xF4, 0x00, 16, m(B), m(A), none, none), // CF-End+CF-Ack
            (0x74, 0x00, 24, none, m(A), none, none), // control wrapper
            (0x04, 0x00, 10, none, m(A), none, none), // reserved, no room for A2
            (0x04, 0x00, 16, m(B), m(A), none, none), // reserved with A2
            (0x0C, 0x00, 10, m(A), none, m(A), none), // DMG beacon
        ];
        for (fc0, fc1, len, s, d, n, o) in rows {
            let got = roles(fc0, fc1, len);
            assert_eq!(
                got,
                Addresses {
                    source: s,
                    destination: d,
                    network: n,
                    other: o
                },
                "fc {fc0:#04x} {fc1:#04x}"
            );
        }
    }

    #[test]
    fn short_frames_are_errors() {
        assert_eq!(
            Header::new(&frame(0x80, 0, 21)).unwrap_err(),
            WireError::FrameTooShort { need: 22, have: 21 }
        );
        assert_eq!(
            Header::new(&frame(0x88, 0x03, 29)).unwrap_err(),
            WireError::FrameTooShort { need: 30, have: 29 }
        );
        assert!(Header::new(&frame(0xD4, 0, 10)).is_ok());
        assert!(Header::new(&frame(0xD4, 0, 9)).is_err());
        assert!(Header::new(&frame(0xB4, 0, 15)).is_err());
        assert!(Header::new(&[0x80]).is_err());
        assert_eq!(
            Header::new(&frame(0x81, 0, 24)).unwrap_err(),
            WireError::UnsupportedProtocolVersion(1)
        );
    }

    #[test]
    fn management_body_follows_the_header() {
        let mut f = frame(0x80, 0x00, 24);
        f.extend_from_slice(&[1, 2, 3, 4, 5, 6]);
        assert_eq!(Header::new(&f).unwrap().body(), &[1, 2, 3, 4, 5, 6]);
        // Order bit: HT Control (4 bytes) precedes the body.
        f[1] = 0x80;
        assert_eq!(Header::new(&f).unwrap().body(), &[5, 6]);
        assert!(Header::new(&f[..27]).unwrap().body().is_empty());
        assert!(Header::new(&f[..28]).unwrap().body().is_empty());
        f[1] = 0x00;
        // A header with nothing after it, and one cut inside sequence control.
        assert!(Header::new(&f[..24]).unwrap().body().is_empty());
        assert!(Header::new(&f[..23]).unwrap().body().is_empty());
        assert!(Header::new(&f[..22]).unwrap().body().is_empty());
        // Data and control frames have no management body.
        assert!(Header::new(&frame(0x08, 0x00, 40))
            .unwrap()
            .body()
            .is_empty());
        assert!(Header::new(&frame(0xB4, 0x00, 40))
            .unwrap()
            .body()
            .is_empty());
    }

    #[test]
    fn reads_header_fields() {
        let mut f = frame(0x88, 0x4B, 30);
        f[2] = 0x2C;
        f[3] = 0x01;
        let h = Header::new(&f).unwrap();
        assert_eq!(h.kind(), FrameKind::Data);
        assert_eq!(h.subtype_name(), "qos_data");
        assert!(h.to_ds() && h.from_ds() && h.retry() && h.protected() && !h.order());
        assert_eq!(h.duration(), Some(300));
        assert_eq!(h.sequence_control(), Some(0x0010));
        assert_eq!(h.frame_control(), 0x4B88);
    }
}
