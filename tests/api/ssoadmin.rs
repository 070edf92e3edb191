//! The sso-admin API (`POST /`, `SWBExternalService.*`, signed for `sso`) on the store the
//! SCIM endpoint and the Identity Store API write: every operation, its errors with their AWS
//! types, the account assignments' status objects and cascades, the admin API's accounts,
//! fixtures with account access, and the controls (journal, faults, throttle) on AWS JSON.

use std::collections::HashMap;

use axum::http::{Method, StatusCode};
use idc_scim::auth::AwsAuth;
use idc_scim::clock::Clock;
use idc_scim::controls::throttle::Limit;
use idc_scim::controls::{Controls, Throttle};
use idc_scim::sso;
use idc_scim::state::AppState;
use idc_scim::store;
use serde_json::{Value, json};

use crate::helpers::{SECRET, TestApp, TestResponse, assert_aws_error, ok, signed_aws, user_body};

const SCIM_GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
const ADMIN_POLICY: &str = "arn:aws:iam::aws:policy/AdministratorAccess";
const DEV: &str = "111111111111";
const PROD: &str = "222222222222";

/// Calls an sso-admin operation, signed as the AWS SDKs sign it.
async fn call(app: &TestApp, operation: &str, body: Value) -> TestResponse {
    let target = format!("SWBExternalService.{operation}");
    app.send(signed_aws(
        &target,
        "sso",
        &body,
        SECRET,
        app.clock.now_ms(),
    ))
    .await
}

/// The ARN of the app's tenant's instance.
fn instance_arn(app: &TestApp) -> String {
    sso::instance_arn(&sso::instance_id(&app.tenant.identity_store_id))
}

/// Calls an operation with `InstanceArn` set to the app's instance.
async fn on(app: &TestApp, operation: &str, mut body: Value) -> TestResponse {
    body["InstanceArn"] = json!(instance_arn(app));
    call(app, operation, body).await
}

/// Asserts an sso-admin error: status 400, its type, and a `Message` containing `message`.
#[track_caller]
fn assert_error(r: &TestResponse, kind: &str, message: &str) {
    assert_aws_error(r, 400, kind);
    let m = r.body["Message"].as_str().unwrap_or_default();
    assert!(m.contains(message), "{m:?} does not contain {message:?}");
    assert!(r.body.get("RequestId").is_none(), "{}", r.body);
}

