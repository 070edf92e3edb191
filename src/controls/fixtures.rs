//! Seed, reset and export: a tenant's users, groups and memberships as a JSON fixture.
//!
//! ```json
//! {"users": [{"userName": "jane@example.com", "name": {...}, "displayName": "...", ...}],
//!  "groups": [{"displayName": "Engineering", "members": ["jane@example.com"]}]}
//! ```
//! Users are SCIM user bodies, checked with the rules of CreateUser; groups name their members
//! by `userName`. Ids are the store's own: an `id` in a fixture (an export has them) is ignored.

use std::collections::HashMap;
use std::sync::Mutex;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::scim::Profile;
use crate::scim::ScimError;
use crate::scim::group::{GroupAttrs, MemberChanges};
use crate::scim::query::{GroupQuery, UserQuery};
use crate::scim::user::UserAttrs;
use crate::store::{GroupRecord, ListArgs, Store, StoreError, Tenant, UserRecord, all_pages};

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fixture {
    #[serde(default)]
    pub users: Vec<Value>,
    #[serde(default)]
    pub groups: Vec<FixtureGroup>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FixtureGroup {
    /// `displayName`, `externalId` (and an ignored `id`).
    #[serde(flatten)]
    pub attrs: Map<String, Value>,
    /// The `userName`s of the members.
    #[serde(default)]
    pub members: Vec<String>,
}

/// How much a load created.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Loaded {
    pub users: usize,
    pub groups: usize,
    pub memberships: usize,
}

/// The fixture each tenant was last seeded with, to reset to.
#[derive(Default)]
pub struct Seeds(Mutex<HashMap<String, Fixture>>);

impl Seeds {
    pub fn remember(&self, tenant_id: &str, fixture: Fixture) {
        let mut seeds = self.0.lock().unwrap_or_else(|e| e.into_inner());
        seeds.insert(tenant_id.to_owned(), fixture);
    }

    pub fn get(&self, tenant_id: &str) -> Option<Fixture> {
        let seeds = self.0.lock().unwrap_or_else(|e| e.into_inner());
        seeds.get(tenant_id).cloned()
    }
}

fn store_error(what: &str, e: StoreError) -> ScimError {
    match e {
        StoreError::Conflict(_) => ScimError::Conflict(format!("{what} already exists.")),
        StoreError::MemberNotFound | StoreError::NotFound => {
            ScimError::invalid(format!("{what}: a member is not a user."))
        }
        other => {
            tracing::error!(error = ?other, "store failure while loading a fixture");
            ScimError::Internal
        }
    }
}

/// Checks a whole fixture before anything is written: every user and group valid, no
/// userName or displayName twice, every member a user of the fixture or of the tenant.
/// A fixture whose users and groups passed the checks.
struct Checked<'f> {
    users: Vec<UserAttrs>,
    groups: Vec<(GroupAttrs, &'f [String])>,
}

fn check(fixture: &Fixture) -> Result<Checked<'_>, ScimError> {
    let mut users = Vec::with_capacity(fixture.users.len());
    let mut names = std::collections::HashSet::new();
    for (i, body) in fixture.users.iter().enumerate() {
        let attrs = UserAttrs::from_request(body.clone())
            .map_err(|e| ScimError::invalid(format!("users[{i}]: {}", e.status_and_detail().1)))?;
        if !names.insert(attrs.user_name_key()) {
            return Err(ScimError::invalid(format!(
                "users[{i}]: userName \"{}\" appears twice.",
                attrs.user_name
            )));
        }
        users.push(attrs);
    }
    let mut groups = Vec::with_capacity(fixture.groups.len());
    let mut group_names = std::collections::HashSet::new();
    for (i, g) in fixture.groups.iter().enumerate() {
        let (attrs, _) = GroupAttrs::from_request(Value::Object(g.attrs.clone()))
            .map_err(|e| ScimError::invalid(format!("groups[{i}]: {}", e.status_and_detail().1)))?;
        if !group_names.insert(attrs.display_name_key()) {
            return Err(ScimError::invalid(format!(
                "groups[{i}]: displayName \"{}\" appears twice.",
                attrs.display_name
            )));
        }
        groups.push((attrs, g.members.as_slice()));
    }
    Ok(Checked { users, groups })
}

