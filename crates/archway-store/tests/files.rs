//! The database file: creation, reopening, schema versions, and files that are not ours.

use std::path::Path;

use archway_store::{DocumentStore, Expect, SqliteStore, StoreError, DB_FILE_NAME};
use serde_json::json;

fn raw(dir: &Path) -> rusqlite::Connection {
    rusqlite::Connection::open(dir.join(DB_FILE_NAME)).unwrap()
}

#[test]
fn creates_the_directory_and_its_parents() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("a/b/archway-data");
    let store = SqliteStore::open(&dir).unwrap();
    assert_eq!(store.path(), dir.join("archway.db"));
    assert!(dir.join("archway.db").is_file());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&dir).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "data dir is private: {mode:o}");
    }
    drop(store);
    let conn = raw(&dir);
    let mode: String = conn
        .pragma_query_value(None, "journal_mode", |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
    let version: i64 = conn
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .unwrap();
    assert_eq!(version, 1);
}

#[test]
fn reopening_keeps_everything() {
    let tmp = tempfile::tempdir().unwrap();
    {
        let store = SqliteStore::open(tmp.path()).unwrap();
        for i in 0..20 {
            store
                .transact(&mut |tx| {
                    tx.put(
                        "restapi",
                        "",
                        &format!("api{i:02}"),
                        &json!({"i": i}),
                        Expect::Absent,
                    )?;
                    tx.put(
                        "stage",
                        &format!("api{i:02}"),
                        "prod",
                        &json!({"i": i}),
                        Expect::Any,
                    )?;
                    Ok(())
                })
                .unwrap();
        }
        store
            .transact(&mut |tx| {
                tx.put(
                    "restapi",
                    "",
                    "api00",
                    &json!({"updated": true}),
                    Expect::Version(1),
                )?;
                Ok(())
            })
            .unwrap();
    }
    let store = SqliteStore::open(tmp.path()).unwrap();
    assert_eq!(store.revision().unwrap(), 21);
    assert_eq!(store.list("restapi", "").unwrap().len(), 20);
    assert_eq!(store.list_kind("stage").unwrap().len(), 20);
    let doc = store.get("restapi", "", "api00").unwrap().unwrap();
    assert_eq!(
        (doc.body, doc.version, doc.revision),
        (json!({"updated": true}), 2, 21)
    );
    assert_eq!(
        store.get("stage", "api13", "prod").unwrap().unwrap().body,
        json!({"i": 13})
    );
    store.integrity_check().unwrap();
    // And it goes on counting from where it was.
    let rev = store
        .transact(&mut |tx| {
            tx.delete("restapi", "", "api01", Expect::Version(1))?;
            Ok(())
        })
        .unwrap();
    assert_eq!(rev, 22);
}

#[test]
fn two_stores_on_one_file_see_each_other() {
    // Not how Archway runs, but a second process (a CLI, a backup) must not break the first.
    let tmp = tempfile::tempdir().unwrap();
    let a = SqliteStore::open(tmp.path()).unwrap();
    let b = SqliteStore::open(tmp.path()).unwrap();
    a.transact(&mut |tx| {
        tx.put("k", "", "x", &json!(1), Expect::Absent)?;
        Ok(())
    })
    .unwrap();
    assert_eq!(b.get("k", "", "x").unwrap().unwrap().version, 1);
    let err = b
        .transact(&mut |tx| {
            tx.put("k", "", "x", &json!(2), Expect::Absent)?;
            Ok(())
        })
        .unwrap_err();
    assert!(err.is_conflict());
    assert_eq!(b.revision().unwrap(), 1);
}

#[test]
fn a_newer_schema_is_refused_untouched() {
    let tmp = tempfile::tempdir().unwrap();
    drop(SqliteStore::open(tmp.path()).unwrap());
    raw(tmp.path())
        .pragma_update(None, "user_version", 7)
        .unwrap();
    let before = std::fs::read(tmp.path().join(DB_FILE_NAME)).unwrap();

    let err = SqliteStore::open(tmp.path()).unwrap_err();
    match &err {
        StoreError::NewerSchema {
            path,
            found,
            supported,
        } => {
            assert_eq!(path, &tmp.path().join(DB_FILE_NAME));
            assert_eq!((*found, *supported), (7, 1));
        }
        other => panic!("expected NewerSchema, got {other:?}"),
    }
    let message = err.to_string();
    assert!(message.contains("archway.db"), "{message}");
    assert!(message.contains("schema version 7"), "{message}");
    assert_eq!(
        std::fs::read(tmp.path().join(DB_FILE_NAME)).unwrap(),
        before
    );
}

