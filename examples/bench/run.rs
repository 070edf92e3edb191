//! The measuring of a phase: work items handed out in order to concurrent workers, each item
//! timed, and the figures of the whole; and the HTTP calls that most phases are made of.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use reqwest::header::CONTENT_TYPE;
use reqwest::{Method, StatusCode};
use serde_json::Value;
use tokio::task::JoinSet;

/// How many failures of one phase are printed in full.
const REPORTED_ERRORS: usize = 5;

pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

/// What became of one work item.
pub enum Item {
    /// The phase has no item of this number: the worker stops.
    Done,
    /// The item could not be tried (a phase before failed for it): an error, not timed.
    Skipped(String),
    /// The item took this long, and succeeded or failed.
    Timed(Duration, Result<(), String>),
}

/// The work of a phase: item `i`, run to its end.
pub type Job = Arc<dyn Fn(usize) -> BoxFuture<Item> + Send + Sync>;

/// One HTTP request of a phase, relative to the SCIM base URL.
pub struct Call {
    pub method: Method,
    /// The path with its query, starting with `/`.
    pub path: String,
    pub body: Option<Value>,
    pub expect: StatusCode,
}

impl Call {
    pub fn new(method: Method, path: impl Into<String>, expect: StatusCode) -> Self {
        Self {
            method,
            path: path.into(),
            body: None,
            expect,
        }
    }

    pub fn with_body(mut self, body: Value) -> Self {
        self.body = Some(body);
        self
    }

    /// Whether the answer had the expected status; if not, the error, with the answer's body.
    pub fn expect_status(&self, status: StatusCode, body: &str) -> Result<(), String> {
        if status == self.expect {
            return Ok(());
        }
        Err(format!(
            "{} {}: status {status}, expected {}: {}",
            self.method,
            self.path,
            self.expect,
            truncate(body, 500)
        ))
    }
}

/// What a phase does for work item `i`.
pub enum Step {
    Send(Call),
    /// The item cannot be sent (a phase before failed for it): an error, not timed.
    Fail(String),
    /// The phase is over.
    Done,
}

pub type RequestFn = dyn Fn(usize) -> Step + Send + Sync;
pub type CheckFn = dyn Fn(usize, Value) -> Result<(), String> + Send + Sync;
pub type FinishFn = dyn Fn() -> Result<(), String> + Send + Sync;

/// How many workers a phase runs on.
#[derive(Clone, Copy)]
pub enum Workers {
    /// `--concurrency`.
    Default,
    /// One, because each request depends on the response before.
    One,
    /// This many, whatever `--concurrency` says.
    Exactly(usize),
}

/// A timed step of the workload: requests produced item by item, a check of each response
/// that arrived with the expected status, and a check of the whole once all are done.
///
/// Phases share what they learn (ids, cursors) through the state their closures capture.
pub struct Phase {
    pub name: &'static str,
    pub workers: Workers,
    /// The phases this one relies on: selecting it selects them.
    pub needs: &'static [&'static str],
    /// Selected with the phases it needs rather than by name: it checks their outcome.
    pub verifies: bool,
    work: Work,
    finish: Option<Box<FinishFn>>,
}

/// What the items of a phase do.
enum Work {
    /// One call per item.
    Calls {
        request: Arc<RequestFn>,
        /// Called with the JSON body of every response that had the expected status.
        check: Option<Arc<CheckFn>>,
    },
    /// A job of its own, made for the target.
    Job(Box<dyn FnOnce(Arc<Target>) -> Job + Send>),
}

impl Phase {
    /// One request per item `0..items`, spread over the workers.
    pub fn per_item(
        name: &'static str,
        items: usize,
        request: impl Fn(usize) -> Result<Call, String> + Send + Sync + 'static,
    ) -> Self {
        Self::new(name, move |i| {
            if i < items {
                request(i).map_or_else(Step::Fail, Step::Send)
            } else {
                Step::Done
            }
        })
    }

