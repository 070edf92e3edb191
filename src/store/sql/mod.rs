//! The SQL of the store, written once, generic over the backend (`dialect::Dialect`), for
//! PostgreSQL and SQLite.
//!
//! Both dialects accept `$n` placeholders, `RETURNING`, `ON CONFLICT DO NOTHING` and window
//! functions, and both migrations create the same tables and index names. Dynamic lists are
//! built with `QueryBuilder` and bound parameters: a filter value never becomes SQL text.

mod access_keys;
mod auth_cache;
mod batch;
mod connections;
mod dialect;
mod query;
mod signin;
mod ssoadmin;
mod user_creates;
mod user_reads;

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::postgres::PgConnectOptions;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
use sqlx::{ConnectOptions, Connection, Database, Postgres, QueryBuilder, Sqlite};

use self::connections::{Conn, Connections};
pub use self::connections::{Kept, KeptConn, Upkeep, count_connection_failure};
use self::dialect::{Bind, Dialect, Fields, Push, Run, Statement};
use self::query::{
    GROUP_COLUMNS, MEMBERSHIP_COLUMNS, TENANT_COLUMNS, USER_COLUMNS, get, group_from_row, list,
    membership_from_row, push_list, push_page, stored_user_from_row, tenant_from_row,
    tenant_info_from_row, user_data, user_from_row,
};
use self::user_creates::{NewUser, UserCreates};
use self::user_reads::{UserKey, UserReads};
use super::auth_cache::{AuthCache, Kind, TenantKey};
use super::{
    GroupEdit, GroupRecord, ListArgs, Membership, MembershipQuery, Page, Result, Store, StoreError,
    StoredUser, Tenant, TenantInfo, TokenInfo, UserEdit, UserRecord,
};
use crate::scim::group::{GroupAttrs, MemberChanges};
use crate::scim::query::{GroupQuery, UserQuery};
use crate::scim::user::UserAttrs;

/// The store on a database of backend `DB`.
///
/// Concurrent writes of one resource are ordered, never refused: a read-modify-write locks
/// the row it reads until it has written (`Dialect::LOCK_ROWS`) — a user's first tries a
/// write conditional on the version it read without a lock, and locks only if another write
/// came between — and membership changes are statements that commute. On SQLite every write
/// goes through one connection, so that writes queue in this process, in order, instead of
/// sleeping in SQLite's busy handler.
pub struct SqlStore<DB: Database> {
    /// For statements that only read.
    reads: Connections<DB>,
    /// For statements and transactions that write.
    writes: Connections<DB>,
    /// What authenticates whom (`store::auth_cache`).
    auth: Arc<AuthCache>,
    /// Taken by the one request that reads the count of changes for the others.
    auth_check: tokio::sync::Mutex<()>,
    /// The reads of one user, read together when they come together (`user_reads`).
    users: Arc<UserReads<DB>>,
    /// New users, written together when they come together (`user_creates`).
    creates: Arc<UserCreates<DB>>,
}

/// PostgreSQL, for deployments; several instances may share one database.
pub type PgStore = SqlStore<Postgres>;

/// SQLite, the embedded default.
pub type SqliteStore = SqlStore<Sqlite>;

/// How long a request waits for a connection before it is answered as contended.
pub const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(10);

/// What becomes of idle PostgreSQL connections: tested after 30 s, closed after 10 minutes.
const PG_UPKEEP: Upkeep = Upkeep {
    test_after: Duration::from_secs(30),
    close_after: Duration::from_secs(600),
};

/// The most connections to PostgreSQL, per server.
pub const PG_CONNECTIONS: u32 = 16;

/// The connections to PostgreSQL: up to `PG_CONNECTIONS`, each tested only after 30 s of
/// idleness and closed after 10 minutes of it (`PG_UPKEEP`). The benchmark's database floors
/// connect the same way.
pub async fn pg_connections(url: &str) -> Result<Arc<Kept<Postgres>>, sqlx::Error> {
    Kept::open(
        PgConnectOptions::from_str(url)?,
        PG_CONNECTIONS,
        Some(PG_UPKEEP),
    )
    .await
}

