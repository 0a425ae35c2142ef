//! Authentication as Kismet does it, without Kismet's weak spots (API.md section 1).
//!
//! Order: the `KISMET` cookie (or, when the request has no `Cookie` header at all, the
//! `KISMET` query variable) holding a session token or an API key; then HTTP Basic with the
//! admin user and password, which mints a session token. Roles: [`Role`].
//!
//! Secrets at rest and in memory are SHA-256 digests (tokens) or argon2id PHC strings (the
//! admin password); digests are compared in constant time after the map lookup.
//!
//! Basic on every request: verifying argon2 takes tens of milliseconds by design, so a
//! successful Basic login is remembered for [`BASIC_CACHE_TTL`] under a digest of the
//! credentials (SHA-256 with a per-process random prefix), together with the session it
//! minted. A client that keeps sending Basic within that window is answered from the cache
//! with the same session token (one `Set-Cookie` value, one session, no argon2); after it, the
//! next Basic request verifies again and mints a new session. Failed logins are never cached.

#![forbid(unsafe_code)]

mod apikey;
pub(crate) mod credentials;
mod password;
mod role;
mod secret;
mod session;

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::store::{Store, StoreError};
use secret::{digest, same, Digest};
use session::Sessions;

pub use apikey::{KeyInfo, MAX_KEY_NAME};
pub use credentials::COOKIE_NAME;
pub use role::{ParseRoleError, Role};
pub use session::DEFAULT_SESSION_TTL;

/// Where a generated admin password is written, inside the state directory.
pub const ADMIN_PASSWORD_FILE: &str = "admin-password";

/// The setting that holds the admin password's argon2 PHC string.
pub const ADMIN_HASH_SETTING: &str = "admin_password_hash";

/// How long a verified Basic login is remembered (see the module documentation).
pub const BASIC_CACHE_TTL: Duration = Duration::from_secs(10);

/// At most this many remembered Basic logins (distinct user:password pairs that succeeded).
const BASIC_CACHE_MAX: usize = 64;

/// At most this many `KISMET` values are tried from one request.
const MAX_CANDIDATES: usize = 8;

/// Who a request is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Principal {
    pub role: Role,
    /// The admin user's name for a Basic login or its session; otherwise the API key's name.
    pub name: String,
}

/// Why a request or a key operation was refused.
#[derive(Debug)]
pub enum AuthError {
    /// No credential was offered (HTTP 401).
    Missing,
    /// A credential was offered and none of them is valid (HTTP 401).
    Invalid,
    /// A key operation contradicts existing keys (HTTP 400).
    Conflict(String),
    /// A key operation's parameters are invalid (HTTP 400).
    BadRequest(String),
    /// The store failed (HTTP 500).
    Store(StoreError),
}

impl fmt::Display for AuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AuthError::Missing => f.write_str("no credentials were offered"),
            AuthError::Invalid => f.write_str("invalid credentials"),
            AuthError::Conflict(m) | AuthError::BadRequest(m) => f.write_str(m),
            AuthError::Store(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for AuthError {}

impl From<StoreError> for AuthError {
    fn from(e: StoreError) -> Self {
        AuthError::Store(e)
    }
}

/// A request that passed. (`Debug` does not print the token.)
#[derive(Clone)]
pub struct Authenticated {
    pub principal: Principal,
    /// A session token minted by a Basic login: the HTTP layer answers
    /// `Set-Cookie: KISMET=<token>; Path=/; HttpOnly; SameSite=Strict` (another site cannot
    /// make a browser send it along with a request that changes something).
    pub new_session: Option<String>,
}

/// The raw credential-bearing parts of a request. (`Debug` says which parts are present,
/// never their values.)
#[derive(Clone, Copy, Default)]
pub struct Credentials<'a> {
    /// The `Cookie` header's value, if the request has one.
    pub cookie_header: Option<&'a str>,
    /// The `Authorization` header's value, if any.
    pub authorization: Option<&'a str>,
    /// The raw query string (without or with its leading `?`).
    pub query: &'a str,
}

impl fmt::Debug for Authenticated {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Authenticated")
            .field("principal", &self.principal)
            .field(
                "new_session",
                &self.new_session.as_ref().map(|_| "<redacted>"),
            )
            .finish()
    }
}

impl fmt::Debug for Credentials<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let present = |o: Option<&str>| o.map(|_| "<present>");
        f.debug_struct("Credentials")
            .field("cookie_header", &present(self.cookie_header))
            .field("authorization", &present(self.authorization))
            .field(
                "query",
                &present(Some(self.query).filter(|q| !q.is_empty())),
            )
            .finish()
    }
}

struct CachedLogin {
    until: Instant,
    token: String,
}

