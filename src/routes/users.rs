//! `/Users` (AWS-SCIM.md, "Users"): CreateUser, GetUser, ListUsers, PutUser, PatchUser,
//! DeleteUser.

use axum::Json;
use axum::extract::{Extension, State};
use axum::http::StatusCode;
use axum::http::header::LOCATION;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use super::{ListParams, ListResponse, ResourceId, ScimJson, cursor, store_error, timestamp};
use crate::app::SharedState;
use crate::auth::Authenticated;
use crate::scim::query::{Paging, user_query};
use crate::scim::schema::{ENTERPRISE_URN, USER_URN};
use crate::scim::user::{UserAttrs, patch_user};
use crate::scim::{ScimError, patch};
use crate::store::{ListArgs, StoreError, UserRecord};

/// The status of a successful PutUser and PatchUser: AWS's examples answer 200 with the user.
const UPDATE_STATUS: StatusCode = StatusCode::OK;

/// How often a PATCH is re-applied when another writer changed the user in between.
const PATCH_ATTEMPTS: usize = 8;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Meta {
    resource_type: &'static str,
    created: String,
    last_modified: String,
    location: String,
}

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
            meta: Meta {
                resource_type: "User",
                created: timestamp(record.created_ms),
                last_modified: timestamp(record.modified_ms),
                location: format!("{base_url}/Users/{}", record.id),
            },
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
    let paging = Paging::from_params(params.count.as_deref(), params.cursor.as_deref())?;
    let after = match &paging.cursor {
        Some(Some(c)) => Some(cursor::decode(c)?),
        _ => None,
    };
    let args = ListArgs {
        limit: paging.count,
        after: after.as_deref(),
        with_total: paging.cursor.is_none(),
    };
    let page = state
        .store
        .list_users(&auth.tenant, &query, args)
        .await
        .map_err(not_found)?;
    let bodies: Vec<UserBody> = page
        .items
        .iter()
        .map(|r| UserBody::new(r, &auth.base_url))
        .collect();
    let mut response = ListResponse::new(bodies);
    if paging.cursor.is_some() {
        response.next_cursor = page
            .more
            .then(|| page.items.last().map(|r| cursor::encode(&r.id)))
            .flatten();
    } else {
        response.total_results = page.total;
        response.start_index = Some(1);
    }
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
