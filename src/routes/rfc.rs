//! The `rfc` profile over HTTP (RFC 7644): lists and searches (§3.4.2, §3.4.3) evaluated in
//! memory, resources rendered with `meta.version`, `groups` and `members`, attribute selection
//! (§3.4.2.5), ETags and preconditions (§3.14). The evaluation is pure (`scim::eval`,
//! `scim::search`); this module loads, renders and answers.
//!
//! A list or a search loads every user and group of the tenant, every membership (keyset
//! pages of 100 through the store) and how the groups nest, then filters, sorts and pages in
//! memory: a tenant served in the `rfc` profile is a connector's test target, not a directory
//! of a hundred thousand users. A group's `members` are users and groups (RFC 7643 §4.2); a
//! user's `groups` are those it is a member of (`direct`) and the groups they are members of
//! (`indirect`, §4.1.2). A user's `meta.version` (and ETag) covers its own attributes, not its
//! `groups`, which change with the groups.

use std::collections::{BTreeSet, HashMap};
use std::future::Future;

use axum::Json;
use axum::extract::{Extension, FromRequestParts, State};
use axum::http::StatusCode;
use axum::http::header::{ETAG, IF_MATCH, IF_NONE_MATCH};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::groups::GroupBody;
use super::users::UserBody;
use super::{ListParams, ListResponse, ScimJson, store_error};
use crate::scim::eval::{self, Projection, RESOURCES};
use crate::scim::query::{GroupQuery, UserQuery};
use crate::scim::schema::{GROUP_RESOURCE, ResourceSchema, USER_RESOURCE};
use crate::scim::search::{Search, SearchParams};
use crate::scim::{Profile, ScimError, etag};
use crate::state::Authenticated;
use crate::state::SharedState;
use crate::store::{
    GroupRecord, ListArgs, MembershipQuery, Page, Result as StoreResult, Tenant, UserRecord,
    all_pages,
};

/// `If-Match` and `If-None-Match` (RFC 7644 §3.14); the `aws` profile never reads them.
#[derive(Debug, Default)]
pub struct Preconditions {
    if_match: Option<String>,
    if_none_match: Option<String>,
}

impl FromRequestParts<SharedState> for Preconditions {
    type Rejection = ScimError;

    async fn from_request_parts(parts: &mut Parts, state: &SharedState) -> Result<Self, ScimError> {
        if state.profile == Profile::Aws {
            return Ok(Self::default());
        }
        let header = |name| {
            parts
                .headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        Ok(Self {
            if_match: header(IF_MATCH),
            if_none_match: header(IF_NONE_MATCH),
        })
    }
}

impl Preconditions {
    pub fn has_if_match(&self) -> bool {
        self.if_match.is_some()
    }

    /// 412 Precondition Failed unless `If-Match` (if any) names the version.
    pub fn check(&self, version: i64) -> Result<(), ScimError> {
        match &self.if_match {
            Some(tags) if !etag::matches(tags, version) => Err(ScimError::precondition_failed()),
            _ => Ok(()),
        }
    }

    /// The 304 Not Modified of a GET whose `If-None-Match` names the version.
    pub fn not_modified(&self, version: i64) -> Option<Response> {
        self.if_none_match
            .as_deref()
            .filter(|tags| etag::matches(tags, version))
            .map(|_| (StatusCode::NOT_MODIFIED, [(ETAG, etag::of(version))]).into_response())
    }
}

/// How a single resource is answered: as AWS renders it, or (`rfc`) with `meta.version`, its
/// `groups` or `members`, the selection of `attributes`/`excludedAttributes` and an `ETag`.
pub struct Render {
    profile: Profile,
    projection: Projection,
}

impl FromRequestParts<SharedState> for Render {
    type Rejection = ScimError;

    async fn from_request_parts(parts: &mut Parts, state: &SharedState) -> Result<Self, ScimError> {
        let projection = match state.profile {
            Profile::Aws => Projection::default(),
            Profile::Rfc => {
                let ListParams { search, .. } =
                    ListParams::from_request_parts(parts, state).await?;
                Projection::parse(
                    search.attributes.as_deref(),
                    search.excluded_attributes.as_deref(),
                )?
            }
        };
        Ok(Self {
            profile: state.profile,
            projection,
        })
    }
}

impl Render {
    pub async fn user(
        &self,
        state: &SharedState,
        auth: &Authenticated,
        record: &UserRecord,
        status: StatusCode,
    ) -> Result<Response, ScimError> {
        if self.profile == Profile::Aws {
            return Ok((status, Json(UserBody::new(record))).into_response());
        }
        let groups = if self.projection.returns("groups") {
            let direct =
                memberships(state, &auth.tenant, MembershipQuery::User(&record.id)).await?;
            let nesting = Nesting::load(state, &auth.tenant).await?;
            nesting.groups(&auth.base_url, &direct)
        } else {
            Vec::new()
        };
        let value = user_value(record, &auth.base_url, groups);
        Ok(self.respond(status, value, record.version))
    }

