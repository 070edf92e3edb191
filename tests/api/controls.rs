//! The controls of a connector's test suite: seed, reset, export, the request journal,
//! throttling and fault injection.

use std::time::Duration;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use idc_scim::controls::throttle::Limit;
use idc_scim::controls::{Controls, Journal, Throttle};
use idc_scim::state::AppState;
use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_error, user_body};

fn tenant_path(app: &TestApp, rest: &str) -> String {
    format!("/tenants/{}{rest}", app.tenant.tenant_id)
}

fn fixture() -> Value {
    json!({
        "users": [user_body("ann@example.com"), user_body("bob@example.com")],
        "groups": [
            {"displayName": "Engineering", "externalId": "eng", "members": ["ann@example.com", "BOB@example.com"]},
            {"displayName": "Empty"},
        ],
    })
}

#[tokio::test]
async fn a_seeded_tenant_serves_its_fixture_and_resets() {
    let app = TestApp::new().await;
    let r = app
        .admin(Method::POST, &tenant_path(&app, "/seed"), Some(fixture()))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body, json!({"users": 2, "groups": 2, "memberships": 2}));
    assert_eq!(app.user_count().await, 2);
    let eng = app
        .get("/Groups?filter=displayName+eq+%22Engineering%22")
        .await
        .body;
    let eng_id = eng["Resources"][0]["id"].as_str().unwrap().to_owned();
    assert_eq!(eng["Resources"][0]["externalId"], "eng");
    let members = app
        .get(&format!("/Users?filter=groups.value+eq+%22{eng_id}%22"))
        .await;
    assert_eq!(members.body["totalResults"], 2);

    // Changes, then a reset to the seed: the fixture again, nothing else.
    app.create_user("extra@example.com").await;
    let r = app
        .admin(Method::POST, &tenant_path(&app, "/reset?to=seed"), None)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["users"], 2);
    assert_eq!(app.user_count().await, 2);
    let q = app
        .get("/Users?filter=userName+eq+%22extra@example.com%22")
        .await;
    assert_eq!(q.body["totalResults"], 0);

    // Export gives the same fixture back (with ids), and it loads into another tenant.
    let exported = app
        .admin(Method::GET, &tenant_path(&app, "/export"), None)
        .await
        .body;
    let users: Vec<&str> = exported["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["userName"].as_str().unwrap())
        .collect();
    assert_eq!(users.len(), 2);
    assert!(users.contains(&"ann@example.com") && users.contains(&"bob@example.com"));
    let eng = exported["groups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["displayName"] == "Engineering")
        .unwrap();
    let mut members: Vec<&str> = eng["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m.as_str().unwrap())
        .collect();
    members.sort();
    assert_eq!(members, ["ann@example.com", "bob@example.com"]);
    let other = app.admin(Method::POST, "/tenants", None).await.body;
    let other_id = other["tenantId"].as_str().unwrap();
    let r = app
        .admin(
            Method::POST,
            &format!("/tenants/{other_id}/seed"),
            Some(exported),
        )
        .await;
    assert_eq!(r.body, json!({"users": 2, "groups": 2, "memberships": 2}));

    // Reset to empty.
    let r = app
        .admin(Method::POST, &tenant_path(&app, "/reset"), None)
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(app.user_count().await, 0);
    assert_eq!(app.get("/Groups").await.body["totalResults"], 0);
    // The token survives a reset.
    assert_eq!(app.get("/Users").await.status, StatusCode::OK);
}

#[tokio::test]
async fn a_bad_fixture_is_refused_whole() {
    let app = TestApp::new().await;
    let mut bad_user = user_body("x@example.com");
    bad_user.as_object_mut().unwrap().remove("displayName");
    for (fixture, detail) in [
        (
            json!({"users": [user_body("ok@example.com"), bad_user]}),
            "users[1]",
        ),
        (
            json!({"users": [user_body("a@example.com"), user_body("A@example.com")]}),
            "twice",
        ),
        (
            json!({"groups": [{"displayName": "G", "members": ["nobody@example.com"]}]}),
            "nobody",
        ),
        (json!({"groups": [{"members": []}]}), "groups[0]"),
        (json!({"people": []}), "unknown field `people`"),
    ] {
        let r = app
            .admin(
                Method::POST,
                &tenant_path(&app, "/seed"),
                Some(fixture.clone()),
            )
            .await;
        assert_error(&r, 400, detail);
    }
    assert_eq!(
        app.user_count().await,
        0,
        "nothing of a refused fixture is loaded"
    );
    let r = app
        .admin(Method::POST, &tenant_path(&app, "/reset?to=seed"), None)
        .await;
    assert_error(&r, 400, "no seed");
    let r = app
        .admin(
            Method::POST,
            &tenant_path(&app, "/reset?to=yesterday"),
            None,
        )
        .await;
    assert_error(&r, 400, "to must be empty or seed");
    let r = app
        .admin(Method::POST, "/tenants/nope/seed", Some(fixture()))
        .await;
    assert_error(&r, 404, "Tenant not found.");
}

#[tokio::test]
async fn the_journal_shows_the_exact_requests_of_a_sync() {
    let app = TestApp::new().await;
    // A scripted sync: lookup, create, patch, a failure, a 401.
    app.get("/Users?filter=userName+eq+%22jane@example.com%22")
        .await;
    let created = app.create_user("jane@example.com").await;
    let id = created["id"].as_str().unwrap();
    let ops = json!([{"op": "Replace", "path": "active", "value": "False"}]);
    app.patch(&format!("/Users/{id}"), ops.clone()).await;
    app.post("/Users", json!({"userName": "bad"})).await;
    let unauthorized = Request::get(format!("{}/Users", app.base()))
        .header("authorization", "Bearer wrong-secret")
        .body(Body::empty())
        .unwrap();
    app.send(unauthorized).await;

    let entries = app
        .admin(Method::GET, &tenant_path(&app, "/journal"), None)
        .await
        .body;
    let seen: Vec<(String, String, u64)> = entries
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["method"].as_str().unwrap().to_owned(),
                e["path"].as_str().unwrap().to_owned(),
                e["status"].as_u64().unwrap(),
            )
        })
        .collect();
    let user_path = format!("/Users/{id}");
    assert_eq!(
        seen,
        [
            ("GET".to_owned(), "/Users".to_owned(), 200),
            ("POST".to_owned(), "/Users".to_owned(), 201),
            ("PATCH".to_owned(), user_path.clone(), 200),
            ("POST".to_owned(), "/Users".to_owned(), 400),
            ("GET".to_owned(), "/Users".to_owned(), 401),
        ]
    );
    let e = &entries.as_array().unwrap();
    assert_eq!(e[0]["query"], "filter=userName+eq+%22jane@example.com%22");
    assert_eq!(e[1]["body"]["userName"], "jane@example.com");
    assert_eq!(e[1]["responseBody"]["id"], json!(id));
    assert_eq!(e[2]["body"]["Operations"], ops);
    assert_eq!(
        e[3]["responseBody"]["status"], "400",
        "error bodies are journaled as sent"
    );
    assert_eq!(e[1]["headers"]["authorization"], "Bearer ****");
    assert_eq!(e[4]["headers"]["authorization"], "Bearer ****");
    assert!(
        !entries.to_string().contains(&app.token),
        "the token is masked"
    );
    assert!(e[1]["requestId"].as_str().is_some_and(|r| !r.is_empty()));
    assert_eq!(
        e[1]["requestId"], e[1]["headers"]["x-amzn-requestid"],
        "the entry's id is the one its request was given"
    );
    assert!(e[0]["sequence"].as_u64() < e[1]["sequence"].as_u64());

    // Filters.
    let patches = app
        .admin(
            Method::GET,
            &tenant_path(&app, "/journal?method=patch"),
            None,
        )
        .await
        .body;
    assert_eq!(patches.as_array().unwrap().len(), 1);
    let failures = app
        .admin(Method::GET, &tenant_path(&app, "/journal?status=400"), None)
        .await
        .body;
    assert_eq!(failures.as_array().unwrap().len(), 1);
    let under = app
        .admin(
            Method::GET,
            &tenant_path(&app, "/journal?path=/Users/*"),
            None,
        )
        .await
        .body;
    assert_eq!(under.as_array().unwrap().len(), 1);
    // What came since an earlier read.
    let since = |after: &Value| tenant_path(&app, &format!("/journal?after={after}"));
    let newer = app
        .admin(Method::GET, &since(&e[2]["sequence"]), None)
        .await;
    let newer: Vec<_> = newer
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["sequence"].clone())
        .collect();
    assert_eq!(newer, [e[3]["sequence"].clone(), e[4]["sequence"].clone()]);
    let none = app
        .admin(Method::GET, &since(&e[4]["sequence"]), None)
        .await;
    assert_eq!(none.body, json!([]));
    // Clearing.
    let r = app
        .admin(Method::DELETE, &tenant_path(&app, "/journal"), None)
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let entries = app
        .admin(Method::GET, &tenant_path(&app, "/journal"), None)
        .await
        .body;
    assert_eq!(entries, json!([]));
    // Requests to made-up tenants are not journaled anywhere.
    let made_up = Request::get("/made-up/scim/v2/Users")
        .header("authorization", "Bearer x")
        .body(Body::empty())
        .unwrap();
    assert_eq!(app.send(made_up).await.status, StatusCode::NOT_FOUND);
    let entries = app
        .admin(Method::GET, &tenant_path(&app, "/journal"), None)
        .await
        .body;
    assert_eq!(entries, json!([]));
}

