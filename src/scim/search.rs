//! The query of a list or search in the `rfc` profile: `filter` (RFC 7644 §3.4.2.2), `sortBy`
//! and `sortOrder` (§3.4.2.3), `startIndex` and `count` (§3.4.2.4), `attributes` and
//! `excludedAttributes` (§3.4.2.5), read from a query string or from a SearchRequest body
//! (§3.4.3), checked against the resource types searched, and index paging.

use serde_json::Value;

use super::error::{Result, ScimError};
use super::eval::{self, Projection};
use super::filter::{AttrPath, Filter, PatchPath, parse_filter, parse_path};
use super::query::{MAX_COUNT, given};
use super::schema::{ResourceSchema, SEARCH_REQUEST_URN, message};

/// The parameters as text, as a query string holds them (lists comma-separated).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SearchParams {
    pub filter: Option<String>,
    pub sort_by: Option<String>,
    pub sort_order: Option<String>,
    pub start_index: Option<String>,
    pub count: Option<String>,
    pub attributes: Option<String>,
    pub excluded_attributes: Option<String>,
}

impl SearchParams {
    /// The parameters of a SearchRequest body (§3.4.3), which must list the SearchRequest
    /// schema. Names are case-insensitive; numbers may be JSON numbers or strings, lists JSON
    /// arrays of strings or comma-separated strings.
    pub fn from_search_request(body: Value) -> Result<Self> {
        let body = message(body, SEARCH_REQUEST_URN)?;
        let mut params = Self::default();
        for (key, value) in body {
            let slot = match key.to_ascii_lowercase().as_str() {
                "filter" => &mut params.filter,
                "sortby" => &mut params.sort_by,
                "sortorder" => &mut params.sort_order,
                "startindex" => &mut params.start_index,
                "count" => &mut params.count,
                "attributes" => &mut params.attributes,
                "excludedattributes" => &mut params.excluded_attributes,
                _ => continue,
            };
            *slot = text(&key, value)?;
        }
        Ok(params)
    }
}

/// A member of a SearchRequest as the query-string text it stands for.
fn text(key: &str, value: Value) -> Result<Option<String>> {
    let wrong = || {
        ScimError::invalid(format!(
            "Attribute \"{key}\" has a value of the wrong type."
        ))
    };
    Ok(match value {
        Value::Null => None,
        Value::String(s) => Some(s),
        Value::Number(n) => Some(n.to_string()),
        Value::Array(items) => Some(
            items
                .into_iter()
                .map(|i| match i {
                    Value::String(s) => Ok(s),
                    _ => Err(wrong()),
                })
                .collect::<Result<Vec<_>>>()?
                .join(","),
        ),
        Value::Bool(_) | Value::Object(_) => return Err(wrong()),
    })
}

/// A checked query.
#[derive(Debug, Clone, PartialEq)]
pub struct Search {
    pub filter: Option<Filter>,
    pub sort_by: Option<AttrPath>,
    pub descending: bool,
    /// 1-based.
    pub start_index: usize,
    pub count: usize,
    pub projection: Projection,
}

impl Search {
    /// Checks the parameters against the resource types searched. `startIndex` below 1 counts
    /// as 1, a negative `count` as 0, and `count` is at most `MAX_COUNT` (the `maxResults` of
    /// ServiceProviderConfig), which is also its default.
    pub fn new(params: &SearchParams, resources: &[&ResourceSchema]) -> Result<Self> {
        let filter = given(params.filter.as_deref())
            .map(|text| {
                let filter = parse_filter(text).map_err(ScimError::invalid_filter)?;
                eval::check_filter(&filter, resources)?;
                Ok(filter)
            })
            .transpose()?;
        let sort_by = given(params.sort_by.as_deref())
            .map(|text| {
                let path = parse_path(text.trim())
                    .ok()
                    .and_then(PatchPath::into_attr)
                    .ok_or_else(|| {
                        ScimError::invalid(format!("sortBy \"{text}\" is not an attribute name."))
                    })?;
                eval::check_sort(&path, resources)?;
                Ok(path)
            })
            .transpose()?;
        let descending = match given(params.sort_order.as_deref()).map(str::trim) {
            None => false,
            Some(o) if o.eq_ignore_ascii_case("ascending") => false,
            Some(o) if o.eq_ignore_ascii_case("descending") => true,
            Some(o) => {
                return Err(ScimError::invalid(format!(
                    "sortOrder \"{o}\" is neither \"ascending\" nor \"descending\"."
                )));
            }
        };
        let start_index = integer("startIndex", params.start_index.as_deref())?.unwrap_or(1);
        let count = integer("count", params.count.as_deref())?.unwrap_or(i64::from(MAX_COUNT));
        Ok(Self {
            filter,
            sort_by,
            descending,
            start_index: usize::try_from(start_index.max(1)).unwrap_or(usize::MAX),
            count: usize::try_from(count.clamp(0, i64::from(MAX_COUNT))).unwrap_or(0),
            projection: Projection::parse(
                params.attributes.as_deref(),
                params.excluded_attributes.as_deref(),
            )?,
        })
    }

