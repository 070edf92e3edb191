//! Account assignments and provisioning: CreateAccountAssignment, DeleteAccountAssignment and
//! ProvisionPermissionSet with their status objects (Describe…Status, List…Status),
//! ListAccountAssignments, ListAccountAssignmentsForPrincipal,
//! ListAccountsForProvisionedPermissionSet and ListPermissionSetsProvisionedToAccount.
//!
//! The work is done when the request is answered, and the status object says so: the answer
//! of the operation carries `IN_PROGRESS`, as AWS's does, and every Describe or List of the
//! status after it `SUCCEEDED` (or `FAILED`, with a `FailureReason`). Terraform's AWS provider
//! waits on the Describe until `SUCCEEDED` with `IN_PROGRESS` as the pending state
//! (`waitAccountAssignmentCreated`, `waitAccountAssignmentDeleted` and
//! `waitPermissionSetProvisioned` in its internal/service/ssoadmin), so it finishes at the
//! first poll; clients that read the status in the answer see what AWS answers (an `IN_PROGRESS`
//! creation status was captured in aws-samples/iam-identity-center-team#522).
//!
//! The principal must be a user or a group of the instance's identity store and the account a
//! declared one. Creating an assignment that exists changes nothing and succeeds (Terraform's
//! provider: "the AWS SSO API doesn't prevent us from creating duplicates").

use serde_json::{Value, json};

use super::error::{ApiError, Result};
use super::shapes::{
    self, AccountAssignment, AssignmentRequest, DescribeCreationStatusRequest,
    DescribeDeletionStatusRequest, DescribeProvisioningStatusRequest,
    ListAccountAssignmentsRequest, ListAccountsForProvisionedRequest, ListForPrincipalRequest,
    ListProvisionedToAccountRequest, ListStatusRequest, OperationStatusMetadata,
    OperationStatusShape, ProvisionRequest, ProvisionTarget,
};
use super::{Ctx, Instance, Paging, epoch_seconds, next_token};
use crate::sso::{self, Arn, Assignment, OperationKind, OperationStatus, Principal, PrincipalType};
use crate::store::{AssignmentQuery, OperationRecord, ProvisionQuery, StoreError};

/// The status object of an operation, as its answer shows it (`IN_PROGRESS`) or as Describe
/// shows it.
fn status_shape(
    instance: &Instance,
    op: &OperationRecord,
    in_progress: bool,
) -> OperationStatusShape {
    let assignment = op.kind != OperationKind::Provisioning;
    OperationStatusShape {
        status: if in_progress {
            OperationStatus::InProgress.as_str()
        } else {
            op.status.as_str()
        },
        request_id: op.request_id.clone(),
        failure_reason: op.failure_reason.clone().filter(|_| !in_progress),
        target_id: op.account_id.clone().filter(|_| assignment),
        target_type: assignment.then_some("AWS_ACCOUNT"),
        account_id: op.account_id.clone().filter(|_| !assignment),
        permission_set_arn: instance.permission_set_arn(&op.permission_set_id),
        principal_type: op.principal.as_ref().map(|p| p.kind.as_str()),
        principal_id: op.principal.as_ref().map(|p| p.id.clone()),
        created_date: epoch_seconds(op.created_ms),
    }
}

fn new_operation(ctx: &Ctx<'_>, kind: OperationKind, permission_set_id: &str) -> OperationRecord {
    OperationRecord {
        request_id: uuid::Uuid::new_v4().to_string(),
        kind,
        status: OperationStatus::Succeeded,
        failure_reason: None,
        account_id: None,
        permission_set_id: permission_set_id.to_owned(),
        principal: None,
        created_ms: ctx.now_ms(),
    }
}

fn assignment_shape(instance: &Instance, a: &Assignment) -> AccountAssignment {
    AccountAssignment {
        account_id: a.account_id.clone(),
        permission_set_arn: instance.permission_set_arn(&a.permission_set_id),
        principal_type: a.principal.kind.as_str(),
        principal_id: a.principal.id.clone(),
    }
}

/// An account that is not declared is outside the instance's organization. AWS's answer for
/// such an account is not documented nor seen in public threads: a `ValidationException`
/// naming the account (inferred).
async fn declared_account(ctx: &Ctx<'_>, instance: &Instance, account_id: &str) -> Result<()> {
    match ctx.store().get_account(&instance.tenant, account_id).await {
        Ok(_) => Ok(()),
        Err(StoreError::NotFound) => Err(ApiError::invalid(format!(
            "The account {account_id} is not a member of this instance's organization \
             (declare it with POST /admin/tenants/{}/accounts or `idc-scim account create`).",
            instance.tenant.tenant_id
        ))),
        Err(e) => Err(ApiError::store(e)),
    }
}

