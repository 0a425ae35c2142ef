//! Small pieces of Kismet's behaviour that clients can observe: its checksum, its UUID and
//! device key spelling, its channel names, its printable SSIDs.

use std::fmt::Write as _;

/// A datasource UUID, as 16 bytes.
pub type Uuid = [u8; 16];

/// Parses `8-4-4-4-12` hex digits (either case).
pub fn parse_uuid(s: &str) -> Option<Uuid> {
    let b = s.as_bytes();
    if b.len() != 36 {
        return None;
    }
    let mut out = [0u8; 16];
    let mut n = 0;
    let mut i = 0;
    while i < 36 {
        if matches!(i, 8 | 13 | 18 | 23) {
            if b[i] != b'-' {
                return None;
            }
            i += 1;
            continue;
        }
        let hi = (b[i] as char).to_digit(16)?;
        let lo = (b.get(i + 1).copied()? as char).to_digit(16)?;
        out[n] = (hi << 4 | lo) as u8;
        n += 1;
        i += 2;
    }
    Some(out)
}

/// Uppercase `8-4-4-4-12`, as Kismet prints UUIDs.
pub fn format_uuid(u: &Uuid) -> String {
    let mut s = String::with_capacity(36);
    for (i, b) in u.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            s.push('-');
        }
        let _ = write!(s, "{b:02X}");
    }
    s
}

/// Kismet's `adler32_checksum`: Adler-32's sums without the modulo, the first 4-byte groups
/// unrolled; 0 for fewer than 4 bytes. Used for `kismet.datasource.source_key` (over the UUID
/// string) and `dot11.advertisedssid.ietag_checksum` (over SSID + capabilities).
pub fn adler32(data: &[u8]) -> u32 {
    let n = data.len();
    if n < 4 {
        return 0;
    }
    let (mut s1, mut s2) = (0u32, 0u32);
    let mut i = 0;
    while i < n - 4 {
        let (a, b, c, d) = (
            data[i] as u32,
            data[i + 1] as u32,
            data[i + 2] as u32,
            data[i + 3] as u32,
        );
        s2 = s2.wrapping_add(
            4u32.wrapping_mul(s1.wrapping_add(a))
                .wrapping_add(3 * b)
                .wrapping_add(2 * c)
                .wrapping_add(d),
        );
        s1 = s1.wrapping_add(a + b + c + d);
        i += 4;
    }
    for &x in &data[i..] {
        s1 = s1.wrapping_add(x as u32);
        s2 = s2.wrapping_add(s1);
    }
    (s1 & 0xFFFF).wrapping_add(s2 << 16)
}

/// The phy half of Kismet's device keys for `IEEE802.11` (the phy name's checksum, as Kismet
/// prints it).
pub const PHY_KEY: &str = "4202770D00000000";

/// `kismet.device.base.key`: the phy part, `_`, then the MAC's octets read as a little-endian
/// number in uppercase hex without leading zeros (`AA:BB:CC:00:00:01` → `10000CCBBAA`).
pub fn device_key(mac: u64) -> String {
    format!("{PHY_KEY}_{:X}", mac_le(mac))
}

/// The MAC (packed big-endian) as the little-endian number in Kismet's keys; an involution.
fn mac_le(mac: u64) -> u64 {
    (mac & 0xFFFF_FFFF_FFFF).swap_bytes() >> 16
}

/// The MAC named by a device key; `None` when the key is not one of ours.
pub fn parse_device_key(key: &str) -> Option<u64> {
    let (phy, dev) = key.trim().split_once('_')?;
    if !phy.eq_ignore_ascii_case(PHY_KEY) || dev.is_empty() || dev.len() > 12 {
        return None;
    }
    let v = u64::from_str_radix(dev, 16).ok()?;
    Some(mac_le(v))
}

