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
use axum::http::{HeaderMap, HeaderValue};
use axum::response::Response;
use bytes::BytesMut;
use http_body::{Frame, SizeHint};

use crate::controls::journal::{Journal, MAX_KEPT_BODY, Record};
use crate::state::{AppState, REQUEST_ID_HEADER};

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
    let headers = detached(req.headers());
    let request_id = headers
        .get(REQUEST_ID_HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let kept = Arc::new(Mutex::new(BytesMut::new()));
    let req = req.map(|body| {
        Body::new(Recorded {
            inner: body,
            kept: kept.clone(),
        })
    });
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
    let body = lock(&kept).split().freeze();
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

/// A copy of request headers that shares no memory with the request: the values hyper parses
/// are slices of the connection's read buffer, and a journal entry that kept them would keep
/// that buffer alive, so that hyper allocated a new one for every request.
fn detached(headers: &HeaderMap) -> HeaderMap {
    let mut copy = HeaderMap::with_capacity(headers.len());
    for (name, value) in headers {
        let mut owned = HeaderValue::from_bytes(value.as_bytes()).unwrap_or_else(|_| value.clone());
        owned.set_sensitive(value.is_sensitive());
        copy.append(name.clone(), owned);
    }
    copy
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

#[cfg(test)]
mod tests {
    use axum::http::{HeaderMap, HeaderValue};
    use bytes::Bytes;

    use super::detached;

    /// What the journal keeps of the headers holds none of the buffer they were parsed from.
    #[test]
    fn detached_headers_share_nothing_with_the_request() {
        let buffer = Bytes::from(b"GET / HTTP/1.1\r\nx-test: value\r\n".to_vec());
        let mut headers = HeaderMap::new();
        let value = HeaderValue::from_maybe_shared(buffer.slice(24..29)).unwrap();
        headers.insert("x-test", value);
        let mut secret = HeaderValue::from_static("Bearer t");
        secret.set_sensitive(true);
        headers.insert("authorization", secret);
        assert!(
            !buffer.is_unique(),
            "the request's header shares the buffer"
        );

        let kept = detached(&headers);
        drop(headers);
        assert!(buffer.is_unique(), "the copy keeps the buffer alive");
        assert_eq!(kept["x-test"], "value");
        assert!(kept["authorization"].is_sensitive());
    }
}