/// A test app whose controls are set up by the test.
async fn app_with(controls: Controls) -> TestApp {
    TestApp::with(|state| AppState { controls, ..state }).await
}

#[tokio::test]
async fn the_journal_is_a_bounded_ring() {
    let app = app_with(Controls {
        journal: Journal::new(3),
        ..Controls::default()
    })
    .await;
    for i in 0..5 {
        app.get(&format!("/Users?count={}", i + 1)).await;
    }
    let entries = app
        .state
        .controls
        .journal
        .entries(&app.tenant.tenant_id, &Default::default());
    let queries: Vec<_> = entries.iter().map(|e| e.query.clone().unwrap()).collect();
    assert_eq!(queries, ["count=3", "count=4", "count=5"]);
    let off = app_with(Controls {
        journal: Journal::new(0),
        ..Controls::default()
    })
    .await;
    off.get("/Users").await;
    assert!(
        off.state
            .controls
            .journal
            .entries(&off.tenant.tenant_id, &Default::default())
            .is_empty()
    );
}

#[tokio::test]
async fn throttling_answers_429_past_the_limit_and_recovers() {
    let limit = Limit {
        rate: 2.0,
        burst: 3.0,
    };
    let app = app_with(Controls {
        throttle: Throttle::new(Some(limit)),
        ..Controls::default()
    })
    .await;
    for _ in 0..3 {
        assert_eq!(app.get("/Users").await.status, StatusCode::OK);
    }
    let r = app.get("/Users").await;
    assert_error(&r, 429, "Too many requests");
    assert_eq!(r.header("retry-after"), Some("1"));
    // Another tenant is not affected.
    let (other, token) = crate::helpers::add_tenant(&app.state.store).await;
    let req = Request::get(format!("/{}/scim/v2/Users", other.tenant_id))
        .header("authorization", format!("Bearer {token}"))
        .body(Body::empty())
        .unwrap();
    assert_eq!(app.send(req).await.status, StatusCode::OK);
    app.clock.advance_ms(500);
    assert_eq!(app.get("/Users").await.status, StatusCode::OK, "recovered");
    assert_eq!(
        app.get("/Users").await.status,
        StatusCode::TOO_MANY_REQUESTS
    );
}

