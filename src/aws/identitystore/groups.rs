//! DescribeGroup, ListGroups, GetGroupId, CreateGroup, UpdateGroup and DeleteGroup on the SCIM
//! groups of the store. Writes are validated by the SCIM rules (`GroupAttrs::from_request`);
//! `Description`, which AWS's SCIM groups do not have, is refused by name.

use serde_json::{Map, Value, json};

use super::error::{ApiError, ResourceType, Result};
use super::shapes::{
    self, AlternateIdentifier, CreateGroupRequest, DeleteGroupRequest, DescribeGroupRequest,
    GetIdRequest, ListGroupsRequest, UpdateGroupRequest,
};
use super::{
    Ctx, epoch_seconds, external_ids, filter_on, find_one, list_page, next_token, reply,
    resource_arn, scim_external_id,
};
use crate::scim::group::{GroupAttrs, MemberChanges};
use crate::scim::query::GroupQuery;
use crate::store::{GroupRecord, GroupUpdate, StoreError, Tenant};

fn not_found(id: &str) -> impl Fn(StoreError) -> ApiError + '_ {
    move |e| ApiError::from_store(e, ResourceType::Group, Some(id))
}

pub(super) async fn describe(ctx: &Ctx<'_>, req: DescribeGroupRequest) -> Result<Value> {
    let tenant = ctx.tenant(&req.identity_store_id).await?;
    let id = shapes::resource_id("groupId", &req.group_id)?;
    let record = ctx
        .store()
        .get_group(&tenant, id)
        .await
        .map_err(not_found(id))?;
    reply(group_shape(&tenant, &record))
}

pub(super) async fn list(ctx: &Ctx<'_>, req: ListGroupsRequest) -> Result<Value> {
    let tenant = ctx.tenant(&req.identity_store_id).await?;
    let limit = shapes::max_results(req.max_results)?;
    let after = next_token::decode(req.next_token.as_deref())?;
    let query = filter_on(req.filters.as_deref(), "DisplayName", "ListGroups")?
        .map_or(GroupQuery::All, GroupQuery::DisplayName);
    let (groups, next) =
        list_page::<GroupRecord>(ctx, &tenant, &query, limit, after, ResourceType::Group).await?;
    reply(shapes::ListGroupsResponse {
        groups: groups.iter().map(|r| group_shape(&tenant, r)).collect(),
        next_token: next,
    })
}

pub(super) async fn get_id(ctx: &Ctx<'_>, req: GetIdRequest) -> Result<Value> {
    let tenant = ctx.tenant(&req.identity_store_id).await?;
    let query = match req.alternate_identifier {
        AlternateIdentifier::ExternalId(ext) => {
            GroupQuery::ExternalId(scim_external_id(ext, ResourceType::Group)?)
        }
        AlternateIdentifier::UniqueAttribute(attr) => {
            let value = super::unique_value(&attr)?;
            if !attr.attribute_path.eq_ignore_ascii_case("displayName") {
                return Err(ApiError::invalid(format!(
                    "AttributePath {} is not a unique attribute of groups; use displayName.",
                    attr.attribute_path
                )));
            }
            GroupQuery::DisplayName(value)
        }
    };
    let group: GroupRecord = find_one(ctx, &tenant, &query, ResourceType::Group).await?;
    reply(json!({
        "IdentityStoreId": tenant.identity_store_id,
        "GroupId": group.id,
        "GroupArn": resource_arn("group", &group.id),
    }))
}

pub(super) async fn create(ctx: &Ctx<'_>, req: CreateGroupRequest) -> Result<Value> {
    let tenant = ctx.tenant(&req.identity_store_id).await?;
    if req.description.as_ref().is_some_and(|d| !d.is_null()) {
        return Err(unsupported_description());
    }
    let mut json = Map::new();
    if let Some(name) = req.display_name {
        json.insert("displayName".into(), Value::String(name));
    }
    let attrs = validate(json)?;
    let record = ctx
        .store()
        .create_group(&tenant, &attrs, &MemberChanges::default(), ctx.now_ms())
        .await
        .map_err(|e| ApiError::from_store(e, ResourceType::Group, None))?;
    reply(group_ref(&tenant, &record.id, record.version))
}

pub(super) async fn update(ctx: &Ctx<'_>, req: UpdateGroupRequest) -> Result<Value> {
    let tenant = ctx.tenant(&req.identity_store_id).await?;
    let id = shapes::resource_id("groupId", &req.group_id)?;
    shapes::operations(&req.operations)?;
    let expected = shapes::revision(req.revision.as_deref())?;
    for op in &req.operations {
        if op.attribute_path.eq_ignore_ascii_case("description") {
            return Err(unsupported_description());
        }
        if !op.attribute_path.eq_ignore_ascii_case("displayName") {
            return Err(ApiError::invalid(format!(
                "AttributePath {} cannot be updated; a group has displayName.",
                op.attribute_path
            )));
        }
    }
    let record = ctx
        .store()
        .update_group(&tenant, id, ctx.now_ms(), false, |current, _| {
            if expected.is_some_and(|rev| rev != current.version) {
                return Err(ApiError::concurrent_modification());
            }
            let mut json = match serde_json::to_value(&current.attrs) {
                Ok(Value::Object(map)) => map,
                _ => return Err(ApiError::Internal),
            };
            for op in &req.operations {
                match op.attribute_value.clone().filter(|v| !v.is_null()) {
                    Some(v) => json.insert("displayName".into(), v),
                    None => json.remove("displayName"),
                };
            }
            Ok(GroupUpdate {
                attrs: validate(json)?,
                members: MemberChanges::default(),
            })
        })
        .await
        .map_err(not_found(id))??;
    reply(group_ref(&tenant, id, record.version))
}

pub(super) async fn delete(ctx: &Ctx<'_>, req: DeleteGroupRequest) -> Result<Value> {
    let tenant = ctx.tenant(&req.identity_store_id).await?;
    let id = shapes::resource_id("groupId", &req.group_id)?;
    let revision = req.revision.as_deref();
    super::delete::<GroupRecord>(ctx, &tenant, id, revision, ResourceType::Group).await
}

/// The SCIM group rules, on a group in its SCIM representation.
fn validate(json: Map<String, Value>) -> Result<GroupAttrs> {
    let (attrs, _) = GroupAttrs::from_request(Value::Object(json))?;
    Ok(attrs)
}

fn unsupported_description() -> ApiError {
    ApiError::invalid(
        "Description is not supported by this identity store (AWS's SCIM groups have no description).",
    )
}

/// `CreateGroupResponse` and `UpdateGroupResponse`.
fn group_ref(tenant: &Tenant, id: &str, version: i64) -> Value {
    json!({
        "IdentityStoreId": tenant.identity_store_id,
        "GroupId": id,
        "GroupArn": resource_arn("group", id),
        "Revision": version.to_string(),
    })
}

fn group_shape(tenant: &Tenant, record: &GroupRecord) -> shapes::Group {
    shapes::Group {
        identity_store_id: tenant.identity_store_id.clone(),
        group_id: record.id.clone(),
        group_arn: resource_arn("group", &record.id),
        revision: record.version.to_string(),
        display_name: record.attrs.display_name.clone(),
        external_ids: external_ids(record.attrs.external_id.as_deref()),
        created_at: epoch_seconds(record.created_ms),
        updated_at: epoch_seconds(record.modified_ms),
    }
}
