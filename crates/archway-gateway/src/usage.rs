//! Throttling and quota state: token buckets and quota counters. They live outside the
//! snapshot, keyed by ids, so that they survive every snapshot swap; the compiled snapshot
//! holds `Arc`s to them, attached by [`UsageState::attach`] when the snapshot is swapped in.
//!
//! Hot path: a request touches only the buckets and the counter of its own route and key —
//! atomics only (a bucket is one `AtomicU64`, compare-and-swap; a key's plan bucket and quota
//! counter share one cache line, [`KeyUsage`]). Mutexes are taken only when a quota period or
//! a day ends, by `attach`, persistence and the admin API.
//!
//! Token buckets use GCRA (the "virtual scheduling" form of a token bucket): a bucket of
//! `burst` tokens refilled at `rate` per second admits the same requests as a theoretical
//! arrival time `tat` that moves `1/rate` per admitted request and may run at most
//! `(burst − 1)/rate` ahead of now. Over `D` seconds of saturation it admits
//! `burst + rate × D` requests.

use archway_model::{Quota, QuotaPeriod, Throttle};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Instant;

/// The monotonic clock's start.
fn clock_base() -> Instant {
    static BASE: OnceLock<Instant> = OnceLock::new();
    *BASE.get_or_init(Instant::now)
}

/// Nanoseconds on the process's monotonic clock at `at` (never 0). A request passes its
/// arrival time, read once for all its phases.
pub fn monotonic_nanos(at: Instant) -> u64 {
    at.saturating_duration_since(clock_base())
        .as_nanos()
        .min(u64::MAX as u128 / 2) as u64
        + 1
}

/// A token bucket (see the module's doc). The limits are given at each call, since they come
/// from the snapshot and may change while the bucket lives on.
#[derive(Debug, Default)]
pub struct Bucket {
    /// The theoretical arrival time, in [`monotonic_nanos`].
    tat: AtomicU64,
}

impl Bucket {
    /// Full again, as a new bucket is.
    fn reset(&self) {
        self.tat.store(0, Ordering::Relaxed);
    }

    /// Takes a token at `now` (nanoseconds), if there is one.
    pub fn try_acquire(&self, limits: Throttle, now: u64) -> bool {
        if limits.burst_limit == 0 || limits.rate_limit <= 0.0 {
            return false;
        }
        // At most MAX_THROTTLE (1e9) per second, so the interval is at least 1 ns.
        let interval = (1e9 / limits.rate_limit)
            .max(1.0)
            .min(u64::MAX as f64 / 4.0) as u64;
        let tolerance = interval.saturating_mul(limits.burst_limit - 1);
        let mut tat = self.tat.load(Ordering::Relaxed);
        loop {
            let base = tat.max(now);
            if base - now > tolerance {
                return false;
            }
            match self.tat.compare_exchange_weak(
                tat,
                base.saturating_add(interval),
                Ordering::Relaxed,
                Ordering::Relaxed,
            ) {
                Ok(_) => return true,
                Err(seen) => tat = seen,
            }
        }
    }
}

/// The start of the quota period that contains `now` (seconds since the epoch, UTC).
pub fn period_start(period: QuotaPeriod, offset: u32, now: i64) -> i64 {
    const DAY: i64 = 86_400;
    let today = now.div_euclid(DAY);
    match period {
        QuotaPeriod::Day => today * DAY,
        QuotaPeriod::Week => {
            // 1970-01-01 was a Thursday: day 0 of the epoch is weekday 4 (Sunday = 0).
            let weekday = (today + 4).rem_euclid(7);
            let back = (weekday - offset.min(6) as i64).rem_euclid(7);
            (today - back) * DAY
        }
        QuotaPeriod::Month => {
            let Ok(date) = time::OffsetDateTime::from_unix_timestamp(today * DAY) else {
                return today * DAY;
            };
            let start_day = offset.min(27) as u8 + 1;
            let (mut year, mut month) = (date.year(), date.month());
            if date.day() < start_day {
                month = month.previous();
                if month == time::Month::December {
                    year -= 1;
                }
            }
            match time::Date::from_calendar_date(year, month, start_day) {
                Ok(d) => d.midnight().assume_utc().unix_timestamp(),
                Err(_) => today * DAY,
            }
        }
    }
}

