//! Encryption parsed from an Android/WiGLE `capabilities` string (`[WPA2-PSK-CCMP][ESS][WPS]`),
//! as Kismet's bit sets and a display string.
//!
//! Two numbers go out, as Kismet sends them: `dot11.advertisedssid.crypt_bitfield` (Kismet's
//! 64-bit "v2" set) and `dot11.advertisedssid.crypt_set` (the legacy set). Bit values follow
//! Kismet where it has the bit; the v2 positions marked *inferred* below could not be checked
//! against Kismet's header (they continue the confirmed layout) and are airsift's choice.
//! What Kismet has no bit for (IBSS, ESS, MFP capable/required, SAE-EXT-KEY, DPP) lives in
//! [`Crypt::extra`], airsift's own flags.
//!
//! Kismet's scan-report parser misses TKIP, GCMP, SAE/WPA3, OWE, FT and reads RSN as nothing;
//! this one reads them all.
//!
//! A network seen on the air rather than in a scan report has no such string: its beacon's
//! privacy bit and RSN/WPA elements go through [`from_elements`] (or [`from_beacon`]), which
//! sets the same bits [`parse`] sets for the string a scanner would print for that network.

use dataplane::wire::ie::{capability, Akms, Ciphers, Rsn};

/// Kismet's v2 `crypt_bitfield` bits. Confirmed against Kismet 2025-09 output (the reference
/// responses) and its published table: WEP, WPA, WPA1, WPA2, group WEP104/TKIP/CCMP128,
/// pairwise WEP104/TKIP/CCMP128, AKM 802.1X and PSK, WPS. The others are inferred: the AKMs
/// follow the RSN suite order from bit 37 (802.1X) to bit 56, which puts WPS at 57 as Kismet has it.
pub mod v2 {
    pub const GENERAL_WEP: u64 = 1 << 0;
    pub const GENERAL_WPA: u64 = 1 << 1;
    pub const GENERAL_WPA1: u64 = 1 << 2;
    pub const GENERAL_WPA2: u64 = 1 << 3;
    /// inferred
    pub const GENERAL_WPA3: u64 = 1 << 4;
    /// inferred
    pub const GROUP_WEP40: u64 = 1 << 7;
    pub const GROUP_WEP104: u64 = 1 << 8;
    pub const GROUP_TKIP: u64 = 1 << 9;
    pub const GROUP_CCMP128: u64 = 1 << 10;
    /// inferred
    pub const GROUP_CCMP256: u64 = 1 << 11;
    /// inferred
    pub const GROUP_GCMP128: u64 = 1 << 12;
    /// inferred
    pub const GROUP_GCMP256: u64 = 1 << 13;
    /// inferred
    pub const PAIRWISE_WEP40: u64 = 1 << 23;
    pub const PAIRWISE_WEP104: u64 = 1 << 24;
    pub const PAIRWISE_TKIP: u64 = 1 << 25;
    pub const PAIRWISE_CCMP128: u64 = 1 << 26;
    /// inferred
    pub const PAIRWISE_CCMP256: u64 = 1 << 27;
    /// inferred
    pub const PAIRWISE_GCMP128: u64 = 1 << 28;
    /// inferred
    pub const PAIRWISE_GCMP256: u64 = 1 << 29;
    pub const AKM_1X: u64 = 1 << 37;
    pub const AKM_PSK: u64 = 1 << 38;
    /// inferred (RSN AKM suite order from here on)
    pub const AKM_1X_FT: u64 = 1 << 39;
    pub const AKM_PSK_FT: u64 = 1 << 40;
    pub const AKM_1X_SHA256: u64 = 1 << 41;
    pub const AKM_PSK_SHA256: u64 = 1 << 42;
    pub const AKM_SAE: u64 = 1 << 44;
    pub const AKM_SAE_FT: u64 = 1 << 45;
    pub const AKM_1X_SUITEB_SHA384: u64 = 1 << 48;
    pub const AKM_FILS_SHA256: u64 = 1 << 50;
    pub const AKM_FILS_SHA384: u64 = 1 << 51;
    pub const AKM_OWE: u64 = 1 << 54;
    /// Confirmed by the reference: the bit after the 20 AKM suites.
    pub const AKM_WPS: u64 = 1 << 57;
}

/// Kismet's legacy `crypt_set` bits (`crypt_*` in Kismet's phy_80211).
pub mod legacy {
    pub const UNKNOWN: u64 = 1;
    pub const WEP: u64 = 1 << 1;
    pub const WEP40: u64 = 1 << 3;
    pub const WEP104: u64 = 1 << 4;
    pub const TKIP: u64 = 1 << 5;
    pub const WPA: u64 = 1 << 6;
    pub const PSK: u64 = 1 << 7;
    pub const AES_CCM: u64 = 1 << 9;
    pub const EAP: u64 = 1 << 11;
    pub const SAE: u64 = 1 << 16;
    pub const WPA_OWE: u64 = 1 << 17;
    pub const WPS: u64 = 1 << 26;
    pub const VERSION_WPA: u64 = 1 << 27;
    pub const VERSION_WPA2: u64 = 1 << 28;
    pub const VERSION_WPA3: u64 = 1 << 29;
}

