//! The values a client sends, checked against the attribute types of the schema (RFC 7643
//! §2.3, §7) and rewritten as the server keeps them: under canonical names, of their types.
//!
//! A value is read one of two ways ([`Reading`]): as part of a create or replace body, which is
//! checked as strictly as IAM Identity Center checks it, or as the value of a PATCH operation
//! (RFC 7644 §3.5.2), which takes the forms identity providers send (IDP-CLIENTS.md). Every
//! string is checked against the Identity Store's characters here (`text`).

use serde_json::{Map, Value};

use super::error::{Result, ScimError};
use super::schema::{AttrDef, AttrType, ResourceSchema, SchemaDef, is_common};
use crate::text::Class;

/// How a value is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reading {
    /// In a create or replace body (POST, PUT): values of their exact types, an array for a
    /// multi-valued attribute, and null meaning absent.
    Body,
    /// As the value of a PATCH operation: booleans may be strings (`"False"`), one value may
    /// stand for an array of one, a string for `{"value": string}` (Entra ID's `manager`), and
    /// sub-attributes set to null are kept, for the merge to unassign them. Elements left
    /// empty are dropped.
    Patch,
}

/// Checks a resource body (POST, PUT) against its schema and rewrites it with canonical
/// names: unknown and read-only attributes are refused by name, null means absent, types must
/// match. `id`, `meta` and `schemas` are dropped.
pub fn resource(body: Map<String, Value>, schema: &ResourceSchema) -> Result<Map<String, Value>> {
    let mut out = Map::new();
    for (key, value) in body {
        if is_common(&key) {
            continue;
        }
        let Some(ext) = schema.extension(&key) else {
            put(&mut out, schema.core, &key, &value)?;
            continue;
        };
        match value {
            Value::Null => {}
            Value::Object(members) => {
                let mut ext_out = Map::new();
                for (k, v) in &members {
                    put(&mut ext_out, ext, k, v)?;
                }
                out.insert(ext.id.to_owned(), Value::Object(ext_out));
            }
            _ => return Err(ScimError::wrong_type(ext.id, "an object")),
        }
    }
    Ok(out)
}

/// Puts the attribute `key` of `schema`, read from a body, into `out` under its canonical name.
fn put(out: &mut Map<String, Value>, schema: &SchemaDef, key: &str, value: &Value) -> Result<()> {
    let def = schema
        .attr(key)
        .ok_or_else(|| ScimError::unsupported_attribute(key))?;
    if def.mutability == "readOnly" {
        return Err(ScimError::read_only(def.name));
    }
    let value = match value {
        Value::Null => return Ok(()),
        v if def.multi_valued => Value::Array(multi(def, v, def.name, Reading::Body)?),
        v => single(def, v, def.name, Reading::Body)?,
    };
    out.insert(def.name.to_owned(), value);
    Ok(())
}

/// Checks a string a client sent for an attribute (or an id) against the characters the
/// Identity Store holds (`text::Class::Identity`), before it can reach a database.
pub fn text(label: &str, s: &str) -> Result<()> {
    if Class::Identity.admits_all(s) {
        Ok(())
    } else {
        Err(ScimError::invalid_characters(label))
    }
}

/// One (non-null) value of the attribute or sub-attribute `def`, named `label` in details.
pub fn single(def: &AttrDef, value: &Value, label: &str, reading: Reading) -> Result<Value> {
    match (def.ty, value) {
        (AttrType::String | AttrType::Reference | AttrType::DateTime, Value::String(s)) => {
            text(label, s)?;
            Ok(value.clone())
        }
        (AttrType::String | AttrType::Reference | AttrType::DateTime, _) => {
            Err(ScimError::wrong_type(label, "a string"))
        }
        (AttrType::Boolean, Value::Bool(_)) => Ok(value.clone()),
        (AttrType::Boolean, Value::String(s)) if reading == Reading::Patch => {
            match s.to_ascii_lowercase().as_str() {
                "true" => Ok(Value::Bool(true)),
                "false" => Ok(Value::Bool(false)),
                _ => Err(ScimError::wrong_type(label, "a boolean")),
            }
        }
        (AttrType::Boolean, _) => Err(ScimError::wrong_type(label, "a boolean")),
        (AttrType::Complex, _) => object(def, value, label, reading).map(Value::Object),
    }
}

/// The sub-attributes of one value of the complex attribute `def`, under their canonical
/// names.
pub fn object(
    def: &AttrDef,
    value: &Value,
    label: &str,
    reading: Reading,
) -> Result<Map<String, Value>> {
    match (value, reading) {
        (Value::Object(given), _) => {
            let mut out = Map::new();
            for (key, v) in given {
                let sub = def
                    .sub(key)
                    .ok_or_else(|| ScimError::unsupported_attribute(&format!("{label}.{key}")))?;
                let sub_label = format!("{label}.{}", sub.name);
                if sub.mutability == "readOnly" {
                    return Err(ScimError::read_only(&sub_label));
                }
                let v = match (v, reading) {
                    (Value::Null, Reading::Body) => continue,
                    (Value::Null, Reading::Patch) => Value::Null,
                    (v, _) => single(sub, v, &sub_label, reading)?,
                };
                out.insert(sub.name.to_owned(), v);
            }
            Ok(out)
        }
        (Value::String(_), Reading::Patch) if !def.multi_valued => match def.sub("value") {
            Some(sub) => {
                let v = single(sub, value, &format!("{label}.{}", sub.name), reading)?;
                Ok(Map::from_iter([(sub.name.to_owned(), v)]))
            }
            None => Err(ScimError::wrong_type(label, "an object")),
        },
        _ => Err(ScimError::wrong_type(label, "an object")),
    }
}

