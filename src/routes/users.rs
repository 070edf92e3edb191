//! `/Users` (AWS-SCIM.md, "Users"): CreateUser, GetUser, ListUsers, PutUser, PatchUser,
//! DeleteUser; in the `rfc` profile with RFC 7644's lists, attribute selection, ETags and
//! preconditions (`super::rfc`).

use async_trait::async_trait;
use axum::Json;
use axum::extract::{Extension, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use super::resource::{ScimResource, created, not_found};
use super::rfc::{self, Preconditions, Render};
use super::{ListParams, ListRequest, Meta, ResourceId, ScimJson};
use crate::scim::query::user_query;
use crate::scim::schema::{ENTERPRISE_URN, USER_RESOURCE, USER_URN};
use crate::scim::user::{UserAttrs, patch_user};
use crate::scim::{Profile, ScimError, patch};
use crate::state::Authenticated;
use crate::state::SharedState;
use crate::store::UserRecord;

/// The status of a successful PutUser and PatchUser: AWS's examples answer 200 with the user.
const UPDATE_STATUS: StatusCode = StatusCode::OK;

/// A user as AWS renders it.
#[derive(Serialize)]
pub struct UserBody<'a> {
    id: &'a str,
    meta: Meta,
    schemas: &'static [&'static str],
    #[serde(flatten)]
    attrs: &'a UserAttrs,
}

impl<'a> UserBody<'a> {
    pub(super) fn new(record: &'a UserRecord) -> Self {
        let schemas: &[&str] = match record.attrs.enterprise {
            Some(_) => &[USER_URN, ENTERPRISE_URN],
            None => &[USER_URN],
        };
        UserBody {
            id: &record.id,
            meta: Meta::new("User", record.created_ms, record.modified_ms),
            schemas,
            attrs: &record.attrs,
        }
    }
}

#[async_trait]
impl ScimResource for UserRecord {
    const ENDPOINT: &'static str = "Users";

    async fn render(
        &self,
        render: &Render,
        state: &SharedState,
        auth: &Authenticated,
        status: StatusCode,
    ) -> Result<Response, ScimError> {
        render.user(state, auth, self, status).await
    }
}

pub async fn create(
    State(state): State<SharedState>,
    Extension(auth): Extension<Authenticated>,
    render: Render,
    ScimJson(body): ScimJson,
) -> Result<Response, ScimError> {
    let attrs = UserAttrs::from_request_as(body, state.profile)?;
    let record = state
        .store
        .create_user(&auth.tenant, &attrs, state.clock.now_ms())
        .await
        .map_err(not_found::<UserRecord>)?;
    created(&state, &auth, &render, &record).await
}

pub async fn list(
    State(state): State<SharedState>,
    Extension(auth): Extension<Authenticated>,
    params: ListParams,
) -> Result<Response, ScimError> {
    if state.profile == Profile::Rfc {
        return rfc::search(&state, &auth, &params.search, &[&USER_RESOURCE]).await;
    }
    let query = user_query(params.search.filter.as_deref())?;
    let request = ListRequest::new(&params)?;
    let page = state
        .store
        .list_users(&auth.tenant, &query, request.args())
        .await
        .map_err(not_found::<UserRecord>)?;
    let response = request.respond(&page, |r| &r.id, UserBody::new);
    Ok(Json(response).into_response())
}

pub async fn replace(
    State(state): State<SharedState>,
    Extension(auth): Extension<Authenticated>,
    ResourceId(id): ResourceId,
    preconditions: Preconditions,
    render: Render,
    ScimJson(body): ScimJson,
) -> Result<Response, ScimError> {
    let attrs = UserAttrs::from_request_as(body, state.profile)?;
    let edit = |_: &UserRecord| Ok(attrs.clone());
    update(&state, &auth, &id, &preconditions, &render, edit).await
}

pub async fn patch(
    State(state): State<SharedState>,
    Extension(auth): Extension<Authenticated>,
    ResourceId(id): ResourceId,
    preconditions: Preconditions,
    render: Render,
    ScimJson(body): ScimJson,
) -> Result<Response, ScimError> {
    let ops = patch::parse_request(body)?;
    let profile = state.profile;
    let edit = |current: &UserRecord| patch_user(&current.attrs, &ops, profile);
    update(&state, &auth, &id, &preconditions, &render, edit).await
}

/// PutUser and PatchUser: `edit` makes the next attributes of the current user, once the
/// preconditions hold for it.
async fn update(
    state: &SharedState,
    auth: &Authenticated,
    id: &str,
    preconditions: &Preconditions,
    render: &Render,
    edit: impl Fn(&UserRecord) -> Result<UserAttrs, ScimError> + Send + Sync,
) -> Result<Response, ScimError> {
    let record = state
        .store
        .update_user(&auth.tenant, id, state.clock.now_ms(), |current| {
            preconditions.check(current.version)?;
            edit(current)
        })
        .await
        .map_err(not_found::<UserRecord>)??;
    render.user(state, auth, &record, UPDATE_STATUS).await
}
