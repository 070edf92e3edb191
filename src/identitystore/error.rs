//! The errors of the Identity Store API in AWS JSON 1.1 form: the status code of the service
//! model's `error.httpStatusCode`, an `x-amzn-ErrorType` header, and a body
//! `{"__type": "<shape>", "Message": "...", ...members of the error shape}`.
//!
//! The error shapes and their members are those of `botocore/data/identitystore/2020-06-15/
//! service-2.json`; the protocol errors (signature, serialization, unknown operation) are the
//! ones every AWS JSON service answers. All messages live here.

use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::{Map, Value, json};

use crate::scim::ScimError;
use crate::store::StoreError;

/// The content type of every answer of an AWS JSON 1.1 service.
pub const CONTENT_TYPE_JSON_11: &str = "application/x-amz-json-1.1";

pub type Result<T, E = ApiError> = std::result::Result<T, E>;

/// `ResourceNotFoundException.ResourceType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ResourceType {
    Group,
    User,
    IdentityStore,
    GroupMembership,
}

/// `ConflictException.Reason`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ConflictReason {
    UniquenessConstraintViolation,
    ConcurrentModification,
}

/// Every error the Identity Store API answers with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApiError {
    /// 400 `ValidationException`: a member is missing, out of its limits, or not supported.
    Validation(String),
    /// 400 `ResourceNotFoundException`.
    NotFound {
        resource_type: ResourceType,
        resource_id: Option<String>,
    },
    /// 400 `ConflictException`.
    Conflict {
        reason: ConflictReason,
        message: String,
    },
    /// 500 `InternalServerException`: the cause is logged, never sent.
    Internal,
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
}

