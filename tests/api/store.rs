//! The store contract, written once and run on whichever backend the harness opened.

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use idc_scim::auth::issue_access_key;
use idc_scim::scim::Profile;
use idc_scim::scim::group::{GroupAttrs, MemberChanges};
use idc_scim::scim::query::{GroupQuery, UserQuery};
use idc_scim::scim::user::UserAttrs;
use idc_scim::store::{
    Constraint, ListArgs, Page, Store, StoreError, Tenant, TokenInfo, UserRecord,
};
use serde_json::json;

use crate::helpers::{
    ELSEWHERE, START_MS, TempDir, TestApp, add_tenant, eventually, test_store, two_stores,
    user_body,
};

/// AWS's first members of a group: users only.
fn users_only(ids: &[String]) -> MemberChanges {
    MemberChanges::first(ids.to_vec(), Profile::Aws)
}

fn attrs(name: &str) -> UserAttrs {
    UserAttrs::from_request(user_body(name)).unwrap()
}

async fn setup() -> (Arc<dyn Store>, Tenant) {
    let store = test_store().await;
    let (tenant, _) = add_tenant(&store).await;
    (store, tenant)
}

const ALL: ListArgs<'static> = ListArgs {
    limit: 100,
    after: None,
    with_total: true,
};

#[tokio::test]
async fn users_are_created_read_updated_and_deleted() {
    let (store, t) = setup().await;
    let created = store
        .create_user(&t, &attrs("a@x.y"), START_MS)
        .await
        .unwrap();
    assert_eq!(created.version, 1);
    let read = store.get_user(&t, &created.id).await.unwrap();
    assert_eq!(read, created);
    let mut changed = attrs("b@x.y");
    changed.title = Some("T".into());
    let updated = store
        .update_user(&t, &created.id, START_MS + 5, |current| {
            assert_eq!(current, &created, "the edit sees the stored user");
            Ok::<_, ()>(changed.clone())
        })
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (updated.version, updated.created_ms, updated.modified_ms),
        (2, START_MS, START_MS + 5)
    );
    assert_eq!(store.get_user(&t, &created.id).await.unwrap(), updated);
    store.delete_user(&t, &created.id).await.unwrap();
    assert!(matches!(
        store.get_user(&t, &created.id).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        store.delete_user(&t, &created.id).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        store
            .update_user(&t, &created.id, START_MS, |_| Ok::<_, ()>(changed.clone()))
            .await,
        Err(StoreError::NotFound)
    ));
}

#[tokio::test]
async fn an_edit_sees_the_current_version_and_may_refuse() {
    let (store, t) = setup().await;
    let u = store
        .create_user(&t, &attrs("a@x.y"), START_MS)
        .await
        .unwrap();
    // As a precondition on version 1 would.
    let on_version_1 = |name: &'static str| {
        move |current: &UserRecord| match current.version {
            1 => Ok(attrs(name)),
            v => Err(v),
        }
    };
    let written = store
        .update_user(&t, &u.id, START_MS, on_version_1("b@x.y"))
        .await
        .unwrap();
    assert_eq!(written.map(|r| r.version), Ok(2));
    let r = store
        .update_user(&t, &u.id, START_MS, on_version_1("c@x.y"))
        .await
        .unwrap();
    assert_eq!(r.map(|r| r.version), Err(2));
    assert_eq!(
        store.get_user(&t, &u.id).await.unwrap().attrs.user_name,
        "b@x.y"
    );
}

#[tokio::test]
async fn uniqueness_is_enforced_by_the_database_and_named() {
    let (store, t) = setup().await;
    let a = store
        .create_user(&t, &attrs("a@x.y"), START_MS)
        .await
        .unwrap();
    let mut same_name = attrs("A@X.Y");
    same_name.emails.clear();
    let r = store.create_user(&t, &same_name, START_MS).await;
    assert!(
        matches!(r, Err(StoreError::Conflict(Constraint::UserName))),
        "{r:?}"
    );
    let mut same_mail = attrs("other@x.y");
    same_mail.emails = a.attrs.emails.clone();
    let r = store.create_user(&t, &same_mail, START_MS).await;
    assert!(
        matches!(r, Err(StoreError::Conflict(Constraint::Email))),
        "{r:?}"
    );
    let b = store
        .create_user(&t, &attrs("b@x.y"), START_MS)
        .await
        .unwrap();
    let mut renamed = attrs("A@x.y");
    renamed.emails = b.attrs.emails.clone();
    let r = store
        .update_user(&t, &b.id, START_MS, |_| Ok::<_, ()>(renamed.clone()))
        .await;
    assert!(matches!(r, Err(StoreError::Conflict(Constraint::UserName))));
    // Users without email do not collide with each other.
    for name in ["n1", "n2"] {
        let mut no_mail = attrs(name);
        no_mail.emails.clear();
        store.create_user(&t, &no_mail, START_MS).await.unwrap();
    }
    // Another tenant may reuse the names.
    let (other, _) = add_tenant(&store).await;
    store
        .create_user(&other, &attrs("a@x.y"), START_MS)
        .await
        .unwrap();
}

