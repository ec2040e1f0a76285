//! CRUD, versions, ordering, expectations, atomicity and revisions of the document store.

use archway_store::{Doc, DocumentStore, Expect, SqliteStore, StoreError, TxAbort};
use serde_json::{json, Value};

fn store() -> (tempfile::TempDir, SqliteStore) {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path()).unwrap();
    (dir, store)
}

fn put(store: &dyn DocumentStore, kind: &str, scope: &str, key: &str, body: Value) -> u64 {
    store
        .transact(&mut |tx| {
            tx.put(kind, scope, key, &body, Expect::Any)?;
            Ok(())
        })
        .unwrap()
}

fn keys(docs: &[Doc]) -> Vec<(&str, &str)> {
    docs.iter()
        .map(|d| (d.scope.as_str(), d.key.as_str()))
        .collect()
}

#[test]
fn create_read_update_delete() {
    let (_dir, store) = store();
    assert_eq!(store.get("restapi", "", "a1b2c3").unwrap(), None);

    let body = json!({"name": "petstore", "endpointConfiguration": {"types": ["REGIONAL"]}});
    let mut version = 0;
    let rev = store
        .transact(&mut |tx| {
            version = tx.put("restapi", "", "a1b2c3", &body, Expect::Absent)?;
            Ok(())
        })
        .unwrap();
    assert_eq!((version, rev), (1, 1));

    let doc = store.get("restapi", "", "a1b2c3").unwrap().unwrap();
    assert_eq!(
        doc,
        Doc {
            kind: "restapi".into(),
            scope: "".into(),
            key: "a1b2c3".into(),
            body: body.clone(),
            version: 1,
            revision: 1,
        }
    );
    // Key order inside the body is preserved.
    assert_eq!(
        serde_json::to_string(&doc.body).unwrap(),
        r#"{"name":"petstore","endpointConfiguration":{"types":["REGIONAL"]}}"#
    );

    let updated = json!({"name": "petstore-v2"});
    let rev = store
        .transact(&mut |tx| {
            version = tx.put("restapi", "", "a1b2c3", &updated, Expect::Version(1))?;
            Ok(())
        })
        .unwrap();
    assert_eq!((version, rev), (2, 2));
    let doc = store.get("restapi", "", "a1b2c3").unwrap().unwrap();
    assert_eq!((doc.body, doc.version, doc.revision), (updated, 2, 2));

    let mut existed = false;
    let rev = store
        .transact(&mut |tx| {
            existed = tx.delete("restapi", "", "a1b2c3", Expect::Version(2))?;
            Ok(())
        })
        .unwrap();
    assert!(existed);
    assert_eq!(rev, 3);
    assert_eq!(store.get("restapi", "", "a1b2c3").unwrap(), None);

    // Re-created, the version starts again at 1; the revision does not.
    put(&store, "restapi", "", "a1b2c3", json!({}));
    let doc = store.get("restapi", "", "a1b2c3").unwrap().unwrap();
    assert_eq!((doc.version, doc.revision), (1, 4));
}

#[test]
fn version_counts_every_write() {
    let (_dir, store) = store();
    for n in 1..=5u64 {
        put(&store, "stage", "api1", "prod", json!({"n": n}));
        let doc = store.get("stage", "api1", "prod").unwrap().unwrap();
        assert_eq!(doc.version, n);
        assert_eq!(doc.body, json!({"n": n}));
    }
    // Two puts of one document in one transaction: two writes, one revision.
    let before = store.revision().unwrap();
    let rev = store
        .transact(&mut |tx| {
            assert_eq!(
                tx.put("stage", "api1", "prod", &json!(1), Expect::Version(5))?,
                6
            );
            assert_eq!(
                tx.put("stage", "api1", "prod", &json!(2), Expect::Version(6))?,
                7
            );
            Ok(())
        })
        .unwrap();
    assert_eq!(rev, before + 1);
    assert_eq!(
        store.get("stage", "api1", "prod").unwrap().unwrap().version,
        7
    );
}