#[tokio::test]
async fn injected_faults_hit_only_the_matching_requests_as_often_as_asked() {
    let app = TestApp::new().await;
    let g = app.post("/Groups", json!({"displayName": "G"})).await.body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let u = app.create_user("u@example.com").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let rule = json!({"method": "PATCH", "path": "/Groups/*", "status": 500, "times": 2});
    let r = app.admin(Method::POST, "/faults", Some(rule)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let rule_id = r.body["id"].as_u64().unwrap();
    let add = json!([{"op": "add", "path": "members", "value": [{"value": u}]}]);
    let path = format!("/Groups/{g}");
    assert_error(&app.patch(&path, add.clone()).await, 500, "Service failed");
    // Other methods and paths are untouched.
    assert_eq!(app.get(&path).await.status, StatusCode::OK);
    let user_patch = json!([{"op": "replace", "path": "title", "value": "t"}]);
    assert_eq!(
        app.patch(&format!("/Users/{u}"), user_patch).await.status,
        StatusCode::OK
    );
    assert_error(
        &app.patch(&path, add.clone()).await,
        500,
        "Service failed to process the request.",
    );
    // Exhausted: the third goes through, and the faulted ones changed nothing.
    assert_eq!(
        app.patch(&path, add.clone()).await.status,
        StatusCode::NO_CONTENT
    );
    let listed = app.admin(Method::GET, "/faults", None).await.body;
    assert_eq!(listed[0]["hits"], 2);
    assert_eq!(listed[0]["remaining"], 0);
    assert_eq!(
        app.admin(Method::DELETE, &format!("/faults/{rule_id}"), None)
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    assert_error(
        &app.admin(Method::DELETE, &format!("/faults/{rule_id}"), None)
            .await,
        404,
        "Fault rule not found.",
    );

    // Other statuses carry AWS's body; 429 carries Retry-After.
    app.admin(
        Method::POST,
        "/faults",
        Some(json!({"path": "/Users", "status": 503, "times": 1})),
    )
    .await;
    assert_error(&app.get("/Users").await, 503, "Service Unavailable");
    app.admin(
        Method::POST,
        "/faults",
        Some(json!({"path": "/Users", "status": 429, "times": 1})),
    )
    .await;
    let r = app.get("/Users").await;
    assert_error(&r, 429, "Too many requests exceeded the limits.");
    assert_eq!(r.header("retry-after"), Some("1"));
    assert_eq!(app.get("/Users").await.status, StatusCode::OK);
    // Refused rules.
    for (bad, detail) in [
        (
            json!({"path": "/Users"}),
            "a fault needs status, latencyMs or drop",
        ),
        (
            json!({"path": "/Users", "status": 200}),
            "status must be an error status, 400 to 599",
        ),
        (
            json!({"path": "/Users", "drop": true, "status": 500}),
            "a fault either drops the connection or answers a status",
        ),
        (
            json!({"path": "/Users", "probability": 1.5, "drop": true}),
            "probability must be between 0 and 1",
        ),
        (
            json!({"path": "/Users", "colour": "red", "drop": true}),
            "unknown field `colour`",
        ),
    ] {
        assert_error(
            &app.admin(Method::POST, "/faults", Some(bad)).await,
            400,
            detail,
        );
    }
    assert_eq!(
        app.admin(Method::DELETE, "/faults", None).await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        app.admin(Method::GET, "/faults", None).await.body,
        json!([])
    );
}

#[tokio::test]
async fn injected_latency_delays_the_answer() {
    let app = TestApp::new().await;
    let rule = json!({"method": "GET", "path": "/Users", "latencyMs": 300, "times": 1});
    app.admin(Method::POST, "/faults", Some(rule)).await;
    let started = std::time::Instant::now();
    assert_eq!(app.get("/Users").await.status, StatusCode::OK);
    assert!(started.elapsed() >= Duration::from_millis(300));
    let listed = app.admin(Method::GET, "/faults", None).await.body;
    assert_eq!(
        listed[0]["hits"], 1,
        "the next request is not delayed: the rule is used up"
    );
    assert_eq!(listed[0]["remaining"], 0);
}

#[tokio::test]
async fn a_dropped_connection_reaches_the_client_as_a_connection_error() {
    let app = TestApp::new().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(idc_scim::app::serve(
        listener,
        app.state.clone(),
        std::future::pending(),
    ));
    let body = json!({"path": "/Users", "method": "POST", "drop": true, "times": 1});
    app.admin(Method::POST, "/faults", Some(body)).await;
    let client = reqwest::Client::new();
    let url = format!("http://{addr}{}/Users", app.base());
    let send = || {
        client
            .post(&url)
            .bearer_auth(&app.token)
            .header("content-type", "application/scim+json")
            .body(user_body("drop@example.com").to_string())
            .send()
    };
    let dropped = match send().await {
        Err(_) => true,
        Ok(r) => r.bytes().await.is_err(),
    };
    assert!(dropped, "the first POST gets no complete answer");
    let r = send().await.unwrap();
    assert_eq!(r.status(), 201, "the rule is used up");
    server.abort();
}

#[tokio::test]
async fn probabilistic_faults_repeat_with_their_seed() {
    let app = TestApp::new().await;
    let statuses = |seed: u64| {
        let app = &app;
        async move {
            app.admin(Method::DELETE, "/faults", None).await;
            let rule = json!({"path": "/ServiceProviderConfig", "status": 503, "probability": 0.5, "seed": seed});
            app.admin(Method::POST, "/faults", Some(rule)).await;
            let mut out = Vec::new();
            for _ in 0..40 {
                out.push(app.get("/ServiceProviderConfig").await.status.as_u16());
            }
            out
        }
    };
    let first = statuses(7).await;
    assert_eq!(first, statuses(7).await);
    assert_ne!(first, statuses(8).await);
    assert!(first.contains(&503) && first.contains(&200));
}
