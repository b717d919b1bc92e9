//! Periods and date ranges, resolved in the site's time zone.
//!
//! A range of local calendar days becomes UTC bounds `[start, end)` from local midnight to local
//! midnight, and the UTC offsets in force over it ([`LocalTime`]), so a day in Oslo is 23, 24 or 25
//! hours long exactly as the calendar says. Plausible's two API generations agree that "last N
//! days" end the day before the reference date, and disagree on "last N months": v1 includes the
//! reference date's month, v2 ends with the month before. Both are here.

use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan};
use tillit_store::query::{LocalTime, TimeGrain};

/// A resolved range.
#[derive(Clone, Debug, PartialEq)]
pub struct Range {
    pub start: i64,
    pub end: i64,
    pub local: LocalTime,
    /// First and last local date covered (inclusive).
    pub first: Date,
    pub last: Date,
}

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct PeriodError(pub String);

fn err(msg: impl Into<String>) -> PeriodError {
    PeriodError(msg.into())
}

/// The site's time zone; an unknown name (impossible for sites added through validation) is UTC.
pub fn zone(name: &str) -> TimeZone {
    TimeZone::get(name).unwrap_or(TimeZone::UTC)
}

/// Today's date in the zone.
pub fn today(tz: &TimeZone, now: i64) -> Date {
    Timestamp::from_second(now).map_or(Date::constant(1970, 1, 1), |t| t.to_zoned(tz.clone()).date())
}

/// The instant of a local date and time, as Plausible resolves the edges of a range: a time that
/// repeats (clocks going back) is its later occurrence at the start of a range and its earlier at
/// the end; a time that does not exist (clocks going forward) is the first instant after it.
fn instant(tz: &TimeZone, dt: jiff::civil::DateTime, repeated_later: bool) -> Result<i64, PeriodError> {
    use jiff::tz::AmbiguousOffset;
    let offset = match tz.to_ambiguous_zoned(dt).offset() {
        AmbiguousOffset::Unambiguous { offset } => offset,
        AmbiguousOffset::Fold { after, .. } if repeated_later => after,
        // The first occurrence; in a gap, the clock read with the offset before it is the
        // instant the gap ends.
        AmbiguousOffset::Fold { before, .. } | AmbiguousOffset::Gap { before, .. } => before,
    };
    offset.to_timestamp(dt).map(|t| t.as_second()).map_err(|e| err(e.to_string()))
}

/// UTC offsets in force over `[start, end)`: one segment per change.
pub fn local_time(tz: &TimeZone, start: i64, end: i64) -> LocalTime {
    let offset = |t: i64| Timestamp::from_second(t).map_or(0, |ts| tz.to_offset(ts).seconds());
    let mut segments = vec![(i64::MIN, offset(start))];
    // Offsets change at most a few times a year and never within an hour of each other: step by
    // the hour, then find the exact second by bisection.
    let mut t = start;
    while t < end {
        let next = (t + 3600).min(end);
        let current = segments.last().map_or(0, |s| s.1);
        if offset(next) != current {
            let (mut lo, mut hi) = (t, next);
            while hi - lo > 1 {
                let mid = lo + (hi - lo) / 2;
                if offset(mid) == current { lo = mid } else { hi = mid }
            }
            segments.push((hi, offset(hi)));
        }
        t = next;
    }
    LocalTime { segments }
}

/// Local days `first..=last`.
pub fn dates(tz: &TimeZone, first: Date, last: Date) -> Result<Range, PeriodError> {
    if last < first {
        return Err(err("Invalid date range: the end date is before the start date"));
    }
    let start = instant(tz, first.at(0, 0, 0, 0), true)?;
    let end = instant(tz, last.at(23, 59, 59, 0), false)? + 1;
    Ok(Range { start, end, local: local_time(tz, start, end), first, last })
}

/// An exact span of time (v2 datetime ranges, `24h`).
pub fn instants(tz: &TimeZone, start: i64, end: i64) -> Result<Range, PeriodError> {
    if end <= start {
        return Err(err("Invalid date range: the end is not after the start"));
    }
    let date = |t: i64| today(tz, t);
    Ok(Range { start, end, local: local_time(tz, start, end), first: date(start), last: date(end - 1) })
}

fn shift_days(d: Date, n: i64) -> Result<Date, PeriodError> {
    d.checked_add(n.days()).map_err(|e| err(e.to_string()))
}

