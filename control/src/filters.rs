//! The packet filters the control plane serves (API.md section 2): each a model edited under
//! one mutex, persisted before it is published. The `capture` filter's table is swapped into
//! the workers' [`FilterHandle`]; the workers never wait for any of this.
//!
//! A change costs what it changes, not what the filter holds: the store writes the rows of
//! the terms it changed ([`Store::change_filter`]), the model is edited in place (and put back
//! if storing fails), the next table shares every part of the last one the change did not
//! touch ([`FilterModel::recompile`]), and the kernel filter writes the map keys that differ.
//!
//! In a fleet (API.md section 7) the filters are shared ([`SharedFilters`]): a change here is
//! first a compare-and-set on the shared store against the generation this host last applied,
//! and takes the generation the store gives it; changes from elsewhere arrive through
//! [`FilterRegistry::take_shared`] and go down the same path from there (store, compile,
//! publish).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::{Duration, Instant};

use dataplane::filter::{Action, Block, FilterHandle, FilterModel, FilterTable, PHY_80211};
use dataplane::wire::MacTerm;
use serde_json::Value;

use crate::store::{Store, StoreError, TermChange};

/// The filter that decides which captured frames reach the sinks.
pub const CAPTURE_ID: &str = "capture";
const CAPTURE_DESCRIPTION: &str = "Frames delivered to the capture sinks";

/// One change, validated before it is applied.
#[derive(Clone, Debug)]
pub enum Change {
    SetDefault(Action),
    SetTerms {
        phy: String,
        block: Block,
        terms: Vec<(MacTerm, Action)>,
    },
    RemoveTerms {
        phy: String,
        block: Block,
        terms: Vec<MacTerm>,
    },
}

/// What an applied change did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Applied {
    pub generation: u64,
    /// Terms actually removed (for a removal).
    pub removed: usize,
    pub cost: ApplyCost,
}

/// Where an applied change's time went, for the reply and benchmarks.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ApplyCost {
    /// Writing it durably (the shared store's compare-and-set included, in a fleet).
    pub store: Duration,
    /// Making the next table and handing it to the workers.
    pub table: Duration,
    /// Writing the kernel filter's maps (for `capture` with the kernel filter on).
    pub kernel: Duration,
    /// Kernel map keys written.
    pub kernel_writes: usize,
}

/// A validated change as it applies to one model: what it changes and what was there, so
/// that it can be stored as rows and taken back.
struct Delta {
    phy: String,
    block: Block,
    /// The default before and after, when the change sets it.
    default: Option<(Action, Action)>,
    /// The change created the phy.
    new_phy: bool,
    /// Terms set to an action they did not have, with their action before (if any).
    set: Vec<(MacTerm, Action, Option<Action>)>,
    /// Terms removed, with their action before.
    removed: Vec<(MacTerm, Action)>,
}

impl Delta {
    fn of(model: &FilterModel, change: Change) -> Delta {
        let mut d = Delta {
            phy: PHY_80211.to_string(),
            block: Block::Any,
            default: None,
            new_phy: false,
            set: Vec::new(),
            removed: Vec::new(),
        };
        match change {
            Change::SetDefault(a) => d.default = Some((model.default, a)),
            Change::SetTerms { phy, block, terms } => {
                // The last spelling of a term in one request wins, as in a JSON object.
                let mut last: BTreeMap<MacTerm, Action> = BTreeMap::new();
                last.extend(terms);
                d.set = last
                    .into_iter()
                    .filter_map(|(t, a)| {
                        let before = model.action(&phy, block, t);
                        (before != Some(a)).then_some((t, a, before))
                    })
                    .collect();
                d.new_phy = !model.has_phy(&phy);
                (d.phy, d.block) = (phy, block);
            }
            Change::RemoveTerms {
                phy,
                block,
                mut terms,
            } => {
                terms.sort_unstable();
                terms.dedup();
                d.removed = terms
                    .into_iter()
                    .filter_map(|t| Some((t, model.action(&phy, block, t)?)))
                    .collect();
                (d.phy, d.block) = (phy, block);
            }
        }
        d
    }

