//! A load benchmark: runs the workload of an identity provider (Entra ID, Okta, ssosync) against
//! idc-scim and reports throughput and latency phase by phase.
//!
//! The phases, in order: `create` (POST /Users with a full user), `lookup` (the IdP's
//! `GET /Users?filter=userName eq "..."` before every write), `get` (GET /Users/{id}), `patch`
//! (Entra's PatchOp: replace `title`, deactivate with `"False"`), `list` (cursor paging through
//! all users, one page per operation, in sequence because each page needs the cursor of the one
//! before) and `delete`. Before `delete`, while the users exist, come the group phases:
//! `group-create` (`--groups` empty groups, plus the big group), `member-add` (`--members-per-group`
//! members to each group, one PATCH of at most 100 members per operation, AWS's limit),
//! `big-group-add` (`--big-group-members` members to the big group, 100 per PATCH, all
//! concurrently on one group), `count-added` (each group's member count, through
//! `GET /Users?filter=groups.value eq "..."`), `member-check` (the membership check
//! `GET /Groups?filter=id eq "..." and members eq "..."`, once per user, half members and half
//! not where the group allows), `member-remove` (the members of `member-add` removed in the same
//! batches), `count-removed` (the counts again) and `group-delete`.
//!
//! Every phase checks the status and the parts of the body it relies on; any failure is an
//! error, the first few are printed to stderr, and any error makes the exit status non-zero.
//!
//! Without `--url`, a server is started in process on 127.0.0.1 (port 0) over the database of
//! `--database-url` (default: a SQLite file in a fresh temporary directory, removed at the end),
//! with a fresh tenant and access token, so that repeated runs on one database do not collide.
//! A PostgreSQL database must exist beforehand; the benchmark migrates it but never creates
//! or drops databases. Each run leaves its tenant (and token) behind; its users and groups are
//! deleted.
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
//! # A server that is already running (the SCIM base URL and one of its tokens):
//! cargo run --release --example bench -- --url http://127.0.0.1:8080/scim/v2 --token "$TOKEN"
//! ```
//!
//! `--json` prints one JSON object per phase instead of the table. The in-process server shares
//! the runtime (and the CPU) with the client, and logs nothing; a separately started server
//! measures closer to a deployment.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Parser;
use clap::builder::RangedU64ValueParser;
use idc_scim::app;
use idc_scim::auth;
use idc_scim::clock::{Clock, SystemClock};
use idc_scim::config::Secret;
use idc_scim::state::AppState;
use idc_scim::store::{self, Tenant};
use reqwest::header::CONTENT_TYPE;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::{JoinHandle, JoinSet};

const USER_URN: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const ENTERPRISE_URN: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
const PATCH_OP_URN: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
const GROUP_URN: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";

/// The page size of the list phase (AWS's maximum).
const PAGE_SIZE: usize = 100;

/// The most membership changes one PatchGroup may make (AWS's limit).
const MEMBER_BATCH: usize = 100;

/// How many failures of one phase are printed in full.
const REPORTED_ERRORS: usize = 5;

/// Runs an IdP-style workload against idc-scim and reports throughput and latency per phase.
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

    /// The database of the in-process server: `sqlite:FILE` or `postgres://user@host/db` (the
    /// database must exist). Default: SQLite in a fresh temporary directory.
    #[arg(long, env = "IDC_SCIM_BENCH_DATABASE_URL", conflicts_with = "url")]
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

    /// The number of concurrent clients (the list phase always uses one).
    #[arg(long, default_value_t = 32, value_parser = RangedU64ValueParser::<usize>::new().range(1..))]
    concurrency: usize,

    /// Print the results as JSON lines, one per phase.
    #[arg(long)]
    json: bool,
}

/// One HTTP request of a phase, relative to the SCIM base URL.
struct Call {
    method: Method,
    /// The path with its query, starting with `/`.
    path: String,
    body: Option<Value>,
    expect: StatusCode,
}

impl Call {
    fn new(method: Method, path: impl Into<String>, expect: StatusCode) -> Self {
        Self {
            method,
            path: path.into(),
            body: None,
            expect,
        }
    }

    fn with_body(mut self, body: Value) -> Self {
        self.body = Some(body);
        self
    }
}

/// What a phase does for work item `i`.
enum Step {
    Send(Call),
    /// The item cannot be sent (a phase before failed for it): an error, not timed.
    Fail(String),
    /// The phase is over.
    Done,
}

