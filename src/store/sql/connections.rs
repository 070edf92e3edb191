//! Where the store's statements run: connections kept open and handed out in turn (`Kept`),
//! or one connection that its users queue for, in order (SQLite's writer, and a database in
//! memory).
//!
//! `Kept` is a pool that gives a connection back as it is. sqlx's own pool tests every
//! connection on its way back (a `ping`: on PostgreSQL a second round trip for every
//! statement, on SQLite a second trip to the connection's thread), a sixth of the server's
//! time in a GET on PostgreSQL. Instead, a connection that has been idle for a while is
//! tested before it is handed out, one idle much longer is closed (`Upkeep`), and a
//! connection-level error (`count_connection_failure`) retires the connections that were in
//! use when it happened and those idle then: after a restart of the database server, the
//! requests that were running fail, and the next ones get fresh connections. A connection
//! given back with a statement still to send (the `ROLLBACK` of a transaction dropped
//! unfinished, which holds its locks until it is sent) is tested on its way back, which
//! sends it.

use std::ops::{Deref, DerefMut};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sqlx::{ConnectOptions, Connection, Database};
use tokio::sync::{MutexGuard, OwnedSemaphorePermit, Semaphore};

use crate::store::Result;

pub enum Connections<DB: Database> {
    Kept(Arc<Kept<DB>>),
    /// `None` once closed.
    One(Arc<tokio::sync::Mutex<Option<DB::Connection>>>),
}

/// A connection taken from `Connections`; dropping it gives it back.
pub enum Conn<'a, DB: Database> {
    Kept(KeptConn<DB>),
    Queued(MutexGuard<'a, Option<DB::Connection>>),
}

impl<DB: Database> Connections<DB> {
    /// One connection that its users queue for, taking turns in the order they came.
    pub fn one(conn: DB::Connection) -> Self {
        Self::One(Arc::new(tokio::sync::Mutex::new(Some(conn))))
    }

    /// Another handle on the same connections.
    pub fn share(&self) -> Self {
        match self {
            Self::Kept(kept) => Self::Kept(kept.clone()),
            Self::One(conn) => Self::One(conn.clone()),
        }
    }

    /// A connection, within `timeout` (`PoolTimedOut` otherwise, as a pool answers).
    pub async fn acquire(&self, timeout: Duration) -> Result<Conn<'_, DB>> {
        match self {
            Self::Kept(kept) => Ok(Conn::Kept(kept.acquire(timeout).await?)),
            Self::One(conn) => {
                let guard = tokio::time::timeout(timeout, conn.lock())
                    .await
                    .map_err(|_| sqlx::Error::PoolTimedOut)?;
                if guard.is_none() {
                    return Err(sqlx::Error::PoolClosed.into());
                }
                Ok(Conn::Queued(guard))
            }
        }
    }

    /// Closes the connections, after their users are done.
    pub async fn close(&self) {
        match self {
            Self::Kept(kept) => kept.close().await,
            Self::One(conn) => {
                if let Some(conn) = conn.lock().await.take() {
                    let _ = conn.close().await;
                }
            }
        }
    }
}

/// How many connection-level errors this process has seen (`count_connection_failure`): a
/// connection opened or handed out before the latest one is not trusted again.
static FAILURES: AtomicU64 = AtomicU64::new(0);

/// Counts an error that says the connection it came on is broken: its socket or its protocol
/// failed, SQLite's thread for it is gone, or PostgreSQL is shutting it down (SQLSTATE
/// class 08, connection exception, and 57P01–57P03); whether it was one. Counting it retires
/// the connections in use and those idle (`Kept`).
pub fn count_connection_failure(e: &sqlx::Error) -> bool {
    let broken = match e {
        sqlx::Error::Io(_) | sqlx::Error::Tls(_) | sqlx::Error::Protocol(_) => true,
        sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(db) => db.code().is_some_and(|code| {
            code.starts_with("08") || matches!(&*code, "57P01" | "57P02" | "57P03")
        }),
        _ => false,
    };
    if broken {
        FAILURES.fetch_add(1, Ordering::Relaxed);
    }
    broken
}

