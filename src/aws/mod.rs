//! The AWS JSON 1.1 APIs, all at `POST /` as AWS's endpoints are: the operation is named by
//! `X-Amz-Target: <target prefix>.<Operation>`, the body is a JSON object, the request is
//! signed with Signature V4 (`sigv4`). This dispatcher authenticates the request (with
//! `--aws-auth verify`, the signature with the secret of the access key it names, whose tenant
//! becomes the `Caller`; with `any`, its form only), reads the body, and hands the operation
//! and the caller to the service the target names: `identitystore` (`AWSIdentityStore`) or
//! `ssoadmin` (`SWBExternalService`). Each service checks the caller against the tenant an
//! operation names. The protocol's own errors (`ProtocolError`) are the ones every AWS JSON
//! service answers; a control character in any string of a body is one of them, whatever the
//! service.
//!
//! A request's tenant is known only from its body (`IdentityStoreId`, `InstanceArn`): once the
//! dispatcher knows it, and if the caller may reach it, it runs the controls the SCIM guard
//! runs (`middleware::admit`: an injected fault, then the throttle) and marks the answer for
//! that tenant's journal, under `/<service>/<Operation>` (`/identitystore/ListUsers`,
//! `/sso-admin/CreatePermissionSet`), the path fault rules match.

mod caller;
pub mod identitystore;
pub mod protocol;
pub mod sigv4;
pub mod ssoadmin;

pub use caller::Caller;

use axum::extract::{Request, State};
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use crate::auth::{self, AwsAuth};
use crate::extract::{BodyError, read_body};
use crate::http_error::{AWS_JSON_11, AwsJsonError};
use crate::middleware::{Controlled, admit, journal_as};
use crate::state::{MAX_BODY_BYTES, SharedState};
use crate::store::Tenant;
use crate::text::{self, Class};

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
    /// 408 `RequestTimeoutException`: the body did not arrive in time.
    RequestTimeout,
    /// 500 `InternalFailure`: the server failed (the cause is logged, never sent).
    Internal,
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
            ProtocolError::ControlCharacter(member) => (
                "ValidationException",
                StatusCode::BAD_REQUEST,
                format!(
                    "1 validation error detected: Value at '{member}' failed to satisfy \
                     constraint: Member must not contain control characters"
                ),
            ),
            ProtocolError::RequestTimeout => (
                "RequestTimeoutException",
                StatusCode::REQUEST_TIMEOUT,
                "Your socket connection to the server was not read from or written to within \
                 the timeout period."
                    .to_owned(),
            ),
            ProtocolError::Internal => (
                "InternalFailure",
                StatusCode::INTERNAL_SERVER_ERROR,
                "The request processing has failed because of an unknown error, exception or failure."
                    .to_owned(),
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
    /// The service an `X-Amz-Target` prefix names.
    fn of(target_prefix: &str) -> Option<Self> {
        match target_prefix {
            identitystore::TARGET_PREFIX => Some(Self::IdentityStore),
            ssoadmin::TARGET_PREFIX => Some(Self::SsoAdmin),
            _ => None,
        }
    }

    /// The name requests to it are signed for.
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

    async fn call(self, ctx: &protocol::Ctx<'_>, body: Value) -> Response {
        match self {
            Self::IdentityStore => answer_or_error(identitystore::call(ctx, body).await),
            Self::SsoAdmin => answer_or_error(ssoadmin::call(ctx, body).await),
        }
    }
}

/// A service's answer, or its error.
fn answer_or_error<E: IntoResponse>(answered: Result<Value, E>) -> Response {
    match answered {
        Ok(body) => answer(body),
        Err(e) => e.into_response(),
    }
}

/// Authenticates, then reads the body, then runs the operation. What costs nothing comes
/// first: an unsigned request, an unknown key or a signature out of its scope or its time is
/// answered before a byte of its body is read; the signature itself, which covers the body,
/// is checked once the body is in.
async fn dispatch(state: &SharedState, req: Request) -> Result<Response, ProtocolError> {
    let (parts, body) = req.into_parts();
    let presented = sigv4::Presented::parse(&parts.headers)?;
    let now_ms = state.clock.now_ms();
    let key = match state.aws_auth {
        AwsAuth::Any => None,
        AwsAuth::Verify => Some(
            auth::access_key_owner(
                state.store.as_ref(),
                &state.aws_keys,
                &state.default_tenant,
                presented.access_key_id(),
                now_ms,
            )
            .await
            .map_err(|e| {
                tracing::error!(error = ?e, "access key lookup failed");
                ProtocolError::Internal
            })?
            .ok_or(ProtocolError::UnrecognizedClient)?,
        ),
    };
    let (service, operation) = parts
        .headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .and_then(|t| t.split_once('.'))
        .and_then(|(prefix, operation)| Some((Service::of(prefix)?, operation)))
        .ok_or(ProtocolError::UnknownOperation)?;
    if key.is_some() {
        presented.check_scope(service.signing_name(), &state.aws_region, now_ms)?;
    }
    let bytes = read_body(body).await.map_err(|e| match e {
        BodyError::TooLarge => ProtocolError::TooLarge,
        BodyError::TimedOut => ProtocolError::RequestTimeout,
        BodyError::Failed => ProtocolError::Serialization("The body could not be read.".into()),
    })?;
    let caller = match key {
        Some(key) => {
            presented.verify(
                sigv4::SignedRequest {
                    method: parts.method.as_str(),
                    path: parts.uri.path(),
                    query: parts.uri.query().unwrap_or(""),
                    headers: &parts.headers,
                    body: &bytes,
                },
                &key.secret,
            )?;
            Caller::Tenant(key.tenant)
        }
        None => Caller::Anyone,
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
    if let Some(member) = text::first_outside(&body, Class::NoControls, protocol::MEMBER_PATHS) {
        return Err(ProtocolError::ControlCharacter(member));
    }
    // The controls and the journal of a tenant are its own: a caller that may not reach it
    // neither spends its throttle nor writes in its journal.
    let ctx = protocol::Ctx {
        state,
        caller: &caller,
        operation,
    };
    let tenant = service
        .tenant_of(state, &body)
        .await
        .filter(|t| caller.may_reach(&t.tenant_id));
    let Some(tenant) = tenant else {
        return Ok(service.call(&ctx, body).await);
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
        None => service.call(&ctx, body).await,
    };
    journal_as(&mut response, tenant.tenant_id, path);
    Ok(response)
}
