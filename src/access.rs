//! Account access, as the rooms that change it see it (the sso-admin API and the console):
//! permission sets created and deleted by IAM Identity Center's rules (`sso`), and users and
//! groups assigned to declared accounts with a permission set, each change recorded as the
//! operation whose status the sso-admin API reports. Each room words the errors (`AccessError`)
//! its own way.

use crate::sso::{
    self, Assignment, Invalid, OperationKind, OperationStatus, PermissionSetAttrs, Principal,
    PrincipalType, Tag,
};
use crate::store::{
    AssignmentQuery, Constraint, ListArgs, OperationRecord, PermissionSetRecord, ProvisionQuery,
    Store, StoreError, Tenant, all_pages, all_pages_by,
};

/// Why a change of account access was refused.
#[derive(Debug)]
pub enum AccessError {
    /// A member breaks a rule of IAM Identity Center.
    Invalid(Invalid),
    /// Another permission set of the instance has this name.
    NameTaken(String),
    /// The instance holds `sso::MAX_PERMISSION_SETS` already.
    TooManyPermissionSets,
    /// The permission set is still assigned.
    InUse,
    /// No permission set of the instance has this id, or the tenant is gone.
    PermissionSetNotFound,
    /// The account is not declared in the tenant (it is outside the instance's organization).
    AccountNotDeclared,
    /// The principal is no user or group of the tenant (or no longer).
    PrincipalNotFound,
    /// There is no such assignment.
    AssignmentNotFound,
    /// The store failed; the caller logs it.
    Store(StoreError),
}

impl From<Invalid> for AccessError {
    fn from(e: Invalid) -> Self {
        Self::Invalid(e)
    }
}

/// Every permission set of a tenant, in id order (an instance holds at most
/// `sso::MAX_PERMISSION_SETS`).
pub async fn all_permission_sets(
    store: &dyn Store,
    tenant: &Tenant,
) -> Result<Vec<PermissionSetRecord>, StoreError> {
    all_pages(
        |after| async move {
            store
                .list_permission_sets(tenant, ListArgs::scan(after.as_deref()))
                .await
        },
        |p: &PermissionSetRecord| p.id.as_str(),
    )
    .await
}

/// The ids of the permission sets provisioned in an account: those with an assignment there.
pub async fn provisioned_in(
    store: &dyn Store,
    tenant: &Tenant,
    account_id: &str,
) -> Result<Vec<String>, StoreError> {
    all_pages(
        |after| async move {
            store
                .list_provisioned(
                    tenant,
                    ProvisionQuery::PermissionSetsIn(account_id),
                    None,
                    ListArgs::scan(after.as_deref()),
                )
                .await
        },
        String::as_str,
    )
    .await
}

/// Every assignment a query selects.
pub async fn all_assignments(
    store: &dyn Store,
    tenant: &Tenant,
    query: AssignmentQuery<'_>,
) -> Result<Vec<Assignment>, StoreError> {
    all_pages_by(
        |after| async move {
            store
                .list_assignments(tenant, query, ListArgs::scan(after.as_deref()))
                .await
        },
        |a| query.key(a),
    )
    .await
}

/// The status object of an operation done now (they are done when answered).
pub fn operation(kind: OperationKind, permission_set_id: &str, now_ms: i64) -> OperationRecord {
    OperationRecord {
        request_id: crate::text::random_uuid().to_string(),
        kind,
        status: OperationStatus::Succeeded,
        failure_reason: None,
        account_id: None,
        permission_set_id: permission_set_id.to_owned(),
        principal: None,
        created_ms: now_ms,
    }
}

