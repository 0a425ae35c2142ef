//! Handing delta tables between a worker and the control plane without a lock: each worker
//! owns one table at a time; at a batch boundary, when its interval is over or the table is
//! nearly full, it trades it for an empty one through two bounded channels. The channels
//! are only ever polled (`try_send`/`try_recv`), so no side sleeps on them and neither takes
//! their internal lock.
//!
//! A table is allocated three times per worker, when the worker starts; from then on tables
//! only circulate. When the control plane falls behind, the worker keeps filling the table it
//! has (a full one counts what it cannot take), so the capture never waits for it.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use crossbeam_channel::{bounded, Receiver, Sender, TryRecvError};

use super::table::{DeltaTable, TableSize};

/// How often a worker hands its table over when it is not nearly full.
pub const INTERVAL: Duration = Duration::from_millis(250);
/// Tables per worker: one filling, one being merged, one spare.
const TABLES: usize = 3;

/// The worker's end.
pub struct TrackPort {
    table: Box<DeltaTable>,
    full: Sender<Box<DeltaTable>>,
    empty: Receiver<Box<DeltaTable>>,
    since: Instant,
}

impl TrackPort {
    /// The table the worker fills now.
    #[inline]
    pub fn table(&mut self) -> &mut DeltaTable {
        &mut self.table
    }

    /// At a batch boundary: hands the table over when its interval is over or it is nearly
    /// full, and an empty one is there to take its place.
    #[inline]
    pub fn maybe_hand_over(&mut self, now: Instant) {
        if self.table.is_empty()
            || (now.duration_since(self.since) < INTERVAL && !self.table.nearly_full())
        {
            return;
        }
        if let Ok(fresh) = self.empty.try_recv() {
            let full = std::mem::replace(&mut self.table, fresh);
            // The channel holds every table there is, so it never lacks room.
            let _ = self.full.try_send(full);
            self.since = now;
        }
    }

    /// Hands over what is left (the worker is ending).
    pub fn finish(self) {
        if !self.table.is_empty() {
            let _ = self.full.try_send(self.table);
        }
    }
}

/// The control plane's end of one port.
struct PortEnd {
    full: Receiver<Box<DeltaTable>>,
    empty: Sender<Box<DeltaTable>>,
}

/// Where the control plane collects every worker's tables.
#[derive(Clone)]
pub struct TrackHub {
    size: TableSize,
    ports: Arc<Mutex<Vec<PortEnd>>>,
}

impl TrackHub {
    pub fn new(size: TableSize) -> TrackHub {
        TrackHub {
            size,
            ports: Arc::default(),
        }
    }

    /// A port for a new worker of source `source` (allocates its tables; not on the frame
    /// path).
    pub fn port(&self, source: u32) -> TrackPort {
        let (full_tx, full_rx) = bounded(TABLES);
        let (empty_tx, empty_rx) = bounded(TABLES);
        for _ in 1..TABLES {
            let _ = empty_tx.try_send(Box::new(DeltaTable::new(source, self.size)));
        }
        self.ports
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(PortEnd {
                full: full_rx,
                empty: empty_tx,
            });
        TrackPort {
            table: Box::new(DeltaTable::new(source, self.size)),
            full: full_tx,
            empty: empty_rx,
            since: Instant::now(),
        }
    }

    /// Calls `merge` for every table handed over since the last call, then clears it and
    /// gives it back to its worker. Ports of workers that ended are dropped once drained.
    /// `merge` runs without the hub's lock held, so it may take other locks (a worker being
    /// added registers its port under the hub's lock while its caller holds its own).
    pub fn drain(&self, mut merge: impl FnMut(&DeltaTable)) {
        let mut taken = Vec::new();
        {
            let mut ports = self.ports.lock().unwrap_or_else(PoisonError::into_inner);
            ports.retain(|p| loop {
                match p.full.try_recv() {
                    Ok(t) => taken.push((t, p.empty.clone())),
                    Err(TryRecvError::Empty) => return true,
                    Err(TryRecvError::Disconnected) => return false,
                }
            });
        }
        for (mut t, back) in taken {
            merge(&t);
            t.clear();
            let _ = back.try_send(t);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_circulate_and_nothing_is_lost_at_the_end() {
        let hub = TrackHub::new(TableSize {
            devices: 64,
            events: 4,
        });
        let mut port = hub.port(3);
        let t0 = Instant::now();
        port.table().entry(1, 1).unwrap().tx += 1;
        port.maybe_hand_over(t0);
        let mut seen = Vec::new();
        hub.drain(|t| seen.push((t.source, t.len())));
        assert!(
            seen.is_empty(),
            "interval not over, table not nearly full: kept"
        );
        port.maybe_hand_over(t0 + INTERVAL);
        hub.drain(|t| seen.push((t.source, t.len())));
        assert_eq!(seen, [(3, 1)]);
        // Three handovers without a drain: the worker keeps its table when no empty is left.
        for round in 0..3u64 {
            port.table().entry(10 + round, 1).unwrap();
            port.maybe_hand_over(t0 + INTERVAL * (2 + round as u32));
        }
        port.table().entry(99, 1).unwrap();
        port.finish();
        let mut total = 0;
        hub.drain(|t| total += t.len());
        assert_eq!(total, 4, "every entry reached the hub");
        hub.drain(|_| panic!("nothing more"));
        assert!(
            hub.ports.lock().unwrap().is_empty(),
            "the ended worker's port is dropped"
        );
    }
}
