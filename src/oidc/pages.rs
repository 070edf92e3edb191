//! The sign-in pages, server-rendered from the templates of `templates/signin/`:
//!
//! - `GET /authorize`: the authorization code flow's entry (the AWS CLI opens it); a good
//!   request is stored and the browser sent to its consent page.
//! - `/{tenantId}/device`: enter or confirm a user code (`verificationUri[Complete]`).
//! - `/{tenantId}/login`, `/{tenantId}/logout`: sign in as a user of the identity store; a
//!   session cookie (`idc_session`, scoped to the tenant's path) keeps the browser signed in.
//! - `/{tenantId}/authorize/{id}`: allow or deny; then the browser goes back to the client
//!   with a code, or the device may continue.
//! - `/{tenantId}/start`: the start URL: the accounts and roles the user reaches.

use askama::Template;
use axum::Router;
use axum::extract::{Form, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use cookie::CookieBuilder;
use serde::Deserialize;

use crate::extract::{BaseUrl, Path, Query};
use crate::signin::oidc::{self, AuthorizeError, Decided};
use crate::signin::portal::{self, AccountInfo};
use crate::signin::{Internal, start_path, users};
use crate::state::{AppState, SharedState};
use crate::store::{AuthorizationKey, AuthorizationRecord, Tenant, UserRecord};
use crate::tenants;
use crate::web::{CsrfToken, ErrorPage, Html, cookies, html, see_other};

/// The cookie of a browser signed in to a tenant's pages.
const SESSION_COOKIE: &str = "idc_session";

pub(super) fn router() -> Router<SharedState> {
    Router::new()
        .route("/authorize", get(authorize))
        .route("/{tenant}/start", get(start))
        .route("/{tenant}/login", get(login_form).post(login))
        .route("/{tenant}/logout", post(logout))
        .route("/{tenant}/device", get(device_form).post(device))
        .route("/{tenant}/authorize/{id}", get(consent).post(decide))
}

impl From<Internal> for ErrorPage {
    fn from(_: Internal) -> Self {
        ErrorPage::internal()
    }
}

type PageResult = Result<Response, ErrorPage>;

async fn tenant(state: &AppState, tenant_id: &str) -> Result<Tenant, ErrorPage> {
    tenants::tenant(state.store.as_ref(), tenant_id)
        .await
        .map_err(|_| ErrorPage::not_found("There is no identity store at this address."))
}

/// The user the browser is signed in as, in this tenant.
async fn signed_in(
    state: &AppState,
    tenant: &Tenant,
    headers: &HeaderMap,
) -> Result<Option<UserRecord>, ErrorPage> {
    let Some(secret) = cookies::get(headers, SESSION_COOKIE) else {
        return Ok(None);
    };
    Ok(users::session_user(state.store.as_ref(), tenant, &secret, state.clock.now_ms()).await?)
}

/// The session cookie, scoped to the tenant's pages; `None` clears it.
fn session_cookie(tenant_id: &str, secret: Option<&str>) -> CookieBuilder<'static> {
    let cookie = cookie::Cookie::build((SESSION_COOKIE, secret.unwrap_or_default().to_owned()))
        .path(format!("/{tenant_id}/"))
        .same_site(cookie::SameSite::Lax);
    match secret {
        Some(_) => cookie,
        None => cookie.removal(),
    }
}

/// Where to go after signing in: a page of this tenant, or its start page.
fn safe_next(tenant_id: &str, next: Option<&str>) -> String {
    let prefix = format!("/{tenant_id}/");
    next.filter(|n| n.starts_with(&prefix) && !n.contains("//") && !n.contains('\\'))
        .map_or_else(|| start_path(tenant_id), str::to_owned)
}

fn login_redirect(tenant_id: &str, next: &str) -> Response {
    let next: String = form_urlencoded::byte_serialize(next.as_bytes()).collect();
    see_other(&format!("/{tenant_id}/login?next={next}"))
}

