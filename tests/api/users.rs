//! The Users rows of AWS-SCIM.md and the Users shapes of IDP-CLIENTS.md, over HTTP.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{
    TestApp, USER_STRING_PATHS, add_tenant, assert_error, form_encode, replacements, user_body,
    value_at,
};

const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

fn is_aws_id(id: &str, identity_store_id: &str) -> bool {
    let prefix = identity_store_id.trim_start_matches("d-");
    id.len() == 47
        && id.starts_with(&format!("{prefix}-"))
        && uuid::Uuid::parse_str(&id[11..]).is_ok()
}

#[tokio::test]
async fn create_user_answers_201_with_the_aws_shape() {
    let app = TestApp::new().await;
    let r = app.post("/Users", user_body("jane@example.com")).await;
    assert_eq!(r.status, StatusCode::CREATED);
    assert_eq!(r.header("content-type"), Some("application/json"));
    let request_id = r.header("x-amzn-requestid").unwrap();
    assert!(uuid::Uuid::parse_str(request_id).is_ok());
    let b = &r.body;
    let id = b["id"].as_str().unwrap();
    assert!(is_aws_id(id, &app.tenant.identity_store_id), "{id}");
    assert_eq!(
        r.header("location").unwrap(),
        format!("http://localhost{}/Users/{id}", app.base())
    );
    // AWS's examples and captured bodies carry no meta.location.
    assert!(b["meta"].get("location").is_none(), "{b}");
    assert_eq!(b["meta"]["resourceType"], "User");
    assert_eq!(b["meta"]["created"], "2026-01-01T00:00:00Z");
    assert_eq!(b["meta"]["lastModified"], "2026-01-01T00:00:00Z");
    assert_eq!(
        b["schemas"],
        json!(["urn:ietf:params:scim:schemas:core:2.0:User"])
    );
    assert_eq!(b["userName"], "jane@example.com");
    assert_eq!(b["name"], json!({"givenName": "Jane", "familyName": "Doe"}));
    assert_eq!(b["active"], true);
    assert_eq!(
        b["emails"],
        json!([{"value": "jane@example.com.mail@example.com", "type": "work", "primary": true}])
    );
    let got = app.get(&format!("/Users/{id}")).await;
    assert_eq!(got.status, StatusCode::OK);
    assert_eq!(got.body, r.body);
}

#[tokio::test]
async fn every_supported_attribute_round_trips() {
    let app = TestApp::new().await;
    let body = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE],
        "externalId": "00u1",
        "userName": "full@example.com",
        "name": {"formatted": "Dr Jane Q Doe III", "familyName": "Doe", "givenName": "Jane",
                 "middleName": "Q", "honorificPrefix": "Dr", "honorificSuffix": "III"},
        "displayName": "Jane Doe",
        "nickName": "JD",
        "profileUrl": "https://example.com/jane",
        "title": "Engineer",
        "userType": "Employee",
        "preferredLanguage": "en-US",
        "locale": "en-US",
        "timezone": "Europe/Paris",
        "active": false,
        "emails": [{"value": "full@example.com", "type": "work", "primary": true}],
        "addresses": [{"formatted": "1 Main St, Springfield", "streetAddress": "1 Main St",
                       "locality": "Springfield", "region": "IL", "postalCode": "62701",
                       "country": "US", "type": "work", "primary": true}],
        "phoneNumbers": [{"value": "+1 555 0100", "type": "work"}],
        ENTERPRISE: {"employeeNumber": "42", "costCenter": "CC1", "organization": "Org",
                     "division": "Div", "department": "R&D", "manager": {"value": "boss-id"}},
        "meta": {"resourceType": "User"},
    });
    let r = app.post("/Users", body.clone()).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let mut expected = body;
    let obj = expected.as_object_mut().unwrap();
    obj.remove("meta");
    for (k, v) in obj.iter() {
        assert_eq!(&r.body[k], v, "attribute {k}");
    }
}

#[tokio::test]
async fn required_attributes_are_enforced_and_nothing_is_stored() {
    let app = TestApp::new().await;
    for (pointer, name) in [
        ("userName", "userName"),
        ("displayName", "displayName"),
        ("name", "name"),
    ] {
        let mut body = user_body("x@example.com");
        body.as_object_mut().unwrap().remove(pointer);
        let r = app.post("/Users", body).await;
        assert_error(&r, 400, name);
    }
    for sub in ["givenName", "familyName"] {
        let mut body = user_body("x@example.com");
        body["name"].as_object_mut().unwrap().remove(sub);
        let r = app.post("/Users", body).await;
        assert_error(&r, 400, &format!("name.{sub}"));
    }
    assert_eq!(app.user_count().await, 0);
}

