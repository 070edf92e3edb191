//! Credentials: every secret compared in constant time refuses a near miss and a secret of
//! another length alike.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use idc_scim::auth::TokenHash;
use idc_scim::state::AppState;

use crate::helpers::{ADMIN_TOKEN, TestApp};

/// The same secret with its last character changed.
fn near_miss(secret: &str) -> String {
    let mut s = secret.to_owned();
    let last = s.pop().unwrap();
    s.push(if last == 'x' { 'y' } else { 'x' });
    s
}

#[tokio::test]
async fn wrong_secrets_of_the_right_length_and_of_another_fail_alike() {
    let static_token = "a-static-token-given-on-the-command-line";
    let app = TestApp::with(|state| AppState {
        static_token: Some(TokenHash::of(static_token)),
        ..state
    })
    .await;
    let get = |path: String, secret: String| {
        Request::get(path)
            .header("authorization", format!("Bearer {secret}"))
            .body(Body::empty())
            .unwrap()
    };
    let users = format!("{}/Users", app.base());
    for (path, secret) in [
        (users.clone(), app.token.clone()),
        (users.clone(), static_token.to_owned()),
        ("/admin/tenants".to_owned(), ADMIN_TOKEN.to_owned()),
    ] {
        assert_eq!(
            app.send(get(path.clone(), secret.clone())).await.status,
            StatusCode::OK,
            "{path}"
        );
        for wrong in [
            near_miss(&secret),
            format!("{secret}x"),
            secret[..secret.len() - 1].to_owned(),
        ] {
            assert_eq!(
                app.send(get(path.clone(), wrong.clone())).await.status,
                StatusCode::UNAUTHORIZED,
                "{path} with {wrong}"
            );
        }
    }
}

#[cfg(unix)]
#[tokio::test]
async fn the_sqlite_files_are_readable_by_their_owner_only() {
    use std::os::unix::fs::PermissionsExt;

    let dir = std::env::temp_dir().join(format!("idc-scim-perm-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let db = dir.join("private.db");
    let store = idc_scim::store::connect(&format!("sqlite://{}", db.display()))
        .await
        .unwrap();
    // A write, so that the write-ahead log and its index exist.
    store
        .create_tenant(&idc_scim::store::Tenant::generate(), 0)
        .await
        .unwrap();
    let mode = |name: &str| {
        let path = dir.join(name);
        std::fs::metadata(&path)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
            .permissions()
            .mode()
            & 0o777
    };
    for name in ["private.db", "private.db-wal", "private.db-shm"] {
        assert_eq!(mode(name), 0o600, "{name}: {:o}", mode(name));
    }
    store.close().await;
    let _ = std::fs::remove_dir_all(&dir);
}