/// Sessions, API keys and the admin account. `Send + Sync`.
pub struct Auth {
    store: Arc<Store>,
    admin_user: String,
    admin_user_digest: Digest,
    admin_hash: String,
    sessions: Sessions,
    keys: apikey::Keys,
    /// Random per process: the Basic cache's keys are SHA-256(pepper ‖ user ‖ 0 ‖ password).
    pepper: Digest,
    basic_cache: Mutex<HashMap<Digest, CachedLogin>>,
}

impl fmt::Debug for Auth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Auth")
            .field("admin_user", &self.admin_user)
            .finish_non_exhaustive()
    }
}

pub(crate) fn now_unix() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

impl Auth {
    /// Sets up the admin account and loads the API keys.
    ///
    /// `password` (from configuration or `AIRSIFT_ADMIN_PASSWORD`; the caller picks) is hashed
    /// with argon2id and stored, replacing any stored hash (an unchanged password keeps its
    /// hash); a previously generated `admin-password` file is then removed, since it no longer
    /// holds the password. With no password and a stored hash, the stored one is kept. With
    /// neither, a random 24-character password is generated, written to
    /// `<state_dir>/admin-password` (mode 0600) before its hash is stored, and that path is
    /// returned so the caller can say where it is.
    pub fn init(
        store: Arc<Store>,
        state_dir: &Path,
        admin_user: &str,
        password: Option<&str>,
    ) -> Result<(Auth, Option<PathBuf>), AuthError> {
        validate_user(admin_user)?;
        let file = state_dir.join(ADMIN_PASSWORD_FILE);
        let stored = store.setting(ADMIN_HASH_SETTING)?;
        let mut generated = None;
        let admin_hash = match (password, stored) {
            (Some(""), _) => {
                return Err(AuthError::BadRequest(
                    "the admin password must not be empty".into(),
                ))
            }
            (Some(pw), stored) => {
                let h = match stored {
                    Some(h) if password::verify(&h, pw.as_bytes()) => h,
                    _ => {
                        let h = password::hash(pw.as_bytes())?;
                        store.set_setting(ADMIN_HASH_SETTING, &h)?;
                        tracing::info!("admin password set from the configuration");
                        h
                    }
                };
                remove_stale_password_file(&file);
                h
            }
            (None, Some(h)) => {
                if !password::is_valid_hash(&h) {
                    return Err(AuthError::Store(StoreError::Db(format!(
                        "the stored admin password hash (setting {ADMIN_HASH_SETTING}) is unreadable; \
                         set a new password with AIRSIFT_ADMIN_PASSWORD or the configuration file"
                    ))));
                }
                h
            }
            (None, None) => {
                let pw = password::generate()?;
                // The file first: if we die between the two steps, the next start generates
                // again rather than leaving a stored hash whose password nobody has.
                ensure_dir(state_dir)?;
                password::write_file(&file, &pw).map_err(|e| {
                    AuthError::Store(StoreError::Io(format!(
                        "cannot write the generated admin password to {}: {e}",
                        file.display()
                    )))
                })?;
                let h = password::hash(pw.as_bytes())?;
                store.set_setting(ADMIN_HASH_SETTING, &h)?;
                generated = Some(file);
                h
            }
        };
        let keys = apikey::Keys::load(&store)?;
        let auth = Auth {
            admin_user: admin_user.to_string(),
            admin_user_digest: digest(admin_user.as_bytes()),
            admin_hash,
            sessions: Sessions::new(DEFAULT_SESSION_TTL),
            keys,
            pepper: secret::random_bytes::<32>()?,
            basic_cache: Mutex::new(HashMap::new()),
            store,
        };
        Ok((auth, generated))
    }

    /// Sessions minted from now on last `ttl` (default [`DEFAULT_SESSION_TTL`]).
    pub fn with_session_ttl(mut self, ttl: Duration) -> Auth {
        self.sessions.set_ttl(ttl);
        self
    }

    /// The admin user's name.
    pub fn admin_user(&self) -> &str {
        &self.admin_user
    }

