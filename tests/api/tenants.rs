//! Tenants and access tokens: isolation on every SCIM route, the admin API, AWS's token limit,
//! lifetime, deletion and rotation, and the provisioning switch.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use idc_scim::auth::TokenHash;
use idc_scim::state::AppState;
use serde_json::{Value, json};

use crate::helpers::{
    ADMIN_TOKEN, ELSEWHERE, TestApp, add_tenant, assert_error, eventually, two_stores, user_body,
};

const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

/// A request to `path` (absolute) with a bearer token and an optional JSON body.
fn request(method: Method, path: &str, token: &str, body: Option<Value>) -> Request<Body> {
    let mut b = Request::builder()
        .method(method)
        .uri(path)
        .header("authorization", format!("Bearer {token}"));
    if body.is_some() {
        b = b.header("content-type", "application/json");
    }
    b.body(Body::from(body.map(|v| v.to_string()).unwrap_or_default()))
        .unwrap()
}

async fn scim_status(app: &TestApp, token: &str) -> StatusCode {
    let path = format!("{}/Users", app.base());
    app.send(request(Method::GET, &path, token, None))
        .await
        .status
}

#[tokio::test]
async fn a_token_of_one_tenant_opens_no_route_of_another() {
    let app = TestApp::new().await;
    let user = app.create_user("a@example.com").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = app
        .post(
            "/Groups",
            json!({"displayName": "G", "members": [{"value": user}]}),
        )
        .await;
    let group = r.body["id"].as_str().unwrap().to_owned();
    let (_, other_token) = add_tenant(&app.state.store).await;
    let patch = json!({"schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": "title", "value": "x"}]});
    let routes: Vec<(Method, String, Option<Value>)> = vec![
        (Method::GET, "/Users".into(), None),
        (
            Method::POST,
            "/Users".into(),
            Some(user_body("b@example.com")),
        ),
        (Method::GET, format!("/Users/{user}"), None),
        (
            Method::PUT,
            format!("/Users/{user}"),
            Some(user_body("c@example.com")),
        ),
        (Method::PATCH, format!("/Users/{user}"), Some(patch)),
        (Method::DELETE, format!("/Users/{user}"), None),
        (Method::GET, "/Groups".into(), None),
        (
            Method::POST,
            "/Groups".into(),
            Some(json!({"displayName": "H"})),
        ),
        (Method::GET, format!("/Groups/{group}"), None),
        (
            Method::PATCH,
            format!("/Groups/{group}"),
            Some(
                json!({"schemas": [PATCH_OP], "Operations": [{"op": "remove", "path": format!("members[value eq \"{user}\"]")}]}),
            ),
        ),
        (
            Method::PUT,
            format!("/Groups/{group}"),
            Some(json!({"displayName": "H"})),
        ),
        (Method::DELETE, format!("/Groups/{group}"), None),
        (Method::GET, "/ServiceProviderConfig".into(), None),
        (Method::GET, "/Schemas".into(), None),
        (Method::GET, "/ResourceTypes".into(), None),
        (Method::GET, "/Bulk".into(), None),
    ];
    for (method, path, body) in routes {
        let uri = format!("{}{path}", app.base());
        let r = app
            .send(request(method.clone(), &uri, &other_token, body))
            .await;
        assert_error(&r, 401, "Authorization header is invalid or missing.");
        // The short alias serves this test's tenant too: the other token fails there as well.
        let alias = format!("/scim/v2{path}");
        let r = app
            .send(request(method.clone(), &alias, &other_token, None))
            .await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{method} {alias}");
    }
    // Nothing changed.
    assert_eq!(
        app.get(&format!("/Users/{user}")).await.body["userName"],
        "a@example.com"
    );
    assert_eq!(
        app.get(&format!("/Groups/{group}")).await.status,
        StatusCode::OK
    );
    assert_eq!(app.user_count().await, 1);
}

