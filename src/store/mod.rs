//! Persistence: one `Store` trait with domain verbs, implemented for PostgreSQL and SQLite by
//! the same SQL (`sql/`; IAM Identity Center's account access in `ssoadmin.rs`, sign-in in
//! `signin.rs`, the AWS access keys in `access_keys.rs`, each a trait of its own). The store
//! never sees HTTP; filters reach it in the allow-listed form of `scim::query`, and every value
//! is a bound parameter. Writers of one resource are ordered by the store, never turned away:
//! see `Store::edit_user` and `Store::change_members`. What authenticates a request (tokens,
//! access keys, tenants) is answered from memory, kept right across processes:
//! `auth_cache.rs`. Reads of one user and new users that come together go to the database
//! together, one statement for many: `sql/batch.rs`.

mod access_keys;
mod auth_cache;
mod signin;
mod sql;
mod sqlite_file;
mod ssoadmin;

use std::future::Future;
use std::sync::Arc;

use async_trait::async_trait;

use crate::scim::group::{GroupAttrs, MemberChanges};
use crate::scim::query::{GroupQuery, UserQuery};
use crate::scim::user::UserAttrs;

pub use access_keys::{AccessKeyInfo, AccessKeyOwner, AccessKeyStore};
pub use signin::{
    AuthorizationKey, AuthorizationRecord, AuthorizationStatus, ClientRecord, Decision, Flow,
    SessionRecord, SignInStore, TokenKey, TokenRecord,
};
pub use sql::{
    ACQUIRE_TIMEOUT, Kept, KeptConn, PG_CONNECTIONS, PgStore, SQLITE_READERS, SqliteStore,
    count_connection_failure, pg_connections, sqlite_options, sqlite_readers,
};
pub use ssoadmin::{
    AccountRecord, AssignmentQuery, OperationRecord, PermissionSetChange, PermissionSetRecord,
    ProvisionQuery, SsoAdminStore,
};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    /// A write would break a unique constraint.
    #[error("conflict on {0:?}")]
    Conflict(Constraint),
    /// A limit on stored rows (the tokens of a tenant) would be exceeded.
    #[error("limit reached")]
    LimitReached,
    /// A member id names no user of the tenant (nor, where members may be groups, a group);
    /// an assignment's account or principal is not (or no longer) there.
    #[error("member not found")]
    MemberNotFound,
    /// A group would become a member of itself, directly or through its members.
    #[error("membership loop")]
    MemberLoop,
    /// A row cannot be deleted while others refer to it: a permission set while it is
    /// assigned.
    #[error("in use")]
    InUse,
    /// The write could not be ordered with concurrent writes in time (the database is busy
    /// beyond its timeouts); the client may retry it.
    #[error("contended")]
    Contended,
    #[error("database error")]
    Database(#[source] sqlx::Error),
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// What a unique constraint of the schema keeps unique.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Constraint {
    /// A tenant's ids: its tenant id and its identity store id.
    TenantId,
    /// There is one default tenant.
    DefaultTenant,
    TokenId,
    TokenHash,
    AccessKeyId,
    UserId,
    /// `userName`, case-insensitively, per tenant.
    UserName,
    /// The primary email, case-insensitively, per tenant.
    Email,
    GroupId,
    /// `displayName`, case-insensitively, per tenant.
    GroupDisplayName,
    /// A user is a member of a group once.
    Membership,
    MembershipId,
    /// A group is a member of a group once.
    Subgroup,
    /// A tenant's instance has one name.
    InstanceName,
    /// An account is declared once per tenant.
    AccountId,
    PermissionSetId,
    /// A permission set's name, case-insensitively, per tenant.
    PermissionSetName,
    /// A managed policy is attached to a permission set once.
    AttachedPolicy,
    /// A resource has a tag key once.
    TagKey,
    /// A principal is assigned an account with a permission set once.
    Assignment,
    /// A permission set is provisioned to an account once.
    Provision,
    OperationId,
    /// The random ids, codes and secret hashes of sign-in (clients, authorizations, user
    /// codes, tokens, sessions): unique by chance, so a conflict asks for new ones.
    SignInKey,
}

