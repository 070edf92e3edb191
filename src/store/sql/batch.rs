//! Requests that come together, run together: the queue of `user_reads` and `user_creates`.
//!
//! A statement of one row costs a round trip to the database (on SQLite, to the thread of
//! the connection and back: two context switches and a wake-up each way; on PostgreSQL a
//! statement of the server's, and for a write its commit) far beyond the row itself. A
//! request waits in a `Batches` queue, and a task takes what waits once a statement may start
//! (`at_once` run at a time) and its connection is free: alone, a request runs at once, as
//! before; under load, those that came while the others ran go in one statement. Every
//! request of a statement was made before the statement began, so it sees every write
//! answered before it was made.
//!
//! The task runs apart from the requests (`tokio::spawn`), so that a request that goes away
//! (its client gone, its time up) leaves those in its statement their answers.

use std::sync::{Arc, Mutex, MutexGuard};

use sqlx::Database;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, oneshot};

use super::ACQUIRE_TIMEOUT;
use super::connections::{Conn, Connections};
use crate::store::{Result, StoreError};

/// The most requests in one statement.
pub const MOST: usize = 32;

/// The statements that run at once: one does the most per second on two cores, on both
/// backends.
pub const AT_ONCE: usize = 1;

struct Queue<T> {
    waiting: Vec<T>,
    /// Whether a task is on its way to take what waits.
    draining: bool,
}

/// Requests (`T`, each with where its answer goes) that wait for a statement.
pub struct Batches<T> {
    queue: Mutex<Queue<T>>,
    /// One permit per statement that may run at once.
    running: Arc<Semaphore>,
}

impl<T> Batches<T> {
    /// A queue whose requests run at most `at_once` statements at a time.
    pub fn new(at_once: usize) -> Self {
        Self {
            queue: Mutex::new(Queue {
                waiting: Vec::new(),
                draining: false,
            }),
            running: Arc::new(Semaphore::new(at_once.max(1))),
        }
    }

    fn queue(&self) -> MutexGuard<'_, Queue<T>> {
        self.queue.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Queues `request`; whether the caller is to start the task that takes the queue.
    #[must_use]
    pub fn push(&self, request: T) -> bool {
        let mut queue = self.queue();
        queue.waiting.push(request);
        !std::mem::replace(&mut queue.draining, true)
    }

    /// What the task that `push` asked for runs: it waits for the turn of a statement (held
    /// while the permit is) and for a connection of `conns`; then, if `gather`, lets the tasks
    /// that are ready run first, so that the requests they make join this statement; then takes
    /// what waits, up to `MOST`, calling `more` to start another task for the rest. Without a
    /// connection, what it took is answered with the error, and there is nothing to run.
    pub async fn next<'c, DB: Database>(
        &self,
        conns: &'c Connections<DB>,
        gather: bool,
        more: impl FnOnce(),
    ) -> Option<(Option<OwnedSemaphorePermit>, Conn<'c, DB>, Vec<T>)>
    where
        T: Waiting,
    {
        // The semaphore is never closed.
        let turn = self.running.clone().acquire_owned().await.ok();
        let conn = conns.acquire(ACQUIRE_TIMEOUT).await;
        if gather {
            tokio::task::yield_now().await;
        }
        let (batch, left) = self.take();
        if left {
            more();
        }
        match conn {
            Ok(conn) => Some((turn, conn, batch)),
            Err(e) => {
                fail_all(batch, &e);
                None
            }
        }
    }

    /// Takes what waits, up to `MOST`, and whether another task is to start for the rest.
    fn take(&self) -> (Vec<T>, bool) {
        let mut queue = self.queue();
        let n = queue.waiting.len().min(MOST);
        let batch = queue.waiting.drain(..n).collect();
        queue.draining = !queue.waiting.is_empty();
        (batch, queue.draining)
    }

    /// How many requests wait.
    #[cfg(test)]
    pub fn waiting(&self) -> usize {
        self.queue().waiting.len()
    }
}

/// A request that waits in `Batches`, which can be answered with the error of its statement.
pub trait Waiting {
    fn fail(self, e: &StoreError);
}

/// Answers each of `batch` with `e`.
pub fn fail_all<T: Waiting>(batch: Vec<T>, e: &StoreError) {
    for request in batch {
        request.fail(e);
    }
}

/// The answer a task sends to `answered`.
pub async fn answer<T>(answered: oneshot::Receiver<Result<T>>) -> Result<T> {
    // The task drops the sender unused only if it panicked or the runtime is going away.
    answered
        .await
        .unwrap_or_else(|_| Err(StoreError::Database(sqlx::Error::WorkerCrashed)))
}

/// The same error for another request of the statement that failed: a database error as its
/// message (what the request's log line and answer make of it).
pub fn copy_of(e: &StoreError) -> StoreError {
    match e {
        StoreError::NotFound => StoreError::NotFound,
        StoreError::Conflict(c) => StoreError::Conflict(*c),
        StoreError::LimitReached => StoreError::LimitReached,
        StoreError::MemberNotFound => StoreError::MemberNotFound,
        StoreError::MemberLoop => StoreError::MemberLoop,
        StoreError::InUse => StoreError::InUse,
        StoreError::Contended => StoreError::Contended,
        StoreError::Database(e) => StoreError::Database(match e {
            sqlx::Error::PoolClosed => sqlx::Error::PoolClosed,
            sqlx::Error::WorkerCrashed => sqlx::Error::WorkerCrashed,
            e => sqlx::Error::Protocol(e.to_string()),
        }),
    }
}