#[tokio::test]
async fn aws_rejects_what_it_does_not_support() {
    let app = TestApp::new().await;
    let cases: Vec<(Value, &str)> = vec![
        (
            json!({"emails": [{"value": "a@x.y", "primary": true}, {"value": "b@x.y"}]}),
            "emails",
        ),
        (
            json!({"addresses": [{"locality": "A"}, {"locality": "B"}]}),
            "addresses",
        ),
        (
            json!({"phoneNumbers": [{"value": "1"}, {"value": "2"}]}),
            "phoneNumbers",
        ),
        (
            json!({"emails": [{"value": "a@x.y", "type": "work"}]}),
            "primary",
        ),
        (json!({"groups": [{"value": "g"}]}), "groups"),
        (json!({"password": "hunter2"}), "password"),
        (json!({"ims": [{"value": "x"}]}), "ims"),
        (
            json!({"emails": [{"value": "a@x.y", "primary": true, "display": "A"}]}),
            "emails.display",
        ),
        (
            json!({ENTERPRISE: {"manager": {"value": "m", "displayName": "M"}}}),
            "manager.displayName",
        ),
        (json!({"userName": "a".repeat(129)}), "userName"),
        (json!({"externalId": "e".repeat(257)}), "externalId"),
        (json!({"displayName": "d".repeat(1025)}), "displayName"),
        (json!({"userName": "Administrator"}), "reserved"),
        (json!({"active": "yes"}), "active"),
        (json!({"displayName": 42}), "displayName"),
        (json!({"name": ["Jane"]}), "name"),
    ];
    for (patch, detail) in cases {
        let mut body = user_body("x@example.com");
        for (k, v) in patch.as_object().unwrap() {
            body[k] = v.clone();
        }
        let r = app.post("/Users", body).await;
        assert_error(&r, 400, detail);
    }
    assert_eq!(app.user_count().await, 0);
}

#[tokio::test]
async fn user_names_accept_what_aws_accepts() {
    let app = TestApp::new().await;
    for name in [
        "Zoë O'Brien+tag@example.com",
        "jane\u{a0}doe",
        "李小龍",
        "a",
    ] {
        let r = app.post("/Users", user_body(name)).await;
        assert_eq!(r.status, StatusCode::CREATED, "{name}: {}", r.body);
        assert_eq!(r.body["userName"], name);
    }
}

#[tokio::test]
async fn duplicate_user_name_or_email_is_a_conflict() {
    let app = TestApp::new().await;
    app.create_user("jane@example.com").await;
    let r = app.post("/Users", user_body("JANE@Example.COM")).await;
    assert_error(&r, 409, "Refused to create a new, duplicate resource.");
    let mut other = user_body("other@example.com");
    other["emails"][0]["value"] = json!("JANE@EXAMPLE.COM.mail@example.com");
    let r = app.post("/Users", other).await;
    assert_error(&r, 409, "Refused to create a new, duplicate resource.");
    assert_eq!(app.user_count().await, 1);
}

#[tokio::test]
async fn get_unknown_user_is_404() {
    let app = TestApp::new().await;
    let r = app
        .get("/Users/9067729b3d-ee533c18-538a-4cd3-a572-63fb863ed734")
        .await;
    assert_error(&r, 404, "USER does not exist.");
    let r = app.get("/Users/not%20even%20an%20id").await;
    assert_error(&r, 404, "USER does not exist.");
}

async fn list(app: &TestApp, query: &str) -> Value {
    let r = app.get(&format!("/Users?{query}")).await;
    assert_eq!(r.status, StatusCode::OK, "{query}: {}", r.body);
    r.body
}

