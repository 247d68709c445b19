//! A zone's parking tariff and the fee it gives for a stay.
//!
//! Pure: no clock, no store. It decides what a stay from `entered` to `at` costs, when that
//! fee next rises (for a kiosk's "pay before HH:MM"), and which tariffs an admin may set. It
//! must not know sessions, payments or zones; `super::tariffs` maps zones to tariffs.
//!
//! Amounts are integers in the currency's minor unit (KRW has none: won). All arithmetic is
//! done in `i128`/`u128` and saturated, so an absurd stay cannot overflow or panic.

use serde::{Deserialize, Serialize};
use thiserror::Error;
use utoipa::ToSchema;

use crate::time::Millis;

const MINUTE_MS: i128 = 60_000;
const DAY_MS: i128 = 86_400_000;

/// Longest period a tariff may have: one day.
pub const MAX_PERIOD_MINUTES: u32 = 1_440;
/// Longest free stay a tariff may grant: seven days.
pub const MAX_FREE_MINUTES: u32 = 7 * 1_440;
/// Westmost local midnight: UTC-12:00.
pub const MIN_UTC_OFFSET_MINUTES: i32 = -720;
/// Eastmost local midnight: UTC+14:00.
pub const MAX_UTC_OFFSET_MINUTES: i32 = 840;
/// Korea Standard Time, UTC+09:00: the default local midnight.
pub const KST_OFFSET_MINUTES: i32 = 540;

fn kst() -> i32 {
    KST_OFFSET_MINUTES
}

/// A zone's tariff. Amounts are integers in the currency's minor unit (KRW has none: won).
///
/// The fee for a stay ([`Tariff::fee`]):
///
/// 1. A stay that has not begun (`at <= entered`) or lasts at most `free_minutes` costs 0.
/// 2. A longer stay is charged from entry, not from the end of the free minutes: it is cut
///    into periods of `period_minutes` from `entered` (period `k` starts at
///    `entered + k * period`), and every period begun is charged `rate_per_period`. A stay of
///    exactly `n` periods is `n` periods; one millisecond more begins period `n + 1`.
/// 3. Each period belongs to the local calendar day (midnight at `utc_offset_minutes` east of
///    UTC) in which it starts, even when it runs past midnight. A day's charge is
///    `min(daily_cap, periods starting that day * rate_per_period)`; the fee is the sum of the
///    days' charges. Without a cap, the fee is `periods * rate_per_period`.
/// 4. The fee saturates at `u64::MAX`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Tariff {
    /// A stay of at most this long costs nothing; a longer stay is charged from entry.
    /// 0 to 10080 (seven days).
    pub free_minutes: u32,
    /// Length of a charged period, 1 to 1440 minutes.
    pub period_minutes: u32,
    /// Charged for every period begun, in the currency's minor unit.
    pub rate_per_period: u64,
    /// The most one local calendar day's periods may cost; absent or null: no cap.
    /// 0 makes the car park free.
    #[serde(default)]
    pub daily_cap: Option<u64>,
    /// The car park's local midnight, minutes east of UTC, -720 to 840 (default 540, KST).
    #[serde(default = "kst")]
    pub utc_offset_minutes: i32,
}

/// Why a tariff was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum TariffError {
    #[error("period_minutes is {0}; a period is 1 to {MAX_PERIOD_MINUTES} minutes (one day)")]
    BadPeriod(u32),
    #[error("free_minutes is {0}; the free stay is 0 to {MAX_FREE_MINUTES} minutes (seven days)")]
    BadFreeMinutes(u32),
    #[error(
        "utc_offset_minutes is {0}; the local midnight is {MIN_UTC_OFFSET_MINUTES} to \
         {MAX_UTC_OFFSET_MINUTES} minutes east of UTC (540 for KST)"
    )]
    BadUtcOffset(i32),
}

impl Default for Tariff {
    fn default() -> Tariff {
        Tariff::SHORT_TERM
    }
}

