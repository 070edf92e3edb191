//! An instance's users: a table searched by `userName` and paged through the store's keyset,
//! a user's page (attributes, groups, account assignments), and create, edit and delete. What
//! a form describes is made into a user by the SCIM rules of the instance's profile, as a
//! `POST /Users` or a `PUT /Users/{id}` would be, so the console can write nothing SCIM would
//! refuse.

use askama::Template;
use axum::extract::{Query, State};
use axum::response::Response;
use axum::routing::get;
use axum::{Form, Router};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::access::{AccessView, access_of};
use super::{
    ConfirmPage, Console, Entry, Frame, Paging, TableQuery, done, entry_at, given, instance_path,
    with_refusal,
};
use crate::clock::timestamp;
use crate::directory::store_error;
use crate::extract::Path;
use crate::scim::query::{GroupQuery, UserQuery};
use crate::scim::user::UserAttrs;
use crate::scim::{Profile, ScimError};
use crate::sso::{Principal, PrincipalType};
use crate::state::SharedState;
use crate::store::{Constraint, GroupRecord, StoreError, UserRecord};
use crate::tenants;
use crate::web::{ErrorPage, Html};

pub fn routes() -> Router<SharedState> {
    Router::new()
        .route("/console/instances/{tenant}/users", get(list).post(create))
        .route("/console/instances/{tenant}/users/new", get(new))
        .route("/console/instances/{tenant}/users/{id}", get(show))
        .route(
            "/console/instances/{tenant}/users/{id}/edit",
            get(edit).post(save),
        )
        .route(
            "/console/instances/{tenant}/users/{id}/delete",
            get(confirm_delete).post(super::delete::<UserRecord>),
        )
}

/// A store failure as the page says it: which uniqueness a user would break, rather than
/// AWS's "duplicate resource", and a missing user in words of the console.
fn not_found(e: StoreError) -> ScimError {
    match e {
        StoreError::Conflict(Constraint::UserName) => {
            ScimError::Conflict("Another user has this username.".to_owned())
        }
        StoreError::Conflict(Constraint::Email) => {
            ScimError::Conflict("Another user has this email address.".to_owned())
        }
        StoreError::NotFound => ScimError::NotFound("There is no such user.".to_owned()),
        other => store_error(other, ScimError::user_not_found),
    }
}

impl Entry for UserRecord {
    const TABLE: &'static str = "/users";
    const DELETED: &'static str = "user-deleted";

    fn refusal(e: StoreError) -> ScimError {
        not_found(e)
    }
}

/// A user as a table row or a page shows it.
pub struct UserView {
    pub record: UserRecord,
}

impl UserView {
    pub fn email(&self) -> &str {
        self.record.attrs.primary_email().unwrap_or_default()
    }

    pub fn created(&self) -> String {
        timestamp(self.record.created_ms)
    }

    pub fn modified(&self) -> String {
        timestamp(self.record.modified_ms)
    }

    /// The user as SCIM returns it, without `meta`: every attribute, for the user's page.
    pub fn json(&self) -> String {
        let mut body = Map::new();
        body.insert("id".into(), json!(self.record.id));
        body.extend(self.record.attrs.to_json());
        serde_json::to_string_pretty(&body).unwrap_or_default()
    }
}

#[derive(Template)]
#[template(path = "console/users.html")]
struct UsersPage {
    frame: Frame,
    tenant_id: String,
    /// The search: a prefix of `userName`.
    q: String,
    users: Vec<UserView>,
    paging: Paging,
}

async fn list(
    State(state): State<SharedState>,
    console: Console,
    Path(tenant_id): Path<String>,
    Query(query): Query<TableQuery>,
) -> Result<Html<UsersPage>, ErrorPage> {
    let tenant = tenants::tenant(state.store.as_ref(), &tenant_id).await?;
    let search = match given(&query.q) {
        Some(prefix) => UserQuery::UserNamePrefix(prefix.to_owned()),
        None => UserQuery::All,
    };
    let page = state
        .store
        .list_users(&tenant, &search, query.page())
        .await
        .map_err(not_found)?;
    let base = instance_path(&tenant_id, "/users");
    let paging = query.search_paging(&page, &base, |u| u.id.clone());
    Ok(Html(UsersPage {
        frame: console.frame("users", Some(&tenant_id)),
        tenant_id,
        q: query.q,
        users: page
            .items
            .into_iter()
            .map(|record| UserView { record })
            .collect(),
        paging,
    }))
}

