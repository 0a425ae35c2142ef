//! How a compiled [`FilterTable`] is laid out in the kernel program's maps, and which map
//! writes turn one table's layout into another's. Pure: no system call here.
//!
//! The maps (bpf/kfilter.bpf.c): `exact` holds the group whose mask is all ones; `mask0` to
//! `mask7` hold up to [`MASK_SLOTS`] masked groups, one per slot, in the decision's order
//! of precedence; `config` holds the default, the block unions, the masks and the
//! generation. Every map value is a table entry's two bytes (which blocks have a term there,
//! which of those block), so the program's probe is `FilterTable::probe` line for line.

use crate::filter::{Action, FilterTable, TableGroup};

/// Masked groups the program has maps for. A table with more masks is not expressible: the
/// program then passes every frame up to user space.
pub const MASK_SLOTS: usize = 8;

/// How many entries each term map is created for: the `exact` map, and each of the
/// `mask0`..`mask7` maps. A hash map's bucket array (16 bytes a bucket) is allocated when it is
/// created, and entries as they are written, so a capacity costs memory only in buckets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Capacity {
    pub exact: u32,
    pub masked: u32,
}

impl Capacity {
    /// What a filter of a few thousand terms needs, as bpf/kfilter.bpf.c declares it.
    pub const DEFAULT: Capacity = Capacity {
        exact: 1 << 16,
        masked: 1 << 12,
    };

    /// Most entries one map may be created for.
    pub const MAX: u32 = 1 << 24;

    /// `at_least`, raised where `table` needs more: room for twice each of its groups, so
    /// that the filter the process starts with can double before it stops fitting.
    pub fn for_table(table: &FilterTable, at_least: Capacity) -> Capacity {
        let p = Placement::of(table);
        let room = |len: usize| {
            (len.saturating_mul(2).next_power_of_two()).min(Capacity::MAX as usize) as u32
        };
        Capacity {
            exact: at_least.exact.max(room(p.exact.map_or(0, |g| g.len()))),
            masked: at_least
                .masked
                .max(room(p.masked.iter().map(|g| g.len()).max().unwrap_or(0))),
        }
    }
}

/// The mask of exact terms (48 address bits).
pub const EXACT_MASK: u64 = 0xffff_ffff_ffff;

/// The program's `struct config` (bpf/kfilter.bpf.c), field for field.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Config {
    pub seq: u32,
    pub usable: u8,
    pub default_block: u8,
    pub blocks: u8,
    pub exact_blocks: u8,
    pub nmask: u8,
    pub weak_order: u8,
    pub pad: [u8; 2],
    /// All ones: the program launders values through it (see bpf/kfilter.bpf.c).
    pub ones: u32,
    pub generation: u64,
    pub mask: [u64; MASK_SLOTS],
    pub mask_blocks: [u8; MASK_SLOTS],
}

impl Config {
    /// A config with which the program judges nothing (passes every frame up): before the
    /// first table, while a table does not fit, after a failed write.
    pub fn unusable() -> Config {
        Config {
            weak_order: WEAK_ORDER,
            ones: u32::MAX,
            ..Config::default()
        }
    }
}

/// Whether this CPU may reorder loads, so that the program must read the sequence lock with a
/// full barrier (everything but x86).
const WEAK_ORDER: u8 = if cfg!(any(target_arch = "x86_64", target_arch = "x86")) {
    0
} else {
    1
};

/// The program's per-CPU counters, in map index order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Counter {
    /// Frames the program saw.
    Seen = 0,
    /// Frames it dropped because the table blocks them.
    Dropped = 1,
    /// Frames it passed up because it does not read their headers exactly as user space does.
    Unparsed = 2,
    /// Frames it passed up because the maps did not hold the table.
    Unusable = 3,
    /// Frames it passed up because their decision overlapped a change.
    Raced = 4,
}

/// Number of counters.
pub const COUNTERS: usize = 5;

/// One of the term maps.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TermMap {
    Exact,
    /// `mask0`..`mask7`.
    Slot(u8),
}

/// Where each group of a table goes, or why it cannot.
pub struct Placement<'a> {
    pub exact: Option<TableGroup<'a>>,
    /// Masked groups in precedence order: slot i holds `masked[i]`.
    pub masked: Vec<TableGroup<'a>>,
}

