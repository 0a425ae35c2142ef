//! API keys: generated tokens with a role and an optional expiry. The store keeps only the
//! SHA-256 of each token; an in-memory map keyed by that hash mirrors the store so that
//! authenticating costs no database read.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

use serde::Serialize;

use super::secret::{digest, from_hex, new_token, same, to_hex, Digest};
use super::{now_unix, Auth, AuthError, Principal, Role};
use crate::store::{ApiKeyRecord, Store, StoreError};

/// Longest key name, in characters.
pub const MAX_KEY_NAME: usize = 64;

/// What `list_keys` shows of a key: never the token or its hash.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct KeyInfo {
    pub name: String,
    pub role: Role,
    /// Unix seconds.
    pub created: i64,
    /// Unix seconds; `None` never expires.
    pub expires: Option<i64>,
    pub expired: bool,
}

#[derive(Clone)]
pub(crate) struct KeyEntry {
    name: String,
    role: Role,
    created: i64,
    expires: Option<i64>,
}

impl KeyEntry {
    fn expired(&self, now: i64) -> bool {
        self.expires.is_some_and(|e| now >= e)
    }
}

pub(crate) struct Keys {
    by_hash: RwLock<HashMap<Digest, KeyEntry>>,
    /// Serialises generate/revoke so the store and the map change in the same order, without
    /// holding `by_hash` (which every authentication reads) across a durable write.
    writer: Mutex<()>,
}

impl Keys {
    /// The map as stored. A row this build cannot read (unknown role, malformed hash) is
    /// skipped with a warning: it grants nothing.
    pub(crate) fn load(store: &Store) -> Result<Keys, StoreError> {
        let mut map = HashMap::new();
        for r in store.api_keys()? {
            let (Ok(role), Some(hash)) = (r.role.parse::<Role>(), from_hex(&r.hash)) else {
                tracing::warn!(name = %r.name, role = %r.role, "ignoring an unreadable stored API key");
                continue;
            };
            map.insert(
                hash,
                KeyEntry {
                    name: r.name,
                    role,
                    created: r.created,
                    expires: r.expires,
                },
            );
        }
        Ok(Keys {
            by_hash: RwLock::new(map),
            writer: Mutex::new(()),
        })
    }

    fn read(&self) -> RwLockReadGuard<'_, HashMap<Digest, KeyEntry>> {
        self.by_hash.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> RwLockWriteGuard<'_, HashMap<Digest, KeyEntry>> {
        self.by_hash.write().unwrap_or_else(PoisonError::into_inner)
    }

    /// The principal of the unexpired key whose token hashes to `d`.
    pub(crate) fn check(&self, d: &Digest, now: i64) -> Option<Principal> {
        let map = self.read();
        let (k, e) = map.get_key_value(d)?;
        if !same(k, d) || e.expired(now) {
            return None;
        }
        Some(Principal {
            role: e.role,
            name: e.name.clone(),
        })
    }
}

/// A key name: 1 to 64 characters, none of them a control character, not only spaces.
fn validate_name(name: &str) -> Result<(), AuthError> {
    if name.trim().is_empty() {
        return Err(AuthError::BadRequest("name must not be empty".into()));
    }
    let n = name.chars().count();
    if n > MAX_KEY_NAME {
        return Err(AuthError::BadRequest(format!(
            "name is {n} characters long; the limit is {MAX_KEY_NAME}"
        )));
    }
    if let Some(c) = name.chars().find(|c| c.is_control()) {
        return Err(AuthError::BadRequest(format!(
            "name contains the control character {:?}; use printable characters",
            c
        )));
    }
    Ok(())
}

impl Auth {
    /// Creates an API key called `name` with `role`, valid for `duration_s` seconds (0: no
    /// expiry), and returns its token: 32 random bytes in URL-safe base64 (43 characters).
    /// The token is shown only here; the store keeps its SHA-256. Durable when it returns.
    pub fn generate_key(
        &self,
        name: &str,
        role: Role,
        duration_s: u64,
    ) -> Result<String, AuthError> {
        validate_name(name)?;
        let created = now_unix();
        let expires = match duration_s {
            0 => None,
            d => Some(
                i64::try_from(d)
                    .ok()
                    .and_then(|d| created.checked_add(d))
                    .ok_or_else(|| {
                        AuthError::BadRequest(format!(
                            "duration {d} is too large; use 0 for a key that never expires"
                        ))
                    })?,
            ),
        };
        let _w = self
            .keys
            .writer
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if self.keys.read().values().any(|e| e.name == name) {
            return Err(AuthError::Conflict(format!(
                "an API key named {name} exists"
            )));
        }
        let token = new_token()?;
        let hash = digest(token.as_bytes());
        let record = ApiKeyRecord {
            name: name.to_string(),
            role: role.as_str().to_string(),
            hash: to_hex(&hash),
            created,
            expires,
        };
        self.store.insert_api_key(&record).map_err(|e| match e {
            StoreError::Conflict(m) => AuthError::Conflict(m),
            e => AuthError::Store(e),
        })?;
        self.keys.write().insert(
            hash,
            KeyEntry {
                name: record.name,
                role,
                created,
                expires,
            },
        );
        tracing::info!(name, role = role.as_str(), ?expires, "API key created");
        Ok(token)
    }

    /// Deletes the key called `name`; `false` if there is none. Sessions are not affected.
    /// Durable when it returns.
    pub fn revoke_key(&self, name: &str) -> Result<bool, AuthError> {
        let _w = self
            .keys
            .writer
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let stored = self.store.delete_api_key(name)?;
        let mut map = self.keys.write();
        let before = map.len();
        map.retain(|_, e| e.name != name);
        let found = stored || map.len() != before;
        if found {
            tracing::info!(name, "API key revoked");
        }
        Ok(found)
    }

    /// Every key (oldest first): name, role, creation, expiry. Never a token or a hash.
    pub fn list_keys(&self) -> Vec<KeyInfo> {
        let now = now_unix();
        let mut out: Vec<KeyInfo> = self
            .keys
            .read()
            .values()
            .map(|e| KeyInfo {
                name: e.name.clone(),
                role: e.role,
                created: e.created,
                expires: e.expires,
                expired: e.expired(now),
            })
            .collect();
        out.sort_by(|a, b| (a.created, &a.name).cmp(&(b.created, &b.name)));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert!(validate_name("scanner-1").is_ok());
        assert!(validate_name("ünïcode ok").is_ok());
        assert!(validate_name(&"x".repeat(64)).is_ok());
        for bad in ["", "   ", "a\nb", "tab\there", "\u{7f}"] {
            assert!(
                matches!(validate_name(bad), Err(AuthError::BadRequest(_))),
                "{bad:?}"
            );
        }
        assert!(matches!(
            validate_name(&"x".repeat(65)),
            Err(AuthError::BadRequest(_))
        ));
    }
}
