//! The one place that renders error bodies: AWS's SCIM body (AWS-SCIM.md, "Error body"), the
//! body of RFC 7644 §3.12 (the `rfc` profile), AWS JSON 1.1's (`__type`, `Message`) and the
//! REST-JSON bodies of sign-in's services (`RestJsonError`: SSO OIDC's `error` and
//! `error_description`, the access portal's `message`).
//!
//! An error is rendered when it becomes a response, wherever that happens, with the request
//! id and the body style of the request's context (`state::RequestContext`). Responses that
//! layers below us answer without a body of ours (a body over the limit, a timeout, a route
//! with no such method) get one in `with_error_body`.

use std::time::Duration;

use axum::body::Body;
use axum::http::header::{CONTENT_LENGTH, CONTENT_TYPE, RETRY_AFTER};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use crate::scim::ScimError;
use crate::scim::error::ERROR_URN;
use crate::state::{ErrorStyle, RequestContext};

/// The media type of SCIM (RFC 7644 §8.1).
pub const SCIM_JSON: &str = "application/scim+json";

/// The content type of every answer of an AWS JSON 1.1 service.
pub const AWS_JSON_11: &str = "application/x-amz-json-1.1";

/// AWS's SCIM error body, members in AWS's order: both `schema` (the older key, which clients
/// parse) and `schemas` (added by AWS in 2022).
#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct ScimBody<'a> {
    schema: [&'static str; 1],
    schemas: [&'static str; 1],
    detail: &'a str,
    status: String,
    exception_request_id: &'a str,
    time_stamp: String,
}

/// The error body of RFC 7644 §3.12.
#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct RfcBody<'a> {
    schemas: [&'static str; 1],
    status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    scim_type: Option<&'static str>,
    detail: &'a str,
}

impl IntoResponse for ScimError {
    fn into_response(self) -> Response {
        let context = RequestContext::current();
        let (status, detail) = self.status_and_detail();
        let body = match context.style {
            ErrorStyle::Scim => serde_json::to_vec(&ScimBody {
                schema: [ERROR_URN],
                schemas: [ERROR_URN],
                detail,
                status: status.as_u16().to_string(),
                exception_request_id: &context.id,
                time_stamp: time_stamp(chrono::Utc::now()),
            }),
            ErrorStyle::Rfc => serde_json::to_vec(&RfcBody {
                schemas: [ERROR_URN],
                status: status.as_u16().to_string(),
                scim_type: self.scim_type().map(|t| t.as_str()),
                detail,
            }),
            ErrorStyle::AwsJson => return AwsJsonError::for_status(status, detail).into_response(),
            ErrorStyle::SsoOidc => {
                return RestJsonError::oidc_for_status(status, detail).into_response();
            }
            ErrorStyle::SsoPortal => {
                return RestJsonError::portal_for_status(status, detail).into_response();
            }
        };
        let content_type = match context.style {
            ErrorStyle::Rfc => SCIM_JSON,
            ErrorStyle::Scim
            | ErrorStyle::AwsJson
            | ErrorStyle::SsoOidc
            | ErrorStyle::SsoPortal => "application/json",
        };
        json_response(status, content_type, body.unwrap_or_default())
    }
}

/// AWS's `timeStamp`: UTC, `YYYY-MM-DD HH:MM:SS.f` with the fraction's trailing zeros dropped
/// but one digit kept (`.16`, `.009`, `.0`), as Java's `Timestamp.toString()` writes it.
fn time_stamp(at: chrono::DateTime<chrono::Utc>) -> String {
    let millis = format!("{:03}", at.timestamp_subsec_millis());
    let fraction = millis.trim_end_matches('0');
    let fraction = if fraction.is_empty() { "0" } else { fraction };
    format!("{}.{fraction}", at.format("%Y-%m-%d %H:%M:%S"))
}

fn json_response(status: StatusCode, content_type: &'static str, body: Vec<u8>) -> Response {
    let mut response = (status, Body::from(body)).into_response();
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

/// An error of an AWS JSON 1.1 service: status, an `x-amzn-ErrorType` header and the body
/// `{"__type": kind, "Message": message, ...members}`, with `RequestId` for the error shapes
/// whose model has it. Every body has a `Message`: the AWS CLI prints it, and prints nothing
/// useful without one.
#[derive(Debug, Clone, PartialEq)]
pub struct AwsJsonError {
    pub kind: &'static str,
    pub status: StatusCode,
    pub message: String,
    pub members: Map<String, Value>,
    /// Whether the error shape carries `RequestId` (the modelled errors of a service do;
    /// the protocol's own errors do not).
    pub with_request_id: bool,
}

impl AwsJsonError {
    pub fn new(kind: &'static str, status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            kind,
            status,
            message: message.into(),
            members: Map::new(),
            with_request_id: false,
        }
    }

    /// The error every AWS JSON service answers with this status, when nothing more precise
    /// is known (a body over the limit, a timeout, a failure).
    pub fn for_status(status: StatusCode, message: &str) -> Self {
        let kind = match status.as_u16() {
            400 | 413 => "ValidationException",
            401 | 403 => "AccessDeniedException",
            404 => "ResourceNotFoundException",
            409 => "ConflictException",
            429 => "ThrottlingException",
            503 => "ServiceUnavailableException",
            _ => "InternalServerException",
        };
        Self::new(kind, status, message)
    }
}

impl IntoResponse for AwsJsonError {
    fn into_response(self) -> Response {
        let mut body = Map::new();
        body.insert("__type".into(), json!(self.kind));
        body.insert("Message".into(), json!(self.message));
        body.extend(self.members);
        if self.with_request_id {
            body.insert("RequestId".into(), json!(&*RequestContext::current().id));
        }
        let mut response = json_response(
            self.status,
            AWS_JSON_11,
            Value::Object(body).to_string().into_bytes(),
        );
        response
            .headers_mut()
            .insert("x-amzn-ErrorType", HeaderValue::from_static(self.kind));
        response
    }
}

/// An error of a REST-JSON service of sign-in: its status, the exception's name in
/// `x-amzn-ErrorType`, and the body of its service: SSO OIDC's
/// `{"error": code, "error_description": message}` when it has a `code`, the access
/// portal's `{"message": message}` otherwise.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestJsonError {
    pub kind: &'static str,
    pub status: StatusCode,
    pub code: Option<&'static str>,
    pub message: String,
}

