//! The SQL of the tenants' credentials beside the tenants themselves: AWS access keys
//! (`AccessKeyStore`), and the capped insert and the delete they share with the SCIM access
//! tokens. Both are
//! looked up, and their uses recorded, through the store's cache (`auth_cache.rs`).

use async_trait::async_trait;
use sqlx::Connection;

use super::SqlStore;
use super::dialect::{Bind, Dialect, Fields, Run, Statement};
use crate::store::access_keys::{AccessKeyInfo, AccessKeyOwner, AccessKeyStore};
use crate::store::auth_cache::Kind;
use crate::store::{Result, StoreError};

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

    /// Deletes the tenant's credential whose `column` of `table` is `id`, and forgets what the
    /// cache knew, whether or not the delete succeeded; `NotFound` if there is none.
    pub(super) async fn delete_credential(
        &self,
        table: &str,
        column: &str,
        tenant_id: &str,
        id: &str,
    ) -> Result<()> {
        let mut conn = self.write().await?;
        let sql = format!("DELETE FROM {table} WHERE tenant_id = $1 AND {column} = $2");
        let deleted = Self::query(&sql)
            .arg(tenant_id)
            .arg(id)
            .execute_in(&mut *conn)
            .await;
        self.auth.invalidate();
        if deleted? == 0 {
            return Err(StoreError::NotFound);
        }
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
        self.flush_uses().await;
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
        self.delete_credential("access_keys", "access_key_id", tenant_id, access_key_id)
            .await
    }

    async fn access_key_owner(
        &self,
        access_key_id: &str,
        now_ms: i64,
    ) -> Result<Option<AccessKeyOwner>> {
        let found = self
            .credential(Kind::AccessKey, access_key_id, now_ms, |_| true)
            .await?;
        Ok(found.map(|key| AccessKeyOwner {
            tenant: key.tenant,
            secret: key.secret.unwrap_or_default(),
        }))
    }
}