    /// The page of `items` the query asks for, and the number of items.
    pub fn page<T>(&self, items: Vec<T>) -> (usize, Vec<T>) {
        let total = items.len();
        let page = items
            .into_iter()
            .skip(self.start_index - 1)
            .take(self.count)
            .collect();
        (total, page)
    }
}

fn integer(name: &str, text: Option<&str>) -> Result<Option<i64>> {
    match given(text).map(str::trim) {
        None => Ok(None),
        Some(t) => t
            .parse::<i64>()
            .map(Some)
            .map_err(|_| ScimError::invalid(format!("{name} must be an integer."))),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::scim::schema::{GROUP_RESOURCE, USER_RESOURCE};

    fn search(params: SearchParams) -> Result<Search> {
        Search::new(&params, &[&USER_RESOURCE])
    }

    #[test]
    fn defaults_and_clamps_paging() {
        let s = search(SearchParams::default()).unwrap();
        assert_eq!((s.start_index, s.count, s.descending), (1, 100, false));
        assert!(s.filter.is_none() && s.sort_by.is_none());
        let s = search(SearchParams {
            start_index: Some("-3".into()),
            count: Some("500".into()),
            ..Default::default()
        })
        .unwrap();
        assert_eq!((s.start_index, s.count), (1, 100));
        let s = search(SearchParams {
            start_index: Some("3".into()),
            count: Some("2".into()),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(s.page(vec![1, 2, 3, 4, 5]), (5, vec![3, 4]));
        let zero = search(SearchParams {
            count: Some("-1".into()),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(zero.page(vec![1, 2]), (2, vec![]));
        assert!(
            search(SearchParams {
                count: Some("ten".into()),
                ..Default::default()
            })
            .is_err()
        );
    }

    #[test]
    fn reads_a_search_request() {
        let params = SearchParams::from_search_request(json!({
            "schemas": [SEARCH_REQUEST_URN],
            "filter": "userName sw \"a\"",
            "sortBy": "name.familyName", "SORTORDER": "descending",
            "startIndex": 2, "count": "5",
            "attributes": ["userName", "emails"], "excludedAttributes": "title",
        }))
        .unwrap();
        assert_eq!(params.attributes.as_deref(), Some("userName,emails"));
        let s = search(params).unwrap();
        assert_eq!((s.start_index, s.count, s.descending), (2, 5, true));
        assert_eq!(s.sort_by.unwrap().to_string(), "name.familyName");
        let e = SearchParams::from_search_request(json!({"filter": "x pr"})).unwrap_err();
        assert_eq!(
            e.scim_type(),
            Some(super::super::error::ScimType::InvalidSyntax)
        );
        assert!(
            SearchParams::from_search_request(json!({"schemas": [SEARCH_REQUEST_URN],
            "count": true}))
            .is_err()
        );
    }

    #[test]
    fn checks_filter_and_sort_against_the_types_searched() {
        let bad = |filter: &str, resources: &[&ResourceSchema]| {
            let p = SearchParams {
                filter: Some(filter.into()),
                ..Default::default()
            };
            Search::new(&p, resources).is_err()
        };
        assert!(bad("displayName eq \"x\" and", &[&USER_RESOURCE]));
        assert!(bad("members pr", &[&USER_RESOURCE]));
        assert!(!bad("members pr", &[&USER_RESOURCE, &GROUP_RESOURCE]));
        let p = SearchParams {
            sort_order: Some("up".into()),
            ..Default::default()
        };
        assert!(search(p).is_err());
    }
}
