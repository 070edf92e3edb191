//! The SQL of the store, written once and compiled for PostgreSQL and SQLite.
//!
//! Both dialects accept `$n` placeholders, `RETURNING`, `ON CONFLICT DO NOTHING` and window
//! functions, and both migrations create the same tables and index names, so one body of
//! code (the `sql_store!` macro) serves both pools. Dynamic lists are built with
//! `QueryBuilder::push_bind`: a filter value never becomes SQL text.

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{QueryBuilder, Row};

use super::{
    GroupChange, GroupRecord, LAST_USED_RESOLUTION_MS, ListArgs, Membership, MembershipQuery, Page,
    Result, Store, StoreError, Tenant, TenantInfo, TokenInfo, UserRecord,
};
use crate::scim::group::GroupAttrs;
use crate::scim::query::{GroupQuery, UserQuery};
use crate::scim::user::UserAttrs;

/// PostgreSQL, for deployments; several instances may share one database.
pub struct PgStore {
    pub(super) pool: PgPool,
}

impl PgStore {
    pub async fn connect(url: &str) -> anyhow::Result<Self> {
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(Duration::from_secs(10))
            .connect(url)
            .await?;
        sqlx::migrate!("migrations/postgres").run(&pool).await?;
        Ok(Self { pool })
    }
}

/// SQLite, the embedded default.
pub struct SqliteStore {
    pub(super) pool: SqlitePool,
}

impl SqliteStore {
    pub async fn connect(url: &str) -> anyhow::Result<Self> {
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(true)
            // Readers that never pause keep the log from restarting; this bounds what a
            // checkpoint leaves of it on disk.
            .pragma("journal_size_limit", "67108864");
        // Every connection to `:memory:` is a database of its own: keep exactly one.
        let in_memory = url.contains(":memory:") || url.contains("mode=memory");
        let pool = SqlitePoolOptions::new()
            .max_connections(if in_memory { 1 } else { 8 })
            .min_connections(if in_memory { 1 } else { 0 })
            .idle_timeout(None)
            .max_lifetime(None)
            .connect_with(options)
            .await?;
        sqlx::migrate!("migrations/sqlite").run(&pool).await?;
        Ok(Self { pool })
    }
}

fn tenant_info_from_row<R: Row>(row: &R) -> Result<TenantInfo>
where
    for<'r> String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> bool: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> &'r str: sqlx::ColumnIndex<R>,
{
    Ok(TenantInfo {
        tenant: tenant_from_row(row)?,
        is_default: row.try_get("is_default")?,
        created_ms: row.try_get("created_ms")?,
    })
}

const USER_COLUMNS: &str = "u.id, u.data, u.version, u.created_ms, u.modified_ms";

fn tenant_from_row<R: Row>(row: &R) -> Result<Tenant>
where
    for<'r> String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> bool: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> &'r str: sqlx::ColumnIndex<R>,
{
    Ok(Tenant {
        tenant_id: row.try_get("tenant_id")?,
        identity_store_id: row.try_get("identity_store_id")?,
        provisioning_enabled: row.try_get("provisioning_enabled")?,
    })
}

fn user_from_row<R: Row>(row: &R) -> Result<UserRecord>
where
    for<'r> String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> &'r str: sqlx::ColumnIndex<R>,
{
    let data: String = row.try_get("data")?;
    let attrs: UserAttrs = serde_json::from_str(&data)
        .map_err(|e| StoreError::Database(sqlx::Error::Decode(Box::new(e))))?;
    Ok(UserRecord {
        id: row.try_get("id")?,
        version: row.try_get("version")?,
        created_ms: row.try_get("created_ms")?,
        modified_ms: row.try_get("modified_ms")?,
        attrs,
    })
}

const GROUP_COLUMNS: &str =
    "g.id, g.display_name, g.external_id, g.version, g.created_ms, g.modified_ms";

