//! The PATCH engine: applies `add`, `replace` and `remove` operations (RFC 7644 §3.5.2.1 to
//! §3.5.2.3), in order, to a resource in its JSON form.
//!
//! The JSON form: core attributes at the top level, extension attributes in an object under the
//! extension URN, multi-valued attributes as arrays, all under their canonical names (as spelled
//! in `schema.rs`). Keys `id`, `meta` and `schemas` are never read nor written: the caller keeps
//! `schemas` in step with the extensions present. Following RFC 7643 §2.5, null, an empty
//! array and an empty object mean "unassigned": the engine removes such attributes rather than
//! storing them, and drops an extension object once it is empty.
//!
//! Besides the RFC forms, it takes what identity providers send (IDP-CLIENTS.md): dotted keys
//! and extension URN keys inside a value without path (`{"name.familyName": "D"}`), ids and
//! schemas inside a value without path (ignored), a filtered path that creates the element it
//! names when nothing matches (`emails[type eq "work"].value`), a value that selects the
//! elements to remove (`members` with `[{"value": "<id>"}]`), and the value forms of
//! [`Reading::Patch`].

use serde_json::{Map, Value};

use super::{OpKind, PatchOp, path_required, value_required};
use crate::scim::coerce::{self, Reading};
use crate::scim::compare::str_eq;
use crate::scim::error::{Result, ScimError};
use crate::scim::filter::{CompValue, CompareOp, Filter, PatchPath, parse_path};
use crate::scim::json;
use crate::scim::schema::{AttrDef, AttrType, ResourceSchema, SchemaDef, is_common};
use crate::scim::value_filter::{self, Context};

fn no_target(name: &str) -> ScimError {
    ScimError::no_target(format!(
        "No value of \"{name}\" matches the filter of the path."
    ))
}

/// Applies the operations, in order, to a resource in its JSON form (see the module doc).
///
/// On error the resource may be left partly modified: the caller applies the operations to a
/// copy and discards it on error, so the engine does not roll back.
pub fn apply(
    resource: &mut Map<String, Value>,
    ops: &[PatchOp],
    schema: &ResourceSchema,
) -> Result<()> {
    let engine = Engine { schema };
    for op in ops {
        if op.op != OpKind::Remove && op.value.as_ref().is_none_or(Value::is_null) {
            return Err(value_required(op.op));
        }
        match (&op.path, &op.value) {
            (Some(path), value) => {
                engine.apply_path(resource, op.op, path, None, value.as_ref())?
            }
            (None, Some(value)) if op.op != OpKind::Remove => {
                engine.apply_object(resource, op.op, value, None)?;
            }
            (None, _) => return Err(path_required()),
        }
        for ext in schema.extensions {
            if resource
                .get(ext.id)
                .is_some_and(|e| e.as_object().is_some_and(Map::is_empty))
            {
                resource.remove(ext.id);
            }
        }
    }
    Ok(())
}

/// What a path names: a whole extension object, or an attribute.
enum Resolved<'p> {
    Extension(&'static SchemaDef),
    Attr(Target<'p>),
}

/// An attribute, with the value filter and the sub-attribute of the path.
struct Target<'p> {
    /// The members leading to the object that holds the attribute (`ResourceSchema::holder`).
    holder: &'static [&'static str],
    def: &'static AttrDef,
    filter: Option<&'p Filter>,
    sub: Option<&'static AttrDef>,
    /// The canonical name, for error details: `emails`, or `urn:...:User:manager` for an
    /// extension attribute.
    label: String,
}

impl Target<'_> {
    fn sub_label(&self, sub: &AttrDef) -> String {
        format!("{}.{}", self.label, sub.name)
    }
}

struct Engine<'s> {
    schema: &'s ResourceSchema,
}

