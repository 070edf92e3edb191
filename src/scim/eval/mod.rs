//! SCIM queries evaluated in memory on resources in their JSON representation, for the `rfc`
//! profile: filters (RFC 7644 §3.4.2.2, `filter`), sorting (§3.4.2.3, `sort`) and attribute
//! selection (§3.4.2.5, `projection`). Pure: no HTTP, no SQL.
//!
//! This module resolves the attribute paths those name against the resource types: names are
//! case-insensitive, the common attributes (`id`, `schemas`, `meta`) belong to every type, and
//! a URN prefix reaches an extension's attributes.

mod filter;
mod projection;
mod sort;

use serde_json::Value;

pub use filter::{check_filter, matches};
pub use projection::Projection;
pub use sort::{check_sort, sort};

use super::filter::AttrPath;
use super::json;
use super::schema::{
    AttrDef, AttrType, GROUP_RESOURCE, ResourceSchema, USER_RESOURCE, common_attribute, is_common,
};

/// The resource types, as `meta.resourceType` names them.
pub const RESOURCES: [&ResourceSchema; 2] = [&USER_RESOURCE, &GROUP_RESOURCE];

/// The resource type of a resource in its JSON form, by `meta.resourceType`.
pub fn resource_schema(resource: &Value) -> Option<&'static ResourceSchema> {
    let name = resource.get("meta")?.get("resourceType")?.as_str()?;
    RESOURCES.iter().copied().find(|r| r.name == name)
}

/// An attribute that a filter, a sort or a selection names, resolved against a resource type.
#[derive(Debug, Clone, Copy)]
struct Attribute {
    /// The members leading to the object that holds the attribute: none, or an extension URN.
    holder: &'static [&'static str],
    def: &'static AttrDef,
    sub: Option<&'static AttrDef>,
}

impl Attribute {
    fn resolve(resource: &ResourceSchema, path: &AttrPath) -> Option<Self> {
        let (holder, def) = match &path.urn {
            None => (
                &[][..],
                common_attribute(&path.attr).or_else(|| resource.core.attr(&path.attr))?,
            ),
            Some(urn) => {
                let (schema, def) = resource.resolve(Some(urn), &path.attr)?;
                (resource.holder(schema), def)
            }
        };
        let sub = match &path.sub_attr {
            Some(name) => Some(def.sub(name)?),
            None => None,
        };
        Some(Self { holder, def, sub })
    }

    /// The key of the compared values inside each value: the sub-attribute, or the `value` of
    /// a complex attribute named alone.
    fn key(&self) -> Option<&'static str> {
        self.sub
            .map(|s| s.name)
            .or((self.def.ty == AttrType::Complex).then_some("value"))
    }

    /// The definition of the compared values.
    fn leaf(&self) -> Option<&'static AttrDef> {
        match (self.sub, self.def.ty) {
            (Some(sub), _) => Some(sub),
            (None, AttrType::Complex) => self.def.sub("value"),
            (None, _) => Some(self.def),
        }
    }

    /// `id`, `schemas` and `meta`, returned whatever `attributes` and `excludedAttributes` say.
    fn is_always_returned(&self) -> bool {
        self.holder.is_empty() && is_common(self.def.name)
    }

    /// The attribute's values: the elements of a multi-valued one, or the one value.
    fn items<'a>(&self, resource: &'a Value) -> Vec<&'a Value> {
        let holder = resource
            .as_object()
            .and_then(|top| json::object_at(top, self.holder));
        match holder.and_then(|h| json::get(h, self.def.name)) {
            Some(Value::Array(items)) => items.iter().collect(),
            Some(Value::Null) | None => Vec::new(),
            Some(v) => vec![v],
        }
    }

    /// The compared values, one per element that has one.
    fn values<'a>(&self, resource: &'a Value) -> Vec<&'a Value> {
        let key = self.key();
        self.items(resource)
            .into_iter()
            .filter_map(|item| match key {
                Some(k) => item.as_object().and_then(|m| json::get(m, k)),
                None => Some(item),
            })
            .filter(|v| !v.is_null())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use crate::scim::schema::ENTERPRISE_URN;

    /// A user as the `rfc` routes render it.
    pub(super) fn jane() -> Value {
        json!({
            "id": "u-1",
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE_URN],
            "meta": {"resourceType": "User", "created": "2026-01-01T00:00:00Z",
                     "lastModified": "2026-01-02T10:00:00Z", "version": "W/\"2\""},
            "userName": "Jane@Example.com",
            "externalId": "Ext-1",
            "name": {"givenName": "Jane", "familyName": "Doe"},
            "active": true,
            "emails": [{"value": "jane@home.example", "type": "home"},
                       {"value": "jane@work.example", "type": "work", "primary": true}],
            ENTERPRISE_URN: {"department": "R&D", "manager": {"value": "boss"}},
            "groups": [{"value": "g-1"}],
        })
    }
}
