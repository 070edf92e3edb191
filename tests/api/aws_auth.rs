//! The authentication of the AWS APIs: tenants' access keys (created, listed, deleted, a
//! secret shown once), signatures verified (the canonical request, the 15 minutes, the scope's
//! service and region), a tenant's key confined to its tenant through every operation, and
//! unauthenticated requests answered before their body is read.

use std::collections::HashMap;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::{Method, Request, StatusCode};
use idc_scim::auth::{AwsAuth, issue_access_key};
use idc_scim::aws::sigv4::Scope;
use idc_scim::clock::Clock;
use idc_scim::state::AppState;
use serde_json::{Value, json};

use crate::helpers::{TestApp, TestResponse, assert_aws_error, ok, signed_aws_as, user_body};

/// The scope clients sign Identity Store requests for.
const SCOPE: Scope<'static> = Scope {
    region: "us-east-1",
    service: "identitystore",
};

/// An Identity Store request for `operation`, signed with the access key `key` at `date_ms`
/// for `scope`.
fn signed_as(
    operation: &str,
    body: &Value,
    key: (&str, &str),
    date_ms: i64,
    scope: Scope<'_>,
) -> Request<Body> {
    let target = format!("AWSIdentityStore.{operation}");
    signed_aws_as(&target, body, key, date_ms, scope)
}

/// A test app whose AWS APIs verify signatures.
async fn verifying() -> TestApp {
    TestApp::with(|state| AppState {
        aws_auth: AwsAuth::Verify,
        ..state
    })
    .await
}

/// A stored access key of a tenant: (id, secret).
async fn key_of(app: &TestApp, tenant_id: &str) -> (String, String) {
    let (info, secret) = issue_access_key(app.state.store.as_ref(), tenant_id, app.clock.now_ms())
        .await
        .unwrap();
    (info.access_key_id, secret)
}

/// Calls an operation signed with `key` now.
async fn call_as(
    app: &TestApp,
    key: &(String, String),
    operation: &str,
    body: Value,
) -> TestResponse {
    let req = signed_as(
        operation,
        &body,
        (&key.0, &key.1),
        app.clock.now_ms(),
        SCOPE,
    );
    app.send(req).await
}

