//! CreatePermissionSet, DescribePermissionSet, ListPermissionSets, UpdatePermissionSet and
//! DeletePermissionSet. Names are unique in an instance (`ConflictException: PermissionSet
//! with name AdministratorAccess already exists.`, as seen in
//! avlcloudtechnologies/terraform-aws-sso#6); an instance holds at most
//! `sso::MAX_PERMISSION_SETS`.

use serde_json::{Value, json};

use super::error::{ApiError, Result};
use super::shapes::{
    CreatePermissionSetRequest, ListPermissionSetsRequest, PermissionSetRequest,
    UpdatePermissionSetRequest,
};
use super::{Ctx, Paging, next_token, permission_set_shape};
use crate::sso::{self, PermissionSetAttrs, Tag};
use crate::store::{Constraint, PermissionSetChange, PermissionSetRecord, StoreError};

pub(super) async fn create(ctx: &Ctx<'_>, req: CreatePermissionSetRequest) -> Result<Value> {
    let instance = ctx.instance(&req.instance_arn).await?;
    let attrs = PermissionSetAttrs {
        name: req.name,
        description: req.description,
        session_duration: req
            .session_duration
            .unwrap_or_else(|| sso::DEFAULT_SESSION_DURATION.to_owned()),
        relay_state: req.relay_state,
    };
    attrs.check()?;
    let tags: Vec<Tag> = req
        .tags
        .unwrap_or_default()
        .into_iter()
        .map(Tag::from)
        .collect();
    sso::tags("tags", &tags)?;
    let record = PermissionSetRecord {
        id: sso::new_permission_set_id(),
        attrs,
        inline_policy: None,
        boundary: None,
        version: 1,
        created_ms: ctx.now_ms(),
    };
    ctx.store()
        .create_permission_set(&instance.tenant, &record, &tags, sso::MAX_PERMISSION_SETS)
        .await
        .map_err(|e| match e {
            StoreError::Conflict(Constraint::PermissionSetName) => ApiError::Conflict(format!(
                "PermissionSet with name {} already exists.",
                record.attrs.name
            )),
            StoreError::LimitReached => ApiError::QuotaExceeded(format!(
                "An instance holds at most {} permission sets.",
                sso::MAX_PERMISSION_SETS
            )),
            StoreError::NotFound => ctx.denied(&req.instance_arn),
            other => ApiError::store(other),
        })?;
    Ok(json!({ "PermissionSet": permission_set_shape(&instance, &record) }))
}

pub(super) async fn describe(ctx: &Ctx<'_>, req: PermissionSetRequest) -> Result<Value> {
    let instance = ctx.instance(&req.instance_arn).await?;
    let record = ctx
        .permission_set(&instance, &req.permission_set_arn)
        .await?;
    Ok(json!({ "PermissionSet": permission_set_shape(&instance, &record) }))
}

pub(super) async fn list(ctx: &Ctx<'_>, req: ListPermissionSetsRequest) -> Result<Value> {
    let instance = ctx.instance(&req.instance_arn).await?;
    let paging = Paging::new(req.max_results, req.next_token.as_deref())?;
    let page = ctx
        .store()
        .list_permission_sets(&instance.tenant, paging.args())
        .await
        .map_err(ApiError::store)?;
    let arns: Vec<String> = page
        .items
        .iter()
        .map(|r| instance.permission_set_arn(&r.id))
        .collect();
    let mut body = json!({ "PermissionSets": arns });
    if let Some(token) = next_token(&page, |r| r.id.clone()) {
        body["NextToken"] = json!(token);
    }
    Ok(body)
}

/// An absent `Description` or `SessionDuration` is kept; an absent `RelayState` is cleared, as
/// AWS clears it (hashicorp/terraform-provider-aws#17411, whose provider therefore always
/// sends it).
pub(super) async fn update(ctx: &Ctx<'_>, req: UpdatePermissionSetRequest) -> Result<Value> {
    let instance = ctx.instance(&req.instance_arn).await?;
    let current = ctx
        .permission_set(&instance, &req.permission_set_arn)
        .await?;
    let attrs = PermissionSetAttrs {
        name: current.attrs.name,
        description: req.description.or(current.attrs.description),
        session_duration: req
            .session_duration
            .unwrap_or(current.attrs.session_duration),
        relay_state: req.relay_state,
    };
    attrs.check()?;
    ctx.store()
        .update_permission_set(
            &instance.tenant,
            &current.id,
            PermissionSetChange::Attrs(&attrs),
        )
        .await
        .map_err(|e| match e {
            StoreError::NotFound => super::permission_set_not_found(&req.permission_set_arn),
            other => ApiError::store(other),
        })?;
    Ok(json!({}))
}

/// A permission set that is still assigned cannot be deleted; AWS's answer is the
/// `ConflictException` of hashicorp/terraform-provider-aws#26757 (2022).
pub(super) async fn delete(ctx: &Ctx<'_>, req: PermissionSetRequest) -> Result<Value> {
    let instance = ctx.instance(&req.instance_arn).await?;
    let record = ctx
        .permission_set(&instance, &req.permission_set_arn)
        .await?;
    ctx.store()
        .delete_permission_set(&instance.tenant, &record.id)
        .await
        .map_err(|e| match e {
            StoreError::InUse => ApiError::Conflict(
                "Could not delete because PermissionSet has ApplicationProfile associated with it"
                    .to_owned(),
            ),
            StoreError::NotFound => super::permission_set_not_found(&req.permission_set_arn),
            other => ApiError::store(other),
        })?;
    Ok(json!({}))
}
