//! TagResource, UntagResource and ListTagsForResource, on instances and permission sets (the
//! emulator has no applications nor trusted token issuers, the other taggable resources). A
//! resource holds at most `sso::MAX_TAGS` tags.

use serde_json::{Value, json};

use super::error::{ApiError, Result};
use super::shapes::{ListTagsRequest, TagResourceRequest, TagShape, UntagResourceRequest};
use super::{Ctx, Instance, Paging, next_token};
use crate::sso::{self, Arn, Tag};
use crate::store::StoreError;

/// The instance of a taggable resource and the id its tags are kept under. `InstanceArn`, when
/// given, must name the resource's instance.
async fn resource(
    ctx: &Ctx<'_>,
    instance_arn: Option<&str>,
    resource_arn: &str,
) -> Result<(Instance, String)> {
    let arn = Arn::taggable("resourceArn", resource_arn)?;
    let (instance_id, resource_id) = match arn {
        Arn::Instance(id) => (id, id),
        Arn::PermissionSet {
            instance_id,
            permission_set_id,
        } => (instance_id, permission_set_id),
        Arn::Other => {
            return Err(ApiError::NotFound(format!(
                "Resource {resource_arn} not found."
            )));
        }
    };
    if let Some(given) = instance_arn {
        let given = Arn::instance("instanceArn", given)?;
        if given != instance_id {
            return Err(ApiError::invalid(
                "The ResourceArn does not belong to the instance of the InstanceArn.",
            ));
        }
    }
    let tenant = ctx
        .instance_by_id(instance_id)
        .await?
        .ok_or_else(|| ctx.denied(resource_arn))?;
    let instance = Instance::of(tenant);
    if let Arn::PermissionSet { .. } = arn {
        ctx.permission_set(&instance, resource_arn).await?;
    }
    Ok((instance, resource_id.to_owned()))
}

pub(super) async fn tag(ctx: &Ctx<'_>, req: TagResourceRequest) -> Result<Value> {
    let tags: Vec<Tag> = req.tags.into_iter().map(Tag::from).collect();
    sso::tags("tags", &tags)?;
    let (instance, id) = resource(ctx, req.instance_arn.as_deref(), &req.resource_arn).await?;
    ctx.store()
        .tag_resource(&instance.tenant, &id, &tags, sso::MAX_TAGS)
        .await
        .map_err(|e| match e {
            StoreError::LimitReached => {
                ApiError::QuotaExceeded(format!("A resource has at most {} tags.", sso::MAX_TAGS))
            }
            other => ApiError::store(other),
        })?;
    Ok(json!({}))
}

pub(super) async fn untag(ctx: &Ctx<'_>, req: UntagResourceRequest) -> Result<Value> {
    if req.tag_keys.is_empty() || req.tag_keys.len() > sso::MAX_TAGS {
        return Err(sso::Invalid::constraint(
            "tagKeys",
            format!("Member must have length between 1 and {}", sso::MAX_TAGS),
        )
        .into());
    }
    for key in &req.tag_keys {
        sso::tag_key("tagKeys.member", key)?;
    }
    let (instance, id) = resource(ctx, req.instance_arn.as_deref(), &req.resource_arn).await?;
    ctx.store()
        .untag_resource(&instance.tenant, &id, &req.tag_keys)
        .await
        .map_err(ApiError::store)?;
    Ok(json!({}))
}

pub(super) async fn list(ctx: &Ctx<'_>, req: ListTagsRequest) -> Result<Value> {
    let paging = Paging::new(None, req.next_token.as_deref())?;
    let (instance, id) = resource(ctx, req.instance_arn.as_deref(), &req.resource_arn).await?;
    let page = ctx
        .store()
        .list_tags(&instance.tenant, &id, paging.args())
        .await
        .map_err(ApiError::store)?;
    let token = next_token(&page, |t| t.key.clone());
    let tags: Vec<TagShape> = page.items.into_iter().map(TagShape::from).collect();
    let mut body = json!({ "Tags": tags });
    if let Some(token) = token {
        body["NextToken"] = json!(token);
    }
    Ok(body)
}
