//! The controls of a request of a known tenant: an injected fault, then the throttle (`admit`).
//! The SCIM routes run them after authentication (`scim_auth`); a room whose
//! requests name their tenant only in the body (the AWS JSON APIs) calls `admit` itself once
//! it knows the tenant. Only requests of existing tenants reach them, so that per-tenant state
//! is kept only for tenants that exist.

use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};

use super::journal::fail_the_connection;
use crate::controls::faults::Fault;
use crate::http_error::throttled;
use crate::scim::ScimError;
use crate::state::AppState;

/// A request as the controls see it.
#[derive(Debug, Clone, Copy)]
pub struct Controlled<'a> {
    pub tenant: &'a str,
    /// `scim`, or the AWS JSON service (`identitystore`, `sso-admin`): each API of a tenant has
    /// a throttle bucket of its own, as AWS's request quotas are per API.
    pub api: &'a str,
    pub method: &'a Method,
    /// What fault rules match and the journal records: the path below `/scim/v2`, or
    /// `/<service>/<Operation>` for the AWS JSON APIs.
    pub path: &'a str,
}

/// Runs the controls: an injected fault, then the throttle. `Some` is the answer when the
/// request gets no further.
pub async fn admit(state: &AppState, request: Controlled<'_>) -> Option<Response> {
    let fault = state
        .controls
        .faults
        .pick(request.tenant, request.method, request.path);
    if let Some(fault) = fault
        && let Some(response) = inject(fault).await
    {
        return Some(response);
    }
    let throttle = &state.controls.throttle;
    // With the throttle off, no bucket key is built.
    throttle.limit()?;
    let bucket = format!("{}/{}", request.tenant, request.api);
    if let Err(retry_after) = throttle.admit(&bucket, state.clock.now_ms()) {
        return Some(throttled(retry_after));
    }
    None
}

/// What a fault does to a request: wait, then drop the connection or answer its status with
/// AWS's body; `None` when the request goes on after the wait.
async fn inject(fault: Fault) -> Option<Response> {
    if let Some(latency) = fault.latency {
        tokio::time::sleep(latency).await;
    }
    if fault.drop {
        let (parts, _) = StatusCode::OK.into_response().into_parts();
        return Some(fail_the_connection(parts));
    }
    fault.status.map(|s| match ScimError::for_status(s) {
        ScimError::Throttled => throttled(std::time::Duration::from_secs(1)),
        error => error.into_response(),
    })
}
