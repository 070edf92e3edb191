//! Fault injection: for requests that match a method and a path pattern, answer a given status
//! with AWS's body, add latency, or drop the connection, for the next N requests or with a
//! probability drawn from a seeded generator (so that runs repeat).

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::http::Method;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};

/// A fault rule as the admin API and `--fault` give it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FaultSpec {
    /// The tenant it applies to; every tenant when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant_id: Option<String>,
    /// `GET`, `PATCH`, ...; any method when absent or `*`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    /// A path below `/scim/v2`, or an AWS JSON request's `/<service>/<Operation>`, where `*`
    /// stands for any characters but `/` and a trailing `**` for anything: `/Users`,
    /// `/Groups/*`, `/sso-admin/*`, `/**`.
    pub path: String,
    /// Answer this status with AWS's error body.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// Wait this long first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency_ms: Option<u64>,
    /// Close the connection without an answer.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub drop: bool,
    /// Apply to the next N matching requests only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub times: Option<u64>,
    /// Apply to each matching request with this probability.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub probability: Option<f64>,
    /// The seed of the probability's generator (0 when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
}

impl FaultSpec {
    fn check(&self) -> Result<(), String> {
        if self.status.is_none() && self.latency_ms.is_none() && !self.drop {
            return Err("a fault needs status, latencyMs or drop".into());
        }
        if self.drop && self.status.is_some() {
            return Err("a fault either drops the connection or answers a status".into());
        }
        if let Some(s) = self.status
            && !(400..=599).contains(&s)
        {
            return Err("status must be an error status, 400 to 599".into());
        }
        if let Some(p) = self.probability
            && !(0.0..=1.0).contains(&p)
        {
            return Err("probability must be between 0 and 1".into());
        }
        if !self.path.starts_with('/') && self.path != "*" {
            return Err(
                "path must start with / (a path below /scim/v2, or /<service>/<Operation>)".into(),
            );
        }
        if let Some(m) = &self.method
            && m != "*"
            && Method::from_bytes(m.as_bytes()).is_err()
        {
            return Err(format!("{m} is not an HTTP method"));
        }
        Ok(())
    }

    fn applies(&self, tenant: &str, method: &Method, path: &str) -> bool {
        self.tenant_id.as_deref().is_none_or(|t| t == tenant)
            && self
                .method
                .as_deref()
                .is_none_or(|m| m == "*" || m.eq_ignore_ascii_case(method.as_str()))
            && glob(&self.path, path)
    }
}

impl std::str::FromStr for FaultSpec {
    type Err = String;

    /// `METHOD PATH ACTION... [times=N] [p=P] [seed=S] [tenant=ID]`, where an ACTION is
    /// `status=503`, `latency=2000` (ms) or `drop`: `PATCH /Groups/* status=500 times=2`.
    fn from_str(s: &str) -> Result<Self, String> {
        let mut words = s.split_whitespace();
        let (Some(method), Some(path)) = (words.next(), words.next()) else {
            return Err(
                "expected METHOD PATH ACTION, e.g. \"PATCH /Groups/* status=500 times=2\"".into(),
            );
        };
        let mut spec = FaultSpec {
            tenant_id: None,
            method: (method != "*").then(|| method.to_ascii_uppercase()),
            path: path.to_owned(),
            status: None,
            latency_ms: None,
            drop: false,
            times: None,
            probability: None,
            seed: None,
        };
        for word in words {
            let number = |v: &str| {
                v.parse::<u64>()
                    .map_err(|_| format!("{word}: not a number"))
            };
            match word.split_once('=') {
                None if word == "drop" => spec.drop = true,
                Some(("status", v)) => spec.status = Some(number(v)? as u16),
                Some(("latency", v)) => spec.latency_ms = Some(number(v)?),
                Some(("times", v)) => spec.times = Some(number(v)?),
                Some(("seed", v)) => spec.seed = Some(number(v)?),
                Some(("tenant", v)) => spec.tenant_id = Some(v.to_owned()),
                Some(("p", v)) => {
                    spec.probability = Some(v.parse().map_err(|_| format!("{word}: not a number"))?)
                }
                _ => return Err(format!("unknown fault word {word:?}")),
            }
        }
        spec.check()?;
        Ok(spec)
    }
}

/// `*` matches within a segment, a trailing `**` matches the rest, `*` alone matches all.
fn glob(pattern: &str, path: &str) -> bool {
    if pattern == "*" {
        return true;
    }
    if let Some(prefix) = pattern.strip_suffix("**") {
        return path.starts_with(prefix);
    }
    let (mut p, mut s) = (pattern.split('/'), path.split('/'));
    loop {
        match (p.next(), s.next()) {
            (None, None) => return true,
            (Some(a), Some(b)) if segment(a, b) => {}
            _ => return false,
        }
    }
}

fn segment(pattern: &str, text: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern == text,
        Some((head, tail)) => {
            text.len() >= head.len() + tail.len() && text.starts_with(head) && text.ends_with(tail)
        }
    }
}

/// A rule with its state.
struct Rule {
    id: u64,
    spec: FaultSpec,
    remaining: Option<u64>,
    hits: u64,
    rng: StdRng,
}

/// A rule as listed.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RuleView {
    pub id: u64,
    #[serde(flatten)]
    pub spec: FaultSpec,
    /// How many more times it applies (`times` rules only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remaining: Option<u64>,
    /// How many requests it has hit.
    pub hits: u64,
}

impl Rule {
    fn view(&self) -> RuleView {
        RuleView {
            id: self.id,
            spec: self.spec.clone(),
            remaining: self.remaining,
            hits: self.hits,
        }
    }
}

