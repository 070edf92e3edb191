//! Every `detail` that IAM Identity Center's SCIM endpoint was seen to answer with, in one
//! table, so that a newer observation changes one line. Each entry says where it was seen;
//! `docs/aws-behaviour.md` has the links and the tests that pin them. The details of errors
//! that AWS was never seen to answer are ours, written where the error is made.
//!
//! Until 2023 AWS answered every 400 with [`UNPARSABLE`]; since late 2024 it names the fault,
//! with the texts below (they match what CloudTrail records for the same call).

/// The documented 400, and AWS's answer to every 400 before 2024 (issue threads 2021–2023).
pub const UNPARSABLE: &str = "Request is unparsable, syntactically incorrect, or violates schema.";

/// 409 on a duplicate user or group (issue threads 2022; AWS's troubleshooting page).
pub const DUPLICATE: &str = "Refused to create a new, duplicate resource.";

/// 404 for an unknown user id (issue threads 2022–2023).
pub const USER_NOT_FOUND: &str = "USER does not exist.";

/// 404 for an unknown group id: never captured, written as AWS writes the user's and the
/// tenant's.
pub const GROUP_NOT_FOUND: &str = "GROUP does not exist.";

/// 404 for a tenant id in the URL that names no tenant (issue thread, 2022).
pub const TENANT_NOT_FOUND: &str = "TENANT does not exist.";

/// A PATCH operation without `path` whose value holds more than one attribute (issue thread
/// and CloudTrail, 2024–2025).
pub const PATH_LESS_SINGLE_ATTRIBUTE: &str = "Current PATCH support allows omitting \"path\" \
     attribute only for Add and Replace operations modifying a single attribute.";

/// `replace` of a group's members (issue thread, 2026).
pub const REPLACE_MEMBERS: &str = "Replacing group memberships is not supported.";

/// `remove` without `path` (CloudTrail's record of a PatchGroup).
pub const MISSING_PATH: &str = "Missing path in PATCH request";

/// A filter that does not parse (CloudTrail's list of common validation errors).
pub const INVALID_FILTER: &str = "Invalid Filter format";

/// A body that is not JSON (CloudTrail's list of common validation errors).
pub const INVALID_JSON: &str = "Invalid JSON from RequestBody";

/// A multi-valued attribute with more values than AWS keeps (CloudTrail, troubleshooting page).
pub fn list_limit(attribute: &str) -> String {
    format!("List attribute {attribute} exceeds allowed limit of 1")
}

/// What a string attribute broke, in AWS's validation wording (CloudTrail, troubleshooting
/// page).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Constraint {
    /// Absent or empty where a value is required.
    MinLength,
    /// Longer than the limit of the service model.
    MaxLength(usize),
    /// A character outside letters, marks, symbols, numbers, punctuation and spaces.
    Pattern,
}

impl Constraint {
    fn text(self) -> String {
        match self {
            Self::MinLength => "Member must have length greater than or equal to 1".to_owned(),
            Self::MaxLength(max) => {
                format!("Member must have length less than or equal to {max}")
            }
            Self::Pattern => "Member must satisfy regular expression pattern: \
                 [\\p{L}\\p{M}\\p{S}\\p{N}\\p{P}\\t\\n\\r ]+"
                .to_owned(),
        }
    }
}

/// `N validation errors detected: Value at '<attribute>' failed to satisfy constraint: ...;
/// ...`, AWS's wording (plural even for one error, as AWS's pages quote it). A missing or empty
/// value breaks both the length and the pattern, and AWS names both.
pub fn validation(attribute: &str, broken: &[Constraint]) -> String {
    let each: Vec<String> = broken
        .iter()
        .map(|c| {
            format!(
                "Value at '{attribute}' failed to satisfy constraint: {}",
                c.text()
            )
        })
        .collect();
    format!(
        "{} validation errors detected: {}",
        each.len(),
        each.join("; ")
    )
}

/// A required string attribute that is absent or empty.
pub fn required(attribute: &str) -> String {
    validation(attribute, &[Constraint::MinLength, Constraint::Pattern])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation_details_read_as_aws_writes_them() {
        assert_eq!(
            required("name.givenName"),
            "2 validation errors detected: Value at 'name.givenName' failed to satisfy \
             constraint: Member must have length greater than or equal to 1; Value at \
             'name.givenName' failed to satisfy constraint: Member must satisfy regular \
             expression pattern: [\\p{L}\\p{M}\\p{S}\\p{N}\\p{P}\\t\\n\\r ]+"
        );
        assert_eq!(
            validation("title", &[Constraint::MaxLength(1024)]),
            "1 validation errors detected: Value at 'title' failed to satisfy constraint: \
             Member must have length less than or equal to 1024"
        );
        assert_eq!(
            list_limit("emails"),
            "List attribute emails exceeds allowed limit of 1"
        );
    }
}
