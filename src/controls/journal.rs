//! The request journal: every SCIM request of a tenant and its answer, in a bounded ring per
//! tenant, so that a connector's test can assert "it sent exactly these requests".

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use axum::body::Body;
use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::ScimTarget;
use crate::app::{RequestId, SharedState, render_pending_error};
use crate::routes::MAX_BODY_BYTES;
use crate::scim::ScimError;

/// How many requests a tenant's journal keeps by default.
pub const DEFAULT_CAPACITY: usize = 1000;
/// The most of a body that an entry keeps.
pub const MAX_KEPT_BODY: usize = 64 * 1024;

/// One request and its answer.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Entry {
    /// Increases by one with each request the process journals.
    pub sequence: u64,
    pub time: String,
    pub request_id: String,
    pub method: String,
    /// The path below `/scim/v2` (`/Users/{id}`).
    pub path: String,
    pub query: Option<String>,
    /// Request headers; the `Authorization` value is masked.
    pub headers: BTreeMap<String, String>,
    pub body: Option<Value>,
    pub status: u16,
    pub response_body: Option<Value>,
    pub duration_ms: f64,
}

/// What to select from a journal; every given criterion must hold.
#[derive(Debug, Default, Deserialize)]
pub struct Filter {
    pub method: Option<String>,
    /// The path, or a prefix of it ending in `*` (`/Users*`).
    pub path: Option<String>,
    pub status: Option<u16>,
}

impl Filter {
    fn matches(&self, e: &Entry) -> bool {
        self.method
            .as_ref()
            .is_none_or(|m| m.eq_ignore_ascii_case(&e.method))
            && self.status.is_none_or(|s| s == e.status)
            && self
                .path
                .as_ref()
                .is_none_or(|p| match p.strip_suffix('*') {
                    Some(prefix) => e.path.starts_with(prefix),
                    None => *p == e.path,
                })
    }
}

/// What the journal keeps of a request: raw parts, shared with the response where possible,
/// so that journaling costs little; `Entry` is made from it when the journal is read.
struct Record {
    sequence: u64,
    time_ms: i64,
    request_id: String,
    method: Method,
    path: String,
    query: Option<String>,
    headers: HeaderMap,
    body: Bytes,
    status: u16,
    response_body: Bytes,
    duration_ms: f64,
}

impl Record {
    fn entry(&self) -> Entry {
        Entry {
            sequence: self.sequence,
            time: chrono::DateTime::from_timestamp_millis(self.time_ms)
                .unwrap_or_default()
                .to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            request_id: self.request_id.clone(),
            method: self.method.to_string(),
            path: self.path.clone(),
            query: self.query.clone(),
            headers: masked_headers(&self.headers),
            body: kept_body(&self.body),
            status: self.status,
            response_body: kept_body(&self.response_body),
            duration_ms: self.duration_ms,
        }
    }
}

pub struct Journal {
    capacity: usize,
    sequence: AtomicU64,
    tenants: Mutex<HashMap<String, VecDeque<Record>>>,
}

impl Default for Journal {
    fn default() -> Self {
        Self::new(DEFAULT_CAPACITY)
    }
}

impl Journal {
    /// A journal keeping `capacity` requests per tenant; 0 turns it off.
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity,
            sequence: AtomicU64::new(0),
            tenants: Mutex::new(HashMap::new()),
        }
    }

    fn push(&self, tenant: &str, entry: Record) {
        let mut tenants = self.tenants.lock().unwrap_or_else(|e| e.into_inner());
        let ring = tenants.entry(tenant.to_owned()).or_default();
        if ring.len() == self.capacity {
            ring.pop_front();
        }
        ring.push_back(entry);
    }

    /// The entries of a tenant that match, oldest first.
    pub fn entries(&self, tenant: &str, filter: &Filter) -> Vec<Entry> {
        let tenants = self.tenants.lock().unwrap_or_else(|e| e.into_inner());
        tenants
            .get(tenant)
            .map(|ring| {
                ring.iter()
                    .map(Record::entry)
                    .filter(|e| filter.matches(e))
                    .collect()
            })
            .unwrap_or_default()
    }

    pub fn is_on(&self) -> bool {
        self.capacity > 0
    }

    pub fn clear(&self, tenant: &str) {
        let mut tenants = self.tenants.lock().unwrap_or_else(|e| e.into_inner());
        tenants.remove(tenant);
    }
}

