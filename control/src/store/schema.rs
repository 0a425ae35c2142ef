//! The schema as an ordered list of migrations. Migration `i` (1-based) brings a database from
//! `user_version = i - 1` to `user_version = i`; [`SUPPORTED_VERSION`] is the list's length.
//!
//! Adding a migration is one new element at the end of [`MIGRATIONS`]. Never edit or reorder
//! an element that has shipped: databases in the field have already run it.

use rusqlite::Transaction;

use super::StoreError;

/// Every migration, oldest first. Each is one SQL batch run inside the open transaction.
pub(crate) const MIGRATIONS: &[&str] = &[
    // 1: packet filters, API keys, small settings.
    r#"
    CREATE TABLE filters (
        id         TEXT PRIMARY KEY,
        doc        TEXT NOT NULL,
        generation INTEGER NOT NULL
    );
    CREATE TABLE api_keys (
        name    TEXT PRIMARY KEY,
        role    TEXT NOT NULL,
        hash    TEXT NOT NULL UNIQUE,
        created INTEGER NOT NULL,
        expires INTEGER
    );
    CREATE TABLE settings (
        key   TEXT PRIMARY KEY,
        value TEXT NOT NULL
    );
    "#,
    // 2: scanning-mode reports (control/src/scan): the group-commit journal (one row per
    // accepted request, a compact binary batch) and the checkpointed device and datasource
    // records (compact binary, each with the journal sequence number it includes).
    r#"
    CREATE TABLE scan_journal (
        seq   INTEGER PRIMARY KEY,
        batch BLOB NOT NULL
    );
    CREATE TABLE scan_devices (
        mac INTEGER PRIMARY KEY,
        rec BLOB NOT NULL
    );
    CREATE TABLE scan_sources (
        uuid BLOB PRIMARY KEY,
        rec  BLOB NOT NULL
    ) WITHOUT ROWID;
    "#,
    // 3: capture datasources (control/src/datasource): the definition each was added with,
    // its number, whether it is closed or paused, and its channel state (JSON).
    r#"
    CREATE TABLE capture_sources (
        uuid       TEXT PRIMARY KEY,
        number     INTEGER NOT NULL UNIQUE,
        definition TEXT NOT NULL,
        closed     INTEGER NOT NULL,
        paused     INTEGER NOT NULL,
        channel    TEXT NOT NULL
    );
    "#,
    // 4: the fleet's outbox (control/src/fleet/events.rs): each accepted scan report request,
    // written in the transaction that journals it, until JetStream acknowledges it.
    r#"
    CREATE TABLE fleet_outbox (
        seq     INTEGER PRIMARY KEY,
        subject TEXT NOT NULL,
        payload BLOB NOT NULL
    );
    "#,
    // 5: packet filter terms, one row per term, so that a change writes what it changes;
    // `filters.doc` then holds the document without terms (control/src/store/filters.rs).
    // Filters stored by earlier versions keep their terms in `doc` until their first load.
    r#"
    CREATE TABLE filter_terms (
        filter TEXT NOT NULL,
        phy    TEXT NOT NULL,
        block  INTEGER NOT NULL,
        mask   INTEGER NOT NULL,
        value  INTEGER NOT NULL,
        blocks INTEGER NOT NULL,
        PRIMARY KEY (filter, phy, block, mask, value)
    ) WITHOUT ROWID;
    "#,
];

/// The newest schema version this build reads and writes.
pub const SUPPORTED_VERSION: u32 = MIGRATIONS.len() as u32;

/// Reads `PRAGMA user_version` (0 for a new, empty file). SQLite stores it as a signed 32-bit
/// integer; a negative value (never written by airsift) reads as "newer than supported".
pub(crate) fn version(conn: &rusqlite::Connection) -> rusqlite::Result<u32> {
    let v: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    Ok(u32::try_from(v).unwrap_or(u32::MAX))
}

/// Applies the migrations after `from` in order, inside `tx`, and records the new version.
/// Returns how many ran. The caller commits.
pub(crate) fn migrate(tx: &Transaction<'_>, from: u32) -> Result<usize, StoreError> {
    let mut ran = 0;
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(from as usize) {
        let to = i + 1;
        tx.execute_batch(sql)
            .map_err(|e| StoreError::Db(format!("migration to schema version {to} failed: {e}")))?;
        ran += 1;
    }
    if ran > 0 {
        tx.pragma_update(None, "user_version", SUPPORTED_VERSION)?;
    }
    Ok(ran)
}