/// `serve --sign-in-as`: approves an authorization of the default tenant at once. A name of
/// no user who may sign in leaves it pending, for a person to answer.
pub(super) async fn auto_approve(
    state: &AppState,
    tenant_id: &str,
    authorization_id: &str,
) -> Option<Decided> {
    let user_name = state.sign_in_as.as_deref()?;
    let default = &state.default_tenant;
    if tenant_id != default.tenant_id {
        return None;
    }
    let now_ms = state.clock.now_ms();
    let store = state.store.as_ref();
    let key = AuthorizationKey::Id(authorization_id);
    let authorization = oidc::pending(store, key, tenant_id, now_ms).await.ok()??;
    match oidc::approve_as(store, default, &authorization, user_name, now_ms).await {
        Ok(decided) => Some(decided),
        Err(e) => {
            tracing::warn!(?e, "--sign-in-as could not approve an authorization");
            None
        }
    }
}

// The pages' templates. Every page of the frame knows the tenant, the browser's CSRF token
// and who is signed in (empty: nobody).

#[derive(Template)]
#[template(path = "signin/login.html")]
struct LoginPage {
    tenant_id: String,
    csrf: CsrfToken,
    signed_in: String,
    next: String,
    user_name: String,
    error: Option<&'static str>,
}

#[derive(Template)]
#[template(path = "signin/device.html")]
struct DevicePage {
    tenant_id: String,
    csrf: CsrfToken,
    signed_in: String,
    user_code: String,
    error: Option<&'static str>,
}

#[derive(Template)]
#[template(path = "signin/consent.html")]
struct ConsentPage {
    tenant_id: String,
    csrf: CsrfToken,
    signed_in: String,
    authorization_id: String,
    client_name: String,
    scopes: Vec<String>,
}

#[derive(Template)]
#[template(path = "signin/message.html")]
struct MessagePage {
    tenant_id: String,
    csrf: CsrfToken,
    signed_in: String,
    title: &'static str,
    message: &'static str,
    /// `success` or `error`.
    tone: &'static str,
}

#[derive(Template)]
#[template(path = "signin/start.html")]
struct StartPage {
    tenant_id: String,
    csrf: CsrfToken,
    signed_in: String,
    start_url: String,
    base_url: String,
    /// Each account the user reaches, with the names of the user's roles there.
    accounts: Vec<(AccountInfo, Vec<String>)>,
}

/// `GET /authorize`.
async fn authorize(
    State(state): State<SharedState>,
    Query(request): Query<AuthorizeQuery>,
) -> PageResult {
    let request = oidc::AuthorizeRequest {
        response_type: request.response_type,
        client_id: request.client_id,
        redirect_uri: request.redirect_uri,
        state: request.state,
        code_challenge: request.code_challenge,
        code_challenge_method: request.code_challenge_method,
        scopes: request.scopes,
    };
    let store = state.store.as_ref();
    let authorization = match oidc::begin_authorization(store, request, state.clock.now_ms()).await
    {
        Ok(authorization) => authorization,
        Err(AuthorizeError::Shown(message)) => return Err(ErrorPage::bad_request(message)),
        Err(AuthorizeError::Redirected { location }) => return Ok(see_other(&location)),
        Err(AuthorizeError::Internal) => return Err(ErrorPage::internal()),
    };
    let AuthorizationRecord {
        tenant_id,
        authorization_id,
        ..
    } = &authorization;
    if let Some(Decided::Redirect(location)) =
        auto_approve(&state, tenant_id, authorization_id).await
    {
        return Ok(see_other(&location));
    }
    Ok(see_other(&format!(
        "/{tenant_id}/authorize/{authorization_id}"
    )))
}

#[derive(Debug, Deserialize)]
struct AuthorizeQuery {
    response_type: Option<String>,
    client_id: Option<String>,
    redirect_uri: Option<String>,
    state: Option<String>,
    code_challenge: Option<String>,
    code_challenge_method: Option<String>,
    scopes: Option<String>,
}

