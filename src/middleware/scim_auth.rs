//! Bearer-token authentication of the SCIM routes (AWS-SCIM.md, "Endpoint, auth, headers"): a
//! missing or wrong token, or a token of another tenant, gets AWS's 401; a token sent to a
//! tenant id that names no tenant, or a tenant whose automatic provisioning is off, gets
//! AWS's 404 "TENANT does not exist." (`docs/aws-behaviour.md`). The token is hashed at once;
//! neither it nor its hash is logged.

use axum::extract::Request;
use axum::http::header::AUTHORIZATION;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::journal::journal_as;
use super::{ScimTarget, as_tenant};
use crate::auth::TokenHash;
use crate::extract::BaseUrl;
use crate::scim::ScimError;
use crate::state::{AppState, Authenticated};
use crate::store::{StoreError, Tenant};

fn bearer(req: &Request) -> Option<&str> {
    let value = req.headers().get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// Authenticates a SCIM request, then runs it as its tenant's (`as_tenant`: its controls,
/// then `next`).
pub(super) async fn authenticate(state: &AppState, mut req: Request, next: Next) -> Response {
    let target = ScimTarget::of(req.uri().path());
    let wanted = target.tenant(&state.default_tenant.tenant_id).to_owned();
    let path = target.resource_path.to_owned();
    let token = bearer(&req).map(TokenHash::of);
    let tenant = match tenant_of_request(state, token, &wanted).await {
        Ok(tenant) => tenant,
        Err(Refused { error, exists }) => {
            let mut response = error.into_response();
            // A failure is journaled when the tenant exists, and only then: made-up tenant
            // ids must not grow the journal.
            if state.controls.journal.is_on() {
                let exists = match exists {
                    Some(exists) => exists,
                    None => state.store.get_tenant(&wanted).await.is_ok(),
                };
                if exists {
                    journal_as(&mut response, wanted, path);
                }
            }
            return response;
        }
    };
    let BaseUrl(mut base_url) = BaseUrl::of(req.headers());
    if let Some(t) = target.tenant_id {
        base_url.push('/');
        base_url.push_str(t);
    }
    base_url.push_str("/scim/v2");
    let tenant_id = tenant.tenant_id.clone();
    let method = req.method().clone();
    req.extensions_mut()
        .insert(Authenticated::new(tenant, base_url));
    as_tenant(
        state,
        Some(&tenant_id),
        "scim",
        &method,
        &path,
        next.run(req),
    )
    .await
}

/// The tenant a request's token opens at the tenant it addresses, or AWS's 401.
/// A request refused, and whether its tenant exists if the refusal found out.
struct Refused {
    error: ScimError,
    exists: Option<bool>,
}

impl From<ScimError> for Refused {
    fn from(error: ScimError) -> Self {
        Self {
            error,
            exists: None,
        }
    }
}

async fn tenant_of_request(
    state: &AppState,
    token: Option<TokenHash>,
    wanted: &str,
) -> Result<Tenant, Refused> {
    let hash = token.ok_or(ScimError::Unauthorized)?;
    let default = &state.default_tenant;
    let static_ok = wanted == default.tenant_id
        && state
            .static_token
            .as_ref()
            .is_some_and(|known| known.matches(&hash));
    let lookup = if static_ok {
        // The provisioning switch may have been turned by another process: the store's
        // cache of tenants learns of it within a moment (`store::auth_cache`).
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
    let failed = |e| {
        tracing::error!(error = ?e, "token lookup failed");
        ScimError::Internal
    };
    let Some(tenant) = lookup.map_err(failed)? else {
        // AWS answers a tenant id it does not know with a 404, whatever the token.
        let (error, exists) = match state.store.get_tenant(wanted).await {
            Ok(_) => (ScimError::Unauthorized, Some(true)),
            Err(StoreError::NotFound) => (ScimError::tenant_not_found(), Some(false)),
            Err(e) => (failed(e), None),
        };
        return Err(Refused { error, exists });
    };
    if !tenant.provisioning_enabled {
        // Disabling automatic provisioning deletes AWS's SCIM tenant: its URL then answers
        // as an unknown tenant's (inferred from a capture after a disable and re-enable).
        tracing::info!("automatic provisioning is disabled for this tenant");
        return Err(Refused {
            error: ScimError::tenant_not_found(),
            exists: Some(true),
        });
    }
    Ok(tenant)
}