/// The channel name Kismet derives from a frequency in kHz (`5180000` → `36`; 6 GHz channels
/// get Kismet's `W6e` suffix); `None` outside the Wi-Fi bands.
pub fn channel_for(khz: u32) -> Option<String> {
    let mhz = khz / 1000;
    if mhz * 1000 != khz {
        return None;
    }
    // Channel n of a band is base + n * step MHz.
    let ch = |base: u32, step: u32| {
        let n = (mhz - base) / step;
        (base + n * step == mhz).then_some(n)
    };
    let n = match mhz {
        2484 => Some(14),
        2412..=2472 => ch(2407, 5),
        4910..=4980 => ch(4000, 5),
        5935 => return Some("2W6e".into()),
        5955..=7115 => return ch(5950, 5).map(|n| format!("{n}W6e")),
        5000..=5925 => ch(5000, 5),
        58320..=70200 => ch(56160, 2160),
        _ => None,
    }?;
    Some(n.to_string())
}

/// Where an SSID byte that is not part of valid UTF-8 is kept in the stored text: code point
/// `RAW_BYTE + byte`, at the end of Unicode's last private-use plane (no SSID a phone reports
/// uses it). It renders as `\xNN` and counts as one byte.
const RAW_BYTE: u32 = 0x10_FF00;

fn raw_byte(c: char) -> Option<u8> {
    (c as u32).checked_sub(RAW_BYTE).map(|b| b as u8)
}

/// An SSID as captured (any bytes) as stored text: valid UTF-8 as is, every other byte kept
/// as itself (see [`RAW_BYTE`]), so the record can show exactly the bytes on the air.
pub fn ssid_from_bytes(b: &[u8]) -> Box<str> {
    let mut s = String::with_capacity(b.len());
    for chunk in b.utf8_chunks() {
        s.push_str(chunk.valid());
        for &x in chunk.invalid() {
            s.push(char::from_u32(RAW_BYTE + x as u32).expect("a private-use code point"));
        }
    }
    s.into()
}

/// The SSID's length in bytes on the air (`ssidlen`).
pub fn ssid_len(ssid: &str) -> usize {
    ssid.chars()
        .map(|c| raw_byte(c).map_or(c.len_utf8(), |_| 1))
        .sum()
}

/// An SSID made printable: control characters (C0, DEL, C1) and bytes that are not UTF-8 as
/// `\xNN`, a backslash doubled, so the escaped form is unambiguous. Printable text is
/// returned unchanged.
pub fn printable_ssid(raw: &str) -> std::borrow::Cow<'_, str> {
    if !raw
        .chars()
        .any(|c| c.is_control() || c == '\\' || raw_byte(c).is_some())
    {
        return std::borrow::Cow::Borrowed(raw);
    }
    let mut s = String::with_capacity(raw.len() + 8);
    for c in raw.chars() {
        if c == '\\' {
            s.push_str("\\\\");
        } else if let Some(b) = raw_byte(c) {
            let _ = write!(s, "\\x{b:02X}");
        } else if c.is_control() {
            let _ = write!(s, "\\x{:02X}", c as u32);
        } else {
            s.push(c);
        }
    }
    std::borrow::Cow::Owned(s)
}

