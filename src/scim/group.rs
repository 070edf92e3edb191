//! The Group resource as IAM Identity Center keeps it (AWS-SCIM.md, "Groups"): `displayName`,
//! `externalId`, and `members`, which are written but never returned. PATCH is split into
//! attribute changes (through the generic engine) and a membership change set, so that a
//! group of any size is changed without being read. AWS's members are users; in the `rfc`
//! profile they may also be groups of the tenant (RFC 7643 §4.2), which the store keeps apart
//! and keeps free of loops.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::coerce;
use super::detail::{self, Constraint};
use super::error::{Result, ScimError, ScimType};
use super::filter::{CompValue, CompareOp, Filter};
use super::json;
use super::patch::{self, OpKind, PatchOp};
use super::profile::Profile;
use super::schema::{GROUP_RESOURCE, is_common};
use super::user::limits;

/// The most members a CreateGroup body may hold, and the most membership changes (values
/// added or removed) one PatchGroup may make.
pub const MAX_MEMBERS_PER_REQUEST: usize = 100;
/// The most operations one PatchGroup may hold (inferred: AWS documents the membership
/// limit only; a request cannot usefully hold more operations than changes).
pub const MAX_OPERATIONS: usize = 100;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupAttrs {
    pub display_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
}

/// A membership change set: ids to add and ids to remove, disjoint.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MemberChanges {
    pub add: Vec<String>,
    pub remove: Vec<String>,
    /// Whether an id may name a group of the tenant as well as a user (RFC 7643 §4.2, the
    /// `rfc` profile); AWS's members are users only.
    pub nested: bool,
}

impl MemberChanges {
    /// The first members of a new group, under the rules of `profile`.
    pub fn first(members: Vec<String>, profile: Profile) -> Self {
        Self {
            add: members,
            remove: Vec::new(),
            nested: profile == Profile::Rfc,
        }
    }
}

/// What a PatchGroup does.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupPatch {
    /// The operations that change attributes, to apply to the current group.
    attr_ops: Vec<PatchOp>,
    pub members: MemberChanges,
    /// The members after the patch, when it replaces them all (the `rfc` profile only).
    replacement: Option<Vec<String>>,
}

/// What one operation does to the members.
enum MemberOp {
    Add(Vec<String>),
    Remove(Vec<String>),
    Replace(Vec<String>),
}

/// The membership changes of a patch, operation after operation.
#[derive(Default)]
struct Changes {
    add: BTreeSet<String>,
    remove: BTreeSet<String>,
    replacement: Option<BTreeSet<String>>,
    count: usize,
}

impl Changes {
    fn record(&mut self, op: MemberOp) {
        let (ids, adding) = match op {
            MemberOp::Add(ids) => (ids, true),
            MemberOp::Remove(ids) => (ids, false),
            MemberOp::Replace(ids) => {
                self.add.clear();
                self.remove.clear();
                self.replacement = Some(BTreeSet::new());
                (ids, true)
            }
        };
        self.count += ids.len();
        for id in ids {
            match (&mut self.replacement, adding) {
                (Some(set), true) => {
                    set.insert(id);
                }
                (Some(set), false) => {
                    set.remove(&id);
                }
                (None, true) => {
                    self.remove.remove(&id);
                    self.add.insert(id);
                }
                (None, false) => {
                    self.add.remove(&id);
                    self.remove.insert(id);
                }
            }
        }
    }
}

impl GroupAttrs {
    /// Validates a CreateGroup body; returns the attributes and the member ids.
    pub fn from_request(body: Value) -> Result<(Self, Vec<String>)> {
        Self::from_request_as(body, Profile::Aws)
    }