    pub async fn group(
        &self,
        state: &SharedState,
        auth: &Authenticated,
        record: &GroupRecord,
        status: StatusCode,
    ) -> Result<Response, ScimError> {
        if self.profile == Profile::Aws {
            return Ok((status, Json(GroupBody::new(record))).into_response());
        }
        let members = if self.projection.returns("members") {
            let users =
                memberships(state, &auth.tenant, MembershipQuery::Group(&record.id)).await?;
            let nesting = Nesting::load(state, &auth.tenant).await?;
            nesting.members(&auth.base_url, &record.id, &users)
        } else {
            Vec::new()
        };
        let value = group_value(record, &auth.base_url, members);
        Ok(self.respond(status, value, record.version))
    }

    fn respond(&self, status: StatusCode, mut value: Value, version: i64) -> Response {
        self.projection.apply(&mut value);
        (status, [(ETAG, etag::of(version))], Json(value)).into_response()
    }
}

/// A user in the `rfc` profile: AWS's rendering, `meta.location`, `meta.version` and its
/// groups.
fn user_value(record: &UserRecord, base_url: &str, groups: Vec<Value>) -> Value {
    let body = serde_json::to_value(UserBody::new(record)).unwrap_or_default();
    with_meta_and(
        body,
        format!("{base_url}/Users/{}", record.id),
        record.version,
        "groups",
        groups,
    )
}

/// A group in the `rfc` profile: AWS's rendering, `meta.location`, `meta.version` and its
/// members.
fn group_value(record: &GroupRecord, base_url: &str, members: Vec<Value>) -> Value {
    let body = serde_json::to_value(GroupBody::new(record)).unwrap_or_default();
    with_meta_and(
        body,
        format!("{base_url}/Groups/{}", record.id),
        record.version,
        "members",
        members,
    )
}

fn with_meta_and(
    mut body: Value,
    location: String,
    version: i64,
    key: &str,
    refs: Vec<Value>,
) -> Value {
    body["meta"]["location"] = Value::String(location);
    body["meta"]["version"] = Value::String(etag::of(version));
    // An empty multi-valued attribute is unassigned (RFC 7643 §2.5): not rendered.
    match body.as_object_mut() {
        Some(object) if refs.is_empty() => {
            object.remove(key);
        }
        _ => body[key] = Value::Array(refs),
    }
    body
}

/// A value of `members` or `groups` (RFC 7643 §4.1.2, §4.2): the id, its URI, and the `type`
/// of the reference.
fn reference(base_url: &str, endpoint: &str, id: &str, kind: &str) -> Value {
    json!({"value": id, "$ref": format!("{base_url}/{endpoint}/{id}"), "type": kind})
}

/// How a tenant's groups nest (RFC 7643 §4.2): the member groups of each group, and the
/// groups each group is a member of.
#[derive(Default)]
struct Nesting {
    members: HashMap<String, Vec<String>>,
    parents: HashMap<String, Vec<String>>,
}

impl Nesting {
    async fn load(state: &SharedState, tenant: &Tenant) -> Result<Self, ScimError> {
        let pairs = state
            .store
            .list_subgroups(tenant)
            .await
            .map_err(|e| store_error(e, ScimError::group_not_found))?;
        let mut nesting = Self::default();
        for (group, member) in pairs {
            let parents = nesting.parents.entry(member.clone()).or_default();
            parents.push(group.clone());
            nesting.members.entry(group).or_default().push(member);
        }
        Ok(nesting)
    }

    /// `members` of a group: its users, then its member groups.
    fn members(&self, base_url: &str, group: &str, users: &[String]) -> Vec<Value> {
        let groups = self.members.get(group).into_iter().flatten();
        users
            .iter()
            .map(|user| reference(base_url, "Users", user, "User"))
            .chain(groups.map(|g| reference(base_url, "Groups", g, "Group")))
            .collect()
    }