#[tokio::test]
async fn lists_filter_page_and_count() {
    let (store, t) = setup().await;
    let mut ids = Vec::new();
    for i in 0..7 {
        let mut a = attrs(&format!("user{i}@x.y"));
        a.external_id = Some(format!("ext-{}", i % 2));
        ids.push(store.create_user(&t, &a, START_MS).await.unwrap().id);
    }
    ids.sort();
    let page = store.list_users(&t, &UserQuery::All, ALL).await.unwrap();
    assert_eq!(page.total, Some(7));
    assert!(!page.more);
    assert_eq!(
        page.items.iter().map(|u| u.id.clone()).collect::<Vec<_>>(),
        ids
    );

    let mut seen = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let args = ListArgs {
            limit: 3,
            after: after.as_deref(),
            with_total: false,
        };
        let page = store.list_users(&t, &UserQuery::All, args).await.unwrap();
        assert_eq!(page.total, None);
        seen.extend(page.items.iter().map(|u| u.id.clone()));
        if !page.more {
            break;
        }
        after = page.items.last().map(|u| u.id.clone());
    }
    assert_eq!(seen, ids);

    let q = UserQuery::UserName("USER3@X.Y".into());
    let page = store.list_users(&t, &q, ALL).await.unwrap();
    assert_eq!(page.items.len(), 1);
    assert_eq!(page.items[0].attrs.user_name, "user3@x.y");
    let q = UserQuery::ExternalId("ext-1".into());
    assert_eq!(store.list_users(&t, &q, ALL).await.unwrap().total, Some(3));
    let q = UserQuery::Id(ids[2].clone());
    assert_eq!(
        store.list_users(&t, &q, ALL).await.unwrap().items[0].id,
        ids[2]
    );
    let limited = ListArgs {
        limit: 2,
        after: None,
        with_total: true,
    };
    let page = store
        .list_users(&t, &UserQuery::All, limited)
        .await
        .unwrap();
    assert_eq!(
        (page.items.len(), page.total, page.more),
        (2, Some(7), true)
    );
    let (other, _) = add_tenant(&store).await;
    assert_eq!(
        store
            .list_users(&other, &UserQuery::All, ALL)
            .await
            .unwrap()
            .total,
        Some(0)
    );
}

/// The console's search: a prefix of `userName` or `displayName`, in any case, whose `%`, `_`
/// and `\\` are no wildcards.
#[tokio::test]
async fn names_are_searched_by_prefix_with_no_wildcards() {
    let (store, t) = setup().await;
    for name in [
        "Ann@x.y", "anna@x.y", "a_b@x.y", "axb@x.y", "a%c@x.y", "a\\d@x.y", "bob@x.y",
    ] {
        store.create_user(&t, &attrs(name), START_MS).await.unwrap();
    }
    let names = |page: Page<UserRecord>| {
        let mut names: Vec<_> = page.items.into_iter().map(|u| u.attrs.user_name).collect();
        names.sort();
        names
    };
    let search = |prefix: &str| UserQuery::UserNamePrefix(prefix.to_owned());
    let found = store.list_users(&t, &search("ANN"), ALL).await.unwrap();
    assert_eq!(found.total, Some(2));
    assert_eq!(names(found), ["Ann@x.y", "anna@x.y"]);
    for (prefix, only) in [("a_", "a_b@x.y"), ("a%", "a%c@x.y"), ("a\\", "a\\d@x.y")] {
        let found = store.list_users(&t, &search(prefix), ALL).await.unwrap();
        assert_eq!(names(found), [only], "{prefix}");
    }
    assert_eq!(
        store.list_users(&t, &search("z"), ALL).await.unwrap().total,
        Some(0)
    );
    let (other, _) = add_tenant(&store).await;
    assert_eq!(
        store
            .list_users(&other, &search("a"), ALL)
            .await
            .unwrap()
            .total,
        Some(0)
    );

    for name in ["Engineering", "engines", "Sales", "e_x"] {
        let group = GroupAttrs {
            display_name: name.to_owned(),
            external_id: None,
        };
        store
            .create_group(&t, &group, &MemberChanges::default(), START_MS)
            .await
            .unwrap();
    }
    let groups = |prefix: &str| {
        let query = GroupQuery::DisplayNamePrefix(prefix.to_owned());
        let store = store.clone();
        let t = t.clone();
        async move {
            let page = store.list_groups(&t, &query, ALL).await.unwrap();
            let mut names: Vec<_> = page
                .items
                .into_iter()
                .map(|g| g.attrs.display_name)
                .collect();
            names.sort();
            names
        }
    };
    assert_eq!(groups("ENGINE").await, ["Engineering", "engines"]);
    assert_eq!(groups("e_").await, ["e_x"]);
    assert!(groups("x").await.is_empty());
}

#[tokio::test]
async fn manager_is_indexed_for_the_id_and_manager_filter() {
    let (store, t) = setup().await;
    let boss = store
        .create_user(&t, &attrs("boss@x.y"), START_MS)
        .await
        .unwrap();
    let mut body = user_body("e@x.y");
    body["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"] =
        json!({"manager": {"value": boss.id}});
    let e = store
        .create_user(&t, &UserAttrs::from_request(body).unwrap(), START_MS)
        .await
        .unwrap();
    let q = UserQuery::IdAndManager {
        id: e.id.clone(),
        manager: boss.id.clone(),
    };
    assert_eq!(store.list_users(&t, &q, ALL).await.unwrap().total, Some(1));
    let q = UserQuery::IdAndManager {
        id: boss.id.clone(),
        manager: boss.id.clone(),
    };
    assert_eq!(store.list_users(&t, &q, ALL).await.unwrap().total, Some(0));
}

fn token(created_ms: i64, expires_ms: i64) -> TokenInfo {
    TokenInfo {
        token_id: uuid::Uuid::new_v4().to_string(),
        created_ms,
        expires_ms,
        last_used_ms: None,
    }
}

fn random_hash() -> String {
    uuid::Uuid::new_v4().simple().to_string().repeat(2)
}