fn user_names(list: &Value) -> Vec<String> {
    let mut names: Vec<String> = list["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["userName"].as_str().unwrap().to_owned())
        .collect();
    names.sort();
    names
}

#[tokio::test]
async fn list_users_filters_as_aws_does() {
    let app = TestApp::new().await;
    let boss = app.create_user("boss@example.com").await;
    let boss_id = boss["id"].as_str().unwrap();
    let mut body = user_body("Jane.Doe@example.com");
    body["externalId"] = json!("Ext-1");
    body[ENTERPRISE] = json!({"manager": {"value": boss_id}});
    let jane = app.post("/Users", body).await.body;
    let jane_id = jane["id"].as_str().unwrap();

    let all = list(&app, "").await;
    assert_eq!(all["totalResults"], 2);
    assert_eq!(all["itemsPerPage"], 2);
    assert_eq!(all["startIndex"], 1);
    assert_eq!(
        all["schemas"],
        json!(["urn:ietf:params:scim:api:messages:2.0:ListResponse"])
    );
    assert!(all.get("nextCursor").is_none());

    // userName is case-insensitive; values arrive with + or %20 for spaces.
    for q in [
        "filter=userName%20eq%20%22jane.doe@example.com%22",
        "filter=userName+eq+%22JANE.DOE@EXAMPLE.COM%22&startIndex=1&count=100",
        "filter=USERNAME+EQ+%22Jane.Doe%40example.com%22&count=1",
    ] {
        let l = list(&app, q).await;
        assert_eq!(l["totalResults"], 1, "{q}");
        assert_eq!(l["Resources"][0]["id"], json!(jane_id));
    }
    let by_ext = list(&app, "filter=externalId+eq+%22Ext-1%22").await;
    assert_eq!(user_names(&by_ext), ["Jane.Doe@example.com"]);
    // externalId is case-exact.
    assert_eq!(
        list(&app, "filter=externalId+eq+%22ext-1%22").await["totalResults"],
        0
    );
    let by_id = list(&app, &format!("filter=id+eq+%22{jane_id}%22")).await;
    assert_eq!(by_id["totalResults"], 1);
    for q in [
        format!("filter=id+eq+%22{jane_id}%22+and+manager+eq+%22{boss_id}%22"),
        format!("filter=manager+eq+%22{boss_id}%22+and+id+eq+%22{jane_id}%22"),
    ] {
        assert_eq!(list(&app, &q).await["totalResults"], 1, "{q}");
    }
    let q = format!("filter=id+eq+%22{boss_id}%22+and+manager+eq+%22{boss_id}%22");
    assert_eq!(list(&app, &q).await["totalResults"], 0);
    // Entra ID's test connection: a random userName, 200 with no results.
    let q = format!("filter=userName+eq+%22{}%22", uuid::Uuid::new_v4());
    let none = list(&app, &q).await;
    assert_eq!(none["totalResults"], 0);
    assert_eq!(none["Resources"], json!([]));
    // Entra sends excludedAttributes, Okta startIndex: both are ignored.
    assert_eq!(
        list(&app, "excludedAttributes=members&startIndex=5").await["totalResults"],
        2
    );
}

#[tokio::test]
async fn filter_values_with_quotes_and_unicode_are_matched_exactly() {
    let app = TestApp::new().await;
    let name = "o'brien \"the\" zoë+x@example.com";
    app.create_user(name).await;
    let encoded: String = form_encode(&format!("userName eq \"{}\"", name.replace('"', "\\\"")));
    let l = list(&app, &format!("filter={encoded}")).await;
    assert_eq!(user_names(&l), [name]);
    // A value that would be SQL if it were pasted into a query is only a value.
    let l = list(
        &app,
        &format!("filter={}", form_encode("userName eq \"x' OR '1'='1\"")),
    )
    .await;
    assert_eq!(l["totalResults"], 0);
}

/// GetUser and the userName lookup, by id and by name, of users of the tenant, of none, and
/// of the tenant's users through another tenant's endpoint.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_gets_and_lookups_each_find_their_own_user_and_no_other_tenants() {
    let app = TestApp::new().await;
    let (other, other_token) = add_tenant(&app.state.store).await;
    let mut users = Vec::new();
    for i in 0..30 {
        let name = format!("Racer{i}@Example.com");
        users.push((app.user_id(&name).await, name));
    }
    let request = |tenant: &str, token: &str, path: String| {
        Request::get(format!("/{tenant}/scim/v2{path}"))
            .header("authorization", format!("Bearer {token}"))
            .body(Body::empty())
            .unwrap()
    };
    let lookup = |name: &str| {
        format!(
            "/Users?filter={}",
            form_encode(&format!("userName eq \"{name}\""))
        )
    };
    // (request, the id it finds or None)
    let mut cases: Vec<(Request<Body>, Option<String>)> = Vec::new();
    let (own, token) = (app.tenant.tenant_id.as_str(), app.token.as_str());
    for (i, (id, name)) in users.iter().enumerate() {
        cases.push((
            request(own, token, format!("/Users/{id}")),
            Some(id.clone()),
        ));
        let asked = if i % 2 == 0 {
            name.to_uppercase()
        } else {
            name.to_lowercase()
        };
        cases.push((request(own, token, lookup(&asked)), Some(id.clone())));
        if i % 5 == 0 {
            let other_path = format!("/Users/{id}");
            cases.push((request(&other.tenant_id, &other_token, other_path), None));
            cases.push((request(&other.tenant_id, &other_token, lookup(name)), None));
            let missing = format!("/Users/{}", uuid::Uuid::new_v4());
            cases.push((request(own, token, missing), None));
            cases.push((request(own, token, lookup(&format!("x{name}"))), None));
        }
    }
    let (requests, expected): (Vec<_>, Vec<_>) = cases.into_iter().unzip();
    let responses = app.race(requests).await;
    for (r, expected) in responses.iter().zip(expected) {
        let found = if r.body.get("Resources").is_some() {
            assert_eq!(r.status, StatusCode::OK);
            assert_eq!(
                r.body["totalResults"],
                json!(usize::from(expected.is_some()))
            );
            r.body["Resources"][0]["id"].as_str().map(str::to_owned)
        } else if r.status == StatusCode::OK {
            r.body["id"].as_str().map(str::to_owned)
        } else {
            assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.body);
            None
        };
        assert_eq!(found, expected, "{}", r.body);
    }
}

