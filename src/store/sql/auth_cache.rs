//! The store's side of its cache of authentication (`store::auth_cache`): when the cache may
//! be trusted, what fills it, and the writing of the uses it records.
//!
//! Other processes' changes are learnt from the count that migration `0007`'s triggers keep in
//! `auth_changes`: it is read, at most once per `CHECK_INTERVAL`, before the cache is trusted.
//! A reading of it costs a round trip per interval, not per request, and bounds how long a
//! change made elsewhere goes unseen whatever becomes of the connections between. On
//! PostgreSQL the triggers also notify the channel `auth_changes` when the change commits, and
//! each server listens (`listen_for_changes`): its cache is forgotten at once, the count being
//! the bound if a notification is lost with its connection. Besides that listener, nothing
//! runs in the background but the write of the recorded uses, `FLUSH_DELAY` after the first.

use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use sqlx::postgres::PgListener;
use sqlx::{Connection, Postgres};

use super::connections::{Connections, Kept};
use super::dialect::{Bind, Dialect, Fields, Run};
use super::query::{TENANT_COLUMNS, get, tenant_from_row, tenant_info_from_row};
use super::{ACQUIRE_TIMEOUT, SqlStore};
use crate::store::auth_cache::{AuthCache, Credential, FLUSH_DELAY, Kind, TenantKey};
use crate::store::{Result, StoreError, TenantInfo};

impl<DB: Dialect> SqlStore<DB> {
    /// The epoch of the cache once it may be trusted: the count of changes is read first if
    /// it was last read more than `CHECK_INTERVAL` ago (by one request; the others wait for
    /// it).
    pub(super) async fn auth_epoch(&self) -> Result<u64> {
        if let Some(epoch) = self.auth.fresh_epoch(Instant::now()) {
            return Ok(epoch);
        }
        let _turn = self.auth_check.lock().await;
        if let Some(epoch) = self.auth.fresh_epoch(Instant::now()) {
            return Ok(epoch);
        }
        let at = Instant::now();
        let mut conn = self.read().await?;
        let changes: i64 = Self::query("SELECT changes FROM auth_changes")
            .fetch_optional_in(&mut *conn)
            .await?
            .ok_or(StoreError::NotFound)?
            .field("changes")?;
        Ok(self.auth.checked(at, changes))
    }

    /// A tenant, from the cache or else the database.
    pub(super) async fn tenant(&self, by: TenantKey, value: &str) -> Result<TenantInfo> {
        let epoch = self.auth_epoch().await?;
        if let Some(info) = self.auth.tenant(by, value) {
            return Ok(info);
        }
        let column = match by {
            TenantKey::Id => "tenant_id",
            TenantKey::IdentityStore => "identity_store_id",
        };
        let sql = format!("SELECT {TENANT_COLUMNS} FROM tenants WHERE {column} = $1");
        let mut conn = self.read().await?;
        let query = Self::query(&sql).arg(value);
        let info = get(&mut *conn, query, tenant_info_from_row::<DB>).await?;
        self.auth.keep_tenant(epoch, &info);
        Ok(info)
    }

    /// A stored credential that `accept`s and has not expired at `now_ms`, from the cache or
    /// else the database; its use is recorded.
    pub(super) async fn credential(
        &self,
        kind: Kind,
        key: &str,
        now_ms: i64,
        accept: impl Fn(&Credential) -> bool,
    ) -> Result<Option<Credential>> {
        let epoch = self.auth_epoch().await?;
        let (credential, last_used_ms) = match self.auth.credential(kind, key) {
            Some(cached) => cached,
            None => {
                let Some((credential, last_used_ms)) = self.read_credential(kind, key).await?
                else {
                    return Ok(None);
                };
                self.auth
                    .keep_credential(epoch, kind, key, credential.clone(), last_used_ms);
                (credential, last_used_ms)
            }
        };
        if credential.expires_ms <= now_ms || !accept(&credential) {
            return Ok(None);
        }
        self.auth.used(kind, key, last_used_ms, now_ms);
        if self.auth.flush_wanted() {
            let writes = self.writes.share();
            let auth = self.auth.clone();
            tokio::spawn(async move {
                tokio::time::sleep(FLUSH_DELAY).await;
                Self::write_uses(&writes, &auth).await;
            });
        }
        Ok(Some(credential))
    }