impl ApiError {
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::Validation(message.into())
    }

    /// AWS's wording for a member that breaks a constraint of the service model.
    pub fn constraint(member: &str, constraint: &str) -> Self {
        Self::Validation(format!(
            "1 validation error detected: Value at '{member}' failed to satisfy constraint: {constraint}"
        ))
    }

    /// A required member that is missing.
    pub fn missing(member: &str) -> Self {
        Self::Validation(format!(
            "1 validation error detected: Value null at '{member}' failed to satisfy constraint: Member must not be null"
        ))
    }

    pub fn not_found(resource_type: ResourceType, resource_id: Option<&str>) -> Self {
        Self::NotFound {
            resource_type,
            resource_id: resource_id.map(str::to_owned),
        }
    }

    pub fn duplicate(what: &str) -> Self {
        Self::Conflict {
            reason: ConflictReason::UniquenessConstraintViolation,
            message: format!("Duplicate {what}"),
        }
    }

    pub fn concurrent_modification() -> Self {
        Self::Conflict {
            reason: ConflictReason::ConcurrentModification,
            message: "The resource was modified by another request; read it and retry.".to_owned(),
        }
    }

    /// A store failure; `resource` says what was missing for `StoreError::NotFound`.
    pub fn from_store(e: StoreError, resource: ResourceType, id: Option<&str>) -> Self {
        match e {
            StoreError::NotFound => Self::not_found(resource, id),
            StoreError::MemberNotFound => Self::not_found(ResourceType::User, None),
            StoreError::Conflict { field: "userName" } => Self::duplicate("UserName"),
            StoreError::Conflict { field: "emails" } => Self::duplicate("Email"),
            StoreError::Conflict {
                field: "displayName",
            } => Self::duplicate("GroupDisplayName"),
            StoreError::Conflict {
                field: "membership",
            } => Self::Conflict {
                reason: ConflictReason::UniquenessConstraintViolation,
                message: "The member already belongs to the group.".to_owned(),
            },
            StoreError::Stale => Self::concurrent_modification(),
            StoreError::Conflict { .. } | StoreError::LimitReached | StoreError::Database(_) => {
                tracing::error!(error = ?e, "store failure");
                Self::Internal
            }
        }
    }

    /// The `__type`, the status, the message and the extra members of the body.
    fn parts(&self) -> (&'static str, StatusCode, String, Map<String, Value>) {
        let mut extra = Map::new();
        let (kind, status, message) = match self {
            Self::Validation(m) => ("ValidationException", StatusCode::BAD_REQUEST, m.clone()),
            Self::NotFound {
                resource_type,
                resource_id,
            } => {
                extra.insert("ResourceType".into(), json!(resource_type));
                if let Some(id) = resource_id {
                    extra.insert("ResourceId".into(), json!(id));
                }
                let what = match resource_type {
                    ResourceType::Group => "Group",
                    ResourceType::User => "User",
                    ResourceType::IdentityStore => "Identity store",
                    ResourceType::GroupMembership => "Group membership",
                };
                (
                    "ResourceNotFoundException",
                    StatusCode::BAD_REQUEST,
                    format!("{what} not found."),
                )
            }
            Self::Conflict { reason, message } => {
                extra.insert("Reason".into(), json!(reason));
                (
                    "ConflictException",
                    StatusCode::BAD_REQUEST,
                    message.clone(),
                )
            }
            Self::Internal => (
                "InternalServerException",
                StatusCode::INTERNAL_SERVER_ERROR,
                "The service failed to process the request.".to_owned(),
            ),
            Self::Serialization(m) => {
                ("SerializationException", StatusCode::BAD_REQUEST, m.clone())
            }
            Self::UnknownOperation => (
                "UnknownOperationException",
                StatusCode::BAD_REQUEST,
                String::new(),
            ),
            Self::MissingAuthenticationToken => (
                "MissingAuthenticationTokenException",
                StatusCode::FORBIDDEN,
                "Missing Authentication Token".to_owned(),
            ),
            Self::IncompleteSignature(m) => (
                "IncompleteSignatureException",
                StatusCode::BAD_REQUEST,
                m.clone(),
            ),
            Self::UnrecognizedClient => (
                "UnrecognizedClientException",
                StatusCode::FORBIDDEN,
                "The security token included in the request is invalid.".to_owned(),
            ),
            Self::InvalidSignature(m) => (
                "InvalidSignatureException",
                StatusCode::FORBIDDEN,
                m.clone(),
            ),
        };
        (kind, status, message, extra)
    }

    /// The response, with `RequestId` in the body for the error shapes that have it.
    pub fn into_response_with(self, request_id: Option<&str>) -> Response {
        let (kind, status, message, extra) = self.parts();
        let mut body = Map::new();
        body.insert("__type".into(), json!(kind));
        if !message.is_empty() {
            body.insert("Message".into(), json!(message));
        }
        body.extend(extra);
        let modelled = !matches!(
            self,
            Self::Serialization(_)
                | Self::UnknownOperation
                | Self::MissingAuthenticationToken
                | Self::IncompleteSignature(_)
                | Self::UnrecognizedClient
                | Self::InvalidSignature(_)
        );
        if let (true, Some(id)) = (modelled, request_id) {
            body.insert("RequestId".into(), json!(id));
        }
        let mut response = (status, Value::Object(body).to_string()).into_response();
        let headers = response.headers_mut();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE_JSON_11));
        headers.insert("x-amzn-ErrorType", HeaderValue::from_static(kind));
        response
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        self.into_response_with(None)
    }
}

/// The SCIM validation rules are shared with the SCIM endpoint; their 400 becomes AWS's
/// `ValidationException` here, with the same message.
impl From<ScimError> for ApiError {
    fn from(e: ScimError) -> Self {
        match e {
            ScimError::Validation { detail, .. } => Self::Validation(detail),
            ScimError::Conflict(m) => Self::Conflict {
                reason: ConflictReason::UniquenessConstraintViolation,
                message: m,
            },
            ScimError::NotFound(_)
            | ScimError::Unauthorized
            | ScimError::AccessDenied
            | ScimError::PayloadTooLarge
            | ScimError::UnsupportedMediaType
            | ScimError::Throttled
            | ScimError::Internal
            | ScimError::Other(_) => {
                tracing::error!(error = ?e, "unexpected SCIM error in the Identity Store API");
                Self::Internal
            }
        }
    }
}
