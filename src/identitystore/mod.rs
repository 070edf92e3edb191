//! The AWS Identity Store API (service `identitystore`, AWS JSON 1.1) on the same store as the
//! SCIM endpoint: `POST /` with `X-Amz-Target: AWSIdentityStore.<Operation>`.

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use crate::app::SharedState;

/// Serves one Identity Store API request.
pub async fn handle(State(_state): State<SharedState>, _req: Request) -> Response {
    (
        StatusCode::BAD_REQUEST,
        [("content-type", "application/x-amz-json-1.1")],
        r#"{"__type":"UnknownOperationException"}"#,
    )
        .into_response()
}
