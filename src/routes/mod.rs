//! The SCIM endpoint's room: HTTP only (extract, call `scim` and the store, respond); no SQL
//! here. The `rfc` profile's own routes and rendering are in `rfc`.

pub mod discovery;
pub mod groups;
pub mod health;
pub mod resource;
pub mod rfc;
pub mod users;

use axum::Router;
use axum::extract::{FromRequestParts, RawPathParams};
use axum::http::header::CONTENT_TYPE;
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, any, get, post};
use serde::Serialize;

use crate::clock::Stamp;
use crate::http_error::{method_not_allowed, not_found, unsupported_operation};
use crate::scim::coerce;
use crate::scim::query::Paging;
use crate::scim::schema::LIST_RESPONSE_URN;
use crate::scim::search::SearchParams;
use crate::scim::{Profile, ScimError};
use crate::state::SharedState;
use crate::store::{GroupRecord, ListArgs, Page, UserRecord};

pub use crate::directory::store_error;
pub use crate::extract::ScimJson;

/// The SCIM endpoint at `/{tenant}/scim/v2` and its alias `/scim/v2` for the default tenant,
/// without its middleware (`middleware::scim_layers`).
pub fn router(profile: Profile) -> Router<SharedState> {
    scim_routes("/scim/v2", profile)
        .merge(scim_routes("/{tenant}/scim/v2", profile))
        .method_not_allowed_fallback(unsupported_operation)
}

/// The SCIM routes under `prefix` (`/scim/v2` or `/{tenant}/scim/v2`). Unknown paths below
/// the prefix are routed too, so that they are authenticated before they are answered 404.
/// The `rfc` profile adds the searches (`POST .../.search`) and PutGroup.
fn scim_routes(prefix: &str, profile: Profile) -> Router<SharedState> {
    let at = |path: &str| format!("{prefix}{path}");
    let group = get(resource::get::<GroupRecord>)
        .patch(groups::patch)
        .delete(resource::delete::<GroupRecord>);
    let group = match profile {
        Profile::Aws => group.put(unsupported_operation),
        Profile::Rfc => group.put(groups::replace),
    };
    let router = match profile {
        Profile::Aws => Router::new(),
        Profile::Rfc => Router::new()
            .route(&at("/Users/.search"), post(rfc::search_users))
            .route(&at("/Groups/.search"), post(rfc::search_groups))
            .route(&at("/.search"), post(rfc::search_all)),
    };
    // RFC 7644 §3.2 answers a method an endpoint does not support with 405, and RFC 9110
    // §15.5.6 names the methods it does in `Allow` (axum adds it to a 405); AWS answers 400.
    let discovery = |route: MethodRouter<SharedState>| match profile {
        Profile::Aws => route,
        Profile::Rfc => route.fallback(method_not_allowed),
    };
    router
        .route(&at("/Users"), get(users::list).post(users::create))
        .route(
            &at("/Users/{id}"),
            get(users::get)
                .put(users::replace)
                .patch(users::patch)
                .delete(resource::delete::<UserRecord>),
        )
        .route(&at("/Groups"), get(groups::list).post(groups::create))
        .route(&at("/Groups/{id}"), group)
        .route(
            &at("/ServiceProviderConfig"),
            discovery(get(discovery::service_provider_config)),
        )
        .route(
            &at("/ResourceTypes"),
            discovery(get(discovery::resource_types)),
        )
        .route(
            &at("/ResourceTypes/{id}"),
            discovery(get(discovery::resource_type)),
        )
        .route(&at("/Schemas"), discovery(get(discovery::schemas)))
        .route(&at("/Schemas/{id}"), discovery(get(discovery::schema)))
        .route(&at("/{*rest}"), any(not_found))
}

/// The `{id}` segment of a resource URL, percent-decoded, of the Identity Store's characters.
pub struct ResourceId(pub String);

impl<S: Send + Sync> FromRequestParts<S> for ResourceId {
    type Rejection = ScimError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ScimError> {
        let params = RawPathParams::from_request_parts(parts, state)
            .await
            .map_err(|_| ScimError::unparsable())?;
        let (_, id) = params
            .iter()
            .find(|(name, _)| *name == "id")
            .ok_or_else(ScimError::unparsable)?;
        coerce::text("id", id)?;
        Ok(ResourceId(id.to_owned()))
    }
}

/// The query parameters of a list (and of a single resource's attribute selection): AWS
/// reads `filter`, `count` and `cursor` and ignores the others (as AWS ignores them); the
/// `rfc` profile reads `search` and ignores `cursor`. Unknown parameters are ignored.
#[derive(Debug, Default)]
pub struct ListParams {
    pub search: SearchParams,
    pub cursor: Option<String>,
}

impl<S: Send + Sync> FromRequestParts<S> for ListParams {
    type Rejection = ScimError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ScimError> {
        let mut params = ListParams::default();
        let query = parts.uri.query().unwrap_or("");
        for (key, value) in form_urlencoded::parse(query.as_bytes()) {
            let search = &mut params.search;
            let slot = match key.as_ref() {
                "filter" => &mut search.filter,
                "count" => &mut search.count,
                "cursor" => &mut params.cursor,
                "startIndex" => &mut search.start_index,
                "sortBy" => &mut search.sort_by,
                "sortOrder" => &mut search.sort_order,
                "attributes" => &mut search.attributes,
                "excludedAttributes" => &mut search.excluded_attributes,
                _ => continue,
            };
            slot.get_or_insert_with(|| value.into_owned());
        }
        Ok(params)
    }
}

