//! SSO OIDC as AWS runs it (service model `sso-oidc` 2019-06-10): RegisterClient,
//! StartDeviceAuthorization, CreateToken for the device code (RFC 8628), authorization code
//! with PKCE (RFC 6749 §4.1, RFC 7636) and refresh token (RFC 6749 §6) grants, and the
//! browser's side of the authorization code flow (`begin_authorization`, `decide`). Errors
//! are the model's, named by `OidcError`.
//!
//! A client registered with an issuer URL (a start URL) belongs to that tenant; one without
//! belongs to none, as AWS's clients belong to a region, and its device authorizations name
//! their tenant by the start URL.

use super::{
    ACCESS_TOKEN_LIFETIME_MS, AUTHORIZATION_LIFETIME_MS, CLIENT_LIFETIME_MS, Internal,
    POLL_INTERVAL_S, SESSION_LIFETIME_MS, SLOW_DOWN_STEP_S, internal, secrets, start_path,
    tenant_of_start_url,
};
use crate::store::{
    AuthorizationKey, AuthorizationRecord, AuthorizationStatus, ClientRecord, Constraint, Decision,
    Flow, Store, StoreError, Tenant, TokenKey, TokenRecord,
};

pub const DEVICE_CODE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";
pub const AUTHORIZATION_CODE_GRANT: &str = "authorization_code";
pub const REFRESH_TOKEN_GRANT: &str = "refresh_token";
const GRANT_TYPES: [&str; 3] = [
    DEVICE_CODE_GRANT,
    AUTHORIZATION_CODE_GRANT,
    REFRESH_TOKEN_GRANT,
];

/// The errors of the service model, each with the `error` code of its body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OidcError {
    InvalidRequest(String),
    InvalidClient(String),
    InvalidClientMetadata(String),
    InvalidRedirectUri(String),
    InvalidGrant(String),
    InvalidScope(String),
    UnauthorizedClient(String),
    UnsupportedGrantType(String),
    AuthorizationPending,
    SlowDown,
    AccessDenied(String),
    ExpiredToken(String),
    Internal,
}

impl From<Internal> for OidcError {
    fn from(_: Internal) -> Self {
        Self::Internal
    }
}

impl OidcError {
    /// The exception's name (`x-amzn-ErrorType`), its `error` code, and its HTTP status.
    pub fn kind(&self) -> (&'static str, &'static str, u16) {
        match self {
            Self::InvalidRequest(_) => ("InvalidRequestException", "invalid_request", 400),
            Self::InvalidClient(_) => ("InvalidClientException", "invalid_client", 401),
            Self::InvalidClientMetadata(_) => (
                "InvalidClientMetadataException",
                "invalid_client_metadata",
                400,
            ),
            Self::InvalidRedirectUri(_) => {
                ("InvalidRedirectUriException", "invalid_redirect_uri", 400)
            }
            Self::InvalidGrant(_) => ("InvalidGrantException", "invalid_grant", 400),
            Self::InvalidScope(_) => ("InvalidScopeException", "invalid_scope", 400),
            Self::UnauthorizedClient(_) => {
                ("UnauthorizedClientException", "unauthorized_client", 400)
            }
            Self::UnsupportedGrantType(_) => (
                "UnsupportedGrantTypeException",
                "unsupported_grant_type",
                400,
            ),
            Self::AuthorizationPending => (
                "AuthorizationPendingException",
                "authorization_pending",
                400,
            ),
            Self::SlowDown => ("SlowDownException", "slow_down", 400),
            Self::AccessDenied(_) => ("AccessDeniedException", "access_denied", 400),
            Self::ExpiredToken(_) => ("ExpiredTokenException", "expired_token", 400),
            Self::Internal => ("InternalServerException", "server_error", 500),
        }
    }

    /// The `error_description` of the body.
    pub fn description(&self) -> &str {
        match self {
            Self::InvalidRequest(m)
            | Self::InvalidClient(m)
            | Self::InvalidClientMetadata(m)
            | Self::InvalidRedirectUri(m)
            | Self::InvalidGrant(m)
            | Self::InvalidScope(m)
            | Self::UnauthorizedClient(m)
            | Self::UnsupportedGrantType(m)
            | Self::AccessDenied(m)
            | Self::ExpiredToken(m) => m,
            Self::AuthorizationPending => "Authorization is still pending.",
            Self::SlowDown => "Client is polling too fast: wait the interval between requests.",
            Self::Internal => "An internal error occurred.",
        }
    }
}

type Result<T, E = OidcError> = std::result::Result<T, E>;