/// airsift's flags for what Kismet's sets cannot say.
pub mod extra {
    /// The encryption is known: a capabilities string was given, or a beacon's elements read.
    pub const KNOWN: u16 = 1 << 0;
    pub const ESS: u16 = 1 << 1;
    pub const IBSS: u16 = 1 << 2;
    /// `[MFPC]`: management frame protection capable.
    pub const MFPC: u16 = 1 << 3;
    /// `[MFPR]`: management frame protection required.
    pub const MFPR: u16 = 1 << 4;
    /// An RSN element (RSN/WPA2/WPA3) carried a WPA2-class key management (PSK, EAP, FT, ...).
    pub const RSN_WPA2_AKM: u16 = 1 << 5;
    pub const AKM_SAE_EXT: u16 = 1 << 6;
    pub const AKM_DPP: u16 = 1 << 7;
}

/// The parsed encryption of one advertised SSID.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Crypt {
    /// Kismet's v2 bit set ([`v2`]).
    pub bits: u64,
    /// airsift's flags ([`extra`]).
    pub extra: u16,
}

/// Key managements that make a WPA/WPA2 network, with their display names.
const WPA2_AKMS: &[(u64, &str)] = &[
    (v2::AKM_PSK, "PSK"),
    (v2::AKM_1X, "EAP"),
    (v2::AKM_PSK_FT, "FT-PSK"),
    (v2::AKM_1X_FT, "FT-EAP"),
    (v2::AKM_PSK_SHA256, "PSK-SHA256"),
    (v2::AKM_1X_SHA256, "EAP-SHA256"),
];

/// Key managements that make a WPA3 network (plus the two only [`extra`] can hold).
const WPA3_AKMS: &[(u64, &str)] = &[
    (v2::AKM_SAE, "SAE"),
    (v2::AKM_SAE_FT, "FT-SAE"),
    (v2::AKM_OWE, "OWE"),
    (v2::AKM_1X_SUITEB_SHA384, "EAP-SUITE-B-192"),
    (v2::AKM_FILS_SHA256, "FILS-SHA256"),
    (v2::AKM_FILS_SHA384, "FILS-SHA384"),
];

/// Pairwise ciphers with their display names, weakest first.
const CIPHERS: &[(u64, u64, &str)] = &[
    (v2::PAIRWISE_WEP40, v2::GROUP_WEP40, "WEP40"),
    (v2::PAIRWISE_WEP104, v2::GROUP_WEP104, "WEP104"),
    (v2::PAIRWISE_TKIP, v2::GROUP_TKIP, "TKIP"),
    (v2::PAIRWISE_CCMP128, v2::GROUP_CCMP128, "AES-CCMP"),
    (v2::PAIRWISE_GCMP128, v2::GROUP_GCMP128, "AES-GCMP"),
    (v2::PAIRWISE_CCMP256, v2::GROUP_CCMP256, "AES-CCMP-256"),
    (v2::PAIRWISE_GCMP256, v2::GROUP_GCMP256, "AES-GCMP-256"),
];

/// One cipher name as Android and WiGLE spell it → its pairwise bit.
fn cipher(name: &str) -> Option<u64> {
    Some(match name {
        "CCMP" | "CCMP-128" | "CCMP128" | "AES" => v2::PAIRWISE_CCMP128,
        "CCMP-256" | "CCMP256" => v2::PAIRWISE_CCMP256,
        "GCMP" | "GCMP-128" | "GCMP128" => v2::PAIRWISE_GCMP128,
        "GCMP-256" | "GCMP256" => v2::PAIRWISE_GCMP256,
        "TKIP" => v2::PAIRWISE_TKIP,
        "WEP40" | "WEP-40" => v2::PAIRWISE_WEP40,
        "WEP104" | "WEP-104" => v2::PAIRWISE_WEP104,
        // Named but carrying no bit: no cipher, and WAPI's.
        "NONE" | "SMS4" | "GCM-SMS4" => 0,
        _ => return None,
    })
}

/// A `+`-joined cipher list → pairwise bits; `None` unless every item is a cipher.
fn cipher_list(s: &str) -> Option<u64> {
    if s.is_empty() {
        return None;
    }
    s.split('+')
        .try_fold(0u64, |acc, c| cipher(c).map(|b| acc | b))
}

/// One key management → (v2 bits, extra flags). Unknown names give nothing.
fn akm(name: &str) -> (u64, u16) {
    match name {
        "PSK" | "WPA-PSK" => (v2::AKM_PSK, 0),
        "EAP" | "EAP/SHA1" | "802.1X" | "IEEE8021X" => (v2::AKM_1X, 0),
        "FT/PSK" | "FT-PSK" => (v2::AKM_PSK_FT, 0),
        "FT/EAP" | "FT-EAP" => (v2::AKM_1X_FT, 0),
        "PSK-SHA256" | "PSK/SHA256" => (v2::AKM_PSK_SHA256, 0),
        "EAP-SHA256" | "EAP/SHA256" => (v2::AKM_1X_SHA256, 0),
        "SAE" => (v2::AKM_SAE | v2::GENERAL_WPA3, 0),
        "FT/SAE" | "FT-SAE" => (v2::AKM_SAE_FT | v2::GENERAL_WPA3, 0),
        "SAE_EXT_KEY" | "SAE-EXT-KEY" | "FT/SAE_EXT_KEY" => (v2::GENERAL_WPA3, extra::AKM_SAE_EXT),
        "OWE" => (v2::AKM_OWE | v2::GENERAL_WPA3, 0),
        "SUITE_B_192" | "SUITE-B-192" | "EAP_SUITE_B_192" | "EAP-SUITE-B-192" => {
            (v2::AKM_1X_SUITEB_SHA384 | v2::GENERAL_WPA3, 0)
        }
        "FILS-SHA256" | "FT/FILS-SHA256" => (v2::AKM_FILS_SHA256 | v2::GENERAL_WPA3, 0),
        "FILS-SHA384" | "FT/FILS-SHA384" => (v2::AKM_FILS_SHA384 | v2::GENERAL_WPA3, 0),
        "DPP" => (v2::GENERAL_WPA3, extra::AKM_DPP),
        _ => (0, 0),
    }
}

