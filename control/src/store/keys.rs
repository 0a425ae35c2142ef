//! API keys: name, role, and the SHA-256 of the token (never the token itself).

use rusqlite::{params, OptionalExtension};

use super::{is_constraint, Store, StoreError};

/// One stored API key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiKeyRecord {
    pub name: String,
    /// `admin`, `readonly` or `scanreport`.
    pub role: String,
    /// Lower-case hex SHA-256 of the token.
    pub hash: String,
    /// Unix seconds.
    pub created: i64,
    /// Unix seconds; `None` never expires.
    pub expires: Option<i64>,
}

impl Store {
    /// Adds a key. A key with the same name (or, astronomically unlikely, the same token hash)
    /// is a [`StoreError::Conflict`] and changes nothing. Durable when it returns `Ok`.
    pub fn insert_api_key(&self, k: &ApiKeyRecord) -> Result<(), StoreError> {
        self.transaction(|tx| {
            let taken: Option<i64> = tx
                .query_row("SELECT 1 FROM api_keys WHERE name = ?1", [&k.name], |r| r.get(0))
                .optional()?;
            if taken.is_some() {
                return Err(StoreError::Conflict(format!("an API key named {} exists", k.name)));
            }
            tx.execute(
                "INSERT INTO api_keys(name, role, hash, created, expires) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![k.name, k.role, k.hash, k.created, k.expires],
            )
            .map_err(|e| {
                if is_constraint(&e) {
                    StoreError::Conflict(format!("cannot store API key {}: {e}", k.name))
                } else {
                    e.into()
                }
            })?;
            Ok(())
        })
    }

    /// Removes the key called `name`; `false` if there was none. Durable when it returns.
    pub fn delete_api_key(&self, name: &str) -> Result<bool, StoreError> {
        let n = self
            .conn()
            .execute("DELETE FROM api_keys WHERE name = ?1", [name])?;
        Ok(n > 0)
    }

    /// Every key, oldest first (ties by name).
    pub fn api_keys(&self) -> Result<Vec<ApiKeyRecord>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare(
            "SELECT name, role, hash, created, expires FROM api_keys ORDER BY created, name",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok(ApiKeyRecord {
                name: r.get(0)?,
                role: r.get(1)?,
                hash: r.get(2)?,
                created: r.get(3)?,
                expires: r.get(4)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}
