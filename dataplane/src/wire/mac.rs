//! 48-bit MAC addresses and masked MAC terms.
//!
//! An address is packed into the low 48 bits of a `u64` (first octet most significant), so
//! that a filter table can hash and mask it with plain integer operations.

use std::fmt;
use std::str::FromStr;

/// A 48-bit IEEE MAC address, packed big-endian into the low 48 bits of a `u64`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct MacAddr(u64);

/// All 48 bits set: the mask of an exact term.
const ALL_ONES: u64 = 0xFFFF_FFFF_FFFF;

impl MacAddr {
    /// `00:00:00:00:00:00`.
    pub const ZERO: MacAddr = MacAddr(0);
    /// `FF:FF:FF:FF:FF:FF`, the broadcast address and the mask of an exact term.
    pub const BROADCAST: MacAddr = MacAddr(ALL_ONES);

    /// Builds an address from its packed form; bits above the 48th are ignored.
    #[inline]
    pub const fn from_u64(v: u64) -> MacAddr {
        MacAddr(v & ALL_ONES)
    }

    /// The packed form: the six octets big-endian in the low 48 bits.
    #[inline]
    pub const fn to_u64(self) -> u64 {
        self.0
    }

    /// Builds an address from six octets in transmission order.
    #[inline]
    pub const fn from_octets(o: [u8; 6]) -> MacAddr {
        MacAddr(
            (o[0] as u64) << 40
                | (o[1] as u64) << 32
                | (o[2] as u64) << 24
                | (o[3] as u64) << 16
                | (o[4] as u64) << 8
                | o[5] as u64,
        )
    }

    /// The address in the low 48 bits of `v` (two bytes read before it are dropped).
    #[inline]
    pub const fn from_be_u64(v: u64) -> MacAddr {
        MacAddr(v & 0xFFFF_FFFF_FFFF)
    }

    /// Reads an address from the first six bytes of `b`; `None` when `b` is shorter.
    #[inline]
    pub fn from_slice(b: &[u8]) -> Option<MacAddr> {
        let o: [u8; 6] = b.get(..6)?.try_into().ok()?;
        Some(MacAddr::from_octets(o))
    }

    /// The six octets in transmission order.
    pub const fn octets(self) -> [u8; 6] {
        let b = self.0.to_be_bytes();
        [b[2], b[3], b[4], b[5], b[6], b[7]]
    }

    /// Number of bits set; for a mask, its length.
    pub const fn count_ones(self) -> u32 {
        self.0.count_ones()
    }

    /// True for group (multicast and broadcast) addresses.
    #[inline]
    pub const fn is_group(self) -> bool {
        self.0 & (1 << 40) != 0
    }
}

impl fmt::Display for MacAddr {
    /// Uppercase colon hex, as Kismet prints addresses.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let o = self.octets();
        write!(
            f,
            "{:02X}:{:02X}:{:02X}:{:02X}:{:02X}:{:02X}",
            o[0], o[1], o[2], o[3], o[4], o[5]
        )
    }
}

impl fmt::Debug for MacAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// Why a MAC address or MAC term did not parse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MacParseError {
    /// Not six colon- or dash-separated groups of two hex digits.
    BadAddress(String),
    /// The part after `/` is not a valid address.
    BadMask(String),
}

impl fmt::Display for MacParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MacParseError::BadAddress(s) => write!(
                f,
                "invalid MAC address {s:?}: expected six hex pairs like AA:BB:CC:DD:EE:FF"
            ),
            MacParseError::BadMask(s) => write!(
                f,
                "invalid MAC mask {s:?}: expected six hex pairs like FF:FF:FF:00:00:00"
            ),
        }
    }
}

impl std::error::Error for MacParseError {}

fn parse_octets(s: &str) -> Option<u64> {
    let bytes = s.as_bytes();
    if bytes.len() != 17 {
        return None;
    }
    let sep = bytes[2];
    if sep != b':' && sep != b'-' {
        return None;
    }
    let mut v = 0u64;
    for i in 0..6 {
        let p = i * 3;
        if i > 0 && bytes[p - 1] != sep {
            return None;
        }
        let hi = (bytes[p] as char).to_digit(16)?;
        let lo = (bytes[p + 1] as char).to_digit(16)?;
        v = v << 8 | (hi << 4 | lo) as u64;
    }
    Some(v)
}

impl FromStr for MacAddr {
    type Err = MacParseError;
    /// Accepts `AA:BB:CC:DD:EE:FF` or `aa-bb-cc-dd-ee-ff`, case-insensitive.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse_octets(s.trim())
            .map(MacAddr)
            .ok_or_else(|| MacParseError::BadAddress(s.to_string()))
    }
}

