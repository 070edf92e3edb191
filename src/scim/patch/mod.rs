//! The SCIM PATCH operation (RFC 7644 §3.5.2): a PatchOp request body is parsed into
//! operations (`request`), and the engine applies their `add`, `replace` and `remove`, in
//! order, to a resource in its JSON form (`engine`), reading values with
//! [`coerce`](super::coerce) in its PATCH reading.
//!
//! The engine is generic over a [`ResourceSchema`](super::schema::ResourceSchema) (it serves
//! Users and Groups) and knows no AWS rule: which attributes AWS lets a PATCH change, the
//! `userName`/`active` rules or the single email are checked by the caller on the result. Only
//! [`check_only_eq`] is AWS's: it rejects the value filters that IAM Identity Center does not
//! accept.
//!
//! Besides the RFC forms, the PATCH accepts what the identity providers send
//! (IDP-CLIENTS.md); each module says which forms it takes.

mod engine;
mod request;

use serde_json::Value;

pub use engine::apply;
pub use request::{check_only_eq, parse_request};

use super::error::ScimError;
use super::filter::PatchPath;

/// The operation of a PATCH operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpKind {
    Add,
    Replace,
    Remove,
}

impl OpKind {
    const ALL: [OpKind; 3] = [Self::Add, Self::Replace, Self::Remove];

    fn as_str(self) -> &'static str {
        match self {
            Self::Add => "add",
            Self::Replace => "replace",
            Self::Remove => "remove",
        }
    }

    /// The operation called `name`, case-insensitively.
    fn named(name: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|kind| name.eq_ignore_ascii_case(kind.as_str()))
    }
}

/// One operation of a PatchOp request, checked for shape: `remove` has a path, `add` and
/// `replace` have a non-null value.
#[derive(Debug, Clone, PartialEq)]
pub struct PatchOp {
    pub op: OpKind,
    pub path: Option<PatchPath>,
    pub value: Option<Value>,
}

// The shape faults of an operation, which the parser finds, and the engine and the group
// planner too when given operations built by hand.

fn path_required() -> ScimError {
    ScimError::no_target(super::detail::MISSING_PATH)
}

/// The 400 of an `add` or `replace` without a value.
pub fn value_required(kind: OpKind) -> ScimError {
    ScimError::invalid(format!(
        "A value is required for {} operations.",
        kind.as_str()
    ))
}

/// The whole PATCH, from a request body to the patched resource.
#[cfg(test)]
pub(crate) mod tests {
    use serde_json::{Value, json};

    use super::*;
    use crate::scim::error::Result;
    use crate::scim::schema::{
        ENTERPRISE_URN, GROUP_RESOURCE, PATCH_OP_URN, ResourceSchema, USER_RESOURCE, USER_URN,
    };

    fn patched_on(schema: &ResourceSchema, start: Value, body: Value) -> Result<Value> {
        let ops = parse_request(body)?;
        let Value::Object(mut resource) = start else {
            panic!("a resource is an object");
        };
        apply(&mut resource, &ops, schema)?;
        Ok(Value::Object(resource))
    }

    fn patched(start: Value, body: Value) -> Result<Value> {
        patched_on(&USER_RESOURCE, start, body)
    }

    /// A PatchOp request body with these operations.
    pub(crate) fn request(operations: Value) -> Value {
        json!({"schemas": [PATCH_OP_URN], "Operations": operations})
    }

    /// A user as the store renders it.
    pub(super) fn jane() -> Value {
        json!({
            "id": "u-1",
            "schemas": [USER_URN],
            "meta": {"resourceType": "User"},
            "userName": "jane@example.com",
            "name": {"givenName": "Jane", "familyName": "Doe"},
            "displayName": "Jane Doe",
            "active": true,
            "emails": [{"value": "jane@example.com", "type": "work", "primary": true}]
        })
    }