impl Engine<'_> {
    /// Applies every attribute of a value without path (`scope` None), or of a value for a
    /// whole extension (`scope` that extension), as if each key were a path.
    fn apply_object(
        &self,
        resource: &mut Map<String, Value>,
        kind: OpKind,
        value: &Value,
        scope: Option<&'static SchemaDef>,
    ) -> Result<()> {
        let Value::Object(attrs) = value else {
            return Err(match scope {
                None => ScimError::invalid(format!(
                    "The value of a {} operation without path must be an object.",
                    kind.as_str()
                )),
                Some(ext) => ScimError::wrong_type(ext.id, "an object"),
            });
        };
        for (key, value) in attrs {
            if scope.is_none() {
                // Okta sends the `id` of the resource.
                if is_common(key) {
                    continue;
                }
                if let Some(ext) = self.schema.extension(key) {
                    self.apply_extension(resource, kind, ext, Some(value))?;
                    continue;
                }
            }
            let path = parse_path(key).map_err(|_| ScimError::unsupported_attribute(key))?;
            if path.filter.is_some() {
                return Err(ScimError::unsupported_attribute(key));
            }
            self.apply_path(resource, kind, &path, scope, Some(value))?;
        }
        Ok(())
    }

    fn apply_extension(
        &self,
        resource: &mut Map<String, Value>,
        kind: OpKind,
        ext: &'static SchemaDef,
        value: Option<&Value>,
    ) -> Result<()> {
        match value {
            Some(v) if kind != OpKind::Remove && !v.is_null() => {
                self.apply_object(resource, kind, v, Some(ext))
            }
            _ => {
                json::take(resource, ext.id);
                Ok(())
            }
        }
    }

    fn apply_path(
        &self,
        resource: &mut Map<String, Value>,
        kind: OpKind,
        path: &PatchPath,
        scope: Option<&'static SchemaDef>,
        value: Option<&Value>,
    ) -> Result<()> {
        let target = match self.resolve(path, scope)? {
            Resolved::Extension(ext) => return self.apply_extension(resource, kind, ext, value),
            Resolved::Attr(target) => target,
        };
        if target.def.mutability == "readOnly" {
            return Err(ScimError::read_only(&target.label));
        }
        if let Some(sub) = target.sub.filter(|s| s.mutability == "readOnly") {
            return Err(ScimError::read_only(&target.sub_label(sub)));
        }
        let write = kind != OpKind::Remove;
        let Some(container) = json::object_at_mut(resource, target.holder, write) else {
            return Ok(());
        };
        match value.filter(|v| !v.is_null()) {
            Some(v) if write => write_attr(container, &target, kind, v),
            // A remove, or a write of null, which unassigns (RFC 7643 §2.5).
            v => remove_attr(container, &target, v.filter(|_| !write)),
        }
    }

    /// Resolves a path, relative to the resource (`scope` None) or to an extension.
    fn resolve<'p>(
        &self,
        path: &'p PatchPath,
        scope: Option<&'static SchemaDef>,
    ) -> Result<Resolved<'p>> {
        let a = &path.attr;
        if let (Some(urn), None, None, None) = (&a.urn, &a.sub_attr, &path.filter, &path.sub_attr)
            && let Some(ext) = self.schema.extension(&format!("{urn}:{}", a.attr))
        {
            return Ok(Resolved::Extension(ext));
        }
        let found = match (&a.urn, scope) {
            (None, Some(ext)) => ext.attr(&a.attr).map(|d| (ext, d)),
            (urn, _) => self
                .schema
                .resolve(urn.as_deref(), &a.attr)
                .filter(|(s, _)| scope.is_none_or(|ext| ext.id == s.id)),
        };
        let Some((schema, def)) = found else {
            return Err(ScimError::unsupported_attribute(&a.to_string()));
        };
        let holder = self.schema.holder(schema);
        let label = match holder.first() {
            None => def.name.to_owned(),
            Some(urn) => format!("{urn}:{}", def.name),
        };
        let sub_name = match (&path.filter, &a.sub_attr, &path.sub_attr) {
            (None, Some(_), Some(_)) | (Some(_), Some(_), _) => {
                return Err(ScimError::invalid(format!(
                    "The path of \"{label}\" is not supported."
                )));
            }
            (_, s, None) | (_, None, s) => s.as_deref(),
        };
        let sub = match sub_name {
            None => None,
            Some(s) => Some(
                def.sub(s)
                    .ok_or_else(|| ScimError::unsupported_attribute(&format!("{label}.{s}")))?,
            ),
        };
        let filter = path.filter.as_ref();
        if let Some(f) = filter {
            if !def.multi_valued {
                return Err(ScimError::invalid(format!(
                    "Attribute \"{label}\" is single-valued: a value filter is not allowed."
                )));
            }
            value_filter::check(f, def, &label, Context::Patch)?;
        }
        Ok(Resolved::Attr(Target {
            holder,
            def,
            filter,
            sub,
            label,
        }))
    }
}