/// How a SQLite file is opened (its writer; the readers add `query_only`). The benchmark's
/// database floors open the server's file the same way.
pub fn sqlite_options(url: &str) -> Result<SqliteConnectOptions, sqlx::Error> {
    Ok(SqliteConnectOptions::from_str(url)?
        .create_if_missing(true)
        // In WAL mode with synchronous=NORMAL a commit is in the log (in the operating
        // system's cache) when it is acknowledged: it survives the process, if not the
        // machine.
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        // Only another process can hold the write lock: wait for it as long as for a
        // connection.
        .busy_timeout(ACQUIRE_TIMEOUT)
        .foreign_keys(true)
        // Readers that never pause keep the log from restarting; this bounds what a
        // checkpoint leaves of it on disk.
        .pragma("journal_size_limit", "67108864"))
}

/// The read-only connections to a SQLite file opened with `options` (`sqlite_options`): up
/// to `SQLITE_READERS`, never tested (a connection to a local file does not break). The
/// benchmark's database floors read the same way.
pub async fn sqlite_readers(
    options: SqliteConnectOptions,
) -> Result<Arc<Kept<Sqlite>>, sqlx::Error> {
    // A write on a reader would contend for the lock the writer holds.
    Kept::open(options.pragma("query_only", "ON"), SQLITE_READERS, None).await
}

/// The most read-only connections to a SQLite file.
pub const SQLITE_READERS: u32 = 8;

impl SqlStore<Postgres> {
    pub async fn connect(url: &str) -> anyhow::Result<Self> {
        let kept = pg_connections(url).await?;
        {
            let mut conn = kept.acquire(ACQUIRE_TIMEOUT).await?;
            sqlx::migrate!("migrations/postgres")
                .run(&mut *conn)
                .await?;
        }
        let store = Self::new(
            Connections::Kept(kept.clone()),
            Connections::Kept(kept.clone()),
        );
        let auth = Arc::downgrade(&store.auth);
        tokio::spawn(auth_cache::listen_for_changes(url.to_owned(), kept, auth));
        Ok(store)
    }
}

impl SqlStore<Sqlite> {
    /// Opens a database file with one writer connection and up to `SQLITE_READERS` readers; a
    /// database in memory (a database of its own for each connection) with one connection
    /// for both.
    pub async fn connect(url: &str) -> anyhow::Result<Self> {
        super::sqlite_file::create_private(url)?;
        let options = sqlite_options(url)?;
        let mut writer = options.connect().await?;
        sqlx::migrate!("migrations/sqlite").run(&mut writer).await?;
        let writes = Connections::one(writer);
        let in_memory = super::sqlite_file::in_memory(url);
        let reads = if in_memory {
            writes.share()
        } else {
            Connections::Kept(sqlite_readers(options).await?)
        };
        Ok(Self::new(reads, writes))
    }
}

impl<DB: Dialect> SqlStore<DB> {
    fn new(reads: Connections<DB>, writes: Connections<DB>) -> Self {
        Self {
            users: UserReads::new(reads.share()),
            creates: UserCreates::new(writes.share()),
            reads,
            writes,
            auth: Arc::default(),
            auth_check: tokio::sync::Mutex::new(()),
        }
    }

    /// `sqlx::query` on this store's backend.
    fn query(sql: &str) -> Statement<'_, '_, DB> {
        sqlx::query(sql)
    }

    /// Writes a user's new attributes over `current`, if it is still the version stored;
    /// whether it was.
    async fn update_user(
        conn: &mut DB::Connection,
        tenant: &Tenant,
        id: &str,
        attrs: &UserAttrs,
        current: &UserRecord,
        now_ms: i64,
    ) -> Result<bool> {
        let written = Self::query(
            "UPDATE users SET user_name = $1, user_name_lower = $2, external_id = $3, \
             email_lower = $4, manager_id = $5, data = $6, version = $7, modified_ms = $8 \
             WHERE tenant_id = $9 AND id = $10 AND version = $11",
        )
        .arg(&attrs.user_name)
        .arg(attrs.user_name_key())
        .arg(&attrs.external_id)
        .arg(attrs.email_key())
        .arg(attrs.manager_id())
        .arg(user_data(attrs))
        .arg(current.version + 1)
        .arg(now_ms)
        .arg(&tenant.tenant_id)
        .arg(id)
        .arg(current.version)
        .execute_in(conn)
        .await?;
        Ok(written == 1)
    }