    fn apply(&self, model: &mut FilterModel) {
        if let Some((_, a)) = self.default {
            model.set_default(a);
        }
        if self.new_phy || !self.set.is_empty() {
            model.set_terms(
                &self.phy,
                self.block,
                self.set.iter().map(|&(t, a, _)| (t, a)),
            );
        }
        model.remove_terms(&self.phy, self.block, self.removed.iter().map(|&(t, _)| t));
    }

    /// Puts `model` back as it was before [`Delta::apply`].
    fn undo(&self, model: &mut FilterModel) {
        if let Some((a, _)) = self.default {
            model.set_default(a);
        }
        model.remove_terms(
            &self.phy,
            self.block,
            self.set.iter().filter(|s| s.2.is_none()).map(|s| s.0),
        );
        let back: Vec<(MacTerm, Action)> = self
            .set
            .iter()
            .filter_map(|&(t, _, before)| Some((t, before?)))
            .chain(self.removed.iter().copied())
            .collect();
        if !back.is_empty() {
            model.set_terms(&self.phy, self.block, back);
        }
        if self.new_phy {
            model.drop_empty_phy(&self.phy);
        }
    }

    /// The 802.11 terms whose table entries may have changed.
    fn touched(&self) -> Vec<MacTerm> {
        if self.phy != PHY_80211 {
            return Vec::new();
        }
        let set = self.set.iter().map(|s| s.0);
        set.chain(self.removed.iter().map(|r| r.0)).collect()
    }
}

#[derive(Debug)]
pub enum RegistryError {
    UnknownFilter(String),
    Store(StoreError),
    /// The shared store refused the change: another host changed the filter first.
    Conflict(String),
    /// The shared store cannot be reached: nothing changed.
    Unavailable(String),
}

impl std::fmt::Display for RegistryError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RegistryError::UnknownFilter(id) => write!(f, "no packet filter with id {id:?}"),
            RegistryError::Store(e) => write!(f, "the change could not be stored: {e}"),
            RegistryError::Conflict(m) | RegistryError::Unavailable(m) => f.write_str(m),
        }
    }
}

/// Why a shared store did not take a change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ShareError {
    /// The filter's newest revision is not the one the change was made on.
    Conflict(String),
    /// The store cannot be reached or did not answer in time.
    Unavailable(String),
}

/// Filters shared by a fleet of hosts: a store of status documents by id, each write numbered
/// by the store (the number is the filter's generation on every host).
pub trait SharedFilters: Send + Sync {
    /// Writes `doc` as filter `id`'s next revision if the store's newest write, to any filter,
    /// is still number `read` (the newest this host has applied); returns the new number.
    ///
    /// The condition is on the whole store, not on the one filter: NATS servers before 2.9.21
    /// check a key's own revision before their replicas agree on the write, so two concurrent
    /// writes made on the same revision may both succeed (nats-server issue 4320), while the
    /// check on the whole stream's last sequence is made in order with the writes in flight.
    /// A change to one filter therefore conflicts with a concurrent change to another (a 409
    /// the client retries); filters change rarely, and no change is ever lost.
    fn compare_and_set(&self, id: &str, doc: &Value, read: u64) -> Result<u64, ShareError>;
}

/// The status document as shared: without the generation, which the store's revision gives.
pub fn shared_doc(model: &FilterModel) -> Value {
    let mut doc = model.to_status_doc(0);
    if let Some(m) = doc.as_object_mut() {
        m.remove(dataplane::filter::GENERATION);
    }
    doc
}

impl std::error::Error for RegistryError {}

/// Writes `model` whole as filter `id`: its document without terms and one row per term.
fn store_whole(
    store: &Store,
    id: &str,
    model: &FilterModel,
    generation: u64,
) -> Result<(), StoreError> {
    let rows = model.phys().flat_map(|phy| {
        Block::ALL
            .into_iter()
            .flat_map(move |b| model.terms(phy, b).map(move |(t, a)| (phy, b, t, a)))
    });
    store.replace_filter(id, &model.to_header_doc(), generation, rows)
}

struct Entry {
    model: FilterModel,
    generation: u64,
    table: Arc<FilterTable>,
}

/// Every packet filter, by id.
pub struct FilterRegistry {
    entries: Mutex<BTreeMap<String, Entry>>,
    capture: Arc<FilterHandle>,
    store: Arc<Store>,
    shared: OnceLock<Arc<dyn SharedFilters>>,
    /// The newest write of the shared store this host has applied (any filter's); changed
    /// only under the entries' lock, so a change made under it is made on every write counted.
    shared_seq: std::sync::atomic::AtomicU64,
}