impl RestJsonError {
    /// SSO OIDC's error that fits a status, when nothing more precise is known.
    pub fn oidc_for_status(status: StatusCode, message: &str) -> Self {
        let (kind, code) = match status.as_u16() {
            401 | 403 => ("InvalidClientException", "invalid_client"),
            429 => ("SlowDownException", "slow_down"),
            s if s >= 500 => ("InternalServerException", "server_error"),
            _ => ("InvalidRequestException", "invalid_request"),
        };
        Self {
            kind,
            status,
            code: Some(code),
            message: message.to_owned(),
        }
    }

    /// The access portal's error that fits a status, when nothing more precise is known.
    pub fn portal_for_status(status: StatusCode, message: &str) -> Self {
        let kind = match status.as_u16() {
            401 | 403 => "UnauthorizedException",
            404 => "ResourceNotFoundException",
            429 => "TooManyRequestsException",
            s if s >= 500 => "InternalServerException",
            _ => "InvalidRequestException",
        };
        Self {
            kind,
            status,
            code: None,
            message: message.to_owned(),
        }
    }
}

impl IntoResponse for RestJsonError {
    fn into_response(self) -> Response {
        let body = match self.code {
            Some(code) => json!({"error": code, "error_description": self.message}),
            None => json!({"message": self.message}),
        };
        let mut response = json_response(
            self.status,
            "application/json",
            body.to_string().into_bytes(),
        );
        response
            .headers_mut()
            .insert("x-amzn-ErrorType", HeaderValue::from_static(self.kind));
        response
    }
}

/// AWS's throttling answer in the request's style, with `Retry-After` in whole seconds (at
/// least 1): 429 on the SCIM endpoint; a `ThrottlingException` with status 400 from the AWS
/// JSON APIs, as every Identity Store error (throttling included) was seen to come back 400
/// and the sso-admin model gives its errors no other status. SSO OIDC's answer to a client
/// that asks too often is `slow_down` (400), the portal's `TooManyRequestsException` (429).
pub fn throttled(retry_after: Duration) -> Response {
    let mut response = match RequestContext::current().style {
        ErrorStyle::AwsJson => AwsJsonError::new(
            "ThrottlingException",
            StatusCode::BAD_REQUEST,
            "Rate exceeded",
        )
        .into_response(),
        ErrorStyle::SsoOidc => RestJsonError {
            status: StatusCode::BAD_REQUEST,
            ..RestJsonError::oidc_for_status(StatusCode::TOO_MANY_REQUESTS, "Rate exceeded")
        }
        .into_response(),
        ErrorStyle::SsoPortal => {
            RestJsonError::portal_for_status(StatusCode::TOO_MANY_REQUESTS, "Rate exceeded")
                .into_response()
        }
        ErrorStyle::Scim | ErrorStyle::Rfc => ScimError::Throttled.into_response(),
    };
    let seconds = retry_after.as_secs_f64().ceil().max(1.0) as u64;
    response
        .headers_mut()
        .insert(RETRY_AFTER, HeaderValue::from(seconds));
    response
}

/// An unknown path.
pub async fn not_found() -> ScimError {
    ScimError::NotFound("The requested endpoint does not exist.".to_owned())
}

/// A known path with a method IAM Identity Center does not support there.
pub async fn unsupported_operation() -> ScimError {
    ScimError::invalid("The operation is not supported.")
}

/// A known path with a method it does not support, in the `rfc` profile (RFC 7644 §3.2).
pub async fn method_not_allowed() -> ScimError {
    ScimError::Other(StatusCode::METHOD_NOT_ALLOWED)
}

/// Gives an error response that has no body of ours one: the layers of tower-http and axum
/// answer some errors bare or in plain text (413 over the body limit, a timeout, 405).
pub fn with_error_body(response: Response) -> Response {
    let status = response.status();
    let bare = response
        .headers()
        .get(CONTENT_TYPE)
        .is_none_or(|ct| ct.as_bytes().starts_with(b"text/plain"));
    if !(status.is_client_error() || status.is_server_error()) || !bare {
        return response;
    }
    let (mut parts, _) = response.into_parts();
    let error = ScimError::for_status(status.as_u16()).into_response();
    parts.headers.remove(CONTENT_LENGTH);
    let (rendered, body) = error.into_parts();
    parts.headers.extend(rendered.headers);
    Response::from_parts(parts, body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_stamps_drop_trailing_zeros_as_aws_does() {
        let at = |ms: i64| time_stamp(chrono::DateTime::from_timestamp_millis(ms).unwrap());
        let second = 1_779_842_272_000;
        assert_eq!(at(second + 160), "2026-05-27 00:37:52.16");
        assert_eq!(at(second + 9), "2026-05-27 00:37:52.009");
        assert_eq!(at(second + 531), "2026-05-27 00:37:52.531");
        assert_eq!(at(second), "2026-05-27 00:37:52.0");
    }
}