    /// The record `update_user` wrote.
    fn edited(current: UserRecord, attrs: UserAttrs, now_ms: i64) -> UserRecord {
        UserRecord {
            version: current.version + 1,
            modified_ms: now_ms,
            attrs,
            ..current
        }
    }

    async fn read(&self) -> Result<Conn<'_, DB>> {
        self.reads.acquire(ACQUIRE_TIMEOUT).await
    }

    /// The connection for statements that write; a transaction on it begins with
    /// `Dialect::BEGIN_WRITE`.
    async fn write(&self) -> Result<Conn<'_, DB>> {
        self.writes.acquire(ACQUIRE_TIMEOUT).await
    }

    /// Adds and removes members; adding a member twice or removing a non-member changes
    /// nothing, an id that is no user of the tenant breaks the foreign key
    /// (`StoreError::MemberNotFound`). Where `changes.nested`, the ids of groups are member
    /// groups (`group_subgroups`), each checked for a loop first (`StoreError::MemberLoop`).
    async fn write_members(
        tx: &mut DB::Connection,
        tenant: &Tenant,
        group_id: &str,
        changes: &MemberChanges,
    ) -> Result<()> {
        let groups = if changes.nested {
            Self::groups_among(tx, tenant, &changes.add).await?
        } else {
            Vec::new()
        };
        let users: Vec<&String> = changes
            .add
            .iter()
            .filter(|id| !groups.contains(id))
            .collect();
        let tables: &[(&str, &str)] = if changes.nested {
            &[
                ("group_members", "user_id"),
                ("group_subgroups", "member_group_id"),
            ]
        } else {
            &[("group_members", "user_id")]
        };
        for (table, column) in tables {
            for chunk in changes.remove.chunks(MEMBERS_PER_STATEMENT) {
                let mut qb =
                    QueryBuilder::<DB>::new(format!("DELETE FROM {table} WHERE tenant_id = "));
                qb.push_arg(&tenant.tenant_id)
                    .push(" AND group_id = ")
                    .push_arg(group_id)
                    .push(format_args!(" AND {column} IN ("));
                push_list(&mut qb, chunk, |qb, member| {
                    qb.push_arg(member);
                });
                qb.push(")");
                qb.build().execute_in(tx).await?;
            }
        }
        if !groups.is_empty() {
            Self::add_member_groups(tx, tenant, group_id, &groups).await?;
        }
        for chunk in users.chunks(MEMBERS_PER_STATEMENT) {
            let mut qb = QueryBuilder::<DB>::new(
                "INSERT INTO group_members (tenant_id, group_id, user_id, membership_id) VALUES ",
            );
            push_list(&mut qb, chunk, |qb, user| {
                qb.push("(")
                    .push_arg(&tenant.tenant_id)
                    .push(", ")
                    .push_arg(group_id)
                    .push(", ")
                    .push_arg(user)
                    .push(", ")
                    .push_arg(tenant.new_resource_id())
                    .push(")");
            });
            qb.push(" ON CONFLICT DO NOTHING");
            qb.build().execute_in(tx).await?;
        }
        Ok(())
    }

    /// Which of `ids` name groups of the tenant.
    async fn groups_among(
        tx: &mut DB::Connection,
        tenant: &Tenant,
        ids: &[String],
    ) -> Result<Vec<String>> {
        let mut groups = Vec::new();
        for chunk in ids.chunks(MEMBERS_PER_STATEMENT) {
            let mut qb = QueryBuilder::<DB>::new("SELECT id FROM groups WHERE tenant_id = ");
            qb.push_arg(&tenant.tenant_id).push(" AND id IN (");
            push_list(&mut qb, chunk, |qb, id| {
                qb.push_arg(id);
            });
            qb.push(")");
            for row in qb.build().fetch_all_in(tx).await? {
                groups.push(row.field::<String>("id")?);
            }
        }
        Ok(groups)
    }

    /// Makes `members` member groups of `group_id`, unless one of them is the group or holds
    /// it, directly or through its own members. The nesting of a tenant's groups is locked
    /// while it is checked and written (the tenant's row, on PostgreSQL; SQLite has one
    /// writer), so that two requests cannot each close half of a loop.
    async fn add_member_groups(
        tx: &mut DB::Connection,
        tenant: &Tenant,
        group_id: &str,
        members: &[String],
    ) -> Result<()> {
        let lock = format!(
            "SELECT tenant_id FROM tenants WHERE tenant_id = $1{}",
            DB::LOCK_ROWS
        );
        Self::query(&lock)
            .arg(&tenant.tenant_id)
            .fetch_optional_in(&mut *tx)
            .await?;
        for member in members {
            let holds_group = Self::query(
                "WITH RECURSIVE below(id) AS ( \
                   SELECT member_group_id FROM group_subgroups \
                   WHERE tenant_id = $1 AND group_id = $2 \
                 UNION \
                   SELECT s.member_group_id FROM group_subgroups s JOIN below b \
                   ON s.group_id = b.id WHERE s.tenant_id = $1) \
                 SELECT id FROM below WHERE id = $3",
            )
            .arg(&tenant.tenant_id)
            .arg(member)
            .arg(group_id)
            .fetch_optional_in(&mut *tx)
            .await?;
            if member == group_id || holds_group.is_some() {
                return Err(StoreError::MemberLoop);
            }
            Self::query(
                "INSERT INTO group_subgroups (tenant_id, group_id, member_group_id) \
                 VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
            )
            .arg(&tenant.tenant_id)
            .arg(group_id)
            .arg(member)
            .execute_in(&mut *tx)
            .await?;
        }
        Ok(())
    }
}

