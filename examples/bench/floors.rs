//! The floors the phases are compared to, measured in the same run at the same concurrency:
//!
//! * `http-floor`: the same HTTP client against a trivial handler in this process, which
//!   answers every GET with the same user-sized JSON (the client checks its `id`, as `get` does).
//!   The handler is served by a runtime of its own, with as many threads as the server's, as a
//!   server process is: on the client's runtime, client and handler tasks met on one thread at
//!   times, and the floor swung between runs by half;
//! * `db-insert-floor`: one-row inserts, each a transaction of its own (an autocommit
//!   `INSERT`, as the server's create is), through sqlx, into a scratch table shaped like the
//!   users (a text primary key, a unique index of a lowercased name, a JSON text column) in the
//!   server's database;
//! * `db-select-floor`: point selects of those rows by the indexed name.
//!
//! SQLite is opened with the server's settings (`SqlStore::connect`: WAL, `synchronous=NORMAL`,
//! a busy timeout) and used as the server uses it: the inserts of all workers go through one
//! connection, SQLite's one writer, and the selects through the server's 8 read-only
//! connections. PostgreSQL gets the server's 16 connections. Both are the server's own kind of
//! pool (`store::Kept`), which gives a connection back without testing it. The scratch table
//! is dropped at the end.

use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use axum::Router;
use axum::extract::Path;
use axum::routing::get;
use idc_scim::store;
use idc_scim::store::{ACQUIRE_TIMEOUT, Kept};
use reqwest::header::CONTENT_TYPE;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sqlx::sqlite::SqliteConnection;
use sqlx::{ConnectOptions, Connection, Postgres, Row, Sqlite};
use tokio::net::TcpListener;
use tokio::sync::{Mutex, oneshot};

use crate::run::{Call, Item, Job, PhaseResult, Step, Target, http_job, measure};
use crate::workload::{Workload, expect_eq};

/// The floor a phase is compared to.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Floor {
    Http,
    Insert,
    Select,
}

impl Floor {
    pub const ALL: [Floor; 3] = [Floor::Http, Floor::Insert, Floor::Select];

    /// The name of its phase.
    pub fn name(self) -> &'static str {
        match self {
            Floor::Http => "http-floor",
            Floor::Insert => "db-insert-floor",
            Floor::Select => "db-select-floor",
        }
    }
}

/// Measures the HTTP floor: `ops` GETs over `workers` workers with `client`.
pub async fn http(
    client: &reqwest::Client,
    w: &Workload,
    workers: usize,
    ops: usize,
) -> anyhow::Result<PhaseResult> {
    let id = format!("floor-{}", uuid::Uuid::new_v4());
    // A user as the server answers it.
    let mut user = w.user_body(0);
    user["id"] = json!(id);
    user["meta"] = json!({
        "resourceType": "User",
        "created": "2020-01-01T00:00:00Z",
        "lastModified": "2020-01-01T00:00:00Z",
    });
    let body = user.to_string();
    let router = Router::new().route(
        "/floor/Users/{id}",
        get(move |Path(_): Path<String>| {
            let body = body.clone();
            async move { ([(CONTENT_TYPE, "application/scim+json")], body) }
        }),
    );
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    listener.set_nonblocking(true)?;
    let addr = listener.local_addr()?;
    let (stop, stopped) = oneshot::channel::<()>();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the HTTP floor's runtime")?;
    let server = std::thread::spawn(move || {
        runtime.block_on(async move {
            let listener = TcpListener::from_std(listener)?;
            axum::serve(listener, router)
                .with_graceful_shutdown(async {
                    let _ = stopped.await;
                })
                .await
        })
    });
    let target = Arc::new(Target {
        client: client.clone(),
        base: format!("http://{addr}/floor"),
        token: "floor".to_owned(),
    });
    let path = format!("/Users/{id}");
    let job = http_job(
        target,
        Arc::new(move |i| {
            if i < ops {
                Step::Send(Call::new(Method::GET, path.clone(), StatusCode::OK))
            } else {
                Step::Done
            }
        }),
        Some(Arc::new(move |_, body: Value| {
            expect_eq("id", &body["id"], &json!(id))
        })),
    );
    let result = measure(Floor::Http.name(), workers, job, None).await;
    let _ = stop.send(());
    tokio::task::spawn_blocking(move || server.join())
        .await?
        .map_err(|_| anyhow::anyhow!("the HTTP floor's server panicked"))?
        .context("serving the HTTP floor")?;
    Ok(result)
}

/// The server's database, opened as the server opens it.
enum Db {
    Sqlite {
        writer: Mutex<SqliteConnection>,
        readers: Arc<Kept<Sqlite>>,
    },
    Postgres(Arc<Kept<Postgres>>),
}

