//! The document model and the [`DocumentStore`] trait.
//!
//! # Model
//!
//! - A **document** is a JSON value addressed by `(kind, scope, key)`: kind `restapi`, scope `""`,
//!   key `a1b2c3`; kind `stage`, scope the API id, key the stage name. The store gives these
//!   strings no meaning; they are compared byte for byte.
//! - Each document has a **version**: 1 when created, +1 on every write. It is the document's
//!   ETag. Deleting a document forgets its version; re-creating it starts again at 1. Where an
//!   ETag must also tell a re-created document from the deleted one, use [`Doc::revision`] (never
//!   reused) instead.
//! - The store has one **revision**: +1 on every committed transaction that changed something.
//!   It never goes back, so "the data plane serves revision ≥ r" means it has seen every write
//!   acknowledged up to `r`.
//!
//! # Invariants
//!
//! 1. A transaction is all or nothing. A failed expectation, a store error or the closure's own
//!    abort rolls back every write the transaction made, and the revision is unchanged.
//! 2. [`DocumentStore::transact`] returns `Ok` only once the commit is durable.
//! 3. Once a write inside a transaction fails, the transaction is poisoned: whatever the closure
//!    then does or returns, nothing is committed and `transact` returns that first failure.

use std::fmt;

use serde_json::Value;

use crate::error::StoreError;

/// A stored document, as read.
#[derive(Debug, Clone, PartialEq)]
pub struct Doc {
    /// What sort of thing this is (`restapi`, `stage`, `apikey`, …).
    pub kind: String,
    /// The parent it lives under (an API id for a stage), or `""`.
    pub scope: String,
    /// Its identifier within `(kind, scope)`.
    pub key: String,
    /// The document itself; its shape is the control plane's business.
    pub body: Value,
    /// 1 on creation, +1 on every write: the document's ETag.
    pub version: u64,
    /// The store revision of the transaction that last wrote this document.
    pub revision: u64,
}

/// What a write inside a transaction expects to find, checked before it writes.
///
/// A broken expectation fails the write with [`StoreError::Conflict`] and aborts the whole
/// transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Expect {
    /// No check: create, overwrite or delete whatever is there.
    Any,
    /// The document must not exist (create only).
    Absent,
    /// The document must exist at exactly this version (an `If-Match` ETag, or the version a
    /// read-modify-write read).
    Version(u64),
}

impl fmt::Display for Expect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expect::Any => f.write_str("any"),
            Expect::Absent => f.write_str("no document"),
            Expect::Version(v) => write!(f, "version {v}"),
        }
    }
}

impl Expect {
    /// Whether a document found at `found` (`None`: absent) satisfies this expectation.
    pub fn holds(self, found: Option<u64>) -> bool {
        match self {
            Expect::Any => true,
            Expect::Absent => found.is_none(),
            Expect::Version(v) => found == Some(v),
        }
    }
}

/// Why a transaction's closure stopped: returned from [`Tx`] methods (use `?`) or made by the
/// closure itself.
#[derive(Debug)]
pub enum TxAbort {
    /// A [`Tx`] operation failed (a broken expectation, a store error). The error itself is kept
    /// by the transaction and is what [`DocumentStore::transact`] returns.
    Failed,
    /// The closure decided to abort, for its own reason (say, the parent API does not exist).
    /// `transact` returns it as [`StoreError::Aborted`].
    Cancelled(Box<dyn std::error::Error + Send + Sync + 'static>),
}

impl TxAbort {
    /// Abort the transaction for the caller's own reason.
    pub fn cancel(reason: impl Into<Box<dyn std::error::Error + Send + Sync + 'static>>) -> Self {
        TxAbort::Cancelled(reason.into())
    }
}

/// The operations available inside [`DocumentStore::transact`].
///
/// Reads see the transaction's own writes. Nothing is visible to other readers until the
/// transaction commits.
pub trait Tx {
    /// The document at `(kind, scope, key)`, if any.
    fn get(&mut self, kind: &str, scope: &str, key: &str) -> Result<Option<Doc>, TxAbort>;

    /// The documents of `kind` under `scope`, ordered by key.
    fn list(&mut self, kind: &str, scope: &str) -> Result<Vec<Doc>, TxAbort>;

    /// Create or replace a document, if `expect` holds. Returns the document's new version.
    fn put(
        &mut self,
        kind: &str,
        scope: &str,
        key: &str,
        body: &Value,
        expect: Expect,
    ) -> Result<u64, TxAbort>;

    /// [`Tx::put`] with the body given as JSON text, for a caller that serialises a large
    /// document straight from its own data rather than through a [`Value`] (the usage flush
    /// writes thousands of keys a second). The text is checked to be one JSON value.
    fn put_json(
        &mut self,
        kind: &str,
        scope: &str,
        key: &str,
        body: &str,
        expect: Expect,
    ) -> Result<u64, TxAbort>;

    /// Delete a document, if `expect` holds. Returns whether there was one to delete.
    /// (`Expect::Absent` holds only when there is nothing to delete.)
    fn delete(
        &mut self,
        kind: &str,
        scope: &str,
        key: &str,
        expect: Expect,
    ) -> Result<bool, TxAbort>;
}

/// Durable, transactional storage of JSON documents: the control plane's model state.
///
/// Every method may block on disk I/O. Call it from a blocking context (`spawn_blocking`, a
/// dedicated thread), never from an async task directly and never from the data plane.
pub trait DocumentStore: Send + Sync {
    /// The document at `(kind, scope, key)`, if any.
    fn get(&self, kind: &str, scope: &str, key: &str) -> Result<Option<Doc>, StoreError>;

    /// The documents of `kind` under `scope`, ordered by key.
    fn list(&self, kind: &str, scope: &str) -> Result<Vec<Doc>, StoreError>;

    /// Every document of `kind`, whatever its scope, ordered by scope, then key.
    fn list_kind(&self, kind: &str) -> Result<Vec<Doc>, StoreError>;

    /// Run `f` as one atomic, serialized transaction, and commit it if it returns `Ok`.
    ///
    /// Returns the store revision after the commit: one more than before if the transaction
    /// changed anything, unchanged if it wrote nothing. `Ok` is returned only once the commit is
    /// durable. On any error nothing is written and the revision is unchanged:
    /// - a [`Tx`] operation failed: that error ([`StoreError::Conflict`] for an expectation);
    /// - `f` returned [`TxAbort::Cancelled`]: [`StoreError::Aborted`].
    ///
    /// `f` runs once per call; the store does not retry it. On a `Conflict`, re-read and call
    /// `transact` again if the operation still makes sense.
    fn transact(
        &self,
        f: &mut dyn FnMut(&mut dyn Tx) -> Result<(), TxAbort>,
    ) -> Result<u64, StoreError>;

    /// The current store revision: the revision of the last committed change (0 for a new
    /// store).
    fn revision(&self) -> Result<u64, StoreError>;
}
