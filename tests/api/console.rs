//! The console at `/console`, page by page and form by form, as a browser uses it: the
//! session and its cookie, CSRF on every form, instances, Settings (provisioning, tokens and
//! their limit), users and groups through the SCIM rules, the journal and the controls. Bad
//! input is a message on the page, never a 500.

use std::collections::HashMap;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use idc_scim::store::Tenant;
use serde_json::{Value, json};

use crate::helpers::{ADMIN_TOKEN, RawResponse, TestApp, user_body};

/// A browser of the console: its cookies (the CSRF token's and the session's), kept from one
/// answer to the next.
struct Browser<'a> {
    app: &'a TestApp,
    cookies: HashMap<String, String>,
}

impl<'a> Browser<'a> {
    /// A browser that has opened the sign-in page, and so holds a CSRF cookie.
    async fn new(app: &'a TestApp) -> Self {
        let mut browser = Self {
            app,
            cookies: HashMap::new(),
        };
        let page = browser.get("/console/sign-in").await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.text);
        assert!(browser.cookies.contains_key("idc_csrf"));
        browser
    }

    /// A browser signed in with the admin credential.
    async fn signed_in(app: &'a TestApp) -> Self {
        let mut browser = Self::new(app).await;
        let r = browser
            .post("/console/sign-in", &[("credential", ADMIN_TOKEN)])
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
        assert!(browser.cookies.contains_key("idc_console"));
        browser
    }

    fn csrf(&self) -> String {
        self.cookies["idc_csrf"].clone()
    }

    fn cookie_header(&self) -> String {
        let pairs: Vec<String> = self
            .cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        pairs.join("; ")
    }

    async fn send(&mut self, req: Request<Body>) -> RawResponse {
        let r = self.app.send_raw(req).await;
        for set in r.headers.get_all("set-cookie") {
            let set = set.to_str().unwrap();
            let (pair, attributes) = set.split_once(';').unwrap_or((set, ""));
            let (name, value) = pair.split_once('=').unwrap();
            if attributes.contains("Max-Age=0") {
                self.cookies.remove(name);
            } else {
                self.cookies.insert(name.to_owned(), value.to_owned());
            }
        }
        r
    }

    async fn get(&mut self, path: &str) -> RawResponse {
        let req = Request::get(path)
            .header("cookie", self.cookie_header())
            .body(Body::empty())
            .unwrap();
        self.send(req).await
    }

    /// Posts a form with the browser's CSRF token.
    async fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> RawResponse {
        let csrf = self.csrf();
        let mut all = vec![("csrf_token", csrf.as_str())];
        all.extend_from_slice(fields);
        self.post_raw(path, &all).await
    }

    /// Posts a form as it is, with the browser's cookies.
    async fn post_raw(&mut self, path: &str, fields: &[(&str, &str)]) -> RawResponse {
        let body = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(fields)
            .finish();
        let req = Request::post(path)
            .header("cookie", self.cookie_header())
            .header("content-type", "application/x-www-form-urlencoded")
            .body(Body::from(body))
            .unwrap();
        self.send(req).await
    }

    /// Follows a 303 to its page.
    async fn follow(&mut self, r: &RawResponse) -> RawResponse {
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
        let location = r.header("location").unwrap().to_owned();
        self.get(&location).await
    }
}

/// The path of a console page of the test's instance.
fn at(app: &TestApp, rest: &str) -> String {
    format!("/console/instances/{}{rest}", app.tenant.tenant_id)
}

/// Asserts an HTML page with this status whose text holds each of `texts`.
#[track_caller]
fn assert_page(r: &RawResponse, status: StatusCode, texts: &[&str]) {
    assert_eq!(r.status, status, "{}", r.text);
    assert_eq!(r.header("content-type"), Some("text/html; charset=utf-8"));
    for text in texts {
        assert!(r.text.contains(text), "{text:?} not in {}", r.text);
    }
}

