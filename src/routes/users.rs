//! `/Users` (AWS-SCIM.md, "Users"): CreateUser, GetUser, ListUsers, PutUser, PatchUser,
//! DeleteUser.

use axum::Json;
use axum::extract::{Extension, State};
use axum::http::StatusCode;
use axum::http::header::LOCATION;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use super::{ListParams, ListRequest, Meta, PATCH_ATTEMPTS, ResourceId, ScimJson, store_error};
use crate::app::SharedState;
use crate::auth::Authenticated;
use crate::scim::query::user_query;
use crate::scim::schema::{ENTERPRISE_URN, USER_URN};
use crate::scim::user::{UserAttrs, patch_user};
use crate::scim::{ScimError, patch};
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
    fn new(record: &'a UserRecord, base_url: &str) -> Self {
        let mut schemas = vec![USER_URN];
        if record.attrs.enterprise.is_some() {
            schemas.push(ENTERPRISE_URN);
        }
        UserBody {
            id: &record.id,
            meta: Meta::new(
                "User",
                record.created_ms,
                record.modified_ms,
                format!("{base_url}/Users/{}", record.id),
            ),
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
    ScimJson(body): ScimJson,
) -> Result<Response, ScimError> {
    let attrs = UserAttrs::from_request(body)?;
    let record = state
        .store
        .create_user(&auth.tenant, &attrs, state.clock.now_ms())
        .await
        .map_err(not_found)?;
    let body = UserBody::new(&record, &auth.base_url);
    let location = body.meta.location.clone();
    Ok((StatusCode::CREATED, [(LOCATION, location)], Json(body)).into_response())
}

pub async fn get(
    State(state): State<SharedState>,
    Extension(auth): Extension<Authenticated>,
    ResourceId(id): ResourceId,
) -> Result<Response, ScimError> {
    let record = state
        .store
        .get_user(&auth.tenant, &id)
        .await
        .map_err(not_found)?;
    Ok(Json(UserBody::new(&record, &auth.base_url)).into_response())
}

pub async fn list(
    State(state): State<SharedState>,
    Extension(auth): Extension<Authenticated>,
    params: ListParams,
) -> Result<Response, ScimError> {
    let query = user_query(params.filter.as_deref())?;
    let request = ListRequest::new(&params)?;
    let page = state
        .store
        .list_users(&auth.tenant, &query, request.args())
        .await
        .map_err(not_found)?;
    let response = request.respond(&page, |r| &r.id, |r| UserBody::new(r, &auth.base_url));
    Ok(Json(response).into_response())
}

pub async fn replace(
    State(state): State<SharedState>,
    Extension(auth): Extension<Authenticated>,
    ResourceId(id): ResourceId,
    ScimJson(body): ScimJson,
) -> Result<Response, ScimError> {
    let attrs = UserAttrs::from_request(body)?;
    let record = state
        .store
        .update_user(&auth.tenant, &id, &attrs, None, state.clock.now_ms())
        .await
        .map_err(not_found)?;
    Ok((UPDATE_STATUS, Json(UserBody::new(&record, &auth.base_url))).into_response())
}

pub async fn patch(
    State(state): State<SharedState>,
    Extension(auth): Extension<Authenticated>,
    ResourceId(id): ResourceId,
    ScimJson(body): ScimJson,
) -> Result<Response, ScimError> {
    let ops = patch::parse_request(body)?;
    for _ in 0..PATCH_ATTEMPTS {
        let current = state
            .store
            .get_user(&auth.tenant, &id)
            .await
            .map_err(not_found)?;
        let attrs = patch_user(&current.attrs, &ops)?;
        let result = state
            .store
            .update_user(
                &auth.tenant,
                &id,
                &attrs,
                Some(current.version),
                state.clock.now_ms(),
            )
            .await;
        match result {
            Ok(record) => {
                return Ok(
                    (UPDATE_STATUS, Json(UserBody::new(&record, &auth.base_url))).into_response(),
                );
            }
            Err(StoreError::Stale) => continue,
            Err(e) => return Err(not_found(e)),
        }
    }
    tracing::error!("PATCH gave up after {PATCH_ATTEMPTS} concurrent modifications");
    Err(ScimError::Internal)
}

pub async fn delete(
    State(state): State<SharedState>,
    Extension(auth): Extension<Authenticated>,
    ResourceId(id): ResourceId,
) -> Result<StatusCode, ScimError> {
    state
        .store
        .delete_user(&auth.tenant, &id)
        .await
        .map_err(not_found)?;
    Ok(StatusCode::NO_CONTENT)
}
