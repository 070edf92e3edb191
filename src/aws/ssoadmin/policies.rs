//! The policies of a permission set: its inline policy (Put, Get, Delete; checked by
//! `sso::policy`), AWS managed policies and customer managed policy references (Attach, List,
//! Detach; `sso::MAX_ATTACHED_POLICIES` of both kinds together, the quota "Number of AWS managed
//! and customer managed policies per permission set"), and its permissions boundary (Put, Get,
//! Delete). Every change makes the accounts' provisioned copy out of date until
//! ProvisionPermissionSet.
//!
//! Where AWS documents nothing, the answers follow what Terraform's AWS provider expects of
//! it (internal/service/ssoadmin): an empty `InlinePolicy` for a permission set without one,
//! `ResourceNotFoundException` for a boundary or a policy that is not there (the provider reads
//! both as "already gone"), and `ConflictException` for a policy attached twice (AWS was seen
//! to fail such an attachment: hashicorp/terraform-provider-aws#26138, #21543).

use serde_json::{Value, json};

use super::error::{ApiError, Result};
use super::shapes::{
    CustomerManagedPolicyReference, CustomerPolicyRequest, ListPoliciesRequest,
    ManagedPolicyRequest, PermissionSetRequest, PermissionsBoundary, PutBoundaryRequest,
    PutInlinePolicyRequest,
};
use super::{Ctx, Instance, Paging, next_token};
use crate::sso::{self, PolicyKind, PolicyRef};
use crate::store::{Constraint, PermissionSetChange, PermissionSetRecord, StoreError};

/// A permission set and the instance it is in, as an operation on its policies resolves them.
async fn target(
    ctx: &Ctx<'_>,
    instance_arn: &str,
    arn: &str,
) -> Result<(Instance, PermissionSetRecord)> {
    let instance = ctx.instance(instance_arn).await?;
    let record = ctx.permission_set(&instance, arn).await?;
    Ok((instance, record))
}

/// Writes a change of the permission set's own columns.
async fn change(
    ctx: &Ctx<'_>,
    instance: &Instance,
    arn: &str,
    record: &PermissionSetRecord,
    change: PermissionSetChange<'_>,
) -> Result<Value> {
    ctx.store()
        .update_permission_set(&instance.tenant, &record.id, change)
        .await
        .map_err(|e| match e {
            StoreError::NotFound => super::permission_set_not_found(arn),
            other => ApiError::store(other),
        })?;
    Ok(json!({}))
}

pub(super) async fn put_inline(ctx: &Ctx<'_>, req: PutInlinePolicyRequest) -> Result<Value> {
    let (instance, record) = target(ctx, &req.instance_arn, &req.permission_set_arn).await?;
    sso::policy::inline_policy("inlinePolicy", &req.inline_policy)?;
    let inline = PermissionSetChange::InlinePolicy(Some(&req.inline_policy));
    change(ctx, &instance, &req.permission_set_arn, &record, inline).await
}

pub(super) async fn get_inline(ctx: &Ctx<'_>, req: PermissionSetRequest) -> Result<Value> {
    let (_, record) = target(ctx, &req.instance_arn, &req.permission_set_arn).await?;
    Ok(json!({ "InlinePolicy": record.inline_policy.unwrap_or_default() }))
}

pub(super) async fn delete_inline(ctx: &Ctx<'_>, req: PermissionSetRequest) -> Result<Value> {
    let (instance, record) = target(ctx, &req.instance_arn, &req.permission_set_arn).await?;
    if record.inline_policy.is_none() {
        return Ok(json!({}));
    }
    let none = PermissionSetChange::InlinePolicy(None);
    change(ctx, &instance, &req.permission_set_arn, &record, none).await
}

/// Attaches a policy of either kind.
async fn attach(ctx: &Ctx<'_>, instance_arn: &str, arn: &str, policy: PolicyRef) -> Result<Value> {
    let (instance, record) = target(ctx, instance_arn, arn).await?;
    ctx.store()
        .attach_policy(
            &instance.tenant,
            &record.id,
            &policy,
            sso::MAX_ATTACHED_POLICIES,
        )
        .await
        .map_err(|e| match e {
            StoreError::Conflict(Constraint::AttachedPolicy) => ApiError::Conflict(format!(
                "{} {} is already attached to the permission set.",
                describe(&policy),
                policy.reference()
            )),
            StoreError::LimitReached => ApiError::QuotaExceeded(format!(
                "A permission set has at most {} AWS managed and customer managed policies.",
                sso::MAX_ATTACHED_POLICIES
            )),
            StoreError::NotFound => super::permission_set_not_found(arn),
            other => ApiError::store(other),
        })?;
    Ok(json!({}))
}

/// Detaches a policy of either kind.
async fn detach(ctx: &Ctx<'_>, instance_arn: &str, arn: &str, policy: PolicyRef) -> Result<Value> {
    let (instance, record) = target(ctx, instance_arn, arn).await?;
    ctx.store()
        .detach_policy(&instance.tenant, &record.id, &policy)
        .await
        .map_err(|e| match e {
            StoreError::NotFound => ApiError::NotFound(format!(
                "{} {} is not attached to the permission set.",
                describe(&policy),
                policy.reference()
            )),
            other => ApiError::store(other),
        })?;
    Ok(json!({}))
}

fn describe(policy: &PolicyRef) -> &'static str {
    match policy.kind() {
        PolicyKind::AwsManaged => "Managed policy",
        PolicyKind::CustomerManaged => "Customer managed policy",
    }
}