/// The unique indexes and primary keys of the schema: the name both migrations give each
/// (PostgreSQL reports it), its columns as SQLite's message lists them, and what it keeps
/// unique.
const UNIQUE_INDEXES: [(&str, &str, Constraint); 33] = [
    ("tenants_pkey", "tenants.tenant_id", Constraint::TenantId),
    (
        "tenants_identity_store_id_key",
        "tenants.identity_store_id",
        Constraint::TenantId,
    ),
    (
        "tenants_default_key",
        "tenants.is_default",
        Constraint::DefaultTenant,
    ),
    ("tokens_pkey", "tokens.token_id", Constraint::TokenId),
    (
        "tokens_token_hash_key",
        "tokens.token_hash",
        Constraint::TokenHash,
    ),
    (
        "access_keys_pkey",
        "access_keys.access_key_id",
        Constraint::AccessKeyId,
    ),
    (
        "users_pkey",
        "users.tenant_id, users.id",
        Constraint::UserId,
    ),
    (
        "users_user_name_key",
        "users.tenant_id, users.user_name_lower",
        Constraint::UserName,
    ),
    (
        "users_email_key",
        "users.tenant_id, users.email_lower",
        Constraint::Email,
    ),
    (
        "groups_pkey",
        "groups.tenant_id, groups.id",
        Constraint::GroupId,
    ),
    (
        "groups_display_name_key",
        "groups.tenant_id, groups.display_name_lower",
        Constraint::GroupDisplayName,
    ),
    (
        "group_members_pkey",
        "group_members.tenant_id, group_members.group_id, group_members.user_id",
        Constraint::Membership,
    ),
    (
        "group_members_membership_id_key",
        "group_members.tenant_id, group_members.membership_id",
        Constraint::MembershipId,
    ),
    (
        "group_subgroups_pkey",
        "group_subgroups.tenant_id, group_subgroups.group_id, group_subgroups.member_group_id",
        Constraint::Subgroup,
    ),
    (
        "sso_instances_pkey",
        "sso_instances.tenant_id",
        Constraint::InstanceName,
    ),
    (
        "accounts_pkey",
        "accounts.tenant_id, accounts.account_id",
        Constraint::AccountId,
    ),
    (
        "permission_sets_pkey",
        "permission_sets.tenant_id, permission_sets.id",
        Constraint::PermissionSetId,
    ),
    (
        "permission_sets_name_key",
        "permission_sets.tenant_id, permission_sets.name_lower",
        Constraint::PermissionSetName,
    ),
    (
        "permission_set_policies_pkey",
        "permission_set_policies.tenant_id, permission_set_policies.permission_set_id, \
         permission_set_policies.kind, permission_set_policies.reference",
        Constraint::AttachedPolicy,
    ),
    (
        "sso_tags_pkey",
        "sso_tags.tenant_id, sso_tags.resource_id, sso_tags.tag_key",
        Constraint::TagKey,
    ),
    (
        "account_assignments_pkey",
        "account_assignments.tenant_id, account_assignments.account_id, \
         account_assignments.permission_set_id, account_assignments.principal_type, \
         account_assignments.principal_id",
        Constraint::Assignment,
    ),
    (
        "permission_set_provisions_pkey",
        "permission_set_provisions.tenant_id, permission_set_provisions.permission_set_id, \
         permission_set_provisions.account_id",
        Constraint::Provision,
    ),
    (
        "sso_operations_pkey",
        "sso_operations.tenant_id, sso_operations.request_id",
        Constraint::OperationId,
    ),
    (
        "user_passwords_pkey",
        "user_passwords.tenant_id, user_passwords.user_id",
        Constraint::SignInKey,
    ),
    (
        "oidc_clients_pkey",
        "oidc_clients.client_id",
        Constraint::SignInKey,
    ),
    (
        "oidc_authorizations_pkey",
        "oidc_authorizations.authorization_id",
        Constraint::SignInKey,
    ),
    (
        "oidc_authorizations_device_code_key",
        "oidc_authorizations.device_code_hash",
        Constraint::SignInKey,
    ),
    (
        "oidc_authorizations_user_code_key",
        "oidc_authorizations.tenant_id, oidc_authorizations.user_code_hash",
        Constraint::SignInKey,
    ),
    (
        "oidc_authorizations_code_key",
        "oidc_authorizations.code_hash",
        Constraint::SignInKey,
    ),
    (
        "oidc_tokens_pkey",
        "oidc_tokens.token_id",
        Constraint::SignInKey,
    ),
    (
        "oidc_tokens_access_key",
        "oidc_tokens.access_token_hash",
        Constraint::SignInKey,
    ),
    (
        "oidc_tokens_refresh_key",
        "oidc_tokens.refresh_token_hash",
        Constraint::SignInKey,
    ),
    (
        "signin_sessions_pkey",
        "signin_sessions.session_hash",
        Constraint::SignInKey,
    ),
];

