//! The SQL of IAM Identity Center's account access (`SsoAdminStore`), generic over the backend
//! like the rest of the store, on the tables of `0002_sso_admin.sql`.
//!
//! Integrity is the database's: an assignment refers to its account, permission set and user or
//! group by foreign keys, so deleting a user or a group, on any path, deletes its assignments by
//! cascade, and a permission set cannot be deleted while it is assigned. Every listing is a
//! keyset page on an index: by principal, by account and permission set, by time.

use async_trait::async_trait;
use sqlx::{Connection, QueryBuilder};

use super::SqlStore;
use super::dialect::{Bind, Dialect, Fields, Push, Run, Statement};
use super::query::{get, list, push_list, push_page};
use crate::sso::{
    Account, Assignment, OperationKind, OperationStatus, PermissionSetAttrs, PolicyKind, PolicyRef,
    Principal, PrincipalType, Tag, split_key_pair,
};
use crate::store::{
    AccountRecord, AssignmentQuery, ListArgs, OperationRecord, Page, PermissionSetChange,
    PermissionSetRecord, ProvisionQuery, Result, SsoAdminStore, StoreError, Tenant,
};

/// A row that the code wrote but cannot read back: a bug or a hand-edited database.
fn corrupt(what: &str) -> StoreError {
    StoreError::Database(sqlx::Error::Decode(
        format!("unreadable {what} in the database").into(),
    ))
}

const ACCOUNT_COLUMNS: &str = "account_id, name, email, created_ms";

fn account_from_row<DB: Dialect>(row: &DB::Row) -> Result<AccountRecord> {
    Ok(AccountRecord {
        account: Account {
            account_id: row.field("account_id")?,
            name: row.field("name")?,
            email: row.field("email")?,
        },
        created_ms: row.field("created_ms")?,
    })
}

const PERMISSION_SET_COLUMNS: &str = "id, name, description, session_duration, relay_state, \
     inline_policy, boundary_kind, boundary_reference, version, created_ms";

fn permission_set_from_row<DB: Dialect>(row: &DB::Row) -> Result<PermissionSetRecord> {
    let kind: Option<String> = row.field("boundary_kind")?;
    let reference: Option<String> = row.field("boundary_reference")?;
    let boundary = match (kind, reference) {
        (Some(kind), Some(reference)) => Some(
            PolicyRef::from_stored(&kind, &reference)
                .ok_or_else(|| corrupt("permissions boundary"))?,
        ),
        _ => None,
    };
    Ok(PermissionSetRecord {
        id: row.field("id")?,
        attrs: PermissionSetAttrs {
            name: row.field("name")?,
            description: row.field("description")?,
            session_duration: row.field("session_duration")?,
            relay_state: row.field("relay_state")?,
        },
        inline_policy: row.field("inline_policy")?,
        boundary,
        version: row.field("version")?,
        created_ms: row.field("created_ms")?,
    })
}

fn policy_from_row<DB: Dialect>(row: &DB::Row) -> Result<PolicyRef> {
    let kind: String = row.field("kind")?;
    let reference: String = row.field("reference")?;
    PolicyRef::from_stored(&kind, &reference).ok_or_else(|| corrupt("policy"))
}

fn tag_from_row<DB: Dialect>(row: &DB::Row) -> Result<Tag> {
    Ok(Tag {
        key: row.field("tag_key")?,
        value: row.field("tag_value")?,
    })
}

fn principal_from<DB: Dialect>(row: &DB::Row) -> Result<Option<Principal>> {
    let kind: Option<String> = row.field("principal_type")?;
    let id: Option<String> = row.field("principal_id")?;
    match (kind, id) {
        (Some(kind), Some(id)) => Ok(Some(Principal {
            kind: PrincipalType::parse(&kind).ok_or_else(|| corrupt("principal type"))?,
            id,
        })),
        _ => Ok(None),
    }
}

const ASSIGNMENT_COLUMNS: &str = "account_id, permission_set_id, principal_type, principal_id";

