//! Logging: tracing with an env filter (`RUST_LOG`), human-readable or JSON, to stderr;
//! colours only when stderr is a terminal.
//!
//! The lines written while a request is served carry its fields as a `request` span would
//! (`request{request_id=".." method=GET path=".." route=".."}:`, or `span` and `spans` in
//! JSON), from a task-local the middleware sets (`RequestLine`): unlike a span, it costs a
//! request nothing until a line is written.
//!
//! Lines are written to stderr in batches (`Batched`), so that the request line costs a
//! request no system call: a line waits at most `FLUSH_INTERVAL` in memory, warnings and
//! errors are written at once (after the lines before them), and `flush` writes what waits
//! when the program ends. A process killed outright loses at most the last `FLUSH_INTERVAL`
//! of info lines.

use std::cell::RefCell;
use std::fmt::Write as _;
use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Once};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::http::Method;
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Metadata, Subscriber};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::field::{MakeVisitor, VisitFmt, VisitOutput};
use tracing_subscriber::fmt::format::{DefaultVisitor, Format, Full, Json, JsonFields, Writer};
use tracing_subscriber::fmt::time::FormatTime;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields, FormattedFields, MakeWriter};
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt;

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
    let ansi = std::io::stderr().is_terminal();
    subscriber(format, filter, Stderr, ansi).init();
}

/// The subscriber that `init` installs, its lines written with `writer` (a test's), those of
/// `filter`, in colour if `ansi`.
pub fn subscriber<W>(
    format: LogFormat,
    filter: EnvFilter,
    writer: W,
    ansi: bool,
) -> Box<dyn Subscriber + Send + Sync>
where
    W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .with_timer(LineTime)
        .with_ansi(ansi);
    match format {
        LogFormat::Pretty => Box::new(
            builder
                .fmt_fields(LineFields)
                .event_format(LineFormat::default())
                .finish(),
        ),
        LogFormat::Json => Box::new(
            builder
                .fmt_fields(JsonFields::new())
                .event_format(JsonLine::default())
                .finish(),
        ),
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
            // The microseconds, six digits with leading zeros, written without `fmt`.
            let mut digits = *b".000000Z";
            let mut micros = now.subsec_micros();
            for digit in digits[1..7].iter_mut().rev() {
                *digit = b'0' + (micros % 10) as u8;
                micros /= 10;
            }
            w.write_str(text)?;
            w.write_str(std::str::from_utf8(&digits).unwrap_or(".000000Z"))
        })
    }
}

/// The request being served, whose fields the lines written while it is served carry, as
/// those of a `request` span (its root) would: set by the middleware for the request's
/// duration (`scope`).
#[derive(Clone)]
pub struct RequestLine {
    pub id: Arc<str>,
    pub method: Method,
    pub path: Arc<str>,
    /// The route the path matched, if any.
    pub route: Option<Arc<str>>,
}

tokio::task_local! {
    static REQUEST: RequestLine;
}

impl RequestLine {
    /// Runs `f` as the serving of this request.
    pub async fn scope<F: Future>(self, f: F) -> F::Output {
        REQUEST.scope(self, f).await
    }

    /// Runs `f` as the serving of this request, at once.
    pub fn sync_scope<R>(self, f: impl FnOnce() -> R) -> R {
        REQUEST.sync_scope(self, f)
    }

    /// The request's span as tracing's own `Full` format writes it, with our fields
    /// (`LineFields`): `request{request_id="4f1c" method=GET path="/" route="/"}:`.
    fn write_span(&self, w: &mut Writer<'_>) -> std::fmt::Result {
        if !w.has_ansi_escapes() {
            w.write_str("request{request_id=")?;
            write_quoted(w, &self.id)?;
            w.write_str(" method=")?;
            w.write_str(self.method.as_str())?;
            w.write_str(" path=")?;
            write_quoted(w, &self.path)?;
            if let Some(route) = &self.route {
                w.write_str(" route=")?;
                write_quoted(w, route)?;
            }
            return w.write_str("}:");
        }
        // With colours: the span's name and braces bold, the names of its fields italic, the
        // equals signs and the colon after it dimmed.
        let field = |w: &mut Writer<'_>, name: &str, first: bool| {
            if !first {
                w.write_char(' ')?;
            }
            styled(w, ITALIC, name)?;
            styled(w, DIMMED, "=")
        };
        styled(w, BOLD, "request")?;
        styled(w, BOLD, "{")?;
        field(w, "request_id", true)?;
        write_quoted(w, &self.id)?;
        field(w, "method", false)?;
        w.write_str(self.method.as_str())?;
        field(w, "path", false)?;
        write_quoted(w, &self.path)?;
        if let Some(route) = &self.route {
            field(w, "route", false)?;
            write_quoted(w, route)?;
        }
        styled(w, BOLD, "}")?;
        styled(w, DIMMED, ":")
    }

    /// The request's span as tracing's own `Json` format writes the current span and the
    /// list of spans: `,"span":{...},"spans":[{...}]`.
    fn json_span(&self) -> String {
        let string = |text: &str| serde_json::to_string(text).unwrap_or_default();
        let mut span = format!(
            "{{\"request_id\":{},\"method\":{},\"path\":{}",
            string(&self.id),
            string(self.method.as_str()),
            string(&self.path)
        );
        if let Some(route) = &self.route {
            let _ = write!(span, ",\"route\":{}", string(route));
        }
        span.push_str(",\"name\":\"request\"}");
        format!(",\"span\":{span},\"spans\":[{span}]")
    }
}

