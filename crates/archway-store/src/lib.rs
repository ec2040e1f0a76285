//! `archway-store` — Archway's state layer.
//!
//! Owns:
//! - **Durable model state** ([`DocumentStore`]): every API, resource, method, route,
//!   integration, deployment, stage, usage plan, API key… that the control plane writes. The store
//!   is model-agnostic: it keeps JSON documents addressed by `(kind, scope, key)`, each with a
//!   per-document `version` (an ETag) and a global, monotonically increasing store `revision`.
//!   The control plane (`archway-control`) decides the documents' shapes and is the only writer.
//! - The **embedded backend** [`SqliteStore`]: one SQLite file, `archway.db`, in the data
//!   directory (default `./archway-data`), created on first start. WAL mode with
//!   `synchronous=FULL`: see [`SqliteStore`] and `docs/store.md` for why.
//! - Later: the counter (rate limits, quotas, usage), response-cache and WebSocket
//!   connection-registry traits, with in-process embedded backends and a Redis cluster backend.
//!
//! Must never:
//! - **lose an acknowledged write**: [`DocumentStore::transact`] returns `Ok` only after the
//!   commit is on stable storage; a transaction that fails (a broken expectation, an I/O error, a
//!   caller's abort) writes nothing at all;
//! - **hold a lock across an `.await`, or sit on the data plane's request path**: every method is
//!   synchronous and may block on disk I/O (an `fsync` per commit). The control plane calls it
//!   from a blocking context (`tokio::task::spawn_blocking` or a dedicated thread); the data plane
//!   never calls it at all — it serves from the compiled, immutable snapshot the control plane
//!   builds from the store;
//! - **panic on what it reads from disk**: a damaged or foreign file, an unparseable document or
//!   a schema from a newer Archway is a [`StoreError`] naming the file
//!   ([`StoreError::Corrupt`], [`StoreError::NotArchway`], [`StoreError::NewerSchema`]), never a
//!   panic and never a silent re-initialisation.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod document;
mod error;
mod schema;
mod sqlite;

pub use document::{Doc, DocumentStore, Expect, Tx, TxAbort};
pub use error::StoreError;
pub use sqlite::{SqliteStore, DB_FILE_NAME, DEFAULT_DATA_DIR};