#[tokio::test]
async fn stored_tokens_open_only_their_tenant_until_they_expire() {
    let (store, t) = setup().await;
    let hash = random_hash();
    let tok = token(START_MS, START_MS + 120_000);
    store.add_token(&t.tenant_id, &tok, &hash, 2).await.unwrap();
    let found = store
        .tenant_for_token(&t.tenant_id, &hash, START_MS + 999)
        .await
        .unwrap();
    assert_eq!(found, Some(t.clone()));
    let expired = store
        .tenant_for_token(&t.tenant_id, &hash, START_MS + 120_000)
        .await
        .unwrap();
    assert_eq!(expired, None);
    let (other, _) = add_tenant(&store).await;
    let elsewhere = store
        .tenant_for_token(&other.tenant_id, &hash, START_MS)
        .await
        .unwrap();
    assert_eq!(elsewhere, None);
    // Use is recorded, at most once a minute.
    let last_used = |list: Vec<TokenInfo>| {
        list.into_iter()
            .find(|k| k.token_id == tok.token_id)
            .unwrap()
            .last_used_ms
    };
    let used = last_used(store.list_tokens(&t.tenant_id).await.unwrap());
    assert_eq!(used, Some(START_MS + 999));
    let again = store
        .tenant_for_token(&t.tenant_id, &hash, START_MS + 30_000)
        .await
        .unwrap();
    assert!(again.is_some());
    let used = last_used(store.list_tokens(&t.tenant_id).await.unwrap());
    assert_eq!(
        used,
        Some(START_MS + 999),
        "not written again within a minute"
    );
    store
        .tenant_for_token(&t.tenant_id, &hash, START_MS + 61_000)
        .await
        .unwrap()
        .unwrap();
    let used = last_used(store.list_tokens(&t.tenant_id).await.unwrap());
    assert_eq!(used, Some(START_MS + 61_000));
    store
        .delete_token(&t.tenant_id, &tok.token_id)
        .await
        .unwrap();
    assert_eq!(
        store
            .tenant_for_token(&t.tenant_id, &hash, START_MS)
            .await
            .unwrap(),
        None
    );
    assert!(matches!(
        store.delete_token(&t.tenant_id, &tok.token_id).await,
        Err(StoreError::NotFound)
    ));
}

/// How long a use waits to be written (two seconds), with room for a busy machine.
const FLUSH_WAIT: Duration = Duration::from_secs(6);

#[tokio::test]
async fn a_token_deleted_by_another_server_stops_there_too() {
    let (here, there, _dir) = two_stores().await;
    let (t, _) = add_tenant(&here).await;
    let (hash, tok) = (random_hash(), token(START_MS, START_MS + 120_000));
    here.add_token(&t.tenant_id, &tok, &hash, 2).await.unwrap();
    for store in [&here, &there] {
        let found = store.tenant_for_token(&t.tenant_id, &hash, START_MS).await;
        assert_eq!(found.unwrap(), Some(t.clone()));
    }
    here.delete_token(&t.tenant_id, &tok.token_id)
        .await
        .unwrap();
    let found = here.tenant_for_token(&t.tenant_id, &hash, START_MS).await;
    assert_eq!(found.unwrap(), None, "at once where it was deleted");
    eventually(
        ELSEWHERE,
        "the token stops on the other server",
        async || {
            let found = there.tenant_for_token(&t.tenant_id, &hash, START_MS).await;
            found.unwrap().is_none()
        },
    )
    .await;
}

#[tokio::test]
async fn provisioning_turned_off_by_another_server_closes_the_tenant_there_too() {
    let (here, there, _dir) = two_stores().await;
    let (t, _) = add_tenant(&here).await;
    let hash = random_hash();
    let tok = token(START_MS, START_MS + 120_000);
    here.add_token(&t.tenant_id, &tok, &hash, 2).await.unwrap();
    let opened = |found: Option<Tenant>| found.unwrap().provisioning_enabled;
    let found = there.tenant_for_token(&t.tenant_id, &hash, START_MS).await;
    assert!(opened(found.unwrap()));
    let info = there.get_tenant(&t.tenant_id).await.unwrap();
    assert!(info.tenant.provisioning_enabled);
    let by_store = there.tenant_by_identity_store(&t.identity_store_id).await;
    assert!(by_store.unwrap().provisioning_enabled);
    here.set_provisioning(&t.tenant_id, false).await.unwrap();
    let info = here.get_tenant(&t.tenant_id).await.unwrap();
    assert!(
        !info.tenant.provisioning_enabled,
        "at once where it changed"
    );
    eventually(ELSEWHERE, "the other server sees the switch", async || {
        let found = there.tenant_for_token(&t.tenant_id, &hash, START_MS).await;
        let info = there.get_tenant(&t.tenant_id).await.unwrap();
        let by_store = there.tenant_by_identity_store(&t.identity_store_id).await;
        !opened(found.unwrap())
            && !info.tenant.provisioning_enabled
            && !by_store.unwrap().provisioning_enabled
    })
    .await;
}

