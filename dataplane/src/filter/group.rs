//! One mask's terms in a compiled table, split into shards that successive tables share.
//!
//! A change to a filter touches a few keys, but a table is immutable (workers read it without
//! locks). Copying a 1M-entry map per change would make a one-term change cost what the whole
//! filter costs; instead a group's entries are spread by hash over shards of about
//! [`SHARD_TARGET`] entries, whose maps and prefilter bits are shared through `Arc`s, and a new
//! table copies only the shards its change touches. The same sharing tells the kernel filter
//! which keys changed: shards two tables share are not compared (see [`MaskGroup::diff`]).
//!
//! The per-frame probe pays for this with one load: a shard's prefilter handle sits in an
//! array the group points to, and a group of one shard (most groups of most filters) holds it
//! inline, as the table did before shards.

use std::sync::Arc;

use rustc_hash::FxHashMap;

use super::prefilter::Prefilter;

/// Entries a shard holds on average after a group is built: small enough that copying one is a
/// few microseconds, large enough that a 1M-term group has a few thousand shards.
const SHARD_TARGET: usize = 512;

/// Most shards a group has.
const MAX_SHARDS: usize = 1 << 16;

/// Picks a key's shard. Odd and unrelated to the prefilter's multiplier, so that the keys of
/// one shard still spread over all of its prefilter's bits.
const SHARD_MULTIPLIER: u64 = 0xD6E8_FEB8_6659_FD93;

/// What one address value (under one mask) means in each block: bit `b` of `present` is set
/// when block `b` has a term there, and bit `b` of `blocks` when that term blocks.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct Entry {
    pub present: u8,
    pub blocks: u8,
}

/// Some of a group's entries, with a prefilter that answers most misses. Cloning one shares
/// its map and bits.
#[derive(Clone)]
struct Shard {
    prefilter: Prefilter,
    /// Union of the entries' `present` bits.
    blocks: u8,
    entries: Arc<FxHashMap<u64, Entry>>,
}

impl Shard {
    fn new(mut entries: FxHashMap<u64, Entry>) -> Shard {
        entries.shrink_to_fit();
        Shard {
            blocks: entries.values().fold(0, |acc, e| acc | e.present),
            prefilter: Prefilter::new(entries.keys().copied()),
            entries: Arc::new(entries),
        }
    }

    #[inline]
    fn get(&self, key: u64) -> Option<Entry> {
        if !self.prefilter.may_contain(key) {
            return None;
        }
        self.entries.get(&key).copied()
    }
}

/// A group's shards: a power of two in number; a key's shard is [`shard_index`].
#[derive(Clone)]
enum Shards {
    One(Shard),
    Many(Arc<[Shard]>),
}

impl Shards {
    fn as_slice(&self) -> &[Shard] {
        match self {
            Shards::One(s) => std::slice::from_ref(s),
            Shards::Many(all) => all,
        }
    }
}

/// The terms sharing one mask, keyed by their (masked) value.
#[derive(Clone)]
pub(super) struct MaskGroup {
    pub mask: u64,
    /// Union of the entries' `present` bits: lets a role skip a mask its block never uses.
    pub blocks: u8,
    len: usize,
    shards: Shards,
}

/// Shards for a group of `len` entries.
fn shard_count(len: usize) -> usize {
    (len / SHARD_TARGET)
        .next_power_of_two()
        .clamp(1, MAX_SHARDS)
}

/// The shard of `key` among `n`: the top bits of a multiplicative hash (`n` a power of two;
/// with one shard, always 0).
#[inline]
fn shard_index(key: u64, n: usize) -> usize {
    ((u128::from(key.wrapping_mul(SHARD_MULTIPLIER)) * n as u128) >> 64) as usize
}

impl MaskGroup {
    /// A group holding `entries` (none of them empty).
    pub fn build(mask: u64, entries: FxHashMap<u64, Entry>) -> MaskGroup {
        let n = shard_count(entries.len());
        let len = entries.len();
        let shards: Vec<Shard> = if n == 1 {
            vec![Shard::new(entries)]
        } else {
            let mut parts: Vec<FxHashMap<u64, Entry>> = (0..n)
                .map(|_| {
                    FxHashMap::with_capacity_and_hasher(len / n + len / n / 4, Default::default())
                })
                .collect();
            for (k, e) in entries {
                parts[shard_index(k, n)].insert(k, e);
            }
            parts.into_iter().map(Shard::new).collect()
        };
        MaskGroup::from_shards(mask, len, shards)
    }