fn principal_not_found(instance: &Instance, principal: &Principal) -> ApiError {
    ApiError::NotFound(format!(
        "Principal {} of type {} does not exist in identity store {}.",
        principal.id,
        principal.kind.as_str(),
        instance.tenant.identity_store_id
    ))
}

/// The principal, if it is a user or group of the instance's identity store.
async fn existing_principal(
    ctx: &Ctx<'_>,
    instance: &Instance,
    principal: &Principal,
) -> Result<()> {
    let exists = match principal.kind {
        PrincipalType::User => ctx
            .store()
            .user_exists(&instance.tenant, &principal.id)
            .await
            .map_err(ApiError::store)?,
        PrincipalType::Group => {
            match ctx.store().get_group(&instance.tenant, &principal.id).await {
                Ok(_) => true,
                Err(StoreError::NotFound) => false,
                Err(e) => return Err(ApiError::store(e)),
            }
        }
    };
    if exists {
        Ok(())
    } else {
        Err(principal_not_found(instance, principal))
    }
}

/// The members of CreateAccountAssignment and DeleteAccountAssignment, checked and resolved
/// (the permission set must exist).
async fn resolve(ctx: &Ctx<'_>, req: &AssignmentRequest) -> Result<(Instance, Assignment)> {
    let instance = ctx.instance(&req.instance_arn).await?;
    sso::account_id("targetId", &req.target_id)?;
    shapes::target_type(&req.target_type)?;
    Arn::permission_set("permissionSetArn", &req.permission_set_arn)?;
    let kind = shapes::principal_type("principalType", &req.principal_type)?;
    sso::principal_id("principalId", &req.principal_id)?;
    let record = ctx
        .permission_set(&instance, &req.permission_set_arn)
        .await?;
    let assignment = Assignment {
        account_id: req.target_id.clone(),
        permission_set_id: record.id,
        principal: Principal {
            kind,
            id: req.principal_id.clone(),
        },
    };
    Ok((instance, assignment))
}

pub(super) async fn create(ctx: &Ctx<'_>, req: AssignmentRequest) -> Result<Value> {
    let (instance, assignment) = resolve(ctx, &req).await?;
    declared_account(ctx, &instance, &assignment.account_id).await?;
    existing_principal(ctx, &instance, &assignment.principal).await?;
    let op = OperationRecord {
        account_id: Some(assignment.account_id.clone()),
        principal: Some(assignment.principal.clone()),
        ..new_operation(
            ctx,
            OperationKind::AssignmentCreation,
            &assignment.permission_set_id,
        )
    };
    ctx.store()
        .create_assignment(&instance.tenant, &assignment, Some(&op), ctx.now_ms())
        .await
        .map_err(|e| match e {
            StoreError::NotFound => super::permission_set_not_found(&req.permission_set_arn),
            // The principal or the account was deleted a moment ago.
            StoreError::MemberNotFound => principal_not_found(&instance, &assignment.principal),
            other => ApiError::store(other),
        })?;
    Ok(json!({ "AccountAssignmentCreationStatus": status_shape(&instance, &op, true) }))
}

/// Deleting an assignment that is not there is a `ResourceNotFoundException`, which Terraform's
/// provider reads as "already deleted" (resourceAccountAssignmentDelete).
pub(super) async fn delete(ctx: &Ctx<'_>, req: AssignmentRequest) -> Result<Value> {
    let (instance, assignment) = resolve(ctx, &req).await?;
    let op = OperationRecord {
        account_id: Some(assignment.account_id.clone()),
        principal: Some(assignment.principal.clone()),
        ..new_operation(
            ctx,
            OperationKind::AssignmentDeletion,
            &assignment.permission_set_id,
        )
    };
    ctx.store()
        .delete_assignment(&instance.tenant, &assignment, &op)
        .await
        .map_err(|e| match e {
            StoreError::NotFound => ApiError::NotFound("Assignment not found.".to_owned()),
            other => ApiError::store(other),
        })?;
    Ok(json!({ "AccountAssignmentDeletionStatus": status_shape(&instance, &op, true) }))
}

/// The status object of one request of a kind.
async fn describe_status(
    ctx: &Ctx<'_>,
    instance_arn: &str,
    kind: OperationKind,
    member: &str,
    request_id: &str,
) -> Result<(Instance, OperationRecord)> {
    let instance = ctx.instance(instance_arn).await?;
    let id = shapes::request_id(member, request_id)?;
    match ctx.store().get_operation(&instance.tenant, kind, id).await {
        Ok(op) => Ok((instance, op)),
        Err(StoreError::NotFound) => Err(ApiError::NotFound(format!("Request {id} not found."))),
        Err(e) => Err(ApiError::store(e)),
    }
}

