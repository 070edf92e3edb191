//! A load benchmark: runs the workload of an identity provider (Entra ID, Okta, ssosync) against
//! idc-scim and reports, phase by phase, throughput and latency, and throughput as a share of
//! floors measured in the same run.
//!
//! The floors come first (`floors`): `http-floor` (the same HTTP client against a trivial
//! handler in this process), `db-insert-floor` and `db-select-floor` (one-row inserts and
//! indexed point selects through sqlx on the server's database), all at `--concurrency`.
//!
//! Then the phases, in order: `create` (POST /Users with a full user), `lookup` (the IdP's
//! `GET /Users?filter=userName eq "..."` before every write), `get` (GET /Users/{id}), `patch`
//! (Entra's PatchOp: replace `title`, deactivate with `"False"`), `patch-user-32` and
//! `patch-user-100` (`--contended-ops` PATCHes of one user at concurrency 32 and 100, each
//! replacing one of several attributes; each followed by a `-verify` phase that finds no change
//! lost, `contended`), `list` (cursor paging through all users, one page per operation, in
//! sequence because each page needs the cursor of the one before) and `delete`. Before
//! `delete`, while the users exist, come the group phases: `group-create` (`--groups` empty
//! groups, the big group and the contended ones), `member-add` (`--members-per-group` members
//! to each group, one PATCH of at most 100 members per operation, AWS's limit),
//! `big-group-add` (`--big-group-members` members to the big group, 100 per PATCH, all
//! concurrently on one group), `patch-group-32` and `patch-group-100` (one-member PATCHes of
//! one group at concurrency 32 and 100, each followed by a `-verify` phase that finds every
//! member with the membership filter), `count-added` (each group's member count, through
//! `GET /Users?filter=groups.value eq "..."`), `member-check` (the membership check
//! `GET /Groups?filter=id eq "..." and members eq "..."`, once per user, half members and half
//! not where the group allows), `member-remove` (the members of `member-add` removed in the same
//! batches), `count-removed` (the counts again) and `group-delete`.
//!
//! `--phases` runs some of them (and the floors and phases they need): e.g.
//! `--phases floors,create,lookup,get`.
//!
//! Every phase checks the status and the parts of the body it relies on; any failure is an
//! error, the first few are printed to stderr, and any error makes the exit status non-zero.
//!
//! Each line of the table: the phase, its concurrency (`conc`), operations, errors, operations
//! per second; the floor it is held to (`vs floor`: the insert floor for `create`; for `get` and
//! `lookup`, the HTTP floor on SQLite and the select floor on PostgreSQL) and its throughput as
//! a share of that floor's (`ratio`), with the other floor in `also`; the median and 99th
//! percentile latency, their ratio (`p99/p50`, the spread) and the slowest operation.
//! `--json` prints the same as one JSON object per phase.
//!
//! Without `--url`, a server is started in process on 127.0.0.1 (port 0) over the database of
//! `--database-url` (default: a SQLite file in a fresh temporary directory, removed at the end),
//! with a fresh tenant and access token, so that repeated runs on one database do not collide.
//! A PostgreSQL database must exist beforehand; the benchmark migrates it but never creates
//! or drops databases. Each run leaves its tenant (and token) behind; its users and groups are
//! deleted (unless `--phases` leaves `delete` and `group-delete` out). The in-process server
//! shares the runtime (and the CPU) with the client, and logs nothing.
//!
//! With `--url`, the server runs elsewhere; the HTTP floor is still measured in this process,
//! and the database floors on `--database-url` when it is given (it should name the database
//! that server uses). `--rss` reports the resident memory (VmRSS) after `create` and at the
//! end: of this process (the client with the in-process server: the client keeps every
//! user's id), or of the server `--server-pid` names.
//!
//! ```text
//! # SQLite, in process:
//! cargo run --release --example bench -- --users 2000 --concurrency 32
//!
//! # PostgreSQL, in process (create the database first:
//! #   psql -h 127.0.0.1 -U postgres -c 'create database bench_xyz'):
//! cargo run --release --example bench -- \
//!     --database-url postgres://postgres@127.0.0.1:5432/bench_xyz
//!
//! # A server that is already running (the SCIM base URL, one of its tokens, its database
//! # for the floors and its process for the memory):
//! cargo run --release --example bench -- --url http://127.0.0.1:8080/scim/v2 --token "$TOKEN" \
//!     --database-url sqlite:///var/lib/idc-scim/idc-scim.db --server-pid "$PID"
//!
//! # The memory at 20k and at 100k users (compare the two "after create" figures):
//! cargo run --release --example bench -- --phases create,get --rss --users 20000
//! cargo run --release --example bench -- --phases create,get --rss --users 100000
//! ```

mod contended;
mod floors;
mod report;
mod run;
mod server;
mod workload;

use std::collections::HashSet;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use clap::builder::RangedU64ValueParser;
use idc_scim::config::Secret;
use serde_json::json;

