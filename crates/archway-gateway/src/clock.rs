//! A coarse per-worker clock: the time read once a second by each worker, for what needs no
//! finer grain — the `date` response header and the ages of pooled upstream connections — so
//! that a request does not read the clock for them (nginx caches its time the same way).
//!
//! [`tick`] runs on each worker's event loop. On a thread where it does not run (a test's
//! runtime, say), the functions here read the clock each time.

use std::cell::Cell;
use std::time::{Duration, SystemTime};
use tokio::time::Instant;

#[derive(Clone, Copy)]
struct Now {
    instant: Instant,
    date: [u8; 29],
}

thread_local! {
    static NOW: Cell<Option<Now>> = const { Cell::new(None) };
}

fn read() -> Now {
    let mut date = [0u8; 29];
    let s = httpdate::fmt_http_date(SystemTime::now());
    // Always 29 bytes ("Sun, 06 Nov 1994 08:49:37 GMT") for dates after year 1000.
    if s.len() == date.len() {
        date.copy_from_slice(s.as_bytes());
    }
    Now {
        instant: Instant::now(),
        date,
    }
}

/// Keeps this thread's coarse time current: call once per worker, on its event loop.
pub async fn tick() {
    let mut every = tokio::time::interval(Duration::from_secs(1));
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        NOW.set(Some(read()));
    }
}

/// Now, to within a second on a worker.
pub fn coarse_instant() -> Instant {
    NOW.get().unwrap_or_else(read).instant
}

/// The `date` header's value for now, to within a second.
pub fn http_date() -> [u8; 29] {
    NOW.get().unwrap_or_else(read).date
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_worker_reads_the_clock_once_a_second() {
        // Without a ticker: the clock itself, every time.
        let a = coarse_instant();
        std::thread::sleep(Duration::from_millis(5));
        assert!(coarse_instant() > a);
        let d = http_date();
        assert!(d.ends_with(b" GMT"), "{}", String::from_utf8_lossy(&d));
        // With one: the time of its last tick.
        let t = tokio::spawn(tick());
        tokio::time::sleep(Duration::from_millis(10)).await;
        let first = coarse_instant();
        std::thread::sleep(Duration::from_millis(20));
        assert_eq!(coarse_instant(), first);
        assert_eq!(http_date(), http_date());
        t.abort();
    }
}
