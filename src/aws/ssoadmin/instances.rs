//! ListInstances, DescribeInstance, UpdateInstance, CreateInstance and DeleteInstance: each
//! tenant is an instance. CreateInstance makes a tenant, as an account instance is one of its
//! own; DeleteInstance deletes one, except the default tenant, which the server serves at
//! `/scim/v2/`.

use serde_json::{Value, json};

use super::error::{ApiError, Result};
use super::shapes::{
    self, CreateInstanceRequest, InstanceRequest, ListInstancesRequest, UpdateInstanceRequest,
};
use super::{Ctx, Instance, Paging, epoch_seconds, reply};
use crate::sso::{self, Tag};
use crate::store::{StoreError, TenantInfo};
use crate::tenants;

/// `InstanceList` holds at most 10 instances, whatever `MaxResults` asks for.
const MAX_INSTANCES_PER_PAGE: u32 = 10;

pub(super) async fn list(ctx: &Ctx<'_>, req: ListInstancesRequest) -> Result<Value> {
    let paging = Paging::new(req.max_results, req.next_token.as_deref())?;
    let limit = paging.limit.min(MAX_INSTANCES_PER_PAGE) as usize;
    let tenants = ctx.store().list_tenants().await.map_err(ApiError::store)?;
    let mut visible: Vec<(String, TenantInfo)> = tenants
        .into_iter()
        .filter(|info| ctx.may_see(&info.tenant))
        .map(|info| (sso::instance_id(&info.tenant.identity_store_id), info))
        .filter(|(id, _)| paging.after.as_ref().is_none_or(|after| id > after))
        .collect();
    visible.sort_by(|a, b| a.0.cmp(&b.0));
    let more = visible.len() > limit;
    visible.truncate(limit);
    let mut instances = Vec::with_capacity(visible.len());
    for (_, info) in &visible {
        instances.push(instance_shape(ctx, info).await?);
    }
    let next = more
        .then(|| {
            visible
                .last()
                .map(|(id, _)| crate::aws::protocol::encode_next_token(id))
        })
        .flatten();
    let mut body = json!({ "Instances": instances });
    if let Some(token) = next {
        body["NextToken"] = json!(token);
    }
    Ok(body)
}

pub(super) async fn describe(ctx: &Ctx<'_>, req: InstanceRequest) -> Result<Value> {
    let instance = ctx.instance(&req.instance_arn).await?;
    let info = tenant_info(ctx, &instance).await?;
    reply(instance_shape(ctx, &info).await?)
}

pub(super) async fn update(ctx: &Ctx<'_>, req: UpdateInstanceRequest) -> Result<Value> {
    let instance = ctx.instance(&req.instance_arn).await?;
    for (member, value) in [
        ("EncryptionConfiguration", &req.encryption_configuration),
        ("NetworkConfiguration", &req.network_configuration),
    ] {
        if value.as_ref().is_some_and(|v| !v.is_null()) {
            return Err(ApiError::invalid(format!(
                "{member} is not supported by this server: its instances keep only a name."
            )));
        }
    }
    if let Some(name) = &req.name {
        shapes::instance_name(name)?;
        ctx.store()
            .set_instance_name(&instance.tenant, name)
            .await
            .map_err(|e| match e {
                StoreError::NotFound => ctx.denied(&req.instance_arn),
                other => ApiError::store(other),
            })?;
    }
    Ok(json!({}))
}

pub(super) async fn create(ctx: &Ctx<'_>, req: CreateInstanceRequest) -> Result<Value> {
    if !ctx.caller.reaches_every_tenant() {
        return Err(ctx.denied(&sso::instance_arn("*")));
    }
    if let Some(name) = &req.name {
        shapes::instance_name(name)?;
    }
    let tags: Vec<Tag> = req
        .tags
        .unwrap_or_default()
        .into_iter()
        .map(Tag::from)
        .collect();
    sso::tags("tags", &tags)?;
    let view = tenants::create_tenant(ctx.store(), None, ctx.now_ms())
        .await
        .map_err(|e| {
            tracing::error!(error = ?e, "creating the tenant of a new instance");
            ApiError::Internal
        })?;
    let tenant = ctx
        .store()
        .get_tenant(&view.tenant_id)
        .await
        .map_err(ApiError::store)?
        .tenant;
    let instance = Instance::of(tenant);
    if let Some(name) = &req.name {
        ctx.store()
            .set_instance_name(&instance.tenant, name)
            .await
            .map_err(ApiError::store)?;
    }
    ctx.store()
        .tag_resource(&instance.tenant, &instance.id, &tags, sso::MAX_TAGS)
        .await
        .map_err(ApiError::store)?;
    Ok(json!({ "InstanceArn": instance.arn() }))
}

pub(super) async fn delete(ctx: &Ctx<'_>, req: InstanceRequest) -> Result<Value> {
    let instance = ctx.instance(&req.instance_arn).await?;
    if instance.tenant.tenant_id == ctx.state.default_tenant.tenant_id {
        return Err(ApiError::invalid(
            "The default instance of this server cannot be deleted.",
        ));
    }
    match ctx.store().delete_tenant(&instance.tenant.tenant_id).await {
        Ok(()) | Err(StoreError::NotFound) => Ok(json!({})),
        Err(e) => Err(ApiError::store(e)),
    }
}

async fn tenant_info(ctx: &Ctx<'_>, instance: &Instance) -> Result<TenantInfo> {
    ctx.store()
        .get_tenant(&instance.tenant.tenant_id)
        .await
        .map_err(|e| match e {
            StoreError::NotFound => ctx.denied(&instance.arn()),
            other => ApiError::store(other),
        })
}

/// An instance as ListInstances and DescribeInstance show it. Its name, unless one was given,
/// is the tenant id, which tells operators which tenant an instance is (AWS names instances
/// as their owners choose).
async fn instance_shape(ctx: &Ctx<'_>, info: &TenantInfo) -> Result<shapes::Instance> {
    let store_id = &info.tenant.identity_store_id;
    let owner = sso::owner_account_id(store_id);
    let name = ctx
        .store()
        .instance_name(&info.tenant)
        .await
        .map_err(ApiError::store)?
        .unwrap_or_else(|| info.tenant.tenant_id.clone());
    Ok(shapes::Instance {
        instance_arn: sso::instance_arn(&sso::instance_id(store_id)),
        identity_store_id: store_id.clone(),
        identity_store_arn: format!("arn:aws:identitystore::{owner}:identitystore/{store_id}"),
        owner_account_id: owner,
        name,
        created_date: epoch_seconds(info.created_ms),
        status: "ACTIVE",
    })
}
