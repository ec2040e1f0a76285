//! A coarse per-worker clock: the time read once a second by each worker, for what needs no
//! finer grain — the `date` response header and the ages of pooled upstream connections — so
//! that a request does not read the clock for them (nginx caches its time the same way). It
//! also turns a request's monotonic start into wall-clock time ([`wall_at`]), so that a request
//! reads one clock, not two.
//!
//! [`tick`] runs on each worker's event loop. On a thread where it does not run (a test's
//! runtime, say), the functions here read the clock each time.

use std::cell::Cell;
use std::time::{Duration, SystemTime};
use tokio::time::Instant;

#[derive(Clone, Copy)]
struct Now {
    instant: Instant,
    wall: SystemTime,
    date: [u8; 29],
}

thread_local! {
    static NOW: Cell<Option<Now>> = const { Cell::new(None) };
}

fn read() -> Now {
    let mut date = [0u8; 29];
    let wall = SystemTime::now();
    let s = httpdate::fmt_http_date(wall);
    // Always 29 bytes ("Sun, 06 Nov 1994 08:49:37 GMT") for dates after year 1000.
    if s.len() == date.len() {
        date.copy_from_slice(s.as_bytes());
    }
    Now {
        instant: Instant::now(),
        wall,
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

/// The wall-clock time at monotonic instant `at`: the last tick's wall clock moved by the
/// monotonic time between them. Exact but for a step of the wall clock in the last second.
pub fn wall_at(at: std::time::Instant) -> SystemTime {
    let now = NOW.get().unwrap_or_else(read);
    let base = now.instant.into_std();
    match at.checked_duration_since(base) {
        Some(d) => now.wall + d,
        None => now.wall - base.duration_since(at),
    }
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
        // Wall-clock times of monotonic instants, before and after the tick, keep their order
        // and spacing, and agree with the system's clock.
        let (m, w) = (std::time::Instant::now(), SystemTime::now());
        let at = wall_at(m);
        let diff = at.duration_since(w).unwrap_or_else(|e| e.duration());
        assert!(diff < Duration::from_millis(5), "{diff:?}");
        let earlier = m - Duration::from_secs(3);
        assert_eq!(
            at.duration_since(wall_at(earlier)).unwrap(),
            Duration::from_secs(3)
        );
        t.abort();
    }
}
