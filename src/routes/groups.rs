//! `/Groups` (AWS-SCIM.md, "Groups"): CreateGroup, GetGroup, ListGroups, PatchGroup (204),
//! DeleteGroup. Members are written, never returned; PutGroup is not supported.

use axum::Json;
use axum::extract::{Extension, State};
use axum::http::StatusCode;
use axum::http::header::LOCATION;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use super::{ListParams, ListRequest, Meta, PATCH_ATTEMPTS, ResourceId, ScimJson, store_error};
use crate::app::SharedState;
use crate::auth::Authenticated;
use crate::scim::group::{GroupAttrs, GroupPatch};
use crate::scim::query::{GroupQuery, group_query};
use crate::scim::schema::GROUP_URN;
use crate::scim::{ScimError, patch};
use crate::store::{GroupChange, GroupRecord, StoreError};

/// A group as AWS renders it: no `members`.
#[derive(Serialize)]
pub struct GroupBody<'a> {
    id: &'a str,
    meta: Meta,
    schemas: [&'static str; 1],
    #[serde(flatten)]
    attrs: &'a GroupAttrs,
}

impl<'a> GroupBody<'a> {
    fn new(record: &'a GroupRecord, base_url: &str) -> Self {
        GroupBody {
            id: &record.id,
            meta: Meta::new(
                "Group",
                record.created_ms,
                record.modified_ms,
                format!("{base_url}/Groups/{}", record.id),
            ),
            schemas: [GROUP_URN],
            attrs: &record.attrs,
        }
    }
}

fn not_found(e: StoreError) -> ScimError {
    store_error(e, ScimError::group_not_found)
}

pub async fn create(
    State(state): State<SharedState>,
    Extension(auth): Extension<Authenticated>,
    ScimJson(body): ScimJson,
) -> Result<Response, ScimError> {
    let (attrs, members) = GroupAttrs::from_request(body)?;
    let record = state
        .store
        .create_group(&auth.tenant, &attrs, &members, state.clock.now_ms())
        .await
        .map_err(not_found)?;
    let body = GroupBody::new(&record, &auth.base_url);
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
        .get_group(&auth.tenant, &id)
        .await
        .map_err(not_found)?;
    Ok(Json(GroupBody::new(&record, &auth.base_url)).into_response())
}

pub async fn list(
    State(state): State<SharedState>,
    Extension(auth): Extension<Authenticated>,
    params: ListParams,
) -> Result<Response, ScimError> {
    let query = group_query(params.filter.as_deref())?;
    let request = ListRequest::new(&params)?;
    let page = state
        .store
        .list_groups(&auth.tenant, &query, request.args())
        .await
        .map_err(not_found)?;
    // Filtering on a member that is no user is a 404 in AWS. Only an empty answer needs the
    // check: a group found through the member proves the user exists.
    if let GroupQuery::Member(user) | GroupQuery::IdAndMember { member: user, .. } = &query
        && page.items.is_empty()
        && !state
            .store
            .user_exists(&auth.tenant, user)
            .await
            .map_err(not_found)?
    {
        return Err(ScimError::member_not_found());
    }
    let response = request.respond(&page, |r| &r.id, |r| GroupBody::new(r, &auth.base_url));
    Ok(Json(response).into_response())
}

pub async fn patch(
    State(state): State<SharedState>,
    Extension(auth): Extension<Authenticated>,
    ResourceId(id): ResourceId,
    ScimJson(body): ScimJson,
) -> Result<StatusCode, ScimError> {
    let plan = GroupPatch::plan(patch::parse_request(body)?)?;
    for _ in 0..PATCH_ATTEMPTS {
        // Membership-only patches (the common case) need not read the group.
        let attrs = if plan.changes_attributes() {
            let current = state
                .store
                .get_group(&auth.tenant, &id)
                .await
                .map_err(not_found)?;
            Some((plan.apply(&current.attrs)?, current.version))
        } else {
            None
        };
        let change = GroupChange {
            attrs: attrs.as_ref().map(|(a, v)| (a, *v)),
            members: &plan.members,
        };
        match state
            .store
            .patch_group(&auth.tenant, &id, change, state.clock.now_ms())
            .await
        {
            Ok(()) => return Ok(StatusCode::NO_CONTENT),
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
        .delete_group(&auth.tenant, &id)
        .await
        .map_err(not_found)?;
    Ok(StatusCode::NO_CONTENT)
}
