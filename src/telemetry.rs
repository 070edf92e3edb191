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

use tracing::field::{Field, Visit};
use tracing::{Event, Level, Metadata, Subscriber};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::field::{MakeVisitor, VisitFmt, VisitOutput};
use tracing_subscriber::fmt::format::{DefaultVisitor, Format, Full, Writer};
use tracing_subscriber::fmt::time::FormatTime;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields, FormattedFields, MakeWriter};
use tracing_subscriber::registry::LookupSpan;

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
        LogFormat::Pretty => builder
            .fmt_fields(LineFields)
            .event_format(LineFormat::default())
            .init(),
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

/// The lines of the `pretty` format as tracing's own (`Full`) writes them, without colours
/// written directly instead of through its styling (about 5k of the 17k instructions a
/// request spends on its span and line). With colours (on a terminal), and for events of the
/// `log` crate, tracing's own writes them.
struct LineFormat {
    stock: Format<Full, LineTime>,
}

impl Default for LineFormat {
    fn default() -> Self {
        Self {
            stock: tracing_subscriber::fmt::format().with_timer(LineTime),
        }
    }
}

impl LineFormat {
    fn level(level: &Level) -> &'static str {
        match *level {
            Level::TRACE => "TRACE",
            Level::DEBUG => "DEBUG",
            Level::INFO => " INFO",
            Level::WARN => " WARN",
            Level::ERROR => "ERROR",
        }
    }
}

impl<S, N> FormatEvent<S, N> for LineFormat
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> std::fmt::Result {
        let meta = event.metadata();
        if writer.has_ansi_escapes() || meta.fields().field("log.target").is_some() {
            return self.stock.format_event(ctx, writer, event);
        }
        if LineTime.format_time(&mut writer).is_err() {
            writer.write_str("<unknown time>")?;
        }
        writer.write_char(' ')?;
        writer.write_str(Self::level(meta.level()))?;
        writer.write_char(' ')?;
        if let Some(scope) = ctx.event_scope() {
            let mut seen = false;
            for span in scope.from_root() {
                writer.write_str(span.metadata().name())?;
                seen = true;
                let extensions = span.extensions();
                if let Some(fields) = extensions.get::<FormattedFields<N>>()
                    && !fields.is_empty()
                {
                    writer.write_char('{')?;
                    writer.write_str(fields)?;
                    writer.write_char('}')?;
                }
                writer.write_char(':')?;
            }
            if seen {
                writer.write_char(' ')?;
            }
        }
        writer.write_str(meta.target())?;
        writer.write_str(": ")?;
        ctx.format_fields(writer.by_ref(), event)?;
        writer.write_char('\n')
    }
}

/// The fields of a line as tracing's own (`DefaultFields`) writes them, with a plain string
/// or number field (most of a request's: its id, path and route) written directly instead of
/// through `Debug` and the styling of its name.
struct LineFields;

impl<'a> MakeVisitor<Writer<'a>> for LineFields {
    type Visitor = LineVisitor<'a>;

    fn make_visitor(&self, writer: Writer<'a>) -> LineVisitor<'a> {
        LineVisitor {
            writer,
            empty: true,
            result: Ok(()),
        }
    }
}

struct LineVisitor<'a> {
    writer: Writer<'a>,
    /// Whether no field has been written yet (the next is not preceded by a space).
    empty: bool,
    result: std::fmt::Result,
}

impl LineVisitor<'_> {
    /// The field as tracing's own visitor writes it.
    fn stock(&mut self, record: impl FnOnce(&mut DefaultVisitor<'_>)) {
        let mut visitor = DefaultVisitor::new(self.writer.by_ref(), self.empty);
        record(&mut visitor);
        self.result = self.result.and(visitor.finish());
        self.empty = false;
    }

    /// Whether the field is written here: a named field (not the message, nor one of
    /// `log`'s, nor a raw identifier), without colours.
    fn plain(&self, field: &Field) -> bool {
        let name = field.name();
        name != "message"
            && !name.starts_with("log.")
            && !name.starts_with("r#")
            && !self.writer.has_ansi_escapes()
    }

    fn name(&mut self, field: &Field) {
        if !self.empty {
            self.result = self.result.and(self.writer.write_char(' '));
        }
        self.empty = false;
        self.result = self
            .result
            .and(self.writer.write_str(field.name()))
            .and(self.writer.write_char('='));
    }
}