    /// `groups` of a user who is a member of the groups `direct`: those, then the groups they
    /// are members of, at any depth (`indirect`, RFC 7643 §4.1.2), in id order.
    fn groups(&self, base_url: &str, direct: &[String]) -> Vec<Value> {
        let mut seen: BTreeSet<&str> = direct.iter().map(String::as_str).collect();
        let mut indirect = BTreeSet::new();
        let mut pending: Vec<&str> = direct.iter().map(String::as_str).collect();
        while let Some(group) = pending.pop() {
            for parent in self.parents.get(group).into_iter().flatten() {
                if seen.insert(parent) {
                    indirect.insert(parent.as_str());
                    pending.push(parent);
                }
            }
        }
        direct
            .iter()
            .map(|g| reference(base_url, "Groups", g, "direct"))
            .chain(
                indirect
                    .into_iter()
                    .map(|g| reference(base_url, "Groups", g, "indirect")),
            )
            .collect()
    }
}

/// Every item of a keyset listing (`store::all_pages`), as a SCIM error on failure.
async fn collect<T, F, Fut>(fetch: F, key: impl Fn(&T) -> &str) -> Result<Vec<T>, ScimError>
where
    F: FnMut(Option<String>) -> Fut,
    Fut: Future<Output = StoreResult<Page<T>>>,
{
    all_pages(fetch, key)
        .await
        .map_err(|e| store_error(e, ScimError::user_not_found))
}

/// The members of a group or the groups of a user, as ids.
pub async fn memberships(
    state: &SharedState,
    tenant: &Tenant,
    query: MembershipQuery<'_>,
) -> Result<Vec<String>, ScimError> {
    let store = state.store.as_ref();
    let all = collect(
        |after| async move {
            store
                .list_memberships(tenant, query, ListArgs::scan(after.as_deref()))
                .await
        },
        |m| m.key(query),
    )
    .await?;
    Ok(all.iter().map(|m| m.key(query).to_owned()).collect())
}

/// A list (`GET /Users`, `GET /Groups`) or a search (`POST .../.search`) over `types`.
pub async fn search(
    state: &SharedState,
    auth: &Authenticated,
    params: &SearchParams,
    types: &[&'static ResourceSchema],
) -> Result<Response, ScimError> {
    let search = Search::new(params, types)?;
    let (store, tenant, base_url) = (state.store.as_ref(), &auth.tenant, &auth.base_url);
    let groups = collect(
        |after| async move {
            store
                .list_groups(tenant, &GroupQuery::All, ListArgs::scan(after.as_deref()))
                .await
        },
        |g: &GroupRecord| g.id.as_str(),
    )
    .await?;
    let mut members: HashMap<&str, Vec<String>> = HashMap::new();
    for group in &groups {
        let ids = memberships(state, tenant, MembershipQuery::Group(&group.id)).await?;
        members.insert(&group.id, ids);
    }
    let nesting = Nesting::load(state, tenant).await?;
    let mut resources = Vec::new();
    if types.iter().any(|t| t.name == USER_RESOURCE.name) {
        // Groups are listed in id order, so each user's groups are too.
        let mut groups_of: HashMap<&str, Vec<String>> = HashMap::new();
        for group in &groups {
            for user in &members[group.id.as_str()] {
                groups_of.entry(user).or_default().push(group.id.clone());
            }
        }
        let users = collect(
            |after| async move {
                store
                    .list_users(tenant, &UserQuery::All, ListArgs::scan(after.as_deref()))
                    .await
            },
            |u: &UserRecord| u.id.as_str(),
        )
        .await?;
        for user in &users {
            let of = groups_of
                .get(user.id.as_str())
                .map_or(&[][..], Vec::as_slice);
            resources.push(user_value(user, base_url, nesting.groups(base_url, of)));
        }
    }
    if types.iter().any(|t| t.name == GROUP_RESOURCE.name) {
        for group in &groups {
            let users = &members[group.id.as_str()];
            let members = nesting.members(base_url, &group.id, users);
            resources.push(group_value(group, base_url, members));
        }
    }
    if let Some(filter) = &search.filter {
        resources.retain(|r| eval::matches(filter, r));
    }
    if let Some(by) = &search.sort_by {
        eval::sort(&mut resources, by, search.descending);
    }
    let (total, mut page) = search.page(resources);
    for resource in &mut page {
        search.projection.apply(resource);
    }
    let mut list = ListResponse::new(page);
    list.total_results = Some(i64::try_from(total).unwrap_or(i64::MAX));
    list.start_index = Some(u32::try_from(search.start_index).unwrap_or(u32::MAX));
    Ok(Json(list).into_response())
}

/// `POST /Users/.search`.
pub async fn search_users(
    State(state): State<SharedState>,
    Extension(auth): Extension<Authenticated>,
    ScimJson(body): ScimJson,
) -> Result<Response, ScimError> {
    let params = SearchParams::from_search_request(body)?;
    search(&state, &auth, &params, &[&USER_RESOURCE]).await
}

/// `POST /Groups/.search`.
pub async fn search_groups(
    State(state): State<SharedState>,
    Extension(auth): Extension<Authenticated>,
    ScimJson(body): ScimJson,
) -> Result<Response, ScimError> {
    let params = SearchParams::from_search_request(body)?;
    search(&state, &auth, &params, &[&GROUP_RESOURCE]).await
}

/// `POST /.search`: users and groups.
pub async fn search_all(
    State(state): State<SharedState>,
    Extension(auth): Extension<Authenticated>,
    ScimJson(body): ScimJson,
) -> Result<Response, ScimError> {
    let params = SearchParams::from_search_request(body)?;
    search(&state, &auth, &params, &RESOURCES).await
}
