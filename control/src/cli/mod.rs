//! The subcommands of `airsift`.

pub mod devices;
pub mod fleet;
pub mod inspect;
mod progress;
mod reload;
pub mod replay;
pub mod run;

use dataplane::capfile::CapError;

/// How reading a capture file ended.
#[derive(Debug)]
pub enum FileEnd {
    /// Every record was read.
    Complete,
    /// The last record is cut short (a capture that was interrupted): a warning, not a failure.
    Truncated(CapError),
    /// The file is damaged before its end.
    Damaged(CapError),
}

impl FileEnd {
    pub(crate) fn from_error(e: CapError) -> FileEnd {
        if matches!(e, CapError::Truncated { .. }) {
            FileEnd::Truncated(e)
        } else {
            FileEnd::Damaged(e)
        }
    }
}