    /// Validates a create (or, in the `rfc` profile, replace) body with the rules of a
    /// profile: AWS's limit on the members of one request applies in the `aws` profile only.
    pub fn from_request_as(body: Value, profile: Profile) -> Result<(Self, Vec<String>)> {
        let Value::Object(mut body) = body else {
            return Err(ScimError::unparsable());
        };
        let members = match json::take(&mut body, "members") {
            None | Some(Value::Null) => Vec::new(),
            Some(v) => member_ids(&v)?,
        };
        if profile == Profile::Aws && members.len() > MAX_MEMBERS_PER_REQUEST {
            return Err(ScimError::too_many(format!(
                "A group can be created with at most {MAX_MEMBERS_PER_REQUEST} members."
            )));
        }
        let members: BTreeSet<String> = members.into_iter().collect();
        Ok((Self::from_json(body)?, members.into_iter().collect()))
    }

    fn from_json(body: Map<String, Value>) -> Result<Self> {
        let canonical = coerce::resource(body, &GROUP_RESOURCE)?;
        let attrs: Self = serde_json::from_value(Value::Object(canonical))
            .map_err(|_| ScimError::invalid(detail::required("displayName")))?;
        // The limits, and whether a value of spaces only is allowed.
        let lengths = [
            (
                "displayName",
                Some(&attrs.display_name),
                limits::STRING,
                false,
            ),
            (
                "externalId",
                attrs.external_id.as_ref(),
                limits::EXTERNAL_ID,
                true,
            ),
        ];
        for (name, value, max, blank_ok) in lengths {
            let Some(value) = value else {
                continue;
            };
            if value.is_empty() || (!blank_ok && value.trim().is_empty()) {
                return Err(ScimError::invalid(detail::required(name)));
            }
            if value.chars().count() > max {
                return Err(ScimError::invalid(detail::validation(
                    name,
                    &[Constraint::MaxLength(max)],
                )));
            }
        }
        Ok(attrs)
    }

    /// The lowercase display name, unique per tenant.
    pub fn display_name_key(&self) -> String {
        self.display_name.to_lowercase()
    }

    fn to_json(&self) -> Map<String, Value> {
        json::to_object(self)
    }
}

impl GroupPatch {
    /// Splits a PatchGroup into attribute operations and membership changes, with AWS's rules:
    /// only `displayName`, `externalId` and `members`; no replacing or removing all members; at
    /// most 100 membership changes and 100 operations; only `eq` in value filters.
    pub fn plan(ops: Vec<PatchOp>) -> Result<Self> {
        Self::plan_as(ops, Profile::Aws)
    }

    /// Plans a PatchGroup with the rules of a profile: AWS's (see [`GroupPatch::plan`]), or
    /// the RFC's, where `replace` of `members` and `remove` of `members` without a value set
    /// the members, and no limit applies.
    pub fn plan_as(ops: Vec<PatchOp>, profile: Profile) -> Result<Self> {
        let aws = profile == Profile::Aws;
        if aws && ops.len() > MAX_OPERATIONS {
            return Err(ScimError::too_many(format!(
                "A request may hold at most {MAX_OPERATIONS} operations."
            )));
        }
        if aws {
            patch::check_only_eq(&ops)?;
        }
        let mut attr_ops = Vec::new();
        let mut changes = Changes::default();
        for mut op in ops {
            match &op.path {
                Some(path) if path.attr.attr.eq_ignore_ascii_case("members") => {
                    changes.record(member_op(&op, profile)?);
                }
                Some(_) => attr_ops.push(op),
                None => {
                    if aws && attributes_named(op.value.as_ref()) > 1 {
                        return Err(ScimError::invalid(detail::PATH_LESS_SINGLE_ATTRIBUTE));
                    }
                    let members = match op.value.as_mut() {
                        Some(Value::Object(map)) => json::take(map, "members"),
                        _ => None,
                    };
                    if let Some(members) = members {
                        if aws && op.op == OpKind::Replace {
                            return Err(ScimError::invalid(detail::REPLACE_MEMBERS));
                        }
                        let ids = member_ids(&members)?;
                        changes.record(match op.op {
                            OpKind::Replace => MemberOp::Replace(ids),
                            OpKind::Remove => MemberOp::Remove(ids),
                            OpKind::Add => MemberOp::Add(ids),
                        });
                    }
                    if op.value.as_ref().is_some_and(has_attributes) {
                        attr_ops.push(op);
                    }
                }
            }
        }
        // AWS names no limit here: it answers its generic 400 (issue threads, 2022 and 2026).
        if aws && changes.count > MAX_MEMBERS_PER_REQUEST {
            return Err(ScimError::validation(ScimType::TooMany, detail::UNPARSABLE));
        }
        Ok(Self {
            attr_ops,
            members: MemberChanges {
                add: changes.add.into_iter().collect(),
                remove: changes.remove.into_iter().collect(),
                nested: !aws,
            },
            replacement: changes.replacement.map(|r| r.into_iter().collect()),
        })
    }