/// The text HTML escaping makes of `s`, as askama escapes it.
fn escaped(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('"', "&#34;")
        .replace('\'', "&#39;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Status of a SCIM request to `path` below the tenant's endpoint with `token`.
async fn scim_status(app: &TestApp, token: &str, path: &str) -> StatusCode {
    let req = Request::get(format!("{}{path}", app.base()))
        .header("authorization", format!("Bearer {token}"))
        .body(Body::empty())
        .unwrap();
    app.send(req).await.status
}

#[tokio::test]
async fn without_an_admin_credential_there_is_no_console() {
    let app = TestApp::with(|state| idc_scim::state::AppState {
        admin_token: None,
        ..state
    })
    .await;
    for path in ["/console", "/console/sign-in", "/console/instances"] {
        let r = app
            .send_raw(Request::get(path).body(Body::empty()).unwrap())
            .await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{path}");
    }
}

#[tokio::test]
async fn pages_need_a_session_from_the_admin_credential() {
    let app = TestApp::new().await;
    let mut browser = Browser::new(&app).await;
    let wanted = at(&app, "/users?q=a");
    let r = browser.get(&wanted).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let location = r.header("location").unwrap().to_owned();
    assert_eq!(
        location,
        format!(
            "/console/sign-in?next={}",
            form_urlencoded::byte_serialize(wanted.as_bytes()).collect::<String>()
        )
    );
    let sign_in = browser.get(&location).await;
    assert_page(
        &sign_in,
        StatusCode::OK,
        &["Admin credential", &escaped(&wanted)],
    );
    let unsigned = browser.post(&at(&app, "/tokens"), &[]).await;
    assert_page(&unsigned, StatusCode::UNAUTHORIZED, &["sign in again"]);

    let wrong = browser
        .post(
            "/console/sign-in",
            &[("credential", "not-the-credential"), ("next", &wanted)],
        )
        .await;
    assert_page(
        &wrong,
        StatusCode::UNAUTHORIZED,
        &["That is not the admin credential."],
    );
    assert!(!browser.cookies.contains_key("idc_console"));

    let right = browser
        .post(
            "/console/sign-in",
            &[("credential", ADMIN_TOKEN), ("next", &wanted)],
        )
        .await;
    assert_eq!(right.status, StatusCode::SEE_OTHER);
    assert_eq!(right.header("location"), Some(wanted.as_str()));
    let cookie = right
        .headers
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap())
        .find(|c| c.starts_with("idc_console="))
        .unwrap()
        .to_owned();
    for attribute in [
        "HttpOnly",
        "SameSite=Strict",
        "Path=/console",
        "Max-Age=43200",
    ] {
        assert!(cookie.contains(attribute), "{attribute} in {cookie}");
    }
    assert!(!cookie.contains(ADMIN_TOKEN));
    assert_page(&browser.get(&wanted).await, StatusCode::OK, &["Users"]);

    // Another page of the console only: never elsewhere.
    let away = browser
        .post(
            "/console/sign-in",
            &[("credential", ADMIN_TOKEN), ("next", "//evil.example/")],
        )
        .await;
    assert_eq!(away.header("location"), Some("/console/instances"));

    // A forged or altered session is no session.
    let session = browser.cookies["idc_console"].clone();
    let (payload, mac) = session.rsplit_once('.').unwrap();
    for forged in [
        format!("{payload}.{}", "A".repeat(mac.len())),
        "v1.9999999999999.x.y".to_owned(),
    ] {
        browser.cookies.insert("idc_console".into(), forged);
        assert_eq!(browser.get(&wanted).await.status, StatusCode::SEE_OTHER);
    }
    browser
        .cookies
        .insert("idc_console".into(), session.clone());
    assert_eq!(browser.get(&wanted).await.status, StatusCode::OK);

    // A session lasts twelve hours.
    app.clock.advance_ms(12 * 60 * 60 * 1000);
    assert_eq!(browser.get(&wanted).await.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn signing_out_forgets_the_session() {
    let app = TestApp::new().await;
    let mut browser = Browser::signed_in(&app).await;
    let page = browser.get("/console/instances").await;
    assert_page(&page, StatusCode::OK, &["Sign out"]);
    let out = browser.post("/console/sign-out", &[]).await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    assert_eq!(out.header("location"), Some("/console/sign-in"));
    assert!(
        !browser.cookies.contains_key("idc_console"),
        "the cookie is removed"
    );
    assert_eq!(
        browser.get("/console/instances").await.status,
        StatusCode::SEE_OTHER
    );
}

#[tokio::test]
async fn forms_without_the_browsers_csrf_token_are_refused() {
    let app = TestApp::new().await;
    let mut browser = Browser::signed_in(&app).await;
    let id = format!("csrf-{}", &Tenant::generate().tenant_id[..8]);
    for token in ["", "forged"] {
        let r = browser
            .post_raw(
                "/console/instances",
                &[("csrf_token", token), ("tenant_id", &id)],
            )
            .await;
        assert_page(&r, StatusCode::FORBIDDEN, &["Access denied"]);
    }
    let csrf = browser.csrf();
    let other_site = Request::post("/console/instances")
        .header("cookie", browser.cookie_header())
        .header("content-type", "application/x-www-form-urlencoded")
        .header("sec-fetch-site", "cross-site")
        .body(Body::from(format!("csrf_token={csrf}&tenant_id={id}")))
        .unwrap();
    assert_eq!(browser.send(other_site).await.status, StatusCode::FORBIDDEN);
    let r = app
        .admin(Method::GET, &format!("/tenants/{id}"), None)
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "nothing was created");
    let sign_out = browser.post_raw("/console/sign-out", &[]).await;
    assert_eq!(sign_out.status, StatusCode::FORBIDDEN);
    assert!(browser.cookies.contains_key("idc_console"));
}

#[tokio::test]
async fn instances_are_listed_created_and_deleted() {
    let app = TestApp::new().await;
    let mut browser = Browser::signed_in(&app).await;
    let t = &app.tenant;
    let list = browser.get("/console/instances").await;
    let endpoint = format!("http://localhost/{}/scim/v2/", t.tenant_id);
    let start_url = format!("http://localhost/{}/start", t.tenant_id);
    assert_page(
        &list,
        StatusCode::OK,
        &[
            &t.tenant_id,
            &t.identity_store_id,
            &endpoint,
            &start_url,
            "Create instance",
        ],
    );
    assert!(list.text.contains(r#"data-copy="endpoint-"#));

    let id = format!("acme-{}", &Tenant::generate().tenant_id[..8]);
    let created = browser
        .post("/console/instances", &[("tenant_id", &id)])
        .await;
    assert_eq!(
        created.header("location"),
        Some(format!("/console/instances/{id}?done=instance-created").as_str())
    );
    let page = browser.follow(&created).await;
    assert_page(&page, StatusCode::OK, &["The instance was created.", &id]);
    let view = app
        .admin(Method::GET, &format!("/tenants/{id}"), None)
        .await;
    assert_eq!(view.status, StatusCode::OK);
    let store_id = view.body["identityStoreId"].as_str().unwrap();
    assert!(page.text.contains(store_id));

    let again = browser
        .post("/console/instances", &[("tenant_id", &id)])
        .await;
    assert_page(
        &again,
        StatusCode::CONFLICT,
        &["Tenant already exists.", &id],
    );
    // An id that is no path segment, or the console's own, is refused.
    for id in ["no way", "console"] {
        let bad = browser
            .post("/console/instances", &[("tenant_id", id)])
            .await;
        assert_page(&bad, StatusCode::BAD_REQUEST, &["tenantId must be", id]);
    }
    let generated = browser
        .post("/console/instances", &[("tenant_id", " ")])
        .await;
    assert_eq!(generated.status, StatusCode::SEE_OTHER);

    let confirm = browser
        .get(&format!("/console/instances/{id}/delete"))
        .await;
    assert_page(&confirm, StatusCode::OK, &["Delete instance", store_id]);
    let deleted = browser
        .post(&format!("/console/instances/{id}/delete"), &[])
        .await;
    assert_eq!(
        deleted.header("location"),
        Some("/console/instances?done=instance-deleted")
    );
    let view = app
        .admin(Method::GET, &format!("/tenants/{id}"), None)
        .await;
    assert_eq!(view.status, StatusCode::NOT_FOUND);
    let gone = browser.get(&format!("/console/instances/{id}")).await;
    assert_page(&gone, StatusCode::NOT_FOUND, &["Tenant not found."]);
}

#[tokio::test]
async fn the_default_instance_cannot_be_deleted() {
    let app = TestApp::new().await;
    let default = app
        .state
        .store
        .ensure_default_tenant(&Tenant::generate(), 0)
        .await
        .unwrap();
    let mut browser = Browser::signed_in(&app).await;
    let path = format!("/console/instances/{}/delete", default.tenant_id);
    let confirm = browser.get(&path).await;
    assert_page(&confirm, StatusCode::BAD_REQUEST, &["cannot be deleted"]);
    let r = browser.post(&path, &[]).await;
    assert_page(&r, StatusCode::BAD_REQUEST, &["cannot be deleted"]);
}

/// The secret the Settings page shows once.
fn shown_token(page: &RawResponse) -> String {
    let start = page
        .text
        .find(r#"<code id="new-token">"#)
        .expect("a new token")
        + 21;
    let end = start + page.text[start..].find("</code>").unwrap();
    page.text[start..end].to_owned()
}

#[tokio::test]
async fn settings_generate_tokens_up_to_the_limit_and_switch_provisioning() {
    let app = TestApp::new().await;
    let mut browser = Browser::signed_in(&app).await;
    let settings = browser.get(&at(&app, "")).await;
    let endpoint = format!("http://localhost{}/", app.base());
    let start_url = format!("http://localhost/{}/start", app.tenant.tenant_id);
    assert_page(
        &settings,
        StatusCode::OK,
        &[
            &start_url,
            "Access tokens (1 of 2)",
            "Never",
            &endpoint,
            "Disable automatic provisioning",
        ],
    );
    assert!(
        !settings
            .text
            .contains("disabled aria-describedby=\"token-limit\"")
    );

    let generated = browser.post(&at(&app, "/tokens"), &[]).await;
    assert_page(
        &generated,
        StatusCode::CREATED,
        &[
            "Access tokens (2 of 2)",
            "only time it is shown",
            r#"data-copy="new-token""#,
        ],
    );
    assert!(
        generated
            .text
            .contains("disabled aria-describedby=\"token-limit\"")
    );
    let token = shown_token(&generated);
    assert_eq!(scim_status(&app, &token, "/Users").await, StatusCode::OK);
    let listed = browser.get(&at(&app, "")).await;
    assert!(!listed.text.contains(&token), "the secret is shown once");
    assert_eq!(
        listed.text.matches("Never").count(),
        1,
        "the new one was used"
    );

    let third = browser.post(&at(&app, "/tokens"), &[]).await;
    assert_page(&third, StatusCode::CONFLICT, &["at most 2 access tokens"]);
    assert!(!third.text.contains(r#"id="new-token""#));
    let tokens = app
        .admin(
            Method::GET,
            &format!("/tenants/{}/tokens", app.tenant.tenant_id),
            None,
        )
        .await;
    assert_eq!(tokens.body.as_array().unwrap().len(), 2);

    let off = browser
        .post(&at(&app, "/provisioning"), &[("enabled", "false")])
        .await;
    let page = browser.follow(&off).await;
    assert_page(
        &page,
        StatusCode::OK,
        &[
            "the SCIM endpoint answers as an unknown one (404)",
            "Enable automatic provisioning",
        ],
    );
    assert_eq!(
        scim_status(&app, &token, "/Users").await,
        StatusCode::NOT_FOUND
    );
    let on = browser
        .post(&at(&app, "/provisioning"), &[("enabled", "true")])
        .await;
    assert_page(
        &browser.follow(&on).await,
        StatusCode::OK,
        &["Automatic provisioning is enabled."],
    );
    assert_eq!(scim_status(&app, &token, "/Users").await, StatusCode::OK);
    let nonsense = browser
        .post(&at(&app, "/provisioning"), &[("enabled", "maybe")])
        .await;
    assert_page(&nonsense, StatusCode::UNPROCESSABLE_ENTITY, &[]);

    // Delete the generated token, after a confirmation.
    let tokens = tokens.body.as_array().unwrap().clone();
    let used: Vec<&Value> = tokens
        .iter()
        .filter(|t| t["lastUsedAt"].is_string())
        .collect();
    let token_id = used[0]["tokenId"].as_str().unwrap();
    let confirm = browser
        .get(&at(&app, &format!("/tokens/{token_id}/delete")))
        .await;
    assert_page(
        &confirm,
        StatusCode::OK,
        &["Delete access token?", token_id],
    );
    let deleted = browser
        .post(&at(&app, &format!("/tokens/{token_id}/delete")), &[])
        .await;
    assert_page(
        &browser.follow(&deleted).await,
        StatusCode::OK,
        &["Access tokens (1 of 2)"],
    );
    assert_eq!(
        scim_status(&app, &token, "/Users").await,
        StatusCode::UNAUTHORIZED
    );
    let missing = browser
        .get(&at(&app, &format!("/tokens/{token_id}/delete")))
        .await;
    assert_page(&missing, StatusCode::NOT_FOUND, &["Token not found."]);
}

#[tokio::test]
async fn users_are_searched_and_paged() {
    let app = TestApp::new().await;
    for i in 0..55 {
        app.create_user(&format!("user{i:02}@example.com")).await;
    }
    app.create_user("other@example.com").await;
    let mut browser = Browser::signed_in(&app).await;
    let first = browser.get(&at(&app, "/users")).await;
    assert_page(&first, StatusCode::OK, &["Users (56)", "Next page"]);
    let rows = |page: &RawResponse| page.text.matches("@example.com</a>").count();
    assert_eq!(rows(&first), 50);
    let next = first.text.split(r#"<a href=""#).find_map(|s| {
        s.split_once(r#"" rel="next""#)
            .map(|(href, _)| href.replace("&amp;", "&"))
    });
    let second = browser.get(&next.unwrap()).await;
    assert_page(&second, StatusCode::OK, &["First page"]);
    assert_eq!(rows(&second), 6);
    assert!(!second.text.contains("Next page"));

    let found = browser.get(&at(&app, "/users?q=USER0")).await;
    assert_page(
        &found,
        StatusCode::OK,
        &["Users (10)", "user00@example.com", "user09@example.com"],
    );
    assert!(!found.text.contains("user10@example.com"));
    let none = browser.get(&at(&app, "/users?q=%25")).await;
    assert_page(
        &none,
        StatusCode::OK,
        &["Users (0)", "No username starts with"],
    );
}

#[tokio::test]
async fn users_are_created_edited_and_deleted_through_the_scim_rules() {
    let app = TestApp::new().await;
    let mut browser = Browser::signed_in(&app).await;
    assert_page(
        &browser.get(&at(&app, "/users/new")).await,
        StatusCode::OK,
        &["Add user"],
    );
    let ann = [
        ("user_name", "ann@example.com"),
        ("email", "ann@example.com"),
        ("given_name", "Ann"),
        ("family_name", "Lee"),
        ("display_name", "Ann Lee"),
        ("title", ""),
    ];
    // Bad input is said on the page, with what was typed.
    let mut blank = ann;
    blank[2].1 = "";
    let r = browser.post(&at(&app, "/users"), &blank).await;
    assert_page(
        &r,
        StatusCode::BAD_REQUEST,
        &["name.givenName", r#"value="ann@example.com""#],
    );
    let mut reserved = ann;
    reserved[0].1 = "Administrator";
    let r = browser.post(&at(&app, "/users"), &reserved).await;
    assert_page(&r, StatusCode::BAD_REQUEST, &["is reserved"]);
    let mut long = ann;
    let name = "x".repeat(129);
    long[0].1 = &name;
    let r = browser.post(&at(&app, "/users"), &long).await;
    assert_page(&r, StatusCode::BAD_REQUEST, &["userName"]);
    assert_eq!(app.user_count().await, 0, "nothing refused was written");

    let created = browser.post(&at(&app, "/users"), &ann).await;
    let location = created.header("location").unwrap().to_owned();
    let id = location
        .strip_prefix(&at(&app, "/users/"))
        .and_then(|rest| rest.strip_suffix("?done=user-created"))
        .unwrap()
        .to_owned();
    let scim = app.get(&format!("/Users/{id}")).await.body;
    assert_eq!(scim["userName"], "ann@example.com");
    assert_eq!(
        scim["name"],
        json!({"givenName": "Ann", "familyName": "Lee"})
    );
    assert_eq!(
        scim["emails"],
        json!([{"value": "ann@example.com", "type": "work", "primary": true}])
    );
    let page = browser.follow(&created).await;
    assert_page(
        &page,
        StatusCode::OK,
        &["The user was created.", "Ann Lee", &id],
    );

    let twice = browser.post(&at(&app, "/users"), &ann).await;
    assert_page(&twice, StatusCode::CONFLICT, &["Another user has this"]);

    // An edit changes what the form holds and keeps what an identity provider wrote.
    let mut idp = user_body("bob@example.com");
    idp["addresses"] = json!([{"locality": "Oslo", "primary": true}]);
    idp["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"] =
        json!({"department": "R&D"});
    idp["externalId"] = json!("okta-1");
    let bob = app.post("/Users", idp).await.body;
    let bob_id = bob["id"].as_str().unwrap();
    let edit_path = at(&app, &format!("/users/{bob_id}/edit"));
    let form = browser.get(&edit_path).await;
    assert_page(
        &form,
        StatusCode::OK,
        &["Edit user", r#"value="bob@example.com""#, r#"value="Jane""#],
    );
    let saved = browser
        .post(
            &edit_path,
            &[
                ("user_name", "bob@example.com"),
                ("email", "robert@example.com"),
                ("given_name", "Robert"),
                ("family_name", "Doe"),
                ("display_name", "Robert Doe"),
                ("title", "Engineer"),
            ],
        )
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.text);
    let after = app.get(&format!("/Users/{bob_id}")).await.body;
    assert_eq!(after["displayName"], "Robert Doe");
    assert_eq!(after["title"], "Engineer");
    assert_eq!(after["emails"][0]["value"], "robert@example.com");
    assert_eq!(
        after["emails"][0]["type"], "work",
        "the email's type is kept"
    );
    assert_eq!(after["addresses"], bob["addresses"]);
    assert_eq!(after["externalId"], "okta-1");
    assert_eq!(
        after["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"]["department"],
        "R&D"
    );
    let page = browser.get(&at(&app, &format!("/users/{bob_id}"))).await;
    assert_page(
        &page,
        StatusCode::OK,
        &["Robert Doe", "Engineer", "okta-1", "Oslo"],
    );

    // An edit that would take Ann's name is refused, and nothing changes.
    let taken = browser
        .post(
            &edit_path,
            &[
                ("user_name", "ANN@example.com"),
                ("given_name", "R"),
                ("family_name", "D"),
                ("display_name", "R D"),
            ],
        )
        .await;
    assert_page(
        &taken,
        StatusCode::CONFLICT,
        &[
            "Another user has this username.",
            r#"value="ANN@example.com""#,
        ],
    );
    assert_eq!(app.get(&format!("/Users/{bob_id}")).await.body, after);
    let title_removed = browser
        .post(
            &edit_path,
            &[
                ("user_name", "bob@example.com"),
                ("email", ""),
                ("given_name", "Robert"),
                ("family_name", "Doe"),
                ("display_name", "Robert Doe"),
                ("title", " "),
            ],
        )
        .await;
    assert_eq!(title_removed.status, StatusCode::SEE_OTHER);
    let after = app.get(&format!("/Users/{bob_id}")).await.body;
    assert!(
        after.get("title").is_none() && after.get("emails").is_none(),
        "{after}"
    );

    let confirm = browser.get(&at(&app, &format!("/users/{id}/delete"))).await;
    assert_page(&confirm, StatusCode::OK, &["Delete user ann@example.com?"]);
    let deleted = browser
        .post(&at(&app, &format!("/users/{id}/delete")), &[])
        .await;
    assert_eq!(deleted.status, StatusCode::SEE_OTHER);
    assert_eq!(
        app.get(&format!("/Users/{id}")).await.status,
        StatusCode::NOT_FOUND
    );
    let gone = browser.get(&at(&app, &format!("/users/{id}"))).await;
    assert_page(&gone, StatusCode::NOT_FOUND, &["There is no such user."]);
    let gone = browser
        .post(&at(&app, &format!("/users/{id}/edit")), &ann)
        .await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn groups_are_created_renamed_and_deleted_through_the_scim_rules() {
    let app = TestApp::new().await;
    let mut browser = Browser::signed_in(&app).await;
    let blank = browser
        .post(&at(&app, "/groups"), &[("display_name", "  ")])
        .await;
    assert_page(&blank, StatusCode::BAD_REQUEST, &["displayName"]);
    let created = browser
        .post(&at(&app, "/groups"), &[("display_name", "Engineering")])
        .await;
    let page = browser.follow(&created).await;
    assert_page(
        &page,
        StatusCode::OK,
        &["The group was created.", "Members (0)"],
    );
    let location = created.header("location").unwrap();
    let id = location
        .strip_prefix(&at(&app, "/groups/"))
        .unwrap()
        .split('?')
        .next()
        .unwrap()
        .to_owned();
    let twice = browser
        .post(&at(&app, "/groups"), &[("display_name", "engineering")])
        .await;
    assert_page(
        &twice,
        StatusCode::CONFLICT,
        &["Another group has this name."],
    );

    let ext = app
        .post(
            "/Groups",
            json!({"displayName": "Sales", "externalId": "okta-sales"}),
        )
        .await
        .body;
    let sales = ext["id"].as_str().unwrap();
    let renamed = browser
        .post(
            &at(&app, &format!("/groups/{sales}/edit")),
            &[("display_name", "Sales EMEA")],
        )
        .await;
    assert_eq!(renamed.status, StatusCode::SEE_OTHER, "{}", renamed.text);
    let group = app.get(&format!("/Groups/{sales}")).await.body;
    assert_eq!(group["displayName"], "Sales EMEA");
    assert_eq!(
        group["externalId"], "okta-sales",
        "the rename keeps the external id"
    );
    let taken = browser
        .post(
            &at(&app, &format!("/groups/{sales}/edit")),
            &[("display_name", "ENGINEERING")],
        )
        .await;
    assert_page(
        &taken,
        StatusCode::CONFLICT,
        &["Another group has this name.", "ENGINEERING"],
    );

    let list = browser.get(&at(&app, "/groups?q=sal")).await;
    assert_page(
        &list,
        StatusCode::OK,
        &["Groups (1)", "Sales EMEA", "okta-sales"],
    );
    let confirm = browser
        .get(&at(&app, &format!("/groups/{id}/delete")))
        .await;
    assert_page(&confirm, StatusCode::OK, &["Delete group Engineering?"]);
    browser
        .post(&at(&app, &format!("/groups/{id}/delete")), &[])
        .await;
    assert_eq!(
        app.get(&format!("/Groups/{id}")).await.status,
        StatusCode::NOT_FOUND
    );
}

/// A new group of `n` new users, made through the store (several users at a time, as
/// concurrent requests would), its members added in batches of 100 as an identity provider
/// adds them. Answers the group's id and its members' ids in order.
async fn group_of(app: &TestApp, n: usize) -> (String, Vec<String>) {
    use futures_util::{StreamExt, TryStreamExt};
    let store = &app.state.store;
    let tenant = &app.tenant;
    let mut ids: Vec<String> = futures_util::stream::iter(0..n)
        .map(|i| async move {
            let body = user_body(&format!("member{i:05}@example.com"));
            let attrs = idc_scim::scim::user::UserAttrs::from_request(body).unwrap();
            store.create_user(tenant, &attrs, 0).await.map(|u| u.id)
        })
        .buffer_unordered(16)
        .try_collect()
        .await
        .unwrap();
    let attrs = idc_scim::scim::group::GroupAttrs {
        display_name: "Everyone".into(),
        external_id: None,
    };
    let none = idc_scim::scim::group::MemberChanges::default();
    let group = store.create_group(tenant, &attrs, &none, 0).await.unwrap();
    for batch in ids.chunks(100) {
        let changes = idc_scim::scim::group::MemberChanges {
            add: batch.to_vec(),
            ..Default::default()
        };
        store
            .change_members(tenant, &group.id, &changes, 0)
            .await
            .unwrap();
    }
    ids.sort();
    (group.id, ids)
}

/// The members a group page lists (user ids, from the links to their pages), and its link to
/// the next page.
fn members_of(app: &TestApp, page: &RawResponse) -> (Vec<String>, Option<String>) {
    let prefix = format!(r#"<a href="{}"#, at(app, "/users/"));
    let members = page
        .text
        .split(&prefix)
        .skip(1)
        .map(|s| s.split('"').next().unwrap().to_owned())
        .collect();
    let next = page.text.split(r#"<a href=""#).find_map(|s| {
        s.split_once(r#"" rel="next""#)
            .map(|(href, _)| href.replace("&amp;", "&"))
    });
    (members, next)
}

#[tokio::test]
async fn a_large_group_pages_through_its_members_by_keyset() {
    let app = TestApp::new().await;
    let (group, ids) = group_of(&app, 20_000).await;
    let mut browser = Browser::signed_in(&app).await;
    let first = browser.get(&at(&app, &format!("/groups/{group}"))).await;
    assert_page(&first, StatusCode::OK, &["Members (20000)", "Everyone"]);
    let (members, next) = members_of(&app, &first);
    assert_eq!(members, ids[..50]);
    // A page deep in the group is one keyset read, like the first.
    let deep = at(&app, &format!("/groups/{group}?after={}", ids[19_949]));
    let last = browser.get(&deep).await;
    let (members, after_last) = members_of(&app, &last);
    assert_eq!(members, ids[19_950..]);
    assert_eq!(after_last, None);
    assert!(last.text.contains("First page"));
    let (second, _) = members_of(&app, &browser.get(&next.unwrap()).await);
    assert_eq!(second, ids[50..100]);
}

#[tokio::test]
async fn members_are_added_by_username_and_removed() {
    let app = TestApp::new().await;
    let (group, ids) = group_of(&app, 3).await;
    let ann = app.user_id("ann@example.com").await;
    let mut browser = Browser::signed_in(&app).await;
    let members = at(&app, &format!("/groups/{group}/members"));
    let added = browser
        .post(&members, &[("user_name", "ANN@example.com")])
        .await;
    let page = browser.follow(&added).await;
    assert_page(
        &page,
        StatusCode::OK,
        &["The user was added to the group.", "Members (4)"],
    );
    let check = format!("/Groups?filter=id+eq+%22{group}%22+and+members+eq+%22{ann}%22");
    assert_eq!(app.get(&check).await.body["totalResults"], 1);
    let again = browser
        .post(&members, &[("user_name", "ann@example.com")])
        .await;
    assert_eq!(
        again.status,
        StatusCode::SEE_OTHER,
        "adding twice changes nothing"
    );

    let unknown = browser
        .post(&members, &[("user_name", "nobody@example.com")])
        .await;
    assert_page(
        &unknown,
        StatusCode::BAD_REQUEST,
        &[
            "No user has the userName",
            "nobody@example.com",
            "Members (4)",
        ],
    );
    let blank = browser.post(&members, &[("user_name", "")]).await;
    assert_page(&blank, StatusCode::BAD_REQUEST, &["Name the user to add"]);

    let user_page = browser.get(&at(&app, &format!("/users/{ann}"))).await;
    assert_page(&user_page, StatusCode::OK, &["Groups (1)", "Everyone"]);

    let removed = browser
        .post(
            &at(&app, &format!("/groups/{group}/members/{ann}/remove")),
            &[],
        )
        .await;
    let page = browser.follow(&removed).await;
    assert_page(
        &page,
        StatusCode::OK,
        &["removed from the group", "Members (3)"],
    );
    assert_eq!(app.get(&check).await.body["totalResults"], 0);
    let (listed, _) = members_of(&app, &page);
    assert_eq!(listed, ids);
    let no_group = browser
        .post(
            &at(&app, "/groups/nope/members"),
            &[("user_name", "ann@example.com")],
        )
        .await;
    assert_page(
        &no_group,
        StatusCode::NOT_FOUND,
        &["There is no such group."],
    );
}

#[tokio::test]
async fn the_journal_page_lists_filters_and_brings_what_came_since() {
    let app = TestApp::new().await;
    let mut browser = Browser::signed_in(&app).await;
    let empty = browser.get(&at(&app, "/journal")).await;
    assert_page(
        &empty,
        StatusCode::OK,
        &["No requests", "data-journal", r#"data-after="0""#],
    );

    app.create_user("ann@example.com").await;
    app.post("/Users", json!({"userName": "no-name"})).await;
    let entries = app
        .state
        .controls
        .journal
        .entries(&app.tenant.tenant_id, &Default::default());
    let (created, refused) = (entries[0].sequence, entries[1].sequence);
    let page = browser.get(&at(&app, "/journal")).await;
    assert_page(
        &page,
        StatusCode::OK,
        &[
            &format!("#{created}"),
            &format!("#{refused}"),
            &format!(r#"data-after="{refused}""#),
            "ann@example.com",
            "Bearer ****",
        ],
    );
    assert!(
        page.text.find(&format!("#{refused}")) < page.text.find(&format!("#{created}")),
        "newest first"
    );
    assert!(!page.text.contains(&app.token));

    let filtered = browser.get(&at(&app, "/journal?status=400")).await;
    assert_page(&filtered, StatusCode::OK, &[&format!("#{refused}")]);
    assert!(!filtered.text.contains(&format!("#{created}<")));
    let bad = browser.get(&at(&app, "/journal?status=abc")).await;
    assert_page(
        &bad,
        StatusCode::BAD_REQUEST,
        &["Status must be an HTTP status"],
    );

    // The live update: what came since the newest entry shown.
    let since = at(&app, &format!("/journal/entries?after={refused}"));
    let nothing = browser.get(&since).await;
    assert_eq!(nothing.status, StatusCode::OK);
    let nothing: Value = serde_json::from_str(&nothing.text).unwrap();
    assert_eq!(nothing, json!({"last": refused, "count": 0, "html": ""}));
    app.get("/Groups").await;
    let update = browser.get(&since).await;
    assert_eq!(update.header("content-type"), Some("application/json"));
    let update: Value = serde_json::from_str(&update.text).unwrap();
    assert_eq!(update["count"], 1);
    let newest = update["last"].as_u64().unwrap();
    assert!(newest > refused);
    let html = update["html"].as_str().unwrap();
    assert!(html.contains(&format!(r#"data-sequence="{newest}""#)) && html.contains("/Groups"));
    let only_posts = at(&app, "/journal/entries?method=POST&after=0");
    let posts: Value = serde_json::from_str(&browser.get(&only_posts).await.text).unwrap();
    assert_eq!(posts["count"], 2);

    let cleared = browser.post(&at(&app, "/journal/clear"), &[]).await;
    assert_page(
        &browser.follow(&cleared).await,
        StatusCode::OK,
        &["The journal was cleared.", "No requests"],
    );

    // Signed out, the update is no data.
    let mut stranger = Browser::new(&app).await;
    assert_eq!(stranger.get(&since).await.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn fault_rules_are_added_and_deleted_from_the_page() {
    let app = TestApp::new().await;
    let mut browser = Browser::signed_in(&app).await;
    let faults = at(&app, "/faults");
    let added = browser
        .post(
            &faults,
            &[
                ("method", "GET"),
                ("path", "/Users"),
                ("status", "503"),
                ("times", "1"),
            ],
        )
        .await;
    let page = browser.follow(&added).await;
    assert_page(
        &page,
        StatusCode::OK,
        &["The fault rule was added.", "Answer 503", "This instance"],
    );
    assert_eq!(
        scim_status(&app, &app.token, "/Users").await,
        StatusCode::SERVICE_UNAVAILABLE
    );
    assert_eq!(
        scim_status(&app, &app.token, "/Users").await,
        StatusCode::OK
    );
    let rule = app.state.controls.faults.list()[0].clone();
    assert_eq!(
        rule.spec.tenant_id.as_deref(),
        Some(app.tenant.tenant_id.as_str())
    );

    for (fields, message) in [
        (
            vec![("path", "/Users"), ("status", "200")],
            "The fault rule was refused: status must be an error status",
        ),
        (
            vec![("path", "/Users"), ("status", "five")],
            "status must be a number",
        ),
        (vec![("path", "/Users")], "a fault needs status"),
        (
            vec![("path", "Users"), ("drop", "on")],
            "path must start with /",
        ),
        (
            vec![("path", "/Users"), ("drop", "on"), ("probability", "2")],
            "probability must be between 0 and 1",
        ),
    ] {
        let r = browser.post(&faults, &fields).await;
        assert_page(&r, StatusCode::BAD_REQUEST, &[message]);
    }
    assert_eq!(app.state.controls.faults.list().len(), 1);

    // Another instance's rule is neither shown nor deletable here.
    let other = app
        .state
        .controls
        .faults
        .add(
            "GET /Groups status=500 tenant=someone-else"
                .parse()
                .unwrap(),
        )
        .unwrap();
    let page = browser.get(&at(&app, "/journal")).await;
    assert!(!page.text.contains("Answer 500"));
    let r = browser
        .post(&at(&app, &format!("/faults/{}/delete", other.id)), &[])
        .await;
    assert_page(&r, StatusCode::NOT_FOUND, &["no such fault rule"]);
    let r = browser.post(&at(&app, "/faults/abc/delete"), &[]).await;
    assert_page(&r, StatusCode::BAD_REQUEST, &[]);
    let deleted = browser
        .post(&at(&app, &format!("/faults/{}/delete", rule.id)), &[])
        .await;
    assert_page(
        &browser.follow(&deleted).await,
        StatusCode::OK,
        &["The fault rule was deleted.", "No fault rules."],
    );
    assert_eq!(app.state.controls.faults.list().len(), 1);
}

#[tokio::test]
async fn seed_reset_and_export_from_the_page() {
    let app = TestApp::new().await;
    let mut browser = Browser::signed_in(&app).await;
    let page = browser.get(&at(&app, "/journal")).await;
    assert_page(&page, StatusCode::OK, &["no seed yet"]);
    let no_seed = browser.post(&at(&app, "/reset"), &[("to", "seed")]).await;
    assert_page(&no_seed, StatusCode::BAD_REQUEST, &["has no seed"]);
    let bad = browser
        .post(&at(&app, "/seed"), &[("fixture", "{\"users\": [")])
        .await;
    assert_page(
        &bad,
        StatusCode::BAD_REQUEST,
        &["The fixture is not valid", "{&#34;users&#34;: ["],
    );
    let invalid = json!({"users": [{"userName": "x"}]}).to_string();
    let r = browser
        .post(&at(&app, "/seed"), &[("fixture", &invalid)])
        .await;
    assert_page(&r, StatusCode::BAD_REQUEST, &["users[0]"]);

    let fixture = json!({
        "users": [user_body("ann@example.com"), user_body("bob@example.com")],
        "groups": [{"displayName": "Engineering", "members": ["ann@example.com"]}],
    })
    .to_string();
    let seeded = browser
        .post(&at(&app, "/seed"), &[("fixture", &fixture)])
        .await;
    assert_page(
        &browser.follow(&seeded).await,
        StatusCode::OK,
        &[&escaped("kept as the instance's seed")],
    );
    assert_eq!(app.user_count().await, 2);
    app.create_user("carl@example.com").await;

    let export = browser.get(&at(&app, "/export")).await;
    assert_eq!(export.status, StatusCode::OK);
    assert_eq!(
        export.header("content-disposition"),
        Some(format!("attachment; filename=\"{}.json\"", app.tenant.tenant_id).as_str())
    );
    let exported: Value = serde_json::from_str(&export.text).unwrap();
    assert_eq!(exported["users"].as_array().unwrap().len(), 3);
    assert_eq!(exported["groups"][0]["members"], json!(["ann@example.com"]));

    let to_seed = browser.post(&at(&app, "/reset"), &[("to", "seed")]).await;
    assert_page(
        &browser.follow(&to_seed).await,
        StatusCode::OK,
        &["The instance was reset."],
    );
    assert_eq!(app.user_count().await, 2);
    let nonsense = browser
        .post(&at(&app, "/reset"), &[("to", "yesterday")])
        .await;
    assert_page(
        &nonsense,
        StatusCode::BAD_REQUEST,
        &["to must be empty or seed"],
    );
    let to_empty = browser.post(&at(&app, "/reset"), &[("to", "empty")]).await;
    assert_eq!(to_empty.status, StatusCode::SEE_OTHER);
    assert_eq!(app.user_count().await, 0);
}

#[tokio::test]
async fn unknown_instances_and_resources_are_pages_not_errors_of_ours() {
    let app = TestApp::new().await;
    let mut browser = Browser::signed_in(&app).await;
    for path in [
        "/console/instances/nope".to_owned(),
        "/console/instances/nope/users".to_owned(),
        "/console/instances/nope/journal".to_owned(),
        at(&app, "/users/nope"),
        at(&app, "/groups/nope"),
        at(&app, "/groups/nope/edit"),
        at(&app, "/nothing-here"),
    ] {
        let r = browser.get(&path).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{path}");
        assert_eq!(
            r.header("content-type"),
            Some("text/html; charset=utf-8"),
            "{path}"
        );
    }
    let r = browser.get(&at(&app, "/users?after=%FF")).await;
    assert!(
        r.status.is_client_error() || r.status == StatusCode::OK,
        "{}",
        r.status
    );
    assert_ne!(r.status, StatusCode::INTERNAL_SERVER_ERROR);
}

/// Calls an sso-admin operation on the app's instance, signed as the AWS SDKs sign it.
async fn sso_admin(app: &TestApp, operation: &str, mut body: Value) -> Value {
    use idc_scim::clock::Clock;
    let instance = idc_scim::sso::instance_id(&app.tenant.identity_store_id);
    body["InstanceArn"] = json!(idc_scim::sso::instance_arn(&instance));
    let target = format!("SWBExternalService.{operation}");
    let req = crate::helpers::signed_aws(
        &target,
        "sso",
        &body,
        crate::helpers::SECRET,
        app.clock.now_ms(),
    );
    crate::helpers::ok(app.send(req).await)
}

#[tokio::test]
async fn accounts_permission_sets_and_assignments() {
    let app = TestApp::new().await;
    let mut browser = Browser::signed_in(&app).await;
    let accounts = at(&app, "/accounts");
    let dev = [
        ("account_id", "111111111111"),
        ("name", "Development"),
        ("email", "root@example.com"),
    ];
    for (field, value, message) in [
        ("account_id", "1234", "accountId"),
        ("email", "not-an-email", "email"),
        ("name", "", "name"),
    ] {
        let mut bad = dev;
        bad.iter_mut().find(|(f, _)| *f == field).unwrap().1 = value;
        let r = browser.post(&accounts, &bad).await;
        assert_page(&r, StatusCode::BAD_REQUEST, &[message, "Declare account"]);
    }
    let declared = browser.post(&accounts, &dev).await;
    assert_page(
        &browser.follow(&declared).await,
        StatusCode::OK,
        &[
            "The account was declared.",
            "Development",
            "No user or group is assigned",
        ],
    );
    let twice = browser.post(&accounts, &dev).await;
    assert_page(&twice, StatusCode::CONFLICT, &["Account already exists."]);

    let sets = at(&app, "/permission-sets");
    for (fields, status, message) in [
        (
            vec![("name", "Admin Access")],
            StatusCode::BAD_REQUEST,
            "name",
        ),
        (
            vec![("name", "Admin"), ("session_duration", "PT13H")],
            StatusCode::BAD_REQUEST,
            "SessionDuration PT13H is out of range",
        ),
    ] {
        let r = browser.post(&sets, &fields).await;
        assert_page(&r, status, &[message]);
    }
    let created = browser
        .post(
            &sets,
            &[
                ("name", "AdministratorAccess"),
                ("description", "All of it"),
                ("session_duration", "PT8H"),
            ],
        )
        .await;
    assert_page(
        &browser.follow(&created).await,
        StatusCode::OK,
        &[
            "The permission set was created.",
            "AdministratorAccess",
            "All of it",
            "PT8H",
        ],
    );
    let twice = browser
        .post(&sets, &[("name", "AdministratorAccess")])
        .await;
    assert_page(
        &twice,
        StatusCode::CONFLICT,
        &["A permission set named AdministratorAccess exists already."],
    );
    let listed = sso_admin(&app, "ListPermissionSets", json!({})).await;
    let arn = listed["PermissionSets"][0].as_str().unwrap().to_owned();
    let set_id = arn.rsplit('/').next().unwrap().to_owned();

    // Assign a user and a group, by name.
    let ann = app.user_id("ann@example.com").await;
    let group = app
        .post("/Groups", json!({"displayName": "Admins"}))
        .await
        .body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let assign = at(&app, "/accounts/111111111111/assignments");
    for (kind, name) in [("USER", "ANN@example.com"), ("GROUP", "admins")] {
        let r = browser
            .post(
                &assign,
                &[
                    ("principal_type", kind),
                    ("principal_name", name),
                    ("permission_set", &set_id),
                ],
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    }
    let unknown = browser
        .post(
            &assign,
            &[
                ("principal_type", "USER"),
                ("principal_name", "nobody@example.com"),
                ("permission_set", &set_id),
            ],
        )
        .await;
    assert_page(
        &unknown,
        StatusCode::BAD_REQUEST,
        &["No user has the userName", r#"value="nobody@example.com""#],
    );
    let no_set = browser
        .post(
            &assign,
            &[
                ("principal_type", "USER"),
                ("principal_name", "ann@example.com"),
                ("permission_set", "ps-0000000000000000"),
            ],
        )
        .await;
    assert_page(
        &no_set,
        StatusCode::BAD_REQUEST,
        &[&escaped("Choose one of the instance's permission sets.")],
    );
    let undeclared = browser
        .post(
            &at(&app, "/accounts/999999999999/assignments"),
            &[
                ("principal_type", "USER"),
                ("principal_name", "ann@example.com"),
                ("permission_set", &set_id),
            ],
        )
        .await;
    assert_page(&undeclared, StatusCode::NOT_FOUND, &["not declared"]);

    let page = browser.get(&at(&app, "/accounts/111111111111")).await;
    assert_page(
        &page,
        StatusCode::OK,
        &[
            "AdministratorAccess",
            "ann@example.com",
            "Admins",
            "Remove access",
        ],
    );
    let listed = sso_admin(
        &app,
        "ListAccountAssignments",
        json!({"AccountId": "111111111111", "PermissionSetArn": arn}),
    )
    .await;
    let mut principals: Vec<(String, String)> = listed["AccountAssignments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["PrincipalType"].as_str().unwrap().to_owned(),
                a["PrincipalId"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    principals.sort();
    assert_eq!(
        principals,
        [
            ("GROUP".to_owned(), group.clone()),
            ("USER".to_owned(), ann.clone())
        ]
    );
    let statuses = sso_admin(&app, "ListAccountAssignmentCreationStatus", json!({})).await;
    assert_eq!(
        statuses["AccountAssignmentsCreationStatus"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    let user_page = browser.get(&at(&app, &format!("/users/{ann}"))).await;
    assert_page(
        &user_page,
        StatusCode::OK,
        &[
            "AWS account access",
            "Development",
            "111111111111",
            "AdministratorAccess",
        ],
    );
    let group_page = browser.get(&at(&app, &format!("/groups/{group}"))).await;
    assert_page(
        &group_page,
        StatusCode::OK,
        &["Development", "AdministratorAccess"],
    );

    // An assigned permission set stays; without assignments it goes.
    let delete_set = at(&app, &format!("/permission-sets/{set_id}/delete"));
    let in_use = browser.post(&delete_set, &[]).await;
    assert_page(
        &in_use,
        StatusCode::CONFLICT,
        &["remove its assignments first"],
    );
    let remove = at(&app, "/accounts/111111111111/assignments/remove");
    for (kind, id) in [("USER", &ann), ("GROUP", &group)] {
        let r = browser
            .post(
                &remove,
                &[
                    ("permission_set", &set_id),
                    ("principal_type", kind),
                    ("principal_id", id),
                ],
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    }
    let again = browser
        .post(
            &remove,
            &[
                ("permission_set", &set_id),
                ("principal_type", "USER"),
                ("principal_id", &ann),
            ],
        )
        .await;
    assert_page(&again, StatusCode::NOT_FOUND, &["Assignment not found."]);
    let user_page = browser.get(&at(&app, &format!("/users/{ann}"))).await;
    assert_page(&user_page, StatusCode::OK, &["No account assignments"]);
    let deleted = browser.post(&delete_set, &[]).await;
    assert_page(
        &browser.follow(&deleted).await,
        StatusCode::OK,
        &["The permission set was deleted.", "No permission sets."],
    );

    let removed = browser
        .post(&at(&app, "/accounts/111111111111/delete"), &[])
        .await;
    assert_page(
        &browser.follow(&removed).await,
        StatusCode::OK,
        &["No accounts declared."],
    );
    let gone = browser.get(&at(&app, "/accounts/111111111111")).await;
    assert_page(&gone, StatusCode::NOT_FOUND, &["Account not found."]);
}

/// In the `rfc` profile a user may have several emails: the form edits the primary one and
/// keeps the others.
#[tokio::test]
async fn an_edit_keeps_the_emails_the_form_does_not_show() {
    let app = TestApp::with(|state| idc_scim::state::AppState {
        profile: idc_scim::scim::Profile::Rfc,
        ..state
    })
    .await;
    let mut body = user_body("ann@example.com");
    body["emails"] = json!([
        {"value": "ann@home.example", "type": "home"},
        {"value": "ann@example.com", "type": "work", "primary": true},
    ]);
    let created = app.post("/Users", body).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let id = created.body["id"].as_str().unwrap();
    let mut browser = Browser::signed_in(&app).await;
    let edit = at(&app, &format!("/users/{id}/edit"));
    let form = browser.get(&edit).await;
    assert_page(&form, StatusCode::OK, &[r#"value="ann@example.com""#]);
    let fields = [
        ("user_name", "ann@example.com"),
        ("email", "ann.lee@example.com"),
        ("given_name", "Ann"),
        ("family_name", "Lee"),
        ("display_name", "Ann Lee"),
    ];
    let saved = browser.post(&edit, &fields).await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.text);
    let after = app.get(&format!("/Users/{id}")).await.body;
    assert_eq!(
        after["emails"],
        json!([
            {"value": "ann@home.example", "type": "home"},
            {"value": "ann.lee@example.com", "type": "work", "primary": true},
        ])
    );
    let mut without = fields;
    without[1].1 = "";
    let saved = browser.post(&edit, &without).await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.text);
    let after = app.get(&format!("/Users/{id}")).await.body;
    assert_eq!(
        after["emails"],
        json!([{"value": "ann@home.example", "type": "home"}])
    );
}

/// Every page of the console asks for a session, and every form for one and for the
/// browser's CSRF token: nothing is changed without both.
#[tokio::test]
async fn every_page_needs_a_session_and_every_form_its_csrf_token() {
    let app = TestApp::new().await;
    let user = app.user_id("ann@example.com").await;
    let group = app.post("/Groups", json!({"displayName": "G"})).await.body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let token = app
        .admin(
            Method::GET,
            &format!("/tenants/{}/tokens", app.tenant.tenant_id),
            None,
        )
        .await
        .body[0]["tokenId"]
        .as_str()
        .unwrap()
        .to_owned();
    let pages: Vec<String> = [
        "",
        "/delete",
        "/users",
        "/users/new",
        &format!("/users/{user}"),
        &format!("/users/{user}/edit"),
        &format!("/users/{user}/delete"),
        "/groups",
        "/groups/new",
        &format!("/groups/{group}"),
        &format!("/groups/{group}/edit"),
        &format!("/groups/{group}/delete"),
        "/accounts",
        "/accounts/111111111111",
        "/permission-sets",
        "/journal",
        "/journal/entries?after=0",
        "/export",
        &format!("/tokens/{token}/delete"),
        "/access-keys/AKIAAAAAAAAAAAAAAAAA/delete",
    ]
    .iter()
    .map(|rest| at(&app, rest))
    .chain(["/console".to_owned(), "/console/instances".to_owned()])
    .collect();
    let forms: Vec<String> = [
        "/delete",
        "/provisioning",
        "/tokens",
        &format!("/tokens/{token}/delete"),
        "/access-keys",
        "/access-keys/AKIAAAAAAAAAAAAAAAAA/delete",
        "/users",
        &format!("/users/{user}/edit"),
        &format!("/users/{user}/delete"),
        "/groups",
        &format!("/groups/{group}/edit"),
        &format!("/groups/{group}/delete"),
        &format!("/groups/{group}/members"),
        &format!("/groups/{group}/members/{user}/remove"),
        "/accounts",
        "/accounts/111111111111/delete",
        "/accounts/111111111111/assignments",
        "/accounts/111111111111/assignments/remove",
        "/permission-sets",
        "/permission-sets/ps-0123456789abcdef/delete",
        "/journal/clear",
        "/faults",
        "/faults/1/delete",
        "/seed",
        "/reset",
    ]
    .iter()
    .map(|rest| at(&app, rest))
    .chain([
        "/console/instances".to_owned(),
        "/console/sign-out".to_owned(),
    ])
    .collect();

    let mut stranger = Browser::new(&app).await;
    for page in &pages {
        let r = stranger.get(page).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{page}");
        let location = r.header("location").unwrap();
        assert!(
            location.starts_with("/console/sign-in?next="),
            "{page}: {location}"
        );
    }
    for form in forms.iter().filter(|f| !f.ends_with("/sign-out")) {
        let r = stranger.post(form, &[]).await;
        assert_page(&r, StatusCode::UNAUTHORIZED, &["Signed out"]);
    }

    let mut browser = Browser::signed_in(&app).await;
    for form in &forms {
        let r = browser.post_raw(form, &[("csrf_token", "forged")]).await;
        assert_page(&r, StatusCode::FORBIDDEN, &["Access denied"]);
    }
    assert_eq!(
        app.get(&format!("/Users/{user}")).await.status,
        StatusCode::OK
    );
    assert_eq!(
        app.get(&format!("/Groups/{group}")).await.status,
        StatusCode::OK
    );
    assert_eq!(
        scim_status(&app, &app.token, "/Users").await,
        StatusCode::OK
    );
}

/// The text of the element with this id on a page (a `ui::copyable` value).
fn copyable(page: &RawResponse, id: &str) -> String {
    let start = page.text.find(&format!(r#"<code id="{id}">"#)).expect(id) + id.len() + 12;
    let end = start + page.text[start..].find("</code>").unwrap();
    page.text[start..end].to_owned()
}

/// An Identity Store request of the app's tenant signed with an access key: its status.
async fn signed_with(app: &TestApp, key: (&str, &str)) -> StatusCode {
    use idc_scim::clock::Clock;
    let body = json!({"IdentityStoreId": app.tenant.identity_store_id});
    let scope = idc_scim::aws::sigv4::Scope {
        region: "us-east-1",
        service: "identitystore",
    };
    let req = crate::helpers::signed_aws_as(
        "AWSIdentityStore.ListUsers",
        &body,
        key,
        app.clock.now_ms(),
        scope,
    );
    app.send(req).await.status
}

#[tokio::test]
async fn settings_create_aws_access_keys_up_to_the_limit_and_delete_them() {
    let app = TestApp::with(|state| idc_scim::state::AppState {
        aws_auth: idc_scim::auth::AwsAuth::Verify,
        ..state
    })
    .await;
    let mut browser = Browser::signed_in(&app).await;
    let settings = browser.get(&at(&app, "")).await;
    assert_page(
        &settings,
        StatusCode::OK,
        &["AWS access keys (0 of 2)", "No access keys."],
    );

    let created = browser.post(&at(&app, "/access-keys"), &[]).await;
    assert_page(
        &created,
        StatusCode::CREATED,
        &["AWS access keys (1 of 2)", "only time it is shown"],
    );
    let id = copyable(&created, "new-access-key-id");
    let secret = copyable(&created, "new-secret-access-key");
    assert!(
        id.starts_with("AKIA") && secret.len() == 40,
        "{id} {secret}"
    );
    assert_eq!(signed_with(&app, (&id, &secret)).await, StatusCode::OK);
    let listed = browser.get(&at(&app, "")).await;
    assert!(
        listed.text.contains(&id) && !listed.text.contains(&secret),
        "the secret is shown once"
    );

    let second = browser.post(&at(&app, "/access-keys"), &[]).await;
    assert_page(
        &second,
        StatusCode::CREATED,
        &[
            "AWS access keys (2 of 2)",
            r#"disabled aria-describedby="key-limit""#,
        ],
    );
    let third = browser.post(&at(&app, "/access-keys"), &[]).await;
    assert_page(&third, StatusCode::CONFLICT, &["at most 2 access keys"]);
    assert!(!third.text.contains("new-secret-access-key"));

    let delete = at(&app, &format!("/access-keys/{id}/delete"));
    assert_page(
        &browser.get(&delete).await,
        StatusCode::OK,
        &["Delete AWS access key?", &id],
    );
    let deleted = browser.post(&delete, &[]).await;
    assert_page(
        &browser.follow(&deleted).await,
        StatusCode::OK,
        &[
            "AWS access keys (1 of 2)",
            "requests signed with it are refused",
        ],
    );
    assert_ne!(signed_with(&app, (&id, &secret)).await, StatusCode::OK);
    assert_page(
        &browser.get(&delete).await,
        StatusCode::NOT_FOUND,
        &["Access key not found."],
    );
}