#[tokio::test]
async fn unsupported_filters_and_counts_are_400() {
    let app = TestApp::new().await;
    let only_eq = "Only the eq operator is supported in filters.";
    let only_and = "Only the and logical operator is supported in filters.";
    for (filter, detail) in [
        ("userName co \"x\"", only_eq),
        ("userName sw \"x\"", only_eq),
        ("userName pr", only_eq),
        ("displayName eq \"x\"", "Unsupported filter: displayName eq"),
        (
            "emails.value eq \"x\"",
            "Unsupported filter: emails.value eq",
        ),
        ("userName eq \"a\" or userName eq \"b\"", only_and),
        ("not (userName eq \"a\")", only_and),
        (
            "userName eq \"a\" and externalId eq \"b\"",
            "Unsupported filter: userName",
        ),
        ("emails[type eq \"work\"]", only_and),
        (
            "userName eq 42",
            "Filter values must be strings in double quotes.",
        ),
        // AWS names no more than this (CloudTrail's list of validation errors, since 2024).
        ("userName eq", "Invalid Filter format"),
        ("userName \"x\"", "Invalid Filter format"),
        ("(userName eq \"x\"", "Invalid Filter format"),
    ] {
        let r = app
            .get(&format!("/Users?filter={}", form_encode(filter)))
            .await;
        assert_error(&r, 400, detail);
    }
    let deep = format!("{}userName eq \"x\"{}", "(".repeat(5000), ")".repeat(5000));
    let r = app
        .get(&format!("/Users?filter={}", form_encode(&deep)))
        .await;
    assert_error(&r, 400, "Invalid Filter format");
    for count in ["0", "101", "-1", "abc", "1.5"] {
        let r = app.get(&format!("/Users?count={count}")).await;
        assert_error(&r, 400, "count");
    }
}

#[tokio::test]
async fn cursor_paging_walks_every_user_once() {
    let app = TestApp::new().await;
    for i in 0..5 {
        app.create_user(&format!("u{i}@example.com")).await;
    }
    let mut seen = Vec::new();
    let mut query = "count=2&cursor=".to_owned();
    let mut pages = 0;
    loop {
        let page = list(&app, &query).await;
        pages += 1;
        assert!(page.get("totalResults").is_none());
        assert_eq!(
            page["itemsPerPage"],
            page["Resources"].as_array().unwrap().len()
        );
        seen.extend(user_names(&page));
        match page.get("nextCursor").and_then(Value::as_str) {
            Some(c) => {
                assert!(
                    c.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"-+=/:_".contains(&b))
                );
                query = format!("count=2&cursor={c}");
            }
            None => break,
        }
    }
    assert_eq!(pages, 3);
    seen.sort();
    let expected: Vec<String> = (0..5).map(|i| format!("u{i}@example.com")).collect();
    assert_eq!(seen, expected);
    let r = app.get("/Users?cursor=%21%21%21").await;
    assert_error(&r, 400, "cursor");
}

#[tokio::test]
async fn put_replaces_the_user_and_keeps_id_and_created() {
    let app = TestApp::new().await;
    let mut body = user_body("put@example.com");
    body["title"] = json!("Engineer");
    body["externalId"] = json!("e1");
    let created = app.post("/Users", body).await.body;
    let id = created["id"].as_str().unwrap();
    app.clock.advance_ms(61_000);
    let mut replacement = user_body("put-renamed@example.com");
    replacement["id"] = json!(id);
    replacement["nickName"] = json!("P");
    let r = app
        .call(Method::PUT, &format!("/Users/{id}"), Some(replacement))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["id"], json!(id));
    assert_eq!(r.body["userName"], "put-renamed@example.com");
    assert_eq!(r.body["nickName"], "P");
    assert!(
        r.body.get("title").is_none(),
        "omitted attributes are removed"
    );
    assert!(r.body.get("externalId").is_none());
    assert_eq!(r.body["meta"]["created"], "2026-01-01T00:00:00Z");
    assert_eq!(r.body["meta"]["lastModified"], "2026-01-01T00:01:01Z");
    assert_eq!(app.get(&format!("/Users/{id}")).await.body, r.body);
    // The old name is free again, the new one is taken.
    app.create_user("put@example.com").await;
    let r = app
        .call(
            Method::PUT,
            &format!("/Users/{id}"),
            Some(user_body("PUT@example.com")),
        )
        .await;
    assert_error(&r, 409, "Refused to create a new, duplicate resource.");
    assert_eq!(
        app.get(&format!("/Users/{id}")).await.body["userName"],
        "put-renamed@example.com"
    );
    let r = app
        .call(Method::PUT, "/Users/nope", Some(user_body("z@example.com")))
        .await;
    assert_error(&r, 404, "USER does not exist.");
    let mut invalid = user_body("put-renamed@example.com");
    invalid.as_object_mut().unwrap().remove("displayName");
    let r = app
        .call(Method::PUT, &format!("/Users/{id}"), Some(invalid))
        .await;
    assert_error(&r, 400, "displayName");
}