#[tokio::test]
async fn a_tenant_deleted_by_another_server_takes_its_credentials_with_it_there_too() {
    let (here, there, _dir) = two_stores().await;
    let (t, _) = add_tenant(&here).await;
    let (hash, tok) = (random_hash(), token(START_MS, START_MS + 120_000));
    here.add_token(&t.tenant_id, &tok, &hash, 2).await.unwrap();
    let (key, _) = issue_access_key(here.as_ref(), &t.tenant_id, START_MS)
        .await
        .unwrap();
    let id = key.access_key_id;
    let found = there.tenant_for_token(&t.tenant_id, &hash, START_MS).await;
    assert!(found.unwrap().is_some());
    let owner = there.access_key_owner(&id, START_MS).await.unwrap();
    assert_eq!(owner.unwrap().tenant, t);
    assert!(there.get_tenant(&t.tenant_id).await.is_ok());
    here.delete_tenant(&t.tenant_id).await.unwrap();
    eventually(
        ELSEWHERE,
        "the tenant goes on the other server",
        async || {
            let found = there.tenant_for_token(&t.tenant_id, &hash, START_MS).await;
            let owner = there.access_key_owner(&id, START_MS).await;
            let info = there.get_tenant(&t.tenant_id).await;
            found.unwrap().is_none()
                && owner.unwrap().is_none()
                && matches!(info, Err(StoreError::NotFound))
        },
    )
    .await;
}

#[tokio::test]
async fn an_access_key_deleted_by_another_server_stops_there_too() {
    let (here, there, _dir) = two_stores().await;
    let (t, _) = add_tenant(&here).await;
    let (key, secret) = issue_access_key(here.as_ref(), &t.tenant_id, START_MS)
        .await
        .unwrap();
    let id = key.access_key_id;
    for store in [&here, &there] {
        let owner = store
            .access_key_owner(&id, START_MS)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (&owner.tenant, owner.secret.as_str()),
            (&t, secret.as_str())
        );
    }
    here.delete_access_key(&t.tenant_id, &id).await.unwrap();
    let owner = here.access_key_owner(&id, START_MS).await.unwrap();
    assert_eq!(owner, None, "at once where it was deleted");
    eventually(ELSEWHERE, "the key stops on the other server", async || {
        there
            .access_key_owner(&id, START_MS)
            .await
            .unwrap()
            .is_none()
    })
    .await;
}

#[tokio::test]
async fn uses_are_written_in_batches_and_when_the_store_closes() {
    let (here, there, _dir) = two_stores().await;
    let (t, _) = add_tenant(&here).await;
    let (hash, tok) = (random_hash(), token(START_MS, START_MS + 120_000));
    here.add_token(&t.tenant_id, &tok, &hash, 2).await.unwrap();
    let found = there
        .tenant_for_token(&t.tenant_id, &hash, START_MS + 5)
        .await;
    assert!(found.unwrap().is_some());
    // Written by the server that saw the use, a moment later, without its listing them.
    eventually(FLUSH_WAIT, "the use is written", async || {
        let tokens = here.list_tokens(&t.tenant_id).await.unwrap();
        let listed = tokens.iter().find(|k| k.token_id == tok.token_id);
        listed.unwrap().last_used_ms == Some(START_MS + 5)
    })
    .await;
    let (key, _) = issue_access_key(here.as_ref(), &t.tenant_id, START_MS)
        .await
        .unwrap();
    let owner = there
        .access_key_owner(&key.access_key_id, START_MS + 7)
        .await;
    assert!(owner.unwrap().is_some());
    there.close().await;
    let keys = here.list_access_keys(&t.tenant_id).await.unwrap();
    assert_eq!(keys[0].last_used_ms, Some(START_MS + 7), "written on close");
}

#[tokio::test]
async fn a_tenant_holds_at_most_the_tokens_it_is_allowed() {
    let (store, t) = setup().await;
    // setup() issued one token already.
    store
        .add_token(
            &t.tenant_id,
            &token(START_MS, START_MS + 1),
            &random_hash(),
            2,
        )
        .await
        .unwrap();
    let r = store
        .add_token(
            &t.tenant_id,
            &token(START_MS, START_MS + 1),
            &random_hash(),
            2,
        )
        .await;
    assert!(matches!(r, Err(StoreError::LimitReached)), "{r:?}");
    assert_eq!(store.list_tokens(&t.tenant_id).await.unwrap().len(), 2);
    let r = store
        .add_token(
            "no-such-tenant",
            &token(START_MS, START_MS + 1),
            &random_hash(),
            2,
        )
        .await;
    assert!(matches!(r, Err(StoreError::NotFound)), "{r:?}");
}

#[tokio::test]
async fn concurrent_token_creation_respects_the_limit() {
    let (store, t) = setup().await;
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let store = store.clone();
            let tenant_id = t.tenant_id.clone();
            tokio::spawn(async move {
                store
                    .add_token(
                        &tenant_id,
                        &token(START_MS, START_MS + 1),
                        &random_hash(),
                        2,
                    )
                    .await
            })
        })
        .collect();
    let mut added = 0;
    for task in tasks {
        // A refused insert ends its transaction at once: the next ones do not wait for its
        // lock on the tenant.
        let added_one = tokio::time::timeout(Duration::from_secs(20), task)
            .await
            .expect("a refused insert kept its lock");
        match added_one.unwrap() {
            Ok(()) => added += 1,
            Err(StoreError::LimitReached) => {}
            Err(e) => panic!("{e:?}"),
        }
    }
    assert_eq!(added, 1);
    assert_eq!(store.list_tokens(&t.tenant_id).await.unwrap().len(), 2);
}

