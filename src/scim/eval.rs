//! SCIM queries evaluated in memory on resources in their JSON representation: the filters
//! (RFC 7644 §3.4.2.2), sorting (§3.4.2.3) and attribute selection (§3.4.2.5) of the `rfc`
//! profile, and the value filters of PATCH paths (§3.5.2) of both profiles. Pure: no HTTP, no
//! SQL.
//!
//! Attribute names are case-insensitive. Strings compare case-insensitively unless the
//! attribute is `caseExact` (`schema.rs`); `meta.created` and `meta.lastModified` compare as
//! instants. A multi-valued attribute matches when one of its values does, and a complex
//! attribute named without a sub-attribute (`emails co "@x"`) stands for its `value`. `ne` is
//! the negation of `eq`: a resource without the attribute is `ne` any value. Sorting uses the
//! primary value of a multi-valued attribute (else its first), and puts resources without a
//! value last in either order.

use std::cmp::Ordering;

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use super::error::{Result, ScimError};
use super::filter::{AttrPath, CompValue, CompareOp, Filter, parse_path};
use super::json;
use super::schema::{
    AttrDef, AttrType, COMMON_ATTRIBUTES, GROUP_RESOURCE, ResourceSchema, SchemaDef, USER_RESOURCE,
    is_common,
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
    /// The extension whose object holds the attribute; `None` for the top level.
    extension: Option<&'static SchemaDef>,
    def: &'static AttrDef,
    sub: Option<&'static AttrDef>,
}

impl Attribute {
    fn resolve(resource: &ResourceSchema, path: &AttrPath) -> Option<Self> {
        let (extension, def) = match &path.urn {
            None => (
                None,
                COMMON_ATTRIBUTES
                    .iter()
                    .find(|a| a.name.eq_ignore_ascii_case(&path.attr))
                    .or_else(|| resource.core.attr(&path.attr))?,
            ),
            Some(urn) => {
                let (schema, def) = resource.resolve(Some(urn), &path.attr)?;
                (
                    (!std::ptr::eq(schema, resource.core)).then_some(schema),
                    def,
                )
            }
        };
        let sub = match &path.sub_attr {
            Some(name) => Some(def.sub(name)?),
            None => None,
        };
        Some(Self {
            extension,
            def,
            sub,
        })
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
        self.extension.is_none() && is_common(self.def.name)
    }

    /// The path of the object that holds the attribute: none, or the extension's URN.
    fn holder(&self) -> &'static [&'static str] {
        match self.extension {
            None => &[],
            Some(ext) => std::slice::from_ref(&ext.id),
        }
    }

    /// The attribute's values: the elements of a multi-valued one, or the one value.
    fn items<'a>(&self, resource: &'a Value) -> Vec<&'a Value> {
        let holder = resource
            .as_object()
            .and_then(|top| json::object_at(top, self.holder()));
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

/// The attribute in each resource type that has it; `invalidFilter` if none has.
fn resolve_any(resources: &[&ResourceSchema], path: &AttrPath) -> Result<Vec<Attribute>> {
    let found: Vec<Attribute> = resources
        .iter()
        .filter_map(|r| Attribute::resolve(r, path))
        .collect();
    if found.is_empty() {
        return Err(ScimError::invalid_filter(format!(
            "attribute \"{path}\" is not known."
        )));
    }
    Ok(found)
}