pub(super) async fn describe_creation(
    ctx: &Ctx<'_>,
    req: DescribeCreationStatusRequest,
) -> Result<Value> {
    let (instance, op) = describe_status(
        ctx,
        &req.instance_arn,
        OperationKind::AssignmentCreation,
        "accountAssignmentCreationRequestId",
        &req.account_assignment_creation_request_id,
    )
    .await?;
    Ok(json!({ "AccountAssignmentCreationStatus": status_shape(&instance, &op, false) }))
}

pub(super) async fn describe_deletion(
    ctx: &Ctx<'_>,
    req: DescribeDeletionStatusRequest,
) -> Result<Value> {
    let (instance, op) = describe_status(
        ctx,
        &req.instance_arn,
        OperationKind::AssignmentDeletion,
        "accountAssignmentDeletionRequestId",
        &req.account_assignment_deletion_request_id,
    )
    .await?;
    Ok(json!({ "AccountAssignmentDeletionStatus": status_shape(&instance, &op, false) }))
}

pub(super) async fn describe_provisioning(
    ctx: &Ctx<'_>,
    req: DescribeProvisioningStatusRequest,
) -> Result<Value> {
    let (instance, op) = describe_status(
        ctx,
        &req.instance_arn,
        OperationKind::Provisioning,
        "provisionPermissionSetRequestId",
        &req.provision_permission_set_request_id,
    )
    .await?;
    Ok(json!({ "PermissionSetProvisioningStatus": status_shape(&instance, &op, false) }))
}

/// One page of the status objects of a kind, under `member`.
async fn list_statuses(
    ctx: &Ctx<'_>,
    req: ListStatusRequest,
    kind: OperationKind,
    member: &str,
) -> Result<Value> {
    let instance = ctx.instance(&req.instance_arn).await?;
    let status = shapes::status_filter(req.filter.as_ref())?;
    let paging = Paging::of_pairs(req.max_results, req.next_token.as_deref())?;
    let page = ctx
        .store()
        .list_operations(&instance.tenant, kind, status, paging.args())
        .await
        .map_err(ApiError::store)?;
    let items: Vec<OperationStatusMetadata> = page
        .items
        .iter()
        .map(|op| OperationStatusMetadata {
            status: op.status.as_str(),
            request_id: op.request_id.clone(),
            created_date: epoch_seconds(op.created_ms),
        })
        .collect();
    let mut body = json!({ member: items });
    if let Some(token) = next_token(&page, OperationRecord::key) {
        body["NextToken"] = json!(token);
    }
    Ok(body)
}

pub(super) async fn list_creations(ctx: &Ctx<'_>, req: ListStatusRequest) -> Result<Value> {
    list_statuses(
        ctx,
        req,
        OperationKind::AssignmentCreation,
        "AccountAssignmentsCreationStatus",
    )
    .await
}

pub(super) async fn list_deletions(ctx: &Ctx<'_>, req: ListStatusRequest) -> Result<Value> {
    list_statuses(
        ctx,
        req,
        OperationKind::AssignmentDeletion,
        "AccountAssignmentsDeletionStatus",
    )
    .await
}

pub(super) async fn list_provisionings(ctx: &Ctx<'_>, req: ListStatusRequest) -> Result<Value> {
    list_statuses(
        ctx,
        req,
        OperationKind::Provisioning,
        "PermissionSetsProvisioningStatus",
    )
    .await
}

/// One page of assignments.
async fn list_assignments(
    ctx: &Ctx<'_>,
    instance: &Instance,
    query: AssignmentQuery<'_>,
    paging: &Paging,
) -> Result<Value> {
    let page = ctx
        .store()
        .list_assignments(&instance.tenant, query, paging.args())
        .await
        .map_err(ApiError::store)?;
    let items: Vec<AccountAssignment> = page
        .items
        .iter()
        .map(|a| assignment_shape(instance, a))
        .collect();
    let mut body = json!({ "AccountAssignments": items });
    if let Some(token) = next_token(&page, |a| query.key(a)) {
        body["NextToken"] = json!(token);
    }
    Ok(body)
}

pub(super) async fn list(ctx: &Ctx<'_>, req: ListAccountAssignmentsRequest) -> Result<Value> {
    let instance = ctx.instance(&req.instance_arn).await?;
    sso::account_id("accountId", &req.account_id)?;
    let record = ctx
        .permission_set(&instance, &req.permission_set_arn)
        .await?;
    let paging = Paging::of_pairs(req.max_results, req.next_token.as_deref())?;
    let query = AssignmentQuery::AccountPermissionSet {
        account_id: &req.account_id,
        permission_set_id: &record.id,
    };
    list_assignments(ctx, &instance, query, &paging).await
}

