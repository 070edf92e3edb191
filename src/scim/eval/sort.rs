//! Sorting (RFC 7644 §3.4.2.3): `sortBy` names a simple attribute or sub-attribute; strings
//! sort as they compare (case-insensitively unless `caseExact`), date-times as instants. A
//! multi-valued attribute sorts by its primary value, else its first, and resources without a
//! value go last in either order.

use std::cmp::Ordering;

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::{Attribute, resource_schema};
use crate::scim::compare::{folded, instant};
use crate::scim::error::{Result, ScimError};
use crate::scim::filter::AttrPath;
use crate::scim::json;
use crate::scim::schema::{AttrType, ResourceSchema};

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
        Value::String(s) => Some(SortKey::Text(folded(leaf.case_exact, s).into_owned())),
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

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::scim::filter::parse_path;
    use crate::scim::schema::USER_RESOURCE;

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
}
