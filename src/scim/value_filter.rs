//! Value filters: the filter in `attr[...]` that selects elements of a multi-valued complex
//! attribute by their sub-attributes (RFC 7644 §3.4.2.2, `valuePath`), in the `filter` of a
//! query and in a PATCH path (§3.5.2, `emails[type eq "work"].value`). One check of what such a
//! filter names and compares, worded for where it stands, and one evaluation on an element.

use serde_json::{Map, Value};

use super::compare::{self, Subject};
use super::error::{Result, ScimError};
use super::filter::{AttrPath, CompValue, CompareOp, Filter, Term};
use super::json;
use super::schema::AttrDef;

/// Where a value filter stands, which decides how strictly it is checked and how its faults
/// are worded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Context {
    /// In the `filter` of a query: every comparison must suit its sub-attribute, and faults
    /// are `invalidFilter`.
    Query,
    /// In a PATCH path: only an ordering by a boolean or null is refused, and faults speak of
    /// attributes (`invalidValue`), as AWS words them.
    Patch,
}

impl Context {
    /// The sub-attribute of `def` that `path` names; `label` names `def` in the detail.
    fn sub(self, def: &AttrDef, path: &AttrPath, label: &str) -> Result<&'static AttrDef> {
        let simple = path.urn.is_none() && path.sub_attr.is_none();
        match (self, simple.then(|| def.sub(&path.attr)).flatten()) {
            (_, Some(sub)) => Ok(sub),
            (Self::Query, None) => Err(ScimError::invalid_filter(format!(
                "\"{label}\" has no sub-attribute \"{path}\"."
            ))),
            (Self::Patch, None) if !simple => Err(ScimError::invalid(format!(
                "The filter on \"{label}\" may only name its sub-attributes, not \"{path}\"."
            ))),
            (Self::Patch, None) => Err(ScimError::unsupported_attribute(&format!(
                "{label}.{}",
                path.attr
            ))),
        }
    }

    fn check_comparison(
        self,
        sub: &AttrDef,
        path: &AttrPath,
        label: &str,
        op: CompareOp,
        value: &CompValue,
    ) -> Result<()> {
        let ordered = !matches!(op, CompareOp::Eq | CompareOp::Ne);
        match self {
            Self::Query => compare::check(sub, &format!("{label}.{path}"), op, value),
            Self::Patch if ordered && matches!(value, CompValue::Bool(_) | CompValue::Null) => {
                Err(ScimError::invalid(format!(
                    "The filter on \"{label}\" cannot order {} by a boolean or null.",
                    path.attr
                )))
            }
            Self::Patch => Ok(()),
        }
    }

    /// A value filter inside a value filter, which the parser does not build.
    fn nested(self, label: &str) -> ScimError {
        match self {
            Self::Query => ScimError::invalid_filter(format!(
                "the filter on \"{label}\" may not hold another."
            )),
            Self::Patch => ScimError::invalid(format!(
                "The filter on \"{label}\" may not hold a nested filter."
            )),
        }
    }
}

/// Checks the value filter of the multi-valued attribute `def` (named `label` in details):
/// it names sub-attributes of `def` only and compares them as `context` allows.
pub fn check(filter: &Filter, def: &AttrDef, label: &str, context: Context) -> Result<()> {
    filter.terms().try_for_each(|term| {
        let (path, comparison) = match term {
            Term::Present(path) => (path, None),
            Term::Compare(path, op, value) => (path, Some((op, value))),
            Term::ValuePath(..) => return Err(context.nested(label)),
        };
        let sub = context.sub(def, path, label)?;
        match comparison {
            Some((op, value)) => context.check_comparison(sub, path, label, op, value),
            None => Ok(()),
        }
    })
}

/// Whether an element of the multi-valued attribute `def` matches a (checked) value filter.
pub fn matches(filter: &Filter, item: &Value, def: &AttrDef) -> bool {
    item.as_object()
        .is_some_and(|item| compare::holds(filter, &Element { def, item }))
}

/// One element of a multi-valued complex attribute; the paths of its filter name its
/// sub-attributes.
struct Element<'a> {
    def: &'a AttrDef,
    item: &'a Map<String, Value>,
}

impl<'a> Subject<'a> for Element<'a> {
    fn values(&self, path: &AttrPath) -> Option<(&'static AttrDef, Vec<&'a Value>)> {
        let sub = self.def.sub(&path.attr)?;
        let value = json::get(self.item, sub.name).filter(|v| !v.is_null());
        Some((sub, value.into_iter().collect()))
    }

    fn value_path(&self, _: &AttrPath, _: &Filter) -> bool {
        false
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::scim::error::ScimType;
    use crate::scim::filter::parse_filter;
    use crate::scim::schema::USER_RESOURCE;

    fn emails() -> &'static AttrDef {
        USER_RESOURCE.core.attr("emails").expect("emails")
    }

    fn fault(filter: &str, context: Context) -> (String, Option<ScimType>) {
        let f = parse_filter(filter).unwrap();
        let e = check(&f, emails(), "emails", context).unwrap_err();
        let kind = e.scim_type();
        (e.status_and_detail().1.to_owned(), kind)
    }

    #[test]
    fn one_check_worded_for_where_the_filter_stands() {
        use Context::{Patch, Query};
        assert_eq!(
            fault(r#"display eq "x""#, Query),
            (
                r#"Invalid filter: "emails" has no sub-attribute "display"."#.into(),
                Some(ScimType::InvalidFilter)
            )
        );
        assert_eq!(
            fault(r#"display eq "x""#, Patch),
            (
                r#"Attribute "emails.display" is not supported."#.into(),
                Some(ScimType::InvalidValue)
            )
        );
        assert!(
            fault(r#"type.x pr"#, Patch)
                .0
                .contains("only name its sub-attributes")
        );
        assert!(
            fault(r#"value gt null"#, Patch)
                .0
                .contains("boolean or null")
        );
        // The query context checks types; the PATCH context lets a mismatch match nothing.
        assert!(fault(r#"primary gt "x""#, Query).0.contains("boolean"));
        let f = parse_filter(r#"primary gt "x" and value co "@""#).unwrap();
        assert_eq!(check(&f, emails(), "emails", Patch), Ok(()));
    }

    #[test]
    fn matches_one_element() {
        let f = parse_filter(r#"TYPE eq "WORK" and not (primary eq false)"#).unwrap();
        let def = emails();
        assert!(matches(&f, &json!({"value": "a", "type": "work"}), def));
        assert!(!matches(
            &f,
            &json!({"value": "a", "type": "work", "primary": false}),
            def
        ));
        assert!(!matches(&f, &json!({"type": "home"}), def));
        assert!(!matches(&f, &json!("work"), def));
    }
}
