//! The admin credential (`--admin-token`): without one configured the admin API does not
//! exist (404); without the right one it answers 401. Compared as hashes, in constant time.

use axum::extract::{Request, State};
use axum::http::header::AUTHORIZATION;
use axum::middleware::Next;
use axum::response::Response;

use crate::auth::TokenHash;
use crate::http_error::not_found;
use crate::scim::ScimError;
use crate::state::SharedState;

pub(super) async fn authenticate(
    State(state): State<SharedState>,
    req: Request,
    next: Next,
) -> Result<Response, ScimError> {
    let Some(expected) = &state.admin_token else {
        return Err(not_found().await);
    };
    let presented = req
        .headers()
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| TokenHash::of(token.trim()));
    match presented {
        Some(hash) if expected.matches(&hash) => Ok(next.run(req).await),
        _ => Err(ScimError::Unauthorized),
    }
}