/// What names the tenant of a request, before the request is run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Named<'a> {
    /// A start URL (RegisterClient's `issuerUrl`, StartDeviceAuthorization's `startUrl`).
    StartUrl(&'a str),
    DeviceCode(&'a str),
    Code(&'a str),
    RefreshToken(&'a str),
}

/// The tenant a request names, if it names one that exists: the journal and the controls of
/// the tenant apply to the request. A store failure names none (the request reports it).
pub async fn tenant_named(store: &dyn Store, named: Named<'_>) -> Option<String> {
    let from_authorization = |key| async move {
        store
            .find_authorization(key)
            .await
            .ok()
            .map(|a| a.tenant_id)
    };
    match named {
        Named::StartUrl(url) => tenant_of_url(store, url)
            .await
            .ok()
            .flatten()
            .map(|t| t.tenant_id),
        Named::DeviceCode(code) => {
            let hash = secrets::hash(code);
            from_authorization(AuthorizationKey::DeviceCode { hash: &hash }).await
        }
        Named::Code(code) => {
            let hash = secrets::hash(code);
            from_authorization(AuthorizationKey::Code { hash: &hash }).await
        }
        Named::RefreshToken(token) => store
            .find_token(TokenKey::Refresh(&secrets::hash(token)))
            .await
            .ok()
            .map(|t| t.tenant_id),
    }
}

/// RegisterClient's request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RegisterClient {
    pub client_name: Option<String>,
    pub client_type: Option<String>,
    pub scopes: Vec<String>,
    pub redirect_uris: Vec<String>,
    pub grant_types: Vec<String>,
    pub issuer_url: Option<String>,
}

/// RegisterClient's answer; the secret is shown here only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registration {
    pub client_id: String,
    pub client_secret: String,
    pub issued_at_s: i64,
    pub expires_at_s: i64,
    /// For clients of the authorization code grant.
    pub authorization_endpoint: Option<String>,
    pub token_endpoint: Option<String>,
}

/// Whether a scope has the form AWS's have (`sso:account:access`, `codewhisperer:analysis`).
fn is_scope(scope: &str) -> bool {
    let mut parts = scope.split(':');
    let service = parts.next().unwrap_or_default();
    !service.is_empty()
        && scope.len() <= 256
        && scope.contains(':')
        && scope.split(':').all(|p| {
            !p.is_empty()
                && p.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_*.".contains(&b))
        })
}

/// Whether a redirect URI may receive codes: HTTPS, or HTTP to the loopback interface (RFC
/// 8252 §7.3), without a fragment.
fn is_redirect_uri(uri: &str) -> bool {
    let Ok(parsed) = uri.parse::<axum::http::Uri>() else {
        return false;
    };
    let loopback = matches!(
        parsed.host(),
        Some("127.0.0.1" | "[::1]" | "::1" | "localhost")
    );
    !uri.contains('#')
        && match parsed.scheme_str() {
            Some("https") => parsed.host().is_some(),
            Some("http") => loopback,
            _ => false,
        }
}

/// Whether the redirect URI of an authorization request is one the client registered. On
/// the loopback interface the port is left out of the comparison (RFC 8252 §7.3): the AWS
/// CLI registers `http://127.0.0.1/oauth/callback` and listens on a port of the moment.
pub fn redirect_uri_registered(client: &ClientRecord, uri: &str) -> bool {
    let Ok(asked) = uri.parse::<axum::http::Uri>() else {
        return false;
    };
    let without_port = |u: &axum::http::Uri| {
        (
            u.scheme_str().map(str::to_owned),
            u.host().map(str::to_owned),
            u.path_and_query().map(|p| p.as_str().to_owned()),
        )
    };
    client.redirect_uris.iter().any(|registered| {
        registered == uri
            || registered.parse::<axum::http::Uri>().is_ok_and(|r| {
                r.scheme_str() == Some("http")
                    && r.port().is_none()
                    && is_redirect_uri(uri)
                    && asked.scheme_str() == Some("http")
                    && without_port(&r) == without_port(&asked)
            })
    })
}

/// The tenant a start URL names, if it exists.
async fn tenant_of_url(store: &dyn Store, url: &str) -> Result<Option<Tenant>> {
    let Some(tenant_id) = tenant_of_start_url(url) else {
        return Ok(None);
    };
    match store.get_tenant(tenant_id).await {
        Ok(info) => Ok(Some(info.tenant)),
        Err(StoreError::NotFound) => Ok(None),
        Err(e) => Err(internal(e)),
    }
}

/// RegisterClient. `base_url` is this server as the client reached it.
pub async fn register_client(
    store: &dyn Store,
    request: RegisterClient,
    base_url: &str,
    now_ms: i64,
) -> Result<Registration> {
    let tenant_id = match &request.issuer_url {
        Some(url) => Some(
            tenant_of_url(store, url)
                .await?
                .ok_or_else(|| {
                    OidcError::InvalidRequest(
                        "issuerUrl is not the start URL of an identity store of this server."
                            .into(),
                    )
                })?
                .tenant_id,
        ),
        None => None,
    };
    let client_name = request
        .client_name
        .filter(|n| !n.trim().is_empty())
        .ok_or_else(|| OidcError::InvalidRequest("clientName is required.".into()))?;
    match request.client_type.as_deref() {
        Some("public") => {}
        Some(_) => {
            return Err(OidcError::InvalidClientMetadata(
                "clientType must be public.".into(),
            ));
        }
        None => return Err(OidcError::InvalidRequest("clientType is required.".into())),
    }
    let grant_types = if request.grant_types.is_empty() {
        vec![DEVICE_CODE_GRANT.to_owned(), REFRESH_TOKEN_GRANT.to_owned()]
    } else {
        request.grant_types
    };
    if let Some(unknown) = grant_types
        .iter()
        .find(|g| !GRANT_TYPES.contains(&g.as_str()))
    {
        return Err(OidcError::UnsupportedGrantType(format!(
            "Unsupported grant type: {unknown}."
        )));
    }
    if let Some(bad) = request.scopes.iter().find(|s| !is_scope(s)) {
        return Err(OidcError::InvalidScope(format!("Invalid scope: {bad}.")));
    }
    if let Some(bad) = request.redirect_uris.iter().find(|u| !is_redirect_uri(u)) {
        return Err(OidcError::InvalidRedirectUri(format!(
            "Invalid redirect URI: {bad}. It must use https, or http to 127.0.0.1, [::1] or localhost."
        )));
    }
    let code_grant = grant_types.iter().any(|g| g == AUTHORIZATION_CODE_GRANT);
    if code_grant && request.redirect_uris.is_empty() {
        return Err(OidcError::InvalidRedirectUri(
            "redirectUris is required for the authorization_code grant.".into(),
        ));
    }
    if code_grant && tenant_id.is_none() {
        return Err(OidcError::InvalidRequest(
            "issuerUrl is required for the authorization_code grant.".into(),
        ));
    }
    let secret = secrets::random("", 96);
    let client = ClientRecord {
        client_id: secrets::random("", 24),
        tenant_id,
        client_name,
        grant_types,
        redirect_uris: request.redirect_uris,
        scopes: request.scopes,
        created_ms: now_ms,
        expires_ms: now_ms + CLIENT_LIFETIME_MS,
    };
    store
        .create_client(&client, &secrets::hash(&secret), now_ms)
        .await
        .map_err(internal::<OidcError>)?;
    Ok(Registration {
        client_id: client.client_id,
        client_secret: secret,
        issued_at_s: now_ms / 1000,
        expires_at_s: client.expires_ms / 1000,
        authorization_endpoint: code_grant.then(|| format!("{base_url}/authorize")),
        token_endpoint: code_grant.then(|| format!("{base_url}/token")),
    })
}

/// A registered, unexpired client whose secret is `secret`.
async fn authenticate_client(
    store: &dyn Store,
    client_id: Option<&str>,
    secret: Option<&str>,
    now_ms: i64,
) -> Result<ClientRecord> {
    let (Some(client_id), Some(secret)) = (client_id, secret) else {
        return Err(OidcError::InvalidRequest(
            "clientId and clientSecret are required.".into(),
        ));
    };
    let (client, secret_hash) = match store.get_client(client_id).await {
        Ok(found) => found,
        Err(StoreError::NotFound) => {
            return Err(OidcError::InvalidClient(
                "Invalid client id or secret.".into(),
            ));
        }
        Err(e) => return Err(internal(e)),
    };
    if !secrets::matches_hash(secret, &secret_hash) {
        return Err(OidcError::InvalidClient(
            "Invalid client id or secret.".into(),
        ));
    }
    if client.expires_ms <= now_ms {
        return Err(OidcError::InvalidClient(
            "The client registration has expired: register the client again.".into(),
        ));
    }
    Ok(client)
}

fn allows(client: &ClientRecord, grant: &str) -> Result<()> {
    if client.grant_types.iter().any(|g| g == grant) {
        Ok(())
    } else {
        Err(OidcError::UnauthorizedClient(format!(
            "The client is not registered for the {grant} grant."
        )))
    }
}

/// StartDeviceAuthorization's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceAuthorization {
    /// Names the authorization for `approve_as`.
    pub authorization_id: String,
    pub tenant_id: String,
    pub device_code: String,
    pub user_code: String,
    pub verification_uri: String,
    pub verification_uri_complete: String,
    pub expires_in: i64,
    pub interval: i64,
}

