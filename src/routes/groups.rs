//! `/Groups` (AWS-SCIM.md, "Groups"): CreateGroup, GetGroup, ListGroups, PatchGroup (204),
//! DeleteGroup. Members are written, never returned; PutGroup is not supported. In the `rfc`
//! profile (`super::rfc`), members are returned, PutGroup replaces a group (RFC 7644 §3.5.1),
//! a PATCH may set all members, and ETags and preconditions apply. There a PatchGroup answers
//! 200 with the group, as a PatchUser does: §3.5.2 allows 204 too, but clients written for
//! other providers read the group from the answer.

use async_trait::async_trait;
use axum::Json;
use axum::extract::{Extension, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use super::resource::{ScimResource, created, not_found};
use super::rfc::{self, Preconditions, Render};
use super::{ListParams, ListRequest, Meta, ResourceId, ScimJson};
use crate::scim::group::{GroupAttrs, GroupPatch, MemberChanges, replace_members};
use crate::scim::query::{GroupQuery, group_query};
use crate::scim::schema::{GROUP_RESOURCE, GROUP_URN};
use crate::scim::{Profile, ScimError, patch};
use crate::state::{Authenticated, SharedState};
use crate::store::{GroupRecord, GroupUpdate};

/// A group as AWS renders it: `members` always empty, as AWS answers it.
#[derive(Serialize)]
pub struct GroupBody<'a> {
    id: &'a str,
    meta: Meta,
    schemas: [&'static str; 1],
    #[serde(flatten)]
    attrs: &'a GroupAttrs,
    members: [(); 0],
}

impl<'a> GroupBody<'a> {
    pub(super) fn new(record: &'a GroupRecord) -> Self {
        GroupBody {
            id: &record.id,
            meta: Meta::new("Group", record.created_ms, record.modified_ms),
            schemas: [GROUP_URN],
            attrs: &record.attrs,
            members: [],
        }
    }
}

#[async_trait]
impl ScimResource for GroupRecord {
    const ENDPOINT: &'static str = "Groups";

    async fn render(
        &self,
        render: &Render,
        state: &SharedState,
        auth: &Authenticated,
        status: StatusCode,
    ) -> Result<Response, ScimError> {
        render.group(state, auth, self, status).await
    }
}

pub async fn create(
    State(state): State<SharedState>,
    Extension(auth): Extension<Authenticated>,
    render: Render,
    ScimJson(body): ScimJson,
) -> Result<Response, ScimError> {
    let (attrs, members) = GroupAttrs::from_request_as(body, state.profile)?;
    let members = MemberChanges::first(members, state.profile);
    let record = state
        .store
        .create_group(&auth.tenant, &attrs, &members, state.clock.now_ms())
        .await
        .map_err(not_found::<GroupRecord>)?;
    created(&state, &auth, &render, &record).await
}

pub async fn list(
    State(state): State<SharedState>,
    Extension(auth): Extension<Authenticated>,
    params: ListParams,
) -> Result<Response, ScimError> {
    if state.profile == Profile::Rfc {
        return rfc::search(&state, &auth, &params.search, &[&GROUP_RESOURCE]).await;
    }
    let query = group_query(params.search.filter.as_deref())?;
    let request = ListRequest::new(&params)?;
    let page = state
        .store
        .list_groups(&auth.tenant, &query, request.args())
        .await
        .map_err(not_found::<GroupRecord>)?;
    // Filtering on a member that is no user is a 404 in AWS. Only an empty answer needs the
    // check: a group found through the member proves the user exists.
    if let GroupQuery::Member(user) | GroupQuery::IdAndMember { member: user, .. } = &query
        && page.items.is_empty()
        && !state
            .store
            .user_exists(&auth.tenant, user)
            .await
            .map_err(not_found::<GroupRecord>)?
    {
        return Err(ScimError::member_not_found());
    }
    let response = request.respond(&page, |r| &r.id, GroupBody::new);
    Ok(Json(response).into_response())
}

pub async fn patch(
    State(state): State<SharedState>,
    Extension(auth): Extension<Authenticated>,
    ResourceId(id): ResourceId,
    preconditions: Preconditions,
    render: Render,
    ScimJson(body): ScimJson,
) -> Result<Response, ScimError> {
    let plan = GroupPatch::plan_as(patch::parse_request(body)?, state.profile)?;
    // Membership changes commute: unless the patch changes attributes, sets all members or
    // names a version, the group need not be read.
    let record =
        if plan.changes_attributes() || plan.replaces_members() || preconditions.has_if_match() {
            let edit = |current: &GroupRecord, members: Option<&[String]>| {
                Ok(GroupUpdate {
                    attrs: plan.apply(&current.attrs)?,
                    members: plan.member_changes(members.unwrap_or_default()),
                })
            };
            update(
                &state,
                &auth,
                &id,
                &preconditions,
                plan.replaces_members(),
                edit,
            )
            .await?
        } else {
            state
                .store
                .change_members(&auth.tenant, &id, &plan.members, state.clock.now_ms())
                .await
                .map_err(not_found::<GroupRecord>)?
        };
    match state.profile {
        Profile::Aws => Ok(StatusCode::NO_CONTENT.into_response()),
        Profile::Rfc => render.group(&state, &auth, &record, StatusCode::OK).await,
    }
}

/// PutGroup, in the `rfc` profile only (RFC 7644 §3.5.1): replaces `displayName`,
/// `externalId` and the members; answers 200 with the group.
pub async fn replace(
    State(state): State<SharedState>,
    Extension(auth): Extension<Authenticated>,
    ResourceId(id): ResourceId,
    preconditions: Preconditions,
    render: Render,
    ScimJson(body): ScimJson,
) -> Result<Response, ScimError> {
    let (attrs, wanted) = GroupAttrs::from_request_as(body, state.profile)?;
    let edit = |_: &GroupRecord, members: Option<&[String]>| {
        Ok(GroupUpdate {
            attrs: attrs.clone(),
            members: replace_members(members.unwrap_or_default(), &wanted, true),
        })
    };
    let record = update(&state, &auth, &id, &preconditions, true, edit).await?;
    render.group(&state, &auth, &record, StatusCode::OK).await
}

/// PatchGroup and PutGroup as a read-modify-write: `edit` makes the next attributes and the
/// membership changes of the current group (and its members, if `with_members`), once the
/// preconditions hold for it.
async fn update(
    state: &SharedState,
    auth: &Authenticated,
    id: &str,
    preconditions: &Preconditions,
    with_members: bool,
    edit: impl Fn(&GroupRecord, Option<&[String]>) -> Result<GroupUpdate, ScimError> + Send + Sync,
) -> Result<GroupRecord, ScimError> {
    let now_ms = state.clock.now_ms();
    state
        .store
        .update_group(
            &auth.tenant,
            id,
            now_ms,
            with_members,
            |current, members| {
                preconditions.check(current.version)?;
                edit(current, members)
            },
        )
        .await
        .map_err(not_found::<GroupRecord>)?
}