/// True for key managements of the WPA/WPA2 family.
fn is_wpa2_akm(bits: u64) -> bool {
    WPA2_AKMS.iter().any(|&(b, _)| bits & b != 0)
}

/// The group cipher bit for a list of pairwise bits: the weakest listed (a mixed
/// `TKIP+CCMP` network uses TKIP for group traffic).
fn group_for(pairwise: u64) -> u64 {
    CIPHERS
        .iter()
        .find(|&&(p, _, _)| pairwise & p != 0)
        .map_or(0, |&(_, g, _)| g)
}

/// Parses one `PROTO-AKM[+AKM]-CIPHER[+CIPHER]` element.
fn element(proto: &str, rest: &str, out: &mut Crypt) {
    let rsn = match proto {
        "WPA" => {
            out.bits |= v2::GENERAL_WPA | v2::GENERAL_WPA1;
            false
        }
        "WPA2" | "RSN" | "OSEN" => {
            out.bits |= v2::GENERAL_WPA | v2::GENERAL_WPA2;
            true
        }
        "WPA3" => {
            out.bits |= v2::GENERAL_WPA | v2::GENERAL_WPA2 | v2::GENERAL_WPA3;
            true
        }
        _ => return, // WAPI and anything unknown: no Wi-Fi Alliance bits
    };
    let rest = rest
        .strip_suffix("-PREAUTH")
        .or_else(|| rest.strip_suffix("+PREAUTH"))
        .unwrap_or(rest);
    // The cipher list is the longest `-`-separated suffix made only of ciphers (ciphers such as
    // GCMP-256 contain a dash, and so do key managements such as PSK-SHA256).
    let (akms, pairwise) = if let Some(p) = cipher_list(rest) {
        ("", p)
    } else {
        rest.match_indices('-')
            .find_map(|(i, _)| cipher_list(&rest[i + 1..]).map(|p| (&rest[..i], p)))
            .unwrap_or((rest, 0))
    };
    let mut akm_bits = 0u64;
    for a in akms.split('+').filter(|a| !a.is_empty()) {
        let (b, x) = akm(a);
        akm_bits |= b;
        out.extra |= x;
    }
    if rsn && (is_wpa2_akm(akm_bits) || akms.is_empty()) {
        out.extra |= extra::RSN_WPA2_AKM;
    }
    out.bits |= akm_bits | pairwise | group_for(pairwise);
}

/// Parses a capabilities string. Tokens are the bracketed parts, case-insensitive; unknown
/// tokens and unknown parts are ignored. An empty string is an open network.
pub fn parse(capabilities: &str) -> Crypt {
    let mut out = Crypt {
        bits: 0,
        extra: extra::KNOWN,
    };
    let upper = capabilities.to_ascii_uppercase();
    for token in upper
        .split(['[', ']'])
        .map(str::trim)
        .filter(|t| !t.is_empty())
    {
        match token {
            "ESS" => out.extra |= extra::ESS,
            "IBSS" => out.extra |= extra::IBSS,
            "WPS" => out.bits |= v2::AKM_WPS,
            "WEP" => out.bits |= v2::GENERAL_WEP,
            "MFPC" => out.extra |= extra::MFPC,
            "MFPR" => out.extra |= extra::MFPR | extra::MFPC,
            "OWE" => out.bits |= v2::GENERAL_WPA | v2::GENERAL_WPA3 | v2::AKM_OWE,
            _ => {
                let (proto, rest) = token.split_once('-').unwrap_or((token, ""));
                element(proto, rest, &mut out);
            }
        }
    }
    out
}

/// Element key managements → (v2 bits, extra flags), as [`akm`] maps their names. Suites that
/// neither Kismet's set nor the capabilities strings name (Suite B 128-bit, FT-802.1X-SHA384,
/// PSK-SHA384, FT-PSK-SHA384) add nothing, as an unknown name adds nothing to [`parse`].
const ELEMENT_AKMS: &[(Akms, u64, u16)] = &[
    (Akms::PSK, v2::AKM_PSK, 0),
    (Akms::IEEE8021X, v2::AKM_1X, 0),
    (Akms::FT_PSK, v2::AKM_PSK_FT, 0),
    (Akms::FT_IEEE8021X, v2::AKM_1X_FT, 0),
    (Akms::PSK_SHA256, v2::AKM_PSK_SHA256, 0),
    (Akms::IEEE8021X_SHA256, v2::AKM_1X_SHA256, 0),
    (Akms::SAE, v2::AKM_SAE | v2::GENERAL_WPA3, 0),
    (Akms::FT_SAE, v2::AKM_SAE_FT | v2::GENERAL_WPA3, 0),
    (Akms::SAE_EXT_KEY, v2::GENERAL_WPA3, extra::AKM_SAE_EXT),
    (Akms::FT_SAE_EXT_KEY, v2::GENERAL_WPA3, extra::AKM_SAE_EXT),
    (Akms::OWE, v2::AKM_OWE | v2::GENERAL_WPA3, 0),
    (
        Akms::SUITE_B_192,
        v2::AKM_1X_SUITEB_SHA384 | v2::GENERAL_WPA3,
        0,
    ),
    (Akms::FILS_SHA256, v2::AKM_FILS_SHA256 | v2::GENERAL_WPA3, 0),
    (
        Akms::FT_FILS_SHA256,
        v2::AKM_FILS_SHA256 | v2::GENERAL_WPA3,
        0,
    ),
    (Akms::FILS_SHA384, v2::AKM_FILS_SHA384 | v2::GENERAL_WPA3, 0),
    (
        Akms::FT_FILS_SHA384,
        v2::AKM_FILS_SHA384 | v2::GENERAL_WPA3,
        0,
    ),
    (Akms::DPP, v2::GENERAL_WPA3, extra::AKM_DPP),
];

