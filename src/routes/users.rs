//! `/Users` (AWS-SCIM.md, "Users"): CreateUser, GetUser, ListUsers, PutUser, PatchUser,
//! DeleteUser; in the `rfc` profile with RFC 7644's lists, attribute selection, ETags and
//! preconditions (`super::rfc`).

use std::sync::LazyLock;

use async_trait::async_trait;
use axum::extract::{Extension, State};
use axum::http::StatusCode;
use axum::response::Response;
use memchr::memmem;
use serde::Serialize;

use super::resource::{self, ScimResource, created, not_found};
use super::rfc::{self, Preconditions, Render};
use super::{ListParams, ListRequest, Meta, ResourceId, ScimJson, json_response};
use crate::clock::Stamp;
use crate::scim::query::user_query;
use crate::scim::schema::{ENTERPRISE_URN, USER_RESOURCE, USER_URN};
use crate::scim::user::{UserAttrs, patch_user};
use crate::scim::{Profile, ScimError, patch};
use crate::state::Authenticated;
use crate::state::SharedState;
use crate::store::{StoredUser, UserRecord};

/// The status of a successful PutUser and PatchUser: AWS's examples answer 200 with the user.
const UPDATE_STATUS: StatusCode = StatusCode::OK;

/// A user as AWS renders it.
#[derive(Serialize)]
pub struct UserBody<'a> {
    id: &'a str,
    meta: Meta,
    schemas: &'static [&'static str],
    #[serde(flatten)]
    attrs: &'a UserAttrs,
}

impl<'a> UserBody<'a> {
    pub(super) fn new(record: &'a UserRecord) -> Self {
        let schemas: &[&str] = match record.attrs.enterprise {
            Some(_) => &[USER_URN, ENTERPRISE_URN],
            None => &[USER_URN],
        };
        UserBody {
            id: &record.id,
            meta: Meta::new("User", record.created_ms, record.modified_ms),
            schemas,
            attrs: &record.attrs,
        }
    }
}

/// The member that holds a user's enterprise extension in the JSON of its attributes.
const ENTERPRISE_MEMBER: &str = "\"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User\":";

