//! How attribute values compare with the values of a filter (RFC 7644 §3.4.2.2), in memory:
//! which comparisons an attribute type allows, what each operator says of one value, and the
//! logic of a whole filter over whatever holds the values, a [`Subject`]: a resource
//! (`eval::filter`) or one element of a multi-valued attribute (`value_filter`).
//!
//! Strings compare case-insensitively unless the attribute is `caseExact` (RFC 7643 §2.2, §7);
//! date-times compare as instants (§2.3.5). A path with several values (a multi-valued
//! attribute) matches when one of them does. `ne` is the negation of `eq`: a subject without
//! the attribute is `ne` any value.

use std::borrow::Cow;
use std::cmp::Ordering;

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::error::{Result, ScimError};
use super::filter::{AttrPath, CompValue, CompareOp, Filter};
use super::schema::{AttrDef, AttrType};

/// What a filter is evaluated on.
pub trait Subject<'a> {
    /// The definition of the values `path` names, and those values, nulls left out; `None`
    /// if the subject has no such attribute.
    fn values(&self, path: &AttrPath) -> Option<(&'static AttrDef, Vec<&'a Value>)>;

    /// Whether an element of the multi-valued attribute `path` matches the value filter
    /// `filter` (`path[filter]`).
    fn value_path(&self, path: &AttrPath, filter: &Filter) -> bool;
}

/// Whether a subject matches a filter (checked beforehand, so that names resolve and values
/// suit their attributes).
pub fn holds<'a>(filter: &Filter, subject: &impl Subject<'a>) -> bool {
    match filter {
        Filter::And(a, b) => holds(a, subject) && holds(b, subject),
        Filter::Or(a, b) => holds(a, subject) || holds(b, subject),
        Filter::Not(inner) => !holds(inner, subject),
        Filter::Present(path) => subject
            .values(path)
            .is_some_and(|(_, values)| values.into_iter().any(|v| present(Some(v)))),
        Filter::Compare(path, op, want) => subject.values(path).is_some_and(|(def, values)| {
            let any = |op| {
                if values.is_empty() {
                    compare(def, None, op, want)
                } else {
                    values.iter().any(|v| compare(def, Some(v), op, want))
                }
            };
            match op {
                CompareOp::Ne => !any(CompareOp::Eq),
                op => any(*op),
            }
        }),
        Filter::ValuePath(path, inner) => subject.value_path(path, inner),
    }
}

/// Checks that a comparison suits the attribute `def` (named `label` in the detail): booleans
/// with `eq` and `ne` only, date-times against RFC 3339 date-times, strings against strings,
/// no ordering by null.
pub fn check(def: &AttrDef, label: &str, op: CompareOp, value: &CompValue) -> Result<()> {
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
        (AttrType::DateTime, CompValue::Str(s)) if !is_substring(op) && instant(s).is_none() => {
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

/// `co`, `sw` and `ew`, which look into strings rather than order them.
fn is_substring(op: CompareOp) -> bool {
    matches!(op, CompareOp::Co | CompareOp::Sw | CompareOp::Ew)
}

/// Compares one value of the attribute `def` (`None`: no value) with a filter's value.
pub fn compare(def: &AttrDef, have: Option<&Value>, op: CompareOp, want: &CompValue) -> bool {
    if def.ty == AttrType::DateTime
        && !is_substring(op)
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
                let (a, b) = (folded(def.case_exact, a), folded(def.case_exact, b));
                match op {
                    CompareOp::Co => a.contains(b.as_ref()),
                    CompareOp::Sw => a.starts_with(b.as_ref()),
                    CompareOp::Ew => a.ends_with(b.as_ref()),
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

/// Whether two strings of an attribute are equal, `caseExact` or not.
pub fn str_eq(case_exact: bool, a: &str, b: &str) -> bool {
    a == b || folded(case_exact, a) == folded(case_exact, b)
}

/// A string of an attribute as it compares: lowercased unless `caseExact`.
pub fn folded(case_exact: bool, s: &str) -> Cow<'_, str> {
    if case_exact {
        Cow::Borrowed(s)
    } else {
        Cow::Owned(s.to_lowercase())
    }
}

/// Whether a value is there: not null, not an empty string, array or object.
pub fn present(value: Option<&Value>) -> bool {
    value.is_some_and(|v| match v {
        Value::Null => false,
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
        _ => true,
    })
}

/// A date-time (RFC 3339) as an instant.
pub fn instant(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}
