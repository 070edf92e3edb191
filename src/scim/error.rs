//! The errors of the SCIM protocol as IAM Identity Center reports them.
//!
//! AWS answers every error with the same body (see AWS-SCIM.md, "Error body", and
//! `docs/aws-behaviour.md`): `{"schema": [...Error URN], "schemas": [...Error URN], "detail",
//! "status" (a string), "exceptionRequestId", "timeStamp"}`. This module knows the status and
//! the detail of every error (AWS's own details are in [`super::detail`]); the request id and
//! the time stamp are only known to the HTTP layer, which renders the final body
//! (`crate::http_error`).
//!
//! The `rfc` profile answers with the body of RFC 7644 §3.12, whose `scimType` names the kind of
//! a 400. The kind travels in the error from where it is made ([`ScimType`]); AWS's body leaves
//! it out.

use http::StatusCode;

use super::detail;

/// The URN AWS puts in the `schema` and `schemas` members of every error body.
pub const ERROR_URN: &str = "urn:ietf:params:scim:api:messages:2.0:Error";

/// Every error the SCIM endpoint answers with. The details that several modules give are made
/// here; a detail only one module gives is written there.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScimError {
    /// 400: unparsable, syntactically wrong, violates the schema, or unsupported.
    #[error("{detail}")]
    Validation { detail: String, scim_type: ScimType },
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

/// The `scimType` of an RFC 7644 error body (§3.12), for the `rfc` profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScimType {
    InvalidFilter,
    TooMany,
    Uniqueness,
    Mutability,
    InvalidSyntax,
    InvalidPath,
    NoTarget,
    InvalidValue,
}

impl ScimType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidFilter => "invalidFilter",
            Self::TooMany => "tooMany",
            Self::Uniqueness => "uniqueness",
            Self::Mutability => "mutability",
            Self::InvalidSyntax => "invalidSyntax",
            Self::InvalidPath => "invalidPath",
            Self::NoTarget => "noTarget",
            Self::InvalidValue => "invalidValue",
        }
    }
}

/// The prefix of every detail about a filter that does not parse or cannot be evaluated.
const INVALID_FILTER: &str = "Invalid filter: ";

/// The result type of the protocol layer.
pub type Result<T, E = ScimError> = std::result::Result<T, E>;

impl ScimError {
    /// A 400 of the kind `scim_type`.
    pub fn validation(scim_type: ScimType, detail: impl Into<String>) -> Self {
        Self::Validation {
            detail: detail.into(),
            scim_type,
        }
    }

    /// A 400 with the documented AWS detail (`invalidSyntax`).
    pub fn unparsable() -> Self {
        Self::invalid_syntax(detail::UNPARSABLE)
    }

    /// A 400 about a value (`invalidValue`): the kind of most 400s.
    pub fn invalid(detail: impl Into<String>) -> Self {
        Self::validation(ScimType::InvalidValue, detail)
    }

    /// A 400 about the shape of a request (`invalidSyntax`).
    pub fn invalid_syntax(detail: impl Into<String>) -> Self {
        Self::validation(ScimType::InvalidSyntax, detail)
    }

    /// A 400 about a filter that does not parse or names what it cannot (`invalidFilter`).
    pub fn invalid_filter(detail: impl std::fmt::Display) -> Self {
        Self::validation(ScimType::InvalidFilter, format!("{INVALID_FILTER}{detail}"))
    }

    /// A 400 about a valid filter that IAM Identity Center does not accept (`invalidFilter`).
    pub fn unsupported_filter(detail: impl Into<String>) -> Self {
        Self::validation(ScimType::InvalidFilter, detail)
    }

    /// A 400 about a PATCH path that does not parse (`invalidPath`).
    pub fn invalid_path(detail: impl Into<String>) -> Self {
        Self::validation(ScimType::InvalidPath, detail)
    }

    /// A 400 about a PATCH operation that names no target (`noTarget`).
    pub fn no_target(detail: impl Into<String>) -> Self {
        Self::validation(ScimType::NoTarget, detail)
    }

