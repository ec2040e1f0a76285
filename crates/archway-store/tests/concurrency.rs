//! Concurrent writers: optimistic read-modify-write with `Expect::Version` never loses an update,
//! and of two racing updates from the same version exactly one wins.

use std::sync::{Arc, Barrier};

use archway_store::{DocumentStore, Expect, SqliteStore, StoreError};
use serde_json::json;

#[test]
fn eight_threads_increment_one_counter_without_losing_any() {
    const THREADS: usize = 8;
    const INCREMENTS: u64 = 200;
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SqliteStore::open(dir.path()).unwrap());
    store
        .transact(&mut |tx| {
            tx.put("counter", "", "c", &json!({"n": 0}), Expect::Absent)?;
            Ok(())
        })
        .unwrap();

    let start = Arc::new(Barrier::new(THREADS));
    let workers: Vec<_> = (0..THREADS)
        .map(|_| {
            let store = Arc::clone(&store);
            let start = Arc::clone(&start);
            std::thread::spawn(move || {
                start.wait();
                let mut conflicts = 0u64;
                for _ in 0..INCREMENTS {
                    loop {
                        let doc = store.get("counter", "", "c").unwrap().unwrap();
                        let n = doc.body["n"].as_u64().unwrap();
                        let result = store.transact(&mut |tx| {
                            tx.put(
                                "counter",
                                "",
                                "c",
                                &json!({"n": n + 1}),
                                Expect::Version(doc.version),
                            )?;
                            Ok(())
                        });
                        match result {
                            Ok(_) => break,
                            Err(StoreError::Conflict { .. }) => conflicts += 1,
                            Err(e) => panic!("unexpected error: {e}"),
                        }
                    }
                }
                conflicts
            })
        })
        .collect();
    let conflicts: u64 = workers.into_iter().map(|w| w.join().unwrap()).sum();

    let doc = store.get("counter", "", "c").unwrap().unwrap();
    let total = THREADS as u64 * INCREMENTS;
    assert_eq!(doc.body, json!({"n": total}));
    assert_eq!(doc.version, total + 1);
    assert_eq!(store.revision().unwrap(), total + 1);
    eprintln!("{total} increments, {conflicts} conflicts retried");
}

#[test]
fn two_racing_updates_from_one_version_exactly_one_wins() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SqliteStore::open(dir.path()).unwrap());
    for round in 0..20u64 {
        let key = format!("stage{round}");
        store
            .transact(&mut |tx| {
                tx.put(
                    "stage",
                    "api",
                    &key,
                    &json!({"who": "nobody"}),
                    Expect::Absent,
                )?;
                Ok(())
            })
            .unwrap();
        let start = Arc::new(Barrier::new(2));
        let racers: Vec<_> = ["left", "right"]
            .into_iter()
            .map(|who| {
                let store = Arc::clone(&store);
                let start = Arc::clone(&start);
                let key = key.clone();
                std::thread::spawn(move || {
                    start.wait();
                    let result = store.transact(&mut |tx| {
                        tx.put(
                            "stage",
                            "api",
                            &key,
                            &json!({"who": who}),
                            Expect::Version(1),
                        )?;
                        Ok(())
                    });
                    (who, result)
                })
            })
            .collect();
        let results: Vec<_> = racers.into_iter().map(|r| r.join().unwrap()).collect();
        let winners: Vec<&str> = results
            .iter()
            .filter(|(_, r)| r.is_ok())
            .map(|(who, _)| *who)
            .collect();
        assert_eq!(winners.len(), 1, "round {round}: {results:?}");
        let loser = results.iter().find(|(_, r)| r.is_err()).unwrap();
        assert!(
            matches!(
                loser.1,
                Err(StoreError::Conflict {
                    expected: Expect::Version(1),
                    found: Some(2),
                    ..
                })
            ),
            "round {round}: {results:?}"
        );
        let doc = store.get("stage", "api", &key).unwrap().unwrap();
        assert_eq!((doc.body, doc.version), (json!({"who": winners[0]}), 2));
    }
}

#[test]
fn readers_are_not_blocked_by_writers() {
    // A reader thread keeps reading while writers commit; every read sees a committed state
    // (the two documents written together always agree).
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SqliteStore::open(dir.path()).unwrap());
    let writer = {
        let store = Arc::clone(&store);
        std::thread::spawn(move || {
            for i in 0..100u64 {
                store
                    .transact(&mut |tx| {
                        tx.put("pair", "", "a", &json!(i), Expect::Any)?;
                        tx.put("pair", "", "b", &json!(i), Expect::Any)?;
                        Ok(())
                    })
                    .unwrap();
            }
        })
    };
    let mut reads = 0;
    while !writer.is_finished() {
        let docs = store.list("pair", "").unwrap();
        if docs.len() == 2 {
            assert_eq!(docs[0].body, docs[1].body);
            assert_eq!(docs[0].revision, docs[1].revision);
        }
        reads += 1;
    }
    writer.join().unwrap();
    assert!(reads > 0);
}
