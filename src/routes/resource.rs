//! What `/Users` and `/Groups` do alike (AWS-SCIM.md, "Users" and "Groups"; RFC 7644 §3.3,
//! §3.4.1, §3.6): a create's answer, GetUser and GetGroup, DeleteUser and DeleteGroup, each
//! written once over `ScimResource`.

use async_trait::async_trait;
use axum::extract::{Extension, State};
use axum::http::StatusCode;
use axum::response::Response;

use super::rfc::{Preconditions, Render};
use super::{ResourceId, store_error, with_location};
use crate::directory::Resource;
use crate::scim::ScimError;
use crate::state::{Authenticated, SharedState};
use crate::store::StoreError;

/// A user or a group as the SCIM endpoint serves it: where it lives and how it is rendered.
#[async_trait]
pub trait ScimResource: Resource {
    /// The endpoint below the SCIM base URL: `Users`, `Groups`.
    const ENDPOINT: &'static str;

    /// The resource as an answer, in the endpoint's profile.
    async fn render(
        &self,
        render: &Render,
        state: &SharedState,
        auth: &Authenticated,
        status: StatusCode,
    ) -> Result<Response, ScimError>;
}

/// A store failure as the SCIM error of this kind of resource.
pub fn not_found<K: Resource>(e: StoreError) -> ScimError {
    store_error(e, K::not_found)
}

/// The 201 of CreateUser and CreateGroup: the resource, and its URL in `Location`.
pub async fn created<K: ScimResource>(
    state: &SharedState,
    auth: &Authenticated,
    render: &Render,
    record: &K,
) -> Result<Response, ScimError> {
    let mut response = record
        .render(render, state, auth, StatusCode::CREATED)
        .await?;
    let location = format!("{}/{}/{}", auth.base_url, K::ENDPOINT, record.id());
    with_location(&mut response, location);
    Ok(response)
}

/// GetUser and GetGroup; in the `rfc` profile a 304 when `If-None-Match` names the version.
pub async fn get<K: ScimResource>(
    State(state): State<SharedState>,
    Extension(auth): Extension<Authenticated>,
    ResourceId(id): ResourceId,
    preconditions: Preconditions,
    render: Render,
) -> Result<Response, ScimError> {
    let record = K::get(state.store.as_ref(), &auth.tenant, &id)
        .await
        .map_err(not_found::<K>)?;
    if let Some(response) = preconditions.not_modified(record.version()) {
        return Ok(response);
    }
    record.render(&render, &state, &auth, StatusCode::OK).await
}

/// DeleteUser and DeleteGroup; with `If-Match` (the `rfc` profile), only the version it names.
pub async fn delete<K: ScimResource>(
    State(state): State<SharedState>,
    Extension(auth): Extension<Authenticated>,
    ResourceId(id): ResourceId,
    preconditions: Preconditions,
) -> Result<StatusCode, ScimError> {
    let store = state.store.as_ref();
    if preconditions.has_if_match() {
        let current = K::get(store, &auth.tenant, &id)
            .await
            .map_err(not_found::<K>)?;
        preconditions.check(current.version())?;
    }
    K::delete(store, &auth.tenant, &id)
        .await
        .map_err(not_found::<K>)?;
    Ok(StatusCode::NO_CONTENT)
}
