//! MAC packet filters (API.md section 2): the model the control plane edits, its status
//! document, the compiled table the workers decide with, and the handle that publishes tables.
//!
//! The split follows the two sides of the dataplane: the control plane edits a [`FilterModel`]
//! under its own lock and compiles it; workers only ever see an immutable [`FilterTable`],
//! loaded from a [`FilterHandle`] once per batch, so a filter change never stalls a frame.

mod doc;
mod group;
mod handle;
mod model;
mod prefilter;
mod table;

pub use doc::{DocError, GENERATION};
pub use handle::{FilterHandle, Mirrored, TableMirror};
pub use model::{parse_action, Action, Block, FilterModel, UnknownBlock, PHY_80211};
pub use table::{FilterTable, TableGroup};
