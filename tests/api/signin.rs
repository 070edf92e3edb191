//! Sign-in: SSO OIDC (RegisterClient, StartDeviceAuthorization, CreateToken) with each of
//! AWS's errors, the sign-in pages in a browser in process, headless approval, expiry on the
//! test clock, and tenants kept apart.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use idc_scim::state::AppState;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::helpers::{Browser, RawResponse, TestApp, TestResponse, add_tenant};

const DEVICE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";
const REDIRECT: &str = "http://127.0.0.1/oauth/callback";
const VERIFIER: &str = "a-pkce-code-verifier-of-at-least-forty-three-characters-0123456789";

/// POSTs a JSON body to the OIDC API.
pub async fn oidc(app: &TestApp, path: &str, body: Value) -> TestResponse {
    let req = Request::builder()
        .method(Method::POST)
        .uri(path)
        .header("host", "localhost")
        .header("content-type", "application/json")
        .body(Body::from(body.to_string()))
        .unwrap();
    app.send(req).await
}

pub fn start_url(tenant_id: &str) -> String {
    format!("http://localhost/{tenant_id}/start")
}

/// An OIDC error: status, `x-amzn-ErrorType`, `error`, and a description.
#[track_caller]
pub fn assert_oidc_error(r: &TestResponse, status: u16, kind: &str, error: &str) {
    assert_eq!(r.status.as_u16(), status, "{}", r.body);
    assert_eq!(r.header("x-amzn-errortype"), Some(kind), "{}", r.body);
    assert_eq!(r.body["error"], json!(error), "{}", r.body);
    assert!(
        r.body["error_description"]
            .as_str()
            .is_some_and(|d| !d.is_empty())
    );
}

/// A registered client: (clientId, clientSecret).
pub async fn register(app: &TestApp, extra: Value) -> (String, String) {
    let mut body = json!({"clientName": "botocore-client-test", "clientType": "public"});
    body.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    let r = oidc(app, "/client/register", body).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    (
        r.body["clientId"].as_str().unwrap().to_owned(),
        r.body["clientSecret"].as_str().unwrap().to_owned(),
    )
}

pub async fn start(app: &TestApp, (id, secret): &(String, String)) -> TestResponse {
    let body = json!({"clientId": id, "clientSecret": secret,
                      "startUrl": start_url(&app.tenant.tenant_id)});
    oidc(app, "/device_authorization", body).await
}

pub async fn poll(
    app: &TestApp,
    (id, secret): &(String, String),
    device_code: &str,
) -> TestResponse {
    let body = json!({"clientId": id, "clientSecret": secret, "grantType": DEVICE_GRANT,
                      "deviceCode": device_code});
    oidc(app, "/token", body).await
}

async fn approve(app: &TestApp, user_code: &str, user_name: &str) -> TestResponse {
    let path = format!("/tenants/{}/sign-ins", app.tenant.tenant_id);
    let body = json!({"userCode": user_code, "userName": user_name});
    app.admin(Method::POST, &path, Some(body)).await
}

/// A device authorization approved by `user_name` and redeemed: the client and the token
/// answer.
pub async fn signed_in_token(app: &TestApp, user_name: &str) -> ((String, String), Value) {
    let client = register(app, json!({})).await;
    let started = start(app, &client).await;
    let user_code = started.body["userCode"].as_str().unwrap();
    assert_eq!(
        approve(app, user_code, user_name).await.status,
        StatusCode::OK
    );
    let token = poll(app, &client, started.body["deviceCode"].as_str().unwrap()).await;
    assert_eq!(token.status, StatusCode::OK, "{}", token.body);
    (client, token.body)
}

