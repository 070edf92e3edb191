//! The SCIM PATCH engine (RFC 7644 §3.5.2): parses a PatchOp request body and applies its
//! `add`, `replace` and `remove` operations, in order, to a resource in its JSON form.
//!
//! The engine is generic over a [`ResourceSchema`] (it serves Users and Groups) and knows no AWS
//! rule: which attributes AWS lets a PATCH change, the `userName`/`active` rules or the single
//! email are checked by the caller on the result. Only [`check_only_eq`] is AWS's: it rejects the
//! value filters that IAM Identity Center does not accept.
//!
//! Besides the RFC forms, it accepts what the identity providers send (IDP-CLIENTS.md):
//! capitalised ops (`"Replace"`), booleans as strings (`"False"`), dotted keys and extension
//! URN keys inside a value without path (`{"name.familyName": "D"}`), a bare string for a complex
//! attribute that has a `value` sub-attribute (`manager`), ids and schemas inside a value
//! without path (ignored), and a filtered path that creates the element it names when nothing
//! matches (`emails[type eq "work"].value`).
//!
//! The JSON form: core attributes at the top level, extension attributes in an object under the
//! extension URN, multi-valued attributes as arrays, all under their canonical names (as spelled
//! in `schema.rs`). Keys `id`, `meta` and `schemas` are never read nor written: the caller keeps
//! `schemas` in step with the extensions present. Following RFC 7643 §2.5, null, an empty
//! array and an empty object mean "unassigned": the engine removes such attributes rather than
//! storing them, and drops an extension object once it is empty.

use serde_json::{Map, Value};

use super::compare::str_eq;
use super::error::{Result, ScimError};
use super::filter::{CompValue, CompareOp, Filter, PatchPath, parse_path};
use super::json;
use super::schema::{AttrDef, AttrType, PATCH_OP_URN, ResourceSchema, SchemaDef, is_common};
use super::value_filter::{self, Context};

/// The operation of a PATCH operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpKind {
    Add,
    Replace,
    Remove,
}

impl OpKind {
    fn as_str(self) -> &'static str {
        match self {
            Self::Add => "add",
            Self::Replace => "replace",
            Self::Remove => "remove",
        }
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

// The details of the 400 answers, in one place.

fn path_required() -> ScimError {
    ScimError::no_target("A path is required for remove operations.")
}

fn value_required(kind: OpKind) -> ScimError {
    ScimError::invalid(format!(
        "A value is required for {} operations.",
        kind.as_str()
    ))
}

fn no_target(name: &str) -> ScimError {
    ScimError::no_target(format!(
        "No value of \"{name}\" matches the filter of the path."
    ))
}

/// Parses a PatchOp request body (RFC 7644 §3.5.2).
pub fn parse_request(body: Value) -> Result<Vec<PatchOp>> {
    let Value::Object(body) = body else {
        return Err(ScimError::unparsable());
    };
    let lists_patch_op = json::get(&body, "schemas")
        .and_then(Value::as_array)
        .is_some_and(|s| {
            s.iter().any(|u| {
                u.as_str()
                    .is_some_and(|u| u.eq_ignore_ascii_case(PATCH_OP_URN))
            })
        });
    if !lists_patch_op {
        return Err(ScimError::invalid_syntax(format!(
            "The schemas attribute must list \"{PATCH_OP_URN}\"."
        )));
    }
    let operations = match json::get(&body, "Operations") {
        Some(Value::Array(ops)) if !ops.is_empty() => ops,
        _ => {
            return Err(ScimError::invalid_syntax(
                "Operations must be a non-empty array of operations.",
            ));
        }
    };
    operations.iter().map(parse_op).collect()
}

fn parse_op(op: &Value) -> Result<PatchOp> {
    let Value::Object(op) = op else {
        return Err(ScimError::invalid("Each operation must be an object."));
    };
    let kind = match json::get(op, "op") {
        None | Some(Value::Null) => {
            return Err(ScimError::invalid(
                "The op attribute of an operation is required.",
            ));
        }
        Some(Value::String(s)) if s.eq_ignore_ascii_case("add") => OpKind::Add,
        Some(Value::String(s)) if s.eq_ignore_ascii_case("replace") => OpKind::Replace,
        Some(Value::String(s)) if s.eq_ignore_ascii_case("remove") => OpKind::Remove,
        Some(other) => {
            return Err(ScimError::invalid(format!(
                "Operation {other} is not supported: op must be add, replace or remove."
            )));
        }
    };
    let path = match json::get(op, "path") {
        None | Some(Value::Null) => None,
        Some(Value::String(p)) => Some(
            parse_path(p)
                .map_err(|e| ScimError::invalid_path(format!("Invalid path \"{p}\": {e}")))?,
        ),
        Some(_) => {
            return Err(ScimError::invalid(
                "The path of an operation must be a string.",
            ));
        }
    };
    let value = json::get(op, "value").filter(|v| !v.is_null()).cloned();
    match kind {
        OpKind::Remove if path.is_none() => return Err(path_required()),
        OpKind::Add | OpKind::Replace if value.is_none() => return Err(value_required(kind)),
        _ => {}
    }
    Ok(PatchOp {
        op: kind,
        path,
        value,
    })
}

/// AWS accepts only `eq` comparisons, possibly joined by `and`, in the value filters of PATCH
/// paths: any other operator is a 400.
pub fn check_only_eq(ops: &[PatchOp]) -> Result<()> {
    fn only_eq(f: &Filter) -> bool {
        match f {
            Filter::Compare(_, CompareOp::Eq, _) => true,
            Filter::And(a, b) => only_eq(a) && only_eq(b),
            _ => false,
        }
    }
    let filters = ops
        .iter()
        .filter_map(|op| op.path.as_ref()?.filter.as_ref());
    for f in filters {
        if !only_eq(f) {
            return Err(ScimError::unsupported_filter(
                "Only the eq operator, joined by and, is supported in filters.",
            ));
        }
    }
    Ok(())
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
    schema: &'static SchemaDef,
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
        let Some(container) = self.container(resource, target.schema, write) else {
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
        if let (Some(urn), None, None, None) = (&a.urn, &a.sub_attr, &path.filter, &path.sub_attr) {
            if let Some(ext) = self.schema.extension(&format!("{urn}:{}", a.attr)) {
                return Ok(Resolved::Extension(ext));
            }
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
        let label = if schema.id == self.schema.core.id {
            def.name.to_owned()
        } else {
            format!("{}:{}", schema.id, def.name)
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
            schema,
            def,
            filter,
            sub,
            label,
        }))
    }