/// Creates a permission set; returns its ARN.
async fn permission_set(app: &TestApp, name: &str) -> String {
    let r = ok(on(app, "CreatePermissionSet", json!({"Name": name})).await);
    r["PermissionSet"]["PermissionSetArn"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// Declares an account of the app's tenant through the admin API.
async fn declare(app: &TestApp, account_id: &str) {
    let path = format!("/tenants/{}/accounts", app.tenant.tenant_id);
    let body = json!({"accountId": account_id, "name": "dev", "email": format!("root+{account_id}@example.com")});
    let r = app.admin(Method::POST, &path, Some(body)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
}

async fn scim_user(app: &TestApp, user_name: &str) -> String {
    app.user_id(user_name).await
}

async fn scim_group(app: &TestApp, name: &str, members: &[&str]) -> String {
    let members: Vec<Value> = members.iter().map(|m| json!({"value": m})).collect();
    let body = json!({"schemas": [SCIM_GROUP], "displayName": name, "members": members});
    let r = app.post("/Groups", body).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    r.body["id"].as_str().unwrap().to_owned()
}

fn assignment(account: &str, ps: &str, kind: &str, principal: &str) -> Value {
    json!({"TargetId": account, "TargetType": "AWS_ACCOUNT", "PermissionSetArn": ps,
           "PrincipalType": kind, "PrincipalId": principal})
}

/// Every page of a listing: `items` names the list member of the answer.
async fn all_pages(app: &TestApp, operation: &str, mut body: Value, items: &str) -> Vec<Value> {
    let mut all = Vec::new();
    loop {
        let r = ok(on(app, operation, body.clone()).await);
        all.extend(r[items].as_array().unwrap().iter().cloned());
        match r.get("NextToken") {
            Some(token) => body["NextToken"] = token.clone(),
            None => return all,
        }
    }
}

#[tokio::test]
async fn instances_are_the_tenants_with_their_identity_stores() {
    // A database of its own, so that the listing holds exactly these tenants.
    let store = store::connect("sqlite::memory:").await.unwrap();
    let app = TestApp::with_store(store.clone()).await;
    let others = [
        TestApp::with_store(store.clone()).await,
        TestApp::with_store(store.clone()).await,
    ];
    let mine = instance_arn(&app);
    assert!(mine.starts_with("arn:aws:sso:::instance/ssoins-"), "{mine}");
    assert_eq!(mine.len(), "arn:aws:sso:::instance/ssoins-".len() + 16);

    let all = all_pages(&app, "ListInstances", json!({"MaxResults": 1}), "Instances").await;
    assert_eq!(all.len(), 3);
    let listed = all
        .iter()
        .find(|i| i["InstanceArn"] == json!(mine))
        .unwrap();
    for other in &others {
        assert!(
            all.iter()
                .any(|i| i["IdentityStoreId"] == json!(other.tenant.identity_store_id))
        );
    }
    assert_eq!(
        listed["IdentityStoreId"],
        json!(app.tenant.identity_store_id)
    );
    assert_eq!(listed["Status"], "ACTIVE");
    assert_eq!(
        listed["Name"],
        json!(app.tenant.tenant_id),
        "named after the tenant"
    );
    let owner = listed["OwnerAccountId"].as_str().unwrap();
    assert!(owner.len() == 12 && owner.bytes().all(|b| b.is_ascii_digit()));
    assert_eq!(
        listed["IdentityStoreArn"],
        json!(format!(
            "arn:aws:identitystore::{owner}:identitystore/{}",
            app.tenant.identity_store_id
        ))
    );
    assert!(listed["CreatedDate"].is_number());
    // Listed once each, in instance id order, across pages.
    let arns: Vec<&str> = all
        .iter()
        .map(|i| i["InstanceArn"].as_str().unwrap())
        .collect();
    assert!(arns.windows(2).all(|w| w[0] < w[1]), "{arns:?}");

    let described = ok(on(&app, "DescribeInstance", json!({})).await);
    assert_eq!(described, *listed);
    ok(on(&app, "UpdateInstance", json!({"Name": "acme-sso"})).await);
    assert_eq!(
        ok(on(&app, "DescribeInstance", json!({})).await)["Name"],
        "acme-sso"
    );
    assert_error(
        &on(&app, "UpdateInstance", json!({"Name": "no spaces"})).await,
        "ValidationException",
        "name",
    );
    let r = on(
        &app,
        "UpdateInstance",
        json!({"EncryptionConfiguration": {"KeyType": "CUSTOMER_MANAGED_KEY"}}),
    )
    .await;
    assert_error(&r, "ValidationException", "EncryptionConfiguration");

    // An instance id of the right shape that names no tenant is denied, as AWS denies an
    // instance outside the caller's reach; a malformed ARN is a validation error.
    let forged = json!({"InstanceArn": "arn:aws:sso:::instance/ssoins-0000000000000000"});
    let r = call(&app, "DescribeInstance", forged.clone()).await;
    assert_error(
        &r,
        "AccessDeniedException",
        "not authorized to perform: sso:DescribeInstance",
    );
    assert_error(
        &call(&app, "ListPermissionSets", forged).await,
        "AccessDeniedException",
        "sso:ListPermissionSets",
    );
    let r = call(
        &app,
        "DescribeInstance",
        json!({"InstanceArn": "ssoins-1234"}),
    )
    .await;
    assert_error(&r, "ValidationException", "instanceArn");
    assert_error(
        &call(&app, "DescribeInstance", json!({})).await,
        "ValidationException",
        "Value null at 'instanceArn'",
    );
    assert_aws_error(
        &on(&app, "ListInstances", json!({"MaxResults": "ten"})).await,
        400,
        "SerializationException",
    );
    assert_error(
        &call(&app, "ListInstances", json!({"MaxResults": 0})).await,
        "ValidationException",
        "maxResults",
    );
    assert_error(
        &call(&app, "ListInstances", json!({"NextToken": "@@"})).await,
        "ValidationException",
        "NextToken",
    );
}

#[tokio::test]
async fn an_instance_created_is_a_tenant_and_deleted_with_it() {
    let app = TestApp::new().await;
    let r = ok(call(
        &app,
        "CreateInstance",
        json!({"Name": "account-instance", "Tags": [{"Key": "env", "Value": "test"}]}),
    )
    .await);
    let arn = r["InstanceArn"].as_str().unwrap().to_owned();
    let described = ok(call(&app, "DescribeInstance", json!({"InstanceArn": arn})).await);
    assert_eq!(described["Name"], "account-instance");
    let store_id = described["IdentityStoreId"].as_str().unwrap();
    let tenant = app
        .state
        .store
        .tenant_by_identity_store(store_id)
        .await
        .unwrap();
    let tags = ok(call(&app, "ListTagsForResource", json!({"ResourceArn": arn})).await);
    assert_eq!(tags["Tags"], json!([{"Key": "env", "Value": "test"}]));
    // The new identity store serves the Identity Store API at once.
    let target = "AWSIdentityStore.ListUsers";
    let body = json!({"IdentityStoreId": store_id});
    let r = app
        .send(signed_aws(
            target,
            "identitystore",
            &body,
            SECRET,
            app.clock.now_ms(),
        ))
        .await;
    assert_eq!(ok(r)["Users"], json!([]));

    ok(call(&app, "DeleteInstance", json!({"InstanceArn": arn})).await);
    assert!(app.state.store.get_tenant(&tenant.tenant_id).await.is_err());
    assert_error(
        &call(&app, "DescribeInstance", json!({"InstanceArn": arn})).await,
        "AccessDeniedException",
        &arn,
    );

    // The server's default tenant (the test's own) stays.
    assert_eq!(app.state.default_tenant, app.tenant);
    let r = on(&app, "DeleteInstance", json!({})).await;
    assert_error(&r, "ValidationException", "default instance");
    assert_error(
        &call(&app, "CreateInstance", json!({"Name": "bad name"})).await,
        "ValidationException",
        "name",
    );
}

#[tokio::test]
async fn permission_sets_are_created_described_listed_updated_and_deleted() {
    let app = TestApp::new().await;
    let body = json!({"Name": "Admin", "Description": "Full access", "SessionDuration": "PT8H",
                      "RelayState": "https://console.aws.amazon.com/", "Tags": [{"Key": "team", "Value": "ops"}]});
    let created = ok(on(&app, "CreatePermissionSet", body).await)["PermissionSet"].clone();
    let arn = created["PermissionSetArn"].as_str().unwrap().to_owned();
    let (instance_id, ps_id) = sso::Arn::permission_set("p", &arn).unwrap();
    assert_eq!(sso::instance_arn(instance_id), instance_arn(&app));
    assert!(ps_id.starts_with("ps-") && ps_id.len() == 19, "{ps_id}");
    assert_eq!(created["Name"], "Admin");
    assert_eq!(created["Description"], "Full access");
    assert_eq!(created["SessionDuration"], "PT8H");
    assert_eq!(created["RelayState"], "https://console.aws.amazon.com/");
    assert!(created["CreatedDate"].is_number());
    let described = ok(on(
        &app,
        "DescribePermissionSet",
        json!({"PermissionSetArn": arn}),
    )
    .await);
    assert_eq!(described["PermissionSet"], created);
    let minimal =
        ok(on(&app, "CreatePermissionSet", json!({"Name": "Read"})).await)["PermissionSet"].clone();
    assert_eq!(minimal["SessionDuration"], "PT1H", "AWS's default");
    assert!(minimal.get("Description").is_none() && minimal.get("RelayState").is_none());

    let r = on(&app, "CreatePermissionSet", json!({"Name": "ADMIN"})).await;
    assert_error(
        &r,
        "ConflictException",
        "PermissionSet with name ADMIN already exists.",
    );
    for (body, message) in [
        (json!({}), "Value null at 'name'"),
        (json!({"Name": "has space"}), "'name'"),
        (json!({"Name": "x".repeat(33)}), "'name'"),
        (json!({"Name": "D", "Description": ""}), "'description'"),
        (
            json!({"Name": "D", "SessionDuration": "8 hours"}),
            "'sessionDuration'",
        ),
        (json!({"Name": "D", "SessionDuration": "PT13H"}), "PT12H"),
        (json!({"Name": "D", "SessionDuration": "PT30M"}), "PT1H"),
        (
            json!({"Name": "D", "RelayState": "tab\there"}),
            "'relayState'",
        ),
        (
            json!({"Name": "D", "Tags": [{"Key": "", "Value": "v"}]}),
            "tags.member.key",
        ),
    ] {
        assert_error(
            &on(&app, "CreatePermissionSet", body.clone()).await,
            "ValidationException",
            message,
        );
    }
    assert_aws_error(
        &on(&app, "CreatePermissionSet", json!({"Name": 7})).await,
        400,
        "SerializationException",
    );

    for i in 0..3 {
        permission_set(&app, &format!("Extra{i}")).await;
    }
    let listed = all_pages(
        &app,
        "ListPermissionSets",
        json!({"MaxResults": 2}),
        "PermissionSets",
    )
    .await;
    assert_eq!(listed.len(), 5);
    assert!(listed.contains(&json!(arn)));

    // Update: an absent description stays, an absent relay state is cleared (as AWS does).
    ok(on(
        &app,
        "UpdatePermissionSet",
        json!({"PermissionSetArn": arn, "SessionDuration": "PT2H"}),
    )
    .await);
    let ps = ok(on(
        &app,
        "DescribePermissionSet",
        json!({"PermissionSetArn": arn}),
    )
    .await)["PermissionSet"]
        .clone();
    assert_eq!(ps["SessionDuration"], "PT2H");
    assert_eq!(ps["Description"], "Full access");
    assert!(ps.get("RelayState").is_none(), "{ps}");
    let r = on(
        &app,
        "UpdatePermissionSet",
        json!({"PermissionSetArn": arn, "SessionDuration": "P1D"}),
    )
    .await;
    assert_error(&r, "ValidationException", "SessionDuration");

    ok(on(
        &app,
        "DeletePermissionSet",
        json!({"PermissionSetArn": arn}),
    )
    .await);
    let gone = format!("Could not find PermissionSet with PermissionSetArn {arn}.");
    for operation in [
        "DescribePermissionSet",
        "DeletePermissionSet",
        "UpdatePermissionSet",
        "GetInlinePolicyForPermissionSet",
    ] {
        assert_error(
            &on(&app, operation, json!({"PermissionSetArn": arn})).await,
            "ResourceNotFoundException",
            &gone,
        );
    }
    // A permission set of another instance is not found in this one.
    let other = TestApp::with_store(app.state.store.clone()).await;
    let theirs = permission_set(&other, "Theirs").await;
    let r = on(
        &app,
        "DescribePermissionSet",
        json!({"PermissionSetArn": theirs}),
    )
    .await;
    assert_error(
        &r,
        "ResourceNotFoundException",
        "Could not find PermissionSet",
    );
    let r = on(
        &app,
        "DescribePermissionSet",
        json!({"PermissionSetArn": "arn:aws:sso:::permissionSet/x"}),
    )
    .await;
    assert_error(&r, "ValidationException", "permissionSetArn");
}

#[tokio::test]
async fn inline_policies_are_checked_put_read_and_deleted() {
    let app = TestApp::new().await;
    let arn = permission_set(&app, "Dev").await;
    let get = || {
        on(
            &app,
            "GetInlinePolicyForPermissionSet",
            json!({"PermissionSetArn": arn}),
        )
    };
    assert_eq!(ok(get().await)["InlinePolicy"], "", "none yet");
    let policy = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}"#;
    ok(on(
        &app,
        "PutInlinePolicyToPermissionSet",
        json!({"PermissionSetArn": arn, "InlinePolicy": policy}),
    )
    .await);
    assert_eq!(ok(get().await)["InlinePolicy"], policy);
    for (document, message) in [
        ("not json", "Invalid PermissionsPolicy Document"),
        (
            r#"{"Statement":[{"Effect":"Allow","Resource":"*"}]}"#,
            "Invalid PermissionsPolicy Document",
        ),
        (
            r#"{"Statement":{"Effect":"Allow","Action":"*","Resource":"*","Principal":"*"}}"#,
            "Principal",
        ),
        ("", "'inlinePolicy'"),
    ] {
        let r = on(
            &app,
            "PutInlinePolicyToPermissionSet",
            json!({"PermissionSetArn": arn, "InlinePolicy": document}),
        )
        .await;
        assert_error(&r, "ValidationException", message);
    }
    let big = format!(
        r#"{{"Statement":[{}]}}"#,
        vec![r#"{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::a-bucket/a-key"}"#; 150].join(",")
    );
    let r = on(
        &app,
        "PutInlinePolicyToPermissionSet",
        json!({"PermissionSetArn": arn, "InlinePolicy": big}),
    )
    .await;
    assert_error(
        &r,
        "ValidationException",
        "which has exceeded the maximum limit of 10240 bytes",
    );
    assert_eq!(
        ok(get().await)["InlinePolicy"],
        policy,
        "a refused policy changes nothing"
    );
    ok(on(
        &app,
        "DeleteInlinePolicyFromPermissionSet",
        json!({"PermissionSetArn": arn}),
    )
    .await);
    assert_eq!(ok(get().await)["InlinePolicy"], "");
    ok(on(
        &app,
        "DeleteInlinePolicyFromPermissionSet",
        json!({"PermissionSetArn": arn}),
    )
    .await);
}

#[tokio::test]
async fn managed_policies_of_both_kinds_are_attached_listed_detached_and_limited() {
    let app = TestApp::new().await;
    let arn = permission_set(&app, "Dev").await;
    let attach = |policy: &str| {
        on(
            &app,
            "AttachManagedPolicyToPermissionSet",
            json!({"PermissionSetArn": arn, "ManagedPolicyArn": policy}),
        )
    };
    ok(attach(ADMIN_POLICY).await);
    ok(attach("arn:aws:iam::aws:policy/job-function/ViewOnlyAccess").await);
    assert_error(
        &attach(ADMIN_POLICY).await,
        "ConflictException",
        "already attached",
    );
    assert_error(
        &attach("arn:aws:iam::123456789012:policy/Mine").await,
        "ValidationException",
        "managedPolicyArn",
    );
    let listed = ok(on(
        &app,
        "ListManagedPoliciesInPermissionSet",
        json!({"PermissionSetArn": arn}),
    )
    .await);
    assert_eq!(
        listed["AttachedManagedPolicies"],
        json!([{"Name": "AdministratorAccess", "Arn": ADMIN_POLICY},
               {"Name": "ViewOnlyAccess", "Arn": "arn:aws:iam::aws:policy/job-function/ViewOnlyAccess"}])
    );
    let customer = |name: &str, path: Option<&str>| {
        let mut r = json!({"Name": name});
        if let Some(p) = path {
            r["Path"] = json!(p);
        }
        json!({"PermissionSetArn": arn, "CustomerManagedPolicyReference": r})
    };
    ok(on(
        &app,
        "AttachCustomerManagedPolicyReferenceToPermissionSet",
        customer("S3Read", None),
    )
    .await);
    ok(on(
        &app,
        "AttachCustomerManagedPolicyReferenceToPermissionSet",
        customer("S3Write", Some("/data/")),
    )
    .await);
    let r = on(
        &app,
        "AttachCustomerManagedPolicyReferenceToPermissionSet",
        customer("S3Read", Some("data")),
    )
    .await;
    assert_error(
        &r,
        "ValidationException",
        "customerManagedPolicyReference.path",
    );
    let listed = ok(on(
        &app,
        "ListCustomerManagedPolicyReferencesInPermissionSet",
        json!({"PermissionSetArn": arn}),
    )
    .await);
    assert_eq!(
        listed["CustomerManagedPolicyReferences"],
        json!([{"Name": "S3Read", "Path": "/"}, {"Name": "S3Write", "Path": "/data/"}])
    );
    let page = ok(on(
        &app,
        "ListManagedPoliciesInPermissionSet",
        json!({"PermissionSetArn": arn, "MaxResults": 1}),
    )
    .await);
    assert_eq!(page["AttachedManagedPolicies"].as_array().unwrap().len(), 1);
    assert!(page["NextToken"].is_string());

    // 20 policies of both kinds together.
    for i in 0..16 {
        ok(attach(&format!("arn:aws:iam::aws:policy/Policy{i:02}")).await);
    }
    let r = attach("arn:aws:iam::aws:policy/OneTooMany").await;
    assert_error(&r, "ServiceQuotaExceededException", "at most 20");
    let r = on(
        &app,
        "AttachCustomerManagedPolicyReferenceToPermissionSet",
        customer("Third", None),
    )
    .await;
    assert_error(&r, "ServiceQuotaExceededException", "at most 20");

    let detach = |policy: &str| {
        on(
            &app,
            "DetachManagedPolicyFromPermissionSet",
            json!({"PermissionSetArn": arn, "ManagedPolicyArn": policy}),
        )
    };
    ok(detach(ADMIN_POLICY).await);
    assert_error(
        &detach(ADMIN_POLICY).await,
        "ResourceNotFoundException",
        "is not attached",
    );
    ok(on(
        &app,
        "DetachCustomerManagedPolicyReferenceFromPermissionSet",
        customer("S3Read", None),
    )
    .await);
    let r = on(
        &app,
        "DetachCustomerManagedPolicyReferenceFromPermissionSet",
        customer("S3Read", None),
    )
    .await;
    assert_error(&r, "ResourceNotFoundException", "is not attached");
    let unknown = json!({"PermissionSetArn": format!("{}/ps-0000000000000000", instance_arn(&app).replace("instance", "permissionSet")), "ManagedPolicyArn": ADMIN_POLICY});
    assert_error(
        &on(&app, "AttachManagedPolicyToPermissionSet", unknown).await,
        "ResourceNotFoundException",
        "Could not find PermissionSet",
    );
}

#[tokio::test]
async fn a_permissions_boundary_is_one_policy_put_read_and_deleted() {
    let app = TestApp::new().await;
    let arn = permission_set(&app, "Dev").await;
    let get = || {
        on(
            &app,
            "GetPermissionsBoundaryForPermissionSet",
            json!({"PermissionSetArn": arn}),
        )
    };
    let delete = || {
        on(
            &app,
            "DeletePermissionsBoundaryFromPermissionSet",
            json!({"PermissionSetArn": arn}),
        )
    };
    assert_error(
        &get().await,
        "ResourceNotFoundException",
        "no permissions boundary",
    );
    assert_error(
        &delete().await,
        "ResourceNotFoundException",
        "no permissions boundary",
    );
    let put = |boundary: Value| {
        on(
            &app,
            "PutPermissionsBoundaryToPermissionSet",
            json!({"PermissionSetArn": arn, "PermissionsBoundary": boundary}),
        )
    };
    ok(put(json!({"ManagedPolicyArn": ADMIN_POLICY})).await);
    assert_eq!(
        ok(get().await)["PermissionsBoundary"],
        json!({"ManagedPolicyArn": ADMIN_POLICY})
    );
    ok(put(json!({"CustomerManagedPolicyReference": {"Name": "Limits", "Path": "/org/"}})).await);
    assert_eq!(
        ok(get().await)["PermissionsBoundary"],
        json!({"CustomerManagedPolicyReference": {"Name": "Limits", "Path": "/org/"}})
    );
    let both = json!({"ManagedPolicyArn": ADMIN_POLICY, "CustomerManagedPolicyReference": {"Name": "Limits"}});
    assert_error(&put(both).await, "ValidationException", "either");
    assert_error(&put(json!({})).await, "ValidationException", "either");
    assert_error(
        &put(json!({"ManagedPolicyArn": "nope"})).await,
        "ValidationException",
        "permissionsBoundary.managedPolicyArn",
    );
    ok(delete().await);
    assert_error(
        &get().await,
        "ResourceNotFoundException",
        "no permissions boundary",
    );
}

#[tokio::test]
async fn tags_belong_to_instances_and_permission_sets() {
    let app = TestApp::new().await;
    let arn = permission_set(&app, "Dev").await;
    let instance = instance_arn(&app);
    let tag = |resource: &str, tags: Value| {
        call(
            &app,
            "TagResource",
            json!({"ResourceArn": resource, "Tags": tags}),
        )
    };
    let list = |resource: &str| {
        call(
            &app,
            "ListTagsForResource",
            json!({"ResourceArn": resource}),
        )
    };
    ok(tag(
        &arn,
        json!([{"Key": "team", "Value": "ops"}, {"Key": "cost", "Value": "42"}]),
    )
    .await);
    ok(tag(&arn, json!([{"Key": "team", "Value": "platform"}])).await);
    ok(tag(&instance, json!([{"Key": "env", "Value": "test"}])).await);
    assert_eq!(
        ok(list(&arn).await)["Tags"],
        json!([{"Key": "cost", "Value": "42"}, {"Key": "team", "Value": "platform"}])
    );
    assert_eq!(
        ok(list(&instance).await)["Tags"],
        json!([{"Key": "env", "Value": "test"}])
    );
    ok(call(
        &app,
        "UntagResource",
        json!({"ResourceArn": arn, "TagKeys": ["cost", "absent"]}),
    )
    .await);
    assert_eq!(
        ok(list(&arn).await)["Tags"],
        json!([{"Key": "team", "Value": "platform"}])
    );

    let other = TestApp::with_store(app.state.store.clone()).await;
    let r = call(
        &app,
        "TagResource",
        json!({"InstanceArn": instance_arn(&other), "ResourceArn": arn, "Tags": []}),
    )
    .await;
    assert_error(&r, "ValidationException", "does not belong to the instance");
    let r = call(&app, "ListTagsForResource", json!({"ResourceArn": "arn:aws:sso::123456789012:application/ssoins-1234567890abcdef/apl-1234567890abcdef"})).await;
    assert_error(&r, "ResourceNotFoundException", "not found");
    let too_many: Vec<Value> = (0..76)
        .map(|i| json!({"Key": format!("k{i}"), "Value": "v"}))
        .collect();
    assert_error(
        &tag(&arn, json!(too_many)).await,
        "ValidationException",
        "tags",
    );
    let many: Vec<Value> = (0..75)
        .map(|i| json!({"Key": format!("k{i}"), "Value": "v"}))
        .collect();
    assert_error(
        &tag(&arn, json!(many)).await,
        "ServiceQuotaExceededException",
        "at most 75 tags",
    );
    assert_error(
        &call(
            &app,
            "UntagResource",
            json!({"ResourceArn": arn, "TagKeys": []}),
        )
        .await,
        "ValidationException",
        "tagKeys",
    );
}

#[tokio::test]
async fn accounts_are_declared_listed_and_deleted_through_the_admin_api() {
    let app = TestApp::new().await;
    let path = format!("/tenants/{}/accounts", app.tenant.tenant_id);
    let r = app
        .admin(
            Method::POST,
            &path,
            Some(json!({"accountId": DEV, "name": "dev", "email": "dev@example.com"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(
        (&r.body["accountId"], &r.body["name"], &r.body["email"]),
        (&json!(DEV), &json!("dev"), &json!("dev@example.com"))
    );
    assert!(r.body["createdAt"].is_string());
    let again = app
        .admin(
            Method::POST,
            &path,
            Some(json!({"accountId": DEV, "name": "dev", "email": "dev@example.com"})),
        )
        .await;
    crate::helpers::assert_error(&again, 409, "Account already exists.");
    for bad in [
        json!({"accountId": "1111", "name": "dev", "email": "dev@example.com"}),
        json!({"accountId": PROD, "name": "", "email": "dev@example.com"}),
        json!({"accountId": PROD, "name": "prod", "email": "not-an-email"}),
        json!({"accountId": PROD, "name": "prod", "email": "p@example.com", "extra": 1}),
    ] {
        let r = app.admin(Method::POST, &path, Some(bad.clone())).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{bad}: {}", r.body);
    }
    declare(&app, PROD).await;
    let listed = app.admin(Method::GET, &path, None).await;
    let ids: Vec<&str> = listed
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["accountId"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [DEV, PROD]);
    let r = app
        .admin(Method::DELETE, &format!("{path}/{DEV}"), None)
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    crate::helpers::assert_error(
        &app.admin(Method::DELETE, &format!("{path}/{DEV}"), None)
            .await,
        404,
        "Account not found.",
    );
    crate::helpers::assert_error(
        &app.admin(Method::GET, "/tenants/nobody/accounts", None)
            .await,
        404,
        "Tenant not found.",
    );
}

#[tokio::test]
async fn assignments_report_their_status_and_are_listed_both_ways() {
    let app = TestApp::new().await;
    declare(&app, DEV).await;
    declare(&app, PROD).await;
    let admin = permission_set(&app, "Admin").await;
    let read = permission_set(&app, "Read").await;
    let jane = scim_user(&app, "jane@example.com").await;
    let eng = scim_group(&app, "Engineering", &[&jane]).await;

    let created = ok(on(
        &app,
        "CreateAccountAssignment",
        assignment(DEV, &admin, "GROUP", &eng),
    )
    .await);
    let status = &created["AccountAssignmentCreationStatus"];
    // The answer says IN_PROGRESS, as AWS's does; the first Describe says SUCCEEDED.
    assert_eq!(status["Status"], "IN_PROGRESS");
    assert_eq!(
        (&status["TargetId"], &status["TargetType"]),
        (&json!(DEV), &json!("AWS_ACCOUNT"))
    );
    assert_eq!(
        (&status["PrincipalType"], &status["PrincipalId"]),
        (&json!("GROUP"), &json!(eng))
    );
    assert_eq!(status["PermissionSetArn"], json!(admin));
    let request_id = status["RequestId"].as_str().unwrap().to_owned();
    let described = ok(on(
        &app,
        "DescribeAccountAssignmentCreationStatus",
        json!({"AccountAssignmentCreationRequestId": request_id}),
    )
    .await);
    assert_eq!(
        described["AccountAssignmentCreationStatus"]["Status"],
        "SUCCEEDED"
    );
    assert_eq!(
        described["AccountAssignmentCreationStatus"]["RequestId"],
        json!(request_id)
    );
    assert!(
        described["AccountAssignmentCreationStatus"]
            .get("FailureReason")
            .is_none()
    );
    // Creating it again changes nothing and succeeds, as AWS does.
    ok(on(
        &app,
        "CreateAccountAssignment",
        assignment(DEV, &admin, "GROUP", &eng),
    )
    .await);
    ok(on(
        &app,
        "CreateAccountAssignment",
        assignment(DEV, &admin, "USER", &jane),
    )
    .await);
    ok(on(
        &app,
        "CreateAccountAssignment",
        assignment(PROD, &read, "GROUP", &eng),
    )
    .await);

    let on_dev = ok(on(
        &app,
        "ListAccountAssignments",
        json!({"AccountId": DEV, "PermissionSetArn": admin}),
    )
    .await);
    assert_eq!(
        on_dev["AccountAssignments"],
        json!([{"AccountId": DEV, "PermissionSetArn": admin, "PrincipalType": "GROUP", "PrincipalId": eng},
               {"AccountId": DEV, "PermissionSetArn": admin, "PrincipalType": "USER", "PrincipalId": jane}])
    );
    let paged = all_pages(
        &app,
        "ListAccountAssignments",
        json!({"AccountId": DEV, "PermissionSetArn": admin, "MaxResults": 1}),
        "AccountAssignments",
    )
    .await;
    assert_eq!(json!(paged), on_dev["AccountAssignments"]);
    let of_group = all_pages(
        &app,
        "ListAccountAssignmentsForPrincipal",
        json!({"PrincipalType": "GROUP", "PrincipalId": eng, "MaxResults": 1}),
        "AccountAssignments",
    )
    .await;
    let accounts: Vec<&str> = of_group
        .iter()
        .map(|a| a["AccountId"].as_str().unwrap())
        .collect();
    assert_eq!(accounts, [DEV, PROD]);
    let filtered = ok(on(
        &app,
        "ListAccountAssignmentsForPrincipal",
        json!({"PrincipalType": "GROUP", "PrincipalId": eng, "Filter": {"AccountId": PROD}}),
    )
    .await);
    assert_eq!(
        filtered["AccountAssignments"],
        json!([{"AccountId": PROD, "PermissionSetArn": read, "PrincipalType": "GROUP", "PrincipalId": eng}])
    );
    let creations = ok(on(
        &app,
        "ListAccountAssignmentCreationStatus",
        json!({"Filter": {"Status": "SUCCEEDED"}}),
    )
    .await);
    let creations = creations["AccountAssignmentsCreationStatus"]
        .as_array()
        .unwrap();
    assert_eq!(creations.len(), 4);
    assert!(
        creations
            .iter()
            .any(|c| c["RequestId"] == json!(request_id) && c["Status"] == "SUCCEEDED")
    );
    let failed = ok(on(
        &app,
        "ListAccountAssignmentCreationStatus",
        json!({"Filter": {"Status": "FAILED"}}),
    )
    .await);
    assert_eq!(failed["AccountAssignmentsCreationStatus"], json!([]));

    // Provisioned where assigned; a change makes the accounts' copy out of date.
    let provisioned = |status: Option<&str>| {
        let mut body = json!({"PermissionSetArn": admin});
        if let Some(s) = status {
            body["ProvisioningStatus"] = json!(s);
        }
        on(&app, "ListAccountsForProvisionedPermissionSet", body)
    };
    assert_eq!(ok(provisioned(None).await)["AccountIds"], json!([DEV]));
    ok(on(
        &app,
        "AttachManagedPolicyToPermissionSet",
        json!({"PermissionSetArn": admin, "ManagedPolicyArn": ADMIN_POLICY}),
    )
    .await);
    assert_eq!(
        ok(provisioned(Some("LATEST_PERMISSION_SET_PROVISIONED")).await)["AccountIds"],
        json!([])
    );
    assert_eq!(
        ok(provisioned(Some("LATEST_PERMISSION_SET_NOT_PROVISIONED")).await)["AccountIds"],
        json!([DEV])
    );
    let r = ok(on(
        &app,
        "ProvisionPermissionSet",
        json!({"PermissionSetArn": admin, "TargetType": "ALL_PROVISIONED_ACCOUNTS"}),
    )
    .await);
    assert_eq!(
        r["PermissionSetProvisioningStatus"]["Status"],
        "IN_PROGRESS"
    );
    let id = r["PermissionSetProvisioningStatus"]["RequestId"].clone();
    let d = ok(on(
        &app,
        "DescribePermissionSetProvisioningStatus",
        json!({"ProvisionPermissionSetRequestId": id}),
    )
    .await);
    assert_eq!(d["PermissionSetProvisioningStatus"]["Status"], "SUCCEEDED");
    assert_eq!(
        ok(provisioned(Some("LATEST_PERMISSION_SET_PROVISIONED")).await)["AccountIds"],
        json!([DEV])
    );
    let sets = ok(on(
        &app,
        "ListPermissionSetsProvisionedToAccount",
        json!({"AccountId": PROD}),
    )
    .await);
    assert_eq!(sets["PermissionSets"], json!([read]));
    // Provisioning to an account where the permission set is not assigned fails, with AWS's reason.
    let r = ok(on(
        &app,
        "ProvisionPermissionSet",
        json!({"PermissionSetArn": admin, "TargetType": "AWS_ACCOUNT", "TargetId": PROD}),
    )
    .await);
    let id = r["PermissionSetProvisioningStatus"]["RequestId"].clone();
    let d = ok(on(
        &app,
        "DescribePermissionSetProvisioningStatus",
        json!({"ProvisionPermissionSetRequestId": id}),
    )
    .await);
    assert_eq!(d["PermissionSetProvisioningStatus"]["Status"], "FAILED");
    assert_eq!(d["PermissionSetProvisioningStatus"]["AccountId"], PROD);
    assert!(
        d["PermissionSetProvisioningStatus"]["FailureReason"]
            .as_str()
            .unwrap()
            .contains(PROD)
    );
    let listed = ok(on(&app, "ListPermissionSetProvisioningStatus", json!({})).await);
    assert_eq!(
        listed["PermissionSetsProvisioningStatus"]
            .as_array()
            .unwrap()
            .len(),
        2
    );

    // A permission set that is assigned cannot be deleted; deleting its assignments frees it.
    let r = on(
        &app,
        "DeletePermissionSet",
        json!({"PermissionSetArn": admin}),
    )
    .await;
    assert_error(
        &r,
        "ConflictException",
        "Could not delete because PermissionSet has ApplicationProfile associated with it",
    );
    for (kind, principal) in [("GROUP", &eng), ("USER", &jane)] {
        let r = ok(on(
            &app,
            "DeleteAccountAssignment",
            assignment(DEV, &admin, kind, principal),
        )
        .await);
        let status = &r["AccountAssignmentDeletionStatus"];
        assert_eq!(status["Status"], "IN_PROGRESS");
        let d = ok(on(
            &app,
            "DescribeAccountAssignmentDeletionStatus",
            json!({"AccountAssignmentDeletionRequestId": status["RequestId"]}),
        )
        .await);
        assert_eq!(d["AccountAssignmentDeletionStatus"]["Status"], "SUCCEEDED");
    }
    let r = on(
        &app,
        "DeleteAccountAssignment",
        assignment(DEV, &admin, "USER", &jane),
    )
    .await;
    assert_error(&r, "ResourceNotFoundException", "Assignment not found.");
    assert_eq!(
        ok(provisioned(None).await)["AccountIds"],
        json!([]),
        "the last assignment deprovisions"
    );
    ok(on(
        &app,
        "DeletePermissionSet",
        json!({"PermissionSetArn": admin}),
    )
    .await);
    let deletions = ok(on(&app, "ListAccountAssignmentDeletionStatus", json!({})).await);
    assert_eq!(
        deletions["AccountAssignmentsDeletionStatus"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
}

#[tokio::test]
async fn assignment_errors_name_what_is_wrong() {
    let app = TestApp::new().await;
    declare(&app, DEV).await;
    let ps = permission_set(&app, "Admin").await;
    let jane = scim_user(&app, "jane@example.com").await;
    let ghost = "1234567890-a1b2c3d4-5678-90ab-cdef-000000000001";
    let create = |body: Value| on(&app, "CreateAccountAssignment", body);
    let r = create(assignment(PROD, &ps, "USER", &jane)).await;
    assert_error(
        &r,
        "ValidationException",
        "The account 222222222222 is not a member of this instance's organization",
    );
    let r = create(assignment(DEV, &ps, "USER", ghost)).await;
    assert_error(
        &r,
        "ResourceNotFoundException",
        &format!("Principal {ghost} of type USER does not exist"),
    );
    let r = create(assignment(DEV, &ps, "GROUP", &jane)).await;
    assert_error(
        &r,
        "ResourceNotFoundException",
        "of type GROUP does not exist",
    );
    let r = create(assignment(DEV, &ps, "ROLE", &jane)).await;
    assert_error(
        &r,
        "ValidationException",
        "Member must satisfy enum value set: [USER, GROUP]",
    );
    let mut wrong_target = assignment(DEV, &ps, "USER", &jane);
    wrong_target["TargetType"] = json!("OU");
    assert_error(
        &create(wrong_target).await,
        "ValidationException",
        "targetType",
    );
    assert_error(
        &create(assignment("12", &ps, "USER", &jane)).await,
        "ValidationException",
        "targetId",
    );
    assert_error(
        &create(assignment(DEV, &ps, "USER", "jane")).await,
        "ValidationException",
        "principalId",
    );
    let unknown = ps.replace(&ps[ps.len() - 16..], "0000000000000000");
    assert_error(
        &create(assignment(DEV, &unknown, "USER", &jane)).await,
        "ResourceNotFoundException",
        "Could not find PermissionSet",
    );
    let mut missing = assignment(DEV, &ps, "USER", &jane);
    missing.as_object_mut().unwrap().remove("PrincipalId");
    assert_error(
        &create(missing).await,
        "ValidationException",
        "Value null at 'principalId'",
    );
    let r = on(
        &app,
        "DescribeAccountAssignmentCreationStatus",
        json!({"AccountAssignmentCreationRequestId": "a1b2c3d4-5678-40ab-8def-000000000001"}),
    )
    .await;
    assert_error(&r, "ResourceNotFoundException", "not found");
    let r = on(
        &app,
        "DescribeAccountAssignmentCreationStatus",
        json!({"AccountAssignmentCreationRequestId": "nope"}),
    )
    .await;
    assert_error(
        &r,
        "ValidationException",
        "accountAssignmentCreationRequestId",
    );
    let r = on(
        &app,
        "ProvisionPermissionSet",
        json!({"PermissionSetArn": ps, "TargetType": "AWS_ACCOUNT"}),
    )
    .await;
    assert_error(&r, "ValidationException", "TargetId is required");
    let r = on(
        &app,
        "ListAccountsForProvisionedPermissionSet",
        json!({"PermissionSetArn": ps, "ProvisioningStatus": "SOMETIMES"}),
    )
    .await;
    assert_error(&r, "ValidationException", "provisioningStatus");
    let r = on(
        &app,
        "ListAccountAssignmentCreationStatus",
        json!({"Filter": {"Status": "DONE"}}),
    )
    .await;
    assert_error(&r, "ValidationException", "filter.status");
    let r = on(
        &app,
        "ListAccountAssignmentsForPrincipal",
        json!({"PrincipalType": "USER", "PrincipalId": jane, "NextToken": "YQ"}),
    )
    .await;
    assert_error(&r, "ValidationException", "NextToken");
    let r = on(
        &app,
        "ProvisionPermissionSet",
        json!({"PermissionSetArn": ps, "TargetType": "OU"}),
    )
    .await;
    assert_error(
        &r,
        "ValidationException",
        "[AWS_ACCOUNT, ALL_PROVISIONED_ACCOUNTS]",
    );
    let r = on(
        &app,
        "ProvisionPermissionSet",
        json!({"PermissionSetArn": ps, "TargetType": "AWS_ACCOUNT", "TargetId": PROD}),
    )
    .await;
    assert_error(
        &r,
        "ValidationException",
        "not a member of this instance's organization",
    );
    let r = on(
        &app,
        "ProvisionPermissionSet",
        json!({"PermissionSetArn": unknown, "TargetType": "ALL_PROVISIONED_ACCOUNTS"}),
    )
    .await;
    assert_error(
        &r,
        "ResourceNotFoundException",
        "Could not find PermissionSet",
    );
    let r = on(
        &app,
        "DescribePermissionSetProvisioningStatus",
        json!({"ProvisionPermissionSetRequestId": "a1b2c3d4-5678-40ab-8def-000000000001"}),
    )
    .await;
    assert_error(&r, "ResourceNotFoundException", "not found");
    let r = on(
        &app,
        "ListAccountAssignments",
        json!({"AccountId": "dev", "PermissionSetArn": ps}),
    )
    .await;
    assert_error(&r, "ValidationException", "accountId");
    let r = on(
        &app,
        "ListAccountAssignments",
        json!({"AccountId": DEV, "PermissionSetArn": unknown}),
    )
    .await;
    assert_error(
        &r,
        "ResourceNotFoundException",
        "Could not find PermissionSet",
    );
    let r = on(
        &app,
        "ListAccountAssignmentsForPrincipal",
        json!({"PrincipalType": "TEAM", "PrincipalId": jane}),
    )
    .await;
    assert_error(&r, "ValidationException", "principalType");
    let r = on(
        &app,
        "ListAccountAssignmentsForPrincipal",
        json!({"PrincipalType": "USER", "PrincipalId": jane, "Filter": {"AccountId": "x"}}),
    )
    .await;
    assert_error(&r, "ValidationException", "filter.accountId");
    let r = on(
        &app,
        "ListPermissionSetsProvisionedToAccount",
        json!({"AccountId": "123"}),
    )
    .await;
    assert_error(&r, "ValidationException", "accountId");
    // A status of one kind is not found as another.
    let created = ok(create(assignment(DEV, &ps, "USER", &jane)).await);
    let id = created["AccountAssignmentCreationStatus"]["RequestId"].clone();
    let r = on(
        &app,
        "DescribeAccountAssignmentDeletionStatus",
        json!({"AccountAssignmentDeletionRequestId": id}),
    )
    .await;
    assert_error(&r, "ResourceNotFoundException", "not found");
}

#[tokio::test]
async fn deleting_a_user_or_group_on_any_api_removes_its_assignments() {
    let app = TestApp::new().await;
    declare(&app, DEV).await;
    let ps = permission_set(&app, "Admin").await;
    let by_scim = scim_user(&app, "scim@example.com").await;
    let by_api = scim_user(&app, "api@example.com").await;
    let group = scim_group(&app, "Ops", &[]).await;
    for (kind, id) in [("USER", &by_scim), ("USER", &by_api), ("GROUP", &group)] {
        ok(on(
            &app,
            "CreateAccountAssignment",
            assignment(DEV, &ps, kind, id),
        )
        .await);
    }
    let listed = || {
        on(
            &app,
            "ListAccountAssignments",
            json!({"AccountId": DEV, "PermissionSetArn": ps}),
        )
    };
    assert_eq!(
        ok(listed().await)["AccountAssignments"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
    assert_eq!(
        app.call(Method::DELETE, &format!("/Users/{by_scim}"), None)
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    let body = json!({"IdentityStoreId": app.tenant.identity_store_id, "UserId": by_api});
    let r = app
        .send(signed_aws(
            "AWSIdentityStore.DeleteUser",
            "identitystore",
            &body,
            SECRET,
            app.clock.now_ms(),
        ))
        .await;
    ok(r);
    let left = ok(listed().await)["AccountAssignments"].clone();
    assert_eq!(
        left,
        json!([{"AccountId": DEV, "PermissionSetArn": ps, "PrincipalType": "GROUP", "PrincipalId": group}])
    );
    assert_eq!(
        app.call(Method::DELETE, &format!("/Groups/{group}"), None)
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(ok(listed().await)["AccountAssignments"], json!([]));
    // With nothing assigned any more, the permission set can go.
    ok(on(&app, "DeletePermissionSet", json!({"PermissionSetArn": ps})).await);
}

#[tokio::test]
async fn the_protocol_answers_unknown_and_unsupported_operations_with_a_message() {
    let app = TestApp::new().await;
    for operation in ["CreateApplication", "NoSuchThing"] {
        let r = on(&app, operation, json!({})).await;
        assert_aws_error(&r, 400, "UnknownOperationException");
        assert!(
            r.body["Message"].as_str().unwrap().contains(operation),
            "{}",
            r.body
        );
    }
    let r = app
        .send(signed_aws(
            "NoService.ListThings",
            "sso",
            &json!({}),
            SECRET,
            app.clock.now_ms(),
        ))
        .await;
    assert_aws_error(&r, 400, "UnknownOperationException");
    assert!(r.body["Message"].is_string());

    // With configured credentials, a request signed for another service is refused.
    let keys: HashMap<String, String> = [("AKIDEXAMPLE".to_owned(), SECRET.to_owned())].into();
    let verifying = TestApp::with(|state| AppState {
        aws_auth: AwsAuth::Verify,
        aws_keys: keys,
        ..state
    })
    .await;
    let body = json!({});
    let r = verifying
        .send(signed_aws(
            "SWBExternalService.ListInstances",
            "sso",
            &body,
            SECRET,
            verifying.clock.now_ms(),
        ))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let r = verifying
        .send(signed_aws(
            "SWBExternalService.ListInstances",
            "identitystore",
            &body,
            SECRET,
            verifying.clock.now_ms(),
        ))
        .await;
    assert_aws_error(&r, 403, "InvalidSignatureException");
}

#[tokio::test]
async fn aws_json_requests_are_journaled_faulted_and_throttled_for_the_tenant_their_body_names() {
    let app = TestApp::with(|state| AppState {
        controls: Controls {
            throttle: Throttle::new(Some(Limit {
                rate: 1.0,
                burst: 3.0,
            })),
            ..Controls::default()
        },
        ..state
    })
    .await;
    let journal = |query: &str| {
        let path = format!("/tenants/{}/journal{query}", app.tenant.tenant_id);
        let app = &app;
        async move { app.admin(Method::GET, &path, None).await }
    };
    permission_set(&app, "Admin").await;
    let store_body = json!({"IdentityStoreId": app.tenant.identity_store_id});
    ok(app
        .send(signed_aws(
            "AWSIdentityStore.ListUsers",
            "identitystore",
            &store_body,
            SECRET,
            app.clock.now_ms(),
        ))
        .await);
    // ListInstances names no tenant: it is neither journaled nor throttled.
    for _ in 0..5 {
        ok(call(&app, "ListInstances", json!({})).await);
    }
    let entries = journal("").await.body;
    let paths: Vec<&str> = entries
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["path"].as_str().unwrap())
        .collect();
    assert_eq!(
        paths,
        ["/sso-admin/CreatePermissionSet", "/identitystore/ListUsers"]
    );
    let entry = &entries[0];
    assert_eq!(
        (&entry["method"], &entry["status"]),
        (&json!("POST"), &json!(200))
    );
    assert_eq!(entry["body"]["Name"], "Admin");
    assert_eq!(entry["responseBody"]["PermissionSet"]["Name"], "Admin");
    assert_eq!(entry["headers"]["authorization"], "AWS4-HMAC-SHA256 ****");
    let filtered = journal("?path=/sso-admin/*").await.body;
    assert_eq!(filtered.as_array().unwrap().len(), 1);

    // A fault rule on the sso-admin paths hits sso-admin requests only; its answer is AWS's.
    let rule = json!({"method": "POST", "path": "/sso-admin/*", "status": 500, "times": 1});
    assert_eq!(
        app.admin(Method::POST, "/faults", Some(rule)).await.status,
        StatusCode::CREATED
    );
    ok(app
        .send(signed_aws(
            "AWSIdentityStore.ListGroups",
            "identitystore",
            &store_body,
            SECRET,
            app.clock.now_ms(),
        ))
        .await);
    let r = on(&app, "ListPermissionSets", json!({})).await;
    assert_aws_error(&r, 500, "InternalServerException");
    assert!(r.body["Message"].is_string());
    ok(on(&app, "ListPermissionSets", json!({})).await);
    let statuses: Vec<u16> = journal("?path=/sso-admin/ListPermissionSets")
        .await
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["status"].as_u64().unwrap() as u16)
        .collect();
    assert_eq!(statuses, [500, 200]);

    // Each API of a tenant has its own bucket. A faulted request takes no token, so sso-admin
    // has used 2 of its burst of 3.
    ok(on(&app, "ListPermissionSets", json!({})).await);
    let r = on(&app, "ListPermissionSets", json!({})).await;
    assert_aws_error(&r, 400, "ThrottlingException");
    assert_eq!(r.body["Message"], "Rate exceeded");
    assert_eq!(r.header("retry-after"), Some("1"));
    ok(app
        .send(signed_aws(
            "AWSIdentityStore.ListGroups",
            "identitystore",
            &store_body,
            SECRET,
            app.clock.now_ms(),
        ))
        .await);
    assert_eq!(
        app.get("/Users").await.status,
        StatusCode::OK,
        "SCIM has a bucket of its own"
    );
    app.clock.advance_ms(1000);
    ok(on(&app, "ListPermissionSets", json!({})).await);
    let throttled = journal("?status=400").await.body;
    assert_eq!(
        throttled[0]["responseBody"]["__type"],
        "ThrottlingException"
    );
}

#[tokio::test]
async fn fixtures_carry_accounts_permission_sets_and_assignments() {
    let app = TestApp::new().await;
    let tenant = |rest: &str| format!("/tenants/{}{rest}", app.tenant.tenant_id);
    let fixture = json!({
        "users": [user_body("ann@example.com")],
        "groups": [{"displayName": "Engineering", "members": ["ann@example.com"]}],
        "accounts": [{"accountId": DEV, "name": "dev", "email": "dev@example.com"}],
        "permissionSets": [{
            "name": "Admin", "description": "Everything", "sessionDuration": "PT8H",
            "inlinePolicy": {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]},
            "managedPolicies": [ADMIN_POLICY],
            "customerManagedPolicies": [{"name": "S3Read"}],
            "permissionsBoundary": {"managedPolicyArn": "arn:aws:iam::aws:policy/PowerUserAccess"},
            "tags": {"team": "platform"}}],
        "assignments": [
            {"accountId": DEV, "permissionSet": "Admin", "group": "Engineering"},
            {"accountId": DEV, "permissionSet": "admin", "user": "ann@example.com"}],
    });
    let r = app
        .admin(Method::POST, &tenant("/seed"), Some(fixture.clone()))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(
        r.body,
        json!({"users": 1, "groups": 1, "memberships": 1, "accounts": 1, "permissionSets": 1, "assignments": 2})
    );
    let sets = ok(on(&app, "ListPermissionSets", json!({})).await)["PermissionSets"].clone();
    let arn = sets[0].as_str().unwrap().to_owned();
    let ps = ok(on(
        &app,
        "DescribePermissionSet",
        json!({"PermissionSetArn": arn}),
    )
    .await)["PermissionSet"]
        .clone();
    assert_eq!(
        (&ps["Name"], &ps["SessionDuration"]),
        (&json!("Admin"), &json!("PT8H"))
    );
    let assigned = ok(on(
        &app,
        "ListAccountAssignments",
        json!({"AccountId": DEV, "PermissionSetArn": arn}),
    )
    .await);
    assert_eq!(assigned["AccountAssignments"].as_array().unwrap().len(), 2);

    let exported = app.admin(Method::GET, &tenant("/export"), None).await.body;
    assert_eq!(exported["accounts"], fixture["accounts"]);
    let set = &exported["permissionSets"][0];
    assert_eq!(set["permissionSetArn"], json!(arn));
    for key in [
        "name",
        "description",
        "sessionDuration",
        "inlinePolicy",
        "managedPolicies",
        "permissionsBoundary",
        "tags",
    ] {
        assert_eq!(set[key], fixture["permissionSets"][0][key], "{key}");
    }
    assert_eq!(
        set["customerManagedPolicies"],
        json!([{"name": "S3Read", "path": "/"}])
    );
    assert_eq!(
        exported["assignments"],
        json!([{"accountId": DEV, "permissionSet": "Admin", "group": "Engineering"},
               {"accountId": DEV, "permissionSet": "Admin", "user": "ann@example.com"}])
    );
    // The export loads into another tenant as it is.
    let other = TestApp::with_store(app.state.store.clone()).await;
    let path = format!("/tenants/{}/seed", other.tenant.tenant_id);
    let r = other
        .admin(Method::POST, &path, Some(exported.clone()))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["assignments"], 2);

    // A reset empties the access too; back to the seed, the same again.
    ok(on(
        &app,
        "CreateAccountAssignment",
        assignment(
            DEV,
            &arn,
            "USER",
            &scim_user(&app, "extra@example.com").await,
        ),
    )
    .await);
    let r = app.admin(Method::POST, &tenant("/reset"), None).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(
        ok(on(&app, "ListPermissionSets", json!({})).await)["PermissionSets"],
        json!([])
    );
    assert_eq!(
        app.admin(Method::GET, &tenant("/accounts"), None)
            .await
            .body,
        json!([])
    );
    let r = app
        .admin(Method::POST, &tenant("/reset?to=seed"), None)
        .await;
    assert_eq!(r.body["assignments"], 2, "{}", r.body);
}

#[tokio::test]
async fn a_fixture_with_bad_account_access_is_refused_whole() {
    let app = TestApp::new().await;
    let path = format!("/tenants/{}/seed", app.tenant.tenant_id);
    let base = json!({
        "users": [user_body("ann@example.com")],
        "accounts": [{"accountId": DEV, "name": "dev", "email": "dev@example.com"}],
        "permissionSets": [{"name": "Admin"}],
    });
    let with = |key: &str, value: Value| {
        let mut f = base.clone();
        f[key] = value;
        f
    };
    for (fixture, detail) in [
        (
            with(
                "accounts",
                json!([{"accountId": "1", "name": "x", "email": "x@example.com"}]),
            ),
            "accounts[0]",
        ),
        (
            with(
                "accounts",
                json!([{"accountId": DEV, "name": "a", "email": "a@example.com"}, {"accountId": DEV, "name": "b", "email": "b@example.com"}]),
            ),
            "appears twice",
        ),
        (
            with(
                "permissionSets",
                json!([{"name": "Admin"}, {"name": "ADMIN"}]),
            ),
            "appears twice",
        ),
        (
            with(
                "permissionSets",
                json!([{"name": "Admin", "inlinePolicy": {"Statement": []}}]),
            ),
            "Invalid PermissionsPolicy Document",
        ),
        (
            with(
                "permissionSets",
                json!([{"name": "Admin", "managedPolicies": ["ReadOnly"]}]),
            ),
            "managedPolicies",
        ),
        (
            with(
                "permissionSets",
                json!([{"name": "Admin", "sessionDuration": "PT24H"}]),
            ),
            "PT12H",
        ),
        (
            with(
                "assignments",
                json!([{"accountId": PROD, "permissionSet": "Admin", "user": "ann@example.com"}]),
            ),
            "account 222222222222 is not declared",
        ),
        (
            with(
                "assignments",
                json!([{"accountId": DEV, "permissionSet": "Nope", "user": "ann@example.com"}]),
            ),
            "permission set \"Nope\" does not exist",
        ),
        (
            with(
                "assignments",
                json!([{"accountId": DEV, "permissionSet": "Admin", "group": "Nobody"}]),
            ),
            "group \"Nobody\" does not exist",
        ),
        (
            with(
                "assignments",
                json!([{"accountId": DEV, "permissionSet": "Admin", "user": "ann@example.com", "group": "G"}]),
            ),
            "either a user or a group",
        ),
    ] {
        let r = app.admin(Method::POST, &path, Some(fixture.clone())).await;
        crate::helpers::assert_error(&r, 400, detail);
        assert_eq!(
            app.user_count().await,
            0,
            "nothing of {fixture} was written"
        );
    }
    assert_eq!(
        app.admin(
            Method::GET,
            &format!("/tenants/{}/accounts", app.tenant.tenant_id),
            None
        )
        .await
        .body,
        json!([])
    );
}

/// Sends `n` copies of an operation at once; the statuses and bodies of the answers.
async fn race(app: &TestApp, n: usize, operation: &str, body: Value) -> Vec<(u16, Value)> {
    let tasks: Vec<_> = (0..n)
        .map(|_| {
            let router = app.router.clone();
            let target = format!("SWBExternalService.{operation}");
            let req = signed_aws(&target, "sso", &body, SECRET, app.clock.now_ms());
            tokio::spawn(async move {
                use http_body_util::BodyExt;
                use tower::ServiceExt;
                let response = router.oneshot(req).await.unwrap();
                let status = response.status().as_u16();
                let bytes = response.into_body().collect().await.unwrap().to_bytes();
                (status, serde_json::from_slice(&bytes).unwrap())
            })
        })
        .collect();
    let mut answers = Vec::new();
    for t in tasks {
        answers.push(t.await.unwrap());
    }
    answers
}

/// Racing writes of one resource all succeed or get AWS's conflict answer, never a failure.
async fn races_end_in_success_or_conflict(app: &TestApp) {
    declare(app, DEV).await;
    let jane = scim_user(app, "jane@example.com").await;
    let instance = json!({"InstanceArn": instance_arn(app)});
    let mut body = instance.clone();
    body["Name"] = json!("Raced");
    let answers = race(app, 12, "CreatePermissionSet", body).await;
    let created: Vec<&Value> = answers
        .iter()
        .filter(|(s, _)| *s == 200)
        .map(|(_, b)| b)
        .collect();
    assert_eq!(created.len(), 1, "{answers:?}");
    for (status, body) in &answers {
        assert!(
            *status == 200 || body["__type"] == "ConflictException",
            "{status} {body}"
        );
    }
    let ps = created[0]["PermissionSet"]["PermissionSetArn"]
        .as_str()
        .unwrap()
        .to_owned();

    let mut body = instance.clone();
    body["PermissionSetArn"] = json!(ps);
    body["ManagedPolicyArn"] = json!(ADMIN_POLICY);
    let answers = race(app, 12, "AttachManagedPolicyToPermissionSet", body).await;
    assert_eq!(
        answers.iter().filter(|(s, _)| *s == 200).count(),
        1,
        "{answers:?}"
    );
    assert!(
        answers
            .iter()
            .all(|(s, b)| *s == 200 || b["__type"] == "ConflictException"),
        "{answers:?}"
    );

    let mut body = assignment(DEV, &ps, "USER", &jane);
    body["InstanceArn"] = instance["InstanceArn"].clone();
    let answers = race(app, 12, "CreateAccountAssignment", body.clone()).await;
    assert!(answers.iter().all(|(s, _)| *s == 200), "{answers:?}");
    let listed = ok(on(
        app,
        "ListAccountAssignments",
        json!({"AccountId": DEV, "PermissionSetArn": ps}),
    )
    .await);
    assert_eq!(listed["AccountAssignments"].as_array().unwrap().len(), 1);
    let answers = race(app, 12, "DeleteAccountAssignment", body).await;
    assert_eq!(
        answers.iter().filter(|(s, _)| *s == 200).count(),
        1,
        "{answers:?}"
    );
    assert!(
        answers
            .iter()
            .all(|(s, b)| *s == 200 || b["__type"] == "ResourceNotFoundException"),
        "{answers:?}"
    );
}

#[tokio::test]
async fn racing_writes_succeed_or_conflict() {
    races_end_in_success_or_conflict(&TestApp::new().await).await;
}

#[tokio::test]
async fn racing_writes_succeed_or_conflict_on_a_sqlite_file() {
    // Several connections, unlike the in-memory database: SQLite's locking is in play.
    let dir = std::env::temp_dir().join(format!("idc-scim-race-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let url = format!("sqlite://{}", dir.join("t.db").display());
    let app = TestApp::with_store(store::connect(&url).await.unwrap()).await;
    races_end_in_success_or_conflict(&app).await;
    app.state.store.close().await;
    std::fs::remove_dir_all(&dir).unwrap();
}
