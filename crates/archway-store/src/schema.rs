//! The database schema and its forward migrations — the only place either is defined.
//!
//! The schema version is SQLite's `PRAGMA user_version` (0 in a new file). `MIGRATIONS[i]`
//! takes a database from version `i` to `i + 1`; all pending ones run in a single
//! `BEGIN IMMEDIATE` transaction that also sets `user_version`, so a crash mid-migration leaves
//! the old version intact. A database at a version above [`SCHEMA_VERSION`] was written by a
//! newer Archway and is refused untouched.
//!
//! Rules for adding a migration: append, never edit a released one; keep each one idempotent
//! under its own transaction; never drop data the previous version's readers need without a
//! conversion step.

/// The SQLite `application_id` stamped on Archway databases ("ARCH").
pub(crate) const APPLICATION_ID: i32 = 0x4152_4348;

/// Forward migrations; `MIGRATIONS[i]` upgrades version `i` to `i + 1`.
pub(crate) const MIGRATIONS: &[&str] = &[
    // 0 → 1: documents and the store revision.
    "
    CREATE TABLE docs (
        kind     TEXT    NOT NULL,
        scope    TEXT    NOT NULL,
        key      TEXT    NOT NULL,
        body     TEXT    NOT NULL,
        version  INTEGER NOT NULL CHECK (version >= 1),
        revision INTEGER NOT NULL CHECK (revision >= 1),
        PRIMARY KEY (kind, scope, key)
    ) WITHOUT ROWID;

    CREATE TABLE store_meta (
        id       INTEGER PRIMARY KEY CHECK (id = 1),
        revision INTEGER NOT NULL CHECK (revision >= 0)
    );
    INSERT INTO store_meta (id, revision) VALUES (1, 0);
    ",
];

/// The schema version this build reads and writes.
pub(crate) const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;
