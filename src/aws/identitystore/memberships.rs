//! ListGroupMemberships, ListGroupMembershipsForMember, GetGroupMembershipId,
//! DescribeGroupMembership, IsMemberInGroups, CreateGroupMembership and DeleteGroupMembership
//! on the memberships the SCIM endpoint writes (`PATCH /Groups/{id}` members), with the
//! store's membership ids.

use serde_json::{Value, json};

use super::error::{ApiError, ResourceType, Result};
use super::shapes::{
    self, GroupMemberRequest, GroupMembershipExistenceResult, IsMemberInGroupsRequest,
    ListGroupMembershipsForMemberRequest, ListGroupMembershipsRequest, MemberId, MembershipRequest,
};
use super::{Ctx, next_token, reply, resource_arn};
use crate::store::{ListArgs, Membership, MembershipQuery, StoreError, Tenant};

fn membership_shape(tenant: &Tenant, m: &Membership) -> shapes::GroupMembership {
    shapes::GroupMembership {
        identity_store_id: tenant.identity_store_id.clone(),
        membership_id: m.membership_id.clone(),
        membership_arn: resource_arn("membership", &m.membership_id),
        group_id: m.group_id.clone(),
        member_id: MemberId::UserId(m.user_id.clone()),
    }
}

fn membership_ref(tenant: &Tenant, m: &Membership) -> Value {
    json!({
        "IdentityStoreId": tenant.identity_store_id,
        "MembershipId": m.membership_id,
        "MembershipArn": resource_arn("membership", &m.membership_id),
    })
}

fn user_id(member: &MemberId) -> Result<&str> {
    let MemberId::UserId(id) = member;
    shapes::resource_id("memberId.userId", id)
}

fn store_error(resource: ResourceType, id: &str) -> impl Fn(StoreError) -> ApiError + '_ {
    move |e| ApiError::from_store(e, resource, Some(id))
}

/// A page of memberships; an empty one is checked against the group or user it lists, which
/// must exist.
async fn page(
    ctx: &Ctx<'_>,
    tenant: &Tenant,
    query: MembershipQuery<'_>,
    max_results: Option<i64>,
    token: Option<&str>,
) -> Result<Value> {
    let limit = shapes::max_results(max_results)?;
    let after = next_token::decode(token)?;
    let args = ListArgs {
        limit,
        after: after.as_deref(),
        with_total: false,
    };
    let (resource, id) = match query {
        MembershipQuery::Group(id) => (ResourceType::Group, id),
        MembershipQuery::User(id) => (ResourceType::User, id),
    };
    let page = ctx
        .store()
        .list_memberships(tenant, query, args)
        .await
        .map_err(store_error(resource, id))?;
    if page.items.is_empty() && after.is_none() {
        let exists = match query {
            MembershipQuery::Group(id) => match ctx.store().get_group(tenant, id).await {
                Ok(_) => true,
                Err(StoreError::NotFound) => false,
                Err(e) => return Err(store_error(resource, id)(e)),
            },
            MembershipQuery::User(id) => ctx
                .store()
                .user_exists(tenant, id)
                .await
                .map_err(store_error(resource, id))?,
        };
        if !exists {
            return Err(ApiError::not_found(resource, Some(id)));
        }
    }
    let next = page.next_after(|m| m.key(query)).map(next_token::encode);
    reply(shapes::ListGroupMembershipsResponse {
        group_memberships: page
            .items
            .iter()
            .map(|m| membership_shape(tenant, m))
            .collect(),
        next_token: next,
    })
}

pub(super) async fn list(ctx: &Ctx<'_>, req: ListGroupMembershipsRequest) -> Result<Value> {
    let tenant = ctx.tenant(&req.identity_store_id).await?;
    let group = shapes::resource_id("groupId", &req.group_id)?;
    let query = MembershipQuery::Group(group);
    page(
        ctx,
        &tenant,
        query,
        req.max_results,
        req.next_token.as_deref(),
    )
    .await
}

