//! Login sessions: in memory only (a restart logs everyone out, as in Kismet), keyed by the
//! SHA-256 of the token so the tokens themselves are not kept.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use super::secret::{digest, new_token, same, Digest};
use super::{AuthError, Principal};

/// How long a session lasts from its login (no sliding renewal).
pub const DEFAULT_SESSION_TTL: Duration = Duration::from_secs(8 * 3600);

/// At most this many live sessions; minting one more evicts the one closest to expiry.
pub(crate) const MAX_SESSIONS: usize = 16_384;

struct Session {
    principal: Principal,
    expires: Instant,
}

pub(crate) struct Sessions {
    ttl: Duration,
    map: Mutex<HashMap<Digest, Session>>,
}

impl Sessions {
    pub(crate) fn new(ttl: Duration) -> Sessions {
        Sessions {
            ttl,
            map: Mutex::new(HashMap::new()),
        }
    }

    pub(crate) fn set_ttl(&mut self, ttl: Duration) {
        self.ttl = ttl;
    }

    fn map(&self) -> MutexGuard<'_, HashMap<Digest, Session>> {
        self.map.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A new session for `principal`; returns its token.
    pub(crate) fn mint(&self, principal: Principal) -> Result<String, AuthError> {
        let token = new_token()?;
        let now = Instant::now();
        let mut map = self.map();
        if map.len() >= MAX_SESSIONS {
            map.retain(|_, s| s.expires > now);
        }
        if map.len() >= MAX_SESSIONS {
            if let Some(oldest) = map.iter().min_by_key(|(_, s)| s.expires).map(|(k, _)| *k) {
                map.remove(&oldest);
            }
        }
        map.insert(
            digest(token.as_bytes()),
            Session {
                principal,
                expires: now + self.ttl,
            },
        );
        Ok(token)
    }

    /// The principal of the live session whose token hashes to `d`. An expired one is removed.
    pub(crate) fn check(&self, d: &Digest) -> Option<Principal> {
        let mut map = self.map();
        let (k, s) = map.get_key_value(d)?;
        if !same(k, d) {
            return None;
        }
        if s.expires <= Instant::now() {
            map.remove(d);
            return None;
        }
        Some(s.principal.clone())
    }

    /// Whether the session with this token is still live (without cloning its principal).
    pub(crate) fn is_live(&self, token: &str) -> bool {
        let d = digest(token.as_bytes());
        self.map()
            .get(&d)
            .is_some_and(|s| s.expires > Instant::now())
    }

    /// Ends the session with this token, if there is one (a logout).
    pub(crate) fn end(&self, token: &str) -> bool {
        self.map().remove(&digest(token.as_bytes())).is_some()
    }

    /// Live sessions; drops the expired ones on the way.
    pub(crate) fn count(&self) -> usize {
        let now = Instant::now();
        let mut map = self.map();
        map.retain(|_, s| s.expires > now);
        map.len()
    }
}