/// A string field's value as `Debug` writes it (quoted, escaped), without the work of
/// escaping when nothing needs it: printable ASCII but for `"` and `\\`.
fn write_quoted(w: &mut impl std::fmt::Write, value: &str) -> std::fmt::Result {
    // Without short circuits, so that the compiler checks many bytes at once.
    let unescaped = value.bytes().fold(true, |plain, b| {
        plain & (b.wrapping_sub(b' ') <= b'~' - b' ') & (b != b'"') & (b != b'\\')
    });
    if !unescaped {
        return write!(w, "{value:?}");
    }
    w.write_char('"')?;
    w.write_str(value)?;
    w.write_char('"')
}

/// The lines of the `json` format as tracing's own writes them (flattened, with the current
/// span and the list of spans), with the request's span (`RequestLine`) when the line is
/// written while a request is served and in no span of tracing's.
struct JsonLine {
    stock: Format<Json, LineTime>,
}

impl Default for JsonLine {
    fn default() -> Self {
        Self {
            stock: tracing_subscriber::fmt::format()
                .with_timer(LineTime)
                .json()
                .flatten_event(true)
                .with_current_span(true),
        }
    }
}

impl<S, N> FormatEvent<S, N> for JsonLine
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
        let span = match ctx.lookup_current() {
            None => REQUEST.try_with(RequestLine::json_span).ok(),
            Some(_) => None,
        };
        let Some(span) = span else {
            return self.stock.format_event(ctx, writer, event);
        };
        let mut line = String::new();
        self.stock
            .format_event(ctx, Writer::new(&mut line), event)?;
        match line.trim_end().strip_suffix('}') {
            Some(open) => {
                writer.write_str(open)?;
                writer.write_str(&span)?;
                writer.write_str("}\n")
            }
            None => writer.write_str(&line),
        }
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
    /// A level's colour (its ANSI code) and text.
    fn level(level: &Level) -> (u8, &'static str) {
        match *level {
            Level::TRACE => (35, "TRACE"),
            Level::DEBUG => (34, "DEBUG"),
            Level::INFO => (32, " INFO"),
            Level::WARN => (33, " WARN"),
            Level::ERROR => (31, "ERROR"),
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
        let ansi = writer.has_ansi_escapes();
        // With colours, outside a request, tracing's own writes the line just as well.
        if meta.fields().field("log.target").is_some()
            || (ansi && REQUEST.try_with(|_| ()).is_err())
        {
            return self.stock.format_event(ctx, writer, event);
        }
        if ansi {
            writer.write_str("\x1b[2m")?;
        }
        if LineTime.format_time(&mut writer).is_err() {
            writer.write_str("<unknown time>")?;
        }
        if ansi {
            writer.write_str("\x1b[0m")?;
        }
        writer.write_char(' ')?;
        let (colour, level) = Self::level(meta.level());
        styled(&mut writer, colour, level)?;
        writer.write_char(' ')?;
        let mut seen = REQUEST
            .try_with(|request| request.write_span(&mut writer))
            .map(|written| written.map(|()| true))
            .unwrap_or(Ok(false))?;
        if let Some(scope) = ctx.event_scope() {
            for span in scope.from_root() {
                styled(&mut writer, BOLD, span.metadata().name())?;
                seen = true;
                let extensions = span.extensions();
                if let Some(fields) = extensions.get::<FormattedFields<N>>()
                    && !fields.is_empty()
                {
                    styled(&mut writer, BOLD, "{")?;
                    writer.write_str(fields)?;
                    styled(&mut writer, BOLD, "}")?;
                }
                styled(&mut writer, DIMMED, ":")?;
            }
        }
        if seen {
            writer.write_char(' ')?;
        }
        styled(&mut writer, DIMMED, meta.target())?;
        styled(&mut writer, DIMMED, ":")?;
        writer.write_char(' ')?;
        ctx.format_fields(writer.by_ref(), event)?;
        writer.write_char('\n')
    }
}

/// `text` in the ANSI style `code` when the writer writes colours, as it is otherwise.
fn styled(w: &mut Writer<'_>, code: u8, text: &str) -> std::fmt::Result {
    if w.has_ansi_escapes() {
        write!(w, "\x1b[{code}m{text}\x1b[0m")
    } else {
        w.write_str(text)
    }
}

