//! Test helper for `tests/crash.rs`: opens the store in `DIR` and, from key `START`, commits one
//! transaction per key, printing `ack N` (and flushing) after each commit returns. The test kills
//! it with SIGKILL at arbitrary points and checks that every acknowledged key survived.
//!
//! Each transaction writes `item/""/N` and updates `progress/""/last` to `N`, so the test can
//! also check atomicity: the two never disagree.
//!
//! Usage: `store-crash-writer DIR START COUNT` — stops by itself after `COUNT` keys, or as soon
//! as stdout is closed (the test went away).

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use archway_store::{DocumentStore, Expect, SqliteStore};
use serde_json::json;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let (dir, start, count) = match args.as_slice() {
        [_, dir, start, count] => match (start.parse::<u64>(), count.parse::<u64>()) {
            (Ok(start), Ok(count)) => (PathBuf::from(dir), start, count),
            _ => return usage(),
        },
        _ => return usage(),
    };
    let store = match SqliteStore::open(&dir) {
        Ok(store) => store,
        Err(e) => {
            eprintln!("store-crash-writer: {e}");
            return ExitCode::FAILURE;
        }
    };
    let stdout = std::io::stdout();
    for i in start..start.saturating_add(count) {
        let key = key(i);
        let body = json!({ "i": i, "key": key, "pad": "x".repeat(200 + (i % 7) as usize * 100) });
        let result = store.transact(&mut |tx| {
            tx.put("item", "", &key, &body, Expect::Absent)?;
            tx.put("progress", "", "last", &json!({ "i": i }), Expect::Any)?;
            Ok(())
        });
        if let Err(e) = result {
            eprintln!("store-crash-writer: key {i}: {e}");
            return ExitCode::FAILURE;
        }
        let mut out = stdout.lock();
        if writeln!(out, "ack {i}").and_then(|()| out.flush()).is_err() {
            return ExitCode::SUCCESS; // the reader went away
        }
    }
    ExitCode::SUCCESS
}

/// Keys sort in numeric order.
fn key(i: u64) -> String {
    format!("{i:010}")
}

fn usage() -> ExitCode {
    eprintln!("usage: store-crash-writer DIR START COUNT");
    ExitCode::from(2)
}
