//! Persistence: one `Store` trait with domain verbs, implemented for PostgreSQL and SQLite by
//! the same SQL (`sql.rs`; IAM Identity Center's account access in `ssoadmin.rs`). The store
//! never sees HTTP; filters reach it in the allow-listed form of `scim::query`, and every value
//! is a bound parameter.

mod sql;
mod ssoadmin;

use std::future::Future;
use std::sync::Arc;

use async_trait::async_trait;

use crate::scim::group::{GroupAttrs, MemberChanges};
use crate::scim::query::{GroupQuery, UserQuery};
use crate::scim::user::UserAttrs;

pub use sql::{PgStore, SqliteStore};
pub use ssoadmin::{
    AccountRecord, AssignmentQuery, OperationRecord, PermissionSetChange, PermissionSetRecord,
    ProvisionQuery, SsoAdminStore,
};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    /// A unique constraint: `field` is the SCIM attribute that collided.
    #[error("conflict on {field}")]
    Conflict { field: &'static str },
    /// A limit on stored rows (the tokens of a tenant) would be exceeded.
    #[error("limit reached")]
    LimitReached,
    /// A member id names no user of the tenant.
    #[error("member not found")]
    MemberNotFound,
    /// The row changed since it was read (optimistic concurrency); the caller retries.
    #[error("the row changed concurrently")]
    Stale,
    #[error("database error")]
    Database(#[source] sqlx::Error),
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// How often a PATCH is re-applied when another writer changed the resource in between.
pub const PATCH_ATTEMPTS: usize = 8;

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        if e.as_database_error()
            .is_some_and(|db| db.is_foreign_key_violation())
        {
            // The only foreign keys a request can break are those of memberships.
            return Self::MemberNotFound;
        }
        if let Some(db) = e.as_database_error()
            && db.is_unique_violation()
        {
            // PostgreSQL names the constraint; SQLite names the columns in its message. The
            // index and column names are the same on both backends.
            let what = db.constraint().unwrap_or_else(|| db.message()).to_owned();
            for (needle, field) in [
                ("group_members", "membership"),
                ("tenants", "tenantId"),
                ("user_name", "userName"),
                ("email", "emails"),
                ("display_name", "displayName"),
            ] {
                if what.contains(needle) {
                    return Self::Conflict { field };
                }
            }
        }
        Self::Database(e)
    }
}

/// An identity store (an IAM Identity Center instance) with its own SCIM endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tenant {
    /// The path segment of the SCIM endpoint: `/{tenant_id}/scim/v2/`.
    pub tenant_id: String,
    /// `d-` and 10 hex digits.
    pub identity_store_id: String,
    pub provisioning_enabled: bool,
}

impl Tenant {
    /// A new tenant with fresh ids.
    pub fn generate() -> Self {
        let hex = uuid::Uuid::new_v4().simple().to_string();
        Self {
            tenant_id: uuid::Uuid::new_v4().to_string(),
            identity_store_id: format!("d-{}", &hex[..10]),
            provisioning_enabled: true,
        }
    }

    /// A new resource id in AWS's form: the identity store's 10 hex digits, `-`, a UUID.
    pub fn new_resource_id(&self) -> String {
        let prefix = self
            .identity_store_id
            .strip_prefix("d-")
            .unwrap_or(&self.identity_store_id);
        format!("{prefix}-{}", uuid::Uuid::new_v4())
    }
}

/// A tenant as the administration lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantInfo {
    pub tenant: Tenant,
    pub is_default: bool,
    pub created_ms: i64,
}

/// An access token as the console lists it: never its secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenInfo {
    pub token_id: String,
    pub created_ms: i64,
    pub expires_ms: i64,
    pub last_used_ms: Option<i64>,
}

/// How stale `last_used_ms` may get before a request records its use: a write per request
/// would cost more than the request.
pub const LAST_USED_RESOLUTION_MS: i64 = 60_000;

/// A stored user.
#[derive(Debug, Clone, PartialEq)]
pub struct UserRecord {
    pub id: String,
    pub version: i64,
    pub created_ms: i64,
    pub modified_ms: i64,
    pub attrs: UserAttrs,
}

/// A stored group. Its members are kept apart and never loaded with it.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupRecord {
    pub id: String,
    pub version: i64,
    pub created_ms: i64,
    pub modified_ms: i64,
    pub attrs: GroupAttrs,
}

/// What a PatchGroup writes: new attributes (if the patch changes any, with the version they
/// were computed from) and membership changes.
#[derive(Debug, Clone, Copy)]
pub struct GroupChange<'a> {
    pub attrs: Option<(&'a GroupAttrs, i64)>,
    pub members: &'a MemberChanges,
}

