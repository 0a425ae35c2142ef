//! The RSN element (WPA2/WPA3) and the WPA vendor element that preceded it: version, group
//! cipher, pairwise cipher list, key management (AKM) list and, in RSN, capabilities.
//!
//! Suites are four bytes: an OUI and a type. RSN uses 00-0F-AC (and 50-6F-9A for DPP), WPA
//! uses 00-50-F2 with the same type numbers for the suites both have, so both decode into the
//! same sets. A suite of another OUI or an unassigned type is skipped: a network advertising
//! something new still has the suites we know.

use super::IeError;

/// OUI of IEEE 802.11 suites.
const OUI_IEEE: [u8; 3] = [0x00, 0x0F, 0xAC];
/// OUI of the WPA element's suites (Microsoft).
const OUI_WPA: [u8; 3] = [0x00, 0x50, 0xF2];
/// OUI of the Wi-Fi Alliance (DPP's AKM).
const OUI_WFA: [u8; 3] = [0x50, 0x6F, 0x9A];
/// The WFA suite type of DPP.
const WFA_DPP: u8 = 2;

/// A set of cipher suites. Bit n is 00-0F-AC suite type n; WPA's suites (WEP-40 1, TKIP 2,
/// CCMP 4, WEP-104 5) have the same numbers and bits.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Ciphers(u16);

impl Ciphers {
    pub const EMPTY: Ciphers = Ciphers(0);
    /// Pairwise only: no pairwise cipher, the group cipher protects everything.
    pub const USE_GROUP: Ciphers = Ciphers(1 << 0);
    pub const WEP40: Ciphers = Ciphers(1 << 1);
    pub const TKIP: Ciphers = Ciphers(1 << 2);
    pub const CCMP128: Ciphers = Ciphers(1 << 4);
    pub const WEP104: Ciphers = Ciphers(1 << 5);
    /// Group management only.
    pub const BIP_CMAC128: Ciphers = Ciphers(1 << 6);
    pub const GCMP128: Ciphers = Ciphers(1 << 8);
    pub const GCMP256: Ciphers = Ciphers(1 << 9);
    pub const CCMP256: Ciphers = Ciphers(1 << 10);
    /// Group management only.
    pub const BIP_GMAC128: Ciphers = Ciphers(1 << 11);
    /// Group management only.
    pub const BIP_GMAC256: Ciphers = Ciphers(1 << 12);
    /// Group management only.
    pub const BIP_CMAC256: Ciphers = Ciphers(1 << 13);

    /// The 00-0F-AC types that have a constant above.
    const IEEE_TYPES: u16 = Self::WPA_TYPES
        | Self::BIP_CMAC128.0
        | Self::GCMP128.0
        | Self::GCMP256.0
        | Self::CCMP256.0
        | Self::BIP_GMAC128.0
        | Self::BIP_GMAC256.0
        | Self::BIP_CMAC256.0;
    /// The 00-50-F2 types: none, WEP-40, TKIP, CCMP, WEP-104 (3, WRAP, was never deployed).
    const WPA_TYPES: u16 =
        Self::USE_GROUP.0 | Self::WEP40.0 | Self::TKIP.0 | Self::CCMP128.0 | Self::WEP104.0;

    /// The raw bits.
    pub const fn bits(self) -> u16 {
        self.0
    }

    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// Whether every suite of `other` is in the set.
    pub const fn contains(self, other: Ciphers) -> bool {
        self.0 & other.0 == other.0
    }

    /// Whether any suite of `other` is in the set.
    pub const fn intersects(self, other: Ciphers) -> bool {
        self.0 & other.0 != 0
    }

    /// The suite's bit, or nothing for a suite this set has no bit for.
    fn from_suite(s: [u8; 4], wpa: bool) -> Ciphers {
        let [a, b, c, t] = s;
        let (oui, known) = if wpa {
            (OUI_WPA, Self::WPA_TYPES)
        } else {
            (OUI_IEEE, Self::IEEE_TYPES)
        };
        if [a, b, c] != oui || t >= 16 {
            return Ciphers::EMPTY;
        }
        Ciphers((1 << t) & known)
    }
}

impl std::ops::BitOr for Ciphers {
    type Output = Ciphers;
    fn bitor(self, rhs: Ciphers) -> Ciphers {
        Ciphers(self.0 | rhs.0)
    }
}

impl std::ops::BitOrAssign for Ciphers {
    fn bitor_assign(&mut self, rhs: Ciphers) {
        self.0 |= rhs.0;
    }
}

/// A set of key managements (AKM suites). Bit n is 00-0F-AC suite type n; WPA's two (802.1X 1,
/// PSK 2) have the same numbers and bits; DPP, a Wi-Fi Alliance suite, is bit 31.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Akms(u32);

