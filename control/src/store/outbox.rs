//! The fleet's outbox: events that must reach the stream, kept until it acknowledges them
//! (the scan writer inserts and deletes rows; see `scan::Outbox`).
//!
//! A row names its request's journal sequence and subject; the request's bytes are the
//! journal row's (`scan_journal.batch`), which a checkpoint keeps while the outbox still names
//! it, so the transaction that accepts a request writes its bytes once. Rows written by
//! earlier versions carry their payload themselves, which is used when present.

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
    /// The oldest `limit` rows after sequence `after`, with their requests' bytes.
    pub fn outbox_after(&self, after: u64, limit: usize) -> Result<Vec<OutboxRow>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(
            "SELECT o.seq, o.subject,
                    CASE WHEN length(o.payload) > 0 THEN o.payload ELSE j.batch END
             FROM fleet_outbox o LEFT JOIN scan_journal j ON j.seq = o.seq
             WHERE o.seq > ?1 ORDER BY o.seq LIMIT ?2",
        )?;
        let rows = stmt.query_map(params![after as i64, limit as i64], |r| {
            Ok((
                r.get::<_, i64>(0)? as u64,
                r.get::<_, String>(1)?,
                r.get::<_, Option<Vec<u8>>>(2)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (seq, subject, payload) = row?;
            let payload = payload.ok_or_else(|| {
                StoreError::Db(format!(
                    "outbox row {seq} names a journal row that is gone (the store was changed                      by hand?)"
                ))
            })?;
            out.push(OutboxRow {
                seq,
                subject,
                payload,
            });
        }
        Ok(out)
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

/// Appends the row of journal sequence `seq` inside the writer's transaction `tx`, which
/// journals that request too (the bytes are the journal row's).
pub fn outbox_insert(
    tx: &rusqlite::Transaction<'_>,
    seq: u64,
    subject: &str,
) -> Result<(), StoreError> {
    tx.prepare_cached("INSERT INTO fleet_outbox (seq, subject, payload) VALUES (?1, ?2, x'')")?
        .execute(params![seq as i64, subject])?;
    Ok(())
}

/// Deletes the rows up to sequence `upto` inside transaction `tx`.
pub fn outbox_trim(tx: &rusqlite::Transaction<'_>, upto: u64) -> Result<(), StoreError> {
    tx.prepare_cached("DELETE FROM fleet_outbox WHERE seq <= ?1")?
        .execute(params![upto as i64])?;
    Ok(())
}
