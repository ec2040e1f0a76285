//! The store's one error type.

use std::fmt;
use std::path::PathBuf;

use crate::document::Expect;

/// Everything a store operation can fail with.
///
/// Every variant that concerns a file names it, so an operator reading the message knows which
/// file to look at. Sources are kept (`std::error::Error::source`).
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The data directory or database file could not be created or accessed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The directory or file concerned.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },

    /// The file is not a readable Archway database: not SQLite at all, damaged pages, or a
    /// document that no longer parses. Archway never overwrites or re-initialises such a file;
    /// restore it from a backup or move it away.
    #[error("{}: the database file is corrupt: {source}", path.display())]
    Corrupt {
        /// The database file.
        path: PathBuf,
        /// What was found wrong.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync + 'static>,
    },

    /// The file is a SQLite database that belongs to some other program.
    #[error(
        "{}: not an Archway database (SQLite application_id {application_id:#010x})",
        path.display()
    )]
    NotArchway {
        /// The database file.
        path: PathBuf,
        /// The `application_id` found in the file's header.
        application_id: i32,
    },

    /// The database was written by a newer Archway, with a schema this build does not know.
    /// It is left untouched.
    #[error(
        "{}: database schema version {found} is newer than this build of Archway supports \
         ({supported}); upgrade Archway or restore a backup",
        path.display()
    )]
    NewerSchema {
        /// The database file.
        path: PathBuf,
        /// The schema version found in the file (`PRAGMA user_version`).
        found: i64,
        /// The newest schema version this build can read and write.
        supported: i64,
    },

    /// A transaction's expectation about a document did not hold: another writer got there
    /// first. Nothing of the transaction was written. The control plane maps this to AWS's
    /// `ConflictException` (409), or to `412 Precondition Failed` for an `If-Match` request.
    #[error("conflict on {kind} {}: expected {expected}, found {}", DocAddr(scope, key), Found(*found))]
    Conflict {
        /// The document's kind.
        kind: String,
        /// The document's scope.
        scope: String,
        /// The document's key.
        key: String,
        /// What the transaction expected.
        expected: Expect,
        /// The version found, `None` if the document did not exist.
        found: Option<u64>,
    },

    /// The database stayed locked by another connection (another process) for longer than the
    /// busy timeout. Nothing was written; the operation may be retried.
    #[error("{}: database is busy (locked by another connection)", path.display())]
    Busy {
        /// The database file.
        path: PathBuf,
    },

    /// The transaction's closure aborted it with its own reason ([`crate::TxAbort::Cancelled`]).
    /// Nothing was written. The reason can be recovered with `downcast_ref`.
    #[error("transaction aborted: {0}")]
    Aborted(#[source] Box<dyn std::error::Error + Send + Sync + 'static>),

    /// The database could not be set up as the store requires (for example the file system
    /// does not support WAL mode).
    #[error("{}: {message}", path.display())]
    Setup {
        /// The database file.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },

    /// Any other error from SQLite (disk full, read-only file system, I/O error…).
    #[error("{}: {source}", path.display())]
    Sqlite {
        /// The database file.
        path: PathBuf,
        /// SQLite's error.
        #[source]
        source: rusqlite::Error,
    },
}

impl StoreError {
    /// Whether this is a [`StoreError::Conflict`]: a lost race that the caller may resolve by
    /// re-reading and retrying.
    pub fn is_conflict(&self) -> bool {
        matches!(self, StoreError::Conflict { .. })
    }
}

/// `scope/key`, or just `key` for an unscoped document.
struct DocAddr<'a>(&'a str, &'a str);

impl fmt::Display for DocAddr<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            write!(f, "{:?}", self.1)
        } else {
            write!(f, "{:?}/{:?}", self.0, self.1)
        }
    }
}

struct Found(Option<u64>);

impl fmt::Display for Found {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(v) => write!(f, "version {v}"),
            None => f.write_str("no document"),
        }
    }
}
