//! The embedded backend: one SQLite file, `archway.db`, in the data directory.

use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use rusqlite::{params, Connection, ErrorCode, OpenFlags, OptionalExtension};
use serde_json::Value;

use crate::document::{Doc, DocumentStore, Expect, Tx, TxAbort};
use crate::error::StoreError;
use crate::schema::{APPLICATION_ID, MIGRATIONS, SCHEMA_VERSION};

/// The database file's name inside the data directory.
pub const DB_FILE_NAME: &str = "archway.db";

/// The data directory used when none is configured, relative to the working directory.
pub const DEFAULT_DATA_DIR: &str = "./archway-data";

/// How long a connection waits for another process's lock before giving up with
/// [`StoreError::Busy`].
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// The embedded [`DocumentStore`]: a single SQLite database file in the data directory.
///
/// # Durability: WAL with `synchronous=FULL`
///
/// The file runs in write-ahead-log mode: a commit appends its pages to `archway.db-wal`, and
/// readers keep reading the last committed state while a writer works, so the admin API's reads
/// never wait on a write and a write never waits on a snapshot rebuild that is reading.
///
/// In WAL mode SQLite's default `synchronous=NORMAL` only `fsync`s the WAL at checkpoints: a
/// commit survives the process being killed (the pages are in the OS page cache) but the last
/// few commits can vanish if the machine loses power or the kernel crashes. That breaks "an
/// acknowledged write is never lost". With `synchronous=FULL` every commit `fsync`s the WAL
/// before `COMMIT` returns, so when [`DocumentStore::transact`] returns `Ok` the write is on
/// stable storage. The price — one `fsync` per transaction — is paid only by the control plane's
/// writes, which are rare and never on the request path. (`EXTRA` adds nothing in WAL mode
/// beyond directory syncs SQLite already does when it creates the WAL.) A crash mid-commit
/// leaves a torn frame at the WAL's tail, which SQLite's checksums discard on the next open: the
/// unacknowledged transaction is gone entirely, never half-applied.
///
/// # Connections and locking
///
/// Two connections, each behind a [`std::sync::Mutex`]: a writer, which runs every
/// [`transact`](DocumentStore::transact) (SQLite serializes writers anyway; the mutex makes them
/// queue in-process instead of spinning on the busy handler), and a reader for
/// [`get`](DocumentStore::get), [`list`](DocumentStore::list),
/// [`list_kind`](DocumentStore::list_kind) and [`revision`](DocumentStore::revision), so reads
/// do not queue behind a write's `fsync`. Every method blocks: the control plane calls the
/// store from a blocking context (`spawn_blocking` or its own thread), never from an async task
/// directly and never from the data plane. No lock is held beyond the call.
///
/// Other settings: `busy_timeout` of 5 s (another process holding the file, e.g. a backup, gives
/// [`StoreError::Busy`] after that), `foreign_keys=ON`, and the file is stamped with an
/// `application_id` so a foreign SQLite file is refused rather than written into.
pub struct SqliteStore {
    path: PathBuf,
    writer: Mutex<Connection>,
    reader: Mutex<Connection>,
}

