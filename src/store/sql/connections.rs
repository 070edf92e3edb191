//! Where the store's statements run: a pool of connections, or one connection that its users
//! queue for, in order (SQLite's writer, and a database in memory).

use std::ops::{Deref, DerefMut};
use std::sync::Arc;
use std::time::Duration;

use sqlx::pool::PoolConnection;
use sqlx::{Connection, Database, Pool};
use tokio::sync::{Mutex, MutexGuard};

use crate::store::Result;

pub enum Connections<DB: Database> {
    Pool(Pool<DB>),
    /// `None` once closed.
    One(Arc<Mutex<Option<DB::Connection>>>),
}

/// A connection taken from `Connections`; dropping it gives it back.
pub enum Conn<'a, DB: Database> {
    Pooled(PoolConnection<DB>),
    Queued(MutexGuard<'a, Option<DB::Connection>>),
}

impl<DB: Database> Connections<DB> {
    /// One connection that its users queue for, taking turns in the order they came.
    pub fn one(conn: DB::Connection) -> Self {
        Self::One(Arc::new(Mutex::new(Some(conn))))
    }

    /// Another handle on the same connections.
    pub fn share(&self) -> Self {
        match self {
            Self::Pool(pool) => Self::Pool(pool.clone()),
            Self::One(conn) => Self::One(conn.clone()),
        }
    }

    /// A connection, within `timeout` (`PoolTimedOut` otherwise, as a pool answers).
    pub async fn acquire(&self, timeout: Duration) -> Result<Conn<'_, DB>> {
        match self {
            Self::Pool(pool) => Ok(Conn::Pooled(pool.acquire().await?)),
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
            Self::Pool(pool) => {
                // A connection on its way back to the pool as it closes may arrive after
                // `close` is done, and stay open: close again until none is left.
                pool.close().await;
                while pool.size() > 0 {
                    tokio::time::sleep(Duration::from_millis(1)).await;
                    pool.close().await;
                }
            }
            Self::One(conn) => {
                if let Some(conn) = conn.lock().await.take() {
                    let _ = conn.close().await;
                }
            }
        }
    }
}

impl<DB: Database> Deref for Conn<'_, DB> {
    type Target = DB::Connection;

    fn deref(&self) -> &DB::Connection {
        match self {
            Self::Pooled(conn) => conn,
            Self::Queued(guard) => guard.as_ref().expect("acquire checks it is open"),
        }
    }
}

impl<DB: Database> DerefMut for Conn<'_, DB> {
    fn deref_mut(&mut self) -> &mut DB::Connection {
        match self {
            Self::Pooled(conn) => conn,
            Self::Queued(guard) => guard.as_mut().expect("acquire checks it is open"),
        }
    }
}