    /// A 400 about an attribute that may not be changed (`mutability`).
    pub fn mutability(detail: impl Into<String>) -> Self {
        Self::validation(ScimType::Mutability, detail)
    }

    /// A 400 about a request that asks for more than a limit allows (`tooMany`).
    pub fn too_many(detail: impl Into<String>) -> Self {
        Self::validation(ScimType::TooMany, detail)
    }

    /// An attribute the resource type does not have.
    pub fn unsupported_attribute(name: &str) -> Self {
        Self::invalid(format!("Attribute \"{name}\" is not supported."))
    }

    /// An attribute the client may not write.
    pub fn read_only(name: &str) -> Self {
        Self::mutability(format!("Attribute \"{name}\" is read-only."))
    }

    /// A value that is not of the attribute's type; `expected` is "a string", "an object", ...
    pub fn wrong_type(name: &str, expected: &str) -> Self {
        Self::invalid(format!("Attribute \"{name}\" must be {expected}."))
    }

    /// A string that holds a character outside the Identity Store's class (`text::Class`): a
    /// control character, a format character, an unassigned one. AWS's pattern wording.
    pub fn invalid_characters(name: &str) -> Self {
        Self::invalid(detail::validation(name, &[detail::Constraint::Pattern]))
    }

    /// 412: an `If-Match` precondition (RFC 7644 §3.14) does not hold.
    pub fn precondition_failed() -> Self {
        Self::Other(StatusCode::PRECONDITION_FAILED)
    }

    /// The `scimType` of the RFC error body: the uniqueness of a 409, the kind of a 400.
    pub fn scim_type(&self) -> Option<ScimType> {
        match self {
            Self::Validation { scim_type, .. } => Some(*scim_type),
            Self::Conflict(_) => Some(ScimType::Uniqueness),
            Self::Unauthorized
            | Self::AccessDenied
            | Self::NotFound(_)
            | Self::PayloadTooLarge
            | Self::UnsupportedMediaType
            | Self::Throttled
            | Self::Internal
            | Self::Other(_) => None,
        }
    }

    pub fn user_not_found() -> Self {
        Self::NotFound(detail::USER_NOT_FOUND.to_owned())
    }

    pub fn group_not_found() -> Self {
        Self::NotFound(detail::GROUP_NOT_FOUND.to_owned())
    }

    /// A tenant id in the URL that names no tenant.
    pub fn tenant_not_found() -> Self {
        Self::NotFound(detail::TENANT_NOT_FOUND.to_owned())
    }

    /// A member id that names no user (PatchGroup, CreateGroup, ListGroups by member): a 404
    /// (inferred: AWS documents it for ListGroups only), with a detail of ours.
    pub fn member_not_found() -> Self {
        Self::NotFound("Member user not found.".to_owned())
    }

    /// A group that would become a member of itself, directly or through its members (the
    /// `rfc` profile's nested groups).
    pub fn member_loop() -> Self {
        Self::invalid("A group cannot be a member of itself, directly or through its members.")
    }

    /// A duplicate user or group: AWS gives both the same detail.
    pub fn duplicate() -> Self {
        Self::Conflict(detail::DUPLICATE.to_owned())
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
            Self::Validation { detail, .. } => (StatusCode::BAD_REQUEST, detail),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scim_types_travel_with_the_error() {
        let t = |e: ScimError| e.scim_type().map(ScimType::as_str);
        assert_eq!(t(ScimError::invalid_filter("x")), Some("invalidFilter"));
        assert_eq!(t(ScimError::unparsable()), Some("invalidSyntax"));
        let read_only = ScimError::read_only("groups");
        assert_eq!(
            read_only.status_and_detail().1,
            "Attribute \"groups\" is read-only."
        );
        assert_eq!(t(read_only), Some("mutability"));
        assert_eq!(
            t(ScimError::wrong_type("x", "a string")),
            Some("invalidValue")
        );
        assert_eq!(t(ScimError::duplicate()), Some("uniqueness"));
        assert_eq!(t(ScimError::user_not_found()), None);
        assert_eq!(
            ScimError::precondition_failed().status_and_detail().0,
            StatusCode::PRECONDITION_FAILED
        );
    }
}