impl fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqliteStore")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl SqliteStore {
    /// Open the store in `data_dir`, creating the directory (and its parents, mode 0700 on Unix
    /// when Archway creates it) and `archway.db` inside it on first start, and migrating an older
    /// schema forward.
    ///
    /// Refuses, leaving the file untouched: a file that is not a SQLite database or is damaged
    /// ([`StoreError::Corrupt`]), another program's SQLite database
    /// ([`StoreError::NotArchway`]), a database from a newer Archway
    /// ([`StoreError::NewerSchema`]). Runs SQLite's `quick_check` over the file, so damage is
    /// found at start-up rather than in the middle of an admin request.
    pub fn open(data_dir: &Path) -> Result<SqliteStore, StoreError> {
        create_data_dir(data_dir)?;
        let path = data_dir.join(DB_FILE_NAME);

        let writer = connect(&path, true)?;
        identify(&writer, &path)?;
        let mode: String = writer
            .pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))
            .map_err(|e| sql_err(&path, e))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(StoreError::Setup {
                path,
                message: format!(
                    "the file system does not support SQLite's WAL mode (journal_mode is {mode:?})"
                ),
            });
        }
        writer
            .pragma_update(None, "synchronous", "FULL")
            .map_err(|e| sql_err(&path, e))?;
        // Durability rests on these two; check SQLite took them rather than trust it did.
        let synchronous: i64 = writer
            .pragma_query_value(None, "synchronous", |row| row.get(0))
            .map_err(|e| sql_err(&path, e))?;
        let foreign_keys: i64 = writer
            .pragma_query_value(None, "foreign_keys", |row| row.get(0))
            .map_err(|e| sql_err(&path, e))?;
        if synchronous != 2 || foreign_keys != 1 {
            return Err(StoreError::Setup {
                path,
                message: format!(
                    "SQLite refused the store's settings (synchronous={synchronous}, \
                     foreign_keys={foreign_keys}; wanted 2 (FULL) and 1)"
                ),
            });
        }
        check(&writer, &path, "quick_check")?;
        migrate(&writer, &path)?;
        // The file's directory entry must be durable too, not just its contents.
        sync_dir(data_dir)?;

        let reader = connect(&path, false)?;
        reader
            .pragma_update(None, "query_only", true)
            .map_err(|e| sql_err(&path, e))?;

        Ok(SqliteStore {
            path,
            writer: Mutex::new(writer),
            reader: Mutex::new(reader),
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Run SQLite's full `integrity_check` over the file (slower than the `quick_check` done by
    /// [`open`](Self::open)). `Ok` means the file is sound; damage is [`StoreError::Corrupt`].
    pub fn integrity_check(&self) -> Result<(), StoreError> {
        let conn = lock(&self.reader);
        check(&conn, &self.path, "integrity_check")
    }
}

impl DocumentStore for SqliteStore {
    fn get(&self, kind: &str, scope: &str, key: &str) -> Result<Option<Doc>, StoreError> {
        let conn = lock(&self.reader);
        get_doc(&conn, &self.path, kind, scope, key)
    }

    fn list(&self, kind: &str, scope: &str) -> Result<Vec<Doc>, StoreError> {
        let conn = lock(&self.reader);
        list_docs(&conn, &self.path, kind, Some(scope))
    }

    fn list_kind(&self, kind: &str) -> Result<Vec<Doc>, StoreError> {
        let conn = lock(&self.reader);
        list_docs(&conn, &self.path, kind, None)
    }

    fn transact(
        &self,
        f: &mut dyn FnMut(&mut dyn Tx) -> Result<(), TxAbort>,
    ) -> Result<u64, StoreError> {
        let path = self.path.as_path();
        let conn = lock(&self.writer);
        // A closure that panicked mid-transaction poisoned the mutex; its transaction was rolled
        // back by the guard while unwinding, but make sure before starting another.
        if !conn.is_autocommit() {
            conn.execute_batch("ROLLBACK")
                .map_err(|e| sql_err(path, e))?;
        }
        conn.execute_batch("BEGIN IMMEDIATE")
            .map_err(|e| sql_err(path, e))?;
        let guard = RollbackGuard { conn: &conn };

        let current = read_revision(&conn, path)?;
        let next = current + 1;
        let mut tx = SqliteTx {
            conn: &conn,
            path,
            revision: next,
            changed: false,
            failure: None,
        };
        let outcome = f(&mut tx);
        if let Some(err) = tx.failure.take() {
            return Err(err);
        }
        match outcome {
            Ok(()) => {}
            Err(TxAbort::Cancelled(reason)) => return Err(StoreError::Aborted(reason)),
            Err(TxAbort::Failed) => return Err(StoreError::Aborted("transaction aborted".into())),
        }
        if !tx.changed {
            // Read-only: nothing to commit; the guard ends the transaction.
            return Ok(current);
        }
        let next_i = to_i64(path, next)?;
        conn.execute(
            "UPDATE store_meta SET revision = ?1 WHERE id = 1",
            params![next_i],
        )
        .map_err(|e| sql_err(path, e))?;
        // With synchronous=FULL, COMMIT returns only after the WAL is fsynced.
        conn.execute_batch("COMMIT").map_err(|e| sql_err(path, e))?;
        drop(guard);
        Ok(next)
    }

    fn revision(&self) -> Result<u64, StoreError> {
        let conn = lock(&self.reader);
        read_revision(&conn, &self.path)
    }
}

/// A transaction on the writer connection.
struct SqliteTx<'a> {
    conn: &'a Connection,
    path: &'a Path,
    /// The revision this transaction commits as.
    revision: u64,
    changed: bool,
    /// The first failure; once set, the transaction is poisoned.
    failure: Option<StoreError>,
}