    /// `base` with the top-level keys of `changes` set, or removed where null.
    fn with(base: Value, changes: Value) -> Value {
        let (Value::Object(mut base), Value::Object(changes)) = (base, changes) else {
            panic!("objects expected");
        };
        for (k, v) in changes {
            if v.is_null() {
                base.remove(&k);
            } else {
                base.insert(k, v);
            }
        }
        Value::Object(base)
    }

    fn jane_with(changes: Value) -> Value {
        with(jane(), changes)
    }

    fn group() -> Value {
        json!({
            "id": "g-1",
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
            "meta": {"resourceType": "Group"},
            "displayName": "Engineering",
            "externalId": "ext-1",
            "members": [{"value": "u-1"}, {"value": "u-2"}]
        })
    }

    #[test]
    fn applies_user_patches() {
        let manager = json!({"value": "m-1"});
        let rows: Vec<(&str, Value, Value, Value)> = vec![
            (
                "Entra: capitalised op, boolean as a string",
                jane(),
                json!([{"op": "Replace", "path": "active", "value": "False"}]),
                jane_with(json!({"active": false})),
            ),
            (
                "Entra: filtered add sets the work email",
                jane(),
                json!([{"op": "Add", "path": "emails[type eq \"work\"].value", "value": "j@x.com"}]),
                jane_with(
                    json!({"emails": [{"value": "j@x.com", "type": "work", "primary": true}]}),
                ),
            ),
            (
                "Entra: filtered add creates the work email",
                jane_with(json!({"emails": null})),
                json!([{"op": "Add", "path": "emails[type eq \"work\"].value", "value": "j@x.com"}]),
                jane_with(json!({"emails": [{"value": "j@x.com", "type": "work"}]})),
            ),
            (
                "Entra: filtered add appends beside a home email",
                jane_with(json!({"emails": [{"value": "h@x.com", "type": "home"}]})),
                json!([{"op": "Add", "path": "emails[type eq \"work\"].value", "value": "j@x.com"}]),
                jane_with(json!({"emails": [
                    {"value": "h@x.com", "type": "home"},
                    {"value": "j@x.com", "type": "work"}
                ]})),
            ),
            (
                "Entra: sub-attribute of name",
                jane(),
                json!([{"op": "Replace", "path": "name.givenName", "value": "Janet"}]),
                jane_with(json!({"name": {"givenName": "Janet", "familyName": "Doe"}})),
            ),
            (
                "Entra: filtered replace creates the work address",
                jane(),
                json!([{"op": "Replace", "path": "addresses[type eq \"work\"].streetAddress", "value": "1 Main St"}]),
                jane_with(json!({"addresses": [{"type": "work", "streetAddress": "1 Main St"}]})),
            ),
            (
                "filtered replace changes only the matching address",
                jane_with(json!({"addresses": [
                    {"type": "home", "streetAddress": "2 Elm St"},
                    {"type": "work", "streetAddress": "9 Old Rd", "locality": "Paris"}
                ]})),
                json!([{"op": "Replace", "path": "addresses[type eq \"work\"].streetAddress", "value": "1 Main St"}]),
                jane_with(json!({"addresses": [
                    {"type": "home", "streetAddress": "2 Elm St"},
                    {"type": "work", "streetAddress": "1 Main St", "locality": "Paris"}
                ]})),
            ),
            (
                "Entra: enterprise attribute through its URN path",
                jane(),
                json!([{"op": "Replace", "path": format!("{ENTERPRISE_URN}:department"), "value": "R&D"}]),
                jane_with(json!({ENTERPRISE_URN: {"department": "R&D"}})),
            ),
            (
                "Entra: manager as a bare string",
                jane(),
                json!([{"op": "Add", "path": format!("{ENTERPRISE_URN}:manager"), "value": "m-1"}]),
                jane_with(json!({ENTERPRISE_URN: {"manager": manager}})),
            ),
            (
                "manager as an object, sub-attribute through the URN path",
                jane_with(json!({ENTERPRISE_URN: {"department": "R&D"}})),
                json!([{"op": "add", "path": format!("{ENTERPRISE_URN}:manager.value"), "value": "m-1"}]),
                jane_with(json!({ENTERPRISE_URN: {"department": "R&D", "manager": manager}})),
            ),
            (
                "Entra: several operations, dotted keys in a value without path",
                jane(),
                json!([
                    {"op": "Replace", "value": {"displayName": "Jane D", "name.familyName": "D"}},
                    {"op": "Replace", "path": "title", "value": "CTO"},
                    {"op": "Add", "value": {format!("{ENTERPRISE_URN}:costCenter"): "42"}}
                ]),
                jane_with(json!({
                    "displayName": "Jane D",
                    "name": {"givenName": "Jane", "familyName": "D"},
                    "title": "CTO",
                    ENTERPRISE_URN: {"costCenter": "42"}
                })),
            ),
            (
                "Okta: deactivation without path",
                jane(),
                json!([{"op": "replace", "value": {"active": false}}]),
                jane_with(json!({"active": false})),
            ),
            (
                "extension URN as a key of a value without path, and as a path",
                jane_with(json!({ENTERPRISE_URN: {"division": "Ops"}})),
                json!([
                    {"op": "add", "value": {ENTERPRISE_URN: {"department": "R&D", "Manager": "m-1"}}},
                    {"op": "replace", "path": ENTERPRISE_URN, "value": {"division": "Dev"}}
                ]),
                jane_with(json!({ENTERPRISE_URN: {
                    "division": "Dev", "department": "R&D", "manager": manager
                }})),
            ),
            (
                "names resolve case-insensitively and are written canonically",
                jane_with(json!({"displayname": "Old", "nickname": "JJ"})),
                json!([
                    {"op": "REPLACE", "path": "DISPLAYNAME", "value": "New"},
                    {"op": "replace", "path": "Name.GivenName", "value": "Janet"},
                    {"op": "add", "value": {"NickName": "Jay", "EMAILS": [{"VALUE": "a@x.com"}]}}
                ]),
                jane_with(json!({
                    "displayName": "New",
                    "nickName": "Jay",
                    "name": {"givenName": "Janet", "familyName": "Doe"},
                    "emails": [
                        {"value": "jane@example.com", "type": "work", "primary": true},
                        {"value": "a@x.com"}
                    ]
                })),
            ),
            (
                "add to a multi-valued attribute appends, skipping equal values",
                jane(),
                json!([{"op": "add", "path": "emails", "value": [
                    {"value": "jane@example.com", "type": "work", "primary": "true"},
                    {"value": "h@x.com", "type": "home"}
                ]}]),
                jane_with(json!({"emails": [
                    {"value": "jane@example.com", "type": "work", "primary": true},
                    {"value": "h@x.com", "type": "home"}
                ]})),
            ),
            (
                "replace of a multi-valued attribute, a single object standing for an array",
                jane(),
                json!([{"op": "replace", "path": "emails", "value": {"value": "n@x.com", "primary": "TRUE"}}]),
                jane_with(json!({"emails": [{"value": "n@x.com", "primary": true}]})),
            ),
            (
                "add and replace of a complex attribute merge sub-attributes (RFC 7644 §3.5.2.3)",
                jane(),
                json!([
                    {"op": "add", "path": "name", "value": {"middleName": "M"}},
                    {"op": "replace", "path": "name", "value": {"givenName": "Janet", "honorificPrefix": "Dr"}}
                ]),
                jane_with(json!({"name": {
                    "givenName": "Janet", "familyName": "Doe", "middleName": "M", "honorificPrefix": "Dr"
                }})),
            ),
            (
                "replace with a filter merges an object into the matching values",
                jane_with(json!({"emails": [
                    {"value": "jane@example.com", "type": "work"},
                    {"value": "h@x.com", "type": "home"}
                ]})),
                json!([{"op": "replace", "path": "emails[type eq \"work\"]", "value": {"value": "w@x.com", "primary": true}}]),
                jane_with(json!({"emails": [
                    {"value": "w@x.com", "type": "work", "primary": true},
                    {"value": "h@x.com", "type": "home"}
                ]})),
            ),
            (
                "filter of eq joined by and creates the value it describes",
                jane_with(json!({"emails": null})),
                json!([{"op": "add", "path": "emails[type eq \"work\" and primary eq true].value", "value": "j@x.com"}]),
                jane_with(
                    json!({"emails": [{"value": "j@x.com", "type": "work", "primary": true}]}),
                ),
            ),
            (
                "filter values compare case-insensitively unless caseExact",
                jane(),
                json!([{"op": "replace", "path": "emails[value eq \"JANE@EXAMPLE.COM\"].type", "value": "other"}]),
                jane_with(
                    json!({"emails": [{"value": "jane@example.com", "type": "other", "primary": true}]}),
                ),
            ),
            (
                "remove by path, of an attribute and of a sub-attribute",
                jane_with(
                    json!({"title": "CTO", "name": {"givenName": "Jane", "familyName": "Doe", "middleName": "M"}}),
                ),
                json!([
                    {"op": "Remove", "path": "title"},
                    {"op": "remove", "path": "name.middleName"}
                ]),
                jane(),
            ),
            (
                "remove with a filter drops the matching values, then the emptied attribute",
                jane_with(
                    json!({"phoneNumbers": [{"value": "1", "type": "work"}, {"value": "2", "type": "home"}]}),
                ),
                json!([
                    {"op": "remove", "path": "phoneNumbers[type eq \"home\"]"},
                    {"op": "remove", "path": "emails[type eq \"work\"]"}
                ]),
                jane_with(
                    json!({"emails": null, "phoneNumbers": [{"value": "1", "type": "work"}]}),
                ),
            ),
            (
                "remove of a filtered sub-attribute",
                jane(),
                json!([{"op": "remove", "path": "emails[type eq \"work\"].primary"}]),
                jane_with(json!({"emails": [{"value": "jane@example.com", "type": "work"}]})),
            ),
            (
                "remove of what is absent is no error",
                jane(),
                json!([
                    {"op": "remove", "path": "title"},
                    {"op": "remove", "path": "addresses[type eq \"work\"]"},
                    {"op": "remove", "path": "name.middleName"},
                    {"op": "remove", "path": format!("{ENTERPRISE_URN}:department")},
                    {"op": "remove", "path": ENTERPRISE_URN}
                ]),
                jane(),
            ),
            (
                "removing the last extension attribute drops the extension",
                jane_with(json!({ENTERPRISE_URN: {"department": "R&D"}})),
                json!([{"op": "remove", "path": format!("{ENTERPRISE_URN}:department")}]),
                jane(),
            ),
            (
                "remove of the whole extension",
                jane_with(json!({ENTERPRISE_URN: {"department": "R&D", "manager": manager}})),
                json!([{"op": "remove", "path": ENTERPRISE_URN}]),
                jane(),
            ),
            (
                "null in a value without path unassigns",
                jane_with(json!({"nickName": "JJ"})),
                json!([{"op": "replace", "value": {"nickName": null, "name": {"familyName": "D"}}}]),
                jane_with(json!({"name": {"givenName": "Jane", "familyName": "D"}})),
            ),
            (
                "id, schemas and meta in a value without path are ignored",
                jane(),
                json!([{"op": "replace", "value": {
                    "id": "other", "schemas": [], "meta": {"version": "W/1"}, "displayName": "J"
                }}]),
                jane_with(json!({"displayName": "J"})),
            ),
            (
                "every filter operator evaluates on the values",
                jane_with(json!({"emails": [
                    {"value": "a@work.com", "type": "work"},
                    {"value": "b@home.com", "type": "home"},
                    {"value": "c@other.com"}
                ]})),
                json!([
                    {"op": "replace", "path": "emails[value co \"WORK\"].type", "value": "w"},
                    {"op": "replace", "path": "emails[value sw \"b\" or value ew \"other.com\"].primary", "value": false},
                    {"op": "replace", "path": "emails[not (type pr)].type", "value": "o"},
                    {"op": "replace", "path": "emails[value gt \"b\" and type ne \"w\"].value", "value": "z@x.com"}
                ]),
                jane_with(json!({"emails": [
                    {"value": "a@work.com", "type": "w"},
                    {"value": "z@x.com", "type": "home", "primary": false},
                    {"value": "z@x.com", "type": "o", "primary": false}
                ]})),
            ),
        ];
        for (name, start, operations, expected) in rows {
            let got = patched(start, request(operations)).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(got, expected, "{name}");
        }
    }

