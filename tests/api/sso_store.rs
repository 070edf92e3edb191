//! The store contract of IAM Identity Center's account access (`SsoAdminStore`), on whichever
//! backend the harness opened: accounts, permission sets, policies, tags, assignments (and
//! their cascades), provisioning, operations, and indexed lookups at scale.

use std::sync::Arc;
use std::time::{Duration, Instant};

use idc_scim::scim::group::GroupAttrs;
use idc_scim::scim::user::UserAttrs;
use idc_scim::sso::{
    Account, Assignment, OperationKind, OperationStatus, PermissionSetAttrs, PolicyKind, PolicyRef,
    Principal, PrincipalType, Tag, new_permission_set_id,
};
use idc_scim::store::{
    AssignmentQuery, Constraint, ListArgs, OperationRecord, Page, PermissionSetChange,
    PermissionSetRecord, ProvisionQuery, Store, StoreError, Tenant,
};
use serde_json::json;

use crate::helpers::{START_MS, add_tenant, test_store, user_body};

async fn setup() -> (Arc<dyn Store>, Tenant) {
    let store = test_store().await;
    let (tenant, _) = add_tenant(&store).await;
    (store, tenant)
}

const ALL: ListArgs<'static> = ListArgs {
    limit: 100,
    after: None,
    with_total: false,
};

fn account(id: &str) -> Account {
    Account {
        account_id: id.to_owned(),
        name: format!("account {id}"),
        email: format!("root+{id}@example.com"),
    }
}

fn permission_set(name: &str) -> PermissionSetRecord {
    PermissionSetRecord {
        id: new_permission_set_id(),
        attrs: PermissionSetAttrs {
            name: name.to_owned(),
            description: Some(format!("{name} access")),
            session_duration: "PT8H".to_owned(),
            relay_state: None,
        },
        inline_policy: None,
        boundary: None,
        version: 1,
        created_ms: START_MS,
    }
}

fn managed(name: &str) -> PolicyRef {
    PolicyRef::aws_managed("m", &format!("arn:aws:iam::aws:policy/{name}")).unwrap()
}

fn operation(kind: OperationKind, ps: &str, account: Option<&str>, at: i64) -> OperationRecord {
    OperationRecord {
        request_id: uuid::Uuid::new_v4().to_string(),
        kind,
        status: OperationStatus::Succeeded,
        failure_reason: None,
        account_id: account.map(str::to_owned),
        permission_set_id: ps.to_owned(),
        principal: None,
        created_ms: at,
    }
}

async fn user(store: &Arc<dyn Store>, t: &Tenant, name: &str) -> Principal {
    let attrs = UserAttrs::from_request(user_body(name)).unwrap();
    let id = store.create_user(t, &attrs, START_MS).await.unwrap().id;
    Principal {
        kind: PrincipalType::User,
        id,
    }
}

async fn group(store: &Arc<dyn Store>, t: &Tenant, name: &str) -> Principal {
    let (attrs, _) = GroupAttrs::from_request(json!({"displayName": name})).unwrap();
    let id = store
        .create_group(t, &attrs, &Default::default(), START_MS)
        .await
        .unwrap()
        .id;
    Principal {
        kind: PrincipalType::Group,
        id,
    }
}

fn assignment(account: &str, ps: &str, principal: &Principal) -> Assignment {
    Assignment {
        account_id: account.to_owned(),
        permission_set_id: ps.to_owned(),
        principal: principal.clone(),
    }
}

async fn assign(store: &Arc<dyn Store>, t: &Tenant, a: &Assignment) {
    let op = OperationRecord {
        principal: Some(a.principal.clone()),
        ..operation(
            OperationKind::AssignmentCreation,
            &a.permission_set_id,
            Some(&a.account_id),
            START_MS,
        )
    };
    store
        .create_assignment(t, a, Some(&op), START_MS)
        .await
        .unwrap_or_else(|e| panic!("assigning {a:?}: {e:?}"));
}

fn page(limit: u32, after: &Option<String>) -> ListArgs<'_> {
    ListArgs {
        limit,
        after: after.as_deref(),
        with_total: false,
    }
}