/// `add` or `replace` of a non-null value.
fn write_attr(c: &mut Map<String, Value>, t: &Target, kind: OpKind, value: &Value) -> Result<()> {
    let def = t.def;
    let name = def.name;
    match (t.filter, t.sub) {
        (None, None) if def.multi_valued => {
            let new = coerce::multi(def, value, &t.label, Reading::Patch)?;
            edit_array(c, name, |items| {
                if kind != OpKind::Add {
                    items.clear();
                }
                for item in new {
                    if !items.contains(&item) {
                        items.push(item);
                    }
                }
            });
        }
        // RFC 7644 §3.5.2.3: sub-attributes left out of a replace of a complex attribute are
        // left unchanged, as with add.
        (None, None) if def.ty == AttrType::Complex => {
            let new = coerce::object(def, value, &t.label, Reading::Patch)?;
            edit_object(c, name, |obj| merge(obj, new));
        }
        (None, None) => {
            let v = coerce::single(def, value, &t.label, Reading::Patch)?;
            json::set(c, name, v);
        }
        (None, Some(sub)) => {
            let v = coerce::single(sub, value, &t.sub_label(sub), Reading::Patch)?;
            if def.multi_valued {
                // No filter: every value gets the sub-attribute, or a first value is created.
                edit_array(c, name, |items| {
                    if items.is_empty() {
                        items.push(Value::Object(Map::from_iter([(sub.name.to_owned(), v)])));
                    } else {
                        for item in items.iter_mut().filter_map(Value::as_object_mut) {
                            json::set(item, sub.name, v.clone());
                        }
                    }
                });
            } else {
                edit_object(c, name, |obj| json::set(obj, sub.name, v));
            }
        }
        (Some(filter), sub) => {
            // What to write into each matching value: a sub-attribute, or sub-attributes.
            let update: Map<String, Value> = match sub {
                Some(sub) => Map::from_iter([(
                    sub.name.to_owned(),
                    coerce::single(sub, value, &t.sub_label(sub), Reading::Patch)?,
                )]),
                None => coerce::object(def, value, &t.label, Reading::Patch)?,
            };
            return edit_array(c, name, |items| {
                let mut matched = false;
                for item in items
                    .iter_mut()
                    .filter(|item| value_filter::matches(filter, item, def))
                    .filter_map(Value::as_object_mut)
                {
                    merge(item, update.clone());
                    matched = true;
                }
                if !matched {
                    // Entra ID sets `emails[type eq "work"].value` on a user without a work
                    // email and expects the email to be created.
                    let mut item = eq_pairs(filter, def).ok_or_else(|| no_target(&t.label))?;
                    merge(&mut item, update);
                    items.push(Value::Object(item));
                }
                Ok(())
            });
        }
    }
    Ok(())
}

/// `remove`, or a write of null. `value`, when given for a multi-valued attribute without
/// filter, selects the values to remove (Entra ID: `members` with `[{"value": "<id>"}]`).
fn remove_attr(c: &mut Map<String, Value>, t: &Target, value: Option<&Value>) -> Result<()> {
    let def = t.def;
    let name = def.name;
    match (t.filter, t.sub) {
        (None, None) => match value.filter(|_| def.multi_valued) {
            Some(v) => {
                let selected = coerce::multi(def, v, &t.label, Reading::Patch)?;
                edit_array(c, name, |items| {
                    items.retain(|item| !selected.iter().any(|s| same_values(def, s, item)));
                });
            }
            None => {
                json::take(c, name);
            }
        },
        (filter, Some(sub)) if def.multi_valued => edit_array(c, name, |items| {
            for item in items
                .iter_mut()
                .filter(|item| filter.is_none_or(|f| value_filter::matches(f, item, def)))
                .filter_map(Value::as_object_mut)
            {
                json::take(item, sub.name);
            }
        }),
        (_, Some(sub)) => edit_object(c, name, |obj| {
            json::take(obj, sub.name);
        }),
        (Some(filter), None) => edit_array(c, name, |items| {
            items.retain(|item| !value_filter::matches(filter, item, def));
        }),
    }
    Ok(())
}