#[tokio::test]
async fn deleting_a_tenant_deletes_everything_in_it() {
    let (store, t) = setup().await;
    let u = store
        .create_user(&t, &attrs("a@x.y"), START_MS)
        .await
        .unwrap();
    store
        .create_group(
            &t,
            &group("G"),
            &users_only(std::slice::from_ref(&u.id)),
            START_MS,
        )
        .await
        .unwrap();
    let (other, _) = add_tenant(&store).await;
    store
        .create_user(&other, &attrs("a@x.y"), START_MS)
        .await
        .unwrap();
    store.set_provisioning(&t.tenant_id, false).await.unwrap();
    assert!(
        !store
            .get_tenant(&t.tenant_id)
            .await
            .unwrap()
            .tenant
            .provisioning_enabled
    );
    store.delete_tenant(&t.tenant_id).await.unwrap();
    assert!(matches!(
        store.get_tenant(&t.tenant_id).await,
        Err(StoreError::NotFound)
    ));
    assert!(store.list_tokens(&t.tenant_id).await.unwrap().is_empty());
    assert!(matches!(
        store.get_user(&t, &u.id).await,
        Err(StoreError::NotFound)
    ));
    assert_eq!(
        store
            .list_users(&other, &UserQuery::All, ALL)
            .await
            .unwrap()
            .total,
        Some(1)
    );
    assert!(matches!(
        store.delete_tenant(&t.tenant_id).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        store.create_tenant(&other, START_MS).await,
        Err(StoreError::Conflict(Constraint::TenantId))
    ));
}

#[tokio::test]
async fn the_default_tenant_is_created_once() {
    let store = test_store().await;
    let first = store
        .ensure_default_tenant(&Tenant::generate(), START_MS)
        .await
        .unwrap();
    let again = store
        .ensure_default_tenant(&Tenant::generate(), START_MS)
        .await
        .unwrap();
    assert_eq!(first, again);
    assert!(first.identity_store_id.starts_with("d-") && first.identity_store_id.len() == 12);
}

fn group(name: &str) -> idc_scim::scim::group::GroupAttrs {
    idc_scim::scim::group::GroupAttrs {
        display_name: name.to_owned(),
        external_id: None,
    }
}

#[tokio::test]
async fn memberships_follow_users_and_groups() {
    use idc_scim::scim::query::GroupQuery;
    use idc_scim::store::{GroupRecord, GroupUpdate};

    let (store, t) = setup().await;
    let u1 = store
        .create_user(&t, &attrs("u1@x.y"), START_MS)
        .await
        .unwrap()
        .id;
    let u2 = store
        .create_user(&t, &attrs("u2@x.y"), START_MS)
        .await
        .unwrap()
        .id;
    let g = store
        .create_group(
            &t,
            &group("G"),
            &users_only(std::slice::from_ref(&u1)),
            START_MS,
        )
        .await
        .unwrap();
    let r = store
        .create_group(&t, &group("g"), &users_only(&[]), START_MS)
        .await;
    assert!(
        matches!(r, Err(StoreError::Conflict(Constraint::GroupDisplayName))),
        "{r:?}"
    );
    let r = store
        .create_group(&t, &group("H"), &users_only(&["ghost".into()]), START_MS)
        .await;
    assert!(matches!(r, Err(StoreError::MemberNotFound)), "{r:?}");
    let none = GroupQuery::DisplayName("h".into());
    assert_eq!(
        store.list_groups(&t, &none, ALL).await.unwrap().total,
        Some(0)
    );

    let add = MemberChanges {
        add: vec![u1.clone(), u2.clone()],
        remove: vec![],
        nested: false,
    };
    let changed = store
        .change_members(&t, &g.id, &add, START_MS + 1)
        .await
        .unwrap();
    assert_eq!((changed.version, changed.modified_ms), (2, START_MS + 1));
    let members = UserQuery::Group(g.id.clone());
    assert_eq!(
        store.list_users(&t, &members, ALL).await.unwrap().total,
        Some(2)
    );
    let check = GroupQuery::IdAndMember {
        id: g.id.clone(),
        member: u2.clone(),
    };
    assert_eq!(
        store.list_groups(&t, &check, ALL).await.unwrap().total,
        Some(1)
    );

    // A refused rename changes no membership.
    let drop_u1 = MemberChanges {
        add: vec![],
        remove: vec![u1.clone()],
        nested: false,
    };
    let on_version_1 = |current: &GroupRecord, members: Option<&[String]>| {
        assert_eq!(members, None, "not asked for");
        match current.version {
            1 => Ok(GroupUpdate {
                attrs: group("G2"),
                members: drop_u1.clone(),
            }),
            v => Err(v),
        }
    };
    let r = store
        .update_group(&t, &g.id, START_MS + 2, false, on_version_1)
        .await
        .unwrap();
    assert_eq!(r.map(|g| g.version), Err(2));
    assert_eq!(
        store.list_users(&t, &members, ALL).await.unwrap().total,
        Some(2)
    );
    let current = store.get_group(&t, &g.id).await.unwrap();
    assert_eq!((current.version, current.modified_ms), (2, START_MS + 1));
    let renamed = store
        .update_group(&t, &g.id, START_MS + 3, true, |current, members| {
            let mut both = vec![u1.clone(), u2.clone()];
            both.sort();
            assert_eq!(members, Some(both.as_slice()), "the members, in order");
            assert_eq!(current.version, 2);
            Ok::<_, ()>(GroupUpdate {
                attrs: group("G2"),
                members: drop_u1.clone(),
            })
        })
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (renamed.version, renamed.modified_ms, renamed.created_ms),
        (3, START_MS + 3, START_MS)
    );
    assert_eq!(store.get_group(&t, &g.id).await.unwrap(), renamed);
    assert_eq!(
        store.list_users(&t, &members, ALL).await.unwrap().total,
        Some(1)
    );

    // Deleting the user removes the membership; deleting the group removes the rest.
    store.delete_user(&t, &u2).await.unwrap();
    assert_eq!(
        store.list_users(&t, &members, ALL).await.unwrap().total,
        Some(0)
    );
    let add_back = MemberChanges {
        add: vec![u1.clone()],
        remove: vec![],
        nested: false,
    };
    store
        .change_members(&t, &g.id, &add_back, START_MS + 4)
        .await
        .unwrap();
    store.delete_group(&t, &g.id).await.unwrap();
    let of_u1 = GroupQuery::Member(u1.clone());
    assert_eq!(
        store.list_groups(&t, &of_u1, ALL).await.unwrap().total,
        Some(0)
    );
    assert!(matches!(
        store.delete_group(&t, &g.id).await,
        Err(StoreError::NotFound)
    ));
    let r = store.change_members(&t, &g.id, &add_back, START_MS).await;
    assert!(matches!(r, Err(StoreError::NotFound)));
    assert!(store.user_exists(&t, &u1).await.unwrap());
    assert!(!store.user_exists(&t, &u2).await.unwrap());
}