#[tokio::test]
async fn the_admin_api_manages_tenants() {
    let app = TestApp::new().await;
    let r = app.admin(Method::POST, "/tenants", None).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let generated = r.body["tenantId"].as_str().unwrap().to_owned();
    assert!(
        r.body["identityStoreId"]
            .as_str()
            .unwrap()
            .starts_with("d-")
    );
    assert_eq!(r.body["provisioningEnabled"], true);
    assert_eq!(r.body["isDefault"], false);
    assert_eq!(r.body["scimPath"], json!(format!("/{generated}/scim/v2/")));
    let r = app
        .admin(
            Method::POST,
            "/tenants",
            Some(json!({"tenantId": "acme-prod"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    assert_eq!(r.body["tenantId"], "acme-prod");
    assert_error(
        &app.admin(
            Method::POST,
            "/tenants",
            Some(json!({"tenantId": "acme-prod"})),
        )
        .await,
        409,
        "exists",
    );
    for (bad, detail) in [
        (json!({"tenantId": "a/b"}), "tenantId must be 1 to 64"),
        (json!({"tenantId": "scim"}), "not scim, admin or health"),
        (json!({"tenantId": ""}), "tenantId must be 1 to 64"),
        (json!({"name": "x"}), "unknown field `name`"),
    ] {
        assert_error(
            &app.admin(Method::POST, "/tenants", Some(bad)).await,
            400,
            detail,
        );
    }
    let list = app.admin(Method::GET, "/tenants", None).await.body;
    let ids: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["tenantId"].as_str().unwrap())
        .collect();
    assert!(ids.contains(&"acme-prod") && ids.contains(&generated.as_str()));
    assert_eq!(
        app.admin(Method::GET, "/tenants/acme-prod", None)
            .await
            .body["tenantId"],
        "acme-prod"
    );
    assert_error(
        &app.admin(Method::GET, "/tenants/nope", None).await,
        404,
        "Tenant not found.",
    );

    // A token for the new tenant opens its endpoint and only it.
    let token = app
        .admin(Method::POST, "/tenants/acme-prod/tokens", None)
        .await;
    assert_eq!(token.status, StatusCode::CREATED);
    let secret = token.body["token"].as_str().unwrap().to_owned();
    let users = "/acme-prod/scim/v2/Users";
    assert_eq!(
        app.send(request(Method::GET, users, &secret, None))
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(scim_status(&app, &secret).await, StatusCode::UNAUTHORIZED);

    // Deleting the tenant deletes its data and its tokens.
    let r = app
        .send(request(
            Method::POST,
            users,
            &secret,
            Some(user_body("x@example.com")),
        ))
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    assert_eq!(
        app.admin(Method::DELETE, "/tenants/acme-prod", None)
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    // AWS answers a tenant it does not know with a 404 (issue thread, 2022).
    assert_error(
        &app.send(request(Method::GET, users, &secret, None)).await,
        404,
        "TENANT does not exist.",
    );
    assert_error(
        &app.admin(Method::DELETE, "/tenants/acme-prod", None).await,
        404,
        "Tenant not found.",
    );
}

#[tokio::test]
async fn the_admin_api_needs_its_own_credential() {
    let app = TestApp::new().await;
    let r = app
        .send(request(Method::GET, "/admin/tenants", &app.token, None))
        .await;
    assert_error(&r, 401, "Authorization header is invalid or missing.");
    let r = app
        .send(Request::get("/admin/tenants").body(Body::empty()).unwrap())
        .await;
    assert_error(&r, 401, "Authorization header is invalid or missing.");
    // The admin credential is no SCIM token.
    assert_eq!(
        scim_status(&app, ADMIN_TOKEN).await,
        StatusCode::UNAUTHORIZED
    );
    // Without a configured credential, there is no admin API.
    let without = TestApp::with(|state| AppState {
        admin_token: None,
        ..state
    })
    .await;
    let r = without
        .send(request(Method::GET, "/admin/tenants", ADMIN_TOKEN, None))
        .await;
    assert_error(&r, 404, "The requested endpoint does not exist.");
}

#[tokio::test]
async fn tokens_follow_aws_limit_expiry_deletion_and_rotation() {
    let app = TestApp::new().await;
    let tenant = app.tenant.tenant_id.clone();
    let tokens_path = format!("/tenants/{tenant}/tokens");
    let listed = app.admin(Method::GET, &tokens_path, None).await.body;
    assert_eq!(listed.as_array().unwrap().len(), 1);
    let old_id = listed[0]["tokenId"].as_str().unwrap().to_owned();
    assert!(
        listed[0].get("token").is_none(),
        "a listing never shows a secret"
    );
    assert_eq!(listed[0]["expiresAt"], "2027-01-01T00:00:00Z");

    // Rotation: a second token works beside the first.
    let second = app.admin(Method::POST, &tokens_path, None).await;
    assert_eq!(second.status, StatusCode::CREATED);
    let new_secret = second.body["token"].as_str().unwrap().to_owned();
    let new_id = second.body["tokenId"].as_str().unwrap().to_owned();
    assert_eq!(scim_status(&app, &new_secret).await, StatusCode::OK);
    assert_eq!(scim_status(&app, &app.token).await, StatusCode::OK);
    // A third is refused: two at a time, as in AWS.
    assert_error(
        &app.admin(Method::POST, &tokens_path, None).await,
        409,
        "at most 2",
    );
    // Last use is listed.
    let listed = app.admin(Method::GET, &tokens_path, None).await.body;
    let entry = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["tokenId"] == json!(new_id))
        .unwrap();
    assert_eq!(entry["lastUsedAt"], "2026-01-01T00:00:00Z");
    // Deleting the old one stops it at once; the new one keeps working.
    let r = app
        .admin(Method::DELETE, &format!("{tokens_path}/{old_id}"), None)
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_eq!(
        scim_status(&app, &app.token).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(scim_status(&app, &new_secret).await, StatusCode::OK);
    assert_error(
        &app.admin(Method::DELETE, &format!("{tokens_path}/{old_id}"), None)
            .await,
        404,
        "Token not found.",
    );
    // One year later the new token has expired.
    app.clock.advance_ms(idc_scim::auth::TOKEN_LIFETIME_MS - 1);
    assert_eq!(scim_status(&app, &new_secret).await, StatusCode::OK);
    app.clock.advance_ms(1);
    assert_eq!(
        scim_status(&app, &new_secret).await,
        StatusCode::UNAUTHORIZED
    );
    let listed = app.admin(Method::GET, &tokens_path, None).await.body;
    assert_eq!(listed[0]["expired"], true);
}

#[tokio::test]
async fn disabling_provisioning_closes_the_scim_endpoint() {
    let app = TestApp::new().await;
    app.create_user("kept@example.com").await;
    let path = format!("/tenants/{}", app.tenant.tenant_id);
    let r = app
        .admin(
            Method::PATCH,
            &path,
            Some(json!({"provisioningEnabled": false})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["provisioningEnabled"], false);
    // Disabling deletes AWS's SCIM tenant: its URL answers as an unknown tenant's.
    assert_error(&app.get("/Users").await, 404, "TENANT does not exist.");
    let alias = app
        .send(request(Method::GET, "/scim/v2/Users", &app.token, None))
        .await;
    assert_error(&alias, 404, "TENANT does not exist.");
    let r = app
        .admin(
            Method::PATCH,
            &path,
            Some(json!({"provisioningEnabled": true})),
        )
        .await;
    assert_eq!(r.body["provisioningEnabled"], true);
    assert_eq!(app.user_count().await, 1, "the data outlives the switch");
    assert_error(
        &app.admin(
            Method::PATCH,
            &path,
            Some(json!({"provisioningEnabled": "no"})),
        )
        .await,
        400,
        "expected a boolean",
    );
    assert_error(
        &app.admin(
            Method::PATCH,
            "/tenants/nope",
            Some(json!({"provisioningEnabled": true})),
        )
        .await,
        404,
        "Tenant not found.",
    );
}

#[tokio::test]
async fn the_default_tenant_stays() {
    let app = TestApp::new().await;
    let store = app.state.store.clone();
    let default = store
        .ensure_default_tenant(&idc_scim::store::Tenant::generate(), 0)
        .await
        .unwrap();
    let r = app
        .admin(
            Method::DELETE,
            &format!("/tenants/{}", default.tenant_id),
            None,
        )
        .await;
    assert_error(&r, 400, "default tenant");
}

#[tokio::test]
async fn no_token_secret_is_stored() {
    let dir = std::env::temp_dir().join(format!("idc-scim-secrets-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let url = format!("sqlite://{}", dir.join("t.db").display());
    let store = idc_scim::store::connect(&url).await.unwrap();
    let app = TestApp::with_store(store).await;
    let created = app
        .admin(
            Method::POST,
            &format!("/tenants/{}/tokens", app.tenant.tenant_id),
            None,
        )
        .await;
    let secrets = [
        app.token.clone(),
        created.body["token"].as_str().unwrap().to_owned(),
    ];
    assert_eq!(scim_status(&app, &secrets[1]).await, StatusCode::OK);
    app.state.store.close().await;
    let mut bytes = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        bytes.extend(std::fs::read(entry.unwrap().path()).unwrap());
    }
    let haystack = String::from_utf8_lossy(&bytes);
    assert!(
        haystack.contains(&app.tenant.tenant_id),
        "the scan reads the database"
    );
    for secret in &secrets {
        assert!(
            !haystack.contains(secret.as_str()),
            "a token secret is in the database files"
        );
        let hash = idc_scim::auth::TokenHash::of(secret).to_hex();
        assert!(haystack.contains(&hash), "the hash is what is stored");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn another_instance_on_the_database_follows_deleted_tokens_and_the_provisioning_switch() {
    let (here, there, _dir) = two_stores().await;
    let a = TestApp::with_store(here).await;
    let static_token = "the-static-token-of-the-other-instance";
    let b = TestApp::configured(there, |state| AppState {
        static_token: Some(TokenHash::of(static_token)),
        ..state
    })
    .await;
    // Each serves every tenant of the database: b serves a's with a's tokens.
    let users = format!("{}/Users", a.base());
    let status_at_b = async |token: &str| {
        let r = b.send(request(Method::GET, &users, token, None)).await;
        r.status
    };
    let tokens = format!("/tenants/{}/tokens", a.tenant.tenant_id);
    let listed = a.admin(Method::GET, &tokens, None).await.body;
    let first_id = listed[0]["tokenId"].as_str().unwrap();
    let second = a.admin(Method::POST, &tokens, None).await;
    let second = second.body["token"].as_str().unwrap().to_owned();
    assert_eq!(status_at_b(&a.token).await, StatusCode::OK);
    assert_eq!(status_at_b(&second).await, StatusCode::OK);
    let r = a
        .admin(Method::DELETE, &format!("{tokens}/{first_id}"), None)
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_eq!(scim_status(&a, &a.token).await, StatusCode::UNAUTHORIZED);
    eventually(ELSEWHERE, "the deleted token stops at b", async || {
        status_at_b(&a.token).await == StatusCode::UNAUTHORIZED
    })
    .await;
    assert_eq!(status_at_b(&second).await, StatusCode::OK);
    // The switch turned at a closes the tenant at b, for its stored tokens and for b's own
    // command-line token of its default tenant.
    let static_at_b = async || {
        let path = format!("{}/Users", b.base());
        b.send(request(Method::GET, &path, static_token, None))
            .await
    };
    assert_eq!(static_at_b().await.status, StatusCode::OK);
    for tenant in [&a.tenant, &b.tenant] {
        let path = format!("/tenants/{}", tenant.tenant_id);
        let off = Some(json!({"provisioningEnabled": false}));
        let r = a.admin(Method::PATCH, &path, off).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    }
    eventually(ELSEWHERE, "the switch reaches b", async || {
        status_at_b(&second).await == StatusCode::NOT_FOUND
            && static_at_b().await.status == StatusCode::NOT_FOUND
    })
    .await;
    assert_error(&static_at_b().await, 404, "TENANT does not exist.");
}
