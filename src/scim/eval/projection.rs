//! Attribute selection (RFC 7644 §3.4.2.5): `attributes` names the only attributes a response
//! returns, else `excludedAttributes` those it leaves out; `id`, `schemas` and `meta` are
//! always returned. Names may be sub-attributes (`name.givenName`) or whole extensions (their
//! URN); names no resource type has are ignored.

use serde_json::{Map, Value};

use super::{Attribute, RESOURCES, resource_schema};
use crate::scim::compare::present;
use crate::scim::error::{Result, ScimError};
use crate::scim::filter::{AttrPath, PatchPath, parse_path};
use crate::scim::json;
use crate::scim::schema::{COMMON_ATTRIBUTES, ResourceSchema};

/// One name of `attributes` or `excludedAttributes`.
#[derive(Debug, Clone, PartialEq)]
enum Selected {
    /// A whole schema extension, by its URN.
    Extension(String),
    Path(AttrPath),
}

/// The attributes a response returns (RFC 7644 §3.4.2.5): only those of `attributes` if it
/// names any, else all but those of `excludedAttributes`; `id`, `schemas` and `meta` always.
/// Names no resource type has are ignored.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Projection {
    attributes: Vec<Selected>,
    excluded: Vec<Selected>,
}

impl Projection {
    /// Reads the comma-separated lists of the two parameters.
    pub fn parse(attributes: Option<&str>, excluded: Option<&str>) -> Result<Self> {
        Ok(Self {
            attributes: parse_names(attributes)?,
            excluded: parse_names(excluded)?,
        })
    }

    /// Whether a response returns the core attribute `name` (or part of it).
    pub fn returns(&self, name: &str) -> bool {
        let names = |s: &Selected, whole: bool| {
            matches!(s, Selected::Path(p) if p.urn.is_none()
                && p.attr.eq_ignore_ascii_case(name)
                && (!whole || p.sub_attr.is_none()))
        };
        if self.attributes.is_empty() {
            !self.excluded.iter().any(|s| names(s, true))
        } else {
            self.attributes.iter().any(|s| names(s, false))
        }
    }

    /// Applies the selection to a resource in its JSON form.
    pub fn apply(&self, resource: &mut Value) {
        let Some(schema) = resource_schema(resource) else {
            return;
        };
        let Value::Object(map) = resource else {
            return;
        };
        if self.attributes.is_empty() {
            for selected in &self.excluded {
                remove_selected(selected, schema, map);
            }
            return;
        }
        let mut out = Map::new();
        for common in &COMMON_ATTRIBUTES {
            if let Some(v) = map.remove(common.name) {
                out.insert(common.name.to_owned(), v);
            }
        }
        for selected in &self.attributes {
            copy_selected(selected, schema, map, &mut out);
        }
        // A sub-attribute selection leaves `{}` for values without it.
        out.retain(|_, v| {
            if let Value::Array(items) = v {
                items.retain(present_ref);
            }
            present_ref(v)
        });
        *map = out;
    }
}

fn present_ref(v: &Value) -> bool {
    present(Some(v))
}

fn parse_names(list: Option<&str>) -> Result<Vec<Selected>> {
    let mut out = Vec::new();
    for name in list.unwrap_or("").split(',').map(str::trim) {
        if name.is_empty() {
            continue;
        }
        if let Some(ext) = RESOURCES.iter().find_map(|r| r.extension(name)) {
            out.push(Selected::Extension(ext.id.to_owned()));
            continue;
        }
        let path = parse_path(name)
            .ok()
            .and_then(PatchPath::into_attr)
            .ok_or_else(|| ScimError::invalid(format!("\"{name}\" is not an attribute name.")))?;
        out.push(Selected::Path(path));
    }
    Ok(out)
}

