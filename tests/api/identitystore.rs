//! The Identity Store API (`POST /`, AWS JSON 1.1, Signature V4) on the store the SCIM
//! endpoint writes: every operation, its main errors with their AWS types and status codes,
//! the round trip between the two APIs, pagination, and signature verification on and off.

use std::collections::HashMap;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use idc_scim::auth::AwsAuth;
use idc_scim::clock::Clock;
use idc_scim::state::AppState;
use serde_json::{Value, json};

use crate::helpers::{
    AKID, SECRET, TestApp, TestResponse, assert_aws_error, ok, signed_aws, user_body,
};

const SCIM_GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";

/// A request for `operation`, signed with `secret` at `date_ms` as the AWS SDKs sign it.
fn signed(operation: &str, body: &Value, secret: &str, date_ms: i64) -> Request<Body> {
    signed_aws(
        &format!("AWSIdentityStore.{operation}"),
        "identitystore",
        body,
        secret,
        date_ms,
    )
}

/// Calls an operation on the app's identity store.
pub async fn call(app: &TestApp, operation: &str, body: Value) -> TestResponse {
    app.send(signed(operation, &body, SECRET, app.clock.now_ms()))
        .await
}

/// Calls an operation with `IdentityStoreId` set to the app's store.
pub async fn op(app: &TestApp, operation: &str, mut body: Value) -> TestResponse {
    body["IdentityStoreId"] = json!(app.tenant.identity_store_id);
    call(app, operation, body).await
}

fn assert_not_found(r: &TestResponse, resource_type: &str) {
    assert_aws_error(r, 400, "ResourceNotFoundException");
    assert_eq!(r.body["ResourceType"], json!(resource_type), "{}", r.body);
}

fn assert_validation(r: &TestResponse, message: &str) {
    assert_aws_error(r, 400, "ValidationException");
    let m = r.body["Message"].as_str().unwrap();
    assert!(m.contains(message), "{m:?} does not contain {message:?}");
}

/// A SCIM user with an external id and an enterprise attribute; returns its id.
async fn scim_user(app: &TestApp, user_name: &str) -> String {
    let mut body = user_body(user_name);
    body["externalId"] = json!(format!("ext-{user_name}"));
    body["title"] = json!("Engineer");
    body["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"] =
        json!({"department": "R&D"});
    let r = app.post("/Users", body).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    r.body["id"].as_str().unwrap().to_owned()
}