/// The day number (days since the epoch) of `now`.
pub fn day_of(now: i64) -> i64 {
    now.div_euclid(86_400)
}

/// How many days of per-day usage are kept (AWS reports up to 90 days back).
const KEEP_DAYS: i64 = 90;

/// `QuotaCounter::today` holds the day number above `COUNT_BITS` and the count below.
const COUNT_BITS: u32 = 40;
const COUNT_MASK: u64 = (1 << COUNT_BITS) - 1;
/// The last day number `today` can hold (year 47,000 or so).
const MAX_PACKED_DAY: i64 = (1 << (64 - COUNT_BITS)) - 1;
/// `QuotaCounter::window` holds `[quota tag: 8 bits][first day: 28][day after the last: 28]`.
const DAY_BITS: u32 = 28;
const DAY_MASK: u64 = (1 << DAY_BITS) - 1;

/// What a window was computed for: the quota's period and offset (never 0).
fn quota_tag(q: &Quota) -> u64 {
    let period = match q.period {
        QuotaPeriod::Day => 0,
        QuotaPeriod::Week => 1,
        QuotaPeriod::Month => 2,
    };
    1 + period * 32 + u64::from(q.offset.min(31))
}

/// A window of days for `tag`, or 0 (none: every request takes the slow path) when the days
/// do not fit.
fn pack_window(tag: u64, first_day: i64, end_day: i64) -> u64 {
    let fits = |d: i64| (0..=DAY_MASK as i64).contains(&d);
    if !fits(first_day) || !fits(end_day) {
        return 0;
    }
    (tag << (2 * DAY_BITS)) | ((first_day as u64) << DAY_BITS) | end_day as u64
}

fn window_covers(window: u64, tag: u64, day: i64) -> bool {
    let first = ((window >> DAY_BITS) & DAY_MASK) as i64;
    let end = (window & DAY_MASK) as i64;
    window >> (2 * DAY_BITS) == tag && day >= first && day < end
}

/// One key's usage in one plan: the count of the quota period in force and the count per day.
///
/// A request touches only the atomics at the top (one cache line with the key's bucket, see
/// [`KeyUsage`]): it checks that the period it falls in is the one `window` describes, counts
/// itself in `used` by compare-and-swap, and only if `used` is below the limit (so the quota
/// is exact however many requests race), then in `today`. The mutex is taken only when a period
/// or a day ends, and by readers (the flush, `GetUsage`) and writers (`UpdateUsage`, loading).
#[derive(Debug, Default)]
#[repr(C)]
pub struct QuotaCounter {
    /// Requests counted in the period `window` describes (without a quota: ever).
    used: AtomicU64,
    /// The days of the period `used` counts, for the quota it was computed for; 0: none yet.
    window: AtomicU64,
    /// Today's count, not yet folded into `cold.days`: `[day][count]`, see `COUNT_BITS`.
    today: AtomicU64,
    /// Changed since it was last persisted.
    dirty: AtomicBool,
    cold: Mutex<CounterCold>,
}

#[derive(Debug, Default)]
struct CounterCold {
    /// The start of the period `used` counts (seconds since the epoch).
    period_start: i64,
    /// Requests per day, but for the day in `today`.
    days: BTreeMap<i64, u64>,
}

/// A counter's state, as it is persisted: what `used` counts is the period starting at
/// `period_start`; `days` maps day numbers to the requests accepted that day.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UsageRecord {
    pub period_start: i64,
    pub used: u64,
    pub days: BTreeMap<i64, u64>,
    /// Changed since it was last persisted.
    pub dirty: bool,
}

