//! One answer to bad input on both backends: a NUL, another control character or a format
//! character, wherever a string enters (SCIM body attributes, ids in paths, filter values,
//! cursors, admin paths, Identity Store requests), is a 400 with the API's own error body before
//! it reaches the database, never a 500, and nothing is written. Run on SQLite and on the
//! database `IDC_SCIM_TEST_DATABASE_URL` names.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{TestApp, TestResponse, assert_error, form_encode, user_body};
use crate::identitystore::{call, op};

/// Characters no string may hold: NUL, C0 and C1 controls, DEL, and (outside the Identity
/// Store's class) a format character.
const BAD: [char; 6] = ['\u{0}', '\u{1}', '\u{1b}', '\u{7f}', '\u{85}', '\u{200b}'];

/// A SCIM 400 about characters, with AWS's body and AWS's wording of a pattern.
#[track_caller]
fn refused(r: &TestResponse, what: &str) {
    refused_with(
        r,
        what,
        "failed to satisfy constraint: Member must satisfy regular expression pattern",
    );
}

/// A SCIM 400 with AWS's body and `detail`.
#[track_caller]
fn refused_with(r: &TestResponse, what: &str, detail: &str) {
    assert!(
        !r.status.is_server_error(),
        "{what}: {} {}",
        r.status,
        r.body
    );
    assert_error(r, 400, detail);
}

/// `s` percent-encoded as a path segment.
fn segment(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
}

#[tokio::test]
async fn control_characters_in_scim_bodies_are_refused_before_the_database() {
    let app = TestApp::new().await;
    let user = app.user_id("kept@example.com").await;
    let group = {
        let r = app
            .post(
                "/Groups",
                json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                       "displayName": "Kept"}),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        r.body["id"].as_str().unwrap().to_owned()
    };
    for c in BAD {
        let bad = format!("a{c}b");
        let pointers: [(&str, Value); 9] = [
            ("/userName", json!(bad)),
            ("/displayName", json!(bad)),
            ("/name/givenName", json!(bad)),
            ("/name/familyName", json!(bad)),
            ("/emails/0/value", json!(format!("{bad}@example.com"))),
            ("/externalId", json!(bad)),
            ("/title", json!(bad)),
            ("/addresses", json!([{"locality": bad}])),
            (
                "/urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
                json!({"department": bad, "manager": {"value": bad}}),
            ),
        ];
        for (pointer, value) in pointers {
            let mut body = user_body(&format!("new-{}@example.com", c as u32));
            match body.pointer_mut(pointer) {
                Some(slot) => *slot = value,
                None => {
                    body[pointer.trim_start_matches('/')] = value;
                }
            }
            refused(&app.post("/Users", body.clone()).await, pointer);
            let put = app
                .call(Method::PUT, &format!("/Users/{user}"), Some(body))
                .await;
            refused(&put, pointer);
        }
        let patches = [
            json!([{"op": "replace", "path": "displayName", "value": bad}]),
            json!([{"op": "replace", "value": {"nickName": bad}}]),
            json!([{"op": "replace", "path": "name.givenName", "value": bad}]),
            json!([{"op": "add", "path": "emails", "value": [{"value": bad, "primary": true}]}]),
        ];
        for ops in patches {
            refused(
                &app.patch(&format!("/Users/{user}"), ops.clone()).await,
                "PATCH",
            );
        }
        let filtered_path = json!([{"op": "replace", "path": format!("emails[value eq \"{bad}\"].type"), "value": "work"}]);
        let r = app.patch(&format!("/Users/{user}"), filtered_path).await;
        refused_with(
            &r,
            "PATCH path",
            "a string may hold letters, marks, symbols",
        );

        let group_body = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                                "displayName": bad});
        refused(&app.post("/Groups", group_body).await, "group displayName");
        let with_member = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                                 "displayName": "Fine", "members": [{"value": bad}]});
        refused(&app.post("/Groups", with_member).await, "group member");
        let by_filter = json!([{"op": "remove", "path": format!("members[value eq \"{bad}\"]")}]);
        let r = app.patch(&format!("/Groups/{group}"), by_filter).await;
        refused_with(
            &r,
            "group PATCH path",
            "a string may hold letters, marks, symbols",
        );
        for ops in [
            json!([{"op": "add", "path": "members", "value": [{"value": bad}]}]),
            json!([{"op": "replace", "path": "displayName", "value": bad}]),
            json!([{"op": "replace", "value": {"externalId": bad}}]),
        ] {
            refused(
                &app.patch(&format!("/Groups/{group}"), ops).await,
                "group PATCH",
            );
        }
    }
    // Nothing was written: the user and the group are as they were.
    assert_eq!(app.user_count().await, 1);
    let kept = app.get(&format!("/Users/{user}")).await;
    assert_eq!(kept.body["displayName"], "Jane Doe");
    let groups = app.get("/Groups").await;
    assert_eq!(groups.body["totalResults"], 1);
    assert_eq!(groups.body["Resources"][0]["displayName"], "Kept");
}