#[tokio::test]
async fn access_keys_are_created_listed_and_deleted_with_their_secret_shown_once() {
    let app = TestApp::new().await;
    let path = format!("/tenants/{}/access-keys", app.tenant.tenant_id);
    let created = app.admin(Method::POST, &path, None).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let id = created.body["accessKeyId"].as_str().unwrap().to_owned();
    let secret = created.body["secretAccessKey"].as_str().unwrap().to_owned();
    assert!(
        id.starts_with("AKIA") && id.len() == 20 && id.bytes().all(|b| b.is_ascii_alphanumeric()),
        "{id}"
    );
    assert_eq!(secret.len(), 40);
    assert_eq!(created.body["status"], "Active");
    assert!(created.body["createdAt"].is_string());

    let listed = app.admin(Method::GET, &path, None).await;
    assert_eq!(listed.status, StatusCode::OK);
    assert_eq!(listed.body.as_array().unwrap().len(), 1);
    assert_eq!(listed.body[0]["accessKeyId"], json!(id));
    assert_eq!(listed.body[0]["lastUsedAt"], Value::Null);
    assert!(
        !listed.body.to_string().contains(&secret),
        "a listing shows no secret"
    );
    assert!(listed.body[0].get("secretAccessKey").is_none());

    // Two keys at most, as an IAM user has.
    let second = app.admin(Method::POST, &path, None).await;
    assert_eq!(second.status, StatusCode::CREATED);
    assert_ne!(second.body["secretAccessKey"], json!(secret));
    let third = app.admin(Method::POST, &path, None).await;
    assert_eq!(third.status, StatusCode::CONFLICT, "{}", third.body);

    let r = app
        .admin(Method::DELETE, &format!("{path}/{id}"), None)
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let r = app
        .admin(Method::DELETE, &format!("{path}/{id}"), None)
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(
        app.admin(Method::GET, &path, None)
            .await
            .body
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let r = app
        .admin(Method::GET, "/tenants/no-such-tenant/access-keys", None)
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn unsigned_badly_signed_expired_and_wrongly_scoped_requests_are_refused() {
    let app = verifying().await;
    let key = key_of(&app, &app.tenant.tenant_id).await;
    let body = json!({"IdentityStoreId": app.tenant.identity_store_id});
    let now = app.clock.now_ms();
    let send = |k: (&str, &str), date_ms: i64, scope: Scope<'static>| {
        app.send(signed_as("ListUsers", &body, k, date_ms, scope))
    };
    let good = (key.0.as_str(), key.1.as_str());
    let r = send(good, now, SCOPE).await;
    assert_eq!(ok(r)["Users"], json!([]));

    let mut unsigned = signed_as("ListUsers", &body, good, now, SCOPE);
    unsigned.headers_mut().remove("authorization");
    assert_aws_error(
        &app.send(unsigned).await,
        403,
        "MissingAuthenticationTokenException",
    );
    // The secret with its last character changed (to one it is not already).
    let last = if key.1.ends_with('x') { 'y' } else { 'x' };
    let near_miss = format!("{}{last}", &key.1[..39]);
    let r = send((good.0, &near_miss), now, SCOPE).await;
    assert_aws_error(&r, 403, "InvalidSignatureException");
    let r = send((good.0, "short"), now, SCOPE).await;
    assert_aws_error(&r, 403, "InvalidSignatureException");
    let r = send(("AKIAUNKNOWNKEY000000", good.1), now, SCOPE).await;
    assert_aws_error(&r, 403, "UnrecognizedClientException");

    for date in [now - 16 * 60 * 1000, now + 16 * 60 * 1000] {
        let r = send(good, date, SCOPE).await;
        assert_aws_error(&r, 403, "InvalidSignatureException");
        assert!(r.body["Message"].as_str().unwrap().contains("expired"));
    }
    let other_region = Scope {
        region: "eu-west-1",
        ..SCOPE
    };
    let r = send(good, now, other_region).await;
    assert_aws_error(&r, 403, "InvalidSignatureException");
    assert!(r.body["Message"].as_str().unwrap().contains("region"));
    let other_service = Scope {
        service: "sso",
        ..SCOPE
    };
    let r = send(good, now, other_service).await;
    assert_aws_error(&r, 403, "InvalidSignatureException");
    assert!(r.body["Message"].as_str().unwrap().contains("service"));

    // A deleted key stops working at once; its use was recorded while it lived.
    let listed = app
        .state
        .store
        .list_access_keys(&app.tenant.tenant_id)
        .await
        .unwrap();
    assert_eq!(listed[0].last_used_ms, Some(now));
    app.state
        .store
        .delete_access_key(&app.tenant.tenant_id, &key.0)
        .await
        .unwrap();
    let r = send(good, now, SCOPE).await;
    assert_aws_error(&r, 403, "UnrecognizedClientException");
}

#[tokio::test]
async fn keys_given_on_the_command_line_are_the_default_tenants() {
    let configured: HashMap<String, String> =
        [("AKIDCONFIGURED".to_owned(), "configured-secret".to_owned())].into();
    let app = TestApp::with(|state| AppState {
        aws_auth: AwsAuth::Verify,
        aws_keys: configured,
        ..state
    })
    .await;
    let key = ("AKIDCONFIGURED".to_owned(), "configured-secret".to_owned());
    let own = json!({"IdentityStoreId": app.tenant.identity_store_id});
    assert_eq!(
        ok(call_as(&app, &key, "ListUsers", own).await)["Users"],
        json!([])
    );
    let other = TestApp::with_store(app.state.store.clone()).await;
    let theirs = json!({"IdentityStoreId": other.tenant.identity_store_id});
    let r = call_as(&app, &key, "ListUsers", theirs).await;
    assert_aws_error(&r, 400, "AccessDeniedException");
}

/// A SCIM user of `app`'s tenant; returns its id.
async fn scim_user(app: &TestApp, user_name: &str) -> String {
    app.user_id(user_name).await
}

#[tokio::test]
async fn a_tenants_key_reaches_its_own_tenant_only_through_every_operation() {
    let app = verifying().await;
    let mine = key_of(&app, &app.tenant.tenant_id).await;
    // Another tenant on the same store, with a user, a group and a membership.
    let other = TestApp::with_store(app.state.store.clone()).await;
    let theirs = key_of(&app, &other.tenant.tenant_id).await;
    let user = scim_user(&other, "theirs@example.com").await;
    let second = scim_user(&other, "second@example.com").await;
    let group = {
        let r = other
            .post(
                "/Groups",
                json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                       "displayName": "Theirs", "members": [{"value": user}]}),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        r.body["id"].as_str().unwrap().to_owned()
    };
    let store = other.tenant.identity_store_id.clone();
    let membership = ok(call_as(
        &app,
        &theirs,
        "GetGroupMembershipId",
        json!({"IdentityStoreId": store, "GroupId": group, "MemberId": {"UserId": user}}),
    )
    .await)["MembershipId"]
        .as_str()
        .unwrap()
        .to_owned();

    let operations = [
        ("DescribeUser", json!({"UserId": user})),
        ("ListUsers", json!({})),
        (
            "GetUserId",
            json!({"AlternateIdentifier": {"UniqueAttribute": {
                "AttributePath": "userName", "AttributeValue": "theirs@example.com"}}}),
        ),
        (
            "CreateUser",
            json!({"UserName": "planted", "DisplayName": "P",
                   "Name": {"GivenName": "P", "FamilyName": "Q"}}),
        ),
        (
            "UpdateUser",
            json!({"UserId": user, "Operations": [
                {"AttributePath": "displayName", "AttributeValue": "Changed"}]}),
        ),
        ("DescribeGroup", json!({"GroupId": group})),
        ("ListGroups", json!({})),
        (
            "GetGroupId",
            json!({"AlternateIdentifier": {"UniqueAttribute": {
                "AttributePath": "displayName", "AttributeValue": "Theirs"}}}),
        ),
        ("CreateGroup", json!({"DisplayName": "Planted"})),
        (
            "UpdateGroup",
            json!({"GroupId": group, "Operations": [
                {"AttributePath": "displayName", "AttributeValue": "Changed"}]}),
        ),
        ("ListGroupMemberships", json!({"GroupId": group})),
        (
            "ListGroupMembershipsForMember",
            json!({"MemberId": {"UserId": user}}),
        ),
        (
            "GetGroupMembershipId",
            json!({"GroupId": group, "MemberId": {"UserId": user}}),
        ),
        (
            "DescribeGroupMembership",
            json!({"MembershipId": membership}),
        ),
        (
            "IsMemberInGroups",
            json!({"MemberId": {"UserId": user}, "GroupIds": [group]}),
        ),
        (
            "CreateGroupMembership",
            json!({"GroupId": group, "MemberId": {"UserId": second}}),
        ),
        ("DeleteGroupMembership", json!({"MembershipId": membership})),
        ("DeleteGroup", json!({"GroupId": group})),
        ("DeleteUser", json!({"UserId": second})),
    ];
    for (operation, body) in &operations {
        for store_id in [
            store.clone(),
            format!("arn:aws:identitystore::111122223333:identitystore/{store}"),
        ] {
            let mut body = body.clone();
            body["IdentityStoreId"] = json!(store_id);
            let r = call_as(&app, &mine, operation, body).await;
            assert_aws_error(&r, 400, "AccessDeniedException");
            let message = r.body["Message"].as_str().unwrap();
            assert!(
                message.contains(&format!("identitystore:{operation}")),
                "{message}"
            );
            assert_eq!(
                r.body["RequestId"],
                json!(r.header("x-amzn-requestid").unwrap())
            );
        }
        // An identity store that does not exist is not found, as in one's own account.
        let mut body = body.clone();
        body["IdentityStoreId"] = json!("d-0000000000");
        let r = call_as(&app, &mine, operation, body).await;
        assert_aws_error(&r, 400, "ResourceNotFoundException");
        assert_eq!(r.body["ResourceType"], "IDENTITY_STORE");
    }
    // Nothing of the other tenant was read or changed...
    let users = other.get("/Users").await;
    assert_eq!(users.body["totalResults"], 2);
    let theirs_now = other.get(&format!("/Users/{user}")).await;
    assert_eq!(theirs_now.body["displayName"], "Jane Doe");
    let check = other
        .get(&format!(
            "/Groups?filter={}",
            crate::helpers::form_encode(&format!("id eq \"{group}\" and members eq \"{user}\""))
        ))
        .await;
    assert_eq!(
        check.body["totalResults"], 1,
        "the membership is still there"
    );
    let groups = other.get("/Groups").await;
    assert_eq!(groups.body["Resources"][0]["displayName"], "Theirs");
    assert_eq!(app.user_count().await, 0, "nothing was planted either");
    // ...while the owner's key does all of it.
    for (operation, body) in operations {
        let mut body = body;
        body["IdentityStoreId"] = json!(store);
        let r = call_as(&app, &theirs, operation, body).await;
        assert_eq!(r.status, StatusCode::OK, "{operation}: {}", r.body);
    }
}