    /// A credential as the database holds it, with its last use.
    async fn read_credential(
        &self,
        kind: Kind,
        key: &str,
    ) -> Result<Option<(Credential, Option<i64>)>> {
        let sql = match kind {
            Kind::Token => {
                "SELECT t.tenant_id, t.identity_store_id, t.provisioning_enabled, \
                 k.expires_ms, k.last_used_ms \
                 FROM tokens k JOIN tenants t ON t.tenant_id = k.tenant_id \
                 WHERE k.token_hash = $1"
            }
            Kind::AccessKey => {
                "SELECT t.tenant_id, t.identity_store_id, t.provisioning_enabled, k.secret, \
                 k.last_used_ms \
                 FROM access_keys k JOIN tenants t ON t.tenant_id = k.tenant_id \
                 WHERE k.access_key_id = $1"
            }
        };
        let mut conn = self.read().await?;
        let Some(row) = Self::query(sql)
            .arg(key)
            .fetch_optional_in(&mut *conn)
            .await?
        else {
            return Ok(None);
        };
        let credential = match kind {
            Kind::Token => Credential {
                tenant: tenant_from_row::<DB>(&row)?,
                secret: None,
                expires_ms: row.field("expires_ms")?,
            },
            Kind::AccessKey => Credential {
                tenant: tenant_from_row::<DB>(&row)?,
                secret: Some(row.field("secret")?),
                expires_ms: i64::MAX,
            },
        };
        Ok(Some((credential, row.field("last_used_ms")?)))
    }

    /// Writes the uses recorded so far, before credentials are listed or the store closes.
    pub(super) async fn flush_uses(&self) {
        Self::write_uses(&self.writes, &self.auth).await;
    }

    /// Writes the uses `auth` recorded, in one transaction; a later use written by another
    /// process is kept. A failure is logged: the uses are lost, nothing else is.
    async fn write_uses(writes: &Connections<DB>, auth: &AuthCache) {
        if !auth.has_uses() {
            return;
        }
        let written = async {
            let mut conn = writes.acquire(ACQUIRE_TIMEOUT).await?;
            let uses = auth.take_uses();
            let mut tx = conn.begin_with(DB::BEGIN_WRITE).await?;
            for (kind, key, when) in uses {
                let sql = match kind {
                    Kind::Token => {
                        "UPDATE tokens SET last_used_ms = $1 WHERE token_hash = $2 \
                         AND (last_used_ms IS NULL OR last_used_ms < $1)"
                    }
                    Kind::AccessKey => {
                        "UPDATE access_keys SET last_used_ms = $1 WHERE access_key_id = $2 \
                         AND (last_used_ms IS NULL OR last_used_ms < $1)"
                    }
                };
                Self::query(sql)
                    .arg(when)
                    .arg(key)
                    .execute_in(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
            Ok::<_, StoreError>(())
        };
        if let Err(e) = written.await {
            tracing::warn!(error = ?e, "the last use of credentials could not be recorded");
        }
    }
}

/// The channel on which migration `0007`'s triggers notify a change (PostgreSQL).
const CHANNEL: &str = "auth_changes";

/// How long the listener waits before it connects again after a failure.
const RELISTEN_DELAY: Duration = Duration::from_secs(1);

/// Forgets `auth` whenever PostgreSQL notifies a change of credentials or tenants, or when the
/// listening connection was lost (a notification may have been lost with it). Ends when the
/// store's connections close or the cache is dropped.
pub(super) async fn listen_for_changes(
    url: String,
    store: Arc<Kept<Postgres>>,
    auth: Weak<AuthCache>,
) {
    while !store.is_closed() {
        let listening = async {
            let mut listener = PgListener::connect(&url).await?;
            listener.listen(CHANNEL).await?;
            // Whatever changed before LISTEN took effect is covered by the count.
            loop {
                let notified = listener.try_recv().await?;
                let Some(auth) = auth.upgrade() else {
                    return Ok(());
                };
                auth.invalidate();
                if notified.is_none() {
                    tracing::warn!("lost the connection that listens for credential changes");
                }
            }
        };
        match listening.await {
            Ok(()) => return,
            Err(sqlx::Error::PoolClosed) => return,
            Err(e) => {
                tracing::warn!(error = ?e, "cannot listen for credential changes; retrying");
                tokio::time::sleep(RELISTEN_DELAY).await;
            }
        }
    }
}
