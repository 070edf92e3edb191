//! The controls a connector's test suite drives (issue "A connector's integration-test
//! target"): a request journal, AWS-like throttling, fault injection, and seed / reset / export
//! of a tenant. The journal, the throttle buckets, the fault rules and the remembered seeds are
//! per-process state: behind a load balancer each instance keeps its own.

pub mod faults;
pub mod fixtures;
pub mod journal;
pub mod throttle;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;

use crate::app::SharedState;
use crate::auth::Authenticated;

pub use faults::Faults;
pub use fixtures::Seeds;
pub use journal::Journal;
pub use throttle::Throttle;

/// Every control's state.
#[derive(Default)]
pub struct Controls {
    pub journal: Journal,
    pub throttle: Throttle,
    pub faults: Faults,
    pub seeds: Seeds,
}

/// Where a SCIM request is addressed: the tenant (from `/{tenant}/scim/v2/...`, or the
/// default tenant for the `/scim/v2/...` alias) and the path below `/scim/v2`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScimTarget<'a> {
    pub tenant_id: Option<&'a str>,
    pub resource_path: &'a str,
}

impl<'a> ScimTarget<'a> {
    pub fn of(path: &'a str) -> Self {
        let rest = path.strip_prefix('/').unwrap_or(path);
        if let Some(below) = rest.strip_prefix("scim/v2") {
            return Self {
                tenant_id: None,
                resource_path: below,
            };
        }
        let (tenant, below) = rest.split_once('/').unwrap_or((rest, ""));
        Self {
            tenant_id: Some(tenant),
            resource_path: below.strip_prefix("scim/v2").unwrap_or(below),
        }
    }

    /// The tenant id, the default tenant's for the alias.
    pub fn tenant<'s>(&self, default: &'s str) -> &'s str
    where
        'a: 's,
    {
        self.tenant_id.unwrap_or(default)
    }
}

/// The controls that stand between authentication and the handlers: an injected fault, then
/// the throttle. They see only authenticated requests, so that their per-tenant state is kept
/// for tenants that exist.
pub async fn guard(State(state): State<SharedState>, req: Request, next: Next) -> Response {
    let Some(auth) = req.extensions().get::<Authenticated>() else {
        return next.run(req).await;
    };
    let tenant = auth.tenant.tenant_id.clone();
    let path = ScimTarget::of(req.uri().path()).resource_path.to_owned();
    let fault = state.controls.faults.pick(&tenant, req.method(), &path);
    if let Some(fault) = fault
        && let Some(response) = fault.respond().await
    {
        return response;
    }
    if let Err(retry_after) = state.controls.throttle.admit(&tenant, state.clock.now_ms()) {
        return throttle::throttled(retry_after);
    }
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use super::ScimTarget;

    #[test]
    fn targets_name_the_tenant_and_the_resource_path() {
        let t = ScimTarget::of("/acme/scim/v2/Users/42");
        assert_eq!((t.tenant_id, t.resource_path), (Some("acme"), "/Users/42"));
        let t = ScimTarget::of("/scim/v2/Groups");
        assert_eq!((t.tenant_id, t.resource_path), (None, "/Groups"));
        assert_eq!(t.tenant("default"), "default");
    }
}