/// A MAC filter term: an address and a mask. It matches every address `a` with
/// `a & mask == value & mask`. An exact term has the all-ones mask.
///
/// The value is normalised on construction (bits outside the mask cleared), so two spellings
/// of the same term compare equal and hash alike.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MacTerm {
    value: MacAddr,
    mask: MacAddr,
}

impl MacTerm {
    /// A term matching exactly `addr`.
    pub const fn exact(addr: MacAddr) -> MacTerm {
        MacTerm {
            value: addr,
            mask: MacAddr::BROADCAST,
        }
    }

    /// A term matching `value` under `mask`; host bits of `value` are cleared.
    pub const fn masked(value: MacAddr, mask: MacAddr) -> MacTerm {
        MacTerm {
            value: MacAddr(value.0 & mask.0),
            mask,
        }
    }

    /// The normalised value (host bits clear).
    pub const fn value(self) -> MacAddr {
        self.value
    }

    /// The mask; `FF:FF:FF:FF:FF:FF` for an exact term.
    pub const fn mask(self) -> MacAddr {
        self.mask
    }

    /// True when the mask has all 48 bits set.
    pub const fn is_exact(self) -> bool {
        self.mask.0 == ALL_ONES
    }

    /// Whether `addr` falls under this term.
    #[inline]
    pub const fn matches(self, addr: MacAddr) -> bool {
        addr.0 & self.mask.0 == self.value.0
    }
}

impl fmt::Display for MacTerm {
    /// `AA:BB:CC:DD:EE:FF` for an exact term, `AA:BB:CC:00:00:00/FF:FF:FF:00:00:00` otherwise.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_exact() {
            write!(f, "{}", self.value)
        } else {
            write!(f, "{}/{}", self.value, self.mask)
        }
    }
}

impl fmt::Debug for MacTerm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl FromStr for MacTerm {
    type Err = MacParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.split_once('/') {
            None => Ok(MacTerm::exact(s.parse()?)),
            Some((v, m)) => {
                let value: MacAddr = v.parse()?;
                let mask = parse_octets(m.trim())
                    .map(MacAddr)
                    .ok_or_else(|| MacParseError::BadMask(m.to_string()))?;
                Ok(MacTerm::masked(value, mask))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints_addresses() {
        let a: MacAddr = "aa:bb:cc:dd:ee:0f".parse().unwrap();
        assert_eq!(a.to_u64(), 0xaabb_ccdd_ee0f);
        assert_eq!(a.to_string(), "AA:BB:CC:DD:EE:0F");
        assert_eq!(a.octets(), [0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0x0f]);
        assert_eq!("AA-BB-CC-DD-EE-0F".parse::<MacAddr>().unwrap(), a);
        assert_eq!(
            MacAddr::from_slice(&[1, 2, 3, 4, 5, 6, 7])
                .unwrap()
                .to_string(),
            "01:02:03:04:05:06"
        );
        assert!(MacAddr::from_slice(&[1, 2, 3]).is_none());
    }

    #[test]
    fn rejects_bad_addresses() {
        for bad in [
            "",
            "aa:bb:cc:dd:ee",
            "aa:bb:cc:dd:ee:ff:00",
            "aa:bb:cc:dd:ee:fg",
            "aa:bb-cc:dd:ee:ff",
            "aabbccddeeff",
            "+a:bb:cc:dd:ee:ff",
            "aa:bb:cc:dd:ee:f",
        ] {
            assert!(bad.parse::<MacAddr>().is_err(), "{bad:?} parsed");
        }
        let e = "zz".parse::<MacAddr>().unwrap_err().to_string();
        assert!(e.contains("\"zz\""), "{e}");
    }

    #[test]
    fn masked_terms_clear_host_bits() {
        let t: MacTerm = "AA:BB:CC:DD:EE:FF/FF:FF:FF:00:00:00".parse().unwrap();
        assert_eq!(t.to_string(), "AA:BB:CC:00:00:00/FF:FF:FF:00:00:00");
        assert!(t.matches("aa:bb:cc:01:02:03".parse().unwrap()));
        assert!(!t.matches("aa:bb:cd:01:02:03".parse().unwrap()));
        let e: MacTerm = "aa:bb:cc:dd:ee:ff/ff:ff:ff:ff:ff:ff".parse().unwrap();
        assert!(e.is_exact());
        assert_eq!(e.to_string(), "AA:BB:CC:DD:EE:FF");
        assert!(matches!(
            "aa:bb:cc:dd:ee:ff/ff".parse::<MacTerm>(),
            Err(MacParseError::BadMask(_))
        ));
        let all: MacTerm = "12:34:56:78:9a:bc/00:00:00:00:00:00".parse().unwrap();
        assert!(all.matches(MacAddr::ZERO) && all.matches(MacAddr::BROADCAST));
    }
}