#[tokio::test]
async fn control_characters_in_ids_filters_and_cursors_are_refused() {
    let app = TestApp::new().await;
    let user = app.user_id("kept@example.com").await;
    for c in BAD {
        let bad = format!("{user}{c}");
        for path in [
            format!("/Users/{}", segment(&bad)),
            format!("/Groups/{}", segment(&bad)),
            format!("/Users/{}", segment(&c.to_string())),
        ] {
            for method in [Method::GET, Method::DELETE] {
                refused(&app.call(method.clone(), &path, None).await, &path);
            }
            let patch = app
                .patch(
                    &path,
                    json!([{"op": "replace", "path": "displayName", "value": "x"}]),
                )
                .await;
            refused(&patch, &path);
        }
        let escaped = format!("\\u{:04x}", c as u32);
        for filter in [
            format!("userName eq \"{c}\""),
            format!("userName eq \"{escaped}\""),
            format!("externalId eq \"a{c}\""),
            format!("id eq \"{bad}\""),
        ] {
            let r = app
                .get(&format!("/Users?filter={}", form_encode(&filter)))
                .await;
            refused_with(&r, &filter, "Invalid Filter format");
        }
        for filter in [
            format!("displayName eq \"{c}\""),
            format!("members eq \"{bad}\""),
        ] {
            let r = app
                .get(&format!("/Groups?filter={}", form_encode(&filter)))
                .await;
            refused_with(&r, &filter, "Invalid Filter format");
        }
        // A cursor is a token this server made; one that names a key with such a character
        // is not.
        let cursor = idc_scim::store::keyset::encode(&bad);
        let r = app.get(&format!("/Users?cursor={cursor}")).await;
        assert_error(&r, 400, "cursor is not valid.");
    }
    // The admin API's path segments too.
    let tenant = &app.tenant.tenant_id;
    for (method, path) in [
        (Method::GET, "/tenants/%00".to_owned()),
        (Method::DELETE, format!("/tenants/{tenant}/tokens/%01")),
        (
            Method::GET,
            format!("/tenants/{}/journal", segment("t\u{7f}")),
        ),
    ] {
        refused(&app.admin(method, &path, None).await, &path);
    }
    assert_eq!(app.user_count().await, 1);
}

#[tokio::test]
async fn characters_of_every_script_are_kept_on_both_backends() {
    let app = TestApp::new().await;
    let name = "José Ñúñez 山田\u{3000}太郎 e\u{301} ½ € 😀";
    let mut body = user_body("intl@example.com");
    body["displayName"] = json!(name);
    body["name"]["givenName"] = json!("line\nbreak\tand\u{a0}space");
    let r = app.post("/Users", body).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let id = r.body["id"].as_str().unwrap();
    let got = app.get(&format!("/Users/{id}")).await;
    assert_eq!(got.body["displayName"], name);
    assert_eq!(got.body["name"]["givenName"], "line\nbreak\tand\u{a0}space");
    let filter = form_encode("userName eq \"intl@example.com\"");
    let found = app.get(&format!("/Users?filter={filter}")).await;
    assert_eq!(found.body["totalResults"], 1);
}

/// AWS's 400 `ValidationException` naming the member.
#[track_caller]
fn validation(r: &TestResponse, member: &str) {
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{member}: {}", r.body);
    assert_eq!(r.body["__type"], "ValidationException", "{}", r.body);
    assert_eq!(r.header("content-type"), Some("application/x-amz-json-1.1"));
    let message = r.body["Message"].as_str().unwrap();
    assert!(
        message.contains(&format!("'{member}'")),
        "{message:?} does not name {member}"
    );
}