/// A 32-bit hash of an SSID for `dot11.advertisedssid.ssid_hash` (FNV-1a over the raw bytes;
/// Kismet's own hash function is not reproduced, the value only has to be stable).
pub fn ssid_hash(raw: &str) -> u32 {
    let step = |h: u32, b: u8| (h ^ b as u32).wrapping_mul(0x0100_0193);
    let mut h = 0x811C_9DC5u32;
    let mut buf = [0u8; 4];
    for c in raw.chars() {
        match raw_byte(c) {
            Some(b) => h = step(h, b),
            None => {
                for &b in c.encode_utf8(&mut buf).as_bytes() {
                    h = step(h, b);
                }
            }
        }
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ssid_bytes_that_are_not_utf8_are_kept_and_shown_as_escapes() {
        let raw = [0xB2, 0xE2, b'a', 0xC3, 0xA9, 0x01, b'\\'];
        let s = ssid_from_bytes(&raw);
        assert_eq!(ssid_len(&s), raw.len());
        assert_eq!(printable_ssid(&s), "\\xB2\\xE2a\u{e9}\\x01\\\\");
        assert_eq!(ssid_hash(&s), ssid_hash_bytes(&raw));
        assert_eq!(ssid_hash("abc"), ssid_hash_bytes(b"abc"));
    }

    fn ssid_hash_bytes(b: &[u8]) -> u32 {
        b.iter().fold(0x811C_9DC5u32, |h, &x| {
            (h ^ x as u32).wrapping_mul(0x0100_0193)
        })
    }

    #[test]
    fn checksums_match_kismet_reference_values() {
        // Values from the reference responses (Kismet 2025-09).
        assert_eq!(
            adler32(b"11111111-2222-3333-4444-555555555555"),
            2_167_277_340
        );
        assert_eq!(adler32(b"RefNet-WPA2[WPA2-PSK-CCMP][ESS]"), 2_577_074_539);
        assert_eq!(adler32(b"[ESS]"), 81_199_523);
        assert_eq!(
            adler32(b"RefNet-EAP[WPA-EAP-TKIP][WPA2-EAP-CCMP][ESS][WPS]"),
            1_917_521_609
        );
        assert_eq!(adler32(b"abc"), 0);
        assert_eq!(adler32(b"IEEE802.11").swap_bytes(), 0x4202_770D);
    }

    #[test]
    fn keys_round_trip() {
        assert_eq!(device_key(0xAABB_CC00_0001), "4202770D00000000_10000CCBBAA");
        assert_eq!(device_key(0xAABB_CC00_0003), "4202770D00000000_30000CCBBAA");
        assert_eq!(
            parse_device_key("4202770d00000000_10000ccbbaa"),
            Some(0xAABB_CC00_0001)
        );
        for mac in [0u64, 1, 0xFFFF_FFFF_FFFE, 0x0012_3456_789A] {
            assert_eq!(parse_device_key(&device_key(mac)), Some(mac));
        }
        assert_eq!(parse_device_key("1234_10000CCBBAA"), None);
        assert_eq!(parse_device_key("4202770D00000000_"), None);
        assert_eq!(parse_device_key("4202770D00000000_1234567890ABC"), None);
        assert_eq!(parse_device_key("nokey"), None);
    }

    #[test]
    fn uuids() {
        let u = parse_uuid("11111111-2222-3333-4444-55555555555a").unwrap();
        assert_eq!(format_uuid(&u), "11111111-2222-3333-4444-55555555555A");
        assert_eq!(parse_uuid(&format_uuid(&u)), Some(u));
        for bad in [
            "",
            "11111111-2222-3333-4444-5555555555",
            "111111112222-3333-4444-5555555555555",
            "1111111g-2222-3333-4444-555555555555",
            "11111111-2222-3333-4444-5555555555555",
        ] {
            assert_eq!(parse_uuid(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn channels() {
        assert_eq!(channel_for(2_437_000).as_deref(), Some("6"));
        assert_eq!(channel_for(2_412_000).as_deref(), Some("1"));
        assert_eq!(channel_for(2_484_000).as_deref(), Some("14"));
        assert_eq!(channel_for(5_180_000).as_deref(), Some("36"));
        assert_eq!(channel_for(5_825_000).as_deref(), Some("165"));
        assert_eq!(channel_for(5_955_000).as_deref(), Some("1W6e"));
        assert_eq!(channel_for(6_115_000).as_deref(), Some("33W6e"));
        assert_eq!(channel_for(60_480_000).as_deref(), Some("2"));
        assert_eq!(channel_for(2_437_500), None);
        assert_eq!(channel_for(900_000), None);
    }

    #[test]
    fn ssids_printable() {
        assert_eq!(printable_ssid("Net"), "Net");
        assert_eq!(printable_ssid("a\u{0}b\u{7f}"), "a\\x00b\\x7F");
        assert_eq!(printable_ssid("a\\b"), "a\\\\b");
        assert_eq!(printable_ssid("\u{85}é"), "\\x85é");
        assert_ne!(ssid_hash(""), ssid_hash("x"));
    }
}
