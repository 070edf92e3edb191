//! The access portal (ListAccounts, ListAccountRoles, GetRoleCredentials, Logout) with the
//! tokens of SSO OIDC, on accounts, permission sets and assignments of the sso-admin API;
//! changes that take effect on the next call; tenants kept apart; the journal, faults and the
//! throttle on sign-in's requests.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use idc_scim::controls::throttle::Limit;
use idc_scim::controls::{Controls, Throttle};
use idc_scim::state::AppState;
use serde_json::{Value, json};

use crate::helpers::{START_MS, TestApp, TestResponse, user_body};
use crate::signin::{assert_oidc_error, oidc, poll, register, signed_in_token, start};

const DEV: &str = "111111111111";
const PROD: &str = "222222222222";
const OTHER: &str = "333333333333";

/// Users ann (in Engineering) and bob; accounts dev, prod and other; ReadOnly (2 hours) and
/// Admin (1 hour); ann has ReadOnly in dev herself, and Admin and ReadOnly in prod through
/// Engineering.
async fn seed(app: &TestApp) {
    let user = |name: &str| {
        let mut body = user_body(name);
        body.as_object_mut().unwrap().remove("schemas");
        body
    };
    let fixture = json!({
        "users": [user("ann@example.com"), user("bob@example.com")],
        "groups": [{"displayName": "Engineering", "members": ["ann@example.com"]}],
        "accounts": [
            {"accountId": DEV, "name": "dev", "email": "dev@example.com"},
            {"accountId": PROD, "name": "prod", "email": "prod@example.com"},
            {"accountId": OTHER, "name": "other", "email": "other@example.com"},
        ],
        "permissionSets": [
            {"name": "ReadOnly", "sessionDuration": "PT2H"},
            {"name": "Admin", "sessionDuration": "PT1H"},
        ],
        "assignments": [
            {"accountId": DEV, "permissionSet": "ReadOnly", "user": "ann@example.com"},
            {"accountId": PROD, "permissionSet": "Admin", "group": "Engineering"},
            {"accountId": PROD, "permissionSet": "ReadOnly", "group": "Engineering"},
            {"accountId": OTHER, "permissionSet": "Admin", "user": "bob@example.com"},
        ],
    });
    let path = format!("/tenants/{}/seed", app.tenant.tenant_id);
    let r = app.admin(Method::POST, &path, Some(fixture)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
}

/// A portal request with an access token.
async fn portal(app: &TestApp, method: Method, path: &str, token: Option<&str>) -> TestResponse {
    let mut req = Request::builder().method(method).uri(path);
    if let Some(token) = token {
        req = req.header("x-amz-sso_bearer_token", token);
    }
    app.send(req.body(Body::empty()).unwrap()).await
}

async fn get(app: &TestApp, path: &str, token: &str) -> TestResponse {
    portal(app, Method::GET, path, Some(token)).await
}

#[track_caller]
fn assert_portal_error(r: &TestResponse, status: u16, kind: &str) {
    assert_eq!(r.status.as_u16(), status, "{}", r.body);
    assert_eq!(r.header("x-amzn-errortype"), Some(kind), "{}", r.body);
    assert!(
        r.body["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{}",
        r.body
    );
}

fn account_ids(r: &TestResponse) -> Vec<&str> {
    r.body["accountList"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["accountId"].as_str().unwrap())
        .collect()
}

fn role_names(r: &TestResponse) -> Vec<&str> {
    r.body["roleList"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["roleName"].as_str().unwrap())
        .collect()
}

/// Ann's access token.
async fn ann(app: &TestApp) -> String {
    let (_, token) = signed_in_token(app, "ann@example.com").await;
    token["accessToken"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn the_portal_shows_the_accounts_and_roles_assigned_directly_or_through_a_group() {
    let app = TestApp::new().await;
    seed(&app).await;
    let token = ann(&app).await;

    let r = get(&app, "/assignment/accounts", &token).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert_eq!(
        r.body,
        json!({"accountList": [
            {"accountId": DEV, "accountName": "dev", "emailAddress": "dev@example.com"},
            {"accountId": PROD, "accountName": "prod", "emailAddress": "prod@example.com"},
        ]})
    );
    let first = get(&app, "/assignment/accounts?max_result=1", &token).await;
    assert_eq!(account_ids(&first), [DEV]);
    let next = first.body["nextToken"].as_str().unwrap();
    let second = get(
        &app,
        &format!("/assignment/accounts?max_result=1&next_token={next}"),
        &token,
    )
    .await;
    assert_eq!(account_ids(&second), [PROD]);
    assert!(second.body.get("nextToken").is_none(), "{}", second.body);
    for bad in ["max_result=0", "max_result=101", "next_token=%2A%2A"] {
        let r = get(&app, &format!("/assignment/accounts?{bad}"), &token).await;
        assert_portal_error(&r, 400, "InvalidRequestException");
    }

    let r = get(
        &app,
        &format!("/assignment/roles?account_id={PROD}"),
        &token,
    )
    .await;
    assert_eq!(role_names(&r), ["Admin", "ReadOnly"]);
    assert_eq!(r.body["roleList"][0]["accountId"], json!(PROD));
    let r = get(
        &app,
        &format!("/assignment/roles?account_id={OTHER}"),
        &token,
    )
    .await;
    assert_eq!(role_names(&r), Vec::<&str>::new());
    assert_portal_error(
        &get(&app, "/assignment/roles", &token).await,
        400,
        "InvalidRequestException",
    );

    let r = get(
        &app,
        &format!("/federation/credentials?account_id={DEV}&role_name=ReadOnly"),
        &token,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let credentials = &r.body["roleCredentials"];
    let key_id = credentials["accessKeyId"].as_str().unwrap();
    assert!(key_id.len() == 20 && key_id.starts_with("ASIA"), "{key_id}");
    assert_eq!(credentials["secretAccessKey"].as_str().unwrap().len(), 40);
    assert!(credentials["sessionToken"].as_str().unwrap().len() > 100);
    assert_eq!(credentials["expiration"], json!(START_MS + 2 * 3600 * 1000));
    let admin = get(
        &app,
        &format!("/federation/credentials?account_id={PROD}&role_name=Admin"),
        &token,
    )
    .await;
    assert_eq!(
        admin.body["roleCredentials"]["expiration"],
        json!(START_MS + 3600 * 1000)
    );
    let again = get(
        &app,
        &format!("/federation/credentials?account_id={DEV}&role_name=ReadOnly"),
        &token,
    )
    .await;
    assert_ne!(
        again.body["roleCredentials"]["accessKeyId"],
        credentials["accessKeyId"]
    );

    let r = get(
        &app,
        &format!("/federation/credentials?account_id={DEV}&role_name=Admin"),
        &token,
    )
    .await;
    assert_portal_error(&r, 404, "ResourceNotFoundException");
    let r = get(
        &app,
        &format!("/federation/credentials?account_id={OTHER}&role_name=Admin"),
        &token,
    )
    .await;
    assert_portal_error(&r, 404, "ResourceNotFoundException");
    let r = get(
        &app,
        &format!("/federation/credentials?account_id={DEV}"),
        &token,
    )
    .await;
    assert_portal_error(&r, 400, "InvalidRequestException");
}

#[tokio::test]
async fn removed_access_and_deleted_users_take_effect_on_the_next_call() {
    let app = TestApp::new().await;
    seed(&app).await;
    let token = ann(&app).await;
    let roles = format!("/assignment/roles?account_id={PROD}");
    assert_eq!(
        role_names(&get(&app, &roles, &token).await),
        ["Admin", "ReadOnly"]
    );

    // Out of the group: the group's assignments no longer reach her.
    let group = app
        .get("/Groups?filter=displayName%20eq%20%22Engineering%22")
        .await
        .body["Resources"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let ann_id = app
        .get("/Users?filter=userName%20eq%20%22ann@example.com%22")
        .await
        .body["Resources"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = app
        .patch(
            &format!("/Groups/{group}"),
            json!([{"op": "remove", "path": format!("members[value eq \"{ann_id}\"]")}]),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
    assert_eq!(
        role_names(&get(&app, &roles, &token).await),
        Vec::<&str>::new()
    );
    assert_eq!(
        account_ids(&get(&app, "/assignment/accounts", &token).await),
        [DEV]
    );

    // An account deleted, with its assignments.
    let path = format!("/tenants/{}/accounts/{DEV}", app.tenant.tenant_id);
    assert_eq!(
        app.admin(Method::DELETE, &path, None).await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        account_ids(&get(&app, "/assignment/accounts", &token).await),
        Vec::<&str>::new()
    );

    // A disabled user's token stops working; a deleted user's too.
    let r = app
        .patch(
            &format!("/Users/{ann_id}"),
            json!([{"op": "replace", "path": "active", "value": false}]),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_portal_error(
        &get(&app, "/assignment/accounts", &token).await,
        401,
        "UnauthorizedException",
    );
    let r = app
        .patch(
            &format!("/Users/{ann_id}"),
            json!([{"op": "replace", "path": "active", "value": true}]),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(
        get(&app, "/assignment/accounts", &token).await.status,
        StatusCode::OK
    );
    assert_eq!(
        app.call(Method::DELETE, &format!("/Users/{ann_id}"), None)
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    assert_portal_error(
        &get(&app, "/assignment/accounts", &token).await,
        401,
        "UnauthorizedException",
    );
}

#[tokio::test]
async fn tokens_expire_and_logout_ends_them_at_once() {
    let app = TestApp::new().await;
    seed(&app).await;
    assert_portal_error(
        &portal(&app, Method::GET, "/assignment/accounts", None).await,
        401,
        "UnauthorizedException",
    );
    assert_portal_error(
        &get(&app, "/assignment/accounts", "aoa-made-up").await,
        401,
        "UnauthorizedException",
    );

    let (client, token) = signed_in_token(&app, "ann@example.com").await;
    let access = token["accessToken"].as_str().unwrap();
    app.clock.advance_ms(3600 * 1000 - 1);
    assert_eq!(
        get(&app, "/assignment/accounts", access).await.status,
        StatusCode::OK
    );
    app.clock.advance_ms(1);
    assert_portal_error(
        &get(&app, "/assignment/accounts", access).await,
        401,
        "UnauthorizedException",
    );

    let refresh = json!({"clientId": client.0, "clientSecret": client.1, "grantType": "refresh_token",
                         "refreshToken": token["refreshToken"]});
    let renewed = oidc(&app, "/token", refresh).await;
    assert_eq!(renewed.status, StatusCode::OK, "{}", renewed.body);
    let access = renewed.body["accessToken"].as_str().unwrap();
    let out = portal(&app, Method::POST, "/logout", Some(access)).await;
    assert_eq!(out.status, StatusCode::OK, "{}", out.body);
    assert_portal_error(
        &get(&app, "/assignment/accounts", access).await,
        401,
        "UnauthorizedException",
    );
    let refresh = json!({"clientId": client.0, "clientSecret": client.1, "grantType": "refresh_token",
                         "refreshToken": renewed.body["refreshToken"]});
    assert_oidc_error(
        &oidc(&app, "/token", refresh).await,
        400,
        "InvalidGrantException",
        "invalid_grant",
    );
}

#[tokio::test]
async fn a_token_of_one_tenant_sees_nothing_of_another() {
    let app = TestApp::new().await;
    let other = TestApp::with_store(app.state.store.clone()).await;
    seed(&app).await;
    seed(&other).await;
    let token = ann(&app).await;
    // The other tenant has the same accounts and names; removing them there changes nothing
    // here, and the token reaches only its own tenant's.
    let path = format!("/tenants/{}/accounts/{DEV}", other.tenant.tenant_id);
    assert_eq!(
        other.admin(Method::DELETE, &path, None).await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        account_ids(&get(&other, "/assignment/accounts", &token).await),
        [DEV, PROD]
    );
    let theirs = ann(&other).await;
    assert_eq!(
        account_ids(&get(&app, "/assignment/accounts", &theirs).await),
        [PROD]
    );
    // Logging out there does not end the token here.
    assert_eq!(
        portal(&other, Method::POST, "/logout", Some(&theirs))
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(
        get(&app, "/assignment/accounts", &token).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn sign_in_requests_are_journaled_with_secrets_masked_faulted_and_throttled() {
    let app = TestApp::with(|state| AppState {
        controls: Controls {
            throttle: Throttle::new(Some(Limit {
                rate: 1.0,
                burst: 4.0,
            })),
            ..Controls::default()
        },
        ..state
    })
    .await;
    seed(&app).await;
    let client = register(&app, json!({})).await;
    let started = start(&app, &client).await;
    let device_code = started.body["deviceCode"].as_str().unwrap();
    // Faults apply to the tenant's requests, matched by their journal path.
    let rule = json!({"method": "POST", "path": "/sso-oidc/CreateToken", "status": 500, "times": 1,
                      "tenantId": app.tenant.tenant_id});
    assert_eq!(
        app.admin(Method::POST, "/faults", Some(rule)).await.status,
        StatusCode::CREATED
    );
    assert_oidc_error(
        &poll(&app, &client, device_code).await,
        500,
        "InternalServerException",
        "server_error",
    );
    assert_oidc_error(
        &poll(&app, &client, device_code).await,
        400,
        "AuthorizationPendingException",
        "authorization_pending",
    );

    let journal = app
        .admin(
            Method::GET,
            &format!("/tenants/{}/journal", app.tenant.tenant_id),
            None,
        )
        .await
        .body;
    let entries: Vec<&Value> = journal
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["path"].as_str().unwrap().starts_with("/sso"))
        .collect();
    let paths: Vec<&str> = entries
        .iter()
        .map(|e| e["path"].as_str().unwrap())
        .collect();
    // RegisterClient named no tenant: it is journaled nowhere.
    assert_eq!(
        paths,
        [
            "/sso-oidc/StartDeviceAuthorization",
            "/sso-oidc/CreateToken",
            "/sso-oidc/CreateToken"
        ]
    );
    assert_eq!(entries[0]["body"]["clientSecret"], json!("****"));
    assert_eq!(entries[0]["body"]["clientId"], json!(client.0));
    assert_eq!(entries[0]["responseBody"]["deviceCode"], json!("****"));
    assert_eq!(
        entries[0]["responseBody"]["userCode"],
        started.body["userCode"]
    );
    assert_eq!(entries[2]["body"]["deviceCode"], json!("****"));
    assert_eq!(
        entries[2]["responseBody"]["error"],
        json!("authorization_pending")
    );

    // The throttle: the bucket of sso-oidc holds 4 (a request a fault answers takes none); two
    // are spent, two seconds bring two back, CreateToken takes one; the portal has its own.
    app.clock.advance_ms(2_000);
    let user_code = started.body["userCode"].as_str().unwrap();
    let path = format!("/tenants/{}/sign-ins", app.tenant.tenant_id);
    let body = json!({"userCode": user_code, "userName": "ann@example.com"});
    assert_eq!(
        app.admin(Method::POST, &path, Some(body)).await.status,
        StatusCode::OK
    );
    let token = poll(&app, &client, device_code).await;
    assert_eq!(token.status, StatusCode::OK, "{}", token.body);
    let mut starts = Vec::new();
    for _ in 0..4 {
        starts.push(start(&app, &client).await);
    }
    let statuses: Vec<u16> = starts.iter().map(|r| r.status.as_u16()).collect();
    assert_eq!(statuses, [200, 200, 200, 400], "{statuses:?}");
    assert_oidc_error(&starts[3], 400, "SlowDownException", "slow_down");
    assert!(starts[3].header("retry-after").is_some());
    let access = token.body["accessToken"].as_str().unwrap();
    for _ in 0..4 {
        assert_eq!(
            get(&app, "/assignment/accounts", access).await.status,
            StatusCode::OK
        );
    }
    let r = get(&app, "/assignment/accounts", access).await;
    assert_portal_error(&r, 429, "TooManyRequestsException");

    let journal = app
        .admin(
            Method::GET,
            &format!("/tenants/{}/journal?path=/sso/*", app.tenant.tenant_id),
            None,
        )
        .await
        .body;
    let last = journal.as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["path"], json!("/sso/ListAccounts"));
    assert_eq!(last["status"], json!(429));
    assert_eq!(last["headers"]["x-amz-sso_bearer_token"], json!("****"));
}

#[tokio::test]
async fn the_start_page_shows_the_accounts_and_roles_of_the_signed_in_user() {
    let app = TestApp::new().await;
    seed(&app).await;
    let mut browser = crate::helpers::Browser::new(&app);
    let tenant = &app.tenant.tenant_id;
    let login = browser
        .post_form(
            &format!("/{tenant}/login"),
            &[("user_name", "ann@example.com")],
        )
        .await;
    assert_eq!(login.status, StatusCode::SEE_OTHER);
    assert_eq!(
        login.header("location"),
        Some(format!("/{tenant}/start").as_str())
    );
    let page = browser.get(&format!("/{tenant}/start")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.text.contains("AWS accounts (2)"), "{}", page.text);
    assert!(
        page.text
            .contains(&format!(r#"<td class="mono">{PROD}</td>"#))
    );
    assert!(
        page.text.contains("<td>Admin, ReadOnly</td>"),
        "{}",
        page.text
    );
    assert!(!page.text.contains(OTHER));
}
