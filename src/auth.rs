//! Bearer-token authentication of the SCIM routes (AWS-SCIM.md, "Endpoint, auth, headers").
//!
//! Tokens are kept only as SHA-256 hashes. A token given on the command line is compared, as a
//! hash, in constant time; stored tokens are found by their hash. Neither the token nor its
//! hash is ever logged.

use std::fmt;

use axum::extract::{Request, State};
use axum::http::header::{AUTHORIZATION, HOST};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use rand::RngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::app::SharedState;
use crate::controls::ScimTarget;
use crate::controls::journal::JournalAs;
use crate::scim::ScimError;
use crate::store::{Result as StoreResult, Store, Tenant, TokenInfo};

/// The lifetime of an access token: one year, as in AWS.
pub const TOKEN_LIFETIME_MS: i64 = 365 * 24 * 60 * 60 * 1000;

/// The SHA-256 of a token. Its `Debug` prints nothing.
#[derive(Clone, PartialEq, Eq)]
pub struct TokenHash([u8; 32]);

impl TokenHash {
    pub fn of(token: &str) -> Self {
        Self(Sha256::digest(token.as_bytes()).into())
    }

    /// The hex form the database keeps.
    pub fn to_hex(&self) -> String {
        self.0.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// Constant-time comparison.
    pub fn matches(&self, other: &Self) -> bool {
        self.0.ct_eq(&other.0).into()
    }
}

impl fmt::Debug for TokenHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TokenHash(..)")
    }
}

/// A fresh random access token, shown once.
pub fn generate_token() -> String {
    let mut bytes = [0u8; 48];
    rand::rng().fill_bytes(&mut bytes);
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// The most access tokens a tenant holds at a time, as in AWS.
pub const MAX_TOKENS: usize = 2;

/// Generates a token for a tenant and stores its hash with AWS's one-year lifetime, unless the
/// tenant already has `MAX_TOKENS`. Returns what is listed of it and the secret, which is kept
/// nowhere.
pub async fn issue_token(
    store: &dyn Store,
    tenant_id: &str,
    now_ms: i64,
) -> StoreResult<(TokenInfo, String)> {
    let token = generate_token();
    let info = TokenInfo {
        token_id: uuid::Uuid::new_v4().to_string(),
        created_ms: now_ms,
        expires_ms: now_ms + TOKEN_LIFETIME_MS,
        last_used_ms: None,
    };
    store
        .add_token(
            tenant_id,
            &info,
            &TokenHash::of(&token).to_hex(),
            MAX_TOKENS,
        )
        .await?;
    Ok((info, token))
}

/// The tenant a request was authenticated for, and the base URL it was addressed to.
#[derive(Debug, Clone)]
pub struct Authenticated {
    pub tenant: Tenant,
    /// `http://host/{tenant}/scim/v2` or `http://host/scim/v2`, as the client wrote it.
    pub base_url: String,
}

fn bearer(req: &Request) -> Option<&str> {
    let value = req.headers().get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// Middleware of the SCIM routes: a missing or wrong token, or a token of another tenant,
/// gets AWS's 401.
pub async fn authenticate(
    State(state): State<SharedState>,
    mut req: Request,
    next: Next,
) -> Response {
    let target = ScimTarget::of(req.uri().path());
    let wanted = target.tenant(&state.default_tenant.tenant_id).to_owned();
    let token = bearer(&req).map(TokenHash::of);
    let tenant = match tenant_of_request(&state, token, &wanted).await {
        Ok(tenant) => tenant,
        Err(error) => {
            let mut response = error.into_response();
            // A failure is journaled when the tenant exists, and only then: made-up tenant
            // ids must not grow the journal.
            if state.controls.journal.is_on() && state.store.get_tenant(&wanted).await.is_ok() {
                response.extensions_mut().insert(JournalAs(wanted));
            }
            return response;
        }
    };
    let tenant_in_path = target.tenant_id;
    let host = req
        .headers()
        .get(HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("localhost");
    let proto = req
        .headers()
        .get("x-forwarded-proto")
        .and_then(|h| h.to_str().ok())
        .unwrap_or("http");
    let base_url = match tenant_in_path {
        Some(t) => format!("{proto}://{host}/{t}/scim/v2"),
        None => format!("{proto}://{host}/scim/v2"),
    };
    let tenant_id = tenant.tenant_id.clone();
    req.extensions_mut()
        .insert(Authenticated { tenant, base_url });
    let mut response = next.run(req).await;
    response.extensions_mut().insert(JournalAs(tenant_id));
    response
}

/// The tenant a request's token opens at the tenant it addresses, or AWS's 401.
async fn tenant_of_request(
    state: &SharedState,
    token: Option<TokenHash>,
    wanted: &str,
) -> Result<Tenant, ScimError> {
    let hash = token.ok_or(ScimError::Unauthorized)?;
    let default = &state.default_tenant;
    let static_ok = wanted == default.tenant_id
        && state
            .static_token
            .as_ref()
            .is_some_and(|known| known.matches(&hash));
    let lookup = if static_ok {
        // The provisioning switch may have been turned by another process.
        state
            .store
            .get_tenant(&default.tenant_id)
            .await
            .map(|info| Some(info.tenant))
    } else {
        state
            .store
            .tenant_for_token(wanted, &hash.to_hex(), state.clock.now_ms())
            .await
    };
    let tenant = lookup
        .map_err(|e| {
            tracing::error!(error = ?e, "token lookup failed");
            ScimError::Internal
        })?
        .ok_or(ScimError::Unauthorized)?;
    if !tenant.provisioning_enabled {
        // AWS stops accepting SCIM requests when automatic provisioning is disabled (inferred:
        // its tokens no longer authenticate).
        tracing::info!("automatic provisioning is disabled for this tenant");
        return Err(ScimError::Unauthorized);
    }
    Ok(tenant)
}