type RequestFn = dyn Fn(usize) -> Step + Send + Sync;
type CheckFn = dyn Fn(usize, Value) -> Result<(), String> + Send + Sync;
type FinishFn = dyn Fn() -> Result<(), String> + Send + Sync;

/// A timed step of the workload: requests produced item by item, a check of each response
/// that arrived with the expected status, and a check of the whole once all are done.
///
/// Phases share what they learn (ids, cursors) through the state their closures capture.
struct Phase {
    name: &'static str,
    /// Run on one worker, because each request depends on the response before.
    sequential: bool,
    request: Box<RequestFn>,
    /// Called with the JSON body of every response that had the expected status.
    check: Option<Box<CheckFn>>,
    finish: Option<Box<FinishFn>>,
}

impl Phase {
    /// One request per item `0..items`, spread over all workers.
    fn per_item(
        name: &'static str,
        items: usize,
        request: impl Fn(usize) -> Result<Call, String> + Send + Sync + 'static,
    ) -> Self {
        Self {
            name,
            sequential: false,
            request: Box::new(move |i| {
                if i < items {
                    request(i).map_or_else(Step::Fail, Step::Send)
                } else {
                    Step::Done
                }
            }),
            check: None,
            finish: None,
        }
    }

    /// Requests one after another until `request` answers `Step::Done`.
    fn sequential(
        name: &'static str,
        request: impl Fn(usize) -> Step + Send + Sync + 'static,
    ) -> Self {
        Self {
            name,
            sequential: true,
            request: Box::new(request),
            check: None,
            finish: None,
        }
    }

    fn check(
        mut self,
        check: impl Fn(usize, Value) -> Result<(), String> + Send + Sync + 'static,
    ) -> Self {
        self.check = Some(Box::new(check));
        self
    }

    fn finish(mut self, finish: impl Fn() -> Result<(), String> + Send + Sync + 'static) -> Self {
        self.finish = Some(Box::new(finish));
        self
    }
}

/// The groups of one run: `groups` groups of `per_group` members each, and one group of `big`
/// members if `big` is not 0. Group `g` holds users `(g * per_group + j) % users` for
/// `j < per_group`; the big group, numbered `groups`, holds users `0..big`.
#[derive(Clone, Copy)]
struct GroupPlan {
    groups: usize,
    per_group: usize,
    big: usize,
}

impl GroupPlan {
    /// The plan of the arguments, with member counts clamped to the number of users (a group
    /// cannot hold a user twice).
    fn new(args: &Args) -> Self {
        Self {
            groups: args.groups,
            per_group: args.members_per_group.min(args.users),
            big: args.big_group_members.min(args.users),
        }
    }

    /// The regular groups and the big one.
    fn all_groups(&self) -> usize {
        self.groups + usize::from(self.big > 0)
    }

    fn batches_per_group(&self) -> usize {
        self.per_group.div_ceil(MEMBER_BATCH)
    }

    /// The PATCHes that fill (or empty) the regular groups.
    fn regular_batches(&self) -> usize {
        self.groups * self.batches_per_group()
    }

    /// Batch `i` of the regular groups: the group and its users.
    fn regular_batch(&self, users: usize, i: usize) -> (usize, Vec<usize>) {
        let (g, b) = (i / self.batches_per_group(), i % self.batches_per_group());
        let js = b * MEMBER_BATCH..((b + 1) * MEMBER_BATCH).min(self.per_group);
        (g, js.map(|j| (g * self.per_group + j) % users).collect())
    }

    /// Batch `b` of the big group: the group and its users.
    fn big_batch(&self, b: usize) -> (usize, Vec<usize>) {
        (
            self.groups,
            (b * MEMBER_BATCH..((b + 1) * MEMBER_BATCH).min(self.big)).collect(),
        )
    }

    /// The members of group `g` once both add phases are over.
    fn members(&self, g: usize) -> usize {
        if g == self.groups {
            self.big
        } else {
            self.per_group
        }
    }

    /// The group the membership checks ask about, with users `0..n` its members: the big one
    /// if there is one, else the first.
    fn checked_group(&self) -> Option<(usize, usize)> {
        match (self.big, self.groups) {
            (0, 0) => None,
            (0, _) => Some((0, self.per_group)),
            (big, groups) => Some((groups, big)),
        }
    }
}