/// The preset tariff called `name`: `short_term` or `long_term`.
pub fn preset(name: &str) -> Option<Tariff> {
    match name {
        "short_term" => Some(Tariff::SHORT_TERM),
        "long_term" => Some(Tariff::LONG_TERM),
        _ => None,
    }
}

/// `ceil(a / b)` for `b > 0`.
fn ceil_div(a: i128, b: i128) -> i128 {
    a.div_euclid(b) + i128::from(a.rem_euclid(b) != 0)
}

impl Tariff {
    /// Short-term car parks: 10 minutes free, 1,000 per 15 minutes, at most 24,000 a day.
    pub const SHORT_TERM: Tariff = Tariff {
        free_minutes: 10,
        period_minutes: 15,
        rate_per_period: 1_000,
        daily_cap: Some(24_000),
        utc_offset_minutes: KST_OFFSET_MINUTES,
    };

    /// Long-term car parks: 10 minutes free, 1,000 per hour, at most 9,000 a day.
    pub const LONG_TERM: Tariff = Tariff {
        free_minutes: 10,
        period_minutes: 60,
        rate_per_period: 1_000,
        daily_cap: Some(9_000),
        utc_offset_minutes: KST_OFFSET_MINUTES,
    };

    /// The tariff as given, or the first reason it cannot be used. A rate of 0 and a cap of 0
    /// are allowed (a free car park).
    pub fn check(self) -> Result<Tariff, TariffError> {
        if self.period_minutes == 0 || self.period_minutes > MAX_PERIOD_MINUTES {
            return Err(TariffError::BadPeriod(self.period_minutes));
        }
        if self.free_minutes > MAX_FREE_MINUTES {
            return Err(TariffError::BadFreeMinutes(self.free_minutes));
        }
        if !(MIN_UTC_OFFSET_MINUTES..=MAX_UTC_OFFSET_MINUTES).contains(&self.utc_offset_minutes) {
            return Err(TariffError::BadUtcOffset(self.utc_offset_minutes));
        }
        Ok(self)
    }

    /// The period in ms; a period of 0 (refused by [`Tariff::check`]) is taken as 1 minute so
    /// that an unchecked tariff cannot divide by zero.
    fn period_ms(&self) -> i128 {
        i128::from(self.period_minutes.max(1)) * MINUTE_MS
    }

    fn free_ms(&self) -> i128 {
        i128::from(self.free_minutes) * MINUTE_MS
    }

    fn offset_ms(&self) -> i128 {
        i128::from(self.utc_offset_minutes) * MINUTE_MS
    }

    /// The local day (days since the local epoch) in which the instant `t` (UTC ms) falls.
    fn day_of(&self, t: i128) -> i128 {
        (t + self.offset_ms()).div_euclid(DAY_MS)
    }

    /// The UTC instant at which local day `d` begins.
    fn day_start(&self, d: i128) -> i128 {
        d * DAY_MS - self.offset_ms()
    }

    /// One day's charge for `count` periods.
    fn day_charge(&self, count: i128) -> u128 {
        let periods = u128::try_from(count.max(0)).unwrap_or(0);
        let raw = periods.saturating_mul(u128::from(self.rate_per_period));
        match self.daily_cap {
            Some(cap) => raw.min(u128::from(cap)),
            None => raw,
        }
    }

    /// Periods begun by a stay of `stay` ms, 0 within the free minutes.
    fn periods(&self, stay: i128) -> i128 {
        if stay <= 0 || stay <= self.free_ms() {
            0
        } else {
            ceil_div(stay, self.period_ms())
        }
    }