impl SqliteTx<'_> {
    fn live(&self) -> Result<(), TxAbort> {
        if self.failure.is_some() {
            Err(TxAbort::Failed)
        } else {
            Ok(())
        }
    }

    fn fail<T>(&mut self, err: StoreError) -> Result<T, TxAbort> {
        self.failure.get_or_insert(err);
        Err(TxAbort::Failed)
    }

    fn check_expectation(
        &mut self,
        kind: &str,
        scope: &str,
        key: &str,
        expect: Expect,
    ) -> Result<Option<u64>, TxAbort> {
        let found = match current_version(self.conn, self.path, kind, scope, key) {
            Ok(found) => found,
            Err(e) => return self.fail(e),
        };
        if expect.holds(found) {
            Ok(found)
        } else {
            self.fail(StoreError::Conflict {
                kind: kind.to_owned(),
                scope: scope.to_owned(),
                key: key.to_owned(),
                expected: expect,
                found,
            })
        }
    }
}

impl SqliteTx<'_> {
    /// Writes a document's JSON text, if `expect` holds.
    fn write(
        &mut self,
        kind: &str,
        scope: &str,
        key: &str,
        text: &str,
        expect: Expect,
    ) -> Result<u64, TxAbort> {
        self.live()?;
        let found = self.check_expectation(kind, scope, key, expect)?;
        let version = found.map_or(1, |v| v.saturating_add(1));
        let (version_i, revision_i) =
            match (to_i64(self.path, version), to_i64(self.path, self.revision)) {
                (Ok(v), Ok(r)) => (v, r),
                (Err(e), _) | (_, Err(e)) => return self.fail(e),
            };
        let written = self
            .conn
            .prepare_cached(
                "INSERT INTO docs (kind, scope, key, body, version, revision)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT (kind, scope, key) DO UPDATE
                 SET body = excluded.body, version = excluded.version,
                     revision = excluded.revision",
            )
            .and_then(|mut stmt| {
                stmt.execute(params![kind, scope, key, text, version_i, revision_i])
            });
        match written {
            Ok(_) => {
                self.changed = true;
                Ok(version)
            }
            Err(e) => self.fail(sql_err(self.path, e)),
        }
    }
}

