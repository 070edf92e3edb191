//! Time, injectable so that tests can move it (token expiry) without sleeping.

use std::sync::atomic::{AtomicI64, Ordering};

pub trait Clock: Send + Sync + 'static {
    /// Milliseconds since the Unix epoch.
    fn now_ms(&self) -> i64;
}

/// The system clock.
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> i64 {
        chrono::Utc::now().timestamp_millis()
    }
}

/// A clock that stands still until moved.
pub struct ManualClock(AtomicI64);

impl ManualClock {
    pub fn new(now_ms: i64) -> Self {
        Self(AtomicI64::new(now_ms))
    }

    pub fn advance_ms(&self, ms: i64) {
        self.0.fetch_add(ms, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now_ms(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
}

/// RFC 3339 at second precision, as AWS renders `meta.created` (`2020-07-25T09:01:14Z`).
/// Written directly, not through a format string that would be parsed at every call (two
/// calls for every resource answered).
pub fn timestamp(ms: i64) -> String {
    Stamp::of(ms).as_str().to_owned()
}

/// `timestamp` without an allocation: the text in a buffer of its own, for the two stamps of
/// every resource answered.
#[derive(Clone, Copy)]
pub struct Stamp {
    text: [u8; 24],
    len: u8,
}

impl Stamp {
    pub fn of(ms: i64) -> Self {
        use chrono::{Datelike, Timelike};
        let time = chrono::DateTime::from_timestamp_millis(ms).unwrap_or_default();
        let mut text = [0; 24];
        let year = u32::try_from(time.year()).ok().filter(|y| *y <= 9999);
        let Some(year) = year else {
            // A year of more than four digits, as chrono writes it.
            let written = time.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
            let len = written.len().min(text.len());
            text[..len].copy_from_slice(&written.as_bytes()[..len]);
            return Self {
                text,
                len: len as u8,
            };
        };
        let mut put = |at: usize, value: u32, digits: usize| {
            let mut value = value;
            for i in (0..digits).rev() {
                text[at + i] = b'0' + (value % 10) as u8;
                value /= 10;
            }
        };
        put(0, year, 4);
        put(5, time.month(), 2);
        put(8, time.day(), 2);
        put(11, time.hour(), 2);
        put(14, time.minute(), 2);
        put(17, time.second(), 2);
        for (at, sign) in [
            (4, b'-'),
            (7, b'-'),
            (10, b'T'),
            (13, b':'),
            (16, b':'),
            (19, b'Z'),
        ] {
            text[at] = sign;
        }
        Self { text, len: 20 }
    }

    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.text[..usize::from(self.len)]).unwrap_or_default()
    }
}

impl serde::Serialize for Stamp {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::timestamp;

    #[test]
    fn timestamps_are_rfc_3339_at_second_precision_in_utc() {
        assert_eq!(timestamp(1_595_667_674_999), "2020-07-25T09:01:14Z");
        assert_eq!(timestamp(0), "1970-01-01T00:00:00Z");
    }

    /// Written as chrono writes them, from before the epoch to past year 9999.
    #[test]
    fn timestamps_are_written_as_chrono_writes_them() {
        let mut ms: i64 = -62_135_596_800_000; // 0001-01-01
        while ms < 300_000_000_000_000 {
            let expected = chrono::DateTime::from_timestamp_millis(ms)
                .unwrap()
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
            assert_eq!(timestamp(ms), expected);
            ms += 86_399_999_937;
        }
        assert_eq!(timestamp(253_402_300_800_000), "+10000-01-01T00:00:00Z");
    }
}
