//! The persistence of IAM Identity Center's account access (the sso-admin API): instance names,
//! declared accounts, permission sets with their policies and tags, account assignments,
//! provisioning, and the status objects of the asynchronous operations. One trait,
//! `SsoAdminStore`, which `Store` includes; its SQL is `sql/ssoadmin.rs`, on the tables of the
//! migrations `0002_sso_admin.sql`.
//!
//! Integrity is the database's: assignments refer to their account, permission set and user or
//! group by foreign keys, so deleting a user or a group, on any path, deletes its assignments
//! by cascade, and a permission set cannot be deleted while it is assigned. Listings are keyset
//! pages on indexed columns: by principal, by account and permission set, by time.

use async_trait::async_trait;

use super::{ListArgs, Page, Result, Tenant};
use crate::sso::{
    Account, Assignment, OperationKind, OperationStatus, PermissionSetAttrs, PolicyKind, PolicyRef,
    Principal, Tag,
};

/// A declared account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountRecord {
    pub account: Account,
    pub created_ms: i64,
}

/// A stored permission set. Its managed policies and tags are kept apart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PermissionSetRecord {
    /// `ps-` and 16 hex digits.
    pub id: String,
    pub attrs: PermissionSetAttrs,
    pub inline_policy: Option<String>,
    pub boundary: Option<PolicyRef>,
    /// Grows with each change that accounts need provisioned.
    pub version: i64,
    pub created_ms: i64,
}

/// What an update of a permission set writes; each bumps its version.
#[derive(Debug, Clone, Copy)]
pub enum PermissionSetChange<'a> {
    Attrs(&'a PermissionSetAttrs),
    InlinePolicy(Option<&'a str>),
    Boundary(Option<&'a PolicyRef>),
}

/// The status object of an asynchronous operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OperationRecord {
    /// A UUID.
    pub request_id: String,
    pub kind: OperationKind,
    pub status: OperationStatus,
    pub failure_reason: Option<String>,
    /// The account (`TargetId`), absent for a provisioning to all provisioned accounts.
    pub account_id: Option<String>,
    pub permission_set_id: String,
    /// Assignments only.
    pub principal: Option<Principal>,
    pub created_ms: i64,
}

impl OperationRecord {
    /// The key that `list_operations` pages by.
    pub fn key(&self) -> String {
        crate::sso::key_pair(&format!("{:020}", self.created_ms), &self.request_id)
    }
}

/// Which assignments to list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AssignmentQuery<'a> {
    /// ListAccountAssignments: the assignments of a permission set in an account, in the order
    /// of principal type and id.
    AccountPermissionSet {
        account_id: &'a str,
        permission_set_id: &'a str,
    },
    /// ListAccountAssignmentsForPrincipal: a principal's, in one account or all, in the order of
    /// account and permission set.
    Principal {
        principal: &'a Principal,
        account_id: Option<&'a str>,
    },
}

impl AssignmentQuery<'_> {
    /// The key a listing of this query is paged by.
    pub fn key(&self, a: &Assignment) -> String {
        match self {
            Self::AccountPermissionSet { .. } => {
                crate::sso::key_pair(a.principal.kind.as_str(), &a.principal.id)
            }
            Self::Principal { .. } => crate::sso::key_pair(&a.account_id, &a.permission_set_id),
        }
    }
}

