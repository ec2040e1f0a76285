//! Throttling and quota state: token buckets and quota counters. They live outside the
//! snapshot, keyed by ids, so that they survive every snapshot swap; the compiled snapshot
//! holds `Arc`s to them, attached by [`UsageState::attach`] when the snapshot is swapped in.
//!
//! Hot path: a request touches only the buckets and the counter of its own route and key —
//! atomics (a bucket is one `AtomicU64`, compare-and-swap) and one per-(plan, key) mutex for the
//! quota. The registry's mutex is taken only by `attach`, persistence and the admin API.
//!
//! Token buckets use GCRA (the "virtual scheduling" form of a token bucket): a bucket of
//! `burst` tokens refilled at `rate` per second admits the same requests as a theoretical
//! arrival time `tat` that moves `1/rate` per admitted request and may run at most
//! `(burst − 1)/rate` ahead of now. Over `D` seconds of saturation it admits
//! `burst + rate × D` requests.

use archway_model::{Quota, QuotaPeriod, Throttle};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Instant, SystemTime};

/// The monotonic clock's start, and the wall clock then (nanoseconds since the epoch).
fn clock_base() -> &'static (Instant, i128) {
    static BASE: OnceLock<(Instant, i128)> = OnceLock::new();
    BASE.get_or_init(|| {
        let wall = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as i128);
        (Instant::now(), wall)
    })
}

/// Nanoseconds on the process's monotonic clock (never 0).
pub fn monotonic_nanos() -> u64 {
    clock_base()
        .0
        .elapsed()
        .as_nanos()
        .min(u64::MAX as u128 / 2) as u64
        + 1
}

/// Seconds since the epoch at [`monotonic_nanos`] `mono`: the wall clock read at start plus
/// the monotonic time since, so that a request reads one clock, not two. (A wall clock stepped
/// while the process runs moves quota periods by that step; NTP's slewing is negligible.)
pub fn wall_seconds_at(mono: u64) -> i64 {
    ((clock_base().1 + mono as i128) / 1_000_000_000) as i64
}

/// A token bucket (see the module's doc). The limits are given at each call, since they come
/// from the snapshot and may change while the bucket lives on.
#[derive(Debug, Default)]
pub struct Bucket {
    /// The theoretical arrival time, in [`monotonic_nanos`].
    tat: AtomicU64,
}

impl Bucket {
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

/// One key's usage in one plan: the count of the quota period in force and the count per day.
#[derive(Debug, Default)]
pub struct QuotaCounter {
    state: Mutex<CounterState>,
}

#[derive(Debug, Default)]
struct CounterState {
    /// `record.days` without `today_count`, which is folded in when the day changes or the
    /// record is read, so that a request does not touch the map.
    record: UsageRecord,
    today: i64,
    today_count: u64,
    /// The period `record.period_start` opens, cached so that a request does no calendar
    /// arithmetic: `(period, offset, end)` of the quota it was computed for.
    period: Option<(QuotaPeriod, u32, i64)>,
}

impl CounterState {
    fn fold_today(&mut self) {
        if self.today_count == 0 {
            return;
        }
        let day = self.today;
        *self.record.days.entry(day).or_default() += std::mem::take(&mut self.today_count);
        if self.record.days.len() as i64 > KEEP_DAYS {
            self.record.days.retain(|d, _| *d > day - KEEP_DAYS);
        }
    }

    /// Rolls the period over if `now` is past it (or the quota's period changed).
    fn roll(&mut self, q: &Quota, now: i64) {
        let fresh = matches!(self.period, Some((p, o, end))
            if p == q.period && o == q.offset && now >= self.record.period_start && now < end);
        if fresh {
            return;
        }
        let start = period_start(q.period, q.offset, now);
        // Months have 28 to 31 days: 32 days on is always inside the next period.
        let end = period_start(q.period, q.offset, start + 32 * 86_400).min(match q.period {
            QuotaPeriod::Day => start + 86_400,
            QuotaPeriod::Week => start + 7 * 86_400,
            QuotaPeriod::Month => i64::MAX,
        });
        if self.record.period_start != start {
            self.record.period_start = start;
            self.record.used = 0;
        }
        self.period = Some((q.period, q.offset, end));
    }
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
    /// Counts one request at `now` (seconds), unless the quota is exhausted. Without a quota it
    /// only counts.
    pub fn try_consume(&self, quota: Option<&Quota>, now: i64) -> bool {
        let Ok(mut st) = self.state.lock() else {
            return false;
        };
        if let Some(q) = quota {
            st.roll(q, now);
            if st.record.used >= q.limit {
                return false;
            }
        }
        st.record.used += 1;
        let day = day_of(now);
        if day != st.today {
            st.fold_today();
            st.today = day;
        }
        st.today_count += 1;
        st.record.dirty = true;
        true
    }

    /// The state now, with the period rolled over if `quota`'s has ended.
    pub fn read(&self, quota: Option<&Quota>, now: i64) -> UsageRecord {
        let Ok(mut st) = self.state.lock() else {
            return UsageRecord::default();
        };
        st.fold_today();
        let mut r = st.record.clone();
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
        if let Ok(mut st) = self.state.lock() {
            st.roll(quota, now);
            st.record.used = quota.limit.saturating_sub(remaining);
            st.record.dirty = true;
        }
    }

