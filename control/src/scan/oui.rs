//! Manufacturer lookup by the 24-bit OUI of a MAC address (`kismet.device.base.manuf`).
//!
//! The table is `control/data/oui.tsv` (generated from the IEEE MA-L registry by
//! `scripts/make-oui.sh`), embedded in the binary. It is parsed once, on first use, into one
//! sorted array of (prefix, name index) and the distinct names: about 32,500 prefixes and 18,700
//! names, ~0.9 MB, looked up by binary search.

use std::collections::HashMap;
use std::sync::OnceLock;

/// The embedded table: `AABBCC<TAB>Organisation` per line, sorted by prefix.
const OUI_TSV: &str = include_str!("../../data/oui.tsv");

/// What Kismet says for an address not in the table.
pub const UNKNOWN: &str = "Unknown";

pub struct OuiTable {
    /// (prefix, index into `names`), sorted by prefix.
    entries: Vec<(u32, u32)>,
    names: Vec<Box<str>>,
}

impl OuiTable {
    /// Parses `text`; malformed lines are skipped.
    pub fn parse(text: &str) -> OuiTable {
        let mut names: Vec<Box<str>> = Vec::new();
        let mut index: HashMap<&str, u32> = HashMap::new();
        let mut entries = Vec::new();
        for line in text.lines() {
            let Some((hex, name)) = line.split_once('\t') else {
                continue;
            };
            let (Ok(prefix), true) = (u32::from_str_radix(hex, 16), hex.len() == 6) else {
                continue;
            };
            let name = name.trim();
            if name.is_empty() {
                continue;
            }
            let i = *index.entry(name).or_insert_with(|| {
                names.push(name.into());
                (names.len() - 1) as u32
            });
            entries.push((prefix, i));
        }
        entries.sort_unstable();
        entries.dedup_by_key(|e| e.0);
        entries.shrink_to_fit();
        names.shrink_to_fit();
        OuiTable { entries, names }
    }

    /// The embedded table, parsed on first use.
    pub fn get() -> &'static OuiTable {
        static TABLE: OnceLock<OuiTable> = OnceLock::new();
        TABLE.get_or_init(|| OuiTable::parse(OUI_TSV))
    }

    /// The organisation that owns `mac`'s OUI (`mac` packed big-endian in the low 48 bits).
    pub fn lookup(&self, mac: u64) -> Option<&str> {
        let prefix = ((mac >> 24) & 0xFF_FFFF) as u32;
        self.entries
            .binary_search_by_key(&prefix, |e| e.0)
            .ok()
            .map(|i| &*self.names[self.entries[i].1 as usize])
    }

    /// Number of prefixes.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// `kismet.device.base.manuf` for `mac`.
pub fn manuf(mac: u64) -> &'static str {
    OuiTable::get().lookup(mac).unwrap_or(UNKNOWN)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_prefixes() {
        let t = OuiTable::get();
        assert!(t.len() > 30_000, "{} prefixes", t.len());
        assert_eq!(manuf(0x000C_2912_3456), "VMware, Inc.");
        assert_eq!(manuf(0xB827_EB00_0001), "Raspberry Pi Foundation");
        assert_eq!(manuf(0x0000_0C01_0203), "Cisco Systems, Inc");
        assert_eq!(manuf(0x001B_6300_0000), "Apple, Inc.");
        assert_eq!(manuf(0x3C5A_B4FF_FFFF), "Google, Inc.");
        // Locally administered, never assigned: what Kismet answers too.
        assert_eq!(manuf(0xAABB_CC00_0001), UNKNOWN);
    }

    #[test]
    fn parse_skips_bad_lines_and_shares_names() {
        let t = OuiTable::parse("00000A\tX\nzz\tbad\n00000B\tX\n0001\tshort\n00000C\t\n");
        assert_eq!(t.len(), 2);
        assert_eq!(t.names.len(), 1);
        assert_eq!(t.lookup(0x0000_0B00_0000), Some("X"));
        assert_eq!(t.lookup(0x0000_0C00_0000), None);
    }
}
