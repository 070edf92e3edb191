//! The journal's middleware: records each request of a tenant and its answer in the tenant's
//! journal (`controls::journal`). Which requests, under which tenant and path, is said by the
//! inner layers or the room on the response (`journal_as`): SCIM authentication marks its
//! requests with their path below `/scim/v2`; the AWS JSON dispatcher, which learns the tenant
//! from the body, marks them `/<service>/<Operation>`.

use std::time::Instant;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::controls::journal::{Journal, Record};
use crate::scim::ScimError;
use crate::state::{MAX_BODY_BYTES, REQUEST_ID_HEADER, SharedState};

/// Marks a response as one to journal, in the journal of this tenant, under this path.
#[derive(Debug, Clone)]
struct JournalAs {
    tenant: String,
    path: String,
}

/// Marks a response to be journaled for a tenant, under a path. Set it only for tenants that
/// exist (on success, and on failure when the tenant exists), so that requests to made-up
/// tenant ids cannot grow the journal.
pub fn journal_as(response: &mut Response, tenant: impl Into<String>, path: impl Into<String>) {
    response.extensions_mut().insert(JournalAs {
        tenant: tenant.into(),
        path: path.into(),
    });
}

/// Outside authentication: runs the request and journals both sides, unless the journal is
/// off or the response is not marked by `journal_as`.
pub(super) async fn layer(State(state): State<SharedState>, req: Request, next: Next) -> Response {
    let journal = &state.controls.journal;
    if !journal.is_on() {
        return next.run(req).await;
    }
    let started = Instant::now();
    let method = req.method().clone();
    let query = req.uri().query().map(str::to_owned);
    let headers = req.headers().clone();
    let request_id = headers
        .get(REQUEST_ID_HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let (parts, body) = req.into_parts();
    let (body, mut response) = match axum::body::to_bytes(body, MAX_BODY_BYTES).await {
        Ok(bytes) => {
            let kept = Journal::kept(&bytes);
            let req = Request::from_parts(parts, Body::from(bytes));
            (kept, next.run(req).await)
        }
        Err(_) => return ScimError::PayloadTooLarge.into_response(),
    };
    let Some(JournalAs { tenant, path }) = response.extensions_mut().remove::<JournalAs>() else {
        return response;
    };
    let (parts, body_out) = response.into_parts();
    let bytes = match axum::body::to_bytes(body_out, usize::MAX).await {
        Ok(bytes) => bytes,
        // A body that fails on purpose (an injected dropped connection) is passed on as is.
        Err(_) => return fail_the_connection(parts),
    };
    journal.push(
        &tenant,
        Record {
            time_ms: state.clock.now_ms(),
            request_id,
            method,
            path,
            query,
            headers,
            body,
            status: parts.status.as_u16(),
            response_body: Journal::kept(&bytes),
            duration_ms: started.elapsed().as_secs_f64() * 1000.0,
        },
    );
    Response::from_parts(parts, Body::from(bytes))
}

/// A response whose body fails, which makes the server drop the connection.
pub(super) fn fail_the_connection(parts: axum::http::response::Parts) -> Response {
    let stream = futures_util::stream::once(async {
        Err::<axum::body::Bytes, std::io::Error>(std::io::Error::other("connection dropped"))
    });
    Response::from_parts(parts, Body::from_stream(stream))
}
