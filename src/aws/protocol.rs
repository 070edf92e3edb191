//! What the AWS JSON 1.1 services of this server share in reading a request and paging an
//! answer: a body read into its request shape (unknown members ignored, a missing required
//! member AWS's validation error, a member of the wrong JSON type a `SerializationException`),
//! `MaxResults` (1 to 100, 100 when absent) and `NextToken`, an opaque keyset token
//! (`store::keyset`) that any instance can continue; and what an operation of either reaches
//! (`Ctx`).

use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::aws::Caller;
use crate::sso::Invalid;
use crate::state::SharedState;
use crate::store::Store;
use crate::text::PathStyle;

/// What an operation reaches: the store, the clock, the caller and the operation's name. Each
/// service adds how it resolves what the caller may reach (an identity store, an instance).
pub struct Ctx<'a> {
    pub state: &'a SharedState,
    pub caller: &'a Caller,
    pub operation: &'a str,
}

impl Ctx<'_> {
    pub fn store(&self) -> &dyn Store {
        self.state.store.as_ref()
    }

    pub fn now_ms(&self) -> i64 {
        self.state.clock.now_ms()
    }
}

/// Epoch seconds, as AWS JSON renders a timestamp.
pub fn epoch_seconds(ms: i64) -> f64 {
    ms as f64 / 1000.0
}

/// Why a body does not fit its request shape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ShapeError {
    /// A required member is absent; AWS's message names it.
    Missing(String),
    /// A member has the wrong type: `SerializationException`.
    Serialization(String),
}

/// Deserialises a request body into its shape.
pub fn parse<T: DeserializeOwned>(body: Value) -> Result<T, ShapeError> {
    serde_json::from_value(body).map_err(|e| {
        let text = e.to_string();
        match text
            .strip_prefix("missing field `")
            .and_then(|r| r.split('`').next())
        {
            Some(member) => ShapeError::Missing(Invalid::missing(&lower_camel(member)).to_string()),
            None => ShapeError::Serialization(format!("Invalid request: {text}")),
        }
    })
}

/// `IdentityStoreId` → `identityStoreId`, as AWS names members in its messages.
pub fn lower_camel(member: &str) -> String {
    let mut chars = member.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// How AWS names a member of a request in its messages: `filters.member.attributeValue`.
pub const MEMBER_PATHS: PathStyle = PathStyle {
    member: lower_camel,
    item: Some("member"),
};

/// `MaxResults`: 1 to 100; absent means 100.
pub fn max_results(value: Option<i64>) -> Result<u32, Invalid> {
    match value {
        None => Ok(100),
        Some(n @ 1..=100) => Ok(n as u32),
        Some(n) if n < 1 => Err(Invalid::constraint(
            "maxResults",
            "Member must have value greater than or equal to 1",
        )),
        Some(_) => Err(Invalid::constraint(
            "maxResults",
            "Member must have value less than or equal to 100",
        )),
    }
}

pub use crate::store::keyset::encode as encode_next_token;

/// The key a `NextToken` continues after; `max_len` is the model's limit of the token.
pub fn decode_next_token(token: Option<&str>, max_len: usize) -> Result<Option<String>, Invalid> {
    let Some(token) = token else {
        return Ok(None);
    };
    crate::store::keyset::decode(token)
        .filter(|_| !token.is_empty() && token.len() <= max_len)
        .map(Some)
        .ok_or_else(|| Invalid::Rule("The NextToken is not valid.".to_owned()))
}
