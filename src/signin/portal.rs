//! The access portal as AWS runs it (service model `sso` 2019-06-10): what the bearer of an
//! access token reaches. A token opens its tenant and its user while it lasts, the user
//! exists and may sign in; Logout ends it at once. The user reaches the declared accounts
//! where they have an assignment, directly or through a group, with the permission sets
//! assigned there, read afresh on every call: a removed assignment or a deleted user takes
//! effect at once. Errors are the model's, named by `PortalError`.

use std::collections::{BTreeMap, BTreeSet};

use base64::Engine;
use rand::{Rng, RngCore};

use super::{Internal, internal, secrets};
use crate::access::all_assignments;
use crate::sso::{Principal, PrincipalType};
use crate::store::{
    AssignmentQuery, ListArgs, MembershipQuery, Store, StoreError, Tenant, TokenKey, TokenRecord,
    UserRecord, all_pages, keyset,
};

/// The errors of the service model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PortalError {
    Unauthorized,
    InvalidRequest(String),
    ResourceNotFound(String),
    Internal,
}

impl From<Internal> for PortalError {
    fn from(_: Internal) -> Self {
        Self::Internal
    }
}

impl PortalError {
    /// The exception's name (`x-amzn-ErrorType`) and its HTTP status.
    pub fn kind(&self) -> (&'static str, u16) {
        match self {
            Self::Unauthorized => ("UnauthorizedException", 401),
            Self::InvalidRequest(_) => ("InvalidRequestException", 400),
            Self::ResourceNotFound(_) => ("ResourceNotFoundException", 404),
            Self::Internal => ("InternalServerException", 500),
        }
    }

    /// The `message` of the body.
    pub fn message(&self) -> &str {
        match self {
            Self::Unauthorized => "Session token not found or invalid",
            Self::InvalidRequest(m) | Self::ResourceNotFound(m) => m,
            Self::Internal => "An internal error occurred.",
        }
    }
}

type Result<T, E = PortalError> = std::result::Result<T, E>;

/// Who a token signs in: its tenant, its user and the token itself.
#[derive(Debug, Clone)]
pub struct Bearer {
    pub tenant: Tenant,
    pub user: UserRecord,
    pub token: TokenRecord,
}

/// The token a request bears, if it names one that is stored, whatever its state: its tenant
/// is known before it is judged (for the journal and the controls).
pub async fn token(store: &dyn Store, access_token: &str) -> Result<Option<TokenRecord>> {
    match store
        .find_token(TokenKey::Access(&secrets::hash(access_token)))
        .await
    {
        Ok(token) => Ok(Some(token)),
        Err(StoreError::NotFound) => Ok(None),
        Err(e) => Err(internal(e)),
    }
}

/// Whom a stored token signs in: `Unauthorized` once it has expired or its user may no
/// longer sign in.
pub async fn bearer(store: &dyn Store, token: Option<TokenRecord>, now_ms: i64) -> Result<Bearer> {
    let token = token
        .filter(|t| t.access_expires_ms > now_ms)
        .ok_or(PortalError::Unauthorized)?;
    let tenant = match store.get_tenant(&token.tenant_id).await {
        Ok(info) => info.tenant,
        Err(StoreError::NotFound) => return Err(PortalError::Unauthorized),
        Err(e) => return Err(internal(e)),
    };
    let user = super::users::active_user(store, &tenant, &token.user_id)
        .await?
        .ok_or(PortalError::Unauthorized)?;
    Ok(Bearer {
        tenant,
        user,
        token,
    })
}

/// Logout: the token (and its refresh token) stop working at once.
pub async fn logout(store: &dyn Store, bearer: &Bearer) -> Result<()> {
    match store.revoke_token(&bearer.token.token_id).await {
        Ok(()) | Err(StoreError::NotFound) => Ok(()),
        Err(e) => Err(internal(e)),
    }
}

/// The most items a page holds, and how many it holds without `maxResults` (the model's
/// bounds).
pub const MAX_RESULTS: std::ops::RangeInclusive<i64> = 1..=100;

