//! The AWS JSON 1.1 APIs, all at `POST /` as AWS's endpoints are: the operation is named by
//! `X-Amz-Target: <target prefix>.<Operation>`, the body is a JSON object, the request is
//! signed with Signature V4 (`sigv4`). This dispatcher reads the body, checks the signature
//! for the service the target names, and hands the operation to that service's module:
//! `identitystore` (`AWSIdentityStore`) or `ssoadmin` (`SWBExternalService`). The protocol's
//! own errors (`ProtocolError`) are the ones every AWS JSON service answers.
//!
//! A request's tenant is known only from its body (`IdentityStoreId`, `InstanceArn`): once the
//! dispatcher knows it, it runs the controls the SCIM guard runs (`middleware::admit`: an
//! injected fault, then the throttle) and marks the answer for that tenant's journal, under
//! `/<service>/<Operation>` (`/identitystore/ListUsers`, `/sso-admin/CreatePermissionSet`), the
//! path fault rules match.

pub mod identitystore;
pub mod protocol;
pub mod sigv4;
pub mod ssoadmin;

use axum::extract::{Request, State};
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use crate::http_error::{AWS_JSON_11, AwsJsonError};
use crate::middleware::{Controlled, admit, journal_as};
use crate::state::{MAX_BODY_BYTES, SharedState};
use crate::store::Tenant;

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
                "X-Amz-Target names no operation of a service this server has.".to_owned(),
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

/// The AWS JSON services of this server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Service {
    IdentityStore,
    SsoAdmin,
}

impl Service {
    fn of(target_prefix: &str) -> Option<Self> {
        match target_prefix {
            identitystore::TARGET_PREFIX => Some(Self::IdentityStore),
            ssoadmin::TARGET_PREFIX => Some(Self::SsoAdmin),
            _ => None,
        }
    }

    fn signing_name(self) -> &'static str {
        match self {
            Self::IdentityStore => identitystore::SIGNING_NAME,
            Self::SsoAdmin => ssoadmin::SIGNING_NAME,
        }
    }

    /// The API's name in the journal, in fault rules and in the throttle's buckets.
    fn name(self) -> &'static str {
        match self {
            Self::IdentityStore => identitystore::SERVICE,
            Self::SsoAdmin => ssoadmin::SERVICE,
        }
    }

    async fn tenant_of(self, state: &SharedState, body: &Value) -> Option<Tenant> {
        match self {
            Self::IdentityStore => identitystore::tenant_of(state, body).await,
            Self::SsoAdmin => ssoadmin::tenant_of(state, body).await,
        }
    }

    async fn call(self, state: &SharedState, operation: &str, body: Value) -> Response {
        match self {
            Self::IdentityStore => match identitystore::call(state, operation, body).await {
                Ok(body) => answer(body),
                Err(e) => e.into_response(),
            },
            Self::SsoAdmin => match ssoadmin::call(state, operation, body).await {
                Ok(body) => answer(body),
                Err(e) => e.into_response(),
            },
        }
    }
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
    let service = target.and_then(|(prefix, _)| Service::of(prefix));
    sigv4::authenticate(
        sigv4::SignedRequest {
            method: parts.method.as_str(),
            path: parts.uri.path(),
            query: parts.uri.query().unwrap_or(""),
            headers: &parts.headers,
            body: &bytes,
        },
        service.map_or("", Service::signing_name),
        state.aws_credentials.as_deref(),
        state.clock.now_ms(),
    )?;
    let (service, operation) = match (service, target) {
        (Some(service), Some((_, operation))) => (service, operation),
        _ => return Err(ProtocolError::UnknownOperation),
    };
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
    let Some(tenant) = service.tenant_of(state, &body).await else {
        return Ok(service.call(state, operation, body).await);
    };
    let path = format!("/{}/{operation}", service.name());
    let controlled = Controlled {
        tenant: &tenant.tenant_id,
        api: service.name(),
        method: &parts.method,
        path: &path,
    };
    let mut response = match admit(state, controlled).await {
        Some(refused) => refused,
        None => service.call(state, operation, body).await,
    };
    journal_as(&mut response, tenant.tenant_id, path);
    Ok(response)
}
