//! The AWS Identity Store API (service `identitystore`, AWS JSON 1.1) on the same store as the
//! SCIM endpoint: `POST /` with `X-Amz-Target: AWSIdentityStore.<Operation>`, signed with
//! Signature V4 (`aws::sigv4`). Users, groups and memberships have the same ids in both APIs;
//! `IdentityStoreId` (`d-` + 10 hex) selects the tenant, which the caller must be allowed to
//! reach (`aws::Caller`). `aws` dispatches to `call`.
//!
//! The request and response shapes, limits and errors are those of the service model in
//! `botocore/data/identitystore/2020-06-15/service-2.json` (`shapes`, `error`). The store keeps
//! the SCIM representation; `users` and `groups` map it to and from the API's shapes and
//! validate writes with the SCIM rules. This module never writes SQL.

pub mod error;
mod groups;
mod memberships;
pub mod shapes;
mod users;

use serde::Serialize;
use serde_json::{Value, json};

use crate::aws::protocol::{Ctx, epoch_seconds};
use crate::directory::{self, Resource};
use crate::state::SharedState;
use crate::store::{ListArgs, Tenant};
use error::{ApiError, ResourceType, Result};
use shapes::parse;

/// The prefix of `X-Amz-Target` (`targetPrefix` in the service model).
pub const TARGET_PREFIX: &str = "AWSIdentityStore";

/// The name requests are signed for (`signingName` in the service model).
pub const SIGNING_NAME: &str = "identitystore";

/// The API's name in the journal and in fault rules: `/identitystore/<Operation>`.
pub const SERVICE: &str = "identitystore";

/// The issuer under which the SCIM `externalId` appears in `ExternalIds`. SCIM keeps one
/// external id without an issuer; the Identity Store API lists `{Issuer, Id}` pairs. This
/// emulator names the SCIM endpoint as the issuer (inferred: AWS does not document the issuer
/// it shows for SCIM-provisioned identities), and `GetUserId`/`GetGroupId` by `ExternalId`
/// match only this issuer.
pub const SCIM_ISSUER: &str = "scim";

/// Runs one operation, asked by `ctx.caller`, on its (JSON object) body.
pub async fn call(ctx: &Ctx<'_>, body: Value) -> Result<Value> {
    match ctx.operation {
        "DescribeUser" => users::describe(ctx, parse(body)?).await,
        "ListUsers" => users::list(ctx, parse(body)?).await,
        "GetUserId" => users::get_id(ctx, parse(body)?).await,
        "CreateUser" => users::create(ctx, parse(body)?).await,
        "UpdateUser" => users::update(ctx, parse(body)?).await,
        "DeleteUser" => users::delete(ctx, parse(body)?).await,
        "DescribeGroup" => groups::describe(ctx, parse(body)?).await,
        "ListGroups" => groups::list(ctx, parse(body)?).await,
        "GetGroupId" => groups::get_id(ctx, parse(body)?).await,
        "CreateGroup" => groups::create(ctx, parse(body)?).await,
        "UpdateGroup" => groups::update(ctx, parse(body)?).await,
        "DeleteGroup" => groups::delete(ctx, parse(body)?).await,
        "ListGroupMemberships" => memberships::list(ctx, parse(body)?).await,
        "ListGroupMembershipsForMember" => memberships::list_for_member(ctx, parse(body)?).await,
        "GetGroupMembershipId" => memberships::get_id(ctx, parse(body)?).await,
        "DescribeGroupMembership" => memberships::describe(ctx, parse(body)?).await,
        "IsMemberInGroups" => memberships::is_member_in_groups(ctx, parse(body)?).await,
        "CreateGroupMembership" => memberships::create(ctx, parse(body)?).await,
        "DeleteGroupMembership" => memberships::delete(ctx, parse(body)?).await,
        _ => Err(ApiError::UnknownOperation),
    }
}

/// The tenant a request is for, when its `IdentityStoreId` names an existing one: the
/// dispatcher runs the controls and the journal for it, if the caller may reach it.
pub async fn tenant_of(state: &SharedState, body: &Value) -> Option<Tenant> {
    let id = body.get("IdentityStoreId").and_then(Value::as_str)?;
    let id = shapes::identity_store_id(id).ok()?;
    state.store.tenant_by_identity_store(id).await.ok()
}

/// What an operation of this service reaches besides the store and the clock.
impl Ctx<'_> {
    /// The tenant an `IdentityStoreId` names, if the caller may reach it: an unknown one is a
    /// `ResourceNotFoundException` of type `IDENTITY_STORE`, as in AWS within one's own account;
    /// another tenant's an `AccessDeniedException`, as another account's.
    async fn tenant(&self, identity_store_id: &str) -> Result<Tenant> {
        let id = shapes::identity_store_id(identity_store_id)?;
        let tenant = self
            .store()
            .tenant_by_identity_store(id)
            .await
            .map_err(|e| ApiError::from_store(e, ResourceType::IdentityStore, Some(id)))?;
        if self.caller.may_reach(&tenant.tenant_id) {
            Ok(tenant)
        } else {
            Err(ApiError::access_denied(self.operation, id))
        }
    }
}

/// A response body.
fn reply<T: Serialize>(response: T) -> Result<Value> {
    serde_json::to_value(response).map_err(|e| {
        tracing::error!(error = %e, "response did not serialise");
        ApiError::Internal
    })
}

