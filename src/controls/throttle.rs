//! AWS-like throttling: a token bucket per tenant, answered with AWS's 429
//! (ThrottlingException) and a `Retry-After` header. Off unless configured.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

/// A request rate and the burst allowed above it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limit {
    /// Requests per second, sustained.
    pub rate: f64,
    /// Requests that may arrive at once.
    pub burst: f64,
}

/// AWS's SCIM rate per tenant (inferred: AWS documents that it throttles, with a limit "in the
/// tens of requests per second", not the figure).
pub const AWS_LIMIT: Limit = Limit {
    rate: 20.0,
    burst: 20.0,
};

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    updated_ms: i64,
}

#[derive(Default)]
pub struct Throttle {
    limit: Option<Limit>,
    buckets: Mutex<HashMap<String, Bucket>>,
}

impl Throttle {
    /// A throttle with this limit per tenant; `None` admits everything.
    pub fn new(limit: Option<Limit>) -> Self {
        Self {
            limit,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    pub fn limit(&self) -> Option<Limit> {
        self.limit
    }

    /// Takes one token of the tenant's bucket at `now_ms` (the app's clock), or says how long
    /// until one is there.
    pub fn admit(&self, tenant: &str, now_ms: i64) -> Result<(), Duration> {
        let Some(limit) = self.limit else {
            return Ok(());
        };
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        // The key is copied only for a bucket's first request.
        if !buckets.contains_key(tenant) {
            let fresh = Bucket {
                tokens: limit.burst,
                updated_ms: now_ms,
            };
            buckets.insert(tenant.to_owned(), fresh);
        }
        let bucket = buckets.get_mut(tenant).expect("inserted above");
        let elapsed = (now_ms - bucket.updated_ms).max(0) as f64 / 1000.0;
        bucket.tokens = (bucket.tokens + elapsed * limit.rate).min(limit.burst);
        bucket.updated_ms = bucket.updated_ms.max(now_ms);
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - bucket.tokens) / limit.rate))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bucket_admits_its_burst_then_its_rate() {
        let t = Throttle::new(Some(Limit {
            rate: 2.0,
            burst: 3.0,
        }));
        for _ in 0..3 {
            assert!(t.admit("a", 0).is_ok());
        }
        let wait = t.admit("a", 0).unwrap_err();
        assert!((wait.as_secs_f64() - 0.5).abs() < 1e-6, "{wait:?}");
        // Another tenant has its own bucket.
        assert!(t.admit("b", 0).is_ok());
        assert!(t.admit("a", 500).is_ok());
        assert!(t.admit("a", 500).is_err());
        for _ in 0..3 {
            assert!(
                t.admit("a", 10_500).is_ok(),
                "the bucket refills to its burst"
            );
        }
        assert!(t.admit("a", 10_500).is_err());
    }

    #[test]
    fn without_a_limit_everything_passes() {
        let t = Throttle::default();
        assert!((0..10_000).all(|_| t.admit("a", 0).is_ok()));
    }
}