impl Akms {
    pub const EMPTY: Akms = Akms(0);
    pub const IEEE8021X: Akms = Akms(1 << 1);
    pub const PSK: Akms = Akms(1 << 2);
    pub const FT_IEEE8021X: Akms = Akms(1 << 3);
    pub const FT_PSK: Akms = Akms(1 << 4);
    pub const IEEE8021X_SHA256: Akms = Akms(1 << 5);
    pub const PSK_SHA256: Akms = Akms(1 << 6);
    pub const SAE: Akms = Akms(1 << 8);
    pub const FT_SAE: Akms = Akms(1 << 9);
    /// 802.1X Suite B (SHA-256).
    pub const SUITE_B: Akms = Akms(1 << 11);
    /// 802.1X Suite B 192-bit (SHA-384): WPA3-Enterprise 192-bit.
    pub const SUITE_B_192: Akms = Akms(1 << 12);
    pub const FT_IEEE8021X_SHA384: Akms = Akms(1 << 13);
    pub const FILS_SHA256: Akms = Akms(1 << 14);
    pub const FILS_SHA384: Akms = Akms(1 << 15);
    pub const FT_FILS_SHA256: Akms = Akms(1 << 16);
    pub const FT_FILS_SHA384: Akms = Akms(1 << 17);
    pub const OWE: Akms = Akms(1 << 18);
    pub const FT_PSK_SHA384: Akms = Akms(1 << 19);
    pub const PSK_SHA384: Akms = Akms(1 << 20);
    pub const SAE_EXT_KEY: Akms = Akms(1 << 24);
    pub const FT_SAE_EXT_KEY: Akms = Akms(1 << 25);
    pub const DPP: Akms = Akms(1 << 31);

    /// The 00-0F-AC types that have a constant above.
    const IEEE_TYPES: u32 = Self::WPA_TYPES
        | Self::FT_IEEE8021X.0
        | Self::FT_PSK.0
        | Self::IEEE8021X_SHA256.0
        | Self::PSK_SHA256.0
        | Self::SAE.0
        | Self::FT_SAE.0
        | Self::SUITE_B.0
        | Self::SUITE_B_192.0
        | Self::FT_IEEE8021X_SHA384.0
        | Self::FILS_SHA256.0
        | Self::FILS_SHA384.0
        | Self::FT_FILS_SHA256.0
        | Self::FT_FILS_SHA384.0
        | Self::OWE.0
        | Self::FT_PSK_SHA384.0
        | Self::PSK_SHA384.0
        | Self::SAE_EXT_KEY.0
        | Self::FT_SAE_EXT_KEY.0;
    /// The 00-50-F2 types: 802.1X and PSK.
    const WPA_TYPES: u32 = Self::IEEE8021X.0 | Self::PSK.0;

    /// The raw bits.
    pub const fn bits(self) -> u32 {
        self.0
    }

    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// Whether every suite of `other` is in the set.
    pub const fn contains(self, other: Akms) -> bool {
        self.0 & other.0 == other.0
    }

    /// Whether any suite of `other` is in the set.
    pub const fn intersects(self, other: Akms) -> bool {
        self.0 & other.0 != 0
    }

    /// The suite's bit, or nothing for a suite this set has no bit for.
    fn from_suite(s: [u8; 4], wpa: bool) -> Akms {
        let [a, b, c, t] = s;
        let oui = [a, b, c];
        if wpa {
            return match oui == OUI_WPA && t < 3 {
                true => Akms((1 << t) & Self::WPA_TYPES),
                false => Akms::EMPTY,
            };
        }
        if oui == OUI_IEEE && t < 31 {
            Akms((1 << t) & Self::IEEE_TYPES)
        } else if oui == OUI_WFA && t == WFA_DPP {
            Akms::DPP
        } else {
            Akms::EMPTY
        }
    }
}

impl std::ops::BitOr for Akms {
    type Output = Akms;
    fn bitor(self, rhs: Akms) -> Akms {
        Akms(self.0 | rhs.0)
    }
}

impl std::ops::BitOrAssign for Akms {
    fn bitor_assign(&mut self, rhs: Akms) {
        self.0 |= rhs.0;
    }
}

/// A decoded RSN or WPA element.
///
/// 802.11 lets an element end after any complete field, and gives the fields it leaves out a
/// default: for RSN a CCMP-128 group and pairwise cipher and 802.1X key management, for WPA
/// TKIP and 802.1X. The accessors answer with those defaults; [`Rsn::parts`] tells how much
/// the element actually held.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Rsn {
    wpa: bool,
    group: Ciphers,
    pairwise: Ciphers,
    akms: Akms,
    capabilities: Option<u16>,
    parts: u8,
}