pub(super) async fn list_for_principal(
    ctx: &Ctx<'_>,
    req: ListForPrincipalRequest,
) -> Result<Value> {
    let instance = ctx.instance(&req.instance_arn).await?;
    let kind = shapes::principal_type("principalType", &req.principal_type)?;
    sso::principal_id("principalId", &req.principal_id)?;
    let account = req.filter.and_then(|f| f.account_id);
    if let Some(account) = &account {
        sso::account_id("filter.accountId", account)?;
    }
    let paging = Paging::of_pairs(req.max_results, req.next_token.as_deref())?;
    let principal = Principal {
        kind,
        id: req.principal_id,
    };
    let query = AssignmentQuery::Principal {
        principal: &principal,
        account_id: account.as_deref(),
    };
    list_assignments(ctx, &instance, query, &paging).await
}

/// Provisions a permission set to an account where it is assigned, or to every account it is
/// provisioned to. An account where it is not assigned has no provisioning to update: the
/// status is `FAILED` with the reason AWS gives for that (cloudposse/terraform-aws-sso#66,
/// hashicorp/terraform-provider-aws#33337).
pub(super) async fn provision(ctx: &Ctx<'_>, req: ProvisionRequest) -> Result<Value> {
    let instance = ctx.instance(&req.instance_arn).await?;
    let target = shapes::provision_target(&req.target_type)?;
    let account = match (target, &req.target_id) {
        (ProvisionTarget::Account, Some(id)) => {
            sso::account_id("targetId", id)?;
            Some(id.clone())
        }
        (ProvisionTarget::Account, None) => {
            return Err(ApiError::invalid(
                "TargetId is required when TargetType is AWS_ACCOUNT.",
            ));
        }
        (ProvisionTarget::AllProvisionedAccounts, _) => None,
    };
    let record = ctx
        .permission_set(&instance, &req.permission_set_arn)
        .await?;
    if let Some(account) = &account {
        declared_account(ctx, &instance, account).await?;
    }
    let reached = ctx
        .store()
        .provision(&instance.tenant, &record.id, account.as_deref())
        .await
        .map_err(|e| match e {
            StoreError::NotFound => super::permission_set_not_found(&req.permission_set_arn),
            other => ApiError::store(other),
        })?;
    let mut op = OperationRecord {
        account_id: account.clone(),
        ..new_operation(ctx, OperationKind::Provisioning, &record.id)
    };
    if let (Some(account), 0) = (&account, reached) {
        op.status = OperationStatus::Failed;
        op.failure_reason = Some(format!(
            "Received a 404 status error: Permission set provision not found in AWS account {account}."
        ));
    }
    ctx.store()
        .record_operation(&instance.tenant, &op)
        .await
        .map_err(ApiError::store)?;
    Ok(json!({ "PermissionSetProvisioningStatus": status_shape(&instance, &op, true) }))
}

pub(super) async fn list_accounts_for_permission_set(
    ctx: &Ctx<'_>,
    req: ListAccountsForProvisionedRequest,
) -> Result<Value> {
    let instance = ctx.instance(&req.instance_arn).await?;
    let latest = shapes::provisioning_status(req.provisioning_status.as_deref())?;
    let record = ctx
        .permission_set(&instance, &req.permission_set_arn)
        .await?;
    let paging = Paging::new(req.max_results, req.next_token.as_deref())?;
    let page = ctx
        .store()
        .list_provisioned(
            &instance.tenant,
            ProvisionQuery::AccountsOf(&record.id),
            latest,
            paging.args(),
        )
        .await
        .map_err(ApiError::store)?;
    let mut body = json!({ "AccountIds": page.items });
    if let Some(token) = next_token(&page, String::clone) {
        body["NextToken"] = json!(token);
    }
    Ok(body)
}

pub(super) async fn list_permission_sets_in_account(
    ctx: &Ctx<'_>,
    req: ListProvisionedToAccountRequest,
) -> Result<Value> {
    let instance = ctx.instance(&req.instance_arn).await?;
    sso::account_id("accountId", &req.account_id)?;
    let latest = shapes::provisioning_status(req.provisioning_status.as_deref())?;
    let paging = Paging::new(req.max_results, req.next_token.as_deref())?;
    let page = ctx
        .store()
        .list_provisioned(
            &instance.tenant,
            ProvisionQuery::PermissionSetsIn(&req.account_id),
            latest,
            paging.args(),
        )
        .await
        .map_err(ApiError::store)?;
    let arns: Vec<String> = page
        .items
        .iter()
        .map(|id| instance.permission_set_arn(id))
        .collect();
    let mut body = json!({ "PermissionSets": arns });
    if let Some(token) = next_token(&page, String::clone) {
        body["NextToken"] = json!(token);
    }
    Ok(body)
}