fn shift_months(d: Date, n: i64) -> Result<Date, PeriodError> {
    d.checked_add(n.months()).map_err(|e| err(e.to_string()))
}

fn month_end(d: Date) -> Date {
    d.last_of_month()
}

/// Which API generation's rules to follow.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rules {
    /// "Last N months" ends with the reference date's month.
    V1,
    /// "Last N months" ends with the month before the reference date's.
    V2,
    /// Tillit's dashboard: "last N days" end with the reference date (today is in them, as people
    /// opening a dashboard expect), "last N months" with its month.
    Dashboard,
}

/// A named period relative to `date` (today unless the caller says otherwise). `first_event` is the
/// site's first stored event, for `all`.
pub fn named(
    tz: &TimeZone,
    name: &str,
    date: Date,
    rules: Rules,
    first_event: Option<i64>,
) -> Result<Range, PeriodError> {
    let last_n = |n: i64| match rules {
        Rules::Dashboard => dates(tz, shift_days(date, -(n - 1))?, date),
        Rules::V1 | Rules::V2 => dates(tz, shift_days(date, -n)?, shift_days(date, -1)?),
    };
    let last_months = |n: i64| match rules {
        Rules::V1 | Rules::Dashboard => dates(tz, shift_months(date.first_of_month(), -(n - 1))?, month_end(date)),
        Rules::V2 => {
            let this_month = date.first_of_month();
            dates(tz, shift_months(this_month, -n)?, this_month.yesterday().map_err(|e| err(e.to_string()))?)
        }
    };
    match name {
        "day" => dates(tz, date, date),
        "7d" => last_n(7),
        "28d" => last_n(28),
        "30d" => last_n(30),
        "91d" => last_n(91),
        "month" => dates(tz, date.first_of_month(), month_end(date)),
        "6mo" => last_months(6),
        "12mo" => last_months(12),
        "year" => dates(tz, date.first_of_year(), date.last_of_year()),
        "all" => {
            let first = first_event.map_or(date, |t| today(tz, t));
            dates(tz, first.min(date), date)
        }
        other => Err(err(format!("Invalid period '{other}'"))),
    }
}

/// Parses `YYYY-MM-DD`.
pub fn parse_date(s: &str) -> Result<Date, PeriodError> {
    s.trim().parse::<Date>().map_err(|_| err(format!("Failed to parse date '{s}'. Expected format YYYY-MM-DD")))
}

/// Every bucket the range covers, for time series without gaps: bucket starts in local seconds,
/// hours in UTC seconds (every hour of each local day that overlaps the range).
pub fn buckets(range: &Range, grain: TimeGrain) -> Vec<i64> {
    if grain == TimeGrain::Hour {
        let local = &range.local;
        let (first, last) =
            (local.local(range.start).div_euclid(86_400), local.local(range.end - 1).div_euclid(86_400));
        let mut out = Vec::new();
        for day in first..=last {
            let (start, next) = (local.day_start(day), local.day_start(day + 1));
            let mut t = start;
            while t < next && out.len() < 10_000 {
                if t < range.end && t + 3600 > range.start {
                    out.push(t);
                }
                t += 3600;
            }
        }
        return out;
    }
    let first = range.local.local(range.start);
    let last = range.local.local(range.end - 1);
    let mut out = Vec::new();
    let mut b = super::reference::bucket(grain, first);
    while b <= last && out.len() < 10_000 {
        out.push(b);
        // Step past this bucket (a month is at most 32 days), then snap to the bucket start.
        let step = match grain {
            TimeGrain::Minute => 60,
            TimeGrain::Hour => 3600,
            TimeGrain::Day => 86_400,
            TimeGrain::Week => 7 * 86_400,
            TimeGrain::Month => 32 * 86_400,
        };
        b = super::reference::bucket(grain, b + step);
    }
    out
}

/// A bucket's label within a range: as [`label`], except that a week starting before the range is
/// labelled with the range's first day, as Plausible labels it, and that an hour (named by its UTC
/// start) is labelled with the local clock at its start.
pub fn label_in(range: &Range, grain: TimeGrain, local_seconds: i64) -> String {
    if grain == TimeGrain::Hour {
        // An hour is named by its UTC start: its label is the local clock then.
        return label(grain, range.local.local(local_seconds));
    }
    let first = range.local.local(range.start);
    let first_day = first - first.rem_euclid(86_400);
    if grain == TimeGrain::Week && local_seconds < first_day {
        return label(TimeGrain::Day, first_day);
    }
    label(grain, local_seconds)
}

