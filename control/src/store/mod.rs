//! Durable state in one SQLite file, `<state_dir>/airsift.db`.
//!
//! Contract: a write method that returns `Ok` has committed its transaction with the journal
//! in WAL mode and `synchronous=FULL`, so the change survives the process being killed and —
//! as far as SQLite and the file system guarantee — power loss.
//!
//! The schema is versioned with `PRAGMA user_version` and built by the ordered migrations in
//! [`schema`]. Opening a file written by a newer build is refused without touching the file
//! ([`StoreError::NewerSchema`]); a file that fails `PRAGMA quick_check` is refused too.
//!
//! One connection behind a mutex: the control plane's writes are small and rare, and SQLite
//! serialises writers anyway. Every statement is short; nothing holds the lock across I/O other
//! than SQLite's own.

#![forbid(unsafe_code)]

mod filters;
mod keys;
mod outbox;
pub mod schema;
pub use outbox::{outbox_insert, outbox_trim, OutboxRow};
mod settings;
mod sources;

use std::fmt;
use std::fs;
use std::io;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use rusqlite::{Connection, ErrorCode, TransactionBehavior};

pub use filters::{StoredFilter, StoredTerm, TermChange};
pub use keys::ApiKeyRecord;
pub use schema::SUPPORTED_VERSION;
pub use sources::StoredSource;

/// The database's file name inside the state directory.
pub const DB_FILE: &str = "airsift.db";

/// SQLite's page cache, in KiB (`PRAGMA cache_size`; see [`Store::open`]).
pub const PAGE_CACHE_KIB: u32 = 2048;

/// How long a statement waits for a lock held by another connection (another process on the
/// same file) before giving up with an error.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// What went wrong with the state database. `Display` says what happened and what to do.
#[derive(Debug)]
pub enum StoreError {
    /// The file's schema is newer than this build understands; the file was not modified.
    NewerSchema {
        found: u32,
        supported: u32,
        path: PathBuf,
    },
    /// The write contradicts existing state (a duplicate name, ...); nothing was changed.
    Conflict(String),
    /// SQLite refused or failed: corruption, a full disk, a locked file, ...
    Db(String),
    /// The state directory or a file in it could not be created or read.
    Io(String),
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreError::NewerSchema {
                found,
                supported,
                path,
            } => write!(
                f,
                "the state database {} has schema version {found}, but this build of airsift \
                 supports at most version {supported}; the file was left untouched. Run the newer \
                 airsift that wrote it, or use another state directory",
                path.display()
            ),
            StoreError::Conflict(m) => f.write_str(m),
            StoreError::Db(m) => write!(f, "state database: {m}"),
            StoreError::Io(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for StoreError {}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        StoreError::Db(e.to_string())
    }
}

/// The durable state of one airsift instance. `Send + Sync`; share it in an `Arc`.
pub struct Store {
    conn: Mutex<Connection>,
    path: PathBuf,
}

