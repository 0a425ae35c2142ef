//! Filter documents on disk: the status document of a packet filter (API.md section 2), so
//! that a document fetched from the REST API can be used offline as it is.

use std::path::Path;

use anyhow::{Context, Result};
use dataplane::filter::{FilterModel, FilterTable};

/// Reads a filter status document and compiles it.
pub fn load_table(path: &Path) -> Result<FilterTable> {
    Ok(load_model(path)?.compile())
}

/// Reads a filter status document.
pub fn load_model(path: &Path) -> Result<FilterModel> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read filter file {}", path.display()))?;
    let doc: serde_json::Value = serde_json::from_str(&text)
        .with_context(|| format!("filter file {} is not valid JSON", path.display()))?;
    FilterModel::from_status_doc(&doc).with_context(|| {
        format!(
            "filter file {} is not a packet filter document",
            path.display()
        )
    })
}