#[derive(Default)]
pub struct Faults {
    next_id: AtomicU64,
    rules: Mutex<Vec<Rule>>,
}

/// What an injected fault does to one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fault {
    /// Wait this long first.
    pub latency: Option<Duration>,
    /// Then answer this status with AWS's body...
    pub status: Option<u16>,
    /// ...or close the connection without an answer.
    pub drop: bool,
}

impl Faults {
    pub fn add(&self, spec: FaultSpec) -> Result<RuleView, String> {
        spec.check()?;
        let rule = Rule {
            id: self.next_id.fetch_add(1, Ordering::Relaxed) + 1,
            remaining: spec.times,
            hits: 0,
            rng: StdRng::seed_from_u64(spec.seed.unwrap_or(0)),
            spec,
        };
        let view = rule.view();
        self.rules
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(rule);
        Ok(view)
    }

    pub fn list(&self) -> Vec<RuleView> {
        let rules = self.rules.lock().unwrap_or_else(|e| e.into_inner());
        rules.iter().map(Rule::view).collect()
    }

    /// Removes one rule; false if there was none with that id.
    pub fn remove(&self, id: u64) -> bool {
        let mut rules = self.rules.lock().unwrap_or_else(|e| e.into_inner());
        let before = rules.len();
        rules.retain(|r| r.id != id);
        rules.len() != before
    }

    pub fn clear(&self) {
        self.rules.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }

    /// The fault for a request: the first rule that applies, has uses left and, if it has a
    /// probability, draws a hit.
    pub fn pick(&self, tenant: &str, method: &Method, path: &str) -> Option<Fault> {
        let mut rules = self.rules.lock().unwrap_or_else(|e| e.into_inner());
        for rule in rules.iter_mut() {
            if rule.remaining == Some(0) || !rule.spec.applies(tenant, method, path) {
                continue;
            }
            if let Some(p) = rule.spec.probability
                && !rule.rng.random_bool(p)
            {
                continue;
            }
            if let Some(left) = rule.remaining.as_mut() {
                *left -= 1;
            }
            rule.hits += 1;
            return Some(Fault {
                latency: rule.spec.latency_ms.map(Duration::from_millis),
                status: rule.spec.status,
                drop: rule.spec.drop,
            });
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(s: &str) -> FaultSpec {
        s.parse().unwrap()
    }

    #[test]
    fn specs_parse_from_the_command_line_form() {
        let s = spec("patch /Groups/* status=500 times=2 tenant=acme");
        assert_eq!(s.method.as_deref(), Some("PATCH"));
        assert_eq!(
            (s.status, s.times, s.tenant_id.as_deref()),
            (Some(500), Some(2), Some("acme"))
        );
        let s = spec("* /** latency=250 p=0.5 seed=7");
        assert_eq!(
            (s.method, s.latency_ms, s.probability, s.seed),
            (None, Some(250), Some(0.5), Some(7))
        );
        assert!(spec("GET /Users drop").drop);
        for bad in [
            "GET",
            "GET /Users",
            "GET /Users status=200",
            "GET /Users drop status=500",
            "GET Users drop",
            "GET /Users p=2 drop",
            "GET /Users bogus",
            "G@T /Users drop",
        ] {
            assert!(bad.parse::<FaultSpec>().is_err(), "{bad}");
        }
    }

    #[test]
    fn paths_match_by_pattern() {
        assert!(glob("/Users", "/Users"));
        assert!(!glob("/Users", "/Users/1"));
        assert!(glob("/Users/*", "/Users/1"));
        assert!(!glob("/Users/*", "/Groups/1"));
        assert!(glob("/Gr*ps/*", "/Groups/abc"));
        assert!(glob("/**", "/Groups/abc"));
        assert!(glob("*", "/anything"));
    }

    #[test]
    fn times_rules_hit_only_as_often_as_asked() {
        let f = Faults::default();
        f.add(spec("PATCH /Groups/* status=500 times=2")).unwrap();
        let patch = Method::PATCH;
        assert!(f.pick("t", &Method::GET, "/Groups/1").is_none());
        assert!(f.pick("t", &patch, "/Users/1").is_none());
        assert!(f.pick("t", &patch, "/Groups/1").is_some());
        assert!(f.pick("t", &patch, "/Groups/2").is_some());
        assert!(f.pick("t", &patch, "/Groups/3").is_none());
        assert_eq!(f.list()[0].hits, 2);
        assert_eq!(f.list()[0].remaining, Some(0));
    }

    #[test]
    fn probabilities_repeat_with_the_seed() {
        let draws = |seed: u64| {
            let f = Faults::default();
            f.add(spec(&format!("* /** status=503 p=0.3 seed={seed}")))
                .unwrap();
            (0..200)
                .map(|_| f.pick("t", &Method::GET, "/Users").is_some())
                .collect::<Vec<_>>()
        };
        let a = draws(42);
        assert_eq!(a, draws(42));
        assert_ne!(a, draws(43));
        let hits = a.iter().filter(|h| **h).count();
        assert!((30..90).contains(&hits), "{hits} hits of 200 at p=0.3");
    }

    #[test]
    fn rules_are_scoped_to_a_tenant_and_removable() {
        let f = Faults::default();
        let id = f.add(spec("GET /Users status=500 tenant=a")).unwrap().id;
        assert!(f.pick("b", &Method::GET, "/Users").is_none());
        assert!(f.pick("a", &Method::GET, "/Users").is_some());
        assert!(f.remove(id));
        assert!(!f.remove(id));
        assert!(f.pick("a", &Method::GET, "/Users").is_none());
    }
}