impl<'a> Placement<'a> {
    pub fn of(table: &'a FilterTable) -> Placement<'a> {
        let mut exact = None;
        let mut masked = Vec::new();
        for g in table.groups() {
            if g.mask() == EXACT_MASK {
                exact = Some(g);
            } else {
                masked.push(g);
            }
        }
        Placement { exact, masked }
    }

    /// Why maps of `capacity` cannot hold the table, if they cannot.
    pub fn misfit(&self, capacity: Capacity) -> Option<String> {
        if self.masked.len() > MASK_SLOTS {
            return Some(format!(
                "the filter has {} masks; the kernel program has maps for {MASK_SLOTS}",
                self.masked.len()
            ));
        }
        let exact = self.exact.map_or(0, |g| g.len());
        if exact > capacity.exact as usize {
            return Some(format!(
                "the filter has {exact} exact terms; the kernel map holds {} \
                 (--kernel-filter-capacity)",
                capacity.exact
            ));
        }
        if let Some(g) = self
            .masked
            .iter()
            .find(|g| g.len() > capacity.masked as usize)
        {
            return Some(format!(
                "the filter has {} terms under the mask {:012x}; a kernel mask map holds {}",
                g.len(),
                g.mask(),
                capacity.masked
            ));
        }
        None
    }

    /// Whether maps of `capacity` can hold the table.
    pub fn fits(&self, capacity: Capacity) -> bool {
        self.misfit(capacity).is_none()
    }

    fn group(&self, map: TermMap) -> Option<TableGroup<'a>> {
        match map {
            TermMap::Exact => self.exact,
            TermMap::Slot(i) => self.masked.get(i as usize).copied(),
        }
    }

    /// The config for `table` (`seq` left 0): its shape when it fits maps of `capacity`,
    /// else [`Config::unusable`].
    pub fn config(&self, table: &FilterTable, capacity: Capacity) -> Config {
        if !self.fits(capacity) {
            return Config::unusable();
        }
        let mut c = Config {
            usable: 1,
            default_block: u8::from(table.default_action() == Action::Block),
            blocks: table.blocks(),
            exact_blocks: self.exact.map_or(0, |g| g.blocks()),
            nmask: self.masked.len() as u8,
            generation: table.generation(),
            ..Config::unusable()
        };
        for (i, g) in self.masked.iter().enumerate() {
            c.mask[i] = g.mask();
            c.mask_blocks[i] = g.blocks();
        }
        c
    }
}

/// Map writes, deletions first.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Writes {
    pub deletes: Vec<(TermMap, u64)>,
    pub upserts: Vec<(TermMap, u64, [u8; 2])>,
}

impl Writes {
    pub fn len(&self) -> usize {
        self.deletes.len() + self.upserts.len()
    }
}

fn all_maps() -> impl Iterator<Item = TermMap> {
    std::iter::once(TermMap::Exact).chain((0..MASK_SLOTS as u8).map(TermMap::Slot))
}

