//! The set of capture datasources, so that a restart reopens them as they were.

use super::{Store, StoreError};

/// One stored capture datasource.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredSource {
    pub uuid: String,
    pub number: u32,
    pub definition: String,
    pub closed: bool,
    pub paused: bool,
    /// Channel state as JSON (`{}` when never set).
    pub channel: String,
}

impl Store {
    /// Every stored capture datasource, by source number.
    pub fn capture_sources(&self) -> Result<Vec<StoredSource>, StoreError> {
        let conn = self.conn();
        let mut st = conn.prepare(
            "SELECT uuid, number, definition, closed, paused, channel FROM capture_sources ORDER BY number",
        )?;
        let rows = st.query_map([], |r| {
            Ok(StoredSource {
                uuid: r.get(0)?,
                number: r.get(1)?,
                definition: r.get(2)?,
                closed: r.get(3)?,
                paused: r.get(4)?,
                channel: r.get(5)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Inserts or replaces a datasource's row. Durable when it returns `Ok`.
    pub fn save_capture_source(&self, s: &StoredSource) -> Result<(), StoreError> {
        self.conn().execute(
            "INSERT INTO capture_sources(uuid, number, definition, closed, paused, channel)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)
             ON CONFLICT(uuid) DO UPDATE SET number = excluded.number,
               definition = excluded.definition, closed = excluded.closed,
               paused = excluded.paused, channel = excluded.channel",
            rusqlite::params![
                s.uuid,
                s.number,
                s.definition,
                s.closed,
                s.paused,
                s.channel
            ],
        )?;
        Ok(())
    }
}
