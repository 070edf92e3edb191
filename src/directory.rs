//! A tenant's users and groups as the rooms that write them see them: store failures as the
//! SCIM errors AWS answers with (the SCIM endpoint and the console report them alike), what a
//! conflict took (`Taken`, for every room that writes tenants, users or groups), what every
//! room does alike to a user or a group (`Resource`), and the look-ups a person makes by name.

use async_trait::async_trait;

use crate::scim::ScimError;
use crate::scim::query::{GroupQuery, UserQuery};
use crate::store::{
    Constraint, GroupRecord, ListArgs, Page, Store, StoreError, Tenant, UserRecord,
};

/// A user or a group as the store keeps it: what the rooms do alike to either (read one, list
/// a page, delete one), so that a room writes such a step once for both.
#[async_trait]
pub trait Resource: Sized + Send + Sync {
    /// What a listing of this kind can ask for (`UserQuery`, `GroupQuery`).
    type Query: Send + Sync;

    fn id(&self) -> &str;
    /// The version a write increments (SCIM's ETag, the Identity Store's `Revision`).
    fn version(&self) -> i64;
    /// The SCIM error for an id that names none of this kind.
    fn not_found() -> ScimError;

    async fn get(store: &dyn Store, tenant: &Tenant, id: &str) -> Result<Self, StoreError>;
    async fn list(
        store: &dyn Store,
        tenant: &Tenant,
        query: &Self::Query,
        args: ListArgs<'_>,
    ) -> Result<Page<Self>, StoreError>;
    async fn delete(store: &dyn Store, tenant: &Tenant, id: &str) -> Result<(), StoreError>;
}

#[async_trait]
impl Resource for UserRecord {
    type Query = UserQuery;

    fn id(&self) -> &str {
        &self.id
    }

    fn version(&self) -> i64 {
        self.version
    }

    fn not_found() -> ScimError {
        ScimError::user_not_found()
    }

    async fn get(store: &dyn Store, tenant: &Tenant, id: &str) -> Result<Self, StoreError> {
        store.get_user(tenant, id).await
    }

    async fn list(
        store: &dyn Store,
        tenant: &Tenant,
        query: &UserQuery,
        args: ListArgs<'_>,
    ) -> Result<Page<Self>, StoreError> {
        store.list_users(tenant, query, args).await
    }

    async fn delete(store: &dyn Store, tenant: &Tenant, id: &str) -> Result<(), StoreError> {
        store.delete_user(tenant, id).await
    }
}

#[async_trait]
impl Resource for GroupRecord {
    type Query = GroupQuery;

    fn id(&self) -> &str {
        &self.id
    }

    fn version(&self) -> i64 {
        self.version
    }

    fn not_found() -> ScimError {
        ScimError::group_not_found()
    }

    async fn get(store: &dyn Store, tenant: &Tenant, id: &str) -> Result<Self, StoreError> {
        store.get_group(tenant, id).await
    }

    async fn list(
        store: &dyn Store,
        tenant: &Tenant,
        query: &GroupQuery,
        args: ListArgs<'_>,
    ) -> Result<Page<Self>, StoreError> {
        store.list_groups(tenant, query, args).await
    }

    async fn delete(store: &dyn Store, tenant: &Tenant, id: &str) -> Result<(), StoreError> {
        store.delete_group(tenant, id).await
    }
}

/// What a request gave that another resource has: the uniquenesses a request's own values can
/// break. The store's other constraints guard the ids, hashes and codes the server makes, and
/// rows the rooms of tenants, users and groups never write; a conflict on one is a bug. This is
/// where those rooms look at `Constraint` (exhaustively), so a new constraint is placed once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Taken {
    /// A tenant id (an operator chooses it).
    TenantId,
    UserName,
    /// A user's primary email.
    Email,
    GroupDisplayName,
    /// The user is a member of the group already.
    Membership,
}

