//! The errors of the Identity Store API: the status code of the service model's
//! `error.httpStatusCode` and the members of its error shapes, rendered as AWS JSON 1.1 by
//! `http_error::AwsJsonError` (`{"__type": "<shape>", "Message": "...", ...members}`).
//!
//! The error shapes and their members are those of `botocore/data/identitystore/2020-06-15/
//! service-2.json`; the protocol errors (serialization, unknown operation) are the ones every
//! AWS JSON service answers (`aws::ProtocolError`). All messages live here.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::json;

use crate::aws::ProtocolError;
use crate::aws::protocol::ShapeError;
use crate::directory::Taken;
use crate::http_error::AwsJsonError;
use crate::scim::ScimError;
use crate::sso::Invalid;
use crate::store::StoreError;

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
    /// 400 `AccessDeniedException`: the caller's access key is not one of the tenant the
    /// operation names.
    AccessDenied(String),
    /// 500 `InternalServerException`: the cause is logged, never sent.
    Internal,
    /// 400 `SerializationException`: a member has the wrong type.
    Serialization(String),
    /// 400 `UnknownOperationException`: an operation the service does not have.
    UnknownOperation,
}

impl ApiError {
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::Validation(message.into())
    }

    /// AWS's wording for a member that breaks a constraint of the service model.
    pub fn constraint(member: &str, constraint: &str) -> Self {
        Invalid::constraint(member, constraint).into()
    }

    /// A required member that is missing.
    pub fn missing(member: &str) -> Self {
        Invalid::missing(member).into()
    }

    /// AWS's wording when an IAM principal may not act on a resource.
    pub fn access_denied(operation: &str, identity_store_id: &str) -> Self {
        Self::AccessDenied(format!(
            "User is not authorized to perform: identitystore:{operation} on resource: \
             arn:aws:identitystore:::identitystore/{identity_store_id}"
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
            // The API's members are users: it never nests groups.
            StoreError::MemberLoop => ScimError::member_loop().into(),
            StoreError::Conflict(constraint) => match Taken::of(constraint) {
                Some(Taken::UserName) => Self::duplicate("UserName"),
                Some(Taken::Email) => Self::duplicate("Email"),
                Some(Taken::GroupDisplayName) => Self::duplicate("GroupDisplayName"),
                Some(Taken::Membership) => Self::Conflict {
                    reason: ConflictReason::UniquenessConstraintViolation,
                    message: "The member already belongs to the group.".to_owned(),
                },
                Some(Taken::TenantId) | None => Self::unexpected(e),
            },
            StoreError::Contended => Self::concurrent_modification(),
            StoreError::LimitReached | StoreError::InUse | StoreError::Database(_) => {
                Self::unexpected(e)
            }
        }
    }

    /// A store failure no request of this API can cause: logged here, never sent.
    fn unexpected(e: StoreError) -> Self {
        tracing::error!(error = ?e, "store failure");
        Self::Internal
    }
}

impl From<ApiError> for AwsJsonError {
    fn from(e: ApiError) -> Self {
        let (kind, status, message) = match e {
            ApiError::Validation(m) => ("ValidationException", StatusCode::BAD_REQUEST, m),
            ApiError::AccessDenied(m) => ("AccessDeniedException", StatusCode::BAD_REQUEST, m),
            ApiError::NotFound {
                resource_type,
                resource_id,
            } => {
                let message = not_found_message(resource_type, resource_id.as_deref());
                let mut error = AwsJsonError::new(
                    "ResourceNotFoundException",
                    StatusCode::BAD_REQUEST,
                    message,
                );
                error
                    .members
                    .insert("ResourceType".into(), json!(resource_type));
                if let Some(id) = resource_id {
                    error.members.insert("ResourceId".into(), json!(id));
                }
                error.with_request_id = true;
                return error;
            }
            ApiError::Conflict { reason, message } => {
                let mut error =
                    AwsJsonError::new("ConflictException", StatusCode::BAD_REQUEST, message);
                error.members.insert("Reason".into(), json!(reason));
                error.with_request_id = true;
                return error;
            }
            ApiError::Internal => (
                "InternalServerException",
                StatusCode::INTERNAL_SERVER_ERROR,
                "The service failed to process the request.".to_owned(),
            ),
            ApiError::Serialization(m) => return ProtocolError::Serialization(m).into(),
            ApiError::UnknownOperation => return ProtocolError::UnknownOperation.into(),
        };
        let mut error = AwsJsonError::new(kind, status, message);
        error.with_request_id = true;
        error
    }
}

/// AWS's message for a resource that does not exist: `GROUP not found.` and `IdentityStore not
/// present for IdentityStoreId: d-…` were seen (2023, 2024); the user's and the membership's
/// are written alike (inferred).
fn not_found_message(resource_type: ResourceType, id: Option<&str>) -> String {
    match resource_type {
        ResourceType::IdentityStore => format!(
            "IdentityStore not present for IdentityStoreId: {}",
            id.unwrap_or_default()
        ),
        ResourceType::Group => "GROUP not found.".to_owned(),
        ResourceType::User => "USER not found.".to_owned(),
        ResourceType::GroupMembership => "GROUP_MEMBERSHIP not found.".to_owned(),
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        AwsJsonError::from(self).into_response()
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
