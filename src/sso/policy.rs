//! The inline policy of a permission set: the model's limits (1 to 32,768 characters of tab,
//! newline, return and U+0020 to U+00FF), the grammar of an IAM identity-based policy, and the
//! quota of 10,240 bytes of non-whitespace characters ("Quotas and limits in IAM Identity
//! Center").
//!
//! AWS's messages are those seen in public threads: `Invalid PermissionsPolicy Document`
//! (aws-cloudformation/cloudformation-coverage-roadmap#1294 and #1986, 2022–2024) and `Current
//! size of the non-whitespace characters present in the InlinePolicy Document is N bytes which
//! has exceeded the maximum limit of 10240 bytes` (LBHackney-IT/Data-Platform#2789, 2026). The
//! reason after the first message is this emulator's.

use serde_json::{Map, Value};

use super::{Checked, Invalid};

/// The most non-whitespace bytes an inline policy may hold.
pub const MAX_NON_WHITESPACE_BYTES: usize = 10240;

/// Checks an inline policy document.
pub fn inline_policy(member: &str, document: &str) -> Checked {
    if !(1..=32768).contains(&document.chars().count()) {
        return Err(Invalid::constraint(
            member,
            "Member must have length between 1 and 32768",
        ));
    }
    if !document
        .chars()
        .all(|c| matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{ff}'))
    {
        return Err(Invalid::constraint(
            member,
            r"Member must satisfy regular expression pattern: [\u0009\u000A\u000D\u0020-\u00FF]+",
        ));
    }
    let value: Value =
        serde_json::from_str(document).map_err(|_| invalid("the document is not JSON"))?;
    grammar(&value).map_err(invalid)?;
    let size = document
        .bytes()
        .filter(|b| !b.is_ascii_whitespace())
        .count();
    if size > MAX_NON_WHITESPACE_BYTES {
        return Err(Invalid::Rule(format!(
            "Current size of the non-whitespace characters present in the InlinePolicy Document is {size} bytes which has exceeded the maximum limit of {MAX_NON_WHITESPACE_BYTES} bytes"
        )));
    }
    Ok(())
}

fn invalid(reason: &str) -> Invalid {
    Invalid::Rule(format!("Invalid PermissionsPolicy Document: {reason}."))
}

/// The IAM policy grammar for identity-based policies: `Version` (2012-10-17 or 2008-10-17),
/// `Id`, and `Statement`, one statement or a non-empty list; each statement with `Effect`,
/// `Action` or `NotAction`, `Resource` or `NotResource`, and optionally `Sid` and `Condition`,
/// but no `Principal` (an identity-based policy names none).
fn grammar(policy: &Value) -> Result<(), &'static str> {
    let policy = policy.as_object().ok_or("a policy is a JSON object")?;
    for key in policy.keys() {
        if !matches!(key.as_str(), "Version" | "Id" | "Statement") {
            return Err("a policy has only Version, Id and Statement");
        }
    }
    match policy.get("Version") {
        None => {}
        Some(Value::String(v)) if v == "2012-10-17" || v == "2008-10-17" => {}
        Some(_) => return Err("Version is 2012-10-17 or 2008-10-17"),
    }
    if policy.get("Id").is_some_and(|id| !id.is_string()) {
        return Err("Id is a string");
    }
    match policy.get("Statement") {
        Some(Value::Object(s)) => statement(s),
        Some(Value::Array(list)) if !list.is_empty() => list.iter().try_for_each(|s| {
            s.as_object()
                .ok_or("each statement is a JSON object")
                .and_then(statement)
        }),
        _ => Err("a policy has a Statement: an object or a non-empty list of them"),
    }
}