/// Which side of provisioning to list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProvisionQuery<'a> {
    /// The accounts a permission set is provisioned to.
    AccountsOf(&'a str),
    /// The permission sets provisioned to an account.
    PermissionSetsIn(&'a str),
}

#[async_trait]
pub trait SsoAdminStore: Send + Sync {
    /// The name given to the tenant's instance, if any.
    async fn instance_name(&self, tenant: &Tenant) -> Result<Option<String>>;
    async fn set_instance_name(&self, tenant: &Tenant, name: &str) -> Result<()>;

    /// Declares an account (`Conflict(AccountId)` if its id is declared already).
    async fn create_account(&self, tenant: &Tenant, account: &Account, now_ms: i64) -> Result<()>;
    async fn get_account(&self, tenant: &Tenant, account_id: &str) -> Result<AccountRecord>;
    /// Accounts in id order.
    async fn list_accounts(
        &self,
        tenant: &Tenant,
        args: ListArgs<'_>,
    ) -> Result<Page<AccountRecord>>;
    /// Deletes an account with its assignments.
    async fn delete_account(&self, tenant: &Tenant, account_id: &str) -> Result<()>;

    /// Stores a new permission set with its tags: `Conflict(PermissionSetName)` if the name is taken,
    /// `LimitReached` if the tenant holds `max` permission sets already.
    async fn create_permission_set(
        &self,
        tenant: &Tenant,
        record: &PermissionSetRecord,
        tags: &[Tag],
        max: usize,
    ) -> Result<()>;
    async fn get_permission_set(&self, tenant: &Tenant, id: &str) -> Result<PermissionSetRecord>;
    async fn find_permission_set(&self, tenant: &Tenant, name: &str)
    -> Result<PermissionSetRecord>;
    /// Permission sets in id order.
    async fn list_permission_sets(
        &self,
        tenant: &Tenant,
        args: ListArgs<'_>,
    ) -> Result<Page<PermissionSetRecord>>;
    async fn update_permission_set(
        &self,
        tenant: &Tenant,
        id: &str,
        change: PermissionSetChange<'_>,
    ) -> Result<()>;
    /// Deletes a permission set with its policies and tags; `InUse` while it is assigned.
    async fn delete_permission_set(&self, tenant: &Tenant, id: &str) -> Result<()>;
    /// Attaches a managed policy: `NotFound` for an unknown permission set,
    /// `Conflict(AttachedPolicy)` if it is attached already, `LimitReached` if `max` policies
    /// (of both kinds) are.
    async fn attach_policy(
        &self,
        tenant: &Tenant,
        id: &str,
        policy: &PolicyRef,
        max: usize,
    ) -> Result<()>;
    /// `NotFound` if the policy is not attached.
    async fn detach_policy(&self, tenant: &Tenant, id: &str, policy: &PolicyRef) -> Result<()>;
    /// The attached policies of a kind, in the order of their reference.
    async fn list_policies(
        &self,
        tenant: &Tenant,
        id: &str,
        kind: PolicyKind,
        args: ListArgs<'_>,
    ) -> Result<Page<PolicyRef>>;

    /// Adds or replaces tags of a resource (an instance or a permission set id);
    /// `LimitReached` if it would then hold more than `max`.
    async fn tag_resource(
        &self,
        tenant: &Tenant,
        resource_id: &str,
        tags: &[Tag],
        max: usize,
    ) -> Result<()>;
    /// Removes tags; keys the resource does not have are ignored.
    async fn untag_resource(
        &self,
        tenant: &Tenant,
        resource_id: &str,
        keys: &[String],
    ) -> Result<()>;
    /// Tags in key order.
    async fn list_tags(
        &self,
        tenant: &Tenant,
        resource_id: &str,
        args: ListArgs<'_>,
    ) -> Result<Page<Tag>>;

    /// Assigns, provisions the permission set's current version to the account, and records the
    /// operation (when there is one: a fixture's assignments have none), in one transaction. An
    /// assignment that exists already stays as it is.
    /// `NotFound` for an unknown permission set, `MemberNotFound` when the account or the
    /// principal is not (or no longer) there.
    async fn create_assignment(
        &self,
        tenant: &Tenant,
        assignment: &Assignment,
        operation: Option<&OperationRecord>,
        now_ms: i64,
    ) -> Result<()>;
    /// Removes an assignment (`NotFound` if there is none), the provisioning when it was the
    /// last of its permission set in the account, and records the operation.
    async fn delete_assignment(
        &self,
        tenant: &Tenant,
        assignment: &Assignment,
        operation: &OperationRecord,
    ) -> Result<()>;
    async fn list_assignments(
        &self,
        tenant: &Tenant,
        query: AssignmentQuery<'_>,
        args: ListArgs<'_>,
    ) -> Result<Page<Assignment>>;
    /// Provisions a permission set's current version to an account, or to every account it is
    /// provisioned to; the number of accounts it reached (an account where it is not assigned
    /// is not reached). `NotFound` for an unknown permission set.
    async fn provision(
        &self,
        tenant: &Tenant,
        permission_set_id: &str,
        account_id: Option<&str>,
    ) -> Result<u64>;
    /// Accounts (or permission sets) where a permission set is assigned and so provisioned;
    /// with `latest`, only those whose provisioned version is (or is not) the current one.
    async fn list_provisioned(
        &self,
        tenant: &Tenant,
        query: ProvisionQuery<'_>,
        latest: Option<bool>,
        args: ListArgs<'_>,
    ) -> Result<Page<String>>;

    async fn record_operation(&self, tenant: &Tenant, operation: &OperationRecord) -> Result<()>;
    async fn get_operation(
        &self,
        tenant: &Tenant,
        kind: OperationKind,
        request_id: &str,
    ) -> Result<OperationRecord>;
    /// Operations of a kind in the order they were made (paged by `OperationRecord::key`).
    async fn list_operations(
        &self,
        tenant: &Tenant,
        kind: OperationKind,
        status: Option<OperationStatus>,
        args: ListArgs<'_>,
    ) -> Result<Page<OperationRecord>>;

    /// Deletes the tenant's accounts, permission sets (with their tags), assignments and
    /// operations; the instance's name and tags stay.
    async fn clear_access(&self, tenant: &Tenant) -> Result<()>;
}