#[tokio::test]
async fn patch_accepts_the_entra_id_forms() {
    let app = TestApp::new().await;
    let boss = app.user_id("boss@example.com").await;
    let id = app.user_id("entra@example.com").await;
    let path = format!("/Users/{id}");
    app.clock.advance_ms(1000);
    let r = app
        .patch(
            &path,
            json!([
                {"op": "Replace", "path": "active", "value": "False"},
                {"op": "Add", "path": "emails[type eq \"work\"].value", "value": "new@example.com"},
                {"op": "Replace", "path": "name.givenName", "value": "Janet"},
                {"op": "Replace", "path": "addresses[type eq \"work\"].streetAddress", "value": "1 Main St"},
                {"op": "Replace", "path": format!("{ENTERPRISE}:department"), "value": "R&D"},
                {"op": "Add", "path": format!("{ENTERPRISE}:manager"), "value": boss},
                {"op": "Replace", "value": {"displayName": "Janet D", "name.familyName": "D"}},
            ]),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let u = &r.body;
    assert_eq!(u["active"], false);
    assert_eq!(
        u["emails"],
        json!([{"value": "new@example.com", "type": "work", "primary": true}])
    );
    assert_eq!(u["name"], json!({"givenName": "Janet", "familyName": "D"}));
    assert_eq!(u["displayName"], "Janet D");
    assert_eq!(
        u["addresses"],
        json!([{"streetAddress": "1 Main St", "type": "work"}])
    );
    assert_eq!(
        u[ENTERPRISE],
        json!({"department": "R&D", "manager": {"value": boss}})
    );
    assert!(
        u["schemas"]
            .as_array()
            .unwrap()
            .contains(&json!(ENTERPRISE))
    );
    assert_eq!(u["meta"]["lastModified"], "2026-01-01T00:00:01Z");
    assert_eq!(app.get(&path).await.body, r.body);
    // The manager filter sees the patched manager.
    let q = format!(
        "/Users?filter={}",
        form_encode(&format!("id eq \"{id}\" and manager eq \"{boss}\""))
    );
    assert_eq!(app.get(&q).await.body["totalResults"], 1);
    // The new email is the unique one now.
    let mut clash = user_body("clash@example.com");
    clash["emails"][0]["value"] = json!("NEW@example.com");
    assert_error(
        &app.post("/Users", clash).await,
        409,
        "Refused to create a new, duplicate resource.",
    );
}

#[tokio::test]
async fn patch_accepts_the_okta_forms_and_reactivation() {
    let app = TestApp::new().await;
    let id = app.user_id("okta@example.com").await;
    let path = format!("/Users/{id}");
    let r = app
        .patch(
            &path,
            json!([{"op": "replace", "value": {"active": false}}]),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["active"], false);
    let r = app
        .patch(
            &path,
            json!([{"op": "REPLACE", "path": "active", "value": "true"}]),
        )
        .await;
    assert_eq!(r.body["active"], true);
    let r = app
        .patch(&path, json!([{"op": "remove", "path": "emails[type eq \"work\"]"}, {"op": "add", "path": "title", "value": "CTO"}]))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.body.get("emails").is_none());
    assert_eq!(r.body["title"], "CTO");
    let r = app
        .patch(&path, json!([{"op": "remove", "path": "title"}]))
        .await;
    assert!(r.body.get("title").is_none());
}

#[tokio::test]
async fn a_rejected_patch_changes_nothing() {
    let app = TestApp::new().await;
    let id = app.user_id("keep@example.com").await;
    app.user_id("taken@example.com").await;
    let path = format!("/Users/{id}");
    let before = app.get(&path).await.body;
    let cases: Vec<(Value, u16, &str)> = vec![
        (
            json!([{"op": "remove", "path": "userName"}]),
            400,
            "userName",
        ),
        (json!([{"op": "remove", "path": "active"}]), 400, "active"),
        (
            json!([{"op": "replace", "path": "active", "value": false},
                {"op": "replace", "path": "active", "value": true}]),
            400,
            "active",
        ),
        (
            json!([{"op": "replace", "path": "userName", "value": "a@x.y"},
                {"op": "replace", "value": {"userName": "b@x.y"}}]),
            400,
            "userName",
        ),
        (
            json!([{"op": "add", "path": "emails", "value": [{"value": "second@x.y", "type": "home"}]}]),
            400,
            "emails",
        ),
        (
            json!([{"op": "add", "path": "password", "value": "x"}]),
            400,
            "password",
        ),
        (
            json!([{"op": "replace", "path": "displayName", "value": ""}]),
            400,
            "displayName",
        ),
        (
            json!([{"op": "remove", "path": "name.givenName"}]),
            400,
            "givenName",
        ),
        (
            json!([{"op": "replace", "path": "emails[value co \"x\"].type", "value": "home"}]),
            400,
            "eq",
        ),
        (
            json!([{"op": "replace", "path": "title", "value": "ok"},
                {"op": "move", "path": "title"}]),
            400,
            "Operation \"move\" is not supported",
        ),
        (
            json!([{"op": "replace", "path": "title"}]),
            400,
            "A value is required for replace operations.",
        ),
        (
            json!([{"op": "replace", "path": "userName", "value": "TAKEN@example.com"}]),
            409,
            "Refused to create a new, duplicate resource.",
        ),
        (
            json!([{"op": "replace", "path": "emails[type eq \"work\"].value", "value": "taken@example.com.mail@example.com"}]),
            409,
            "Refused to create a new, duplicate resource.",
        ),
    ];
    for (ops, status, detail) in cases {
        let r = app.patch(&path, ops.clone()).await;
        assert_error(&r, status, detail);
        assert_eq!(app.get(&path).await.body, before, "after {ops}");
    }
    let r = app
        .patch(
            "/Users/unknown",
            json!([{"op": "replace", "path": "title", "value": "x"}]),
        )
        .await;
    assert_error(&r, 404, "USER does not exist.");
    let r = app
        .call(Method::PATCH, &path, Some(json!({"Operations": []})))
        .await;
    assert_error(&r, 400, "The schemas attribute must list");
}

