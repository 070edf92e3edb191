//! Filters on whole resources (RFC 7644 §3.4.2.2): the check of a filter against the resource
//! types searched, and its evaluation on a resource in its JSON form. Attributes that a
//! resource's type does not have are absent, and a complex attribute named without a
//! sub-attribute (`emails co "@x"`) stands for its `value`.

use serde_json::Value;

use super::{Attribute, resource_schema};
use crate::scim::compare::{self, Subject};
use crate::scim::error::{Result, ScimError};
use crate::scim::filter::{AttrPath, Filter, Term};
use crate::scim::schema::{AttrDef, AttrType, ResourceSchema};
use crate::scim::value_filter::{self, Context};

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
/// allows (`compare::check`).
pub fn check_filter(filter: &Filter, resources: &[&ResourceSchema]) -> Result<()> {
    filter.terms().try_for_each(|term| match term {
        Term::Present(path) => resolve_any(resources, path).map(drop),
        Term::Compare(path, op, value) => {
            resolve_any(resources, path)?
                .into_iter()
                .try_for_each(|attr| {
                    let leaf = attr.leaf().ok_or_else(|| {
                        ScimError::invalid_filter(format!(
                            "\"{path}\" is complex; name a sub-attribute."
                        ))
                    })?;
                    compare::check(leaf, &path.to_string(), op, value)
                })
        }
        Term::ValuePath(path, inner) => {
            resolve_any(resources, path)?
                .into_iter()
                .try_for_each(|attr| {
                    if attr.sub.is_some() || attr.def.ty != AttrType::Complex {
                        return Err(ScimError::invalid_filter(format!(
                            "\"{path}\" has no sub-attributes to filter on."
                        )));
                    }
                    value_filter::check(inner, attr.def, &path.to_string(), Context::Query)
                })
        }
    })
}

/// Whether a resource matches a filter (checked with [`check_filter`]).
pub fn matches(filter: &Filter, resource: &Value) -> bool {
    resource_schema(resource)
        .is_some_and(|schema| compare::holds(filter, &Resource { schema, resource }))
}

/// A resource in its JSON form, with its type.
struct Resource<'a> {
    schema: &'static ResourceSchema,
    resource: &'a Value,
}

impl<'a> Subject<'a> for Resource<'a> {
    fn values(&self, path: &AttrPath) -> Option<(&'static AttrDef, Vec<&'a Value>)> {
        let attr = Attribute::resolve(self.schema, path)?;
        Some((attr.leaf()?, attr.values(self.resource)))
    }

    fn value_path(&self, path: &AttrPath, filter: &Filter) -> bool {
        Attribute::resolve(self.schema, path).is_some_and(|attr| {
            attr.items(self.resource)
                .into_iter()
                .any(|item| value_filter::matches(filter, item, attr.def))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::RESOURCES;
    use super::super::tests::jane;
    use super::*;
    use crate::scim::error::ScimType;
    use crate::scim::filter::parse_filter;
    use crate::scim::schema::{ENTERPRISE_URN, USER_RESOURCE};

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
        assert_eq!(e.scim_type(), Some(ScimType::InvalidFilter));
        // A root search accepts an attribute of either type; the other never matches.
        let f = parse_filter(r#"displayName pr"#).unwrap();
        check_filter(&f, &RESOURCES).unwrap();
        let f = parse_filter(r#"members.value eq "u""#).unwrap();
        check_filter(&f, &RESOURCES).unwrap();
        assert!(!matches(&f, &jane()));
    }
}