    fn replace(&self, r: UsageRecord) {
        if let Ok(mut st) = self.state.lock() {
            *st = CounterState {
                record: r,
                ..CounterState::default()
            };
        }
    }

    /// Whether the state changed since the last call; marks it clean.
    fn take_dirty(&self) -> bool {
        match self.state.lock() {
            Ok(mut st) => std::mem::take(&mut st.record.dirty),
            Err(_) => false,
        }
    }

    fn mark_dirty(&self) {
        if let Ok(mut st) = self.state.lock() {
            st.record.dirty = true;
        }
    }
}

/// `(usage plan id, API key id)`.
pub type UsageKey = (String, String);

/// Every bucket and counter, by id, outside any snapshot. One per gateway.
#[derive(Debug, Default)]
pub struct UsageState {
    buckets: Mutex<HashMap<String, Arc<Bucket>>>,
    counters: Mutex<HashMap<UsageKey, Arc<QuotaCounter>>>,
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

/// A slot in the snapshot for a quota counter, filled by [`UsageState::attach`].
#[derive(Debug, Default)]
pub struct CounterSlot {
    pub key: UsageKey,
    cell: OnceLock<Arc<QuotaCounter>>,
}

impl CounterSlot {
    pub fn new(key: UsageKey) -> CounterSlot {
        CounterSlot {
            key,
            cell: OnceLock::new(),
        }
    }

    pub fn get(&self) -> Option<&QuotaCounter> {
        self.cell.get().map(|c| &**c)
    }
}

impl UsageState {
    /// Fills a snapshot's slots with the buckets and counters of their ids (new ones where
    /// there are none yet), and forgets the buckets no slot uses any more. Counters are kept
    /// (their usage is reported and persisted even while a key is out of every plan).
    pub fn attach<'a>(
        &self,
        buckets: impl Iterator<Item = &'a BucketSlot>,
        counters: impl Iterator<Item = &'a CounterSlot>,
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
        if let Ok(mut map) = self.counters.lock() {
            for slot in counters {
                let c = map.entry(slot.key.clone()).or_default().clone();
                let _ = slot.cell.set(c);
            }
        }
    }

    fn counter(&self, key: &UsageKey) -> Arc<QuotaCounter> {
        match self.counters.lock() {
            Ok(mut map) => map.entry(key.clone()).or_default().clone(),
            Err(_) => Arc::default(),
        }
    }

    /// Loads persisted usage (at start, before traffic).
    pub fn load(&self, records: impl IntoIterator<Item = (UsageKey, UsageRecord)>) {
        for (key, mut r) in records {
            r.dirty = false;
            self.counter(&key).replace(r);
        }
    }

    /// The usage of `key` now, if it has any.
    pub fn read(&self, key: &UsageKey, quota: Option<&Quota>, now: i64) -> Option<UsageRecord> {
        let c = self.counters.lock().ok()?.get(key).cloned()?;
        Some(c.read(quota, now))
    }

    /// Sets what remains of `key`'s quota period.
    pub fn set_remaining(&self, key: &UsageKey, quota: &Quota, remaining: u64, now: i64) {
        self.counter(key).set_remaining(quota, remaining, now);
    }

    /// Forgets the usage of a plan (or of one key in it): after a delete.
    pub fn forget(&self, plan_id: &str, key_id: Option<&str>) {
        if let Ok(mut map) = self.counters.lock() {
            map.retain(|(p, k), _| p != plan_id || key_id.is_some_and(|id| id != k));
        }
    }

    /// The counters changed since the last call, marked clean. A caller that fails to
    /// persist them gives them back with [`UsageState::unpersisted`].
    pub fn take_dirty(&self) -> Vec<UsageKey> {
        let counters: Vec<(UsageKey, Arc<QuotaCounter>)> = match self.counters.lock() {
            Ok(map) => map.iter().map(|(k, c)| (k.clone(), c.clone())).collect(),
            Err(_) => return Vec::new(),
        };
        counters
            .into_iter()
            .filter_map(|(k, c)| c.take_dirty().then_some(k))
            .collect()
    }

    /// Every counter of plan `plan_id` (the whole plan is persisted as one document).
    pub fn plan_records(&self, plan_id: &str, now: i64) -> Vec<(String, UsageRecord)> {
        let counters: Vec<(String, Arc<QuotaCounter>)> = match self.counters.lock() {
            Ok(map) => map
                .iter()
                .filter(|((p, _), _)| p == plan_id)
                .map(|((_, k), c)| (k.clone(), c.clone()))
                .collect(),
            Err(_) => return Vec::new(),
        };
        counters
            .into_iter()
            .map(|(k, c)| (k, c.read(None, now)))
            .collect()
    }

    /// Marks counters dirty again (their write failed).
    pub fn unpersisted(&self, keys: &[UsageKey]) {
        for k in keys {
            self.counter(k).mark_dirty();
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