#[tokio::test]
async fn the_device_flow_goes_from_registration_to_a_token_once() {
    let app = TestApp::new().await;
    app.create_user("ann@example.com").await;
    let r = oidc(
        &app,
        "/client/register",
        json!({"clientName": "botocore-client-ann", "clientType": "public",
               "scopes": ["sso:account:access"]}),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.header("content-type"), Some("application/json"));
    let issued = r.body["clientIdIssuedAt"].as_i64().unwrap();
    assert_eq!(issued, crate::helpers::START_MS / 1000);
    assert_eq!(
        r.body["clientSecretExpiresAt"].as_i64().unwrap() - issued,
        90 * 24 * 3600
    );
    let client = (
        r.body["clientId"].as_str().unwrap().to_owned(),
        r.body["clientSecret"].as_str().unwrap().to_owned(),
    );

    let started = start(&app, &client).await;
    assert_eq!(started.status, StatusCode::OK, "{}", started.body);
    let user_code = started.body["userCode"].as_str().unwrap().to_owned();
    let device_code = started.body["deviceCode"].as_str().unwrap().to_owned();
    assert!(
        user_code.len() == 9 && user_code.as_bytes()[4] == b'-',
        "{user_code}"
    );
    let verification = format!("http://localhost/{}/device", app.tenant.tenant_id);
    assert_eq!(started.body["verificationUri"], json!(verification));
    assert_eq!(
        started.body["verificationUriComplete"],
        json!(format!("{verification}?user_code={user_code}"))
    );
    assert_eq!(
        (
            started.body["expiresIn"].as_i64(),
            started.body["interval"].as_i64()
        ),
        (Some(600), Some(1))
    );

    assert_oidc_error(
        &poll(&app, &client, &device_code).await,
        400,
        "AuthorizationPendingException",
        "authorization_pending",
    );
    // Polled again at once: slow down, and the interval grows by 5 seconds.
    assert_oidc_error(
        &poll(&app, &client, &device_code).await,
        400,
        "SlowDownException",
        "slow_down",
    );
    app.clock.advance_ms(1_000);
    assert_oidc_error(
        &poll(&app, &client, &device_code).await,
        400,
        "SlowDownException",
        "slow_down",
    );
    app.clock.advance_ms(11_000);
    assert_oidc_error(
        &poll(&app, &client, &device_code).await,
        400,
        "AuthorizationPendingException",
        "authorization_pending",
    );

    let approved = approve(&app, &user_code.to_lowercase(), "ANN@example.com").await;
    assert_eq!(approved.status, StatusCode::OK, "{}", approved.body);
    app.clock.advance_ms(11_000);
    let token = poll(&app, &client, &device_code).await;
    assert_eq!(token.status, StatusCode::OK, "{}", token.body);
    assert_eq!(token.body["tokenType"], json!("Bearer"));
    assert_eq!(token.body["expiresIn"], json!(3600));
    assert!(
        token.body["accessToken"]
            .as_str()
            .unwrap()
            .starts_with("aoa")
    );
    assert!(
        token.body["refreshToken"]
            .as_str()
            .unwrap()
            .starts_with("aor")
    );

    // The device code and the user code are single-use.
    app.clock.advance_ms(11_000);
    assert_oidc_error(
        &poll(&app, &client, &device_code).await,
        400,
        "InvalidGrantException",
        "invalid_grant",
    );
    assert_eq!(
        approve(&app, &user_code, "ann@example.com").await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn device_and_user_codes_expire() {
    let app = TestApp::new().await;
    app.create_user("ann@example.com").await;
    let client = register(&app, json!({})).await;
    let started = start(&app, &client).await;
    let user_code = started.body["userCode"].as_str().unwrap();
    let device_code = started.body["deviceCode"].as_str().unwrap();
    app.clock.advance_ms(600_000);
    assert_oidc_error(
        &poll(&app, &client, device_code).await,
        400,
        "ExpiredTokenException",
        "expired_token",
    );
    let late = approve(&app, user_code, "ann@example.com").await;
    assert_eq!(late.status, StatusCode::NOT_FOUND, "{}", late.body);
    let mut browser = Browser::new(&app);
    let page = browser
        .post_form(
            &format!("/{}/device", app.tenant.tenant_id),
            &[("user_code", user_code)],
        )
        .await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
    assert!(page.text.contains("not valid"), "{}", page.text);
}

#[tokio::test]
async fn clients_are_authenticated_and_held_to_their_grants() {
    let app = TestApp::new().await;
    let client = register(&app, json!({})).await;
    let wrong_secret = (client.0.clone(), format!("{}x", client.1));
    assert_oidc_error(
        &start(&app, &wrong_secret).await,
        401,
        "InvalidClientException",
        "invalid_client",
    );
    let unknown = ("no-such-client".to_owned(), client.1.clone());
    assert_oidc_error(
        &start(&app, &unknown).await,
        401,
        "InvalidClientException",
        "invalid_client",
    );

    let body = json!({"clientId": client.0, "clientSecret": client.1, "grantType": "password"});
    assert_oidc_error(
        &oidc(&app, "/token", body).await,
        400,
        "UnsupportedGrantTypeException",
        "unsupported_grant_type",
    );
    let body = json!({"clientId": client.0, "clientSecret": client.1,
                      "grantType": "authorization_code", "code": "x", "redirectUri": REDIRECT,
                      "codeVerifier": VERIFIER});
    assert_oidc_error(
        &oidc(&app, "/token", body).await,
        400,
        "UnauthorizedClientException",
        "unauthorized_client",
    );
    let body = json!({"clientId": client.0, "clientSecret": client.1, "grantType": DEVICE_GRANT});
    assert_oidc_error(
        &oidc(&app, "/token", body).await,
        400,
        "InvalidRequestException",
        "invalid_request",
    );

    let scoped = register(&app, json!({"scopes": ["sso:account:access"]})).await;
    let body = json!({"clientId": scoped.0, "clientSecret": scoped.1, "grantType": DEVICE_GRANT,
                      "deviceCode": "x", "scope": ["codewhisperer:completions"]});
    assert_oidc_error(
        &oidc(&app, "/token", body).await,
        400,
        "InvalidScopeException",
        "invalid_scope",
    );

    // A registration lasts 90 days.
    app.clock.advance_ms(90 * 24 * 3600 * 1000);
    assert_oidc_error(
        &start(&app, &client).await,
        401,
        "InvalidClientException",
        "invalid_client",
    );
}

#[tokio::test]
async fn registrations_are_checked_as_aws_checks_them() {
    let app = TestApp::new().await;
    let cases = [
        (
            json!({"clientType": "public"}),
            "InvalidRequestException",
            "invalid_request",
        ),
        (
            json!({"clientName": "c"}),
            "InvalidRequestException",
            "invalid_request",
        ),
        (
            json!({"clientName": "c", "clientType": "confidential"}),
            "InvalidClientMetadataException",
            "invalid_client_metadata",
        ),
        (
            json!({"clientName": "c", "clientType": "public", "grantTypes": ["implicit"]}),
            "UnsupportedGrantTypeException",
            "unsupported_grant_type",
        ),
        (
            json!({"clientName": "c", "clientType": "public", "scopes": ["not a scope"]}),
            "InvalidScopeException",
            "invalid_scope",
        ),
        (
            json!({"clientName": "c", "clientType": "public", "redirectUris": ["http://example.com/cb"]}),
            "InvalidRedirectUriException",
            "invalid_redirect_uri",
        ),
        (
            json!({"clientName": "c", "clientType": "public", "grantTypes": ["authorization_code"],
                "issuerUrl": start_url(&app.tenant.tenant_id)}),
            "InvalidRedirectUriException",
            "invalid_redirect_uri",
        ),
        (
            json!({"clientName": "c", "clientType": "public", "grantTypes": ["authorization_code"],
                "redirectUris": [REDIRECT]}),
            "InvalidRequestException",
            "invalid_request",
        ),
        (
            json!({"clientName": "c", "clientType": "public", "issuerUrl": "http://localhost/nobody/start"}),
            "InvalidRequestException",
            "invalid_request",
        ),
        (
            json!({"clientName": 5, "clientType": "public"}),
            "InvalidRequestException",
            "invalid_request",
        ),
    ];
    for (body, kind, error) in cases {
        let r = oidc(&app, "/client/register", body.clone()).await;
        assert_oidc_error(&r, 400, kind, error);
    }
    let client = register(&app, json!({})).await;
    let body = json!({"clientId": client.0, "clientSecret": client.1});
    assert_oidc_error(
        &oidc(&app, "/device_authorization", body).await,
        400,
        "InvalidRequestException",
        "invalid_request",
    );
    let body = json!({"clientId": client.0, "clientSecret": client.1,
                      "startUrl": "http://localhost/no-such-tenant/start"});
    assert_oidc_error(
        &oidc(&app, "/device_authorization", body).await,
        400,
        "InvalidRequestException",
        "invalid_request",
    );
}

#[tokio::test]
async fn refresh_tokens_rotate_and_end_with_the_session_or_the_user() {
    let app = TestApp::new().await;
    let ann = app.user_id("ann@example.com").await;
    let (client, token) = signed_in_token(&app, "ann@example.com").await;
    let refresh = |refresh_token: &str| {
        json!({"clientId": client.0, "clientSecret": client.1, "grantType": "refresh_token",
               "refreshToken": refresh_token})
    };
    let first = token["refreshToken"].as_str().unwrap();
    let renewed = oidc(&app, "/token", refresh(first)).await;
    assert_eq!(renewed.status, StatusCode::OK, "{}", renewed.body);
    let second = renewed.body["refreshToken"].as_str().unwrap();
    assert_ne!(second, first);
    assert_ne!(renewed.body["accessToken"], token["accessToken"]);
    assert_oidc_error(
        &oidc(&app, "/token", refresh(first)).await,
        400,
        "InvalidGrantException",
        "invalid_grant",
    );
    let other = register(&app, json!({})).await;
    let stolen = json!({"clientId": other.0, "clientSecret": other.1,
                        "grantType": "refresh_token", "refreshToken": second});
    assert_oidc_error(
        &oidc(&app, "/token", stolen).await,
        400,
        "InvalidGrantException",
        "invalid_grant",
    );

    // The session lasts 8 hours from the sign-in, refreshed or not.
    app.clock.advance_ms(8 * 3600 * 1000);
    assert_oidc_error(
        &oidc(&app, "/token", refresh(second)).await,
        400,
        "ExpiredTokenException",
        "expired_token",
    );

    // Deleting the user ends their tokens.
    app.clock.advance_ms(-8 * 3600 * 1000);
    let (client, token) = signed_in_token(&app, "ann@example.com").await;
    let refresh = |refresh_token: &str| {
        json!({"clientId": client.0, "clientSecret": client.1, "grantType": "refresh_token",
               "refreshToken": refresh_token})
    };
    let refresh_token = token["refreshToken"].as_str().unwrap();
    assert_eq!(
        app.call(Method::DELETE, &format!("/Users/{ann}"), None)
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    assert_oidc_error(
        &oidc(&app, "/token", refresh(refresh_token)).await,
        400,
        "InvalidGrantException",
        "invalid_grant",
    );
}

/// The authorization code flow of `aws sso login` up to the redirect with the code.
async fn browser_code_flow(
    app: &TestApp,
    browser: &mut Browser<'_>,
    client: &(String, String),
    state: &str,
) -> String {
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(VERIFIER.as_bytes()));
    let query = format!(
        "/authorize?response_type=code&client_id={}&redirect_uri=http%3A%2F%2F127.0.0.1%3A43117%2Foauth%2Fcallback&state={state}&code_challenge_method=S256&scopes=sso%3Aaccount%3Aaccess&code_challenge={challenge}",
        client.0
    );
    let r = browser.get(&query).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    let consent = r.header("location").unwrap().to_owned();
    assert!(
        consent.starts_with(&format!("/{}/authorize/", app.tenant.tenant_id)),
        "{consent}"
    );
    let r = browser.get(&consent).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let login = r.header("location").unwrap().to_owned();
    assert!(
        login.starts_with(&format!("/{}/login?next=", app.tenant.tenant_id)),
        "{login}"
    );
    let page = browser.get(&login).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.text
            .contains(&format!(r#"name="next" value="{consent}""#)),
        "{}",
        page.text
    );
    let login_path = format!("/{}/login", app.tenant.tenant_id);
    let wrong = browser
        .post_form(
            &login_path,
            &[
                ("user_name", "ann@example.com"),
                ("password", "wrong password"),
                ("next", &consent),
            ],
        )
        .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert!(
        wrong.text.contains("Incorrect username or password."),
        "{}",
        wrong.text
    );
    assert!(browser.cookie("idc_session").is_none());
    let right = browser
        .post_form(
            &login_path,
            &[
                ("user_name", "ann@example.com"),
                ("password", "correct horse"),
                ("next", &consent),
            ],
        )
        .await;
    assert_eq!(right.status, StatusCode::SEE_OTHER, "{}", right.text);
    assert_eq!(right.header("location"), Some(consent.as_str()));
    let page = browser.get(&consent).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.text
            .contains("Allow botocore-client-test to access your data?"),
        "{}",
        page.text
    );
    let allowed = browser.post_form(&consent, &[("decision", "allow")]).await;
    assert_eq!(allowed.status, StatusCode::SEE_OTHER, "{}", allowed.text);
    allowed.header("location").unwrap().to_owned()
}

fn code_of(location: &str) -> String {
    let query = location.split_once('?').unwrap().1;
    form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.into_owned())
        .unwrap()
}

async fn code_client(app: &TestApp) -> (String, String) {
    register(
        app,
        json!({"grantTypes": ["authorization_code", "refresh_token"],
                         "redirectUris": [REDIRECT], "scopes": ["sso:account:access"],
                         "issuerUrl": start_url(&app.tenant.tenant_id)}),
    )
    .await
}

async fn set_password(app: &TestApp, user_name: &str, password: &str) -> TestResponse {
    let path = format!(
        "/tenants/{}/users/{user_name}/password",
        app.tenant.tenant_id
    );
    app.admin(Method::PUT, &path, Some(json!({"password": password})))
        .await
}

#[tokio::test]
async fn the_authorization_code_flow_with_pkce_signs_in_through_the_pages() {
    let app = TestApp::new().await;
    app.create_user("ann@example.com").await;
    assert_eq!(
        set_password(&app, "ann@example.com", "correct horse")
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    let client = code_client(&app).await;
    let mut browser = Browser::new(&app);
    let location = browser_code_flow(&app, &mut browser, &client, "s-123").await;
    assert!(
        location.starts_with("http://127.0.0.1:43117/oauth/callback?code="),
        "{location}"
    );
    assert!(location.ends_with("&state=s-123"), "{location}");
    let code = code_of(&location);

    let exchange = |code: &str, verifier: &str, redirect: &str| {
        json!({"clientId": client.0, "clientSecret": client.1, "grantType": "authorization_code",
               "code": code, "codeVerifier": verifier, "redirectUri": redirect})
    };
    let callback = "http://127.0.0.1:43117/oauth/callback";
    let wrong_verifier = format!("{VERIFIER}x");
    assert_oidc_error(
        &oidc(&app, "/token", exchange(&code, &wrong_verifier, callback)).await,
        400,
        "InvalidGrantException",
        "invalid_grant",
    );
    assert_oidc_error(
        &oidc(&app, "/token", exchange(&code, VERIFIER, REDIRECT)).await,
        400,
        "InvalidGrantException",
        "invalid_grant",
    );
    let token = oidc(&app, "/token", exchange(&code, VERIFIER, callback)).await;
    assert_eq!(token.status, StatusCode::OK, "{}", token.body);
    assert!(token.body["refreshToken"].is_string());
    assert_oidc_error(
        &oidc(&app, "/token", exchange(&code, VERIFIER, callback)).await,
        400,
        "InvalidGrantException",
        "invalid_grant",
    );

    // Signed in, the next authorization asks only for consent; a denial goes back as
    // access_denied.
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(VERIFIER.as_bytes()));
    let r = browser.get(&format!(
        "/authorize?response_type=code&client_id={}&redirect_uri=http%3A%2F%2F127.0.0.1%3A5000%2Foauth%2Fcallback&state=s2&code_challenge_method=S256&code_challenge={challenge}",
        client.0)).await;
    let consent = r.header("location").unwrap().to_owned();
    assert_eq!(browser.get(&consent).await.status, StatusCode::OK);
    let denied = browser.post_form(&consent, &[("decision", "deny")]).await;
    assert_eq!(
        denied.header("location"),
        Some("http://127.0.0.1:5000/oauth/callback?error=access_denied&state=s2")
    );
    // Answered once.
    assert_eq!(
        browser
            .post_form(&consent, &[("decision", "allow")])
            .await
            .status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn bad_authorization_requests_are_told_or_sent_back() {
    let app = TestApp::new().await;
    let client = code_client(&app).await;
    let mut browser = Browser::new(&app);
    let unknown_redirect = browser.get(&format!(
        "/authorize?response_type=code&client_id={}&redirect_uri=http%3A%2F%2F127.0.0.1%3A1%2Fother&code_challenge_method=S256&code_challenge=abc", client.0)).await;
    assert_eq!(unknown_redirect.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        unknown_redirect.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    let unknown_client = browser
        .get("/authorize?response_type=code&client_id=nobody")
        .await;
    assert_eq!(unknown_client.status, StatusCode::BAD_REQUEST);
    let no_pkce = browser.get(&format!(
        "/authorize?response_type=code&client_id={}&redirect_uri=http%3A%2F%2F127.0.0.1%3A1%2Foauth%2Fcallback&state=z", client.0)).await;
    assert_eq!(no_pkce.status, StatusCode::SEE_OTHER);
    assert_eq!(
        no_pkce.header("location"),
        Some("http://127.0.0.1:1/oauth/callback?error=invalid_request&state=z")
    );
}

#[tokio::test]
async fn a_person_can_deny_a_device_and_a_disabled_user_cannot_sign_in() {
    let app = TestApp::new().await;
    let bob = app.user_id("bob@example.com").await;
    app.create_user("ann@example.com").await;
    let client = register(&app, json!({})).await;
    let started = start(&app, &client).await;
    let user_code = started.body["userCode"].as_str().unwrap();
    let tenant = app.tenant.tenant_id.clone();

    let mut browser = Browser::new(&app);
    let form: RawResponse = browser
        .get(
            started.body["verificationUriComplete"]
                .as_str()
                .unwrap()
                .trim_start_matches("http://localhost"),
        )
        .await;
    assert_eq!(form.status, StatusCode::OK);
    assert!(
        form.text.contains(&format!(r#"value="{user_code}""#)),
        "{}",
        form.text
    );
    let r = browser
        .post_form(&format!("/{tenant}/device"), &[("user_code", user_code)])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let consent = r.header("location").unwrap().to_owned();
    let login = browser
        .post_form(
            &format!("/{tenant}/login"),
            &[("user_name", "ann@example.com"), ("next", &consent)],
        )
        .await;
    assert_eq!(login.status, StatusCode::SEE_OTHER, "{}", login.text);
    let denied = browser.post_form(&consent, &[("decision", "deny")]).await;
    assert_eq!(denied.status, StatusCode::OK);
    assert!(denied.text.contains("Request denied"), "{}", denied.text);
    let r = poll(&app, &client, started.body["deviceCode"].as_str().unwrap()).await;
    assert_oidc_error(&r, 400, "AccessDeniedException", "access_denied");

    // A user with active false can neither sign in nor be approved as.
    let r = app
        .patch(
            &format!("/Users/{bob}"),
            json!([{"op": "replace", "path": "active", "value": false}]),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let mut other = Browser::new(&app);
    let refused = other
        .post_form(
            &format!("/{tenant}/login"),
            &[("user_name", "bob@example.com")],
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
    let started = start(&app, &client).await;
    let r = approve(
        &app,
        started.body["userCode"].as_str().unwrap(),
        "bob@example.com",
    )
    .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.body);
}

#[tokio::test]
async fn passwords_are_set_checked_and_removed_through_the_admin_api() {
    let app = TestApp::new().await;
    app.create_user("ann@example.com").await;
    let r = set_password(&app, "ann@example.com", "short").await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
    assert_eq!(
        set_password(&app, "nobody@example.com", "long enough")
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        set_password(&app, "ann@example.com", "long enough")
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    let login = format!("/{}/login", app.tenant.tenant_id);
    let mut browser = Browser::new(&app);
    assert_eq!(
        browser
            .post_form(&login, &[("user_name", "ann@example.com")])
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        browser
            .post_form(
                &login,
                &[
                    ("user_name", "ann@example.com"),
                    ("password", "long enough")
                ]
            )
            .await
            .status,
        StatusCode::SEE_OTHER
    );
    let path = format!(
        "/tenants/{}/users/ann@example.com/password",
        app.tenant.tenant_id
    );
    assert_eq!(
        app.admin(Method::DELETE, &path, None).await.status,
        StatusCode::NO_CONTENT
    );
    let mut browser = Browser::new(&app);
    assert_eq!(
        browser
            .post_form(&login, &[("user_name", "ann@example.com")])
            .await
            .status,
        StatusCode::SEE_OTHER
    );
}

#[tokio::test]
async fn serve_sign_in_as_approves_every_authorization_of_the_default_tenant() {
    let app = TestApp::with(|state| AppState {
        sign_in_as: Some("ci@example.com".into()),
        ..state
    })
    .await;
    app.create_user("ci@example.com").await;
    let client = register(&app, json!({})).await;
    let started = start(&app, &client).await;
    let token = poll(&app, &client, started.body["deviceCode"].as_str().unwrap()).await;
    assert_eq!(token.status, StatusCode::OK, "{}", token.body);

    let code = code_client(&app).await;
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(VERIFIER.as_bytes()));
    let mut browser = Browser::new(&app);
    let r = browser.get(&format!(
        "/authorize?response_type=code&client_id={}&redirect_uri=http%3A%2F%2F127.0.0.1%3A7%2Foauth%2Fcallback&state=ci&code_challenge_method=S256&code_challenge={challenge}",
        code.0)).await;
    let location = r.header("location").unwrap();
    assert!(
        location.starts_with("http://127.0.0.1:7/oauth/callback?code="),
        "{location}"
    );
}

#[tokio::test]
async fn tenants_are_kept_apart() {
    let app = TestApp::new().await;
    app.create_user("ann@example.com").await;
    let (other, _) = add_tenant(&app.state.store).await;
    // A client of this tenant's issuer cannot start at another's start URL.
    let bound = register(&app, json!({"issuerUrl": start_url(&app.tenant.tenant_id)})).await;
    let body = json!({"clientId": bound.0, "clientSecret": bound.1, "startUrl": start_url(&other.tenant_id)});
    assert_oidc_error(
        &oidc(&app, "/device_authorization", body).await,
        400,
        "InvalidRequestException",
        "invalid_request",
    );

    // A user code of one tenant means nothing in another.
    let free = register(&app, json!({})).await;
    let started = start(&app, &free).await;
    let user_code = started.body["userCode"].as_str().unwrap();
    let path = format!("/tenants/{}/sign-ins", other.tenant_id);
    let r = app
        .admin(
            Method::POST,
            &path,
            Some(json!({"userCode": user_code, "userName": "ann@example.com"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let mut browser = Browser::new(&app);
    let r = browser
        .post_form(
            &format!("/{}/device", other.tenant_id),
            &[("user_code", user_code)],
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);

    // A browser signed in to one tenant is not signed in to another.
    let login = browser
        .post_form(
            &format!("/{}/login", app.tenant.tenant_id),
            &[("user_name", "ann@example.com")],
        )
        .await;
    assert_eq!(login.status, StatusCode::SEE_OTHER);
    let elsewhere = browser.get(&format!("/{}/start", other.tenant_id)).await;
    assert_eq!(elsewhere.status, StatusCode::SEE_OTHER);
    assert!(
        elsewhere
            .header("location")
            .unwrap()
            .starts_with(&format!("/{}/login", other.tenant_id))
    );
    let home = browser
        .get(&format!("/{}/start", app.tenant.tenant_id))
        .await;
    assert_eq!(home.status, StatusCode::OK);
    assert!(
        home.text.contains(&start_url(&app.tenant.tenant_id)),
        "{}",
        home.text
    );
}

#[tokio::test]
async fn tenants_show_their_start_url_and_assets_is_no_tenant_id() {
    let app = TestApp::new().await;
    let r = app
        .admin(
            Method::GET,
            &format!("/tenants/{}", app.tenant.tenant_id),
            None,
        )
        .await;
    assert_eq!(
        r.body["startPath"],
        json!(format!("/{}/start", app.tenant.tenant_id))
    );
    let r = app
        .admin(
            Method::POST,
            "/tenants",
            Some(json!({"tenantId": "assets"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
}

#[tokio::test]
async fn errors_outside_the_operations_have_the_apis_body_too() {
    let app = TestApp::new().await;
    let r = app
        .send(Request::get("/token").body(Body::empty()).unwrap())
        .await;
    assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED, "{}", r.body);
    assert_eq!(
        r.header("x-amzn-errortype"),
        Some("InvalidRequestException")
    );
    assert_eq!(r.body["error"], json!("invalid_request"));
    let r = oidc(&app, "/token", json!("not an object")).await;
    assert_oidc_error(&r, 400, "InvalidRequestException", "invalid_request");
}

#[tokio::test]
async fn racing_redemptions_give_one_token_and_no_failure() {
    let app = TestApp::new().await;
    app.create_user("ann@example.com").await;
    let client = register(&app, json!({})).await;
    let started = start(&app, &client).await;
    let user_code = started.body["userCode"].as_str().unwrap();
    assert_eq!(
        approve(&app, user_code, "ann@example.com").await.status,
        StatusCode::OK
    );
    let device_code = started.body["deviceCode"].as_str().unwrap();
    let polls = (0..8).map(|_| poll(&app, &client, device_code));
    let answers = futures_util::future::join_all(polls).await;
    let won = answers
        .iter()
        .filter(|r| r.status == StatusCode::OK)
        .count();
    assert_eq!(
        won,
        1,
        "{:?}",
        answers.iter().map(|r| &r.body).collect::<Vec<_>>()
    );
    for r in answers.iter().filter(|r| r.status != StatusCode::OK) {
        assert_oidc_error(r, 400, "InvalidGrantException", "invalid_grant");
    }

    // Racing refreshes of one refresh token: one rotates it, the others are refused.
    let refresh_token = answers
        .iter()
        .find_map(|r| r.body["refreshToken"].as_str())
        .unwrap();
    let body = json!({"clientId": client.0, "clientSecret": client.1,
                      "grantType": "refresh_token", "refreshToken": refresh_token});
    let refreshes = (0..8).map(|_| oidc(&app, "/token", body.clone()));
    let answers = futures_util::future::join_all(refreshes).await;
    assert_eq!(
        answers
            .iter()
            .filter(|r| r.status == StatusCode::OK)
            .count(),
        1
    );
    for r in answers.iter().filter(|r| r.status != StatusCode::OK) {
        assert_oidc_error(r, 400, "InvalidGrantException", "invalid_grant");
    }
}