    /// The object that holds the attributes of `schema`: the resource, or its extension object
    /// (created if `create`).
    fn container<'r>(
        &self,
        resource: &'r mut Map<String, Value>,
        schema: &SchemaDef,
        create: bool,
    ) -> Option<&'r mut Map<String, Value>> {
        let extension = (schema.id != self.schema.core.id).then_some(schema.id);
        json::object_at_mut(resource, extension.as_slice(), create)
    }
}

/// `add` or `replace` of a non-null value.
fn write_attr(c: &mut Map<String, Value>, t: &Target, kind: OpKind, value: &Value) -> Result<()> {
    let def = t.def;
    let name = def.name;
    match (t.filter, t.sub) {
        (None, None) if def.multi_valued => {
            let new = coerce_multi(def, value, &t.label)?;
            let mut items = match kind {
                OpKind::Add => take_array(c, name),
                _ => {
                    json::take(c, name);
                    Vec::new()
                }
            };
            for item in new {
                if !items.contains(&item) {
                    items.push(item);
                }
            }
            put_array(c, name, items);
        }
        // RFC 7644 §3.5.2.3: sub-attributes left out of a replace of a complex attribute are
        // left unchanged, as with add.
        (None, None) if def.ty == AttrType::Complex => {
            let new = coerce_object(def, value, &t.label, true)?;
            let mut obj = take_object(c, name);
            merge(&mut obj, new);
            put_object(c, name, obj);
        }
        (None, None) => {
            let v = coerce_simple(def, value, &t.label)?;
            json::set(c, name, v);
        }
        (None, Some(sub)) => {
            let v = coerce_simple(sub, value, &t.sub_label(sub))?;
            if def.multi_valued {
                // No filter: every value gets the sub-attribute, or a first value is created.
                let mut items = take_array(c, name);
                if items.is_empty() {
                    items.push(Value::Object(Map::from_iter([(sub.name.to_owned(), v)])));
                } else {
                    for item in items.iter_mut().filter_map(Value::as_object_mut) {
                        json::set(item, sub.name, v.clone());
                    }
                }
                put_array(c, name, items);
            } else {
                let mut obj = take_object(c, name);
                json::set(&mut obj, sub.name, v);
                put_object(c, name, obj);
            }
        }
        (Some(filter), sub) => {
            // What to write into each matching value: a sub-attribute, or sub-attributes.
            let update: Map<String, Value> = match sub {
                Some(sub) => Map::from_iter([(
                    sub.name.to_owned(),
                    coerce_simple(sub, value, &t.sub_label(sub))?,
                )]),
                None => coerce_object(def, value, &t.label, false)?,
            };
            let mut items = take_array(c, name);
            let mut matched = false;
            for item in items.iter_mut() {
                if value_filter::matches(filter, item, def) {
                    if let Value::Object(item) = item {
                        merge(item, update.clone());
                        matched = true;
                    }
                }
            }
            if !matched {
                // Entra ID sets `emails[type eq "work"].value` on a user without a work email
                // and expects the email to be created.
                let Some(mut item) = eq_pairs(filter, def) else {
                    put_array(c, name, items);
                    return Err(no_target(&t.label));
                };
                merge(&mut item, update);
                items.push(Value::Object(item));
            }
            put_array(c, name, items);
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
                let selected = coerce_multi(def, v, &t.label)?;
                let mut items = take_array(c, name);
                items.retain(|item| !selected.iter().any(|s| same_values(def, s, item)));
                put_array(c, name, items);
            }
            None => {
                json::take(c, name);
            }
        },
        (filter, Some(sub)) if def.multi_valued => {
            let mut items = take_array(c, name);
            for item in items.iter_mut() {
                if filter.is_none_or(|f| value_filter::matches(f, item, def)) {
                    if let Value::Object(item) = item {
                        json::take(item, sub.name);
                    }
                }
            }
            put_array(c, name, items);
        }
        (_, Some(sub)) => {
            let mut obj = take_object(c, name);
            json::take(&mut obj, sub.name);
            put_object(c, name, obj);
        }
        (Some(filter), None) => {
            let mut items = take_array(c, name);
            items.retain(|item| !value_filter::matches(filter, item, def));
            put_array(c, name, items);
        }
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

// Coercion of the values a client sends to the shapes of the schema.

/// A value for a simple attribute or sub-attribute; booleans may arrive as `"True"`/`"false"`.
fn coerce_simple(def: &AttrDef, value: &Value, label: &str) -> Result<Value> {
    match (def.ty, value) {
        (AttrType::String | AttrType::Reference | AttrType::DateTime, Value::String(_)) => {
            Ok(value.clone())
        }
        (AttrType::String | AttrType::Reference | AttrType::DateTime, _) => {
            Err(ScimError::wrong_type(label, "a string"))
        }
        (AttrType::Boolean, Value::Bool(_)) => Ok(value.clone()),
        (AttrType::Boolean, Value::String(s)) if s.eq_ignore_ascii_case("true") => {
            Ok(Value::Bool(true))
        }
        (AttrType::Boolean, Value::String(s)) if s.eq_ignore_ascii_case("false") => {
            Ok(Value::Bool(false))
        }
        (AttrType::Boolean, _) => Err(ScimError::wrong_type(label, "a boolean")),
        (AttrType::Complex, _) => coerce_object(def, value, label, true).map(Value::Object),
    }
}

/// The sub-attributes of one value of a complex attribute, under their canonical names, with
/// null values kept (they unassign when merged). With `shorthand`, a string stands for
/// `{"value": string}` (Entra ID sends the enterprise `manager` so).
fn coerce_object(
    def: &AttrDef,
    value: &Value,
    label: &str,
    shorthand: bool,
) -> Result<Map<String, Value>> {
    match value {
        Value::Object(given) => {
            let mut out = Map::new();
            for (key, v) in given {
                let sub = def
                    .sub(key)
                    .ok_or_else(|| ScimError::unsupported_attribute(&format!("{label}.{key}")))?;
                let sub_label = format!("{label}.{}", sub.name);
                if sub.mutability == "readOnly" {
                    return Err(ScimError::read_only(&sub_label));
                }
                let v = if v.is_null() {
                    Value::Null
                } else {
                    coerce_simple(sub, v, &sub_label)?
                };
                out.insert(sub.name.to_owned(), v);
            }
            Ok(out)
        }
        Value::String(_) if shorthand && !def.multi_valued => match def.sub("value") {
            Some(sub) => {
                let v = coerce_simple(sub, value, &format!("{label}.{}", sub.name))?;
                Ok(Map::from_iter([(sub.name.to_owned(), v)]))
            }
            None => Err(ScimError::wrong_type(label, "an object")),
        },
        _ => Err(ScimError::wrong_type(label, "an object")),
    }
}

/// The values for a multi-valued attribute: an array, or a single value standing for one.
/// Nulls and empty values are dropped.
fn coerce_multi(def: &AttrDef, value: &Value, label: &str) -> Result<Vec<Value>> {
    let complex = def.ty == AttrType::Complex;
    let given = match value {
        Value::Array(items) => items.as_slice(),
        Value::Object(_) if complex => std::slice::from_ref(value),
        _ if complex => return Err(ScimError::wrong_type(label, "an array of objects")),
        _ => std::slice::from_ref(value),
    };
    let mut out = Vec::with_capacity(given.len());
    for item in given.iter().filter(|v| !v.is_null()) {
        if complex {
            if !item.is_object() {
                return Err(ScimError::wrong_type(label, "an array of objects"));
            }
            let mut obj = coerce_object(def, item, label, false)?;
            obj.retain(|_, v| !v.is_null());
            if !obj.is_empty() {
                out.push(Value::Object(obj));
            }
        } else {
            out.push(coerce_simple(def, item, label)?);
        }
    }
    Ok(out)
}

// Value filters.

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
            let v = coerce_simple(sub, &v, sub.name).ok()?;
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

// Multi-valued and complex attributes, taken out to change and put back unless emptied.

fn take_array(m: &mut Map<String, Value>, key: &str) -> Vec<Value> {
    match json::take(m, key) {
        Some(Value::Array(items)) => items,
        _ => Vec::new(),
    }
}

fn take_object(m: &mut Map<String, Value>, key: &str) -> Map<String, Value> {
    match json::take(m, key) {
        Some(Value::Object(obj)) => obj,
        _ => Map::new(),
    }
}

/// Stores the values of a multi-valued attribute, dropping emptied values and an empty array.
fn put_array(m: &mut Map<String, Value>, key: &str, mut items: Vec<Value>) {
    items.retain(|v| !v.is_null() && v.as_object().is_none_or(|o| !o.is_empty()));
    if !items.is_empty() {
        m.insert(key.to_owned(), Value::Array(items));
    }
}

fn put_object(m: &mut Map<String, Value>, key: &str, obj: Map<String, Value>) {
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
    use serde_json::json;

    use super::*;
    use crate::scim::schema::{ENTERPRISE_URN, GROUP_RESOURCE, USER_RESOURCE, USER_URN};

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

    fn request(operations: Value) -> Value {
        json!({"schemas": [PATCH_OP_URN], "Operations": operations})
    }

    /// A user as the store renders it.
    fn jane() -> Value {
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
                "path is required",
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

    #[test]
    fn parses_any_case_of_keys_and_ops() {
        let ops = parse_request(json!({
            "schemas": [PATCH_OP_URN.to_uppercase()],
            "operations": [
                {"op": "ADD", "path": "title", "value": "x"},
                {"OP": "Replace", "Value": {"title": "y"}},
                {"op": "remove", "path": "title", "value": null}
            ]
        }))
        .unwrap();
        let kinds: Vec<OpKind> = ops.iter().map(|o| o.op).collect();
        assert_eq!(kinds, [OpKind::Add, OpKind::Replace, OpKind::Remove]);
        assert_eq!(ops[0].path, Some(parse_path("title").unwrap()));
        assert_eq!(ops[1].value, Some(json!({"title": "y"})));
        assert_eq!(ops[2].value, None);
    }

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

    #[test]
    fn check_only_eq_accepts_eq_and_rejects_other_operators() {
        let check = |path: &str| {
            let ops = parse_request(request(json!([{"op": "remove", "path": path}]))).unwrap();
            check_only_eq(&ops)
        };
        for ok in [
            "title",
            "emails[type eq \"work\"]",
            "emails[type eq \"work\" and primary eq true].value",
        ] {
            assert_eq!(check(ok), Ok(()), "{ok}");
        }
        for bad in [
            "emails[value co \"x\"]",
            "emails[type ne \"work\"]",
            "emails[type pr]",
            "emails[type eq \"a\" or type eq \"b\"]",
            "emails[not (type eq \"a\")]",
            "emails[type eq \"a\" and value sw \"b\"]",
        ] {
            match check(bad) {
                Err(ScimError::Validation { detail: d, .. }) => {
                    assert!(d.contains("eq"), "{bad}: {d}")
                }
                other => panic!("{bad}: {other:?}"),
            }
        }
    }
}
