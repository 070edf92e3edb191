//! The IAM Identity Center admin API (service `sso-admin`, AWS JSON 1.1) on the same store as
//! the SCIM endpoint and the Identity Store API: `POST /` with `X-Amz-Target:
//! SWBExternalService.<Operation>`, signed with Signature V4 for `sso` (`aws::sigv4`).
//! `aws` dispatches to `call`.
//!
//! Each tenant is an instance (`sso::ids`): its `IdentityStoreId` is the tenant's, so tools
//! that find the identity store with `ListInstances` reach the users and groups provisioned
//! over SCIM. Instances, permission sets with their policies and tags, account assignments to
//! declared accounts, provisioning, and the status objects of the asynchronous operations;
//! shapes, limits and errors from `botocore/data/sso-admin/2020-07-20/service-2.json`. Where
//! AWS documents nothing, each module says whose observation it follows. This module never
//! writes SQL.

mod assignments;
pub mod error;
mod instances;
mod permission_sets;
mod policies;
pub mod shapes;
mod tags;

use serde::Serialize;
use serde_json::Value;

use crate::aws::protocol::{self, Ctx, epoch_seconds};
use crate::sso::{self, Arn, Invalid};
use crate::state::SharedState;
use crate::store::{ListArgs, PermissionSetRecord, StoreError, Tenant};
use error::{ApiError, Result};
use protocol::parse;

/// The prefix of `X-Amz-Target` (`targetPrefix` in the service model).
pub const TARGET_PREFIX: &str = "SWBExternalService";

/// The name requests are signed for (`signingName` in the service model).
pub const SIGNING_NAME: &str = "sso";

/// The API's name in the journal and in fault rules: `/sso-admin/<Operation>`.
pub const SERVICE: &str = "sso-admin";

/// The longest `NextToken` the model allows.
const MAX_TOKEN: usize = 2048;

/// Runs one operation, asked by `ctx.caller`, on its (JSON object) body.
pub async fn call(ctx: &Ctx<'_>, body: Value) -> Result<Value> {
    match ctx.operation {
        "ListInstances" => instances::list(ctx, parse(body)?).await,
        "DescribeInstance" => instances::describe(ctx, parse(body)?).await,
        "UpdateInstance" => instances::update(ctx, parse(body)?).await,
        "CreateInstance" => instances::create(ctx, parse(body)?).await,
        "DeleteInstance" => instances::delete(ctx, parse(body)?).await,
        "CreatePermissionSet" => permission_sets::create(ctx, parse(body)?).await,
        "DescribePermissionSet" => permission_sets::describe(ctx, parse(body)?).await,
        "ListPermissionSets" => permission_sets::list(ctx, parse(body)?).await,
        "UpdatePermissionSet" => permission_sets::update(ctx, parse(body)?).await,
        "DeletePermissionSet" => permission_sets::delete(ctx, parse(body)?).await,
        "PutInlinePolicyToPermissionSet" => policies::put_inline(ctx, parse(body)?).await,
        "GetInlinePolicyForPermissionSet" => policies::get_inline(ctx, parse(body)?).await,
        "DeleteInlinePolicyFromPermissionSet" => policies::delete_inline(ctx, parse(body)?).await,
        "AttachManagedPolicyToPermissionSet" => policies::attach_managed(ctx, parse(body)?).await,
        "ListManagedPoliciesInPermissionSet" => policies::list_managed(ctx, parse(body)?).await,
        "DetachManagedPolicyFromPermissionSet" => policies::detach_managed(ctx, parse(body)?).await,
        "AttachCustomerManagedPolicyReferenceToPermissionSet" => {
            policies::attach_customer(ctx, parse(body)?).await
        }
        "ListCustomerManagedPolicyReferencesInPermissionSet" => {
            policies::list_customer(ctx, parse(body)?).await
        }
        "DetachCustomerManagedPolicyReferenceFromPermissionSet" => {
            policies::detach_customer(ctx, parse(body)?).await
        }
        "PutPermissionsBoundaryToPermissionSet" => policies::put_boundary(ctx, parse(body)?).await,
        "GetPermissionsBoundaryForPermissionSet" => policies::get_boundary(ctx, parse(body)?).await,
        "DeletePermissionsBoundaryFromPermissionSet" => {
            policies::delete_boundary(ctx, parse(body)?).await
        }
        "TagResource" => tags::tag(ctx, parse(body)?).await,
        "UntagResource" => tags::untag(ctx, parse(body)?).await,
        "ListTagsForResource" => tags::list(ctx, parse(body)?).await,
        "CreateAccountAssignment" => assignments::create(ctx, parse(body)?).await,
        "DeleteAccountAssignment" => assignments::delete(ctx, parse(body)?).await,
        "DescribeAccountAssignmentCreationStatus" => {
            assignments::describe_creation(ctx, parse(body)?).await
        }
        "DescribeAccountAssignmentDeletionStatus" => {
            assignments::describe_deletion(ctx, parse(body)?).await
        }
        "ListAccountAssignmentCreationStatus" => {
            assignments::list_creations(ctx, parse(body)?).await
        }
        "ListAccountAssignmentDeletionStatus" => {
            assignments::list_deletions(ctx, parse(body)?).await
        }
        "ListAccountAssignments" => assignments::list(ctx, parse(body)?).await,
        "ListAccountAssignmentsForPrincipal" => {
            assignments::list_for_principal(ctx, parse(body)?).await
        }
        "ProvisionPermissionSet" => assignments::provision(ctx, parse(body)?).await,
        "DescribePermissionSetProvisioningStatus" => {
            assignments::describe_provisioning(ctx, parse(body)?).await
        }
        "ListPermissionSetProvisioningStatus" => {
            assignments::list_provisionings(ctx, parse(body)?).await
        }
        "ListAccountsForProvisionedPermissionSet" => {
            assignments::list_accounts_for_permission_set(ctx, parse(body)?).await
        }
        "ListPermissionSetsProvisionedToAccount" => {
            assignments::list_permission_sets_in_account(ctx, parse(body)?).await
        }
        _ => Err(ApiError::UnknownOperation(format!(
            "{TARGET_PREFIX}.{} is not an operation this server supports.",
            ctx.operation
        ))),
    }
}

