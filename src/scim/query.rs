//! What IAM Identity Center lets a client list and filter (AWS-SCIM.md, ListUsers and
//! ListGroups): the allow-listed filter forms, `count` and `cursor`. Anything else is AWS's 400.

use super::detail;
use super::error::{Result, ScimError};
use super::filter::{CompValue, CompareOp, Filter, parse_filter};

/// The largest and the default page size.
pub const MAX_COUNT: u32 = 100;

/// The user filters AWS accepts: `eq` on these attributes, `and` only between `id` and `manager`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserQuery {
    All,
    UserName(String),
    ExternalId(String),
    /// The (primary) email, case-insensitively: the Identity Store API's `emails.value`;
    /// AWS's SCIM filters do not offer it.
    Email(String),
    /// `groups.value eq "<group id>"`: the members of a group.
    Group(String),
    Id(String),
    IdAndManager {
        id: String,
        manager: String,
    },
}

/// The group filters AWS accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GroupQuery {
    All,
    DisplayName(String),
    ExternalId(String),
    /// `members.value eq "<user id>"` (or `members eq`): the groups of a user.
    Member(String),
    Id(String),
    /// The membership check `id eq "<group>" and members eq "<user>"`.
    IdAndMember {
        id: String,
        member: String,
    },
}

/// How a list is paged: `startIndex` is ignored by AWS, `cursor` switches to cursor paging.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Paging {
    pub count: u32,
    /// `None`: no `cursor` parameter. `Some(None)`: the first page of cursor paging.
    pub cursor: Option<Option<String>>,
}

impl Paging {
    /// Reads `count` (1..=100, default 100) and `cursor`.
    pub fn from_params(count: Option<&str>, cursor: Option<&str>) -> Result<Self> {
        let count = match count {
            None => MAX_COUNT,
            Some(text) => match text.trim().parse::<u32>() {
                Ok(n) if (1..=MAX_COUNT).contains(&n) => n,
                _ => {
                    return Err(ScimError::invalid(format!(
                        "count must be an integer from 1 to {MAX_COUNT}."
                    )));
                }
            },
        };
        let cursor = match cursor {
            None => None,
            Some("") => Some(None),
            Some(c) if c.len() <= 512 && c.bytes().all(is_cursor_byte) => Some(Some(c.to_owned())),
            Some(_) => return Err(ScimError::invalid("cursor is not valid.")),
        };
        Ok(Self { count, cursor })
    }
}

/// The cursor alphabet of AWS: `[-a-zA-Z0-9+=/:_]`.
fn is_cursor_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-+=/:_".contains(&b)
}

/// One `attr eq "value"` term, with the attribute path lowercased (`members.value`).
fn eq_terms(filter: &Filter) -> Result<Vec<(String, String)>> {
    let mut out = Vec::new();
    let mut stack = vec![filter];
    while let Some(f) = stack.pop() {
        match f {
            Filter::And(a, b) => {
                stack.push(b);
                stack.push(a);
            }
            Filter::Compare(path, CompareOp::Eq, CompValue::Str(value)) if path.urn.is_none() => {
                let mut name = path.attr.to_ascii_lowercase();
                if let Some(sub) = &path.sub_attr {
                    name.push('.');
                    name.push_str(&sub.to_ascii_lowercase());
                }
                out.push((name, value.clone()));
            }
            Filter::Compare(_, CompareOp::Eq, _) => {
                return Err(ScimError::unsupported_filter(
                    "Filter values must be strings in double quotes.",
                ));
            }
            Filter::Compare(..) | Filter::Present(_) => {
                return Err(ScimError::unsupported_filter(
                    "Only the eq operator is supported in filters.",
                ));
            }
            Filter::Or(..) | Filter::Not(_) | Filter::ValuePath(..) => {
                return Err(ScimError::unsupported_filter(
                    "Only the and logical operator is supported in filters.",
                ));
            }
        }
    }
    Ok(out)
}

/// The `eq` terms of a filter, sorted by attribute so that `a and b` equals `b and a`.
///
/// A filter that does not parse gets AWS's terse detail; an id compared with `""` gets AWS's
/// generic 400, as `members eq ""` was seen to (for the other id attributes: inferred).
fn parse(text: &str) -> Result<Vec<(String, String)>> {
    let filter =
        parse_filter(text).map_err(|_| ScimError::unsupported_filter(detail::INVALID_FILTER))?;
    let mut terms = eq_terms(&filter)?;
    if terms
        .iter()
        .any(|(attr, value)| value.is_empty() && names_an_id(attr))
    {
        return Err(ScimError::unparsable());
    }
    terms.sort();
    Ok(terms)
}

/// Whether a (lowercased) filter attribute holds the id of a user or a group.
fn names_an_id(attr: &str) -> bool {
    matches!(
        attr,
        "id" | "members"
            | "members.value"
            | "groups"
            | "groups.value"
            | "manager"
            | "manager.value"
    )
}

fn unsupported(text: &str) -> ScimError {
    ScimError::unsupported_filter(format!("Unsupported filter: {text}"))
}

/// The user query for the `filter` parameter of ListUsers.
///
/// ```
/// use idc_scim::scim::query::{UserQuery, user_query};
///
/// let q = user_query(Some(r#"manager eq "m" and id eq "u""#)).unwrap();
/// assert_eq!(q, UserQuery::IdAndManager { id: "u".into(), manager: "m".into() });
/// assert!(user_query(Some(r#"userName co "jane""#)).is_err());
/// ```
pub fn user_query(filter: Option<&str>) -> Result<UserQuery> {
    query(filter, UserQuery::All, |terms| {
        Some(match terms {
            [("username", v)] => UserQuery::UserName(v.to_string()),
            [("externalid", v)] => UserQuery::ExternalId(v.to_string()),
            [("groups.value" | "groups", v)] => UserQuery::Group(v.to_string()),
            [("id", v)] => UserQuery::Id(v.to_string()),
            [("id", id), ("manager" | "manager.value", m)] => UserQuery::IdAndManager {
                id: id.to_string(),
                manager: m.to_string(),
            },
            _ => return None,
        })
    })
}

/// The group query for the `filter` parameter of ListGroups.
pub fn group_query(filter: Option<&str>) -> Result<GroupQuery> {
    query(filter, GroupQuery::All, |terms| {
        Some(match terms {
            [("displayname", v)] => GroupQuery::DisplayName(v.to_string()),
            [("externalid", v)] => GroupQuery::ExternalId(v.to_string()),
            [("members" | "members.value", v)] => GroupQuery::Member(v.to_string()),
            [("id", v)] => GroupQuery::Id(v.to_string()),
            [("id", id), ("members" | "members.value", m)] => GroupQuery::IdAndMember {
                id: id.to_string(),
                member: m.to_string(),
            },
            _ => return None,
        })
    })
}

/// The query a `filter` parameter asks for: `all` without one, else what `pick` makes of its
/// sorted `eq` terms (`None`: a combination AWS does not support).
fn query<Q>(
    filter: Option<&str>,
    all: Q,
    pick: impl FnOnce(&[(&str, &str)]) -> Option<Q>,
) -> Result<Q> {
    let Some(text) = given(filter) else {
        return Ok(all);
    };
    let terms = parse(text)?;
    let terms: Vec<(&str, &str)> = terms
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    pick(&terms).ok_or_else(|| unsupported(text))
}

/// A query parameter's text, unless it is absent or blank.
pub fn given(param: Option<&str>) -> Option<&str> {
    param.filter(|text| !text.trim().is_empty())
}