fn group_from_row<R: Row>(row: &R) -> Result<GroupRecord>
where
    for<'r> String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> Option<String>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> &'r str: sqlx::ColumnIndex<R>,
{
    Ok(GroupRecord {
        id: row.try_get("id")?,
        version: row.try_get("version")?,
        created_ms: row.try_get("created_ms")?,
        modified_ms: row.try_get("modified_ms")?,
        attrs: GroupAttrs {
            display_name: row.try_get("display_name")?,
            external_id: row.try_get("external_id")?,
        },
    })
}

/// Splits a page of rows into the page: `limit + 1` rows were asked for, to learn whether
/// more follow.
pub(super) fn page_of<R, T>(
    rows: &[R],
    args: ListArgs<'_>,
    decode: impl Fn(&R) -> Result<T>,
) -> Result<Page<T>>
where
    R: Row,
    for<'r> i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> &'r str: sqlx::ColumnIndex<R>,
{
    let total = match (args.with_total, rows.first()) {
        (false, _) => None,
        (true, None) => Some(0),
        (true, Some(row)) => Some(row.try_get::<i64, _>("total")?),
    };
    let more = rows.len() > args.limit as usize;
    let items = rows
        .iter()
        .take(args.limit as usize)
        .map(decode)
        .collect::<Result<Vec<_>>>()?;
    Ok(Page { items, total, more })
}

fn membership_from_row<R: Row>(row: &R) -> Result<Membership>
where
    for<'r> String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> &'r str: sqlx::ColumnIndex<R>,
{
    Ok(Membership {
        membership_id: row.try_get("membership_id")?,
        group_id: row.try_get("group_id")?,
        user_id: row.try_get("user_id")?,
    })
}

fn user_data(attrs: &UserAttrs) -> String {
    serde_json::to_string(attrs).expect("user attributes serialise")
}