/// The most members one statement adds or removes: AWS's 100 per request in one, and the
/// parameters of a larger `rfc` replacement within both backends' limits.
const MEMBERS_PER_STATEMENT: usize = 1000;

#[async_trait]
impl<DB: Dialect> Store for SqlStore<DB> {
    async fn ping(&self) -> Result<()> {
        let mut conn = self.read().await?;
        Self::query("SELECT 1").execute_in(&mut *conn).await?;
        Ok(())
    }

    async fn close(&self) {
        self.flush_uses().await;
        // The writer last: closing the last connection checkpoints SQLite's log.
        self.reads.close().await;
        self.writes.close().await;
    }

    async fn ensure_default_tenant(&self, candidate: &Tenant, now_ms: i64) -> Result<Tenant> {
        let mut conn = self.write().await?;
        Self::query(
            "INSERT INTO tenants (tenant_id, identity_store_id, is_default, provisioning_enabled, \
             created_ms) VALUES ($1, $2, TRUE, TRUE, $3) ON CONFLICT DO NOTHING",
        )
        .arg(&candidate.tenant_id)
        .arg(&candidate.identity_store_id)
        .arg(now_ms)
        .execute_in(&mut *conn)
        .await?;
        let sql = format!("SELECT {TENANT_COLUMNS} FROM tenants WHERE is_default");
        get(&mut *conn, Self::query(&sql), tenant_from_row::<DB>).await
    }

    async fn create_tenant(&self, tenant: &Tenant, now_ms: i64) -> Result<()> {
        let mut conn = self.write().await?;
        Self::query(
            "INSERT INTO tenants (tenant_id, identity_store_id, is_default, provisioning_enabled, \
             created_ms) VALUES ($1, $2, FALSE, $3, $4)",
        )
        .arg(&tenant.tenant_id)
        .arg(&tenant.identity_store_id)
        .arg(tenant.provisioning_enabled)
        .arg(now_ms)
        .execute_in(&mut *conn)
        .await?;
        Ok(())
    }

    async fn get_tenant(&self, tenant_id: &str) -> Result<TenantInfo> {
        self.tenant(TenantKey::Id, tenant_id).await
    }