    /// Whether the patch sets the members, so that the current ones must be known.
    pub fn replaces_members(&self) -> bool {
        self.replacement.is_some()
    }

    /// The membership change set, given the current members when the patch replaces them.
    pub fn member_changes(&self, current: &[String]) -> MemberChanges {
        match &self.replacement {
            None => self.members.clone(),
            Some(wanted) => replace_members(current, wanted, self.members.nested),
        }
    }

    /// Whether the patch changes `displayName` or `externalId`.
    pub fn changes_attributes(&self) -> bool {
        !self.attr_ops.is_empty()
    }

    /// The attributes after the patch.
    pub fn apply(&self, current: &GroupAttrs) -> Result<GroupAttrs> {
        let mut json = current.to_json();
        patch::apply(&mut json, &self.attr_ops, &GROUP_RESOURCE)?;
        GroupAttrs::from_json(json)
    }
}

/// The change set that turns the members `current` into `wanted`.
pub fn replace_members(current: &[String], wanted: &[String], nested: bool) -> MemberChanges {
    let current: BTreeSet<&String> = current.iter().collect();
    let wanted: BTreeSet<&String> = wanted.iter().collect();
    MemberChanges {
        add: wanted.difference(&current).map(|s| (*s).clone()).collect(),
        remove: current.difference(&wanted).map(|s| (*s).clone()).collect(),
        nested,
    }
}

/// Whether a no-path value still names an attribute once `members` is taken out.
fn has_attributes(value: &Value) -> bool {
    match value {
        Value::Object(map) => map.keys().any(|k| !is_common(k)),
        _ => true,
    }
}

/// How many attributes a no-path value names: `members`, `displayName` and `externalId`
/// count, the `id` Okta sends along does not (AWS was seen to refuse a whole group, and the
/// guide documents `{"id", "displayName"}`).
fn attributes_named(value: Option<&Value>) -> usize {
    match value {
        Some(Value::Object(map)) => map.keys().filter(|k| !is_common(k)).count(),
        _ => 0,
    }
}

/// What an operation on path `members...` does to the members.
fn member_op(op: &PatchOp, profile: Profile) -> Result<MemberOp> {
    let path = op.path.as_ref().expect("member_op is called with a path");
    if path.sub_attr.is_some() || path.attr.sub_attr.is_some() {
        return Err(ScimError::invalid(
            "Only whole members can be added or removed.",
        ));
    }
    let rfc = profile == Profile::Rfc;
    match (op.op, &path.filter, &op.value) {
        (OpKind::Replace, None, Some(v)) if rfc => member_ids(v).map(MemberOp::Replace),
        (OpKind::Replace, _, _) => Err(ScimError::invalid(detail::REPLACE_MEMBERS)),
        (OpKind::Add, None, Some(v)) => member_ids(v).map(MemberOp::Add),
        (OpKind::Remove, None, Some(v)) => member_ids(v).map(MemberOp::Remove),
        (OpKind::Remove, None, None) if rfc => Ok(MemberOp::Replace(Vec::new())),
        // Inferred: never captured; AWS refuses replacing the members, and the guide says
        // removing them all is refused alike.
        (OpKind::Remove, None, None) => Err(ScimError::invalid(
            "Removing all group memberships is not supported.",
        )),
        (OpKind::Remove, Some(filter), _) => match filter {
            Filter::Compare(p, CompareOp::Eq, CompValue::Str(id))
                if p.urn.is_none()
                    && p.sub_attr.is_none()
                    && p.attr.eq_ignore_ascii_case("value") =>
            {
                Ok(MemberOp::Remove(vec![id.clone()]))
            }
            _ => Err(ScimError::invalid(
                "Members can only be selected with members[value eq \"<id>\"].",
            )),
        },
        (OpKind::Add, Some(_), _) => Err(ScimError::invalid(
            "Members are added with path \"members\" and a value array.",
        )),
        (OpKind::Add, None, None) => Err(patch::value_required(OpKind::Add)),
    }
}

