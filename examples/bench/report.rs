//! What a run prints: each phase against its floor, as a table or as JSON lines, and the
//! resident memory of the server.

use std::time::Duration;

use serde_json::{Value, json};

use crate::floors::Floor;
use crate::run::PhaseResult;

/// The floors a phase is compared to: the one its target names first, then another that is
/// shown too. Reads by id and by `userName` are held to the HTTP floor on SQLite, where the
/// database costs little, and to the point select on PostgreSQL, where a round trip to the
/// database is the larger part.
fn floors_of(phase: &str, postgres: bool) -> &'static [Floor] {
    match phase {
        "create" => &[Floor::Insert],
        "get" | "lookup" if postgres => &[Floor::Select, Floor::Http],
        "get" | "lookup" => &[Floor::Http, Floor::Select],
        _ => &[],
    }
}

/// A phase's throughput as a share of a floor's.
struct Ratio {
    floor: Floor,
    floor_ops_per_sec: f64,
    percent: f64,
}

/// The ratios of a phase to its floors that were measured, in the order of `floors_of`.
fn ratios(r: &PhaseResult, results: &[PhaseResult], postgres: bool) -> Vec<Ratio> {
    floors_of(r.phase, postgres)
        .iter()
        .filter_map(|&floor| {
            let measured = results.iter().find(|f| f.phase == floor.name())?;
            let floor_ops_per_sec = measured.ops_per_sec();
            Some(Ratio {
                floor,
                floor_ops_per_sec,
                percent: 100.0 * r.ops_per_sec() / floor_ops_per_sec.max(f64::EPSILON),
            })
        })
        .collect()
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Three decimals are more than a benchmark resolves.
fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

pub fn print_table(results: &[PhaseResult], postgres: bool) {
    let width = results.iter().map(|r| r.phase.len()).fold(5, usize::max);
    println!(
        "{:<width$} {:>4} {:>6} {:>6} {:>9} {:<15} {:>7} {:<22} {:>8} {:>8} {:>7} {:>8}",
        "phase",
        "conc",
        "ops",
        "errors",
        "ops/s",
        "vs floor",
        "ratio",
        "also",
        "p50 ms",
        "p99 ms",
        "p99/p50",
        "max ms"
    );
    for r in results {
        let ratios = ratios(r, results, postgres);
        let (floor, ratio) = match ratios.first() {
            Some(first) => (first.floor.name(), format!("{:.1}%", first.percent)),
            None => ("", String::new()),
        };
        let also = ratios
            .get(1)
            .map(|r| format!("{} {:.1}%", r.floor.name(), r.percent))
            .unwrap_or_default();
        println!(
            "{:<width$} {:>4} {:>6} {:>6} {:>9.1} {:<15} {:>7} {:<22} {:>8.2} {:>8.2} {:>7.1} {:>8.2}",
            r.phase,
            r.workers,
            r.ops,
            r.errors,
            r.ops_per_sec(),
            floor,
            ratio,
            also,
            ms(r.p50),
            ms(r.p99),
            r.p99_over_p50(),
            ms(r.max),
        );
    }
}

/// The JSON line of a phase: `run` (what all lines share) and the phase's figures.
pub fn phase_json(r: &PhaseResult, results: &[PhaseResult], postgres: bool, run: &Value) -> Value {
    let ratios = ratios(r, results, postgres);
    let first = ratios.first();
    let mut line = run.clone();
    let figures = json!({
        "phase": r.phase,
        "concurrency": r.workers,
        "ops": r.ops,
        "errors": r.errors,
        "wall_s": round3(r.wall.as_secs_f64()),
        "ops_per_s": round3(r.ops_per_sec()),
        "floor": first.map(|f| f.floor.name()),
        "floor_ops_per_s": first.map(|f| round3(f.floor_ops_per_sec)),
        "ratio_pct": first.map(|f| round3(f.percent)),
        "ratios_pct": ratios
            .iter()
            .map(|f| (f.floor.name().to_owned(), json!(round3(f.percent))))
            .collect::<serde_json::Map<_, _>>(),
        "p50_ms": round3(ms(r.p50)),
        "p99_ms": round3(ms(r.p99)),
        "p99_over_p50": round3(r.p99_over_p50()),
        "max_ms": round3(ms(r.max)),
    });
    if let (Some(line), Value::Object(figures)) = (line.as_object_mut(), figures) {
        line.extend(figures);
    }
    line
}

/// The resident memory of a process at one point of the run, from `/proc/<pid>/status`.
pub struct Rss {
    pub at: &'static str,
    /// `VmRSS`: resident now.
    pub rss_kib: u64,
    /// `VmHWM`: the most resident so far.
    pub peak_kib: u64,
}

impl Rss {
    /// Reads the memory of process `pid`, or of this one.
    pub fn read(at: &'static str, pid: Option<u32>) -> anyhow::Result<Self> {
        let path = match pid {
            Some(pid) => format!("/proc/{pid}/status"),
            None => "/proc/self/status".to_owned(),
        };
        let status =
            std::fs::read_to_string(&path).map_err(|e| anyhow::anyhow!("reading {path}: {e}"))?;
        let field = |name: &str| {
            status
                .lines()
                .find_map(|line| line.strip_prefix(name)?.strip_prefix(':'))
                .and_then(|v| v.trim().strip_suffix("kB")?.trim().parse().ok())
                .ok_or_else(|| anyhow::anyhow!("{path} has no {name}"))
        };
        Ok(Self {
            at,
            rss_kib: field("VmRSS")?,
            peak_kib: field("VmHWM")?,
        })
    }

    pub fn print(&self, whose: &str) {
        let mib = |kib: u64| kib as f64 / 1024.0;
        println!(
            "rss of {whose} {}: {:.1} MiB (peak so far {:.1} MiB)",
            self.at,
            mib(self.rss_kib),
            mib(self.peak_kib)
        );
    }

    pub fn json(&self, whose: &str, run: &Value) -> Value {
        let mut line = run.clone();
        if let Some(line) = line.as_object_mut() {
            line.extend([
                ("rss_of".to_owned(), json!(whose)),
                ("at".to_owned(), json!(self.at)),
                ("rss_kib".to_owned(), json!(self.rss_kib)),
                ("peak_kib".to_owned(), json!(self.peak_kib)),
            ]);
        }
        line
    }
}