/// How often a new random code is tried when it collides with a stored one.
const KEY_ATTEMPTS: usize = 3;

/// StartDeviceAuthorization: a device code for the device, a user code for the person.
pub async fn start_device_authorization(
    store: &dyn Store,
    client_id: Option<&str>,
    client_secret: Option<&str>,
    start_url: Option<&str>,
    base_url: &str,
    now_ms: i64,
) -> Result<DeviceAuthorization> {
    let client = authenticate_client(store, client_id, client_secret, now_ms).await?;
    allows(&client, DEVICE_CODE_GRANT)?;
    let start_url =
        start_url.ok_or_else(|| OidcError::InvalidRequest("startUrl is required.".into()))?;
    let tenant = tenant_of_url(store, start_url).await?.ok_or_else(|| {
        OidcError::InvalidRequest(format!(
            "startUrl {start_url} is not the start URL of an identity store of this server."
        ))
    })?;
    if client
        .tenant_id
        .as_ref()
        .is_some_and(|t| *t != tenant.tenant_id)
    {
        return Err(OidcError::InvalidRequest(
            "startUrl is not the issuer URL the client was registered with.".into(),
        ));
    }
    let (record, (device_code, user_code)) = create_pending(store, now_ms, "user codes", || {
        let device_code = secrets::random("", 64);
        let user_code = secrets::user_code();
        let record = AuthorizationRecord {
            device_code_hash: Some(secrets::hash(&device_code)),
            user_code_hash: Some(secrets::hash(&user_code)),
            ..pending_authorization(
                &client,
                &tenant.tenant_id,
                Flow::Device,
                client.scopes.clone(),
                now_ms,
            )
        };
        (record, (device_code, user_code))
    })
    .await?;
    let verification_uri = format!("{base_url}/{}/device", tenant.tenant_id);
    Ok(DeviceAuthorization {
        authorization_id: record.authorization_id,
        tenant_id: record.tenant_id,
        device_code,
        verification_uri_complete: format!("{verification_uri}?user_code={user_code}"),
        verification_uri,
        user_code,
        expires_in: AUTHORIZATION_LIFETIME_MS / 1000,
        interval: POLL_INTERVAL_S,
    })
}