#[test]
fn a_garbage_file_is_corrupt_and_named() {
    let tmp = tempfile::tempdir().unwrap();
    let garbage: Vec<u8> = (0..64 * 1024u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    std::fs::write(tmp.path().join(DB_FILE_NAME), &garbage).unwrap();

    let err = SqliteStore::open(tmp.path()).unwrap_err();
    let StoreError::Corrupt { path, .. } = &err else {
        panic!("expected Corrupt, got {err:?}");
    };
    assert_eq!(path, &tmp.path().join(DB_FILE_NAME));
    let message = err.to_string();
    assert!(
        message.contains(&tmp.path().join("archway.db").display().to_string()),
        "{message}"
    );
    assert!(message.contains("corrupt"), "{message}");
    // The file was left as it was.
    assert_eq!(
        std::fs::read(tmp.path().join(DB_FILE_NAME)).unwrap(),
        garbage
    );
}

#[test]
fn a_damaged_database_is_corrupt_not_a_panic() {
    let tmp = tempfile::tempdir().unwrap();
    {
        let store = SqliteStore::open(tmp.path()).unwrap();
        for i in 0..200 {
            store
                .transact(&mut |tx| {
                    tx.put(
                        "k",
                        "",
                        &format!("{i:05}"),
                        &json!({"pad": "x".repeat(500)}),
                        Expect::Any,
                    )?;
                    Ok(())
                })
                .unwrap();
        }
    } // closing checkpoints the WAL into the main file
    let file = tmp.path().join(DB_FILE_NAME);
    let mut bytes = std::fs::read(&file).unwrap();
    assert!(bytes.len() > 8 * 4096);
    // Scribble over every page but the first (the header and schema stay readable).
    for (i, b) in bytes.iter_mut().enumerate().skip(4096) {
        *b = (i % 251) as u8;
    }
    std::fs::write(&file, &bytes).unwrap();

    let err = SqliteStore::open(tmp.path()).unwrap_err();
    assert!(
        matches!(&err, StoreError::Corrupt { path, .. } if path == &file),
        "{err:?}"
    );
}

#[test]
fn an_unparseable_document_is_corrupt() {
    let tmp = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(tmp.path()).unwrap();
    store
        .transact(&mut |tx| {
            tx.put("restapi", "", "a", &json!({}), Expect::Absent)?;
            Ok(())
        })
        .unwrap();
    raw(tmp.path())
        .execute("UPDATE docs SET body = '{not json' WHERE key = 'a'", [])
        .unwrap();
    let err = store.get("restapi", "", "a").unwrap_err();
    assert!(matches!(err, StoreError::Corrupt { .. }), "{err:?}");
    let message = err.to_string();
    assert!(
        message.contains("archway.db") && message.contains("restapi"),
        "{message}"
    );
    assert!(matches!(
        store.list_kind("restapi"),
        Err(StoreError::Corrupt { .. })
    ));

    // A value the schema's CHECK would refuse, written by something that bypassed it.
    let conn = raw(tmp.path());
    conn.pragma_update(None, "ignore_check_constraints", true)
        .unwrap();
    conn.execute(
        "UPDATE docs SET body = '{}', version = -3 WHERE key = 'a'",
        [],
    )
    .unwrap();
    assert!(matches!(
        store.get("restapi", "", "a"),
        Err(StoreError::Corrupt { .. })
    ));
}

#[test]
fn another_programs_database_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    raw(tmp.path())
        .execute_batch("CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT);")
        .unwrap();
    let err = SqliteStore::open(tmp.path()).unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::NotArchway {
                application_id: 0,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("not an Archway database"), "{err}");
    // Untouched: no tables of ours were added.
    let tables: i64 = raw(tmp.path())
        .query_row(
            "SELECT count(*) FROM sqlite_schema WHERE name = 'docs'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(tables, 0);
}

#[test]
fn a_data_dir_that_is_a_file_is_an_io_error() {
    let tmp = tempfile::tempdir().unwrap();
    let not_dir = tmp.path().join("data");
    std::fs::write(&not_dir, b"").unwrap();
    let err = SqliteStore::open(&not_dir).unwrap_err();
    assert!(
        matches!(&err, StoreError::Io { path, .. } if path == &not_dir),
        "{err:?}"
    );
}