use crate::floors::Floor;
use crate::report::Rss;
use crate::run::{Phase, Target};
use crate::server::{LocalServer, TempDir};
use crate::workload::{GroupPlan, Workload};

/// The server's allocator (see `src/main.rs`), so that the in-process server measures as the
/// binary runs.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Runs an IdP-style workload against idc-scim and reports throughput and latency per phase,
/// against floors measured in the same run.
#[derive(Parser)]
#[command(name = "bench")]
struct Args {
    /// The SCIM base URL of a running server, e.g. http://127.0.0.1:8080/scim/v2. Without it,
    /// a server is started in process.
    #[arg(long, env = "IDC_SCIM_BENCH_URL", requires = "token")]
    url: Option<String>,

    /// The access token for --url.
    #[arg(long, env = "IDC_SCIM_BENCH_TOKEN", hide_env_values = true)]
    token: Option<Secret>,

    /// The database: `sqlite:FILE` or `postgres://user@host/db` (the database must exist).
    /// Without --url, the in-process server's (default: SQLite in a fresh temporary
    /// directory); with --url, only the database floors use it, and it should be the one the
    /// server uses.
    #[arg(long, env = "IDC_SCIM_BENCH_DATABASE_URL")]
    database_url: Option<String>,

    /// The number of users to create, read, update, list and delete.
    #[arg(long, default_value_t = 2000, value_parser = RangedU64ValueParser::<usize>::new().range(1..))]
    users: usize,

    /// The number of groups that get --members-per-group members each (0: none).
    #[arg(long, default_value_t = 100)]
    groups: usize,

    /// The members of each of the --groups groups (at most --users).
    #[arg(long, default_value_t = 100)]
    members_per_group: usize,

    /// The members of one more group, added 100 per PATCH, concurrently (0: no big group; at
    /// most --users).
    #[arg(long, default_value_t = 20_000)]
    big_group_members: usize,

    /// The number of concurrent clients, of the floors and of the phases (the list phase always
    /// uses one, the contended phases the concurrency in their names).
    #[arg(long, default_value_t = 32, value_parser = RangedU64ValueParser::<usize>::new().range(1..))]
    concurrency: usize,

    /// The operations of each floor (default: --users).
    #[arg(long, value_parser = RangedU64ValueParser::<usize>::new().range(1..))]
    floor_ops: Option<usize>,

    /// The PATCHes of each contended phase (those of a group at most --users).
    #[arg(long, default_value_t = 1000, value_parser = RangedU64ValueParser::<usize>::new().range(1..))]
    contended_ops: usize,

    /// The floors and phases to run, by name, comma-separated, with those they need ("floors":
    /// the three floors; "all": everything, the default).
    #[arg(long, value_delimiter = ',', default_value = "all")]
    phases: Vec<String>,

    /// Report the resident memory after `create` and at the end.
    #[arg(long)]
    rss: bool,

    /// With --url, the process id of the server, whose memory --rss reports (implies --rss).
    #[arg(long, requires = "url")]
    server_pid: Option<u32>,

    /// Print the results as JSON lines, one per phase.
    #[arg(long)]
    json: bool,
}

/// What `--phases` runs.
struct Selection {
    floors: Vec<Floor>,
    /// For each phase, whether it runs.
    phases: Vec<bool>,
}

/// The floors and phases `requested` names, and those they need; a phase that checks the
/// outcome of others (`Phase::verifies`) runs when they do.
fn select(requested: &[String], phases: &[Phase]) -> anyhow::Result<Selection> {
    let names: Vec<&'static str> = Floor::ALL
        .iter()
        .map(|f| f.name())
        .chain(phases.iter().map(|p| p.name))
        .collect();
    let mut wanted = HashSet::new();
    for name in requested.iter().map(|n| n.trim()) {
        match name {
            "all" => wanted.extend(names.iter().copied()),
            "floors" => wanted.extend(Floor::ALL.iter().map(|f| f.name())),
            _ => match names.iter().find(|&&n| n == name) {
                Some(&name) => {
                    wanted.insert(name);
                }
                None => anyhow::bail!(
                    "--phases: no phase {name:?} in this run; there are all, floors, {}",
                    names.join(", ")
                ),
            },
        }
    }
    // A phase needs only phases before it: one pass from the end gathers them all.
    for phase in phases.iter().rev() {
        if wanted.contains(phase.name) {
            wanted.extend(phase.needs);
        }
    }
    for phase in phases {
        if phase.verifies && phase.needs.iter().all(|n| wanted.contains(n)) {
            wanted.insert(phase.name);
        }
    }
    Ok(Selection {
        floors: Floor::ALL
            .into_iter()
            .filter(|f| wanted.contains(f.name()))
            .collect(),
        phases: phases.iter().map(|p| wanted.contains(p.name)).collect(),
    })
}