    /// Who the request is, in Kismet's order (see the module documentation). A request that
    /// offers no credential (no non-empty `KISMET` value, no non-blank `Authorization`) gets
    /// [`AuthError::Missing`]; one whose credentials all fail gets [`AuthError::Invalid`].
    pub fn authenticate(&self, c: &Credentials<'_>) -> Result<Authenticated, AuthError> {
        let tokens: Vec<Cow<'_, str>> = match c.cookie_header {
            Some(h) => credentials::cookie_values(h, COOKIE_NAME)
                .take(MAX_CANDIDATES)
                .map(Cow::Borrowed)
                .collect(),
            None => credentials::query_values(c.query, COOKIE_NAME)
                .into_iter()
                .take(MAX_CANDIDATES)
                .map(Cow::Owned)
                .collect(),
        };
        let mut offered = false;
        let now = now_unix();
        for token in tokens.iter().filter(|t| !t.is_empty()) {
            offered = true;
            if let Some(principal) = self.check_token(token, now) {
                return Ok(Authenticated {
                    principal,
                    new_session: None,
                });
            }
        }
        if let Some(h) = c.authorization.filter(|h| !h.trim().is_empty()) {
            offered = true;
            if let Some(ok) = self.basic(h)? {
                return Ok(ok);
            }
        }
        Err(if offered {
            AuthError::Invalid
        } else {
            AuthError::Missing
        })
    }

    /// Ends every login session named in a `Cookie` header (a logout); API keys in it stay
    /// valid. Returns how many ended.
    pub fn end_sessions(&self, cookie_header: &str) -> usize {
        credentials::cookie_values(cookie_header, COOKIE_NAME)
            .take(MAX_CANDIDATES)
            .filter(|t| self.sessions.end(t))
            .count()
    }

    /// Live login sessions.
    pub fn session_count(&self) -> usize {
        self.sessions.count()
    }

    /// A session token or an API key.
    fn check_token(&self, token: &str, now: i64) -> Option<Principal> {
        let d = digest(token.as_bytes());
        self.sessions.check(&d).or_else(|| self.keys.check(&d, now))
    }

    /// HTTP Basic with the admin user and password; `None` if it does not match.
    fn basic(&self, header: &str) -> Result<Option<Authenticated>, AuthError> {
        let Some((user, pass)) = credentials::parse_basic(header) else {
            return Ok(None);
        };
        if user.is_empty() || pass.is_empty() {
            return Ok(None);
        }
        let principal = Principal {
            role: Role::Admin,
            name: self.admin_user.clone(),
        };
        let key = self.cache_key(&user, &pass);
        if let Some(token) = self.cached_login(&key) {
            return Ok(Some(Authenticated {
                principal,
                new_session: Some(token),
            }));
        }
        // Both checks always run, so timing does not tell a wrong user from a wrong password.
        let user_ok = same(&digest(&user), &self.admin_user_digest);
        let pass_ok = password::verify(&self.admin_hash, &pass);
        if !(user_ok & pass_ok) {
            return Ok(None);
        }
        let token = self.sessions.mint(principal.clone())?;
        self.remember_login(key, token.clone());
        Ok(Some(Authenticated {
            principal,
            new_session: Some(token),
        }))
    }

    fn cache_key(&self, user: &[u8], pass: &[u8]) -> Digest {
        let mut buf = Vec::with_capacity(32 + user.len() + 1 + pass.len());
        buf.extend_from_slice(&self.pepper);
        buf.extend_from_slice(user);
        buf.push(0);
        buf.extend_from_slice(pass);
        let d = digest(&buf);
        buf.fill(0);
        d
    }

    fn cache(&self) -> MutexGuard<'_, HashMap<Digest, CachedLogin>> {
        self.basic_cache
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// The session token of a recent successful login with these credentials, if its session
    /// is still live.
    fn cached_login(&self, key: &Digest) -> Option<String> {
        let token = {
            let cache = self.cache();
            let (k, c) = cache.get_key_value(key)?;
            if !same(k, key) || c.until <= Instant::now() {
                return None;
            }
            c.token.clone()
        };
        self.sessions.is_live(&token).then_some(token)
    }

    fn remember_login(&self, key: Digest, token: String) {
        let now = Instant::now();
        let mut cache = self.cache();
        cache.retain(|_, c| c.until > now);
        if cache.len() >= BASIC_CACHE_MAX {
            cache.clear();
        }
        cache.insert(
            key,
            CachedLogin {
                until: now + BASIC_CACHE_TTL,
                token,
            },
        );
    }
}

/// The admin user name: used in Basic, where a `:` would end it.
fn validate_user(user: &str) -> Result<(), AuthError> {
    if user.is_empty() {
        return Err(AuthError::BadRequest(
            "the admin user name must not be empty".into(),
        ));
    }
    if user.contains(':') || user.chars().any(char::is_control) {
        return Err(AuthError::BadRequest(format!(
            "the admin user name {user:?} must not contain ':' or control characters"
        )));
    }
    Ok(())
}

fn ensure_dir(dir: &Path) -> Result<(), AuthError> {
    use std::os::unix::fs::DirBuilderExt;
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|e| {
            AuthError::Store(StoreError::Io(format!(
                "cannot create the state directory {}: {e}",
                dir.display()
            )))
        })
}

/// A generated password file no longer holds the password once one is configured.
fn remove_stale_password_file(file: &Path) {
    match fs::remove_file(file) {
        Ok(()) => tracing::info!(file = %file.display(),
            "removed the generated admin password file: the configured password replaces it"),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => tracing::warn!(file = %file.display(), error = %e,
            "cannot remove the stale generated admin password file"),
    }
}

#[cfg(test)]
mod tests;
