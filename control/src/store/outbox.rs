//! The fleet's outbox: events that must reach the stream, kept until it acknowledges them
//! (the scan writer inserts and deletes rows; see `scan::Outbox`).

use rusqlite::params;

use super::{Store, StoreError};

/// One event waiting for the stream: its number (the journal sequence of the request), subject
/// and payload.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutboxRow {
    pub seq: u64,
    pub subject: String,
    pub payload: Vec<u8>,
}

impl Store {
    /// The oldest `limit` rows after sequence `after`.
    pub fn outbox_after(&self, after: u64, limit: usize) -> Result<Vec<OutboxRow>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(
            "SELECT seq, subject, payload FROM fleet_outbox WHERE seq > ?1 ORDER BY seq LIMIT ?2",
        )?;
        let rows = stmt.query_map(params![after as i64, limit as i64], |r| {
            Ok(OutboxRow {
                seq: r.get::<_, i64>(0)? as u64,
                subject: r.get(1)?,
                payload: r.get(2)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Rows after sequence `after`.
    pub fn outbox_count_after(&self, after: u64) -> Result<u64, StoreError> {
        let n: i64 = self.conn().query_row(
            "SELECT COUNT(*) FROM fleet_outbox WHERE seq > ?1",
            params![after as i64],
            |r| r.get(0),
        )?;
        Ok(n as u64)
    }
}

/// Appends the row of journal sequence `seq` inside the writer's transaction `tx`.
pub fn outbox_insert(
    tx: &rusqlite::Transaction<'_>,
    seq: u64,
    subject: &str,
    payload: &[u8],
) -> Result<(), StoreError> {
    tx.prepare_cached("INSERT INTO fleet_outbox (seq, subject, payload) VALUES (?1, ?2, ?3)")?
        .execute(params![seq as i64, subject, payload])?;
    Ok(())
}

/// Deletes the rows up to sequence `upto` inside transaction `tx`.
pub fn outbox_trim(tx: &rusqlite::Transaction<'_>, upto: u64) -> Result<(), StoreError> {
    tx.prepare_cached("DELETE FROM fleet_outbox WHERE seq <= ?1")?
        .execute(params![upto as i64])?;
    Ok(())
}
