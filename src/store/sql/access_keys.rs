//! The SQL of the tenants' credentials beside the tenants themselves: AWS access keys
//! (`AccessKeyStore`), and the two steps they share with the SCIM access tokens, a capped
//! insert and the recording of a use.

use async_trait::async_trait;
use sqlx::Connection;

use super::SqlStore;
use super::dialect::{Bind, Dialect, Fields, Run, Statement};
use super::query::tenant_from_row;
use crate::store::access_keys::{AccessKeyInfo, AccessKeyOwner, AccessKeyStore};
use crate::store::{LAST_USED_RESOLUTION_MS, Result, StoreError};

impl<DB: Dialect> SqlStore<DB> {
    /// Runs `insert`, which adds a credential to the tenant, unless the tenant already holds
    /// `max` rows of `table`. The tenant is locked first (a row lock on PostgreSQL, the write
    /// lock on SQLite), so that two concurrent inserts cannot both see room for one more.
    pub(super) async fn insert_capped<'q>(
        &self,
        table: &str,
        tenant_id: &str,
        max: usize,
        insert: Statement<'q, 'q, DB>,
    ) -> Result<()> {
        let mut conn = self.write().await?;
        let mut tx = conn.begin_with(DB::BEGIN_WRITE).await?;
        let locked = Self::query("UPDATE tenants SET tenant_id = tenant_id WHERE tenant_id = $1")
            .arg(tenant_id)
            .execute_in(&mut *tx)
            .await?;
        if locked == 0 {
            return Err(StoreError::NotFound);
        }
        let count_sql = format!("SELECT COUNT(*) AS n FROM {table} WHERE tenant_id = $1");
        let count: i64 = Self::query(&count_sql)
            .arg(tenant_id)
            .fetch_optional_in(&mut *tx)
            .await?
            .ok_or(StoreError::NotFound)?
            .field("n")?;
        if count >= max as i64 {
            return Err(StoreError::LimitReached);
        }
        insert.execute_in(&mut *tx).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Records that the credential whose `column` is `key` in `table` was used at `now_ms`,
    /// unless the use recorded last (`last_used`) is recent: a write per request would cost
    /// more than the request.
    pub(super) async fn record_use(
        &self,
        table: &str,
        column: &str,
        key: &str,
        last_used: Option<i64>,
        now_ms: i64,
    ) -> Result<()> {
        if last_used.is_some_and(|t| now_ms - t < LAST_USED_RESOLUTION_MS) {
            return Ok(());
        }
        let sql = format!("UPDATE {table} SET last_used_ms = $1 WHERE {column} = $2");
        let mut conn = self.write().await?;
        Self::query(&sql)
            .arg(now_ms)
            .arg(key)
            .execute_in(&mut *conn)
            .await?;
        Ok(())
    }
}

#[async_trait]
impl<DB: Dialect> AccessKeyStore for SqlStore<DB> {
    async fn add_access_key(
        &self,
        tenant_id: &str,
        key: &AccessKeyInfo,
        secret: &str,
        max: usize,
    ) -> Result<()> {
        let insert = Self::query(
            "INSERT INTO access_keys (access_key_id, tenant_id, secret, created_ms) \
             VALUES ($1, $2, $3, $4)",
        )
        .arg(&key.access_key_id)
        .arg(tenant_id)
        .arg(secret)
        .arg(key.created_ms);
        self.insert_capped("access_keys", tenant_id, max, insert)
            .await
    }

    async fn list_access_keys(&self, tenant_id: &str) -> Result<Vec<AccessKeyInfo>> {
        let mut conn = self.read().await?;
        let rows = Self::query(
            "SELECT access_key_id, created_ms, last_used_ms FROM access_keys \
             WHERE tenant_id = $1 ORDER BY created_ms, access_key_id",
        )
        .arg(tenant_id)
        .fetch_all_in(&mut *conn)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(AccessKeyInfo {
                    access_key_id: row.field("access_key_id")?,
                    created_ms: row.field("created_ms")?,
                    last_used_ms: row.field("last_used_ms")?,
                })
            })
            .collect()
    }

    async fn delete_access_key(&self, tenant_id: &str, access_key_id: &str) -> Result<()> {
        let mut conn = self.write().await?;
        let deleted =
            Self::query("DELETE FROM access_keys WHERE tenant_id = $1 AND access_key_id = $2")
                .arg(tenant_id)
                .arg(access_key_id)
                .execute_in(&mut *conn)
                .await?;
        if deleted == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    async fn access_key_owner(
        &self,
        access_key_id: &str,
        now_ms: i64,
    ) -> Result<Option<AccessKeyOwner>> {
        let mut conn = self.read().await?;
        let row = Self::query(
            "SELECT t.tenant_id, t.identity_store_id, t.provisioning_enabled, k.secret, \
             k.last_used_ms FROM access_keys k JOIN tenants t ON t.tenant_id = k.tenant_id \
             WHERE k.access_key_id = $1",
        )
        .arg(access_key_id)
        .fetch_optional_in(&mut *conn)
        .await?;
        drop(conn);
        let Some(row) = row else {
            return Ok(None);
        };
        let last_used: Option<i64> = row.field("last_used_ms")?;
        self.record_use(
            "access_keys",
            "access_key_id",
            access_key_id,
            last_used,
            now_ms,
        )
        .await?;
        Ok(Some(AccessKeyOwner {
            tenant: tenant_from_row::<DB>(&row)?,
            secret: row.field("secret")?,
        }))
    }
}