impl QuotaCounter {
    fn cold(&self) -> std::sync::MutexGuard<'_, CounterCold> {
        // Nothing panics while holding it; should something, the state is still consistent.
        self.cold.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Counts one request at `now` (seconds), unless the quota is exhausted. Without a quota it
    /// only counts.
    pub fn try_consume(&self, quota: Option<&Quota>, now: i64) -> bool {
        let day = day_of(now);
        match quota {
            Some(q) => {
                let tag = quota_tag(q);
                if !window_covers(self.window.load(Ordering::Acquire), tag, day) {
                    self.roll(&mut self.cold(), q, now);
                }
                let mut used = self.used.load(Ordering::Relaxed);
                loop {
                    if used >= q.limit {
                        return false;
                    }
                    match self.used.compare_exchange_weak(
                        used,
                        used + 1,
                        Ordering::SeqCst,
                        Ordering::Relaxed,
                    ) {
                        Ok(_) => break,
                        Err(seen) => used = seen,
                    }
                }
            }
            None => {
                self.used.fetch_add(1, Ordering::SeqCst);
            }
        }
        self.count_day(day);
        // SeqCst with the counts above and `take_dirty`'s swap: a flush that finds the flag
        // clear after this request saw it set also sees this request's counts.
        if !self.dirty.load(Ordering::SeqCst) {
            self.dirty.store(true, Ordering::SeqCst);
        }
        true
    }

    fn count_day(&self, day: i64) {
        if (0..=MAX_PACKED_DAY).contains(&day) {
            let mut cur = self.today.load(Ordering::Relaxed);
            while (cur >> COUNT_BITS) as i64 == day && cur & COUNT_MASK < COUNT_MASK {
                match self.today.compare_exchange_weak(
                    cur,
                    cur + 1,
                    Ordering::SeqCst,
                    Ordering::Relaxed,
                ) {
                    Ok(_) => return,
                    Err(seen) => cur = seen,
                }
            }
        }
        self.count_day_slow(day);
    }

    /// A new day (or one `today` cannot hold): under the mutex, the day ending is folded into
    /// `days` and the new one starts in `today`.
    fn count_day_slow(&self, day: i64) {
        let mut cold = self.cold();
        loop {
            let cur = self.today.load(Ordering::SeqCst);
            let cur_day = (cur >> COUNT_BITS) as i64;
            let packable = (0..=MAX_PACKED_DAY).contains(&day);
            if !packable || day < cur_day || (day == cur_day && cur & COUNT_MASK == COUNT_MASK) {
                // A request that read the clock just before another started the next day, or
                // a count that does not fit: straight into the map.
                *cold.days.entry(day).or_default() += 1;
                cold.prune(day.max(cur_day));
                return;
            }
            let next = if day == cur_day {
                cur + 1
            } else {
                ((day as u64) << COUNT_BITS) | 1
            };
            if self
                .today
                .compare_exchange(cur, next, Ordering::SeqCst, Ordering::Relaxed)
                .is_ok()
            {
                if day != cur_day && cur & COUNT_MASK > 0 {
                    *cold.days.entry(cur_day).or_default() += cur & COUNT_MASK;
                    cold.prune(day);
                }
                return;
            }
        }
    }

    /// Rolls the period over if `now` is past the window (or the quota's period changed).
    fn roll(&self, cold: &mut CounterCold, q: &Quota, now: i64) {
        let tag = quota_tag(q);
        if window_covers(self.window.load(Ordering::Acquire), tag, day_of(now)) {
            return; // another request did it
        }
        let start = period_start(q.period, q.offset, now);
        // Months have 28 to 31 days: 32 days on is always inside the next period.
        let end = period_start(q.period, q.offset, start + 32 * 86_400).min(match q.period {
            QuotaPeriod::Day => start + 86_400,
            QuotaPeriod::Week => start + 7 * 86_400,
            QuotaPeriod::Month => i64::MAX,
        });
        if cold.period_start != start {
            cold.period_start = start;
            self.used.store(0, Ordering::SeqCst);
        }
        // Periods start at midnight UTC, so a window of days describes one exactly.
        self.window.store(
            pack_window(tag, day_of(start), day_of(end)),
            Ordering::Release,
        );
    }

