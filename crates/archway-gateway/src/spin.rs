//! Idle polling: a worker that runs out of work keeps polling its event loop for a few tens of
//! microseconds before it sleeps (`server.idlePollMicros`, `docs/idle-poll.md`).
//!
//! Why: a worker that sleeps in `epoll_wait` is woken by whichever CPU queues the next packet
//! for it, with an inter-processor interrupt. In a virtual machine the halted CPU also has to be
//! resumed by the hypervisor. Both cost the waking CPU time and the request latency. Under load
//! the gaps between events are mostly shorter than that round trip, so polling through them is
//! cheaper than sleeping; when they are not, the window shrinks to nothing ([`Policy`]), and an
//! idle gateway sleeps at once. Seastar's reactor and Linux's `haltpoll` idle driver do the same.
//!
//! Off by default: a polling virtual CPU never halts, and on a shared host that time is taken
//! from its neighbours. On the benchmark machine neither the gain nor that cost rose above the
//! noise (`docs/idle-poll.md`). For CPUs the gateway has to itself.
//!
//! How, on tokio's current-thread runtime: a task that yields to the runtime ([`spin`]) keeps it
//! from blocking, so it looks for I/O without waiting instead. When the window has passed
//! since the last request came ([`work`]), the task waits to be woken by the runtime's
//! `on_thread_unpark` hook ([`unparked`]), which runs when the worker wakes from a real sleep.

use std::cell::{Cell, RefCell};
use std::future::poll_fn;
use std::task::{Poll, Waker};
use std::time::{Duration, Instant};

thread_local! {
    /// The poller's waker while its worker sleeps.
    static SLEEPING: RefCell<Option<Waker>> = const { RefCell::new(None) };
    /// Requests this worker has started.
    static WORK: Cell<u64> = const { Cell::new(0) };
}

/// A request starts on this worker.
///
/// Counted, rather than inferred from how long the poller waited between its turns: a turn
/// takes about a microsecond in a release build but ten times that in a debug one, or on a
/// busy machine, and then every turn looked like work and the poller never stopped.
pub fn work() {
    WORK.with(|w| w.set(w.get().wrapping_add(1)));
}

/// The worker runtime's `on_thread_unpark` hook: the worker slept, and has something to do.
pub fn unparked() {
    if let Some(w) = SLEEPING.with(|s| s.borrow_mut().take()) {
        w.wake();
    }
}

/// The smallest window worth polling for; a shorter one is none.
const MIN_WINDOW: Duration = Duration::from_micros(5);

/// How long to poll after the last work, learnt from how long the worker then slept (the
/// `haltpoll` rule): a sleep a full window would have covered grows the window, a longer one
/// halves it.
#[derive(Debug, Clone, Copy)]
pub struct Policy {
    max: Duration,
    window: Duration,
}

impl Policy {
    pub fn new(max: Duration) -> Policy {
        Policy { max, window: max }
    }

    /// The current window: poll this long after the last work.
    pub fn window(&self) -> Duration {
        self.window
    }

    /// The window passed without work, and the worker then slept for `slept`.
    pub fn slept(&mut self, slept: Duration) {
        self.window = if slept <= self.max {
            (self.window * 2).max(MIN_WINDOW).min(self.max)
        } else {
            let half = self.window / 2;
            if half < MIN_WINDOW {
                Duration::ZERO
            } else {
                half
            }
        };
    }
}

/// The poller of a worker, for the worker's life; `max` zero turns it off.
pub async fn run(max: Duration) {
    if max.is_zero() {
        return;
    }
    let mut policy = Policy::new(max);
    loop {
        let window = policy.window();
        if !window.is_zero() {
            spin(window).await;
        }
        let slept_at = Instant::now();
        let mut asleep = false;
        poll_fn(|cx| {
            if std::mem::replace(&mut asleep, true) {
                return Poll::Ready(());
            }
            SLEEPING.with(|s| *s.borrow_mut() = Some(cx.waker().clone()));
            Poll::Pending
        })
        .await;
        policy.slept(slept_at.elapsed());
    }
}

/// Yields to the runtime until `window` has passed since a request last started. A yielded
/// task is woken after the runtime has looked for I/O without blocking (a turn costs that
/// `epoll_wait` and a clock read), so while this runs the worker does not sleep.
async fn spin(window: Duration) {
    let mut last_work = Instant::now();
    let mut seen = WORK.with(Cell::get);
    loop {
        tokio::task::yield_now().await;
        let now = Instant::now();
        let work = WORK.with(Cell::get);
        if work != seen {
            seen = work;
            last_work = now;
        }
        if now.duration_since(last_work) >= window {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAX: Duration = Duration::from_micros(50);

    #[test]
    fn long_sleeps_shrink_the_window_to_nothing_and_short_ones_grow_it_back() {
        let mut p = Policy::new(MAX);
        assert_eq!(p.window(), MAX);
        // An idle gateway: every sleep is long.
        let mut windows = Vec::new();
        for _ in 0..5 {
            p.slept(Duration::from_millis(10));
            windows.push(p.window().as_micros());
        }
        assert_eq!(windows, [25, 12, 6, 0, 0]);
        // Load again: sleeps shorter than the most it may poll.
        let mut windows = Vec::new();
        for _ in 0..5 {
            p.slept(Duration::from_micros(30));
            windows.push(p.window().as_micros());
        }
        assert_eq!(windows, [5, 10, 20, 40, 50]);
    }

    #[test]
    fn a_sleep_as_long_as_the_most_it_may_poll_still_counts_as_short() {
        let mut p = Policy::new(MAX);
        p.slept(MAX);
        assert_eq!(p.window(), MAX);
        p.slept(MAX + Duration::from_micros(1));
        assert_eq!(p.window(), MAX / 2);
    }
}