/// Checks that a filter names attributes of (one of) `resources` and compares each as its type
/// allows: booleans with `eq` and `ne` only, date-times against RFC 3339 date-times.
pub fn check_filter(filter: &Filter, resources: &[&ResourceSchema]) -> Result<()> {
    match filter {
        Filter::And(a, b) | Filter::Or(a, b) => {
            check_filter(a, resources)?;
            check_filter(b, resources)
        }
        Filter::Not(inner) => check_filter(inner, resources),
        Filter::Present(path) => resolve_any(resources, path).map(|_| ()),
        Filter::Compare(path, op, value) => {
            for attr in resolve_any(resources, path)? {
                let leaf = attr.leaf().ok_or_else(|| {
                    ScimError::invalid_filter(format!(
                        "\"{path}\" is complex; name a sub-attribute."
                    ))
                })?;
                check_comparison(leaf, &path.to_string(), *op, value)?;
            }
            Ok(())
        }
        Filter::ValuePath(path, inner) => {
            for attr in resolve_any(resources, path)? {
                if attr.sub.is_some() || attr.def.ty != AttrType::Complex {
                    return Err(ScimError::invalid_filter(format!(
                        "\"{path}\" has no sub-attributes to filter on."
                    )));
                }
                check_value_filter(inner, attr.def, &path.to_string())?;
            }
            Ok(())
        }
    }
}

/// Checks the filter inside `attr[...]`: it names sub-attributes of `def` only.
fn check_value_filter(filter: &Filter, def: &AttrDef, label: &str) -> Result<()> {
    let sub = |p: &AttrPath| {
        p.urn
            .is_none()
            .then_some(())
            .filter(|()| p.sub_attr.is_none())
            .and_then(|()| def.sub(&p.attr))
            .ok_or_else(|| {
                ScimError::invalid_filter(format!("\"{label}\" has no sub-attribute \"{p}\"."))
            })
    };
    match filter {
        Filter::And(a, b) | Filter::Or(a, b) => {
            check_value_filter(a, def, label)?;
            check_value_filter(b, def, label)
        }
        Filter::Not(inner) => check_value_filter(inner, def, label),
        Filter::Present(p) => sub(p).map(|_| ()),
        Filter::Compare(p, op, value) => {
            check_comparison(sub(p)?, &format!("{label}.{p}"), *op, value)
        }
        Filter::ValuePath(..) => Err(ScimError::invalid_filter(format!(
            "the filter on \"{label}\" may not hold another."
        ))),
    }
}

fn check_comparison(def: &AttrDef, label: &str, op: CompareOp, value: &CompValue) -> Result<()> {
    let ordered = !matches!(op, CompareOp::Eq | CompareOp::Ne);
    let fault = match (def.ty, value) {
        (_, CompValue::Null) if ordered => Some("cannot be compared with null"),
        (_, CompValue::Null) => None,
        (AttrType::Boolean, _) if ordered => Some("is a boolean: only eq and ne apply"),
        (AttrType::Boolean, CompValue::Bool(_)) => None,
        (AttrType::Boolean, CompValue::Str(s))
            if s.eq_ignore_ascii_case("true") || s.eq_ignore_ascii_case("false") =>
        {
            None
        }
        (AttrType::Boolean, _) => Some("is a boolean"),
        (AttrType::Complex, _) => Some("is complex"),
        (AttrType::DateTime, CompValue::Str(s))
            if !matches!(op, CompareOp::Co | CompareOp::Sw | CompareOp::Ew)
                && instant(s).is_none() =>
        {
            Some("is a date-time: compare it with an RFC 3339 date-time")
        }
        (AttrType::String | AttrType::Reference | AttrType::DateTime, CompValue::Str(_)) => None,
        (AttrType::String | AttrType::Reference | AttrType::DateTime, _) => {
            Some("is a string: compare it with a string in double quotes")
        }
    };
    match fault {
        Some(fault) => Err(ScimError::invalid_filter(format!(
            "\"{label}\" {fault} ({op})."
        ))),
        None => Ok(()),
    }
}

/// Whether a resource matches a filter (checked with [`check_filter`]). Attributes its
/// resource type does not have are absent.
pub fn matches(filter: &Filter, resource: &Value) -> bool {
    resource_schema(resource).is_some_and(|schema| eval(filter, resource, schema))
}