impl Tx for SqliteTx<'_> {
    fn get(&mut self, kind: &str, scope: &str, key: &str) -> Result<Option<Doc>, TxAbort> {
        self.live()?;
        get_doc(self.conn, self.path, kind, scope, key).or_else(|e| self.fail(e))
    }

    fn list(&mut self, kind: &str, scope: &str) -> Result<Vec<Doc>, TxAbort> {
        self.live()?;
        list_docs(self.conn, self.path, kind, Some(scope)).or_else(|e| self.fail(e))
    }

    fn put(
        &mut self,
        kind: &str,
        scope: &str,
        key: &str,
        body: &Value,
        expect: Expect,
    ) -> Result<u64, TxAbort> {
        match serde_json::to_string(body) {
            Ok(text) => self.write(kind, scope, key, &text, expect),
            Err(e) => self.fail(StoreError::Aborted(Box::new(e))),
        }
    }

    fn put_json(
        &mut self,
        kind: &str,
        scope: &str,
        key: &str,
        body: &str,
        expect: Expect,
    ) -> Result<u64, TxAbort> {
        // Every reader parses what is stored: text that is not one JSON value never gets in.
        if let Err(e) = serde_json::from_str::<serde::de::IgnoredAny>(body) {
            return self.fail(StoreError::Aborted(Box::new(e)));
        }
        self.write(kind, scope, key, body, expect)
    }
    fn delete(
        &mut self,
        kind: &str,
        scope: &str,
        key: &str,
        expect: Expect,
    ) -> Result<bool, TxAbort> {
        self.live()?;
        if self.check_expectation(kind, scope, key, expect)?.is_none() {
            return Ok(false);
        }
        let deleted = self
            .conn
            .prepare_cached("DELETE FROM docs WHERE kind = ?1 AND scope = ?2 AND key = ?3")
            .and_then(|mut stmt| stmt.execute(params![kind, scope, key]));
        match deleted {
            Ok(n) => {
                self.changed |= n > 0;
                Ok(n > 0)
            }
            Err(e) => self.fail(sql_err(self.path, e)),
        }
    }
}

/// Rolls back the writer's open transaction, if any, when dropped: on every early return and
/// while unwinding from a panicking closure. After a successful `COMMIT` there is none.
struct RollbackGuard<'a> {
    conn: &'a Connection,
}

impl Drop for RollbackGuard<'_> {
    fn drop(&mut self) {
        if !self.conn.is_autocommit() {
            // Nothing useful to do with a failure here: SQLite rolls back an unfinished
            // transaction itself when the connection closes or the next BEGIN finds it open.
            let _ = self.conn.execute_batch("ROLLBACK");
        }
    }
}

/// Lock a connection, recovering from poisoning: the connection itself stays consistent
/// (SQLite's own transactions guard it), and the writer is re-checked before each use.
fn lock(m: &Mutex<Connection>) -> MutexGuard<'_, Connection> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

fn create_data_dir(dir: &Path) -> Result<(), StoreError> {
    if dir.is_dir() {
        return Ok(());
    }
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        // The database holds API key values and other secrets.
        builder.mode(0o700);
    }
    builder.create(dir).map_err(|source| StoreError::Io {
        path: dir.to_owned(),
        source,
    })?;
    // Make the new directory's own entry durable.
    match dir.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => sync_dir(parent),
        _ => Ok(()),
    }
}

/// `fsync` a directory, so the entries in it survive a power loss.
fn sync_dir(dir: &Path) -> Result<(), StoreError> {
    #[cfg(unix)]
    {
        fs::File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(|source| StoreError::Io {
                path: dir.to_owned(),
                source,
            })
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
        Ok(())
    }
}

fn connect(path: &Path, create: bool) -> Result<Connection, StoreError> {
    let mut flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    if create {
        flags |= OpenFlags::SQLITE_OPEN_CREATE;
    }
    let conn = Connection::open_with_flags(path, flags).map_err(|e| sql_err(path, e))?;
    conn.busy_timeout(BUSY_TIMEOUT)
        .map_err(|e| sql_err(path, e))?;
    conn.pragma_update(None, "foreign_keys", true)
        .map_err(|e| sql_err(path, e))?;
    Ok(conn)
}

/// Refuse a file that is not ours, or is from a newer Archway, before changing anything in it.
fn identify(conn: &Connection, path: &Path) -> Result<(), StoreError> {
    let application_id: i32 = conn
        .pragma_query_value(None, "application_id", |row| row.get(0))
        .map_err(|e| sql_err(path, e))?;
    let user_version: i64 = conn
        .pragma_query_value(None, "user_version", |row| row.get(0))
        .map_err(|e| sql_err(path, e))?;
    let objects: i64 = conn
        .query_row("SELECT count(*) FROM sqlite_schema", [], |row| row.get(0))
        .map_err(|e| sql_err(path, e))?;
    let ours = application_id == APPLICATION_ID;
    let empty = application_id == 0 && user_version == 0 && objects == 0;
    if !ours && !empty {
        return Err(StoreError::NotArchway {
            path: path.to_owned(),
            application_id,
        });
    }
    if user_version > SCHEMA_VERSION {
        return Err(StoreError::NewerSchema {
            path: path.to_owned(),
            found: user_version,
            supported: SCHEMA_VERSION,
        });
    }
    Ok(())
}

