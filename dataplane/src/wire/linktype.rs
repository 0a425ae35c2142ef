//! The capture link types airsift understands (pcap `LINKTYPE_*` numbers).

use std::fmt;

/// What precedes the 802.11 frame in a captured record.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LinkType {
    /// `LINKTYPE_IEEE802_11` (105): the 802.11 frame alone.
    Ieee80211,
    /// `LINKTYPE_IEEE802_11_PRISM` (119): a Prism monitor header.
    Prism,
    /// `LINKTYPE_IEEE802_11_RADIOTAP` (127): a radiotap header, what Linux monitor interfaces give.
    Radiotap,
    /// `LINKTYPE_PPI` (192): Per-Packet Information header.
    Ppi,
}

impl LinkType {
    /// Maps a pcap link type number; upper bits (pcap's FCS-length field) are ignored.
    pub fn from_dlt(dlt: u32) -> Option<LinkType> {
        match dlt & 0xFFFF {
            105 => Some(LinkType::Ieee80211),
            119 => Some(LinkType::Prism),
            127 => Some(LinkType::Radiotap),
            192 => Some(LinkType::Ppi),
            _ => None,
        }
    }

    /// The pcap link type number.
    pub const fn dlt(self) -> u32 {
        match self {
            LinkType::Ieee80211 => 105,
            LinkType::Prism => 119,
            LinkType::Radiotap => 127,
            LinkType::Ppi => 192,
        }
    }
}

impl fmt::Display for LinkType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            LinkType::Ieee80211 => "ieee80211",
            LinkType::Prism => "prism",
            LinkType::Radiotap => "radiotap",
            LinkType::Ppi => "ppi",
        })
    }
}
