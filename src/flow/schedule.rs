//! Opening hours: weekly time ranges in a named time zone, and closed days.
//!
//! Ranges are read on the local wall clock of the zone, so "09:00-17:00" in
//! `America/New_York` stays 9 to 5 for callers across a daylight-saving
//! change. The zone database is bundled with the binary, so a server on a
//! minimal image answers the same as a developer's laptop.

use jiff::Timestamp;
use jiff::civil::{Date, Weekday};
use jiff::tz::TimeZone;

/// A weekly schedule, checked when the flow is loaded.
#[derive(Debug, Clone)]
pub struct Schedule {
    zone: TimeZone,
    /// Open ranges per weekday, Monday first, in minutes since midnight
    /// (end exclusive; 24:00 is 1440).
    week: [Vec<(u16, u16)>; 7],
    closed: Vec<ClosedDay>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ClosedDay {
    Date(Date),
    /// The same day every year, such as 12-25.
    EveryYear {
        month: i8,
        day: i8,
    },
}

impl Schedule {
    pub fn new(zone: TimeZone) -> Self {
        Schedule {
            zone,
            week: Default::default(),
            closed: Vec::new(),
        }
    }

    /// Adds `ranges` to the days named by `days` (`mon-fri`, `sat`,
    /// `mon,wed,fri`, `daily`).
    pub fn open(&mut self, days: &str, range: &str) -> Result<(), String> {
        let range = parse_range(range)?;
        for day in parse_days(days)? {
            self.week[day].push(range);
        }
        Ok(())
    }

    /// Closes a whole day: `2026-12-25`, or `12-25` for every year.
    pub fn close_on(&mut self, day: &str) -> Result<(), String> {
        let trimmed = day.trim();
        if let Ok(date) = trimmed.parse::<Date>() {
            self.closed.push(ClosedDay::Date(date));
            return Ok(());
        }
        let every_year = trimmed.split_once('-').and_then(|(m, d)| {
            let (month, day) = (m.parse::<i8>().ok()?, d.parse::<i8>().ok()?);
            Date::new(2024, month, day).ok()?; // 2024 is a leap year: 02-29 is fine
            Some(ClosedDay::EveryYear { month, day })
        });
        match every_year {
            Some(closed) => {
                self.closed.push(closed);
                Ok(())
            }
            None => Err(format!(
                "`{day}` is not a date: write 2026-12-25 for one day, or 12-25 for every year"
            )),
        }
    }

