//! Publication of filter tables to the workers.
//!
//! Workers load the current table once per batch without locking; the control plane publishes
//! a freshly compiled table after each change. Publishers are serialised by a small mutex so
//! that generations are distinct and increasing and the stored table is always the newest.

use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};

use arc_swap::{ArcSwap, Guard};

use super::table::FilterTable;

/// Something that follows every table the handle publishes, in publication order: the kernel
/// filter's maps ([`crate::kfilter::KernelMirror`]).
pub trait TableMirror: Send + Sync {
    /// Called under the publishers' lock, after the workers' table was swapped. Returns
    /// how many writes it made (map keys, for the kernel filter).
    fn mirror(&self, table: &Arc<FilterTable>) -> usize;
}

/// What following one published table cost the mirrors.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Mirrored {
    /// Time spent in every mirror's [`TableMirror::mirror`].
    pub elapsed: std::time::Duration,
    /// Writes they made.
    pub writes: usize,
}

/// The current table of one filter, shared by the control plane and every worker.
pub struct FilterHandle {
    current: ArcSwap<FilterTable>,
    /// Held only while publishing; readers never touch it. Holds the mirrors.
    publishers: Mutex<Vec<Arc<dyn TableMirror>>>,
}

impl FilterHandle {
    /// A handle serving `table` as generation 1.
    pub fn new(table: FilterTable) -> FilterHandle {
        FilterHandle::with_generation(table, 1)
    }

    /// A handle serving `table` as `generation`: a restarted control plane continues the
    /// numbering it persisted, so generations only ever grow.
    pub fn with_generation(mut table: FilterTable, generation: u64) -> FilterHandle {
        table.set_generation(generation);
        FilterHandle {
            current: ArcSwap::from_pointee(table),
            publishers: Mutex::new(Vec::new()),
        }
    }

    /// The current table, cheaply: a worker calls this once per batch, not per frame, and
    /// drops the guard before it waits for the next batch so an old table does not stay alive.
    #[inline]
    pub fn load(&self) -> Guard<Arc<FilterTable>> {
        self.current.load()
    }

    /// The current table as an owned `Arc`, for holders that outlive a batch.
    pub fn load_full(&self) -> Arc<FilterTable> {
        self.current.load_full()
    }

    /// Makes `table` current under the next generation and returns that generation. The next
    /// generation is computed and stored under the publishers' lock, so two racing publishers
    /// never share a generation and the later one is the one that stays.
    pub fn publish(&self, mut table: FilterTable) -> u64 {
        let mirrors = self
            .publishers
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let generation = self.current.load().generation() + 1;
        table.set_generation(generation);
        Self::store(&self.current, &mirrors, table);
        generation
    }

    fn store(
        current: &ArcSwap<FilterTable>,
        mirrors: &[Arc<dyn TableMirror>],
        table: FilterTable,
    ) -> Mirrored {
        let table = Arc::new(table);
        current.store(Arc::clone(&table));
        let start = std::time::Instant::now();
        let writes = mirrors.iter().map(|m| m.mirror(&table)).sum();
        Mirrored {
            elapsed: start.elapsed(),
            writes,
        }
    }

    /// Makes `mirror` follow this handle: it gets the current table now, then every table
    /// published after it.
    pub fn add_mirror(&self, mirror: Arc<dyn TableMirror>) {
        let mut mirrors = self
            .publishers
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let _ = mirror.mirror(&self.current.load_full());
        mirrors.push(mirror);
    }

    /// Makes `table` current as `generation`, which the caller chose: a fleet's filters take
    /// the generation the shared store gave the change, the same on every host (a host that
    /// joins a fleet may so go back to a lower number, once). Returns what the mirrors spent
    /// following it.
    pub fn publish_as(&self, mut table: FilterTable, generation: u64) -> Mirrored {
        let mirrors = self
            .publishers
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        table.set_generation(generation);
        Self::store(&self.current, &mirrors, table)
    }

    /// The generation of the current table.
    pub fn generation(&self) -> u64 {
        self.current.load().generation()
    }
}

impl Default for FilterHandle {
    fn default() -> FilterHandle {
        FilterHandle::new(FilterTable::pass_all())
    }
}

impl fmt::Debug for FilterHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("FilterHandle").field(&**self.load()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::filter::{Action, Block, FilterModel, PHY_80211};
    use crate::wire::Addresses;
    use std::thread;

    #[test]
    fn handle_is_shareable() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<FilterHandle>();
    }

    #[test]
    fn publishing_swaps_the_table_and_counts_generations() {
        let h = FilterHandle::default();
        assert_eq!(h.generation(), 1);
        let before = h.load_full();
        let mut m = FilterModel::new("capture", "");
        m.set_default(Action::Block);
        m.set_terms(
            PHY_80211,
            Block::Source,
            [("aa:bb:cc:dd:ee:ff".parse().unwrap(), Action::Pass)],
        );
        assert_eq!(h.publish(m.compile()), 2);
        assert_eq!(h.generation(), 2);
        let now = h.load();
        assert_eq!((now.generation(), now.term_count()), (2, 1));
        assert_eq!(now.decide(&Addresses::default()), Action::Block);
        // A reader holding the old table keeps a consistent view.
        assert_eq!(
            (before.generation(), before.decide(&Addresses::default())),
            (1, Action::Pass)
        );
    }

    #[test]
    fn concurrent_publishers_get_distinct_increasing_generations() {
        let h = FilterHandle::default();
        let mut all: Vec<u64> = thread::scope(|s| {
            let workers: Vec<_> = (0..4)
                .map(|_| {
                    s.spawn(|| {
                        let mine: Vec<u64> = (0..200)
                            .map(|_| h.publish(FilterTable::pass_all()))
                            .collect();
                        assert!(mine.windows(2).all(|w| w[0] < w[1]));
                        mine
                    })
                })
                .collect();
            workers
                .into_iter()
                .flat_map(|w| w.join().unwrap())
                .collect()
        });
        all.sort_unstable();
        assert_eq!(all, (2..=801).collect::<Vec<u64>>());
        assert_eq!(h.generation(), 801);
        assert_eq!(h.load().generation(), 801);
    }
}
