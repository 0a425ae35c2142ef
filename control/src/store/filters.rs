//! Packet filters: each filter's status document with its generation.

use rusqlite::params;

use super::{Store, StoreError};

/// One stored packet filter.
#[derive(Clone, Debug, PartialEq)]
pub struct StoredFilter {
    pub id: String,
    pub doc: serde_json::Value,
    pub generation: u64,
}

impl Store {
    /// Every stored filter, ordered by id.
    pub fn load_filters(&self) -> Result<Vec<StoredFilter>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare("SELECT id, doc, generation FROM filters ORDER BY id")?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, i64>(2)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (id, doc, generation) = row?;
            let doc = serde_json::from_str(&doc).map_err(|e| {
                StoreError::Db(format!(
                    "the stored document of filter {id:?} is not valid JSON: {e}"
                ))
            })?;
            let generation = u64::try_from(generation).map_err(|_| {
                StoreError::Db(format!(
                    "the stored generation of filter {id:?} is negative: {generation}"
                ))
            })?;
            out.push(StoredFilter {
                id,
                doc,
                generation,
            });
        }
        Ok(out)
    }

    /// Inserts or replaces filter `id`. Durable when it returns `Ok`.
    pub fn save_filter(
        &self,
        id: &str,
        doc: &serde_json::Value,
        generation: u64,
    ) -> Result<(), StoreError> {
        let generation = i64::try_from(generation).map_err(|_| {
            StoreError::Db(format!(
                "generation {generation} of filter {id:?} is too large to store"
            ))
        })?;
        let doc = serde_json::to_string(doc)
            .map_err(|e| StoreError::Db(format!("cannot serialise filter {id:?}: {e}")))?;
        self.conn().execute(
            "INSERT INTO filters(id, doc, generation) VALUES (?1, ?2, ?3)
             ON CONFLICT(id) DO UPDATE SET doc = excluded.doc, generation = excluded.generation",
            params![id, doc, generation],
        )?;
        Ok(())
    }
}