/// The ANSI codes of the styles of tracing's own lines.
const BOLD: u8 = 1;
const DIMMED: u8 = 2;
const ITALIC: u8 = 3;

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

    use super::{JsonFields, JsonLine, LineFields, LineFormat, LineTime, RequestLine};

    /// How lines are written.
    #[derive(Debug, Clone, Copy, PartialEq)]
    enum Style {
        Plain,
        Ansi,
        Json,
    }

    /// What `emit` logs through tracing's own format (`ours` false) or ours, each line without
    /// its time.
    fn logged(ours: bool, style: Style, emit: &dyn Fn()) -> Vec<String> {
        let buffer = Arc::new(Mutex::new(Vec::new()));
        let sink = buffer.clone();
        let builder = tracing_subscriber::fmt()
            .with_ansi(style == Style::Ansi)
            .with_max_level(Level::TRACE)
            .with_timer(LineTime)
            .with_writer(move || Sink(sink.clone()));
        match (ours, style) {
            (true, Style::Json) => {
                let subscriber = builder
                    .fmt_fields(JsonFields::new())
                    .event_format(JsonLine::default())
                    .finish();
                tracing::subscriber::with_default(subscriber, emit);
            }
            (false, Style::Json) => {
                let subscriber = builder
                    .json()
                    .flatten_event(true)
                    .with_current_span(true)
                    .finish();
                tracing::subscriber::with_default(subscriber, emit);
            }
            (true, _) => {
                let subscriber = builder
                    .fmt_fields(LineFields)
                    .event_format(LineFormat::default())
                    .finish();
                tracing::subscriber::with_default(subscriber, emit);
            }
            (false, _) => tracing::subscriber::with_default(builder.finish(), emit),
        }
        let text = String::from_utf8(buffer.lock().unwrap().clone()).unwrap();
        text.lines()
            .map(|line| match style {
                Style::Json => {
                    let mut entry: serde_json::Value = serde_json::from_str(line).unwrap();
                    entry.as_object_mut().unwrap().remove("timestamp").unwrap();
                    entry.to_string()
                }
                _ => line.split_once(' ').unwrap().1.to_owned(),
            })
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
        let (ours, theirs) = (
            logged(true, Style::Plain, &events),
            logged(false, Style::Plain, &events),
        );
        assert_eq!(theirs.len(), 7, "{theirs:#?}");
        assert_eq!(ours, theirs);
        assert!(
            ours[0].contains(r#"route="/scim/v2/Users/{id}"}"#),
            "{}",
            ours[0]
        );
        for style in [Style::Ansi, Style::Json] {
            assert_eq!(logged(true, style, &events), logged(false, style, &events));
        }
    }

    /// The lines of a request served: ours inside the request's task-local (`RequestLine`),
    /// tracing's own inside the `request` span that we no longer make.
    fn served(ours: bool, route: Option<&str>, inner_span: bool) {
        let path = "/scim/v2/Users/\"odd\" zoë";
        let lines = || {
            tracing::info!(status = 200u16, latency_ms = 0.25, "request");
            tracing::error!(cause = "a \"quoted\" cause", "handler panicked");
            if inner_span {
                let inner = tracing::info_span!("inner", n = 2u64);
                let _entered = inner.enter();
                tracing::warn!("inside");
            }
        };
        if ours {
            let line = RequestLine {
                id: "4f1c-9b".into(),
                method: axum::http::Method::PATCH,
                path: path.into(),
                route: route.map(Arc::from),
            };
            tokio::runtime::Builder::new_current_thread()
                .build()
                .unwrap()
                .block_on(line.scope(async { lines() }));
        } else {
            let span = tracing::info_span!(
                "request",
                request_id = "4f1c-9b",
                method = %axum::http::Method::PATCH,
                path,
                route,
            );
            span.in_scope(lines);
        }
    }

    #[test]
    fn request_lines_carry_the_request_as_its_span_did() {
        for style in [Style::Plain, Style::Ansi] {
            for route in [Some("/scim/v2/Users/{id}"), None] {
                let ours = logged(true, style, &|| served(true, route, true));
                let theirs = logged(false, style, &|| served(false, route, true));
                assert_eq!(theirs.len(), 3, "{theirs:#?}");
                assert_eq!(ours, theirs, "{style:?}");
            }
        }
        let plain = logged(true, Style::Plain, &|| {
            served(true, Some("/scim/v2/Users/{id}"), false)
        });
        assert!(
            plain[0].contains(r#"request{request_id="4f1c-9b" method=PATCH path="/scim/v2/Users/\"odd\" zoë" route="/scim/v2/Users/{id}"}: "#),
            "{}",
            plain[0]
        );
        for route in [Some("/scim/v2/Users/{id}"), None] {
            let ours = logged(true, Style::Json, &|| served(true, route, false));
            let theirs = logged(false, Style::Json, &|| served(false, route, false));
            assert_eq!(theirs.len(), 2, "{theirs:#?}");
            assert_eq!(ours, theirs);
            let entry: serde_json::Value = serde_json::from_str(&ours[0]).unwrap();
            assert_eq!(entry["span"]["method"], "PATCH", "{entry}");
        }
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