/// Element ciphers → (pairwise bit, group bit). The group management ciphers (BIP) and "use
/// the group cipher" carry no bit, as in [`cipher`].
const ELEMENT_CIPHERS: &[(Ciphers, u64, u64)] = &[
    (Ciphers::WEP40, v2::PAIRWISE_WEP40, v2::GROUP_WEP40),
    (Ciphers::WEP104, v2::PAIRWISE_WEP104, v2::GROUP_WEP104),
    (Ciphers::TKIP, v2::PAIRWISE_TKIP, v2::GROUP_TKIP),
    (Ciphers::CCMP128, v2::PAIRWISE_CCMP128, v2::GROUP_CCMP128),
    (Ciphers::CCMP256, v2::PAIRWISE_CCMP256, v2::GROUP_CCMP256),
    (Ciphers::GCMP128, v2::PAIRWISE_GCMP128, v2::GROUP_GCMP128),
    (Ciphers::GCMP256, v2::PAIRWISE_GCMP256, v2::GROUP_GCMP256),
];

/// The bits of one decoded RSN or WPA element's suites, into `out`; returns its AKM bits.
fn element_suites(e: &Rsn, out: &mut Crypt) -> u64 {
    let mut akm_bits = 0;
    for &(a, bits, x) in ELEMENT_AKMS {
        if e.akms().contains(a) {
            akm_bits |= bits;
            out.extra |= x;
        }
    }
    for &(c, pairwise, group) in ELEMENT_CIPHERS {
        if e.pairwise().contains(c) {
            out.bits |= pairwise;
        }
        if e.group().contains(c) {
            out.bits |= group;
        }
    }
    out.bits |= akm_bits;
    akm_bits
}

/// Encryption from a beacon's or probe response's elements: the privacy bit of its capability
/// field, its decoded RSN element ([`Rsn::parse`]) and WPA element ([`Rsn::parse_wpa`]).
///
/// The result is what [`parse`] gives for the capabilities string a scanner prints for the same
/// network (`[WPA2-PSK-CCMP]` for an RSN element with PSK and CCMP), with three differences:
/// - ESS and IBSS come from the capability field, not from these arguments: [`from_beacon`]
///   takes the whole field and sets them; a caller of this function ORs them in itself.
/// - The group cipher is the element's. A capabilities string names no group cipher, so
///   [`parse`] takes the weakest pairwise one, which is the same for almost every network, but
///   not for a WPA/WPA2 network whose RSN element says TKIP group, CCMP pairwise: that string
///   (`[WPA-PSK-TKIP][WPA2-PSK-CCMP]`) gives a CCMP group as well.
/// - WPS is a vendor element of its own; a caller that saw it ORs in [`v2::AKM_WPS`].
///
/// The elements decide over the privacy bit: with an RSN or WPA element the network is WPA
/// whatever the bit says; without either, privacy means WEP and no privacy an open network.
/// Elements that do not decode are the caller's to report.
pub fn from_elements(privacy: bool, rsn: Option<&Rsn>, wpa: Option<&Rsn>) -> Crypt {
    let mut out = Crypt {
        bits: 0,
        extra: extra::KNOWN,
    };
    if let Some(w) = wpa {
        out.bits |= v2::GENERAL_WPA | v2::GENERAL_WPA1;
        element_suites(w, &mut out);
    }
    if let Some(r) = rsn {
        out.bits |= v2::GENERAL_WPA | v2::GENERAL_WPA2;
        let akm_bits = element_suites(r, &mut out);
        // As for `[WPA2-...]`: a WPA2-class key management, or none named.
        if is_wpa2_akm(akm_bits) || r.akms().is_empty() {
            out.extra |= extra::RSN_WPA2_AKM;
        }
        if r.mfp_capable() {
            out.extra |= extra::MFPC;
        }
        if r.mfp_required() {
            out.extra |= extra::MFPR | extra::MFPC;
        }
    }
    if privacy && rsn.is_none() && wpa.is_none() {
        out.bits |= v2::GENERAL_WEP;
    }
    out
}

/// [`from_elements`] for a beacon or probe response's whole capability field: privacy from
/// its Privacy bit, and [`extra::ESS`] / [`extra::IBSS`] from its ESS and IBSS bits, as `[ESS]`
/// and `[IBSS]` set them in [`parse`].
pub fn from_beacon(capabilities: u16, rsn: Option<&Rsn>, wpa: Option<&Rsn>) -> Crypt {
    let mut out = from_elements(capabilities & capability::PRIVACY != 0, rsn, wpa);
    if capabilities & capability::ESS != 0 {
        out.extra |= extra::ESS;
    }
    if capabilities & capability::IBSS != 0 {
        out.extra |= extra::IBSS;
    }
    out
}

impl Crypt {
    /// Whether a capabilities string was ever given (or a beacon's elements read).
    pub fn known(self) -> bool {
        self.extra & extra::KNOWN != 0
    }

    /// Management frame protection: (supported, required).
    pub fn mfp(self) -> (bool, bool) {
        (
            self.extra & (extra::MFPC | extra::MFPR) != 0,
            self.extra & extra::MFPR != 0,
        )
    }