/// Bring the schema up to [`SCHEMA_VERSION`], all pending migrations in one transaction.
fn migrate(conn: &Connection, path: &Path) -> Result<(), StoreError> {
    conn.execute_batch("BEGIN IMMEDIATE")
        .map_err(|e| sql_err(path, e))?;
    let guard = RollbackGuard { conn };
    // Re-read under the write lock: another process may have migrated meanwhile.
    identify(conn, path)?;
    let found: i64 = conn
        .pragma_query_value(None, "user_version", |row| row.get(0))
        .map_err(|e| sql_err(path, e))?;
    if found == SCHEMA_VERSION {
        return Ok(());
    }
    let start = usize::try_from(found).map_err(|_| corrupt(path, "negative schema version"))?;
    for migration in MIGRATIONS.iter().skip(start) {
        conn.execute_batch(migration)
            .map_err(|e| sql_err(path, e))?;
    }
    conn.pragma_update(None, "application_id", APPLICATION_ID)
        .map_err(|e| sql_err(path, e))?;
    conn.pragma_update(None, "user_version", SCHEMA_VERSION)
        .map_err(|e| sql_err(path, e))?;
    conn.execute_batch("COMMIT").map_err(|e| sql_err(path, e))?;
    drop(guard);
    Ok(())
}

/// Run `PRAGMA quick_check` or `PRAGMA integrity_check`; anything but `ok` is corruption.
fn check(conn: &Connection, path: &Path, pragma: &str) -> Result<(), StoreError> {
    let mut problems = Vec::new();
    conn.pragma_query(None, pragma, |row| {
        problems.push(row.get::<_, String>(0)?);
        Ok(())
    })
    .map_err(|e| sql_err(path, e))?;
    if problems.len() == 1 && problems[0] == "ok" {
        Ok(())
    } else {
        Err(corrupt(
            path,
            format!("{pragma} failed: {}", problems.join("; ")),
        ))
    }
}

fn read_revision(conn: &Connection, path: &Path) -> Result<u64, StoreError> {
    let revision: Option<i64> = conn
        .prepare_cached("SELECT revision FROM store_meta WHERE id = 1")
        .and_then(|mut stmt| stmt.query_row([], |row| row.get(0)).optional())
        .map_err(|e| sql_err(path, e))?;
    let revision = revision.ok_or_else(|| corrupt(path, "the store revision row is missing"))?;
    u64::try_from(revision).map_err(|_| corrupt(path, format!("negative revision {revision}")))
}

fn current_version(
    conn: &Connection,
    path: &Path,
    kind: &str,
    scope: &str,
    key: &str,
) -> Result<Option<u64>, StoreError> {
    let version: Option<i64> = conn
        .prepare_cached("SELECT version FROM docs WHERE kind = ?1 AND scope = ?2 AND key = ?3")
        .and_then(|mut stmt| {
            stmt.query_row(params![kind, scope, key], |row| row.get(0))
                .optional()
        })
        .map_err(|e| sql_err(path, e))?;
    version
        .map(|v| stored_u64(path, kind, scope, key, "version", v))
        .transpose()
}

/// A row of `docs` as stored, before its fields are checked.
type RawDoc = (String, String, String, String, i64, i64);

fn get_doc(
    conn: &Connection,
    path: &Path,
    kind: &str,
    scope: &str,
    key: &str,
) -> Result<Option<Doc>, StoreError> {
    let raw: Option<RawDoc> = conn
        .prepare_cached(
            "SELECT kind, scope, key, body, version, revision FROM docs
             WHERE kind = ?1 AND scope = ?2 AND key = ?3",
        )
        .and_then(|mut stmt| {
            stmt.query_row(params![kind, scope, key], raw_doc)
                .optional()
        })
        .map_err(|e| sql_err(path, e))?;
    raw.map(|raw| to_doc(path, raw)).transpose()
}

