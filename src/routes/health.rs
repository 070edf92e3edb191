//! `/health`, outside the SCIM authentication: 200 while the database answers, with the
//! settings that expose the server to its network (`AppState::warnings`) when there are any.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::state::SharedState;

pub async fn health(State(state): State<SharedState>) -> (StatusCode, Json<Value>) {
    let (status, mut body) = match state.store.ping().await {
        Ok(_) => (StatusCode::OK, json!({"status": "ok"})),
        Err(e) => {
            tracing::error!(error = ?e, "health check: database unreachable");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                json!({"status": "unavailable"}),
            )
        }
    };
    if !state.warnings.is_empty() {
        body["warnings"] = json!(state.warnings);
    }
    (status, Json(body))
}