    #[test]
    fn applies_group_patches() {
        let rows: Vec<(&str, Value, Value)> = vec![
            (
                "Okta: rename without path, with the group id in the value",
                json!([{"op": "replace", "value": {"id": "g-1", "displayName": "Platform"}}]),
                with(group(), json!({"displayName": "Platform"})),
            ),
            (
                "replace of externalId",
                json!([{"op": "Replace", "path": "externalId", "value": "ext-2"}]),
                with(group(), json!({"externalId": "ext-2"})),
            ),
            (
                "Okta: remove of a member by filter",
                json!([{"op": "remove", "path": "members[value eq \"u-1\"]"}]),
                with(group(), json!({"members": [{"value": "u-2"}]})),
            ),
            (
                "Entra: remove of members with a value array",
                json!([{"op": "Remove", "path": "members", "value": [{"value": "u-2"}, {"value": "u-9"}]}]),
                with(group(), json!({"members": [{"value": "u-1"}]})),
            ),
            (
                "Entra: add of members with a value array",
                json!([{"op": "Add", "path": "members", "value": [{"value": "u-2"}, {"value": "u-3"}]}]),
                with(
                    group(),
                    json!({"members": [{"value": "u-1"}, {"value": "u-2"}, {"value": "u-3"}]}),
                ),
            ),
            (
                "removing every member drops the attribute",
                json!([{"op": "remove", "path": "members", "value": [{"value": "u-1"}, {"value": "u-2"}]}]),
                with(group(), json!({"members": null})),
            ),
        ];
        for (name, operations, expected) in rows {
            let got = patched_on(&GROUP_RESOURCE, group(), request(operations))
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(got, expected, "{name}");
        }
    }