/// One page of the policies of a kind.
async fn list(
    ctx: &Ctx<'_>,
    req: ListPoliciesRequest,
    kind: PolicyKind,
) -> Result<(Vec<PolicyRef>, Option<String>)> {
    let (instance, record) = target(ctx, &req.instance_arn, &req.permission_set_arn).await?;
    let paging = Paging::new(req.max_results, req.next_token.as_deref())?;
    let page = ctx
        .store()
        .list_policies(&instance.tenant, &record.id, kind, paging.args())
        .await
        .map_err(ApiError::store)?;
    let next = next_token(&page, PolicyRef::reference);
    Ok((page.items, next))
}

fn with_token(mut body: Value, token: Option<String>) -> Value {
    if let Some(token) = token {
        body["NextToken"] = json!(token);
    }
    body
}

pub(super) async fn attach_managed(ctx: &Ctx<'_>, req: ManagedPolicyRequest) -> Result<Value> {
    let policy = PolicyRef::aws_managed("managedPolicyArn", &req.managed_policy_arn)?;
    attach(ctx, &req.instance_arn, &req.permission_set_arn, policy).await
}

pub(super) async fn detach_managed(ctx: &Ctx<'_>, req: ManagedPolicyRequest) -> Result<Value> {
    let policy = PolicyRef::aws_managed("managedPolicyArn", &req.managed_policy_arn)?;
    detach(ctx, &req.instance_arn, &req.permission_set_arn, policy).await
}

pub(super) async fn list_managed(ctx: &Ctx<'_>, req: ListPoliciesRequest) -> Result<Value> {
    let (policies, token) = list(ctx, req, PolicyKind::AwsManaged).await?;
    let attached: Vec<Value> = policies
        .iter()
        .map(|p| json!({ "Name": p.name(), "Arn": p.reference() }))
        .collect();
    Ok(with_token(
        json!({ "AttachedManagedPolicies": attached }),
        token,
    ))
}

fn customer_policy(member: &str, reference: &CustomerManagedPolicyReference) -> Result<PolicyRef> {
    Ok(PolicyRef::customer_managed(
        member,
        &reference.name,
        reference.path.as_deref(),
    )?)
}

fn customer_shape(policy: &PolicyRef) -> Option<CustomerManagedPolicyReference> {
    match policy {
        PolicyRef::CustomerManaged { name, path } => Some(CustomerManagedPolicyReference {
            name: name.clone(),
            path: Some(path.clone()),
        }),
        PolicyRef::AwsManaged { .. } => None,
    }
}

pub(super) async fn attach_customer(ctx: &Ctx<'_>, req: CustomerPolicyRequest) -> Result<Value> {
    let policy = customer_policy(
        "customerManagedPolicyReference",
        &req.customer_managed_policy_reference,
    )?;
    attach(ctx, &req.instance_arn, &req.permission_set_arn, policy).await
}

pub(super) async fn detach_customer(ctx: &Ctx<'_>, req: CustomerPolicyRequest) -> Result<Value> {
    let policy = customer_policy(
        "customerManagedPolicyReference",
        &req.customer_managed_policy_reference,
    )?;
    detach(ctx, &req.instance_arn, &req.permission_set_arn, policy).await
}

pub(super) async fn list_customer(ctx: &Ctx<'_>, req: ListPoliciesRequest) -> Result<Value> {
    let (policies, token) = list(ctx, req, PolicyKind::CustomerManaged).await?;
    let references: Vec<CustomerManagedPolicyReference> =
        policies.iter().filter_map(customer_shape).collect();
    Ok(with_token(
        json!({ "CustomerManagedPolicyReferences": references }),
        token,
    ))
}

pub(super) async fn put_boundary(ctx: &Ctx<'_>, req: PutBoundaryRequest) -> Result<Value> {
    let (instance, record) = target(ctx, &req.instance_arn, &req.permission_set_arn).await?;
    let boundary = match (
        &req.permissions_boundary.managed_policy_arn,
        &req.permissions_boundary.customer_managed_policy_reference,
    ) {
        (Some(arn), None) => PolicyRef::aws_managed("permissionsBoundary.managedPolicyArn", arn)?,
        (None, Some(reference)) => customer_policy(
            "permissionsBoundary.customerManagedPolicyReference",
            reference,
        )?,
        _ => {
            return Err(ApiError::invalid(
                "A PermissionsBoundary has either a ManagedPolicyArn or a CustomerManagedPolicyReference.",
            ));
        }
    };
    let put = PermissionSetChange::Boundary(Some(&boundary));
    change(ctx, &instance, &req.permission_set_arn, &record, put).await
}

fn no_boundary() -> ApiError {
    ApiError::NotFound("The permission set has no permissions boundary.".to_owned())
}

pub(super) async fn get_boundary(ctx: &Ctx<'_>, req: PermissionSetRequest) -> Result<Value> {
    let (_, record) = target(ctx, &req.instance_arn, &req.permission_set_arn).await?;
    let boundary = record.boundary.ok_or_else(no_boundary)?;
    let shape = PermissionsBoundary {
        customer_managed_policy_reference: customer_shape(&boundary),
        managed_policy_arn: match &boundary {
            PolicyRef::AwsManaged { arn } => Some(arn.clone()),
            PolicyRef::CustomerManaged { .. } => None,
        },
    };
    Ok(json!({ "PermissionsBoundary": shape }))
}

pub(super) async fn delete_boundary(ctx: &Ctx<'_>, req: PermissionSetRequest) -> Result<Value> {
    let (instance, record) = target(ctx, &req.instance_arn, &req.permission_set_arn).await?;
    if record.boundary.is_none() {
        return Err(no_boundary());
    }
    let none = PermissionSetChange::Boundary(None);
    change(ctx, &instance, &req.permission_set_arn, &record, none).await
}