/// A bucket's label: `2024-03-31` for days, weeks and months, `2024-03-31 14:00:00` for hours.
pub fn label(grain: TimeGrain, local_seconds: i64) -> String {
    let Ok(ts) = Timestamp::from_second(local_seconds) else { return local_seconds.to_string() };
    let dt = ts.to_zoned(TimeZone::UTC).datetime();
    match grain {
        TimeGrain::Minute | TimeGrain::Hour => dt.strftime("%Y-%m-%d %H:%M:%S").to_string(),
        _ => dt.date().strftime("%Y-%m-%d").to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_follow_the_site_clock_across_dst() {
        let oslo = zone("Europe/Oslo");
        // 2024-03-31: clocks go from 02:00 to 03:00 — a 23-hour day.
        let r = dates(&oslo, Date::constant(2024, 3, 31), Date::constant(2024, 3, 31)).unwrap();
        assert_eq!(r.end - r.start, 23 * 3600);
        assert_eq!(r.start, 1_711_839_600); // 2024-03-30T23:00:00Z
        assert_eq!(r.local.segments.len(), 2);
        assert_eq!(r.local.local(r.start), 1_711_843_200); // local midnight
        assert_eq!(r.local.local(r.end - 1), 1_711_843_200 + 86_400 - 1);
        // 2024-10-27: 25 hours.
        let r = dates(&oslo, Date::constant(2024, 10, 27), Date::constant(2024, 10, 27)).unwrap();
        assert_eq!(r.end - r.start, 25 * 3600);
        assert_eq!(buckets(&r, TimeGrain::Day).len(), 1);
        let hours = buckets(&r, TimeGrain::Hour);
        assert_eq!(hours.len(), 25, "the repeated hour is two buckets");
        let labels: Vec<String> = hours.iter().map(|b| label_in(&r, TimeGrain::Hour, *b)).collect();
        assert_eq!(labels.iter().filter(|l| l.ends_with(" 02:00:00")).count(), 2);
    }

    #[test]
    fn range_edges_on_repeated_and_skipped_times() {
        let d = |s: &str| s.parse::<Date>().unwrap();
        // Havana 2023-11-05: 00:00–00:59 happens twice; the day starts at the second.
        let havana = dates(&zone("America/Havana"), d("2023-11-05"), d("2023-11-05")).unwrap();
        assert_eq!(havana.start, "2023-11-05T05:00:00Z".parse::<Timestamp>().unwrap().as_second());
        // Asunción 2024-03-23: 23:00–23:59 happens twice; the day ends after the first.
        let asuncion = dates(&zone("America/Asuncion"), d("2024-03-23"), d("2024-03-23")).unwrap();
        assert_eq!(asuncion.end, "2024-03-24T03:00:00Z".parse::<Timestamp>().unwrap().as_second());
        // Santiago 2024-09-08: midnight does not exist; the day starts at 01:00 (-03).
        let santiago = dates(&zone("America/Santiago"), d("2024-09-08"), d("2024-09-08")).unwrap();
        assert_eq!(santiago.start, "2024-09-08T04:00:00Z".parse::<Timestamp>().unwrap().as_second());
    }

    #[test]
    fn named_periods_under_both_rules() {
        let utc = TimeZone::UTC;
        let d = Date::constant(2024, 5, 15);
        let v1 = named(&utc, "7d", d, Rules::V1, None).unwrap();
        assert_eq!((v1.first, v1.last), (Date::constant(2024, 5, 8), Date::constant(2024, 5, 14)));
        let m = named(&utc, "6mo", d, Rules::V1, None).unwrap();
        assert_eq!((m.first, m.last), (Date::constant(2023, 12, 1), Date::constant(2024, 5, 31)));
        assert_eq!(buckets(&m, TimeGrain::Month).len(), 6);
        let m = named(&utc, "6mo", d, Rules::V2, None).unwrap();
        assert_eq!((m.first, m.last), (Date::constant(2023, 11, 1), Date::constant(2024, 4, 30)));
        assert!(named(&utc, "fortnight", d, Rules::V1, None).is_err());
        assert!(dates(&utc, d, Date::constant(2024, 5, 1)).is_err());
    }

    #[test]
    fn labels() {
        assert_eq!(label(TimeGrain::Hour, 1_711_843_200 + 3600 * 14), "2024-03-31 14:00:00");
        assert_eq!(label(TimeGrain::Month, 1_711_843_200), "2024-03-31");
    }
}