/// The ARN of a user, group or membership, in the form of the model's `ResourceArn`.
fn resource_arn(kind: &str, id: &str) -> String {
    format!("arn:aws:identitystore:::{kind}/{id}")
}

/// `ExternalIds` of a resource: its SCIM `externalId` under `SCIM_ISSUER`.
fn external_ids(external_id: Option<&str>) -> Option<Vec<shapes::ExternalId>> {
    external_id.map(|id| {
        vec![shapes::ExternalId {
            issuer: SCIM_ISSUER.to_owned(),
            id: id.to_owned(),
        }]
    })
}

/// `ExternalIdIssuer` and `ExternalIdIdentifier`: 1..=256 characters without spaces.
fn check_external_id(ext: &shapes::ExternalId) -> Result<()> {
    for (member, value) in [
        ("alternateIdentifier.externalId.issuer", &ext.issuer),
        ("alternateIdentifier.externalId.id", &ext.id),
    ] {
        let len = value.chars().count();
        if len == 0 || len > 256 || value.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(ApiError::constraint(
                member,
                "Member must be 1 to 256 letters, marks, symbols, numbers or punctuation",
            ));
        }
    }
    Ok(())
}

/// The value of a `UniqueAttribute`: a document that must hold a non-empty string.
fn unique_value(attr: &shapes::UniqueAttribute) -> Result<String> {
    match &attr.attribute_value {
        Value::String(s) if !s.is_empty() && s.chars().count() <= 1024 => Ok(s.clone()),
        _ => Err(ApiError::constraint(
            "alternateIdentifier.uniqueAttribute.attributeValue",
            "Member must be a string of 1 to 1024 characters",
        )),
    }
}

/// `Filter.AttributeValue`: 1..=1024 characters.
fn filter_value(value: &str) -> Result<String> {
    let len = value.chars().count();
    if len == 0 || len > 1024 {
        return Err(ApiError::constraint(
            "filters.member.attributeValue",
            "Member must have length between 1 and 1024",
        ));
    }
    Ok(value.to_owned())
}

/// The value of the one filter ListUsers and ListGroups take, on `path` (`UserName`,
/// `DisplayName`); `None` without a filter.
fn filter_on(
    filters: Option<&[shapes::Filter]>,
    path: &str,
    operation: &str,
) -> Result<Option<String>> {
    match shapes::single_filter(filters)? {
        None => Ok(None),
        Some(f) if f.attribute_path.eq_ignore_ascii_case(path) => {
            filter_value(&f.attribute_value).map(Some)
        }
        Some(f) => Err(ApiError::invalid(format!(
            "AttributePath {} is not supported; {operation} filters on {path}.",
            f.attribute_path
        ))),
    }
}

/// One page of users or groups (ListUsers, ListGroups), and the `NextToken` of the next.
async fn list_page<K: Resource>(
    ctx: &Ctx<'_>,
    tenant: &Tenant,
    query: &K::Query,
    limit: u32,
    after: Option<String>,
    kind: ResourceType,
) -> Result<(Vec<K>, Option<String>)> {
    let args = ListArgs {
        limit,
        after: after.as_deref(),
        with_total: false,
    };
    let page = K::list(ctx.store(), tenant, query, args)
        .await
        .map_err(|e| ApiError::from_store(e, kind, None))?;
    let next = page.next_after(|r| r.id()).map(next_token::encode);
    Ok((page.items, next))
}

/// The SCIM `externalId` an `ExternalId` alternate identifier (GetUserId, GetGroupId) names:
/// only `SCIM_ISSUER`'s are known.
fn scim_external_id(ext: shapes::ExternalId, kind: ResourceType) -> Result<String> {
    check_external_id(&ext)?;
    if ext.issuer != SCIM_ISSUER {
        return Err(ApiError::not_found(kind, None));
    }
    Ok(ext.id)
}

/// The user or group GetUserId or GetGroupId finds.
async fn find_one<K: Resource>(
    ctx: &Ctx<'_>,
    tenant: &Tenant,
    query: &K::Query,
    kind: ResourceType,
) -> Result<K> {
    directory::first(ctx.store(), tenant, query)
        .await
        .map_err(|e| ApiError::from_store(e, kind, None))?
        .ok_or_else(|| ApiError::not_found(kind, None))
}

/// DeleteUser and DeleteGroup; with a `Revision`, only that version.
async fn delete<K: Resource>(
    ctx: &Ctx<'_>,
    tenant: &Tenant,
    id: &str,
    revision: Option<&str>,
    kind: ResourceType,
) -> Result<Value> {
    let not_found = |e| ApiError::from_store(e, kind, Some(id));
    if let Some(rev) = shapes::revision(revision)? {
        let current = K::get(ctx.store(), tenant, id).await.map_err(not_found)?;
        if current.version() != rev {
            return Err(ApiError::concurrent_modification());
        }
    }
    K::delete(ctx.store(), tenant, id)
        .await
        .map_err(not_found)?;
    reply(json!({}))
}

/// `NextToken`: a keyset token (`store::keyset`), at most 65535 characters as the model says.
mod next_token {
    use super::*;
    pub use crate::aws::protocol::encode_next_token as encode;

    pub fn decode(token: Option<&str>) -> Result<Option<String>> {
        crate::aws::protocol::decode_next_token(token, 65535).map_err(ApiError::from)
    }
}