/// Every item of a listing, page by page: `fetch` gets where a page starts, `key` says where
/// the next one does.
async fn walk<T, F, Fut>(mut fetch: F, key: impl Fn(&T) -> String) -> Vec<T>
where
    F: FnMut(Option<String>) -> Fut,
    Fut: Future<Output = Page<T>>,
{
    let mut items = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = fetch(after.take()).await;
        let next = page.items.last().map(&key).filter(|_| page.more);
        items.extend(page.items);
        match next {
            Some(k) => after = Some(k),
            None => return items,
        }
    }
}

#[tokio::test]
async fn accounts_are_declared_once_listed_in_order_and_deleted() {
    let (store, t) = setup().await;
    for id in ["333333333333", "111111111111", "222222222222"] {
        store
            .create_account(&t, &account(id), START_MS)
            .await
            .unwrap();
    }
    let r = store
        .create_account(&t, &account("111111111111"), START_MS)
        .await;
    assert!(
        matches!(r, Err(StoreError::Conflict(Constraint::AccountId))),
        "{r:?}"
    );
    let got = store.get_account(&t, "222222222222").await.unwrap();
    assert_eq!(
        (got.account, got.created_ms),
        (account("222222222222"), START_MS)
    );
    let (s, tt) = (store.as_ref(), &t);
    let listed = walk(
        |after| async move { s.list_accounts(tt, page(2, &after)).await.unwrap() },
        |a| a.account.account_id.clone(),
    )
    .await;
    let ids: Vec<&str> = listed
        .iter()
        .map(|a| a.account.account_id.as_str())
        .collect();
    assert_eq!(ids, ["111111111111", "222222222222", "333333333333"]);
    store.delete_account(&t, "111111111111").await.unwrap();
    assert!(matches!(
        store.delete_account(&t, "111111111111").await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        store.get_account(&t, "111111111111").await,
        Err(StoreError::NotFound)
    ));
    // Another tenant declares the same account id for itself.
    let (other, _) = add_tenant(&store).await;
    store
        .create_account(&other, &account("222222222222"), START_MS)
        .await
        .unwrap();
    assert!(store.list_accounts(&other, ALL).await.unwrap().items.len() == 1);
}

#[tokio::test]
async fn permission_sets_have_unique_names_a_quota_and_versions() {
    let (store, t) = setup().await;
    let admin = permission_set("Admin");
    let tags = [Tag {
        key: "team".into(),
        value: "ops".into(),
    }];
    store
        .create_permission_set(&t, &admin, &tags, 3)
        .await
        .unwrap();
    assert_eq!(
        store.get_permission_set(&t, &admin.id).await.unwrap(),
        admin
    );
    assert_eq!(
        store.find_permission_set(&t, "ADMIN").await.unwrap().id,
        admin.id
    );
    let r = store
        .create_permission_set(&t, &permission_set("admin"), &[], 3)
        .await;
    assert!(
        matches!(r, Err(StoreError::Conflict(Constraint::PermissionSetName))),
        "{r:?}"
    );
    store
        .create_permission_set(&t, &permission_set("Read"), &[], 3)
        .await
        .unwrap();
    store
        .create_permission_set(&t, &permission_set("Write"), &[], 3)
        .await
        .unwrap();
    let r = store
        .create_permission_set(&t, &permission_set("Fourth"), &[], 3)
        .await;
    assert!(matches!(r, Err(StoreError::LimitReached)), "{r:?}");
    let (s, tt) = (store.as_ref(), &t);
    let listed = walk(
        |after| async move { s.list_permission_sets(tt, page(2, &after)).await.unwrap() },
        |p| p.id.clone(),
    )
    .await;
    let mut names: Vec<&str> = listed.iter().map(|p| p.attrs.name.as_str()).collect();
    names.sort();
    assert_eq!(names, ["Admin", "Read", "Write"]);
    assert!(listed.windows(2).all(|w| w[0].id < w[1].id));
    assert_eq!(
        store.list_tags(&t, &admin.id, ALL).await.unwrap().items,
        tags
    );

    let changed = PermissionSetAttrs {
        description: None,
        session_duration: "PT2H".into(),
        relay_state: Some("https://console.aws.amazon.com/".into()),
        ..admin.attrs.clone()
    };
    store
        .update_permission_set(&t, &admin.id, PermissionSetChange::Attrs(&changed))
        .await
        .unwrap();
    let policy = r#"{"Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}"#;
    store
        .update_permission_set(
            &t,
            &admin.id,
            PermissionSetChange::InlinePolicy(Some(policy)),
        )
        .await
        .unwrap();
    let boundary = PolicyRef::customer_managed("b", "Boundary", Some("/limits/")).unwrap();
    store
        .update_permission_set(
            &t,
            &admin.id,
            PermissionSetChange::Boundary(Some(&boundary)),
        )
        .await
        .unwrap();
    let read = store.get_permission_set(&t, &admin.id).await.unwrap();
    assert_eq!(read.attrs, changed);
    assert_eq!(read.inline_policy.as_deref(), Some(policy));
    assert_eq!(read.boundary, Some(boundary));
    assert_eq!(read.version, 4, "each change counts");
    store
        .update_permission_set(&t, &admin.id, PermissionSetChange::Boundary(None))
        .await
        .unwrap();
    store
        .update_permission_set(&t, &admin.id, PermissionSetChange::InlinePolicy(None))
        .await
        .unwrap();
    let read = store.get_permission_set(&t, &admin.id).await.unwrap();
    assert_eq!((read.boundary, read.inline_policy), (None, None));
    let r = store
        .update_permission_set(
            &t,
            "ps-0000000000000000",
            PermissionSetChange::InlinePolicy(None),
        )
        .await;
    assert!(matches!(r, Err(StoreError::NotFound)));

    store.delete_permission_set(&t, &admin.id).await.unwrap();
    assert!(matches!(
        store.get_permission_set(&t, &admin.id).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        store.delete_permission_set(&t, &admin.id).await,
        Err(StoreError::NotFound)
    ));
    assert_eq!(
        store.list_tags(&t, &admin.id, ALL).await.unwrap().items,
        [],
        "its tags go with it"
    );
    // The name is free again.
    store
        .create_permission_set(&t, &permission_set("Admin"), &[], 3)
        .await
        .unwrap();
}

