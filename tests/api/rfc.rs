//! The `rfc` profile over HTTP: the RFC 7644 features of issue 6 (filters on every attribute,
//! sorting, index paging, attribute selection, searches, ETags, returned members, PutGroup,
//! RFC error bodies), each with the answer the `aws` profile keeps giving.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use idc_scim::scim::Profile;
use idc_scim::state::AppState;
use serde_json::{Value, json};

use crate::helpers::{
    TestApp, TestResponse, USER_STRING_PATHS, assert_error, form_encode, replacements, user_body,
    value_at,
};

const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
const SEARCH: &str = "urn:ietf:params:scim:api:messages:2.0:SearchRequest";
const HOUR_MS: i64 = 3_600_000;

/// A test app in the `rfc` profile.
async fn rfc_app() -> TestApp {
    TestApp::with(|state| AppState {
        profile: Profile::Rfc,
        ..state
    })
    .await
}

/// Asserts the RFC 7644 §3.12 error body with this status and `scimType`.
fn assert_rfc_error(r: &TestResponse, status: u16, scim_type: Option<&str>) {
    assert_eq!(r.status.as_u16(), status, "body: {}", r.body);
    assert_eq!(r.header("content-type"), Some("application/scim+json"));
    let b = r.body.as_object().unwrap();
    assert_eq!(
        b["schemas"],
        json!(["urn:ietf:params:scim:api:messages:2.0:Error"])
    );
    assert_eq!(b["status"], json!(status.to_string()));
    assert_eq!(b.get("scimType").and_then(Value::as_str), scim_type);
    assert!(!b["detail"].as_str().unwrap().is_empty());
    assert!(b.get("schema").is_none() && b.get("exceptionRequestId").is_none());
}

/// Sends a request with extra headers (and a JSON body).
async fn call_with(
    app: &TestApp,
    method: Method,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<Value>,
) -> TestResponse {
    let mut req = Request::builder()
        .method(method)
        .uri(format!("{}{path}", app.base()))
        .header("authorization", format!("Bearer {}", app.token));
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let body = match body {
        Some(v) => {
            req = req.header("content-type", "application/scim+json");
            Body::from(v.to_string())
        }
        None => Body::empty(),
    };
    app.send(req.body(body).unwrap()).await
}

fn patch_body(ops: Value) -> Value {
    json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": ops})
}

fn id(r: &TestResponse) -> String {
    r.body["id"].as_str().unwrap().to_owned()
}

/// Alice (created at START), Bob (an hour later) and Carol (two hours later), and the group
/// Engineering with Alice. Returns their ids.
async fn people(app: &TestApp) -> (String, String, String, String) {
    let alice = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE],
        "userName": "alice@example.com", "externalId": "EXT-A",
        "name": {"givenName": "Alice", "familyName": "Zephyr"},
        "displayName": "Alice Z", "title": "Engineer", "active": true,
        "emails": [{"value": "alice@corp.example", "type": "work", "primary": true},
                   {"value": "alice@home.example", "type": "home"}],
        ENTERPRISE: {"department": "R&D", "manager": {"value": "boss-id"}},
    });
    let a = app.post("/Users", alice).await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
    app.clock.advance_ms(HOUR_MS);
    let mut bob = user_body("bob@example.com");
    bob["name"]["familyName"] = json!("Young");
    bob["title"] = json!("Manager");
    bob["active"] = json!(false);
    bob["emails"] = json!([{"value": "bob@corp.example", "type": "work"}]);
    bob[ENTERPRISE] = json!({"department": "Sales"});
    let b = app.post("/Users", bob).await;
    assert_eq!(b.status, StatusCode::CREATED, "{}", b.body);
    app.clock.advance_ms(HOUR_MS);
    let mut carol = user_body("carol@other.org");
    carol["name"]["familyName"] = json!("Xu");
    carol["emails"] = json!([{"value": "carol@home.example", "type": "home"}]);
    let c = app.post("/Users", carol).await;
    assert_eq!(c.status, StatusCode::CREATED, "{}", c.body);
    let g = app
        .post(
            "/Groups",
            json!({"displayName": "Engineering", "members": [{"value": id(&a)}]}),
        )
        .await;
    assert_eq!(g.status, StatusCode::CREATED, "{}", g.body);
    (id(&a), id(&b), id(&c), id(&g))
}

/// The `userName`s (or `displayName`s) of a list, in its order.
fn names(list: &Value) -> Vec<String> {
    list["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            r.get("userName")
                .or(r.get("displayName"))
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned()
        })
        .collect()
}

async fn list(app: &TestApp, path: &str, query: &str) -> Value {
    let r = app.get(&format!("{path}?{query}")).await;
    assert_eq!(r.status, StatusCode::OK, "{query}: {}", r.body);
    assert_eq!(r.header("content-type"), Some("application/scim+json"));
    r.body
}

async fn users_where(app: &TestApp, filter: &str) -> Vec<String> {
    let mut found = names(&list(app, "/Users", &format!("filter={}", form_encode(filter))).await);
    found.sort();
    found
}

const A: &str = "alice@example.com";
const B: &str = "bob@example.com";
const C: &str = "carol@other.org";