    /// Requests one after another until `request` answers `Step::Done`.
    pub fn sequential(
        name: &'static str,
        request: impl Fn(usize) -> Step + Send + Sync + 'static,
    ) -> Self {
        Self {
            workers: Workers::One,
            ..Self::new(name, request)
        }
    }

    fn new(name: &'static str, request: impl Fn(usize) -> Step + Send + Sync + 'static) -> Self {
        Self {
            name,
            workers: Workers::Default,
            needs: &[],
            verifies: false,
            work: Work::Calls {
                request: Arc::new(request),
                check: None,
            },
            finish: None,
        }
    }

    /// Items that are not one call each: `job` makes their work, given the target.
    pub fn with_job(
        name: &'static str,
        job: impl FnOnce(Arc<Target>) -> Job + Send + 'static,
    ) -> Self {
        Self {
            work: Work::Job(Box::new(job)),
            ..Self::new(name, |_| Step::Done)
        }
    }

    pub fn check(
        mut self,
        check: impl Fn(usize, Value) -> Result<(), String> + Send + Sync + 'static,
    ) -> Self {
        match &mut self.work {
            Work::Calls { check: slot, .. } => *slot = Some(Arc::new(check)),
            Work::Job(_) => unreachable!("a job checks its own answers"),
        }
        self
    }

    pub fn finish(
        mut self,
        finish: impl Fn() -> Result<(), String> + Send + Sync + 'static,
    ) -> Self {
        self.finish = Some(Box::new(finish));
        self
    }

    pub fn needs(mut self, needs: &'static [&'static str]) -> Self {
        self.needs = needs;
        self
    }

    pub fn workers(mut self, workers: usize) -> Self {
        self.workers = Workers::Exactly(workers);
        self
    }

    /// Marks the phase as the check of the phases it needs (`Phase::verifies`).
    pub fn verifying(mut self) -> Self {
        self.verifies = true;
        self
    }

    /// Runs the phase against `target` and measures it; `concurrency` is `Workers::Default`.
    pub async fn run(self, target: &Arc<Target>, concurrency: usize) -> PhaseResult {
        let workers = match self.workers {
            Workers::Default => concurrency,
            Workers::One => 1,
            Workers::Exactly(n) => n,
        };
        let job = match self.work {
            Work::Calls { request, check } => http_job(target.clone(), request, check),
            Work::Job(make) => make(target.clone()),
        };
        measure(self.name, workers, job, self.finish.as_deref()).await
    }
}

/// The job of sending `request(i)` to `target` and checking the answer: its status, and then
/// `check` of its JSON body.
pub fn http_job(target: Arc<Target>, request: Arc<RequestFn>, check: Option<Arc<CheckFn>>) -> Job {
    Arc::new(move |i| {
        let (target, request, check) = (target.clone(), request.clone(), check.clone());
        Box::pin(async move {
            let call = match request(i) {
                Step::Done => return Item::Done,
                Step::Fail(message) => return Item::Skipped(message),
                Step::Send(call) => call,
            };
            let (latency, result) = target.send(&call).await;
            let outcome = result.and_then(|(status, body)| {
                call.expect_status(status, &body)?;
                let Some(check) = &check else {
                    return Ok(());
                };
                let json = serde_json::from_str(&body).map_err(|e| {
                    format!("{} {}: body is not JSON ({e})", call.method, call.path)
                })?;
                check(i, json).map_err(|e| format!("{} {}: {e}", call.method, call.path))
            });
            Item::Timed(latency, outcome)
        })
    })
}

/// An HTTP endpoint under test: the SCIM base URL and its token.
pub struct Target {
    pub client: reqwest::Client,
    pub base: String,
    pub token: String,
}