impl Taken {
    /// What a conflict on `constraint` means to a request; `None` when no request can cause it.
    pub fn of(constraint: Constraint) -> Option<Self> {
        match constraint {
            Constraint::TenantId => Some(Self::TenantId),
            Constraint::UserName => Some(Self::UserName),
            Constraint::Email => Some(Self::Email),
            Constraint::GroupDisplayName => Some(Self::GroupDisplayName),
            Constraint::Membership => Some(Self::Membership),
            Constraint::DefaultTenant
            | Constraint::TokenId
            | Constraint::TokenHash
            | Constraint::AccessKeyId
            | Constraint::UserId
            | Constraint::GroupId
            | Constraint::MembershipId
            | Constraint::Subgroup
            | Constraint::InstanceName
            | Constraint::AccountId
            | Constraint::PermissionSetId
            | Constraint::PermissionSetName
            | Constraint::AttachedPolicy
            | Constraint::TagKey
            | Constraint::Assignment
            | Constraint::Provision
            | Constraint::OperationId
            | Constraint::SignInKey => None,
        }
    }
}

/// A store failure as a SCIM error; `not_found` says which resource was missing. Database
/// errors are logged here, inside the request span, and never sent.
pub fn store_error(e: StoreError, not_found: fn() -> ScimError) -> ScimError {
    let unexpected = |e: StoreError| {
        tracing::error!(error = ?e, "unexpected store answer to a SCIM request");
        ScimError::Internal
    };
    match e {
        StoreError::NotFound => not_found(),
        StoreError::MemberNotFound => ScimError::member_not_found(),
        StoreError::MemberLoop => ScimError::member_loop(),
        StoreError::Conflict(constraint) => match Taken::of(constraint) {
            Some(Taken::UserName | Taken::Email | Taken::GroupDisplayName) => {
                ScimError::duplicate()
            }
            Some(Taken::TenantId | Taken::Membership) | None => unexpected(e),
        },
        StoreError::LimitReached | StoreError::InUse => unexpected(e),
        StoreError::Contended => ScimError::Throttled,
        StoreError::Database(_) => {
            tracing::error!(error = ?e, "store failure");
            ScimError::Internal
        }
    }
}

/// A look-up of one row.
const ONE: ListArgs<'static> = ListArgs {
    limit: 1,
    after: None,
    with_total: false,
};

/// The first user or group a query finds, if there is one: a look-up by a unique attribute.
pub async fn first<K: Resource>(
    store: &dyn Store,
    tenant: &Tenant,
    query: &K::Query,
) -> Result<Option<K>, StoreError> {
    let page = K::list(store, tenant, query, ONE).await?;
    Ok(page.items.into_iter().next())
}

/// The user with this `userName` (case-insensitively), if there is one.
pub async fn find_user(
    store: &dyn Store,
    tenant: &Tenant,
    user_name: &str,
) -> Result<Option<UserRecord>, StoreError> {
    first(store, tenant, &UserQuery::UserName(user_name.to_owned())).await
}

/// The group with this `displayName` (case-insensitively), if there is one.
pub async fn find_group(
    store: &dyn Store,
    tenant: &Tenant,
    display_name: &str,
) -> Result<Option<GroupRecord>, StoreError> {
    first(
        store,
        tenant,
        &GroupQuery::DisplayName(display_name.to_owned()),
    )
    .await
}

/// The user with this `userName`, or a SCIM error that says there is none.
pub async fn user_named(
    store: &dyn Store,
    tenant: &Tenant,
    user_name: &str,
) -> Result<UserRecord, ScimError> {
    find_user(store, tenant, user_name)
        .await
        .map_err(|e| store_error(e, ScimError::user_not_found))?
        .ok_or_else(|| ScimError::NotFound(format!("No user has the userName \"{user_name}\".")))
}

/// The group with this `displayName`, or a SCIM error that says there is none.
pub async fn group_named(
    store: &dyn Store,
    tenant: &Tenant,
    display_name: &str,
) -> Result<GroupRecord, ScimError> {
    find_group(store, tenant, display_name)
        .await
        .map_err(|e| store_error(e, ScimError::group_not_found))?
        .ok_or_else(|| {
            ScimError::NotFound(format!("No group has the displayName \"{display_name}\"."))
        })
}