#[tokio::test]
async fn filters_apply_every_operator_to_every_attribute() {
    let app = rfc_app().await;
    let (alice, _, _, group) = people(&app).await;
    let cases: Vec<(String, Vec<&str>)> = vec![
        (r#"userName eq "ALICE@example.com""#.into(), vec![A]),
        (r#"userName ne "alice@example.com""#.into(), vec![B, C]),
        (r#"userName co "EXAMPLE""#.into(), vec![A, B]),
        (r#"userName sw "b""#.into(), vec![B]),
        (r#"userName ew ".org""#.into(), vec![C]),
        (r#"userName gt "bob@example.com""#.into(), vec![C]),
        (r#"userName ge "bob@example.com""#.into(), vec![B, C]),
        (r#"userName lt "bob@example.com""#.into(), vec![A]),
        (r#"userName le "bob@example.com""#.into(), vec![A, B]),
        (r#"title pr"#.into(), vec![A, B]),
        (r#"not (title pr)"#.into(), vec![C]),
        (r#"name.familyName sw "y""#.into(), vec![B]),
        (r#"displayName eq "alice z""#.into(), vec![A]),
        (r#"active eq false"#.into(), vec![B]),
        (r#"externalId eq "ext-a""#.into(), vec![]),
        (r#"externalId eq "EXT-A""#.into(), vec![A]),
        (format!(r#"id eq "{alice}""#), vec![A]),
        (format!(r#"groups.value eq "{group}""#), vec![A]),
        (r#"emails.value ew "@home.example""#.into(), vec![A, C]),
        (
            r#"emails[type eq "work" and value co "@corp"]"#.into(),
            vec![A, B],
        ),
        (
            r#"emails[type eq "home" and value sw "carol"]"#.into(),
            vec![C],
        ),
        (format!(r#"{ENTERPRISE}:department eq "r&d""#), vec![A]),
        (format!(r#"{ENTERPRISE}:department pr"#), vec![A, B]),
        (
            format!(r#"{ENTERPRISE}:manager.value eq "boss-id""#),
            vec![A],
        ),
        (
            r#"meta.created gt "2026-01-01T00:30:00Z""#.into(),
            vec![B, C],
        ),
        (
            r#"meta.created lt "2026-01-01T02:00:00+01:00""#.into(),
            vec![A],
        ),
        (
            r#"meta.lastModified le "2026-01-01T01:00:00Z""#.into(),
            vec![A, B],
        ),
        (
            r#"meta.lastModified ge "2026-01-01T02:00:00Z""#.into(),
            vec![C],
        ),
        (r#"meta.resourceType eq "User""#.into(), vec![A, B, C]),
        // `and` binds tighter than `or`; parentheses regroup.
        (
            r#"userName sw "c" or userName sw "b" and active eq true"#.into(),
            vec![C],
        ),
        (
            r#"(userName sw "c" or userName sw "b") and active eq false"#.into(),
            vec![B],
        ),
        (
            r#"not (userName sw "a" or title eq "manager")"#.into(),
            vec![C],
        ),
    ];
    for (filter, expected) in cases {
        assert_eq!(users_where(&app, &filter).await, expected, "{filter}");
    }
    let groups = |filter: &str| {
        let app = &app;
        let filter = filter.to_owned();
        async move { names(&list(app, "/Groups", &format!("filter={}", form_encode(&filter))).await) }
    };
    assert_eq!(groups(r#"displayName co "GINEER""#).await, ["Engineering"]);
    assert_eq!(
        groups(&format!(r#"members.value eq "{alice}""#)).await,
        ["Engineering"]
    );
    assert_eq!(
        groups(&format!(r#"members[value eq "{alice}"]"#)).await,
        ["Engineering"]
    );
    assert!(
        groups(r#"displayName sw "E" and externalId pr"#)
            .await
            .is_empty()
    );
    // What the AWS profile refuses with its own body.
    let aws = TestApp::new().await;
    let r = aws
        .get(&format!(
            "/Users?filter={}",
            form_encode(r#"userName co "a""#)
        ))
        .await;
    assert_error(&r, 400, "eq");
}

#[tokio::test]
async fn bad_filters_are_invalid_filter_errors() {
    let app = rfc_app().await;
    for filter in [
        r#"nope eq "x""#,
        r#"active gt true"#,
        r#"userName eq 5"#,
        r#"meta.created gt "yesterday""#,
        r#"emails[kind eq "work"]"#,
        r#"userName eq "x" and"#,
        r#"members pr"#,
    ] {
        let r = app
            .get(&format!("/Users?filter={}", form_encode(filter)))
            .await;
        assert_rfc_error(&r, 400, Some("invalidFilter"));
    }
}

#[tokio::test]
async fn lists_sort_by_any_attribute_in_either_order() {
    let app = rfc_app().await;
    people(&app).await;
    let sorted = |q: &str| {
        let app = &app;
        let q = q.to_owned();
        async move { names(&list(app, "/Users", &q).await) }
    };
    assert_eq!(sorted("sortBy=userName").await, [A, B, C]);
    assert_eq!(
        sorted("sortBy=userName&sortOrder=descending").await,
        [C, B, A]
    );
    assert_eq!(sorted("sortBy=name.familyName").await, [C, B, A]);
    assert_eq!(
        sorted("sortBy=name.familyName&sortOrder=DESCENDING").await,
        [A, B, C]
    );
    assert_eq!(
        sorted("sortBy=meta.created&sortOrder=descending").await,
        [C, B, A]
    );
    // Users without a title come last in either order.
    assert_eq!(sorted("sortBy=title").await, [A, B, C]);
    assert_eq!(sorted("sortBy=title&sortOrder=descending").await, [B, A, C]);
    assert_eq!(
        sorted(&format!(
            "sortBy={}",
            form_encode(&format!("{ENTERPRISE}:department"))
        ))
        .await,
        [A, B, C]
    );
    let r = app.get("/Users?sortBy=userName&sortOrder=sideways").await;
    assert_rfc_error(&r, 400, Some("invalidValue"));
    let r = app.get("/Users?sortBy=name").await;
    assert_rfc_error(&r, 400, Some("invalidValue"));
    // AWS ignores sortBy: the list stays in id order.
    let aws = TestApp::new().await;
    for name in ["c@x.y", "a@x.y", "b@x.y"] {
        aws.create_user(name).await;
    }
    let by_id = aws.get("/Users").await.body;
    let sorted = aws
        .get("/Users?sortBy=userName&sortOrder=ascending")
        .await
        .body;
    assert_eq!(names(&by_id), names(&sorted));
}

#[tokio::test]
async fn start_index_and_count_page_the_list() {
    let app = rfc_app().await;
    people(&app).await;
    let page = list(&app, "/Users", "sortBy=userName&startIndex=2&count=1").await;
    assert_eq!(page["totalResults"], 3);
    assert_eq!(page["itemsPerPage"], 1);
    assert_eq!(page["startIndex"], 2);
    assert_eq!(
        page["schemas"],
        json!(["urn:ietf:params:scim:api:messages:2.0:ListResponse"])
    );
    assert_eq!(names(&page), [B]);
    let last = list(&app, "/Users", "sortBy=userName&startIndex=3&count=10").await;
    assert_eq!(
        (names(&last), last["itemsPerPage"].clone()),
        (vec![C.to_owned()], json!(1))
    );
    let past = list(&app, "/Users", "startIndex=9").await;
    assert_eq!(
        (past["totalResults"].clone(), names(&past).len()),
        (json!(3), 0)
    );
    let zero = list(&app, "/Users", "count=0").await;
    assert_eq!(zero["totalResults"], 3);
    assert_eq!(zero["itemsPerPage"], 0);
    assert_eq!(zero["Resources"], json!([]));
    let filtered = list(
        &app,
        "/Users",
        &format!("filter={}&count=1", form_encode("title pr")),
    )
    .await;
    assert_eq!(
        (filtered["totalResults"].clone(), names(&filtered).len()),
        (json!(2), 1)
    );
    assert_rfc_error(
        &app.get("/Users?startIndex=first").await,
        400,
        Some("invalidValue"),
    );
    // AWS ignores startIndex and refuses count=0.
    let aws = TestApp::new().await;
    aws.create_user("a@x.y").await;
    let r = aws.get("/Users?startIndex=5").await;
    assert_eq!(r.body["startIndex"], 1);
    assert_eq!(r.body["Resources"].as_array().unwrap().len(), 1);
    assert_error(&aws.get("/Users?count=0").await, 400, "count");
}

#[tokio::test]
async fn attributes_and_excluded_attributes_select_what_is_returned() {
    let app = rfc_app().await;
    let (alice, _, _, group) = people(&app).await;
    let r = app
        .get(&format!(
            "/Users/{alice}?attributes=userName,name.givenName,emails.value,{}",
            form_encode(&format!("{ENTERPRISE}:department"))
        ))
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let u = r.body.as_object().unwrap();
    let mut keys: Vec<&str> = u.keys().map(String::as_str).collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "emails", "id", "meta", "name", "schemas", ENTERPRISE, "userName"
        ]
    );
    assert_eq!(u["name"], json!({"givenName": "Alice"}));
    assert_eq!(
        u["emails"],
        json!([{"value": "alice@corp.example"}, {"value": "alice@home.example"}])
    );
    assert_eq!(u[ENTERPRISE], json!({"department": "R&D"}));
    let r = app
        .get(&format!(
            "/Users/{alice}?excludedAttributes=emails,groups,id,name.familyName"
        ))
        .await;
    let u = &r.body;
    assert!(u.get("emails").is_none() && u.get("groups").is_none());
    assert_eq!(u["id"], json!(alice), "id is always returned");
    assert_eq!(u["name"], json!({"givenName": "Alice"}));
    assert_eq!(u["title"], "Engineer");

    let l = list(&app, "/Users", "attributes=userName&sortBy=userName").await;
    for r in l["Resources"].as_array().unwrap() {
        let mut keys: Vec<&str> = r.as_object().unwrap().keys().map(String::as_str).collect();
        keys.sort();
        assert_eq!(keys, ["id", "meta", "schemas", "userName"]);
    }
    let l = list(&app, "/Groups", "excludedAttributes=members").await;
    assert!(l["Resources"][0].get("members").is_none());
    assert_eq!(l["Resources"][0]["displayName"], "Engineering");
    let g = app
        .get(&format!("/Groups/{group}?attributes=displayName"))
        .await;
    assert!(g.body.get("members").is_none());

    let s = app
        .post(
            "/Users/.search",
            json!({"schemas": [SEARCH], "attributes": ["userName"], "filter": "userName sw \"a\""}),
        )
        .await;
    assert_eq!(s.status, StatusCode::OK, "{}", s.body);
    assert_eq!(
        s.body["Resources"][0].as_object().unwrap().len(),
        4,
        "{}",
        s.body
    );
    let s = app
        .post(
            "/Users/.search",
            json!({"schemas": [SEARCH], "excludedAttributes": ["emails", "name"], "count": 1}),
        )
        .await;
    let u = &s.body["Resources"][0];
    assert!(u.get("emails").is_none() && u.get("name").is_none() && u.get("userName").is_some());
    // AWS ignores both parameters.
    let aws = TestApp::new().await;
    let id = aws.create_user("a@x.y").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = aws.get(&format!("/Users/{id}?attributes=userName")).await;
    assert!(r.body.get("emails").is_some());
}

#[tokio::test]
async fn search_endpoints_answer_list_responses() {
    let app = rfc_app().await;
    let (_, _, _, group) = people(&app).await;
    let r = app
        .post(
            "/Users/.search",
            json!({"schemas": [SEARCH], "filter": "emails.value co \"corp\"",
                   "sortBy": "userName", "sortOrder": "descending", "startIndex": 1, "count": 5}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.header("content-type"), Some("application/scim+json"));
    assert_eq!(r.body["totalResults"], 2);
    assert_eq!(names(&r.body), [B, A]);
    let r = app
        .post(
            "/Groups/.search",
            json!({"schemas": [SEARCH], "filter": "displayName eq \"engineering\""}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["Resources"][0]["id"], json!(group));
    // The root search spans both types; an attribute of one never matches the other.
    let r = app
        .post(
            "/.search",
            json!({"schemas": [SEARCH], "filter": "displayName sw \"E\" or userName sw \"c\"",
                   "sortBy": "meta.resourceType"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["totalResults"], 2);
    let types: Vec<&str> = r.body["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["meta"]["resourceType"].as_str().unwrap())
        .collect();
    assert_eq!(types, ["Group", "User"]);
    let all = app.post("/.search", json!({"schemas": [SEARCH]})).await;
    assert_eq!(all.body["totalResults"], 4);
    let r = app
        .post("/Users/.search", json!({"filter": "userName pr"}))
        .await;
    assert_rfc_error(&r, 400, Some("invalidSyntax"));
    let r = app
        .post(
            "/.search",
            json!({"schemas": [SEARCH], "filter": "nope pr"}),
        )
        .await;
    assert_rfc_error(&r, 400, Some("invalidFilter"));
    // AWS does not support searches.
    let aws = TestApp::new().await;
    let r = aws
        .post("/Users/.search", json!({"schemas": [SEARCH]}))
        .await;
    assert_error(&r, 400, "not supported");
    let r = aws.post("/.search", json!({"schemas": [SEARCH]})).await;
    assert_error(&r, 404, "The requested endpoint does not exist.");
}

#[tokio::test]
async fn etags_and_preconditions_on_users() {
    let app = rfc_app().await;
    let created = app.create_user("jane@example.com").await;
    let id = created["id"].as_str().unwrap().to_owned();
    let path = format!("/Users/{id}");
    assert_eq!(created["meta"]["version"], "W/\"1\"");
    let r = app.get(&path).await;
    assert_eq!(r.header("etag"), Some("W/\"1\""));
    assert_eq!(r.body["meta"]["version"], "W/\"1\"");
    let r = call_with(
        &app,
        Method::GET,
        &path,
        &[("if-none-match", "W/\"1\"")],
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::NOT_MODIFIED);
    assert_eq!(r.body, Value::Null);
    assert_eq!(r.header("etag"), Some("W/\"1\""));
    let r = call_with(
        &app,
        Method::GET,
        &path,
        &[("if-none-match", "W/\"7\"")],
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);

    let mut body = user_body("jane@example.com");
    body["title"] = json!("Boss");
    let stale = [("if-match", "W/\"0\"")];
    let r = call_with(&app, Method::PUT, &path, &stale, Some(body.clone())).await;
    assert_rfc_error(&r, 412, None);
    let r = call_with(
        &app,
        Method::PUT,
        &path,
        &[("if-match", "W/\"1\"")],
        Some(body),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.header("etag"), Some("W/\"2\""));
    assert_eq!(r.body["title"], "Boss");

    let ops = patch_body(json!([{"op": "replace", "path": "title", "value": "Chief"}]));
    let r = call_with(&app, Method::PATCH, &path, &stale, Some(ops.clone())).await;
    assert_rfc_error(&r, 412, None);
    let r = call_with(
        &app,
        Method::PATCH,
        &path,
        &[("if-match", "W/\"2\"")],
        Some(ops),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["meta"]["version"], "W/\"3\"");

    let r = call_with(&app, Method::DELETE, &path, &stale, None).await;
    assert_rfc_error(&r, 412, None);
    assert_eq!(app.get(&path).await.status, StatusCode::OK);
    let r = call_with(
        &app,
        Method::DELETE,
        &path,
        &[("if-match", "W/\"3\"")],
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_rfc_error(&app.get(&path).await, 404, None);
    // AWS has no ETags and ignores the preconditions.
    let aws = TestApp::new().await;
    let id = aws.create_user("a@x.y").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = call_with(
        &aws,
        Method::GET,
        &format!("/Users/{id}"),
        &[("if-none-match", "*")],
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.header("etag").is_none() && r.body["meta"].get("version").is_none());
    let r = call_with(&aws, Method::DELETE, &format!("/Users/{id}"), &stale, None).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn groups_return_members_and_can_be_replaced() {
    let app = rfc_app().await;
    let (alice, bob, carol, group) = people(&app).await;
    let path = format!("/Groups/{group}");
    let r = app.get(&path).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["members"][0]["value"], json!(alice));
    assert_eq!(
        r.body["members"][0]["$ref"],
        json!(format!("http://localhost{}/Users/{alice}", app.base()))
    );
    assert_eq!(r.header("etag"), Some("W/\"1\""));
    let u = app.get(&format!("/Users/{alice}")).await;
    assert_eq!(u.body["groups"][0]["value"], json!(group));
    let l = list(&app, "/Groups", "").await;
    assert_eq!(l["Resources"][0]["members"].as_array().unwrap().len(), 1);

    // PUT replaces the name, the external id and the members.
    let put = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                     "displayName": "Platform", "externalId": "p-1",
                     "members": [{"value": bob}, {"value": carol}]});
    let r = call_with(
        &app,
        Method::PUT,
        &path,
        &[("if-match", "W/\"0\"")],
        Some(put.clone()),
    )
    .await;
    assert_rfc_error(&r, 412, None);
    let r = call_with(&app, Method::PUT, &path, &[], Some(put)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["displayName"], "Platform");
    assert_eq!(r.body["externalId"], "p-1");
    let mut members: Vec<&str> = r.body["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["value"].as_str().unwrap())
        .collect();
    members.sort();
    let mut expected = [bob.as_str(), carol.as_str()];
    expected.sort();
    assert_eq!(members, expected);
    let version = r.header("etag").unwrap().to_owned();
    assert_eq!(version, "W/\"2\"");

    // PATCH may replace all members; it answers 200 with the group, as for users.
    let ops =
        patch_body(json!([{"op": "replace", "path": "members", "value": [{"value": alice}]}]));
    let r = call_with(
        &app,
        Method::PATCH,
        &path,
        &[("if-match", "W/\"1\"")],
        Some(ops.clone()),
    )
    .await;
    assert_rfc_error(&r, 412, None);
    let r = call_with(
        &app,
        Method::PATCH,
        &path,
        &[("if-match", &version)],
        Some(ops),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.header("etag"), Some("W/\"3\""));
    assert_eq!(r.body["meta"]["version"], "W/\"3\"");
    let alice_ref = json!([{"value": alice, "type": "User",
                            "$ref": format!("http://localhost{}/Users/{alice}", app.base())}]);
    assert_eq!(r.body["members"], alice_ref);
    assert_eq!(app.get(&path).await.body["members"], alice_ref);
    // ... with the attributes asked for.
    let ops = patch_body(json!([{"op": "remove", "path": "members"}]));
    let r = app
        .call(
            Method::PATCH,
            &format!("{path}?attributes=displayName,members"),
            Some(ops),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["displayName"], "Platform");
    assert!(r.body.get("members").is_none());
    let r = call_with(
        &app,
        Method::DELETE,
        &path,
        &[("if-match", "W/\"3\"")],
        None,
    )
    .await;
    assert_rfc_error(&r, 412, None);
    let r = call_with(
        &app,
        Method::DELETE,
        &path,
        &[("if-match", "W/\"4\"")],
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);

    // AWS never returns members, refuses PUT, and answers PATCH 204 without an ETag.
    let aws = TestApp::new().await;
    let user = aws.create_user("a@x.y").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = aws
        .post(
            "/Groups",
            json!({"displayName": "G", "members": [{"value": user}]}),
        )
        .await;
    let gid = id(&r);
    assert_eq!(r.body["members"], json!([]));
    assert_eq!(
        aws.get(&format!("/Groups/{gid}")).await.body["members"],
        json!([])
    );
    let r = aws
        .call(
            Method::PUT,
            &format!("/Groups/{gid}"),
            Some(json!({"displayName": "H"})),
        )
        .await;
    assert_error(&r, 400, "not supported");
    let r = aws
        .patch(
            &format!("/Groups/{gid}"),
            json!([{"op": "replace", "path": "members", "value": [{"value": user}]}]),
        )
        .await;
    assert_error(&r, 400, "members");
}

#[tokio::test]
async fn errors_have_the_rfc_body_and_scim_type() {
    let app = rfc_app().await;
    app.create_user("jane@example.com").await;
    let r = app.post("/Users", user_body("JANE@example.com")).await;
    assert_rfc_error(&r, 409, Some("uniqueness"));
    let r = app.get("/Users/nope").await;
    assert_rfc_error(&r, 404, None);
    let mut body = user_body("x@example.com");
    body["active"] = json!("yes");
    assert_rfc_error(&app.post("/Users", body).await, 400, Some("invalidValue"));
    let req = Request::post(format!("{}/Users", app.base()))
        .header("authorization", format!("Bearer {}", app.token))
        .header("content-type", "application/json")
        .body(Body::from("{not json"))
        .unwrap();
    assert_rfc_error(&app.send(req).await, 400, Some("invalidSyntax"));
    let id = app.create_user("k@example.com").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = app
        .patch(
            &format!("/Users/{id}"),
            json!([{"op": "add", "path": "groups", "value": [{"value": "g"}]}]),
        )
        .await;
    assert_rfc_error(&r, 400, Some("mutability"));
    let r = app
        .patch(
            &format!("/Users/{id}"),
            json!([{"op": "replace", "path": "emails[type eq \"nope\"", "value": "x"}]),
        )
        .await;
    assert_rfc_error(&r, 400, Some("invalidPath"));
    let r = app
        .patch(&format!("/Users/{id}"), json!([{"op": "remove"}]))
        .await;
    assert_rfc_error(&r, 400, Some("noTarget"));
    let unauthorized = Request::get(format!("{}/Users", app.base()))
        .body(Body::empty())
        .unwrap();
    assert_rfc_error(&app.send(unauthorized).await, 401, None);
    // The same conflict in the AWS profile.
    let aws = TestApp::new().await;
    aws.create_user("jane@example.com").await;
    let r = aws.post("/Users", user_body("JANE@example.com")).await;
    assert_error(&r, 409, "Refused to create a new, duplicate resource.");
    assert!(r.body.get("scimType").is_none());
}

#[tokio::test]
async fn users_may_hold_several_values_and_patch_with_any_operator() {
    let app = rfc_app().await;
    let mut body = user_body("multi@example.com");
    body["emails"] =
        json!([{"value": "a@x.y", "type": "work"}, {"value": "b@x.y", "type": "home"}]);
    body["phoneNumbers"] = json!([{"value": "1"}, {"value": "2"}]);
    body["groups"] = json!([{"value": "ignored"}]);
    let r = app.post("/Users", body).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(r.body["emails"].as_array().unwrap().len(), 2);
    assert!(r.body.get("groups").is_none());
    let uid = id(&r);
    let r = app
        .patch(
            &format!("/Users/{uid}"),
            json!([{"op": "replace", "path": "emails[value sw \"b\"].type", "value": "other"}]),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["emails"][1]["type"], "other");
    // AWS keeps one value, a primary email and eq-only value filters.
    let aws = TestApp::new().await;
    let mut body = user_body("multi@example.com");
    body["emails"] = json!([{"value": "a@x.y", "primary": true}, {"value": "b@x.y"}]);
    assert_error(&aws.post("/Users", body).await, 400, "emails");
}

#[tokio::test]
async fn service_provider_config_advertises_the_rfc_features() {
    let app = rfc_app().await;
    let r = app.get("/ServiceProviderConfig").await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.header("content-type"), Some("application/scim+json"));
    for feature in ["sort", "etag", "filter", "patch"] {
        assert_eq!(r.body[feature]["supported"], true, "{feature}");
    }
    assert_eq!(r.body["bulk"]["supported"], false);
    let aws = TestApp::new().await;
    let r = aws.get("/ServiceProviderConfig").await;
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert_eq!(r.body["sort"]["supported"], false);
    assert_eq!(r.body["etag"]["supported"], false);
}

#[tokio::test]
async fn patch_sets_the_enterprise_extension_by_its_urn_in_both_forms() {
    for app in [rfc_app().await, TestApp::new().await] {
        let id = app.user_id("ext@example.com").await;
        let path = format!("/Users/{id}");
        let r = app
            .patch(
                &path,
                json!([{"op": "replace", "path": ENTERPRISE,
                        "value": {"department": "R&D", "manager": {"value": "boss"}}}]),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        assert_eq!(
            r.body[ENTERPRISE],
            json!({"department": "R&D", "manager": {"value": "boss"}})
        );
        assert!(
            r.body["schemas"]
                .as_array()
                .unwrap()
                .contains(&json!(ENTERPRISE))
        );
        let r = app
            .patch(
                &path,
                json!([{"op": "add", "value": {ENTERPRISE: {"costCenter": "42"}}}]),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        assert_eq!(r.body[ENTERPRISE]["costCenter"], "42");
        assert_eq!(r.body[ENTERPRISE]["department"], "R&D");
        let r = app
            .patch(
                &path,
                json!([{"op": "add", "path": ENTERPRISE, "value": {"division": "Ops"}}]),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        assert_eq!(r.body[ENTERPRISE]["division"], "Ops");
        assert_eq!(app.get(&path).await.body[ENTERPRISE], r.body[ENTERPRISE]);
    }
}

#[tokio::test]
async fn discovery_endpoints_answer_other_methods_405_with_allow() {
    let app = rfc_app().await;
    for path in [
        "/Schemas",
        "/Schemas/urn:ietf:params:scim:schemas:core:2.0:User",
        "/ResourceTypes",
        "/ResourceTypes/User",
        "/ServiceProviderConfig",
    ] {
        for method in [Method::POST, Method::PUT, Method::PATCH, Method::DELETE] {
            let r = app.call(method.clone(), path, Some(json!({}))).await;
            assert_rfc_error(&r, 405, None);
            let allow = r.header("allow").unwrap_or_default();
            assert!(allow.contains("GET"), "{method} {path}: Allow {allow:?}");
        }
    }
    // AWS answers an unsupported method 400, as for any other endpoint.
    let aws = TestApp::new().await;
    let r = aws.call(Method::POST, "/Schemas", Some(json!({}))).await;
    assert_error(&r, 400, "not supported");
}

/// The attributes of `schema` (from `/Schemas`) by name, with their sub-attributes' names.
fn declared(schemas: &Value, schema: &str, attribute: &str) -> Vec<String> {
    let schema = schemas["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == schema)
        .unwrap_or_else(|| panic!("no schema {schema}"));
    let attr = schema["attributes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["name"] == attribute)
        .unwrap_or_else(|| panic!("no attribute {attribute}"));
    let mut names: Vec<String> = attr["subAttributes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap().to_owned())
        .collect();
    names.sort();
    names
}

#[tokio::test]
async fn schemas_declare_every_sub_attribute_a_response_carries() {
    let app = rfc_app().await;
    let (alice, _, _, group) = people(&app).await;
    let schemas = app.get("/Schemas").await.body;
    let four = ["$ref", "display", "type", "value"];
    let core_user = "urn:ietf:params:scim:schemas:core:2.0:User";
    let core_group = "urn:ietf:params:scim:schemas:core:2.0:Group";
    assert_eq!(declared(&schemas, core_group, "members"), four);
    assert_eq!(declared(&schemas, core_user, "groups"), four);
    let user = app.get(&format!("/Users/{alice}")).await.body;
    let g = app.get(&format!("/Groups/{group}")).await.body;
    for (value, names) in [
        (&user["groups"][0], declared(&schemas, core_user, "groups")),
        (&g["members"][0], declared(&schemas, core_group, "members")),
    ] {
        for key in value.as_object().unwrap().keys() {
            assert!(names.contains(key), "{key} is not declared: {value}");
        }
    }
    let member_ref = schemas["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == core_group)
        .unwrap()["attributes"][2]["subAttributes"][1]
        .clone();
    assert_eq!(member_ref["name"], "$ref");
    assert_eq!(member_ref["type"], "reference");
    assert_eq!(member_ref["referenceTypes"], json!(["User", "Group"]));
}

/// The version a resource body names in `meta.version`.
fn version_of(body: &Value) -> i64 {
    let tag = body["meta"]["version"].as_str().unwrap();
    tag.trim_start_matches("W/\"")
        .trim_end_matches('"')
        .parse()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_patches_of_one_user_apply_one_after_another() {
    let app = rfc_app().await;
    let created = app.post("/Users", user_body("race@example.com")).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let path = format!("/Users/{}", created.body["id"].as_str().unwrap());
    let (changes, operations) = replacements(&USER_STRING_PATHS, 100);
    let responses = app.race_patches(&path, operations).await;
    // Each answer is the user as its PATCH left it: ordered by version, each differs from the
    // one before in its own change alone, so that no PATCH worked on a stale copy.
    let mut applied: Vec<(i64, &Value, &(&str, Value))> = responses
        .iter()
        .zip(&changes)
        .map(|(r, change)| {
            assert_eq!(r.status, StatusCode::OK, "{}", r.body);
            (version_of(&r.body), &r.body, change)
        })
        .collect();
    applied.sort_by_key(|(version, _, _)| *version);
    let versions: Vec<i64> = applied.iter().map(|(v, _, _)| *v).collect();
    assert_eq!(versions, (2..=101).collect::<Vec<_>>());
    let mut before = &created.body;
    for (version, after, (changed, value)) in &applied {
        for attr in USER_STRING_PATHS {
            let expected = if attr == *changed {
                value
            } else {
                value_at(before, attr)
            };
            assert_eq!(
                value_at(after, attr),
                expected,
                "{attr} at version {version}"
            );
        }
        before = after;
    }
    let last = app.get(&path).await.body;
    assert_eq!(version_of(&last), 101);
    for attr in USER_STRING_PATHS {
        assert_eq!(value_at(&last, attr), value_at(before, attr), "{attr}");
    }
}

/// The `value` and `type` of each member (or group) of a resource, in order.
fn kinds(values: &Value) -> Vec<(String, String)> {
    values
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .map(|v| {
            let s = |k: &str| v[k].as_str().unwrap().to_owned();
            (s("value"), s("type"))
        })
        .collect()
}

#[tokio::test]
async fn groups_may_hold_groups_and_never_themselves() {
    let app = rfc_app().await;
    let (alice, bob, _, eng) = people(&app).await;
    let new_group = |name: &str, members: Value| {
        let app = &app;
        let body = json!({"displayName": name, "members": members});
        async move {
            let r = app.post("/Groups", body).await;
            assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
            r
        }
    };
    let platform = id(&new_group("Platform", json!([{"value": bob}])).await);
    // PATCH adds a group as a member; the answer names it as a Group.
    let r = app
        .patch(
            &format!("/Groups/{platform}"),
            json!([{"op": "add", "path": "members", "value": [{"value": eng}]}]),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let member_eng = (eng.clone(), "Group".to_owned());
    assert_eq!(
        kinds(&r.body["members"]),
        [(bob.clone(), "User".to_owned()), member_eng.clone()]
    );
    assert_eq!(
        r.body["members"][1]["$ref"],
        json!(format!("http://localhost{}/Groups/{eng}", app.base()))
    );
    // A create may name groups too; a user belongs directly and through the nesting.
    let all = new_group("Everyone", json!([{"value": platform}])).await;
    assert_eq!(
        kinds(&all.body["members"]),
        [(platform.clone(), "Group".to_owned())]
    );
    let all = id(&all);
    let mut expected = vec![
        (all.clone(), "indirect".to_owned()),
        (platform.clone(), "indirect".to_owned()),
    ];
    expected.sort();
    expected.insert(0, (eng.clone(), "direct".to_owned()));
    assert_eq!(
        kinds(&app.get(&format!("/Users/{alice}")).await.body["groups"]),
        expected
    );
    let filter = |f: String| format!("filter={}", form_encode(&f));
    let of_eng = list(
        &app,
        "/Groups",
        &filter(format!("members.value eq \"{eng}\"")),
    )
    .await;
    assert_eq!(names(&of_eng), ["Platform"]);
    let under_all = list(
        &app,
        "/Users",
        &filter(format!("groups.value eq \"{all}\"")),
    )
    .await;
    let mut under_all = names(&under_all);
    under_all.sort();
    assert_eq!(under_all, [A, B]);

    // No group is its own member, directly or at any depth; nothing is written then.
    for (group, member) in [
        (&eng, &eng),
        (&eng, &platform),
        (&eng, &all),
        (&platform, &all),
    ] {
        let r = app
            .patch(
                &format!("/Groups/{group}"),
                json!([{"op": "add", "path": "members", "value": [{"value": member}]}]),
            )
            .await;
        assert_rfc_error(&r, 400, Some("invalidValue"));
        assert!(
            r.body["detail"]
                .as_str()
                .unwrap()
                .contains("member of itself")
        );
    }
    let put = json!({"displayName": "Engineering", "members": [{"value": alice}, {"value": all}]});
    let r = app
        .call(Method::PUT, &format!("/Groups/{eng}"), Some(put))
        .await;
    assert_rfc_error(&r, 400, Some("invalidValue"));
    assert_eq!(
        kinds(&app.get(&format!("/Groups/{eng}")).await.body["members"]),
        [(alice.clone(), "User".to_owned())]
    );
    // A replace drops member groups like users; deleting a group drops it from its parents.
    let put = json!({"displayName": "Platform", "members": [{"value": bob}]});
    let r = app
        .call(Method::PUT, &format!("/Groups/{platform}"), Some(put))
        .await;
    assert_eq!(
        kinds(&r.body["members"]),
        [(bob.clone(), "User".to_owned())]
    );
    assert_eq!(
        app.call(Method::DELETE, &format!("/Groups/{platform}"), None)
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    assert!(
        app.get(&format!("/Groups/{all}"))
            .await
            .body
            .get("members")
            .is_none()
    );
    // An id that is neither a user nor a group is still a 404.
    let r = app
        .patch(
            &format!("/Groups/{all}"),
            json!([{"op": "add", "path": "members", "value": [{"value": "nobody"}]}]),
        )
        .await;
    assert_rfc_error(&r, 404, None);

    // AWS's members are users: a group id is refused as before.
    let aws = TestApp::new().await;
    let g1 = aws.post("/Groups", json!({"displayName": "G1"})).await;
    let g2 = aws.post("/Groups", json!({"displayName": "G2"})).await;
    let r = aws
        .patch(
            &format!("/Groups/{}", id(&g1)),
            json!([{"op": "add", "path": "members", "value": [{"value": id(&g2)}]}]),
        )
        .await;
    assert_error(&r, 404, "Member user not found.");
    let r = aws
        .post(
            "/Groups",
            json!({"displayName": "G3", "members": [{"value": id(&g1)}]}),
        )
        .await;
    assert_error(&r, 404, "Member user not found.");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_nestings_never_close_a_loop() {
    let app = rfc_app().await;
    let mut ids = Vec::new();
    for name in ["A", "B", "C", "D"] {
        let r = app.post("/Groups", json!({"displayName": name})).await;
        ids.push(id(&r));
    }
    // Four requests that would each close a loop A ⊃ B ⊃ C ⊃ D ⊃ A if all succeeded.
    let add = |group: &String, member: &String| {
        let path = format!("/Groups/{group}");
        let ops = json!([{"op": "add", "path": "members", "value": [{"value": member}]}]);
        let app = &app;
        async move { app.patch(&path, ops).await }
    };
    let (ab, bc, cd, da) = tokio::join!(
        add(&ids[0], &ids[1]),
        add(&ids[1], &ids[2]),
        add(&ids[2], &ids[3]),
        add(&ids[3], &ids[0])
    );
    let mut added = 0;
    for r in [&ab, &bc, &cd, &da] {
        match r.status.as_u16() {
            200 => added += 1,
            // Refused as a loop, or, on PostgreSQL, ordered out by a deadlock and to retry.
            400 | 429 => {}
            other => panic!("{other}: {}", r.body),
        }
    }
    assert!(added < 4, "a loop was closed");
    let mut edges = 0;
    for group in &ids {
        let g = app.get(&format!("/Groups/{group}")).await.body;
        edges += kinds(&g["members"]).len();
    }
    assert_eq!(edges, added);
}