#[derive(Template)]
#[template(path = "console/user.html")]
struct UserPage {
    frame: Frame,
    tenant_id: String,
    user: UserView,
    groups: Vec<GroupRecord>,
    paging: Paging,
    /// The user's account assignments, and whether more follow.
    access: (Vec<AccessView>, bool),
}

async fn show(
    State(state): State<SharedState>,
    console: Console,
    Path((tenant_id, id)): Path<(String, String)>,
    Query(query): Query<TableQuery>,
) -> Result<Html<UserPage>, ErrorPage> {
    let (tenant, record) = entry_at::<UserRecord>(&state, &tenant_id, &id).await?;
    let groups = state
        .store
        .list_groups(&tenant, &GroupQuery::Member(id.clone()), query.page())
        .await
        .map_err(not_found)?;
    let base = instance_path(&tenant_id, &format!("/users/{id}"));
    let paging = Paging::of(&groups, &base, &[], query.after.is_some(), |g| g.id.clone());
    let principal = Principal {
        kind: PrincipalType::User,
        id,
    };
    let access = access_of(state.store.as_ref(), &tenant, &principal).await?;
    Ok(Html(UserPage {
        frame: console.frame("users", Some(&tenant_id)),
        tenant_id,
        user: UserView { record },
        groups: groups.items,
        paging,
        access,
    }))
}

/// The fields of the user form: the attributes a person sets by hand. The others (addresses,
/// the enterprise extension, ...) are what an identity provider writes; an edit keeps them.
#[derive(Debug, Default, Deserialize)]
pub struct UserForm {
    #[serde(default)]
    pub user_name: String,
    #[serde(default)]
    pub email: String,
    #[serde(default)]
    pub given_name: String,
    #[serde(default)]
    pub family_name: String,
    #[serde(default)]
    pub display_name: String,
    #[serde(default)]
    pub title: String,
}

impl UserForm {
    fn of(attrs: &UserAttrs) -> Self {
        Self {
            user_name: attrs.user_name.clone(),
            email: attrs.primary_email().unwrap_or_default().to_owned(),
            given_name: attrs.name.given_name.clone(),
            family_name: attrs.name.family_name.clone(),
            display_name: attrs.display_name.clone(),
            title: attrs.title.clone().unwrap_or_default(),
        }
    }

    /// The user the form makes of `current` (its SCIM representation; empty for a new user),
    /// checked by the SCIM rules of `profile`. A blank optional field removes its attribute;
    /// a blank required one is refused as SCIM refuses it.
    fn apply(
        &self,
        mut user: Map<String, Value>,
        profile: Profile,
    ) -> Result<UserAttrs, ScimError> {
        let text = |field: &str| json!(field.trim());
        user.insert("userName".into(), text(&self.user_name));
        user.insert("displayName".into(), text(&self.display_name));
        let name = user
            .entry("name")
            .or_insert_with(|| Value::Object(Map::new()));
        if let Value::Object(name) = name {
            name.insert("givenName".into(), text(&self.given_name));
            name.insert("familyName".into(), text(&self.family_name));
        }
        match given(&self.title) {
            Some(title) => user.insert("title".into(), json!(title)),
            None => user.remove("title"),
        };
        // The form shows the primary email (else the first); the others stay as they are.
        let mut emails = match user.remove("emails") {
            Some(Value::Array(emails)) => emails,
            _ => Vec::new(),
        };
        let shown = emails
            .iter()
            .position(|e| e.get("primary") == Some(&Value::Bool(true)))
            .unwrap_or(0);
        match given(&self.email) {
            Some(email) if emails.is_empty() => {
                emails.push(json!({"value": email, "type": "work", "primary": true}));
            }
            Some(email) => {
                if let Some(Value::Object(shown)) = emails.get_mut(shown) {
                    shown.insert("value".into(), json!(email));
                }
            }
            None if emails.is_empty() => {}
            None => {
                emails.remove(shown);
            }
        }
        if !emails.is_empty() {
            user.insert("emails".into(), Value::Array(emails));
        }
        UserAttrs::from_json_as(user, profile)
    }
}