    /// The state now, with the period rolled over if `quota`'s has ended.
    pub fn read(&self, quota: Option<&Quota>, now: i64) -> UsageRecord {
        let cold = self.cold();
        let today = self.today.load(Ordering::SeqCst);
        let mut r = UsageRecord {
            period_start: cold.period_start,
            used: self.used.load(Ordering::SeqCst),
            days: cold.days.clone(),
            dirty: self.dirty.load(Ordering::SeqCst),
        };
        if today & COUNT_MASK > 0 {
            *r.days.entry((today >> COUNT_BITS) as i64).or_default() += today & COUNT_MASK;
        }
        if let Some(q) = quota {
            let start = period_start(q.period, q.offset, now);
            if r.period_start != start {
                r.period_start = start;
                r.used = 0;
            }
        }
        r
    }

    /// Sets what remains of the period in force (AWS's `UpdateUsage`).
    pub fn set_remaining(&self, quota: &Quota, remaining: u64, now: i64) {
        let mut cold = self.cold();
        self.roll(&mut cold, quota, now);
        self.used
            .store(quota.limit.saturating_sub(remaining), Ordering::SeqCst);
        self.dirty.store(true, Ordering::SeqCst);
    }

    fn replace(&self, r: UsageRecord) {
        let mut cold = self.cold();
        cold.period_start = r.period_start;
        cold.days = r.days;
        self.used.store(r.used, Ordering::SeqCst);
        self.window.store(0, Ordering::SeqCst);
        self.today.store(0, Ordering::SeqCst);
        self.dirty.store(r.dirty, Ordering::SeqCst);
    }

    /// Whether the state changed since the last call; marks it clean.
    fn take_dirty(&self) -> bool {
        self.dirty.swap(false, Ordering::SeqCst)
    }

    fn mark_dirty(&self) {
        self.dirty.store(true, Ordering::SeqCst);
    }
}

impl CounterCold {
    /// Keeps the last `KEEP_DAYS` days up to `newest`.
    fn prune(&mut self, newest: i64) {
        if self.days.len() as i64 > KEEP_DAYS {
            self.days.retain(|d, _| *d > newest - KEEP_DAYS);
        }
    }
}

/// One API key's state in one usage plan: the plan's token bucket for the key and its quota
/// counter. Everything a request touches (the bucket and the counter's atomics) is in the
/// first cache line of one allocation, so that a keyed request misses the cache once here,
/// where separate allocations for the bucket and the counter (and the counter's mutex) missed
/// it two or three times.
#[derive(Debug, Default)]
#[repr(C, align(64))]
pub struct KeyUsage {
    pub bucket: Bucket,
    pub counter: QuotaCounter,
    /// The plan throttle `bucket` was last attached with (see [`UsageState::attach`]).
    limits: Mutex<Option<Throttle>>,
}

impl KeyUsage {
    /// Records the plan throttle the bucket serves from now on: new limits start a full
    /// bucket (a token bucket's state means nothing under another rate).
    fn set_limits(&self, limits: Option<Throttle>) {
        let mut current = self.limits.lock().unwrap_or_else(|e| e.into_inner());
        if *current != limits {
            *current = limits;
            self.bucket.reset();
        }
    }
}

/// `(usage plan id, API key id)`.
pub type UsageKey = (String, String);

/// Every bucket and key's usage, by id, outside any snapshot. One per gateway.
#[derive(Debug, Default)]
pub struct UsageState {
    buckets: Mutex<HashMap<String, Arc<Bucket>>>,
    keys: Mutex<HashMap<UsageKey, Arc<KeyUsage>>>,
}

/// A slot in the snapshot for a bucket, filled by [`UsageState::attach`].
#[derive(Debug, Default)]
pub struct BucketSlot {
    pub id: String,
    cell: OnceLock<Arc<Bucket>>,
}

impl BucketSlot {
    pub fn new(id: String) -> BucketSlot {
        BucketSlot {
            id,
            cell: OnceLock::new(),
        }
    }