/// The values of the multi-valued attribute `def`; null values are dropped.
pub fn multi(def: &AttrDef, value: &Value, label: &str, reading: Reading) -> Result<Vec<Value>> {
    let complex = def.ty == AttrType::Complex;
    // What a value that is not an array, and an element that is not an object, must be.
    let (array, element) = match reading {
        Reading::Body => ("an array", "an object"),
        Reading::Patch => ("an array of objects", "an array of objects"),
    };
    let given = match (value, reading) {
        (Value::Array(items), _) => items.as_slice(),
        (_, Reading::Body) => return Err(ScimError::wrong_type(label, array)),
        (Value::Object(_), Reading::Patch) if complex => std::slice::from_ref(value),
        (_, Reading::Patch) if complex => return Err(ScimError::wrong_type(label, array)),
        (_, Reading::Patch) => std::slice::from_ref(value),
    };
    let mut out = Vec::with_capacity(given.len());
    for item in given.iter().filter(|v| !v.is_null()) {
        if !complex {
            out.push(single(def, item, label, reading)?);
            continue;
        }
        if !item.is_object() {
            return Err(ScimError::wrong_type(label, element));
        }
        let mut obj = object(def, item, label, reading)?;
        obj.retain(|_, v| !v.is_null());
        if !(obj.is_empty() && reading == Reading::Patch) {
            out.push(Value::Object(obj));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::scim::schema::{ENTERPRISE_URN, USER_RESOURCE};

    fn attr(name: &str) -> &'static AttrDef {
        USER_RESOURCE.core.attr(name).expect("a user attribute")
    }

    fn detail(e: ScimError) -> String {
        e.status_and_detail().1.to_owned()
    }

    #[test]
    fn a_body_is_read_strictly_and_a_patch_value_leniently() {
        let active = attr("active");
        let word = json!("False");
        assert_eq!(
            detail(single(active, &word, "active", Reading::Body).unwrap_err()),
            "Attribute \"active\" must be a boolean."
        );
        assert_eq!(
            single(active, &word, "active", Reading::Patch),
            Ok(json!(false))
        );

        let emails = attr("emails");
        let one = json!({"value": "a@x.y", "type": null});
        assert_eq!(
            detail(multi(emails, &one, "emails", Reading::Body).unwrap_err()),
            "Attribute \"emails\" must be an array."
        );
        assert_eq!(
            multi(emails, &one, "emails", Reading::Patch),
            Ok(vec![json!({"value": "a@x.y"})])
        );
        let with_empty = json!([{}, null, {"value": "b@x.y"}]);
        assert_eq!(
            multi(emails, &with_empty, "emails", Reading::Body),
            Ok(vec![json!({}), json!({"value": "b@x.y"})])
        );
        assert_eq!(
            multi(emails, &with_empty, "emails", Reading::Patch),
            Ok(vec![json!({"value": "b@x.y"})])
        );
        assert_eq!(
            detail(multi(emails, &json!(["a@x.y"]), "emails", Reading::Body).unwrap_err()),
            "Attribute \"emails\" must be an object."
        );

        let name = attr("name");
        let partial = json!({"GivenName": "J", "middleName": null});
        assert_eq!(
            object(name, &partial, "name", Reading::Body),
            Ok(Map::from_iter([("givenName".into(), json!("J"))]))
        );
        assert_eq!(
            Value::Object(object(name, &partial, "name", Reading::Patch).unwrap()),
            json!({"givenName": "J", "middleName": null})
        );
        let manager = USER_RESOURCE.extensions[0].attr("manager").unwrap();
        assert_eq!(
            Value::Object(object(manager, &json!("m-1"), "manager", Reading::Patch).unwrap()),
            json!({"value": "m-1"})
        );
        assert!(object(manager, &json!("m-1"), "manager", Reading::Body).is_err());
    }

    #[test]
    fn a_resource_gets_canonical_names() {
        let body = json!({
            "ID": "ignored", "USERNAME": "j", "title": null,
            ENTERPRISE_URN.to_uppercase(): {"Department": "R&D"},
        });
        let Value::Object(body) = body else {
            unreachable!()
        };
        assert_eq!(
            Value::Object(resource(body, &USER_RESOURCE).unwrap()),
            json!({"userName": "j", ENTERPRISE_URN: {"department": "R&D"}})
        );
        let groups = Map::from_iter([("groups".into(), json!([]))]);
        assert_eq!(
            detail(resource(groups, &USER_RESOURCE).unwrap_err()),
            "Attribute \"groups\" is read-only."
        );
    }
}
