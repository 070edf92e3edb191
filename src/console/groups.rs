//! An instance's groups: a table searched by `displayName`, a group's page (its account
//! assignments, and its members paged through the store's keyset: a page of 50 costs the same
//! in a group of 20,000 as in one of 20), members added by `userName` and removed, and create,
//! rename and delete. The group is made by the SCIM rules of the instance's profile;
//! membership changes are the ones a PATCH makes (adding a member twice or removing a
//! non-member changes nothing).

use askama::Template;
use axum::extract::{Query, State};
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;
use serde_json::json;

use super::access::{AccessView, access_of};
use super::users::UserView;
use super::{
    ConfirmPage, Console, Entry, Frame, Paging, TableQuery, done, entry_at, given, instance_path,
    with_refusal,
};
use crate::clock::timestamp;
use crate::directory::{store_error, user_named};
use crate::extract::Path;
use crate::scim::group::{GroupAttrs, MemberChanges};
use crate::scim::query::{GroupQuery, UserQuery};
use crate::scim::{Profile, ScimError};
use crate::sso::{Principal, PrincipalType};
use crate::state::SharedState;
use crate::store::{Constraint, GroupRecord, GroupUpdate, StoreError, Tenant};
use crate::tenants;
use crate::web::{ErrorPage, Html};

pub fn routes() -> Router<SharedState> {
    Router::new()
        .route("/console/instances/{tenant}/groups", get(list).post(create))
        .route("/console/instances/{tenant}/groups/new", get(new))
        .route("/console/instances/{tenant}/groups/{id}", get(show))
        .route(
            "/console/instances/{tenant}/groups/{id}/edit",
            get(edit).post(save),
        )
        .route(
            "/console/instances/{tenant}/groups/{id}/delete",
            get(confirm_delete).post(super::delete::<GroupRecord>),
        )
        .route(
            "/console/instances/{tenant}/groups/{id}/members",
            post(add_member),
        )
        .route(
            "/console/instances/{tenant}/groups/{id}/members/{user}/remove",
            post(remove_member),
        )
}

/// A store failure as the page says it: a name taken, rather than AWS's "duplicate resource",
/// and a missing group in words of the console.
fn not_found(e: StoreError) -> ScimError {
    match e {
        StoreError::Conflict(Constraint::GroupDisplayName) => {
            ScimError::Conflict("Another group has this name.".to_owned())
        }
        StoreError::NotFound => ScimError::NotFound("There is no such group.".to_owned()),
        other => store_error(other, ScimError::group_not_found),
    }
}

impl Entry for GroupRecord {
    const TABLE: &'static str = "/groups";
    const DELETED: &'static str = "group-deleted";

    fn refusal(e: StoreError) -> ScimError {
        not_found(e)
    }
}

/// A group's attributes as a form gives them, through the SCIM rules; the rest of `current`
/// (its `externalId`) is kept.
fn group_of(
    display_name: &str,
    current: Option<&GroupAttrs>,
    profile: Profile,
) -> Result<GroupAttrs, ScimError> {
    let mut body = json!({"displayName": display_name.trim()});
    if let Some(external_id) = current.and_then(|c| c.external_id.as_ref()) {
        body["externalId"] = json!(external_id);
    }
    GroupAttrs::from_request_as(body, profile).map(|(attrs, _)| attrs)
}

#[derive(Template)]
#[template(path = "console/groups.html")]
struct GroupsPage {
    frame: Frame,
    tenant_id: String,
    q: String,
    groups: Vec<GroupRecord>,
    paging: Paging,
}

async fn list(
    State(state): State<SharedState>,
    console: Console,
    Path(tenant_id): Path<String>,
    Query(query): Query<TableQuery>,
) -> Result<Html<GroupsPage>, ErrorPage> {
    let tenant = tenants::tenant(state.store.as_ref(), &tenant_id).await?;
    let search = match given(&query.q) {
        Some(prefix) => GroupQuery::DisplayNamePrefix(prefix.to_owned()),
        None => GroupQuery::All,
    };
    let page = state
        .store
        .list_groups(&tenant, &search, query.page())
        .await
        .map_err(not_found)?;
    let base = instance_path(&tenant_id, "/groups");
    let paging = query.search_paging(&page, &base, |g| g.id.clone());
    Ok(Html(GroupsPage {
        frame: console.frame("groups", Some(&tenant_id)),
        tenant_id,
        q: query.q,
        groups: page.items,
        paging,
    }))
}

