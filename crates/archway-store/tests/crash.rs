//! Crash durability: a writer process is SIGKILLed at arbitrary points while committing; every
//! write it acknowledged must be there afterwards, transactions must be all-or-nothing, and the
//! file must open cleanly.
//!
//! The writer (`src/bin/store-crash-writer.rs`) commits one transaction per key — `item/N` plus
//! `progress/last = N` — and prints `ack N` after each commit returns. SIGKILL is a process crash,
//! not a power cut: it proves SQLite's WAL recovery and that an acknowledgement means committed;
//! `synchronous=FULL` is what extends that to power loss (see `docs/store.md`).

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use archway_store::{DocumentStore, SqliteStore};
use serde_json::{json, Value};

const ROUNDS: usize = 8;

/// A small deterministic generator (SplitMix64), so a failing run can be replayed.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

fn key(i: u64) -> String {
    format!("{i:010}")
}

/// The body the writer stores for key `i` (kept in step with the writer).
fn body(i: u64) -> Value {
    json!({ "i": i, "key": key(i), "pad": "x".repeat(200 + (i % 7) as usize * 100) })
}

/// Run the writer from `start` until `kill_after` acks have been read, then `jitter` later
/// SIGKILL it, and return every key it acknowledged (including acks still in the pipe when it
/// died).
///
/// Without the jitter the kill lands at nearly the same point of the writer's loop each time
/// (usually while it sits in the next commit's `fsync`, which a signal does not interrupt); the
/// jitter spreads the kills over the whole loop: mid-statement, mid-WAL-append, between commit and
/// ack.
fn run_and_kill(dir: &Path, start: u64, kill_after: usize, jitter: Duration) -> Vec<u64> {
    let mut child = Command::new(env!("CARGO_BIN_EXE_store-crash-writer"))
        .arg(dir)
        .arg(start.to_string())
        .arg("1000000")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn store-crash-writer");
    let stdout = child.stdout.take().expect("piped stdout");
    let mut lines = BufReader::new(stdout).lines();
    let mut acked = Vec::new();
    let mut killed = false;
    for line in lines.by_ref() {
        let line = line.expect("read writer stdout");
        let n: u64 = line
            .strip_prefix("ack ")
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("unexpected writer output {line:?}"));
        acked.push(n);
        if acked.len() == kill_after {
            let t = Instant::now();
            while t.elapsed() < jitter {
                std::hint::spin_loop();
            }
            child.kill().expect("SIGKILL the writer"); // Child::kill sends SIGKILL on Unix
            killed = true;
            break;
        }
    }
    // Anything it printed before dying was acknowledged too.
    for line in lines {
        let Ok(line) = line else { break };
        if let Some(n) = line.strip_prefix("ack ").and_then(|n| n.parse().ok()) {
            acked.push(n);
        }
    }
    let status = child.wait().expect("reap writer");
    assert!(
        killed,
        "the writer stopped by itself after {} acks: {status}",
        acked.len()
    );
    assert!(
        !status.success(),
        "the writer was killed, not finished: {status}"
    );
    acked
}

#[test]
fn no_acknowledged_write_is_lost_when_the_writer_is_killed() {
    let started = Instant::now();
    let dir = tempfile::tempdir().unwrap();
    let mut rng = SplitMix(0x00C0_FFEE_2024);
    let mut next = 0u64;
    let mut all_acked = Vec::new();

    for round in 0..ROUNDS {
        let kill_after = 50 + (rng.next() % 451) as usize;
        let jitter = Duration::from_micros(rng.next() % 2000);
        let acked = run_and_kill(dir.path(), next, kill_after, jitter);
        assert!(acked.len() >= kill_after);
        let expected: Vec<u64> = (next..next + acked.len() as u64).collect();
        assert_eq!(acked, expected, "round {round}: acks in order, from {next}");
        all_acked.extend_from_slice(&acked);

        // "Restart": open the store as the gateway would after a crash.
        let store = SqliteStore::open(dir.path())
            .unwrap_or_else(|e| panic!("round {round}: reopen after SIGKILL: {e}"));
        store
            .integrity_check()
            .unwrap_or_else(|e| panic!("round {round}: {e}"));

        for &i in &all_acked {
            let doc = store
                .get("item", "", &key(i))
                .unwrap()
                .unwrap_or_else(|| panic!("round {round}: acknowledged key {i} lost"));
            assert_eq!(doc.body, body(i), "round {round}: key {i}");
            assert_eq!(doc.version, 1);
        }

        // Atomicity: `progress` and the items were written together, so the items present are
        // exactly 0..=last (the last one may be committed but not yet acknowledged).
        let last = store
            .get("progress", "", "last")
            .unwrap()
            .expect("progress document")
            .body["i"]
            .as_u64()
            .expect("progress.i");
        let last_acked = *acked.last().expect("at least one ack");
        assert!(
            last == last_acked || last == last_acked + 1,
            "round {round}: progress {last}, last ack {last_acked}"
        );
        let items = store.list("item", "").unwrap();
        assert_eq!(items.len() as u64, last + 1, "round {round}");
        for (n, doc) in items.iter().enumerate() {
            assert_eq!(doc.key, key(n as u64));
        }
        // One revision per committed transaction, none skipped or repeated.
        assert_eq!(store.revision().unwrap(), last + 1, "round {round}");

        eprintln!(
            "round {round}: killed {jitter:?} after ack {kill_after}: {} acks, committed through \
             {last} ({})",
            acked.len(),
            if last > last_acked {
                "one commit unacknowledged"
            } else {
                "all commits acknowledged"
            }
        );
        next = last + 1;
        drop(store);
    }
    eprintln!(
        "{ROUNDS} rounds, {} acknowledged writes, all present; {:.2?}",
        all_acked.len(),
        started.elapsed()
    );
}