impl Db {
    async fn open(url: &str) -> anyhow::Result<Self> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(Self::Postgres(store::pg_connections(url).await?));
        }
        anyhow::ensure!(
            url.starts_with("sqlite:"),
            "unsupported database URL (expected postgres://... or sqlite:...)"
        );
        anyhow::ensure!(
            !url.contains(":memory:") && !url.contains("mode=memory"),
            "the database floors need a database file, not one in memory"
        );
        // The server's file, opened with the server's settings: a URL that names none is a
        // mistake.
        let options = store::sqlite_options(url)?.create_if_missing(false);
        let writer = options.connect().await?;
        let readers = store::sqlite_readers(options).await?;
        Ok(Self::Sqlite {
            writer: Mutex::new(writer),
            readers,
        })
    }

    /// Runs a statement that writes, on the writer.
    async fn execute(&self, sql: &str, binds: &[&str]) -> Result<u64, sqlx::Error> {
        match self {
            Self::Sqlite { writer, .. } => {
                let mut query = sqlx::query(sql);
                for bind in binds {
                    query = query.bind(*bind);
                }
                Ok(query
                    .execute(&mut *writer.lock().await)
                    .await?
                    .rows_affected())
            }
            Self::Postgres(pool) => {
                let mut query = sqlx::query(sql);
                for bind in binds {
                    query = query.bind(*bind);
                }
                let mut conn = pool.acquire(ACQUIRE_TIMEOUT).await?;
                Ok(query.execute(&mut *conn).await?.rows_affected())
            }
        }
    }

    /// The `id` column of the row a read-only statement finds.
    async fn fetch_id(&self, sql: &str, bind: &str) -> Result<Option<String>, sqlx::Error> {
        match self {
            Self::Sqlite { readers, .. } => {
                let mut conn = readers.acquire(ACQUIRE_TIMEOUT).await?;
                let row = sqlx::query(sql)
                    .bind(bind)
                    .fetch_optional(&mut *conn)
                    .await?;
                row.map(|r| r.try_get("id")).transpose()
            }
            Self::Postgres(pool) => {
                let mut conn = pool.acquire(ACQUIRE_TIMEOUT).await?;
                let row = sqlx::query(sql)
                    .bind(bind)
                    .fetch_optional(&mut *conn)
                    .await?;
                row.map(|r| r.try_get("id")).transpose()
            }
        }
    }

    async fn close(self) {
        match self {
            Self::Sqlite { writer, readers } => {
                readers.close().await;
                let _ = writer.into_inner().close().await;
            }
            Self::Postgres(pool) => pool.close().await,
        }
    }
}

/// The rows of the database floors and their statements, on a scratch table of this run.
struct Scratch {
    db: Db,
    insert: String,
    select: String,
    /// The id, name and JSON of each row.
    rows: Vec<(String, String, String)>,
}

/// Measures the database floors the `floors` name (`Floor::Insert`, `Floor::Select`), on a
/// scratch table that is dropped at the end: `ops` inserts, then `ops` selects, over `workers`
/// workers. The selects need the rows, so the inserts run whenever they do.
pub async fn database(
    url: &str,
    w: &Workload,
    workers: usize,
    ops: usize,
    floors: &[Floor],
) -> anyhow::Result<Vec<PhaseResult>> {
    let db = Db::open(url)
        .await
        .context("opening the database of the floors")?;
    let table = format!("bench_floor_{}", w.run_id);
    for ddl in [
        format!(
            "CREATE TABLE {table} (id TEXT PRIMARY KEY, name TEXT NOT NULL, \
             name_lower TEXT NOT NULL, data TEXT NOT NULL)"
        ),
        format!("CREATE UNIQUE INDEX {table}_name_key ON {table} (name_lower)"),
    ] {
        db.execute(&ddl, &[])
            .await
            .context("creating the scratch table")?;
    }
    let rows = (0..ops)
        .map(|i| {
            let name = format!("Floor{i}-{}@Example.com", w.run_id);
            let mut data = w.user_body(i);
            data["userName"] = json!(name);
            (uuid::Uuid::new_v4().to_string(), name, data.to_string())
        })
        .collect();
    let scratch = Arc::new(Scratch {
        db,
        insert: format!("INSERT INTO {table} (id, name, name_lower, data) VALUES ($1, $2, $3, $4)"),
        select: format!("SELECT id, name, data FROM {table} WHERE name_lower = $1"),
        rows,
    });

    let mut results =
        vec![measure(Floor::Insert.name(), workers, insert_job(&scratch), None).await];
    if floors.contains(&Floor::Select) {
        results.push(measure(Floor::Select.name(), workers, select_job(&scratch), None).await);
    }
    if !floors.contains(&Floor::Insert) {
        results.remove(0);
    }

    let scratch = Arc::into_inner(scratch).expect("the jobs are over");
    let dropped = scratch
        .db
        .execute(&format!("DROP TABLE {table}"), &[])
        .await;
    scratch.db.close().await;
    dropped.context("dropping the scratch table")?;
    Ok(results)
}

fn insert_job(scratch: &Arc<Scratch>) -> Job {
    let scratch = scratch.clone();
    Arc::new(move |i| {
        let scratch = scratch.clone();
        Box::pin(async move {
            let Some((id, name, data)) = scratch.rows.get(i) else {
                return Item::Done;
            };
            let lower = name.to_lowercase();
            let started = Instant::now();
            let inserted = scratch
                .db
                .execute(&scratch.insert, &[id, name, &lower, data])
                .await;
            let outcome = match inserted {
                Ok(1) => Ok(()),
                Ok(n) => Err(format!("the insert wrote {n} rows")),
                Err(e) => Err(format!("insert: {e}")),
            };
            Item::Timed(started.elapsed(), outcome)
        })
    })
}

fn select_job(scratch: &Arc<Scratch>) -> Job {
    let scratch = scratch.clone();
    Arc::new(move |i| {
        let scratch = scratch.clone();
        Box::pin(async move {
            let Some((id, name, _)) = scratch.rows.get(i) else {
                return Item::Done;
            };
            let lower = name.to_lowercase();
            let started = Instant::now();
            let found = scratch.db.fetch_id(&scratch.select, &lower).await;
            let outcome = match found {
                Ok(Some(found)) if found == *id => Ok(()),
                Ok(found) => Err(format!("select found {found:?}, expected {id}")),
                Err(e) => Err(format!("select: {e}")),
            };
            Item::Timed(started.elapsed(), outcome)
        })
    })
}