fn assignment_from_row<DB: Dialect>(row: &DB::Row) -> Result<Assignment> {
    Ok(Assignment {
        account_id: row.field("account_id")?,
        permission_set_id: row.field("permission_set_id")?,
        principal: principal_from::<DB>(row)?.ok_or_else(|| corrupt("assignment"))?,
    })
}

fn listed_from_row<DB: Dialect>(row: &DB::Row) -> Result<String> {
    Ok(row.field("listed")?)
}

const OPERATION_COLUMNS: &str = "request_id, kind, status, failure_reason, target_id, \
     permission_set_id, principal_type, principal_id, created_ms";

fn operation_from_row<DB: Dialect>(row: &DB::Row) -> Result<OperationRecord> {
    let kind: String = row.field("kind")?;
    let status: String = row.field("status")?;
    Ok(OperationRecord {
        request_id: row.field("request_id")?,
        kind: OperationKind::parse(&kind).ok_or_else(|| corrupt("operation kind"))?,
        status: OperationStatus::parse(&status).ok_or_else(|| corrupt("operation status"))?,
        failure_reason: row.field("failure_reason")?,
        account_id: row.field("target_id")?,
        permission_set_id: row.field("permission_set_id")?,
        principal: principal_from::<DB>(row)?,
        created_ms: row.field("created_ms")?,
    })
}

/// The user or group column an assignment's principal is held in.
fn principal_column(kind: PrincipalType) -> &'static str {
    match kind {
        PrincipalType::User => "user_id",
        PrincipalType::Group => "group_id",
    }
}

/// Keyset paging on two columns: rows after the key pair (`sso::key_pair`), in the order of
/// both, one more than the page holds. A key that is no pair (the API refuses such tokens)
/// starts after everything.
fn push_page_pair<'a, DB: Dialect>(
    qb: &mut QueryBuilder<'a, DB>,
    (first, second): (&str, &str),
    args: ListArgs<'a>,
) {
    if let Some(after) = args.after {
        let (a, b) = split_key_pair(after).unwrap_or(("~", "~"));
        qb.push(format_args!(" AND ({first} > "))
            .push_arg(a)
            .push(format_args!(" OR ({first} = "))
            .push_arg(a)
            .push(format_args!(" AND {second} > "))
            .push_arg(b)
            .push("))");
    }
    qb.push(format_args!(" ORDER BY {first}, {second} LIMIT "))
        .push_arg(i64::from(args.limit) + 1);
}

