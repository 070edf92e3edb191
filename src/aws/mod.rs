//! The AWS JSON 1.1 APIs, all at `POST /` as AWS's endpoints are: the operation is named by
//! `X-Amz-Target: <target prefix>.<Operation>`, the body is a JSON object, the request is
//! signed with Signature V4 (`sigv4`). This dispatcher reads the body, checks the signature
//! for the service the target names, and hands the operation to that service's module:
//! `identitystore` (`AWSIdentityStore`). The protocol's own errors (`ProtocolError`) are the
//! ones every AWS JSON service answers; a control character in any string of a body is one of
//! them, whatever the service.

pub mod identitystore;
pub mod sigv4;

use axum::extract::{Request, State};
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use crate::http_error::{AWS_JSON_11, AwsJsonError};
use crate::state::{MAX_BODY_BYTES, SharedState};
use crate::text::{self, Class, PathStyle};

/// `IdentityStoreId` → `identityStoreId`, as AWS names members in its messages.
pub fn lower_camel(member: &str) -> String {
    let mut chars = member.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// How AWS names a member of a request in its messages: `filters.member.attributeValue`.
pub const MEMBER_PATHS: PathStyle = PathStyle {
    member: lower_camel,
    item: Some("member"),
};

/// An error of the AWS JSON protocol itself, before or around a service's operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProtocolError {
    /// 400 `SerializationException`: the body is not JSON, or a member has the wrong type.
    Serialization(String),
    /// 400 `UnknownOperationException`: no or an unknown `X-Amz-Target`.
    UnknownOperation,
    /// 403 `MissingAuthenticationTokenException`: no `Authorization` header.
    MissingAuthenticationToken,
    /// 400 `IncompleteSignatureException`: an `Authorization` header that is not SigV4.
    IncompleteSignature(String),
    /// 403 `UnrecognizedClientException`: an access key id that is not known.
    UnrecognizedClient,
    /// 403 `InvalidSignatureException`: a wrong signature, or one outside the time window.
    InvalidSignature(String),
    /// 413: a body over `MAX_BODY_BYTES`.
    TooLarge,
    /// 400 `ValidationException`: a string of the body holds a control character; the member
    /// that holds it.
    ControlCharacter(String),
}

impl From<ProtocolError> for AwsJsonError {
    fn from(e: ProtocolError) -> Self {
        let (kind, status, message) = match e {
            ProtocolError::Serialization(m) => {
                ("SerializationException", StatusCode::BAD_REQUEST, m)
            }
            ProtocolError::UnknownOperation => (
                "UnknownOperationException",
                StatusCode::BAD_REQUEST,
                String::new(),
            ),
            ProtocolError::MissingAuthenticationToken => (
                "MissingAuthenticationTokenException",
                StatusCode::FORBIDDEN,
                "Missing Authentication Token".to_owned(),
            ),
            ProtocolError::IncompleteSignature(m) => {
                ("IncompleteSignatureException", StatusCode::BAD_REQUEST, m)
            }
            ProtocolError::UnrecognizedClient => (
                "UnrecognizedClientException",
                StatusCode::FORBIDDEN,
                "The security token included in the request is invalid.".to_owned(),
            ),
            ProtocolError::InvalidSignature(m) => {
                ("InvalidSignatureException", StatusCode::FORBIDDEN, m)
            }
            ProtocolError::TooLarge => (
                "ValidationException",
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("The request body is larger than {MAX_BODY_BYTES} bytes."),
            ),
            ProtocolError::ControlCharacter(member) => (
                "ValidationException",
                StatusCode::BAD_REQUEST,
                format!(
                    "1 validation error detected: Value at '{member}' failed to satisfy \
                     constraint: Member must not contain control characters"
                ),
            ),
        };
        AwsJsonError::new(kind, status, message)
    }
}

impl IntoResponse for ProtocolError {
    fn into_response(self) -> Response {
        AwsJsonError::from(self).into_response()
    }
}

/// Serves one AWS JSON request.
pub async fn handle(State(state): State<SharedState>, req: Request) -> Response {
    match dispatch(&state, req).await {
        Ok(response) => response,
        Err(e) => e.into_response(),
    }
}

/// A service's successful answer: 200 with the AWS JSON content type.
fn answer(body: Value) -> Response {
    let mut response = (StatusCode::OK, body.to_string()).into_response();
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(AWS_JSON_11));
    response
}

async fn dispatch(state: &SharedState, req: Request) -> Result<Response, ProtocolError> {
    let (parts, body) = req.into_parts();
    let bytes = axum::body::to_bytes(body, MAX_BODY_BYTES)
        .await
        .map_err(|_| ProtocolError::TooLarge)?;
    let target = parts
        .headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .and_then(|t| t.split_once('.'));
    let signing_name = match target {
        Some((identitystore::TARGET_PREFIX, _)) => identitystore::SIGNING_NAME,
        _ => "",
    };
    sigv4::authenticate(
        sigv4::SignedRequest {
            method: parts.method.as_str(),
            path: parts.uri.path(),
            query: parts.uri.query().unwrap_or(""),
            headers: &parts.headers,
            body: &bytes,
        },
        signing_name,
        state.aws_credentials.as_deref(),
        state.clock.now_ms(),
    )?;
    let (prefix, operation) = target.ok_or(ProtocolError::UnknownOperation)?;
    let body: Value = if bytes.iter().all(u8::is_ascii_whitespace) {
        Value::Object(Default::default())
    } else {
        serde_json::from_slice(&bytes)
            .map_err(|e| ProtocolError::Serialization(format!("The body is not valid JSON: {e}")))?
    };
    if !body.is_object() {
        return Err(ProtocolError::Serialization(
            "The body must be a JSON object.".into(),
        ));
    }
    if let Some(member) = text::first_outside(&body, Class::NoControls, MEMBER_PATHS) {
        return Err(ProtocolError::ControlCharacter(member));
    }
    Ok(match prefix {
        identitystore::TARGET_PREFIX => match identitystore::call(state, operation, body).await {
            Ok(body) => answer(body),
            Err(e) => e.into_response(),
        },
        _ => return Err(ProtocolError::UnknownOperation),
    })
}