    /// The fee for a stay from `entered` to `at`, by the rules on [`Tariff`].
    ///
    /// Computed per local day, not per period: the first and last day touched are counted
    /// exactly, and every whole day between holds either `floor(day / period)` or one more
    /// period start, so those days are summed in two groups.
    pub fn fee(&self, entered: Millis, at: Millis) -> u64 {
        let e = i128::from(entered.0);
        let stay = i128::from(at.0) - e;
        let n = self.periods(stay);
        if n == 0 {
            return 0;
        }
        let p = self.period_ms();
        // Periods k in 0..n start at e + k * p; how many start before the UTC instant `t`.
        let before = |t: i128| ceil_div(t - e, p).clamp(0, n);
        let first_day = self.day_of(e);
        let last_day = self.day_of(e + (n - 1) * p);
        let total: u128 = if first_day == last_day {
            self.day_charge(n)
        } else {
            let first = before(self.day_start(first_day + 1));
            let last = n - before(self.day_start(last_day));
            let mid_days = last_day - first_day - 1;
            let mid_periods = n - first - last;
            let mut sum = self.day_charge(first).saturating_add(self.day_charge(last));
            if mid_days > 0 {
                let q = DAY_MS / p;
                // Whole days with q + 1 period starts; the rest hold q.
                let long = (mid_periods - q * mid_days).clamp(0, mid_days);
                let short = mid_days - long;
                let times = |count: i128| u128::try_from(count).unwrap_or(0);
                sum = sum
                    .saturating_add(self.day_charge(q).saturating_mul(times(short)))
                    .saturating_add(self.day_charge(q + 1).saturating_mul(times(long)));
            }
            sum
        };
        u64::try_from(total).unwrap_or(u64::MAX)
    }