#[test]
fn lists_are_ordered_and_scoped() {
    let (_dir, store) = store();
    for (scope, key) in [
        ("api2", "prod"),
        ("api1", "test"),
        ("api1", "beta"),
        ("api1", "prod"),
        ("api1", "Zed"),
        ("", "unscoped"),
    ] {
        put(&store, "stage", scope, key, json!({"stageName": key}));
    }
    put(&store, "deployment", "api1", "d1", json!({}));

    let api1 = store.list("stage", "api1").unwrap();
    // Byte order: upper case before lower case, as in `str::cmp`.
    assert_eq!(
        keys(&api1),
        [
            ("api1", "Zed"),
            ("api1", "beta"),
            ("api1", "prod"),
            ("api1", "test")
        ]
    );
    assert!(api1.iter().all(|d| d.kind == "stage"));
    assert_eq!(keys(&store.list("stage", "").unwrap()), [("", "unscoped")]);
    assert!(store.list("stage", "nope").unwrap().is_empty());
    assert!(store.list("nokind", "api1").unwrap().is_empty());

    assert_eq!(
        keys(&store.list_kind("stage").unwrap()),
        [
            ("", "unscoped"),
            ("api1", "Zed"),
            ("api1", "beta"),
            ("api1", "prod"),
            ("api1", "test"),
            ("api2", "prod"),
        ]
    );
    assert_eq!(
        keys(&store.list_kind("deployment").unwrap()),
        [("api1", "d1")]
    );
}

#[test]
fn absent_on_existing_document_conflicts() {
    let (_dir, store) = store();
    put(&store, "apikey", "", "k1", json!({"name": "first"}));
    let err = store
        .transact(&mut |tx| {
            tx.put(
                "apikey",
                "",
                "k1",
                &json!({"name": "second"}),
                Expect::Absent,
            )?;
            Ok(())
        })
        .unwrap_err();
    match &err {
        StoreError::Conflict {
            kind,
            scope,
            key,
            expected,
            found,
        } => {
            assert_eq!(
                (kind.as_str(), scope.as_str(), key.as_str()),
                ("apikey", "", "k1")
            );
            assert_eq!((*expected, *found), (Expect::Absent, Some(1)));
        }
        other => panic!("expected Conflict, got {other:?}"),
    }
    assert!(err.is_conflict());
    assert_eq!(
        err.to_string(),
        r#"conflict on apikey "k1": expected no document, found version 1"#
    );
    let doc = store.get("apikey", "", "k1").unwrap().unwrap();
    assert_eq!((doc.body, doc.version), (json!({"name": "first"}), 1));
}

#[test]
fn stale_version_conflicts() {
    let (_dir, store) = store();
    put(&store, "usageplan", "", "p1", json!({"v": 1}));
    put(&store, "usageplan", "", "p1", json!({"v": 2}));
    let err = store
        .transact(&mut |tx| {
            tx.put(
                "usageplan",
                "",
                "p1",
                &json!({"v": "stale"}),
                Expect::Version(1),
            )?;
            Ok(())
        })
        .unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::Conflict {
                expected: Expect::Version(1),
                found: Some(2),
                ..
            }
        ),
        "{err:?}"
    );

    // Version(n) on a missing document, and a stale delete, conflict too.
    let err = store
        .transact(&mut |tx| {
            tx.put("usageplan", "", "missing", &json!({}), Expect::Version(1))?;
            Ok(())
        })
        .unwrap_err();
    assert!(
        matches!(err, StoreError::Conflict { found: None, .. }),
        "{err:?}"
    );
    let err = store
        .transact(&mut |tx| {
            tx.delete("usageplan", "", "p1", Expect::Version(1))?;
            Ok(())
        })
        .unwrap_err();
    assert!(
        matches!(err, StoreError::Conflict { found: Some(2), .. }),
        "{err:?}"
    );
    assert_eq!(
        store.get("usageplan", "", "p1").unwrap().unwrap().body,
        json!({"v": 2})
    );
    assert_eq!(store.revision().unwrap(), 2);
}

#[test]
fn delete_expectations() {
    let (_dir, store) = store();
    let mut results = Vec::new();
    store
        .transact(&mut |tx| {
            results.push(tx.delete("route", "api", "GET /", Expect::Any)?);
            results.push(tx.delete("route", "api", "GET /", Expect::Absent)?);
            Ok(())
        })
        .unwrap();
    assert_eq!(results, [false, false]);
    // Deleting nothing changed nothing: no new revision.
    assert_eq!(store.revision().unwrap(), 0);

    put(&store, "route", "api", "GET /", json!({}));
    let err = store
        .transact(&mut |tx| {
            tx.delete("route", "api", "GET /", Expect::Absent)?;
            Ok(())
        })
        .unwrap_err();
    assert!(err.is_conflict());
    store
        .transact(&mut |tx| {
            assert!(tx.delete("route", "api", "GET /", Expect::Any)?);
            Ok(())
        })
        .unwrap();
    assert_eq!(store.get("route", "api", "GET /").unwrap(), None);
    assert_eq!(store.revision().unwrap(), 2);
}