/// A page's size: `max_results` checked against the model's bounds.
fn page_size(max_results: Option<i64>) -> Result<usize> {
    match max_results {
        None => Ok(*MAX_RESULTS.end() as usize),
        Some(n) if MAX_RESULTS.contains(&n) => Ok(n as usize),
        Some(n) => Err(PortalError::InvalidRequest(format!(
            "maxResults must be from 1 to 100, not {n}."
        ))),
    }
}

/// One page of `items` (sorted by `key`) after a `next_token`, and the token of the next.
fn page<T>(
    items: Vec<T>,
    key: impl Fn(&T) -> &str,
    next_token: Option<&str>,
    max_results: Option<i64>,
) -> Result<(Vec<T>, Option<String>)> {
    let size = page_size(max_results)?;
    let after = match next_token {
        Some(token) => Some(keyset::decode(token).ok_or_else(|| {
            PortalError::InvalidRequest("nextToken is not a token this server gave.".into())
        })?),
        None => None,
    };
    let mut rest: Vec<T> = items
        .into_iter()
        .filter(|item| after.as_deref().is_none_or(|a| key(item) > a))
        .collect();
    let more = rest.len() > size;
    rest.truncate(size);
    let next = more
        .then(|| rest.last().map(|item| keyset::encode(key(item))))
        .flatten();
    Ok((rest, next))
}

/// The accounts a user reaches, each with the permission sets (ids) assigned there to the
/// user or to a group of the user.
async fn reach(
    store: &dyn Store,
    tenant: &Tenant,
    user_id: &str,
) -> Result<BTreeMap<String, BTreeSet<String>>> {
    let memberships = MembershipQuery::User(user_id);
    let groups = all_pages(
        |after| async move {
            store
                .list_memberships(tenant, memberships, ListArgs::scan(after.as_deref()))
                .await
        },
        |m| m.key(memberships),
    )
    .await
    .map_err(internal::<PortalError>)?;
    let principals = std::iter::once(Principal {
        kind: PrincipalType::User,
        id: user_id.to_owned(),
    })
    .chain(groups.into_iter().map(|m| Principal {
        kind: PrincipalType::Group,
        id: m.group_id,
    }));
    let mut reach: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for principal in principals {
        let query = AssignmentQuery::Principal {
            principal: &principal,
            account_id: None,
        };
        let assignments = all_assignments(store, tenant, query)
            .await
            .map_err(internal::<PortalError>)?;
        for a in assignments {
            reach
                .entry(a.account_id)
                .or_default()
                .insert(a.permission_set_id);
        }
    }
    Ok(reach)
}

/// An account as ListAccounts shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountInfo {
    pub account_id: String,
    pub account_name: String,
    pub email_address: String,
}

/// The declared accounts of these ids, in their order (an account deleted meanwhile is left
/// out).
async fn accounts(
    store: &dyn Store,
    tenant: &Tenant,
    ids: Vec<String>,
) -> Result<Vec<AccountInfo>> {
    let mut accounts = Vec::with_capacity(ids.len());
    for id in ids {
        match store.get_account(tenant, &id).await {
            Ok(record) => accounts.push(AccountInfo {
                account_id: record.account.account_id,
                account_name: record.account.name,
                email_address: record.account.email,
            }),
            Err(StoreError::NotFound) => {}
            Err(e) => return Err(internal(e)),
        }
    }
    Ok(accounts)
}

/// ListAccounts: the accounts the user reaches, in id order.
pub async fn list_accounts(
    store: &dyn Store,
    bearer: &Bearer,
    next_token: Option<&str>,
    max_results: Option<i64>,
) -> Result<(Vec<AccountInfo>, Option<String>)> {
    let ids: Vec<String> = reach(store, &bearer.tenant, &bearer.user.id)
        .await?
        .into_keys()
        .collect();
    let (ids, next) = page(ids, String::as_str, next_token, max_results)?;
    Ok((accounts(store, &bearer.tenant, ids).await?, next))
}