    /// The bucket; `None` only in a snapshot that was never swapped in.
    pub fn get(&self) -> Option<&Bucket> {
        self.cell.get().map(|b| &**b)
    }
}

/// A slot in the snapshot for a key's [`KeyUsage`], filled by [`UsageState::attach`].
#[derive(Debug, Default)]
pub struct KeySlot {
    cell: OnceLock<Arc<KeyUsage>>,
}

impl KeySlot {
    /// The key's usage; `None` only in a snapshot that was never swapped in.
    #[inline]
    pub fn get(&self) -> Option<&KeyUsage> {
        self.cell.get().map(|k| &**k)
    }

    /// Starts loading the key's usage into the cache.
    #[inline]
    pub fn prefetch(&self) {
        if let Some(k) = self.cell.get() {
            prefetch(&**k);
        }
    }
}

/// Starts loading `*p`'s cache line, without waiting for it. With thousands of keys in use, a
/// keyed request's key entry and usage are rarely in the cache, and each would otherwise cost
/// a wait on memory in turn (`docs/usage-plans.md`, Cost).
#[inline(always)]
pub fn prefetch<T>(p: &T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch is a hint: it reads nothing the program sees and cannot fault.
    unsafe {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        _mm_prefetch::<_MM_HINT_T0>((p as *const T).cast());
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}

/// What [`UsageState::attach`] needs of a key's slot: its ids, its plan's throttle, the slot.
pub type KeyAttachment<'a> = (&'a UsageKey, Option<Throttle>, &'a KeySlot);

impl UsageState {
    /// Fills a snapshot's slots with the buckets and key usages of their ids (new ones where
    /// there are none yet), and forgets the buckets no slot uses any more. Key usages are kept
    /// (their usage is reported and persisted even while a key is out of every plan).
    pub fn attach<'a>(
        &self,
        buckets: impl Iterator<Item = &'a BucketSlot>,
        keys: impl Iterator<Item = KeyAttachment<'a>>,
    ) {
        if let Ok(mut map) = self.buckets.lock() {
            let mut live = HashSet::new();
            for slot in buckets {
                let b = map.entry(slot.id.clone()).or_default().clone();
                let _ = slot.cell.set(b);
                live.insert(slot.id.clone());
            }
            map.retain(|id, _| live.contains(id));
        }
        if let Ok(mut map) = self.keys.lock() {
            for (key, limits, slot) in keys {
                let k = map.entry(key.clone()).or_default().clone();
                k.set_limits(limits);
                let _ = slot.cell.set(k);
            }
        }
    }

    fn key(&self, key: &UsageKey) -> Arc<KeyUsage> {
        match self.keys.lock() {
            Ok(mut map) => map.entry(key.clone()).or_default().clone(),
            Err(_) => Arc::default(),
        }
    }

    /// Loads persisted usage (at start, before traffic).
    pub fn load(&self, records: impl IntoIterator<Item = (UsageKey, UsageRecord)>) {
        for (key, mut r) in records {
            r.dirty = false;
            self.key(&key).counter.replace(r);
        }
    }

    /// The usage of `key` now, if it has any.
    pub fn read(&self, key: &UsageKey, quota: Option<&Quota>, now: i64) -> Option<UsageRecord> {
        let k = self.keys.lock().ok()?.get(key).cloned()?;
        Some(k.counter.read(quota, now))
    }

    /// Sets what remains of `key`'s quota period.
    pub fn set_remaining(&self, key: &UsageKey, quota: &Quota, remaining: u64, now: i64) {
        self.key(key).counter.set_remaining(quota, remaining, now);
    }

    /// Forgets the usage of a plan (or of one key in it): after a delete.
    pub fn forget(&self, plan_id: &str, key_id: Option<&str>) {
        if let Ok(mut map) = self.keys.lock() {
            map.retain(|(p, k), _| p != plan_id || key_id.is_some_and(|id| id != k));
        }
    }

    /// The counters changed since the last call, marked clean. A caller that fails to
    /// persist them gives them back with [`UsageState::unpersisted`].
    pub fn take_dirty(&self) -> Vec<UsageKey> {
        // Under the registry's lock (never taken by requests): one atomic swap per key, and
        // only the dirty keys' ids copied.
        match self.keys.lock() {
            Ok(map) => map
                .iter()
                .filter(|(_, c)| c.counter.take_dirty())
                .map(|(k, _)| k.clone())
                .collect(),
            Err(_) => Vec::new(),
        }
    }

    /// Every counter of plan `plan_id` (the whole plan is persisted as one document).
    pub fn plan_records(&self, plan_id: &str, now: i64) -> Vec<(String, UsageRecord)> {
        let keys: Vec<(String, Arc<KeyUsage>)> = match self.keys.lock() {
            Ok(map) => map
                .iter()
                .filter(|((p, _), _)| p == plan_id)
                .map(|((_, k), c)| (k.clone(), c.clone()))
                .collect(),
            Err(_) => return Vec::new(),
        };
        keys.into_iter()
            .map(|(k, c)| (k, c.counter.read(None, now)))
            .collect()
    }

    /// Marks counters dirty again (their write failed).
    pub fn unpersisted(&self, keys: &[UsageKey]) {
        for k in keys {
            self.key(k).counter.mark_dirty();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(y: i32, m: u8, d: u8, h: u8) -> i64 {
        let date = time::Date::from_calendar_date(y, time::Month::try_from(m).unwrap(), d).unwrap();
        date.with_hms(h, 0, 0)
            .unwrap()
            .assume_utc()
            .unix_timestamp()
    }

    #[test]
    fn bucket_admits_burst_then_rate() {
        let b = Bucket::default();
        let t = Throttle {
            rate_limit: 10.0,
            burst_limit: 5,
        };
        let now = 1_000_000_000;
        assert_eq!((0..20).filter(|_| b.try_acquire(t, now)).count(), 5);
        // 100 ms later, one token more.
        assert!(b.try_acquire(t, now + 100_000_000));
        assert!(!b.try_acquire(t, now + 100_000_000));
        // Idle for long: full again, never more than the burst.
        let later = now + 60_000_000_000;
        assert_eq!((0..20).filter(|_| b.try_acquire(t, later)).count(), 5);
        let zero = Throttle {
            rate_limit: 0.0,
            burst_limit: 5,
        };
        assert!(!Bucket::default().try_acquire(zero, now));
    }

    #[test]
    fn day_periods_roll_over_at_midnight_utc() {
        let q = Quota {
            limit: 2,
            period: QuotaPeriod::Day,
            offset: 0,
        };
        let c = QuotaCounter::default();
        let evening = at(2026, 3, 1, 23);
        assert!(c.try_consume(Some(&q), evening));
        assert!(c.try_consume(Some(&q), evening + 3599));
        assert!(!c.try_consume(Some(&q), evening + 3599));
        // 2026-03-02 00:00:00: a new day.
        assert!(c.try_consume(Some(&q), evening + 3600));
        let r = c.read(Some(&q), evening + 3600);
        assert_eq!(r.used, 1);
        assert_eq!(r.period_start, at(2026, 3, 2, 0));
        assert_eq!(r.days.values().copied().collect::<Vec<_>>(), vec![2, 1]);
    }

    #[test]
    fn week_periods_start_on_the_offset_day() {
        // 2026-11-28 is a Saturday.
        let sat = at(2026, 11, 28, 12);
        assert_eq!(period_start(QuotaPeriod::Week, 0, sat), at(2026, 11, 22, 0)); // Sunday
        assert_eq!(period_start(QuotaPeriod::Week, 1, sat), at(2026, 11, 23, 0)); // Monday
        assert_eq!(period_start(QuotaPeriod::Week, 6, sat), at(2026, 11, 28, 0)); // Saturday
        let q = Quota {
            limit: 1,
            period: QuotaPeriod::Week,
            offset: 1,
        };
        let c = QuotaCounter::default();
        let sunday_night = at(2026, 11, 29, 23);
        assert!(c.try_consume(Some(&q), sunday_night));
        assert!(!c.try_consume(Some(&q), sunday_night + 3599));
        assert!(c.try_consume(Some(&q), sunday_night + 3600)); // Monday 00:00
    }

    #[test]
    fn month_periods_roll_over_across_months_and_years() {
        assert_eq!(
            period_start(QuotaPeriod::Month, 0, at(2026, 2, 28, 23)),
            at(2026, 2, 1, 0)
        );
        // Offset 14: the month starts on the 15th.
        assert_eq!(
            period_start(QuotaPeriod::Month, 14, at(2026, 1, 14, 23)),
            at(2025, 12, 15, 0)
        );
        assert_eq!(
            period_start(QuotaPeriod::Month, 14, at(2026, 1, 15, 0)),
            at(2026, 1, 15, 0)
        );
        let q = Quota {
            limit: 3,
            period: QuotaPeriod::Month,
            offset: 0,
        };
        let c = QuotaCounter::default();
        let last = at(2026, 12, 31, 23);
        for _ in 0..3 {
            assert!(c.try_consume(Some(&q), last));
        }
        assert!(!c.try_consume(Some(&q), last + 3599));
        assert!(c.try_consume(Some(&q), last + 3600)); // 2027-01-01
        assert_eq!(
            c.read(Some(&q), last + 3600).period_start,
            at(2027, 1, 1, 0)
        );
    }

    #[test]
    fn quota_is_exact_under_concurrency() {
        let q = Quota {
            limit: 1000,
            period: QuotaPeriod::Day,
            offset: 0,
        };
        let c = Arc::new(QuotaCounter::default());
        let now = at(2026, 5, 5, 5);
        let accepted: usize = std::thread::scope(|s| {
            let hs: Vec<_> = (0..64)
                .map(|_| {
                    let c = c.clone();
                    s.spawn(move || (0..100).filter(|_| c.try_consume(Some(&q), now)).count())
                })
                .collect();
            hs.into_iter().map(|h| h.join().unwrap()).sum()
        });
        assert_eq!(accepted, 1000);
    }

    #[test]
    fn what_a_request_touches_is_one_cache_line() {
        use std::mem::{align_of, offset_of};
        assert_eq!(align_of::<KeyUsage>(), 64);
        assert_eq!(offset_of!(KeyUsage, bucket), 0);
        let hot_end = offset_of!(KeyUsage, counter) + offset_of!(QuotaCounter, dirty) + 1;
        assert!(hot_end <= 64, "{hot_end}");
        assert!(offset_of!(QuotaCounter, used) < offset_of!(QuotaCounter, cold));
        assert!(offset_of!(QuotaCounter, today) < offset_of!(QuotaCounter, cold));
    }

    /// Requests racing across midnight: every one is counted on its own day, and the quota
    /// (a monthly one, so both days share it) is exact.
    #[test]
    fn day_counts_are_exact_across_midnight_under_concurrency() {
        let q = Quota {
            limit: 5_000,
            period: QuotaPeriod::Month,
            offset: 0,
        };
        let c = Arc::new(QuotaCounter::default());
        let evening = at(2026, 5, 5, 23);
        let night = at(2026, 5, 6, 0);
        let accepted: Vec<(usize, usize)> = std::thread::scope(|s| {
            let hs: Vec<_> = (0..16)
                .map(|t| {
                    let c = c.clone();
                    s.spawn(move || {
                        let (mut before, mut after) = (0, 0);
                        for i in 0..500 {
                            // Interleaved, and the late ones a little behind the early ones.
                            if (i + t) % 3 == 0 {
                                before += c.try_consume(Some(&q), evening) as usize;
                            } else {
                                after += c.try_consume(Some(&q), night) as usize;
                            }
                        }
                        (before, after)
                    })
                })
                .collect();
            hs.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let before: usize = accepted.iter().map(|a| a.0).sum();
        let after: usize = accepted.iter().map(|a| a.1).sum();
        assert_eq!(before + after, 5_000);
        let r = c.read(Some(&q), night);
        assert_eq!(r.used, 5_000);
        assert_eq!(
            r.days.get(&day_of(evening)).copied().unwrap_or(0),
            before as u64
        );
        assert_eq!(
            r.days.get(&day_of(night)).copied().unwrap_or(0),
            after as u64
        );
        assert!(!c.try_consume(Some(&q), night));
    }

    /// Loaded usage, new counts and the dirty flag: what the flush sees.
    #[test]
    fn loaded_usage_is_added_to_and_reported_dirty_once() {
        let q = Quota {
            limit: 10,
            period: QuotaPeriod::Day,
            offset: 0,
        };
        let now = at(2026, 5, 5, 5);
        let c = QuotaCounter::default();
        c.replace(UsageRecord {
            period_start: at(2026, 5, 5, 0),
            used: 7,
            days: BTreeMap::from([(day_of(now) - 1, 4), (day_of(now), 7)]),
            dirty: false,
        });
        assert!(!c.take_dirty());
        assert_eq!((0..5).filter(|_| c.try_consume(Some(&q), now)).count(), 3);
        assert!(c.take_dirty());
        assert!(!c.take_dirty());
        let r = c.read(Some(&q), now);
        assert_eq!(r.used, 10);
        assert_eq!(r.days[&(day_of(now) - 1)], 4);
        assert_eq!(r.days[&day_of(now)], 10);
    }

    /// Dates the packed window cannot hold (before 1970 here) take the slow path, and count
    /// the same.
    #[test]
    fn dates_outside_the_packed_range_still_count() {
        let q = Quota {
            limit: 2,
            period: QuotaPeriod::Day,
            offset: 0,
        };
        let c = QuotaCounter::default();
        let old = at(1969, 7, 20, 20);
        assert!(c.try_consume(Some(&q), old));
        assert!(c.try_consume(Some(&q), old + 60));
        assert!(!c.try_consume(Some(&q), old + 120));
        assert!(c.try_consume(Some(&q), at(1969, 7, 21, 1)));
        let r = c.read(Some(&q), at(1969, 7, 21, 1));
        assert_eq!(r.used, 1);
        assert_eq!(r.days.values().copied().collect::<Vec<_>>(), vec![2, 1]);
    }

    /// A plan's bucket lives as long as the key's usage, and new limits refill it.
    #[test]
    fn new_limits_refill_a_keys_bucket() {
        let state = UsageState::default();
        let ids: UsageKey = ("plan".into(), "key".into());
        let t = Throttle {
            rate_limit: 1.0,
            burst_limit: 2,
        };
        let now = 1_000_000_000;
        let slot = KeySlot::default();
        state.attach(std::iter::empty(), std::iter::once((&ids, Some(t), &slot)));
        let k = slot.get().unwrap();
        assert_eq!((0..5).filter(|_| k.bucket.try_acquire(t, now)).count(), 2);
        // Another snapshot with the same limits: the same, empty, bucket.
        let same = KeySlot::default();
        state.attach(std::iter::empty(), std::iter::once((&ids, Some(t), &same)));
        assert!(!same.get().unwrap().bucket.try_acquire(t, now));
        let t3 = Throttle {
            rate_limit: 1.0,
            burst_limit: 3,
        };
        let other = KeySlot::default();
        state.attach(
            std::iter::empty(),
            std::iter::once((&ids, Some(t3), &other)),
        );
        let k = other.get().unwrap();
        assert_eq!((0..5).filter(|_| k.bucket.try_acquire(t3, now)).count(), 3);
    }

    #[test]
    fn set_remaining_resets_the_period() {
        let q = Quota {
            limit: 10,
            period: QuotaPeriod::Day,
            offset: 0,
        };
        let c = QuotaCounter::default();
        let now = at(2026, 5, 5, 5);
        for _ in 0..10 {
            assert!(c.try_consume(Some(&q), now));
        }
        assert!(!c.try_consume(Some(&q), now));
        c.set_remaining(&q, 3, now);
        assert_eq!((0..10).filter(|_| c.try_consume(Some(&q), now)).count(), 3);
    }
}
