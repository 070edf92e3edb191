//! The Groups rows of AWS-SCIM.md and the group flows of IDP-CLIENTS.md, over HTTP.

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_error, form_encode};

async fn new_group(app: &TestApp, name: &str, members: &[&str]) -> String {
    let members: Vec<Value> = members.iter().map(|m| json!({"value": m})).collect();
    let r = app
        .post("/Groups", json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": name, "members": members}))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    r.body["id"].as_str().unwrap().to_owned()
}

async fn groups_where(app: &TestApp, filter: &str) -> Value {
    let r = app
        .get(&format!("/Groups?filter={}", form_encode(filter)))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{filter}: {}", r.body);
    r.body
}

async fn is_member(app: &TestApp, group: &str, user: &str) -> bool {
    let l = groups_where(app, &format!("id eq \"{group}\" and members eq \"{user}\"")).await;
    match l["totalResults"].as_i64().unwrap() {
        0 => false,
        1 => true,
        n => panic!("{n} results for a membership check"),
    }
}

/// The members of a group, counted over cursor pages: AWS's `totalResults` counts one page.
async fn member_count(app: &TestApp, group: &str) -> usize {
    let filter = form_encode(&format!("groups.value eq \"{group}\""));
    let (mut count, mut cursor) = (0, String::new());
    loop {
        let r = app
            .get(&format!("/Users?filter={filter}&cursor={cursor}"))
            .await;
        assert_eq!(r.status, StatusCode::OK);
        count += r.body["Resources"].as_array().unwrap().len();
        match r.body["nextCursor"].as_str() {
            Some(next) => cursor = form_encode(next),
            None => return count,
        }
    }
}

#[tokio::test]
async fn create_group_answers_201_without_members() {
    let app = TestApp::new().await;
    let user = app.user_id("m@example.com").await;
    let r = app
        .post("/Groups", json!({"displayName": "Engineering", "externalId": "okta-1", "members": [{"value": user}]}))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(r.header("content-type"), Some("application/json"));
    let id = r.body["id"].as_str().unwrap();
    assert_eq!(
        r.header("location").unwrap(),
        format!("http://localhost{}/Groups/{id}", app.base())
    );
    assert_eq!(r.body["displayName"], "Engineering");
    assert_eq!(r.body["externalId"], "okta-1");
    assert_eq!(
        r.body["schemas"],
        json!(["urn:ietf:params:scim:schemas:core:2.0:Group"])
    );
    assert_eq!(r.body["meta"]["resourceType"], "Group");
    assert_eq!(r.body["meta"]["created"], "2026-01-01T00:00:00Z");
    // AWS never returns members: the list is always empty (issue threads and fixtures).
    assert_eq!(r.body["members"], json!([]));
    let got = app.get(&format!("/Groups/{id}")).await;
    assert_eq!(got.status, StatusCode::OK);
    assert_eq!(got.body, r.body);
    assert!(is_member(&app, id, &user).await);
}

#[tokio::test]
async fn create_group_errors() {
    let app = TestApp::new().await;
    new_group(&app, "Sales", &[]).await;
    assert_error(
        &app.post("/Groups", json!({"displayName": "SALES"})).await,
        409,
        "Refused to create a new, duplicate resource.",
    );
    assert_error(
        &app.post("/Groups", json!({"externalId": "x"})).await,
        400,
        "displayName",
    );
    assert_error(
        &app.post("/Groups", json!({"displayName": ""})).await,
        400,
        "displayName",
    );
    let many: Vec<Value> = (0..101)
        .map(|i| json!({"value": format!("u{i}")}))
        .collect();
    assert_error(
        &app.post("/Groups", json!({"displayName": "Big", "members": many}))
            .await,
        400,
        "100",
    );
    let r = app
        .post(
            "/Groups",
            json!({"displayName": "Ghosts", "members": [{"value": "no-such-user"}]}),
        )
        .await;
    assert_error(&r, 404, "Member");
    // The failed create left nothing behind.
    assert_eq!(
        groups_where(&app, "displayName eq \"Ghosts\"").await["totalResults"],
        0
    );
    assert_error(
        &app.post("/Groups", json!({"displayName": "X", "owner": "me"}))
            .await,
        400,
        "owner",
    );
    assert_error(&app.get("/Groups/nope").await, 404, "GROUP does not exist.");
}

#[tokio::test]
async fn list_groups_filters_as_aws_does() {
    let app = TestApp::new().await;
    let u1 = app.user_id("u1@example.com").await;
    let u2 = app.user_id("u2@example.com").await;
    let eng = new_group(&app, "Engineering", &[&u1]).await;
    let ops = new_group(&app, "Ops & Infra", &[&u1, &u2]).await;
    let all = app.get("/Groups").await.body;
    assert_eq!(all["totalResults"], 2);
    assert!(
        all["Resources"]
            .as_array()
            .unwrap()
            .iter()
            .all(|g| g["members"] == json!([]))
    );
    // Entra ID looks groups up with excludedAttributes=members.
    let r = app
        .get(&format!(
            "/Groups?excludedAttributes=members&filter={}",
            form_encode("displayName eq \"engineering\"")
        ))
        .await;
    assert_eq!(r.body["totalResults"], 1);
    assert_eq!(r.body["Resources"][0]["id"], json!(eng));
    assert_eq!(
        groups_where(&app, "displayName eq \"Ops & Infra\"").await["Resources"][0]["id"],
        json!(ops)
    );
    assert_eq!(
        groups_where(&app, &format!("id eq \"{ops}\"")).await["totalResults"],
        1
    );
    let of_u1 = groups_where(&app, &format!("members eq \"{u1}\"")).await;
    assert_eq!(of_u1["totalResults"], 2);
    let of_u2 = groups_where(&app, &format!("members.value eq \"{u2}\"")).await;
    assert_eq!(of_u2["Resources"][0]["id"], json!(ops));
    assert!(is_member(&app, &ops, &u2).await);
    assert!(!is_member(&app, &eng, &u2).await);
    let reversed = groups_where(&app, &format!("members eq \"{u2}\" and id eq \"{ops}\"")).await;
    assert_eq!(reversed["totalResults"], 1);
    // A member that is no user is a 404, in both forms.
    for f in [
        format!("id eq \"{eng}\" and members eq \"ghost\""),
        "members eq \"ghost\"".to_owned(),
    ] {
        let r = app
            .get(&format!("/Groups?filter={}", form_encode(&f)))
            .await;
        assert_error(&r, 404, "Member");
    }
    for (f, detail) in [
        (
            "displayName co \"Eng\"",
            "Only the eq operator is supported in filters.",
        ),
        (
            "displayName eq \"a\" or displayName eq \"b\"",
            "Only the and logical operator is supported in filters.",
        ),
        ("userName eq \"x\"", "Unsupported filter: userName eq"),
        (
            "displayName eq \"a\" and externalId eq \"b\"",
            "Unsupported filter: displayName eq",
        ),
    ] {
        let r = app.get(&format!("/Groups?filter={}", form_encode(f))).await;
        assert_error(&r, 400, detail);
    }
    // Users of a group.
    assert_eq!(member_count(&app, &ops).await, 2);
    // Cursor paging over groups.
    let page = app.get("/Groups?count=1&cursor=").await.body;
    assert_eq!(page["Resources"].as_array().unwrap().len(), 1);
    let next = page["nextCursor"].as_str().unwrap();
    let last = app
        .get(&format!("/Groups?count=1&cursor={next}"))
        .await
        .body;
    assert!(last.get("nextCursor").is_none());
    assert_ne!(last["Resources"][0]["id"], page["Resources"][0]["id"]);
}

#[tokio::test]
async fn the_entra_id_group_flow() {
    let app = TestApp::new().await;
    let jane = app.user_id("jane@example.com").await;
    let joe = app.user_id("joe@example.com").await;
    // Lookup before create, create with an empty member list.
    assert_eq!(
        groups_where(&app, "displayName eq \"Sales\"").await["totalResults"],
        0
    );
    let sales = new_group(&app, "Sales", &[]).await;
    let path = format!("/Groups/{sales}");
    let r = app
        .patch(
            &path,
            json!([{"op": "Add", "path": "members", "value": [{"value": jane}, {"value": joe}]}]),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_eq!(r.body, Value::Null);
    assert!(is_member(&app, &sales, &jane).await && is_member(&app, &sales, &joe).await);
    let r = app
        .patch(
            &path,
            json!([{"op": "Remove", "path": "members", "value": [{"value": jane}]}]),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert!(!is_member(&app, &sales, &jane).await && is_member(&app, &sales, &joe).await);
    let r = app
        .patch(
            &path,
            json!([{"op": "Replace", "path": "displayName", "value": "Sales EMEA"}]),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_eq!(app.get(&path).await.body["displayName"], "Sales EMEA");
    // Deprovisioning: deactivate, then delete the user; the membership goes with the user.
    let r = app
        .patch(
            &format!("/Users/{joe}"),
            json!([{"op": "Replace", "path": "active", "value": "False"}]),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(
        app.call(Method::DELETE, &format!("/Users/{joe}"), None)
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(member_count(&app, &sales).await, 0);
}

#[tokio::test]
async fn the_okta_group_push_flow() {
    let app = TestApp::new().await;
    let jane = app.user_id("jane@example.com").await;
    let eng = new_group(&app, "Engineering", &[]).await;
    let path = format!("/Groups/{eng}");
    let r = app
        .patch(&path, json!([{"op": "add", "path": "members", "value": [{"value": jane, "display": "jane@example.com"}]}]))
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
    assert!(is_member(&app, &eng, &jane).await);
    let r = app
        .patch(
            &path,
            json!([{"op": "replace", "value": {"id": eng, "displayName": "Engineering 2"}}]),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
    assert_eq!(app.get(&path).await.body["displayName"], "Engineering 2");
    let r = app
        .patch(
            &path,
            json!([{"op": "remove", "path": format!("members[value eq \"{jane}\"]")}]),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert!(!is_member(&app, &eng, &jane).await);
    assert_eq!(
        app.call(Method::DELETE, &path, None).await.status,
        StatusCode::NO_CONTENT
    );
    assert_error(&app.get(&path).await, 404, "GROUP does not exist.");
    assert_error(
        &app.call(Method::DELETE, &path, None).await,
        404,
        "GROUP does not exist.",
    );
    // The user is untouched.
    assert_eq!(
        app.get(&format!("/Users/{jane}")).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn membership_changes_are_idempotent_and_checked() {
    let app = TestApp::new().await;
    let u = app.user_id("u@example.com").await;
    let other = app.user_id("other@example.com").await;
    let g = new_group(&app, "G", &[&u]).await;
    let path = format!("/Groups/{g}");
    app.clock.advance_ms(5000);
    // Adding a member again, and removing a non-member, succeed and change nothing else.
    let r = app
        .patch(
            &path,
            json!([{"op": "add", "path": "members", "value": [{"value": u}]}]),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let r = app
        .patch(
            &path,
            json!([{"op": "remove", "path": "members", "value": [{"value": other}]}]),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_eq!(member_count(&app, &g).await, 1);
    assert_eq!(
        app.get(&path).await.body["meta"]["lastModified"],
        "2026-01-01T00:00:05Z"
    );
    // A member that is no user: 404, and the valid part of the request is not applied.
    let r = app
        .patch(&path, json!([{"op": "add", "path": "members", "value": [{"value": other}, {"value": "ghost"}]}]))
        .await;
    assert_error(&r, 404, "Member");
    assert!(!is_member(&app, &g, &other).await);
    let r = app
        .patch(
            "/Groups/nope",
            json!([{"op": "add", "path": "members", "value": [{"value": u}]}]),
        )
        .await;
    assert_error(&r, 404, "GROUP does not exist.");
    let r = app
        .patch(
            "/Groups/nope",
            json!([{"op": "replace", "path": "displayName", "value": "x"}]),
        )
        .await;
    assert_error(&r, 404, "GROUP does not exist.");
}

#[tokio::test]
async fn aws_limits_and_refusals_on_patch_group() {
    let app = TestApp::new().await;
    let u = app.user_id("u@example.com").await;
    let g = new_group(&app, "G", &[&u]).await;
    new_group(&app, "Taken", &[]).await;
    let path = format!("/Groups/{g}");
    let hundred_and_one: Vec<Value> = (0..101)
        .map(|i| json!({"value": format!("u{i}")}))
        .collect();
    let cases: Vec<(Value, u16, &str)> = vec![
        // AWS's generic 400 (idp-scim-sync issue 62, 2022; authentik issue 20410, 2026).
        (
            json!([{"op": "add", "path": "members", "value": hundred_and_one}]),
            400,
            "Request is unparsable, syntactically incorrect, or violates schema.",
        ),
        // AWS's detail (issue thread, 2026).
        (
            json!([{"op": "replace", "path": "members", "value": [{"value": u}]}]),
            400,
            "Replacing group memberships is not supported.",
        ),
        (
            json!([{"op": "remove", "path": "members"}]),
            400,
            "Removing all group memberships is not supported.",
        ),
        // A value without path names one attribute at most (issue thread and CloudTrail,
        // 2024–2025); Okta's `id` beside `displayName` does not count.
        (
            json!([{"op": "replace", "value": {"displayName": "G2", "externalId": "e"}}]),
            400,
            "Current PATCH support allows omitting \"path\" attribute only for Add and Replace operations modifying a single attribute.",
        ),
        (
            json!([{"op": "remove"}]),
            400,
            "Missing path in PATCH request",
        ),
        (
            json!([{"op": "remove", "path": "members[value co \"u\"]"}]),
            400,
            "eq",
        ),
        (
            json!([{"op": "remove", "path": "displayName"}]),
            400,
            "displayName",
        ),
        (
            json!([{"op": "add", "path": "owner", "value": "x"}]),
            400,
            "owner",
        ),
        (
            json!([{"op": "replace", "path": "displayName", "value": "TAKEN"}]),
            409,
            "Refused to create a new, duplicate resource.",
        ),
    ];
    for (ops, status, detail) in cases {
        let r = app.patch(&path, ops.clone()).await;
        assert_error(&r, status, detail);
    }
    assert_eq!(app.get(&path).await.body["displayName"], "G");
    assert!(is_member(&app, &g, &u).await);
    // PutGroup is not supported.
    let r = app
        .call(Method::PUT, &path, Some(json!({"displayName": "G2"})))
        .await;
    assert_error(&r, 400, "not supported");
    // Exactly 100 changes pass.
    let mut ids = Vec::new();
    for i in 0..100 {
        ids.push(app.user_id(&format!("batch{i}@example.com")).await);
    }
    let values: Vec<Value> = ids.iter().map(|id| json!({"value": id})).collect();
    let r = app
        .patch(
            &path,
            json!([{"op": "add", "path": "members", "value": values}]),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
    assert_eq!(member_count(&app, &g).await, 101);
}

#[tokio::test]
async fn deleting_a_group_removes_its_memberships_only() {
    let app = TestApp::new().await;
    let u = app.user_id("u@example.com").await;
    let a = new_group(&app, "A", &[&u]).await;
    let b = new_group(&app, "B", &[&u]).await;
    assert_eq!(
        app.call(Method::DELETE, &format!("/Groups/{a}"), None)
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    let of_u = groups_where(&app, &format!("members eq \"{u}\"")).await;
    assert_eq!(of_u["totalResults"], 1);
    assert_eq!(of_u["Resources"][0]["id"], json!(b));
    // The name can be used again.
    new_group(&app, "A", &[]).await;
}

#[tokio::test]
async fn concurrent_member_patches_lose_none() {
    let app = TestApp::new().await;
    let g = new_group(&app, "Busy", &[]).await;
    let mut users = Vec::new();
    for i in 0..40 {
        users.push(app.user_id(&format!("c{i}@example.com")).await);
    }
    let tasks: Vec<_> = users
        .chunks(2)
        .map(|pair| {
            let router = app.router.clone();
            let uri = format!("{}/Groups/{g}", app.base());
            let token = app.token.clone();
            let values: Vec<Value> = pair.iter().map(|id| json!({"value": id})).collect();
            let body = json!({
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [{"op": "add", "path": "members", "value": values}],
            });
            tokio::spawn(async move {
                use tower::ServiceExt;
                let req = axum::http::Request::patch(uri)
                    .header("authorization", format!("Bearer {token}"))
                    .header("content-type", "application/scim+json")
                    .body(axum::body::Body::from(body.to_string()))
                    .unwrap();
                router.oneshot(req).await.unwrap().status()
            })
        })
        .collect();
    for t in tasks {
        assert_eq!(t.await.unwrap(), StatusCode::NO_CONTENT);
    }
    assert_eq!(member_count(&app, &g).await, 40);
    for u in &users {
        assert!(is_member(&app, &g, u).await);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_hundred_racing_member_patches_of_one_group_all_apply() {
    race_member_patches_of_one_group(&TestApp::new().await).await;
}

/// Races 100 one-member PATCHes of one group, twenty removals and eighty additions: each
/// answers 204 and makes a version of its own, and the members are those the PATCHes leave.
pub async fn race_member_patches_of_one_group(app: &TestApp) {
    let mut users = Vec::new();
    for i in 0..100 {
        users.push(app.user_id(&format!("r{i}@example.com")).await);
    }
    let (leaving, joining) = users.split_at(20);
    let first: Vec<&str> = leaving.iter().map(String::as_str).collect();
    let g = new_group(app, "Race", &first).await;
    // One member per PATCH: twenty leave, eighty join, all at once.
    let removals = leaving
        .iter()
        .map(|u| json!([{"op": "remove", "path": format!("members[value eq \"{u}\"]")}]));
    let additions = joining
        .iter()
        .map(|u| json!([{"op": "add", "path": "members", "value": [{"value": u}]}]));
    let responses = app
        .race_patches(&format!("/Groups/{g}"), removals.chain(additions).collect())
        .await;
    for r in &responses {
        assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
    }
    assert_eq!(member_count(app, &g).await, joining.len());
    for u in leaving {
        assert!(!is_member(app, &g, u).await, "{u} left");
    }
    for u in joining {
        assert!(is_member(app, &g, u).await, "{u} joined");
    }
    let stored = app.state.store.get_group(&app.tenant, &g).await.unwrap();
    assert_eq!(stored.version, 101, "each PATCH made a version");
}

#[tokio::test]
async fn groups_are_isolated_between_tenants() {
    let app = TestApp::new().await;
    let u = app.user_id("u@example.com").await;
    let g = new_group(&app, "Mine", &[&u]).await;
    let (other, token) = crate::helpers::add_tenant(&app.state.store).await;
    let send = |method: Method, path: String, body: Option<Value>| {
        let mut req = axum::http::Request::builder()
            .method(method)
            .uri(format!("/{}/scim/v2{path}", other.tenant_id))
            .header("authorization", format!("Bearer {token}"));
        if body.is_some() {
            req = req.header("content-type", "application/json");
        }
        req.body(axum::body::Body::from(
            body.map(|b| b.to_string()).unwrap_or_default(),
        ))
        .unwrap()
    };
    assert_error(
        &app.send(send(Method::GET, format!("/Groups/{g}"), None))
            .await,
        404,
        "GROUP does not exist.",
    );
    let patch = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                       "Operations": [{"op": "add", "path": "members", "value": [{"value": u}]}]});
    assert_error(
        &app.send(send(Method::PATCH, format!("/Groups/{g}"), Some(patch)))
            .await,
        404,
        "GROUP does not exist.",
    );
    // Their group cannot take our user as a member.
    let r = app
        .send(send(
            Method::POST,
            "/Groups".into(),
            Some(json!({"displayName": "Theirs", "members": [{"value": u}]})),
        ))
        .await;
    assert_error(&r, 404, "Member");
    let f = form_encode(&format!("members eq \"{u}\""));
    assert_error(
        &app.send(send(Method::GET, format!("/Groups?filter={f}"), None))
            .await,
        404,
        "Member",
    );
    assert_error(
        &app.send(send(Method::DELETE, format!("/Groups/{g}"), None))
            .await,
        404,
        "GROUP does not exist.",
    );
    assert!(is_member(&app, &g, &u).await);
}
