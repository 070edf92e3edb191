//! The admin HTTP API under `/admin`: tenants, tokens, AWS access keys and the provisioning
//! switch, the AWS accounts of a tenant's organization, the connector controls (journal, seed,
//! reset, export, faults), sign-in (`signin`: headless approvals, passwords), JSON in and out,
//! behind its own bearer credential (`middleware::admin_layers`). Without a configured
//! credential it does not exist.

mod signin;

use axum::extract::{FromRequest, Request, State};
use axum::http::StatusCode;
use axum::http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use serde::Deserialize;

use crate::accounts::{self, AccountView};
use crate::controls::faults::{FaultSpec, RuleView};
use crate::controls::fixtures::{self, Fixture, Loaded, ResetTo};
use crate::controls::journal::{self, Entry};
use crate::extract::{Path, Query, ScimJson};
use crate::http_error::unsupported_operation;
use crate::scim::ScimError;
use crate::state::SharedState;
use crate::store::Tenant;
use crate::tenants::{self, TenantView};

/// The admin API's routes, without their middleware.
pub fn router() -> Router<SharedState> {
    Router::new()
        .route("/admin/tenants", get(list_tenants).post(create_tenant))
        .route(
            "/admin/tenants/{tenant}",
            get(get_tenant).patch(update_tenant).delete(delete_tenant),
        )
        .route(
            "/admin/tenants/{tenant}/tokens",
            get(list_tokens).post(create_token),
        )
        .route(
            "/admin/tenants/{tenant}/tokens/{token}",
            delete(delete_token),
        )
        .route(
            "/admin/tenants/{tenant}/access-keys",
            get(list_access_keys).post(create_access_key),
        )
        .route(
            "/admin/tenants/{tenant}/access-keys/{key}",
            delete(delete_access_key),
        )
        .route(
            "/admin/tenants/{tenant}/accounts",
            get(list_accounts).post(create_account),
        )
        .route(
            "/admin/tenants/{tenant}/accounts/{account}",
            delete(delete_account),
        )
        .route(
            "/admin/tenants/{tenant}/journal",
            get(journal).delete(clear_journal),
        )
        .route("/admin/tenants/{tenant}/seed", post(seed))
        .route("/admin/tenants/{tenant}/reset", post(reset))
        .route("/admin/tenants/{tenant}/export", get(export))
        .route(
            "/admin/faults",
            get(list_faults).post(add_fault).delete(clear_faults),
        )
        .route("/admin/faults/{id}", delete(remove_fault))
        .merge(signin::router())
        .method_not_allowed_fallback(unsupported_operation)
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct CreateTenant {
    tenant_id: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct UpdateTenant {
    provisioning_enabled: bool,
}

/// A JSON body of the admin API, read with the SCIM extractor's rules and then typed.
fn typed<T: for<'de> Deserialize<'de>>(body: serde_json::Value) -> Result<T, ScimError> {
    serde_json::from_value(body).map_err(|e| ScimError::invalid(format!("Invalid request: {e}")))
}

async fn list_tenants(
    State(state): State<SharedState>,
) -> Result<Json<Vec<TenantView>>, ScimError> {
    tenants::list_tenants(state.store.as_ref()).await.map(Json)
}

/// The body is optional: `POST /admin/tenants` alone creates a tenant with generated ids.
async fn create_tenant(
    State(state): State<SharedState>,
    req: Request,
) -> Result<Response, ScimError> {
    let empty = req
        .headers()
        .get(CONTENT_LENGTH)
        .is_some_and(|len| len == "0")
        || (req.headers().get(CONTENT_TYPE).is_none()
            && req.headers().get(CONTENT_LENGTH).is_none());
    let request: CreateTenant = if empty {
        CreateTenant::default()
    } else {
        let ScimJson(body) = ScimJson::from_request(req, &state).await?;
        typed(body)?
    };
    let view = tenants::create_tenant(
        state.store.as_ref(),
        request.tenant_id.as_deref(),
        state.clock.now_ms(),
    )
    .await?;
    Ok((StatusCode::CREATED, Json(view)).into_response())
}

async fn get_tenant(
    State(state): State<SharedState>,
    Path(tenant): Path<String>,
) -> Result<Json<TenantView>, ScimError> {
    tenants::get_tenant(state.store.as_ref(), &tenant)
        .await
        .map(Json)
}

async fn update_tenant(
    State(state): State<SharedState>,
    Path(tenant): Path<String>,
    ScimJson(body): ScimJson,
) -> Result<Json<TenantView>, ScimError> {
    let request: UpdateTenant = typed(body)?;
    tenants::set_provisioning(state.store.as_ref(), &tenant, request.provisioning_enabled)
        .await
        .map(Json)
}

async fn delete_tenant(
    State(state): State<SharedState>,
    Path(tenant): Path<String>,
) -> Result<StatusCode, ScimError> {
    tenants::delete_tenant(state.store.as_ref(), &tenant).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn list_tokens(
    State(state): State<SharedState>,
    Path(tenant): Path<String>,
) -> Result<Response, ScimError> {
    let tokens = tenants::list_tokens(state.store.as_ref(), &tenant, state.clock.now_ms()).await?;
    Ok(Json(tokens).into_response())
}

async fn create_token(
    State(state): State<SharedState>,
    Path(tenant): Path<String>,
) -> Result<Response, ScimError> {
    let token = tenants::create_token(state.store.as_ref(), &tenant, state.clock.now_ms()).await?;
    Ok((StatusCode::CREATED, Json(token)).into_response())
}

async fn delete_token(
    State(state): State<SharedState>,
    Path((tenant, token)): Path<(String, String)>,
) -> Result<StatusCode, ScimError> {
    tenants::delete_token(state.store.as_ref(), &tenant, &token).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn list_access_keys(
    State(state): State<SharedState>,
    Path(tenant): Path<String>,
) -> Result<Response, ScimError> {
    let keys = tenants::list_access_keys(state.store.as_ref(), &tenant).await?;
    Ok(Json(keys).into_response())
}

async fn create_access_key(
    State(state): State<SharedState>,
    Path(tenant): Path<String>,
) -> Result<Response, ScimError> {
    let key =
        tenants::create_access_key(state.store.as_ref(), &tenant, state.clock.now_ms()).await?;
    Ok((StatusCode::CREATED, Json(key)).into_response())
}

async fn delete_access_key(
    State(state): State<SharedState>,
    Path((tenant, key)): Path<(String, String)>,
) -> Result<StatusCode, ScimError> {
    tenants::delete_access_key(state.store.as_ref(), &tenant, &key).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn list_accounts(
    State(state): State<SharedState>,
    Path(tenant): Path<String>,
) -> Result<Json<Vec<AccountView>>, ScimError> {
    accounts::list_accounts(state.store.as_ref(), &tenant)
        .await
        .map(Json)
}

async fn create_account(
    State(state): State<SharedState>,
    Path(tenant): Path<String>,
    ScimJson(body): ScimJson,
) -> Result<Response, ScimError> {
    let view = accounts::create_account(
        state.store.as_ref(),
        &tenant,
        typed(body)?,
        state.clock.now_ms(),
    )
    .await?;
    Ok((StatusCode::CREATED, Json(view)).into_response())
}

async fn delete_account(
    State(state): State<SharedState>,
    Path((tenant, account)): Path<(String, String)>,
) -> Result<StatusCode, ScimError> {
    accounts::delete_account(state.store.as_ref(), &tenant, &account).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The tenant of an admin URL.
async fn tenant(state: &SharedState, tenant_id: &str) -> Result<Tenant, ScimError> {
    tenants::tenant(state.store.as_ref(), tenant_id).await
}

async fn journal(
    State(state): State<SharedState>,
    Path(tenant_id): Path<String>,
    Query(filter): Query<journal::Filter>,
) -> Result<Json<Vec<Entry>>, ScimError> {
    tenant(&state, &tenant_id).await?;
    Ok(Json(state.controls.journal.entries(&tenant_id, &filter)))
}

async fn clear_journal(
    State(state): State<SharedState>,
    Path(tenant_id): Path<String>,
) -> Result<StatusCode, ScimError> {
    tenant(&state, &tenant_id).await?;
    state.controls.journal.clear(&tenant_id);
    Ok(StatusCode::NO_CONTENT)
}

/// Loads a fixture into the tenant (adding to what is there) and remembers it as its seed.
async fn seed(
    State(state): State<SharedState>,
    Path(tenant_id): Path<String>,
    ScimJson(body): ScimJson,
) -> Result<Json<Loaded>, ScimError> {
    let tenant = tenant(&state, &tenant_id).await?;
    let fixture: Fixture = typed(body)?;
    let seeds = &state.controls.seeds;
    fixtures::seed(
        state.store.as_ref(),
        seeds,
        &tenant,
        fixture,
        state.clock.now_ms(),
    )
    .await
    .map(Json)
}

#[derive(Debug, Default, Deserialize)]
struct ResetQuery {
    /// `empty` (the default) or `seed`.
    to: Option<String>,
}

/// Empties the tenant, then loads its seed when `?to=seed`.
async fn reset(
    State(state): State<SharedState>,
    Path(tenant_id): Path<String>,
    Query(query): Query<ResetQuery>,
) -> Result<Json<Loaded>, ScimError> {
    let tenant = tenant(&state, &tenant_id).await?;
    let to = match query.to.as_deref() {
        Some(to) => to.parse()?,
        None => ResetTo::Empty,
    };
    let seeds = &state.controls.seeds;
    fixtures::reset(
        state.store.as_ref(),
        seeds,
        &tenant,
        to,
        state.clock.now_ms(),
    )
    .await
    .map(Json)
}

async fn export(
    State(state): State<SharedState>,
    Path(tenant_id): Path<String>,
) -> Result<Json<Fixture>, ScimError> {
    let tenant = tenant(&state, &tenant_id).await?;
    fixtures::export(state.store.as_ref(), &tenant)
        .await
        .map(Json)
}

async fn list_faults(State(state): State<SharedState>) -> Json<Vec<RuleView>> {
    Json(state.controls.faults.list())
}

async fn add_fault(
    State(state): State<SharedState>,
    ScimJson(body): ScimJson,
) -> Result<Response, ScimError> {
    let spec: FaultSpec = typed(body)?;
    let rule = state
        .controls
        .faults
        .add(spec)
        .map_err(ScimError::invalid)?;
    Ok((StatusCode::CREATED, Json(rule)).into_response())
}

async fn clear_faults(State(state): State<SharedState>) -> StatusCode {
    state.controls.faults.clear();
    StatusCode::NO_CONTENT
}

async fn remove_fault(
    State(state): State<SharedState>,
    Path(id): Path<u64>,
) -> Result<StatusCode, ScimError> {
    if state.controls.faults.remove(id) {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ScimError::NotFound("Fault rule not found.".to_owned()))
    }
}