/// Connections to one database, up to a number, kept open and handed out in the order they
/// were asked for; given back untested.
pub struct Kept<DB: Database> {
    options: <DB::Connection as Connection>::Options,
    idle: Mutex<Vec<Idle<DB>>>,
    /// One permit per connection that may be open; closed when the pool is.
    permits: Arc<Semaphore>,
    size: u32,
    /// `None`: connections are never tested nor closed for idleness (a connection to a local
    /// file does not break).
    upkeep: Option<Upkeep>,
}

/// What becomes of idle connections to a server.
#[derive(Debug, Clone, Copy)]
pub struct Upkeep {
    /// A connection idle this long is tested before it is handed out: the server or the
    /// network may have dropped it.
    pub test_after: Duration,
    /// A connection idle this long is closed (when another is given back): a pool sized for
    /// a burst does not hold the server's connections ever after.
    pub close_after: Duration,
}

struct Idle<DB: Database> {
    conn: DB::Connection,
    since: Instant,
    /// `FAILURES` when it was last handed out.
    epoch: u64,
}

impl<DB: Database> Kept<DB> {
    /// Up to `size` connections made with `options`; one is opened at once, so that a
    /// database that cannot be reached is reported now.
    pub async fn open(
        options: <DB::Connection as Connection>::Options,
        size: u32,
        upkeep: Option<Upkeep>,
    ) -> std::result::Result<Arc<Self>, sqlx::Error> {
        let first = options.connect().await?;
        let kept = Self {
            options,
            idle: Mutex::new(Vec::with_capacity(size as usize)),
            permits: Arc::new(Semaphore::new(size as usize)),
            size,
            upkeep,
        };
        kept.give_back(first, FAILURES.load(Ordering::Relaxed));
        Ok(Arc::new(kept))
    }

    fn idle(&self) -> std::sync::MutexGuard<'_, Vec<Idle<DB>>> {
        self.idle.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn give_back(&self, conn: DB::Connection, epoch: u64) {
        let mut idle = self.idle();
        idle.push(Idle {
            conn,
            since: Instant::now(),
            epoch,
        });
        // The stack is in the order the connections came back: the longest idle first.
        let Some(upkeep) = self.upkeep else {
            return;
        };
        let old = idle
            .iter()
            .take_while(|i| i.since.elapsed() >= upkeep.close_after)
            .count();
        let closing: Vec<_> = idle.drain(..old).collect();
        drop(idle);
        if let (false, Ok(runtime)) = (closing.is_empty(), tokio::runtime::Handle::try_current()) {
            runtime.spawn(async move {
                for idle in closing {
                    let _ = idle.conn.close().await;
                }
            });
        }
    }

    /// A connection, within `timeout`: the one given back last (its pages and statements
    /// are the warmest), tested first if it idled past `Upkeep::test_after`, or a new one.
    pub async fn acquire(
        self: &Arc<Self>,
        timeout: Duration,
    ) -> std::result::Result<KeptConn<DB>, sqlx::Error> {
        let deadline = Instant::now() + timeout;
        let permit = tokio::time::timeout(timeout, self.permits.clone().acquire_owned())
            .await
            .map_err(|_| sqlx::Error::PoolTimedOut)?
            .map_err(|_| sqlx::Error::PoolClosed)?;
        let epoch = FAILURES.load(Ordering::Relaxed);
        loop {
            let idle = self.idle().pop();
            let conn = match idle {
                // Opened or used before a connection failed: not trusted.
                Some(idle) if idle.epoch != epoch => continue,
                Some(mut idle) => {
                    let stale = self
                        .upkeep
                        .is_some_and(|u| idle.since.elapsed() >= u.test_after);
                    if stale {
                        // A connection whose peer vanished may not even answer.
                        let left = deadline.saturating_duration_since(Instant::now());
                        let tested = tokio::time::timeout(left, idle.conn.ping()).await;
                        if !matches!(tested, Ok(Ok(()))) {
                            continue;
                        }
                    }
                    idle.conn
                }
                None => {
                    let left = deadline.saturating_duration_since(Instant::now());
                    tokio::time::timeout(left, self.options.connect())
                        .await
                        .map_err(|_| sqlx::Error::PoolTimedOut)??
                }
            };
            return Ok(KeptConn {
                conn: Some(conn),
                home: self.clone(),
                epoch,
                permit: Some(permit),
            });
        }
    }

