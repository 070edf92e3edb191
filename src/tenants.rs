//! What the IAM Identity Center console does for the people who run idc-scim: identity stores
//! (tenants), their SCIM access tokens, the automatic-provisioning switch, and (as IAM does for
//! its users) their AWS access keys. One set of operations, called by the CLI
//! (`idc-scim tenant|token|access-key ...`) and by the admin HTTP API.
//! The errors are SCIM errors, which the admin API answers with AWS's body.

use serde::Serialize;

use crate::auth::{MAX_ACCESS_KEYS, MAX_TOKENS, issue_access_key, issue_token};
use crate::clock::timestamp;
use crate::directory::Taken;
use crate::scim::ScimError;
use crate::store::{AccessKeyInfo, Store, StoreError, Tenant, TenantInfo, TokenInfo};

/// A tenant as the administration shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TenantView {
    pub tenant_id: String,
    pub identity_store_id: String,
    pub is_default: bool,
    pub provisioning_enabled: bool,
    pub created_at: String,
    /// The path of the SCIM endpoint on this server: `/{tenantId}/scim/v2/`.
    pub scim_path: String,
    /// The path of the start URL on this server: `/{tenantId}/start`.
    pub start_path: String,
}

impl From<TenantInfo> for TenantView {
    fn from(info: TenantInfo) -> Self {
        Self {
            scim_path: format!("/{}/scim/v2/", info.tenant.tenant_id),
            start_path: crate::signin::start_path(&info.tenant.tenant_id),
            tenant_id: info.tenant.tenant_id,
            identity_store_id: info.tenant.identity_store_id,
            is_default: info.is_default,
            provisioning_enabled: info.tenant.provisioning_enabled,
            created_at: timestamp(info.created_ms),
        }
    }
}

/// An access token as the console lists it: id and dates, never the secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TokenView {
    pub token_id: String,
    pub created_at: String,
    pub expires_at: String,
    pub last_used_at: Option<String>,
    pub expired: bool,
}

impl TokenView {
    fn new(info: &TokenInfo, now_ms: i64) -> Self {
        Self {
            token_id: info.token_id.clone(),
            created_at: timestamp(info.created_ms),
            expires_at: timestamp(info.expires_ms),
            last_used_at: info.last_used_ms.map(timestamp),
            expired: info.expires_ms <= now_ms,
        }
    }
}

/// A token just generated: the only time its secret is shown.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NewToken {
    #[serde(flatten)]
    pub view: TokenView,
    pub token: String,
}

fn tenant_error(e: StoreError) -> ScimError {
    let failure = |e: StoreError| {
        tracing::error!(error = ?e, "store failure");
        ScimError::Internal
    };
    match e {
        StoreError::NotFound => ScimError::NotFound("Tenant not found.".to_owned()),
        StoreError::Conflict(constraint) => match Taken::of(constraint) {
            Some(Taken::TenantId) => ScimError::Conflict("Tenant already exists.".to_owned()),
            Some(Taken::UserName | Taken::Email | Taken::GroupDisplayName | Taken::Membership)
            | None => failure(e),
        },
        StoreError::LimitReached => ScimError::Conflict(format!(
            "A tenant holds at most {MAX_TOKENS} access tokens: delete one first."
        )),
        StoreError::Contended => ScimError::Throttled,
        StoreError::MemberNotFound
        | StoreError::MemberLoop
        | StoreError::InUse
        | StoreError::Database(_) => failure(e),
    }
}

/// Whether a tenant id chosen by the operator can serve as a URL segment.
fn check_tenant_id(id: &str) -> Result<(), ScimError> {
    // Paths of this server that a tenant's pages (`/{tenantId}/start`) would collide with.
    let reserved = ["scim", "admin", "health", "assets", "console"];
    let ok = (1..=64).contains(&id.len())
        && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        && !reserved.iter().any(|r| r.eq_ignore_ascii_case(id));
    if ok {
        Ok(())
    } else {
        Err(ScimError::invalid(
            "tenantId must be 1 to 64 letters, digits or dashes, and not scim, admin or health, nor assets or console.",
        ))
    }
}

/// Creates a tenant, with a generated tenant id unless one is given.
pub async fn create_tenant(
    store: &dyn Store,
    tenant_id: Option<&str>,
    now_ms: i64,
) -> Result<TenantView, ScimError> {
    let mut tenant = Tenant::generate();
    if let Some(id) = tenant_id {
        check_tenant_id(id)?;
        tenant.tenant_id = id.to_owned();
    }
    store
        .create_tenant(&tenant, now_ms)
        .await
        .map_err(tenant_error)?;
    get_tenant(store, &tenant.tenant_id).await
}

pub async fn get_tenant(store: &dyn Store, tenant_id: &str) -> Result<TenantView, ScimError> {
    store
        .get_tenant(tenant_id)
        .await
        .map(TenantView::from)
        .map_err(tenant_error)
}

/// The tenant an id names: 404 when there is none, 500 (logged) when the store fails.
pub async fn tenant(store: &dyn Store, tenant_id: &str) -> Result<Tenant, ScimError> {
    store
        .get_tenant(tenant_id)
        .await
        .map(|info| info.tenant)
        .map_err(tenant_error)
}

pub async fn list_tenants(store: &dyn Store) -> Result<Vec<TenantView>, ScimError> {
    let tenants = store.list_tenants().await.map_err(tenant_error)?;
    Ok(tenants.into_iter().map(TenantView::from).collect())
}