#[tokio::test]
async fn policies_of_both_kinds_share_one_limit() {
    let (store, t) = setup().await;
    let ps = permission_set("Dev");
    store.create_permission_set(&t, &ps, &[], 10).await.unwrap();
    let customer = PolicyRef::customer_managed("c", "S3Read", None).unwrap();
    for p in [
        managed("ReadOnlyAccess"),
        managed("job-function/ViewOnlyAccess"),
        customer.clone(),
    ] {
        store.attach_policy(&t, &ps.id, &p, 3).await.unwrap();
    }
    let r = store
        .attach_policy(&t, &ps.id, &managed("ReadOnlyAccess"), 3)
        .await;
    assert!(
        matches!(r, Err(StoreError::Conflict(Constraint::AttachedPolicy))),
        "attached twice: {r:?}"
    );
    let r = store
        .attach_policy(&t, &ps.id, &managed("PowerUserAccess"), 3)
        .await;
    assert!(matches!(r, Err(StoreError::LimitReached)), "{r:?}");
    let r = store
        .attach_policy(&t, "ps-0000000000000000", &managed("X"), 3)
        .await;
    assert!(matches!(r, Err(StoreError::NotFound)));
    let aws = store
        .list_policies(&t, &ps.id, PolicyKind::AwsManaged, ALL)
        .await
        .unwrap()
        .items;
    assert_eq!(
        aws,
        [
            managed("ReadOnlyAccess"),
            managed("job-function/ViewOnlyAccess")
        ]
    );
    let page = store
        .list_policies(
            &t,
            &ps.id,
            PolicyKind::AwsManaged,
            ListArgs { limit: 1, ..ALL },
        )
        .await
        .unwrap();
    assert!(page.more);
    assert_eq!(
        store
            .list_policies(&t, &ps.id, PolicyKind::CustomerManaged, ALL)
            .await
            .unwrap()
            .items,
        vec![customer.clone()]
    );
    assert_eq!(
        store.get_permission_set(&t, &ps.id).await.unwrap().version,
        4
    );
    store.detach_policy(&t, &ps.id, &customer).await.unwrap();
    assert!(matches!(
        store.detach_policy(&t, &ps.id, &customer).await,
        Err(StoreError::NotFound)
    ));
    store
        .attach_policy(&t, &ps.id, &managed("PowerUserAccess"), 3)
        .await
        .unwrap();
    assert_eq!(
        store.get_permission_set(&t, &ps.id).await.unwrap().version,
        6
    );
}