#[derive(Template)]
#[template(path = "console/group.html")]
struct GroupPage {
    frame: Frame,
    tenant_id: String,
    group: GroupRecord,
    members: Vec<UserView>,
    paging: Paging,
    /// What the add-member form holds, and why it was refused.
    user_name: String,
    error: Option<String>,
    /// The group's account assignments, and whether more follow.
    access: (Vec<AccessView>, bool),
}

impl GroupPage {
    fn created(&self) -> String {
        timestamp(self.group.created_ms)
    }

    fn modified(&self) -> String {
        timestamp(self.group.modified_ms)
    }
}

/// A group's page: the group and one page of its members (the page `query` asks for), read by
/// the store's keyset.
async fn group_page(
    state: &SharedState,
    console: &Console,
    tenant: &Tenant,
    id: &str,
    query: &TableQuery,
    add: (String, Option<ScimError>),
) -> Result<Response, ErrorPage> {
    let group = state.store.get_group(tenant, id).await.map_err(not_found)?;
    let members = state
        .store
        .list_users(tenant, &UserQuery::Group(id.to_owned()), query.page())
        .await
        .map_err(not_found)?;
    let tenant_id = &tenant.tenant_id;
    let base = instance_path(tenant_id, &format!("/groups/{id}"));
    let paging = Paging::of(&members, &base, &[], query.after.is_some(), |u| {
        u.id.clone()
    });
    let principal = Principal {
        kind: PrincipalType::Group,
        id: id.to_owned(),
    };
    let access = access_of(state.store.as_ref(), tenant, &principal).await?;
    let (user_name, error) = add;
    Ok(with_refusal(error, |error| GroupPage {
        frame: console.frame("groups", Some(tenant_id)),
        tenant_id: tenant_id.clone(),
        group,
        members: members
            .items
            .into_iter()
            .map(|record| UserView { record })
            .collect(),
        paging,
        user_name,
        error,
        access,
    }))
}

async fn show(
    State(state): State<SharedState>,
    console: Console,
    Path((tenant_id, id)): Path<(String, String)>,
    Query(query): Query<TableQuery>,
) -> Result<Response, ErrorPage> {
    let tenant = tenants::tenant(state.store.as_ref(), &tenant_id).await?;
    group_page(
        &state,
        &console,
        &tenant,
        &id,
        &query,
        (String::new(), None),
    )
    .await
}

#[derive(Debug, Default, Deserialize)]
struct MemberForm {
    #[serde(default)]
    user_name: String,
}

/// Adds the user with this `userName`; an unknown one is said on the page.
async fn add_member(
    State(state): State<SharedState>,
    console: Console,
    Path((tenant_id, id)): Path<(String, String)>,
    Form(form): Form<MemberForm>,
) -> Result<Response, ErrorPage> {
    let tenant = tenants::tenant(state.store.as_ref(), &tenant_id).await?;
    let store = state.store.as_ref();
    let added = match given(&form.user_name) {
        None => Err(ScimError::invalid(
            "Name the user to add by their username.",
        )),
        Some(name) => match user_named(store, &tenant, name).await {
            Ok(user) => {
                let changes = MemberChanges {
                    add: vec![user.id],
                    ..MemberChanges::default()
                };
                store
                    .change_members(&tenant, &id, &changes, state.clock.now_ms())
                    .await
                    .map_err(not_found)
            }
            Err(ScimError::NotFound(detail)) => Err(ScimError::invalid(detail)),
            Err(other) => Err(other),
        },
    };
    match added {
        Ok(_) => Ok(done(
            &instance_path(&tenant_id, &format!("/groups/{id}")),
            "member-added",
        )),
        Err(e @ ScimError::NotFound(_)) => Err(e.into()),
        Err(error) => {
            let first = TableQuery::default();
            let add = (form.user_name, Some(error));
            group_page(&state, &console, &tenant, &id, &first, add).await
        }
    }
}

async fn remove_member(
    State(state): State<SharedState>,
    Path((tenant_id, id, user)): Path<(String, String, String)>,
) -> Result<Response, ErrorPage> {
    let tenant = tenants::tenant(state.store.as_ref(), &tenant_id).await?;
    let changes = MemberChanges {
        remove: vec![user],
        ..MemberChanges::default()
    };
    state
        .store
        .change_members(&tenant, &id, &changes, state.clock.now_ms())
        .await
        .map_err(not_found)?;
    Ok(done(
        &instance_path(&tenant_id, &format!("/groups/{id}")),
        "member-removed",
    ))
}

