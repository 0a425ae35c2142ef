//! The compiled, immutable filter table and the per-frame decision.
//!
//! A table is built once per change from the model and then only read, by every worker at
//! once. The decision costs at most one hash probe per distinct mask per address role, whatever
//! the number of terms: exact terms of all five blocks share one map, masked terms share one map
//! per mask, and each map entry says in two bytes which blocks hold that term and what it does.
//! A prefilter in front of each map turns most misses into a single bit test. Each mask's map
//! is split into shards that successive tables share ([`MaskGroup`]), so a change costs the
//! keys it touches.

use std::cmp::Reverse;
use std::fmt;

use rustc_hash::FxHashMap;

use super::group::{Entry, MaskGroup};
use super::model::{Action, Block, FilterModel, PHY_80211};
use crate::wire::{Addresses, MacAddr, MacTerm};

/// Bit of the `any` block in the per-entry and per-group block sets.
const ANY: u8 = 1 << Block::Any.index();

const fn bit(b: Block) -> u8 {
    1 << b.index()
}

impl Entry {
    /// Records that `block` has a term here doing `action`.
    fn mark(&mut self, block: Block, action: Action) {
        self.present |= bit(block);
        if action.is_block() {
            self.blocks |= bit(block);
        }
    }

    #[inline]
    fn action(self, block_bit: u8) -> Action {
        Action::from_bool(self.blocks & block_bit != 0)
    }
}

/// An immutable filter compiled for the dataplane; see [`FilterTable::decide`]. Cloning one
/// is cheap (its groups' shards are shared), which is how a change makes the next table
/// ([`FilterModel::recompile`]).
///
/// Exact terms are the group whose mask is all ones. Groups are sorted by precedence (more mask
/// bits first; equal counts, larger mask first), so the exact group comes first and, for each
/// block, the first group with a matching entry holds the winning term.
#[derive(Clone)]
pub struct FilterTable {
    default: Action,
    groups: Box<[MaskGroup]>,
    /// Union of every group's blocks; zero when the table has no terms.
    blocks: u8,
    term_count: usize,
    generation: u64,
}

impl FilterTable {
    /// A table without terms that passes every frame: what workers run before any filter is
    /// configured.
    pub fn pass_all() -> FilterTable {
        FilterTable {
            default: Action::Pass,
            groups: Box::default(),
            blocks: 0,
            term_count: 0,
            generation: 0,
        }
    }

    /// Number of compiled (802.11) terms.
    pub fn term_count(&self) -> usize {
        self.term_count
    }

    /// The generation the handle assigned when publishing this table; 0 if never published.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    pub(super) fn set_generation(&mut self, generation: u64) {
        self.generation = generation;
    }

    /// The filter's verdict for a frame with these addresses (API.md section 2): the role
    /// blocks in order source, destination, network, other, each with its own address, then
    /// `any` with each address in the same order; the first block with a matching term decides,
    /// even when that term passes; otherwise the default. An absent address matches nothing.
    ///
    /// Per role, each mask is probed once and answers for the role's block and for `any`
    /// together. A role-block hit returns at once (nothing later can override it); an `any` hit
    /// is kept until the four role blocks have missed, and only the first one is needed, so
    /// later roles stop probing for `any` once one is found.
    #[inline]
    pub fn decide(&self, a: &Addresses) -> Action {
        if self.blocks == 0 {
            return self.default;
        }
        let mut any = None;
        if let Some(action) = self.probe(a.source, Block::Source, &mut any) {
            return action;
        }
        if let Some(action) = self.probe(a.destination, Block::Destination, &mut any) {
            return action;
        }
        if let Some(action) = self.probe(a.network, Block::Network, &mut any) {
            return action;
        }
        if let Some(action) = self.probe(a.other, Block::Other, &mut any) {
            return action;
        }
        any.unwrap_or(self.default)
    }

    /// Looks one role's address up: returns the action of `block`'s best matching term, and
    /// until some earlier role found one, records `any`'s best matching term in `any`.
    /// Written out per role (not a loop over an array of roles) so that each call's block bit
    /// is a constant.
    #[inline(always)]
    fn probe(
        &self,
        addr: Option<MacAddr>,
        block: Block,
        any: &mut Option<Action>,
    ) -> Option<Action> {
        let own = bit(block);
        let mut want = self.blocks & if any.is_none() { own | ANY } else { own };
        let addr = match addr {
            Some(addr) if want != 0 => addr.to_u64(),
            _ => return None,
        };
        for g in self.groups.iter() {
            if g.blocks & want == 0 {
                continue;
            }
            let Some(e) = g.get(addr & g.mask) else {
                continue;
            };
            let hit = e.present & want;
            if hit & own != 0 {
                return Some(e.action(own));
            }
            if hit & ANY != 0 {
                *any = Some(e.action(ANY));
                want &= !ANY;
                if want == 0 {
                    break;
                }
            }
        }
        None
    }
}

