//! Logging: tracing with an env filter (`RUST_LOG`), human-readable or JSON, to stderr;
//! colours only when stderr is a terminal.
//!
//! Lines are written to stderr in batches (`Batched`), so that the request line costs a
//! request no system call: a line waits at most `FLUSH_INTERVAL` in memory, warnings and
//! errors are written at once (after the lines before them), and `flush` writes what waits
//! when the program ends. A process killed outright loses at most the last `FLUSH_INTERVAL`
//! of info lines.

use std::cell::RefCell;
use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard, Once};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tracing::{Level, Metadata};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::time::FormatTime;

use crate::config::LogFormat;

/// The longest a line waits before it is written.
const FLUSH_INTERVAL: Duration = Duration::from_millis(50);

/// Past this much waiting, a line is written at once with those before it.
const MAX_WAITING: usize = 64 * 1024;

static LINES: Batched = Batched {
    waiting: Mutex::new(Vec::new()),
    flushed: AtomicBool::new(false),
};

pub fn init(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,tower_http=warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(Stderr)
        .with_timer(LineTime)
        .with_ansi(std::io::stderr().is_terminal());
    static FLUSHER: Once = Once::new();
    FLUSHER.call_once(|| {
        let spawned = std::thread::Builder::new()
            .name("log-flush".into())
            .spawn(|| {
                loop {
                    std::thread::sleep(FLUSH_INTERVAL);
                    flush();
                }
            });
        // Without the thread, every line is written at once.
        LINES.flushed.store(spawned.is_ok(), Ordering::Relaxed);
    });
    match format {
        LogFormat::Pretty => builder.init(),
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .init(),
    }
}

/// The time of a line as tracing's own `SystemTime` writes it, RFC 3339 in UTC to the
/// microsecond (`2026-11-27T01:44:35.444606Z`), with the part up to the second formatted
/// once a second (on each thread) instead of on every line.
struct LineTime;

impl FormatTime for LineTime {
    fn format_time(&self, w: &mut Writer<'_>) -> std::fmt::Result {
        thread_local! {
            static SECOND: RefCell<(u64, String)> = const { RefCell::new((u64::MAX, String::new())) };
        }
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        SECOND.with_borrow_mut(|(second, text)| {
            if *second != now.as_secs() {
                *second = now.as_secs();
                let secs = i64::try_from(now.as_secs()).unwrap_or_default();
                *text = chrono::DateTime::from_timestamp(secs, 0)
                    .unwrap_or_default()
                    .format("%Y-%m-%dT%H:%M:%S")
                    .to_string();
            }
            write!(w, "{text}.{:06}Z", now.subsec_micros())
        })
    }
}

/// Writes the lines that wait; call it before the program ends.
pub fn flush() {
    LINES.write_out(&mut LINES.waiting());
}

/// The log lines not yet written to stderr.
struct Batched {
    waiting: Mutex<Vec<u8>>,
    /// Whether a thread writes the waiting lines.
    flushed: AtomicBool,
}

impl Batched {
    fn waiting(&self) -> MutexGuard<'_, Vec<u8>> {
        self.waiting.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Writes `waiting` to stderr, under the lock, so that lines keep their order.
    fn write_out(&self, waiting: &mut Vec<u8>) {
        if !waiting.is_empty() {
            // Nowhere to tell of a failure to log.
            let _ = std::io::stderr().lock().write_all(waiting);
            waiting.clear();
        }
    }
}

/// One line, as tracing writes it.
struct Line {
    /// Written at once: a warning or an error.
    urgent: bool,
}

impl Write for Line {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        let mut waiting = LINES.waiting();
        waiting.extend_from_slice(bytes);
        if self.urgent || waiting.len() >= MAX_WAITING {
            LINES.write_out(&mut waiting);
        }
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Stderr, through `LINES`.
struct Stderr;

impl<'a> MakeWriter<'a> for Stderr {
    type Writer = Line;

    fn make_writer(&'a self) -> Line {
        Line { urgent: true }
    }

    fn make_writer_for(&'a self, meta: &Metadata<'_>) -> Line {
        Line {
            urgent: *meta.level() <= Level::WARN || !LINES.flushed.load(Ordering::Relaxed),
        }
    }
}

#[cfg(test)]
mod tests {
    use tracing_subscriber::fmt::format::Writer;
    use tracing_subscriber::fmt::time::{FormatTime, SystemTime};

    use super::LineTime;

    fn time(timer: &impl FormatTime) -> String {
        let mut text = String::new();
        timer.format_time(&mut Writer::new(&mut text)).unwrap();
        text
    }

    #[test]
    fn lines_are_timed_as_tracing_times_them() {
        for _ in 0..3 {
            let (ours, theirs) = (time(&LineTime), time(&SystemTime));
            let parsed = chrono::DateTime::parse_from_rfc3339(&ours).unwrap();
            let expected = chrono::DateTime::parse_from_rfc3339(&theirs).unwrap();
            assert_eq!(ours.len(), theirs.len(), "{ours} {theirs}");
            assert!(ours.ends_with('Z') && ours.as_bytes()[19] == b'.', "{ours}");
            let apart = (expected - parsed).num_milliseconds();
            assert!((0..1000).contains(&apart), "{ours} {theirs}");
            std::thread::sleep(std::time::Duration::from_millis(600));
        }
    }
}