fn without_total(args: ListArgs<'_>) -> ListArgs<'_> {
    ListArgs {
        with_total: false,
        ..args
    }
}

impl<DB: Dialect> SqlStore<DB> {
    /// Locks the tenant's row for the transaction (a row lock on PostgreSQL, the write lock on
    /// SQLite), so that counting and inserting under a quota is one step.
    async fn lock_tenant(tx: &mut DB::Connection, tenant: &Tenant) -> Result<()> {
        let locked = Self::query("UPDATE tenants SET tenant_id = tenant_id WHERE tenant_id = $1")
            .arg(&tenant.tenant_id)
            .execute_in(tx)
            .await?;
        if locked == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    /// The `n` a `SELECT COUNT(*) AS n ...` answers.
    async fn count<'q, 'a: 'q>(
        tx: &mut DB::Connection,
        query: Statement<'q, 'a, DB>,
    ) -> Result<i64> {
        Ok(query
            .fetch_optional_in(tx)
            .await?
            .ok_or(StoreError::NotFound)?
            .field("n")?)
    }

    /// The version of a permission set (`NotFound` if there is none), read with a write that
    /// changes nothing: the transaction's first statement writes, so that SQLite takes its
    /// write lock at the start, and PostgreSQL orders the writes of one permission set.
    async fn lock_version(tx: &mut DB::Connection, tenant: &Tenant, id: &str) -> Result<i64> {
        Ok(Self::query(
            "UPDATE permission_sets SET version = version WHERE tenant_id = $1 AND id = $2 \
             RETURNING version",
        )
        .arg(&tenant.tenant_id)
        .arg(id)
        .fetch_optional_in(tx)
        .await?
        .ok_or(StoreError::NotFound)?
        .field("version")?)
    }

    async fn upsert_tags(
        tx: &mut DB::Connection,
        tenant: &Tenant,
        resource_id: &str,
        tags: &[Tag],
    ) -> Result<()> {
        if tags.is_empty() {
            return Ok(());
        }
        let mut qb = QueryBuilder::<DB>::new(
            "INSERT INTO sso_tags (tenant_id, resource_id, tag_key, tag_value) VALUES ",
        );
        push_list(&mut qb, tags, |qb, tag| {
            qb.push("(")
                .push_arg(&tenant.tenant_id)
                .push(", ")
                .push_arg(resource_id)
                .push(", ")
                .push_arg(&tag.key)
                .push(", ")
                .push_arg(&tag.value)
                .push(")");
        });
        qb.push(
            " ON CONFLICT (tenant_id, resource_id, tag_key) DO UPDATE SET tag_value = excluded.tag_value",
        );
        qb.build().execute_in(tx).await?;
        Ok(())
    }

    async fn insert_operation(
        tx: &mut DB::Connection,
        tenant: &Tenant,
        op: &OperationRecord,
    ) -> Result<()> {
        Self::query(
            "INSERT INTO sso_operations (tenant_id, request_id, kind, status, failure_reason, \
             target_id, permission_set_id, principal_type, principal_id, created_ms) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .arg(&tenant.tenant_id)
        .arg(&op.request_id)
        .arg(op.kind.as_str())
        .arg(op.status.as_str())
        .arg(&op.failure_reason)
        .arg(&op.account_id)
        .arg(&op.permission_set_id)
        .arg(op.principal.as_ref().map(|p| p.kind.as_str()))
        .arg(op.principal.as_ref().map(|p| p.id.as_str()))
        .arg(op.created_ms)
        .execute_in(tx)
        .await?;
        Ok(())
    }
}

#[async_trait]
impl<DB: Dialect> SsoAdminStore for SqlStore<DB> {
    async fn instance_name(&self, tenant: &Tenant) -> Result<Option<String>> {
        let mut conn = self.read().await?;
        let row = Self::query("SELECT name FROM sso_instances WHERE tenant_id = $1")
            .arg(&tenant.tenant_id)
            .fetch_optional_in(&mut *conn)
            .await?;
        Ok(row.map(|r| r.field("name")).transpose()?)
    }

    async fn set_instance_name(&self, tenant: &Tenant, name: &str) -> Result<()> {
        let mut conn = self.write().await?;
        Self::query(
            "INSERT INTO sso_instances (tenant_id, name) VALUES ($1, $2) \
             ON CONFLICT (tenant_id) DO UPDATE SET name = excluded.name",
        )
        .arg(&tenant.tenant_id)
        .arg(name)
        .execute_in(&mut *conn)
        .await
        .map_err(|e| match StoreError::from(e) {
            // The tenant went away meanwhile.
            StoreError::MemberNotFound => StoreError::NotFound,
            other => other,
        })?;
        Ok(())
    }

    async fn create_account(&self, tenant: &Tenant, account: &Account, now_ms: i64) -> Result<()> {
        let mut conn = self.write().await?;
        Self::query(
            "INSERT INTO accounts (tenant_id, account_id, name, email, created_ms) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .arg(&tenant.tenant_id)
        .arg(&account.account_id)
        .arg(&account.name)
        .arg(&account.email)
        .arg(now_ms)
        .execute_in(&mut *conn)
        .await?;
        Ok(())
    }

    async fn get_account(&self, tenant: &Tenant, account_id: &str) -> Result<AccountRecord> {
        let mut conn = self.read().await?;
        let sql = format!(
            "SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE tenant_id = $1 AND account_id = $2"
        );
        let query = Self::query(&sql).arg(&tenant.tenant_id).arg(account_id);
        get(&mut *conn, query, account_from_row::<DB>).await
    }

    async fn list_accounts(
        &self,
        tenant: &Tenant,
        args: ListArgs<'_>,
    ) -> Result<Page<AccountRecord>> {
        let mut qb = QueryBuilder::<DB>::new(format!(
            "SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE tenant_id = "
        ));
        qb.push_arg(&tenant.tenant_id);
        let args = without_total(args);
        push_page(&mut qb, "account_id", args);
        let mut conn = self.read().await?;
        list(&mut *conn, qb, args, account_from_row::<DB>).await
    }

    async fn delete_account(&self, tenant: &Tenant, account_id: &str) -> Result<()> {
        let mut conn = self.write().await?;
        let deleted = Self::query("DELETE FROM accounts WHERE tenant_id = $1 AND account_id = $2")
            .arg(&tenant.tenant_id)
            .arg(account_id)
            .execute_in(&mut *conn)
            .await?;
        if deleted == 0 {
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
        let mut writer = self.write().await?;
        let mut tx = writer.begin_with(DB::BEGIN_WRITE).await?;
        Self::lock_tenant(&mut tx, tenant).await?;
        let count = Self::count(
            &mut tx,
            Self::query("SELECT COUNT(*) AS n FROM permission_sets WHERE tenant_id = $1")
                .arg(&tenant.tenant_id),
        )
        .await?;
        if count >= max as i64 {
            return Err(StoreError::LimitReached);
        }
        let boundary = record.boundary.as_ref();
        Self::query(
            "INSERT INTO permission_sets (tenant_id, id, name, name_lower, description, \
             session_duration, relay_state, inline_policy, boundary_kind, boundary_reference, \
             version, created_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        )
        .arg(&tenant.tenant_id)
        .arg(&record.id)
        .arg(&record.attrs.name)
        .arg(record.attrs.name_key())
        .arg(&record.attrs.description)
        .arg(&record.attrs.session_duration)
        .arg(&record.attrs.relay_state)
        .arg(&record.inline_policy)
        .arg(boundary.map(|b| b.kind().as_str()))
        .arg(boundary.map(PolicyRef::reference))
        .arg(record.version)
        .arg(record.created_ms)
        .execute_in(&mut *tx)
        .await?;
        Self::upsert_tags(&mut tx, tenant, &record.id, tags).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn get_permission_set(&self, tenant: &Tenant, id: &str) -> Result<PermissionSetRecord> {
        let mut conn = self.read().await?;
        let sql = format!(
            "SELECT {PERMISSION_SET_COLUMNS} FROM permission_sets WHERE tenant_id = $1 AND id = $2"
        );
        let query = Self::query(&sql).arg(&tenant.tenant_id).arg(id);
        get(&mut *conn, query, permission_set_from_row::<DB>).await
    }

    async fn find_permission_set(
        &self,
        tenant: &Tenant,
        name: &str,
    ) -> Result<PermissionSetRecord> {
        let mut conn = self.read().await?;
        let sql = format!(
            "SELECT {PERMISSION_SET_COLUMNS} FROM permission_sets \
             WHERE tenant_id = $1 AND name_lower = $2"
        );
        let query = Self::query(&sql)
            .arg(&tenant.tenant_id)
            .arg(name.to_lowercase());
        get(&mut *conn, query, permission_set_from_row::<DB>).await
    }

    async fn list_permission_sets(
        &self,
        tenant: &Tenant,
        args: ListArgs<'_>,
    ) -> Result<Page<PermissionSetRecord>> {
        let mut qb = QueryBuilder::<DB>::new(format!(
            "SELECT {PERMISSION_SET_COLUMNS} FROM permission_sets WHERE tenant_id = "
        ));
        qb.push_arg(&tenant.tenant_id);
        let args = without_total(args);
        push_page(&mut qb, "id", args);
        let mut conn = self.read().await?;
        list(&mut *conn, qb, args, permission_set_from_row::<DB>).await
    }

    async fn update_permission_set(
        &self,
        tenant: &Tenant,
        id: &str,
        change: PermissionSetChange<'_>,
    ) -> Result<()> {
        let mut qb = QueryBuilder::<DB>::new("UPDATE permission_sets SET version = version + 1");
        match change {
            PermissionSetChange::Attrs(attrs) => {
                qb.push(", description = ")
                    .push_arg(&attrs.description)
                    .push(", session_duration = ")
                    .push_arg(&attrs.session_duration)
                    .push(", relay_state = ")
                    .push_arg(&attrs.relay_state);
            }
            PermissionSetChange::InlinePolicy(policy) => {
                qb.push(", inline_policy = ").push_arg(policy);
            }
            PermissionSetChange::Boundary(boundary) => {
                qb.push(", boundary_kind = ")
                    .push_arg(boundary.map(|b| b.kind().as_str()))
                    .push(", boundary_reference = ")
                    .push_arg(boundary.map(PolicyRef::reference));
            }
        }
        qb.push(" WHERE tenant_id = ")
            .push_arg(&tenant.tenant_id)
            .push(" AND id = ")
            .push_arg(id);
        let mut conn = self.write().await?;
        if qb.build().execute_in(&mut *conn).await? == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    async fn delete_permission_set(&self, tenant: &Tenant, id: &str) -> Result<()> {
        let mut writer = self.write().await?;
        let mut tx = writer.begin_with(DB::BEGIN_WRITE).await?;
        // An assignment refers to its permission set without cascade: the delete fails on its
        // foreign key, also when the assignment was made a moment ago.
        let deleted = Self::query("DELETE FROM permission_sets WHERE tenant_id = $1 AND id = $2")
            .arg(&tenant.tenant_id)
            .arg(id)
            .execute_in(&mut *tx)
            .await
            .map_err(|e| match StoreError::from(e) {
                StoreError::MemberNotFound => StoreError::InUse,
                other => other,
            })?;
        if deleted == 0 {
            return Err(StoreError::NotFound);
        }
        Self::query("DELETE FROM sso_tags WHERE tenant_id = $1 AND resource_id = $2")
            .arg(&tenant.tenant_id)
            .arg(id)
            .execute_in(&mut *tx)
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
        let mut writer = self.write().await?;
        let mut tx = writer.begin_with(DB::BEGIN_WRITE).await?;
        // The write first: it locks the permission set, so that two attachments cannot both
        // see room for one more policy.
        let touched = Self::query(
            "UPDATE permission_sets SET version = version + 1 WHERE tenant_id = $1 AND id = $2",
        )
        .arg(&tenant.tenant_id)
        .arg(id)
        .execute_in(&mut *tx)
        .await?;
        if touched == 0 {
            return Err(StoreError::NotFound);
        }
        let count = Self::count(
            &mut tx,
            Self::query(
                "SELECT COUNT(*) AS n FROM permission_set_policies \
                 WHERE tenant_id = $1 AND permission_set_id = $2",
            )
            .arg(&tenant.tenant_id)
            .arg(id),
        )
        .await?;
        Self::query(
            "INSERT INTO permission_set_policies (tenant_id, permission_set_id, kind, reference) \
             VALUES ($1, $2, $3, $4)",
        )
        .arg(&tenant.tenant_id)
        .arg(id)
        .arg(policy.kind().as_str())
        .arg(policy.reference())
        .execute_in(&mut *tx)
        .await?;
        if count >= max as i64 {
            return Err(StoreError::LimitReached);
        }
        tx.commit().await?;
        Ok(())
    }

    async fn detach_policy(&self, tenant: &Tenant, id: &str, policy: &PolicyRef) -> Result<()> {
        let mut writer = self.write().await?;
        let mut tx = writer.begin_with(DB::BEGIN_WRITE).await?;
        let deleted = Self::query(
            "DELETE FROM permission_set_policies WHERE tenant_id = $1 AND permission_set_id = $2 \
             AND kind = $3 AND reference = $4",
        )
        .arg(&tenant.tenant_id)
        .arg(id)
        .arg(policy.kind().as_str())
        .arg(policy.reference())
        .execute_in(&mut *tx)
        .await?;
        if deleted == 0 {
            return Err(StoreError::NotFound);
        }
        Self::query(
            "UPDATE permission_sets SET version = version + 1 WHERE tenant_id = $1 AND id = $2",
        )
        .arg(&tenant.tenant_id)
        .arg(id)
        .execute_in(&mut *tx)
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
        let mut qb = QueryBuilder::<DB>::new(
            "SELECT kind, reference FROM permission_set_policies WHERE tenant_id = ",
        );
        qb.push_arg(&tenant.tenant_id)
            .push(" AND permission_set_id = ")
            .push_arg(id)
            .push(" AND kind = ")
            .push_arg(kind.as_str());
        let args = without_total(args);
        push_page(&mut qb, "reference", args);
        let mut conn = self.read().await?;
        list(&mut *conn, qb, args, policy_from_row::<DB>).await
    }

    async fn tag_resource(
        &self,
        tenant: &Tenant,
        resource_id: &str,
        tags: &[Tag],
        max: usize,
    ) -> Result<()> {
        let mut writer = self.write().await?;
        let mut tx = writer.begin_with(DB::BEGIN_WRITE).await?;
        Self::lock_tenant(&mut tx, tenant).await?;
        Self::upsert_tags(&mut tx, tenant, resource_id, tags).await?;
        let count = Self::count(
            &mut tx,
            Self::query(
                "SELECT COUNT(*) AS n FROM sso_tags WHERE tenant_id = $1 AND resource_id = $2",
            )
            .arg(&tenant.tenant_id)
            .arg(resource_id),
        )
        .await?;
        if count > max as i64 {
            return Err(StoreError::LimitReached);
        }
        tx.commit().await?;
        Ok(())
    }

    async fn untag_resource(
        &self,
        tenant: &Tenant,
        resource_id: &str,
        keys: &[String],
    ) -> Result<()> {
        if keys.is_empty() {
            return Ok(());
        }
        let mut qb = QueryBuilder::<DB>::new("DELETE FROM sso_tags WHERE tenant_id = ");
        qb.push_arg(&tenant.tenant_id)
            .push(" AND resource_id = ")
            .push_arg(resource_id)
            .push(" AND tag_key IN (");
        push_list(&mut qb, keys, |qb, key| {
            qb.push_arg(key);
        });
        qb.push(")");
        let mut conn = self.write().await?;
        qb.build().execute_in(&mut *conn).await?;
        Ok(())
    }

    async fn list_tags(
        &self,
        tenant: &Tenant,
        resource_id: &str,
        args: ListArgs<'_>,
    ) -> Result<Page<Tag>> {
        let mut qb =
            QueryBuilder::<DB>::new("SELECT tag_key, tag_value FROM sso_tags WHERE tenant_id = ");
        qb.push_arg(&tenant.tenant_id)
            .push(" AND resource_id = ")
            .push_arg(resource_id);
        let args = without_total(args);
        push_page(&mut qb, "tag_key", args);
        let mut conn = self.read().await?;
        list(&mut *conn, qb, args, tag_from_row::<DB>).await
    }

    async fn create_assignment(
        &self,
        tenant: &Tenant,
        assignment: &Assignment,
        operation: Option<&OperationRecord>,
        now_ms: i64,
    ) -> Result<()> {
        let mut writer = self.write().await?;
        let mut tx = writer.begin_with(DB::BEGIN_WRITE).await?;
        let version = Self::lock_version(&mut tx, tenant, &assignment.permission_set_id).await?;
        let principal = &assignment.principal;
        let (user_id, group_id) = match principal.kind {
            PrincipalType::User => (Some(&principal.id), None),
            PrincipalType::Group => (None, Some(&principal.id)),
        };
        Self::query(
            "INSERT INTO account_assignments (tenant_id, account_id, permission_set_id, \
             principal_type, principal_id, user_id, group_id, created_ms) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING",
        )
        .arg(&tenant.tenant_id)
        .arg(&assignment.account_id)
        .arg(&assignment.permission_set_id)
        .arg(principal.kind.as_str())
        .arg(&principal.id)
        .arg(user_id)
        .arg(group_id)
        .arg(now_ms)
        .execute_in(&mut *tx)
        .await?;
        Self::query(
            "INSERT INTO permission_set_provisions (tenant_id, permission_set_id, account_id, \
             version) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (tenant_id, permission_set_id, account_id) \
             DO UPDATE SET version = excluded.version",
        )
        .arg(&tenant.tenant_id)
        .arg(&assignment.permission_set_id)
        .arg(&assignment.account_id)
        .arg(version)
        .execute_in(&mut *tx)
        .await?;
        if let Some(operation) = operation {
            Self::insert_operation(&mut tx, tenant, operation).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn delete_assignment(
        &self,
        tenant: &Tenant,
        assignment: &Assignment,
        operation: &OperationRecord,
    ) -> Result<()> {
        let mut writer = self.write().await?;
        let mut tx = writer.begin_with(DB::BEGIN_WRITE).await?;
        let deleted = Self::query(
            "DELETE FROM account_assignments WHERE tenant_id = $1 AND account_id = $2 \
             AND permission_set_id = $3 AND principal_type = $4 AND principal_id = $5",
        )
        .arg(&tenant.tenant_id)
        .arg(&assignment.account_id)
        .arg(&assignment.permission_set_id)
        .arg(assignment.principal.kind.as_str())
        .arg(&assignment.principal.id)
        .execute_in(&mut *tx)
        .await?;
        if deleted == 0 {
            return Err(StoreError::NotFound);
        }
        // The last assignment of a permission set in an account deprovisions it there, as AWS
        // does (its provisioning to that account is "not found" afterwards:
        // hashicorp/terraform-provider-aws#35158 and #33337).
        Self::query(
            "DELETE FROM permission_set_provisions WHERE tenant_id = $1 \
             AND permission_set_id = $2 AND account_id = $3 \
             AND NOT EXISTS (SELECT 1 FROM account_assignments a WHERE a.tenant_id = $1 \
             AND a.account_id = $3 AND a.permission_set_id = $2)",
        )
        .arg(&tenant.tenant_id)
        .arg(&assignment.permission_set_id)
        .arg(&assignment.account_id)
        .execute_in(&mut *tx)
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
        let mut qb = QueryBuilder::<DB>::new(format!(
            "SELECT {ASSIGNMENT_COLUMNS} FROM account_assignments WHERE tenant_id = "
        ));
        qb.push_arg(&tenant.tenant_id);
        let order = match query {
            AssignmentQuery::AccountPermissionSet {
                account_id,
                permission_set_id,
            } => {
                qb.push(" AND account_id = ")
                    .push_arg(account_id)
                    .push(" AND permission_set_id = ")
                    .push_arg(permission_set_id);
                ("principal_type", "principal_id")
            }
            AssignmentQuery::Principal {
                principal,
                account_id,
            } => {
                qb.push(format_args!(" AND {} = ", principal_column(principal.kind)))
                    .push_arg(&principal.id);
                if let Some(account) = account_id {
                    qb.push(" AND account_id = ").push_arg(account);
                }
                ("account_id", "permission_set_id")
            }
        };
        let args = without_total(args);
        push_page_pair(&mut qb, order, args);
        let mut conn = self.read().await?;
        list(&mut *conn, qb, args, assignment_from_row::<DB>).await
    }

    async fn provision(
        &self,
        tenant: &Tenant,
        permission_set_id: &str,
        account_id: Option<&str>,
    ) -> Result<u64> {
        let mut writer = self.write().await?;
        let mut tx = writer.begin_with(DB::BEGIN_WRITE).await?;
        let version = Self::lock_version(&mut tx, tenant, permission_set_id).await?;
        let mut qb = QueryBuilder::<DB>::new("UPDATE permission_set_provisions SET version = ");
        qb.push_arg(version)
            .push(" WHERE tenant_id = ")
            .push_arg(&tenant.tenant_id)
            .push(" AND permission_set_id = ")
            .push_arg(permission_set_id);
        if let Some(account) = account_id {
            qb.push(" AND account_id = ").push_arg(account);
        }
        qb.push(
            " AND EXISTS (SELECT 1 FROM account_assignments a \
             WHERE a.tenant_id = permission_set_provisions.tenant_id \
             AND a.account_id = permission_set_provisions.account_id \
             AND a.permission_set_id = permission_set_provisions.permission_set_id)",
        );
        let reached = qb.build().execute_in(&mut *tx).await?;
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
        let (fixed, value, listed) = match query {
            ProvisionQuery::AccountsOf(ps) => ("permission_set_id", ps, "account_id"),
            ProvisionQuery::PermissionSetsIn(account) => {
                ("account_id", account, "permission_set_id")
            }
        };
        let mut qb = QueryBuilder::<DB>::new(format!(
            "SELECT p.{listed} AS listed FROM permission_set_provisions p \
             JOIN permission_sets s ON s.tenant_id = p.tenant_id AND s.id = p.permission_set_id \
             WHERE p.tenant_id = "
        ));
        qb.push_arg(&tenant.tenant_id)
            .push(format_args!(" AND p.{fixed} = "))
            .push_arg(value)
            .push(
                " AND EXISTS (SELECT 1 FROM account_assignments a \
                 WHERE a.tenant_id = p.tenant_id AND a.account_id = p.account_id \
                 AND a.permission_set_id = p.permission_set_id)",
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
        let args = without_total(args);
        push_page(&mut qb, &format!("p.{listed}"), args);
        let mut conn = self.read().await?;
        list(&mut *conn, qb, args, listed_from_row::<DB>).await
    }

    async fn record_operation(&self, tenant: &Tenant, operation: &OperationRecord) -> Result<()> {
        let mut conn = self.write().await?;
        Self::insert_operation(&mut conn, tenant, operation).await
    }

    async fn get_operation(
        &self,
        tenant: &Tenant,
        kind: OperationKind,
        request_id: &str,
    ) -> Result<OperationRecord> {
        let mut conn = self.read().await?;
        let sql = format!(
            "SELECT {OPERATION_COLUMNS} FROM sso_operations \
             WHERE tenant_id = $1 AND request_id = $2 AND kind = $3"
        );
        let query = Self::query(&sql)
            .arg(&tenant.tenant_id)
            .arg(request_id)
            .arg(kind.as_str());
        get(&mut *conn, query, operation_from_row::<DB>).await
    }

    async fn list_operations(
        &self,
        tenant: &Tenant,
        kind: OperationKind,
        status: Option<OperationStatus>,
        args: ListArgs<'_>,
    ) -> Result<Page<OperationRecord>> {
        let mut qb = QueryBuilder::<DB>::new(format!(
            "SELECT {OPERATION_COLUMNS} FROM sso_operations WHERE tenant_id = "
        ));
        qb.push_arg(&tenant.tenant_id)
            .push(" AND kind = ")
            .push_arg(kind.as_str());
        if let Some(status) = status {
            qb.push(" AND status = ").push_arg(status.as_str());
        }
        // The key is the time, zero-padded, and the request id (`OperationRecord::key`).
        if let Some(after) = args.after {
            let (time, id) = split_key_pair(after).unwrap_or(("~", "~"));
            let time: i64 = time.parse().unwrap_or(i64::MAX);
            qb.push(" AND (created_ms > ")
                .push_arg(time)
                .push(" OR (created_ms = ")
                .push_arg(time)
                .push(" AND request_id > ")
                .push_arg(id)
                .push("))");
        }
        qb.push(" ORDER BY created_ms, request_id LIMIT ")
            .push_arg(i64::from(args.limit) + 1);
        let args = without_total(args);
        let mut conn = self.read().await?;
        list(&mut *conn, qb, args, operation_from_row::<DB>).await
    }

    async fn clear_access(&self, tenant: &Tenant) -> Result<()> {
        let mut writer = self.write().await?;
        let mut tx = writer.begin_with(DB::BEGIN_WRITE).await?;
        for sql in [
            "DELETE FROM account_assignments WHERE tenant_id = $1",
            "DELETE FROM sso_tags WHERE tenant_id = $1 AND resource_id IN \
             (SELECT id FROM permission_sets WHERE tenant_id = $1)",
            "DELETE FROM permission_sets WHERE tenant_id = $1",
            "DELETE FROM accounts WHERE tenant_id = $1",
            "DELETE FROM sso_operations WHERE tenant_id = $1",
        ] {
            Self::query(sql)
                .arg(&tenant.tenant_id)
                .execute_in(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }
}