fn list_docs(
    conn: &Connection,
    path: &Path,
    kind: &str,
    scope: Option<&str>,
) -> Result<Vec<Doc>, StoreError> {
    let raws: Vec<RawDoc> = match scope {
        Some(scope) => conn
            .prepare_cached(
                "SELECT kind, scope, key, body, version, revision FROM docs
                 WHERE kind = ?1 AND scope = ?2 ORDER BY key",
            )
            .and_then(|mut stmt| {
                stmt.query_map(params![kind, scope], raw_doc)?
                    .collect::<Result<_, _>>()
            }),
        None => conn
            .prepare_cached(
                "SELECT kind, scope, key, body, version, revision FROM docs
                 WHERE kind = ?1 ORDER BY scope, key",
            )
            .and_then(|mut stmt| {
                stmt.query_map(params![kind], raw_doc)?
                    .collect::<Result<_, _>>()
            }),
    }
    .map_err(|e| sql_err(path, e))?;
    raws.into_iter().map(|raw| to_doc(path, raw)).collect()
}

fn raw_doc(row: &rusqlite::Row<'_>) -> rusqlite::Result<RawDoc> {
    Ok((
        row.get(0)?,
        row.get(1)?,
        row.get(2)?,
        row.get(3)?,
        row.get(4)?,
        row.get(5)?,
    ))
}

fn to_doc(path: &Path, raw: RawDoc) -> Result<Doc, StoreError> {
    let (kind, scope, key, body, version, revision) = raw;
    let body: Value = serde_json::from_str(&body).map_err(|e| {
        corrupt(
            path,
            format!(
                "document {kind} {:?}/{:?} is not valid JSON: {e}",
                scope, key
            ),
        )
    })?;
    let version = stored_u64(path, &kind, &scope, &key, "version", version)?;
    let revision = stored_u64(path, &kind, &scope, &key, "revision", revision)?;
    Ok(Doc {
        kind,
        scope,
        key,
        body,
        version,
        revision,
    })
}

/// A stored version or revision: always ≥ 1.
fn stored_u64(
    path: &Path,
    kind: &str,
    scope: &str,
    key: &str,
    what: &str,
    value: i64,
) -> Result<u64, StoreError> {
    match u64::try_from(value) {
        Ok(v) if v >= 1 => Ok(v),
        _ => Err(corrupt(
            path,
            format!("document {kind} {scope:?}/{key:?} has {what} {value}"),
        )),
    }
}

fn to_i64(path: &Path, value: u64) -> Result<i64, StoreError> {
    i64::try_from(value).map_err(|_| corrupt(path, format!("counter overflow at {value}")))
}

fn corrupt(path: &Path, message: impl Into<String>) -> StoreError {
    StoreError::Corrupt {
        path: path.to_owned(),
        source: message.into().into(),
    }
}

/// Classify a SQLite error: damage and foreign files are [`StoreError::Corrupt`], lock
/// contention is [`StoreError::Busy`], a stored value of the wrong type is corruption too.
fn sql_err(path: &Path, err: rusqlite::Error) -> StoreError {
    match err.sqlite_error_code() {
        Some(ErrorCode::DatabaseCorrupt | ErrorCode::NotADatabase) => StoreError::Corrupt {
            path: path.to_owned(),
            source: Box::new(err),
        },
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => StoreError::Busy {
            path: path.to_owned(),
        },
        _ => match err {
            rusqlite::Error::FromSqlConversionFailure(..)
            | rusqlite::Error::InvalidColumnType(..)
            | rusqlite::Error::IntegralValueOutOfRange(..) => StoreError::Corrupt {
                path: path.to_owned(),
                source: Box::new(err),
            },
            err => StoreError::Sqlite {
                path: path.to_owned(),
                source: err,
            },
        },
    }
}