async fn scim_group(app: &TestApp, name: &str, members: &[&str]) -> String {
    let members: Vec<Value> = members.iter().map(|m| json!({"value": m})).collect();
    let body = json!({"schemas": [SCIM_GROUP], "displayName": name, "externalId": format!("ext-{name}"), "members": members});
    let r = app.post("/Groups", body).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    r.body["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_user_provisioned_over_scim_is_described_listed_and_resolved() {
    let app = TestApp::new().await;
    let id = scim_user(&app, "jane@example.com").await;
    let store = app.tenant.identity_store_id.clone();

    let user = ok(op(&app, "DescribeUser", json!({"UserId": id})).await);
    assert_eq!(user["IdentityStoreId"], json!(store));
    assert_eq!(user["UserId"], json!(id));
    assert_eq!(
        user["UserArn"],
        json!(format!("arn:aws:identitystore:::user/{id}"))
    );
    assert_eq!(user["Revision"], json!("1"));
    assert_eq!(user["UserName"], "jane@example.com");
    assert_eq!(user["DisplayName"], "Jane Doe");
    assert_eq!(user["Title"], "Engineer");
    assert_eq!(
        user["Name"],
        json!({"FamilyName": "Doe", "GivenName": "Jane"})
    );
    assert_eq!(
        user["Emails"],
        json!([{"Value": "jane@example.com.mail@example.com", "Type": "work", "Primary": true}])
    );
    assert_eq!(
        user["ExternalIds"],
        json!([{"Issuer": "scim", "Id": "ext-jane@example.com"}])
    );
    assert_eq!(user["UserStatus"], "ENABLED");
    assert!(user["CreatedAt"].is_number() && user["UpdatedAt"].is_number());
    assert!(
        user.get("Extensions").is_none(),
        "extensions only when asked"
    );
    // The ARN form of the id is accepted too, and the enterprise extension is returned on request.
    let user = ok(op(
        &app,
        "DescribeUser",
        json!({"UserId": format!("arn:aws:identitystore:::user/{id}"),
               "Extensions": ["aws:identitystore:enterprise"]}),
    )
    .await);
    assert_eq!(
        user["Extensions"],
        json!({"aws:identitystore:enterprise": {"department": "R&D"}})
    );

    let list = ok(op(&app, "ListUsers", json!({})).await);
    assert_eq!(list["Users"].as_array().unwrap().len(), 1);
    assert_eq!(list["Users"][0]["UserId"], json!(id));
    assert!(list.get("NextToken").is_none());
    let filtered =
        json!({"Filters": [{"AttributePath": "UserName", "AttributeValue": "JANE@example.com"}]});
    let list = ok(op(&app, "ListUsers", filtered).await);
    assert_eq!(list["Users"][0]["UserId"], json!(id));
    let nobody = json!({"Filters": [{"AttributePath": "UserName", "AttributeValue": "nobody"}]});
    assert_eq!(ok(op(&app, "ListUsers", nobody).await)["Users"], json!([]));
    let by_title = json!({"Filters": [{"AttributePath": "Title", "AttributeValue": "x"}]});
    assert_validation(&op(&app, "ListUsers", by_title).await, "Title");

    for alternate in [
        json!({"UniqueAttribute": {"AttributePath": "userName", "AttributeValue": "jane@example.com"}}),
        json!({"UniqueAttribute": {"AttributePath": "emails.value", "AttributeValue": "JANE@example.com.mail@example.com"}}),
        json!({"ExternalId": {"Issuer": "scim", "Id": "ext-jane@example.com"}}),
    ] {
        let r = ok(op(&app, "GetUserId", json!({"AlternateIdentifier": alternate})).await);
        assert_eq!(r["UserId"], json!(id), "{alternate}");
        assert_eq!(r["IdentityStoreId"], json!(store));
        assert_eq!(
            r["UserArn"],
            json!(format!("arn:aws:identitystore:::user/{id}"))
        );
    }
    let other_issuer = json!({"ExternalId": {"Issuer": "okta", "Id": "ext-jane@example.com"}});
    let r = op(
        &app,
        "GetUserId",
        json!({"AlternateIdentifier": other_issuer}),
    )
    .await;
    assert_not_found(&r, "USER");
    let unknown =
        json!({"UniqueAttribute": {"AttributePath": "userName", "AttributeValue": "who"}});
    let r = op(&app, "GetUserId", json!({"AlternateIdentifier": unknown})).await;
    assert_not_found(&r, "USER");
    let bad_path = json!({"UniqueAttribute": {"AttributePath": "title", "AttributeValue": "x"}});
    let r = op(&app, "GetUserId", json!({"AlternateIdentifier": bad_path})).await;
    assert_validation(&r, "title");

    // A deactivated SCIM user is DISABLED here.
    let r = app
        .patch(
            &format!("/Users/{id}"),
            json!([{"op": "Replace", "path": "active", "value": "False"}]),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let user = ok(op(&app, "DescribeUser", json!({"UserId": id})).await);
    assert_eq!(user["UserStatus"], "DISABLED");
    assert_eq!(user["Revision"], json!("2"));

    let ghost = "1234567890-a1b2c3d4-5678-90ab-cdef-000000000001";
    let r = op(&app, "DescribeUser", json!({"UserId": ghost})).await;
    assert_not_found(&r, "USER");
    assert_eq!(r.body["ResourceId"], json!(ghost));
    assert_eq!(
        r.body["RequestId"],
        json!(r.header("x-amzn-requestid").unwrap())
    );
    let r = op(&app, "DescribeUser", json!({"UserId": "not-an-id"})).await;
    assert_validation(&r, "userId");
}

#[tokio::test]
async fn a_user_created_here_is_read_over_scim_and_follows_the_scim_rules() {
    let app = TestApp::new().await;
    let create = json!({
        "UserName": "kim@example.com",
        "DisplayName": "Kim Lee",
        "Name": {"GivenName": "Kim", "FamilyName": "Lee", "Formatted": "Kim Lee"},
        "Emails": [{"Value": "kim@example.com", "Type": "work"}],
        "PhoneNumbers": [{"Value": "+1 555 0100", "Type": "mobile", "Primary": true}],
        "Addresses": [{"Locality": "Paris", "Country": "FR", "Primary": true}],
        "Title": "CTO",
        "Extensions": {"aws:identitystore:enterprise": {"costCenter": "42", "manager": {"value": "boss"}}},
    });
    let r = ok(op(&app, "CreateUser", create.clone()).await);
    let id = r["UserId"].as_str().unwrap().to_owned();
    assert_eq!(r["IdentityStoreId"], json!(app.tenant.identity_store_id));
    assert_eq!(r["Revision"], json!("1"));
    assert!(id.starts_with(&app.tenant.identity_store_id[2..]), "{id}");

    let scim = app.get(&format!("/Users/{id}")).await;
    assert_eq!(scim.status, StatusCode::OK);
    let u = &scim.body;
    assert_eq!(u["userName"], "kim@example.com");
    assert_eq!(u["active"], true);
    assert_eq!(
        u["name"],
        json!({"givenName": "Kim", "familyName": "Lee", "formatted": "Kim Lee"})
    );
    assert_eq!(
        u["emails"],
        json!([{"value": "kim@example.com", "type": "work", "primary": true}])
    );
    assert_eq!(
        u["phoneNumbers"],
        json!([{"value": "+1 555 0100", "type": "mobile"}])
    );
    assert_eq!(
        u["addresses"],
        json!([{"locality": "Paris", "country": "FR", "primary": true}])
    );
    assert_eq!(
        u["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
        json!({"costCenter": "42", "manager": {"value": "boss"}})
    );

    // Uniqueness is the store's, for both APIs.
    let r = op(&app, "CreateUser", create.clone()).await;
    assert_aws_error(&r, 400, "ConflictException");
    assert_eq!(r.body["Reason"], "UNIQUENESS_CONSTRAINT_VIOLATION");
    let r = app.post("/Users", user_body("KIM@example.com")).await;
    assert_eq!(r.status, StatusCode::CONFLICT);

    // The SCIM rules: the four required attributes, one email, names within limits.
    let mut no_family = create.clone();
    no_family["UserName"] = json!("other");
    no_family["Name"] = json!({"GivenName": "Kim"});
    no_family["Emails"] = json!([]);
    let r = op(&app, "CreateUser", no_family).await;
    assert_validation(&r, "name.familyName");
    let two_emails = json!({"UserName": "two", "DisplayName": "T", "Name": {"GivenName": "T", "FamilyName": "W"},
        "Emails": [{"Value": "a@x.y"}, {"Value": "b@x.y"}]});
    assert_aws_error(
        &op(&app, "CreateUser", two_emails).await,
        400,
        "ValidationException",
    );
    let spaced = json!({"UserName": "has space", "DisplayName": "T", "Name": {"GivenName": "T", "FamilyName": "W"}});
    assert_validation(&op(&app, "CreateUser", spaced).await, "userName");
    let reserved = json!({"UserName": "Administrator", "DisplayName": "T", "Name": {"GivenName": "T", "FamilyName": "W"}});
    assert_validation(&op(&app, "CreateUser", reserved).await, "reserved");
    let photo = json!({"UserName": "p", "DisplayName": "T", "Name": {"GivenName": "T", "FamilyName": "W"},
        "Photos": [{"Value": "https://x/p.png"}]});
    assert_validation(&op(&app, "CreateUser", photo).await, "Photos");
    let r = op(&app, "CreateUser", json!({"UserName": 5})).await;
    assert_aws_error(&r, 400, "SerializationException");
    let r = call(&app, "CreateUser", json!({"UserName": "x"})).await;
    assert_validation(&r, "Value null at 'identityStoreId'");
}

#[tokio::test]
async fn update_user_applies_operations_with_the_scim_rules_and_revisions() {
    let app = TestApp::new().await;
    let id = scim_user(&app, "ann@example.com").await;
    let ops = json!([
        {"AttributePath": "displayName", "AttributeValue": "Ann B"},
        {"AttributePath": "name.givenName", "AttributeValue": "Annie"},
        {"AttributePath": "emails", "AttributeValue": [{"value": "ann.b@example.com", "type": "work"}]},
        {"AttributePath": "title"},
        {"AttributePath": "nickName", "AttributeValue": "AB"},
        {"AttributePath": "aws:identitystore:enterprise.department", "AttributeValue": null},
        {"AttributePath": "aws:identitystore:enterprise.division", "AttributeValue": "Cloud"},
    ]);
    let r = ok(op(
        &app,
        "UpdateUser",
        json!({"UserId": id, "Operations": ops, "Revision": "1"}),
    )
    .await);
    assert_eq!(r["UserId"], json!(id));
    assert_eq!(r["Revision"], json!("2"));
    let u = app.get(&format!("/Users/{id}")).await.body;
    assert_eq!(u["displayName"], "Ann B");
    assert_eq!(u["name"]["givenName"], "Annie");
    assert_eq!(u["name"]["familyName"], "Doe");
    assert_eq!(u["nickName"], "AB");
    assert!(u.get("title").is_none(), "a value-less operation removes");
    assert_eq!(u["emails"][0]["value"], "ann.b@example.com");
    assert_eq!(u["emails"][0]["primary"], true);
    assert_eq!(
        u["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
        json!({"division": "Cloud"})
    );
    assert_eq!(u["externalId"], "ext-ann@example.com", "untouched");

    // A stale revision is a concurrent modification; no revision always applies.
    let rename = json!([{"AttributePath": "displayName", "AttributeValue": "Ann C"}]);
    let r = op(
        &app,
        "UpdateUser",
        json!({"UserId": id, "Operations": rename, "Revision": "1"}),
    )
    .await;
    assert_aws_error(&r, 400, "ConflictException");
    assert_eq!(r.body["Reason"], "CONCURRENT_MODIFICATION");
    let r = ok(op(
        &app,
        "UpdateUser",
        json!({"UserId": id, "Operations": rename}),
    )
    .await);
    assert_eq!(r["Revision"], json!("3"));

    let remove_name = json!([{"AttributePath": "userName"}]);
    let r = op(
        &app,
        "UpdateUser",
        json!({"UserId": id, "Operations": remove_name}),
    )
    .await;
    assert_validation(&r, "userName");
    let photos = json!([{"AttributePath": "photos", "AttributeValue": []}]);
    let r = op(
        &app,
        "UpdateUser",
        json!({"UserId": id, "Operations": photos}),
    )
    .await;
    assert_validation(&r, "photos");
    let r = op(&app, "UpdateUser", json!({"UserId": id, "Operations": []})).await;
    assert_validation(&r, "operations");
    let other = scim_user(&app, "bob@example.com").await;
    let taken = json!([{"AttributePath": "userName", "AttributeValue": "BOB@example.com"}]);
    let r = op(
        &app,
        "UpdateUser",
        json!({"UserId": id, "Operations": taken}),
    )
    .await;
    assert_eq!(
        r.body["Reason"], "UNIQUENESS_CONSTRAINT_VIOLATION",
        "{}",
        r.body
    );
    let ghost = other.replace(&other[11..19], "00000000");
    let r = op(
        &app,
        "UpdateUser",
        json!({"UserId": ghost, "Operations": rename}),
    )
    .await;
    assert_not_found(&r, "USER");
}

#[tokio::test]
async fn delete_user_removes_the_user_from_both_apis() {
    let app = TestApp::new().await;
    let id = scim_user(&app, "del@example.com").await;
    let r = op(&app, "DeleteUser", json!({"UserId": id, "Revision": "7"})).await;
    assert_eq!(r.body["Reason"], "CONCURRENT_MODIFICATION", "{}", r.body);
    assert_eq!(
        ok(op(&app, "DeleteUser", json!({"UserId": id, "Revision": "1"})).await),
        json!({})
    );
    assert_eq!(
        app.get(&format!("/Users/{id}")).await.status,
        StatusCode::NOT_FOUND
    );
    assert_not_found(
        &op(&app, "DescribeUser", json!({"UserId": id})).await,
        "USER",
    );
    assert_not_found(&op(&app, "DeleteUser", json!({"UserId": id})).await, "USER");
}

#[tokio::test]
async fn groups_are_shared_between_the_two_apis() {
    let app = TestApp::new().await;
    let scim_id = scim_group(&app, "Engineering", &[]).await;
    let g = ok(op(&app, "DescribeGroup", json!({"GroupId": scim_id})).await);
    assert_eq!(g["GroupId"], json!(scim_id));
    assert_eq!(g["DisplayName"], "Engineering");
    assert_eq!(
        g["GroupArn"],
        json!(format!("arn:aws:identitystore:::group/{scim_id}"))
    );
    assert_eq!(
        g["ExternalIds"],
        json!([{"Issuer": "scim", "Id": "ext-Engineering"}])
    );
    assert_eq!(g["Revision"], json!("1"));

    let r = ok(op(&app, "CreateGroup", json!({"DisplayName": "Sales"})).await);
    let sales = r["GroupId"].as_str().unwrap().to_owned();
    assert_eq!(r["Revision"], json!("1"));
    let scim = app.get(&format!("/Groups/{sales}")).await;
    assert_eq!(scim.status, StatusCode::OK);
    assert_eq!(scim.body["displayName"], "Sales");

    let r = op(&app, "CreateGroup", json!({"DisplayName": "sales"})).await;
    assert_aws_error(&r, 400, "ConflictException");
    assert_eq!(r.body["Reason"], "UNIQUENESS_CONSTRAINT_VIOLATION");
    let r = op(
        &app,
        "CreateGroup",
        json!({"DisplayName": "Ops", "Description": "d"}),
    )
    .await;
    assert_validation(&r, "Description");
    assert_validation(&op(&app, "CreateGroup", json!({})).await, "displayName");

    let list = ok(op(&app, "ListGroups", json!({})).await);
    assert_eq!(list["Groups"].as_array().unwrap().len(), 2);
    let f = json!({"Filters": [{"AttributePath": "DisplayName", "AttributeValue": "engineering"}]});
    let list = ok(op(&app, "ListGroups", f).await);
    assert_eq!(list["Groups"][0]["GroupId"], json!(scim_id));
    assert_eq!(list["Groups"].as_array().unwrap().len(), 1);

    for alternate in [
        json!({"UniqueAttribute": {"AttributePath": "displayName", "AttributeValue": "Engineering"}}),
        json!({"ExternalId": {"Issuer": "scim", "Id": "ext-Engineering"}}),
    ] {
        let r = ok(op(
            &app,
            "GetGroupId",
            json!({"AlternateIdentifier": alternate}),
        )
        .await);
        assert_eq!(r["GroupId"], json!(scim_id));
    }
    let unknown =
        json!({"UniqueAttribute": {"AttributePath": "displayName", "AttributeValue": "Nope"}});
    let r = op(&app, "GetGroupId", json!({"AlternateIdentifier": unknown})).await;
    assert_not_found(&r, "GROUP");

    let rename = json!([{"AttributePath": "displayName", "AttributeValue": "Platform"}]);
    let r = ok(op(
        &app,
        "UpdateGroup",
        json!({"GroupId": scim_id, "Operations": rename, "Revision": "1"}),
    )
    .await);
    assert_eq!(r["Revision"], json!("2"));
    assert_eq!(
        app.get(&format!("/Groups/{scim_id}")).await.body["displayName"],
        "Platform"
    );
    let g = ok(op(&app, "DescribeGroup", json!({"GroupId": scim_id})).await);
    assert_eq!(g["Revision"], json!("2"));
    let r = op(
        &app,
        "UpdateGroup",
        json!({"GroupId": scim_id, "Operations": rename, "Revision": "1"}),
    )
    .await;
    assert_eq!(r.body["Reason"], "CONCURRENT_MODIFICATION", "{}", r.body);
    let taken = json!([{"AttributePath": "displayName", "AttributeValue": "SALES"}]);
    let r = op(
        &app,
        "UpdateGroup",
        json!({"GroupId": scim_id, "Operations": taken}),
    )
    .await;
    assert_eq!(
        r.body["Reason"], "UNIQUENESS_CONSTRAINT_VIOLATION",
        "{}",
        r.body
    );
    let describe = json!([{"AttributePath": "description", "AttributeValue": "x"}]);
    let r = op(
        &app,
        "UpdateGroup",
        json!({"GroupId": scim_id, "Operations": describe}),
    )
    .await;
    assert_validation(&r, "Description");

    assert_eq!(
        ok(op(&app, "DeleteGroup", json!({"GroupId": sales})).await),
        json!({})
    );
    assert_eq!(
        app.get(&format!("/Groups/{sales}")).await.status,
        StatusCode::NOT_FOUND
    );
    let r = op(&app, "DescribeGroup", json!({"GroupId": sales})).await;
    assert_not_found(&r, "GROUP");
    assert_eq!(r.body["ResourceId"], json!(sales));
}

#[tokio::test]
async fn memberships_are_listed_resolved_checked_created_and_deleted() {
    let app = TestApp::new().await;
    let mut users = Vec::new();
    for i in 0..5 {
        users.push(scim_user(&app, &format!("m{i}@example.com")).await);
    }
    let members: Vec<&str> = users.iter().map(String::as_str).collect();
    let group = scim_group(&app, "Everyone", &members).await;
    let other = scim_group(&app, "Nobody", &[]).await;

    // Paged by NextToken, two at a time.
    let mut seen = Vec::new();
    let mut token: Option<Value> = None;
    for page in 0.. {
        let mut body = json!({"GroupId": group, "MaxResults": 2});
        if let Some(t) = &token {
            body["NextToken"] = t.clone();
        }
        let r = ok(op(&app, "ListGroupMemberships", body).await);
        let items = r["GroupMemberships"].as_array().unwrap();
        assert!(items.len() <= 2);
        for m in items {
            assert_eq!(m["GroupId"], json!(group));
            assert_eq!(m["IdentityStoreId"], json!(app.tenant.identity_store_id));
            seen.push((
                m["MemberId"]["UserId"].as_str().unwrap().to_owned(),
                m["MembershipId"].as_str().unwrap().to_owned(),
            ));
        }
        token = r.get("NextToken").cloned();
        if token.is_none() {
            assert_eq!(page, 2);
            break;
        }
    }
    let mut expected = users.clone();
    expected.sort();
    assert_eq!(
        seen.iter().map(|(u, _)| u.clone()).collect::<Vec<_>>(),
        expected
    );
    let (user, membership) = seen[0].clone();

    let r = ok(op(
        &app,
        "ListGroupMembershipsForMember",
        json!({"MemberId": {"UserId": user}}),
    )
    .await);
    assert_eq!(r["GroupMemberships"].as_array().unwrap().len(), 1);
    assert_eq!(r["GroupMemberships"][0]["MembershipId"], json!(membership));

    let r = ok(op(
        &app,
        "GetGroupMembershipId",
        json!({"GroupId": group, "MemberId": {"UserId": user}}),
    )
    .await);
    assert_eq!(r["MembershipId"], json!(membership));
    assert_eq!(
        r["MembershipArn"],
        json!(format!("arn:aws:identitystore:::membership/{membership}"))
    );
    let r = op(
        &app,
        "GetGroupMembershipId",
        json!({"GroupId": other, "MemberId": {"UserId": user}}),
    )
    .await;
    assert_not_found(&r, "GROUP_MEMBERSHIP");
    let r = ok(op(
        &app,
        "DescribeGroupMembership",
        json!({"MembershipId": membership}),
    )
    .await);
    assert_eq!(r["GroupId"], json!(group));
    assert_eq!(r["MemberId"], json!({"UserId": user}));

    let r = ok(op(
        &app,
        "IsMemberInGroups",
        json!({"MemberId": {"UserId": user}, "GroupIds": [group, other]}),
    )
    .await);
    assert_eq!(
        r["Results"],
        json!([
            {"GroupId": group, "MemberId": {"UserId": user}, "MembershipExists": true},
            {"GroupId": other, "MemberId": {"UserId": user}, "MembershipExists": false},
        ])
    );
    let ghost = "1234567890-a1b2c3d4-5678-90ab-cdef-000000000009";
    let r = op(
        &app,
        "IsMemberInGroups",
        json!({"MemberId": {"UserId": ghost}, "GroupIds": [group]}),
    )
    .await;
    assert_not_found(&r, "USER");
    let r = op(
        &app,
        "IsMemberInGroups",
        json!({"MemberId": {"UserId": user}, "GroupIds": []}),
    )
    .await;
    assert_validation(&r, "groupIds");

    // Created here, seen over SCIM; a second time is a conflict.
    let r = ok(op(
        &app,
        "CreateGroupMembership",
        json!({"GroupId": other, "MemberId": {"UserId": user}}),
    )
    .await);
    let created = r["MembershipId"].as_str().unwrap().to_owned();
    let check = format!(
        "/Groups?filter={}",
        urlencode(&format!("id eq \"{other}\" and members eq \"{user}\""))
    );
    assert_eq!(app.get(&check).await.body["totalResults"], 1);
    let r = op(
        &app,
        "CreateGroupMembership",
        json!({"GroupId": other, "MemberId": {"UserId": user}}),
    )
    .await;
    assert_eq!(
        r.body["Reason"], "UNIQUENESS_CONSTRAINT_VIOLATION",
        "{}",
        r.body
    );
    let r = op(
        &app,
        "CreateGroupMembership",
        json!({"GroupId": other, "MemberId": {"UserId": ghost}}),
    )
    .await;
    assert_not_found(&r, "USER");
    let r = op(
        &app,
        "CreateGroupMembership",
        json!({"GroupId": ghost, "MemberId": {"UserId": user}}),
    )
    .await;
    assert_not_found(&r, "GROUP");

    assert_eq!(
        ok(op(
            &app,
            "DeleteGroupMembership",
            json!({"MembershipId": created})
        )
        .await),
        json!({})
    );
    assert_eq!(app.get(&check).await.body["totalResults"], 0);
    let r = op(
        &app,
        "DeleteGroupMembership",
        json!({"MembershipId": created}),
    )
    .await;
    assert_not_found(&r, "GROUP_MEMBERSHIP");
    let r = op(
        &app,
        "DescribeGroupMembership",
        json!({"MembershipId": created}),
    )
    .await;
    assert_not_found(&r, "GROUP_MEMBERSHIP");

    // Listing the memberships of a group or user that does not exist is a 404 of that type.
    let r = op(&app, "ListGroupMemberships", json!({"GroupId": ghost})).await;
    assert_not_found(&r, "GROUP");
    let r = op(
        &app,
        "ListGroupMembershipsForMember",
        json!({"MemberId": {"UserId": ghost}}),
    )
    .await;
    assert_not_found(&r, "USER");
    let empty = ok(op(&app, "ListGroupMemberships", json!({"GroupId": other})).await);
    assert_eq!(empty["GroupMemberships"], json!([]));
}

fn urlencode(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

#[tokio::test]
async fn list_users_pages_with_opaque_next_tokens() {
    let app = TestApp::new().await;
    let mut ids = Vec::new();
    for i in 0..5 {
        ids.push(scim_user(&app, &format!("p{i}@example.com")).await);
    }
    ids.sort();
    let mut seen = Vec::new();
    let mut body = json!({"MaxResults": 2});
    loop {
        let r = ok(op(&app, "ListUsers", body.clone()).await);
        for u in r["Users"].as_array().unwrap() {
            seen.push(u["UserId"].as_str().unwrap().to_owned());
        }
        match r.get("NextToken") {
            Some(t) => {
                let t = t.as_str().unwrap();
                assert!(
                    t.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"-+=/:_".contains(&b))
                );
                body["NextToken"] = json!(t);
            }
            None => break,
        }
    }
    assert_eq!(seen, ids);
    assert_validation(
        &op(&app, "ListUsers", json!({"MaxResults": 0})).await,
        "maxResults",
    );
    assert_validation(
        &op(&app, "ListUsers", json!({"MaxResults": 101})).await,
        "maxResults",
    );
    assert_validation(
        &op(&app, "ListUsers", json!({"NextToken": "!!"})).await,
        "NextToken",
    );
    let two = json!({"Filters": [
        {"AttributePath": "UserName", "AttributeValue": "a"},
        {"AttributePath": "UserName", "AttributeValue": "b"}]});
    assert_validation(&op(&app, "ListUsers", two).await, "filters");
}

#[tokio::test]
async fn protocol_errors_have_aws_types_and_tenants_are_apart() {
    let app = TestApp::new().await;
    let r = op(&app, "ListIdentityStoresAndMore", json!({})).await;
    assert_aws_error(&r, 400, "UnknownOperationException");

    let mut req = signed("ListUsers", &json!({}), SECRET, app.clock.now_ms());
    req.headers_mut().remove("x-amz-target");
    assert_aws_error(&app.send(req).await, 400, "UnknownOperationException");

    let mut req = signed("ListUsers", &json!({}), SECRET, app.clock.now_ms());
    *req.body_mut() = Body::from("{not json");
    // Not verifying signatures, so only the body is wrong.
    assert_aws_error(&app.send(req).await, 400, "SerializationException");

    let mut req = signed("ListUsers", &json!({}), SECRET, app.clock.now_ms());
    req.headers_mut().remove("authorization");
    assert_aws_error(
        &app.send(req).await,
        403,
        "MissingAuthenticationTokenException",
    );
    let mut req = signed("ListUsers", &json!({}), SECRET, app.clock.now_ms());
    req.headers_mut()
        .insert("authorization", "Bearer token".parse().unwrap());
    assert_aws_error(&app.send(req).await, 400, "IncompleteSignatureException");

    let r = call(&app, "ListUsers", json!({})).await;
    assert_validation(&r, "Value null at 'identityStoreId'");
    let r = call(&app, "ListUsers", json!({"IdentityStoreId": "store"})).await;
    assert_validation(&r, "identityStoreId");
    let r = call(
        &app,
        "ListUsers",
        json!({"IdentityStoreId": "d-0000000000"}),
    )
    .await;
    assert_not_found(&r, "IDENTITY_STORE");
    assert_eq!(
        r.body["RequestId"],
        json!(r.header("x-amzn-requestid").unwrap())
    );

    // Another tenant's users are not found through this identity store.
    let other = TestApp::with_store(app.state.store.clone()).await;
    let theirs = scim_user(&other, "theirs@example.com").await;
    assert_not_found(
        &op(&app, "DescribeUser", json!({"UserId": theirs})).await,
        "USER",
    );
    assert_eq!(
        ok(op(&app, "ListUsers", json!({})).await)["Users"],
        json!([])
    );
    let arn = format!(
        "arn:aws:identitystore::111122223333:identitystore/{}",
        other.tenant.identity_store_id
    );
    let r = ok(call(&other, "ListUsers", json!({"IdentityStoreId": arn})).await);
    assert_eq!(r["Users"][0]["UserId"], json!(theirs));
}

#[tokio::test]
async fn signatures_are_verified_when_credentials_are_configured() {
    let keys: HashMap<String, String> = [(AKID.to_owned(), SECRET.to_owned())].into();
    let verifying = TestApp::with(|state| AppState {
        aws_auth: AwsAuth::Verify,
        aws_keys: keys,
        ..state
    })
    .await;
    let app = TestApp::with_store(verifying.state.store.clone()).await;
    let body = json!({"IdentityStoreId": verifying.tenant.identity_store_id});
    let now = verifying.clock.now_ms();

    let r = verifying
        .send(signed("ListUsers", &body, SECRET, now))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);

    let r = verifying
        .send(signed("ListUsers", &body, "wrong-secret", now))
        .await;
    assert_aws_error(&r, 403, "InvalidSignatureException");
    assert!(
        r.body["Message"]
            .as_str()
            .unwrap()
            .contains("signature we calculated does not match")
    );

    let mut tampered = signed("ListUsers", &body, SECRET, now);
    *tampered.body_mut() = Body::from(
        json!({"IdentityStoreId": verifying.tenant.identity_store_id, "MaxResults": 1}).to_string(),
    );
    assert_aws_error(
        &verifying.send(tampered).await,
        403,
        "InvalidSignatureException",
    );

    let mut unknown = signed("ListUsers", &body, SECRET, now);
    let auth = unknown.headers()["authorization"]
        .to_str()
        .unwrap()
        .replace(AKID, "AKIDUNKNOWN");
    unknown
        .headers_mut()
        .insert("authorization", auth.parse().unwrap());
    assert_aws_error(
        &verifying.send(unknown).await,
        403,
        "UnrecognizedClientException",
    );

    let stale = signed("ListUsers", &body, SECRET, now - 16 * 60 * 1000);
    let r = verifying.send(stale).await;
    assert_aws_error(&r, 403, "InvalidSignatureException");
    assert!(r.body["Message"].as_str().unwrap().contains("expired"));
    let skewed_but_fine = signed("ListUsers", &body, SECRET, now - 10 * 60 * 1000);
    assert_eq!(verifying.send(skewed_but_fine).await.status, StatusCode::OK);

    // Without configured credentials the same wrong secret is accepted.
    let r = app
        .send(signed("ListUsers", &body, "wrong-secret", now))
        .await;
    assert_eq!(r.status, StatusCode::OK);
}

#[tokio::test]
async fn not_found_and_conflict_messages_are_worded_as_aws_words_them() {
    let app = TestApp::new().await;
    let eng = json!({"DisplayName": "Engineering"});
    ok(op(&app, "CreateGroup", eng.clone()).await);
    let r = op(&app, "CreateGroup", eng).await;
    assert_aws_error(&r, 400, "ConflictException");
    assert_eq!(r.body["Message"], "Duplicate GroupDisplayName");
    let missing = "d4d4d4d4-0000-7000-8000-000000000000";
    let r = op(&app, "DescribeGroup", json!({"GroupId": missing})).await;
    assert_not_found(&r, "GROUP");
    assert_eq!(r.body["Message"], "GROUP not found.");
    let r = op(&app, "DescribeUser", json!({"UserId": missing})).await;
    assert_not_found(&r, "USER");
    assert_eq!(r.body["Message"], "USER not found.");
    let r = call(
        &app,
        "ListGroups",
        json!({"IdentityStoreId": "d-0000000000"}),
    )
    .await;
    assert_not_found(&r, "IDENTITY_STORE");
    assert_eq!(
        r.body["Message"],
        "IdentityStore not present for IdentityStoreId: d-0000000000"
    );
    let r = op(&app, "DescribeEverything", json!({})).await;
    assert_aws_error(&r, 400, "UnknownOperationException");
    assert_eq!(
        r.body["Message"],
        "X-Amz-Target names no operation of a service this server has."
    );
}

#[tokio::test]
async fn user_status_and_active_agree_for_a_user_created_without_active() {
    let app = TestApp::new().await;
    let mut body = user_body("quiet@example.com");
    body.as_object_mut().unwrap().remove("active");
    let r = app.post("/Users", body).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let id = r.body["id"].as_str().unwrap().to_owned();
    assert_eq!(r.body["active"], true);
    let user = ok(op(&app, "DescribeUser", json!({"UserId": id})).await);
    assert_eq!(user["UserStatus"], "ENABLED");
    let r = app
        .patch(
            &format!("/Users/{id}"),
            json!([{"op": "Replace", "path": "active", "value": "False"}]),
        )
        .await;
    assert_eq!(r.body["active"], false);
    let user = ok(op(&app, "DescribeUser", json!({"UserId": id})).await);
    assert_eq!(user["UserStatus"], "DISABLED");
    // A user the API creates is enabled, and SCIM says so.
    let created = ok(op(
        &app,
        "CreateUser",
        json!({"UserName": "api@example.com", "DisplayName": "Api User",
               "Name": {"GivenName": "Api", "FamilyName": "User"}}),
    )
    .await);
    let scim = app
        .get(&format!("/Users/{}", created["UserId"].as_str().unwrap()))
        .await;
    assert_eq!(scim.body["active"], true);
}