/// A user's membership of a group, with the id the Identity Store API gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Membership {
    pub membership_id: String,
    pub group_id: String,
    pub user_id: String,
}

/// Which memberships to list: a group's (in user id order) or a user's (in group id order).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MembershipQuery<'a> {
    Group(&'a str),
    User(&'a str),
}

impl Membership {
    /// The id a listing of `query` is ordered and paged by.
    pub fn key(&self, query: MembershipQuery<'_>) -> &str {
        match query {
            MembershipQuery::Group(_) => &self.user_id,
            MembershipQuery::User(_) => &self.group_id,
        }
    }
}

/// One page of a list, in id order.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// The number of matching rows, when asked for.
    pub total: Option<i64>,
    /// Whether rows follow the last item.
    pub more: bool,
}

impl<T> Page<T> {
    /// Where the next page starts: the key of the last item, when more rows follow.
    pub fn next_after<'p>(&'p self, key: impl Fn(&'p T) -> &'p str) -> Option<&'p str> {
        if self.more {
            self.items.last().map(key)
        } else {
            None
        }
    }
}

/// A list request: at most `limit` rows with an id greater than `after`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ListArgs<'a> {
    pub limit: u32,
    pub after: Option<&'a str>,
    pub with_total: bool,
}

/// The page size of listings that walk a whole table.
pub const FULL_SCAN_PAGE: u32 = 100;

impl<'a> ListArgs<'a> {
    /// One page of a walk through every row: `FULL_SCAN_PAGE` rows after `after`, no total.
    pub fn scan(after: Option<&'a str>) -> Self {
        Self {
            limit: FULL_SCAN_PAGE,
            after,
            with_total: false,
        }
    }
}

/// The opaque tokens that continue a listing (SCIM's `cursor`, the Identity Store API's
/// `NextToken`): the key of the last row, base64url-encoded. They hold no server state, so any
/// instance can continue a listing another one started.
pub mod keyset {
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;

    pub fn encode(last_key: &str) -> String {
        URL_SAFE_NO_PAD.encode(last_key)
    }

    /// The key a token names; `None` for a token this server did not make.
    pub fn decode(token: &str) -> Option<String> {
        URL_SAFE_NO_PAD
            .decode(token)
            .ok()
            .and_then(|bytes| String::from_utf8(bytes).ok())
    }
}

/// Every row of a keyset listing, page after page: `fetch` is given where each page starts
/// (build its arguments with `ListArgs::scan`), `key` gives the key a row is paged by.
pub async fn all_pages<T, F, Fut>(mut fetch: F, key: impl Fn(&T) -> &str) -> Result<Vec<T>>
where
    F: FnMut(Option<String>) -> Fut,
    Fut: Future<Output = Result<Page<T>>>,
{
    let mut items = Vec::new();
    let mut after = None;
    loop {
        let page = fetch(after).await?;
        after = page.next_after(&key).map(str::to_owned);
        items.extend(page.items);
        if after.is_none() {
            return Ok(items);
        }
    }
}