fn eval(filter: &Filter, resource: &Value, schema: &ResourceSchema) -> bool {
    match filter {
        Filter::And(a, b) => eval(a, resource, schema) && eval(b, resource, schema),
        Filter::Or(a, b) => eval(a, resource, schema) || eval(b, resource, schema),
        Filter::Not(inner) => !eval(inner, resource, schema),
        Filter::Present(path) => Attribute::resolve(schema, path)
            .is_some_and(|a| a.values(resource).into_iter().any(|v| present(Some(v)))),
        Filter::Compare(path, op, want) => {
            let Some((attr, leaf)) =
                Attribute::resolve(schema, path).and_then(|a| Some((a, a.leaf()?)))
            else {
                return false;
            };
            let values = attr.values(resource);
            let any = |op| {
                if values.is_empty() {
                    compare(leaf, None, op, want)
                } else {
                    values.iter().any(|v| compare(leaf, Some(v), op, want))
                }
            };
            match op {
                CompareOp::Ne => !any(CompareOp::Eq),
                op => any(*op),
            }
        }
        Filter::ValuePath(path, inner) => Attribute::resolve(schema, path).is_some_and(|a| {
            a.items(resource)
                .into_iter()
                .any(|item| matches_element(inner, item, a.def))
        }),
    }
}

/// Whether a value is there: not null, not an empty string, array or object.
fn present(value: Option<&Value>) -> bool {
    value.is_some_and(|v| match v {
        Value::Null => false,
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
        _ => true,
    })
}

/// Whether one value of the multi-valued attribute `def` matches a (validated) value filter.
pub fn matches_element(f: &Filter, item: &Value, def: &AttrDef) -> bool {
    item.as_object()
        .is_some_and(|item| matches_object(f, item, def))
}

fn matches_object(f: &Filter, item: &Map<String, Value>, def: &AttrDef) -> bool {
    let field = |p: &AttrPath| {
        def.sub(&p.attr)
            .map(|sub| (sub, json::get(item, sub.name).filter(|v| !v.is_null())))
    };
    match f {
        Filter::Compare(p, op, want) => {
            field(p).is_some_and(|(sub, have)| compare(sub, have, *op, want))
        }
        Filter::Present(p) => field(p).is_some_and(|(_, have)| present(have)),
        Filter::And(a, b) => matches_object(a, item, def) && matches_object(b, item, def),
        Filter::Or(a, b) => matches_object(a, item, def) || matches_object(b, item, def),
        Filter::Not(inner) => !matches_object(inner, item, def),
        Filter::ValuePath(..) => false,
    }
}

/// Compares one value of the attribute `def` with a filter's value.
pub fn compare(def: &AttrDef, have: Option<&Value>, op: CompareOp, want: &CompValue) -> bool {
    if def.ty == AttrType::DateTime
        && !matches!(op, CompareOp::Co | CompareOp::Sw | CompareOp::Ew)
        && let (Some(Value::String(a)), CompValue::Str(b)) = (have, want)
        && let (Some(a), Some(b)) = (instant(a), instant(b))
    {
        return satisfies(a.cmp(&b), op);
    }
    match op {
        CompareOp::Eq => equals(def, have, want),
        CompareOp::Ne => !equals(def, have, want),
        _ => match (have, want) {
            (Some(Value::String(a)), CompValue::Str(b)) => {
                let (a, b) = if def.case_exact {
                    (a.clone(), b.clone())
                } else {
                    (a.to_lowercase(), b.to_lowercase())
                };
                match op {
                    CompareOp::Co => a.contains(&b),
                    CompareOp::Sw => a.starts_with(&b),
                    CompareOp::Ew => a.ends_with(&b),
                    op => satisfies(a.cmp(&b), op),
                }
            }
            (Some(Value::Number(a)), CompValue::Num(b)) => match (a.as_f64(), b.as_f64()) {
                (Some(a), Some(b)) => a.partial_cmp(&b).is_some_and(|o| satisfies(o, op)),
                _ => false,
            },
            _ => false,
        },
    }
}