impl Rsn {
    /// RSN capabilities: the AP can pre-authenticate.
    pub const CAP_PREAUTH: u16 = 1 << 0;
    /// RSN capabilities: management frame protection required.
    pub const CAP_MFPR: u16 = 1 << 6;
    /// RSN capabilities: management frame protection capable.
    pub const CAP_MFPC: u16 = 1 << 7;

    /// Decodes an RSN element's body (element id 48). What follows the capabilities (PMKIDs,
    /// group management cipher) is not read.
    pub fn parse(body: &[u8]) -> Result<Rsn, IeError> {
        Self::decode(body, false)
    }

    /// Decodes a WPA element's body after its OUI and type (see [`super::Mgmt::wpa`]). Its
    /// optional capabilities field is not read: WPA defined none of the bits RSN's has.
    pub fn parse_wpa(body: &[u8]) -> Result<Rsn, IeError> {
        Self::decode(body, true)
    }

    fn decode(body: &[u8], wpa: bool) -> Result<Rsn, IeError> {
        let default = if wpa { Ciphers::TKIP } else { Ciphers::CCMP128 };
        let mut r = Rsn {
            wpa,
            group: default,
            pairwise: default,
            akms: Akms::IEEE8021X,
            capabilities: None,
            parts: 0,
        };
        let mut c = Cursor { body, at: 0 };
        let version = u16::from_le_bytes(c.take()?);
        if version != 1 {
            return Err(IeError::RsnVersion(version));
        }
        if c.done() {
            return Ok(r);
        }
        r.group = Ciphers::from_suite(c.take()?, wpa);
        r.parts = 1;
        if c.done() {
            return Ok(r);
        }
        r.pairwise = Ciphers::EMPTY;
        for s in c.suites()? {
            r.pairwise |= Ciphers::from_suite(s, wpa);
        }
        r.parts = 2;
        if c.done() {
            return Ok(r);
        }
        r.akms = Akms::EMPTY;
        for s in c.suites()? {
            r.akms |= Akms::from_suite(s, wpa);
        }
        r.parts = 3;
        if wpa || c.done() {
            return Ok(r);
        }
        r.capabilities = Some(u16::from_le_bytes(c.take()?));
        r.parts = 4;
        Ok(r)
    }

    /// Whether this came from a WPA element rather than an RSN element.
    pub fn is_wpa(&self) -> bool {
        self.wpa
    }

    /// The group (broadcast) data cipher: one suite, or none for a suite without a bit.
    pub fn group(&self) -> Ciphers {
        self.group
    }

    /// The pairwise (unicast) ciphers.
    pub fn pairwise(&self) -> Ciphers {
        self.pairwise
    }

    /// The key managements.
    pub fn akms(&self) -> Akms {
        self.akms
    }

    /// The RSN capabilities field, when the element holds it.
    pub fn capabilities(&self) -> Option<u16> {
        self.capabilities
    }

    /// Management frame protection capable (capabilities bit 7).
    pub fn mfp_capable(&self) -> bool {
        self.capabilities.is_some_and(|c| c & Self::CAP_MFPC != 0)
    }

    /// Management frame protection required (capabilities bit 6).
    pub fn mfp_required(&self) -> bool {
        self.capabilities.is_some_and(|c| c & Self::CAP_MFPR != 0)
    }

    /// How many fields after the version the element held: 0 (version only), 1 (group
    /// cipher), 2 (pairwise list), 3 (AKM list), 4 (capabilities; RSN only).
    pub fn parts(&self) -> u8 {
        self.parts
    }
}

/// Reads fields off the front of an element body, naming the offset of one that does not fit.
struct Cursor<'a> {
    body: &'a [u8],
    at: usize,
}

impl<'a> Cursor<'a> {
    fn done(&self) -> bool {
        self.at == self.body.len()
    }

    fn bytes(&mut self, n: usize) -> Result<&'a [u8], IeError> {
        let b = self
            .body
            .get(self.at..)
            .and_then(|rest| rest.get(..n))
            .ok_or(IeError::RsnTruncated { offset: self.at })?;
        self.at += n;
        Ok(b)
    }

    fn take<const N: usize>(&mut self) -> Result<[u8; N], IeError> {
        let at = self.at;
        self.bytes(N)?
            .try_into()
            .map_err(|_| IeError::RsnTruncated { offset: at })
    }

    /// A suite count and that many suites; the count's offset when the suites do not fit.
    fn suites(&mut self) -> Result<impl Iterator<Item = [u8; 4]> + 'a, IeError> {
        let at = self.at;
        let count = u16::from_le_bytes(self.take()?) as usize;
        let list = self
            .bytes(4 * count)
            .map_err(|_| IeError::RsnTruncated { offset: at })?;
        Ok(list.chunks_exact(4).map(|s| [s[0], s[1], s[2], s[3]]))
    }
}