/// The tenant a request is for, when its body names an instance of an existing tenant
/// (`InstanceArn`, or the `ResourceArn` of the tagging operations): the dispatcher runs the
/// controls and the journal for it. `ListInstances` and `CreateInstance` name none.
pub async fn tenant_of(state: &SharedState, body: &Value) -> Option<Tenant> {
    let arn = ["InstanceArn", "ResourceArn"]
        .iter()
        .find_map(|member| body.get(member).and_then(Value::as_str))?;
    let instance = match Arn::taggable("resourceArn", arn).ok()? {
        Arn::Instance(id) => id,
        Arn::PermissionSet { instance_id, .. } => instance_id,
        Arn::Other => return None,
    };
    let store_id = sso::identity_store_of_instance(instance)?;
    state.store.tenant_by_identity_store(&store_id).await.ok()
}

/// An instance a request may use: its tenant and its id (`ssoins-...`).
struct Instance {
    tenant: Tenant,
    id: String,
}

impl Instance {
    fn of(tenant: Tenant) -> Self {
        let id = sso::instance_id(&tenant.identity_store_id);
        Self { tenant, id }
    }

    fn arn(&self) -> String {
        sso::instance_arn(&self.id)
    }

    fn permission_set_arn(&self, permission_set_id: &str) -> String {
        sso::permission_set_arn(&self.id, permission_set_id)
    }
}