#[tokio::test]
async fn delete_user_is_204_then_404() {
    let app = TestApp::new().await;
    let id = app.user_id("gone@example.com").await;
    let r = app
        .call(Method::DELETE, &format!("/Users/{id}"), None)
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_eq!(r.body, Value::Null);
    assert_error(
        &app.get(&format!("/Users/{id}")).await,
        404,
        "USER does not exist.",
    );
    let r = app
        .call(Method::DELETE, &format!("/Users/{id}"), None)
        .await;
    assert_error(&r, 404, "USER does not exist.");
    // The name can be used again.
    app.create_user("gone@example.com").await;
}

fn request(method: Method, uri: &str, token: Option<&str>) -> axum::http::request::Builder {
    let b = Request::builder().method(method).uri(uri);
    match token {
        Some(t) => b.header("authorization", format!("Bearer {t}")),
        None => b,
    }
}

#[tokio::test]
async fn authentication_follows_aws() {
    let app = TestApp::new().await;
    let users = format!("{}/Users", app.base());
    let r = app
        .send(
            request(Method::GET, &users, None)
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_error(&r, 401, "Authorization header is invalid or missing.");
    let r = app
        .send(
            request(Method::GET, &users, Some("wrong"))
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_error(&r, 401, "Authorization header is invalid or missing.");
    let basic = Request::get(&users).header("authorization", format!("Basic {}", app.token));
    assert_error(
        &app.send(basic.body(Body::empty()).unwrap()).await,
        401,
        "Authorization header is invalid or missing.",
    );
    // The scheme is case-insensitive.
    let lower = Request::get(&users).header("authorization", format!("bearer {}", app.token));
    assert_eq!(
        app.send(lower.body(Body::empty()).unwrap()).await.status,
        StatusCode::OK
    );
    // An unknown tenant id is AWS's 404 (issue thread, 2022), whatever the token; without
    // one it is the 401 of any request without a token. Another tenant's token is a 401.
    let r = app
        .send(
            request(Method::GET, "/nope/scim/v2/Users", Some(&app.token))
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_error(&r, 404, "TENANT does not exist.");
    let r = app
        .send(
            request(Method::GET, "/nope/scim/v2/Users", None)
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_error(&r, 401, "Authorization header is invalid or missing.");
    let (other, other_token) = add_tenant(&app.state.store).await;
    let r = app
        .send(
            request(Method::GET, &users, Some(&other_token))
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_error(&r, 401, "Authorization header is invalid or missing.");
    let theirs = format!("/{}/scim/v2/Users", other.tenant_id);
    let r = app
        .send(
            request(Method::GET, &theirs, Some(&other_token))
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    // The short alias serves the default tenant.
    app.create_user("alias@example.com").await;
    let r = app
        .send(
            request(Method::GET, "/scim/v2/Users", Some(&app.token))
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(r.body["totalResults"], 1);
    // Unknown endpoints are authenticated first, then 404.
    let r = app
        .send(
            request(Method::GET, "/scim/v2/Bulk", None)
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_error(&r, 401, "Authorization header is invalid or missing.");
    assert_error(
        &app.get("/Bulk").await,
        404,
        "The requested endpoint does not exist.",
    );
}

#[tokio::test]
async fn tenants_do_not_see_each_other() {
    let app = TestApp::new().await;
    let id = app.user_id("mine@example.com").await;
    let (other, token) = add_tenant(&app.state.store).await;
    let theirs = |p: &str| format!("/{}/scim/v2{p}", other.tenant_id);
    let get = request(Method::GET, &theirs(&format!("/Users/{id}")), Some(&token));
    assert_error(
        &app.send(get.body(Body::empty()).unwrap()).await,
        404,
        "USER does not exist.",
    );
    let q = theirs(&format!("/Users?filter=id+eq+%22{id}%22"));
    let r = app
        .send(
            request(Method::GET, &q, Some(&token))
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(r.body["totalResults"], 0);
    let del = request(
        Method::DELETE,
        &theirs(&format!("/Users/{id}")),
        Some(&token),
    );
    assert_error(
        &app.send(del.body(Body::empty()).unwrap()).await,
        404,
        "USER does not exist.",
    );
    // The same userName may exist in both.
    let post = request(Method::POST, &theirs("/Users"), Some(&token))
        .header("content-type", "application/json");
    let r = app
        .send(
            post.body(Body::from(user_body("mine@example.com").to_string()))
                .unwrap(),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    assert_eq!(
        app.get(&format!("/Users/{id}")).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn bad_requests_get_scim_errors_and_change_nothing() {
    let app = TestApp::new().await;
    let users = format!("{}/Users", app.base());
    let post = |ct: &str, body: Body| {
        request(Method::POST, &users, Some(&app.token))
            .header("content-type", ct)
            .body(body)
            .unwrap()
    };
    let r = app
        .send(post("application/json", Body::from("{\"userName\": ")))
        .await;
    // AWS's detail for a body that is not JSON (CloudTrail's list of validation errors).
    assert_error(&r, 400, "Invalid JSON from RequestBody");
    let r = app.send(post("application/json", Body::from("[]"))).await;
    assert_error(
        &r,
        400,
        "Request is unparsable, syntactically incorrect, or violates schema.",
    );
    let deep = format!("{}1{}", "[".repeat(100_000), "]".repeat(100_000));
    let r = app.send(post("application/json", Body::from(deep))).await;
    assert_error(&r, 400, "Invalid JSON from RequestBody");
    let mut huge = user_body("huge@example.com");
    huge["title"] = json!("x".repeat(2 * 1024 * 1024));
    let r = app
        .send(post("application/json", Body::from(huge.to_string())))
        .await;
    assert_error(&r, 413, "Request body is larger than the limit.");
    let r = app
        .send(post(
            "text/plain",
            Body::from(user_body("t@example.com").to_string()),
        ))
        .await;
    assert_error(&r, 415, "Content-Type");
    let r = app
        .send(post(
            "application/x-www-form-urlencoded",
            Body::from("userName=x"),
        ))
        .await;
    assert_error(
        &r,
        415,
        "Content-Type must be application/scim+json or application/json.",
    );
    // What IdPs send is accepted.
    let r = app
        .send(post(
            "application/scim+json; charset=utf-8",
            Body::from(user_body("ok@example.com").to_string()),
        ))
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    let no_ct = request(Method::POST, &users, Some(&app.token))
        .body(Body::from(user_body("noct@example.com").to_string()))
        .unwrap();
    assert_eq!(app.send(no_ct).await.status, StatusCode::CREATED);
    assert_eq!(app.user_count().await, 2);
    // Unsupported operations and endpoints.
    let r = app
        .call(Method::POST, "/Users/.search", Some(json!({})))
        .await;
    assert_error(&r, 400, "not supported");
    assert_error(
        &app.call(Method::DELETE, "/Users", None).await,
        400,
        "not supported",
    );
    assert_error(
        &app.get("/Me").await,
        404,
        "The requested endpoint does not exist.",
    );
    let r = app
        .send(Request::get("/nothing/here").body(Body::empty()).unwrap())
        .await;
    assert_error(&r, 404, "The requested endpoint does not exist.");
}

#[tokio::test]
async fn trailing_and_double_slashes_resolve() {
    let app = TestApp::new().await;
    let id = app.user_id("slash@example.com").await;
    for path in [
        format!("{}//Users", app.base()),
        format!("{}/Users/", app.base()),
        format!("{}//Users/{id}/", app.base()),
    ] {
        let r = app
            .send(
                request(Method::GET, &path, Some(&app.token))
                    .body(Body::empty())
                    .unwrap(),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{path}");
    }
}

#[tokio::test]
async fn concurrent_duplicate_creates_make_one_user() {
    let app = TestApp::new().await;
    let tasks: Vec<_> = (0..16)
        .map(|_| {
            let router = app.router.clone();
            let uri = format!("{}/Users", app.base());
            let token = app.token.clone();
            tokio::spawn(async move {
                use tower::ServiceExt;
                let req = Request::post(uri)
                    .header("authorization", format!("Bearer {token}"))
                    .header("content-type", "application/scim+json")
                    .body(Body::from(user_body("race@example.com").to_string()))
                    .unwrap();
                router.oneshot(req).await.unwrap().status()
            })
        })
        .collect();
    let mut created = 0;
    let mut conflicts = 0;
    for t in tasks {
        match t.await.unwrap() {
            StatusCode::CREATED => created += 1,
            StatusCode::CONFLICT => conflicts += 1,
            other => panic!("unexpected {other}"),
        }
    }
    assert_eq!((created, conflicts), (1, 15));
    assert_eq!(app.user_count().await, 1);
}

#[tokio::test]
async fn concurrent_patches_of_one_user_lose_nothing() {
    let app = TestApp::new().await;
    let id = app.user_id("busy@example.com").await;
    let attrs = [
        "title",
        "nickName",
        "locale",
        "timezone",
        "userType",
        "preferredLanguage",
        "profileUrl",
    ];
    let tasks: Vec<_> = attrs
        .iter()
        .map(|attr| {
            let router = app.router.clone();
            let uri = format!("{}/Users/{id}", app.base());
            let token = app.token.clone();
            let body = json!({
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [{"op": "add", "path": attr, "value": format!("v-{attr}")}],
            });
            tokio::spawn(async move {
                use tower::ServiceExt;
                let req = Request::patch(uri)
                    .header("authorization", format!("Bearer {token}"))
                    .header("content-type", "application/scim+json")
                    .body(Body::from(body.to_string()))
                    .unwrap();
                router.oneshot(req).await.unwrap().status()
            })
        })
        .collect();
    for t in tasks {
        assert_eq!(t.await.unwrap(), StatusCode::OK);
    }
    let user = app.get(&format!("/Users/{id}")).await.body;
    for attr in attrs {
        assert_eq!(user[attr], json!(format!("v-{attr}")), "{attr} lost");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_hundred_racing_patches_of_one_user_all_apply() {
    race_patches_of_one_user(&TestApp::new().await).await;
}

/// Races 100 PATCHes of one user, five for each of twenty attributes, then 100 of one
/// attribute: each answers 200, makes a version of its own, and leaves its value or a later
/// one.
pub async fn race_patches_of_one_user(app: &TestApp) {
    let id = app.user_id("race@example.com").await;
    let path = format!("/Users/{id}");
    let mut version = 1;
    for paths in [&USER_STRING_PATHS[..], &["displayName"]] {
        let (changes, operations) = replacements(paths, 100);
        let responses = app.race_patches(&path, operations).await;
        for ((attr, value), r) in changes.iter().zip(&responses) {
            assert_eq!(r.status, StatusCode::OK, "{}", r.body);
            assert_eq!(
                value_at(&r.body, attr),
                value,
                "the answer shows the change"
            );
        }
        version += 100;
        let stored = app.state.store.get_user(&app.tenant, &id).await.unwrap();
        assert_eq!(stored.version, version, "each PATCH made a version");
        let user = app.get(&path).await.body;
        for attr in paths {
            let now = value_at(&user, attr);
            assert!(
                changes.iter().any(|(a, v)| a == attr && v == now),
                "{attr} is {now}"
            );
        }
    }
}

#[tokio::test]
async fn discovery_describes_what_aws_supports() {
    let app = TestApp::new().await;
    let spc = app.get("/ServiceProviderConfig").await;
    assert_eq!(spc.status, StatusCode::OK);
    assert_eq!(spc.body["patch"]["supported"], true);
    assert_eq!(spc.body["bulk"]["supported"], false);
    assert_eq!(spc.body["filter"]["supported"], true);
    assert_eq!(spc.body["sort"]["supported"], false);
    assert_eq!(spc.body["etag"]["supported"], false);
    assert_eq!(spc.body["changePassword"]["supported"], false);
    assert_eq!(
        spc.body["authenticationSchemes"][0]["type"],
        "oauthbearertoken"
    );
    let schemas = app.get("/Schemas").await.body;
    assert_eq!(schemas["totalResults"], 3);
    let user = app
        .get("/Schemas/urn:ietf:params:scim:schemas:core:2.0:User")
        .await;
    assert_eq!(user.status, StatusCode::OK);
    let names: Vec<&str> = user.body["attributes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap())
        .collect();
    for n in [
        "userName",
        "name",
        "displayName",
        "emails",
        "addresses",
        "phoneNumbers",
        "active",
    ] {
        assert!(names.contains(&n), "{n}");
    }
    assert!(!names.contains(&"password") && !names.contains(&"photos"));
    assert_error(
        &app.get("/Schemas/urn:nope").await,
        404,
        "Schema not found.",
    );
    let types = app.get("/ResourceTypes").await.body;
    assert_eq!(types["totalResults"], 2);
    assert_eq!(
        app.get("/ResourceTypes/User").await.body["schemaExtensions"][0]["schema"],
        ENTERPRISE
    );
}

#[tokio::test]
async fn health_needs_no_token() {
    let app = TestApp::new().await;
    let r = app
        .send(Request::get("/health").body(Body::empty()).unwrap())
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["status"], "ok");
    assert!(r.header("x-amzn-requestid").is_some());
}