/// Deletes a tenant and everything in it. The default tenant stays.
pub async fn delete_tenant(store: &dyn Store, tenant_id: &str) -> Result<(), ScimError> {
    if store
        .get_tenant(tenant_id)
        .await
        .map_err(tenant_error)?
        .is_default
    {
        return Err(ScimError::invalid("The default tenant cannot be deleted."));
    }
    store.delete_tenant(tenant_id).await.map_err(tenant_error)
}

/// Turns automatic provisioning on or off, as the console does.
pub async fn set_provisioning(
    store: &dyn Store,
    tenant_id: &str,
    enabled: bool,
) -> Result<TenantView, ScimError> {
    store
        .set_provisioning(tenant_id, enabled)
        .await
        .map_err(tenant_error)?;
    get_tenant(store, tenant_id).await
}

/// Generates an access token; its secret is in the answer and nowhere else.
pub async fn create_token(
    store: &dyn Store,
    tenant_id: &str,
    now_ms: i64,
) -> Result<NewToken, ScimError> {
    let (info, token) = issue_token(store, tenant_id, now_ms)
        .await
        .map_err(tenant_error)?;
    Ok(NewToken {
        view: TokenView::new(&info, now_ms),
        token,
    })
}

/// A tenant's access tokens; 404 for an unknown tenant.
pub async fn list_tokens(
    store: &dyn Store,
    tenant_id: &str,
    now_ms: i64,
) -> Result<Vec<TokenView>, ScimError> {
    store.get_tenant(tenant_id).await.map_err(tenant_error)?;
    tokens_of(store, tenant_id, now_ms).await
}

/// The access tokens of a tenant known to exist.
async fn tokens_of(
    store: &dyn Store,
    tenant_id: &str,
    now_ms: i64,
) -> Result<Vec<TokenView>, ScimError> {
    let tokens = store.list_tokens(tenant_id).await.map_err(tenant_error)?;
    Ok(tokens.iter().map(|t| TokenView::new(t, now_ms)).collect())
}

/// Deletes a token: it stops working at once.
pub async fn delete_token(
    store: &dyn Store,
    tenant_id: &str,
    token_id: &str,
) -> Result<(), ScimError> {
    store.get_tenant(tenant_id).await.map_err(tenant_error)?;
    store
        .delete_token(tenant_id, token_id)
        .await
        .map_err(|e| match e {
            StoreError::NotFound => ScimError::NotFound("Token not found.".to_owned()),
            other => tenant_error(other),
        })
}

/// An AWS access key as IAM lists it: id and dates, never the secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AccessKeyView {
    pub access_key_id: String,
    /// `Active`, as IAM shows a key that works.
    pub status: &'static str,
    pub created_at: String,
    pub last_used_at: Option<String>,
}

impl From<&AccessKeyInfo> for AccessKeyView {
    fn from(info: &AccessKeyInfo) -> Self {
        Self {
            access_key_id: info.access_key_id.clone(),
            status: "Active",
            created_at: timestamp(info.created_ms),
            last_used_at: info.last_used_ms.map(timestamp),
        }
    }
}

/// An access key just generated: the only time its secret is shown.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NewAccessKey {
    #[serde(flatten)]
    pub view: AccessKeyView,
    pub secret_access_key: String,
}

/// Generates an AWS access key of a tenant; its secret is in the answer, shown once.
pub async fn create_access_key(
    store: &dyn Store,
    tenant_id: &str,
    now_ms: i64,
) -> Result<NewAccessKey, ScimError> {
    let (info, secret) = issue_access_key(store, tenant_id, now_ms)
        .await
        .map_err(|e| match e {
            StoreError::LimitReached => ScimError::Conflict(format!(
                "A tenant holds at most {MAX_ACCESS_KEYS} access keys: delete one first."
            )),
            other => tenant_error(other),
        })?;
    Ok(NewAccessKey {
        view: AccessKeyView::from(&info),
        secret_access_key: secret,
    })
}

/// A tenant's AWS access keys; 404 for an unknown tenant.
pub async fn list_access_keys(
    store: &dyn Store,
    tenant_id: &str,
) -> Result<Vec<AccessKeyView>, ScimError> {
    store.get_tenant(tenant_id).await.map_err(tenant_error)?;
    access_keys_of(store, tenant_id).await
}

/// The AWS access keys of a tenant known to exist.
async fn access_keys_of(
    store: &dyn Store,
    tenant_id: &str,
) -> Result<Vec<AccessKeyView>, ScimError> {
    let keys = store
        .list_access_keys(tenant_id)
        .await
        .map_err(tenant_error)?;
    Ok(keys.iter().map(AccessKeyView::from).collect())
}

/// A tenant with its access tokens and AWS access keys, as the console's Settings shows them:
/// the tenant is read once.
pub async fn tenant_settings(
    store: &dyn Store,
    tenant_id: &str,
    now_ms: i64,
) -> Result<(TenantView, Vec<TokenView>, Vec<AccessKeyView>), ScimError> {
    let view = get_tenant(store, tenant_id).await?;
    let tokens = tokens_of(store, tenant_id, now_ms).await?;
    let keys = access_keys_of(store, tenant_id).await?;
    Ok((view, tokens, keys))
}

/// Deletes an access key: requests signed with it are refused at once.
pub async fn delete_access_key(
    store: &dyn Store,
    tenant_id: &str,
    access_key_id: &str,
) -> Result<(), ScimError> {
    store.get_tenant(tenant_id).await.map_err(tenant_error)?;
    store
        .delete_access_key(tenant_id, access_key_id)
        .await
        .map_err(|e| match e {
            StoreError::NotFound => ScimError::NotFound("Access key not found.".to_owned()),
            other => tenant_error(other),
        })
}
