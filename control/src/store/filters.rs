//! Packet filters: each filter's document without terms (id, description, default, phys) with
//! its generation in `filters`, and its terms one row each in `filter_terms`. A change writes
//! the rows of the terms it changes and the generation, not the whole filter: on a 1M-term
//! filter that is the difference between microseconds and seconds.
//!
//! Filters written by versions before schema 5 hold their terms in the document; reading
//! accepts both, and [`Store::replace_filter`] moves a filter to rows.

use dataplane::filter::{Action, Block};
use dataplane::wire::{MacAddr, MacTerm};
use rusqlite::{params, Transaction};

use super::{Store, StoreError};

/// One stored packet filter.
#[derive(Clone, Debug, PartialEq)]
pub struct StoredFilter {
    pub id: String,
    /// The status document as written: without terms since schema 5, with them before.
    pub doc: serde_json::Value,
    pub generation: u64,
    /// The filter's term rows, in (phy, block, term) order.
    pub terms: Vec<StoredTerm>,
}

/// One term row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredTerm {
    pub phy: String,
    pub block: Block,
    pub term: MacTerm,
    pub action: Action,
}

/// What one change writes: terms set (or overwritten) and terms removed, in one block of one
/// phy, and the document when the default or the set of phys changed.
#[derive(Clone, Copy, Debug)]
pub struct TermChange<'a> {
    pub phy: &'a str,
    pub block: Block,
    pub set: &'a [(MacTerm, Action)],
    pub removed: &'a [MacTerm],
    pub doc: Option<&'a serde_json::Value>,
}

fn db_generation(id: &str, generation: u64) -> Result<i64, StoreError> {
    i64::try_from(generation).map_err(|_| {
        StoreError::Db(format!(
            "generation {generation} of filter {id:?} is too large to store"
        ))
    })
}

fn to_json(id: &str, doc: &serde_json::Value) -> Result<String, StoreError> {
    serde_json::to_string(doc)
        .map_err(|e| StoreError::Db(format!("cannot serialise filter {id:?}: {e}")))
}

fn write_doc(
    tx: &Transaction<'_>,
    id: &str,
    doc: &serde_json::Value,
    generation: i64,
) -> Result<(), StoreError> {
    tx.prepare_cached(
        "INSERT INTO filters(id, doc, generation) VALUES (?1, ?2, ?3)
         ON CONFLICT(id) DO UPDATE SET doc = excluded.doc, generation = excluded.generation",
    )?
    .execute(params![id, to_json(id, doc)?, generation])?;
    Ok(())
}

/// A term's mask and value as their columns hold them (48 bits in an INTEGER).
fn mask_of(term: MacTerm) -> i64 {
    term.mask().to_u64() as i64
}

fn value_of(term: MacTerm) -> i64 {
    term.value().to_u64() as i64
}

fn block_of(i: i64) -> Option<Block> {
    Block::ALL.into_iter().find(|b| b.index() as i64 == i)
}

impl Store {
    /// Every stored filter with its term rows, ordered by id.
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
        let mut terms = conn.prepare(
            "SELECT phy, block, mask, value, blocks FROM filter_terms WHERE filter = ?1
             ORDER BY phy, block, mask, value",
        )?;
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
            let rows = terms.query_map(params![id], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, i64>(2)?,
                    r.get::<_, i64>(3)?,
                    r.get::<_, i64>(4)?,
                ))
            })?;
            let mut list = Vec::new();
            for row in rows {
                let (phy, block, mask, value, blocks) = row?;
                let block = block_of(block).ok_or_else(|| {
                    StoreError::Db(format!("filter {id:?} has a term in unknown block {block}"))
                })?;
                let mac = |v: i64| MacAddr::from_be_u64(v as u64 & 0xffff_ffff_ffff);
                list.push(StoredTerm {
                    phy,
                    block,
                    term: MacTerm::masked(mac(value), mac(mask)),
                    action: Action::from_bool(blocks != 0),
                });
            }
            out.push(StoredFilter {
                id,
                doc,
                generation,
                terms: list,
            });
        }
        Ok(out)
    }

    /// Inserts or replaces filter `id` whole: `doc` (its terms, if any, stay in the document)
    /// and exactly the term rows `terms`. Durable when it returns `Ok`.
    pub fn replace_filter<'a>(
        &self,
        id: &str,
        doc: &serde_json::Value,
        generation: u64,
        terms: impl IntoIterator<Item = (&'a str, Block, MacTerm, Action)>,
    ) -> Result<(), StoreError> {
        let generation = db_generation(id, generation)?;
        self.transaction(|tx| {
            write_doc(tx, id, doc, generation)?;
            tx.execute("DELETE FROM filter_terms WHERE filter = ?1", params![id])?;
            let mut insert = tx.prepare_cached(
                "INSERT INTO filter_terms(filter, phy, block, mask, value, blocks)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?;
            for (phy, block, term, action) in terms {
                insert.execute(params![
                    id,
                    phy,
                    block.index() as i64,
                    mask_of(term),
                    value_of(term),
                    i64::from(action.is_block()),
                ])?;
            }
            Ok(())
        })
    }

    /// Writes one change to filter `id` as `generation`: the rows of the terms it sets and
    /// removes, the generation, and the document when the change gives one. Durable when it
    /// returns `Ok`; on `Err` nothing was written.
    pub fn change_filter(
        &self,
        id: &str,
        generation: u64,
        change: TermChange<'_>,
    ) -> Result<(), StoreError> {
        let generation = db_generation(id, generation)?;
        self.transaction(|tx| {
            match change.doc {
                Some(doc) => write_doc(tx, id, doc, generation)?,
                None => {
                    let n = tx
                        .prepare_cached("UPDATE filters SET generation = ?2 WHERE id = ?1")?
                        .execute(params![id, generation])?;
                    if n != 1 {
                        return Err(StoreError::Db(format!("no stored filter {id:?}")));
                    }
                }
            }
            let block = change.block.index() as i64;
            let mut upsert = tx.prepare_cached(
                "INSERT INTO filter_terms(filter, phy, block, mask, value, blocks)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT(filter, phy, block, mask, value) DO UPDATE SET blocks = excluded.blocks",
            )?;
            for (term, action) in change.set {
                upsert.execute(params![
                    id,
                    change.phy,
                    block,
                    mask_of(*term),
                    value_of(*term),
                    i64::from(action.is_block()),
                ])?;
            }
            let mut delete = tx.prepare_cached(
                "DELETE FROM filter_terms
                 WHERE filter = ?1 AND phy = ?2 AND block = ?3 AND mask = ?4 AND value = ?5",
            )?;
            for term in change.removed {
                delete.execute(params![
                    id,
                    change.phy,
                    block,
                    mask_of(*term),
                    value_of(*term),
                ])?;
            }
            Ok(())
        })
    }

    /// Inserts or replaces filter `id`'s document and generation, leaving its term rows.
    /// Durable when it returns `Ok`.
    pub fn save_filter(
        &self,
        id: &str,
        doc: &serde_json::Value,
        generation: u64,
    ) -> Result<(), StoreError> {
        let generation = db_generation(id, generation)?;
        self.transaction(|tx| write_doc(tx, id, doc, generation))
    }
}