    /// Kismet's legacy `crypt_set`.
    pub fn legacy(self) -> u64 {
        if !self.known() {
            return legacy::UNKNOWN;
        }
        let b = self.bits;
        let mut l = 0;
        let mut set = |cond: bool, bit: u64| {
            if cond {
                l |= bit;
            }
        };
        set(
            b & (v2::GENERAL_WEP | v2::PAIRWISE_WEP40 | v2::PAIRWISE_WEP104) != 0,
            legacy::WEP,
        );
        set(b & v2::PAIRWISE_WEP40 != 0, legacy::WEP40);
        set(b & v2::PAIRWISE_WEP104 != 0, legacy::WEP104);
        set(b & (v2::PAIRWISE_TKIP | v2::GROUP_TKIP) != 0, legacy::TKIP);
        set(b & v2::GENERAL_WPA != 0, legacy::WPA);
        set(
            b & (v2::AKM_PSK | v2::AKM_PSK_FT | v2::AKM_PSK_SHA256) != 0,
            legacy::PSK,
        );
        set(
            b & (v2::PAIRWISE_CCMP128 | v2::PAIRWISE_CCMP256) != 0,
            legacy::AES_CCM,
        );
        set(
            b & (v2::AKM_1X | v2::AKM_1X_FT | v2::AKM_1X_SHA256 | v2::AKM_1X_SUITEB_SHA384) != 0,
            legacy::EAP,
        );
        set(b & (v2::AKM_SAE | v2::AKM_SAE_FT) != 0, legacy::SAE);
        set(b & v2::AKM_OWE != 0, legacy::WPA_OWE);
        set(b & v2::AKM_WPS != 0, legacy::WPS);
        set(b & v2::GENERAL_WPA1 != 0, legacy::VERSION_WPA);
        set(self.wpa2(), legacy::VERSION_WPA2);
        set(b & v2::GENERAL_WPA3 != 0, legacy::VERSION_WPA3);
        l
    }

    /// An RSN element with WPA2-class key management (not a WPA3-only network).
    fn wpa2(self) -> bool {
        self.bits & v2::GENERAL_WPA2 != 0 && self.extra & extra::RSN_WPA2_AKM != 0
    }

    /// Whether anything protects the network.
    pub fn encrypted(self) -> bool {
        self.known() && self.bits & !v2::AKM_WPS != 0
    }

    /// Whether the protection is WEP (weak).
    pub fn weak(self) -> bool {
        self.bits & (v2::GENERAL_WEP | v2::PAIRWISE_WEP40 | v2::PAIRWISE_WEP104) != 0
    }