macro_rules! sql_store {
    ($store:ident, $db:ty) => {
        #[async_trait]
        impl Store for $store {
            async fn ping(&self) -> Result<()> {
                sqlx::query("SELECT 1").execute(&self.pool).await?;
                Ok(())
            }

            async fn close(&self) {
                self.pool.close().await;
            }

            async fn ensure_default_tenant(&self, candidate: &Tenant, now_ms: i64) -> Result<Tenant> {
                sqlx::query(
                    "INSERT INTO tenants (tenant_id, identity_store_id, is_default, provisioning_enabled, created_ms) \
                     VALUES ($1, $2, TRUE, TRUE, $3) ON CONFLICT DO NOTHING",
                )
                .bind(&candidate.tenant_id)
                .bind(&candidate.identity_store_id)
                .bind(now_ms)
                .execute(&self.pool)
                .await?;
                let row = sqlx::query(
                    "SELECT tenant_id, identity_store_id, provisioning_enabled FROM tenants WHERE is_default",
                )
                .fetch_one(&self.pool)
                .await?;
                tenant_from_row(&row)
            }

            async fn create_tenant(&self, tenant: &Tenant, now_ms: i64) -> Result<()> {
                sqlx::query(
                    "INSERT INTO tenants (tenant_id, identity_store_id, is_default, provisioning_enabled, created_ms) \
                     VALUES ($1, $2, FALSE, $3, $4)",
                )
                .bind(&tenant.tenant_id)
                .bind(&tenant.identity_store_id)
                .bind(tenant.provisioning_enabled)
                .bind(now_ms)
                .execute(&self.pool)
                .await?;
                Ok(())
            }

            async fn get_tenant(&self, tenant_id: &str) -> Result<TenantInfo> {
                let row = sqlx::query(
                    "SELECT tenant_id, identity_store_id, provisioning_enabled, is_default, created_ms \
                     FROM tenants WHERE tenant_id = $1",
                )
                .bind(tenant_id)
                .fetch_optional(&self.pool)
                .await?
                .ok_or(StoreError::NotFound)?;
                tenant_info_from_row(&row)
            }

            async fn list_tenants(&self) -> Result<Vec<TenantInfo>> {
                let rows = sqlx::query(
                    "SELECT tenant_id, identity_store_id, provisioning_enabled, is_default, created_ms \
                     FROM tenants ORDER BY created_ms, tenant_id",
                )
                .fetch_all(&self.pool)
                .await?;
                rows.iter().map(tenant_info_from_row).collect()
            }

            async fn delete_tenant(&self, tenant_id: &str) -> Result<()> {
                let done = sqlx::query("DELETE FROM tenants WHERE tenant_id = $1")
                    .bind(tenant_id)
                    .execute(&self.pool)
                    .await?;
                if done.rows_affected() == 0 {
                    return Err(StoreError::NotFound);
                }
                Ok(())
            }

            async fn clear_tenant(&self, tenant: &Tenant) -> Result<()> {
                let mut tx = self.pool.begin().await?;
                for sql in [
                    "DELETE FROM groups WHERE tenant_id = $1",
                    "DELETE FROM users WHERE tenant_id = $1",
                ] {
                    sqlx::query(sql).bind(&tenant.tenant_id).execute(&mut *tx).await?;
                }
                tx.commit().await?;
                Ok(())
            }

            async fn set_provisioning(&self, tenant_id: &str, enabled: bool) -> Result<()> {
                let done = sqlx::query("UPDATE tenants SET provisioning_enabled = $1 WHERE tenant_id = $2")
                    .bind(enabled)
                    .bind(tenant_id)
                    .execute(&self.pool)
                    .await?;
                if done.rows_affected() == 0 {
                    return Err(StoreError::NotFound);
                }
                Ok(())
            }

            async fn tenant_for_token(
                &self,
                tenant_id: &str,
                token_hash: &str,
                now_ms: i64,
            ) -> Result<Option<Tenant>> {
                let row = sqlx::query(
                    "SELECT t.tenant_id, t.identity_store_id, t.provisioning_enabled, k.last_used_ms \
                     FROM tokens k JOIN tenants t ON t.tenant_id = k.tenant_id \
                     WHERE k.token_hash = $1 AND k.tenant_id = $2 AND k.expires_ms > $3",
                )
                .bind(token_hash)
                .bind(tenant_id)
                .bind(now_ms)
                .fetch_optional(&self.pool)
                .await?;
                let Some(row) = row else {
                    return Ok(None);
                };
                let last_used: Option<i64> = row.try_get("last_used_ms")?;
                if last_used.is_none_or(|t| now_ms - t >= LAST_USED_RESOLUTION_MS) {
                    sqlx::query("UPDATE tokens SET last_used_ms = $1 WHERE token_hash = $2")
                        .bind(now_ms)
                        .bind(token_hash)
                        .execute(&self.pool)
                        .await?;
                }
                tenant_from_row(&row).map(Some)
            }

            async fn add_token(
                &self,
                tenant_id: &str,
                token: &TokenInfo,
                token_hash: &str,
                max: usize,
            ) -> Result<()> {
                let mut tx = self.pool.begin().await?;
                // Lock the tenant first (a row lock on PostgreSQL, the write lock on SQLite), so
                // that two concurrent creations cannot both see room for one more token.
                let locked = sqlx::query("UPDATE tenants SET tenant_id = tenant_id WHERE tenant_id = $1")
                    .bind(tenant_id)
                    .execute(&mut *tx)
                    .await?;
                if locked.rows_affected() == 0 {
                    return Err(StoreError::NotFound);
                }
                let count: i64 = sqlx::query("SELECT COUNT(*) AS n FROM tokens WHERE tenant_id = $1")
                    .bind(tenant_id)
                    .fetch_one(&mut *tx)
                    .await?
                    .try_get("n")?;
                if count >= max as i64 {
                    return Err(StoreError::LimitReached);
                }
                sqlx::query(
                    "INSERT INTO tokens (token_id, tenant_id, token_hash, created_ms, expires_ms) \
                     VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(&token.token_id)
                .bind(tenant_id)
                .bind(token_hash)
                .bind(token.created_ms)
                .bind(token.expires_ms)
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(())
            }

            async fn list_tokens(&self, tenant_id: &str) -> Result<Vec<TokenInfo>> {
                let rows = sqlx::query(
                    "SELECT token_id, created_ms, expires_ms, last_used_ms FROM tokens \
                     WHERE tenant_id = $1 ORDER BY created_ms, token_id",
                )
                .bind(tenant_id)
                .fetch_all(&self.pool)
                .await?;
                rows.iter()
                    .map(|row| {
                        Ok(TokenInfo {
                            token_id: row.try_get("token_id")?,
                            created_ms: row.try_get("created_ms")?,
                            expires_ms: row.try_get("expires_ms")?,
                            last_used_ms: row.try_get("last_used_ms")?,
                        })
                    })
                    .collect()
            }

            async fn delete_token(&self, tenant_id: &str, token_id: &str) -> Result<()> {
                let done = sqlx::query("DELETE FROM tokens WHERE tenant_id = $1 AND token_id = $2")
                    .bind(tenant_id)
                    .bind(token_id)
                    .execute(&self.pool)
                    .await?;
                if done.rows_affected() == 0 {
                    return Err(StoreError::NotFound);
                }
                Ok(())
            }

            async fn create_user(
                &self,
                tenant: &Tenant,
                attrs: &UserAttrs,
                now_ms: i64,
            ) -> Result<UserRecord> {
                let id = tenant.new_resource_id();
                sqlx::query(
                    "INSERT INTO users (tenant_id, id, user_name, user_name_lower, external_id, \
                     email_lower, manager_id, data, version, created_ms, modified_ms) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 1, $9, $9)",
                )
                .bind(&tenant.tenant_id)
                .bind(&id)
                .bind(&attrs.user_name)
                .bind(attrs.user_name_key())
                .bind(&attrs.external_id)
                .bind(attrs.email_key())
                .bind(attrs.manager_id())
                .bind(user_data(attrs))
                .bind(now_ms)
                .execute(&self.pool)
                .await?;
                Ok(UserRecord {
                    id,
                    version: 1,
                    created_ms: now_ms,
                    modified_ms: now_ms,
                    attrs: attrs.clone(),
                })
            }

            async fn get_user(&self, tenant: &Tenant, id: &str) -> Result<UserRecord> {
                let sql = format!("SELECT {USER_COLUMNS} FROM users u WHERE u.tenant_id = $1 AND u.id = $2");
                let row = sqlx::query(&sql)
                    .bind(&tenant.tenant_id)
                    .bind(id)
                    .fetch_optional(&self.pool)
                    .await?
                    .ok_or(StoreError::NotFound)?;
                user_from_row(&row)
            }

            async fn list_users(
                &self,
                tenant: &Tenant,
                query: &UserQuery,
                args: ListArgs<'_>,
            ) -> Result<Page<UserRecord>> {
                let mut qb = QueryBuilder::<$db>::new("SELECT ");
                qb.push(USER_COLUMNS);
                if args.with_total {
                    qb.push(", (SELECT COUNT(*)");
                    match query {
                        // Members always are users (foreign key): the index alone counts them.
                        UserQuery::Group(group) => {
                            qb.push(" FROM group_members m WHERE m.tenant_id = ");
                            qb.push_bind(&tenant.tenant_id);
                            qb.push(" AND m.group_id = ");
                            qb.push_bind(group);
                        }
                        _ => Self::user_source(&mut qb, tenant, query),
                    }
                    qb.push(") AS total");
                }
                Self::user_source(&mut qb, tenant, query);
                Self::push_page(&mut qb, "u", args);
                let rows = qb.build().fetch_all(&self.pool).await?;
                page_of(&rows, args, user_from_row)
            }

            async fn update_user(
                &self,
                tenant: &Tenant,
                id: &str,
                attrs: &UserAttrs,
                expected_version: Option<i64>,
                now_ms: i64,
            ) -> Result<UserRecord> {
                let mut qb = QueryBuilder::<$db>::new("UPDATE users SET user_name = ");
                qb.push_bind(&attrs.user_name);
                qb.push(", user_name_lower = ");
                qb.push_bind(attrs.user_name_key());
                qb.push(", external_id = ");
                qb.push_bind(&attrs.external_id);
                qb.push(", email_lower = ");
                qb.push_bind(attrs.email_key());
                qb.push(", manager_id = ");
                qb.push_bind(attrs.manager_id());
                qb.push(", data = ");
                qb.push_bind(user_data(attrs));
                qb.push(", version = version + 1, modified_ms = ");
                qb.push_bind(now_ms);
                qb.push(" WHERE tenant_id = ");
                qb.push_bind(&tenant.tenant_id);
                qb.push(" AND id = ");
                qb.push_bind(id);
                if let Some(v) = expected_version {
                    qb.push(" AND version = ");
                    qb.push_bind(v);
                }
                qb.push(" RETURNING version, created_ms");
                match qb.build().fetch_optional(&self.pool).await? {
                    Some(row) => Ok(UserRecord {
                        id: id.to_owned(),
                        version: row.try_get("version")?,
                        created_ms: row.try_get("created_ms")?,
                        modified_ms: now_ms,
                        attrs: attrs.clone(),
                    }),
                    None if expected_version.is_some() => {
                        // Tell a lost race from a deleted user.
                        self.get_user(tenant, id).await?;
                        Err(StoreError::Stale)
                    }
                    None => Err(StoreError::NotFound),
                }
            }

            async fn delete_user(&self, tenant: &Tenant, id: &str) -> Result<()> {
                let done = sqlx::query("DELETE FROM users WHERE tenant_id = $1 AND id = $2")
                    .bind(&tenant.tenant_id)
                    .bind(id)
                    .execute(&self.pool)
                    .await?;
                if done.rows_affected() == 0 {
                    return Err(StoreError::NotFound);
                }
                Ok(())
            }

            async fn user_exists(&self, tenant: &Tenant, id: &str) -> Result<bool> {
                let row = sqlx::query("SELECT 1 AS one FROM users WHERE tenant_id = $1 AND id = $2")
                    .bind(&tenant.tenant_id)
                    .bind(id)
                    .fetch_optional(&self.pool)
                    .await?;
                Ok(row.is_some())
            }

            async fn create_group(
                &self,
                tenant: &Tenant,
                attrs: &GroupAttrs,
                members: &[String],
                now_ms: i64,
            ) -> Result<GroupRecord> {
                let id = tenant.new_resource_id();
                let mut tx = self.pool.begin().await?;
                sqlx::query(
                    "INSERT INTO groups (tenant_id, id, display_name, display_name_lower, \
                     external_id, version, created_ms, modified_ms) \
                     VALUES ($1, $2, $3, $4, $5, 1, $6, $6)",
                )
                .bind(&tenant.tenant_id)
                .bind(&id)
                .bind(&attrs.display_name)
                .bind(attrs.display_name_key())
                .bind(&attrs.external_id)
                .bind(now_ms)
                .execute(&mut *tx)
                .await?;
                Self::insert_members(&mut tx, tenant, &id, members).await?;
                tx.commit().await?;
                Ok(GroupRecord {
                    id,
                    version: 1,
                    created_ms: now_ms,
                    modified_ms: now_ms,
                    attrs: attrs.clone(),
                })
            }

            async fn get_group(&self, tenant: &Tenant, id: &str) -> Result<GroupRecord> {
                let sql = format!("SELECT {GROUP_COLUMNS} FROM groups g WHERE g.tenant_id = $1 AND g.id = $2");
                let row = sqlx::query(&sql)
                    .bind(&tenant.tenant_id)
                    .bind(id)
                    .fetch_optional(&self.pool)
                    .await?
                    .ok_or(StoreError::NotFound)?;
                group_from_row(&row)
            }

            async fn list_groups(
                &self,
                tenant: &Tenant,
                query: &GroupQuery,
                args: ListArgs<'_>,
            ) -> Result<Page<GroupRecord>> {
                let mut qb = QueryBuilder::<$db>::new("SELECT ");
                qb.push(GROUP_COLUMNS);
                if args.with_total {
                    qb.push(", (SELECT COUNT(*)");
                    match query {
                        GroupQuery::Member(user) => {
                            qb.push(" FROM group_members m WHERE m.tenant_id = ");
                            qb.push_bind(&tenant.tenant_id);
                            qb.push(" AND m.user_id = ");
                            qb.push_bind(user);
                        }
                        _ => Self::group_source(&mut qb, tenant, query),
                    }
                    qb.push(") AS total");
                }
                Self::group_source(&mut qb, tenant, query);
                Self::push_page(&mut qb, "g", args);
                let rows = qb.build().fetch_all(&self.pool).await?;
                page_of(&rows, args, group_from_row)
            }

            async fn patch_group(
                &self,
                tenant: &Tenant,
                id: &str,
                change: GroupChange<'_>,
                now_ms: i64,
            ) -> Result<()> {
                let mut tx = self.pool.begin().await?;
                // A write first, so that SQLite takes its write lock at the start.
                let mut qb = QueryBuilder::<$db>::new("UPDATE groups SET version = version + 1, modified_ms = ");
                qb.push_bind(now_ms);
                if let Some((attrs, _)) = change.attrs {
                    qb.push(", display_name = ");
                    qb.push_bind(&attrs.display_name);
                    qb.push(", display_name_lower = ");
                    qb.push_bind(attrs.display_name_key());
                    qb.push(", external_id = ");
                    qb.push_bind(&attrs.external_id);
                }
                qb.push(" WHERE tenant_id = ");
                qb.push_bind(&tenant.tenant_id);
                qb.push(" AND id = ");
                qb.push_bind(id);
                if let Some((_, version)) = change.attrs {
                    qb.push(" AND version = ");
                    qb.push_bind(version);
                }
                if qb.build().execute(&mut *tx).await?.rows_affected() == 0 {
                    tx.rollback().await?;
                    if change.attrs.is_some() {
                        self.get_group(tenant, id).await?;
                        return Err(StoreError::Stale);
                    }
                    return Err(StoreError::NotFound);
                }
                let remove = &change.members.remove;
                if !remove.is_empty() {
                    let mut qb = QueryBuilder::<$db>::new("DELETE FROM group_members WHERE tenant_id = ");
                    qb.push_bind(&tenant.tenant_id);
                    qb.push(" AND group_id = ");
                    qb.push_bind(id);
                    qb.push(" AND user_id IN (");
                    let mut list = qb.separated(", ");
                    for user in remove {
                        list.push_bind(user);
                    }
                    qb.push(")");
                    qb.build().execute(&mut *tx).await?;
                }
                Self::insert_members(&mut tx, tenant, id, &change.members.add).await?;
                tx.commit().await?;
                Ok(())
            }

            async fn delete_group(&self, tenant: &Tenant, id: &str) -> Result<()> {
                let done = sqlx::query("DELETE FROM groups WHERE tenant_id = $1 AND id = $2")
                    .bind(&tenant.tenant_id)
                    .bind(id)
                    .execute(&self.pool)
                    .await?;
                if done.rows_affected() == 0 {
                    return Err(StoreError::NotFound);
                }
                Ok(())
            }

            async fn tenant_by_identity_store(&self, identity_store_id: &str) -> Result<Tenant> {
                let row = sqlx::query(
                    "SELECT tenant_id, identity_store_id, provisioning_enabled FROM tenants \
                     WHERE identity_store_id = $1",
                )
                .bind(identity_store_id)
                .fetch_optional(&self.pool)
                .await?
                .ok_or(StoreError::NotFound)?;
                tenant_from_row(&row)
            }

            async fn list_memberships(
                &self,
                tenant: &Tenant,
                query: MembershipQuery<'_>,
                args: ListArgs<'_>,
            ) -> Result<Page<Membership>> {
                let (by, order, key) = match query {
                    MembershipQuery::Group(group) => ("group_id", "user_id", group),
                    MembershipQuery::User(user) => ("user_id", "group_id", user),
                };
                let mut qb = QueryBuilder::<$db>::new(
                    "SELECT membership_id, group_id, user_id FROM group_members WHERE tenant_id = ",
                );
                qb.push_bind(&tenant.tenant_id);
                qb.push(format_args!(" AND {by} = "));
                qb.push_bind(key);
                if let Some(after) = args.after {
                    qb.push(format_args!(" AND {order} > "));
                    qb.push_bind(after);
                }
                qb.push(format_args!(" ORDER BY {order} LIMIT "));
                qb.push_bind(i64::from(args.limit) + 1);
                let rows = qb.build().fetch_all(&self.pool).await?;
                page_of(&rows, ListArgs { with_total: false, ..args }, membership_from_row)
            }

            async fn get_membership(&self, tenant: &Tenant, membership_id: &str) -> Result<Membership> {
                let row = sqlx::query(
                    "SELECT membership_id, group_id, user_id FROM group_members \
                     WHERE tenant_id = $1 AND membership_id = $2",
                )
                .bind(&tenant.tenant_id)
                .bind(membership_id)
                .fetch_optional(&self.pool)
                .await?
                .ok_or(StoreError::NotFound)?;
                membership_from_row(&row)
            }

            async fn find_membership(
                &self,
                tenant: &Tenant,
                group_id: &str,
                user_id: &str,
            ) -> Result<Membership> {
                let row = sqlx::query(
                    "SELECT membership_id, group_id, user_id FROM group_members \
                     WHERE tenant_id = $1 AND group_id = $2 AND user_id = $3",
                )
                .bind(&tenant.tenant_id)
                .bind(group_id)
                .bind(user_id)
                .fetch_optional(&self.pool)
                .await?
                .ok_or(StoreError::NotFound)?;
                membership_from_row(&row)
            }

            async fn add_membership(
                &self,
                tenant: &Tenant,
                group_id: &str,
                user_id: &str,
                now_ms: i64,
            ) -> Result<Membership> {
                let mut tx = self.pool.begin().await?;
                let touched = sqlx::query(
                    "UPDATE groups SET version = version + 1, modified_ms = $1 \
                     WHERE tenant_id = $2 AND id = $3",
                )
                .bind(now_ms)
                .bind(&tenant.tenant_id)
                .bind(group_id)
                .execute(&mut *tx)
                .await?;
                if touched.rows_affected() == 0 {
                    return Err(StoreError::NotFound);
                }
                let membership = Membership {
                    membership_id: tenant.new_resource_id(),
                    group_id: group_id.to_owned(),
                    user_id: user_id.to_owned(),
                };
                sqlx::query(
                    "INSERT INTO group_members (tenant_id, group_id, user_id, membership_id) \
                     VALUES ($1, $2, $3, $4)",
                )
                .bind(&tenant.tenant_id)
                .bind(group_id)
                .bind(user_id)
                .bind(&membership.membership_id)
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(membership)
            }

            async fn delete_membership(
                &self,
                tenant: &Tenant,
                membership_id: &str,
                now_ms: i64,
            ) -> Result<()> {
                let mut tx = self.pool.begin().await?;
                let row = sqlx::query(
                    "DELETE FROM group_members WHERE tenant_id = $1 AND membership_id = $2 \
                     RETURNING group_id",
                )
                .bind(&tenant.tenant_id)
                .bind(membership_id)
                .fetch_optional(&mut *tx)
                .await?
                .ok_or(StoreError::NotFound)?;
                let group_id: String = row.try_get("group_id")?;
                sqlx::query(
                    "UPDATE groups SET version = version + 1, modified_ms = $1 \
                     WHERE tenant_id = $2 AND id = $3",
                )
                .bind(now_ms)
                .bind(&tenant.tenant_id)
                .bind(group_id)
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(())
            }
        }

        impl $store {
            /// `FROM ... WHERE ...` of a user list: the rows the query selects.
            fn user_source<'a>(qb: &mut QueryBuilder<'a, $db>, tenant: &'a Tenant, query: &'a UserQuery) {
                qb.push(" FROM users u");
                if let UserQuery::Group(group) = query {
                    qb.push(" JOIN group_members m ON m.tenant_id = u.tenant_id AND m.user_id = u.id AND m.group_id = ");
                    qb.push_bind(group);
                }
                qb.push(" WHERE u.tenant_id = ");
                qb.push_bind(&tenant.tenant_id);
                match query {
                    UserQuery::All | UserQuery::Group(_) => {}
                    UserQuery::UserName(name) => {
                        qb.push(" AND u.user_name_lower = ");
                        qb.push_bind(name.to_lowercase());
                    }
                    UserQuery::ExternalId(ext) => {
                        qb.push(" AND u.external_id = ");
                        qb.push_bind(ext);
                    }
                    UserQuery::Email(email) => {
                        qb.push(" AND u.email_lower = ");
                        qb.push_bind(email.to_lowercase());
                    }
                    UserQuery::Id(id) => {
                        qb.push(" AND u.id = ");
                        qb.push_bind(id);
                    }
                    UserQuery::IdAndManager { id, manager } => {
                        qb.push(" AND u.id = ");
                        qb.push_bind(id);
                        qb.push(" AND u.manager_id = ");
                        qb.push_bind(manager);
                    }
                }
            }

            /// `FROM ... WHERE ...` of a group list.
            fn group_source<'a>(qb: &mut QueryBuilder<'a, $db>, tenant: &'a Tenant, query: &'a GroupQuery) {
                qb.push(" FROM groups g");
                if let GroupQuery::Member(user) = query {
                    qb.push(" JOIN group_members m ON m.tenant_id = g.tenant_id AND m.group_id = g.id AND m.user_id = ");
                    qb.push_bind(user);
                }
                qb.push(" WHERE g.tenant_id = ");
                qb.push_bind(&tenant.tenant_id);
                match query {
                    GroupQuery::All | GroupQuery::Member(_) => {}
                    GroupQuery::DisplayName(name) => {
                        qb.push(" AND g.display_name_lower = ");
                        qb.push_bind(name.to_lowercase());
                    }
                    GroupQuery::ExternalId(ext) => {
                        qb.push(" AND g.external_id = ");
                        qb.push_bind(ext);
                    }
                    GroupQuery::Id(id) => {
                        qb.push(" AND g.id = ");
                        qb.push_bind(id);
                    }
                    GroupQuery::IdAndMember { id, member } => {
                        qb.push(" AND g.id = ");
                        qb.push_bind(id);
                        qb.push(" AND EXISTS (SELECT 1 FROM group_members m WHERE m.tenant_id = g.tenant_id AND m.group_id = g.id AND m.user_id = ");
                        qb.push_bind(member);
                        qb.push(")");
                    }
                }
            }

            /// Keyset paging: rows after the cursor's id, in id order, one more than the page
            /// holds to tell whether more follow.
            fn push_page<'a>(qb: &mut QueryBuilder<'a, $db>, alias: &str, args: ListArgs<'a>) {
                if let Some(after) = args.after {
                    qb.push(format_args!(" AND {alias}.id > "));
                    qb.push_bind(after);
                }
                qb.push(format_args!(" ORDER BY {alias}.id LIMIT "));
                qb.push_bind(i64::from(args.limit) + 1);
            }

            /// Adds members; existing ones are kept, an id that is no user of the tenant
            /// breaks the foreign key (`StoreError::MemberNotFound`).
            async fn insert_members(
                tx: &mut sqlx::Transaction<'_, $db>,
                tenant: &Tenant,
                group_id: &str,
                users: &[String],
            ) -> Result<()> {
                if users.is_empty() {
                    return Ok(());
                }
                let mut qb = QueryBuilder::<$db>::new("INSERT INTO group_members (tenant_id, group_id, user_id, membership_id) ");
                qb.push_values(users, |mut row, user| {
                    row.push_bind(&tenant.tenant_id)
                        .push_bind(group_id)
                        .push_bind(user)
                        .push_bind(tenant.new_resource_id());
                });
                qb.push(" ON CONFLICT DO NOTHING");
                qb.build().execute(&mut **tx).await?;
                Ok(())
            }
        }
    };
}

sql_store!(PgStore, sqlx::Postgres);
sql_store!(SqliteStore, sqlx::Sqlite);