#[tokio::test]
async fn memberships_have_ids_for_the_identity_store_api() {
    use idc_scim::store::{Membership, MembershipQuery};

    let (store, t) = setup().await;
    assert_eq!(
        store
            .tenant_by_identity_store(&t.identity_store_id)
            .await
            .unwrap(),
        t
    );
    assert!(matches!(
        store.tenant_by_identity_store("d-0000000000").await,
        Err(StoreError::NotFound)
    ));
    let mut users = Vec::new();
    for i in 0..3 {
        users.push(
            store
                .create_user(&t, &attrs(&format!("m{i}@x.y")), START_MS)
                .await
                .unwrap()
                .id,
        );
    }
    let g = store
        .create_group(&t, &group("G"), &users_only(&users[..2]), START_MS)
        .await
        .unwrap();
    let h = store
        .create_group(&t, &group("H"), &users_only(&[]), START_MS)
        .await
        .unwrap();
    let added = store
        .add_membership(&t, &h.id, &users[0], START_MS + 7)
        .await
        .unwrap();
    assert_eq!(
        store.get_group(&t, &h.id).await.unwrap().modified_ms,
        START_MS + 7
    );
    let r = store.add_membership(&t, &h.id, &users[0], START_MS).await;
    assert!(
        matches!(r, Err(StoreError::Conflict(Constraint::Membership))),
        "{r:?}"
    );
    let r = store.add_membership(&t, &h.id, "ghost", START_MS).await;
    assert!(matches!(r, Err(StoreError::MemberNotFound)), "{r:?}");
    let r = store
        .add_membership(&t, "no-group", &users[0], START_MS)
        .await;
    assert!(matches!(r, Err(StoreError::NotFound)), "{r:?}");
    assert_eq!(
        store
            .get_membership(&t, &added.membership_id)
            .await
            .unwrap(),
        added
    );
    assert_eq!(
        store.find_membership(&t, &h.id, &users[0]).await.unwrap(),
        added
    );

    // A group's members, one per page, in user id order.
    let mut seen: Vec<Membership> = Vec::new();
    let mut after: Option<String> = None;
    let q = MembershipQuery::Group(&g.id);
    loop {
        let args = ListArgs {
            limit: 1,
            after: after.as_deref(),
            with_total: false,
        };
        let page = store.list_memberships(&t, q, args).await.unwrap();
        seen.extend(page.items.iter().cloned());
        if !page.more {
            break;
        }
        after = page.items.last().map(|m| m.key(q).to_owned());
    }
    let mut members: Vec<String> = users[..2].to_vec();
    members.sort();
    assert_eq!(
        seen.iter().map(|m| m.user_id.clone()).collect::<Vec<_>>(),
        members
    );
    assert!(
        seen.iter()
            .all(|m| m.group_id == g.id && !m.membership_id.is_empty())
    );
    let of_user = store
        .list_memberships(&t, MembershipQuery::User(&users[0]), ALL)
        .await
        .unwrap();
    let mut groups: Vec<String> = vec![g.id.clone(), h.id.clone()];
    groups.sort();
    assert_eq!(
        of_user
            .items
            .iter()
            .map(|m| m.group_id.clone())
            .collect::<Vec<_>>(),
        groups
    );
    // Email lookup.
    let q = UserQuery::Email("M1@X.Y.MAIL@EXAMPLE.COM".into());
    assert_eq!(
        store.list_users(&t, &q, ALL).await.unwrap().items[0].id,
        users[1]
    );

    store
        .delete_membership(&t, &added.membership_id, START_MS + 9)
        .await
        .unwrap();
    assert!(matches!(
        store.get_membership(&t, &added.membership_id).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        store
            .delete_membership(&t, &added.membership_id, START_MS)
            .await,
        Err(StoreError::NotFound)
    ));
    // Another tenant sees none of it.
    let (other, _) = add_tenant(&store).await;
    assert!(matches!(
        store.get_membership(&other, &seen[0].membership_id).await,
        Err(StoreError::NotFound)
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_sqlite_file_orders_racing_writers_through_its_one_writer() {
    let dir = TempDir::new();
    let store = idc_scim::store::connect(&dir.sqlite_url("race.db"))
        .await
        .unwrap();
    let app = TestApp::with_store(store.clone()).await;
    crate::users::race_patches_of_one_user(&app).await;
    crate::groups::race_member_patches_of_one_group(&app).await;
    store.close().await;
    // The last connection to close checkpoints the log into the database and removes it.
    assert!(!dir.0.join("race.db-wal").exists());
    let reopened = idc_scim::store::connect(&dir.sqlite_url("race.db"))
        .await
        .unwrap();
    let users = reopened
        .list_users(&app.tenant, &UserQuery::All, ALL)
        .await
        .unwrap();
    assert_eq!(users.total, Some(101));
    reopened.close().await;
}

#[tokio::test]
async fn a_database_busy_beyond_its_timeouts_is_contention_not_failure() {
    use sqlx::{ConnectOptions, Connection};

    assert!(matches!(
        StoreError::from(sqlx::Error::PoolTimedOut),
        StoreError::Contended
    ));
    // SQLite: another connection holds the write lock.
    let dir = TempDir::new();
    let options = sqlx::sqlite::SqliteConnectOptions::from_str(&dir.sqlite_url("busy.db"))
        .unwrap()
        .create_if_missing(true)
        .busy_timeout(std::time::Duration::ZERO);
    let mut holder = options.connect().await.unwrap();
    sqlx::query("BEGIN IMMEDIATE")
        .execute(&mut holder)
        .await
        .unwrap();
    let mut other = options.connect().await.unwrap();
    let e = sqlx::query("BEGIN IMMEDIATE")
        .execute(&mut other)
        .await
        .unwrap_err();
    assert!(matches!(StoreError::from(e), StoreError::Contended));
    holder.close().await.unwrap();
    other.close().await.unwrap();
    // PostgreSQL: a row lock not granted in time.
    let Ok(url) = std::env::var("IDC_SCIM_TEST_DATABASE_URL") else {
        return;
    };
    if !url.starts_with("postgres") {
        return;
    }
    let table = format!("contention_{}", uuid::Uuid::new_v4().simple());
    let mut holder = sqlx::PgConnection::connect(&url).await.unwrap();
    let mut other = sqlx::PgConnection::connect(&url).await.unwrap();
    for sql in [
        format!("CREATE TABLE {table} (id INTEGER PRIMARY KEY)"),
        format!("INSERT INTO {table} VALUES (1)"),
        "BEGIN".to_owned(),
        format!("SELECT id FROM {table} FOR UPDATE"),
    ] {
        sqlx::query(&sql).execute(&mut holder).await.unwrap();
    }
    sqlx::query("SET lock_timeout = '50ms'")
        .execute(&mut other)
        .await
        .unwrap();
    let e = sqlx::query(&format!("SELECT id FROM {table} FOR UPDATE"))
        .execute(&mut other)
        .await
        .unwrap_err();
    assert!(matches!(StoreError::from(e), StoreError::Contended));
    sqlx::query("ROLLBACK").execute(&mut holder).await.unwrap();
    sqlx::query(&format!("DROP TABLE {table}"))
        .execute(&mut holder)
        .await
        .unwrap();
}

#[tokio::test]
async fn member_groups_are_kept_apart_and_never_close_a_loop() {
    let (store, t) = setup().await;
    let u = store
        .create_user(&t, &attrs("u@x.y"), START_MS)
        .await
        .unwrap()
        .id;
    let nested = |add: &[&String], remove: &[&String]| MemberChanges {
        add: add.iter().map(|s| s.to_string()).collect(),
        remove: remove.iter().map(|s| s.to_string()).collect(),
        nested: true,
    };
    let outer = store
        .create_group(&t, &group("Outer"), &nested(&[&u], &[]), START_MS)
        .await
        .unwrap()
        .id;
    let inner = store
        .create_group(&t, &group("Inner"), &users_only(&[]), START_MS)
        .await
        .unwrap()
        .id;
    // Without `nested`, a group id is no user: refused as ever, nothing written.
    let r = store
        .change_members(
            &t,
            &outer,
            &users_only(std::slice::from_ref(&inner)),
            START_MS,
        )
        .await;
    assert!(matches!(r, Err(StoreError::MemberNotFound)), "{r:?}");
    store
        .change_members(&t, &outer, &nested(&[&inner], &[]), START_MS)
        .await
        .unwrap();
    assert_eq!(
        store.list_subgroups(&t).await.unwrap(),
        [(outer.clone(), inner.clone())]
    );
    // The user stays a user member only; the Identity Store's memberships are users'.
    let of_outer = store
        .list_memberships(&t, idc_scim::store::MembershipQuery::Group(&outer), ALL)
        .await
        .unwrap();
    assert_eq!(of_outer.items.len(), 1);
    for (group, member) in [(&inner, &outer), (&inner, &inner)] {
        let r = store
            .change_members(&t, group, &nested(&[member], &[]), START_MS)
            .await;
        assert!(matches!(r, Err(StoreError::MemberLoop)), "{r:?}");
    }
    let r = store
        .create_group(
            &t,
            &group("Ghost"),
            &nested(&[&"ghost".to_owned()], &[]),
            START_MS,
        )
        .await;
    assert!(matches!(r, Err(StoreError::MemberNotFound)), "{r:?}");
    // A replacement reads and removes member groups like users.
    let read = store
        .update_group(&t, &outer, START_MS, true, |_, members| {
            Ok::<_, ()>(idc_scim::store::GroupUpdate {
                attrs: group("Outer"),
                members: nested(&[], &members.unwrap().iter().collect::<Vec<_>>()),
            })
        })
        .await
        .unwrap()
        .unwrap();
    assert_eq!(read.version, 3);
    assert!(store.list_subgroups(&t).await.unwrap().is_empty());
    // Deleting a member group deletes the nesting.
    store
        .change_members(&t, &outer, &nested(&[&inner], &[]), START_MS)
        .await
        .unwrap();
    store.delete_group(&t, &inner).await.unwrap();
    assert!(store.list_subgroups(&t).await.unwrap().is_empty());
}

/// A PostgreSQL database of the test's own, when the tests run on PostgreSQL, with a store
/// on it: what no other test can reach, for tests that change the database behind the store.
struct OwnPostgres {
    admin: sqlx::PgConnection,
    name: String,
    url: String,
    store: Arc<dyn Store>,
}

impl OwnPostgres {
    async fn create(prefix: &str) -> Option<Self> {
        use sqlx::Connection;
        let url = std::env::var("IDC_SCIM_TEST_DATABASE_URL")
            .ok()
            .filter(|u| u.starts_with("postgres"))?;
        let name = format!("{prefix}_{}", uuid::Uuid::new_v4().simple());
        let mut admin = sqlx::PgConnection::connect(&url).await.unwrap();
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut admin)
            .await
            .unwrap();
        let url = format!("{}/{name}", url.rsplit_once('/').unwrap().0);
        let store = idc_scim::store::connect(&url).await.unwrap();
        Some(Self {
            admin,
            name,
            url,
            store,
        })
    }

    /// Closes the store and drops the database.
    async fn drop_database(mut self) {
        self.store.close().await;
        sqlx::query(&format!("DROP DATABASE {} WITH (FORCE)", self.name))
            .execute(&mut self.admin)
            .await
            .unwrap();
    }
}

/// PostgreSQL tells every server of a change as it commits (NOTIFY `auth_changes`): a server
/// forgets its cache on the notification alone. In a database of its own, so that no other
/// test's change can reach the count: the token is removed with the triggers off (neither
/// counted nor notified), and is still accepted from the cache past several readings of the
/// count, until a notification sent by hand.
#[tokio::test]
async fn a_notification_makes_a_postgres_server_forget_its_cache() {
    use sqlx::Connection;
    let Some(own) = OwnPostgres::create("idc_notify").await else {
        return;
    };
    let store = &own.store;
    let (t, _) = add_tenant(store).await;
    let (hash, tok) = (random_hash(), token(START_MS, START_MS + 120_000));
    store.add_token(&t.tenant_id, &tok, &hash, 2).await.unwrap();
    let accepted = async || {
        let found = store.tenant_for_token(&t.tenant_id, &hash, START_MS).await;
        found.unwrap().is_some()
    };
    assert!(accepted().await);

    let mut raw = sqlx::PgConnection::connect(&own.url).await.unwrap();
    sqlx::query("SET session_replication_role = replica")
        .execute(&mut raw)
        .await
        .unwrap();
    sqlx::query("DELETE FROM tokens WHERE token_hash = $1")
        .bind(&hash)
        .execute(&mut raw)
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert!(
        accepted().await,
        "uncounted and unnotified, the cache still answers"
    );
    sqlx::query("SELECT pg_notify('auth_changes', '')")
        .execute(&mut raw)
        .await
        .unwrap();
    eventually(
        ELSEWHERE,
        "the notification empties the cache",
        async || !accepted().await,
    )
    .await;

    raw.close().await.unwrap();
    own.drop_database().await;
}

/// The store keeps its PostgreSQL connections and gives them back untested: when they are all
/// cut (a restart of the server, a proxy's timeout), at most one statement fails, and the
/// store connects again. In a database of its own, whose connections the test terminates.
#[tokio::test]
async fn a_postgres_store_connects_again_after_its_connections_are_cut() {
    let Some(mut own) = OwnPostgres::create("idc_cut").await else {
        return;
    };
    let store = own.store.clone();
    let (t, _) = add_tenant(&store).await;
    let user = store
        .create_user(&t, &attrs("cut@x.y"), START_MS)
        .await
        .unwrap();
    // Several connections in the pool, all idle.
    let read = || store.get_user(&t, &user.id);
    let (a, b, c, d) = tokio::join!(read(), read(), read(), read());
    for read in [a, b, c, d] {
        read.unwrap();
    }

    // The listener connects in the background: on a loaded machine, after the reads.
    let admin = &mut own.admin;
    let name = own.name.clone();
    eventually(
        ELSEWHERE,
        "the store's connections and its listener are open",
        async || {
            let open = sqlx::query(
                "SELECT count(*) AS open FROM pg_stat_activity \
                 WHERE datname = $1 AND pid <> pg_backend_pid()",
            )
            .bind(&name)
            .fetch_one(&mut *admin)
            .await
            .unwrap();
            sqlx::Row::get::<i64, _>(&open, "open") >= 2
        },
    )
    .await;
    let cut = sqlx::query(
        "SELECT count(pg_terminate_backend(pid)) AS cut FROM pg_stat_activity \
         WHERE datname = $1 AND pid <> pg_backend_pid()",
    )
    .bind(&own.name)
    .fetch_one(&mut own.admin)
    .await
    .unwrap();
    let cut: i64 = sqlx::Row::get(&cut, "cut");
    assert!(cut >= 2, "the store's connections and its listener: {cut}");

    let mut failed = 0;
    for _ in 0..5 {
        match store.get_user(&t, &user.id).await {
            Ok(read) => assert_eq!(read, user),
            Err(e) => {
                assert!(matches!(e, StoreError::Database(_)), "{e:?}");
                failed += 1;
            }
        }
    }
    assert!(failed <= 1, "{failed} reads failed after the cut");
    assert!(store.get_user(&t, &user.id).await.is_ok());

    own.drop_database().await;
}