/// `GET /{tenant}/start`: signed in, the accounts and roles the user reaches and how to use
/// the start URL; otherwise, sign in first.
async fn start(
    State(state): State<SharedState>,
    Path(tenant_id): Path<String>,
    BaseUrl(base_url): BaseUrl,
    csrf: CsrfToken,
    headers: HeaderMap,
) -> PageResult {
    let tenant = tenant(&state, &tenant_id).await?;
    let Some(user) = signed_in(&state, &tenant, &headers).await? else {
        return Ok(login_redirect(&tenant_id, &start_path(&tenant_id)));
    };
    let accounts = portal::access(state.store.as_ref(), &tenant, &user.id)
        .await
        .map_err(|_| ErrorPage::internal())?;
    Ok(Html(StartPage {
        start_url: oidc::start_url(&base_url, &tenant_id),
        tenant_id,
        csrf,
        signed_in: user.attrs.user_name,
        base_url,
        accounts,
    })
    .into_response())
}

#[derive(Debug, Deserialize)]
struct NextQuery {
    next: Option<String>,
}

async fn login_form(
    State(state): State<SharedState>,
    Path(tenant_id): Path<String>,
    Query(query): Query<NextQuery>,
    csrf: CsrfToken,
) -> PageResult {
    tenant(&state, &tenant_id).await?;
    Ok(Html(LoginPage {
        next: safe_next(&tenant_id, query.next.as_deref()),
        tenant_id,
        csrf,
        signed_in: String::new(),
        user_name: String::new(),
        error: None,
    })
    .into_response())
}

#[derive(Debug, Deserialize)]
struct LoginForm {
    user_name: String,
    #[serde(default)]
    password: String,
    next: Option<String>,
}

async fn login(
    State(state): State<SharedState>,
    Path(tenant_id): Path<String>,
    csrf: CsrfToken,
    Form(form): Form<LoginForm>,
) -> PageResult {
    let tenant = tenant(&state, &tenant_id).await?;
    let store = state.store.as_ref();
    let next = safe_next(&tenant_id, form.next.as_deref());
    let Some(user) = users::sign_in(store, &tenant, form.user_name.trim(), &form.password).await?
    else {
        let page = LoginPage {
            tenant_id,
            csrf,
            signed_in: String::new(),
            next,
            user_name: form.user_name,
            error: Some("Incorrect username or password."),
        };
        return Ok(html(StatusCode::UNAUTHORIZED, &page));
    };
    let secret = users::open_session(store, &tenant, &user.id, state.clock.now_ms()).await?;
    let cookie = session_cookie(&tenant_id, Some(&secret));
    Ok(cookies::see_other_setting(&next, cookie))
}

async fn logout(
    State(state): State<SharedState>,
    Path(tenant_id): Path<String>,
    headers: HeaderMap,
) -> PageResult {
    if let Some(secret) = cookies::get(&headers, SESSION_COOKIE) {
        users::close_session(state.store.as_ref(), &secret).await?;
    }
    let login = format!("/{tenant_id}/login");
    Ok(cookies::see_other_setting(
        &login,
        session_cookie(&tenant_id, None),
    ))
}

#[derive(Debug, Deserialize)]
struct UserCodeQuery {
    user_code: Option<String>,
}

async fn device_form(
    State(state): State<SharedState>,
    Path(tenant_id): Path<String>,
    Query(query): Query<UserCodeQuery>,
    csrf: CsrfToken,
    headers: HeaderMap,
) -> PageResult {
    let tenant = tenant(&state, &tenant_id).await?;
    let user = signed_in(&state, &tenant, &headers).await?;
    Ok(Html(DevicePage {
        tenant_id,
        csrf,
        signed_in: user.map(|u| u.attrs.user_name).unwrap_or_default(),
        user_code: query.user_code.unwrap_or_default(),
        error: None,
    })
    .into_response())
}

#[derive(Debug, Deserialize)]
struct UserCodeForm {
    user_code: String,
}

