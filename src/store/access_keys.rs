//! The persistence of the tenants' AWS access keys (migration `0003_access_keys.sql`): one
//! trait, `AccessKeyStore`, which `Store` includes, implemented for both backends by the same
//! SQL (`sql/access_keys.rs`).
//!
//! A key's secret is kept as it was issued, because Signature V4 needs it to verify a request
//! (SECURITY.md); it is read only to verify, and never listed.

use async_trait::async_trait;

use super::{Result, Tenant};

/// An access key as IAM lists it: never its secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessKeyInfo {
    pub access_key_id: String,
    pub created_ms: i64,
    pub last_used_ms: Option<i64>,
}

/// What verifying a signature made with a key needs: its tenant and its secret. `Debug` shows
/// the tenant only.
#[derive(Clone, PartialEq, Eq)]
pub struct AccessKeyOwner {
    pub tenant: Tenant,
    pub secret: String,
}

impl std::fmt::Debug for AccessKeyOwner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccessKeyOwner")
            .field("tenant", &self.tenant)
            .finish_non_exhaustive()
    }
}

#[async_trait]
pub trait AccessKeyStore: Send + Sync {
    /// Stores a key of a tenant unless it already has `max` (`LimitReached`); the check and
    /// the insert are one transaction. `NotFound` for an unknown tenant.
    async fn add_access_key(
        &self,
        tenant_id: &str,
        key: &AccessKeyInfo,
        secret: &str,
        max: usize,
    ) -> Result<()>;
    /// The keys of a tenant, oldest first, each with its last use.
    async fn list_access_keys(&self, tenant_id: &str) -> Result<Vec<AccessKeyInfo>>;
    /// Deletes a key of a tenant (`NotFound` if the tenant has no such key); it stops working
    /// at once, and on the other servers of the database within `auth_cache::CHECK_INTERVAL`.
    async fn delete_access_key(&self, tenant_id: &str, access_key_id: &str) -> Result<()>;
    /// The tenant and the secret of a key, if it exists. Records the use (to
    /// `LAST_USED_RESOLUTION_MS`, in batches, as `Store::tenant_for_token` does).
    async fn access_key_owner(
        &self,
        access_key_id: &str,
        now_ms: i64,
    ) -> Result<Option<AccessKeyOwner>>;
}