/// The users and groups of one run and what the phases learn about them.
struct Workload {
    /// Makes this run's names unique, so that runs on one database or tenant do not collide.
    run_id: String,
    users: usize,
    /// The server's id of each user, set by the create phase.
    ids: Vec<OnceLock<String>>,
    plan: GroupPlan,
    /// The server's id of each group, set by the group-create phase.
    group_ids: Vec<OnceLock<String>>,
}

impl Workload {
    fn new(users: usize, plan: GroupPlan) -> Self {
        Self {
            run_id: uuid::Uuid::new_v4().simple().to_string()[..8].to_owned(),
            users,
            ids: (0..users).map(|_| OnceLock::new()).collect(),
            plan,
            group_ids: (0..plan.all_groups()).map(|_| OnceLock::new()).collect(),
        }
    }

    fn group_name(&self, g: usize) -> String {
        if g == self.plan.groups {
            format!("biggroup-{}", self.run_id)
        } else {
            format!("group{g}-{}", self.run_id)
        }
    }

    fn group_id(&self, g: usize) -> Result<&str, String> {
        self.group_ids[g]
            .get()
            .map(String::as_str)
            .ok_or_else(|| format!("group {g} has no id (its create failed)"))
    }

    fn user_name(&self, i: usize) -> String {
        format!("user{i}-{}@example.com", self.run_id)
    }

    fn is_ours(&self, user_name: &str) -> bool {
        user_name.ends_with(&format!("-{}@example.com", self.run_id))
    }

    fn id(&self, i: usize) -> Result<&str, String> {
        self.ids[i]
            .get()
            .map(String::as_str)
            .ok_or_else(|| format!("user {i} has no id (its create failed)"))
    }

    /// A user as an IdP provisions it: every attribute an IdP usually maps.
    fn user_body(&self, i: usize) -> Value {
        let (given, family) = (format!("Given{i}"), format!("Family{i}"));
        json!({
            "schemas": [USER_URN, ENTERPRISE_URN],
            "userName": self.user_name(i),
            "externalId": format!("ext-{}-{i}", self.run_id),
            "name": {
                "formatted": format!("{given} {family}"),
                "givenName": given,
                "familyName": family,
            },
            "displayName": format!("{given} {family}"),
            "emails": [{"value": self.user_name(i), "type": "work", "primary": true}],
            "title": "Developer",
            "active": true,
            (ENTERPRISE_URN): {"department": format!("Department {}", i % 10)},
        })
    }
}