impl FilterRegistry {
    /// Loads the stored filters. The `capture` filter is created when missing, from `seed`
    /// (a `--filter` document) or empty; an existing stored one wins over `seed` (a restart
    /// must keep every change), which the returned flag reports.
    pub fn open(
        store: Arc<Store>,
        seed: Option<FilterModel>,
    ) -> Result<(FilterRegistry, bool), RegistryError> {
        let mut entries = BTreeMap::new();
        for f in store.load_filters().map_err(RegistryError::Store)? {
            match FilterModel::from_status_doc(&f.doc) {
                Ok(mut model) => {
                    if model.term_count() > 0 {
                        // Written before terms had rows: move them to rows, once.
                        store_whole(&store, &f.id, &model, f.generation)
                            .map_err(RegistryError::Store)?;
                    }
                    for t in &f.terms {
                        model.set_terms(&t.phy, t.block, [(t.term, t.action)]);
                    }
                    let table = Arc::new(model.compile());
                    entries.insert(
                        f.id.clone(),
                        Entry {
                            model,
                            generation: f.generation,
                            table,
                        },
                    );
                }
                Err(e) => {
                    return Err(RegistryError::Store(StoreError::Db(format!(
                        "stored filter {:?} is unreadable: {e}",
                        f.id
                    ))))
                }
            }
        }
        let mut seed_ignored = false;
        if entries.contains_key(CAPTURE_ID) {
            seed_ignored = seed.is_some();
        } else {
            let mut model =
                seed.unwrap_or_else(|| FilterModel::new(CAPTURE_ID, CAPTURE_DESCRIPTION));
            model.id = CAPTURE_ID.to_string();
            if model.description.is_empty() {
                model.description = CAPTURE_DESCRIPTION.to_string();
            }
            store_whole(&store, CAPTURE_ID, &model, 1).map_err(RegistryError::Store)?;
            let table = Arc::new(model.compile());
            entries.insert(
                CAPTURE_ID.to_string(),
                Entry {
                    model,
                    generation: 1,
                    table,
                },
            );
        }
        let cap = &entries[CAPTURE_ID];
        let capture = Arc::new(FilterHandle::with_generation(
            FilterTable::clone(&cap.table),
            cap.generation,
        ));
        Ok((
            FilterRegistry {
                entries: Mutex::new(entries),
                capture,
                store,
                shared: OnceLock::new(),
                shared_seq: std::sync::atomic::AtomicU64::new(0),
            },
            seed_ignored,
        ))
    }