    /// The first instant after `at` at which the fee is higher than `fee(entered, at)`: paying
    /// at any instant before it costs what it costs at `at`. None when the fee can never rise
    /// (a rate of 0 or a daily cap of 0) or the instant is past the end of [`Millis`].
    ///
    /// - Within the free minutes: one ms after they end (the first charged stay).
    /// - Otherwise one ms after the next period starts (the period is then begun), unless the
    ///   local day in which it starts is already at its cap: then one ms after the first
    ///   period that starts on a later local day.
    pub fn next_change(&self, entered: Millis, at: Millis) -> Option<Millis> {
        if self.rate_per_period == 0 || self.daily_cap == Some(0) {
            return None;
        }
        let e = i128::from(entered.0);
        let a = i128::from(at.0);
        let free_end = e + self.free_ms();
        let change = if a <= free_end {
            free_end + 1
        } else {
            let p = self.period_ms();
            let n = self.periods(a - e);
            let next_start = e + n * p;
            let day = self.day_of(next_start);
            let today = n - ceil_div(self.day_start(day) - e, p).clamp(0, n);
            let capped = self
                .daily_cap
                .is_some_and(|cap| self.day_charge(today) >= u128::from(cap));
            if capped {
                let k = ceil_div(self.day_start(day + 1) - e, p);
                e + k * p + 1
            } else {
                next_start + 1
            }
        };
        i64::try_from(change).ok().map(Millis)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: i64 = 60_000;
    const HOUR: i64 = 60 * MIN;
    const DAY: i64 = 24 * HOUR;

    /// The UTC instant of local `hh:mm` on local day `day` (days since 1970-01-01 local).
    fn local(t: &Tariff, day: i64, hh: i64, mm: i64) -> Millis {
        Millis(day * DAY + hh * HOUR + mm * MIN - i64::from(t.utc_offset_minutes) * MIN)
    }

    fn no_cap() -> Tariff {
        Tariff {
            daily_cap: None,
            ..Tariff::SHORT_TERM
        }
    }

    /// The fee the rules give, one period at a time (for comparing with [`Tariff::fee`]).
    fn slow_fee(t: &Tariff, entered: Millis, at: Millis) -> u64 {
        let stay = at.0 - entered.0;
        if stay <= 0 || stay <= i64::from(t.free_minutes) * MIN {
            return 0;
        }
        let p = i64::from(t.period_minutes) * MIN;
        let n = (stay + p - 1) / p;
        let off = i64::from(t.utc_offset_minutes) * MIN;
        let mut days: std::collections::BTreeMap<i64, u64> = Default::default();
        for k in 0..n {
            *days.entry((entered.0 + k * p + off).div_euclid(DAY)).or_default() += 1;
        }
        days.values()
            .map(|&c| {
                let raw = c * t.rate_per_period;
                t.daily_cap.map_or(raw, |cap| raw.min(cap))
            })
            .sum()
    }

    #[test]
    fn presets_and_default() {
        assert_eq!(Tariff::default(), Tariff::SHORT_TERM);
        assert_eq!(preset("short_term"), Some(Tariff::SHORT_TERM));
        assert_eq!(preset("long_term"), Some(Tariff::LONG_TERM));
        assert_eq!(preset("short-term"), None);
        assert_eq!(Tariff::SHORT_TERM.check(), Ok(Tariff::SHORT_TERM));
        assert_eq!(Tariff::LONG_TERM.check(), Ok(Tariff::LONG_TERM));
    }

    #[test]
    fn the_free_minutes_cost_nothing_and_one_ms_more_is_charged_from_entry() {
        let t = Tariff::SHORT_TERM;
        let e = local(&t, 20_000, 10, 0);
        assert_eq!(t.fee(e, e), 0);
        assert_eq!(t.fee(e, Millis(e.0 - 1)), 0, "an exit before entry");
        assert_eq!(t.fee(e, Millis(e.0 + 10 * MIN)), 0, "exactly the free minutes");
        assert_eq!(t.fee(e, Millis(e.0 + 10 * MIN + 1)), 1_000, "one period from entry");
        // A free stay longer than a period: the whole stay is charged from entry.
        let long_free = Tariff {
            free_minutes: 30,
            ..no_cap()
        };
        assert_eq!(long_free.fee(e, Millis(e.0 + 30 * MIN)), 0);
        assert_eq!(long_free.fee(e, Millis(e.0 + 30 * MIN + 1)), 3_000);
    }

    #[test]
    fn every_period_begun_is_charged() {
        let t = Tariff::SHORT_TERM;
        let e = local(&t, 20_000, 10, 0);
        assert_eq!(t.fee(e, Millis(e.0 + 15 * MIN)), 1_000, "exactly one period");
        assert_eq!(t.fee(e, Millis(e.0 + 15 * MIN + 1)), 2_000, "one ms into the second");
        assert_eq!(t.fee(e, Millis(e.0 + 60 * MIN)), 4_000);
        assert_eq!(t.fee(e, Millis(e.0 + 60 * MIN + 1)), 5_000);
    }

    #[test]
    fn the_daily_cap_is_reached_within_a_day() {
        let t = Tariff::SHORT_TERM; // 24 periods (6 h) reach 24,000
        let e = local(&t, 20_000, 6, 0);
        assert_eq!(t.fee(e, Millis(e.0 + 6 * HOUR)), 24_000);
        assert_eq!(t.fee(e, Millis(e.0 + 6 * HOUR + 1)), 24_000, "capped");
        assert_eq!(t.fee(e, Millis(e.0 + 17 * HOUR)), 24_000, "still that day");
        assert_eq!(t.fee(e, Millis(e.0 + 5 * HOUR)), 20_000, "below the cap");
        let lt = Tariff::LONG_TERM;
        let e = local(&lt, 20_000, 8, 0);
        assert_eq!(lt.fee(e, Millis(e.0 + 9 * HOUR)), 9_000);
        assert_eq!(lt.fee(e, Millis(e.0 + 15 * HOUR)), 9_000);
    }

    #[test]
    fn a_multi_day_stay_is_capped_per_local_day() {
        let t = Tariff::SHORT_TERM;
        // Entered at local 00:00: three whole local days, then 1 h 1 ms on the fourth.
        let e = local(&t, 20_000, 0, 0);
        let at = Millis(e.0 + 3 * DAY + HOUR + 1);
        assert_eq!(t.fee(e, at), 3 * 24_000 + 5 * 1_000);
        assert_eq!(t.fee(e, at), slow_fee(&t, e, at));
        // Entered mid-day: a partial first day, two whole days, a partial last day.
        let e = local(&t, 20_000, 21, 0); // 12 periods on day 1
        let at = local(&t, 20_003, 1, 0); // 4 periods on day 4
        assert_eq!(t.fee(e, at), 12_000 + 2 * 24_000 + 4_000);
        assert_eq!(t.fee(e, at), slow_fee(&t, e, at));
    }

    #[test]
    fn a_period_belongs_to_the_local_day_it_starts_in() {
        let base = Tariff {
            free_minutes: 0,
            period_minutes: 15,
            rate_per_period: 1_000,
            daily_cap: Some(1_000),
            utc_offset_minutes: 540,
        };
        // Entered 23:50 local: the period 23:50-00:05 is day one's, 00:05-00:20 day two's.
        let e = local(&base, 20_000, 23, 50);
        assert_eq!(base.fee(e, Millis(e.0 + 15 * MIN)), 1_000, "one period, on day one");
        assert_eq!(base.fee(e, Millis(e.0 + 15 * MIN + 1)), 2_000, "00:05 starts day two's");
        assert_eq!(base.fee(e, Millis(e.0 + 45 * MIN)), 2_000, "each day capped at 1,000");

        // The same UTC instants at offset 0: 14:50 UTC, all on one day, one cap.
        let utc = Tariff {
            utc_offset_minutes: 0,
            ..base
        };
        assert_eq!(utc.fee(e, Millis(e.0 + 15 * MIN + 1)), 1_000);
        assert_eq!(utc.fee(e, Millis(e.0 + 45 * MIN)), 1_000);
        // And an instant that is 23:50 UTC is 08:50 KST: the split moves with the offset.
        let e_utc = local(&utc, 20_000, 23, 50);
        assert_eq!(utc.fee(e_utc, Millis(e_utc.0 + 15 * MIN + 1)), 2_000);
        assert_eq!(base.fee(e_utc, Millis(e_utc.0 + 15 * MIN + 1)), 1_000);
    }

    #[test]
    fn without_a_cap_every_period_is_charged_and_a_cap_of_0_is_free() {
        let t = no_cap();
        let e = Millis(1_700_000_000_000);
        assert_eq!(t.fee(e, Millis(e.0 + 3 * DAY)), 3 * 96 * 1_000);
        let free = Tariff {
            daily_cap: Some(0),
            ..Tariff::SHORT_TERM
        };
        assert_eq!(free.check(), Ok(free));
        assert_eq!(free.fee(e, Millis(e.0 + 3 * DAY)), 0);
        assert_eq!(free.next_change(e, e), None);
        let zero_rate = Tariff {
            rate_per_period: 0,
            ..Tariff::SHORT_TERM
        };
        assert_eq!(zero_rate.check(), Ok(zero_rate));
        assert_eq!(zero_rate.fee(e, Millis(e.0 + DAY)), 0);
        assert_eq!(zero_rate.next_change(e, e), None);
    }

    #[test]
    fn the_arithmetic_matches_counting_period_by_period() {
        let tariffs = [
            Tariff::SHORT_TERM,
            Tariff::LONG_TERM,
            no_cap(),
            Tariff {
                free_minutes: 0,
                period_minutes: 7, // does not divide a day: days of 205 and 206 periods
                rate_per_period: 100,
                daily_cap: Some(20_550),
                utc_offset_minutes: -330,
            },
            Tariff {
                free_minutes: 90,
                period_minutes: 1_440,
                rate_per_period: 5_000,
                daily_cap: Some(4_000),
                utc_offset_minutes: 840,
            },
        ];
        let e0 = 1_700_000_000_000;
        for t in tariffs {
            for start in [0, 13 * MIN + 7, 23 * HOUR + 55 * MIN, 17 * HOUR + 1] {
                for stay in [
                    1,
                    10 * MIN,
                    10 * MIN + 1,
                    5 * HOUR,
                    DAY,
                    DAY + 1,
                    4 * DAY + 777,
                    9 * DAY + 5 * HOUR,
                ] {
                    let e = Millis(e0 + start);
                    let at = Millis(e.0 + stay);
                    assert_eq!(t.fee(e, at), slow_fee(&t, e, at), "{t:?} start {start} stay {stay}");
                    // next_change: the fee is the same at every instant it may change before
                    // it (the free minutes' end and each period start, plus 1 ms), higher at it.
                    let now = t.fee(e, at);
                    let next = t.next_change(e, at).expect("the fee can rise");
                    assert!(next > at && t.fee(e, next) > now, "{t:?} start {start} stay {stay}");
                    let p = i64::from(t.period_minutes) * MIN;
                    let free_end = e.0 + i64::from(t.free_minutes) * MIN + 1;
                    let candidates = (0..).map(|k| e.0 + k * p + 1).take_while(|&c| c < next.0);
                    for c in candidates.chain([free_end]).filter(|&c| c > at.0 && c < next.0) {
                        assert_eq!(t.fee(e, Millis(c)), now, "{t:?} start {start} stay {stay} at {c}");
                    }
                }
            }
        }
    }

    #[test]
    fn an_absurd_stay_does_not_panic() {
        let t = Tariff::SHORT_TERM;
        let century = Millis(100 * 365 * DAY);
        // Epoch 0 is 09:00 KST: a partial first day, 36,499 whole days, a partial last day,
        // each at its cap.
        assert_eq!(t.fee(Millis(0), century), (100 * 365 + 1) * 24_000);
        assert!(t.fee(Millis(i64::MIN), Millis(i64::MAX)) > 0);
        let huge = Tariff {
            rate_per_period: u64::MAX,
            daily_cap: None,
            ..t
        };
        assert_eq!(huge.fee(Millis(i64::MIN), Millis(i64::MAX)), u64::MAX);
        let huge_cap = Tariff {
            daily_cap: Some(u64::MAX),
            ..huge
        };
        assert_eq!(huge_cap.fee(Millis(i64::MIN), Millis(i64::MAX)), u64::MAX);
        assert!(t.next_change(Millis(i64::MIN), Millis(i64::MAX)).is_none());
        assert!(t.next_change(Millis(i64::MAX), Millis(i64::MAX)).is_none());
        // An unchecked tariff does not divide by zero.
        let bad = Tariff {
            period_minutes: 0,
            free_minutes: u32::MAX,
            utc_offset_minutes: i32::MIN,
            ..t
        };
        let _ = bad.fee(Millis(i64::MIN), Millis(i64::MAX));
        let _ = bad.next_change(Millis(i64::MIN), Millis(0));
    }

    #[test]
    fn check_refuses_what_cannot_be_charged() {
        let t = Tariff::SHORT_TERM;
        let with = |f: fn(&mut Tariff)| {
            let mut t = t;
            f(&mut t);
            t.check()
        };
        assert_eq!(with(|t| t.period_minutes = 0), Err(TariffError::BadPeriod(0)));
        assert_eq!(with(|t| t.period_minutes = 1_441), Err(TariffError::BadPeriod(1_441)));
        assert!(with(|t| t.period_minutes = 1_440).is_ok());
        assert_eq!(
            with(|t| t.free_minutes = 10_081),
            Err(TariffError::BadFreeMinutes(10_081))
        );
        assert!(with(|t| t.free_minutes = 10_080).is_ok());
        assert_eq!(
            with(|t| t.utc_offset_minutes = -721),
            Err(TariffError::BadUtcOffset(-721))
        );
        assert_eq!(
            with(|t| t.utc_offset_minutes = 841),
            Err(TariffError::BadUtcOffset(841))
        );
        assert!(with(|t| t.utc_offset_minutes = -720).is_ok());
        assert!(with(|t| t.utc_offset_minutes = 840).is_ok());
        let msg = TariffError::BadPeriod(0).to_string();
        assert!(
            msg.contains("period_minutes") && msg.contains('0') && msg.contains("1440"),
            "{msg}"
        );
    }

    /// `next_change` is where the fee first rises: the same just before, higher at it.
    fn assert_change(t: &Tariff, e: Millis, at: Millis, expect: Millis) {
        assert_eq!(t.next_change(e, at), Some(expect), "at {}", at.0 - e.0);
        let now = t.fee(e, at);
        assert_eq!(t.fee(e, Millis(expect.0 - 1)), now, "unchanged before");
        assert!(t.fee(e, expect) > now, "higher at it");
    }

    #[test]
    fn next_change_says_when_the_fee_rises() {
        let t = Tariff::SHORT_TERM;
        let e = local(&t, 20_000, 10, 0);
        let ms = |m: i64| Millis(e.0 + m);
        // Before entry and within the free minutes: when they end.
        assert_change(&t, e, ms(-5 * MIN), ms(10 * MIN + 1));
        assert_change(&t, e, e, ms(10 * MIN + 1));
        assert_change(&t, e, ms(10 * MIN), ms(10 * MIN + 1));
        // After: when the next period begins.
        assert_change(&t, e, ms(10 * MIN + 1), ms(15 * MIN + 1));
        assert_change(&t, e, ms(15 * MIN), ms(15 * MIN + 1));
        assert_change(&t, e, ms(15 * MIN + 1), ms(30 * MIN + 1));
        // The 24th period starts at 15:45 and reaches the cap.
        assert_change(&t, e, ms(5 * HOUR + 44 * MIN), ms(5 * HOUR + 45 * MIN + 1));
        // Capped from 15:45 (24 periods): nothing more until a period starts on the next day.
        // Periods start at :00/:15/:30/:45 from 10:00; the first of the next local day is 00:00.
        let next_day = local(&t, 20_001, 0, 0);
        assert_change(&t, e, ms(5 * HOUR + 45 * MIN + 1), Millis(next_day.0 + 1));
        assert_change(&t, e, ms(6 * HOUR + 1), Millis(next_day.0 + 1));
        assert_change(&t, e, ms(13 * HOUR), Millis(next_day.0 + 1));
        // Day two is uncapped again.
        assert_change(&t, e, Millis(next_day.0 + 1), Millis(next_day.0 + 15 * MIN + 1));
        // Entered off the quarter hour: the next day's first period starts after midnight.
        let e2 = local(&t, 20_000, 10, 7);
        assert_change(&t, e2, Millis(e2.0 + 7 * HOUR), Millis(local(&t, 20_001, 0, 7).0 + 1));
        // With no cap the periods just keep coming.
        let nc = no_cap();
        assert_change(&nc, e, ms(20 * HOUR), ms(20 * HOUR + 1));
        assert_change(&nc, e, ms(20 * HOUR + 1), ms(20 * HOUR + 15 * MIN + 1));
    }

    #[test]
    fn serde_round_trip_and_unknown_fields_refused() {
        let t = Tariff::LONG_TERM;
        let json = serde_json::to_string(&t).unwrap();
        assert_eq!(
            json,
            r#"{"free_minutes":10,"period_minutes":60,"rate_per_period":1000,"daily_cap":9000,"utc_offset_minutes":540}"#
        );
        assert_eq!(serde_json::from_str::<Tariff>(&json).unwrap(), t);
        let nc: Tariff =
            serde_json::from_str(r#"{"free_minutes":0,"period_minutes":30,"rate_per_period":500}"#).unwrap();
        assert_eq!(nc.daily_cap, None);
        assert_eq!(nc.utc_offset_minutes, KST_OFFSET_MINUTES);
        assert_eq!(
            serde_json::from_str::<Tariff>(&serde_json::to_string(&nc).unwrap()).unwrap(),
            nc
        );
        let err = serde_json::from_str::<Tariff>(
            r#"{"free_minutes":10,"period_minutes":60,"rate_per_period":1000,"currency":"KRW"}"#,
        )
        .unwrap_err();
        assert!(err.to_string().contains("currency"), "{err}");
    }
}