    async fn list_tenants(&self) -> Result<Vec<TenantInfo>> {
        let mut conn = self.read().await?;
        let sql = format!("SELECT {TENANT_COLUMNS} FROM tenants ORDER BY created_ms, tenant_id");
        let rows = Self::query(&sql).fetch_all_in(&mut *conn).await?;
        rows.iter().map(tenant_info_from_row::<DB>).collect()
    }

    async fn delete_tenant(&self, tenant_id: &str) -> Result<()> {
        let mut conn = self.write().await?;
        let deleted = Self::query("DELETE FROM tenants WHERE tenant_id = $1")
            .arg(tenant_id)
            .execute_in(&mut *conn)
            .await;
        self.auth.invalidate();
        if deleted? == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    async fn clear_tenant(&self, tenant: &Tenant) -> Result<()> {
        let mut conn = self.write().await?;
        let mut tx = conn.begin_with(DB::BEGIN_WRITE).await?;
        for sql in [
            "DELETE FROM groups WHERE tenant_id = $1",
            "DELETE FROM users WHERE tenant_id = $1",
        ] {
            Self::query(sql)
                .arg(&tenant.tenant_id)
                .execute_in(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn set_provisioning(&self, tenant_id: &str, enabled: bool) -> Result<()> {
        let mut conn = self.write().await?;
        let updated =
            Self::query("UPDATE tenants SET provisioning_enabled = $1 WHERE tenant_id = $2")
                .arg(enabled)
                .arg(tenant_id)
                .execute_in(&mut *conn)
                .await;
        self.auth.invalidate();
        if updated? == 0 {
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
        let found = self
            .credential(Kind::Token, token_hash, now_ms, |token| {
                token.tenant.tenant_id == tenant_id
            })
            .await?;
        Ok(found.map(|token| token.tenant))
    }

    async fn add_token(
        &self,
        tenant_id: &str,
        token: &TokenInfo,
        token_hash: &str,
        max: usize,
    ) -> Result<()> {
        let insert = Self::query(
            "INSERT INTO tokens (token_id, tenant_id, token_hash, created_ms, expires_ms) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .arg(&token.token_id)
        .arg(tenant_id)
        .arg(token_hash)
        .arg(token.created_ms)
        .arg(token.expires_ms);
        self.insert_capped("tokens", tenant_id, max, insert).await
    }

    async fn list_tokens(&self, tenant_id: &str) -> Result<Vec<TokenInfo>> {
        self.flush_uses().await;
        let mut conn = self.read().await?;
        let rows = Self::query(
            "SELECT token_id, created_ms, expires_ms, last_used_ms FROM tokens \
             WHERE tenant_id = $1 ORDER BY created_ms, token_id",
        )
        .arg(tenant_id)
        .fetch_all_in(&mut *conn)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(TokenInfo {
                    token_id: row.field("token_id")?,
                    created_ms: row.field("created_ms")?,
                    expires_ms: row.field("expires_ms")?,
                    last_used_ms: row.field("last_used_ms")?,
                })
            })
            .collect()
    }

    async fn delete_token(&self, tenant_id: &str, token_id: &str) -> Result<()> {
        self.delete_credential("tokens", "token_id", tenant_id, token_id)
            .await
    }

    async fn create_user(
        &self,
        tenant: &Tenant,
        attrs: &UserAttrs,
        now_ms: i64,
    ) -> Result<UserRecord> {
        let id = tenant.new_resource_id();
        let row = NewUser::new(tenant, &id, attrs, now_ms);
        self.creates.create(row).await?;
        Ok(UserRecord {
            id,
            version: 1,
            created_ms: now_ms,
            modified_ms: now_ms,
            attrs: attrs.clone(),
        })
    }

    async fn get_stored_user(&self, tenant: &Tenant, id: &str) -> Result<StoredUser> {
        let key = UserKey::Id(id.to_owned());
        let found = self.users.read(&tenant.tenant_id, key).await?;
        found.ok_or(StoreError::NotFound)
    }

    async fn list_stored_users(
        &self,
        tenant: &Tenant,
        query: &UserQuery,
        args: ListArgs<'_>,
    ) -> Result<Page<StoredUser>> {
        // The lookup before a write: one user at most, read with the others that come along.
        if let (UserQuery::UserName(name), None, 1..) = (query, args.after, args.limit) {
            let key = UserKey::UserName(name.to_lowercase());
            let items: Vec<_> = self
                .users
                .read(&tenant.tenant_id, key)
                .await?
                .into_iter()
                .collect();
            let total = args.with_total.then_some(items.len() as i64);
            return Ok(Page {
                items,
                total,
                more: false,
            });
        }
        let mut conn = self.read().await?;
        let qb = query::users::<DB>(tenant, query, args);
        list(&mut *conn, qb, args, stored_user_from_row::<DB>).await
    }

    /// First without a lock: the user is read on a reader and written by one statement that
    /// applies only if its version is still the one read, a single round trip on the writer
    /// in the common case. If another write came between, the edit is made again on the
    /// writer, the row locked from its read to its write: a PATCH is never refused for a
    /// concurrent one.
    async fn edit_user(
        &self,
        tenant: &Tenant,
        id: &str,
        now_ms: i64,
        edit: &mut UserEdit<'_>,
    ) -> Result<Option<UserRecord>> {
        let current = self.get_user(tenant, id).await?;
        let Some(attrs) = edit(&current) else {
            return Ok(None);
        };
        let mut conn = self.write().await?;
        let written = Self::update_user(&mut conn, tenant, id, &attrs, &current, now_ms).await?;
        if written {
            return Ok(Some(Self::edited(current, attrs, now_ms)));
        }
        let mut tx = conn.begin_with(DB::BEGIN_WRITE).await?;
        let sql = format!(
            "SELECT {USER_COLUMNS} FROM users WHERE tenant_id = $1 AND id = $2{}",
            DB::LOCK_ROWS
        );
        let query = Self::query(&sql).arg(&tenant.tenant_id).arg(id);
        let current = get(&mut *tx, query, user_from_row::<DB>).await?;
        let Some(attrs) = edit(&current) else {
            return Ok(None);
        };
        Self::update_user(&mut tx, tenant, id, &attrs, &current, now_ms).await?;
        tx.commit().await?;
        Ok(Some(Self::edited(current, attrs, now_ms)))
    }

    async fn delete_user(&self, tenant: &Tenant, id: &str) -> Result<()> {
        let mut conn = self.write().await?;
        let deleted = Self::query("DELETE FROM users WHERE tenant_id = $1 AND id = $2")
            .arg(&tenant.tenant_id)
            .arg(id)
            .execute_in(&mut *conn)
            .await?;
        if deleted == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    async fn user_exists(&self, tenant: &Tenant, id: &str) -> Result<bool> {
        let mut conn = self.read().await?;
        let row = Self::query("SELECT 1 AS one FROM users WHERE tenant_id = $1 AND id = $2")
            .arg(&tenant.tenant_id)
            .arg(id)
            .fetch_optional_in(&mut *conn)
            .await?;
        Ok(row.is_some())
    }

    async fn create_group(
        &self,
        tenant: &Tenant,
        attrs: &GroupAttrs,
        members: &MemberChanges,
        now_ms: i64,
    ) -> Result<GroupRecord> {
        let id = tenant.new_resource_id();
        let mut conn = self.write().await?;
        let mut tx = conn.begin_with(DB::BEGIN_WRITE).await?;
        Self::query(
            "INSERT INTO groups (tenant_id, id, display_name, display_name_lower, \
             external_id, version, created_ms, modified_ms) \
             VALUES ($1, $2, $3, $4, $5, 1, $6, $6)",
        )
        .arg(&tenant.tenant_id)
        .arg(&id)
        .arg(&attrs.display_name)
        .arg(attrs.display_name_key())
        .arg(&attrs.external_id)
        .arg(now_ms)
        .execute_in(&mut *tx)
        .await?;
        Self::write_members(&mut *tx, tenant, &id, members).await?;
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
        let mut conn = self.read().await?;
        let sql = format!("SELECT {GROUP_COLUMNS} FROM groups WHERE tenant_id = $1 AND id = $2");
        let query = Self::query(&sql).arg(&tenant.tenant_id).arg(id);
        get(&mut *conn, query, group_from_row::<DB>).await
    }

    async fn list_groups(
        &self,
        tenant: &Tenant,
        query: &GroupQuery,
        args: ListArgs<'_>,
    ) -> Result<Page<GroupRecord>> {
        let mut conn = self.read().await?;
        let qb = query::groups::<DB>(tenant, query, args);
        list(&mut *conn, qb, args, group_from_row::<DB>).await
    }

    async fn edit_group(
        &self,
        tenant: &Tenant,
        id: &str,
        now_ms: i64,
        with_members: bool,
        edit: &mut GroupEdit<'_>,
    ) -> Result<Option<GroupRecord>> {
        let mut conn = self.write().await?;
        let mut tx = conn.begin_with(DB::BEGIN_WRITE).await?;
        let sql = format!(
            "SELECT {GROUP_COLUMNS} FROM groups WHERE tenant_id = $1 AND id = $2{}",
            DB::LOCK_ROWS
        );
        let query = Self::query(&sql).arg(&tenant.tenant_id).arg(id);
        let current = get(&mut *tx, query, group_from_row::<DB>).await?;
        // The group's lock keeps its members as they are read: every change of them locks
        // the group first.
        let members = if with_members {
            let rows = Self::query(
                "SELECT user_id AS id FROM group_members WHERE tenant_id = $1 AND group_id = $2 \
                 UNION ALL SELECT member_group_id FROM group_subgroups \
                 WHERE tenant_id = $1 AND group_id = $2 ORDER BY id",
            )
            .arg(&tenant.tenant_id)
            .arg(id)
            .fetch_all_in(&mut *tx)
            .await?;
            let ids = rows.iter().map(|row| row.field("id"));
            Some(ids.collect::<Result<Vec<String>, _>>()?)
        } else {
            None
        };
        let Some(update) = edit(&current, members.as_deref()) else {
            return Ok(None);
        };
        let version = current.version + 1;
        Self::query(
            "UPDATE groups SET display_name = $1, display_name_lower = $2, external_id = $3, \
             version = $4, modified_ms = $5 WHERE tenant_id = $6 AND id = $7",
        )
        .arg(&update.attrs.display_name)
        .arg(update.attrs.display_name_key())
        .arg(&update.attrs.external_id)
        .arg(version)
        .arg(now_ms)
        .arg(&tenant.tenant_id)
        .arg(id)
        .execute_in(&mut *tx)
        .await?;
        Self::write_members(&mut *tx, tenant, id, &update.members).await?;
        tx.commit().await?;
        Ok(Some(GroupRecord {
            version,
            modified_ms: now_ms,
            attrs: update.attrs,
            ..current
        }))
    }

    async fn change_members(
        &self,
        tenant: &Tenant,
        id: &str,
        changes: &MemberChanges,
        now_ms: i64,
    ) -> Result<GroupRecord> {
        let mut conn = self.write().await?;
        let mut tx = conn.begin_with(DB::BEGIN_WRITE).await?;
        let sql = format!(
            "UPDATE groups SET version = version + 1, modified_ms = $1 \
             WHERE tenant_id = $2 AND id = $3 RETURNING {GROUP_COLUMNS}"
        );
        let query = Self::query(&sql).arg(now_ms).arg(&tenant.tenant_id).arg(id);
        let record = get(&mut *tx, query, group_from_row::<DB>).await?;
        Self::write_members(&mut *tx, tenant, id, changes).await?;
        tx.commit().await?;
        Ok(record)
    }

    async fn delete_group(&self, tenant: &Tenant, id: &str) -> Result<()> {
        let mut conn = self.write().await?;
        let deleted = Self::query("DELETE FROM groups WHERE tenant_id = $1 AND id = $2")
            .arg(&tenant.tenant_id)
            .arg(id)
            .execute_in(&mut *conn)
            .await?;
        if deleted == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    async fn list_subgroups(&self, tenant: &Tenant) -> Result<Vec<(String, String)>> {
        let mut conn = self.read().await?;
        let rows = Self::query(
            "SELECT group_id, member_group_id FROM group_subgroups WHERE tenant_id = $1 \
             ORDER BY group_id, member_group_id",
        )
        .arg(&tenant.tenant_id)
        .fetch_all_in(&mut *conn)
        .await?;
        rows.iter()
            .map(|row| Ok((row.field("group_id")?, row.field("member_group_id")?)))
            .collect()
    }

    async fn tenant_by_identity_store(&self, identity_store_id: &str) -> Result<Tenant> {
        let info = self.tenant(TenantKey::IdentityStore, identity_store_id);
        Ok(info.await?.tenant)
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
        let mut qb = QueryBuilder::<DB>::new(format!(
            "SELECT {MEMBERSHIP_COLUMNS} FROM group_members WHERE tenant_id = "
        ));
        qb.push_arg(&tenant.tenant_id)
            .push(format_args!(" AND {by} = "))
            .push_arg(key);
        let args = ListArgs {
            with_total: false,
            ..args
        };
        push_page(&mut qb, order, args);
        let mut conn = self.read().await?;
        list(&mut *conn, qb, args, membership_from_row::<DB>).await
    }

    async fn get_membership(&self, tenant: &Tenant, membership_id: &str) -> Result<Membership> {
        let mut conn = self.read().await?;
        let sql = format!(
            "SELECT {MEMBERSHIP_COLUMNS} FROM group_members \
             WHERE tenant_id = $1 AND membership_id = $2"
        );
        let query = Self::query(&sql).arg(&tenant.tenant_id).arg(membership_id);
        get(&mut *conn, query, membership_from_row::<DB>).await
    }

    async fn find_membership(
        &self,
        tenant: &Tenant,
        group_id: &str,
        user_id: &str,
    ) -> Result<Membership> {
        let mut conn = self.read().await?;
        let sql = format!(
            "SELECT {MEMBERSHIP_COLUMNS} FROM group_members \
             WHERE tenant_id = $1 AND group_id = $2 AND user_id = $3"
        );
        let query = Self::query(&sql)
            .arg(&tenant.tenant_id)
            .arg(group_id)
            .arg(user_id);
        get(&mut *conn, query, membership_from_row::<DB>).await
    }

    async fn add_membership(
        &self,
        tenant: &Tenant,
        group_id: &str,
        user_id: &str,
        now_ms: i64,
    ) -> Result<Membership> {
        let mut conn = self.write().await?;
        let mut tx = conn.begin_with(DB::BEGIN_WRITE).await?;
        let touched = Self::query(
            "UPDATE groups SET version = version + 1, modified_ms = $1 \
             WHERE tenant_id = $2 AND id = $3",
        )
        .arg(now_ms)
        .arg(&tenant.tenant_id)
        .arg(group_id)
        .execute_in(&mut *tx)
        .await?;
        if touched == 0 {
            return Err(StoreError::NotFound);
        }
        let membership = Membership {
            membership_id: tenant.new_resource_id(),
            group_id: group_id.to_owned(),
            user_id: user_id.to_owned(),
        };
        Self::query(
            "INSERT INTO group_members (tenant_id, group_id, user_id, membership_id) \
             VALUES ($1, $2, $3, $4)",
        )
        .arg(&tenant.tenant_id)
        .arg(group_id)
        .arg(user_id)
        .arg(&membership.membership_id)
        .execute_in(&mut *tx)
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
        let mut conn = self.write().await?;
        let mut tx = conn.begin_with(DB::BEGIN_WRITE).await?;
        // The group first, as every change of members locks it.
        let touched = Self::query(
            "UPDATE groups SET version = version + 1, modified_ms = $1 \
             WHERE tenant_id = $2 AND id = (SELECT group_id FROM group_members \
             WHERE tenant_id = $2 AND membership_id = $3)",
        )
        .arg(now_ms)
        .arg(&tenant.tenant_id)
        .arg(membership_id)
        .execute_in(&mut *tx)
        .await?;
        let deleted =
            Self::query("DELETE FROM group_members WHERE tenant_id = $1 AND membership_id = $2")
                .arg(&tenant.tenant_id)
                .arg(membership_id)
                .execute_in(&mut *tx)
                .await?;
        if touched == 0 || deleted == 0 {
            return Err(StoreError::NotFound);
        }
        tx.commit().await?;
        Ok(())
    }
}