/// Creates a permission set with its tags, both checked first.
pub async fn create_permission_set(
    store: &dyn Store,
    tenant: &Tenant,
    attrs: PermissionSetAttrs,
    tags: &[Tag],
    now_ms: i64,
) -> Result<PermissionSetRecord, AccessError> {
    attrs.check()?;
    sso::tags("tags", tags)?;
    let record = PermissionSetRecord {
        id: sso::new_permission_set_id(),
        attrs,
        inline_policy: None,
        boundary: None,
        version: 1,
        created_ms: now_ms,
    };
    store
        .create_permission_set(tenant, &record, tags, sso::MAX_PERMISSION_SETS)
        .await
        .map_err(|e| match e {
            StoreError::Conflict(Constraint::PermissionSetName) => {
                AccessError::NameTaken(record.attrs.name.clone())
            }
            StoreError::LimitReached => AccessError::TooManyPermissionSets,
            StoreError::NotFound => AccessError::PermissionSetNotFound,
            other => AccessError::Store(other),
        })?;
    Ok(record)
}

/// Deletes a permission set that is assigned nowhere.
pub async fn delete_permission_set(
    store: &dyn Store,
    tenant: &Tenant,
    id: &str,
) -> Result<(), AccessError> {
    store
        .delete_permission_set(tenant, id)
        .await
        .map_err(|e| match e {
            StoreError::InUse => AccessError::InUse,
            StoreError::NotFound => AccessError::PermissionSetNotFound,
            other => AccessError::Store(other),
        })
}

/// Succeeds when the account is declared in the tenant (`AccountNotDeclared` otherwise).
pub async fn declared_account(
    store: &dyn Store,
    tenant: &Tenant,
    account_id: &str,
) -> Result<(), AccessError> {
    match store.get_account(tenant, account_id).await {
        Ok(_) => Ok(()),
        Err(StoreError::NotFound) => Err(AccessError::AccountNotDeclared),
        Err(e) => Err(AccessError::Store(e)),
    }
}

/// Whether a principal is a user or a group of the tenant.
async fn principal_exists(
    store: &dyn Store,
    tenant: &Tenant,
    principal: &Principal,
) -> Result<bool, StoreError> {
    match principal.kind {
        PrincipalType::User => store.user_exists(tenant, &principal.id).await,
        PrincipalType::Group => match store.get_group(tenant, &principal.id).await {
            Ok(_) => Ok(true),
            Err(StoreError::NotFound) => Ok(false),
            Err(e) => Err(e),
        },
    }
}

/// Assigns a user or a group to a declared account with a permission set, which is then
/// provisioned there; an assignment that exists already stays as it is. Answers the
/// operation recorded.
pub async fn assign(
    store: &dyn Store,
    tenant: &Tenant,
    assignment: &Assignment,
    now_ms: i64,
) -> Result<OperationRecord, AccessError> {
    declared_account(store, tenant, &assignment.account_id).await?;
    if !principal_exists(store, tenant, &assignment.principal)
        .await
        .map_err(AccessError::Store)?
    {
        return Err(AccessError::PrincipalNotFound);
    }
    let op = OperationRecord {
        account_id: Some(assignment.account_id.clone()),
        principal: Some(assignment.principal.clone()),
        ..operation(
            OperationKind::AssignmentCreation,
            &assignment.permission_set_id,
            now_ms,
        )
    };
    store
        .create_assignment(tenant, assignment, Some(&op), now_ms)
        .await
        .map_err(|e| match e {
            StoreError::NotFound => AccessError::PermissionSetNotFound,
            // The principal or the account was deleted a moment ago.
            StoreError::MemberNotFound => AccessError::PrincipalNotFound,
            other => AccessError::Store(other),
        })?;
    Ok(op)
}

/// Removes an assignment (and the provisioning, when it was the last of its permission set in
/// the account). Answers the operation recorded.
pub async fn unassign(
    store: &dyn Store,
    tenant: &Tenant,
    assignment: &Assignment,
    now_ms: i64,
) -> Result<OperationRecord, AccessError> {
    let op = OperationRecord {
        account_id: Some(assignment.account_id.clone()),
        principal: Some(assignment.principal.clone()),
        ..operation(
            OperationKind::AssignmentDeletion,
            &assignment.permission_set_id,
            now_ms,
        )
    };
    store
        .delete_assignment(tenant, assignment, &op)
        .await
        .map_err(|e| match e {
            StoreError::NotFound => AccessError::AssignmentNotFound,
            other => AccessError::Store(other),
        })?;
    Ok(op)
}