/// Whether `item` has every sub-attribute of `selector` with an equal value.
fn same_values(def: &AttrDef, selector: &Value, item: &Value) -> bool {
    let (Value::Object(selector), Value::Object(item)) = (selector, item) else {
        return selector == item;
    };
    !selector.is_empty()
        && selector.iter().all(|(k, want)| {
            let sub = def.sub(k);
            match (json::get(item, k), want) {
                (Some(Value::String(a)), Value::String(b)) => {
                    str_eq(sub.is_some_and(|s| s.case_exact), a, b)
                }
                (Some(have), want) => have == want,
                (None, _) => false,
            }
        })
}

// The element a value filter describes.

/// The value a filter of `eq` comparisons joined by `and` describes, e.g. `{"type": "work"}`
/// for `type eq "work"`; None for any other filter, or one no value can match.
fn eq_pairs(f: &Filter, def: &AttrDef) -> Option<Map<String, Value>> {
    match f {
        Filter::Compare(p, CompareOp::Eq, want) => {
            let sub = def.sub(&p.attr)?;
            let v = match want {
                CompValue::Str(s) => Value::String(s.clone()),
                CompValue::Num(n) => Value::Number(n.clone()),
                CompValue::Bool(b) => Value::Bool(*b),
                CompValue::Null => return None,
            };
            let v = coerce::single(sub, &v, sub.name, Reading::Patch).ok()?;
            Some(Map::from_iter([(sub.name.to_owned(), v)]))
        }
        Filter::And(a, b) => {
            let mut pairs = eq_pairs(a, def)?;
            for (k, v) in eq_pairs(b, def)? {
                match pairs.get(&k) {
                    Some(old) if *old != v => return None,
                    _ => {
                        pairs.insert(k, v);
                    }
                }
            }
            Some(pairs)
        }
        _ => None,
    }
}

// Multi-valued and complex attributes, changed and put back unless emptied (RFC 7643 §2.5).

/// Changes the values of the multi-valued attribute `key` (none if it is not an array), then
/// stores them back, without emptied values, and without the attribute if none is left.
fn edit_array<T>(
    m: &mut Map<String, Value>,
    key: &str,
    change: impl FnOnce(&mut Vec<Value>) -> T,
) -> T {
    let mut items = match json::take(m, key) {
        Some(Value::Array(items)) => items,
        _ => Vec::new(),
    };
    let out = change(&mut items);
    items.retain(|v| !v.is_null() && v.as_object().is_none_or(|o| !o.is_empty()));
    if !items.is_empty() {
        m.insert(key.to_owned(), Value::Array(items));
    }
    out
}

/// Changes the complex attribute `key` (empty if it is not an object), then stores it back
/// unless it is left empty.
fn edit_object(
    m: &mut Map<String, Value>,
    key: &str,
    change: impl FnOnce(&mut Map<String, Value>),
) {
    let mut obj = match json::take(m, key) {
        Some(Value::Object(obj)) => obj,
        _ => Map::new(),
    };
    change(&mut obj);
    if !obj.is_empty() {
        m.insert(key.to_owned(), Value::Object(obj));
    }
}

/// Sets each key of `update` in `obj`; a null unassigns.
fn merge(obj: &mut Map<String, Value>, update: Map<String, Value>) {
    for (k, v) in update {
        if v.is_null() {
            json::take(obj, &k);
        } else {
            json::set(obj, &k, v);
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    use super::super::tests::jane;
    use super::*;
    use crate::scim::filter::parse_path;
    use crate::scim::schema::USER_RESOURCE;

    #[test]
    fn apply_checks_hand_built_ops_too() {
        let mut user = jane().as_object().unwrap().clone();
        let ops = [PatchOp {
            op: OpKind::Add,
            path: Some(parse_path("title").unwrap()),
            value: None,
        }];
        assert!(apply(&mut user, &ops, &USER_RESOURCE).is_err());
        let ops = [PatchOp {
            op: OpKind::Remove,
            path: None,
            value: None,
        }];
        assert!(apply(&mut user, &ops, &USER_RESOURCE).is_err());
        assert_eq!(Value::Object(user), jane());
    }
}