#[derive(Template)]
#[template(path = "console/user_form.html")]
struct UserFormPage {
    frame: Frame,
    tenant_id: String,
    /// The user being edited; none for a new one.
    id: Option<String>,
    form: UserForm,
    error: Option<String>,
}

impl UserFormPage {
    fn action(&self) -> String {
        match &self.id {
            Some(id) => instance_path(&self.tenant_id, &format!("/users/{id}/edit")),
            None => instance_path(&self.tenant_id, "/users"),
        }
    }
}

async fn new(
    State(state): State<SharedState>,
    console: Console,
    Path(tenant_id): Path<String>,
) -> Result<Html<UserFormPage>, ErrorPage> {
    tenants::tenant(state.store.as_ref(), &tenant_id).await?;
    Ok(Html(UserFormPage {
        frame: console.frame("users", Some(&tenant_id)),
        tenant_id,
        id: None,
        form: UserForm::default(),
        error: None,
    }))
}

async fn create(
    State(state): State<SharedState>,
    console: Console,
    Path(tenant_id): Path<String>,
    Form(form): Form<UserForm>,
) -> Result<Response, ErrorPage> {
    let tenant = tenants::tenant(state.store.as_ref(), &tenant_id).await?;
    let created = match form.apply(Map::new(), state.profile) {
        Ok(attrs) => state
            .store
            .create_user(&tenant, &attrs, state.clock.now_ms())
            .await
            .map_err(not_found),
        Err(e) => Err(e),
    };
    match created {
        Ok(user) => Ok(done(
            &instance_path(&tenant_id, &format!("/users/{}", user.id)),
            "user-created",
        )),
        Err(error) => Ok(with_refusal(Some(error), |error| UserFormPage {
            frame: console.frame("users", Some(&tenant_id)),
            tenant_id,
            id: None,
            form,
            error,
        })),
    }
}

async fn edit(
    State(state): State<SharedState>,
    console: Console,
    Path((tenant_id, id)): Path<(String, String)>,
) -> Result<Html<UserFormPage>, ErrorPage> {
    let (_, user) = entry_at::<UserRecord>(&state, &tenant_id, &id).await?;
    Ok(Html(UserFormPage {
        frame: console.frame("users", Some(&tenant_id)),
        tenant_id,
        id: Some(id),
        form: UserForm::of(&user.attrs),
        error: None,
    }))
}

async fn save(
    State(state): State<SharedState>,
    console: Console,
    Path((tenant_id, id)): Path<(String, String)>,
    Form(form): Form<UserForm>,
) -> Result<Response, ErrorPage> {
    let tenant = tenants::tenant(state.store.as_ref(), &tenant_id).await?;
    let profile = state.profile;
    let saved = state
        .store
        .update_user(&tenant, &id, state.clock.now_ms(), |current| {
            form.apply(current.attrs.to_json(), profile)
        })
        .await
        .map_err(not_found);
    match saved {
        Ok(Ok(_)) => Ok(done(
            &instance_path(&tenant_id, &format!("/users/{id}")),
            "user-saved",
        )),
        Err(e @ ScimError::NotFound(_)) => Err(e.into()),
        Ok(Err(error)) | Err(error) => Ok(with_refusal(Some(error), |error| UserFormPage {
            frame: console.frame("users", Some(&tenant_id)),
            tenant_id,
            id: Some(id),
            form,
            error,
        })),
    }
}

async fn confirm_delete(
    State(state): State<SharedState>,
    console: Console,
    Path((tenant_id, id)): Path<(String, String)>,
) -> Result<Html<ConfirmPage>, ErrorPage> {
    let (_, user) = entry_at::<UserRecord>(&state, &tenant_id, &id).await?;
    Ok(Html(ConfirmPage {
        frame: console.frame("users", Some(&tenant_id)),
        title: format!("Delete user {}?", user.attrs.user_name),
        message: "The user and their group memberships are deleted, as a DELETE /Users/{id} \
                  of the identity provider would delete them."
            .to_owned(),
        action: instance_path(&tenant_id, &format!("/users/{id}/delete")),
        button: "Delete user",
        back: instance_path(&tenant_id, &format!("/users/{id}")),
    }))
}