    fn from_shards(mask: u64, len: usize, mut shards: Vec<Shard>) -> MaskGroup {
        MaskGroup {
            mask,
            blocks: shards.iter().fold(0, |acc, s| acc | s.blocks),
            len,
            shards: match shards.len() {
                1 => Shards::One(shards.pop().expect("one shard")),
                _ => Shards::Many(shards.into()),
            },
        }
    }

    /// The entry for `key` (already masked).
    #[inline]
    pub fn get(&self, key: u64) -> Option<Entry> {
        match &self.shards {
            Shards::One(s) => s.get(key),
            Shards::Many(all) => all[shard_index(key, all.len())].get(key),
        }
    }

    /// Number of distinct masked values.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Every entry, in no particular order.
    pub fn entries(&self) -> impl Iterator<Item = (u64, Entry)> + '_ {
        self.shards
            .as_slice()
            .iter()
            .flat_map(|s| s.entries.iter().map(|(&k, &e)| (k, e)))
    }

    /// This group with `changes` applied (`None` removes the key), sharing every shard no
    /// change touches; `None` when no entry is left. A group that grew or shrank far from its
    /// shards' size is rebuilt whole, which happens once per fourfold change in size.
    pub fn with_changes(&self, changes: &[(u64, Option<Entry>)]) -> Option<MaskGroup> {
        let n = self.shards.as_slice().len();
        let mut touched: Vec<(usize, u64, Option<Entry>)> = changes
            .iter()
            .map(|&(k, e)| (shard_index(k, n), k, e))
            .collect();
        touched.sort_by_key(|t| t.0);
        let mut shards: Vec<Shard> = self.shards.as_slice().to_vec();
        let mut len = self.len;
        for run in touched.chunk_by(|a, b| a.0 == b.0) {
            let i = run[0].0;
            let mut entries = FxHashMap::clone(&shards[i].entries);
            for &(_, k, e) in run {
                let had = match e {
                    Some(e) => entries.insert(k, e).is_some(),
                    None => entries.remove(&k).is_some(),
                };
                match (had, e.is_some()) {
                    (false, true) => len += 1,
                    (true, false) => len -= 1,
                    _ => {}
                }
            }
            shards[i] = Shard::new(entries);
        }
        if len == 0 {
            return None;
        }
        let group = MaskGroup::from_shards(self.mask, len, shards);
        let ideal = shard_count(len);
        if ideal >= n * 4 || ideal * 8 <= n {
            let all: FxHashMap<u64, Entry> = group.entries().collect();
            return Some(MaskGroup::build(self.mask, all));
        }
        Some(group)
    }

    /// Calls `f(key, old, new)` for every key whose entry differs between `self` and `newer`
    /// (same mask). Shards the two share are skipped without being read, so a group changed
    /// by [`MaskGroup::with_changes`] costs the shards it touched, not its size.
    pub fn diff(&self, newer: &MaskGroup, mut f: impl FnMut(u64, Option<Entry>, Option<Entry>)) {
        let (old, new) = (self.shards.as_slice(), newer.shards.as_slice());
        if let (Shards::Many(a), Shards::Many(b)) = (&self.shards, &newer.shards) {
            if Arc::ptr_eq(a, b) {
                return;
            }
        }
        if old.len() == new.len() {
            for (o, n) in old.iter().zip(new) {
                if !Arc::ptr_eq(&o.entries, &n.entries) {
                    diff_maps(o.entries.iter(), |k| n.entries.get(&k).copied(), &mut f);
                    diff_new(n.entries.iter(), |k| o.entries.contains_key(&k), &mut f);
                }
            }
            return;
        }
        diff_maps(
            old.iter().flat_map(|s| s.entries.iter()),
            |k| newer.get(k),
            &mut f,
        );
        diff_new(
            new.iter().flat_map(|s| s.entries.iter()),
            |k| self.get(k).is_some(),
            &mut f,
        );
    }
}

/// Reports keys of the older map that the newer one lacks or holds differently.
fn diff_maps<'a>(
    old: impl Iterator<Item = (&'a u64, &'a Entry)>,
    newer: impl Fn(u64) -> Option<Entry>,
    f: &mut impl FnMut(u64, Option<Entry>, Option<Entry>),
) {
    for (&k, &e) in old {
        let n = newer(k);
        if n != Some(e) {
            f(k, Some(e), n);
        }
    }
}