/// A ListResponse (RFC 7644 §3.4.2) in AWS's two forms: with `totalResults` and `startIndex`
/// when no `cursor` was given, with `nextCursor` (while more pages exist) when one was. AWS's
/// `totalResults` counts the resources of the page, not all that match.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ListResponse<T> {
    pub schemas: [&'static str; 1],
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total_results: Option<i64>,
    pub items_per_page: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_index: Option<u32>,
    #[serde(rename = "Resources")]
    pub resources: Vec<T>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// A list request: AWS's paging parameters, the cursor decoded.
pub struct ListRequest {
    paging: Paging,
    after: Option<String>,
}

impl ListRequest {
    pub fn new(params: &ListParams) -> Result<Self, ScimError> {
        let paging = Paging::from_params(params.search.count.as_deref(), params.cursor.as_deref())?;
        let after = match &paging.cursor {
            Some(Some(c)) => Some(cursor::decode(c)?),
            _ => None,
        };
        Ok(Self { paging, after })
    }

    /// What to ask the store for: never a total, which AWS does not give.
    pub fn args(&self) -> ListArgs<'_> {
        ListArgs {
            limit: self.paging.count,
            after: self.after.as_deref(),
            with_total: false,
        }
    }

    /// The ListResponse of a page, each item rendered by `render`.
    pub fn respond<'p, T, B>(
        &self,
        page: &'p Page<T>,
        id: impl Fn(&'p T) -> &'p str,
        render: impl Fn(&'p T) -> B,
    ) -> ListResponse<B> {
        let mut response = ListResponse::new(page.items.iter().map(render).collect());
        if self.paging.cursor.is_some() {
            response.next_cursor = page.next_after(id).map(cursor::encode);
        } else {
            response.total_results = Some(response.items_per_page as i64);
            response.start_index = Some(1);
        }
        response
    }

    /// The ListResponse of a page as `respond` renders it, each item written as its JSON
    /// object by `write` (which writes what the item's body would serialise to).
    pub fn respond_written<'p, T>(
        &self,
        page: &'p Page<T>,
        id: impl Fn(&'p T) -> &'p str,
        write: impl Fn(&'p T, &mut Vec<u8>),
    ) -> Response {
        let mut head = self.respond(page, id, |_| ());
        head.resources.clear();
        let head = serde_json::to_vec(&head).expect("a list response serialises");
        // The items go between the brackets of `"Resources":[]` (the one member of that name:
        // every member before it is a number or one of our strings, every one after it too).
        const EMPTY: &[u8] = br#""Resources":[]"#;
        let at = memchr::memmem::find(&head, EMPTY).map_or(head.len(), |at| at + EMPTY.len() - 1);
        let mut body = Vec::with_capacity(head.len() + 1024 * page.items.len());
        body.extend_from_slice(&head[..at]);
        for (i, item) in page.items.iter().enumerate() {
            if i > 0 {
                body.push(b',');
            }
            write(item, &mut body);
        }
        body.extend_from_slice(&head[at..]);
        json_response(StatusCode::OK, body)
    }
}

/// A response of JSON already serialised, as `axum::Json` answers it.
pub fn json_response(status: StatusCode, body: Vec<u8>) -> Response {
    let json = HeaderValue::from_static("application/json");
    (status, [(CONTENT_TYPE, json)], body).into_response()
}

/// `meta` of a resource as AWS renders it: no `location` (AWS's examples have none; the `rfc`
/// profile adds it).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Meta {
    resource_type: &'static str,
    created: Stamp,
    last_modified: Stamp,
}

impl Meta {
    pub fn new(resource_type: &'static str, created_ms: i64, modified_ms: i64) -> Self {
        Self {
            resource_type,
            created: Stamp::of(created_ms),
            last_modified: Stamp::of(modified_ms),
        }
    }
}

impl<T> ListResponse<T> {
    pub fn new(resources: Vec<T>) -> Self {
        Self {
            schemas: [LIST_RESPONSE_URN],
            total_results: None,
            items_per_page: resources.len(),
            start_index: None,
            resources,
            next_cursor: None,
        }
    }
}

/// SCIM's `cursor`: a keyset token (`store::keyset`).
pub mod cursor {
    use crate::scim::ScimError;
    pub use crate::store::keyset::encode;

    pub fn decode(cursor: &str) -> Result<String, ScimError> {
        crate::store::keyset::decode(cursor)
            .ok_or_else(|| ScimError::invalid("cursor is not valid."))
    }
}

/// Sets the `Location` header of a 201 (in the `rfc` profile, the same URL as `meta.location`).
pub fn with_location(response: &mut axum::response::Response, location: String) {
    if let Ok(value) = axum::http::HeaderValue::from_str(&location) {
        response
            .headers_mut()
            .insert(axum::http::header::LOCATION, value);
    }
}
