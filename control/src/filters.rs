//! The packet filters the control plane serves (API.md section 2): each a model edited under
//! one mutex, persisted before it is published. The `capture` filter's table is swapped into
//! the workers' [`FilterHandle`]; the workers never wait for any of this.
//!
//! In a fleet (API.md section 7) the filters are shared ([`SharedFilters`]): a change here is
//! first a compare-and-set on the shared store against the generation this host last applied,
//! and takes the generation the store gives it; changes from elsewhere arrive through
//! [`FilterRegistry::take_shared`] and go down the same path from there (store, compile,
//! publish).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use dataplane::filter::{Action, Block, FilterHandle, FilterModel, FilterTable};
use dataplane::wire::MacTerm;
use serde_json::Value;

use crate::store::{Store, StoreError};

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
                Ok(model) => {
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
            store
                .save_filter(CAPTURE_ID, &model.to_status_doc(1), 1)
                .map_err(RegistryError::Store)?;
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
            cap.model.compile(),
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

    /// Applies a change whole: on a copy of the model, stored durably, compiled, and (for
    /// `capture`) published to the workers, all before it returns. A failure changes nothing.
    pub fn apply(&self, id: &str, change: Change) -> Result<Applied, RegistryError> {
        let mut entries = self.lock();
        let entry = entries
            .get_mut(id)
            .ok_or_else(|| RegistryError::UnknownFilter(id.to_string()))?;
        let mut model = entry.model.clone();
        let mut removed = 0;
        match change {
            Change::SetDefault(a) => model.set_default(a),
            Change::SetTerms { phy, block, terms } => model.set_terms(&phy, block, terms),
            Change::RemoveTerms { phy, block, terms } => {
                removed = model.remove_terms(&phy, block, terms)
            }
        }
        let generation = match self.shared.get() {
            // The lock is held across the compare-and-set: the change from the store that
            // this produces finds the entry already at its generation and is skipped.
            Some(shared) => {
                let read = self.shared_seq.load(std::sync::atomic::Ordering::Acquire);
                let rev = shared
                    .compare_and_set(id, &shared_doc(&model), read)
                    .map_err(|e| match e {
                        ShareError::Conflict(m) => RegistryError::Conflict(m),
                        ShareError::Unavailable(m) => RegistryError::Unavailable(m),
                    })?;
                self.shared_seq
                    .fetch_max(rev, std::sync::atomic::Ordering::AcqRel);
                rev
            }
            None => entry.generation + 1,
        };
        self.install(id, entry, model, generation)?;
        Ok(Applied {
            generation,
            removed,
        })
    }

    /// Stores, compiles and publishes `model` as `generation` of filter `id` (`entry`).
    fn install(
        &self,
        id: &str,
        entry: &mut Entry,
        model: FilterModel,
        generation: u64,
    ) -> Result<(), RegistryError> {
        self.store
            .save_filter(id, &model.to_status_doc(generation), generation)
            .map_err(RegistryError::Store)?;
        let table = model.compile();
        let table = if id == CAPTURE_ID {
            self.capture.publish_as(table, generation);
            self.capture.load_full()
        } else {
            Arc::new(table)
        };
        *entry = Entry {
            model,
            generation,
            table,
        };
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