/// One compiled mask group as a mirror sees it: the kernel filter copies groups into BPF maps.
#[derive(Clone, Copy)]
pub struct TableGroup<'a> {
    group: &'a MaskGroup,
}

impl<'a> TableGroup<'a> {
    /// The mask, over the address's 48 bits as [`MacAddr::to_u64`] lays them out.
    pub fn mask(&self) -> u64 {
        self.group.mask
    }

    /// Union of the entries' block bits (bit [`Block::index`]).
    pub fn blocks(&self) -> u8 {
        self.group.blocks
    }

    /// Number of distinct masked values.
    pub fn len(&self) -> usize {
        self.group.len()
    }

    pub fn is_empty(&self) -> bool {
        self.group.len() == 0
    }

    /// Each masked value with the blocks that have a term there (`present`) and those of them
    /// whose term blocks (`blocks`): the two bytes of the decision's entries.
    pub fn entries(&self) -> impl Iterator<Item = (u64, [u8; 2])> + 'a {
        self.group.entries().map(|(k, e)| (k, bytes(e)))
    }

    /// The two bytes for `key`, if the group has it.
    pub fn get(&self, key: u64) -> Option<[u8; 2]> {
        self.group.get(key).map(bytes)
    }

    /// Calls `f(key, old, new)` for each value whose two bytes differ between this group and
    /// `newer` (same mask), reading only the parts of the groups that are not shared: after
    /// [`FilterModel::recompile`], what the change touched.
    pub fn diff(
        &self,
        newer: TableGroup<'_>,
        mut f: impl FnMut(u64, Option<[u8; 2]>, Option<[u8; 2]>),
    ) {
        self.group
            .diff(newer.group, |k, o, n| f(k, o.map(bytes), n.map(bytes)));
    }
}

fn bytes(e: Entry) -> [u8; 2] {
    [e.present, e.blocks]
}

impl FilterTable {
    /// The groups in the order the decision probes them (exact first; then more mask bits,
    /// then larger mask).
    pub fn groups(&self) -> impl Iterator<Item = TableGroup<'_>> {
        self.groups.iter().map(|group| TableGroup { group })
    }

    /// The action when no term matches.
    pub fn default_action(&self) -> Action {
        self.default
    }

    /// Union of every group's block bits; 0 when the table has no terms.
    pub fn blocks(&self) -> u8 {
        self.blocks
    }
}

impl Default for FilterTable {
    fn default() -> FilterTable {
        FilterTable::pass_all()
    }
}

impl fmt::Debug for FilterTable {
    /// A summary: a table can hold 100k terms.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FilterTable")
            .field("default", &self.default)
            .field("term_count", &self.term_count)
            .field("masks", &self.groups.len())
            .field("generation", &self.generation)
            .finish()
    }
}

impl FilterModel {
    /// Compiles the `IEEE802.11` terms into a table; other phys are stored only. The table's
    /// generation is 0 until a [`FilterHandle`](super::FilterHandle) publishes it.
    pub fn compile(&self) -> FilterTable {
        let mut by_mask: FxHashMap<u64, FxHashMap<u64, Entry>> = FxHashMap::default();
        let mut term_count = 0;
        for block in Block::ALL {
            for (term, action) in self.terms(PHY_80211, block) {
                let entries = by_mask.entry(term.mask().to_u64()).or_default();
                entries
                    .entry(term.value().to_u64())
                    .or_default()
                    .mark(block, action);
                term_count += 1;
            }
        }
        let groups = by_mask
            .into_iter()
            .map(|(mask, entries)| MaskGroup::build(mask, entries))
            .collect();
        FilterTable::assemble(self.default, groups, term_count)
    }