    /// The handle the workers read the `capture` table from.
    pub fn capture_handle(&self) -> &Arc<FilterHandle> {
        &self.capture
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Entry>> {
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The status document of one filter.
    pub fn status(&self, id: &str) -> Option<Value> {
        self.lock()
            .get(id)
            .map(|e| e.model.to_status_doc(e.generation))
    }

    /// Every filter's status document, by id.
    pub fn all(&self) -> Vec<Value> {
        self.lock()
            .values()
            .map(|e| e.model.to_status_doc(e.generation))
            .collect()
    }

    /// The compiled table of a filter (device views filter with it).
    pub fn table(&self, id: &str) -> Option<Arc<FilterTable>> {
        self.lock().get(id).map(|e| e.table.clone())
    }

    /// Applies a change whole: stored durably, compiled, and (for `capture`) published to
    /// the workers and the kernel filter, all before it returns. A failure changes nothing.
    pub fn apply(&self, id: &str, change: Change) -> Result<Applied, RegistryError> {
        let mut entries = self.lock();
        let entry = entries
            .get_mut(id)
            .ok_or_else(|| RegistryError::UnknownFilter(id.to_string()))?;
        let delta = Delta::of(&entry.model, change);
        let removed = delta.removed.len();
        let started = Instant::now();
        delta.apply(&mut entry.model);
        let generation = match self.shared.get() {
            // The lock is held across the compare-and-set: the change from the store that
            // this produces finds the entry already at its generation and is skipped.
            Some(shared) => {
                let read = self.shared_seq.load(std::sync::atomic::Ordering::Acquire);
                match shared.compare_and_set(id, &shared_doc(&entry.model), read) {
                    Ok(rev) => {
                        self.shared_seq
                            .fetch_max(rev, std::sync::atomic::Ordering::AcqRel);
                        rev
                    }
                    Err(e) => {
                        delta.undo(&mut entry.model);
                        return Err(match e {
                            ShareError::Conflict(m) => RegistryError::Conflict(m),
                            ShareError::Unavailable(m) => RegistryError::Unavailable(m),
                        });
                    }
                }
            }
            None => entry.generation + 1,
        };
        let set: Vec<(MacTerm, Action)> = delta.set.iter().map(|&(t, a, _)| (t, a)).collect();
        let gone: Vec<MacTerm> = delta.removed.iter().map(|r| r.0).collect();
        let doc = (delta.default.is_some() || delta.new_phy).then(|| entry.model.to_header_doc());
        let stored = self.store.change_filter(
            id,
            generation,
            TermChange {
                phy: &delta.phy,
                block: delta.block,
                set: &set,
                removed: &gone,
                doc: doc.as_ref(),
            },
        );
        if let Err(e) = stored {
            delta.undo(&mut entry.model);
            return Err(RegistryError::Store(e));
        }
        let mut cost = ApplyCost {
            store: started.elapsed(),
            ..ApplyCost::default()
        };
        let table = entry.model.recompile(&entry.table, &delta.touched());
        self.publish(id, entry, table, generation, &mut cost);
        Ok(Applied {
            generation,
            removed,
            cost,
        })
    }

    /// Makes `table` the current one of filter `id` (`entry`) as `generation`: the workers'
    /// and the kernel's for `capture`.
    fn publish(
        &self,
        id: &str,
        entry: &mut Entry,
        table: FilterTable,
        generation: u64,
        cost: &mut ApplyCost,
    ) {
        let started = Instant::now();
        entry.table = if id == CAPTURE_ID {
            let mirrored = self.capture.publish_as(table, generation);
            cost.kernel = mirrored.elapsed;
            cost.kernel_writes = mirrored.writes;
            self.capture.load_full()
        } else {
            Arc::new(table)
        };
        entry.generation = generation;
        cost.table = started.elapsed().saturating_sub(cost.kernel);
    }

    /// Stores, compiles and publishes `model` whole as `generation` of filter `id` (`entry`).
    fn install(
        &self,
        id: &str,
        entry: &mut Entry,
        model: FilterModel,
        generation: u64,
    ) -> Result<(), RegistryError> {
        store_whole(&self.store, id, &model, generation).map_err(RegistryError::Store)?;
        let table = model.compile();
        entry.model = model;
        self.publish(id, entry, table, generation, &mut ApplyCost::default());
        Ok(())
    }

    /// Shares the filters from now on: changes become compare-and-sets on `shared`.
    pub fn share(&self, shared: Arc<dyn SharedFilters>) {
        let _ = self.shared.set(shared);
    }

    /// The newest write of the shared store this host has applied.
    pub fn shared_seq(&self) -> u64 {
        self.shared_seq.load(std::sync::atomic::Ordering::Acquire)
    }

    /// Counts write `seq` of the shared store as applied (a write to something else than a
    /// filter, such as a deletion marker), under the entries' lock.
    pub fn saw_shared(&self, seq: u64) {
        let _entries = self.lock();
        self.shared_seq
            .fetch_max(seq, std::sync::atomic::Ordering::AcqRel);
    }

    /// Every filter as shared (see [`shared_doc`]), by id.
    pub fn shared_docs(&self) -> Vec<(String, Value)> {
        self.lock()
            .iter()
            .map(|(id, e)| (id.clone(), shared_doc(&e.model)))
            .collect()
    }

    /// The generation of filter `id`, if there is one.
    pub fn generation(&self, id: &str) -> Option<u64> {
        self.lock().get(id).map(|e| e.generation)
    }

    /// Applies revision `revision` of filter `id` from the shared store: validated like any
    /// change, then stored, compiled and published as that generation. A revision not newer
    /// than the one applied is skipped unless `fresh` (a host's first read of the store: the
    /// fleet's filters win over what it had). Returns whether it was applied.
    pub fn take_shared(
        &self,
        id: &str,
        doc: &Value,
        revision: u64,
        fresh: bool,
    ) -> Result<bool, RegistryError> {
        let mut entries = self.lock();
        // Counted as seen even when skipped: this host's state includes it.
        self.shared_seq
            .fetch_max(revision, std::sync::atomic::Ordering::AcqRel);
        if let Some(e) = entries.get(id) {
            // A host's first read applies the fleet's document even at an equal number: the
            // host's own generation 1 and the fleet's revision 1 need not be the same filter.
            if !fresh && e.generation >= revision {
                return Ok(false);
            }
        }
        let mut model = FilterModel::from_status_doc(doc).map_err(|e| {
            RegistryError::Store(StoreError::Db(format!(
                "revision {revision} of filter {id:?} is not a filter: {e}"
            )))
        })?;
        model.id = id.to_string();
        let mut placeholder = Entry {
            model: FilterModel::new(id, ""),
            generation: 0,
            table: Arc::new(FilterTable::pass_all()),
        };
        let entry = entries.get_mut(id).unwrap_or(&mut placeholder);
        self.install(id, entry, model, revision)?;
        if !entries.contains_key(id) {
            entries.insert(id.to_string(), placeholder);
        }
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::testdir::TestDir;
    use dataplane::wire::{Addresses, MacAddr};

    fn term(s: &str) -> MacTerm {
        s.parse().unwrap()
    }

    struct Rng(u64);

    impl Rng {
        fn below(&mut self, n: u64) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0 % n
        }

        fn term(&mut self) -> MacTerm {
            let v = MacAddr::from_be_u64(0x0200_0000_0000 | self.below(64) << 24);
            match self.below(4) {
                0 => MacTerm::masked(v, MacAddr::from_be_u64(0xffff_ff00_0000)),
                _ => MacTerm::exact(v),
            }
        }

        fn change(&mut self) -> Change {
            let phy = if self.below(8) == 0 {
                "Bluetooth"
            } else {
                PHY_80211
            }
            .to_string();
            let block = Block::ALL[self.below(5) as usize];
            let terms: Vec<MacTerm> = (0..1 + self.below(3)).map(|_| self.term()).collect();
            match self.below(7) {
                0 => Change::SetDefault(Action::from_bool(self.below(2) == 0)),
                1 | 2 => Change::RemoveTerms { phy, block, terms },
                _ => {
                    let a = Action::from_bool(self.below(2) == 0);
                    let terms = terms.into_iter().map(|t| (t, a)).collect();
                    Change::SetTerms { phy, block, terms }
                }
            }
        }
    }

    /// The change made the plain way, on the model itself.
    fn reference(m: &mut FilterModel, c: &Change) {
        match c.clone() {
            Change::SetDefault(a) => m.set_default(a),
            Change::SetTerms { phy, block, terms } => m.set_terms(&phy, block, terms),
            Change::RemoveTerms { phy, block, terms } => {
                m.remove_terms(&phy, block, terms);
            }
        }
    }

    fn same_decisions(a: &FilterTable, b: &FilterTable, r: &mut Rng) {
        for _ in 0..300 {
            let mut addr = || {
                (r.below(3) != 0)
                    .then(|| MacAddr::from_be_u64(r.term().value().to_u64() | r.below(2)))
            };
            let x = Addresses {
                source: addr(),
                destination: addr(),
                network: addr(),
                other: addr(),
            };
            assert_eq!(a.decide(&x), b.decide(&x), "{x:?}");
        }
    }

    fn term_rows(store: &Store) -> usize {
        store
            .load_filters()
            .unwrap()
            .iter()
            .map(|f| f.terms.len())
            .sum()
    }

    #[test]
    fn changes_are_stored_as_rows_and_survive_a_restart() {
        let dir = TestDir::new("registry-rows");
        let mut r = Rng(0x2545_f491_4f6c_dd1d);
        let mut want = FilterModel::new(CAPTURE_ID, CAPTURE_DESCRIPTION);
        {
            let store = Arc::new(Store::open(dir.path()).unwrap());
            let (reg, _) = FilterRegistry::open(store.clone(), None).unwrap();
            for i in 0..300 {
                let c = r.change();
                reference(&mut want, &c);
                let a = reg.apply(CAPTURE_ID, c).unwrap();
                assert_eq!(a.generation, i + 2);
                assert_eq!(reg.status(CAPTURE_ID).unwrap(), want.to_status_doc(i + 2));
                same_decisions(&reg.table(CAPTURE_ID).unwrap(), &want.compile(), &mut r);
                assert_eq!(reg.capture_handle().generation(), i + 2);
            }
            assert_eq!(term_rows(&store), want.term_count());
            let stored = &store.load_filters().unwrap()[0];
            assert_eq!(
                stored.doc,
                want.to_header_doc(),
                "the document holds no terms"
            );
        }
        let store = Arc::new(Store::open(dir.path()).unwrap());
        let (reg, _) = FilterRegistry::open(store, None).unwrap();
        assert_eq!(reg.status(CAPTURE_ID).unwrap(), want.to_status_doc(301));
        same_decisions(&reg.capture_handle().load_full(), &want.compile(), &mut r);
    }

    #[test]
    fn filters_stored_whole_by_earlier_versions_move_to_rows() {
        let dir = TestDir::new("registry-legacy");
        let mut old = FilterModel::new(CAPTURE_ID, "from an earlier version");
        old.set_default(Action::Block);
        old.set_terms(
            PHY_80211,
            Block::Source,
            [(term("02:00:00:00:00:01"), Action::Pass)],
        );
        old.set_terms(
            "Bluetooth",
            Block::Any,
            [(term("02:00:00:00:00:02"), Action::Block)],
        );
        let store = Arc::new(Store::open(dir.path()).unwrap());
        // What schema 4 wrote: the whole document, no rows.
        store
            .save_filter(CAPTURE_ID, &old.to_status_doc(9), 9)
            .unwrap();
        let (reg, _) = FilterRegistry::open(store.clone(), None).unwrap();
        assert_eq!(reg.status(CAPTURE_ID).unwrap(), old.to_status_doc(9));
        assert_eq!(term_rows(&store), 2);
        assert_eq!(store.load_filters().unwrap()[0].doc, old.to_header_doc());
        drop(reg);
        let (reg, _) = FilterRegistry::open(store, None).unwrap();
        assert_eq!(reg.status(CAPTURE_ID).unwrap(), old.to_status_doc(9));
    }

    #[test]
    fn a_change_that_cannot_be_stored_changes_nothing() {
        let dir = TestDir::new("registry-undo");
        let store = Arc::new(Store::open(dir.path()).unwrap());
        let (reg, _) = FilterRegistry::open(store.clone(), None).unwrap();
        let mut r = Rng(0x1234_5678_9abc_def1);
        for _ in 0..50 {
            reg.apply(CAPTURE_ID, r.change()).unwrap();
        }
        let kept: Vec<(MacTerm, Action)> = (0..20)
            .map(|i| (term(&format!("02:bb:00:00:00:{i:02x}")), Action::Block))
            .collect();
        let set = |terms: Vec<(MacTerm, Action)>| Change::SetTerms {
            phy: PHY_80211.into(),
            block: Block::Network,
            terms,
        };
        reg.apply(CAPTURE_ID, set(kept.clone())).unwrap();
        let before = reg.status(CAPTURE_ID).unwrap();
        let table = reg.table(CAPTURE_ID).unwrap();
        store
            .transaction(|tx| Ok(tx.execute_batch("DROP TABLE filter_terms")?))
            .unwrap();
        for (i, &(t, _)) in kept.iter().enumerate() {
            let fresh = term(&format!("02:cc:00:00:00:{i:02x}"));
            for c in [
                set(vec![(t, Action::Pass)]),
                set(vec![(fresh, Action::Block), (t, Action::Block)]),
                Change::RemoveTerms {
                    phy: PHY_80211.into(),
                    block: Block::Network,
                    terms: vec![fresh, t],
                },
            ] {
                assert!(matches!(
                    reg.apply(CAPTURE_ID, c),
                    Err(RegistryError::Store(_))
                ));
            }
        }
        let e = reg.apply(
            CAPTURE_ID,
            Change::SetTerms {
                phy: "a new phy".into(),
                block: Block::Any,
                terms: vec![(term("02:00:00:00:00:09"), Action::Block)],
            },
        );
        assert!(e.is_err());
        assert_eq!(reg.status(CAPTURE_ID).unwrap(), before);
        assert!(Arc::ptr_eq(&reg.table(CAPTURE_ID).unwrap(), &table));
    }
}
