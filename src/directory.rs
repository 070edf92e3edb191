//! A tenant's users and groups as the rooms that write them see them: store failures as the
//! SCIM errors AWS answers with (the SCIM endpoint and the console report them alike), and the
//! look-ups a person makes by name.

use crate::scim::ScimError;
use crate::scim::query::{GroupQuery, UserQuery};
use crate::store::{Constraint, GroupRecord, ListArgs, Store, StoreError, Tenant, UserRecord};

/// A store failure as a SCIM error; `not_found` says which resource was missing. Database
/// errors are logged here, inside the request span, and never sent.
pub fn store_error(e: StoreError, not_found: fn() -> ScimError) -> ScimError {
    match e {
        StoreError::NotFound => not_found(),
        StoreError::MemberNotFound => ScimError::member_not_found(),
        StoreError::MemberLoop => ScimError::member_loop(),
        StoreError::Conflict(
            Constraint::UserName | Constraint::Email | Constraint::GroupDisplayName,
        ) => ScimError::duplicate(),
        StoreError::Conflict(
            Constraint::TenantId
            | Constraint::DefaultTenant
            | Constraint::TokenId
            | Constraint::TokenHash
            | Constraint::AccessKeyId
            | Constraint::UserId
            | Constraint::GroupId
            | Constraint::Membership
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
            | Constraint::SignInKey,
        )
        | StoreError::LimitReached
        | StoreError::InUse => {
            tracing::error!(error = ?e, "unexpected store answer to a SCIM request");
            ScimError::Internal
        }
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

/// The user with this `userName` (case-insensitively).
pub async fn user_named(
    store: &dyn Store,
    tenant: &Tenant,
    user_name: &str,
) -> Result<UserRecord, ScimError> {
    let query = UserQuery::UserName(user_name.to_owned());
    let page = store
        .list_users(tenant, &query, ONE)
        .await
        .map_err(|e| store_error(e, ScimError::user_not_found))?;
    page.items
        .into_iter()
        .next()
        .ok_or_else(|| ScimError::NotFound(format!("No user has the userName \"{user_name}\".")))
}

/// The group with this `displayName` (case-insensitively).
pub async fn group_named(
    store: &dyn Store,
    tenant: &Tenant,
    display_name: &str,
) -> Result<GroupRecord, ScimError> {
    let query = GroupQuery::DisplayName(display_name.to_owned());
    let page = store
        .list_groups(tenant, &query, ONE)
        .await
        .map_err(|e| store_error(e, ScimError::group_not_found))?;
    page.items.into_iter().next().ok_or_else(|| {
        ScimError::NotFound(format!("No group has the displayName \"{display_name}\"."))
    })
}