/// Loads a fixture into a tenant (adding to what is there).
pub async fn load(
    store: &dyn Store,
    tenant: &Tenant,
    fixture: &Fixture,
    now_ms: i64,
) -> Result<Loaded, ScimError> {
    let Checked { users, groups } = check(fixture)?;
    let mut ids: HashMap<String, String> = HashMap::new();
    for attrs in &users {
        let record = store
            .create_user(tenant, attrs, now_ms)
            .await
            .map_err(|e| store_error(&format!("User \"{}\"", attrs.user_name), e))?;
        ids.insert(attrs.user_name_key(), record.id);
    }
    let mut loaded = Loaded {
        users: users.len(),
        ..Loaded::default()
    };
    for (attrs, members) in groups {
        let mut member_ids = Vec::with_capacity(members.len());
        for name in members {
            let id = match ids.get(&name.to_lowercase()) {
                Some(id) => id.clone(),
                None => existing_user(store, tenant, name).await?,
            };
            member_ids.push(id);
        }
        member_ids.sort();
        member_ids.dedup();
        let count = member_ids.len();
        let members = MemberChanges::first(member_ids, Profile::Aws);
        store
            .create_group(tenant, &attrs, &members, now_ms)
            .await
            .map_err(|e| store_error(&format!("Group \"{}\"", attrs.display_name), e))?;
        loaded.groups += 1;
        loaded.memberships += count;
    }
    Ok(loaded)
}

async fn existing_user(
    store: &dyn Store,
    tenant: &Tenant,
    name: &str,
) -> Result<String, ScimError> {
    let args = ListArgs {
        limit: 1,
        after: None,
        with_total: false,
    };
    let page = store
        .list_users(tenant, &UserQuery::UserName(name.to_owned()), args)
        .await
        .map_err(|e| store_error("User", e))?;
    page.items
        .into_iter()
        .next()
        .map(|u| u.id)
        .ok_or_else(|| ScimError::invalid(format!("Member \"{name}\" is not a user.")))
}

/// Whether a tenant holds no user and no group.
pub async fn is_empty(store: &dyn Store, tenant: &Tenant) -> Result<bool, ScimError> {
    let one = ListArgs {
        limit: 1,
        after: None,
        with_total: false,
    };
    let users = store.list_users(tenant, &UserQuery::All, one).await;
    let groups = store.list_groups(tenant, &GroupQuery::All, one).await;
    let users = users.map_err(|e| store_error("Tenant", e))?;
    let groups = groups.map_err(|e| store_error("Tenant", e))?;
    Ok(users.items.is_empty() && groups.items.is_empty())
}

/// Empties a tenant: no users, no groups (its tokens stay).
pub async fn reset(store: &dyn Store, tenant: &Tenant) -> Result<(), ScimError> {
    store
        .clear_tenant(tenant)
        .await
        .map_err(|e| store_error("Tenant", e))
}

/// A tenant's state as a fixture (with ids, which a load ignores).
pub async fn export(store: &dyn Store, tenant: &Tenant) -> Result<Fixture, ScimError> {
    let pages = |e| store_error("Tenant", e);
    let users = all_pages(
        |after| async move {
            store
                .list_users(tenant, &UserQuery::All, ListArgs::scan(after.as_deref()))
                .await
        },
        |u: &UserRecord| u.id.as_str(),
    )
    .await
    .map_err(pages)?;
    let names: HashMap<&str, &str> = users
        .iter()
        .map(|u| (u.id.as_str(), u.attrs.user_name.as_str()))
        .collect();
    let groups = all_pages(
        |after| async move {
            store
                .list_groups(tenant, &GroupQuery::All, ListArgs::scan(after.as_deref()))
                .await
        },
        |g: &GroupRecord| g.id.as_str(),
    )
    .await
    .map_err(pages)?;
    let mut fixture = Fixture::default();
    for g in &groups {
        let of_group = &UserQuery::Group(g.id.clone());
        let members = all_pages(
            |after| async move {
                store
                    .list_users(tenant, of_group, ListArgs::scan(after.as_deref()))
                    .await
            },
            |u: &UserRecord| u.id.as_str(),
        )
        .await
        .map_err(pages)?;
        let mut attrs = Map::new();
        attrs.insert("id".into(), Value::String(g.id.clone()));
        attrs.insert(
            "displayName".into(),
            Value::String(g.attrs.display_name.clone()),
        );
        if let Some(ext) = &g.attrs.external_id {
            attrs.insert("externalId".into(), Value::String(ext.clone()));
        }
        fixture.groups.push(FixtureGroup {
            attrs,
            members: members
                .iter()
                .filter_map(|m| names.get(m.id.as_str()).map(|n| (*n).to_owned()))
                .collect(),
        });
    }
    fixture.users = users
        .into_iter()
        .map(|u| {
            let mut body = u.attrs.to_json();
            body.insert("id".into(), Value::String(u.id));
            Value::Object(body)
        })
        .collect();
    Ok(fixture)
}
