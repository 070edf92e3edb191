//! The journal's middleware: records each request of a tenant and its answer in the tenant's
//! journal (`controls::journal`). Which requests, under which tenant and path, is said by the
//! inner layers or the room on the response (`journal_as`): SCIM authentication marks its
//! requests with their path below `/scim/v2`; the AWS JSON dispatcher, which learns the tenant
//! from the body, marks them `/<service>/<Operation>`. The request body is recorded as the
//! handler reads it (`Recorded`), never read ahead of authentication.

use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, ready};
use std::time::Instant;

use axum::body::{Body, Bytes, HttpBody};
use axum::extract::Request;
use axum::response::Response;
use bytes::BytesMut;
use http_body::{Frame, SizeHint};

use crate::controls::journal::{Headers, Journal, MAX_KEPT_BODY, Record};
use crate::state::{AppState, RequestContext};

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

/// Outside authentication: runs the request (`run`) and journals both sides, unless the
/// journal is off or the response is not marked by `journal_as`.
pub(super) async fn recorded(
    state: &AppState,
    req: Request,
    run: impl AsyncFnOnce(Request) -> Response,
) -> Response {
    let journal = &state.controls.journal;
    if !journal.is_on() {
        return run(req).await;
    }
    let started = Instant::now();
    let method = req.method().clone();
    let query = req.uri().query().map(str::to_owned);
    let headers = Headers::of(req.headers());
    // The id the request context read from the request (the journal runs inside it).
    let request_id = RequestContext::current().id;
    // A request without a body (most reads) has nothing to keep.
    let kept = (!req.body().is_end_stream()).then(|| Arc::new(Mutex::new(BytesMut::new())));
    let req = match &kept {
        Some(kept) => req.map(|body| {
            Body::new(Recorded {
                inner: body,
                kept: kept.clone(),
            })
        }),
        None => req,
    };
    let mut response = run(req).await;
    let Some(JournalAs { tenant, path }) = response.extensions_mut().remove::<JournalAs>() else {
        return response;
    };
    let (parts, body_out) = response.into_parts();
    let bytes = match axum::body::to_bytes(body_out, usize::MAX).await {
        Ok(bytes) => bytes,
        // A body that fails on purpose (an injected dropped connection) is passed on as is.
        Err(_) => return fail_the_connection(parts),
    };
    let body = kept.map_or_else(Bytes::new, |kept| lock(&kept).split().freeze());
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

/// A request body as the handler reads it, the beginning of which (`MAX_KEPT_BODY`) is kept
/// for the journal: the journal reads no body itself, so that a request is never read before
/// it is authenticated, and a body nothing reads is never read at all.
struct Recorded {
    inner: Body,
    kept: Arc<Mutex<BytesMut>>,
}

fn lock(kept: &Mutex<BytesMut>) -> std::sync::MutexGuard<'_, BytesMut> {
    kept.lock().unwrap_or_else(|e| e.into_inner())
}

impl HttpBody for Recorded {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let frame = ready!(Pin::new(&mut self.inner).poll_frame(cx));
        if let Some(data) = frame.as_ref().and_then(|f| f.as_ref().ok()?.data_ref()) {
            let mut kept = lock(&self.kept);
            let room = MAX_KEPT_BODY.saturating_sub(kept.len());
            kept.extend_from_slice(&data[..data.len().min(room)]);
        }
        Poll::Ready(frame)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
