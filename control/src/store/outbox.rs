//! The fleet's outbox: events that must reach the stream, kept until it acknowledges them.

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
    /// The oldest `limit` rows.
    pub fn outbox_head(&self, limit: usize) -> Result<Vec<OutboxRow>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(
            "SELECT seq, subject, payload FROM fleet_outbox ORDER BY seq LIMIT ?1",
        )?;
        let rows = stmt.query_map(params![limit as i64], |r| {
            Ok(OutboxRow {
                seq: r.get::<_, i64>(0)? as u64,
                subject: r.get(1)?,
                payload: r.get(2)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Removes the rows the stream acknowledged.
    pub fn outbox_remove(&self, seqs: &[u64]) -> Result<(), StoreError> {
        self.transaction(|tx| {
            let mut stmt = tx.prepare_cached("DELETE FROM fleet_outbox WHERE seq = ?1")?;
            for &s in seqs {
                stmt.execute(params![s as i64])?;
            }
            Ok(())
        })
    }

    /// Rows waiting.
    pub fn outbox_len(&self) -> Result<u64, StoreError> {
        let n: i64 = self
            .conn()
            .query_row("SELECT COUNT(*) FROM fleet_outbox", [], |r| r.get(0))?;
        Ok(n as u64)
    }
}