/// A body as the journal stores it: shared with the request or response, or, past
/// `MAX_KEPT_BODY`, a copy of its beginning (so that a large body is not kept alive).
fn stored(bytes: &Bytes) -> Bytes {
    if bytes.len() <= MAX_KEPT_BODY {
        bytes.clone()
    } else {
        Bytes::copy_from_slice(&bytes[..MAX_KEPT_BODY])
    }
}

/// A body as the journal shows it: JSON when it is JSON, text otherwise, cut at
/// `MAX_KEPT_BODY`.
fn kept_body(bytes: &[u8]) -> Option<Value> {
    if bytes.is_empty() {
        return None;
    }
    if bytes.len() <= MAX_KEPT_BODY
        && let Ok(v) = serde_json::from_slice(bytes)
    {
        return Some(v);
    }
    let cut = &bytes[..bytes.len().min(MAX_KEPT_BODY)];
    Some(Value::String(String::from_utf8_lossy(cut).into_owned()))
}

fn masked_headers(headers: &HeaderMap) -> BTreeMap<String, String> {
    headers
        .iter()
        .map(|(name, value)| {
            let shown = if name == axum::http::header::AUTHORIZATION {
                let scheme = value
                    .to_str()
                    .ok()
                    .and_then(|v| v.split_whitespace().next())
                    .unwrap_or("");
                format!("{scheme} ****").trim().to_owned()
            } else {
                String::from_utf8_lossy(value.as_bytes()).into_owned()
            };
            (name.as_str().to_owned(), shown)
        })
        .collect()
}

/// Marks a response as one to journal, in the journal of this tenant. Authentication sets it:
/// on success, and on failure when the tenant exists, so that requests to made-up tenant ids
/// cannot grow the journal.
#[derive(Debug, Clone)]
pub struct JournalAs(pub String);

/// The journal's middleware, outside authentication: runs the request and journals both
/// sides, unless the journal is off or the response is not marked with `JournalAs`.
pub async fn layer(State(state): State<SharedState>, req: Request, next: Next) -> Response {
    let journal = &state.controls.journal;
    if journal.capacity == 0 {
        return next.run(req).await;
    }
    let started = Instant::now();
    let path = ScimTarget::of(req.uri().path()).resource_path.to_owned();
    let method = req.method().clone();
    let query = req.uri().query().map(str::to_owned);
    let headers = req.headers().clone();
    let request_id = req
        .extensions()
        .get::<RequestId>()
        .map(|r| r.0.clone())
        .unwrap_or_default();
    let (parts, body) = req.into_parts();
    let (body, mut response) = match axum::body::to_bytes(body, MAX_BODY_BYTES).await {
        Ok(bytes) => {
            let kept = stored(&bytes);
            let req = Request::from_parts(parts, Body::from(bytes));
            (kept, next.run(req).await)
        }
        Err(_) => return ScimError::PayloadTooLarge.into_response(),
    };
    let Some(JournalAs(tenant)) = response.extensions_mut().remove::<JournalAs>() else {
        return response;
    };
    render_pending_error(&mut response, &request_id, &method);
    let (parts, body_out) = response.into_parts();
    let bytes = match axum::body::to_bytes(body_out, usize::MAX).await {
        Ok(bytes) => bytes,
        // A body that fails on purpose (an injected dropped connection) is passed on as is.
        Err(_) => return fail_the_connection(parts),
    };
    journal.push(
        &tenant,
        Record {
            sequence: journal.sequence.fetch_add(1, Ordering::Relaxed) + 1,
            time_ms: state.clock.now_ms(),
            request_id,
            method,
            path,
            query,
            headers,
            body,
            status: parts.status.as_u16(),
            response_body: stored(&bytes),
            duration_ms: started.elapsed().as_secs_f64() * 1000.0,
        },
    );
    Response::from_parts(parts, Body::from(bytes))
}

/// A response whose body fails, which makes the server drop the connection.
pub fn fail_the_connection(parts: axum::http::response::Parts) -> Response {
    let stream = futures_util::stream::once(async {
        Err::<axum::body::Bytes, std::io::Error>(std::io::Error::other("connection dropped"))
    });
    Response::from_parts(parts, Body::from_stream(stream))
}