/// A body that never ends: a server that read it would never answer.
fn endless() -> Body {
    Body::from_stream(futures_util::stream::pending::<Result<Bytes, std::io::Error>>())
}

#[tokio::test]
async fn unauthenticated_requests_are_answered_before_their_body_is_read() {
    let app = verifying().await;
    let key = key_of(&app, &app.tenant.tenant_id).await;
    let within = |r| tokio::time::timeout(Duration::from_secs(5), r);
    let scim = Request::post(format!("{}/Users", app.base()))
        .header("authorization", "Bearer not-the-token")
        .header("content-type", "application/scim+json")
        .body(endless())
        .unwrap();
    let r = within(app.send(scim))
        .await
        .expect("answered without the body");
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let admin = Request::post("/admin/tenants")
        .header("authorization", "Bearer not-the-admin")
        .header("content-type", "application/json")
        .body(endless())
        .unwrap();
    let r = within(app.send(admin))
        .await
        .expect("answered without the body");
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);

    let body = json!({"IdentityStoreId": app.tenant.identity_store_id});
    let now = app.clock.now_ms();
    let with_endless_body = |mut req: Request<Body>| {
        *req.body_mut() = endless();
        req
    };
    let mut unsigned = signed_as("ListUsers", &body, (&key.0, &key.1), now, SCOPE);
    unsigned.headers_mut().remove("authorization");
    let unknown = signed_as(
        "ListUsers",
        &body,
        ("AKIAUNKNOWNKEY000000", "x"),
        now,
        SCOPE,
    );
    let expired = signed_as("ListUsers", &body, (&key.0, &key.1), now - 3_600_000, SCOPE);
    let elsewhere = Scope {
        region: "ap-south-1",
        ..SCOPE
    };
    let wrong_region = signed_as("ListUsers", &body, (&key.0, &key.1), now, elsewhere);
    for (req, kind) in [
        (unsigned, "MissingAuthenticationTokenException"),
        (unknown, "UnrecognizedClientException"),
        (expired, "InvalidSignatureException"),
        (wrong_region, "InvalidSignatureException"),
    ] {
        let r = within(app.send(with_endless_body(req)))
            .await
            .unwrap_or_else(|_| panic!("{kind}: the body was waited for"));
        assert_eq!(r.body["__type"], kind, "{}", r.body);
    }
    // A known SCIM token does read the body: the same request with it is a valid create.
    let mut good = user_body("read@example.com");
    good["displayName"] = json!("Read");
    let r = app.post("/Users", good).await;
    assert_eq!(r.status, StatusCode::CREATED);
}