#[tokio::test]
async fn tags_are_upserted_removed_listed_and_limited() {
    let (store, t) = setup().await;
    let tag = |k: &str, v: &str| Tag {
        key: k.into(),
        value: v.into(),
    };
    store
        .tag_resource(&t, "ssoins-x", &[tag("b", "1"), tag("a", "2")], 3)
        .await
        .unwrap();
    store
        .tag_resource(&t, "ssoins-x", &[tag("a", "changed")], 3)
        .await
        .unwrap();
    assert_eq!(
        store.list_tags(&t, "ssoins-x", ALL).await.unwrap().items,
        [tag("a", "changed"), tag("b", "1")]
    );
    let r = store
        .tag_resource(&t, "ssoins-x", &[tag("c", ""), tag("d", "")], 3)
        .await;
    assert!(matches!(r, Err(StoreError::LimitReached)), "{r:?}");
    assert_eq!(
        store
            .list_tags(&t, "ssoins-x", ALL)
            .await
            .unwrap()
            .items
            .len(),
        2,
        "nothing of a refused request stays"
    );
    store
        .untag_resource(&t, "ssoins-x", &["a".into(), "zz".into()])
        .await
        .unwrap();
    assert_eq!(
        store.list_tags(&t, "ssoins-x", ALL).await.unwrap().items,
        [tag("b", "1")]
    );
    assert_eq!(
        store.list_tags(&t, "ps-other", ALL).await.unwrap().items,
        []
    );
}

#[tokio::test]
async fn assignments_go_with_their_user_group_or_account_and_hold_their_permission_set() {
    let (store, t) = setup().await;
    for id in ["111111111111", "222222222222"] {
        store
            .create_account(&t, &account(id), START_MS)
            .await
            .unwrap();
    }
    let ps = permission_set("Admin");
    store.create_permission_set(&t, &ps, &[], 10).await.unwrap();
    let jane = user(&store, &t, "jane@example.com").await;
    let eng = group(&store, &t, "Engineering").await;
    let a1 = assignment("111111111111", &ps.id, &jane);
    let a2 = assignment("111111111111", &ps.id, &eng);
    let a3 = assignment("222222222222", &ps.id, &eng);
    for a in [&a1, &a2, &a3, &a2] {
        assign(&store, &t, a).await;
    }
    let on_account = store
        .list_assignments(
            &t,
            AssignmentQuery::AccountPermissionSet {
                account_id: "111111111111",
                permission_set_id: &ps.id,
            },
            ALL,
        )
        .await
        .unwrap();
    assert_eq!(
        on_account.items,
        [a2.clone(), a1.clone()],
        "once each, groups before users"
    );
    let of_group = |account: Option<&'static str>| {
        let (store, t, eng) = (store.clone(), t.clone(), eng.clone());
        async move {
            store
                .list_assignments(
                    &t,
                    AssignmentQuery::Principal {
                        principal: &eng,
                        account_id: account,
                    },
                    ALL,
                )
                .await
                .unwrap()
                .items
        }
    };
    assert_eq!(of_group(None).await, [a2.clone(), a3.clone()]);
    assert_eq!(of_group(Some("222222222222")).await, vec![a3.clone()]);

    // Unknown accounts and principals break a foreign key; an unknown permission set is not found.
    let ghost = Principal {
        kind: PrincipalType::User,
        id: "1234567890-a1b2c3d4-5678-90ab-cdef-000000000001".into(),
    };
    let op = operation(
        OperationKind::AssignmentCreation,
        &ps.id,
        Some("111111111111"),
        START_MS,
    );
    for (a, expect_not_found) in [
        (assignment("999999999999", &ps.id, &jane), false),
        (assignment("111111111111", &ps.id, &ghost), false),
        (
            assignment("111111111111", "ps-0000000000000000", &jane),
            true,
        ),
    ] {
        let r = store.create_assignment(&t, &a, Some(&op), START_MS).await;
        match r {
            Err(StoreError::NotFound) if expect_not_found => {}
            Err(StoreError::MemberNotFound) if !expect_not_found => {}
            other => panic!("{a:?}: {other:?}"),
        }
    }
    assert!(
        matches!(
            store
                .get_operation(&t, OperationKind::AssignmentCreation, &op.request_id)
                .await,
            Err(StoreError::NotFound)
        ),
        "a refused assignment records nothing"
    );

    let r = store.delete_permission_set(&t, &ps.id).await;
    assert!(matches!(r, Err(StoreError::InUse)), "still assigned: {r:?}");
    // Deleting the user (over any API) deletes the user's assignment.
    store.delete_user(&t, &jane.id).await.unwrap();
    assert_eq!(
        store
            .list_assignments(
                &t,
                AssignmentQuery::Principal {
                    principal: &jane,
                    account_id: None
                },
                ALL
            )
            .await
            .unwrap()
            .items,
        []
    );
    // Deleting an account deletes what is assigned in it.
    store.delete_account(&t, "222222222222").await.unwrap();
    assert_eq!(of_group(None).await, vec![a2.clone()]);
    store.delete_group(&t, &eng.id).await.unwrap();
    assert_eq!(of_group(None).await, []);
    store.delete_permission_set(&t, &ps.id).await.unwrap();
}

