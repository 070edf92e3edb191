//! The rows of docs/aws-behaviour.md that no other module pins: what AWS was seen to answer
//! where the developer guide is silent or out of date, and the choices made where nothing was
//! seen. Each test names the row it pins.

use axum::http::StatusCode;
use idc_scim::controls::Controls;
use idc_scim::controls::throttle::{AWS_LIMIT, Throttle};
use idc_scim::state::AppState;
use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_error, form_encode, user_body};

#[tokio::test]
async fn total_results_counts_the_resources_of_the_page() {
    let app = TestApp::new().await;
    for name in ["a@x.y", "b@x.y", "c@x.y"] {
        app.create_user(name).await;
    }
    let r = app.get("/Users?count=2&startIndex=2").await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["Resources"].as_array().unwrap().len(), 2);
    assert_eq!(r.body["totalResults"], 2, "not the 3 that exist");
    assert_eq!(r.body["itemsPerPage"], 2);
    assert_eq!(r.body["startIndex"], 1);
}

#[tokio::test]
async fn an_empty_id_in_a_filter_is_the_generic_400() {
    let app = TestApp::new().await;
    let u = app.user_id("u@x.y").await;
    let g = app
        .post(
            "/Groups",
            json!({"displayName": "G", "members": [{"value": u}]}),
        )
        .await;
    let g = g.body["id"].as_str().unwrap().to_owned();
    for (path, filter) in [
        ("/Groups", format!("id eq \"{g}\" and members eq \"\"")),
        ("/Groups", "members.value eq \"\"".to_owned()),
        ("/Users", "groups.value eq \"\"".to_owned()),
    ] {
        let r = app
            .get(&format!("{path}?filter={}", form_encode(&filter)))
            .await;
        assert_error(
            &r,
            400,
            "Request is unparsable, syntactically incorrect, or violates schema.",
        );
    }
    // An empty userName is no id: nobody has it.
    let r = app
        .get(&format!(
            "/Users?filter={}",
            form_encode("userName eq \"\"")
        ))
        .await;
    assert_eq!(r.body["totalResults"], 0);
}

#[tokio::test]
async fn validation_details_are_worded_as_aws_words_them() {
    let app = TestApp::new().await;
    let mut body = user_body("v@x.y");
    body["name"] = json!({"familyName": "Doe"});
    let required = "2 validation errors detected: Value at 'name.givenName' failed to satisfy \
        constraint: Member must have length greater than or equal to 1; Value at \
        'name.givenName' failed to satisfy constraint: Member must satisfy regular expression \
        pattern: [\\p{L}\\p{M}\\p{S}\\p{N}\\p{P}\\t\\n\\r ]+";
    assert_error(&app.post("/Users", body.clone()).await, 400, required);
    body["name"] = json!({"familyName": "Doe", "givenName": ""});
    assert_error(&app.post("/Users", body).await, 400, required);
    let mut body = user_body("v@x.y");
    body["title"] = json!("t".repeat(1025));
    assert_error(
        &app.post("/Users", body).await,
        400,
        "1 validation errors detected: Value at 'title' failed to satisfy constraint: \
         Member must have length less than or equal to 1024",
    );
    let mut body = user_body("v@x.y");
    body["emails"] = json!([{"value": "a@x.y", "primary": true}, {"value": "b@x.y"}]);
    assert_error(
        &app.post("/Users", body).await,
        400,
        "List attribute emails exceeds allowed limit of 1",
    );
    let id = app.user_id("w@x.y").await;
    let r = app
        .patch(
            &format!("/Users/{id}"),
            json!([{"op": "add", "path": "emails", "value": [{"value": "c@x.y"}]}]),
        )
        .await;
    assert_error(&r, 400, "List attribute emails exceeds allowed limit of 1");
    assert_eq!(app.user_count().await, 1, "nothing was written");
}

#[tokio::test]
async fn a_user_without_active_is_active() {
    let app = TestApp::new().await;
    let mut body = user_body("quiet@x.y");
    body.as_object_mut().unwrap().remove("active");
    let r = app.post("/Users", body.clone()).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(r.body["active"], true);
    let id = r.body["id"].as_str().unwrap().to_owned();
    let r = app
        .patch(
            &format!("/Users/{id}"),
            json!([{"op": "replace", "path": "active", "value": false}]),
        )
        .await;
    assert_eq!(r.body["active"], false);
    // A replace without `active` makes the user active again: there is no third state.
    let r = app
        .call(axum::http::Method::PUT, &format!("/Users/{id}"), Some(body))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["active"], true);
}

#[tokio::test]
async fn a_patch_group_holds_at_most_a_hundred_operations() {
    let app = TestApp::new().await;
    let g = app.post("/Groups", json!({"displayName": "G"})).await;
    let path = format!("/Groups/{}", g.body["id"].as_str().unwrap());
    let rename = |n: usize| -> Value {
        (0..n)
            .map(|i| json!({"op": "replace", "path": "displayName", "value": format!("G{i}")}))
            .collect()
    };
    assert_eq!(
        app.patch(&path, rename(100)).await.status,
        StatusCode::NO_CONTENT
    );
    let r = app.patch(&path, rename(101)).await;
    assert_error(&r, 400, "at most 100 operations");
    assert_eq!(app.get(&path).await.body["displayName"], "G99");
}

#[tokio::test]
async fn the_throttle_admits_twenty_requests_a_second_per_tenant() {
    let app = TestApp::with(|state| AppState {
        controls: Controls {
            throttle: Throttle::new(Some(AWS_LIMIT)),
            ..Controls::default()
        },
        ..state
    })
    .await;
    for _ in 0..20 {
        assert_eq!(app.get("/Users").await.status, StatusCode::OK);
    }
    assert_error(&app.get("/Users").await, 429, "Too many requests");
    app.clock.advance_ms(50);
    assert_eq!(
        app.get("/Users").await.status,
        StatusCode::OK,
        "one more in 50 ms"
    );
    assert_eq!(
        app.get("/Users").await.status,
        StatusCode::TOO_MANY_REQUESTS
    );
}