fn query_value(value: &str) -> String {
    form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

fn expect_eq(what: &str, got: &Value, want: &Value) -> Result<(), String> {
    if got == want {
        Ok(())
    } else {
        Err(format!("{what} is {got}, expected {want}"))
    }
}

/// All phases, in the order they run: the group phases need the users, so they come between
/// `list` and `delete`.
fn phases(w: &Arc<Workload>) -> Vec<Phase> {
    let mut phases = user_phases(w);
    let delete = phases.pop();
    phases.extend(group_phases(w));
    phases.extend(delete);
    phases
}

/// The user phases, in the order they run; `delete` is the last.
fn user_phases(w: &Arc<Workload>) -> Vec<Phase> {
    let n = w.users;
    let create = {
        let (w, wc) = (w.clone(), w.clone());
        Phase::per_item("create", n, move |i| {
            Ok(Call::new(Method::POST, "/Users", StatusCode::CREATED).with_body(w.user_body(i)))
        })
        .check(move |i, body| {
            let id = body["id"].as_str().ok_or("the response has no id")?;
            wc.ids[i].get_or_init(|| id.to_owned());
            Ok(())
        })
    };

    let lookup = {
        let (w, wc) = (w.clone(), w.clone());
        Phase::per_item("lookup", n, move |i| {
            let filter = format!("userName eq \"{}\"", w.user_name(i));
            let path = format!("/Users?filter={}", query_value(&filter));
            Ok(Call::new(Method::GET, path, StatusCode::OK))
        })
        .check(move |i, body| {
            expect_eq("totalResults", &body["totalResults"], &json!(1))?;
            expect_eq(
                "Resources[0].id",
                &body["Resources"][0]["id"],
                &json!(wc.id(i)?),
            )
        })
    };

    let get = {
        let (w, wc) = (w.clone(), w.clone());
        Phase::per_item("get", n, move |i| {
            Ok(Call::new(
                Method::GET,
                format!("/Users/{}", w.id(i)?),
                StatusCode::OK,
            ))
        })
        .check(move |i, body| expect_eq("id", &body["id"], &json!(wc.id(i)?)))
    };

    let patch = {
        let w = w.clone();
        let body = json!({
            "schemas": [PATCH_OP_URN],
            "Operations": [
                {"op": "Replace", "path": "title", "value": "Engineer"},
                {"op": "Replace", "path": "active", "value": "False"},
            ],
        });
        Phase::per_item("patch", n, move |i| {
            Ok(Call::new(
                Method::PATCH,
                format!("/Users/{}", w.id(i)?),
                StatusCode::OK,
            )
            .with_body(body.clone()))
        })
        .check(|_, body| {
            expect_eq("title", &body["title"], &json!("Engineer"))?;
            expect_eq("active", &body["active"], &json!(false))
        })
    };

    let list = list_phase(w);

    let delete = {
        let w = w.clone();
        Phase::per_item("delete", n, move |i| {
            Ok(Call::new(
                Method::DELETE,
                format!("/Users/{}", w.id(i)?),
                StatusCode::NO_CONTENT,
            ))
        })
    };

    vec![create, lookup, get, patch, list, delete]
}

/// The group phases, in the order they run: none without groups, and none that has no work.
fn group_phases(w: &Arc<Workload>) -> Vec<Phase> {
    let plan = w.plan;
    let Some((checked, checked_members)) = plan.checked_group() else {
        return Vec::new();
    };
    let create = {
        let (w, wc) = (w.clone(), w.clone());
        Phase::per_item("group-create", plan.all_groups(), move |g| {
            let body = json!({
                "schemas": [GROUP_URN],
                "displayName": w.group_name(g),
                "members": [],
            });
            Ok(Call::new(Method::POST, "/Groups", StatusCode::CREATED).with_body(body))
        })
        .check(move |g, body| {
            let id = body["id"].as_str().ok_or("the response has no id")?;
            wc.group_ids[g].get_or_init(|| id.to_owned());
            expect_eq(
                "displayName",
                &body["displayName"],
                &json!(wc.group_name(g)),
            )
        })
    };

    let member_add = membership_phase("member-add", w, "add", plan.regular_batches(), {
        let users = w.users;
        move |i| plan.regular_batch(users, i)
    });
    let big_add = membership_phase(
        "big-group-add",
        w,
        "add",
        plan.big.div_ceil(MEMBER_BATCH),
        move |b| plan.big_batch(b),
    );
    let count_added = count_phase("count-added", w, move |g| plan.members(g));

    let check = {
        let (w, wc) = (w.clone(), w.clone());
        // Item i asks about user i if the group holds all users or none; else even items ask
        // about its members and odd items about the others, each half spread over all of them.
        let (users, members) = (w.users, checked_members);
        let user = move |i: usize| match members {
            m if m == users || m == 0 => i,
            m if i.is_multiple_of(2) => (i / 2) % m,
            m => m + (i / 2) % (users - m),
        };
        Phase::per_item("member-check", users, move |i| {
            let filter = format!(
                "id eq \"{}\" and members eq \"{}\"",
                w.group_id(checked)?,
                w.id(user(i))?
            );
            let path = format!("/Groups?filter={}", query_value(&filter));
            Ok(Call::new(Method::GET, path, StatusCode::OK))
        })
        .check(move |i, body| {
            if user(i) < members {
                expect_eq("totalResults", &body["totalResults"], &json!(1))?;
                expect_eq(
                    "Resources[0].id",
                    &body["Resources"][0]["id"],
                    &json!(wc.group_id(checked)?),
                )
            } else {
                expect_eq("totalResults", &body["totalResults"], &json!(0))
            }
        })
    };

    let member_remove = membership_phase("member-remove", w, "remove", plan.regular_batches(), {
        let users = w.users;
        move |i| plan.regular_batch(users, i)
    });
    let count_removed = count_phase("count-removed", w, move |g| {
        if g == plan.groups { plan.big } else { 0 }
    });

    let delete = {
        let w = w.clone();
        Phase::per_item("group-delete", plan.all_groups(), move |g| {
            Ok(Call::new(
                Method::DELETE,
                format!("/Groups/{}", w.group_id(g)?),
                StatusCode::NO_CONTENT,
            ))
        })
    };

    let (regular, big) = (plan.regular_batches() > 0, plan.big > 0);
    [
        (create, true),
        (member_add, regular),
        (big_add, big),
        (count_added, true),
        (check, true),
        (member_remove, regular),
        (count_removed, true),
        (delete, true),
    ]
    .into_iter()
    .filter_map(|(phase, has_work)| has_work.then_some(phase))
    .collect()
}

/// One PATCH per item, adding or removing (`op`) the users of `batch(i)` to or from a group:
/// `batch` answers the group and the users.
fn membership_phase(
    name: &'static str,
    w: &Arc<Workload>,
    op: &'static str,
    items: usize,
    batch: impl Fn(usize) -> (usize, Vec<usize>) + Send + Sync + 'static,
) -> Phase {
    let w = w.clone();
    Phase::per_item(name, items, move |i| {
        let (g, users) = batch(i);
        let members = users
            .into_iter()
            .map(|u| Ok(json!({"value": w.id(u)?})))
            .collect::<Result<Vec<_>, String>>()?;
        let body = json!({
            "schemas": [PATCH_OP_URN],
            "Operations": [{"op": op, "path": "members", "value": members}],
        });
        Ok(Call::new(
            Method::PATCH,
            format!("/Groups/{}", w.group_id(g)?),
            StatusCode::NO_CONTENT,
        )
        .with_body(body))
    })
}

/// Checks that each group has `expected(g)` members. Without a cursor, the list of a group's
/// members answers the full count in `totalResults`, however short the page.
fn count_phase(
    name: &'static str,
    w: &Arc<Workload>,
    expected: impl Fn(usize) -> usize + Send + Sync + 'static,
) -> Phase {
    let w = w.clone();
    Phase::per_item(name, w.plan.all_groups(), move |g| {
        let filter = format!("groups.value eq \"{}\"", w.group_id(g)?);
        let path = format!("/Users?filter={}&count=1", query_value(&filter));
        Ok(Call::new(Method::GET, path, StatusCode::OK))
    })
    .check(move |g, body| expect_eq("totalResults", &body["totalResults"], &json!(expected(g))))
}

/// Where cursor paging stands.
enum Cursor {
    First,
    Next(String),
    /// Finished, or the page in flight has not answered with a cursor (yet).
    Stop,
}

/// Pages through all users with cursors; the tenant may hold users of other runs, so only
/// this run's are counted against the expected number.
fn list_phase(w: &Arc<Workload>) -> Phase {
    let cursor = Arc::new(Mutex::new(Cursor::First));
    let seen = Arc::new(AtomicUsize::new(0));
    let request = {
        let cursor = cursor.clone();
        move |_| {
            // Taking the cursor ends the phase if this page fails: only a good page puts one back.
            let taken = std::mem::replace(&mut *cursor.lock().expect("cursor lock"), Cursor::Stop);
            let path = match taken {
                Cursor::First => format!("/Users?count={PAGE_SIZE}&cursor="),
                Cursor::Next(c) => format!("/Users?count={PAGE_SIZE}&cursor={}", query_value(&c)),
                Cursor::Stop => return Step::Done,
            };
            Step::Send(Call::new(Method::GET, path, StatusCode::OK))
        }
    };
    let check = {
        let (w, seen) = (w.clone(), seen.clone());
        let last = Mutex::new(String::new());
        move |_, body: Value| {
            let resources = body["Resources"]
                .as_array()
                .ok_or("the page has no Resources")?;
            if resources.len() > PAGE_SIZE {
                return Err(format!("a page of {} users", resources.len()));
            }
            let ours = resources
                .iter()
                .filter(|u| u["userName"].as_str().is_some_and(|n| w.is_ours(n)))
                .count();
            seen.fetch_add(ours, Ordering::Relaxed);
            if let Some(next) = body["nextCursor"].as_str() {
                let mut last = last.lock().expect("last cursor lock");
                if *last == next {
                    return Err(format!("the cursor {next} repeats"));
                }
                next.clone_into(&mut last);
                *cursor.lock().expect("cursor lock") = Cursor::Next(next.to_owned());
            }
            Ok(())
        }
    };
    let users = w.users;
    Phase::sequential("list", request)
        .check(check)
        .finish(move || match seen.load(Ordering::Relaxed) {
            n if n == users => Ok(()),
            n => Err(format!("paging listed {n} of the {users} users")),
        })
}

/// The SCIM endpoint under test.
#[derive(Clone)]
struct Target {
    client: reqwest::Client,
    base: String,
    token: String,
}

impl Target {
    /// Sends a call; the latency runs from sending the request to having read the whole body.
    async fn send(&self, call: &Call) -> (Duration, Result<(StatusCode, String), String>) {
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

#[derive(Default)]
struct WorkerStats {
    latencies: Vec<Duration>,
    errors: usize,
}

/// The figures of one phase.
struct PhaseResult {
    phase: &'static str,
    ops: usize,
    errors: usize,
    wall: Duration,
    p50: Duration,
    p99: Duration,
    max: Duration,
}

impl PhaseResult {
    fn ops_per_sec(&self) -> f64 {
        self.ops as f64 / self.wall.as_secs_f64().max(f64::EPSILON)
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Three decimals are more than a benchmark resolves.
fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
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

async fn worker(
    target: Arc<Target>,
    phase: Arc<Phase>,
    next: Arc<AtomicUsize>,
    reported: Arc<AtomicUsize>,
) -> WorkerStats {
    let mut stats = WorkerStats::default();
    loop {
        let i = next.fetch_add(1, Ordering::Relaxed);
        let call = match (phase.request)(i) {
            Step::Done => break,
            Step::Fail(message) => {
                stats.errors += 1;
                report(phase.name, &reported, || format!("item {i}: {message}"));
                continue;
            }
            Step::Send(call) => call,
        };
        let (latency, result) = target.send(&call).await;
        stats.latencies.push(latency);
        let outcome = result.and_then(|(status, body)| {
            if status != call.expect {
                return Err(format!(
                    "{} {}: status {status}, expected {}: {}",
                    call.method,
                    call.path,
                    call.expect,
                    truncate(&body, 500)
                ));
            }
            let Some(check) = &phase.check else {
                return Ok(());
            };
            let json = serde_json::from_str(&body)
                .map_err(|e| format!("{} {}: body is not JSON ({e})", call.method, call.path))?;
            check(i, json).map_err(|e| format!("{} {}: {e}", call.method, call.path))
        });
        if let Err(message) = outcome {
            stats.errors += 1;
            report(phase.name, &reported, || format!("item {i}: {message}"));
        }
    }
    stats
}

/// Runs one phase to its end and measures it.
async fn run_phase(target: &Arc<Target>, phase: Phase, concurrency: usize) -> PhaseResult {
    let phase = Arc::new(phase);
    let workers = if phase.sequential { 1 } else { concurrency };
    let next = Arc::new(AtomicUsize::new(0));
    let reported = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut set = JoinSet::new();
    for _ in 0..workers {
        set.spawn(worker(
            target.clone(),
            phase.clone(),
            next.clone(),
            reported.clone(),
        ));
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
                report(phase.name, &reported, || format!("a worker failed: {e}"));
            }
        }
    }
    let wall = started.elapsed();
    if let Some(Err(message)) = phase.finish.as_ref().map(|finish| finish()) {
        errors += 1;
        report(phase.name, &reported, || message);
    }
    latencies.sort_unstable();
    PhaseResult {
        phase: phase.name,
        ops: latencies.len(),
        errors,
        wall,
        p50: percentile(&latencies, 0.50),
        p99: percentile(&latencies, 0.99),
        max: latencies.last().copied().unwrap_or_default(),
    }
}

/// A temporary directory, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn create() -> anyhow::Result<Self> {
        let path = std::env::temp_dir().join(format!("idc-scim-bench-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir(&path).with_context(|| format!("creating {}", path.display()))?;
        Ok(Self(path))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A server running in this process, on a fresh tenant.
struct LocalServer {
    base: String,
    token: String,
    shutdown: oneshot::Sender<()>,
    handle: JoinHandle<std::io::Result<()>>,
}

impl LocalServer {
    async fn start(database_url: &str) -> anyhow::Result<Self> {
        let store = store::connect(database_url)
            .await
            .context("opening the database")?;
        let clock = Arc::new(SystemClock);
        let now = clock.now_ms();
        let tenant = Tenant::generate();
        store
            .create_tenant(&tenant, now)
            .await
            .context("creating the tenant")?;
        let (_, token) = auth::issue_token(store.as_ref(), &tenant.tenant_id, now)
            .await
            .context("storing the access token")?;
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let base = format!("http://{addr}/{}/scim/v2", tenant.tenant_id);
        let state = Arc::new(AppState::new(store, tenant, clock));
        let (shutdown, stopped) = oneshot::channel::<()>();
        let handle = tokio::spawn(app::serve(listener, state, async {
            let _ = stopped.await;
        }));
        Ok(Self {
            base,
            token,
            shutdown,
            handle,
        })
    }

    async fn stop(self) -> anyhow::Result<()> {
        let _ = self.shutdown.send(());
        self.handle.await?.context("serving")
    }
}

fn print_table(results: &[PhaseResult]) {
    let width = results.iter().map(|r| r.phase.len()).fold(5, usize::max);
    println!(
        "{:<width$} {:>7} {:>7} {:>9} {:>10} {:>9} {:>9} {:>9}",
        "phase", "ops", "errors", "wall s", "ops/s", "p50 ms", "p99 ms", "max ms"
    );
    for r in results {
        println!(
            "{:<width$} {:>7} {:>7} {:>9.3} {:>10.1} {:>9.2} {:>9.2} {:>9.2}",
            r.phase,
            r.ops,
            r.errors,
            r.wall.as_secs_f64(),
            r.ops_per_sec(),
            ms(r.p50),
            ms(r.p99),
            ms(r.max),
        );
    }
}

/// A note for a member count that --users cut down.
fn clamped(used: usize, asked: usize) -> String {
    if used < asked {
        format!(" (clamped from {asked} to --users)")
    } else {
        String::new()
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<ExitCode> {
    let args = Args::parse();
    let mut temp_dir = None;
    let (backend, server) = match (&args.url, &args.database_url) {
        (Some(_), _) => ("remote", None),
        (None, url) => {
            let url = match url {
                Some(url) => url.clone(),
                None => {
                    let dir = temp_dir.insert(TempDir::create()?);
                    format!("sqlite://{}", dir.0.join("bench.db").display())
                }
            };
            let backend = if url.starts_with("postgres") {
                "postgres"
            } else {
                "sqlite"
            };
            (backend, Some(LocalServer::start(&url).await?))
        }
    };
    let (base, token) = match (&server, &args.url, &args.token) {
        (Some(s), _, _) => (s.base.clone(), s.token.clone()),
        (None, Some(url), Some(token)) => (
            url.trim_end_matches('/').to_owned(),
            token.expose().to_owned(),
        ),
        (None, _, _) => anyhow::bail!("--url needs --token"),
    };
    let target = Arc::new(Target {
        client: reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()?,
        base,
        token,
    });

    let plan = GroupPlan::new(&args);
    let workload = Arc::new(Workload::new(args.users, plan));
    if !args.json {
        println!(
            "backend: {backend}   users: {}   concurrency: {}   run: {}",
            args.users, args.concurrency, workload.run_id
        );
        println!(
            "groups: {} of {} members{}   big group: {} members{}",
            plan.groups,
            plan.per_group,
            clamped(plan.per_group, args.members_per_group),
            plan.big,
            clamped(plan.big, args.big_group_members),
        );
    }
    let mut results = Vec::new();
    for phase in phases(&workload) {
        results.push(run_phase(&target, phase, args.concurrency).await);
    }
    drop(target);
    if let Some(server) = server {
        server.stop().await?;
    }
    drop(temp_dir);

    if args.json {
        for r in &results {
            let line = json!({
                "backend": backend,
                "users": args.users,
                "concurrency": args.concurrency,
                "groups": plan.groups,
                "members_per_group": plan.per_group,
                "big_group_members": plan.big,
                "run": workload.run_id,
                "phase": r.phase,
                "ops": r.ops,
                "errors": r.errors,
                "wall_s": round3(r.wall.as_secs_f64()),
                "ops_per_s": round3(r.ops_per_sec()),
                "p50_ms": round3(ms(r.p50)),
                "p99_ms": round3(ms(r.p99)),
                "max_ms": round3(ms(r.max)),
            });
            println!("{line}");
        }
    } else {
        print_table(&results);
    }
    let errors: usize = results.iter().map(|r| r.errors).sum();
    if errors > 0 {
        eprintln!("bench: {errors} errors");
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}