#[test]
fn failed_expectation_aborts_the_whole_transaction() {
    let (_dir, store) = store();
    put(&store, "restapi", "", "existing", json!({"keep": true}));
    let before = store.revision().unwrap();

    let err = store
        .transact(&mut |tx| {
            tx.put("restapi", "", "new1", &json!(1), Expect::Absent)?;
            tx.put("resource", "new1", "r1", &json!(2), Expect::Any)?;
            tx.put(
                "restapi",
                "",
                "existing",
                &json!({"keep": false}),
                Expect::Any,
            )?;
            tx.delete("restapi", "", "existing", Expect::Version(2))?;
            // Last one conflicts (new1 exists by now): everything above must vanish.
            tx.put("restapi", "", "new1", &json!(3), Expect::Absent)?;
            Ok(())
        })
        .unwrap_err();
    assert!(
        matches!(err, StoreError::Conflict { ref key, found: Some(1), .. } if key == "new1"),
        "{err:?}"
    );
    assert_eq!(store.get("restapi", "", "new1").unwrap(), None);
    assert_eq!(store.get("resource", "new1", "r1").unwrap(), None);
    let doc = store.get("restapi", "", "existing").unwrap().unwrap();
    assert_eq!((doc.body, doc.version), (json!({"keep": true}), 1));
    assert_eq!(store.revision().unwrap(), before);
}

#[test]
fn a_swallowed_failure_still_aborts() {
    let (_dir, store) = store();
    put(&store, "restapi", "", "a", json!(1));
    let mut after_failure = None;
    let err = store
        .transact(&mut |tx| {
            tx.put("restapi", "", "b", &json!(2), Expect::Any)?;
            // The closure ignores the conflict and carries on...
            let _ = tx.put("restapi", "", "a", &json!(3), Expect::Absent);
            // ...but the transaction is poisoned: later operations fail at once.
            after_failure = Some(tx.put("restapi", "", "c", &json!(4), Expect::Any).is_err());
            Ok(())
        })
        .unwrap_err();
    assert!(err.is_conflict(), "{err:?}");
    assert_eq!(after_failure, Some(true));
    assert_eq!(store.get("restapi", "", "b").unwrap(), None);
    assert_eq!(store.get("restapi", "", "c").unwrap(), None);
    assert_eq!(store.revision().unwrap(), 1);
}

#[derive(Debug, thiserror::Error)]
#[error("parent API {0} not found")]
struct NotFound(String);

#[test]
fn caller_abort_writes_nothing_and_keeps_the_reason() {
    let (_dir, store) = store();
    let err = store
        .transact(&mut |tx| {
            tx.put("stage", "ghost", "prod", &json!({}), Expect::Absent)?;
            if tx.get("restapi", "", "ghost")?.is_none() {
                return Err(TxAbort::cancel(NotFound("ghost".into())));
            }
            Ok(())
        })
        .unwrap_err();
    let StoreError::Aborted(reason) = &err else {
        panic!("expected Aborted, got {err:?}");
    };
    assert_eq!(
        reason.downcast_ref::<NotFound>().map(|e| e.0.as_str()),
        Some("ghost")
    );
    assert_eq!(store.get("stage", "ghost", "prod").unwrap(), None);
    assert_eq!(store.revision().unwrap(), 0);
}

#[test]
fn transaction_reads_its_own_writes_and_others_see_only_commits() {
    let (_dir, store) = store();
    put(&store, "stage", "api", "a", json!("a"));
    store
        .transact(&mut |tx| {
            tx.put("stage", "api", "b", &json!("b"), Expect::Absent)?;
            tx.delete("stage", "api", "a", Expect::Version(1))?;
            let inside = tx.list("stage", "api")?;
            assert_eq!(inside.len(), 1);
            assert_eq!(inside[0].key, "b");
            assert_eq!(
                inside[0].revision, 2,
                "written docs carry the pending revision"
            );
            assert_eq!(tx.get("stage", "api", "a")?, None);
            // Outside the transaction (the reader connection) nothing has changed yet.
            assert_eq!(store.list("stage", "api").unwrap().len(), 1);
            assert!(store.get("stage", "api", "a").unwrap().is_some());
            assert_eq!(store.revision().unwrap(), 1);
            Ok(())
        })
        .unwrap();
    assert_eq!(keys(&store.list("stage", "api").unwrap()), [("api", "b")]);
}

