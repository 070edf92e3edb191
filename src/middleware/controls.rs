//! The controls guard: between authentication and the handlers, an injected fault, then the
//! throttle. It sees only authenticated requests, so that per-tenant state is kept only for
//! tenants that exist.

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::ScimTarget;
use super::journal::fail_the_connection;
use crate::controls::faults::Fault;
use crate::http_error::throttled;
use crate::scim::ScimError;
use crate::state::{Authenticated, SharedState};

pub(super) async fn guard(State(state): State<SharedState>, req: Request, next: Next) -> Response {
    let Some(auth) = req.extensions().get::<Authenticated>() else {
        return next.run(req).await;
    };
    let tenant = auth.tenant.tenant_id.clone();
    let path = ScimTarget::of(req.uri().path()).resource_path;
    let fault = state.controls.faults.pick(&tenant, req.method(), path);
    if let Some(fault) = fault
        && let Some(response) = inject(fault).await
    {
        return response;
    }
    if let Err(retry_after) = state.controls.throttle.admit(&tenant, state.clock.now_ms()) {
        return throttled(retry_after);
    }
    next.run(req).await
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