/// Whether an ordering satisfies an ordering operator (`co`, `sw`, `ew` are not ones).
fn satisfies(ordering: Ordering, op: CompareOp) -> bool {
    match op {
        CompareOp::Eq => ordering == Ordering::Equal,
        CompareOp::Ne => ordering != Ordering::Equal,
        CompareOp::Gt => ordering == Ordering::Greater,
        CompareOp::Ge => ordering != Ordering::Less,
        CompareOp::Lt => ordering == Ordering::Less,
        CompareOp::Le => ordering != Ordering::Greater,
        CompareOp::Co | CompareOp::Sw | CompareOp::Ew => false,
    }
}

fn equals(def: &AttrDef, have: Option<&Value>, want: &CompValue) -> bool {
    match (have, want) {
        (None, CompValue::Null) => true,
        (Some(Value::String(a)), CompValue::Str(b)) => str_eq(def.case_exact, a, b),
        (Some(Value::Bool(a)), CompValue::Bool(b)) => a == b,
        (Some(Value::Bool(a)), CompValue::Str(b)) => b.eq_ignore_ascii_case(&a.to_string()),
        (Some(Value::Number(a)), CompValue::Num(b)) => a.as_f64() == b.as_f64(),
        _ => false,
    }
}

pub fn str_eq(case_exact: bool, a: &str, b: &str) -> bool {
    if case_exact {
        a == b
    } else {
        a == b || a.to_lowercase() == b.to_lowercase()
    }
}