fn copy_selected(
    selected: &Selected,
    schema: &ResourceSchema,
    from: &Map<String, Value>,
    to: &mut Map<String, Value>,
) {
    let path = match selected {
        Selected::Extension(urn) => {
            if let Some(v) = json::get(from, urn) {
                to.insert(urn.clone(), v.clone());
            }
            return;
        }
        Selected::Path(path) => path,
    };
    let Some(attr) = Attribute::resolve(schema, path) else {
        return;
    };
    let name = attr.def.name;
    let Some(value) = json::object_at(from, attr.holder).and_then(|from| json::get(from, name))
    else {
        return;
    };
    let Some(to) = json::object_at_mut(to, attr.holder, true) else {
        return;
    };
    let Some(sub) = attr.sub else {
        to.insert(name.to_owned(), value.clone());
        return;
    };
    let pick = |v: &Value| v.as_object().and_then(|o| json::get(o, sub.name)).cloned();
    match value {
        Value::Array(items) => {
            let slot = to
                .entry(name.to_owned())
                .or_insert_with(|| Value::Array(vec![Value::Object(Map::new()); items.len()]));
            if let Value::Array(slots) = slot {
                for (item, slot) in items.iter().zip(slots.iter_mut()) {
                    if let (Some(v), Value::Object(slot)) = (pick(item), slot) {
                        slot.insert(sub.name.to_owned(), v);
                    }
                }
            }
        }
        Value::Object(_) => {
            if let Some(v) = pick(value)
                && let Some(slot) = json::object_at_mut(to, &[name], true)
            {
                slot.insert(sub.name.to_owned(), v);
            }
        }
        _ => {}
    }
}

fn remove_selected(selected: &Selected, schema: &ResourceSchema, map: &mut Map<String, Value>) {
    let path = match selected {
        Selected::Extension(urn) => {
            json::take(map, urn);
            return;
        }
        Selected::Path(path) => path,
    };
    let Some(attr) = Attribute::resolve(schema, path).filter(|a| !a.is_always_returned()) else {
        return;
    };
    let Some(holder) = json::object_at_mut(map, attr.holder, false) else {
        return;
    };
    let Some(sub) = attr.sub else {
        json::take(holder, attr.def.name);
        return;
    };
    let strip = |v: &mut Value| {
        if let Some(o) = v.as_object_mut() {
            json::take(o, sub.name);
        }
    };
    match json::get_mut(holder, attr.def.name) {
        Some(Value::Array(items)) => items.iter_mut().for_each(strip),
        Some(v) => strip(v),
        None => {}
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::tests::jane;
    use super::*;
    use crate::scim::schema::ENTERPRISE_URN;

    #[test]
    fn selects_and_excludes_attributes() {
        let only = |a: &str| {
            let mut u = jane();
            Projection::parse(Some(a), None).unwrap().apply(&mut u);
            u
        };
        let u = only("userName,name.givenName,emails.value");
        assert_eq!(u["userName"], "Jane@Example.com");
        assert_eq!(u["name"], json!({"givenName": "Jane"}));
        assert_eq!(
            u["emails"],
            json!([{"value": "jane@home.example"}, {"value": "jane@work.example"}])
        );
        assert_eq!(u["id"], "u-1");
        assert!(u["meta"].is_object() && u["schemas"].is_array());
        assert!(u.get("active").is_none() && u.get(ENTERPRISE_URN).is_none());
        let u = only(&format!("{ENTERPRISE_URN}:department"));
        assert_eq!(u[ENTERPRISE_URN], json!({"department": "R&D"}));
        let u = only(ENTERPRISE_URN);
        assert_eq!(u[ENTERPRISE_URN]["manager"], json!({"value": "boss"}));

        let mut u = jane();
        let p = Projection::parse(None, Some("emails.type, active,id,groups")).unwrap();
        assert!(!p.returns("groups") && p.returns("emails"));
        p.apply(&mut u);
        assert!(u.get("active").is_none() && u.get("groups").is_none());
        assert_eq!(u["id"], "u-1");
        assert_eq!(u["emails"][0], json!({"value": "jane@home.example"}));
        assert!(Projection::parse(Some("emails[type eq \"x\"]"), None).is_err());
        assert!(Projection::default().returns("groups"));
    }
}