#[tokio::test]
async fn provisioning_follows_assignments_and_permission_set_versions() {
    let (store, t) = setup().await;
    for id in ["111111111111", "222222222222"] {
        store
            .create_account(&t, &account(id), START_MS)
            .await
            .unwrap();
    }
    let ps = permission_set("Ops");
    store.create_permission_set(&t, &ps, &[], 10).await.unwrap();
    let eng = group(&store, &t, "Engineering").await;
    let accounts_of = |latest: Option<bool>| {
        let (store, t, id) = (store.clone(), t.clone(), ps.id.clone());
        async move {
            store
                .list_provisioned(&t, ProvisionQuery::AccountsOf(&id), latest, ALL)
                .await
                .unwrap()
                .items
        }
    };
    assert_eq!(accounts_of(None).await, Vec::<String>::new());
    assign(&store, &t, &assignment("111111111111", &ps.id, &eng)).await;
    assign(&store, &t, &assignment("222222222222", &ps.id, &eng)).await;
    assert_eq!(
        accounts_of(Some(true)).await,
        ["111111111111", "222222222222"]
    );
    let sets_in = store
        .list_provisioned(
            &t,
            ProvisionQuery::PermissionSetsIn("111111111111"),
            None,
            ALL,
        )
        .await
        .unwrap()
        .items;
    assert_eq!(sets_in, vec![ps.id.clone()]);

    store
        .attach_policy(&t, &ps.id, &managed("ReadOnlyAccess"), 20)
        .await
        .unwrap();
    assert_eq!(accounts_of(Some(true)).await, Vec::<String>::new());
    assert_eq!(
        accounts_of(Some(false)).await,
        ["111111111111", "222222222222"]
    );
    assert_eq!(
        store
            .provision(&t, &ps.id, Some("222222222222"))
            .await
            .unwrap(),
        1
    );
    assert_eq!(accounts_of(Some(true)).await, ["222222222222"]);
    assert_eq!(store.provision(&t, &ps.id, None).await.unwrap(), 2);
    assert_eq!(
        accounts_of(Some(true)).await,
        ["111111111111", "222222222222"]
    );

    // The last assignment of a permission set in an account deprovisions it there.
    let last = assignment("222222222222", &ps.id, &eng);
    let op = operation(
        OperationKind::AssignmentDeletion,
        &ps.id,
        Some("222222222222"),
        START_MS,
    );
    store.delete_assignment(&t, &last, &op).await.unwrap();
    assert!(matches!(
        store.delete_assignment(&t, &last, &op).await,
        Err(StoreError::NotFound)
    ));
    assert_eq!(accounts_of(None).await, ["111111111111"]);
    assert_eq!(
        store
            .provision(&t, &ps.id, Some("222222222222"))
            .await
            .unwrap(),
        0,
        "not assigned there"
    );
    assert!(matches!(
        store.provision(&t, "ps-0000000000000000", None).await,
        Err(StoreError::NotFound)
    ));
    // A principal deleted by cascade leaves no provisioning behind that counts.
    store.delete_group(&t, &eng.id).await.unwrap();
    assert_eq!(accounts_of(None).await, Vec::<String>::new());
    store.delete_permission_set(&t, &ps.id).await.unwrap();
}

