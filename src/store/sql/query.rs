//! The parts of the SQL that several verbs share: the allow-listed queries of `scim::query` as
//! `FROM ... WHERE ...`, keyset paging, the get and list skeletons, and the decoding of rows.
//! Every value is a bound parameter; only column and table names are SQL text.

use sqlx::QueryBuilder;

use super::dialect::{Dialect, Fields, Push, Run, Statement};
use crate::scim::group::GroupAttrs;
use crate::scim::query::{GroupQuery, UserQuery};
use crate::scim::user::UserAttrs;
use crate::store::{
    GroupRecord, ListArgs, Membership, Page, Result, StoreError, StoredUser, Tenant, TenantInfo,
    UserRecord,
};

/// The columns of a tenant.
pub const TENANT_COLUMNS: &str =
    "tenant_id, identity_store_id, provisioning_enabled, is_default, created_ms";

/// The columns of a user record; no table joined to `users` has columns of these names.
pub const USER_COLUMNS: &str = "id, data, version, created_ms, modified_ms";

/// The names of `USER_COLUMNS`, in their order.
pub const USER_COLUMN_NAMES: [&str; 5] = ["id", "data", "version", "created_ms", "modified_ms"];

/// The columns of a group record; no table joined to `groups` has columns of these names.
pub const GROUP_COLUMNS: &str = "id, display_name, external_id, version, created_ms, modified_ms";

/// The columns of a membership.
pub const MEMBERSHIP_COLUMNS: &str = "membership_id, group_id, user_id";

/// The one row a query selects, decoded; `NotFound` without one.
pub async fn get<'q, 'a: 'q, DB: Dialect, T>(
    conn: &mut DB::Connection,
    query: Statement<'q, 'a, DB>,
    decode: fn(&DB::Row) -> Result<T>,
) -> Result<T> {
    let row = query
        .fetch_optional_in(conn)
        .await?
        .ok_or(StoreError::NotFound)?;
    decode(&row)
}

/// A page of a keyset listing built by `qb` (which ends with `push_page`), decoded: `limit + 1`
/// rows were asked for, to learn whether more follow.
pub async fn list<DB: Dialect, T>(
    conn: &mut DB::Connection,
    mut qb: QueryBuilder<'_, DB>,
    args: ListArgs<'_>,
    decode: fn(&DB::Row) -> Result<T>,
) -> Result<Page<T>> {
    let rows = qb.build().fetch_all_in(conn).await?;
    let total = match (args.with_total, rows.first()) {
        (false, _) => None,
        (true, None) => Some(0),
        (true, Some(row)) => Some(row.field::<i64>("total")?),
    };
    let more = rows.len() > args.limit as usize;
    let items = rows
        .iter()
        .take(args.limit as usize)
        .map(decode)
        .collect::<Result<Vec<_>>>()?;
    Ok(Page { items, total, more })
}

/// Keyset paging: rows whose `key` column follows the cursor, in `key` order, one more than
/// the page holds.
pub fn push_page<'a, DB: Dialect>(qb: &mut QueryBuilder<'a, DB>, key: &str, args: ListArgs<'a>) {
    if let Some(after) = args.after {
        qb.push(format_args!(" AND {key} > ")).push_arg(after);
    }
    qb.push(format_args!(" ORDER BY {key} LIMIT "))
        .push_arg(i64::from(args.limit) + 1);
}

/// Pushes `each` of `items`, separated by commas.
pub fn push_list<'a, DB: Dialect, T>(
    qb: &mut QueryBuilder<'a, DB>,
    items: impl IntoIterator<Item = T>,
    mut each: impl FnMut(&mut QueryBuilder<'a, DB>, T),
) {
    for (i, item) in items.into_iter().enumerate() {
        if i > 0 {
            qb.push(", ");
        }
        each(qb, item);
    }
}