    #[test]
    fn rejects_bad_requests_with_a_detail_naming_the_fault() {
        let rows: Vec<(&str, Value, &str)> = vec![
            ("body not an object", json!([]), "unparsable"),
            (
                "schemas missing",
                json!({"Operations": [{"op": "add", "value": {}}]}),
                "schemas",
            ),
            (
                "wrong schemas",
                json!({"schemas": [USER_URN], "Operations": [{"op": "add", "value": {}}]}),
                "schemas",
            ),
            (
                "Operations missing",
                json!({"schemas": [PATCH_OP_URN]}),
                "Operations",
            ),
            ("Operations empty", request(json!([])), "Operations"),
            (
                "operation not an object",
                request(json!(["add"])),
                "operation",
            ),
            (
                "op missing",
                request(json!([{"path": "title", "value": "x"}])),
                "op attribute",
            ),
            (
                "op unknown",
                request(json!([{"op": "move", "path": "title"}])),
                "\"move\"",
            ),
            (
                "remove without path",
                request(json!([{"op": "remove"}])),
                "Missing path",
            ),
            (
                "add without value",
                request(json!([{"op": "add", "path": "title"}])),
                "value is required for add",
            ),
            (
                "replace with null",
                request(json!([{"op": "replace", "path": "title", "value": null}])),
                "value is required for replace",
            ),
            (
                "path not a string",
                request(json!([{"op": "remove", "path": 1}])),
                "path",
            ),
            (
                "bad path syntax",
                request(json!([{"op": "remove", "path": "emails[type eq"}])),
                "Invalid path \"emails[type eq\"",
            ),
            (
                "unknown attribute",
                request(json!([{"op": "add", "path": "password", "value": "x"}])),
                "Attribute \"password\" is not supported.",
            ),
            (
                "unknown attribute without path",
                request(json!([{"op": "add", "value": {"password": "x"}}])),
                "Attribute \"password\" is not supported.",
            ),
            (
                "unknown extension attribute",
                request(
                    json!([{"op": "add", "path": format!("{ENTERPRISE_URN}:manager.displayName"), "value": "x"}]),
                ),
                "manager.displayName\" is not supported.",
            ),
            (
                "unknown sub-attribute in a value",
                request(
                    json!([{"op": "add", "path": "emails", "value": [{"value": "a@x.com", "display": "A"}]}]),
                ),
                "Attribute \"emails.display\" is not supported.",
            ),
            (
                "unknown sub-attribute in a path",
                request(
                    json!([{"op": "add", "path": "emails[type eq \"work\"].display", "value": "A"}]),
                ),
                "Attribute \"emails.display\" is not supported.",
            ),
            (
                "unknown sub-attribute in a filter",
                request(json!([{"op": "remove", "path": "emails[display eq \"A\"]"}])),
                "Attribute \"emails.display\" is not supported.",
            ),
            (
                "read-only attribute",
                request(json!([{"op": "add", "path": "groups", "value": [{"value": "g-1"}]}])),
                "Attribute \"groups\" is read-only.",
            ),
            (
                "read-only attribute without path",
                request(json!([{"op": "replace", "value": {"groups": []}}])),
                "Attribute \"groups\" is read-only.",
            ),
            (
                "string for a multi-valued attribute",
                request(json!([{"op": "replace", "path": "emails", "value": "a@x.com"}])),
                "Attribute \"emails\" must be an array of objects.",
            ),
            (
                "array for a string",
                request(json!([{"op": "replace", "path": "displayName", "value": ["J"]}])),
                "Attribute \"displayName\" must be a string.",
            ),
            (
                "number for a string",
                request(json!([{"op": "replace", "value": {"name.givenName": 7}}])),
                "Attribute \"name.givenName\" must be a string.",
            ),
            (
                "word for a boolean",
                request(json!([{"op": "replace", "path": "active", "value": "maybe"}])),
                "Attribute \"active\" must be a boolean.",
            ),
            (
                "string for a complex attribute without value",
                request(json!([{"op": "replace", "path": "name", "value": "Jane"}])),
                "Attribute \"name\" must be an object.",
            ),
            (
                "value without path that is not an object",
                request(json!([{"op": "replace", "value": "Jane"}])),
                "without path must be an object",
            ),
            (
                "extension value that is not an object",
                request(json!([{"op": "replace", "path": ENTERPRISE_URN, "value": "R&D"}])),
                "must be an object",
            ),
            (
                "filter on a single-valued attribute",
                request(json!([{"op": "remove", "path": "name[givenName eq \"Jane\"]"}])),
                "single-valued",
            ),
            (
                "filter that no value matches and that describes none",
                request(
                    json!([{"op": "replace", "path": "emails[value co \"nobody\"].type", "value": "work"}]),
                ),
                "No value of \"emails\" matches",
            ),
        ];
        for (name, body, detail) in rows {
            match patched(jane(), body) {
                Err(ScimError::Validation { detail: got, .. }) => {
                    assert!(
                        got.contains(detail),
                        "{name}: {got:?} should contain {detail:?}"
                    )
                }
                other => panic!("{name}: expected a 400, got {other:?}"),
            }
        }
    }
}