#[tokio::test]
async fn operations_are_kept_by_kind_in_order() {
    let (store, t) = setup().await;
    let mut ops = Vec::new();
    for i in 0..5 {
        let mut op = operation(
            OperationKind::Provisioning,
            "ps-1234567890abcdef",
            None,
            START_MS + i / 2,
        );
        if i == 3 {
            op.status = OperationStatus::Failed;
            op.failure_reason = Some("nothing to provision".into());
        }
        store.record_operation(&t, &op).await.unwrap();
        ops.push(op);
    }
    let other = operation(
        OperationKind::AssignmentCreation,
        "ps-1234567890abcdef",
        Some("111111111111"),
        START_MS,
    );
    store.record_operation(&t, &other).await.unwrap();
    assert_eq!(
        store
            .get_operation(&t, OperationKind::Provisioning, &ops[3].request_id)
            .await
            .unwrap(),
        ops[3]
    );
    assert!(
        matches!(
            store
                .get_operation(&t, OperationKind::AssignmentCreation, &ops[3].request_id)
                .await,
            Err(StoreError::NotFound)
        ),
        "a request id answers for its own kind"
    );
    let (s, tt) = (store.as_ref(), &t);
    let listed = walk(
        |after| async move {
            s.list_operations(tt, OperationKind::Provisioning, None, page(2, &after))
                .await
                .unwrap()
        },
        OperationRecord::key,
    )
    .await;
    let mut expected = ops.clone();
    expected.sort_by_key(OperationRecord::key);
    assert_eq!(listed, expected);
    let failed = store
        .list_operations(
            &t,
            OperationKind::Provisioning,
            Some(OperationStatus::Failed),
            ALL,
        )
        .await
        .unwrap()
        .items;
    assert_eq!(failed, [ops[3].clone()]);
}

#[tokio::test]
async fn clearing_and_deleting_a_tenant_take_its_access_along() {
    let (store, t) = setup().await;
    store
        .create_account(&t, &account("111111111111"), START_MS)
        .await
        .unwrap();
    let ps = permission_set("Admin");
    store
        .create_permission_set(
            &t,
            &ps,
            &[Tag {
                key: "k".into(),
                value: "v".into(),
            }],
            10,
        )
        .await
        .unwrap();
    store
        .attach_policy(&t, &ps.id, &managed("ReadOnlyAccess"), 20)
        .await
        .unwrap();
    let eng = group(&store, &t, "Engineering").await;
    assign(&store, &t, &assignment("111111111111", &ps.id, &eng)).await;
    store
        .tag_resource(
            &t,
            "ssoins-mine",
            &[Tag {
                key: "env".into(),
                value: "test".into(),
            }],
            75,
        )
        .await
        .unwrap();
    store.set_instance_name(&t, "mine").await.unwrap();

    store.clear_access(&t).await.unwrap();
    assert_eq!(store.list_accounts(&t, ALL).await.unwrap().items, []);
    assert_eq!(store.list_permission_sets(&t, ALL).await.unwrap().items, []);
    assert_eq!(store.list_tags(&t, &ps.id, ALL).await.unwrap().items, []);
    assert_eq!(
        store
            .list_operations(&t, OperationKind::AssignmentCreation, None, ALL)
            .await
            .unwrap()
            .items,
        []
    );
    assert_eq!(
        store
            .list_tags(&t, "ssoins-mine", ALL)
            .await
            .unwrap()
            .items
            .len(),
        1,
        "the instance keeps its tags"
    );
    assert_eq!(
        store.instance_name(&t).await.unwrap().as_deref(),
        Some("mine")
    );

    // A tenant with assignments is deleted whole.
    store
        .create_account(&t, &account("111111111111"), START_MS)
        .await
        .unwrap();
    store.create_permission_set(&t, &ps, &[], 10).await.unwrap();
    assign(&store, &t, &assignment("111111111111", &ps.id, &eng)).await;
    store.delete_tenant(&t.tenant_id).await.unwrap();
    assert!(matches!(
        store.get_tenant(&t.tenant_id).await,
        Err(StoreError::NotFound)
    ));
    assert_eq!(store.instance_name(&t).await.unwrap(), None);
}