/// Writes a stored user as `UserBody` serialises it, without parsing its attributes: the
/// members before them (`id`, `meta`, `schemas`) serialised, then the stored JSON of the
/// attributes (`StoredUser::data`: the members that `UserBody` flattens, in the same order)
/// copied as it is.
pub(super) fn write_stored(user: &StoredUser, out: &mut Vec<u8>) {
    // A member name is the only place where the quoted name followed by a colon can appear
    // in the JSON: within a string, every quote is escaped. (memchr's search costs a tenth of
    // `str::contains` here.)
    static ENTERPRISE: LazyLock<memmem::Finder<'static>> =
        LazyLock::new(|| memmem::Finder::new(ENTERPRISE_MEMBER));
    let schemas = match ENTERPRISE.find(user.data.as_bytes()).is_some() {
        true => SCHEMAS_WITH_ENTERPRISE,
        false => SCHEMAS,
    };
    // The head as serde_json writes `UserBody`'s first members, written directly.
    out.extend_from_slice(br#"{"id":"#);
    write_json_str(out, &user.id);
    out.extend_from_slice(br#","meta":{"resourceType":"User","created":""#);
    out.extend_from_slice(Stamp::of(user.created_ms).as_str().as_bytes());
    out.extend_from_slice(br#"","lastModified":""#);
    out.extend_from_slice(Stamp::of(user.modified_ms).as_str().as_bytes());
    out.extend_from_slice(br#""},"schemas":"#);
    out.extend_from_slice(schemas.as_bytes());
    let attrs = user.data.trim();
    match attrs.strip_prefix('{') {
        Some(members) if members.trim_start() != "}" => {
            out.push(b',');
            out.extend_from_slice(members.as_bytes());
        }
        _ => out.push(b'}'),
    }
}

/// `schemas` of a user as serde_json writes the lists of `UserBody::new`.
const SCHEMAS: &str = r#"["urn:ietf:params:scim:schemas:core:2.0:User"]"#;
const SCHEMAS_WITH_ENTERPRISE: &str = r#"["urn:ietf:params:scim:schemas:core:2.0:User","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"]"#;

/// A string as serde_json writes it: copied between quotes when nothing in it is escaped.
fn write_json_str(out: &mut Vec<u8>, text: &str) {
    if text.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\') {
        out.push(b'"');
        out.extend_from_slice(text.as_bytes());
        out.push(b'"');
    } else {
        serde_json::to_writer(&mut *out, text).expect("a string serialises");
    }
}

/// GetUser. In the `aws` profile, the user is answered as stored (`write_stored`).
pub async fn get(
    State(state): State<SharedState>,
    Extension(auth): Extension<Authenticated>,
    ResourceId(id): ResourceId,
    preconditions: Preconditions,
    render: Render,
) -> Result<Response, ScimError> {
    if state.profile != Profile::Aws {
        let (state, auth, id) = (State(state), Extension(auth), ResourceId(id));
        return resource::get::<UserRecord>(state, auth, id, preconditions, render).await;
    }
    let user = state
        .store
        .get_stored_user(&auth.tenant, &id)
        .await
        .map_err(not_found::<UserRecord>)?;
    if let Some(response) = preconditions.not_modified(user.version) {
        return Ok(response);
    }
    let mut body = Vec::with_capacity(256 + user.data.len());
    write_stored(&user, &mut body);
    Ok(json_response(StatusCode::OK, body))
}

#[async_trait]
impl ScimResource for UserRecord {
    const ENDPOINT: &'static str = "Users";

    async fn render(
        &self,
        render: &Render,
        state: &SharedState,
        auth: &Authenticated,
        status: StatusCode,
    ) -> Result<Response, ScimError> {
        render.user(state, auth, self, status).await
    }
}

pub async fn create(
    State(state): State<SharedState>,
    Extension(auth): Extension<Authenticated>,
    render: Render,
    ScimJson(body): ScimJson,
) -> Result<Response, ScimError> {
    let attrs = UserAttrs::from_request_as(body, state.profile)?;
    let record = state
        .store
        .create_user(&auth.tenant, &attrs, state.clock.now_ms())
        .await
        .map_err(not_found::<UserRecord>)?;
    created(&state, &auth, &render, &record).await
}

pub async fn list(
    State(state): State<SharedState>,
    Extension(auth): Extension<Authenticated>,
    params: ListParams,
) -> Result<Response, ScimError> {
    if state.profile == Profile::Rfc {
        return rfc::search(&state, &auth, &params.search, &[&USER_RESOURCE]).await;
    }
    let query = user_query(params.search.filter.as_deref())?;
    let request = ListRequest::new(&params)?;
    let page = state
        .store
        .list_stored_users(&auth.tenant, &query, request.args())
        .await
        .map_err(not_found::<UserRecord>)?;
    Ok(request.respond_written(&page, |r| &r.id, write_stored))
}

pub async fn replace(
    State(state): State<SharedState>,
    Extension(auth): Extension<Authenticated>,
    ResourceId(id): ResourceId,
    preconditions: Preconditions,
    render: Render,
    ScimJson(body): ScimJson,
) -> Result<Response, ScimError> {
    let attrs = UserAttrs::from_request_as(body, state.profile)?;
    let edit = |_: &UserRecord| Ok(attrs.clone());
    update(&state, &auth, &id, &preconditions, &render, edit).await
}

pub async fn patch(
    State(state): State<SharedState>,
    Extension(auth): Extension<Authenticated>,
    ResourceId(id): ResourceId,
    preconditions: Preconditions,
    render: Render,
    ScimJson(body): ScimJson,
) -> Result<Response, ScimError> {
    let ops = patch::parse_request(body)?;
    let profile = state.profile;
    let edit = |current: &UserRecord| patch_user(&current.attrs, &ops, profile);
    update(&state, &auth, &id, &preconditions, &render, edit).await
}

/// PutUser and PatchUser: `edit` makes the next attributes of the current user, once the
/// preconditions hold for it.
async fn update(
    state: &SharedState,
    auth: &Authenticated,
    id: &str,
    preconditions: &Preconditions,
    render: &Render,
    edit: impl Fn(&UserRecord) -> Result<UserAttrs, ScimError> + Send + Sync,
) -> Result<Response, ScimError> {
    let record = state
        .store
        .update_user(&auth.tenant, id, state.clock.now_ms(), |current| {
            preconditions.check(current.version)?;
            edit(current)
        })
        .await
        .map_err(not_found::<UserRecord>)??;
    render.user(state, auth, &record, UPDATE_STATUS).await
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::{ENTERPRISE_MEMBER, UserBody, write_stored};
    use crate::routes::{ListParams, ListRequest};
    use crate::scim::schema::ENTERPRISE_URN;
    use crate::scim::user::UserAttrs;
    use crate::store::{Page, StoredUser};

    fn stored(id: &str, body: Value) -> StoredUser {
        let attrs = UserAttrs::from_request(body).unwrap();
        StoredUser {
            id: id.to_owned(),
            version: 3,
            created_ms: 1_700_000_000_123,
            modified_ms: 1_700_000_456_789,
            data: serde_json::to_string(&attrs).unwrap(),
        }
    }

    fn users() -> Vec<StoredUser> {
        vec![
            stored(
                "1",
                json!({"userName": "min", "displayName": "Min",
                               "name": {"givenName": "M", "familyName": "In"}}),
            ),
            stored(
                "2",
                json!({
                    "userName": "zoë@example.com", "externalId": "ext \"quoted\" \\ back",
                    "displayName": "Zoë \u{1F600} Tab\there",
                    "name": {"formatted": "Zoë Q", "givenName": "Zoë", "familyName": "Q",
                             "middleName": "m", "honorificPrefix": "Dr", "honorificSuffix": "II"},
                    "nickName": "z", "profileUrl": "https://example.com/z", "title": ENTERPRISE_MEMBER,
                    "userType": "Employee", "preferredLanguage": "fr-CA", "locale": "fr-CA",
                    "timezone": "America/Toronto", "active": false,
                    "emails": [{"value": "z@example.com", "type": "work", "primary": true}],
                    "addresses": [{"formatted": "1 Main St", "streetAddress": "1 Main St",
                                   "locality": "Town", "region": "ON", "postalCode": "K1A",
                                   "country": "CA", "type": "work", "primary": true}],
                    "phoneNumbers": [{"value": "+1 555 0100", "type": "work"}],
                    "roles": [{"value": "admin", "type": "t", "primary": true}],
                    (ENTERPRISE_URN): {"employeeNumber": "7", "costCenter": "c", "organization": "o",
                                       "division": "d", "department": "D",
                                       "manager": {"value": "boss"}},
                }),
            ),
            stored(
                "id \"with\" \\ \u{1} ü \u{7f}",
                json!({"userName": "odd-id", "displayName": "O",
                       "name": {"givenName": "O", "familyName": "D"}}),
            ),
            stored(
                "3",
                json!({"userName": "ent", "displayName": "E",
                               "name": {"givenName": "E", "familyName": "Nt"},
                               (ENTERPRISE_URN): {}}),
            ),
        ]
    }

    /// A user written from its stored JSON is the same bytes as the user parsed and
    /// serialised (`UserBody`), whether its id needs escaping or not, it has the enterprise
    /// extension or not, or text that looks like its member.
    #[test]
    fn a_stored_user_is_written_as_its_body_serialises() {
        for user in users() {
            let mut written = Vec::new();
            write_stored(&user, &mut written);
            let record = user.clone().parse().unwrap();
            let serialised = serde_json::to_vec(&UserBody::new(&record)).unwrap();
            assert_eq!(
                String::from_utf8(written).unwrap(),
                String::from_utf8(serialised).unwrap()
            );
        }
    }

    /// A list of stored users is the same bytes as the list of their bodies, in both of
    /// AWS's forms (with `totalResults`, and with a cursor and a next page).
    #[test]
    fn a_list_of_stored_users_is_written_as_its_response_serialises() {
        for (cursor, more) in [(None, false), (Some(String::new()), true)] {
            for n in 0..=3 {
                let params = ListParams {
                    cursor: cursor.clone(),
                    ..Default::default()
                };
                let request = ListRequest::new(&params).unwrap();
                let items: Vec<StoredUser> = users().into_iter().take(n).collect();
                let page = Page {
                    items,
                    total: None,
                    more: more && n > 0,
                };
                let response = request.respond_written(&page, |u| &u.id, write_stored);
                let written = tokio::runtime::Builder::new_current_thread()
                    .build()
                    .unwrap()
                    .block_on(axum::body::to_bytes(response.into_body(), usize::MAX))
                    .unwrap();
                let records = Page {
                    items: page
                        .items
                        .iter()
                        .map(|u| u.clone().parse().unwrap())
                        .collect(),
                    total: None,
                    more: page.more,
                };
                let expected = request.respond(&records, |r| &r.id, UserBody::new);
                let expected = serde_json::to_vec(&expected).unwrap();
                assert_eq!(
                    String::from_utf8(written.to_vec()).unwrap(),
                    String::from_utf8(expected).unwrap()
                );
            }
        }
    }
}