pub(super) async fn list_for_member(
    ctx: &Ctx<'_>,
    req: ListGroupMembershipsForMemberRequest,
) -> Result<Value> {
    let tenant = ctx.tenant(&req.identity_store_id).await?;
    let user = user_id(&req.member_id)?;
    let query = MembershipQuery::User(user);
    page(
        ctx,
        &tenant,
        query,
        req.max_results,
        req.next_token.as_deref(),
    )
    .await
}

pub(super) async fn get_id(ctx: &Ctx<'_>, req: GroupMemberRequest) -> Result<Value> {
    let tenant = ctx.tenant(&req.identity_store_id).await?;
    let group = shapes::resource_id("groupId", &req.group_id)?;
    let user = user_id(&req.member_id)?;
    let m = ctx
        .store()
        .find_membership(&tenant, group, user)
        .await
        .map_err(|e| ApiError::from_store(e, ResourceType::GroupMembership, None))?;
    reply(membership_ref(&tenant, &m))
}

pub(super) async fn describe(ctx: &Ctx<'_>, req: MembershipRequest) -> Result<Value> {
    let tenant = ctx.tenant(&req.identity_store_id).await?;
    let id = shapes::resource_id("membershipId", &req.membership_id)?;
    let m = ctx
        .store()
        .get_membership(&tenant, id)
        .await
        .map_err(store_error(ResourceType::GroupMembership, id))?;
    reply(membership_shape(&tenant, &m))
}

pub(super) async fn is_member_in_groups(
    ctx: &Ctx<'_>,
    req: IsMemberInGroupsRequest,
) -> Result<Value> {
    let tenant = ctx.tenant(&req.identity_store_id).await?;
    let user = user_id(&req.member_id)?;
    match req.group_ids.len() {
        0 => {
            return Err(ApiError::constraint(
                "groupIds",
                "Member must have length greater than or equal to 1",
            ));
        }
        1..=100 => {}
        _ => {
            return Err(ApiError::constraint(
                "groupIds",
                "Member must have length less than or equal to 100",
            ));
        }
    }
    let groups = req
        .group_ids
        .iter()
        .map(|g| shapes::resource_id("groupIds.member", g))
        .collect::<Result<Vec<_>>>()?;
    let exists = ctx
        .store()
        .user_exists(&tenant, user)
        .await
        .map_err(store_error(ResourceType::User, user))?;
    if !exists {
        return Err(ApiError::not_found(ResourceType::User, Some(user)));
    }
    let mut results = Vec::with_capacity(groups.len());
    for group in groups {
        let membership_exists = match ctx.store().find_membership(&tenant, group, user).await {
            Ok(_) => true,
            Err(StoreError::NotFound) => false,
            Err(e) => return Err(store_error(ResourceType::Group, group)(e)),
        };
        results.push(GroupMembershipExistenceResult {
            group_id: group.to_owned(),
            member_id: MemberId::UserId(user.to_owned()),
            membership_exists,
        });
    }
    reply(json!({ "Results": results }))
}

pub(super) async fn create(ctx: &Ctx<'_>, req: GroupMemberRequest) -> Result<Value> {
    let tenant = ctx.tenant(&req.identity_store_id).await?;
    let group = shapes::resource_id("groupId", &req.group_id)?;
    let user = user_id(&req.member_id)?;
    let m = ctx
        .store()
        .add_membership(&tenant, group, user, ctx.now_ms())
        .await
        .map_err(|e| match e {
            StoreError::MemberNotFound => ApiError::not_found(ResourceType::User, Some(user)),
            e => ApiError::from_store(e, ResourceType::Group, Some(group)),
        })?;
    reply(membership_ref(&tenant, &m))
}

pub(super) async fn delete(ctx: &Ctx<'_>, req: MembershipRequest) -> Result<Value> {
    let tenant = ctx.tenant(&req.identity_store_id).await?;
    let id = shapes::resource_id("membershipId", &req.membership_id)?;
    ctx.store()
        .delete_membership(&tenant, id, ctx.now_ms())
        .await
        .map_err(store_error(ResourceType::GroupMembership, id))?;
    reply(json!({}))
}
