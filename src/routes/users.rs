//! `/Users` (AWS-SCIM.md, "Users"): CreateUser, GetUser, ListUsers, PutUser, PatchUser,
//! DeleteUser; in the `rfc` profile with RFC 7644's lists, attribute selection, ETags and
//! preconditions (`super::rfc`).

use axum::Json;
use axum::extract::{Extension, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use super::rfc::{self, Preconditions, Render};
use super::{ListParams, ListRequest, Meta, ResourceId, ScimJson, store_error, with_location};
use crate::scim::query::user_query;
use crate::scim::schema::{ENTERPRISE_URN, USER_RESOURCE, USER_URN};
use crate::scim::user::{UserAttrs, patch_user};
use crate::scim::{Profile, ScimError, patch};
use crate::state::Authenticated;
use crate::state::SharedState;
use crate::store::{StoreError, UserRecord};

/// The status of a successful PutUser and PatchUser: AWS's examples answer 200 with the user.
const UPDATE_STATUS: StatusCode = StatusCode::OK;

/// A user as AWS renders it.
#[derive(Serialize)]
pub struct UserBody<'a> {
    id: &'a str,
    meta: Meta,
    schemas: Vec<&'static str>,
    #[serde(flatten)]
    attrs: &'a UserAttrs,
}

impl<'a> UserBody<'a> {
    pub(super) fn new(record: &'a UserRecord) -> Self {
        let mut schemas = vec![USER_URN];
        if record.attrs.enterprise.is_some() {
            schemas.push(ENTERPRISE_URN);
        }
        UserBody {
            id: &record.id,
            meta: Meta::new("User", record.created_ms, record.modified_ms),
            schemas,
            attrs: &record.attrs,
        }
    }
}

fn not_found(e: StoreError) -> ScimError {
    store_error(e, ScimError::user_not_found)
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
        .map_err(not_found)?;
    let mut response = render
        .user(&state, &auth, &record, StatusCode::CREATED)
        .await?;
    with_location(
        &mut response,
        format!("{}/Users/{}", auth.base_url, record.id),
    );
    Ok(response)
}

pub async fn get(
    State(state): State<SharedState>,
    Extension(auth): Extension<Authenticated>,
    ResourceId(id): ResourceId,
    preconditions: Preconditions,
    render: Render,
) -> Result<Response, ScimError> {
    let record = state
        .store
        .get_user(&auth.tenant, &id)
        .await
        .map_err(not_found)?;
    if let Some(response) = preconditions.not_modified(record.version) {
        return Ok(response);
    }
    render.user(&state, &auth, &record, StatusCode::OK).await
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
        .map_err(not_found)?;
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
    let record = state
        .store
        .update_user(&auth.tenant, &id, state.clock.now_ms(), |current| {
            preconditions.check(current.version)?;
            Ok(attrs.clone())
        })
        .await
        .map_err(not_found)??;
    render.user(&state, &auth, &record, UPDATE_STATUS).await
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
    let record = state
        .store
        .update_user(&auth.tenant, &id, state.clock.now_ms(), |current| {
            preconditions.check(current.version)?;
            patch_user(&current.attrs, &ops, profile)
        })
        .await
        .map_err(not_found)??;
    render.user(&state, &auth, &record, UPDATE_STATUS).await
}

pub async fn delete(
    State(state): State<SharedState>,
    Extension(auth): Extension<Authenticated>,
    ResourceId(id): ResourceId,
    preconditions: Preconditions,
) -> Result<StatusCode, ScimError> {
    if preconditions.has_if_match() {
        let current = state
            .store
            .get_user(&auth.tenant, &id)
            .await
            .map_err(not_found)?;
        preconditions.check(current.version)?;
    }
    state
        .store
        .delete_user(&auth.tenant, &id)
        .await
        .map_err(not_found)?;
    Ok(StatusCode::NO_CONTENT)
}