/// A user code entered: on to its consent page (signing in first if need be).
async fn device(
    State(state): State<SharedState>,
    Path(tenant_id): Path<String>,
    csrf: CsrfToken,
    headers: HeaderMap,
    Form(form): Form<UserCodeForm>,
) -> PageResult {
    let tenant = tenant(&state, &tenant_id).await?;
    let store = state.store.as_ref();
    let found =
        oidc::pending_by_user_code(store, &tenant_id, &form.user_code, state.clock.now_ms())
            .await?;
    let Some(authorization) = found else {
        let user = signed_in(&state, &tenant, &headers).await?;
        let page = DevicePage {
            tenant_id,
            csrf,
            signed_in: user.map(|u| u.attrs.user_name).unwrap_or_default(),
            user_code: form.user_code,
            error: Some("This code is not valid, or it has expired or been used."),
        };
        return Ok(html(StatusCode::BAD_REQUEST, &page));
    };
    Ok(see_other(&format!(
        "/{tenant_id}/authorize/{}",
        authorization.authorization_id
    )))
}

/// What the pages say of an authorization that is no longer pending.
const ANSWERED: &str = "This request has expired or was answered already: start again.";

/// A pending authorization of the tenant, or the page that says it is gone.
async fn pending_page(
    state: &AppState,
    tenant_id: &str,
    authorization_id: &str,
) -> Result<AuthorizationRecord, ErrorPage> {
    let key = AuthorizationKey::Id(authorization_id);
    oidc::pending(state.store.as_ref(), key, tenant_id, state.clock.now_ms())
        .await?
        .ok_or_else(|| ErrorPage::not_found(ANSWERED))
}

async fn consent(
    State(state): State<SharedState>,
    Path((tenant_id, authorization_id)): Path<(String, String)>,
    csrf: CsrfToken,
    headers: HeaderMap,
) -> PageResult {
    let tenant = tenant(&state, &tenant_id).await?;
    let Some(user) = signed_in(&state, &tenant, &headers).await? else {
        return Ok(login_redirect(
            &tenant_id,
            &format!("/{tenant_id}/authorize/{authorization_id}"),
        ));
    };
    let authorization = pending_page(&state, &tenant_id, &authorization_id).await?;
    let client_name = match state.store.get_client(&authorization.client_id).await {
        Ok((client, _)) => client.client_name,
        Err(e) => {
            tracing::error!(error = ?e, "the client of an authorization could not be read");
            return Err(ErrorPage::internal());
        }
    };
    Ok(Html(ConsentPage {
        tenant_id,
        csrf,
        signed_in: user.attrs.user_name,
        authorization_id,
        client_name,
        scopes: authorization.scopes,
    })
    .into_response())
}

#[derive(Debug, Deserialize)]
struct DecisionForm {
    decision: String,
}

async fn decide(
    State(state): State<SharedState>,
    Path((tenant_id, authorization_id)): Path<(String, String)>,
    csrf: CsrfToken,
    headers: HeaderMap,
    Form(form): Form<DecisionForm>,
) -> PageResult {
    let tenant = tenant(&state, &tenant_id).await?;
    let Some(user) = signed_in(&state, &tenant, &headers).await? else {
        return Ok(login_redirect(
            &tenant_id,
            &format!("/{tenant_id}/authorize/{authorization_id}"),
        ));
    };
    let approve = match form.decision.as_str() {
        "allow" => true,
        "deny" => false,
        _ => return Err(ErrorPage::bad_request("Choose to allow or to deny access.")),
    };
    let authorization = pending_page(&state, &tenant_id, &authorization_id).await?;
    let decided = oidc::decide(
        state.store.as_ref(),
        &authorization,
        &user.id,
        approve,
        state.clock.now_ms(),
    )
    .await?
    .ok_or_else(|| ErrorPage::not_found(ANSWERED))?;
    let (title, message, tone) = match decided {
        Decided::Redirect(location) => return Ok(see_other(&location)),
        Decided::DeviceMayContinue if approve => (
            "Request approved",
            "You can close this window and return to the application or device.",
            "success",
        ),
        Decided::DeviceMayContinue => (
            "Request denied",
            "The application or device was denied access. You can close this window.",
            "error",
        ),
    };
    Ok(Html(MessagePage {
        tenant_id,
        csrf,
        signed_in: user.attrs.user_name,
        title,
        message,
        tone,
    })
    .into_response())
}
