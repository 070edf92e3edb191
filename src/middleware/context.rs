//! What every request passes. Before routing (`Outermost`): its path normalised, a fresh
//! `x-amzn-RequestId` on the request and the response, and no body in an answer to HEAD.
//! After routing, the standard stack: our request context (the task-locals that error
//! rendering and the log lines read: request id, method, path, matched route), closed by one
//! log line with status and latency; then, from tower-http, a caught panic answered 500 with
//! AWS's body, the body limit, and a timeout.

use std::any::Any;
use std::convert::Infallible;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::{MatchedPath, Request};
use axum::http::header::Entry;
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE};
use axum::http::{HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tower::{Layer, Service, ServiceBuilder};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::map_request_body::MapRequestBodyLayer;
use tower_http::sensitive_headers::SetSensitiveRequestHeadersLayer;
use tower_http::timeout::TimeoutLayer;

use super::ScimTarget;
use crate::http_error::{SCIM_JSON, with_error_body};
use crate::scim::{Profile, ScimError};
use crate::state::{
    AppState, ErrorStyle, MAX_BODY_BYTES, REQUEST_ID_HEADER, RequestContext, SharedState,
};
use crate::telemetry::RequestLine;

/// Wraps every route of `app` in the standard stack (outermost first, as listed in the
/// module's doc). Added with `Router::layer`, it runs after routing, so that the request line
/// names the matched route.
pub(super) fn standard(app: Router<SharedState>, state: &SharedState) -> Router<SharedState> {
    app.layer(
        ServiceBuilder::new()
            .layer(SetSensitiveRequestHeadersLayer::new([AUTHORIZATION]))
            .layer(RequestContextLayer(state.clone()))
            .layer(CatchPanicLayer::custom(answer_panic))
            .layer(RequestBodyLimitLayer::new(MAX_BODY_BYTES))
            .layer(TimeoutLayer::with_status_code(
                StatusCode::SERVICE_UNAVAILABLE,
                state.request_timeout,
            ))
            .layer(MapRequestBodyLayer::new(Body::new)),
    )
}

/// The request line, the same in both log formats; a 5xx at error level.
fn log_response(response: &Response, latency: Duration) {
    let status = response.status().as_u16();
    let latency_ms = latency.as_secs_f64() * 1000.0;
    if response.status().is_server_error() {
        tracing::error!(status, latency_ms, "request failed");
    } else {
        tracing::info!(status, latency_ms, "request");
    }
}

/// A panic in a handler: logged with its cause in the request's span, answered 500 with the
/// request's error body.
fn answer_panic(panic: Box<dyn Any + Send + 'static>) -> Response {
    let cause = panic
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| panic.downcast_ref::<&str>().copied())
        .unwrap_or("a panic without a message");
    tracing::error!(cause, "handler panicked");
    ScimError::Internal.into_response()
}

/// Sets the request context for everything inside (the error style, and the request the log
/// lines name), gives a body to the errors that the layers inside answer bare, and logs the
/// request line. A layer of its own rather than `from_fn`, which clones the service inside and
/// boxes it again for every request.
#[derive(Clone)]
struct RequestContextLayer(SharedState);

impl<S> Layer<S> for RequestContextLayer {
    type Service = WithRequestContext<S>;

    fn layer(&self, inner: S) -> WithRequestContext<S> {
        WithRequestContext {
            inner,
            state: self.0.clone(),
        }
    }
}

#[derive(Clone)]
struct WithRequestContext<S> {
    inner: S,
    state: SharedState,
}

impl<S> Service<Request> for WithRequestContext<S>
where
    S: Service<Request, Error = Infallible>,
    S::Response: IntoResponse,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request) -> Self::Future {
        let started = Instant::now();
        let id: Arc<str> = req
            .headers()
            .get(REQUEST_ID_HEADER)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .into();
        let path = req.uri().path();
        let style = if path == "/" {
            ErrorStyle::AwsJson
        } else if self.state.profile == Profile::Rfc && ScimTarget::is_scim(path) {
            ErrorStyle::Rfc
        } else {
            ErrorStyle::Scim
        };
        let line = RequestLine {
            id: id.clone(),
            method: req.method().clone(),
            path: path.into(),
            route: req
                .extensions()
                .get::<MatchedPath>()
                .map(|route| route.as_str().into()),
        };
        let context = RequestContext { id, style };
        // What the layers inside do at once runs in the context too.
        let inner = &mut self.inner;
        let serving = line
            .clone()
            .sync_scope(|| context.clone().sync_scope(|| inner.call(req)));
        let served = context.scope(async move {
            let Ok(response) = serving.await;
            let response = with_error_body(response.into_response());
            log_response(&response, started.elapsed());
            Ok(response)
        });
        Box::pin(line.scope(served))
    }
}

/// Renders the errors of a room's requests in the body style of its API (the REST-JSON
/// services, whose paths say nothing of their style), those answered bare inside included.
pub(super) async fn restyle(style: ErrorStyle, req: Request, next: Next) -> Response {
    let context = RequestContext {
        id: RequestContext::current().id,
        style,
    };
    context
        .scope(async move { with_error_body(next.run(req).await) })
        .await
}

/// Gives the JSON of a SCIM response the SCIM media type in the `rfc` profile (RFC 7644
/// §3.1).
pub(super) fn scim_media_type(state: &AppState, mut response: Response) -> Response {
    if state.profile == Profile::Rfc {
        let headers = response.headers_mut();
        if headers.get(CONTENT_TYPE) == Some(&HeaderValue::from_static("application/json")) {
            headers.insert(CONTENT_TYPE, HeaderValue::from_static(SCIM_JSON));
        }
    }
    response
}

/// Before routing: normalises the path (`normalize_path`) and gives the request a fresh
/// request id (AWS makes its own for every request, whatever the client sent), which its
/// answer carries too unless a room set its own; an answer to HEAD has headers only, also when
/// it is an error. A service of its own around the router rather than `from_fn`, which boxes
/// the router again for every request.
#[derive(Clone)]
pub(super) struct Outermost<S>(pub S);

impl<S> Service<Request> for Outermost<S>
where
    S: Service<Request, Response = Response, Error = Infallible>,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.0.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request) -> Self::Future {
        super::normalize_path(&mut req);
        let mut text = [0; uuid::fmt::Hyphenated::LENGTH];
        let id = crate::text::random_uuid().hyphenated();
        let id = HeaderValue::from_str(id.encode_lower(&mut text))
            .unwrap_or_else(|_| HeaderValue::from_static(""));
        req.headers_mut().insert(REQUEST_ID_HEADER, id.clone());
        let head = req.method() == Method::HEAD;
        let serving = self.0.call(req);
        Box::pin(async move {
            let Ok(mut response) = serving.await;
            if let Entry::Vacant(vacant) = response.headers_mut().entry(REQUEST_ID_HEADER) {
                vacant.insert(id);
            }
            if head {
                let (mut parts, _) = response.into_parts();
                parts.headers.remove(axum::http::header::CONTENT_LENGTH);
                return Ok(Response::from_parts(parts, Body::empty()));
            }
            Ok(response)
        })
    }
}
