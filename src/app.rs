//! The application: shared state, the router with its middleware, and `serve`.
//!
//! Every response carries `x-amzn-RequestId`; every error body is rendered here, because only
//! this layer knows the request id that AWS repeats as `exceptionRequestId`. In the `rfc`
//! profile, SCIM responses are marked with the profile, and their errors get the body of
//! RFC 7644 §3.12 instead of AWS's, and their JSON the `application/scim+json` type (§3.1).

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::body::Body;
use axum::extract::{MatchedPath, Request, State};
use axum::http::header::{CONTENT_TYPE, HeaderValue};
use axum::http::{Method, Uri};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use tokio::net::TcpListener;
use tracing::{Instrument, Span, field};

use crate::auth::{self, TokenHash};
use crate::clock::Clock;
use crate::controls::{self, Controls};
use crate::routes;
use crate::scim::error::ERROR_URN;
use crate::scim::{Profile, ScimError};
use crate::store::{Store, Tenant};

/// The name of the header that carries the request id, as AWS spells it.
pub const REQUEST_ID_HEADER: &str = "x-amzn-RequestId";

/// What every request handler can reach.
pub struct AppState {
    pub store: Arc<dyn Store>,
    /// The tenant served at `/scim/v2/`.
    pub default_tenant: Tenant,
    /// A token given on the command line; valid for the default tenant.
    pub static_token: Option<TokenHash>,
    /// The credential of the admin API; without one, `/admin` does not exist.
    pub admin_token: Option<TokenHash>,
    /// AWS access keys (id → secret) whose Signature V4 the Identity Store API verifies;
    /// `None` accepts any well-formed signature, as local AWS emulators do.
    pub aws_credentials: Option<Arc<HashMap<String, String>>>,
    pub clock: Arc<dyn Clock>,
    /// Journal, throttle, faults and seeds: the controls of a connector's test suite.
    pub controls: Controls,
    /// AWS's rules, or the full RFC 7644 protocol (`--profile`).
    pub profile: Profile,
}

impl AppState {
    /// A state with no command-line token, no admin API, unverified AWS signatures, the
    /// controls at their defaults and the `aws` profile; set the rest with struct update
    /// syntax.
    pub fn new(store: Arc<dyn Store>, default_tenant: Tenant, clock: Arc<dyn Clock>) -> Self {
        Self {
            store,
            default_tenant,
            static_token: None,
            admin_token: None,
            aws_credentials: None,
            clock,
            controls: Controls::default(),
            profile: Profile::Aws,
        }
    }
}

pub type SharedState = Arc<AppState>;

/// The id of the request being served, set by the outermost middleware.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

/// The error a handler returned, kept on the response until the request id is added.
#[derive(Debug, Clone)]
struct PendingError(ScimError);

impl IntoResponse for ScimError {
    fn into_response(self) -> Response {
        let (status, _) = self.status_and_detail();
        let mut response = status.into_response();
        response.extensions_mut().insert(PendingError(self));
        response
    }
}

/// The whole HTTP application.
pub fn build_router(state: SharedState) -> Router {
    // Unsupported methods on SCIM paths are authenticated too, as AWS does.
    let scim = routes::scim_routes("/scim/v2", state.profile)
        .merge(routes::scim_routes("/{tenant}/scim/v2", state.profile))
        .route_layer(middleware::from_fn(record_route))
        .method_not_allowed_fallback(routes::unsupported_operation)
        .layer(middleware::from_fn_with_state(
            state.clone(),
            controls::guard,
        ))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            auth::authenticate,
        ))
        .layer(middleware::from_fn_with_state(state.clone(), mark_profile))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            controls::journal::layer,
        ));
    let inner = Router::new()
        .route("/", post(crate::identitystore::handle))
        .route(
            "/health",
            get(routes::health::health).fallback(routes::unsupported_operation),
        )
        .route_layer(middleware::from_fn(record_route))
        .merge(scim)
        .merge(routes::admin::admin_routes(state.clone()))
        .fallback(routes::not_found)
        .with_state(state);
    // Layers on a router with only a fallback run before the inner router matches, so the
    // path is normalised before routing.
    Router::new()
        .fallback_service(inner)
        .layer(middleware::map_request(normalize_path))
        .layer(middleware::from_fn(request_context))
}