impl Visit for LineVisitor<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        // What `Debug` writes unchanged: printable ASCII but for `"` and `\`.
        let unescaped = value
            .bytes()
            .all(|b| (b' '..=b'~').contains(&b) && b != b'"' && b != b'\\');
        if !(unescaped && self.plain(field)) {
            return self.stock(|v| v.record_str(field, value));
        }
        self.name(field);
        self.result = self
            .result
            .and(self.writer.write_char('"'))
            .and(self.writer.write_str(value))
            .and(self.writer.write_char('"'));
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        if !self.plain(field) {
            return self.stock(|v| v.record_u64(field, value));
        }
        self.name(field);
        self.result = self.result.and(write!(self.writer, "{value}"));
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        if !self.plain(field) {
            return self.stock(|v| v.record_i64(field, value));
        }
        self.name(field);
        self.result = self.result.and(write!(self.writer, "{value}"));
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        if !self.plain(field) {
            return self.stock(|v| v.record_bool(field, value));
        }
        self.name(field);
        self.result = self
            .result
            .and(self.writer.write_str(if value { "true" } else { "false" }));
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        if !self.plain(field) {
            return self.stock(|v| v.record_f64(field, value));
        }
        self.name(field);
        self.result = self.result.and(write!(self.writer, "{value:?}"));
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.stock(|v| v.record_error(field, value));
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if !self.plain(field) {
            return self.stock(|v| v.record_debug(field, value));
        }
        self.name(field);
        self.result = self.result.and(write!(self.writer, "{value:?}"));
    }
}

impl VisitOutput<std::fmt::Result> for LineVisitor<'_> {
    fn finish(self) -> std::fmt::Result {
        self.result
    }
}

impl VisitFmt for LineVisitor<'_> {
    fn writer(&mut self) -> &mut dyn std::fmt::Write {
        &mut self.writer
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
    use std::sync::{Arc, Mutex};

    use tracing::Level;
    use tracing_subscriber::fmt::format::Writer;
    use tracing_subscriber::fmt::time::{FormatTime, SystemTime};

    use super::{LineFields, LineFormat, LineTime};

    /// What `emit` logs through tracing's own format (`ours` false) or ours, without colours,
    /// each line without its time.
    fn logged(ours: bool, emit: fn()) -> Vec<String> {
        let buffer = Arc::new(Mutex::new(Vec::new()));
        let sink = buffer.clone();
        let builder = tracing_subscriber::fmt()
            .with_ansi(false)
            .with_max_level(Level::TRACE)
            .with_timer(LineTime)
            .with_writer(move || Sink(sink.clone()));
        if ours {
            let subscriber = builder
                .fmt_fields(LineFields)
                .event_format(LineFormat::default())
                .finish();
            tracing::subscriber::with_default(subscriber, emit);
        } else {
            tracing::subscriber::with_default(builder.finish(), emit);
        }
        let text = String::from_utf8(buffer.lock().unwrap().clone()).unwrap();
        text.lines()
            .map(|line| line.split_once(' ').unwrap().1.to_owned())
            .collect()
    }

    struct Sink(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Sink {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn events() {
        let request = tracing::info_span!(
            "request",
            request_id = "4f1c-9b",
            method = %"GET",
            path = "/scim/v2/Users/\"x\"\\y",
            route = Some("/scim/v2/Users/{id}"),
        );
        let _entered = request.enter();
        tracing::info!(status = 200u16, latency_ms = 0.427943, "request");
        tracing::warn!(
            name = "tab\there",
            count = -3i64,
            flag = true,
            whole = 2.0f64,
            tiny = 1e-9f64,
            "with \"quotes\" and \x1b[31m escapes"
        );
        let source = std::io::Error::other("disk full");
        let error = std::io::Error::other(Wrapped(source));
        tracing::error!(error = &error as &dyn std::error::Error, "failed");
        tracing::info!(
            r#type = "raw",
            unicode = "zoë",
            empty = "",
            dir = "C:\\tmp",
            "fields"
        );
        tracing::info!(debug = ?vec![1, 2], display = %"shown", big = u64::MAX);
        let later = tracing::debug_span!("later", filled = tracing::field::Empty, n = 1u64);
        later.record("filled", "now");
        let _inner = later.enter();
        tracing::trace!("no fields");
        let empty = tracing::info_span!("empty");
        let _in_empty = empty.enter();
        tracing::info!(only = 1u64);
    }

    #[derive(Debug)]
    struct Wrapped(std::io::Error);

    impl std::fmt::Display for Wrapped {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "could not write")
        }
    }

    impl std::error::Error for Wrapped {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            Some(&self.0)
        }
    }

    #[test]
    fn lines_are_written_as_tracing_writes_them() {
        let (ours, theirs) = (logged(true, events), logged(false, events));
        assert_eq!(theirs.len(), 7, "{theirs:#?}");
        assert_eq!(ours, theirs);
        assert!(
            ours[0].contains(r#"route="/scim/v2/Users/{id}"}"#),
            "{}",
            ours[0]
        );
    }

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