/// A pending authorization of a client in a tenant, with a new random id, that lasts
/// `AUTHORIZATION_LIFETIME_MS`; each flow adds the keys and the request it holds.
fn pending_authorization(
    client: &ClientRecord,
    tenant_id: &str,
    flow: Flow,
    scopes: Vec<String>,
    now_ms: i64,
) -> AuthorizationRecord {
    AuthorizationRecord {
        authorization_id: secrets::random("", 24),
        tenant_id: tenant_id.to_owned(),
        client_id: client.client_id.clone(),
        flow,
        device_code_hash: None,
        user_code_hash: None,
        code_hash: None,
        redirect_uri: None,
        code_challenge: None,
        client_state: None,
        scopes,
        status: AuthorizationStatus::Pending,
        user_id: None,
        interval_s: POLL_INTERVAL_S,
        next_poll_ms: now_ms,
        created_ms: now_ms,
        expires_ms: now_ms + AUTHORIZATION_LIFETIME_MS,
    }
}

/// Stores the authorization `make` makes, with what goes with it (its codes). Its random ids
/// and codes are unique by chance only: on a collision `make` makes new ones, `KEY_ATTEMPTS`
/// times at most (`keys` names them in the log).
async fn create_pending<T>(
    store: &dyn Store,
    now_ms: i64,
    keys: &str,
    mut make: impl FnMut() -> (AuthorizationRecord, T),
) -> Result<(AuthorizationRecord, T), Internal> {
    for _ in 0..KEY_ATTEMPTS {
        let (record, with) = make();
        match store.create_authorization(&record, now_ms).await {
            Ok(()) => return Ok((record, with)),
            Err(StoreError::Conflict(Constraint::SignInKey)) => continue,
            Err(e) => return Err(internal(e)),
        }
    }
    tracing::error!("random {keys} kept colliding");
    Err(Internal)
}

/// CreateToken's request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TokenRequest {
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
    pub grant_type: Option<String>,
    pub device_code: Option<String>,
    pub code: Option<String>,
    pub refresh_token: Option<String>,
    pub scope: Vec<String>,
    pub redirect_uri: Option<String>,
    pub code_verifier: Option<String>,
}

/// CreateToken's answer; the tokens are shown here only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    pub access_token: String,
    pub token_type: &'static str,
    pub expires_in: i64,
    pub refresh_token: Option<String>,
}

fn required<'a>(value: &'a Option<String>, name: &str) -> Result<&'a str> {
    value
        .as_deref()
        .filter(|v| !v.is_empty())
        .ok_or_else(|| OidcError::InvalidRequest(format!("{name} is required.")))
}