fn instant(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

// Sorting.

/// Checks that `sortBy` names a simple attribute (or sub-attribute) of one of `resources`.
pub fn check_sort(path: &AttrPath, resources: &[&ResourceSchema]) -> Result<()> {
    let sortable = resources
        .iter()
        .filter_map(|r| Attribute::resolve(r, path))
        .any(|a| a.leaf().is_some());
    if sortable {
        Ok(())
    } else {
        Err(ScimError::invalid(format!(
            "sortBy \"{path}\" names no attribute that can be sorted."
        )))
    }
}

#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
enum SortKey {
    Bool(bool),
    Time(DateTime<Utc>),
    Text(String),
}

fn sort_key(resource: &Value, path: &AttrPath) -> Option<SortKey> {
    let attr = Attribute::resolve(resource_schema(resource)?, path)?;
    let leaf = attr.leaf()?;
    let items = attr.items(resource);
    let item = items
        .iter()
        .find(|i| i.get("primary") == Some(&Value::Bool(true)))
        .or(items.first())?;
    let value = match attr.key() {
        Some(k) => json::get(item.as_object()?, k)?,
        None => item,
    };
    match value {
        Value::Bool(b) => Some(SortKey::Bool(*b)),
        Value::String(s) if leaf.ty == AttrType::DateTime => {
            Some(instant(s).map_or_else(|| SortKey::Text(s.clone()), SortKey::Time))
        }
        Value::String(s) if leaf.case_exact => Some(SortKey::Text(s.clone())),
        Value::String(s) => Some(SortKey::Text(s.to_lowercase())),
        _ => None,
    }
}

/// Sorts resources by the value of `path`, stably (ties keep their order), resources without
/// a value last.
pub fn sort(resources: &mut Vec<Value>, path: &AttrPath, descending: bool) {
    let mut keyed: Vec<(Option<SortKey>, Value)> = resources
        .drain(..)
        .map(|r| (sort_key(&r, path), r))
        .collect();
    keyed.sort_by(|(a, _), (b, _)| match (a, b) {
        (Some(a), Some(b)) if descending => b.cmp(a),
        (Some(a), Some(b)) => a.cmp(b),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => Ordering::Equal,
    });
    resources.extend(keyed.into_iter().map(|(_, r)| r));
}

// Attribute selection.

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

    /// Whether the client asked for a selection.
    pub fn is_requested(&self) -> bool {
        !self.attributes.is_empty() || !self.excluded.is_empty()
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
        let extension = RESOURCES
            .iter()
            .flat_map(|r| r.extensions.iter())
            .find(|e| e.id.eq_ignore_ascii_case(name));
        if let Some(ext) = extension {
            out.push(Selected::Extension(ext.id.to_owned()));
            continue;
        }
        match parse_path(name) {
            Ok(p) if p.filter.is_none() && p.sub_attr.is_none() => {
                out.push(Selected::Path(p.attr));
            }
            _ => {
                return Err(ScimError::invalid(format!(
                    "\"{name}\" is not an attribute name."
                )));
            }
        }
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
    let (from, to) = match attr.extension {
        None => (from, to),
        Some(ext) => {
            let Some(Value::Object(inner)) = json::get(from, ext.id) else {
                return;
            };
            let slot = to
                .entry(ext.id.to_owned())
                .or_insert_with(|| Value::Object(Map::new()));
            let Value::Object(slot) = slot else {
                return;
            };
            (inner, slot)
        }
    };
    let name = attr.def.name;
    let Some(value) = json::get(from, name) else {
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
            if let Some(v) = pick(value) {
                let slot = to
                    .entry(name.to_owned())
                    .or_insert_with(|| Value::Object(Map::new()));
                if let Value::Object(slot) = slot {
                    slot.insert(sub.name.to_owned(), v);
                }
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
    let Some(holder) = json::object_at_mut(map, attr.holder(), false) else {
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

    use super::*;
    use crate::scim::filter::parse_filter;
    use crate::scim::schema::ENTERPRISE_URN;

    fn jane() -> Value {
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

    fn hit(filter: &str) -> bool {
        let f = parse_filter(filter).unwrap();
        check_filter(&f, &[&USER_RESOURCE]).unwrap();
        matches(&f, &jane())
    }

    fn rejected(filter: &str) -> String {
        let f = parse_filter(filter).unwrap();
        match check_filter(&f, &[&USER_RESOURCE]) {
            Err(ScimError::Validation { detail, .. }) => detail,
            other => panic!("{filter}: {other:?}"),
        }
    }

    #[test]
    fn every_operator_on_strings_with_case_per_schema() {
        for (filter, expected) in [
            (r#"userName eq "jane@example.com""#, true),
            (r#"userName ne "jane@example.com""#, false),
            (r#"userName co "EXAMPLE""#, true),
            (r#"userName sw "jane""#, true),
            (r#"userName ew ".com""#, true),
            (r#"userName gt "j""#, true),
            (r#"userName ge "jane@example.com""#, true),
            (r#"userName lt "j""#, false),
            (r#"userName le "jz""#, true),
            (r#"externalId eq "ext-1""#, false),
            (r#"externalId eq "Ext-1""#, true),
            (r#"id eq "U-1""#, false),
            (r#"title pr"#, false),
            (r#"title ne "x""#, true),
            (r#"name.familyName pr"#, true),
            (r#"NAME.GIVENNAME eq "jane""#, true),
        ] {
            assert_eq!(hit(filter), expected, "{filter}");
        }
    }

    #[test]
    fn multi_valued_extension_boolean_date_and_value_filters() {
        for (filter, expected) in [
            (r#"emails.value ew "@home.example""#, true),
            (r#"emails co "work""#, true),
            (r#"emails[type eq "work" and value co "@work"]"#, true),
            (r#"emails[type eq "home" and value co "@work"]"#, false),
            (r#"emails[not (primary pr)]"#, true),
            (r#"groups.value eq "g-1""#, true),
            (&format!(r#"{ENTERPRISE_URN}:department eq "r&d""#), true),
            (
                &format!(r#"{ENTERPRISE_URN}:manager.value eq "boss""#),
                true,
            ),
            (&format!(r#"{ENTERPRISE_URN}:manager eq "boss""#), true),
            (r#"active eq true"#, true),
            (r#"active ne true"#, false),
            (r#"meta.created lt "2026-01-01T00:00:01Z""#, true),
            (r#"meta.lastModified gt "2026-01-02T11:00:00+02:00""#, true),
            (r#"meta.lastModified ge "2026-01-03T00:00:00Z""#, false),
            (r#"userName sw "j" or title pr and active eq false"#, true),
            (
                r#"(userName sw "j" or title pr) and active eq false"#,
                false,
            ),
            (r#"not (userName sw "x")"#, true),
        ] {
            assert_eq!(hit(filter), expected, "{filter}");
        }
    }

    #[test]
    fn unknown_attributes_and_bad_comparisons_are_invalid_filters() {
        assert!(rejected(r#"nope eq "x""#).contains("nope"));
        assert!(rejected(r#"active gt true"#).contains("active"));
        assert!(rejected(r#"userName eq 5"#).contains("userName"));
        assert!(rejected(r#"meta.created gt "yesterday""#).contains("meta.created"));
        assert!(rejected(r#"emails[kind eq "x"]"#).contains("kind"));
        assert!(rejected(r#"name eq "x""#).contains("name"));
        let e = check_filter(&parse_filter("nope pr").unwrap(), &[&USER_RESOURCE]).unwrap_err();
        assert_eq!(
            e.scim_type(),
            Some(super::super::error::ScimType::InvalidFilter)
        );
        // A root search accepts an attribute of either type; the other never matches.
        let f = parse_filter(r#"displayName pr"#).unwrap();
        check_filter(&f, &RESOURCES).unwrap();
        let f = parse_filter(r#"members.value eq "u""#).unwrap();
        check_filter(&f, &RESOURCES).unwrap();
        assert!(!matches(&f, &jane()));
    }

    #[test]
    fn sorts_by_type_with_missing_values_last() {
        let user = |id: &str, family: Option<&str>, created: &str| {
            let mut u = json!({"id": id, "meta": {"resourceType": "User", "created": created},
                               "userName": id.to_uppercase()});
            if let Some(f) = family {
                u["name"] = json!({"familyName": f});
            }
            u
        };
        let mut list = vec![
            user("b", Some("smith"), "2026-01-01T00:00:00Z"),
            user("c", None, "2025-12-31T23:00:00-02:00"),
            user("a", Some("Adams"), "2026-01-01T00:00:01Z"),
        ];
        let ids = |l: &[Value]| {
            l.iter()
                .map(|u| u["id"].as_str().unwrap().to_owned())
                .collect::<Vec<_>>()
        };
        let by = |p: &str| parse_path(p).unwrap().attr;
        sort(&mut list, &by("name.familyName"), false);
        assert_eq!(ids(&list), ["a", "b", "c"]);
        sort(&mut list, &by("name.familyName"), true);
        assert_eq!(ids(&list), ["b", "a", "c"]);
        sort(&mut list, &by("meta.created"), false);
        assert_eq!(ids(&list), ["b", "a", "c"]);
        sort(&mut list, &by("userName"), true);
        assert_eq!(ids(&list), ["c", "b", "a"]);
        assert!(check_sort(&by("name"), &[&USER_RESOURCE]).is_err());
        assert!(check_sort(&by("emails.value"), &[&USER_RESOURCE]).is_ok());
    }

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
        assert!(p.is_requested() && !p.returns("groups") && p.returns("emails"));
        p.apply(&mut u);
        assert!(u.get("active").is_none() && u.get("groups").is_none());
        assert_eq!(u["id"], "u-1");
        assert_eq!(u["emails"][0], json!({"value": "jane@home.example"}));
        assert!(Projection::parse(Some("emails[type eq \"x\"]"), None).is_err());
        assert!(!Projection::default().is_requested());
    }
}