/// A user list: `SELECT` its columns (and the total, if asked) `FROM ... WHERE ...`, paged.
pub fn users<'a, DB: Dialect>(
    tenant: &'a Tenant,
    query: &'a UserQuery,
    args: ListArgs<'a>,
) -> QueryBuilder<'a, DB> {
    let mut qb = QueryBuilder::new(format!("SELECT {USER_COLUMNS}"));
    if args.with_total {
        qb.push(", (SELECT COUNT(*)");
        match query {
            // Members always are users (foreign key): the index alone counts them.
            UserQuery::Group(group) => {
                qb.push(" FROM group_members m WHERE m.tenant_id = ")
                    .push_arg(&tenant.tenant_id)
                    .push(" AND m.group_id = ")
                    .push_arg(group);
            }
            _ => user_source(&mut qb, tenant, query),
        }
        qb.push(") AS total");
    }
    user_source(&mut qb, tenant, query);
    push_page(&mut qb, "u.id", args);
    qb
}

/// `FROM ... WHERE ...` of a user list: the rows the query selects.
fn user_source<'a, DB: Dialect>(
    qb: &mut QueryBuilder<'a, DB>,
    tenant: &'a Tenant,
    query: &'a UserQuery,
) {
    qb.push(" FROM users u");
    if let UserQuery::Group(group) = query {
        qb.push(" JOIN group_members m ON m.tenant_id = u.tenant_id AND m.user_id = u.id")
            .push(" AND m.group_id = ")
            .push_arg(group);
    }
    qb.push(" WHERE u.tenant_id = ").push_arg(&tenant.tenant_id);
    match query {
        UserQuery::All | UserQuery::Group(_) => {}
        UserQuery::UserName(name) => {
            qb.push(" AND u.user_name_lower = ")
                .push_arg(name.to_lowercase());
        }
        UserQuery::ExternalId(ext) => {
            qb.push(" AND u.external_id = ").push_arg(ext);
        }
        UserQuery::Email(email) => {
            qb.push(" AND u.email_lower = ")
                .push_arg(email.to_lowercase());
        }
        UserQuery::Id(id) => {
            qb.push(" AND u.id = ").push_arg(id);
        }
        UserQuery::UserNamePrefix(prefix) => {
            qb.push(" AND u.user_name_lower LIKE ")
                .push_arg(like_prefix(prefix))
                .push(" ESCAPE '\\'");
        }
        UserQuery::IdAndManager { id, manager } => {
            qb.push(" AND u.id = ")
                .push_arg(id)
                .push(" AND u.manager_id = ")
                .push_arg(manager);
        }
    }
}

/// A group list: `SELECT` its columns (and the total, if asked) `FROM ... WHERE ...`, paged.
pub fn groups<'a, DB: Dialect>(
    tenant: &'a Tenant,
    query: &'a GroupQuery,
    args: ListArgs<'a>,
) -> QueryBuilder<'a, DB> {
    let mut qb = QueryBuilder::new(format!("SELECT {GROUP_COLUMNS}"));
    if args.with_total {
        qb.push(", (SELECT COUNT(*)");
        match query {
            GroupQuery::Member(user) => {
                qb.push(" FROM group_members m WHERE m.tenant_id = ")
                    .push_arg(&tenant.tenant_id)
                    .push(" AND m.user_id = ")
                    .push_arg(user);
            }
            _ => group_source(&mut qb, tenant, query),
        }
        qb.push(") AS total");
    }
    group_source(&mut qb, tenant, query);
    push_page(&mut qb, "g.id", args);
    qb
}

