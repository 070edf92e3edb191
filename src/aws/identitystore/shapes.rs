//! The request and response shapes of the Identity Store API (`botocore/data/identitystore/
//! 2020-06-15/service-2.json`), with the member names of the model, and the checks of its
//! constraints (patterns, lengths, ranges) that the server applies.
//!
//! Unknown members are ignored, as AWS JSON services do; a missing required member is AWS's
//! `ValidationException`, a member of the wrong JSON type a `SerializationException`.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::error::{ApiError, Result};
use crate::aws::protocol::{self, MEMBER_PATHS};
use crate::text::{self, Class, IDENTITY_PATTERN};

/// Deserialises a request body into its shape, once every string in it (member names included)
/// holds only the characters of the model's strings (`SensitiveStringType`).
pub fn parse<T: DeserializeOwned>(body: Value) -> Result<T> {
    if let Some(member) = text::first_outside(&body, Class::Identity, MEMBER_PATHS) {
        return Err(ApiError::constraint(
            &member,
            &format!("Member must satisfy regular expression pattern: {IDENTITY_PATTERN}"),
        ));
    }
    protocol::parse(body).map_err(ApiError::from)
}

// ---- members shared by several operations ----

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Name {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub formatted: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub family_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub given_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub middle_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub honorific_prefix: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub honorific_suffix: Option<String>,
}

/// `Email`, `PhoneNumber` and `Role` have the same members.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TypedValue {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    #[serde(rename = "Type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub primary: Option<bool>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Address {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub street_address: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub locality: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub postal_code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub formatted: Option<String>,
    #[serde(rename = "Type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub primary: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ExternalId {
    pub issuer: String,
    pub id: String,
}

/// A union: exactly one member.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub enum AlternateIdentifier {
    ExternalId(ExternalId),
    UniqueAttribute(UniqueAttribute),
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UniqueAttribute {
    pub attribute_path: String,
    pub attribute_value: Value,
}