#[test]
fn revision_moves_only_on_committed_changes() {
    let (_dir, store) = store();
    assert_eq!(store.revision().unwrap(), 0);
    assert_eq!(put(&store, "k", "", "a", json!(1)), 1);
    assert_eq!(put(&store, "k", "", "b", json!(1)), 2);
    assert_eq!(store.revision().unwrap(), 2);

    // A read-only transaction returns the current revision and bumps nothing.
    let rev = store
        .transact(&mut |tx| {
            tx.get("k", "", "a")?;
            Ok(())
        })
        .unwrap();
    assert_eq!(rev, 2);
    // Aborted ones neither.
    let _ = store.transact(&mut |tx| {
        tx.put("k", "", "c", &json!(1), Expect::Any)?;
        Err(TxAbort::cancel("no"))
    });
    let _ = store.transact(&mut |tx| {
        tx.put("k", "", "c", &json!(1), Expect::Any)?;
        tx.put("k", "", "a", &json!(1), Expect::Absent)?;
        Ok(())
    });
    assert_eq!(store.revision().unwrap(), 2);
    assert_eq!(put(&store, "k", "", "c", json!(1)), 3);
    assert_eq!(store.revision().unwrap(), 3);
}

#[test]
fn a_panicking_transaction_leaves_the_store_usable() {
    let (_dir, store) = store();
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let _ = store.transact(&mut |tx| {
            tx.put("k", "", "half", &json!(1), Expect::Any)?;
            panic!("closure bug");
        });
    }));
    assert!(result.is_err());
    assert_eq!(store.get("k", "", "half").unwrap(), None);
    assert_eq!(put(&store, "k", "", "after", json!(1)), 1);
    assert!(store.get("k", "", "after").unwrap().is_some());
}

#[test]
fn strange_strings_are_just_strings() {
    let (_dir, store) = store();
    let odd = ["", "'; DROP TABLE docs; --", "ünïcödé/🦀", "a\0b", "%_*"];
    for key in odd {
        put(&store, "kind", "sc'ope", key, json!(key));
    }
    for key in odd {
        assert_eq!(
            store.get("kind", "sc'ope", key).unwrap().unwrap().body,
            json!(key)
        );
    }
    let mut sorted: Vec<&str> = odd.to_vec();
    sorted.sort();
    let listed: Vec<String> = store
        .list("kind", "sc'ope")
        .unwrap()
        .into_iter()
        .map(|d| d.key)
        .collect();
    assert_eq!(listed, sorted);
    // LIKE-style wildcards are not wildcards.
    assert!(store.list("kind", "%").unwrap().is_empty());
}

#[test]
fn usable_as_a_shared_trait_object() {
    let dir = tempfile::tempdir().unwrap();
    let store: std::sync::Arc<dyn DocumentStore> =
        std::sync::Arc::new(SqliteStore::open(dir.path()).unwrap());
    let other = std::sync::Arc::clone(&store);
    std::thread::spawn(move || put(other.as_ref(), "k", "", "x", json!(1)))
        .join()
        .unwrap();
    assert!(store.get("k", "", "x").unwrap().is_some());
}

#[test]
fn json_text_is_stored_as_given_and_must_be_one_value() {
    let (_dir, store) = store();
    let text = r#"{"keys":{"k1":[1700000000,7,[[19700,3]]],"k0":[0,0,[]]}}"#;
    let rev = store
        .transact(&mut |tx| {
            assert_eq!(tx.put_json("usage", "", "p1", text, Expect::Absent)?, 1);
            Ok(())
        })
        .unwrap();
    let doc = store.get("usage", "", "p1").unwrap().unwrap();
    assert_eq!((doc.version, doc.revision), (1, rev));
    assert_eq!(serde_json::to_string(&doc.body).unwrap(), text);

    // Not JSON, or more than one value: the transaction fails and nothing changes.
    for bad in [r#"{"keys":"#, "1 2", ""] {
        let r = store.transact(&mut |tx| {
            tx.put_json("usage", "", "p1", bad, Expect::Any)?;
            Ok(())
        });
        assert!(r.is_err(), "{bad:?} was stored");
        let doc = store.get("usage", "", "p1").unwrap().unwrap();
        assert_eq!(serde_json::to_string(&doc.body).unwrap(), text);
    }
}
