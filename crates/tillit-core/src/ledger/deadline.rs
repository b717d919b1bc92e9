//! Art. 12(3) deadlines for data-subject requests: answered within one month of receipt, which
//! may be extended by two further months where necessary (the person told within the first
//! month, with the reasons).
//!
//! Months are calendar months, counted the way the EDPB reads Regulation 1182/71: the deadline
//! falls on the same day of the following month, or on that month's last day when it has no such
//! day (31 January → 28 or 29 February), and ends at the end of that day in the controller's
//! time zone.

use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan};

/// The extension Art. 12(3) allows at most, in months.
pub const MAX_EXTENSION_MONTHS: i8 = 2;

/// The last day a request received on `received` may be answered on, `months` months later.
pub fn due_date(received: Date, months: i8) -> Option<Date> {
    received.checked_add(i64::from(months).months()).ok()
}

/// When a request received at `received_at` (UTC seconds) is due, as the UTC second at which the
/// due day ends in `zone`; `extension_months` (0–2) pushes it out.
pub fn due_at(received_at: i64, zone: &TimeZone, extension_months: i8) -> Option<i64> {
    if !(0..=MAX_EXTENSION_MONTHS).contains(&extension_months) {
        return None;
    }
    let received = Timestamp::from_second(received_at).ok()?.to_zoned(zone.clone()).date();
    let due = due_date(received, 1 + extension_months)?;
    let end = due.tomorrow().ok()?.to_zoned(zone.clone()).ok()?;
    Some(end.timestamp().as_second())
}

/// Whether an extension may still be decided: only within the first month.
pub fn may_extend(received_at: i64, zone: &TimeZone, now: i64) -> bool {
    due_at(received_at, zone, 0).is_some_and(|first_month_ends| now < first_month_ends)
}

#[cfg(test)]
mod tests {
    use jiff::civil::date;

    use super::*;

    #[test]
    fn one_calendar_month_clamped_to_the_month_end() {
        assert_eq!(due_date(date(2026, 3, 15), 1), Some(date(2026, 4, 15)));
        assert_eq!(due_date(date(2026, 1, 31), 1), Some(date(2026, 2, 28)));
        assert_eq!(due_date(date(2028, 1, 31), 1), Some(date(2028, 2, 29)), "leap year");
        assert_eq!(due_date(date(2026, 3, 31), 1), Some(date(2026, 4, 30)));
        assert_eq!(due_date(date(2026, 12, 31), 1), Some(date(2027, 1, 31)), "across the year end");
        assert_eq!(due_date(date(2026, 12, 31), 3), Some(date(2027, 3, 31)), "extended by two months");
        assert_eq!(due_date(date(2027, 11, 30), 3), Some(date(2028, 2, 29)));
    }

    #[test]
    fn due_at_the_end_of_the_day_in_the_controllers_zone() {
        let oslo = TimeZone::get("Europe/Oslo").unwrap();
        // Received 2026-01-31 23:30 in Oslo (22:30 UTC): due at the end of 28 February, Oslo time.
        let received = date(2026, 1, 31).at(23, 30, 0, 0).to_zoned(oslo.clone()).unwrap().timestamp().as_second();
        let due = date(2026, 3, 1).to_zoned(oslo.clone()).unwrap().timestamp().as_second();
        assert_eq!(due_at(received, &oslo, 0), Some(due));
        assert!(due_at(received, &oslo, 3).is_none(), "three months is past what Art. 12(3) allows");
        assert!(may_extend(received, &oslo, due - 1));
        assert!(!may_extend(received, &oslo, due));
        let extended = date(2026, 5, 1).to_zoned(oslo.clone()).unwrap().timestamp().as_second();
        assert_eq!(due_at(received, &oslo, 2), Some(extended), "1 + 2 months: 30 April");
    }
}