/// A union with one member: the user a membership is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum MemberId {
    UserId(String),
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Filter {
    pub attribute_path: String,
    pub attribute_value: String,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AttributeOperation {
    pub attribute_path: String,
    /// A document; absent or `null` removes the attribute.
    #[serde(default)]
    pub attribute_value: Option<Value>,
}

// ---- requests ----

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeUserRequest {
    pub identity_store_id: String,
    pub user_id: String,
    pub extensions: Option<Vec<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListUsersRequest {
    pub identity_store_id: String,
    pub extensions: Option<Vec<String>>,
    pub max_results: Option<i64>,
    pub next_token: Option<String>,
    pub filters: Option<Vec<Filter>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetIdRequest {
    pub identity_store_id: String,
    pub alternate_identifier: AlternateIdentifier,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateUserRequest {
    pub identity_store_id: String,
    pub user_name: Option<String>,
    pub name: Option<Name>,
    pub display_name: Option<String>,
    pub nick_name: Option<String>,
    pub profile_url: Option<String>,
    pub emails: Option<Vec<TypedValue>>,
    pub addresses: Option<Vec<Address>>,
    pub phone_numbers: Option<Vec<TypedValue>>,
    pub user_type: Option<String>,
    pub title: Option<String>,
    pub preferred_language: Option<String>,
    pub locale: Option<String>,
    pub timezone: Option<String>,
    pub roles: Option<Vec<TypedValue>>,
    pub extensions: Option<Map<String, Value>>,
    /// Members of the model that the store cannot keep: refused by name.
    pub photos: Option<Value>,
    pub website: Option<Value>,
    pub birthdate: Option<Value>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UpdateUserRequest {
    pub identity_store_id: String,
    pub user_id: String,
    pub operations: Vec<AttributeOperation>,
    pub revision: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeleteUserRequest {
    pub identity_store_id: String,
    pub user_id: String,
    pub revision: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeGroupRequest {
    pub identity_store_id: String,
    pub group_id: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListGroupsRequest {
    pub identity_store_id: String,
    pub max_results: Option<i64>,
    pub next_token: Option<String>,
    pub filters: Option<Vec<Filter>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateGroupRequest {
    pub identity_store_id: String,
    pub display_name: Option<String>,
    pub description: Option<Value>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UpdateGroupRequest {
    pub identity_store_id: String,
    pub group_id: String,
    pub operations: Vec<AttributeOperation>,
    pub revision: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeleteGroupRequest {
    pub identity_store_id: String,
    pub group_id: String,
    pub revision: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListGroupMembershipsRequest {
    pub identity_store_id: String,
    pub group_id: String,
    pub max_results: Option<i64>,
    pub next_token: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListGroupMembershipsForMemberRequest {
    pub identity_store_id: String,
    pub member_id: MemberId,
    pub max_results: Option<i64>,
    pub next_token: Option<String>,
}

/// `GetGroupMembershipId` and `CreateGroupMembership`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GroupMemberRequest {
    pub identity_store_id: String,
    pub group_id: String,
    pub member_id: MemberId,
}

/// `DescribeGroupMembership` and `DeleteGroupMembership`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct MembershipRequest {
    pub identity_store_id: String,
    pub membership_id: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct IsMemberInGroupsRequest {
    pub identity_store_id: String,
    pub member_id: MemberId,
    pub group_ids: Vec<String>,
}

// ---- responses ----

/// `User`, and `DescribeUserResponse`, which has the same members.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct User {
    pub identity_store_id: String,
    pub user_id: String,
    pub user_arn: String,
    pub revision: String,
    pub user_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub external_ids: Option<Vec<ExternalId>>,
    pub name: Name,
    pub display_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nick_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub profile_url: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub emails: Vec<TypedValue>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub addresses: Vec<Address>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub phone_numbers: Vec<TypedValue>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub preferred_language: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub locale: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timezone: Option<String>,
    pub user_status: &'static str,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub roles: Vec<TypedValue>,
    /// Epoch seconds, as AWS JSON renders timestamps.
    pub created_at: f64,
    pub updated_at: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub extensions: Option<Map<String, Value>>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Group {
    pub identity_store_id: String,
    pub group_id: String,
    pub group_arn: String,
    pub revision: String,
    pub display_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub external_ids: Option<Vec<ExternalId>>,
    pub created_at: f64,
    pub updated_at: f64,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct GroupMembership {
    pub identity_store_id: String,
    pub membership_id: String,
    pub membership_arn: String,
    pub group_id: String,
    pub member_id: MemberId,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListUsersResponse {
    pub users: Vec<User>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListGroupsResponse {
    pub groups: Vec<Group>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListGroupMembershipsResponse {
    pub group_memberships: Vec<GroupMembership>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct GroupMembershipExistenceResult {
    pub group_id: String,
    pub member_id: MemberId,
    pub membership_exists: bool,
}

// ---- constraints ----

/// `arn:aws[a-z-]*:identitystore:` — the start of every ARN the model accepts.
fn strip_arn_partition(value: &str) -> Option<&str> {
    let rest = value.strip_prefix("arn:aws")?;
    let end = rest
        .find(|c: char| !(c.is_ascii_lowercase() || c == '-'))
        .unwrap_or(rest.len());
    rest[end..].strip_prefix(":identitystore:")
}

fn is_uuid(s: &str) -> bool {
    let groups: Vec<&str> = s.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, n)| g.len() == n && g.bytes().all(|b| b.is_ascii_hexdigit()))
}

fn is_lower_hex(s: &str, len: usize) -> bool {
    s.len() == len
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// `IdentityStoreId`: `d-` + 10 hex or a UUID, optionally as an identity store ARN.
pub fn identity_store_id(value: &str) -> Result<&str> {
    let bare = match strip_arn_partition(value) {
        Some(rest) => rest
            .strip_prefix(':')
            .and_then(|r| r.split_once(":identitystore/"))
            .filter(|(account, _)| {
                account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit())
            })
            .map(|(_, id)| id),
        None => Some(value),
    };
    match bare {
        Some(id)
            if value.len() <= 93
                && (id.strip_prefix("d-").is_some_and(|h| is_lower_hex(h, 10)) || is_uuid(id)) =>
        {
            Ok(id)
        }
        _ => Err(ApiError::constraint(
            "identityStoreId",
            "Member must satisfy regular expression pattern: d-[0-9a-f]{10}|UUID, optionally as an identity store ARN",
        )),
    }
}

/// `ResourceId` (`UserId`, `GroupId`, `MembershipId`): `([0-9a-f]{10}-|)UUID`, optionally as
/// a resource ARN `arn:aws:identitystore:::user/...`.
pub fn resource_id<'a>(member: &str, value: &'a str) -> Result<&'a str> {
    let bare = match strip_arn_partition(value) {
        Some(rest) => rest.strip_prefix("::").and_then(|r| {
            ["user/", "group/", "membership/"]
                .iter()
                .find_map(|kind| r.strip_prefix(kind))
        }),
        None => Some(value),
    };
    let valid = |id: &str| match id.split_at_checked(11) {
        Some((prefix, uuid)) if prefix.ends_with('-') && is_lower_hex(&prefix[..10], 10) => {
            is_uuid(uuid)
        }
        _ => is_uuid(id),
    };
    match bare {
        Some(id) if value.len() <= 100 && valid(id) => Ok(id),
        _ => Err(ApiError::constraint(
            member,
            "Member must satisfy regular expression pattern: ([0-9a-f]{10}-|)[A-Fa-f0-9]{8}-[A-Fa-f0-9]{4}-[A-Fa-f0-9]{4}-[A-Fa-f0-9]{4}-[A-Fa-f0-9]{12}",
        )),
    }
}

/// `MaxResults`: 1..=100; absent means 100.
pub fn max_results(value: Option<i64>) -> Result<u32> {
    protocol::max_results(value).map_err(ApiError::from)
}

/// `Revision`: digits, 1..=64 characters; our revision is the row version.
pub fn revision(value: Option<&str>) -> Result<Option<i64>> {
    match value {
        None => Ok(None),
        Some(r) => r
            .parse::<i64>()
            .ok()
            .filter(|_| !r.is_empty() && r.len() <= 64 && r.bytes().all(|b| b.is_ascii_digit()))
            .map(Some)
            .ok_or_else(|| {
                ApiError::constraint(
                    "revision",
                    "Member must satisfy regular expression pattern: [0-9]+",
                )
            }),
    }
}

/// `AttributeOperations`: 1..=100 operations.
pub fn operations(ops: &[AttributeOperation]) -> Result<()> {
    match ops.len() {
        0 => Err(ApiError::constraint(
            "operations",
            "Member must have length greater than or equal to 1",
        )),
        1..=100 => Ok(()),
        _ => Err(ApiError::constraint(
            "operations",
            "Member must have length less than or equal to 100",
        )),
    }
}

/// `Filters`: at most one.
pub fn single_filter(filters: Option<&[Filter]>) -> Result<Option<&Filter>> {
    match filters.unwrap_or_default() {
        [] => Ok(None),
        [f] => Ok(Some(f)),
        _ => Err(ApiError::constraint(
            "filters",
            "Member must have length less than or equal to 1",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const UUID: &str = "a1b2c3d4-5678-90ab-cdef-000000000001";

    #[test]
    fn ids_follow_the_model_patterns() {
        assert_eq!(identity_store_id("d-1234567890"), Ok("d-1234567890"));
        assert_eq!(
            identity_store_id("arn:aws:identitystore::111122223333:identitystore/d-1234567890"),
            Ok("d-1234567890")
        );
        assert!(identity_store_id("d-123").is_err());
        assert!(identity_store_id("d-ABCDEF1234").is_err());
        let prefixed = format!("1234567890-{UUID}");
        assert_eq!(resource_id("userId", &prefixed), Ok(prefixed.as_str()));
        assert_eq!(resource_id("userId", UUID), Ok(UUID));
        let arn = format!("arn:aws:identitystore:::user/{prefixed}");
        assert_eq!(resource_id("userId", &arn), Ok(prefixed.as_str()));
        assert!(resource_id("userId", "not-an-id").is_err());
        assert!(resource_id("userId", &format!("12345-{UUID}")).is_err());
    }

    #[test]
    fn limits_are_checked() {
        assert_eq!(max_results(None), Ok(100));
        assert_eq!(max_results(Some(1)), Ok(1));
        assert!(max_results(Some(0)).is_err());
        assert!(max_results(Some(101)).is_err());
        assert_eq!(revision(Some("12")), Ok(Some(12)));
        assert!(revision(Some("x")).is_err());
    }

    #[test]
    fn missing_members_are_validation_errors_and_wrong_types_serialization_errors() {
        let e = parse::<DescribeGroupRequest>(serde_json::json!({"GroupId": UUID})).unwrap_err();
        assert_eq!(e, ApiError::missing("identityStoreId"));
        let e = parse::<ListGroupsRequest>(
            serde_json::json!({"IdentityStoreId": "d-1234567890", "MaxResults": "ten"}),
        )
        .unwrap_err();
        assert!(matches!(e, ApiError::Serialization(_)));
    }
}