#[async_trait]
/// The store of everything; IAM Identity Center's account access is in `SsoAdminStore`.
pub trait Store: SsoAdminStore + Send + Sync + 'static {
    /// Answers when the database does.
    async fn ping(&self) -> Result<()>;
    /// Closes the connections (SQLite checkpoints and removes its write-ahead log).
    async fn close(&self);
    /// The tenant served at `/scim/v2/`, created with `candidate`'s ids if there is none yet.
    async fn ensure_default_tenant(&self, candidate: &Tenant, now_ms: i64) -> Result<Tenant>;
    /// Stores a new tenant (`Conflict` if its ids are taken).
    async fn create_tenant(&self, tenant: &Tenant, now_ms: i64) -> Result<()>;
    async fn get_tenant(&self, tenant_id: &str) -> Result<TenantInfo>;
    async fn list_tenants(&self) -> Result<Vec<TenantInfo>>;
    /// Deletes a tenant with its users, groups and tokens.
    async fn delete_tenant(&self, tenant_id: &str) -> Result<()>;
    /// Deletes every user and group of a tenant (and so every membership); keeps its tokens.
    async fn clear_tenant(&self, tenant: &Tenant) -> Result<()>;
    async fn set_provisioning(&self, tenant_id: &str, enabled: bool) -> Result<()>;
    /// The tenant a stored token opens, if the token is known, belongs to `tenant_id` and has
    /// not expired at `now_ms`. Records the use (to `LAST_USED_RESOLUTION_MS`).
    async fn tenant_for_token(
        &self,
        tenant_id: &str,
        token_hash: &str,
        now_ms: i64,
    ) -> Result<Option<Tenant>>;
    /// Stores a token (only its hash), unless the tenant already has `max` tokens
    /// (`LimitReached`); the check and the insert are one transaction.
    async fn add_token(
        &self,
        tenant_id: &str,
        token: &TokenInfo,
        token_hash: &str,
        max: usize,
    ) -> Result<()>;
    async fn list_tokens(&self, tenant_id: &str) -> Result<Vec<TokenInfo>>;
    async fn delete_token(&self, tenant_id: &str, token_id: &str) -> Result<()>;

    async fn create_user(
        &self,
        tenant: &Tenant,
        attrs: &UserAttrs,
        now_ms: i64,
    ) -> Result<UserRecord>;
    async fn get_user(&self, tenant: &Tenant, id: &str) -> Result<UserRecord>;
    async fn list_users(
        &self,
        tenant: &Tenant,
        query: &UserQuery,
        args: ListArgs<'_>,
    ) -> Result<Page<UserRecord>>;
    /// Replaces a user's attributes; with `expected_version`, only if the row still has it
    /// (`StoreError::Stale` otherwise).
    async fn update_user(
        &self,
        tenant: &Tenant,
        id: &str,
        attrs: &UserAttrs,
        expected_version: Option<i64>,
        now_ms: i64,
    ) -> Result<UserRecord>;
    /// Deletes a user and, by cascade, their memberships.
    async fn delete_user(&self, tenant: &Tenant, id: &str) -> Result<()>;
    /// Whether a user exists.
    async fn user_exists(&self, tenant: &Tenant, id: &str) -> Result<bool>;

    /// Creates a group with its first members (`StoreError::MemberNotFound` if one is not a
    /// user), in one transaction.
    async fn create_group(
        &self,
        tenant: &Tenant,
        attrs: &GroupAttrs,
        members: &[String],
        now_ms: i64,
    ) -> Result<GroupRecord>;
    async fn get_group(&self, tenant: &Tenant, id: &str) -> Result<GroupRecord>;
    async fn list_groups(
        &self,
        tenant: &Tenant,
        query: &GroupQuery,
        args: ListArgs<'_>,
    ) -> Result<Page<GroupRecord>>;
    /// Applies a PatchGroup in one transaction. Adding a member twice or removing a
    /// non-member changes nothing; `Stale` if the attributes' version moved on.
    async fn patch_group(
        &self,
        tenant: &Tenant,
        id: &str,
        change: GroupChange<'_>,
        now_ms: i64,
    ) -> Result<()>;
    /// Deletes a group and, by cascade, its memberships.
    async fn delete_group(&self, tenant: &Tenant, id: &str) -> Result<()>;

    /// The tenant of an identity store id (`d-...`).
    async fn tenant_by_identity_store(&self, identity_store_id: &str) -> Result<Tenant>;
    /// Memberships of a group or of a user, keyset-paged by `Membership::key`.
    async fn list_memberships(
        &self,
        tenant: &Tenant,
        query: MembershipQuery<'_>,
        args: ListArgs<'_>,
    ) -> Result<Page<Membership>>;
    async fn get_membership(&self, tenant: &Tenant, membership_id: &str) -> Result<Membership>;
    async fn find_membership(
        &self,
        tenant: &Tenant,
        group_id: &str,
        user_id: &str,
    ) -> Result<Membership>;
    /// Adds one member: `NotFound` for an unknown group, `MemberNotFound` for an unknown user,
    /// `Conflict { field: "membership" }` if the user is a member already.
    async fn add_membership(
        &self,
        tenant: &Tenant,
        group_id: &str,
        user_id: &str,
        now_ms: i64,
    ) -> Result<Membership>;
    async fn delete_membership(
        &self,
        tenant: &Tenant,
        membership_id: &str,
        now_ms: i64,
    ) -> Result<()>;
}

/// Opens the store a URL names (`postgres://`, `postgresql://` or `sqlite:`) and migrates it.
pub async fn connect(url: &str) -> anyhow::Result<Arc<dyn Store>> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(Arc::new(PgStore::connect(url).await?))
    } else if url.starts_with("sqlite:") {
        Ok(Arc::new(SqliteStore::connect(url).await?))
    } else {
        anyhow::bail!("unsupported database URL (expected postgres://... or sqlite:...)")
    }
}