/// CreateToken.
pub async fn create_token(store: &dyn Store, request: &TokenRequest, now_ms: i64) -> Result<Grant> {
    let client = authenticate_client(
        store,
        request.client_id.as_deref(),
        request.client_secret.as_deref(),
        now_ms,
    )
    .await?;
    let grant_type = required(&request.grant_type, "grantType")?;
    if !GRANT_TYPES.contains(&grant_type) {
        return Err(OidcError::UnsupportedGrantType(format!(
            "Unsupported grant type: {grant_type}."
        )));
    }
    allows(&client, grant_type)?;
    if !client.scopes.is_empty()
        && let Some(extra) = request.scope.iter().find(|s| !client.scopes.contains(s))
    {
        return Err(OidcError::InvalidScope(format!(
            "The client was not registered for the scope {extra}."
        )));
    }
    match grant_type {
        DEVICE_CODE_GRANT => {
            let device_code = required(&request.device_code, "deviceCode")?;
            let key = AuthorizationKey::DeviceCode {
                hash: &secrets::hash(device_code),
            };
            let authorization = authorization_of_client(store, key, &client).await?;
            redeem_device(store, &client, authorization, &request.scope, now_ms).await
        }
        AUTHORIZATION_CODE_GRANT => {
            let code = required(&request.code, "code")?;
            let redirect_uri = required(&request.redirect_uri, "redirectUri")?;
            let verifier = required(&request.code_verifier, "codeVerifier")?;
            let key = AuthorizationKey::Code {
                hash: &secrets::hash(code),
            };
            let authorization = authorization_of_client(store, key, &client).await?;
            if authorization.expires_ms <= now_ms {
                return Err(OidcError::ExpiredToken(
                    "The authorization code has expired.".into(),
                ));
            }
            if authorization.redirect_uri.as_deref() != Some(redirect_uri) {
                return Err(OidcError::InvalidGrant(
                    "redirectUri is not the one of the authorization request.".into(),
                ));
            }
            let challenge = authorization.code_challenge.as_deref().unwrap_or_default();
            if !secrets::pkce_matches(verifier, challenge) {
                return Err(OidcError::InvalidGrant(
                    "codeVerifier does not match the code challenge.".into(),
                ));
            }
            redeem(store, &client, authorization, &request.scope, now_ms).await
        }
        _ => {
            let refresh_token = required(&request.refresh_token, "refreshToken")?;
            let old = match store
                .find_token(TokenKey::Refresh(&secrets::hash(refresh_token)))
                .await
            {
                Ok(token) if token.client_id == client.client_id => token,
                Ok(_) | Err(StoreError::NotFound) => {
                    return Err(OidcError::InvalidGrant("Invalid refresh token.".into()));
                }
                Err(e) => return Err(internal(e)),
            };
            if old.refresh_expires_ms <= now_ms {
                return Err(OidcError::ExpiredToken(
                    "The refresh token has expired: sign in again.".into(),
                ));
            }
            let tenant = tenant(store, &old.tenant_id).await?;
            super::users::active_user(store, &tenant, &old.user_id)
                .await?
                .ok_or_else(|| OidcError::AccessDenied("The user cannot sign in.".into()))?;
            let scopes = if request.scope.is_empty() {
                old.scopes.clone()
            } else {
                request.scope.clone()
            };
            let (record, grant) = mint(&client, &old.tenant_id, &old.user_id, scopes, now_ms);
            let record = TokenRecord {
                refresh_expires_ms: old.refresh_expires_ms,
                ..record
            };
            match store.replace_token(&old.token_id, &record).await {
                Ok(()) => Ok(grant),
                Err(StoreError::NotFound) => {
                    Err(OidcError::InvalidGrant("Invalid refresh token.".into()))
                }
                Err(e) => Err(internal(e)),
            }
        }
    }
}

async fn tenant(store: &dyn Store, tenant_id: &str) -> Result<Tenant> {
    store
        .get_tenant(tenant_id)
        .await
        .map(|info| info.tenant)
        .map_err(internal::<OidcError>)
}

/// One answer for a code that is unknown, used, or of another client: a client learns nothing
/// of other clients' codes.
const UNKNOWN_GRANT: &str = "Invalid grant: the code is unknown, used, or of another client.";

/// The authorization a code names, if it was given to this client.
async fn authorization_of_client(
    store: &dyn Store,
    key: AuthorizationKey<'_>,
    client: &ClientRecord,
) -> Result<AuthorizationRecord> {
    match store.find_authorization(key).await {
        Ok(a) if a.client_id == client.client_id => Ok(a),
        Ok(_) | Err(StoreError::NotFound) => Err(OidcError::InvalidGrant(UNKNOWN_GRANT.into())),
        Err(e) => Err(internal(e)),
    }
}