#[derive(Template)]
#[template(path = "console/group_form.html")]
struct GroupFormPage {
    frame: Frame,
    tenant_id: String,
    /// The group being renamed; none for a new one.
    id: Option<String>,
    display_name: String,
    error: Option<String>,
}

impl GroupFormPage {
    fn action(&self) -> String {
        match &self.id {
            Some(id) => instance_path(&self.tenant_id, &format!("/groups/{id}/edit")),
            None => instance_path(&self.tenant_id, "/groups"),
        }
    }
}

#[derive(Debug, Default, Deserialize)]
struct GroupForm {
    #[serde(default)]
    display_name: String,
}

async fn new(
    State(state): State<SharedState>,
    console: Console,
    Path(tenant_id): Path<String>,
) -> Result<Html<GroupFormPage>, ErrorPage> {
    tenants::tenant(state.store.as_ref(), &tenant_id).await?;
    Ok(Html(GroupFormPage {
        frame: console.frame("groups", Some(&tenant_id)),
        tenant_id,
        id: None,
        display_name: String::new(),
        error: None,
    }))
}

async fn create(
    State(state): State<SharedState>,
    console: Console,
    Path(tenant_id): Path<String>,
    Form(form): Form<GroupForm>,
) -> Result<Response, ErrorPage> {
    let tenant = tenants::tenant(state.store.as_ref(), &tenant_id).await?;
    let created = match group_of(&form.display_name, None, state.profile) {
        Ok(attrs) => state
            .store
            .create_group(
                &tenant,
                &attrs,
                &MemberChanges::default(),
                state.clock.now_ms(),
            )
            .await
            .map_err(not_found),
        Err(e) => Err(e),
    };
    match created {
        Ok(group) => Ok(done(
            &instance_path(&tenant_id, &format!("/groups/{}", group.id)),
            "group-created",
        )),
        Err(error) => Ok(with_refusal(Some(error), |error| GroupFormPage {
            frame: console.frame("groups", Some(&tenant_id)),
            tenant_id,
            id: None,
            display_name: form.display_name,
            error,
        })),
    }
}

async fn edit(
    State(state): State<SharedState>,
    console: Console,
    Path((tenant_id, id)): Path<(String, String)>,
) -> Result<Html<GroupFormPage>, ErrorPage> {
    let (_, group) = entry_at::<GroupRecord>(&state, &tenant_id, &id).await?;
    Ok(Html(GroupFormPage {
        frame: console.frame("groups", Some(&tenant_id)),
        tenant_id,
        id: Some(id),
        display_name: group.attrs.display_name,
        error: None,
    }))
}

/// Renames a group, without reading or changing its members.
async fn save(
    State(state): State<SharedState>,
    console: Console,
    Path((tenant_id, id)): Path<(String, String)>,
    Form(form): Form<GroupForm>,
) -> Result<Response, ErrorPage> {
    let tenant = tenants::tenant(state.store.as_ref(), &tenant_id).await?;
    let profile = state.profile;
    let saved = state
        .store
        .update_group(&tenant, &id, state.clock.now_ms(), false, |current, _| {
            Ok(GroupUpdate {
                attrs: group_of(&form.display_name, Some(&current.attrs), profile)?,
                members: MemberChanges::default(),
            })
        })
        .await
        .map_err(not_found);
    match saved {
        Ok(Ok(_)) => Ok(done(
            &instance_path(&tenant_id, &format!("/groups/{id}")),
            "group-saved",
        )),
        Err(e @ ScimError::NotFound(_)) => Err(e.into()),
        Ok(Err(error)) | Err(error) => Ok(with_refusal(Some(error), |error| GroupFormPage {
            frame: console.frame("groups", Some(&tenant_id)),
            tenant_id,
            id: Some(id),
            display_name: form.display_name,
            error,
        })),
    }
}

async fn confirm_delete(
    State(state): State<SharedState>,
    console: Console,
    Path((tenant_id, id)): Path<(String, String)>,
) -> Result<Html<ConfirmPage>, ErrorPage> {
    let (_, group) = entry_at::<GroupRecord>(&state, &tenant_id, &id).await?;
    Ok(Html(ConfirmPage {
        frame: console.frame("groups", Some(&tenant_id)),
        title: format!("Delete group {}?", group.attrs.display_name),
        message: "The group and its memberships are deleted; its members stay.".to_owned(),
        action: instance_path(&tenant_id, &format!("/groups/{id}/delete")),
        button: "Delete group",
        back: instance_path(&tenant_id, &format!("/groups/{id}")),
    }))
}
