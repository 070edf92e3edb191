//! The persistence of IAM Identity Center's account access (the sso-admin API): instance names,
//! declared accounts, permission sets with their policies and tags, account assignments,
//! provisioning, and the status objects of the asynchronous operations. One trait,
//! `SsoAdminStore`, which `Store` includes, implemented for both pools by the same SQL
//! (migrations `0002_sso_admin.sql`).
//!
//! Integrity is the database's: assignments refer to their account, permission set and user or
//! group by foreign keys, so deleting a user or a group, on any path, deletes its assignments
//! by cascade, and a permission set cannot be deleted while it is assigned. Listings are keyset
//! pages on indexed columns: by principal, by account and permission set, by time.

use async_trait::async_trait;
use sqlx::{QueryBuilder, Row};

use super::sql::page_of;
use super::{ListArgs, Page, PgStore, Result, SqliteStore, StoreError, Tenant};
use crate::sso::{
    Account, Assignment, OperationKind, OperationStatus, PermissionSetAttrs, PolicyKind, PolicyRef,
    Principal, PrincipalType, Tag, split_key_pair,
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

    /// Declares an account (`Conflict` if its id is declared already).
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

    /// Stores a new permission set with its tags: `Conflict` if the name is taken,
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
    /// Deletes a permission set with its policies and tags; `Conflict` while it is assigned.
    async fn delete_permission_set(&self, tenant: &Tenant, id: &str) -> Result<()>;
    /// Attaches a managed policy: `NotFound` for an unknown permission set, `Conflict` if it is
    /// attached already, `LimitReached` if `max` policies (of both kinds) are.
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
    /// operation, in one transaction. An assignment that exists already stays as it is.
    /// `NotFound` for an unknown permission set, `MemberNotFound` when the account or the
    /// principal is not (or no longer) there.
    async fn create_assignment(
        &self,
        tenant: &Tenant,
        assignment: &Assignment,
        operation: &OperationRecord,
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

fn conflict(field: &'static str) -> StoreError {
    StoreError::Conflict { field }
}

/// A row that the code wrote but cannot read back: a bug or a hand-edited database.
fn corrupt(what: &str) -> StoreError {
    StoreError::Database(sqlx::Error::Decode(
        format!("unreadable {what} in the database").into(),
    ))
}

fn account_from_row<R: Row>(row: &R) -> Result<AccountRecord>
where
    for<'r> String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> &'r str: sqlx::ColumnIndex<R>,
{
    Ok(AccountRecord {
        account: Account {
            account_id: row.try_get("account_id")?,
            name: row.try_get("name")?,
            email: row.try_get("email")?,
        },
        created_ms: row.try_get("created_ms")?,
    })
}

const PERMISSION_SET_COLUMNS: &str = "id, name, description, session_duration, relay_state, \
     inline_policy, boundary_kind, boundary_reference, version, created_ms";

fn permission_set_from_row<R: Row>(row: &R) -> Result<PermissionSetRecord>
where
    for<'r> String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> Option<String>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> &'r str: sqlx::ColumnIndex<R>,
{
    let kind: Option<String> = row.try_get("boundary_kind")?;
    let reference: Option<String> = row.try_get("boundary_reference")?;
    let boundary = match (kind, reference) {
        (Some(kind), Some(reference)) => Some(
            PolicyRef::from_stored(&kind, &reference)
                .ok_or_else(|| corrupt("permissions boundary"))?,
        ),
        _ => None,
    };
    Ok(PermissionSetRecord {
        id: row.try_get("id")?,
        attrs: PermissionSetAttrs {
            name: row.try_get("name")?,
            description: row.try_get("description")?,
            session_duration: row.try_get("session_duration")?,
            relay_state: row.try_get("relay_state")?,
        },
        inline_policy: row.try_get("inline_policy")?,
        boundary,
        version: row.try_get("version")?,
        created_ms: row.try_get("created_ms")?,
    })
}

fn principal_from<R: Row>(row: &R) -> Result<Option<Principal>>
where
    for<'r> Option<String>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> &'r str: sqlx::ColumnIndex<R>,
{
    let kind: Option<String> = row.try_get("principal_type")?;
    let id: Option<String> = row.try_get("principal_id")?;
    match (kind, id) {
        (Some(kind), Some(id)) => Ok(Some(Principal {
            kind: PrincipalType::parse(&kind).ok_or_else(|| corrupt("principal type"))?,
            id,
        })),
        _ => Ok(None),
    }
}

fn assignment_from_row<R: Row>(row: &R) -> Result<Assignment>
where
    for<'r> String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> Option<String>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> &'r str: sqlx::ColumnIndex<R>,
{
    Ok(Assignment {
        account_id: row.try_get("account_id")?,
        permission_set_id: row.try_get("permission_set_id")?,
        principal: principal_from(row)?.ok_or_else(|| corrupt("assignment"))?,
    })
}

const OPERATION_COLUMNS: &str = "request_id, kind, status, failure_reason, target_id, \
     permission_set_id, principal_type, principal_id, created_ms";

fn operation_from_row<R: Row>(row: &R) -> Result<OperationRecord>
where
    for<'r> String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> Option<String>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> &'r str: sqlx::ColumnIndex<R>,
{
    let kind: String = row.try_get("kind")?;
    let status: String = row.try_get("status")?;
    Ok(OperationRecord {
        request_id: row.try_get("request_id")?,
        kind: OperationKind::parse(&kind).ok_or_else(|| corrupt("operation kind"))?,
        status: OperationStatus::parse(&status).ok_or_else(|| corrupt("operation status"))?,
        failure_reason: row.try_get("failure_reason")?,
        account_id: row.try_get("target_id")?,
        permission_set_id: row.try_get("permission_set_id")?,
        principal: principal_from(row)?,
        created_ms: row.try_get("created_ms")?,
    })
}

/// The user or group column an assignment's principal is held in.
fn principal_column(kind: PrincipalType) -> &'static str {
    match kind {
        PrincipalType::User => "user_id",
        PrincipalType::Group => "group_id",
    }
}

/// One more row than the page holds, to tell whether more follow.
fn limit_plus_one(args: ListArgs<'_>) -> i64 {
    i64::from(args.limit) + 1
}

macro_rules! sso_admin_store {
    ($store:ident, $db:ty) => {
        #[async_trait]
        impl SsoAdminStore for $store {
            async fn instance_name(&self, tenant: &Tenant) -> Result<Option<String>> {
                let row = sqlx::query("SELECT name FROM sso_instances WHERE tenant_id = $1")
                    .bind(&tenant.tenant_id)
                    .fetch_optional(&self.pool)
                    .await?;
                Ok(row.map(|r| r.try_get("name")).transpose()?)
            }

            async fn set_instance_name(&self, tenant: &Tenant, name: &str) -> Result<()> {
                sqlx::query(
                    "INSERT INTO sso_instances (tenant_id, name) VALUES ($1, $2) \
                     ON CONFLICT (tenant_id) DO UPDATE SET name = excluded.name",
                )
                .bind(&tenant.tenant_id)
                .bind(name)
                .execute(&self.pool)
                .await
                .map_err(|e| match StoreError::from(e) {
                    // The tenant went away meanwhile.
                    StoreError::MemberNotFound => StoreError::NotFound,
                    other => other,
                })?;
                Ok(())
            }

            async fn create_account(&self, tenant: &Tenant, account: &Account, now_ms: i64) -> Result<()> {
                let done = sqlx::query(
                    "INSERT INTO accounts (tenant_id, account_id, name, email, created_ms) \
                     VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
                )
                .bind(&tenant.tenant_id)
                .bind(&account.account_id)
                .bind(&account.name)
                .bind(&account.email)
                .bind(now_ms)
                .execute(&self.pool)
                .await?;
                if done.rows_affected() == 0 {
                    return Err(conflict("accountId"));
                }
                Ok(())
            }

            async fn get_account(&self, tenant: &Tenant, account_id: &str) -> Result<AccountRecord> {
                let row = sqlx::query(
                    "SELECT account_id, name, email, created_ms FROM accounts \
                     WHERE tenant_id = $1 AND account_id = $2",
                )
                .bind(&tenant.tenant_id)
                .bind(account_id)
                .fetch_optional(&self.pool)
                .await?
                .ok_or(StoreError::NotFound)?;
                account_from_row(&row)
            }

            async fn list_accounts(&self, tenant: &Tenant, args: ListArgs<'_>) -> Result<Page<AccountRecord>> {
                let mut qb = QueryBuilder::<$db>::new(
                    "SELECT account_id, name, email, created_ms FROM accounts WHERE tenant_id = ",
                );
                qb.push_bind(&tenant.tenant_id);
                if let Some(after) = args.after {
                    qb.push(" AND account_id > ");
                    qb.push_bind(after);
                }
                qb.push(" ORDER BY account_id LIMIT ");
                qb.push_bind(limit_plus_one(args));
                let rows = qb.build().fetch_all(&self.pool).await?;
                page_of(&rows, ListArgs { with_total: false, ..args }, account_from_row)
            }

            async fn delete_account(&self, tenant: &Tenant, account_id: &str) -> Result<()> {
                let done = sqlx::query("DELETE FROM accounts WHERE tenant_id = $1 AND account_id = $2")
                    .bind(&tenant.tenant_id)
                    .bind(account_id)
                    .execute(&self.pool)
                    .await?;
                if done.rows_affected() == 0 {
                    return Err(StoreError::NotFound);
                }
                Ok(())
            }

            async fn create_permission_set(
                &self,
                tenant: &Tenant,
                record: &PermissionSetRecord,
                tags: &[Tag],
                max: usize,
            ) -> Result<()> {
                let mut tx = self.pool.begin().await?;
                Self::lock_tenant(&mut tx, tenant).await?;
                let count: i64 = sqlx::query("SELECT COUNT(*) AS n FROM permission_sets WHERE tenant_id = $1")
                    .bind(&tenant.tenant_id)
                    .fetch_one(&mut *tx)
                    .await?
                    .try_get("n")?;
                if count >= max as i64 {
                    return Err(StoreError::LimitReached);
                }
                let (kind, reference) = match &record.boundary {
                    Some(b) => (Some(b.kind().as_str()), Some(b.reference())),
                    None => (None, None),
                };
                let done = sqlx::query(
                    "INSERT INTO permission_sets (tenant_id, id, name, name_lower, description, \
                     session_duration, relay_state, inline_policy, boundary_kind, boundary_reference, \
                     version, created_ms) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) ON CONFLICT DO NOTHING",
                )
                .bind(&tenant.tenant_id)
                .bind(&record.id)
                .bind(&record.attrs.name)
                .bind(record.attrs.name_key())
                .bind(&record.attrs.description)
                .bind(&record.attrs.session_duration)
                .bind(&record.attrs.relay_state)
                .bind(&record.inline_policy)
                .bind(kind)
                .bind(reference)
                .bind(record.version)
                .bind(record.created_ms)
                .execute(&mut *tx)
                .await?;
                if done.rows_affected() == 0 {
                    return Err(conflict("permissionSetName"));
                }
                Self::upsert_tags(&mut tx, tenant, &record.id, tags).await?;
                tx.commit().await?;
                Ok(())
            }

            async fn get_permission_set(&self, tenant: &Tenant, id: &str) -> Result<PermissionSetRecord> {
                let sql = format!(
                    "SELECT {PERMISSION_SET_COLUMNS} FROM permission_sets WHERE tenant_id = $1 AND id = $2"
                );
                let row = sqlx::query(&sql)
                    .bind(&tenant.tenant_id)
                    .bind(id)
                    .fetch_optional(&self.pool)
                    .await?
                    .ok_or(StoreError::NotFound)?;
                permission_set_from_row(&row)
            }

            async fn find_permission_set(&self, tenant: &Tenant, name: &str) -> Result<PermissionSetRecord> {
                let sql = format!(
                    "SELECT {PERMISSION_SET_COLUMNS} FROM permission_sets WHERE tenant_id = $1 AND name_lower = $2"
                );
                let row = sqlx::query(&sql)
                    .bind(&tenant.tenant_id)
                    .bind(name.to_lowercase())
                    .fetch_optional(&self.pool)
                    .await?
                    .ok_or(StoreError::NotFound)?;
                permission_set_from_row(&row)
            }

            async fn list_permission_sets(&self, tenant: &Tenant, args: ListArgs<'_>) -> Result<Page<PermissionSetRecord>> {
                let mut qb = QueryBuilder::<$db>::new("SELECT ");
                qb.push(PERMISSION_SET_COLUMNS);
                qb.push(" FROM permission_sets WHERE tenant_id = ");
                qb.push_bind(&tenant.tenant_id);
                if let Some(after) = args.after {
                    qb.push(" AND id > ");
                    qb.push_bind(after);
                }
                qb.push(" ORDER BY id LIMIT ");
                qb.push_bind(limit_plus_one(args));
                let rows = qb.build().fetch_all(&self.pool).await?;
                page_of(&rows, ListArgs { with_total: false, ..args }, permission_set_from_row)
            }

            async fn update_permission_set(
                &self,
                tenant: &Tenant,
                id: &str,
                change: PermissionSetChange<'_>,
            ) -> Result<()> {
                let mut qb = QueryBuilder::<$db>::new("UPDATE permission_sets SET version = version + 1");
                match change {
                    PermissionSetChange::Attrs(attrs) => {
                        qb.push(", description = ");
                        qb.push_bind(&attrs.description);
                        qb.push(", session_duration = ");
                        qb.push_bind(&attrs.session_duration);
                        qb.push(", relay_state = ");
                        qb.push_bind(&attrs.relay_state);
                    }
                    PermissionSetChange::InlinePolicy(policy) => {
                        qb.push(", inline_policy = ");
                        qb.push_bind(policy);
                    }
                    PermissionSetChange::Boundary(boundary) => {
                        qb.push(", boundary_kind = ");
                        qb.push_bind(boundary.map(|b| b.kind().as_str()));
                        qb.push(", boundary_reference = ");
                        qb.push_bind(boundary.map(PolicyRef::reference));
                    }
                }
                qb.push(" WHERE tenant_id = ");
                qb.push_bind(&tenant.tenant_id);
                qb.push(" AND id = ");
                qb.push_bind(id);
                if qb.build().execute(&self.pool).await?.rows_affected() == 0 {
                    return Err(StoreError::NotFound);
                }
                Ok(())
            }

            async fn delete_permission_set(&self, tenant: &Tenant, id: &str) -> Result<()> {
                let mut tx = self.pool.begin().await?;
                // An assignment refers to its permission set without cascade: the delete fails
                // on its foreign key, also when an assignment was made a moment ago.
                let done = sqlx::query("DELETE FROM permission_sets WHERE tenant_id = $1 AND id = $2")
                    .bind(&tenant.tenant_id)
                    .bind(id)
                    .execute(&mut *tx)
                    .await
                    .map_err(|e| match StoreError::from(e) {
                        StoreError::MemberNotFound => conflict("accountAssignment"),
                        other => other,
                    })?;
                if done.rows_affected() == 0 {
                    return Err(StoreError::NotFound);
                }
                sqlx::query("DELETE FROM sso_tags WHERE tenant_id = $1 AND resource_id = $2")
                    .bind(&tenant.tenant_id)
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(())
            }

            async fn attach_policy(
                &self,
                tenant: &Tenant,
                id: &str,
                policy: &PolicyRef,
                max: usize,
            ) -> Result<()> {
                let mut tx = self.pool.begin().await?;
                // The write first: it locks the permission set, so that two attachments cannot
                // both see room for one more policy.
                let touched = sqlx::query(
                    "UPDATE permission_sets SET version = version + 1 WHERE tenant_id = $1 AND id = $2",
                )
                .bind(&tenant.tenant_id)
                .bind(id)
                .execute(&mut *tx)
                .await?;
                if touched.rows_affected() == 0 {
                    return Err(StoreError::NotFound);
                }
                let count: i64 = sqlx::query(
                    "SELECT COUNT(*) AS n FROM permission_set_policies \
                     WHERE tenant_id = $1 AND permission_set_id = $2",
                )
                .bind(&tenant.tenant_id)
                .bind(id)
                .fetch_one(&mut *tx)
                .await?
                .try_get("n")?;
                let done = sqlx::query(
                    "INSERT INTO permission_set_policies (tenant_id, permission_set_id, kind, reference) \
                     VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
                )
                .bind(&tenant.tenant_id)
                .bind(id)
                .bind(policy.kind().as_str())
                .bind(policy.reference())
                .execute(&mut *tx)
                .await?;
                if done.rows_affected() == 0 {
                    return Err(conflict("policy"));
                }
                if count >= max as i64 {
                    return Err(StoreError::LimitReached);
                }
                tx.commit().await?;
                Ok(())
            }

            async fn detach_policy(&self, tenant: &Tenant, id: &str, policy: &PolicyRef) -> Result<()> {
                let mut tx = self.pool.begin().await?;
                let done = sqlx::query(
                    "DELETE FROM permission_set_policies WHERE tenant_id = $1 AND permission_set_id = $2 \
                     AND kind = $3 AND reference = $4",
                )
                .bind(&tenant.tenant_id)
                .bind(id)
                .bind(policy.kind().as_str())
                .bind(policy.reference())
                .execute(&mut *tx)
                .await?;
                if done.rows_affected() == 0 {
                    return Err(StoreError::NotFound);
                }
                sqlx::query("UPDATE permission_sets SET version = version + 1 WHERE tenant_id = $1 AND id = $2")
                    .bind(&tenant.tenant_id)
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(())
            }

            async fn list_policies(
                &self,
                tenant: &Tenant,
                id: &str,
                kind: PolicyKind,
                args: ListArgs<'_>,
            ) -> Result<Page<PolicyRef>> {
                let mut qb = QueryBuilder::<$db>::new(
                    "SELECT kind, reference FROM permission_set_policies WHERE tenant_id = ",
                );
                qb.push_bind(&tenant.tenant_id);
                qb.push(" AND permission_set_id = ");
                qb.push_bind(id);
                qb.push(" AND kind = ");
                qb.push_bind(kind.as_str());
                if let Some(after) = args.after {
                    qb.push(" AND reference > ");
                    qb.push_bind(after);
                }
                qb.push(" ORDER BY reference LIMIT ");
                qb.push_bind(limit_plus_one(args));
                let rows = qb.build().fetch_all(&self.pool).await?;
                page_of(&rows, ListArgs { with_total: false, ..args }, |row| {
                    let kind: String = row.try_get("kind")?;
                    let reference: String = row.try_get("reference")?;
                    PolicyRef::from_stored(&kind, &reference).ok_or_else(|| corrupt("policy"))
                })
            }

            async fn tag_resource(
                &self,
                tenant: &Tenant,
                resource_id: &str,
                tags: &[Tag],
                max: usize,
            ) -> Result<()> {
                let mut tx = self.pool.begin().await?;
                Self::lock_tenant(&mut tx, tenant).await?;
                Self::upsert_tags(&mut tx, tenant, resource_id, tags).await?;
                let count: i64 = sqlx::query(
                    "SELECT COUNT(*) AS n FROM sso_tags WHERE tenant_id = $1 AND resource_id = $2",
                )
                .bind(&tenant.tenant_id)
                .bind(resource_id)
                .fetch_one(&mut *tx)
                .await?
                .try_get("n")?;
                if count > max as i64 {
                    return Err(StoreError::LimitReached);
                }
                tx.commit().await?;
                Ok(())
            }

            async fn untag_resource(&self, tenant: &Tenant, resource_id: &str, keys: &[String]) -> Result<()> {
                if keys.is_empty() {
                    return Ok(());
                }
                let mut qb = QueryBuilder::<$db>::new("DELETE FROM sso_tags WHERE tenant_id = ");
                qb.push_bind(&tenant.tenant_id);
                qb.push(" AND resource_id = ");
                qb.push_bind(resource_id);
                qb.push(" AND tag_key IN (");
                let mut list = qb.separated(", ");
                for key in keys {
                    list.push_bind(key);
                }
                qb.push(")");
                qb.build().execute(&self.pool).await?;
                Ok(())
            }

            async fn list_tags(&self, tenant: &Tenant, resource_id: &str, args: ListArgs<'_>) -> Result<Page<Tag>> {
                let mut qb = QueryBuilder::<$db>::new(
                    "SELECT tag_key, tag_value FROM sso_tags WHERE tenant_id = ",
                );
                qb.push_bind(&tenant.tenant_id);
                qb.push(" AND resource_id = ");
                qb.push_bind(resource_id);
                if let Some(after) = args.after {
                    qb.push(" AND tag_key > ");
                    qb.push_bind(after);
                }
                qb.push(" ORDER BY tag_key LIMIT ");
                qb.push_bind(limit_plus_one(args));
                let rows = qb.build().fetch_all(&self.pool).await?;
                page_of(&rows, ListArgs { with_total: false, ..args }, |row| {
                    Ok(Tag {
                        key: row.try_get("tag_key")?,
                        value: row.try_get("tag_value")?,
                    })
                })
            }

            async fn create_assignment(
                &self,
                tenant: &Tenant,
                assignment: &Assignment,
                operation: &OperationRecord,
                now_ms: i64,
            ) -> Result<()> {
                let mut tx = self.pool.begin().await?;
                let row = sqlx::query(
                    "SELECT version FROM permission_sets WHERE tenant_id = $1 AND id = $2",
                )
                .bind(&tenant.tenant_id)
                .bind(&assignment.permission_set_id)
                .fetch_optional(&mut *tx)
                .await?
                .ok_or(StoreError::NotFound)?;
                let version: i64 = row.try_get("version")?;
                let principal = &assignment.principal;
                let (user_id, group_id) = match principal.kind {
                    PrincipalType::User => (Some(&principal.id), None),
                    PrincipalType::Group => (None, Some(&principal.id)),
                };
                sqlx::query(
                    "INSERT INTO account_assignments (tenant_id, account_id, permission_set_id, \
                     principal_type, principal_id, user_id, group_id, created_ms) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING",
                )
                .bind(&tenant.tenant_id)
                .bind(&assignment.account_id)
                .bind(&assignment.permission_set_id)
                .bind(principal.kind.as_str())
                .bind(&principal.id)
                .bind(user_id)
                .bind(group_id)
                .bind(now_ms)
                .execute(&mut *tx)
                .await?;
                sqlx::query(
                    "INSERT INTO permission_set_provisions (tenant_id, permission_set_id, account_id, version) \
                     VALUES ($1, $2, $3, $4) ON CONFLICT (tenant_id, permission_set_id, account_id) \
                     DO UPDATE SET version = excluded.version",
                )
                .bind(&tenant.tenant_id)
                .bind(&assignment.permission_set_id)
                .bind(&assignment.account_id)
                .bind(version)
                .execute(&mut *tx)
                .await?;
                Self::insert_operation(&mut tx, tenant, operation).await?;
                tx.commit().await?;
                Ok(())
            }

            async fn delete_assignment(
                &self,
                tenant: &Tenant,
                assignment: &Assignment,
                operation: &OperationRecord,
            ) -> Result<()> {
                let mut tx = self.pool.begin().await?;
                let done = sqlx::query(
                    "DELETE FROM account_assignments WHERE tenant_id = $1 AND account_id = $2 \
                     AND permission_set_id = $3 AND principal_type = $4 AND principal_id = $5",
                )
                .bind(&tenant.tenant_id)
                .bind(&assignment.account_id)
                .bind(&assignment.permission_set_id)
                .bind(assignment.principal.kind.as_str())
                .bind(&assignment.principal.id)
                .execute(&mut *tx)
                .await?;
                if done.rows_affected() == 0 {
                    return Err(StoreError::NotFound);
                }
                // The last assignment of a permission set in an account deprovisions it there,
                // as AWS does (its provisioning to that account is "not found" afterwards:
                // hashicorp/terraform-provider-aws#35158 and #33337).
                sqlx::query(
                    "DELETE FROM permission_set_provisions WHERE tenant_id = $1 AND permission_set_id = $2 \
                     AND account_id = $3 AND NOT EXISTS (SELECT 1 FROM account_assignments a \
                     WHERE a.tenant_id = $1 AND a.account_id = $3 AND a.permission_set_id = $2)",
                )
                .bind(&tenant.tenant_id)
                .bind(&assignment.permission_set_id)
                .bind(&assignment.account_id)
                .execute(&mut *tx)
                .await?;
                Self::insert_operation(&mut tx, tenant, operation).await?;
                tx.commit().await?;
                Ok(())
            }

            async fn list_assignments(
                &self,
                tenant: &Tenant,
                query: AssignmentQuery<'_>,
                args: ListArgs<'_>,
            ) -> Result<Page<Assignment>> {
                let mut qb = QueryBuilder::<$db>::new(
                    "SELECT account_id, permission_set_id, principal_type, principal_id \
                     FROM account_assignments WHERE tenant_id = ",
                );
                qb.push_bind(&tenant.tenant_id);
                let after = args.after.map(|key| split_key_pair(key).unwrap_or(("~", "~")));
                let order = match query {
                    AssignmentQuery::AccountPermissionSet { account_id, permission_set_id } => {
                        qb.push(" AND account_id = ");
                        qb.push_bind(account_id);
                        qb.push(" AND permission_set_id = ");
                        qb.push_bind(permission_set_id);
                        ("principal_type", "principal_id")
                    }
                    AssignmentQuery::Principal { principal, account_id } => {
                        qb.push(format_args!(" AND {} = ", principal_column(principal.kind)));
                        qb.push_bind(&principal.id);
                        if let Some(account) = account_id {
                            qb.push(" AND account_id = ");
                            qb.push_bind(account);
                        }
                        ("account_id", "permission_set_id")
                    }
                };
                if let Some((first, second)) = after {
                    let (a, b) = order;
                    qb.push(format_args!(" AND ({a} > "));
                    qb.push_bind(first.to_owned());
                    qb.push(format_args!(" OR ({a} = "));
                    qb.push_bind(first.to_owned());
                    qb.push(format_args!(" AND {b} > "));
                    qb.push_bind(second.to_owned());
                    qb.push("))");
                }
                qb.push(format_args!(" ORDER BY {}, {} LIMIT ", order.0, order.1));
                qb.push_bind(limit_plus_one(args));
                let rows = qb.build().fetch_all(&self.pool).await?;
                page_of(&rows, ListArgs { with_total: false, ..args }, assignment_from_row)
            }

            async fn provision(
                &self,
                tenant: &Tenant,
                permission_set_id: &str,
                account_id: Option<&str>,
            ) -> Result<u64> {
                let mut tx = self.pool.begin().await?;
                let row = sqlx::query(
                    "SELECT version FROM permission_sets WHERE tenant_id = $1 AND id = $2",
                )
                .bind(&tenant.tenant_id)
                .bind(permission_set_id)
                .fetch_optional(&mut *tx)
                .await?
                .ok_or(StoreError::NotFound)?;
                let version: i64 = row.try_get("version")?;
                let mut qb = QueryBuilder::<$db>::new("UPDATE permission_set_provisions SET version = ");
                qb.push_bind(version);
                qb.push(" WHERE tenant_id = ");
                qb.push_bind(&tenant.tenant_id);
                qb.push(" AND permission_set_id = ");
                qb.push_bind(permission_set_id);
                if let Some(account) = account_id {
                    qb.push(" AND account_id = ");
                    qb.push_bind(account);
                }
                qb.push(
                    " AND EXISTS (SELECT 1 FROM account_assignments a WHERE a.tenant_id = \
                     permission_set_provisions.tenant_id AND a.account_id = permission_set_provisions.account_id \
                     AND a.permission_set_id = permission_set_provisions.permission_set_id)",
                );
                let reached = qb.build().execute(&mut *tx).await?.rows_affected();
                tx.commit().await?;
                Ok(reached)
            }

            async fn list_provisioned(
                &self,
                tenant: &Tenant,
                query: ProvisionQuery<'_>,
                latest: Option<bool>,
                args: ListArgs<'_>,
            ) -> Result<Page<String>> {
                let (fixed, fixed_value, listed) = match query {
                    ProvisionQuery::AccountsOf(ps) => ("permission_set_id", ps, "account_id"),
                    ProvisionQuery::PermissionSetsIn(account) => ("account_id", account, "permission_set_id"),
                };
                let mut qb = QueryBuilder::<$db>::new(format!(
                    "SELECT p.{listed} AS listed FROM permission_set_provisions p \
                     JOIN permission_sets s ON s.tenant_id = p.tenant_id AND s.id = p.permission_set_id \
                     WHERE p.tenant_id = "
                ));
                qb.push_bind(&tenant.tenant_id);
                qb.push(format_args!(" AND p.{fixed} = "));
                qb.push_bind(fixed_value);
                qb.push(
                    " AND EXISTS (SELECT 1 FROM account_assignments a WHERE a.tenant_id = p.tenant_id \
                     AND a.account_id = p.account_id AND a.permission_set_id = p.permission_set_id)",
                );
                match latest {
                    Some(true) => {
                        qb.push(" AND p.version = s.version");
                    }
                    Some(false) => {
                        qb.push(" AND p.version <> s.version");
                    }
                    None => {}
                }
                if let Some(after) = args.after {
                    qb.push(format_args!(" AND p.{listed} > "));
                    qb.push_bind(after);
                }
                qb.push(format_args!(" ORDER BY p.{listed} LIMIT "));
                qb.push_bind(limit_plus_one(args));
                let rows = qb.build().fetch_all(&self.pool).await?;
                page_of(&rows, ListArgs { with_total: false, ..args }, |row| {
                    Ok(row.try_get("listed")?)
                })
            }

            async fn record_operation(&self, tenant: &Tenant, operation: &OperationRecord) -> Result<()> {
                let mut tx = self.pool.begin().await?;
                Self::insert_operation(&mut tx, tenant, operation).await?;
                tx.commit().await?;
                Ok(())
            }

            async fn get_operation(
                &self,
                tenant: &Tenant,
                kind: OperationKind,
                request_id: &str,
            ) -> Result<OperationRecord> {
                let sql = format!(
                    "SELECT {OPERATION_COLUMNS} FROM sso_operations \
                     WHERE tenant_id = $1 AND request_id = $2 AND kind = $3"
                );
                let row = sqlx::query(&sql)
                    .bind(&tenant.tenant_id)
                    .bind(request_id)
                    .bind(kind.as_str())
                    .fetch_optional(&self.pool)
                    .await?
                    .ok_or(StoreError::NotFound)?;
                operation_from_row(&row)
            }

            async fn list_operations(
                &self,
                tenant: &Tenant,
                kind: OperationKind,
                status: Option<OperationStatus>,
                args: ListArgs<'_>,
            ) -> Result<Page<OperationRecord>> {
                let mut qb = QueryBuilder::<$db>::new("SELECT ");
                qb.push(OPERATION_COLUMNS);
                qb.push(" FROM sso_operations WHERE tenant_id = ");
                qb.push_bind(&tenant.tenant_id);
                qb.push(" AND kind = ");
                qb.push_bind(kind.as_str());
                if let Some(status) = status {
                    qb.push(" AND status = ");
                    qb.push_bind(status.as_str());
                }
                if let Some(after) = args.after {
                    let (time, id) = split_key_pair(after).unwrap_or(("~", "~"));
                    let time: i64 = time.parse().unwrap_or(i64::MAX);
                    qb.push(" AND (created_ms > ");
                    qb.push_bind(time);
                    qb.push(" OR (created_ms = ");
                    qb.push_bind(time);
                    qb.push(" AND request_id > ");
                    qb.push_bind(id.to_owned());
                    qb.push("))");
                }
                qb.push(" ORDER BY created_ms, request_id LIMIT ");
                qb.push_bind(limit_plus_one(args));
                let rows = qb.build().fetch_all(&self.pool).await?;
                page_of(&rows, ListArgs { with_total: false, ..args }, operation_from_row)
            }

            async fn clear_access(&self, tenant: &Tenant) -> Result<()> {
                let mut tx = self.pool.begin().await?;
                for sql in [
                    "DELETE FROM account_assignments WHERE tenant_id = $1",
                    "DELETE FROM sso_tags WHERE tenant_id = $1 AND resource_id IN \
                     (SELECT id FROM permission_sets WHERE tenant_id = $1)",
                    "DELETE FROM permission_sets WHERE tenant_id = $1",
                    "DELETE FROM accounts WHERE tenant_id = $1",
                    "DELETE FROM sso_operations WHERE tenant_id = $1",
                ] {
                    sqlx::query(sql).bind(&tenant.tenant_id).execute(&mut *tx).await?;
                }
                tx.commit().await?;
                Ok(())
            }
        }

        impl $store {
            /// Locks the tenant's row for the transaction (a row lock on PostgreSQL, the write
            /// lock on SQLite), so that counting and inserting under a quota is one step.
            async fn lock_tenant(tx: &mut sqlx::Transaction<'_, $db>, tenant: &Tenant) -> Result<()> {
                let locked = sqlx::query("UPDATE tenants SET tenant_id = tenant_id WHERE tenant_id = $1")
                    .bind(&tenant.tenant_id)
                    .execute(&mut **tx)
                    .await?;
                if locked.rows_affected() == 0 {
                    return Err(StoreError::NotFound);
                }
                Ok(())
            }

            async fn upsert_tags(
                tx: &mut sqlx::Transaction<'_, $db>,
                tenant: &Tenant,
                resource_id: &str,
                tags: &[Tag],
            ) -> Result<()> {
                if tags.is_empty() {
                    return Ok(());
                }
                let mut qb = QueryBuilder::<$db>::new(
                    "INSERT INTO sso_tags (tenant_id, resource_id, tag_key, tag_value) ",
                );
                qb.push_values(tags, |mut row, tag| {
                    row.push_bind(&tenant.tenant_id)
                        .push_bind(resource_id)
                        .push_bind(&tag.key)
                        .push_bind(&tag.value);
                });
                qb.push(
                    " ON CONFLICT (tenant_id, resource_id, tag_key) DO UPDATE SET tag_value = excluded.tag_value",
                );
                qb.build().execute(&mut **tx).await?;
                Ok(())
            }

            async fn insert_operation(
                tx: &mut sqlx::Transaction<'_, $db>,
                tenant: &Tenant,
                op: &OperationRecord,
            ) -> Result<()> {
                sqlx::query(
                    "INSERT INTO sso_operations (tenant_id, request_id, kind, status, failure_reason, \
                     target_id, permission_set_id, principal_type, principal_id, created_ms) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
                )
                .bind(&tenant.tenant_id)
                .bind(&op.request_id)
                .bind(op.kind.as_str())
                .bind(op.status.as_str())
                .bind(&op.failure_reason)
                .bind(&op.account_id)
                .bind(&op.permission_set_id)
                .bind(op.principal.as_ref().map(|p| p.kind.as_str()))
                .bind(op.principal.as_ref().map(|p| p.id.as_str()))
                .bind(op.created_ms)
                .execute(&mut **tx)
                .await?;
                Ok(())
            }
        }
    };
}

sso_admin_store!(PgStore, sqlx::Postgres);
sso_admin_store!(SqliteStore, sqlx::Sqlite);
