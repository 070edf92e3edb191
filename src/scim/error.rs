//! The errors of the SCIM protocol as IAM Identity Center reports them.
//!
//! AWS answers every error with the same body (see AWS-SCIM.md, "Error body"):
//! `{"schema": [...Error URN], "detail", "status" (a string), "exceptionRequestId", "timeStamp"}`.
//! The key is `schema`, singular: an AWS quirk that clients parse. This module knows the
//! status and the detail of every error; the request id and the time stamp are only known to the
//! HTTP layer, which renders the final body (`crate::app::render_error`).

use axum::http::StatusCode;

/// The URN AWS puts in the `schema` member of every error body.
pub const ERROR_URN: &str = "urn:ietf:params:scim:api:messages:2.0:Error";

/// The documented detail of AWS's 400 answer.
pub const UNPARSABLE: &str = "Request is unparsable, syntactically incorrect, or violates schema.";

/// Every error the SCIM endpoint answers with. The detail strings live here and nowhere else.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScimError {
    /// 400: unparsable, syntactically wrong, violates the schema, or unsupported.
    #[error("{0}")]
    Validation(String),
    /// 401: the `Authorization` header is missing or invalid, or the tenant id is wrong.
    #[error("unauthorized")]
    Unauthorized,
    /// 403: the token is valid but may not do this.
    #[error("access denied")]
    AccessDenied,
    /// 404: the resource or the endpoint does not exist.
    #[error("{0}")]
    NotFound(String),
    /// 409: a uniqueness rule would be broken.
    #[error("{0}")]
    Conflict(String),
    /// 413: the request body is larger than the server accepts.
    #[error("payload too large")]
    PayloadTooLarge,
    /// 415: the request body is not JSON.
    #[error("unsupported media type")]
    UnsupportedMediaType,
    /// 429: too many requests.
    #[error("throttled")]
    Throttled,
    /// 500: the service failed; the cause is logged, never sent.
    #[error("internal error")]
    Internal,
    /// Any other error status, as an injected fault asks for it.
    #[error("{0}")]
    Other(StatusCode),
}

/// The result type of the protocol layer.
pub type Result<T, E = ScimError> = std::result::Result<T, E>;

impl ScimError {
    /// A 400 with the documented AWS detail.
    pub fn unparsable() -> Self {
        Self::Validation(UNPARSABLE.to_owned())
    }

    /// A 400 with a detail of our own.
    pub fn invalid(detail: impl Into<String>) -> Self {
        Self::Validation(detail.into())
    }

    pub fn user_not_found() -> Self {
        Self::NotFound("User not found.".to_owned())
    }

    pub fn group_not_found() -> Self {
        Self::NotFound("Group not found.".to_owned())
    }

    /// A member id that names no user (PatchGroup, CreateGroup, ListGroups by member).
    pub fn member_not_found() -> Self {
        Self::NotFound("Member user not found.".to_owned())
    }

    pub fn user_exists() -> Self {
        Self::Conflict("User already exists.".to_owned())
    }

    pub fn group_exists() -> Self {
        Self::Conflict("Group already exists.".to_owned())
    }

    /// The error AWS answers with this status (an injected fault's).
    pub fn for_status(status: u16) -> Self {
        match status {
            400 => Self::unparsable(),
            401 => Self::Unauthorized,
            403 => Self::AccessDenied,
            404 => Self::NotFound("The requested resource does not exist.".to_owned()),
            409 => Self::Conflict("The request conflicts with the current state.".to_owned()),
            413 => Self::PayloadTooLarge,
            415 => Self::UnsupportedMediaType,
            429 => Self::Throttled,
            500 => Self::Internal,
            other => Self::Other(
                StatusCode::from_u16(other).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            ),
        }
    }

    /// The HTTP status and the `detail` of the error body.
    pub fn status_and_detail(&self) -> (StatusCode, &str) {
        match self {
            Self::Validation(detail) => (StatusCode::BAD_REQUEST, detail),
            Self::Unauthorized => (
                StatusCode::UNAUTHORIZED,
                "Authorization header is invalid or missing.",
            ),
            Self::AccessDenied => (
                StatusCode::FORBIDDEN,
                "Operation is not permitted based on the supplied authorization.",
            ),
            Self::NotFound(detail) => (StatusCode::NOT_FOUND, detail),
            Self::Conflict(detail) => (StatusCode::CONFLICT, detail),
            Self::PayloadTooLarge => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "Request body is larger than the limit.",
            ),
            Self::UnsupportedMediaType => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "Content-Type must be application/scim+json or application/json.",
            ),
            Self::Throttled => (
                StatusCode::TOO_MANY_REQUESTS,
                "Too many requests exceeded the limits.",
            ),
            Self::Internal => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "Service failed to process the request.",
            ),
            Self::Other(status) => (
                *status,
                status.canonical_reason().unwrap_or("Request failed."),
            ),
        }
    }
}