/// The permission sets these ids name, by name (one deleted meanwhile is left out).
async fn roles(
    store: &dyn Store,
    tenant: &Tenant,
    ids: BTreeSet<String>,
) -> Result<Vec<crate::store::PermissionSetRecord>> {
    let mut roles = Vec::with_capacity(ids.len());
    for id in ids {
        match store.get_permission_set(tenant, &id).await {
            Ok(record) => roles.push(record),
            Err(StoreError::NotFound) => {}
            Err(e) => return Err(internal(e)),
        }
    }
    roles.sort_by(|a, b| a.attrs.name.cmp(&b.attrs.name));
    Ok(roles)
}

/// The permission sets the user has in an account, by name.
async fn roles_in(
    store: &dyn Store,
    bearer: &Bearer,
    account_id: &str,
) -> Result<Vec<crate::store::PermissionSetRecord>> {
    let ids = reach(store, &bearer.tenant, &bearer.user.id)
        .await?
        .remove(account_id)
        .unwrap_or_default();
    roles(store, &bearer.tenant, ids).await
}

/// Everything a user reaches, as the start page shows it: each account (in id order) with the
/// names of the user's roles there. A permission set assigned in several accounts is read once.
pub async fn access(
    store: &dyn Store,
    tenant: &Tenant,
    user_id: &str,
) -> Result<Vec<(AccountInfo, Vec<String>)>> {
    let mut reach = reach(store, tenant, user_id).await?;
    let found = accounts(store, tenant, reach.keys().cloned().collect()).await?;
    let ids: BTreeSet<String> = reach.values().flatten().cloned().collect();
    let roles = roles(store, tenant, ids).await?;
    let mut access = Vec::with_capacity(found.len());
    for account in found {
        let ids = reach.remove(&account.account_id).unwrap_or_default();
        let names = roles
            .iter()
            .filter(|r| ids.contains(&r.id))
            .map(|r| r.attrs.name.clone());
        access.push((account, names.collect()));
    }
    Ok(access)
}

/// ListAccountRoles: the names of the permission sets the user has in an account, in name
/// order; none in an account the user does not reach.
pub async fn list_account_roles(
    store: &dyn Store,
    bearer: &Bearer,
    account_id: &str,
    next_token: Option<&str>,
    max_results: Option<i64>,
) -> Result<(Vec<String>, Option<String>)> {
    let names = roles_in(store, bearer, account_id)
        .await?
        .into_iter()
        .map(|r| r.attrs.name)
        .collect();
    page(names, String::as_str, next_token, max_results)
}

/// Credentials as GetRoleCredentials gives them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleCredentials {
    pub access_key_id: String,
    pub secret_access_key: String,
    pub session_token: String,
    /// Milliseconds since the Unix epoch.
    pub expiration_ms: i64,
}

/// GetRoleCredentials: credentials in the form of AWS's temporary ones (`ASIA...`), that
/// expire after the permission set's session duration. AWS does not know them: they are for
/// local emulators of AWS services, which accept any.
pub async fn role_credentials(
    store: &dyn Store,
    bearer: &Bearer,
    account_id: &str,
    role_name: &str,
    now_ms: i64,
) -> Result<RoleCredentials> {
    let role = roles_in(store, bearer, account_id)
        .await?
        .into_iter()
        .find(|r| r.attrs.name == role_name)
        .ok_or_else(|| PortalError::ResourceNotFound("No access".into()))?;
    let seconds = crate::sso::duration_seconds(&role.attrs.session_duration).unwrap_or(3600.0);
    let mut rng = rand::rng();
    const BASE32: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let key_id: String = (0..16)
        .map(|_| BASE32[rng.random_range(0..BASE32.len())] as char)
        .collect();
    let mut secret = [0u8; 30];
    rng.fill_bytes(&mut secret);
    let mut token = [0u8; 264];
    rng.fill_bytes(&mut token);
    let b64 = base64::engine::general_purpose::STANDARD;
    Ok(RoleCredentials {
        access_key_id: format!("ASIA{key_id}"),
        secret_access_key: b64.encode(secret),
        session_token: b64.encode(token),
        expiration_ms: now_ms + (seconds * 1000.0) as i64,
    })
}