/// Calls an sso-admin operation signed with `key` now.
async fn sso_as(
    app: &TestApp,
    key: &(String, String),
    operation: &str,
    body: Value,
) -> TestResponse {
    let scope = Scope {
        region: "us-east-1",
        service: "sso",
    };
    let target = format!("SWBExternalService.{operation}");
    let req = signed_aws_as(&target, &body, (&key.0, &key.1), app.clock.now_ms(), scope);
    app.send(req).await
}

#[tokio::test]
async fn a_tenants_key_reaches_its_own_instance_only_through_every_sso_admin_operation() {
    let app = verifying().await;
    let mine = key_of(&app, &app.tenant.tenant_id).await;
    let other = TestApp::with_store(app.state.store.clone()).await;
    let theirs = key_of(&app, &other.tenant.tenant_id).await;
    let user = other.user_id("theirs@example.com").await;
    let account = "111111111111";
    let path = format!("/tenants/{}/accounts", other.tenant.tenant_id);
    let declared = json!({"accountId": account, "name": "dev", "email": "root@example.com"});
    let r = other.admin(Method::POST, &path, Some(declared)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let instance =
        idc_scim::sso::instance_arn(&idc_scim::sso::instance_id(&other.tenant.identity_store_id));
    let created = ok(sso_as(
        &app,
        &theirs,
        "CreatePermissionSet",
        json!({"InstanceArn": instance, "Name": "Theirs"}),
    )
    .await);
    let ps = created["PermissionSet"]["PermissionSetArn"]
        .as_str()
        .unwrap()
        .to_owned();
    let assignment = json!({"InstanceArn": instance, "TargetId": account,
        "TargetType": "AWS_ACCOUNT", "PermissionSetArn": ps, "PrincipalType": "USER",
        "PrincipalId": user});
    let status = ok(sso_as(&app, &theirs, "CreateAccountAssignment", assignment.clone()).await);
    let request_id = status["AccountAssignmentCreationStatus"]["RequestId"].clone();

    let with = |extra: Value| {
        let mut body = json!({"InstanceArn": instance});
        body.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        body
    };
    let on_ps = |extra: Value| {
        let mut body = with(extra);
        body["PermissionSetArn"] = json!(ps);
        body
    };
    let policy = json!({"Version": "2012-10-17", "Statement": []}).to_string();
    let managed = "arn:aws:iam::aws:policy/ReadOnlyAccess";
    let reference = json!({"Name": "Theirs"});
    let operations = [
        ("DescribeInstance", with(json!({}))),
        ("UpdateInstance", with(json!({"Name": "Planted"}))),
        ("DeleteInstance", with(json!({}))),
        ("CreatePermissionSet", with(json!({"Name": "Planted"}))),
        ("DescribePermissionSet", on_ps(json!({}))),
        ("ListPermissionSets", with(json!({}))),
        (
            "UpdatePermissionSet",
            on_ps(json!({"Description": "Changed"})),
        ),
        (
            "PutInlinePolicyToPermissionSet",
            on_ps(json!({"InlinePolicy": policy})),
        ),
        ("GetInlinePolicyForPermissionSet", on_ps(json!({}))),
        ("DeleteInlinePolicyFromPermissionSet", on_ps(json!({}))),
        (
            "AttachManagedPolicyToPermissionSet",
            on_ps(json!({"ManagedPolicyArn": managed})),
        ),
        ("ListManagedPoliciesInPermissionSet", on_ps(json!({}))),
        (
            "DetachManagedPolicyFromPermissionSet",
            on_ps(json!({"ManagedPolicyArn": managed})),
        ),
        (
            "AttachCustomerManagedPolicyReferenceToPermissionSet",
            on_ps(json!({"CustomerManagedPolicyReference": reference})),
        ),
        (
            "ListCustomerManagedPolicyReferencesInPermissionSet",
            on_ps(json!({})),
        ),
        (
            "DetachCustomerManagedPolicyReferenceFromPermissionSet",
            on_ps(json!({"CustomerManagedPolicyReference": reference})),
        ),
        (
            "PutPermissionsBoundaryToPermissionSet",
            on_ps(json!({"PermissionsBoundary": {"ManagedPolicyArn": managed}})),
        ),
        ("GetPermissionsBoundaryForPermissionSet", on_ps(json!({}))),
        (
            "DeletePermissionsBoundaryFromPermissionSet",
            on_ps(json!({})),
        ),
        (
            "TagResource",
            with(json!({"ResourceArn": ps, "Tags": [{"Key": "k", "Value": "v"}]})),
        ),
        (
            "UntagResource",
            with(json!({"ResourceArn": ps, "TagKeys": ["k"]})),
        ),
        (
            "ListTagsForResource",
            with(json!({"ResourceArn": instance})),
        ),
        ("CreateAccountAssignment", assignment.clone()),
        ("DeleteAccountAssignment", assignment.clone()),
        (
            "DescribeAccountAssignmentCreationStatus",
            with(json!({"AccountAssignmentCreationRequestId": request_id})),
        ),
        (
            "DescribeAccountAssignmentDeletionStatus",
            with(json!({"AccountAssignmentDeletionRequestId": request_id})),
        ),
        ("ListAccountAssignmentCreationStatus", with(json!({}))),
        ("ListAccountAssignmentDeletionStatus", with(json!({}))),
        (
            "ListAccountAssignments",
            on_ps(json!({"AccountId": account})),
        ),
        (
            "ListAccountAssignmentsForPrincipal",
            with(json!({"PrincipalId": user, "PrincipalType": "USER"})),
        ),
        (
            "ProvisionPermissionSet",
            on_ps(json!({"TargetType": "ALL_PROVISIONED_ACCOUNTS"})),
        ),
        (
            "DescribePermissionSetProvisioningStatus",
            with(json!({"ProvisionPermissionSetRequestId": request_id})),
        ),
        ("ListPermissionSetProvisioningStatus", with(json!({}))),
        ("ListAccountsForProvisionedPermissionSet", on_ps(json!({}))),
        (
            "ListPermissionSetsProvisionedToAccount",
            with(json!({"AccountId": account})),
        ),
        ("DeletePermissionSet", on_ps(json!({}))),
    ];
    for (operation, body) in &operations {
        let r = sso_as(&app, &mine, operation, body.clone()).await;
        assert_aws_error(&r, 400, "AccessDeniedException");
        let message = r.body["Message"].as_str().unwrap();
        assert!(message.contains(&format!("sso:{operation}")), "{message}");
    }
    // Making instances (tenants) is the operator's, not a tenant's key's.
    let r = sso_as(&app, &mine, "CreateInstance", json!({})).await;
    assert_aws_error(&r, 400, "AccessDeniedException");
    // Each key lists its own instance only.
    for (key, tenant) in [(&mine, &app.tenant), (&theirs, &other.tenant)] {
        let listed = ok(sso_as(&app, key, "ListInstances", json!({})).await);
        let stores: Vec<&Value> = listed["Instances"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| &i["IdentityStoreId"])
            .collect();
        assert_eq!(stores, [&json!(tenant.identity_store_id)]);
    }
    // Nothing of the other tenant was changed: its permission set, policies and assignment.
    let described = ok(sso_as(&app, &theirs, "DescribePermissionSet", on_ps(json!({}))).await);
    assert_eq!(described["PermissionSet"]["Name"], "Theirs");
    assert!(described["PermissionSet"].get("Description").is_none());
    let listed = ok(sso_as(
        &app,
        &theirs,
        "ListAccountAssignments",
        on_ps(json!({"AccountId": account})),
    )
    .await);
    assert_eq!(listed["AccountAssignments"].as_array().unwrap().len(), 1);
    let policies = ok(sso_as(
        &app,
        &theirs,
        "ListManagedPoliciesInPermissionSet",
        on_ps(json!({})),
    )
    .await);
    assert_eq!(policies["AttachedManagedPolicies"], json!([]));
    let tenants = app.state.store.list_tenants().await.unwrap();
    assert!(
        tenants
            .iter()
            .any(|t| t.tenant.tenant_id == other.tenant.tenant_id)
    );
}
