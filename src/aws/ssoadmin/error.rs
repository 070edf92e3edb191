//! The errors of the sso-admin API: the error shapes of `botocore/data/sso-admin/2020-07-20/
//! service-2.json`, rendered as AWS JSON 1.1 by `http_error::AwsJsonError` (`{"__type",
//! "Message"}`). The model gives them no HTTP status, so they are AWS JSON's defaults: 400, and
//! 500 for `InternalServerException` (an `AccessDeniedException` of sso-admin was seen with
//! status 400: turbot/steampipe-plugin-aws#1879). Every body carries a `Message`; the shapes
//! have no `RequestId` member.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use crate::aws::ProtocolError;
use crate::aws::protocol::ShapeError;
use crate::http_error::AwsJsonError;
use crate::sso::Invalid;
use crate::store::StoreError;

pub type Result<T, E = ApiError> = std::result::Result<T, E>;

/// Every error the sso-admin API answers with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApiError {
    /// `ValidationException`: a member is missing, out of its limits, or breaks a rule.
    Validation(String),
    /// `ResourceNotFoundException`.
    NotFound(String),
    /// `ConflictException`: the resource's state forbids the change.
    Conflict(String),
    /// `ServiceQuotaExceededException`.
    QuotaExceeded(String),
    /// `AccessDeniedException`: an instance this caller cannot see (or that does not exist).
    AccessDenied(String),
    /// `InternalServerException`: the cause is logged, never sent.
    Internal,
    /// `SerializationException`: a member has the wrong type.
    Serialization(String),
    /// `UnknownOperationException`, naming the operation.
    UnknownOperation(String),
}

impl ApiError {
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::Validation(message.into())
    }

    /// A store failure that no caller expected.
    pub fn store(e: StoreError) -> Self {
        tracing::error!(error = ?e, "store failure");
        Self::Internal
    }
}

impl From<Invalid> for ApiError {
    fn from(e: Invalid) -> Self {
        Self::Validation(e.to_string())
    }
}

impl From<ShapeError> for ApiError {
    fn from(e: ShapeError) -> Self {
        match e {
            ShapeError::Missing(m) => Self::Validation(m),
            ShapeError::Serialization(m) => Self::Serialization(m),
        }
    }
}

impl From<ApiError> for AwsJsonError {
    fn from(e: ApiError) -> Self {
        let (kind, status, message) = match e {
            ApiError::Validation(m) => ("ValidationException", StatusCode::BAD_REQUEST, m),
            ApiError::NotFound(m) => ("ResourceNotFoundException", StatusCode::BAD_REQUEST, m),
            ApiError::Conflict(m) => ("ConflictException", StatusCode::BAD_REQUEST, m),
            ApiError::QuotaExceeded(m) => {
                ("ServiceQuotaExceededException", StatusCode::BAD_REQUEST, m)
            }
            ApiError::AccessDenied(m) => ("AccessDeniedException", StatusCode::BAD_REQUEST, m),
            ApiError::Internal => (
                "InternalServerException",
                StatusCode::INTERNAL_SERVER_ERROR,
                "The service failed to process the request.".to_owned(),
            ),
            ApiError::Serialization(m) => return ProtocolError::Serialization(m).into(),
            ApiError::UnknownOperation(m) => {
                let mut error: AwsJsonError = ProtocolError::UnknownOperation.into();
                error.message = m;
                return error;
            }
        };
        AwsJsonError::new(kind, status, message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        AwsJsonError::from(self).into_response()
    }
}