/// The device code grant: pending (polled at most once per interval), denied, expired, or
/// approved and redeemed.
async fn redeem_device(
    store: &dyn Store,
    client: &ClientRecord,
    authorization: AuthorizationRecord,
    scope: &[String],
    now_ms: i64,
) -> Result<Grant> {
    if authorization.expires_ms <= now_ms {
        return Err(OidcError::ExpiredToken(
            "The device code has expired.".into(),
        ));
    }
    match authorization.status {
        AuthorizationStatus::Approved => redeem(store, client, authorization, scope, now_ms).await,
        AuthorizationStatus::Denied => Err(OidcError::AccessDenied(
            "The user denied the authorization.".into(),
        )),
        AuthorizationStatus::Pending => {
            let too_soon = now_ms < authorization.next_poll_ms;
            let interval = authorization.interval_s + if too_soon { SLOW_DOWN_STEP_S } else { 0 };
            let recorded = store
                .record_poll(
                    &authorization.authorization_id,
                    authorization.next_poll_ms,
                    now_ms + interval * 1000,
                    interval,
                )
                .await
                .map_err(internal::<OidcError>)?;
            // Another poll recorded at the same time is a poll too soon as well.
            if too_soon || !recorded {
                Err(OidcError::SlowDown)
            } else {
                Err(OidcError::AuthorizationPending)
            }
        }
    }
}

/// Redeems an approved authorization for a token, once.
async fn redeem(
    store: &dyn Store,
    client: &ClientRecord,
    authorization: AuthorizationRecord,
    scope: &[String],
    now_ms: i64,
) -> Result<Grant> {
    let Some(user_id) = authorization.user_id.as_deref() else {
        return Err(OidcError::AuthorizationPending);
    };
    let scopes = if scope.is_empty() {
        authorization.scopes.clone()
    } else {
        scope.to_vec()
    };
    let (record, grant) = mint(client, &authorization.tenant_id, user_id, scopes, now_ms);
    match store
        .redeem_authorization(&authorization.authorization_id, &record)
        .await
    {
        Ok(()) => Ok(grant),
        // Redeemed by a request that came first, or the user was deleted meanwhile.
        Err(StoreError::NotFound | StoreError::MemberNotFound) => {
            Err(OidcError::InvalidGrant(UNKNOWN_GRANT.into()))
        }
        Err(e) => Err(internal(e)),
    }
}

/// A new access token, with a refresh token when the client may refresh.
fn mint(
    client: &ClientRecord,
    tenant_id: &str,
    user_id: &str,
    scopes: Vec<String>,
    now_ms: i64,
) -> (TokenRecord, Grant) {
    let access_token = secrets::random("aoa", 96);
    let refresh_token = client
        .grant_types
        .iter()
        .any(|g| g == REFRESH_TOKEN_GRANT)
        .then(|| secrets::random("aor", 96));
    let access_lifetime = if refresh_token.is_some() {
        ACCESS_TOKEN_LIFETIME_MS
    } else {
        SESSION_LIFETIME_MS
    };
    let record = TokenRecord {
        token_id: crate::text::random_uuid().to_string(),
        tenant_id: tenant_id.to_owned(),
        user_id: user_id.to_owned(),
        client_id: client.client_id.clone(),
        access_token_hash: secrets::hash(&access_token),
        refresh_token_hash: refresh_token.as_deref().map(secrets::hash),
        scopes,
        created_ms: now_ms,
        access_expires_ms: now_ms + access_lifetime,
        refresh_expires_ms: now_ms + SESSION_LIFETIME_MS,
    };
    let grant = Grant {
        access_token,
        token_type: "Bearer",
        expires_in: access_lifetime / 1000,
        refresh_token,
    };
    (record, grant)
}

/// The browser's authorization request (`GET /authorize`), as the AWS CLI sends it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuthorizeRequest {
    pub response_type: Option<String>,
    pub client_id: Option<String>,
    pub redirect_uri: Option<String>,
    pub state: Option<String>,
    pub code_challenge: Option<String>,
    pub code_challenge_method: Option<String>,
    /// Space-separated.
    pub scopes: Option<String>,
}

/// Why an authorization request is refused. Until the client and its redirect URI are known
/// good, the browser cannot be sent back (RFC 6749 §4.1.2.1): the person is told.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthorizeError {
    /// Shown to the person.
    Shown(String),
    /// Sent back to the client's redirect URI with `error` and `state`.
    Redirected {
        location: String,
    },
    Internal,
}

impl From<Internal> for AuthorizeError {
    fn from(_: Internal) -> Self {
        Self::Internal
    }
}

/// `location` with query parameters appended.
fn with_query(location: &str, params: &[(&str, &str)]) -> String {
    let mut query = form_urlencoded::Serializer::new(String::new());
    for (name, value) in params {
        query.append_pair(name, value);
    }
    let separator = if location.contains('?') { '&' } else { '?' };
    format!("{location}{separator}{}", query.finish())
}

