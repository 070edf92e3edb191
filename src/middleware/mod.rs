//! The middleware: what stands between the network and the rooms.
//!
//! Every request passes `context` (`wrapped`): before routing, its path normalised and its
//! request id; after, the standard stack (our request context, which gives every error its
//! body and the log lines their request, then tower-http's panic catching, body limit and
//! timeout). SCIM requests then pass `scim_layers`, one middleware (each layer costs a boxed
//! future and a clone of the service below it) that runs, outermost first: the journal, the
//! `rfc` profile's media type, bearer authentication (`scim_auth`) and the controls
//! (`controls`: injected faults, then the throttle). The admin API passes `admin_layers`.
//!
//! A room whose requests name their tenant only in the body (the AWS JSON APIs) passes
//! `tenant_body_layers` (the journal) and, once it knows the tenant, calls `admit` (the same
//! controls as the SCIM guard) and marks its answer with `journal_as`. A room whose API has an
//! error body of its own (the REST-JSON services of sign-in) passes `styled`.

mod admin_auth;
mod context;
mod controls;
mod journal;
mod scim_auth;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{Method, Uri};
use axum::middleware::{Next, from_fn, from_fn_with_state};
use axum::response::Response;

use crate::state::{AppState, ErrorStyle, SharedState};

pub use controls::{Controlled, admit};
pub use journal::journal_as;

/// Wraps the SCIM routes in their middleware (`scim_request`). Unsupported methods on SCIM
/// paths are authenticated too, as AWS does.
pub fn scim_layers(routes: Router<SharedState>, state: &SharedState) -> Router<SharedState> {
    routes.layer(from_fn_with_state(state.clone(), scim_request))
}

/// A SCIM request, outermost first: journaled, its answer given the `rfc` profile's media
/// type (inside the journal, which records what is sent), authenticated, and controlled.
async fn scim_request(State(state): State<SharedState>, req: Request, next: Next) -> Response {
    journal::recorded(&state, req, async |req| {
        let response = scim_auth::authenticate(&state, req, next).await;
        context::scim_media_type(&state, response)
    })
    .await
}

/// Runs a request of a room that learned its tenant from the request itself: the tenant's
/// controls (`admit`), then `run`; the answer is marked for the tenant's journal under `path`.
/// A request that names no tenant runs as it is.
pub async fn as_tenant(
    state: &AppState,
    tenant: Option<&str>,
    api: &str,
    method: &Method,
    path: &str,
    run: impl Future<Output = Response>,
) -> Response {
    let Some(tenant) = tenant else {
        return run.await;
    };
    let controlled = Controlled {
        tenant,
        api,
        method,
        path,
    };
    let mut response = match admit(state, controlled).await {
        Some(refused) => refused,
        None => run.await,
    };
    journal_as(&mut response, tenant, path);
    response
}

/// Renders the errors of a room's routes in the body style of its API.
pub fn styled(routes: Router<SharedState>, style: ErrorStyle) -> Router<SharedState> {
    routes.layer(from_fn(move |req: Request, next: Next| {
        context::restyle(style, req, next)
    }))
}

/// Wraps routes that learn their tenant from the request body in the journal; the room calls
/// `admit` and `journal_as` itself.
pub fn tenant_body_layers(routes: Router<SharedState>, state: &SharedState) -> Router<SharedState> {
    routes.layer(from_fn_with_state(state.clone(), journaled))
}

async fn journaled(State(state): State<SharedState>, req: Request, next: Next) -> Response {
    journal::recorded(&state, req, async |req| next.run(req).await).await
}

/// Puts the admin API behind the admin credential.
pub fn admin_layers(routes: Router<SharedState>, state: &SharedState) -> Router<SharedState> {
    routes.layer(from_fn_with_state(state.clone(), admin_auth::authenticate))
}

/// Wraps the whole application: its routes in the standard stack (`context::standard`, which
/// runs after routing, so that the request line names the matched route), and the router in
/// what runs before routing (`context::Outermost`: the path normalised before the router
/// matches it, the request id). That service wraps the router, the one route of a router that
/// serves it, so that a request clones one boxed route for it rather than one per route.
pub fn wrapped(app: Router<SharedState>, state: SharedState) -> Router {
    let app = context::standard(app, &state).with_state(state);
    Router::new().fallback_service(context::Outermost(app))
}

/// Collapses repeated slashes and drops a trailing one: IdPs configured with a base URL ending
/// in `/` send `.../scim/v2//Users`, and `.../Users/` must resolve as `.../Users`.
fn normalize_path(req: &mut Request) {
    let path = req.uri().path();
    if path.contains("//") || (path.len() > 1 && path.ends_with('/')) {
        let mut clean = String::with_capacity(path.len());
        for segment in path.split('/').filter(|s| !s.is_empty()) {
            clean.push('/');
            clean.push_str(segment);
        }
        if clean.is_empty() {
            clean.push('/');
        }
        if let Some(q) = req.uri().query() {
            clean.push('?');
            clean.push_str(q);
        }
        let mut parts = req.uri().clone().into_parts();
        if let Ok(pq) = clean.parse() {
            parts.path_and_query = Some(pq);
            if let Ok(uri) = Uri::from_parts(parts) {
                *req.uri_mut() = uri;
            }
        }
    }
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

    /// Whether the path is below a SCIM endpoint.
    pub fn is_scim(path: &str) -> bool {
        let rest = path.strip_prefix('/').unwrap_or(path);
        let below = match rest.strip_prefix("scim/v2") {
            Some(below) => below,
            None => rest
                .split_once('/')
                .and_then(|(_, b)| b.strip_prefix("scim/v2"))
                .unwrap_or("-"),
        };
        below.is_empty() || below.starts_with('/')
    }

    /// The tenant id, the default tenant's for the alias.
    pub fn tenant<'s>(&self, default: &'s str) -> &'s str
    where
        'a: 's,
    {
        self.tenant_id.unwrap_or(default)
    }
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

    #[test]
    fn scim_paths_are_told_from_others() {
        for path in ["/scim/v2", "/scim/v2/Users", "/acme/scim/v2/Groups/1"] {
            assert!(ScimTarget::is_scim(path), "{path}");
        }
        for path in [
            "/",
            "/health",
            "/admin/tenants",
            "/acme/scim/v20",
            "/scim/v2x",
        ] {
            assert!(!ScimTarget::is_scim(path), "{path}");
        }
    }
}