/// Reports keys only the newer map holds.
fn diff_new<'a>(
    new: impl Iterator<Item = (&'a u64, &'a Entry)>,
    in_old: impl Fn(u64) -> bool,
    f: &mut impl FnMut(u64, Option<Entry>, Option<Entry>),
) {
    for (&k, &e) in new {
        if !in_old(k) {
            f(k, None, Some(e));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn entry(i: u64) -> Entry {
        Entry {
            present: 1 << (i % 5),
            blocks: if i.is_multiple_of(3) { 1 << (i % 5) } else { 0 },
        }
    }

    fn keys(n: u64) -> FxHashMap<u64, Entry> {
        (0..n).map(|i| (i * 0x1_0001, entry(i))).collect()
    }

    fn image(g: &MaskGroup) -> BTreeMap<u64, Entry> {
        g.entries().collect()
    }

    fn diffs(a: &MaskGroup, b: &MaskGroup) -> BTreeMap<u64, (Option<Entry>, Option<Entry>)> {
        let mut out = BTreeMap::new();
        a.diff(b, |k, o, n| {
            assert!(out.insert(k, (o, n)).is_none(), "key {k} reported twice");
        });
        out
    }

    #[test]
    fn large_groups_are_sharded_and_every_key_is_found() {
        let g = MaskGroup::build(u64::MAX, keys(100_000));
        assert_eq!(g.len(), 100_000);
        assert!(g.shards.as_slice().len() >= 128);
        for i in 0..100_000 {
            assert_eq!(g.get(i * 0x1_0001), Some(entry(i)));
        }
        assert_eq!(g.get(7), None);
        assert_eq!(g.blocks, 0b11111);
    }

    #[test]
    fn a_change_copies_only_the_shards_it_touches() {
        let g = MaskGroup::build(u64::MAX, keys(100_000));
        let added = 0xdead_beef_u64;
        let h = g
            .with_changes(&[(added, Some(entry(1))), (0, None)])
            .unwrap();
        assert_eq!(h.len(), 100_000);
        let (a, b) = (g.shards.as_slice(), h.shards.as_slice());
        let shared = a
            .iter()
            .zip(b)
            .filter(|(a, b)| Arc::ptr_eq(&a.entries, &b.entries))
            .count();
        assert!(shared >= a.len() - 2, "{shared}");
        assert_eq!((h.get(added), h.get(0)), (Some(entry(1)), None));
        let d = diffs(&g, &h);
        assert_eq!(d.len(), 2);
        assert_eq!(d[&added], (None, Some(entry(1))));
        assert_eq!(d[&0], (Some(entry(0)), None));
        assert!(diffs(&h, &h).is_empty());
    }

    #[test]
    fn incremental_groups_equal_groups_built_whole() {
        // Grow from one entry past several reshards, then shrink back, checking every step
        // against a group built from scratch and the diff against the image change.
        let mut want: BTreeMap<u64, Entry> = BTreeMap::new();
        let mut g = MaskGroup::build(u64::MAX, FxHashMap::from_iter([(1, entry(1))]));
        want.insert(1, entry(1));
        let mut state = 0x1234_5678_u64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for round in 0..40 {
            let grow = round < 25;
            let changes: Vec<(u64, Option<Entry>)> = (0..300)
                .map(|_| {
                    let r = next();
                    if grow || want.is_empty() {
                        (r % 50_000, Some(entry(r)))
                    } else {
                        let k = *want.keys().nth((r as usize) % want.len()).unwrap();
                        (k, None)
                    }
                })
                .collect();
            let before = want.clone();
            for &(k, e) in &changes {
                match e {
                    Some(e) => want.insert(k, e),
                    None => want.remove(&k),
                };
            }
            let Some(h) = g.with_changes(&changes) else {
                assert!(want.is_empty());
                break;
            };
            assert_eq!(image(&h), want);
            assert_eq!(h.len(), want.len());
            let d = diffs(&g, &h);
            let mut expect = BTreeMap::new();
            for k in before.keys().chain(want.keys()) {
                let (o, n) = (before.get(k).copied(), want.get(k).copied());
                if o != n {
                    expect.insert(*k, (o, n));
                }
            }
            assert_eq!(d, expect, "round {round}");
            let whole = MaskGroup::build(u64::MAX, want.iter().map(|(&k, &e)| (k, e)).collect());
            assert_eq!(h.blocks, whole.blocks);
            assert!(diffs(&whole, &h).is_empty());
            g = h;
        }
    }

    #[test]
    fn removing_the_last_entry_empties_the_group() {
        let g = MaskGroup::build(0xff, FxHashMap::from_iter([(3, entry(3))]));
        assert!(g.with_changes(&[(3, None)]).is_none());
        assert!(g.with_changes(&[(4, None)]).is_some());
    }
}