/// Starts a browser authorization: checks the request and stores it, pending, for the
/// person to approve on the sign-in pages.
pub async fn begin_authorization(
    store: &dyn Store,
    request: AuthorizeRequest,
    now_ms: i64,
) -> Result<AuthorizationRecord, AuthorizeError> {
    let shown = |m: &str| AuthorizeError::Shown(m.to_owned());
    let client_id = request
        .client_id
        .as_deref()
        .ok_or_else(|| shown("The request names no client (client_id)."))?;
    let client = match store.get_client(client_id).await {
        Ok((client, _)) if client.expires_ms > now_ms => client,
        Ok(_) | Err(StoreError::NotFound) => {
            return Err(shown(
                "The client is unknown or its registration has expired.",
            ));
        }
        Err(e) => return Err(internal(e)),
    };
    let redirect_uri = request
        .redirect_uri
        .as_deref()
        .filter(|uri| redirect_uri_registered(&client, uri))
        .ok_or_else(|| shown("The redirect URI is not one the client registered."))?;
    let Some(tenant_id) = client.tenant_id.clone() else {
        return Err(shown("The client was registered without an issuer URL."));
    };
    let back = |error: &str| {
        let mut params = vec![("error", error)];
        if let Some(state) = request.state.as_deref() {
            params.push(("state", state));
        }
        AuthorizeError::Redirected {
            location: with_query(redirect_uri, &params),
        }
    };
    if request.response_type.as_deref() != Some("code") {
        return Err(back("unsupported_response_type"));
    }
    if allows(&client, AUTHORIZATION_CODE_GRANT).is_err() {
        return Err(back("unauthorized_client"));
    }
    let challenge = request
        .code_challenge
        .as_deref()
        .filter(|c| !c.is_empty() && c.len() <= 128);
    let (Some(challenge), Some("S256")) = (challenge, request.code_challenge_method.as_deref())
    else {
        return Err(back("invalid_request"));
    };
    let scopes: Vec<String> = request
        .scopes
        .as_deref()
        .unwrap_or_default()
        .split_whitespace()
        .map(str::to_owned)
        .collect();
    if scopes
        .iter()
        .any(|s| !is_scope(s) || (!client.scopes.is_empty() && !client.scopes.contains(s)))
    {
        return Err(back("invalid_scope"));
    }
    let scopes = if scopes.is_empty() {
        client.scopes.clone()
    } else {
        scopes
    };
    let (record, ()) = create_pending(store, now_ms, "authorization ids", || {
        let record = AuthorizationRecord {
            redirect_uri: Some(redirect_uri.to_owned()),
            code_challenge: Some(challenge.to_owned()),
            client_state: request.state.clone(),
            ..pending_authorization(&client, &tenant_id, Flow::Code, scopes.clone(), now_ms)
        };
        (record, ())
    })
    .await?;
    Ok(record)
}

/// A pending, unexpired authorization of a tenant, by its id or by its user code.
pub async fn pending(
    store: &dyn Store,
    key: AuthorizationKey<'_>,
    tenant_id: &str,
    now_ms: i64,
) -> Result<Option<AuthorizationRecord>, Internal> {
    match store.find_authorization(key).await {
        Ok(a)
            if a.tenant_id == tenant_id
                && a.status == AuthorizationStatus::Pending
                && a.expires_ms > now_ms =>
        {
            Ok(Some(a))
        }
        Ok(_) | Err(StoreError::NotFound) => Ok(None),
        Err(e) => Err(internal(e)),
    }
}

/// The pending authorization a user code names in a tenant.
pub async fn pending_by_user_code(
    store: &dyn Store,
    tenant_id: &str,
    typed_code: &str,
    now_ms: i64,
) -> Result<Option<AuthorizationRecord>, Internal> {
    let Some(code) = secrets::normalize_user_code(typed_code) else {
        return Ok(None);
    };
    let hash = secrets::hash(&code);
    let key = AuthorizationKey::UserCode {
        tenant_id,
        hash: &hash,
    };
    pending(store, key, tenant_id, now_ms).await
}

/// What happens after a decision: a device may continue, or the browser goes back to the
/// client with a code (or `access_denied`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decided {
    DeviceMayContinue,
    Redirect(String),
}

