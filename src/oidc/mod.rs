//! The SSO OIDC room: AWS's `sso-oidc` API (REST-JSON, service model 2019-06-10) at the paths
//! of its model, `POST /client/register`, `POST /device_authorization` and `POST /token`,
//! and the sign-in pages (`pages`): the browser's `GET /authorize` of the authorization code
//! flow, and under `/{tenantId}/` the start URL, the device code form, sign-in, and the
//! consent page.
//!
//! Error bodies are the model's: `{"error": "...", "error_description": "..."}` with the
//! exception's name in `x-amzn-ErrorType`. A request's tenant is known from what it names (a
//! start URL, a device code, a code, a refresh token): once it is, the request passes the
//! tenant's controls (fault, then throttle) and is journaled under `/sso-oidc/<Operation>`.

mod pages;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::extract::BaseUrl;
use crate::http_error::RestJsonError;
use crate::middleware;
use crate::signin::oidc::{self, Named, OidcError};
use crate::state::{ErrorStyle, SharedState};
use crate::text::{self, Class, PathStyle};

/// The name of the API in the journal, in fault rules and in the throttle's buckets.
pub const SERVICE: &str = "sso-oidc";

/// The API's routes, whose errors all have the API's body.
pub fn api(state: &SharedState) -> Router<SharedState> {
    let routes = Router::new()
        .route("/client/register", post(register_client))
        .route("/device_authorization", post(start_device_authorization))
        .route("/token", post(create_token));
    middleware::tenant_body_layers(middleware::styled(routes, ErrorStyle::SsoOidc), state)
}

/// The sign-in pages' routes, behind the web layer.
pub fn pages() -> Router<SharedState> {
    crate::web::pages(pages::router())
}

/// An error of the API in the model's shape.
struct ApiError(OidcError);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (kind, code, status) = self.0.kind();
        RestJsonError {
            kind,
            status: StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            code: Some(code),
            message: self.0.description().to_owned(),
        }
        .into_response()
    }
}

/// A request body of the API: a JSON object (an empty body is an empty object); members of
/// the wrong type, and strings holding a control character (which no member of the model
/// takes), are `InvalidRequestException`.
fn body<T: DeserializeOwned + Default>(bytes: &[u8]) -> Result<T, OidcError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    let invalid = |e: serde_json::Error| {
        OidcError::InvalidRequest(format!("The request body is not valid: {e}."))
    };
    let value: Value = serde_json::from_slice(bytes).map_err(invalid)?;
    if let Some(member) = text::first_outside(&value, Class::NoControls, PathStyle::AS_SENT) {
        return Err(OidcError::InvalidRequest(format!(
            "The member {member} holds a control character."
        )));
    }
    serde_json::from_value(value).map_err(invalid)
}

/// The answer of an operation: its JSON, or its error.
fn answer(result: Result<Value, OidcError>) -> Response {
    match result {
        Ok(body) => {
            let mut response = (StatusCode::OK, body.to_string()).into_response();
            response
                .headers_mut()
                .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
            response
        }
        Err(e) => ApiError(e).into_response(),
    }
}