/// A note for a member count that --users cut down.
fn clamped(used: usize, asked: usize) -> String {
    if used < asked {
        format!(" (clamped from {asked} to --users)")
    } else {
        String::new()
    }
}

fn is_postgres(url: &str) -> bool {
    url.starts_with("postgres://") || url.starts_with("postgresql://")
}

#[tokio::main]
async fn main() -> anyhow::Result<ExitCode> {
    let args = Args::parse();
    let plan = GroupPlan::new(
        args.users,
        args.groups,
        args.members_per_group,
        args.big_group_members,
    );
    let workload = Arc::new(Workload::new(args.users, plan, args.contended_ops));
    let phases = workload::phases(&workload);
    let selection = select(&args.phases, &phases)?;

    let mut temp_dir = None;
    let database_url = match (&args.url, &args.database_url) {
        (None, None) => {
            let dir = temp_dir.insert(TempDir::create()?);
            Some(format!("sqlite://{}", dir.0.join("bench.db").display()))
        }
        (_, url) => url.clone(),
    };
    let postgres = database_url.as_deref().is_some_and(is_postgres);
    let server = match (&args.url, &database_url) {
        (None, Some(url)) => Some(LocalServer::start(url).await?),
        _ => None,
    };
    let backend = match (&server, postgres) {
        (None, _) => "remote",
        (Some(_), true) => "postgres",
        (Some(_), false) => "sqlite",
    };
    let (base, token) = match (&server, &args.url, &args.token) {
        (Some(s), _, _) => (s.base.clone(), s.token.clone()),
        (None, Some(url), Some(token)) => (
            url.trim_end_matches('/').to_owned(),
            token.expose().to_owned(),
        ),
        (None, _, _) => anyhow::bail!("--url needs --token"),
    };
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()?;

    let floor_ops = args.floor_ops.unwrap_or(args.users);
    let floor_db = match (&database_url, postgres) {
        (None, _) => "none",
        (Some(_), true) => "postgres",
        (Some(_), false) => "sqlite",
    };
    if !args.json {
        println!(
            "backend: {backend}   floors' database: {floor_db}   users: {}   concurrency: {}   run: {}",
            args.users, args.concurrency, workload.run_id
        );
        println!(
            "groups: {} of {} members{}   big group: {} members{}   contended PATCHes: {}   floor ops: {floor_ops}",
            plan.groups,
            plan.per_group,
            clamped(plan.per_group, args.members_per_group),
            plan.big,
            clamped(plan.big, args.big_group_members),
            args.contended_ops,
        );
    }

    let mut results = Vec::new();
    if selection.floors.contains(&Floor::Http) {
        results.push(floors::http(&client, &workload, args.concurrency, floor_ops).await?);
    }
    let db_floors: Vec<Floor> = selection
        .floors
        .iter()
        .copied()
        .filter(|&f| f != Floor::Http)
        .collect();
    match (&database_url, db_floors.is_empty()) {
        (_, true) => {}
        (Some(url), false) => results.extend(
            floors::database(url, &workload, args.concurrency, floor_ops, &db_floors).await?,
        ),
        (None, false) => eprintln!("bench: without --database-url, no database floors"),
    }

    let target = Arc::new(Target {
        client,
        base,
        token,
    });
    let rss_of = args.server_pid;
    let rss = args.rss || rss_of.is_some();
    let mut memory = Vec::new();
    let mut sample = |at| match Rss::read(at, rss_of) {
        Ok(sample) => memory.push(sample),
        Err(e) => eprintln!("bench: {e:#}"),
    };
    for (phase, selected) in phases.into_iter().zip(selection.phases) {
        if !selected {
            continue;
        }
        let name = phase.name;
        results.push(phase.run(&target, args.concurrency).await);
        if rss && name == "create" {
            sample("after create");
        }
    }
    if rss {
        sample("at the end");
    }
    drop(target);
    if let Some(server) = server {
        server.stop().await?;
    }
    drop(temp_dir);

    let whose = match rss_of {
        Some(pid) => format!("the server (pid {pid})"),
        None => "this process".to_owned(),
    };
    if args.json {
        let run = json!({
            "backend": backend,
            "floor_database": floor_db,
            "users": args.users,
            "groups": plan.groups,
            "members_per_group": plan.per_group,
            "big_group_members": plan.big,
            "contended_ops": args.contended_ops,
            "floor_ops": floor_ops,
            "run": workload.run_id,
        });
        for r in &results {
            println!("{}", report::phase_json(r, &results, postgres, &run));
        }
        for sample in &memory {
            println!("{}", sample.json(&whose, &run));
        }
    } else {
        report::print_table(&results, postgres);
        for sample in &memory {
            sample.print(&whose);
        }
    }
    let errors: usize = results.iter().map(|r| r.errors).sum();
    if errors > 0 {
        eprintln!("bench: {errors} errors");
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}
