//! The access portal room: AWS's `sso` API (REST-JSON, service model 2019-06-10) at the paths
//! of its model: `GET /assignment/accounts` (ListAccounts), `GET /assignment/roles`
//! (ListAccountRoles), `GET /federation/credentials` (GetRoleCredentials), `POST /logout`.
//! The caller is the bearer of an SSO OIDC access token, in `x-amz-sso_bearer_token`.
//!
//! The tenant is known from the token only: once it is, the request passes the tenant's
//! controls (fault, then throttle) and is journaled under `/sso/<Operation>`.

use axum::Router;
use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, get, post};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::extract::Query;
use crate::http_error::RestJsonError;
use crate::middleware;
use crate::signin::portal::{self, Bearer, PortalError};
use crate::state::{AppState, ErrorStyle, SharedState};

/// The name of the API in the journal, in fault rules and in the throttle's buckets.
pub const SERVICE: &str = "sso";

/// The header that bears the access token.
const BEARER_HEADER: &str = "x-amz-sso_bearer_token";

/// The API's routes, whose errors all have the API's body.
pub fn router(state: &SharedState) -> Router<SharedState> {
    let routes = Router::new()
        .route(
            "/assignment/accounts",
            get_with_query(Operation::ListAccounts),
        )
        .route(
            "/assignment/roles",
            get_with_query(Operation::ListAccountRoles),
        )
        .route(
            "/federation/credentials",
            get_with_query(Operation::GetRoleCredentials),
        )
        .route("/logout", post(logout));
    middleware::tenant_body_layers(middleware::styled(routes, ErrorStyle::SsoPortal), state)
}

fn error(e: PortalError) -> Response {
    let (kind, status) = e.kind();
    RestJsonError {
        kind,
        status: StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        code: None,
        message: e.message().to_owned(),
    }
    .into_response()
}

fn answer(body: Value) -> Response {
    let mut response = (StatusCode::OK, body.to_string()).into_response();
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

/// An operation of the API with its parameters.
enum Operation {
    ListAccounts(ListQuery),
    ListAccountRoles(ListQuery),
    GetRoleCredentials(ListQuery),
    Logout,
}

impl Operation {
    fn name(&self) -> &'static str {
        match self {
            Self::ListAccounts(_) => "ListAccounts",
            Self::ListAccountRoles(_) => "ListAccountRoles",
            Self::GetRoleCredentials(_) => "GetRoleCredentials",
            Self::Logout => "Logout",
        }
    }

    async fn run(&self, state: &AppState, bearer: &Bearer) -> Result<Value, PortalError> {
        let store = state.store.as_ref();
        match self {
            Self::ListAccounts(q) => {
                let (accounts, next) =
                    portal::list_accounts(store, bearer, q.next_token.as_deref(), q.max_result)
                        .await?;
                let list: Vec<Value> = accounts
                    .into_iter()
                    .map(|a| {
                        json!({"accountId": a.account_id, "accountName": a.account_name,
                               "emailAddress": a.email_address})
                    })
                    .collect();
                Ok(with_next(json!({"accountList": list}), next))
            }
            Self::ListAccountRoles(q) => {
                let account_id = required(&q.account_id, "accountId")?;
                let (roles, next) = portal::list_account_roles(
                    store,
                    bearer,
                    account_id,
                    q.next_token.as_deref(),
                    q.max_result,
                )
                .await?;
                let list: Vec<Value> = roles
                    .into_iter()
                    .map(|name| json!({"roleName": name, "accountId": account_id}))
                    .collect();
                Ok(with_next(json!({"roleList": list}), next))
            }
            Self::GetRoleCredentials(q) => {
                let account_id = required(&q.account_id, "accountId")?;
                let role_name = required(&q.role_name, "roleName")?;
                let now_ms = state.clock.now_ms();
                let c =
                    portal::role_credentials(store, bearer, account_id, role_name, now_ms).await?;
                Ok(json!({"roleCredentials": {
                    "accessKeyId": c.access_key_id,
                    "secretAccessKey": c.secret_access_key,
                    "sessionToken": c.session_token,
                    "expiration": c.expiration_ms,
                }}))
            }
            Self::Logout => {
                portal::logout(store, bearer).await?;
                Ok(json!({}))
            }
        }
    }
}

/// Runs an operation for the bearer of the request's token: once the token names its tenant,
/// under the tenant's controls and journal.
async fn serve(state: &AppState, method: &Method, headers: &HeaderMap, op: Operation) -> Response {
    let presented = headers
        .get(BEARER_HEADER)
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty());
    let store = state.store.as_ref();
    let token = match presented {
        Some(token) => match portal::token(store, token).await {
            Ok(token) => token,
            Err(e) => return error(e),
        },
        None => None,
    };
    let Some(tenant_id) = token.as_ref().map(|t| t.tenant_id.clone()) else {
        return error(PortalError::Unauthorized);
    };
    let path = format!("/{SERVICE}/{}", op.name());
    let run = async {
        let outcome = match portal::bearer(store, token, state.clock.now_ms()).await {
            Ok(bearer) => op.run(state, &bearer).await,
            Err(e) => Err(e),
        };
        match outcome {
            Ok(body) => answer(body),
            Err(e) => error(e),
        }
    };
    middleware::as_tenant(state, Some(&tenant_id), SERVICE, method, &path, run).await
}

/// A page with its `nextToken`, when more follow.
fn with_next(mut body: Value, next: Option<String>) -> Value {
    if let Some(next) = next {
        body["nextToken"] = json!(next);
    }
    body
}

/// The query parameters of the operations (the model's `location: querystring` members).
#[derive(Debug, Default, Deserialize)]
struct ListQuery {
    next_token: Option<String>,
    max_result: Option<i64>,
    account_id: Option<String>,
    role_name: Option<String>,
}

fn required<'a>(value: &'a Option<String>, name: &str) -> Result<&'a str, PortalError> {
    value
        .as_deref()
        .filter(|v| !v.is_empty())
        .ok_or_else(|| PortalError::InvalidRequest(format!("{name} is required.")))
}

/// The route of a `GET` operation, whose parameters are the query string's.
fn get_with_query(operation: fn(ListQuery) -> Operation) -> MethodRouter<SharedState> {
    get(
        move |State(state): State<SharedState>,
              method: Method,
              headers: HeaderMap,
              Query(query): Query<ListQuery>| async move {
            serve(&state, &method, &headers, operation(query)).await
        },
    )
}

async fn logout(State(state): State<SharedState>, method: Method, headers: HeaderMap) -> Response {
    serve(&state, &method, &headers, Operation::Logout).await
}
