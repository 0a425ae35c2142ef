//! The names of capture sources by source number, for the interface descriptions of the log
//! and the live stream: each source is one pcapng interface named after it, so Wireshark
//! shows which source saw each frame.
//!
//! Read by the sink thread only when a file or stream meets a source for the first time, and
//! written when a source is added: never on the per-frame path.

use std::collections::HashMap;
use std::sync::{Arc, PoisonError, RwLock};

/// Shared, cheap to clone.
#[derive(Clone, Debug, Default)]
pub struct SourceNames(Arc<RwLock<HashMap<u32, String>>>);

impl SourceNames {
    /// Names source `number` (a later call renames it for files and streams opened after).
    pub fn set(&self, number: u32, name: &str) {
        self.0
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(number, name.to_string());
    }

    /// The name of source `number`, or `source-N` for one never named.
    pub fn get(&self, number: u32) -> String {
        self.0
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&number)
            .cloned()
            .unwrap_or_else(|| format!("source-{number}"))
    }
}