impl fmt::Debug for Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Store")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl Store {
    /// Opens (creating if needed) `<state_dir>/airsift.db`, checks it, and brings its schema up
    /// to date. `state_dir` is created with mode 0700 if missing; the database file with 0600.
    pub fn open(state_dir: &Path) -> Result<Store, StoreError> {
        ensure_private_dir(state_dir)?;
        let path = state_dir.join(DB_FILE);
        precreate_private_file(&path)?;

        let mut conn = Connection::open(&path).map_err(|e| open_error(&path, e))?;
        conn.busy_timeout(BUSY_TIMEOUT)
            .map_err(|e| open_error(&path, e))?;

        // Read-only checks first: a file we must refuse is never written to.
        let found = schema::version(&conn).map_err(|e| open_error(&path, e))?;
        if found > SUPPORTED_VERSION {
            return Err(newer(found, &path));
        }
        quick_check(&conn, &path)?;

        // WAL + FULL: a commit is fsynced in the WAL before it returns.
        let mode: String = conn
            .pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0))
            .map_err(|e| open_error(&path, e))?;
        if !mode.eq_ignore_ascii_case("wal") {
            tracing::warn!(path = %path.display(), journal_mode = %mode,
                "SQLite could not use WAL on this file system; continuing with {mode} (still durable, slower)");
        }
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(|e| open_error(&path, e))?;
        conn.pragma_update(None, "foreign_keys", "ON")
            .map_err(|e| open_error(&path, e))?;
        // Memory: the one connection's page cache is the only part of SQLite that grows with
        // the data (the scan tables reach hundreds of MB), so it is bounded here rather than by
        // whatever default the linked SQLite was built with. 2 MiB holds every interior page
        // of a million-device table plus the leaves one checkpoint chunk touches; the journal
        // only appends. No memory-mapped I/O: file pages stay out of the process's memory.
        conn.pragma_update(None, "cache_size", -i64::from(PAGE_CACHE_KIB))
            .map_err(|e| open_error(&path, e))?;
        conn.pragma_update(None, "mmap_size", 0)
            .map_err(|e| open_error(&path, e))?;

        // Migrate under a write lock, re-reading the version: another process may have
        // migrated (or upgraded) the file since the check above.
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| open_error(&path, e))?;
        let current = schema::version(&tx).map_err(|e| open_error(&path, e))?;
        if current > SUPPORTED_VERSION {
            return Err(newer(current, &path)); // `tx` rolls back: nothing was written
        }
        let ran = schema::migrate(&tx, current)?;
        tx.commit().map_err(|e| open_error(&path, e))?;
        if ran > 0 {
            tracing::info!(path = %path.display(), from = current, to = SUPPORTED_VERSION,
                "state database schema migrated");
        }
        Ok(Store {
            conn: Mutex::new(conn),
            path,
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Runs `f` in one `IMMEDIATE` transaction: committed (durably) if `f` returns `Ok`, rolled
    /// back if it returns `Err` or panics. `f` must not call other `Store` methods (they would
    /// wait for the lock this call holds); use the transaction it is given.
    pub fn transaction<T>(
        &self,
        f: impl FnOnce(&rusqlite::Transaction<'_>) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let out = f(&tx)?; // on Err, dropping `tx` rolls back
        tx.commit()?;
        Ok(out)
    }

    /// The connection. A panic in another thread while it held the lock leaves the connection
    /// usable: an open transaction was rolled back when it was dropped during unwinding.
    fn conn(&self) -> MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

fn newer(found: u32, path: &Path) -> StoreError {
    StoreError::NewerSchema {
        found,
        supported: SUPPORTED_VERSION,
        path: path.to_path_buf(),
    }
}

/// Creates the state directory (and missing parents) with mode 0700. An existing directory is
/// left as it is.
fn ensure_private_dir(dir: &Path) -> Result<(), StoreError> {
    match fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
    {
        Ok(()) => {}
        Err(e) => {
            return Err(StoreError::Io(format!(
                "cannot create the state directory {}: {e}",
                dir.display()
            )))
        }
    }
    if !dir.is_dir() {
        return Err(StoreError::Io(format!(
            "the state directory {} is not a directory",
            dir.display()
        )));
    }
    Ok(())
}

/// Creates an empty database file with mode 0600 if there is none, so that SQLite (which
/// gives its `-wal` and `-shm` files the main file's mode) keeps everything private.
fn precreate_private_file(path: &Path) -> Result<(), StoreError> {
    match fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
    {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(StoreError::Io(format!(
            "cannot create the state database {}: {e}",
            path.display()
        ))),
    }
}

/// `PRAGMA quick_check`: refuses a damaged file with a message that says what to do.
fn quick_check(conn: &Connection, path: &Path) -> Result<(), StoreError> {
    let rows: Vec<String> = conn
        .prepare("PRAGMA quick_check")
        .and_then(|mut stmt| {
            stmt.query_map([], |r| r.get::<_, String>(0))?
                .take(5)
                .collect()
        })
        .map_err(|e| open_error(path, e))?;
    if rows.len() == 1 && rows[0] == "ok" {
        return Ok(());
    }
    Err(StoreError::Db(format!(
        "{} is damaged (quick_check: {}); it was not modified. Restore it from a backup, or move it \
         aside to start with an empty state (filters and API keys will be lost)",
        path.display(),
        rows.join("; ")
    )))
}

/// Turns an error met while opening into a message that names the file and the remedy.
fn open_error(path: &Path, e: rusqlite::Error) -> StoreError {
    let p = path.display();
    match e.sqlite_error_code() {
        Some(ErrorCode::NotADatabase) | Some(ErrorCode::DatabaseCorrupt) => {
            StoreError::Db(format!(
            "{p} is not a readable SQLite database ({e}); it was not modified. Restore it from a \
             backup, or move it aside to start with an empty state"
        ))
        }
        Some(ErrorCode::DatabaseBusy) | Some(ErrorCode::DatabaseLocked) => StoreError::Db(format!(
            "{p} is locked by another process ({e}); is another airsift using this state directory?"
        )),
        Some(ErrorCode::CannotOpen)
        | Some(ErrorCode::PermissionDenied)
        | Some(ErrorCode::ReadOnly) => StoreError::Io(format!(
            "cannot open {p} for writing ({e}); check its owner and permissions"
        )),
        _ => StoreError::Db(format!("{p}: {e}")),
    }
}

/// Whether a rusqlite error is a constraint violation (UNIQUE, PRIMARY KEY, NOT NULL, ...).
pub(crate) fn is_constraint(e: &rusqlite::Error) -> bool {
    e.sqlite_error_code() == Some(ErrorCode::ConstraintViolation)
}

#[cfg(test)]
pub(crate) mod testdir {
    //! A unique scratch directory under the system temp dir, removed when dropped.

    use std::path::{Path, PathBuf};
    use std::sync::atomic::{AtomicU64, Ordering};

    pub(crate) struct TestDir(PathBuf);

    impl TestDir {
        pub(crate) fn new(tag: &str) -> TestDir {
            static N: AtomicU64 = AtomicU64::new(0);
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or(0);
            let dir = std::env::temp_dir().join(format!(
                "airsift-test-{tag}-{}-{}-{nanos}",
                std::process::id(),
                N.fetch_add(1, Ordering::Relaxed)
            ));
            let _ = std::fs::remove_dir_all(&dir);
            TestDir(dir)
        }

        pub(crate) fn path(&self) -> &Path {
            &self.0
        }
    }

    impl Drop for TestDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::testdir::TestDir;
    use super::*;
    use serde_json::json;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn store_is_send_and_sync() {
        fn check<T: Send + Sync>() {}
        check::<Store>();
    }

    #[test]
    fn open_creates_private_dir_and_file_with_wal_full_sync_and_a_bounded_cache() {
        let t = TestDir::new("store-open");
        let dir = t.path().join("state");
        let s = Store::open(&dir).unwrap();
        assert_eq!(s.path(), dir.join(DB_FILE));
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&dir), 0o700);
        assert_eq!(mode(s.path()), 0o600);
        let conn = s.conn();
        let jm: String = conn
            .pragma_query_value(None, "journal_mode", |r| r.get(0))
            .unwrap();
        let sync: i64 = conn
            .pragma_query_value(None, "synchronous", |r| r.get(0))
            .unwrap();
        let ver = schema::version(&conn).unwrap();
        let cache: i64 = conn
            .pragma_query_value(None, "cache_size", |r| r.get(0))
            .unwrap();
        let mmap: i64 = conn
            .pragma_query_value(None, "mmap_size", |r| r.get(0))
            .unwrap();
        assert_eq!(jm, "wal");
        assert_eq!(sync, 2, "synchronous=FULL");
        assert_eq!(ver, SUPPORTED_VERSION);
        assert_eq!(
            cache,
            -i64::from(PAGE_CACHE_KIB),
            "page cache bounded in KiB"
        );
        assert_eq!(mmap, 0);
    }

    #[test]
    fn filters_round_trip_and_upsert() {
        let t = TestDir::new("store-filters");
        let s = Store::open(t.path()).unwrap();
        assert!(s.load_filters().unwrap().is_empty());
        let a = json!({"filter_id": "a", "filter_default": true, "filter_backing": {}});
        let b = json!({"filter_id": "b", "filter_default": false});
        s.save_filter("b", &b, 1).unwrap();
        s.save_filter("a", &a, 7).unwrap();
        let got = s.load_filters().unwrap();
        assert_eq!(got.len(), 2);
        assert_eq!(
            (got[0].id.as_str(), &got[0].doc, got[0].generation),
            ("a", &a, 7)
        );
        assert_eq!(
            (got[1].id.as_str(), &got[1].doc, got[1].generation),
            ("b", &b, 1)
        );
        let b2 = json!({"filter_id": "b", "filter_default": true});
        s.save_filter("b", &b2, 2).unwrap();
        let got = s.load_filters().unwrap();
        assert_eq!(got.len(), 2);
        assert_eq!((&got[1].doc, got[1].generation), (&b2, 2));
        assert!(
            s.save_filter("c", &b, u64::MAX).is_err(),
            "generation beyond i64 is refused"
        );
    }

    #[test]
    fn api_keys_round_trip_conflict_and_delete() {
        let t = TestDir::new("store-keys");
        let s = Store::open(t.path()).unwrap();
        let k1 = ApiKeyRecord {
            name: "reader".into(),
            role: "readonly".into(),
            hash: "aa".repeat(32),
            created: 100,
            expires: None,
        };
        let k2 = ApiKeyRecord {
            name: "scanner".into(),
            role: "scanreport".into(),
            hash: "bb".repeat(32),
            created: 200,
            expires: Some(300),
        };
        s.insert_api_key(&k1).unwrap();
        s.insert_api_key(&k2).unwrap();
        let dup = ApiKeyRecord {
            hash: "cc".repeat(32),
            ..k1.clone()
        };
        match s.insert_api_key(&dup) {
            Err(StoreError::Conflict(m)) => assert_eq!(m, "an API key named reader exists"),
            other => panic!("expected a conflict, got {other:?}"),
        }
        let same_hash = ApiKeyRecord {
            name: "other".into(),
            ..k2.clone()
        };
        assert!(matches!(
            s.insert_api_key(&same_hash),
            Err(StoreError::Conflict(_))
        ));
        assert_eq!(s.api_keys().unwrap(), vec![k1.clone(), k2.clone()]);
        assert!(s.delete_api_key("reader").unwrap());
        assert!(!s.delete_api_key("reader").unwrap());
        assert_eq!(s.api_keys().unwrap(), vec![k2]);
    }

    #[test]
    fn settings_round_trip() {
        let t = TestDir::new("store-settings");
        let s = Store::open(t.path()).unwrap();
        assert_eq!(s.setting("x").unwrap(), None);
        s.set_setting("x", "1").unwrap();
        s.set_setting("x", "2").unwrap();
        s.set_setting("y", "").unwrap();
        assert_eq!(s.setting("x").unwrap().as_deref(), Some("2"));
        assert_eq!(s.setting("y").unwrap().as_deref(), Some(""));
    }

    #[test]
    fn reopen_shows_every_write() {
        let t = TestDir::new("store-reopen");
        {
            let s = Store::open(t.path()).unwrap();
            s.save_filter("f", &json!({"n": 1}), 3).unwrap();
            s.set_setting("k", "v").unwrap();
            s.insert_api_key(&ApiKeyRecord {
                name: "n".into(),
                role: "admin".into(),
                hash: "01".repeat(32),
                created: 1,
                expires: Some(2),
            })
            .unwrap();
        }
        let s = Store::open(t.path()).unwrap();
        assert_eq!(s.load_filters().unwrap()[0].generation, 3);
        assert_eq!(s.setting("k").unwrap().as_deref(), Some("v"));
        assert_eq!(s.api_keys().unwrap()[0].expires, Some(2));
    }

    /// Child half of `writes_survive_abort`: writes, then dies without running any destructor
    /// (no connection close, no WAL checkpoint). Does nothing unless the parent started it.
    #[test]
    fn crash_child_writes_then_aborts() {
        let Some(dir) = std::env::var_os("AIRSIFT_STORE_CRASH_CHILD_DIR") else {
            return;
        };
        let s = Store::open(Path::new(&dir)).unwrap();
        for i in 0..20u64 {
            s.save_filter(&format!("f{i}"), &json!({ "i": i }), i)
                .unwrap();
        }
        s.set_setting("last", "written").unwrap();
        std::process::abort();
    }

    #[test]
    fn writes_survive_abort() {
        let t = TestDir::new("store-crash");
        Store::open(t.path()).unwrap();
        let status = std::process::Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "store::tests::crash_child_writes_then_aborts",
                "--test-threads=1",
            ])
            .env("AIRSIFT_STORE_CRASH_CHILD_DIR", t.path())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .unwrap();
        assert!(!status.success(), "the child must have aborted");
        let s = Store::open(t.path()).unwrap();
        assert_eq!(s.load_filters().unwrap().len(), 20);
        assert_eq!(s.setting("last").unwrap().as_deref(), Some("written"));
    }

    #[test]
    fn newer_schema_is_refused_and_file_untouched() {
        let t = TestDir::new("store-newer");
        {
            let s = Store::open(t.path()).unwrap();
            s.set_setting("k", "v").unwrap();
        }
        let path = t.path().join(DB_FILE);
        {
            let c = Connection::open(&path).unwrap();
            c.pragma_update(None, "user_version", SUPPORTED_VERSION + 5)
                .unwrap();
        } // last connection closed: WAL checkpointed into the main file
        let before = fs::read(&path).unwrap();
        match Store::open(t.path()) {
            Err(StoreError::NewerSchema {
                found,
                supported,
                path: p,
            }) => {
                assert_eq!(
                    (found, supported),
                    (SUPPORTED_VERSION + 5, SUPPORTED_VERSION)
                );
                assert_eq!(p, path);
                let msg = StoreError::NewerSchema {
                    found,
                    supported,
                    path: p,
                }
                .to_string();
                assert!(
                    msg.contains("untouched") && msg.contains(&path.display().to_string()),
                    "{msg}"
                );
            }
            other => panic!("expected NewerSchema, got {other:?}"),
        }
        assert_eq!(
            fs::read(&path).unwrap(),
            before,
            "a refused file is never modified"
        );
    }

    #[test]
    fn garbage_file_is_refused_and_untouched() {
        let t = TestDir::new("store-garbage");
        fs::create_dir_all(t.path()).unwrap();
        let path = t.path().join(DB_FILE);
        let garbage: Vec<u8> = (0..8192u32)
            .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
            .collect();
        fs::write(&path, &garbage).unwrap();
        let err = Store::open(t.path()).unwrap_err();
        let msg = err.to_string();
        assert!(matches!(err, StoreError::Db(_)), "{err:?}");
        assert!(
            msg.contains("not modified") && msg.contains("backup"),
            "{msg}"
        );
        assert_eq!(fs::read(&path).unwrap(), garbage);
    }

    #[test]
    fn damaged_page_fails_quick_check() {
        let t = TestDir::new("store-damaged");
        {
            let s = Store::open(t.path()).unwrap();
            s.transaction(|tx| {
                for i in 0..500 {
                    tx.execute(
                        "INSERT INTO settings(key, value) VALUES (?1, ?2)",
                        (format!("key{i:04}"), "x".repeat(200)),
                    )?;
                }
                Ok(())
            })
            .unwrap();
        }
        let path = t.path().join(DB_FILE);
        let mut bytes = fs::read(&path).unwrap();
        let page = 4096;
        assert!(bytes.len() > 8 * page);
        // Scribble over the header and cell pointers of a page in the middle of the file: a
        // leaf of the settings table or of its index.
        let mid = bytes.len() / page / 2 * page;
        for b in &mut bytes[mid..mid + 200] {
            *b = 0xa5;
        }
        fs::write(&path, &bytes).unwrap();
        let err = Store::open(t.path()).unwrap_err();
        assert!(matches!(err, StoreError::Db(_)), "{err:?}");
        assert_eq!(fs::read(&path).unwrap(), bytes);
    }

    #[test]
    fn migrations_are_idempotent() {
        let t = TestDir::new("store-migrate");
        {
            let s = Store::open(t.path()).unwrap();
            s.set_setting("kept", "yes").unwrap();
        }
        for _ in 0..3 {
            let s = Store::open(t.path()).unwrap();
            assert_eq!(schema::version(&s.conn()).unwrap(), SUPPORTED_VERSION);
            assert_eq!(s.setting("kept").unwrap().as_deref(), Some("yes"));
        }
        // Running the migrate step on an up-to-date file does nothing.
        let s = Store::open(t.path()).unwrap();
        let ran = s
            .transaction(|tx| schema::migrate(tx, SUPPORTED_VERSION))
            .unwrap();
        assert_eq!(ran, 0);
        let tables: i64 = s
            .conn()
            .query_row(
                "SELECT count(*) FROM sqlite_master WHERE type = 'table'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(
            tables, 9,
            "filters, api_keys, settings, the scan journal, devices and sources, capture \
             sources, the fleet's outbox, the filters' terms"
        );
    }

    #[test]
    fn failed_migration_leaves_version_unchanged() {
        let t = TestDir::new("store-migfail");
        let path = t.path().join(DB_FILE);
        fs::create_dir_all(t.path()).unwrap();
        {
            // A version-0 file that already has a `filters` table: migration 1 must fail whole.
            let c = Connection::open(&path).unwrap();
            c.execute_batch("CREATE TABLE filters(x); CREATE TABLE keepme(y);")
                .unwrap();
        }
        let err = Store::open(t.path()).unwrap_err();
        assert!(
            err.to_string().contains("migration to schema version 1"),
            "{err}"
        );
        let c = Connection::open(&path).unwrap();
        assert_eq!(schema::version(&c).unwrap(), 0);
        let n: i64 = c
            .query_row(
                "SELECT count(*) FROM sqlite_master WHERE name IN ('api_keys', 'settings')",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(n, 0, "no partial migration");
    }

    #[test]
    fn transaction_commits_or_rolls_back_whole() {
        let t = TestDir::new("store-tx");
        let s = Store::open(t.path()).unwrap();
        let r: Result<(), StoreError> = s.transaction(|tx| {
            tx.execute("INSERT INTO settings(key, value) VALUES ('a', '1')", [])?;
            tx.execute("INSERT INTO settings(key, value) VALUES ('b', '2')", [])?;
            Err(StoreError::Conflict("stop".into()))
        });
        assert!(matches!(r, Err(StoreError::Conflict(_))));
        assert_eq!(s.setting("a").unwrap(), None);
        assert_eq!(s.setting("b").unwrap(), None);

        // A failing statement inside also rolls back the earlier ones.
        let r = s.transaction(|tx| {
            tx.execute("INSERT INTO settings(key, value) VALUES ('a', '1')", [])?;
            tx.execute("INSERT INTO settings(key, value) VALUES ('b', NULL)", [])?;
            Ok(())
        });
        assert!(matches!(r, Err(StoreError::Db(_))));
        assert_eq!(s.setting("a").unwrap(), None);

        // A panic inside rolls back and leaves the store usable.
        let s = std::sync::Arc::new(s);
        let s2 = s.clone();
        let joined = std::thread::spawn(move || {
            let _ = s2.transaction(|tx| -> Result<(), StoreError> {
                tx.execute("INSERT INTO settings(key, value) VALUES ('p', '1')", [])?;
                panic!("boom");
            });
        })
        .join();
        assert!(joined.is_err());
        assert_eq!(s.setting("p").unwrap(), None);

        let n = s
            .transaction(|tx| {
                tx.execute("INSERT INTO settings(key, value) VALUES ('a', '1')", [])?;
                tx.execute("INSERT INTO settings(key, value) VALUES ('b', '2')", [])?;
                Ok(2)
            })
            .unwrap();
        assert_eq!(n, 2);
        assert_eq!(s.setting("b").unwrap().as_deref(), Some("2"));
    }
}
