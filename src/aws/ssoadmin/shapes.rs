//! The request and response shapes of the sso-admin API (`botocore/data/sso-admin/2020-07-20/
//! service-2.json`) that this server serves, with the model's member names. Members the
//! model requires are required here (their absence is AWS's validation error); enumerations
//! arrive as strings and are checked against the model's values; unknown members are ignored.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::error::{ApiError, Result};
use crate::sso::{Invalid, OperationStatus, PrincipalType, Tag};

// ---- members shared by several operations ----

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TagShape {
    pub key: String,
    pub value: String,
}

impl From<TagShape> for Tag {
    fn from(t: TagShape) -> Self {
        Tag {
            key: t.key,
            value: t.value,
        }
    }
}

impl From<Tag> for TagShape {
    fn from(t: Tag) -> Self {
        TagShape {
            key: t.key,
            value: t.value,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CustomerManagedPolicyReference {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PermissionsBoundary {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub customer_managed_policy_reference: Option<CustomerManagedPolicyReference>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub managed_policy_arn: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct OperationStatusFilter {
    pub status: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AccountFilter {
    pub account_id: Option<String>,
}

// ---- requests ----

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListInstancesRequest {
    pub max_results: Option<i64>,
    pub next_token: Option<String>,
}

/// DescribeInstance and DeleteInstance.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct InstanceRequest {
    pub instance_arn: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UpdateInstanceRequest {
    pub instance_arn: String,
    pub name: Option<String>,
    /// Members of the model the emulator does not keep: refused by name.
    pub encryption_configuration: Option<Value>,
    pub network_configuration: Option<Value>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateInstanceRequest {
    pub name: Option<String>,
    pub tags: Option<Vec<TagShape>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreatePermissionSetRequest {
    pub instance_arn: String,
    pub name: String,
    pub description: Option<String>,
    pub session_duration: Option<String>,
    pub relay_state: Option<String>,
    pub tags: Option<Vec<TagShape>>,
}

/// The operations on one permission set that need nothing more.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PermissionSetRequest {
    pub instance_arn: String,
    pub permission_set_arn: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListPermissionSetsRequest {
    pub instance_arn: String,
    pub max_results: Option<i64>,
    pub next_token: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UpdatePermissionSetRequest {
    pub instance_arn: String,
    pub permission_set_arn: String,
    pub description: Option<String>,
    pub session_duration: Option<String>,
    pub relay_state: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PutInlinePolicyRequest {
    pub instance_arn: String,
    pub permission_set_arn: String,
    pub inline_policy: String,
}

/// AttachManagedPolicyToPermissionSet and DetachManagedPolicyFromPermissionSet.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ManagedPolicyRequest {
    pub instance_arn: String,
    pub permission_set_arn: String,
    pub managed_policy_arn: String,
}

/// The attach and detach of a customer managed policy reference.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CustomerPolicyRequest {
    pub instance_arn: String,
    pub permission_set_arn: String,
    pub customer_managed_policy_reference: CustomerManagedPolicyReference,
}

/// The listings of a permission set's policies.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListPoliciesRequest {
    pub instance_arn: String,
    pub permission_set_arn: String,
    pub max_results: Option<i64>,
    pub next_token: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PutBoundaryRequest {
    pub instance_arn: String,
    pub permission_set_arn: String,
    pub permissions_boundary: PermissionsBoundary,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TagResourceRequest {
    pub instance_arn: Option<String>,
    pub resource_arn: String,
    pub tags: Vec<TagShape>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UntagResourceRequest {
    pub instance_arn: Option<String>,
    pub resource_arn: String,
    pub tag_keys: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListTagsRequest {
    pub instance_arn: Option<String>,
    pub resource_arn: String,
    pub next_token: Option<String>,
}

/// CreateAccountAssignment and DeleteAccountAssignment.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AssignmentRequest {
    pub instance_arn: String,
    pub target_id: String,
    pub target_type: String,
    pub permission_set_arn: String,
    pub principal_type: String,
    pub principal_id: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeCreationStatusRequest {
    pub instance_arn: String,
    pub account_assignment_creation_request_id: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeDeletionStatusRequest {
    pub instance_arn: String,
    pub account_assignment_deletion_request_id: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeProvisioningStatusRequest {
    pub instance_arn: String,
    pub provision_permission_set_request_id: String,
}

/// The three listings of operation statuses.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListStatusRequest {
    pub instance_arn: String,
    pub max_results: Option<i64>,
    pub next_token: Option<String>,
    pub filter: Option<OperationStatusFilter>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListAccountAssignmentsRequest {
    pub instance_arn: String,
    pub account_id: String,
    pub permission_set_arn: String,
    pub max_results: Option<i64>,
    pub next_token: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListForPrincipalRequest {
    pub instance_arn: String,
    pub principal_id: String,
    pub principal_type: String,
    pub filter: Option<AccountFilter>,
    pub max_results: Option<i64>,
    pub next_token: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ProvisionRequest {
    pub instance_arn: String,
    pub permission_set_arn: String,
    pub target_id: Option<String>,
    pub target_type: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListAccountsForProvisionedRequest {
    pub instance_arn: String,
    pub permission_set_arn: String,
    pub provisioning_status: Option<String>,
    pub max_results: Option<i64>,
    pub next_token: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListProvisionedToAccountRequest {
    pub instance_arn: String,
    pub account_id: String,
    pub provisioning_status: Option<String>,
    pub max_results: Option<i64>,
    pub next_token: Option<String>,
}

// ---- responses ----

/// `InstanceMetadata`, and DescribeInstance's answer, which has the same members.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Instance {
    pub instance_arn: String,
    pub identity_store_id: String,
    pub identity_store_arn: String,
    pub owner_account_id: String,
    pub name: String,
    /// Epoch seconds, as AWS JSON renders timestamps.
    pub created_date: f64,
    pub status: &'static str,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct PermissionSet {
    pub name: String,
    pub permission_set_arn: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub created_date: f64,
    pub session_duration: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub relay_state: Option<String>,
}

/// `AccountAssignmentOperationStatus` and `PermissionSetProvisioningStatus`: the members an
/// operation has.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct OperationStatusShape {
    pub status: &'static str,
    pub request_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure_reason: Option<String>,
    /// Assignments: the account.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target_type: Option<&'static str>,
    /// Provisioning: the account.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account_id: Option<String>,
    pub permission_set_arn: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub principal_type: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub principal_id: Option<String>,
    pub created_date: f64,
}

/// `AccountAssignmentOperationStatusMetadata` and `PermissionSetProvisioningStatusMetadata`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct OperationStatusMetadata {
    pub status: &'static str,
    pub request_id: String,
    pub created_date: f64,
}

/// `AccountAssignment` and `AccountAssignmentForPrincipal`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct AccountAssignment {
    pub account_id: String,
    pub permission_set_arn: String,
    pub principal_type: &'static str,
    pub principal_id: String,
}

// ---- enumerations ----

fn enum_error(member: &str, values: &[&str]) -> ApiError {
    Invalid::constraint(
        member,
        format!(
            "Member must satisfy enum value set: [{}]",
            values.join(", ")
        ),
    )
    .into()
}

/// `PrincipalType`: `USER` or `GROUP`.
pub fn principal_type(member: &str, value: &str) -> Result<PrincipalType> {
    PrincipalType::parse(value).ok_or_else(|| enum_error(member, &["USER", "GROUP"]))
}

/// `TargetType`: `AWS_ACCOUNT`, the only kind of target.
pub fn target_type(value: &str) -> Result<()> {
    if value == "AWS_ACCOUNT" {
        Ok(())
    } else {
        Err(enum_error("targetType", &["AWS_ACCOUNT"]))
    }
}

/// `ProvisionTargetType`: one account, or every account the permission set is provisioned to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProvisionTarget {
    Account,
    AllProvisionedAccounts,
}

pub fn provision_target(value: &str) -> Result<ProvisionTarget> {
    match value {
        "AWS_ACCOUNT" => Ok(ProvisionTarget::Account),
        "ALL_PROVISIONED_ACCOUNTS" => Ok(ProvisionTarget::AllProvisionedAccounts),
        _ => Err(enum_error(
            "targetType",
            &["AWS_ACCOUNT", "ALL_PROVISIONED_ACCOUNTS"],
        )),
    }
}

/// `StatusValues`, as a filter.
pub fn status_filter(filter: Option<&OperationStatusFilter>) -> Result<Option<OperationStatus>> {
    match filter.and_then(|f| f.status.as_deref()) {
        None => Ok(None),
        Some(s) => OperationStatus::parse(s)
            .map(Some)
            .ok_or_else(|| enum_error("filter.status", &["IN_PROGRESS", "FAILED", "SUCCEEDED"])),
    }
}

/// `ProvisioningStatus`: whether the latest version of the permission set is provisioned.
pub fn provisioning_status(value: Option<&str>) -> Result<Option<bool>> {
    match value {
        None => Ok(None),
        Some("LATEST_PERMISSION_SET_PROVISIONED") => Ok(Some(true)),
        Some("LATEST_PERMISSION_SET_NOT_PROVISIONED") => Ok(Some(false)),
        Some(_) => Err(enum_error(
            "provisioningStatus",
            &[
                "LATEST_PERMISSION_SET_PROVISIONED",
                "LATEST_PERMISSION_SET_NOT_PROVISIONED",
            ],
        )),
    }
}

/// `UUId`: a request id, lower-case.
pub fn request_id<'a>(member: &str, value: &'a str) -> Result<&'a str> {
    let groups: Vec<&str> = value.split('-').collect();
    let valid = groups.len() == 5
        && groups.iter().zip([8, 4, 4, 4, 12]).all(|(g, n)| {
            g.len() == n
                && g.bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        });
    if valid {
        Ok(value)
    } else {
        Err(Invalid::constraint(
            member,
            r"Member must satisfy regular expression pattern: \b[0-9a-f]{8}\b-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-\b[0-9a-f]{12}\b",
        )
        .into())
    }
}

/// `NameType` of an instance: 1 to 255 of `[\w+=,.@-]`.
pub fn instance_name(value: &str) -> Result<()> {
    let valid = (1..=255).contains(&value.chars().count())
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_+=,.@-".contains(c));
    if valid {
        Ok(())
    } else {
        Err(Invalid::constraint(
            "name",
            r"Member must satisfy regular expression pattern: [\w+=,.@-]+",
        )
        .into())
    }
}