    /// The table for this model, made from `prev` (this model's table before a change) by
    /// recomputing only the entries of the `IEEE802.11` terms in `touched`: every term the
    /// change set, overwrote or removed, in any block. The result decides exactly as
    /// [`FilterModel::compile`] would, and shares every part of `prev` the change did not
    /// touch, so a one-term change costs microseconds whatever the filter's size.
    pub fn recompile(&self, prev: &FilterTable, touched: &[MacTerm]) -> FilterTable {
        let mut by_mask: FxHashMap<u64, Vec<(u64, Option<Entry>)>> = FxHashMap::default();
        let mut touched = touched.to_vec();
        touched.sort_unstable();
        touched.dedup();
        let mut term_count = prev.term_count as isize;
        for term in touched {
            let mut e = Entry::default();
            for block in Block::ALL {
                if let Some(action) = self.action(PHY_80211, block, term) {
                    e.mark(block, action);
                }
            }
            let (mask, key) = (term.mask().to_u64(), term.value().to_u64());
            let old = prev
                .groups
                .iter()
                .find(|g| g.mask == mask)
                .and_then(|g| g.get(key))
                .unwrap_or_default();
            term_count += e.present.count_ones() as isize - old.present.count_ones() as isize;
            by_mask
                .entry(mask)
                .or_default()
                .push((key, (e.present != 0).then_some(e)));
        }
        let mut groups: Vec<MaskGroup> = Vec::with_capacity(prev.groups.len() + by_mask.len());
        for g in prev.groups.iter() {
            match by_mask.remove(&g.mask) {
                None => groups.push(g.clone()),
                Some(changes) => groups.extend(g.with_changes(&changes)),
            }
        }
        for (mask, changes) in by_mask {
            let entries: FxHashMap<u64, Entry> = changes
                .into_iter()
                .filter_map(|(k, e)| Some((k, e?)))
                .collect();
            if !entries.is_empty() {
                groups.push(MaskGroup::build(mask, entries));
            }
        }
        FilterTable::assemble(self.default, groups, term_count.max(0) as usize)
    }
}