    pub fn is_open(&self, at: Timestamp) -> bool {
        // Not `to_zoned`: that clones the zone, and a clone of a shared
        // zone is a reference count every webhook's thread contends for.
        let local = self.zone.to_datetime(at);
        let date = local.date();
        let closed_today = self.closed.iter().any(|closed| match *closed {
            ClosedDay::Date(closed) => closed == date,
            ClosedDay::EveryYear { month, day } => date.month() == month && date.day() == day,
        });
        if closed_today {
            return false;
        }
        let minute = local.hour() as u16 * 60 + local.minute() as u16;
        let weekday = local.weekday().to_monday_zero_offset() as usize;
        self.week[weekday]
            .iter()
            .any(|&(start, end)| start <= minute && minute < end)
    }
}

const DAY_NAMES: [[&str; 2]; 7] = [
    ["mon", "monday"],
    ["tue", "tuesday"],
    ["wed", "wednesday"],
    ["thu", "thursday"],
    ["fri", "friday"],
    ["sat", "saturday"],
    ["sun", "sunday"],
];

fn parse_day(name: &str) -> Result<usize, String> {
    let name = name.trim().to_lowercase();
    DAY_NAMES
        .iter()
        .position(|names| names.contains(&name.as_str()))
        .ok_or_else(|| format!("`{name}` is not a day: use mon, tue, wed, thu, fri, sat or sun"))
}

/// Days from a key such as `mon-fri`, `sat,sun`, `fri-mon` or `daily`.
fn parse_days(key: &str) -> Result<Vec<usize>, String> {
    let key = key.trim().to_lowercase();
    if key == "daily" || key == "every day" {
        return Ok((0..7).collect());
    }
    let mut days = Vec::new();
    for part in key.split(',') {
        match part.split_once('-') {
            Some((from, to)) => {
                let (from, to) = (parse_day(from)?, parse_day(to)?);
                let mut day = from;
                loop {
                    days.push(day);
                    if day == to {
                        break;
                    }
                    day = (day + 1) % 7;
                }
            }
            None => days.push(parse_day(part)?),
        }
    }
    Ok(days)
}

fn parse_time(text: &str) -> Option<u16> {
    let (hours, minutes) = text.trim().split_once(':')?;
    let (hours, minutes): (u16, u16) = (hours.parse().ok()?, minutes.parse().ok()?);
    if minutes >= 60 || hours > 24 || (hours == 24 && minutes != 0) {
        return None;
    }
    Some(hours * 60 + minutes)
}

/// A range such as `09:00-17:00`; `24:00` ends at midnight.
fn parse_range(text: &str) -> Result<(u16, u16), String> {
    let bad = || format!("`{text}` is not a time range: write it like 09:00-17:00 (24-hour clock)");
    let (start, end) = text.split_once('-').ok_or_else(bad)?;
    let (start, end) = (
        parse_time(start).ok_or_else(bad)?,
        parse_time(end).ok_or_else(bad)?,
    );
    if end <= start {
        return Err(format!(
            "`{text}` ends before it starts: a range cannot cross midnight, so split it \
             into two days (for example fri: 22:00-24:00 and sat: 00:00-02:00)"
        ));
    }
    Ok((start, end))
}

/// Names the weekday the way flows write it, for templates.
pub fn weekday_name(day: Weekday) -> &'static str {
    DAY_NAMES[day.to_monday_zero_offset() as usize][0]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn new_york() -> Schedule {
        let mut schedule = Schedule::new(TimeZone::get("America/New_York").unwrap());
        schedule.open("mon-fri", "09:00-17:00").unwrap();
        schedule.open("sat", "10:00-13:00").unwrap();
        schedule.close_on("2026-12-25").unwrap();
        schedule.close_on("01-01").unwrap();
        schedule
    }

    fn at(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    #[test]
    fn nine_to_five_follows_the_local_clock_across_dst() {
        let schedule = new_york();
        // Friday 2026-03-06 is EST (UTC-5): 09:00 local is 14:00 UTC.
        assert!(!schedule.is_open(at("2026-03-06T13:30:00Z")));
        assert!(schedule.is_open(at("2026-03-06T14:00:00Z")));
        // Monday 2026-03-09 is EDT (UTC-4) after the change on Sunday:
        // 09:00 local is now 13:00 UTC.
        assert!(schedule.is_open(at("2026-03-09T13:30:00Z")));
        assert!(!schedule.is_open(at("2026-03-09T21:00:00Z")));
    }

    #[test]
    fn closed_dates_and_weekends() {
        let schedule = new_york();
        // Friday 2026-12-25 at noon local: a closed date.
        assert!(!schedule.is_open(at("2026-12-25T17:00:00Z")));
        // New Year's Day, every year.
        assert!(!schedule.is_open(at("2027-01-01T17:00:00Z")));
        // Saturday 11:00 local is open, Sunday is not.
        assert!(schedule.is_open(at("2026-11-28T16:00:00Z")));
        assert!(!schedule.is_open(at("2026-11-29T16:00:00Z")));
    }

    #[test]
    fn bad_ranges_and_days_explain_themselves() {
        let mut schedule = Schedule::new(TimeZone::UTC);
        assert!(
            schedule
                .open("mon", "9-5")
                .unwrap_err()
                .contains("09:00-17:00")
        );
        assert!(
            schedule
                .open("mon", "22:00-02:00")
                .unwrap_err()
                .contains("midnight")
        );
        assert!(
            schedule
                .open("funday", "09:00-10:00")
                .unwrap_err()
                .contains("not a day")
        );
        assert!(schedule.close_on("xmas").unwrap_err().contains("12-25"));
        schedule.open("fri-mon", "00:00-24:00").unwrap();
        assert!(schedule.is_open(at("2026-11-29T12:00:00Z"))); // Sunday
        assert!(!schedule.is_open(at("2026-11-25T12:00:00Z"))); // Wednesday
    }
}