    /// Waits until every connection is given back, then closes them; later requests for one
    /// get `PoolClosed`.
    pub async fn close(&self) {
        if let Ok(all) = self.permits.acquire_many(self.size).await {
            self.permits.close();
            drop(all);
        }
        let idle = std::mem::take(&mut *self.idle());
        for idle in idle {
            let _ = idle.conn.close().await;
        }
    }

    pub fn is_closed(&self) -> bool {
        self.permits.is_closed()
    }
}

/// A connection of a `Kept` pool; dropping it gives it back, unless a connection failed
/// while it was out.
pub struct KeptConn<DB: Database> {
    conn: Option<DB::Connection>,
    home: Arc<Kept<DB>>,
    epoch: u64,
    /// Held until the connection is back (or gone).
    permit: Option<OwnedSemaphorePermit>,
}

impl<DB: Database> Drop for KeptConn<DB> {
    fn drop(&mut self) {
        let Some(mut conn) = self.conn.take() else {
            return;
        };
        let epoch = self.epoch;
        if FAILURES.load(Ordering::Relaxed) != epoch {
            return;
        }
        if !conn.should_flush() {
            self.home.give_back(conn, epoch);
            return;
        }
        // Something is left to send: a transaction dropped unfinished queues its ROLLBACK,
        // and keeps its locks until the ROLLBACK reaches the server. A ping sends it and
        // waits for the answer; the connection comes back only then, and only if it works.
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let home = self.home.clone();
        let permit = self.permit.take();
        runtime.spawn(async move {
            if conn.ping().await.is_ok() && FAILURES.load(Ordering::Relaxed) == epoch {
                home.give_back(conn, epoch);
            }
            drop(permit);
        });
    }
}

impl<DB: Database> Deref for KeptConn<DB> {
    type Target = DB::Connection;

    fn deref(&self) -> &DB::Connection {
        self.conn.as_ref().expect("taken only when dropped")
    }
}

impl<DB: Database> DerefMut for KeptConn<DB> {
    fn deref_mut(&mut self) -> &mut DB::Connection {
        self.conn.as_mut().expect("taken only when dropped")
    }
}

impl<DB: Database> Deref for Conn<'_, DB> {
    type Target = DB::Connection;

    fn deref(&self) -> &DB::Connection {
        match self {
            Self::Kept(conn) => conn,
            Self::Queued(guard) => guard.as_ref().expect("acquire checks it is open"),
        }
    }
}

