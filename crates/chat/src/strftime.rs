//! A small `strftime` for `strftime_now(fmt)`, without chrono/time and working on wasm32
//! (the clock is `web_time::SystemTime`: `Date.now()` in the browser). Times are UTC.

/// A broken-down UTC time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct DateTime {
    pub year: i64,
    /// 1..=12
    pub month: u32,
    /// 1..=31
    pub day: u32,
    pub hour: u32,
    pub minute: u32,
    pub second: u32,
    /// 0 = Monday .. 6 = Sunday
    pub weekday: u32,
    /// 1..=366
    pub yday: u32,
}

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const WEEKDAYS: [&str; 7] = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"];

fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

impl DateTime {
    /// Civil UTC date/time of a Unix timestamp (seconds; may be negative).
    pub fn from_unix(secs: i64) -> Self {
        let days = secs.div_euclid(86_400);
        let rem = secs.rem_euclid(86_400);
        // Howard Hinnant's days_from_civil inverse.
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z.rem_euclid(146_097);
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
        let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
        let year = yoe + era * 400 + i64::from(month <= 2);
        // 1970-01-01 was a Thursday (index 3).
        let weekday = (days + 3).rem_euclid(7) as u32;
        const CUMULATIVE: [u32; 12] = [0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334];
        let leap_extra = u32::from(month > 2 && is_leap(year));
        let yday = CUMULATIVE[(month - 1) as usize] + day + leap_extra;
        DateTime {
            year,
            month,
            day,
            hour: (rem / 3600) as u32,
            minute: (rem % 3600 / 60) as u32,
            second: (rem % 60) as u32,
            weekday,
            yday,
        }
    }

    /// The current UTC time.
    pub fn now() -> Self {
        let secs = web_time::SystemTime::now()
            .duration_since(web_time::UNIX_EPOCH)
            .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX / 2))
            .unwrap_or(0);
        Self::from_unix(secs)
    }

    /// Formats like C/Python `strftime` in the C locale. Supported: `%a %A %b %h %B %c %C %d %D %e %F
    /// %H %I %j %m %M %n %p %r %R %S %t %T %u %w %x %X %y %Y %z %Z %%`, and glibc's `%-d`-style
    /// "no padding" flag. Unknown directives are copied through unchanged (as glibc does).
    pub fn format(&self, fmt: &str) -> String {
        let mut out = String::with_capacity(fmt.len() + 16);
        let mut chars = fmt.chars().peekable();
        while let Some(c) = chars.next() {
            if c != '%' {
                out.push(c);
                continue;
            }
            let no_pad = chars.peek() == Some(&'-');
            if no_pad {
                chars.next();
            }
            let Some(spec) = chars.next() else {
                out.push('%');
                if no_pad {
                    out.push('-');
                }
                break;
            };
            let num = |out: &mut String, v: i64, width: usize| {
                if no_pad {
                    out.push_str(&v.to_string());
                } else {
                    out.push_str(&format!("{v:0width$}"));
                }
            };
            let hour12 = if self.hour.is_multiple_of(12) { 12 } else { self.hour % 12 };
            let month_name = MONTHS[(self.month as usize + 11) % 12];
            let weekday_name = WEEKDAYS[self.weekday as usize % 7];
            match spec {
                'a' => out.push_str(&weekday_name[..3]),
                'A' => out.push_str(weekday_name),
                'b' | 'h' => out.push_str(&month_name[..3]),
                'B' => out.push_str(month_name),
                'c' => out.push_str(&self.format("%a %b %e %H:%M:%S %Y")),
                'C' => num(&mut out, self.year.div_euclid(100), 2),
                'd' => num(&mut out, i64::from(self.day), 2),
                'D' => out.push_str(&self.format("%m/%d/%y")),
                'e' => {
                    if no_pad {
                        out.push_str(&self.day.to_string());
                    } else {
                        out.push_str(&format!("{:>2}", self.day));
                    }
                }
                'F' => out.push_str(&self.format("%Y-%m-%d")),
                'H' => num(&mut out, i64::from(self.hour), 2),
                'I' => num(&mut out, i64::from(hour12), 2),
                'j' => num(&mut out, i64::from(self.yday), 3),
                'm' => num(&mut out, i64::from(self.month), 2),
                'M' => num(&mut out, i64::from(self.minute), 2),
                'n' => out.push('\n'),
                'p' => out.push_str(if self.hour < 12 { "AM" } else { "PM" }),
                'r' => out.push_str(&self.format("%I:%M:%S %p")),
                'R' => out.push_str(&self.format("%H:%M")),
                'S' => num(&mut out, i64::from(self.second), 2),
                't' => out.push('\t'),
                'T' => out.push_str(&self.format("%H:%M:%S")),
                'u' => out.push_str(&(self.weekday + 1).to_string()),
                'w' => out.push_str(&((self.weekday + 1) % 7).to_string()),
                'x' => out.push_str(&self.format("%m/%d/%y")),
                'X' => out.push_str(&self.format("%H:%M:%S")),
                'y' => num(&mut out, self.year.rem_euclid(100), 2),
                'Y' => out.push_str(&self.year.to_string()),
                'z' => out.push_str("+0000"),
                'Z' => out.push_str("UTC"),
                '%' => out.push('%'),
                other => {
                    out.push('%');
                    if no_pad {
                        out.push('-');
                    }
                    out.push(other);
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates() {
        let t = DateTime::from_unix(0);
        assert_eq!((t.year, t.month, t.day, t.weekday, t.yday), (1970, 1, 1, 3, 1));
        // 2024-07-26 12:34:56 UTC, a Friday.
        let t = DateTime::from_unix(1_721_997_296);
        assert_eq!((t.year, t.month, t.day, t.hour, t.minute, t.second), (2024, 7, 26, 12, 34, 56));
        assert_eq!(t.weekday, 4);
        assert_eq!(t.yday, 208);
        // 2000-02-29 (leap day, century rule) and 1969-12-31 (negative timestamp).
        let t = DateTime::from_unix(951_782_400);
        assert_eq!((t.year, t.month, t.day, t.yday), (2000, 2, 29, 60));
        let t = DateTime::from_unix(-1);
        assert_eq!((t.year, t.month, t.day, t.hour, t.weekday), (1969, 12, 31, 23, 2));
    }

    #[test]
    fn formats_like_python() {
        // Python: datetime(2024, 7, 6, 9, 5, 3).strftime(...)
        let t = DateTime::from_unix(1_720_256_703);
        assert_eq!(t.format("%d %b %Y"), "06 Jul 2024");
        assert_eq!(t.format("%Y-%m-%d"), "2024-07-06");
        assert_eq!(t.format("%-d %B %Y"), "6 July 2024");
        assert_eq!(t.format("%A, %e %h %y %H:%M:%S %I %p %j %%"), "Saturday,  6 Jul 24 09:05:03 09 AM 188 %");
        assert_eq!(t.format("%c|%x|%X|%F|%T"), "Sat Jul  6 09:05:03 2024|07/06/24|09:05:03|2024-07-06|09:05:03");
        assert_eq!(t.format("%u %w %Q %"), "6 6 %Q %");
    }
}