/// The fastest of 25 listings (the least disturbed by other work on the machine), checking
/// each answers `expect` assignments.
async fn fastest(
    store: &dyn Store,
    t: &Tenant,
    query: AssignmentQuery<'_>,
    expect: usize,
) -> Duration {
    let mut best = Duration::MAX;
    for _ in 0..25 {
        let started = Instant::now();
        let page = store.list_assignments(t, query, ALL).await.unwrap();
        best = best.min(started.elapsed());
        assert_eq!(page.items.len(), expect);
    }
    best
}

#[tokio::test]
async fn lookups_by_principal_and_by_account_stay_indexed_at_ten_thousand_assignments() {
    let (store, t) = setup().await;
    let accounts: Vec<String> = (0..100)
        .map(|i| format!("{:012}", 100_000_000_000u64 + i))
        .collect();
    for id in &accounts {
        store
            .create_account(&t, &account(id), START_MS)
            .await
            .unwrap();
    }
    let mut sets = Vec::new();
    for i in 0..100 {
        let ps = permission_set(&format!("Set{i:03}"));
        store
            .create_permission_set(&t, &ps, &[], 200)
            .await
            .unwrap();
        sets.push(ps.id);
    }
    let big = group(&store, &t, "Everyone").await;
    let small = user(&store, &t, "one@example.com").await;
    // Sixteen at a time: PostgreSQL takes them in parallel.
    let all: Vec<Assignment> = accounts
        .iter()
        .flat_map(|account_id| sets.iter().map(|ps| assignment(account_id, ps, &big)))
        .collect();
    for chunk in all.chunks(16) {
        futures_util::future::join_all(chunk.iter().map(|a| assign(&store, &t, a))).await;
    }
    assign(&store, &t, &assignment(&accounts[7], &sets[7], &small)).await;

    // The same shape in a tenant that holds one assignment, as the yardstick.
    let (lone, _) = add_tenant(&store).await;
    store
        .create_account(&lone, &account(&accounts[0]), START_MS)
        .await
        .unwrap();
    let lone_ps = permission_set("Set000");
    store
        .create_permission_set(&lone, &lone_ps, &[], 200)
        .await
        .unwrap();
    let lone_user = user(&store, &lone, "one@example.com").await;
    assign(
        &store,
        &lone,
        &assignment(&accounts[0], &lone_ps.id, &lone_user),
    )
    .await;

    // Every assignment of the big group is listed once, in order, page by page.
    let q = AssignmentQuery::Principal {
        principal: &big,
        account_id: None,
    };
    let (s, tt) = (store.as_ref(), &t);
    let all = walk(
        |after| async move { s.list_assignments(tt, q, page(100, &after)).await.unwrap() },
        |a| q.key(a),
    )
    .await;
    assert_eq!(all.len(), 10_000);
    assert!(
        all.windows(2)
            .all(|w| (&w[0].account_id, &w[0].permission_set_id)
                < (&w[1].account_id, &w[1].permission_set_id))
    );

    let by_principal = |principal, account_id| AssignmentQuery::Principal {
        principal,
        account_id,
    };
    let by_account = |account_id, permission_set_id| AssignmentQuery::AccountPermissionSet {
        account_id,
        permission_set_id,
    };
    let yardstick = fastest(s, &lone, by_principal(&lone_user, None), 1).await;
    let one_among_many = fastest(s, &t, by_principal(&small, None), 1).await;
    let big_in_one_account = fastest(s, &t, by_principal(&big, Some(&accounts[7])), 100).await;
    let yardstick_page = fastest(s, &lone, by_account(&accounts[0], &lone_ps.id), 1).await;
    let on_one_account = fastest(s, &t, by_account(&accounts[7], &sets[7]), 2).await;
    // An index answers in about the same time whatever the table holds; a scan of 10,000 rows
    // takes many times longer than the lookup of one.
    let slack = Duration::from_micros(300);
    assert!(
        one_among_many <= yardstick * 3 + slack,
        "{one_among_many:?} vs {yardstick:?}"
    );
    assert!(
        on_one_account <= yardstick_page * 3 + slack,
        "{on_one_account:?} vs {yardstick_page:?}"
    );
    // A page of 100 of the big group's rows in one account, read in index order.
    assert!(
        big_in_one_account <= yardstick * 30 + slack,
        "{big_in_one_account:?} vs {yardstick:?}"
    );
}
