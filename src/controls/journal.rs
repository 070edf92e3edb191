//! The request journal: every request of a tenant and its answer, in a bounded ring per
//! tenant, so that a connector's test can assert "it sent exactly these requests".

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::http::{HeaderMap, Method};
use serde::{Deserialize, Serialize};
use serde_json::Value;

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
    /// The path below `/scim/v2` (`/Users/{id}`), or an AWS JSON request's
    /// `/<service>/<Operation>` (`/identitystore/ListUsers`).
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
    /// Only entries whose sequence number is greater: what came since an earlier read.
    pub after: Option<u64>,
}

impl Filter {
    /// Decided on the record, so that only the entries selected are rendered.
    fn matches(&self, sequence: u64, r: &Record) -> bool {
        self.after.is_none_or(|after| sequence > after)
            && self
                .method
                .as_ref()
                .is_none_or(|m| m.eq_ignore_ascii_case(r.method.as_str()))
            && self.status.is_none_or(|s| s == r.status)
            && self
                .path
                .as_ref()
                .is_none_or(|p| match p.strip_suffix('*') {
                    Some(prefix) => r.path.starts_with(prefix),
                    None => *p == r.path,
                })
    }
}

/// What the journal keeps of a request: raw parts, shared with the response where possible,
/// so that journaling costs little; `Entry` is made from it when the journal is read.
pub struct Record {
    pub time_ms: i64,
    pub request_id: Arc<str>,
    pub method: Method,
    /// The path below `/scim/v2`, or `/<service>/<Operation>`.
    pub path: String,
    pub query: Option<String>,
    pub headers: Headers,
    /// The beginning of the body as the handler read it, `MAX_KEPT_BODY` at most.
    pub body: Bytes,
    pub status: u16,
    /// Made with `Journal::kept`.
    pub response_body: Bytes,
    pub duration_ms: f64,
}

/// Request headers as the journal keeps them: a copy in one buffer of `name:value` lines (a
/// header value holds no line break, a name no colon), which shares nothing with the request
/// (whose values are slices of the connection's read buffer, which an entry would keep alive)
/// and costs one allocation, however many headers there are.
pub struct Headers(Box<[u8]>);

impl Headers {
    pub fn of(headers: &HeaderMap) -> Self {
        let size = headers
            .iter()
            .map(|(name, value)| name.as_str().len() + value.len() + 2)
            .sum();
        let mut text = Vec::with_capacity(size);
        for (name, value) in headers {
            text.extend_from_slice(name.as_str().as_bytes());
            text.push(b':');
            text.extend_from_slice(value.as_bytes());
            text.push(b'\n');
        }
        Self(text.into_boxed_slice())
    }

    /// The headers in the order received, a repeated one once for each time.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &[u8])> {
        self.0.split(|b| *b == b'\n').filter_map(|line| {
            let colon = line.iter().position(|b| *b == b':')?;
            let name = std::str::from_utf8(&line[..colon]).ok()?;
            Some((name, &line[colon + 1..]))
        })
    }
}

impl Record {
    fn entry(&self, sequence: u64) -> Entry {
        Entry {
            sequence,
            time: chrono::DateTime::from_timestamp_millis(self.time_ms)
                .unwrap_or_default()
                .to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            request_id: self.request_id.to_string(),
            method: self.method.to_string(),
            path: self.path.clone(),
            query: self.query.clone(),
            headers: masked_headers(&self.headers),
            body: kept_body(&self.body).map(masked),
            status: self.status,
            response_body: kept_body(&self.response_body).map(masked),
            duration_ms: self.duration_ms,
        }
    }
}

pub struct Journal {
    capacity: usize,
    sequence: AtomicU64,
    tenants: Mutex<HashMap<String, VecDeque<(u64, Record)>>>,
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

    /// Journals a request of a tenant, dropping the tenant's oldest when its ring is full.
    pub fn push(&self, tenant: &str, record: Record) {
        if !self.is_on() {
            return;
        }
        let sequence = self.sequence.fetch_add(1, Ordering::Relaxed) + 1;
        let mut tenants = self.tenants.lock().unwrap_or_else(|e| e.into_inner());
        // The tenant's name is copied only for its first request.
        let ring = match tenants.get_mut(tenant) {
            Some(ring) => ring,
            None => tenants.entry(tenant.to_owned()).or_default(),
        };
        if ring.len() == self.capacity {
            ring.pop_front();
        }
        ring.push_back((sequence, record));
    }

    /// The entries of a tenant that match, oldest first.
    pub fn entries(&self, tenant: &str, filter: &Filter) -> Vec<Entry> {
        self.select(tenant, filter, usize::MAX, false)
    }

    /// The newest `limit` entries of a tenant that match, newest first.
    pub fn newest(&self, tenant: &str, filter: &Filter, limit: usize) -> Vec<Entry> {
        self.select(tenant, filter, limit, true)
    }

    fn select(
        &self,
        tenant: &str,
        filter: &Filter,
        limit: usize,
        newest_first: bool,
    ) -> Vec<Entry> {
        let tenants = self.tenants.lock().unwrap_or_else(|e| e.into_inner());
        let Some(ring) = tenants.get(tenant) else {
            return Vec::new();
        };
        let selected = |(sequence, record): &&(u64, Record)| filter.matches(*sequence, record);
        let render = |(sequence, record): &(u64, Record)| record.entry(*sequence);
        if newest_first {
            ring.iter()
                .rev()
                .filter(selected)
                .take(limit)
                .map(render)
                .collect()
        } else {
            ring.iter()
                .filter(selected)
                .take(limit)
                .map(render)
                .collect()
        }
    }