impl FilterTable {
    /// A table of `groups`, sorted into the decision's order of precedence.
    fn assemble(default: Action, mut groups: Vec<MaskGroup>, term_count: usize) -> FilterTable {
        groups.sort_unstable_by_key(|g| Reverse((g.mask.count_ones(), g.mask)));
        FilterTable {
            default,
            blocks: groups.iter().fold(0, |acc, g| acc | g.blocks),
            groups: groups.into_boxed_slice(),
            term_count,
            generation: 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::MacTerm;

    fn mac(s: &str) -> MacAddr {
        s.parse().unwrap()
    }

    fn term(s: &str) -> MacTerm {
        s.parse().unwrap()
    }

    fn table(default: Action, terms: &[(Block, &str, Action)]) -> FilterTable {
        let mut m = FilterModel::new("t", "");
        m.set_default(default);
        for &(b, t, a) in terms {
            m.set_terms(PHY_80211, b, [(term(t), a)]);
        }
        m.compile()
    }

    const A: &str = "aa:bb:cc:dd:ee:01";
    const B: &str = "aa:bb:cc:dd:ee:02";
    const C: &str = "aa:bb:cc:dd:ee:03";

    fn data(src: &str, dst: &str, bssid: &str) -> Addresses {
        Addresses {
            source: Some(mac(src)),
            destination: Some(mac(dst)),
            network: Some(mac(bssid)),
            other: None,
        }
    }

    #[test]
    fn empty_table_applies_the_default() {
        assert_eq!(FilterTable::default().decide(&data(A, B, C)), Action::Pass);
        let t = table(Action::Block, &[]);
        assert_eq!(t.decide(&data(A, B, C)), Action::Block);
        assert_eq!(t.decide(&Addresses::default()), Action::Block);
        assert_eq!((t.term_count(), t.generation()), (0, 0));
    }

    #[test]
    fn explicit_pass_in_source_beats_block_in_destination() {
        let t = table(
            Action::Block,
            &[
                (Block::Source, A, Action::Pass),
                (Block::Destination, B, Action::Block),
            ],
        );
        assert_eq!(t.decide(&data(A, B, C)), Action::Pass);
        assert_eq!(t.decide(&data(C, B, A)), Action::Block);
        assert_eq!(t.decide(&data(C, C, C)), Action::Block);
    }

    #[test]
    fn role_blocks_come_before_any() {
        let t = table(
            Action::Pass,
            &[
                (Block::Any, A, Action::Block),
                (Block::Network, C, Action::Pass),
            ],
        );
        assert_eq!(t.decide(&data(A, B, C)), Action::Pass);
        assert_eq!(t.decide(&data(B, A, B)), Action::Block);
        // `any` looks at the source before the destination.
        let t = table(
            Action::Pass,
            &[
                (Block::Any, A, Action::Pass),
                (Block::Any, B, Action::Block),
            ],
        );
        assert_eq!(t.decide(&data(A, B, C)), Action::Pass);
        assert_eq!(t.decide(&data(B, A, C)), Action::Block);
    }

    #[test]
    fn exact_beats_masked_and_longer_mask_beats_shorter() {
        let t = table(
            Action::Pass,
            &[
                (
                    Block::Source,
                    "aa:00:00:00:00:00/ff:00:00:00:00:00",
                    Action::Block,
                ),
                (
                    Block::Source,
                    "aa:bb:cc:00:00:00/ff:ff:ff:00:00:00",
                    Action::Pass,
                ),
                (
                    Block::Source,
                    "aa:bb:cc:dd:00:00/ff:ff:ff:ff:00:00",
                    Action::Block,
                ),
                (Block::Source, A, Action::Pass),
            ],
        );
        assert_eq!(t.decide(&data(A, B, C)), Action::Pass);
        assert_eq!(t.decide(&data(B, A, C)), Action::Block);
        assert_eq!(t.decide(&data("aa:bb:cc:01:02:03", A, C)), Action::Pass);
        assert_eq!(t.decide(&data("aa:01:02:03:04:05", A, C)), Action::Block);
        assert_eq!(t.decide(&data("ab:bb:cc:dd:ee:01", A, C)), Action::Pass);
        assert_eq!(t.term_count(), 4);
    }

    #[test]
    fn equal_mask_lengths_tie_on_the_larger_mask() {
        let high = "aa:bb:cc:00:00:00/ff:ff:ff:00:00:00";
        let spread = "aa:00:cc:00:ee:00/ff:00:ff:00:ff:00";
        let t = table(
            Action::Pass,
            &[
                (Block::Destination, high, Action::Pass),
                (Block::Destination, spread, Action::Block),
            ],
        );
        assert_eq!(t.decide(&data(C, A, C)), Action::Pass);
        assert_eq!(t.decide(&data(C, "aa:00:cc:00:ee:00", C)), Action::Block);
    }

    #[test]
    fn absent_addresses_never_match() {
        // A CTS: destination only.
        let cts = Addresses {
            destination: Some(mac(A)),
            ..Addresses::default()
        };
        let t = table(
            Action::Pass,
            &[(
                Block::Network,
                "00:00:00:00:00:00/00:00:00:00:00:00",
                Action::Block,
            )],
        );
        assert_eq!(t.decide(&cts), Action::Pass);
        assert_eq!(t.decide(&data(A, B, C)), Action::Block);
        // Kismet fills a missing fourth address with zeros; airsift does not.
        let t = table(
            Action::Pass,
            &[(Block::Other, "00:00:00:00:00:00", Action::Block)],
        );
        assert_eq!(t.decide(&data(A, B, C)), Action::Pass);
        assert_eq!(t.decide(&cts), Action::Pass);
        let wds = Addresses {
            other: Some(MacAddr::ZERO),
            ..data(A, B, C)
        };
        assert_eq!(t.decide(&wds), Action::Block);
    }

    #[test]
    fn the_default_blocks_unmatched_frames() {
        let t = table(Action::Block, &[(Block::Source, A, Action::Pass)]);
        assert_eq!(t.decide(&data(A, B, C)), Action::Pass);
        assert_eq!(t.decide(&data(B, A, A)), Action::Block);
    }

    #[test]
    fn only_the_80211_phy_is_compiled() {
        let mut m = FilterModel::new("t", "");
        m.set_terms("Bluetooth", Block::Any, [(term(A), Action::Block)]);
        let t = m.compile();
        assert_eq!(t.term_count(), 0);
        assert_eq!(t.decide(&data(A, A, A)), Action::Pass);
    }

    /// A small deterministic generator (xorshift64).
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }

        fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }
    }

    /// A term from a small space, so that changes hit existing terms, share values across
    /// blocks and masks appear and disappear.
    fn random_term(r: &mut Rng) -> MacTerm {
        let masks = [
            u64::MAX,
            u64::MAX,
            u64::MAX,
            0xffff_ff00_0000,
            0xffff_0000_0000,
            0xff00_ff00_ff00,
        ];
        let mask = MacAddr::from_be_u64(masks[r.below(masks.len() as u64) as usize]);
        let value = MacAddr::from_be_u64(0x0200_0000_0000 | (r.below(3_000) * 0x0101_0101));
        MacTerm::masked(value, mask)
    }

    /// Each group's mask, blocks and sorted entries.
    type Image = Vec<(u64, u8, Vec<(u64, [u8; 2])>)>;

    fn image(t: &FilterTable) -> Image {
        t.groups()
            .map(|g| {
                let mut e: Vec<_> = g.entries().collect();
                e.sort_unstable();
                (g.mask(), g.blocks(), e)
            })
            .collect()
    }

    #[test]
    fn recompiled_tables_equal_tables_compiled_whole() {
        let mut r = Rng(0x9e37_79b9_7f4a_7c15);
        let mut m = FilterModel::new("t", "");
        let mut t = m.compile();
        for round in 0..400 {
            let block = Block::ALL[r.below(5) as usize];
            let phy = if r.below(10) == 0 {
                "Bluetooth"
            } else {
                PHY_80211
            };
            let n = 1 + r.below(if round % 50 == 0 { 3_000 } else { 4 });
            let terms: Vec<MacTerm> = (0..n).map(|_| random_term(&mut r)).collect();
            if r.below(3) == 0 {
                m.remove_terms(phy, block, terms.iter().copied());
            } else {
                let a = Action::from_bool(r.below(2) == 0);
                m.set_terms(phy, block, terms.iter().map(|&t| (t, a)));
            }
            if r.below(20) == 0 {
                m.set_default(Action::from_bool(r.below(2) == 0));
            }
            let touched: Vec<MacTerm> = if phy == PHY_80211 { terms } else { Vec::new() };
            let next = m.recompile(&t, &touched);
            let whole = m.compile();
            assert_eq!(image(&next), image(&whole), "round {round}");
            assert_eq!(next.term_count(), whole.term_count(), "round {round}");
            assert_eq!(next.blocks(), whole.blocks());
            assert_eq!(next.default_action(), whole.default_action());
            for _ in 0..200 {
                let mut addr = || {
                    (r.below(4) != 0).then(|| {
                        let t = random_term(&mut r);
                        MacAddr::from_be_u64(t.value().to_u64() | (r.next() & !t.mask().to_u64()))
                    })
                };
                let a = Addresses {
                    source: addr(),
                    destination: addr(),
                    network: addr(),
                    other: addr(),
                };
                assert_eq!(next.decide(&a), whole.decide(&a), "round {round}: {a:?}");
            }
            t = next;
        }
        assert!(t.term_count() > 0);
    }

    #[test]
    fn a_one_term_change_shares_the_rest_of_a_large_table() {
        let mut m = FilterModel::new("t", "");
        let terms: Vec<(MacTerm, Action)> = (0..200_000u64)
            .map(|i| {
                (
                    MacTerm::exact(MacAddr::from_be_u64(0x0200_0000_0000 | i)),
                    Action::Block,
                )
            })
            .collect();
        m.set_terms(PHY_80211, Block::Source, terms);
        let t = m.compile();
        let added = MacTerm::exact(mac("02:ff:00:00:00:01"));
        m.set_terms(PHY_80211, Block::Source, [(added, Action::Block)]);
        let next = m.recompile(&t, &[added]);
        let (old, new) = (t.groups().next().unwrap(), next.groups().next().unwrap());
        let mut changed = Vec::new();
        old.diff(new, |k, o, n| changed.push((k, o, n)));
        assert_eq!(changed, [(added.value().to_u64(), None, Some([1, 1]))]);
        assert_eq!(next.term_count(), 200_001);
        let src = |m: &str| Addresses {
            source: Some(mac(m)),
            ..Addresses::default()
        };
        assert_eq!(next.decide(&src("02:ff:00:00:00:01")), Action::Block);
        assert_eq!(t.decide(&src("02:ff:00:00:00:01")), Action::Pass);
        assert_eq!(next.decide(&src("02:00:00:00:00:07")), Action::Block);
    }
}