/// Serves until `shutdown` completes, then finishes the requests in flight.
pub async fn serve(
    listener: TcpListener,
    state: SharedState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, build_router(state))
        .with_graceful_shutdown(shutdown)
        .await
}

/// Collapses repeated slashes and drops a trailing one: IdPs configured with a base URL ending
/// in `/` send `.../scim/v2//Users`, and `.../Users/` must resolve as `.../Users`.
async fn normalize_path(mut req: Request) -> Request {
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
    req
}

/// Marks a SCIM response with the `rfc` profile, inside the journal so that it journals the
/// body it sends, and gives its JSON the SCIM media type.
async fn mark_profile(State(state): State<SharedState>, req: Request, next: Next) -> Response {
    let mut response = next.run(req).await;
    if state.profile == Profile::Rfc {
        response.extensions_mut().insert(Profile::Rfc);
        let headers = response.headers_mut();
        if headers.get(CONTENT_TYPE) == Some(&HeaderValue::from_static("application/json")) {
            headers.insert(CONTENT_TYPE, HeaderValue::from_static(SCIM_JSON));
        }
    }
    response
}

/// The media type of SCIM (RFC 7644 §8.1).
const SCIM_JSON: &str = "application/scim+json";

/// Records the matched route in the request span.
async fn record_route(req: Request, next: Next) -> Response {
    if let Some(path) = req.extensions().get::<MatchedPath>() {
        Span::current().record("route", path.as_str());
    }
    next.run(req).await
}

/// The outermost layer: request id, span, log line, AWS error body.
async fn request_context(mut req: Request, next: Next) -> Response {
    let request_id = uuid::Uuid::new_v4().to_string();
    let method = req.method().clone();
    let span = tracing::info_span!(
        "request",
        request_id = %request_id,
        method = %method,
        path = %req.uri().path(),
        route = field::Empty,
    );
    req.extensions_mut().insert(RequestId(request_id.clone()));
    let started = Instant::now();
    let mut response = next.run(req).instrument(span.clone()).await;
    render_pending_error(&mut response, &request_id, &method);
    let status = response.status();
    let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
    span.in_scope(|| {
        if status.is_server_error() {
            tracing::error!(status = status.as_u16(), latency_ms, "request failed");
        } else {
            tracing::info!(status = status.as_u16(), latency_ms, "request");
        }
    });
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        response.headers_mut().insert(REQUEST_ID_HEADER, value);
    }
    response
}

/// AWS's error body (AWS-SCIM.md, "Error body"), members in AWS's order.
#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct ErrorBody<'a> {
    schema: [&'static str; 1],
    detail: &'a str,
    status: String,
    exception_request_id: &'a str,
    time_stamp: String,
}

/// The error body of RFC 7644 §3.12 (the `rfc` profile).
#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct RfcErrorBody<'a> {
    schemas: [&'static str; 1],
    status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    scim_type: Option<&'static str>,
    detail: &'a str,
}

/// Gives an error response its body, once: AWS's, or the RFC's on a response marked with the
/// `rfc` profile. Layers inside this one (the request journal) call it to see the final body;
/// the outermost layer calls it for every response. Headers set on the error response
/// (`Retry-After`) are kept.
pub fn render_pending_error(response: &mut Response, request_id: &str, method: &Method) {
    let Some(PendingError(error)) = response.extensions_mut().remove::<PendingError>() else {
        return;
    };
    let (status, detail) = error.status_and_detail();
    let (body, content_type) = match response.extensions().get::<Profile>() {
        Some(Profile::Rfc) => (
            serde_json::to_vec(&RfcErrorBody {
                schemas: [ERROR_URN],
                status: status.as_u16().to_string(),
                scim_type: error.scim_type().map(|t| t.as_str()),
                detail,
            }),
            SCIM_JSON,
        ),
        Some(Profile::Aws) | None => (
            serde_json::to_vec(&ErrorBody {
                schema: [ERROR_URN],
                detail,
                status: status.as_u16().to_string(),
                exception_request_id: request_id,
                time_stamp: chrono::Utc::now()
                    .format("%Y-%m-%d %H:%M:%S%.3f")
                    .to_string(),
            }),
            "application/json",
        ),
    };
    *response.body_mut() = if method == Method::HEAD {
        Body::empty()
    } else {
        Body::from(body.unwrap_or_default())
    };
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.remove(axum::http::header::CONTENT_LENGTH);
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
}