impl<DB: Database> DerefMut for Conn<'_, DB> {
    fn deref_mut(&mut self) -> &mut DB::Connection {
        match self {
            Self::Kept(conn) => conn,
            Self::Queued(guard) => guard.as_mut().expect("acquire checks it is open"),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use sqlx::Sqlite;
    use sqlx::sqlite::SqliteConnectOptions;

    use super::*;

    /// Connections to a database in memory: a temporary table (`mark`), which only the
    /// connection that made it sees, tells them apart.
    async fn memory(size: u32, upkeep: Option<Upkeep>) -> Arc<Kept<Sqlite>> {
        let options = SqliteConnectOptions::from_str("sqlite::memory:").unwrap();
        Kept::open(options, size, upkeep).await.unwrap()
    }

    #[tokio::test]
    async fn connections_idle_past_their_time_are_closed_when_another_comes_back() {
        let _counting = COUNTING.lock().await;
        let upkeep = Upkeep {
            test_after: Duration::from_millis(10),
            close_after: Duration::from_millis(200),
        };
        let kept = memory(3, Some(upkeep)).await;
        let (a, b, c) = tokio::join!(kept.acquire(WAIT), kept.acquire(WAIT), kept.acquire(WAIT));
        let (a, b, c) = (a.unwrap(), b.unwrap(), c.unwrap());
        drop((a, b));
        assert_eq!(kept.idle().len(), 2);
        tokio::time::sleep(Duration::from_millis(300)).await;
        // Tested past `test_after`, and handed out.
        let mut tested = kept.acquire(WAIT).await.unwrap();
        sqlx::query("SELECT 1").execute(&mut *tested).await.unwrap();
        drop(c);
        assert_eq!(kept.idle().len(), 1, "the other idle one was closed");
        drop(tested);
        assert_eq!(kept.idle().len(), 2);
    }

    async fn mark(conn: &mut KeptConn<Sqlite>) {
        sqlx::query("CREATE TEMP TABLE mark (x)")
            .execute(&mut **conn)
            .await
            .unwrap();
    }

    async fn marked(conn: &mut KeptConn<Sqlite>) -> bool {
        sqlx::query("SELECT 1 FROM sqlite_temp_master WHERE name = 'mark'")
            .fetch_optional(&mut **conn)
            .await
            .unwrap()
            .is_some()
    }

    const WAIT: Duration = Duration::from_millis(50);

    /// Held by the tests that count failures or idle connections: a failure counted by one
    /// retires the connections of the others.
    static COUNTING: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

    #[tokio::test]
    async fn connections_are_given_back_as_they_are_unless_a_connection_failed() {
        let _counting = COUNTING.lock().await;
        let kept = memory(2, None).await;
        let mut conn = kept.acquire(WAIT).await.unwrap();
        mark(&mut conn).await;
        drop(conn);
        let mut again = kept.acquire(WAIT).await.unwrap();
        assert!(marked(&mut again).await, "the same connection, given back");

        // A connection failed while this one was out: it is not given back.
        assert!(count_connection_failure(&sqlx::Error::WorkerCrashed));
        drop(again);
        let mut fresh = kept.acquire(WAIT).await.unwrap();
        assert!(!marked(&mut fresh).await, "a new connection");
        mark(&mut fresh).await;
        drop(fresh);

        // One that idled when a connection failed is not handed out again.
        assert!(count_connection_failure(&sqlx::Error::Protocol(
            "gone".into()
        )));
        let mut fresh = kept.acquire(WAIT).await.unwrap();
        assert!(!marked(&mut fresh).await, "the idle one was retired");

        // Errors of a statement or of the pool retire nothing.
        assert!(!count_connection_failure(&sqlx::Error::RowNotFound));
        assert!(!count_connection_failure(&sqlx::Error::PoolTimedOut));
        mark(&mut fresh).await;
        drop(fresh);
        let mut same = kept.acquire(WAIT).await.unwrap();
        assert!(marked(&mut same).await);
    }

    #[tokio::test]
    async fn a_full_pool_times_out_and_a_closed_one_refuses() {
        let kept = memory(2, None).await;
        let first = kept.acquire(WAIT).await.unwrap();
        let second = kept.acquire(WAIT).await.unwrap();
        assert!(matches!(
            kept.acquire(WAIT).await,
            Err(sqlx::Error::PoolTimedOut)
        ));
        drop(second);
        let third = kept.acquire(WAIT).await.unwrap();

        // Closing waits for the connections in use.
        let closing = tokio::spawn({
            let kept = kept.clone();
            async move { kept.close().await }
        });
        tokio::time::sleep(WAIT).await;
        assert!(!closing.is_finished(), "two connections are still out");
        drop((first, third));
        tokio::time::timeout(Duration::from_secs(5), closing)
            .await
            .expect("closed once both came back")
            .unwrap();
        assert!(kept.is_closed());
        assert!(kept.idle().is_empty());
        assert!(matches!(
            kept.acquire(WAIT).await,
            Err(sqlx::Error::PoolClosed)
        ));
    }

    #[tokio::test]
    async fn waiting_requests_are_served_in_the_order_they_came() {
        let kept = memory(1, None).await;
        let held = kept.acquire(WAIT).await.unwrap();
        let order = Arc::new(Mutex::new(Vec::new()));
        let mut waiting = Vec::new();
        for i in 0..5 {
            let (kept, order) = (kept.clone(), order.clone());
            waiting.push(tokio::spawn(async move {
                let conn = kept.acquire(Duration::from_secs(5)).await.unwrap();
                order.lock().unwrap().push(i);
                drop(conn);
            }));
            // Each is queued before the next asks.
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        drop(held);
        for w in waiting {
            w.await.unwrap();
        }
        assert_eq!(*order.lock().unwrap(), vec![0, 1, 2, 3, 4]);
    }
}