/// What an operation of this service reaches besides the store and the clock.
impl Ctx<'_> {
    /// Whether this request may see a tenant's instance: the caller's access key is one of the
    /// tenant's (or, with `--aws-auth any`, any caller sees every instance). `ListInstances` and
    /// every resolution of an `InstanceArn` go through it.
    fn may_see(&self, tenant: &Tenant) -> bool {
        self.caller.may_reach(&tenant.tenant_id)
    }

    /// AWS's answer for an instance the caller has no access to, which is also what a caller
    /// learns of one that does not exist (IAM's "not authorized" wording, as sso-admin was
    /// seen to answer for resources outside the caller's permissions:
    /// aws-samples/iam-identity-center-team#59).
    fn denied(&self, arn: &str) -> ApiError {
        ApiError::AccessDenied(format!(
            "User is not authorized to perform: sso:{} on resource: {arn}",
            self.operation
        ))
    }

    /// The instance an `InstanceArn` names.
    async fn instance(&self, arn: &str) -> Result<Instance> {
        let id = Arn::instance("instanceArn", arn)?;
        let tenant = self
            .instance_by_id(id)
            .await?
            .ok_or_else(|| self.denied(arn))?;
        Ok(Instance::of(tenant))
    }

    /// The tenant of an instance id, if it exists and may be seen.
    async fn instance_by_id(&self, id: &str) -> Result<Option<Tenant>> {
        let Some(store_id) = sso::identity_store_of_instance(id) else {
            return Ok(None);
        };
        match self.store().tenant_by_identity_store(&store_id).await {
            Ok(tenant) if self.may_see(&tenant) => Ok(Some(tenant)),
            Ok(_) | Err(StoreError::NotFound) => Ok(None),
            Err(e) => Err(ApiError::store(e)),
        }
    }

    /// The permission set a `PermissionSetArn` names in an instance.
    async fn permission_set(&self, instance: &Instance, arn: &str) -> Result<PermissionSetRecord> {
        let (instance_id, id) = Arn::permission_set("permissionSetArn", arn)?;
        let not_found = || permission_set_not_found(arn);
        if instance_id != instance.id {
            return Err(not_found());
        }
        match self.store().get_permission_set(&instance.tenant, id).await {
            Ok(record) => Ok(record),
            Err(StoreError::NotFound) => Err(not_found()),
            Err(e) => Err(ApiError::store(e)),
        }
    }
}

/// The message AWS's sso-admin gives for a permission set it cannot find (inferred: the
/// wording is not documented).
fn permission_set_not_found(arn: &str) -> ApiError {
    ApiError::NotFound(format!(
        "Could not find PermissionSet with PermissionSetArn {arn}."
    ))
}

/// A response body.
fn reply<T: Serialize>(response: T) -> Result<Value> {
    serde_json::to_value(response).map_err(|e| {
        tracing::error!(error = %e, "response did not serialise");
        ApiError::Internal
    })
}

/// Where a listing starts and how much it holds.
struct Paging {
    limit: u32,
    after: Option<String>,
}

impl Paging {
    fn new(max_results: Option<i64>, next_token: Option<&str>) -> Result<Self> {
        Ok(Self {
            limit: protocol::max_results(max_results)?,
            after: protocol::decode_next_token(next_token, MAX_TOKEN)?,
        })
    }

    /// For listings whose key has two parts (`sso::key_pair`).
    fn of_pairs(max_results: Option<i64>, next_token: Option<&str>) -> Result<Self> {
        let paging = Self::new(max_results, next_token)?;
        match &paging.after {
            Some(key) if sso::split_key_pair(key).is_none() => {
                Err(Invalid::Rule("The NextToken is not valid.".to_owned()).into())
            }
            _ => Ok(paging),
        }
    }

    fn args(&self) -> ListArgs<'_> {
        ListArgs {
            limit: self.limit,
            after: self.after.as_deref(),
            with_total: false,
        }
    }
}

/// The `NextToken` of a page: the key of its last item, when more follow.
fn next_token<T>(page: &crate::store::Page<T>, key: impl Fn(&T) -> String) -> Option<String> {
    page.items
        .last()
        .filter(|_| page.more)
        .map(|last| protocol::encode_next_token(&key(last)))
}

fn permission_set_shape(
    instance: &Instance,
    record: &PermissionSetRecord,
) -> shapes::PermissionSet {
    shapes::PermissionSet {
        name: record.attrs.name.clone(),
        permission_set_arn: instance.permission_set_arn(&record.id),
        description: record.attrs.description.clone(),
        created_date: epoch_seconds(record.created_ms),
        session_duration: record.attrs.session_duration.clone(),
        relay_state: record.attrs.relay_state.clone(),
    }
}
