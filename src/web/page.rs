//! HTML responses: a rendered template (`Html`, `html`), a redirect after a form (`see_other`),
//! the error page (`ErrorPage`), and the two middlewares of `web::pages` that give every
//! error an HTML page and every answer the headers of a page.

use askama::Template;
use axum::body::Body;
use axum::extract::Request;
use axum::http::header::{
    CACHE_CONTROL, CONTENT_LENGTH, CONTENT_SECURITY_POLICY, CONTENT_TYPE, LOCATION,
    REFERRER_POLICY, X_CONTENT_TYPE_OPTIONS, X_FRAME_OPTIONS,
};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::state::RequestContext;

const HTML_UTF8: &str = "text/html; charset=utf-8";

/// Scripts and styles come from `/assets` only (no inline code), nothing may frame a page,
/// and forms and links stay plain navigations.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                   connect-src 'self'; frame-ancestors 'none'; base-uri 'none'";

/// A template rendered as a 200 page.
pub struct Html<T>(pub T);

impl<T: Template> IntoResponse for Html<T> {
    fn into_response(self) -> Response {
        html(StatusCode::OK, &self.0)
    }
}

/// A template rendered as a page with this status. A template that fails to render (a bug)
/// is logged and answered with a bare 500 page.
pub fn html<T: Template>(status: StatusCode, page: &T) -> Response {
    match page.render() {
        Ok(body) => html_body(status, body),
        Err(error) => {
            tracing::error!(%error, "a template failed to render");
            html_body(
                StatusCode::INTERNAL_SERVER_ERROR,
                "<!doctype html><title>Internal error</title><p>Internal error.</p>".to_owned(),
            )
        }
    }
}

fn html_body(status: StatusCode, body: String) -> Response {
    let mut response = (status, Body::from(body)).into_response();
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(HTML_UTF8));
    response
}

/// 303 See Other to `location`: the answer to a form, so that reloading the next page does
/// not post the form again. A location that is no valid header value is a bug: 500.
pub fn see_other(location: &str) -> Response {
    match HeaderValue::from_str(location) {
        Ok(value) => {
            let mut response = StatusCode::SEE_OTHER.into_response();
            response.headers_mut().insert(LOCATION, value);
            response
        }
        Err(_) => {
            tracing::error!("a redirect location is not a valid header value");
            ErrorPage::internal().into_response()
        }
    }
}

/// The error page: a status, a title and what the person can do about it, and the request
/// id to quote.
#[derive(Debug, Clone, Template)]
#[template(path = "error.html")]
pub struct ErrorPage {
    pub status: StatusCode,
    pub title: String,
    pub message: String,
    pub request_id: String,
}

impl ErrorPage {
    pub fn new(status: StatusCode, title: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            status,
            title: title.into(),
            message: message.into(),
            request_id: RequestContext::current().id.to_string(),
        }
    }

    /// The page of a status, with a title and a message that fit any request.
    pub fn for_status(status: StatusCode) -> Self {
        let (title, message) = match status.as_u16() {
            400 => ("Bad request", "The request could not be understood."),
            401 | 403 => ("Access denied", "You are not allowed to do this."),
            404 => ("Page not found", "There is no page at this address."),
            405 => ("Not allowed", "This page cannot be used that way."),
            413 => ("Request too large", "The request is larger than allowed."),
            415 => (
                "Unsupported request",
                "The request's content type is not accepted.",
            ),
            429 => ("Too many requests", "Slow down, then try again."),
            503 => ("Unavailable", "The service is busy; try again in a moment."),
            s if s < 500 => ("Request refused", "The request was refused."),
            _ => ("Internal error", "Something went wrong on our side."),
        };
        Self::new(status, title, message)
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "Bad request", message)
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "Access denied", message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "Not found", message)
    }

    /// A failure of ours; its cause is logged where it happened, never shown.
    pub fn internal() -> Self {
        Self::for_status(StatusCode::INTERNAL_SERVER_ERROR)
    }
}

impl IntoResponse for ErrorPage {
    fn into_response(self) -> Response {
        html(self.status, &self)
    }
}

/// Gives every error that leaves a room an HTML page: the errors of extractors, of layers and
/// of the router are rendered in the body styles of the APIs, which a person should not see.
/// Headers such as `Retry-After` are kept.
pub(super) async fn html_errors(req: Request, next: Next) -> Response {
    let response = next.run(req).await;
    let status = response.status();
    let is_html = response
        .headers()
        .get(CONTENT_TYPE)
        .is_some_and(|ct| ct.as_bytes().starts_with(b"text/html"));
    if is_html || !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let (mut parts, _) = response.into_parts();
    parts.headers.remove(CONTENT_LENGTH);
    let (page, body) = ErrorPage::for_status(status).into_response().into_parts();
    parts.headers.extend(page.headers);
    Response::from_parts(parts, body)
}

/// The headers of every page and redirect: no framing, no sniffing, no caching, no
/// `Referer` (a page's URL may hold a user code).
pub(super) async fn security_headers(req: Request, next: Next) -> Response {
    let mut response = next.run(req).await;
    let headers = response.headers_mut();
    headers.insert(CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    headers.insert(X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}