/// Ids from `[{"value": "<id>"}, ...]` (or one such object). Okta adds `display`, others
/// `$ref` or `type`: those are ignored; anything else is refused.
fn member_ids(value: &Value) -> Result<Vec<String>> {
    let not_objects = || ScimError::wrong_type("members", "an array of objects");
    let items: &[Value] = match value {
        Value::Array(items) => items,
        Value::Object(_) => std::slice::from_ref(value),
        _ => return Err(not_objects()),
    };
    items
        .iter()
        .map(|item| {
            let Value::Object(map) = item else {
                return Err(not_objects());
            };
            let mut id = None;
            for (k, v) in map {
                if k.eq_ignore_ascii_case("value") {
                    id = v.as_str().filter(|s| !s.is_empty());
                } else if !["display", "$ref", "type"]
                    .iter()
                    .any(|a| a.eq_ignore_ascii_case(k))
                {
                    return Err(ScimError::unsupported_attribute(&format!("members.{k}")));
                }
            }
            let id = id.ok_or_else(|| {
                ScimError::invalid("Each member needs a \"value\" with a user id.")
            })?;
            coerce::text("members.value", id)?;
            Ok(id.to_owned())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scim::patch::tests::request;
    use serde_json::json;

    fn plan(ops: Value) -> Result<GroupPatch> {
        GroupPatch::plan(patch::parse_request(request(ops))?)
    }

    fn ids(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn the_rfc_profile_replaces_members() {
        let rfc = |ops: Value| {
            GroupPatch::plan_as(patch::parse_request(request(ops)).unwrap(), Profile::Rfc).unwrap()
        };
        let p = rfc(json!([
            {"op": "replace", "path": "members", "value": [{"value": "a"}, {"value": "b"}]},
            {"op": "add", "path": "members", "value": [{"value": "c"}]},
            {"op": "remove", "path": "members[value eq \"a\"]"},
        ]));
        assert!(p.replaces_members());
        let current = ids(&["a", "d"]);
        assert_eq!(
            p.member_changes(&current),
            MemberChanges {
                add: ids(&["b", "c"]),
                remove: ids(&["a", "d"]),
                nested: true,
            }
        );
        let p = rfc(json!([{"op": "remove", "path": "members"}]));
        assert_eq!(p.member_changes(&current).remove, current);
        let p = rfc(json!([{"op": "replace", "value": {"members": [{"value": "d"}]}}]));
        assert_eq!(
            p.member_changes(&current),
            MemberChanges {
                add: vec![],
                remove: ids(&["a"]),
                nested: true,
            }
        );
        let many: Vec<Value> = (0..150)
            .map(|i| json!({"value": format!("u{i}")}))
            .collect();
        let p = rfc(json!([{"op": "add", "path": "members", "value": many}]));
        assert!(!p.replaces_members() && p.members.add.len() == 150);
        assert!(p.members.nested, "members may be groups");
    }

    #[test]
    fn create_body_gives_attributes_and_members() {
        let (attrs, members) = GroupAttrs::from_request(json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
            "displayName": "Eng", "externalId": "x",
            "members": [{"value": "b", "display": "B"}, {"value": "a"}, {"value": "b"}],
        }))
        .unwrap();
        assert_eq!(
            attrs,
            GroupAttrs {
                display_name: "Eng".into(),
                external_id: Some("x".into())
            }
        );
        assert_eq!(members, ids(&["a", "b"]));
        let (_, none) =
            GroupAttrs::from_request(json!({"displayName": "E", "members": []})).unwrap();
        assert!(none.is_empty());
    }

    #[test]
    fn create_body_errors() {
        let too_many: Vec<Value> = (0..101)
            .map(|i| json!({"value": format!("u{i}")}))
            .collect();
        for body in [
            json!({}),
            json!({"displayName": ""}),
            json!({"displayName": "x".repeat(1025)}),
            json!({"displayName": "E", "externalId": "x".repeat(257)}),
            json!({"displayName": "E", "members": too_many}),
            json!({"displayName": "E", "members": "u1"}),
            json!({"displayName": "E", "members": [{"id": "u1"}]}),
            json!({"displayName": "E", "owner": "me"}),
            json!([]),
        ] {
            assert!(
                matches!(
                    GroupAttrs::from_request(body.clone()),
                    Err(ScimError::Validation { .. })
                ),
                "{body}"
            );
        }
    }

    #[test]
    fn member_operations_become_a_change_set() {
        let p = plan(json!([
            {"op": "Add", "path": "members", "value": [{"value": "u1"}, {"value": "u2", "display": "x"}]},
            {"op": "Remove", "path": "members", "value": [{"value": "u3"}]},
            {"op": "remove", "path": "members[value eq \"u2\"]"},
            {"op": "add", "value": {"members": [{"value": "u4"}]}},
        ]))
        .unwrap();
        assert_eq!(p.members.add, ids(&["u1", "u4"]));
        assert_eq!(p.members.remove, ids(&["u2", "u3"]));
        assert!(!p.changes_attributes());
        assert!(!p.members.nested, "AWS's members are users");
    }

    #[test]
    fn renames_in_both_forms() {
        let current = GroupAttrs {
            display_name: "Old".into(),
            external_id: None,
        };
        for ops in [
            json!([{"op": "replace", "path": "displayName", "value": "New"}]),
            json!([{"op": "replace", "value": {"id": "g1", "displayName": "New"}}]),
        ] {
            let p = plan(ops).unwrap();
            assert!(p.changes_attributes());
            assert_eq!(p.apply(&current).unwrap().display_name, "New");
        }
        let p = plan(json!([{"op": "add", "path": "externalId", "value": "e"}])).unwrap();
        assert_eq!(p.apply(&current).unwrap().external_id.as_deref(), Some("e"));
        let p = plan(json!([{"op": "remove", "path": "displayName"}])).unwrap();
        assert!(p.apply(&current).is_err());
    }

    #[test]
    fn aws_refusals() {
        let hundred_and_one: Vec<Value> = (0..101)
            .map(|i| json!({"value": format!("u{i}")}))
            .collect();
        let many_ops: Vec<Value> = (0..101)
            .map(|i| json!({"op": "add", "path": "members", "value": [{"value": format!("u{i}")}]}))
            .collect();
        for ops in [
            json!([{"op": "replace", "path": "members", "value": [{"value": "u1"}]}]),
            json!([{"op": "remove", "path": "members"}]),
            json!([{"op": "replace", "value": {"members": [{"value": "u1"}]}}]),
            json!([{"op": "add", "path": "members", "value": hundred_and_one}]),
            Value::Array(many_ops),
            json!([{"op": "remove", "path": "members[value ne \"u1\"]"}]),
            json!([{"op": "remove", "path": "members[display eq \"u1\"]"}]),
            json!([{"op": "add", "path": "members[value eq \"u1\"]", "value": "x"}]),
            json!([{"op": "add", "path": "members", "value": "u1"}]),
            json!([{"op": "add", "path": "owner", "value": "u1"}]),
        ] {
            let r = plan(ops.clone()).and_then(|p| {
                p.apply(&GroupAttrs {
                    display_name: "G".into(),
                    external_id: None,
                })
            });
            assert!(
                matches!(r, Err(ScimError::Validation { .. })),
                "{ops}: {r:?}"
            );
        }
        // Exactly 100 changes is fine.
        let hundred: Vec<Value> = (0..100)
            .map(|i| json!({"value": format!("u{i}")}))
            .collect();
        assert_eq!(
            plan(json!([{"op": "add", "path": "members", "value": hundred}]))
                .unwrap()
                .members
                .add
                .len(),
            100
        );
    }
}