impl Constraint {
    /// The constraint a unique violation broke: PostgreSQL names the index, SQLite lists its
    /// columns in the message.
    fn of(db: &dyn sqlx::error::DatabaseError) -> Option<Self> {
        let columns = db.message().strip_prefix("UNIQUE constraint failed: ");
        UNIQUE_INDEXES
            .iter()
            .find(|(name, cols, _)| db.constraint() == Some(*name) || columns == Some(*cols))
            .map(|(_, _, constraint)| *constraint)
    }
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        // A broken connection is not given back to be used again.
        count_connection_failure(&e);
        if matches!(e, sqlx::Error::PoolTimedOut) {
            return Self::Contended;
        }
        let Some(db) = e.as_database_error() else {
            return Self::Database(e);
        };
        if is_contention(db) {
            return Self::Contended;
        }
        if db.is_foreign_key_violation() {
            // The foreign keys a request can break are those of a membership (its user) and of
            // an assignment (its account or principal); deleting an assigned permission set is
            // told apart where it is deleted.
            return Self::MemberNotFound;
        }
        match Constraint::of(db).filter(|_| db.is_unique_violation()) {
            Some(constraint) => Self::Conflict(constraint),
            None => Self::Database(e),
        }
    }
}

/// Whether writers got in each other's way: on PostgreSQL a serialization failure, a deadlock
/// or a lock not granted (SQLSTATE 40001, 40P01, 55P03); on SQLite a database that another
/// process kept locked beyond the busy timeout (SQLITE_BUSY, SQLITE_LOCKED, and their
/// extended codes).
fn is_contention(db: &dyn sqlx::error::DatabaseError) -> bool {
    let code = db.code();
    if db.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_some() {
        // The primary result code is the low byte of the extended one SQLite reports.
        code.and_then(|c| c.parse::<i32>().ok())
            .is_some_and(|c| matches!(c & 0xff, 5 | 6))
    } else {
        matches!(code.as_deref(), Some("40001" | "40P01" | "55P03"))
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
        let hex = crate::text::random_uuid().simple().to_string();
        Self {
            tenant_id: crate::text::random_uuid().to_string(),
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
        format!("{prefix}-{}", crate::text::random_uuid())
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

/// A user as stored, its attributes unparsed: `data` is the JSON that `UserAttrs` serialises
/// to (the store writes nothing else there), so that an answer that shows the attributes as
/// they are can copy it instead of parsing it and serialising it again.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredUser {
    pub id: String,
    pub version: i64,
    pub created_ms: i64,
    pub modified_ms: i64,
    pub data: String,
}

impl StoredUser {
    /// The user with its attributes parsed.
    pub fn parse(self) -> Result<UserRecord> {
        let attrs = serde_json::from_str(&self.data)
            .map_err(|e| StoreError::Database(sqlx::Error::Decode(Box::new(e))))?;
        Ok(UserRecord {
            id: self.id,
            version: self.version,
            created_ms: self.created_ms,
            modified_ms: self.modified_ms,
            attrs,
        })
    }
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

/// The edit of a read-modify-write of a user (`Store::edit_user`): the new attributes,
/// computed from the current record alone, or `None` to write nothing.
pub type UserEdit<'e> = dyn FnMut(&UserRecord) -> Option<UserAttrs> + Send + 'e;

/// The edit of a read-modify-write of a group (`Store::edit_group`): what to write, computed
/// from the current record (and its members, when they were asked for) alone, or `None` to
/// write nothing.
pub type GroupEdit<'e> =
    dyn FnMut(&GroupRecord, Option<&[String]>) -> Option<GroupUpdate> + Send + 'e;

/// What a read-modify-write of a group writes: its attributes and membership changes.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupUpdate {
    pub attrs: GroupAttrs,
    pub members: MemberChanges,
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

    /// The key a token names; `None` for a token this server did not make (keys are ids, of
    /// the Identity Store's characters).
    pub fn decode(token: &str) -> Option<String> {
        URL_SAFE_NO_PAD
            .decode(token)
            .ok()
            .and_then(|bytes| String::from_utf8(bytes).ok())
            .filter(|key| crate::text::Class::Identity.admits_all(key))
    }
}

/// Every row of a keyset listing, page after page: `fetch` is given where each page starts
/// (build its arguments with `ListArgs::scan`), `key` gives the key a row is paged by.
pub async fn all_pages<T, F, Fut>(fetch: F, key: impl Fn(&T) -> &str) -> Result<Vec<T>>
where
    F: FnMut(Option<String>) -> Fut,
    Fut: Future<Output = Result<Page<T>>>,
{
    all_pages_by(fetch, |row| key(row).to_owned()).await
}

/// `all_pages` for listings whose key is made of several columns (`sso::key_pair`).
pub async fn all_pages_by<T, F, Fut>(mut fetch: F, key: impl Fn(&T) -> String) -> Result<Vec<T>>
where
    F: FnMut(Option<String>) -> Fut,
    Fut: Future<Output = Result<Page<T>>>,
{
    let mut items = Vec::new();
    let mut after = None;
    loop {
        let page = fetch(after).await?;
        after = page.items.last().filter(|_| page.more).map(&key);
        items.extend(page.items);
        if after.is_none() {
            return Ok(items);
        }
    }
}

/// The store of everything; IAM Identity Center's account access is in `SsoAdminStore`,
/// sign-in in `SignInStore`, the tenants' AWS access keys in `AccessKeyStore`.
#[async_trait]
pub trait Store: SsoAdminStore + SignInStore + AccessKeyStore + Send + Sync + 'static {
    /// Answers when the database does.
    async fn ping(&self) -> Result<()>;
    /// Writes the uses of credentials not yet written, then closes the connections (SQLite
    /// checkpoints and removes its write-ahead log).
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
    /// not expired at `now_ms`. Records the use (to `LAST_USED_RESOLUTION_MS`, written in
    /// batches: `list_tokens` writes those not yet written first). Answered from memory once
    /// the token was seen, as `get_tenant` and `tenant_by_identity_store` are: see
    /// `auth_cache`.
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
    /// A tenant's tokens, each with its last use.
    async fn list_tokens(&self, tenant_id: &str) -> Result<Vec<TokenInfo>>;
    async fn delete_token(&self, tenant_id: &str, token_id: &str) -> Result<()>;

    async fn create_user(
        &self,
        tenant: &Tenant,
        attrs: &UserAttrs,
        now_ms: i64,
    ) -> Result<UserRecord>;
    async fn get_user(&self, tenant: &Tenant, id: &str) -> Result<UserRecord> {
        self.get_stored_user(tenant, id).await?.parse()
    }
    /// A user as stored (`StoredUser`).
    async fn get_stored_user(&self, tenant: &Tenant, id: &str) -> Result<StoredUser>;
    async fn list_users(
        &self,
        tenant: &Tenant,
        query: &UserQuery,
        args: ListArgs<'_>,
    ) -> Result<Page<UserRecord>> {
        let page = self.list_stored_users(tenant, query, args).await?;
        Ok(Page {
            items: page
                .items
                .into_iter()
                .map(StoredUser::parse)
                .collect::<Result<_>>()?,
            total: page.total,
            more: page.more,
        })
    }
    /// Users as stored (`StoredUser`).
    async fn list_stored_users(
        &self,
        tenant: &Tenant,
        query: &UserQuery,
        args: ListArgs<'_>,
    ) -> Result<Page<StoredUser>>;
    /// Read-modify-write of a user: `edit` gets the current record and gives the attributes
    /// to write as the next version. Concurrent edits of one user run one after another, each
    /// on the record the one before wrote, so none is lost or turned away. The edit may run
    /// twice (first on a record read without a lock; again, the user locked, if another write
    /// came between), so it must be quick and pure, and only its last answer counts. `None`
    /// from it writes nothing and answers `None`. Callers use `<dyn Store>::update_user`, which gives the edit an error type of its
    /// own.
    async fn edit_user(
        &self,
        tenant: &Tenant,
        id: &str,
        now_ms: i64,
        edit: &mut UserEdit<'_>,
    ) -> Result<Option<UserRecord>>;
    /// Deletes a user and, by cascade, their memberships.
    async fn delete_user(&self, tenant: &Tenant, id: &str) -> Result<()>;
    /// Whether a user exists.
    async fn user_exists(&self, tenant: &Tenant, id: &str) -> Result<bool>;

    /// Creates a group with its first members, `members.add` (`StoreError::MemberNotFound` if
    /// one is not a user, or a group where `members.nested`), in one transaction.
    async fn create_group(
        &self,
        tenant: &Tenant,
        attrs: &GroupAttrs,
        members: &MemberChanges,
        now_ms: i64,
    ) -> Result<GroupRecord>;
    async fn get_group(&self, tenant: &Tenant, id: &str) -> Result<GroupRecord>;
    async fn list_groups(
        &self,
        tenant: &Tenant,
        query: &GroupQuery,
        args: ListArgs<'_>,
    ) -> Result<Page<GroupRecord>>;
    /// Read-modify-write of a group, as `edit_user` for users: `edit` gets the current record,
    /// and its members (the ids of its users and member groups, in order) if `with_members`;
    /// its attributes and membership changes are written in one transaction. Callers use
    /// `<dyn Store>::update_group`.
    async fn edit_group(
        &self,
        tenant: &Tenant,
        id: &str,
        now_ms: i64,
        with_members: bool,
        edit: &mut GroupEdit<'_>,
    ) -> Result<Option<GroupRecord>>;
    /// Adds and removes members, in one transaction, without reading the group: membership
    /// changes commute. Adding a member twice or removing a non-member changes nothing; an id
    /// that is no user of the tenant (nor a group, where `changes.nested`) is
    /// `MemberNotFound`, a group that would become its own member `MemberLoop`, and then
    /// nothing is written. Answers the group as changed.
    async fn change_members(
        &self,
        tenant: &Tenant,
        id: &str,
        changes: &MemberChanges,
        now_ms: i64,
    ) -> Result<GroupRecord>;
    /// Deletes a group and, by cascade, its memberships.
    async fn delete_group(&self, tenant: &Tenant, id: &str) -> Result<()>;

    /// Every (group, member group) pair of a tenant, in that order: the nesting of its groups.
    async fn list_subgroups(&self, tenant: &Tenant) -> Result<Vec<(String, String)>>;

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
    /// `Conflict(Constraint::Membership)` if the user is a member already.
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

/// The typed face of the read-modify-writes: the edit answers with an error of the caller's
/// own, and an edit that refuses makes the answer `Ok(Err(refusal))`, with nothing written.
impl dyn Store {
    pub async fn update_user<E: Send>(
        &self,
        tenant: &Tenant,
        id: &str,
        now_ms: i64,
        mut edit: impl FnMut(&UserRecord) -> Result<UserAttrs, E> + Send,
    ) -> Result<Result<UserRecord, E>> {
        let mut refusal = Refusal(None);
        let written = self
            .edit_user(tenant, id, now_ms, &mut |current| {
                refusal.keep(edit(current))
            })
            .await?;
        Ok(refusal.outcome(written))
    }

    pub async fn update_group<E: Send>(
        &self,
        tenant: &Tenant,
        id: &str,
        now_ms: i64,
        with_members: bool,
        mut edit: impl FnMut(&GroupRecord, Option<&[String]>) -> Result<GroupUpdate, E> + Send,
    ) -> Result<Result<GroupRecord, E>> {
        let mut refusal = Refusal(None);
        let written = self
            .edit_group(tenant, id, now_ms, with_members, &mut |current, members| {
                refusal.keep(edit(current, members))
            })
            .await?;
        Ok(refusal.outcome(written))
    }
}

/// Why the edit of a read-modify-write refused, kept for its caller.
struct Refusal<E>(Option<E>);

impl<E> Refusal<E> {
    fn keep<T>(&mut self, edited: Result<T, E>) -> Option<T> {
        edited.map_err(|e| self.0 = Some(e)).ok()
    }

    /// The answer: the record written, or the refusal when nothing was.
    fn outcome<R>(self, written: Option<R>) -> Result<R, E> {
        match (written, self.0) {
            (Some(record), _) => Ok(record),
            (None, Some(refusal)) => Err(refusal),
            (None, None) => unreachable!("a store writes nothing only when the edit refuses"),
        }
    }
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

#[cfg(test)]
mod tests {
    use super::UNIQUE_INDEXES;

    /// Every unique index and primary key of the migrations is a `Constraint`: a violation of
    /// one that is not would be reported as a database failure.
    #[test]
    fn every_unique_constraint_of_the_schema_is_known() {
        let known = |name: &str| UNIQUE_INDEXES.iter().any(|(index, _, _)| *index == name);
        let root = concat!(env!("CARGO_MANIFEST_DIR"), "/migrations");
        for backend in ["postgres", "sqlite"] {
            for file in std::fs::read_dir(format!("{root}/{backend}")).unwrap() {
                let sql = std::fs::read_to_string(file.unwrap().path()).unwrap();
                let first_word = |rest: &str| rest.split_whitespace().next().unwrap().to_owned();
                for index in sql.split("CREATE UNIQUE INDEX ").skip(1).map(first_word) {
                    assert!(known(&index), "{backend}: {index}");
                }
                for table in sql.split("CREATE TABLE ").skip(1) {
                    let name = first_word(table);
                    if table.split(';').next().unwrap().contains("PRIMARY KEY") {
                        assert!(known(&format!("{name}_pkey")), "{backend}: {name}");
                    }
                }
            }
        }
    }
}