    /// The display string, in Kismet's style: generations, then generation-key management
    /// pairs, then ciphers, then WPS (`WPA2 WPA2-PSK AES-CCMP`, `WPA3 WPA3-SAE AES-GCMP-256`,
    /// `WEP`, `Open`); `Unknown` when no capabilities were ever given.
    pub fn display(self) -> String {
        if !self.known() {
            return "Unknown".to_string();
        }
        let b = self.bits;
        let mut parts: Vec<String> = Vec::new();
        if b & (v2::GENERAL_WEP | v2::PAIRWISE_WEP40 | v2::PAIRWISE_WEP104) != 0 {
            parts.push("WEP".into());
        }
        let v1 = b & v2::GENERAL_WPA1 != 0;
        let v2_ = self.wpa2();
        let mut wpa3: Vec<&str> = WPA3_AKMS
            .iter()
            .filter(|&&(bit, _)| b & bit != 0)
            .map(|&(_, n)| n)
            .collect();
        if self.extra & extra::AKM_SAE_EXT != 0 {
            wpa3.push("SAE-EXT-KEY");
        }
        if self.extra & extra::AKM_DPP != 0 {
            wpa3.push("DPP");
        }
        let v3 = b & v2::GENERAL_WPA3 != 0;
        for (on, name) in [(v1, "WPA"), (v2_, "WPA2"), (v3, "WPA3")] {
            if on {
                parts.push(name.into());
            }
        }
        let wpa2: Vec<&str> = WPA2_AKMS
            .iter()
            .filter(|&&(bit, _)| b & bit != 0)
            .map(|&(_, n)| n)
            .collect();
        for (on, gen) in [(v1, "WPA"), (v2_, "WPA2")] {
            if on {
                parts.extend(wpa2.iter().map(|a| format!("{gen}-{a}")));
            }
        }
        if v3 {
            parts.extend(wpa3.iter().map(|a| format!("WPA3-{a}")));
        }
        for &(p, g, name) in CIPHERS {
            let shown = match name {
                "WEP40" | "WEP104" => false, // already said by "WEP"
                "TKIP" => b & (p | g) != 0,
                _ => b & p != 0,
            };
            if shown {
                parts.push(name.into());
            }
        }
        if b & v2::AKM_WPS != 0 {
            parts.push("WPS".into());
        }
        if parts.is_empty() {
            "Open".to_string()
        } else {
            parts.join(" ")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (capabilities, display, legacy crypt_set, mfp supported/required, ibss)
    #[test]
    fn capabilities_table() {
        let table: &[(&str, &str)] = &[
            ("[WPA2-PSK-CCMP][ESS]", "WPA2 WPA2-PSK AES-CCMP"),
            (
                "[WPA-PSK-TKIP+CCMP][WPA2-PSK-TKIP+CCMP][ESS][WPS]",
                "WPA WPA2 WPA-PSK WPA2-PSK TKIP AES-CCMP WPS",
            ),
            ("[RSN-SAE-CCMP][ESS]", "WPA3 WPA3-SAE AES-CCMP"),
            ("[WPA3-SAE-GCMP-256][ESS]", "WPA3 WPA3-SAE AES-GCMP-256"),
            ("[OWE][ESS]", "WPA3 WPA3-OWE"),
            ("[WEP][ESS]", "WEP"),
            ("[IBSS]", "Open"),
            ("[WPA2-EAP-CCMP][ESS]", "WPA2 WPA2-EAP AES-CCMP"),
            (
                "[RSN-PSK+SAE-CCMP][ESS][MFPC]",
                "WPA2 WPA3 WPA2-PSK WPA3-SAE AES-CCMP",
            ),
            ("", "Open"),
            (
                "[WPA-EAP-TKIP][WPA2-EAP-CCMP][ESS][WPS]",
                "WPA WPA2 WPA-EAP WPA2-EAP TKIP AES-CCMP WPS",
            ),
            (
                "[WPA2-PSK+FT/PSK-CCMP][ESS]",
                "WPA2 WPA2-PSK WPA2-FT-PSK AES-CCMP",
            ),
            (
                "[RSN-SUITE_B_192-GCMP-256][ESS][MFPR]",
                "WPA3 WPA3-EAP-SUITE-B-192 AES-GCMP-256",
            ),
            ("[WPA2-EAP-CCMP-preauth][ESS]", "WPA2 WPA2-EAP AES-CCMP"),
            ("[wpa2-psk-ccmp]", "WPA2 WPA2-PSK AES-CCMP"),
            ("[ESS][bogus][WPA9-X-Y]", "Open"),
        ];
        for &(caps, want) in table {
            assert_eq!(parse(caps).display(), want, "display of {caps:?}");
        }
    }

    #[test]
    fn bits_match_kismet_where_kismet_has_them() {
        // The reference: Kismet 2025-09 for "[WPA2-PSK-CCMP][ESS]".
        let c = parse("[WPA2-PSK-CCMP][ESS]");
        assert_eq!(c.bits, 274_945_016_842);
        assert_eq!(c.legacy(), 268_436_160);
        // The reference's other report: Kismet missed TKIP (bits 9, 25) but the rest agrees.
        let c = parse("[WPA-EAP-TKIP][WPA2-EAP-CCMP][ESS][WPS]");
        let kismet = 144_115_325_581_919_246u64;
        assert_eq!(c.bits & !(v2::GROUP_TKIP | v2::PAIRWISE_TKIP), kismet);
        assert_ne!(c.bits & v2::PAIRWISE_TKIP, 0);
        assert_eq!(
            c.legacy(),
            legacy::WPA
                | legacy::EAP
                | legacy::TKIP
                | legacy::AES_CCM
                | legacy::WPS
                | legacy::VERSION_WPA
                | legacy::VERSION_WPA2
        );
    }

    #[test]
    fn details_of_each_case() {
        let c = parse("[WPA-PSK-TKIP+CCMP][WPA2-PSK-TKIP+CCMP][ESS][WPS]");
        assert_eq!(c.bits & v2::GROUP_TKIP, v2::GROUP_TKIP, "mixed: TKIP group");
        assert_eq!(c.bits & v2::GROUP_CCMP128, 0);
        assert_ne!(c.bits & v2::PAIRWISE_CCMP128, 0);
        assert_ne!(c.bits & v2::AKM_WPS, 0);

        let c = parse("[RSN-SAE-CCMP][ESS]");
        assert_ne!(c.bits & v2::AKM_SAE, 0);
        assert_ne!(c.legacy() & legacy::VERSION_WPA3, 0);
        assert_eq!(c.legacy() & legacy::VERSION_WPA2, 0);

        let c = parse("[WPA3-SAE-GCMP-256][ESS]");
        assert_ne!(c.bits & v2::PAIRWISE_GCMP256, 0);
        assert_ne!(c.bits & v2::GROUP_GCMP256, 0);
        assert!(c.encrypted() && !c.weak());

        let c = parse("[OWE][ESS]");
        assert_ne!(c.bits & v2::AKM_OWE, 0);
        assert_eq!(c.legacy() & legacy::WPA_OWE, legacy::WPA_OWE);

        let c = parse("[WEP][ESS]");
        assert!(c.weak() && c.encrypted());
        assert_eq!(c.legacy(), legacy::WEP);

        let c = parse("[IBSS]");
        assert_eq!(c.extra & extra::IBSS, extra::IBSS);
        assert!(!c.encrypted());
        assert_eq!(c.legacy(), 0);

        let c = parse("[WPA2-EAP-CCMP][ESS]");
        assert_ne!(c.bits & v2::AKM_1X, 0);
        assert_eq!(c.mfp(), (false, false));

        let c = parse("[RSN-PSK+SAE-CCMP][ESS][MFPC]");
        assert_eq!(c.mfp(), (true, false));
        assert_ne!(c.bits & v2::AKM_PSK, 0);
        assert_ne!(c.bits & v2::AKM_SAE, 0);
        assert_eq!(parse("[RSN-SAE-CCMP][MFPR][MFPC]").mfp(), (true, true));

        let c = parse("");
        assert_eq!((c.bits, c.legacy(), c.known()), (0, 0, true));
        assert!(!c.encrypted());

        let unknown = Crypt::default();
        assert_eq!(unknown.display(), "Unknown");
        assert_eq!(unknown.legacy(), legacy::UNKNOWN);
    }

    const IEEE: [u8; 3] = [0x00, 0x0F, 0xAC];
    const MS: [u8; 3] = [0x00, 0x50, 0xF2];
    /// Stands for the DPP suite (50-6F-9A:2) in [`body`]'s lists.
    const DPP: u8 = 0xFF;

    /// An element body: version 1, group, pairwise, AKMs, and capabilities when given.
    fn body(oui: [u8; 3], group: u8, pairwise: &[u8], akms: &[u8], caps: Option<u16>) -> Vec<u8> {
        let suite = |t: u8| match t {
            DPP => [0x50, 0x6F, 0x9A, 0x02],
            t => [oui[0], oui[1], oui[2], t],
        };
        let mut v = vec![1, 0];
        v.extend(suite(group));
        for list in [pairwise, akms] {
            v.extend((list.len() as u16).to_le_bytes());
            for &t in list {
                v.extend(suite(t));
            }
        }
        if let Some(c) = caps {
            v.extend(c.to_le_bytes());
        }
        v
    }

    fn rsn(group: u8, pairwise: &[u8], akms: &[u8], caps: u16) -> Option<Rsn> {
        Some(Rsn::parse(&body(IEEE, group, pairwise, akms, Some(caps))).unwrap())
    }

    fn wpa(group: u8, pairwise: &[u8], akms: &[u8]) -> Option<Rsn> {
        Some(Rsn::parse_wpa(&body(MS, group, pairwise, akms, None)).unwrap())
    }

    const ESS: u16 = capability::ESS;
    const PRIV: u16 = capability::ESS | capability::PRIVACY;

    /// The same network both ways: (capabilities string, capability field, RSN, WPA). Cipher
    /// types: 2 TKIP, 4 CCMP, 8 GCMP, 9 GCMP-256, 10 CCMP-256. AKMs: 1 802.1X, 2 PSK, 3 FT-802.1X,
    /// 4 FT-PSK, 5 802.1X-SHA256, 6 PSK-SHA256, 8 SAE, 9 FT-SAE, 12 Suite B 192, 14/15 FILS,
    /// 16/17 FT-FILS, 18 OWE, 24/25 SAE-EXT-KEY. MFP: 0x80 capable, 0xC0 required.
    fn equivalents() -> Vec<(&'static str, u16, Option<Rsn>, Option<Rsn>)> {
        vec![
            ("[ESS]", ESS, None, None),
            ("[IBSS]", capability::IBSS, None, None),
            ("", 0, None, None),
            ("[WEP][ESS]", PRIV, None, None),
            (
                "[WEP][IBSS]",
                capability::IBSS | capability::PRIVACY,
                None,
                None,
            ),
            ("[WPA2-PSK-CCMP][ESS]", PRIV, rsn(4, &[4], &[2], 0), None),
            // The privacy bit does not matter next to an element.
            ("[WPA2-PSK-CCMP][ESS]", ESS, rsn(4, &[4], &[2], 0), None),
            ("[WPA-PSK-TKIP][ESS]", PRIV, None, wpa(2, &[2], &[2])),
            (
                "[WPA-EAP-TKIP+CCMP][ESS]",
                PRIV,
                None,
                wpa(2, &[2, 4], &[1]),
            ),
            (
                "[WPA-PSK-TKIP+CCMP][WPA2-PSK-TKIP+CCMP][ESS]",
                PRIV,
                rsn(2, &[2, 4], &[2], 0),
                wpa(2, &[2, 4], &[2]),
            ),
            (
                "[WPA-EAP-TKIP][WPA2-EAP-CCMP][ESS]",
                PRIV,
                rsn(4, &[4], &[1], 0),
                wpa(2, &[2], &[1]),
            ),
            ("[WPA2-EAP-CCMP][ESS]", PRIV, rsn(4, &[4], &[1], 0), None),
            (
                "[WPA2-PSK+FT/PSK-CCMP][ESS]",
                PRIV,
                rsn(4, &[4], &[2, 4], 0),
                None,
            ),
            (
                "[WPA2-EAP+FT/EAP-CCMP][ESS]",
                PRIV,
                rsn(4, &[4], &[1, 3], 0),
                None,
            ),
            (
                "[WPA2-PSK-SHA256-CCMP][ESS][MFPC]",
                PRIV,
                rsn(4, &[4], &[6], 0x80),
                None,
            ),
            (
                "[WPA2-EAP-SHA256-CCMP][ESS][MFPC]",
                PRIV,
                rsn(4, &[4], &[5], 0x80),
                None,
            ),
            (
                "[WPA2-PSK-CCMP-256][ESS]",
                PRIV,
                rsn(10, &[10], &[2], 0),
                None,
            ),
            ("[WPA2-PSK-GCMP][ESS]", PRIV, rsn(8, &[8], &[2], 0), None),
            (
                "[RSN-SAE-CCMP][ESS][MFPC][MFPR]",
                PRIV,
                rsn(4, &[4], &[8], 0xC0),
                None,
            ),
            (
                "[WPA3-SAE-GCMP-256][ESS][MFPR]",
                PRIV,
                rsn(9, &[9], &[8], 0xC0),
                None,
            ),
            (
                "[RSN-FT/SAE-CCMP][ESS][MFPR]",
                PRIV,
                rsn(4, &[4], &[9], 0xC0),
                None,
            ),
            (
                "[RSN-PSK+SAE-CCMP][ESS][MFPC]",
                PRIV,
                rsn(4, &[4], &[2, 8], 0x80),
                None,
            ),
            (
                "[RSN-PSK+FT/PSK+SAE+FT/SAE-CCMP][ESS][MFPC]",
                PRIV,
                rsn(4, &[4], &[2, 4, 8, 9], 0x80),
                None,
            ),
            (
                "[RSN-SAE+SAE_EXT_KEY-CCMP+GCMP-256][ESS][MFPR]",
                PRIV,
                rsn(4, &[4, 9], &[8, 24], 0xC0),
                None,
            ),
            (
                "[RSN-FT/SAE_EXT_KEY-GCMP-256][ESS][MFPR]",
                PRIV,
                rsn(9, &[9], &[25], 0xC0),
                None,
            ),
            (
                "[RSN-OWE-CCMP][ESS][MFPR]",
                PRIV,
                rsn(4, &[4], &[18], 0xC0),
                None,
            ),
            (
                "[RSN-SUITE_B_192-GCMP-256][ESS][MFPR]",
                PRIV,
                rsn(9, &[9], &[12], 0xC0),
                None,
            ),
            (
                "[RSN-FILS-SHA256-CCMP][ESS]",
                PRIV,
                rsn(4, &[4], &[14], 0),
                None,
            ),
            (
                "[RSN-FT/FILS-SHA384-CCMP][ESS]",
                PRIV,
                rsn(4, &[4], &[17], 0),
                None,
            ),
            (
                "[RSN-DPP-CCMP][ESS][MFPR]",
                PRIV,
                rsn(4, &[4], &[DPP], 0xC0),
                None,
            ),
            (
                "[RSN-PSK+SAE+DPP-CCMP][ESS][MFPC]",
                PRIV,
                rsn(4, &[4], &[2, 8, DPP], 0x80),
                None,
            ),
            // No key management named.
            ("[WPA2-CCMP][ESS]", PRIV, rsn(4, &[4], &[], 0), None),
            // An element that ends after its version: 802.11's defaults.
            (
                "[WPA2-EAP-CCMP][ESS]",
                PRIV,
                Some(Rsn::parse(&[1, 0]).unwrap()),
                None,
            ),
            (
                "[WPA-EAP-TKIP][ESS]",
                PRIV,
                None,
                Some(Rsn::parse_wpa(&[1, 0]).unwrap()),
            ),
        ]
    }

    #[test]
    fn elements_give_what_the_capabilities_string_gives() {
        for (caps, field, r, w) in equivalents() {
            let want = parse(caps);
            let got = from_beacon(field, r.as_ref(), w.as_ref());
            assert_eq!(
                got,
                want,
                "{caps:?}: {} vs {}",
                got.display(),
                want.display()
            );
            // Without the capability field: the same but ESS and IBSS.
            let bare = from_elements(field & capability::PRIVACY != 0, r.as_ref(), w.as_ref());
            assert_eq!(bare.bits, want.bits, "{caps:?}");
            assert_eq!(
                bare.extra,
                want.extra & !(extra::ESS | extra::IBSS),
                "{caps:?}"
            );
        }
    }

    #[test]
    fn elements_cases() {
        let c = from_elements(false, None, None);
        assert_eq!(
            (c.bits, c.extra, c.display().as_str()),
            (0, extra::KNOWN, "Open")
        );
        assert!(c.known() && !c.encrypted());
        let c = from_elements(true, None, None);
        assert!(c.weak() && c.encrypted());
        assert_eq!(c.display(), "WEP");

        let sae = rsn(4, &[4], &[8], 0xC0);
        let c = from_elements(true, sae.as_ref(), None);
        assert_eq!(c.display(), "WPA3 WPA3-SAE AES-CCMP");
        assert_eq!(c.mfp(), (true, true));
        assert_eq!(c.legacy() & legacy::VERSION_WPA2, 0);

        let owe = rsn(4, &[4], &[18], 0xC0);
        let c = from_elements(true, owe.as_ref(), None);
        assert_eq!(c.display(), "WPA3 WPA3-OWE AES-CCMP");

        // WPA and WPA2 together, as the wpa-Induction capture's AP: TKIP group in both.
        let (r, w) = (rsn(2, &[2, 4], &[2], 0), wpa(2, &[2, 4], &[2]));
        let c = from_elements(true, r.as_ref(), w.as_ref());
        assert_eq!(c.display(), "WPA WPA2 WPA-PSK WPA2-PSK TKIP AES-CCMP");
        assert_eq!(
            c.bits & (v2::GROUP_TKIP | v2::GROUP_CCMP128),
            v2::GROUP_TKIP
        );

        // The one place the element path knows better: the group cipher. A scanner prints this
        // network as `[WPA-PSK-TKIP][WPA2-PSK-CCMP]`, from which `parse` guesses a CCMP group.
        let (r, w) = (rsn(2, &[4], &[2], 0), wpa(2, &[2], &[2]));
        let c = from_elements(true, r.as_ref(), w.as_ref());
        let s = parse("[WPA-PSK-TKIP][WPA2-PSK-CCMP]");
        assert_eq!(c.bits, s.bits & !v2::GROUP_CCMP128);
        assert_eq!(c.display(), s.display());

        // Unknown suites only: the generation, nothing else.
        let mut b = body(IEEE, 7, &[3], &[7], None);
        b[8..12].copy_from_slice(&[0x00, 0x10, 0x18, 0x02]);
        let odd = Rsn::parse(&b).unwrap();
        let c = from_elements(true, Some(&odd), None);
        assert_eq!(c.bits, v2::GENERAL_WPA | v2::GENERAL_WPA2);
        assert!(c.encrypted() && !c.weak());

        // ESS and IBSS only through the capability field.
        assert_eq!(from_beacon(PRIV, None, None).extra & extra::ESS, extra::ESS);
        assert_eq!(
            from_beacon(capability::IBSS, None, None).extra & extra::IBSS,
            extra::IBSS
        );
        assert_eq!(
            from_elements(true, None, None).extra & (extra::ESS | extra::IBSS),
            0
        );
    }
}