fn statement(s: &Map<String, Value>) -> Result<(), &'static str> {
    for key in s.keys() {
        match key.as_str() {
            "Sid" | "Effect" | "Action" | "NotAction" | "Resource" | "NotResource"
            | "Condition" => {}
            "Principal" | "NotPrincipal" => {
                return Err("an identity-based policy does not name a Principal");
            }
            _ => return Err("a statement has Sid, Effect, Action, Resource and Condition only"),
        }
    }
    if s.get("Sid").is_some_and(|sid| !sid.is_string()) {
        return Err("Sid is a string");
    }
    match s.get("Effect").and_then(Value::as_str) {
        Some("Allow" | "Deny") => {}
        _ => return Err("each statement has an Effect of Allow or Deny"),
    }
    one_of(
        s,
        "Action",
        "NotAction",
        "each statement has Action or NotAction",
    )?;
    one_of(
        s,
        "Resource",
        "NotResource",
        "each statement has Resource or NotResource",
    )?;
    if s.get("Condition").is_some_and(|c| !c.is_object()) {
        return Err("Condition is a JSON object");
    }
    Ok(())
}

/// Exactly one of two members, holding a string or a non-empty list of strings.
fn one_of(
    s: &Map<String, Value>,
    a: &str,
    b: &str,
    message: &'static str,
) -> Result<(), &'static str> {
    let value = match (s.get(a), s.get(b)) {
        (Some(v), None) | (None, Some(v)) => v,
        _ => return Err(message),
    };
    let strings = match value {
        Value::String(v) => !v.is_empty(),
        Value::Array(list) => {
            !list.is_empty()
                && list
                    .iter()
                    .all(|v| v.as_str().is_some_and(|s| !s.is_empty()))
        }
        _ => false,
    };
    if strings { Ok(()) } else { Err(message) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(doc: &str) -> Checked {
        inline_policy("inlinePolicy", doc)
    }

    #[test]
    fn well_formed_policies_pass() {
        for ok in [
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}"#,
            r#"{"Statement":{"Sid":"x","Effect":"Deny","NotAction":["iam:*","sts:*"],"NotResource":"arn:aws:s3:::b/*","Condition":{"Bool":{"aws:SecureTransport":"false"}}}}"#,
        ] {
            assert_eq!(check(ok), Ok(()), "{ok}");
        }
    }

    #[test]
    fn malformed_policies_are_invalid_documents() {
        for bad in [
            "not json",
            "[]",
            r#"{"Statement":[]}"#,
            r#"{"Version":"2020-01-01","Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}"#,
            r#"{"Statement":{"Effect":"Maybe","Action":"*","Resource":"*"}}"#,
            r#"{"Statement":{"Effect":"Allow","Resource":"*"}}"#,
            r#"{"Statement":{"Effect":"Allow","Action":"*","NotAction":"x","Resource":"*"}}"#,
            r#"{"Statement":{"Effect":"Allow","Action":"*"}}"#,
            r#"{"Statement":{"Effect":"Allow","Action":[],"Resource":"*"}}"#,
            r#"{"Statement":{"Effect":"Allow","Action":"*","Resource":"*","Principal":"*"}}"#,
            r#"{"Statement":{"Effect":"Allow","Action":"*","Resource":"*"},"Extra":1}"#,
        ] {
            match check(bad) {
                Err(Invalid::Rule(m)) => {
                    assert!(m.starts_with("Invalid PermissionsPolicy Document"), "{m}")
                }
                other => panic!("{bad}: {other:?}"),
            }
        }
    }

    #[test]
    fn sizes_are_limited_without_counting_whitespace() {
        let statement =
            r#"{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::bucket/key"}"#;
        let policy = |n: usize| {
            format!(
                r#"{{"Version":"2012-10-17","Statement":[{}]}}"#,
                vec![statement; n].join(",\n    ")
            )
        };
        let fits = (1..)
            .take_while(|n| {
                policy(*n)
                    .bytes()
                    .filter(|b| !b.is_ascii_whitespace())
                    .count()
                    <= MAX_NON_WHITESPACE_BYTES
            })
            .last()
            .unwrap();
        assert_eq!(check(&policy(fits)), Ok(()));
        match check(&policy(fits + 1)) {
            Err(Invalid::Rule(m)) => assert!(m.contains("maximum limit of 10240 bytes"), "{m}"),
            other => panic!("{other:?}"),
        }
        assert!(matches!(check(""), Err(Invalid::Constraint { .. })));
        assert!(matches!(
            check(&" ".repeat(32769)),
            Err(Invalid::Constraint { .. })
        ));
        assert!(matches!(
            check("{\"Statement\": \"€\"}"),
            Err(Invalid::Constraint { .. })
        ));
    }
}