/// A user's decision on a pending authorization. `None`: it is no longer pending (decided
/// meanwhile, or expired).
pub async fn decide(
    store: &dyn Store,
    authorization: &AuthorizationRecord,
    user_id: &str,
    approve: bool,
    now_ms: i64,
) -> Result<Option<Decided>, Internal> {
    let code = (approve && authorization.flow == Flow::Code).then(|| secrets::random("", 64));
    let code_hash = code.as_deref().map(secrets::hash);
    let decision = if approve {
        Decision::Approve {
            user_id,
            code_hash: code_hash.as_deref(),
        }
    } else {
        Decision::Deny { user_id }
    };
    match store
        .decide_authorization(&authorization.authorization_id, decision, now_ms)
        .await
    {
        Ok(()) => {}
        Err(StoreError::NotFound) => return Ok(None),
        Err(e) => return Err(internal(e)),
    }
    let Some(redirect_uri) = authorization.redirect_uri.as_deref() else {
        return Ok(Some(Decided::DeviceMayContinue));
    };
    let state = authorization.client_state.as_deref();
    let mut params = match code.as_deref() {
        Some(code) => vec![("code", code)],
        None => vec![("error", "access_denied")],
    };
    if let Some(state) = state {
        params.push(("state", state));
    }
    Ok(Some(Decided::Redirect(with_query(redirect_uri, &params))))
}

/// Why a headless approval failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApproveError {
    /// No pending authorization of the tenant has this user code.
    UnknownUserCode,
    /// No user of the tenant who may sign in has this name.
    UnknownUser,
    Internal,
}

impl From<Internal> for ApproveError {
    fn from(_: Internal) -> Self {
        Self::Internal
    }
}

/// Approves a pending authorization as the user named `user_name`, without a browser (CI's
/// sign-in, `serve --sign-in-as`).
pub async fn approve_as(
    store: &dyn Store,
    tenant: &Tenant,
    authorization: &AuthorizationRecord,
    user_name: &str,
    now_ms: i64,
) -> Result<Decided, ApproveError> {
    let user = super::users::find_user(store, tenant, user_name)
        .await?
        .filter(|u| u.attrs.active != Some(false))
        .ok_or(ApproveError::UnknownUser)?;
    decide(store, authorization, &user.id, true, now_ms)
        .await?
        .ok_or(ApproveError::UnknownUserCode)
}

/// Approves the pending device authorization a user code names, as `approve_as`.
pub async fn approve_user_code(
    store: &dyn Store,
    tenant: &Tenant,
    user_code: &str,
    user_name: &str,
    now_ms: i64,
) -> Result<Decided, ApproveError> {
    let authorization = pending_by_user_code(store, &tenant.tenant_id, user_code, now_ms)
        .await?
        .ok_or(ApproveError::UnknownUserCode)?;
    approve_as(store, tenant, &authorization, user_name, now_ms).await
}

/// The start URL of a tenant on this server.
pub fn start_url(base_url: &str, tenant_id: &str) -> String {
    format!("{base_url}{}", start_path(tenant_id))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(redirect_uris: &[&str]) -> ClientRecord {
        ClientRecord {
            client_id: "c".into(),
            tenant_id: Some("t".into()),
            client_name: "n".into(),
            grant_types: vec![AUTHORIZATION_CODE_GRANT.into()],
            redirect_uris: redirect_uris.iter().map(|u| (*u).to_owned()).collect(),
            scopes: vec![],
            created_ms: 0,
            expires_ms: 1,
        }
    }

    #[test]
    fn loopback_redirect_uris_match_on_any_port() {
        let cli = client(&["http://127.0.0.1/oauth/callback"]);
        assert!(redirect_uri_registered(
            &cli,
            "http://127.0.0.1:53211/oauth/callback"
        ));
        assert!(redirect_uri_registered(
            &cli,
            "http://127.0.0.1/oauth/callback"
        ));
        assert!(!redirect_uri_registered(
            &cli,
            "http://127.0.0.1:53211/other"
        ));
        assert!(!redirect_uri_registered(
            &cli,
            "http://localhost:53211/oauth/callback"
        ));
        assert!(!redirect_uri_registered(
            &cli,
            "https://127.0.0.1:53211/oauth/callback"
        ));
        let web = client(&["https://app.example/cb"]);
        assert!(redirect_uri_registered(&web, "https://app.example/cb"));
        assert!(!redirect_uri_registered(
            &web,
            "https://app.example:8443/cb"
        ));
    }

    #[test]
    fn redirect_uris_and_scopes_are_checked_at_registration() {
        for good in [
            "http://127.0.0.1/oauth/callback",
            "http://localhost:8080/cb",
            "https://a.example/cb",
        ] {
            assert!(is_redirect_uri(good), "{good}");
        }
        for bad in [
            "http://example.com/cb",
            "ftp://127.0.0.1/",
            "https://a.example/cb#x",
            "nonsense",
        ] {
            assert!(!is_redirect_uri(bad), "{bad}");
        }
        assert!(is_scope("sso:account:access"));
        assert!(is_scope("codewhisperer:completions"));
        for bad in ["sso", "sso::access", "a b:c", ""] {
            assert!(!is_scope(bad), "{bad}");
        }
    }
}