/// `FROM ... WHERE ...` of a group list.
fn group_source<'a, DB: Dialect>(
    qb: &mut QueryBuilder<'a, DB>,
    tenant: &'a Tenant,
    query: &'a GroupQuery,
) {
    qb.push(" FROM groups g");
    if let GroupQuery::Member(user) = query {
        qb.push(" JOIN group_members m ON m.tenant_id = g.tenant_id AND m.group_id = g.id")
            .push(" AND m.user_id = ")
            .push_arg(user);
    }
    qb.push(" WHERE g.tenant_id = ").push_arg(&tenant.tenant_id);
    match query {
        GroupQuery::All | GroupQuery::Member(_) => {}
        GroupQuery::DisplayName(name) => {
            qb.push(" AND g.display_name_lower = ")
                .push_arg(name.to_lowercase());
        }
        GroupQuery::ExternalId(ext) => {
            qb.push(" AND g.external_id = ").push_arg(ext);
        }
        GroupQuery::Id(id) => {
            qb.push(" AND g.id = ").push_arg(id);
        }
        GroupQuery::DisplayNamePrefix(prefix) => {
            qb.push(" AND g.display_name_lower LIKE ")
                .push_arg(like_prefix(prefix))
                .push(" ESCAPE '\\'");
        }
        GroupQuery::IdAndMember { id, member } => {
            qb.push(" AND g.id = ")
                .push_arg(id)
                .push(" AND EXISTS (SELECT 1 FROM group_members m")
                .push(" WHERE m.tenant_id = g.tenant_id AND m.group_id = g.id AND m.user_id = ")
                .push_arg(member)
                .push(")");
        }
    }
}

/// The `LIKE` pattern of the lowercase values that start with `prefix`: its wildcards and the
/// escape character (a backslash) match themselves.
fn like_prefix(prefix: &str) -> String {
    let mut pattern = String::with_capacity(prefix.len() + 1);
    for c in prefix.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

pub fn tenant_from_row<DB: Dialect>(row: &DB::Row) -> Result<Tenant> {
    Ok(Tenant {
        tenant_id: row.field("tenant_id")?,
        identity_store_id: row.field("identity_store_id")?,
        provisioning_enabled: row.field("provisioning_enabled")?,
    })
}

pub fn tenant_info_from_row<DB: Dialect>(row: &DB::Row) -> Result<TenantInfo> {
    Ok(TenantInfo {
        tenant: tenant_from_row::<DB>(row)?,
        is_default: row.field("is_default")?,
        created_ms: row.field("created_ms")?,
    })
}

pub fn user_from_row<DB: Dialect>(row: &DB::Row) -> Result<UserRecord> {
    stored_user_from_row::<DB>(row)?.parse()
}

/// A user of a row whose first columns are `USER_COLUMNS` (`USER_COLUMN_NAMES`), read by
/// position: reads of users are the hot path, and a name costs a lookup per column and row.
pub fn stored_user_from_row<DB: Dialect>(row: &DB::Row) -> Result<StoredUser> {
    use sqlx::{Column, Row};
    debug_assert!(
        row.columns()
            .iter()
            .map(|c| c.name())
            .take(USER_COLUMN_NAMES.len())
            .eq(USER_COLUMN_NAMES),
        "a user's row begins with USER_COLUMNS"
    );
    Ok(StoredUser {
        id: row.field_at(0)?,
        data: row.field_at(1)?,
        version: row.field_at(2)?,
        created_ms: row.field_at(3)?,
        modified_ms: row.field_at(4)?,
    })
}

/// The JSON a user's attributes are stored as.
pub fn user_data(attrs: &UserAttrs) -> String {
    serde_json::to_string(attrs).expect("user attributes serialise")
}

pub fn group_from_row<DB: Dialect>(row: &DB::Row) -> Result<GroupRecord> {
    Ok(GroupRecord {
        id: row.field("id")?,
        version: row.field("version")?,
        created_ms: row.field("created_ms")?,
        modified_ms: row.field("modified_ms")?,
        attrs: GroupAttrs {
            display_name: row.field("display_name")?,
            external_id: row.field("external_id")?,
        },
    })
}

pub fn membership_from_row<DB: Dialect>(row: &DB::Row) -> Result<Membership> {
    Ok(Membership {
        membership_id: row.field("membership_id")?,
        group_id: row.field("group_id")?,
        user_id: row.field("user_id")?,
    })
}
