//! Learning devices from captured frames on the workers, without slowing them down.
//!
//! Each worker folds the frames its filter passes into a [`DeltaTable`] of per-MAC deltas
//! ([`observe`]) and, every [`port::INTERVAL`] or when the table fills up, trades it for an
//! empty one ([`TrackPort`]); the control plane merges the tables it collects
//! ([`TrackHub::drain`]) into its device store. Per frame: a hash-table probe or two and a
//! few counters; no lock, no allocation.

mod observe;
pub mod port;
pub mod table;

pub use observe::observe;
pub use port::{TrackHub, TrackPort};
pub use table::{DeltaTable, Entry, Relation, SsidEvent, SsidKind, TableSize};
