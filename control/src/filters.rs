//! The packet filters the control plane serves (API.md section 2): each a model edited under
//! one mutex, persisted before it is published. The `capture` filter's table is swapped into
//! the workers' [`FilterHandle`]; the workers never wait for any of this.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};

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
}

impl std::fmt::Display for RegistryError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RegistryError::UnknownFilter(id) => write!(f, "no packet filter with id {id:?}"),
            RegistryError::Store(e) => write!(f, "the change could not be stored: {e}"),
        }
    }
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
        let generation = entry.generation + 1;
        self.store
            .save_filter(id, &model.to_status_doc(generation), generation)
            .map_err(RegistryError::Store)?;
        let table = model.compile();
        let table = if id == CAPTURE_ID {
            let published = self.capture.publish(table);
            debug_assert_eq!(published, generation);
            self.capture.load_full()
        } else {
            Arc::new(table)
        };
        *entry = Entry {
            model,
            generation,
            table,
        };
        Ok(Applied {
            generation,
            removed,
        })
    }
}