impl Target {
    /// Sends a call; the latency runs from sending the request to having read the whole body.
    pub async fn send(&self, call: &Call) -> (Duration, Result<(StatusCode, String), String>) {
        let mut builder = self
            .client
            .request(call.method.clone(), format!("{}{}", self.base, call.path))
            .bearer_auth(&self.token);
        if let Some(body) = &call.body {
            builder = builder
                .header(CONTENT_TYPE, "application/scim+json")
                .body(body.to_string());
        }
        let request = match builder.build() {
            Ok(r) => r,
            Err(e) => return (Duration::ZERO, Err(e.to_string())),
        };
        let started = Instant::now();
        let result = async {
            let response = self.client.execute(request).await?;
            let status = response.status();
            Ok((status, response.text().await?))
        }
        .await
        .map_err(|e: reqwest::Error| format!("{e:#}"));
        (started.elapsed(), result)
    }
}

/// The figures of one phase.
pub struct PhaseResult {
    pub phase: &'static str,
    pub workers: usize,
    pub ops: usize,
    pub errors: usize,
    pub wall: Duration,
    pub p50: Duration,
    pub p99: Duration,
    pub max: Duration,
}

impl PhaseResult {
    pub fn ops_per_sec(&self) -> f64 {
        self.ops as f64 / self.wall.as_secs_f64().max(f64::EPSILON)
    }

    /// How much slower the slowest percent is than the median: the spread of the latencies.
    pub fn p99_over_p50(&self) -> f64 {
        self.p99.as_secs_f64() / self.p50.as_secs_f64().max(f64::EPSILON)
    }
}

#[derive(Default)]
struct WorkerStats {
    latencies: Vec<Duration>,
    errors: usize,
}

/// Runs `job` on `workers` concurrent workers, which take the items in order until one
/// answers `Item::Done`, then `finish`; measures the whole.
pub async fn measure(
    name: &'static str,
    workers: usize,
    job: Job,
    finish: Option<&FinishFn>,
) -> PhaseResult {
    let next = Arc::new(AtomicUsize::new(0));
    let reported = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut set = JoinSet::new();
    for _ in 0..workers {
        let (job, next, reported) = (job.clone(), next.clone(), reported.clone());
        set.spawn(async move {
            let mut stats = WorkerStats::default();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let failure = match job(i).await {
                    Item::Done => break,
                    Item::Skipped(message) => Some(message),
                    Item::Timed(latency, outcome) => {
                        stats.latencies.push(latency);
                        outcome.err()
                    }
                };
                if let Some(message) = failure {
                    stats.errors += 1;
                    report(name, &reported, || format!("item {i}: {message}"));
                }
            }
            stats
        });
    }
    let mut latencies = Vec::new();
    let mut errors = 0;
    while let Some(joined) = set.join_next().await {
        match joined {
            Ok(stats) => {
                latencies.extend(stats.latencies);
                errors += stats.errors;
            }
            Err(e) => {
                errors += 1;
                report(name, &reported, || format!("a worker failed: {e}"));
            }
        }
    }
    let wall = started.elapsed();
    if let Some(Err(message)) = finish.map(|finish| finish()) {
        errors += 1;
        report(name, &reported, || message);
    }
    latencies.sort_unstable();
    PhaseResult {
        phase: name,
        workers,
        ops: latencies.len(),
        errors,
        wall,
        p50: percentile(&latencies, 0.50),
        p99: percentile(&latencies, 0.99),
        max: latencies.last().copied().unwrap_or_default(),
    }
}

/// The nearest-rank percentile of sorted latencies.
fn percentile(sorted: &[Duration], q: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = (q * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// Prints the first few failures of a phase.
fn report(phase: &str, reported: &AtomicUsize, message: impl FnOnce() -> String) {
    if reported.fetch_add(1, Ordering::Relaxed) < REPORTED_ERRORS {
        eprintln!("[{phase}] {}", message());
    }
}

fn truncate(text: &str, max: usize) -> &str {
    match text.char_indices().nth(max) {
        Some((at, _)) => &text[..at],
        None => text,
    }
}