    pub fn is_on(&self) -> bool {
        self.capacity > 0
    }

    pub fn clear(&self, tenant: &str) {
        let mut tenants = self.tenants.lock().unwrap_or_else(|e| e.into_inner());
        tenants.remove(tenant);
    }

    /// A body as the journal stores it: shared with the request or response, or, past
    /// `MAX_KEPT_BODY`, a copy of its beginning (so that a large body is not kept alive).
    pub fn kept(bytes: &Bytes) -> Bytes {
        if bytes.len() <= MAX_KEPT_BODY {
            bytes.clone()
        } else {
            Bytes::copy_from_slice(&bytes[..MAX_KEPT_BODY])
        }
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

/// The members of request and response bodies that hold secrets (of sign-in's services:
/// SSO OIDC and the access portal), shown as `****`.
const SECRET_MEMBERS: [&str; 8] = [
    "clientSecret",
    "deviceCode",
    "code",
    "codeVerifier",
    "accessToken",
    "refreshToken",
    "secretAccessKey",
    "sessionToken",
];

/// Headers that carry a credential of their own, shown as `****`.
const SECRET_HEADERS: [&str; 2] = ["x-amz-sso_bearer_token", "x-amz-security-token"];

/// A body with the values of its secret members, at any depth, masked.
fn masked(mut body: Value) -> Value {
    match &mut body {
        Value::Object(members) => {
            for (name, value) in members.iter_mut() {
                *value = if SECRET_MEMBERS.contains(&name.as_str()) && !value.is_null() {
                    Value::String("****".to_owned())
                } else {
                    masked(value.take())
                };
            }
        }
        Value::Array(items) => {
            for item in items.iter_mut() {
                *item = masked(item.take());
            }
        }
        _ => {}
    }
    body
}

fn masked_headers(headers: &Headers) -> BTreeMap<String, String> {
    headers
        .iter()
        .map(|(name, value)| {
            let shown = if SECRET_HEADERS.contains(&name) {
                "****".to_owned()
            } else if name == axum::http::header::AUTHORIZATION {
                let scheme = std::str::from_utf8(value)
                    .ok()
                    .and_then(|v| v.split_whitespace().next())
                    .unwrap_or("");
                format!("{scheme} ****").trim().to_owned()
            } else {
                String::from_utf8_lossy(value).into_owned()
            };
            (name.to_owned(), shown)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::{Headers, masked, masked_headers};

    #[test]
    fn secrets_are_masked_in_bodies_and_headers() {
        let body = json!({"clientId": "c", "clientSecret": "s", "deviceCode": "d",
                          "roleCredentials": {"accessKeyId": "ASIA", "secretAccessKey": "k",
                                              "sessionToken": "t"},
                          "list": [{"refreshToken": "r"}], "code": null});
        assert_eq!(
            masked(body),
            json!({"clientId": "c", "clientSecret": "****", "deviceCode": "****",
                   "roleCredentials": {"accessKeyId": "ASIA", "secretAccessKey": "****",
                                       "sessionToken": "****"},
                   "list": [{"refreshToken": "****"}], "code": null})
        );
        let mut headers = axum::http::HeaderMap::new();
        headers.insert("x-amz-sso_bearer_token", "aoa-secret".parse().unwrap());
        headers.insert("authorization", "Bearer secret".parse().unwrap());
        let shown = masked_headers(&Headers::of(&headers));
        assert_eq!(shown["x-amz-sso_bearer_token"], "****");
        assert_eq!(shown["authorization"], "Bearer ****");
    }

    /// What the journal keeps of the headers is every header as sent, and holds none of the
    /// buffer they were parsed from.
    #[test]
    fn kept_headers_are_copies_of_all_headers() {
        use axum::http::{HeaderMap, HeaderValue};
        use bytes::Bytes;

        let buffer = Bytes::from(b"GET / HTTP/1.1\r\nx-test: value: 2\r\n".to_vec());
        let mut headers = HeaderMap::new();
        let value = HeaderValue::from_maybe_shared(buffer.slice(24..32)).unwrap();
        headers.insert("x-test", value);
        headers.append("accept", HeaderValue::from_static("a/b"));
        headers.append("accept", HeaderValue::from_static("c/d"));
        headers.insert("x-raw", HeaderValue::from_bytes(b"caf\xe9 \t!").unwrap());
        headers.insert("x-empty", HeaderValue::from_static(""));
        assert!(
            !buffer.is_unique(),
            "the request's header shares the buffer"
        );

        let kept = Headers::of(&headers);
        drop(headers);
        assert!(buffer.is_unique(), "the copy keeps the buffer alive");
        let all: Vec<(&str, &[u8])> = kept.iter().collect();
        let expected: [(&str, &[u8]); 5] = [
            ("x-test", b"value: 2"),
            ("accept", b"a/b"),
            ("accept", b"c/d"),
            ("x-raw", b"caf\xe9 \t!"),
            ("x-empty", b""),
        ];
        assert_eq!(all, expected);
        let shown = masked_headers(&kept);
        assert_eq!(shown["accept"], "c/d");
        assert_eq!(shown["x-raw"], "caf\u{fffd} \t!");
    }
}
