//! The admin API of sign-in: headless approval of a device authorization for CI
//! (`POST /admin/tenants/{t}/sign-ins`), and users' passwords
//! (`PUT|DELETE /admin/tenants/{t}/users/{userName}/password`).

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{post, put};
use serde::{Deserialize, Serialize};

use super::{tenant, typed};
use crate::extract::{Path, ScimJson};
use crate::scim::ScimError;
use crate::signin::oidc::{self, ApproveError};
use crate::signin::users::{self, PasswordError};
use crate::state::SharedState;

pub(super) fn router() -> Router<SharedState> {
    Router::new()
        .route("/admin/tenants/{tenant}/sign-ins", post(sign_in))
        .route(
            "/admin/tenants/{tenant}/users/{user_name}/password",
            put(set_password).delete(remove_password),
        )
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct SignIn {
    user_code: String,
    user_name: String,
}

/// Approves the pending device authorization of a user code as a user, as if they had
/// signed in and allowed it in a browser.
async fn sign_in(
    State(state): State<SharedState>,
    Path(tenant_id): Path<String>,
    ScimJson(body): ScimJson,
) -> Result<Json<SignIn>, ScimError> {
    let tenant = tenant(&state, &tenant_id).await?;
    let request: SignIn = typed(body)?;
    let store = state.store.as_ref();
    let now_ms = state.clock.now_ms();
    match oidc::approve_user_code(
        store,
        &tenant,
        &request.user_code,
        &request.user_name,
        now_ms,
    )
    .await
    {
        Ok(_) => Ok(Json(request)),
        Err(ApproveError::UnknownUserCode) => Err(ScimError::NotFound(
            "No pending authorization of this tenant has this user code.".to_owned(),
        )),
        Err(ApproveError::UnknownUser) => Err(ScimError::NotFound(
            "No user of this tenant who may sign in has this userName.".to_owned(),
        )),
        Err(ApproveError::Internal) => Err(ScimError::Internal),
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Password {
    password: String,
}

fn password_error(e: PasswordError) -> ScimError {
    match e {
        PasswordError::UnknownUser => ScimError::NotFound("User not found.".to_owned()),
        PasswordError::Invalid(message) => ScimError::invalid(message),
        PasswordError::Internal => ScimError::Internal,
    }
}

async fn set_password(
    State(state): State<SharedState>,
    Path((tenant_id, user_name)): Path<(String, String)>,
    ScimJson(body): ScimJson,
) -> Result<StatusCode, ScimError> {
    let tenant = tenant(&state, &tenant_id).await?;
    let Password { password } = typed(body)?;
    let now_ms = state.clock.now_ms();
    users::set_password(
        state.store.as_ref(),
        &tenant,
        &user_name,
        Some(&password),
        now_ms,
    )
    .await
    .map_err(password_error)?;
    Ok(StatusCode::NO_CONTENT)
}

/// Removes a password: the user signs in by name alone.
async fn remove_password(
    State(state): State<SharedState>,
    Path((tenant_id, user_name)): Path<(String, String)>,
) -> Result<StatusCode, ScimError> {
    let tenant = tenant(&state, &tenant_id).await?;
    let now_ms = state.clock.now_ms();
    users::set_password(state.store.as_ref(), &tenant, &user_name, None, now_ms)
        .await
        .map_err(password_error)?;
    Ok(StatusCode::NO_CONTENT)
}
