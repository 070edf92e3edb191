//! Extractors shared by the rooms, whose rejections are our errors, never axum's plain text:
//! a JSON body (`ScimJson`), path parameters (`Path`), a query string (`Query`), and the URL
//! the client reached this server at (`BaseUrl`); and `read_body`, with which every room reads
//! a body.

use axum::body::{Body, Bytes};
use axum::extract::{FromRequest, FromRequestParts, RawPathParams, Request};
use axum::http::header::{CONTENT_TYPE, HOST};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderName, StatusCode};
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::scim::{ScimError, coerce};
use http_body_util::LengthLimitError;

use crate::state::{BodyTimedOut, MAX_BODY_BYTES};

/// A JSON request body: `application/json` or `application/scim+json` (a missing
/// Content-Type is read as JSON), at most `MAX_BODY_BYTES`, well-formed.
pub struct ScimJson(pub Value);

impl<S: Send + Sync> FromRequest<S> for ScimJson {
    type Rejection = ScimError;

    async fn from_request(req: Request, _state: &S) -> Result<Self, ScimError> {
        if let Some(ct) = req.headers().get(CONTENT_TYPE) {
            let ct = ct.to_str().map_err(|_| ScimError::UnsupportedMediaType)?;
            let essence = ct.split(';').next().unwrap_or("").trim();
            if !essence.eq_ignore_ascii_case("application/json")
                && !essence.eq_ignore_ascii_case("application/scim+json")
            {
                return Err(ScimError::UnsupportedMediaType);
            }
        }
        let bytes = read_body(req.into_body()).await.map_err(|e| match e {
            BodyError::TooLarge => ScimError::PayloadTooLarge,
            BodyError::TimedOut => ScimError::Other(StatusCode::REQUEST_TIMEOUT),
            BodyError::Failed => ScimError::unparsable(),
        })?;
        serde_json::from_slice(&bytes)
            .map(ScimJson)
            .map_err(|_| ScimError::invalid_syntax(crate::scim::detail::INVALID_JSON))
    }
}

/// Why a request body could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyError {
    /// It is longer than `MAX_BODY_BYTES`.
    TooLarge,
    /// It did not arrive within `Limits::body_read_timeout`.
    TimedOut,
    /// The connection failed while it was read.
    Failed,
}

/// Reads a request body whole, `MAX_BODY_BYTES` at most: what every room that reads a body
/// reads it with, once the request is authenticated.
pub async fn read_body(body: Body) -> Result<Bytes, BodyError> {
    axum::body::to_bytes(body, MAX_BODY_BYTES)
        .await
        .map_err(|e| {
            let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(&e);
            while let Some(c) = cause {
                if c.is::<BodyTimedOut>() {
                    return BodyError::TimedOut;
                }
                if c.is::<LengthLimitError>() {
                    return BodyError::TooLarge;
                }
                cause = c.source();
            }
            BodyError::Failed
        })
}

/// Path parameters, of the Identity Store's characters once percent-decoded; one that does not
/// parse is a 400 that says which.
pub struct Path<T>(pub T);

impl<T, S> FromRequestParts<S> for Path<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ScimError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ScimError> {
        let invalid = |text: String| ScimError::invalid(format!("Invalid path: {text}"));
        let raw = RawPathParams::from_request_parts(parts, state)
            .await
            .map_err(|e| invalid(e.body_text()))?;
        for (name, value) in &raw {
            coerce::text(name, value)?;
        }
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Path(value)| Path(value))
            .map_err(|e| invalid(e.body_text()))
    }
}

/// A query string, its names and values of the Identity Store's characters; one that does not
/// parse is a 400 that says why.
pub struct Query<T>(pub T);

impl<T, S> FromRequestParts<S> for Query<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ScimError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ScimError> {
        let query = parts.uri.query().unwrap_or("");
        for (name, value) in form_urlencoded::parse(query.as_bytes()) {
            coerce::text(&name, &value)?;
        }
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Query(value)| Query(value))
            .map_err(|e| ScimError::invalid(format!("Invalid query: {}", e.body_text())))
    }
}

/// `scheme://host[:port]` as the client reached this server: the `Host` header, and the
/// scheme a proxy in front reports in `X-Forwarded-Proto` (`http` without one). URLs that
/// this server hands out (SCIM locations, start URLs, verification URIs) are built on it.
pub struct BaseUrl(pub String);

impl BaseUrl {
    pub fn of(headers: &HeaderMap) -> Self {
        const FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");
        let header = |name| headers.get(name).and_then(|h| h.to_str().ok());
        let host = header(&HOST).unwrap_or("localhost");
        let proto = header(&FORWARDED_PROTO).unwrap_or("http");
        // Room for the path most callers append (`/{tenant}/scim/v2`).
        let mut url = String::with_capacity(proto.len() + 3 + host.len() + 48);
        url.push_str(proto);
        url.push_str("://");
        url.push_str(host);
        Self(url)
    }
}

impl<S: Send + Sync> FromRequestParts<S> for BaseUrl {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(Self::of(&parts.headers))
    }
}