/// Runs an operation of the tenant a request names, under the tenant's controls and journal
/// (a request that names none runs as it is).
async fn operation(
    state: &SharedState,
    named: Option<Named<'_>>,
    operation: &str,
    run: impl Future<Output = Result<Value, OidcError>>,
) -> Response {
    let tenant = match named {
        Some(named) => oidc::tenant_named(state.store.as_ref(), named).await,
        None => None,
    };
    let path = format!("/{SERVICE}/{operation}");
    middleware::as_tenant(
        state,
        tenant.as_deref(),
        SERVICE,
        &Method::POST,
        &path,
        async { answer(run.await) },
    )
    .await
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RegisterClientBody {
    client_name: Option<String>,
    client_type: Option<String>,
    #[serde(default)]
    scopes: Vec<String>,
    #[serde(default)]
    redirect_uris: Vec<String>,
    #[serde(default)]
    grant_types: Vec<String>,
    issuer_url: Option<String>,
}

async fn register_client(
    State(state): State<SharedState>,
    BaseUrl(base_url): BaseUrl,
    bytes: Bytes,
) -> Response {
    let request: RegisterClientBody = match body(&bytes) {
        Ok(request) => request,
        Err(e) => return ApiError(e).into_response(),
    };
    let issuer = request.issuer_url.clone();
    let request = oidc::RegisterClient {
        client_name: request.client_name,
        client_type: request.client_type,
        scopes: request.scopes,
        redirect_uris: request.redirect_uris,
        grant_types: request.grant_types,
        issuer_url: request.issuer_url,
    };
    let (state, base_url) = (&state, &base_url);
    let named = issuer.as_deref().map(Named::StartUrl);
    operation(state, named, "RegisterClient", async move {
        let store = state.store.as_ref();
        let r = oidc::register_client(store, request, base_url, state.clock.now_ms()).await?;
        let mut body = json!({
            "clientId": r.client_id,
            "clientSecret": r.client_secret,
            "clientIdIssuedAt": r.issued_at_s,
            "clientSecretExpiresAt": r.expires_at_s,
        });
        if let (Some(authorize), Some(token)) = (r.authorization_endpoint, r.token_endpoint) {
            body["authorizationEndpoint"] = json!(authorize);
            body["tokenEndpoint"] = json!(token);
        }
        Ok(body)
    })
    .await
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct StartDeviceAuthorizationBody {
    client_id: Option<String>,
    client_secret: Option<String>,
    start_url: Option<String>,
}

async fn start_device_authorization(
    State(state): State<SharedState>,
    BaseUrl(base_url): BaseUrl,
    bytes: Bytes,
) -> Response {
    let request: StartDeviceAuthorizationBody = match body(&bytes) {
        Ok(request) => request,
        Err(e) => return ApiError(e).into_response(),
    };
    let named = request.start_url.as_deref().map(Named::StartUrl);
    operation(&state, named, "StartDeviceAuthorization", async {
        let d = oidc::start_device_authorization(
            state.store.as_ref(),
            request.client_id.as_deref(),
            request.client_secret.as_deref(),
            request.start_url.as_deref(),
            &base_url,
            state.clock.now_ms(),
        )
        .await?;
        pages::auto_approve(&state, &d.tenant_id, &d.authorization_id).await;
        Ok(json!({
            "deviceCode": d.device_code,
            "userCode": d.user_code,
            "verificationUri": d.verification_uri,
            "verificationUriComplete": d.verification_uri_complete,
            "expiresIn": d.expires_in,
            "interval": d.interval,
        }))
    })
    .await
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct CreateTokenBody {
    client_id: Option<String>,
    client_secret: Option<String>,
    grant_type: Option<String>,
    device_code: Option<String>,
    code: Option<String>,
    refresh_token: Option<String>,
    #[serde(default)]
    scope: Vec<String>,
    redirect_uri: Option<String>,
    code_verifier: Option<String>,
}

async fn create_token(State(state): State<SharedState>, bytes: Bytes) -> Response {
    let request: CreateTokenBody = match body(&bytes) {
        Ok(request) => request,
        Err(e) => return ApiError(e).into_response(),
    };
    let request = oidc::TokenRequest {
        client_id: request.client_id,
        client_secret: request.client_secret,
        grant_type: request.grant_type,
        device_code: request.device_code,
        code: request.code,
        refresh_token: request.refresh_token,
        scope: request.scope,
        redirect_uri: request.redirect_uri,
        code_verifier: request.code_verifier,
    };
    let named = match request.grant_type.as_deref() {
        Some(oidc::DEVICE_CODE_GRANT) => request.device_code.as_deref().map(Named::DeviceCode),
        Some(oidc::AUTHORIZATION_CODE_GRANT) => request.code.as_deref().map(Named::Code),
        Some(oidc::REFRESH_TOKEN_GRANT) => {
            request.refresh_token.as_deref().map(Named::RefreshToken)
        }
        _ => None,
    };
    operation(&state, named, "CreateToken", async {
        let g = oidc::create_token(state.store.as_ref(), &request, state.clock.now_ms()).await?;
        let mut body = json!({
            "accessToken": g.access_token,
            "tokenType": g.token_type,
            "expiresIn": g.expires_in,
        });
        if let Some(refresh) = g.refresh_token {
            body["refreshToken"] = json!(refresh);
        }
        Ok(body)
    })
    .await
}