#[tokio::test]
async fn control_characters_in_identity_store_requests_are_refused() {
    let app = TestApp::new().await;
    let user = app.user_id("kept@example.com").await;
    for c in BAD {
        let bad = format!("a{c}b");
        let requests = [
            (
                "CreateUser",
                json!({"UserName": bad, "DisplayName": "D",
                       "Name": {"GivenName": "G", "FamilyName": "F"}}),
                "userName",
            ),
            (
                "CreateUser",
                json!({"UserName": "fine", "DisplayName": bad,
                       "Name": {"GivenName": "G", "FamilyName": "F"}}),
                "displayName",
            ),
            (
                "CreateUser",
                json!({"UserName": "fine", "DisplayName": "D",
                       "Name": {"GivenName": "G", "FamilyName": bad}}),
                "name.familyName",
            ),
            ("DescribeUser", json!({"UserId": bad}), "userId"),
            (
                "DeleteUser",
                json!({"UserId": format!("{user}{c}")}),
                "userId",
            ),
            (
                "UpdateUser",
                json!({"UserId": user, "Operations": [
                    {"AttributePath": "displayName", "AttributeValue": bad}]}),
                "operations.member.attributeValue",
            ),
            (
                "ListUsers",
                json!({"Filters": [{"AttributePath": "UserName", "AttributeValue": bad}]}),
                "filters.member.attributeValue",
            ),
            (
                "GetUserId",
                json!({"AlternateIdentifier": {"UniqueAttribute": {
                    "AttributePath": "userName", "AttributeValue": bad}}}),
                "alternateIdentifier.uniqueAttribute.attributeValue",
            ),
            (
                "GetUserId",
                json!({"AlternateIdentifier": {"ExternalId": {"Issuer": "scim", "Id": bad}}}),
                "alternateIdentifier.externalId.id",
            ),
            ("CreateGroup", json!({"DisplayName": bad}), "displayName"),
            ("DescribeGroup", json!({"GroupId": bad}), "groupId"),
            ("ListGroupMemberships", json!({"GroupId": bad}), "groupId"),
            (
                "DescribeGroupMembership",
                json!({"MembershipId": bad}),
                "membershipId",
            ),
            (
                "IsMemberInGroups",
                json!({"MemberId": {"UserId": user}, "GroupIds": [bad]}),
                "groupIds.member",
            ),
            (
                "CreateGroupMembership",
                json!({"GroupId": bad, "MemberId": {"UserId": user}}),
                "groupId",
            ),
            ("ListUsers", json!({"NextToken": bad}), "nextToken"),
        ];
        for (operation, body, member) in requests {
            let r = op(&app, operation, body).await;
            validation(&r, member);
        }
        let r = call(&app, "ListUsers", json!({"IdentityStoreId": bad})).await;
        validation(&r, "identityStoreId");
    }
    // Members the model does not know are checked too.
    for c in BAD {
        let r = op(&app, "ListGroups", json!({"Unmodelled": format!("{c}")})).await;
        validation(&r, "unmodelled");
    }
    // A NextToken that decodes to such a key is not one this server made.
    let token = idc_scim::store::keyset::encode(&format!("{user}\u{0}"));
    let r = op(&app, "ListUsers", json!({"NextToken": token})).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
    assert_eq!(r.body["__type"], "ValidationException");
    assert_eq!(app.user_count().await, 1);
}

#[tokio::test]
async fn a_nul_in_a_path_is_the_same_400_on_every_backend() {
    // The case that once was a 404 on SQLite and a 500 on PostgreSQL, at the tenant's URL and
    // at the short alias of the default tenant.
    let app = TestApp::new().await;
    refused(&app.get("/Users/%00").await, "/Users/%00");
    let req = Request::get("/scim/v2/Users/%00")
        .header("authorization", format!("Bearer {}", app.token))
        .body(Body::empty())
        .unwrap();
    refused(&app.send(req).await, "/scim/v2/Users/%00");
}

#[tokio::test]
async fn control_characters_in_sign_in_requests_are_refused_before_the_database() {
    let app = TestApp::new().await;
    app.user_id("ann@example.com").await;
    let (client, token) = crate::signin::signed_in_token(&app, "ann@example.com").await;
    let access_token = token["accessToken"].as_str().unwrap();
    for c in BAD.into_iter().filter(|c| c.is_control()) {
        let bad = format!("a{c}b");
        // SSO OIDC: a control character in any member of a body.
        for (path, body) in [
            (
                "/client/register",
                json!({"clientName": bad, "clientType": "public"}),
            ),
            (
                "/device_authorization",
                json!({"clientId": bad, "clientSecret": client.1,
                       "startUrl": crate::signin::start_url(&app.tenant.tenant_id)}),
            ),
            (
                "/token",
                json!({"clientId": client.0, "clientSecret": client.1,
                       "grantType": "refresh_token", "refreshToken": bad}),
            ),
        ] {
            let r = crate::signin::oidc(&app, path, body).await;
            crate::signin::assert_oidc_error(&r, 400, "InvalidRequestException", "invalid_request");
        }
        // The access portal: its query parameters.
        for path in [
            format!("/assignment/roles?account_id={}", segment(&bad)),
            format!(
                "/federation/credentials?account_id=111111111111&role_name={}",
                segment(&bad)
            ),
        ] {
            let req = Request::get(&path)
                .header("x-amz-sso_bearer_token", access_token)
                .body(Body::empty())
                .unwrap();
            let r = app.send(req).await;
            assert_eq!(r.status, StatusCode::BAD_REQUEST, "{path}: {}", r.body);
        }
        // The admin API's headless approval names a user.
        let path = format!("/tenants/{}/sign-ins", app.tenant.tenant_id);
        let body = json!({"userCode": "BCDF-GHJK", "userName": bad});
        let r = app.admin(Method::POST, &path, Some(body)).await;
        assert!(r.status.is_client_error(), "{}: {}", r.status, r.body);
    }
}
