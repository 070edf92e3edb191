//! Who sent an AWS JSON request, as the dispatcher authenticated it. Every service is given the
//! caller with the operation and checks it against the tenant the operation names, as IAM
//! checks an IAM user's key against the account of a resource: a tenant's access key reaches
//! that tenant's identity store, instance and assignments, and nothing else.

use crate::store::Tenant;

/// The authenticated sender of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Caller {
    /// A verified signature made with an access key of this tenant.
    Tenant(Tenant),
    /// A well-formed signature that was not verified (`--aws-auth any`): every tenant is
    /// reached, as in local AWS emulators.
    Anyone,
}

impl Caller {
    /// Whether the caller may act on the tenant `tenant_id`.
    pub fn may_reach(&self, tenant_id: &str) -> bool {
        match self {
            Self::Tenant(own) => own.tenant_id == tenant_id,
            Self::Anyone => true,
        }
    }

    /// Whether the caller reaches every tenant, and so may make new ones (sso-admin's
    /// `CreateInstance`): only when signatures are not verified. A tenant's key reaches its
    /// own tenant, and making tenants is the operator's.
    pub fn reaches_every_tenant(&self) -> bool {
        matches!(self, Self::Anyone)
    }
}