/// The writes that turn the maps holding `old` into maps holding `new` (both must fit). A
/// map whose group keeps its mask gets only the entries that differ, found without reading
/// what the two tables share ([`TableGroup::diff`]); a map whose mask changes (a mask added
/// or removed before it in precedence) is emptied and refilled.
pub fn writes(old: &Placement<'_>, new: &Placement<'_>) -> Writes {
    let mut w = Writes::default();
    for map in all_maps() {
        match (old.group(map), new.group(map)) {
            (None, None) => {}
            (Some(o), Some(n)) if o.mask() == n.mask() => o.diff(n, |k, _, v| match v {
                Some(v) => w.upserts.push((map, k, v)),
                None => w.deletes.push((map, k)),
            }),
            (o, n) => {
                if let Some(o) = o {
                    w.deletes.extend(o.entries().map(|(k, _)| (map, k)));
                }
                if let Some(n) = n {
                    w.upserts.extend(n.entries().map(|(k, v)| (map, k, v)));
                }
            }
        }
    }
    w
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::filter::{Block, FilterModel, PHY_80211};
    use std::collections::HashMap;

    fn table(default: Action, terms: &[(Block, &str, Action)]) -> FilterTable {
        let mut m = FilterModel::new("t", "");
        m.set_default(default);
        for &(b, t, a) in terms {
            let mut all: Vec<_> = m.terms(PHY_80211, b).collect();
            all.push((t.parse().unwrap(), a));
            m.set_terms(PHY_80211, b, all);
        }
        m.compile()
    }

    /// What the maps hold after `w` is applied to `maps`.
    fn apply(maps: &mut HashMap<(TermMap, u64), [u8; 2]>, w: &Writes) {
        for d in &w.deletes {
            maps.remove(d);
        }
        for &(m, k, v) in &w.upserts {
            maps.insert((m, k), v);
        }
    }

    fn image(p: &Placement<'_>) -> HashMap<(TermMap, u64), [u8; 2]> {
        let mut maps = HashMap::new();
        for map in all_maps() {
            if let Some(g) = p.group(map) {
                for (k, v) in g.entries() {
                    maps.insert((map, k), v);
                }
            }
        }
        maps
    }

    #[test]
    fn exact_first_masks_in_precedence_order() {
        let t = table(
            Action::Block,
            &[
                (
                    Block::Source,
                    "aa:bb:cc:00:00:00/ff:ff:00:00:00:00",
                    Action::Pass,
                ),
                (Block::Any, "aa:bb:cc:dd:ee:ff", Action::Block),
                (
                    Block::Network,
                    "aa:bb:cc:00:00:00/ff:ff:ff:00:00:00",
                    Action::Pass,
                ),
            ],
        );
        let p = Placement::of(&t);
        assert!(p.fits(Capacity::DEFAULT));
        let c = p.config(&t, Capacity::DEFAULT);
        assert_eq!((c.usable, c.default_block, c.nmask), (1, 1, 2));
        assert_eq!(c.exact_blocks, 1 << Block::Any.index());
        assert_eq!(c.mask[0], 0xffff_ff00_0000);
        assert_eq!(c.mask[1], 0xffff_0000_0000);
        assert_eq!(c.mask_blocks[0], 1 << Block::Network.index());
        assert_eq!(c.blocks, 0b10101);
    }

    #[test]
    fn one_term_change_writes_one_key() {
        let a = table(
            Action::Pass,
            &[(Block::Source, "00:00:00:00:00:01", Action::Block)],
        );
        let b = table(
            Action::Pass,
            &[
                (Block::Source, "00:00:00:00:00:01", Action::Block),
                (Block::Source, "00:00:00:00:00:02", Action::Block),
            ],
        );
        let w = writes(&Placement::of(&a), &Placement::of(&b));
        assert_eq!(w.deletes, vec![]);
        assert_eq!(w.upserts, vec![(TermMap::Exact, 2, [1, 1])]);
        let back = writes(&Placement::of(&b), &Placement::of(&a));
        assert_eq!(back.deletes, vec![(TermMap::Exact, 2)]);
        assert!(back.upserts.is_empty());
    }

    #[test]
    fn a_new_mask_ahead_moves_the_groups_behind_it() {
        let a = table(
            Action::Pass,
            &[(
                Block::Source,
                "aa:00:00:00:00:00/ff:00:00:00:00:00",
                Action::Block,
            )],
        );
        let b = table(
            Action::Pass,
            &[
                (
                    Block::Source,
                    "aa:00:00:00:00:00/ff:00:00:00:00:00",
                    Action::Block,
                ),
                (
                    Block::Source,
                    "aa:bb:00:00:00:00/ff:ff:00:00:00:00",
                    Action::Block,
                ),
            ],
        );
        let (pa, pb) = (Placement::of(&a), Placement::of(&b));
        let mut maps = image(&pa);
        let w = writes(&pa, &pb);
        apply(&mut maps, &w);
        assert_eq!(maps, image(&pb));
        assert_eq!(
            maps.get(&(TermMap::Slot(1), 0xaa00_0000_0000)),
            Some(&[1, 1])
        );
    }

    #[test]
    fn more_masks_than_slots_do_not_fit() {
        let terms: Vec<(Block, String, Action)> = (1..=9)
            .map(|bits| {
                let mask = (0xffff_ffff_ffffu64 << (48 - bits)) & EXACT_MASK;
                let m = crate::wire::MacAddr::from_be_u64(mask);
                (
                    Block::Source,
                    format!("00:00:00:00:00:00/{m}"),
                    Action::Block,
                )
            })
            .collect();
        let refs: Vec<(Block, &str, Action)> =
            terms.iter().map(|(b, t, a)| (*b, t.as_str(), *a)).collect();
        let t = table(Action::Pass, &refs);
        assert!(!Placement::of(&t).fits(Capacity::DEFAULT));
        let t = table(Action::Pass, &refs[..8]);
        assert!(Placement::of(&t).fits(Capacity::DEFAULT));
    }
}
